/* test_verify.c - schema dump, verify, the expected-schema hash, drift and
 * the verification a deploy runs before its last COMMIT (core/verify.c),
 * against a real database migrated with pgw_up from migration files on
 * disk and a schema.sql written by pgw_schema_dump. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <libpq-fe.h>

#include "fixture.h"
#include "fixture_cfg.h"
#include "fixture_pg.h"
#include "pgward.h"
#include "verify.h"

#define DB "ut_verify"

struct fx {
	char *conninfo;
	PGconn *c;
	char *dir;
	char mig[4096]; /* dir/migrations */
	struct pgw_config cfg;
	struct pgw_err err;
	struct pgw_verify_report *rep;
	struct pgw_verify_hook *hook;
	char *text;
};

/* What the library logged at warning level and above. */
static char warnings[4096];

static void on_log(enum pgw_log_level level, const char *msg, void *payload)
{
	size_t n = strlen(warnings);

	(void)payload;
	if (level >= PGW_LOG_WARN)
		snprintf(warnings + n, sizeof(warnings) - n, "%s\n", msg);
}

static int teardown(void **state);

static int setup(void **state)
{
	struct fx *fx = calloc(1, sizeof(*fx));

	if (!fx)
		return -1;
	*state = fx;
	warnings[0] = '\0';
	pgw_log_set_sink(on_log, NULL, PGW_LOG_WARN);
	if (fixture_cfg_open(&fx->cfg, DB, &fx->conninfo, &fx->c, &fx->dir,
	                     &fx->err) == 0 &&
	    fixture_cfg_deploy(&fx->cfg, fx->mig, fx->dir, &fx->err) == 0)
		return 0;
	/* the teardown is not run when the setup fails */
	teardown(state);
	return -1;
}

static int teardown(void **state)
{
	struct fx *fx = *state;

	pgw_log_set_sink(NULL, NULL, PGW_LOG_NOTICE);
	pgw_verify_report_free(fx->rep);
	pgw_verify_hook_free(fx->hook);
	free(fx->text);
	fixture_cfg_close(&fx->cfg, DB, fx->conninfo, fx->c, fx->dir);
	free(fx);
	return 0;
}

/* ---------------------------------------------------------------------- */
/* helpers */

static const char m001[] =
        "-- migrate:up\n"
        "CREATE TABLE public.t (id int PRIMARY KEY, s text, n int);\n"
        "CREATE INDEX t_s_idx ON public.t (s);\n"
        "-- migrate:down\n"
        "DROP TABLE public.t;\n"
        "-- migrate:verify\n"
        "SELECT count(*) < 5 FROM public.t;\n";

/* schema.sql from the live database, as `pgward schema dump -o` does. */
static void dump_schema_sql(struct fx *fx)
{
	free(fx->text);
	fx->text = NULL;
	if (pgw_schema_dump(&fx->text, &fx->cfg, &fx->err) != 0)
		fail_msg("pgw_schema_dump: %s", fx->err.msg);
	fixture_put(fx->mig, "schema.sql", fx->text);
}

static void verify_ok(struct fx *fx)
{
	pgw_verify_report_free(fx->rep);
	fx->rep = NULL;
	pgw_err_clear(&fx->err);
	if (pgw_verify(&fx->rep, &fx->cfg, &fx->err) != 0)
		fail_msg("pgw_verify: %d %s", fx->err.code, fx->err.msg);
	assert_non_null(fx->rep);
}

static const struct pgw_schema_change *
change(const struct pgw_verify_report *r, const char *kind, const char *name)
{
	size_t i;

	for (i = 0; i < r->n_changes; i++)
		if (!strcmp(r->changes[i].kind, kind) &&
		    !strcmp(r->changes[i].name, name))
			return &r->changes[i];
	print_message("%s\n", r->text ? r->text : "(no text)");
	fail_msg("no change of %s %s", kind, name);
	return NULL;
}

/* ---------------------------------------------------------------------- */
/* files */

static void test_verify__schema_file_is_in_the_migrations_dir(void **state)
{
	struct fx *fx = *state;
	char want[4200];

	snprintf(want, sizeof(want), "%s/schema.sql", fx->mig);
	fx->text = pgw_schema_file(&fx->cfg);
	assert_string_equal(fx->text, want);
	free(fx->text);
	fx->text = NULL;
	/* none yet: nothing, and no error */
	assert_int_equal(pgw_read_schema_file(&fx->text, &fx->cfg, &fx->err),
	                 0);
	assert_null(fx->text);
	fixture_put(fx->mig, "schema.sql", "-- anything\n");
	assert_int_equal(pgw_read_schema_file(&fx->text, &fx->cfg, &fx->err),
	                 0);
	assert_string_equal(fx->text, "-- anything\n");
}

