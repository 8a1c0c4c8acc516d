/* test_engine.c - the public operations of pgward.h against a real server:
 * up (all, to a target, dry run, a failing migration rolled back, an
 * edited applied migration refused, unknown and out-of-order versions),
 * the no-op up decided before the deploy lock, down by steps, status,
 * history, baseline, new, and the application start-up path
 * (pgw_autostart with AUTO_MIGRATE_ON_START, waiting for the lock). */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "fixture.h"
#include "fixture_cfg.h"
#include "fixture_log.h"
#include "fixture_pg.h"
#include "lock.h"
#include "pgward.h"

#define DB "pgw_unit_engine"

static const char m001[] =
        "-- migrate:up\n"
        "CREATE TABLE accounts (id bigint PRIMARY KEY, email text NOT NULL);\n"
        "-- migrate:down\n"
        "DROP TABLE accounts;\n"
        "-- migrate:verify\n"
        "SELECT count(*) = 0 FROM accounts;\n";
static const char m002[] = "-- migrate:up\n"
                           "ALTER TABLE accounts ADD COLUMN name text;\n"
                           "-- migrate:down\n"
                           "ALTER TABLE accounts DROP COLUMN name;\n";
static const char m003[] = "-- migrate:up\n"
                           "CREATE TABLE orders (id bigint PRIMARY KEY,\n"
                           "  account_id bigint REFERENCES accounts (id));\n"
                           "-- migrate:down\n"
                           "DROP TABLE orders;\n";

/* ---- fixture ------------------------------------------------------------ */

struct fx {
	char *conninfo;
	char *dir; /* the migrations dir */
	PGconn *c; /* the test's own connection, for looking */
	struct pgw_config cfg;
	struct pgw_err err;
	struct pgw_run *run; /* of the last up() or down() */
};

static int setup(void **state)
{
	struct fx *fx = calloc(1, sizeof(*fx));
	struct pgw_err err = PGW_ERR_INIT;

	if (!fx)
		return -1;
	if (fixture_cfg_open(&fx->cfg, DB, &fx->conninfo, &fx->c, &fx->dir,
	                     &err) != 0 ||
	    pgw_config_set(&fx->cfg, "migrations.dir", fx->dir, NULL, &err)) {
		if (err.code)
			fprintf(stderr, "setup: %s\n", err.msg);
		fixture_cfg_close(&fx->cfg, DB, fx->conninfo, fx->c, fx->dir);
		free(fx);
		return -1;
	}
	fixture_log_capture(false);
	*state = fx;
	return 0;
}

static int teardown(void **state)
{
	struct fx *fx = *state;

	fixture_log_reset();
	pgw_run_free(fx->run);
	fixture_cfg_close(&fx->cfg, DB, fx->conninfo, fx->c, fx->dir);
	free(fx);
	return 0;
}

static void write_three(struct fx *fx)
{
	fixture_put(fx->dir, "001_accounts.sql", m001);
	fixture_put(fx->dir, "002_account_name.sql", m002);
	fixture_put(fx->dir, "003_orders.sql", m003);
}

/* pgw_up with o: its result, and what it planned in fx->run. */
static int up(struct fx *fx, const struct pgw_run_opts *o)
{
	pgw_run_free(fx->run);
	fx->run = NULL;
	return pgw_up(&fx->run, &fx->cfg, o, &fx->err);
}

/* pgw_down with o: its result, and what it planned in fx->run. */
static int down(struct fx *fx, const struct pgw_run_opts *o)
{
	pgw_run_free(fx->run);
	fx->run = NULL;
	return pgw_down(&fx->run, &fx->cfg, o, &fx->err);
}

static void up_all(struct fx *fx)
{
	const struct pgw_run_opts o = PGW_RUN_OPTS_INIT;

	fixture_assert_ok(up(fx, &o), &fx->err);
}

/* Hold the deploy lock of schema "pgward" on a connection of the test's. */
static PGconn *hold_lock(struct fx *fx)
{
	PGconn *l = fixture_pg_connect(fx->conninfo);
	char sql[128];
	int k[2];

	assert_non_null(l);
	pgw_lock_keys(k, "pgward");
	snprintf(sql, sizeof(sql), "SELECT pg_advisory_lock(%d, %d)", k[0],
	         k[1]);
	PQclear(PQexec(l, sql));
	fixture_pg_assert_value(
	        l,
	        "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'"
	        " AND pid = pg_backend_pid() AND granted",
	        "1");
	return l;
}

