/* verify.h - what the other operations need of schema verification:
 * where schema.sql is and the expected-schema hash `up` stores. */
#ifndef PGW_VERIFY_H
#define PGW_VERIFY_H

#include "pgward.h"

/* <migrations dir>/schema.sql; NULL when out of memory. */
char *pgw_schema_file(const struct pgw_config *cfg);
/* The hash of schema.sql and the version it is at; *hash NULL (and 0
 * returned) when there is no usable schema.sql. */
int pgw_expected_hash(char **hash, int64_t *version,
		      const struct pgw_config *cfg, struct pgw_err *err);

#endif
