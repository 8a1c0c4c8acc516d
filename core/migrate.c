/* migrate.c - the executor of up and down. */
#include "migrate.h"

#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "clock.h"
#include "fault.h"
#include "history.h"
#include "interrupt.h"
#include "journal.h"
#include "lock.h"
#include "pg.h"
#include "sqlparse.h"
#include "watchdog.h"

/* ROLLBACK only when a transaction is open: no warning otherwise. */
static void rollback(struct pgw_exec *x)
{
	if (PQtransactionStatus(x->conn) != PQTRANS_IDLE)
		PQclear(PQexec(x->conn, "ROLLBACK"));
}

static bool retryable(const struct pgw_err *err)
{
	return !strcmp(err->sqlstate, "55P03") || !strcmp(err->sqlstate, "40P01");
}

/* Jittered exponential back-off: 0.2 s, 0.4 s, 0.8 s ... times 0.5-1.5. */
static double backoff_s(int attempt)
{
	double base = 0.2 * (double)(1 << (attempt < 6 ? attempt : 6));

	return base * (0.5 + pgw_clock_jitter());
}

/* Name the statement in an error: "file:line: 'CREATE ...': message". */
static void wrap_stmt(struct pgw_err *err, const struct pgw_migration *m,
		      const struct pgw_stmt *st)
{
	struct pgw_buf what = PGW_BUF_INIT;

	pgw_stmt_summary(&what, st->sql);
	pgw_err_wrap(err, "%s:%d: '%s'", m->file, st->line, what.ptr);
	pgw_buf_release(&what);
}

static int interrupted(struct pgw_err *err)
{
	pgw_err_clear(err);
	return pgw_err_set(err, PGW_EFAILED, "interrupted by a signal");
}

/* Run one statement, after `prefix` (more SQL sent in the same round
 * trip) when given. */
static int exec_stmt(struct pgw_exec *x, const struct pgw_migration *m,
		     const struct pgw_stmt *st, const char *prefix,
		     struct pgw_watchdog *wd, struct pgw_err *err)
{
	struct pgw_buf both = PGW_BUF_INIT;
	char why[512];
	int error;

	if (pgw_interrupted())
		return interrupted(err);
	if (prefix) {
		pgw_buf_printf(&both, "%s %s", prefix, st->sql);
		if (pgw_buf_oom(&both))
			return pgw_err_oom(err);
	}
	error = pgw_pg_run(x->conn, prefix ? both.ptr : st->sql, err);
	pgw_buf_release(&both);
	if (error && pgw_interrupted())
		return interrupted(err);

	if (!error)
		return 0;
	if (pgw_watchdog_fired(wd, why, sizeof(why))) {
		struct pgw_buf what = PGW_BUF_INIT;

		pgw_stmt_summary(&what, st->sql);
		pgw_err_clear(err);
		pgw_err_set(err, PGW_EFAILED,
			    "%s:%d: cancelled '%s': the migration %s",
			    m->file, st->line, what.ptr, why);
		pgw_err_hint(err, "make the change in steps that hold the lock briefly (e.g. add a column without a volatile default, backfill in batches), or raise --max-lock-hold for a maintenance window");
		pgw_buf_release(&what);
		return err->code;
	}
	wrap_stmt(err, m, st);
	return error;
}

const char *pgw_verify_failed(const PGresult *res)
{
	if (PQresultStatus(res) != PGRES_TUPLES_OK)
		return NULL;
	if (PQntuples(res) == 0 || PQnfields(res) == 0)
		return "no row";
	if (PQgetisnull(res, 0, 0))
		return "NULL";
	return strcmp(PQgetvalue(res, 0, 0), "f") == 0 ? "false" : NULL;
}

/* The verify section: every statement must succeed, and a query's first
 * value must be neither false nor NULL. */
static int run_verify(struct pgw_exec *x, const struct pgw_migration *m,
		      struct pgw_watchdog *wd, struct pgw_err *err)
{
	size_t i;

	for (i = 0; i < m->verify.n_stmts; i++) {
		const struct pgw_stmt *st = &m->verify.stmts[i];
		PGresult *res = PQexec(x->conn, st->sql);
		ExecStatusType s = PQresultStatus(res);
		bool bad;

		if (s != PGRES_TUPLES_OK && s != PGRES_COMMAND_OK) {
			pgw_pg_error(err, x->conn, res);
			PQclear(res);
			wrap_stmt(err, m, st);
			pgw_err_wrap(err, "verify");
			(void)wd;
			return err->code;
		}
		bad = pgw_verify_failed(res) != NULL;
		if (bad) {
			struct pgw_buf what = PGW_BUF_INIT;
			const char *got = pgw_verify_failed(res);

			pgw_stmt_summary(&what, st->sql);
			pgw_err_set(err, PGW_EFAILED,
				    "%s:%d: verify failed: '%s' returned %s",
				    m->file, st->line, what.ptr, got);
			pgw_buf_release(&what);
			PQclear(res);
			return err->code;
		}
		PQclear(res);
	}
	return 0;
}

static void session_reset_sql(struct pgw_buf *sql, bool local, int lock_ms,
			      int stmt_ms)
{
	pgw_buf_printf(sql,
		       "RESET ROLE; RESET search_path; SET %slock_timeout = %d;"
		       " SET %sstatement_timeout = %d;",
		       local ? "LOCAL " : "", lock_ms, local ? "LOCAL " : "",
		       stmt_ms);
}

static int session_reset(struct pgw_exec *x, bool local, int lock_ms,
			 int stmt_ms, struct pgw_err *err)
{
	struct pgw_buf sql = PGW_BUF_INIT;
	int error;

	session_reset_sql(&sql, local, lock_ms, stmt_ms);
	error = pgw_buf_oom(&sql) ? pgw_err_oom(err) :
				    pgw_pg_run(x->conn, sql.ptr, err);
	pgw_buf_release(&sql);
	return error;
}

