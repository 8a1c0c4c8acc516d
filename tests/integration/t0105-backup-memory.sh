#!/bin/bash
# Client memory stays flat whatever the table size: the peak resident set
# of `pgward backup` (--jobs 1 and 2) and of `pgward restore --into` for a
# table of 5M rows is within 10 MB of the same for 1M rows.
#
# At 1M rows (116 MB of COPY text) a backup's fixed buffers are all in use
# (the part a reader fills, the part queued for the archive writer, zstd's
# worker buffers), so the difference measures growth, not warm-up.  The 4M
# rows more are 465 MB of COPY text: a client that kept as little as 3
# bytes a row would show.
#
# The same runs check the progress lines in a log (stderr not a terminal):
# a line for each table when it is done and, once a table has run 5 s, one
# every 5 s with the rows so far "of about" the estimate (pg_class's, hence
# the ANALYZE, for a backup; the manifest's row count for a restore), MB,
# rows/s and an ETA.  A 5M table may take less than 5 s on a fast machine,
# so one more backup of it is stopped (SIGSTOP) for 6 s mid-table.  A
# terminal gets a bar instead (script(1)).
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

test_expect_success 'set up: the same table with 1M rows and with 5M rows' '
	for db in "$SMALL:1000000" "$LARGE:5000000"; do
		fresh_db "${db%%:*}" &&
		psql_db "${db%%:*}" "CREATE TABLE public.items (
				id bigint NOT NULL, v text NOT NULL, n numeric, at timestamptz);
			INSERT INTO public.items
				SELECT g, md5(g::text) || E'\''\t'\'' || md5((g * 3)::text), g / 7.0,
					timestamptz '\''2024-01-01 00:00:00+00'\'' + g * interval '\''1 second'\''
				FROM generate_series(1, ${db#*:}) g;
			ANALYZE public.items" || return 1
	done &&
	test_eq 5000000 "$(psql_db "$LARGE" "SELECT count(*) FROM public.items")" "rows in the large table"
'

test_expect_success 'backup --jobs 1: peak RSS for 5M rows within 10 MB of 1M rows' '
	peak_rss b1_small "$PGWARD" -d "dbname=$SMALL" backup --jobs 1 -o "$ARCH/small.tar.zst" &&
	peak_rss b1_large "$PGWARD" -d "dbname=$LARGE" backup --jobs 1 -o "$ARCH/large.tar.zst" &&
	flat b1_small b1_large
'

test_expect_success 'backup --jobs 2: peak RSS for 5M rows within 10 MB of 1M rows' '
	peak_rss b2_small "$PGWARD" -d "dbname=$SMALL" backup --jobs 2 -o "$ARCH/small2.tar.zst" &&
	peak_rss b2_large "$PGWARD" -d "dbname=$LARGE" backup --jobs 2 -o "$ARCH/large2.tar.zst" &&
	flat b2_small b2_large
'

test_expect_success 'restore --into an empty database: peak RSS for 5M rows within 10 MB of 1M rows' '
	fresh_db "${SMALL}_r" &&
	fresh_db "${LARGE}_r" &&
	peak_rss r_small "$PGWARD" -d "dbname=$SMALL" restore "$ARCH/small.tar.zst" --yes --into "${SMALL}_r" &&
	peak_rss r_large "$PGWARD" -d "dbname=$LARGE" restore "$ARCH/large.tar.zst" --yes --into "${LARGE}_r" &&
	test_eq 5000000 "$(psql_db "${LARGE}_r" "SELECT count(*) FROM public.items")" "rows restored" &&
	flat r_small r_large
'

test_expect_success 'progress in a log: each table ends with a line of rows, MB and rows/s' '
	test_grep -E "^backup public\.items: 5\.0M rows, [0-9]+\.[0-9] MB in [0-9]+\.[0-9] s \([0-9.]+[kM]? rows/s\)$" b1_large.err &&
	test_grep -E "^restore public\.items: 5\.0M rows, [0-9]+\.[0-9] MB in [0-9]+\.[0-9] s \([0-9.]+[kM]? rows/s\)$" r_large.err
'

# tenths NAME TASK: how long public.items took in run NAME (its last line,
# "TASK public.items: 5.0M rows, ... in 6.9 s"), in tenths of a second.
tenths() {
	local t
	t=$(sed -n -E "s/^$2 public\.items: [0-9.]+[kM]? rows, [0-9]+\.[0-9] MB in ([0-9]+)\.([0-9]) s.*/\1\2/p" "$1.err" | tail -n 1)
	echo $((10#${t:-0}))
}

# while_running NAME TASK: the lines of run NAME (5M rows) while
# public.items ran: one every 5 s (rows of about 5.0M, MB, rows/s, ETA) when
# it took 5.5 s or more (a report comes every 8192 rows or 8 MB part), none
# when it took less than 5 s.
while_running() {
	local t lines
	t=$(tenths "$1" "$2")
	lines=$(grep -c "^$2 public\.items: .* rows of about " "$1.err")
	echo "$1: public.items took $((t / 10)).$((t % 10)) s, $lines lines while it ran"
	if [ "$t" -lt 50 ]; then
		test_eq 0 "$lines" "lines of $1 while public.items ran"
	elif [ "$t" -ge 55 ]; then
		test_grep -E "^$2 public\.items: [0-9.]+[kM]? rows of about 5\.0M, [0-9]+\.[0-9] MB in [0-9]+\.[0-9] s \([0-9.]+[kM]? rows/s\), ETA [0-9]+ s$" "$1.err" &&
		test_le "$lines" $((t / 50)) "lines of $1 while public.items ran (one per 5 s at most)"
	fi
}

# The stopped backup's table takes longer than 5 s on any machine (a
# stalled stream, as on a slow network); the other 5M runs, as long as they
# take.
test_expect_success 'progress in a log: every 5 s while a table runs, a line of rows of about the estimate, MB, rows/s and ETA' '
	"$PGWARD" -d "dbname=$LARGE" backup --jobs 1 -o "$ARCH/stopped.tar.zst" </dev/null >stopped.out 2>stopped.err &
	pid=$!
	wait_for 60 "SELECT EXISTS (SELECT FROM pg_stat_activity
		WHERE datname = '\''$LARGE'\'' AND state = '\''active'\''
		AND query LIKE '\''COPY %'\'')"
	seen=$?
	if [ $seen = 0 ]; then
		kill -STOP "$pid"
		sleep 6
		kill -CONT "$pid"
	fi
	wait "$pid"
	rc=$?
	echo "stopped: exit $rc"
	cat stopped.out stopped.err
	{
		echo "### [stopped] exit $rc"
		cat stopped.out stopped.err
	} >>"$TRANSCRIPT"
	test_eq 0 "$seen" "COPY of the backup seen in pg_stat_activity" &&
	test_eq 0 "$rc" "exit code of the stopped backup" &&
	test_le 55 "$(tenths stopped backup)" "time public.items took in the stopped backup (tenths of a second)" &&
	while_running stopped backup &&
	while_running b1_large backup &&
	while_running r_large restore
'

# script(1) (util-linux) gives pgward a terminal: the bar instead of lines
test_expect_success 'progress on a terminal: a bar with rows, MB, rows/s and an ETA from pg_class' '
	script -qfec "$PGWARD -d dbname=$SMALL backup --jobs 1 -o $ARCH/tty.tar.zst" /dev/null >tty.out </dev/null &&
	tr "\r" "\n" <tty.out >tty.lines &&
	cat tty.lines >>"$TRANSCRIPT" &&
	test_grep -E "^.*backup public\.items \[#*\.*\] [0-9.]+[kM]?/1\.0M rows, [0-9]+\.[0-9] MB, [0-9.]+[kM]? rows/s, ETA [0-9]+ s" tty.lines
'

test_done
