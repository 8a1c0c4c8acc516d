#!/bin/bash
# pgward deploy: the guarded pipeline (check, backup, migrate with the
# schema verified before COMMIT, verify, notify) and the way back.
. "$(dirname "$0")/lib.sh"

export NO_PROXY='*'
BK="$TEST_DIR/backups"

write_migration 001_accounts.sql <<'EOF2'
-- migrate:up
CREATE TABLE accounts (id bigint PRIMARY KEY, email text NOT NULL);
CREATE TABLE untouched (id serial PRIMARY KEY, v text);
-- migrate:down
DROP TABLE untouched;
DROP TABLE accounts;
EOF2
write_migration 002_balance.sql <<'EOF2'
-- migrate:up
ALTER TABLE accounts ADD COLUMN balance numeric(12,2) NOT NULL DEFAULT 0;
-- migrate:down
ALTER TABLE accounts DROP COLUMN balance;
EOF2

# a webhook receiver on 127.0.0.1: each POST body into $TEST_DIR/hook.N
cat >"$TEST_DIR/recv.py" <<'EOF2'
import http.server, os, sys
d = sys.argv[1]
class H(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        n = len([f for f in os.listdir(d) if f.startswith("hook.")])
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        open(os.path.join(d, "hook.%d" % n), "wb").write(body)
        self.send_response(200); self.end_headers()
    def log_message(self, *a): pass
s = http.server.HTTPServer(("127.0.0.1", 0), H)
open(os.path.join(d, "port.tmp"), "w").write(str(s.server_address[1]))
os.rename(os.path.join(d, "port.tmp"), os.path.join(d, "port"))
s.serve_forever()
EOF2
python3 "$TEST_DIR/recv.py" "$TEST_DIR" >/dev/null 2>&1 &
RECV=$!
test_atexit "kill $RECV 2>/dev/null"
for i in $(seq 1 100); do test -s "$TEST_DIR/port" && break; sleep 0.05; done
URL="http://127.0.0.1:$(cat "$TEST_DIR/port")/deploy"
hooks() { ls "$TEST_DIR" | grep -c "^hook\." ; }
deploy() { pgward --backup-dir "$BK" deploy --notify "$URL" "$@"; }
version() { psql_val "SELECT coalesce(max(version), 0) FROM pgward.migrations"; }

test_expect_success 'set up: schema.sql at 002 from a check' '
	test_expect_code 0 pgward check --ephemeral --write &&
	test_grep "migrations at 002" "$MIG/schema.sql"
'

test_expect_success '--dry-run: the plan with estimated backup and restore times; nothing changes' '
	test_expect_code 0 deploy --dry-run &&
	test_grep "^apply 001_accounts.sql$" "$OUT" &&
	test_grep "^apply 002_balance.sql$" "$OUT" &&
	test_grep "^backup: [0-9]* MB of tables .*backup about [0-9.]* s, restore about [0-9.]* s" "$OUT" &&
	test_grep "planned (0 -> 002)" "$OUT" &&
	! table_exists public.accounts &&
	test_eq 0 "$(ls "$BK" 2>/dev/null | wc -l)" "backups" &&
	test_eq 0 "$(hooks)" "webhooks" &&
	test_expect_code 0 pgward --json --backup-dir "$BK" deploy --dry-run &&
	json_check "$OUT" "d[\"status\"] == \"planned\" and \"002_balance.sql\" in d[\"plan\"][\"migrations\"] and d[\"plan\"][\"estimated_restore_s\"] >= 0"
'

test_expect_success 'deploy: check, backup, migrate, verify; exit 0, a backup, a webhook, the journal' '
	GITHUB_STEP_SUMMARY="$TEST_DIR/summary" GITHUB_OUTPUT="$TEST_DIR/ghout" \
		test_expect_code 0 deploy &&
	test_grep "succeeded (0 -> 002)" "$OUT" &&
	test_eq 2 "$(version)" "version" &&
	test_eq 1 "$(ls "$BK" | wc -l)" "backups" &&
	test_eq 1 "$(hooks)" "webhooks" &&
	python3 -c "import json,sys; d=json.load(open(sys.argv[1])); assert d[\"status\"] == \"succeeded\" and d[\"to_version\"] == \"002\" and [s[\"name\"] for s in d[\"stages\"]] == [\"check\", \"backup\", \"migrate\", \"verify\"], d" "$TEST_DIR/hook.0" &&
	test_eq succeeded "$(psql_val "SELECT status FROM pgward_journal.deploys")" "journal" &&
	test_grep "^status=succeeded" "$TEST_DIR/ghout" &&
	test_grep "^to_version=002" "$TEST_DIR/ghout" &&
	test_grep "| migrate | ok |" "$TEST_DIR/summary"
'

test_expect_success 'nothing pending: exit 0 before any backup or webhook' '
	test_expect_code 0 deploy &&
	test_grep "nothing to do" "$OUT" &&
	test_eq 1 "$(ls "$BK" | wc -l)" "backups" &&
	test_eq 1 "$(hooks)" "webhooks"
'

test_expect_success 'a verification that fails before COMMIT: rolled back, exit 1, no restore' '
	write_migration 003_note.sql <<-\EOF2 &&
	-- migrate:up
	ALTER TABLE accounts ADD COLUMN note text;
	-- migrate:down
	ALTER TABLE accounts DROP COLUMN note;
	EOF2
	sed -i "s/migrations at 002/migrations at 003/" "$MIG/schema.sql" &&
	test_expect_code 1 deploy &&
	test_grep "column accounts.note: not in schema.sql" "$ERR" &&
	test_eq 2 "$(version)" "version" &&
	! column_exists accounts note &&
	test_eq "rolled back" "$(psql_val "SELECT status FROM pgward_journal.deploys ORDER BY started_at DESC LIMIT 1")" "journal"
'

test_expect_success 'a failing post-verify hook after COMMIT: the stored down SQL, exit 1' '
	test_expect_code 0 pgward check --ephemeral --write &&
	mkdir -p "$TEST_DIR/hooks" &&
	printf "#!/bin/sh\necho smoke test fails\nexit 1\n" >"$TEST_DIR/hooks/post-verify" &&
	chmod 755 "$TEST_DIR/hooks/post-verify" &&
	test_expect_code 1 deploy --hooks "$TEST_DIR/hooks" &&
	test_grep "way back: reverted with the stored down SQL" "$OUT" &&
	test_grep "smoke test fails" "$ERR" &&
	test_eq 2 "$(version)" "version" &&
	! column_exists accounts note
'

test_expect_success 'destructive, post-verify fails, writes not stopped: exit 3 with the restore command, nothing restored' '
	psql_run "INSERT INTO accounts SELECT g, '\''u'\'' || g || '\''@x'\'', g FROM generate_series(1, 100) g" &&
	rm "$MIG/003_note.sql" &&
	write_migration 003_drop_balance.sql <<-\EOF2 &&
	-- migrate:up
	ALTER TABLE accounts DROP COLUMN balance;
	-- migrate:down
	ALTER TABLE accounts ADD COLUMN balance numeric(12,2) NOT NULL DEFAULT 0;
	EOF2
	test_expect_code 0 pgward check --ephemeral --write &&
	test_expect_code 3 deploy --hooks "$TEST_DIR/hooks" &&
	test_grep "cannot prove that restoring the backup loses no committed row" "$ERR" &&
	test_grep "pgward restore $BK/.*\.tar\.zst --yes" "$ERR" &&
	test_eq 3 "$(version)" "still migrated" &&
	! column_exists accounts balance
'

test_expect_success 'the same with --writes-stopped: only the touched table restored (down SQL + its rows), exit 1, every row back' '
	test_expect_code 0 pgward --backup-dir "$BK" down --steps 1 &&
	psql_run "UPDATE accounts SET balance = id * 2;
		INSERT INTO untouched (v) SELECT g::text FROM generate_series(1, 50) g" &&
	before=$(psql_val "SELECT sum(balance) FROM accounts") &&
	untouched=$(psql_val "SELECT relfilenode FROM pg_class WHERE relname = '\''untouched'\''") &&
	schema_dump "$TEST_DIR/schema.before" &&
	test_expect_code 1 deploy --hooks "$TEST_DIR/hooks" --writes-stopped &&
	test_grep "way back: the down SQL, and the rows of the tables it touched" "$OUT" &&
	test_grep "rows of 1 table (100 rows)" "$ERR" &&
	test_eq 2 "$(version)" "version" &&
	test_eq "$before" "$(psql_val "SELECT sum(balance) FROM accounts")" "balances" &&
	test_eq "$untouched" "$(psql_val "SELECT relfilenode FROM pg_class WHERE relname = '\''untouched'\''")" "untouched table left alone" &&
	schema_dump "$TEST_DIR/schema.after" &&
	test_cmp "$TEST_DIR/schema.before" "$TEST_DIR/schema.after"
'

test_expect_success 'a destructive way back whose down SQL does not give the schema back: the whole backup restored' '
	cp "$MIG/003_drop_balance.sql" "$TEST_DIR/003.good" &&
	sed -i "s/^ALTER TABLE accounts ADD COLUMN balance numeric(12,2) NOT NULL DEFAULT 0;/ALTER TABLE accounts ADD COLUMN balance numeric(12,2) DEFAULT 0;/" \
		"$MIG/003_drop_balance.sql" &&
	test_grep ! "NOT NULL" "$MIG/003_drop_balance.sql" &&
	before=$(psql_val "SELECT sum(balance) FROM accounts") &&
	test_expect_code 1 deploy --hooks "$TEST_DIR/hooks" --writes-stopped &&
	test_grep "restoring only what the deploy touched did not work" "$ERR" &&
	test_grep "restored from the deploy" "$OUT" &&
	test_eq 2 "$(version)" "version" &&
	test_eq "$before" "$(psql_val "SELECT sum(balance) FROM accounts")" "balances" &&
	test_eq t "$(psql_val "SELECT attnotnull FROM pg_attribute WHERE attrelid = '\''accounts'\''::regclass AND attname = '\''balance'\''")" "NOT NULL back" &&
	cp "$TEST_DIR/003.good" "$MIG/003_drop_balance.sql"
'

test_expect_success '--no-backup with a destructive migration pending: exit 2 unless --force' '
	rm "$TEST_DIR/hooks/post-verify" &&
	test_expect_code 2 deploy --no-backup &&
	test_grep "no-backup refused" "$ERR" &&
	test_eq 2 "$(version)" "version"
'

test_expect_success 'going down to an older version needs --allow-down' '
	test_expect_code 2 deploy --to 1 &&
	test_grep "allow-down" "$ERR" &&
	test_eq 2 "$(version)" "version"
'

test_expect_success 'eight deploys at once: one does the work, the others exit 4 (or, with --wait, find nothing to do)' '
	pids= &&
	for i in 1 2 3 4 5 6 7 8; do
		w=0 && [ $i -gt 6 ] && w=30
		(pgward --backup-dir "$BK" --wait $w deploy >"$TEST_DIR/c$i.out" 2>&1; echo $? >"$TEST_DIR/c$i.rc") &
		pids="$pids $!"
	done &&
	wait $pids &&
	test_eq 3 "$(version)" "version" &&
	rcs=$(cat "$TEST_DIR"/c?.rc | sort | uniq | tr "\n" " ") &&
	case "$rcs" in "0 4 "|"0 ") ;; *) echo "exit codes: $rcs"; false ;; esac &&
	test_eq 1 "$(grep -l "succeeded (002 -> 003)" "$TEST_DIR"/c?.out | wc -l)" "deploys that migrated" &&
	for i in 7 8; do
		test_eq 0 "$(cat "$TEST_DIR/c$i.rc")" "deploy $i waited" || return 1
	done
