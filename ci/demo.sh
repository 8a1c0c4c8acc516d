#!/usr/bin/env bash
# demo.sh PGWARD - a guarded run of pgward on a throwaway PostgreSQL
# (what `make demo` runs, as `ci/demo.sh build/rel/pgward`).
#
# It applies the first release of the example application (migrations/) to
# a fresh database `portfolio`, loads a few hundred thousand rows, then runs
# `pgward deploy`: to head (backup, migrate, verify), a release whose schema
# verification fails before COMMIT (rolled back), and a destructive release
# whose smoke test fails after COMMIT (the table it touched restored from
# the deploy's backup, nothing lost).  Every step checks pgward's exit code and the database;
# any surprise fails the script.
set -euo pipefail

if [ $# -ne 1 ] || [ ! -x "$1" ]; then
	echo "usage: ci/demo.sh PATH/TO/pgward" >&2
	exit 2
fi
pgward_bin=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
root=$(cd "$(dirname "$0")/.." && pwd)

bindir=${PGBINDIR:-/usr/lib/postgresql/15/bin}
[ -x "$bindir/psql" ] || { echo "demo: no $bindir/psql (install postgresql-15)" >&2; exit 1; }

# Only what this script sets may steer pgward.
unset DATABASE_URL PGWARD_DIRECT_URL PGWARD_CONFIG PGWARD_MIGRATIONS \
	PGWARD_NOTIFY_URL PGWARD_NOTIFY_SECRET MIGRATION_TIMEOUT

# The cluster is created inside $work, so that cleanup finds it even when a
# signal arrives while tests/cluster.sh is still starting it.
work=''
cleanup() {
	rc=$?
	trap - EXIT INT TERM
	if [ -n "$work" ]; then
		for c in "$work"/pgward-pg.*; do
			if [ -d "$c" ]; then "$root/tests/cluster.sh" stop "$c" || true; fi
		done
		rm -rf "$work"
	fi
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

if [ -t 1 ]; then bold=$'\033[1m' off=$'\033[0m'; else bold='' off=''; fi
n=0
step() { n=$((n + 1)); printf '\n%s== %d. %s%s\n' "$bold" "$n" "$*" "$off"; }
fail() { printf '\ndemo: FAILED: %s\n' "$*" >&2; exit 1; }

# pgward WANT ARGS...: show and run pgward, fail unless it exits WANT.
pgward() {
	local want=$1 rc=0
	shift
	printf '$ pgward %s\n' "$*"
	"$pgward_bin" "$@" || rc=$?
	[ "$rc" -eq "$want" ] || fail "'pgward $*' exited $rc, expected $want"
	[ "$want" -eq 0 ] || echo "(exit $rc, as expected)"
}
psql() { "$bindir/psql" -X -q -v ON_ERROR_STOP=1 "$@"; }
# expect WHAT SQL VALUE: the query's single value must be VALUE.
expect() {
	local got
	got=$(psql -tA -c "$2") || fail "$1: query failed"
	[ "$got" = "$3" ] || fail "$1: got '$got', expected '$3'"
	echo "ok: $1 ($3)"
}
version_sql="SELECT coalesce(max(version::text::bigint), 0) FROM pgward.migrations"
# The example application's head version (its newest migration's number)
# and the one after it, which the demo's releases use.
head_v=$(ls "$root/migrations" | sed -n 's/^\([0-9][0-9]*\)_.*\.sql$/\1/p' | sort -n | tail -1)
[ -n "$head_v" ] || { echo "demo: no migrations in $root/migrations" >&2; exit 1; }
head_n=$((10#$head_v))
next_v=$(printf '%03d' $((head_n + 1)))

# pgward_log WANT ARGS...: as pgward, and keep its output (stdout and
# stderr) in $log for said().
log=''
pgward_log() {
	local want=$1 rc=0
	shift
	printf '$ pgward %s\n' "$*"
	"$pgward_bin" "$@" >"$log" 2>&1 || rc=$?
	cat "$log"
	[ "$rc" -eq "$want" ] || fail "'pgward $*' exited $rc, expected $want"
	[ "$want" -eq 0 ] || echo "(exit $rc, as expected)"
}
# said TEXT: the last pgward_log output must contain TEXT.
said() {
	grep -qF -- "$1" "$log" || fail "pgward did not say '$1'"
	echo "ok: pgward said '$1'"
}
# same WHAT SQL BEFORE: the query's value must still be BEFORE.
same() { expect "$1 unchanged" "$2" "$3"; }
val() { psql -tA -c "$1"; }

step "Start a throwaway PostgreSQL and create the database 'portfolio'"
work=$(mktemp -d "${TMPDIR:-/tmp}/pgward-demo.XXXXXX")
chmod 755 "$work" # the server may run as another user (postgres, under root)
eval "$(TMPDIR=$work "$root/tests/cluster.sh" start)"
"$bindir/createdb" portfolio
export PGDATABASE=portfolio
export PGWARD_MIGRATIONS=$root/migrations
cd "$work" # no stray pgward.ini or hooks/ from the caller's directory
log=$work/pgward.out
echo "server socket in $PGHOST, migrations in $PGWARD_MIGRATIONS"

step "Apply the first release only (001: the tables)"
pgward 0 up --to 1
expect "tables created" "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'" 6

step "The application writes data: 50 assets' prices, users, transactions"
# Deterministic data; 50 prices imported twice (a retried import with a
# corrected, newer row), which 002 removes.  100 days of prices now, and
# the rest of the history after the first deploy.
psql -1 <<'SQL'
INSERT INTO assets (symbol, name, asset_class, currency)
SELECT 'SYM' || i, 'Asset ' || i,
       (ARRAY['equity', 'bond', 'etf', 'commodity', 'crypto'])[1 + i % 5],
       CASE WHEN i % 3 = 0 THEN 'EUR' ELSE 'USD' END
  FROM generate_series(1, 50) i;
INSERT INTO prices (asset_id, date, open, high, low, close, volume, created_at)
SELECT a, date '2013-01-01' + d, c, c * 1.01, c * 0.99, c, 1000 * (a + d % 97),
       (date '2013-01-01' + d) + time '22:00'
  FROM generate_series(1, 50) a, generate_series(0, 99) d,
       LATERAL (SELECT round((50 + a + 10 * sin(d / 40.0 + a))::numeric, 4) AS c) x;
INSERT INTO prices (asset_id, date, close, volume, created_at)
SELECT 1 + i % 50, date '2013-01-01' + i, 77.7777, 1234,
       (date '2013-01-01' + i) + time '23:30'
  FROM generate_series(1, 50) i;
INSERT INTO users (email, name, deleted_at)
SELECT 'user' || i || '@example.com', 'User ' || i,
       CASE WHEN i % 50 = 0 THEN now() - interval '30 days' END
  FROM generate_series(1, 1000) i;
INSERT INTO allocations (user_id, asset_id, date, weight, target_weight)
SELECT u, 1 + (u + k) % 50, date '2023-12-31', 0.25, 0.25
  FROM generate_series(1, 1000) u, generate_series(0, 3) k;
INSERT INTO transactions (user_id, asset_id, transaction_date, kind, quantity, price, fee)
SELECT 1 + i % 1000, 1 + i % 50, date '2013-01-01' + i % 4000,
       CASE WHEN i % 4 = 0 THEN 'sell' ELSE 'buy' END,
       1 + i % 10, 50 + i % 100, round((i % 500) / 100.0, 2)
  FROM generate_series(1, 20000) i;
INSERT INTO index_values (date, index_type, value)
SELECT date '2013-01-01' + d, 'target_weight', 1000 + d
  FROM generate_series(0, 3999) d;
SQL
expect "price rows" "SELECT count(*) FROM prices" 5050
expect "duplicate (asset, date) groups" \
	"SELECT count(*) FROM (SELECT 1 FROM prices GROUP BY asset_id, date HAVING count(*) > 1) d" 50
expect "transactions" "SELECT count(*) FROM transactions" 20000

step "pgward deploy to head: backup, 002-$head_v, schema verified"
pgward 0 status
pgward_log 0 deploy
said "succeeded (001 -> $head_v)"
expect "version" "$version_sql" "$head_n"
expect "price rows left (duplicates removed)" "SELECT count(*) FROM prices" 5000
expect "a corrected duplicate kept the newest row" \
	"SELECT close FROM prices WHERE asset_id = 8 AND date = date '2013-01-01' + 7" 77.777700
expect "one is_latest row per asset" "SELECT count(*) FROM prices WHERE is_latest" 50
expect "index_performance (007): one row per index day" "SELECT count(*) FROM index_performance" 4000
expect "deploys with a backup" "SELECT count(*) FROM pgward_journal.deploys WHERE backup_uri IS NOT NULL" 1
ls backups
pgward 0 status
pgward 0 verify
echo "The importer back-fills the rest of the price history (3,900 days):"
psql -1 <<'SQL'
UPDATE prices SET is_latest = false WHERE is_latest;
INSERT INTO prices (asset_id, date, open, high, low, close, volume, is_latest, created_at)
SELECT a, date '2013-01-01' + d, c, c * 1.01, c * 0.99, c, 1000 * (a + d % 97), d = 3999,
       (date '2013-01-01' + d) + time '22:00'
  FROM generate_series(1, 50) a, generate_series(100, 3999) d,
       LATERAL (SELECT round((50 + a + 10 * sin(d / 40.0 + a))::numeric, 4) AS c) x;
SQL
expect "price rows" "SELECT count(*) FROM prices" 200000
psql -c "SELECT 'prices' AS tbl, count(*) FROM prices UNION ALL SELECT 'users', count(*) FROM users
	UNION ALL SELECT 'transactions', count(*) FROM transactions UNION ALL SELECT 'allocations', count(*) FROM allocations"

# The data's fingerprint, to compare after each failed deploy.
rows_sql="SELECT (SELECT count(*) FROM prices) || '/' || (SELECT count(*) FROM transactions) || '/' || (SELECT count(*) FROM users)"
fee_sql="SELECT sum(fee) FROM transactions"
# (jsonb: its keys sorted, so a column added back at the end compares equal)
sum_sql="SELECT md5(string_agg(to_jsonb(t)::text, ',' ORDER BY id)) FROM transactions t"
rows=$(val "$rows_sql") fees=$(val "$fee_sql") sum=$(val "$sum_sql")
echo "rows (prices/transactions/users) $rows, sum(fee) $fees, transactions md5 $sum"

step "A broken release: $next_v adds a column that release's schema.sql does not have"
cp -R "$root/migrations" broken
cat >"broken/${next_v}_transactions_tax.sql" <<'SQL'
-- migrate:up
ALTER TABLE transactions ADD COLUMN tax numeric(20, 6) NOT NULL DEFAULT 0;
-- migrate:down
ALTER TABLE transactions DROP COLUMN tax;
SQL
# schema.sql claims to be at $next_v but was never regenerated: no column tax.
sed -i "1s/migrations at $head_v/migrations at $next_v/" broken/schema.sql
grep -q "migrations at $next_v" broken/schema.sql || fail "broken/schema.sql: no header to edit"
head -1 broken/schema.sql
pgward_log 1 --migrations broken deploy
said "rolled back"
expect "column transactions.tax absent" \
	"SELECT count(*) FROM information_schema.columns WHERE table_name = 'transactions' AND column_name = 'tax'" 0
expect "version still" "$version_sql" "$head_n"
same "rows" "$rows_sql" "$rows"
expect "deploys with a backup (this one wrote one too)" "SELECT count(*) FROM pgward_journal.deploys WHERE backup_uri IS NOT NULL" 2
if grep -qiF "restore" "$log"; then fail "a rollback before COMMIT must not restore"; fi
echo "ok: no restore"

step "A destructive release: $next_v drops transactions.fee; the smoke test needs it"
cp -R "$root/migrations" destructive
cat >"destructive/${next_v}_drop_transaction_fee.sql" <<'SQL'
-- migrate:up
ALTER TABLE transactions DROP COLUMN fee;
-- migrate:down
ALTER TABLE transactions ADD COLUMN fee numeric(20, 6) NOT NULL DEFAULT 0
    CONSTRAINT transactions_fee_check CHECK (fee >= 0);
SQL
# its schema.sql is right (regenerated on a throwaway cluster): verify passes
pgward 0 --migrations destructive check --ephemeral --write
head -1 destructive/schema.sql
mkdir -m 755 hooks-smoke
cat >hooks-smoke/post-verify <<'SH'
#!/bin/sh
# the application's smoke test: the query its portfolio page runs
"$DEMO_PSQL" -X -q -tA -c "SELECT sum(quantity * price + fee) FROM transactions WHERE user_id = 1" >/dev/null || {
	echo "smoke test failed: the portfolio query does not run"
	exit 1
}
SH
chmod 755 hooks-smoke/post-verify
export DEMO_PSQL=$bindir/psql

echo "Without --writes-stopped pgward cannot prove a restore loses nothing:"
pgward_log 3 --migrations destructive deploy --hooks hooks-smoke
said "pgward restore"
archive=$(sed -n 's/.*run: pgward restore \([^ ]*\) --yes$/\1/p' "$log" | head -1)
[ -f "$archive" ] || fail "no restore command naming an archive printed"
expect "version (left for a human)" "$version_sql" $((head_n + 1))
expect "column transactions.fee (dropped)" \
	"SELECT count(*) FROM information_schema.columns WHERE table_name = 'transactions' AND column_name = 'fee'" 0
echo "The human runs what pgward printed:"
pgward 0 restore "$archive" --yes
expect "version" "$version_sql" "$head_n"
expect "index_performance restored with its rows" "SELECT count(*) FROM index_performance" 4000
same "rows" "$rows_sql" "$rows"
same "sum(fee)" "$fee_sql" "$fees"
same "transactions md5" "$sum_sql" "$sum"

echo "With writes stopped (maintenance mode), the deploy restores by itself:"
pgward_log 1 --migrations destructive deploy --hooks hooks-smoke --writes-stopped
said "the rows of the tables it touched from the deploy's backup"
said "rows of 1 table"
expect "version" "$version_sql" "$head_n"
expect "index_performance restored with its rows" "SELECT count(*) FROM index_performance" 4000
same "rows" "$rows_sql" "$rows"
same "sum(fee)" "$fee_sql" "$fees"
same "transactions md5" "$sum_sql" "$sum"
pgward 0 verify

step "The journal: one row per deploy; the history: one row per applied migration"
psql -c "SELECT id, status, stage FROM pgward_journal.deploys ORDER BY started_at"
pgward 0 history

printf '\n%sdemo: all steps behaved as expected%s\n' "$bold" "$off"
