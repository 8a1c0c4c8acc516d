/* test_sqlparse.c - splitting and classifying SQL with PostgreSQL's own
 * grammar: statements, lines, flags, and the messages for bad input. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "pgward.h"
#include "sqlparse.h"

/* The flags of a text that must hold exactly one statement. */
static unsigned flags_of(const char *sql)
{
	struct pgw_err err = PGW_ERR_INIT;
	struct pgw_stmt *st = NULL;
	size_t n = 0;
	unsigned flags;

	if (pgw_sql_split(&st, &n, sql, 1, "t.sql", &err) != 0)
		fail_msg("'%s' did not parse: %s", sql, err.msg);
	if (n != 1)
		fail_msg("'%s' gave %zu statements, not 1", sql, n);
	flags = st[0].flags;
	pgw_stmts_free(st, n);
	return flags;
}

/* Split `sql` expecting PGW_EINVAL; the message is left in *err. */
static void split_fails(const char *sql, int first_line, struct pgw_err *err)
{
	struct pgw_stmt *st = NULL;
	size_t n = 0;

	assert_int_equal(
	        pgw_sql_split(&st, &n, sql, first_line, "001_bad.sql", err),
	        PGW_EINVAL);
	assert_int_equal(err->code, PGW_EINVAL);
	assert_null(st);
	assert_int_equal(n, 0);
}

static char *summary(const char *sql)
{
	struct pgw_buf b = PGW_BUF_INIT;
	char *s;

	pgw_stmt_summary(&b, sql);
	s = pgw_buf_detach(&b);
	assert_non_null(s);
	return s;
}

static void test_sqlparse__split_counts_and_lines(void **state)
{
	struct pgw_err err = PGW_ERR_INIT;
	struct pgw_stmt *st = NULL;
	size_t n = 0;
	const char *sql = "CREATE TABLE a (\n"               /* 10 */
	                  "\tid int\n"                       /* 11 */
	                  ");\n"                             /* 12 */
	                  "-- a comment; with a semicolon\n" /* 13 */
	                  "/* block\n"                       /* 14 */
	                  "   comment; */\n"                 /* 15 */
	                  "INSERT INTO a VALUES (1);"        /* 16 */
	                  " INSERT INTO a VALUES (2);\n"     /* 16 */
	                  "\n"                               /* 17 */
	                  "  SELECT 1\n";                    /* 18 */

	(void)state;
	assert_int_equal(pgw_sql_split(&st, &n, sql, 10, "f.sql", &err), 0);
	assert_int_equal(n, 4);
	assert_string_equal(st[0].sql, "CREATE TABLE a (\n\tid int\n)");
	assert_int_equal(st[0].line, 10);
	assert_string_equal(st[1].sql, "INSERT INTO a VALUES (1)");
	assert_int_equal(st[1].line, 16);
	assert_string_equal(st[2].sql, "INSERT INTO a VALUES (2)");
	assert_int_equal(st[2].line, 16);
	/* the last statement needs no semicolon */
	assert_string_equal(st[3].sql, "SELECT 1");
	assert_int_equal(st[3].line, 18);
	pgw_stmts_free(st, n);
}

static void test_sqlparse__dollar_quoted_body_is_one_statement(void **state)
{
	struct pgw_err err = PGW_ERR_INIT;
	struct pgw_stmt *st = NULL;
	size_t n = 0;
	const char *sql =
	        "CREATE FUNCTION f() RETURNS int LANGUAGE plpgsql AS $fn$\n"
	        "BEGIN\n"
	        "  PERFORM 1;\n"
	        "  RETURN 2;\n"
	        "END;\n"
	        "$fn$;\n"
	        "SELECT f();\n";

	(void)state;
	assert_int_equal(pgw_sql_split(&st, &n, sql, 1, "f.sql", &err), 0);
	assert_int_equal(n, 2);
	assert_int_equal(st[0].line, 1);
	assert_non_null(strstr(st[0].sql, "RETURN 2;"));
	assert_non_null(strstr(st[0].sql, "END;\n$fn$"));
	assert_int_equal(st[1].line, 7);
	assert_string_equal(st[1].sql, "SELECT f()");
	/* a function body's BEGIN is no transaction control */
	assert_int_equal(st[0].flags & PGW_STMT_TX_CONTROL, 0);
	pgw_stmts_free(st, n);
}

