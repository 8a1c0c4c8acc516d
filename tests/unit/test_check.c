/* test_check.c - the pull-request check (pgw_check) on a scratch
 * database of the test cluster (no --ephemeral): every migration up,
 * down and up again, a down that does not give back the schema before
 * it, a migration that fails, a missing down section, a verify query
 * that scans a table, schema.sql missing, written (--write), current and
 * stale, bad input refused before anything starts, a role that cannot
 * create the scratch database, and the scratch database dropped after. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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
#include "pgward.h"

#define DB "pgw_unit_check"
#define ROLE "pgw_unit_check_nocreatedb"

struct fx {
	char *conninfo;
	char *dir;
	PGconn *look; /* on the cluster's postgres database */
	struct pgw_config cfg;
	struct pgw_check_opts opts;
	struct pgw_check_report *r;
	struct pgw_err err;
	int scratch_before; /* scratch databases already there */
};

static int count_scratch(PGconn *c)
{
	PGresult *res = PQexec(c, "SELECT count(*) FROM pg_database"
	                          " WHERE datname LIKE 'pgward\\_check\\_%'");
	int n = PQresultStatus(res) == PGRES_TUPLES_OK
	                ? atoi(PQgetvalue(res, 0, 0))
	                : -1;

	PQclear(res);
	return n;
}

static int setup(void **state)
{
	struct fx *fx = calloc(1, sizeof(*fx));
	struct pgw_err err = PGW_ERR_INIT;

	if (!fx)
		return -1;
	if (fixture_cfg_open(&fx->cfg, DB, &fx->conninfo, NULL, &fx->dir,
	                     &err) != 0 ||
	    pgw_config_set(&fx->cfg, "migrations.dir", fx->dir, NULL, &err) ||
	    !(fx->look = fixture_pg_connect("dbname=postgres"))) {
		if (err.code)
			fprintf(stderr, "setup: %s\n", err.msg);
		goto fail;
	}
	fx->scratch_before = count_scratch(fx->look);
	if (fx->scratch_before < 0)
		goto fail;
	fixture_log_quiet();
	*state = fx;
	return 0;
fail:
	PQfinish(fx->look);
	fixture_cfg_close(&fx->cfg, DB, fx->conninfo, NULL, fx->dir);
	free(fx);
	return -1;
}

static int teardown(void **state)
{
	struct fx *fx = *state;

	fixture_log_reset();
	pgw_check_report_free(fx->r);
	PQfinish(fx->look);
	fixture_cfg_close(&fx->cfg, DB, fx->conninfo, NULL, fx->dir);
	fixture_pg_drop_role(ROLE);
	free(fx);
	return 0;
}

/* The good pair most tests start from. */
static void write_good(struct fx *fx)
{
	fixture_put(
	        fx->dir, "001_accounts.sql",
	        "-- migrate:up\n"
	        "CREATE TABLE accounts (id bigint PRIMARY KEY, email text NOT NULL);\n"
	        "-- migrate:down\n"
	        "DROP TABLE accounts;\n"
	        "-- migrate:verify\n"
	        "SELECT NOT EXISTS (SELECT 1 FROM accounts WHERE id = 1);\n");
	fixture_put(
	        fx->dir, "002_email_index.sql",
	        "-- migrate:up transaction:false\n"
	        "CREATE INDEX CONCURRENTLY IF NOT EXISTS accounts_email_idx ON accounts (email);\n"
	        "-- migrate:down transaction:false\n"
	        "DROP INDEX CONCURRENTLY IF EXISTS accounts_email_idx;\n");
}

static int check(struct fx *fx)
{
	pgw_check_report_free(fx->r);
	fx->r = NULL;
	pgw_err_clear(&fx->err);
	return pgw_check(&fx->r, &fx->cfg, &fx->opts, &fx->err);
}

