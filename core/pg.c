/* pg.c - every libpq call of pgward goes through here. */
#include "pg.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static void copy_field(char *dst, size_t cap, const char *src)
{
	size_t n;

	if (!src) {
		dst[0] = '\0';
		return;
	}
	n = strlen(src);
	while (n && (src[n - 1] == '\n' || src[n - 1] == ' '))
		n--;
	if (n >= cap)
		n = cap - 1;
	memcpy(dst, src, n);
	dst[n] = '\0';
	/* libpq's multi-line messages: one line, as errors are shown */
	for (; *dst; dst++)
		if (*dst == '\n' || *dst == '\t')
			*dst = ' ';
}

int pgw_pg_error(struct pgw_err *err, PGconn *c, const PGresult *res)
{
	const char *primary = NULL;
	char msg[1024];

	if (err->code)
		return err->code;
	if (res)
		primary = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);
	copy_field(msg, sizeof(msg), primary ? primary : PQerrorMessage(c));
	if (!msg[0])
		snprintf(msg, sizeof(msg), "unknown server error");
	if (PQstatus(c) == CONNECTION_BAD && !primary)
		pgw_err_set(err, PGW_EPG, "lost the connection to the server: %s",
			    msg);
	else
		pgw_err_set(err, PGW_EPG, "%s", msg);
	if (res) {
		copy_field(err->sqlstate, sizeof(err->sqlstate),
			   PQresultErrorField(res, PG_DIAG_SQLSTATE));
		copy_field(err->detail, sizeof(err->detail),
			   PQresultErrorField(res, PG_DIAG_MESSAGE_DETAIL));
		copy_field(err->hint, sizeof(err->hint),
			   PQresultErrorField(res, PG_DIAG_MESSAGE_HINT));
	}
	return err->code;
}

int pgw_pg_exec(PGresult **out, PGconn *c, const char *sql, int nparams,
		const char *const *params, struct pgw_err *err)
{
	PGresult *res;
	ExecStatusType st;

	if (out)
		*out = NULL;
	res = PQexecParams(c, sql, nparams, NULL, params, NULL, NULL, 0);
	st = PQresultStatus(res);
	if (!res || (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK)) {
		pgw_pg_error(err, c, res);
		PQclear(res);
		return err->code;
	}
	if (out)
		*out = res;
	else
		PQclear(res);
	return 0;
}

int pgw_pg_run(PGconn *c, const char *sql, struct pgw_err *err)
{
	PGresult *res = PQexec(c, sql);
	ExecStatusType st = PQresultStatus(res);
	int error = 0;

	if (!res || (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK &&
		     st != PGRES_EMPTY_QUERY))
		error = pgw_pg_error(err, c, res);
	PQclear(res);
	return error;
}

char *pgw_pg_ident(PGconn *c, const char *name, struct pgw_err *err)
{
	char *q = PQescapeIdentifier(c, name, strlen(name));

	if (!q)
		pgw_err_set(err, PGW_EINVAL, "cannot quote identifier '%s': %s",
			    name, PQerrorMessage(c));
	return q;
}

void pgw_pg_text_array(struct pgw_buf *b, const char *const *names)
{
	size_t i;
	const char *s;

	pgw_buf_putc(b, '{');
	for (i = 0; names && names[i]; i++) {
		pgw_buf_puts(b, i ? ",\"" : "\"");
		for (s = names[i]; *s; s++) {
			if (*s == '"' || *s == '\\')
				pgw_buf_putc(b, '\\');
			pgw_buf_putc(b, *s);
		}
		pgw_buf_putc(b, '"');
	}
	pgw_buf_putc(b, '}');
}

char *pgw_pg_describe(PGconn *c)
{
	struct pgw_buf b = PGW_BUF_INIT;

	pgw_buf_printf(&b, "host=%s port=%s dbname=%s user=%s", PQhost(c),
		       PQport(c), PQdb(c), PQuser(c));
	return pgw_buf_detach(&b);
}

void pgw_pg_new_id(char out[40])
{
	struct timespec ts;
	struct tm tm;

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	snprintf(out, 40, "%04d%02d%02dT%02d%02d%02dZ-%04x", tm.tm_year + 1900,
		 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
		 (unsigned)((ts.tv_nsec / 1000) ^ (getpid() * 2654435761u)) &
			 0xffff);
}

/* Server notices (a migration's RAISE NOTICE, "skipping" messages) go to
 * the log, not straight to stderr. */
static void server_notice(void *arg, const char *message)
{
	char msg[1024];

	(void)arg;
	copy_field(msg, sizeof(msg), message);
	pgw_log_info("server: %s", msg);
}

int pgw_pg_connect(PGconn **out, const char *conninfo, const char *app_name,
		   struct pgw_err *err)
{
	return pgw_pg_connect_at(out, conninfo, NULL, NULL, NULL, app_name, err);
}

