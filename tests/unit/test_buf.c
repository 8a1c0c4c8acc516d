/* test_buf.c - struct pgw_buf: growth, ownership and its invariants. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "pgward.h"

static void vappend(struct pgw_buf *b, const char *fmt, ...) PGW_PRINTF(2, 3);

static void vappend(struct pgw_buf *b, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	pgw_buf_vprintf(b, fmt, ap);
	va_end(ap);
}

static void test_buf__init_is_empty_string(void **state)
{
	struct pgw_buf b = PGW_BUF_INIT;

	(void)state;
	assert_non_null(b.ptr);
	assert_string_equal(b.ptr, "");
	assert_int_equal(b.len, 0);
	assert_false(pgw_buf_oom(&b));
	pgw_buf_release(&b);
	assert_non_null(b.ptr);
	assert_string_equal(b.ptr, "");
}

static void test_buf__printf_grows_past_several_kb(void **state)
{
	struct pgw_buf b = PGW_BUF_INIT;
	char want[16];
	int i;

	(void)state;
	for (i = 0; i < 2000; i++)
		pgw_buf_printf(&b, "%04d,", i);
	assert_false(pgw_buf_oom(&b));
	assert_int_equal(b.len, 10000);
	assert_int_equal(strlen(b.ptr), 10000);
	assert_true(b.cap > b.len);
	assert_memory_equal(b.ptr, "0000,0001,0002,", 15);
	for (i = 0; i < 2000; i += 137) {
		snprintf(want, sizeof(want), "%04d,", i);
		assert_memory_equal(b.ptr + 5 * i, want, 5);
	}
	assert_string_equal(b.ptr + 9995, "1999,");
	pgw_buf_release(&b);
}

static void test_buf__printf_one_large_chunk(void **state)
{
	struct pgw_buf b = PGW_BUF_INIT;
	char *big = malloc(5001);
	size_t i;

	(void)state;
	assert_non_null(big);
	memset(big, 'x', 5000);
	big[5000] = '\0';
	pgw_buf_puts(&b, "<");
	pgw_buf_printf(&b, "%s>%d", big, 42);
	assert_int_equal(b.len, 1 + 5000 + 3);
	assert_int_equal(b.ptr[0], '<');
	for (i = 1; i <= 5000; i++)
		if (b.ptr[i] != 'x')
			fail_msg("byte %zu is '%c'", i, b.ptr[i]);
	assert_string_equal(b.ptr + 5001, ">42");
	free(big);
	pgw_buf_release(&b);
}

static void test_buf__vprintf_appends(void **state)
{
	struct pgw_buf b = PGW_BUF_INIT;

	(void)state;
	pgw_buf_puts(&b, "a=");
	vappend(&b, "%d %s", 7, "seven");
	vappend(&b, "%c", '!');
	assert_string_equal(b.ptr, "a=7 seven!");
	assert_int_equal(b.len, 10);
	pgw_buf_release(&b);
}

static void test_buf__putc_and_puts(void **state)
{
	struct pgw_buf b = PGW_BUF_INIT;
	int i;

	(void)state;
	pgw_buf_putc(&b, 'a');
	assert_string_equal(b.ptr, "a");
	pgw_buf_puts(&b, "bc");
	pgw_buf_putc(&b, 'd');
	pgw_buf_puts(&b, "");
	assert_string_equal(b.ptr, "abcd");
	assert_int_equal(b.len, 4);
	/* one character at a time across several reallocations */
	for (i = 0; i < 300; i++)
		pgw_buf_putc(&b, (char)('a' + i % 26));
	assert_int_equal(b.len, 304);
	assert_int_equal(strlen(b.ptr), 304);
	assert_int_equal(b.ptr[4], 'a');
	assert_int_equal(b.ptr[303], 'a' + 299 % 26);
	pgw_buf_release(&b);
}

static void test_buf__put_keeps_exact_bytes(void **state)
{
	struct pgw_buf b = PGW_BUF_INIT;

	(void)state;
	pgw_buf_put(&b, "hello world", 5);
	assert_string_equal(b.ptr, "hello");
	pgw_buf_put(&b, "a\0b", 3);
	assert_int_equal(b.len, 8);
	assert_memory_equal(b.ptr, "helloa\0b", 9);
	pgw_buf_release(&b);
}

