#!/bin/bash
# `pgward schema dump` and `pgward verify`: every kind of difference
# between the live schema and schema.sql is found and described in one
# exact line; the same schema built in another order, dumped twice,
# restored from a backup or with extensions installed gives no difference;
# [verify] ignore and the roles rule; exit codes 0, 5 (difference, failed
# verify section) and 2 (no or bad schema.sql); --json; the expected-schema
# hash that `up` stores with the head row and `status` checks for drift.
. "$(dirname "$0")/lib.sh"

DB=$PGDATABASE
# cluster-wide names carry the database's name (scripts run in parallel)
APP=${DB}_app
OTHER=${DB}_other
COPY=${DB}_copy
test_atexit "'$PGBIN/psql' -XAtq -d postgres -c 'DROP ROLE IF EXISTS $APP, $OTHER'"
test_atexit "psql_run 'DROP OWNED BY $APP, $OTHER'"
for d in "$COPY" "${DB}_into" "${DB}_order_a" "${DB}_order_b"; do
	test_atexit "'$PGBIN/dropdb' --if-exists --force '$d'"
done
psql_run "CREATE ROLE $APP; CREATE ROLE $OTHER"

psql_db() { # psql_db DB: run stdin on DB, with :app and :other set
	"$PGBIN/psql" -XAtq -v ON_ERROR_STOP=1 -v app="$APP" -v other="$OTHER" -d "$1"
}

# on_copy SQL: $COPY is a fresh copy of the test database (schema, rows,
# history) with SQL run on it.
on_copy() {
	"$PGBIN/dropdb" --if-exists --force "$COPY" </dev/null &&
	"$PGBIN/createdb" -T "$DB" "$COPY" </dev/null &&
	PGDATABASE=$COPY psql_run "$1"
}

# verify_copy CODE [ARGS...]: pgward verify on $COPY must exit CODE.
verify_copy() {
	local code=$1
	shift
	test_expect_code "$code" pgward -d "dbname=$COPY" "$@" verify
}

# expect_lines LINE...: $OUT is the differences header, then exactly these.
expect_lines() {
	{
		echo "the live schema differs from $MIG/schema.sql (schema.sql -> live):"
		printf '%s\n' "$@"
	} >"$TEST_DIR/expect" &&
	test_cmp "$TEST_DIR/expect" "$OUT"
}

# expect_change SQL LINE...: on a copy changed by SQL, verify exits 5 and
# prints exactly these difference lines.
expect_change() {
	local sql=$1
	shift
	on_copy "$sql" &&
	verify_copy 5 &&
	expect_lines "$@"
}

head_hash() { # the schema_hash of the head row, "NULL" when none
	psql_val "SELECT coalesce(schema_hash, 'NULL') FROM pgward.migrations
		ORDER BY version DESC LIMIT 1"
}

