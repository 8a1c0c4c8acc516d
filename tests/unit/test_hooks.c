/* test_hooks.c - deploy hooks run for real from a temp hooks dir: exit
 * status and signals, output to the log line by line, the environment
 * (pgward's variables, secrets removed, URLs redacted, stale values
 * unset), stdin, the process group, the time limit (SIGTERM, then
 * SIGKILL), refused hooks, scripts without or with a broken #! line, and
 * a background process left holding the output. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "fixture.h"
#include "fixture_log.h"
#include "hooks.h"
#include "pgward.h"

struct fx {
	char *dir;      /* the hooks dir */
	char out[4096]; /* a file hooks write to: $PGW_TEST_OUT */
	struct pgw_err err;
};

static int setup(void **state)
{
	struct fx *fx = calloc(1, sizeof(*fx));

	if (!fx || !(fx->dir = fixture_mkdtemp())) {
		free(fx);
		return -1;
	}
	chmod(fx->dir, 0755);
	snprintf(fx->out, sizeof(fx->out), "%s/out.txt", fx->dir);
	setenv("PGW_TEST_OUT", fx->out, 1);
	fixture_log_capture(true);
	*state = fx;
	return 0;
}

static int teardown(void **state)
{
	struct fx *fx = *state;

	fixture_log_reset();
	unsetenv("PGW_TEST_OUT");
	fixture_rmdtemp(fx->dir);
	free(fx);
	return 0;
}

static void write_hook_mode(struct fx *fx, const char *name, const char *text,
                            mode_t mode)
{
	char path[4096];

	fixture_put(fx->dir, name, text);
	snprintf(path, sizeof(path), "%s/%s", fx->dir, name);
	assert_int_equal(chmod(path, mode), 0);
}

static void write_hook(struct fx *fx, const char *name, const char *text)
{
	write_hook_mode(fx, name, text, 0755);
}

/* The file the hook wrote (a static buffer; "" when none). */
static const char *out_text(struct fx *fx)
{
	static char text[65536];
	FILE *f = fopen(fx->out, "r");
	size_t n = 0;

	text[0] = '\0';
	if (f) {
		n = fread(text, 1, sizeof(text) - 1, f);
		fclose(f);
	}
	text[n] = '\0';
	return text;
}

/* Is `line` a whole line of text? */
static bool has_line(const char *text, const char *line)
{
	size_t n = strlen(line);
	const char *p = text;

	while ((p = strstr(p, line))) {
		if ((p == text || p[-1] == '\n') && (p[n] == '\n' || !p[n]))
			return true;
		p += n;
	}
	return false;
}

/* How many lines of text start with `prefix`? */
static int lines_starting(const char *text, const char *prefix)
{
	size_t n = strlen(prefix);
	const char *p = text;
	int count = 0;

	while (p && *p) {
		if (strncmp(p, prefix, n) == 0)
			count++;
		p = strchr(p, '\n');
		if (p)
			p++;
	}
	return count;
}

/* Is process `pid` gone (or a zombie)? */
static bool process_gone(long pid)
{
	char path[64], stat[512], *p;
	FILE *f;
	size_t n;

	if (kill((pid_t)pid, 0) != 0 && errno == ESRCH)
		return true;
	snprintf(path, sizeof(path), "/proc/%ld/stat", pid);
	f = fopen(path, "r");
	if (!f)
		return true;
	n = fread(stat, 1, sizeof(stat) - 1, f);
	fclose(f);
	stat[n] = '\0';
	p = strrchr(stat, ')');
	return p && (p[2] == 'Z' || p[2] == 'X');
}

/* pgw_hook_run of hook `name` with a time limit of timeout_s; how long it
 * took into *took. */
static int run_timed(struct fx *fx, const char *name, int timeout_s,
                     double *took)
{
	double t0 = fixture_now();
	int rc = pgw_hook_run(fx->dir, name, NULL, timeout_s, &fx->err);

	*took = fixture_now() - t0;
	return rc;
}

/* ---- runs -----------------------------------------------------------------
 */

static void test_hooks__nothing_to_run(void **state)
{
	struct fx *fx = *state;

	assert_int_equal(pgw_hook_run(NULL, "pre-backup", NULL, 5, &fx->err),
	                 0);
	assert_int_equal(pgw_hook_run("", "pre-backup", NULL, 5, &fx->err), 0);
	assert_int_equal(pgw_hook_run(fx->dir, "pre-backup", NULL, 5, &fx->err),
	                 0);
	assert_int_equal(pgw_hook_run("/nonexistent/hooks", "pre-backup", NULL,
	                              5, &fx->err),
	                 0);
	assert_int_equal(fx->err.code, 0);
	assert_false(pgw_hook_exists(NULL, "pre-backup"));
	assert_false(pgw_hook_exists(fx->dir, "pre-backup"));
}

