/* journal.c - see journal.h. */
#include "journal.h"

#include <stdio.h>
#include <string.h>

#include "pg.h"

static const char journal_sql[] =
	"CREATE SCHEMA IF NOT EXISTS pgward_journal;"
	"CREATE TABLE IF NOT EXISTS pgward_journal.deploys ("
	" id text PRIMARY KEY, started_at timestamptz NOT NULL DEFAULT now(),"
	" finished_at timestamptz, from_version text, to_version text,"
	" stage text, status text NOT NULL, backup_uri text,"
	" backup_sha256 text, error text);"
	"CREATE TABLE IF NOT EXISTS pgward_journal.steps ("
	" deploy_id text NOT NULL, at timestamptz NOT NULL DEFAULT now(),"
	" stage text NOT NULL, status text NOT NULL);"
	/* the release deployed (recover rolls forward to it), and per
	 * transaction:false statement: which, and what undoes it */
	"ALTER TABLE pgward_journal.deploys"
	" ADD COLUMN IF NOT EXISTS release text;"
	"ALTER TABLE pgward_journal.steps"
	" ADD COLUMN IF NOT EXISTS version text,"
	" ADD COLUMN IF NOT EXISTS statement int,"
	" ADD COLUMN IF NOT EXISTS sql text,"
	" ADD COLUMN IF NOT EXISTS undo_sql text";

int pgw_journal_ensure(PGconn *ctl, struct pgw_err *err)
{
	return pgw_pg_run(ctl, journal_sql, err);
}

int pgw_journal_exists(PGconn *ctl, bool *exists, struct pgw_err *err)
{
	PGresult *res = NULL;
	int error = pgw_pg_exec(&res, ctl,
				"SELECT pg_catalog.to_regclass('pgward_journal.deploys')"
				" IS NOT NULL",
				0, NULL, err);

	*exists = !error && strcmp(PQgetvalue(res, 0, 0), "t") == 0;
	PQclear(res);
	return error;
}

int pgw_journal_unfinished(PGconn *ctl, char id[40], char stage[64],
			   struct pgw_err *err)
{
	PGresult *res = NULL;
	bool exists;
	int error;

	id[0] = stage[0] = '\0';
	error = pgw_journal_exists(ctl, &exists, err);
	if (error || !exists)
		return error;
	error = pgw_pg_exec(&res, ctl,
			    "SELECT id, stage FROM pgward_journal.deploys d"
			    " WHERE (status = 'running' AND NOT EXISTS (SELECT 1"
			    " FROM pg_catalog.pg_stat_activity a"
			    " WHERE a.application_name = 'pgward:' || d.id"
			    " AND a.datname = pg_catalog.current_database()))"
			    " OR status = 'interrupted'"
			    " ORDER BY started_at DESC LIMIT 1",
			    0, NULL, err);
	if (!error && PQntuples(res) == 1) {
		snprintf(id, 40, "%s", PQgetvalue(res, 0, 0));
		snprintf(stage, 64, "%s", PQgetvalue(res, 0, 1));
	}
	PQclear(res);
	return error;
}

int pgw_journal_start(PGconn *ctl, const char *id, const char *from,
		      const char *to, const char *release,
		      struct pgw_err *err)
{
	const char *p[4] = { id, from, to, release };

	return pgw_pg_exec(NULL, ctl,
			   "INSERT INTO pgward_journal.deploys (id,"
			   " from_version, to_version, stage, status,"
			   " release) VALUES ($1, $2, $3, 'check',"
			   " 'running', $4)",
			   4, p, err);
}

void pgw_journal_update(PGconn *ctl, const char *id,
			const struct pgw_journal_state *s)
{
	struct pgw_err e = PGW_ERR_INIT;
	const char *p[6] = { id, s->stage, s->status, s->backup_uri,
			     s->backup_sha256, s->error };

	if (pgw_pg_exec(NULL, ctl,
			"UPDATE pgward_journal.deploys SET stage = $2,"
			" status = $3, backup_uri = $4, backup_sha256 = $5,"
			" error = $6, finished_at = CASE WHEN $3 = 'running'"
			" THEN NULL ELSE pg_catalog.now() END WHERE id = $1",
			6, p, &e))
		pgw_log_warn("journal: %s", e.msg);
	else
		pgw_journal_step(ctl, id, s->stage, s->status);
}

void pgw_journal_step(PGconn *ctl, const char *id, const char *stage,
		      const char *status)
{
	struct pgw_err e = PGW_ERR_INIT;
	const char *p[3] = { id, stage, status };

	if (pgw_pg_exec(NULL, ctl,
			"INSERT INTO pgward_journal.steps (deploy_id, stage,"
			" status) VALUES ($1, $2, $3)",
			3, p, &e))
		pgw_log_warn("journal: %s", e.msg);
}

void pgw_journal_statement(PGconn *ctl, const char *id, const char *version,
			   int statement, const char *sql,
			   const char *undo_sql, const char *status)
{
	struct pgw_err e = PGW_ERR_INIT;
	char n[16];
	const char *p[6] = { id, status, version, n, sql, undo_sql };
	int error;

	snprintf(n, sizeof(n), "%d", statement);
	if (strcmp(status, "running") == 0)
		error = pgw_pg_exec(NULL, ctl,
				    "INSERT INTO pgward_journal.steps (deploy_id,"
				    " stage, status, version, statement, sql,"
				    " undo_sql) VALUES ($1, 'migrate', $2, $3,"
				    " $4::int, $5, $6)",
				    6, p, &e);
	else
		error = pgw_pg_exec(NULL, ctl,
				    "UPDATE pgward_journal.steps SET status = $2,"
				    " at = pg_catalog.now() WHERE deploy_id = $1"
				    " AND version = $3 AND statement = $4::int",
				    4, p, &e);
	if (error)
		pgw_log_warn("journal: %s", e.msg);
}
