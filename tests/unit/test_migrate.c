/* test_migrate.c - the executor of up and down against a real server:
 * segments that each commit, a failing statement or verify section
 * rolling back its whole segment (and only it), retries of lock
 * timeouts and deadlocks with bounded back-off (and none for other
 * errors), the deploy lock checked before COMMIT, the caller's commit
 * hooks, transaction:false sections undone on failure, batch:N
 * migrations, the lock-hold watchdog, down deleting history, and what
 * makes a verify result fail. */
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
#include "history.h"
#include "lock.h"
#include "migfile.h"
#include "migrate.h"
#include "pg.h"
#include "pgward.h"
#include "plan.h"

#define DB "pgw_unit_migrate"

/* ---- fixture ---------------------------------------------------------------
 */

struct fx {
	char *conninfo;
	char *dir;
	PGconn *look; /* the test's own connection */
	PGconn *conn; /* runs the migrations */
	PGconn *ctl;  /* holds the deploy lock */
	struct pgw_config cfg;
	struct pgw_err err;
	int commits, last_commits; /* counted by the commit hooks */
	bool fail_last;
	bool locked; /* what still_locked answers */
};

static int setup(void **state)
{
	struct fx *fx = calloc(1, sizeof(*fx));
	struct pgw_err err = PGW_ERR_INIT;

	if (!fx)
		return -1;
	pgw_config_init(&fx->cfg);
	fx->dir = fixture_mkdtemp();
	fx->look = fixture_pg_open(DB, &fx->conninfo);
	if (!fx->dir || !fx->look ||
	    pgw_pg_connect(&fx->conn, fx->conninfo, "pgward:unit", &err) ||
	    pgw_pg_connect(&fx->ctl, fx->conninfo, "pgward:unit", &err)) {
		if (err.code)
			fprintf(stderr, "setup: %s\n", err.msg);
		PQfinish(fx->conn);
		fixture_cfg_close(&fx->cfg, DB, fx->conninfo, fx->look,
		                  fx->dir);
		free(fx);
		return -1;
	}
	fx->cfg.lock_retries = 5;
	fx->locked = true;
	fixture_log_capture(false);
	*state = fx;
	return 0;
}

static int teardown(void **state)
{
	struct fx *fx = *state;

	fixture_log_reset();
	PQfinish(fx->conn);
	PQfinish(fx->ctl);
	fixture_cfg_close(&fx->cfg, DB, fx->conninfo, fx->look, fx->dir);
	free(fx);
	return 0;
}

/* 001 creates t (id, a), 002 indexes a outside a transaction, and a
 * third migration `name` follows: three segments. */
static void write_three(struct fx *fx, const char *name, const char *text)
{
	fixture_put(fx->dir, "001_t.sql",
	            "-- migrate:up\nCREATE TABLE t (id int, a int);\n");
	fixture_put(
	        fx->dir, "002_ix.sql",
	        "-- migrate:up transaction:false\n"
	        "CREATE INDEX CONCURRENTLY IF NOT EXISTS t_a_idx ON t (a);\n");
	fixture_put(fx->dir, name, text);
}

static void take_lock(struct fx *fx)
{
	fixture_assert_ok(pgw_lock_take(fx->ctl, fx->cfg.schema, 0, &fx->err),
	                  &fx->err);
}

/* Plan up (or down, `steps` newest) from the files and history. */
static struct pgw_run *plan(struct fx *fx, bool down, int steps)
{
	struct pgw_run_opts o = PGW_RUN_OPTS_INIT;
	struct pgw_migset *set = NULL;
	struct pgw_history *h = NULL;
	struct pgw_run *run = NULL;
	int rc;

	rc = pgw_migset_load(&set, fx->dir, &fx->err);
	fixture_assert_ok(rc, &fx->err);
	rc = pgw_history_load(&h, fx->conn, fx->cfg.schema, down, &fx->err);
	fixture_assert_ok(rc, &fx->err);
	if (down) {
		o.flags = PGW_RUN_HAS_STEPS;
		o.steps = steps;
		rc = pgw_plan_down(&run, set, h, &o, &fx->err);
	} else {
		rc = pgw_plan_up(&run, set, h, &o, &fx->err);
	}
	pgw_history_free(h);
	if (rc) {
		pgw_migset_free(set);
		fixture_assert_ok(rc, &fx->err);
	}
	run->files = set; /* the plan points into it */
	return run;
}

