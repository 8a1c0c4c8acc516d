/* test_doctor.c - the doctor's text helpers: shortened queries, names of
 * suggested indexes, passwords hidden in query text, level names. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "doctor.h"
#include "fixture.h"

static void test_doctor__shorten_collapses_white_space(void **state)
{
	(void)state;
	fixture_assert_string_freed(
	        pgw_doctor_shorten("  SELECT 1,\n\t 2\r\n  FROM t  ", 100),
	        "shorten", "SELECT 1, 2 FROM t");
	fixture_assert_string_freed(pgw_doctor_shorten("", 10), "shorten", "");
}

static void test_doctor__shorten_cuts_with_dots(void **state)
{
	(void)state;
	fixture_assert_string_freed(pgw_doctor_shorten("SELECT abcdefghij", 10),
	                            "shorten", "SELECT ...");
	/* exactly max: kept whole */
	fixture_assert_string_freed(pgw_doctor_shorten("SELECT abc", 10),
	                            "shorten", "SELECT abc");
}

static void test_doctor__shorten_never_cuts_a_character(void **state)
{
	char *s;

	(void)state;
	/* "é" is two bytes: a cut at byte 8 would fall inside one */
	s = pgw_doctor_shorten("SELECT \xc3\xa9\xc3\xa9\xc3\xa9", 11);
	assert_non_null(s);
	assert_true(strlen(s) <= 11);
	fixture_assert_string_freed(s, "shorten", "SELECT ...");
	fixture_assert_string_freed(
	        pgw_doctor_shorten("x\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9", 7),
	        "shorten", "x\xc3\xa9...");
}

static void test_doctor__index_name_as_the_server_names_it(void **state)
{
	(void)state;
	fixture_assert_string_freed(
	        pgw_doctor_index_name("orders", "customer_id", 0), "index name",
	        "orders_customer_id_idx");
	fixture_assert_string_freed(pgw_doctor_index_name("orders", "a_b", 2),
	                            "index name", "orders_a_b_idx2");
}

static void test_doctor__index_name_fits_63_bytes(void **state)
{
	char table[80], cols[80], *name;

	(void)state;
	memset(table, 't', 60);
	table[60] = '\0';
	memset(cols, 'c', 10);
	cols[10] = '\0';
	name = pgw_doctor_index_name(table, cols, 0);
	assert_non_null(name);
	assert_int_equal(strlen(name), 63);
	/* the longer part is cut: the columns stay whole */
	assert_non_null(strstr(name, "_cccccccccc_idx"));
	free(name);
	name = pgw_doctor_index_name(table, cols, 12);
	assert_non_null(name);
	assert_true(strlen(name) <= 63);
	assert_non_null(strstr(name, "_idx12"));
	free(name);
}

static void test_doctor__index_name_never_cuts_a_character(void **state)
{
	char table[100], *name, *p;
	size_t i;

	(void)state;
	/* 40 two-byte characters: 80 bytes */
	for (i = 0; i < 40; i++)
		memcpy(table + 2 * i, "\xc3\xa9", 2);
	table[80] = '\0';
	name = pgw_doctor_index_name(table, "ids", 0);
	assert_non_null(name);
	assert_true(strlen(name) <= 63);
	p = strstr(name, "_ids_idx");
	assert_non_null(p);
	/* whole characters before the suffix */
	assert_int_equal((p - name) % 2, 0);
	free(name);
}

static void test_doctor__redact_hides_passwords(void **state)
{
	(void)state;
	fixture_assert_string_freed(
	        pgw_doctor_redact("ALTER ROLE app PASSWORD 'hunter2'"),
	        "redact", "ALTER ROLE app PASSWORD '***'");
	fixture_assert_string_freed(
	        pgw_doctor_redact(
	                "SELECT dblink_connect('postgresql://app:hunter2@db/x')"),
	        "redact", "SELECT dblink_connect('postgresql://app:***@db/x')");
	fixture_assert_string_freed(
	        pgw_doctor_redact("SELECT 'host=db password=hunter2 user=app'"),
	        "redact", "SELECT 'host=db password=*** user=app'");
	/* no secret: unchanged */
	fixture_assert_string_freed(
	        pgw_doctor_redact("SELECT 'http://example.com/a:b' FROM t"),
	        "redact", "SELECT 'http://example.com/a:b' FROM t");
}

static void test_doctor__levels(void **state)
{
	enum pgw_doctor_level l = PGW_DOCTOR_INFO;

	(void)state;
	assert_true(pgw_doctor_level_parse(&l, "warning"));
	assert_int_equal(l, PGW_DOCTOR_WARNING);
	assert_true(pgw_doctor_level_parse(&l, "error"));
	assert_int_equal(l, PGW_DOCTOR_ERROR);
	assert_false(pgw_doctor_level_parse(&l, "fatal"));
	assert_false(pgw_doctor_level_parse(&l, "Error"));
	assert_string_equal(pgw_doctor_level_name(PGW_DOCTOR_INFO), "info");
	assert_string_equal(pgw_doctor_check_name(PGW_DOCTOR_FK_WITHOUT_INDEX),
	                    "fk_without_index");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_doctor__shorten_collapses_white_space),
		cmocka_unit_test(test_doctor__shorten_cuts_with_dots),
		cmocka_unit_test(test_doctor__shorten_never_cuts_a_character),
		cmocka_unit_test(
		        test_doctor__index_name_as_the_server_names_it),
		cmocka_unit_test(test_doctor__index_name_fits_63_bytes),
		cmocka_unit_test(
		        test_doctor__index_name_never_cuts_a_character),
		cmocka_unit_test(test_doctor__redact_hides_passwords),
		cmocka_unit_test(test_doctor__levels),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
