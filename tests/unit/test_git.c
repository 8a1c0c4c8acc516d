/* test_git.c - releases read from a real git repository made by the test
 * with the git command: opening it from the migrations dir (and from a
 * dir that does not exist), release tags in version order with their
 * commits, times and schema versions, tag patterns, tags that are no
 * release, the migration files of a tag's tree, reading and hashing
 * blobs, HEAD and the tag on it, the working-tree state, a migrations
 * dir that moved, and the notes for repositories without tags, without
 * a commit and shallow clones. */
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
#include "fixture_git.h"
#include "fixture_log.h"
#include "git.h"
#include "pgward.h"

/* The repository all tests read (made once), and its migrations dir. */
static char *top; /* the temp dir holding the repositories */
static char repo[4096], mig[4200];

#define MIG_A \
	"-- migrate:up\nCREATE TABLE a (id int);\n-- migrate:down\nDROP TABLE a;\n"
#define MIG_B "-- migrate:up\nCREATE TABLE b (id int);\n"
#define MIG_C "-- migrate:up\nCREATE TABLE c (id int);\n"
#define MIG_D "-- migrate:up\nCREATE TABLE d (id int);\n"
#define SCHEMA "-- schema at 030\nCREATE TABLE a (id int);\n"

/* One commit a day of January 2026, and the tags on each (release-1 is
 * no v* tag, v9-blob points at a blob). */
static const struct fixture_git_commit history[] = {
	{ "one",
	  { { "migrations/010_a.sql", MIG_A },
	    { "migrations/notes.txt", "not a migration\n" },
	    { "migrations/.hidden.sql", "-- migrate:up\nSELECT 1;\n" },
	    { "README", "the app\n" } },
	  "git tag v1.0.0" },
	{ "two",
	  { { "migrations/020_b.sql", MIG_B } },
	  "git tag -a v1.9.0 -m 'release 1.9' && git tag vnext" },
	{ "three",
	  { { "migrations/030_c.sql", MIG_C },
	    { "migrations/schema.sql", SCHEMA } },
	  "git tag v1.10.0 && git tag -a v2.0.0-rc1 -m rc1" },
	{ "four",
	  { { "migrations/040_d.sql", MIG_D } },
	  "git tag v2.0.0 && git tag v1.10 && git tag release-1"
	  " && git tag v9-blob $(git hash-object -w migrations/010_a.sql)" },
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
	struct pgw_git *g;
	struct pgw_releases *r;
	struct pgw_git_file *files;
	size_t n_files;
	char **names;
	size_t n_names;
	struct pgw_err err;
};

static int setup(void **state)
{
	struct fx *fx = calloc(1, sizeof(*fx));

	if (!fx)
		return -1;
	fixture_log_capture(true);
	*state = fx;
	return 0;
}

static int teardown(void **state)
{
	struct fx *fx = *state;

	fixture_log_reset();
	pgw_git_names_free(fx->names, fx->n_names);
	pgw_git_files_free(fx->files, fx->n_files);
	pgw_releases_free(fx->r);
	pgw_git_close(fx->g);
	free(fx);
	/* the shared work tree back as committed */
	fixture_git_reset(repo, "HEAD");
	return 0;
}

static void open_at(struct fx *fx, const char *dir)
{
	int rc = pgw_git_open(&fx->g, dir, &fx->err);

	if (rc)
		fail_msg("open %s: %s | %s", dir, fx->err.msg, fx->err.hint);
	assert_non_null(fx->g);
}

static const char *rev(const char *what)
{
	return fixture_git_rev(repo, what);
}

/* ---- opening ----------------------------------------------------------------
 */

static void test_git__open_from_the_migrations_dir(void **state)
{
	struct fx *fx = *state;
	char *real = realpath(repo, NULL);

	assert_non_null(real);
	open_at(fx, mig);
	assert_string_equal(pgw_git_workdir(fx->g), real);
	assert_string_equal(pgw_git_migrations_path(fx->g), "migrations");
	pgw_git_close(fx->g);
	fx->g = NULL;

	/* the root itself, and a dir that does not exist (yet) */
	open_at(fx, repo);
	assert_string_equal(pgw_git_migrations_path(fx->g), "");
	pgw_git_close(fx->g);
	fx->g = NULL;
	{
		char gone[4200];

		snprintf(gone, sizeof(gone), "%s/db/new/migrations", repo);
		open_at(fx, gone);
		assert_string_equal(pgw_git_migrations_path(fx->g),
		                    "db/new/migrations");
		assert_string_equal(pgw_git_workdir(fx->g), real);
	}
	free(real);
}

