/* check.c - pgward check, the pull-request check: every migration parsed,
 * applied to a throwaway database one by one, each down section shown to
 * give back exactly the schema before its up (and up again the same as
 * the first time), verify queries that would scan a whole table named,
 * and schema.sql compared with (or rewritten from) the result.
 *
 * The throwaway database is a private cluster (--ephemeral, ephemeral.c)
 * or a scratch database on the server of -d, dropped afterwards. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ephemeral.h"
#include "file.h"
#include "interrupt.h"
#include "migfile.h"
#include "pg.h"
#include "release.h"
#include "schema.h"
#include "sqlparse.h"
#include "verify.h"

struct check {
	const struct pgw_config *cfg;
	struct pgw_config scratch_cfg; /* the same, pointed at the scratch */
	struct pgw_check_report *r;
	struct pgw_buf problems, warnings;
	struct pgw_ephemeral *eph;
	PGconn *admin;   /* -d: creates and drops the scratch database */
	char *scratch;   /* its name */
	char *conninfo;  /* where migrations go */
	PGconn *conn;    /* reads the schema there */
};

/* `conninfo` (URL or key=value) with dbname replaced, as key=value. */
static char *with_dbname(const char *conninfo, const char *db)
{
	PQconninfoOption *opts = PQconninfoParse(conninfo ? conninfo : "", NULL);
	struct pgw_buf b = PGW_BUF_INIT;
	PQconninfoOption *o;

	if (!opts)
		return NULL;
	for (o = opts; o->keyword; o++) {
		const char *v = strcmp(o->keyword, "dbname") == 0 ? db : o->val;
		const char *p;

		if (!v)
			continue;
		pgw_buf_printf(&b, "%s%s='", b.len ? " " : "", o->keyword);
		for (p = v; *p; p++) {
			if (*p == '\'' || *p == '\\')
				pgw_buf_putc(&b, '\\');
			pgw_buf_putc(&b, *p);
		}
		pgw_buf_putc(&b, '\'');
	}
	PQconninfoFree(opts);
	if (pgw_buf_oom(&b)) {
		pgw_buf_release(&b);
		return NULL;
	}
	return pgw_buf_detach(&b);
}

static int start_target(struct check *k, bool ephemeral, struct pgw_err *err)
{
	char id[40];
	int error;

	if (ephemeral) {
		struct pgw_ephemeral_opts eo = PGW_EPHEMERAL_OPTS_INIT;
		char **roles = pgw_list_split(k->cfg->ephemeral_roles);
		char **exts = pgw_list_split(k->cfg->ephemeral_extensions);

		if (!roles || !exts) {
			pgw_list_free(roles);
			pgw_list_free(exts);
			return pgw_err_oom(err);
		}
		eo.roles = (const char *const *)roles;
		eo.extensions = (const char *const *)exts;
		error = pgw_ephemeral_start(&k->eph, &eo, err);
		pgw_list_free(roles);
		pgw_list_free(exts);
		if (error)
			return error;
		k->conninfo = strdup(pgw_ephemeral_conninfo(k->eph));
		return k->conninfo ? 0 : pgw_err_oom(err);
	}
	/* a scratch database beside the one -d names */
	pgw_pg_new_id(id);
	error = pgw_pg_connect(&k->admin,
	                       pgw_config_session_url(k->cfg),
	                       "pgward:check", err);
	if (error)
		return error;
	{
		struct pgw_buf sql = PGW_BUF_INIT, name = PGW_BUF_INIT;
		char *q;
		size_t i;

		pgw_buf_printf(&name, "pgward_check_%s", id);
		for (i = 0; name.ptr && i < name.len; i++)
			if (name.ptr[i] == '-')
				name.ptr[i] = '_';
		if (pgw_buf_oom(&name))
			return pgw_err_oom(err);
		k->scratch = pgw_buf_detach(&name);
		q = pgw_pg_ident(k->admin, k->scratch, err);
		if (!q)
			return err->code;
		pgw_buf_printf(&sql, "CREATE DATABASE %s", q);
		PQfreemem(q);
		error = pgw_buf_oom(&sql) ? pgw_err_oom(err)
		                          : pgw_pg_run(k->admin, sql.ptr, err);
		pgw_buf_release(&sql);
		if (error) {
			free(k->scratch);
			k->scratch = NULL;
			pgw_err_wrap(err, "cannot create a scratch database for the check");
			pgw_err_hint(err, "give -d a role that may CREATE DATABASE, or use --ephemeral");
			return error;
		}
	}
	k->conninfo = with_dbname(pgw_config_session_url(k->cfg),
	                          k->scratch);
	return k->conninfo ? 0 : pgw_err_oom(err);
}

