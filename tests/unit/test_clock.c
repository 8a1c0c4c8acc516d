/* test_clock.c - the monotonic clock and sleep: seconds as a double that
 * never go back, sleeps that last at least what was asked and not much
 * more, and zero or negative sleeps that return at once; the back-off
 * jitter: in [0, 1), spread out, different in two processes, and leaving
 * the application's rand() sequence alone. */
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "clock.h"

/* The system's own monotonic clock, in seconds, to compare with. */
static double mono(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* How long pgw_clock_sleep(seconds) took, by the system clock. */
static double timed_sleep(double seconds)
{
	double t0 = mono();

	pgw_clock_sleep(seconds);
	return mono() - t0;
}

static void test_clock__now_is_the_monotonic_clock_in_seconds(void **state)
{
	double before, now, after;

	(void)state;
	before = mono();
	now = pgw_clock_now();
	after = mono();
	/* same clock, same unit: between two readings of CLOCK_MONOTONIC */
	if (now < before || now > after)
		fail_msg("pgw_clock_now() %.9f outside [%.9f, %.9f]", now,
		         before, after);
}

static void test_clock__now_never_goes_back(void **state)
{
	double prev, now;
	int i;

	(void)state;
	prev = pgw_clock_now();
	for (i = 0; i < 100000; i++) {
		now = pgw_clock_now();
		if (now < prev)
			fail_msg("clock went back at call %d: %.9f after %.9f",
			         i, now, prev);
		prev = now;
	}
}

static void test_clock__now_has_sub_millisecond_resolution(void **state)
{
	double t0, t1, best = 1.0;
	int round, i;

	(void)state;
	/* a whole-second (or millisecond) clock shows no change over a
	 * sub-millisecond busy loop; nanoseconds do.  The smallest step of
	 * a few tries, so one preemption does not count. */
	for (round = 0; round < 20; round++) {
		t0 = t1 = pgw_clock_now();
		for (i = 0; i < 1000000 && t1 <= t0; i++)
			t1 = pgw_clock_now();
		assert_true(t1 > t0);
		if (t1 - t0 < best)
			best = t1 - t0;
	}
	if (best >= 0.001)
		fail_msg("smallest step of the clock: %.9f s", best);
}

static void test_clock__now_measures_a_sleep(void **state)
{
	struct timespec ts = { 0, 100 * 1000 * 1000 }; /* 0.1 s */
	double t0, d;

	(void)state;
	t0 = pgw_clock_now();
	nanosleep(&ts, NULL);
	d = pgw_clock_now() - t0;
	if (d < 0.1 || d > 2.0)
		fail_msg("0.1 s measured as %.6f s", d);
}

static void test_clock__sleep_fraction(void **state)
{
	double d;

	(void)state;
	d = timed_sleep(0.15);
	if (d < 0.15 || d > 2.0)
		fail_msg("sleep(0.15) took %.6f s", d);
}

static void test_clock__sleep_whole_and_fraction(void **state)
{
	double d;

	(void)state;
	/* whole seconds and the fraction both count */
	d = timed_sleep(1.25);
	if (d < 1.25 || d > 3.0)
		fail_msg("sleep(1.25) took %.6f s", d);
}

static void test_clock__sleep_tiny(void **state)
{
	double d;

	(void)state;
	d = timed_sleep(0.0005);
	if (d < 0.0005 || d > 0.5)
		fail_msg("sleep(0.0005) took %.6f s", d);
}

static void test_clock__sleep_zero_or_negative_returns_at_once(void **state)
{
	double d;

	(void)state;
	d = timed_sleep(0);
	if (d > 0.2)
		fail_msg("sleep(0) took %.6f s", d);
	d = timed_sleep(-1);
	if (d > 0.2)
		fail_msg("sleep(-1) took %.6f s", d);
	d = timed_sleep(-0.5);
	if (d > 0.2)
		fail_msg("sleep(-0.5) took %.6f s", d);
}

static void test_clock__sleep_agrees_with_now(void **state)
{
	double t0, d;

	(void)state;
	t0 = pgw_clock_now();
	pgw_clock_sleep(0.2);
	d = pgw_clock_now() - t0;
	if (d < 0.2 || d > 2.0)
		fail_msg("sleep(0.2) measured by pgw_clock_now as %.6f s", d);
}

static void test_clock__jitter_in_range_and_spread(void **state)
{
	int buckets[10] = { 0 }, i;

	(void)state;
	for (i = 0; i < 10000; i++) {
		double j = pgw_clock_jitter();

		if (j < 0 || j >= 1)
			fail_msg("jitter %f outside [0, 1)", j);
		buckets[(int)(j * 10)]++;
	}
	/* 1,000 expected in each tenth */
	for (i = 0; i < 10; i++)
		if (buckets[i] < 800 || buckets[i] > 1200)
			fail_msg("tenth %d got %d of 10,000 draws", i, buckets[i]);
}

/* Two processes started together (a fork: same time, same state so far)
 * draw different sequences: they do not retry in step. */
static void test_clock__jitter_differs_between_processes(void **state)
{
	int fd[2], status;
	double mine[4], theirs[4];
	pid_t pid;
	int i, same = 0;

	(void)state;
	assert_int_equal(pipe(fd), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		for (i = 0; i < 4; i++)
			theirs[i] = pgw_clock_jitter();
		_exit(write(fd[1], theirs, sizeof(theirs)) == (ssize_t)sizeof(theirs) ? 0 : 1);
	}
	for (i = 0; i < 4; i++)
		mine[i] = pgw_clock_jitter();
	assert_int_equal(read(fd[0], theirs, sizeof(theirs)), (int)sizeof(theirs));
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	close(fd[0]);
	close(fd[1]);
	for (i = 0; i < 4; i++)
		same += mine[i] == theirs[i];
	assert_int_equal(same, 0);
}

/* The application's own rand() sequence is not consumed by pgward. */
static void test_clock__jitter_leaves_rand_alone(void **state)
{
	int expected[5], got[5], i;

	(void)state;
	srand(42);
	for (i = 0; i < 5; i++)
		expected[i] = rand();
	srand(42);
	for (i = 0; i < 5; i++) {
		pgw_clock_jitter();
		got[i] = rand();
	}
	assert_memory_equal(expected, got, sizeof(expected));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(
		        test_clock__now_is_the_monotonic_clock_in_seconds),
		cmocka_unit_test(test_clock__now_never_goes_back),
		cmocka_unit_test(
		        test_clock__now_has_sub_millisecond_resolution),
		cmocka_unit_test(test_clock__now_measures_a_sleep),
		cmocka_unit_test(test_clock__sleep_fraction),
		cmocka_unit_test(test_clock__sleep_whole_and_fraction),
		cmocka_unit_test(test_clock__sleep_tiny),
		cmocka_unit_test(
		        test_clock__sleep_zero_or_negative_returns_at_once),
		cmocka_unit_test(test_clock__sleep_agrees_with_now),
		cmocka_unit_test(test_clock__jitter_in_range_and_spread),
		cmocka_unit_test(test_clock__jitter_differs_between_processes),
		cmocka_unit_test(test_clock__jitter_leaves_rand_alone),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
