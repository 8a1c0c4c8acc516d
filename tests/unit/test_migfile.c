/* test_migfile.c - the migrations dir: names, order, sections, checksums,
 * and a clear message naming file and line for every kind of bad input. */
#include <stdlib.h>
#include <string.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "fixture.h"
#include "migfile.h"
#include "pgward.h"

/* SHA-256 of "CREATE TABLE t (id int);\n" (sha256sum). */
#define SUM_CREATE_T \
	"12c83f983b0c94b9c7010dcc92149589d5fb01a3d32af8f6d699545d95db9040"

struct fx {
	char *dir;
	struct pgw_migset *set;
	struct pgw_err err;
};

static int setup(void **state)
{
	struct fx *fx = calloc(1, sizeof(*fx));

	if (!fx)
		return -1;
	fx->dir = fixture_mkdtemp();
	if (!fx->dir) {
		free(fx);
		return -1;
	}
	*state = fx;
	return 0;
}

static int teardown(void **state)
{
	struct fx *fx = *state;

	pgw_migset_free(fx->set);
	fixture_rmdtemp(fx->dir);
	free(fx);
	return 0;
}

static void put(struct fx *fx, const char *name, const char *text)
{
	fixture_put(fx->dir, name, text);
}

/* Load and parse the dir, expecting success. */
static void load_ok(struct fx *fx)
{
	if (pgw_migset_load(&fx->set, fx->dir, &fx->err) != 0)
		fail_msg("load: %s", fx->err.msg);
	if (pgw_migset_parse(fx->set, &fx->err) != 0)
		fail_msg("parse: %s", fx->err.msg);
	assert_int_equal(fx->err.code, PGW_OK);
}

/* Load and parse the dir, expecting PGW_EINVAL with every one of the
 * NULL-terminated strings in the message. */
/* Forget the last load and its error, for the next case. */
static void fx_reset(struct fx *fx)
{
	pgw_migset_free(fx->set);
	fx->set = NULL;
	pgw_err_clear(&fx->err);
}

static void load_fails(struct fx *fx, ...)
{
	int rc = pgw_migset_load(&fx->set, fx->dir, &fx->err);
	const char *want;
	va_list ap;

	if (rc == 0) {
		assert_non_null(fx->set);
		rc = pgw_migset_parse(fx->set, &fx->err);
	} else {
		assert_null(fx->set);
	}
	assert_int_equal(rc, PGW_EINVAL);
	assert_int_equal(fx->err.code, PGW_EINVAL);
	va_start(ap, fx);
	while ((want = va_arg(ap, const char *)))
		if (!strstr(fx->err.msg, want))
			fail_msg("message '%s' lacks '%s'", fx->err.msg, want);
	va_end(ap);
}

static void test_migfile__sorted_by_numeric_version(void **state)
{
	struct fx *fx = *state;
	const struct pgw_migset *s;

	put(fx, "10_a.sql", "-- migrate:up\nCREATE TABLE a (id int);\n");
	put(fx, "2_b.sql", "-- migrate:up\nCREATE TABLE b (id int);\n");
	put(fx, "0005_c.sql", "-- migrate:up\nCREATE TABLE c (id int);\n");
	put(fx, "20261125093000_d.sql",
	    "-- migrate:up\nCREATE TABLE d (id int);\n");
	load_ok(fx);
	s = fx->set;
	assert_string_equal(s->dir, fx->dir);
	assert_int_equal(s->n, 4);
	assert_int_equal(s->v[0].version, 2);
	assert_string_equal(s->v[0].file, "2_b.sql");
	assert_int_equal(s->v[1].version, 5);
	assert_int_equal(s->v[2].version, 10);
	assert_string_equal(s->v[2].file, "10_a.sql");
	assert_int_equal(s->v[3].version, 20261125093000LL);
	/* the version as written keeps its padding */
	assert_string_equal(s->v[1].vtext, "0005");
	assert_string_equal(s->v[1].name, "c");
	assert_string_equal(s->v[1].file, "0005_c.sql");
	assert_non_null(strstr(s->v[1].path, "/0005_c.sql"));
	assert_null(s->v[1].up_file);
	assert_ptr_equal(pgw_migset_find(s, 10), &s->v[2]);
	assert_ptr_equal(pgw_migset_find(s, 5), &s->v[1]);
	assert_null(pgw_migset_find(s, 3));
}

