#!/usr/bin/env bash
# bench/queries.sh - the example application's four read workloads
# (bench/queries/*.sql) at the release before its performance migrations
# (migrations up to 005) and at head, on 1M and 5M price rows.
#
#   bench/queries.sh [--rows "1000000 5000000"] [--runs N] [--explains N]
#
# For each size it builds the example database once at 005 (10,000 users,
# 2,000 assets with one price a day each, 50 transactions and 12 monthly
# allocations of 8 assets per user, 4 index series; generate_series, in
# the order an application writes them: prices one day of every asset at a
# time), copies it (CREATE DATABASE ... TEMPLATE), migrates the copy to
# head, and VACUUM ANALYZEs both.  Then, for each workload and both
# databases, with random parameters (the same ones for both):
#   client     RUNS runs of the query by bench/querytime.c: one
#              PQexecParams each (parse, plan, execute, every row received),
#              in chunks that alternate between 005 and head; p50 and p95
#   execution  EXPLAINS runs of EXPLAIN (ANALYZE, BUFFERS): p50 and p95 of
#              "Execution Time"
#   plan       every plan at head must name the indexes on the query file's
#              "-- indexes:" line, else FAIL
#   rows       005 and head return the same rows for 3 parameter sets
# A workload with a file NAME.005.sql runs that file at 005 (its form
# before the migration that changed it).  Prints a before/after table and
# whether head meets its targets at the largest size: execution p95 under
# 1 ms and client p95 under 2 ms.  Exits 1 on a FAIL.
#
# Environment: ROWS ("1000000 5000000"), RUNS (2000), EXPLAINS (50),
# PGWARD (build/rel/pgward), BENCH_NO_MAKE=1 (do not run make).
set -euo pipefail
export LC_ALL=C

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
ROWS=${ROWS:-1000000 5000000}
RUNS=${RUNS:-2000}
EXPLAINS=${EXPLAINS:-50}
PGWARD=${PGWARD:-$root/build/rel/pgward}
while [ $# -gt 0 ]; do
	case "$1" in
	--rows) ROWS=$2; shift 2 ;;
	--runs) RUNS=$2; shift 2 ;;
	--explains) EXPLAINS=$2; shift 2 ;;
	-h | --help) sed -n '2,/^set -e/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
	*) echo "queries.sh: unknown argument '$1' (try --help)" >&2; exit 2 ;;
	esac
done
case "${ROWS// /}$RUNS$EXPLAINS" in *[!0-9]* | '') echo "queries.sh: ROWS, RUNS and EXPLAINS must be numbers" >&2; exit 2 ;; esac
pgbin=/usr/lib/postgresql/15/bin
[ -x "$pgbin/initdb" ] || { echo "queries.sh: install postgresql-15" >&2; exit 2; }
[ "${BENCH_NO_MAKE:-0}" = 1 ] || make -s -C "$root" >/dev/null

USERS=10000
ASSETS=2000
for rows in $ROWS; do # a year of history at least
	[ "$rows" -ge $((366 * ASSETS)) ] || { echo "queries.sh: --rows $rows: need at least $((366 * ASSETS)) (a year of $ASSETS assets)" >&2; exit 2; }
done
CHUNK=250 # timed runs per chunk; chunks alternate between 005 and head
WARM=20   # untimed runs at the start of each chunk (a fresh connection)
workloads="portfolio_value price_history allocation_rebalancing performance_metrics"

work=$(mktemp -d "${TMPDIR:-/tmp}/pgward-bench-queries.XXXXXX")
chmod 755 "$work"
cluster=
cleanup() {
	[ -n "$cluster" ] && "$root/tests/cluster.sh" stop "$cluster" >/dev/null 2>&1
	rm -rf "$work"
}
trap cleanup EXIT
cc -O2 -o "$work/querytime" "$here/querytime.c" $(pkg-config --cflags --libs libpq)
eval "$("$root/tests/cluster.sh" start)"
cluster=$PGWARD_TEST_CLUSTER
psql() { "$pgbin/psql" -X -q -v ON_ERROR_STOP=1 "$@"; }
say() { echo "# $*" >&2; }
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }

