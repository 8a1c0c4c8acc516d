#!/bin/bash
# run-unit.sh BUILD_DIR RESULT_FILE
#
# Runs every cmocka binary BUILD_DIR/tests/test_* and writes "PASSED FAILED"
# (test counts, from cmocka's "[  PASSED  ] N test(s)." and "[  FAILED  ] N
# test(s)" lines) to RESULT_FILE.  A binary that crashes, times out, exits
# non-zero with no failure reported, or prints a sanitizer report counts as
# at least one failure.  No binaries at all is zero tests, not an error.
# The output of a failing binary is shown.  Exit status: 0 all passed, 1
# something failed, 2 could not run.
set -u

if [ $# != 2 ]; then
	echo "usage: $0 BUILD_DIR RESULT_FILE" >&2
	exit 2
fi
dir=$1
result_file=$2
if [ ! -d "$dir" ]; then
	echo "run-unit.sh: no build dir $dir" >&2
	exit 2
fi
per_binary_timeout=${PGWARD_UNIT_TIMEOUT:-120}

passed=0
failed=0
bins=0
log=$(mktemp "${TMPDIR:-/tmp}/pgward-unit.XXXXXX") || exit 2
trap 'exit 130' INT
trap 'exit 143' TERM

# Unit tests of modules that talk to a server get a throwaway cluster of
# their own (each test creates and drops its own database in it:
# tests/unit/fixture_pg.h), unless the caller gives one (PGWARD_UNIT_PG=1
# with PGHOST etc. set).
cluster=
if [ -z "${PGWARD_UNIT_PG:-}" ]; then
	unset PGHOST PGPORT PGUSER PGDATABASE PGPASSWORD PGSERVICE PGOPTIONS DATABASE_URL
	if env_lines=$("$(dirname "$0")/cluster.sh" start); then
		eval "$env_lines"
		cluster=$PGWARD_TEST_CLUSTER
		export PGWARD_UNIT_PG=1
	else
		echo "run-unit.sh: could not start a cluster; tests that need a server fail" >&2
	fi
fi
stop_cluster() {
	rm -f "$log"
	if [ -n "$cluster" ]; then "$(dirname "$0")/cluster.sh" stop "$cluster" >/dev/null 2>&1; fi
}
trap stop_cluster EXIT

for t in "$dir"/tests/test_*; do
	[ -f "$t" ] && [ -x "$t" ] || continue
	bins=$((bins + 1))
	name=$(basename "$t")
	timeout -k 5 "$per_binary_timeout" "$t" </dev/null >"$log" 2>&1
	rc=$?
	p=$(sed -n 's/^\[  PASSED  \] \([0-9][0-9]*\) test(s)\..*/\1/p' "$log" |
		awk '{ s += $1 } END { print s + 0 }')
	f=$(sed -n 's/^\[  FAILED  \] \([0-9][0-9]*\) test(s), listed below:.*/\1/p' "$log" |
		awk '{ s += $1 } END { print s + 0 }')
	why=
	if [ "$rc" = 124 ] || [ "$rc" = 137 ]; then
		why="timed out after ${per_binary_timeout}s"
	elif [ "$rc" -gt 128 ]; then
		why="killed by signal $((rc - 128))"
	elif grep -q -E "ERROR: (Address|Leak)Sanitizer|runtime error:" "$log"; then
		why="sanitizer report"
	elif [ "$rc" != 0 ] && [ "$f" = 0 ]; then
		why="exit status $rc with no failed test reported"
	elif [ "$rc" = 0 ] && [ "$p" = 0 ] && [ "$f" = 0 ]; then
		why="no cmocka summary"
	fi
	if [ -n "$why" ] && [ "$f" = 0 ]; then
		f=1
	fi
	passed=$((passed + p))
	failed=$((failed + f))
	if [ "$f" = 0 ]; then
		echo "ok - $name: $p passed"
	else
		echo "not ok - $name: $p passed, $f failed${why:+ ($why)}"
		sed 's/^/#	/' "$log"
	fi
done

echo "# unit ($dir): $bins binaries, $passed passed, $failed failed"
echo "$passed $failed" >"$result_file"
[ "$failed" = 0 ]
