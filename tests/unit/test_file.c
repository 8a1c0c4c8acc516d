/* test_file.c - whole files: read into memory (any size, any bytes, empty,
 * missing, unreadable) and written whole or not at all (content, mode, no
 * PATH.tmp left behind, errors that name the file). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "file.h"
#include "fixture.h"
#include "pgward.h"

struct fx {
	char *dir;
	char *data; /* what pgw_file_read gave */
	size_t len;
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

	free(fx->data);
	fixture_rmdtemp(fx->dir);
	free(fx);
	return 0;
}

/* dir/name into `out` (static size). */
static const char *path_of(struct fx *fx, const char *name, char *out,
                           size_t cap)
{
	int n = snprintf(out, cap, "%s/%s", fx->dir, name);

	assert_true(n > 0 && (size_t)n < cap);
	return out;
}

/* How many entries the test's directory has (besides . and ..). */
static int entries(struct fx *fx)
{
	DIR *d = opendir(fx->dir);
	struct dirent *de;
	int n = 0;

	assert_non_null(d);
	while ((de = readdir(d)))
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
			n++;
	closedir(d);
	return n;
}

static void test_file__read_whole_text(void **state)
{
	struct fx *fx = *state;
	char path[4096];

	assert_int_equal(
	        fixture_write(fx->dir, "a.sql", "SELECT 1;\nSELECT 2;\n"), 0);
	assert_int_equal(pgw_file_read(&fx->data, &fx->len,
	                               path_of(fx, "a.sql", path, sizeof(path)),
	                               &fx->err),
	                 0);
	assert_int_equal(fx->err.code, PGW_OK);
	assert_int_equal(fx->len, 20);
	assert_string_equal(fx->data, "SELECT 1;\nSELECT 2;\n");
}

static void test_file__read_binary_keeps_every_byte(void **state)
{
	struct fx *fx = *state;
	const char bytes[] = {
		'a', '\0', 'b', '\r', '\n', (char)0xff, '\0', 'z'
	};
	char path[4096];

	assert_int_equal(fixture_write_n(fx->dir, "bin", bytes, sizeof(bytes)),
	                 0);
	assert_int_equal(pgw_file_read(&fx->data, &fx->len,
	                               path_of(fx, "bin", path, sizeof(path)),
	                               &fx->err),
	                 0);
	assert_int_equal(fx->len, sizeof(bytes));
	assert_memory_equal(fx->data, bytes, sizeof(bytes));
	/* NUL-terminated past the last byte */
	assert_int_equal(fx->data[fx->len], '\0');
}

static void test_file__read_larger_than_a_chunk(void **state)
{
	struct fx *fx = *state;
	size_t n = 3 * 65536 + 1234, i;
	char *big = malloc(n), path[4096];

	assert_non_null(big);
	for (i = 0; i < n; i++)
		big[i] = (char)('A' + (i * 7 + i / 65536) % 26);
	assert_int_equal(fixture_write_n(fx->dir, "big", big, n), 0);
	assert_int_equal(pgw_file_read(&fx->data, &fx->len,
	                               path_of(fx, "big", path, sizeof(path)),
	                               &fx->err),
	                 0);
	assert_int_equal(fx->len, n);
	assert_memory_equal(fx->data, big, n);
	assert_int_equal(fx->data[n], '\0');
	free(big);
}

static void test_file__read_empty(void **state)
{
	struct fx *fx = *state;
	char path[4096];

	assert_int_equal(fixture_write(fx->dir, "empty", ""), 0);
	fx->len = 99;
	assert_int_equal(pgw_file_read(&fx->data, &fx->len,
	                               path_of(fx, "empty", path, sizeof(path)),
	                               &fx->err),
	                 0);
	/* an empty string, not NULL */
	assert_non_null(fx->data);
	assert_int_equal(fx->len, 0);
	assert_string_equal(fx->data, "");
}

static void test_file__read_missing_is_enotfound(void **state)
{
	struct fx *fx = *state;
	char path[4096], *data = (char *)"stale";
	size_t len = 5;

	assert_int_equal(
	        pgw_file_read(&data, &len,
	                      path_of(fx, "nope.sql", path, sizeof(path)),
	                      &fx->err),
	        PGW_ENOTFOUND);
	/* the outputs are cleared, not left as they were */
	assert_null(data);
	assert_int_equal(len, 0);
	assert_int_equal(fx->err.code, PGW_ENOTFOUND);
	/* names the file */
	assert_non_null(strstr(fx->err.msg, path));
}

