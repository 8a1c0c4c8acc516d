#!/bin/bash
# run.sh PGWARD_BINARY RESULT_FILE [TEST...]
#
# Runs pgward's integration tests against one throwaway PostgreSQL 15
# cluster (tests/cluster.sh), removed on exit, failure, INT and TERM.  Every
# test script tests/integration/tNNNN-*.sh (or those named: "t0003",
# "t0003-checksum", a path) gets its own fresh database and work dir; a few
# run at a time (PGWARD_TEST_JOBS, default 3).  Prints "ok N - ..." or
# "not ok N - ..." per test case, in script order, and writes "PASSED FAILED"
# to RESULT_FILE.  Skipped cases count as neither.  Exit status: 0 all
# passed, 1 something failed, 2 could not run.
#
# Environment: PGWARD_TEST_JOBS (parallel scripts), PGWARD_TEST_TIMEOUT
# (seconds per script, default 300), PGWARD_TEST_VERBOSE=1 (show the output
# of passing cases too), PGWARD_TEST_KEEP=1 (keep work dirs, print where).
set -u

if [ $# -lt 2 ]; then
	echo "usage: $0 PGWARD_BINARY RESULT_FILE [TEST...]" >&2
	exit 2
fi
here=$(cd "$(dirname "$0")" && pwd)
result_file=$2
binary=$1
shift 2
PGBIN=${PGBIN:-/usr/lib/postgresql/15/bin}
export PGBIN
jobs_max=${PGWARD_TEST_JOBS:-3}
script_timeout=${PGWARD_TEST_TIMEOUT:-300}

if [ ! -x "$binary" ]; then
	echo "run.sh: no pgward binary at $binary" >&2
	exit 2
fi
PGWARD=$(cd "$(dirname "$binary")" && pwd)/$(basename "$binary")
export PGWARD

# Which scripts.
scripts=()
if [ $# = 0 ]; then
	for f in "$here"/t[0-9][0-9][0-9][0-9]-*.sh; do
		[ -e "$f" ] && scripts+=("$f")
	done
else
	for a in "$@"; do
		a=$(basename "$a" .sh)
		found=
		for f in "$here/$a"*.sh; do
			case "$(basename "$f")" in
			t[0-9][0-9][0-9][0-9]-*.sh) scripts+=("$f"); found=1 ;;
			esac
		done
		if [ -z "$found" ]; then
			echo "run.sh: no test matches '$a'" >&2
			exit 2
		fi
	done
fi
if [ ${#scripts[@]} = 0 ]; then
	echo "run.sh: no test scripts" >&2
	exit 2
fi

run_dir=
cluster=
pids=()
cleanup() {
	local p
	trap - EXIT INT TERM
	for p in "${pids[@]}"; do
		# each script runs under timeout(1), its own process group
		[ -n "$p" ] && kill -TERM -- "-$p" 2>/dev/null
	done
	if [ -n "$cluster" ]; then
		"$here/../cluster.sh" stop "$cluster" >/dev/null 2>&1
	fi
	if [ -n "$run_dir" ]; then
		if [ -n "${PGWARD_TEST_KEEP:-}" ]; then
			echo "# work dirs kept in $run_dir" >&2
		else
			rm -rf "$run_dir"
		fi
	fi
}
trap cleanup EXIT
trap 'echo "# interrupted" >&2; exit 130' INT
trap 'echo "# terminated" >&2; exit 143' TERM

start=$(date +%s)
run_dir=$(mktemp -d "${TMPDIR:-/tmp}/pgward-it.XXXXXX") || exit 2
chmod 755 "$run_dir"
if ! env_lines=$("$here/../cluster.sh" start); then
	echo "run.sh: could not start the test cluster" >&2
	exit 2
fi
eval "$env_lines"
cluster=$PGWARD_TEST_CLUSTER
# The role that logs in by password only (see cluster.sh's pg_hba.conf).
if ! "$PGBIN/psql" -XAtq -v ON_ERROR_STOP=1 -d postgres \
	-c "CREATE ROLE pgw_pw LOGIN PASSWORD 's3cretpw'" </dev/null >/dev/null; then
	echo "run.sh: could not set up the cluster's roles" >&2
	exit 2
fi

# Start script I in the background.
launch() {
	local i=$1 f=${scripts[$1]} name wd db
	name=$(basename "$f" .sh)
	wd="$run_dir/$name"
	db=$(echo "${name%%-*}" | tr 'A-Z' 'a-z')
	mkdir -p "$wd"
	chmod 755 "$wd"
	(
		if ! "$PGBIN/createdb" "$db" </dev/null >"$wd/createdb.log" 2>&1; then
			echo "not ok - createdb $db failed" >"$wd/log"
			say=$(cat "$wd/createdb.log")
			echo "# $say" >>"$wd/log"
			echo 1 >"$wd/rc"
			exit 0
		fi
		cd "$wd" || exit 1
		PGDATABASE=$db TEST_DIR="$wd/work" \
			timeout -k 10 "$script_timeout" bash -c 'mkdir -p "$TEST_DIR" &&
				chmod 755 "$TEST_DIR" && exec bash "$0"' "$f" \
			</dev/null >"$wd/log" 2>&1 &
		echo $! >"$wd/pid"
		wait $!
		echo $? >"$wd/rc"
	) &
	# the timeout(1) process: its pid is its process group
	local n=0
	while [ ! -s "$wd/pid" ] && [ ! -s "$wd/rc" ] && [ $n -lt 100 ]; do
		sleep 0.02
		n=$((n + 1))
	done
	pids[$i]=$(cat "$wd/pid" 2>/dev/null)
}

passed=0
failed=0
skipped=0
num=0

# Print script I's results, numbered.
report() {
	local f=${scripts[$1]} name wd rc line any=0 nfail=0
	name=$(basename "$f" .sh)
	wd="$run_dir/$name"
	rc=$(cat "$wd/rc")
	while IFS= read -r line; do
		case "$line" in
		"ok - "*"# SKIP"*)
			num=$((num + 1)); skipped=$((skipped + 1)); any=1
			echo "ok $num - $name: ${line#ok - }" ;;
		"ok - "*)
			num=$((num + 1)); passed=$((passed + 1)); any=1
			echo "ok $num - $name: ${line#ok - }" ;;
		"not ok - "*)
			num=$((num + 1)); failed=$((failed + 1)); any=1; nfail=$((nfail + 1))
			echo "not ok $num - $name: ${line#not ok - }" ;;
		"#"*) echo "$line" ;;
		*) echo "#	$line" ;;
		esac
	done <"$wd/log"
	if [ "$rc" != 0 ] && [ $nfail = 0 ]; then
		num=$((num + 1)); failed=$((failed + 1))
		if [ "$rc" = 124 ] || [ "$rc" = 137 ]; then
			echo "not ok $num - $name: timed out after ${script_timeout}s"
		else
			echo "not ok $num - $name: script exited with status $rc"
		fi
	elif [ $any = 0 ] && [ "$rc" = 0 ]; then
		num=$((num + 1)); failed=$((failed + 1))
		echo "not ok $num - $name: no test case ran"
	fi
	# stragglers of the script's process group
	[ -n "${pids[$1]:-}" ] && kill -KILL -- "-${pids[$1]}" 2>/dev/null
	pids[$1]=
}

total=${#scripts[@]}
next=0
printed=0
running=0
while [ $printed -lt $total ]; do
	running=0
	for ((i = printed; i < next; i++)); do
		[ -s "$run_dir/$(basename "${scripts[$i]}" .sh)/rc" ] || running=$((running + 1))
	done
	while [ $next -lt $total ] && [ $running -lt "$jobs_max" ]; do
		launch $next
		next=$((next + 1))
		running=$((running + 1))
	done
	while [ $printed -lt $next ] &&
		[ -s "$run_dir/$(basename "${scripts[$printed]}" .sh)/rc" ]; do
		report $printed
		printed=$((printed + 1))
	done
	[ $printed -lt $total ] && sleep 0.1
done
wait

echo "1..$num"
echo "# integration ($(basename "$PGWARD") in $(dirname "$PGWARD")): $passed passed, $failed failed, $skipped skipped, $(($(date +%s) - start)) s"
echo "$passed $failed" >"$result_file"
[ $failed = 0 ]
