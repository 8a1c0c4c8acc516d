#!/bin/bash
# The catalog reader (core/catalog.c), through tests/fixtures/catalog_tool:
# pre-data then post-data replayed into an empty database give the same
# pg_dump --schema-only (torture schema, example application); two reads
# give the same text; the drop order empties the schemas one object at a
# time; objects outside the scope that depend on it are named; objects the
# archive cannot carry are refused by name unless allowed.
. "$(dirname "$0")/lib.sh"

ROOT=$(cd "$TEST_SRC/../.." && pwd)
BUILD=$(dirname "$PGWARD")
TOOL="$TEST_DIR/catalog_tool"
DB_A=$PGDATABASE
DB_B=${PGDATABASE}_b
DB_E=${PGDATABASE}_e
DB_E2=${PGDATABASE}_e2
DB_D=${PGDATABASE}_d
# roles are cluster-wide: named after this test's database
R_OWNER=${PGDATABASE}_owner
R_READER=${PGDATABASE}_reader
R_WRITER="${PGDATABASE} Writer"
R_APP=${PGDATABASE}_app
R_OTHER=${PGDATABASE}_other

for db in "$DB_B" "$DB_E" "$DB_E2" "$DB_D"; do
	test_atexit "'$PGBIN/dropdb' --if-exists '$db'"
done
test_atexit "'$PGBIN/psql' -XAtq -d postgres -c 'DROP ROLE IF EXISTS $R_OWNER, $R_READER, \"$R_WRITER\", $R_APP, $R_OTHER'"

# catalog_tool WHAT [ARGS...] on database $CAT_DB (default: the test's)
cat_tool() {
	PGDATABASE=${CAT_DB:-$DB_A} "$TOOL" "$@"
}

# dump_of DB FILE: pg_dump --schema-only of DB
dump_of() {
	pg_dump_clean --schema-only -d "$1" >"$2"
}

# replay DB PREFIX: PREFIX.pre then PREFIX.post into DB, stopping at the
# first error
replay() {
	"$PGBIN/psql" -XAtq -v ON_ERROR_STOP=1 -d "$1" -f "$2.pre" >/dev/null &&
	"$PGBIN/psql" -XAtq -v ON_ERROR_STOP=1 -d "$1" -f "$2.post" >/dev/null
}

# in_scope_objects DB: every relation, routine, type, default ACL left in
# app and "Mixed Schema"
in_scope_objects() {
	"$PGBIN/psql" -XAtq -d "$1" -c "SELECT
		(SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
		  WHERE n.nspname IN ('app', 'Mixed Schema'))
		+ (SELECT count(*) FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
		  WHERE n.nspname IN ('app', 'Mixed Schema'))
		+ (SELECT count(*) FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
		  WHERE n.nspname IN ('app', 'Mixed Schema'))
		+ (SELECT count(*) FROM pg_default_acl)"
}

test_expect_success 'the test tool builds against libpgward.a' '
	build_fixture catalog_tool.c "$TOOL"
'

test_expect_success 'the torture schema loads' '
	psql_run "CREATE ROLE $R_OWNER; CREATE ROLE $R_READER; CREATE ROLE \"$R_WRITER\"" &&
	"$PGBIN/psql" -XAtq -v ON_ERROR_STOP=1 -v owner="$R_OWNER" \
		-v reader="$R_READER" -v writer="$R_WRITER" \
		-f "$ROOT/tests/fixtures/torture.sql" >torture.log 2>&1 &&
	test_eq 24 "$(psql_val "SELECT count(*) FROM pg_class c
		JOIN pg_namespace n ON n.oid = c.relnamespace
		WHERE n.nspname IN ('\''app'\'', '\''Mixed Schema'\'') AND c.relkind = '\''r'\''")" "tables" &&
	dump_of "$DB_A" a.dump
'

