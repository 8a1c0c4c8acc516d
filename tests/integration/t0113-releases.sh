#!/bin/bash
# pgward releases: release tags read from git (core/git.c) and the schema
# version each carries; version order, annotated and lightweight tags, a
# merge commit, tags on a blob or tree, a migrations dir that moved,
# detached HEAD, shallow clones, no repository; with a database, the
# release it is at.  The lower-level API through tests/fixtures/git_tool.
. "$(dirname "$0")/lib.sh"

# git, hermetic: no user or system configuration, fixed identities and
# dates, and no repository above the work dir.
mkdir -p "$TEST_DIR/home"
export HOME="$TEST_DIR/home" GIT_CONFIG_NOSYSTEM=1
export GIT_AUTHOR_NAME=pgward-test GIT_AUTHOR_EMAIL=test@example.invalid
export GIT_COMMITTER_NAME=pgward-test GIT_COMMITTER_EMAIL=test@example.invalid
GIT_CEILING_DIRECTORIES=$(cd "$TEST_DIR" && pwd -P)
export GIT_CEILING_DIRECTORIES

A="$TEST_DIR/a"   # releases, a merge, tags on a blob and a tree
B="$TEST_DIR/b"   # the migrations dir moved between releases
C="$TEST_DIR/c"   # other tag names
DB="host=$PGHOST port=$PGPORT dbname=$PGDATABASE"
TOOL="$TEST_DIR/git_tool"

# on DAY CMD...: run CMD with author, committer and tagger dated 2026-01-DAY.
on() {
	local day=$1
	shift
	GIT_AUTHOR_DATE="2026-01-${day}T12:00:00Z" \
		GIT_COMMITTER_DATE="2026-01-${day}T12:00:00Z" "$@"
}

# mig REPO DIR N: write migration N (001) creating table tN into REPO/DIR.
mig() {
	mkdir -p "$1/$2"
	printf -- '-- migrate:up\nCREATE TABLE t%s (id int);\n-- migrate:down\nDROP TABLE t%s;\n' \
		"$3" "$3" >"$1/$2/$3_t$3.sql"
}

# commit REPO DAY MESSAGE: commit everything.
commit() {
	git -C "$1" add -A && on "$2" git -C "$1" commit -q -m "$3"
}

# releases_in REPO [ARGS...]: pgward releases on REPO/migrations.
releases_in() {
	local repo=$1
	shift
	"$PGWARD" --migrations "$repo/migrations" releases "$@"
}

# tags_and_versions: "TAG VERSION" of each row of the table in $OUT.
tags_and_versions() {
	awk 'NR > 1 { print $1, $4 }' "$OUT"
}

test_expect_success 'setup: a repository with releases' '
	git init -q -b main "$A" &&
	mig "$A" migrations 001 && echo "# app" >"$A/README.md" &&
	commit "$A" 01 "001" &&
	git -C "$A" tag v1.0.0 && git -C "$A" tag vzeta &&
	mig "$A" migrations 002 && commit "$A" 02 "002" &&
	on 02 git -C "$A" tag -a v1.9.0 -m "release 1.9.0" &&
	git -C "$A" tag valpha &&
	mig "$A" migrations 003 && commit "$A" 03 "003" &&
	git -C "$A" tag v1.10.0 &&
	on 03 git -C "$A" tag -a v2.0.0-rc1 -m "first candidate" &&
	printf -- "-- migrate:up\nCREATE TABLE t004 (id int);\n" \
		>"$A/migrations/004_t004.up.sql" &&
	printf -- "-- migrate:down\nDROP TABLE t004;\n" \
		>"$A/migrations/004_t004.down.sql" &&
	echo "-- not a migration" >"$A/migrations/schema.sql" &&
	echo "notes" >"$A/migrations/README.md" &&
	commit "$A" 04 "004, pair files" && git -C "$A" tag v2.0.0 &&
	git -C "$A" checkout -q -b feature &&
	mig "$A" migrations 005 && commit "$A" 05 "005 on a branch" &&
	git -C "$A" checkout -q main &&
	echo "more" >>"$A/README.md" && commit "$A" 06 "readme" &&
	on 07 git -C "$A" merge -q --no-ff -m "merge feature" feature &&
	git -C "$A" tag v2.1.0 &&
	mig "$A" migrations 006 && commit "$A" 08 "006, no release" &&
	mig "$A" migrations 007 && commit "$A" 09 "007" &&
	on 09 git -C "$A" tag -a v3.0.0 -m "release 3" &&
	git -C "$A" tag v9.9.9-blob "$(git -C "$A" hash-object -w README.md)" &&
	on 09 git -C "$A" tag -a v9.9.9-tree -m "a tree" "HEAD^{tree}" &&
	test "$(git -C "$A" rev-list --parents -n 1 v2.1.0 | wc -w)" = 3
