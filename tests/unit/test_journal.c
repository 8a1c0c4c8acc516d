/* test_journal.c - pgward_journal on a real server: created (and brought
 * up to date from an older layout), a deploy's row started "running" at
 * stage check, updated stage by stage (finished_at set once it is no
 * longer running), a step row per update and per step, transaction:false
 * statements inserted "running" and marked done in place, unfinished
 * deploys found (running with no session left, or interrupted), and
 * failed writes that are only warnings. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "fixture_cfg.h"
#include "fixture_pg.h"
#include "journal.h"
#include "pg.h"
#include "pgward.h"

#define DB "pgw_unit_journal"

struct fx {
	char *conninfo;
	PGconn *c;
	struct pgw_err err;
};

static int setup(void **state)
{
	struct fx *fx = calloc(1, sizeof(*fx));

	if (!fx)
		return -1;
	fx->c = fixture_pgw_open(DB, &fx->conninfo, "pgward:unit-ctl");
	if (!fx->c) {
		fixture_pg_close(DB, fx->conninfo, NULL);
		free(fx);
		return -1;
	}
	*state = fx;
	return 0;
}

static int teardown(void **state)
{
	struct fx *fx = *state;

	pgw_log_set_sink(NULL, NULL, PGW_LOG_NOTICE);
	fixture_pg_close(DB, fx->conninfo, fx->c);
	free(fx);
	return 0;
}

/* Every row of `sql`, columns joined with '|' and rows with '\n' (NULL
 * shown as "-"), to compare as one string. */
static char *rows(struct fx *fx, const char *sql)
{
	struct pgw_err err = PGW_ERR_INIT;
	struct pgw_buf b = PGW_BUF_INIT;
	PGresult *res = NULL;
	int i, j;

	if (pgw_pg_exec(&res, fx->c, sql, 0, NULL, &err) != 0)
		fail_msg("%s: %s", sql, err.msg);
	for (i = 0; i < PQntuples(res); i++) {
		if (i)
			pgw_buf_putc(&b, '\n');
		for (j = 0; j < PQnfields(res); j++) {
			if (j)
				pgw_buf_putc(&b, '|');
			pgw_buf_puts(&b, PQgetisnull(res, i, j)
			                         ? "-"
			                         : PQgetvalue(res, i, j));
		}
	}
	PQclear(res);
	assert_false(pgw_buf_oom(&b));
	return pgw_buf_detach(&b);
}

static void assert_rows(struct fx *fx, const char *sql, const char *want)
{
	char *got = rows(fx, sql);
	char shown[1024];

	if (strcmp(got, want) != 0) {
		snprintf(shown, sizeof(shown), "%s", got);
		free(got);
		fail_msg("%s gave\n%s\nwant\n%s", sql, shown, want);
	}
	free(got);
}

static void ensure(struct fx *fx)
{
	if (pgw_journal_ensure(fx->c, &fx->err) != 0)
		fail_msg("ensure: %s", fx->err.msg);
}

static void start(struct fx *fx, const char *id, const char *from,
                  const char *to, const char *release)
{
	if (pgw_journal_start(fx->c, id, from, to, release, &fx->err) != 0)
		fail_msg("start: %s", fx->err.msg);
}

static void update(struct fx *fx, const char *id, const char *stage,
                   const char *status)
{
	struct pgw_journal_state s;

	memset(&s, 0, sizeof(s));
	s.stage = stage;
	s.status = status;
	pgw_journal_update(fx->c, id, &s);
}

static bool exists(struct fx *fx)
{
	bool e = false;

	assert_int_equal(pgw_journal_exists(fx->c, &e, &fx->err), 0);
	return e;
}

static void test_journal__nothing_before_ensure(void **state)
{
	struct fx *fx = *state;
	char id[40], stage[64];

	assert_false(exists(fx));
	memset(id, 'x', sizeof(id));
	memset(stage, 'x', sizeof(stage));
	assert_int_equal(pgw_journal_unfinished(fx->c, id, stage, &fx->err), 0);
	assert_string_equal(id, "");
	assert_string_equal(stage, "");
	assert_int_equal(fx->err.code, PGW_OK);
}