test_expect_success 'the torture schema is read: schemas, extensions, nothing unsupported' '
	test_expect_code 0 cat_tool schemas &&
	printf "%s\n" "Mixed Schema" app public >expect &&
	test_cmp expect "$OUT" &&
	test_expect_code 0 cat_tool extensions &&
	test_grep -x "plpgsql 1.0 pg_catalog" "$OUT" &&
	test_expect_code 0 cat_tool unsupported &&
	test ! -s "$OUT"
'

test_expect_success 'pre-data and post-data replay into an empty database' '
	test_expect_code 0 cat_tool pre && cp "$OUT" a.pre &&
	test_expect_code 0 cat_tool post && cp "$OUT" a.post &&
	"$PGBIN/createdb" "$DB_B" &&
	replay "$DB_B" a
'

test_expect_success 'pg_dump --schema-only of the source and the replayed database are identical' '
	dump_of "$DB_B" b.dump &&
	test_cmp a.dump b.dump &&
	for want in "ATTACH PARTITION app.measurements_2025" "CREATE POLICY orders_ins" \
		"ALTER DEFAULT PRIVILEGES FOR ROLE $R_OWNER IN SCHEMA app" \
		"GENERATED ALWAYS AS IDENTITY" "GENERATED ALWAYS AS ((" \
		"COMMENT ON SCHEMA public" "CREATE RULE invoices_log" \
		"CREATE STATISTICS app.orders_stats" "FORCE ROW LEVEL SECURITY" \
		"GRANT UPDATE(mood) ON TABLE app.accounts" "REPLICA IDENTITY FULL" \
		"DISABLE TRIGGER accounts_off" "CREATE AGGREGATE app.total" \
		"CREATE PROCEDURE app.reset_balances" "EXCLUDE USING gist" \
		"ALTER INDEX app.measurements_peak ATTACH PARTITION" \
		"\"Mixed Schema\".\"Weird \"\"Quoted\"\" Table\"" "code_not_xxx" \
		"INHERITS (app.events)" "CREATE UNLOGGED TABLE app.cache"; do
		test_grep -F -e "$want" b.dump || return 1
	done
'

test_expect_success 'the replayed database has what pg_dump does not show' '
	test_eq "note,peaktemp,logdate,city_id" "$(psql_val "SELECT string_agg(attname, '\'','\''
		ORDER BY attnum) FROM pg_attribute WHERE attrelid = '\''app.measurements_2025'\''::regclass
		AND attnum > 0" -d "$DB_B")" "partition column order" &&
	q="SELECT c.relname || '\'':'\'' || coalesce(c.relacl::text, '\''-'\'')
		FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
		WHERE n.nspname IN ('\''app'\'', '\''Mixed Schema'\'') ORDER BY 1" &&
	test_eq "$(psql_val "$q")" "$("$PGBIN/psql" -XAtq -d "$DB_B" -c "$q")" "ACL arrays" &&
	q="SELECT (SELECT string_agg(c.relname || '\'':'\'' || c.relispopulated, '\'','\''
		ORDER BY c.relname) FROM pg_class c WHERE c.relkind = '\''m'\''),
		(SELECT string_agg(sequencename || '\'':'\'' || coalesce(last_value, 0), '\'','\''
		ORDER BY sequencename)
		FROM pg_sequences WHERE schemaname = '\''app'\'')" &&
	test_eq "$(psql_val "$q")" "$("$PGBIN/psql" -XAtq -d "$DB_B" -c "$q")" "matviews and sequences"
'

test_expect_success 'two reads give identical text; so does the replayed copy' '
	for what in pre post tables drops objects; do
		cat_tool $what >one.$what && cat_tool $what >two.$what &&
		test_cmp one.$what two.$what || return 1
		CAT_DB=$DB_B cat_tool $what >b.$what || return 1
	done &&
	test_cmp one.pre b.pre && test_cmp one.post b.post &&
	test_cmp one.tables b.tables && test_cmp one.drops b.drops
'

