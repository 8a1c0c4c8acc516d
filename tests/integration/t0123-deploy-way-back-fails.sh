#!/bin/bash
# A deploy whose way back fails is not "rolled back": the post-verify smoke
# test fails after COMMIT, the stored down SQL then fails on the data, and
# the migrations stay committed: exit 3 ("needs a human"), the message says
# what failed and what to run, and the journal says so.
. "$(dirname "$0")/lib.sh"

BK="$TEST_DIR/backups"

write_migration 001_t.sql <<'EOF2'
-- migrate:up
CREATE TABLE t (id int PRIMARY KEY, v int NOT NULL);
-- migrate:down
DROP TABLE t;
EOF2

test_expect_success 'set up: 001 deployed, rows with duplicate values of v' '
	test_expect_code 0 pgward check --ephemeral --write &&
	test_expect_code 0 pgward --backup-dir "$BK" deploy &&
	psql_run "INSERT INTO t SELECT g, g % 10 FROM generate_series(1, 100) g"
'

# its down works on an empty database (check passes) but not on these rows
write_migration 002_c.sql <<'EOF2'
-- migrate:up
ALTER TABLE t ADD COLUMN c int;
-- migrate:down
ALTER TABLE t DROP COLUMN c;
CREATE UNIQUE INDEX t_v_probe ON t (v);
DROP INDEX t_v_probe;
EOF2

test_expect_success 'post-verify fails, the down SQL fails too: exit 3, still at 002, the journal says a human is needed' '
	test_expect_code 0 pgward check --ephemeral --write &&
	mkdir -p "$TEST_DIR/hooks" &&
	printf "#!/bin/sh\necho smoke test fails\nexit 1\n" >"$TEST_DIR/hooks/post-verify" &&
	chmod 755 "$TEST_DIR/hooks/post-verify" &&
	test_expect_code 3 pgward --backup-dir "$BK" deploy --hooks "$TEST_DIR/hooks" &&
	test_grep "reverting to 001 with the stored down SQL failed" "$ERR" &&
	test_grep "t_v_probe" "$ERR" &&
	test_grep "pgward down --to 001" "$ERR" &&
	test_eq 2 "$(psql_val "SELECT max(version) FROM pgward.migrations")" "version" &&
	column_exists public.t c &&
	test_eq "needs a human" "$(psql_val "SELECT status FROM pgward_journal.deploys ORDER BY started_at DESC LIMIT 1")" "journal"
'

test_done