static void test_sqlparse__lines_after_multibyte_text(void **state)
{
	struct pgw_err err = PGW_ERR_INIT;
	struct pgw_stmt *st = NULL;
	size_t n = 0;

	(void)state;
	assert_int_equal(
	        pgw_sql_split(&st, &n,
	                      "SELECT '\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"
	                      "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9';\n"
	                      "SELECT 2;\n"
	                      "SELECT 3;\n",
	                      1, "f.sql", &err),
	        0);
	assert_int_equal(n, 3);
	assert_string_equal(st[1].sql, "SELECT 2");
	assert_int_equal(st[1].line, 2);
	assert_string_equal(st[2].sql, "SELECT 3");
	assert_int_equal(st[2].line, 3);
	pgw_stmts_free(st, n);
}

static void test_sqlparse__empty_text_has_no_statement(void **state)
{
	struct pgw_err err = PGW_ERR_INIT;
	struct pgw_stmt *st = NULL;
	size_t n = 7;

	(void)state;
	assert_int_equal(pgw_sql_split(&st, &n, "-- only a comment\n\n", 1,
	                               "f.sql", &err),
	                 0);
	assert_int_equal(n, 0);
	pgw_stmts_free(st, n);
}

static void test_sqlparse__create_index_concurrently(void **state)
{
	struct pgw_err err = PGW_ERR_INIT;
	struct pgw_stmt *st = NULL;
	size_t n = 0;
	unsigned f;

	(void)state;
	f = flags_of("CREATE INDEX CONCURRENTLY ix_a ON a (id)");
	assert_true(f & PGW_STMT_NO_TX);
	assert_true(f & PGW_STMT_CONCURRENT_INDEX);
	assert_false(f & PGW_STMT_NOTX_OK);
	assert_false(f & PGW_STMT_DESTRUCTIVE);

	assert_int_equal(pgw_sql_split(&st, &n,
	                               "CREATE UNIQUE INDEX CONCURRENTLY IF "
	                               "NOT EXISTS ix_prices ON app.prices "
	                               "(symbol, at)",
	                               1, "f.sql", &err),
	                 0);
	assert_int_equal(n, 1);
	assert_int_equal(st[0].flags, PGW_STMT_NO_TX | PGW_STMT_NOTX_OK |
	                                      PGW_STMT_CONCURRENT_INDEX);
	assert_string_equal(st[0].index_name, "ix_prices");
	assert_string_equal(st[0].index_table, "prices");
	assert_string_equal(st[0].index_schema, "app");
	pgw_stmts_free(st, n);

	/* no schema written: index_schema stays NULL */
	assert_int_equal(
	        pgw_sql_split(&st, &n,
	                      "CREATE INDEX CONCURRENTLY IF NOT EXISTS "
	                      "ix_b ON b (x)",
	                      1, "f.sql", &err),
	        0);
	assert_string_equal(st[0].index_name, "ix_b");
	assert_string_equal(st[0].index_table, "b");
	assert_null(st[0].index_schema);
	pgw_stmts_free(st, n);
}

static void test_sqlparse__quoted_index_table_name(void **state)
{
	struct pgw_err err = PGW_ERR_INIT;
	struct pgw_stmt *st = NULL;
	size_t n = 0;

	(void)state;
	/* these are compared with the catalog (pg_class.relname) and quoted
	 * with format('%I') later: the names, not the quoted text */
	assert_int_equal(
	        pgw_sql_split(&st, &n,
	                      "CREATE INDEX CONCURRENTLY IF NOT EXISTS "
	                      "\"Ix\" ON \"App\".\"Prices\" (id)",
	                      1, "f.sql", &err),
	        0);
	assert_string_equal(st[0].index_name, "Ix");
	assert_string_equal(st[0].index_table, "Prices");
	assert_string_equal(st[0].index_schema, "App");
	pgw_stmts_free(st, n);
}

