#!/usr/bin/env bash
# bench/deploy.sh - pgward deploy of a release (a column with a default, an
# index built concurrently) of the example application on a database with
# ROWS price rows: the whole guarded deploy against the sum of its
# parts run alone (pgward backup, pgward up, pgward verify), and the
# longest wait a concurrent reader and a concurrent writer saw during it.
#
#   bench/deploy.sh [--rows N] [--rounds N]
#
# Every run starts from a copy (CREATE DATABASE ... TEMPLATE) of one
# database at head (migrations/) with ROWS prices.  The reader and writer
# are pgbench clients (one each) with per-transaction logs; their longest
# latency during the deploy is compared with the lock timeout (1 s).
#
# Environment: ROWS (1000000), ROUNDS (3), PGWARD (build/rel/pgward),
# BENCH_NO_MAKE=1 (do not run make).
set -euo pipefail
export LC_ALL=C

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
ROWS=${ROWS:-1000000}
ROUNDS=${ROUNDS:-3}
LOAD_S=${LOAD_S:-20} # how long the reader and writer run: longer than a deploy
PGWARD=${PGWARD:-$root/build/rel/pgward}
while [ $# -gt 0 ]; do
	case "$1" in
	--rows) ROWS=$2; shift 2 ;;
	--rounds) ROUNDS=$2; shift 2 ;;
	-h | --help) sed -n '2,/^set -e/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
	*) echo "deploy.sh: unknown argument '$1' (try --help)" >&2; exit 2 ;;
	esac
done
case "$ROWS$ROUNDS" in *[!0-9]*) echo "deploy.sh: ROWS and ROUNDS must be numbers" >&2; exit 2 ;; esac
pgbin=/usr/lib/postgresql/15/bin
[ -x "$pgbin/initdb" ] || { echo "deploy.sh: install postgresql-15" >&2; exit 2; }
command -v pgbench >/dev/null || { echo "deploy.sh: pgbench missing (postgresql-contrib / postgresql-15)" >&2; exit 2; }
[ "${BENCH_NO_MAKE:-0}" = 1 ] || make -s -C "$root" >/dev/null

work=$(mktemp -d "${TMPDIR:-/tmp}/pgward-bench-deploy.XXXXXX")
chmod 755 "$work"
cluster=
cleanup() {
	[ -n "$cluster" ] && "$root/tests/cluster.sh" stop "$cluster" >/dev/null 2>&1
	rm -rf "$work"
}
trap cleanup EXIT
eval "$("$root/tests/cluster.sh" start)"
cluster=$PGWARD_TEST_CLUSTER
psql() { "$pgbin/psql" -X -q -v ON_ERROR_STOP=1 "$@"; }

