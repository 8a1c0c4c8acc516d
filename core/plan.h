/* plan.h - decide what up or down will run: pending migrations checked
 * against history (edited, unknown, out of order), in segments that each
 * commit at once.  Pure logic: no connection. */
#ifndef PGW_PLAN_H
#define PGW_PLAN_H

#include "pgward.h"

/* Plan `up` from the files in `set` and the applied history `h`.  Parses
 * the pending migrations' statements (bad input: PGW_EINVAL).  Caller owns
 * *out: pgw_run_free(). */
int pgw_plan_up(struct pgw_run **out, struct pgw_migset *set,
		const struct pgw_history *h, const struct pgw_run_opts *opts,
		struct pgw_err *err);
/* Plan `down`: the newest applied migrations, newest first, with their
 * down SQL from history (or the file, PGW_RUN_USE_FILE_DOWN). */
int pgw_plan_down(struct pgw_run **out, const struct pgw_migset *set,
		  const struct pgw_history *h, const struct pgw_run_opts *opts,
		  struct pgw_err *err);

#endif