static void test_sqlparse__plain_create_index_is_transactional(void **state)
{
	struct pgw_err err = PGW_ERR_INIT;
	struct pgw_stmt *st = NULL;
	size_t n = 0;

	(void)state;
	assert_int_equal(pgw_sql_split(&st, &n, "CREATE INDEX ix ON a (id)", 1,
	                               "f.sql", &err),
	                 0);
	assert_int_equal(st[0].flags, 0);
	assert_null(st[0].index_name);
	pgw_stmts_free(st, n);
}

static void test_sqlparse__drop_index_concurrently(void **state)
{
	struct pgw_err err = PGW_ERR_INIT;
	struct pgw_stmt *st = NULL;
	size_t n = 0;

	(void)state;
	assert_int_equal(pgw_sql_split(&st, &n,
	                               "DROP INDEX CONCURRENTLY IF EXISTS "
	                               "app.ix_a",
	                               1, "f.sql", &err),
	                 0);
	assert_int_equal(n, 1);
	assert_int_equal(st[0].flags, PGW_STMT_NO_TX | PGW_STMT_NOTX_OK |
	                                      PGW_STMT_DROP_INDEX);
	assert_string_equal(st[0].index_name, "ix_a");
	assert_string_equal(st[0].index_schema, "app");
	assert_null(st[0].index_table);
	pgw_stmts_free(st, n);

	assert_int_equal(pgw_sql_split(&st, &n,
	                               "DROP INDEX CONCURRENTLY IF EXISTS ix_b",
	                               1, "f.sql", &err),
	                 0);
	assert_string_equal(st[0].index_name, "ix_b");
	assert_null(st[0].index_schema);
	pgw_stmts_free(st, n);

	/* without IF EXISTS it cannot be re-run: not for transaction:false */
	assert_int_equal(flags_of("DROP INDEX CONCURRENTLY ix_a"),
	                 PGW_STMT_NO_TX | PGW_STMT_DROP_INDEX);
	assert_int_equal(flags_of("DROP INDEX ix_a"), 0);
	assert_int_equal(flags_of("DROP INDEX IF EXISTS ix_a"), 0);
}

static void test_sqlparse__drop_is_destructive(void **state)
{
	(void)state;
	assert_int_equal(flags_of("DROP TABLE accounts"), PGW_STMT_DESTRUCTIVE);
	assert_int_equal(flags_of("DROP TABLE IF EXISTS a, b CASCADE"),
	                 PGW_STMT_DESTRUCTIVE);
	assert_int_equal(flags_of("DROP TYPE mood"), PGW_STMT_DESTRUCTIVE);
	assert_int_equal(flags_of("DROP SCHEMA app CASCADE"),
	                 PGW_STMT_DESTRUCTIVE);
	assert_int_equal(flags_of("DROP VIEW v"), 0);
	assert_int_equal(flags_of("DROP FUNCTION f()"), 0);
}

static void test_sqlparse__alter_table_destructive_subcommands(void **state)
{
	(void)state;
	assert_int_equal(flags_of("ALTER TABLE a DROP COLUMN c"),
	                 PGW_STMT_DESTRUCTIVE);
	assert_int_equal(flags_of("ALTER TABLE a ALTER COLUMN c TYPE bigint"),
	                 PGW_STMT_DESTRUCTIVE);
	assert_int_equal(flags_of("ALTER TABLE a ADD COLUMN d int, "
	                          "DROP COLUMN c"),
	                 PGW_STMT_DESTRUCTIVE);
	assert_int_equal(flags_of("ALTER TABLE a ADD COLUMN d int"), 0);
	assert_int_equal(flags_of("ALTER TABLE a ALTER COLUMN c SET NOT NULL"),
	                 0);
	assert_int_equal(flags_of("ALTER TABLE a RENAME COLUMN c TO d"), 0);
}

