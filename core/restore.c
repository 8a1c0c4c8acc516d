/* restore.c - pgward restore: every checksum checked before the database
 * is touched, then one transaction that drops the archive's objects one by
 * one (never a schema or an extension), replays the schema, loads the
 * rows (checked again as they stream), and never moves a sequence back. */
#include "pgward.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "archive.h"
#include "clock.h"
#include "catalog.h"
#include "fault.h"
#include "interrupt.h"
#include "pg.h"
#include "restore.h"
#include "sqlparse.h"

/* Rows go to the server in CopyData messages of at most this size.  The
 * server parses COPY text more slowly than the client decompresses and
 * hashes it, so the socket buffer must never run dry: a message much
 * larger than the socket buffer (about 200 kB for a unix socket) keeps the
 * client inside one blocking send until the buffer is nearly empty, and
 * the server then waits while the next message is read.  Measured at 1M
 * rows: 256 kB messages made the COPY ~20% slower than 64 kB ones. */
#define LOAD_CHUNK (64u * 1024)

void pgw_restore_report_free(struct pgw_restore_report *r)
{
	if (!r)
		return;
	free(r->database);
	free(r);
}

/* Extensions are prerequisites: the same version must be there, or the
 * database must be empty so that creating them changes nothing else. */
static int check_extensions(PGconn *c, const struct pgw_manifest *m,
			    struct pgw_buf *create, struct pgw_err *err)
{
	PGresult *res = NULL;
	bool empty;
	char **e;
	int error;

	error = pgw_pg_exec(&res, c,
			    "SELECT NOT EXISTS (SELECT 1 FROM pg_catalog.pg_class c"
			    " JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace"
			    " WHERE n.nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast')"
			    " AND n.nspname NOT LIKE 'pg\\_temp\\_%' AND n.nspname NOT LIKE 'pg\\_toast\\_temp\\_%')",
			    0, NULL, err);
	if (error)
		return error;
	empty = !strcmp(PQgetvalue(res, 0, 0), "t");
	PQclear(res);
	for (e = m->extensions; e && *e; e++) {
		char name[256], version[256], schema[256];
		const char *params[1] = { name };
		const char *sp;

		if (!pgw_archive_extension_parts(*e, name, version, schema))
			continue;
		sp = version[0] ? version : NULL;
		res = NULL;
		error = pgw_pg_exec(&res, c,
				    "SELECT extversion FROM pg_catalog.pg_extension WHERE extname = $1",
				    1, params, err);
		if (error)
			return error;
		if (PQntuples(res) && sp && strcmp(PQgetvalue(res, 0, 0), version)) {
			pgw_err_set(err, PGW_EINVAL,
				    "extension '%s' is at version %s here, the archive needs %s",
				    name, PQgetvalue(res, 0, 0), version);
			pgw_err_hint(err, "ALTER EXTENSION %s UPDATE TO '%s' first, or restore into an empty database",
				     name, version);
			PQclear(res);
			return err->code;
		}
		if (!PQntuples(res)) {
			char *q;

			PQclear(res);
			if (!empty) {
				pgw_err_set(err, PGW_EINVAL,
					    "extension '%s' is missing and the database is not empty",
					    name);
				pgw_err_hint(err, "CREATE EXTENSION %s first (it is a prerequisite), or restore into an empty database with --into",
					     name);
				return err->code;
			}
			if (schema[0] && strncmp(schema, "pg_", 3) != 0) {
				/* pre-data gives the schema its owner later */
				q = pgw_pg_ident(c, schema, err);
				if (!q)
					return err->code;
				pgw_buf_printf(create, "CREATE SCHEMA IF NOT EXISTS %s;\n", q);
				PQfreemem(q);
			}
			q = pgw_pg_ident(c, name, err);
			if (!q)
				return err->code;
			pgw_buf_printf(create, "CREATE EXTENSION IF NOT EXISTS %s", q);
			PQfreemem(q);
			if (schema[0]) {
				/* its schema comes from pre-data: create it first */
				q = pgw_pg_ident(c, schema, err);
				if (!q)
					return err->code;
				pgw_buf_printf(create, " SCHEMA %s", q);
				PQfreemem(q);
			}
			if (sp) {
				q = PQescapeLiteral(c, version, strlen(version));
				pgw_buf_printf(create, " VERSION %s", q ? q : "''");
				PQfreemem(q);
			}
			pgw_buf_puts(create, ";\n");
			continue;
		}
		PQclear(res);
	}
	return 0;
}

