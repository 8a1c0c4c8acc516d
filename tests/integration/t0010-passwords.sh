#!/bin/bash
# A password never appears in pgward's output: not from a URL, a key=value
# string, PGPASSWORD or DATABASE_URL, not from PASSWORD '...' literals in
# migration SQL, not with -v, not on failures.
. "$(dirname "$0")/lib.sh"

grant_pw_role
role="pgw_sec_$PGDATABASE"
test_atexit "psql_run 'DROP ROLE IF EXISTS $role'"

write_migration 001_t.sql <<'EOF'
-- migrate:up
CREATE TABLE t (id int);
-- migrate:down
DROP TABLE t;
EOF

# run_all LABEL pgward-args...: status, up (dry run too), history, down
# with the given connection; all must work.
run_all() {
	test_expect_code 0 pgward "$@" status &&
	test_expect_code 0 pgward "$@" status --json &&
	test_expect_code 0 pgward "$@" -v up --dry-run &&
	test_expect_code 0 pgward "$@" -v up &&
	table_exists public.t &&
	test_eq pgw_pw "$(psql_val "SELECT tableowner FROM pg_tables WHERE tablename = 't'")" &&
	test_expect_code 0 pgward "$@" history &&
	test_expect_code 0 pgward "$@" history --json &&
	test_expect_code 0 pgward "$@" -v down --dry-run &&
	test_expect_code 0 pgward "$@" -v down &&
	! table_exists public.t
}

test_expect_success 'a URL with a password: commands work' '
	run_all -d "$(pw_url)"
'

test_expect_success 'status shows the URL redacted' '
	test_expect_code 0 pgward -d "$(pw_url)" status &&
	test_grep -F "***" "$OUT"
'

test_expect_success 'a key=value string with password=: commands work' '
	run_all -d "$(pw_kv)"
'

test_expect_success 'status shows the key=value string redacted' '
	test_expect_code 0 pgward -d "$(pw_kv)" status &&
	test_grep -F "***" "$OUT"
'

test_expect_success 'PGPASSWORD: commands work' '
	PGUSER=pgw_pw PGPASSWORD=$PGW_SECRET run_all
'

test_expect_success 'DATABASE_URL with a password: commands work' '
	DATABASE_URL=$(pw_url) run_all
'

test_expect_success 'a URL in pgward.ini: commands work' '
	printf "[database]\nurl = %s\n" "$(pw_kv)" >pgward.ini &&
	run_all &&
	rm pgward.ini
'

test_expect_success 'failures with a password in the connection string' '
	test_expect_code 6 pgward -d "$(pw_url | sed "s|/$PGDATABASE?|/no_such_db?|")" status &&
	test_expect_code 6 pgward -d "host=$TEST_DIR/nowhere user=pgw_pw password=$PGW_SECRET dbname=x" up &&
	test_expect_code 6 pgward -v -d "postgresql://pgw_pw:$PGW_SECRET@/x?host=$TEST_DIR/nowhere" up &&
	test_expect_code 2 pgward -d "$(pw_kv)" up --no-such-option
'

test_expect_success 'PASSWORD literals in migration SQL are redacted by up --dry-run' '
	write_migration 002_role.sql <<-EOF &&
	-- migrate:up
	CREATE ROLE $role LOGIN PASSWORD '\''$PGW_SECRET'\'';
	ALTER ROLE $role WITH ENCRYPTED PASSWORD '\''$PGW_SECRET'\'';
	-- migrate:down
	DROP ROLE $role;
	EOF
	test_expect_code 0 pgward up --dry-run &&
	test_grep -F "PASSWORD '\''***'\''" "$OUT" &&
	test_grep "CREATE ROLE" "$OUT" &&
	test_expect_code 0 pgward -v up --dry-run
'

test_expect_success 'and by up -v, history --show, history --json and down' '
	test_expect_code 0 pgward -v up &&
	test_eq 1 "$(psql_val "SELECT count(*) FROM pg_roles WHERE rolname = '\''$role'\''")" &&
	test_expect_code 0 pgward history --show 002 &&
	test_grep "CREATE ROLE" "$OUT" &&
	test_expect_code 0 pgward history --json &&
	test_expect_code 0 pgward -v down --dry-run &&
	test_expect_code 0 pgward -v down &&
	test_eq 0 "$(psql_val "SELECT count(*) FROM pg_roles WHERE rolname = '\''$role'\''")"
'

test_expect_success 'a failing migration with a PASSWORD literal' '
	write_migration 002_role.sql <<-EOF &&
	-- migrate:up
	ALTER ROLE pgw_no_such_role PASSWORD '\''$PGW_SECRET'\'';
	-- migrate:down
	SELECT 1;
	EOF
	test_expect_code 1 pgward -v up &&
	test_grep -F "002_role.sql:2" "$ERR"
'

test_expect_success 'a malformed migration with a PASSWORD literal' '
	write_migration 002_role.sql <<-EOF &&
	-- migrate:up
	CREATE ROLE x PASSWORD '\''$PGW_SECRET'\'' ,, ;
	EOF
	test_expect_code 2 pgward -v up &&
	test_grep -F "002_role.sql:2" "$ERR"
'

test_expect_success 'the password never appeared in any output above' '
	test -s "$TRANSCRIPT" &&
	no_secret "$PGW_SECRET"
'

test_done
