/* recover.c - pgward recover: finish or undo a deploy that died.
 *
 * A deploy killed in a transaction needs nothing: the server rolled it
 * back.  What can be left is (a) segments of the deploy that committed
 * before it died, and (b) part of a transaction:false section: some of
 * its statements ran, its history row was never written.  recover finds
 * the newest deploy the journal says is running (or was interrupted)
 * under the deploy lock, once no session of it is left, and then:
 *
 *   - nothing of it committed and no statement ran: it is back where it
 *     started ("rolled back"), nothing to do;
 *   - it was already on its way back (a failure after COMMIT), or
 *     --way-back: undo the statements of the unfinished section from the
 *     step journal, then revert what committed (stored down SQL; a
 *     destructive migration needs a restore of the deploy's archive,
 *     which only --writes-stopped allows);
 *   - otherwise roll forward to the deploy's target: the unfinished
 *     section runs again from its start (its statements are idempotent;
 *     an INVALID index left behind is dropped and rebuilt), verified
 *     before COMMIT as in a deploy; if that fails, the way back.
 *
 * The journal then says which: status "succeeded" or "rolled back",
 * stage "recover". */
#include "pgward.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "history.h"
#include "journal.h"
#include "lock.h"
#include "pg.h"

struct recover {
	const struct pgw_config *cfg;
	const struct pgw_recover_opts *o;
	struct pgw_recover_report *r;
	PGconn *ctl;
	char lock_key[256];
	char *release, *backup, *backup_sha256;
	int64_t from, to;
};

/* The newest deploy left running or interrupted. */
static int find_deploy(struct recover *rc, struct pgw_err *err)
{
	struct pgw_recover_report *r = rc->r;
	PGresult *res = NULL;
	bool exists;
	int error;

	error = pgw_journal_exists(rc->ctl, &exists, err);
	if (error || !exists)
		return error;
	error = pgw_pg_exec(&res, rc->ctl,
			    "SELECT id, stage, from_version, to_version, release,"
			    " backup_uri, backup_sha256 FROM pgward_journal.deploys"
			    " WHERE status IN ('running', 'interrupted')"
			    " ORDER BY started_at DESC LIMIT 1",
			    0, NULL, err);
	if (!error && PQntuples(res) == 1) {
		snprintf(r->id, sizeof(r->id), "%s", PQgetvalue(res, 0, 0));
		r->stage = strdup(PQgetvalue(res, 0, 1));
		r->from = strdup(PQgetvalue(res, 0, 2));
		r->to = strdup(PQgetvalue(res, 0, 3));
		if (!PQgetisnull(res, 0, 4))
			rc->release = strdup(PQgetvalue(res, 0, 4));
		if (!PQgetisnull(res, 0, 5))
			rc->backup = strdup(PQgetvalue(res, 0, 5));
		if (!PQgetisnull(res, 0, 6))
			rc->backup_sha256 = strdup(PQgetvalue(res, 0, 6));
		if (!r->stage || !r->from || !r->to)
			error = pgw_err_oom(err);
		if (!error)
			error = pgw_version_parse(&rc->from, r->from, err);
		if (!error)
			error = pgw_version_parse(&rc->to, r->to, err);
	}
	PQclear(res);
	return error;
}

/* A killed client's backend may still be running its last statement
 * (the server notices the client is gone only when it next talks to
 * it): wait for the deploy's sessions to end, up to --wait. */
static int wait_sessions(struct recover *rc, struct pgw_err *err)
{
	const char *p[1] = { rc->r->id };
	double until = pgw_clock_now() + rc->cfg->wait_s;
	int error;

	for (;;) {
		PGresult *res = NULL;

		error = pgw_pg_exec(&res, rc->ctl,
				    "SELECT pg_catalog.string_agg(pid::text, ', ')"
				    " FROM pg_catalog.pg_stat_activity"
				    " WHERE application_name = 'pgward:' || $1"
				    " AND datname = pg_catalog.current_database()",
				    1, p, err);
		if (error || PQgetisnull(res, 0, 0)) {
			PQclear(res);
			return error;
		}
		if (pgw_clock_now() >= until) {
			error = pgw_err_set(err, PGW_ELOCKED,
					    "deploy %s still has sessions on the server (pid %s)",
					    rc->r->id, PQgetvalue(res, 0, 0));
			pgw_err_hint(err, "wait for them to end (--wait SEC), or end them: SELECT pg_terminate_backend(pid) for each");
			PQclear(res);
			return error;
		}
		PQclear(res);
		pgw_clock_sleep(0.2);
	}
}

