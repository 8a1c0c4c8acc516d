#!/bin/bash
# The fault matrix of the guarded deploy, and pgward recover.
#
# A test build (make SANITIZE=1: -DPGW_FAULTS) kills itself with SIGKILL
# at a named point (PGWARD_FAULT=NAME[:N]); the server also ends pgward's
# connections (pg_terminate_backend) at several points.  After each,
# `pgward recover` must leave the database equal to the state before the
# deploy or to the fully migrated one (schema and every row compared), and
# the journal must say which.
. "$(dirname "$0")/lib.sh"

BK="$TEST_DIR/backups"
export PGWARD_FAULT=
# (only a test build holds the fault points' message)
if grep -qa "killing myself" "$PGWARD"; then
	test_set_prereq FAULTS
fi

write_migration 001_accounts.sql <<'EOF2'
-- migrate:up
CREATE TABLE accounts (id bigint PRIMARY KEY, email text NOT NULL);
-- migrate:down
DROP TABLE accounts;
EOF2
# two statements: a kill can fall between them; the sleep is 0 unless a
# test sets pgw.sleep for the database
write_migration 002_balance.sql <<'EOF2'
-- migrate:up
ALTER TABLE accounts ADD COLUMN balance numeric(12,2) NOT NULL DEFAULT 0;
SELECT pg_sleep(coalesce(current_setting('pgw.sleep', true), '0')::float);
COMMENT ON COLUMN accounts.balance IS 'in the account''s currency';
-- migrate:down
ALTER TABLE accounts DROP COLUMN balance;
EOF2
write_migration 003_indexes.sql <<'EOF2'
-- migrate:up transaction:false
CREATE INDEX CONCURRENTLY IF NOT EXISTS ix_accounts_email ON accounts (email);
CREATE INDEX CONCURRENTLY IF NOT EXISTS ix_accounts_balance ON accounts (balance);
-- migrate:down transaction:false
DROP INDEX CONCURRENTLY IF EXISTS ix_accounts_balance;
DROP INDEX CONCURRENTLY IF EXISTS ix_accounts_email;
EOF2
write_migration 004_audit.sql <<'EOF2'
-- migrate:up
CREATE TABLE audit (id bigint PRIMARY KEY, note text NOT NULL);
SELECT pg_sleep(coalesce(current_setting('pgw.sleep2', true), '0')::float);
INSERT INTO audit SELECT id, email FROM accounts;
-- migrate:down
DROP TABLE audit;
EOF2

deploy() { pgward --backup-dir "$BK" deploy "$@"; }
# snap FILE: the schema, every row of every application table (sorted:
# an UPDATE moves rows physically) and the applied versions (history rows
# carry times that differ run to run)
snap() {
	local t
	{
		pg_dump_clean --schema-only --exclude-schema=pgward_journal
		for t in $(psql_val "SELECT format('%I.%I', schemaname, relname) FROM pg_stat_user_tables
			WHERE schemaname NOT LIKE 'pgward%' ORDER BY 1"); do
			echo "-- rows of $t"
			psql_val "SELECT r::text FROM $t r ORDER BY 1"
		done
		echo "-- applied: $(history_versions)"
	} >"$1"
}
journal() {
	psql_val "SELECT status || ' ' || stage FROM pgward_journal.deploys ORDER BY started_at DESC LIMIT 1"
}
# back_to_start: the database at 001 with its rows (the state before)
back_to_start() {
	psql_run "ALTER DATABASE \"$PGDATABASE\" RESET pgw.sleep;
		ALTER DATABASE \"$PGDATABASE\" RESET pgw.sleep2" &&
	pgward down --to 1 >/dev/null 2>&1 &&
	test_eq 1 "$(history_versions)" "back at 001"
}
# killed_at POINT: a deploy killed there exits 137 (SIGKILL)
killed_at() {
	PGWARD_FAULT=$1 test_expect_code 137 deploy &&
	test_grep "fault point '${1%%:*}'" "$ERR"
}
# recovered_to pre|post: recover, then the database is that state and the
# journal's newest deploy says so
recovered_to() {
	test_expect_code 0 pgward --wait 30 recover &&
	snap "$TEST_DIR/now" &&
	case $1 in
	pre) test_cmp "$TEST_DIR/pre" "$TEST_DIR/now" &&
	     case "$(journal)" in "rolled back "*) ;; *) echo "journal: $(journal)"; false ;; esac ;;
	post) test_cmp "$TEST_DIR/post" "$TEST_DIR/now" &&
	      case "$(journal)" in "succeeded "*) ;; *) echo "journal: $(journal)"; false ;; esac ;;
	esac
}