static void test_sqlparse__dml_destructive(void **state)
{
	(void)state;
	assert_int_equal(flags_of("TRUNCATE a"), PGW_STMT_DESTRUCTIVE);
	assert_int_equal(flags_of("DELETE FROM a WHERE id = 1"),
	                 PGW_STMT_DESTRUCTIVE);
	assert_int_equal(flags_of("UPDATE a SET x = 1"), PGW_STMT_DESTRUCTIVE);
	assert_int_equal(flags_of("CREATE TABLE a (id int primary key)"), 0);
	assert_int_equal(flags_of("INSERT INTO a VALUES (1)"), 0);
	assert_int_equal(flags_of("SELECT * FROM a"), 0);
}

static void test_sqlparse__add_enum_value(void **state)
{
	unsigned f;

	(void)state;
	f = flags_of("ALTER TYPE mood ADD VALUE 'meh'");
	assert_int_equal(f, PGW_STMT_ADD_ENUM_VALUE);
	f = flags_of("ALTER TYPE mood ADD VALUE IF NOT EXISTS 'meh' "
	             "BEFORE 'ok'");
	assert_int_equal(f, PGW_STMT_ADD_ENUM_VALUE | PGW_STMT_NOTX_OK);
	/* renaming a value adds none */
	assert_int_equal(flags_of("ALTER TYPE mood RENAME VALUE 'meh' TO 'so'"),
	                 0);
}

static void test_sqlparse__vacuum_and_analyze(void **state)
{
	(void)state;
	assert_int_equal(flags_of("VACUUM a"),
	                 PGW_STMT_NO_TX | PGW_STMT_NOTX_OK);
	assert_int_equal(flags_of("VACUUM (ANALYZE) a"),
	                 PGW_STMT_NO_TX | PGW_STMT_NOTX_OK);
	assert_int_equal(flags_of("ANALYZE a"), PGW_STMT_NOTX_OK);
}

static void test_sqlparse__reindex(void **state)
{
	(void)state;
	assert_int_equal(flags_of("REINDEX INDEX CONCURRENTLY ix_a"),
	                 PGW_STMT_NO_TX | PGW_STMT_NOTX_OK);
	assert_int_equal(flags_of("REINDEX (VERBOSE) TABLE CONCURRENTLY a"),
	                 PGW_STMT_NO_TX | PGW_STMT_NOTX_OK);
	assert_int_equal(flags_of("REINDEX TABLE a"), 0);
}

static void test_sqlparse__transaction_control(void **state)
{
	(void)state;
	assert_int_equal(flags_of("BEGIN"), PGW_STMT_TX_CONTROL);
	assert_int_equal(flags_of("START TRANSACTION"), PGW_STMT_TX_CONTROL);
	assert_int_equal(flags_of("COMMIT"), PGW_STMT_TX_CONTROL);
	assert_int_equal(flags_of("ROLLBACK"), PGW_STMT_TX_CONTROL);
	assert_int_equal(flags_of("SAVEPOINT s1"), PGW_STMT_TX_CONTROL);
	assert_int_equal(flags_of("RELEASE SAVEPOINT s1"), PGW_STMT_TX_CONTROL);
}

static void test_sqlparse__copy_stdin(void **state)
{
	(void)state;
	assert_int_equal(flags_of("COPY t FROM stdin"), PGW_STMT_COPY_STDIN);
	assert_int_equal(flags_of("COPY t (a, b) FROM STDIN WITH (FORMAT csv)"),
	                 PGW_STMT_COPY_STDIN);
	assert_int_equal(flags_of("COPY t FROM '/srv/data/t.csv'"), 0);
}

static void test_sqlparse__syntax_error_names_file_and_line(void **state)
{
	struct pgw_err err = PGW_ERR_INIT;

	(void)state;
	split_fails("CREATE TABLE a (id int);\n"  /* 5 */
	            "\n"                          /* 6 */
	            "CREATE TABLEE b (id int);\n" /* 7 */
	            "SELECT 1;\n",                /* 8 */
	            5, &err);
	assert_non_null(strstr(err.msg, "001_bad.sql:7:"));
	assert_non_null(strstr(err.msg, "TABLEE"));
	assert_true(err.hint[0] != '\0');
}