static void test_git__open_outside_a_repository(void **state)
{
	struct fx *fx = *state;
	char *plain = fixture_mkdtemp();
	int rc;

	assert_non_null(plain);
	rc = pgw_git_open(&fx->g, plain, &fx->err);
	assert_int_equal(rc, PGW_ENOTFOUND);
	assert_null(fx->g);
	assert_non_null(strstr(fx->err.msg, "is not in a git repository"));
	assert_non_null(strstr(fx->err.hint, "clone of the repository"));
	fixture_rmdtemp(plain);
}

/* ---- releases ---------------------------------------------------------------
 */

static void test_git__releases_in_version_order(void **state)
{
	struct fx *fx = *state;
	static const char *const want[] = { "v1.0.0", "v1.9.0",     "v1.10.0",
		                            "v1.10",  "v2.0.0-rc1", "v2.0.0",
		                            "vnext" };
	static const char *const vtext[] = { "010", "020", "030", "040",
		                             "030", "040", "020" };
	size_t i;
	int rc;

	open_at(fx, mig);
	rc = pgw_git_releases(&fx->r, fx->g, NULL, &fx->err);
	assert_int_equal(rc, 0);
	assert_int_equal(fx->r->n, 7);
	for (i = 0; i < fx->r->n; i++) {
		const struct pgw_release *r = &fx->r->v[i];
		char peeled[64];

		if (strcmp(r->tag, want[i]) != 0)
			fail_msg("release %zu is %s, want %s", i, r->tag,
			         want[i]);
		assert_string_equal(r->vtext, vtext[i]);
		assert_int_equal(r->version, strtoll(vtext[i], NULL, 10));
		assert_string_equal(r->dir, "migrations");
		/* annotated tags stand for their commit */
		snprintf(peeled, sizeof(peeled), "%s^{commit}", r->tag);
		assert_string_equal(r->commit, rev(peeled));
	}
	/* commit times: 2026-01-01 12:00 UTC is 1767268800 */
	assert_int_equal(fx->r->v[0].time, 1767268800);
	assert_int_equal(fx->r->v[5].time, 1767268800 + 3 * 86400);
	/* every tag counted; the one on a blob skipped with a warning */
	assert_int_equal(fx->r->n_tags, 9);
	assert_int_equal(fx->r->n_skipped, 1);
	assert_non_null(
	        strstr(fixture_log_text(),
	               "W: tag 'v9-blob' points at a blob, not a commit"));
	assert_null(fx->r->note);
	assert_false(fx->r->shallow);
}

static void test_git__tag_pattern(void **state)
{
	struct fx *fx = *state;
	int rc;

	open_at(fx, mig);
	rc = pgw_git_releases(&fx->r, fx->g, "release-*", &fx->err);
	assert_int_equal(rc, 0);
	assert_int_equal(fx->r->n, 1);
	assert_string_equal(fx->r->v[0].tag, "release-1");
	assert_int_equal(fx->r->v[0].version, 40);
	pgw_releases_free(fx->r);
	fx->r = NULL;

	/* nothing matches: no release, and a note saying why */
	rc = pgw_git_releases(&fx->r, fx->g, "prod-*", &fx->err);
	assert_int_equal(rc, 0);
	assert_int_equal(fx->r->n, 0);
	assert_non_null(fx->r->note);
	assert_non_null(
	        strstr(fx->r->note, "none of the 9 tags matches 'prod-*'"));
}

static void test_git__moved_migrations_dir(void **state)
{
	struct fx *fx = *state;
	char dir[4200];
	int rc;

	/* the working dir is now sql/migrations: the trees' one directory
	 * named "migrations" is used */
	snprintf(dir, sizeof(dir), "%s/sql/migrations", repo);
	open_at(fx, dir);
	rc = pgw_git_releases(&fx->r, fx->g, "v1.*", &fx->err);
	assert_int_equal(rc, 0);
	assert_int_equal(fx->r->n, 4);
	assert_string_equal(fx->r->v[0].dir, "migrations");
	assert_string_equal(fx->r->v[0].vtext, "010");
	pgw_releases_free(fx->r);
	fx->r = NULL;
	pgw_git_close(fx->g);
	fx->g = NULL;

	/* another name: the one directory holding NNN_*.sql files */
	snprintf(dir, sizeof(dir), "%s/db/schema_changes", repo);
	open_at(fx, dir);
	rc = pgw_git_list(&fx->files, &fx->n_files, fx->g, "v2.0.0", &fx->err);
	assert_int_equal(rc, 0);
	assert_int_equal(fx->n_files, 4);
	assert_string_equal(fx->files[3].name, "040_d.sql");
}