'

test_expect_success '--json: one document' '
	test_expect_code 0 pgward --json --backup-dir "$BK" deploy &&
	json_check "$OUT" "d[\"status\"] == \"nothing to do\""
'

test_expect_success 'SIGINT during a migration transaction: rolled back, exit 1 within seconds, the journal says so' '
	write_migration 004_slow.sql <<-\EOF2 &&
	-- migrate:up
	CREATE TABLE slow (id int);
	SELECT pg_sleep(30);
	-- migrate:down
	DROP TABLE slow;
	EOF2
	bg_start dep pgward --backup-dir "$BK" deploy &&
	wait_for 20 "SELECT EXISTS (SELECT 1 FROM pg_stat_activity
		WHERE datname = current_database()
		AND query = \$\$SELECT pg_sleep(30)\$\$ AND state = \$\$active\$\$)" &&
	pkill -INT -f -- "--migrations $MIG --backup-dir $BK deploy" &&
	bg_wait dep 10 &&
	{ test "$(bg_rc dep)" = 1 || { bg_show dep; false; }; } &&
	test_eq 3 "$(version)" "version" &&
	! table_exists public.slow &&
	test_eq "rolled back" "$(psql_val "SELECT status FROM pgward_journal.deploys ORDER BY started_at DESC LIMIT 1")" "journal" &&
	test_grep -i "interrupt" "$TEST_DIR/dep.err" &&
	rm "$MIG/004_slow.sql"
