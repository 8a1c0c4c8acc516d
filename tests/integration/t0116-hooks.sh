#!/bin/bash
# Deploy hooks (core/hooks.c): exit status, signals and the time limit on
# the whole process group; refusals; the redacted environment; output to
# the log only; the example hooks of hooks/.
. "$(dirname "$0")/lib.sh"

TOOL="$TEST_DIR/hooks_tool"
H="$TEST_DIR/h"
EXAMPLES=$(cd "$TEST_SRC/../../hooks" && pwd)
mkdir -p "$H"
# the examples talk to a server on 127.0.0.1, never through a proxy
unset http_proxy https_proxy HTTP_PROXY HTTPS_PROXY all_proxy ALL_PROXY

# field NAME FILE: the value of the tool's "NAME value" line
field() {
	sed -n "s/^$1 //p" "$2" | head -n 1
}

# hook NAME <<EOF: writes $H/NAME, mode 755
hook() {
	cat >"$H/$1" &&
	chmod 755 "$H/$1"
}

# run_hook CODE NAME TIMEOUT [options]: the tool, expecting exit CODE
run_hook() {
	local code=$1
	shift
	test_expect_code "$code" "$TOOL" run "$H" "$@"
}

# gone PID: no such process any more (a zombie counts as gone)
gone() {
	local st
	st=$(ps -o stat= -p "$1") || return 0
	case "$st" in
	Z*) return 0 ;;
	esac
	return 1
}

# all_gone PID...: within 2 s, none of them runs
all_gone() {
	local i pid left
	for i in $(seq 20); do
		left=
		for pid in "$@"; do
			gone "$pid" || left="$left $pid"
		done
		[ -z "$left" ] && return 0
		sleep 0.1
	done
	echo "still running:$left"
	ps -o pid,pgid,stat,args -p "${left# }"
	return 1
}

test_expect_success 'the test tool builds against libpgward.a' '
	build_fixture hooks_tool.c "$TOOL"
'

test_expect_success 'a hook that exits 0: its output goes to the log, line by line as it comes, never to stdout' '
	hook ok <<-\EOF &&
	#!/bin/sh
	echo "to stdout"
	echo "to stderr" >&2
	sleep 1.5
	printf "no newline at the end"
	EOF
	run_hook 0 ok 10 &&
	test_eq PGW_OK "$(field code "$OUT")" code &&
	test_grep -E "^[0-9]+ notice: hook ok: to stdout$" "$ERR" &&
	test_grep -E "^[0-9]+ notice: hook ok: to stderr$" "$ERR" &&
	test_grep -E "^[0-9]+ notice: hook ok: no newline at the end$" "$ERR" &&
	test_grep ! -e "to std" -e "no newline" "$OUT" &&
	first=$(sed -n "s/^\([0-9]*\) notice: hook ok: to stdout$/\1/p" "$ERR") &&
	last=$(sed -n "s/^\([0-9]*\) notice: hook ok: no newline.*/\1/p" "$ERR") &&
	test_le "$first" 1000 "ms until the first line was logged" &&
	test_le 1400 "$last" "ms until the last line was logged"
'

test_expect_success 'control characters in the output are made visible, a long line is logged in pieces' '
	hook noisy <<-\EOF &&
	#!/bin/sh
	printf "bell\007 escape\033[31m red\r\n"
	head -c 3000 /dev/zero | tr "\0" x
	echo
	EOF
	run_hook 0 noisy 10 &&
	test_grep -E "^[0-9]+ notice: hook noisy: bell\? escape\?\[31m red$" "$ERR" &&
	test_eq 3 "$(grep -c -E "notice: hook noisy: x+$" "$ERR")" "pieces of the long line" &&
	test_eq 3000 "$(sed -n "s/.*notice: hook noisy: \(x*\)$/\1/p" "$ERR" | tr -d "\n" | wc -c)" "x logged"
'

test_expect_success 'a hook that exits 3 fails, naming the hook and the status' '
	hook three <<-\EOF &&
	#!/bin/sh
	echo "about to fail"
	exit 3
	EOF
	run_hook 1 three 10 &&
	test_eq PGW_EFAILED "$(field code "$OUT")" code &&
	test_grep -x "message hook .three. failed: exit status 3" "$OUT" &&
	test_grep -x "detail its last output line: about to fail" "$OUT"
'

test_expect_success 'a hook killed by a signal fails, naming the signal' '
	hook sig <<-\EOF &&
	#!/bin/sh
	kill -USR1 $$
	sleep 5
	EOF
	run_hook 1 sig 10 &&
	test_grep -x "message hook .sig. was killed by SIGUSR1 (signal 10)" "$OUT"
'