/* Count the locks the transaction takes against the server's budget
 * (max_locks_per_transaction x (max_connections + max_prepared_xacts)):
 * atomic mode is refused up front rather than failing half-way. */
static int check_lock_budget(PGconn *c, const struct pgw_manifest *m,
			     const struct pgw_catalog *live,
			     struct pgw_err *err)
{
	PGresult *res = NULL;
	long long budget, need;
	int error;

	error = pgw_pg_exec(&res, c,
			    "SELECT pg_catalog.current_setting('max_locks_per_transaction')::bigint"
			    " * (pg_catalog.current_setting('max_connections')::bigint"
			    " + pg_catalog.current_setting('max_prepared_transactions')::bigint)",
			    0, NULL, err);
	if (error)
		return error;
	budget = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
	PQclear(res);
	/* each dropped object, and each table restored with its TOAST
	 * table and a few indexes */
	need = (long long)live->n_objects + 4 * (long long)m->n_tables + 16;
	if (need > budget) {
		pgw_err_set(err, PGW_EINVAL,
			    "the restore needs about %lld locks in one transaction; the server's lock table holds %lld",
			    need, budget);
		pgw_err_hint(err, "raise max_locks_per_transaction (a restart is needed), then restore again; nothing was changed");
		return err->code;
	}
	return 0;
}

/* Run statement by statement, skipping ALTER ... OWNER TO with no_owner;
 * a role that cannot be set is bad input, with the way out named. */
static int replay(PGconn *c, const char *sql, const char *what, bool no_owner,
		  struct pgw_err *err)
{
	struct pgw_stmt *stmts = NULL;
	size_t n = 0, i;
	int error;

	if (!no_owner) {
		error = pgw_pg_run(c, sql, err);
	} else {
		error = pgw_sql_split(&stmts, &n, sql, 1, what, err);
		for (i = 0; !error && i < n; i++) {
			const char *s = stmts[i].sql;

			if (!strncasecmp(s, "ALTER ", 6) && strstr(s, " OWNER TO "))
				continue;
			error = pgw_pg_run(c, s, err);
		}
		pgw_stmts_free(stmts, n);
	}
	if (error && strstr(err->msg, "role") &&
	    (!strcmp(err->sqlstate, "42704") || !strcmp(err->sqlstate, "42501"))) {
		err->code = PGW_EINVAL;
		pgw_err_hint(err, "the archive's owners must exist and be settable by this role; --no-owner restores everything owned by the restoring role");
	}
	if (error)
		pgw_err_wrap(err, "replaying %s", what);
	return error;
}

/* The table number of a data entry: "data/NNNN...." (the layout fixes
 * it; the rest of the name is never used). */
static unsigned entry_seq(const char *name)
{
	if (strncmp(name, "data/", 5) != 0)
		return 0;
	return (unsigned)strtoul(name + 5, NULL, 10);
}

/* Who holds a lock on a relation: "pid 123 (app, idle in transaction:
 * SELECT ...)", for the message of a lock timeout. */
static void name_holders(struct pgw_err *err, PGconn *c, unsigned objid)
{
	char oid[16];
	const char *params[1] = { oid };
	struct pgw_err e = PGW_ERR_INIT;
	PGresult *res = NULL;
	int i;

	snprintf(oid, sizeof(oid), "%u", objid);
	if (pgw_pg_exec(&res, c,
			"SELECT DISTINCT a.pid, a.application_name, a.state, left(a.query, 60)"
			" FROM pg_catalog.pg_locks l JOIN pg_catalog.pg_stat_activity a ON a.pid = l.pid"
			" WHERE l.relation = $1::oid AND l.granted"
			" AND l.database = " PGW_SQL_THIS_DATABASE
			" AND a.pid <> pg_catalog.pg_backend_pid() LIMIT 5",
			1, params, &e))
		return;
	for (i = 0; i < PQntuples(res); i++)
		pgw_err_note(err, "held by pid %s (%s, %s: %s)", PQgetvalue(res, i, 0),
			     PQgetvalue(res, i, 1), PQgetvalue(res, i, 2),
			     PQgetvalue(res, i, 3));
	PQclear(res);
}

