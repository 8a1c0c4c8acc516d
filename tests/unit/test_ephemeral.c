/* test_ephemeral.c - the private throwaway cluster (core/ephemeral.c,
 * docs/ephemeral.md): started with roles and an extension, reachable only
 * through the socket in its own 0700 directory, with nothing flushed to
 * disk; stopped, its server and its directory are gone.  And the error
 * when the server binaries are not where the caller says. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <libpq-fe.h>

#include "ephemeral.h"
#include "fixture.h"
#include "fixture_pg.h"
#include "pgward.h"

struct fx {
	struct pgw_ephemeral *e;
	PGconn *c;
	char *empty; /* a directory without binaries */
	struct pgw_err err;
};

static int setup(void **state)
{
	struct fx *fx = calloc(1, sizeof(*fx));

	*state = fx;
	return fx ? 0 : -1;
}

static int teardown(void **state)
{
	struct fx *fx = *state;

	PQfinish(fx->c);
	pgw_ephemeral_stop(fx->e);
	fixture_rmdtemp(fx->empty);
	free(fx);
	return 0;
}

/* The postmaster's pid, from the first line of data/postmaster.pid. */
static long postmaster_pid(const char *dir)
{
	char path[4200], line[64] = "";
	FILE *f;

	snprintf(path, sizeof(path), "%s/data/postmaster.pid", dir);
	f = fopen(path, "r");
	if (!f)
		fail_msg("cannot read %s: %s", path, strerror(errno));
	if (!fgets(line, sizeof(line), f))
		line[0] = '\0';
	fclose(f);
	return strtol(line, NULL, 10);
}

static void test_ephemeral__start_connect_stop(void **state)
{
	struct fx *fx = *state;
	static const char *const roles[] = { "pgw ut app", "postgres", NULL };
	static const char *const extensions[] = { "citext", NULL };
	struct pgw_ephemeral_opts o = PGW_EPHEMERAL_OPTS_INIT;
	char dir[4096], want[4200], v[256], path[4200];
	const char *base;
	struct stat sb;
	long pid;

	o.roles = roles;
	o.extensions = extensions;
	if (pgw_ephemeral_start(&fx->e, &o, &fx->err) != 0)
		fail_msg("pgw_ephemeral_start: %d %s", fx->err.code,
		         fx->err.msg);
	assert_non_null(fx->e);
	snprintf(dir, sizeof(dir), "%s", pgw_ephemeral_dir(fx->e));

	/* its own directory, private, holding the data and the socket */
	base = strrchr(dir, '/');
	assert_non_null(base);
	assert_int_equal(strncmp(base, "/pgward-eph.", 12), 0);
	assert_int_equal(stat(dir, &sb), 0);
	assert_true(S_ISDIR(sb.st_mode));
	assert_int_equal(sb.st_mode & 0777, 0700);
	snprintf(path, sizeof(path), "%s/.s.PGSQL.5432", dir);
	assert_int_equal(stat(path, &sb), 0);
	assert_true(S_ISSOCK(sb.st_mode));
	snprintf(want, sizeof(want),
	         "host=%s port=5432 user=postgres dbname=postgres", dir);
	assert_string_equal(pgw_ephemeral_conninfo(fx->e), want);
	snprintf(path, sizeof(path), "%s/initdb", pgw_ephemeral_bindir(fx->e));
	assert_int_equal(access(path, X_OK), 0);

	fx->c = PQconnectdb(pgw_ephemeral_conninfo(fx->e));
	if (PQstatus(fx->c) != CONNECTION_OK)
		fail_msg("connect: %s", PQerrorMessage(fx->c));
	/* no TCP, nothing flushed, UTF-8 */
	assert_string_equal(
	        fixture_pg_scalar(fx->c, "SHOW listen_addresses", v, sizeof(v)),
	        "");
	assert_string_equal(
	        fixture_pg_scalar(fx->c, "SHOW fsync", v, sizeof(v)), "off");
	assert_string_equal(
	        fixture_pg_scalar(fx->c, "SHOW full_page_writes", v, sizeof(v)),
	        "off");
	assert_string_equal(fixture_pg_scalar(fx->c, "SHOW synchronous_commit",
	                                      v, sizeof(v)),
	                    "off");
	assert_string_equal(
	        fixture_pg_scalar(fx->c, "SHOW server_encoding", v, sizeof(v)),
	        "UTF8");
	assert_string_equal(fixture_pg_scalar(fx->c,
	                                      "SHOW unix_socket_permissions", v,
	                                      sizeof(v)),
	                    "0700");
	/* the roles (NOLOGIN; one that existed left alone) and the
	 * extension */
	assert_string_equal(
	        fixture_pg_scalar(
	                fx->c,
	                "SELECT string_agg(rolname || ':' || rolcanlogin"
	                " || ':' || rolsuper, ',' ORDER BY rolname)"
	                " FROM pg_roles WHERE rolname IN"
	                " ('pgw ut app', 'postgres')",
	                v, sizeof(v)),
	        "pgw ut app:false:false,postgres:true:true");
	assert_string_equal(
	        fixture_pg_scalar(fx->c,
	                          "SELECT n.nspname FROM pg_extension e JOIN"
	                          " pg_namespace n ON n.oid = e.extnamespace"
	                          " WHERE e.extname = 'citext'",
	                          v, sizeof(v)),
	        "public");
	assert_string_equal(
	        fixture_pg_scalar(fx->c,
	                          "CREATE TABLE t AS SELECT 'X'::citext = 'x'"
	                          " AS same; SELECT same::text FROM t",
	                          v, sizeof(v)),
	        "true");
	pid = postmaster_pid(dir);
	assert_true(pid > 1);
	assert_int_equal(kill((pid_t)pid, 0), 0);
	PQfinish(fx->c);
	fx->c = NULL;

	/* stopped: the server and the directory are gone, at once */
	pgw_ephemeral_stop(fx->e);
	fx->e = NULL;
	assert_int_not_equal(lstat(dir, &sb), 0);
	assert_int_equal(errno, ENOENT);
	assert_int_not_equal(kill((pid_t)pid, 0), 0);
	assert_int_equal(errno, ESRCH);
	/* NULL is fine */
	pgw_ephemeral_stop(NULL);
}

static void test_ephemeral__no_binaries_where_told(void **state)
{
	struct fx *fx = *state;
	struct pgw_ephemeral_opts o = PGW_EPHEMERAL_OPTS_INIT;
	char want[4300];

	fx->empty = fixture_mkdtemp();
	assert_non_null(fx->empty);
	o.bindir = fx->empty;
	assert_int_equal(pgw_ephemeral_start(&fx->e, &o, &fx->err),
	                 PGW_ENOTFOUND);
	assert_null(fx->e);
	snprintf(
	        want, sizeof(want),
	        "no PostgreSQL server binaries (initdb, postgres) in '%s': "
	        "install the Debian package postgresql-15 or name the directory "
	        "that has them",
	        fx->empty);
	assert_string_equal(fx->err.msg, want);
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_ephemeral__start_connect_stop),
		T(test_ephemeral__no_binaries_where_told),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