static void test_hooks__bad_names(void **state)
{
	struct fx *fx = *state;
	static const char *const bad[] = { "", ".", "..", "a/b", "../x" };
	size_t i;

	/* a name is checked even without a hooks dir */
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		pgw_err_clear(&fx->err);
		assert_int_equal(
		        pgw_hook_run(fx->dir, bad[i], NULL, 5, &fx->err),
		        PGW_EINVAL);
		assert_non_null(strstr(fx->err.msg, "is not a hook name"));
		assert_false(pgw_hook_exists(fx->dir, bad[i]));
	}
	pgw_err_clear(&fx->err);
	assert_int_equal(pgw_hook_run(NULL, NULL, NULL, 5, &fx->err),
	                 PGW_EINVAL);
}

static void test_hooks__success_and_output_logged(void **state)
{
	struct fx *fx = *state;
	int rc;

	write_hook(fx, "post-verify",
	           "#!/bin/sh\n"
	           "echo 'to stdout'\n"
	           "echo 'to stderr' >&2\n"
	           "printf 'bell\\007 and tab\\t end\\r\\n'\n"
	           "printf 'no newline at the end'\n");
	assert_true(pgw_hook_exists(fx->dir, "post-verify"));
	rc = pgw_hook_run(fx->dir, "post-verify", NULL, 5, &fx->err);
	assert_int_equal(rc, 0);
	assert_true(
	        has_line(fixture_log_text(), "hook post-verify: to stdout"));
	assert_true(
	        has_line(fixture_log_text(), "hook post-verify: to stderr"));
	/* control characters shown as '?', a tab kept, CR dropped */
	assert_true(has_line(fixture_log_text(),
	                     "hook post-verify: bell? and tab\t end"));
	assert_true(has_line(fixture_log_text(),
	                     "hook post-verify: no newline at the end"));
	assert_non_null(
	        strstr(fixture_log_text(), "hook post-verify finished in"));
}

static void test_hooks__long_lines_in_pieces(void **state)
{
	struct fx *fx = *state;
	char want[1100];
	int rc;

	write_hook(
	        fx, "long",
	        "#!/bin/sh\n"
	        "i=0; while [ $i -lt 1100 ]; do printf x; i=$((i+1)); done; echo\n");
	rc = pgw_hook_run(fx->dir, "long", NULL, 5, &fx->err);
	assert_int_equal(rc, 0);
	memset(want, 'x', 1024);
	strcpy(want + 1024, "");
	{
		char line[1200];

		snprintf(line, sizeof(line), "hook long: %s", want);
		assert_true(has_line(fixture_log_text(), line));
		memset(want, 'x', 76);
		want[76] = '\0';
		snprintf(line, sizeof(line), "hook long: %s", want);
		assert_true(has_line(fixture_log_text(), line));
	}
}

static void test_hooks__exit_status(void **state)
{
	struct fx *fx = *state;
	int rc;

	write_hook(
	        fx, "pre-migrate",
	        "#!/bin/sh\necho 'first line'\necho 'health check failed'\n\nexit 3\n");
	rc = pgw_hook_run(fx->dir, "pre-migrate", NULL, 5, &fx->err);
	assert_int_equal(rc, PGW_EFAILED);
	assert_string_equal(fx->err.msg,
	                    "hook 'pre-migrate' failed: exit status 3");
	/* the last non-empty line */
	assert_string_equal(fx->err.detail,
	                    "its last output line: health check failed");
}

static void test_hooks__killed_by_a_signal(void **state)
{
	struct fx *fx = *state;
	int rc;

	write_hook(fx, "on-failure", "#!/bin/sh\nkill -USR1 $$\nsleep 5\n");
	rc = pgw_hook_run(fx->dir, "on-failure", NULL, 5, &fx->err);
	assert_int_equal(rc, PGW_EFAILED);
	assert_string_equal(
	        fx->err.msg,
	        "hook 'on-failure' was killed by SIGUSR1 (signal 10)");
}