int pgw_pg_connect_at(PGconn **out, const char *conninfo, const char *host,
		      const char *port, const char *dbname,
		      const char *app_name, struct pgw_err *err)
{
	const char *keys[] = { "dbname",	     "application_name",
			       "keepalives",	     "keepalives_idle",
			       "keepalives_interval", "keepalives_count",
			       "client_encoding",    "connect_timeout",
			       "host",		     "port",
			       "dbname",	     NULL };
	const char *vals[] = { conninfo && *conninfo ? conninfo : NULL,
			       app_name,
			       "1",
			       "10",
			       "5",
			       "3",
			       "UTF8",
			       getenv("PGCONNECT_TIMEOUT") ? NULL : "10",
			       host,
			       port,
			       dbname,
			       NULL };
	PGconn *c;
	char *shown;
	const char *where;

	*out = NULL;
	c = PQconnectdbParams(keys, vals, 1);
	if (!c)
		return pgw_err_oom(err);
	if (PQstatus(c) != CONNECTION_OK) {
		char msg[1024];

		copy_field(msg, sizeof(msg), PQerrorMessage(c));
		shown = pgw_redact_conninfo(conninfo);
		pgw_err_set(err, PGW_ECONNECT, "cannot connect to %s: %s",
			    shown ? shown : "the database", msg);
		pgw_err_hint(err, "check -d / DATABASE_URL / PG* variables; nothing was changed, it is safe to retry");
		free(shown);
		PQfinish(c);
		return err->code;
	}
	PQsetNoticeProcessor(c, server_notice, NULL);
	where = PQhost(c);
	if (where && where[0] != '/' && !PQsslInUse(c))
		pgw_log_warn("connected to %s over TCP without SSL: use sslmode=require outside a trusted network",
			     where);
	*out = c;
	return 0;
}

int pgw_pg_pin_settings(PGconn *c, struct pgw_err *err)
{
	/* idle_session_timeout exists from PostgreSQL 14 on. */
	if (PQserverVersion(c) >= 140000)
		return pgw_pg_run(
			c,
			"SELECT pg_catalog.set_config('DateStyle', 'ISO', false),"
			" pg_catalog.set_config('IntervalStyle', 'postgres', false),"
			" pg_catalog.set_config('extra_float_digits', '3', false),"
			" pg_catalog.set_config('standard_conforming_strings', 'on', false),"
			" pg_catalog.set_config('idle_in_transaction_session_timeout', '0', false),"
			" pg_catalog.set_config('idle_session_timeout', '0', false)",
			err);
	return pgw_pg_run(
		c,
		"SELECT pg_catalog.set_config('DateStyle', 'ISO', false),"
		" pg_catalog.set_config('IntervalStyle', 'postgres', false),"
		" pg_catalog.set_config('extra_float_digits', '3', false),"
		" pg_catalog.set_config('standard_conforming_strings', 'on', false),"
		" pg_catalog.set_config('idle_in_transaction_session_timeout', '0', false)",
		err);
}

static int backend_pid(int *out, PGconn *c, struct pgw_err *err)
{
	PGresult *res = NULL;
	int error = pgw_pg_exec(&res, c, "SELECT pg_catalog.pg_backend_pid()",
				0, NULL, err);

	if (!error)
		*out = (int)strtol(PQgetvalue(res, 0, 0), NULL, 10);
	PQclear(res);
	return error;
}

static int pooled(struct pgw_err *err, int a, int b)
{
	pgw_err_set(err, PGW_EINVAL, "needs a direct connection: set direct_url");
	pgw_err_detail(err, "transactions of one connection ran on different server processes (%d, %d): the connection goes through a transaction-mode pooler, where advisory locks and session settings do not hold",
		       a, b);
	pgw_err_hint(err, "give the server's own address with --direct-url, PGWARD_DIRECT_URL or [database] direct_url");
	return err->code;
}

int pgw_pg_check_session(PGconn *c, PGconn *other, struct pgw_err *err)
{
	int p1 = 0, p2 = 0, p3 = 0, p4 = 0, po = 0, round, error;

	error = backend_pid(&p1, c, err);
	if (error)
		return error;
	/* The server's process id as given at connect time: a proxy in
	 * between (a pooler in any mode) hands out its own. */
	if (p1 == PQbackendPID(c))
		return 0;
	/* Some proxy: a session-mode one keeps one backend per client (fine),
	 * a transaction-mode one does not.  Probe both ways poolers pick a
	 * backend: round-robin hands successive transactions to different
	 * backends; last-used-first hands `c` the backend `other` just used,
	 * or another one while `other` holds it. */
	for (round = 0; round < 2; round++) {
		error = backend_pid(&p2, c, err);
		if (!error && other)
			error = pgw_pg_run(other, "BEGIN", err);
		if (!error && other)
			error = backend_pid(&po, other, err);
		if (!error)
			error = backend_pid(&p3, c, err);
		if (!error && other)
			error = pgw_pg_run(other, "COMMIT", err);
		if (!error)
			error = backend_pid(&p4, c, err);
		if (error)
			return error;
		if (p2 != p1 || p3 != p1 || p4 != p1)
			return pooled(err, p1, p2 != p1 ? p2 : p3 != p1 ? p3 : p4);
		if (other && po == p1)
			return pooled(err, p1, po);
	}
	return 0;
}
