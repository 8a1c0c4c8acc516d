#!/bin/bash
# A restore takes its locks with a lock timeout and retries: a session
# that holds a table long enough makes it fail cleanly (exit 1, nothing
# changed), naming that session; released in time, the restore goes on.
. "$(dirname "$0")/lib.sh"

test_expect_success 'set up: a table, its archive, then a change' '
	psql_run "CREATE TABLE t (id int PRIMARY KEY, v text);
		INSERT INTO t SELECT g, md5(g::text) FROM generate_series(1, 100) g" &&
	test_expect_code 0 "$PGWARD" backup -o "$TEST_DIR/a.tar.zst" &&
	psql_run "UPDATE t SET v = \$\$changed\$\$ WHERE id = 1"
'

test_expect_success 'held for longer than the retries last: exit 1 naming the holder, nothing changed' '
	psql_bg holder "BEGIN; SELECT count(*) FROM t; SELECT pg_sleep(30); COMMIT;" &&
	wait_for 10 "SELECT EXISTS (SELECT 1 FROM pg_stat_activity WHERE application_name = \$\$pgw_test_holder\$\$ AND state = \$\$active\$\$)" &&
	test_expect_code 1 "$PGWARD" --lock-timeout 100 restore --yes "$TEST_DIR/a.tar.zst" &&
	test_grep "pgw_test_holder" "$ERR" &&
	test_eq changed "$(psql_val "SELECT v FROM t WHERE id = 1")" "row 1" &&
	kill_session holder
'

test_expect_success 'released while the restore retries: the restore succeeds' '
	bg_wait holder 10;
	psql_bg holder2 "BEGIN; SELECT count(*) FROM t; SELECT pg_sleep(1.5); COMMIT;" &&
	wait_for 10 "SELECT EXISTS (SELECT 1 FROM pg_stat_activity WHERE application_name = \$\$pgw_test_holder2\$\$ AND state = \$\$active\$\$)" &&
	test_expect_code 0 "$PGWARD" --lock-timeout 200 restore --yes "$TEST_DIR/a.tar.zst" &&
	test_eq "$(psql_val "SELECT md5(1::text)")" "$(psql_val "SELECT v FROM t WHERE id = 1")" "row 1 restored" &&
	bg_wait holder2 10
'

test_done
