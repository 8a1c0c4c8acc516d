/*
 * querytime.c - client-side latency of one parameterised query.
 *
 *   querytime [-e] [-w N] CONNINFO QUERYFILE PARAMFILE
 *
 * Connects once with libpq (CONNINFO: a URL or key=value string; empty:
 * libpq's PG* environment variables), reads the query from QUERYFILE (one
 * statement with $1, $2, ... placeholders) and runs it once for every line
 * of PARAMFILE, whose tab-separated fields are the parameters ($1 first; a
 * field "\N" is NULL).  Each run is one PQexecParams on the unnamed
 * statement: parse, plan with these values, execute and receive every row,
 * as an application without prepared statements pays for it.
 *
 * It prints, one a line, the wall time of each run in microseconds, from
 * just before the query is sent to just after its last row is in.  The
 * first N lines (-w, default 0) are run as a warm-up and not printed.
 *
 * With -e it runs EXPLAIN (ANALYZE, BUFFERS) of the query instead and
 * prints each plan followed by a line "--".
 *
 * Exit status: 0 on success, 1 when connecting or a query failed, 2 on a
 * usage or file error.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <libpq-fe.h>

#define MAX_PARAMS 16

static const char explain_prefix[] = "EXPLAIN (ANALYZE, BUFFERS) ";

/* The whole file FILE, NUL-terminated, after PREFIX; NULL on error. */
static char *read_query(const char *file, const char *prefix)
{
	FILE *f;
	char *sql = NULL;
	size_t len, cap, n;

	f = fopen(file, "r");
	if (!f) {
		fprintf(stderr, "querytime: cannot open '%s': %s\n", file,
		        strerror(errno));
		return NULL;
	}
	len = strlen(prefix);
	cap = len + 4096;
	sql = malloc(cap);
	if (!sql)
		goto failed;
	memcpy(sql, prefix, len);
	while ((n = fread(sql + len, 1, cap - len - 1, f)) > 0) {
		char *grown;

		len += n;
		if (cap - len > 1)
			continue;
		grown = realloc(sql, cap * 2);
		if (!grown)
			goto failed;
		sql = grown;
		cap *= 2;
	}
	if (ferror(f))
		goto failed;
	sql[len] = '\0';
	fclose(f);
	return sql;

failed:
	fprintf(stderr, "querytime: cannot read '%s'\n", file);
	free(sql);
	fclose(f);
	return NULL;
}

/* Split LINE in place at tabs into VALUES; returns the count, -1 if more
 * than MAX_PARAMS. */
static int split_params(char *line, const char **values)
{
	int n = 0;
	char *p = line;

	line[strcspn(line, "\n")] = '\0';
	if (*line == '\0')
		return 0;
	for (;;) {
		char *tab = strchr(p, '\t');

		if (n == MAX_PARAMS)
			return -1;
		if (tab)
			*tab = '\0';
		values[n++] = strcmp(p, "\\N") == 0 ? NULL : p;
		if (!tab)
			return n;
		p = tab + 1;
	}
}

static double now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

static void print_plan(const PGresult *res)
{
	int i;

	for (i = 0; i < PQntuples(res); i++)
		printf("%s\n", PQgetvalue(res, i, 0));
	printf("--\n");
}

int main(int argc, char **argv)
{
	const char *values[MAX_PARAMS];
	PGconn *conn = NULL;
	FILE *params = NULL;
	char *sql = NULL, *line = NULL;
	size_t linecap = 0;
	long warmup = 0, lineno = 0;
	int explain = 0, status = 2, opt;

	while ((opt = getopt(argc, argv, "ew:")) != -1) {
		switch (opt) {
		case 'e':
			explain = 1;
			break;
		case 'w':
			warmup = strtol(optarg, NULL, 10);
			break;
		default:
			goto usage;
		}
	}
	if (argc - optind != 3)
		goto usage;
	sql = read_query(argv[optind + 1], explain ? explain_prefix : "");
	if (!sql)
		goto done;
	params = fopen(argv[optind + 2], "r");
	if (!params) {
		fprintf(stderr, "querytime: cannot open '%s': %s\n",
		        argv[optind + 2], strerror(errno));
		goto done;
	}
	conn = PQconnectdb(argv[optind]);
	if (PQstatus(conn) != CONNECTION_OK) {
		fprintf(stderr, "querytime: %s", PQerrorMessage(conn));
		status = 1;
		goto done;
	}
	status = 0;
	while (getline(&line, &linecap, params) != -1) {
		PGresult *res;
		double start, took;
		int n;

		lineno++;
		n = split_params(line, values);
		if (n < 0) {
			fprintf(stderr,
			        "querytime: %s:%ld: more than %d fields\n",
			        argv[optind + 2], lineno, MAX_PARAMS);
			status = 2;
			break;
		}
		start = now_us();
		res = PQexecParams(conn, sql, n, NULL, values, NULL, NULL, 0);
		took = now_us() - start;
		if (PQresultStatus(res) != PGRES_TUPLES_OK) {
			fprintf(stderr, "querytime: %s:%ld: %s",
			        argv[optind + 2], lineno, PQerrorMessage(conn));
			PQclear(res);
			status = 1;
			break;
		}
		if (explain)
			print_plan(res);
		else if (lineno > warmup)
			printf("%.1f\n", took);
		PQclear(res);
	}
	goto done;

usage:
	fprintf(stderr,
	        "usage: querytime [-e] [-w N] CONNINFO QUERYFILE PARAMFILE\n");
done:
	free(line);
	free(sql);
	if (params)
		fclose(params);
	PQfinish(conn);
	return status;
}
