/* test_release.c - git releases as the engine, status and check use them,
 * on a real repository made by the test with the git command: the
 * migrations of a release's tree stamped with its tag and commit, the
 * commit recorded with working-tree migrations (only when a file is as
 * HEAD has it), a release's schema.sql, where a database version stands
 * among the releases, and the pull-request rules for released
 * migrations (changed, removed, a new one sorting below a release). */
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

#include "fixture.h"
#include "pgward.h"
#include "release.h"

static char *top;
static char repo[4096], mig[4200];

static int sh(const char *fmt, ...) PGW_PRINTF(1, 2);

static int sh(const char *fmt, ...)
{
	char cmd[8192];
	va_list ap;
	int rc;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	rc = system(cmd);
	return rc == -1 ? -1 : WEXITSTATUS(rc);
}

/* git rev-parse of `what` in the repository (a static buffer). */
static const char *rev(const char *what)
{
	static char line[128];
	char cmd[8400];
	FILE *p;

	snprintf(cmd, sizeof(cmd), "cd '%s' && git rev-parse '%s'", repo, what);
	line[0] = '\0';
	p = popen(cmd, "r");
	if (p) {
		if (!fgets(line, sizeof(line), p))
			line[0] = '\0';
		pclose(p);
	}
	line[strcspn(line, "\n")] = '\0';
	return line;
}

static int commit_all(const char *dir, int day, const char *msg)
{
	return sh(
	        "cd '%s' && git add -A && GIT_AUTHOR_DATE='2026-01-%02d 12:00:00 +0000'"
	        " GIT_COMMITTER_DATE='2026-01-%02d 12:00:00 +0000'"
	        " git commit -q -m '%s'",
	        dir, day, day, msg);
}

#define MIG_A \
	"-- migrate:up\nCREATE TABLE a (id int);\n-- migrate:down\nDROP TABLE a;\n"
#define MIG_B \
	"-- migrate:up\nCREATE TABLE b (id int);\nCREATE INDEX ON b (id);\nINSERT INTO b VALUES (1);\n"
#define MIG_C "-- migrate:up\nCREATE TABLE c (id int);\n"
#define MIG_D "-- migrate:up\nCREATE TABLE d (id int);\n"
#define SCHEMA "-- schema at 030\nCREATE TABLE a (id int);\n"

/*   day 1: 010_a.sql                 v1.0.0
 *   day 2: 020_b.sql                 v1.9.0 (annotated)
 *   day 3: 030_c.sql, schema.sql     v1.10.0, v2.0.0-rc1
 *   day 4: 040_d.sql                 v2.0.0 */
static int group_setup(void **state)
{
	(void)state;
	setenv("GIT_AUTHOR_NAME", "pgward test", 1);
	setenv("GIT_AUTHOR_EMAIL", "test@example.com", 1);
	setenv("GIT_COMMITTER_NAME", "pgward test", 1);
	setenv("GIT_COMMITTER_EMAIL", "test@example.com", 1);
	setenv("GIT_CONFIG_NOSYSTEM", "1", 1);
	setenv("GIT_CONFIG_GLOBAL", "/dev/null", 1);
	top = fixture_mkdtemp();
	if (!top)
		return -1;
	snprintf(repo, sizeof(repo), "%.4000s/repo", top);
	snprintf(mig, sizeof(mig), "%s/migrations", repo);
	if (sh("mkdir -p '%s' && cd '%s' && git init -q -b main .", mig,
	       repo) ||
	    fixture_write(mig, "010_a.sql", MIG_A) ||
	    commit_all(repo, 1, "one") ||
	    sh("cd '%s' && git tag v1.0.0", repo) ||
	    fixture_write(mig, "020_b.sql", MIG_B) ||
	    commit_all(repo, 2, "two") ||
	    sh("cd '%s' && git tag -a v1.9.0 -m 'release 1.9'", repo) ||
	    fixture_write(mig, "030_c.sql", MIG_C) ||
	    fixture_write(mig, "schema.sql", SCHEMA) ||
	    commit_all(repo, 3, "three") ||
	    sh("cd '%s' && git tag v1.10.0 && git tag v2.0.0-rc1", repo) ||
	    fixture_write(mig, "040_d.sql", MIG_D) ||
	    commit_all(repo, 4, "four") ||
	    sh("cd '%s' && git tag v2.0.0", repo))
		return -1;
	return 0;
}

