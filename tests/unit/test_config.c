/* test_config.c - settings: defaults, pgward.ini, environment, flags. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "fixture.h"
#include "pgward.h"

/* Every environment variable config.c reads. */
static const char *const env_vars[] = {
	"DATABASE_URL",          "PGWARD_DIRECT_URL", "PGWARD_MIGRATIONS",
	"MIGRATION_TIMEOUT",     "PGWARD_NOTIFY_URL", "PGWARD_NOTIFY_SECRET",
	"AUTO_MIGRATE_ON_START", "PGWARD_CONFIG",
};

struct fx {
	char *dir;     /* a fresh temporary directory */
	char *ini;     /* dir/pgward.ini (not written yet) */
	char *old_cwd; /* restored at teardown */
	struct pgw_config cfg;
	struct pgw_err err;
};

static void clear_env(void)
{
	size_t i;

	for (i = 0; i < sizeof(env_vars) / sizeof(env_vars[0]); i++)
		unsetenv(env_vars[i]);
}

static int setup(void **state)
{
	struct fx *fx = calloc(1, sizeof(*fx));
	size_t n;

	if (!fx)
		return -1;
	clear_env();
	fx->dir = fixture_mkdtemp();
	fx->old_cwd = getcwd(NULL, 0);
	if (!fx->dir || !fx->old_cwd)
		return -1;
	n = strlen(fx->dir) + sizeof("/pgward.ini");
	fx->ini = malloc(n);
	if (!fx->ini || snprintf(fx->ini, n, "%s/pgward.ini", fx->dir) < 0)
		return -1;
	pgw_config_init(&fx->cfg);
	*state = fx;
	return 0;
}

static int teardown(void **state)
{
	struct fx *fx = *state;

	clear_env();
	if (fx->old_cwd && chdir(fx->old_cwd) != 0)
		return -1;
	pgw_config_release(&fx->cfg);
	fixture_rmdtemp(fx->dir);
	free(fx->ini);
	free(fx->old_cwd);
	free(fx);
	return 0;
}

static void write_ini(struct fx *fx, const char *text)
{
	assert_int_equal(fixture_write(fx->dir, "pgward.ini", text), 0);
}

static void test_config__defaults(void **state)
{
	struct fx *fx = *state;
	struct pgw_config *c = &fx->cfg;

	assert_null(c->database_url);
	assert_null(c->direct_url);
	assert_null(c->config_file);
	assert_string_equal(c->migrations_dir, "migrations");
	assert_string_equal(c->schema, "pgward");
	assert_int_equal(c->timeout_s, 300);
	assert_int_equal(c->lock_timeout_ms, 1000);
	assert_int_equal(c->lock_retries, 5);
	assert_int_equal(c->max_lock_hold_s, 10);
	assert_int_equal(c->concurrent_timeout_s, 3600);
	assert_int_equal(c->wait_s, 0);
	assert_false(c->wait_set);
	assert_false(c->auto_migrate);
	assert_null(c->backup_dir);
	assert_null(c->notify_url);
	assert_null(c->tag_pattern);
}

static void test_config__set_string(void **state)
{
	struct fx *fx = *state;
	struct pgw_config *c = &fx->cfg;

	assert_int_equal(pgw_config_set(c, "database.url", "postgres://a@b/c",
	                                "--database", &fx->err),
	                 0);
	assert_string_equal(c->database_url, "postgres://a@b/c");
	/* a second value replaces the first (ASan sees a leak otherwise) */
	assert_int_equal(pgw_config_set(c, "database.url", "dbname=other",
	                                "--database", &fx->err),
	                 0);
	assert_string_equal(c->database_url, "dbname=other");
	assert_int_equal(
	        pgw_config_set(c, "migrations.dir", "db/mig", "flag", &fx->err),
	        0);
	assert_string_equal(c->migrations_dir, "db/mig");
	assert_int_equal(
	        pgw_config_set(c, "pgward.schema", "meta", "flag", &fx->err),
	        0);
	assert_string_equal(c->schema, "meta");
	assert_int_equal(
	        pgw_config_set(c, "backup.keep", "3", "flag", &fx->err), 0);
	assert_string_equal(c->backup_keep, "3");
	assert_int_equal(pgw_config_set(c, "git.tag_pattern", "release-*",
	                                "flag", &fx->err),
	                 0);
	assert_string_equal(c->tag_pattern, "release-*");
	assert_int_equal(fx->err.code, PGW_OK);
}

