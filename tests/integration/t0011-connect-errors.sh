#!/bin/bash
# Could not start: an unreachable database or a wrong password is exit 6;
# a missing migrations dir is exit 2; each has its own clear message, and
# none prints the password.
. "$(dirname "$0")/lib.sh"

grant_pw_role
WRONG=wr0ngpassw0rd
write_migration 001_t.sql <<'EOF'
-- migrate:up
CREATE TABLE t (id int);
-- migrate:down
DROP TABLE t;
EOF

test_expect_success 'a socket dir that does not exist: exit 6' '
	test_expect_code 6 pgward -d "host=$TEST_DIR/no-such-dir dbname=$PGDATABASE" up &&
	test_grep "pgward: error:" "$ERR" &&
	cp "$ERR" unreachable.err &&
	test_expect_code 6 pgward -d "host=$TEST_DIR/no-such-dir dbname=$PGDATABASE" status &&
	test_expect_code 6 pgward -d "host=$TEST_DIR/no-such-dir dbname=$PGDATABASE" down &&
	test_expect_code 6 pgward -d "host=$TEST_DIR/no-such-dir dbname=$PGDATABASE" history
'

test_expect_success 'PGHOST pointing nowhere: exit 6' '
	PGHOST=$TEST_DIR/no-such-dir test_expect_code 6 pgward up
'

test_expect_success 'a database that does not exist: exit 6' '
	test_expect_code 6 pgward -d "dbname=pgw_no_such_db" up
'

test_expect_success 'a wrong password in key=value form: exit 6, password not shown' '
	test_expect_code 6 pgward -d "$(pw_kv $WRONG)" up &&
	test_grep "pgward: error:" "$ERR" &&
	cp "$ERR" auth.err &&
	no_secret $WRONG "$OUT" "$ERR"
'

test_expect_success 'a wrong password in a URL: exit 6, password not shown' '
	test_expect_code 6 pgward -v -d "$(pw_url $WRONG)" status &&
	no_secret $WRONG "$OUT" "$ERR"
'

test_expect_success 'a wrong PGPASSWORD: exit 6, password not shown' '
	PGUSER=pgw_pw PGPASSWORD=$WRONG test_expect_code 6 pgward up &&
	no_secret $WRONG "$OUT" "$ERR"
'

test_expect_success 'no password at all for a password role: exit 6' '
	PGUSER=pgw_pw test_expect_code 6 pgward up
'

test_expect_success 'nothing was changed by any of them' '
	! table_exists public.t &&
	expect_history ""
'

test_expect_success 'a missing migrations dir: exit 2 naming the dir' '
	test_expect_code 2 "$PGWARD" --migrations "$TEST_DIR/no-such-migrations" up &&
	test_grep "pgward: error:" "$ERR" &&
	test_grep -F no-such-migrations "$ERR" &&
	cp "$ERR" nodir.err &&
	! table_exists public.t
'

test_expect_success 'no ./migrations and no setting: exit 2' '
	mkdir elsewhere &&
	(cd elsewhere && test_expect_code 2 "$PGWARD" up) &&
	test_grep "pgward: error:" "$ERR" &&
	test_grep -F migrations "$ERR"
'

test_expect_success 'the three failures have three different messages' '
	head -n 1 unreachable.err >m1 &&
	head -n 1 auth.err >m2 &&
	head -n 1 nodir.err >m3 &&
	cat m1 m2 m3 &&
	! cmp -s m1 m2 &&
	! cmp -s m2 m3 &&
	! cmp -s m1 m3 &&
	test_grep -i -E "connect|reach|no such|socket" m1 &&
	test_grep -i -E "auth|password" m2
'

test_expect_success 'the wrong password never appeared in any output' '
	no_secret $WRONG
'

test_done
