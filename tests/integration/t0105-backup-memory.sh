#!/bin/bash
# Client memory stays flat whatever the table size: the peak resident set
# of `pgward backup` (--jobs 1 and 2) and of `pgward restore` for a table of
# 1M rows is within 10 MB of the same for 700k rows.
#
# Both sizes are past the point where a backup's fixed buffers are all in
# use (the part a reader fills, the part queued for the archive writer,
# zstd's worker buffers): at 500k rows (58 MB of COPY text) they were not
# always, and the comparison measured that warm-up, not growth.  A client
# that kept rows in memory would still show: the 300k rows more are 35 MB
# of COPY text.
. "$(dirname "$0")/lib.sh"

DB=$PGDATABASE
SMALL=${DB}_s
LARGE=${DB}_l
ARCH=$TEST_DIR/archives
LIMIT_KB=10240
mkdir -p "$ARCH"

psql_db() {
	"$PGBIN/psql" -XAtq -v ON_ERROR_STOP=1 -d "$1" -c "$2" </dev/null
}
fresh_db() {
	"$PGBIN/dropdb" --if-exists "$1" </dev/null &&
	"$PGBIN/createdb" "$1" </dev/null &&
	test_atexit "'$PGBIN/dropdb' --if-exists --force '$1'"
}

# peak_rss NAME COMMAND...: run COMMAND (stdin /dev/null); NAME.rc gets its
# exit code, NAME.kb its peak resident set in kB, NAME.out/.err its output.
# GNU time (Debian package time) when present, else VmHWM polled from /proc.
peak_rss() {
	local name=$1 pid hwm=0 v
	shift
	if [ -x /usr/bin/time ]; then
		/usr/bin/time -f %M -o "$name.time" "$@" </dev/null >"$name.out" 2>"$name.err"
		echo $? >"$name.rc"
		tail -n 1 "$name.time" >"$name.kb"
	else
		"$@" </dev/null >"$name.out" 2>"$name.err" &
		pid=$!
		while kill -0 "$pid" 2>/dev/null; do
			v=$(awk '/^VmHWM:/ { print $2 }' "/proc/$pid/status" 2>/dev/null)
			if [ -n "$v" ] && [ "$v" -gt "$hwm" ]; then hwm=$v; fi
			sleep 0.01
		done
		wait "$pid"
		echo $? >"$name.rc"
		echo "$hwm" >"$name.kb"
	fi
	echo "$name: exit $(cat "$name.rc"), peak RSS $(cat "$name.kb") kB"
	cat "$name.out" "$name.err"
	{
		echo "### [$name] exit $(cat "$name.rc")"
		cat "$name.out" "$name.err"
	} >>"$TRANSCRIPT"
	test_eq 0 "$(cat "$name.rc")" "exit code of $name" &&
	test_le 1000 "$(cat "$name.kb")" "peak RSS of $name (kB), a sanity check of the measurement"
}

# flat A B: peaks of runs A and B differ by less than LIMIT_KB.
flat() {
	local a b
	a=$(cat "$1.kb")
	b=$(cat "$2.kb")
	echo "peak RSS: $1 $a kB, $2 $b kB, difference $((b - a)) kB (limit $LIMIT_KB)"
	test_le $((b - a)) $((LIMIT_KB - 1)) "growth of peak RSS from $1 to $2 (kB)" &&
	test_le $((a - b)) $((LIMIT_KB - 1)) "shrink of peak RSS from $1 to $2 (kB)"
}

# An AddressSanitizer build keeps freed memory in quarantine (256 MB by
# default): its resident set measures the sanitizer, not pgward.
if grep -q -a -m 1 __asan_init "$PGWARD"; then
	for what in 'set up' 'backup --jobs 1' 'backup --jobs 2' 'restore'; do
		test_skip "memory: $what" "peak RSS of an AddressSanitizer build measures its quarantine, not pgward"
	done
	test_done
fi

test_expect_success 'set up: the same table with 700k rows and with 1M rows' '
	for db in "$SMALL:700000" "$LARGE:1000000"; do
		fresh_db "${db%%:*}" &&
		psql_db "${db%%:*}" "CREATE TABLE public.items (
				id bigint PRIMARY KEY, v text NOT NULL, n numeric, at timestamptz);
			INSERT INTO public.items
				SELECT g, md5(g::text) || E'\''\t'\'' || md5((g * 3)::text), g / 7.0,
					timestamptz '\''2024-01-01 00:00:00+00'\'' + g * interval '\''1 second'\''
				FROM generate_series(1, ${db#*:}) g" || return 1
	done &&
	test_eq 1000000 "$(psql_db "$LARGE" "SELECT count(*) FROM public.items")" "rows in the large table"
'

test_expect_success 'backup --jobs 1: peak RSS for 1M rows within 10 MB of 700k rows' '
	peak_rss b1_small "$PGWARD" -d "dbname=$SMALL" backup --jobs 1 -o "$ARCH/small.tar.zst" &&
	peak_rss b1_large "$PGWARD" -d "dbname=$LARGE" backup --jobs 1 -o "$ARCH/large.tar.zst" &&
	flat b1_small b1_large
'

test_expect_success 'backup --jobs 2: peak RSS for 1M rows within 10 MB of 700k rows' '
	peak_rss b2_small "$PGWARD" -d "dbname=$SMALL" backup --jobs 2 -o "$ARCH/small2.tar.zst" &&
	peak_rss b2_large "$PGWARD" -d "dbname=$LARGE" backup --jobs 2 -o "$ARCH/large2.tar.zst" &&
	flat b2_small b2_large
'

test_expect_success 'restore --into an empty database: peak RSS for 1M rows within 10 MB of 700k rows' '
	fresh_db "${SMALL}_r" &&
	fresh_db "${LARGE}_r" &&
	peak_rss r_small "$PGWARD" -d "dbname=$SMALL" restore "$ARCH/small.tar.zst" --yes --into "${SMALL}_r" &&
	peak_rss r_large "$PGWARD" -d "dbname=$LARGE" restore "$ARCH/large.tar.zst" --yes --into "${LARGE}_r" &&
	test_eq 1000000 "$(psql_db "${LARGE}_r" "SELECT count(*) FROM public.items")" "rows restored" &&
	flat r_small r_large
'

test_expect_success 'progress in a log: each table ends with a line of rows, MB and rows/s' '
	test_grep -E "^backup public\.items: 1\.0M rows, [0-9]+\.[0-9] MB in [0-9]+\.[0-9] s \([0-9.]+[kM]? rows/s\)$" b1_large.err &&
	test_grep -E "^restore public\.items: 1\.0M rows, [0-9]+\.[0-9] MB in [0-9]+\.[0-9] s \([0-9.]+[kM]? rows/s\)$" r_large.err
'

# script(1) (util-linux) gives pgward a terminal: the bar instead of lines
test_expect_success 'progress on a terminal: a bar with rows, MB, rows/s and an ETA from pg_class' '
	psql_db "$LARGE" "ANALYZE public.items" &&
	script -qfec "$PGWARD -d dbname=$LARGE backup --jobs 1 -o $ARCH/tty.tar.zst" /dev/null >tty.out </dev/null &&
	tr "\r" "\n" <tty.out >tty.lines &&
	cat tty.lines >>"$TRANSCRIPT" &&
	test_grep -E "^.*backup public\.items \[#*\.*\] [0-9.]+[kM]?/1\.0M rows, [0-9]+\.[0-9] MB, [0-9.]+[kM]? rows/s, ETA [0-9]+ s" tty.lines
'

test_done