static void test_journal__ensure_creates_both_tables(void **state)
{
	struct fx *fx = *state;

	ensure(fx);
	assert_true(exists(fx));
	assert_rows(
	        fx,
	        "SELECT string_agg(column_name, ',' ORDER BY column_name)"
	        " FROM information_schema.columns"
	        " WHERE table_schema = 'pgward_journal'"
	        " AND table_name = 'deploys'",
	        "backup_sha256,backup_uri,error,finished_at,from_version,id,"
	        "release,stage,started_at,status,to_version");
	assert_rows(fx,
	            "SELECT string_agg(column_name, ',' ORDER BY column_name)"
	            " FROM information_schema.columns"
	            " WHERE table_schema = 'pgward_journal'"
	            " AND table_name = 'steps'",
	            "at,deploy_id,sql,stage,statement,status,undo_sql,version");
	/* again: nothing changes, nothing fails */
	ensure(fx);
	assert_true(exists(fx));
}

static void test_journal__ensure_upgrades_an_old_journal(void **state)
{
	struct fx *fx = *state;

	/* the first layout: no release, no statement columns */
	fixture_pg_sql(
	        fx->c,
	        "CREATE SCHEMA pgward_journal;"
	        "CREATE TABLE pgward_journal.deploys ("
	        " id text PRIMARY KEY, started_at timestamptz NOT NULL DEFAULT now(),"
	        " finished_at timestamptz, from_version text, to_version text,"
	        " stage text, status text NOT NULL, backup_uri text,"
	        " backup_sha256 text, error text);"
	        "CREATE TABLE pgward_journal.steps ("
	        " deploy_id text NOT NULL, at timestamptz NOT NULL DEFAULT now(),"
	        " stage text NOT NULL, status text NOT NULL);"
	        "INSERT INTO pgward_journal.deploys (id, stage, status)"
	        " VALUES ('old', 'done', 'succeeded');"
	        "INSERT INTO pgward_journal.steps (deploy_id, stage, status)"
	        " VALUES ('old', 'done', 'succeeded')");
	ensure(fx);
	/* the new columns, and what was there kept */
	assert_rows(
	        fx,
	        "SELECT id, stage, status, release FROM pgward_journal.deploys",
	        "old|done|succeeded|-");
	assert_rows(fx,
	            "SELECT deploy_id, stage, status, version, statement, sql,"
	            " undo_sql FROM pgward_journal.steps",
	            "old|done|succeeded|-|-|-|-");
	/* and usable as new */
	start(fx, "new", "1", "2", "v2");
	pgw_journal_statement(fx->c, "new", "2", 1,
	                      "CREATE INDEX CONCURRENTLY i ON t (x)",
	                      "DROP INDEX CONCURRENTLY IF EXISTS i", "running");
	assert_rows(
	        fx,
	        "SELECT release FROM pgward_journal.deploys WHERE id = 'new'",
	        "v2");
	assert_rows(
	        fx,
	        "SELECT count(*) FROM pgward_journal.steps WHERE deploy_id = 'new'",
	        "1");
}

static void test_journal__start_is_running_at_check(void **state)
{
	struct fx *fx = *state;

	ensure(fx);
	start(fx, "20261125T133500Z-4f2a", "003", "005", "v1.4.0");
	start(fx, "no-release", "0", "001", NULL);
	assert_rows(
	        fx,
	        "SELECT id, from_version, to_version, stage, status, release,"
	        " finished_at IS NULL, started_at <= now(),"
	        " backup_uri, backup_sha256, error"
	        " FROM pgward_journal.deploys ORDER BY id",
	        "20261125T133500Z-4f2a|003|005|check|running|v1.4.0|t|t|-|-|-\n"
	        "no-release|0|001|check|running|-|t|t|-|-|-");
	/* no step rows yet */
	assert_rows(fx, "SELECT count(*) FROM pgward_journal.steps", "0");
}