test_expect_success 'pre-data holds what needs no data; keys, indexes, triggers come after' '
	test_grep "^CREATE TABLE app.accounts (" a.pre &&
	test_grep "CONSTRAINT accounts_balance_check CHECK" a.pre &&
	test_grep "^ALTER SEQUENCE app.orders_id_seq OWNED BY app.orders.id;" a.pre &&
	test_grep ! "CREATE INDEX" a.pre &&
	test_grep ! "CREATE TRIGGER" a.pre &&
	test_grep ! "FOREIGN KEY" a.pre &&
	test_grep "ADD CONSTRAINT big_balance CHECK .* NOT VALID" a.post &&
	test_grep "FOREIGN KEY (invoice_id)" a.post &&
	test_grep "^REFRESH MATERIALIZED VIEW app.order_counts;" a.post &&
	test_grep ! "REFRESH MATERIALIZED VIEW app.order_counts_big" a.post &&
	test_grep "setval('\''app.ticket_seq'\'', 160, true)" a.post &&
	test_grep "setval('\''app.accounts_id_seq'\'', 20, true)" a.post &&
	# a view that groups by a key needs the key before the data
	test_grep "ADD CONSTRAINT accounts_pkey PRIMARY KEY" a.pre &&
	test $(grep -n "ADD CONSTRAINT accounts_pkey" a.pre | cut -d: -f1) -lt \
		$(grep -n "CREATE VIEW app.account_orders" a.pre | cut -d: -f1) &&
	# dependency order: the domain check function, then the domain, then
	# the table using it; a view over a view
	test $(grep -n "FUNCTION app.is_valid_code" a.pre | head -1 | cut -d: -f1) -lt \
		$(grep -n "CREATE DOMAIN app.code" a.pre | cut -d: -f1) &&
	test $(grep -n "CREATE DOMAIN app.code" a.pre | cut -d: -f1) -lt \
		$(grep -n "CREATE TABLE app.accounts" a.pre | cut -d: -f1) &&
	test $(grep -n "CREATE VIEW app.rich " a.pre | cut -d: -f1) -lt \
		$(grep -n "CREATE VIEW app.rich_emails" a.pre | cut -d: -f1) &&
	# a default whose function reads the table: table, function, default
	test $(grep -n "^CREATE TABLE app.tickets" a.pre | cut -d: -f1) -lt \
		$(grep -n "FUNCTION app.next_ticket()" a.pre | head -1 | cut -d: -f1) &&
	test $(grep -n "FUNCTION app.next_ticket()" a.pre | head -1 | cut -d: -f1) -lt \
		$(grep -n "ALTER COLUMN id SET DEFAULT app.next_ticket()" a.pre | cut -d: -f1)
'

test_expect_success 'the tables whose rows are copied: leaves in their own column order, no generated column' '
	test_expect_code 0 cat_tool tables &&
	cut -f1 "$OUT" >names &&
	test_grep -x "app.measurements_2025" names &&
	test_grep -x "app.measurements_old_1" names &&
	test_grep -x "app.cache" names &&
	test_grep ! -x "app.measurements" names &&
	test_grep ! -x "app.measurements_old" names &&
	test_grep ! -x "app.rich" names &&
	test_grep ! -x "app.order_counts" names &&
	test_eq 24 "$(wc -l <names)" "tables" &&
	test_grep -x -F "app.measurements_2025	note, peaktemp, logdate, city_id	leaf	-1	0" "$OUT" &&
	test_grep -F "app.accounts	id, \"Email Address\", code, mood, color, balance, parent_id, ticket," "$OUT" &&
	test_grep ! "balance_cents" "$OUT" &&
	test_grep -x -F "app.hashed_1	id, k, t	leaf	-1	0" "$OUT"
'

test_expect_success 'the example application: up, then the same round trip' '
	"$PGBIN/createdb" "$DB_E" &&
	test_expect_code 0 env PGDATABASE="$DB_E" "$PGWARD" --migrations "$ROOT/migrations" up &&
	CAT_DB=$DB_E cat_tool pre >e.pre && CAT_DB=$DB_E cat_tool post >e.post &&
	test_grep "CREATE UNIQUE INDEX ix_prices_asset_date" e.post &&
	test_grep "^CREATE TABLE pgward.migrations" e.pre &&
	"$PGBIN/createdb" "$DB_E2" &&
	replay "$DB_E2" e &&
	dump_of "$DB_E" e.dump && dump_of "$DB_E2" e2.dump &&
	test_cmp e.dump e2.dump &&
	test_grep "ix_users_active" e2.dump
