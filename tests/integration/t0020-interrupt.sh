#!/bin/bash
# SIGINT or SIGTERM during up: the running statement is cancelled, the
# transaction rolls back, exit 1 within seconds; during a concurrent index
# build the partial index is removed.
. "$(dirname "$0")/lib.sh"

write_migration 001_base.sql <<'EOF2'
-- migrate:up
CREATE TABLE items (id int);
INSERT INTO items SELECT g FROM generate_series(1, 1000) g;
-- migrate:down
DROP TABLE items;
EOF2

test_expect_success 'base' '
	test_expect_code 0 pgward up
'

write_migration 002_slow.sql <<'EOF2'
-- migrate:up
CREATE TABLE slow (id int);
SELECT pg_sleep(30);
-- migrate:down
DROP TABLE slow;
EOF2

# signal the pgward process of this test (bg_start runs it in a subshell)
signal_up() {
	pkill -"$1" -f -- "--migrations $MIG up"
}

for sig in INT TERM; do
	test_expect_success "SIG$sig in a transaction: rolled back, exit 1 quickly" '
		bg_start up pgward up &&
		wait_for 10 "SELECT EXISTS (SELECT 1 FROM pg_stat_activity
			WHERE datname = current_database()
			AND query = \$\$SELECT pg_sleep(30)\$\$ AND state = \$\$active\$\$)" &&
		signal_up '"$sig"' &&
		bg_wait up 10 &&
		{ test "$(bg_rc up)" = 1 || { bg_show up; false; }; } &&
		test_grep "interrupted by a signal" "$TEST_DIR/up.err" &&
		test_eq f "$(psql_val "SELECT to_regclass(\$\$slow\$\$) IS NOT NULL")" "slow exists" &&
		expect_history 1
	'
done

rm -f "$MIG/002_slow.sql"
write_migration 002_index.sql <<'EOF2'
-- migrate:up transaction:false
CREATE INDEX CONCURRENTLY IF NOT EXISTS ix_items_id ON items (id);
-- migrate:down transaction:false
DROP INDEX CONCURRENTLY IF EXISTS ix_items_id;
EOF2

test_expect_success 'SIGINT during a concurrent index build: no index left, exit 1' '
	psql_bg old "BEGIN; SELECT txid_current(); SELECT pg_sleep(4); COMMIT;" &&
	wait_for 10 "SELECT EXISTS (SELECT 1 FROM pg_stat_activity
		WHERE application_name = \$\$pgw_test_old\$\$ AND backend_xid IS NOT NULL)" &&
	bg_start up pgward up &&
	wait_for 10 "SELECT EXISTS (SELECT 1 FROM pg_stat_progress_create_index)" &&
	signal_up INT &&
	bg_wait up 20 &&
	bg_wait old 20 &&
	{ test "$(bg_rc up)" = 1 || { bg_show up; false; }; } &&
	test_eq 0 "$(psql_val "SELECT count(*) FROM pg_class WHERE relname = \$\$ix_items_id\$\$")" "index left" &&
	expect_history 1
'

test_done