static void test_journal__start_twice_is_an_error(void **state)
{
	struct fx *fx = *state;

	ensure(fx);
	start(fx, "d1", "1", "2", NULL);
	assert_int_equal(
	        pgw_journal_start(fx->c, "d1", "2", "3", NULL, &fx->err),
	        PGW_EPG);
	assert_string_equal(fx->err.sqlstate, "23505");
	/* the first row as it was */
	assert_rows(
	        fx,
	        "SELECT from_version, to_version FROM pgward_journal.deploys",
	        "1|2");
}

static void test_journal__start_without_journal_is_an_error(void **state)
{
	struct fx *fx = *state;

	assert_int_equal(
	        pgw_journal_start(fx->c, "d1", "1", "2", NULL, &fx->err),
	        PGW_EPG);
	assert_string_equal(fx->err.sqlstate, "42P01");
}

static void test_journal__update_while_running(void **state)
{
	struct fx *fx = *state;

	ensure(fx);
	start(fx, "d1", "1", "3", NULL);
	update(fx, "d1", "backup", "running");
	assert_rows(fx,
	            "SELECT stage, status, finished_at IS NULL"
	            " FROM pgward_journal.deploys WHERE id = 'd1'",
	            "backup|running|t");
	assert_rows(
	        fx,
	        "SELECT deploy_id, stage, status, version FROM pgward_journal.steps",
	        "d1|backup|running|-");
}

static void test_journal__update_to_an_end(void **state)
{
	struct fx *fx = *state;
	struct pgw_journal_state s;

	ensure(fx);
	start(fx, "d1", "1", "3", "v3");
	start(fx, "d2", "3", "4", NULL);
	update(fx, "d1", "backup", "running");
	memset(&s, 0, sizeof(s));
	s.stage = "migrate";
	s.status = "running";
	s.backup_uri = "file:///backups/app-20261125.tar.zst";
	s.backup_sha256 =
	        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
	pgw_journal_update(fx->c, "d1", &s);
	assert_rows(fx,
	            "SELECT finished_at IS NULL FROM pgward_journal.deploys"
	            " WHERE id = 'd1'",
	            "t");
	s.stage = "migrate";
	s.status = "failed";
	s.error = "relation \"users\" does not exist";
	pgw_journal_update(fx->c, "d1", &s);
	assert_rows(
	        fx,
	        "SELECT stage, status, backup_uri, backup_sha256, error,"
	        " finished_at IS NOT NULL, finished_at >= started_at"
	        " FROM pgward_journal.deploys WHERE id = 'd1'",
	        "migrate|failed|file:///backups/app-20261125.tar.zst|"
	        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855|"
	        "relation \"users\" does not exist|t|t");
	/* the other deploy untouched */
	assert_rows(fx,
	            "SELECT stage, status, finished_at IS NULL"
	            " FROM pgward_journal.deploys WHERE id = 'd2'",
	            "check|running|t");
	/* a step row per update, in order */
	assert_rows(fx,
	            "SELECT deploy_id, stage, status FROM pgward_journal.steps"
	            " ORDER BY at, ctid",
	            "d1|backup|running\n"
	            "d1|migrate|running\n"
	            "d1|migrate|failed");
	/* back to running (recover picks it up): unfinished again */
	s.status = "running";
	s.error = NULL;
	pgw_journal_update(fx->c, "d1", &s);
	assert_rows(fx,
	            "SELECT status, error, finished_at IS NULL"
	            " FROM pgward_journal.deploys WHERE id = 'd1'",
	            "running|-|t");
}

