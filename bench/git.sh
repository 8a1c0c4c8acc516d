#!/usr/bin/env bash
# bench/git.sh - how long `pgward releases` takes on a large history.
#
#   bench/git.sh [--rounds N] [--tags N] [--migrations N] [--keep]
#
# Builds, with `git fast-import` (a few seconds), a repository of TAGS
# commits (default 1000), each tagged (every tenth tag annotated, the rest
# lightweight; names v0.1.0 ... v9.9.9 so that version order and name order
# differ), adding MIGRATIONS migration files (default 500) along the way,
# with 200 other files in the tree so that trees are not trivial.  Then
# times ROUNDS runs (default 10, after one untimed warm-up) of:
#   releases        pgward releases          (table)
#   releases_json   pgward --json releases
#   moved           pgward releases, in a copy whose migrations dir moved
#                   (db/migrations -> migrations) half-way through, so half
#                   the tags are read from the old place
#   start           pgward --version          (process start, the floor)
# and prints median, minimum and maximum wall time and the peak RSS of one
# run, and whether `releases` meets its target: under 1 s.
#
# Environment: PGWARD (build/rel/pgward), ROUNDS, TAGS, MIGRATIONS,
# BENCH_NO_MAKE=1 (do not run make), KEEP=1 (keep the repositories and
# print where).  Needs git, and /usr/bin/time for the RSS figure.
set -euo pipefail
export LC_ALL=C

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)

PGWARD=${PGWARD:-$root/build/rel/pgward}
ROUNDS=${ROUNDS:-10}
TAGS=${TAGS:-1000}
MIGRATIONS=${MIGRATIONS:-500}
KEEP=${KEEP:-0}

while [ $# -gt 0 ]; do
	case "$1" in
	--rounds) ROUNDS=$2; shift 2 ;;
	--tags) TAGS=$2; shift 2 ;;
	--migrations) MIGRATIONS=$2; shift 2 ;;
	--keep) KEEP=1; shift ;;
	-h | --help) sed -n '2,/^set -e/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
	*) echo "git.sh: unknown argument '$1' (try --help)" >&2; exit 2 ;;
	esac
done
if [ "$TAGS" -lt 1 ] || [ "$MIGRATIONS" -gt "$TAGS" ]; then
	echo "git.sh: need 1 <= --migrations <= --tags" >&2
	exit 2
fi
command -v git >/dev/null || { echo "git.sh: git is not installed (apt-get install git)" >&2; exit 2; }

if [ "${BENCH_NO_MAKE:-0}" != 1 ]; then
	make -C "$root" --no-print-directory >/dev/null
fi
[ -x "$PGWARD" ] || { echo "git.sh: no pgward at $PGWARD" >&2; exit 2; }

work=$(mktemp -d "${TMPDIR:-/tmp}/pgward-bench-git.XXXXXX")
if [ "$KEEP" = 1 ]; then
	trap 'echo "repositories kept in $work" >&2' EXIT
else
	trap 'rm -rf "$work"' EXIT
fi

# Hermetic git: no user configuration, fixed identity.
export HOME="$work/home" GIT_CONFIG_NOSYSTEM=1
mkdir -p "$HOME"

# fast_import_stream MOVED: the history on stdout.  Commit i (1..TAGS) adds
# migration k = ceil(i * MIGRATIONS / TAGS) when k is new, changes one of
# 200 source files, and gets tag number i.  MOVED=1: commits in the first
# half keep migrations in db/migrations, the commit half-way moves them.
fast_import_stream() {
	awk -v tags="$TAGS" -v migs="$MIGRATIONS" -v moved="$1" '
	function data(s) { printf "data %d\n%s\n", length(s), s }
	function tagname(i) {
		# v0.1.0 ... : three parts of one digit, so v0.10.0 never
		# happens but v1.0.0 follows v0.9.9
		return sprintf("v%d.%d.%d", int(i / 100), int(i / 10) % 10, i % 10)
	}
	BEGIN {
		t = 1767225600 # 2026-01-01
		dir = moved ? "db/migrations" : "migrations"
		done = 0
		for (i = 1; i <= tags; i++) {
			print "commit refs/heads/main"
			printf "mark :%d\n", i
			printf "committer bench <bench@example.invalid> %d +0000\n", t + i * 3600
			data("commit " i)
			if (i == 1) {
				for (f = 0; f < 200; f++) {
					printf "M 100644 inline src/file%03d.c\n", f
					data("/* file " f " */")
				}
			}
			if (moved && i == int(tags / 2) + 1) {
				for (k = 1; k <= done; k++) {
					printf "D %s/%03d_m%03d.sql\n", dir, k, k
					printf "M 100644 inline migrations/%03d_m%03d.sql\n", k, k
					data(sprintf("-- migrate:up\nCREATE TABLE m%03d (id int);\n-- migrate:down\nDROP TABLE m%03d;\n", k, k))
				}
				dir = "migrations"
			}
			k = int((i * migs + tags - 1) / tags)
			if (k > done) {
				done = k
				printf "M 100644 inline %s/%03d_m%03d.sql\n", dir, k, k
				data(sprintf("-- migrate:up\nCREATE TABLE m%03d (id int);\n-- migrate:down\nDROP TABLE m%03d;\n", k, k))
			}
			printf "M 100644 inline src/file%03d.c\n", i % 200
			data("/* file " i % 200 " changed in commit " i " */")
			print ""
		}
		for (i = 1; i <= tags; i++) {
			if (i % 10 == 0) {
				printf "tag %s\nfrom :%d\n", tagname(i), i
				printf "tagger bench <bench@example.invalid> %d +0000\n", t + i * 3600
				data("release " tagname(i))
			} else {
				printf "reset refs/tags/%s\nfrom :%d\n\n", tagname(i), i
			}
		}
	}'
}