'

test_expect_success 'the drop order empties the schemas one object at a time' '
	test_expect_code 0 cat_tool drops && cp "$OUT" drops.sql &&
	test_grep ! -i "cascade" drops.sql &&
	test_grep ! -i "drop schema" drops.sql &&
	test_grep ! -i "drop extension" drops.sql &&
	test $(in_scope_objects "$DB_A") -gt 100 &&
	"$PGBIN/psql" -XAtq -v ON_ERROR_STOP=1 -f drops.sql >/dev/null &&
	test_eq 0 "$(in_scope_objects "$DB_A")" "objects left" &&
	test_eq 2 "$(psql_val "SELECT count(*) FROM pg_namespace
		WHERE nspname IN ('\''app'\'', '\''Mixed Schema'\'')")" "schemas kept"
'

test_expect_success 'replayed over the emptied schemas, the source is as it was' '
	replay "$DB_A" a &&
	dump_of "$DB_A" a2.dump &&
	test_cmp a.dump a2.dump
'

test_expect_success 'a view of another role in another schema over a table in scope is named' '
	"$PGBIN/createdb" "$DB_D" &&
	"$PGBIN/psql" -XAtq -v ON_ERROR_STOP=1 -d "$DB_D" >/dev/null <<-EOF &&
	CREATE ROLE $R_APP LOGIN;
	CREATE ROLE $R_OTHER;
	CREATE SCHEMA app AUTHORIZATION $R_APP;
	CREATE SCHEMA other AUTHORIZATION $R_OTHER;
	CREATE TABLE app.t (id integer PRIMARY KEY, v text);
	ALTER TABLE app.t OWNER TO $R_APP;
	GRANT USAGE ON SCHEMA app TO $R_OTHER;
	GRANT SELECT, REFERENCES ON app.t TO $R_OTHER;
	SET ROLE $R_OTHER;
	CREATE VIEW other.v AS SELECT id FROM app.t;
	CREATE TABLE other.t2 (t_id integer REFERENCES app.t);
	EOF
	CAT_DB=$DB_D PGUSER=$R_APP test_expect_code 0 cat_tool schemas &&
	test_eq app "$(cat "$OUT")" "scope of $R_APP" &&
	CAT_DB=$DB_D PGUSER=$R_APP test_expect_code 0 cat_tool outside &&
	test_grep -F "view other.v depends on table app.t" "$OUT" &&
	test_grep -F "table constraint t2_t_id_fkey on other.t2 depends on table app.t" "$OUT" &&
	"$PGBIN/psql" -XAtq -v ON_ERROR_STOP=1 -d "$DB_D" \
		-c "DROP VIEW other.v; DROP TABLE other.t2" &&
	CAT_DB=$DB_D PGUSER=$R_APP test_expect_code 0 cat_tool outside &&
	test ! -s "$OUT"
'

test_expect_success 'nothing outside depends on the torture schema read as a whole' '
	test_expect_code 0 cat_tool outside &&
	test ! -s "$OUT"
'

test_expect_success 'a publication in scope is refused by name; allowed, it is listed' '
	"$PGBIN/psql" -XAtq -v ON_ERROR_STOP=1 -d "$DB_D" \
		-c "CREATE PUBLICATION pub1 FOR TABLE app.t" >/dev/null 2>&1 &&
	CAT_DB=$DB_D PGUSER=$R_APP test_expect_code 2 cat_tool pre &&
	test_grep "the archive cannot carry: publication pub1" "$ERR" &&
	test_grep -e "--allow-unsupported" "$ERR" &&
	CAT_DB=$DB_D PGUSER=$R_APP test_expect_code 0 cat_tool unsupported --allow-unsupported &&
	test_grep -x "publication pub1" "$OUT" &&
	CAT_DB=$DB_D PGUSER=$R_APP test_expect_code 0 cat_tool pre --allow-unsupported &&
	test_grep "CREATE TABLE app.t (" "$OUT" &&
	test_grep ! -i "publication" "$OUT"
