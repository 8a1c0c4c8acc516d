#!/usr/bin/env bash
# bench/batch.sh - the example application's batched price clean-up
# (migrations/008_prices_cleanup.sql, batch:5000) at 5M price rows, with a
# concurrent writer.
#
#   bench/batch.sh [--rows N] [--assets N]
#
# Builds the example database at 007 (loaded at 002) (2,000 assets with one price a day
# each, in the order a daily import writes them), with the faults 008
# fixes: the oldest 10% of the days written by the first importer (open,
# high and low NULL), one bar in 200 with a high below its close, and 10%
# of the assets with is_latest also left on their previous day.  Then
# runs `pgward up --to 8` while a writer (pgbench, one client, 1,000
# transactions/s) does single-row UPDATEs of random price rows and INSERTs
# of new ones in a loop, each its own transaction, timed client-side.  Prints the rows the
# migration changed, its batches, rows/s, and the writer's longest and
# p99 latency during the migration and for 5 s before it (no migration).
#
# Environment: ROWS (5000000), ASSETS (2000), PGWARD (build/rel/pgward),
# BENCH_NO_MAKE=1 (do not run make).
set -euo pipefail
export LC_ALL=C

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
ROWS=${ROWS:-5000000}
ASSETS=${ASSETS:-2000}
PGWARD=${PGWARD:-$root/build/rel/pgward}
while [ $# -gt 0 ]; do
	case "$1" in
	--rows) ROWS=$2; shift 2 ;;
	--assets) ASSETS=$2; shift 2 ;;
	-h | --help) sed -n '2,/^set -e/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
	*) echo "batch.sh: unknown argument '$1' (try --help)" >&2; exit 2 ;;
	esac
done
case "$ROWS$ASSETS" in *[!0-9]* | '') echo "batch.sh: ROWS and ASSETS must be numbers" >&2; exit 2 ;; esac
pgbin=/usr/lib/postgresql/15/bin
[ -x "$pgbin/initdb" ] || { echo "batch.sh: install postgresql-15" >&2; exit 2; }
[ "${BENCH_NO_MAKE:-0}" = 1 ] || make -s -C "$root" >/dev/null
DAYS=$((ROWS / ASSETS))

work=$(mktemp -d "${TMPDIR:-/tmp}/pgward-bench-batch.XXXXXX")
chmod 755 "$work"
cluster=
cleanup() {
	touch "$work/stop"
	wait 2>/dev/null || true
	[ -n "$cluster" ] && "$root/tests/cluster.sh" stop "$cluster" >/dev/null 2>&1
	rm -rf "$work"
}
trap cleanup EXIT
eval "$("$root/tests/cluster.sh" start)"
cluster=$PGWARD_TEST_CLUSTER
"$pgbin/createdb" portfolio
export PGDATABASE=portfolio
psql() { "$pgbin/psql" -X -q -v ON_ERROR_STOP=1 "$@"; }
say() { echo "# $*" >&2; }

# loaded at 002, as the importer writes after the dedupe
say "example database at 002, $((DAYS * ASSETS)) price rows ($ASSETS assets x $DAYS days)"
"$PGWARD" --migrations "$root/migrations" -q up --to 2
psql -v assets="$ASSETS" -v days="$DAYS" >/dev/null <<'SQL'
SELECT setseed(0.42);
INSERT INTO assets (symbol, name, asset_class, currency)
SELECT 'S' || a, 'Asset ' || a,
       (ARRAY['equity', 'bond', 'etf', 'commodity', 'crypto', 'cash'])[1 + a % 6],
       (ARRAY['USD', 'EUR', 'GBP'])[1 + a % 3]
  FROM generate_series(1, :assets) a;
-- one day of every asset after the other; the first importer (the oldest
-- 10% of the days) wrote a close only; one bar in 200 has a high below
-- its close; is_latest on each asset's last day, and on the day before
-- too for one asset in ten
INSERT INTO prices (asset_id, date, open, high, low, close, volume, is_latest, created_at)
SELECT a, date '2015-01-01' + d,
       CASE WHEN d >= :days / 10 THEN round(p * 0.995, 6) END,
       CASE WHEN d < :days / 10 THEN NULL
            WHEN i % 200 = 7 THEN round(p * 0.999, 6) ELSE round(p * 1.01, 6) END,
       CASE WHEN d >= :days / 10 THEN round(p * 0.99, 6) END,
       round(p, 6), (1000 + random() * 1000000)::bigint,
       d = :days - 1 OR (d = :days - 2 AND a % 10 = 0),
       timestamptz '2015-01-01 18:00:00+00' + d * interval '1 day'
  FROM generate_series(0, :days * :assets - 1) i,
       LATERAL (SELECT i / :assets AS d, 1 + i % :assets AS a) k,
       LATERAL (SELECT (10 + a % 490 + 5 * sin(d / 17.0 + a) + random())::numeric AS p) x;
