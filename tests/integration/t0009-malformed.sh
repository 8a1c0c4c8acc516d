#!/bin/bash
# Every malformed input is exit 2 with a message naming the file (and line
# where there is one), and leaves the database exactly as it was.
. "$(dirname "$0")/lib.sh"

psql_run "CREATE TABLE t (id int PRIMARY KEY, v int); INSERT INTO t VALUES (1, 1), (2, 1)"
write_migration 001_good.sql <<'EOF'
-- migrate:up
CREATE TABLE good (id int);
INSERT INTO good VALUES (1);
-- migrate:down
DROP TABLE good;
EOF

# case_dir NAME: a fresh migrations dir holding the applied 001_good.sql
case_dir() {
	MIG="$TEST_DIR/cases/$1"
	rm -rf "$MIG"
	mkdir -p "$MIG"
	cp "$TEST_DIR/migrations/001_good.sql" "$MIG/"
}

# expect_rejected WHERE [pgward ARGS]: exit 2, the message names WHERE
# (file or file:line), the database is unchanged.
expect_rejected() {
	local where=$1
	shift
	[ $# -gt 0 ] || set -- up
	db_snapshot before &&
	test_expect_code 2 pgward "$@" &&
	test_grep "pgward: error:" "$ERR" &&
	test_grep -F -- "$where" "$ERR" &&
	db_snapshot after &&
	test_cmp before after
}

test_expect_success 'set up: 001 applied' '
	test_expect_code 0 pgward up &&
	expect_history 1
'

test_expect_success 'a duplicate version (002 and 2) is rejected' '
	case_dir dup &&
	printf -- "-- migrate:up\nCREATE TABLE x (id int);\n" >"$MIG/002_a.sql" &&
	printf -- "-- migrate:up\nCREATE TABLE y (id int);\n" >"$MIG/2_b.sql" &&
	expect_rejected 2_b.sql &&
	test_grep -F 002_a.sql "$ERR"
'

test_expect_success 'a duplicate of an applied version (001 and 1) is rejected' '
	case_dir dup-applied &&
	printf -- "-- migrate:up\nCREATE TABLE y (id int);\n" >"$MIG/1_again.sql" &&
	expect_rejected 1_again.sql
'

test_expect_success 'a file with no up section is rejected' '
	case_dir no-up &&
	printf -- "-- migrate:down\nDROP TABLE x;\n" >"$MIG/002_no_up.sql" &&
	expect_rejected 002_no_up.sql
'

test_expect_success 'an unknown directive is rejected with its line' '
	case_dir directive &&
	printf -- "-- migrate:up transactoin:false\nCREATE TABLE x (id int);\n" >"$MIG/002_typo.sql" &&
	expect_rejected 002_typo.sql:1 &&
	test_grep transactoin "$ERR"
'

test_expect_success 'text that is not UTF-8 is rejected with its line' '
	case_dir latin1 &&
	printf -- "-- migrate:up\nCREATE TABLE x (v text DEFAULT '\''caf\351'\'');\n" >"$MIG/002_latin1.sql" &&
	expect_rejected 002_latin1.sql:2
'

test_expect_success 'an empty file is rejected' '
	case_dir empty &&
	: >"$MIG/002_empty.sql" &&
	expect_rejected 002_empty.sql
'

test_expect_success 'a .sql name without a version is rejected' '
	case_dir noversion &&
	printf -- "-- migrate:up\nCREATE TABLE x (id int);\n" >"$MIG/foo.sql" &&
	expect_rejected foo.sql
'

test_expect_success 'schema.sql is allowed and never run' '
	case_dir schema &&
	printf -- "CREATE TABLE from_schema_sql (id int);\n" >"$MIG/schema.sql" &&
	printf -- "-- migrate:up\nCREATE TABLE x (id int);\n-- migrate:down\nDROP TABLE x;\n" \
		>"$MIG/002_x.sql" &&
	test_expect_code 0 pgward up &&
	table_exists public.x &&
	! table_exists public.from_schema_sql &&
	expect_history 1,2 &&
	test_expect_code 0 pgward down &&
	expect_history 1
'

test_expect_success 'a statement the parser rejects: exit 2 with file:line' '
	case_dir syntax &&
	printf -- "-- migrate:up\nCREATE TABLE x (id int);\nCREATE TABLE y (id int,,);\n" >"$MIG/002_syntax.sql" &&
	expect_rejected 002_syntax.sql:3
'

test_expect_success 'BEGIN is rejected before connecting' '
	case_dir before-connect &&
	printf -- "-- migrate:up\nBEGIN;\nCREATE TABLE y (id int);\n" >"$MIG/002_begin.sql" &&
	test_expect_code 2 pgward -d "host=$TEST_DIR/no-such-dir dbname=x" up &&
	test_grep -F 002_begin.sql:2 "$ERR"
'

test_expect_success 'psql meta-commands are rejected' '
	case_dir meta &&
	printf -- "-- migrate:up\n\\\\set x 1\nCREATE TABLE x (id int);\n" >"$MIG/002_meta.sql" &&
	grep -q "^\\\\set x 1\$" "$MIG/002_meta.sql" &&
	expect_rejected 002_meta.sql:2
'

test_expect_success 'psql \copy is rejected' '
	case_dir copy-meta &&
	printf -- "-- migrate:up\nCREATE TABLE x (id int);\n\\\\copy x from data.csv\n" >"$MIG/002_copy.sql" &&
	expect_rejected 002_copy.sql:3
'

test_expect_success 'inline COPY ... FROM stdin data is rejected' '
	case_dir copy &&
	printf -- "-- migrate:up\nCOPY t FROM stdin;\n3\t1\n4\t1\n\\\\.\n" >"$MIG/002_copy.sql" &&
	expect_rejected 002_copy.sql:2
'

for stmt in "BEGIN" "COMMIT" "SAVEPOINT s1" "ROLLBACK"; do
	test_expect_success "$stmt in a migration is rejected" '
		case_dir "tx-${stmt%% *}" &&
		printf -- "-- migrate:up\nCREATE TABLE x (id int);\n%s;\nCREATE TABLE y (id int);\n" \
			"$stmt" >"$MIG/002_tx.sql" &&
		expect_rejected 002_tx.sql:3
	'
done

test_expect_success 'CREATE INDEX CONCURRENTLY in a transactional section is rejected' '
	case_dir cic-tx &&
	printf -- "-- migrate:up\nCREATE INDEX CONCURRENTLY IF NOT EXISTS t_v ON t (v);\n" \
		>"$MIG/002_cic.sql" &&
	expect_rejected 002_cic.sql:2
'

test_expect_success 'VACUUM in a transactional section is rejected' '
	case_dir vacuum-tx &&
	printf -- "-- migrate:up\nCREATE TABLE x (id int);\nVACUUM t;\n" >"$MIG/002_vac.sql" &&
	expect_rejected 002_vac.sql:3
'

test_expect_success 'CREATE TABLE in a transaction:false section is rejected' '
	case_dir notx-create &&
	printf -- "-- migrate:up transaction:false\nCREATE TABLE x (id int);\n" >"$MIG/002_notx.sql" &&
	expect_rejected 002_notx.sql:2
'

test_expect_success 'CREATE INDEX CONCURRENTLY without IF NOT EXISTS under transaction:false is rejected' '
	case_dir notx-cic &&
	printf -- "-- migrate:up transaction:false\nCREATE INDEX CONCURRENTLY t_v ON t (v);\n" \
		>"$MIG/002_notx.sql" &&
	expect_rejected 002_notx.sql:2
'

test_expect_success 'a bad down section is rejected even for up' '
	case_dir bad-down &&
	printf -- "-- migrate:up\nCREATE TABLE x (id int);\n-- migrate:down\nDROP TABLE x;\nBEGIN;\n" \
		>"$MIG/002_bad_down.sql" &&
	expect_rejected 002_bad_down.sql:5
'

test_expect_success 'status reports a malformed file too' '
	case_dir status &&
	printf -- "-- migrate:up\nCREATE TABLE z (id int,,);\n" >"$MIG/002_bad.sql" &&
	expect_rejected 002_bad.sql:2 status
'

test_expect_success 'up --dry-run rejects it as well' '
	expect_rejected 002_bad.sql:2 up --dry-run
'

test_expect_success 'down of a migration without a down section: exit 2 before anything runs' '
	case_dir no-down &&
	printf -- "-- migrate:up\nCREATE TABLE nd (id int);\n" >"$MIG/002_no_down.sql" &&
	printf -- "-- migrate:up\nCREATE TABLE nd2 (id int);\n-- migrate:down\nDROP TABLE nd2;\n" \
		>"$MIG/003_with_down.sql" &&
	test_expect_code 0 pgward up &&
	expect_history 1,2,3 &&
	expect_rejected 002 down --steps 2 &&
	table_exists public.nd2 &&
	expect_history 1,2,3
'

test_expect_success 'down of just the newest one (it has a down section) works' '
	test_expect_code 0 pgward down &&
	! table_exists public.nd2 &&
	expect_history 1,2
'

test_expect_success 'down --use-file-down with no down section in the file: exit 2' '
	expect_rejected 002 down --use-file-down
'

test_done
