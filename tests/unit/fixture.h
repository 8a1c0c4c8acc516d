/* fixture.h - helpers shared by the unit tests: throwaway directories and
 * files under $TMPDIR, removed again when a test ends.  Header-only so the
 * Makefile's one-binary-per-test_*.c rule needs nothing more. */
#ifndef PGW_TEST_FIXTURE_H
#define PGW_TEST_FIXTURE_H

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

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

#endif
