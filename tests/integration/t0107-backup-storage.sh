#!/bin/bash
# Where archives go: the backup dir with [backup] keep pruning, and
# --backup-target command:CMD with its read-back checksum.
. "$(dirname "$0")/lib.sh"

test_expect_success 'set up' '
	psql_run "CREATE TABLE t (id int PRIMARY KEY, v text);
		INSERT INTO t SELECT g, md5(g::text) FROM generate_series(1, 500) g" &&
	mkdir "$TEST_DIR/store" &&
	printf "[backup]\ndir = %s\nkeep = 2\n" "$TEST_DIR/bk" >"$TEST_DIR/pgward.ini"
'

test_expect_success 'four backups into the backup dir with keep = 2 leave the newest two' '
	for i in 1 2 3 4; do
		test_expect_code 0 "$PGWARD" -C "$TEST_DIR/pgward.ini" backup || return 1
		ls "$TEST_DIR/bk" >"$TEST_DIR/after$i"
		sleep 1.1
	done &&
	test_eq 2 "$(ls "$TEST_DIR/bk" | wc -l)" "archives kept" &&
	test_eq "$(tail -n 2 "$TEST_DIR/after4" | tr "\n" " ")" "$(ls "$TEST_DIR/bk" | tr "\n" " ")" "the newest two" &&
	for f in "$TEST_DIR"/bk/*; do test "$(stat -c %a "$f")" = 600 || return 1; done
'

test_expect_success 'a bad keep value is refused before anything is written' '
	printf "[backup]\ndir = %s\nkeep = none\n" "$TEST_DIR/bk2" >"$TEST_DIR/bad.ini" &&
	test_expect_code 2 "$PGWARD" -C "$TEST_DIR/bad.ini" backup &&
	test_grep "keep" "$ERR" &&
	test ! -e "$TEST_DIR/bk2"
'

# an "object store": keeps what it gets, reads it back, prints sha and URI
cat >"$TEST_DIR/upload.sh" <<EOF2
#!/bin/sh
set -e
cat >"$TEST_DIR/store/\$PGWARD_ARCHIVE_NAME"
echo "uploading \$PGWARD_ARCHIVE_NAME"
echo "\$(sha256sum <"$TEST_DIR/store/\$PGWARD_ARCHIVE_NAME" | cut -d" " -f1) file://$TEST_DIR/store/\$PGWARD_ARCHIVE_NAME"
EOF2
chmod +x "$TEST_DIR/upload.sh"

test_expect_success '--backup-target command: the stored copy is the archive, its URI is reported' '
	test_expect_code 0 "$PGWARD" backup -o "$TEST_DIR/up.tar.zst" --backup-target "command:$TEST_DIR/upload.sh" &&
	test_grep "stored at file://$TEST_DIR/store/up.tar.zst" "$ERR" &&
	cmp "$TEST_DIR/up.tar.zst" "$TEST_DIR/store/up.tar.zst"
'

test_expect_success 'a target whose read-back checksum differs fails the backup' '
	test_expect_code 1 "$PGWARD" backup -o "$TEST_DIR/bad.tar.zst" \
		--backup-target "command:cat >/dev/null; echo 0000000000000000000000000000000000000000000000000000000000000000 file:///nowhere" &&
	test_grep "read-back checksum" "$ERR"
'

test_expect_success 'a target command that fails fails the backup, naming its exit code' '
	test_expect_code 1 "$PGWARD" backup -o "$TEST_DIR/fail.tar.zst" --backup-target "command:cat >/dev/null; exit 7" &&
	test_grep "exit 7" "$ERR"
'

# a table big enough that the backup is still copying when the signal comes
test_expect_success 'set up: a table of a few seconds of COPY' '
	psql_run "CREATE TABLE big AS SELECT g AS id, repeat(md5(g::text), 8) AS v
		FROM generate_series(1, 400000) g"
'

for sig in INT TERM; do
	for jobs in 1 2; do
		test_expect_success "SIG$sig during a backup --jobs $jobs: exit 1, the reason, no archive or .partial left" '
			"$PGWARD" backup --jobs '"$jobs"' -o "$TEST_DIR/sig.tar.zst" >"$TEST_DIR/sig.out" 2>&1 &
			pid=$! &&
			for i in $(seq 100); do
				test -e "$TEST_DIR/sig.tar.zst.partial" && break
				sleep 0.05
			done &&
			test -e "$TEST_DIR/sig.tar.zst.partial" &&
			sleep 0.2 &&
			kill -'"$sig"' $pid &&
			{ wait $pid; rc=$?; } &&
			cat "$TEST_DIR/sig.out" >>"$TRANSCRIPT" &&
			test_eq 1 "$rc" "exit code" &&
			test_grep "interrupted by a signal" "$TEST_DIR/sig.out" &&
			test_grep "sig.tar.zst.partial was removed" "$TEST_DIR/sig.out" &&
			test ! -e "$TEST_DIR/sig.tar.zst" &&
			test ! -e "$TEST_DIR/sig.tar.zst.partial"
		'
	done
done

test_expect_success 'the manifest names the release of the schema: the newest history row'"'"'s git commit and tag' '
	write_migration 001_a.sql <<-\EOF &&
	-- migrate:up
	CREATE TABLE a (id int);
	-- migrate:down
	DROP TABLE a;
	EOF
	test_expect_code 0 "$PGWARD" up &&
	psql_run "UPDATE pgward.migrations SET git_commit = '"'"'0123456789abcdef0123456789abcdef01234567'"'"', git_tag = '"'"'v1.2.3'"'"'
		WHERE version = (SELECT max(version) FROM pgward.migrations)" &&
	test_expect_code 0 "$PGWARD" backup -o "$TEST_DIR/rel.tar.zst" &&
	test_expect_code 0 "$PGWARD" archive list --json "$TEST_DIR/rel.tar.zst" &&
	test_grep "\"git_commit\": *\"0123456789abcdef0123456789abcdef01234567\"" "$OUT" &&
	test_grep "\"git_tag\": *\"v1.2.3\"" "$OUT"
'

test_done
