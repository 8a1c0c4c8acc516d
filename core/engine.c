/* engine.c - the public operations of pgward.h: status, up, down,
 * history, baseline, new, and the application start-up path. */
#include "pgward.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "history.h"
#include "lock.h"
#include "migfile.h"
#include "migrate.h"
#include "pg.h"
#include "plan.h"
#include "release.h"
#include "verify.h"

/* One operation's connections and state. */
struct ctx {
	const struct pgw_config *cfg;
	char id[40];
	char app[64];
	PGconn *conn;
	PGconn *ctl;
	struct pgw_migset *set;
	struct pgw_history *hist;
	bool full; /* history with the SQL bodies */
	bool quiet; /* PGW_RUN_QUIET */
	bool verify_schema; /* PGW_RUN_VERIFY_SCHEMA */
	bool journal;       /* PGW_RUN_JOURNAL */
	bool (*still_locked)(void *ctx);
	void *still_locked_ctx;
	const struct pgw_run_opts *opts; /* the caller's commit hooks */
	bool borrowed_ctl; /* ctl is the caller's (pgw_run_opts.ctl) */
	const char *release; /* files from this tag's tree */
};

static void ctx_release(struct ctx *c)
{
	if (!c->borrowed_ctl)
		pgw_lock_close(c->ctl);
	PQfinish(c->conn);
	pgw_migset_free(c->set);
	pgw_history_free(c->hist);
}

/* ctx_open, the migration files read from release `release`'s tree when
 * given (*version: its schema version). */
static int ctx_open_at(struct ctx *c, const struct pgw_config *cfg,
		       const char *deploy_id, bool load_files, bool full,
		       const char *release, int64_t *version,
		       struct pgw_err *err)
{
	int error;

	memset(c, 0, sizeof(*c));
	c->cfg = cfg;
	if (deploy_id)
		snprintf(c->id, sizeof(c->id), "%s", deploy_id);
	else
		pgw_pg_new_id(c->id);
	snprintf(c->app, sizeof(c->app), "pgward:%s", c->id);
	c->release = release;
	if (load_files) {
		/* every file is checked before connecting */
		error = release ? pgw_release_migset(&c->set, version, cfg,
						     release, err)
				: pgw_migset_load(&c->set, cfg->migrations_dir,
						  err);
		if (!error)
			error = pgw_migset_check(c->set, err);
		if (error)
			return error;
	}
	error = pgw_pg_connect(&c->conn, pgw_config_session_url(cfg), c->app, err);
	if (error)
		return error;
	c->full = full;
	return pgw_history_load(&c->hist, c->conn, cfg->schema, full, err);
}

static int ctx_open(struct ctx *c, const struct pgw_config *cfg,
		    const char *deploy_id, bool load_files, bool full,
		    struct pgw_err *err)
{
	return ctx_open_at(c, cfg, deploy_id, load_files, full, NULL, NULL,
			   err);
}

/* Under the lock: a second connection that holds it, the pooling test
 * (two connections make it reliable), pinned settings. */
static int ctx_lock(struct ctx *c, int wait_s, struct pgw_err *err)
{
	int error = 0;

	/* the caller's control connection holds the lock already */
	if (c->opts && c->opts->ctl) {
		c->ctl = c->opts->ctl;
		c->borrowed_ctl = true;
	} else {
		error = pgw_pg_connect(&c->ctl, pgw_config_session_url(c->cfg),
				       c->app, err);
	}
	if (!error)
		error = pgw_pg_check_session(c->conn, c->ctl, err);
	if (!error)
		error = pgw_pg_pin_settings(c->conn, err);
	if (!error && !c->borrowed_ctl)
		error = pgw_pg_pin_settings(c->ctl, err);
	if (!error && !c->borrowed_ctl)
		error = pgw_lock_take(c->ctl, c->cfg->schema, wait_s, err);
	if (error)
		return error;
	/* what is pending may have changed while we waited */
	pgw_history_free(c->hist);
	c->hist = NULL;
	return pgw_history_load(&c->hist, c->conn, c->cfg->schema, c->full, err);
}