static void exec_init(struct pgw_exec *x, struct fx *fx)
{
	memset(x, 0, sizeof(*x));
	x->conn = fx->conn;
	x->ctl = fx->ctl;
	x->cfg = &fx->cfg;
	x->conninfo = fx->conninfo;
	x->app_name = "pgward:unit";
	x->deploy_id = "unit-deploy";
}

/* Plan and run up; returns the executor's result. */
static int run_up(struct fx *fx, struct pgw_run **out, struct pgw_exec *x)
{
	struct pgw_exec local;
	struct pgw_run *run = plan(fx, false, 0);
	int rc;

	if (!x) {
		exec_init(&local, fx);
		x = &local;
	}
	rc = pgw_exec_run(x, run, &fx->err);
	if (out)
		*out = run;
	else
		pgw_run_free(run);
	return rc;
}

/* ---- verify results --------------------------------------------------------
 */

static void verify_case(struct fx *fx, const char *sql, const char *want)
{
	PGresult *res = PQexec(fx->look, sql);
	const char *got = pgw_verify_failed(res);

	if (!want && got)
		fail_msg("%s: failed with '%s', should pass", sql, got);
	if (want && (!got || strcmp(got, want) != 0))
		fail_msg("%s: gave '%s', want '%s'", sql, got ? got : "(pass)",
		         want);
	PQclear(res);
}

static void test_migrate__verify_failed(void **state)
{
	struct fx *fx = *state;

	verify_case(fx, "SELECT true", NULL);
	verify_case(fx, "SELECT false", "false");
	verify_case(fx, "SELECT NULL::boolean", "NULL");
	verify_case(fx, "SELECT 1 WHERE false", "no row");
	/* only the first value of the first row counts */
	verify_case(fx, "SELECT true, false", NULL);
	verify_case(fx, "SELECT * FROM (VALUES (false), (true)) v", "false");
	/* anything but false or NULL passes: a number, a text */
	verify_case(fx, "SELECT 0", NULL);
	verify_case(fx, "SELECT 'no'", NULL);
	/* a command has no value to judge */
	verify_case(fx, "CREATE TEMP TABLE v_tmp (a int)", NULL);
}

/* ---- segments
 * ---------------------------------------------------------------- */

static void test_migrate__segments_commit_in_order(void **state)
{
	struct fx *fx = *state;
	struct pgw_exec x;
	struct pgw_run *run = NULL;
	size_t i;

	fixture_put(
	        fx->dir, "001_t.sql",
	        "-- migrate:up\nCREATE TABLE t (id int PRIMARY KEY, a int);\n"
	        "INSERT INTO t SELECT g, g % 7 FROM generate_series(1, 50) g;\n"
	        "-- migrate:verify\nSELECT count(*) = 50 FROM t;\n");
	fixture_put(
	        fx->dir, "002_ix.sql",
	        "-- migrate:up transaction:false\n"
	        "CREATE INDEX CONCURRENTLY IF NOT EXISTS t_a_idx ON t (a);\n"
	        "-- migrate:down transaction:false\n"
	        "DROP INDEX CONCURRENTLY IF EXISTS t_a_idx;\n");
	fixture_put(fx->dir, "003_u.sql",
	            "-- migrate:up\nCREATE TABLE u (id int);\n");
	fixture_put(fx->dir, "004_v.sql",
	            "-- migrate:up\nCREATE TABLE v (id int);\n");
	take_lock(fx);
	exec_init(&x, fx);
	fixture_assert_ok(run_up(fx, &run, &x), &fx->err);
	assert_int_equal(run->n, 4);
	/* 001 | 002 (transaction:false) | 003 004 */
	assert_int_equal(run->n_segments, 3);
	assert_int_equal(run->items[0].segment, 0);
	assert_int_equal(run->items[1].segment, 1);
	assert_int_equal(run->items[2].segment, 2);
	assert_int_equal(run->items[3].segment, 2);
	for (i = 0; i < run->n; i++)
		assert_true(run->items[i].done);
	assert_true(x.committed_any);
	pgw_run_free(run);

	fixture_assert_applied(fx->look, "1,2,3,4");
	fixture_pg_assert_value(
	        fx->look,
	        "SELECT indisvalid FROM pg_index WHERE indexrelid = 't_a_idx'::regclass",
	        "t");
	/* the rows record the deploy id and the SQL as applied */
	fixture_pg_assert_value(
	        fx->look,
	        "SELECT count(*) FROM pgward.migrations WHERE deploy_id = 'unit-deploy'",
	        "4");
	fixture_pg_assert_value(
	        fx->look,
	        "SELECT btrim(down_directives) FROM pgward.migrations WHERE version = 2",
	        "transaction:false");
	/* the run's timeouts (SET LOCAL in a segment, reset after a
	 * transaction:false one) do not outlive it */
	fixture_pg_assert_value(fx->conn, "SHOW lock_timeout", "0");
	fixture_pg_assert_value(fx->conn, "SHOW statement_timeout", "0");
	assert_int_equal(fixture_log_count("applied 00"), 4);
}