static void test_hooks__environment(void **state)
{
	struct fx *fx = *state;
	struct pgw_hook_env env = PGW_HOOK_ENV_INIT;
	const char *text;
	int rc;

	write_hook(fx, "pre-backup", "#!/bin/sh\nenv > \"$PGW_TEST_OUT\"\n");
	/* secrets and stale values in pgward's own environment */
	setenv("PGPASSWORD", "pw-secret-1", 1);
	setenv("PGWARD_NOTIFY_SECRET", "hmac-secret-2", 1);
	setenv("PGWARD_NOTIFY_URL", "https://hooks.example/token-3", 1);
	setenv("PGWARD_BACKUP", "/stale/backup.tar.zst", 1);
	setenv("PGWARD_DIRECT_URL",
	       "postgres://app:direct-secret-4@db:5432/prod", 1);
	setenv("DATABASE_URL", "postgres://app:inherited-secret-5@db/prod", 1);
	setenv("APP_HEALTH_URL", "http://app/health", 1);
	env.deploy_id = "20261125T133500Z-4f2a";
	env.from = "002";
	env.to = "005";
	env.stage = "backup";
	env.database_url = "postgres://app:given-secret-6@db/prod";
	env.writes_stopped_file = "/tmp/stopped";
	rc = pgw_hook_run(fx->dir, "pre-backup", &env, 5, &fx->err);
	unsetenv("PGPASSWORD");
	unsetenv("PGWARD_NOTIFY_SECRET");
	unsetenv("PGWARD_NOTIFY_URL");
	unsetenv("PGWARD_BACKUP");
	unsetenv("PGWARD_DIRECT_URL");
	unsetenv("DATABASE_URL");
	unsetenv("APP_HEALTH_URL");
	assert_int_equal(rc, 0);
	text = out_text(fx);
	assert_true(has_line(text, "PGWARD_HOOK=pre-backup"));
	assert_true(has_line(text, "PGWARD_DEPLOY_ID=20261125T133500Z-4f2a"));
	assert_true(has_line(text, "PGWARD_FROM=002"));
	assert_true(has_line(text, "PGWARD_TO=005"));
	assert_true(has_line(text, "PGWARD_STAGE=backup"));
	assert_true(has_line(text, "PGWARD_WRITES_STOPPED_FILE=/tmp/stopped"));
	/* the URL given, redacted; the inherited one not shown at all */
	assert_true(has_line(text, "DATABASE_URL=postgres://app:***@db/prod"));
	assert_true(has_line(
	        text, "PGWARD_DIRECT_URL=postgres://app:***@db:5432/prod"));
	/* the user's own variables pass */
	assert_true(has_line(text, "APP_HEALTH_URL=http://app/health"));
	/* no secret at all, and no stale PGWARD_BACKUP */
	assert_null(strstr(text, "secret"));
	assert_null(strstr(text, "token-3"));
	assert_null(strstr(text, "PGPASSWORD"));
	assert_null(strstr(text, "PGWARD_NOTIFY"));
	assert_null(strstr(text, "PGWARD_BACKUP"));
	/* the given URL replaced the inherited one: one line of it */
	assert_int_equal(lines_starting(text, "DATABASE_URL="), 1);
}

static void test_hooks__inherited_database_url_redacted(void **state)
{
	struct fx *fx = *state;
	const char *text;
	int rc;

	write_hook(fx, "post-migrate", "#!/bin/sh\nenv > \"$PGW_TEST_OUT\"\n");
	setenv("DATABASE_URL",
	       "host=db dbname=prod user=app password=kv-secret", 1);
	setenv("PGWARD_FROM", "stale", 1);
	rc = pgw_hook_run(fx->dir, "post-migrate", NULL, 5, &fx->err);
	unsetenv("DATABASE_URL");
	unsetenv("PGWARD_FROM");
	assert_int_equal(rc, 0);
	text = out_text(fx);
	assert_true(has_line(text, "PGWARD_HOOK=post-migrate"));
	assert_non_null(strstr(text, "DATABASE_URL="));
	assert_non_null(strstr(text, "password=***"));
	assert_null(strstr(text, "kv-secret"));
	/* nothing given: unset, even when inherited */
	assert_null(strstr(text, "PGWARD_FROM"));
	assert_null(strstr(text, "PGWARD_DEPLOY_ID"));
}