static void test_config__set_int(void **state)
{
	struct fx *fx = *state;
	struct pgw_config *c = &fx->cfg;

	assert_int_equal(
	        pgw_config_set(c, "migrations.timeout", "42", "flag", &fx->err),
	        0);
	assert_int_equal(c->timeout_s, 42);
	/* a lock timeout of 0 would mean none at all: refused */
	assert_int_equal(pgw_config_set(c, "migrations.lock_timeout", "0",
	                                "flag", &fx->err),
	                 PGW_EINVAL);
	assert_non_null(strstr(fx->err.msg, ">= 1"));
	pgw_err_clear(&fx->err);
	assert_int_equal(pgw_config_set(c, "migrations.lock_timeout", "5",
	                                "flag", &fx->err),
	                 0);
	assert_int_equal(c->lock_timeout_ms, 5);
	assert_int_equal(pgw_config_set(c, "migrations.max_lock_hold", "2",
	                                "flag", &fx->err),
	                 0);
	assert_int_equal(c->max_lock_hold_s, 2);
	assert_int_equal(pgw_config_set(c, "migrations.concurrent_timeout",
	                                "7200", "flag", &fx->err),
	                 0);
	assert_int_equal(c->concurrent_timeout_s, 7200);
	assert_false(c->wait_set);
	assert_int_equal(
	        pgw_config_set(c, "deploy.wait", "0", "flag", &fx->err), 0);
	assert_int_equal(c->wait_s, 0);
	assert_true(c->wait_set);
}

static void test_config__set_bool(void **state)
{
	struct fx *fx = *state;
	struct pgw_config *c = &fx->cfg;
	static const char *const yes[] = { "true", "TRUE", "1", "yes", "on" };
	static const char *const no[] = { "false", "0", "No", "off", "" };
	size_t i;

	for (i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
		c->auto_migrate = false;
		assert_int_equal(pgw_config_set(c, "library.auto_migrate",
		                                yes[i], "env", &fx->err),
		                 0);
		assert_true(c->auto_migrate);
	}
	for (i = 0; i < sizeof(no) / sizeof(no[0]); i++) {
		c->auto_migrate = true;
		assert_int_equal(pgw_config_set(c, "library.auto_migrate",
		                                no[i], "env", &fx->err),
		                 0);
		assert_false(c->auto_migrate);
	}
	assert_int_equal(pgw_config_set(c, "library.auto_migrate", "maybe",
	                                "env", &fx->err),
	                 PGW_EINVAL);
	assert_non_null(strstr(fx->err.msg, "maybe"));
	assert_false(c->auto_migrate);
}

static void test_config__bad_int_is_einval(void **state)
{
	struct fx *fx = *state;
	static const char *const bad[] = { "abc", "-1",          "12x",
		                           "",    "99999999999", " 5x" };
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		pgw_err_clear(&fx->err);
		assert_int_equal(pgw_config_set(&fx->cfg, "migrations.timeout",
		                                bad[i], "--timeout", &fx->err),
		                 PGW_EINVAL);
		assert_int_equal(fx->err.code, PGW_EINVAL);
		assert_non_null(strstr(fx->err.msg, "--timeout"));
		assert_non_null(strstr(fx->err.msg, "migrations.timeout"));
		assert_int_equal(fx->cfg.timeout_s, 300);
	}
}

static void test_config__unknown_key_is_einval(void **state)
{
	struct fx *fx = *state;

	assert_int_equal(pgw_config_set(&fx->cfg, "migrations.timout", "5",
	                                "flag", &fx->err),
	                 PGW_EINVAL);
	assert_non_null(strstr(fx->err.msg, "'migrations.timout'"));
}

static void test_config__load_ini_sets_known_keys(void **state)
{
	struct fx *fx = *state;
	struct pgw_config *c = &fx->cfg;

	write_ini(fx, "; pgward settings\n"
	              "[database]\n"
	              "url = postgres://app@db/prod\n"
	              "direct_url = postgres://app@db-direct/prod\n"
	              "\n"
	              "[migrations]\n"
	              "dir = db/migrations\n"
	              "timeout = 60\n"
	              "lock_timeout = 250\n"
	              "[pgward]\n"
	              "schema = deploy_meta\n"
	              "[deploy]\n"
	              "wait = 7\n"
	              "[backup]\n"
	              "keep = 3\n"
	              "[notify]\n"
	              "url = https://hooks.example/x\n");
	assert_int_equal(pgw_config_load(c, fx->ini, &fx->err), 0);
	assert_int_equal(fx->err.code, PGW_OK);
	assert_string_equal(c->database_url, "postgres://app@db/prod");
	assert_string_equal(c->direct_url, "postgres://app@db-direct/prod");
	assert_string_equal(c->migrations_dir, "db/migrations");
	assert_int_equal(c->timeout_s, 60);
	assert_int_equal(c->lock_timeout_ms, 250);
	assert_string_equal(c->schema, "deploy_meta");
	assert_int_equal(c->wait_s, 7);
	assert_true(c->wait_set);
	assert_string_equal(c->backup_keep, "3");
	assert_string_equal(c->notify_url, "https://hooks.example/x");
	/* untouched settings keep their defaults */
	assert_int_equal(c->max_lock_hold_s, 10);
	assert_false(c->auto_migrate);
	assert_non_null(c->config_file);
	assert_string_equal(c->config_file, fx->ini);
}