/* Whether the deploy lock is free, waiting up to 3 s for a closed
 * connection's backend to go. */
static bool lock_freed(struct fx *fx)
{
	int i;

	for (i = 0; i < 60; i++) {
		PGresult *res = PQexec(
		        fx->c,
		        "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'"
		        " AND database = (SELECT oid FROM pg_database"
		        " WHERE datname = current_database())");
		bool none = PQresultStatus(res) == PGRES_TUPLES_OK &&
		            strcmp(PQgetvalue(res, 0, 0), "0") == 0;

		PQclear(res);
		if (none)
			return true;
		usleep(50000);
	}
	return false;
}

/* ---- up ------------------------------------------------------------------ */

/* The deploy lock is free the moment a run returns: its control
 * connection releases it before closing (a closed session's locks go
 * only when its backend has exited, a moment later: a deploy right after
 * an up would find it held).  Ten up/down runs, each followed at once by
 * pg_try_advisory_lock from another session. */
static void test_engine__lock_free_as_soon_as_a_run_returns(void **state)
{
	struct fx *fx = *state;
	const struct pgw_run_opts o = PGW_RUN_OPTS_INIT;
	char try_sql[160];
	int k[2], i;

	pgw_lock_keys(k, "pgward");
	snprintf(try_sql, sizeof(try_sql),
	         "SELECT pg_try_advisory_lock(%d, %d) AND pg_advisory_unlock(%d, %d)",
	         k[0], k[1], k[0], k[1]);
	write_three(fx);
	for (i = 0; i < 10; i++) {
		fixture_assert_ok(i % 2 ? down(fx, &o) : up(fx, &o), &fx->err);
		fixture_pg_assert_value(fx->c, try_sql, "t");
	}
}


static void test_engine__up_applies_all_in_order(void **state)
{
	struct fx *fx = *state;
	struct pgw_run_opts o = PGW_RUN_OPTS_INIT;
	size_t i;

	write_three(fx);
	fixture_assert_ok(up(fx, &o), &fx->err);
	assert_non_null(fx->run);
	assert_false(fx->run->down);
	assert_false(fx->run->nothing_to_do);
	assert_string_equal(fx->run->from, "0");
	assert_string_equal(fx->run->to, "003");
	assert_int_equal(fx->run->n, 3);
	/* all transactional: one segment */
	assert_int_equal(fx->run->n_segments, 1);
	for (i = 0; i < fx->run->n; i++) {
		assert_true(fx->run->items[i].done);
		assert_int_equal(fx->run->items[i].m->version,
		                 (int64_t)(i + 1));
	}

	fixture_assert_applied(fx->c, "1,2,3");
	fixture_pg_assert_value(
	        fx->c, "SELECT to_regclass('public.orders') IS NOT NULL", "t");
	fixture_pg_assert_value(
	        fx->c,
	        "SELECT count(*) FROM information_schema.columns"
	        " WHERE table_name = 'accounts' AND column_name = 'name'",
	        "1");
	/* the history rows carry file, checksum, the SQL as applied and
	 * one deploy id for the run */
	fixture_pg_assert_value(
	        fx->c, "SELECT file FROM pgward.migrations WHERE version = 2",
	        "002_account_name.sql");
	fixture_pg_assert_value(
	        fx->c,
	        "SELECT length(checksum) FROM pgward.migrations WHERE version = 1",
	        "64");
	fixture_pg_assert_value(
	        fx->c,
	        "SELECT down_sql LIKE '%DROP TABLE orders%' FROM pgward.migrations WHERE version = 3",
	        "t");
	fixture_pg_assert_value(
	        fx->c,
	        "SELECT count(DISTINCT deploy_id) FROM pgward.migrations", "1");
	assert_true(fixture_logged("applied 003_orders.sql"));
}

