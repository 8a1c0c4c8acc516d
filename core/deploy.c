/* deploy.c - the guarded deploy: a table of stages (check, backup,
 * migrate, verify, notify), each with a run and maybe an undo.  When a
 * stage fails, the undos of the stages that completed run in reverse
 * order, then notify.  Every stage is written to the journal
 * (pgward_journal, its own schema: no archive holds it, no restore
 * touches it) before it runs. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "clock.h"
#include "hooks.h"
#include "interrupt.h"
#include "lock.h"
#include "notify.h"
#include "pg.h"
#include "release.h"
#include "verify.h"

struct deploy {
	const struct pgw_config *cfg;
	const struct pgw_deploy_opts *o;
	struct pgw_deploy_report *r;
	PGconn *ctl;         /* the deploy lock and the journal */
	bool down;           /* to an older version */
	bool destructive;    /* a pending migration is destructive */
	bool notx;           /* a pending migration is transaction:false */
	bool migrated;       /* something committed */
	bool writes_stopped; /* declared by --writes-stopped or a hook */
	char stopped_file[4200];
	int64_t target;
	char *db_redacted;
};

/* ---------------------------------------------------------------------- */
/* the journal */

static const char journal_sql[] =
	"CREATE SCHEMA IF NOT EXISTS pgward_journal;"
	"CREATE TABLE IF NOT EXISTS pgward_journal.deploys ("
	" id text PRIMARY KEY, started_at timestamptz NOT NULL DEFAULT now(),"
	" finished_at timestamptz, from_version text, to_version text,"
	" stage text, status text NOT NULL, backup_uri text,"
	" backup_sha256 text, error text);"
	"CREATE TABLE IF NOT EXISTS pgward_journal.steps ("
	" deploy_id text NOT NULL, at timestamptz NOT NULL DEFAULT now(),"
	" stage text NOT NULL, status text NOT NULL)";

static void journal(struct deploy *d, const char *stage, const char *status)
{
	struct pgw_err ignored = PGW_ERR_INIT;
	const char *p[6] = { d->r->id, stage, status, d->r->backup,
		             d->r->backup_sha256[0] ? d->r->backup_sha256
		                                    : NULL,
		             d->r->error };

	/* advisory: the migrations rows are the truth */
	if (pgw_pg_exec(NULL, d->ctl,
	                "UPDATE pgward_journal.deploys SET stage = $2,"
	                " status = $3, backup_uri = $4, backup_sha256 = $5,"
	                " error = $6, finished_at = CASE WHEN $3 IN"
	                " ('running') THEN NULL ELSE now() END WHERE id = $1",
	                6, p, &ignored) ||
	    pgw_pg_exec(NULL, d->ctl,
	                "INSERT INTO pgward_journal.steps (deploy_id, stage,"
	                " status) VALUES ($1, $2, $3)",
	                3, p, &ignored))
		pgw_log_warn("journal: %s", ignored.msg);
}

static int journal_open(struct deploy *d, struct pgw_err *err)
{
	const char *p[3] = { d->r->id, d->r->from, d->r->to };
	PGresult *res = NULL;
	int error;

	error = pgw_pg_run(d->ctl, journal_sql, err);
	if (error)
		return error;
	/* a deploy the journal says is running, whose session is gone,
	 * was interrupted: the next one does not start over it */
	error = pgw_pg_exec(&res, d->ctl,
	                    "SELECT id, stage FROM pgward_journal.deploys d"
	                    " WHERE status = 'running' AND NOT EXISTS (SELECT 1"
	                    " FROM pg_stat_activity a WHERE a.application_name"
	                    " = 'pgward:' || d.id) ORDER BY started_at DESC"
	                    " LIMIT 1",
	                    0, NULL, err);
	if (!error && PQntuples(res) == 1) {
		error = pgw_err_set(err, PGW_EUNSAFE,
		                    "deploy %s was interrupted during its %s stage and never finished",
		                    PQgetvalue(res, 0, 0), PQgetvalue(res, 0, 1));
		pgw_err_hint(err, "check 'pgward status' and 'pgward verify'; when the database is known-good, mark it: UPDATE pgward_journal.deploys SET status = 'abandoned' WHERE id = '%s'",
		             PQgetvalue(res, 0, 0));
	}
	PQclear(res);
	if (!error)
		error = pgw_pg_exec(NULL, d->ctl,
		                    "INSERT INTO pgward_journal.deploys (id,"
		                    " from_version, to_version, stage, status)"
		                    " VALUES ($1, $2, $3, 'check', 'running')",
		                    3, p, err);
	return error;
}

