/* fixture.h - helpers shared by the unit tests: throwaway directories and
 * files under $TMPDIR, removed again when a test ends, a monotonic clock
 * for timing, and the check of a string a call handed over.  Header-only
 * so the Makefile's one-binary-per-test_*.c rule needs nothing more. */
#ifndef PGW_TEST_FIXTURE_H
#define PGW_TEST_FIXTURE_H

#include <dirent.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

/* A new empty directory; the caller owns the returned path (free()) and
 * removes the directory with fixture_rmtree().  NULL on failure. */
static inline char *fixture_mkdtemp(void)
{
	const char *tmp = getenv("TMPDIR");
	char path[4096];
	char *dir;

	if (!tmp || !*tmp)
		tmp = "/tmp";
	if (snprintf(path, sizeof(path), "%s/pgward-unit.XXXXXX", tmp) >=
	    (int)sizeof(path))
		return NULL;
	dir = mkdtemp(path);
	return dir ? strdup(dir) : NULL;
}

/* Write `len` bytes to dir/name.  Returns 0 or -1. */
static inline int fixture_write_n(const char *dir, const char *name,
                                  const char *data, size_t len)
{
	char path[4096];
	FILE *f;
	int ok;

	if (snprintf(path, sizeof(path), "%s/%s", dir, name) >=
	    (int)sizeof(path))
		return -1;
	f = fopen(path, "wb");
	if (!f)
		return -1;
	ok = fwrite(data, 1, len, f) == len;
	if (fclose(f) != 0)
		ok = 0;
	return ok ? 0 : -1;
}

/* Write a NUL-terminated text to dir/name.  Returns 0 or -1. */
static inline int fixture_write(const char *dir, const char *name,
                                const char *text)
{
	return fixture_write_n(dir, name, text, strlen(text));
}

/* fixture_write() inside a test: fails the test when it cannot. */
static inline void fixture_put(const char *dir, const char *name,
                               const char *text)
{
	if (fixture_write(dir, name, text) != 0)
		fail_msg("cannot write %s/%s", dir, name);
}

/* Remove dir and everything in it (files and subdirectories). */
static inline void fixture_rmtree(const char *dir)
{
	DIR *d;
	struct dirent *de;

	if (!dir)
		return;
	d = opendir(dir);
	if (d) {
		while ((de = readdir(d))) {
			char path[4096];
			struct stat sb;

			if (!strcmp(de->d_name, ".") ||
			    !strcmp(de->d_name, ".."))
				continue;
			if (snprintf(path, sizeof(path), "%s/%s", dir,
			             de->d_name) >= (int)sizeof(path))
				continue;
			if (lstat(path, &sb) == 0 && S_ISDIR(sb.st_mode))
				fixture_rmtree(path);
			else
				unlink(path);
		}
		closedir(d);
	}
	rmdir(dir);
}

/* Remove a fixture_mkdtemp() directory with everything in it and free
 * its path (NULL: nothing to do). */
static inline void fixture_rmdtemp(char *dir)
{
	fixture_rmtree(dir);
	free(dir);
}

/* The names in dir, sorted, one a line ("." and ".." left out, and
 * every other name starting with '.' too unless `hidden`); the caller
 * frees.  Fails the test when dir cannot be read. */
static inline char *fixture_listing(const char *dir, bool hidden)
{
	struct dirent **names;
	size_t len = 0, size = 1;
	char *text;
	int n, i;

	n = scandir(dir, &names, NULL, alphasort);
	assert_true(n >= 0);
	for (i = 0; i < n; i++)
		size += strlen(names[i]->d_name) + 1;
	text = malloc(size);
	assert_non_null(text);
	for (i = 0; i < n; i++) {
		const char *name = names[i]->d_name;

		if (strcmp(name, ".") != 0 && strcmp(name, "..") != 0 &&
		    (hidden || name[0] != '.'))
			len += (size_t)sprintf(text + len, "%s\n", name);
		free(names[i]);
	}
	free(names);
	text[len] = '\0';
	return text;
}

/* Seconds on the monotonic clock, to time what a test waits for. */
static inline double fixture_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* `got`, a string `what` handed over (NULL fails the test), is `want`;
 * freed either way, so that a failure leaks nothing. */
static inline void fixture_assert_string_freed(char *got, const char *what,
                                               const char *want)
{
	char shown[512];

	assert_non_null(got);
	if (strcmp(got, want) == 0) {
		free(got);
		return;
	}
	snprintf(shown, sizeof(shown), "%s", got);
	free(got);
	fail_msg("%s gave '%s', want '%s'", what, shown, want);
}

#endif