/* ---- trees and blobs
 * ---------------------------------------------------------- */

static void test_git__list_a_tags_tree(void **state)
{
	struct fx *fx = *state;
	int rc;

	open_at(fx, mig);
	/* the work tree changed since: it does not matter */
	assert_int_equal(
	        fixture_write(mig, "020_b.sql", "-- migrate:up\nSELECT 2;\n"),
	        0);
	rc = pgw_git_list(&fx->files, &fx->n_files, fx->g, "v1.9.0", &fx->err);
	assert_int_equal(rc, 0);
	/* *.sql only, not hidden, not schema.sql; sorted */
	assert_int_equal(fx->n_files, 2);
	assert_string_equal(fx->files[0].name, "010_a.sql");
	assert_string_equal(fx->files[1].name, "020_b.sql");
	assert_string_equal(fx->files[1].oid,
	                    rev("v1.9.0:migrations/020_b.sql"));
	pgw_git_files_free(fx->files, fx->n_files);
	fx->files = NULL;

	/* schema.sql is there from v1.10.0 on, but never listed */
	rc = pgw_git_list(&fx->files, &fx->n_files, fx->g, "HEAD", &fx->err);
	assert_int_equal(rc, 0);
	assert_int_equal(fx->n_files, 4);
	assert_string_equal(fx->files[2].name, "030_c.sql");
	/* a commit id works like a tag */
	pgw_git_files_free(fx->files, fx->n_files);
	fx->files = NULL;
	{
		char id[64];

		snprintf(id, sizeof(id), "%s", rev("v1.0.0^{commit}"));
		rc = pgw_git_list(&fx->files, &fx->n_files, fx->g, id,
		                  &fx->err);
		assert_int_equal(rc, 0);
		assert_int_equal(fx->n_files, 1);
	}
}

static void test_git__unknown_rev(void **state)
{
	struct fx *fx = *state;
	int rc;

	open_at(fx, mig);
	rc = pgw_git_list(&fx->files, &fx->n_files, fx->g, "v7.7.7", &fx->err);
	assert_int_equal(rc, PGW_ENOTFOUND);
	assert_null(fx->files);
	assert_int_equal(fx->n_files, 0);
	assert_non_null(strstr(fx->err.msg, "no commit or tag 'v7.7.7'"));
	/* a tag on a blob is no commit */
	pgw_err_clear(&fx->err);
	rc = pgw_git_list(&fx->files, &fx->n_files, fx->g, "v9-blob", &fx->err);
	assert_int_equal(rc, PGW_EINVAL);
	assert_non_null(strstr(fx->err.msg, "not a commit"));
}

static void test_git__find_and_read(void **state)
{
	struct fx *fx = *state;
	char oid[41], *data = NULL;
	size_t len = 0;
	int rc;

	open_at(fx, mig);
	rc = pgw_git_find(oid, fx->g, "v1.10.0", "schema.sql", &fx->err);
	assert_int_equal(rc, 0);
	assert_string_equal(oid, rev("v1.10.0:migrations/schema.sql"));
	rc = pgw_git_read(&data, &len, fx->g, oid, &fx->err);
	assert_int_equal(rc, 0);
	assert_int_equal(len, strlen(SCHEMA));
	assert_string_equal(data, SCHEMA);
	free(data);
	data = NULL;

	/* not in that tree */
	rc = pgw_git_find(oid, fx->g, "v1.0.0", "schema.sql", &fx->err);
	assert_int_equal(rc, PGW_ENOTFOUND);
	assert_string_equal(oid, "");

	/* a migration as that tag has it */
	pgw_err_clear(&fx->err);
	rc = pgw_git_find(oid, fx->g, "v1.0.0", "010_a.sql", &fx->err);
	assert_int_equal(rc, 0);
	rc = pgw_git_read(&data, &len, fx->g, oid, &fx->err);
	assert_int_equal(rc, 0);
	assert_string_equal(data, MIG_A);
	free(data);
	data = NULL;

	/* not an object id, an unknown one */
	rc = pgw_git_read(&data, &len, fx->g, "xyz", &fx->err);
	assert_int_equal(rc, PGW_EINVAL);
	assert_null(data);
	pgw_err_clear(&fx->err);
	rc = pgw_git_read(&data, &len, fx->g,
	                  "0123456789012345678901234567890123456789", &fx->err);
	assert_int_equal(rc, PGW_ENOTFOUND);
	assert_null(data);
}

