/* fixture_cfg.h - pgward's side of a unit test: a config pointed at the
 * test's own database (fixture_pg.h) and at a migrations dir in its temp
 * dir (fixture.h), pgward's own connection to that database, migrations
 * applied or reverted as set-up that must work, and the checks of what a
 * pgward call returned.  Header-only, like fixture.h. */
#ifndef PGW_TEST_FIXTURE_CFG_H
#define PGW_TEST_FIXTURE_CFG_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "fixture.h"
#include "fixture_pg.h"
#include "pg.h"
#include "pgward.h"

/* A first migration: public.t (id int PRIMARY KEY, s text) with the rows
 * (1, 'a'), (2, 'b'), (3, 'c'); its down section drops the table. */
#define FIXTURE_MIG_T                                                 \
	"-- migrate:up\n"                                             \
	"CREATE TABLE public.t (id int PRIMARY KEY, s text);\n"       \
	"INSERT INTO public.t VALUES (1, 'a'), (2, 'b'), (3, 'c');\n" \
	"-- migrate:down\n"                                           \
	"DROP TABLE public.t;\n"

/* fixture_pg_open() with pgward's own connection (pgw_pg_connect(): its
 * session settings, application_name `app_name`).  NULL, with why on
 * stderr, when either failed; fixture_pg_close() undoes it. */
static inline PGconn *fixture_pgw_open(const char *name, char **conninfo,
                                       const char *app_name)
{
	struct pgw_err err = PGW_ERR_INIT;
	PGconn *c = NULL;

	*conninfo = fixture_pg_create(name);
	if (!*conninfo)
		return NULL;
	if (pgw_pg_connect(&c, *conninfo, app_name, &err) != 0)
		fprintf(stderr, "setup: %s\n", err.msg);
	return c;
}

/* The start of a test of a pgward operation: cfg initialised (so that
 * fixture_cfg_close() can always release it), a new temp dir into *dir,
 * a new database `name` as cfg's database.url (its conninfo into
 * *conninfo) and, unless c is NULL, a connection to it into *c.  0, or
 * -1 with what was made left for fixture_cfg_close() (err says why when
 * cfg refused the URL). */
static inline int fixture_cfg_open(struct pgw_config *cfg, const char *name,
                                   char **conninfo, PGconn **c, char **dir,
                                   struct pgw_err *err)
{
	pgw_config_init(cfg);
	*dir = fixture_mkdtemp();
	if (c)
		*c = fixture_pg_open(name, conninfo);
	else
		*conninfo = fixture_pg_create(name);
	if (!*dir || !*conninfo || (c && !*c))
		return -1;
	return pgw_config_set(cfg, "database.url", *conninfo, NULL, err);
}

/* The end of fixture_cfg_open(): c closed, the database dropped, cfg
 * released, the temp dir removed, and conninfo and dir freed. */
static inline void fixture_cfg_close(struct pgw_config *cfg, const char *name,
                                     char *conninfo, PGconn *c, char *dir)
{
	fixture_pg_close(name, conninfo, c);
	pgw_config_release(cfg);
	fixture_rmdtemp(dir);
}

/* A new migrations dir, dir/migrations (its path into mig), made
 * migrations.dir of cfg.  0, or -1 (err says why when cfg refused it). */
static inline int fixture_cfg_migrations(struct pgw_config *cfg, char mig[4096],
                                         const char *dir, struct pgw_err *err)
{
	if (snprintf(mig, 4096, "%s/migrations", dir) >= 4096 ||
	    mkdir(mig, 0700) != 0)
		return -1;
	return pgw_config_set(cfg, "migrations.dir", mig, NULL, err);
}

/* cfg for operations that take the deploy lock (deploy, recover,
 * verify): a new migrations dir (fixture_cfg_migrations()) and
 * deploy.wait 10 s.  0, or -1 (err says why when cfg refused it). */
static inline int fixture_cfg_deploy(struct pgw_config *cfg, char mig[4096],
                                     const char *dir, struct pgw_err *err)
{
	if (fixture_cfg_migrations(cfg, mig, dir, err) != 0)
		return -1;
	/* an operation's advisory locks go when its backend exits, shortly
	 * after it disconnects: the next one waits for that */
	return pgw_config_set(cfg, "deploy.wait", "10", NULL, err);
}

/* A pgward call returned 0; else the test fails showing err. */
static inline void fixture_assert_ok(int rc, const struct pgw_err *err)
{
	if (rc != 0)
		fail_msg("failed (%d): %s | %s | %s", rc, err->msg, err->detail,
		         err->hint);
}

/* A run that failed and was rolled back: PGW_EFAILED in err, what the
 * CLI turns into exit 1. */
static inline void fixture_assert_run_failed(int rc, const struct pgw_err *err)
{
	assert_int_equal(rc, PGW_EFAILED);
	assert_int_equal(err->code, PGW_EFAILED);
}

/* The versions pgward.migrations on c lists as applied are `want`,
 * "1,2,3" ("" when none, or when there is no such table). */
static inline void fixture_assert_applied(PGconn *c, const char *want)
{
	PGresult *res =
	        PQexec(c, "SELECT to_regclass('pgward.migrations') IS NULL");
	bool none;

	assert_int_equal(PQresultStatus(res), PGRES_TUPLES_OK);
	none = strcmp(PQgetvalue(res, 0, 0), "t") == 0;
	PQclear(res);
	if (none) {
		if (*want)
			fail_msg("no history table, want versions %s", want);
		return;
	}
	fixture_pg_assert_value(
	        c,
	        "SELECT coalesce(string_agg(version::text, ',' ORDER BY version), '')"
	        " FROM pgward.migrations",
	        want);
}

/* For fixture_up() and fixture_down(): no target version. */
#define FIXTURE_ALL ((int64_t)-1)

/* fixture_up() or, when down, fixture_down(). */
static inline void fixture_run(const struct pgw_config *cfg, bool down,
                               int64_t target, struct pgw_err *err)
{
	struct pgw_run_opts ro = PGW_RUN_OPTS_INIT;
	struct pgw_run *run = NULL;
	int rc;

	if (target != FIXTURE_ALL) {
		ro.flags |= PGW_RUN_HAS_TARGET;
		ro.target = target;
	}
	pgw_err_clear(err);
	rc = down ? pgw_down(&run, cfg, &ro, err) : pgw_up(&run, cfg, &ro, err);
	pgw_run_free(run);
	if (rc != 0)
		fail_msg("%s: %s", down ? "pgw_down" : "pgw_up", err->msg);
}

/* Migrations of cfg applied up to `target` (FIXTURE_ALL: every pending
 * one) as set-up: the test fails when that fails. */
static inline void fixture_up(const struct pgw_config *cfg, int64_t target,
                              struct pgw_err *err)
{
	fixture_run(cfg, false, target, err);
}

/* Migrations of cfg reverted down to `target` (FIXTURE_ALL: the newest
 * one) as set-up: the test fails when that fails. */
static inline void fixture_down(const struct pgw_config *cfg, int64_t target,
                                struct pgw_err *err)
{
	fixture_run(cfg, true, target, err);
}

#endif
