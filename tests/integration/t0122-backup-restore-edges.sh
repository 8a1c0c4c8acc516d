#!/bin/bash
# Backup and restore at their edges, each against the state before:
# --no-owner (an owner the restoring role cannot set is exit 2, nothing
# changed; with --no-owner everything is the restoring role's and the rows
# are the source's); the question on a terminal (no: exit 2, nothing
# changed; yes: restored) and none without one; a backup that meets an
# ACCESS EXCLUSIVE lock fails within seconds naming that session and no
# other, leaving no file; a table the backup role cannot read is exit 2,
# named; [backup] keep never removes an archive an unfinished deploy refers
# to; extensions are prerequisites (missing, or at another version, in a
# database that is not empty: exit 2, nothing changed); the census refuses
# every kind of object the archive cannot carry, by name, and
# --allow-unsupported records it; `archive verify` and `archive list` need
# no database; the owner, grants and comment of `public` itself round-trip.
. "$(dirname "$0")/lib.sh"

DB=$PGDATABASE
ARCH=$TEST_DIR/archives
mkdir -p "$ARCH"
# cluster-wide names carry the database's name (scripts run in parallel)
R_RST=${DB}_rst
R_X=${DB}_x
R_BK=${DB}_bk
R_PUBOWN=${DB}_pubown
R_PUBGR=${DB}_pubgr
R_PUBOTHER=${DB}_pubother

