#!/bin/bash
# Deploy webhooks (core/notify.c) against a real HTTP server on 127.0.0.1:
# the generic JSON payload, the HMAC-SHA256 signature, retries on 500 and
# 429, the time bound on a server that never answers, no retry on 404, an
# unreachable port, Slack's format, redacted URLs, a missing libcurl.
# Driven through tests/fixtures/notify_tool.
. "$(dirname "$0")/lib.sh"

TOOL="$TEST_DIR/notify_tool"
SRV="$TEST_DIR/srv"
SECRET=whsec-Zq81xVbT0pLmK
TOKEN=tokXq7Pm2RwB9sLc0
unset http_proxy https_proxy HTTP_PROXY HTTPS_PROXY all_proxy ALL_PROXY
export NO_PROXY='*'

# The server: POST /MODE/ID[?query].  Each request is recorded as
# $SRV/log/ID.N.json (method, path, headers, body) and ID.N.body (the
# bytes as received), N counting from 1 per ID.  Modes: ok (200), flaky
# (500, then 200), busy (429 with Retry-After: 1, then 200), hang (reads
# the request, never answers), missing (404 "no_service").
mkdir -p "$SRV/log"
cat >"$SRV/server.py" <<'EOF'
import http.server, json, os, sys, threading, time

dir = sys.argv[1]
lock = threading.Lock()
counts = {}

class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        parts = self.path.split("?")[0].split("/")
        mode, key = parts[1], parts[2] if len(parts) > 2 else "x"
        with lock:
            n = counts[key] = counts.get(key, 0) + 1
        base = os.path.join(dir, "log", "%s.%d" % (key, n))
        with open(base + ".body", "wb") as f:
            f.write(body)
        with open(base + ".json", "w") as f:
            json.dump({"method": self.command, "path": self.path,
                       "headers": {k.lower(): v for k, v in self.headers.items()},
                       "body": body.decode("utf-8", "replace")}, f)
        if mode == "hang":
            time.sleep(60)
            return
        code, extra, text = 200, {}, b"ok"
        if mode == "flaky" and n == 1:
            code, text = 500, b"try later"
        elif mode == "busy" and n == 1:
            code, extra, text = 429, {"Retry-After": "1"}, b"slow down"
        elif mode == "missing":
            code, text = 404, b"no_service"
        self.send_response(code)
        for k, v in extra.items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(text)))
        self.end_headers()
        self.wfile.write(text)

class S(http.server.ThreadingHTTPServer):
    daemon_threads = True

s = S(("127.0.0.1", 0), H)
with open(os.path.join(dir, "port.tmp"), "w") as f:
    f.write(str(s.server_address[1]))
os.rename(os.path.join(dir, "port.tmp"), os.path.join(dir, "port"))
s.serve_forever()
EOF

python3 "$SRV/server.py" "$SRV" >"$SRV/server.log" 2>&1 &
srv_pid=$!
test_atexit "kill $srv_pid"
for i in $(seq 100); do
	test -s "$SRV/port" && break
	sleep 0.1
done
PORT=$(cat "$SRV/port" 2>/dev/null)
BASE="http://127.0.0.1:$PORT"

