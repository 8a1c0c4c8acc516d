/* test_hash.c - SHA-256 against the published test vectors. */
#include <stdlib.h>
#include <string.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "hash.h"

static void check(const void *data, size_t len, const char *want)
{
	char out[65];

	memset(out, 'X', sizeof(out));
	assert_int_equal(pgw_sha256_hex(out, data, len), 0);
	assert_int_equal(out[64], '\0');
	assert_string_equal(out, want);
}

static void test_hash__empty_input(void **state)
{
	(void)state;
	check("", 0,
	      "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

static void test_hash__abc(void **state)
{
	(void)state;
	check("abc", 3,
	      "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

static void test_hash__two_block_message(void **state)
{
	static const char msg[] =
	        "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";

	(void)state;
	check(msg, strlen(msg),
	      "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
}

static void test_hash__only_len_bytes_count(void **state)
{
	(void)state;
	check("abcdef", 3,
	      "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

static void test_hash__million_a(void **state)
{
	char *a = malloc(1000000);

	(void)state;
	assert_non_null(a);
	memset(a, 'a', 1000000);
	check(a, 1000000,
	      "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
	free(a);
}

static void test_hash__binary_input(void **state)
{
	/* bytes 0..255: a NUL in the data is data, not an end */
	unsigned char bytes[256];
	int i;

	(void)state;
	for (i = 0; i < 256; i++)
		bytes[i] = (unsigned char)i;
	check(bytes, sizeof(bytes),
	      "40aff2e9d2d8922e47afd4648e6967497158785fbd1da870e7110266bf944880");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hash__empty_input),
		cmocka_unit_test(test_hash__abc),
		cmocka_unit_test(test_hash__two_block_message),
		cmocka_unit_test(test_hash__only_len_bytes_count),
		cmocka_unit_test(test_hash__million_a),
		cmocka_unit_test(test_hash__binary_input),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