static void test_migfile__sections_and_lines(void **state)
{
	struct fx *fx = *state;
	const struct pgw_migration *m;

	put(fx, "001_users.sql",
	    "-- migrate:up\n"                 /* 1 */
	    "CREATE TABLE a (id int);\n"      /* 2 */
	    "\n"                              /* 3 */
	    "CREATE TABLE b (id int);\n"      /* 4 */
	    "-- migrate:down\n"               /* 5 */
	    "DROP TABLE b;\n"                 /* 6 */
	    "DROP TABLE a;\n"                 /* 7 */
	    "-- migrate:verify\n"             /* 8 */
	    "SELECT count(*) = 0 FROM a;\n"); /* 9 */
	load_ok(fx);
	m = &fx->set->v[0];
	assert_string_equal(m->name, "users");
	assert_true(m->parsed);
	assert_true(m->up.present);
	assert_true(m->up.transactional);
	assert_string_equal(m->up.directives, "");
	assert_int_equal(m->up.n_stmts, 2);
	assert_int_equal(m->up.stmts[0].line, 2);
	assert_int_equal(m->up.stmts[1].line, 4);
	assert_string_equal(m->up.stmts[1].sql, "CREATE TABLE b (id int)");
	assert_true(m->down.present);
	assert_int_equal(m->down.n_stmts, 2);
	assert_int_equal(m->down.stmts[0].line, 6);
	assert_int_equal(m->down.stmts[1].line, 7);
	assert_true(m->verify.present);
	assert_int_equal(m->verify.n_stmts, 1);
	assert_int_equal(m->verify.stmts[0].line, 9);
	assert_false(m->destructive);
	assert_false(m->adds_enum_value);
}

static void test_migfile__checksum_is_sha256_of_up(void **state)
{
	struct fx *fx = *state;

	put(fx, "001_t.sql",
	    "-- migrate:up\n"
	    "CREATE TABLE t (id int);\n"
	    "-- migrate:down\n"
	    "DROP TABLE t;\n");
	load_ok(fx);
	assert_string_equal(fx->set->v[0].up.text,
	                    "CREATE TABLE t (id int);\n");
	assert_string_equal(fx->set->v[0].checksum, SUM_CREATE_T);
}

static void test_migfile__checksum_ignores_down_section(void **state)
{
	struct fx *fx = *state;

	put(fx, "001_t.sql",
	    "-- migrate:up\n"
	    "CREATE TABLE t (id int);\n"
	    "-- migrate:down\n"
	    "DROP TABLE t CASCADE;\n"
	    "-- migrate:verify\n"
	    "SELECT true;\n");
	load_ok(fx);
	assert_string_equal(fx->set->v[0].checksum, SUM_CREATE_T);
}

static void test_migfile__checksum_same_with_crlf(void **state)
{
	struct fx *fx = *state;

	put(fx, "001_t.sql",
	    "-- migrate:up\r\n"
	    "CREATE TABLE t (id int);\r\n"
	    "-- migrate:down\r\n"
	    "DROP TABLE t;\r\n");
	load_ok(fx);
	assert_string_equal(fx->set->v[0].up.text,
	                    "CREATE TABLE t (id int);\n");
	assert_string_equal(fx->set->v[0].checksum, SUM_CREATE_T);
	assert_int_equal(fx->set->v[0].down.n_stmts, 1);
	assert_string_equal(fx->set->v[0].down.stmts[0].sql, "DROP TABLE t");
}

static void test_migfile__checksum_changes_with_up(void **state)
{
	struct fx *fx = *state;

	put(fx, "001_t.sql",
	    "-- migrate:up\n"
	    "CREATE TABLE t (id int);\n"
	    "INSERT INTO t VALUES (1);\n");
	load_ok(fx);
	assert_string_equal(fx->set->v[0].checksum,
	                    "ca2e30c7bf4ae893a75714da225cab24092983eef3fc4de5"
	                    "988d59bbf722acfb");
}

static void test_migfile__pair_files_make_one_migration(void **state)
{
	struct fx *fx = *state;
	const struct pgw_migration *m;

	put(fx, "003_x.up.sql", "CREATE TABLE t (id int);\n");
	put(fx, "003_x.down.sql", "-- migrate:down\nDROP TABLE t;\n");
	put(fx, "003_x.verify.sql", "SELECT count(*) >= 0 FROM t;\n");
	put(fx, "004_y.sql", "-- migrate:up\nCREATE TABLE y (id int);\n");
	load_ok(fx);
	assert_int_equal(fx->set->n, 2);
	m = &fx->set->v[0];
	assert_int_equal(m->version, 3);
	assert_string_equal(m->vtext, "003");
	assert_string_equal(m->name, "x");
	assert_string_equal(m->up_file, "003_x.up.sql");
	assert_string_equal(m->down_file, "003_x.down.sql");
	assert_string_equal(m->verify_file, "003_x.verify.sql");
	assert_true(m->up.present);
	assert_true(m->down.present);
	assert_true(m->verify.present);
	assert_string_equal(m->up.text, "CREATE TABLE t (id int);\n");
	assert_string_equal(m->checksum, SUM_CREATE_T);
	assert_int_equal(m->up.stmts[0].line, 1);
	assert_string_equal(m->down.stmts[0].sql, "DROP TABLE t");
	assert_int_equal(m->down.stmts[0].line, 2);
	assert_int_equal(m->verify.n_stmts, 1);
	assert_int_equal(m->verify.stmts[0].line, 1);
	assert_int_equal(fx->set->v[1].version, 4);
}

static void test_migfile__pair_without_down_is_fine(void **state)
{
	struct fx *fx = *state;
	const struct pgw_migration *m;

	put(fx, "007_only_up.up.sql",
	    "-- migrate:up\nCREATE TABLE t (id int);\n");
	load_ok(fx);
	m = &fx->set->v[0];
	assert_string_equal(m->name, "only_up");
	assert_true(m->up.present);
	assert_false(m->down.present);
	assert_false(m->verify.present);
	assert_string_equal(m->checksum, SUM_CREATE_T);
	assert_int_equal(m->up.stmts[0].line, 2);
}

