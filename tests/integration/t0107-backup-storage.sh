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

test_done
