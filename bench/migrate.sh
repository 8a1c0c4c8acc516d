#!/usr/bin/env bash
# bench/migrate.sh - pgward's migration engine side by side with sqitch,
# alembic and sql-migrate, on 100 trivial migrations, in one run.
#
#   bench/migrate.sh [--rounds N] [--reps N] [--fast] [--out DIR] [--strict]
#
# Starts a throwaway PostgreSQL (tests/cluster.sh), writes the same 100
# migrations (CREATE TABLE tNNN / DROP TABLE tNNN) in each tool's format, and
# then runs ROUNDS interleaved rounds; in each round every tool, in turn (the
# order rotates from round to round), does:
#   apply    all 100 to an empty database (dropped and re-created, untimed)
#   noop_up  `up` with everything applied             (REPS samples a round)
#   status   status with everything applied           (REPS samples a round)
#   down     roll back the newest one
# Floors, timed in the same rounds:
#   psql     `psql -1 -f` of the same SQL (all 100 ups; the one down)
#   libpq    bench/floor.c: connect with libpq, SELECT 1, exit
# Prints medians and minima, the ratios of pgward to the floors and to each
# peer, and whether pgward meets its targets: no-op up and status within 1.3x
# of the libpq floor, apply within 1.25x of psql -1 -f.
#
# The cluster is tests/cluster.sh's, restarted with the server's defaults
# (fsync=on, synchronous_commit=on, full_page_writes=on) as in production,
# where every COMMIT waits for a WAL flush.  --fast (DURABLE=0) keeps
# cluster.sh's test settings (fsync=off, synchronous_commit=off).
#
# Environment: ROUNDS (10), REPS (3), WARMUP (1 untimed round), N (100),
# TOOLS ("pgward sqitch alembic sql-migrate"), PGWARD (build/rel/pgward),
# PGWARD_B (a second pgward binary, timed as tool "pgward-b" in the same
# rounds: an A/B comparison of a change), BENCH_NO_MAKE=1 (do not run make),
# REQUIRE_PGWARD=1 (fail instead of
# leaving pgward out when it does not build or work), OUT, STRICT=1.
# Missing Debian packages are installed with apt-get when run as root.
# The tools' functions below are called indirectly ("${tool}_$op").
# shellcheck disable=SC2317
set -euo pipefail
export LC_ALL=C

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)

ROUNDS=${ROUNDS:-10}
REPS=${REPS:-3}
WARMUP=${WARMUP:-1}
N=${N:-100}
TOOLS=${TOOLS:-"pgward sqitch alembic sql-migrate"}
PGWARD=${PGWARD:-$root/build/rel/pgward}
OUT=${OUT:-}
STRICT=${STRICT:-0}
DURABLE=${DURABLE:-1}

while [ $# -gt 0 ]; do
	case "$1" in
	--rounds) ROUNDS=$2; shift 2 ;;
	--reps) REPS=$2; shift 2 ;;
	--out) OUT=$2; shift 2 ;;
	--strict) STRICT=1; shift ;;
	--fast) DURABLE=0; shift ;;
	-h | --help) sed -n '2,/^set -e/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
	*) echo "migrate.sh: unknown argument '$1' (try --help)" >&2; exit 2 ;;
	esac
done
case "$ROUNDS$REPS$N" in *[!0-9]*) echo "migrate.sh: ROUNDS, REPS and N must be numbers" >&2; exit 2 ;; esac
if [ "$ROUNDS" -lt 1 ] || [ "$REPS" -lt 1 ] || [ "$N" -lt 2 ] || [ "$N" -gt 999 ]; then
	echo "migrate.sh: need ROUNDS >= 1, REPS >= 1, 2 <= N <= 999" >&2
	exit 2
fi

say() { printf '%s\n' "$*" >&2; }