static void test_migrate__failing_statement_rolls_back_its_segment(void **state)
{
	struct fx *fx = *state;
	struct pgw_exec x;
	struct pgw_run *run = NULL;

	fixture_put(fx->dir, "001_t.sql",
	            "-- migrate:up\nCREATE TABLE t (id int);\n");
	fixture_put(fx->dir, "002_u.sql",
	            "-- migrate:up\nCREATE TABLE u (id int);\n\n"
	            "INSERT INTO u VALUES ('not a number');\n");
	take_lock(fx);
	exec_init(&x, fx);
	fixture_assert_run_failed(run_up(fx, &run, &x), &fx->err);
	assert_string_equal(fx->err.sqlstate, "22P02");
	/* file:line and the statement's first words */
	assert_non_null(strstr(fx->err.msg, "002_u.sql:4"));
	assert_non_null(strstr(fx->err.msg, "INSERT INTO u"));
	assert_non_null(
	        strstr(fx->err.detail, "nothing of this run was applied"));
	assert_false(x.committed_any);
	assert_false(run->items[0].done);
	assert_false(run->items[1].done);
	pgw_run_free(run);
	/* 001 ran in the same transaction: gone too, no history table */
	fixture_assert_applied(fx->look, "");
	fixture_pg_assert_value(fx->look,
	                        "SELECT to_regclass('public.t') IS NULL", "t");
	assert_int_equal(PQtransactionStatus(fx->conn), PQTRANS_IDLE);
}

static void test_migrate__later_segment_failure_keeps_earlier(void **state)
{
	struct fx *fx = *state;
	struct pgw_exec x;
	struct pgw_run *run = NULL;

	write_three(fx, "003_bad.sql", "-- migrate:up\nSELECT 1/0;\n");
	take_lock(fx);
	exec_init(&x, fx);
	fixture_assert_run_failed(run_up(fx, &run, &x), &fx->err);
	assert_true(x.committed_any);
	assert_true(run->items[0].done);
	assert_true(run->items[1].done);
	assert_false(run->items[2].done);
	pgw_run_free(run);
	assert_non_null(strstr(fx->err.detail, "database at version 002"));
	fixture_assert_applied(fx->look, "1,2");
}

