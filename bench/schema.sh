#!/usr/bin/env bash
# bench/schema.sh - pgward schema dump beside pg_dump --schema-only, and
# pgward check --ephemeral of the example migrations, in one run.
#
#   bench/schema.sh [--rounds N] [--tables N]
#
# Starts a throwaway PostgreSQL (tests/cluster.sh), creates TABLES tables
# (bigint primary key, three more columns) each with one more index, then
# runs ROUNDS interleaved rounds of:
#   dump   pgward schema dump         (canonical text, stdout to a file)
#          pg_dump --schema-only      (same database, to a file)
#   check  pgward check --ephemeral   (the example application's migrations:
#                                      initdb, start, every migration up, down,
#                                      up again, schema.sql compared)
#          initdb + pg_ctl start + stop, alone (the cluster's own share)
# and prints medians, minima, the pgward / pg_dump ratio and whether the
# targets hold: schema dump no slower than pg_dump --schema-only; check
# --ephemeral under 2.5 s.
#
# Environment: ROUNDS (5), TABLES (3000), PGWARD (build/rel/pgward),
# BENCH_NO_MAKE=1 (do not run make).
set -euo pipefail
export LC_ALL=C

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
ROUNDS=${ROUNDS:-5}
TABLES=${TABLES:-3000}
PGWARD=${PGWARD:-$root/build/rel/pgward}

while [ $# -gt 0 ]; do
	case "$1" in
	--rounds) ROUNDS=$2; shift 2 ;;
	--tables) TABLES=$2; shift 2 ;;
	-h | --help) sed -n '2,/^set -e/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
	*) echo "schema.sh: unknown argument '$1' (try --help)" >&2; exit 2 ;;
	esac
done
case "$ROUNDS$TABLES" in *[!0-9]*) echo "schema.sh: ROUNDS and TABLES must be numbers" >&2; exit 2 ;; esac

pgbin=
for d in /usr/lib/postgresql/15/bin /usr/lib/postgresql/*/bin; do
	if [ -x "$d/initdb" ]; then pgbin=$d; break; fi
done
if [ -z "$pgbin" ]; then
	echo "schema.sh: no PostgreSQL server binaries (apt-get install postgresql-15)" >&2
	exit 2
fi
[ "${BENCH_NO_MAKE:-0}" = 1 ] || make -s -C "$root" >/dev/null

work=$(mktemp -d "${TMPDIR:-/tmp}/pgward-bench-schema.XXXXXX")
chmod 755 "$work"
cluster=
cleanup() {
	[ -n "$cluster" ] && "$root/tests/cluster.sh" stop "$cluster" >/dev/null 2>&1
	rm -rf "$work"
}
trap cleanup EXIT
eval "$("$root/tests/cluster.sh" start)"
cluster=$PGWARD_TEST_CLUSTER

echo "# creating $TABLES tables with $((TABLES * 2)) indexes" >&2
"$pgbin/createdb" bench
"$pgbin/psql" -q -X -d bench -c "DO \$\$ BEGIN FOR i IN 1..$TABLES LOOP
	EXECUTE format('CREATE TABLE t%s (id bigint PRIMARY KEY, a text, b int DEFAULT 0 NOT NULL, c timestamptz)', i);
	EXECUTE format('CREATE INDEX t%s_b ON t%s (b)', i, i);
END LOOP; END \$\$" >/dev/null

# a run's wall time in ms
ms() {
	local s e
	s=$(date +%s%N)
	"$@" >/dev/null 2>&1 || { echo "schema.sh: failed: $*" >&2; exit 1; }
	e=$(date +%s%N)
	echo $(((e - s) / 1000000))
}

cluster_alone() {
	local d
	d=$(mktemp -d "$work/eph.XXXXXX")
	chown postgres "$d"
	runuser -u postgres -- "$pgbin/initdb" -D "$d/data" -A trust -E UTF8 --no-sync >/dev/null &&
		runuser -u postgres -- "$pgbin/pg_ctl" -D "$d/data" -w -s -l "$d/log" \
			-o "-c listen_addresses='' -c unix_socket_directories='$d' -F" start &&
		runuser -u postgres -- "$pgbin/pg_ctl" -D "$d/data" -m immediate -s stop
	rm -rf "$d"
}
# as a non-root user the cluster runs as that user
if [ "$(id -u)" != 0 ]; then
	cluster_alone() {
		local d
		d=$(mktemp -d "$work/eph.XXXXXX")
		"$pgbin/initdb" -D "$d/data" -A trust -E UTF8 --no-sync >/dev/null &&
			"$pgbin/pg_ctl" -D "$d/data" -w -s -l "$d/log" \
				-o "-c listen_addresses='' -c unix_socket_directories='$d' -F" start &&
			"$pgbin/pg_ctl" -D "$d/data" -m immediate -s stop
		rm -rf "$d"
	}
fi

declare -A t
for r in $(seq 1 "$ROUNDS"); do
	if [ $((r % 2)) = 1 ]; then
		t[pgward]+=" $(ms "$PGWARD" -d dbname=bench schema dump -o "$work/pgward.sql")"
		t[pg_dump]+=" $(ms "$pgbin/pg_dump" --schema-only -d bench -f "$work/pg_dump.sql")"
	else
		t[pg_dump]+=" $(ms "$pgbin/pg_dump" --schema-only -d bench -f "$work/pg_dump.sql")"
		t[pgward]+=" $(ms "$PGWARD" -d dbname=bench schema dump -o "$work/pgward.sql")"
	fi
	t[check]+=" $(ms "$PGWARD" --migrations "$root/migrations" check --ephemeral)"
	t[cluster]+=" $(ms cluster_alone)"
	echo "# round $r done" >&2
done

median() { tr ' ' '\n' | grep . | sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
minimum() { tr ' ' '\n' | grep . | sort -n | head -1; }

printf '%-44s %8s %8s\n' "($TABLES tables, $((TABLES * 2)) indexes; $ROUNDS rounds)" "median" "min"
for k in pgward pg_dump check cluster; do
	case $k in
	pgward) label="pgward schema dump" ;;
	pg_dump) label="pg_dump --schema-only" ;;
	check) label="pgward check --ephemeral (example app)" ;;
	cluster) label="  of which: initdb + start + stop alone" ;;
	esac
	printf '%-44s %6s ms %6s ms\n' "$label" "$(echo "${t[$k]}" | median)" "$(echo "${t[$k]}" | minimum)"
done
pw=$(echo "${t[pgward]}" | median)
pd=$(echo "${t[pg_dump]}" | median)
ck=$(echo "${t[check]}" | median)
printf 'sizes: pgward %s bytes, pg_dump %s bytes\n' "$(wc -c <"$work/pgward.sql")" "$(wc -c <"$work/pg_dump.sql")"
awk -v a="$pw" -v b="$pd" 'BEGIN { printf "ratio schema dump / pg_dump: %.2fx (target <= 1.00: %s)\n", a / b, a <= b ? "met" : "missed" }'
awk -v c="$ck" 'BEGIN { printf "check --ephemeral: %d ms (target < 2500 ms: %s)\n", c, c < 2500 ? "met" : "missed" }'
