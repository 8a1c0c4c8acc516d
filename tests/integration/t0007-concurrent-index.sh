#!/bin/bash
# CREATE INDEX CONCURRENTLY IF NOT EXISTS in a transaction:false section
# builds a valid index; a failed build leaves no INVALID index behind.
. "$(dirname "$0")/lib.sh"

write_migration 001_t.sql <<'EOF'
-- migrate:up
CREATE TABLE t (id int PRIMARY KEY, v int NOT NULL);
INSERT INTO t SELECT g, g % 100 FROM generate_series(1, 5000) g;
-- migrate:down
DROP TABLE t;
EOF
write_migration 002_t_v_idx.sql <<'EOF'
-- migrate:up transaction:false
CREATE INDEX CONCURRENTLY IF NOT EXISTS t_v_idx ON t (v);
-- migrate:down transaction:false
DROP INDEX CONCURRENTLY IF EXISTS t_v_idx;
EOF
write_migration 003_u.sql <<'EOF'
-- migrate:up
CREATE TABLE u (id int PRIMARY KEY, v int NOT NULL);
-- migrate:down
DROP TABLE u;
EOF

index_valid() {
	psql_val "SELECT indisvalid FROM pg_index WHERE indexrelid = to_regclass('$1')"
}

invalid_indexes() {
	psql_val "SELECT count(*) FROM pg_index WHERE NOT indisvalid OR NOT indisready"
}

test_expect_success 'a run with a transaction:false migration in the middle applies all' '
	test_expect_code 0 pgward up &&
	expect_history 1,2,3 &&
	table_exists public.u &&
	test_eq t "$(index_valid public.t_v_idx)" "t_v_idx valid" &&
	test_eq 0 "$(invalid_indexes)" "invalid indexes"
'

test_expect_success 'the index is used for the right column' '
	test_eq "CREATE INDEX t_v_idx ON public.t USING btree (v)" \
		"$(psql_val "SELECT pg_get_indexdef('\''public.t_v_idx'\''::regclass)")"
'

test_expect_success 'down runs the concurrent drop' '
	test_expect_code 0 pgward down --to 1 &&
	expect_history 1 &&
	! table_exists public.t_v_idx &&
	! table_exists public.u
'

test_expect_success 'up again when the index already exists (IF NOT EXISTS)' '
	psql_run "CREATE INDEX t_v_idx ON t (v)" &&
	test_expect_code 0 pgward up &&
	expect_history 1,2,3 &&
	test_eq t "$(index_valid public.t_v_idx)"
'

test_expect_success 'a failed unique concurrent build: exit 1, no INVALID index left' '
	psql_run "INSERT INTO u VALUES (1, 7), (2, 7)" &&
	write_migration 004_u_uniq.sql <<-\EOF &&
	-- migrate:up transaction:false
	CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS u_v_uniq ON u (v);
	-- migrate:down transaction:false
	DROP INDEX CONCURRENTLY IF EXISTS u_v_uniq;
	EOF
	test_expect_code 1 pgward up &&
	test_eq 0 "$(psql_val "SELECT count(*) FROM pg_class WHERE relname = '\''u_v_uniq'\''")" \
		"u_v_uniq relations" &&
	test_eq 0 "$(invalid_indexes)" "invalid indexes" &&
	expect_history 1,2,3
'

test_expect_success 'the failure names the file' '
	test_grep "004_u_uniq.sql" "$ERR"
'

test_expect_success 'inserts with duplicate values still work after the failure' '
	psql_run "INSERT INTO u VALUES (3, 7)" &&
	test_eq 3 "$(psql_val "SELECT count(*) FROM u WHERE v = 7")"
'

test_expect_success 'once the data is fixed the index builds' '
	psql_run "DELETE FROM u WHERE id > 1" &&
	test_expect_code 0 pgward up &&
	expect_history 1,2,3,4 &&
	test_eq t "$(index_valid public.u_v_uniq)"
'