/* When an autovacuum worker holds a lock on the relation (this database),
 * the next try waits past deadlock_timeout: the server cancels an
 * autovacuum in the way of a lock request only once the request has
 * waited that long (1 s by default, as long as --lock-timeout's default),
 * so tries within it would time out for as long as it works on the
 * table.  Readers queue behind the restore meanwhile, as they do behind
 * its drops anyway. */
static void outwait_autovacuum(PGconn *c, unsigned objid)
{
	char oid[16];
	const char *params[1] = { oid };
	struct pgw_err e = PGW_ERR_INIT;
	PGresult *res = NULL;

	snprintf(oid, sizeof(oid), "%u", objid);
	if (pgw_pg_exec(&res, c,
			/* GREATEST and EXTRACT are syntax, not functions */
			"SELECT 'SET LOCAL lock_timeout = ' || GREATEST("
			"  (EXTRACT(epoch FROM pg_catalog.current_setting('lock_timeout')::interval) * 1000)::int,"
			"  (EXTRACT(epoch FROM pg_catalog.current_setting('deadlock_timeout')::interval) * 1000 + 500)::int)"
			" WHERE EXISTS (SELECT 1 FROM pg_catalog.pg_locks l"
			"  JOIN pg_catalog.pg_stat_activity a ON a.pid = l.pid"
			"  WHERE l.relation = $1::oid AND l.granted"
			"  AND a.backend_type = 'autovacuum worker'"
			"  AND l.database = " PGW_SQL_THIS_DATABASE ")"
			" AND pg_catalog.current_setting('lock_timeout') <> '0'",
			1, params, &e) == 0 &&
	    PQntuples(res) == 1) {
		pgw_log_info("restore: autovacuum works on the table; waiting past deadlock_timeout for the server to cancel it");
		pgw_pg_run(c, PQgetvalue(res, 0, 0), &e);
	}
	PQclear(res);
}

/* A drop waits at most lock_timeout, and is tried again a few times with
 * jitter; the last failure names who holds the lock. */
static int drop_with_retries(PGconn *c, const struct pgw_catalog_object *o,
			     struct pgw_err *err)
{
	int attempt, error = 0;

	for (attempt = 0; attempt <= 5; attempt++) {
		error = pgw_pg_run(c, "SAVEPOINT pgward_drop", err);
		if (!error)
			error = pgw_pg_run(c, o->drop_sql, err);
		if (!error)
			return pgw_pg_run(c, "RELEASE SAVEPOINT pgward_drop", err);
		if (strcmp(err->sqlstate, "55P03") != 0 || pgw_interrupted())
			return error;
		{
			struct pgw_err e = PGW_ERR_INIT;

			if (pgw_pg_run(c, "ROLLBACK TO SAVEPOINT pgward_drop", &e))
				return error;
		}
		if (attempt == 5)
			break;
		pgw_err_clear(err);
		pgw_clock_sleep(attempt / 2 + 0.1 + 0.2 * pgw_clock_jitter());
		if (o->classid == 1259 /* pg_class */)
			outwait_autovacuum(c, o->objid);
	}
	if (o->classid == 1259 /* pg_class */)
		name_holders(err, c, o->objid);
	pgw_err_hint(err, "the restore waits for no one for long; try again when those sessions are done");
	return error;
}

static void report_table(const struct pgw_manifest_table *t, long long rows,
			 unsigned long long bytes, double elapsed, bool finished)
{
	char item[300];
	struct pgw_progress p = { "restore", item, (double)rows, (double)t->rows,
				  bytes, elapsed, finished };

	snprintf(item, sizeof(item), "%s.%s", t->schema, t->name);
	pgw_progress_report(&p);
}

/* Append a manifest table's quoted "schema"."name" to sql. */
static int put_table_name(struct pgw_buf *sql, PGconn *c,
			  const struct pgw_manifest_table *t, struct pgw_err *err)
{
	char *qs = pgw_pg_ident(c, t->schema, err), *qn = NULL;

	if (qs)
		qn = pgw_pg_ident(c, t->name, err);
	if (qs && qn)
		pgw_buf_printf(sql, "%s.%s", qs, qn);
	PQfreemem(qs);
	PQfreemem(qn);
	return qs && qn ? 0 : err->code;
}