# end_during_sleep GUC SECONDS WHICH: a deploy whose migration sleeps
# (GUC set for the database); while it sleeps the server ends pgward's
# migration connection (WHICH=migration) or its idle control connections
# (WHICH=control, the ones holding advisory locks).  Leaves the deploy's
# exit code in dep.rc.
end_during_sleep() {
	local victims
	case $3 in
	migration) victims="a.query LIKE \$\$%pg_sleep%\$\$" ;;
	control) victims="a.state = \$\$idle\$\$ AND EXISTS (SELECT 1 FROM pg_locks l
		WHERE l.pid = a.pid AND l.locktype = \$\$advisory\$\$)" ;;
	esac
	psql_run "ALTER DATABASE \"$PGDATABASE\" SET $1 = '$2'" &&
	bg_start dep pgward --backup-dir "$BK" deploy &&
	wait_for 30 "SELECT EXISTS (SELECT 1 FROM pg_stat_activity WHERE datname = current_database()
		AND application_name LIKE \$\$pgward:%\$\$ AND query LIKE \$\$%pg_sleep%\$\$ AND state = \$\$active\$\$)" &&
	psql_val "SELECT count(pg_terminate_backend(a.pid)) FROM pg_stat_activity a
		WHERE a.datname = current_database() AND a.application_name LIKE \$\$pgward:%\$\$
		AND $victims" >/dev/null &&
	bg_wait dep 30 &&
	psql_run "ALTER DATABASE \"$PGDATABASE\" RESET $1"
}

test_expect_success 'set up: 001 with rows; the states before and after a whole deploy' '
	test_expect_code 0 pgward check --ephemeral --write &&
	test_expect_code 0 pgward up --to 1 &&
	psql_run "INSERT INTO accounts SELECT g, '\''u'\'' || g || '\''@x'\'' FROM generate_series(1, 2000) g" &&
	snap "$TEST_DIR/pre" &&
	test_expect_code 0 deploy &&
	snap "$TEST_DIR/post" &&
	test_grep "ix_accounts_balance" "$TEST_DIR/post" &&
	test_grep "applied: 1,2,3,4" "$TEST_DIR/post" &&
	back_to_start &&
	snap "$TEST_DIR/now" &&
	test_cmp "$TEST_DIR/pre" "$TEST_DIR/now"
'

test_expect_success 'nothing unfinished: recover says so, exit 0' '
	test_expect_code 0 pgward recover &&
	test_grep "nothing to recover" "$OUT"
'

test_expect_success FAULTS 'killed right after taking the lock: nothing to recover, state before' '
	killed_at deploy-locked &&
	test_expect_code 0 pgward recover &&
	test_grep "nothing to recover" "$OUT" &&
	snap "$TEST_DIR/now" &&
	test_cmp "$TEST_DIR/pre" "$TEST_DIR/now"
'

test_expect_success FAULTS 'killed during the backup: the next deploy refuses (exit 3, names recover); recover: state before' '
	killed_at backup-table &&
	test_expect_code 3 deploy &&
	test_grep "pgward recover" "$ERR" &&
	test_eq 1 "$(history_versions)" "nothing ran" &&
	recovered_to pre &&
	test_grep "nothing of it had committed" "$OUT"
'

test_expect_success FAULTS 'killed after the backup: state before' '
	killed_at backup-done &&
	recovered_to pre
'

test_expect_success FAULTS 'killed before the first segment: state before' '
	killed_at segment-before:1 &&
	recovered_to pre
'

test_expect_success FAULTS 'killed inside the first segment, between two statements: state before' '
	killed_at segment-inside:1 &&
	recovered_to pre
'

test_expect_success FAULTS 'killed after the first segment committed: rolled forward' '
	killed_at segment-after:1 &&
	test_eq 1,2 "$(history_versions)" "002 committed" &&
	recovered_to post &&
	test_grep "rolled forward" "$OUT" &&
	back_to_start
'

test_expect_success FAULTS 'killed before the transaction:false section: rolled forward' '
	killed_at segment-before:2 &&
	recovered_to post &&
	back_to_start
'

test_expect_success FAULTS 'killed between two statements of the transaction:false section: the step journal; rolled forward' '
	killed_at notx-between &&
	test_eq 1,2 "$(history_versions)" "003 not recorded" &&
	test_eq "1 done,2 running" "$(psql_val "SELECT string_agg(statement || '\'' '\'' || status, '\'','\'' ORDER BY statement)
		FROM pgward_journal.steps WHERE version = '\''003'\'' AND deploy_id =
		(SELECT id FROM pgward_journal.deploys ORDER BY started_at DESC LIMIT 1)")" "step journal" &&
	test_eq t "$(psql_val "SELECT to_regclass('\''ix_accounts_email'\'') IS NOT NULL")" "first index built" &&
	recovered_to post &&
	test_grep "part-way" "$ERR" &&
	back_to_start
