#!/bin/bash
# The GitHub Actions files for users (ci/github/): the composite action,
# the deploy and check workflows are well formed and say what they must,
# and the action's run script (ci/github/run.sh) maps its inputs to
# pgward, leaves the outputs and the step summary, and never prints the
# database password.
. "$(dirname "$0")/lib.sh"

export NO_PROXY='*'
CI=$(cd "$TEST_SRC/../../ci/github" && pwd)
ROOT=$(cd "$TEST_SRC/../.." && pwd)
REPO="$TEST_DIR/app"
RUNNER="$TEST_DIR/runner"
mkdir -p "$RUNNER"

if python3 -c 'import yaml' 2>/dev/null; then
	test_set_prereq PYYAML
fi

# run_action VAR=VALUE...: ci/github/run.sh as action.yml runs it: in the
# application's checkout, with the inputs in the environment and fresh
# $GITHUB_OUTPUT and $GITHUB_STEP_SUMMARY files.
run_action() {
	: >"$RUNNER/output"
	: >"$RUNNER/summary"
	(cd "$REPO" && env GITHUB_ACTIONS=true GITHUB_OUTPUT="$RUNNER/output" \
		GITHUB_STEP_SUMMARY="$RUNNER/summary" RUNNER_TEMP="$RUNNER" \
		GITHUB_ACTION_PATH="$CI" PGWARD_BIN="$PGWARD" "$@" "$CI/run.sh")
}
# output NAME: the value of NAME in $GITHUB_OUTPUT (the last one)
output() {
	sed -n "s/^$1=//p" "$RUNNER/output" | tail -1
}

test_expect_success PYYAML 'action.yml, deploy.yml and check.yml are valid YAML of the right shape' '
	python3 - "$CI" <<-\EOF
	import sys, yaml
	d = sys.argv[1]
	a = yaml.safe_load(open(d + "/action.yml"))
	assert a["runs"]["using"] == "composite", a["runs"]
	for k in ("database-url", "command", "release", "args", "notify-url",
	          "notify-secret", "backup-target", "pgward-ref"):
	    assert k in a["inputs"], k
	assert a["inputs"]["command"]["default"] == "deploy"
	for k in ("from-version", "to-version", "status", "backup"):
	    assert "steps.run.outputs." + k.replace("-", "_") in a["outputs"][k]["value"], k
	run = [s for s in a["runs"]["steps"] if s.get("id") == "run"][0]
	assert "run.sh" in run["run"] and run["env"]["DATABASE_URL"] == "${{ inputs.database-url }}"
	assert run["env"]["PGWARD_NOTIFY_SECRET"] == "${{ inputs.notify-secret }}"
	w = yaml.safe_load(open(d + "/deploy.yml"))
	on = w.get("on", w.get(True))
	assert on["push"]["tags"] == ["v*"], on
	assert w["concurrency"]["group"].startswith("pgward-deploy-")
	assert w["concurrency"]["cancel-in-progress"] is False
	steps = w["jobs"]["deploy"]["steps"]
	co = [s for s in steps if str(s.get("uses", "")).startswith("actions/checkout")][0]
	assert co["with"]["fetch-depth"] == 0
	dep = [s for s in steps if "/ci/github@" in str(s.get("uses", ""))][0]
	assert dep["with"]["release"] == "${{ github.ref_name }}" and dep["with"]["backup-target"]
	up = [s for s in steps if str(s.get("uses", "")).startswith("actions/upload-artifact")][0]
	assert up["with"]["path"].endswith("manifest.json"), up
	c = yaml.safe_load(open(d + "/check.yml"))
	on = c.get("on", c.get(True))
	assert "pull_request" in on
	st = c["jobs"]["check"]["steps"]
	assert any(s.get("with", {}).get("command") == "check" and
	           "--ephemeral" in s["with"].get("args", "") for s in st)
	EOF
'

test_expect_success 'the files say what they must (grep)' '
	test_grep "^concurrency:" "$CI/deploy.yml" &&
	test_grep "cancel-in-progress: false" "$CI/deploy.yml" &&
	test_grep "group: pgward-deploy-" "$CI/deploy.yml" &&
	test_grep "fetch-depth: 0" "$CI/deploy.yml" &&
	test_grep -F "git tag --list '\''v*'\'' --sort=-v:refname | head -1" "$CI/deploy.yml" &&
	test_grep -F "tar --zstd -xOf \"\$ARCHIVE\" manifest.json" "$CI/deploy.yml" &&
	test_grep "path: .*manifest\.json" "$CI/deploy.yml" &&
	test_grep ! "path: .*\(ARCHIVE\|archive\|tar\.zst\|backups\)" "$CI/deploy.yml" &&
	test_grep "release: \${{ github.ref_name }}" "$CI/deploy.yml" &&
	test_grep "^outputs:" "$CI/action.yml" &&
	for o in from-version to-version status backup; do
		test_grep "^  $o:" "$CI/action.yml" || return 1
	done &&
	test_grep "using: composite" "$CI/action.yml" &&
	test_grep -F "\"\$GITHUB_ACTION_PATH/run.sh\"" "$CI/action.yml" &&
	test_grep "PGWARD_NOTIFY_SECRET: \${{ inputs.notify-secret }}" "$CI/action.yml" &&
	test_grep "DATABASE_URL: \${{ inputs.database-url }}" "$CI/action.yml" &&
	test_grep "pull_request" "$CI/check.yml" &&
	test_grep "postgresql-15" "$CI/check.yml" &&
	test_grep "args: --ephemeral" "$CI/check.yml" &&
	test -x "$CI/run.sh"
