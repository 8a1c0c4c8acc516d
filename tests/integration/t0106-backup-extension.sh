#!/bin/bash
# An extension installed in an application schema is a prerequisite that a
# restore into an empty database (pgward, or psql -f restore.sql) creates in
# that schema, before the tables that use its types.
. "$(dirname "$0")/lib.sh"

test_expect_success 'set up: citext in schema app, a table using it' '
	psql_run "CREATE SCHEMA app; CREATE EXTENSION citext SCHEMA app;
		CREATE TABLE app.u (e app.citext PRIMARY KEY);
		INSERT INTO app.u VALUES (\$\$Alice@Example.com\$\$)" &&
	test_expect_code 0 "$PGWARD" backup -o "$TEST_DIR/a.tar.zst"
'

test_expect_success 'the manifest records the extension with its schema' '
	tar --zstd -xOf "$TEST_DIR/a.tar.zst" manifest.json >"$TEST_DIR/m.json" &&
	json_check "$TEST_DIR/m.json" "any(e[\"name\"] == \"citext\" and e.get(\"schema\") == \"app\" for e in d[\"extensions\"])"
'

test_expect_success 'pgward restore --into an empty database creates it in app' '
	"$PGBIN/createdb" "${PGDATABASE}_into" &&
	test_atexit "\"$PGBIN/dropdb\" --if-exists \"${PGDATABASE}_into\"" &&
	test_expect_code 0 "$PGWARD" restore --yes --into "${PGDATABASE}_into" "$TEST_DIR/a.tar.zst" &&
	test_eq app "$(PGDATABASE=${PGDATABASE}_into psql_val "SELECT n.nspname FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace WHERE extname = \$\$citext\$\$")" "schema of citext" &&
	test_eq 1 "$(PGDATABASE=${PGDATABASE}_into psql_val "SET search_path = app, public; SELECT count(*) FROM app.u WHERE e = \$\$alice@example.com\$\$")" "case-insensitive match"
'

test_expect_success 'tar -x and psql -f restore.sql do the same' '
	mkdir "$TEST_DIR/x" && (cd "$TEST_DIR/x" && tar --zstd -xf ../a.tar.zst) &&
	"$PGBIN/createdb" "${PGDATABASE}_psql" &&
	test_atexit "\"$PGBIN/dropdb\" --if-exists \"${PGDATABASE}_psql\"" &&
	(cd "$TEST_DIR/x" && "$PGBIN/psql" -X -q -d "${PGDATABASE}_psql" -f restore.sql >/dev/null 2>&1) &&
	test_eq 1 "$(PGDATABASE=${PGDATABASE}_psql psql_val "SET search_path = app, public; SELECT count(*) FROM app.u WHERE e = \$\$ALICE@example.com\$\$")" "restored row"
'

test_done