static void test_engine__second_up_is_a_noop_without_the_lock(void **state)
{
	struct fx *fx = *state;
	struct pgw_run_opts o = PGW_RUN_OPTS_INIT;
	PGconn *holder;

	write_three(fx);
	up_all(fx);
	/* someone else holds the deploy lock: a no-op run never asks */
	holder = hold_lock(fx);
	fixture_assert_ok(up(fx, &o), &fx->err);
	assert_non_null(fx->run);
	assert_true(fx->run->nothing_to_do);
	assert_int_equal(fx->run->n, 0);
	assert_string_equal(fx->run->from, "003");

	/* with something pending it does need the lock (wait 0) */
	fixture_put(fx->dir, "004_more.sql",
	            "-- migrate:up\nCREATE TABLE more (id int);\n");
	assert_int_equal(up(fx, &o), PGW_ELOCKED);
	assert_int_equal(fx->err.code, PGW_ELOCKED);
	assert_non_null(strstr(fx->err.msg, "deploy lock"));
	fixture_assert_applied(fx->c, "1,2,3");

	/* once the lock is free the same run goes through */
	PQclear(PQexec(holder, "SELECT pg_advisory_unlock_all()"));
	PQfinish(holder);
	pgw_err_clear(&fx->err);
	fixture_assert_ok(up(fx, &o), &fx->err);
	assert_int_equal(fx->run->n, 1);
	assert_string_equal(fx->run->from, "003");
	assert_string_equal(fx->run->to, "004");
	fixture_assert_applied(fx->c, "1,2,3,4");
}

static void test_engine__up_to_target(void **state)
{
	struct fx *fx = *state;
	struct pgw_run_opts o = PGW_RUN_OPTS_INIT;

	write_three(fx);
	o.flags = PGW_RUN_HAS_TARGET;
	o.target = 2;
	fixture_assert_ok(up(fx, &o), &fx->err);
	assert_int_equal(fx->run->n, 2);
	assert_string_equal(fx->run->to, "002");
	fixture_assert_applied(fx->c, "1,2");
	fixture_pg_assert_value(
	        fx->c, "SELECT to_regclass('public.orders') IS NULL", "t");

	/* a target below the database's version is refused */
	o.target = 1;
	assert_int_equal(up(fx, &o), PGW_EINVAL);
	fixture_assert_applied(fx->c, "1,2");
}

static void test_engine__dry_run_changes_nothing(void **state)
{
	struct fx *fx = *state;
	struct pgw_run_opts o = PGW_RUN_OPTS_INIT;

	write_three(fx);
	o.flags = PGW_RUN_DRY;
	fixture_assert_ok(up(fx, &o), &fx->err);
	assert_int_equal(fx->run->n, 3);
	assert_false(fx->run->nothing_to_do);
	assert_false(fx->run->items[0].done);
	/* the plan keeps the files it points into */
	assert_non_null(fx->run->files);
	assert_string_equal(fx->run->items[2].m->file, "003_orders.sql");
	fixture_assert_applied(fx->c, "");
	fixture_pg_assert_value(
	        fx->c, "SELECT to_regclass('public.accounts') IS NULL", "t");
}

static void test_engine__failing_migration_rolls_back_the_run(void **state)
{
	struct fx *fx = *state;
	struct pgw_run_opts o = PGW_RUN_OPTS_INIT;
	int rc;

	fixture_put(fx->dir, "001_accounts.sql", m001);
	fixture_put(fx->dir, "002_bad.sql",
	            "-- migrate:up\n"
	            "CREATE TABLE fine (id int);\n"
	            "INSERT INTO no_such_table VALUES (1);\n");
	rc = up(fx, &o);
	fixture_assert_run_failed(rc, &fx->err);
	assert_non_null(fx->run);
	assert_false(fx->run->items[0].done);
	/* the server's SQLSTATE, the file and line of the statement */
	assert_string_equal(fx->err.sqlstate, "42P01");
	assert_non_null(strstr(fx->err.msg, "002_bad.sql:3"));
	assert_non_null(
	        strstr(fx->err.detail, "nothing of this run was applied"));
	/* one transaction: 001 and the history table are gone too */
	fixture_pg_assert_value(
	        fx->c, "SELECT to_regclass('public.accounts') IS NULL", "t");
	fixture_pg_assert_value(
	        fx->c, "SELECT to_regclass('public.fine') IS NULL", "t");
	/* the lock went with the run's connection (its backend ends a
	 * moment after the connection is closed) */
	assert_true(lock_freed(fx));
}