static int group_teardown(void **state)
{
	(void)state;
	fixture_rmtree(top);
	free(top);
	return 0;
}

struct fx {
	struct pgw_config cfg;
	struct pgw_migset *set;
	struct pgw_release_info *ri;
	struct pgw_buf problems;
	char *plain; /* a dir in no repository */
	struct pgw_err err;
};

static void quiet(enum pgw_log_level level, const char *msg, void *payload)
{
	(void)level;
	(void)msg;
	(void)payload;
}

static int setup(void **state)
{
	struct fx *fx = calloc(1, sizeof(*fx));
	struct pgw_buf empty = PGW_BUF_INIT;

	if (!fx)
		return -1;
	pgw_config_init(&fx->cfg);
	if (pgw_config_set(&fx->cfg, "migrations.dir", mig, NULL, &fx->err)) {
		free(fx);
		return -1;
	}
	fx->problems = empty;
	pgw_log_set_sink(quiet, NULL, PGW_LOG_DEBUG);
	*state = fx;
	return 0;
}

static int teardown(void **state)
{
	struct fx *fx = *state;

	pgw_log_set_sink(NULL, NULL, PGW_LOG_NOTICE);
	pgw_migset_free(fx->set);
	pgw_release_info_free(fx->ri);
	pgw_buf_release(&fx->problems);
	pgw_config_release(&fx->cfg);
	if (fx->plain) {
		fixture_rmtree(fx->plain);
		free(fx->plain);
	}
	free(fx);
	/* the shared work tree back as committed */
	sh("cd '%s' && git checkout -q -f main && git clean -fdq && git reset -q --hard v2.0.0",
	   repo);
	return 0;
}

static void assert_ok(int rc, const struct pgw_err *err)
{
	if (rc != 0)
		fail_msg("failed (%d): %s | %s | %s", rc, err->msg, err->detail,
		         err->hint);
}

/* Point the config at a dir in no repository, with one migration. */
static void use_plain_dir(struct fx *fx)
{
	fx->plain = fixture_mkdtemp();
	assert_non_null(fx->plain);
	assert_int_equal(fixture_write(fx->plain, "001_x.sql", MIG_C), 0);
	assert_int_equal(pgw_config_set(&fx->cfg, "migrations.dir", fx->plain,
	                                NULL, &fx->err),
	                 0);
}

/* ---- a release's migrations
 * ---------------------------------------------------- */

static void test_release__migset_of_a_tag(void **state)
{
	struct fx *fx = *state;
	char commit[64];
	int64_t version = -1;
	size_t i;
	int rc;

	/* the work tree differs; the tag's tree is what counts */
	assert_int_equal(
	        fixture_write(mig, "020_b.sql", "-- migrate:up\nSELECT 2;\n"),
	        0);
	rc = pgw_release_migset(&fx->set, &version, &fx->cfg, "v1.9.0",
	                        &fx->err);
	assert_ok(rc, &fx->err);
	assert_int_equal(version, 20);
	assert_int_equal(fx->set->n, 2);
	assert_string_equal(fx->set->v[0].file, "010_a.sql");
	assert_string_equal(fx->set->v[1].file, "020_b.sql");
	assert_non_null(strstr(fx->set->v[1].up.text, "CREATE TABLE b"));
	assert_true(fx->set->v[0].down.present);
	/* an annotated tag stands for its commit */
	snprintf(commit, sizeof(commit), "%s", rev("v1.9.0^{commit}"));
	assert_int_equal(strlen(commit), 40);
	for (i = 0; i < fx->set->n; i++) {
		assert_string_equal(fx->set->v[i].git_commit, commit);
		assert_string_equal(fx->set->v[i].git_tag, "v1.9.0");
	}
	pgw_migset_free(fx->set);
	fx->set = NULL;

	/* the newest release: four migrations, schema.sql left out */
	rc = pgw_release_migset(&fx->set, &version, &fx->cfg, "v2.0.0",
	                        &fx->err);
	assert_ok(rc, &fx->err);
	assert_int_equal(version, 40);
	assert_int_equal(fx->set->n, 4);
}