/* Statements of transaction:false sections that ran (or were running)
 * for migrations the history does not record: newest first. */
static int unfinished_statements(PGresult **out, struct recover *rc,
				 const struct pgw_history *h,
				 struct pgw_err *err)
{
	const char *p[1] = { rc->r->id };
	PGresult *res = NULL;
	int error, i, keep = 0;

	*out = NULL;
	error = pgw_pg_exec(&res, rc->ctl,
			    "SELECT version, statement, status, undo_sql, sql"
			    " FROM pgward_journal.steps WHERE deploy_id = $1"
			    " AND version IS NOT NULL"
			    " ORDER BY at DESC, statement DESC",
			    1, p, err);
	if (error)
		return error;
	for (i = 0; i < PQntuples(res); i++) {
		int64_t v;
		struct pgw_err ignored = PGW_ERR_INIT;

		if (pgw_version_parse(&v, PQgetvalue(res, i, 0), &ignored) == 0 &&
		    !pgw_history_find(h, v))
			keep++;
	}
	if (!keep) {
		PQclear(res);
		return 0;
	}
	*out = res;
	return 0;
}

/* Did batches of a batch:N migration the history does not record
 * commit?  Their rows changed, and no SQL undoes that. */
static bool batches_committed(PGresult *steps, const struct pgw_history *h)
{
	int i;

	for (i = 0; steps && i < PQntuples(steps); i++) {
		int64_t v;
		struct pgw_err ignored = PGW_ERR_INIT;

		if (pgw_version_parse(&v, PQgetvalue(steps, i, 0), &ignored) == 0 &&
		    !pgw_history_find(h, v) &&
		    strcmp(PQgetvalue(steps, i, 2), "done") == 0 &&
		    strncmp(PQgetvalue(steps, i, 4), "batch ", 6) == 0)
			return true;
	}
	return false;
}

/* The way back for the statements of an unfinished section: what the
 * step journal says undoes each, newest first. */
static int undo_statements(struct recover *rc, PGresult *steps,
			   const struct pgw_history *h, struct pgw_err *err)
{
	PGconn *c = NULL;
	int error, i;

	error = pgw_pg_connect(&c, pgw_config_session_url(rc->cfg),
			       "pgward:recover", err);
	for (i = 0; !error && i < PQntuples(steps); i++) {
		int64_t v;
		struct pgw_err ignored = PGW_ERR_INIT;

		if (pgw_version_parse(&v, PQgetvalue(steps, i, 0), &ignored) ||
		    pgw_history_find(h, v) || PQgetisnull(steps, i, 3))
			continue;
		pgw_log_notice("undoing statement %s of %s: %s",
			       PQgetvalue(steps, i, 1), PQgetvalue(steps, i, 0),
			       PQgetvalue(steps, i, 3));
		error = pgw_pg_run(c, PQgetvalue(steps, i, 3), err);
		if (error)
			pgw_err_wrap(err, "undoing statement %s of migration %s",
				     PQgetvalue(steps, i, 1),
				     PQgetvalue(steps, i, 0));
	}
	PQfinish(c);
	return error;
}

static int load_history(struct pgw_history **h, struct recover *rc,
			struct pgw_err *err)
{
	PGconn *c = NULL;
	int error = pgw_pg_connect(&c, pgw_config_session_url(rc->cfg),
				   "pgward:recover", err);

	if (!error)
		error = pgw_history_load(h, c, rc->cfg->schema, false, err);
	PQfinish(c);
	return error;
}

static int64_t head_of(const struct pgw_history *h)
{
	return h->n ? h->v[h->n - 1].version : 0;
}

static void set_at(struct recover *rc, const struct pgw_history *h)
{
	char v[32] = "0";

	if (h->n)
		pgw_applied_vtext(v, &h->v[h->n - 1]);
	free(rc->r->at);
	rc->r->at = strdup(v);
}