/* Back to pgward's own settings before it writes history: a migration's
 * SET ROLE must not decide who applied it. */
static int bookkeeping_mode(struct pgw_exec *x, struct pgw_err *err)
{
	return pgw_pg_run(x->conn,
			  "RESET ROLE; SELECT pg_catalog.set_config('search_path', 'pg_catalog', false)",
			  err);
}

/* The history rows of items[first..last], in one statement. */
static int record(struct pgw_exec *x, struct pgw_run *run, size_t first,
		  size_t last, struct pgw_err *err)
{
	size_t n = last - first + 1, i;
	const struct pgw_migration **ms = calloc(n, sizeof(*ms));
	long long *ds = calloc(n, sizeof(*ds));
	int64_t *vs = calloc(n, sizeof(*vs));
	int error;

	if (!ms || !ds || !vs) {
		error = pgw_err_oom(err);
		goto done;
	}
	for (i = 0; i < n; i++) {
		ms[i] = run->items[first + i].m;
		ds[i] = run->items[first + i].duration_ms;
		vs[i] = ms[i]->version;
	}
	error = bookkeeping_mode(x, err);
	if (error)
		goto done;
	if (run->down)
		error = pgw_history_delete(x->conn, x->cfg->schema, vs, n, err);
	else
		error = pgw_history_insert(x->conn, x->cfg->schema, ms, ds, n,
					   x->deploy_id, err);
	for (i = 0; !error && !run->down && x->schema_hash && i < n; i++)
		if (vs[i] == x->schema_hash_version)
			error = pgw_history_set_hash(x->conn, x->cfg->schema,
						     vs[i], x->schema_hash, err);
done:
	free(ms);
	free(ds);
	free(vs);
	return error;
}

/* Before a COMMIT: the run's lock, and the caller's when it has one. */
static bool locks_held(struct pgw_exec *x)
{
	return pgw_lock_held(x->ctl, x->cfg->schema) &&
	       (!x->still_locked || x->still_locked(x->still_locked_ctx));
}

static int lock_lost(struct pgw_exec *x, struct pgw_err *err)
{
	pgw_err_set(err, x->committed_any ? PGW_EUNSAFE : PGW_EFAILED,
		    "lost the deploy lock (the control connection ended); rolled back before COMMIT");
	return err->code;
}

/* COMMIT; a connection lost during it leaves the outcome unknown. */
static int commit(struct pgw_exec *x, struct pgw_err *err)
{
	PGresult *res = PQexec(x->conn, "COMMIT");
	ExecStatusType s = PQresultStatus(res);
	int error = 0;

	if (s != PGRES_COMMAND_OK) {
		error = pgw_pg_error(err, x->conn, res);
		if (PQstatus(x->conn) != CONNECTION_OK) {
			pgw_err_clear(err);
			error = pgw_err_set(err, PGW_EUNSAFE,
					    "the connection was lost during COMMIT: whether the last segment committed is unknown");
			pgw_err_hint(err, "run 'pgward status' to see which migrations are recorded as applied");
		}
	} else if (strcmp(PQcmdStatus(res), "COMMIT") != 0) {
		/* "ROLLBACK": the transaction had failed */
		error = pgw_err_set(err, PGW_EFAILED,
				    "the transaction was rolled back at COMMIT");
	}
	PQclear(res);
	return error;
}

/* The end of a segment's transaction: the caller's commit hooks (and,
 * for the run's last one, the schema verification), then COMMIT unless a
 * signal came or a lock was lost. */
static int commit_segment(struct pgw_exec *x, bool last, struct pgw_err *err)
{
	int error = 0;

	if (x->each_commit)
		error = x->each_commit(x->conn, x->commit_ctx, err);
	if (!error && last && x->before_commit)
		error = x->before_commit(x->conn, x->before_commit_ctx, err);
	if (!error && last && x->last_commit)
		error = x->last_commit(x->conn, x->commit_ctx, err);
	if (error)
		return error;
	if (pgw_interrupted())
		return interrupted(err);
	if (!locks_held(x))
		return lock_lost(x, err);
	return commit(x, err);
}

static int try_segment(struct pgw_exec *x, struct pgw_run *run, size_t first,
		       size_t last, struct pgw_watchdog *wd,
		       struct pgw_err *err)
{
	int lock_ms = x->cfg->lock_timeout_ms;
	int stmt_ms = x->cfg->timeout_s * 1000;
	struct pgw_buf reset = PGW_BUF_INIT;
	size_t i, k;
	int error;

	pgw_fault("segment-before");
	error = pgw_pg_run(x->conn, "BEGIN", err);
	if (!error)
		error = pgw_history_ensure(x->conn, x->cfg->schema, err);
	if (error)
		return error;
	for (i = first; i <= last; i++) {
		struct pgw_plan_item *it = &run->items[i];
		const struct pgw_migration *m = it->m;
		double t0 = pgw_clock_now();

		pgw_log_info("%s %s", run->down ? "reverting" : "applying",
			     m->file);
		/* the reset travels with the first statement: one round
		 * trip fewer per migration */
		pgw_buf_reset(&reset);
		session_reset_sql(&reset, true, lock_ms, stmt_ms);
		if (!it->sql->n_stmts)
			error = pgw_pg_run(x->conn, reset.ptr, err);
		for (k = 0; !error && k < it->sql->n_stmts; k++) {
			error = exec_stmt(x, m, &it->sql->stmts[k],
					  k ? NULL : reset.ptr, wd, err);
			pgw_fault("segment-inside");
		}
		if (!error && !run->down)
			error = run_verify(x, m, wd, err);
		it->duration_ms = (long long)((pgw_clock_now() - t0) * 1000);
		if (error)
			break;
	}
	pgw_buf_release(&reset);
	if (!error)
		error = record(x, run, first, last, err);
	return error ? error : commit_segment(x, last + 1 == run->n, err);
}