static void test_migrate__failing_verify_rolls_back(void **state)
{
	struct fx *fx = *state;

	fixture_put(
	        fx->dir, "001_t.sql",
	        "-- migrate:up\nCREATE TABLE t (id int);\nINSERT INTO t VALUES (1);\n"
	        "-- migrate:verify\nSELECT count(*) = 0 FROM t;\n");
	take_lock(fx);
	fixture_assert_run_failed(run_up(fx, NULL, NULL), &fx->err);
	assert_non_null(strstr(fx->err.msg, "verify failed"));
	assert_non_null(strstr(fx->err.msg, "returned false"));
	assert_non_null(strstr(fx->err.msg, "001_t.sql:5"));
	fixture_assert_applied(fx->look, "");
	fixture_pg_assert_value(fx->look,
	                        "SELECT to_regclass('public.t') IS NULL", "t");
}

/* ---- retries ---------------------------------------------------------------
 */

/* A statement that fails with `state` the first `fails` times it runs:
 * a sequence counts the attempts (nextval is not rolled back). */
static void write_flaky(struct fx *fx, const char *state, int fails)
{
	char text[1024];

	fixture_pg_sql(fx->look, "CREATE SEQUENCE attempts");
	snprintf(
	        text, sizeof(text),
	        "-- migrate:up\n"
	        "CREATE TABLE flaky (id int);\n"
	        "DO $$ BEGIN IF nextval('attempts') <= %d THEN"
	        " RAISE EXCEPTION 'made to fail' USING ERRCODE = '%s'; END IF; END $$;\n",
	        fails, state);
	fixture_put(fx->dir, "001_flaky.sql", text);
}

/* The back-offs the retries announced ("retrying in 0.3 s"), in order. */
static int backoffs(double *v, int max)
{
	const char *p = fixture_log_text();
	int n = 0;

	while (n < max && (p = strstr(p, "retrying in "))) {
		v[n++] = strtod(p + 12, NULL);
		p += 12;
	}
	return n;
}

static void test_migrate__lock_timeout_is_retried(void **state)
{
	struct fx *fx = *state;
	double b[8];
	int n, i;

	write_flaky(fx, "55P03", 3);
	take_lock(fx);
	fixture_assert_ok(run_up(fx, NULL, NULL), &fx->err);
	fixture_assert_applied(fx->look, "1");
	/* three failed attempts, then the fourth went through */
	fixture_pg_assert_value(fx->look, "SELECT last_value FROM attempts",
	                        "4");
	assert_int_equal(fixture_log_count("attempt 1 of 6"), 1);
	assert_int_equal(fixture_log_count("attempt 3 of 6"), 1);
	/* jittered exponential back-off: 0.2 s << n, times 0.5 to 1.5 */
	n = backoffs(b, 8);
	assert_int_equal(n, 3);
	for (i = 0; i < n; i++) {
		double base = 0.2 * (double)(1 << i);

		if (b[i] < base * 0.5 - 0.051 || b[i] > base * 1.5 + 0.051)
			fail_msg("back-off %d was %.1f s, want %.2f..%.2f", i,
			         b[i], base * 0.5, base * 1.5);
	}
}

static void test_migrate__deadlock_is_retried_until_the_limit(void **state)
{
	struct fx *fx = *state;

	write_flaky(fx, "40P01", 100);
	fx->cfg.lock_retries = 2;
	take_lock(fx);
	fixture_assert_run_failed(run_up(fx, NULL, NULL), &fx->err);
	assert_string_equal(fx->err.sqlstate, "40P01");
	/* the first attempt and two retries */
	fixture_pg_assert_value(fx->look, "SELECT last_value FROM attempts",
	                        "3");
	assert_int_equal(fixture_log_count("retrying in"), 2);
	fixture_assert_applied(fx->look, "");
}

static void test_migrate__other_errors_are_not_retried(void **state)
{
	struct fx *fx = *state;

	write_flaky(fx, "23505", 100);
	take_lock(fx);
	fixture_assert_run_failed(run_up(fx, NULL, NULL), &fx->err);
	assert_string_equal(fx->err.sqlstate, "23505");
	fixture_pg_assert_value(fx->look, "SELECT last_value FROM attempts",
	                        "1");
	assert_int_equal(fixture_log_count("retrying in"), 0);
}

