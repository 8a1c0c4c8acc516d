/* migrate.h - run a planned up or down: segments in transactions with
 * lock and statement timeouts, retries on lock timeouts and deadlocks, the
 * lock-hold watchdog, transaction:false sections statement by statement,
 * batch:N sections a short transaction per batch, history rows written
 * with the migrations they record. */
#ifndef PGW_MIGRATE_H
#define PGW_MIGRATE_H

#include <libpq-fe.h>

#include "pgward.h"

struct pgw_exec {
	PGconn *conn;   /* runs the migrations */
	PGconn *ctl;    /* holds the deploy lock; progress queries */
	const struct pgw_config *cfg;
	const char *conninfo; /* for the watchdog's own connection */
	const char *app_name;
	const char *deploy_id;
	bool committed_any; /* some segment of this run committed */
	bool quiet;         /* each migration logged at info, not notice */
	bool journal;       /* transaction:false steps and batches to
			     * pgward_journal */
	/* the caller's own lock (pgw_run_opts.still_locked) */
	bool (*still_locked)(void *ctx);
	void *still_locked_ctx;
	/* the caller's pgw_run_opts.each_commit and last_commit */
	int (*each_commit)(PGconn *conn, void *ctx, struct pgw_err *err);
	int (*last_commit)(PGconn *conn, void *ctx, struct pgw_err *err);
	void *commit_ctx;
	/* run inside the last segment's transaction, before its COMMIT (the
	 * deploy's schema verification): an error rolls the segment back */
	int (*before_commit)(PGconn *conn, void *ctx, struct pgw_err *err);
	void *before_commit_ctx;
	/* the expected-schema hash stored with the row of this version */
	const char *schema_hash;
	int64_t schema_hash_version;
};

/* A verify statement's result: what makes it fail ("false", "NULL", "no
 * row"), or NULL when it passes. */
const char *pgw_verify_failed(const PGresult *res);

/* Run every segment of `run` in order; stops at the first failure, which
 * has been rolled back: PGW_EFAILED (exit 1), or PGW_EUNSAFE when the
 * outcome cannot be known (connection lost during COMMIT). */
int pgw_exec_run(struct pgw_exec *x, struct pgw_run *run, struct pgw_err *err);

#endif
