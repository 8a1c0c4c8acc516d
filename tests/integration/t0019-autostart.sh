#!/bin/bash
# The library start-up path (examples/app_start, built with libpgward):
# replicas starting together apply each migration once; without
# AUTO_MIGRATE_ON_START nothing is migrated; a failing migration is
# reported and rolled back.
. "$(dirname "$0")/lib.sh"

APP=$(dirname "$PGWARD")/examples/app_start

write_migration 001_accounts.sql <<'EOF2'
-- migrate:up
CREATE TABLE accounts (id int PRIMARY KEY);
INSERT INTO accounts VALUES (1);
SELECT pg_sleep(1);
-- migrate:down
DROP TABLE accounts;
EOF2
write_migration 002_audit.sql <<'EOF2'
-- migrate:up
CREATE TABLE audit (n int);
INSERT INTO audit VALUES (1);
-- migrate:down
DROP TABLE audit;
EOF2

app() {
	env PGWARD_MIGRATIONS="$MIG" "$@" "$APP"
}

test_expect_success 'the example program is built' '
	test -x "$APP"
'

test_expect_success 'without AUTO_MIGRATE_ON_START nothing is migrated' '
	test_expect_code 0 app AUTO_MIGRATE_ON_START=false &&
	test_grep "application started" "$OUT" &&
	test_eq f "$(psql_val "SELECT to_regclass(\$\$accounts\$\$) IS NOT NULL")" "accounts exists"
'

test_expect_success 'three replicas start together: all start, each migration once' '
	bg_start r1 app AUTO_MIGRATE_ON_START=true &&
	bg_start r2 app AUTO_MIGRATE_ON_START=true &&
	bg_start r3 app AUTO_MIGRATE_ON_START=true &&
	bg_wait r1 && bg_wait r2 && bg_wait r3 &&
	{ test "$(bg_rc r1) $(bg_rc r2) $(bg_rc r3)" = "0 0 0" ||
	  { bg_show r1; bg_show r2; bg_show r3; false; }; } &&
	expect_history 1,2 &&
	test_eq 1 "$(psql_val "SELECT count(*) FROM accounts")" "rows in accounts" &&
	test_eq 1 "$(psql_val "SELECT count(*) FROM audit")" "rows in audit"
'

test_expect_success 'a restart with nothing pending says so' '
	test_expect_code 0 app AUTO_MIGRATE_ON_START=true &&
	test_grep "nothing to apply" "$ERR"
'

write_migration 003_bad.sql <<'EOF2'
-- migrate:up
CREATE TABLE bad (n int);
INSERT INTO bad VALUES (1 / 0);
-- migrate:down
DROP TABLE bad;
EOF2

test_expect_success 'a failing migration is reported, rolled back, and the app does not start' '
	test_expect_code 1 app AUTO_MIGRATE_ON_START=true &&
	test_grep "division by zero" "$ERR" &&
	expect_history 1,2 &&
	test_eq f "$(psql_val "SELECT to_regclass(\$\$bad\$\$) IS NOT NULL")" "bad exists"
'

test_done
