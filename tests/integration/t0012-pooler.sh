#!/bin/bash
# Behind a transaction-mode pooler (a real PgBouncer) pgward exits 2 asking
# for direct_url; with a direct URL it works.
. "$(dirname "$0")/lib.sh"

write_migration 001_t.sql <<'EOF'
-- migrate:up
CREATE TABLE t (id int);
-- migrate:down
DROP TABLE t;
EOF

if command -v pgbouncer >/dev/null; then
	test_set_prereq PGBOUNCER
fi

bouncer() {
	echo "host=$BOUNCER_HOST port=$BOUNCER_PORT dbname=$PGDATABASE user=postgres"
}
direct() {
	echo "host=$PGHOST port=$PGPORT dbname=$PGDATABASE user=postgres"
}

test_expect_success PGBOUNCER 'start pgbouncer in transaction mode' '
	start_pgbouncer transaction &&
	bg_start warm "$PGBIN/psql" -XAtq -d "$(bouncer)" -c "SELECT pg_sleep(0.5)" &&
	"$PGBIN/psql" -XAtq -d "$(bouncer)" -c "SELECT pg_sleep(0.5)" >/dev/null &&
	bg_wait warm &&
	"$PGBIN/psql" -XAtq -d "$(bouncer)" -c "SELECT pg_backend_pid()" \
		-c "SELECT pg_backend_pid()" >pids &&
	cat pids &&
	test_eq 2 "$(sort -u pids | wc -l)" "backends behind two transactions of one client"
'

test_expect_success PGBOUNCER 'up through the pooler: exit 2, mentions direct_url' '
	db_snapshot before &&
	test_expect_code 2 pgward -d "$(bouncer)" up &&
	test_grep "pgward: error:" "$ERR" &&
	test_grep direct_url "$ERR" &&
	db_snapshot after &&
	test_cmp before after &&
	! table_exists public.t
'

test_expect_success PGBOUNCER 'status through the pooler: exit 2' '
	test_expect_code 2 pgward -d "$(bouncer)" status &&
	test_grep direct_url "$ERR"
'

test_expect_success PGBOUNCER 'DATABASE_URL through the pooler: exit 2' '
	DATABASE_URL=$(bouncer) test_expect_code 2 pgward up &&
	test_grep direct_url "$ERR"
'

# restart_bouncer MODE: a fresh PgBouncer (no server connection, and so no
# session state, survives from the cases before)
restart_bouncer() {
	local i=0
	kill "$(cat "$BOUNCER_HOST/pgbouncer.pid")" || return 1
	while [ -e "$BOUNCER_HOST/.s.PGSQL.$BOUNCER_PORT" ] && [ $i -lt 100 ]; do
		sleep 0.1
		i=$((i + 1))
	done
	rm -rf "$BOUNCER_HOST"
	start_pgbouncer "$1"
}

test_expect_success PGBOUNCER 'no pgward lock is left on the server behind the pooler' '
	test_eq 0 "$(psql_val "SELECT count(*) FROM pg_locks WHERE locktype = '\''advisory'\''
		AND database = (SELECT oid FROM pg_database WHERE datname = current_database())")" \
		"advisory locks held"
'

test_expect_success PGBOUNCER 'with --direct-url pointing at the server, up works' '
	restart_bouncer transaction &&
	test_expect_code 0 pgward -d "$(bouncer)" --direct-url "$(direct)" up &&
	table_exists public.t &&
	expect_history 1
'

test_expect_success PGBOUNCER 'down through the pooler: exit 2, nothing reverted' '
	test_expect_code 2 pgward -d "$(bouncer)" down &&
	test_grep direct_url "$ERR" &&
	table_exists public.t &&
	expect_history 1
'

test_expect_success PGBOUNCER 'PGWARD_DIRECT_URL works the same' '
	restart_bouncer transaction &&
	PGWARD_DIRECT_URL=$(direct) test_expect_code 0 pgward -d "$(bouncer)" down &&
	! table_exists public.t &&
	expect_history ""
'

test_expect_success PGBOUNCER '[database] direct_url in pgward.ini works the same' '
	printf "[database]\nurl = %s\ndirect_url = %s\n" "$(bouncer)" "$(direct)" >pgward.ini &&
	test_expect_code 0 pgward up &&
	table_exists public.t &&
	rm pgward.ini
'

test_expect_success PGBOUNCER 'a pooler in session mode is accepted' '
	restart_bouncer session &&
	test_expect_code 0 pgward -d "$(bouncer)" down &&
	! table_exists public.t
'

test_done