static void test_verify__dump_leaves_out_pgwards_schema(void **state)
{
	struct fx *fx = *state;

	fixture_put(fx->mig, "001_create_t.sql", m001);
	fixture_up(&fx->cfg, FIXTURE_ALL, &fx->err);
	assert_int_equal(pgw_schema_dump(&fx->text, &fx->cfg, &fx->err), 0);
	assert_int_equal(
	        strncmp(fx->text, "-- pgward schema dump: PostgreSQL ", 34), 0);
	assert_non_null(strstr(fx->text, ", migrations at 001\n"));
	assert_non_null(strstr(fx->text, "CREATE TABLE public.t ("));
	assert_non_null(strstr(fx->text, "CREATE INDEX t_s_idx ON public.t"));
	assert_null(strstr(fx->text, "pgward."));
	assert_null(strstr(fx->text, "OWNER TO"));
}

/* ---------------------------------------------------------------------- */
/* verify */

static void test_verify__live_schema_equal_to_schema_sql_passes(void **state)
{
	struct fx *fx = *state;

	fixture_put(fx->mig, "001_create_t.sql", m001);
	fixture_up(&fx->cfg, FIXTURE_ALL, &fx->err);
	dump_schema_sql(fx);
	verify_ok(fx);
	assert_int_equal(fx->rep->n_changes, 0);
	assert_null(fx->rep->failed);
	/* the verify section of the last deploy ran, and passed */
	assert_int_equal(fx->rep->n_verified, 1);
	assert_non_null(strstr(fx->rep->schema_file, "/migrations/schema.sql"));
}

static void test_verify__index_dropped_by_hand_is_missing(void **state)
{
	struct fx *fx = *state;
	const struct pgw_schema_change *ch;

	fixture_put(fx->mig, "001_create_t.sql", m001);
	fixture_up(&fx->cfg, FIXTURE_ALL, &fx->err);
	dump_schema_sql(fx);
	fixture_pg_sql(fx->c, "DROP INDEX public.t_s_idx;"
	                      "ALTER TABLE public.t ALTER COLUMN n TYPE bigint;"
	                      "CREATE TABLE public.extra (x int)");
	verify_ok(fx);
	assert_int_equal(fx->rep->n_changes, 3);
	ch = change(fx->rep, "index", "t_s_idx");
	assert_string_equal(ch->what, "missing");
	ch = change(fx->rep, "column", "t.n");
	assert_string_equal(ch->what, "integer -> bigint");
	ch = change(fx->rep, "table", "extra");
	assert_string_equal(ch->what, "not in schema.sql");
	assert_non_null(fx->rep->text);
	assert_non_null(strstr(fx->rep->text, "t_s_idx"));
	assert_non_null(strstr(fx->rep->text, "missing"));

	/* [verify] ignore leaves out what it names */
	assert_int_equal(
	        pgw_config_set(&fx->cfg, "verify.ignore",
	                       "index:public.t_s_idx, table:public.ex*", NULL,
	                       &fx->err),
	        0);
	verify_ok(fx);
	assert_int_equal(fx->rep->n_changes, 1);
	change(fx->rep, "column", "t.n");
}

static void test_verify__without_schema_sql_says_how_to_write_it(void **state)
{
	struct fx *fx = *state;
	char hint[4300];

	fixture_put(fx->mig, "001_create_t.sql", m001);
	fixture_up(&fx->cfg, FIXTURE_ALL, &fx->err);
	assert_int_not_equal(pgw_verify(&fx->rep, &fx->cfg, &fx->err), 0);
	assert_null(fx->rep);
	assert_int_equal(fx->err.code, PGW_EINVAL);
	snprintf(hint, sizeof(hint), "pgward schema dump -o %s/schema.sql",
	         fx->mig);
	assert_non_null(strstr(fx->err.hint, hint));
}

static void
test_verify__bad_schema_sql_is_refused_before_connecting(void **state)
{
	struct fx *fx = *state;

	fixture_put(fx->mig, "schema.sql",
	            "-- pgward schema dump: PostgreSQL 15\n\n"
	            "CREATE TABLE public.t (id int;\n");
	assert_int_equal(pgw_config_set(&fx->cfg, "database.url",
	                                "dbname=ut_verify_nowhere", NULL,
	                                &fx->err),
	                 0);
	assert_int_not_equal(pgw_verify(&fx->rep, &fx->cfg, &fx->err), 0);
	assert_null(fx->rep);
	assert_int_equal(fx->err.code, PGW_EINVAL);
	assert_non_null(strstr(fx->err.msg, "schema.sql"));
}