'

cat >"$TEST_DIR/expect.order" <<'EOF'
v1.0.0 001
v1.9.0 002
v1.10.0 003
v2.0.0-rc1 003
v2.0.0 004
v2.1.0 005
v3.0.0 007
vzeta 001
valpha 002
EOF

test_expect_success 'each release with the schema version of its tree, in version order' '
	test_expect_code 0 releases_in "$A" &&
	test_grep "^TAG  *COMMIT  *DATE (UTC)  *SCHEMA$" "$OUT" &&
	tags_and_versions >"$TEST_DIR/got.order" &&
	test_cmp "$TEST_DIR/expect.order" "$TEST_DIR/got.order"
'

test_expect_success 'commits (annotated tags peeled), dates in UTC, the merge commit' '
	test_expect_code 0 releases_in "$A" &&
	c=$(git -C "$A" rev-parse "v1.9.0^{commit}") &&
	test_grep "^v1.9.0  *${c:0:12}  2026-01-02  002$" "$OUT" &&
	c=$(git -C "$A" rev-parse v1.0.0) &&
	test_grep "^v1.0.0  *${c:0:12}  2026-01-01  001$" "$OUT" &&
	c=$(git -C "$A" rev-parse v2.1.0) &&
	test_grep "^v2.1.0  *${c:0:12}  2026-01-07  005$" "$OUT"
'

test_expect_success 'tags on a blob and on a tree are skipped with a warning' '
	test_expect_code 0 releases_in "$A" &&
	test_grep "warning: tag .v9.9.9-blob. points at a blob, not a commit: skipped" "$ERR" &&
	test_grep "warning: tag .v9.9.9-tree. points at a tree, not a commit: skipped" "$ERR" &&
	test_grep ! "v9.9.9" "$OUT"
'

test_expect_success '--json: one document with the same releases' '
	test_expect_code 0 releases_in "$A" --json &&
	c=$(git -C "$A" rev-parse "v1.9.0^{commit}") &&
	json_check "$OUT" "[(r[\"tag\"], r[\"version\"]) for r in d[\"releases\"]] == [tuple(l.split()) for l in open(\"$TEST_DIR/expect.order\")]" &&
	json_check "$OUT" "d[\"releases\"][1][\"commit\"] == \"$c\" and d[\"releases\"][1][\"date\"] == \"2026-01-02\"" &&
	json_check "$OUT" "d[\"pattern\"] == \"v*\" and d[\"shallow\"] is False and d[\"note\"] is None and d[\"database\"] is None" &&
	json_check "$OUT" "d[\"migrations_dir\"] == \"migrations\" and all(r[\"migrations_dir\"] == \"migrations\" for r in d[\"releases\"])"
'

test_expect_success 'the global --json before the command works the same' '
	test_expect_code 0 "$PGWARD" --json --migrations "$A/migrations" releases &&
	json_check "$OUT" "len(d[\"releases\"]) == 9"
'

test_expect_success 'detached HEAD: the same releases' '
	test_expect_code 0 releases_in "$A" &&
	cp "$OUT" "$TEST_DIR/attached" &&
	git -C "$A" checkout -q --detach v1.9.0 &&
	test_expect_code 0 releases_in "$A" &&
	git -C "$A" checkout -q main &&
	test_cmp "$TEST_DIR/attached" "$OUT"
'

test_expect_success 'libgit2 is not linked: loaded only when git is read' '
	! ldd "$PGWARD" | grep libgit2
'

test_expect_success 'setup: the git_tool fixture' '
	build_fixture git_tool.c "$TOOL"
'
test -x "$TOOL" && test_set_prereq TOOL

