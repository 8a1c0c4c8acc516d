#!/bin/bash
# lib.sh - helpers for pgward's integration tests, in the style of git's
# t/test-lib.sh.  A test script sources it first:
#
#	. "$(dirname "$0")/lib.sh"
#	test_expect_success 'up applies the pending migrations' '
#		test_expect_code 0 pgward up &&
#		test "$(psql_val "SELECT count(*) FROM pgward.migrations")" = 3
#	'
#	test_done
#
# run.sh gives every script its own database (PGDATABASE), its own empty
# work dir (TEST_DIR, also the current dir), and PGWARD, the binary under
# test.  A script prints one line per case, "ok - DESC", "not ok - DESC" or
# "ok - DESC # SKIP REASON"; everything else it prints starts with "#".
# run.sh numbers the cases.  Run one script on its own with
#	tests/integration/run.sh build/rel/pgward /dev/null t0001
# and PGWARD_TEST_VERBOSE=1 to see the output of passing cases too.

if [ -z "${PGWARD:-}" ] || [ -z "${TEST_DIR:-}" ] || [ -z "${PGDATABASE:-}" ]; then
	echo "lib.sh: run tests through tests/integration/run.sh" >&2
	exit 2
fi

PGBIN=${PGBIN:-/usr/lib/postgresql/15/bin}
TEST_SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
TEST_NAME=$(basename "$0" .sh)
# The password of the role pgw_pw, created by run.sh.  Tests grep for it.
PGW_SECRET=s3cretpw
MIG="$TEST_DIR/migrations"
OUT="$TEST_DIR/out"
ERR="$TEST_DIR/err"
# Every command run by test_expect_code is appended here (stdout and stderr).
TRANSCRIPT="$TEST_DIR/transcript"
mkdir -p "$MIG" "$TEST_DIR/sanitizer" "$TEST_DIR/sanitizer.seen"
: >"$TRANSCRIPT"
cd "$TEST_DIR" || exit 2

# A hermetic environment: nothing from the caller's shell may change what
# pgward does.  PGHOST, PGPORT, PGUSER and PGDATABASE point at the cluster.
unset DATABASE_URL PGWARD_DIRECT_URL PGWARD_CONFIG PGWARD_MIGRATIONS \
	PGWARD_NOTIFY_URL PGWARD_NOTIFY_SECRET MIGRATION_TIMEOUT \
	AUTO_MIGRATE_ON_START PGPASSWORD PGAPPNAME PGOPTIONS PGDATESTYLE \
	PGCLIENTENCODING PGSERVICE PGSERVICEFILE PGSSLMODE PGTZ PGCONNECT_TIMEOUT \
	GITHUB_ACTIONS GITHUB_STEP_SUMMARY GITHUB_OUTPUT
export PGPASSFILE="$TEST_DIR/no-pgpass"
export LC_ALL=C.UTF-8
# Sanitizer reports go to files that every case checks (a report must fail
# the case even when pgward's exit code happens to be the expected one).
ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}log_path=$TEST_DIR/sanitizer/asan"
UBSAN_OPTIONS="${UBSAN_OPTIONS:+$UBSAN_OPTIONS:}log_path=$TEST_DIR/sanitizer/ubsan"
export ASAN_OPTIONS UBSAN_OPTIONS

test_count=0
test_failed=0
test_skipped=0
test_atexit_cmds=
test_prereqs=" "

# build_fixture SOURCE OUT: a test tool of tests/fixtures/, linked with the
# libpgward.a of the build under test (with its sanitizers when it has
# them).
build_fixture() {
	local root build san=
	root=$(cd "$TEST_SRC/../.." && pwd)
	build=$(dirname "$PGWARD")
	if nm "$build/libpgward.a" 2>/dev/null | grep -q __asan_; then
		san="-fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer"
	fi
	cc -std=c11 -D_POSIX_C_SOURCE=200809L -Wall -Wextra -Werror $san \
		-I"$root/core" $(pkg-config --cflags libpq) \
		"$root/tests/fixtures/$1" "$build/libpgward.a" \
		$(pkg-config --libs libpq) -l:libjansson.a -l:libinih.a \
		-l:libnettle.a -l:libpg_query.a -lpthread -o "$2" &&
		test -x "$2"
}