static void test_config__ini_unknown_key_names_line(void **state)
{
	struct fx *fx = *state;

	write_ini(fx, "[migrations]\n"
	              "dir = x\n"
	              "\n"
	              "[migrations]\n"
	              "timout = 5\n");
	assert_int_equal(pgw_config_load(&fx->cfg, fx->ini, &fx->err),
	                 PGW_EINVAL);
	assert_int_equal(fx->err.code, PGW_EINVAL);
	assert_non_null(strstr(fx->err.msg, "pgward.ini:5:"));
	assert_non_null(strstr(fx->err.msg, "timout"));
}

static void test_config__ini_auto_migrate_is_environment_only(void **state)
{
	struct fx *fx = *state;

	write_ini(fx, "[library]\nauto_migrate = true\n");
	assert_int_equal(pgw_config_load(&fx->cfg, fx->ini, &fx->err),
	                 PGW_EINVAL);
	assert_non_null(strstr(fx->err.msg, "pgward.ini:2:"));
	assert_non_null(strstr(fx->err.msg, "auto_migrate"));
	assert_false(fx->cfg.auto_migrate);
}

static void test_config__ini_bad_int_names_line(void **state)
{
	struct fx *fx = *state;

	write_ini(fx, "[migrations]\n"
	              "dir = x\n"
	              "timeout = soon\n");
	assert_int_equal(pgw_config_load(&fx->cfg, fx->ini, &fx->err),
	                 PGW_EINVAL);
	assert_non_null(strstr(fx->err.msg, "pgward.ini:3:"));
	assert_non_null(strstr(fx->err.msg, "soon"));
	assert_int_equal(fx->cfg.timeout_s, 300);
}

static void test_config__ini_syntax_error_names_line(void **state)
{
	struct fx *fx = *state;

	write_ini(fx, "[migrations]\n"
	              "dir = x\n"
	              "this line has no equals sign\n");
	assert_int_equal(pgw_config_load(&fx->cfg, fx->ini, &fx->err),
	                 PGW_EINVAL);
	assert_non_null(strstr(fx->err.msg, "pgward.ini:3:"));
}

static void test_config__missing_explicit_file_is_error(void **state)
{
	struct fx *fx = *state;

	assert_int_equal(pgw_config_load(&fx->cfg, fx->ini, &fx->err),
	                 PGW_EINVAL);
	assert_non_null(strstr(fx->err.msg, fx->ini));
	assert_null(fx->cfg.config_file);
}

static void test_config__missing_file_from_pgward_config_is_error(void **state)
{
	struct fx *fx = *state;

	assert_int_equal(setenv("PGWARD_CONFIG", fx->ini, 1), 0);
	assert_int_equal(pgw_config_load(&fx->cfg, NULL, &fx->err), PGW_EINVAL);
	assert_non_null(strstr(fx->err.msg, fx->ini));
}

static void test_config__pgward_config_names_the_file(void **state)
{
	struct fx *fx = *state;

	write_ini(fx, "[pgward]\nschema = from_env_file\n");
	assert_int_equal(setenv("PGWARD_CONFIG", fx->ini, 1), 0);
	assert_int_equal(pgw_config_load(&fx->cfg, NULL, &fx->err), 0);
	assert_string_equal(fx->cfg.schema, "from_env_file");
	assert_string_equal(fx->cfg.config_file, fx->ini);
}

static void test_config__default_ini_absent_is_fine(void **state)
{
	struct fx *fx = *state;

	assert_int_equal(chdir(fx->dir), 0);
	assert_int_equal(pgw_config_load(&fx->cfg, NULL, &fx->err), 0);
	assert_int_equal(fx->err.code, PGW_OK);
	assert_null(fx->cfg.config_file);
	assert_string_equal(fx->cfg.migrations_dir, "migrations");
	assert_int_equal(fx->cfg.timeout_s, 300);
}

static void test_config__default_ini_present_is_read(void **state)
{
	struct fx *fx = *state;

	write_ini(fx, "[migrations]\ntimeout = 11\n");
	assert_int_equal(chdir(fx->dir), 0);
	assert_int_equal(pgw_config_load(&fx->cfg, NULL, &fx->err), 0);
	assert_int_equal(fx->cfg.timeout_s, 11);
	assert_non_null(fx->cfg.config_file);
	assert_string_equal(fx->cfg.config_file, "pgward.ini");
}