static int run_exec(struct ctx *c, struct pgw_run *run, struct pgw_err *err)
{
	struct pgw_exec x = { 0 };
	struct pgw_verify_hook *vh = NULL;
	char *hash = NULL;
	int error;

	/* the history records the commit each file was read from (a
	 * release's migrations carry theirs already) */
	if (!run->down && !c->release) {
		error = pgw_release_stamp(c->set, c->cfg, err);
		if (error)
			return error;
	}
	/* the head row records the schema schema.sql expects at its
	 * version, for the drift check of status */
	if (!run->down && !c->release) {
		error = pgw_expected_hash(&hash, &x.schema_hash_version, c->cfg,
					  err);
		if (error)
			return error;
		x.schema_hash = hash;
	}

	x.conn = c->conn;
	x.ctl = c->ctl;
	x.cfg = c->cfg;
	x.conninfo = pgw_config_session_url(c->cfg);
	x.app_name = c->app;
	x.deploy_id = c->id;
	x.quiet = c->quiet;
	x.journal = c->journal;
	x.still_locked = c->still_locked;
	x.still_locked_ctx = c->still_locked_ctx;
	x.each_commit = c->opts->each_commit;
	x.last_commit = c->opts->last_commit;
	x.commit_ctx = c->opts->commit_ctx;
	if (c->verify_schema && !run->down) {
		char *text = NULL;

		error = c->release ? pgw_release_schema_text(&text, c->cfg,
							     c->release, err)
				   : pgw_read_schema_file(&text, c->cfg, err);
		if (!error)
			error = pgw_verify_hook(&vh, c->cfg, text, run->to, err);
		free(text);
		if (error) {
			free(hash);
			return error;
		}
		x.before_commit = vh ? pgw_verify_hook_run : NULL;
		x.before_commit_ctx = vh;
	}
	error = pgw_exec_run(&x, run, err);
	pgw_verify_hook_free(vh);
	free(hash);
	return error;
}

static int do_run(struct pgw_run **out, const struct pgw_config *cfg,
		  const struct pgw_run_opts *opts, bool down, int wait_s,
		  struct pgw_err *err)
{
	struct pgw_run_opts o = *opts;
	struct pgw_run *run = NULL;
	struct ctx c;
	int error;

	*out = NULL;
	error = ctx_open_at(&c, cfg, opts->deploy_id, true, down, opts->release,
			    &o.target, err);
	if (!error && opts->release) {
		/* the release's version is the target */
		o.flags |= PGW_RUN_HAS_TARGET;
		o.flags &= ~(unsigned)PGW_RUN_HAS_STEPS;
	}
	opts = &o;
	c.quiet = (opts->flags & PGW_RUN_QUIET) != 0;
	c.verify_schema = (opts->flags & PGW_RUN_VERIFY_SCHEMA) != 0;
	c.journal = (opts->flags & PGW_RUN_JOURNAL) != 0;
	c.still_locked = opts->still_locked;
	c.still_locked_ctx = opts->still_locked_ctx;
	c.opts = opts;
	if (error)
		goto done;
	/* decided on one connection, before any lock */
	error = down ? pgw_plan_down(&run, c.set, c.hist, opts, err) :
		       pgw_plan_up(&run, c.set, c.hist, opts, err);
	if (error == PGW_ECHECKSUM && !c.full) {
		/* read the SQL as applied to say what changed */
		struct pgw_history *full = NULL;
		struct pgw_err again = PGW_ERR_INIT;

		if (!pgw_history_load(&full, c.conn, cfg->schema, true, &again) &&
		    pgw_plan_up(&run, c.set, full, opts, &again) == PGW_ECHECKSUM)
			*err = again;
		pgw_history_free(full);
	}
	if (error || run->nothing_to_do || (opts->flags & PGW_RUN_DRY))
		goto done;
	pgw_run_free(run);
	run = NULL;
	error = ctx_lock(&c, wait_s, err);
	if (error)
		goto done;
	error = down ? pgw_plan_down(&run, c.set, c.hist, opts, err) :
		       pgw_plan_up(&run, c.set, c.hist, opts, err);
	if (error || run->nothing_to_do)
		goto done;
	error = run_exec(&c, run, err);
done:
	if (run) {
		/* the plan points into the files: it keeps them */
		run->files = c.set;
		c.set = NULL;
	}
	*out = run;
	ctx_release(&c);
	return error;
}

int pgw_up(struct pgw_run **out, const struct pgw_config *cfg,
	   const struct pgw_run_opts *opts, struct pgw_err *err)
{
	return do_run(out, cfg, opts, false, cfg->wait_s, err);
}

int pgw_down(struct pgw_run **out, const struct pgw_config *cfg,
	     const struct pgw_run_opts *opts, struct pgw_err *err)
{
	return do_run(out, cfg, opts, true, cfg->wait_s, err);
}