static void test_release__checksum_as_the_tag_has_it(void **state)
{
	struct fx *fx = *state;
	struct pgw_migset *work = NULL;
	int64_t version;
	int rc;

	/* the same file in the tree and on disk: the same checksum */
	rc = pgw_release_migset(&fx->set, &version, &fx->cfg, "v2.0.0",
	                        &fx->err);
	assert_ok(rc, &fx->err);
	rc = pgw_migset_load(&work, mig, &fx->err);
	assert_ok(rc, &fx->err);
	assert_int_equal(work->n, 4);
	assert_string_equal(fx->set->v[1].checksum, work->v[1].checksum);
	assert_string_equal(fx->set->v[3].checksum, work->v[3].checksum);
	pgw_migset_free(work);
}

static void test_release__unknown_release(void **state)
{
	struct fx *fx = *state;
	int64_t version = -1;
	int rc;

	rc = pgw_release_migset(&fx->set, &version, &fx->cfg, "v0.0.1",
	                        &fx->err);
	assert_int_equal(rc, PGW_EINVAL);
	assert_null(fx->set);
	assert_non_null(strstr(fx->err.msg, "no release 'v0.0.1'"));
	assert_non_null(strstr(fx->err.hint, "pgward releases"));

	/* a tag that exists but does not match the pattern is no release */
	pgw_err_clear(&fx->err);
	assert_int_equal(pgw_config_set(&fx->cfg, "git.tag_pattern",
	                                "release-*", NULL, &fx->err),
	                 0);
	rc = pgw_release_migset(&fx->set, &version, &fx->cfg, "v1.9.0",
	                        &fx->err);
	assert_int_equal(rc, PGW_EINVAL);
	assert_non_null(strstr(fx->err.msg, "'release-*'"));
}

static void test_release__outside_a_repository(void **state)
{
	struct fx *fx = *state;
	struct pgw_migset *set = NULL;
	char *text = (char *)"untouched";
	int64_t version = -1;
	int rc;

	use_plain_dir(fx);
	rc = pgw_release_migset(&fx->set, &version, &fx->cfg, "v1.0.0",
	                        &fx->err);
	assert_int_equal(rc, PGW_ENOTFOUND);
	assert_non_null(strstr(fx->err.msg,
	                       "--release v1.0.0 needs the git repository"));

	/* what does not need git carries on */
	pgw_err_clear(&fx->err);
	rc = pgw_migset_load(&set, fx->plain, &fx->err);
	assert_ok(rc, &fx->err);
	rc = pgw_release_stamp(set, &fx->cfg, &fx->err);
	assert_ok(rc, &fx->err);
	assert_null(set->v[0].git_commit);
	rc = pgw_release_check(&fx->problems, &fx->cfg, set, &fx->err);
	pgw_migset_free(set);
	assert_ok(rc, &fx->err);
	assert_int_equal(fx->problems.len, 0);
	rc = pgw_release_schema_text(&text, &fx->cfg, "v1.0.0", &fx->err);
	assert_ok(rc, &fx->err);
	assert_null(text);
	rc = pgw_release_info(&fx->ri, &fx->cfg, 3, &fx->err);
	assert_ok(rc, &fx->err);
	assert_false(fx->ri->in_repo);
	assert_int_equal(fx->ri->head_version, -1);
	assert_null(fx->ri->db_release);
}

/* ---- the commit recorded with working-tree migrations
 * ------------------------ */

static void test_release__stamp_files_as_head_has_them(void **state)
{
	struct fx *fx = *state;
	char head[64];
	int rc;

	snprintf(head, sizeof(head), "%s", rev("HEAD"));
	/* 020 edited, 050 not committed */
	assert_int_equal(
	        fixture_write(mig, "020_b.sql", "-- migrate:up\nSELECT 2;\n"),
	        0);
	assert_int_equal(fixture_write(mig, "050_e.sql", MIG_D), 0);
	rc = pgw_migset_load(&fx->set, mig, &fx->err);
	assert_ok(rc, &fx->err);
	assert_int_equal(fx->set->n, 5);
	rc = pgw_release_stamp(fx->set, &fx->cfg, &fx->err);
	assert_ok(rc, &fx->err);
	assert_string_equal(fx->set->v[0].git_commit, head);
	assert_string_equal(fx->set->v[0].git_tag, "v2.0.0");
	assert_null(fx->set->v[1].git_commit);
	assert_null(fx->set->v[1].git_tag);
	assert_string_equal(fx->set->v[2].git_commit, head);
	assert_string_equal(fx->set->v[3].git_tag, "v2.0.0");
	assert_null(fx->set->v[4].git_commit);
}