static void test_migrate__real_lock_timeout(void **state)
{
	struct fx *fx = *state;
	PGconn *blocker = fixture_pg_connect(fx->conninfo);
	int rc;

	assert_non_null(blocker);
	fixture_pg_sql(fx->look, "CREATE TABLE busy (id int)");
	fixture_put(fx->dir, "001_busy.sql",
	            "-- migrate:up\nALTER TABLE busy ADD COLUMN b int;\n");
	/* the application holds the table for the whole run */
	fixture_pg_sql(blocker, "BEGIN; LOCK TABLE busy IN ACCESS SHARE MODE");
	fx->cfg.lock_timeout_ms = 100;
	fx->cfg.lock_retries = 1;
	take_lock(fx);
	rc = run_up(fx, NULL, NULL);
	fixture_pg_sql(blocker, "ROLLBACK");
	PQfinish(blocker);
	fixture_assert_run_failed(rc, &fx->err);
	assert_string_equal(fx->err.sqlstate, "55P03");
	assert_int_equal(fixture_log_count("retrying in"), 1);
	fixture_assert_applied(fx->look, "");
	fixture_pg_assert_value(
	        fx->look,
	        "SELECT count(*) FROM information_schema.columns"
	        " WHERE table_name = 'busy' AND column_name = 'b'",
	        "0");
}

/* ---- the lock, the caller's hooks ------------------------------------------
 */

static void test_migrate__lost_lock_rolls_back_before_commit(void **state)
{
	struct fx *fx = *state;

	fixture_put(fx->dir, "001_t.sql",
	            "-- migrate:up\nCREATE TABLE t (id int);\n");
	/* ctl never took the deploy lock */
	fixture_assert_run_failed(run_up(fx, NULL, NULL), &fx->err);
	assert_non_null(strstr(fx->err.msg, "lost the deploy lock"));
	fixture_assert_applied(fx->look, "");
	fixture_pg_assert_value(fx->look,
	                        "SELECT to_regclass('public.t') IS NULL", "t");
}

static bool still_locked(void *ctx)
{
	return ((struct fx *)ctx)->locked;
}

static int each_commit(PGconn *c, void *ctx, struct pgw_err *err)
{
	struct fx *fx = ctx;

	(void)err;
	fx->commits++;
	/* inside the segment's transaction */
	return PQtransactionStatus(c) == PQTRANS_INTRANS ? 0 : -1;
}

static int last_commit(PGconn *c, void *ctx, struct pgw_err *err)
{
	struct fx *fx = ctx;

	fx->last_commits++;
	if (fx->fail_last)
		return pgw_err_set(err, PGW_EFAILED, "the last check said no");
	/* the hooks run after the history rows, with pgward's own
	 * search_path: names are qualified */
	return pgw_pg_run(c, "CREATE TABLE public.marker (id int)", err);
}

static void test_migrate__commit_hooks(void **state)
{
	struct fx *fx = *state;
	struct pgw_exec x;

	write_three(fx, "003_u.sql",
	            "-- migrate:up\nCREATE TABLE u (id int);\n");
	take_lock(fx);
	exec_init(&x, fx);
	x.each_commit = each_commit;
	x.last_commit = last_commit;
	x.commit_ctx = fx;
	x.still_locked = still_locked;
	x.still_locked_ctx = fx;
	fixture_assert_ok(run_up(fx, NULL, &x), &fx->err);
	/* the two transactional segments (a transaction:false one commits
	 * its history row on its own) */
	assert_int_equal(fx->commits, 2);
	assert_int_equal(fx->last_commits, 1);
	fixture_assert_applied(fx->look, "1,2,3");
	fixture_pg_assert_value(
	        fx->look, "SELECT to_regclass('public.marker') IS NOT NULL",
	        "t");
}

static void
test_migrate__last_commit_failure_rolls_back_last_segment(void **state)
{
	struct fx *fx = *state;
	struct pgw_exec x;

	write_three(fx, "003_u.sql",
	            "-- migrate:up\nCREATE TABLE u (id int);\n");
	take_lock(fx);
	exec_init(&x, fx);
	x.last_commit = last_commit;
	x.commit_ctx = fx;
	fx->fail_last = true;
	fixture_assert_run_failed(run_up(fx, NULL, &x), &fx->err);
	assert_non_null(strstr(fx->err.msg, "the last check said no"));
	fixture_assert_applied(fx->look, "1,2");
	fixture_pg_assert_value(fx->look,
	                        "SELECT to_regclass('public.u') IS NULL", "t");
}

