/* fixture_pg.h - a database of its own for a unit test that needs a real
 * server.  tests/run-unit.sh starts a throwaway cluster (tests/cluster.sh)
 * and exports PGHOST, PGPORT and PGUSER (and PGWARD_UNIT_PG=1); a test
 * creates a database named after itself in a setup function and drops it
 * in the teardown.  Without a cluster (a test binary run by hand, without
 * PGWARD_UNIT_PG), fixture_pg_create() fails: the test fails, it is never
 * silently skipped.  Header-only, like fixture.h. */
#ifndef PGW_TEST_FIXTURE_PG_H
#define PGW_TEST_FIXTURE_PG_H

#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "fixture.h"

/* Run SQL on the cluster's postgres database; 0 when it worked. */
static inline int fixture_pg_admin(const char *sql)
{
	PGconn *c;
	PGresult *res;
	int ok;

	if (!getenv("PGWARD_UNIT_PG")) {
		fprintf(stderr,
		        "fixture_pg: no cluster (run through tests/run-unit.sh)\n");
		return -1;
	}
	c = PQconnectdb("dbname=postgres");
	if (PQstatus(c) != CONNECTION_OK) {
		fprintf(stderr, "fixture_pg: %s", PQerrorMessage(c));
		PQfinish(c);
		return -1;
	}
	res = PQexec(c, sql);
	ok = PQresultStatus(res) == PGRES_COMMAND_OK ||
	     PQresultStatus(res) == PGRES_TUPLES_OK;
	if (!ok)
		fprintf(stderr, "fixture_pg: %s: %s", sql, PQerrorMessage(c));
	PQclear(res);
	PQfinish(c);
	return ok ? 0 : -1;
}

/* A fresh empty database `name` (dropped first if it exists); returns
 * its conninfo ("dbname=NAME", for pgw_config's database URL or
 * PQconnectdb), which the caller frees, or NULL on failure.  `name` is a
 * plain lower-case identifier chosen by the test. */
static inline char *fixture_pg_create(const char *name)
{
	char sql[256], *conninfo;

	snprintf(sql, sizeof(sql), "DROP DATABASE IF EXISTS %s WITH (FORCE)",
	         name);
	if (fixture_pg_admin(sql) != 0)
		return NULL;
	snprintf(sql, sizeof(sql), "CREATE DATABASE %s", name);
	if (fixture_pg_admin(sql) != 0)
		return NULL;
	conninfo = malloc(strlen(name) + 8);
	if (conninfo)
		sprintf(conninfo, "dbname=%s", name);
	return conninfo;
}

/* Drop database `name` if it is there, sessions on it or not. */
static inline void fixture_pg_drop(const char *name)
{
	char sql[256];

	snprintf(sql, sizeof(sql), "DROP DATABASE IF EXISTS %s WITH (FORCE)",
	         name);
	fixture_pg_admin(sql);
}

/* A connection to the test's database; fails the test's setup when NULL. */
static inline PGconn *fixture_pg_connect(const char *conninfo)
{
	PGconn *c = PQconnectdb(conninfo);

	if (PQstatus(c) != CONNECTION_OK) {
		fprintf(stderr, "fixture_pg: %s", PQerrorMessage(c));
		PQfinish(c);
		return NULL;
	}
	return c;
}

/* fixture_pg_create() and fixture_pg_connect() in one: the new database's
 * conninfo into *conninfo (NULL when it could not be made) and a
 * connection to it, or NULL.  fixture_pg_close() undoes both. */
static inline PGconn *fixture_pg_open(const char *name, char **conninfo)
{
	*conninfo = fixture_pg_create(name);
	return *conninfo ? fixture_pg_connect(*conninfo) : NULL;
}

/* The end of fixture_pg_open(): c closed, database `name` dropped and
 * conninfo freed (either may be NULL). */
static inline void fixture_pg_close(const char *name, char *conninfo, PGconn *c)
{
	PQfinish(c);
	fixture_pg_drop(name);
	free(conninfo);
}

/* Drop the cluster-wide role `role` (a plain identifier) if there is
 * one, without a notice when there is not; 0 when that worked. */
static inline int fixture_pg_drop_role(const char *role)
{
	char sql[512];

	snprintf(sql, sizeof(sql),
	         "DO $$BEGIN IF EXISTS (SELECT 1 FROM pg_roles WHERE"
	         " rolname = '%s') THEN DROP ROLE %s; END IF; END$$",
	         role, role);
	return fixture_pg_admin(sql);
}

/* Run SQL (one statement or several) on c; fails the test on an error. */
static inline void fixture_pg_sql(PGconn *c, const char *sql)
{
	PGresult *res = PQexec(c, sql);
	ExecStatusType st = PQresultStatus(res);

	PQclear(res);
	if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK)
		fail_msg("%s: %s", sql, PQerrorMessage(c));
}

/* The value of a one-row query on c, into out[cap] ("" for NULL); fails
 * the test on an error or another number of rows. */
static inline const char *fixture_pg_scalar(PGconn *c, const char *sql,
                                            char *out, size_t cap)
{
	PGresult *res = PQexec(c, sql);

	if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1) {
		PQclear(res);
		fail_msg("%s: %s", sql, PQerrorMessage(c));
	}
	snprintf(out, cap, "%s", PQgetvalue(res, 0, 0));
	PQclear(res);
	return out;
}

/* The one value of `sql` on c, as text ("(null)" for NULL), is `want`;
 * fails the test on an error or another number of rows. */
static inline void fixture_pg_assert_value(PGconn *c, const char *sql,
                                           const char *want)
{
	PGresult *res = PQexec(c, sql);
	char *got;

	if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1) {
		PQclear(res);
		fail_msg("%s: %s", sql, PQerrorMessage(c));
	}
	got = strdup(PQgetisnull(res, 0, 0) ? "(null)" : PQgetvalue(res, 0, 0));
	PQclear(res);
	fixture_assert_string_freed(got, sql, want);
}

#endif
