#!/bin/bash
# An applied migration whose file changed is refused; an applied version
# whose file is gone is shown by status and refused by up unless
# --allow-unknown.
. "$(dirname "$0")/lib.sh"

write_migration 001_a.sql <<'EOF'
-- migrate:up
CREATE TABLE a (id int);
-- migrate:down
DROP TABLE a;
EOF
write_migration 002_b.sql <<'EOF'
-- migrate:up
CREATE TABLE b (id int);
-- migrate:down
DROP TABLE b;
EOF

test_expect_success 'set up: two applied, one pending' '
	test_expect_code 0 pgward up &&
	expect_history 1,2 &&
	cp "$MIG/001_a.sql" orig-001 &&
	write_migration 003_c.sql <<-\EOF
	-- migrate:up
	CREATE TABLE c (id int);
	-- migrate:down
	DROP TABLE c;
	EOF
'

test_expect_success 'line endings changed to CRLF do not count as a change' '
	sed -i "s/\$/\r/" "$MIG/002_b.sql" &&
	test_expect_code 0 pgward status --json &&
	json_check "$OUT" "d[\"changed\"] == []"
'

test_expect_success 'an edited applied migration is refused: exit 2, nothing run' '
	sed -i "s/CREATE TABLE a (id int);/CREATE TABLE a (id int, x int);/" "$MIG/001_a.sql" &&
	db_snapshot before &&
	test_expect_code 2 pgward up &&
	db_snapshot after &&
	test_cmp before after &&
	! table_exists public.c &&
	expect_history 1,2
'

test_expect_success 'the message names the file and how to see the difference' '
	test_grep "001_a.sql" "$ERR" &&
	test_grep -- "history --show" "$ERR"
'

test_expect_success 'status shows the changed migration' '
	test_expect_code 0 pgward status --json &&
	json_check "$OUT" "[str(c[\"version\"]).lstrip(\"0\") for c in d[\"changed\"]] == [\"1\"]" &&
	test_expect_code 0 pgward status &&
	test_grep "001" "$OUT" &&
	test_grep -i -E "changed|edited" "$OUT"
'

test_expect_success 'history --show prints the SQL as applied' '
	test_expect_code 0 pgward history --show 001 &&
	test_grep -F "CREATE TABLE a (id int);" "$OUT" &&
	test_grep ! "x int" "$OUT"
'

test_expect_success 'restoring the file lets up run again' '
	cp orig-001 "$MIG/001_a.sql" &&
	test_expect_code 0 pgward up &&
	expect_history 1,2,3 &&
	table_exists public.c
'

test_expect_success 'an applied version with no file is shown by status' '
	mv "$MIG/003_c.sql" gone-003 &&
	test_expect_code 0 pgward status --json &&
	json_check "$OUT" "[str(u[\"version\"]).lstrip(\"0\") for u in d[\"unknown\"]] == [\"3\"]" &&
	test_expect_code 0 pgward status &&
	test_grep 003 "$OUT" &&
	test_grep -i unknown "$OUT"
'

test_expect_success 'up refuses unknown applied versions: exit 2, nothing run' '
	write_migration 005_d.sql <<-\EOF &&
	-- migrate:up
	CREATE TABLE d (id int);
	-- migrate:down
	DROP TABLE d;
	EOF
	db_snapshot before &&
	test_expect_code 2 pgward up &&
	test_grep 003 "$ERR" &&
	test_grep -- --allow-unknown "$ERR" &&
	db_snapshot after &&
	test_cmp before after
'

test_expect_success 'up --allow-unknown applies the pending ones' '
	test_expect_code 0 pgward up --allow-unknown &&
	table_exists public.d &&
	table_exists public.c &&
	expect_history 1,2,3,5
'

test_expect_success 'a pending migration below the newest applied one is refused' '
	mv gone-003 "$MIG/003_c.sql" &&
	write_migration 004_late.sql <<-\EOF &&
	-- migrate:up
	CREATE TABLE late (id int);
	-- migrate:down
	DROP TABLE late;
	EOF
	test_expect_code 2 pgward up &&
	test_grep 004_late "$ERR" &&
	! table_exists public.late &&
	expect_history 1,2,3,5
'

test_done