static void test_migrate__caller_lock_lost(void **state)
{
	struct fx *fx = *state;
	struct pgw_exec x;

	fixture_put(fx->dir, "001_t.sql",
	            "-- migrate:up\nCREATE TABLE t (id int);\n");
	take_lock(fx);
	exec_init(&x, fx);
	x.still_locked = still_locked;
	x.still_locked_ctx = fx;
	fx->locked = false;
	fixture_assert_run_failed(run_up(fx, NULL, &x), &fx->err);
	assert_non_null(strstr(fx->err.msg, "lost the deploy lock"));
	fixture_assert_applied(fx->look, "");
}

/* ---- transaction:false, batch:N, the watchdog, down -------------------------
 */

static void test_migrate__notx_failure_undoes_its_statements(void **state)
{
	struct fx *fx = *state;

	fixture_pg_sql(fx->look, "CREATE TABLE t (a int, b int);"
	                         " INSERT INTO t VALUES (1, 1), (2, 1)");
	fixture_put(
	        fx->dir, "001_ix.sql",
	        "-- migrate:up transaction:false\n"
	        "CREATE INDEX CONCURRENTLY IF NOT EXISTS t_a_idx ON t (a);\n"
	        "CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS t_b_key ON t (b);\n");
	take_lock(fx);
	fixture_assert_run_failed(run_up(fx, NULL, NULL), &fx->err);
	assert_string_equal(fx->err.sqlstate, "23505");
	assert_non_null(strstr(fx->err.detail, "were undone"));
	/* the index made by the first statement was dropped, and so was the
	 * INVALID one the failed build left */
	fixture_pg_assert_value(
	        fx->look,
	        "SELECT count(*) FROM pg_indexes WHERE tablename = 't'", "0");
	fixture_assert_applied(fx->look, "");
}

static void test_migrate__batches(void **state)
{
	struct fx *fx = *state;
	struct pgw_run *run = NULL;

	fixture_pg_sql(
	        fx->look,
	        "CREATE TABLE t (id int PRIMARY KEY, done boolean NOT NULL DEFAULT false);"
	        " INSERT INTO t (id) SELECT generate_series(1, 5)");
	fixture_put(
	        fx->dir, "001_fill.sql",
	        "-- migrate:up batch:2\n"
	        "UPDATE t SET done = true\n"
	        " WHERE id IN (SELECT id FROM t WHERE NOT done ORDER BY id LIMIT :batch);\n"
	        "-- migrate:count\n"
	        "SELECT count(*) FROM t WHERE NOT done;\n"
	        "-- migrate:verify\n"
	        "SELECT count(*) = 0 FROM t WHERE NOT done;\n");
	take_lock(fx);
	fixture_assert_ok(run_up(fx, &run, NULL), &fx->err);
	assert_true(run->items[0].done);
	pgw_run_free(run);
	fixture_assert_applied(fx->look, "1");
	fixture_pg_assert_value(fx->look, "SELECT count(*) FROM t WHERE done",
	                        "5");
	/* 2 + 2 + 1 rows */
	assert_int_equal(fixture_log_count("5 rows in 3 batches"), 1);
	assert_int_equal(fixture_log_count("about 5 rows to do"), 1);
}

