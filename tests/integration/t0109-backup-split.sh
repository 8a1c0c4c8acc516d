#!/bin/bash
# With --jobs, a large table is read by several readers in ctid page
# ranges; the archive still restores every row exactly once.
. "$(dirname "$0")/lib.sh"

test_expect_success 'set up: a 30 MB table, analyzed' '
	psql_run "CREATE TABLE big (id int PRIMARY KEY, v text);
		INSERT INTO big SELECT g, repeat(md5(g::text), 8) FROM generate_series(1, 100000) g;
		DELETE FROM big WHERE id % 7 = 0;
		ANALYZE big" &&
	test_le 2048 "$(psql_val "SELECT relpages FROM pg_class WHERE relname = \$\$big\$\$")" "pages"
'

test_expect_success 'backup --jobs 2 splits it: the reader log shows page ranges' '
	test_expect_code 0 "$PGWARD" -v backup --jobs 2 -o "$TEST_DIR/a.tar.zst" &&
	test_grep -E "big is read in [0-9]+ page ranges by 2 readers" "$ERR" &&
	test_expect_code 0 "$PGWARD" archive list --json "$TEST_DIR/a.tar.zst" &&
	json_check "$OUT" "[t for t in d[\"tables\"] if t[\"name\"] == \"big\"][0][\"rows\"] == 85715"
'

test_expect_success 'the ranges together hold every row once: restore --into is identical' '
	"$PGBIN/createdb" "${PGDATABASE}_into" &&
	test_atexit "\"$PGBIN/dropdb\" --if-exists \"${PGDATABASE}_into\"" &&
	test_expect_code 0 "$PGWARD" restore --yes --into "${PGDATABASE}_into" "$TEST_DIR/a.tar.zst" &&
	sum="SELECT count(*) || md5(string_agg(id || v, \$\$,\$\$ ORDER BY id)) FROM big" &&
	test_eq "$(psql_val "$sum")" "$(PGDATABASE=${PGDATABASE}_into psql_val "$sum")" "rows"
'

test_done