write_migration 001_base.sql <<EOF
-- migrate:up
CREATE TYPE mood AS ENUM ('calm', 'nervous');
CREATE SEQUENCE ticket_seq;
CREATE TABLE users (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    email text NOT NULL UNIQUE,
    name text,
    m mood DEFAULT 'calm',
    CONSTRAINT users_email_check CHECK (position('@' in email) > 1)
);
CREATE TABLE prices (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id bigint NOT NULL REFERENCES users (id),
    close numeric(20,6) NOT NULL DEFAULT 0,
    at timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE prices IS 'daily closes';
CREATE TABLE notes (id int PRIMARY KEY, body text);
CREATE INDEX ix_prices_latest ON prices (user_id, at DESC) WHERE close > 0;
CREATE VIEW active_users AS SELECT id, email FROM users WHERE name IS NOT NULL;
CREATE FUNCTION price_floor(p numeric) RETURNS numeric
    LANGUAGE sql IMMUTABLE AS \$\$ SELECT floor(p) \$\$;
CREATE FUNCTION touch() RETURNS trigger LANGUAGE plpgsql
    AS \$\$ BEGIN NEW.at := now(); RETURN NEW; END \$\$;
CREATE TRIGGER prices_touch BEFORE INSERT ON prices
    FOR EACH ROW EXECUTE FUNCTION touch();
ALTER TABLE prices ENABLE ROW LEVEL SECURITY;
CREATE POLICY own_prices ON prices USING (user_id > 0);
GRANT SELECT, INSERT ON prices TO $APP;
-- migrate:down
DROP TABLE notes;
DROP VIEW active_users;
DROP TABLE prices;
DROP TABLE users;
DROP FUNCTION touch();
DROP FUNCTION price_floor(numeric);
DROP SEQUENCE ticket_seq;
DROP TYPE mood;
-- migrate:verify
SELECT count(*) = 0 FROM prices WHERE close < 0;
EOF

# ---------------------------------------------------------------------------
# schema dump, and verify before there is a schema.sql

test_expect_success 'up with no schema.sql stores no expected-schema hash' '
	test_expect_code 0 pgward up &&
	expect_history 1 &&
	test_eq NULL "$(head_hash)" "schema_hash of the head row"
'

test_expect_success 'verify without schema.sql: exit 2, one line naming the file, nothing on stdout' '
	test ! -e "$MIG/schema.sql" &&
	test_expect_code 2 pgward verify &&
	test_eq "pgward: error: cannot read $MIG/schema.sql: No such file or directory" \
		"$(head -n 1 "$ERR")" "first line of stderr" &&
	test_eq 1 "$(grep -c "^pgward: error:" "$ERR")" "error lines" &&
	test ! -s "$OUT" &&
	test_expect_code 2 pgward --json verify &&
	test ! -s "$OUT"
'

test_expect_success 'schema dump: header with server major and version, no owners, no pgward schema' '
	test_expect_code 0 pgward schema dump &&
	cp "$OUT" "$TEST_DIR/dump1" &&
	test_eq "-- pgward schema dump: PostgreSQL 15, migrations at 001" \
		"$(head -n 1 "$TEST_DIR/dump1")" "header line" &&
	test_grep "^CREATE TABLE public.prices ($" "$TEST_DIR/dump1" &&
	test_grep "^    close numeric(20,6) DEFAULT 0 NOT NULL,$" "$TEST_DIR/dump1" &&
	test_grep "^CREATE INDEX ix_prices_latest ON public.prices USING btree (user_id, at DESC) WHERE (close > (0)::numeric);$" "$TEST_DIR/dump1" &&
	test_grep "^GRANT INSERT, SELECT ON TABLE public.prices TO $APP;$" "$TEST_DIR/dump1" &&
	test_grep ! "OWNER TO" "$TEST_DIR/dump1" &&
	test_grep ! "setval" "$TEST_DIR/dump1" &&
	test_grep ! "pgward\." "$TEST_DIR/dump1" &&
	test_grep ! "pgward_journal" "$TEST_DIR/dump1" &&
	test_grep ! " TO postgres" "$TEST_DIR/dump1"
'

test_expect_success 'schema dump twice, and -o FILE: identical text' '
	test_expect_code 0 pgward schema dump &&
	test_cmp "$TEST_DIR/dump1" "$OUT" &&
	test_expect_code 0 pgward schema dump -o "$MIG/schema.sql" &&
	test_grep "wrote $MIG/schema.sql" "$ERR" &&
	test ! -s "$OUT" &&
	test_cmp "$TEST_DIR/dump1" "$MIG/schema.sql" &&
	test ! -e "$MIG/schema.sql.tmp" &&
	test_expect_code 0 pgward --json schema dump &&
	json_check "$OUT" "d[\"schema\"] == open(\"$MIG/schema.sql\").read()"
'

test_expect_success 'schema with no subcommand is a usage error' '
	test_expect_code 2 pgward schema &&
	test_grep "schema dump" "$ERR" &&
	test_expect_code 2 pgward schema dump extra
'

# ---------------------------------------------------------------------------
# the expected-schema hash and drift

test_expect_success 'up with schema.sql at the head version stores the expected-schema hash' '
	test_expect_code 0 pgward down &&
	expect_history "" &&
	test_expect_code 0 pgward up &&
	expect_history 1 &&
	hash=$(psql_val "SELECT schema_hash FROM pgward.migrations WHERE version = 1") &&
	test_eq 65 "$(printf "%s" "$hash" | head -n 1 | wc -c)" "first line of the hash, with its newline" &&
	printf "%s" "$hash" | head -n 1 | grep -q -E "^[0-9a-f]{64}$" &&
	test_eq "$APP" "$(printf "%s\n" "$hash" | sed -n 2p)" "role kept by the roles rule" &&
	test_expect_code 0 pgward schema dump &&
	test_cmp "$MIG/schema.sql" "$OUT"
'

test_expect_success 'status: no drift on the database as built' '
	test_expect_code 0 pgward status &&
	test_grep "^schema:     as expected at this version (no drift)$" "$OUT" &&
	test_expect_code 0 pgward --json status &&
	json_check "$OUT" "d[\"drift\"] == \"none\""
'

test_expect_success 'status: drift after a manual change, none after a grant to a role schema.sql never names' '
	on_copy "ALTER TABLE notes ADD COLUMN extra int" &&
	test_expect_code 0 pgward -d "dbname=$COPY" status &&
	test_grep "^schema:     DRIFT: " "$OUT" &&
	test_expect_code 0 pgward -d "dbname=$COPY" --json status &&
	json_check "$OUT" "d[\"drift\"] == \"found\"" &&
	on_copy "GRANT SELECT ON notes TO $OTHER" &&
	test_expect_code 0 pgward -d "dbname=$COPY" --json status &&
	json_check "$OUT" "d[\"drift\"] == \"none\"" &&
	test_expect_code 0 pgward -d "dbname=$COPY" status --no-drift &&
	test_grep ! "^schema:" "$OUT"
'

# ---------------------------------------------------------------------------
# verify: equal

test_expect_success 'verify on the database as built: exit 0, the last deploy'\''s verify section run' '
	test_expect_code 0 pgward verify &&
	test_eq "the live schema matches $MIG/schema.sql (1 verify section run)" "$(cat "$OUT")" &&
	test_expect_code 0 pgward --json verify &&
	json_check "$OUT" "d == {\"schema_file\": \"$MIG/schema.sql\", \"verify_sections\": 1, \"verify_failed\": None, \"equal\": True, \"differences\": []}" &&
	test_expect_code 0 pgward -q verify &&
	test ! -s "$OUT"
'

# ---------------------------------------------------------------------------
# verify: every kind of difference, found and described

test_expect_success 'table added' '
	expect_change "CREATE TABLE extra (id int, v text)" \
		"table extra: not in schema.sql"
'

test_expect_success 'table removed: named once, not column by column' '
	expect_change "DROP TABLE notes" \
		"table notes: missing"
'

test_expect_success 'column added' '
	expect_change "ALTER TABLE users ADD COLUMN nick text" \
		"column users.nick: not in schema.sql"
'

test_expect_success 'column removed' '
	expect_change "ALTER TABLE notes DROP COLUMN body" \
		"column notes.body: missing"
'

test_expect_success 'column type' '
	expect_change "ALTER TABLE prices ALTER close TYPE numeric(12,2)" \
		"column prices.close: numeric(20,6) -> numeric(12,2)"
'

test_expect_success 'column default' '
	expect_change "ALTER TABLE prices ALTER close SET DEFAULT 1" \
		"column prices.close: default 0 -> 1"
'

test_expect_success 'column nullability, both ways' '
	expect_change "ALTER TABLE users ALTER name SET NOT NULL" \
		"column users.name: nullable -> NOT NULL" &&
	expect_change "ALTER TABLE prices ALTER close DROP NOT NULL" \
		"column prices.close: NOT NULL -> nullable"
'

test_expect_success 'several changes of one column in one line' '
	expect_change "ALTER TABLE notes ALTER body TYPE varchar(80), ALTER body SET DEFAULT '\''x'\'', ALTER body SET NOT NULL" \
		"column notes.body: text -> character varying(80); default none -> '\''x'\''::character varying; nullable -> NOT NULL"
'

test_expect_success 'CHECK constraint changed: both definitions shown' '
	expect_change "ALTER TABLE users DROP CONSTRAINT users_email_check,
		ADD CONSTRAINT users_email_check CHECK (position('\''@'\'' in email) > 2)" \
		"constraint users.users_email_check: definition differs" \
		"    schema.sql:" \
		"        CONSTRAINT users_email_check CHECK ((POSITION(('\''@'\''::text) IN (email)) > 1))" \
		"    live:" \
		"        CONSTRAINT users_email_check CHECK ((POSITION(('\''@'\''::text) IN (email)) > 2))"
'

test_expect_success 'CHECK constraint dropped' '
	expect_change "ALTER TABLE users DROP CONSTRAINT users_email_check" \
		"constraint users.users_email_check: missing"
'

test_expect_success 'unique constraint dropped' '
	expect_change "ALTER TABLE users DROP CONSTRAINT users_email_key" \
		"constraint users.users_email_key: missing"
'

test_expect_success 'foreign key changed' '
	expect_change "ALTER TABLE prices DROP CONSTRAINT prices_user_id_fkey,
		ADD CONSTRAINT prices_user_id_fkey FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE" \
		"constraint prices.prices_user_id_fkey: definition differs" \
		"    schema.sql:" \
		"        ALTER TABLE ONLY public.prices ADD CONSTRAINT prices_user_id_fkey FOREIGN KEY (user_id) REFERENCES public.users(id)" \
		"    live:" \
		"        ALTER TABLE ONLY public.prices ADD CONSTRAINT prices_user_id_fkey FOREIGN KEY (user_id) REFERENCES public.users(id) ON DELETE CASCADE"
'

test_expect_success 'foreign key dropped' '
	expect_change "ALTER TABLE prices DROP CONSTRAINT prices_user_id_fkey" \
		"constraint prices.prices_user_id_fkey: missing"
'

test_expect_success 'index missing' '
	expect_change "DROP INDEX ix_prices_latest" \
		"index ix_prices_latest: missing"
'

test_expect_success 'index whose only change is its predicate' '
	expect_change "DROP INDEX ix_prices_latest;
		CREATE INDEX ix_prices_latest ON prices (user_id, at DESC) WHERE close > 10" \
		"index ix_prices_latest: predicate (close > (0)::numeric) -> (close > (10)::numeric)"
'

test_expect_success 'view body changed: both definitions shown' '
	expect_change "CREATE OR REPLACE VIEW active_users AS
		SELECT id, email FROM users WHERE name IS NULL" \
		"view active_users: definition differs" \
		"    schema.sql:" \
		"        CREATE VIEW public.active_users AS" \
		"         SELECT users.id," \
		"            users.email" \
		"           FROM public.users" \
		"          WHERE (users.name IS NOT NULL)" \
		"    live:" \
		"        CREATE VIEW public.active_users AS" \
		"         SELECT users.id," \
		"            users.email" \
		"           FROM public.users" \
		"          WHERE (users.name IS NULL)"
'

test_expect_success 'function body changed' '
	expect_change "CREATE OR REPLACE FUNCTION price_floor(p numeric) RETURNS numeric
		LANGUAGE sql IMMUTABLE AS \$\$ SELECT ceil(p) \$\$" \
		"function price_floor(p numeric): definition differs" \
		"    schema.sql:" \
		"        CREATE OR REPLACE FUNCTION public.price_floor(p numeric)" \
		"         RETURNS numeric" \
		"         LANGUAGE sql" \
		"         IMMUTABLE" \
		"        AS \$function\$ SELECT floor(p) \$function\$" \
		"    live:" \
		"        CREATE OR REPLACE FUNCTION public.price_floor(p numeric)" \
		"         RETURNS numeric" \
		"         LANGUAGE sql" \
		"         IMMUTABLE" \
		"        AS \$function\$ SELECT ceil(p) \$function\$"
'

test_expect_success 'trigger changed, and dropped' '
	expect_change "DROP TRIGGER prices_touch ON prices;
		CREATE TRIGGER prices_touch BEFORE UPDATE ON prices
		FOR EACH ROW EXECUTE FUNCTION touch()" \
		"trigger prices.prices_touch: definition differs" \
		"    schema.sql:" \
		"        CREATE TRIGGER prices_touch BEFORE INSERT ON public.prices FOR EACH ROW EXECUTE FUNCTION public.touch()" \
		"    live:" \
		"        CREATE TRIGGER prices_touch BEFORE UPDATE ON public.prices FOR EACH ROW EXECUTE FUNCTION public.touch()" &&
	expect_change "DROP TRIGGER prices_touch ON prices" \
		"trigger prices.prices_touch: missing"
'

test_expect_success 'enum value added' '
	expect_change "ALTER TYPE mood ADD VALUE '\''angry'\''" \
		"type mood: values ('\''calm'\'', '\''nervous'\'') -> ('\''calm'\'', '\''nervous'\'', '\''angry'\'')"
'

test_expect_success 'sequence changed (INCREMENT)' '
	expect_change "ALTER SEQUENCE ticket_seq INCREMENT 5" \
		"sequence ticket_seq: definition differs" \
		"    schema.sql:" \
		"        CREATE SEQUENCE public.ticket_seq" \
		"            AS bigint" \
		"            START WITH 1" \
		"            INCREMENT BY 1" \
		"            MINVALUE 1" \
		"            MAXVALUE 9223372036854775807" \
		"            CACHE 1" \
		"    live:" \
		"        CREATE SEQUENCE public.ticket_seq" \
		"            AS bigint" \
		"            START WITH 1" \
		"            INCREMENT BY 5" \
		"            MINVALUE 1" \
		"            MAXVALUE 9223372036854775807" \
		"            CACHE 1"
'

test_expect_success 'sequence values are not schema: no difference after nextval' '
	on_copy "SELECT nextval('\''ticket_seq'\''), nextval('\''ticket_seq'\'')" &&
	verify_copy 0
'

test_expect_success 'policy changed' '
	expect_change "DROP POLICY own_prices ON prices;
		CREATE POLICY own_prices ON prices USING (user_id > 1)" \
		"policy prices.own_prices: definition differs" \
		"    schema.sql:" \
		"        CREATE POLICY own_prices ON public.prices AS PERMISSIVE FOR ALL TO PUBLIC USING ((user_id > 0))" \
		"    live:" \
		"        CREATE POLICY own_prices ON public.prices AS PERMISSIVE FOR ALL TO PUBLIC USING ((user_id > 1))"
'

test_expect_success 'row level security turned off' '
	expect_change "ALTER TABLE prices DISABLE ROW LEVEL SECURITY" \
		"ALTER TABLE prices ENABLE ROW LEVEL SECURITY: missing"
'

test_expect_success 'comment changed' '
	expect_change "COMMENT ON TABLE prices IS '\''closes'\''" \
		"comment TABLE prices: '\''daily closes'\'' -> '\''closes'\''"
'

test_expect_success 'grant to a role schema.sql names: privileges changed, grant removed, grant added' '
	expect_change "GRANT UPDATE ON prices TO $APP" \
		"grant on table prices to $APP: INSERT, SELECT -> INSERT, SELECT, UPDATE" &&
	expect_change "REVOKE ALL ON prices FROM $APP" \
		"grant on table prices to $APP: missing" &&
	expect_change "GRANT SELECT ON users TO $APP" \
		"grant on table users to $APP: not in schema.sql"
'

test_expect_success 'grant to a role schema.sql never names: ignored by default' '
	on_copy "GRANT ALL ON prices TO $OTHER; GRANT SELECT ON users TO $OTHER;
		GRANT EXECUTE ON FUNCTION price_floor(numeric) TO $OTHER" &&
	verify_copy 0 &&
	test_eq "the live schema matches $MIG/schema.sql (1 verify section run)" "$(cat "$OUT")"
'

# ---------------------------------------------------------------------------
# verify: exit 5 for a failed verify section, --json, bad schema.sql

test_expect_success 'a verify section of the last deploy that no longer holds: exit 5, schema equal' '
	on_copy "INSERT INTO users (email) VALUES ('\''a@example.org'\'');
		INSERT INTO prices (user_id, close) SELECT id, -1 FROM users" &&
	verify_copy 5 &&
	printf "%s\n" "verify sections that failed:" \
		"001_base.sql: verify '\''SELECT count(*) = 0 FROM prices WHERE close < 0'\'' returned false" \
		"the live schema matches $MIG/schema.sql (1 verify section run)" >"$TEST_DIR/expect" &&
	test_cmp "$TEST_DIR/expect" "$OUT" &&
	verify_copy 5 --json &&
	json_check "$OUT" "d[\"equal\"] is True and d[\"differences\"] == [] and d[\"verify_sections\"] == 1 and \"001_base.sql\" in d[\"verify_failed\"] and \"returned false\" in d[\"verify_failed\"]"
'

test_expect_success '--json lists the differences: kind, name, what, and both definitions where shown' '
	on_copy "ALTER TABLE prices ALTER close TYPE numeric(12,2);
		DROP INDEX ix_prices_latest;
		CREATE OR REPLACE VIEW active_users AS SELECT id, email FROM users WHERE name IS NULL" &&
	verify_copy 5 --json &&
	json_check "$OUT" "d[\"schema_file\"] == \"$MIG/schema.sql\" and d[\"equal\"] is False and d[\"verify_failed\"] is None and d[\"verify_sections\"] == 1" &&
	json_check "$OUT" "[(c[\"kind\"], c[\"name\"], c[\"what\"]) for c in d[\"differences\"]] == [(\"column\", \"prices.close\", \"numeric(20,6) -> numeric(12,2)\"), (\"index\", \"ix_prices_latest\", \"missing\"), (\"view\", \"active_users\", \"definition differs\")]" &&
	json_check "$OUT" "\"expected\" not in d[\"differences\"][0] and \"live\" not in d[\"differences\"][1]" &&
	json_check "$OUT" "d[\"differences\"][2][\"expected\"].endswith(\"WHERE (users.name IS NOT NULL)\") and d[\"differences\"][2][\"live\"].endswith(\"WHERE (users.name IS NULL)\")"
'

test_expect_success 'a schema.sql that does not parse: exit 2 naming file and line, before connecting' '
	mkdir -p "$TEST_DIR/badmig" &&
	printf "%s\n" "-- pgward schema dump: PostgreSQL 15, migrations at 001" "" \
		"CREATE TABLE public.t (" "    id integer" ");" "" \
		"CREATE TABLE public.u (" "    id integer DEFAULT" ");" >"$TEST_DIR/badmig/schema.sql" &&
	test_expect_code 2 "$PGWARD" --migrations "$TEST_DIR/badmig" -d "host=/nonexistent dbname=x" verify &&
	test_grep "^pgward: error: $TEST_DIR/badmig/schema.sql:9: syntax error" "$ERR" &&
	test ! -s "$OUT"
'

# ---------------------------------------------------------------------------
# no false difference

test_expect_success 'the same schema built in another order dumps byte for byte the same' '
	for d in "${DB}_order_a" "${DB}_order_b"; do
		"$PGBIN/dropdb" --if-exists --force "$d" </dev/null &&
		"$PGBIN/createdb" "$d" </dev/null || return 1
	done &&
	psql_db "${DB}_order_a" <<-\EOF &&
	CREATE SCHEMA app;
	CREATE TYPE app.side AS ENUM ('\''buy'\'', '\''sell'\'');
	CREATE FUNCTION app.norm(t text) RETURNS text LANGUAGE sql IMMUTABLE AS $$ SELECT lower(t) $$;
	CREATE FUNCTION app.stamp() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END $$;
	CREATE TABLE app.accounts (
	    id int PRIMARY KEY,
	    name text NOT NULL UNIQUE,
	    kind app.side,
	    CONSTRAINT accounts_name_check CHECK (length(name) > 0),
	    CONSTRAINT accounts_id_check CHECK (id > 0)
	);
	CREATE TABLE app.trades (
	    id bigserial PRIMARY KEY,
	    account_id int NOT NULL REFERENCES app.accounts (id) ON DELETE CASCADE,
	    qty numeric(12,2) CHECK (qty <> 0),
	    note text DEFAULT app.norm('\''X'\'')
	);
	CREATE INDEX trades_account_ix ON app.trades (account_id);
	CREATE INDEX trades_qty_ix ON app.trades (qty) WHERE qty > 0;
	CREATE UNIQUE INDEX accounts_norm_ix ON app.accounts (app.norm(name));
	CREATE VIEW app.big_trades AS SELECT * FROM app.trades WHERE qty > 100;
	CREATE TRIGGER trades_stamp BEFORE INSERT ON app.trades FOR EACH ROW EXECUTE FUNCTION app.stamp();
	ALTER TABLE app.trades ENABLE ROW LEVEL SECURITY;
	CREATE POLICY p1 ON app.trades USING (qty > 0);
	COMMENT ON TABLE app.trades IS '\''fills'\'';
	GRANT USAGE ON SCHEMA app TO :"app";
	GRANT SELECT ON app.trades, app.accounts TO :"app";
	EOF
	psql_db "${DB}_order_b" <<-\EOF &&
	CREATE SCHEMA app;
	GRANT USAGE ON SCHEMA app TO :"app";
	CREATE FUNCTION app.stamp() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END $$;
	CREATE TABLE app.trades (id bigserial, account_id int NOT NULL, dropped_later int, qty numeric(12,2));
	ALTER TABLE app.trades DROP COLUMN dropped_later;
	CREATE FUNCTION app.norm(t text) RETURNS text LANGUAGE sql IMMUTABLE AS $$ SELECT lower(t) $$;
	ALTER TABLE app.trades ADD COLUMN note text DEFAULT app.norm('\''X'\'');
	CREATE TRIGGER trades_stamp BEFORE INSERT ON app.trades FOR EACH ROW EXECUTE FUNCTION app.stamp();
	CREATE INDEX trades_qty_ix ON app.trades (qty) WHERE qty > 0;
	CREATE TYPE app.side AS ENUM ('\''buy'\'', '\''sell'\'');
	CREATE TABLE app.accounts (id int, name text NOT NULL, kind app.side);
	CREATE UNIQUE INDEX accounts_norm_ix ON app.accounts (app.norm(name));
	CREATE POLICY p1 ON app.trades USING (qty > 0);
	ALTER TABLE app.accounts ADD CONSTRAINT accounts_id_check CHECK (id > 0);
	ALTER TABLE app.accounts ADD CONSTRAINT accounts_name_check CHECK (length(name) > 0);
	ALTER TABLE app.accounts ADD PRIMARY KEY (id);
	ALTER TABLE app.trades ADD CONSTRAINT trades_qty_check CHECK (qty <> 0);
	CREATE VIEW app.big_trades AS SELECT * FROM app.trades WHERE qty > 100;
	ALTER TABLE app.trades ADD PRIMARY KEY (id);
	ALTER TABLE app.trades ENABLE ROW LEVEL SECURITY;
	CREATE INDEX trades_account_ix ON app.trades (account_id);
	ALTER TABLE app.trades ADD FOREIGN KEY (account_id) REFERENCES app.accounts (id) ON DELETE CASCADE;
	ALTER TABLE app.accounts ADD UNIQUE (name);
	GRANT SELECT ON app.accounts, app.trades TO :"app";
	COMMENT ON TABLE app.trades IS '\''fills'\'';
	EOF
	test_expect_code 0 "$PGWARD" -d "dbname=${DB}_order_a" schema dump &&
	cp "$OUT" "$TEST_DIR/order_a.sql" &&
	test_grep "^CREATE TABLE app.trades ($" "$TEST_DIR/order_a.sql" &&
	test_grep "^CREATE POLICY p1 ON app.trades" "$TEST_DIR/order_a.sql" &&
	test_expect_code 0 "$PGWARD" -d "dbname=${DB}_order_b" schema dump &&
	test_cmp "$TEST_DIR/order_a.sql" "$OUT" &&
	test_grep ! "dropped" "$OUT"
'

test_expect_success 'verify of the other-order database against the first one'\''s dump: equal' '
	mkdir -p "$TEST_DIR/ordermig" &&
	cp "$TEST_DIR/order_a.sql" "$TEST_DIR/ordermig/schema.sql" &&
	test_expect_code 0 "$PGWARD" --migrations "$TEST_DIR/ordermig" -d "dbname=${DB}_order_b" verify &&
	test_eq "the live schema matches $TEST_DIR/ordermig/schema.sql (0 verify sections run)" "$(cat "$OUT")" &&
	PGDATABASE=${DB}_order_b psql_run "ALTER TABLE app.accounts ALTER kind SET NOT NULL" &&
	test_expect_code 5 "$PGWARD" --migrations "$TEST_DIR/ordermig" -d "dbname=${DB}_order_b" verify &&
	test_eq "column app.accounts.kind: nullable -> NOT NULL" "$(sed 1d "$OUT")"
'

test_expect_success 'a database restored from pgward backup with restore --into dumps the same' '
	test_expect_code 0 pgward backup -o "$TEST_DIR/base.tar.zst" &&
	"$PGBIN/dropdb" --if-exists --force "${DB}_into" </dev/null &&
	"$PGBIN/createdb" "${DB}_into" </dev/null &&
	test_expect_code 0 pgward restore "$TEST_DIR/base.tar.zst" --yes --into "${DB}_into" &&
	test_expect_code 0 pgward -d "dbname=${DB}_into" schema dump &&
	test_cmp "$MIG/schema.sql" "$OUT" &&
	test_expect_code 0 pgward -d "dbname=${DB}_into" verify
'

if [ "$(psql_val "SELECT count(*) FROM pg_available_extensions WHERE name IN ('pg_trgm', 'citext')")" = 2 ]; then
	test_set_prereq EXTENSIONS
fi

test_expect_success EXTENSIONS 'an extension'\''s own objects neither appear nor count' '
	on_copy "CREATE EXTENSION pg_trgm; CREATE EXTENSION citext" &&
	test "$(PGDATABASE=$COPY psql_val "SELECT count(*) FROM pg_extension WHERE extname IN ('\''pg_trgm'\'', '\''citext'\'')")" = 2 &&
	test_expect_code 0 pgward -d "dbname=$COPY" schema dump &&
	test_cmp "$MIG/schema.sql" "$OUT" &&
	test_grep ! -i -e trgm -e citext "$OUT" &&
	verify_copy 0 &&
	test_expect_code 0 pgward -d "dbname=$COPY" --json status &&
	json_check "$OUT" "d[\"drift\"] == \"none\""
'

test_expect_success EXTENSIONS 'what the schema makes of an extension still counts' '
	on_copy "CREATE EXTENSION pg_trgm;
		CREATE INDEX notes_body_trgm ON notes USING gin (body gin_trgm_ops)" &&
	verify_copy 5 &&
	expect_lines "index notes_body_trgm: not in schema.sql"
'

# ---------------------------------------------------------------------------
# [verify] ignore

printf '[verify]\nignore = index:public.ix_tmp*, table:public.scratch\n' >"$TEST_DIR/ignore.ini"
printf '[verify]\nignore = index:public.ix_tmp*\n' >"$TEST_DIR/ignore-index.ini"
printf '[verify]\nignore = table:public.notes\n' >"$TEST_DIR/ignore-notes.ini"

test_expect_success '[verify] ignore: index globs and a table with its columns, indexes, grants, comments' '
	on_copy "CREATE INDEX ix_tmp_a ON prices (at); CREATE INDEX ix_tmp_b ON users (name);
		CREATE TABLE scratch (id int PRIMARY KEY, v text);
		CREATE INDEX scratch_v ON scratch (v);
		COMMENT ON COLUMN scratch.v IS '\''x'\'';
		GRANT SELECT ON scratch TO $APP" &&
	verify_copy 5 &&
	expect_lines "index ix_tmp_a: not in schema.sql" \
		"index ix_tmp_b: not in schema.sql" \
		"table scratch: not in schema.sql" &&
	verify_copy 5 -C "$TEST_DIR/ignore-index.ini" &&
	expect_lines "table scratch: not in schema.sql" &&
	verify_copy 0 -C "$TEST_DIR/ignore.ini" &&
	test_eq "the live schema matches $MIG/schema.sql (1 verify section run)" "$(cat "$OUT")"
'

test_expect_success '[verify] ignore: a table pattern covers changes inside an existing table' '
	on_copy "ALTER TABLE notes ADD COLUMN extra int, ALTER body SET NOT NULL;
		CREATE INDEX notes_extra ON notes (extra);
		GRANT SELECT ON notes TO $APP;
		ALTER TABLE users ADD COLUMN nick text" &&
	verify_copy 5 &&
	expect_lines "column notes.body: nullable -> NOT NULL" \
		"column notes.extra: not in schema.sql" \
		"column users.nick: not in schema.sql" \
		"grant on table notes to $APP: not in schema.sql" \
		"index notes_extra: not in schema.sql" &&
	verify_copy 5 -C "$TEST_DIR/ignore-notes.ini" &&
	expect_lines "column users.nick: not in schema.sql"
'

test_expect_success '[verify] ignore also holds for the drift check of status' '
	on_copy "CREATE INDEX ix_tmp_a ON prices (at)" &&
	test_expect_code 0 pgward -d "dbname=$COPY" --json status &&
	json_check "$OUT" "d[\"drift\"] == \"found\"" &&
	test_expect_code 0 pgward -d "dbname=$COPY" -C "$TEST_DIR/ignore-index.ini" --json status &&
	json_check "$OUT" "d[\"drift\"] == \"none\""
'

# The sequence of a serial column belongs to its table.
test_expect_success '[verify] ignore: a table pattern covers its serial column'\''s sequence' '
	on_copy "CREATE TABLE scratch (id serial PRIMARY KEY, v text)" &&
	verify_copy 0 -C "$TEST_DIR/ignore.ini"
'

# ---------------------------------------------------------------------------
# the hash when schema.sql is not at the head version

write_migration 002_tags.sql <<'EOF'
-- migrate:up
CREATE TABLE tags (id int PRIMARY KEY, label text NOT NULL);
-- migrate:down
DROP TABLE tags;
EOF

test_expect_success 'up past the version schema.sql is at stores no hash; verify runs only the last deploy'\''s sections' '
	test_eq "-- pgward schema dump: PostgreSQL 15, migrations at 001" "$(head -n 1 "$MIG/schema.sql")" &&
	test_expect_code 0 pgward up &&
	expect_history 1,2 &&
	test_eq NULL "$(head_hash)" "schema_hash of the head row" &&
	test_expect_code 0 pgward status &&
	test_grep "^schema:     no expected-schema hash recorded" "$OUT" &&
	test_expect_code 5 pgward --json verify &&
	json_check "$OUT" "d[\"verify_sections\"] == 0 and [(c[\"kind\"], c[\"name\"], c[\"what\"]) for c in d[\"differences\"]] == [(\"table\", \"tags\", \"not in schema.sql\")]"
'

test_expect_success 'a schema.sql dumped at the new head: verify equal, and up stores the hash again' '
	hash1=$(psql_val "SELECT schema_hash FROM pgward.migrations WHERE version = 1") &&
	test -n "$hash1" &&
	test_expect_code 0 pgward schema dump -o "$MIG/schema.sql" &&
	test_eq "-- pgward schema dump: PostgreSQL 15, migrations at 002" "$(head -n 1 "$MIG/schema.sql")" &&
	test_expect_code 0 pgward verify &&
	test_expect_code 0 pgward down &&
	test_expect_code 0 pgward up &&
	expect_history 1,2 &&
	psql_val "SELECT schema_hash FROM pgward.migrations WHERE version = 2" | head -n 1 | grep -q -E "^[0-9a-f]{64}$" &&
	test_eq "$hash1" "$(psql_val "SELECT schema_hash FROM pgward.migrations WHERE version = 1")" "the hash 001 was applied with" &&
	test "$(psql_val "SELECT (SELECT schema_hash FROM pgward.migrations WHERE version = 1) <> (SELECT schema_hash FROM pgward.migrations WHERE version = 2)")" = t &&
	test_expect_code 0 pgward status &&
	test_grep "^schema:     as expected at this version (no drift)$" "$OUT"
'

test_done