static void test_verify__sections_of_the_last_deploy_are_run(void **state)
{
	struct fx *fx = *state;

	fixture_put(fx->mig, "001_create_t.sql", m001);
	fixture_up(&fx->cfg, FIXTURE_ALL, &fx->err);
	fixture_put(fx->mig, "002_more.sql",
	            "-- migrate:up\nCREATE TABLE public.u (id int);\n"
	            "-- migrate:verify\nSELECT count(*) = 0 FROM public.u;\n");
	fixture_up(&fx->cfg, FIXTURE_ALL, &fx->err);
	dump_schema_sql(fx);
	fixture_pg_sql(fx->c, "INSERT INTO public.t SELECT g, 'x', g FROM"
	                      " generate_series(1, 10) g;"
	                      "INSERT INTO public.u VALUES (1)");
	verify_ok(fx);
	/* 001 came with an earlier run: only 002's section runs */
	assert_int_equal(fx->rep->n_verified, 1);
	assert_string_equal(fx->rep->failed, "002_more.sql: verify 'SELECT "
	                                     "count(*) = 0 FROM public.u' "
	                                     "returned false\n");
	assert_int_equal(fx->rep->n_changes, 0);
}

static void test_verify__sections_run_read_only(void **state)
{
	struct fx *fx = *state;
	char n[32];
	PGresult *res;

	fixture_put(fx->mig, "001_create_t.sql",
	            "-- migrate:up\nCREATE TABLE public.t (id int);\n"
	            "-- migrate:verify\nSELECT true;\n"
	            "-- migrate:down\nDROP TABLE public.t;\n");
	fixture_up(&fx->cfg, FIXTURE_ALL, &fx->err);
	dump_schema_sql(fx);
	/* a verify section that writes: refused by the read-only
	 * transaction, reported, nothing written */
	fixture_pg_sql(fx->c,
	               "UPDATE pgward.migrations SET verify_sql ="
	               " 'INSERT INTO public.t VALUES (1) RETURNING true'");
	verify_ok(fx);
	assert_non_null(fx->rep->failed);
	assert_non_null(strstr(fx->rep->failed,
	                       "001_create_t.sql: verify "
	                       "'INSERT INTO public.t VALUES (1) "
	                       "RETURNING true': cannot execute "
	                       "INSERT in a read-only "
	                       "transaction"));
	res = PQexec(fx->c, "SELECT count(*) FROM public.t");
	snprintf(n, sizeof(n), "%s", PQgetvalue(res, 0, 0));
	PQclear(res);
	assert_string_equal(n, "0");
}

/* ---------------------------------------------------------------------- */
/* the expected-schema hash and drift */

static void
test_verify__expected_hash_needs_a_versioned_schema_sql(void **state)
{
	struct fx *fx = *state;
	char *hash = NULL;
	int64_t version = 99;

	/* no schema.sql */
	assert_int_equal(pgw_expected_hash(&hash, &version, &fx->cfg, &fx->err),
	                 0);
	assert_null(hash);
	assert_int_equal(version, -1);
	assert_string_equal(warnings, "");

	/* one without a version (a database without history) */
	dump_schema_sql(fx);
	assert_null(strstr(fx->text, "migrations at"));
	assert_int_equal(pgw_expected_hash(&hash, &version, &fx->cfg, &fx->err),
	                 0);
	assert_null(hash);

	/* at 001 */
	fixture_put(fx->mig, "001_create_t.sql", m001);
	fixture_up(&fx->cfg, FIXTURE_ALL, &fx->err);
	dump_schema_sql(fx);
	assert_int_equal(pgw_expected_hash(&hash, &version, &fx->cfg, &fx->err),
	                 0);
	/* the SHA-256, then the roles grants were kept for (none) */
	assert_non_null(hash);
	assert_int_equal(strspn(hash, "0123456789abcdef"), 64);
	assert_string_equal(hash + 64, "\n");
	assert_int_equal(version, 1);
	free(hash);
	hash = NULL;

	/* one that does not parse: no hash, a warning */
	fixture_put(fx->mig, "schema.sql",
	            "-- pgward schema dump: PostgreSQL 15, "
	            "migrations at 001\nCREATE TABLE (;\n");
	assert_int_equal(pgw_expected_hash(&hash, &version, &fx->cfg, &fx->err),
	                 0);
	assert_null(hash);
	assert_non_null(strstr(warnings, "no expected-schema hash recorded"));
	assert_int_equal(fx->err.code, 0);
}