static void test_hooks__stdin_and_process_group(void **state)
{
	struct fx *fx = *state;
	long pid = 0, pgid = -1;
	int rc;

	write_hook(
	        fx, "check",
	        "#!/bin/sh\n"
	        "if read x; then echo stdin-has-data; else echo stdin-empty; fi\n"
	        "echo \"$$ $(awk '{print $5}' /proc/$$/stat)\" > \"$PGW_TEST_OUT\"\n");
	rc = pgw_hook_run(fx->dir, "check", NULL, 5, &fx->err);
	assert_int_equal(rc, 0);
	assert_true(has_line(fixture_log_text(), "hook check: stdin-empty"));
	assert_int_equal(sscanf(out_text(fx), "%ld %ld", &pid, &pgid), 2);
	/* the leader of a group of its own */
	assert_true(pid > 0);
	assert_int_equal(pid, pgid);
	assert_int_not_equal(pgid, (long)getpgrp());
}

static void test_hooks__time_limit_kills_the_group(void **state)
{
	struct fx *fx = *state;
	long child = 0;
	double took;
	int rc;

	/* a child of the hook in its group, then a long wait */
	write_hook(fx, "slow",
	           "#!/bin/sh\n"
	           "sleep 30 &\n"
	           "echo $! > \"$PGW_TEST_OUT\"\n"
	           "echo started\n"
	           "wait\n");
	rc = run_timed(fx, "slow", 1, &took);
	assert_int_equal(rc, PGW_EFAILED);
	assert_string_equal(fx->err.msg,
	                    "hook 'slow' timed out after 1 s and was killed");
	assert_string_equal(fx->err.detail, "its last output line: started");
	assert_true(took >= 0.9);
	assert_true(took < 3);
	assert_int_equal(sscanf(out_text(fx), "%ld", &child), 1);
	assert_true(process_gone(child));
}

static void test_hooks__term_ignored_gets_sigkill(void **state)
{
	struct fx *fx = *state;
	double took;
	int rc;

	write_hook(fx, "stubborn",
	           "#!/bin/sh\ntrap '' TERM\necho waiting\nsleep 30\n");
	rc = run_timed(fx, "stubborn", 1, &took);
	assert_int_equal(rc, PGW_EFAILED);
	assert_non_null(strstr(fx->err.msg, "timed out after 1 s"));
	/* SIGTERM at 1 s, SIGKILL 2 s later */
	assert_true(took >= 2.8);
	assert_true(took < 5);
}

static void test_hooks__background_process_holding_output(void **state)
{
	struct fx *fx = *state;
	long child = 0;
	double took;
	int rc;

	write_hook(fx, "leaves-one",
	           "#!/bin/sh\n"
	           "sleep 20 &\n"
	           "echo $! > \"$PGW_TEST_OUT\"\n"
	           "exit 0\n");
	rc = run_timed(fx, "leaves-one", 10, &took);
	assert_int_equal(sscanf(out_text(fx), "%ld", &child), 1);
	kill((pid_t)child, SIGKILL);
	/* not waited for: about a second, then a warning */
	assert_int_equal(rc, 0);
	assert_true(took < 3);
	assert_non_null(strstr(
	        fixture_log_text(),
	        "W: hook leaves-one: exited, but a process it started still holds its output open"));
}

/* ---- refused hooks, interpreters --------------------------------------------
 */

static void test_hooks__refused_hooks(void **state)
{
	struct fx *fx = *state;
	char path[4096];

	/* not executable */
	write_hook_mode(fx, "not-exec", "#!/bin/sh\ntouch \"$PGW_TEST_OUT\"\n",
	                0644);
	assert_true(pgw_hook_exists(fx->dir, "not-exec"));
	assert_int_equal(pgw_hook_run(fx->dir, "not-exec", NULL, 5, &fx->err),
	                 PGW_EINVAL);
	assert_non_null(strstr(fx->err.msg, "not executable"));
	assert_non_null(strstr(fx->err.hint, "chmod +x"));

	/* world-writable */
	pgw_err_clear(&fx->err);
	write_hook_mode(fx, "writable", "#!/bin/sh\ntouch \"$PGW_TEST_OUT\"\n",
	                0777);
	assert_int_equal(pgw_hook_run(fx->dir, "writable", NULL, 5, &fx->err),
	                 PGW_EINVAL);
	assert_non_null(strstr(fx->err.msg, "world-writable"));

	/* not a regular file */
	pgw_err_clear(&fx->err);
	snprintf(path, sizeof(path), "%s/a-dir", fx->dir);
	assert_int_equal(mkdir(path, 0755), 0);
	assert_true(pgw_hook_exists(fx->dir, "a-dir"));
	assert_int_equal(pgw_hook_run(fx->dir, "a-dir", NULL, 5, &fx->err),
	                 PGW_EINVAL);
	assert_non_null(strstr(fx->err.msg, "not a regular file"));

	/* none of them ran */
	assert_int_equal(access(fx->out, F_OK), -1);
}