# --- PostgreSQL binaries first in PATH --------------------------------------
# Debian's /usr/bin/psql is a Perl wrapper (pg_wrapper) that costs ~18 ms a
# call; sqitch runs psql once per change.  A fixed PATH also keeps other
# Pythons (pyenv, venvs) away from Debian's alembic.
pgbin=${PGBINDIR:-}
if [ -z "$pgbin" ]; then
	for d in /usr/lib/postgresql/15/bin /usr/lib/postgresql/*/bin; do
		if [ -x "$d/initdb" ]; then pgbin=$d; break; fi
	done
fi

# --- dependencies ------------------------------------------------------------
need=()
[ -n "$pgbin" ] && [ -x "$pgbin/psql" ] || need+=(postgresql-15)
command -v cc >/dev/null 2>&1 || need+=(gcc libc6-dev)
command -v pkg-config >/dev/null 2>&1 || need+=(pkg-config)
pkg-config --exists libpq 2>/dev/null || need+=(libpq-dev)
for t in $TOOLS; do
	case "$t" in
	pgward | pgward-b) ;;
	sqitch)
		[ -x /usr/bin/sqitch ] || need+=(sqitch)
		/usr/bin/perl -MDBD::Pg -e1 2>/dev/null || need+=(libdbd-pg-perl)
		;;
	alembic)
		[ -x /usr/bin/alembic ] || need+=(alembic)
		/usr/bin/python3 -c 'import psycopg2' 2>/dev/null || need+=(python3-psycopg2)
		;;
	sql-migrate) [ -x /usr/bin/sql-migrate ] || need+=(sql-migrate) ;;
	*) say "migrate.sh: unknown tool '$t' in TOOLS"; exit 2 ;;
	esac
done
if [ ${#need[@]} -gt 0 ]; then
	if [ "$(id -u)" != 0 ]; then
		say "migrate.sh: missing Debian packages: ${need[*]} (run as root, or: sudo apt-get install ${need[*]})"
		exit 1
	fi
	say "migrate.sh: installing ${need[*]}"
	export DEBIAN_FRONTEND=noninteractive
	apt-get install -y -q "${need[@]}" >/dev/null ||
		{ apt-get update -q >/dev/null && apt-get install -y -q "${need[@]}" >/dev/null; }
	if [ -z "$pgbin" ]; then
		for d in /usr/lib/postgresql/15/bin /usr/lib/postgresql/*/bin; do
			if [ -x "$d/initdb" ]; then pgbin=$d; break; fi
		done
	fi
fi
export PATH="$pgbin:/usr/local/bin:/usr/bin:/bin:/usr/local/sbin:/usr/sbin:/sbin"

# --- pgward ------------------------------------------------------------------
have_pgward=0
case " $TOOLS " in *" pgward "*) have_pgward=1 ;; esac
if [ "$have_pgward" = 1 ] && [ "${BENCH_NO_MAKE:-0}" != 1 ] && [ "$PGWARD" = "$root/build/rel/pgward" ]; then
	if ! make -C "$root" -s >/tmp/pgward-bench-make.$$ 2>&1; then
		if [ ! -x "$PGWARD" ] && [ "$(id -u)" = 0 ]; then
			say "migrate.sh: make failed; trying 'make deps' first"
			make -C "$root" -s deps >/dev/null 2>&1 || true
			make -C "$root" -s >/tmp/pgward-bench-make.$$ 2>&1 || true
		fi
		if [ -x "$PGWARD" ]; then
			say "migrate.sh: warning: make failed; timing the existing $PGWARD"
		else
			say "migrate.sh: make failed:"; tail -n 20 /tmp/pgward-bench-make.$$ >&2
		fi
	fi
	rm -f /tmp/pgward-bench-make.$$
fi
if [ "$have_pgward" = 1 ] && [ ! -x "$PGWARD" ]; then
	if [ "${REQUIRE_PGWARD:-0}" = 1 ]; then say "migrate.sh: no pgward binary at $PGWARD"; exit 1; fi
	say "migrate.sh: warning: no pgward binary at $PGWARD; timing the peers only"
	have_pgward=0
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
	# Same socket, port and limits as cluster.sh, without its fsync=off,
	# full_page_writes=off and synchronous_commit=off.
	restart=("$pgbin/pg_ctl" -D "$cluster/data" -l "$cluster/server.log" -w -t 60 -m fast restart
		-o "-c listen_addresses='' -c unix_socket_directories='$cluster' -p $PGPORT -c max_connections=200 -c shared_buffers=128MB")
	if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "${restart[@]}" >/dev/null; else "${restart[@]}" >/dev/null; fi
fi
settings=$(psql -X -A -t -q -d postgres -c "SELECT 'PostgreSQL ' || current_setting('server_version') || ', fsync=' || current_setting('fsync') || ', synchronous_commit=' || current_setting('synchronous_commit') || ', full_page_writes=' || current_setting('full_page_writes') || ', unix socket'")
unset DATABASE_URL PGWARD_CONFIG PGWARD_MIGRATIONS PGWARD_DIRECT_URL MIGRATION_TIMEOUT \
	PGWARD_NOTIFY_URL PGWARD_NOTIFY_SECRET PGSERVICE PGOPTIONS || true

