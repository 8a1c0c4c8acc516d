/* test_redact.c - passwords hidden in connection strings and in SQL. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "fixture.h"
#include "pgward.h"

static void check_conninfo(const char *in, const char *want)
{
	fixture_assert_string_freed(pgw_redact_conninfo(in), in ? in : "(null)",
	                            want);
}

static void check_sql(const char *in, const char *want)
{
	fixture_assert_string_freed(pgw_redact_sql(in), in, want);
}

static void test_redact__url_password(void **state)
{
	(void)state;
	check_conninfo("postgres://app:s3cret@db/prod",
	               "postgres://app:***@db/prod");
	check_conninfo("postgresql://app:s3cret@db:5433/prod?sslmode=require",
	               "postgresql://app:***@db:5433/prod?sslmode=require");
}

static void test_redact__url_password_containing_at_sign(void **state)
{
	(void)state;
	check_conninfo("postgres://app:p@ss@db/prod",
	               "postgres://app:***@db/prod");
}

static void test_redact__url_password_query_parameter(void **state)
{
	(void)state;
	check_conninfo("postgres://app@db/prod?password=s3cret",
	               "postgres://app@db/prod?password=***");
	check_conninfo("postgres://app@db/prod?sslmode=require&password=s3cret&"
	               "connect_timeout=5",
	               "postgres://app@db/prod?sslmode=require&password=***&"
	               "connect_timeout=5");
}

static void test_redact__url_password_with_question_mark_or_hash(void **state)
{
	(void)state;
	/* libpq takes everything up to the '@' as user:password, so these
	 * are passwords "s3c?ret" and "s3c#ret" and must not be shown */
	check_conninfo("postgres://app:s3c?ret@db/prod",
	               "postgres://app:***@db/prod");
	check_conninfo("postgres://app:s3c#ret@db/prod",
	               "postgres://app:***@db/prod");
}

static void test_redact__url_without_password_unchanged(void **state)
{
	(void)state;
	check_conninfo("postgres://app@db/prod", "postgres://app@db/prod");
	check_conninfo("postgresql:///prod?host=/run/postgresql",
	               "postgresql:///prod?host=/run/postgresql");
}

static void test_redact__keyword_value_password(void **state)
{
	(void)state;
	check_conninfo("host=db password=s3cret dbname=prod",
	               "host=db password=*** dbname=prod");
	check_conninfo("password=s3cret", "password=***");
	check_conninfo("host=db PASSWORD=s3cret", "host=db password=***");
}

static void test_redact__keyword_value_quoted_with_spaces(void **state)
{
	(void)state;
	check_conninfo("host=db password = 'with space' dbname=prod",
	               "host=db password=*** dbname=prod");
	check_conninfo("password='it\\'s secret' user=app",
	               "password=*** user=app");
}

static void test_redact__keyword_value_with_url_in_a_value(void **state)
{
	(void)state;
	/* libpq reads a URI only when the string starts with postgresql://
	 * or postgres://; this is keyword=value and its password is hidden */
	check_conninfo("host=db password=s3cret "
	               "options='-c app.origin=https://example.com'",
	               "host=db password=*** "
	               "options='-c app.origin=https://example.com'");
}

static void test_redact__keyword_value_without_password_unchanged(void **state)
{
	(void)state;
	check_conninfo("host=db dbname=prod user=app",
	               "host=db dbname=prod user=app");
	/* a word merely starting with "password" is another keyword */
	check_conninfo("host=db passwordfile=/x", "host=db passwordfile=/x");
	check_conninfo("", "");
}

static void test_redact__null_is_libpq_defaults(void **state)
{
	(void)state;
	check_conninfo(NULL, "(libpq defaults)");
}

static void test_redact__sql_create_role_password(void **state)
{
	(void)state;
	check_sql("CREATE ROLE r PASSWORD 's3cret'",
	          "CREATE ROLE r PASSWORD '***'");
	check_sql(
	        "CREATE ROLE r LOGIN PASSWORD 's3cret' VALID UNTIL 'infinity'",
	        "CREATE ROLE r LOGIN PASSWORD '***' VALID UNTIL 'infinity'");
}

static void test_redact__sql_doubled_quote(void **state)
{
	(void)state;
	check_sql("ALTER USER x WITH ENCRYPTED PASSWORD 'a''b'",
	          "ALTER USER x WITH ENCRYPTED PASSWORD '***'");
	check_sql("ALTER USER x PASSWORD 'a''b''c'; SELECT 'kept'",
	          "ALTER USER x PASSWORD '***'; SELECT 'kept'");
}

static void test_redact__sql_dollar_quoted(void **state)
{
	(void)state;
	check_sql("CREATE ROLE r PASSWORD $$x$$ LOGIN",
	          "CREATE ROLE r PASSWORD '***' LOGIN");
	check_sql("CREATE ROLE r PASSWORD $pw$a$b$$pw$",
	          "CREATE ROLE r PASSWORD '***'");
}

static void test_redact__sql_escape_string(void **state)
{
	(void)state;
	check_sql("CREATE ROLE r PASSWORD E'a\\'b' LOGIN",
	          "CREATE ROLE r PASSWORD '***' LOGIN");
}

static void test_redact__sql_lower_case(void **state)
{
	(void)state;
	check_sql("create role r password 's3cret'",
	          "create role r password '***'");
	check_sql("alter role r with password\n  's3cret';",
	          "alter role r with password\n  '***';");
}

static void test_redact__sql_password_column_untouched(void **state)
{
	(void)state;
	check_sql("ALTER TABLE users ADD COLUMN password_hash text",
	          "ALTER TABLE users ADD COLUMN password_hash text");
	check_sql("UPDATE users SET password_hash = 'x' WHERE id = 1",
	          "UPDATE users SET password_hash = 'x' WHERE id = 1");
	check_sql("ALTER ROLE r PASSWORD NULL", "ALTER ROLE r PASSWORD NULL");
	check_sql("SELECT 1", "SELECT 1");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_redact__url_password),
		cmocka_unit_test(test_redact__url_password_containing_at_sign),
		cmocka_unit_test(test_redact__url_password_query_parameter),
		cmocka_unit_test(
		        test_redact__url_password_with_question_mark_or_hash),
		cmocka_unit_test(test_redact__url_without_password_unchanged),
		cmocka_unit_test(test_redact__keyword_value_password),
		cmocka_unit_test(test_redact__keyword_value_quoted_with_spaces),
		cmocka_unit_test(
		        test_redact__keyword_value_with_url_in_a_value),
		cmocka_unit_test(
		        test_redact__keyword_value_without_password_unchanged),
		cmocka_unit_test(test_redact__null_is_libpq_defaults),
		cmocka_unit_test(test_redact__sql_create_role_password),
		cmocka_unit_test(test_redact__sql_doubled_quote),
		cmocka_unit_test(test_redact__sql_dollar_quoted),
		cmocka_unit_test(test_redact__sql_escape_string),
		cmocka_unit_test(test_redact__sql_lower_case),
		cmocka_unit_test(test_redact__sql_password_column_untouched),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
