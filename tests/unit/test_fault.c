/* test_fault.c - fault points (PGWARD_FAULT=NAME or NAME:N).  In a build
 * with -DPGW_FAULTS (the sanitizer build) the named point kills the
 * process with SIGKILL, the Nth time with NAME:N, and every other point
 * lets it run on; in any other build pgw_fault() is nothing at all, not
 * even its argument is evaluated.  Each case runs in a child process. */
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "fault.h"

/* How a child ended and what it wrote to stderr. */
struct outcome {
	bool killed;    /* by SIGKILL */
	int exit_code;  /* when it exited */
	int reached;    /* how many points it got past (exit code) */
	char err[1024]; /* its stderr */
};

/* In a child: PGWARD_FAULT=want (NULL: unset), then pass `point` `times`
 * times; the child exits with the number of points it got past. */
static void run_child(struct outcome *o, const char *want, const char *point,
                      int times)
{
	int fds[2], status, i;
	pid_t pid;
	ssize_t got;
	size_t len = 0;

	(void)point; /* unused where pgw_fault() is nothing */
	memset(o, 0, sizeof(*o));
	assert_int_equal(pipe(fds), 0);
	fflush(NULL);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		close(fds[0]);
		dup2(fds[1], 2);
		close(fds[1]);
		if (want)
			setenv("PGWARD_FAULT", want, 1);
		else
			unsetenv("PGWARD_FAULT");
		for (i = 0; i < times; i++)
			pgw_fault(point);
		_exit(i);
	}
	close(fds[1]);
	while ((got = read(fds[0], o->err + len, sizeof(o->err) - 1 - len)) > 0)
		len += (size_t)got;
	o->err[len] = '\0';
	close(fds[0]);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	if (WIFSIGNALED(status)) {
		assert_int_equal(WTERMSIG(status), SIGKILL);
		o->killed = true;
	} else {
		assert_true(WIFEXITED(status));
		o->exit_code = WEXITSTATUS(status);
		o->reached = o->exit_code;
	}
}

/* The child passed all `times` points and said nothing. */
static void assert_survived(const struct outcome *o, int times)
{
	if (o->killed)
		fail_msg("killed at a point that is not the one named: %s",
		         o->err);
	assert_int_equal(o->reached, times);
	assert_string_equal(o->err, "");
}

static void test_fault__unset_is_a_no_op(void **state)
{
	struct outcome o;

	(void)state;
	run_child(&o, NULL, "backup-done", 3);
	assert_survived(&o, 3);
}

static void test_fault__other_point_is_a_no_op(void **state)
{
	struct outcome o;

	(void)state;
	run_child(&o, "verify", "backup-done", 3);
	assert_survived(&o, 3);
	run_child(&o, "verify:1", "backup-done", 3);
	assert_survived(&o, 3);
	run_child(&o, "", "backup-done", 3);
	assert_survived(&o, 3);
}

static void test_fault__prefix_or_longer_name_is_a_no_op(void **state)
{
	struct outcome o;

	(void)state;
	/* the whole name, nothing more and nothing less */
	run_child(&o, "deploy", "deploy-locked", 2);
	assert_survived(&o, 2);
	run_child(&o, "deploy-locked-x", "deploy-locked", 2);
	assert_survived(&o, 2);
	run_child(&o, "deploy-lockedx:1", "deploy-locked", 2);
	assert_survived(&o, 2);
	run_child(&o, "DEPLOY-LOCKED", "deploy-locked", 2);
	assert_survived(&o, 2);
}

#ifdef PGW_FAULTS

static void test_fault__named_point_kills(void **state)
{
	struct outcome o;

	(void)state;
	run_child(&o, "verify", "verify", 1);
	assert_true(o.killed);
	assert_non_null(strstr(o.err, "fault point 'verify'"));
}

static void test_fault__nth_pass_kills(void **state)
{
	struct outcome o;

	(void)state;
	/* passes twice, dies at the third */
	run_child(&o, "restore-table:3", "restore-table", 2);
	assert_survived(&o, 2);
	run_child(&o, "restore-table:3", "restore-table", 3);
	assert_true(o.killed);
	assert_non_null(strstr(o.err, "fault point 'restore-table'"));
	run_child(&o, "restore-table:3", "restore-table", 10);
	assert_true(o.killed);
}

static void test_fault__first_pass_with_1(void **state)
{
	struct outcome o;

	(void)state;
	run_child(&o, "notify:1", "notify", 5);
	assert_true(o.killed);
}

#else

static int evaluated;

static const char *point_name(void)
{
	evaluated++;
	return "verify";
}

static void test_fault__named_point_is_a_no_op_here(void **state)
{
	struct outcome o;

	(void)state;
	/* without PGW_FAULTS even the named point lets the run go on */
	run_child(&o, "verify", "verify", 3);
	assert_survived(&o, 3);
	run_child(&o, "verify:2", "verify", 3);
	assert_survived(&o, 3);
}

static void test_fault__argument_not_evaluated_here(void **state)
{
	const char *(*name)(void) = point_name;

	(void)state;
	(void)name;
	evaluated = 0;
	pgw_fault(name());
	pgw_fault(name());
	assert_int_equal(evaluated, 0);
	/* and the counting itself works */
	assert_string_equal(name(), "verify");
	assert_int_equal(evaluated, 1);
}

#endif

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fault__unset_is_a_no_op),
		cmocka_unit_test(test_fault__other_point_is_a_no_op),
		cmocka_unit_test(test_fault__prefix_or_longer_name_is_a_no_op),
#ifdef PGW_FAULTS
		cmocka_unit_test(test_fault__named_point_kills),
		cmocka_unit_test(test_fault__nth_pass_kills),
		cmocka_unit_test(test_fault__first_pass_with_1),
#else
		cmocka_unit_test(test_fault__named_point_is_a_no_op_here),
		cmocka_unit_test(test_fault__argument_not_evaluated_here),
#endif
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
