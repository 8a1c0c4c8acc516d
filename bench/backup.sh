#!/usr/bin/env bash
# bench/backup.sh - pgward backup and restore side by side with pg_dump and
# pg_restore, on the example application's `prices` table, in one run.
#
#   bench/backup.sh [--rounds N] [--sizes "1000000 5000000"] [--fast] [--compress SPEC]
#                   [--out DIR] [--strict]
#
# Starts a throwaway PostgreSQL (tests/cluster.sh), creates the example
# application (migrations/ of the repo) once per size with SIZE rows in
# `prices` (and its assets), then runs ROUNDS interleaved rounds; in each
# round, for each size, every tool in turn (the order rotates) does:
#   backup   pgward backup --jobs 1         (.tar.zst, pgward's default zstd level,
#            pgward backup --jobs 2          or --compress SPEC)
#            pg_dump -Fc                    (custom format, gzip)
#            pg_dump -Fp | zstd -3          (plain SQL piped to zstd)
#            psql COPY prices TO STDOUT >/dev/null   (the floor: rows out, nothing else)
#   restore  pgward restore --into an empty database
#            pg_restore --single-transaction into an empty database
#            (both from archives made once, untimed, before the rounds)
# Every restore is checked (row count of prices), every backup must leave
# a non-empty file.  Prints medians and minima of wall time, archive sizes,
# peak RSS (GNU time's %M: the largest process of the command), the ratios
# of pgward to its peers, and whether pgward meets its targets: backup no
# slower than `pg_dump -Fp | zstd -3` with an archive no larger than
# pg_dump -Fc's; restore no slower than `pg_restore --single-transaction`.
# pgward restore runs with -v: its phases (checksum pass, schema and rows,
# post-data, ANALYZE) are timed by pgward itself and summed up too.
#
# The cluster is tests/cluster.sh's, restarted with the server's defaults
# (fsync=on, synchronous_commit=on, full_page_writes=on) as in production.
# --fast (DURABLE=0) keeps cluster.sh's test settings (fsync=off, ...).
#
# Environment: ROUNDS (5), WARMUP (1 untimed round), SIZES ("1000000
# 5000000"), COMPRESS (pgward backup --compress, e.g. zstd:1; empty: the
# default), PGWARD (build/rel/pgward), PGWARD_B (a second pgward binary,
# timed in the same rounds as "pgward-b": an A/B comparison),
# BENCH_NO_MAKE=1 (do not run make),
# REQUIRE_PGWARD=1 (fail instead of leaving pgward out when it does not
# build or work), OUT, STRICT=1.  Missing Debian packages (zstd, time,
# postgresql-15) are installed with apt-get when run as root.
set -euo pipefail
export LC_ALL=C

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)

ROUNDS=${ROUNDS:-5}
WARMUP=${WARMUP:-1}
SIZES=${SIZES:-"1000000 5000000"}
PGWARD=${PGWARD:-$root/build/rel/pgward}
PGWARD_B=${PGWARD_B:-}
OUT=${OUT:-}
STRICT=${STRICT:-0}
DURABLE=${DURABLE:-1}
COMPRESS=${COMPRESS:-}

while [ $# -gt 0 ]; do
	case "$1" in
	--rounds) ROUNDS=$2; shift 2 ;;
	--sizes) SIZES=$2; shift 2 ;;
	--out) OUT=$2; shift 2 ;;
	--strict) STRICT=1; shift ;;
	--fast) DURABLE=0; shift ;;
	--compress) COMPRESS=$2; shift 2 ;;
	-h | --help) sed -n '2,/^set -e/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
	*) echo "backup.sh: unknown argument '$1' (try --help)" >&2; exit 2 ;;
	esac
done
case "$ROUNDS$WARMUP${SIZES// /}" in *[!0-9]*) echo "backup.sh: ROUNDS, WARMUP and SIZES must be numbers" >&2; exit 2 ;; esac
if [ "$ROUNDS" -lt 1 ] || [ -z "${SIZES// /}" ]; then
	echo "backup.sh: need ROUNDS >= 1 and at least one size" >&2
	exit 2
fi
for s in $SIZES; do
	if [ "$s" -lt 1000 ]; then echo "backup.sh: sizes are row counts >= 1000" >&2; exit 2; fi