static void test_journal__steps_in_order(void **state)
{
	struct fx *fx = *state;

	ensure(fx);
	start(fx, "d1", "1", "2", NULL);
	pgw_journal_step(fx->c, "d1", "check", "ok");
	pgw_journal_step(fx->c, "d1", "backup", "ok");
	pgw_journal_step(fx->c, "other", "check", "ok");
	pgw_journal_step(fx->c, "d1", "migrate", "failed");
	assert_rows(
	        fx,
	        "SELECT stage, status, version, statement FROM pgward_journal.steps"
	        " WHERE deploy_id = 'd1' ORDER BY at, ctid",
	        "check|ok|-|-\n"
	        "backup|ok|-|-\n"
	        "migrate|failed|-|-");
	/* steps change nothing in the deploy's row */
	assert_rows(fx, "SELECT stage, status FROM pgward_journal.deploys",
	            "check|running");
}

static void test_journal__statement_running_then_done(void **state)
{
	struct fx *fx = *state;

	ensure(fx);
	start(fx, "d1", "3", "4", NULL);
	start(fx, "d2", "3", "4", NULL);
	pgw_journal_statement(fx->c, "d1", "004", 1,
	                      "CREATE INDEX CONCURRENTLY ix_a ON a (id)",
	                      "DROP INDEX CONCURRENTLY IF EXISTS ix_a",
	                      "running");
	pgw_journal_statement(fx->c, "d1", "004", 2,
	                      "CREATE INDEX CONCURRENTLY ix_b ON b (id)", NULL,
	                      "running");
	/* another deploy's same statement */
	pgw_journal_statement(fx->c, "d2", "004", 1, "CREATE INDEX ...",
	                      "DROP ...", "running");
	assert_rows(
	        fx,
	        "SELECT deploy_id, stage, status, version, statement, sql, undo_sql"
	        " FROM pgward_journal.steps ORDER BY deploy_id, statement",
	        "d1|migrate|running|004|1|CREATE INDEX CONCURRENTLY ix_a ON a (id)|"
	        "DROP INDEX CONCURRENTLY IF EXISTS ix_a\n"
	        "d1|migrate|running|004|2|CREATE INDEX CONCURRENTLY ix_b ON b (id)|-\n"
	        "d2|migrate|running|004|1|CREATE INDEX ...|DROP ...");
	/* done: that row, updated in place */
	pgw_journal_statement(fx->c, "d1", "004", 1,
	                      "CREATE INDEX CONCURRENTLY ix_a ON a (id)",
	                      "DROP INDEX CONCURRENTLY IF EXISTS ix_a", "done");
	assert_rows(
	        fx,
	        "SELECT deploy_id, status, statement, sql FROM pgward_journal.steps"
	        " ORDER BY deploy_id, statement",
	        "d1|done|1|CREATE INDEX CONCURRENTLY ix_a ON a (id)\n"
	        "d1|running|2|CREATE INDEX CONCURRENTLY ix_b ON b (id)\n"
	        "d2|running|1|CREATE INDEX ...");
}

/* Warnings logged, for the failed-write test. */
struct warnings {
	int n;
	char last[1024];
};

static void keep_warning(enum pgw_log_level level, const char *msg,
                         void *payload)
{
	struct warnings *w = payload;

	if (level != PGW_LOG_WARN)
		return;
	w->n++;
	snprintf(w->last, sizeof(w->last), "%s", msg);
}

static void test_journal__failed_writes_are_warnings(void **state)
{
	struct fx *fx = *state;
	struct warnings w = { 0 };

	pgw_log_set_sink(keep_warning, &w, PGW_LOG_DEBUG);
	/* no journal: each write fails, says so once, and goes on */
	update(fx, "d1", "backup", "running");
	assert_int_equal(w.n, 1);
	assert_non_null(strstr(w.last, "journal: "));
	assert_non_null(strstr(w.last, "pgward_journal.deploys"));
	pgw_journal_step(fx->c, "d1", "check", "ok");
	assert_int_equal(w.n, 2);
	assert_non_null(strstr(w.last, "pgward_journal.steps"));
	pgw_journal_statement(fx->c, "d1", "1", 1, "SELECT 1", NULL, "running");
	assert_int_equal(w.n, 3);
	pgw_journal_statement(fx->c, "d1", "1", 1, "SELECT 1", NULL, "done");
	assert_int_equal(w.n, 4);
	/* the connection is fine afterwards */
	ensure(fx);
	start(fx, "d1", "0", "1", NULL);
	update(fx, "d1", "backup", "running");
	assert_int_equal(w.n, 4);
	assert_rows(fx, "SELECT stage FROM pgward_journal.deploys", "backup");
}

