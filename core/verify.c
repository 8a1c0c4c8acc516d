/* verify.c - schema dump, verify and drift: the public operations over
 * the canonical schema (schema.c). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "file.h"
#include "history.h"
#include "migrate.h"
#include "pg.h"
#include "schema.h"
#include "sqlparse.h"
#include "verify.h"

static int open_conn(PGconn **c, const struct pgw_config *cfg,
                   struct pgw_err *err)
{
	char id[40], app[64];

	pgw_pg_new_id(id);
	snprintf(app, sizeof(app), "pgward:%s", id);
	return pgw_pg_connect(c, pgw_config_session_url(cfg), app, err);
}

char *pgw_schema_file(const struct pgw_config *cfg)
{
	struct pgw_buf b = PGW_BUF_INIT;

	pgw_buf_printf(&b, "%s/schema.sql", cfg->migrations_dir);
	if (pgw_buf_oom(&b)) {
		pgw_buf_release(&b);
		return NULL;
	}
	return pgw_buf_detach(&b);
}

int pgw_schema_dump(char **out, const struct pgw_config *cfg,
                    struct pgw_err *err)
{
	PGconn *c = NULL;
	int error;

	*out = NULL;
	error = open_conn(&c, cfg, err);
	if (!error)
		error = pgw_schema_read_text(out, c, cfg->schema, err);
	PQfinish(c);
	return error;
}

/* The verify sections of the rows the last deploy (the head row's
 * deploy id) wrote, each in a read-only transaction of its own; a
 * failure is recorded and the next section still runs. */
static int run_verify_sections(struct pgw_verify_report *r, PGconn *c,
                               const struct pgw_config *cfg,
                               struct pgw_err *err)
{
	struct pgw_buf failed = PGW_BUF_INIT;
	struct pgw_history *h = NULL;
	const char *last;
	size_t i, k;
	int error;

	error = pgw_history_load(&h, c, cfg->schema, true, err);
	if (error || !h->n)
		goto done;
	last = h->v[h->n - 1].deploy_id;
	for (i = 0; !error && i < h->n; i++) {
		const struct pgw_applied *a = &h->v[i];
		struct pgw_stmt *st = NULL;
		size_t n = 0;
		bool ok = true;

		if (!a->verify_sql || !last || !a->deploy_id ||
		    strcmp(a->deploy_id, last) != 0)
			continue;
		error = pgw_sql_split(&st, &n, a->verify_sql, 1, a->file, err);
		if (!error)
			error = pgw_pg_run(c, "BEGIN READ ONLY", err);
		for (k = 0; !error && ok && k < n; k++) {
			PGresult *res = PQexec(c, st[k].sql);
			ExecStatusType s = PQresultStatus(res);
			const char *bad = pgw_verify_failed(res);
			struct pgw_buf what = PGW_BUF_INIT;

			pgw_stmt_summary(&what, st[k].sql);
			if (s != PGRES_TUPLES_OK && s != PGRES_COMMAND_OK) {
				const char *m = PQresultErrorField(
				        res, PG_DIAG_MESSAGE_PRIMARY);

				pgw_buf_printf(&failed, "%s: verify '%s': %s\n",
				               a->file, what.ptr ? what.ptr : "",
				               m ? m : PQerrorMessage(c));
				ok = false;
			} else if (bad) {
				pgw_buf_printf(&failed,
				               "%s: verify '%s' returned %s\n",
				               a->file, what.ptr ? what.ptr : "",
				               bad);
				ok = false;
			}
			pgw_buf_release(&what);
			PQclear(res);
		}
		pgw_stmts_free(st, n);
		if (!error)
			error = pgw_pg_run(c, "ROLLBACK", err);
		if (!error)
			r->n_verified++;
	}
	if (!error && pgw_buf_oom(&failed))
		error = pgw_err_oom(err);
	if (!error && failed.len)
		r->failed = pgw_buf_detach(&failed);
done:
	pgw_buf_release(&failed);
	pgw_history_free(h);
	return error;
}