done

say() { printf '%s\n' "$*" >&2; }

# --- PostgreSQL binaries first in PATH --------------------------------------
pgbin=${PGBINDIR:-}
find_pgbin() {
	if [ -z "$pgbin" ]; then
		for d in /usr/lib/postgresql/15/bin /usr/lib/postgresql/*/bin; do
			if [ -x "$d/initdb" ]; then pgbin=$d; break; fi
		done
	fi
}
find_pgbin

# --- dependencies ------------------------------------------------------------
need=()
[ -n "$pgbin" ] && [ -x "$pgbin/pg_dump" ] || need+=(postgresql-15)
command -v zstd >/dev/null 2>&1 || need+=(zstd)
[ -x /usr/bin/time ] || need+=(time)
if [ ${#need[@]} -gt 0 ]; then
	if [ "$(id -u)" != 0 ]; then
		say "backup.sh: missing Debian packages: ${need[*]} (run as root, or: sudo apt-get install ${need[*]})"
		exit 1
	fi
	say "backup.sh: installing ${need[*]}"
	export DEBIAN_FRONTEND=noninteractive
	apt-get install -y -q "${need[@]}" >/dev/null ||
		{ apt-get update -q >/dev/null && apt-get install -y -q "${need[@]}" >/dev/null; }
	find_pgbin
fi
export PATH="$pgbin:/usr/local/bin:/usr/bin:/bin:/usr/local/sbin:/usr/sbin:/sbin"

# --- pgward ------------------------------------------------------------------
have_pgward=1
if [ "${BENCH_NO_MAKE:-0}" != 1 ] && [ "$PGWARD" = "$root/build/rel/pgward" ]; then
	if ! make -C "$root" -s >/tmp/pgward-bench-make.$$ 2>&1; then
		if [ ! -x "$PGWARD" ] && [ "$(id -u)" = 0 ]; then
			say "backup.sh: make failed; trying 'make deps' first"
			make -C "$root" -s deps >/dev/null 2>&1 || true
			make -C "$root" -s >/tmp/pgward-bench-make.$$ 2>&1 || true
		fi
		if [ -x "$PGWARD" ]; then
			say "backup.sh: warning: make failed; timing the existing $PGWARD"
		else
			say "backup.sh: make failed:"; tail -n 20 /tmp/pgward-bench-make.$$ >&2
		fi
	fi
	rm -f /tmp/pgward-bench-make.$$
fi
if [ ! -x "$PGWARD" ]; then
	if [ "${REQUIRE_PGWARD:-0}" = 1 ]; then say "backup.sh: no pgward binary at $PGWARD"; exit 1; fi
	say "backup.sh: warning: no pgward binary at $PGWARD; timing the peers only"
	have_pgward=0
fi
if [ -n "$PGWARD_B" ] && [ ! -x "$PGWARD_B" ]; then
	say "backup.sh: PGWARD_B=$PGWARD_B is not an executable"
	exit 2
fi

# --- work dir, cluster -------------------------------------------------------
W=$(mktemp -d "${TMPDIR:-/tmp}/pgward-bench.XXXXXX")
chmod 755 "$W"
cluster=
cleanup() {
	if [ -n "$cluster" ]; then "$root/tests/cluster.sh" stop "$cluster" || true; fi
	rm -rf "$W"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

eval "$("$root/tests/cluster.sh" start)"
cluster=$PGWARD_TEST_CLUSTER
PGDATABASE=postgres
export PGDATABASE
if [ "$DURABLE" = 1 ]; then
	restart=("$pgbin/pg_ctl" -D "$cluster/data" -l "$cluster/server.log" -w -t 60 -m fast restart
		-o "-c listen_addresses='' -c unix_socket_directories='$cluster' -p $PGPORT -c max_connections=200 -c shared_buffers=128MB")
	if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "${restart[@]}" >/dev/null; else "${restart[@]}" >/dev/null; fi
fi
settings=$(psql -X -A -t -q -d postgres -c "SELECT 'PostgreSQL ' || current_setting('server_version') || ', fsync=' || current_setting('fsync') || ', synchronous_commit=' || current_setting('synchronous_commit') || ', full_page_writes=' || current_setting('full_page_writes') || ', wal_level=' || current_setting('wal_level') || ', shared_buffers=' || current_setting('shared_buffers') || ', unix socket'")
unset DATABASE_URL PGWARD_CONFIG PGWARD_MIGRATIONS PGWARD_DIRECT_URL MIGRATION_TIMEOUT \
	PGWARD_NOTIFY_URL PGWARD_NOTIFY_SECRET PGSERVICE PGOPTIONS PGPASSWORD || true

psql_q() { psql -X -q -A -t -v ON_ERROR_STOP=1 "$@"; }
recreate_db() { # recreate_db NAME: an empty database NAME
	PGOPTIONS='-c client_min_messages=warning' psql_q -d postgres \
		-c "DROP DATABASE IF EXISTS $1 WITH (FORCE)" -c "CREATE DATABASE $1" >/dev/null
}
mkdir -p "$W/migrations" "$W/out" "$W/keep"
cp "$root"/migrations/*.sql "$W/migrations/"

# --- the example application with N prices -----------------------------------
# The up section of a migration file, for when pgward cannot apply them.
up_section() {
	awk '/^-- migrate:up/ { p = 1; next } /^-- migrate:(down|verify)/ { p = 0 } p' "$1"
}
apply_migrations() { # apply_migrations DB FROM TO (numbers of migrations/; TO "all")
	local db=$1 from=$2 to=$3 f n
	if [ "$have_pgward" = 1 ]; then
		if [ "$to" = all ]; then set -- up; else set -- up --to "$to"; fi
		(cd "$W" && "$PGWARD" -q -d "dbname=$db" --migrations "$W/migrations" "$@" >/dev/null)
		return
	fi
	for f in "$W"/migrations/*.sql; do
		n=$(basename "$f" | sed 's/_.*//; s/^0*//')
		if [ "$n" -ge "$from" ] && { [ "$to" = all ] || [ "$n" -le "$to" ]; }; then
			up_section "$f" | psql_q -d "$db" >/dev/null
		fi
	done
}
# assets x days = rows; prices follow a deterministic random walk.
fill_db() { # fill_db DB ROWS
	local db=$1 rows=$2 assets days
	assets=$(awk -v n="$rows" 'BEGIN { a = int(sqrt(n / 2.5)); if (a < 1) a = 1; print a }')
	days=$(((rows + assets - 1) / assets))
	recreate_db "$db"
	apply_migrations "$db" 1 2
	psql_q -d "$db" >/dev/null <<-EOF
	SELECT setseed(0.5);
	INSERT INTO assets (symbol, name, asset_class, currency, exchange)
		SELECT 'S' || g, 'Asset number ' || g,
			(ARRAY['equity', 'bond', 'etf', 'commodity', 'crypto', 'cash'])[1 + g % 6],
			(ARRAY['USD', 'EUR', 'GBP'])[1 + g % 3], CASE WHEN g % 4 = 0 THEN NULL ELSE 'XNYS' END
		FROM generate_series(1, $assets) g;
	INSERT INTO prices (asset_id, date, open, high, low, close, volume, is_latest, created_at)
		SELECT a, date '2015-01-01' + d,
			round(p * 0.995, 6), round(p * 1.01, 6), round(p * 0.99, 6), round(p, 6),
			(1000 + random() * 1000000)::bigint, d = $days - 1,
			timestamptz '2015-01-01 18:00:00+00' + d * interval '1 day'
		FROM (SELECT a, d, (10 + a % 490 + 5 * sin(d / 17.0 + a) + random())::numeric AS p
			FROM generate_series(1, $assets) a, generate_series(0, $days - 1) d
			WHERE (a - 1) * $days + d < $rows) s;
	EOF
	apply_migrations "$db" 3 all
	psql_q -d "$db" -c "VACUUM ANALYZE" >/dev/null
	local got
	got=$(psql_q -d "$db" -c "SELECT count(*) FROM prices")
	if [ "$got" != "$rows" ]; then say "backup.sh: $db: $got price rows, expected $rows"; exit 1; fi
}

