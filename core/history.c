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

#define INSERT_COLS 13
#define INSERT_CHUNK 500 /* rows per statement: 6,500 parameters */

int pgw_history_insert(PGconn *c, const char *schema,
		       const struct pgw_migration *const *ms,
		       const long long *durations, size_t n,
		       const char *deploy_id, struct pgw_err *err)
{
	char (*nums)[2][32] = NULL;
	const char **params = NULL;
	struct pgw_buf sql = PGW_BUF_INIT;
	char *table = table_name(c, schema, err);
	size_t done, i, k;
	int error = 0;

	if (!table)
		return err->code;
	nums = calloc(INSERT_CHUNK, sizeof(*nums));
	params = calloc(INSERT_CHUNK * INSERT_COLS, sizeof(*params));
	if (!nums || !params) {
		error = pgw_err_oom(err);
		goto done;
	}
	/* all rows of a segment in one statement: one round trip */
	for (done = 0; done < n && !error; done += k) {
		k = n - done < INSERT_CHUNK ? n - done : INSERT_CHUNK;
		pgw_buf_reset(&sql);
		pgw_buf_printf(&sql,
			       "INSERT INTO %s (version, name, file, checksum, up_sql,"
			       " down_sql, down_directives, verify_sql, destructive,"
			       " duration_ms, deploy_id, git_commit, git_tag,"
			       " applied_by) VALUES ",
			       table);
		for (i = 0; i < k; i++) {
			const struct pgw_migration *m = ms[done + i];
			const char **p = params + i * INSERT_COLS;
			size_t b = i * INSERT_COLS;

			snprintf(nums[i][0], 32, "%lld", (long long)m->version);
			snprintf(nums[i][1], 32, "%lld",
				 durations ? durations[done + i] : 0LL);
			p[0] = nums[i][0];
			p[1] = m->name;
			p[2] = m->file;
			p[3] = m->checksum;
			p[4] = m->up.text;
			p[5] = m->down.present ? m->down.text : NULL;
			p[6] = m->down.present ? m->down.directives : NULL;
			p[7] = m->verify.present ? m->verify.text : NULL;
			p[8] = m->destructive ? "t" : "f";
			p[9] = nums[i][1];
			p[10] = deploy_id;
			p[11] = m->git_commit;
			p[12] = m->git_tag;
			pgw_buf_printf(&sql,
				       "%s($%zu, $%zu, $%zu, $%zu, $%zu, $%zu, $%zu, $%zu,"
				       " $%zu, $%zu, $%zu, $%zu, $%zu,"
				       " pg_catalog.session_user())",
				       i ? ", " : "", b + 1, b + 2, b + 3, b + 4,
				       b + 5, b + 6, b + 7, b + 8, b + 9, b + 10,
				       b + 11, b + 12, b + 13);
		}
		if (pgw_buf_oom(&sql)) {
			error = pgw_err_oom(err);
			break;
		}
		error = pgw_pg_exec(NULL, c, sql.ptr, (int)(k * INSERT_COLS),
				    params, err);
	}
done:
	free(table);
	free(nums);
	free(params);
	pgw_buf_release(&sql);
	return error;
}

int pgw_history_delete(PGconn *c, const char *schema, const int64_t *versions,
		       size_t n, struct pgw_err *err)
{
	const char *params[1];
	struct pgw_buf sql = PGW_BUF_INIT, list = PGW_BUF_INIT;
	char *table = table_name(c, schema, err);
	size_t i;
	int error;

	if (!table)
		return err->code;
	pgw_buf_putc(&list, '{');
	for (i = 0; i < n; i++)
		pgw_buf_printf(&list, "%s%lld", i ? "," : "",
			       (long long)versions[i]);
	pgw_buf_putc(&list, '}');
	pgw_buf_printf(&sql, "DELETE FROM %s WHERE version = ANY ($1::bigint[])",
		       table);
	free(table);
	params[0] = list.ptr;
	if (pgw_buf_oom(&sql) || pgw_buf_oom(&list))
		error = pgw_err_oom(err);
	else
		error = pgw_pg_exec(NULL, c, sql.ptr, 1, params, err);
	pgw_buf_release(&sql);
	pgw_buf_release(&list);
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

int pgw_history_set_hash(PGconn *c, const char *schema, int64_t version,
			 const char *hash, struct pgw_err *err)
{
	struct pgw_buf sql = PGW_BUF_INIT;
	char *table = table_name(c, schema, err);
	char v[32];
	const char *params[2];
	int error;

	if (!table)
		return err->code;
	snprintf(v, sizeof(v), "%lld", (long long)version);
	params[0] = hash;
	params[1] = v;
	pgw_buf_printf(&sql, "UPDATE %s SET schema_hash = $1 WHERE version = $2",
		       table);
	error = pgw_buf_oom(&sql) ? pgw_err_oom(err)
				  : pgw_pg_exec(NULL, c, sql.ptr, 2, params, err);
	pgw_buf_release(&sql);
	free(table);
	return error;
}

int pgw_history_get_hash(char **out, PGconn *c, const char *schema,
			 struct pgw_err *err)
{
	struct pgw_buf sql = PGW_BUF_INIT;
	char *table = table_name(c, schema, err);
	PGresult *res = NULL;
	int error;

	*out = NULL;
	if (!table)
		return err->code;
	error = pgw_pg_exec(&res, c, "SELECT to_regclass($1) IS NOT NULL", 1,
			    (const char *const *)&table, err);
	if (error || PQgetvalue(res, 0, 0)[0] != 't')
		goto done; /* no history: no hash */
	PQclear(res);
	res = NULL;
	pgw_buf_printf(&sql,
		       "SELECT schema_hash FROM %s ORDER BY version DESC LIMIT 1",
		       table);
	error = pgw_buf_oom(&sql) ? pgw_err_oom(err)
				  : pgw_pg_exec(&res, c, sql.ptr, 0, NULL, err);
	if (!error && PQntuples(res) == 1 && !PQgetisnull(res, 0, 0) &&
	    !(*out = strdup(PQgetvalue(res, 0, 0))))
		error = pgw_err_oom(err);
done:
	PQclear(res);
	pgw_buf_release(&sql);
	free(table);
	return error;
}
