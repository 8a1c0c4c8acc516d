#!/bin/bash
# Releases from git tags in the engine: up/down --release read the tag's
# tree, the history records commit and tag, status says where database and
# code stand, and check keeps released migrations as they were released.
. "$(dirname "$0")/lib.sh"

REPO="$TEST_DIR/repo"
M="$REPO/db/migrations"

mig() { # mig FILE TABLE
	printf -- '-- migrate:up\nCREATE TABLE %s (id int);\n-- migrate:down\nDROP TABLE %s;\n' "$2" "$2" >"$M/$1"
}
commit() { git -C "$REPO" add -A && git -C "$REPO" commit -q -m "$1"; }
rp() { "$PGWARD" --migrations "$M" "$@"; }

test_expect_success 'set up: a repository with releases v1.0.0 (010, 020), v1.1.0 (030), v2.0.0 (040; 030 deleted later)' '
	mkdir -p "$M" &&
	git init -q "$REPO" &&
	git -C "$REPO" config user.email ci@example.com &&
	git -C "$REPO" config user.name CI &&
	mig 010_users.sql users && mig 020_orders.sql orders && commit one &&
	git -C "$REPO" tag v1.0.0 &&
	mig 030_items.sql items && commit two &&
	git -C "$REPO" tag -a v1.1.0 -m "release 1.1" &&
	mig 040_tags.sql tags && commit three &&
	git -C "$REPO" tag v2.0.0 &&
	git -C "$REPO" rm -q "db/migrations/030_items.sql" "db/migrations/040_tags.sql" && commit "drop two files" &&
	test_eq 2 "$(ls "$M" | wc -l)" "files in the working tree"
'

test_expect_success 'up --release v2.0.0 applies the tag'\''s files, not the working tree'\''s' '
	test_expect_code 0 rp up --release v2.0.0 &&
	test_grep "database now at version 040" "$OUT" &&
	table_exists public.items && table_exists public.tags
'

test_expect_success 'the history records the commit and tag each migration was read from' '
	test_eq "$(git -C "$REPO" rev-parse "v2.0.0^{commit}")" \
		"$(psql_val "SELECT git_commit FROM pgward.migrations WHERE version = 40")" "commit" &&
	test_eq "v2.0.0 v2.0.0 v2.0.0 v2.0.0" \
		"$(psql_val "SELECT string_agg(git_tag, '\'' '\'' ORDER BY version) FROM pgward.migrations")" "tags"
'

test_expect_success 'down --release v1.0.0 goes past files the tree no longer has, with the stored down SQL' '
	test_expect_code 0 rp down --release v1.0.0 &&
	test_grep "database now at version 020" "$OUT" &&
	! table_exists public.items && ! table_exists public.tags &&
	table_exists public.orders
'

test_expect_success 'deploy --release of an older release without --allow-down: exit 2, nothing changed; with it, down to that release' '
	test_expect_code 0 rp --backup-dir "$TEST_DIR/bk" deploy --release v2.0.0 &&
	test_grep "succeeded (020 -> 040)" "$OUT" &&
	db_snapshot "$TEST_DIR/before" &&
	test_expect_code 2 rp --backup-dir "$TEST_DIR/bk" deploy --release v1.1.0 &&
	test_grep "allow-down" "$ERR" &&
	db_snapshot "$TEST_DIR/after" &&
	test_cmp "$TEST_DIR/before" "$TEST_DIR/after" &&
	test_expect_code 0 rp --backup-dir "$TEST_DIR/bk" deploy --release v1.0.0 --allow-down &&
	test_grep "succeeded (040 -> 020)" "$OUT" &&
	! table_exists public.items && table_exists public.orders
'

test_expect_success '--release with --to is a usage error; an unknown release is exit 2 naming it' '
	test_expect_code 2 rp up --release v1.0.0 --to 10 &&
	test_expect_code 2 rp up --release v9.9.9 &&
	test_grep "no release '\''v9.9.9'\''" "$ERR"
'

test_expect_success 'status: the release the database is at and what HEAD expects' '
	test_expect_code 0 rp status &&
	test_grep "database at 020 (release v1.0.0); code at HEAD expects 020" "$OUT" &&
	mig 050_notes.sql notes &&
	test_expect_code 0 rp status &&
	test_grep "1 pending: 050_notes" "$OUT" &&
	test_grep "working tree has an uncommitted migration 050_notes.sql" "$OUT" &&
	test_expect_code 0 rp --json status &&
	json_check "$OUT" "d[\"git\"][\"database_release\"] == \"v1.0.0\" and d[\"git\"][\"uncommitted\"] == [\"050_notes.sql\"]"
'

test_expect_success 'up from the working tree records HEAD for committed files, nothing for an uncommitted one' '
	commit four &&
	mig 060_more.sql more &&
	test_expect_code 0 rp up &&
	test_eq "$(git -C "$REPO" rev-parse HEAD)" \
		"$(psql_val "SELECT git_commit FROM pgward.migrations WHERE version = 50")" "050 commit" &&
	test_eq "" "$(psql_val "SELECT git_commit FROM pgward.migrations WHERE version = 60")" "060 commit" &&
	test_eq "" "$(psql_val "SELECT git_tag FROM pgward.migrations WHERE version = 50")" "no tag on HEAD" &&
	rm "$M/060_more.sql"
'

test_expect_success 'check: a released migration changed later is exit 5 naming file, release and commit, with the change' '
	sed -i "s/CREATE TABLE orders (id int);/CREATE TABLE orders (id bigint);/" "$M/020_orders.sql" &&
	test_expect_code 5 rp check --ephemeral --write &&
	test_grep "020_orders.sql was changed after release v2.0.0 (commit $(git -C "$REPO" rev-parse --short=12 "v2.0.0^{commit}"))" "$OUT" &&
	test_grep "    - CREATE TABLE orders (id int);" "$OUT" &&
	test_grep "    + CREATE TABLE orders (id bigint);" "$OUT" &&
	git -C "$REPO" checkout -q -- db/migrations/020_orders.sql
'

test_expect_success 'check: a released migration removed later is exit 5' '
	test_expect_code 5 rp check --ephemeral --write &&
	test_grep "030_items.sql is part of release v2.0.0 (commit [0-9a-f]*) but was removed" "$OUT"
'

test_expect_success 'check: a new migration sorting below the newest release is exit 5' '
	git -C "$REPO" checkout -q v2.0.0 -- db/migrations &&
	mig 035_late.sql late &&
	test_expect_code 5 rp check --ephemeral --write &&
	test_grep "035_late.sql: version 035 sorts below release v2.0.0" "$OUT" &&
	rm "$M/035_late.sql" &&
	test_expect_code 0 rp check --ephemeral --write
'

test_expect_success 'outside a git repository every non-release command still works' '
	mkdir -p "$TEST_DIR/plain" && cp "$M"/0*.sql "$TEST_DIR/plain/" &&
	"$PGBIN/createdb" "${PGDATABASE}_plain" &&
	plain() { "$PGWARD" -d "dbname=${PGDATABASE}_plain" --migrations "$TEST_DIR/plain" "$@"; } &&
	test_expect_code 0 plain status &&
	! test_grep "^release:" "$OUT" &&
	test_expect_code 0 plain up &&
	test_eq 0 "$("$PGBIN/psql" -XAtq -d "${PGDATABASE}_plain" -c "SELECT count(git_commit) FROM pgward.migrations")" "commits recorded" &&
	test_expect_code 0 plain check --ephemeral --write &&
	test_expect_code 2 plain up --release v1.0.0 &&
	test_grep "git" "$ERR"
'

test_done
