#!/bin/bash
# The throwaway cluster (core/ephemeral.c), through
# tests/fixtures/ephemeral_tool: it answers, has the roles and extensions
# asked for and the settings it promises; its directory and its server are
# gone after a normal stop, after SIGTERM, SIGINT and SIGKILL of the
# process group that started it, after SIGKILL during initdb, and after
# every failure (missing binaries, initdb failing, the server failing, an
# extension that is not installed), each failure one line on stderr.  Its
# processes sit in sessions of their own and hold none of the starter's
# output.  Every case gets its own TMPDIR, which must be empty afterwards.
# This script does not use the harness's cluster.
. "$(dirname "$0")/lib.sh"

ROOT=$(cd "$TEST_SRC/../.." && pwd)
BUILD=$(dirname "$PGWARD")
TOOL="$TEST_DIR/ephemeral_tool"
PGBIN_REAL=$(cd "$PGBIN" && pwd -P)

test_atexit 'for p in $HOLDERS; do kill -KILL -- -$p 2>/dev/null; done'
HOLDERS=

# new_tmp NAME: a fresh, empty TMPDIR for one case, in $T
new_tmp() {
	T="$TEST_DIR/tmp-$1"
	mkdir -p "$T" && chmod 755 "$T"
}

# tmp_empty DIR: nothing left in DIR
tmp_empty() {
	if [ -n "$(ls -A "$1")" ]; then
		echo "left behind in $1:"
		ls -la "$1" "$1"/*
		return 1
	fi
}

# alive PID: the process exists and is not a zombie
alive() {
	local st
	[ -n "$1" ] || return 1
	st=$(ps -o stat= -p "$1") || return 1
	case "$st" in
	Z*) return 1 ;;
	esac
	return 0
}

# expect_gone DIR PID...: within 10 s DIR is gone, no process's command
# line names it, and none of the PIDs runs any more
expect_gone() {
	local dir=$1 i=0 p busy
	shift
	while :; do
		busy=
		[ -e "$dir" ] && busy="the directory"
		pgrep -f -- "$dir" >/dev/null && busy="$busy, a process naming it"
		for p in "$@"; do
			alive "$p" && busy="$busy, pid $p"
		done
		[ -z "$busy" ] && return 0
		i=$((i + 1))
		if [ $i -gt 200 ]; then
			echo "still there after 10 s: $busy"
			ls -la "$dir" 2>&1
			pgrep -a -f -- "$dir"
			ps -o pid,ppid,stat,cmd -p "$(echo "$@" | tr ' ' ,)"
			return 1
		fi
		sleep 0.05
	done
}

# field NAME FILE: the value of the tool's "NAME value" line
field() {
	sed -n "s/^$1 //p" "$2"
}

# hold_start NAME [ARGS]: ephemeral_tool hold in a session of its own
# (its pid is its process group, as a command started from a terminal
# or by a CI runner), until it has printed its cluster; sets HOLD_PID,
# HOLD_DIR, HOLD_PM
hold_start() {
	local name=$1 i=0
	shift
	setsid "$TOOL" hold "$@" </dev/null >"$TEST_DIR/$name.out" 2>"$TEST_DIR/$name.err" &
	HOLD_PID=$!
	HOLDERS="$HOLDERS $HOLD_PID"
	while ! grep -q '^postmaster ' "$TEST_DIR/$name.out"; do
		i=$((i + 1))
		if [ $i -gt 600 ] || ! kill -0 "$HOLD_PID" 2>/dev/null; then
			echo "the holder did not start its cluster:"
			cat "$TEST_DIR/$name.out" "$TEST_DIR/$name.err"
			return 1
		fi
		sleep 0.05
	done
	HOLD_DIR=$(field dir "$TEST_DIR/$name.out")
	HOLD_PM=$(field postmaster "$TEST_DIR/$name.out")
	test_eq "$HOLD_PID" "$(ps -o pgid= -p "$HOLD_PID" | tr -d ' ')" "the holder's process group" &&
	test -d "$HOLD_DIR" && alive "$HOLD_PM"
}

# hold_kill SIG: SIG to the holder's whole process group, as a Ctrl-C at
# a terminal or a cancelled CI job sends it; the holder must die of it
hold_kill() {
	kill -s "$1" -- "-$HOLD_PID" &&
	wait "$HOLD_PID" 2>/dev/null
	local rc=$?
	case "$1:$rc" in
	TERM:143 | INT:130 | KILL:137) return 0 ;;
	esac
	echo "the holder exited $rc after SIG$1"
	return 1
}

# signal_case SIG
signal_case() {
	new_tmp "$1" &&
	TMPDIR=$T hold_start "hold-$1" &&
	hold_kill "$1" &&
	expect_gone "$HOLD_DIR" "$HOLD_PM" &&
	tmp_empty "$T"
}

test_expect_success 'the test tool builds against libpgward.a' '
	build_fixture ephemeral_tool.c "$TOOL"
'

test_expect_success 'the cluster answers, with the roles, extensions and settings asked for' '
	new_tmp start &&
	TMPDIR=$T test_expect_code 0 "$TOOL" start --role app_owner \
		--role "Odd \"Role\"" --role postgres --ext citext --ext pg_trgm &&
	cp "$OUT" start.out &&
	dir=$(field dir start.out) &&
	case "$dir" in "$T"/pgward-eph.??????) ;; *) echo "dir $dir"; false ;; esac &&
	test_eq "host=$dir port=5432 user=postgres dbname=postgres" "$(field conninfo start.out)" conninfo &&
	test_eq "$PGBIN_REAL" "$(field bindir start.out)" bindir &&
	test_eq 1 "$(field select1 start.out)" "SELECT 1" &&
	test_eq "app_owner|Odd \"Role\"|postgres" "$(field role start.out | paste -sd "|")" roles &&
	test_eq "citext|pg_trgm" "$(field extension start.out | paste -sd "|")" extensions &&
	test_grep -x "setting listen_addresses=" start.out &&
	test_grep -x "setting fsync=off" start.out &&
	test_grep -x "setting full_page_writes=off" start.out &&
	test_grep -x "setting synchronous_commit=off" start.out &&
	test_grep -x "setting unix_socket_permissions=0700" start.out &&
	test_grep -x "setting server_encoding=UTF8" start.out &&
	test_grep -E -x "setting lc_collate=(C.UTF-8|C)" start.out &&
	echo "start $(field start_ms start.out) ms, stop $(field stop_ms start.out) ms" &&
	test_le "$(field stop_ms start.out)" 5000 "ms to stop (a server left running dies of its missing lock file only after a minute)"
'

test_expect_success 'after a normal stop the directory, the server and its processes are gone' '
	dir=$(field dir start.out) &&
	pm=$(field postmaster start.out) &&
	test -n "$pm" &&
	test ! -e "$dir" &&
	! pgrep -a -f -- "$dir" &&
	! alive "$pm" &&
	tmp_empty "$T"
'

test_expect_success 'while it runs: a private directory, the processes in sessions of their own holding none of our output' '
	new_tmp private &&
	TMPDIR=$T hold_start private &&
	test_eq 700 "$(stat -c %a "$HOLD_DIR")" "mode of the directory" &&
	test -S "$HOLD_DIR/.s.PGSQL.5432" &&
	test_eq 1 "$(ps -o pid= --ppid "$HOLD_PID" | grep -c -x " *$HOLD_PM")" "the server is the holder'\''s child" &&
	kids=$(ps -o pid= --ppid "$HOLD_PID") &&
	test_eq 2 "$(echo $kids | wc -w)" "children of the holder (reaper and server)" &&
	holder_sid=$(ps -o sid= -p "$HOLD_PID" | tr -d " ") &&
	for k in $kids; do
		test "$(ps -o sid= -p "$k" | tr -d " ")" != "$holder_sid" || {
			echo "pid $k shares the holder'\''s session"; return 1; }
		for f in /proc/$k/fd/*; do
			t=$(readlink "$f") || continue
			case "$t" in
			"$TEST_DIR/private.out" | "$TEST_DIR/private.err")
				echo "pid $k holds the holder'\''s output: $f -> $t"; return 1 ;;
			esac
		done
		for f in 0 1 2; do
			t=$(readlink "/proc/$k/fd/$f") || continue
			case "$t" in
			/dev/null | "$HOLD_DIR"/*) ;;
			*) echo "pid $k fd $f -> $t"; return 1 ;;
			esac
		done
	done &&
	hold_kill TERM &&
	expect_gone "$HOLD_DIR" "$HOLD_PM" $kids &&
	tmp_empty "$T"
'

test_expect_success 'gone after SIGTERM to the starter'\''s process group' '
	signal_case TERM
'

test_expect_success 'gone after SIGINT to the starter'\''s process group (Ctrl-C)' '
	signal_case INT
'

test_expect_success 'gone after SIGKILL to the starter'\''s process group' '
	signal_case KILL
'

mkdir -p "$TEST_DIR/empty-bin" "$TEST_DIR/bad-initdb" "$TEST_DIR/bad-server" \
	"$TEST_DIR/slow-initdb"
chmod 755 "$TEST_DIR/empty-bin" "$TEST_DIR/bad-initdb" "$TEST_DIR/bad-server" \
	"$TEST_DIR/slow-initdb"
# an initdb that fails the way initdb does: the error, then its clean-up line
cat >"$TEST_DIR/bad-initdb/initdb" <<'EOF'
#!/bin/sh
echo "creating directory $2 ... ok"
echo "initdb: error: simulated failure for t0110" >&2
echo "initdb: removing data directory \"$2\"" >&2
exit 1
EOF
# the real initdb, and a server that cannot start
ln -s "$PGBIN_REAL/initdb" "$TEST_DIR/bad-server/initdb"
cat >"$TEST_DIR/bad-server/postgres" <<'EOF'
#!/bin/sh
echo "2026-11-25 10:00:00.000 UTC [$$] LOG:  starting"
echo "2026-11-25 10:00:00.000 UTC [$$] FATAL:  simulated start failure for t0110" >&2
exit 1
EOF
# an initdb that runs until it is killed, with a child of its own (a
# sleep whose command line names this test's work dir)
SLOWSLEEP="$TEST_DIR/slow-initdb/slowsleep"
cp "$(command -v sleep)" "$SLOWSLEEP"
cat >"$TEST_DIR/slow-initdb/initdb" <<EOF
#!/bin/sh
mkdir -p "\$2" && echo running >"\$2/marker"
"$SLOWSLEEP" 300
echo done
EOF
cp "$TEST_DIR/bad-server/postgres" "$TEST_DIR/bad-initdb/postgres"
cp "$TEST_DIR/bad-server/postgres" "$TEST_DIR/slow-initdb/postgres"
chmod 755 "$TEST_DIR"/*/initdb "$TEST_DIR"/*/postgres "$SLOWSLEEP" 2>/dev/null

test_expect_success 'a bindir without the server binaries: one line naming it and the package, exit 2' '
	new_tmp nobin &&
	TMPDIR=$T test_expect_code 2 "$TOOL" fail "$TEST_DIR/empty-bin" &&
	test_eq 1 "$(wc -l <"$ERR")" "lines on stderr" &&
	test_grep -F "$TEST_DIR/empty-bin" "$ERR" &&
	test_grep -F "postgresql-15" "$ERR" &&
	test ! -s "$OUT" &&
	tmp_empty "$T"
'

test_expect_success 'found without pg_config or initdb on PATH: the highest /usr/lib/postgresql/N/bin' '
	new_tmp nopath &&
	TMPDIR=$T test_expect_code 0 env PATH=/nonexistent "$TOOL" start &&
	test_grep -E -x "bindir /usr/lib/postgresql/[0-9.]+/bin" "$OUT" &&
	tmp_empty "$T"
'

test_expect_success 'a failing initdb: its error line, exit 1, nothing left' '
	new_tmp badinitdb &&
	TMPDIR=$T test_expect_code 1 "$TOOL" start --bindir "$TEST_DIR/bad-initdb" &&
	test_eq 1 "$(wc -l <"$ERR")" "lines on stderr" &&
	test_grep -F "initdb failed (exit 1): initdb: error: simulated failure for t0110" "$ERR" &&
	tmp_empty "$T"
'

test_expect_success 'a server that does not start: its error line, exit 1, nothing left' '
	new_tmp badserver &&
	TMPDIR=$T test_expect_code 1 "$TOOL" start --bindir "$TEST_DIR/bad-server" &&
	test_eq 1 "$(wc -l <"$ERR")" "lines on stderr" &&
	test_grep -F "the server did not start: FATAL:  simulated start failure for t0110" "$ERR" &&
	tmp_empty "$T"
'

test_expect_success 'an extension that is not installed: one line naming it, exit 2, nothing left' '
	new_tmp badext &&
	TMPDIR=$T test_expect_code 2 "$TOOL" start --role app --ext no_such_ext_t0110 &&
	test_eq 1 "$(wc -l <"$ERR")" "lines on stderr" &&
	test_grep -F "no_such_ext_t0110" "$ERR" &&
	test_grep -F "postgresql-15" "$ERR" &&
	tmp_empty "$T" &&
	! pgrep -a -f -- "$T/"
'

test_expect_success 'SIGKILL while initdb runs: initdb and its children are killed, nothing left' '
	new_tmp slow || return 1
	setsid env TMPDIR="$T" "$TOOL" hold --bindir "$TEST_DIR/slow-initdb" \
		</dev/null >slow.out 2>slow.err &
	HOLD_PID=$! &&
	HOLDERS="$HOLDERS $HOLD_PID" &&
	i=0 &&
	while ! ls "$T"/pgward-eph.*/data/marker >/dev/null 2>&1; do
		i=$((i + 1))
		if [ $i -gt 200 ]; then echo "the slow initdb did not run"; cat slow.out slow.err; return 1; fi
		sleep 0.05
	done &&
	dir=$(dirname "$(dirname "$(ls "$T"/pgward-eph.*/data/marker)")") &&
	pgrep -f -- "$SLOWSLEEP" >/dev/null &&
	hold_kill KILL &&
	expect_gone "$dir" &&
	i=0 &&
	while pgrep -f -- "$SLOWSLEEP" >/dev/null; do
		i=$((i + 1))
		if [ $i -gt 100 ]; then echo "the slow initdb'\''s child still runs"; pgrep -a -f -- "$SLOWSLEEP"; return 1; fi
		sleep 0.05
	done &&
	tmp_empty "$T"
'

test_expect_success 'an unusable TMPDIR (a space in it) falls back to /tmp' '
	T="$TEST_DIR/tmp with space" &&
	mkdir -p "$T" && chmod 755 "$T" &&
	TMPDIR=$T test_expect_code 0 "$TOOL" start &&
	dir=$(field dir "$OUT") &&
	case "$dir" in /tmp/pgward-eph.??????) ;; *) echo "dir $dir"; false ;; esac &&
	test ! -e "$dir" &&
	tmp_empty "$T"
'

test_done