static void test_migfile__pair_error_names_pair_file_and_line(void **state)
{
	struct fx *fx = *state;

	put(fx, "003_x.up.sql", "CREATE TABLE t (id int);\n");
	put(fx, "003_x.down.sql",
	    "DROP TABLE t;\n"
	    "DROPP TABLE u;\n");
	load_fails(fx, "003_x.down.sql:2:", NULL);
}

static void test_migfile__schema_sql_and_other_files_ignored(void **state)
{
	struct fx *fx = *state;

	put(fx, "001_a.sql", "-- migrate:up\nCREATE TABLE a (id int);\n");
	put(fx, "schema.sql", "this is not SQL a migration would accept\n");
	put(fx, "README.md", "# migrations\n");
	put(fx, "notes.txt", "\\set and other junk\n");
	put(fx, "001_a.sql.orig", "junk\n");
	put(fx, ".hidden.sql", "junk\n");
	load_ok(fx);
	assert_int_equal(fx->set->n, 1);
	assert_string_equal(fx->set->v[0].file, "001_a.sql");
}

static void test_migfile__empty_dir_is_empty_set(void **state)
{
	struct fx *fx = *state;

	load_ok(fx);
	assert_non_null(fx->set);
	assert_int_equal(fx->set->n, 0);
}

static void test_migfile__duplicate_version(void **state)
{
	struct fx *fx = *state;

	put(fx, "001_a.sql", "-- migrate:up\nCREATE TABLE a (id int);\n");
	put(fx, "1_b.sql", "-- migrate:up\nCREATE TABLE b (id int);\n");
	load_fails(fx, "duplicate version 1", "001_a.sql", "1_b.sql", NULL);
}

static void test_migfile__duplicate_version_single_and_pair(void **state)
{
	struct fx *fx = *state;

	put(fx, "002_a.sql", "-- migrate:up\nCREATE TABLE a (id int);\n");
	put(fx, "002_a.down.sql", "DROP TABLE a;\n");
	load_fails(fx, "duplicate version 2", "002_a.sql", "002_a.down.sql",
	           NULL);
}

static void test_migfile__no_up_section(void **state)
{
	struct fx *fx = *state;

	put(fx, "001_a.sql", "-- migrate:down\nDROP TABLE a;\n");
	load_fails(fx, "001_a.sql", "no '-- migrate:up' section", NULL);
}

static void test_migfile__pair_down_without_up(void **state)
{
	struct fx *fx = *state;

	put(fx, "004_x.down.sql", "DROP TABLE x;\n");
	load_fails(fx, "004_x.down.sql", "004_x.up.sql", NULL);
}

static void test_migfile__up_section_without_statement(void **state)
{
	struct fx *fx = *state;

	put(fx, "001_a.sql",
	    "-- migrate:up\n"
	    "-- nothing yet\n"
	    "-- migrate:down\n"
	    "SELECT 1;\n");
	load_fails(fx, "001_a.sql:1:", "no statement", NULL);
}

static void test_migfile__unknown_directive(void **state)
{
	struct fx *fx = *state;

	put(fx, "001_a.sql",
	    "-- migrate:up\n"
	    "CREATE TABLE a (id int);\n"
	    "-- migrate:down transactoin:false\n"
	    "DROP TABLE a;\n");
	load_fails(fx, "001_a.sql:3:", "transactoin:false", NULL);
}

static void test_migfile__unknown_directive_on_up(void **state)
{
	struct fx *fx = *state;

	put(fx, "001_a.sql",
	    "-- migrate:up transactoin:false\n"
	    "CREATE TABLE a (id int);\n");
	load_fails(fx, "001_a.sql:1:", "unknown directive 'transactoin:false'",
	           NULL);
	assert_true(fx->err.hint[0] != '\0');
}

static void test_migfile__verify_takes_no_transaction_directive(void **state)
{
	struct fx *fx = *state;

	put(fx, "001_a.sql",
	    "-- migrate:up\n"
	    "CREATE TABLE a (id int);\n"
	    "-- migrate:verify transaction:false\n"
	    "SELECT true;\n");
	load_fails(fx, "001_a.sql:3:", "transaction:false", NULL);
}

static void test_migfile__unknown_section(void **state)
{
	struct fx *fx = *state;

	put(fx, "001_a.sql",
	    "-- migrate:up\n"
	    "CREATE TABLE a (id int);\n"
	    "-- migrate:sideways\n"
	    "SELECT 1;\n");
	load_fails(fx, "001_a.sql:3:", "migrate:sideways", NULL);
}

static void test_migfile__non_utf8_names_line(void **state)
{
	struct fx *fx = *state;

	put(fx, "001_a.sql",
	    "-- migrate:up\n"
	    "CREATE TABLE a (name text);\n"
	    "INSERT INTO a VALUES ('caf\xe9');\n");
	load_fails(fx, "001_a.sql:3:", "UTF-8", NULL);
}

