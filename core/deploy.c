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
#include "fault.h"
#include "hooks.h"
#include "interrupt.h"
#include "journal.h"
#include "lock.h"
#include "notify.h"
#include "pg.h"
#include "release.h"
#include "restore.h"
#include "schema.h"
#include "verify.h"

/* Tables, unquoted, without repeats. */
struct table_set {
	struct pgw_table_ref *v;
	size_t n;
};

struct deploy {
	const struct pgw_config *cfg;
	const struct pgw_deploy_opts *o;
	struct pgw_deploy_report *r;
	PGconn *ctl;         /* the deploy lock and the journal */
	bool down;           /* to an older version */
	bool destructive;    /* a pending migration is destructive */
	bool notx;           /* a pending migration runs outside one
	                      * transaction (transaction:false, batch:N) */
	bool migrated;       /* something committed */
	bool verified;       /* the schema was compared inside the last
	                      * migration transaction, before its COMMIT */
	bool writes_stopped; /* declared by --writes-stopped or a hook */
	char stopped_file[4200];
	char lock_key[256];
	int64_t target;
	char *db_redacted;
	/* for the way back of destructive migrations: the schema and the
	 * tables before the migrations, the tables they wrote */
	struct pgw_schema *before;
	PGresult *tables_before;
	struct table_set written;
	struct pgw_buf plan; /* --dry-run's lines */
};

/* ---------------------------------------------------------------------- */
/* the journal */

static void journal(struct deploy *d, const char *stage, const char *status)
{
	struct pgw_journal_state s = {
		stage, status, d->r->backup,
		d->r->backup_sha256[0] ? d->r->backup_sha256 : NULL,
		d->r->error
	};

	pgw_journal_update(d->ctl, d->r->id, &s);
}

static int journal_open(struct deploy *d, struct pgw_err *err)
{
	char id[40], stage[64];
	int error;

	error = pgw_journal_ensure(d->ctl, err);
	if (!error)
		error = pgw_journal_unfinished(d->ctl, id, stage, err);
	if (!error && id[0]) {
		error = pgw_err_set(err, PGW_EUNSAFE,
		                    "deploy %s was interrupted during its %s stage and never finished",
		                    id, stage);
		pgw_err_hint(err, "run 'pgward recover' first: it finishes that deploy or takes it back");
	}
	if (!error)
		error = pgw_journal_start(d->ctl, d->r->id, d->r->from,
		                          d->r->to, d->o->release, err);
	return error;
}

/* ---------------------------------------------------------------------- */
/* what the deploy touched */

static int table_set_add(struct table_set *t, const char *schema,
                         const char *name)
{
	struct pgw_table_ref *v;
	size_t i;

	for (i = 0; i < t->n; i++)
		if (!strcmp(t->v[i].schema, schema) && !strcmp(t->v[i].name, name))
			return 0;
	v = realloc(t->v, (t->n + 1) * sizeof(*v));
	if (!v)
		return -1;
	t->v = v;
	v[t->n].schema = strdup(schema);
	v[t->n].name = strdup(name);
	if (!v[t->n].schema || !v[t->n].name) {
		free((char *)v[t->n].schema);
		free((char *)v[t->n].name);
		return -1;
	}
	t->n++;
	return 0;
}

static void table_set_free(struct table_set *t)
{
	size_t i;

	for (i = 0; i < t->n; i++) {
		free((char *)t->v[i].schema);
		free((char *)t->v[i].name);
	}
	free(t->v);
	t->v = NULL;
	t->n = 0;
}

/* Every table with what identifies its definition and its storage: a
 * digest of its columns (names, types, NOT NULL, defaults) and its
 * relfilenode (a rewrite or TRUNCATE changes it). */
