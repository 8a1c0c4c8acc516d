#!/bin/bash
# One migration's SET search_path / SET ROLE does not leak into the next
# migration of the same run, nor into pgward's own bookkeeping.
. "$(dirname "$0")/lib.sh"

role="pgw_role_$PGDATABASE"
psql_run "CREATE ROLE $role NOLOGIN; GRANT CREATE, USAGE ON SCHEMA public TO $role"
test_atexit "psql_run 'DROP OWNED BY $role; DROP ROLE $role'"

write_migration 001_other.sql <<'EOF'
-- migrate:up
CREATE SCHEMA other;
SET search_path TO other;
CREATE TABLE in_other (id int);
-- migrate:down
DROP SCHEMA other CASCADE;
EOF
write_migration 002_next.sql <<'EOF'
-- migrate:up
CREATE TABLE in_public (id int);
CREATE TABLE path_seen AS SELECT current_setting('search_path') AS p;
-- migrate:down
DROP TABLE path_seen;
DROP TABLE in_public;
EOF
write_migration 003_role.sql <<EOF
-- migrate:up
SET ROLE $role;
CREATE TABLE owned_by_role (id int);
-- migrate:down
DROP TABLE owned_by_role;
EOF
write_migration 004_who.sql <<'EOF'
-- migrate:up
CREATE TABLE whoami AS SELECT current_user::text AS u, session_user::text AS s;
-- migrate:down
DROP TABLE whoami;
EOF

test_expect_success 'the four apply in one run' '
	test_expect_code 0 pgward up &&
	expect_history 1,2,3,4
'

test_expect_success 'SET search_path did not leak into the next migration' '
	table_exists other.in_other &&
	table_exists public.in_public &&
	! table_exists other.in_public &&
	test_grep ! other <(psql_val "SELECT p FROM public.path_seen")
'

test_expect_success 'nor into the history' '
	! table_exists other.migrations &&
	test_eq 4 "$(psql_val "SELECT count(*) FROM pgward.migrations")" &&
	test_eq 0 "$(psql_val "SELECT count(*) FROM pg_class c JOIN pg_namespace n
		ON n.oid = c.relnamespace WHERE n.nspname = '\''other'\''
		AND c.relname <> '\''in_other'\''")" "pgward objects in schema other"
'

test_expect_success 'SET ROLE applied within its own migration' '
	test_eq "$role" "$(psql_val "SELECT tableowner FROM pg_tables
		WHERE tablename = '\''owned_by_role'\''")"
'

test_expect_success 'SET ROLE did not leak into the next migration' '
	test_eq "postgres postgres" "$(psql_val "SELECT u || '\'' '\'' || s FROM whoami")" &&
	test_eq postgres "$(psql_val "SELECT tableowner FROM pg_tables
		WHERE tablename = '\''whoami'\''")"
'

test_expect_success 'nor into the history rows' '
	test_expect_code 0 pgward history --json &&
	json_check "$OUT" "len(d) == 4 and all(r.get(\"applied_by\") != \"$role\" for r in d)" &&
	test_eq postgres "$(psql_val "SELECT tableowner FROM pg_tables
		WHERE schemaname = '\''pgward'\'' AND tablename = '\''migrations'\''")"
'

test_expect_success 'down reverts them all in one run as well' '
	test_expect_code 0 pgward down --to 0 &&
	expect_history "" &&
	! table_exists public.whoami &&
	! table_exists public.owned_by_role &&
	test_eq 0 "$(psql_val "SELECT count(*) FROM pg_namespace WHERE nspname = '\''other'\''")"
'

test_done
