#!/bin/bash
# --json: one JSON document on stdout (status, up, history), with the fields
# docs/cli.md lists; progress stays on stderr.
. "$(dirname "$0")/lib.sh"

write_migration 001_users.sql <<'EOF'
-- migrate:up
CREATE TABLE users (id int);
-- migrate:down
DROP TABLE users;
EOF
write_migration 002_drop_x.sql <<'EOF'
-- migrate:up
CREATE TABLE x (id int);
DROP TABLE x;
-- migrate:down
SELECT 1;
EOF
write_migration 003_add_x.sql <<'EOF'
-- migrate:up
CREATE TABLE x (id int);
-- migrate:down
DROP TABLE x;
EOF

test_expect_success 'status --json before anything is applied' '
	test_expect_code 0 pgward status --json &&
	json_check "$OUT" "d[\"version\"] is None and d[\"applied\"] == 0 and
		isinstance(d[\"database\"], str) and d[\"unknown\"] == [] and d[\"changed\"] == [] and
		[(p[\"version\"], p[\"name\"], p[\"file\"]) for p in d[\"pending\"]] ==
		[(\"001\", \"users\", \"001_users.sql\"), (\"002\", \"drop_x\", \"002_drop_x.sql\"),
		 (\"003\", \"add_x\", \"003_add_x.sql\")]"
'

test_expect_success 'up --to 1 --json' '
	test_expect_code 0 pgward up --to 1 --json &&
	json_check "$OUT" "d[\"from\"] in (None, \"0\") and d[\"to\"] == \"001\" and
		[a[\"version\"] for a in d[\"applied\"]] == [\"001\"] and
		d[\"applied\"][0][\"name\"] == \"users\" and
		isinstance(d[\"applied\"][0][\"duration_ms\"], int)"
'

test_expect_success 'up --json applies the rest and says from and to' '
	test_expect_code 0 pgward -v up --json &&
	json_check "$OUT" "d[\"from\"] == \"001\" and d[\"to\"] == \"003\" and
		[a[\"version\"] for a in d[\"applied\"]] == [\"002\", \"003\"]"
'

test_expect_success 'history --json: one object per applied migration, all fields' '
	test_expect_code 0 pgward history --json &&
	json_check "$OUT" "isinstance(d, list) and [r[\"version\"] for r in d] == [\"001\", \"002\", \"003\"] and
		all(set(r) >= {\"version\", \"name\", \"file\", \"checksum\", \"applied_at\", \"applied_by\",
			\"duration_ms\", \"destructive\", \"git_commit\", \"git_tag\", \"deploy_id\"} for r in d)" &&
	json_check "$OUT" "[r[\"file\"] for r in d] == [\"001_users.sql\", \"002_drop_x.sql\", \"003_add_x.sql\"]" &&
	json_check "$OUT" "[r[\"destructive\"] for r in d] == [False, True, False]" &&
	json_check "$OUT" "all(len(r[\"checksum\"]) == 64 and int(r[\"checksum\"], 16) >= 0 for r in d)" &&
	json_check "$OUT" "all(isinstance(r[\"duration_ms\"], int) and r[\"duration_ms\"] >= 0 for r in d)" &&
	json_check "$OUT" "all(isinstance(r[\"applied_at\"], str) and r[\"applied_at\"][:2] == \"20\" for r in d)" &&
	json_check "$OUT" "d[1][\"deploy_id\"] == d[2][\"deploy_id\"] != d[0][\"deploy_id\"]"
'

test_expect_success 'status --json when everything is applied' '
	test_expect_code 0 pgward status --json &&
	json_check "$OUT" "d[\"version\"] == \"003\" and d[\"applied\"] == 3 and d[\"pending\"] == []"
'

test_expect_success 'up --json with nothing to do is still one document' '
	test_expect_code 0 pgward up --json &&
	json_check "$OUT" "d[\"applied\"] == [] and d[\"to\"] == \"003\""
'

test_expect_success '--json before the subcommand works the same' '
	test_expect_code 0 pgward --json status &&
	json_check "$OUT" "d[\"version\"] == \"003\""
'

test_expect_success 'history (human) names every migration' '
	test_expect_code 0 pgward history &&
	test_grep users "$OUT" &&
	test_grep drop_x "$OUT" &&
	test_grep add_x "$OUT"
'

test_done