/* Back to the deploy's starting version. */
static int way_back(struct recover *rc, struct pgw_err *err)
{
	struct pgw_history *h = NULL;
	PGresult *steps = NULL;
	bool destructive = false, batched;
	size_t i;
	int error;

	error = load_history(&h, rc, err);
	if (!error)
		error = unfinished_statements(&steps, rc, h, err);
	if (!error && steps)
		error = undo_statements(rc, steps, h, err);
	/* a batch migration part-way changed rows: only the archive has
	 * them as they were */
	batched = !error && batches_committed(steps, h);
	PQclear(steps);
	for (i = 0; !error && i < h->n; i++)
		if (h->v[i].version > rc->from && h->v[i].version <= rc->to &&
		    h->v[i].destructive)
			destructive = true;
	if (!error && ((head_of(h) != rc->from && destructive) || batched)) {
		const char *what = batched ? "committed batches of a data migration"
					   : "committed destructive migrations";

		/* no one can prove a restore loses no committed row unless
		 * writes were stopped */
		if (!rc->backup) {
			error = pgw_err_set(err, PGW_EUNSAFE,
					    "deploy %s %s and has no backup to restore",
					    rc->r->id, what);
		} else if (!rc->o->writes_stopped) {
			error = pgw_err_set(err, PGW_EUNSAFE,
					    "deploy %s %s: going back means restoring its backup, and without --writes-stopped pgward cannot prove that loses no committed row",
					    rc->r->id, what);
			pgw_err_hint(err, "stop the application's writes, then run: pgward recover --writes-stopped (or: pgward restore %s --yes)",
				     rc->backup);
		} else {
			struct pgw_restore_opts rs = { rc->backup, NULL, false };
			struct pgw_restore_report *rr = NULL;

			error = pgw_restore(&rr, rc->cfg, &rs, err);
			pgw_restore_report_free(rr);
			/* err already holds why: it now also means a
			 * human is needed (pgw_err_set keeps the first) */
			if (error) {
				pgw_err_wrap(err, "restoring %s failed", rc->backup);
				error = err->code = PGW_EUNSAFE;
			}
			else
				rc->r->detail = "restored the deploy's backup (writes were stopped)";
		}
	} else if (!error && head_of(h) != rc->from) {
		struct pgw_run_opts ro = PGW_RUN_OPTS_INIT;
		struct pgw_run *run = NULL;

		ro.deploy_id = rc->r->id;
		ro.flags |= PGW_RUN_HAS_TARGET;
		ro.target = rc->from;
		error = head_of(h) > rc->from ? pgw_down(&run, rc->cfg, &ro, err)
					      : pgw_up(&run, rc->cfg, &ro, err);
		pgw_run_free(run);
		if (error) {
			pgw_err_wrap(err, "reverting to %s failed", rc->r->from);
			error = err->code = PGW_EUNSAFE;
		}
		else
			rc->r->detail = "reverted with the stored down SQL";
	} else if (!error && !rc->r->detail) {
		rc->r->detail = "nothing of it had committed";
	}
	pgw_history_free(h);
	h = NULL;
	if (!error)
		error = load_history(&h, rc, err);
	if (!error)
		set_at(rc, h);
	pgw_history_free(h);
	if (!error)
		rc->r->outcome = "rolled back";
	return error;
}

/* On to the deploy's target, verified before COMMIT like the deploy. */
static int roll_forward(struct recover *rc, struct pgw_err *err)
{
	struct pgw_run_opts ro = PGW_RUN_OPTS_INIT;
	struct pgw_run *run = NULL;
	int error;
	bool down = rc->to < rc->from;

	ro.deploy_id = rc->r->id;
	ro.flags |= PGW_RUN_JOURNAL | (down ? 0 : PGW_RUN_VERIFY_SCHEMA);
	if (rc->release) {
		ro.release = rc->release;
	} else {
		ro.flags |= PGW_RUN_HAS_TARGET;
		ro.target = rc->to;
	}
	error = down ? pgw_down(&run, rc->cfg, &ro, err)
		     : pgw_up(&run, rc->cfg, &ro, err);
	pgw_run_free(run);
	if (!error) {
		rc->r->outcome = "succeeded";
		rc->r->detail = "rolled forward to the deploy's target";
		free(rc->r->at);
		rc->r->at = strdup(rc->r->to);
	}
	return error;
}

/* Everything of the deploy committed: done, when the schema is what
 * that version expects. */
