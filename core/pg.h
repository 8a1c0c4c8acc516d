/* pg.h - the libpq adapter: connections with pgward's session settings,
 * queries whose failures become struct pgw_err, identifier quoting. */
#ifndef PGW_PG_H
#define PGW_PG_H

#include <libpq-fe.h>

#include "pgward.h"

/* Connect with application_name "pgward:<id>", TCP keepalives and
 * pgward's pinned session settings.  `conninfo` NULL means libpq defaults.
 * Failure is PGW_ECONNECT, never showing a password.  Caller owns *out
 * (PQfinish). */
int pgw_pg_connect(PGconn **out, const char *conninfo, const char *app_name,
		   struct pgw_err *err);
/* pgw_pg_connect, but to `host`, `port` and `dbname` (NULL: as conninfo
 * says): parallel readers connect where the leader is, even with a
 * multi-host connection string; restore --into picks the database. */
int pgw_pg_connect_at(PGconn **out, const char *conninfo, const char *host,
		      const char *port, const char *dbname,
		      const char *app_name, struct pgw_err *err);
/* Session settings (DateStyle, timeouts, ...); run after the pooling test
 * so nothing leaks into a pooler's shared backends. */
int pgw_pg_pin_settings(PGconn *c, struct pgw_err *err);
/* Fail with PGW_EINVAL "needs a direct connection" when two transactions
 * of `c` do not run on one backend (a transaction-mode pooler).  `other`,
 * when given, holds a transaction open meanwhile so a pooler must hand
 * `c` a different backend. */
int pgw_pg_check_session(PGconn *c, PGconn *other, struct pgw_err *err);

/* Run `sql` with text parameters; on success the caller owns *out (NULL
 * allowed to discard).  Any status but COMMAND_OK/TUPLES_OK is PGW_EPG with
 * the server's message, detail, hint and SQLSTATE in err. */
int pgw_pg_exec(PGresult **out, PGconn *c, const char *sql, int nparams,
		const char *const *params, struct pgw_err *err);
/* A simple-protocol run of one or more statements, result discarded. */
int pgw_pg_run(PGconn *c, const char *sql, struct pgw_err *err);
/* Fill err from a failed result (or the connection when res is NULL). */
int pgw_pg_error(struct pgw_err *err, PGconn *c, const PGresult *res);
/* Quote an identifier; the caller frees it with PQfreemem. */
char *pgw_pg_ident(PGconn *c, const char *name, struct pgw_err *err);
/* SQL for the oid of the connection's database, to keep cluster-wide
 * views (pg_locks, pg_stat_statements) to it: a lock or statement of
 * another database on the same server is not this one's. */
#define PGW_SQL_THIS_DATABASE \
	"(SELECT d.oid FROM pg_catalog.pg_database d" \
	" WHERE d.datname = pg_catalog.current_database())"

/* Append a text[] literal of names (NULL-terminated, or NULL) to b: a
 * value to pass as a parameter, e.g. "= ANY ($1::text[])". */
void pgw_pg_text_array(struct pgw_buf *b, const char *const *names);
/* Where `c` is connected, from the live connection (so never a
 * password): "host=/run/pg port=5432 dbname=app user=deploy".  Caller
 * owns it (free()). */
char *pgw_pg_describe(PGconn *c);
/* A unique id for this run: "20261125T133500Z-4f2a" (36 bytes enough). */
void pgw_pg_new_id(char out[40]);

#endif