static void test_git__hash_like_git(void **state)
{
	struct fx *fx = *state;
	char oid[41];
	int rc;

	rc = pgw_git_hash(oid, MIG_A, strlen(MIG_A), &fx->err);
	assert_int_equal(rc, 0);
	assert_string_equal(
	        oid, fixture_sh_line(
	                     "cd '%s' && git hash-object migrations/010_a.sql",
	                     repo));
	/* the empty blob */
	rc = pgw_git_hash(oid, NULL, 0, &fx->err);
	assert_int_equal(rc, 0);
	assert_string_equal(oid, "e69de29bb2d1d6434b8b29ae775ad8c2e48c5391");
}

/* ---- HEAD and the work tree
 * ----------------------------------------------------- */

static void test_git__head_and_its_tag(void **state)
{
	struct fx *fx = *state;
	char commit[41], *tag = NULL;
	int rc;

	open_at(fx, mig);
	rc = pgw_git_head(commit, &tag, fx->g, NULL, &fx->err);
	assert_int_equal(rc, 0);
	assert_string_equal(commit, rev("HEAD"));
	/* v2.0.0 and v1.10 point at HEAD: the higher version names it */
	assert_string_equal(tag, "v2.0.0");
	free(tag);
	tag = NULL;

	/* a detached HEAD on the commit of v1.10.0 and v2.0.0-rc1 */
	assert_int_equal(fixture_sh("cd '%s' && git checkout -q v1.10.0", repo),
	                 0);
	rc = pgw_git_head(commit, &tag, fx->g, NULL, &fx->err);
	assert_int_equal(rc, 0);
	assert_string_equal(commit, rev("v1.10.0"));
	assert_string_equal(tag, "v2.0.0-rc1");
	free(tag);
	tag = NULL;

	/* no matching tag there */
	rc = pgw_git_head(commit, &tag, fx->g, "release-*", &fx->err);
	assert_int_equal(rc, 0);
	assert_null(tag);
}

static void test_git__dirty_migrations(void **state)
{
	struct fx *fx = *state;
	char other[4200];
	int rc;

	open_at(fx, mig);
	rc = pgw_git_dirty(&fx->names, &fx->n_names, fx->g, &fx->err);
	assert_int_equal(rc, 0);
	assert_int_equal(fx->n_names, 0);
	pgw_git_names_free(fx->names, fx->n_names);
	fx->names = NULL;

	/* modified, untracked, deleted and staged files of the dir */
	assert_int_equal(
	        fixture_write(mig, "020_b.sql", "-- migrate:up\nSELECT 2;\n"),
	        0);
	assert_int_equal(fixture_write(mig, "050_e.sql", MIG_D), 0);
	assert_int_equal(fixture_write(mig, "060_f.sql", MIG_D), 0);
	assert_int_equal(
	        fixture_sh(
	                "cd '%s' && git add migrations/060_f.sql && rm migrations/030_c.sql",
	                repo),
	        0);
	/* outside it: not named */
	assert_int_equal(fixture_write(repo, "README", "changed\n"), 0);
	snprintf(other, sizeof(other), "%s/migrations2", repo);
	assert_int_equal(fixture_sh("mkdir -p '%s'", other), 0);
	assert_int_equal(fixture_write(other, "070_g.sql", MIG_D), 0);
	rc = pgw_git_dirty(&fx->names, &fx->n_names, fx->g, &fx->err);
	assert_int_equal(rc, 0);
	assert_int_equal(fx->n_names, 4);
	assert_string_equal(fx->names[0], "020_b.sql");
	assert_string_equal(fx->names[1], "030_c.sql");
	assert_string_equal(fx->names[2], "050_e.sql");
	assert_string_equal(fx->names[3], "060_f.sql");
}

/* ---- other repositories
 * --------------------------------------------------------- */