test_expect_success TOOL 'head: the commit and its release tag, detached or not' '
	test_expect_code 0 "$TOOL" head "$A/migrations" &&
	test_grep "^commit $(git -C "$A" rev-parse HEAD)$" "$OUT" &&
	test_grep "^tag v3.0.0$" "$OUT" &&
	git -C "$A" checkout -q --detach v1.10.0 &&
	test_expect_code 0 "$TOOL" head "$A/migrations" &&
	test_grep "^commit $(git -C "$A" rev-parse v1.10.0)$" "$OUT" &&
	test_grep "^tag v2.0.0-rc1$" "$OUT" &&
	git -C "$A" checkout -q --detach valpha &&
	test_expect_code 0 "$TOOL" head "$A/migrations" &&
	test_grep "^tag v1.9.0$" "$OUT" &&
	git -C "$A" checkout -q --detach main~1 &&
	test_expect_code 0 "$TOOL" head "$A/migrations" &&
	test_grep "^tag -$" "$OUT" &&
	test_expect_code 0 "$TOOL" head "$A/migrations" "val*" &&
	test_grep "^tag -$" "$OUT" &&
	git -C "$A" checkout -q main
'

# ls_tree REV: what git lists as migration files of REV, "NAME OID".
ls_tree() {
	git -C "$A" ls-tree "$1:migrations" | awk -F "\t" '{ split($1, f, " "); print $2, f[3] }' |
		grep "\.sql " | grep -v "^schema\.sql "
}

test_expect_success TOOL 'list: the migration files of a tag and of HEAD, as git has them' '
	git -C "$A" checkout -q main &&
	test_expect_code 0 "$TOOL" list "$A/migrations" v1.10.0 &&
	ls_tree v1.10.0 >"$TEST_DIR/expect.list" &&
	test_cmp "$TEST_DIR/expect.list" "$OUT" &&
	test_eq 3 "$(wc -l <"$OUT")" "files at v1.10.0" &&
	test_expect_code 0 "$TOOL" list "$A/migrations" HEAD &&
	ls_tree HEAD >"$TEST_DIR/expect.list" &&
	test_cmp "$TEST_DIR/expect.list" "$OUT" &&
	test_grep "^004_t004.down.sql " "$OUT" &&
	test_grep ! "schema.sql" "$OUT" &&
	test_grep ! "README" "$OUT" &&
	test_expect_code 0 "$TOOL" list "$A/migrations" "$(git -C "$A" rev-parse v2.1.0)" &&
	test_grep "^005_t005.sql " "$OUT"
'

test_expect_success TOOL 'read, hash, find: blobs as git stores them' '
	oid=$(git -C "$A" rev-parse v1.9.0:migrations/002_t002.sql) &&
	test_expect_code 0 "$TOOL" read "$A/migrations" "$oid" &&
	git -C "$A" show v1.9.0:migrations/002_t002.sql >"$TEST_DIR/expect.blob" &&
	test_cmp "$TEST_DIR/expect.blob" "$OUT" &&
	test_expect_code 0 "$TOOL" hash "$A/migrations/001_t001.sql" &&
	test_eq "$(git -C "$A" hash-object migrations/001_t001.sql)" "$(cat "$OUT")" "blob id" &&
	: >"$TEST_DIR/empty.sql" &&
	test_expect_code 0 "$TOOL" hash "$TEST_DIR/empty.sql" &&
	test_eq e69de29bb2d1d6434b8b29ae775ad8c2e48c5391 "$(cat "$OUT")" "empty blob id" &&
	test_expect_code 0 "$TOOL" find "$A/migrations" HEAD schema.sql &&
	test_eq "$(git -C "$A" rev-parse HEAD:migrations/schema.sql)" "$(cat "$OUT")" "schema.sql" &&
	test_expect_code 2 "$TOOL" find "$A/migrations" v1.0.0 schema.sql &&
	test_grep "has no file .schema.sql." "$ERR"
'

test_expect_success TOOL 'same: working files compared with a tree by blob id' '
	git -C "$A" checkout -q main &&
	test_expect_code 0 "$TOOL" same "$A/migrations" HEAD &&
	test_grep ! differs "$OUT" &&
	echo "-- edited" >>"$A/migrations/002_t002.sql" &&
	test_expect_code 0 "$TOOL" same "$A/migrations" HEAD &&
	git -C "$A" checkout -q -- migrations/002_t002.sql &&
	test_grep "^differs 002_t002.sql$" "$OUT" &&
	test_grep "^same 001_t001.sql$" "$OUT"
'

