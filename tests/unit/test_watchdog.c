/* test_watchdog.c - the lock-hold watchdog against a real server: a
 * session holding an ACCESS EXCLUSIVE lock on an existing table past the
 * limit has its statement cancelled (and is terminated when it sits idle
 * in its transaction), while weaker locks, short holds, tables the
 * session created itself and other sessions are left alone; the reason
 * given, reset, stop, and a watchdog that cannot connect. */
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
#include "fixture_log.h"
#include "fixture_pg.h"
#include "pgward.h"
#include "watchdog.h"

#define DB "pgw_unit_watchdog"

struct fx {
	char *conninfo;
	PGconn *look;    /* the test's own */
	PGconn *session; /* the one watched */
	struct pgw_watchdog *wd;
	struct pgw_err err;
};

static int setup(void **state)
{
	struct fx *fx = calloc(1, sizeof(*fx));

	if (!fx)
		return -1;
	fx->look = fixture_pg_open(DB, &fx->conninfo);
	if (!fx->look || !(fx->session = fixture_pg_connect(fx->conninfo))) {
		fixture_pg_close(DB, fx->conninfo, fx->look);
		free(fx);
		return -1;
	}
	PQclear(PQexec(
	        fx->look,
	        "CREATE TABLE held (id int); CREATE TABLE other (id int)"));
	fixture_log_capture(false);
	*state = fx;
	return 0;
}

static int teardown(void **state)
{
	struct fx *fx = *state;

	pgw_watchdog_stop(fx->wd);
	fixture_log_reset();
	PQfinish(fx->session);
	fixture_pg_close(DB, fx->conninfo, fx->look);
	free(fx);
	return 0;
}

static void start(struct fx *fx, int pid, int max_hold_s)
{
	int rc = pgw_watchdog_start(&fx->wd, fx->conninfo, "pgward:unit-wd",
	                            pid, max_hold_s, &fx->err);

	if (rc)
		fail_msg("start: %s", fx->err.msg);
	assert_non_null(fx->wd);
}

/* Run `sql` on the session; its SQLSTATE ("" when it worked). */
static void run_state(PGconn *c, const char *sql, char out[6])
{
	PGresult *res = PQexec(c, sql);
	ExecStatusType s = PQresultStatus(res);
	const char *st = PQresultErrorField(res, PG_DIAG_SQLSTATE);

	snprintf(out, 6, "%s",
	         s == PGRES_COMMAND_OK || s == PGRES_TUPLES_OK ? ""
	         : st                                          ? st
	                                                       : "?");
	PQclear(res);
}

static void
test_watchdog__cancels_a_hold_past_the_limit_then_reset(void **state)
{
	struct fx *fx = *state;
	struct pgw_watchdog *bystander = NULL;
	char why[512], sqlstate[6];
	double t0, took;

	start(fx, PQbackendPID(fx->session), 1);
	/* a second watchdog, on the test's own connection, sees nothing */
	assert_int_equal(
	        pgw_watchdog_start(&bystander, fx->conninfo, "pgward:unit-wd",
	                           PQbackendPID(fx->look), 1, &fx->err),
	        0);
	fixture_pg_sql(fx->session,
	               "BEGIN; LOCK TABLE held IN ACCESS EXCLUSIVE MODE");
	t0 = fixture_now();
	run_state(fx->session, "SELECT pg_sleep(8)", sqlstate);
	took = fixture_now() - t0;
	assert_false(pgw_watchdog_fired(bystander, NULL, 0));
	pgw_watchdog_stop(bystander);
	/* cancelled: 57014, a little after the limit */
	assert_string_equal(sqlstate, "57014");
	assert_true(took < 4);
	assert_true(pgw_watchdog_fired(fx->wd, why, sizeof(why)));
	assert_non_null(strstr(why, "ACCESS EXCLUSIVE"));
	assert_non_null(strstr(why, "public.held"));
	assert_non_null(strstr(why, "more than 1 s"));
	assert_non_null(strstr(why, "--max-lock-hold"));
	/* without a buffer it still answers; the reason is cut to the
	 * caller's buffer */
	assert_true(pgw_watchdog_fired(fx->wd, NULL, 0));
	fixture_pg_sql(fx->session, "ROLLBACK");
	memset(why, 'x', sizeof(why));
	assert_true(pgw_watchdog_fired(fx->wd, why, 12));
	assert_string_equal(why, "held an ACC");

	/* reset forgets the firing (before a retry) */
	pgw_watchdog_reset(fx->wd);
	strcpy(why, "untouched");
	assert_false(pgw_watchdog_fired(fx->wd, why, sizeof(why)));
	assert_string_equal(why, "untouched");
	/* and a new hold is timed from scratch: a short one passes */
	fixture_pg_sql(fx->session, "BEGIN; LOCK TABLE held");
	run_state(fx->session, "SELECT pg_sleep(0.5)", sqlstate);
	assert_string_equal(sqlstate, "");
	fixture_pg_sql(fx->session, "ROLLBACK");
	assert_false(pgw_watchdog_fired(fx->wd, NULL, 0));
}