static int copy_changes(struct pgw_verify_report *r,
                        const struct pgw_schema_diff *d)
{
	struct pgw_buf text = PGW_BUF_INIT;
	size_t i;

	r->changes = calloc(d->n + 1, sizeof(*r->changes));
	if (!r->changes)
		return -1;
	for (i = 0; i < d->n; i++) {
		/* moved, not copied: the diff is freed without them */
		r->changes[i] = d->v[i];
		memset(&d->v[i], 0, sizeof(d->v[i]));
	}
	r->n_changes = d->n;
	pgw_schema_diff_text(&text, &(struct pgw_schema_diff){ r->changes, r->n_changes });
	if (pgw_buf_oom(&text)) {
		pgw_buf_release(&text);
		return -1;
	}
	r->text = pgw_buf_detach(&text);
	return 0;
}

int pgw_verify(struct pgw_verify_report **out, const struct pgw_config *cfg,
               struct pgw_err *err)
{
	struct pgw_verify_report *r = calloc(1, sizeof(*r));
	struct pgw_schema *expected = NULL, *live = NULL;
	struct pgw_schema_diff *d = NULL;
	PGconn *c = NULL;
	int error;

	*out = NULL;
	if (!r || !(r->schema_file = pgw_schema_file(cfg))) {
		free(r);
		return pgw_err_oom(err);
	}
	/* schema.sql is read before connecting: a bad one changes nothing */
	error = pgw_schema_load(&expected, r->schema_file, err);
	if (error == PGW_ENOTFOUND) {
		pgw_err_hint(err, "write it with 'pgward schema dump -o %s' from a database at the head version, or 'pgward check --ephemeral --write'",
		             r->schema_file);
		err->code = error = PGW_EINVAL;
	}
	if (!error)
		error = open_conn(&c, cfg, err);
	if (!error)
		error = run_verify_sections(r, c, cfg, err);
	if (!error)
		error = pgw_schema_read(&live, c, cfg->schema, err);
	if (!error)
		error = pgw_schema_compare(&d, expected, live, cfg->verify_ignore,
		                           err);
	if (!error && copy_changes(r, d) != 0)
		error = pgw_err_oom(err);
	pgw_schema_diff_free(d);
	pgw_schema_free(expected);
	pgw_schema_free(live);
	PQfinish(c);
	if (error) {
		pgw_verify_report_free(r);
		return error;
	}
	*out = r;
	return 0;
}

void pgw_verify_report_free(struct pgw_verify_report *r)
{
	size_t i;

	if (!r)
		return;
	for (i = 0; i < r->n_changes; i++)
		pgw_schema_change_release(&r->changes[i]);
	free(r->changes);
	free(r->text);
	free(r->failed);
	free(r->schema_file);
	free(r);
}

int pgw_expected_hash(char **hash, int64_t *version,
                      const struct pgw_config *cfg, struct pgw_err *err)
{
	struct pgw_schema *s = NULL;
	struct pgw_err ignored = PGW_ERR_INIT;
	char *path = pgw_schema_file(cfg);
	int error;

	*hash = NULL;
	*version = -1;
	if (!path)
		return pgw_err_oom(err);
	error = pgw_schema_load(&s, path, &ignored);
	if (error) {
		/* no schema.sql, or one that does not parse: nothing to
		 * store (verify and check say what is wrong with it) */
		if (error != PGW_ENOTFOUND)
			pgw_log_warn("no expected-schema hash recorded: %s",
			             ignored.msg);
		pgw_err_clear(&ignored);
		free(path);
		return 0;
	}
	free(path);
	if (s->version && pgw_version_parse(version, s->version, &ignored) == 0)
		error = pgw_schema_hash(hash, s, cfg->verify_ignore, err);
	pgw_err_clear(&ignored);
	pgw_schema_free(s);
	return error;
}

int pgw_drift(enum pgw_drift *out, const struct pgw_config *cfg,
              struct pgw_err *err)
{
	struct pgw_schema *live = NULL;
	char *stored = NULL;
	PGconn *c = NULL;
	bool same = false;
	int error;

