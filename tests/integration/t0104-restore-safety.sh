#!/bin/bash
# A restore never destroys what it does not restore and never half-applies:
# outside dependents refuse it (exit 2, named, nothing dropped); an
# unsupported object refuses the backup (exit 2, named) unless
# --allow-unsupported, which records the omission in the manifest; a
# restore whose locks cannot fit in the server's lock table is refused
# before it starts; every hostile or broken archive is exit 2 with the
# database unchanged and nothing written outside; a restore that fails
# half-way (connection terminated, archive corrupted after the pre-check)
# leaves the database exactly as it was; another database's archive needs
# --into.
. "$(dirname "$0")/lib.sh"

DB=$PGDATABASE
R_BK=${DB}_bk
R_OTHER=${DB}_other
ARCH=$TEST_DIR/archives
HOSTILE=$TEST_DIR/hostile
CAGE=$TEST_DIR/cage
# absolute paths a hostile archive aims at
EVIL=/tmp/pgward-evil-$DB-$$
mkdir -p "$ARCH" "$HOSTILE" "$CAGE"

psql_db() { # psql_db DB [SQL]: SQL, or stdin, on DB
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
fresh_db() {
	"$PGBIN/dropdb" --if-exists "$1" </dev/null &&
	"$PGBIN/createdb" "$1" </dev/null &&
	test_atexit "'$PGBIN/dropdb' --if-exists --force '$1'"
}
# rows_snapshot DB FILE [SCHEMA]: schema plus each table's row count and an
# order-free checksum of its rows (cheaper than db_snapshot on big tables);
# one schema, or all.
rows_snapshot() {
	local only=${3:-}
	{
		pg_dump_clean --schema-only --exclude-schema=pgward_journal ${only:+--schema="$only"} -d "$1" &&
		psql_db "$1" -v only="$only" <<-\EOF
		SELECT CASE WHEN c.relispopulated
			THEN format('SELECT %L, count(*), sum(hashtextextended(pgw_row__::text, 0)), sum(hashtextextended(pgw_row__::text, 1)) FROM %I.%I AS pgw_row__',
				n.nspname || '.' || c.relname, n.nspname, c.relname)
			ELSE format('SELECT %L, ''not populated''', n.nspname || '.' || c.relname) END
			FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
			WHERE c.relkind IN ('r', 'm')
			AND n.nspname NOT IN ('pg_catalog', 'information_schema', 'pgward_journal')
			AND n.nspname NOT LIKE 'pg\_%'
			AND (:'only' = '' OR n.nspname = :'only')
			ORDER BY n.nspname, c.relname COLLATE "C" \gexec
		EOF
	} >"$2"
}
# nothing_outside: no file a hostile archive aimed at exists, and the
# directory pgward ran in is still empty.
nothing_outside() {
	local found
	found=$(find /tmp -maxdepth 2 -name "pgward-evil-$DB-$$*" 2>/dev/null
		find "$TEST_DIR/.." "$HOSTILE/.." -maxdepth 2 -name "pgward-evil-*" 2>/dev/null)
	test_eq "" "$found" "files written outside" &&
	test_eq "" "$(ls -A "$CAGE")" "files in the directory pgward ran in"
}

if tar --zstd -cf - -T /dev/null >/dev/null 2>&1 && command -v zstd >/dev/null; then
	test_set_prereq TARZSTD
else
	echo "# tar --zstd or zstd missing (Debian package zstd): cases that build hostile archives are skipped"
fi

test_expect_success 'set up: schema app owned by the backup role, schema other owned by another role' '
	psql_run "CREATE ROLE \"$R_BK\" LOGIN; CREATE ROLE \"$R_OTHER\" LOGIN;
		GRANT CREATE ON DATABASE \"$DB\" TO \"$R_BK\", \"$R_OTHER\"" &&
	psql_db "$(url_as "$R_BK")" "CREATE SCHEMA app;
		CREATE TABLE app.parent (id int PRIMARY KEY, v text NOT NULL);
		CREATE TABLE app.child (id int PRIMARY KEY, parent_id int REFERENCES app.parent, note text);
		CREATE VIEW app.parent_count AS SELECT count(*) AS n FROM app.parent;
		INSERT INTO app.parent SELECT g, '\''p'\'' || g FROM generate_series(1, 1000) g;
		INSERT INTO app.child SELECT g, 1 + g % 1000, E'\''c\t'\'' || g FROM generate_series(1, 5000) g;
		GRANT USAGE ON SCHEMA app TO \"$R_OTHER\";
		GRANT SELECT, REFERENCES ON app.parent TO \"$R_OTHER\"" &&
	psql_db "$(url_as "$R_OTHER")" "CREATE SCHEMA other;
		CREATE TABLE other.refs (id int PRIMARY KEY, parent_id int REFERENCES app.parent (id));
		INSERT INTO other.refs VALUES (1, 1), (2, 500);
		CREATE VIEW other.parent_names AS SELECT v FROM app.parent;
		CREATE TABLE other.standalone (x int);
		INSERT INTO other.standalone VALUES (42)" &&
	test_eq "$R_OTHER" "$(psql_val "SELECT nspowner::regrole FROM pg_namespace WHERE nspname = '\''other'\''")"
'

test_expect_success 'backup as the owner of app carries app, not other' '
	test_expect_code 0 pgward -d "$(url_as "$R_BK")" backup -o "$ARCH/good.tar.zst" &&
	test_expect_code 0 pgward archive verify "$ARCH/good.tar.zst" &&
	test_expect_code 0 pgward --json archive list "$ARCH/good.tar.zst" &&
	test_grep "parent" "$OUT" &&
	test_grep ! -E "\"(refs|standalone)\"" "$OUT" &&
	rows_snapshot "$DB" at-backup app
'

test_expect_success 'outside dependents (a foreign key and a view of another role): exit 2 naming them, nothing dropped' '
	db_snapshot before &&
	test_expect_code 2 pgward -d "$(url_as "$R_BK")" restore "$ARCH/good.tar.zst" --yes &&
	test_grep -E "refs" "$ERR" &&
	test_grep -E "parent_names" "$ERR" &&
	db_snapshot after &&
	test_cmp before after &&
	table_exists other.refs
'

test_expect_success 'the same restore as superuser is refused the same way' '
	db_snapshot before &&
	test_expect_code 2 pgward restore "$ARCH/good.tar.zst" --yes &&
	test_grep -E "refs" "$ERR" &&
	db_snapshot after &&
	test_cmp before after
'

test_expect_success 'without the outside dependents the restore succeeds, as the owning role' '
	psql_db "$(url_as "$R_OTHER")" "DROP VIEW other.parent_names; DROP TABLE other.refs" &&
	psql_db "$(url_as "$R_BK")" "DELETE FROM app.child WHERE id > 100; UPDATE app.parent SET v = '\''x'\''" &&
	test_expect_code 0 pgward -d "$(url_as "$R_BK")" restore "$ARCH/good.tar.zst" --yes &&
	rows_snapshot "$DB" restored app &&
	test_cmp at-backup restored &&
	test_eq 42 "$(psql_val "SELECT x FROM other.standalone")" "other.standalone"
'

test_expect_success 'another database'\''s archive without --into: exit 2, nothing changed' '
	fresh_db "${DB}_elsewhere" &&
	pg_dump_clean -d "${DB}_elsewhere" >elsewhere.before &&
	test_expect_code 2 pgward -d "dbname=${DB}_elsewhere" restore "$ARCH/good.tar.zst" --yes &&
	test_grep -e "--into" "$ERR" &&
	pg_dump_clean -d "${DB}_elsewhere" >elsewhere.after &&
	test_cmp elsewhere.before elsewhere.after
'

test_expect_success 'with --into the same archive restores there' '
	test_expect_code 0 pgward -d "dbname=${DB}_elsewhere" restore "$ARCH/good.tar.zst" --yes --into "${DB}_elsewhere" &&
	test_eq 1000 "$(psql_db "${DB}_elsewhere" "SELECT count(*) FROM app.parent")" "app.parent rows there"
'

test_expect_success 'an unsupported object (a publication) in scope: backup exits 2 naming it, writes nothing' '
	psql_db "$(url_as "$R_BK")" "CREATE PUBLICATION \"${DB}_pub\" FOR TABLE app.parent" 2>/dev/null &&
	test_expect_code 2 pgward -d "$(url_as "$R_BK")" backup -o "$ARCH/unsupported.tar.zst" &&
	test_grep -F "${DB}_pub" "$ERR" &&
	test_grep -i "publication" "$ERR" &&
	test_eq "" "$(ls "$ARCH" | grep unsupported)" "files left by the refused backup"
'

test_expect_success '--allow-unsupported backs up and the manifest records the omission' '
	test_expect_code 0 pgward -d "$(url_as "$R_BK")" backup --allow-unsupported -o "$ARCH/omitted.tar.zst" &&
	test_expect_code 0 pgward archive verify "$ARCH/omitted.tar.zst" &&
	if test_have_prereq TARZSTD; then
		tar --zstd -xOf "$ARCH/omitted.tar.zst" manifest.json >omitted.manifest &&
		test_grep -F "${DB}_pub" omitted.manifest
	fi &&
	psql_db "$(url_as "$R_BK")" "DROP PUBLICATION \"${DB}_pub\""
'

# --- hostile and broken archives ----------------------------------------------
test_expect_success TARZSTD 'build hostile archives from a good one' '
	python3 - "$ARCH/good.tar.zst" "$HOSTILE" "$EVIL" <<-\EOF
	import copy, hashlib, io, json, os, re, subprocess, sys, tarfile
	good, outdir, evil = sys.argv[1:4]
	packed = open(good, "rb").read()
	raw = subprocess.run(["zstd", "-q", "-d", "-c"], input=packed,
	                     capture_output=True, check=True).stdout

	def members():
	    tf = tarfile.open(fileobj=io.BytesIO(raw), mode="r:")
	    out = []
	    for m in tf.getmembers():
	        out.append([m, tf.extractfile(m).read() if m.isfile() else None])
	    return out

	def tar(entries):
	    buf = io.BytesIO()
	    with tarfile.open(fileobj=buf, mode="w:", format=tarfile.PAX_FORMAT) as tf:
	        for ti, data in entries:
	            ti = copy.copy(ti)
	            if data is None:
	                ti.size = 0
	                tf.addfile(ti)
	            else:
	                ti.size = len(data)
	                tf.addfile(ti, io.BytesIO(data))
	    return buf.getvalue()

	def write(name, entries=None, packed_bytes=None):
	    if packed_bytes is None:
	        packed_bytes = subprocess.run(["zstd", "-q", "-3", "-c"], input=tar(entries),
	                                      capture_output=True, check=True).stdout
	    with open(os.path.join(outdir, name + ".tar.zst"), "wb") as f:
	        f.write(packed_bytes)

	def find(entries, pred):
	    for i, (ti, data) in enumerate(entries):
	        if pred(ti.name):
	            return i
	    sys.exit("no entry for the predicate in " + ", ".join(t.name for t, _ in entries))

	def manifest_of(entries):
	    i = find(entries, lambda n: n == "manifest.json")
	    return i, json.loads(entries[i][1])

	def entry_list(m):
	    # the list of entries in the manifest: objects with a name and a sha256
	    def walk(v):
	        if isinstance(v, list) and v and all(isinstance(x, dict) and "sha256" in x for x in v):
	            return v
	        for x in (v.values() if isinstance(v, dict) else v if isinstance(v, list) else []):
	            r = walk(x)
	            if r is not None:
	                return r
	    r = walk(m)
	    if r is None:
	        sys.exit("no list of entries with sha256 in the manifest: " + json.dumps(m)[:2000])
	    return r

	def key(d, *names):
	    for n in names:
	        if n in d:
	            return n
	    sys.exit("none of %s in manifest entry %s" % (names, d))

	def canonical_sha256(m):
	    # what a forger recomputes: the checksum the manifest carries of itself, over
	    # the object without it, compact, keys sorted (escapes as jansson
	    # writes them)
	    o = {k: v for k, v in m.items() if k != "manifest_sha256"}
	    text = json.dumps(o, separators=(",", ":"), sort_keys=True, ensure_ascii=False)
	    text = re.sub(r"\\u00([0-9a-f]{2})", lambda x: "\\u00" + x.group(1).upper(), text)
	    return hashlib.sha256(text.encode()).hexdigest()

	def set_manifest(entries, m, sign=True):
	    i, _ = manifest_of(entries)
	    if sign and "manifest_sha256" in m:
	        m["manifest_sha256"] = canonical_sha256(m)
	    entries[i][1] = json.dumps(m, indent=1, ensure_ascii=False).encode()

	def listed(entries, name, data, like):
	    # add `name` to the manifest as consistently as a forger would
	    i, m = manifest_of(entries)
	    lst = entry_list(m)
	    proto = next((e for e in lst if str(e.get(key(e, "path", "name"))).startswith(like)), lst[0])
	    e = copy.deepcopy(proto)
	    e[key(e, "path", "name")] = name
	    e[key(e, "bytes", "size")] = len(data or b"")
	    e["sha256"] = hashlib.sha256(data or b"").hexdigest()
	    lst.append(e)
	    set_manifest(entries, m)

	def regular(name, data):
	    ti = tarfile.TarInfo(name)
	    ti.mode = 0o600
	    ti.mtime = 1700000000
	    return [ti, data]

	def flip(data, at):
	    b = bytearray(data)
	    b[at] ^= 0x01
	    return bytes(b)

	is_data = lambda n: n.startswith("data/")

	# the controls, which must pass: the tar rebuilt, the manifest rewritten
	e = members(); write("rebuilt-unchanged", e)
	e = members(); i, m = manifest_of(e); set_manifest(e, m); write("manifest-resigned-unchanged", e)
	write("truncated-half", packed_bytes=packed[: len(packed) // 2])
	write("truncated-end", packed_bytes=packed[:-64])
	write("empty-file", packed_bytes=b"")
	write("not-an-archive", packed_bytes=b"hello, I am not a tar.zst\n")
	write("flipped-compressed-byte", packed_bytes=flip(packed, len(packed) // 3))
	e = members(); i = find(e, is_data); e[i][1] = flip(e[i][1], len(e[i][1]) // 2)
	write("flipped-data-byte", e)
	e = members(); i = find(e, lambda n: n == "schema/pre-data.sql"); e[i][1] = flip(e[i][1], len(e[i][1]) // 2)
	write("flipped-pre-data-byte", e)
	e = members(); i = find(e, lambda n: n == "schema/post-data.sql"); e[i][1] = e[i][1] + b"\nDROP TABLE app.child;\n"
	write("post-data-appended", e)
	e = members(); del e[find(e, is_data)]; write("missing-data-entry", e)
	e = members(); del e[find(e, lambda n: n == "schema/post-data.sql")]; write("missing-post-data", e)
	e = members(); del e[find(e, lambda n: n == "manifest.json")]; write("missing-manifest", e)
	e = members(); i, _ = manifest_of(e); e.insert(i, regular("data/0999.app.parent.copy.001", b"9999\tevil\n"))
	write("extra-entry", e)
	e = members(); e.append(regular("schema/zzz.sql", b"DROP TABLE app.child;\n")); write("entry-after-manifest", e)
	e = members(); i = find(e, lambda n: n == "schema/pre-data.sql"); e.insert(i + 1, regular("schema/pre-data.sql", b"DROP TABLE app.child;\n"))
	write("duplicate-entry", e)
	for tag, name in (("dotdot", "../pgward-evil-dotdot"),
	                  ("dotdot-inside", "data/../../pgward-evil-inside"),
	                  ("absolute", evil + "-absolute")):
	    e = members(); i, _ = manifest_of(e)
	    payload = b"1\tx\n"
	    e.insert(i, regular(name, payload)); listed(e, name, payload, "data/")
	    write("entry-" + tag, e)
	e = members(); i, _ = manifest_of(e)
	ti = tarfile.TarInfo("data/0998.app.parent.copy.001"); ti.type = tarfile.SYMTYPE; ti.linkname = evil + "-symlink"
	e.insert(i, [ti, None]); listed(e, ti.name, b"", "data/"); write("symlink-entry", e)
	e = members(); i = find(e, lambda n: n == "schema/post-data.sql")
	ti = tarfile.TarInfo("schema/post-data.sql"); ti.type = tarfile.SYMTYPE; ti.linkname = "/etc/passwd"
	e[i] = [ti, None]; write("symlink-instead-of-post-data", e)
	e = members(); i, _ = manifest_of(e)
	ti = tarfile.TarInfo("data/0997.app.parent.copy.001"); ti.type = tarfile.LNKTYPE; ti.linkname = "schema/pre-data.sql"
	e.insert(i, [ti, None]); listed(e, ti.name, b"", "data/"); write("hardlink-entry", e)
	e = members(); i, _ = manifest_of(e)
	ti = tarfile.TarInfo("data/0996.app.parent.copy.001"); ti.type = tarfile.FIFOTYPE
	e.insert(i, [ti, None]); write("fifo-entry", e)
	for tag, delta in (("larger", 1), ("smaller", -1)):
	    e = members(); i, m = manifest_of(e)
	    d = next(x for x in entry_list(m) if str(x.get(key(x, "path", "name"))).startswith("data/"))
	    k = key(d, "bytes", "size"); d[k] = int(d[k]) + delta
	    set_manifest(e, m); write("manifest-lies-size-" + tag, e)
	e = members(); i, m = manifest_of(e)
	d = next(x for x in entry_list(m) if str(x.get(key(x, "path", "name"))).startswith("data/"))
	k = key(d, "bytes", "size"); d[k] = int(d[k]) + 1
	set_manifest(e, m, sign=False); write("manifest-changed-unsigned", e)
	e = members(); i, m = manifest_of(e)
	d = next(x for x in entry_list(m) if str(x.get(key(x, "path", "name"))).startswith("schema/pre-data"))
	d["sha256"] = hashlib.sha256(b"something else").hexdigest()
	set_manifest(e, m); write("manifest-lies-sha256", e)
	e = members(); i, m = manifest_of(e)
	fk = next((k for k in ("format_version", "format", "version") if isinstance(m.get(k), int)), None)
	if fk is None:
	    sys.exit("no integer format version at the top of the manifest: " + json.dumps(m)[:1000])
	m[fk] = 999; set_manifest(e, m); write("unknown-format-version", e)
	e = members(); i, _ = manifest_of(e); e[i][1] = b"{\"format\": 1, \"entries\": ["
	write("manifest-not-json", e)
	e = members(); i, _ = manifest_of(e); e[i][1] = e[i][1] + b" " * (65 * 1024 * 1024)
	write("huge-manifest", e)
	EOF
	ls "$HOSTILE" >hostile.list &&
	test_eq 30 "$(wc -l <hostile.list)" "hostile archives built" &&
	test_expect_code 0 pgward archive verify "$HOSTILE/rebuilt-unchanged.tar.zst" &&
	test_expect_code 0 pgward archive verify "$HOSTILE/manifest-resigned-unchanged.tar.zst"
'

for variant in truncated-half truncated-end empty-file not-an-archive \
	flipped-compressed-byte flipped-data-byte flipped-pre-data-byte \
	post-data-appended missing-data-entry missing-post-data missing-manifest \
	extra-entry entry-after-manifest duplicate-entry entry-dotdot \
	entry-dotdot-inside entry-absolute symlink-entry \
	symlink-instead-of-post-data hardlink-entry fifo-entry \
	manifest-lies-size-larger manifest-lies-size-smaller manifest-lies-sha256 \
	manifest-changed-unsigned \
	unknown-format-version manifest-not-json huge-manifest; do
	test_expect_success TARZSTD "hostile archive $variant: verify and restore exit 2, database unchanged, nothing written" '
		f="$HOSTILE/'"$variant"'.tar.zst" &&
		test -f "$f" &&
		db_snapshot before &&
		pg_dump_clean -d "${DB}_elsewhere" >elsewhere.before &&
		(cd "$CAGE" && test_expect_code 2 pgward archive verify "$f") &&
		test -s "$ERR" &&
		(cd "$CAGE" && test_expect_code 2 pgward restore "$f" --yes) &&
		test -s "$ERR" &&
		(cd "$CAGE" && test_expect_code 2 pgward -d "dbname=${DB}_elsewhere" restore "$f" --yes --into "${DB}_elsewhere") &&
		db_snapshot after &&
		test_cmp before after &&
		pg_dump_clean -d "${DB}_elsewhere" >elsewhere.after &&
		test_cmp elsewhere.before elsewhere.after &&
		nothing_outside
	'
done

test_expect_success TARZSTD 'the rebuilt but unchanged archive restores (the hostile cases fail for their flaw alone)' '
	test_expect_code 0 pgward restore "$HOSTILE/rebuilt-unchanged.tar.zst" --yes &&
	nothing_outside
'

# --- the lock budget ------------------------------------------------------------
test_expect_success 'a restore needing more locks than the server has is refused before it starts' '
	fresh_db "${DB}_locks" &&
	budget=$(psql_val "SELECT current_setting('\''max_locks_per_transaction'\'')::int
		* (current_setting('\''max_connections'\'')::int + current_setting('\''max_prepared_transactions'\'')::int)") &&
	n=$((budget / 4 + 200)) &&
	echo "lock table: $budget; tables: $n (4 relations each, dropped and re-created)" &&
	psql_db "${DB}_locks" "CREATE SCHEMA many" &&
	psql_db "${DB}_locks" "DO \$\$ BEGIN
		FOR i IN 1..$n LOOP
			EXECUTE format('\''CREATE TABLE many.t%s (id int PRIMARY KEY, v text)'\'', i);
			IF i % 400 = 0 THEN COMMIT; END IF;
		END LOOP; END \$\$" &&
	psql_db "${DB}_locks" "INSERT INTO many.t1 VALUES (1, '\''one'\'')" &&
	test_expect_code 0 pgward -d "dbname=${DB}_locks" backup -o "$ARCH/locks.tar.zst" &&
	psql_db "${DB}_locks" "SELECT md5(string_agg(c.oid::text || c.relname, '\'','\'' ORDER BY c.oid)), count(*)
		FROM pg_class c WHERE c.relnamespace = '\''many'\''::regnamespace" >locks.before &&
	test_expect_code 2 pgward -d "dbname=${DB}_locks" restore "$ARCH/locks.tar.zst" --yes &&
	test_grep max_locks_per_transaction "$ERR" &&
	psql_db "${DB}_locks" "SELECT md5(string_agg(c.oid::text || c.relname, '\'','\'' ORDER BY c.oid)), count(*)
		FROM pg_class c WHERE c.relnamespace = '\''many'\''::regnamespace" >locks.after &&
	test_cmp locks.before locks.after &&
	"$PGBIN/dropdb" --force "${DB}_locks"
'

# --- failing half-way -----------------------------------------------------------
BIG=${DB}_big
# restore_session_sql: the restore's session while it loads rows.
restore_copy_sql="SELECT EXISTS (SELECT 1 FROM pg_stat_activity WHERE datname = '$BIG'
	AND application_name LIKE 'pgward:%' AND state = 'active' AND query ILIKE 'COPY%')"

test_expect_success 'set up: a database with a big table, its archive, then changes' '
	fresh_db "$BIG" &&
	psql_db "$BIG" "CREATE SCHEMA app;
		CREATE TABLE app.big (id bigint PRIMARY KEY, v text NOT NULL, n numeric);
		INSERT INTO app.big SELECT g, md5(g::text) || md5((g * 7)::text), g / 7.0
			FROM generate_series(1, 1500000) g;
		CREATE TABLE app.small (id int PRIMARY KEY, v text);
		INSERT INTO app.small SELECT g, '\''s'\'' || g FROM generate_series(1, 100) g;
		-- the cases below time a restore against the live table: no
		-- autovacuum on it meanwhile (a restore outwaits one, 1.5 s a
		-- drop, which these timings do not allow for)
		ALTER TABLE app.big SET (autovacuum_enabled = false)" &&
	test_expect_code 0 pgward -d "dbname=$BIG" backup -o "$ARCH/big.tar.zst" &&
	psql_db "$BIG" "DELETE FROM app.big WHERE id % 10 = 0;
		UPDATE app.small SET v = '\''changed'\'';
		CREATE TABLE app.newer (x int);
		INSERT INTO app.newer VALUES (1)" &&
	rows_snapshot "$BIG" big.before
'

test_expect_success 'connection terminated while loading rows: exit 1, database exactly as before' '
	bg_start restore_kill "$PGWARD" -d "dbname=$BIG" restore "$ARCH/big.tar.zst" --yes &&
	{ wait_for 120 "$restore_copy_sql" || { bg_wait restore_kill 60; bg_show restore_kill; false; }; } &&
	psql_val "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
		WHERE datname = '\''$BIG'\'' AND application_name LIKE '\''pgward:%'\''" >killed &&
	test_le 1 "$(cat killed)" "sessions terminated" &&
	bg_wait restore_kill 60 &&
	bg_show restore_kill &&
	test_eq 1 "$(bg_rc restore_kill)" "exit code of the interrupted restore" &&
	rows_snapshot "$BIG" big.after &&
	test_cmp big.before big.after
'

test_expect_success 'archive corrupted after the pre-check, while loading: exit 1 or 2, database exactly as before' '
	cp "$ARCH/big.tar.zst" "$ARCH/big-corrupted.tar.zst" &&
	size=$(stat -c %s "$ARCH/big-corrupted.tar.zst") &&
	bg_start restore_corrupt "$PGWARD" -d "dbname=$BIG" restore "$ARCH/big-corrupted.tar.zst" --yes &&
	{ wait_for 120 "$restore_copy_sql" || { bg_wait restore_corrupt 60; bg_show restore_corrupt; false; }; } &&
	dd if=/dev/urandom of="$ARCH/big-corrupted.tar.zst" bs=65536 count=1 \
		seek=$((size * 3 / 4)) oflag=seek_bytes conv=notrunc status=none &&
	bg_wait restore_corrupt 60 &&
	bg_show restore_corrupt &&
	case "$(bg_rc restore_corrupt)" in 1 | 2) true ;; *) echo "exit $(bg_rc restore_corrupt), expected 1 or 2"; false ;; esac &&
	rows_snapshot "$BIG" big.after2 &&
	test_cmp big.before big.after2
'

test_expect_success 'the intact archive then restores: the database is the archive again' '
	test_expect_code 0 pgward -d "dbname=$BIG" restore "$ARCH/big.tar.zst" --yes &&
	test_eq 1500000 "$(psql_db "$BIG" "SELECT count(*) FROM app.big")" "app.big rows" &&
	! psql_db "$BIG" "SELECT 1 FROM app.newer" 2>/dev/null
'

test_done
