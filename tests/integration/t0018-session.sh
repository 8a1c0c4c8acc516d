#!/bin/bash
# Session settings during a migration: application_name pgward:..., the
# pinned DateStyle/IntervalStyle/extra_float_digits/client_encoding, idle
# timeouts off, statement and lock timeouts set, the advisory lock held by
# another (idle) connection; TCP keepalives on pgward's sockets.
. "$(dirname "$0")/lib.sh"

# Defaults a migration must not inherit.
psql_run "ALTER DATABASE \"$PGDATABASE\" SET DateStyle = 'SQL, DMY';
	ALTER DATABASE \"$PGDATABASE\" SET IntervalStyle = 'sql_standard';
	ALTER DATABASE \"$PGDATABASE\" SET extra_float_digits = 0;
	ALTER DATABASE \"$PGDATABASE\" SET idle_in_transaction_session_timeout = '1h';
	ALTER DATABASE \"$PGDATABASE\" SET idle_session_timeout = '1h'"

write_migration 001_settings.sql <<'EOF'
-- migrate:up
CREATE TABLE settings AS
	SELECT name, current_setting(name) AS value
	FROM unnest(ARRAY['application_name', 'DateStyle', 'IntervalStyle',
		'extra_float_digits', 'client_encoding', 'idle_session_timeout',
		'idle_in_transaction_session_timeout', 'statement_timeout',
		'lock_timeout']) AS name;
CREATE TABLE sessions AS
	SELECT pid, application_name, state, backend_xid IS NOT NULL AS has_xid,
		pid = pg_backend_pid() AS me
	FROM pg_stat_activity
	WHERE datname = current_database() AND application_name LIKE 'pgward%';
CREATE TABLE advisory AS
	SELECT pid, pid = pg_backend_pid() AS me
	FROM pg_locks WHERE locktype = 'advisory' AND granted
	AND database = (SELECT oid FROM pg_database WHERE datname = current_database());
-- migrate:down
DROP TABLE advisory;
DROP TABLE sessions;
DROP TABLE settings;
EOF

setting() {
	psql_val "SELECT value FROM settings WHERE name = '$1'"
}

test_expect_success 'up records the settings it ran with' '
	PGDATESTYLE=German PGCLIENTENCODING=LATIN1 PGAPPNAME=someone_else \
		test_expect_code 0 pgward --timeout 7 --lock-timeout 250 up &&
	table_exists public.settings
'

test_expect_success 'application_name is pgward:<deploy id>' '
	case "$(setting application_name)" in
	pgward:?*) ;;
	*) echo "application_name: $(setting application_name)"; false ;;
	esac
'

test_expect_success 'DateStyle is ISO, IntervalStyle postgres, extra_float_digits 3' '
	case "$(setting DateStyle)" in
	ISO*) ;;
	*) echo "DateStyle: $(setting DateStyle)"; false ;;
	esac &&
	test_eq postgres "$(setting IntervalStyle)" IntervalStyle &&
	test_eq 3 "$(setting extra_float_digits)" extra_float_digits
'

test_expect_success 'client_encoding is UTF8' '
	test_eq UTF8 "$(setting client_encoding)" client_encoding
'

test_expect_success 'idle timeouts are off' '
	test_eq 0 "$(setting idle_session_timeout)" idle_session_timeout &&
	test_eq 0 "$(setting idle_in_transaction_session_timeout)" idle_in_transaction_session_timeout
'

test_expect_success 'statement_timeout and lock_timeout come from the options' '
	test_eq 7s "$(setting statement_timeout)" statement_timeout &&
	test_eq 250ms "$(setting lock_timeout)" lock_timeout
'

test_expect_success 'the default timeouts are 300 s and 1000 ms' '
	test_expect_code 0 pgward down &&
	test_expect_code 0 pgward up &&
	test_eq 5min "$(setting statement_timeout)" statement_timeout &&
	test_eq 1s "$(setting lock_timeout)" lock_timeout
'

test_expect_success 'every pgward session has the application_name' '
	test_le 2 "$(psql_val "SELECT count(*) FROM sessions")" "pgward sessions"
'

test_expect_success 'the deploy lock is held by another session, idle, not in a transaction' '
	test_eq 0 "$(psql_val "SELECT count(*) FROM advisory WHERE me")" "advisory locks of the migration session" &&
	test_le 1 "$(psql_val "SELECT count(*) FROM advisory")" "advisory locks" &&
	test_eq idle "$(psql_val "SELECT string_agg(DISTINCT s.state, '\'','\'')
		FROM sessions s JOIN advisory a USING (pid)")" "state of the lock holder" &&
	test_eq f "$(psql_val "SELECT bool_or(s.has_xid) FROM sessions s JOIN advisory a USING (pid)")"
'

test_expect_success 'no pgward session remains after the run' '
	test_eq 0 "$(psql_val "SELECT count(*) FROM pg_stat_activity
		WHERE datname = current_database() AND application_name LIKE '\''pgward%'\''")"
'

test_expect_success 'over TCP every pgward socket has keepalives (10 s idle)' '
	test_expect_code 0 pgward down &&
	start_tcp_proxy &&
	write_migration 002_sleep.sql <<-\EOF &&
	-- migrate:up
	SELECT pg_sleep(3);
	-- migrate:down
	SELECT 1;
	EOF
	bg_start up "$PGWARD" --migrations "$MIG" \
		-d "host=127.0.0.1 port=$PROXY_PORT dbname=$PGDATABASE user=postgres sslmode=disable" up &&
	wait_for 10 "SELECT EXISTS (SELECT 1 FROM pg_stat_activity
		WHERE datname = current_database() AND application_name LIKE '\''pgward%'\'' AND query LIKE '\''%pg_sleep%'\''
		AND state = '\''active'\'')" &&
	python3 "$TEST_SRC/keepalive.py" "$PGWARD" "$PROXY_PORT" &&
	bg_wait up &&
	test_eq 0 "$(bg_rc up)" "up exit" &&
	expect_history 1,2
'

test_expect_success 'TCP without SSL is warned about' '
	test_grep -i -E "ssl|tls|unencrypted" up.err
'

test_done