static const char tables_sql[] =
	"SELECT n.nspname, c.relname, c.relfilenode::text || ' ' ||"
	" pg_catalog.md5(coalesce((SELECT pg_catalog.string_agg(a.attname || ' '"
	"  || pg_catalog.format_type(a.atttypid, a.atttypmod) || ' '"
	"  || a.attnotnull::text || ' '"
	"  || coalesce(pg_catalog.pg_get_expr(ad.adbin, ad.adrelid), ''),"
	"  ',' ORDER BY a.attnum)"
	"  FROM pg_catalog.pg_attribute a LEFT JOIN pg_catalog.pg_attrdef ad"
	"  ON ad.adrelid = a.attrelid AND ad.adnum = a.attnum"
	"  WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped), ''))"
	" FROM pg_catalog.pg_class c"
	" JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace"
	" WHERE c.relkind IN ('r', 'p')"
	" AND n.nspname NOT IN ('pg_catalog', 'information_schema',"
	"  'pgward_journal', $1)"
	" AND n.nspname !~ '^pg_(toast|temp)'"
	" ORDER BY 1, 2";

/* The tables the migration transaction wrote, before its COMMIT. */
static int note_written(PGconn *c, void *ctx, struct pgw_err *err)
{
	struct deploy *d = ctx;
	const char *p[1] = { d->cfg->schema };
	PGresult *res = NULL;
	int error, i;

	error = pgw_pg_exec(&res, c,
	                    "SELECT schemaname, relname"
	                    " FROM pg_catalog.pg_stat_xact_user_tables"
	                    " WHERE n_tup_ins + n_tup_upd + n_tup_del > 0"
	                    " AND schemaname <> $1",
	                    1, p, err);
	for (i = 0; !error && i < PQntuples(res); i++)
		if (table_set_add(&d->written, PQgetvalue(res, i, 0),
		                  PQgetvalue(res, i, 1)))
			error = pgw_err_oom(err);
	PQclear(res);
	return error;
}

/* Before the migrations: what the way back must give back. */
static int note_before(struct deploy *d, struct pgw_err *err)
{
	const char *p[1] = { d->cfg->schema };
	int error = pgw_schema_read(&d->before, d->ctl, d->cfg->schema, err);

	if (!error)
		error = pgw_pg_exec(&d->tables_before, d->ctl, tables_sql, 1, p,
		                    err);
	return error;
}

/* What the deploy touched: the tables it wrote, and those whose
 * definition or storage is not what it was (dropped ones included). */
static int touched_tables(struct table_set *out, struct deploy *d,
                          struct pgw_err *err)
{
	const char *p[1] = { d->cfg->schema };
	PGresult *now = NULL;
	int error, i, j = 0;
	size_t k;

	error = pgw_pg_exec(&now, d->ctl, tables_sql, 1, p, err);
	for (i = 0; !error && i < PQntuples(d->tables_before); i++) {
		const char *s = PQgetvalue(d->tables_before, i, 0);
		const char *n = PQgetvalue(d->tables_before, i, 1);
		int cmp = 1;

		/* both lists are in (schema, name) order */
		while (j < PQntuples(now) &&
		       (cmp = strcmp(PQgetvalue(now, j, 0), s) ? strcmp(PQgetvalue(now, j, 0), s)
		                                               : strcmp(PQgetvalue(now, j, 1), n)) < 0)
			j++;
		if (cmp != 0 || strcmp(PQgetvalue(now, j, 2),
		                       PQgetvalue(d->tables_before, i, 2)) != 0)
			if (table_set_add(out, s, n))
				error = pgw_err_oom(err);
	}
	for (k = 0; !error && k < d->written.n; k++)
		if (table_set_add(out, d->written.v[k].schema, d->written.v[k].name))
			error = pgw_err_oom(err);
	PQclear(now);
	return error;
}

/* The sequences a table owns (serial, identity) past its largest
 * value: one its down SQL made again starts from 1. */
static int sequences_forward(PGconn *c, const struct pgw_table_ref *t,
                             struct pgw_err *err)
{
	const char *p[2] = { t->schema, t->name };
	PGresult *res = NULL;
	int error, i;