static void test_engine__edited_applied_migration_refused(void **state)
{
	struct fx *fx = *state;
	struct pgw_run_opts o = PGW_RUN_OPTS_INIT;

	fixture_put(fx->dir, "001_accounts.sql", m001);
	fixture_put(fx->dir, "002_account_name.sql", m002);
	up_all(fx);
	/* the up section edited, and a new migration pending */
	fixture_put(fx->dir, "002_account_name.sql",
	            "-- migrate:up\n"
	            "ALTER TABLE accounts ADD COLUMN name varchar(10);\n"
	            "-- migrate:down\n"
	            "ALTER TABLE accounts DROP COLUMN name;\n");
	fixture_put(fx->dir, "003_orders.sql", m003);
	assert_int_equal(up(fx, &o), PGW_ECHECKSUM);
	assert_int_equal(fx->err.code, PGW_ECHECKSUM);
	assert_non_null(strstr(fx->err.msg, "002_account_name.sql"));
	/* the detail says what changed, from the SQL as applied */
	assert_non_null(strstr(fx->err.detail, "varchar(10)"));
	assert_non_null(strstr(fx->err.detail, "ADD COLUMN name text"));
	/* nothing ran */
	fixture_assert_applied(fx->c, "1,2");
	fixture_pg_assert_value(
	        fx->c, "SELECT to_regclass('public.orders') IS NULL", "t");
}

static void test_engine__edit_outside_up_section_is_not_an_edit(void **state)
{
	struct fx *fx = *state;
	struct pgw_run_opts o = PGW_RUN_OPTS_INIT;

	fixture_put(fx->dir, "001_accounts.sql", m001);
	up_all(fx);
	/* a comment before the marker and a different down section: the
	 * checksum covers the up section only */
	fixture_put(
	        fx->dir, "001_accounts.sql",
	        "-- the accounts\n"
	        "-- migrate:up\n"
	        "CREATE TABLE accounts (id bigint PRIMARY KEY, email text NOT NULL);\n"
	        "-- migrate:down\n"
	        "DROP TABLE IF EXISTS accounts;\n");
	fixture_assert_ok(up(fx, &o), &fx->err);
	assert_true(fx->run->nothing_to_do);
}

static void test_engine__unknown_and_out_of_order_refused(void **state)
{
	struct fx *fx = *state;
	struct pgw_run_opts o = PGW_RUN_OPTS_INIT;
	char path[4096];

	fixture_put(fx->dir, "001_accounts.sql", m001);
	fixture_put(fx->dir, "003_orders.sql", m003);
	up_all(fx);

	/* 002 appears below the head: out of order */
	fixture_put(fx->dir, "002_account_name.sql", m002);
	assert_int_equal(up(fx, &o), PGW_EINVAL);
	fixture_assert_applied(fx->c, "1,3");
	snprintf(path, sizeof(path), "%s/002_account_name.sql", fx->dir);
	assert_int_equal(unlink(path), 0);

	/* 003's file is gone: refused unless allowed */
	snprintf(path, sizeof(path), "%s/003_orders.sql", fx->dir);
	assert_int_equal(unlink(path), 0);
	pgw_err_clear(&fx->err);
	assert_int_equal(up(fx, &o), PGW_EINVAL);
	assert_non_null(strstr(fx->err.msg, "003_orders.sql"));

	pgw_err_clear(&fx->err);
	o.flags = PGW_RUN_ALLOW_UNKNOWN;
	fixture_assert_ok(up(fx, &o), &fx->err);
	assert_true(fx->run->nothing_to_do);
}

static void test_engine__bad_file_refused_before_connecting(void **state)
{
	struct fx *fx = *state;
	struct pgw_run_opts o = PGW_RUN_OPTS_INIT;

	fixture_put(fx->dir, "001_accounts.sql", m001);
	fixture_put(fx->dir, "002_tx.sql",
	            "-- migrate:up\nBEGIN;\nCREATE TABLE t (id int);\n");
	/* an unreachable database: the file is refused first */
	free(fx->cfg.database_url);
	fx->cfg.database_url = strdup(
	        "host=/nonexistent/socket/dir dbname=x connect_timeout=2");
	assert_non_null(fx->cfg.database_url);
	assert_int_equal(up(fx, &o), PGW_EINVAL);
	assert_non_null(strstr(fx->err.msg, "002_tx.sql"));

	/* a good set and the same database: a connection error */
	fixture_put(fx->dir, "002_tx.sql",
	            "-- migrate:up\nCREATE TABLE t (id int);\n");
	pgw_err_clear(&fx->err);
	assert_int_equal(up(fx, &o), PGW_ECONNECT);
}

/* ---- down, status, history, baseline, new -------------------------------- */

