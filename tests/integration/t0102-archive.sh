#!/bin/bash
# pgward archive verify|list: archives made by stock tools (GNU tar, zstd,
# a manifest written by hand) and by pgward's own writer verify and list
# (exit 0, --json parses); broken and hostile archives exit 2, naming the
# entry and the problem, and nothing is written anywhere.  No database.
. "$(dirname "$0")/lib.sh"

# ARCHIVE: the command exists; TAR: and so do GNU tar and zstd.
if "$PGWARD" archive --help >/dev/null 2>&1; then
	test_set_prereq ARCHIVE
	if command -v zstd >/dev/null && tar --version 2>/dev/null | grep -q "GNU tar"; then
		test_set_prereq TAR
	fi
fi

# mk.py KIND OUT: an archive as pgward lays it out, or a broken one.  The
# manifest is sealed as pgward seals it: SHA-256 of the compact JSON with
# sorted keys, without manifest_sha256.
cat >"$TEST_DIR/mk.py" <<'EOF'
import hashlib, io, json, os, sys, tarfile

kind, out = sys.argv[1], sys.argv[2]
EVIL = os.environ.get("EVIL", "/tmp/pgward-evil")
entries = [
    ("schema/pre-data.sql", b"CREATE TABLE public.t (id int);\n", None),
    ("data/0001.public.t.copy.001", b"1\n2\n", 2),
    ("data/0002.s\u00e9.t\u00e4b.copy.001", b"x\n", 1),
    ("data/0001.public.t.copy.002", b"3\n", 1),
    ("schema/post-data.sql", b"ALTER TABLE public.t ADD PRIMARY KEY (id);\n", None),
    ("restore.sql", b"\\i schema/pre-data.sql\n", None),
]

def manifest(listed, **change):
    m = {
        "format": 1, "created_at": "2026-01-02T03:04:05Z",
        "server_version_num": 150004, "database": "app", "encoding": "UTF8",
        "collation": "C", "ctype": "C",
        "extensions": [{"name": "plpgsql", "version": "1.0"}],
        "schema_version": "007", "git_commit": "0123456789abcdef",
        "git_tag": "v7", "wal_lsn": "0/16B3748", "settings": {"DateStyle": "ISO"},
        "omitted": [], "schemas": ["public", "s\u00e9"],
        "tables": [
            {"seq": 1, "schema": "public", "name": "t", "columns": "id", "rows": 3},
            {"seq": 2, "schema": "s\u00e9", "name": "t\u00e4b", "columns": None, "rows": 1},
        ],
        "entries": [],
    }
    for t in m["tables"]:
        t["rows"] = 0
    for name, data, rows in listed:
        e = {"path": name, "bytes": len(data),
             "sha256": hashlib.sha256(data).hexdigest()}
        if rows is not None:
            e["rows"] = rows
            e["copy_format"] = "text"
            m["tables"][int(name[5:9]) - 1]["rows"] += rows
        m["entries"].append(e)
    m.update(change)
    m.pop("manifest_sha256", None)
    canon = json.dumps(m, sort_keys=True, separators=(",", ":"),
                       ensure_ascii=False).encode()
    m["manifest_sha256"] = hashlib.sha256(canon).hexdigest()
    return json.dumps(m, indent=1, ensure_ascii=False).encode()

def member(name, data=b"", type=tarfile.REGTYPE, link=""):
    ti = tarfile.TarInfo(name)
    ti.size = len(data) if type == tarfile.REGTYPE else 0
    ti.type = type
    ti.linkname = link
    ti.mode = 0o600
    return ti, data

def write(members, raw_tail=None):
    buf = io.BytesIO()
    tf = tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT)
    for ti, data in members:
        tf.addfile(ti, io.BytesIO(data) if ti.type == tarfile.REGTYPE else None)
    end = tf.offset
    tf.close()
    body = buf.getvalue()
    if raw_tail is not None:
        # in place of the end-of-archive blocks
        body = body[:end] + raw_tail
    open(out, "wb").write(body)

def files(listed=entries, present=entries, **change):
    return [member(n, d) for n, d, _ in present] + \
        [member("manifest.json", manifest(listed, **change))]

if kind == "src":
    # the entries as files, for GNU tar
    for name, data, _ in entries:
        os.makedirs(os.path.join(out, os.path.dirname(name)), exist_ok=True)
        open(os.path.join(out, name), "wb").write(data)
    open(os.path.join(out, "manifest.json"), "wb").write(manifest(entries))