static void stop_target(struct check *k)
{
	PQfinish(k->conn);
	k->conn = NULL;
	if (k->scratch && k->admin) {
		struct pgw_buf sql = PGW_BUF_INIT;
		struct pgw_err ignored = PGW_ERR_INIT;
		char *q = pgw_pg_ident(k->admin, k->scratch, &ignored);

		if (q) {
			pgw_buf_printf(&sql, "DROP DATABASE IF EXISTS %s WITH (FORCE)", q);
			PQfreemem(q);
			if (!pgw_buf_oom(&sql) &&
			    pgw_pg_run(k->admin, sql.ptr, &ignored) != 0)
				pgw_log_warn("could not drop the scratch database %s: %s",
				             k->scratch, ignored.msg);
		}
		pgw_buf_release(&sql);
	}
	PQfinish(k->admin);
	k->admin = NULL;
	pgw_ephemeral_stop(k->eph);
	k->eph = NULL;
	free(k->scratch);
	k->scratch = NULL;
	free(k->conninfo);
	k->conninfo = NULL;
}

static int read_schema(struct pgw_schema **out, struct check *k,
                       struct pgw_err *err)
{
	return pgw_schema_read(out, k->conn, k->cfg->schema, err);
}

/* Move the scratch database to `v` (-1: nothing applied). */
static int move_to(struct check *k, int64_t v, bool down, struct pgw_err *err)
{
	struct pgw_run_opts o = PGW_RUN_OPTS_INIT;
	struct pgw_run *run = NULL;
	int error;

	if (pgw_interrupted())
		return pgw_err_set(err, PGW_EFAILED, "interrupted");
	o.deploy_id = "check";
	o.flags |= PGW_RUN_QUIET;
	if (v < 0) {
		o.flags |= PGW_RUN_HAS_STEPS;
		o.steps = 1;
	} else {
		o.flags |= PGW_RUN_HAS_TARGET;
		o.target = v;
	}
	error = down ? pgw_down(&run, &k->scratch_cfg, &o, err)
	             : pgw_up(&run, &k->scratch_cfg, &o, err);
	pgw_run_free(run);
	return error;
}

/* A difference between two states of the scratch database: a problem
 * named `what`. */
static int expect_same(struct check *k, const struct pgw_schema *want,
                       const struct pgw_schema *got, const char *what,
                       const char *extra, struct pgw_err *err)
{
	struct pgw_schema_diff *d = NULL;
	int error = pgw_schema_compare_as(&d, want, got, NULL, extra, err);

	if (!error && d->n) {
		pgw_buf_printf(&k->problems, "%s:\n", what);
		pgw_schema_diff_text(&k->problems, d);
	}
	pgw_schema_diff_free(d);
	return error;
}

/* up, read; down, compare with the state before; up again, compare with
 * the first up. */
static int check_one(struct check *k, const struct pgw_migration *m,
                     struct pgw_schema **prev, struct pgw_err *err)
{
	struct pgw_schema *up = NULL, *down = NULL, *again = NULL;
	struct pgw_buf what = PGW_BUF_INIT;
	int error;