'

test_expect_success 'the action installs the Makefile'\''s build packages, not the test suite'\''s' '
	pkgs=$(sed -n "/^DEB_PKGS/,/^\$/p" "$ROOT/Makefile" | sed "s/DEB_PKGS *:=//; s/\\\\//" | tr -s " \t\n" "\n" | grep .) &&
	apt=$(sed -n "/apt-get install/,/^\$/p" "$CI/action.yml") &&
	for p in $pkgs; do
		case "$p" in
		postgresql-15|pgbouncer|python3|time)
			if echo "$apt" | grep -qw -- "$p"; then echo "installs $p"; return 1; fi ;;
		*)
			echo "$apt" | grep -qw -- "$p" || { echo "does not install $p"; return 1; } ;;
		esac
	done
'

test_expect_success 'set up: an application repository with release v1.0.0 (002) and a schema.sql' '
	mkdir -p "$REPO/migrations" &&
	printf -- "-- migrate:up\nCREATE TABLE accounts (id bigint PRIMARY KEY, email text NOT NULL);\n-- migrate:down\nDROP TABLE accounts;\n" >"$REPO/migrations/001_accounts.sql" &&
	printf -- "-- migrate:up\nALTER TABLE accounts ADD COLUMN balance numeric(12,2) NOT NULL DEFAULT 0;\n-- migrate:down\nALTER TABLE accounts DROP COLUMN balance;\n" >"$REPO/migrations/002_balance.sql" &&
	(cd "$REPO" && test_expect_code 0 "$PGWARD" check --ephemeral --write) &&
	test -s "$REPO/migrations/schema.sql" &&
	git init -q "$REPO" &&
	git -C "$REPO" config user.email ci@example.com &&
	git -C "$REPO" config user.name CI &&
	git -C "$REPO" add -A && git -C "$REPO" commit -q -m one &&
	git -C "$REPO" tag v1.0.0 &&
	grant_pw_role
'

