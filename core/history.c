/* history.c - reading and writing pgward.migrations. */
#include "history.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pg.h"

#define LIGHT_COLUMNS                                                      \
	"version, name, file, checksum, destructive,"                      \
	" pg_catalog.to_char(applied_at AT TIME ZONE 'UTC',"               \
	" 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'),"                                \
	" applied_by, duration_ms, git_commit, git_tag, deploy_id"
static const char *const light_columns = LIGHT_COLUMNS;
static const char *const columns =
	LIGHT_COLUMNS ", up_sql, down_sql, down_directives, verify_sql";

static char *col(PGresult *res, int row, int i)
{
	return PQgetisnull(res, row, i) ? NULL :
					  strdup(PQgetvalue(res, row, i));
}

void pgw_history_free(struct pgw_history *h)
{
	size_t i;

	if (!h)
		return;
	for (i = 0; i < h->n; i++) {
		struct pgw_applied *a = &h->v[i];

		free(a->name);
		free(a->file);
		free(a->checksum);
		free(a->up_sql);
		free(a->down_sql);
		free(a->down_directives);
		free(a->verify_sql);
		free(a->applied_at);
		free(a->applied_by);
		free(a->git_commit);
		free(a->git_tag);
		free(a->deploy_id);
	}
	free(h->v);
	free(h);
}

/* "schema".migrations, quoted. */
static char *table_name(PGconn *c, const char *schema, struct pgw_err *err)
{
	char *q = pgw_pg_ident(c, schema, err);
	struct pgw_buf b = PGW_BUF_INIT;

	if (!q)
		return NULL;
	pgw_buf_printf(&b, "%s.migrations", q);
	PQfreemem(q);
	if (pgw_buf_oom(&b)) {
		pgw_err_oom(err);
		pgw_buf_release(&b);
		return NULL;
	}
	return pgw_buf_detach(&b);
}

/* Undefined table or schema: there is no history yet. */
static bool no_history(const struct pgw_err *err)
{
	return !strcmp(err->sqlstate, "42P01") || !strcmp(err->sqlstate, "3F000");
}

int pgw_history_load(struct pgw_history **out, PGconn *c, const char *schema,
		     bool full, struct pgw_err *err)
{
	struct pgw_history *h;
	struct pgw_buf sql = PGW_BUF_INIT;
	PGresult *res = NULL;
	char *table = NULL;
	int error, i, n;

	*out = NULL;
	h = calloc(1, sizeof(*h));
	if (!h)
		return pgw_err_oom(err);
	table = table_name(c, schema, err);
	if (!table) {
		error = err->code;
		goto done;
	}
	/* One round trip, in the common case and the no-op one: ask, and
	 * take "no such table" for "no history".  The SQL bodies only when
	 * they are needed (down, history). */
	pgw_buf_printf(&sql, "SELECT %s FROM %s ORDER BY version",
		       full ? columns : light_columns, table);
	if (pgw_buf_oom(&sql)) {
		error = pgw_err_oom(err);
		goto done;
	}
	error = pgw_pg_exec(&res, c, sql.ptr, 0, NULL, err);
	if (error && no_history(err)) {
		pgw_err_clear(err);
		error = 0;
		goto done;
	}
	if (error)
		goto done;
	h->exists = true;
	n = PQntuples(res);
	h->v = calloc((size_t)n + 1, sizeof(*h->v));
	if (!h->v) {
		error = pgw_err_oom(err);
		goto done;
	}
	for (i = 0; i < n; i++) {
		struct pgw_applied *a = &h->v[i];

		a->version = strtoll(PQgetvalue(res, i, 0), NULL, 10);
		a->name = col(res, i, 1);
		a->file = col(res, i, 2);
		a->checksum = col(res, i, 3);
		a->destructive = strcmp(PQgetvalue(res, i, 4), "t") == 0;
		a->applied_at = col(res, i, 5);
		a->applied_by = col(res, i, 6);
		a->duration_ms = strtoll(PQgetvalue(res, i, 7), NULL, 10);
		a->git_commit = col(res, i, 8);
		a->git_tag = col(res, i, 9);
		a->deploy_id = col(res, i, 10);
		if (full) {
			a->up_sql = col(res, i, 11);
			a->down_sql = col(res, i, 12);
			a->down_directives = col(res, i, 13);
			a->verify_sql = col(res, i, 14);
		}
		h->n++;
	}
done:
	PQclear(res);
	free(table);
	pgw_buf_release(&sql);
	if (error) {
		pgw_history_free(h);
		return error;
	}
	*out = h;
	return 0;
}