	error = move_to(k, m->version, false, err);
	if (error) {
		/* a migration that does not apply is the check's finding */
		if (error == PGW_EFAILED || error == PGW_EPG) {
			pgw_buf_printf(&k->problems, "%s: up fails: %s\n",
			               m->file, err->msg);
			pgw_err_clear(err);
			return 1;
		}
		return error;
	}
	error = read_schema(&up, k, err);
	if (error)
		goto done;
	if (!m->down.present) {
		pgw_buf_printf(&k->warnings,
		               "%s: no down section: it cannot be reverted\n",
		               m->file);
		goto keep;
	}
	error = move_to(k, -1, true, err);
	if (error == PGW_EFAILED || error == PGW_EPG) {
		pgw_buf_printf(&k->problems, "%s: down fails: %s\n", m->file,
		               err->msg);
		pgw_err_clear(err);
		error = 1;
		goto done;
	}
	if (!error)
		error = read_schema(&down, k, err);
	pgw_buf_printf(&what, "%s: down does not give back the schema before its up (before -> after down)",
	               m->file);
	if (!error && !pgw_buf_oom(&what))
		error = expect_same(k, *prev, down, what.ptr, "left behind", err);
	if (!error) {
		error = move_to(k, m->version, false, err);
		if (error == PGW_EFAILED || error == PGW_EPG) {
			pgw_buf_printf(&k->problems,
			               "%s: up after down fails: %s\n", m->file,
			               err->msg);
			pgw_err_clear(err);
			error = 1;
			goto done;
		}
	}
	if (!error)
		error = read_schema(&again, k, err);
	pgw_buf_reset(&what);
	pgw_buf_printf(&what, "%s: up after down differs from the first up (first -> again)",
	               m->file);
	if (!error && !pgw_buf_oom(&what))
		error = expect_same(k, up, again, what.ptr, "new", err);
	if (error)
		goto done;
keep:
	pgw_schema_free(*prev);
	*prev = up;
	up = NULL;
done:
	pgw_buf_release(&what);
	pgw_schema_free(up);
	pgw_schema_free(down);
	pgw_schema_free(again);
	return error;
}

/* Verify queries no index can serve: with sequential scans switched off
 * the planner still picks one only when it has no other way. */
static int check_scans(struct check *k, const struct pgw_migset *set,
                       struct pgw_err *err)
{
	size_t i, j;
	int error = pgw_pg_run(k->conn, "BEGIN; SET LOCAL enable_seqscan = off",
	                       err);

	for (i = 0; !error && i < set->n; i++) {
		const struct pgw_migration *m = &set->v[i];

		for (j = 0; !error && j < m->verify.n_stmts; j++) {
			const struct pgw_stmt *st = &m->verify.stmts[j];
			struct pgw_buf sql = PGW_BUF_INIT;
			PGresult *res;
			int row;

			pgw_buf_printf(&sql, "EXPLAIN %s", st->sql);
			if (pgw_buf_oom(&sql)) {
				error = pgw_err_oom(err);
				break;
			}
			res = PQexec(k->conn, "SAVEPOINT scan");
			PQclear(res);
			res = PQexec(k->conn, sql.ptr);
			pgw_buf_release(&sql);
			for (row = 0; PQresultStatus(res) == PGRES_TUPLES_OK &&
			              row < PQntuples(res);
			     row++) {
				const char *seq = strstr(PQgetvalue(res, row, 0),
				                         "Seq Scan on ");

				if (!seq)
					continue;
				pgw_buf_printf(&k->warnings,
				               "%s:%d: verify query scans %.*s sequentially: no index serves it, slow on a large table\n",
				               m->file, st->line,
				               (int)strcspn(seq + 12, " "), seq + 12);
				break;
			}
			PQclear(res);
			res = PQexec(k->conn, "ROLLBACK TO SAVEPOINT scan");
			PQclear(res);
		}
	}
	pgw_pg_run(k->conn, "ROLLBACK", NULL);
	return error;
}