# shellcheck disable=SC2046 # pkg-config's output is a list of flags
cc -O2 -o "$W/floor" "$here/floor.c" $(pkg-config --cflags --libs libpq)

# --- the migrations, in every format -----------------------------------------
up_sql() { printf 'CREATE TABLE t%03d (id int PRIMARY KEY, v text);\n' "$1"; }
down_sql() { printf 'DROP TABLE t%03d;\n' "$1"; }

mkdir -p "$W/pgward/migrations" "$W/sqitch/deploy" "$W/sqitch/revert" "$W/sqitch/verify" \
	"$W/alembic/versions" "$W/sqlmigrate/migrations" "$W/psql"

cat >"$W/sqitch/sqitch.conf" <<EOF
[core]
	engine = pg
	plan_file = $W/sqitch/sqitch.plan
	top_dir = $W/sqitch
[engine "pg"]
	target = db:pg:bench_sqitch
	client = $pgbin/psql
[user]
	name = bench
	email = bench@example.invalid
EOF
printf '%%syntax-version=1.0.0\n%%project=bench\n\n' >"$W/sqitch/sqitch.plan"

cat >"$W/alembic/alembic.ini" <<EOF
[alembic]
script_location = $W/alembic
sqlalchemy.url = postgresql+psycopg2:///bench_alembic
EOF
cat >"$W/alembic/env.py" <<'EOF'
from alembic import context
from sqlalchemy import engine_from_config, pool

config = context.config
engine = engine_from_config(config.get_section(config.config_ini_section),
                            prefix="sqlalchemy.", poolclass=pool.NullPool)
with engine.connect() as connection:
    context.configure(connection=connection, target_metadata=None)
    with context.begin_transaction():
        context.run_migrations()
EOF

cat >"$W/sqlmigrate/dbconfig.yml" <<EOF
bench:
  dialect: postgres
  datasource: host=$PGHOST port=$PGPORT user=$PGUSER dbname=bench_sqlmigrate sslmode=disable
  dir: $W/sqlmigrate/migrations
  table: gorp_migrations
EOF

: >"$W/psql/up.sql"
for ((i = 1; i <= N; i++)); do
	n=$(printf '%03d' "$i")
	u=$(up_sql "$i")
	d=$(down_sql "$i")
	printf -- '-- migrate:up\n%s\n\n-- migrate:down\n%s\n' "$u" "$d" >"$W/pgward/migrations/${n}_t$n.sql"
	printf 'BEGIN;\n\n%s\n\nCOMMIT;\n' "$u" >"$W/sqitch/deploy/t$n.sql"
	printf 'BEGIN;\n\n%s\n\nCOMMIT;\n' "$d" >"$W/sqitch/revert/t$n.sql"
	printf 'SELECT id, v FROM t%s WHERE false;\n' "$n" >"$W/sqitch/verify/t$n.sql"
	printf 't%s 2025-01-01T00:00:%02dZ bench <bench@example.invalid> # table t%s\n' \
		"$n" $((i % 60)) "$n" >>"$W/sqitch/sqitch.plan"
	if [ "$i" = 1 ]; then prev=None; else prev=$(printf '"r%03d"' $((i - 1))); fi
	cat >"$W/alembic/versions/r${n}_t$n.py" <<EOF
from alembic import op

revision = "r$n"
down_revision = $prev
branch_labels = None
depends_on = None


def upgrade():
    op.execute("${u%;}")


def downgrade():
    op.execute("${d%;}")
EOF
	printf -- '-- +migrate Up\n%s\n\n-- +migrate Down\n%s\n' "$u" "$d" >"$W/sqlmigrate/migrations/${n}_t$n.sql"
	printf '%s\n' "$u" >>"$W/psql/up.sql"
done
down_sql "$N" >"$W/psql/down.sql"

# --- what each tool runs -----------------------------------------------------
# Every command runs in the bench's own dir (no pgward.ini, no hooks, not a
# git repository) with its output sent to a log file, never a terminal.
psql_q() { psql -X -q -v ON_ERROR_STOP=1 "$@"; }