static void assert_check_ok(struct fx *fx)
{
	int rc = check(fx);

	if (rc)
		fail_msg("check failed (%d): %s | %s | %s", rc, fx->err.msg,
		         fx->err.detail, fx->err.hint);
	assert_non_null(fx->r);
}

/* Scratch databases the test left behind (0: each check dropped its). */
static int scratch_databases(struct fx *fx)
{
	int n = count_scratch(fx->look);

	assert_true(n >= 0);
	return n - fx->scratch_before;
}

static bool has(const char *text, const char *what)
{
	return text && strstr(text, what);
}

static void test_check__clean_migrations_without_schema_file(void **state)
{
	struct fx *fx = *state;
	char path[4096];

	write_good(fx);
	assert_check_ok(fx);
	assert_int_equal(fx->r->n_migrations, 2);
	if (fx->r->problems)
		fail_msg("problems: %s", fx->r->problems);
	/* the verify query is served by the primary key */
	if (fx->r->warnings)
		fail_msg("warnings: %s", fx->r->warnings);
	snprintf(path, sizeof(path), "%s/schema.sql", fx->dir);
	assert_string_equal(fx->r->schema_file, path);
	/* no schema.sql: the check says so, and writes nothing */
	assert_true(has(fx->r->schema_diff, "does not exist"));
	assert_false(fx->r->schema_written);
	assert_int_equal(access(path, F_OK), -1);
	/* the scratch database is gone, the target untouched */
	assert_int_equal(scratch_databases(fx), 0);
}