int pgw_history_ensure(PGconn *c, const char *schema, struct pgw_err *err)
{
	struct pgw_buf sql = PGW_BUF_INIT;
	char *q = pgw_pg_ident(c, schema, err);
	int error;

	if (!q)
		return err->code;
	pgw_buf_printf(&sql,
		       "CREATE SCHEMA IF NOT EXISTS %s;"
		       "CREATE TABLE IF NOT EXISTS %s.migrations ("
		       " version bigint PRIMARY KEY,"
		       " name text NOT NULL,"
		       " file text NOT NULL,"
		       " checksum text NOT NULL,"
		       " up_sql text NOT NULL,"
		       " down_sql text,"
		       " down_directives text,"
		       " verify_sql text,"
		       " destructive boolean NOT NULL DEFAULT false,"
		       " applied_at timestamptz NOT NULL DEFAULT pg_catalog.now(),"
		       " applied_by text NOT NULL DEFAULT CURRENT_USER,"
		       " duration_ms bigint,"
		       " git_commit text,"
		       " git_tag text,"
		       " deploy_id text,"
		       " schema_hash text)",
		       q, q);
	PQfreemem(q);
	if (pgw_buf_oom(&sql))
		return pgw_err_oom(err);
	/* IF NOT EXISTS still notices; keep the log clean */
	error = pgw_pg_run(c, "SET LOCAL client_min_messages = warning", err);
	if (!error)
		error = pgw_pg_run(c, sql.ptr, err);
	pgw_buf_release(&sql);
	return error;
}

int pgw_history_insert(PGconn *c, const char *schema,
		       const struct pgw_migration *m, long long duration_ms,
		       const char *deploy_id, struct pgw_err *err)
{
	char version[32], duration[32];
	const char *params[11];
	struct pgw_buf sql = PGW_BUF_INIT;
	char *table = table_name(c, schema, err);
	int error;

	if (!table)
		return err->code;
	snprintf(version, sizeof(version), "%lld", (long long)m->version);
	snprintf(duration, sizeof(duration), "%lld", duration_ms);
	params[0] = version;
	params[1] = m->name;
	params[2] = m->file;
	params[3] = m->checksum;
	params[4] = m->up.text;
	params[5] = m->down.present ? m->down.text : NULL;
	params[6] = m->down.present ? m->down.directives : NULL;
	params[7] = m->verify.present ? m->verify.text : NULL;
	params[8] = m->destructive ? "t" : "f";
	params[9] = duration;
	params[10] = deploy_id;
	pgw_buf_printf(&sql,
		       "INSERT INTO %s (version, name, file, checksum, up_sql,"
		       " down_sql, down_directives, verify_sql, destructive,"
		       " applied_by, duration_ms, deploy_id)"
		       " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9,"
		       " pg_catalog.session_user(), $10, $11)",
		       table);
	free(table);
	if (pgw_buf_oom(&sql))
		return pgw_err_oom(err);
	error = pgw_pg_exec(NULL, c, sql.ptr, 11, params, err);
	pgw_buf_release(&sql);
	return error;
}

int pgw_history_delete(PGconn *c, const char *schema, int64_t version,
		       struct pgw_err *err)
{
	char v[32];
	const char *params[1] = { v };
	struct pgw_buf sql = PGW_BUF_INIT;
	char *table = table_name(c, schema, err);
	int error;

	if (!table)
		return err->code;
	snprintf(v, sizeof(v), "%lld", (long long)version);
	pgw_buf_printf(&sql, "DELETE FROM %s WHERE version = $1", table);
	free(table);
	if (pgw_buf_oom(&sql))
		return pgw_err_oom(err);
	error = pgw_pg_exec(NULL, c, sql.ptr, 1, params, err);
	pgw_buf_release(&sql);
	return error;
}

const struct pgw_applied *pgw_history_find(const struct pgw_history *h,
					   int64_t version)
{
	size_t lo = 0, hi = h->n;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;

		if (h->v[mid].version == version)
			return &h->v[mid];
		if (h->v[mid].version < version)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}