static void test_git__repository_without_tags_or_commits(void **state)
{
	struct fx *fx = *state;
	char dir[4200], m[4300], commit[41], *tag = NULL;
	int rc;

	snprintf(dir, sizeof(dir), "%s/bare-start", top);
	snprintf(m, sizeof(m), "%s/migrations", dir);
	assert_int_equal(fixture_git_init(dir, m), 0);
	open_at(fx, m);
	/* no commit yet */
	rc = pgw_git_head(commit, &tag, fx->g, NULL, &fx->err);
	assert_int_equal(rc, PGW_ENOTFOUND);
	assert_non_null(strstr(fx->err.msg, "has no commit yet"));
	assert_null(tag);

	/* a commit, no tag */
	assert_int_equal(fixture_write(m, "001_x.sql", MIG_B), 0);
	assert_int_equal(fixture_git_commit_all(dir, 5, "first"), 0);
	rc = pgw_git_releases(&fx->r, fx->g, NULL, &fx->err);
	assert_int_equal(rc, 0);
	assert_int_equal(fx->r->n, 0);
	assert_int_equal(fx->r->n_tags, 0);
	assert_non_null(fx->r->note);
	assert_non_null(strstr(fx->r->note, "this repository has no tags"));
	fixture_rmtree(dir);
}

static void test_git__version_order_rules(void **state)
{
	struct fx *fx = *state;
	static const char *const tags[] = {
		"v10.0.0",     "vlatest",   "v2.0.0+build5", "v2.0.0",
		"v2.0.0-rc10", "v2.0.0rc2", "v2.0.0-beta.2", "v2.0.0-alpha",
		"v2.0",        "v1.99.1",
	};
	/* pre-releases first and in natural order, build metadata ignored
	 * (then the name decides: one commit, one time), v2.0 == v2.0.0,
	 * numbers as numbers, names without a digit last */
	static const char *const want[] = {
		"v1.99.1",     "v2.0.0-alpha", "v2.0.0-beta.2", "v2.0.0rc2",
		"v2.0.0-rc10", "v2.0",         "v2.0.0",        "v2.0.0+build5",
		"v10.0.0",     "vlatest",
	};
	char dir[4200], m[4300];
	size_t i;
	int rc;

	snprintf(dir, sizeof(dir), "%s/order", top);
	snprintf(m, sizeof(m), "%s/migrations", dir);
	assert_int_equal(fixture_git_init(dir, m), 0);
	assert_int_equal(fixture_write(m, "001_x.sql", MIG_B), 0);
	assert_int_equal(fixture_git_commit_all(dir, 6, "only"), 0);
	for (i = 0; i < sizeof(tags) / sizeof(tags[0]); i++)
		assert_int_equal(
		        fixture_sh("cd '%s' && git tag '%s'", dir, tags[i]), 0);
	open_at(fx, m);
	rc = pgw_git_releases(&fx->r, fx->g, NULL, &fx->err);
	assert_int_equal(rc, 0);
	assert_int_equal(fx->r->n, sizeof(want) / sizeof(want[0]));
	for (i = 0; i < fx->r->n; i++)
		if (strcmp(fx->r->v[i].tag, want[i]) != 0)
			fail_msg("release %zu is %s, want %s", i,
			         fx->r->v[i].tag, want[i]);
	fixture_rmtree(dir);
}

static void test_git__shallow_clone(void **state)
{
	struct fx *fx = *state;
	char dir[4200], m[4300];
	int rc;

	snprintf(dir, sizeof(dir), "%s/shallow", top);
	snprintf(m, sizeof(m), "%s/migrations", dir);
	assert_int_equal(
	        fixture_sh(
	                "git clone -q --depth 1 --no-tags 'file://%s' '%s' 2>/dev/null",
	                repo, dir),
	        0);
	open_at(fx, m);
	rc = pgw_git_releases(&fx->r, fx->g, NULL, &fx->err);
	assert_int_equal(rc, 0);
	assert_true(fx->r->shallow);
	assert_int_equal(fx->r->n, 0);
	assert_non_null(fx->r->note);
	assert_non_null(
	        strstr(fx->r->note, "this clone is shallow and has no tags"));
	assert_non_null(strstr(fx->r->note, "fetch-depth: 0"));
	fixture_rmtree(dir);
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_git__open_from_the_migrations_dir),
		T(test_git__open_outside_a_repository),
		T(test_git__releases_in_version_order),
		T(test_git__tag_pattern),
		T(test_git__moved_migrations_dir),
		T(test_git__list_a_tags_tree),
		T(test_git__unknown_rev),
		T(test_git__find_and_read),
		T(test_git__hash_like_git),
		T(test_git__head_and_its_tag),
		T(test_git__dirty_migrations),
		T(test_git__repository_without_tags_or_commits),
		T(test_git__version_order_rules),
		T(test_git__shallow_clone),
	};
#undef T

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