static void test_buf__detach_hands_over_ownership(void **state)
{
	struct pgw_buf b = PGW_BUF_INIT;
	char *s;

	(void)state;
	pgw_buf_printf(&b, "owned %d", 1);
	s = pgw_buf_detach(&b);
	assert_non_null(s);
	assert_string_equal(s, "owned 1");
	/* the buffer is empty and usable again, and no longer points at s */
	assert_ptr_not_equal(b.ptr, s);
	assert_non_null(b.ptr);
	assert_string_equal(b.ptr, "");
	assert_int_equal(b.len, 0);
	pgw_buf_puts(&b, "again");
	assert_string_equal(b.ptr, "again");
	assert_string_equal(s, "owned 1");
	free(s);
	pgw_buf_release(&b);
}

static void test_buf__detach_of_empty_is_freeable_empty_string(void **state)
{
	struct pgw_buf b = PGW_BUF_INIT;
	char *s = pgw_buf_detach(&b);

	(void)state;
	assert_non_null(s);
	assert_string_equal(s, "");
	/* must be heap memory the caller owns: ASan flags a bad free() */
	free(s);
	assert_non_null(b.ptr);
	assert_int_equal(b.len, 0);
}

static void test_buf__reset_empties_and_keeps_memory(void **state)
{
	struct pgw_buf b = PGW_BUF_INIT;
	size_t cap;
	char *mem;

	(void)state;
	pgw_buf_puts(&b, "some text that is here");
	cap = b.cap;
	mem = b.ptr;
	pgw_buf_reset(&b);
	assert_int_equal(b.len, 0);
	assert_string_equal(b.ptr, "");
	assert_int_equal(b.cap, cap);
	assert_ptr_equal(b.ptr, mem);
	pgw_buf_puts(&b, "new");
	assert_string_equal(b.ptr, "new");
	assert_int_equal(b.len, 3);
	pgw_buf_release(&b);
}

static void test_buf__reset_of_unused_buffer(void **state)
{
	struct pgw_buf b = PGW_BUF_INIT;

	(void)state;
	pgw_buf_reset(&b);
	assert_non_null(b.ptr);
	assert_string_equal(b.ptr, "");
	assert_int_equal(b.len, 0);
	pgw_buf_release(&b);
}

static void test_buf__release_makes_it_reusable(void **state)
{
	struct pgw_buf b = PGW_BUF_INIT;

	(void)state;
	pgw_buf_puts(&b, "first life");
	pgw_buf_release(&b);
	assert_non_null(b.ptr);
	assert_string_equal(b.ptr, "");
	assert_int_equal(b.len, 0);
	assert_int_equal(b.cap, 0);
	assert_false(pgw_buf_oom(&b));
	pgw_buf_printf(&b, "second %s", "life");
	assert_string_equal(b.ptr, "second life");
	assert_int_equal(b.len, 11);
	pgw_buf_release(&b);
	/* releasing twice is fine */
	pgw_buf_release(&b);
	assert_string_equal(b.ptr, "");
}

static void test_buf__always_nul_terminated(void **state)
{
	struct pgw_buf b = PGW_BUF_INIT;
	int i;

	(void)state;
	for (i = 0; i < 500; i++) {
		if (i % 3 == 0)
			pgw_buf_putc(&b, 'c');
		else if (i % 3 == 1)
			pgw_buf_puts(&b, "ss");
		else
			pgw_buf_printf(&b, "%d", i % 10);
		assert_non_null(b.ptr);
		assert_int_equal(b.ptr[b.len], '\0');
		assert_int_equal(strlen(b.ptr), b.len);
	}
	pgw_buf_release(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_buf__init_is_empty_string),
		cmocka_unit_test(test_buf__printf_grows_past_several_kb),
		cmocka_unit_test(test_buf__printf_one_large_chunk),
		cmocka_unit_test(test_buf__vprintf_appends),
		cmocka_unit_test(test_buf__putc_and_puts),
		cmocka_unit_test(test_buf__put_keeps_exact_bytes),
		cmocka_unit_test(test_buf__detach_hands_over_ownership),
		cmocka_unit_test(
		        test_buf__detach_of_empty_is_freeable_empty_string),
		cmocka_unit_test(test_buf__reset_empties_and_keeps_memory),
		cmocka_unit_test(test_buf__reset_of_unused_buffer),
		cmocka_unit_test(test_buf__release_makes_it_reusable),
		cmocka_unit_test(test_buf__always_nul_terminated),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