static void test_migrate__watchdog_cancels_a_long_hold(void **state)
{
	struct fx *fx = *state;

	fixture_pg_sql(fx->look, "CREATE TABLE held (id int)");
	fixture_put(fx->dir, "001_hold.sql",
	            "-- migrate:up\n"
	            "LOCK TABLE held IN ACCESS EXCLUSIVE MODE;\n"
	            "SELECT pg_sleep(8);\n");
	fx->cfg.max_lock_hold_s = 1;
	take_lock(fx);
	fixture_assert_run_failed(run_up(fx, NULL, NULL), &fx->err);
	assert_non_null(strstr(fx->err.msg, "cancelled"));
	assert_non_null(strstr(fx->err.msg, "public.held"));
	assert_non_null(strstr(fx->err.msg, "--max-lock-hold"));
	assert_non_null(strstr(fx->err.msg, "001_hold.sql:3"));
	/* cancelled by the watchdog: not retried */
	assert_int_equal(fixture_log_count("retrying in"), 0);
	fixture_assert_applied(fx->look, "");
}

static void test_migrate__down_deletes_history(void **state)
{
	struct fx *fx = *state;
	struct pgw_run *run;
	int rc;

	fixture_put(
	        fx->dir, "001_t.sql",
	        "-- migrate:up\nCREATE TABLE t (id int);\n-- migrate:down\nDROP TABLE t;\n");
	fixture_put(
	        fx->dir, "002_u.sql",
	        "-- migrate:up\nCREATE TABLE u (id int);\n-- migrate:down\nDROP TABLE u;\n");
	take_lock(fx);
	fixture_assert_ok(run_up(fx, NULL, NULL), &fx->err);
	fixture_assert_applied(fx->look, "1,2");

	run = plan(fx, true, 1);
	assert_true(run->down);
	assert_int_equal(run->n, 1);
	rc = pgw_exec_run(&(struct pgw_exec){ .conn = fx->conn,
	                                      .ctl = fx->ctl,
	                                      .cfg = &fx->cfg,
	                                      .conninfo = fx->conninfo,
	                                      .app_name = "pgward:unit",
	                                      .deploy_id = "unit-down" },
	                  run, &fx->err);
	fixture_assert_ok(rc, &fx->err);
	assert_true(run->items[0].done);
	pgw_run_free(run);
	fixture_assert_applied(fx->look, "1");
	fixture_pg_assert_value(fx->look,
	                        "SELECT to_regclass('public.u') IS NULL", "t");
	assert_int_equal(fixture_log_count("reverted 002_u.sql"), 1);
}

static void test_migrate__schema_hash_stored_with_its_version(void **state)
{
	struct fx *fx = *state;
	struct pgw_exec x;

	fixture_put(fx->dir, "001_t.sql",
	            "-- migrate:up\nCREATE TABLE t (id int);\n");
	fixture_put(fx->dir, "002_u.sql",
	            "-- migrate:up\nCREATE TABLE u (id int);\n");
	take_lock(fx);
	exec_init(&x, fx);
	x.schema_hash = "abc123";
	x.schema_hash_version = 2;
	fixture_assert_ok(run_up(fx, NULL, &x), &fx->err);
	fixture_pg_assert_value(
	        fx->look,
	        "SELECT string_agg(version || ':' || coalesce(schema_hash, '-'), ','"
	        " ORDER BY version) FROM pgward.migrations",
	        "1:-,2:abc123");
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_migrate__verify_failed),
		T(test_migrate__segments_commit_in_order),
		T(test_migrate__failing_statement_rolls_back_its_segment),
		T(test_migrate__later_segment_failure_keeps_earlier),
		T(test_migrate__failing_verify_rolls_back),
		T(test_migrate__lock_timeout_is_retried),
		T(test_migrate__deadlock_is_retried_until_the_limit),
		T(test_migrate__other_errors_are_not_retried),
		T(test_migrate__real_lock_timeout),
		T(test_migrate__lost_lock_rolls_back_before_commit),
		T(test_migrate__commit_hooks),
		T(test_migrate__last_commit_failure_rolls_back_last_segment),
		T(test_migrate__caller_lock_lost),
		T(test_migrate__notx_failure_undoes_its_statements),
		T(test_migrate__batches),
		T(test_migrate__watchdog_cancels_a_long_hold),
		T(test_migrate__down_deletes_history),
		T(test_migrate__schema_hash_stored_with_its_version),
	};
#undef T

	return cmocka_run_group_tests(tests, NULL, NULL);
}
