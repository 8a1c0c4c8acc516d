#!/bin/bash
# Edges of the migration engine: a no-op up is decided before the deploy
# lock; a multi-step down whose second step fails changes nothing; the
# library's start-up path waits MIGRATION_TIMEOUT for the lock; a concurrent
# index build held up by an old snapshot reports progress; pgward's history
# in a schema of its own (--schema-name); a deadlock is retried; make
# install gives a header and library a program can be built against.
. "$(dirname "$0")/lib.sh"

APP=$(dirname "$PGWARD")/examples/app_start
ROOT=$(cd "$TEST_SRC/../.." && pwd)
# The deploy lock, docs/migrations.md: pg_try_advisory_lock(1885828964, h).
LOCK_CLASS=1885828964

# lock_key SCHEMA: h, the 32-bit FNV-1a hash of the schema name with its
# top bit cleared.
lock_key() {
	local s=$1 h=2166136261 i c
	for ((i = 0; i < ${#s}; i++)); do
		printf -v c '%d' "'${s:i:1}"
		h=$(( ((h ^ c) * 16777619) & 0xffffffff ))
	done
	echo $((h & 0x7fffffff))
}

# hold_lock NAME [SCHEMA]: a psql session (psql_bg NAME) holding the deploy
# lock of SCHEMA (default pgward) until kill_session NAME.
hold_lock() {
	local key
	key=$(lock_key "${2:-pgward}")
	psql_bg "$1" "SELECT pg_advisory_lock($LOCK_CLASS, $key); SELECT pg_sleep(120)" &&
	wait_for 10 "SELECT EXISTS (SELECT 1 FROM pg_locks l
		JOIN pg_stat_activity a ON a.pid = l.pid
		WHERE a.application_name = 'pgw_test_$1' AND l.locktype = 'advisory'
		AND l.granted AND l.classid = $LOCK_CLASS AND l.objid = $key
		AND l.objsubid = 2)"
}

release_lock() {
	kill_session "$1" &&
	bg_wait "$1"
}

session_pid() {
	psql_val "SELECT pid FROM pg_stat_activity
		WHERE application_name = 'pgw_test_$1' AND datname = current_database()"
}

# wait_for_file SECONDS FILE PATTERN: until FILE has a line matching the
# extended regexp PATTERN.
wait_for_file() {
	local limit=$(($1 * 20)) i=0
	while ! grep -q -E "$3" "$2" 2>/dev/null; do
		i=$((i + 1))
		if [ $i -gt $limit ]; then
			echo "timed out after $1 s waiting for '$3' in $2:"
			cat "$2" 2>/dev/null
			return 1
		fi
		sleep 0.05
	done
}

app() {
	env PGWARD_MIGRATIONS="$MIG" AUTO_MIGRATE_ON_START=true "$@" "$APP"
}

write_migration 001_a.sql <<'EOF'
-- migrate:up
CREATE TABLE a_one (id int PRIMARY KEY, v text);
INSERT INTO a_one VALUES (1, 'one'), (2, 'two');
-- migrate:down
DROP TABLE a_one;
EOF

# --- 1. a no-op up takes no lock ---------------------------------------

test_expect_success 'setup: 001 applied' '
	test_expect_code 0 pgward up &&
	expect_history 1
'

test_expect_success 'a no-op up exits 0 at once while another session holds the deploy lock' '
	hold_lock holder &&
	s=$(now_ms) &&
	test_expect_code 0 pgward up --wait 30 &&
	ms=$(( $(now_ms) - s )) &&
	echo "no-op up took $ms ms" &&
	cat "$OUT" "$ERR" >all &&
	test_grep "nothing to do: database at version 001" all &&
	test_grep ! "waiting" all &&
	test_le $ms 10000 "ms the no-op up took (it would wait 30 s for the lock)" &&
	expect_history 1
'

test_expect_success 'with work pending, an up at the same time exits 4 naming the holder' '
	write_migration 002_b.sql <<-\EOF &&
	-- migrate:up
	CREATE TABLE b (id int PRIMARY KEY);
	INSERT INTO b VALUES (1), (2), (3);
	-- migrate:down
	DROP TABLE b;
	DROP TABLE no_such_table;
	EOF
	db_snapshot before &&
	test_expect_code 4 pgward up &&
	test_grep "another pgward holds the deploy lock" "$ERR" &&
	test_grep "pid $(session_pid holder) (pgw_test_holder" "$ERR" &&
	expect_history 1 &&
	! table_exists public.b &&
	db_snapshot after &&
	test_cmp before after
'

test_expect_success 'once the lock is free, up applies it' '
	release_lock holder &&
	test_expect_code 0 pgward up &&
	expect_history 1,2 &&
	table_exists public.b
'

# --- 2. down --steps 2 whose second down fails --------------------------

write_migration 003_c.sql <<'EOF'
-- migrate:up
ALTER TABLE a_one ADD COLUMN c int;
UPDATE a_one SET c = id * 10;
-- migrate:down
ALTER TABLE a_one DROP COLUMN c;
EOF

test_expect_success 'down --steps 2 whose older down fails: exit 1, history and schema as before' '
	test_expect_code 0 pgward up &&
	expect_history 1,2,3 &&
	db_snapshot before &&
	schema_snapshot before.schema &&
	test_expect_code 1 pgward down --steps 2 &&
	expect_history 1,2,3 &&
	column_exists public.a_one c &&
	table_exists public.b &&
	db_snapshot after &&
	schema_snapshot after.schema &&
	test_cmp before.schema after.schema &&
	test_cmp before after
'

test_expect_success 'the failure names the migration, the line and the statement' '
	test_grep "002_b.sql:6" "$ERR" &&
	test_grep "DROP TABLE no_such_table" "$ERR" &&
	test_grep "no_such_table\" does not exist" "$ERR"
'

test_expect_success 'with the down fixed in the file, down --steps 2 --use-file-down reverts both' '
	write_migration 002_b.sql <<-\EOF &&
	-- migrate:up
	CREATE TABLE b (id int PRIMARY KEY);
	INSERT INTO b VALUES (1), (2), (3);
	-- migrate:down
	DROP TABLE b;
	EOF
	test_expect_code 0 pgward down --steps 2 --use-file-down &&
	expect_history 1 &&
	! table_exists public.b &&
	! column_exists public.a_one c &&
	test_expect_code 0 pgward up &&
	expect_history 1,2,3
'

# --- 3. the library start-up path and MIGRATION_TIMEOUT -----------------

write_migration 004_d.sql <<'EOF'
-- migrate:up
CREATE TABLE d (id int);
INSERT INTO d VALUES (4);
-- migrate:down
DROP TABLE d;
EOF

test_expect_success 'app start-up, lock held: gives up after MIGRATION_TIMEOUT=2 with an error, exit 1' '
	test -x "$APP" &&
	hold_lock holder &&
	s=$(now_ms) &&
	test_expect_code 1 app MIGRATION_TIMEOUT=2 &&
	ms=$(( $(now_ms) - s )) &&
	echo "the app gave up after $ms ms" &&
	test_grep "waiting up to 2 s for the deploy lock held by pid $(session_pid holder)" "$ERR" &&
	test_grep "^\[migrate\] error: another pgward holds the deploy lock: pid $(session_pid holder)" "$ERR" &&
	test_grep ! "application started" "$OUT" &&
	test_le 1900 $ms "ms the app waited" &&
	test_le $ms 10000 "ms the app waited (MIGRATION_TIMEOUT=2, not the 300 s default; slack for a loaded machine)" &&
	expect_history 1,2,3 &&
	! table_exists public.d
'

test_expect_success 'app start-up waiting for the lock migrates once it is released' '
	bg_start app1 app MIGRATION_TIMEOUT=60 &&
	wait_for_file 20 app1.err "waiting up to 60 s for the deploy lock" &&
	sleep 0.5 &&
	expect_history 1,2,3 &&
	s=$(now_ms) &&
	release_lock holder &&
	bg_wait app1 &&
	ms=$(( $(now_ms) - s )) &&
	{ test_eq 0 "$(bg_rc app1)" "app exit" || { bg_show app1; false; }; } &&
	echo "the app finished $ms ms after the lock was released" &&
	test_le $ms 10000 "ms from the release to the end of the start-up" &&
	test_grep "application started" app1.out &&
	test_grep "database schema migrated from 003 to 004" app1.err &&
	expect_history 1,2,3,4 &&
	test_eq 4 "$(psql_val "SELECT id FROM d")" "rows of d"
'

# --- 4. progress of a concurrent index build ----------------------------

psql_run "CREATE TABLE big (id int PRIMARY KEY, v int NOT NULL);
	INSERT INTO big SELECT g, g % 1000 FROM generate_series(1, 20000) g"
write_migration 005_big_v_idx.sql <<'EOF'
-- migrate:up transaction:false
CREATE INDEX CONCURRENTLY IF NOT EXISTS big_v_idx ON big (v);
-- migrate:down transaction:false
DROP INDEX CONCURRENTLY IF EXISTS big_v_idx;
EOF

# old_snapshot NAME: a REPEATABLE READ transaction on another table that has
# taken its snapshot: a concurrent build waits for it to end.
old_snapshot() {
	psql_bg "$1" "BEGIN ISOLATION LEVEL REPEATABLE READ; SELECT count(*) FROM a_one; SELECT pg_sleep(120)" &&
	wait_for 10 "SELECT EXISTS (SELECT 1 FROM pg_stat_activity
		WHERE application_name = 'pgw_test_$1' AND query LIKE '%pg_sleep%'
		AND backend_xmin IS NOT NULL)"
}

index_valid() {
	psql_val "SELECT indisvalid FROM pg_index WHERE indexrelid = to_regclass('$1')"
}

# In a log (stderr not a terminal), docs/migrations.md: progress from
# pg_stat_progress_create_index every 5 s, "index NAME: PHASE, N% in T s";
# while the build waits for other sessions, the one it waits for instead
# of a percentage; "index NAME: built in T s" at the end.
test_expect_success 'a build waiting for an old snapshot reports its phase every 5 s (in a log)' '
	old_snapshot old &&
	s=$(now_ms) &&
	bg_start up pgward up &&
	wait_for_file 30 up.err "^index big_v_idx" &&
	first=$(( $(now_ms) - s )) &&
	echo "first progress line after $first ms" &&
	test_eq t "$(psql_val "SELECT EXISTS (SELECT 1 FROM pg_stat_progress_create_index p
		JOIN pg_stat_activity a USING (pid)
		WHERE a.application_name LIKE '\''pgward%'\''
		AND p.phase = '\''waiting for old snapshots'\'')")" "the build waits for the old snapshot" &&
	release_lock old &&
	bg_wait up &&
	{ test_eq 0 "$(bg_rc up)" "up exit" || { bg_show up; false; }; } &&
	expect_history 1,2,3,4,5 &&
	test_eq t "$(index_valid public.big_v_idx)" "big_v_idx valid" &&
	grep "^index " up.err >progress &&
	test_grep -E "^index big_v_idx: waiting for old snapshots \(pid [0-9]+\) in [0-9]+\.[0-9] s$" progress &&
	test_grep -E "^index big_v_idx: built in [0-9]+\.[0-9] s$" progress &&
	test_grep ! -v -E "^index big_v_idx: ([a-z :]+( \(pid [0-9]+\))?(, [0-9]{1,3}%)?|built) in [0-9]+\.[0-9] s$" progress &&
	test_le 4500 $first "ms before the first progress line" &&
	test_grep "applied 005_big_v_idx.sql" up.err
'

# DESIGN.md: long work, concurrent index builds included, shows "a bar on a
# terminal"; the progress display draws it as "TASK ITEM [####......] ...".
test_expect_success 'on a terminal the build shows a progress bar' '
	test_expect_code 0 pgward down &&
	expect_history 1,2,3,4 &&
	! table_exists public.big_v_idx &&
	old_snapshot old &&
	bg_start tty script -qfec "\"$PGWARD\" --migrations \"$MIG\" up" /dev/null &&
	wait_for_file 30 tty.out "big_v_idx" &&
	release_lock old &&
	bg_wait tty &&
	{ test_eq 0 "$(bg_rc tty)" "exit of script(1)" || { bg_show tty; false; }; } &&
	expect_history 1,2,3,4,5 &&
	test_eq t "$(index_valid public.big_v_idx)" "big_v_idx valid" &&
	tr "\r" "\n" <tty.out | cat -v &&
	test_grep -E "index big_v_idx \[[#.]{20}\]" tty.out
'

# --- 5. the history in a schema of its own ------------------------------

MIG_META="$TEST_DIR/meta-migrations"
mkdir -p "$MIG_META"
cat >"$MIG_META/001_m_one.sql" <<'EOF'
-- migrate:up
CREATE TABLE m_one (id int);
-- migrate:down
DROP TABLE m_one;
EOF
cat >"$MIG_META/002_m_two.sql" <<'EOF'
-- migrate:up
CREATE TABLE m_two (id int);
-- migrate:down
DROP TABLE m_two;
EOF

meta() {
	"$PGWARD" --migrations "$MIG_META" --schema-name meta "$@"
}

pgward_rows() {
	psql_val "SELECT version, name, checksum, applied_at FROM pgward.migrations ORDER BY 1"
}

test_expect_success '--schema-name meta: up writes the history to meta.migrations' '
	pgward_rows >pgward.before &&
	test_expect_code 0 meta up &&
	table_exists public.m_one &&
	table_exists public.m_two &&
	table_exists meta.migrations &&
	expect_history 1,2 meta &&
	test_eq "001_m_one.sql 002_m_two.sql" \
		"$(psql_val "SELECT string_agg(file, '\'' '\'' ORDER BY version) FROM meta.migrations")" \
		"files in meta.migrations" &&
	pgward_rows >pgward.after &&
	test_cmp pgward.before pgward.after
'

test_expect_success '--schema-name meta: status reads meta.migrations' '
	test_expect_code 0 meta --json status &&
	json_check "$OUT" "d[\"version\"] == \"002\" and d[\"applied\"] == 2 and d[\"pending\"] == [] and d[\"unknown\"] == [] and d[\"changed\"] == []" &&
	test_expect_code 0 meta status &&
	test_grep "002" "$OUT" &&
	test_grep ! "pending.*m_two" "$OUT"
'

test_expect_success '--schema-name meta: down reverts from meta.migrations' '
	test_expect_code 0 meta down &&
	expect_history 1 meta &&
	! table_exists public.m_two &&
	table_exists public.m_one &&
	pgward_rows >pgward.after &&
	test_cmp pgward.before pgward.after &&
	test_expect_code 0 meta --json status &&
	json_check "$OUT" "d[\"version\"] == \"001\" and [p[\"version\"] for p in d[\"pending\"]] == [\"002\"]"
'

test_expect_success 'the ini key [pgward] schema does the same' '
	printf "[pgward]\nschema = meta\n" >meta.ini &&
	test_expect_code 0 "$PGWARD" -C meta.ini --migrations "$MIG_META" --json status &&
	json_check "$OUT" "d[\"version\"] == \"001\" and d[\"applied\"] == 1"
'

test_expect_success '--schema-name meta has a lock of its own' '
	hold_lock holder pgward &&
	test_expect_code 0 meta up &&
	expect_history 1,2 meta &&
	release_lock holder &&
	hold_lock holder meta &&
	test_expect_code 4 meta down &&
	test_grep "pid $(session_pid holder) (pgw_test_holder" "$ERR" &&
	expect_history 1,2 meta &&
	release_lock holder
'

# --- 6. a deadlock is retried -------------------------------------------

psql_run "CREATE TABLE dl_a (id int); CREATE TABLE dl_b (id int)"
write_migration 006_deadlock.sql <<'EOF'
-- migrate:up
LOCK TABLE dl_a IN ACCESS EXCLUSIVE MODE;
SELECT pg_sleep(1);
LOCK TABLE dl_b IN ACCESS EXCLUSIVE MODE;
CREATE TABLE dl_done (id int);
-- migrate:down
DROP TABLE dl_done;
EOF

# The other session locks dl_b, waits until the migration holds dl_a, and
# then asks for dl_a: when the migration asks for dl_b, each waits for the
# other.  Only the migration's backend runs the deadlock check within the
# test (the other's deadlock_timeout is 60 s), so the server aborts the
# migration with 40P01, once: the other session then commits and the retry
# finds both tables free.
DEADLOCK_OTHER=$(cat <<'EOF'
BEGIN;
SET LOCAL deadlock_timeout = '60s';
LOCK TABLE dl_b IN ACCESS EXCLUSIVE MODE;
DO $$
DECLARE
	i int := 0;
BEGIN
	WHILE NOT EXISTS (SELECT 1 FROM pg_locks
		WHERE relation = 'dl_a'::regclass AND granted
		AND mode = 'AccessExclusiveLock' AND pid <> pg_backend_pid()) LOOP
		i := i + 1;
		IF i > 600 THEN
			RAISE EXCEPTION 'nobody locked dl_a';
		END IF;
		PERFORM pg_sleep(0.05);
	END LOOP;
END
$$;
LOCK TABLE dl_a IN ACCESS EXCLUSIVE MODE;
INSERT INTO dl_a VALUES (1);
COMMIT;
EOF
)

test_expect_success 'a deadlock with another session (40P01) is retried: exit 0, applied once' '
	test_eq 1s "$(psql_val "SHOW deadlock_timeout")" "deadlock_timeout" &&
	psql_bg other "$DEADLOCK_OTHER" &&
	wait_for_lock 10 public.dl_b pgw_test_other &&
	test_expect_code 0 pgward up --lock-timeout 5000 &&
	bg_wait other &&
	{ test_eq 0 "$(bg_rc other)" "exit of the other session" || { bg_show other; false; }; } &&
	test_eq 1 "$(psql_val "SELECT count(*) FROM dl_a")" "rows the other session wrote" &&
	expect_history 1,2,3,4,5,6 &&
	table_exists public.dl_done
'

test_expect_success 'stderr says it was a deadlock and that the run was retried' '
	test_grep -E "006_deadlock.sql:4: .LOCK TABLE dl_b.*deadlock detected.*retrying" "$ERR" &&
	test_eq 1 "$(grep -c "retrying" "$ERR")" "retries" &&
	test_grep "applied 006_deadlock.sql" "$ERR"
'

# --- 7. make install, and a program built against it ---------------------

write_migration 007_installed.sql <<'EOF'
-- migrate:up
CREATE TABLE installed (id int);
INSERT INTO installed VALUES (7);
-- migrate:down
DROP TABLE installed;
EOF

if command -v cc >/dev/null; then
	test_expect_success 'make install puts pgward, libpgward.a, pgward.h and the man page under PREFIX' '
		inst="$TEST_DIR/inst" &&
		# "-o all": install the build under test as it is; rebuilding
		# it here would change the binary other scripts are running
		# (and need-deps may run apt-get).
		(cd "$ROOT" && env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL -u DESTDIR -u SANITIZE \
			make --no-print-directory -o all install PREFIX="$inst") &&
		test -x "$inst/bin/pgward" &&
		test -f "$inst/lib/libpgward.a" &&
		test -f "$inst/share/man/man1/pgward.1" &&
		cmp "$ROOT/core/pgward.h" "$inst/include/pgward.h" &&
		test_expect_code 0 "$inst/bin/pgward" --version
	'

	test_expect_success 'examples/app_start.c built against the installed library migrates' '
		inst="$TEST_DIR/inst" &&
		cc "$ROOT/examples/app_start.c" -I"$inst/include" -L"$inst/lib" \
			-lpgward $(pkg-config --libs libpq jansson inih nettle) -lpg_query -lpthread \
			-o app_installed &&
		test_expect_code 0 env PGWARD_MIGRATIONS="$MIG" AUTO_MIGRATE_ON_START=true ./app_installed &&
		test_grep "application started" "$OUT" &&
		test_grep "database schema migrated from 006 to 007" "$ERR" &&
		expect_history 1,2,3,4,5,6,7 &&
		test_eq 7 "$(psql_val "SELECT id FROM installed")" "rows of installed"
	'
else
	test_skip 'make install puts pgward, libpgward.a, pgward.h and the man page under PREFIX' 'no C compiler (cc)'
	test_skip 'examples/app_start.c built against the installed library migrates' 'no C compiler (cc)'
fi

test_done
