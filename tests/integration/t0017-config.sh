#!/bin/bash
# Configuration: flag > environment > pgward.ini > default; global flags
# before or after the subcommand; bad ini files and values are exit 2.
. "$(dirname "$0")/lib.sh"

for d in flag env ini default; do
	mkdir -p "$TEST_DIR/dirs/$d"
	printf -- "-- migrate:up\nCREATE TABLE from_%s (id int);\n-- migrate:down\nDROP TABLE from_%s;\n" \
		$d $d >"$TEST_DIR/dirs/$d/001_from_$d.sql"
done
mkdir -p "$TEST_DIR/cwd"
cp -r "$TEST_DIR/dirs/default" "$TEST_DIR/cwd/migrations"

# which_dir [pgward args...]: the name of the pending migration that status
# sees, run in $TEST_DIR/cwd with no --migrations unless given.
which_dir() {
	(cd "$TEST_DIR/cwd" && "$PGWARD" "$@" status --json) </dev/null >which.out 2>which.err || {
		echo "status failed:"; cat which.out which.err; return 1
	}
	python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["pending"][0]["name"])' which.out
}

test_expect_success 'default: ./migrations' '
	test_eq from_default "$(which_dir)"
'

test_expect_success '[migrations] dir in ./pgward.ini beats the default' '
	printf "[migrations]\ndir = %s\n" "$TEST_DIR/dirs/ini" >cwd/pgward.ini &&
	test_eq from_ini "$(which_dir)"
'

test_expect_success 'PGWARD_MIGRATIONS beats pgward.ini' '
	test_eq from_env "$(PGWARD_MIGRATIONS=$TEST_DIR/dirs/env which_dir)"
'

test_expect_success '--migrations beats PGWARD_MIGRATIONS' '
	test_eq from_flag "$(PGWARD_MIGRATIONS=$TEST_DIR/dirs/env which_dir --migrations "$TEST_DIR/dirs/flag")"
'

test_expect_success 'global flags are accepted after the subcommand too' '
	(cd cwd && PGWARD_MIGRATIONS=$TEST_DIR/dirs/env test_expect_code 0 \
		"$PGWARD" status --json --migrations "$TEST_DIR/dirs/flag") &&
	json_check "$OUT" "d[\"pending\"][0][\"name\"] == \"from_flag\"" &&
	(cd cwd && test_expect_code 0 "$PGWARD" status --migrations "$TEST_DIR/dirs/flag" --json) &&
	json_check "$OUT" "d[\"pending\"][0][\"name\"] == \"from_flag\"" &&
	(cd cwd && test_expect_code 0 "$PGWARD" up --migrations "$TEST_DIR/dirs/flag" --dry-run) &&
	test_grep from_flag "$OUT"
'

test_expect_success '-C FILE is read instead of ./pgward.ini' '
	printf "[migrations]\ndir = %s\n" "$TEST_DIR/dirs/flag" >other.ini &&
	test_eq from_flag "$(which_dir -C "$TEST_DIR/other.ini")" &&
	(cd cwd && test_expect_code 0 "$PGWARD" status -C "$TEST_DIR/other.ini" --json) &&
	json_check "$OUT" "d[\"pending\"][0][\"name\"] == \"from_flag\""
'

test_expect_success 'PGWARD_CONFIG names the config file' '
	test_eq from_flag "$(PGWARD_CONFIG=$TEST_DIR/other.ini which_dir)"
'

test_expect_success '-C missing.ini: exit 2 naming it' '
	(cd cwd && test_expect_code 2 "$PGWARD" -C missing.ini status) &&
	test_grep "pgward: error:" "$ERR" &&
	test_grep -F missing.ini "$ERR"
'

test_expect_success 'PGWARD_CONFIG naming a missing file: exit 2' '
	(cd cwd && PGWARD_CONFIG=$TEST_DIR/missing.ini test_expect_code 2 "$PGWARD" status) &&
	test_grep -F missing.ini "$ERR"
'

test_expect_success 'an unknown key: exit 2 naming file:line' '
	printf "[migrations]\ndir = %s\ntimeuot = 5\n" "$TEST_DIR/dirs/ini" >cwd/pgward.ini &&
	(cd cwd && test_expect_code 2 "$PGWARD" status) &&
	test_grep "pgward: error:" "$ERR" &&
	test_grep -F "pgward.ini:3" "$ERR" &&
	test_grep -F timeuot "$ERR"
'

