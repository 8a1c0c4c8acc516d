#!/usr/bin/env bash
# demo.sh PGWARD - a guarded run of pgward on a throwaway PostgreSQL
# (what `make demo` runs, as `ci/demo.sh build/rel/pgward`).
#
# It applies the example application's migrations (migrations/) to a fresh
# database `portfolio`, then ships a release whose last migration fails and
# shows that nothing of it stays applied.  Every step checks pgward's exit
# code and a value or two in the database; any surprise fails the script.
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

step "Start a throwaway PostgreSQL and create the database 'portfolio'"
work=$(mktemp -d "${TMPDIR:-/tmp}/pgward-demo.XXXXXX")
chmod 755 "$work" # the server may run as another user (postgres, under root)
eval "$(TMPDIR=$work "$root/tests/cluster.sh" start)"
"$bindir/createdb" portfolio
export PGDATABASE=portfolio
export PGWARD_MIGRATIONS=$root/migrations
cd "$work" # no stray pgward.ini or hooks/ from the caller's directory
echo "server socket in $PGHOST, migrations in $PGWARD_MIGRATIONS"

step "A fresh database: nothing applied, every migration pending"
pgward 0 status

step "Apply the first release only (001: the tables)"
pgward 0 up --to 1
expect "tables created" "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'" 6

step "The application writes data, including duplicate prices from retried imports"
psql -1 <<'SQL'
INSERT INTO users (email, name, deleted_at) VALUES
    ('alice@example.com', 'Alice', NULL),
    ('bob@example.com',   'Bob',   now() - interval '30 days');
INSERT INTO assets (symbol, name, asset_class, currency) VALUES
    ('AAPL', 'Apple Inc.',              'equity', 'USD'),
    ('VWCE', 'Vanguard FTSE All-World', 'etf',    'EUR'),
    ('BTC',  'Bitcoin',                 'crypto', 'USD');
INSERT INTO prices (asset_id, date, close, volume, is_latest, created_at)
SELECT a.id, v.date::date, v.close, v.volume, v.is_latest, v.created_at::timestamptz
  FROM (VALUES
    ('AAPL', '2024-03-04', 175.10, 81000000, false, '2024-03-04 22:00+00'),
    ('AAPL', '2024-03-05', 170.00, 95000000, true,  '2024-03-05 22:00+00'),
    ('AAPL', '2024-03-06', 169.12, 68000000, false, '2024-03-06 22:00+00'),
    ('VWCE', '2024-03-04', 114.20,   310000, false, '2024-03-04 22:00+00'),
    ('VWCE', '2024-03-05', 113.86,   295000, false, '2024-03-05 22:00+00'),
    ('VWCE', '2024-03-06', 114.52,   301000, true,  '2024-03-06 22:00+00'),
    ('BTC',  '2024-03-04', 68300,      NULL, false, '2024-03-04 23:59+00'),
    ('BTC',  '2024-03-05', 63800,      NULL, false, '2024-03-05 23:59+00'),
    ('BTC',  '2024-03-06', 66100,      NULL, true,  '2024-03-06 23:59+00')
  ) AS v(symbol, date, close, volume, is_latest, created_at)
  JOIN assets a ON a.symbol = v.symbol;
-- retried imports: AAPL 2024-03-05 again with a corrected close (newer row),
-- BTC 2024-03-06 again with the same created_at (the higher id wins)
INSERT INTO prices (asset_id, date, close, volume, created_at)
SELECT id, '2024-03-05', 170.12, 95132000, '2024-03-05 23:30+00' FROM assets WHERE symbol = 'AAPL';
INSERT INTO prices (asset_id, date, close, is_latest, created_at)
SELECT id, '2024-03-06', 66150, true, '2024-03-06 23:59+00' FROM assets WHERE symbol = 'BTC';
INSERT INTO allocations (user_id, asset_id, date, weight, target_weight)
SELECT u.id, a.id, '2024-03-06', v.w, v.t
  FROM (VALUES ('AAPL', 0.45, 0.40), ('VWCE', 0.35, 0.40), ('BTC', 0.20, 0.20)) AS v(symbol, w, t)
  JOIN assets a ON a.symbol = v.symbol
  JOIN users u ON u.email = 'alice@example.com';
-- the last one moved shares in from another broker: no trade price
INSERT INTO transactions (user_id, asset_id, transaction_date, kind, quantity, price, fee)
SELECT u.id, a.id, v.d::date, v.kind, v.q, v.p, v.fee
  FROM (VALUES ('AAPL', '2024-03-04', 'buy',         10,   175.10, 1.00),
               ('BTC',  '2024-03-05', 'buy',         0.05, 63800,  2.50),
               ('VWCE', '2024-03-06', 'transfer_in', 40,   0,      0)) AS v(symbol, d, kind, q, p, fee)
  JOIN assets a ON a.symbol = v.symbol
  JOIN users u ON u.email = 'alice@example.com';
INSERT INTO index_values (date, index_type, value, daily_return) VALUES
    ('2024-03-04', 'target_weight', 1000.0,  NULL),
    ('2024-03-05', 'target_weight',  982.41, -0.01759),
    ('2024-03-06', 'target_weight',  991.07,  0.008815);
SQL
expect "price rows" "SELECT count(*) FROM prices" 11
expect "duplicate (asset, date) groups" \
	"SELECT count(*) FROM (SELECT 1 FROM prices GROUP BY asset_id, date HAVING count(*) > 1) d" 2

