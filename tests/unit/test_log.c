/* test_log.c - the log and progress sinks: messages formatted and handed
 * to the installed sink with its payload, levels below the minimum
 * dropped, nothing sent without a sink, long messages cut safely, and
 * progress reports passed through (from several threads at once). */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "pgward.h"

#define MAX_SEEN 16

/* What a log sink received. */
struct seen {
	int n;
	enum pgw_log_level level[MAX_SEEN];
	char msg[MAX_SEEN][4096];
	size_t len[MAX_SEEN];
};

static void record(enum pgw_log_level level, const char *msg, void *payload)
{
	struct seen *s = payload;

	assert_non_null(s);
	if (s->n < MAX_SEEN) {
		s->level[s->n] = level;
		s->len[s->n] = strlen(msg);
		snprintf(s->msg[s->n], sizeof(s->msg[s->n]), "%s", msg);
	}
	s->n++;
}

/* The sinks are process-wide: every test starts and ends without one. */
static int reset(void **state)
{
	(void)state;
	pgw_log_set_sink(NULL, NULL, PGW_LOG_NOTICE);
	pgw_progress_set_sink(NULL, NULL);
	return 0;
}

static void test_log__delivers_formatted_message(void **state)
{
	struct seen s = { 0 };

	(void)state;
	pgw_log_set_sink(record, &s, PGW_LOG_DEBUG);
	pgw_log(PGW_LOG_NOTICE, "applied %d migration%s in %.1f s: %s", 3, "s",
	        1.25, "001..003");
	assert_int_equal(s.n, 1);
	assert_int_equal(s.level[0], PGW_LOG_NOTICE);
	assert_string_equal(s.msg[0],
	                    "applied 3 migrations in 1.2 s: 001..003");
}

static void test_log__percent_in_arguments_is_not_formatted(void **state)
{
	struct seen s = { 0 };

	(void)state;
	pgw_log_set_sink(record, &s, PGW_LOG_DEBUG);
	pgw_log(PGW_LOG_WARN, "%s", "100%s done %d%%");
	assert_int_equal(s.n, 1);
	assert_string_equal(s.msg[0], "100%s done %d%%");
}

static void test_log__below_minimum_is_dropped(void **state)
{
	struct seen s = { 0 };

	(void)state;
	pgw_log_set_sink(record, &s, PGW_LOG_NOTICE);
	pgw_log(PGW_LOG_DEBUG, "debug");
	pgw_log(PGW_LOG_INFO, "info");
	pgw_log(PGW_LOG_NOTICE, "notice");
	pgw_log(PGW_LOG_WARN, "warn");
	pgw_log(PGW_LOG_ERROR, "error");
	assert_int_equal(s.n, 3);
	assert_string_equal(s.msg[0], "notice");
	assert_int_equal(s.level[0], PGW_LOG_NOTICE);
	assert_string_equal(s.msg[1], "warn");
	assert_int_equal(s.level[1], PGW_LOG_WARN);
	assert_string_equal(s.msg[2], "error");
	assert_int_equal(s.level[2], PGW_LOG_ERROR);
}

static void test_log__minimum_error_keeps_only_errors(void **state)
{
	struct seen s = { 0 };

	(void)state;
	pgw_log_set_sink(record, &s, PGW_LOG_ERROR);
	pgw_log_debug("d");
	pgw_log_info("i");
	pgw_log_notice("n");
	pgw_log_warn("w");
	pgw_log(PGW_LOG_ERROR, "e");
	assert_int_equal(s.n, 1);
	assert_string_equal(s.msg[0], "e");
}