pgward_cmd() { PGDATABASE=bench_pgward "$PGWARD" --migrations "$W/pgward/migrations" "$@"; }
pgward-b_cmd() { PGDATABASE=bench_pgward_b "$PGWARD_B" --migrations "$W/pgward/migrations" "$@"; }
pgward-b_apply() { pgward-b_cmd up; }
pgward-b_noop_up() { pgward-b_cmd up; }
pgward-b_status() { pgward-b_cmd status --no-drift; }
pgward-b_down() { pgward-b_cmd down; }
pgward_apply() { pgward_cmd up; }
pgward_noop_up() { pgward_cmd up; }
pgward_status() { pgward_cmd status --no-drift; }
pgward_down() { pgward_cmd down; }

sqitch_cmd() { SQITCH_CONFIG="$W/sqitch/sqitch.conf" SQITCH_USER_CONFIG=/dev/null \
	SQITCH_SYSTEM_CONFIG=/dev/null /usr/bin/sqitch "$@"; }
sqitch_apply() { sqitch_cmd deploy; }
sqitch_noop_up() { sqitch_cmd deploy; }
sqitch_status() { sqitch_cmd status; }
sqitch_down() { sqitch_cmd revert --to '@HEAD^' -y; }

alembic_cmd() { /usr/bin/alembic -c "$W/alembic/alembic.ini" "$@"; }
alembic_apply() { alembic_cmd upgrade head; }
alembic_noop_up() { alembic_cmd upgrade head; }
alembic_status() { alembic_cmd current; }
alembic_down() { alembic_cmd downgrade -1; }

sqlmigrate_cmd() { /usr/bin/sql-migrate "$1" -config="$W/sqlmigrate/dbconfig.yml" -env=bench "${@:2}"; }
sql-migrate_apply() { sqlmigrate_cmd up; }
sql-migrate_noop_up() { sqlmigrate_cmd up; }
sql-migrate_status() { sqlmigrate_cmd status; }
sql-migrate_down() { sqlmigrate_cmd down -limit=1; }

psql_apply() { psql_q -1 -d bench_psql -f "$W/psql/up.sql"; }
psql_down() { psql_q -1 -d bench_psql -f "$W/psql/down.sql"; }
libpq_noop_up() { "$W/floor" dbname=bench_psql; }
libpq_status() { "$W/floor" dbname=bench_psql; }

db_of() {
	case "$1" in
	sql-migrate) echo bench_sqlmigrate ;;
	pgward-b) echo bench_pgward_b ;;
	*) echo "bench_$1" ;;
	esac
}

raw="$W/raw.tsv"
log="$W/last.log"
: >"$raw"
recording=0

# timed TOOL OP: run TOOL's OP once; record wall time in microseconds.
# EPOCHREALTIME is a bash builtin: no fork around the measured command.
timed() {
	local tool=$1 op=$2 t0 t1 rc=0
	cd "$W"
	t0=$EPOCHREALTIME
	"${tool}_$op" >"$log" 2>&1 || rc=$?
	t1=$EPOCHREALTIME
	if [ "$rc" != 0 ]; then
		say "migrate.sh: $tool $op failed (exit $rc):"
		tail -n 30 "$log" >&2
		exit 1
	fi
	if [ "$recording" = 1 ]; then
		printf '%s\t%s\t%d\n' "$tool" "$op" $((10#${t1/./} - 10#${t0/./})) >>"$raw"
	fi
}

# settle: flush what earlier commands left dirty (shared buffers, the page
# cache), so that one tool's writes are not paid by the next one's timing.
settle() {
	psql -X -q -d postgres -c CHECKPOINT >/dev/null
	sync
}

reset_dbs() {
	local args=() t
	for t in "$@"; do
		args+=(-c "DROP DATABASE IF EXISTS $(db_of "$t") WITH (FORCE)" -c "CREATE DATABASE $(db_of "$t")")
	done
	PGOPTIONS='-c client_min_messages=warning' psql_q -d postgres "${args[@]}" >/dev/null
}

tables_in() {
	psql -X -A -t -q -d "$(db_of "$1")" \
		-c "SELECT count(*) FROM pg_tables WHERE schemaname = 'public' AND tablename ~ '^t[0-9]+\$'"
}

expect_tables() { # expect_tables WANT TOOL...
	local want=$1 t got
	shift
	for t in "$@"; do
		got=$(tables_in "$t")
		if [ "$got" != "$want" ]; then
			say "migrate.sh: $t: expected $want tables, found $got"
			exit 1
		fi
	done
}

# --- does pgward work yet? ---------------------------------------------------
if [ "$have_pgward" = 1 ]; then
	smoke() {
		reset_dbs pgward
		cd "$W"
		pgward_apply && [ "$(tables_in pgward)" = "$N" ] &&
			pgward_noop_up && pgward_status && pgward_down &&
			[ "$(tables_in pgward)" = $((N - 1)) ]
	}
	if ! smoke >"$W/smoke.log" 2>&1; then
		if [ "${REQUIRE_PGWARD:-0}" = 1 ]; then
			say "migrate.sh: pgward does not pass the smoke test:"; tail -n 30 "$W/smoke.log" >&2
			exit 1
		fi
		say "migrate.sh: warning: pgward does not pass the smoke test yet; timing the peers only"
		tail -n 10 "$W/smoke.log" | sed 's/^/  | /' >&2
		have_pgward=0
	fi
fi

if [ -n "${PGWARD_B:-}" ]; then
	case " $TOOLS " in *" pgward-b "*) ;; *) TOOLS="$TOOLS pgward-b" ;; esac
