#!/bin/bash
# baseline --to V adopts a hand-built database: records 1..V as applied
# without running them; refused when history exists or V is not a file's.
. "$(dirname "$0")/lib.sh"

psql_run "CREATE TABLE a (id int PRIMARY KEY, name text);
	INSERT INTO a VALUES (1, 'hand'), (2, 'made');
	CREATE TABLE b (id int REFERENCES a)"

write_migration 001_a.sql <<'EOF'
-- migrate:up
CREATE TABLE IF NOT EXISTS a (id int PRIMARY KEY, name text);
CREATE TABLE baseline_ran_1 (id int);
-- migrate:down
DROP TABLE a;
EOF
write_migration 002_b.sql <<'EOF'
-- migrate:up
CREATE TABLE IF NOT EXISTS b (id int REFERENCES a);
CREATE TABLE baseline_ran_2 (id int);
-- migrate:down
DROP TABLE b;
EOF
write_migration 003_c.sql <<'EOF'
-- migrate:up
CREATE TABLE c (id int);
-- migrate:down
DROP TABLE c;
EOF

test_expect_success 'baseline --to a version with no file: exit 2, nothing recorded' '
	test_expect_code 2 pgward baseline --to 7 &&
	test_grep "pgward: error:" "$ERR" &&
	expect_history ""
'

test_expect_success 'baseline without --to: exit 2' '
	test_expect_code 2 pgward baseline &&
	expect_history ""
'

test_expect_success 'baseline --to 2 records 1 and 2 without running them' '
	test_expect_code 0 pgward baseline --to 2 &&
	expect_history 1,2 &&
	! table_exists public.baseline_ran_1 &&
	! table_exists public.baseline_ran_2 &&
	! table_exists public.c &&
	test_eq 2 "$(psql_val "SELECT count(*) FROM a")"
'

test_expect_success 'the baselined rows carry the files'"'"' checksums' '
	test_expect_code 0 pgward status --json &&
	json_check "$OUT" "d[\"applied\"] == 2 and d[\"changed\"] == [] and [p[\"file\"] for p in d[\"pending\"]] == [\"003_c.sql\"]"
'

test_expect_success 'up then applies only what comes after' '
	test_expect_code 0 pgward up &&
	expect_history 1,2,3 &&
	table_exists public.c &&
	! table_exists public.baseline_ran_1
'

test_expect_success 'baseline again with history present: exit 2, history unchanged' '
	schema_snapshot before &&
	test_expect_code 2 pgward baseline --to 3 &&
	test_grep "pgward: error:" "$ERR" &&
	schema_snapshot after &&
	test_cmp before after
'

test_expect_success 'baseline refuses after a partial down too' '
	test_expect_code 0 pgward down &&
	expect_history 1,2 &&
	test_expect_code 2 pgward baseline --to 2 &&
	expect_history 1,2
'

test_expect_success 'after up, status shows version 003 and nothing pending' '
	test_expect_code 0 pgward up &&
	test_expect_code 0 pgward status --json &&
	json_check "$OUT" "d[\"pending\"] == [] and str(d[\"version\"]) == \"003\""
'

test_done
