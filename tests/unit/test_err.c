/* test_err.c - struct pgw_err: first error wins, context, detail, hint. */
#include <string.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "pgward.h"

static void test_err__set_fills_code_and_message(void **state)
{
	struct pgw_err err = PGW_ERR_INIT;

	(void)state;
	assert_int_equal(
	        pgw_err_set(&err, PGW_EINVAL, "bad '%s' at %d", "x", 3),
	        PGW_EINVAL);
	assert_int_equal(err.code, PGW_EINVAL);
	assert_string_equal(err.msg, "bad 'x' at 3");
	assert_string_equal(err.detail, "");
	assert_string_equal(err.hint, "");
}

static void test_err__first_error_wins(void **state)
{
	struct pgw_err err = PGW_ERR_INIT;

	(void)state;
	pgw_err_set(&err, PGW_ECHECKSUM, "first");
	/* the later error's code is still returned to its caller */
	assert_int_equal(pgw_err_set(&err, PGW_EIO, "second"), PGW_EIO);
	assert_int_equal(err.code, PGW_ECHECKSUM);
	assert_string_equal(err.msg, "first");
	assert_int_equal(pgw_err_oom(&err), PGW_ENOMEM);
	assert_int_equal(err.code, PGW_ECHECKSUM);
	assert_string_equal(err.msg, "first");
}

static void test_err__null_err_is_accepted(void **state)
{
	(void)state;
	assert_int_equal(pgw_err_set(NULL, PGW_EIO, "nobody listens"), PGW_EIO);
	pgw_err_detail(NULL, "d");
	pgw_err_hint(NULL, "h");
	pgw_err_wrap(NULL, "ctx");
	pgw_err_clear(NULL);
	assert_int_equal(pgw_err_oom(NULL), PGW_ENOMEM);
}

static void test_err__oom_message(void **state)
{
	struct pgw_err err = PGW_ERR_INIT;

	(void)state;
	assert_int_equal(pgw_err_oom(&err), PGW_ENOMEM);
	assert_int_equal(err.code, PGW_ENOMEM);
	assert_string_equal(err.msg, "out of memory");
}

static void test_err__wrap_prefixes_context(void **state)
{
	struct pgw_err err = PGW_ERR_INIT;

	(void)state;
	pgw_err_set(&err, PGW_EPG, "relation \"t\" does not exist");
	pgw_err_wrap(&err, "migration %s (%s:%d)", "002", "002_b.sql", 4);
	assert_string_equal(err.msg, "migration 002 (002_b.sql:4): relation "
	                             "\"t\" does not exist");
	pgw_err_wrap(&err, "up");
	assert_string_equal(err.msg, "up: migration 002 (002_b.sql:4): "
	                             "relation \"t\" does not exist");
	assert_int_equal(err.code, PGW_EPG);
}

static void test_err__wrap_without_error_does_nothing(void **state)
{
	struct pgw_err err = PGW_ERR_INIT;

	(void)state;
	pgw_err_wrap(&err, "context");
	assert_int_equal(err.code, PGW_OK);
	assert_string_equal(err.msg, "");
}

static void test_err__wrap_truncates_long_message(void **state)
{
	struct pgw_err err = PGW_ERR_INIT;
	char long_msg[1100];

	(void)state;
	memset(long_msg, 'm', sizeof(long_msg) - 1);
	long_msg[sizeof(long_msg) - 1] = '\0';
	pgw_err_set(&err, PGW_ERROR, "%s", long_msg);
	assert_int_equal(strlen(err.msg), sizeof(err.msg) - 1);
	pgw_err_wrap(&err, "ctx");
	assert_int_equal(strlen(err.msg), sizeof(err.msg) - 1);
	assert_memory_equal(err.msg, "ctx: mmm", 8);
}

static void test_err__detail_and_hint_set_once(void **state)
{
	struct pgw_err err = PGW_ERR_INIT;

	(void)state;
	pgw_err_set(&err, PGW_EPG, "boom");
	pgw_err_detail(&err, "Key (id)=(%d) already exists.", 1);
	pgw_err_hint(&err, "try %s", "again");
	pgw_err_detail(&err, "second detail");
	pgw_err_hint(&err, "second hint");
	assert_string_equal(err.detail, "Key (id)=(1) already exists.");
	assert_string_equal(err.hint, "try again");
	/* wrapping changes the message only */
	pgw_err_wrap(&err, "ctx");
	assert_string_equal(err.msg, "ctx: boom");
	assert_string_equal(err.detail, "Key (id)=(1) already exists.");
	assert_string_equal(err.hint, "try again");
}

static void test_err__note_appends_to_detail(void **state)
{
	struct pgw_err err = PGW_ERR_INIT;

	(void)state;
	pgw_err_set(&err, PGW_EFAILED, "section failed");
	pgw_err_note(&err, "first %d", 1);
	assert_string_equal(err.detail, "first 1");
	pgw_err_note(&err, "then %s", "two");
	assert_string_equal(err.detail, "first 1; then two");
	/* detail does not replace what notes wrote */
	pgw_err_detail(&err, "ignored");
	assert_string_equal(err.detail, "first 1; then two");
	assert_string_equal(err.msg, "section failed");
}

static void test_err__note_truncates_at_capacity(void **state)
{
	struct pgw_err err = PGW_ERR_INIT;
	char fill[1021];
	int i;

	(void)state;
	memset(fill, 'd', sizeof(fill) - 1);
	fill[sizeof(fill) - 1] = '\0';
	pgw_err_detail(&err, "%s", fill);
	for (i = 0; i < 5; i++) {
		pgw_err_note(&err, "note number %d", i);
		assert_true(strlen(err.detail) < sizeof(err.detail));
		assert_memory_equal(err.detail, fill, sizeof(fill) - 1);
	}
}

static void test_err__clear_resets_everything(void **state)
{
	struct pgw_err err = PGW_ERR_INIT;

	(void)state;
	pgw_err_set(&err, PGW_ELOCKED, "held");
	pgw_err_detail(&err, "pid 42");
	pgw_err_hint(&err, "wait");
	memcpy(err.sqlstate, "55P03", 6);
	pgw_err_clear(&err);
	assert_int_equal(err.code, PGW_OK);
	assert_string_equal(err.msg, "");
	assert_string_equal(err.detail, "");
	assert_string_equal(err.hint, "");
	assert_string_equal(err.sqlstate, "");
	/* after clear, a new first error is recorded */
	pgw_err_set(&err, PGW_EIO, "next");
	pgw_err_hint(&err, "new hint");
	assert_int_equal(err.code, PGW_EIO);
	assert_string_equal(err.msg, "next");
	assert_string_equal(err.hint, "new hint");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_err__set_fills_code_and_message),
		cmocka_unit_test(test_err__first_error_wins),
		cmocka_unit_test(test_err__null_err_is_accepted),
		cmocka_unit_test(test_err__oom_message),
		cmocka_unit_test(test_err__wrap_prefixes_context),
		cmocka_unit_test(test_err__wrap_without_error_does_nothing),
		cmocka_unit_test(test_err__wrap_truncates_long_message),
		cmocka_unit_test(test_err__detail_and_hint_set_once),
		cmocka_unit_test(test_err__note_appends_to_detail),
		cmocka_unit_test(test_err__note_truncates_at_capacity),
		cmocka_unit_test(test_err__clear_resets_everything),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
