#!/bin/bash
# pgward new NAME: next version, padded like the existing files, a template
# with the three sections, the name cleaned up, the path printed.
. "$(dirname "$0")/lib.sh"

test_expect_success 'in an empty dir the first migration is 001' '
	test_expect_code 0 pgward new create_users &&
	test -f "$MIG/001_create_users.sql" &&
	test_grep -F "001_create_users.sql" "$OUT" &&
	test_eq 1 "$(ls "$MIG" | wc -l)" "files"
'

test_expect_success 'the template has the three sections' '
	test_grep "^-- migrate:up" "$MIG/001_create_users.sql" &&
	test_grep "^-- migrate:down" "$MIG/001_create_users.sql" &&
	test_grep "^-- migrate:verify" "$MIG/001_create_users.sql"
'

test_expect_success 'the printed path is the file' '
	p=$(grep -o "[^ ]*001_create_users.sql" "$OUT" | head -n 1) &&
	test -f "$p" || test -f "$MIG/$p"
'

test_expect_success 'after 006 comes 007' '
	for n in 2 3 4 5 6; do
		printf -- "-- migrate:up\nSELECT 1;\n-- migrate:down\nSELECT 1;\n" >"$MIG/00${n}_m$n.sql" || return 1
	done &&
	test_expect_code 0 pgward new next &&
	test -f "$MIG/007_next.sql" &&
	test_eq 7 "$(ls "$MIG" | wc -l)" "files"
'

test_expect_success 'the name is lower-cased and other characters become _' '
	test_expect_code 0 pgward new "Add Users-Email!" &&
	test -f "$MIG/008_add_users_email_.sql"
'

test_expect_success 'the padding follows the existing files (4 digits)' '
	MIG=$TEST_DIR/four && mkdir "$MIG" &&
	printf -- "-- migrate:up\nSELECT 1;\n" >"$MIG/0009_a.sql" &&
	test_expect_code 0 pgward new b &&
	test -f "$MIG/0010_b.sql"
'

test_expect_success 'past 999 the number grows a digit' '
	MIG=$TEST_DIR/wide && mkdir "$MIG" &&
	printf -- "-- migrate:up\nSELECT 1;\n" >"$MIG/999_a.sql" &&
	test_expect_code 0 pgward new b &&
	test -f "$MIG/1000_b.sql"
'

test_expect_success 'after timestamped files the new one gets the UTC time' '
	MIG=$TEST_DIR/stamps && mkdir "$MIG" &&
	printf -- "-- migrate:up\nSELECT 1;\n" >"$MIG/20240101000000_a.sql" &&
	before=$(date -u +%Y%m%d%H%M%S) &&
	test_expect_code 0 pgward new b &&
	after=$(date -u +%Y%m%d%H%M%S) &&
	f=$(cd "$MIG" && ls *_b.sql) &&
	v=${f%%_*} &&
	echo "new file $f, between $before and $after" &&
	test ${#v} = 14 &&
	test "$v" -ge "$before" && test "$v" -le "$after"
'

test_expect_success 'the new migration is a valid one: up and down work' '
	MIG=$TEST_DIR/valid && mkdir "$MIG" &&
	test_expect_code 0 pgward new first &&
	f=$(ls "$MIG") &&
	python3 - "$MIG/$f" <<-\EOF &&
	import re, sys
	p = sys.argv[1]
	s = open(p).read()
	s = re.sub(r"(-- migrate:up[^\n]*\n)", r"\1CREATE TABLE from_template (id int);\n", s, 1)
	s = re.sub(r"(-- migrate:down[^\n]*\n)", r"\1DROP TABLE from_template;\n", s, 1)
	s = re.sub(r"(-- migrate:verify[^\n]*\n)", r"\1SELECT true;\n", s, 1)
	open(p, "w").write(s)
	EOF
	cat "$MIG/$f" &&
	test_expect_code 0 pgward up &&
	table_exists public.from_template &&
	test_expect_code 0 pgward down &&
	! table_exists public.from_template
'

test_done
