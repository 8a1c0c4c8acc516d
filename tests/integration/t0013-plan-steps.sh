#!/bin/bash
# up --dry-run changes nothing and shows segments, statements and the
# destructive ones; up --to V; down --steps N; down --to V; down --dry-run.
. "$(dirname "$0")/lib.sh"

write_migration 001_a.sql <<'EOF'
-- migrate:up
CREATE TABLE a (id int PRIMARY KEY, old text, v int);
-- migrate:down
DROP TABLE a;
EOF
write_migration 002_b.sql <<'EOF'
-- migrate:up
CREATE TABLE b (id int);
INSERT INTO b VALUES (1);
-- migrate:down
DROP TABLE b;
EOF
write_migration 003_a_v_idx.sql <<'EOF'
-- migrate:up transaction:false
CREATE INDEX CONCURRENTLY IF NOT EXISTS a_v_idx ON a (v);
-- migrate:down transaction:false
DROP INDEX CONCURRENTLY IF EXISTS a_v_idx;
EOF
write_migration 004_drop_old.sql <<'EOF'
-- migrate:up
ALTER TABLE a DROP COLUMN old;
-- migrate:down
ALTER TABLE a ADD COLUMN old text;
EOF
write_migration 005_e.sql <<'EOF'
-- migrate:up
CREATE TABLE e (id int);
-- migrate:down
DROP TABLE e;
EOF

test_expect_success 'up --dry-run changes nothing' '
	db_snapshot before &&
	test_expect_code 0 pgward up --dry-run &&
	db_snapshot after &&
	test_cmp before after &&
	cat "$OUT" >plan
'

test_expect_success 'the plan lists every migration and its statements' '
	for f in 001_a 002_b 003_a_v_idx 004_drop_old 005_e; do
		test_grep -F "$f" plan || return 1
	done &&
	test_grep -F "CREATE TABLE a" plan &&
	test_grep -F "INSERT INTO b" plan &&
	test_grep -F "CREATE INDEX CONCURRENTLY IF NOT EXISTS a_v_idx" plan &&
	test_grep -F "ALTER TABLE a DROP COLUMN old" plan &&
	test_grep -F "CREATE TABLE e" plan
'

# seg FILE PLAN: how many lines naming a segment come before (or on) the
# first line naming FILE.
seg() {
	awk -v f="$1" 'tolower($0) ~ /segment/ { n++ } index($0, f) { print n + 0; exit }' "$2"
}

test_expect_success 'the plan shows three segments, split at the transaction:false one' '
	test_grep -i segment plan &&
	s1=$(seg 001_a plan) && s2=$(seg 002_b plan) && s3=$(seg 003_a_v_idx plan) &&
	s4=$(seg 004_drop_old plan) && s5=$(seg 005_e plan) &&
	echo "segments: $s1 $s2 $s3 $s4 $s5" &&
	test "$s1" = "$s2" && test "$s2" -lt "$s3" && test "$s3" -lt "$s4" &&
	test "$s4" = "$s5"
'

test_expect_success 'only the destructive migration is marked [destructive]' '
	test_grep -F "[destructive]" plan &&
	test_grep ! -v -e 004 -e DROP <(grep -F "[destructive]" plan)
'

test_expect_success 'up --to 2 --dry-run shows only 001 and 002' '
	test_expect_code 0 pgward up --to 2 --dry-run &&
	test_grep -F 002_b "$OUT" &&
	test_grep ! -F 003_a_v_idx "$OUT" &&
	test_grep ! -F 005_e "$OUT"
'

test_expect_success 'up --to 2 stops at 2' '
	test_expect_code 0 pgward up --to 2 &&
	expect_history 1,2 &&
	table_exists public.b &&
	! table_exists public.a_v_idx
'

test_expect_success 'up --to 003 (padded) stops at 3' '
	test_expect_code 0 pgward up --to 003 &&
	expect_history 1,2,3 &&
	table_exists public.a_v_idx &&
	column_exists public.a old
'

test_expect_success 'up applies the rest' '
	test_expect_code 0 pgward up &&
	expect_history 1,2,3,4,5 &&
	! column_exists public.a old &&
	table_exists public.e
'

test_expect_success 'the destructive flag is in the history' '
	test_expect_code 0 pgward history --json &&
	json_check "$OUT" "[r[\"destructive\"] for r in d] == [False, False, False, True, False]"
'

test_expect_success 'down --dry-run changes nothing and lists the down SQL' '
	db_snapshot before &&
	test_expect_code 0 pgward down --steps 2 --dry-run &&
	test_grep -F "DROP TABLE e" "$OUT" &&
	test_grep -F "ALTER TABLE a ADD COLUMN old" "$OUT" &&
	test_grep ! -F "DROP INDEX" "$OUT" &&
	db_snapshot after &&
	test_cmp before after
'

test_expect_success 'down --steps 2 reverts 005 and 004' '
	test_expect_code 0 pgward down --steps 2 &&
	expect_history 1,2,3 &&
	! table_exists public.e &&
	column_exists public.a old &&
	table_exists public.a_v_idx
'

test_expect_success 'down with no option reverts one' '
	test_expect_code 0 pgward down &&
	expect_history 1,2 &&
	! table_exists public.a_v_idx
'

test_expect_success 'down --to 1 reverts everything above 1' '
	test_expect_code 0 pgward up &&
	expect_history 1,2,3,4,5 &&
	test_expect_code 0 pgward down --to 1 &&
	expect_history 1 &&
	table_exists public.a &&
	! table_exists public.b &&
	! table_exists public.a_v_idx
'

test_expect_success 'down --to the current version does nothing' '
	db_snapshot before &&
	test_expect_code 0 pgward down --to 1 &&
	db_snapshot after &&
	test_cmp before after
'

# file_down: rewrite 002_b.sql with the same up section and another down
file_down() {
	cat >"$MIG/002_b.sql" <<-\EOF
	-- migrate:up
	CREATE TABLE b (id int);
	INSERT INTO b VALUES (1);
	-- migrate:down
	DROP TABLE b;
	CREATE TABLE file_down_ran (id int);
	EOF
}

test_expect_success 'down runs the down SQL stored when it was applied' '
	cp "$MIG/002_b.sql" orig-002 &&
	test_expect_code 0 pgward up --to 2 &&
	file_down &&
	test_expect_code 0 pgward down &&
	expect_history 1 &&
	! table_exists public.b &&
	! table_exists public.file_down_ran
'

test_expect_success 'down --use-file-down runs the file'"'"'s' '
	cp orig-002 "$MIG/002_b.sql" &&
	test_expect_code 0 pgward up --to 2 &&
	file_down &&
	test_expect_code 0 pgward down --use-file-down &&
	expect_history 1 &&
	! table_exists public.b &&
	table_exists public.file_down_ran
'

test_expect_success 'down --to 0 reverts all' '
	test_expect_code 0 pgward down --to 0 &&
	expect_history "" &&
	! table_exists public.a
'

test_done