static void test_migfile__valid_utf8_is_accepted(void **state)
{
	struct fx *fx = *state;

	put(fx, "001_a.sql",
	    "-- migrate:up\n"
	    "CREATE TABLE a (name text);\n"
	    "INSERT INTO a VALUES ('caf\xc3\xa9 \xe2\x82\xac "
	    "\xf0\x9f\x90\x98');\n");
	load_ok(fx);
	assert_int_equal(fx->set->v[0].up.n_stmts, 2);
}

static void test_migfile__empty_file(void **state)
{
	struct fx *fx = *state;

	put(fx, "001_a.sql", "\n  \n");
	load_fails(fx, "001_a.sql", "empty file", NULL);
}

static void test_migfile__zero_byte_file(void **state)
{
	struct fx *fx = *state;

	put(fx, "001_a.sql", "");
	load_fails(fx, "001_a.sql", "empty file", NULL);
}

static void test_migfile__name_without_version(void **state)
{
	struct fx *fx = *state;

	put(fx, "001_a.sql", "-- migrate:up\nCREATE TABLE a (id int);\n");
	put(fx, "foo.sql", "-- migrate:up\nCREATE TABLE foo (id int);\n");
	load_fails(fx, "foo.sql", "not named like a migration", NULL);
}

static void test_migfile__name_without_underscore_name(void **state)
{
	struct fx *fx = *state;

	put(fx, "002.sql", "-- migrate:up\nCREATE TABLE foo (id int);\n");
	load_fails(fx, "002.sql", NULL);
}

static void test_migfile__version_too_large(void **state)
{
	struct fx *fx = *state;

	put(fx, "99999999999999999999_big.sql",
	    "-- migrate:up\nCREATE TABLE foo (id int);\n");
	load_fails(fx, "99999999999999999999_big.sql", "64 bits", NULL);
}

static void test_migfile__sql_before_first_marker(void **state)
{
	struct fx *fx = *state;

	put(fx, "001_a.sql",
	    "-- a comment is fine\n"
	    "\n"
	    "CREATE TABLE a (id int);\n"
	    "-- migrate:up\n"
	    "CREATE TABLE b (id int);\n");
	load_fails(fx, "001_a.sql:3:", "before the first", NULL);
}

static void test_migfile__second_up_section(void **state)
{
	struct fx *fx = *state;

	put(fx, "001_a.sql",
	    "-- migrate:up\n"
	    "CREATE TABLE a (id int);\n"
	    "-- migrate:down\n"
	    "DROP TABLE a;\n"
	    "-- migrate:up\n"
	    "CREATE TABLE b (id int);\n");
	load_fails(fx, "001_a.sql:5:", "second '-- migrate:up'", "line 1",
	           NULL);
}

static void test_migfile__parse_error_names_line(void **state)
{
	struct fx *fx = *state;

	put(fx, "001_a.sql",
	    "-- migrate:up\n"
	    "CREATE TABLE a (id int);\n"
	    "\n"
	    "CREATE TABLEE b (id int);\n");
	load_fails(fx, "001_a.sql:4:", NULL);
}

static void test_migfile__parse_error_line_after_non_ascii_comment(void **state)
{
	struct fx *fx = *state;

	put(fx, "001_a.sql",
	    "-- migrate:up\n"
	    "-- \xe4\xbe\xa1\xe6\xa0\xbc\xe8\xa1\xa8\xe3\x82\x92"
	    "\xe4\xbd\x9c\xe6\x88\x90\xe3\x81\x99\xe3\x82\x8b"
	    "\xe3\x80\x82\xe9\x80\x9a\xe8\xb2\xa8\xe3\x81\x94"
	    "\xe3\x81\xa8\xe3\x81\xab\xe4\xb8\x80\xe3\x81\xa4"
	    "\xe3\x81\xae\xe8\xa1\x8c\xe3\x82\x92\xe6\x8c\x81"
	    "\xe3\x81\xa4\xe3\x80\x82\n"
	    "CREATE TABLE a (id int);\n"
	    "CREATE TABLEE b (id int);\n");
	load_fails(fx, "001_a.sql:4:", NULL);
}

static void test_migfile__parse_error_in_down_names_line(void **state)
{
	struct fx *fx = *state;

	put(fx, "001_a.sql",
	    "-- migrate:up\n"
	    "CREATE TABLE a (id int);\n"
	    "-- migrate:down\n"
	    "DROP TABLE a;\n"
	    "DROP TABLEE b;\n");
	load_fails(fx, "001_a.sql:5:", NULL);
}

static void test_migfile__psql_meta_command(void **state)
{
	struct fx *fx = *state;

	put(fx, "001_a.sql",
	    "-- migrate:up\n"
	    "CREATE TABLE a (id int);\n"
	    "\\set ON_ERROR_STOP on\n"
	    "CREATE TABLE b (id int);\n");
	load_fails(fx, "001_a.sql:3:", "meta-command", NULL);
}

