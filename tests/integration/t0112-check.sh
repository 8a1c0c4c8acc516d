#!/bin/bash
# pgward check, the pull-request check: every migration applies, reverts to
# exactly the schema before it and re-applies the same; schema.sql is
# current; on a scratch database (-d) or a private cluster (--ephemeral).
. "$(dirname "$0")/lib.sh"

write_migration 001_accounts.sql <<'EOF2'
-- migrate:up
CREATE TABLE accounts (id bigint PRIMARY KEY, email text NOT NULL);
CREATE INDEX accounts_email ON accounts (email);
-- migrate:down
DROP TABLE accounts;
-- migrate:verify
SELECT count(*) = 0 FROM accounts WHERE email = 'x';
EOF2
write_migration 002_balance.sql <<'EOF2'
-- migrate:up
ALTER TABLE accounts ADD COLUMN balance numeric(12,2) NOT NULL DEFAULT 0;
-- migrate:down
ALTER TABLE accounts DROP COLUMN balance;
-- migrate:verify
SELECT count(*) >= 0 FROM accounts WHERE balance < 0;
EOF2

scratch_dbs() {
	psql_val "SELECT count(*) FROM pg_database WHERE datname LIKE 'pgward\_check\_%'"
}

test_expect_success 'without schema.sql: exit 5, it is missing' '
	test_expect_code 5 pgward check &&
	test_grep "schema.sql does not exist" "$OUT" &&
	test_grep "check --ephemeral --write" "$OUT"
'

test_expect_success '--write writes it; then the check passes; the scratch database is gone' '
	test_expect_code 0 pgward check --write &&
	test_grep "rewrote" "$OUT" &&
	test_grep "^-- pgward schema dump: PostgreSQL [0-9]*, migrations at 002" "$MIG/schema.sql" &&
	test_grep "balance numeric(12,2) DEFAULT 0 NOT NULL" "$MIG/schema.sql" &&
	test_expect_code 0 pgward check &&
	test_grep "check passed: 2 migrations" "$OUT" &&
	test_eq 0 "$(scratch_dbs)" "scratch databases left"
'

test_expect_success 'schema.sql is what schema dump of the migrated database prints' '
	test_expect_code 0 pgward up &&
	test_expect_code 0 pgward schema dump -o "$TEST_DIR/live.sql" &&
	test_cmp "$MIG/schema.sql" "$TEST_DIR/live.sql"
'

test_expect_success 'a verify query no index serves is warned about' '
	test_expect_code 0 pgward check &&
	test_grep "002_balance.sql:[0-9]*: verify query scans accounts sequentially" "$ERR" &&
	! test_grep "001_accounts.sql:[0-9]*: verify query scans" "$ERR"
'

test_expect_success 'a stale schema.sql: exit 5 with the difference' '
	cp "$MIG/schema.sql" "$TEST_DIR/schema.good" &&
	sed -i "s/numeric(12,2)/numeric(18,6)/" "$MIG/schema.sql" &&
	test_expect_code 5 pgward check &&
	test_grep "is stale" "$OUT" &&
	test_grep "column accounts.balance: numeric(18,6) -> numeric(12,2)" "$OUT" &&
	cp "$TEST_DIR/schema.good" "$MIG/schema.sql"
'

test_expect_success 'a down section that does not reverse its up: exit 5 naming it' '
	cp "$MIG/002_balance.sql" "$TEST_DIR/002.good" &&
	sed -i "s/^ALTER TABLE accounts DROP COLUMN balance;/SELECT 1;/" "$MIG/002_balance.sql" &&
	test_expect_code 5 pgward check &&
	test_grep "002_balance.sql: down does not give back the schema before its up" "$OUT" &&
	test_grep "column accounts.balance: left behind" "$OUT" &&
	cp "$TEST_DIR/002.good" "$MIG/002_balance.sql" &&
	test_eq 0 "$(scratch_dbs)" "scratch databases left"
'

test_expect_success 'a down that drops more than its up made: exit 5' '
	write_migration 003_index.sql <<-EOF2 &&
	-- migrate:up
	CREATE INDEX accounts_balance ON accounts (balance);
	-- migrate:down
	DROP INDEX accounts_balance;
	DROP INDEX accounts_email;
	EOF2
	test_expect_code 5 pgward check &&
	test_grep "003_index.sql: down does not give back" "$OUT" &&
	test_grep "index accounts_email: missing" "$OUT" &&
	rm "$MIG/003_index.sql"
'

test_expect_success 'a migration that fails: exit 5 naming file and statement' '
	write_migration 003_bad.sql <<-EOF2 &&
	-- migrate:up
	ALTER TABLE nowhere ADD COLUMN x int;
	-- migrate:down
	SELECT 1;
	EOF2
	test_expect_code 5 pgward check &&
	test_grep "003_bad.sql: up fails: .*nowhere" "$OUT" &&
	rm "$MIG/003_bad.sql" &&
	test_eq 0 "$(scratch_dbs)" "scratch databases left"
'

test_expect_success 'a malformed migration: exit 2 before anything starts' '
	printf -- "-- migrate:up\nCREATE TABLE (;\n" >"$MIG/003_broken.sql" &&
	test_expect_code 2 pgward check &&
	test_grep "003_broken.sql:2" "$ERR" &&
	rm "$MIG/003_broken.sql" &&
	test_eq 0 "$(scratch_dbs)" "scratch databases left"
'

test_expect_success '--ephemeral: the same check on a private cluster' '
	test_expect_code 0 pgward check --ephemeral &&
	test_grep "check passed: 2 migrations" "$OUT"
'

test_expect_success 'the global --ephemeral runs any command on a private cluster, then removes it' '
	mkdir -p "$TEST_DIR/tmp" && chmod 755 "$TEST_DIR/tmp" &&
	TMPDIR="$TEST_DIR/tmp" test_expect_code 0 pgward --ephemeral up &&
	test_grep "database now at version 002" "$OUT" &&
	TMPDIR="$TEST_DIR/tmp" test_expect_code 0 pgward --ephemeral status &&
	test_grep "pending:    2" "$OUT" &&
	test_eq "" "$(ls "$TEST_DIR/tmp")" "left in TMPDIR"
'

test_expect_success 'check --ephemeral interrupted by SIGTERM leaves no cluster behind' '
	mkdir -p "$TEST_DIR/tmp2" && chmod 755 "$TEST_DIR/tmp2" &&
	(TMPDIR="$TEST_DIR/tmp2" exec "$PGWARD" --migrations "$MIG" check --ephemeral >/dev/null 2>&1) &
	pid=$! &&
	for i in $(seq 1 200); do ls "$TEST_DIR/tmp2" | grep -q pgward-eph && break; sleep 0.05; done &&
	ls "$TEST_DIR/tmp2" | grep -q pgward-eph &&
	sleep 0.3 && kill -TERM $pid; wait $pid;
	for i in $(seq 1 50); do [ -z "$(ls "$TEST_DIR/tmp2")" ] && break; sleep 0.1; done &&
	test_eq "" "$(ls "$TEST_DIR/tmp2")" "left in TMPDIR"
'

test_expect_success '--json: one document saying what was found' '
	sed -i "s/numeric(12,2)/numeric(18,6)/" "$MIG/schema.sql" &&
	test_expect_code 5 pgward --json check &&
	python3 -c "import json,sys; d=json.load(open(sys.argv[1])); assert d[\"ok\"] is False and d[\"migrations\"] == 2 and \"numeric(18,6) -> numeric(12,2)\" in d[\"schema_diff\"], d" "$OUT" &&
	cp "$TEST_DIR/schema.good" "$MIG/schema.sql"
'

test_done
