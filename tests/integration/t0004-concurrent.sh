#!/bin/bash
# Two pgward up started together apply each migration exactly once: with
# the default --wait 0 one exits 4; with --wait both succeed.
. "$(dirname "$0")/lib.sh"

write_migration 001_slow.sql <<'EOF'
-- migrate:up
CREATE TABLE slow (id int);
INSERT INTO slow VALUES (1);
SELECT pg_sleep(2);
-- migrate:down
DROP TABLE slow;
EOF
write_migration 002_counter.sql <<'EOF'
-- migrate:up
CREATE TABLE runs (n int);
INSERT INTO runs VALUES (1);
-- migrate:down
DROP TABLE runs;
EOF

exactly_once() {
	expect_history 1,2 &&
	test_eq 2 "$(psql_val "SELECT count(DISTINCT version) FROM pgward.migrations")" \
		"distinct versions" &&
	test_eq 1 "$(psql_val "SELECT count(*) FROM slow")" "rows in slow" &&
	test_eq 1 "$(psql_val "SELECT count(*) FROM runs")" "rows in runs"
}

test_expect_success 'two up at once: one applies, the other exits 4' '
	bg_start up1 pgward up &&
	bg_start up2 pgward up &&
	bg_wait up1 &&
	bg_wait up2 &&
	codes="$(printf "%s\n" "$(bg_rc up1)" "$(bg_rc up2)" | sort -n | tr "\n" " ")" &&
	{ test_eq "0 4 " "$codes" "exit codes" || { bg_show up1; bg_show up2; false; }; }
'

test_expect_success 'each migration was applied exactly once' '
	exactly_once
'

test_expect_success 'the one that exits 4 does not wait (--wait 0)' '
	loser=up1 &&
	{ test "$(bg_rc up1)" = 4 || loser=up2; } &&
	test_le "$(bg_ms $loser)" 1800 "ms until exit 4"
'

test_expect_success 'reset' '
	test_expect_code 0 pgward down --to 0 &&
	expect_history ""
'

test_expect_success 'two up --wait 30 at once: both exit 0' '
	bg_start up1 pgward up --wait 30 &&
	bg_start up2 pgward up --wait 30 &&
	bg_wait up1 &&
	bg_wait up2 &&
	{ test "$(bg_rc up1) $(bg_rc up2)" = "0 0" || { bg_show up1; bg_show up2; false; }; }
'

test_expect_success 'and each migration was applied exactly once' '
	exactly_once
'

test_expect_success 'three up --wait 30 with nothing pending all exit 0' '
	bg_start up1 pgward up --wait 30 &&
	bg_start up2 pgward up --wait 30 &&
	bg_start up3 pgward up --wait 30 &&
	bg_wait up1 && bg_wait up2 && bg_wait up3 &&
	test_eq "0 0 0" "$(bg_rc up1) $(bg_rc up2) $(bg_rc up3)" &&
	exactly_once
'

test_expect_success 'a waiting up gives up after --wait seconds with exit 4' '
	test_expect_code 0 pgward down --to 0 &&
	bg_start holder pgward up &&
	wait_for 10 "SELECT to_regclass('\''public.slow'\'') IS NULL AND EXISTS (
		SELECT 1 FROM pg_stat_activity WHERE datname = current_database()
		AND application_name LIKE '\''pgward%'\''
		AND query LIKE '\''%pg_sleep%'\'')" &&
	bg_start waiter pgward up --wait 1 &&
	bg_wait waiter &&
	bg_wait holder &&
	{ test "$(bg_rc holder) $(bg_rc waiter)" = "0 4" || { bg_show holder; bg_show waiter; false; }; } &&
	exactly_once
'

test_done