elif kind == "missing":
    write(files(present=[e for e in entries if e[0] != "data/0001.public.t.copy.002"]))
elif kind == "extra":
    write(files(listed=[e for e in entries if e[0] != "data/0001.public.t.copy.002"]))
elif kind == "format2":
    write(files(format=2))
elif kind == "lying-size":
    m = files()
    lie = json.loads(m[-1][1])
    lie["entries"][1]["bytes"] += 1
    write(m[:-1] + [member("manifest.json", manifest(entries, entries=lie["entries"]))])
elif kind == "bad-json":
    write(files()[:-1] + [member("manifest.json", b'{"format": 1, "entries": [')])
elif kind == "huge-manifest":
    ti = tarfile.TarInfo("manifest.json")
    ti.size = 3 << 30
    write(files()[:-1], raw_tail=ti.tobuf(format=tarfile.USTAR_FORMAT) + b"{")
elif kind == "columns":
    t = [{"seq": 1, "schema": "public", "name": "t", "rows": 3,
          "columns": "id) FROM PROGRAM 'touch " + EVIL + "' --"},
         {"seq": 2, "schema": "s\u00e9", "name": "t\u00e4b", "columns": None, "rows": 1}]
    write(files(tables=t))
elif kind in ("dotdot", "absolute", "symlink", "hardlink", "directory", "duplicate",
              "after-manifest"):
    bad = {
        "dotdot": member("../../.." + EVIL, b"x\n"),
        "absolute": member(EVIL, b"x\n"),
        "symlink": member("data/0001.public.t.copy.003", type=tarfile.SYMTYPE, link=EVIL),
        "hardlink": member("data/0001.public.t.copy.003", type=tarfile.LNKTYPE,
                           link="schema/pre-data.sql"),
        "directory": member("data", type=tarfile.DIRTYPE),
        "duplicate": member("data/0001.public.t.copy.001", b"1\n2\n"),
        "after-manifest": member("data/0009.public.late.copy.001", b"x\n"),
    }[kind]
    m = files()
    if kind == "after-manifest":
        write(m + [bad])
    else:
        write(m[:2] + [bad] + m[2:])
else:
    sys.exit("mk.py: unknown kind " + kind)
EOF

EVIL="$TEST_DIR/evil-target"
export EVIL
EMPTY="$TEST_DIR/empty"
mkdir -p "$EMPTY"

mk() {
	python3 "$TEST_DIR/mk.py" "$@"
}

# refused FILE PATTERN...: verify and list exit 2 with every PATTERN on
# stderr; run from an empty dir that stays empty; the hostile entries'
# targets never appear.
refused() {
	local f=$1 p
	shift
	(cd "$EMPTY" && test_expect_code 2 "$PGWARD" archive verify "$f") || return 1
	for p in "$@"; do
		test_grep -F -- "$p" "$ERR" || return 1
	done
	(cd "$EMPTY" && test_expect_code 2 "$PGWARD" archive list "$f") || return 1
	test_eq "" "$(ls -A "$EMPTY")" "files in the working dir" &&
	test ! -e "$EVIL" && test ! -e "$EVIL.copy"
}

test_expect_success TAR 'a plain tar and zstd archive made by stock tools verifies' '
	mkdir src && mk src src &&
	(cd src && tar --format=ustar -cf ../stock.tar schema/pre-data.sql \
		data/0001.public.t.copy.001 "data/0002.sé.täb.copy.001" \
		data/0001.public.t.copy.002 schema/post-data.sql restore.sql \
		manifest.json) &&
	zstd -q stock.tar -o stock.tar.zst &&
	test_expect_code 0 "$PGWARD" archive verify stock.tar.zst &&
	test_grep "^ok: stock.tar.zst: 7 entries, .*, format 1, created 2026-01-02T03:04:05Z (.* ago), schema version 007" "$OUT" &&
	test_grep "^sha256: $(sha256sum stock.tar.zst | cut -c1-64)$" "$OUT" &&
	test_expect_code 0 "$PGWARD" archive verify stock.tar &&
	test_grep "^ok: stock.tar: 7 entries" "$OUT"
'