/* After a failed attempt, rolled back: whether to try again (a lock
 * timeout or deadlock, retries left, no watchdog, no signal); if so,
 * after the jittered back-off. */
static bool retry_after(struct pgw_exec *x, struct pgw_watchdog *wd,
			int attempt, bool retryable_error, struct pgw_err *err)
{
	double wait;

	if (!retryable_error || pgw_watchdog_fired(wd, NULL, 0) ||
	    pgw_interrupted() || attempt >= x->cfg->lock_retries)
		return false;
	wait = backoff_s(attempt);
	pgw_log_notice("%s (attempt %d of %d); retrying in %.1f s", err->msg,
		       attempt + 1, x->cfg->lock_retries + 1, wait);
	pgw_err_clear(err);
	pgw_watchdog_reset(wd);
	pgw_clock_sleep(wait);
	return true;
}

static int run_segment(struct pgw_exec *x, struct pgw_run *run, size_t first,
		       size_t last, struct pgw_watchdog *wd,
		       struct pgw_err *err)
{
	int attempt, error;
	size_t i;

	for (attempt = 0;; attempt++) {
		error = try_segment(x, run, first, last, wd, err);
		if (!error)
			break;
		rollback(x);
		if (!retry_after(x, wd, attempt, retryable(err), err))
			return error;
	}
	for (i = first; i <= last; i++) {
		run->items[i].done = true;
		pgw_log(x->quiet ? PGW_LOG_INFO : PGW_LOG_NOTICE,
			"%s %s (%lld ms)", run->down ? "reverted" : "applied",
			run->items[i].m->file, run->items[i].duration_ms);
	}
	x->committed_any = true;
	pgw_fault("segment-after");
	return 0;
}

/* The index a CREATE/DROP INDEX CONCURRENTLY names, if it exists: its
 * qualified name, definition and validity (owned by *out). */
static int index_lookup(PGresult **out, struct pgw_exec *x,
			const struct pgw_stmt *st, struct pgw_err *err)
{
	const char *params[3] = { st->index_name, st->index_schema,
				  st->index_table };

	/* an index lives in its table's schema */
	return pgw_pg_exec(out, x->conn,
			   "SELECT pg_catalog.format('%I.%I', n.nspname, c.relname),"
			   " pg_catalog.pg_get_indexdef(c.oid), i.indisvalid"
			   " FROM pg_catalog.pg_class c"
			   " JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace"
			   " JOIN pg_catalog.pg_index i ON i.indexrelid = c.oid"
			   " WHERE c.relname = $1 AND n.oid = CASE"
			   " WHEN $2::text IS NOT NULL THEN"
			   "  (SELECT oid FROM pg_catalog.pg_namespace WHERE nspname = $2::text)"
			   " WHEN $3::text IS NOT NULL THEN"
			   "  (SELECT relnamespace FROM pg_catalog.pg_class"
			   "   WHERE oid = pg_catalog.to_regclass(pg_catalog.format('%I', $3::text)))"
			   " ELSE (SELECT relnamespace FROM pg_catalog.pg_class"
			   "   WHERE oid = pg_catalog.to_regclass(pg_catalog.format('%I', $1::text)))"
			   " END",
			   3, params, err);
}

/* Concurrent DDL outside a transaction, with no lock_timeout. */
static int run_concurrent_ddl(struct pgw_exec *x, const char *sql,
			      struct pgw_err *err)
{
	int error = pgw_pg_run(x->conn, "SET lock_timeout = 0", err);

	if (!error)
		error = pgw_pg_run(x->conn, sql, err);
	return error;
}

/* An INVALID index left by a failed or killed concurrent build would
 * still reject the application's inserts: drop it at once.  DROP INDEX
 * CONCURRENTLY waits for every transaction using the table, within the
 * concurrent time limit; when one outlasts it (the one that made the
 * build time out, often), a plain DROP INDEX takes the table's lock for
 * a moment instead, within lock_timeout.  When both fail, *left names
 * the index (the caller reports it; NULL when nothing is left). */
static int drop_invalid_index(struct pgw_exec *x, const struct pgw_stmt *st,
			      char **left, struct pgw_err *err)
{
	struct pgw_buf sql = PGW_BUF_INIT;
	PGresult *res = NULL;
	char *name;
	int error;

	if (left)
		*left = NULL;
	if (!st->index_name)
		return 0;
	error = index_lookup(&res, x, st, err);
	if (error || PQntuples(res) == 0 ||
	    strcmp(PQgetvalue(res, 0, 2), "f") != 0) {
		PQclear(res);
		return error;
	}
	name = strdup(PQgetvalue(res, 0, 0));
	PQclear(res);
	if (!name)
		return pgw_err_oom(err);
	pgw_log_notice("dropping INVALID index %s left by a failed concurrent build", name);
	pgw_buf_printf(&sql, "DROP INDEX CONCURRENTLY IF EXISTS %s", name);
	error = pgw_buf_oom(&sql) ? pgw_err_oom(err) : run_concurrent_ddl(x, sql.ptr, err);
	if (error && !pgw_interrupted()) {
		struct pgw_err plain = PGW_ERR_INIT;

		pgw_buf_reset(&sql);
		pgw_buf_printf(&sql, "SET lock_timeout = %d; SET statement_timeout = %d;"
			       " DROP INDEX IF EXISTS %s",
			       x->cfg->lock_timeout_ms, x->cfg->lock_timeout_ms + 10000, name);
		if (!pgw_buf_oom(&sql) && pgw_pg_run(x->conn, sql.ptr, &plain) == 0) {
			pgw_err_clear(err);
			error = 0;
		}
	}
	if (error && left)
		*left = name;
	else
		free(name);
	pgw_buf_release(&sql);
	return error;
}