/* Start COPY ... FROM STDIN for a table of the manifest.  FREEZE for a
 * table created in this transaction: its rows are written frozen, so the
 * first reads after the restore do not rewrite every page to set hint
 * bits and no anti-wraparound VACUUM has to rewrite them later; a
 * transaction whose snapshot is older than the restore that reads the
 * table after COMMIT sees the restored rows (without FREEZE it would see
 * the new table empty). */
static int copy_start(PGconn *c, const struct pgw_manifest_table *t,
		      bool freeze, struct pgw_err *err)
{
	struct pgw_buf sql = PGW_BUF_INIT;
	PGresult *res;
	int error;

	pgw_buf_puts(&sql, "COPY ");
	error = put_table_name(&sql, c, t, err);
	if (error) {
		pgw_buf_release(&sql);
		return error;
	}
	if (t->columns && *t->columns)
		pgw_buf_printf(&sql, " (%s)", t->columns);
	pgw_buf_puts(&sql, freeze ? " FROM STDIN WITH (FREEZE)" : " FROM STDIN");
	res = PQexec(c, sql.ptr);
	pgw_buf_release(&sql);
	if (PQresultStatus(res) != PGRES_COPY_IN)
		error = pgw_pg_error(err, c, res);
	PQclear(res);
	return error;
}

/* End the open COPY: commit its rows to the transaction, or abort it
 * (a failed check: nothing of it stays). */
static int copy_end(PGconn *c, bool failed, struct pgw_err *err)
{
	PGresult *res;
	int error = 0;

	PQputCopyEnd(c, failed ? "pgward: archive entry failed its check" : NULL);
	while ((res = PQgetResult(c))) {
		if (PQresultStatus(res) != PGRES_COMMAND_OK && !failed && !error)
			error = pgw_pg_error(err, c, res);
		PQclear(res);
	}
	return error;
}

/* Stream one data entry into the open COPY. */
static int copy_entry(PGconn *c, struct pgw_archive_reader *r, char *chunk,
		      unsigned long long *bytes, struct pgw_err *err)
{
	int error = 0;

	for (;;) {
		size_t got = 0;

		error = pgw_archive_read(r, chunk, LOAD_CHUNK, &got, err);
		if (error || !got)
			break;
		if (pgw_interrupted()) {
			error = pgw_err_set(err, PGW_EFAILED, "interrupted by a signal");
			break;
		}
		if (PQputCopyData(c, chunk, (int)got) != 1) {
			error = pgw_pg_error(err, c, NULL);
			break;
		}
		*bytes += got;
	}
	return error;
}

/* ANALYZE one restored table inside the restore's transaction.  A table
 * ANALYZE cannot sample (an index expression that fails, say) keeps no
 * statistics but does not undo the restore: a savepoint contains it. */
static int analyze_table(PGconn *c, const struct pgw_manifest_table *t,
			 struct pgw_err *err)
{
	struct pgw_buf sql = PGW_BUF_INIT;
	struct pgw_err failed = PGW_ERR_INIT;
	int error;

	pgw_buf_puts(&sql, "ANALYZE ");
	error = put_table_name(&sql, c, t, err);
	if (!error)
		error = pgw_pg_run(c, "SAVEPOINT pgward_analyze", err);
	if (!error && pgw_pg_run(c, sql.ptr, &failed) == 0)
		error = pgw_pg_run(c, "RELEASE SAVEPOINT pgward_analyze", err);
	else if (!error) {
		pgw_log_notice("restore: %s: no statistics (%s); run it again later",
			       sql.ptr, failed.msg);
		error = pgw_pg_run(c, "ROLLBACK TO SAVEPOINT pgward_analyze", err);
	}
	pgw_buf_release(&sql);
	return error;
}

