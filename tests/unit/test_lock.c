/* test_lock.c - the deploy lock's advisory keys (no database: only
 * pgw_lock_keys, which is pure). */
#include <stdio.h>
#include <string.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "lock.h"
#include "pgward.h"

static void test_lock__first_key_is_fixed(void **state)
{
	int k[2];

	(void)state;
	pgw_lock_keys(k, "pgward");
	assert_int_equal(k[0], 0x70677764);
	pgw_lock_keys(k, "other_schema");
	assert_int_equal(k[0], 0x70677764);
}

static void test_lock__deterministic(void **state)
{
	int a[2], b[2];

	(void)state;
	pgw_lock_keys(a, "pgward");
	pgw_lock_keys(b, "pgward");
	assert_int_equal(a[0], b[0]);
	assert_int_equal(a[1], b[1]);
	/* documented: FNV-1a of the name, top bit cleared */
	assert_int_equal(a[1], 961618562);
}

static void test_lock__fnv1a_vectors_top_bit_cleared(void **state)
{
	int k[2];

	(void)state;
	/* FNV-1a 32-bit: "" 0x811c9dc5, "a" 0xe40c292c, "foobar" 0xbf9cf968 */
	pgw_lock_keys(k, "");
	assert_int_equal(k[1], 0x811c9dc5 & 0x7fffffff);
	pgw_lock_keys(k, "a");
	assert_int_equal(k[1], 0xe40c292c & 0x7fffffff);
	pgw_lock_keys(k, "foobar");
	assert_int_equal(k[1], 0xbf9cf968 & 0x7fffffff);
}

static void test_lock__positive_for_many_names(void **state)
{
	char name[32];
	int k[2], i;

	(void)state;
	for (i = 0; i < 2000; i++) {
		snprintf(name, sizeof(name), "schema_%d", i);
		pgw_lock_keys(k, name);
		if (k[1] < 0)
			fail_msg("key for '%s' is negative: %d", name, k[1]);
		assert_true(k[0] > 0);
	}
}

static void test_lock__differs_per_schema_name(void **state)
{
	int a[2], b[2], c[2], d[2];

	(void)state;
	pgw_lock_keys(a, "pgward");
	pgw_lock_keys(b, "pgward2");
	pgw_lock_keys(c, "PGWARD");
	pgw_lock_keys(d, "app_pgward");
	assert_int_not_equal(a[1], b[1]);
	assert_int_not_equal(a[1], c[1]);
	assert_int_not_equal(a[1], d[1]);
	assert_int_not_equal(b[1], c[1]);
	assert_int_equal(a[0], b[0]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_lock__first_key_is_fixed),
		cmocka_unit_test(test_lock__deterministic),
		cmocka_unit_test(test_lock__fnv1a_vectors_top_bit_cleared),
		cmocka_unit_test(test_lock__positive_for_many_names),
		cmocka_unit_test(test_lock__differs_per_schema_name),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