label() { # 1000000 -> 1M, 250000 -> 250k
	awk -v n="$1" 'BEGIN { if (n % 1000000 == 0) printf "%dM", n / 1000000; else if (n % 1000 == 0) printf "%dk", n / 1000; else print n }'
}

say "backup.sh: server: $settings"
sizes=()
for s in $SIZES; do
	sizes+=("$s")
	say "backup.sh: creating the example application with $(label "$s") price rows"
	fill_db "src_$s" "$s"
done

# --- does pgward work yet? ---------------------------------------------------
if [ "$have_pgward" = 1 ]; then
	s=${sizes[0]}
	if ! (cd "$W" && "$PGWARD" -d "dbname=src_$s" backup -o "$W/smoke.tar.zst" &&
		"$PGWARD" archive verify "$W/smoke.tar.zst" &&
		recreate_db smoke &&
		"$PGWARD" -d "dbname=smoke" restore "$W/smoke.tar.zst" --yes --into smoke &&
		[ "$(psql_q -d smoke -c "SELECT count(*) FROM prices")" = "$s" ]) >"$W/smoke.log" 2>&1; then
		if [ "${REQUIRE_PGWARD:-0}" = 1 ]; then
			say "backup.sh: pgward does not pass the smoke test:"; tail -n 30 "$W/smoke.log" >&2
			exit 1
		fi
		say "backup.sh: warning: pgward backup/restore do not work yet; timing the peers only"
		tail -n 10 "$W/smoke.log" | sed 's/^/  | /' >&2
		have_pgward=0
	fi
	rm -f "$W/smoke.tar.zst"
	PGOPTIONS='-c client_min_messages=warning' psql_q -d postgres -c "DROP DATABASE IF EXISTS smoke WITH (FORCE)" >/dev/null