static void test_engine__down_steps(void **state)
{
	struct fx *fx = *state;
	struct pgw_run_opts o = PGW_RUN_OPTS_INIT;

	write_three(fx);
	up_all(fx);

	/* the default: one step, the newest */
	fixture_assert_ok(down(fx, &o), &fx->err);
	assert_true(fx->run->down);
	assert_int_equal(fx->run->n, 1);
	assert_int_equal(fx->run->items[0].m->version, 3);
	assert_true(fx->run->items[0].done);
	assert_string_equal(fx->run->from, "003");
	assert_string_equal(fx->run->to, "002");
	fixture_assert_applied(fx->c, "1,2");
	fixture_pg_assert_value(
	        fx->c, "SELECT to_regclass('public.orders') IS NULL", "t");

	/* --steps 2, newest first */
	o.flags = PGW_RUN_HAS_STEPS;
	o.steps = 2;
	fixture_assert_ok(down(fx, &o), &fx->err);
	assert_int_equal(fx->run->n, 2);
	assert_int_equal(fx->run->items[0].m->version, 2);
	assert_int_equal(fx->run->items[1].m->version, 1);
	fixture_assert_applied(fx->c, "");
	fixture_pg_assert_value(
	        fx->c, "SELECT to_regclass('public.accounts') IS NULL", "t");

	/* nothing left to revert */
	fixture_assert_ok(down(fx, &o), &fx->err);
	assert_true(fx->run->nothing_to_do);
}

static void test_engine__down_uses_sql_as_applied(void **state)
{
	struct fx *fx = *state;
	struct pgw_run_opts o = PGW_RUN_OPTS_INIT;
	int rc;

	fixture_put(fx->dir, "001_accounts.sql", m001);
	up_all(fx);
	/* the file's down section now breaks; history's is used */
	fixture_put(
	        fx->dir, "001_accounts.sql",
	        "-- migrate:up\n"
	        "CREATE TABLE accounts (id bigint PRIMARY KEY, email text NOT NULL);\n"
	        "-- migrate:down\n"
	        "DROP TABLE no_such_table;\n");
	fixture_assert_ok(down(fx, &o), &fx->err);
	fixture_assert_applied(fx->c, "");

	/* again, with the file's down: it fails and nothing changes */
	up_all(fx);
	o.flags = PGW_RUN_USE_FILE_DOWN;
	rc = down(fx, &o);
	fixture_assert_run_failed(rc, &fx->err);
	assert_string_equal(fx->err.sqlstate, "42P01");
	fixture_assert_applied(fx->c, "1");
	fixture_pg_assert_value(
	        fx->c, "SELECT to_regclass('public.accounts') IS NOT NULL",
	        "t");
}

static void test_engine__down_without_down_section_refused(void **state)
{
	struct fx *fx = *state;
	struct pgw_run_opts o = PGW_RUN_OPTS_INIT;

	fixture_put(fx->dir, "001_accounts.sql", m001);
	fixture_put(fx->dir, "002_nodown.sql",
	            "-- migrate:up\nCREATE TABLE nodown (id int);\n");
	up_all(fx);
	o.flags = PGW_RUN_HAS_STEPS;
	o.steps = 2;
	assert_int_equal(down(fx, &o), PGW_EINVAL);
	fixture_assert_applied(fx->c, "1,2");
}