static void test_sqlparse__syntax_error_on_a_later_line(void **state)
{
	struct pgw_err err = PGW_ERR_INIT;

	(void)state;
	split_fails("SELECT 1;\n"      /* 1 */
	            "SELECT 2;\n"      /* 2 */
	            "SELECT 3\n"       /* 3 */
	            "  FROM WHERE;\n", /* 4 */
	            1, &err);
	assert_non_null(strstr(err.msg, "001_bad.sql:4:"));
}

static void test_sqlparse__syntax_error_line_after_multibyte_text(void **state)
{
	struct pgw_err err = PGW_ERR_INIT;
	char sql[256];
	size_t len;
	int i;

	(void)state;
	/* line 1 holds 40 two-byte characters; the error is on line 2 */
	len = (size_t)snprintf(sql, sizeof(sql), "SELECT '");
	for (i = 0; i < 40; i++)
		len += (size_t)snprintf(sql + len, sizeof(sql) - len,
		                        "\xc3\xa9");
	snprintf(sql + len, sizeof(sql) - len, "';\nSELEC 1;\n");
	split_fails(sql, 1, &err);
	assert_non_null(strstr(err.msg, "SELEC"));
	if (!strstr(err.msg, "001_bad.sql:2:"))
		fail_msg("wrong line: %s", err.msg);
}

static void test_sqlparse__psql_meta_command(void **state)
{
	struct pgw_err err = PGW_ERR_INIT;

	(void)state;
	split_fails("SELECT 1;\n"   /* 20 */
	            "\\set x 1\n"   /* 21 */
	            "SELECT :x;\n", /* 22 */
	            20, &err);
	assert_non_null(strstr(err.msg, "meta-command"));
	assert_non_null(strstr(err.msg, "001_bad.sql:21:"));
	assert_non_null(strstr(err.msg, "\\set"));
}

static void test_sqlparse__inline_copy_data(void **state)
{
	struct pgw_err err = PGW_ERR_INIT;

	(void)state;
	split_fails("CREATE TABLE t (a int, b text);\n" /* 2 */
	            "COPY t (a, b) FROM stdin;\n"       /* 3 */
	            "1\tone\n"                          /* 4 */
	            "2\ttwo\n"                          /* 5 */
	            "\\.\n",                            /* 6 */
	            2, &err);
	assert_non_null(strstr(err.msg, "inline COPY"));
	assert_non_null(strstr(err.msg, "001_bad.sql:3:"));
}

static void test_sqlparse__whole_text_is_one_destructive_statement(void **state)
{
	struct pgw_err err = PGW_ERR_INIT;
	struct pgw_stmt *st = NULL;
	size_t n = 0;

	(void)state;
	assert_int_equal(pgw_sql_whole(&st, &n,
	                               "\n-- note\nSELECT 1; SELECT 2;\n", 4,
	                               &err),
	                 0);
	assert_int_equal(n, 1);
	assert_int_equal(st[0].line, 6);
	assert_int_equal(st[0].flags, PGW_STMT_DESTRUCTIVE);
	assert_non_null(strstr(st[0].sql, "SELECT 1; SELECT 2;"));
	pgw_stmts_free(st, n);
	assert_int_equal(pgw_sql_whole(&st, &n, "  \n-- x\n", 1, &err), 0);
	assert_int_equal(n, 0);
	assert_null(st);
}

static void test_sqlparse__summary_folds_whitespace(void **state)
{
	char *s;

	(void)state;
	s = summary("  CREATE   INDEX\n\tCONCURRENTLY ix\n  ON t (a)  \n");
	assert_string_equal(s, "CREATE INDEX CONCURRENTLY ix ON t (a)");
	free(s);
}

static void test_sqlparse__summary_truncates_long_text(void **state)
{
	char *s;
	char *dots;

	(void)state;
	s = summary("INSERT INTO accounts (id, owner, balance, created_at) "
	            "VALUES (1, 'someone with a long name', 100, now())");
	dots = strstr(s, " ...");
	assert_non_null(dots);
	assert_string_equal(dots, " ...");
	assert_true(strlen(s) < 80);
	assert_memory_equal(s, "INSERT INTO accounts (id, owner,", 32);
	free(s);
	/* short text is not marked as cut */
	s = summary("SELECT 1");
	assert_string_equal(s, "SELECT 1");
	free(s);
}