/* ---------------------------------------------------------------------- */
/* stages */

static int hook(struct deploy *d, const char *name, const char *stage,
                struct pgw_err *err)
{
	struct pgw_hook_env env;

	if (!d->o->hooks_dir)
		return 0;
	memset(&env, 0, sizeof(env));
	env.deploy_id = d->r->id;
	env.from = d->r->from;
	env.to = d->r->to;
	env.stage = stage;
	env.backup = d->r->backup;
	env.database_url = d->cfg->database_url;
	env.writes_stopped_file = d->stopped_file;
	return pgw_hook_run(d->o->hooks_dir, name, &env, d->o->hook_timeout_s,
	                    err);
}

static void run_opts(struct deploy *d, struct pgw_run_opts *ro)
{
	*ro = (struct pgw_run_opts)PGW_RUN_OPTS_INIT;
	ro->deploy_id = d->r->id;
	if (d->o->release) {
		ro->release = d->o->release;
	} else {
		ro->flags |= PGW_RUN_HAS_TARGET;
		ro->target = d->target;
	}
}

static int stage_check(struct deploy *d, struct pgw_err *err)
{
	struct pgw_status *st = NULL;
	struct pgw_run_opts ro;
	struct pgw_run *run = NULL;
	enum pgw_drift drift = PGW_DRIFT_UNKNOWN;
	int64_t head;
	size_t i;
	int error;

	error = pgw_status(&st, d->cfg, err);
	if (error)
		return error;
	head = st->head ? st->head->version : 0;
	if (d->o->release) {
		struct pgw_migset *set = NULL;

		error = pgw_release_migset(&set, &d->target, d->cfg,
		                           d->o->release, err);
		pgw_migset_free(set);
	} else if (d->o->has_target) {
		d->target = d->o->target;
	} else {
		d->target = st->set->n ? st->set->v[st->set->n - 1].version : 0;
	}
	pgw_status_free(st);
	if (error)
		return error;
	d->down = d->target < head;
	if (d->down && !d->o->allow_down)
		return pgw_err_set(err, PGW_EINVAL,
		                   "the database is at a newer version than the target: a deploy never goes down without --allow-down");
	if (pgw_drift(&drift, d->cfg, err))
		return err->code;
	if (drift == PGW_DRIFT_FOUND)
		pgw_log_warn("the live schema has drifted from what its version expects ('pgward verify' shows how)");
	run_opts(d, &ro);
	ro.flags |= PGW_RUN_DRY;
	error = d->down ? pgw_down(&run, d->cfg, &ro, err)
	                : pgw_up(&run, d->cfg, &ro, err);
	if (!error) {
		free(d->r->from);
		free(d->r->to);
		d->r->from = strdup(run->from);
		d->r->to = strdup(run->to);
		d->r->nothing_to_do = run->nothing_to_do;
		for (i = 0; i < run->n; i++) {
			if (run->items[i].m->destructive || d->down)
				d->destructive = true;
			if (!run->items[i].sql->transactional)
				d->notx = true;
		}
		if (!d->r->from || !d->r->to)
			error = pgw_err_oom(err);
	}
	pgw_run_free(run);
	return error;
}