test_expect_success 'a failing build after committed segments: exit 1, earlier ones kept' '
	psql_run "DROP INDEX IF EXISTS u_v_uniq; DELETE FROM u WHERE id > 1" &&
	test_expect_code 0 pgward up --to 4 &&
	expect_history 1,2,3,4 &&
	write_migration 005_w.sql <<-\EOF &&
	-- migrate:up
	CREATE TABLE w (id int, v int);
	INSERT INTO w VALUES (1, 1), (2, 1);
	-- migrate:down
	DROP TABLE w;
	EOF
	write_migration 006_w_uniq.sql <<-\EOF &&
	-- migrate:up transaction:false
	CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS w_v_uniq ON w (v);
	-- migrate:down transaction:false
	DROP INDEX CONCURRENTLY IF EXISTS w_v_uniq;
	EOF
	test_expect_code 1 pgward up &&
	expect_history 1,2,3,4,5 &&
	table_exists public.w &&
	! table_exists public.w_v_uniq &&
	test_eq 0 "$(invalid_indexes)" "invalid indexes" &&
	test_grep "006_w_uniq.sql" "$ERR" &&
	test_grep "005" "$ERR"
'

# A build that outlasts --concurrent-timeout waiting for an old snapshot
# leaves an INVALID index: it is dropped (DROP INDEX CONCURRENTLY, then a
# plain DROP INDEX under lock_timeout); when a session still uses the
# table, neither can, and the run says so: exit 3, the index named, the
# command to run.
holder_waiting() {
	wait_for 10 "SELECT EXISTS (SELECT 1 FROM pg_stat_activity
		WHERE application_name = 'pgw_test_$1' AND query LIKE '%pg_sleep%')"
}

test_expect_success 'a build timed out by an old snapshot on another table: exit 1, the INVALID index dropped' '
	write_migration 007_t_v2.sql <<-\EOF &&
	-- migrate:up transaction:false
	CREATE INDEX CONCURRENTLY IF NOT EXISTS t_v2_idx ON t (v, id);
	-- migrate:down transaction:false
	DROP INDEX CONCURRENTLY IF EXISTS t_v2_idx;
	EOF
	rm -f "$MIG/006_w_uniq.sql" &&
	psql_run "DROP TABLE IF EXISTS w" &&
	psql_run "DELETE FROM pgward.migrations WHERE version IN (5, 6)" &&
	psql_bg old1 "BEGIN ISOLATION LEVEL REPEATABLE READ; SELECT count(*) FROM u; SELECT pg_sleep(60)" &&
	holder_waiting old1 &&
	test_expect_code 1 pgward --concurrent-timeout 1 up &&
	kill_session old1 && bg_wait old1 &&
	test_eq 0 "$(invalid_indexes)" "invalid indexes" &&
	test_grep "dropping INVALID index" "$ERR" &&
	! test_grep "is still there" "$ERR"
'

test_expect_success 'the same with a session using the table: exit 3 naming the INVALID index and the DROP to run' '
	psql_bg old2 "BEGIN ISOLATION LEVEL REPEATABLE READ; SELECT count(*) FROM t; SELECT pg_sleep(60)" &&
	holder_waiting old2 &&
	test_expect_code 3 pgward --concurrent-timeout 1 --lock-timeout 200 up &&
	kill_session old2 && bg_wait old2 &&
	test_eq 1 "$(invalid_indexes)" "invalid indexes" &&
	test_grep "INVALID index .*t_v2_idx is still there" "$ERR" &&
	test_grep "DROP INDEX CONCURRENTLY IF EXISTS .*t_v2_idx;" "$ERR" &&
	psql_run "DROP INDEX CONCURRENTLY IF EXISTS t_v2_idx" &&
	test_eq 0 "$(invalid_indexes)" "invalid indexes" &&
	test_expect_code 0 pgward up &&
	test_eq t "$(index_valid t_v2_idx)" "t_v2_idx valid"
'

test_done
