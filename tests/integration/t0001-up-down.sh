#!/bin/bash
# up and down --to 0 on an empty database and on one with data; up, down,
# up again gives the same schema; nothing pending is a no-op.
. "$(dirname "$0")/lib.sh"

write_migration 001_users.sql <<'EOF'
-- migrate:up
CREATE TABLE users (
	id bigserial PRIMARY KEY,
	email text NOT NULL UNIQUE,
	deleted_at timestamptz
);
-- migrate:down
DROP TABLE users;
EOF
write_migration 002_posts.sql <<'EOF'
-- migrate:up
CREATE TABLE posts (
	id bigserial PRIMARY KEY,
	user_id bigint NOT NULL REFERENCES users (id),
	body text NOT NULL CHECK (body <> '')
);
CREATE INDEX posts_user_id ON posts (user_id);
-- migrate:down
DROP TABLE posts;
EOF
write_migration 003_users_name.sql <<'EOF'
-- migrate:up
ALTER TABLE users ADD COLUMN name text NOT NULL DEFAULT '';
CREATE VIEW active_users AS SELECT id, email, name FROM users WHERE deleted_at IS NULL;
-- migrate:down
DROP VIEW active_users;
ALTER TABLE users DROP COLUMN name;
EOF

test_expect_success 'status on an empty database lists three pending' '
	test_expect_code 0 pgward status &&
	test_grep 001_users "$OUT" &&
	test_grep 003_users_name "$OUT"
'

test_expect_success 'up applies every migration on an empty database' '
	pg_dump_clean --schema-only --schema=public >empty.public &&
	test_expect_code 0 pgward up &&
	table_exists public.users &&
	table_exists public.posts &&
	table_exists public.active_users &&
	column_exists public.users name &&
	test_eq t "$(psql_val "SELECT indexrelid::regclass::text = '\''posts_user_id'\''
		FROM pg_index WHERE indrelid = '\''posts'\''::regclass AND NOT indisprimary")" &&
	expect_history 1,2,3 &&
	schema_dump after-up.sql
'

test_expect_success 'history lists them oldest first' '
	test_expect_code 0 pgward history &&
	test_eq "users posts users_name" \
		"$(grep -o -E "users_name|posts|users" "$OUT" | tr "\n" " " | sed "s/ $//")"
'

test_expect_success 'a second up is a no-op that says so' '
	db_snapshot before &&
	test_expect_code 0 pgward up &&
	cat "$OUT" "$ERR" >all &&
	test_grep "nothing to do: database at version 003" all &&
	db_snapshot after &&
	test_cmp before after
'

test_expect_success 'down --to 0 reverts everything' '
	expect_history 1,2,3 &&
	test_expect_code 0 pgward down --to 0 &&
	! table_exists public.users &&
	! table_exists public.posts &&
	! table_exists public.active_users &&
	expect_history "" &&
	pg_dump_clean --schema-only --schema=public >down.public &&
	test_cmp empty.public down.public
'

test_expect_success 'up after down gives the same schema as the first up' '
	test_expect_code 0 pgward up &&
	expect_history 1,2,3 &&
	schema_dump after-second-up.sql &&
	test_cmp after-up.sql after-second-up.sql
'

test_expect_success 'set up a database with data' '
	test_expect_code 0 pgward down --to 0 &&
	psql_run "CREATE TABLE legacy (id int PRIMARY KEY, v text);
		INSERT INTO legacy SELECT g, md5(g::text) FROM generate_series(1, 1000) g" &&
	psql_val "SELECT md5(string_agg(v, '\'','\'' ORDER BY id)) FROM legacy" >legacy.md5
'

test_expect_success 'up on a database with data keeps the data' '
	test_expect_code 0 pgward up --to 2 &&
	expect_history 1,2 &&
	psql_run "INSERT INTO users (email) SELECT '\''u'\'' || g || '\''@example.com'\''
			FROM generate_series(1, 50) g;
		INSERT INTO posts (user_id, body) SELECT id, '\''hello'\'' FROM users" &&
	test_expect_code 0 pgward up &&
	expect_history 1,2,3 &&
	test_eq 50 "$(psql_val "SELECT count(*) FROM active_users WHERE name = '\'''\''")" &&
	test_eq 50 "$(psql_val "SELECT count(*) FROM posts")" &&
	psql_val "SELECT md5(string_agg(v, '\'','\'' ORDER BY id)) FROM legacy" >legacy.now &&
	test_cmp legacy.md5 legacy.now
'

test_expect_success 'down one step on a database with data keeps the rows' '
	test_expect_code 0 pgward down &&
	expect_history 1,2 &&
	! column_exists public.users name &&
	test_eq 50 "$(psql_val "SELECT count(*) FROM users")"
'

test_expect_success 'down --to 0 with data leaves tables it does not own alone' '
	expect_history 1,2 &&
	test_expect_code 0 pgward down --to 0 &&
	expect_history "" &&
	! table_exists public.users &&
	psql_val "SELECT md5(string_agg(v, '\'','\'' ORDER BY id)) FROM legacy" >legacy.now &&
	test_cmp legacy.md5 legacy.now
'

test_expect_success 'up, down, up on a database with data gives the same schema' '
	test_expect_code 0 pgward up &&
	expect_history 1,2,3 &&
	schema_dump data-up1.sql &&
	test_expect_code 0 pgward down --to 0 &&
	expect_history "" &&
	test_expect_code 0 pgward up &&
	expect_history 1,2,3 &&
	schema_dump data-up2.sql &&
	test_cmp data-up1.sql data-up2.sql
'

test_expect_success 'down with nothing applied changes nothing' '
	test_expect_code 0 pgward down --to 0 &&
	expect_history "" &&
	! table_exists public.users &&
	db_snapshot before &&
	test_expect_code 0 pgward down &&
	db_snapshot after &&
	test_cmp before after &&
	expect_history ""
'

test_done
