/* file.c - whole files: read into memory, written whole or not at all. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "file.h"

int pgw_file_read(char **out, size_t *len, const char *path,
                  struct pgw_err *err)
{
	struct pgw_buf b = PGW_BUF_INIT;
	char chunk[65536];
	size_t got;
	FILE *f;
	int error;

	*out = NULL;
	*len = 0;
	f = fopen(path, "r");
	if (!f)
		return pgw_err_set(err, errno == ENOENT ? PGW_ENOTFOUND : PGW_EIO,
		                   "cannot read %s: %s", path, strerror(errno));
	while ((got = fread(chunk, 1, sizeof(chunk), f)) > 0)
		pgw_buf_put(&b, chunk, got);
	if (ferror(f)) {
		error = pgw_err_set(err, PGW_EIO, "cannot read %s: %s", path,
		                    strerror(errno));
		fclose(f);
		pgw_buf_release(&b);
		return error;
	}
	fclose(f);
	if (pgw_buf_oom(&b)) {
		pgw_buf_release(&b);
		return pgw_err_oom(err);
	}
	*len = b.len;
	*out = b.ptr ? pgw_buf_detach(&b) : strdup("");
	return *out ? 0 : pgw_err_oom(err);
}

int pgw_file_write(const char *path, const char *text, struct pgw_err *err)
{
	struct pgw_buf tmp = PGW_BUF_INIT;
	FILE *f;
	bool ok;
	int error = 0;

	pgw_buf_printf(&tmp, "%s.tmp", path);
	if (pgw_buf_oom(&tmp)) {
		pgw_buf_release(&tmp);
		return pgw_err_oom(err);
	}
	f = fopen(tmp.ptr, "w");
	ok = f && fputs(text, f) >= 0;
	/* on disk before the rename: a crash leaves the old file or the new
	 * one, never an empty one */
	ok = ok && fflush(f) == 0 && fsync(fileno(f)) == 0;
	ok = f && fclose(f) == 0 && ok;
	if (!ok || rename(tmp.ptr, path) != 0) {
		error = pgw_err_set(err, PGW_EIO, "cannot write %s: %s", path,
		                    strerror(errno));
		unlink(tmp.ptr);
	}
	pgw_buf_release(&tmp);
	return error;
}