static void test_file__read_missing_dir_is_enotfound(void **state)
{
	struct fx *fx = *state;
	char path[4096];

	assert_int_equal(
	        pgw_file_read(&fx->data, &fx->len,
	                      path_of(fx, "no/such/dir/x", path, sizeof(path)),
	                      &fx->err),
	        PGW_ENOTFOUND);
	assert_null(fx->data);
}

static void test_file__read_directory_is_eio(void **state)
{
	struct fx *fx = *state;

	/* opens (on Linux) but cannot be read */
	assert_int_equal(pgw_file_read(&fx->data, &fx->len, fx->dir, &fx->err),
	                 PGW_EIO);
	assert_null(fx->data);
	assert_int_equal(fx->len, 0);
	assert_int_equal(fx->err.code, PGW_EIO);
	assert_non_null(strstr(fx->err.msg, fx->dir));
}

static void test_file__read_not_a_dir_is_eio(void **state)
{
	struct fx *fx = *state;
	char path[4096];

	/* a path through a regular file: ENOTDIR, not "does not exist" */
	assert_int_equal(fixture_write(fx->dir, "plain", "x"), 0);
	assert_int_equal(
	        pgw_file_read(&fx->data, &fx->len,
	                      path_of(fx, "plain/x", path, sizeof(path)),
	                      &fx->err),
	        PGW_EIO);
	assert_null(fx->data);
}

static void test_file__write_new_file(void **state)
{
	struct fx *fx = *state;
	char path[4096];

	path_of(fx, "schema.sql", path, sizeof(path));
	assert_int_equal(
	        pgw_file_write(path, "CREATE TABLE t (id int);\n", &fx->err),
	        0);
	assert_int_equal(fx->err.code, PGW_OK);
	assert_int_equal(pgw_file_read(&fx->data, &fx->len, path, &fx->err), 0);
	assert_string_equal(fx->data, "CREATE TABLE t (id int);\n");
	/* only the file: no schema.sql.tmp */
	assert_int_equal(entries(fx), 1);
}

static void test_file__write_mode_follows_umask(void **state)
{
	struct fx *fx = *state;
	char path[4096];
	struct stat sb;
	mode_t old = umask(027);

	path_of(fx, "m", path, sizeof(path));
	assert_int_equal(pgw_file_write(path, "x", &fx->err), 0);
	umask(old);
	assert_int_equal(stat(path, &sb), 0);
	assert_true(S_ISREG(sb.st_mode));
	assert_int_equal(sb.st_mode & 07777, 0640);
}

static void test_file__write_replaces_longer_content(void **state)
{
	struct fx *fx = *state;
	char path[4096];
	struct stat before, after;

	assert_int_equal(fixture_write(fx->dir, "f",
	                               "a much longer old content\nline 2\n"),
	                 0);
	path_of(fx, "f", path, sizeof(path));
	assert_int_equal(stat(path, &before), 0);
	assert_int_equal(pgw_file_write(path, "new\n", &fx->err), 0);
	assert_int_equal(pgw_file_read(&fx->data, &fx->len, path, &fx->err), 0);
	/* nothing of the old text is left at the end */
	assert_int_equal(fx->len, 4);
	assert_string_equal(fx->data, "new\n");
	/* a new file renamed over the old one, not the old one rewritten */
	assert_int_equal(stat(path, &after), 0);
	assert_int_not_equal(before.st_ino, after.st_ino);
	assert_int_equal(entries(fx), 1);
}

static void test_file__write_empty_text(void **state)
{
	struct fx *fx = *state;
	char path[4096];
	struct stat sb;

	assert_int_equal(fixture_write(fx->dir, "f", "old"), 0);
	path_of(fx, "f", path, sizeof(path));
	assert_int_equal(pgw_file_write(path, "", &fx->err), 0);
	assert_int_equal(stat(path, &sb), 0);
	assert_int_equal(sb.st_size, 0);
	assert_int_equal(entries(fx), 1);
}

static void test_file__write_large_round_trip(void **state)
{
	struct fx *fx = *state;
	size_t n = 200000, i;
	char *text = malloc(n + 1), path[4096];

	assert_non_null(text);
	for (i = 0; i < n; i++)
		text[i] = (i % 80 == 79) ? '\n' : (char)('a' + i % 26);
	text[n] = '\0';
	path_of(fx, "big.sql", path, sizeof(path));
	assert_int_equal(pgw_file_write(path, text, &fx->err), 0);
	assert_int_equal(pgw_file_read(&fx->data, &fx->len, path, &fx->err), 0);
	assert_int_equal(fx->len, n);
	assert_string_equal(fx->data, text);
	free(text);
}