# load DB DAYS: the example application's data, at migration 002.
load() {
	psql -d "$1" -v users=$USERS -v assets=$ASSETS -v days="$2" >/dev/null <<'SQL'
SELECT setseed(0.42);
INSERT INTO users (email, name, created_at, deleted_at)
SELECT 'user' || u || '@example.com', 'User ' || u,
       timestamptz '2015-01-01' + u * interval '1 hour',
       CASE WHEN u % 50 = 0 THEN timestamptz '2020-01-01' END
  FROM generate_series(1, :users) u;
INSERT INTO assets (symbol, name, asset_class, currency, exchange)
SELECT 'S' || a, 'Asset ' || a,
       (ARRAY['equity', 'bond', 'etf', 'commodity', 'crypto', 'cash'])[1 + a % 6],
       (ARRAY['USD', 'EUR', 'GBP'])[1 + a % 3],
       CASE WHEN a % 4 = 0 THEN NULL ELSE 'XNYS' END
  FROM generate_series(1, :assets) a;
-- one day of every asset after the other, as a daily import writes them;
-- is_latest on each asset's last day
INSERT INTO prices (asset_id, date, open, high, low, close, volume, is_latest, created_at)
SELECT a, date '2015-01-01' + d, round(p * 0.995, 6), round(p * 1.01, 6),
       round(p * 0.99, 6), round(p, 6), (1000 + random() * 1000000)::bigint,
       d = :days - 1, timestamptz '2015-01-01 18:00:00+00' + d * interval '1 day'
  FROM generate_series(0, :days * :assets - 1) i,
       LATERAL (SELECT i / :assets AS d, 1 + i % :assets AS a) k,
       LATERAL (SELECT (10 + a % 490 + 5 * sin(d / 17.0 + a) + random())::numeric AS p) x;
-- 50 transactions per user in 10 assets, in date order
INSERT INTO transactions (user_id, asset_id, transaction_date, kind, quantity, price, fee)
SELECT u, 1 + (u * 7 + (k % 10) * 131) % :assets,
       date '2015-01-01' + (k * :days / 50 + u % 7) % :days,
       CASE WHEN k % 5 = 4 THEN 'sell' WHEN k % 17 = 3 THEN 'dividend' ELSE 'buy' END,
       1 + (u + k) % 20, 10 + (u * k) % 400, round(((u + k) % 300) / 100.0, 2)
  FROM generate_series(0, 49) k, generate_series(1, :users) u
 ORDER BY 3, 1;
-- monthly weights of 8 assets per user; the last month's are active
INSERT INTO allocations (user_id, asset_id, date, weight, target_weight, is_active)
SELECT u, 1 + (u * 7 + j * 131) % :assets, (date '2015-01-01' + :days - 1) - (11 - m) * 30,
       round((0.125 + (((u + j + m) % 9) - 4) / 100.0)::numeric, 8), 0.125, m = 11
  FROM generate_series(0, 11) m, generate_series(1, :users) u, generate_series(0, 7) j
 ORDER BY 3, 1, 2;
-- four index series, a random walk each
INSERT INTO index_values (date, index_type, value, daily_return)
SELECT date '2015-01-01' + d, t, v, round(v / lag(v) OVER (PARTITION BY t ORDER BY d) - 1, 8)
  FROM (SELECT t, d, round((1000 * exp(sum(r) OVER (PARTITION BY t ORDER BY d)))::numeric, 8) AS v
          FROM (SELECT t, d, 0.0003 + 0.02 * (random() - 0.5) AS r
                  FROM unnest(ARRAY['equal_weight', 'market_cap', 'target_weight', 'benchmark']) t,
                       generate_series(0, :days - 1) d) r) v
 ORDER BY d, t;
SQL
}

# params DB WORKLOAD N DAYS: N tab-separated parameter lines, the same for
# every run of the script.
params() {
	local sql
	case "$2" in
	portfolio_value | allocation_rebalancing)
		sql="SELECT 1 + floor(random() * $USERS)::int FROM generate_series(1, $3)" ;;
	price_history)
		sql="SELECT 1 + floor(random() * $ASSETS)::int,
			date '2015-01-01' + floor(random() * ($4 - 364))::int FROM generate_series(1, $3)" ;;
	performance_metrics)
		sql="SELECT (ARRAY['equal_weight', 'market_cap', 'target_weight', 'benchmark'])[1 + floor(random() * 4)::int],
			d, d + 364 FROM (SELECT date '2015-01-01' + floor(random() * ($4 - 364))::int AS d
			FROM generate_series(1, $3)) x" ;;
	esac
	psql -d "$1" -At -F $'\t' -c "SELECT setseed(0.7)" -c "$sql" | tail -n +2
}

