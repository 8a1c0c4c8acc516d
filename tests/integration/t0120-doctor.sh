#!/bin/bash
# pgward doctor: a clean database has no finding; each problem made for
# real (an unused index, two identical indexes, an index that is a prefix
# of another, a foreign key without an index, an INVALID index left by a
# failed CREATE UNIQUE INDEX CONCURRENTLY, dead rows with autovacuum off,
# a session idle in transaction, a long transaction) is reported in the
# human report and in --json, with a fix that works; pgward's own schemas
# are left out; --fail-on exits 5 or 0; pg_stat_statements missing, not
# loaded, and working; bad usage 2, no database 6; no password shown.
. "$(dirname "$0")/lib.sh"

DB=$PGDATABASE
ROLE=${DB}_doc_r

doctor() {
	pgward doctor "$@"
}

# group TITLE: the lines of the human report's group TITLE ($OUT), the
# title line included.
group() {
	awk -v t="$1" 'index($0, t ":") == 1 { on = 1; print; next }
		on && /^  / { print; next } { on = 0 }' "$OUT"
}

# aligned FILE: the message column starts at the same place on every
# finding line of FILE.
aligned() {
	local cols
	cols=$(grep -E '^  (info|warning|error) ' "$1" |
		sed -E 's/^(  [a-z]+ +[^ ]+ +).*/\1/' | awk '{ print length($0) }' | sort -u)
	if [ "$(echo "$cols" | wc -l)" != 1 ]; then
		echo "message columns not aligned ($cols):"
		cat "$1"
		return 1
	fi
}

# ---------------------------------------------------------------------------
# a clean database

psql_run "CREATE TABLE customers (id int PRIMARY KEY, email text NOT NULL UNIQUE);
	CREATE TABLE orders (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
		customer_id int NOT NULL REFERENCES customers (id), note text,
		code int, a int, b int);
	CREATE INDEX orders_customer_idx ON orders (customer_id);
	CREATE TABLE items (id int PRIMARY KEY, sku text NOT NULL);
	CREATE INDEX items_sku_idx ON items (sku);
	INSERT INTO customers SELECT g, 'c' || g || '@example.com' FROM generate_series(1, 100) g;
	INSERT INTO orders (customer_id, note, code, a, b)
		SELECT 1 + g % 100, 'n' || g, g % 7, g % 11, g FROM generate_series(1, 1000) g;
	INSERT INTO items SELECT g, 'sku' || g FROM generate_series(1, 500) g"
# A session's counts reach the statistics views shortly after it ends:
# ANALYZE before they are in would leave rows counted as changed since.
wait_for 30 "SELECT count(*) = 3 FROM pg_stat_user_tables
	WHERE relname IN ('customers', 'orders', 'items') AND n_live_tup > 0"
psql_run "ANALYZE customers; ANALYZE orders; ANALYZE items"
# items_sku_idx is used; orders_customer_idx serves the foreign key only
"$PGBIN/psql" -XAtq -c "SET enable_seqscan = off" \
	-c "SELECT count(*) FROM items WHERE sku = 'sku42'" </dev/null >/dev/null
wait_for 30 "SELECT idx_scan > 0 FROM pg_stat_user_indexes WHERE indexrelname = 'items_sku_idx'"
# pgward's own schema and the journal: never examined
psql_run "CREATE SCHEMA pgward; CREATE SCHEMA pgward_journal;
	CREATE TABLE pgward.junk (id int, customer_id int REFERENCES customers (id), note text);
	CREATE INDEX junk_note ON pgward.junk (note);
	CREATE INDEX junk_note2 ON pgward.junk (note);
	INSERT INTO pgward.junk SELECT g, 1, 'x' FROM generate_series(1, 100) g;
	CREATE TABLE pgward_journal.junk (id int, note text);
	CREATE INDEX jjunk_note ON pgward_journal.junk (note);
	INSERT INTO pgward_journal.junk SELECT g, 'x' FROM generate_series(1, 100) g"

test_expect_success 'a clean database: every check says none, exit 0 even with --fail-on info' '
	test_expect_code 0 doctor --fail-on info &&
	for t in "invalid indexes" "unused indexes" "duplicate indexes" \
		"indexes that are a prefix of another" "foreign keys without an index" \
		"tables needing VACUUM or ANALYZE" "long-running transactions" \
		"sessions idle in transaction"; do
		test_grep -x "$t: none" "$OUT" || return 1
	done &&
	test_grep -x "0 errors, 0 warnings, 0 info" "$OUT" &&
	test_grep -x "schemas:    public" "$OUT" &&
	test_grep "^database:   .*dbname=$DB user=postgres$" "$OUT" &&
	test_grep ! -E "^  (info|warning|error) " "$OUT" &&
	test ! -s "$ERR"