static void test_watchdog__short_holds_and_weaker_locks_pass(void **state)
{
	struct fx *fx = *state;
	char sqlstate[6];

	start(fx, PQbackendPID(fx->session), 1);
	/* a table created in the transaction is invisible to the watchdog;
	 * SHARE on an existing table is not ACCESS EXCLUSIVE; an exclusive
	 * lock released within the limit is fine */
	fixture_pg_sql(fx->session,
	               "BEGIN; LOCK TABLE held IN ACCESS EXCLUSIVE MODE");
	fixture_pg_sql(fx->session, "SELECT pg_sleep(0.3)");
	fixture_pg_sql(fx->session, "COMMIT");
	fixture_pg_sql(fx->session,
	               "BEGIN; CREATE TABLE fresh (id int); LOCK TABLE fresh;"
	               " LOCK TABLE other IN SHARE MODE");
	run_state(fx->session, "SELECT pg_sleep(1.5)", sqlstate);
	assert_string_equal(sqlstate, "");
	fixture_pg_sql(fx->session, "COMMIT");
	assert_false(pgw_watchdog_fired(fx->wd, NULL, 0));
}

static void test_watchdog__idle_in_transaction_is_terminated(void **state)
{
	struct fx *fx = *state;
	char pid[16], sql[128], sqlstate[6];
	const char *params[1] = { pid };
	double t0;
	bool gone = false;

	snprintf(pid, sizeof(pid), "%d", PQbackendPID(fx->session));
	start(fx, PQbackendPID(fx->session), 1);
	fixture_pg_sql(fx->session, "BEGIN; LOCK TABLE held");
	/* idle in its transaction: a cancel does nothing, so 3 s after it
	 * the backend is ended */
	t0 = fixture_now();
	while (!gone && fixture_now() - t0 < 8) {
		PGresult *res = PQexecParams(
		        fx->look,
		        "SELECT count(*) FROM pg_stat_activity WHERE pid = $1::int",
		        1, NULL, params, NULL, NULL, 0);

		gone = PQresultStatus(res) == PGRES_TUPLES_OK &&
		       strcmp(PQgetvalue(res, 0, 0), "0") == 0;
		PQclear(res);
		if (!gone)
			usleep(100000);
	}
	assert_true(gone);
	/* fired at about 1 s, ended at about 4 s */
	assert_true(fixture_now() - t0 >= 3.5);
	assert_true(pgw_watchdog_fired(fx->wd, NULL, 0));
	run_state(fx->session, "SELECT 1", sqlstate);
	assert_string_not_equal(sqlstate, "");
	assert_int_not_equal(PQstatus(fx->session), CONNECTION_OK);
	/* the lock went with it */
	snprintf(sql, sizeof(sql),
	         "SELECT count(*) FROM pg_locks WHERE pid = %s", pid);
	{
		PGresult *res = PQexec(fx->look, sql);

		assert_string_equal(PQgetvalue(res, 0, 0), "0");
		PQclear(res);
	}
}

static void test_watchdog__unreachable_server_is_a_warning(void **state)
{
	struct fx *fx = *state;
	struct pgw_watchdog *wd = NULL;
	int rc;

	rc = pgw_watchdog_start(
	        &wd, "host=/nonexistent/pgw-socket-dir dbname=x",
	        "pgward:unit-wd", PQbackendPID(fx->session), 1, &fx->err);
	assert_int_equal(rc, 0);
	assert_non_null(wd);
	usleep(200000);
	assert_false(pgw_watchdog_fired(wd, NULL, 0));
	pgw_watchdog_stop(wd);
	assert_non_null(
	        strstr(fixture_log_text(), "the lock watchdog cannot connect"));
	assert_non_null(
	        strstr(fixture_log_text(), "--max-lock-hold is not enforced"));
}

static void test_watchdog__null_is_harmless(void **state)
{
	char why[8] = "same";

	(void)state;
	assert_false(pgw_watchdog_fired(NULL, why, sizeof(why)));
	assert_string_equal(why, "same");
	pgw_watchdog_reset(NULL);
	pgw_watchdog_stop(NULL);
}

static void test_watchdog__stop_is_prompt(void **state)
{
	struct fx *fx = *state;
	double t0;

	start(fx, PQbackendPID(fx->session), 10);
	usleep(150000);
	t0 = fixture_now();
	pgw_watchdog_stop(fx->wd);
	fx->wd = NULL;
	/* no waiting out a poll interval, let alone the limit */
	assert_true(fixture_now() - t0 < 0.5);
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_watchdog__cancels_a_hold_past_the_limit_then_reset),
		T(test_watchdog__short_holds_and_weaker_locks_pass),
		T(test_watchdog__idle_in_transaction_is_terminated),
		T(test_watchdog__unreachable_server_is_a_warning),
		T(test_watchdog__null_is_harmless),
		T(test_watchdog__stop_is_prompt),
	};
#undef T

	return cmocka_run_group_tests(tests, NULL, NULL);
}