# pgward with this test's migrations dir.  Use "$PGWARD" to run it bare.
pgward() {
	"$PGWARD" --migrations "$MIG" "$@"
}

say_diag() {
	sed 's/^/#	/'
}

now_ms() {
	date +%s%3N
}

# test_atexit 'COMMAND': run COMMAND when the script ends, however it ends.
test_atexit() {
	test_atexit_cmds="$1
$test_atexit_cmds"
}

test_run_atexit() {
	local cmds=$test_atexit_cmds
	test_atexit_cmds=
	eval "$cmds" >/dev/null 2>&1
	# Sessions a case left behind (a lock holder, a cancelled pgward).
	"$PGBIN/psql" -XAtq -c "SELECT pg_terminate_backend(pid) FROM pg_stat_activity
		WHERE datname = current_database() AND pid <> pg_backend_pid()" \
		</dev/null >/dev/null 2>&1
	local pid
	for pid in $(jobs -p); do
		kill "$pid" 2>/dev/null
	done
	wait 2>/dev/null
}
trap 'test_run_atexit' EXIT

test_set_prereq() {
	test_prereqs="$test_prereqs$1 "
}

test_have_prereq() {
	case "$test_prereqs" in
	*" $1 "*) return 0 ;;
	esac
	return 1
}

# New sanitizer reports since the last call: print them, return 1.
test_check_sanitizer() {
	local f found=0
	for f in "$TEST_DIR"/sanitizer/*; do
		[ -e "$f" ] || continue
		echo "sanitizer report $(basename "$f"):"
		cat "$f"
		mv "$f" "$TEST_DIR/sanitizer.seen/"
		found=1
	done
	return $found
}

# The body runs in a function of its own, so that "return 1" in a loop
# fails the case (as in git's test suite).
test_eval_() {
	eval "$1"
}

# test_expect_success [PREREQ] 'description' 'commands'
test_expect_success() {
	local prereq=
	if [ $# = 3 ]; then
		prereq=$1
		shift
	fi
	local desc=$1 body=$2 log="$TEST_DIR/case.log" rc
	test_count=$((test_count + 1))
	if [ -n "$prereq" ] && ! test_have_prereq "$prereq"; then
		test_skipped=$((test_skipped + 1))
		echo "ok - $desc # SKIP missing $prereq"
		return 0
	fi
	: >"$log"
	test_eval_ "$body" >>"$log" 2>&1 </dev/null
	rc=$?
	test_check_sanitizer >>"$log" 2>&1 || rc=1
	if [ $rc = 0 ]; then
		echo "ok - $desc"
		[ -n "${PGWARD_TEST_VERBOSE:-}" ] && say_diag <"$log"
	else
		test_failed=$((test_failed + 1))
		echo "not ok - $desc"
		say_diag <"$log"
		echo "$body" | sed 's/^/#	| /'
	fi
	return 0
}

# test_skip 'description' 'reason'
test_skip() {
	test_count=$((test_count + 1))
	test_skipped=$((test_skipped + 1))
	echo "ok - $1 # SKIP $2"
}

test_done() {
	local rc=0
	if ! test_check_sanitizer >"$TEST_DIR/sanitizer.log" 2>&1; then
		test_count=$((test_count + 1))
		test_failed=$((test_failed + 1))
		echo "not ok - no sanitizer report after the last case"
		say_diag <"$TEST_DIR/sanitizer.log"
	fi
	test_run_atexit
	if [ $test_count = 0 ]; then
		echo "not ok - the script ran no test case"
		rc=1
	fi
	[ $test_failed = 0 ] || rc=1
	echo "# $TEST_NAME: $test_count cases, $test_failed failed, $test_skipped skipped"
	exit $rc
}

# test_expect_code CODE COMMAND [ARG...]: run COMMAND (stdin /dev/null,
# stdout in $OUT, stderr in $ERR, both also appended to $TRANSCRIPT); fail
# when it exits with anything but CODE.  Its output goes to the case's log,
# shown when the case fails.
test_expect_code() {
	local want=$1 got
	shift
	"$@" </dev/null >"$OUT" 2>"$ERR"
	got=$?
	# (not the command line: it may hold the very password being tested)
	{
		echo "### exit $got"
		cat "$OUT" "$ERR"
	} >>"$TRANSCRIPT"
	if [ "$got" != "$want" ]; then
		echo "expected exit $want, got $got: $*"
	else
		echo "exit $got: $*"
	fi
	if [ -s "$OUT" ]; then
		echo "--- stdout"
		cat "$OUT"
	fi
	if [ -s "$ERR" ]; then
		echo "--- stderr"
		cat "$ERR"
	fi
	if grep -q -E "runtime error:|ERROR: (Address|Leak|Thread|Memory)Sanitizer" "$ERR"; then
		echo "sanitizer report on stderr (above): $*"
		return 1
	fi
	[ "$got" = "$want" ]
}

# test_grep [!] [GREP-OPTIONS] PATTERN FILE: grep, but show FILE on failure.
test_grep() {
	local negate=
	if [ "$1" = "!" ]; then
		negate=1
		shift
	fi
	local file=${!#}
	if [ -n "$negate" ]; then
		if grep "$@" >/dev/null; then
			echo "unexpected match for '${*:1:$#-1}' in $file:"
			grep "$@"
			return 1
		fi
	elif ! grep "$@" >/dev/null; then
		echo "no match for '${*:1:$#-1}' in $file:"
		cat "$file"
		return 1
	fi
	return 0
}

# test_cmp EXPECTED ACTUAL
test_cmp() {
	diff -u "$1" "$2"
}

# test_eq EXPECTED ACTUAL [WHAT]
test_eq() {
	if [ "$1" != "$2" ]; then
		echo "${3:-value}: expected '$1', got '$2'"
		return 1
	fi
}

# test_le A B [WHAT]: integers, A <= B
test_le() {
	if ! [ "$1" -le "$2" ]; then
		echo "${3:-value}: expected $1 <= $2"
		return 1
	fi
}

psql_run() {
	"$PGBIN/psql" -XAtq -v ON_ERROR_STOP=1 -c "$1" </dev/null
}

# psql_val SQL: the value(s) the query returns, unaligned, one row a line.
psql_val() {
	"$PGBIN/psql" -XAtq -v ON_ERROR_STOP=1 -c "$1" </dev/null
}

table_exists() {
	test "$(psql_val "SELECT to_regclass('$1') IS NOT NULL")" = t
}

column_exists() {
	test "$(psql_val "SELECT count(*) FROM pg_attribute
		WHERE attrelid = to_regclass('$1') AND attname = '$2'
		AND NOT attisdropped")" = 1
}

# history_versions [SCHEMA]: applied versions as numbers, "1,2,3"; empty
# when there is no history table.
history_versions() {
	local s=${1:-pgward}
	if [ "$(psql_val "SELECT to_regclass('$s.migrations') IS NOT NULL")" != t ]; then
		echo ""
		return
	fi
	psql_val "SELECT coalesce(string_agg(version::bigint::text, ','
		ORDER BY version::bigint), '') FROM $s.migrations"
}

# expect_history "1,2,3": the applied versions, from the history table.
expect_history() {
	test_eq "$1" "$(history_versions "${2:-pgward}")" "applied versions"
}

# write_migration FILE: stdin becomes $MIG/FILE.
write_migration() {
	mkdir -p "$MIG"
	cat >"$MIG/$1"
}

pg_dump_clean() {
	"$PGBIN/pg_dump" "$@" </dev/null | grep -v -e '^\\restrict' -e '^\\unrestrict'
	return "${PIPESTATUS[0]}"
}

# schema_dump FILE: pg_dump --schema-only of the test database.
schema_dump() {
	pg_dump_clean --schema-only >"$1"
}

# schema_snapshot FILE: the schema plus the history table's rows.
schema_snapshot() {
	{
		pg_dump_clean --schema-only
		echo "-- history rows"
		if [ "$(psql_val "SELECT to_regclass('pgward.migrations') IS NOT NULL")" = t ]; then
			psql_val "SELECT * FROM pgward.migrations ORDER BY 1"
		fi
	} >"$1"
}

# db_snapshot FILE: schema and every row of every table (pgward's journal,
# advisory by design, excepted), for "nothing changed" comparisons.
db_snapshot() {
	pg_dump_clean --exclude-table-data='pgward_journal*.*' >"$1"
}

# A libpq connection string for the test database as role pgw_pw.
pw_kv() {
	echo "host=$PGHOST port=$PGPORT user=pgw_pw password=${1:-$PGW_SECRET} dbname=$PGDATABASE"
}

pw_url() {
	local host
	host=$(printf '%s' "$PGHOST" | sed 's|/|%2F|g')
	echo "postgresql://pgw_pw:${1:-$PGW_SECRET}@/$PGDATABASE?host=$host&port=$PGPORT"
}

# Let pgw_pw own this test's database and its public schema.
grant_pw_role() {
	psql_run "ALTER DATABASE \"$PGDATABASE\" OWNER TO pgw_pw;
		ALTER SCHEMA public OWNER TO pgw_pw"
}

# bg_start NAME COMMAND...: run COMMAND in the background; its stdout,
# stderr, exit code and wall time (ms) go to NAME.out .err .rc .ms.
bg_start() {
	local name=$1
	shift
	rm -f "$TEST_DIR/$name".{out,err,rc,ms}
	(
		s=$(now_ms)
		"$@" </dev/null >"$TEST_DIR/$name.out" 2>"$TEST_DIR/$name.err"
		rc=$?
		echo $(($(now_ms) - s)) >"$TEST_DIR/$name.ms"
		echo $rc >"$TEST_DIR/$name.rc"
	) &
	eval "bg_pid_$name=$!"
}

# bg_wait NAME [SECONDS]: wait for it (at most SECONDS, default 60).
bg_wait() {
	local name=$1 limit=$((${2:-60} * 10)) i=0
	while [ ! -f "$TEST_DIR/$name.rc" ]; do
		i=$((i + 1))
		if [ $i -gt $limit ]; then
			echo "background command $name still running after ${2:-60}s"
			return 1
		fi
		sleep 0.1
	done
	local pidvar="bg_pid_$name"
	wait "${!pidvar}" 2>/dev/null
	{
		echo "### [$name] exit $(cat "$TEST_DIR/$name.rc")"
		cat "$TEST_DIR/$name.out" "$TEST_DIR/$name.err"
	} >>"$TRANSCRIPT"
	if grep -q -E "runtime error:|ERROR: (Address|Leak|Thread|Memory)Sanitizer" "$TEST_DIR/$name.err"; then
		echo "sanitizer report on stderr of $name:"
		cat "$TEST_DIR/$name.err"
		return 1
	fi
	return 0
}

bg_rc() {
	cat "$TEST_DIR/$1.rc"
}

bg_ms() {
	cat "$TEST_DIR/$1.ms"
}

bg_show() {
	echo "--- $1: exit $(cat "$TEST_DIR/$1.rc" 2>/dev/null), $(cat "$TEST_DIR/$1.ms" 2>/dev/null) ms"
	cat "$TEST_DIR/$1.out" "$TEST_DIR/$1.err" 2>/dev/null
}

# psql_bg NAME SQL: a background session, application_name pgw_test_NAME.
psql_bg() {
	local name=$1
	shift
	bg_start "$name" env PGAPPNAME="pgw_test_$name" \
		"$PGBIN/psql" -XAtq -v ON_ERROR_STOP=1 -c "$1"
}

# kill_session NAME: terminate the server session(s) of psql_bg NAME.
kill_session() {
	psql_val "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
		WHERE application_name = 'pgw_test_$1'
		AND datname = current_database()" >/dev/null
}

# wait_for SECONDS SQL: poll until SQL returns t.
wait_for() {
	local limit=$(($1 * 20)) i=0
	while [ "$(psql_val "$2" 2>/dev/null)" != t ]; do
		i=$((i + 1))
		if [ $i -gt $limit ]; then
			echo "timed out after $1 s waiting for: $2"
			return 1
		fi
		sleep 0.05
	done
}

# wait_for_lock SECONDS TABLE [APPNAME-PATTERN]: until another session holds
# ACCESS EXCLUSIVE on TABLE.
wait_for_lock() {
	wait_for "$1" "SELECT EXISTS (SELECT 1 FROM pg_locks l
		JOIN pg_stat_activity a ON a.pid = l.pid
		WHERE a.datname = current_database()
		AND l.relation = to_regclass('$2') AND l.granted
		AND l.mode = 'AccessExclusiveLock'
		AND a.application_name LIKE '${3:-%}')"
}

# json_check FILE 'PYTHON-EXPR': FILE must hold one JSON document for
# which EXPR (with the document in d) is true.
json_check() {
	python3 - "$1" "$2" <<'EOF'
import json, sys
try:
    with open(sys.argv[1]) as f:
        d = json.load(f)
except Exception as e:
    print("not one JSON document (%s):" % e)
    print(open(sys.argv[1]).read())
    sys.exit(1)
try:
    ok = eval("(" + sys.argv[2] + "\n)", {"d": d})
except Exception as e:
    ok = False
    print("%s: %s" % (type(e).__name__, e))
if not ok:
    print("JSON check failed: " + sys.argv[2])
    print(json.dumps(d, indent=2))
    sys.exit(1)
EOF
}

# no_secret [SECRET] [FILE...]: the secret appears in none of the files
# (default: every output captured so far in $TRANSCRIPT).
no_secret() {
	local secret=${1:-$PGW_SECRET}
	shift
	[ $# -gt 0 ] || set -- "$TRANSCRIPT"
	if grep -F -n -- "$secret" "$@"; then
		echo "the secret '$secret' was printed (lines above)"
		return 1
	fi
}

# start_pgbouncer MODE: a PgBouncer in front of the cluster, listening on a
# unix socket in a dir of its own; sets BOUNCER_HOST and BOUNCER_PORT.
# Server connections are handed out round robin, as on a busy pooler.
start_pgbouncer() {
	local mode=$1 dir="$TEST_DIR/bouncer"
	command -v pgbouncer >/dev/null || return 1
	mkdir -p "$dir"
	BOUNCER_HOST=$dir
	BOUNCER_PORT=6432
	cat >"$dir/pgbouncer.ini" <<EOF
[databases]
* = host=$PGHOST port=$PGPORT
[pgbouncer]
listen_port = $BOUNCER_PORT
unix_socket_dir = $dir
auth_type = trust
auth_file = $dir/userlist.txt
pool_mode = $mode
server_round_robin = 1
default_pool_size = 10
max_client_conn = 100
ignore_startup_parameters = extra_float_digits
pidfile = $dir/pgbouncer.pid
logfile = $dir/pgbouncer.log
EOF
	printf '"postgres" ""\n"pgw_pw" ""\n' >"$dir/userlist.txt"
	if [ "$(id -u)" = 0 ]; then
		chown -R postgres:postgres "$dir"
		runuser -u postgres -- pgbouncer "$dir/pgbouncer.ini" </dev/null >"$dir/stdout" 2>&1 &
	else
		pgbouncer "$dir/pgbouncer.ini" </dev/null >"$dir/stdout" 2>&1 &
	fi
	test_atexit "kill \$(cat '$dir/pgbouncer.pid') 2>/dev/null"
	local i=0
	while [ ! -S "$dir/.s.PGSQL.$BOUNCER_PORT" ]; do
		i=$((i + 1))
		if [ $i -gt 100 ]; then
			echo "pgbouncer did not start:"
			cat "$dir/stdout" "$dir/pgbouncer.log" 2>/dev/null
			return 1
		fi
		sleep 0.1
	done
}

# start_tcp_proxy: a TCP listener on 127.0.0.1 relaying to the cluster's
# socket, so that pgward connects over TCP; sets PROXY_PORT.
start_tcp_proxy() {
	rm -f "$TEST_DIR/proxy.port"
	python3 "$TEST_SRC/tcpproxy.py" "$PGHOST/.s.PGSQL.$PGPORT" \
		"$TEST_DIR/proxy.port" </dev/null >"$TEST_DIR/proxy.log" 2>&1 &
	test_atexit "kill $!"
	local i=0
	while [ ! -s "$TEST_DIR/proxy.port" ]; do
		i=$((i + 1))
		if [ $i -gt 100 ]; then
			echo "tcp proxy did not start:"
			cat "$TEST_DIR/proxy.log"
			return 1
		fi
		sleep 0.1
	done
	PROXY_PORT=$(cat "$TEST_DIR/proxy.port")
}