'

test_expect_success 'a clean database in --json: no finding, zero counts, not failed; pgward schemas left out' '
	test_expect_code 0 pgward --json doctor --fail-on info &&
	json_check "$OUT" "d[\"findings\"] == [] and d[\"counts\"] == {\"error\": 0, \"warning\": 0, \"info\": 0}
		and d[\"failed\"] is False and d[\"fail_on\"] == \"info\"
		and d[\"schemas\"] == [\"public\"] and d[\"notes\"] == []
		and \"dbname=$DB\" in d[\"database\"]"
'

test_expect_success 'largest tables and indexes: listed with sizes, --top N limits them' '
	test_expect_code 0 doctor &&
	group "largest tables (with their indexes and TOAST)" >"$TEST_DIR/largest" &&
	test_grep -E "^  public\.orders +[0-9]+ kB  table [0-9]+ kB, indexes [0-9]+ kB, ~1000 rows$" "$TEST_DIR/largest" &&
	test_grep -E "^  public\.items +" "$TEST_DIR/largest" &&
	test_grep ! "junk" "$OUT" &&
	test_expect_code 0 pgward --json doctor --top 1 &&
	json_check "$OUT" "len(d[\"largest_tables\"]) == 1 and len(d[\"largest_indexes\"]) == 1
		and d[\"largest_tables\"][0][\"name\"] == \"public.orders\"
		and d[\"largest_tables\"][0][\"rows\"] == 1000
		and d[\"largest_tables\"][0][\"total_bytes\"] == d[\"largest_tables\"][0][\"table_bytes\"] + d[\"largest_tables\"][0][\"index_bytes\"]
		and d[\"largest_indexes\"][0][\"bytes\"] > 0"
'

test_expect_success 'pg_stat_statements not installed: a one-line note' '
	test "$(psql_val "SELECT count(*) FROM pg_extension WHERE extname = '"'"'pg_stat_statements'"'"'")" = 0 &&
	test_expect_code 0 doctor &&
	test_grep -x "slowest statements: pg_stat_statements is not installed in this database: no statement statistics (CREATE EXTENSION pg_stat_statements, with pg_stat_statements in shared_preload_libraries)" "$OUT" &&
	test_expect_code 0 pgward --json doctor &&
	json_check "$OUT" "d[\"statements\"][\"available\"] is False and d[\"statements\"][\"top\"] == []
		and \"not installed\" in d[\"statements\"][\"note\"]"
'

if [ "$(psql_val "SELECT count(*) FROM pg_available_extensions WHERE name = 'pg_stat_statements'")" = 1 ]; then
	test_set_prereq PSS
fi
if ! psql_val "SHOW shared_preload_libraries" | grep -q pg_stat_statements; then
	test_set_prereq PSS_NOT_LOADED
fi

test_expect_success PSS_NOT_LOADED 'pg_stat_statements installed but not loaded: a note saying so, exit 0' '
	psql_run "CREATE EXTENSION pg_stat_statements" &&
	test_expect_code 0 doctor &&
	test_grep -x "slowest statements: pg_stat_statements is installed but not loaded: add it to shared_preload_libraries and restart the server" "$OUT" &&
	test_expect_code 0 pgward --json doctor &&
	json_check "$OUT" "d[\"statements\"][\"available\"] is False and \"not loaded\" in d[\"statements\"][\"note\"]" &&
	psql_run "DROP EXTENSION pg_stat_statements"
'

# ---------------------------------------------------------------------------
# the problems, made for real

psql_run "CREATE INDEX orders_note_idx ON orders (note);
	CREATE INDEX orders_code_a ON orders (code);
	CREATE INDEX orders_code_b ON orders (code);
	CREATE INDEX orders_a ON orders (a);
	CREATE INDEX orders_ab ON orders (a, b);
	CREATE TABLE shipments (id int PRIMARY KEY, order_id bigint REFERENCES orders (id));
	CREATE SEQUENCE shipments_order_id_idx;
	CREATE TABLE dup (v int);
	INSERT INTO dup VALUES (1), (1), (2);
	CREATE TABLE events (id int, body text) WITH (autovacuum_enabled = false);
	INSERT INTO events SELECT g, 'e' FROM generate_series(1, 20000) g"
wait_for 30 "SELECT n_live_tup = 20000 FROM pg_stat_user_tables WHERE relname = 'events'"
psql_run "ANALYZE dup; ANALYZE shipments; ANALYZE events"
psql_run "DELETE FROM events WHERE id > 5000"
wait_for 30 "SELECT n_dead_tup = 15000 FROM pg_stat_user_tables WHERE relname = 'events'"
# fails on the duplicate rows and leaves an INVALID unique index behind
"$PGBIN/psql" -XAtq -c "CREATE UNIQUE INDEX CONCURRENTLY dup_v_key ON dup (v)" \
	</dev/null >"$TEST_DIR/cic.out" 2>&1

test_expect_success 'set up: the failed build left dup_v_key INVALID' '
	test_grep "could not create unique index" "$TEST_DIR/cic.out" &&
	test "$(psql_val "SELECT indisvalid FROM pg_index WHERE indexrelid = '"'"'dup_v_key'"'"'::regclass")" = f
'

test_expect_success 'an INVALID index is an error, with the DROP INDEX CONCURRENTLY to run' '
	test_expect_code 0 doctor &&
	group "invalid indexes" >"$TEST_DIR/g" &&
	test_grep -x "invalid indexes: 1" "$TEST_DIR/g" &&
	test_grep -x "  error    public.dup_v_key  INVALID unique index on public.dup, left by a failed CREATE INDEX CONCURRENTLY: never used by queries" "$TEST_DIR/g" &&
	test_grep -x "           fix: DROP INDEX CONCURRENTLY IF EXISTS public.dup_v_key;" "$TEST_DIR/g" &&
	test_expect_code 0 pgward --json doctor &&
	json_check "$OUT" "[(f[\"level\"], f[\"object\"], f[\"table\"], f[\"unique\"], f[\"fix\"])
		for f in d[\"findings\"] if f[\"check\"] == \"invalid_index\"] ==
		[(\"error\", \"public.dup_v_key\", \"public.dup\", True,
		  \"DROP INDEX CONCURRENTLY IF EXISTS public.dup_v_key;\")]
		and d[\"counts\"][\"error\"] == 1"
'

test_expect_success 'unused indexes: the never scanned ones, with size; not a used one, a unique one or a foreign key'"'"'s' '
	test_expect_code 0 doctor &&
	group "unused indexes" >"$TEST_DIR/g" &&
	test_grep -E "^  warning  public\.orders_note_idx +on public\.orders, 0 scans, [0-9]+ kB$" "$TEST_DIR/g" &&
	test_grep -x "           fix: DROP INDEX CONCURRENTLY IF EXISTS public.orders_note_idx;" "$TEST_DIR/g" &&
	test_grep -x "unused indexes: 5" "$TEST_DIR/g" &&
	test_grep ! -e items_sku_idx -e orders_customer_idx -e _pkey -e email_key -e dup_v_key "$TEST_DIR/g" &&
	aligned "$TEST_DIR/g" &&
	test_expect_code 0 pgward --json doctor &&
	json_check "$OUT" "sorted(f[\"object\"] for f in d[\"findings\"] if f[\"check\"] == \"unused_index\") ==
		[\"public.orders_a\", \"public.orders_ab\", \"public.orders_code_a\", \"public.orders_code_b\", \"public.orders_note_idx\"]
		and all(f[\"level\"] == \"warning\" and f[\"idx_scan\"] == 0 and f[\"size_bytes\"] > 0
			and f[\"table\"] == \"public.orders\" and f[\"definition\"].startswith(\"CREATE INDEX \")
			for f in d[\"findings\"] if f[\"check\"] == \"unused_index\")"
'

test_expect_success 'two identical indexes: the newer is reported as the duplicate of the older' '
	test_expect_code 0 doctor &&
	group "duplicate indexes" >"$TEST_DIR/g" &&
	test_grep -x "duplicate indexes: 1" "$TEST_DIR/g" &&
	test_grep -E "^  warning  public\.orders_code_b  on public\.orders: the same index as public\.orders_code_a, [0-9]+ kB$" "$TEST_DIR/g" &&
	test_grep -x "           fix: DROP INDEX CONCURRENTLY IF EXISTS public.orders_code_b;" "$TEST_DIR/g" &&
	test_expect_code 0 pgward --json doctor &&
	json_check "$OUT" "[(f[\"object\"], f[\"duplicate_of\"], f[\"level\"]) for f in d[\"findings\"]
		if f[\"check\"] == \"duplicate_index\"] == [(\"public.orders_code_b\", \"public.orders_code_a\", \"warning\")]"
'

test_expect_success 'an index that is a left prefix of another: info' '
	test_expect_code 0 doctor &&
	group "indexes that are a prefix of another" >"$TEST_DIR/g" &&
	test_grep -E "^  info     public\.orders_a  on public\.orders: a left prefix of public\.orders_ab, which can serve the same queries; [0-9]+ kB$" "$TEST_DIR/g" &&
	test_grep -x "indexes that are a prefix of another: 1" "$TEST_DIR/g" &&
	test_expect_code 0 pgward --json doctor &&
	json_check "$OUT" "[(f[\"object\"], f[\"prefix_of\"], f[\"level\"]) for f in d[\"findings\"]
		if f[\"check\"] == \"prefix_index\"] == [(\"public.orders_a\", \"public.orders_ab\", \"info\")]"
'

test_expect_success 'a foreign key without an index: warning, with a CREATE INDEX CONCURRENTLY whose name is free' '
	test_expect_code 0 doctor &&
	group "foreign keys without an index" >"$TEST_DIR/g" &&
	test_grep -x "foreign keys without an index: 1" "$TEST_DIR/g" &&
	test_grep -E "^  warning  public\.shipments  foreign key shipments_order_id_fkey \(order_id\) -> public\.orders: no index on \(order_id\), a DELETE in public\.orders scans this table \([0-9]+ (bytes|kB)\)$" "$TEST_DIR/g" &&
	test_grep -x "           fix: CREATE INDEX CONCURRENTLY IF NOT EXISTS shipments_order_id_idx1 ON public.shipments (order_id);" "$TEST_DIR/g" &&
	test_grep ! "junk" "$OUT" &&
	test_expect_code 0 pgward --json doctor &&
	json_check "$OUT" "[(f[\"object\"], f[\"constraint\"], f[\"columns\"], f[\"references\"]) for f in d[\"findings\"]
		if f[\"check\"] == \"fk_without_index\"] ==
		[(\"public.shipments\", \"shipments_order_id_fkey\", \"order_id\", \"public.orders\")]"
'

test_expect_success 'dead rows with autovacuum off: VACUUM needed, with the numbers' '
	test_expect_code 0 doctor &&
	group "tables needing VACUUM or ANALYZE" >"$TEST_DIR/g" &&
	test_grep -x "tables needing VACUUM or ANALYZE: 1" "$TEST_DIR/g" &&
	test_grep -E "^  warning  public\.events  15000 dead rows \(75% of 20000\), over the autovacuum threshold 4050; .*autovacuum is off for this table; last vacuum never, last analyze [0-9T:-]+Z$" "$TEST_DIR/g" &&
	test_grep -x "           fix: VACUUM (ANALYZE) public.events;" "$TEST_DIR/g" &&
	test_expect_code 0 pgward --json doctor &&
	json_check "$OUT" "[(f[\"object\"], f[\"level\"], f[\"dead_rows\"], f[\"live_rows\"], f[\"dead_ratio\"],
		f[\"vacuum_threshold\"], f[\"needs_vacuum\"], f[\"autovacuum_enabled\"], f[\"last_vacuum\"])
		for f in d[\"findings\"] if f[\"check\"] == \"vacuum\"] ==
		[(\"public.events\", \"warning\", 15000, 5000, 0.75, 4050, True, False, None)]"
'

test_expect_success 'the human report: grouped in check order, aligned, one summary line' '
	test_expect_code 0 doctor &&
	grep -E "^[a-z][a-zA-Z -]+: ([0-9]+|none)$" "$OUT" | sed "s/: .*//" >"$TEST_DIR/titles" &&
	printf "%s\n" "invalid indexes" "unused indexes" "duplicate indexes" \
		"indexes that are a prefix of another" "foreign keys without an index" \
		"tables needing VACUUM or ANALYZE" "long-running transactions" \
		"sessions idle in transaction" >"$TEST_DIR/expect" &&
	test_cmp "$TEST_DIR/expect" "$TEST_DIR/titles" &&
	test_grep -x "1 error, 8 warnings, 1 info" "$OUT" &&
	for t in "unused indexes" "foreign keys without an index"; do
		group "$t" >"$TEST_DIR/g" && aligned "$TEST_DIR/g" || return 1
	done
'

test_expect_success '--fail-on: 5 when a finding is at or above the level, 0 below it or without' '
	test_expect_code 0 doctor &&
	test_expect_code 5 doctor --fail-on error &&
	test_grep -x "pgward: doctor: 1 finding at level '"'"'error'"'"' or above (--fail-on error)" "$ERR" &&
	test_expect_code 5 doctor --fail-on warning &&
	test_grep -x "pgward: doctor: 9 findings at level '"'"'warning'"'"' or above (--fail-on warning)" "$ERR" &&
	test_expect_code 5 doctor --fail-on info &&
	test_expect_code 5 pgward --json doctor --fail-on error &&
	json_check "$OUT" "d[\"failed\"] is True and d[\"fail_on\"] == \"error\"" &&
	test ! -s "$ERR"
'

test_expect_success 'the fixes work: each finding they address is gone, --fail-on error passes' '
	psql_run "DROP INDEX CONCURRENTLY IF EXISTS public.dup_v_key" &&
	psql_run "CREATE INDEX CONCURRENTLY IF NOT EXISTS shipments_order_id_idx1 ON public.shipments (order_id)" &&
	psql_run "VACUUM (ANALYZE) public.events" &&
	psql_run "DROP INDEX CONCURRENTLY IF EXISTS public.orders_code_b" &&
	test_expect_code 0 doctor --fail-on error &&
	test_expect_code 0 pgward --json doctor &&
	json_check "$OUT" "sorted(set(f[\"check\"] for f in d[\"findings\"])) == [\"prefix_index\", \"unused_index\"]
		and d[\"counts\"] == {\"error\": 0, \"warning\": 4, \"info\": 1}" &&
	test_expect_code 5 doctor --fail-on warning
'

test_expect_success 'an index being built concurrently is info, not an error' '
	psql_run "CREATE TABLE builds (id int, x int)" &&
	bg_start writer env PGAPPNAME=pgw_test_writer "$PGBIN/psql" -XAtq -v ON_ERROR_STOP=1 \
		-c "BEGIN" -c "INSERT INTO builds VALUES (1, 1)" -c "\\! sleep 30" &&
	wait_for 20 "SELECT EXISTS (SELECT 1 FROM pg_stat_activity
		WHERE application_name = '"'"'pgw_test_writer'"'"' AND state = '"'"'idle in transaction'"'"')" &&
	psql_bg cic "CREATE INDEX CONCURRENTLY builds_x ON builds (x)" &&
	wait_for 20 "SELECT EXISTS (SELECT 1 FROM pg_stat_progress_create_index
		WHERE index_relid = to_regclass('"'"'builds_x'"'"'))" &&
	cic_pid=$(psql_val "SELECT pid FROM pg_stat_progress_create_index
		WHERE index_relid = to_regclass('"'"'builds_x'"'"')") &&
	test_expect_code 0 doctor --fail-on error &&
	group "invalid indexes" >"$TEST_DIR/g" &&
	test_grep -x "  info     public.builds_x  being built on public.builds by pid $cic_pid (CREATE INDEX CONCURRENTLY in progress)" "$TEST_DIR/g" &&
	kill_session writer &&
	bg_wait cic 30 &&
	test_eq 0 "$(bg_rc cic)" "exit code of the concurrent build" &&
	test_eq t "$(psql_val "SELECT indisvalid FROM pg_index WHERE indexrelid = '"'"'builds_x'"'"'::regclass")" "builds_x valid"
'

# ---------------------------------------------------------------------------
# sessions

test_expect_success 'a session idle in transaction and a long transaction: pid, state, query without its password' '
	bg_start idle env PGAPPNAME=pgw_test_idle "$PGBIN/psql" -XAtq -v ON_ERROR_STOP=1 \
		-c "BEGIN" -c "CREATE ROLE $ROLE PASSWORD '"'"'doctorpw1'"'"'" -c "\\! sleep 30" &&
	psql_bg busy "SELECT pg_sleep(30), '"'"'postgresql://u:doctorpw2@h/db'"'"' AS url, '"'"'host=h password=doctorpw3 user=u'"'"' AS kv" &&
	wait_for 20 "SELECT count(*) = 2 FROM pg_stat_activity
		WHERE application_name IN ('"'"'pgw_test_idle'"'"', '"'"'pgw_test_busy'"'"')
		AND state IN ('"'"'idle in transaction'"'"', '"'"'active'"'"')
		AND state_change < now() - interval '"'"'1.5 s'"'"'
		AND (application_name = '"'"'pgw_test_busy'"'"' OR state = '"'"'idle in transaction'"'"')" &&
	idle_pid=$(psql_val "SELECT pid FROM pg_stat_activity WHERE application_name = '"'"'pgw_test_idle'"'"'") &&
	busy_pid=$(psql_val "SELECT pid FROM pg_stat_activity WHERE application_name = '"'"'pgw_test_busy'"'"'") &&
	test_expect_code 5 doctor --session-age 1 --fail-on warning &&
	group "sessions idle in transaction" >"$TEST_DIR/g" &&
	test_grep -x "sessions idle in transaction: 1" "$TEST_DIR/g" &&
	test_grep -E "^  warning  pid $idle_pid  idle in transaction for [0-9]+ s \(transaction open [0-9]+ s\), user postgres, application '"'"'pgw_test_idle'"'"'$" "$TEST_DIR/g" &&
	test_grep -x "           query: CREATE ROLE $ROLE PASSWORD '"'"'\*\*\*'"'"'" "$TEST_DIR/g" &&
	test_grep -x "           fix: SELECT pg_catalog.pg_terminate_backend($idle_pid);" "$TEST_DIR/g" &&
	group "long-running transactions" >"$TEST_DIR/g" &&
	test_grep -E "^  warning  pid $busy_pid  transaction open [0-9]+ s, active, waiting on Timeout:PgSleep, user postgres, application '"'"'pgw_test_busy'"'"'$" "$TEST_DIR/g" &&
	test_grep -F "query: SELECT pg_sleep(30), '"'"'postgresql://u:***@h/db'"'"' AS url, '"'"'host=h password=*** user=u'"'"' AS kv" "$TEST_DIR/g" &&
	test_expect_code 0 pgward --json doctor --session-age 1 &&
	json_check "$OUT" "sorted((f[\"check\"], f[\"pid\"], f[\"state\"], f[\"application_name\"], f[\"transaction_age_s\"] >= 1)
		for f in d[\"findings\"] if f[\"check\"] in (\"idle_in_transaction\", \"long_transaction\")) ==
		[(\"idle_in_transaction\", $idle_pid, \"idle in transaction\", \"pgw_test_idle\", True),
		 (\"long_transaction\", $busy_pid, \"active\", \"pgw_test_busy\", True)]
		and [f[\"query\"] for f in d[\"findings\"] if f[\"check\"] == \"idle_in_transaction\"] ==
		[\"CREATE ROLE $ROLE PASSWORD '"'"'***'"'"'\"]" &&
	test_expect_code 0 doctor &&
	test_grep -x "sessions idle in transaction: none" "$OUT" &&
	test_grep -x "long-running transactions: none" "$OUT" &&
	no_secret doctorpw1 && no_secret doctorpw2 && no_secret doctorpw3
'
kill_session idle
kill_session busy

# ---------------------------------------------------------------------------
# usage, connection, scope

test_expect_success 'bad usage: exit 2, nothing on stdout' '
	test_expect_code 2 doctor --fail-on fatal &&
	test_grep "fail-on: '"'"'fatal'"'"' is not a level (info, warning, error)" "$ERR" &&
	test_expect_code 2 doctor --top x &&
	test_grep "top: '"'"'x'"'"' is not a whole number" "$ERR" &&
	test_expect_code 2 doctor --session-age -1 &&
	test_expect_code 2 doctor extra &&
	test_expect_code 2 doctor --bogus &&
	test ! -s "$OUT" &&
	test_expect_code 0 doctor --help &&
	test_grep "^usage: pgward doctor \[--fail-on info|warning|error\]" "$OUT"
'

test_expect_success 'no database: exit 6; a wrong password is never shown' '
	test_expect_code 6 doctor -d "host=$TEST_DIR/nowhere dbname=x" &&
	test_grep "^pgward: error: cannot connect" "$ERR" &&
	test_expect_code 6 doctor -d "$(pw_url wrongpw77)" &&
	test ! -s "$OUT" &&
	no_secret wrongpw77
'

test_expect_success 'as a role that owns only schema app: only app is examined, by its own connection string' '
	psql_run "CREATE SCHEMA app AUTHORIZATION pgw_pw" &&
	test_atexit "psql_run \"DROP SCHEMA app CASCADE\"" &&
	PGUSER=pgw_pw PGPASSWORD=$PGW_SECRET psql_run "CREATE TABLE app.t (id int PRIMARY KEY, x int);
		CREATE INDEX t_x ON app.t (x); CREATE INDEX t_x2 ON app.t (x)" &&
	test_expect_code 0 pgward -d "$(pw_kv)" --json doctor &&
	json_check "$OUT" "d[\"schemas\"] == [\"app\"]
		and sorted(f[\"object\"] for f in d[\"findings\"]) == [\"app.t_x\", \"app.t_x2\", \"app.t_x2\"]
		and \"user=pgw_pw\" in d[\"database\"]" &&
	no_secret
'

# ---------------------------------------------------------------------------
# pg_stat_statements loaded: a private cluster with it in
# shared_preload_libraries (the shared test cluster is left as it is)

if test_have_prereq PSS; then
	if PSS_ENV=$(PGWARD_TEST_PORT=$PGPORT "$TEST_SRC/../cluster.sh" start 2>"$TEST_DIR/pss.err"); then
		PSS_DIR=$(eval "$PSS_ENV"; echo "$PGWARD_TEST_CLUSTER")
		test_atexit "'$TEST_SRC/../cluster.sh' stop '$PSS_DIR'"
		test_set_prereq PSS_CLUSTER
	else
		cat "$TEST_DIR/pss.err" | say_diag
	fi
fi

pss_psql() {
	"$PGBIN/psql" -XAtq -v ON_ERROR_STOP=1 -h "$PSS_DIR" -p "$PGPORT" -d postgres "$@" </dev/null
}

test_expect_success PSS_CLUSTER 'pg_stat_statements loaded: the slowest statements, by total time, redacted, without pgward'"'"'s own' '
	pss_psql -c "ALTER SYSTEM SET shared_preload_libraries = '"'"'pg_stat_statements'"'"'" &&
	if [ "$(id -u)" = 0 ]; then
		runuser -u postgres -- "$PGBIN/pg_ctl" -D "$PSS_DIR/data" \
			-l "$PSS_DIR/server.log" -w -t 60 restart >/dev/null
	else
		"$PGBIN/pg_ctl" -D "$PSS_DIR/data" -l "$PSS_DIR/server.log" \
			-w -t 60 restart >/dev/null
	fi &&
	pss_psql -c "CREATE EXTENSION pg_stat_statements" &&
	pss_psql -c "SELECT pg_sleep(0.2)" -c "SELECT pg_sleep(0.2)" \
		-c "CREATE ROLE doc_pss PASSWORD '"'"'doctorpw4'"'"'" >/dev/null &&
	test_expect_code 0 pgward -d "host=$PSS_DIR port=$PGPORT dbname=postgres" doctor &&
	test_expect_code 0 pgward -d "host=$PSS_DIR port=$PGPORT dbname=postgres" doctor &&
	test_grep -x "slowest statements (pg_stat_statements, by total time):" "$OUT" &&
	test_grep -E "^ +total ms +mean ms +calls  query$" "$OUT" &&
	test_grep -E "^ +[0-9]{3,}\.[0-9] +[0-9]{3}\.[0-9]{2} +2  SELECT pg_sleep\(\\\$1\)$" "$OUT" &&
	test_grep -F "CREATE ROLE doc_pss PASSWORD '"'"'***'"'"'" "$OUT" &&
	test_grep ! "pgward doctor" "$OUT" &&
	test_expect_code 0 pgward -d "host=$PSS_DIR port=$PGPORT dbname=postgres" --json doctor &&
	json_check "$OUT" "d[\"statements\"][\"available\"] is True and d[\"statements\"][\"note\"] is None
		and d[\"statements\"][\"top\"][0][\"query\"] == \"SELECT pg_sleep(\$1)\"
		and d[\"statements\"][\"top\"][0][\"calls\"] == 2
		and d[\"statements\"][\"top\"][0][\"mean_ms\"] >= 200
		and d[\"statements\"][\"top\"][0][\"role\"] == \"postgres\"
		and all(\"pgward doctor\" not in s[\"query\"] for s in d[\"statements\"][\"top\"])" &&
	no_secret doctorpw4
'

test_done