int pgw_autostart(const struct pgw_config *cfg, struct pgw_err *err)
{
	struct pgw_run_opts opts = PGW_RUN_OPTS_INIT;
	struct pgw_run *run = NULL;
	int error;

	if (!cfg->auto_migrate) {
		pgw_log_info("AUTO_MIGRATE_ON_START is not set: not migrating");
		return 0;
	}
	/* Replicas starting together: each waits its turn, then finds the
	 * work done.  A run killed earlier was rolled back by the server, so
	 * there is nothing to repair before trying again. */
	error = do_run(&run, cfg, &opts, false,
		       cfg->wait_set ? cfg->wait_s : cfg->timeout_s, err);
	if (!error && run && run->nothing_to_do)
		pgw_log_notice("database schema at version %s: nothing to apply",
			       run->from);
	else if (!error && run)
		pgw_log_notice("database schema migrated from %s to %s",
			       run->from, run->to);
	pgw_run_free(run);
	return error;
}

void pgw_status_free(struct pgw_status *st)
{
	if (!st)
		return;
	free(st->database);
	free(st->pending);
	free(st->unknown);
	free(st->changed);
	free(st->out_of_order);
	pgw_history_free(st->history);
	pgw_migset_free(st->set);
	free(st);
}

int pgw_status(struct pgw_status **out, const struct pgw_config *cfg,
	       struct pgw_err *err)
{
	struct pgw_status *st = calloc(1, sizeof(*st));
	struct ctx c;
	size_t i;
	int error;

	*out = NULL;
	if (!st)
		return pgw_err_oom(err);
	error = ctx_open(&c, cfg, NULL, true, false, err);
	if (!error)
		error = pgw_pg_check_session(c.conn, NULL, err);
	if (error)
		goto done;
	st->database = pgw_config_session_url(cfg) ? pgw_redact_conninfo(pgw_config_session_url(cfg)) :
					  pgw_pg_describe(c.conn);
	st->history = c.hist;
	st->set = c.set;
	c.hist = NULL;
	c.set = NULL;
	st->pending = calloc(st->set->n + 1, sizeof(*st->pending));
	st->out_of_order = calloc(st->set->n + 1, sizeof(*st->out_of_order));
	st->changed = calloc(st->set->n + 1, sizeof(*st->changed));
	st->unknown = calloc(st->history->n + 1, sizeof(*st->unknown));
	if (!st->database || !st->pending || !st->out_of_order ||
	    !st->changed || !st->unknown) {
		error = pgw_err_oom(err);
		goto done;
	}
	st->head = st->history->n ? &st->history->v[st->history->n - 1] : NULL;
	for (i = 0; i < st->set->n; i++) {
		const struct pgw_migration *m = &st->set->v[i];
		const struct pgw_applied *a = pgw_history_find(st->history, m->version);

		if (!a) {
			st->pending[st->n_pending++] = m;
			if (st->head && m->version < st->head->version)
				st->out_of_order[st->n_out_of_order++] = m;
		} else if (strcmp(a->checksum, m->checksum) != 0) {
			st->changed[st->n_changed++] = m;
		}
	}
	for (i = 0; i < st->history->n; i++)
		if (!pgw_migset_find(st->set, st->history->v[i].version))
			st->unknown[st->n_unknown++] = &st->history->v[i];
done:
	ctx_release(&c);
	if (error) {
		pgw_status_free(st);
		return error;
	}
	*out = st;
	return 0;
}

int pgw_history_read(struct pgw_history **out, const struct pgw_config *cfg,
		     struct pgw_err *err)
{
	struct ctx c;
	int error;

	*out = NULL;
	error = ctx_open(&c, cfg, NULL, false, true, err);
	if (!error) {
		*out = c.hist;
		c.hist = NULL;
	}
	ctx_release(&c);
	return error;
}