test_expect_success TOOL 'bad revisions and ids: exit 2 with what to do' '
	test_expect_code 2 "$TOOL" list "$A/migrations" v7.7.7 &&
	test_grep "no commit or tag .v7.7.7. in the git repository" "$ERR" &&
	test_grep "git fetch --tags" "$ERR" &&
	test_expect_code 2 "$TOOL" list "$A/migrations" v9.9.9-blob &&
	test_grep "is a blob in git, not a commit" "$ERR" &&
	test_expect_code 2 "$TOOL" read "$A/migrations" 1234 &&
	test_grep "not a git object id" "$ERR" &&
	test_expect_code 2 "$TOOL" read "$A/migrations" 0123456789012345678901234567890123456789 &&
	test_grep "cannot read file 012345678901 from git" "$ERR"
'

test_expect_success TOOL 'dirty: untracked, modified, staged; not ignored, not outside' '
	git -C "$A" checkout -q main &&
	test_expect_code 0 "$TOOL" dirty "$A/migrations" &&
	test_eq "" "$(cat "$OUT")" "a clean tree" &&
	echo "*.log" >"$A/.gitignore" && git -C "$A" add .gitignore &&
	echo "-- edited" >>"$A/migrations/001_t001.sql" &&
	mig "$A" migrations 008 &&
	mig "$A" migrations 009 && git -C "$A" add migrations/009_t009.sql &&
	git -C "$A" rm -q migrations/003_t003.sql &&
	echo x >"$A/migrations/run.log" &&
	echo x >>"$A/README.md" &&
	test_expect_code 0 "$TOOL" dirty "$A/migrations" &&
	git -C "$A" reset -q --hard && git -C "$A" clean -q -f -d -x &&
	printf "%s\n" 001_t001.sql 003_t003.sql 008_t008.sql 009_t009.sql >"$TEST_DIR/expect.dirty" &&
	test_cmp "$TEST_DIR/expect.dirty" "$OUT" &&
	test_expect_code 0 "$TOOL" dirty "$A/migrations" &&
	test_eq "" "$(cat "$OUT")" "clean again"
'

test_expect_success 'setup: a migrations dir that moved between releases' '
	git init -q -b main "$B" &&
	mig "$B" one 001 && mig "$B" two 002 && commit "$B" 01 "two dirs" &&
	git -C "$B" tag v0.0.1 &&
	git -C "$B" rm -q -r one two && mig "$B" sql 001 &&
	commit "$B" 02 "sql/" && git -C "$B" tag v0.1.0 &&
	mkdir -p "$B/db" && git -C "$B" mv sql db/migrations &&
	mig "$B" db/migrations 002 && mig "$B" archive 009 &&
	commit "$B" 03 "db/migrations/" && git -C "$B" tag v0.2.0 &&
	git -C "$B" mv db/migrations migrations &&
	mig "$B" migrations 003 && commit "$B" 04 "migrations/" &&
	git -C "$B" tag v0.3.0
'

test_expect_success 'moved: each tag read where its migrations were' '
	test_expect_code 0 releases_in "$B" &&
	tags_and_versions >"$TEST_DIR/got" &&
	printf "%s\n" "v0.0.1 -" "v0.1.0 001" "v0.2.0 002" "v0.3.0 003" >"$TEST_DIR/expect" &&
	test_cmp "$TEST_DIR/expect" "$TEST_DIR/got" &&
	test_grep "^v0.1.0 .* 001  (migrations in .sql.)$" "$OUT" &&
	test_grep "^v0.2.0 .* 002  (migrations in .db/migrations.)$" "$OUT" &&
	test_grep "^v0.3.0 .* 003$" "$OUT" &&
	test_grep "warning: .v0.0.1. has no .migrations., and several directories hold migration files (.one., .two.)" "$ERR" &&
	test_expect_code 0 releases_in "$B" --json &&
	json_check "$OUT" "[r[\"migrations_dir\"] for r in d[\"releases\"]] == [None, \"sql\", \"db/migrations\", \"migrations\"]"
'

test_expect_success TOOL 'moved: list reads the old dir' '
	test_expect_code 0 "$TOOL" list "$B/migrations" v0.2.0 &&
	test_eq "001_t001.sql 002_t002.sql" "$(cut -d" " -f1 "$OUT" | tr "\n" " " | sed "s/ $//")" "files at v0.2.0" &&
	test_expect_code 0 "$TOOL" list "$B/migrations" v0.0.1 &&
	test_eq "" "$(cat "$OUT")" "files at v0.0.1"