static void test_hooks__world_writable_dir(void **state)
{
	struct fx *fx = *state;
	int rc;

	write_hook(fx, "pre-check", "#!/bin/sh\ntouch \"$PGW_TEST_OUT\"\n");
	assert_int_equal(chmod(fx->dir, 0777), 0);
	rc = pgw_hook_run(fx->dir, "pre-check", NULL, 5, &fx->err);
	assert_int_equal(rc, PGW_EINVAL);
	assert_non_null(strstr(fx->err.msg, "world-writable"));
	assert_int_equal(access(fx->out, F_OK), -1);

	/* the sticky bit keeps others from swapping it: allowed */
	pgw_err_clear(&fx->err);
	assert_int_equal(chmod(fx->dir, 01777), 0);
	rc = pgw_hook_run(fx->dir, "pre-check", NULL, 5, &fx->err);
	assert_int_equal(rc, 0);
	assert_int_equal(access(fx->out, F_OK), 0);
	chmod(fx->dir, 0755);
}

static void test_hooks__symlink_into_world_writable_dir(void **state)
{
	struct fx *fx = *state;
	char target_dir[4096], target[8192], link[4096];
	int rc;

	/* the link is in a safe dir, the file it points to is not */
	snprintf(target_dir, sizeof(target_dir), "%s/open", fx->dir);
	assert_int_equal(mkdir(target_dir, 0755), 0);
	assert_int_equal(chmod(target_dir, 0777), 0);
	snprintf(target, sizeof(target), "%s/real-hook", target_dir);
	assert_int_equal(
	        fixture_write(target_dir, "real-hook", "#!/bin/sh\nexit 0\n"),
	        0);
	assert_int_equal(chmod(target, 0755), 0);
	snprintf(link, sizeof(link), "%s/post-verify", fx->dir);
	assert_int_equal(symlink(target, link), 0);
	rc = pgw_hook_run(fx->dir, "post-verify", NULL, 5, &fx->err);
	assert_int_equal(rc, PGW_EINVAL);
	assert_non_null(strstr(fx->err.msg, "world-writable"));
	assert_non_null(strstr(fx->err.msg, "/open"));
}

static void test_hooks__no_shebang_runs_with_sh(void **state)
{
	struct fx *fx = *state;
	int rc;

	write_hook(fx, "plain", "echo \"plain $PGWARD_HOOK\"\n");
	rc = pgw_hook_run(fx->dir, "plain", NULL, 5, &fx->err);
	assert_int_equal(rc, 0);
	assert_true(has_line(fixture_log_text(), "hook plain: plain plain"));
}

static void test_hooks__missing_interpreter(void **state)
{
	struct fx *fx = *state;
	int rc;

	write_hook(fx, "broken", "#!/nonexistent/interpreter\necho hi\n");
	rc = pgw_hook_run(fx->dir, "broken", NULL, 5, &fx->err);
	assert_int_equal(rc, PGW_EFAILED);
	assert_non_null(strstr(fx->err.msg, "cannot run hook 'broken'"));
	assert_non_null(strstr(fx->err.msg, "No such file or directory"));
	assert_non_null(strstr(fx->err.hint, "#! line"));
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_hooks__nothing_to_run),
		T(test_hooks__bad_names),
		T(test_hooks__success_and_output_logged),
		T(test_hooks__long_lines_in_pieces),
		T(test_hooks__exit_status),
		T(test_hooks__killed_by_a_signal),
		T(test_hooks__environment),
		T(test_hooks__inherited_database_url_redacted),
		T(test_hooks__stdin_and_process_group),
		T(test_hooks__time_limit_kills_the_group),
		T(test_hooks__term_ignored_gets_sigkill),
		T(test_hooks__background_process_holding_output),
		T(test_hooks__refused_hooks),
		T(test_hooks__world_writable_dir),
		T(test_hooks__symlink_into_world_writable_dir),
		T(test_hooks__no_shebang_runs_with_sh),
		T(test_hooks__missing_interpreter),
	};
#undef T

	return cmocka_run_group_tests(tests, NULL, NULL);
}
