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

/* Run SQL on the cluster's postgres database; 0 when it worked. */
static inline int fixture_pg_admin(const char *sql)
{
	PGconn *c;
	PGresult *res;
	int ok;

	if (!getenv("PGWARD_UNIT_PG")) {
		fprintf(stderr, "fixture_pg: no cluster (run through tests/run-unit.sh)\n");
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

	snprintf(sql, sizeof(sql), "DROP DATABASE IF EXISTS %s WITH (FORCE)", name);
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

static inline void fixture_pg_drop(const char *name)
{
	char sql[256];

	snprintf(sql, sizeof(sql), "DROP DATABASE IF EXISTS %s WITH (FORCE)", name);
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

#endif