fi

backup_tools=(copy pgdump_zstd pgdump_fc)
restore_tools=(pg_restore pg_restore_an)
if [ "$have_pgward" = 1 ]; then
	backup_tools=(pgward_j1 pgward_j2 "${backup_tools[@]}")
	restore_tools=(pgward "${restore_tools[@]}")
	if [ -n "$PGWARD_B" ]; then
		backup_tools+=(pgwardb_j1 pgwardb_j2)
		restore_tools+=(pgwardb)
	fi
fi

# Archives the restores read, made once per size (untimed).
for s in "${sizes[@]}"; do
	pg_dump -Fc -d "src_$s" -f "$W/keep/$s.dump"
	if [ "$have_pgward" = 1 ]; then
		(cd "$W" && "$PGWARD" -q -d "dbname=src_$s" backup ${COMPRESS:+--compress "$COMPRESS"} \
			-o "$W/keep/$s.tar.zst" >/dev/null)
		if [ -n "$PGWARD_B" ]; then
			(cd "$W" && "$PGWARD_B" -q -d "dbname=src_$s" backup ${COMPRESS:+--compress "$COMPRESS"} \
				-o "$W/keep/$s.b.tar.zst" >/dev/null)
		fi
	fi
done

# --- what each tool runs -------------------------------------------------------
# backup_TOOL SIZE FILE / restore_TOOL SIZE DB
backup_pgward_j1() { "$PGWARD" -q -d "dbname=src_$1" backup --jobs 1 ${COMPRESS:+--compress "$COMPRESS"} -o "$2"; }
backup_pgward_j2() { "$PGWARD" -q -d "dbname=src_$1" backup --jobs 2 ${COMPRESS:+--compress "$COMPRESS"} -o "$2"; }
backup_pgdump_fc() { pg_dump -Fc -d "src_$1" -f "$2"; }
backup_pgdump_zstd() { bash -c 'set -o pipefail; pg_dump -Fp -d "$0" | zstd -3 -q -o "$1"' "src_$1" "$2"; }
backup_copy() { psql -X -q -d "src_$1" -c "COPY public.prices TO STDOUT" >/dev/null; }
# -v: pgward logs how long each phase took (read back into phases.tsv)
restore_pgward() { "$PGWARD" -v -d "dbname=$2" restore "$W/keep/$1.tar.zst" --yes --into "$2"; }
# PGWARD_B: the same with another pgward binary, for A/B comparisons
backup_pgwardb_j1() { "$PGWARD_B" -q -d "dbname=src_$1" backup --jobs 1 ${COMPRESS:+--compress "$COMPRESS"} -o "$2"; }
backup_pgwardb_j2() { "$PGWARD_B" -q -d "dbname=src_$1" backup --jobs 2 ${COMPRESS:+--compress "$COMPRESS"} -o "$2"; }
restore_pgwardb() { "$PGWARD_B" -q -d "dbname=$2" restore "$W/keep/$1.b.tar.zst" --yes --into "$2"; }
restore_pg_restore() { pg_restore --single-transaction -d "$2" "$W/keep/$1.dump"; }
# pg_restore leaves statistics to the user (its documentation: "run ANALYZE
# on each restored table"); pgward's restore includes that ANALYZE.  This
# one runs it after pg_restore, on the restored tables only.
restore_pg_restore_an() {
	pg_restore --single-transaction -d "$2" "$W/keep/$1.dump" &&
		psql -X -q -v ON_ERROR_STOP=1 -d "$2" >/dev/null <<-'EOF'
		SELECT 'ANALYZE ' || string_agg(c.oid::regclass::text, ', ')
		FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
		WHERE c.relkind IN ('r', 'm') AND n.nspname NOT IN ('pg_catalog', 'information_schema')
		AND n.nspname NOT LIKE 'pg_toast%' \gexec
		EOF
}