static void test_engine__status(void **state)
{
	struct fx *fx = *state;
	struct pgw_run_opts o = PGW_RUN_OPTS_INIT;
	struct pgw_status *st = NULL;
	char path[4096];
	int rc;

	write_three(fx);
	/* fresh database: everything pending, no history table */
	rc = pgw_status(&st, &fx->cfg, &fx->err);
	fixture_assert_ok(rc, &fx->err);
	assert_null(st->head);
	assert_false(st->history->exists);
	assert_int_equal(st->n_pending, 3);
	assert_int_equal(st->n_unknown, 0);
	assert_int_equal(st->n_changed, 0);
	assert_non_null(st->database);
	assert_non_null(strstr(st->database, DB));
	pgw_status_free(st);
	st = NULL;

	o.flags = PGW_RUN_HAS_TARGET;
	o.target = 2;
	fixture_assert_ok(up(fx, &o), &fx->err);

	/* 001 edited (its up section), 003 pending, a 009 applied whose
	 * file is gone */
	PQclear(PQexec(
	        fx->c,
	        "INSERT INTO pgward.migrations (version, name, file, checksum, up_sql)"
	        " VALUES (9, 'gone', '009_gone.sql', repeat('0', 64), 'SELECT 1')"));
	fixture_assert_applied(fx->c, "1,2,9");
	fixture_put(fx->dir, "001_accounts.sql",
	            "-- migrate:up\nCREATE TABLE accounts (id int);\n");
	rc = pgw_status(&st, &fx->cfg, &fx->err);
	fixture_assert_ok(rc, &fx->err);
	assert_true(st->history->exists);
	assert_non_null(st->head);
	assert_int_equal(st->head->version, 9);
	assert_int_equal(st->n_pending, 1);
	assert_string_equal(st->pending[0]->file, "003_orders.sql");
	/* pending below the head (9) */
	assert_int_equal(st->n_out_of_order, 1);
	assert_int_equal(st->n_unknown, 1);
	assert_string_equal(st->unknown[0]->file, "009_gone.sql");
	assert_int_equal(st->n_changed, 1);
	assert_string_equal(st->changed[0]->file, "001_accounts.sql");
	pgw_status_free(st);

	/* status takes no lock and changes nothing */
	snprintf(path, sizeof(path), "%s/003_orders.sql", fx->dir);
	assert_int_equal(access(path, F_OK), 0);
	fixture_assert_applied(fx->c, "1,2,9");
}

static void test_engine__status_redacts_the_url(void **state)
{
	struct fx *fx = *state;
	struct pgw_status *st = NULL;
	char url[512];
	int rc;

	write_three(fx);
	/* a password the trust-authenticated server never asks for */
	snprintf(url, sizeof(url), "%s password=hunter2secret", fx->conninfo);
	free(fx->cfg.database_url);
	fx->cfg.database_url = strdup(url);
	assert_non_null(fx->cfg.database_url);
	rc = pgw_status(&st, &fx->cfg, &fx->err);
	fixture_assert_ok(rc, &fx->err);
	assert_null(strstr(st->database, "hunter2secret"));
	assert_non_null(strstr(st->database, DB));
	pgw_status_free(st);
}

static void test_engine__history_read(void **state)
{
	struct fx *fx = *state;
	struct pgw_history *h = NULL;
	int rc;

	/* no table yet: an empty history, not an error */
	rc = pgw_history_read(&h, &fx->cfg, &fx->err);
	fixture_assert_ok(rc, &fx->err);
	assert_false(h->exists);
	assert_int_equal(h->n, 0);
	pgw_history_free(h);
	h = NULL;

	write_three(fx);
	up_all(fx);
	rc = pgw_history_read(&h, &fx->cfg, &fx->err);
	fixture_assert_ok(rc, &fx->err);
	assert_true(h->exists);
	assert_int_equal(h->n, 3);
	assert_int_equal(h->v[0].version, 1);
	assert_string_equal(h->v[0].name, "accounts");
	assert_non_null(strstr(h->v[0].up_sql, "CREATE TABLE accounts"));
	assert_non_null(strstr(h->v[0].verify_sql, "count(*) = 0"));
	assert_non_null(strstr(h->v[2].down_sql, "DROP TABLE orders"));
	assert_false(h->v[0].destructive);
	/* ALTER TABLE ... DROP COLUMN is in 002's down, not its up */
	assert_false(h->v[1].destructive);
	assert_non_null(h->v[0].applied_at);
	assert_string_equal(h->v[0].applied_by, "postgres");
	assert_string_equal(h->v[0].deploy_id, h->v[2].deploy_id);
	pgw_history_free(h);
}

static void test_engine__baseline(void **state)
{
	struct fx *fx = *state;
	struct pgw_history *h = NULL;
	struct pgw_run_opts o = PGW_RUN_OPTS_INIT;
	int rc;

	write_three(fx);
	/* a version with no file */
	rc = pgw_baseline(&h, &fx->cfg, 7, &fx->err);
	assert_int_equal(rc, PGW_EINVAL);
	assert_null(h);
	pgw_err_clear(&fx->err);

	/* the schema of 001 and 002 made by hand, then adopted */
	PQclear(PQexec(fx->c, "CREATE TABLE accounts (id bigint PRIMARY KEY,"
	                      " email text NOT NULL, name text)"));
	rc = pgw_baseline(&h, &fx->cfg, 2, &fx->err);
	fixture_assert_ok(rc, &fx->err);
	assert_int_equal(h->n, 2);
	pgw_history_free(h);
	h = NULL;
	fixture_assert_applied(fx->c, "1,2");

	/* up runs only 003 */
	fixture_assert_ok(up(fx, &o), &fx->err);
	assert_int_equal(fx->run->n, 1);
	assert_int_equal(fx->run->items[0].m->version, 3);

	/* a database with history is not adopted again */
	rc = pgw_baseline(&h, &fx->cfg, 2, &fx->err);
	assert_int_equal(rc, PGW_EINVAL);
	assert_non_null(strstr(fx->err.msg, "already has a migration history"));
	pgw_history_free(h);
}