int pgw_check(struct pgw_check_report **out, const struct pgw_config *cfg,
              const struct pgw_check_opts *opts, struct pgw_err *err)
{
	struct check k;
	struct pgw_migset *set = NULL;
	struct pgw_schema *expected = NULL, *prev = NULL;
	struct pgw_schema_diff *d = NULL;
	size_t i;
	int error;

	*out = NULL;
	memset(&k, 0, sizeof(k));
	k.cfg = cfg;
	k.r = calloc(1, sizeof(*k.r));
	if (!k.r || !(k.r->schema_file = pgw_schema_file(cfg))) {
		free(k.r);
		return pgw_err_oom(err);
	}
	/* every file parses, before anything starts */
	error = pgw_migset_load(&set, cfg->migrations_dir, err);
	if (!error)
		error = pgw_migset_check(set, err);
	if (!error)
		error = pgw_migset_parse(set, err);
	/* released migrations never change; new ones sort above them */
	if (!error)
		error = pgw_release_check(&k.problems, cfg, set, err);
	if (!error) {
		error = pgw_schema_load(&expected, k.r->schema_file, err);
		if (error == PGW_ENOTFOUND) {
			pgw_err_clear(err);
			error = 0;
		}
	}
	if (!error)
		error = start_target(&k, opts->ephemeral, err);
	if (error)
		goto done;
	k.scratch_cfg = *cfg;
	k.scratch_cfg.database_url = k.conninfo;
	k.scratch_cfg.direct_url = NULL;
	k.scratch_cfg.wait_s = 0;
	error = pgw_pg_connect(&k.conn, k.conninfo, "pgward:check", err);
	if (!error)
		error = read_schema(&prev, &k, err);
	for (i = 0; !error && i < set->n; i++) {
		k.r->n_migrations++;
		error = check_one(&k, &set->v[i], &prev, err);
	}
	if (error == 1) {
		/* a migration did not apply: nothing after it can be checked */
		error = 0;
		goto report;
	}
	if (!error)
		error = check_scans(&k, set, err);
	if (error)
		goto done;
	if (expected)
		error = pgw_schema_compare(&d, expected, prev, cfg->verify_ignore,
		                           err);
	if (error)
		goto done;
	if (!expected || d->n) {
		struct pgw_buf text = PGW_BUF_INIT;

		if (d)
			pgw_schema_diff_text(&text, d);
		else
			pgw_buf_printf(&text, "%s does not exist\n",
			               k.r->schema_file);
		if (pgw_buf_oom(&text)) {
			error = pgw_err_oom(err);
			goto done;
		}
		k.r->schema_diff = pgw_buf_detach(&text);
		if (opts->write) {
			error = pgw_file_write(k.r->schema_file, prev->text, err);
			k.r->schema_written = !error;
		}
	}
report:
	if (pgw_buf_oom(&k.problems) || pgw_buf_oom(&k.warnings)) {
		error = pgw_err_oom(err);
		goto done;
	}
	k.r->problems = k.problems.len ? pgw_buf_detach(&k.problems) : NULL;
	k.r->warnings = k.warnings.len ? pgw_buf_detach(&k.warnings) : NULL;
done:
	stop_target(&k);
	pgw_schema_diff_free(d);
	pgw_schema_free(expected);
	pgw_schema_free(prev);
	pgw_migset_free(set);
	pgw_buf_release(&k.problems);
	pgw_buf_release(&k.warnings);
	if (error) {
		pgw_check_report_free(k.r);
		return error;
	}
	*out = k.r;
	return 0;
}

void pgw_check_report_free(struct pgw_check_report *r)
{
	if (!r)
		return;
	free(r->schema_file);
	free(r->problems);
	free(r->warnings);
	free(r->schema_diff);
	free(r);
}