/* What undoes the statements a transaction:false section has run so far:
 * indexes it created are dropped, indexes it dropped are rebuilt from
 * their definition.  (An added enum value, VACUUM or ANALYZE needs no
 * undoing.) */
struct undo_list {
	char **sql;
	size_t n;
};

static void undo_push(struct undo_list *u, struct pgw_buf *sql)
{
	char **v = realloc(u->sql, (u->n + 1) * sizeof(*v));
	char *s = pgw_buf_detach(sql);

	if (!v || !s) {
		free(s);
		if (v)
			u->sql = v;
		return;
	}
	u->sql = v;
	u->sql[u->n++] = s;
}

static void undo_release(struct undo_list *u)
{
	size_t i;

	for (i = 0; i < u->n; i++)
		free(u->sql[i]);
	free(u->sql);
	u->sql = NULL;
	u->n = 0;
}

/* The statement that drops the index a CREATE INDEX CONCURRENTLY is
 * about to make, for the step journal (pgward recover runs it when the
 * migration is undone after pgward died). */
static char *drop_new_index_sql(struct pgw_exec *x, const struct pgw_stmt *st)
{
	const char *params[3] = { st->index_name, st->index_schema,
				  st->index_table };
	struct pgw_err ignored = PGW_ERR_INIT;
	PGresult *res = NULL;
	char *sql = NULL;

	if (pgw_pg_exec(&res, x->conn,
			"SELECT pg_catalog.format('DROP INDEX CONCURRENTLY IF EXISTS %I.%I',"
			" COALESCE($2::text, (SELECT n.nspname FROM pg_catalog.pg_class c"
			"  JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace"
			"  WHERE c.oid = pg_catalog.to_regclass(pg_catalog.format('%I', $3::text)))),"
			" $1::text)",
			3, params, &ignored) == 0 &&
	    PQntuples(res) == 1 && !PQgetisnull(res, 0, 0))
		sql = strdup(PQgetvalue(res, 0, 0));
	PQclear(res);
	return sql;
}

/* Before a statement runs: note what would undo it (*step_undo: the same
 * for the journal, or NULL). */
static int undo_prepare(struct undo_list *u, bool *created, char **step_undo,
			struct pgw_exec *x, const struct pgw_stmt *st,
			struct pgw_err *err)
{
	struct pgw_buf sql = PGW_BUF_INIT;
	PGresult *res = NULL;
	int error;

	*created = false;
	*step_undo = NULL;
	if (!(st->flags & (PGW_STMT_CONCURRENT_INDEX | PGW_STMT_DROP_INDEX)) ||
	    !st->index_name)
		return 0;
	error = index_lookup(&res, x, st, err);
	if (error)
		return error;
	if ((st->flags & PGW_STMT_CONCURRENT_INDEX) && PQntuples(res) == 0) {
		*created = true; /* the undo is pushed once it exists */
		if (x->journal)
			*step_undo = drop_new_index_sql(x, st);
	} else if ((st->flags & PGW_STMT_DROP_INDEX) && PQntuples(res) > 0) {
		const char *def = PQgetvalue(res, 0, 1);
		const char *at = strstr(def, "INDEX ");

		if (at) {
			pgw_buf_put(&sql, def, (size_t)(at - def) + 6);
			pgw_buf_puts(&sql, "CONCURRENTLY IF NOT EXISTS ");
			pgw_buf_puts(&sql, at + 6);
			if (x->journal && !pgw_buf_oom(&sql))
				*step_undo = strdup(sql.ptr);
			undo_push(u, &sql);
		}
	}
	PQclear(res);
	pgw_buf_release(&sql);
	return 0;
}

/* pgward_journal.steps: one row per transaction:false statement of a
 * deploy, before it runs and after. */
static void journal_step(struct pgw_exec *x, const struct pgw_migration *m,
			 size_t k, const struct pgw_stmt *st, const char *undo,
			 const char *status)
{
	if (x->journal)
		pgw_journal_statement(x->ctl, x->deploy_id, m->vtext,
				      (int)k + 1, st->sql, undo, status);
}

/* After a CREATE INDEX CONCURRENTLY that made a new index. */
static void undo_created(struct undo_list *u, struct pgw_exec *x,
			 const struct pgw_stmt *st)
{
	struct pgw_err ignored = PGW_ERR_INIT;
	struct pgw_buf sql = PGW_BUF_INIT;
	PGresult *res = NULL;

	if (index_lookup(&res, x, st, &ignored) == 0 && PQntuples(res) > 0) {
		pgw_buf_printf(&sql, "DROP INDEX CONCURRENTLY IF EXISTS %s",
			       PQgetvalue(res, 0, 0));
		undo_push(u, &sql);
	}
	PQclear(res);
	pgw_buf_release(&sql);
}

/* Run the undo list newest first; false if any step failed. */
static bool undo_run(struct undo_list *u, struct pgw_exec *x,
		     struct pgw_buf *failed)
{
	bool ok = true;
	size_t i;

	rollback(x);
	for (i = u->n; i > 0; i--) {
		struct pgw_err e = PGW_ERR_INIT;

		pgw_log_notice("undoing: %s", u->sql[i - 1]);
		if (run_concurrent_ddl(x, u->sql[i - 1], &e)) {
			ok = false;
			pgw_buf_printf(failed, "%s%s (%s)", failed->len ? "; " : "",
				       u->sql[i - 1], e.msg);
		}
	}
	return ok;
}