test_expect_success 'past the time limit: SIGTERM to the process group, the hook and its child are gone' '
	rm -f term.pids &&
	hook slow <<-EOF &&
	#!/bin/sh
	echo \$\$ >>"$TEST_DIR/term.pids"
	sleep 300 &
	echo \$! >>"$TEST_DIR/term.pids"
	echo "started"
	wait
	EOF
	run_hook 1 slow 2 &&
	test_grep -x "message hook .slow. timed out after 2 s and was killed" "$OUT" &&
	test_grep -E "^[0-9]+ notice: hook slow: started$" "$ERR" &&
	ms=$(field elapsed_ms "$OUT") &&
	test_le 2000 "$ms" "ms before the hook was stopped" &&
	test_le "$ms" 3000 "ms until the call returned (SIGTERM is enough here)" &&
	test_eq 2 "$(wc -l <term.pids)" "pids recorded" &&
	all_gone $(cat term.pids)
'

test_expect_success 'a hook and a child that ignore SIGTERM get SIGKILL 2 s later' '
	rm -f kill.pids &&
	hook stubborn <<-EOF &&
	#!/bin/sh
	trap "" TERM
	echo \$\$ >>"$TEST_DIR/kill.pids"
	sh -c "echo \\\$\\\$ >>\"$TEST_DIR/kill.pids\"; exec sleep 300" &
	sleep 300
	EOF
	run_hook 1 stubborn 2 &&
	test_grep -x "message hook .stubborn. timed out after 2 s and was killed" "$OUT" &&
	ms=$(field elapsed_ms "$OUT") &&
	test_le 3900 "$ms" "ms: SIGKILL comes 2 s after SIGTERM" &&
	test_le "$ms" 5000 "ms until the call returned" &&
	test_eq 2 "$(wc -l <kill.pids)" "pids recorded" &&
	all_gone $(cat kill.pids)
'

test_expect_success 'a world-writable hook is refused without running' '
	rm -f ran.ww &&
	hook ww <<-EOF &&
	#!/bin/sh
	touch "$TEST_DIR/ran.ww"
	EOF
	chmod 777 "$H/ww" &&
	run_hook 2 ww 10 &&
	test_eq PGW_EINVAL "$(field code "$OUT")" code &&
	test_grep -x "message hook .$H/ww. refused: it is world-writable" "$OUT" &&
	test_grep -x "hint chmod o-w .$H/ww." "$OUT" &&
	test ! -e ran.ww
'

test_expect_success 'a hook that is not executable is refused without running' '
	rm -f ran.nx &&
	hook nx <<-EOF &&
	#!/bin/sh
	touch "$TEST_DIR/ran.nx"
	EOF
	chmod 644 "$H/nx" &&
	run_hook 2 nx 10 &&
	test_grep -x "message hook .$H/nx. refused: it is not executable" "$OUT" &&
	test ! -e ran.nx
'

test_expect_success 'a hook that is not a regular file is refused' '
	mkdir -p "$H/adir" &&
	chmod 755 "$H/adir" &&
	run_hook 2 adir 10 &&
	test_grep -x "message hook .$H/adir. refused: not a regular file" "$OUT"
'

test_expect_success 'a hook in a world-writable directory is refused, unless the sticky bit is set' '
	rm -f ran.wd &&
	mkdir -p wdir &&
	printf "#!/bin/sh\ntouch \"%s/ran.wd\"\n" "$TEST_DIR" >wdir/pre-backup &&
	chmod 755 wdir/pre-backup &&
	chmod 777 wdir &&
	test_expect_code 2 "$TOOL" run wdir pre-backup 10 &&
	test_grep "message hook .wdir/pre-backup. refused: its directory .wdir. is world-writable" "$OUT" &&
	test ! -e ran.wd &&
	chmod 1777 wdir &&
	test_expect_code 0 "$TOOL" run wdir pre-backup 10 &&
	test -e ran.wd
'

test_expect_success 'a symlinked hook whose target is world-writable is refused' '
	rm -f ran.ln &&
	mkdir -p wtarget &&
	printf "#!/bin/sh\ntouch \"%s/ran.ln\"\n" "$TEST_DIR" >wtarget/real &&
	chmod 755 wtarget/real &&
	chmod 777 wtarget &&
	ln -sf "$TEST_DIR/wtarget/real" "$H/linked" &&
	run_hook 2 linked 10 &&
	test_grep "refused: its directory .$TEST_DIR/wtarget. is world-writable" "$OUT" &&
	test ! -e ran.ln
'

