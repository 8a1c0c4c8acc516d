/* history.h - pgward.migrations: one row per applied migration, written in
 * the same transaction as the migration itself (the truth of what is
 * applied). */
#ifndef PGW_HISTORY_H
#define PGW_HISTORY_H

#include <libpq-fe.h>

#include "pgward.h"

/* Read the history (an absent table is an empty history, exists=false);
 * `full` also reads the SQL of each migration.  Caller owns *out:
 * pgw_history_free(). */
int pgw_history_load(struct pgw_history **out, PGconn *c, const char *schema,
		     bool full, struct pgw_err *err);
/* Create the schema and table if missing (inside the caller's
 * transaction). */
int pgw_history_ensure(PGconn *c, const char *schema, struct pgw_err *err);
/* Record migrations ms[0..n) as applied (durations may be NULL), in as
 * few statements as possible. */
int pgw_history_insert(PGconn *c, const char *schema,
		       const struct pgw_migration *const *ms,
		       const long long *durations, size_t n,
		       const char *deploy_id, struct pgw_err *err);
/* Store the expected-schema hash with the row of `version`. */
int pgw_history_set_hash(PGconn *c, const char *schema, int64_t version,
			 const char *hash, struct pgw_err *err);
/* The hash stored with the highest version (*out NULL when none). */
int pgw_history_get_hash(char **out, PGconn *c, const char *schema,
			 struct pgw_err *err);
/* Forget versions[0..n): they were reverted. */
int pgw_history_delete(PGconn *c, const char *schema, const int64_t *versions,
		       size_t n, struct pgw_err *err);
/* Borrowed pointer into h, or NULL. */
const struct pgw_applied *pgw_history_find(const struct pgw_history *h,
					   int64_t version);

#endif
