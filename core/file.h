/* file.h - whole files: read into memory, written whole or not at all. */
#ifndef PGW_FILE_H
#define PGW_FILE_H

#include "pgward.h"

/* The file at `path` into *out (NUL-terminated, *len bytes without the
 * NUL; caller frees).  PGW_ENOTFOUND when it does not exist, PGW_EIO
 * when it cannot be read. */
int pgw_file_read(char **out, size_t *len, const char *path,
		  struct pgw_err *err);
/* Write `text` to `path` whole or not at all: PATH.tmp, then renamed; a
 * reader never sees half of it. */
int pgw_file_write(const char *path, const char *text, struct pgw_err *err);

#endif