static void test_release__stamp_without_a_tag_on_head(void **state)
{
	struct fx *fx = *state;
	char head[64];
	int rc;

	/* a commit after the last release */
	assert_int_equal(fixture_write(mig, "050_e.sql", MIG_D), 0);
	assert_int_equal(commit_all(repo, 5, "five"), 0);
	snprintf(head, sizeof(head), "%s", rev("HEAD"));
	rc = pgw_migset_load(&fx->set, mig, &fx->err);
	assert_ok(rc, &fx->err);
	rc = pgw_release_stamp(fx->set, &fx->cfg, &fx->err);
	assert_int_equal(sh("cd '%s' && git reset -q --hard v2.0.0", repo), 0);
	assert_ok(rc, &fx->err);
	assert_int_equal(fx->set->n, 5);
	assert_string_equal(fx->set->v[4].git_commit, head);
	assert_null(fx->set->v[4].git_tag);
	assert_string_equal(fx->set->v[0].git_commit, head);
	assert_null(fx->set->v[0].git_tag);
}

/* ---- schema.sql of a release
 * ------------------------------------------------- */

static void test_release__schema_text(void **state)
{
	struct fx *fx = *state;
	char *text = NULL;
	int rc;

	rc = pgw_release_schema_text(&text, &fx->cfg, "v1.10.0", &fx->err);
	assert_ok(rc, &fx->err);
	assert_non_null(text);
	assert_string_equal(text, SCHEMA);
	free(text);
	text = NULL;
	/* the work tree's copy does not matter */
	assert_int_equal(fixture_write(mig, "schema.sql", "-- edited\n"), 0);
	rc = pgw_release_schema_text(&text, &fx->cfg, "v2.0.0", &fx->err);
	assert_ok(rc, &fx->err);
	assert_string_equal(text, SCHEMA);
	free(text);
	text = NULL;
	/* a release without one */
	rc = pgw_release_schema_text(&text, &fx->cfg, "v1.0.0", &fx->err);
	assert_ok(rc, &fx->err);
	assert_null(text);
}

/* ---- where a database stands
 * ------------------------------------------------- */

static void info_at(struct fx *fx, int64_t db_version)
{
	int rc;

	pgw_release_info_free(fx->ri);
	fx->ri = NULL;
	rc = pgw_release_info(&fx->ri, &fx->cfg, db_version, &fx->err);
	assert_ok(rc, &fx->err);
	assert_true(fx->ri->in_repo);
}

static void test_release__info(void **state)
{
	struct fx *fx = *state;

	/* at a version two releases share: the newest of them */
	info_at(fx, 30);
	assert_string_equal(fx->ri->db_release, "v2.0.0-rc1");
	assert_null(fx->ri->db_after);
	assert_int_equal(fx->ri->head_version, 40);
	assert_string_equal(fx->ri->head_vtext, "040");
	assert_non_null(fx->ri->uncommitted);
	assert_null(fx->ri->uncommitted[0]);
	assert_null(fx->ri->note);

	info_at(fx, 40);
	assert_string_equal(fx->ri->db_release, "v2.0.0");

	/* between releases: the one it went past */
	info_at(fx, 35);
	assert_null(fx->ri->db_release);
	assert_string_equal(fx->ri->db_after, "v2.0.0-rc1");

	/* behind every release */
	info_at(fx, 5);
	assert_null(fx->ri->db_release);
	assert_null(fx->ri->db_after);

	/* uncommitted migrations, sorted */
	assert_int_equal(fixture_write(mig, "060_f.sql", MIG_D), 0);
	assert_int_equal(
	        fixture_write(mig, "020_b.sql", "-- migrate:up\nSELECT 2;\n"),
	        0);
	info_at(fx, 40);
	assert_string_equal(fx->ri->uncommitted[0], "020_b.sql");
	assert_string_equal(fx->ri->uncommitted[1], "060_f.sql");
	assert_null(fx->ri->uncommitted[2]);
	/* HEAD's version is HEAD's tree, not the work tree */
	assert_int_equal(fx->ri->head_version, 40);
}