static int stage_backup(struct deploy *d, struct pgw_err *err)
{
	struct pgw_backup_opts bo = PGW_BACKUP_OPTS_INIT;
	struct pgw_backup_report *b = NULL;
	int error;

	if (d->o->no_backup) {
		if ((d->destructive || d->notx) && !d->o->force)
			return pgw_err_set(err, PGW_EINVAL,
			                   "--no-backup refused: a pending migration is %s, so the way back needs a backup (add --force to go without)",
			                   d->destructive ? "destructive"
			                                  : "transaction:false");
		pgw_log_notice("backup skipped (--no-backup)");
		return 0;
	}
	error = hook(d, "pre-backup", "backup", err);
	if (error)
		return error;
	if (access(d->stopped_file, F_OK) == 0) {
		pgw_log_notice("writes stopped, declared by the pre-backup hook");
		d->writes_stopped = true;
	}
	error = pgw_backup(&b, d->cfg, &bo, err);
	if (error)
		return error;
	d->r->backup = strdup(b->uri ? b->uri : b->path);
	memcpy(d->r->backup_sha256, b->sha256, sizeof(b->sha256));
	pgw_backup_report_free(b);
	if (!d->r->backup)
		return pgw_err_oom(err);
	return hook(d, "post-backup", "backup", err);
}

static int stage_migrate(struct deploy *d, struct pgw_err *err)
{
	struct pgw_run_opts ro;
	struct pgw_run *run = NULL;
	size_t i;
	int error;

	error = hook(d, "pre-migrate", "migrate", err);
	if (error)
		return error;
	run_opts(d, &ro);
	/* verification inside the last migration transaction: a failure
	 * costs a rollback, not a restore */
	ro.flags |= PGW_RUN_VERIFY_SCHEMA;
	error = d->down ? pgw_down(&run, d->cfg, &ro, err)
	                : pgw_up(&run, d->cfg, &ro, err);
	for (i = 0; run && i < run->n; i++)
		if (run->items[i].done)
			d->migrated = true;
	pgw_run_free(run);
	if (!error)
		error = hook(d, "post-migrate", "migrate", err);
	return error;
}

/* The committed schema against the target's schema.sql.  Inside the
 * last transaction this already held; it matters when the last segment
 * ran outside a transaction (concurrent index builds). */
static int verify_committed(struct deploy *d, struct pgw_err *err)
{
	struct pgw_verify_hook *vh = NULL;
	char *text = NULL;
	PGconn *c = NULL;
	int error;

	error = d->o->release ? pgw_release_schema_text(&text, d->cfg,
	                                                d->o->release, err)
	                      : pgw_read_schema_file(&text, d->cfg, err);
	if (!error && !d->down)
		error = pgw_verify_hook(&vh, d->cfg, text, d->r->to, err);
	free(text);
	if (error || !vh)
		return error;
	error = pgw_pg_connect(&c,
	                       pgw_config_session_url(d->cfg),
	                       "pgward:verify", err);
	if (!error)
		error = pgw_pg_run(c, "BEGIN READ ONLY", err);
	if (!error)
		error = pgw_verify_hook_run(c, vh, err);
	PQfinish(c);
	pgw_verify_hook_free(vh);
	return error;
}

static int stage_verify(struct deploy *d, struct pgw_err *err)
{
	int error = verify_committed(d, err);

	/* then the smoke test of the application against the committed
	 * schema */
	return error ? error : hook(d, "post-verify", "verify", err);
}

/* The way back after COMMIT: stored down SQL for what is not
 * destructive; a restore of the deploy's archive only when writes were
 * stopped (else no one can prove no committed row would be lost). */