# the release's two migrations come after the example application's head
head_n=$(ls "$root/migrations" | sed -n 's/^\([0-9][0-9]*\)_.*\.sql$/\1/p' | sort -n | tail -1)
head_n=$((10#$head_n))
r1=$(printf '%03d' $((head_n + 1))) r2=$(printf '%03d' $((head_n + 2)))
echo "# the example application at $(printf '%03d' "$head_n") with $ROWS prices, and a release $r1-$r2" >&2
"$pgbin/createdb" base
"$PGWARD" -q -d dbname=base --migrations "$root/migrations" up >/dev/null
assets=100
days=$(((ROWS + assets - 1) / assets))
psql -d base -c "INSERT INTO assets (symbol, name, asset_class, currency)
	SELECT 'A' || g, 'Asset ' || g, 'equity', 'USD' FROM generate_series(1, $assets) g" \
	-c "INSERT INTO prices (asset_id, date, open, high, low, close, volume)
	SELECT a.id, date '2000-01-01' + d, 10 + d % 7, 12 + d % 7, 9 + d % 7, 11 + d % 7, 1000 + d
	FROM assets a, generate_series(1, $days) d" \
	-c "INSERT INTO users (email, name) SELECT 'u' || g || '@example.com', 'U' || g FROM generate_series(1, 1000) g" \
	-c "VACUUM ANALYZE" >/dev/null
mig=$work/migrations
cp -R "$root/migrations" "$mig"
# the release: a column with a default and an index built concurrently
cat >"$mig/${r1}_prices_source.sql" <<'EOF2'
-- migrate:up
ALTER TABLE prices ADD COLUMN source text NOT NULL DEFAULT 'feed';
-- migrate:down
ALTER TABLE prices DROP COLUMN source;
EOF2
cat >"$mig/${r2}_prices_volume_index.sql" <<'EOF2'
-- migrate:up transaction:false
CREATE INDEX CONCURRENTLY IF NOT EXISTS ix_prices_volume ON prices (volume);
-- migrate:down transaction:false
DROP INDEX CONCURRENTLY IF EXISTS ix_prices_volume;
EOF2

cat >"$work/read.sql" <<'EOF2'
\set a random(1, 100)
SELECT close FROM prices WHERE asset_id = :a ORDER BY date DESC LIMIT 1;
EOF2
cat >"$work/write.sql" <<'EOF2'
\set u random(1, 1000)
INSERT INTO transactions (user_id, asset_id, transaction_date, kind, quantity, price) VALUES (:u, 1, current_date, 'buy', 1, 10);
EOF2

ms() { local s e; s=$(date +%s%N); "$@" >/dev/null 2>&1 || { echo "deploy.sh: failed: $*" >&2; exit 1; }; e=$(date +%s%N); echo $(((e - s) / 1000000)); }
# the longest latency (ms) of a pgbench log: its third column is in us
maxlat() { { cat "$@" 2>/dev/null || true; } | awk '$3 > m { m = $3 } END { printf "%d", m / 1000 }'; }

declare -A t
for r in $(seq 1 "$ROUNDS"); do
	psql -d postgres -c "CREATE DATABASE d$r TEMPLATE base" -c "CREATE DATABASE p$r TEMPLATE base" \
		-c "CREATE DATABASE q$r TEMPLATE base" >/dev/null
	# the parts alone, on their own copy
	t[backup]+=" $(ms "$PGWARD" -q -d dbname=p$r --backup-dir "$work/bk-p$r" backup)"
	t[up]+=" $(ms "$PGWARD" -q -d dbname=p$r --migrations "$mig" up)"
	# schema.sql at the release (untimed), as the release would carry it
	"$PGWARD" -q -d dbname=p$r --migrations "$mig" schema dump -o "$mig/schema.sql" 2>/dev/null
	t[verify]+=" $(ms "$PGWARD" -q -d dbname=p$r --migrations "$mig" verify)"
	# the deploy under the same conditions as its parts (no load), for
	# the pipeline's own overhead; run where no ./hooks dir is found
	t[quiet]+=" $(cd "$work" && ms "$PGWARD" -q -d dbname=q$r --migrations "$mig" --backup-dir "$work/bk-q$r" deploy)"
	# the deploy, with a reader and a writer
	(cd "$work" && pgbench -n -c 1 -T "$LOAD_S" -f read.sql --log --log-prefix="r$r" d$r >/dev/null 2>&1) &
	rp=$!
	(cd "$work" && pgbench -n -c 1 -T "$LOAD_S" -f write.sql --log --log-prefix="w$r" d$r >/dev/null 2>&1) &
	wp=$!
	sleep 1
	t[deploy]+=" $(cd "$work" && ms "$PGWARD" -q -d dbname=d$r --migrations "$mig" --backup-dir "$work/bk-d$r" deploy)"
	# the clients run LOAD_S seconds, longer than the deploy
	wait $rp $wp || true
	t[reader]+=" $(maxlat "$work"/r$r.*)"
	t[writer]+=" $(maxlat "$work"/w$r.*)"
	echo "# round $r done" >&2
done

median() { tr ' ' '\n' | grep . | sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
b=$(echo "${t[backup]}" | median); u=$(echo "${t[up]}" | median); v=$(echo "${t[verify]}" | median)
d=$(echo "${t[deploy]}" | median); q=$(echo "${t[quiet]}" | median)
printf '(%s prices, %s rounds, medians)\n' "$ROWS" "$ROUNDS"
printf '%-44s %7s ms\n' "pgward backup alone" "$b" "pgward up alone" "$u" "pgward verify alone" "$v" \
	"sum of the parts" "$((b + u + v))" "pgward deploy" "$q" \
	"pgward deploy with a reader and a writer" "$d"
awk -v d="$q" -v s="$((b + u + v))" 'BEGIN { printf "pipeline overhead: %+.1f%% (target under 10%%: %s)\n", (d / s - 1) * 100, d <= s * 1.1 ? "met" : "missed" }'
printf 'longest wait during the deploy: reader %s ms, writer %s ms (target under the 1000 ms lock timeout)\n' \
	"$(echo "${t[reader]}" | median)" "$(echo "${t[writer]}" | median)"