psql_db() { # psql_db DB [SQL]: SQL, or stdin (statement by statement), on DB
	local db=$1
	shift
	if [ $# -gt 0 ] && [ "${1#-}" = "$1" ]; then
		"$PGBIN/psql" -XAtq -v ON_ERROR_STOP=1 -d "$db" -c "$1" </dev/null
	else
		"$PGBIN/psql" -XAtq -v ON_ERROR_STOP=1 -d "$db" "$@"
	fi
}
url_as() { # url_as ROLE [DB]
	echo "host=$PGHOST port=$PGPORT user=$1 dbname=${2:-$DB}"
}
fresh_db() { # fresh_db NAME [createdb options]
	local name=$1
	shift
	"$PGBIN/dropdb" --if-exists --force "$name" </dev/null &&
	"$PGBIN/createdb" "$@" "$name" </dev/null &&
	test_atexit "'$PGBIN/dropdb' --if-exists --force '$name'"
}
# snap DB FILE: schema and every row (pg_dump, as superuser), and the
# extensions with their versions: for "nothing changed".
snap() {
	{
		pg_dump_clean --exclude-table-data='pgward_journal*.*' -d "$1" &&
		echo "-- extensions" &&
		psql_db "$1" "SELECT extname || ' ' || extversion FROM pg_extension ORDER BY 1"
	} >"$2"
}
# rows_of DB SCHEMA: each table's row count and the md5 of its sorted rows.
rows_of() {
	psql_db "$1" -v s="$2" <<-\EOF
	SELECT format('SELECT %L, count(*), md5(coalesce(string_agg(r::text, E''\n'' ORDER BY r::text), '''')) FROM %I.%I r',
			c.relname, n.nspname, c.relname)
		FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
		WHERE n.nspname = :'s' AND c.relkind = 'r'
		ORDER BY c.relname COLLATE "C" \gexec
	EOF
}
# owners_of DB SCHEMA: "relation owner", every relation of SCHEMA.
owners_of() {
	psql_db "$1" "SELECT c.relname || ' ' || c.relowner::regrole
		FROM pg_class c WHERE c.relnamespace = '$2'::regnamespace
		ORDER BY c.relname COLLATE \"C\""
}

# --- 1. --no-owner ----------------------------------------------------------------
OWN_SRC=${DB}_own_src
OWN_DST=${DB}_own_dst

setup_owner_source() {
	psql_db "$OWN_SRC" <<-EOF
	CREATE SCHEMA noown AUTHORIZATION "$R_RST";
	CREATE TABLE noown.mine (id serial PRIMARY KEY, v text NOT NULL);
	CREATE TABLE noown.theirs (id int PRIMARY KEY, v text);
	INSERT INTO noown.mine (v) SELECT 'm' || g FROM generate_series(1, 300) g;
	INSERT INTO noown.theirs SELECT g, E'tab\there ' || g FROM generate_series(1, 200) g;
	ALTER TABLE noown.mine OWNER TO "$R_RST";
	ALTER TABLE noown.theirs OWNER TO "$R_X";
	GRANT SELECT ON noown.theirs TO "$R_RST";
	EOF
}
# the target: an older noown.mine of the restoring role, and a table of
# its own outside the archive's schemas
setup_owner_target() {
	psql_db "$OWN_DST" <<-EOF &&
	GRANT CREATE ON DATABASE "$OWN_DST" TO "$R_RST";
	CREATE SCHEMA noown AUTHORIZATION "$R_RST";
	CREATE TABLE public.keep (id int PRIMARY KEY, v text);
	INSERT INTO public.keep SELECT g, 'keep ' || g FROM generate_series(1, 50) g;
	EOF
	psql_db "$(url_as "$R_RST" "$OWN_DST")" <<-EOF
	CREATE TABLE noown.mine (id int PRIMARY KEY, v text);
	INSERT INTO noown.mine VALUES (1, 'older'), (2, 'older');
	EOF
}

test_expect_success 'set up: noown of the restoring role, one table in it owned by a role it cannot become; its archive' '
	psql_run "CREATE ROLE \"$R_RST\" LOGIN; CREATE ROLE \"$R_X\" NOLOGIN" &&
	fresh_db "$OWN_SRC" &&
	fresh_db "$OWN_DST" &&
	setup_owner_source &&
	setup_owner_target &&
	test_expect_code 0 pgward -d "$(url_as "$R_RST" "$OWN_SRC")" backup -o "$ARCH/own.tar.zst" &&
	test_eq "$R_X" "$(psql_db "$OWN_SRC" "SELECT relowner::regrole FROM pg_class WHERE oid = '\''noown.theirs'\''::regclass")" "owner of noown.theirs" &&
	rows_of "$OWN_SRC" noown >own-src.rows &&
	test_grep -F "theirs|200|" own-src.rows
'

test_expect_success 'restore as a role that cannot set an owner of the archive: exit 2 about owners, target unchanged' '
	snap "$OWN_DST" before &&
	test_expect_code 2 pgward -d "$(url_as "$R_RST" "$OWN_DST")" restore "$ARCH/own.tar.zst" --yes --into "$OWN_DST" &&
	test_grep -F "\"$R_X\"" "$ERR" &&
	test_grep "owners" "$ERR" &&
	test_grep -e "--no-owner" "$ERR" &&
	snap "$OWN_DST" after &&
	test_cmp before after &&
	test_eq older "$(psql_db "$OWN_DST" "SELECT v FROM noown.mine WHERE id = 1")" "the older noown.mine"
'

test_expect_success 'the same with --no-owner: exit 0, every object the restoring role'\''s, rows identical' '
	rows_of "$OWN_DST" public >keep.before &&
	test_expect_code 0 pgward -d "$(url_as "$R_RST" "$OWN_DST")" restore "$ARCH/own.tar.zst" --yes --into "$OWN_DST" --no-owner &&
	rows_of "$OWN_DST" noown >own-dst.rows &&
	test_cmp own-src.rows own-dst.rows &&
	owners_of "$OWN_DST" noown >owners &&
	test_grep -F "theirs $R_RST" owners &&
	test_grep -F "mine $R_RST" owners &&
	test_grep ! -v -F " $R_RST" owners &&
	test_eq "$R_RST" "$(psql_db "$OWN_DST" "SELECT nspowner::regrole FROM pg_namespace WHERE nspname = '\''noown'\''")" "owner of noown" &&
	rows_of "$OWN_DST" public >keep.after &&
	test_cmp keep.before keep.after
'

test_expect_success 'in place as superuser with the owner role gone (renamed): exit 2 naming it, nothing dropped' '
	snap "$OWN_SRC" before &&
	psql_run "ALTER ROLE \"$R_X\" RENAME TO \"${R_X}_gone\"" &&
	test_expect_code 2 pgward -d "dbname=$OWN_SRC" restore "$ARCH/own.tar.zst" --yes
	rc=$?
	psql_run "ALTER ROLE \"${R_X}_gone\" RENAME TO \"$R_X\"" &&
	test $rc = 0 &&
	test_grep -F "role \"$R_X\" does not exist" "$ERR" &&
	test_grep "owners" "$ERR" &&
	snap "$OWN_SRC" after &&
	test_cmp before after
'

# --- 2. the question on a terminal --------------------------------------------
# tty_run INPUT CMD...: CMD on a terminal (script(1)), INPUT typed at it
# (printf %b), then end of input; all output in $OUT; returns CMD's code.
tty_run() {
	local input=$1 cmd rc
	shift
	cmd=$(printf '%q ' "$@")
	printf '%b' "$input" | script -qfec "$cmd" /dev/null >"$OUT" 2>&1
	rc=$?
	{
		echo "### [on a terminal] exit $rc"
		cat "$OUT"
	} >>"$TRANSCRIPT"
	echo "exit $rc on a terminal: $*"
	cat "$OUT"
	return $rc
}
conf_rows() {
	psql_val "SELECT count(*) || ' ' || md5(string_agg(v, ',' ORDER BY id)) FROM public.conf"
}

if command -v script >/dev/null && script -qfec "test -t 0 && test -t 2" /dev/null </dev/null >/dev/null 2>&1; then
	test_set_prereq TTY
else
	echo "# script(1) cannot give a terminal here (util-linux): the terminal cases are skipped"
fi

test_expect_success 'set up: a table in the test database, its archive, then changes' '
	psql_run "CREATE TABLE public.conf (id int PRIMARY KEY, v text NOT NULL);
		INSERT INTO public.conf SELECT g, md5(g::text) FROM generate_series(1, 400) g" &&
	conf_rows >conf.backed-up &&
	test_expect_code 0 pgward backup -o "$ARCH/conf.tar.zst" &&
	psql_run "DELETE FROM public.conf WHERE id > 100; UPDATE public.conf SET v = '\''changed'\'' WHERE id < 10" &&
	test "$(conf_rows)" != "$(cat conf.backed-up)"
'

test_expect_success TTY 'on a terminal without --yes, answered n: exit 2, "nothing restored", database unchanged' '
	db_snapshot before &&
	{ tty_run "n\n" "$PGWARD" --migrations "$MIG" restore "$ARCH/conf.tar.zst"; rc=$?; } &&
	test_eq 2 $rc "exit code" &&
	test_grep -F "[y/N]" "$OUT" &&
	test_grep -F "restore '\''$ARCH/conf.tar.zst'\''" "$OUT" &&
	test_grep "nothing restored" "$OUT" &&
	db_snapshot after &&
	test_cmp before after
'

test_expect_success TTY 'on a terminal, no answer at all (end of input): exit 2, database unchanged' '
	db_snapshot before &&
	{ tty_run "" "$PGWARD" --migrations "$MIG" restore "$ARCH/conf.tar.zst"; rc=$?; } &&
	test_eq 2 $rc "exit code" &&
	test_grep "nothing restored" "$OUT" &&
	db_snapshot after &&
	test_cmp before after
'

test_expect_success TTY 'on a terminal, answered y: restored' '
	{ tty_run "y\n" "$PGWARD" --migrations "$MIG" restore "$ARCH/conf.tar.zst"; rc=$?; } &&
	test_eq 0 $rc "exit code" &&
	test_grep -F "[y/N]" "$OUT" &&
	test_grep "restored .*conf.tar.zst" "$OUT" &&
	test_eq "$(cat conf.backed-up)" "$(conf_rows)" "public.conf"
'

test_expect_success TTY 'on a terminal with --yes: no question, restored' '
	psql_run "DELETE FROM public.conf WHERE id > 200" &&
	{ tty_run "" "$PGWARD" --migrations "$MIG" restore "$ARCH/conf.tar.zst" --yes; rc=$?; } &&
	test_eq 0 $rc "exit code" &&
	test_grep ! -F "[y/N]" "$OUT" &&
	test_eq "$(cat conf.backed-up)" "$(conf_rows)" "public.conf"
'

test_expect_success 'without a terminal and without --yes: no question, restored' '
	psql_run "DELETE FROM public.conf WHERE id > 300" &&
	test_expect_code 0 pgward restore "$ARCH/conf.tar.zst" &&
	test_grep ! -F "[y/N]" "$ERR" &&
	test_grep ! -F "[y/N]" "$OUT" &&
	test_eq "$(cat conf.backed-up)" "$(conf_rows)" "public.conf"
'

# --- 3. the backup's locks ------------------------------------------------------
LK=${DB}_lk
LK2=${DB}_lk2
APP_HOLD=${DB}_holder
APP_ELSE=${DB}_elsewhere
stop_holders() {
	psql_val "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
		WHERE application_name IN ('$APP_HOLD', '$APP_ELSE')" >/dev/null
}
test_atexit stop_holders

test_expect_success 'set up: a database with two tables, and a copy of it (same table OIDs)' '
	fresh_db "$LK" &&
	psql_db "$LK" "CREATE TABLE public.x (id int PRIMARY KEY, v text);
		CREATE TABLE public.y (id int PRIMARY KEY, v text);
		INSERT INTO public.x SELECT g, md5(g::text) FROM generate_series(1, 100) g;
		INSERT INTO public.y SELECT g, md5(g::text) FROM generate_series(1, 100) g" &&
	fresh_db "$LK2" -T "$LK" &&
	test_eq "$(psql_db "$LK" "SELECT '\''public.y'\''::regclass::oid")" \
		"$(psql_db "$LK2" "SELECT '\''public.y'\''::regclass::oid")" "OID of public.y in both"
'

test_expect_success 'a table held ACCESS EXCLUSIVE: exit 1 within seconds naming it and its holder, no file' '
	bg_start hold_here env PGAPPNAME="$APP_HOLD" "$PGBIN/psql" -XAtq -d "$LK" \
		-c "BEGIN; LOCK TABLE public.x IN ACCESS EXCLUSIVE MODE; SELECT pg_sleep(60)" &&
	bg_start hold_there env PGAPPNAME="$APP_ELSE" "$PGBIN/psql" -XAtq -d "$LK2" \
		-c "BEGIN; LOCK TABLE public.y IN ACCESS EXCLUSIVE MODE; SELECT pg_sleep(60)" &&
	wait_for 10 "SELECT count(*) = 2 FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
		WHERE a.application_name IN ('\''$APP_HOLD'\'', '\''$APP_ELSE'\'')
		AND l.locktype = '\''relation'\'' AND l.mode = '\''AccessExclusiveLock'\'' AND l.granted" &&
	pid=$(psql_val "SELECT pid FROM pg_stat_activity WHERE application_name = '\''$APP_HOLD'\''") &&
	pid_else=$(psql_val "SELECT pid FROM pg_stat_activity WHERE application_name = '\''$APP_ELSE'\''") &&
	t0=$(now_ms) &&
	test_expect_code 1 pgward -d "dbname=$LK" backup -o "$ARCH/locked.tar.zst" &&
	ms=$(($(now_ms) - t0)) &&
	echo "failed after $ms ms" &&
	test_le "$ms" 10000 "milliseconds until the backup gave up" &&
	test_grep -F "table public.x is locked by pid $pid ($APP_HOLD, active)" "$ERR" &&
	test_grep "after 6 tries" "$ERR" &&
	test ! -e "$ARCH/locked.tar.zst" &&
	test ! -e "$ARCH/locked.tar.zst.partial" &&
	cp "$ERR" lock.err &&
	echo "$pid_else" >lock.pid-else
'

# The copy's public.y has the OID of public.y here: a lock on it, in
# another database, blocks nothing here and must not be named.
test_expect_success 'the session holding a table of another database (same OID) is not named' '
	test -s lock.err &&
	test_grep ! -F "$APP_ELSE" lock.err &&
	test_grep ! -w "$(cat lock.pid-else)" lock.err &&
	test_grep ! -F "public.y" lock.err
'

test_expect_success 'the holders gone, the same backup succeeds' '
	stop_holders &&
	bg_wait hold_here 10 &&
	bg_wait hold_there 10 &&
	test_expect_code 0 pgward -d "dbname=$LK" backup -o "$ARCH/locked.tar.zst" &&
	test -f "$ARCH/locked.tar.zst"
'

# --- 4. a table the backup role cannot read -----------------------------------------
RD=${DB}_rd

test_expect_success 'set up: public owned by the backup role, public.secret not readable by it' '
	fresh_db "$RD" &&
	psql_run "CREATE ROLE \"$R_BK\" LOGIN" &&
	psql_db "$RD" "ALTER SCHEMA public OWNER TO \"$R_BK\";
		CREATE TABLE public.open (id int PRIMARY KEY, v text);
		INSERT INTO public.open VALUES (1, '\''one'\'');
		ALTER TABLE public.open OWNER TO \"$R_BK\";
		CREATE TABLE public.secret (id int PRIMARY KEY, v text);
		INSERT INTO public.secret VALUES (42, '\''hidden'\'')"
'

test_expect_success 'backup as that role: exit 2 naming public.secret, no archive written' '
	test_expect_code 2 pgward -d "$(url_as "$R_BK" "$RD")" backup -o "$ARCH/secret.tar.zst" &&
	test_grep -F "the backup role cannot read public.secret" "$ERR" &&
	test_grep ! -F "public.open" "$ERR" &&
	test ! -e "$ARCH/secret.tar.zst" &&
	test ! -e "$ARCH/secret.tar.zst.partial"
'

test_expect_success 'with SELECT granted the same backup succeeds and carries both tables' '
	psql_db "$RD" "GRANT SELECT ON public.secret TO \"$R_BK\"" &&
	test_expect_code 0 pgward -d "$(url_as "$R_BK" "$RD")" backup -o "$ARCH/secret.tar.zst" &&
	test_expect_code 0 pgward --json archive list "$ARCH/secret.tar.zst" &&
	json_check "$OUT" "sorted(t[\"name\"] for t in d[\"tables\"]) == [\"open\", \"secret\"]"
'

# --- 5. [backup] keep and unfinished deploys -----------------------------------------
KDB=${DB}_keep
BK=$TEST_DIR/bk
KMIG=$TEST_DIR/keep-migrations

test_expect_success 'set up: a deploy (journal and its archive in the backup dir), three older archives' '
	fresh_db "$KDB" &&
	psql_db "$KDB" "CREATE TABLE public.k (id int PRIMARY KEY); INSERT INTO public.k SELECT generate_series(1, 10)" &&
	printf "[backup]\ndir = %s\nkeep = 2\n" "$BK" >keep.ini &&
	mkdir -p "$KMIG" &&
	printf -- "-- migrate:up\nCREATE TABLE public.k2 (id int);\n-- migrate:down\nDROP TABLE public.k2;\n" >"$KMIG/001_k2.sql" &&
	test_expect_code 0 "$PGWARD" -C keep.ini -d "dbname=$KDB" --migrations "$KMIG" deploy &&
	ls "$BK" >deployed &&
	test_eq 1 "$(wc -l <deployed)" "archives after the deploy" &&
	uri=$(psql_db "$KDB" "SELECT backup_uri FROM pgward_journal.deploys") &&
	test_eq "$(cat deployed)" "$(basename "$uri")" "the journal'\''s archive" &&
	for d in 01 02 03; do
		cp "$BK/$(cat deployed)" "$BK/$KDB-202001${d}T000000Z.tar.zst" || return 1
	done &&
	echo "$(dirname "$uri")" >uri.dir
'

test_expect_success 'keep = 2: the oldest archive, which an unfinished deploy refers to, survives; the others beyond two go' '
	dir=$(cat uri.dir) &&
	psql_db "$KDB" "INSERT INTO pgward_journal.deploys (id, started_at, finished_at, stage, status, backup_uri)
		VALUES ('\''t-unfinished'\'', now() - interval '\''1 hour'\'', NULL, '\''migrate'\'', '\''interrupted'\'', '\''$dir/$KDB-20200101T000000Z.tar.zst'\''),
		('\''t-finished'\'', now() - interval '\''1 hour'\'', now(), '\''migrate'\'', '\''failed'\'', '\''$dir/$KDB-20200102T000000Z.tar.zst'\'')" &&
	test_expect_code 0 "$PGWARD" -C keep.ini -d "dbname=$KDB" backup &&
	ls "$BK" >kept &&
	cat kept &&
	test_eq 3 "$(wc -l <kept)" "archives kept" &&
	test_grep -x "$KDB-20200101T000000Z.tar.zst" kept &&
	test_grep ! -e "-20200102T" kept &&
	test_grep ! -e "-20200103T" kept &&
	test_grep -x -F "$(cat deployed)" kept
'

test_expect_success 'once that deploy is finished, the next backup prunes it' '
	psql_db "$KDB" "UPDATE pgward_journal.deploys SET finished_at = now(), status = '\''failed'\'' WHERE id = '\''t-unfinished'\''" &&
	test_expect_code 0 "$PGWARD" -C keep.ini -d "dbname=$KDB" backup &&
	ls "$BK" >kept2 &&
	cat kept2 &&
	test_eq 2 "$(wc -l <kept2)" "archives kept" &&
	test_grep ! -e "-20200101T" kept2 &&
	test_grep ! -x -F "$(cat deployed)" kept2
'

# --- 6. extensions are prerequisites --------------------------------------------------
EXT=${DB}_ext
EXT_INTO=${DB}_ext_into

test_expect_success 'set up: citext 1.4 and a table using it; its archive; a target with a table and no citext' '
	test "$(psql_val "SELECT count(*) FROM pg_available_extension_versions WHERE name = '\''citext'\'' AND version IN ('\''1.4'\'', '\''1.6'\'')")" = 2 &&
	fresh_db "$EXT" &&
	psql_db "$EXT" "CREATE EXTENSION citext VERSION '\''1.4'\'';
		CREATE TABLE public.u (e public.citext PRIMARY KEY, n int);
		INSERT INTO public.u SELECT '\''User'\'' || g || '\''@Example.com'\'', g FROM generate_series(1, 100) g" &&
	test_expect_code 0 pgward -d "dbname=$EXT" backup -o "$ARCH/ext.tar.zst" &&
	test_eq 1.4 "$(psql_db "$EXT" "SELECT extversion FROM pg_extension WHERE extname = '\''citext'\''")" "citext version" &&
	rows_of "$EXT" public >ext.rows &&
	fresh_db "$EXT_INTO" &&
	psql_db "$EXT_INTO" "CREATE SCHEMA keep; CREATE TABLE keep.other (id int PRIMARY KEY, v text);
		INSERT INTO keep.other SELECT g, md5(g::text) FROM generate_series(1, 20) g"
'

if tar --zstd -cf - -T /dev/null >/dev/null 2>&1 && command -v zstd >/dev/null; then
	test_set_prereq TARZSTD
fi

test_expect_success TARZSTD 'archive list --json gives each extension'\''s name and version as the manifest has them' '
	tar --zstd -xOf "$ARCH/ext.tar.zst" manifest.json >ext.manifest &&
	json_check ext.manifest "{\"name\": \"citext\", \"version\": \"1.4\", \"schema\": \"public\"} in d[\"extensions\"]" &&
	test_expect_code 0 pgward --json archive list "$ARCH/ext.tar.zst" &&
	json_check "$OUT" "any(e[\"name\"] == \"citext\" and e[\"version\"] == \"1.4\" for e in d[\"extensions\"])"
'

test_expect_success 'into a database that is not empty and lacks citext: exit 2 naming it, database unchanged' '
	snap "$EXT_INTO" before &&
	test_expect_code 2 pgward -d "dbname=$EXT_INTO" restore "$ARCH/ext.tar.zst" --yes --into "$EXT_INTO" &&
	test_grep -F "extension '\''citext'\'' is missing" "$ERR" &&
	snap "$EXT_INTO" after &&
	test_cmp before after
'

test_expect_success 'with citext 1.4 installed there the same restore succeeds, the other schema untouched' '
	psql_db "$EXT_INTO" "CREATE EXTENSION citext VERSION '\''1.4'\''" &&
	rows_of "$EXT_INTO" keep >other.before &&
	test_grep "^other|20|" other.before &&
	test_expect_code 0 pgward -d "dbname=$EXT_INTO" restore "$ARCH/ext.tar.zst" --yes --into "$EXT_INTO" &&
	rows_of "$EXT_INTO" public >into.rows &&
	test_cmp ext.rows into.rows &&
	rows_of "$EXT_INTO" keep >other.after &&
	test_cmp other.before other.after
'

test_expect_success 'in place after ALTER EXTENSION citext UPDATE (1.6 here, 1.4 in the archive): exit 2 naming both, unchanged' '
	psql_db "$EXT" "ALTER EXTENSION citext UPDATE TO '\''1.6'\'';
		DELETE FROM public.u WHERE n > 50" &&
	snap "$EXT" before &&
	test_expect_code 2 pgward -d "dbname=$EXT" restore "$ARCH/ext.tar.zst" --yes &&
	test_grep -F "extension '\''citext'\'' is at version 1.6 here, the archive needs 1.4" "$ERR" &&
	snap "$EXT" after &&
	test_cmp before after
'

# --- 7. the census: every kind the archive cannot carry ------------------------------
CEN=${DB}_census
CEN_OUT=$TEST_DIR/census-out

test_expect_success 'set up: a database with a table, for the census' '
	fresh_db "$CEN" &&
	psql_db "$CEN" "CREATE TABLE public.base (id int PRIMARY KEY, v text);
		INSERT INTO public.base SELECT g, md5(g::text) FROM generate_series(1, 50) g" &&
	mkdir -p "$CEN_OUT"
'

# census_check 'KIND|IDENTITY' lines: the refused backup names each "KIND
# IDENTITY" and writes nothing; --allow-unsupported writes an archive whose
# omitted list is exactly the identities.
census_check() {
	local want=$1 kind ident
	rm -f "$CEN_OUT"/*
	test_expect_code 2 pgward -d "dbname=$CEN" backup -o "$CEN_OUT/c.tar.zst" || return 1
	while IFS='|' read -r kind ident; do
		test_grep -F "$kind $ident" "$ERR" || return 1
	done <<<"$want"
	test_grep -e "--allow-unsupported" "$ERR" &&
	test_eq "" "$(ls -A "$CEN_OUT")" "files written by the refused backup" &&
	test_expect_code 0 pgward -d "dbname=$CEN" backup --allow-unsupported -o "$CEN_OUT/c.tar.zst" &&
	test_expect_code 0 pgward --json archive list "$CEN_OUT/c.tar.zst" &&
	cut -d"|" -f2 <<<"$want" | sort >omitted.want &&
	python3 -c "import json, sys; print(\"\n\".join(sorted(json.load(open(sys.argv[1]))[\"omitted\"])))" "$OUT" >omitted.got &&
	test_cmp omitted.want omitted.got
}

# census_case DESCRIPTION 'KIND|IDENTITY lines' CREATE-SQL DROP-SQL
census_case() {
	local c_want=$2 c_create=$3 c_drop=$4
	test_expect_success "census: $1 is exit 2 naming it, nothing written; --allow-unsupported records it" '
		psql_db "$CEN" <<<"$c_create" &&
		census_check "$c_want"
		rc=$?
		psql_db "$CEN" <<<"$c_drop" || rc=1
		test $rc = 0
	'
}

census_case 'a collation' 'collation|public.cen_coll' \
	'CREATE COLLATION public.cen_coll FROM "C";' \
	'DROP COLLATION public.cen_coll;'
census_case 'a conversion' 'conversion|public.cen_conv' \
	"CREATE CONVERSION public.cen_conv FOR 'LATIN1' TO 'UTF8' FROM iso8859_1_to_utf8;" \
	'DROP CONVERSION public.cen_conv;'
census_case 'a text-search configuration' 'text search configuration|public.cen_cfg' \
	'CREATE TEXT SEARCH CONFIGURATION public.cen_cfg (COPY = english);' \
	'DROP TEXT SEARCH CONFIGURATION public.cen_cfg;'
census_case 'a text-search dictionary' 'text search dictionary|public.cen_dict' \
	'CREATE TEXT SEARCH DICTIONARY public.cen_dict (TEMPLATE = simple);' \
	'DROP TEXT SEARCH DICTIONARY public.cen_dict;'
census_case 'an operator' 'operator|public.===(integer,integer)' \
	'CREATE OPERATOR public.=== (LEFTARG = integer, RIGHTARG = integer, FUNCTION = int4eq);' \
	'DROP OPERATOR public.=== (integer, integer);'
census_case 'an operator family' 'operator family|public.cen_fam USING btree' \
	'CREATE OPERATOR FAMILY public.cen_fam USING btree;' \
	'DROP OPERATOR FAMILY public.cen_fam USING btree;'
census_case 'a cast from a type of the scope' 'cast|(public.cen_mood AS integer)' \
	"CREATE TYPE public.cen_mood AS ENUM ('sad', 'ok');
	CREATE FUNCTION public.cen_mood_int(public.cen_mood) RETURNS integer LANGUAGE sql IMMUTABLE AS 'SELECT 1';
	CREATE CAST (public.cen_mood AS integer) WITH FUNCTION public.cen_mood_int(public.cen_mood);" \
	'DROP CAST (public.cen_mood AS integer); DROP FUNCTION public.cen_mood_int(public.cen_mood); DROP TYPE public.cen_mood;'
census_case 'a shell type' 'shell type|public.cen_shell' \
	'CREATE TYPE public.cen_shell;' \
	'DROP TYPE public.cen_shell;'
census_case 'a base type' 'base type|public.cen_base' \
	"SET client_min_messages = warning;
	CREATE TYPE public.cen_base;
	CREATE FUNCTION public.cen_base_in(cstring) RETURNS public.cen_base LANGUAGE internal IMMUTABLE STRICT AS 'int4in';
	CREATE FUNCTION public.cen_base_out(public.cen_base) RETURNS cstring LANGUAGE internal IMMUTABLE STRICT AS 'int4out';
	CREATE TYPE public.cen_base (INPUT = public.cen_base_in, OUTPUT = public.cen_base_out, LIKE = integer);" \
	'DROP TYPE public.cen_base CASCADE;'
census_case 'a typed table' 'typed table|public.cen_typed' \
	'CREATE TYPE public.cen_ct AS (a integer, b text); CREATE TABLE public.cen_typed OF public.cen_ct;' \
	'DROP TABLE public.cen_typed; DROP TYPE public.cen_ct;'
census_case 'an event trigger' 'event trigger|cen_evt' \
	'CREATE FUNCTION public.cen_evt_fn() RETURNS event_trigger LANGUAGE plpgsql AS $$BEGIN END$$;
	CREATE EVENT TRIGGER cen_evt ON sql_drop EXECUTE FUNCTION public.cen_evt_fn();' \
	'DROP EVENT TRIGGER cen_evt; DROP FUNCTION public.cen_evt_fn();'
census_case 'a large object' 'large object|7654321' \
	'SELECT lo_create(7654321);' \
	'SELECT lo_unlink(7654321);'
census_case 'a foreign-data wrapper' 'foreign-data wrapper|cen_fdw' \
	'CREATE FOREIGN DATA WRAPPER cen_fdw;' \
	'DROP FOREIGN DATA WRAPPER cen_fdw;'
census_case 'a server and its user mapping' "foreign-data wrapper|cen_fdw2
server|cen_srv
user mapping|$PGUSER on server cen_srv" \
	'CREATE FOREIGN DATA WRAPPER cen_fdw2; CREATE SERVER cen_srv FOREIGN DATA WRAPPER cen_fdw2;
	CREATE USER MAPPING FOR CURRENT_USER SERVER cen_srv;' \
	'DROP USER MAPPING FOR CURRENT_USER SERVER cen_srv; DROP SERVER cen_srv; DROP FOREIGN DATA WRAPPER cen_fdw2;'
census_case 'an access method' 'access method|cen_am' \
	'CREATE ACCESS METHOD cen_am TYPE TABLE HANDLER heap_tableam_handler;' \
	'DROP ACCESS METHOD cen_am;'
census_case 'a procedural language' 'language|cen_lang' \
	'CREATE LANGUAGE cen_lang HANDLER plpgsql_call_handler;' \
	'DROP LANGUAGE cen_lang;'
census_case 'a subscription' 'subscription|cen_sub' \
	"SET client_min_messages = error;
	CREATE SUBSCRIPTION cen_sub CONNECTION 'dbname=nowhere' PUBLICATION nothing WITH (connect = false);" \
	'ALTER SUBSCRIPTION cen_sub DISABLE; ALTER SUBSCRIPTION cen_sub SET (slot_name = NONE); DROP SUBSCRIPTION cen_sub;'

test_expect_success 'census: with all of them gone, the plain backup succeeds and omits nothing' '
	rm -f "$CEN_OUT"/* &&
	test_expect_code 0 pgward -d "dbname=$CEN" backup -o "$CEN_OUT/c.tar.zst" &&
	test_expect_code 0 pgward --json archive list "$CEN_OUT/c.tar.zst" &&
	json_check "$OUT" "d[\"omitted\"] == []"
'

# --- 8. archive verify and list need no database --------------------------------------
# no_db CMD...: CMD with every way to a database pointing nowhere
no_db() {
	env -u PGDATABASE -u PGUSER PGHOST="$TEST_DIR/no-such-socket-dir" PGPORT=1 "$@"
}

test_expect_success 'archive verify and list with the normal environment (what to expect)' '
	test -f "$ARCH/conf.tar.zst" &&
	test_expect_code 0 "$PGWARD" archive verify "$ARCH/conf.tar.zst" &&
	sed -E "s/\([^)]* ago\)//" "$OUT" >verify.want &&
	test_grep -F "$(sha256sum "$ARCH/conf.tar.zst" | cut -d" " -f1)" verify.want &&
	test_expect_code 0 "$PGWARD" archive list "$ARCH/conf.tar.zst" &&
	sed -E "s/\([^)]* ago\)//" "$OUT" >list.want &&
	test_grep "public.conf" list.want &&
	test_expect_code 0 "$PGWARD" --json archive list "$ARCH/conf.tar.zst" &&
	python3 -c "import json, sys; d = json.load(open(sys.argv[1])); d.pop(\"age_seconds\", None); print(json.dumps(d, sort_keys=True))" "$OUT" >list-json.want
'

test_expect_success 'archive verify and list with PGHOST a missing socket dir, PGPORT bogus, no PGDATABASE: exit 0, same output' '
	test_expect_code 0 no_db "$PGWARD" archive verify "$ARCH/conf.tar.zst" &&
	sed -E "s/\([^)]* ago\)//" "$OUT" >verify.got &&
	test_cmp verify.want verify.got &&
	test_expect_code 0 no_db "$PGWARD" archive list "$ARCH/conf.tar.zst" &&
	sed -E "s/\([^)]* ago\)//" "$OUT" >list.got &&
	test_cmp list.want list.got &&
	test_expect_code 0 no_db "$PGWARD" --json archive list "$ARCH/conf.tar.zst" &&
	python3 -c "import json, sys; d = json.load(open(sys.argv[1])); d.pop(\"age_seconds\", None); print(json.dumps(d, sort_keys=True))" "$OUT" >list-json.got &&
	test_cmp list-json.want list-json.got
'

test_expect_success 'the same with DATABASE_URL pointing at a server that is not there' '
	test_expect_code 0 no_db env DATABASE_URL="postgresql://nobody@/nowhere?host=$TEST_DIR/no-such-socket-dir&port=1" \
		"$PGWARD" archive verify "$ARCH/conf.tar.zst" &&
	sed -E "s/\([^)]* ago\)//" "$OUT" >verify.got2 &&
	test_cmp verify.want verify.got2 &&
	test_expect_code 0 no_db env DATABASE_URL="postgresql://nobody@/nowhere?host=$TEST_DIR/no-such-socket-dir&port=1" \
		"$PGWARD" archive list "$ARCH/conf.tar.zst" &&
	sed -E "s/\([^)]* ago\)//" "$OUT" >list.got2 &&
	test_cmp list.want list.got2
'

# --- 9. the owner, grants and comment of public itself ------------------------------------
test_expect_success 'set up: public owned by another role, CREATE granted to a third, commented; its archive' '
	psql_run "CREATE ROLE \"$R_PUBOWN\"; CREATE ROLE \"$R_PUBGR\"; CREATE ROLE \"$R_PUBOTHER\"" &&
	psql_run "ALTER SCHEMA public OWNER TO \"$R_PUBOWN\";
		GRANT CREATE ON SCHEMA public TO \"$R_PUBGR\";
		COMMENT ON SCHEMA public IS '\''the public schema, with a comment'\''" &&
	pg_dump_clean --schema-only >public.oracle &&
	test_grep -F "ALTER SCHEMA public OWNER TO $R_PUBOWN;" public.oracle &&
	test_grep -F "GRANT CREATE ON SCHEMA public TO $R_PUBGR;" public.oracle &&
	test_grep -F "COMMENT ON SCHEMA public IS '\''the public schema, with a comment'\'';" public.oracle &&
	psql_val "SELECT nspowner::regrole, nspacl, obj_description(oid, '\''pg_namespace'\'')
		FROM pg_namespace WHERE nspname = '\''public'\''" >public.catalog &&
	test_expect_code 0 pgward backup -o "$ARCH/public.tar.zst"
'

test_expect_success 'owner, grants and comment of public changed, then restored in place: pg_dump --schema-only identical' '
	psql_run "ALTER SCHEMA public OWNER TO \"$R_PUBOTHER\";
		REVOKE CREATE ON SCHEMA public FROM \"$R_PUBGR\";
		REVOKE USAGE ON SCHEMA public FROM PUBLIC;
		COMMENT ON SCHEMA public IS '\''changed'\''" &&
	pg_dump_clean --schema-only >public.changed &&
	! test_cmp public.oracle public.changed >/dev/null &&
	test_expect_code 0 pgward restore "$ARCH/public.tar.zst" --yes &&
	pg_dump_clean --schema-only >public.restored &&
	test_cmp public.oracle public.restored &&
	psql_val "SELECT nspowner::regrole, nspacl, obj_description(oid, '\''pg_namespace'\'')
		FROM pg_namespace WHERE nspname = '\''public'\''" >public.catalog2 &&
	test_cmp public.catalog public.catalog2
'

test_done