static void test_engine__new_migration(void **state)
{
	struct fx *fx = *state;
	struct pgw_migset *set = NULL;
	char *path = NULL, want[4096];
	int rc;

	/* empty dir: 001, three digits, the name cleaned */
	rc = pgw_new_migration(&path, &fx->cfg, "Add Users-Table", &fx->err);
	fixture_assert_ok(rc, &fx->err);
	snprintf(want, sizeof(want), "%s/001_add_users_table.sql", fx->dir);
	assert_string_equal(path, want);
	free(path);
	path = NULL;

	/* the next one after the highest, at its width */
	fixture_put(fx->dir, "0041_x.sql", "-- migrate:up\nSELECT 1;\n");
	rc = pgw_new_migration(&path, &fx->cfg, "next", &fx->err);
	fixture_assert_ok(rc, &fx->err);
	snprintf(want, sizeof(want), "%s/0042_next.sql", fx->dir);
	assert_string_equal(path, want);
	free(path);
	path = NULL;

	/* an empty name is refused */
	rc = pgw_new_migration(&path, &fx->cfg, "", &fx->err);
	assert_int_equal(rc, PGW_EINVAL);
	assert_null(path);

	/* the files made load as migrations, with the three sections */
	pgw_err_clear(&fx->err);
	rc = pgw_migset_load(&set, fx->dir, &fx->err);
	fixture_assert_ok(rc, &fx->err);
	assert_int_equal(set->n, 3);
	assert_string_equal(set->v[0].file, "001_add_users_table.sql");
	assert_string_equal(set->v[2].file, "0042_next.sql");
	assert_true(set->v[2].down.present);
	assert_true(set->v[2].verify.present);
	pgw_migset_free(set);
}

/* ---- the application start-up path --------------------------------------- */

static void test_engine__autostart_off_does_nothing(void **state)
{
	struct fx *fx = *state;
	int rc;

	write_three(fx);
	assert_false(fx->cfg.auto_migrate);
	rc = pgw_autostart(&fx->cfg, &fx->err);
	fixture_assert_ok(rc, &fx->err);
	fixture_assert_applied(fx->c, "");
	assert_true(fixture_logged("AUTO_MIGRATE_ON_START is not set"));
}

static void test_engine__autostart_from_environment(void **state)
{
	struct fx *fx = *state;
	struct pgw_config cfg;
	char *ini;
	int rc;

	write_three(fx);
	/* what examples/app_start.c does, configured by the environment */
	ini = malloc(strlen(fx->dir) + 16);
	assert_non_null(ini);
	sprintf(ini, "%s/pgward.ini", fx->dir);
	assert_int_equal(fixture_write(fx->dir, "pgward.ini", "\n"), 0);
	setenv("DATABASE_URL", fx->conninfo, 1);
	setenv("PGWARD_MIGRATIONS", fx->dir, 1);
	setenv("AUTO_MIGRATE_ON_START", "true", 1);
	pgw_config_init(&cfg);
	rc = pgw_config_load(&cfg, ini, &fx->err);
	unsetenv("DATABASE_URL");
	unsetenv("PGWARD_MIGRATIONS");
	unsetenv("AUTO_MIGRATE_ON_START");
	free(ini);
	fixture_assert_ok(rc, &fx->err);
	assert_true(cfg.auto_migrate);

	rc = pgw_autostart(&cfg, &fx->err);
	fixture_assert_ok(rc, &fx->err);
	fixture_assert_applied(fx->c, "1,2,3");
	assert_true(fixture_logged("database schema migrated from 0 to 003"));

	/* the next start finds nothing to do */
	rc = pgw_autostart(&cfg, &fx->err);
	fixture_assert_ok(rc, &fx->err);
	assert_true(fixture_logged(
	        "database schema at version 003: nothing to apply"));
	pgw_config_release(&cfg);
}

