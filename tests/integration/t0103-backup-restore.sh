#!/bin/bash
# Backup and restore round trips against an oracle: after `pgward restore`
# (in place, and --into an empty database) and after `tar -x` + `psql -f
# restore.sql`, pg_dump --schema-only and every table's rows are identical
# to the source's; on the example application with awkward data, on
# tests/fixtures/backup-data.sql and on tests/fixtures/torture.sql.  The
# backups run as a role whose own settings (DateStyle 'SQL, DMY',
# IntervalStyle, TimeZone, extra_float_digits, bytea_output,
# standard_conforming_strings, search_path, client_encoding) would garble
# an archive that does not pin its session.  Archives are 0600, pass
# `archive verify`, and `archive list --json` gives the source's row counts.
. "$(dirname "$0")/lib.sh"

ROOT=$(cd "$TEST_SRC/../.." && pwd)
FIXTURES=$ROOT/tests/fixtures
DB=$PGDATABASE
# cluster-wide names carry the database's name (scripts run in parallel)
R_DMY=${DB}_dmy
R_OWN=${DB}_own
R_READ=${DB}_reader
FX=${DB}_fx
TT=${DB}_tt
ARCH=$TEST_DIR/archives
mkdir -p "$ARCH"

psql_db() { # psql_db DB SQL...: run SQL (stdin when absent) on DB
	local db=$1
	shift
	if [ $# -gt 0 ]; then
		"$PGBIN/psql" -XAtq -v ON_ERROR_STOP=1 -d "$db" -c "$1" </dev/null
	else
		"$PGBIN/psql" -XAtq -v ON_ERROR_STOP=1 -d "$db"
	fi
}

dmy_url() { # a connection as the role with hostile settings
	echo "host=$PGHOST port=$PGPORT user=$R_DMY dbname=${1:-$DB}"
}

# fidelity_snapshot DB PREFIX: PREFIX.schema (pg_dump --schema-only, as
# superuser), PREFIX.rows (each table's and materialized view's row count
# and the md5 of its sorted rows; "not populated" for a materialized view
# that is not), PREFIX.seqs (each sequence's state).
fidelity_snapshot() {
	local db=$1 p=$2
	pg_dump_clean --schema-only --exclude-schema=pgward_journal -d "$db" >"$p.schema" || return 1
	psql_db "$db" >"$p.rows" <<-\EOF || return 1
	SELECT CASE WHEN c.relispopulated
		THEN format('SELECT %L, count(*), md5(coalesce(string_agg(pgw_row__::text, E''\n'' ORDER BY pgw_row__::text), '''')) FROM %I.%I AS pgw_row__',
			n.nspname || '.' || c.relname, n.nspname, c.relname)
		ELSE format('SELECT %L, ''not populated''', n.nspname || '.' || c.relname) END
		FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
		WHERE c.relkind IN ('r', 'm')
		AND n.nspname NOT IN ('pg_catalog', 'information_schema', 'pgward_journal')
		AND n.nspname NOT LIKE 'pg\_%'
		ORDER BY n.nspname, c.relname COLLATE "C" \gexec
	EOF
	psql_db "$db" >"$p.seqs" <<-\EOF || return 1
	SELECT format('SELECT %L, last_value, is_called FROM %I.%I',
			n.nspname || '.' || c.relname, n.nspname, c.relname)
		FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
		WHERE c.relkind = 'S'
		AND n.nspname NOT IN ('pg_catalog', 'information_schema', 'pgward_journal')
		ORDER BY n.nspname, c.relname COLLATE "C" \gexec
	EOF
	# the snapshot must have seen something: an empty oracle proves nothing
	test -s "$p.schema" && test -s "$p.rows"
}

# same_as PREFIX-A PREFIX-B [seqs]: schema and rows (and sequences) equal.
same_as() {
	test_cmp "$1.schema" "$2.schema" &&
	test_cmp "$1.rows" "$2.rows" &&
	if [ "${3:-}" = seqs ]; then test_cmp "$1.seqs" "$2.seqs"; fi
}

# fresh_db NAME: an empty database (dropped first if it exists).
fresh_db() {
	"$PGBIN/dropdb" --if-exists "$1" </dev/null &&
	"$PGBIN/createdb" "$1" </dev/null &&
	test_atexit "'$PGBIN/dropdb' --if-exists --force '$1'"
}

# backup_ok FILE: the last backup printed its path and the file's sha256,
# wrote it 0600, and left no temporary file behind.
backup_ok() {
	local f=$1 sum
	cat "$OUT" "$ERR" >backup.said
	test_grep -F "backup written: $f" backup.said &&
	test_grep -E "sha256: [0-9a-f]{64}" backup.said &&
	sum=$(sha256sum "$f" | cut -d" " -f1) &&
	test_grep -F "$sum" backup.said &&
	test_eq 600 "$(stat -c %a "$f")" "mode of $f" &&
	test_eq "" "$(find "$(dirname "$f")" -name "$(basename "$f")?*" -print)" "leftover temporary files"
}

# layout_ok FILE: entries in the documented order, manifest.json last,
# every name one the layout allows.
layout_ok() {
	tar --zstd -tf "$1" >entries || return 1
	test_eq schema/pre-data.sql "$(head -n 1 entries)" "first entry" &&
	test_eq manifest.json "$(tail -n 1 entries)" "last entry" &&
	test_eq 1 "$(grep -c -x schema/post-data.sql entries)" "post-data entries" &&
	test_eq 1 "$(grep -c -x restore.sql entries)" "restore.sql entries" &&
	test_grep ! -v -E '^(schema/pre-data\.sql|schema/post-data\.sql|restore\.sql|manifest\.json|data/[0-9]{4}\..+\.copy\.[0-9]{3})$' entries
}

# expected_counts DB FILE: "schema<TAB>table<TAB>rows" of every table whose
# rows an archive of DB carries (ordinary tables and partition leaves).
expected_counts() {
	psql_db "$1" >"$2" <<-\EOF
	SELECT format('SELECT %L || E''\t'' || %L || E''\t'' || count(*) FROM %I.%I',
			n.nspname, c.relname, n.nspname, c.relname)
		FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
		WHERE c.relkind = 'r'
		AND n.nspname NOT IN ('pg_catalog', 'information_schema', 'pgward_journal')
		AND n.nspname NOT LIKE 'pg\_%'
		ORDER BY 1 \gexec
	EOF
}

# list_matches JSON EXPECTED: `archive list --json` names every table of
# EXPECTED with its row count, and no other table.
list_matches() {
	python3 - "$1" "$2" <<-\EOF
	import json, sys
	doc = json.load(open(sys.argv[1]))
	want = {}
	for line in open(sys.argv[2], encoding="utf-8"):
	    s, t, n = line.rstrip("\n").split("\t")
	    want[(s, t)] = int(n)
	def tables(v):
	    # the list of objects that carry a schema, a table name and rows
	    if isinstance(v, list) and v and all(isinstance(x, dict) and "schema" in x
	            and ("name" in x or "table" in x) and "rows" in x for x in v):
	        return v
	    for x in (v.values() if isinstance(v, dict) else v if isinstance(v, list) else []):
	        r = tables(x)
	        if r is not None:
	            return r
	    return None
	got_list = tables(doc)
	if got_list is None:
	    print("no list of tables (schema, name, rows) in:")
	    print(json.dumps(doc, indent=2)[:4000])
	    sys.exit(1)
	got = {(x["schema"], x.get("name", x.get("table"))): int(x["rows"]) for x in got_list}
	bad = 0
	for k in sorted(set(want) | set(got)):
	    if want.get(k) != got.get(k):
	        print("%s.%s: source has %s rows, the archive lists %s" % (k[0], k[1], want.get(k), got.get(k)))
	        bad = 1
	sys.exit(bad)
	EOF
}

# `tar --zstd` needs the zstd program (Debian package zstd); without it the
# cases that extract with plain tar are skipped.
if tar --zstd -cf - -T /dev/null >/dev/null 2>&1 && command -v zstd >/dev/null; then
	test_set_prereq TARZSTD
else
	echo "# tar --zstd does not work here (install Debian package zstd): plain-tar cases skipped"
fi

# --- roles ---------------------------------------------------------------------
test_expect_success 'set up: a backup role with hostile session settings, an owner, a reader' '
	psql_run "CREATE ROLE \"$R_DMY\" LOGIN SUPERUSER;
		ALTER ROLE \"$R_DMY\" SET DateStyle = '\''SQL, DMY'\'';
		ALTER ROLE \"$R_DMY\" SET IntervalStyle = '\''sql_standard'\'';
		ALTER ROLE \"$R_DMY\" SET TimeZone = '\''Pacific/Chatham'\'';
		ALTER ROLE \"$R_DMY\" SET extra_float_digits = -3;
		ALTER ROLE \"$R_DMY\" SET bytea_output = '\''escape'\'';
		ALTER ROLE \"$R_DMY\" SET standard_conforming_strings = off;
		ALTER ROLE \"$R_DMY\" SET search_path = '\''\"Mixed Case\", bkdata, public'\'';
		ALTER ROLE \"$R_DMY\" SET client_encoding = '\''LATIN1'\'';
		CREATE ROLE \"$R_OWN\" LOGIN;
		CREATE ROLE \"$R_READ\" LOGIN" &&
	test_eq "04/03/2024" "$("$PGBIN/psql" -XAtq -d "$(dmy_url)" -c "SELECT date '\''2024-03-04'\''")" \
		"a date as the backup role sees it"
'

# --- (a) the example application ----------------------------------------------
test_expect_success 'set up: the example application (migrations/ of the repo) with awkward data' '
	cp "$ROOT"/migrations/*.sql "$MIG"/ &&
	test_expect_code 0 pgward up &&
	test_eq "$(ls "$ROOT"/migrations/[0-9]*.sql | wc -l)" \
		"$(psql_val "SELECT count(*) FROM pgward.migrations")" "applied migrations" &&
	psql_run "
		INSERT INTO users (email, name, deleted_at) VALUES
			('\''tab@example.com'\'', E'\''Tab\tName'\'', NULL),
			('\''nl@example.com'\'', E'\''New\nLine\r\n'\'', now()),
			('\''dot@example.com'\'', E'\''\\\\.'\'', NULL),
			('\''dotline@example.com'\'', E'\''x\n\\\\.\ny'\'', NULL),
			('\''u@example.com'\'', '\''Zoë 🐘 O'\'''\''Brien 日本'\'', '\''-infinity'\''),
			('\''empty@example.com'\'', '\'''\'', '\''infinity'\''),
			('\''bs@example.com'\'', E'\''back\\\\slash\\\\N'\'', NULL),
			('\''null@example.com'\'', '\''\\N'\'', NULL);
		INSERT INTO users (email, name)
			SELECT '\''user'\'' || g || '\''@example.com'\'', '\''User '\'' || g FROM generate_series(1, 500) g;
		DELETE FROM users WHERE email LIKE '\''user49_@example.com'\'';
		INSERT INTO assets (symbol, name, asset_class, currency, exchange)
			SELECT '\''SYM'\'' || g, E'\''Asset\t'\'' || g || E'\''\n'\'',
				(ARRAY['\''equity'\'', '\''bond'\'', '\''etf'\'', '\''commodity'\'', '\''crypto'\'', '\''cash'\''])[1 + g % 6],
				CASE WHEN g % 4 = 0 THEN '\''EUR'\'' ELSE '\''USD'\'' END,
				CASE WHEN g % 3 = 0 THEN NULL ELSE '\''NYSE'\'' END
			FROM generate_series(1, 50) g;
		INSERT INTO prices (asset_id, date, open, high, low, close, volume, is_latest, created_at)
			SELECT a.id, date '\''2020-01-01'\'' + d, NULLIF(round((d * 1.37 + a.id)::numeric, 6), 0),
				(d + a.id + 10) * 1.000001, d + a.id, (d + a.id + 5) / 3.0,
				CASE WHEN d % 10 = 0 THEN NULL ELSE d * 1000 + a.id END, d = 399,
				timestamptz '\''2020-01-01 00:00:00+00'\'' + d * interval '\''1 day 1 second'\''
			FROM assets a, generate_series(0, 399) d;
		INSERT INTO allocations (user_id, asset_id, date, weight, target_weight, is_active)
			SELECT u.id, 1 + u.id % 50, date '\''2024-02-29'\'', 0.12345678, NULL, u.id % 3 <> 0
			FROM users u;
		INSERT INTO transactions (user_id, asset_id, transaction_date, kind, quantity, price, fee, note)
			SELECT u.id, 1 + u.id % 50, date '\''2023-12-31'\'' - (u.id % 400)::int,
				(ARRAY['\''buy'\'', '\''sell'\'', '\''dividend'\'', '\''fee'\'', '\''transfer_in'\'', '\''transfer_out'\''])[1 + u.id % 6],
				u.id * 0.00000001, 99999999999999.999999, 0,
				CASE u.id % 5 WHEN 0 THEN NULL WHEN 1 THEN '\'''\''
					WHEN 2 THEN E'\''\\\\.\n'\'' WHEN 3 THEN E'\''tab\there'\'' ELSE repeat(md5(u.id::text), 100) END
			FROM users u;
		INSERT INTO index_values (date, index_type, value, daily_return)
			SELECT date '\''2024-01-01'\'' + g, '\''equal_weight'\'', 100 + g * 0.01, NULLIF(g % 3, 0) * -0.0001
			FROM generate_series(0, 365) g;
		REFRESH MATERIALIZED VIEW index_performance;
		COMMENT ON SCHEMA public IS E'\''the application'\'''\''s schema,\twith a tab'\'';
		GRANT USAGE ON SCHEMA public TO \"$R_READ\";
		GRANT SELECT ON prices, assets TO \"$R_READ\";
		GRANT SELECT (id, email) ON users TO \"$R_READ\";
		ALTER TABLE index_values OWNER TO \"$R_OWN\";
		ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT ON TABLES TO \"$R_READ\";
		ANALYZE" &&
	test_eq 20000 "$(psql_val "SELECT count(*) FROM prices")" "price rows" &&
	fidelity_snapshot "$DB" src-a
'

test_expect_success 'backup of the application: exit 0, path and sha256 printed, mode 0600, database untouched' '
	pg_dump_clean --exclude-schema=pgward_journal >before &&
	umask 022 &&
	test_expect_code 0 pgward -d "$(dmy_url)" backup -o "$ARCH/app.tar.zst" &&
	backup_ok "$ARCH/app.tar.zst" &&
	pg_dump_clean --exclude-schema=pgward_journal >after &&
	test_cmp before after
'

test_expect_success TARZSTD 'the application archive: tar layout, manifest names the database' '
	layout_ok "$ARCH/app.tar.zst" &&
	test_grep -E "^data/[0-9]{4}\.public\.prices\.copy\.001$" entries &&
	test_grep -E "^data/[0-9]{4}\.pgward\.migrations\.copy\.001$" entries &&
	tar --zstd -xOf "$ARCH/app.tar.zst" manifest.json >manifest.json &&
	json_check manifest.json "d[\"database\"] == \"$DB\"" &&
	test_grep -F "\"sha256\"" manifest.json
'

test_expect_success 'archive verify passes; archive list --json gives the source row counts' '
	test_expect_code 0 pgward archive verify "$ARCH/app.tar.zst" &&
	test_expect_code 0 pgward --json archive list "$ARCH/app.tar.zst" &&
	cp "$OUT" list.json &&
	expected_counts "$DB" want-a.tsv &&
	test_grep -P "^public\tprices\t20000$" want-a.tsv &&
	list_matches list.json want-a.tsv &&
	test_expect_code 0 pgward archive list "$ARCH/app.tar.zst" &&
	test_grep prices "$OUT"
'

test_expect_success 'restore in place after changes: schema and rows exactly as backed up, sequences not moved back' '
	psql_run "DELETE FROM prices WHERE date < '\''2020-06-01'\'';
		UPDATE users SET name = '\''changed'\'' WHERE id < 10;
		INSERT INTO users (email, name) SELECT '\''late'\'' || g || '\''@example.com'\'', '\''late'\''
			FROM generate_series(1, 700) g;
		TRUNCATE allocations;
		DROP INDEX ix_prices_latest;
		ALTER TABLE assets ADD COLUMN isin text;
		DROP MATERIALIZED VIEW index_performance;
		DROP TABLE index_values;
		CREATE TABLE public.after_backup (id int PRIMARY KEY);
		REVOKE SELECT ON prices FROM \"$R_READ\";
		COMMENT ON SCHEMA public IS NULL" &&
	seq_before=$(psql_val "SELECT last_value FROM users_id_seq") &&
	test_expect_code 0 pgward restore "$ARCH/app.tar.zst" --yes &&
	fidelity_snapshot "$DB" inplace-a &&
	same_as src-a inplace-a &&
	! table_exists public.after_backup &&
	test_le "$seq_before" "$(psql_val "SELECT last_value FROM users_id_seq")" "users_id_seq after the restore"
'

test_expect_success 'a second restore in place changes nothing' '
	fidelity_snapshot "$DB" again-before &&
	test_expect_code 0 pgward restore "$ARCH/app.tar.zst" --yes &&
	fidelity_snapshot "$DB" again-after &&
	same_as again-before again-after seqs
'

test_expect_success 'restore --into an empty database: same schema, rows and sequences' '
	fresh_db "${DB}_a_into" &&
	test_expect_code 0 pgward restore "$ARCH/app.tar.zst" --yes --into "${DB}_a_into" &&
	fidelity_snapshot "${DB}_a_into" into-a &&
	same_as src-a into-a seqs
'

test_expect_success 'restore --into: rows written frozen, and the tables analyzed by the restore itself' '
	# COPY FREEZE sets every page all-visible (ANALYZE copies the count
	# into relallvisible); ANALYZE leaves pg_stats rows for every table
	# with rows
	pages=$(psql_db "${DB}_a_into" "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = '"'"'public'"'"' AND c.relkind = '"'"'r'"'"' AND c.relpages > 0") &&
	test "$pages" -gt 0 &&
	test "$(psql_db "${DB}_a_into" "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = '"'"'public'"'"' AND c.relkind = '"'"'r'"'"' AND c.relpages > 0 AND c.relallvisible = c.relpages")" = "$pages" &&
	test "$(psql_db "${DB}_a_into" "SELECT count(DISTINCT s.tablename) FROM pg_stats s WHERE s.schemaname = '"'"'public'"'"'")" = "$pages"
'

test_expect_success TARZSTD 'tar --zstd -x and psql -f restore.sql into an empty database: same result' '
	fresh_db "${DB}_a_psql" &&
	rm -rf x-a && mkdir x-a &&
	tar --zstd -xf "$ARCH/app.tar.zst" -C x-a &&
	(cd x-a && "$PGBIN/psql" -X -q -v ON_ERROR_STOP=1 -d "${DB}_a_psql" -f restore.sql) >psql-a.log 2>&1 ||
		{ cat psql-a.log; false; } &&
	fidelity_snapshot "${DB}_a_psql" psql-a &&
	same_as src-a psql-a seqs
'

test_expect_success '--compress none writes a plain tar that verifies and restores' '
	fidelity_snapshot "$DB" now-a &&
	test_expect_code 0 pgward -d "$(dmy_url)" backup --compress none -o "$ARCH/plain.tar" &&
	backup_ok "$ARCH/plain.tar" &&
	tar -tf "$ARCH/plain.tar" >plain-entries &&
	test_eq manifest.json "$(tail -n 1 plain-entries)" "last entry" &&
	test_expect_code 0 pgward archive verify "$ARCH/plain.tar" &&
	fresh_db "${DB}_a_plain" &&
	test_expect_code 0 pgward restore "$ARCH/plain.tar" --yes --into "${DB}_a_plain" &&
	fidelity_snapshot "${DB}_a_plain" plain-a &&
	same_as now-a plain-a seqs
'

# --- (b) awkward data: tests/fixtures/backup-data.sql ---------------------------
test_expect_success 'set up: backup-data.sql, with owners, grants and comments on every schema' '
	fresh_db "$FX" &&
	"$PGBIN/psql" -X -q -v ON_ERROR_STOP=1 -d "$FX" -f "$FIXTURES/backup-data.sql" </dev/null >fx-load.log 2>&1 ||
		{ cat fx-load.log; false; } &&
	psql_db "$FX" "ALTER SCHEMA \"Mixed Case\" OWNER TO \"$R_OWN\";
		ALTER TABLE \"Mixed Case\".\"Orders\" OWNER TO \"$R_OWN\";
		GRANT USAGE ON SCHEMA bkdata, \"Mixed Case\" TO \"$R_READ\";
		GRANT SELECT, INSERT ON ALL TABLES IN SCHEMA bkdata TO \"$R_READ\";
		GRANT UPDATE (\"Qty\") ON \"Mixed Case\".\"Order Items\" TO \"$R_READ\" WITH GRANT OPTION;
		ALTER DEFAULT PRIVILEGES IN SCHEMA bkdata GRANT SELECT ON TABLES TO \"$R_READ\";
		ALTER DEFAULT PRIVILEGES FOR ROLE \"$R_OWN\" IN SCHEMA \"Mixed Case\" GRANT ALL ON SEQUENCES TO \"$R_READ\";
		REVOKE ALL ON SCHEMA public FROM PUBLIC;
		GRANT USAGE ON SCHEMA public TO \"$R_READ\";
		COMMENT ON SCHEMA public IS E'\''public, with a\ttab'\''" &&
	test_eq t "$(psql_db "$FX" "SELECT pg_relation_size(reltoastrelid) > 2000000 FROM pg_class
		WHERE oid = '\''bkdata.toasted'\''::regclass")" "bkdata.toasted has out-of-line values" &&
	fidelity_snapshot "$FX" src-b &&
	test_grep "bkdata.texts|40|" src-b.rows
'

test_expect_success 'backup --jobs 2 of the awkward data as the DMY role: 0600, verified, row counts listed' '
	test_expect_code 0 pgward -d "$(dmy_url "$FX")" backup --jobs 2 -o "$ARCH/fx.tar.zst" &&
	backup_ok "$ARCH/fx.tar.zst" &&
	test_expect_code 0 pgward archive verify "$ARCH/fx.tar.zst" &&
	test_expect_code 0 pgward --json archive list "$ARCH/fx.tar.zst" &&
	cp "$OUT" list-b.json &&
	expected_counts "$FX" want-b.tsv &&
	list_matches list-b.json want-b.tsv
'

test_expect_success TARZSTD 'the awkward-data archive: layout; a table above the part size spans several parts' '
	layout_ok "$ARCH/fx.tar.zst" &&
	test_grep -E "^data/[0-9]{4}\.bkdata\.toasted\.copy\.002$" entries &&
	test_grep -E "^data/[0-9]{4}\.bkdata\.events_2023\.copy\.001$" entries
'

test_expect_success 'restore --into an empty database, by a role with default settings: identical' '
	fresh_db "${FX}_into" &&
	test_expect_code 0 pgward restore "$ARCH/fx.tar.zst" --yes --into "${FX}_into" &&
	fidelity_snapshot "${FX}_into" into-b &&
	same_as src-b into-b seqs
'

test_expect_success TARZSTD 'tar --zstd -x and psql -f restore.sql into an empty database: identical' '
	fresh_db "${FX}_psql" &&
	rm -rf x-b && mkdir x-b &&
	tar --zstd -xf "$ARCH/fx.tar.zst" -C x-b &&
	(cd x-b && "$PGBIN/psql" -X -q -v ON_ERROR_STOP=1 -d "${FX}_psql" -f restore.sql) >psql-b.log 2>&1 ||
		{ cat psql-b.log; false; } &&
	fidelity_snapshot "${FX}_psql" psql-b &&
	same_as src-b psql-b seqs
'

test_expect_success 'restore in place, by the role with hostile settings, after changes: identical' '
	psql_db "$FX" "UPDATE bkdata.texts SET t = '\''changed'\'' WHERE id < 5;
		DELETE FROM bkdata.events WHERE id % 7 = 0;
		DROP TABLE bkdata.egg CASCADE;
		DROP MATERIALIZED VIEW bkdata.event_counts;
		ALTER TABLE bkdata.numbers ADD COLUMN extra int DEFAULT 1;
		ALTER TYPE bkdata.mood ADD VALUE '\''new'\'';
		CREATE TABLE bkdata.after_backup (id int);
		INSERT INTO \"Mixed Case\".\"Order Items\" (\"Order\", \"Qty\") VALUES (1, 1);
		ALTER SCHEMA \"Mixed Case\" OWNER TO postgres;
		COMMENT ON SCHEMA bkdata IS NULL;
		SELECT setval('\''bkdata.serials_id_seq'\'', 1000)" >/dev/null &&
	test_expect_code 0 pgward -d "$(dmy_url "$FX")" restore "$ARCH/fx.tar.zst" --yes &&
	fidelity_snapshot "$FX" inplace-b &&
	same_as src-b inplace-b &&
	test_eq 1000 "$(psql_db "$FX" "SELECT last_value FROM bkdata.serials_id_seq")" \
		"bkdata.serials_id_seq (never moved back)"
'

# --- (b) tests/fixtures/torture.sql: every supported kind -----------------------
if [ -f "$FIXTURES/torture.sql" ]; then
	test_set_prereq TORTURE
	test_expect_success 'set up: torture.sql' '
		fresh_db "$TT" &&
		"$PGBIN/psql" -X -q -v ON_ERROR_STOP=1 -d "$TT" -f "$FIXTURES/torture.sql" </dev/null >tt-load.log 2>&1 ||
			{ cat tt-load.log; false; } &&
		fidelity_snapshot "$TT" src-t
	'
	test_expect_success 'torture: backup, verify, list' '
		test_expect_code 0 pgward -d "$(dmy_url "$TT")" backup --jobs 2 -o "$ARCH/tt.tar.zst" &&
		backup_ok "$ARCH/tt.tar.zst" &&
		test_expect_code 0 pgward archive verify "$ARCH/tt.tar.zst" &&
		test_expect_code 0 pgward --json archive list "$ARCH/tt.tar.zst" &&
		cp "$OUT" list-t.json &&
		expected_counts "$TT" want-t.tsv &&
		list_matches list-t.json want-t.tsv
	'
	test_expect_success 'torture: restore --into an empty database is identical' '
		fresh_db "${TT}_into" &&
		test_expect_code 0 pgward restore "$ARCH/tt.tar.zst" --yes --into "${TT}_into" &&
		fidelity_snapshot "${TT}_into" into-t &&
		same_as src-t into-t seqs
	'
	test_expect_success TARZSTD 'torture: tar -x and psql -f restore.sql into an empty database is identical' '
		fresh_db "${TT}_psql" &&
		rm -rf x-t && mkdir x-t &&
		tar --zstd -xf "$ARCH/tt.tar.zst" -C x-t &&
		(cd x-t && "$PGBIN/psql" -X -q -v ON_ERROR_STOP=1 -d "${TT}_psql" -f restore.sql) >psql-t.log 2>&1 ||
			{ cat psql-t.log; false; } &&
		fidelity_snapshot "${TT}_psql" psql-t &&
		same_as src-t psql-t seqs
	'
	test_expect_success 'torture: restore in place is identical' '
		test_expect_code 0 pgward -d "dbname=$TT" restore "$ARCH/tt.tar.zst" --yes &&
		fidelity_snapshot "$TT" inplace-t &&
		same_as src-t inplace-t
	'
else
	for what in 'set up' 'backup, verify, list' 'restore --into an empty database' \
		'tar -x and psql -f restore.sql' 'restore in place'; do
		test_skip "torture: $what" "tests/fixtures/torture.sql does not exist yet"
	done
fi

test_done
