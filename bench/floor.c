/*
 * floor.c - the cheapest possible "ask the database one thing" program.
 *
 *   floor [CONNINFO [QUERY]]
 *
 * Connects with libpq (CONNINFO, a URL or key=value string; empty or absent:
 * libpq's PG* environment variables), runs QUERY (default "SELECT 1"),
 * checks that it succeeded, and exits.  bench/migrate.sh times it as the
 * lower bound for a migration tool's no-op `up` and `status`: any such
 * command has to start a process, connect and run at least one query.
 *
 * Exit status: 0 on success, 1 when the connection or the query failed.
 */
#include <stdio.h>

#include <libpq-fe.h>

int main(int argc, char **argv)
{
	const char *conninfo = argc > 1 ? argv[1] : "";
	const char *query = argc > 2 ? argv[2] : "SELECT 1";
	PGconn *conn;
	PGresult *res;
	int status = 0;

	conn = PQconnectdb(conninfo);
	if (PQstatus(conn) != CONNECTION_OK) {
		fprintf(stderr, "floor: %s", PQerrorMessage(conn));
		PQfinish(conn);
		return 1;
	}
	res = PQexec(conn, query);
	if (PQresultStatus(res) != PGRES_TUPLES_OK &&
	    PQresultStatus(res) != PGRES_COMMAND_OK) {
		fprintf(stderr, "floor: %s", PQerrorMessage(conn));
		status = 1;
	}
	PQclear(res);
	PQfinish(conn);
	return status;
}
