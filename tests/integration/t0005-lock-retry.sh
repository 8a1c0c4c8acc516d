#!/bin/bash
# A session holding a lock makes up wait at most lock_timeout per try and
# retry; it succeeds once the lock is released, and after the last retry it
# fails cleanly (exit 1, nothing applied).
. "$(dirname "$0")/lib.sh"

psql_run "CREATE TABLE t (id int PRIMARY KEY); INSERT INTO t SELECT generate_series(1, 100)"
write_migration 001_add_x.sql <<'EOF'
-- migrate:up
ALTER TABLE t ADD COLUMN x int;
CREATE TABLE marker (id int);
-- migrate:down
DROP TABLE marker;
ALTER TABLE t DROP COLUMN x;
EOF

test_expect_success 'a lock held for 3 s: up retries and succeeds once released' '
	psql_bg locker "BEGIN; LOCK TABLE t IN ACCESS EXCLUSIVE MODE; SELECT pg_sleep(3); COMMIT;" &&
	wait_for_lock 10 public.t pgw_test_locker &&
	s=$(now_ms) &&
	test_expect_code 0 pgward up &&
	e=$(now_ms) &&
	bg_wait locker &&
	test_eq 0 "$(bg_rc locker)" "locker exit" &&
	column_exists public.t x &&
	table_exists public.marker &&
	expect_history 1 &&
	echo "up took $((e - s)) ms" &&
	test_le 1500 $((e - s)) "ms up waited for the lock"
'

test_expect_success 'reset' '
	test_expect_code 0 pgward down --to 0 &&
	! column_exists public.t x &&
	expect_history ""
'

test_expect_success 'a lock held past every retry: exit 1, nothing applied' '
	db_snapshot before &&
	psql_bg locker "BEGIN; LOCK TABLE t IN ACCESS EXCLUSIVE MODE; SELECT pg_sleep(60); COMMIT;" &&
	wait_for_lock 10 public.t pgw_test_locker &&
	s=$(now_ms) &&
	test_expect_code 1 pgward up --lock-timeout 100 &&
	e=$(now_ms) &&
	echo "up took $((e - s)) ms" &&
	test_le $((e - s)) 30000 "ms until up gave up" &&
	kill_session locker &&
	bg_wait locker &&
	! column_exists public.t x &&
	! table_exists public.marker &&
	expect_history "" &&
	db_snapshot after &&
	test_cmp before after
'

test_expect_success 'the failure names the statement and file:line' '
	test_grep "001_add_x.sql:2" "$ERR" &&
	test_grep "ALTER TABLE t" "$ERR"
'

test_expect_success 'the lock is free again: up works' '
	test_expect_code 0 pgward up --lock-timeout 100 &&
	column_exists public.t x &&
	expect_history 1
'

test_expect_success 'the waits are bounded by --lock-timeout: readers go on' '
	test_expect_code 0 pgward down --to 0 &&
	psql_bg locker "BEGIN; LOCK TABLE t IN ACCESS SHARE MODE; SELECT pg_sleep(60); COMMIT;" &&
	wait_for 10 "SELECT EXISTS (SELECT 1 FROM pg_locks l JOIN pg_stat_activity a USING (pid)
		WHERE a.datname = current_database() AND a.application_name = '\''pgw_test_locker'\'' AND l.relation = '\''t'\''::regclass
		AND l.granted)" &&
	bg_start up pgward up --lock-timeout 200 &&
	worst=0 &&
	for i in 1 2 3 4 5 6 7 8 9 10; do
		s=$(now_ms) &&
		psql_val "SELECT count(*) FROM t" >/dev/null &&
		d=$(( $(now_ms) - s )) &&
		if [ $d -gt $worst ]; then worst=$d; fi &&
		sleep 0.1 || return 1
	done &&
	echo "slowest reader: $worst ms" &&
	bg_wait up &&
	kill_session locker &&
	bg_wait locker &&
	test_le $worst 1000 "ms a reader waited behind up" &&
	test_eq 1 "$(bg_rc up)" "up exit"
'

test_done