'

test_expect_success 'a foreign table in scope is refused by name; allowed, it is listed and left out' '
	"$PGBIN/psql" -XAtq -v ON_ERROR_STOP=1 -d "$DB_D" >/dev/null <<-EOF &&
	DROP PUBLICATION pub1;
	CREATE FOREIGN DATA WRAPPER dummy_fdw;
	CREATE SERVER dummy_srv FOREIGN DATA WRAPPER dummy_fdw;
	CREATE FOREIGN TABLE app.ft (a integer) SERVER dummy_srv;
	ALTER FOREIGN TABLE app.ft OWNER TO $R_APP;
	EOF
	CAT_DB=$DB_D PGUSER=$R_APP test_expect_code 2 cat_tool tables &&
	test_grep "the archive cannot carry: foreign table app.ft" "$ERR" &&
	CAT_DB=$DB_D PGUSER=$R_APP test_expect_code 0 cat_tool unsupported --allow-unsupported &&
	test_grep -x "foreign table app.ft" "$OUT" &&
	CAT_DB=$DB_D PGUSER=$R_APP test_expect_code 0 cat_tool tables --allow-unsupported &&
	test_eq app.t "$(cut -f1 "$OUT")" "tables" &&
	CAT_DB=$DB_D PGUSER=$R_APP test_expect_code 0 cat_tool drops --allow-unsupported &&
	test_grep ! "ft" "$OUT"
'

test_expect_success 'an extension in scope is a prerequisite: listed with its schema, its members left out' '
	"$PGBIN/psql" -XAtq -v ON_ERROR_STOP=1 -d "$DB_D" >/dev/null <<-EOF &&
	CREATE EXTENSION citext SCHEMA app;
	CREATE TABLE app.names (n app.citext PRIMARY KEY);
	ALTER TABLE app.names OWNER TO $R_APP;
	EOF
	CAT_DB=$DB_D PGUSER=$R_APP test_expect_code 0 cat_tool extensions --allow-unsupported &&
	test_grep -E "^citext [0-9.]+ app$" "$OUT" &&
	CAT_DB=$DB_D PGUSER=$R_APP test_expect_code 0 cat_tool unsupported --allow-unsupported &&
	test_grep ! citext "$OUT" &&
	CAT_DB=$DB_D PGUSER=$R_APP test_expect_code 0 cat_tool pre --allow-unsupported &&
	test_grep "n app.citext NOT NULL" "$OUT" &&
	test_grep ! -E "FUNCTION app.citext|CREATE TYPE app.citext|OPERATOR" "$OUT" &&
	CAT_DB=$DB_D PGUSER=$R_APP test_expect_code 0 cat_tool drops --allow-unsupported &&
	test_grep -x "DROP TABLE app.names;" "$OUT" &&
	test_grep ! -i citext "$OUT" &&
	CAT_DB=$DB_D PGUSER=$R_APP test_expect_code 0 cat_tool outside --allow-unsupported &&
	test_grep ! -i citext "$OUT"
'

test_expect_success 'a schema asked for must exist, and a system schema is refused' '
	CAT_DB=$DB_D PGUSER=$R_APP test_expect_code 1 cat_tool schemas --schema nosuch &&
	test_grep "schema '\''nosuch'\'' does not exist" "$ERR" &&
	CAT_DB=$DB_D PGUSER=$R_APP test_expect_code 0 cat_tool schemas --only \
		--schema nosuch --schema app --allow-unsupported &&
	test_eq app "$(cat "$OUT")" "only the listed ones that exist" &&
	CAT_DB=$DB_D PGUSER=$R_APP test_expect_code 2 cat_tool schemas --schema pg_catalog &&
	test_grep "pg_catalog" "$ERR"
'

test_done