make_repo() {
	local dir=$1 moved=$2
	git init -q -b main "$dir"
	fast_import_stream "$moved" | git -C "$dir" fast-import --quiet
	git -C "$dir" checkout -q -f main
}

s=$(date +%s%N)
make_repo "$work/repo" 0
make_repo "$work/moved" 1
build_ms=$((($(date +%s%N) - s) / 1000000))
n_mig=$(find "$work/repo/migrations" -name '*.sql' | wc -l)
n_tags=$(git -C "$work/repo" tag | wc -l)
echo "repositories: $n_tags tags, $n_mig migrations, 200 other files; built with git fast-import in ${build_ms} ms"

# check that it works before timing it
"$PGWARD" --migrations "$work/repo/migrations" releases >"$work/out" 2>"$work/err" || {
	echo "git.sh: pgward releases failed:" >&2
	cat "$work/err" >&2
	exit 1
}
rows=$(($(wc -l <"$work/out") - 1))
last=$(tail -n 1 "$work/out")
echo "pgward releases: $rows releases; the last: $last"
"$PGWARD" --migrations "$work/moved/migrations" releases >"$work/out.moved" 2>"$work/err"
if [ "$(awk 'NR > 1 { print $1, $4 }' "$work/out")" != "$(awk 'NR > 1 { print $1, $4 }' "$work/out.moved")" ]; then
	echo "git.sh: the moved repository gives other versions:" >&2
	diff <(awk 'NR > 1 { print $1, $4 }' "$work/out") <(awk 'NR > 1 { print $1, $4 }' "$work/out.moved") | head >&2
	exit 1
fi

run_releases() { "$PGWARD" --migrations "$work/repo/migrations" releases; }
run_releases_json() { "$PGWARD" --json --migrations "$work/repo/migrations" releases; }
run_moved() { "$PGWARD" --migrations "$work/moved/migrations" releases; }
run_start() { "$PGWARD" --version; }

# time_ms CMD: wall time of one run in ms (3 decimals)
time_ms() {
	local s e
	s=$EPOCHREALTIME
	"$@" >/dev/null 2>&1
	e=$EPOCHREALTIME
	awk -v s="$s" -v e="$e" 'BEGIN { printf "%.3f\n", (e - s) * 1000 }'
}

ops="releases releases_json moved start"
for op in $ops; do
	time_ms "run_$op" >/dev/null # warm-up
	: >"$work/t.$op"
done
for ((r = 0; r < ROUNDS; r++)); do
	for op in $ops; do
		time_ms "run_$op" >>"$work/t.$op"
	done
done

# args OP: pgward's arguments for OP
args() {
	case "$1" in
	releases) echo "--migrations $work/repo/migrations releases" ;;
	releases_json) echo "--json --migrations $work/repo/migrations releases" ;;
	moved) echo "--migrations $work/moved/migrations releases" ;;
	start) echo "--version" ;;
	esac
}

# peak_rss OP: the peak RSS of one run, in kB ("?" without /usr/bin/time)
peak_rss() {
	if [ -x /usr/bin/time ]; then
		# shellcheck disable=SC2046
		/usr/bin/time -f %M "$PGWARD" $(args "$1") 2>&1 >/dev/null | tail -n 1
	else
		echo "?"
	fi
}

# stats FILE: "median min max" of the numbers in FILE
stats() {
	sort -n "$1" | awk '{ v[NR] = $1 }
		END { printf "%.1f %.1f %.1f\n", NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2, v[1], v[NR] }'
}

printf '\n%-14s %10s %10s %10s %11s\n' "operation" "median ms" "min ms" "max ms" "peak RSS"
for op in $ops; do
	read -r med min max <<<"$(stats "$work/t.$op")"
	printf '%-14s %10s %10s %10s %8s kB\n' "$op" "$med" "$min" "$max" "$(peak_rss "$op")"
done
read -r median _ <<<"$(stats "$work/t.releases")"
echo
if awk -v m="$median" 'BEGIN { exit !(m < 1000) }'; then
	echo "target: pgward releases under 1 s with $n_tags tags and $n_mig migrations: met (median ${median} ms, $ROUNDS rounds)"
else
	echo "target: pgward releases under 1 s with $n_tags tags and $n_mig migrations: NOT met (median ${median} ms, $ROUNDS rounds)"
	exit 1
fi