test_expect_success 'a missing hook (or hooks dir) is fine; exists says which are there' '
	run_hook 0 post-verify 10 &&
	test_eq PGW_OK "$(field code "$OUT")" code &&
	test_expect_code 0 "$TOOL" run "$TEST_DIR/no-such-dir" pre-backup 10 &&
	test_expect_code 0 "$TOOL" exists "$H" ok &&
	test_eq "exists yes" "$(cat "$OUT")" &&
	test_expect_code 0 "$TOOL" exists "$H" nx &&
	test_eq "exists yes" "$(cat "$OUT")" "a hook that would be refused exists" &&
	test_expect_code 0 "$TOOL" exists "$H" post-verify &&
	test_eq "exists no" "$(cat "$OUT")" &&
	test_expect_code 2 "$TOOL" run "$H" ../h/ok 10 &&
	test_grep "is not a hook name" "$OUT"
'

test_expect_success 'a bad #! line is an error naming the hook; no #! line runs with sh' '
	hook badinterp <<-\EOF &&
	#!/nonexistent/interpreter
	exit 0
	EOF
	run_hook 1 badinterp 10 &&
	test_grep "message cannot run hook .badinterp. (.*): No such file or directory" "$OUT" &&
	printf "echo plain sh script\n" >"$H/noshebang" &&
	chmod 755 "$H/noshebang" &&
	run_hook 0 noshebang 10 &&
	test_grep "notice: hook noshebang: plain sh script" "$ERR"
'

test_expect_success 'the environment: PGWARD_* set, stale ones removed, passwords never passed' '
	hook env <<-EOF &&
	#!/bin/sh
	env >"$TEST_DIR/hook.env"
	echo "url=\$DATABASE_URL"
	echo "direct=\$PGWARD_DIRECT_URL"
	read -r line || echo "stdin is empty"
	echo "pgid \$(cut -d" " -f5 /proc/\$\$/stat) pid \$\$"
	EOF
	grant_pw_role &&
	url=$(pw_url) &&
	PGPASSWORD=$PGW_SECRET PGWARD_NOTIFY_SECRET=notify-$PGW_SECRET \
	PGWARD_NOTIFY_URL="https://hooks.example/$PGW_SECRET" \
	PGWARD_DIRECT_URL=$(pw_kv) PGWARD_BACKUP=stale-backup PGWARD_HOOK=stale \
	HOOK_TEST_VAR=kept \
	run_hook 0 env 10 --deploy-id d-42 --from 3 --to 5 --stage backup \
		--url "$url" --writes-stopped "$TEST_DIR/ws" &&
	test_grep -x "PGWARD_DEPLOY_ID=d-42" hook.env &&
	test_grep -x "PGWARD_FROM=3" hook.env &&
	test_grep -x "PGWARD_TO=5" hook.env &&
	test_grep -x "PGWARD_STAGE=backup" hook.env &&
	test_grep -x "PGWARD_HOOK=env" hook.env &&
	test_grep -x "PGWARD_WRITES_STOPPED_FILE=$TEST_DIR/ws" hook.env &&
	test_grep -x "HOOK_TEST_VAR=kept" hook.env &&
	test_grep ! "^PGWARD_BACKUP=" hook.env &&
	test_grep ! "^PGPASSWORD=" hook.env &&
	test_grep ! "^PGWARD_NOTIFY_SECRET=" hook.env &&
	test_grep ! "^PGWARD_NOTIFY_URL=" hook.env &&
	test_grep -F -x "DATABASE_URL=${url/$PGW_SECRET/***}" hook.env &&
	test_grep -F -x "PGWARD_DIRECT_URL=$(pw_kv "***")" hook.env &&
	test_grep -F "notice: hook env: url=postgresql://pgw_pw:***@" "$ERR" &&
	test_grep "notice: hook env: stdin is empty" "$ERR" &&
	pid=$(sed -n "s/.*notice: hook env: pgid \([0-9]*\) pid .*/\1/p" "$ERR") &&
	test_grep "notice: hook env: pgid $pid pid $pid\$" "$ERR" &&
	no_secret "$PGW_SECRET" hook.env &&
	no_secret
'

test_expect_success 'the environment: DATABASE_URL inherited and key=value, redacted; none when unset' '
	DATABASE_URL=$(pw_kv) run_hook 0 env 10 &&
	test_grep -F -x "DATABASE_URL=$(pw_kv "***")" hook.env &&
	test_grep ! "^PGWARD_DEPLOY_ID=" hook.env &&
	run_hook 0 env 10 &&
	test_grep ! "^DATABASE_URL=" hook.env &&
	no_secret "$PGW_SECRET" hook.env &&
	no_secret
'

test_expect_success 'example pre-backup: maintenance on, writes declared stopped' '
	rm -f maint ws &&
	MAINTENANCE_FILE=$TEST_DIR/maint DRAIN_SECONDS=0 test_expect_code 0 \
		"$TOOL" run "$EXAMPLES" pre-backup 30 --writes-stopped "$TEST_DIR/ws" &&
	test -e maint &&
	test -e ws &&
	test_grep "notice: hook pre-backup: writes declared stopped" "$ERR"
