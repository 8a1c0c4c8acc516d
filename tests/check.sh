#!/bin/bash
# check.sh REL_DIR SAN_DIR -- what `make check` runs.
#
# Five suites: the unit tests of the release build and of the ASan+UBSan
# build, the integration tests (tests/integration/run.sh) with each
# build's pgward, and the demo (ci/demo.sh, what `make demo` runs) as one
# case.  The two integration suites run side by side, each on its
# own throwaway cluster (PGWARD_CHECK_SERIAL=1 runs them one after the
# other).  Prints each suite's output and summary line, then exactly one
# final line "N passed, N failed" summing all suites.  Exits non-zero if
# anything failed or a suite could not run (that counts as one failure).
set -u

if [ $# != 2 ]; then
	echo "usage: $0 REL_DIR SAN_DIR" >&2
	exit 2
fi
rel=$1
san=$2
here=$(cd "$(dirname "$0")" && pwd)

export ASAN_OPTIONS=detect_leaks=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
export LSAN_OPTIONS=suppressions=$here/lsan.supp:print_suppressions=0

tmp=$(mktemp -d "${TMPDIR:-/tmp}/pgward-check.XXXXXX") || exit 2
bg=
cleanup() {
	trap - EXIT INT TERM
	# run.sh removes its own cluster when it gets TERM
	[ -n "$bg" ] && kill -TERM "$bg" 2>/dev/null && wait "$bg" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

start=$(date +%s)
total_passed=0
total_failed=0
summaries=()

# collect LABEL RESULT_FILE STATUS SECONDS
collect() {
	local label=$1 res=$2 status=$3 secs=$4 p f
	if [ -s "$res" ] && read -r p f <"$res" && [ -n "$p" ] && [ -n "$f" ]; then
		total_passed=$((total_passed + p))
		total_failed=$((total_failed + f))
		summaries+=("$label: $p passed, $f failed ($secs s)")
	else
		total_failed=$((total_failed + 1))
		summaries+=("$label: could not run (exit $status)")
	fi
}

run_suite() {
	local label=$1 res="$tmp/$2" s rc
	shift 2
	echo "### $label"
	s=$(date +%s)
	"$@" "$res"
	rc=$?
	collect "$label" "$res" $rc $(($(date +%s) - s))
}

run_integration() {
	local dir=$1 res=$2
	if [ ! -x "$dir/pgward" ]; then
		echo "check.sh: $dir/pgward is missing" >&2
		return 2
	fi
	"$here/integration/run.sh" "$dir/pgward" "$res"
}

# make demo, the README's first command, as one case: it must pass too.
run_demo() {
	local res=$1 root
	root=$(cd "$here/.." && pwd)
	if "$root/ci/demo.sh" "$rel/pgward" >"$tmp/demo.log" 2>&1; then
		tail -1 "$tmp/demo.log"
		echo "1 0" >"$res"
	else
		cat "$tmp/demo.log"
		echo "0 1" >"$res"
	fi
}

# The sanitizer integration suite in the background, its output buffered.
san_start=$(date +%s)
if [ -z "${PGWARD_CHECK_SERIAL:-}" ] && [ -x "$san/pgward" ]; then
	"$here/integration/run.sh" "$san/pgward" "$tmp/it-san.res" >"$tmp/it-san.log" 2>&1 &
	bg=$!
fi

run_suite "unit ($rel)" unit-rel.res "$here/run-unit.sh" "$rel"
run_suite "unit ($san)" unit-san.res "$here/run-unit.sh" "$san"
run_suite "integration ($rel/pgward)" it-rel.res run_integration "$rel"
run_suite "demo (ci/demo.sh $rel/pgward)" demo.res run_demo

echo "### integration ($san/pgward)"
if [ -n "$bg" ]; then
	wait "$bg"
	rc=$?
	bg=
	cat "$tmp/it-san.log"
	collect "integration ($san/pgward)" "$tmp/it-san.res" $rc $(($(date +%s) - san_start))
else
	s=$(date +%s)
	run_integration "$san" "$tmp/it-san.res"
	rc=$?
	collect "integration ($san/pgward)" "$tmp/it-san.res" $rc $(($(date +%s) - s))
fi

echo "###"
for line in "${summaries[@]}"; do
	echo "# $line"
done
echo "# total time $(($(date +%s) - start)) s"
echo "$total_passed passed, $total_failed failed"
[ "$total_failed" = 0 ]