# query_file WORKLOAD STAGE: the SQL the workload runs at STAGE (005 or head)
query_file() {
	if [ "$2" = 005 ] && [ -f "$here/queries/$1.005.sql" ]; then
		echo "$here/queries/$1.005.sql"
	else
		echo "$here/queries/$1.sql"
	fi
}

# rows_of DB FILE PARAMFILE: the query's result for every parameter line
rows_of() {
	{
		printf 'PREPARE q AS\n'
		cat "$2"
		awk -F '\t' '{ printf "EXECUTE q("; for (i = 1; i <= NF; i++) printf("%s'\''%s'\''", (i > 1 ? ", " : ""), $i); print ");" }' "$3"
	} | psql -d "$1" -At
}

# pct P: the P-th percentile of the numbers on stdin (nearest rank)
pct() { sort -n | awk -v p="$1" '{ v[NR] = $1 } END { i = int(NR * p / 100 + 0.999999); if (i < 1) i = 1; printf "%.3f", v[i] }'; }
label() { awk -v n="$1" 'BEGIN { if (n % 1000000 == 0) printf "%dM", n / 1000000; else if (n % 1000 == 0) printf "%dk", n / 1000; else print n }'; }

results=$work/results.tsv # rows workload stage exec50 exec95 client50 client95 plan
: >"$results"
for rows in $ROWS; do
	days=$(((rows + ASSETS - 1) / ASSETS))
	b=q005_$rows h=qhead_$rows
	say "$(label "$rows"): the example application at 005 ($days days of $ASSETS assets' prices)"
	"$pgbin/createdb" "$b"
	"$PGWARD" -q -d "dbname=$b" --migrations "$root/migrations" up --to 2 >/dev/null
	s=$(date +%s)
	load "$b" "$days"
	"$PGWARD" -q -d "dbname=$b" --migrations "$root/migrations" up --to 5 >/dev/null
	say "$(label "$rows"): loaded and indexed in $(($(date +%s) - s)) s; a copy migrated to head"
	psql -d postgres -c "CREATE DATABASE $h TEMPLATE $b"
	s=$(date +%s%N)
	"$PGWARD" -q -d "dbname=$h" --migrations "$root/migrations" up >/dev/null
	up_ms=$((($(date +%s%N) - s) / 1000000))
	psql -d "$b" -c "VACUUM ANALYZE"
	psql -d "$h" -c "VACUUM ANALYZE"
	got=$(psql -d "$b" -At -c "SELECT count(*) FROM prices")
	[ "$got" = $((days * ASSETS)) ] || { echo "queries.sh: $got price rows, expected $((days * ASSETS))" >&2; exit 1; }
	head_v=$(psql -d "$h" -At -c "SELECT max(version::text::bigint) FROM pgward.migrations")
	psql -d "$h" -At -c "SELECT format('%s: head is %s, its migrations took %s ms; ix_prices_asset_date_close %s, index_performance %s rows; REFRESH MATERIALIZED VIEW CONCURRENTLY:', '$(label "$rows")', lpad('$head_v', 3, '0'), $up_ms,
		pg_size_pretty(pg_relation_size('ix_prices_asset_date_close')), (SELECT count(*) FROM index_performance))" | tr '\n' ' ' >&2
	s=$(date +%s%N)
	psql -d "$h" -c "REFRESH MATERIALIZED VIEW CONCURRENTLY index_performance"
	echo "$((($(date +%s%N) - s) / 1000000)) ms" >&2

	for w in $workloads; do
		n=$(((RUNS + CHUNK - 1) / CHUNK))
		params "$b" "$w" $((n * (CHUNK + WARM))) "$days" >"$work/$w.tsv"
		head -3 "$work/$w.tsv" >"$work/$w.3.tsv"
		# the same rows before and after
		rows_of "$b" "$(query_file "$w" 005)" "$work/$w.3.tsv" >"$work/$w.005.rows"
		rows_of "$h" "$(query_file "$w" head)" "$work/$w.3.tsv" >"$work/$w.head.rows"
		if ! cmp -s "$work/$w.005.rows" "$work/$w.head.rows"; then
			fail "$(label "$rows") $w: 005 and head return different rows"
		elif [ ! -s "$work/$w.005.rows" ]; then
			fail "$(label "$rows") $w: no rows"
		fi
		: >"$work/$w.005.us"
		: >"$work/$w.head.us"
		for c in $(seq 1 "$n"); do
			sed -n "$(((c - 1) * (CHUNK + WARM) + 1)),$((c * (CHUNK + WARM)))p" "$work/$w.tsv" >"$work/chunk.tsv"
			if [ $((c % 2)) = 1 ]; then order="005 head"; else order="head 005"; fi
			for st in $order; do
				if [ "$st" = 005 ]; then db=$b; else db=$h; fi
				"$work/querytime" -w "$WARM" "dbname=$db" "$(query_file "$w" "$st")" "$work/chunk.tsv" >>"$work/$w.$st.us"
			done
		done
		for st in 005 head; do
			if [ "$st" = 005 ]; then db=$b; else db=$h; fi
			head -"$EXPLAINS" "$work/$w.tsv" >"$work/explain.tsv"
			"$work/querytime" -e "dbname=$db" "$(query_file "$w" "$st")" "$work/explain.tsv" >"$work/$w.$st.plans"
			grep -o 'Execution Time: [0-9.]*' "$work/$w.$st.plans" | awk '{ print $3 }' >"$work/$w.$st.exec"
			# the indexes the plans use, and at head the check
			used=$({ grep -oE '(using|Bitmap Index Scan on) [a-z_0-9]+' "$work/$w.$st.plans" || true; } | awk '{ print $NF }' | sort -u | tr '\n' ' ')
			plan="${used% }"
			if [ "$st" = head ]; then
				want=$(sed -n 's/^-- indexes: //p' "$(query_file "$w" head)")
				for ix in $want; do
					miss=$(awk -v ix="$ix" 'BEGIN { RS = "--\n"; m = 0 } NF && index($0, " " ix " ") == 0 { m++ } END { print m }' "$work/$w.$st.plans")
					if [ "$miss" != 0 ]; then
						fail "$(label "$rows") $w: $miss of $EXPLAINS plans at head do not use $ix"
						plan="$plan (FAIL: not $ix)"
					fi
				done
			fi
			printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$rows" "$w" "$st" \
				"$(pct 50 <"$work/$w.$st.exec")" "$(pct 95 <"$work/$w.$st.exec")" \
				"$(awk '{ print $1 / 1000 }' "$work/$w.$st.us" | pct 50)" \
				"$(awk '{ print $1 / 1000 }' "$work/$w.$st.us" | pct 95)" "$plan" >>"$results"
		done
		say "$(label "$rows") $w done"
	done
	psql -d postgres -c "DROP DATABASE $h" -c "DROP DATABASE $b"
