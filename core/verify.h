/* verify.h - what the other operations need of schema verification:
 * where schema.sql is and the expected-schema hash `up` stores. */
#ifndef PGW_VERIFY_H
#define PGW_VERIFY_H

#include <libpq-fe.h>

#include "pgward.h"

/* <migrations dir>/schema.sql; NULL when out of memory. */
char *pgw_schema_file(const struct pgw_config *cfg);
/* The hash of schema.sql and the version it is at; *hash NULL (and 0
 * returned) when there is no usable schema.sql. */
int pgw_expected_hash(char **hash, int64_t *version,
		      const struct pgw_config *cfg, struct pgw_err *err);

/* The text of <migrations dir>/schema.sql; *out NULL when there is
 * none. */
int pgw_read_schema_file(char **out, const struct pgw_config *cfg,
			 struct pgw_err *err);
/* The verification a deploy runs inside its last migration transaction:
 * the live schema (as the transaction sees it) against `schema_text` (the
 * target's schema.sql), when that is at version `to_vtext`; *out NULL
 * (and 0) when there is nothing to compare with. */
struct pgw_verify_hook;
int pgw_verify_hook(struct pgw_verify_hook **out, const struct pgw_config *cfg,
		    const char *schema_text, const char *to_vtext,
		    struct pgw_err *err);
/* A struct pgw_exec before_commit callback; ctx is the hook. */
int pgw_verify_hook_run(PGconn *c, void *hook, struct pgw_err *err);
void pgw_verify_hook_free(struct pgw_verify_hook *h);

#endif