static void test_journal__unfinished(void **state)
{
	struct fx *fx = *state;
	char id[40], stage[64];
	PGconn *live = NULL;
	int tries;

	ensure(fx);
	/* nothing at all */
	assert_int_equal(pgw_journal_unfinished(fx->c, id, stage, &fx->err), 0);
	assert_string_equal(id, "");
	/* finished ones are never unfinished */
	start(fx, "done-ok", "0", "1", NULL);
	update(fx, "done-ok", "done", "succeeded");
	start(fx, "done-failed", "1", "2", NULL);
	update(fx, "done-failed", "migrate", "failed");
	assert_int_equal(pgw_journal_unfinished(fx->c, id, stage, &fx->err), 0);
	assert_string_equal(id, "");
	assert_string_equal(stage, "");
	/* running, and its session still there: not unfinished */
	start(fx, "alive", "2", "3", NULL);
	update(fx, "alive", "migrate", "running");
	assert_int_equal(
	        pgw_pg_connect(&live, fx->conninfo, "pgward:alive", &fx->err),
	        0);
	assert_int_equal(pgw_journal_unfinished(fx->c, id, stage, &fx->err), 0);
	assert_string_equal(id, "");
	/* its session gone: unfinished, at the stage it reached */
	PQfinish(live);
	live = NULL;
	/* the backend's exit shows in pg_stat_activity a moment later */
	for (tries = 0; tries < 100; tries++) {
		assert_int_equal(
		        pgw_journal_unfinished(fx->c, id, stage, &fx->err), 0);
		if (id[0])
			break;
		fixture_pg_sql(fx->c, "SELECT pg_sleep(0.05)");
	}
	assert_string_equal(id, "alive");
	assert_string_equal(stage, "migrate");
	/* interrupted counts even with a session; the newest wins */
	start(fx, "stopped", "3", "4", NULL);
	update(fx, "stopped", "backup", "interrupted");
	assert_int_equal(
	        pgw_pg_connect(&live, fx->conninfo, "pgward:stopped", &fx->err),
	        0);
	fixture_pg_sql(
	        fx->c,
	        "UPDATE pgward_journal.deploys SET started_at = now() - interval '1 hour'"
	        " WHERE id = 'alive'");
	assert_int_equal(pgw_journal_unfinished(fx->c, id, stage, &fx->err), 0);
	assert_string_equal(id, "stopped");
	assert_string_equal(stage, "backup");
	/* the older one comes first only once it is newer */
	fixture_pg_sql(
	        fx->c,
	        "UPDATE pgward_journal.deploys SET started_at = now() + interval '1 hour'"
	        " WHERE id = 'alive'");
	assert_int_equal(pgw_journal_unfinished(fx->c, id, stage, &fx->err), 0);
	assert_string_equal(id, "alive");
	PQfinish(live);
	assert_int_equal(fx->err.code, PGW_OK);
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_journal__nothing_before_ensure),
		T(test_journal__ensure_creates_both_tables),
		T(test_journal__ensure_upgrades_an_old_journal),
		T(test_journal__start_is_running_at_check),
		T(test_journal__start_twice_is_an_error),
		T(test_journal__start_without_journal_is_an_error),
		T(test_journal__update_while_running),
		T(test_journal__update_to_an_end),
		T(test_journal__steps_in_order),
		T(test_journal__statement_running_then_done),
		T(test_journal__failed_writes_are_warnings),
		T(test_journal__unfinished),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
