/* test_interrupt.c - what an interrupt does: pgw_interrupted() turns true
 * (and stays true: nothing new may start), and the statement running on
 * the watched connection is cancelled on the server at once, whether
 * pgw_interrupt() is called from another thread or from a signal handler.
 * Without a watched connection pgw_interrupt() says so (false) and
 * cancels nothing.
 *
 * The "requested" flag cannot be reset, so the first test is the only one
 * that sees it false: the tests run in the order listed. */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "fixture.h"
#include "fixture_pg.h"
#include "interrupt.h"
#include "pgward.h"

#define DB "pgw_unit_interrupt"

struct fx {
	char *conninfo;
	PGconn *c, *c2;
};

static int setup(void **state)
{
	struct fx *fx = calloc(1, sizeof(*fx));

	if (!fx)
		return -1;
	fx->c = fixture_pg_open(DB, &fx->conninfo);
	if (fx->c)
		fx->c2 = fixture_pg_connect(fx->conninfo);
	if (!fx->c2) {
		fixture_pg_close(DB, fx->conninfo, fx->c);
		free(fx);
		return -1;
	}
	*state = fx;
	return 0;
}

static int teardown(void **state)
{
	struct fx *fx = *state;

	pgw_interrupt_watch(NULL);
	PQfinish(fx->c2);
	fixture_pg_close(DB, fx->conninfo, fx->c);
	free(fx);
	return 0;
}

static void nap(double s)
{
	struct timespec ts;

	ts.tv_sec = (time_t)s;
	ts.tv_nsec = (long)((s - (double)ts.tv_sec) * 1e9);
	nanosleep(&ts, NULL);
}

/* How a statement sent with PQsendQuery ended. */
struct ending {
	bool ok;          /* it succeeded */
	char sqlstate[6]; /* else its SQLSTATE */
	double seconds;   /* from the send to the end */
};

static void finish(struct ending *e, PGconn *c, double t0)
{
	PGresult *res;

	memset(e, 0, sizeof(*e));
	e->ok = true;
	while ((res = PQgetResult(c))) {
		if (PQresultStatus(res) != PGRES_TUPLES_OK &&
		    PQresultStatus(res) != PGRES_COMMAND_OK) {
			const char *st =
			        PQresultErrorField(res, PG_DIAG_SQLSTATE);

			e->ok = false;
			snprintf(e->sqlstate, sizeof(e->sqlstate), "%s",
			         st ? st : "");
		}
		PQclear(res);
	}
	e->seconds = fixture_now() - t0;
}

/* pgw_interrupt() from another thread after `delay` seconds. */
struct interrupter {
	pthread_t thread;
	double delay;
	bool returned;
	pthread_t signal_to; /* with use_signal: pthread_kill(SIGUSR1) */
	bool use_signal;
};

static void *interrupt_later(void *arg)
{
	struct interrupter *in = arg;

	nap(in->delay);
	if (in->use_signal)
		pthread_kill(in->signal_to, SIGUSR1);
	else
		in->returned = pgw_interrupt();
	return NULL;
}

static void start_interrupter(struct interrupter *in, double delay)
{
	memset(in, 0, sizeof(*in));
	in->delay = delay;
	assert_int_equal(pthread_create(&in->thread, NULL, interrupt_later, in),
	                 0);
}

static void send_query(PGconn *c, const char *sql)
{
	if (!PQsendQuery(c, sql))
		fail_msg("%s: %s", sql, PQerrorMessage(c));
}

/* The connection still answers. */
static void assert_usable(PGconn *c)
{
	PGresult *res = PQexec(c, "SELECT 41 + 1");

	assert_int_equal(PQresultStatus(res), PGRES_TUPLES_OK);
	assert_string_equal(PQgetvalue(res, 0, 0), "42");
	PQclear(res);
}

static void test_interrupt__flag_is_set_even_with_nothing_watched(void **state)
{
	(void)state;
	assert_false(pgw_interrupted());
	assert_false(pgw_interrupted());
	pgw_interrupt_watch(NULL);
	/* nothing running that needs a clean stop: false, but requested */
	assert_false(pgw_interrupt());
	assert_true(pgw_interrupted());
	/* and it stays so */
	assert_true(pgw_interrupted());
}

static void test_interrupt__cancels_watched_statement(void **state)
{
	struct fx *fx = *state;
	struct interrupter in;
	struct ending e;
	double t0;

	pgw_interrupt_watch(fx->c);
	t0 = fixture_now();
	send_query(fx->c, "SELECT pg_sleep(30)");
	start_interrupter(&in, 0.3);
	finish(&e, fx->c, t0);
	pthread_join(in.thread, NULL);
	/* something was watched: true */
	assert_true(in.returned);
	assert_true(pgw_interrupted());
	assert_false(e.ok);
	assert_string_equal(e.sqlstate, "57014"); /* query_canceled */
	if (e.seconds < 0.3 || e.seconds > 10)
		fail_msg("cancelled after %.3f s", e.seconds);
	/* only the statement: the connection goes on */
	assert_usable(fx->c);
}