static void test_migfile__transaction_control(void **state)
{
	struct fx *fx = *state;

	put(fx, "001_a.sql",
	    "-- migrate:up\n"
	    "BEGIN;\n"
	    "CREATE TABLE a (id int);\n"
	    "COMMIT;\n");
	load_fails(fx, "001_a.sql:2:", "transaction control", NULL);
}

static void test_migfile__concurrent_index_in_transaction(void **state)
{
	struct fx *fx = *state;

	put(fx, "001_a.sql",
	    "-- migrate:up\n"
	    "CREATE TABLE a (id int);\n"
	    "CREATE INDEX CONCURRENTLY IF NOT EXISTS ix_a "
	    "ON a (id);\n");
	load_fails(fx, "001_a.sql:3:", "CREATE INDEX CONCURRENTLY",
	           "cannot run inside a transaction", NULL);
}

static void test_migfile__vacuum_in_transaction(void **state)
{
	struct fx *fx = *state;

	put(fx, "001_a.sql",
	    "-- migrate:up\n"
	    "VACUUM a;\n");
	load_fails(fx, "001_a.sql:2:", "cannot run inside a transaction", NULL);
}

static void test_migfile__create_table_in_notx_section(void **state)
{
	struct fx *fx = *state;

	put(fx, "001_a.sql",
	    "-- migrate:up transaction:false\n"
	    "CREATE TABLE a (id int);\n");
	load_fails(fx, "001_a.sql:2:", "transaction:false", NULL);
}

static void test_migfile__concurrent_index_needs_if_not_exists(void **state)
{
	struct fx *fx = *state;

	put(fx, "001_a.sql",
	    "-- migrate:up transaction:false\n"
	    "CREATE INDEX CONCURRENTLY IF NOT EXISTS ix_a "
	    "ON a (id);\n"
	    "CREATE INDEX CONCURRENTLY ix_b ON a (id);\n");
	load_fails(fx, "001_a.sql:3:", "transaction:false", NULL);
}

static void test_migfile__notx_section_accepts_idempotent(void **state)
{
	struct fx *fx = *state;
	const struct pgw_migration *m;

	put(fx, "001_a.sql",
	    "-- migrate:up transaction:false\n"
	    "CREATE INDEX CONCURRENTLY IF NOT EXISTS ix_a ON app.a (id);\n"
	    "ALTER TYPE mood ADD VALUE IF NOT EXISTS 'meh';\n"
	    "VACUUM (ANALYZE) app.a;\n"
	    "-- migrate:down transaction:false\n"
	    "DROP INDEX CONCURRENTLY IF EXISTS app.ix_a;\n");
	load_ok(fx);
	m = &fx->set->v[0];
	assert_false(m->up.transactional);
	assert_string_equal(m->up.directives, " transaction:false");
	assert_int_equal(m->up.n_stmts, 3);
	assert_string_equal(m->up.stmts[0].index_name, "ix_a");
	assert_string_equal(m->up.stmts[0].index_schema, "app");
	assert_string_equal(m->up.stmts[0].index_table, "a");
	assert_false(m->down.transactional);
	assert_true(m->adds_enum_value);
	assert_false(m->destructive);
}

static void test_migfile__split_none_is_one_statement(void **state)
{
	struct fx *fx = *state;
	const struct pgw_migration *m;

	put(fx, "001_a.sql",
	    "-- migrate:up split:none\n"
	    "CREATE TABLE a (id int);\n"
	    "CREATE TABLE b (id int);\n");
	load_ok(fx);
	m = &fx->set->v[0];
	assert_true(m->up.split_none);
	assert_int_equal(m->up.n_stmts, 1);
	assert_int_equal(m->up.stmts[0].line, 2);
	/* not parsed, so taken to be destructive */
	assert_true(m->destructive);
}

static void test_migfile__destructive_from_up_statements(void **state)
{
	struct fx *fx = *state;

	put(fx, "001_create.sql",
	    "-- migrate:up\n"
	    "CREATE TABLE a (id int, c int);\n"
	    "INSERT INTO a VALUES (1, 2);\n"
	    "-- migrate:down\n"
	    "DROP TABLE a;\n");
	put(fx, "002_drop_col.sql",
	    "-- migrate:up\n"
	    "ALTER TABLE a DROP COLUMN c;\n"
	    "-- migrate:down\n"
	    "ALTER TABLE a ADD COLUMN c int;\n");
	put(fx, "003_backfill.sql",
	    "-- migrate:up\n"
	    "ALTER TABLE a ADD COLUMN d int;\n"
	    "UPDATE a SET d = 0;\n");
	put(fx, "004_enum.sql",
	    "-- migrate:up\n"
	    "ALTER TYPE mood ADD VALUE 'meh';\n");
	load_ok(fx);
	/* a DROP TABLE in the down section does not count */
	assert_false(fx->set->v[0].destructive);
	assert_false(fx->set->v[0].adds_enum_value);
	assert_true(fx->set->v[1].destructive);
	assert_true(fx->set->v[2].destructive);
	assert_false(fx->set->v[3].destructive);
	assert_true(fx->set->v[3].adds_enum_value);
}