test_expect_success 'an unknown section: exit 2 naming file:line' '
	printf "[migrations]\ndir = %s\n\n[migration]\ntimeout = 5\n" "$TEST_DIR/dirs/ini" >cwd/pgward.ini &&
	(cd cwd && test_expect_code 2 "$PGWARD" status) &&
	test_grep -E "pgward.ini:(4|5)" "$ERR" &&
	test_grep -F "[migration]" "$ERR"
'

test_expect_success 'a bad number in the ini file: exit 2 naming file:line' '
	printf "[migrations]\ndir = %s\ntimeout = soon\n" "$TEST_DIR/dirs/ini" >cwd/pgward.ini &&
	(cd cwd && test_expect_code 2 "$PGWARD" status) &&
	test_grep -F "pgward.ini:3" "$ERR"
'

test_expect_success 'bad numbers on the command line: exit 2' '
	rm cwd/pgward.ini &&
	for v in abc 1.5 -3 ""; do
		(cd cwd && test_expect_code 2 "$PGWARD" --timeout "$v" status) || return 1
	done &&
	(cd cwd && test_expect_code 2 "$PGWARD" --lock-timeout 10x status) &&
	(cd cwd && test_expect_code 2 "$PGWARD" --max-lock-hold -1 status) &&
	(cd cwd && test_expect_code 2 "$PGWARD" --wait x status) &&
	(cd cwd && test_expect_code 2 "$PGWARD" down --steps x) &&
	(cd cwd && test_expect_code 2 "$PGWARD" down --steps 2 --to 1)
'

test_expect_success 'numbers must be positive: --timeout 0 is exit 2' '
	(cd cwd && test_expect_code 2 "$PGWARD" --timeout 0 status) &&
	(cd cwd && test_expect_code 2 "$PGWARD" --max-lock-hold 0 status)
'

test_expect_success 'an unknown option or subcommand: exit 2' '
	(cd cwd && test_expect_code 2 "$PGWARD" --no-such-flag status) &&
	(cd cwd && test_expect_code 2 "$PGWARD" no-such-command) &&
	(cd cwd && test_expect_code 2 "$PGWARD")
'

test_expect_success 'the database: -d beats DATABASE_URL beats [database] url beats PG*' '
	printf "[database]\nurl = host=%s port=%s dbname=pgw_ini_db\n" "$PGHOST" "$PGPORT" >cwd/pgward.ini &&
	(cd cwd && test_expect_code 6 "$PGWARD" status) &&
	test_grep pgw_ini_db "$ERR" &&
	(cd cwd && DATABASE_URL="host=$PGHOST port=$PGPORT dbname=pgw_env_db" \
		test_expect_code 6 "$PGWARD" status) &&
	test_grep pgw_env_db "$ERR" &&
	(cd cwd && DATABASE_URL="host=$PGHOST port=$PGPORT dbname=pgw_env_db" \
		test_expect_code 0 "$PGWARD" -d "host=$PGHOST port=$PGPORT dbname=$PGDATABASE" status) &&
	rm cwd/pgward.ini &&
	db=$PGDATABASE &&
	(cd cwd && PGDATABASE=pgw_pg_db test_expect_code 6 "$PGWARD" status) &&
	(cd cwd && DATABASE_URL="host=$PGHOST port=$PGPORT dbname=$db" PGDATABASE=pgw_pg_db \
		test_expect_code 0 "$PGWARD" status)
'

write_migration 001_sleep.sql <<'EOF'
-- migrate:up
CREATE TABLE slept (id int);
SELECT pg_sleep(2);
-- migrate:down
DROP TABLE slept;
EOF

test_expect_success 'statement timeout: MIGRATION_TIMEOUT=1 cancels a 2 s statement' '
	MIGRATION_TIMEOUT=1 test_expect_code 1 pgward up &&
	! table_exists public.slept &&
	expect_history ""
'

test_expect_success 'statement timeout: --timeout beats MIGRATION_TIMEOUT' '
	MIGRATION_TIMEOUT=1 test_expect_code 0 pgward --timeout 10 up &&
	table_exists public.slept &&
	test_expect_code 0 pgward down
'

test_expect_success 'statement timeout: MIGRATION_TIMEOUT beats [migrations] timeout' '
	printf "[migrations]\ntimeout = 1\n" >pgward.ini &&
	MIGRATION_TIMEOUT=10 test_expect_code 0 pgward up &&
	table_exists public.slept &&
	test_expect_code 0 pgward down
'

test_expect_success 'statement timeout: [migrations] timeout = 1 applies' '
	test_expect_code 1 pgward up &&
	! table_exists public.slept &&
	rm pgward.ini
'

test_done