static void test_log__macros_use_their_levels(void **state)
{
	struct seen s = { 0 };

	(void)state;
	pgw_log_set_sink(record, &s, PGW_LOG_DEBUG);
	pgw_log_debug("d %d", 1);
	pgw_log_info("i %d", 2);
	pgw_log_notice("n %d", 3);
	pgw_log_warn("w %d", 4);
	assert_int_equal(s.n, 4);
	assert_int_equal(s.level[0], PGW_LOG_DEBUG);
	assert_string_equal(s.msg[0], "d 1");
	assert_int_equal(s.level[1], PGW_LOG_INFO);
	assert_string_equal(s.msg[1], "i 2");
	assert_int_equal(s.level[2], PGW_LOG_NOTICE);
	assert_string_equal(s.msg[2], "n 3");
	assert_int_equal(s.level[3], PGW_LOG_WARN);
	assert_string_equal(s.msg[3], "w 4");
}

static void test_log__without_sink_nothing_is_sent(void **state)
{
	struct seen s = { 0 };

	(void)state;
	pgw_log_set_sink(record, &s, PGW_LOG_DEBUG);
	pgw_log_notice("one");
	pgw_log_set_sink(NULL, &s, PGW_LOG_DEBUG);
	pgw_log(PGW_LOG_ERROR, "two");
	pgw_log_warn("three");
	assert_int_equal(s.n, 1);
	assert_string_equal(s.msg[0], "one");
}

static void test_log__new_sink_replaces_old(void **state)
{
	struct seen a = { 0 }, b = { 0 };

	(void)state;
	pgw_log_set_sink(record, &a, PGW_LOG_DEBUG);
	pgw_log_info("to a");
	pgw_log_set_sink(record, &b, PGW_LOG_WARN);
	pgw_log_info("dropped: below b's minimum");
	pgw_log_warn("to b");
	assert_int_equal(a.n, 1);
	assert_string_equal(a.msg[0], "to a");
	assert_int_equal(b.n, 1);
	assert_string_equal(b.msg[0], "to b");
}

static void test_log__long_message_is_cut_not_overrun(void **state)
{
	struct seen s = { 0 };
	char *big = malloc(10000);
	size_t i;

	(void)state;
	assert_non_null(big);
	memset(big, 'x', 9999);
	big[9999] = '\0';
	pgw_log_set_sink(record, &s, PGW_LOG_DEBUG);
	pgw_log_notice("<%s>", big);
	free(big);
	assert_int_equal(s.n, 1);
	/* cut to what fits, still a terminated string */
	assert_true(s.len[0] >= 1000);
	assert_true(s.len[0] < 10001);
	assert_int_equal(s.msg[0][0], '<');
	for (i = 1; i < s.len[0]; i++)
		if (s.msg[0][i] != 'x')
			fail_msg("byte %zu is '%c'", i, s.msg[0][i]);
}

static void test_log__empty_message(void **state)
{
	struct seen s = { 0 };

	(void)state;
	pgw_log_set_sink(record, &s, PGW_LOG_DEBUG);
	pgw_log(PGW_LOG_INFO, "%s", "");
	assert_int_equal(s.n, 1);
	assert_string_equal(s.msg[0], "");
}

/* What a progress sink received. */
struct progress_seen {
	pthread_mutex_t mu;
	int n;
	const struct pgw_progress *last;
	char task[32], item[64];
	double done, total, elapsed;
	unsigned long long bytes;
	bool finished;
};

static void progress_record(const struct pgw_progress *p, void *payload)
{
	struct progress_seen *s = payload;

	pthread_mutex_lock(&s->mu);
	s->n++;
	s->last = p;
	snprintf(s->task, sizeof(s->task), "%s", p->task ? p->task : "(null)");
	snprintf(s->item, sizeof(s->item), "%s", p->item ? p->item : "(null)");
	s->done = p->done;
	s->total = p->total;
	s->elapsed = p->elapsed;
	s->bytes = p->bytes;
	s->finished = p->finished;
	pthread_mutex_unlock(&s->mu);
}