static void test_migfile__load_alone_does_not_parse(void **state)
{
	struct fx *fx = *state;

	/* load is the cheap step: a bad statement surfaces at parse */
	put(fx, "001_a.sql", "-- migrate:up\nCREATE TABLEE a (id int);\n");
	assert_int_equal(pgw_migset_load(&fx->set, fx->dir, &fx->err), 0);
	assert_false(fx->set->v[0].parsed);
	assert_int_equal(pgw_migset_parse(fx->set, &fx->err), PGW_EINVAL);
	assert_non_null(strstr(fx->err.msg, "001_a.sql:2:"));
}

static void test_migfile__missing_dir(void **state)
{
	struct fx *fx = *state;
	char *missing = malloc(strlen(fx->dir) + sizeof("/nope"));

	assert_non_null(missing);
	assert_true(snprintf(missing, strlen(fx->dir) + sizeof("/nope"),
	                     "%s/nope", fx->dir) > 0);
	assert_int_equal(pgw_migset_load(&fx->set, missing, &fx->err),
	                 PGW_EINVAL);
	assert_null(fx->set);
	assert_non_null(strstr(fx->err.msg, missing));
	free(missing);
}

static void test_migfile__version_parse(void **state)
{
	struct pgw_err err = PGW_ERR_INIT;
	int64_t v = -1;

	(void)state;
	assert_int_equal(pgw_version_parse(&v, "001", &err), 0);
	assert_int_equal(v, 1);
	assert_int_equal(pgw_version_parse(&v, "9223372036854775807", &err), 0);
	assert_true(v == INT64_MAX);
	assert_int_equal(pgw_version_parse(&v, "9223372036854775808", &err),
	                 PGW_EINVAL);
	pgw_err_clear(&err);
	assert_int_equal(pgw_version_parse(&v, "1a", &err), PGW_EINVAL);
	pgw_err_clear(&err);
	assert_int_equal(pgw_version_parse(&v, "", &err), PGW_EINVAL);
}

/* batch:N: one DML statement with the :batch placeholder, kept as
 * written; a count section beside it. */
static void test_migfile__batch_section_is_parsed(void **state)
{
	struct fx *fx = *state;
	const struct pgw_migration *m;

	put(fx, "001_a.sql",
	    "-- migrate:up batch:500\n"
	    "UPDATE t SET v = v * 2, note = ':batch'\n"
	    " WHERE id IN (SELECT id FROM t WHERE NOT done LIMIT :batch);\n"
	    "-- migrate:count\n"
	    "SELECT count(*) FROM t WHERE NOT done;\n"
	    "-- migrate:down\n"
	    "UPDATE t SET v = v / 2;\n");
	load_ok(fx);
	m = &fx->set->v[0];
	assert_int_equal(m->up.batch, 500);
	assert_true(m->up.transactional);
	assert_int_equal(m->up.n_stmts, 1);
	assert_int_equal(m->up.stmts[0].line, 2);
	assert_string_equal(
	        m->up.stmts[0].sql,
	        "UPDATE t SET v = v * 2, note = ':batch'\n"
	        " WHERE id IN (SELECT id FROM t WHERE NOT done LIMIT :batch)");
	assert_true(m->destructive);
	assert_true(m->count.present);
	assert_int_equal(m->count.n_stmts, 1);
	assert_int_equal(m->count.stmts[0].line, 5);
	assert_int_equal(m->down.batch, 0);
}

static void test_migfile__batch_insert_select_and_delete(void **state)
{
	struct fx *fx = *state;

	put(fx, "001_a.sql",
	    "-- migrate:up batch:10\n"
	    "INSERT INTO b (id) SELECT id FROM a WHERE NOT EXISTS\n"
	    " (SELECT 1 FROM b WHERE b.id = a.id) ORDER BY id LIMIT :batch;\n");
	put(fx, "002_b.sql",
	    "-- migrate:up batch:10\n"
	    "WITH gone AS (SELECT id FROM a WHERE old LIMIT :batch)\n"
	    "DELETE FROM a USING gone WHERE a.id = gone.id;\n");
	load_ok(fx);
	assert_int_equal(fx->set->v[0].up.batch, 10);
	assert_false(fx->set->v[0].destructive);
	assert_true(fx->set->v[1].destructive);
}

/* The placeholder inside literals, quoted names and comments is text. */
static void test_migfile__batch_placeholder_outside_literals(void **state)
{
	struct fx *fx = *state;

	put(fx, "001_a.sql",
	    "-- migrate:up batch:10\n"
	    "UPDATE t SET a = ':batch', b = $q$ :batch $q$, \"c:batch\" = 1\n"
	    " /* LIMIT :batch */ WHERE true; -- :batch\n");
	load_fails(fx, "001_a.sql:2:", "no :batch placeholder", NULL);
}

static void test_migfile__batch_size_zero(void **state)
{
	struct fx *fx = *state;

	put(fx, "001_a.sql",
	    "-- a comment\n"
	    "-- migrate:up batch:0\n"
	    "UPDATE t SET v = 1 WHERE id IN (SELECT id FROM t LIMIT :batch);\n");
	load_fails(fx, "001_a.sql:2:", "batch:0", "from 1 to", NULL);
}