int pgw_restore(struct pgw_restore_report **out, const struct pgw_config *cfg,
		const struct pgw_restore_opts *opts, struct pgw_err *err)
{
	struct pgw_manifest *m = NULL;
	struct pgw_catalog *live = NULL;
	struct pgw_archive_reader *r = NULL;
	struct pgw_restore_report *rep = NULL;
	struct pgw_buf sql = PGW_BUF_INIT, arr = PGW_BUF_INIT, ext = PGW_BUF_INIT;
	PGresult *res = NULL, *seqs = NULL;
	PGconn *c = NULL;
	char *outside = NULL, *chunk = NULL, id[40], app[64];
	const struct pgw_archive_entry *e;
	double t0 = pgw_clock_now(), t_load = 0, t_post = 0, t_analyze;
	unsigned open_seq = 0;
	size_t open_idx = 0;
	long long open_rows = 0;
	unsigned long long open_bytes = 0;
	double open_t0 = 0;
	size_t i;
	int error;

	*out = NULL;
	pgw_pg_new_id(id);
	snprintf(app, sizeof(app), "pgward:%s", id);
	/* 1. every checksum, before the database is touched */
	error = pgw_archive_verify(&m, opts->path, err);
	if (error)
		goto done;
	pgw_log_info("restore: every checksum checked in %.2f s",
		     pgw_clock_now() - t0);
	error = pgw_pg_connect_at(&c, pgw_config_session_url(cfg),
				  NULL, NULL, opts->into, app, err);
	if (!error)
		error = pgw_pg_pin_settings(c, err);
	if (error)
		goto done;
	if (!opts->into && m->database && strcmp(PQdb(c), m->database) != 0) {
		error = pgw_err_set(err, PGW_EINVAL,
				    "the archive is of database '%s'; this is '%s'",
				    m->database, PQdb(c));
		pgw_err_hint(err, "to restore it here on purpose, pass --into %s", PQdb(c));
		goto done;
	}
	error = check_extensions(c, m, &ext, err);
	if (error)
		goto done;
	error = pgw_pg_run(c, "BEGIN", err);
	if (!error) {
		pgw_buf_printf(&sql, "SET LOCAL lock_timeout = %d", cfg->lock_timeout_ms);
		error = pgw_pg_run(c, sql.ptr, err);
		pgw_buf_reset(&sql);
	}
	if (error)
		goto done;
	/* 2. what exists now, in exactly the archive's schemas */
	{
		struct pgw_catalog_opts co = {
			.extra_schemas = (const char *const *)m->schemas,
			.allow_unsupported = true,
			.only_listed = true,
		};

		error = pgw_catalog_read(&live, c, &co, err);
	}
	if (!error)
		error = check_lock_budget(c, m, live, err);
	if (!error)
		error = pgw_catalog_outside_dependents(&outside, c, live, err);
	if (!error && outside) {
		error = pgw_err_set(err, PGW_EINVAL,
				    "objects outside the archive depend on what it restores: %s",
				    outside);
		pgw_err_hint(err, "drop or change them first (a restore never drops what it does not restore); nothing was changed");
	}
	if (error)
		goto rollback;
	/* sequences are never moved backward: remember where they are */
	pgw_pg_text_array(&arr, (const char *const *)m->schemas);
	{
		const char *params[1] = { arr.ptr };

		error = pgw_pg_exec(&seqs, c,
				    "SELECT pg_catalog.format('%I.%I', n.nspname, c.relname),"
				    " pg_catalog.pg_sequence_last_value(c.oid)"
				    " FROM pg_catalog.pg_class c"
				    " JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace"
				    " WHERE c.relkind = 'S' AND n.nspname = ANY ($1::text[])",
				    1, params, err);
	}
	if (error)
		goto rollback;
	/* 3. drop, one object at a time, never a schema or an extension */
	for (i = 0; i < live->n_objects; i++) {
		error = drop_with_retries(c, &live->objects[i], err);
		if (error) {
			pgw_err_wrap(err, "dropping %s %s", live->objects[i].kind,
				     live->objects[i].identity);
			goto rollback;
		}
	}
	if (ext.len) {
		error = pgw_pg_run(c, ext.ptr, err);
		if (error)
			goto rollback;
	}
	pgw_log_notice("restore: dropped %zu objects; loading %zu tables",
		       live->n_objects, m->n_tables);
	/* 4. schema, data (checked again as it streams), post-data */
	t_load = pgw_clock_now();
	error = pgw_archive_open(&r, opts->path, m, err);
	chunk = malloc(LOAD_CHUNK);
	if (!error && !chunk)
		error = pgw_err_oom(err);
	rep = calloc(1, sizeof(*rep));
	if (!error && !rep)
		error = pgw_err_oom(err);
	/* consecutive parts of one table go through one COPY */
	while (!error) {
		int more = pgw_archive_next(r, &e, err);
		unsigned seq;

		seq = more > 0 ? entry_seq(e->name) : 0;
		if (open_seq && seq != open_seq) {
			error = copy_end(c, false, err);
			open_seq = 0;
			if (error)
				break;
			report_table(&m->tables[open_idx], open_rows, open_bytes,
				     pgw_clock_now() - open_t0, true);
			pgw_fault("restore-table");
		}
		if (more <= 0) {
			error = more < 0 ? err->code : 0;
			break;
		}
		if (!strcmp(e->name, "schema/pre-data.sql") ||
		    !strcmp(e->name, "schema/post-data.sql")) {
			struct pgw_buf text = PGW_BUF_INIT;
			size_t got;

			do {
				got = 0;
				error = pgw_archive_read(r, chunk, LOAD_CHUNK, &got, err);
				pgw_buf_put(&text, chunk, got);
			} while (!error && got);
			if (!error && pgw_buf_oom(&text))
				error = pgw_err_oom(err);
			if (!error && !strcmp(e->name, "schema/post-data.sql")) {
				/* post-data: the rows are all in */
				t_post = pgw_clock_now();
				pgw_log_info("restore: schema and rows loaded in %.2f s",
					     t_post - t_load);
			}
			if (!error)
				error = replay(c, text.ptr, e->name, opts->no_owner, err);
			if (!error && t_post > 0)
				pgw_log_info("restore: post-data (constraints, indexes) replayed in %.2f s",
					     pgw_clock_now() - t_post);
			pgw_buf_release(&text);
			continue;
		}
		if (!seq)
			continue; /* restore.sql: for psql users */
		for (i = 0; i < m->n_tables && m->tables[i].seq != seq; i++)
			;
		if (i == m->n_tables) {
			error = pgw_err_set(err, PGW_EINVAL,
					    "archive entry '%s' belongs to no table of the manifest",
					    e->name);
			break;
		}
		if (!open_seq) {
			error = copy_start(c, &m->tables[i], true, err);
			if (error)
				break;
			open_seq = seq;
			open_idx = i;
			open_rows = 0;
			open_bytes = 0;
			open_t0 = pgw_clock_now();
		}
		error = copy_entry(c, r, chunk, &open_bytes, err);
		if (error) {
			copy_end(c, true, err);
			open_seq = 0;
			pgw_err_wrap(err, "loading %s.%s from '%s'",
				     m->tables[i].schema, m->tables[i].name, e->name);
		} else {
			rep->rows += e->rows;
			open_rows += e->rows;
			report_table(&m->tables[i], open_rows, open_bytes,
				     pgw_clock_now() - open_t0, false);
		}
	}
	if (open_seq)
		copy_end(c, true, err);
	if (error)
		goto rollback;
	/* 5. sequences: forward only */
	for (i = 0; seqs && i < (size_t)PQntuples(seqs); i++) {
		const char *params[2] = { PQgetvalue(seqs, (int)i, 0),
					  PQgetvalue(seqs, (int)i, 1) };

		if (PQgetisnull(seqs, (int)i, 1))
			continue;
		res = NULL;
		error = pgw_pg_exec(&res, c,
				    "SELECT pg_catalog.setval(c.oid, $2::bigint)"
				    " FROM pg_catalog.pg_class c"
				    " WHERE c.oid = pg_catalog.to_regclass($1)"
				    " AND coalesce(pg_catalog.pg_sequence_last_value(c.oid), 0) < $2::bigint",
				    2, params, err);
		PQclear(res);
		if (error)
			goto rollback;
	}
	/* fresh statistics, committed with the rows: no moment where the
	 * planner sees the restored tables without them */
	t_analyze = pgw_clock_now();
	for (i = 0; !error && i < m->n_tables; i++)
		error = analyze_table(c, &m->tables[i], err);
	if (error)
		goto rollback;
	pgw_log_info("restore: ANALYZE in %.2f s", pgw_clock_now() - t_analyze);
	if (pgw_interrupted()) {
		error = pgw_err_set(err, PGW_EFAILED, "interrupted by a signal");
		goto rollback;
	}
	error = pgw_pg_run(c, "COMMIT", err);
	if (error)
		goto done;
	pgw_err_clear(err);
	rep->database = strdup(PQdb(c));
	rep->n_tables = m->n_tables;
	rep->seconds = pgw_clock_now() - t0;
	*out = rep;
	rep = NULL;
	goto done;
rollback:
	PQclear(PQexec(c, "ROLLBACK"));
	if (err->code == PGW_EPG)
		err->code = PGW_EFAILED;
done:
	pgw_archive_close(r);
	pgw_restore_report_free(rep);
	pgw_catalog_free(live);
	pgw_manifest_free(m);
	PQclear(seqs);
	PQfinish(c);
	free(outside);
	free(chunk);
	pgw_buf_release(&sql);
	pgw_buf_release(&arr);
	pgw_buf_release(&ext);
	/* what err says (a refused owner is EINVAL, a rolled-back load
	 * EFAILED), as the caller reports it */
	return error && err->code ? err->code : error;
}

