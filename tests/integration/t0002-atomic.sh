#!/bin/bash
# All pending transactional migrations and their verify sections run in one
# transaction: five migrations failing on the fourth leave nothing applied.
. "$(dirname "$0")/lib.sh"

for n in 1 2 3 5; do
	write_migration 00${n}_t$n.sql <<EOF
-- migrate:up
CREATE TABLE t$n (id int PRIMARY KEY);
INSERT INTO t$n VALUES ($n);
-- migrate:down
DROP TABLE t$n;
EOF
done
# The failing statement is on line 4.
write_migration 004_t4.sql <<'EOF'
-- migrate:up
CREATE TABLE t4 (id int PRIMARY KEY);
INSERT INTO t4 VALUES (4);
INSERT INTO no_such_table VALUES (4);
-- migrate:down
DROP TABLE t4;
EOF

test_expect_success 'five migrations failing on the fourth: exit 1' '
	test_expect_code 1 pgward up
'

test_expect_success 'the error names file:line and the statement' '
	test_grep "004_t4.sql:4" "$ERR" &&
	test_grep "INSERT INTO no_such_table" "$ERR" &&
	test_grep "pgward: error:" "$ERR"
'

test_expect_success 'nothing of the run is applied' '
	for n in 1 2 3 4 5; do
		! table_exists public.t$n || { echo "t$n exists"; return 1; }
	done &&
	expect_history ""
'

test_expect_success 'status still shows all five pending' '
	test_expect_code 0 pgward status --json &&
	json_check "$OUT" "d[\"version\"] is None and len(d[\"pending\"]) == 5"
'

test_expect_success 'once fixed, the five apply together' '
	sed -i "s/INSERT INTO no_such_table VALUES (4)/INSERT INTO t4 VALUES (44)/" \
		"$MIG/004_t4.sql" &&
	test_expect_code 0 pgward up &&
	expect_history 1,2,3,4,5 &&
	test_eq "4,44" "$(psql_val "SELECT string_agg(id::text, '\'','\'' ORDER BY id) FROM t4")"
'

test_expect_success 'a failing verify section rolls the run back' '
	write_migration 006_t6.sql <<-\EOF &&
	-- migrate:up
	CREATE TABLE t6 (id int);
	-- migrate:down
	DROP TABLE t6;
	EOF
	write_migration 007_t7.sql <<-\EOF &&
	-- migrate:up
	CREATE TABLE t7 (id int);
	-- migrate:down
	DROP TABLE t7;
	-- migrate:verify
	SELECT count(*) = 1 FROM t7;
	EOF
	test_expect_code 1 pgward up &&
	test_grep 007_t7 "$ERR" &&
	! table_exists public.t6 &&
	! table_exists public.t7 &&
	expect_history 1,2,3,4,5
'

test_expect_success 'a verify query returning NULL fails too' '
	write_migration 007_t7.sql <<-\EOF &&
	-- migrate:up
	CREATE TABLE t7 (id int);
	-- migrate:down
	DROP TABLE t7;
	-- migrate:verify
	SELECT NULL::boolean;
	EOF
	test_expect_code 1 pgward up &&
	! table_exists public.t6 &&
	expect_history 1,2,3,4,5
'

test_expect_success 'a verify section that holds lets the run commit' '
	write_migration 007_t7.sql <<-\EOF &&
	-- migrate:up
	CREATE TABLE t7 (id int);
	INSERT INTO t7 VALUES (1);
	-- migrate:down
	DROP TABLE t7;
	-- migrate:verify
	SELECT count(*) = 1 FROM t7;
	EOF
	test_expect_code 0 pgward up &&
	table_exists public.t6 &&
	expect_history 1,2,3,4,5,6,7
'

test_expect_success 'a new enum value can be used by the next migration' '
	write_migration 008_enum.sql <<-\EOF &&
	-- migrate:up
	CREATE TYPE colour AS ENUM ('\''red'\'', '\''green'\'');
	CREATE TABLE paint (c colour);
	-- migrate:down
	DROP TABLE paint;
	DROP TYPE colour;
	EOF
	write_migration 009_enum_add.sql <<-\EOF &&
	-- migrate:up
	ALTER TYPE colour ADD VALUE '\''blue'\'';
	-- migrate:down
	SELECT 1;
	EOF
	write_migration 010_enum_use.sql <<-\EOF &&
	-- migrate:up
	INSERT INTO paint VALUES ('\''blue'\'');
	-- migrate:down
	DELETE FROM paint WHERE c = '\''blue'\'';
	EOF
	test_expect_code 0 pgward up &&
	expect_history 1,2,3,4,5,6,7,8,9,10 &&
	test_eq blue "$(psql_val "SELECT c FROM paint")"
'

test_expect_success 'a failing down names the file'"'"'s line: exit 1, nothing reverted' '
	write_migration 011_t11.sql <<-\EOF &&
	-- migrate:up
	CREATE TABLE t11 (id int);

	-- migrate:down
	DROP TABLE t11;
	SELECT 1 / 0;
	EOF
	test_expect_code 0 pgward up &&
	test_expect_code 1 pgward down --steps 2 &&
	test_grep "011_t11.sql:6: .SELECT 1 / 0" "$ERR" &&
	expect_history 1,2,3,4,5,6,7,8,9,10,11 &&
	table_exists public.t11
'

test_done