test_expect_success TAR 'list shows tables, rows, sizes, version, git, age, extensions' '
	test_expect_code 0 "$PGWARD" archive list stock.tar.zst &&
	test_grep "^created .*2026-01-02T03:04:05Z (.* days ago)" "$OUT" &&
	test_grep "^database .*app on PostgreSQL 15.4" "$OUT" &&
	test_grep "^schema .*version 007, git 0123456789ab (v7)" "$OUT" &&
	test_grep "^extensions .*plpgsql 1.0" "$OUT" &&
	test_grep "^public.t  *3  *6 B  *2$" "$OUT" &&
	test_grep "^sé.täb  *1  *2 B  *1$" "$OUT" &&
	test_grep "^2 tables, 4 rows, 8 B of data" "$OUT"
'

test_expect_success TAR '--json: one document each' '
	test_expect_code 0 "$PGWARD" archive verify --json stock.tar.zst &&
	json_check "$OUT" "d[\"ok\"] is True and d[\"entries\"] == 7 and d[\"format\"] == 1 and
		d[\"schema_version\"] == \"007\" and len(d[\"sha256\"]) == 64 and
		d[\"age_seconds\"] > 0" &&
	test_expect_code 0 "$PGWARD" --json archive list stock.tar.zst &&
	json_check "$OUT" "[(t[\"schema\"], t[\"name\"], t[\"rows\"], t[\"bytes\"], t[\"parts\"])
		for t in d[\"tables\"]] == [(\"public\", \"t\", 3, 6, 2), (\"sé\", \"täb\", 1, 2, 1)] and
		d[\"git_tag\"] == \"v7\" and d[\"extensions\"] == [{\"name\": \"plpgsql\", \"version\": \"1.0\", \"schema\": None}] and
		d[\"settings\"] == {\"DateStyle\": \"ISO\"} and len(d[\"entries\"]) == 6" &&
	test_expect_code 2 "$PGWARD" archive verify --json nothing.tar.zst &&
	json_check "$OUT" "d[\"ok\"] is False and \"does not exist\" in d[\"error\"]"
'

test_expect_success TAR 'verify --sha256 compares the whole file' '
	test_expect_code 0 "$PGWARD" archive verify --sha256 "$(sha256sum stock.tar.zst | cut -c1-64)" stock.tar.zst &&
	test_expect_code 2 "$PGWARD" archive verify --sha256 "$(sha256sum stock.tar | cut -c1-64)" stock.tar.zst &&
	test_grep "its SHA-256 is" "$ERR" &&
	test_expect_code 2 "$PGWARD" archive verify --sha256 abc stock.tar.zst &&
	test_expect_code 2 "$PGWARD" archive list --sha256 "$(sha256sum stock.tar.zst | cut -c1-64)" stock.tar.zst
'

test_expect_success ARCHIVE 'usage errors exit 2' '
	test_expect_code 2 "$PGWARD" archive &&
	test_expect_code 2 "$PGWARD" archive verify &&
	test_expect_code 2 "$PGWARD" archive frobnicate x &&
	test_grep "unknown action" "$ERR" &&
	test_expect_code 2 "$PGWARD" archive list a b &&
	test_expect_code 2 "$PGWARD" archive verify --bogus x &&
	test_expect_code 0 "$PGWARD" archive --help &&
	test_grep "^usage: pgward archive verify" "$OUT"
'

test_expect_success ARCHIVE 'archives written by pgward verify, list, and plain tar reads them' '
	lib=$(dirname "$PGWARD")/libpgward.a &&
	san= &&
	case "$PGWARD" in */san/*) san="-fsanitize=address,undefined" ;; esac &&
	cc -std=c11 -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE $san \
		-I"$TEST_SRC/../../core" "$TEST_SRC/../fuzz/seed_archive.c" "$lib" \
		$(pkg-config --libs libpq) -l:libjansson.a -l:libinih.a \
		-l:libnettle.a -l:libpg_query.a -lpthread -o seed_archive &&
	mkdir own && ./seed_archive own &&
	for f in own/plain.tar own/zstd.tar.zst own/empty-db.tar own/empty-db.tar.zst; do
		test_expect_code 0 "$PGWARD" archive verify "$f" &&
		test_expect_code 0 "$PGWARD" archive list "$f" || return 1
	done &&
	test_expect_code 0 "$PGWARD" archive list own/zstd.tar.zst &&
	test_grep "^public.users  *3  *17 B  *2$" "$OUT" &&
	test_grep "^s.x.tä  *1  *2 B  *1$" "$OUT" &&
	test_eq 600 "$(stat -c %a own/zstd.tar.zst)" "archive mode" &&
	if test_have_prereq TAR; then
		tar --zstd -tf own/zstd.tar.zst >names &&
		test_eq "schema/pre-data.sql data/0001.public.users.copy.001 data/0002.s.x.tä.copy.001 data/0001.public.users.copy.002 schema/post-data.sql restore.sql manifest.json" \
			"$(tr "\n" " " <names | sed "s/ $//")" "tar -t"
	fi
'

test_expect_success ARCHIVE 'an empty file, a text file and a directory are refused' '
	: >empty.tar.zst &&
	refused "$TEST_DIR/empty.tar.zst" "is empty" &&
	echo "CREATE TABLE x ();" >sql.tar.zst &&
	refused "$TEST_DIR/sql.tar.zst" "not a pgward archive" &&
	refused "$TEST_DIR" "not a regular file" &&
	refused "$TEST_DIR/none.tar.zst" "does not exist"
'

test_expect_success TAR 'a truncated archive is refused' '
	head -c $(($(stat -c %s stock.tar.zst) / 2)) stock.tar.zst >half.tar.zst &&
	refused "$TEST_DIR/half.tar.zst" "half.tar.zst" &&
	head -c $(($(stat -c %s stock.tar) / 2)) stock.tar >half.tar &&
	refused "$TEST_DIR/half.tar" "half.tar"
'

test_expect_success TAR 'one byte flipped is refused, compressed or not' '
	off=$(grep -abo "ALTER TABLE" stock.tar | head -n 1 | cut -d: -f1) &&
	cp stock.tar flipped.tar &&
	printf "a" | dd of=flipped.tar bs=1 seek=$off conv=notrunc status=none &&
	refused "$TEST_DIR/flipped.tar" "schema/post-data.sql" "SHA-256" &&
	size=$(stat -c %s stock.tar.zst) &&
	cp stock.tar.zst flipped.tar.zst &&
	printf "\\377" | dd of=flipped.tar.zst bs=1 seek=$((size / 2)) conv=notrunc status=none &&
	refused "$TEST_DIR/flipped.tar.zst" "flipped.tar.zst"
'

test_expect_success ARCHIVE 'an entry missing or extra, an unknown format: refused' '
	mk missing missing.tar &&
	refused "$TEST_DIR/missing.tar" "data/0001.public.t.copy.002" "missing from the archive" &&
	mk extra extra.tar &&
	refused "$TEST_DIR/extra.tar" "data/0001.public.t.copy.002" "not listed in manifest.json" &&
	mk format2 format2.tar &&
	refused "$TEST_DIR/format2.tar" "unknown archive format 2"
'

test_expect_success ARCHIVE '.., absolute names, links, directories, duplicates: refused' '
	mk dotdot dotdot.tar &&
	refused "$TEST_DIR/dotdot.tar" "contains '"'"'..'"'"'" &&
	mk absolute absolute.tar &&
	refused "$TEST_DIR/absolute.tar" "absolute path" &&
	mk symlink symlink.tar &&
	refused "$TEST_DIR/symlink.tar" "data/0001.public.t.copy.003" "symbolic link" &&
	mk hardlink hardlink.tar &&
	refused "$TEST_DIR/hardlink.tar" "hard link" &&
	mk directory directory.tar &&
	refused "$TEST_DIR/directory.tar" "directory" &&
	mk duplicate duplicate.tar &&
	refused "$TEST_DIR/duplicate.tar" "appears twice" &&
	mk after-manifest after.tar &&
	refused "$TEST_DIR/after.tar" "data/0009.public.late.copy.001" "after manifest.json"
'

test_expect_success ARCHIVE 'a manifest that lies, is not JSON, is huge, or injects SQL: refused' '
	mk lying-size lying.tar &&
	refused "$TEST_DIR/lying.tar" "data/0001.public.t.copy.001" "manifest.json says 5" &&
	mk bad-json badjson.tar &&
	refused "$TEST_DIR/badjson.tar" "not valid JSON" &&
	mk huge-manifest huge.tar &&
	refused "$TEST_DIR/huge.tar" "manifest.json is 3221225472 bytes" &&
	mk columns columns.tar &&
	refused "$TEST_DIR/columns.tar" "not a list of column names"
'

test_expect_success ARCHIVE 'a hostile archive is never extracted: nothing appears anywhere' '
	test ! -e "$EVIL" &&
	test_eq "" "$(ls -A "$EMPTY")" "files in the working dir" &&
	test ! -e "$TEST_DIR/data" && test ! -e "$TEST_DIR/schema"
'

test_done