fi
tools=()
for t in $TOOLS; do
	if [ "$t" = pgward-b ] && [ ! -x "${PGWARD_B:-}" ]; then
		say "migrate.sh: PGWARD_B is not an executable: '${PGWARD_B:-}'"
		exit 2
	fi
	if [ "$t" = pgward ] && [ "$have_pgward" = 0 ]; then continue; fi
	tools+=("$t")
done
# shellcheck disable=SC2034 # used through a nameref in rotate
all=("${tools[@]}" psql libpq)

# rotate ARRAY-NAME K: the array rotated left by K (the tools' order in a round)
rotate() {
	local -n a=$1
	local k=$(($2 % ${#a[@]})) i
	for ((i = 0; i < ${#a[@]}; i++)); do printf '%s\n' "${a[(i + k) % ${#a[@]}]}"; done
}

round() {
	local r=$1 t rep
	local -a order apply_order quick_order down_order
	mapfile -t order < <(rotate all "$r")
	apply_order=(); quick_order=(); down_order=()
	for t in "${order[@]}"; do
		case "$t" in
		libpq) quick_order+=("$t") ;;
		psql) apply_order+=("$t"); down_order+=("$t") ;;
		*) apply_order+=("$t"); quick_order+=("$t"); down_order+=("$t") ;;
		esac
	done
	reset_dbs "${tools[@]}" psql
	for t in "${apply_order[@]}"; do settle; timed "$t" apply; done
	expect_tables "$N" "${tools[@]}" psql
	settle
	for ((rep = 0; rep < REPS; rep++)); do
		for t in "${quick_order[@]}"; do timed "$t" noop_up; done
	done
	for ((rep = 0; rep < REPS; rep++)); do
		for t in "${quick_order[@]}"; do timed "$t" status; done
	done
	for t in "${down_order[@]}"; do settle; timed "$t" down; done
	expect_tables $((N - 1)) "${tools[@]}" psql
}

say "migrate.sh: $N migrations; tools: ${tools[*]}; floors: psql -1 -f, libpq ($W/floor)"
say "migrate.sh: server: $settings"
say "migrate.sh: $WARMUP warm-up round(s), then $ROUNDS timed rounds ($REPS samples a round for noop_up and status)"
load_before=$(cut -d' ' -f1-3 /proc/loadavg)
for ((r = 0; r < WARMUP; r++)); do round "$r"; done
recording=1
for ((r = 1; r <= ROUNDS; r++)); do
	round "$r"
	say "migrate.sh: round $r/$ROUNDS done"
done

load_after=$(cut -d' ' -f1-3 /proc/loadavg)

# --- summary -----------------------------------------------------------------
# stats.tsv: tool op n median_ms min_ms max_ms
sort -t "$(printf '\t')" -k1,1 -k2,2 -k3,3n "$raw" | awk -F '\t' -v OFS='\t' '
function flush() {
	if (n == 0) return
	med = (n % 2) ? v[(n + 1) / 2] : (v[n / 2] + v[n / 2 + 1]) / 2
	print key_t, key_o, n, med / 1000, v[1] / 1000, v[n] / 1000
}
{
	if ($1 != key_t || $2 != key_o) { flush(); key_t = $1; key_o = $2; n = 0 }
	v[++n] = $3
}
END { flush() }' >"$W/stats.tsv"

stat() { # stat TOOL OP FIELD(4 median, 5 min, 6 max)
	awk -F '\t' -v t="$1" -v o="$2" -v f="$3" '$1 == t && $2 == o { print $f }' "$W/stats.tsv"
}
cell() {
	local med mn
	med=$(stat "$1" "$2" 4)
	if [ -z "$med" ]; then printf '%s' '—'; return; fi
	mn=$(stat "$1" "$2" 5)
	printf '%.1f (%.1f)' "$med" "$mn"
}
ratio() { # ratio A B: A/B with two decimals, or — when either is missing
	if [ -z "$1" ] || [ -z "$2" ]; then printf '%s' '—'; return; fi
	awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'
}
floor_of() { case "$1" in apply | down) echo psql ;; *) echo libpq ;; esac; }
opname() {
	case "$1" in
	apply) echo "apply $N to an empty db" ;;
	noop_up) echo "no-op up (all applied)" ;;
	status) echo "status (all applied)" ;;
	down) echo "roll back one" ;;
	esac
}