raw="$W/raw.tsv"
phases="$W/phases.tsv"
log="$W/last.log"
: >"$raw"
: >"$phases"
recording=0

settle() {
	psql -X -q -d postgres -c CHECKPOINT >/dev/null
	sync
}

# timed OP TOOL SIZE ARG: run it once under GNU time; record wall time (µs),
# peak RSS (kB) and the archive's size (bytes, backups that write one).
timed() {
	local op=$1 tool=$2 size=$3 arg=$4 t0 t1 rc=0 bytes=0 rss
	cd "$W"
	t0=$EPOCHREALTIME
	/usr/bin/time -f %M -o "$W/rss" bash -c "$(declare -f "${op}_$tool"); ${op}_$tool \"\$@\"" \
		"$tool" "$size" "$arg" >"$log" 2>&1 || rc=$?
	t1=$EPOCHREALTIME
	if [ "$rc" != 0 ]; then
		say "backup.sh: $op $tool ($(label "$size")) failed (exit $rc):"
		tail -n 30 "$log" >&2
		exit 1
	fi
	rss=$(tail -n 1 "$W/rss")
	if [ "$op" = backup ] && [ "$tool" != copy ]; then
		bytes=$(stat -c %s "$arg")
		if [ "$bytes" -le 0 ]; then say "backup.sh: $tool wrote an empty archive"; exit 1; fi
		rm -f "$arg"
	fi
	if [ "$op" = restore ]; then
		local got
		got=$(psql_q -d "$arg" -c "SELECT count(*) FROM prices")
		if [ "$got" != "$size" ]; then say "backup.sh: $tool restored $got rows of $size"; exit 1; fi
	fi
	if [ "$recording" = 1 ]; then
		printf '%s\t%s\t%s\t%d\t%s\t%s\n' "$op" "$tool" "$size" $((10#${t1/./} - 10#${t0/./})) "$rss" "$bytes" >>"$raw"
		if [ "$op" = restore ] && [ "$tool" = pgward ]; then
			# size, then s: checksum pass, schema and rows, post-data, ANALYZE
			awk -v s="$size" -v OFS='\t' '
				/^restore: every checksum checked in / { v = $6 }
				/^restore: schema and rows loaded in / { l = $7 }
				/^restore: post-data .* replayed in / { p = $(NF - 1) }
				/^restore: ANALYZE in / { a = $4 }
				END { if (v != "" && l != "" && p != "" && a != "") print s, v, l, p, a }' "$log" >>"$phases"
		fi
	fi
}

export PGWARD PGWARD_B W COMPRESS
rotate() { # rotate K WORD...: the words rotated left by K
	local k=$1
	shift
	local a=("$@") i
	for ((i = 0; i < ${#a[@]}; i++)); do printf '%s\n' "${a[(i + k) % ${#a[@]}]}"; done
}

round() {
	local r=$1 s t
	local -a order
	for s in "${sizes[@]}"; do
		mapfile -t order < <(rotate "$r" "${backup_tools[@]}")
		for t in "${order[@]}"; do settle; timed backup "$t" "$s" "$W/out/$t.$s"; done
		mapfile -t order < <(rotate "$r" "${restore_tools[@]}")
		for t in "${order[@]}"; do
			recreate_db dst
			settle
			timed restore "$t" "$s" dst
		done
	done
}

say "backup.sh: sizes: ${SIZES}; backup: ${backup_tools[*]}; restore: ${restore_tools[*]}"
say "backup.sh: $WARMUP warm-up round(s), then $ROUNDS timed rounds"
load_before=$(cut -d' ' -f1-3 /proc/loadavg)
for ((r = 0; r < WARMUP; r++)); do round "$r"; done
recording=1
for ((r = 1; r <= ROUNDS; r++)); do
	round "$r"
	say "backup.sh: round $r/$ROUNDS done"
done
load_after=$(cut -d' ' -f1-3 /proc/loadavg)

# --- summary -----------------------------------------------------------------
# stats.tsv: op tool size n median_s min_s max_s median_rss_MB median_bytes_MB
sort -t "$(printf '\t')" -k1,1 -k2,2 -k3,3n -k4,4n "$raw" | awk -F '\t' -v OFS='\t' '
function med(a, n) { return (n % 2) ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2 }
function flush(   i, j, x) {
	if (n == 0) return
	# rss and bytes sorted on their own
	for (i = 2; i <= n; i++) for (j = i; j > 1 && r[j - 1] > r[j]; j--) { x = r[j]; r[j] = r[j - 1]; r[j - 1] = x }
	for (i = 2; i <= n; i++) for (j = i; j > 1 && b[j - 1] > b[j]; j--) { x = b[j]; b[j] = b[j - 1]; b[j - 1] = x }
	print k1, k2, k3, n, med(v, n) / 1e6, v[1] / 1e6, v[n] / 1e6, med(r, n) / 1024, med(b, n) / 1e6
}
{
	if ($1 != k1 || $2 != k2 || $3 != k3) { flush(); k1 = $1; k2 = $2; k3 = $3; n = 0 }
	n++; v[n] = $4; r[n] = $5; b[n] = $6
}
END { flush() }' >"$W/stats.tsv"

st() { # st OP TOOL SIZE FIELD (5 median s, 6 min, 7 max, 8 rss MB, 9 MB)
	awk -F '\t' -v o="$1" -v t="$2" -v s="$3" -v f="$4" '$1 == o && $2 == t && $3 == s { print $f }' "$W/stats.tsv"
}
ratio() {
	if [ -z "$1" ] || [ -z "$2" ]; then printf '%s' '—'; return; fi
	awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'
}
name_of() {
	case "$1" in
	pgward_j1) echo 'pgward backup --jobs 1' ;;
	pgward_j2) echo 'pgward backup --jobs 2' ;;
	pgdump_fc) echo 'pg_dump -Fc' ;;
	pgdump_zstd) echo 'pg_dump -Fp \| zstd -3' ;;
	copy) echo 'COPY prices TO STDOUT > /dev/null' ;;
	pgward) echo 'pgward restore --into' ;;
	pgwardb_j1) echo 'pgward-b backup --jobs 1' ;;
	pgwardb_j2) echo 'pgward-b backup --jobs 2' ;;
	pgwardb) echo 'pgward-b restore --into' ;;
	pg_restore) echo 'pg_restore --single-transaction' ;;
	pg_restore_an) echo 'pg_restore --single-transaction, then ANALYZE' ;;
	esac
}
row() { # row OP TOOL
	local s med
	printf '| %s |' "$(name_of "$2")"
	for s in "${sizes[@]}"; do
		med=$(st "$1" "$2" "$s" 5)
		if [ -z "$med" ]; then printf ' — | — | — |'; continue; fi
		printf ' %.2f (%.2f) |' "$med" "$(st "$1" "$2" "$s" 6)"
		if [ "$2" = copy ]; then printf ' — |'; elif [ "$1" = backup ]; then printf ' %.1f |' "$(st "$1" "$2" "$s" 9)"; fi
		printf ' %.0f |' "$(st "$1" "$2" "$s" 8)"
	done
	echo
}