/* Where a concurrent index build is (pg_stat_progress_create_index), for
 * the progress display: its phase and how far it is in percent, or, while
 * it waits for other sessions (old snapshots, writers), whom it waits for
 * and no percentage. */
static void report_index_progress(struct pgw_exec *x, const struct pgw_stmt *st,
				  double elapsed, bool finished)
{
	char pid[16], item[256];
	const char *params[1] = { pid };
	const char *name = st->index_name ? st->index_name : "?";
	struct pgw_progress p = { "index", item, 100, 100, 0, elapsed, true };
	struct pgw_err err = PGW_ERR_INIT;
	PGresult *res = NULL;

	if (finished) {
		snprintf(item, sizeof(item), "%s: built", name);
		pgw_progress_report(&p);
		return;
	}
	snprintf(pid, sizeof(pid), "%d", PQbackendPID(x->conn));
	if (pgw_pg_exec(&res, x->ctl,
			"SELECT phase, blocks_done, blocks_total, tuples_done, tuples_total,"
			" current_locker_pid"
			" FROM pg_catalog.pg_stat_progress_create_index WHERE pid = $1::int",
			1, params, &err) == 0 &&
	    PQntuples(res) == 1) {
		const char *phase = PQgetvalue(res, 0, 0);
		double bd = strtod(PQgetvalue(res, 0, 1), NULL);
		double bt = strtod(PQgetvalue(res, 0, 2), NULL);
		double td = strtod(PQgetvalue(res, 0, 3), NULL);
		double tt = strtod(PQgetvalue(res, 0, 4), NULL);
		const char *locker = PQgetvalue(res, 0, 5);
		bool waiting = !strncmp(phase, "waiting", 7);

		if (waiting && *locker && strcmp(locker, "0") != 0)
			snprintf(item, sizeof(item), "%s: %s (pid %s)", name, phase, locker);
		else
			snprintf(item, sizeof(item), "%s: %s", name, phase);
		p.done = waiting ? -1 : bt > 0 ? 100 * bd / bt : tt > 0 ? 100 * td / tt : 0;
		p.finished = false;
		pgw_progress_report(&p);
	}
	PQclear(res);
}

/* Run a long statement asynchronously, reporting progress meanwhile. */
static int run_with_progress(struct pgw_exec *x, const struct pgw_stmt *st,
			     struct pgw_err *err)
{
	double t0 = pgw_clock_now();
	bool index = st->flags & PGW_STMT_CONCURRENT_INDEX;
	PGresult *res, *failed = NULL;

	if (!PQsendQuery(x->conn, st->sql))
		return pgw_pg_error(err, x->conn, NULL);
	for (;;) {
		struct pollfd pfd = { PQsocket(x->conn), POLLIN, 0 };

		if (!PQconsumeInput(x->conn))
			return pgw_pg_error(err, x->conn, NULL);
		if (!PQisBusy(x->conn))
			break;
		/* the display decides what to draw: a bar on a terminal, a
		 * line every 5 s in a log */
		if (poll(&pfd, 1, 1000) == 0 && index)
			report_index_progress(x, st, pgw_clock_now() - t0, false);
	}
	while ((res = PQgetResult(x->conn))) {
		ExecStatusType s = PQresultStatus(res);

		if (s != PGRES_COMMAND_OK && s != PGRES_TUPLES_OK && !failed)
			failed = res;
		else
			PQclear(res);
	}
	if (failed) {
		pgw_pg_error(err, x->conn, failed);
		PQclear(failed);
		return err->code;
	}
	/* a build that showed progress ends its bar with a line */
	if (index && pgw_clock_now() - t0 >= 1)
		report_index_progress(x, st, pgw_clock_now() - t0, true);
	return 0;
}

/* After a failure in a transaction:false migration: undo what its
 * statements did, so the database is back where the migration started;
 * when that is not possible, a human must look (PGW_EUNSAFE). */
static int notx_failed(struct undo_list *u, struct pgw_exec *x,
		       const struct pgw_migration *m, struct pgw_err *err)
{
	struct pgw_buf failed = PGW_BUF_INIT;
	int code;

	if (!u->n)
		return err->code;
	if (undo_run(u, x, &failed)) {
		pgw_err_note(err, "the statements of %s that had run were undone", m->file);
		code = err->code;
	} else {
		pgw_err_note(err, "%s ran in part and could not be undone: %s",
			     m->file, failed.ptr);
		pgw_err_hint(err, "its statements are idempotent: fix the cause and run 'pgward up' again to finish it, or undo them by hand");
		err->code = PGW_EUNSAFE;
		code = PGW_EUNSAFE;
	}
	pgw_buf_release(&failed);
	return code;
}

/* A transaction:false migration: each statement on its own (they are all
 * idempotent), then verify and the history row in one short transaction.
 * A failure undoes what had run. */
static int run_notx(struct pgw_exec *x, struct pgw_run *run, size_t idx,
		    struct pgw_watchdog *wd, struct pgw_err *err)
{
	struct pgw_plan_item *it = &run->items[idx];
	const struct pgw_migration *m = it->m;
	struct undo_list undo = { NULL, 0 };
	int long_ms = x->cfg->concurrent_timeout_s * 1000;
	double t0 = pgw_clock_now();
	char *left_invalid = NULL;
	size_t k;
	int error = 0, attempt;