/* ---- the pull-request rules
 * --------------------------------------------------- */

static void check_rules(struct fx *fx)
{
	int rc;

	pgw_migset_free(fx->set);
	fx->set = NULL;
	pgw_buf_reset(&fx->problems);
	rc = pgw_migset_load(&fx->set, mig, &fx->err);
	assert_ok(rc, &fx->err);
	rc = pgw_release_check(&fx->problems, &fx->cfg, fx->set, &fx->err);
	assert_ok(rc, &fx->err);
	assert_false(pgw_buf_oom(&fx->problems));
}

static void test_release__check_clean(void **state)
{
	struct fx *fx = *state;

	/* as released, plus a new migration above the newest release */
	assert_int_equal(fixture_write(mig, "050_e.sql", MIG_D), 0);
	check_rules(fx);
	if (fx->problems.len)
		fail_msg("problems: %s", fx->problems.ptr);
}

static void test_release__check_changed_migration(void **state)
{
	struct fx *fx = *state;
	char commit[64], want[256];

	/* one line in the middle changed */
	assert_int_equal(
	        fixture_write(
	                mig, "020_b.sql",
	                "-- migrate:up\nCREATE TABLE b (id bigint);\n"
	                "CREATE INDEX ON b (id);\nINSERT INTO b VALUES (1);\n"),
	        0);
	check_rules(fx);
	snprintf(commit, sizeof(commit), "%s", rev("v2.0.0^{commit}"));
	/* named once, with the newest release that has it */
	snprintf(want, sizeof(want),
	         "020_b.sql was changed after release v2.0.0 (commit %.12s)",
	         commit);
	if (!strstr(fx->problems.ptr, want))
		fail_msg("problems: %s", fx->problems.ptr);
	assert_null(strstr(fx->problems.ptr, "v1.9.0"));
	/* the lines that differ, and only those */
	assert_non_null(
	        strstr(fx->problems.ptr, "    - CREATE TABLE b (id int);\n"));
	assert_non_null(strstr(fx->problems.ptr,
	                       "    + CREATE TABLE b (id bigint);\n"));
	assert_null(strstr(fx->problems.ptr, "CREATE INDEX"));
	assert_null(strstr(fx->problems.ptr, "INSERT"));
	assert_null(strstr(fx->problems.ptr, "migrate:up"));
}

static void test_release__check_removed_migration(void **state)
{
	struct fx *fx = *state;
	char path[4300];

	snprintf(path, sizeof(path), "%s/010_a.sql", mig);
	assert_int_equal(unlink(path), 0);
	check_rules(fx);
	assert_non_null(strstr(fx->problems.ptr,
	                       "010_a.sql is part of release v2.0.0"));
	assert_non_null(strstr(fx->problems.ptr, "but was removed"));
	/* one paragraph, not one per release that has it */
	assert_null(
	        strstr(strstr(fx->problems.ptr, "010_a.sql") + 1, "010_a.sql"));
}

static void test_release__check_new_migration_below_a_release(void **state)
{
	struct fx *fx = *state;

	assert_int_equal(fixture_write(mig, "035_late.sql", MIG_D), 0);
	assert_int_equal(fixture_write(mig, "050_fine.sql", MIG_D), 0);
	check_rules(fx);
	assert_non_null(
	        strstr(fx->problems.ptr,
	               "035_late.sql: version 035 sorts below release v2.0.0"));
	assert_non_null(
	        strstr(fx->problems.ptr, "whose newest migration is 040"));
	assert_null(strstr(fx->problems.ptr, "050_fine.sql"));
	assert_null(strstr(fx->problems.ptr, "020_b.sql"));
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_release__migset_of_a_tag),
		T(test_release__checksum_as_the_tag_has_it),
		T(test_release__unknown_release),
		T(test_release__outside_a_repository),
		T(test_release__stamp_files_as_head_has_them),
		T(test_release__stamp_without_a_tag_on_head),
		T(test_release__schema_text),
		T(test_release__info),
		T(test_release__check_clean),
		T(test_release__check_changed_migration),
		T(test_release__check_removed_migration),
		T(test_release__check_new_migration_below_a_release),
	};
#undef T

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