static void test_check__write_then_current_then_stale(void **state)
{
	struct fx *fx = *state;
	char path[4096], *text = NULL;
	FILE *f;
	long n;

	write_good(fx);
	fx->opts.write = true;
	assert_check_ok(fx);
	assert_true(fx->r->schema_written);
	snprintf(path, sizeof(path), "%s/schema.sql", fx->dir);
	f = fopen(path, "r");
	assert_non_null(f);
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	text = calloc(1, (size_t)n + 1);
	assert_non_null(text);
	assert_int_equal(fread(text, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	/* the canonical text of the result: both objects, none of
	 * pgward's own */
	assert_true(has(text, "accounts"));
	assert_true(has(text, "accounts_email_idx"));
	assert_false(has(text, "pgward.migrations"));
	free(text);

	/* now current: nothing to say */
	fx->opts.write = false;
	assert_check_ok(fx);
	assert_null(fx->r->schema_diff);
	assert_false(fx->r->schema_written);
	assert_null(fx->r->problems);

	/* a new migration makes it stale */
	fixture_put(
	        fx->dir, "003_name.sql",
	        "-- migrate:up\nALTER TABLE accounts ADD COLUMN name text;\n"
	        "-- migrate:down\nALTER TABLE accounts DROP COLUMN name;\n");
	assert_check_ok(fx);
	assert_int_equal(fx->r->n_migrations, 3);
	assert_null(fx->r->problems);
	assert_non_null(fx->r->schema_diff);
	assert_true(has(fx->r->schema_diff, "name"));
	assert_false(fx->r->schema_written);
	assert_int_equal(scratch_databases(fx), 0);
}

static void test_check__down_that_leaves_something_behind(void **state)
{
	struct fx *fx = *state;

	write_good(fx);
	fixture_put(fx->dir, "003_audit.sql",
	            "-- migrate:up\n"
	            "ALTER TABLE accounts ADD COLUMN created_at timestamptz;\n"
	            "CREATE TABLE audit (id int);\n"
	            "-- migrate:down\n"
	            "DROP TABLE audit;\n");
	assert_check_ok(fx);
	assert_int_equal(fx->r->n_migrations, 3);
	assert_non_null(fx->r->problems);
	assert_true(has(
	        fx->r->problems,
	        "003_audit.sql: down does not give back the schema before its up"));
	assert_true(has(fx->r->problems, "created_at"));
	assert_false(has(fx->r->problems, "001_accounts.sql"));
	assert_int_equal(scratch_databases(fx), 0);
}

static void test_check__failing_migration_stops_the_check(void **state)
{
	struct fx *fx = *state;

	write_good(fx);
	fixture_put(
	        fx->dir, "003_bad.sql",
	        "-- migrate:up\nALTER TABLE no_such_table ADD COLUMN x int;\n"
	        "-- migrate:down\nSELECT 1;\n");
	fixture_put(fx->dir, "004_after.sql",
	            "-- migrate:up\nCREATE TABLE after (id int);\n"
	            "-- migrate:down\nDROP TABLE after;\n");
	assert_check_ok(fx);
	/* 003 was the last one tried */
	assert_int_equal(fx->r->n_migrations, 3);
	assert_true(has(fx->r->problems, "003_bad.sql: up fails"));
	assert_true(has(fx->r->problems, "no_such_table"));
	assert_false(has(fx->r->problems, "004_after.sql"));
	assert_int_equal(scratch_databases(fx), 0);
}

static void test_check__failing_down(void **state)
{
	struct fx *fx = *state;

	fixture_put(fx->dir, "001_t.sql",
	            "-- migrate:up\nCREATE TABLE t (id int);\n"
	            "-- migrate:down\nDROP TABLE not_t;\n");
	assert_check_ok(fx);
	assert_true(has(fx->r->problems, "001_t.sql: down fails"));
	assert_int_equal(scratch_databases(fx), 0);
}

static void test_check__warnings(void **state)
{
	struct fx *fx = *state;

	fixture_put(
	        fx->dir, "001_t.sql",
	        "-- migrate:up\nCREATE TABLE t (id int PRIMARY KEY, note text);\n"
	        "-- migrate:verify\n"
	        "SELECT NOT EXISTS (SELECT 1 FROM t WHERE note = 'x');\n");
	assert_check_ok(fx);
	assert_null(fx->r->problems);
	assert_non_null(fx->r->warnings);
	/* no down section */
	assert_true(has(fx->r->warnings, "001_t.sql: no down section"));
	/* a verify query no index serves */
	assert_true(has(fx->r->warnings,
	                "001_t.sql:4: verify query scans t sequentially"));
}

static void test_check__bad_input_refused_before_anything(void **state)
{
	struct fx *fx = *state;
	int rc;

	write_good(fx);
	fixture_put(
	        fx->dir, "003_tx.sql",
	        "-- migrate:up\nBEGIN;\nCREATE TABLE x (id int);\nCOMMIT;\n");
	rc = check(fx);
	assert_int_equal(rc, PGW_EINVAL);
	assert_null(fx->r);
	assert_true(has(fx->err.msg, "003_tx.sql"));
	assert_int_equal(scratch_databases(fx), 0);
}

static void test_check__role_without_createdb(void **state)
{
	struct fx *fx = *state;
	char url[256];
	int rc;

	write_good(fx);
	assert_int_equal(
	        fixture_pg_admin("CREATE ROLE " ROLE " LOGIN NOCREATEDB"), 0);
	snprintf(url, sizeof(url), "%s user=%s", fx->conninfo, ROLE);
	assert_int_equal(
	        pgw_config_set(&fx->cfg, "database.url", url, NULL, &fx->err),
	        0);
	rc = check(fx);
	assert_true(rc < 0);
	assert_null(fx->r);
	assert_true(has(fx->err.msg,
	                "cannot create a scratch database for the check"));
	assert_true(has(fx->err.hint, "CREATE DATABASE"));
	assert_int_equal(scratch_databases(fx), 0);
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_check__clean_migrations_without_schema_file),
		T(test_check__write_then_current_then_stale),
		T(test_check__down_that_leaves_something_behind),
		T(test_check__failing_migration_stops_the_check),
		T(test_check__failing_down),
		T(test_check__warnings),
		T(test_check__bad_input_refused_before_anything),
		T(test_check__role_without_createdb),
	};
#undef T

	return cmocka_run_group_tests(tests, NULL, NULL);
}