done

# the table: one line per size and workload
printf '\n(%s users, %s assets, %s timed runs and %s EXPLAIN ANALYZE runs per workload and stage; ms)\n\n' \
	"$USERS" "$ASSETS" "$RUNS" "$EXPLAINS"
printf '| rows | workload | execution p50 / p95 at 005 | at head | client p50 / p95 at 005 | at head | indexes at 005 | at head |\n'
printf '|---|---|---|---|---|---|---|---|\n'
awk -F '\t' -v OFS='' '
	function label(n) { return n % 1000000 == 0 ? n / 1000000 "M" : n }
	$3 == "005" { k = $1 SUBSEP $2; e5[k] = $4 " / " $5; c5[k] = $6 " / " $7; p5[k] = $8 == "" ? "none" : $8 }
	$3 == "head" { k = $1 SUBSEP $2
		print "| ", label($1), " | ", $2, " | ", e5[k], " | ", $4, " / ", $5, " | ", c5[k], " | ", $6, " / ", $7, " | ", p5[k], " | ", $8, " |" }
' "$results"
largest=$(echo $ROWS | tr ' ' '\n' | sort -n | tail -1)
echo
awk -F '\t' -v r="$largest" '
	$1 == r && $3 == "head" {
		ok = $5 < 1 && $7 < 2
		printf "target at %s rows, %s: execution p95 %.3f ms (< 1), client p95 %.3f ms (< 2): %s\n", r, $2, $5, $7, ok ? "met" : "missed"
	}' "$results"
if [ "$fails" -gt 0 ]; then
	echo "queries.sh: $fails FAIL(s)" >&2
	exit 1
fi