	error = pgw_pg_exec(&res, c,
	                    "SELECT s.oid::pg_catalog.regclass::text,"
	                    " pg_catalog.format('SELECT pg_catalog.setval(%L, m)"
	                    " FROM (SELECT pg_catalog.max(%I)::bigint AS m FROM %I.%I) x"
	                    " WHERE m > coalesce(pg_catalog.pg_sequence_last_value(%L), 0)',"
	                    " s.oid::pg_catalog.regclass::text, a.attname, $1::text, $2::text,"
	                    " s.oid::pg_catalog.regclass::text)"
	                    " FROM pg_catalog.pg_depend d"
	                    " JOIN pg_catalog.pg_class s ON s.oid = d.objid AND s.relkind = 'S'"
	                    " JOIN pg_catalog.pg_attribute a ON a.attrelid = d.refobjid"
	                    "  AND a.attnum = d.refobjsubid"
	                    " WHERE d.classid = 'pg_catalog.pg_class'::pg_catalog.regclass"
	                    " AND d.deptype IN ('a', 'i') AND d.refobjid ="
	                    " pg_catalog.to_regclass(pg_catalog.format('%I.%I', $1::text, $2::text))",
	                    2, p, err);
	for (i = 0; !error && i < PQntuples(res); i++)
		error = pgw_pg_exec(NULL, c, PQgetvalue(res, i, 1), 0, NULL, err);
	PQclear(res);
	return error;
}

struct reload {
	struct deploy *d;
	struct table_set tables;
	long long rows;
};

/* In the last transaction of the down SQL, before its COMMIT: the rows
 * of the touched tables (and of the tables whose foreign keys point at
 * them: TRUNCATE takes those along) from the deploy's archive, owned
 * sequences moved forward past them, and the schema compared with the
 * one before the deploy.  Anything off rolls it all back. */
static int reload_rows(PGconn *c, void *ctx, struct pgw_err *err)
{
	struct reload *rl = ctx;
	struct pgw_schema *now = NULL;
	struct pgw_schema_diff *diff = NULL;
	size_t k, n;
	int error = 0;

	do {
		n = rl->tables.n;
		for (k = 0; !error && k < n; k++) {
			const char *p[2] = { rl->tables.v[k].schema, rl->tables.v[k].name };
			PGresult *res = NULL;
			int i;

			error = pgw_pg_exec(&res, c,
			                    "SELECT n.nspname, r.relname"
			                    " FROM pg_catalog.pg_constraint f"
			                    " JOIN pg_catalog.pg_class r ON r.oid = f.conrelid"
			                    " JOIN pg_catalog.pg_namespace n ON n.oid = r.relnamespace"
			                    " WHERE f.contype = 'f' AND f.confrelid ="
			                    " pg_catalog.to_regclass(pg_catalog.format('%I.%I', $1::text, $2::text))",
			                    2, p, err);
			for (i = 0; !error && i < PQntuples(res); i++)
				if (table_set_add(&rl->tables, PQgetvalue(res, i, 0),
				                  PQgetvalue(res, i, 1)))
					error = pgw_err_oom(err);
			PQclear(res);
		}
	} while (!error && rl->tables.n > n);
	if (!error)
		error = pgw_restore_rows(c, rl->d->r->backup, rl->tables.v,
		                         rl->tables.n, &rl->rows, err);
	for (k = 0; !error && k < rl->tables.n; k++)
		error = sequences_forward(c, &rl->tables.v[k], err);
	if (!error)
		error = pgw_schema_read_in_tx(&now, c, rl->d->cfg->schema, err);
	/* object by object, as verify compares (a column the down SQL
	 * added back comes last: its position is not compared) */
	if (!error)
		error = pgw_schema_compare(&diff, rl->d->before, now, NULL, err);
	if (!error && diff->n) {
		struct pgw_buf text = PGW_BUF_INIT;

		pgw_schema_diff_text(&text, diff);
		error = pgw_err_set(err, PGW_EFAILED,
		                    "after the down SQL the schema is not what it was before the deploy: %s",
		                    text.ptr);
		pgw_buf_release(&text);
	}
	pgw_schema_diff_free(diff);
	pgw_schema_free(now);
	return error;
}