	pgw_fault("segment-before");
	pgw_log_info("%s %s (transaction:false: statement by statement)",
		     run->down ? "reverting" : "applying", m->file);
	for (k = 0; k < it->sql->n_stmts; k++) {
		const struct pgw_stmt *st = &it->sql->stmts[k];
		bool concurrent = !(st->flags & PGW_STMT_ADD_ENUM_VALUE);
		bool created = false;
		char *step_undo = NULL;

		if (pgw_interrupted()) {
			error = interrupted(err);
			goto fail;
		}
		if (!locks_held(x)) {
			error = lock_lost(x, err);
			goto fail;
		}
		error = session_reset(x, false, 0, long_ms, err);
		if (!error && (st->flags & PGW_STMT_CONCURRENT_INDEX))
			error = drop_invalid_index(x, st, NULL, err);
		if (!error)
			error = undo_prepare(&undo, &created, &step_undo, x, st,
					     err);
		if (error)
			goto fail;
		journal_step(x, m, k, st, step_undo, "running");
		free(step_undo);
		if (k > 0)
			pgw_fault("notx-between");
		for (attempt = 0;; attempt++) {
			/* concurrent builds wait for old transactions by
			 * design: no lock_timeout, their own time limit */
			error = session_reset(x, false, concurrent ? 0 : x->cfg->lock_timeout_ms,
					      concurrent ? long_ms : x->cfg->timeout_s * 1000,
					      err);
			if (!error)
				error = run_with_progress(x, st, err);
			if (!error || !retryable(err) || pgw_interrupted() ||
			    attempt >= x->cfg->lock_retries)
				break;
			pgw_err_clear(err);
			pgw_clock_sleep(backoff_s(attempt));
		}
		if (error && pgw_interrupted()) {
			interrupted(err);
		} else if (error) {
			wrap_stmt(err, m, st);
		}
		if (error) {
			struct pgw_err cleanup = PGW_ERR_INIT;

			if (st->flags & PGW_STMT_CONCURRENT_INDEX &&
			    drop_invalid_index(x, st, &left_invalid, &cleanup) && left_invalid)
				pgw_err_note(err, "dropping the INVALID index it left failed too: %s",
					     cleanup.msg);
			goto fail;
		}
		if (created)
			undo_created(&undo, x, st);
		journal_step(x, m, k, st, NULL, "done");
	}
	error = pgw_pg_run(x->conn, "RESET lock_timeout; RESET statement_timeout", err);
	if (!error)
		error = pgw_pg_run(x->conn, "BEGIN", err);
	if (!error)
		error = pgw_history_ensure(x->conn, x->cfg->schema, err);
	if (!error)
		error = session_reset(x, true, x->cfg->lock_timeout_ms,
				      x->cfg->timeout_s * 1000, err);
	if (!error && !run->down)
		error = run_verify(x, m, wd, err);
	it->duration_ms = (long long)((pgw_clock_now() - t0) * 1000);
	if (!error)
		error = record(x, run, idx, idx, err);
	if (!error && !locks_held(x))
		error = lock_lost(x, err);
	if (!error)
		error = commit(x, err);
	if (error)
		goto fail;
	undo_release(&undo);
	it->done = true;
	x->committed_any = true;
	pgw_log(x->quiet ? PGW_LOG_INFO : PGW_LOG_NOTICE, "%s %s (%lld ms)",
		run->down ? "reverted" : "applied", m->file, it->duration_ms);
	pgw_fault("segment-after");
	return 0;
fail:
	rollback(x);
	if (err->code != PGW_EUNSAFE)
		error = notx_failed(&undo, x, m, err);
	if (left_invalid) {
		/* the application's writes still maintain it (a unique one
		 * rejects rows): not a known-good state */
		pgw_err_note(err, "INVALID index %s is still there", left_invalid);
		pgw_err_hint(err, "when the sessions using its table are done, run: DROP INDEX CONCURRENTLY IF EXISTS %s;",
			     left_invalid);
		err->code = PGW_EUNSAFE;
		error = PGW_EUNSAFE;
		free(left_invalid);
	}
	{
		struct pgw_err ignored = PGW_ERR_INIT;

		pgw_pg_run(x->conn, "RESET lock_timeout; RESET statement_timeout", &ignored);
	}
	undo_release(&undo);
	return error;
}

/* ---------------------------------------------------------------------- */
/* batch:N migrations: one DML statement run again and again, each run its
 * own short transaction limited to N rows, until a run touches no row.
 * The statement excludes the rows it has done, so a run that stopped
 * half-way resumes where it was; the history row is written only with the
 * run that finds nothing left. */

struct batch_run {
	char *sql;           /* the statement, :batch bound as $1 */
	char n[24];          /* N, as the parameter's text */
	long long rows;      /* rows changed by this run's batches */
	long long batches;   /* batches committed by this run */
	long long no;        /* the journal's batch number */
	double total;        /* the count section's rows; < 0: unknown */
	double t0;
};

/* The count section: the rows left to do, for progress only (a failure is
 * a warning).  Read-only, with the migration's timeouts. */
static double batch_count(struct pgw_exec *x, const struct pgw_migration *m)
{
	const struct pgw_stmt *st = &m->count.stmts[0];
	struct pgw_err e = PGW_ERR_INIT;
	PGresult *res = NULL;
	double total = -1;
	int error;

	if (!m->count.present || !m->count.n_stmts)
		return -1;
	error = pgw_pg_run(x->conn, "BEGIN READ ONLY", &e);
	if (!error)
		error = session_reset(x, true, x->cfg->lock_timeout_ms,
				      x->cfg->timeout_s * 1000, &e);
	if (!error)
		error = pgw_pg_exec(&res, x->conn, st->sql, 0, NULL, &e);
	if (!error && PQntuples(res) == 1 && PQnfields(res) >= 1 &&
	    !PQgetisnull(res, 0, 0))
		total = strtod(PQgetvalue(res, 0, 0), NULL);
	else if (!error)
		snprintf(e.msg, sizeof(e.msg), "it gave no number");
	if (total < 0)
		pgw_log_warn("%s:%d: count section: %s; progress without an ETA",
			     m->up_file ? m->up_file : m->file, st->line, e.msg);
	PQclear(res);
	rollback(x);
	return total;
}