missed=0
{
	echo "## backup: wall time s, median (min); archive MB; peak RSS MB"
	echo
	printf '| command |'
	for s in "${sizes[@]}"; do printf ' %s rows: s | MB | RSS MB |' "$(label "$s")"; done
	echo
	printf '|---|'
	for s in "${sizes[@]}"; do printf -- '---|---|---|'; done
	echo
	for t in "${backup_tools[@]}"; do row backup "$t"; done
	echo
	echo "## restore into an empty database: wall time s, median (min); peak RSS MB"
	echo
	printf '| command |'
	for s in "${sizes[@]}"; do printf ' %s rows: s | RSS MB |' "$(label "$s")"; done
	echo
	printf '|---|'
	for s in "${sizes[@]}"; do printf -- '---|---|'; done
	echo
	for t in "${restore_tools[@]}"; do row restore "$t"; done
	echo
	echo "$ROUNDS timed rounds after $WARMUP warm-up round(s); in each, every command once per size, the order rotating."
	echo "Server: $settings."
	echo "Load average (1, 5, 15 min) before: $load_before; after: $load_after ($(nproc) CPUs)."
	if [ "$have_pgward" = 1 ]; then
		if [ -n "$COMPRESS" ]; then echo "pgward backup: --compress $COMPRESS."; else echo "pgward backup: the default compression."; fi
		echo
		echo "## pgward restore by phase: median s (as pgward -v reports them)"
		echo
		printf '| phase |'
		for s in "${sizes[@]}"; do printf ' %s |' "$(label "$s")"; done
		echo
		printf '|---|'
		for s in "${sizes[@]}"; do printf -- '---|'; done
		echo
		for spec in "2 checksum pass over the archive, before the first change" \
			"3 schema and rows (COPY, every entry checked again)" \
			"4 post-data (constraints, indexes)" "5 ANALYZE (before COMMIT)"; do
			printf '| %s |' "${spec#* }"
			for s in "${sizes[@]}"; do
				printf ' %s |' "$(awk -F '\t' -v s="$s" -v f="${spec%% *}" '$1 == s { v[++n] = $f }
					END { if (!n) { print "—"; exit }
						for (i = 2; i <= n; i++) for (j = i; j > 1 && v[j - 1] > v[j]; j--) { x = v[j]; v[j] = v[j - 1]; v[j - 1] = x }
						printf "%.2f", (n % 2) ? v[(n + 1) / 2] : (v[n / 2] + v[n / 2 + 1]) / 2 }' "$phases")"
			done
			echo
		done
		echo
		echo "## ratios of medians"
		echo
		printf '| ratio |'
		for s in "${sizes[@]}"; do printf ' %s |' "$(label "$s")"; done
		echo
		printf '|---|'
		for s in "${sizes[@]}"; do printf -- '---|'; done
		echo
		specs=("time pgward_j1 pgdump_zstd" "time pgward_j2 pgdump_zstd" "time pgward_j1 pgdump_fc"
			"time pgward_j2 pgdump_fc" "time pgward_j1 copy" "time pgward_j2 copy"
			"size pgward_j1 pgdump_fc" "size pgward_j1 pgdump_zstd" "rtime pgward pg_restore"
			"rtime pgward pg_restore_an")
		if [ -n "$PGWARD_B" ]; then
			specs+=("time pgwardb_j1 pgdump_zstd" "time pgwardb_j2 pgdump_zstd" "size pgwardb_j1 pgdump_fc"
				"rtime pgwardb pg_restore" "time pgward_j1 pgwardb_j1" "time pgward_j2 pgwardb_j2"
				"rtime pgward pgwardb")
		fi
		for spec in "${specs[@]}"; do
			# shellcheck disable=SC2086 # three words
			set -- $spec
			case "$1" in
			time) printf '| time: %s / %s |' "$(name_of "$2")" "$(name_of "$3")" ;;
			size) printf '| archive size: %s / %s |' "$(name_of "$2")" "$(name_of "$3")" ;;
			rtime) printf '| time: %s / %s |' "$(name_of "$2")" "$(name_of "$3")" ;;
			esac
			for s in "${sizes[@]}"; do
				case "$1" in
				time) printf ' %s |' "$(ratio "$(st backup "$2" "$s" 5)" "$(st backup "$3" "$s" 5)")" ;;
				size) printf ' %s |' "$(ratio "$(st backup "$2" "$s" 9)" "$(st backup "$3" "$s" 9)")" ;;
				rtime) printf ' %s |' "$(ratio "$(st restore "$2" "$s" 5)" "$(st restore "$3" "$s" 5)")" ;;
				esac
			done
			echo
		done
		echo
		echo "## targets"
		echo
		for s in "${sizes[@]}"; do
			for j in pgward_j1 pgward_j2; do
				rt=$(ratio "$(st backup "$j" "$s" 5)" "$(st backup pgdump_zstd "$s" 5)")
				if awk -v r="$rt" 'BEGIN { exit !(r <= 1.0) }'; then v=met; else v=MISSED; missed=1; fi
				printf -- '- %s rows, %s: %sx the time of pg_dump -Fp | zstd -3, target <= 1.00x: %s\n' \
					"$(label "$s")" "$(name_of "$j")" "$rt" "$v"
			done
			rt=$(ratio "$(st backup pgward_j1 "$s" 9)" "$(st backup pgdump_fc "$s" 9)")
			if awk -v r="$rt" 'BEGIN { exit !(r <= 1.0) }'; then v=met; else v=MISSED; missed=1; fi
			printf -- '- %s rows: archive %sx the size of pg_dump -Fc'\''s, target <= 1.00x: %s\n' "$(label "$s")" "$rt" "$v"
			rt=$(ratio "$(st restore pgward "$s" 5)" "$(st restore pg_restore "$s" 5)")
			if awk -v r="$rt" 'BEGIN { exit !(r <= 1.0) }'; then v=met; else v=MISSED; missed=1; fi
			printf -- '- %s rows: restore %sx the time of pg_restore --single-transaction, target <= 1.00x: %s\n' "$(label "$s")" "$rt" "$v"
			rt=$(ratio "$(st restore pgward "$s" 5)" "$(st restore pg_restore_an "$s" 5)")
			printf -- '- %s rows: restore %sx the time of pg_restore --single-transaction followed by the ANALYZE it leaves to the user\n' "$(label "$s")" "$rt"
			# pg_restore does not ANALYZE: what the rest of pgward's restore costs
			an=$(awk -F '\t' -v s="$s" '$1 == s { v[++n] = $5 }
				END { if (!n) exit
					for (i = 2; i <= n; i++) for (j = i; j > 1 && v[j - 1] > v[j]; j--) { x = v[j]; v[j] = v[j - 1]; v[j - 1] = x }
					printf "%.2f\n", (n % 2) ? v[(n + 1) / 2] : (v[n / 2] + v[n / 2 + 1]) / 2 }' "$phases")
			if [ -n "$an" ] && [ -n "$(st restore pgward "$s" 5)" ]; then
				printf -- '  (its ANALYZE, median %s s, is %s%% of it; without it %sx, a difference of medians)\n' "$an" \
					"$(awk -v a="$an" -v t="$(st restore pgward "$s" 5)" 'BEGIN { printf "%.0f", 100 * a / t }')" \
					"$(ratio "$(awk -v a="$an" -v t="$(st restore pgward "$s" 5)" 'BEGIN { print t - a }')" "$(st restore pg_restore "$s" 5)")"
			fi
		done
	else
		echo
		echo "pgward was not timed (not built, or backup/restore not working yet): no ratios, no targets."
	fi
} >"$W/summary.md"

cat "$W/summary.md"
if [ -n "$OUT" ]; then
	mkdir -p "$OUT"
	cp "$W/summary.md" "$W/stats.tsv" "$W/raw.tsv" "$W/phases.tsv" "$OUT/"
	say "backup.sh: summary.md, stats.tsv (s, MB), raw.tsv (µs, kB, bytes) and phases.tsv (restore phases, s) written to $OUT"
fi
if [ "$STRICT" = 1 ] && { [ "$have_pgward" = 0 ] || [ "$missed" = 1 ]; }; then
	exit 1
fi
exit 0
