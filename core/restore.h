/* restore.h - what of restore.c serves other modules besides the whole
 * restore of pgward.h: the rows of some tables, put back from an archive
 * (the deploy's way back for destructive migrations). */
#ifndef PGW_RESTORE_H
#define PGW_RESTORE_H

#include <libpq-fe.h>

#include "pgward.h"

/* A table, unquoted. */
struct pgw_table_ref {
	const char *schema, *name;
};

/* Inside the caller's open transaction on `c`: every checksum of the
 * archive `path` checked first, then the tables truncated together and
 * their rows loaded from the archive (checked again as they stream).
 * A table the archive does not hold is PGW_EINVAL before anything is
 * changed.  *rows: how many were loaded. */
int pgw_restore_rows(PGconn *c, const char *path,
		     const struct pgw_table_ref *tables, size_t n,
		     long long *rows, struct pgw_err *err);

#endif