/* pgward_journal.steps: a row per batch of a deploy (statement = the
 * batch's number), "running" before it and "done" with its rows after
 * its COMMIT: recover sees a batch migration part-way, an operator sees
 * how far it got. */
static void journal_batch(struct pgw_exec *x, const struct pgw_migration *m,
			  const struct batch_run *b, const char *status,
			  long long rows)
{
	struct pgw_err e = PGW_ERR_INIT;
	char no[24], text[256];
	const char *p[5] = { x->deploy_id, status, m->vtext, no, text };
	int error;

	if (!x->journal)
		return;
	snprintf(no, sizeof(no), "%lld", b->no);
	if (!strcmp(status, "running")) {
		snprintf(text, sizeof(text), "batch %lld of %s (batch:%s)",
			 b->no, m->file, b->n);
		error = pgw_pg_exec(NULL, x->ctl,
				    "INSERT INTO pgward_journal.steps (deploy_id,"
				    " stage, status, version, statement, sql)"
				    " VALUES ($1, 'migrate', $2, $3, $4::int, $5)",
				    5, p, &e);
	} else {
		snprintf(text, sizeof(text),
			 "batch %lld of %s (batch:%s): %lld rows, %lld in all%s",
			 b->no, m->file, b->n, rows, b->rows,
			 rows ? "" : "; recorded as applied");
		error = pgw_pg_exec(NULL, x->ctl,
				    "UPDATE pgward_journal.steps SET status = $2,"
				    " sql = $5, at = pg_catalog.now()"
				    " WHERE deploy_id = $1 AND version = $3"
				    " AND statement = $4::int",
				    5, p, &e);
	}
	if (error)
		pgw_log_warn("journal: %s", e.msg);
}

/* Batch numbers of a deploy resumed by recover go on from where the
 * journal stopped. */
static long long journal_last_batch(struct pgw_exec *x,
				    const struct pgw_migration *m)
{
	struct pgw_err e = PGW_ERR_INIT;
	const char *p[2] = { x->deploy_id, m->vtext };
	PGresult *res = NULL;
	long long no = 0;

	if (!x->journal)
		return 0;
	if (pgw_pg_exec(&res, x->ctl,
			"SELECT pg_catalog.max(statement) FROM pgward_journal.steps"
			" WHERE deploy_id = $1 AND version = $2",
			2, p, &e) == 0 &&
	    !PQgetisnull(res, 0, 0))
		no = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
	PQclear(res);
	return no;
}

/* One batch in its own transaction.  When the statement touched rows the
 * batch commits.  When it touched none, the migration looks complete: the
 * `final` run checks it in one snapshot (REPEATABLE READ), so that what
 * the application writes meanwhile cannot make the verify section see
 * rows the statement did not: if the statement touches none there either,
 * the verify section and the history row commit in that transaction (with
 * the deploy's checks when it is the run's last). */
static int try_batch(struct pgw_exec *x, struct pgw_run *run, size_t idx,
		     struct batch_run *b, bool final, long long *rows,
		     struct pgw_watchdog *wd, struct pgw_err *err)
{
	struct pgw_plan_item *it = &run->items[idx];
	const struct pgw_migration *m = it->m;
	const char *params[1] = { b->n };
	const Oid types[1] = { 20 }; /* int8 */
	struct pgw_buf begin = PGW_BUF_INIT;
	PGresult *res;
	ExecStatusType s;
	int error;

	*rows = 0;
	if (pgw_interrupted())
		return interrupted(err);
	pgw_buf_puts(&begin, final ? "BEGIN ISOLATION LEVEL REPEATABLE READ; " :
				     "BEGIN; ");
	session_reset_sql(&begin, true, x->cfg->lock_timeout_ms,
			  x->cfg->timeout_s * 1000);
	error = pgw_buf_oom(&begin) ? pgw_err_oom(err) :
				      pgw_pg_run(x->conn, begin.ptr, err);
	pgw_buf_release(&begin);
	if (error)
		return error;
	res = PQexecParams(x->conn, b->sql, 1, types, params, NULL, NULL, 0);
	s = PQresultStatus(res);
	if (s != PGRES_COMMAND_OK && s != PGRES_TUPLES_OK) {
		char why[512];

		error = pgw_pg_error(err, x->conn, res);
		PQclear(res);
		if (pgw_interrupted())
			return interrupted(err);
		if (pgw_watchdog_fired(wd, why, sizeof(why))) {
			pgw_err_clear(err);
			pgw_err_set(err, PGW_EFAILED, "%s:%d: cancelled: the migration %s",
				    m->file, it->sql->stmts[0].line, why);
			return err->code;
		}
		wrap_stmt(err, m, &it->sql->stmts[0]);
		return error;
	}
	*rows = strtoll(PQcmdTuples(res), NULL, 10);
	PQclear(res);
	if (!*rows && !final) {
		rollback(x); /* nothing was changed */
		return 0;
	}
	if (!*rows) {
		error = pgw_history_ensure(x->conn, x->cfg->schema, err);
		if (!error && !run->down)
			error = run_verify(x, m, wd, err);
		it->duration_ms = (long long)((pgw_clock_now() - b->t0) * 1000);
		if (!error)
			error = record(x, run, idx, idx, err);
	}
	return error ? error : commit_segment(x, !*rows && idx + 1 == run->n, err);
}

/* try_batch, again after a lock timeout, a deadlock or (in the final
 * snapshot) a serialization failure. */
static int batch_retrying(struct pgw_exec *x, struct pgw_run *run,
			  size_t idx, struct batch_run *b, bool final,
			  long long *rows, struct pgw_watchdog *wd,
			  struct pgw_err *err)
{
	int attempt, error;