step "Apply the rest: 002 removes the duplicates, then 003-005 build the indexes concurrently"
pgward 0 up
expect "version" "$version_sql" 5
expect "price rows left" "SELECT count(*) FROM prices" 9
expect "AAPL 2024-03-05 kept the newest row" \
	"SELECT p.close FROM prices p JOIN assets a ON a.id = p.asset_id
	  WHERE a.symbol = 'AAPL' AND p.date = '2024-03-05'" 170.120000
expect "one is_latest row per asset, on its last day" \
	"SELECT count(*) FROM prices WHERE is_latest AND date = '2024-03-06'" 3
expect "unique index ix_prices_asset_date valid" \
	"SELECT indisvalid AND indisunique FROM pg_index WHERE indexrelid = 'ix_prices_asset_date'::regclass" t

step "Where the database is, and what was applied"
pgward 0 status
pgward 0 history

step "The live schema is the one the migrations promise (migrations/schema.sql)"
pgward 0 verify
echo "Someone adds an index by hand in production; verify and status catch it:"
psql -c "CREATE INDEX ix_prices_volume_by_hand ON prices (volume)"
pgward 5 verify
pgward 0 status
psql -c "DROP INDEX ix_prices_volume_by_hand"
pgward 0 verify

step "A new release (006-008) whose last migration fails on existing data"
release=release # in $work, the current directory
cp -R "$root/migrations" "$release"
cat >"$release/006_watchlists.sql" <<'SQL'
-- migrate:up
CREATE TABLE watchlists (
    id         bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    user_id    bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name       text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT watchlists_user_name_key UNIQUE (user_id, name)
);
-- migrate:down
DROP TABLE watchlists;
-- migrate:verify
SELECT to_regclass('public.watchlists') IS NOT NULL;
SQL
cat >"$release/007_watchlist_items.sql" <<'SQL'
-- migrate:up
CREATE TABLE watchlist_items (
    watchlist_id bigint NOT NULL REFERENCES watchlists (id) ON DELETE CASCADE,
    asset_id     bigint NOT NULL REFERENCES assets (id),
    added_at     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (watchlist_id, asset_id)
);
-- migrate:down
DROP TABLE watchlist_items;
-- migrate:verify
SELECT to_regclass('public.watchlist_items') IS NOT NULL;
SQL
cat >"$release/008_transactions_price_check.sql" <<'SQL'
-- migrate:up
ALTER TABLE transactions
    ADD CONSTRAINT transactions_price_positive CHECK (price > 0);
-- migrate:down
ALTER TABLE transactions DROP CONSTRAINT transactions_price_positive;
-- migrate:verify
SELECT count(*) = 0 FROM transactions WHERE price <= 0;
SQL
echo "008 adds CHECK (price > 0), but a transfer_in row has price 0"
pgward 0 --migrations "$release" up --dry-run

step "pgward up: the release fails and nothing of it is applied"
pgward 1 --migrations "$release" up
expect "version still" "$version_sql" 5
expect "table watchlists (006) absent" "SELECT to_regclass('public.watchlists') IS NULL" t
expect "table watchlist_items (007) absent" "SELECT to_regclass('public.watchlist_items') IS NULL" t
pgward 0 --migrations "$release" status

step "Fix 008 (only trades need a price) and apply the release"
cat >"$release/008_transactions_price_check.sql" <<'SQL'
-- migrate:up
ALTER TABLE transactions
    ADD CONSTRAINT transactions_trade_price_check CHECK (price > 0 OR kind NOT IN ('buy', 'sell'));
-- migrate:down
ALTER TABLE transactions DROP CONSTRAINT transactions_trade_price_check;
-- migrate:verify
SELECT count(*) = 0 FROM transactions WHERE kind IN ('buy', 'sell') AND price <= 0;
SQL
pgward 0 --migrations "$release" up
expect "version" "$version_sql" 8
expect "table watchlists present" "SELECT to_regclass('public.watchlists') IS NOT NULL" t

step "pgward down: revert the release (3 migrations) in one transaction"
pgward 0 --migrations "$release" down --steps 3
expect "version" "$version_sql" 5
expect "table watchlists gone" "SELECT to_regclass('public.watchlists') IS NULL" t
expect "sample data intact" "SELECT count(*) FROM transactions" 3

step "pgward up again, then once more: nothing left to do"
pgward 0 --migrations "$release" up
expect "version" "$version_sql" 8
pgward 0 --migrations "$release" up
pgward 0 --migrations "$release" history

step "pgward backup: one consistent archive of the database"
pgward 0 backup -o "$work/portfolio.tar.zst"
pgward 0 archive list "$work/portfolio.tar.zst"

step "A destructive mistake: a migration-like change deletes every transaction"
psql -d portfolio -c "DELETE FROM transactions; DROP TABLE watchlist_items;"
expect "transactions left" "SELECT count(*) FROM transactions" 0

step "pgward restore: the archive comes back in one transaction"
pgward 0 restore --yes "$work/portfolio.tar.zst"
expect "transactions back" "SELECT count(*) FROM transactions" 3
expect "table watchlist_items back" "SELECT to_regclass('public.watchlist_items') IS NOT NULL" t
expect "version" "$version_sql" 8

printf '\n%sdemo: all steps behaved as expected%s\n' "$bold" "$off"