/* Is s well-formed UTF-8 (no cut or stray sequences)? */
static bool valid_utf8(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;

	while (*p) {
		size_t need, k;

		if (*p < 0x80)
			need = 0;
		else if (*p >= 0xc2 && *p <= 0xdf)
			need = 1;
		else if (*p >= 0xe0 && *p <= 0xef)
			need = 2;
		else if (*p >= 0xf0 && *p <= 0xf4)
			need = 3;
		else
			return false;
		for (k = 1; k <= need; k++)
			if ((p[k] & 0xc0) != 0x80)
				return false;
		p += need + 1;
	}
	return true;
}

static void test_sqlparse__summary_keeps_utf8_characters_whole(void **state)
{
	char sql[256];
	char *s;
	size_t len;
	bool ok, cut;
	int i;

	(void)state;
	len = (size_t)snprintf(sql, sizeof(sql), "INSERT INTO t VALUES ('");
	for (i = 0; i < 40; i++)
		len += (size_t)snprintf(sql + len, sizeof(sql) - len,
		                        "\xc3\xa9");
	snprintf(sql + len, sizeof(sql) - len, "')");
	s = summary(sql);
	ok = valid_utf8(s);
	cut = strstr(s, " ...") != NULL;
	free(s);
	assert_true(cut);
	if (!ok)
		fail_msg("the summary cuts a character in two");
}

static void test_sqlparse__summary_redacts_password(void **state)
{
	char *s;

	(void)state;
	s = summary("CREATE ROLE app LOGIN PASSWORD 's3cret'");
	assert_null(strstr(s, "s3cret"));
	assert_string_equal(s, "CREATE ROLE app LOGIN PASSWORD '***'");
	free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sqlparse__split_counts_and_lines),
		cmocka_unit_test(
		        test_sqlparse__dollar_quoted_body_is_one_statement),
		cmocka_unit_test(test_sqlparse__lines_after_multibyte_text),
		cmocka_unit_test(test_sqlparse__empty_text_has_no_statement),
		cmocka_unit_test(test_sqlparse__create_index_concurrently),
		cmocka_unit_test(test_sqlparse__quoted_index_table_name),
		cmocka_unit_test(
		        test_sqlparse__plain_create_index_is_transactional),
		cmocka_unit_test(test_sqlparse__drop_index_concurrently),
		cmocka_unit_test(test_sqlparse__drop_is_destructive),
		cmocka_unit_test(
		        test_sqlparse__alter_table_destructive_subcommands),
		cmocka_unit_test(test_sqlparse__dml_destructive),
		cmocka_unit_test(test_sqlparse__add_enum_value),
		cmocka_unit_test(test_sqlparse__vacuum_and_analyze),
		cmocka_unit_test(test_sqlparse__reindex),
		cmocka_unit_test(test_sqlparse__transaction_control),
		cmocka_unit_test(test_sqlparse__copy_stdin),
		cmocka_unit_test(
		        test_sqlparse__syntax_error_names_file_and_line),
		cmocka_unit_test(test_sqlparse__syntax_error_on_a_later_line),
		cmocka_unit_test(
		        test_sqlparse__syntax_error_line_after_multibyte_text),
		cmocka_unit_test(test_sqlparse__psql_meta_command),
		cmocka_unit_test(test_sqlparse__inline_copy_data),
		cmocka_unit_test(
		        test_sqlparse__whole_text_is_one_destructive_statement),
		cmocka_unit_test(test_sqlparse__summary_folds_whitespace),
		cmocka_unit_test(test_sqlparse__summary_truncates_long_text),
		cmocka_unit_test(
		        test_sqlparse__summary_keeps_utf8_characters_whole),
		cmocka_unit_test(test_sqlparse__summary_redacts_password),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