/* The way back of destructive migrations with writes stopped: their
 * down SQL for the definitions, the archive for the rows of only the
 * tables the deploy touched.  Anything else falls back to a restore of
 * the whole archive. */
static int restore_touched(struct deploy *d, struct pgw_err *err)
{
	struct pgw_run_opts ro = PGW_RUN_OPTS_INIT;
	struct pgw_run *run = NULL;
	struct reload rl;
	int error;

	memset(&rl, 0, sizeof(rl));
	rl.d = d;
	if (!d->before || !d->tables_before)
		return pgw_err_set(err, PGW_EFAILED, "the schema before the deploy was not read");
	error = touched_tables(&rl.tables, d, err);
	if (error)
		goto done;
	ro.deploy_id = d->r->id;
	ro.ctl = d->ctl;
	ro.flags |= PGW_RUN_HAS_TARGET | PGW_RUN_QUIET;
	ro.last_commit = reload_rows;
	ro.commit_ctx = &rl;
	error = pgw_version_parse(&ro.target, d->r->from, err);
	if (!error)
		error = pgw_down(&run, d->cfg, &ro, err);
	if (!error)
		pgw_log_notice("way back: the down SQL, and the rows of %zu table%s (%lld rows) from %s",
		               rl.tables.n, rl.tables.n == 1 ? "" : "s", rl.rows,
		               d->r->backup);
done:
	pgw_run_free(run);
	table_set_free(&rl.tables);
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

/* The deploy lock, checked by the migration engine before every COMMIT:
 * a deploy whose control connection ended rolls back. */
static bool deploy_locked(void *ctx)
{
	struct deploy *d = ctx;

	return pgw_lock_held(d->ctl, d->lock_key) &&
	       pgw_lock_held(d->ctl, d->cfg->schema);
}

static void run_opts(struct deploy *d, struct pgw_run_opts *ro)
{
	*ro = (struct pgw_run_opts)PGW_RUN_OPTS_INIT;
	ro->deploy_id = d->r->id;
	ro->still_locked = deploy_locked;
	ro->still_locked_ctx = d;
	ro->ctl = d->ctl;
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
			bool destructive = run->items[i].m->destructive || d->down;

			long batch = d->down ? 0 : run->items[i].m->up.batch;

			if (destructive)
				d->destructive = true;
			/* outside one transaction: part of it can commit */
			if (!run->items[i].sql->transactional || batch)
				d->notx = true;
			pgw_buf_printf(&d->plan, "%s %s%s%s\n",
			               d->down ? "revert" : "apply",
			               run->items[i].m->file,
			               batch ? " (in batches)"
			               : run->items[i].sql->transactional
			                       ? "" : " (transaction:false)",
			               destructive ? " (destructive)" : "");
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
			                                  : "transaction:false or batched");
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
	journal(d, "backup", "running"); /* the journal learns the archive */
	pgw_fault("backup-done");
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
	ro.flags |= PGW_RUN_VERIFY_SCHEMA | PGW_RUN_JOURNAL;
	/* a destructive deploy's way back restores what it touched */
	if (d->destructive && d->r->backup && !d->down) {
		error = note_before(d, err);
		if (error)
			return error;
		ro.each_commit = note_written;
		ro.commit_ctx = d;
	}
	error = d->down ? pgw_down(&run, d->cfg, &ro, err)
	                : pgw_up(&run, d->cfg, &ro, err);
	for (i = 0; run && i < run->n; i++)
		if (run->items[i].done)
			d->migrated = true;
	d->verified = !error && !d->down && run && run->n &&
	              run->items[run->n - 1].sql->transactional;
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

	if (d->verified)
		return 0; /* nothing committed after that comparison */
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
	int error;

	pgw_fault("verify");
	error = verify_committed(d, err);

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
		ro.ctl = d->ctl;
		ro.flags |= PGW_RUN_HAS_TARGET;
		if (pgw_version_parse(&ro.target, d->r->from, err))
			return err->code;
		error = d->down ? pgw_up(&run, d->cfg, &ro, err)
		                : pgw_down(&run, d->cfg, &ro, err);
		pgw_run_free(run);
		if (!error) {
			d->r->way_back = "reverted with the stored down SQL";
		} else {
			/* the migrations stay committed: not where it started */
			pgw_err_wrap(err, "reverting to %s with the stored down SQL failed",
			             d->r->from);
			pgw_err_hint(err, "run 'pgward status', then 'pgward down --to %s' once the down SQL is fixed (or restore %s with writes stopped)",
			             d->r->from, d->r->backup ? d->r->backup : "a backup");
			error = err->code = PGW_EUNSAFE;
		}
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
	if (!d->down) {
		struct pgw_err e = PGW_ERR_INIT;

		if (restore_touched(d, &e) == 0) {
			d->r->way_back = "the down SQL, and the rows of the tables it touched from the deploy's backup (writes were stopped)";
			return 0;
		}
		pgw_log_warn("restoring only what the deploy touched did not work (%s): restoring the whole backup",
		             e.msg);
	}
	{
		struct pgw_restore_opts rs = { d->r->backup, NULL, false };
		struct pgw_restore_report *rr = NULL;

		error = pgw_restore(&rr, d->cfg, &rs, err);
		pgw_restore_report_free(rr);
		if (!error)
			d->r->way_back = "restored from the deploy's backup (writes were stopped)";
		else {
			pgw_err_wrap(err, "restoring the backup failed");
			error = err->code = PGW_EUNSAFE;
		}
		return error;
	}
}