static int undo_migrate(struct deploy *d, struct pgw_err *err)
{
	struct pgw_run_opts ro = PGW_RUN_OPTS_INIT;
	struct pgw_run *run = NULL;
	int error;
	bool restore = d->destructive ||
	               d->o->rollback == PGW_ROLLBACK_RESTORE;

	if (!d->migrated)
		return 0;
	/* after SIGINT/SIGTERM nothing new starts: a job being cancelled
	 * would be killed half-way through its way back */
	if (pgw_interrupted()) {
		pgw_err_set(err, PGW_EUNSAFE,
		            "interrupted after migrations committed (the database is at %s, not %s); the way back was not started",
		            d->r->to, d->r->from);
		pgw_err_hint(err, "run 'pgward status', then 'pgward down --to %s' (or restore %s with writes stopped)",
		             d->r->from, d->r->backup ? d->r->backup : "the backup");
		return err->code;
	}
	if (restore && d->o->rollback == PGW_ROLLBACK_DOWN)
		restore = false;
	if (!restore) {
		ro.deploy_id = d->r->id;
		ro.flags |= PGW_RUN_HAS_TARGET;
		if (pgw_version_parse(&ro.target, d->r->from, err))
			return err->code;
		error = d->down ? pgw_up(&run, d->cfg, &ro, err)
		                : pgw_down(&run, d->cfg, &ro, err);
		pgw_run_free(run);
		if (!error)
			d->r->way_back = "reverted with the stored down SQL";
		return error;
	}
	if (!d->r->backup)
		return pgw_err_set(err, PGW_EUNSAFE,
		                   "the deploy committed destructive migrations and there is no backup to restore");
	if (!d->writes_stopped) {
		pgw_err_set(err, PGW_EUNSAFE,
		            "the deploy committed destructive migrations; without --writes-stopped pgward cannot prove that restoring the backup loses no committed row");
		pgw_err_hint(err, "stop the application's writes, then run: pgward restore %s --yes",
		             d->r->backup);
		return err->code;
	}
	{
		struct pgw_restore_opts rs = { d->r->backup, NULL, false };
		struct pgw_restore_report *rr = NULL;

		error = pgw_restore(&rr, d->cfg, &rs, err);
		pgw_restore_report_free(rr);
		if (!error)
			d->r->way_back = "restored from the deploy's backup (writes were stopped)";
		else
			error = pgw_err_set(err, PGW_EUNSAFE,
			                    "restoring the backup failed: %s", err->msg);
		return error;
	}
}

static const struct stage {
	const char *name;
	int (*run)(struct deploy *d, struct pgw_err *err);
	int (*undo)(struct deploy *d, struct pgw_err *err);
} stages[] = {
	{ "check", stage_check, NULL },
	{ "backup", stage_backup, NULL },
	{ "migrate", stage_migrate, undo_migrate },
	{ "verify", stage_verify, NULL },
};
#define N_STAGES (sizeof(stages) / sizeof(stages[0]))

/* ---------------------------------------------------------------------- */

static void notify(struct deploy *d)
{
	struct pgw_notify_stage ns[N_STAGES + 1];
	struct pgw_notify_event ev;
	struct pgw_notify_opts no;
	size_t i;

	if (!d->o->notify_urls || !d->o->notify_urls[0])
		return;
	memset(&ev, 0, sizeof(ev));
	memset(&no, 0, sizeof(no));
	for (i = 0; i < d->r->n_stages; i++) {
		ns[i].name = d->r->stages[i].name;
		ns[i].status = d->r->stages[i].status;
		ns[i].duration_ms = d->r->stages[i].ms;
	}
	ev.deploy_id = d->r->id;
	ev.database = d->db_redacted;
	ev.status = d->r->status;
	ev.from_version = d->r->from;
	ev.to_version = d->r->to;
	ev.to_release = d->o->release;
	ev.backup_uri = d->r->backup;
	ev.error = d->r->error;
	ev.stages = ns;
	ev.n_stages = d->r->n_stages;
	no.urls = d->o->notify_urls;
	no.secret = d->cfg->notify_secret;
	pgw_notify_send(&ev, &no);
}

static void stage_done(struct deploy *d, const char *name, const char *status,
                       double t0)
{
	struct pgw_deploy_stage *s = &d->r->stages[d->r->n_stages++];

	snprintf(s->name, sizeof(s->name), "%s", name);
	snprintf(s->status, sizeof(s->status), "%s", status);
	s->ms = (long long)((pgw_clock_now() - t0) * 1000);
}