static void test_verify__drift_against_the_stored_hash(void **state)
{
	struct fx *fx = *state;
	enum pgw_drift d = PGW_DRIFT_FOUND;

	/* no history: nothing to compare with */
	assert_int_equal(pgw_drift(&d, &fx->cfg, &fx->err), 0);
	assert_int_equal(d, PGW_DRIFT_UNKNOWN);

	/* applied without schema.sql: no hash stored */
	fixture_put(fx->mig, "001_create_t.sql", m001);
	fixture_up(&fx->cfg, FIXTURE_ALL, &fx->err);
	assert_int_equal(pgw_drift(&d, &fx->cfg, &fx->err), 0);
	assert_int_equal(d, PGW_DRIFT_UNKNOWN);

	/* applied again with schema.sql at its version: the hash is stored */
	dump_schema_sql(fx);
	fixture_down(&fx->cfg, 0, &fx->err);
	fixture_up(&fx->cfg, FIXTURE_ALL, &fx->err);
	assert_int_equal(pgw_drift(&d, &fx->cfg, &fx->err), 0);
	assert_int_equal(d, PGW_DRIFT_NONE);

	/* rows are no drift; a schema change is */
	fixture_pg_sql(fx->c, "INSERT INTO public.t VALUES (1, 'a', 1)");
	assert_int_equal(pgw_drift(&d, &fx->cfg, &fx->err), 0);
	assert_int_equal(d, PGW_DRIFT_NONE);
	fixture_pg_sql(fx->c, "ALTER TABLE public.t ADD COLUMN sneaky int");
	assert_int_equal(pgw_drift(&d, &fx->cfg, &fx->err), 0);
	assert_int_equal(d, PGW_DRIFT_FOUND);
	/* what [verify] ignore names is not drift */
	assert_int_equal(pgw_config_set(&fx->cfg, "verify.ignore",
	                                "column:public.t.sneaky", NULL,
	                                &fx->err),
	                 0);
	assert_int_equal(pgw_drift(&d, &fx->cfg, &fx->err), 0);
	assert_int_equal(d, PGW_DRIFT_NONE);
}

/* ---------------------------------------------------------------------- */
/* the deploy's verification before COMMIT */

static void test_verify__hook_compares_inside_the_transaction(void **state)
{
	struct fx *fx = *state;

	fixture_put(fx->mig, "001_create_t.sql", m001);
	fixture_up(&fx->cfg, FIXTURE_ALL, &fx->err);
	dump_schema_sql(fx);

	/* nothing to compare with: no hook */
	assert_int_equal(
	        pgw_verify_hook(&fx->hook, &fx->cfg, NULL, "001", &fx->err), 0);
	assert_null(fx->hook);
	/* schema.sql of another version: no hook, a warning */
	assert_int_equal(
	        pgw_verify_hook(&fx->hook, &fx->cfg, fx->text, "002", &fx->err),
	        0);
	assert_null(fx->hook);
	assert_non_null(strstr(warnings,
	                       "schema.sql is at 001, the run goes to "
	                       "002"));
	assert_int_equal(fx->err.code, 0);

	assert_int_equal(
	        pgw_verify_hook(&fx->hook, &fx->cfg, fx->text, "1", &fx->err),
	        0);
	assert_non_null(fx->hook);
	fixture_pg_sql(fx->c, "BEGIN");
	assert_int_equal(pgw_verify_hook_run(fx->c, fx->hook, &fx->err), 0);
	/* what the transaction changed is what is compared */
	fixture_pg_sql(fx->c, "ALTER TABLE public.t ADD COLUMN late text");
	assert_int_equal(pgw_verify_hook_run(fx->c, fx->hook, &fx->err),
	                 PGW_EFAILED);
	assert_string_equal(fx->err.msg, "verification failed: the schema "
	                                 "differs from schema.sql in 1 place");
	assert_non_null(strstr(fx->err.detail, "t.late"));
	fixture_pg_sql(fx->c, "ROLLBACK");
	pgw_err_clear(&fx->err);
	assert_int_equal(pgw_verify_hook_run(fx->c, fx->hook, &fx->err), 0);
}

static void
test_verify__hook_refuses_a_schema_sql_that_does_not_parse(void **state)
{
	struct fx *fx = *state;

	assert_int_not_equal(
	        pgw_verify_hook(&fx->hook, &fx->cfg,
	                        "-- pgward schema dump: PostgreSQL "
	                        "15, migrations at 001\n"
	                        "CREATE TABLE (;\n",
	                        "001", &fx->err),
	        0);
	assert_null(fx->hook);
	assert_non_null(strstr(fx->err.msg, "schema.sql"));
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_verify__schema_file_is_in_the_migrations_dir),
		T(test_verify__dump_leaves_out_pgwards_schema),
		T(test_verify__live_schema_equal_to_schema_sql_passes),
		T(test_verify__index_dropped_by_hand_is_missing),
		T(test_verify__without_schema_sql_says_how_to_write_it),
		T(test_verify__bad_schema_sql_is_refused_before_connecting),
		T(test_verify__sections_of_the_last_deploy_are_run),
		T(test_verify__sections_run_read_only),
		T(test_verify__expected_hash_needs_a_versioned_schema_sql),
		T(test_verify__drift_against_the_stored_hash),
		T(test_verify__hook_compares_inside_the_transaction),
		T(test_verify__hook_refuses_a_schema_sql_that_does_not_parse),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