'

test_expect_success 'with a database: no migration applied yet' '
	test_expect_code 0 releases_in "$A" -d "$DB" &&
	test_grep "^database has no migration applied$" "$OUT" &&
	test_grep ! "<- database" "$OUT"
'

test_expect_success 'with a database: the newest release at its version' '
	git -C "$A" checkout -q main &&
	test_expect_code 0 "$PGWARD" --migrations "$A/migrations" -d "$DB" up --to 3 &&
	expect_history 1,2,3 &&
	test_expect_code 0 releases_in "$A" -d "$DB" &&
	test_grep "^database is at 003 (release v2.0.0-rc1)$" "$OUT" &&
	test_grep "^v2.0.0-rc1 .* 003  <- database$" "$OUT" &&
	test_grep "^v1.10.0 .* 003$" "$OUT" &&
	test_eq 1 "$(grep -c "<- database" "$OUT")" "marked rows"
'

test_expect_success 'with a database: between two releases' '
	test_expect_code 0 "$PGWARD" --migrations "$A/migrations" -d "$DB" up --to 6 &&
	expect_history 1,2,3,4,5,6 &&
	test_expect_code 0 releases_in "$A" -d "$DB" &&
	test_grep "^database is at 006, between releases v2.1.0 and v3.0.0$" "$OUT" &&
	test_grep ! "<- database" "$OUT" &&
	test_expect_code 0 releases_in "$A" -d "$DB" --json &&
	json_check "$OUT" "d[\"database\"] == {\"version\": \"006\", \"release\": None, \"previous_release\": \"v2.1.0\", \"next_release\": \"v3.0.0\"}"
'

test_expect_success 'with a database (DATABASE_URL): at the newest release' '
	test_expect_code 0 "$PGWARD" --migrations "$A/migrations" -d "$DB" up &&
	expect_history 1,2,3,4,5,6,7 &&
	DATABASE_URL="$DB" test_expect_code 0 releases_in "$A" --json &&
	json_check "$OUT" "d[\"database\"][\"version\"] == \"007\" and d[\"database\"][\"release\"] == \"v3.0.0\"" &&
	json_check "$OUT" "[r[\"tag\"] for r in d[\"releases\"] if r[\"database\"]] == [\"v3.0.0\"]"
'

test_expect_success 'with a database that cannot be reached: exit 6' '
	test_expect_code 6 releases_in "$A" -d "host=$TEST_DIR/nowhere dbname=x" &&
	test_grep "pgward: error:" "$ERR"
'

test_expect_success 'shallow clone without tags (actions/checkout default): exit 2 with the fix' '
	git clone -q --depth 1 --no-tags "file://$A" "$TEST_DIR/shallow" &&
	test_expect_code 2 releases_in "$TEST_DIR/shallow" &&
	test_grep "shallow and has no tags" "$ERR" &&
	test_grep "fetch-depth: 0" "$ERR" &&
	test_grep "git fetch --tags --unshallow" "$ERR" &&
	test_eq "" "$(cat "$OUT")" "stdout" &&
	test_expect_code 2 releases_in "$TEST_DIR/shallow" --json &&
	test_eq "" "$(cat "$OUT")" "stdout with --json"
'

test_expect_success 'shallow clone with a tag: listed, with the warning' '
	git clone -q --depth 1 --branch v3.0.0 "file://$A" "$TEST_DIR/shallow2" 2>/dev/null &&
	test_expect_code 0 releases_in "$TEST_DIR/shallow2" &&
	test_grep "^v3.0.0 .* 007$" "$OUT" &&
	test_grep "warning: this clone is shallow: tags on commits it does not have are missing" "$ERR" &&
	test_grep "fetch-depth: 0" "$ERR" &&
	test_expect_code 0 releases_in "$TEST_DIR/shallow2" --json &&
	json_check "$OUT" "d[\"shallow\"] is True and \"fetch-depth: 0\" in d[\"note\"]"
'

test_expect_success 'the fix: git fetch --tags --unshallow, then every release' '
	git -C "$TEST_DIR/shallow" fetch -q --tags --unshallow &&
	test_expect_code 0 releases_in "$TEST_DIR/shallow" &&
	tags_and_versions >"$TEST_DIR/got.order" &&
	test_cmp "$TEST_DIR/expect.order" "$TEST_DIR/got.order" &&
	test_grep ! "shallow" "$ERR"