	*out = PGW_DRIFT_UNKNOWN;
	error = open_conn(&c, cfg, err);
	if (!error)
		error = pgw_history_get_hash(&stored, c, cfg->schema, err);
	if (!error && stored)
		error = pgw_schema_read(&live, c, cfg->schema, err);
	if (!error && stored)
		error = pgw_schema_hash_check(&same, stored, live,
		                              cfg->verify_ignore, err);
	if (!error && stored)
		*out = same ? PGW_DRIFT_NONE : PGW_DRIFT_FOUND;
	free(stored);
	pgw_schema_free(live);
	PQfinish(c);
	return error;
}

/* The deploy's verification inside the last migration transaction. */
struct tx_verify {
	const struct pgw_config *cfg;
	struct pgw_schema *expected;
};

static int verify_before_commit(PGconn *c, void *ctx, struct pgw_err *err)
{
	struct tx_verify *v = ctx;
	struct pgw_schema *live = NULL;
	struct pgw_schema_diff *d = NULL;
	struct pgw_buf text = PGW_BUF_INIT;
	int error;

	error = pgw_schema_read_in_tx(&live, c, v->cfg->schema, err);
	if (!error)
		error = pgw_schema_compare(&d, v->expected, live,
		                           v->cfg->verify_ignore, err);
	if (!error && d->n) {
		pgw_schema_diff_text(&text, d);
		if (text.len && text.ptr[text.len - 1] == '\n')
			text.ptr[--text.len] = '\0';
		error = pgw_err_set(err, PGW_EFAILED,
		                    "verification failed: the schema differs from schema.sql in %zu place%s",
		                    d->n, d->n == 1 ? "" : "s");
		pgw_err_detail(err, "%s", text.ptr ? text.ptr : "");
	} else if (!error) {
		pgw_log_notice("verified: the schema is schema.sql's");
	}
	pgw_buf_release(&text);
	pgw_schema_diff_free(d);
	pgw_schema_free(live);
	return error;
}

int pgw_verify_hook(struct pgw_verify_hook **out, const struct pgw_config *cfg,
                    const char *schema_text, const char *to_vtext,
                    struct pgw_err *err)
{
	struct tx_verify *v;
	struct pgw_schema *s = NULL;
	int64_t want, have;
	int error;

	*out = NULL;
	if (!schema_text) {
		pgw_log_notice("no schema.sql: the schema is not compared before COMMIT");
		return 0;
	}
	error = pgw_schema_parse(&s, schema_text, "schema.sql", err);
	if (error)
		return error;
	if (!s->version || !to_vtext || pgw_version_parse(&want, to_vtext, err) ||
	    pgw_version_parse(&have, s->version, err) || want != have) {
		pgw_err_clear(err);
		pgw_log_warn("schema.sql is at %s, the run goes to %s: the schema is not compared before COMMIT",
		             s->version ? s->version : "no version",
		             to_vtext ? to_vtext : "?");
		pgw_schema_free(s);
		return 0;
	}
	v = calloc(1, sizeof(*v));
	if (!v) {
		pgw_schema_free(s);
		return pgw_err_oom(err);
	}
	v->cfg = cfg;
	v->expected = s;
	*out = (struct pgw_verify_hook *)v;
	return 0;
}

int pgw_verify_hook_run(PGconn *c, void *hook, struct pgw_err *err)
{
	return verify_before_commit(c, hook, err);
}

void pgw_verify_hook_free(struct pgw_verify_hook *h)
{
	struct tx_verify *v = (struct tx_verify *)h;

	if (!v)
		return;
	pgw_schema_free(v->expected);
	free(v);
}

/* <migrations dir>/schema.sql, *out NULL when there is none (or it
 * cannot be read: verify and check say what is wrong with it). */
int pgw_read_schema_file(char **out, const struct pgw_config *cfg,
                         struct pgw_err *err)
{
	struct pgw_err quiet = PGW_ERR_INIT;
	char *path = pgw_schema_file(cfg);
	size_t len;
	int error;

	*out = NULL;
	if (!path)
		return pgw_err_oom(err);
	error = pgw_file_read(out, &len, path, &quiet);
	free(path);
	return error == PGW_ENOMEM ? pgw_err_oom(err) : 0;
}