'

test_expect_success 'a plain up while a deploy runs (here: in its pre-backup hook) exits 4; the deploy then does the work' '
	write_migration 004_later.sql <<-\EOF2 &&
	-- migrate:up
	CREATE TABLE later (id int);
	-- migrate:down
	DROP TABLE later;
	EOF2
	test_expect_code 0 pgward check --ephemeral --write &&
	mkdir -p "$TEST_DIR/hooks-slow" &&
	printf "#!/bin/sh\nsleep 3\n" >"$TEST_DIR/hooks-slow/pre-backup" &&
	chmod 755 "$TEST_DIR/hooks-slow/pre-backup" &&
	bg_start dep pgward --backup-dir "$BK" deploy --hooks "$TEST_DIR/hooks-slow" &&
	wait_for 20 "SELECT EXISTS (SELECT 1 FROM pgward_journal.deploys WHERE status = \$\$running\$\$ AND stage = \$\$backup\$\$)" &&
	test_expect_code 4 pgward up &&
	test_grep "holds the deploy lock" "$ERR" &&
	! table_exists public.later &&
	bg_wait dep 30 &&
	{ test "$(bg_rc dep)" = 0 || { bg_show dep; false; }; } &&
	test_eq 4 "$(version)" "version" &&
	test_grep "succeeded (003 -> 004)" "$TEST_DIR/dep.out"
'

test_done