static void test_migfile__batch_size_not_a_number(void **state)
{
	struct fx *fx = *state;

	put(fx, "001_a.sql",
	    "-- migrate:up batch:1k\n"
	    "UPDATE t SET v = 1 WHERE id IN (SELECT id FROM t LIMIT :batch);\n");
	load_fails(fx, "001_a.sql:1:", "batch:1k", NULL);
	fx_reset(fx);
	put(fx, "001_a.sql",
	    "-- migrate:up batch:\n"
	    "UPDATE t SET v = 1 WHERE id IN (SELECT id FROM t LIMIT :batch);\n");
	load_fails(fx, "001_a.sql:1:", "N must be", NULL);
	fx_reset(fx);
	put(fx, "001_a.sql",
	    "-- migrate:up batch:99999999999999999999999\n"
	    "UPDATE t SET v = 1 WHERE id IN (SELECT id FROM t LIMIT :batch);\n");
	load_fails(fx, "001_a.sql:1:", "N must be", NULL);
}

static void test_migfile__batch_two_statements(void **state)
{
	struct fx *fx = *state;

	put(fx, "001_a.sql",
	    "-- migrate:up batch:10\n"
	    "UPDATE t SET v = 1 WHERE id IN (SELECT id FROM t LIMIT :batch);\n"
	    "\n"
	    "UPDATE u SET v = 1 WHERE id IN (SELECT id FROM u LIMIT :batch);\n");
	load_fails(fx, "001_a.sql:4:", "second statement", "UPDATE u SET",
	           NULL);
}

static void test_migfile__batch_not_dml(void **state)
{
	struct fx *fx = *state;

	put(fx, "001_a.sql",
	    "-- migrate:up batch:10\n"
	    "SELECT id FROM t LIMIT :batch;\n");
	load_fails(fx, "001_a.sql:2:", "not a data change", NULL);
	fx_reset(fx);
	put(fx, "001_a.sql",
	    "-- migrate:up batch:10\n"
	    "CREATE TABLE x AS SELECT id FROM t LIMIT :batch;\n");
	load_fails(fx, "001_a.sql:2:", "not a data change", NULL);
}

static void test_migfile__batch_without_placeholder(void **state)
{
	struct fx *fx = *state;

	put(fx, "001_a.sql",
	    "-- migrate:up batch:10\n"
	    "UPDATE t SET v = 1 WHERE id IN (SELECT id FROM t LIMIT 10);\n");
	load_fails(fx, "001_a.sql:2:", "no :batch placeholder", NULL);
}

static void test_migfile__batch_with_own_parameter(void **state)
{
	struct fx *fx = *state;

	put(fx, "001_a.sql",
	    "-- migrate:up batch:10\n"
	    "UPDATE t SET v = 1\n"
	    " WHERE v = $2 AND id IN (SELECT id FROM t LIMIT :batch);\n");
	load_fails(fx, "001_a.sql:3:", "'$2'", NULL);
}

static void test_migfile__batch_with_transaction_false(void **state)
{
	struct fx *fx = *state;

	put(fx, "001_a.sql",
	    "-- migrate:up transaction:false batch:10\n"
	    "UPDATE t SET v = 1 WHERE id IN (SELECT id FROM t LIMIT :batch);\n");
	load_fails(fx, "001_a.sql:1:", "transaction:false", NULL);
}

static void test_migfile__batch_on_down(void **state)
{
	struct fx *fx = *state;

	put(fx, "001_a.sql",
	    "-- migrate:up\n"
	    "CREATE TABLE t (id int);\n"
	    "-- migrate:down batch:10\n"
	    "DELETE FROM t WHERE id IN (SELECT id FROM t LIMIT :batch);\n");
	load_fails(fx, "001_a.sql:3:", "batch:10", NULL);
}

static void test_migfile__count_not_one_select(void **state)
{
	struct fx *fx = *state;

	put(fx, "001_a.sql",
	    "-- migrate:up batch:10\n"
	    "UPDATE t SET v = 1 WHERE id IN (SELECT id FROM t LIMIT :batch);\n"
	    "-- migrate:count\n"
	    "SELECT count(*) FROM t;\n"
	    "SELECT 1;\n");
	load_fails(fx, "001_a.sql:5:", "count section", NULL);
	fx_reset(fx);
	put(fx, "001_a.sql",
	    "-- migrate:up batch:10\n"
	    "UPDATE t SET v = 1 WHERE id IN (SELECT id FROM t LIMIT :batch);\n"
	    "-- migrate:count\n"
	    "DELETE FROM t;\n");
	load_fails(fx, "001_a.sql:4:", "count section", NULL);
	fx_reset(fx);
	put(fx, "001_a.sql",
	    "-- migrate:up batch:10\n"
	    "UPDATE t SET v = 1 WHERE id IN (SELECT id FROM t LIMIT :batch);\n"
	    "-- migrate:count\n"
	    "-- nothing\n");
	load_fails(fx, "001_a.sql:3:", "no query", NULL);
}