static void test_config__environment_without_ini(void **state)
{
	struct fx *fx = *state;

	assert_int_equal(chdir(fx->dir), 0);
	assert_int_equal(setenv("DATABASE_URL", "postgres://env@db/x", 1), 0);
	assert_int_equal(setenv("AUTO_MIGRATE_ON_START", "true", 1), 0);
	assert_int_equal(pgw_config_load(&fx->cfg, NULL, &fx->err), 0);
	assert_string_equal(fx->cfg.database_url, "postgres://env@db/x");
	assert_true(fx->cfg.auto_migrate);
	assert_null(fx->cfg.config_file);
}

static void test_config__precedence_flag_env_ini_default(void **state)
{
	struct fx *fx = *state;
	struct pgw_config *c = &fx->cfg;

	write_ini(fx, "[database]\n"
	              "url = postgres://ini@db/x\n"
	              "[migrations]\n"
	              "dir = from_ini\n"
	              "timeout = 10\n"
	              "lock_timeout = 20\n"
	              "[pgward]\n"
	              "schema = ini_schema\n");
	assert_int_equal(setenv("PGWARD_MIGRATIONS", "from_env", 1), 0);
	assert_int_equal(setenv("MIGRATION_TIMEOUT", "30", 1), 0);
	assert_int_equal(setenv("DATABASE_URL", "postgres://env@db/x", 1), 0);
	assert_int_equal(setenv("AUTO_MIGRATE_ON_START", "1", 1), 0);
	assert_int_equal(pgw_config_load(c, fx->ini, &fx->err), 0);
	/* environment over ini */
	assert_string_equal(c->migrations_dir, "from_env");
	assert_int_equal(c->timeout_s, 30);
	assert_string_equal(c->database_url, "postgres://env@db/x");
	assert_true(c->auto_migrate);
	/* ini over default where no environment variable is set */
	assert_int_equal(c->lock_timeout_ms, 20);
	assert_string_equal(c->schema, "ini_schema");
	/* default where neither is */
	assert_int_equal(c->max_lock_hold_s, 10);
	/* flags, applied after load, over everything */
	assert_int_equal(pgw_config_set(c, "migrations.dir", "from_flag",
	                                "--migrations", &fx->err),
	                 0);
	assert_int_equal(pgw_config_set(c, "migrations.timeout", "40",
	                                "--timeout", &fx->err),
	                 0);
	assert_int_equal(pgw_config_set(c, "database.url",
	                                "postgres://flag@db/x", "-d", &fx->err),
	                 0);
	assert_string_equal(c->migrations_dir, "from_flag");
	assert_int_equal(c->timeout_s, 40);
	assert_string_equal(c->database_url, "postgres://flag@db/x");
}

static void test_config__empty_environment_variable_ignored(void **state)
{
	struct fx *fx = *state;

	write_ini(fx, "[migrations]\ndir = from_ini\n");
	assert_int_equal(setenv("PGWARD_MIGRATIONS", "", 1), 0);
	assert_int_equal(pgw_config_load(&fx->cfg, fx->ini, &fx->err), 0);
	assert_string_equal(fx->cfg.migrations_dir, "from_ini");
}

static void test_config__bad_environment_value_names_variable(void **state)
{
	struct fx *fx = *state;

	assert_int_equal(chdir(fx->dir), 0);
	assert_int_equal(setenv("MIGRATION_TIMEOUT", "soon", 1), 0);
	assert_int_equal(pgw_config_load(&fx->cfg, NULL, &fx->err), PGW_EINVAL);
	assert_non_null(strstr(fx->err.msg, "MIGRATION_TIMEOUT"));
	assert_non_null(strstr(fx->err.msg, "soon"));
	assert_int_equal(fx->cfg.timeout_s, 300);
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_config__defaults),
		T(test_config__set_string),
		T(test_config__set_int),
		T(test_config__set_bool),
		T(test_config__bad_int_is_einval),
		T(test_config__unknown_key_is_einval),
		T(test_config__load_ini_sets_known_keys),
		T(test_config__ini_unknown_key_names_line),
		T(test_config__ini_auto_migrate_is_environment_only),
		T(test_config__ini_bad_int_names_line),
		T(test_config__ini_syntax_error_names_line),
		T(test_config__missing_explicit_file_is_error),
		T(test_config__missing_file_from_pgward_config_is_error),
		T(test_config__pgward_config_names_the_file),
		T(test_config__default_ini_absent_is_fine),
		T(test_config__default_ini_present_is_read),
		T(test_config__environment_without_ini),
		T(test_config__precedence_flag_env_ini_default),
		T(test_config__empty_environment_variable_ignored),
		T(test_config__bad_environment_value_names_variable),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