'

test_expect_success 'not in a repository: exit 2 naming the dir' '
	mkdir -p "$TEST_DIR/norepo/migrations" &&
	test_expect_code 2 releases_in "$TEST_DIR/norepo" &&
	test_grep "pgward: error: migrations dir .*norepo/migrations. is not in a git repository" "$ERR" &&
	test_grep "hint: .*clone" "$ERR" &&
	test_eq "" "$(cat "$OUT")" "stdout"
'

test_expect_success 'a repository without tags: exit 0, no release, and why' '
	git init -q -b main "$C" && mig "$C" migrations 001 &&
	commit "$C" 01 "001" &&
	test_expect_code 0 releases_in "$C" &&
	test_grep "^no release (no tag matching .v\*.)$" "$OUT" &&
	test_grep "warning: this repository has no tags" "$ERR" &&
	test_expect_code 0 releases_in "$C" --json &&
	json_check "$OUT" "d[\"releases\"] == [] and \"no tags\" in d[\"note\"]"
'

test_expect_success '--tag-pattern: other tag names, ordered as versions' '
	git -C "$C" tag release-1.10 && git -C "$C" tag release-1.2 &&
	git -C "$C" tag release-1.10-rc2 && git -C "$C" tag release-1.10-rc10 &&
	test_expect_code 0 releases_in "$C" &&
	test_grep "none of the 4 tags matches .v\*.: .*--tag-pattern" "$ERR" &&
	test_expect_code 0 releases_in "$C" --tag-pattern "release-*" &&
	awk "NR > 1 { print \$1 }" "$OUT" | tr "\n" " " >"$TEST_DIR/got" &&
	test_eq "release-1.2 release-1.10-rc2 release-1.10-rc10 release-1.10 " "$(cat "$TEST_DIR/got")" "order" &&
	test_grep ! "warning" "$ERR" &&
	printf "[git]\ntag_pattern = release-1.2*\n" >"$TEST_DIR/git.ini" &&
	test_expect_code 0 "$PGWARD" -C "$TEST_DIR/git.ini" --migrations "$C/migrations" releases &&
	test_eq 2 "$(wc -l <"$OUT")" "rows with [git] tag_pattern"
'

test_expect_success TOOL 'a repository without a commit: releases exit 0, head exit 2' '
	git init -q -b main "$TEST_DIR/empty" && mkdir -p "$TEST_DIR/empty/migrations" &&
	test_expect_code 0 releases_in "$TEST_DIR/empty" &&
	test_grep "no tags" "$ERR" &&
	test_expect_code 2 "$TOOL" head "$TEST_DIR/empty/migrations" &&
	test_grep "has no commit yet" "$ERR"
'

if [ "$(id -u)" = 0 ] && id postgres >/dev/null 2>&1; then
	test_set_prereq CHOWN
fi

test_expect_success CHOWN 'a checkout owned by another user: exit 2 with the safe.directory fix' '
	git clone -q "file://$A" "$TEST_DIR/owned" &&
	chown -R postgres "$TEST_DIR/owned" &&
	test_expect_code 2 releases_in "$TEST_DIR/owned" &&
	test_grep "cannot read the git repository at .*/owned.: it belongs to another user" "$ERR" &&
	test_grep "git config --global --add safe.directory .*/owned" "$ERR" &&
	git config --global --add safe.directory "$(cd "$TEST_DIR/owned" && pwd -P)" &&
	test_expect_code 0 releases_in "$TEST_DIR/owned" &&
	test_grep "^v3.0.0 .* 007$" "$OUT"
'

if unshare -m true 2>/dev/null; then
	test_set_prereq UNSHARE
fi

test_expect_success UNSHARE 'libgit2 missing: exit 2 naming the Debian package' '
	lib=$(ldconfig -p | awk "/libgit2\\.so\\.1\\.5 / { print \$NF; exit }") &&
	lib=$(readlink -f "$lib") && test -f "$lib" &&
	test_expect_code 2 unshare -m sh -c "mount --bind /dev/null \"\$0\" && exec \"\$@\"" \
		"$lib" "$PGWARD" --migrations "$A/migrations" releases &&
	test_grep "libgit2 is not available" "$ERR" &&
	test_grep "apt-get install libgit2-1.5" "$ERR"
'

test_done