'

test_expect_success FAULTS 'the same with --way-back: the step journal undoes the first index; state before' '
	killed_at notx-between &&
	test_expect_code 0 pgward --wait 30 recover --way-back &&
	test_grep "undoing statement 1 of 003" "$ERR" &&
	snap "$TEST_DIR/now" &&
	test_cmp "$TEST_DIR/pre" "$TEST_DIR/now" &&
	case "$(journal)" in "rolled back "*) ;; *) false ;; esac
'

test_expect_success FAULTS 'killed inside the last segment: rolled forward' '
	killed_at segment-inside:4 &&
	test_eq 1,2,3 "$(history_versions)" "002 and 003 committed" &&
	recovered_to post &&
	back_to_start
'

test_expect_success FAULTS 'killed after the last segment committed: complete' '
	killed_at segment-after:3 &&
	recovered_to post &&
	test_grep "every migration of it had committed" "$OUT" &&
	back_to_start
'

test_expect_success FAULTS 'killed during verification: complete' '
	killed_at verify &&
	recovered_to post &&
	back_to_start
'

test_expect_success FAULTS 'killed before notify: the deploy had succeeded; nothing to recover' '
	killed_at notify &&
	test_expect_code 0 pgward recover &&
	test_grep "nothing to recover" "$OUT" &&
	snap "$TEST_DIR/now" &&
	test_cmp "$TEST_DIR/post" "$TEST_DIR/now" &&
	case "$(journal)" in "succeeded "*) ;; *) false ;; esac &&
	back_to_start
'

test_expect_success 'the server ends the migration connection inside the first segment: rolled back, exit 1' '
	end_during_sleep pgw.sleep 30 migration &&
	{ test "$(bg_rc dep)" = 1 || { bg_show dep; false; }; } &&
	back_to_start &&
	recovered_to pre
'

test_expect_success 'the server ends the migration connection in the last segment: the way back, exit 1, state before' '
	end_during_sleep pgw.sleep2 30 migration &&
	{ test "$(bg_rc dep)" = 1 || { bg_show dep; false; }; } &&
	test_grep "reverted with the stored down SQL" "$TEST_DIR/dep.out" &&
	back_to_start &&
	recovered_to pre
'

test_expect_success 'the control connection ended mid-deploy, after segments committed: no COMMIT, exit 3; recover' '
	end_during_sleep pgw.sleep2 3 control &&
	{ test "$(bg_rc dep)" = 3 || { bg_show dep; false; }; } &&
	test_grep "lost the deploy lock\|deploy lock was lost" "$TEST_DIR/dep.err" &&
	test_eq 1,2,3 "$(history_versions)" "004 rolled back" &&
	! table_exists public.audit &&
	recovered_to post &&
	back_to_start
'

test_expect_success 'the control connection ended before anything committed: exit 1, state before' '
	end_during_sleep pgw.sleep 3 control &&
	{ test "$(bg_rc dep)" = 1 || { bg_show dep; false; }; } &&
	back_to_start &&
	recovered_to pre
'

test_expect_success FAULTS 'killed during the restore of a failed destructive deploy: recover needs --writes-stopped, then restores' '
	test_expect_code 0 deploy &&
	snap "$TEST_DIR/pre5" &&
	write_migration 005_drop_note.sql <<-\EOF2 &&
	-- migrate:up
	ALTER TABLE audit DROP COLUMN note;
	-- migrate:down
	ALTER TABLE audit ADD COLUMN note text NOT NULL DEFAULT '\'''\'';
	ALTER TABLE audit ALTER COLUMN note DROP DEFAULT;
	EOF2
	test_expect_code 0 pgward check --ephemeral --write &&
	mkdir -p "$TEST_DIR/hooks" &&
	printf "#!/bin/sh\nexit 1\n" >"$TEST_DIR/hooks/post-verify" &&
	chmod 755 "$TEST_DIR/hooks/post-verify" &&
	PGWARD_FAULT=restore-table test_expect_code 137 deploy --hooks "$TEST_DIR/hooks" --writes-stopped &&
	test_eq 1,2,3,4,5 "$(history_versions)" "the restore rolled back" &&
	test_expect_code 3 pgward recover &&
	test_grep "writes-stopped" "$ERR" &&
	test_eq 1,2,3,4,5 "$(history_versions)" "nothing restored" &&
	test_expect_code 0 pgward recover --writes-stopped &&
	test_grep "restored the deploy" "$OUT" &&
	snap "$TEST_DIR/now" &&
	test_cmp "$TEST_DIR/pre5" "$TEST_DIR/now" &&
	case "$(journal)" in "rolled back "*) ;; *) echo "journal: $(journal)"; false ;; esac
'

test_done