# A port nothing listens on: bound by the kernel, then closed.
DEAD_PORT=$(python3 -c 'import socket
s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')

# requests ID: how many requests the server got for ID.
requests() {
	ls "$SRV/log" | grep -c "^$1\.[0-9]*\.json$"
}

# notify ARGS...: the tool, its time in $MS.
notify() {
	local s
	s=$(now_ms)
	test_expect_code 0 "$TOOL" "$@"
	local rc=$?
	MS=$(($(now_ms) - s))
	echo "took $MS ms"
	return $rc
}

test_expect_success 'the server is up and the tool builds' '
	test -n "$PORT" &&
	build_fixture notify_tool.c "$TOOL"
'

test_expect_success 'generic JSON: every field, stages in order, tool pgward' '
	notify --deploy-id d-42 --database "postgres://app:***@db/prod" \
		--status "rolled back" --from 3 --to 5 --from-release v1.2 \
		--to-release v1.3 --backup "file:///b/prod-1.tar.zst" \
		--error "migration 005: relation \"x\" does not exist" \
		--stage check:ok:12 --stage backup:ok:1500 --stage migrate:failed:340 \
		"$BASE/ok/gen" &&
	test_grep "^failed 0$" "$OUT" &&
	test_eq 1 "$(requests gen)" requests &&
	cp "$SRV/log/gen.1.body" body.json &&
	json_check body.json "d[\"tool\"] == \"pgward\" and d[\"deploy_id\"] == \"d-42\"
		and d[\"database\"] == \"postgres://app:***@db/prod\"
		and d[\"status\"] == \"rolled back\"
		and d[\"from_version\"] == \"3\" and d[\"to_version\"] == \"5\"
		and d[\"from_release\"] == \"v1.2\" and d[\"to_release\"] == \"v1.3\"
		and d[\"backup_uri\"] == \"file:///b/prod-1.tar.zst\"
		and d[\"error\"] == \"migration 005: relation \\\"x\\\" does not exist\"
		and d[\"stages\"] == [{\"name\": \"check\", \"status\": \"ok\", \"duration_ms\": 12},
			{\"name\": \"backup\", \"status\": \"ok\", \"duration_ms\": 1500},
			{\"name\": \"migrate\", \"status\": \"failed\", \"duration_ms\": 340}]" &&
	json_check "$SRV/log/gen.1.json" "d[\"method\"] == \"POST\"
		and d[\"path\"] == \"/ok/gen\"
		and d[\"headers\"][\"content-type\"] == \"application/json\"
		and d[\"headers\"][\"user-agent\"].startswith(\"pgward\")
		and \"x-pgward-signature\" not in d[\"headers\"]"
'

test_expect_success 'fields not given are null, an empty stage list is []' '
	notify --status "nothing to do" "$BASE/ok/nulls" &&
	test_grep "^failed 0$" "$OUT" &&
	json_check "$SRV/log/nulls.1.body" "d[\"status\"] == \"nothing to do\"
		and all(d[k] is None for k in (\"deploy_id\", \"database\",
			\"from_version\", \"to_version\", \"from_release\",
			\"to_release\", \"backup_uri\", \"error\"))
		and d[\"stages\"] == []"
'

test_expect_success 'with a secret: X-Pgward-Signature is the HMAC-SHA256 of the exact body' '
	NOTIFY_SECRET=$SECRET notify --deploy-id d-43 --status succeeded \
		--stage check:ok:3 "$BASE/ok/sig" &&
	test_grep "^failed 0$" "$OUT" &&
	python3 - "$SECRET" "$SRV/log/sig.1.body" "$SRV/log/sig.1.json" <<-\EOF
	import hmac, hashlib, json, sys
	body = open(sys.argv[2], "rb").read()
	got = json.load(open(sys.argv[3]))["headers"].get("x-pgward-signature")
	want = "sha256=" + hmac.new(sys.argv[1].encode(), body, hashlib.sha256).hexdigest()
	print("got  %s\nwant %s" % (got, want))
	sys.exit(0 if got is not None and hmac.compare_digest(got, want) else 1)
	EOF
'

test_expect_success 'a signature made with another secret does not verify' '
	python3 - "$SRV/log/sig.1.body" "$SRV/log/sig.1.json" <<-\EOF
	import hmac, hashlib, json, sys
	body = open(sys.argv[1], "rb").read()
	got = json.load(open(sys.argv[2]))["headers"]["x-pgward-signature"]
	bad = "sha256=" + hmac.new(b"other", body, hashlib.sha256).hexdigest()
	sys.exit(1 if hmac.compare_digest(got, bad) else 0)
	EOF
'

test_expect_success '500 then 200: retried after a back-off, delivered' '
	notify --timeout 5000 "$BASE/flaky/fl" &&
	test_grep "^failed 0$" "$OUT" &&
	test_eq 2 "$(requests fl)" requests &&
	test_grep "attempt 1 failed (HTTP 500" "$ERR" &&
	test_grep ! "^warning:" "$ERR" &&
	test_le 100 "$MS" "time with one back-off (ms)" &&
	test_cmp "$SRV/log/fl.1.body" "$SRV/log/fl.2.body"
'

test_expect_success '429 then 200: Retry-After is honoured, delivered' '
	notify --timeout 5000 "$BASE/busy/bz" &&
	test_grep "^failed 0$" "$OUT" &&
	test_eq 2 "$(requests bz)" requests &&
	test_le 950 "$MS" "time with Retry-After: 1 (ms)"
'

test_expect_success 'a server that never answers: bounded by the total time' '
	notify --timeout 2000 "$BASE/hang/hg" &&
	test_grep "^failed 1$" "$OUT" &&
	test_grep "^warning: cannot notify http://127.0.0.1:$PORT/hang/hg: .*timed out" "$ERR" &&
	test_le 1900 "$MS" "time (ms)" &&
	test_le "$MS" 3000 "time (ms)"
'

test_expect_success 'three URLs that never answer: sent at once, all bounded by one total time, not three' '
	notify --timeout 2000 "$BASE/hang/h1" "$BASE/hang/h2" "$BASE/hang/h3" &&
	test_grep "^failed 3$" "$OUT" &&
	test_eq 3 "$(grep -c "cannot notify .*/hang/h[123]: .*timed out" "$ERR")" "warnings" &&
	test_le "$MS" 3000 "time (ms)"
'

test_expect_success 'a hanging URL does not hold up the others: the good one is delivered' '
	notify --timeout 2000 "$BASE/hang/h4" "$BASE/ok/fine" &&
	test_grep "^failed 1$" "$OUT" &&
	test_eq 1 "$(requests fine)" requests
'

test_expect_success 'a Retry-After beyond the time left is not waited for' '
	notify --timeout 800 "$BASE/busy/bz2" &&
	test_grep "^failed 1$" "$OUT" &&
	test_eq 1 "$(requests bz2)" requests &&
	test_grep "HTTP 429: slow down; no time left" "$ERR"
'

test_expect_success '404 is a failure without retry, with the server'"'"'s word' '
	notify "$BASE/missing/nf" &&
	test_grep "^failed 1$" "$OUT" &&
	test_eq 1 "$(requests nf)" requests &&
	test_grep "^warning: cannot notify .*: HTTP 404: no_service (1 attempt," "$ERR"
'

test_expect_success 'an unreachable port: every attempt made, fails quickly' '
	notify --timeout 10000 "http://127.0.0.1:$DEAD_PORT/ok/dead" &&
	test_grep "^failed 1$" "$OUT" &&
	test_grep "^warning: cannot notify http://127.0.0.1:$DEAD_PORT/ok/dead: .*(4 attempts," "$ERR" &&
	test_eq 3 "$(grep -c "attempt [0-9] failed" "$ERR")" "retries logged" &&
	test_le 350 "$MS" "time with three back-offs (ms)" &&
	test_le "$MS" 3500 "time (ms)"
'

test_expect_success '--attempts 1: no retry' '
	notify --attempts 1 "$BASE/flaky/one" &&
	test_grep "^failed 1$" "$OUT" &&
	test_eq 1 "$(requests one)" requests
'

test_expect_success 'several URLs: each one tried, the count of failures returned' '
	notify "$BASE/ok/m1" "$BASE/missing/m2" "$BASE/ok/m3" &&
	test_grep "^failed 1$" "$OUT" &&
	test_eq 1 "$(requests m1)" m1 &&
	test_eq 1 "$(requests m2)" m2 &&
	test_eq 1 "$(requests m3)" m3
'

test_expect_success 'format=slack: Slack'"'"'s format, the URL sent as given' '
	notify --deploy-id d-44 --database prod --status failed --from 3 --to 5 \
		--backup "file:///b/p.tar.zst" --error "boom <here> & \`there\`" \
		--stage check:ok:12 --stage migrate:failed:2500 \
		"$BASE/ok/sl?format=slack&x=1" &&
	test_grep "^failed 0$" "$OUT" &&
	json_check "$SRV/log/sl.1.json" "d[\"path\"] == \"/ok/sl?format=slack&x=1\"" &&
	json_check "$SRV/log/sl.1.body" "\"tool\" not in d
		and \"failed\" in d[\"text\"] and \"3 -> 5\" in d[\"text\"]
		and d[\"blocks\"][0][\"type\"] == \"section\"
		and d[\"blocks\"][0][\"text\"][\"type\"] == \"mrkdwn\"
		and \"3 -> 5\" in d[\"blocks\"][0][\"text\"][\"text\"]
		and \"check ok 12 ms\" in d[\"blocks\"][0][\"text\"][\"text\"]
		and \"migrate failed 2.5 s\" in d[\"blocks\"][0][\"text\"][\"text\"]
		and \"file:///b/p.tar.zst\" in d[\"blocks\"][0][\"text\"][\"text\"]
		and \"d-44\" in d[\"blocks\"][0][\"text\"][\"text\"]
		and \"boom &lt;here&gt; &amp; \" in d[\"blocks\"][1][\"text\"][\"text\"]
		and \"\`\`\`\" in d[\"blocks\"][1][\"text\"][\"text\"]
		and \"\`there\" not in d[\"blocks\"][1][\"text\"][\"text\"]"
'

test_expect_success 'hooks.slack.com gets Slack'"'"'s format, other hosts the generic one' '
	test_expect_code 0 "$TOOL" --body --status succeeded \
		"https://hooks.slack.com/services/T0/B0/$TOKEN" &&
	cp "$OUT" slack.json &&
	json_check slack.json "\"blocks\" in d and \"succeeded\" in d[\"text\"]" &&
	test_expect_code 0 "$TOOL" --body --status succeeded \
		"https://example.com/hooks?format=slackish" &&
	cp "$OUT" generic.json &&
	json_check generic.json "d[\"tool\"] == \"pgward\" and \"blocks\" not in d"
'

test_expect_success 'URLs are shown redacted: password, Slack path, token parameters' '
	test_expect_code 0 "$TOOL" --redact "https://hooks.slack.com/services/T0/B0/$TOKEN" &&
	test_grep -x "https://hooks.slack.com/services/\*\*\*" "$OUT" &&
	test_expect_code 0 "$TOOL" --redact "https://u:$SECRET@h.example:8443/p?a=1&token=$TOKEN&api_key=$TOKEN&sig=$TOKEN&b=2" &&
	test_grep -x -F "https://u:***@h.example:8443/p?a=1&token=***&api_key=***&sig=***&b=2" "$OUT" &&
	test_expect_code 0 "$TOOL" --redact "https://$TOKEN@h.example/x?secret=$SECRET#t=$TOKEN" &&
	test_grep -x -F "https://***@h.example/x?secret=***#***" "$OUT" &&
	no_secret "$SECRET" && no_secret "$TOKEN"
'

test_expect_success 'the secret and a token never appear in the log' '
	NOTIFY_SECRET=$SECRET notify --timeout 1500 \
		"http://app:$SECRET@127.0.0.1:$PORT/missing/rd?token=$TOKEN" \
		"http://127.0.0.1:$DEAD_PORT/ok/x?key=$TOKEN" \
		"$BASE/flaky/rd2?sig=$TOKEN" &&
	test_grep "^failed 2$" "$OUT" &&
	test_grep -F "cannot notify http://app:***@127.0.0.1:$PORT/missing/rd?token=***: HTTP 404" "$ERR" &&
	test_grep -F "cannot notify http://127.0.0.1:$DEAD_PORT/ok/x?key=***: " "$ERR" &&
	test_grep -F "notified http://127.0.0.1:$PORT/flaky/rd2?sig=*** (HTTP 200)" "$ERR" &&
	no_secret "$SECRET" && no_secret "$TOKEN"
'

test_expect_success 'a URL that is not http(s): a warning, nothing sent' '
	notify "ftp://127.0.0.1:$PORT/ok/ftp" &&
	test_grep "^failed 1$" "$OUT" &&
	test_grep "only http:// and https://" "$ERR"
'

test_expect_success 'no libcurl: a warning per URL naming the package, no crash' '
	mkdir -p nocurl &&
	echo "int pgward_not_libcurl;" >nocurl/empty.c &&
	cc -shared -fPIC -o nocurl/libcurl.so.4 nocurl/empty.c &&
	LD_LIBRARY_PATH=$PWD/nocurl notify "$BASE/ok/nc1" "$BASE/ok/nc2" &&
	test_grep "^failed 2$" "$OUT" &&
	test_eq 2 "$(grep -c "^warning: cannot notify .*libcurl is not available.*libcurl4" "$ERR")" warnings &&
	test_eq 0 "$(requests nc1)" requests
'

test_done