int pgw_baseline(struct pgw_history **out, const struct pgw_config *cfg,
		 int64_t version, struct pgw_err *err)
{
	struct ctx c;
	size_t i;
	int error;

	*out = NULL;
	error = ctx_open(&c, cfg, NULL, true, false, err);
	if (error)
		goto done;
	if (!pgw_migset_find(c.set, version)) {
		error = pgw_err_set(err, PGW_EINVAL,
				    "--to %lld: no migration in '%s' has that version",
				    (long long)version, cfg->migrations_dir);
		goto done;
	}
	error = ctx_lock(&c, cfg->wait_s, err);
	if (error)
		goto done;
	if (c.hist->n) {
		error = pgw_err_set(err, PGW_EINVAL,
				    "the database already has a migration history (%zu applied); baseline adopts only a database without one",
				    c.hist->n);
		pgw_err_hint(err, "use 'pgward up' to move it forward");
		goto done;
	}
	error = pgw_pg_run(c.conn, "BEGIN", err);
	if (!error)
		error = pgw_history_ensure(c.conn, cfg->schema, err);
	if (!error) {
		const struct pgw_migration **ms =
			calloc(c.set->n + 1, sizeof(*ms));

		/* recorded as applied, not run: the schema is already there */
		for (i = 0; ms && !error && i < c.set->n &&
			    c.set->v[i].version <= version;
		     i++) {
			error = pgw_migration_parse(&c.set->v[i], err);
			ms[i] = &c.set->v[i];
		}
		if (!ms)
			error = pgw_err_oom(err);
		else if (!error)
			error = pgw_history_insert(c.conn, cfg->schema, ms,
						   NULL, i, c.id, err);
		free(ms);
	}
	if (!error && !pgw_lock_held(c.ctl, cfg->schema))
		error = pgw_err_set(err, PGW_EFAILED, "lost the deploy lock; rolled back");
	if (!error)
		error = pgw_pg_run(c.conn, "COMMIT", err);
	if (error) {
		PQclear(PQexec(c.conn, "ROLLBACK"));
		goto done;
	}
	pgw_history_free(c.hist);
	c.hist = NULL;
	error = pgw_history_load(out, c.conn, cfg->schema, false, err);
done:
	ctx_release(&c);
	return error;
}

int pgw_new_migration(char **out_path, const struct pgw_config *cfg,
		      const char *name, struct pgw_err *err)
{
	struct pgw_migset *set = NULL;
	struct pgw_buf path = PGW_BUF_INIT, clean = PGW_BUF_INIT;
	int64_t next = 1;
	int width = 3, fd = -1, error;
	const char *p;
	FILE *f;

	*out_path = NULL;
	for (p = name; *p; p++) {
		char ch = (char)tolower((unsigned char)*p);

		pgw_buf_putc(&clean, isalnum((unsigned char)ch) ? ch : '_');
	}
	if (!clean.len) {
		error = pgw_err_set(err, PGW_EINVAL, "a migration needs a name: pgward new NAME");
		goto done;
	}
	error = pgw_migset_load(&set, cfg->migrations_dir, err);
	if (error)
		goto done;
	if (set->n) {
		const struct pgw_migration *last = &set->v[set->n - 1];

		width = (int)strlen(last->vtext);
		next = last->version + 1;
		if (width >= 14) {
			/* timestamps: keep using them */
			time_t t = time(NULL);
			struct tm tm;
			char ts[32];

			gmtime_r(&t, &tm);
			strftime(ts, sizeof(ts), "%Y%m%d%H%M%S", &tm);
			next = strtoll(ts, NULL, 10);
			if (next <= last->version)
				next = last->version + 1;
		}
	}
	pgw_buf_printf(&path, "%s/%0*lld_%s.sql", cfg->migrations_dir, width,
		       (long long)next, clean.ptr);
	if (pgw_buf_oom(&path)) {
		error = pgw_err_oom(err);
		goto done;
	}
	fd = open(path.ptr, O_WRONLY | O_CREAT | O_EXCL, 0644);
	f = fd >= 0 ? fdopen(fd, "w") : NULL;
	if (!f) {
		error = pgw_err_set(err, PGW_EIO, "cannot create '%s': %s",
				    path.ptr, strerror(errno));
		if (fd >= 0)
			close(fd);
		goto done;
	}
	fprintf(f,
		"-- %s\n"
		"-- migrate:up\n\n\n"
		"-- migrate:down\n\n\n"
		"-- migrate:verify\n"
		"-- a query whose first value must be true, e.g.\n"
		"-- SELECT count(*) = 0 FROM my_table WHERE my_column IS NULL;\n",
		clean.ptr);
	if (fclose(f) != 0) {
		error = pgw_err_set(err, PGW_EIO, "cannot write '%s': %s",
				    path.ptr, strerror(errno));
		unlink(path.ptr);
		goto done;
	}
	*out_path = pgw_buf_detach(&path);
done:
	pgw_buf_release(&path);
	pgw_buf_release(&clean);
	pgw_migset_free(set);
	return error;
}