static void test_file__write_over_a_stale_tmp(void **state)
{
	struct fx *fx = *state;
	char path[4096], tmp[4096];

	/* a PATH.tmp left by a run that died: overwritten, then gone */
	assert_int_equal(
	        fixture_write(fx->dir, "f.tmp", "half a file from before"), 0);
	path_of(fx, "f", path, sizeof(path));
	path_of(fx, "f.tmp", tmp, sizeof(tmp));
	assert_int_equal(pgw_file_write(path, "whole\n", &fx->err), 0);
	assert_int_equal(access(tmp, F_OK), -1);
	assert_int_equal(pgw_file_read(&fx->data, &fx->len, path, &fx->err), 0);
	assert_string_equal(fx->data, "whole\n");
	assert_int_equal(entries(fx), 1);
}

static void test_file__write_into_missing_dir_is_eio(void **state)
{
	struct fx *fx = *state;
	char path[4096], dir[4096];

	path_of(fx, "missing/schema.sql", path, sizeof(path));
	assert_int_equal(pgw_file_write(path, "x", &fx->err), PGW_EIO);
	assert_int_equal(fx->err.code, PGW_EIO);
	assert_non_null(strstr(fx->err.msg, path));
	/* nothing made on the way */
	assert_int_equal(access(path_of(fx, "missing", dir, sizeof(dir)), F_OK),
	                 -1);
	assert_int_equal(entries(fx), 0);
}

static void test_file__failed_rename_leaves_nothing(void **state)
{
	struct fx *fx = *state;
	char path[4096], tmp[4096], inner[4096];
	struct stat sb;

	/* the target is a non-empty directory: the temp file is written,
	 * the rename fails, the temp file is removed, the target kept */
	path_of(fx, "target", path, sizeof(path));
	assert_int_equal(mkdir(path, 0755), 0);
	assert_int_equal(fixture_write(path, "keep", "kept"), 0);
	assert_int_equal(pgw_file_write(path, "text", &fx->err), PGW_EIO);
	assert_int_equal(fx->err.code, PGW_EIO);
	assert_non_null(strstr(fx->err.msg, path));
	path_of(fx, "target.tmp", tmp, sizeof(tmp));
	assert_int_equal(access(tmp, F_OK), -1);
	assert_int_equal(stat(path, &sb), 0);
	assert_true(S_ISDIR(sb.st_mode));
	path_of(fx, "target/keep", inner, sizeof(inner));
	assert_int_equal(pgw_file_read(&fx->data, &fx->len, inner, &fx->err),
	                 0);
	assert_string_equal(fx->data, "kept");
	assert_int_equal(entries(fx), 1);
}

static void test_file__first_error_wins(void **state)
{
	struct fx *fx = *state;
	char path[4096];

	/* this call fails, but an error already set is kept (pgward.h's
	 * convention) */
	pgw_err_set(&fx->err, PGW_EINVAL, "earlier problem");
	assert_int_equal(pgw_file_read(&fx->data, &fx->len,
	                               path_of(fx, "nope", path, sizeof(path)),
	                               &fx->err),
	                 PGW_ENOTFOUND);
	assert_null(fx->data);
	assert_int_equal(
	        pgw_file_write(path_of(fx, "no/dir", path, sizeof(path)), "x",
	                       &fx->err),
	        PGW_EIO);
	assert_int_equal(fx->err.code, PGW_EINVAL);
	assert_string_equal(fx->err.msg, "earlier problem");
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_file__read_whole_text),
		T(test_file__read_binary_keeps_every_byte),
		T(test_file__read_larger_than_a_chunk),
		T(test_file__read_empty),
		T(test_file__read_missing_is_enotfound),
		T(test_file__read_missing_dir_is_enotfound),
		T(test_file__read_directory_is_eio),
		T(test_file__read_not_a_dir_is_eio),
		T(test_file__write_new_file),
		T(test_file__write_mode_follows_umask),
		T(test_file__write_replaces_longer_content),
		T(test_file__write_empty_text),
		T(test_file__write_large_round_trip),
		T(test_file__write_over_a_stale_tmp),
		T(test_file__write_into_missing_dir_is_eio),
		T(test_file__failed_rename_leaves_nothing),
		T(test_file__first_error_wins),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