static void test_interrupt__transaction_is_left_failed(void **state)
{
	struct fx *fx = *state;
	struct interrupter in;
	struct ending e;
	PGresult *res;
	double t0;

	res = PQexec(fx->c, "CREATE TABLE t (id int)");
	PQclear(res);
	pgw_interrupt_watch(fx->c);
	t0 = fixture_now();
	send_query(fx->c,
	           "BEGIN; INSERT INTO t VALUES (1); SELECT pg_sleep(30)");
	start_interrupter(&in, 0.3);
	finish(&e, fx->c, t0);
	pthread_join(in.thread, NULL);
	assert_string_equal(e.sqlstate, "57014");
	assert_true(e.seconds < 10);
	/* the transaction can only roll back, and the row goes with it */
	assert_int_equal(PQtransactionStatus(fx->c), PQTRANS_INERROR);
	res = PQexec(fx->c, "ROLLBACK");
	PQclear(res);
	res = PQexec(fx->c, "SELECT count(*) FROM t");
	assert_string_equal(PQgetvalue(res, 0, 0), "0");
	PQclear(res);
}

static void test_interrupt__unwatched_statement_runs_on(void **state)
{
	struct fx *fx = *state;
	struct interrupter in;
	struct ending e;
	double t0;

	/* watched, then no longer */
	pgw_interrupt_watch(fx->c);
	pgw_interrupt_watch(NULL);
	t0 = fixture_now();
	send_query(fx->c, "SELECT pg_sleep(1)");
	start_interrupter(&in, 0.2);
	finish(&e, fx->c, t0);
	pthread_join(in.thread, NULL);
	assert_false(in.returned);
	assert_true(e.ok);
	assert_true(e.seconds >= 1.0);
}

static void test_interrupt__only_the_last_watched_is_cancelled(void **state)
{
	struct fx *fx = *state;
	struct interrupter in;
	struct ending e1, e2;
	double t0;

	pgw_interrupt_watch(fx->c);
	pgw_interrupt_watch(fx->c2);
	t0 = fixture_now();
	send_query(fx->c, "SELECT pg_sleep(1.5)");
	send_query(fx->c2, "SELECT pg_sleep(30)");
	start_interrupter(&in, 0.3);
	finish(&e2, fx->c2, t0);
	finish(&e1, fx->c, t0);
	pthread_join(in.thread, NULL);
	assert_true(in.returned);
	assert_false(e2.ok);
	assert_string_equal(e2.sqlstate, "57014");
	assert_true(e2.seconds < 10);
	/* the one watched before ran to its end */
	assert_true(e1.ok);
	assert_true(e1.seconds >= 1.5);
}

static void test_interrupt__idle_connection_is_not_harmed(void **state)
{
	struct fx *fx = *state;

	pgw_interrupt_watch(fx->c);
	/* nothing running: the cancel finds nothing to cancel */
	assert_true(pgw_interrupt());
	nap(0.2);
	assert_usable(fx->c);
	assert_usable(fx->c);
}

static void on_usr1(int sig)
{
	(void)sig;
	pgw_interrupt();
}

static void test_interrupt__from_a_signal_handler(void **state)
{
	struct fx *fx = *state;
	struct sigaction sa, old;
	struct interrupter in;
	struct ending e;
	double t0;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_usr1;
	sigemptyset(&sa.sa_mask);
	assert_int_equal(sigaction(SIGUSR1, &sa, &old), 0);
	pgw_interrupt_watch(fx->c);
	t0 = fixture_now();
	send_query(fx->c, "SELECT pg_sleep(30)");
	/* the signal arrives while this thread waits for the result */
	memset(&in, 0, sizeof(in));
	in.delay = 0.3;
	in.use_signal = true;
	in.signal_to = pthread_self();
	assert_int_equal(pthread_create(&in.thread, NULL, interrupt_later, &in),
	                 0);
	finish(&e, fx->c, t0);
	pthread_join(in.thread, NULL);
	sigaction(SIGUSR1, &old, NULL);
	assert_false(e.ok);
	assert_string_equal(e.sqlstate, "57014");
	if (e.seconds > 10)
		fail_msg("cancelled after %.3f s", e.seconds);
	assert_usable(fx->c);
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		/* first: the only one that sees no interrupt yet */
		cmocka_unit_test(
		        test_interrupt__flag_is_set_even_with_nothing_watched),
		T(test_interrupt__cancels_watched_statement),
		T(test_interrupt__transaction_is_left_failed),
		T(test_interrupt__unwatched_statement_runs_on),
		T(test_interrupt__only_the_last_watched_is_cancelled),
		T(test_interrupt__idle_connection_is_not_harmed),
		T(test_interrupt__from_a_signal_handler),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