# a webhook receiver on 127.0.0.1: each POST body and signature into
# $TEST_DIR/hook.N and hook.N.sig
cat >"$TEST_DIR/recv.py" <<'EOF'
import http.server, os, sys
d = sys.argv[1]
class H(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        n = len([f for f in os.listdir(d) if f.startswith("hook.") and not f.endswith(".sig")])
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        open(os.path.join(d, "hook.%d.sig" % n), "w").write(self.headers.get("X-Pgward-Signature", ""))
        open(os.path.join(d, "hook.%d" % n), "wb").write(body)
        self.send_response(200); self.end_headers()
    def log_message(self, *a): pass
s = http.server.HTTPServer(("127.0.0.1", 0), H)
open(os.path.join(d, "port.tmp"), "w").write(str(s.server_address[1]))
os.rename(os.path.join(d, "port.tmp"), os.path.join(d, "port"))
s.serve_forever()
EOF
python3 "$TEST_DIR/recv.py" "$TEST_DIR" >/dev/null 2>&1 &
test_atexit "kill $! 2>/dev/null"
for i in $(seq 1 100); do test -s "$TEST_DIR/port" && break; sleep 0.05; done
HOOK="http://127.0.0.1:$(cat "$TEST_DIR/port")/deploy"
NOTIFY_SECRET=hmac-k3y-for-t0118

test_expect_success 'run.sh deploy --release v1.0.0: exit 0, the outputs, the step summary, a signed webhook' '
	test_expect_code 0 run_action DATABASE_URL="$(pw_url)" PGWARD_RELEASE=v1.0.0 \
		PGWARD_NOTIFY_URLS="$HOOK" PGWARD_NOTIFY_SECRET="$NOTIFY_SECRET" \
		PGWARD_ARGS="--wait 5" &&
	test_grep "succeeded (0 -> 002)" "$OUT" &&
	test_eq 2 "$(psql_val "SELECT max(version) FROM pgward.migrations")" "version" &&
	test_eq 0 "$(output from_version)" "from_version" &&
	test_eq 002 "$(output to_version)" "to_version" &&
	test_eq succeeded "$(output status)" "status" &&
	test_eq 0 "$(output exit_code)" "exit_code" &&
	archive=$(output archive) &&
	case "$archive" in "$RUNNER"/pgward-backups/*.tar.zst) ;; *) echo "archive: $archive"; false ;; esac &&
	test -f "$archive" &&
	test_eq "$archive" "$(output backup)" "backup" &&
	test_grep "^### pgward deploy: succeeded" "$RUNNER/summary" &&
	test_grep "^| stage | result | time |" "$RUNNER/summary" &&
	for s in check backup migrate verify; do
		test_grep "^| $s | ok | [0-9]* ms |" "$RUNNER/summary" || return 1
	done &&
	test -s "$TEST_DIR/hook.0" &&
	python3 -c "import hmac, hashlib, sys; b = open(sys.argv[1], \"rb\").read(); want = \"sha256=\" + hmac.new(sys.argv[3].encode(), b, hashlib.sha256).hexdigest(); assert hmac.compare_digest(want, open(sys.argv[2]).read()), \"bad signature\"" \
		"$TEST_DIR/hook.0" "$TEST_DIR/hook.0.sig" "$NOTIFY_SECRET" &&
	json_check "$TEST_DIR/hook.0" "d[\"status\"] == \"succeeded\" and d[\"to_release\"] == \"v1.0.0\""
'

test_expect_success 'the manifest comes out of the archive as the workflow extracts it' '
	tar --zstd -xOf "$(output archive)" manifest.json >"$TEST_DIR/manifest.json" &&
	json_check "$TEST_DIR/manifest.json" "\"entries\" in d and \"manifest_sha256\" in d"
'

test_expect_success 'nothing pending: exit 0, no new archive, no webhook' '
	test_expect_code 0 run_action DATABASE_URL="$(pw_url)" PGWARD_RELEASE=v1.0.0 \
		PGWARD_NOTIFY_URLS="$HOOK" &&
	test_grep "nothing to do" "$OUT" &&
	test_eq 0 "$(output exit_code)" "exit_code" &&
	test_eq "" "$(output archive)" "archive" &&
	test ! -e "$TEST_DIR/hook.1"
'

test_expect_success 'a failing migration: exit 1, status and ::error:: for the job, the database unchanged' '
	printf -- "-- migrate:up\nALTER TABLE nosuch ADD COLUMN x int;\n-- migrate:down\nSELECT 1;\n" >"$REPO/migrations/003_broken.sql" &&
	test_expect_code 1 run_action DATABASE_URL="$(pw_url)" &&
	test_eq 1 "$(output exit_code)" "exit_code" &&
	test_eq 002 "$(output from_version)" "from_version" &&
	test_eq 003 "$(output to_version)" "to_version" &&
	test -n "$(output status)" && test succeeded != "$(output status)" &&
	test_grep "^::error::pgward deploy" "$ERR" &&
	test_grep "\*\*Error:\*\*" "$RUNNER/summary" &&
	test_eq 2 "$(psql_val "SELECT max(version) FROM pgward.migrations")" "version" &&
	rm "$REPO/migrations/003_broken.sql"
'

test_expect_success 'a wrong password: exit 6, and neither password is printed anywhere' '
	test_expect_code 6 run_action DATABASE_URL="$(pw_url wr0ngpassw0rd)" &&
	test_eq 6 "$(output exit_code)" "exit_code" &&
	no_secret wr0ngpassw0rd "$OUT" "$ERR" "$RUNNER/output" "$RUNNER/summary"
'

test_expect_success 'the database password and the webhook secret appear in no output' '
	no_secret "$PGW_SECRET" "$TRANSCRIPT" "$RUNNER/output" "$RUNNER/summary" "$TEST_DIR/manifest.json" "$TEST_DIR"/hook.* &&
	no_secret "$NOTIFY_SECRET" "$TRANSCRIPT" "$RUNNER/output" "$RUNNER/summary"
'

test_expect_success 'no database-url: exit 2 with an error for the job, pgward not run' '
	test_expect_code 2 run_action DATABASE_URL= &&
	test_grep "^::error::pgward action: the database-url input is empty" "$ERR" &&
	test_grep ! "^exit_code=" "$RUNNER/output"
'

test_expect_success 'release with a command that takes none: exit 2' '
	test_expect_code 2 run_action DATABASE_URL="$(pw_url)" PGWARD_COMMAND=status PGWARD_RELEASE=v1.0.0 &&
	test_grep "release input applies to deploy, up and down" "$ERR"
'

test_expect_success 'command status with args: the inputs reach pgward' '
	test_expect_code 0 run_action DATABASE_URL="$(pw_url)" PGWARD_COMMAND=status PGWARD_ARGS="--json" &&
	json_check "$OUT" "True" &&
	test_eq 0 "$(output exit_code)" "exit_code"
'

test_expect_success 'check --ephemeral needs no database-url' '
	test_expect_code 0 run_action DATABASE_URL= PGWARD_COMMAND=check PGWARD_ARGS="--ephemeral" &&
	test_eq 0 "$(output exit_code)" "exit_code"
'

test_done