ops=(apply noop_up status down)
peers=()
for t in "${tools[@]}"; do [ "$t" = pgward ] || peers+=("$t"); done
{
	echo "## wall time, ms: median (min)"
	echo
	printf '| operation | floor |'
	for t in "${tools[@]}"; do printf ' %s |' "$t"; done
	echo
	printf '|---|---|'
	for t in "${tools[@]}"; do printf -- '---|'; done
	echo
	for o in "${ops[@]}"; do
		f=$(floor_of "$o")
		printf '| %s | %s %s |' "$(opname "$o")" "$([ "$f" = psql ] && echo 'psql -1 -f:' || echo 'libpq:')" "$(cell "$f" "$o")"
		for t in "${tools[@]}"; do printf ' %s |' "$(cell "$t" "$o")"; done
		echo
	done
	echo
	echo "Samples per cell: $ROUNDS rounds for apply and roll back, $((ROUNDS * REPS)) for no-op up and status."
	echo "Floors: 'psql -1 -f' runs the same SQL in one transaction; 'libpq' is bench/floor.c (connect, SELECT 1)."
	echo "status is 'pgward status --no-drift', 'sqitch status', 'alembic current', 'sql-migrate status'."
	echo "Server: $settings."
	echo "Load average (1, 5, 15 min) before: $load_before; after: $load_after ($(nproc) CPUs)."
	if [ "$have_pgward" = 1 ]; then
		echo
		echo "## ratios of medians"
		echo
		printf '| operation | pgward/floor |'
		for t in "${peers[@]}"; do printf ' pgward/%s |' "$t"; done
		echo
		printf '|---|---|'
		for t in "${peers[@]}"; do printf -- '---|'; done
		echo
		for o in "${ops[@]}"; do
			pw=$(stat pgward "$o" 4)
			printf '| %s | %s |' "$(opname "$o")" "$(ratio "$pw" "$(stat "$(floor_of "$o")" "$o" 4)")"
			for t in "${peers[@]}"; do printf ' %s |' "$(ratio "$pw" "$(stat "$t" "$o" 4)")"; done
			echo
		done
		echo
		echo "## targets"
		echo
		missed=0
		for spec in "noop_up libpq 1.30" "status libpq 1.30" "apply psql 1.25"; do
			# shellcheck disable=SC2086 # three words
			set -- $spec
			rt=$(ratio "$(stat pgward "$1" 4)" "$(stat "$2" "$1" 4)")
			if awk -v r="$rt" -v l="$3" 'BEGIN { exit !(r <= l) }'; then verdict=met; else verdict=MISSED; missed=1; fi
			printf -- '- %s: pgward/%s = %sx, target <= %sx: %s\n' "$(opname "$1")" \
				"$([ "$2" = psql ] && echo 'psql -1 -f' || echo 'libpq floor')" "$rt" "$3" "$verdict"
		done
		echo "$missed" >"$W/missed"
	else
		echo
		echo "pgward was not timed (not built, or not working yet): no ratios, no targets."
	fi
} >"$W/summary.md"

cat "$W/summary.md"
if [ -n "$OUT" ]; then
	mkdir -p "$OUT"
	cp "$W/summary.md" "$W/stats.tsv" "$W/raw.tsv" "$OUT/"
	say "migrate.sh: summary.md, stats.tsv (ms) and raw.tsv (µs) written to $OUT"
fi
if [ "$STRICT" = 1 ] && { [ "$have_pgward" = 0 ] || [ "$(cat "$W/missed")" = 1 ]; }; then
	exit 1
fi
exit 0