SQL
say "migrations 003-007 (indexes built concurrently)"
"$PGWARD" --migrations "$root/migrations" -q up --to 7
psql -c "VACUUM ANALYZE"
todo=$(psql -tA -c "SELECT count(*) FROM prices WHERE open IS NULL OR high IS NULL OR low IS NULL
	OR high < greatest(open, close) OR low > least(open, close)")
say "$todo bars to fix, $(psql -tA -c "SELECT count(*) FROM prices WHERE is_latest") is_latest rows for $ASSETS assets"

# the writer: one client at 1,000 transactions/s, a single-row UPDATE of
# a random price or an INSERT of a complete bar (of a day before the
# history: it creates nothing for 008 to fix), each its own transaction;
# pgbench logs each one's latency (us, third field).  Runs in 5 s slices
# until told to stop.
cat >"$work/update.sql" <<SQL
\set id random(1, $((DAYS * ASSETS)))
UPDATE prices SET volume = volume + 1 WHERE id = :id;
SQL
cat >"$work/insert.sql" <<SQL
\set a random(1, $ASSETS)
\set d random(1, 100000)
INSERT INTO prices (asset_id, date, open, high, low, close, volume)
VALUES (:a, date '2014-12-31' - :d, 10, 11, 9, 10, 100) ON CONFLICT DO NOTHING;
SQL
writer() { # writer DIR: 5 s slices until $work/stop exists (or one slice)
	mkdir -p "$1"
	while :; do
		(cd "$1" && "$pgbin/pgbench" -n -c 1 -R 1000 -T 5 -l -f "$work/update.sql" \
			-f "$work/insert.sql" >/dev/null 2>&1) || true
		[ "${2:-}" = once ] || [ -f "$work/stop" ] && break
	done
}
latency() { # DIR: longest and p99 latency in ms
	cat "$1"/pgbench_log.* | awk '{ print $3 }' | sort -n |
		awk '{ v[NR] = $1 } END { if (!NR) { print "- - 0"; exit }
			k = int(NR * 0.99); if (k < 1) k = 1
			printf "%.1f %.1f %d\n", v[NR] / 1000, v[k] / 1000, NR }'
}

say "the writer alone, 5 s"
writer "$work/alone" once
read -r alone_max alone_p99 alone_n <<<"$(latency "$work/alone")"

say "pgward up --to 8 with the writer running"
writer "$work/during" &
sleep 1
start=$(date +%s%3N)
rc=0
"$PGWARD" --migrations "$root/migrations" up --to 8 2>"$work/up.err" || rc=$?
end=$(date +%s%3N)
touch "$work/stop"
wait
grep -v "^batch " "$work/up.err" >&2 || true
[ "$rc" = 0 ] || { echo "batch.sh: pgward up exited $rc" >&2; exit 1; }
read -r during_max during_p99 during_n <<<"$(latency "$work/during")"
line=$(grep "applied 008_prices_cleanup.sql" "$work/up.err")
rows=$(sed -n 's/.*; \([0-9]*\) rows in.*/\1/p' <<<"$line")
batches=$(sed -n 's/.* rows in \([0-9]*\) batch.*/\1/p' <<<"$line")
left=$(psql -tA -c "SELECT count(*) FROM prices WHERE open IS NULL OR high IS NULL OR low IS NULL
	OR high < greatest(open, close) OR low > least(open, close)")
latest=$(psql -tA -c "SELECT count(*) = count(DISTINCT asset_id) FROM prices WHERE is_latest")

ms=$((end - start))
echo
echo "batched clean-up 008 at $((DAYS * ASSETS)) price rows (batch:5000)"
printf '%-44s %s\n' "rows changed" "$rows" \
	"batches" "$batches" \
	"pgward up --to 8 (ms)" "$ms" \
	"rows/s" "$(awk -v r="$rows" -v m="$ms" 'BEGIN { printf "%.0f", r / (m / 1000) }')" \
	"bars left to fix / one latest row per asset" "$left / $latest" \
	"writer alone: longest / p99 (ms), transactions" "$alone_max / $alone_p99, $alone_n" \
	"writer during 008: longest / p99 (ms), transactions" "$during_max / $during_p99, $during_n"