'

test_expect_success 'example pre-backup with nothing to stop: writes not declared stopped' '
	rm -f ws &&
	test_expect_code 0 "$TOOL" run "$EXAMPLES" pre-backup 30 \
		--writes-stopped "$TEST_DIR/ws" &&
	test ! -e ws &&
	test_grep "notice: hook pre-backup: MAINTENANCE_FILE and APP_MAINTENANCE_URL unset" "$ERR"
'

test_expect_success 'example post-verify and on-failure skip cleanly when their variables are unset' '
	test_expect_code 0 "$TOOL" run "$EXAMPLES" post-verify 30 &&
	test_grep "notice: hook post-verify: APP_HEALTH_URL unset: health check skipped" "$ERR" &&
	test_expect_code 0 "$TOOL" run "$EXAMPLES" on-failure 30 &&
	test_grep "notice: hook on-failure: SLACK_WEBHOOK_URL unset: no Slack message" "$ERR" &&
	test_expect_code 0 "$TOOL" run "$EXAMPLES" post-migrate 30 &&
	test_grep "notice: hook post-migrate: APP_RELOAD_CMD unset" "$ERR"
'

# A real HTTP server on 127.0.0.1: GET /healthz 200, anything else 404;
# POST /slack records the body, 200.
cat >server.py <<'EOF'
import http.server, sys

class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200 if self.path == "/healthz" else 404)
        self.end_headers()
        self.wfile.write(b"ok\n")

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        with open("posts.log", "ab") as f:
            f.write(self.path.encode() + b" " + body + b"\n")
        self.send_response(200 if self.path.startswith("/slack") else 500)
        self.end_headers()

    def log_message(self, *args):
        pass

srv = http.server.HTTPServer(("127.0.0.1", 0), H)
with open("port.tmp", "w") as f:
    f.write(str(srv.server_address[1]))
import os
os.rename("port.tmp", "port")
srv.serve_forever()
EOF

test_expect_success 'a python3 http.server on 127.0.0.1 for the examples' '
	rm -f port posts.log &&
	{ python3 server.py >server.log 2>&1 & } &&
	test_atexit "kill $!" &&
	for i in $(seq 100); do
		test -s port && break
		sleep 0.1
	done &&
	PORT=$(cat port) &&
	test -n "$PORT" &&
	curl -fsS "http://127.0.0.1:$PORT/healthz" &&
	echo "PORT=$PORT" >port.env
'

test_expect_success 'example post-verify: the health check passes and lifts maintenance' '
	. ./port.env &&
	touch maint &&
	APP_HEALTH_URL=http://127.0.0.1:$PORT/healthz MAINTENANCE_FILE=$TEST_DIR/maint \
		test_expect_code 0 "$TOOL" run "$EXAMPLES" post-verify 30 &&
	test_grep "notice: hook post-verify: health check passed (attempt 1 of 10)" "$ERR" &&
	test ! -e maint
'

test_expect_success 'example post-verify: a failing health check is retried, then fails the hook' '
	. ./port.env &&
	touch maint &&
	APP_HEALTH_URL=http://127.0.0.1:$PORT/broken HEALTH_TRIES=3 HEALTH_DELAY=0.2 \
	MAINTENANCE_FILE=$TEST_DIR/maint \
		test_expect_code 1 "$TOOL" run "$EXAMPLES" post-verify 30 &&
	test_grep -x "message hook .post-verify. failed: exit status 1" "$OUT" &&
	test_eq 3 "$(grep -c "notice: hook post-verify: curl: (22)" "$ERR")" "attempts" &&
	test_grep "notice: hook post-verify: health check failed 3 times: giving up" "$ERR" &&
	test -e maint
'

test_expect_success 'example on-failure: a Slack message naming the deploy and stage, the webhook never shown' '
	. ./port.env &&
	rm -f posts.log &&
	SLACK_WEBHOOK_URL=http://127.0.0.1:$PORT/slack/T0K3N-s3cret \
		test_expect_code 0 "$TOOL" run "$EXAMPLES" on-failure 30 \
		--deploy-id d-7 --stage migrate --from 4 --to 5 &&
	test_grep "notice: hook on-failure: Slack message sent" "$ERR" &&
	test_grep "^/slack/T0K3N-s3cret {\"text\":\"pgward deploy d-7 failed at stage migrate (version 4 to 5) on " posts.log &&
	SLACK_WEBHOOK_URL=http://127.0.0.1:$PORT/broken/T0K3N-s3cret \
		test_expect_code 1 "$TOOL" run "$EXAMPLES" on-failure 30 &&
	test_grep "notice: hook on-failure: Slack message not sent (curl exit 22)" "$ERR" &&
	no_secret T0K3N-s3cret
'

test_done
