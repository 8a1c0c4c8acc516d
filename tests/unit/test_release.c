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
#include <unistd.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "fixture.h"
#include "fixture_cfg.h"
#include "fixture_git.h"
#include "fixture_log.h"
#include "pgward.h"
#include "release.h"

static char *top;
static char repo[4096], mig[4200];

#define MIG_A \
	"-- migrate:up\nCREATE TABLE a (id int);\n-- migrate:down\nDROP TABLE a;\n"
#define MIG_B \
	"-- migrate:up\nCREATE TABLE b (id int);\nCREATE INDEX ON b (id);\nINSERT INTO b VALUES (1);\n"
#define MIG_C "-- migrate:up\nCREATE TABLE c (id int);\n"
#define MIG_D "-- migrate:up\nCREATE TABLE d (id int);\n"
#define SCHEMA "-- schema at 030\nCREATE TABLE a (id int);\n"

/* One commit a day of January 2026, and the tags on each. */
static const struct fixture_git_commit history[] = {
	{ "one", { { "migrations/010_a.sql", MIG_A } }, "git tag v1.0.0" },
	{ "two",
	  { { "migrations/020_b.sql", MIG_B } },
	  "git tag -a v1.9.0 -m 'release 1.9'" },
	{ "three",
	  { { "migrations/030_c.sql", MIG_C },
	    { "migrations/schema.sql", SCHEMA } },
	  "git tag v1.10.0 && git tag v2.0.0-rc1" },
	{ "four", { { "migrations/040_d.sql", MIG_D } }, "git tag v2.0.0" },
};

static int group_setup(void **state)
{
	(void)state;
	return fixture_git_repo(&top, repo, mig, history,
	                        sizeof(history) / sizeof(history[0]));
}

static int group_teardown(void **state)
{
	(void)state;
	fixture_rmdtemp(top);
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
	fixture_log_quiet();
	*state = fx;
	return 0;
}

static int teardown(void **state)
{
	struct fx *fx = *state;

	fixture_log_reset();
	pgw_migset_free(fx->set);
	pgw_release_info_free(fx->ri);
	pgw_buf_release(&fx->problems);
	pgw_config_release(&fx->cfg);
	fixture_rmdtemp(fx->plain);
	free(fx);
	/* the shared work tree back as committed */
	fixture_git_reset(repo, "v2.0.0");
	return 0;
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
	fixture_assert_ok(rc, &fx->err);
	assert_int_equal(version, 20);
	assert_int_equal(fx->set->n, 2);
	assert_string_equal(fx->set->v[0].file, "010_a.sql");
	assert_string_equal(fx->set->v[1].file, "020_b.sql");
	assert_non_null(strstr(fx->set->v[1].up.text, "CREATE TABLE b"));
	assert_true(fx->set->v[0].down.present);
	/* an annotated tag stands for its commit */
	snprintf(commit, sizeof(commit), "%s",
	         fixture_git_rev(repo, "v1.9.0^{commit}"));
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
	fixture_assert_ok(rc, &fx->err);
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
	fixture_assert_ok(rc, &fx->err);
	rc = pgw_migset_load(&work, mig, &fx->err);
	fixture_assert_ok(rc, &fx->err);
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
	fixture_assert_ok(rc, &fx->err);
	rc = pgw_release_stamp(set, &fx->cfg, &fx->err);
	fixture_assert_ok(rc, &fx->err);
	assert_null(set->v[0].git_commit);
	rc = pgw_release_check(&fx->problems, &fx->cfg, set, &fx->err);
	pgw_migset_free(set);
	fixture_assert_ok(rc, &fx->err);
	assert_int_equal(fx->problems.len, 0);
	rc = pgw_release_schema_text(&text, &fx->cfg, "v1.0.0", &fx->err);
	fixture_assert_ok(rc, &fx->err);
	assert_null(text);
	rc = pgw_release_info(&fx->ri, &fx->cfg, 3, &fx->err);
	fixture_assert_ok(rc, &fx->err);
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

	snprintf(head, sizeof(head), "%s", fixture_git_rev(repo, "HEAD"));
	/* 020 edited, 050 not committed */
	assert_int_equal(
	        fixture_write(mig, "020_b.sql", "-- migrate:up\nSELECT 2;\n"),
	        0);
	assert_int_equal(fixture_write(mig, "050_e.sql", MIG_D), 0);
	rc = pgw_migset_load(&fx->set, mig, &fx->err);
	fixture_assert_ok(rc, &fx->err);
	assert_int_equal(fx->set->n, 5);
	rc = pgw_release_stamp(fx->set, &fx->cfg, &fx->err);
	fixture_assert_ok(rc, &fx->err);
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
	assert_int_equal(fixture_git_commit_all(repo, 5, "five"), 0);
	snprintf(head, sizeof(head), "%s", fixture_git_rev(repo, "HEAD"));
	rc = pgw_migset_load(&fx->set, mig, &fx->err);
	fixture_assert_ok(rc, &fx->err);
	rc = pgw_release_stamp(fx->set, &fx->cfg, &fx->err);
	assert_int_equal(
	        fixture_sh("cd '%s' && git reset -q --hard v2.0.0", repo), 0);
	fixture_assert_ok(rc, &fx->err);
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
	fixture_assert_ok(rc, &fx->err);
	assert_non_null(text);
	assert_string_equal(text, SCHEMA);
	free(text);
	text = NULL;
	/* the work tree's copy does not matter */
	assert_int_equal(fixture_write(mig, "schema.sql", "-- edited\n"), 0);
	rc = pgw_release_schema_text(&text, &fx->cfg, "v2.0.0", &fx->err);
	fixture_assert_ok(rc, &fx->err);
	assert_string_equal(text, SCHEMA);
	free(text);
	text = NULL;
	/* a release without one */
	rc = pgw_release_schema_text(&text, &fx->cfg, "v1.0.0", &fx->err);
	fixture_assert_ok(rc, &fx->err);
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
	fixture_assert_ok(rc, &fx->err);
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
	fixture_assert_ok(rc, &fx->err);
	rc = pgw_release_check(&fx->problems, &fx->cfg, fx->set, &fx->err);
	fixture_assert_ok(rc, &fx->err);
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
	snprintf(commit, sizeof(commit), "%s",
	         fixture_git_rev(repo, "v2.0.0^{commit}"));
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