	for (attempt = 0;; attempt++) {
		error = try_batch(x, run, idx, b, final, rows, wd, err);
		if (!error)
			return 0;
		rollback(x);
		if (!retry_after(x, wd, attempt,
				 retryable(err) || !strcmp(err->sqlstate, "40001"),
				 err))
			return error;
	}
}

static void batch_progress(const struct pgw_migration *m,
			   const struct batch_run *b, bool finished)
{
	struct pgw_progress pr = { "batch", m->file, (double)b->rows,
				   b->total > 0 ? b->total : 0, 0,
				   pgw_clock_now() - b->t0, finished };

	pgw_progress_report(&pr);
}

static int run_batch(struct pgw_exec *x, struct pgw_run *run, size_t idx,
		     struct pgw_watchdog *wd, struct pgw_err *err)
{
	struct pgw_plan_item *it = &run->items[idx];
	const struct pgw_migration *m = it->m;
	struct batch_run b;
	long long rows = 0;
	size_t positional;
	int found, error;
	bool final = false;
	double secs;

	pgw_fault("segment-before");
	memset(&b, 0, sizeof(b));
	b.t0 = pgw_clock_now();
	error = pgw_sql_batch_bind(&b.sql, &found, &positional,
				   it->sql->stmts[0].sql, false, err);
	if (error)
		return error;
	snprintf(b.n, sizeof(b.n), "%ld", it->sql->batch);
	pgw_log_info("applying %s (batch:%ld: a short transaction per batch)",
		     m->file, it->sql->batch);
	b.total = batch_count(x, m);
	if (b.total >= 0)
		pgw_log_info("%s: about %.0f rows to do", m->file, b.total);
	b.no = journal_last_batch(x, m);
	for (;;) {
		if (!final) {
			b.no++;
			journal_batch(x, m, &b, "running", 0);
		}
		error = batch_retrying(x, run, idx, &b, final, &rows, wd, err);
		if (error)
			break;
		if (!rows && !final) {
			final = true; /* nothing left: check in one snapshot */
			continue;
		}
		if (!rows) {
			journal_batch(x, m, &b, "done", 0);
			break;
		}
		final = false;
		b.rows += rows;
		b.batches++;
		x->committed_any = true;
		journal_batch(x, m, &b, "done", rows);
		batch_progress(m, &b, false);
		/* a statement that does not exclude what it has done would
		 * never run out of rows */
		if (b.total >= 0 &&
		    (double)b.rows > 2 * b.total + 2 * (double)it->sql->batch) {
			pgw_err_set(err, PGW_EFAILED,
				    "%s:%d: %lld rows changed, more than twice the %.0f the count section gave: the batch statement does not seem to exclude the rows it has done",
				    m->file, it->sql->stmts[0].line, b.rows,
				    b.total);
			error = err->code;
			break;
		}
		pgw_fault("batch-between");
	}
	free(b.sql);
	if (error) {
		if (b.batches && err->code != PGW_ENOMEM) {
			pgw_err_note(err, "%lld batch%s of %s (%lld rows) had committed and stay: the statement skips the rows they did",
				     b.batches, b.batches == 1 ? "" : "es",
				     m->file, b.rows);
			pgw_err_hint(err, "fix the cause and run 'pgward up' again (after a deploy: 'pgward recover'): the migration resumes where it stopped and is recorded as applied when no row is left");
			err->code = PGW_EUNSAFE;
			error = PGW_EUNSAFE;
		}
		return error;
	}
	it->done = true;
	x->committed_any = true;
	batch_progress(m, &b, true);
	secs = pgw_clock_now() - b.t0;
	pgw_log(x->quiet ? PGW_LOG_INFO : PGW_LOG_NOTICE,
		"applied %s (%lld ms; %lld rows in %lld batch%s, %.0f rows/s)",
		m->file, it->duration_ms, b.rows, b.batches,
		b.batches == 1 ? "" : "es", secs > 0 ? (double)b.rows / secs : 0);
	pgw_fault("segment-after");
	return 0;
}

int pgw_exec_run(struct pgw_exec *x, struct pgw_run *run, struct pgw_err *err)
{
	struct pgw_watchdog *wd = NULL;
	size_t first = 0, last;
	int error;

	error = pgw_watchdog_start(&wd, x->conninfo, x->app_name,
				   PQbackendPID(x->conn), x->cfg->max_lock_hold_s,
				   err);
	if (error)
		return error;
	pgw_interrupt_watch(x->conn);
	while (first < run->n) {
		for (last = first; last + 1 < run->n &&
				   run->items[last + 1].segment == run->items[first].segment;
		     last++)
			;
		if (run->items[first].sql->batch && !run->down)
			error = run_batch(x, run, first, wd, err);
		else if (run->items[first].sql->transactional)
			error = run_segment(x, run, first, last, wd, err);
		else
			error = run_notx(x, run, first, wd, err);
		if (error)
			break;
		first = last + 1;
	}
	pgw_interrupt_watch(NULL);
	pgw_watchdog_stop(wd);
	if (!error)
		return 0;
	if (err->code != PGW_EUNSAFE && err->code != PGW_ENOMEM) {
		err->code = PGW_EFAILED;
		if (x->committed_any) {
			const struct pgw_plan_item *done = NULL;
			size_t i;

			for (i = 0; i < run->n; i++)
				if (run->items[i].done)
					done = &run->items[i];
			pgw_err_note(err, "this segment was rolled back; the segments before it committed (%s %s)",
				     run->down ? "last reverted:" : "database at version",
				     done ? done->m->vtext : "?");
		} else {
			pgw_err_note(err, "rolled back: nothing of this run was applied");
		}
	}
	return err->code ? err->code : error;
}