int pgw_deploy(struct pgw_deploy_report **out, const struct pgw_config *cfg,
               const struct pgw_deploy_opts *o, struct pgw_err *err)
{
	struct deploy d;
	struct pgw_deploy_report *r = calloc(1, sizeof(*r));
	char lock_key[256];
	const char *failed_stage = NULL;
	size_t i, done = 0;
	int error;

	*out = NULL;
	if (!r)
		return pgw_err_oom(err);
	memset(&d, 0, sizeof(d));
	d.cfg = cfg;
	d.o = o;
	d.r = r;
	d.writes_stopped = o->writes_stopped;
	pgw_pg_new_id(r->id);
	r->status = "failed";
	d.db_redacted = cfg->database_url ? pgw_redact_conninfo(cfg->database_url)
	                                  : NULL;
	snprintf(d.stopped_file, sizeof(d.stopped_file), "%s/.pgward-writes-stopped-%s",
	         o->hooks_dir ? o->hooks_dir : ".", r->id);
	/* one deploy at a time, for the whole pipeline (each migration
	 * run takes the migration lock as well) */
	{
		char app[64];

		snprintf(app, sizeof(app), "pgward:%s", r->id);
		error = pgw_pg_connect(&d.ctl,
		                       pgw_config_session_url(cfg),
		                       app, err);
	}
	snprintf(lock_key, sizeof(lock_key), "%s/deploy", cfg->schema);
	if (!error)
		error = pgw_lock_take(d.ctl, lock_key, cfg->wait_s, err);
	if (error)
		goto done;
	for (i = 0; i < N_STAGES; i++) {
		double t0 = pgw_clock_now();

		if (i == 1) {
			/* what check found decides the rest */
			if (r->nothing_to_do) {
				r->status = "nothing to do";
				goto done;
			}
			if (o->dry_run) {
				r->status = "planned";
				goto done;
			}
			error = journal_open(&d, err);
			if (error)
				goto done;
		}
		if (i > 0)
			journal(&d, stages[i].name, "running");
		pgw_log_notice("== %s", stages[i].name);
		error = stages[i].run(&d, err);
		stage_done(&d, stages[i].name, error ? "failed" : "ok", t0);
		if (error)
			break;
		done = i + 1;
	}
	if (!error) {
		r->status = "succeeded";
		journal(&d, "notify", "succeeded");
		goto notify;
	}
	r->error = strdup(err->msg);
	failed_stage = stages[done < N_STAGES ? done : N_STAGES - 1].name;
	if (done == 0 && !d.migrated)
		goto done; /* refused in check: nothing happened, no webhook */
	/* the way back: undos of the completed stages (and of the failing
	 * one, which may have committed segments), in reverse order */
	{
		struct pgw_err undo_err = PGW_ERR_INIT;
		int undo_error = 0;
		size_t k = done < N_STAGES ? done + 1 : N_STAGES;

		while (k-- > 0 && !undo_error)
			if (stages[k].undo)
				undo_error = stages[k].undo(&d, &undo_err);
		if (undo_error) {
			/* say what failed, then why the way back did not
			 * happen */
			r->status = "needs a human";
			free(r->error);
			r->error = strdup(undo_err.msg);
			pgw_err_wrap(&undo_err, "%s failed (%s); then",
			             failed_stage, err->msg);
			pgw_err_clear(err);
			*err = undo_err;
			error = undo_err.code;
		} else {
			/* failing in migrate or later: rolled back (by the
			 * transaction or by the way back) */
			r->status = d.migrated || done >= 2 ? "rolled back"
			                                    : "failed";
			/* back where it started: the deploy failed (exit 1) */
			if (error != PGW_EINVAL && error != PGW_ELOCKED)
				error = err->code = PGW_EFAILED;
		}
		hook(&d, "on-failure", "notify", &undo_err);
	}
	/* the stage it failed in stays in the journal */
	journal(&d, failed_stage, pgw_interrupted() ? "interrupted" : r->status);
notify:
	notify(&d);
done:
	if (error && !r->error)
		r->error = strdup(err->msg);
	PQfinish(d.ctl);
	unlink(d.stopped_file);
	free(d.db_redacted);
	*out = r;
	return error;
}

void pgw_deploy_report_free(struct pgw_deploy_report *r)
{
	if (!r)
		return;
	free(r->from);
	free(r->to);
	free(r->backup);
	free(r->error);
	free(r);
}