/* Planning rates for --dry-run, measured on the example application
 * (1M price rows) on a
 * 2-core machine (docs/deploy.md): a backup reads and compresses table
 * data at about this many MB/s; a restore loads it and rebuilds the
 * indexes at about these. */
#define BACKUP_MBPS 110.0
#define RESTORE_DATA_MBPS 45.0
#define RESTORE_INDEX_MBPS 90.0

/* --dry-run: what the backup would hold and how long it and a restore
 * would take. */
static int estimate(struct deploy *d, struct pgw_err *err)
{
	const char *p[1] = { d->cfg->schema };
	PGresult *res = NULL;
	int error;

	error = pgw_pg_exec(&res, d->ctl,
	                    "SELECT coalesce(sum(pg_catalog.pg_table_size(c.oid)), 0)::bigint,"
	                    " coalesce(sum(pg_catalog.pg_indexes_size(c.oid)), 0)::bigint"
	                    " FROM pg_catalog.pg_class c"
	                    " JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace"
	                    " WHERE c.relkind IN ('r', 'm')"
	                    " AND n.nspname NOT IN ('pg_catalog', 'information_schema',"
	                    "  'pgward_journal')"
	                    " AND n.nspname !~ '^pg_(toast|temp)'"
	                    " AND n.nspname <> $1",
	                    1, p, err);
	if (!error) {
		double mb;

		d->r->table_bytes = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
		d->r->index_bytes = strtoll(PQgetvalue(res, 0, 1), NULL, 10);
		mb = (double)d->r->table_bytes / 1e6;
		d->r->est_backup_s = d->o->no_backup ? 0 : mb / BACKUP_MBPS;
		d->r->est_restore_s = mb / RESTORE_DATA_MBPS +
		                      (double)d->r->index_bytes / 1e6 / RESTORE_INDEX_MBPS;
		if (pgw_buf_oom(&d->plan))
			error = pgw_err_oom(err);
		else
			d->r->plan = pgw_buf_detach(&d->plan);
		if (!error && !d->r->plan)
			error = pgw_err_oom(err);
	}
	PQclear(res);
	return error;
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

	pgw_fault("notify");
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
	const char *failed_stage = NULL;
	size_t i, done = 0;
	int error;

	*out = NULL;
	if (!r)
		return pgw_err_oom(err);
	memset(&d, 0, sizeof(d));
	d.plan = (struct pgw_buf)PGW_BUF_INIT;
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
	/* one deploy at a time, for the whole pipeline: its control
	 * connection holds the deploy lock and the migration lock, and the
	 * migration engine runs under them on it */
	{
		char app[64];

		snprintf(app, sizeof(app), "pgward:%s", r->id);
		error = pgw_pg_connect(&d.ctl,
		                       pgw_config_session_url(cfg),
		                       app, err);
	}
	snprintf(d.lock_key, sizeof(d.lock_key), "%s/deploy", cfg->schema);
	if (!error)
		error = pgw_pg_pin_settings(d.ctl, err);
	if (!error)
		error = pgw_lock_take(d.ctl, d.lock_key, cfg->wait_s, err);
	/* and the migration lock, for the whole deploy: a plain `up` (or an
	 * application starting with auto-migrate) cannot slip in between
	 * the backup and the migrations */
	if (!error)
		error = pgw_lock_take(d.ctl, cfg->schema, cfg->wait_s, err);
	if (error)
		goto done;
	pgw_fault("deploy-locked");
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
				error = estimate(&d, err);
				goto done;
			}
			error = journal_open(&d, err);
			if (error)
				goto done;
		}
		if (i > 0)
			journal(&d, stages[i].name, "running");
		/* the deploy lock, before every stage */
		if (i > 0 && !deploy_locked(&d)) {
			error = pgw_err_set(err, d.migrated ? PGW_EUNSAFE : PGW_EFAILED,
					    "lost the deploy lock (the control connection ended) before the %s stage",
					    stages[i].name);
			stage_done(&d, stages[i].name, "failed", t0);
			break;
		}
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

		/* without the deploy lock another deploy may run: no way
		 * back now, recover takes it later */
		if (!pgw_lock_held(d.ctl, d.lock_key)) {
			undo_error = pgw_err_set(&undo_err, d.migrated ? PGW_EUNSAFE
			                                               : PGW_EFAILED,
			                         "the deploy lock was lost (its control connection ended)%s",
			                         d.migrated ? " after migrations committed: the way back was not started"
			                                    : "");
			if (d.migrated)
				pgw_err_hint(&undo_err, "run 'pgward recover': it finishes the deploy or takes it back");
			k = 0;
		} else {
			/* a recover after a crash from here on takes the
			 * way back */
			journal(&d, "way back", "running");
		}
		while (k-- > 0 && !undo_error)
			if (stages[k].undo)
				undo_error = stages[k].undo(&d, &undo_err);
		if (undo_error) {
			/* say what failed, then why the way back did not
			 * happen */
			r->status = undo_error == PGW_EUNSAFE ? "needs a human"
			                                      : "rolled back";
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
	/* "interrupted" is for what a signal left half-done (recover
	 * finishes it); a signal inside a transaction just rolled back */
	journal(&d, failed_stage,
	        pgw_interrupted() && error == PGW_EUNSAFE ? "interrupted"
	                                                  : r->status);
notify:
	notify(&d);
done:
	if (error && !r->error)
		r->error = strdup(err->msg);
	pgw_lock_close(d.ctl);
	pgw_schema_free(d.before);
	PQclear(d.tables_before);
	table_set_free(&d.written);
	pgw_buf_release(&d.plan);
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
	free(r->plan);
	free(r);
}