static void test_log__progress_reaches_its_sink(void **state)
{
	struct progress_seen s;
	struct pgw_progress p = { "backup", "public.orders", 1500,
		                  10000,    123456789ULL,    2.5,
		                  false };

	(void)state;
	memset(&s, 0, sizeof(s));
	pthread_mutex_init(&s.mu, NULL);
	pgw_progress_set_sink(progress_record, &s);
	pgw_progress_report(&p);
	assert_int_equal(s.n, 1);
	/* the caller's report itself, unchanged */
	assert_ptr_equal(s.last, &p);
	assert_string_equal(s.task, "backup");
	assert_string_equal(s.item, "public.orders");
	assert_true(s.done == 1500);
	assert_true(s.total == 10000);
	assert_true(s.bytes == 123456789ULL);
	assert_true(s.elapsed == 2.5);
	assert_false(s.finished);
	p.finished = true;
	pgw_progress_report(&p);
	assert_int_equal(s.n, 2);
	assert_true(s.finished);
	pthread_mutex_destroy(&s.mu);
}

static void test_log__progress_without_sink_is_dropped(void **state)
{
	struct progress_seen s;
	struct pgw_progress p = { "restore", "t", 1, 0, 0, 0, true };

	(void)state;
	memset(&s, 0, sizeof(s));
	pthread_mutex_init(&s.mu, NULL);
	pgw_progress_set_sink(progress_record, &s);
	pgw_progress_report(&p);
	pgw_progress_set_sink(NULL, &s);
	pgw_progress_report(&p);
	pgw_progress_report(&p);
	assert_int_equal(s.n, 1);
	pthread_mutex_destroy(&s.mu);
}

static void test_log__progress_and_log_sinks_are_separate(void **state)
{
	struct progress_seen ps;
	struct seen ls = { 0 };
	struct pgw_progress p = { "index", "ix", 50, 100, 0, 1, false };

	(void)state;
	memset(&ps, 0, sizeof(ps));
	pthread_mutex_init(&ps.mu, NULL);
	pgw_log_set_sink(record, &ls, PGW_LOG_DEBUG);
	pgw_progress_set_sink(progress_record, &ps);
	pgw_progress_report(&p);
	pgw_log_info("a line");
	assert_int_equal(ps.n, 1);
	assert_int_equal(ls.n, 1);
	pgw_progress_set_sink(NULL, NULL);
	pgw_log_info("still logged");
	assert_int_equal(ls.n, 2);
	pthread_mutex_destroy(&ps.mu);
}

#define THREADS 4
#define REPORTS 2000

static void *reporter(void *arg)
{
	struct pgw_progress p = { "backup", (const char *)arg, 0, REPORTS, 0, 0,
		                  false };
	int i;

	for (i = 0; i < REPORTS; i++) {
		p.done = i + 1;
		p.finished = i + 1 == REPORTS;
		pgw_progress_report(&p);
	}
	return NULL;
}

static void test_log__progress_from_several_threads(void **state)
{
	static const char *const items[THREADS] = { "a", "b", "c", "d" };
	struct progress_seen s;
	pthread_t t[THREADS];
	int i;

	(void)state;
	memset(&s, 0, sizeof(s));
	pthread_mutex_init(&s.mu, NULL);
	pgw_progress_set_sink(progress_record, &s);
	for (i = 0; i < THREADS; i++)
		assert_int_equal(
		        pthread_create(&t[i], NULL, reporter, (void *)items[i]),
		        0);
	for (i = 0; i < THREADS; i++)
		pthread_join(t[i], NULL);
	/* every report of every thread arrived */
	assert_int_equal(s.n, THREADS * REPORTS);
	pthread_mutex_destroy(&s.mu);
}

#define T(f) cmocka_unit_test_setup_teardown(f, reset, reset)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_log__delivers_formatted_message),
		T(test_log__percent_in_arguments_is_not_formatted),
		T(test_log__below_minimum_is_dropped),
		T(test_log__minimum_error_keeps_only_errors),
		T(test_log__macros_use_their_levels),
		T(test_log__without_sink_nothing_is_sent),
		T(test_log__new_sink_replaces_old),
		T(test_log__long_message_is_cut_not_overrun),
		T(test_log__empty_message),
		T(test_log__progress_reaches_its_sink),
		T(test_log__progress_without_sink_is_dropped),
		T(test_log__progress_and_log_sinks_are_separate),
		T(test_log__progress_from_several_threads),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