static void test_migfile__count_without_batch(void **state)
{
	struct fx *fx = *state;

	put(fx, "001_a.sql",
	    "-- migrate:up\n"
	    "UPDATE t SET v = 1;\n"
	    "-- migrate:count\n"
	    "SELECT count(*) FROM t;\n");
	load_fails(fx, "001_a.sql:3:", "batch:N", NULL);
}

/* A pair's up file may carry the count section. */
static void test_migfile__batch_pair_with_count(void **state)
{
	struct fx *fx = *state;
	const struct pgw_migration *m;

	put(fx, "001_a.up.sql",
	    "-- migrate:up batch:100\n"
	    "UPDATE t SET v = 1 WHERE id IN (SELECT id FROM t WHERE v <> 1 LIMIT :batch);\n"
	    "-- migrate:count\n"
	    "SELECT count(*) FROM t WHERE v <> 1;\n");
	put(fx, "001_a.down.sql", "SELECT 1;\n");
	load_ok(fx);
	m = &fx->set->v[0];
	assert_int_equal(m->up.batch, 100);
	assert_int_equal(m->count.n_stmts, 1);
	assert_int_equal(m->count.stmts[0].line, 4);
}

/* The checksum is the up body's: batch:N is tuning, not the migration. */
static void test_migfile__batch_size_not_in_checksum(void **state)
{
	struct fx *fx = *state;
	char first[65];

	put(fx, "001_a.sql",
	    "-- migrate:up batch:100\n"
	    "UPDATE t SET v = 1 WHERE id IN (SELECT id FROM t LIMIT :batch);\n");
	load_ok(fx);
	memcpy(first, fx->set->v[0].checksum, sizeof(first));
	pgw_migset_free(fx->set);
	fx->set = NULL;
	put(fx, "001_a.sql",
	    "-- migrate:up batch:5000\n"
	    "UPDATE t SET v = 1 WHERE id IN (SELECT id FROM t LIMIT :batch);\n");
	load_ok(fx);
	assert_string_equal(first, fx->set->v[0].checksum);
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_migfile__sorted_by_numeric_version),
		T(test_migfile__sections_and_lines),
		T(test_migfile__checksum_is_sha256_of_up),
		T(test_migfile__checksum_ignores_down_section),
		T(test_migfile__checksum_same_with_crlf),
		T(test_migfile__checksum_changes_with_up),
		T(test_migfile__pair_files_make_one_migration),
		T(test_migfile__pair_without_down_is_fine),
		T(test_migfile__pair_error_names_pair_file_and_line),
		T(test_migfile__schema_sql_and_other_files_ignored),
		T(test_migfile__duplicate_version),
		T(test_migfile__duplicate_version_single_and_pair),
		T(test_migfile__no_up_section),
		T(test_migfile__pair_down_without_up),
		T(test_migfile__up_section_without_statement),
		T(test_migfile__unknown_directive),
		T(test_migfile__unknown_directive_on_up),
		T(test_migfile__verify_takes_no_transaction_directive),
		T(test_migfile__unknown_section),
		T(test_migfile__non_utf8_names_line),
		T(test_migfile__valid_utf8_is_accepted),
		T(test_migfile__empty_file),
		T(test_migfile__zero_byte_file),
		T(test_migfile__name_without_version),
		T(test_migfile__name_without_underscore_name),
		T(test_migfile__version_too_large),
		T(test_migfile__sql_before_first_marker),
		T(test_migfile__second_up_section),
		T(test_migfile__parse_error_names_line),
		T(test_migfile__parse_error_line_after_non_ascii_comment),
		T(test_migfile__parse_error_in_down_names_line),
		T(test_migfile__psql_meta_command),
		T(test_migfile__transaction_control),
		T(test_migfile__concurrent_index_in_transaction),
		T(test_migfile__vacuum_in_transaction),
		T(test_migfile__create_table_in_notx_section),
		T(test_migfile__concurrent_index_needs_if_not_exists),
		T(test_migfile__notx_section_accepts_idempotent),
		T(test_migfile__split_none_is_one_statement),
		T(test_migfile__destructive_from_up_statements),
		T(test_migfile__load_alone_does_not_parse),
		T(test_migfile__missing_dir),
		T(test_migfile__version_parse),
		T(test_migfile__batch_section_is_parsed),
		T(test_migfile__batch_insert_select_and_delete),
		T(test_migfile__batch_placeholder_outside_literals),
		T(test_migfile__batch_size_zero),
		T(test_migfile__batch_size_not_a_number),
		T(test_migfile__batch_two_statements),
		T(test_migfile__batch_not_dml),
		T(test_migfile__batch_without_placeholder),
		T(test_migfile__batch_with_own_parameter),
		T(test_migfile__batch_with_transaction_false),
		T(test_migfile__batch_on_down),
		T(test_migfile__count_not_one_select),
		T(test_migfile__count_without_batch),
		T(test_migfile__batch_pair_with_count),
		T(test_migfile__batch_size_not_in_checksum),
		/* last, so that a sanitizer abort in it cannot hide the
		 * results of the others */
		T(test_migfile__empty_dir_is_empty_set),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