static int check_completed(struct recover *rc, struct pgw_err *err)
{
	enum pgw_drift drift = PGW_DRIFT_UNKNOWN;
	int error = pgw_drift(&drift, rc->cfg, err);

	if (!error && drift == PGW_DRIFT_FOUND) {
		error = pgw_err_set(err, PGW_EUNSAFE,
				    "deploy %s reached %s but the live schema differs from what that version expects",
				    rc->r->id, rc->r->to);
		pgw_err_hint(err, "'pgward verify' shows the differences; fix them or go back with 'pgward recover --way-back'");
		return error;
	}
	if (!error) {
		rc->r->outcome = "succeeded";
		rc->r->detail = "every migration of it had committed";
		free(rc->r->at);
		rc->r->at = strdup(rc->r->to);
	}
	return error;
}

static int recover_one(struct recover *rc, struct pgw_err *err)
{
	struct pgw_history *h = NULL;
	PGresult *steps = NULL;
	bool going_back = rc->o->way_back ||
			  strcmp(rc->r->stage, "way back") == 0;
	int64_t head;
	int error;

	error = wait_sessions(rc, err);
	if (!error)
		error = load_history(&h, rc, err);
	if (!error)
		error = unfinished_statements(&steps, rc, h, err);
	if (error) {
		pgw_history_free(h);
		return error;
	}
	head = head_of(h);
	set_at(rc, h);
	pgw_history_free(h);
	pgw_log_notice("deploy %s (%s -> %s) stopped in its %s stage; the database is at %s%s",
		       rc->r->id, rc->r->from, rc->r->to, rc->r->stage,
		       rc->r->at ? rc->r->at : "?",
		       steps ? ", with a transaction:false or batched migration part-way" : "");
	if (going_back) {
		PQclear(steps);
		return way_back(rc, err);
	}
	if (head == rc->to && !steps)
		return check_completed(rc, err);
	if (head == rc->from && !steps) {
		rc->r->outcome = "rolled back";
		rc->r->detail = "nothing of it had committed";
		return 0;
	}
	PQclear(steps);
	error = roll_forward(rc, err);
	if (error && error != PGW_EUNSAFE && error != PGW_ENOMEM) {
		pgw_log_warn("rolling forward failed (%s): taking the way back",
			     err->msg);
		pgw_err_clear(err);
		error = way_back(rc, err);
	}
	return error;
}

int pgw_recover(struct pgw_recover_report **out, const struct pgw_config *cfg,
		const struct pgw_recover_opts *o, struct pgw_err *err)
{
	struct pgw_recover_report *r = calloc(1, sizeof(*r));
	struct recover rc;
	int error;

	*out = NULL;
	if (!r)
		return pgw_err_oom(err);
	memset(&rc, 0, sizeof(rc));
	rc.cfg = cfg;
	rc.o = o;
	rc.r = r;
	r->outcome = "nothing to recover";
	snprintf(rc.lock_key, sizeof(rc.lock_key), "%s/deploy", cfg->schema);
	/* no deploy runs while recover does */
	error = pgw_pg_connect(&rc.ctl, pgw_config_session_url(cfg),
			       "pgward:recover", err);
	if (!error)
		error = pgw_pg_pin_settings(rc.ctl, err);
	if (!error)
		error = pgw_lock_take(rc.ctl, rc.lock_key, cfg->wait_s, err);
	if (!error)
		error = find_deploy(&rc, err);
	if (!error && r->id[0])
		error = recover_one(&rc, err);
	if (r->id[0] && (!error || error == PGW_EUNSAFE)) {
		struct pgw_journal_state s = { "recover", NULL, rc.backup,
					       rc.backup_sha256, NULL };

		if (error) {
			/* still unfinished, at the same stage (the next
			 * recover takes the same road) */
			s.stage = r->stage;
			s.status = "interrupted";
			s.error = err->msg;
		} else {
			s.status = r->outcome;
			s.error = r->detail;
		}
		pgw_journal_update(rc.ctl, r->id, &s);
	}
	pgw_lock_close(rc.ctl);
	free(rc.release);
	free(rc.backup);
	free(rc.backup_sha256);
	*out = r;
	return error;
}

void pgw_recover_report_free(struct pgw_recover_report *r)
{
	if (!r)
		return;
	free(r->stage);
	free(r->from);
	free(r->to);
	free(r->at);
	free(r);
}