int pgw_restore_rows(PGconn *c, const char *path,
		     const struct pgw_table_ref *tables, size_t n,
		     long long *rows, struct pgw_err *err)
{
	struct pgw_manifest *m = NULL;
	struct pgw_archive_reader *r = NULL;
	struct pgw_buf sql = PGW_BUF_INIT;
	const struct pgw_archive_entry *e;
	bool *wanted = NULL;
	char *chunk = NULL;
	unsigned open_seq = 0;
	unsigned long long streamed = 0;
	size_t i, k;
	int error;

	*rows = 0;
	if (!n)
		return 0;
	error = pgw_archive_verify(&m, path, err);
	if (error)
		return error;
	wanted = calloc(m->n_tables + 1, sizeof(*wanted));
	chunk = malloc(LOAD_CHUNK);
	if (!wanted || !chunk) {
		error = pgw_err_oom(err);
		goto done;
	}
	/* which tables of the manifest; all of them truncated at once (a
	 * foreign key between two of them does not stop it) */
	pgw_buf_puts(&sql, "TRUNCATE ONLY ");
	for (k = 0; k < n; k++) {
		char *qs, *qn;

		for (i = 0; i < m->n_tables; i++)
			if (!strcmp(m->tables[i].schema, tables[k].schema) &&
			    !strcmp(m->tables[i].name, tables[k].name))
				break;
		if (i == m->n_tables) {
			error = pgw_err_set(err, PGW_EINVAL,
					    "table %s.%s is not in archive '%s'",
					    tables[k].schema, tables[k].name, path);
			goto done;
		}
		wanted[i] = true;
		qs = pgw_pg_ident(c, tables[k].schema, err);
		qn = qs ? pgw_pg_ident(c, tables[k].name, err) : NULL;
		if (qn)
			pgw_buf_printf(&sql, "%s%s.%s", k ? ", " : "", qs, qn);
		PQfreemem(qs);
		PQfreemem(qn);
		if (!qn) {
			error = err->code;
			goto done;
		}
	}
	if (pgw_buf_oom(&sql)) {
		error = pgw_err_oom(err);
		goto done;
	}
	error = pgw_pg_run(c, sql.ptr, err);
	if (!error)
		error = pgw_archive_open(&r, path, m, err);
	/* consecutive parts of one table go through one COPY */
	while (!error) {
		int more = pgw_archive_next(r, &e, err);
		unsigned seq = more > 0 ? entry_seq(e->name) : 0;

		if (open_seq && seq != open_seq) {
			error = copy_end(c, false, err);
			open_seq = 0;
			if (error)
				break;
			pgw_fault("restore-table");
		}
		if (more <= 0) {
			error = more < 0 ? err->code : 0;
			break;
		}
		for (i = 0; seq && i < m->n_tables && m->tables[i].seq != seq; i++)
			;
		if (!seq || i == m->n_tables || !wanted[i])
			continue; /* read past: still checked */
		if (!open_seq) {
			error = copy_start(c, &m->tables[i], false, err);
			if (error)
				break;
			open_seq = seq;
		}
		error = copy_entry(c, r, chunk, &streamed, err);
		if (error) {
			copy_end(c, true, err);
			open_seq = 0;
			pgw_err_wrap(err, "loading %s.%s from '%s'",
				     m->tables[i].schema, m->tables[i].name, e->name);
		} else {
			*rows += e->rows;
		}
	}
	if (open_seq)
		copy_end(c, true, err);
done:
	pgw_archive_close(r);
	pgw_manifest_free(m);
	pgw_buf_release(&sql);
	free(wanted);
	free(chunk);
	return error;
}