static void test_engine__autostart_failure_rolls_back(void **state)
{
	struct fx *fx = *state;
	int rc;

	fixture_put(fx->dir, "001_accounts.sql", m001);
	fixture_put(fx->dir, "002_bad.sql", "-- migrate:up\nSELECT 1/0;\n");
	fx->cfg.auto_migrate = true;
	rc = pgw_autostart(&fx->cfg, &fx->err);
	fixture_assert_run_failed(rc, &fx->err);
	assert_string_equal(fx->err.sqlstate, "22012");
	fixture_assert_applied(fx->c, "");
	fixture_pg_assert_value(
	        fx->c, "SELECT to_regclass('public.accounts') IS NULL", "t");
}

struct releaser {
	PGconn *holder;
	double after_s;
};

static void *release_later(void *arg)
{
	struct releaser *r = arg;
	struct timespec ts;

	ts.tv_sec = (time_t)r->after_s;
	ts.tv_nsec = (long)((r->after_s - (double)ts.tv_sec) * 1e9);
	nanosleep(&ts, NULL);
	PQclear(PQexec(r->holder, "SELECT pg_advisory_unlock_all()"));
	return NULL;
}

static void test_engine__autostart_waits_for_the_lock(void **state)
{
	struct fx *fx = *state;
	struct releaser r;
	pthread_t t;
	double t0, took;
	int rc;

	write_three(fx);
	fx->cfg.auto_migrate = true;
	fx->cfg.timeout_s = 10; /* MIGRATION_TIMEOUT: the wait */
	r.holder = hold_lock(fx);
	r.after_s = 0.8;
	assert_int_equal(pthread_create(&t, NULL, release_later, &r), 0);
	t0 = fixture_now();
	rc = pgw_autostart(&fx->cfg, &fx->err);
	took = fixture_now() - t0;
	pthread_join(t, NULL);
	PQfinish(r.holder);
	fixture_assert_ok(rc, &fx->err);
	assert_true(took >= 0.7);
	assert_true(took < 8);
	fixture_assert_applied(fx->c, "1,2,3");
	assert_true(fixture_logged("waiting up to 10 s for the deploy lock"));
}

static void test_engine__autostart_wait_setting_bounds_the_wait(void **state)
{
	struct fx *fx = *state;
	PGconn *holder;
	double t0, took;
	int rc;

	write_three(fx);
	fx->cfg.auto_migrate = true;
	fx->cfg.timeout_s = 30;
	/* [deploy] wait = 1 overrides MIGRATION_TIMEOUT */
	fixture_assert_ok(
	        pgw_config_set(&fx->cfg, "deploy.wait", "1", NULL, &fx->err),
	        &fx->err);
	assert_true(fx->cfg.wait_set);
	holder = hold_lock(fx);
	t0 = fixture_now();
	rc = pgw_autostart(&fx->cfg, &fx->err);
	took = fixture_now() - t0;
	PQfinish(holder);
	assert_int_equal(rc, PGW_ELOCKED);
	assert_true(took >= 0.9);
	assert_true(took < 5);
	fixture_assert_applied(fx->c, "");
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_engine__lock_free_as_soon_as_a_run_returns),
		T(test_engine__up_applies_all_in_order),
		T(test_engine__second_up_is_a_noop_without_the_lock),
		T(test_engine__up_to_target),
		T(test_engine__dry_run_changes_nothing),
		T(test_engine__failing_migration_rolls_back_the_run),
		T(test_engine__edited_applied_migration_refused),
		T(test_engine__edit_outside_up_section_is_not_an_edit),
		T(test_engine__unknown_and_out_of_order_refused),
		T(test_engine__bad_file_refused_before_connecting),
		T(test_engine__down_steps),
		T(test_engine__down_uses_sql_as_applied),
		T(test_engine__down_without_down_section_refused),
		T(test_engine__status),
		T(test_engine__status_redacts_the_url),
		T(test_engine__history_read),
		T(test_engine__baseline),
		T(test_engine__new_migration),
		T(test_engine__autostart_off_does_nothing),
		T(test_engine__autostart_from_environment),
		T(test_engine__autostart_failure_rolls_back),
		T(test_engine__autostart_waits_for_the_lock),
		T(test_engine__autostart_wait_setting_bounds_the_wait),
	};
#undef T

	return cmocka_run_group_tests(tests, NULL, NULL);
}
