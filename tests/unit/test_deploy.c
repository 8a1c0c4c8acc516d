/* test_deploy.c - the guarded deploy (core/deploy.c, docs/deploy.md) on a
 * real database with migration files on disk: the stages and their
 * journal, the archive it takes, nothing to do, --dry-run, the schema
 * compared before COMMIT, failures rolled back by the transaction or by
 * the way back (stored down SQL; the touched rows from the archive with
 * writes stopped; a human otherwise), and what it refuses before
 * anything changes. */
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

#include "archive.h"
#include "fixture.h"
#include "fixture_cfg.h"
#include "fixture_pg.h"
#include "journal.h"
#include "lock.h"
#include "pgward.h"

#define DB "ut_deploy"

struct fx {
	char *conninfo;
	PGconn *c, *other;
	char *dir;
	char mig[4096];     /* dir/migrations */
	char backups[4096]; /* dir/backups */
	struct pgw_config cfg;
	struct pgw_err err;
	struct pgw_deploy_opts o;
	struct pgw_deploy_report *r;
	struct pgw_manifest *m;
	char *text;
};

static int teardown(void **state);

static int setup(void **state)
{
	struct fx *fx = calloc(1, sizeof(*fx));

	if (!fx)
		return -1;
	*state = fx;
	if (fixture_cfg_open(&fx->cfg, DB, &fx->conninfo, &fx->c, &fx->dir,
	                     &fx->err) == 0 &&
	    fixture_cfg_deploy(&fx->cfg, fx->mig, fx->dir, &fx->err) == 0) {
		snprintf(fx->backups, sizeof(fx->backups), "%s/backups",
		         fx->dir);
		if (pgw_config_set(&fx->cfg, "backup.dir", fx->backups, NULL,
		                   &fx->err) == 0)
			return 0;
	}
	/* the teardown is not run when the setup fails */
	teardown(state);
	return -1;
}

static int teardown(void **state)
{
	struct fx *fx = *state;

	pgw_deploy_report_free(fx->r);
	pgw_manifest_free(fx->m);
	free(fx->text);
	PQfinish(fx->other);
	fixture_cfg_close(&fx->cfg, DB, fx->conninfo, fx->c, fx->dir);
	free(fx);
	return 0;
}

/* ---------------------------------------------------------------------- */
/* helpers */

/* public.t (id, s) with rows 1 a, 2 b, 3 c (fixture_cfg.h) */
static const char m001[] = FIXTURE_MIG_T;
static const char m002[] = "-- migrate:up\n"
                           "ALTER TABLE public.t ADD COLUMN n int;\n"
                           "CREATE INDEX t_s_idx ON public.t (s);\n"
                           "-- migrate:down\n"
                           "DROP INDEX public.t_s_idx;\n"
                           "ALTER TABLE public.t DROP COLUMN n;\n";
/* fails outside a transaction, after what comes before it committed */
static const char m_notx_fails[] =
        "-- migrate:up transaction:false\n"
        "CREATE INDEX CONCURRENTLY IF NOT EXISTS t_bad ON public.t (nope);\n"
        "-- migrate:down transaction:false\n"
        "DROP INDEX CONCURRENTLY IF EXISTS public.t_bad;\n";

/* The first value of a one-row query (one parameter or none), "" when
 * there is no row, "(null)" for NULL; into fx->text. */
static const char *value(struct fx *fx, const char *q, const char *param)
{
	PGresult *res = PQexecParams(fx->c, q, param ? 1 : 0, NULL, &param,
	                             NULL, NULL, 0);

	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		PQclear(res);
		fail_msg("%s: %s", q, PQerrorMessage(fx->c));
	}
	free(fx->text);
	fx->text = strdup(PQntuples(res) == 0      ? ""
	                  : PQgetisnull(res, 0, 0) ? "(null)"
	                                           : PQgetvalue(res, 0, 0));
	PQclear(res);
	return fx->text;
}

/* schema.sql as the database is after `up` to `version`; the database
 * is taken back to nothing after. */
static void schema_sql_at(struct fx *fx, int64_t version, const char *extra)
{
	char *text = NULL;
	struct pgw_buf b = PGW_BUF_INIT;

	fixture_up(&fx->cfg, version, &fx->err);
	if (pgw_schema_dump(&text, &fx->cfg, &fx->err) != 0)
		fail_msg("pgw_schema_dump: %s", fx->err.msg);
	pgw_buf_puts(&b, text);
	free(text);
	if (extra)
		pgw_buf_puts(&b, extra);
	assert_false(pgw_buf_oom(&b));
	free(fx->text);
	fx->text = pgw_buf_detach(&b);
	fixture_put(fx->mig, "schema.sql", fx->text);
	fixture_down(&fx->cfg, 0, &fx->err);
}

static int deploy(struct fx *fx)
{
	pgw_deploy_report_free(fx->r);
	fx->r = NULL;
	pgw_err_clear(&fx->err);
	return pgw_deploy(&fx->r, &fx->cfg, &fx->o, &fx->err);
}

static void deploy_ok(struct fx *fx)
{
	if (deploy(fx) != 0)
		fail_msg("pgw_deploy: %d %s (%s) (%s)", fx->err.code,
		         fx->err.msg, fx->err.detail, fx->err.hint);
	assert_non_null(fx->r);
}

static void stages_are(const struct pgw_deploy_report *r, const char *want)
{
	struct pgw_buf b = PGW_BUF_INIT;
	size_t i;

	for (i = 0; i < r->n_stages; i++)
		pgw_buf_printf(&b, "%s%s %s", i ? ", " : "", r->stages[i].name,
		               r->stages[i].status);
	assert_false(pgw_buf_oom(&b));
	if (strcmp(b.ptr, want) != 0) {
		print_message("stages: %s\n", b.ptr);
		pgw_buf_release(&b);
		fail_msg("stages are not '%s'", want);
	}
	pgw_buf_release(&b);
}

/* The journal's row of the deploy: "stage status from -> to". */
static const char *journal_of(struct fx *fx, const char *id)
{
	return value(fx,
	             "SELECT stage || ' ' || status || ' ' || from_version"
	             " || ' -> ' || to_version"
	             " || CASE WHEN finished_at IS NULL THEN ' unfinished'"
	             " ELSE '' END FROM pgward_journal.deploys WHERE id = $1",
	             id);
}

static bool has_relation(struct fx *fx, const char *name);

/* The versions applied, "1,2"; "no history" without the table. */
static const char *history(struct fx *fx)
{
	if (!has_relation(fx, "pgward.migrations"))
		return "no history";
	return value(fx,
	             "SELECT coalesce(string_agg(version::text, ',' ORDER BY"
	             " version), '') FROM pgward.migrations",
	             NULL);
}

static bool has_relation(struct fx *fx, const char *name)
{
	return strcmp(value(fx, "SELECT to_regclass($1) IS NOT NULL", name),
	              "t") == 0;
}

/* ---------------------------------------------------------------------- */
/* succeeding */

static void test_deploy__fresh_database_succeeds(void **state)
{
	struct fx *fx = *state;
	struct stat sb;
	char want[4400];

	fixture_put(fx->mig, "001_create_t.sql", m001);
	fixture_put(fx->mig, "002_add_n.sql", m002);
	/* a schema.sql at the target: compared before the last COMMIT */
	schema_sql_at(fx, 2, NULL);
	deploy_ok(fx);
	assert_string_equal(fx->r->status, "succeeded");
	assert_false(fx->r->nothing_to_do);
	assert_string_equal(fx->r->from, "0");
	assert_string_equal(fx->r->to, "002");
	assert_null(fx->r->way_back);
	assert_null(fx->r->error);
	stages_are(fx->r, "check ok, backup ok, migrate ok, verify ok");
	/* the archive, in the backup dir, complete */
	assert_non_null(fx->r->backup);
	assert_int_equal(
	        strncmp(fx->r->backup, fx->backups, strlen(fx->backups)), 0);
	assert_int_equal(stat(fx->r->backup, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0600);
	assert_int_equal(pgw_archive_verify(&fx->m, fx->r->backup, &fx->err),
	                 0);
	assert_string_equal(fx->m->archive_sha256, fx->r->backup_sha256);
	/* migrated, recorded as this deploy's */
	assert_string_equal(history(fx), "1,2");
	assert_string_equal(value(fx,
	                          "SELECT count(*) FROM pgward.migrations"
	                          " WHERE deploy_id = $1",
	                          fx->r->id),
	                    "2");
	assert_true(has_relation(fx, "public.t_s_idx"));
	/* and journaled, with the archive */
	assert_string_equal(journal_of(fx, fx->r->id),
	                    "notify succeeded 0 -> 002");
	snprintf(want, sizeof(want), "%s %s", fx->r->backup,
	         fx->r->backup_sha256);
	assert_string_equal(value(fx,
	                          "SELECT backup_uri || ' ' || backup_sha256"
	                          " FROM pgward_journal.deploys WHERE id = $1",
	                          fx->r->id),
	                    want);
}

static void test_deploy__second_run_has_nothing_to_do(void **state)
{
	struct fx *fx = *state;
	char id[40];

	fixture_put(fx->mig, "001_create_t.sql", m001);
	deploy_ok(fx);
	snprintf(id, sizeof(id), "%s", fx->r->id);
	deploy_ok(fx);
	assert_string_equal(fx->r->status, "nothing to do");
	assert_true(fx->r->nothing_to_do);
	assert_null(fx->r->backup);
	stages_are(fx->r, "check ok");
	assert_string_equal(fx->r->from, "001");
	assert_string_equal(fx->r->to, "001");
	/* no journal row, no archive for it */
	assert_string_equal(
	        value(fx, "SELECT count(*) FROM pgward_journal.deploys", NULL),
	        "1");
	assert_string_equal(journal_of(fx, id), "notify succeeded 0 -> 001");
}

static void test_deploy__dry_run_plans_and_changes_nothing(void **state)
{
	struct fx *fx = *state;

	fixture_put(fx->mig, "001_create_t.sql", m001);
	fixture_put(fx->mig, "002_fix.sql",
	            "-- migrate:up\nUPDATE public.t SET s = 'z';\n"
	            "-- migrate:down\nSELECT 1;\n");
	fixture_put(fx->mig, "003_index.sql", m_notx_fails);
	fixture_pg_sql(
	        fx->c,
	        "CREATE TABLE public.existing (x text);"
	        "INSERT INTO public.existing SELECT repeat('x', 100) FROM"
	        " generate_series(1, 1000)");
	fx->o.dry_run = true;
	deploy_ok(fx);
	assert_string_equal(fx->r->status, "planned");
	assert_string_equal(fx->r->plan, "apply 001_create_t.sql\n"
	                                 "apply 002_fix.sql (destructive)\n"
	                                 "apply 003_index.sql "
	                                 "(transaction:false)\n");
	assert_true(fx->r->table_bytes >= 8192);
	assert_true(fx->r->est_backup_s > 0);
	assert_true(fx->r->est_restore_s > fx->r->est_backup_s);
	stages_are(fx->r, "check ok");
	assert_null(fx->r->backup);
	/* nothing written anywhere */
	assert_false(has_relation(fx, "pgward.migrations"));
	assert_false(has_relation(fx, "pgward_journal.deploys"));
	assert_false(has_relation(fx, "public.t"));
	{
		struct stat sb;

		assert_int_not_equal(stat(fx->backups, &sb), 0);
	}
}

/* ---------------------------------------------------------------------- */
/* rolled back */

static void test_deploy__verification_failure_rolls_back(void **state)
{
	struct fx *fx = *state;

	fixture_put(fx->mig, "001_create_t.sql", m001);
	fixture_put(fx->mig, "002_add_n.sql", m002);
	/* schema.sql expects an index the migrations do not build */
	schema_sql_at(fx, 2,
	              "\nCREATE INDEX t_extra ON public.t USING btree (id);\n");
	assert_int_equal(deploy(fx), PGW_EFAILED);
	assert_string_equal(fx->r->status, "rolled back");
	assert_non_null(strstr(fx->r->error, "verification failed"));
	assert_non_null(strstr(fx->err.msg, "verification failed: the schema "
	                                    "differs from schema.sql in 1 "
	                                    "place"));
	stages_are(fx->r, "check ok, backup ok, migrate failed");
	assert_null(fx->r->way_back);
	/* the transaction rolled back: nothing of it */
	assert_false(has_relation(fx, "public.t"));
	assert_string_equal(history(fx), "");
	assert_string_equal(journal_of(fx, fx->r->id),
	                    "migrate rolled back 0 -> 002");
	/* the archive was taken first and stays */
	assert_int_equal(pgw_archive_verify(&fx->m, fx->r->backup, &fx->err),
	                 0);
}

static void test_deploy__failing_statement_rolls_back(void **state)
{
	struct fx *fx = *state;

	fixture_put(fx->mig, "001_create_t.sql", m001);
	fixture_put(fx->mig, "002_bad.sql",
	            "-- migrate:up\nALTER TABLE public.nope ADD "
	            "COLUMN x int;\n");
	assert_int_equal(deploy(fx), PGW_EFAILED);
	assert_string_equal(fx->r->status, "rolled back");
	assert_non_null(strstr(fx->r->error, "nope"));
	stages_are(fx->r, "check ok, backup ok, migrate failed");
	assert_false(has_relation(fx, "public.t"));
	assert_string_equal(history(fx), "no history");
	assert_string_equal(journal_of(fx, fx->r->id),
	                    "migrate rolled back 0 -> 002");
}

static void test_deploy__committed_part_is_reverted_with_down_sql(void **state)
{
	struct fx *fx = *state;

	fixture_put(fx->mig, "001_create_t.sql", m001);
	fixture_put(fx->mig, "002_index.sql", m_notx_fails);
	assert_int_equal(deploy(fx), PGW_EFAILED);
	assert_string_equal(fx->r->status, "rolled back");
	assert_string_equal(fx->r->way_back,
	                    "reverted with the stored down SQL");
	stages_are(fx->r, "check ok, backup ok, migrate failed");
	/* 001 committed, then went back */
	assert_false(has_relation(fx, "public.t"));
	assert_string_equal(history(fx), "");
	assert_string_equal(journal_of(fx, fx->r->id),
	                    "migrate rolled back 0 -> 002");
}

static void test_deploy__destructive_way_back_needs_writes_stopped(void **state)
{
	struct fx *fx = *state;

	fixture_put(fx->mig, "001_create_t.sql", m001);
	fixture_up(&fx->cfg, 1, &fx->err);
	fixture_put(fx->mig, "002_forget.sql",
	            "-- migrate:up\nDELETE FROM public.t WHERE "
	            "id = 1;\n-- migrate:down\nSELECT 1;\n");
	fixture_put(fx->mig, "003_index.sql", m_notx_fails);

	/* without writes stopped no one can prove no row would be lost */
	assert_int_equal(deploy(fx), PGW_EUNSAFE);
	assert_string_equal(fx->r->status, "needs a human");
	assert_non_null(strstr(fx->err.msg, "without --writes-stopped"));
	assert_non_null(strstr(fx->err.hint, "pgward restore "));
	assert_non_null(strstr(fx->err.hint, fx->r->backup));
	assert_null(fx->r->way_back);
	assert_string_equal(history(fx), "1,2");
	assert_string_equal(value(fx, "SELECT count(*) FROM public.t", NULL),
	                    "2");
	assert_string_equal(journal_of(fx, fx->r->id),
	                    "migrate needs a human 001 -> 003");
}

static void
test_deploy__destructive_way_back_restores_the_touched_rows(void **state)
{
	struct fx *fx = *state;

	fixture_put(fx->mig, "001_create_t.sql", m001);
	fixture_up(&fx->cfg, 1, &fx->err);
	fixture_pg_sql(fx->c, "CREATE TABLE public.untouched (x int);"
	                      "INSERT INTO public.untouched VALUES (1)");
	fixture_put(fx->mig, "002_forget.sql",
	            "-- migrate:up\nDELETE FROM public.t WHERE "
	            "id = 1;\n-- migrate:down\nSELECT 1;\n");
	fixture_put(fx->mig, "003_index.sql", m_notx_fails);
	fx->o.writes_stopped = true;
	assert_int_equal(deploy(fx), PGW_EFAILED);
	assert_string_equal(fx->r->status, "rolled back");
	assert_string_equal(
	        fx->r->way_back,
	        "the down SQL, and the rows of the tables it touched "
	        "from the deploy's backup (writes were stopped)");
	assert_string_equal(history(fx), "1");
	assert_string_equal(value(fx,
	                          "SELECT string_agg(id::text || s, ','"
	                          " ORDER BY id) FROM public.t",
	                          NULL),
	                    "1a,2b,3c");
	assert_string_equal(
	        value(fx, "SELECT count(*) FROM public.untouched", NULL), "1");
	assert_string_equal(journal_of(fx, fx->r->id),
	                    "migrate rolled back 001 -> 003");
}

/* ---------------------------------------------------------------------- */
/* refused before anything changes */

static void test_deploy__no_backup_refused_for_destructive(void **state)
{
	struct fx *fx = *state;

	fixture_put(fx->mig, "001_create_t.sql", m001);
	fixture_put(fx->mig, "002_fix.sql",
	            "-- migrate:up\nUPDATE public.t SET s = 'z';\n"
	            "-- migrate:down\nSELECT 1;\n");
	fx->o.no_backup = true;
	assert_int_equal(deploy(fx), PGW_EINVAL);
	assert_string_equal(fx->r->status, "failed");
	assert_non_null(strstr(fx->err.msg, "--no-backup refused: a pending "
	                                    "migration is destructive"));
	stages_are(fx->r, "check ok, backup failed");
	assert_false(has_relation(fx, "public.t"));
	assert_false(has_relation(fx, "pgward.migrations"));
	assert_string_equal(journal_of(fx, fx->r->id),
	                    "backup failed 0 -> 002");

	/* --force goes without */
	fx->o.force = true;
	deploy_ok(fx);
	assert_string_equal(fx->r->status, "succeeded");
	assert_null(fx->r->backup);
	assert_string_equal(history(fx), "1,2");
}

static void test_deploy__going_down_needs_allow_down(void **state)
{
	struct fx *fx = *state;

	fixture_put(fx->mig, "001_create_t.sql", m001);
	fixture_put(fx->mig, "002_add_n.sql", m002);
	deploy_ok(fx);
	fx->o.has_target = true;
	fx->o.target = 1;
	assert_int_equal(deploy(fx), PGW_EINVAL);
	assert_string_equal(fx->r->status, "failed");
	assert_non_null(strstr(fx->err.msg, "never goes down without "
	                                    "--allow-down"));
	stages_are(fx->r, "check failed");
	/* refused in check: no journal row */
	assert_string_equal(
	        value(fx, "SELECT count(*) FROM pgward_journal.deploys", NULL),
	        "1");
	assert_string_equal(history(fx), "1,2");

	fx->o.allow_down = true;
	deploy_ok(fx);
	assert_string_equal(fx->r->status, "succeeded");
	assert_string_equal(fx->r->from, "002");
	assert_string_equal(fx->r->to, "001");
	/* going down is destructive: an archive first */
	assert_non_null(fx->r->backup);
	assert_string_equal(history(fx), "1");
	assert_false(has_relation(fx, "public.t_s_idx"));
}

static void test_deploy__unfinished_deploy_blocks_the_next(void **state)
{
	struct fx *fx = *state;
	struct pgw_journal_state s = { "migrate", "interrupted", NULL, NULL,
		                       "killed" };

	fixture_put(fx->mig, "001_create_t.sql", m001);
	assert_int_equal(pgw_journal_ensure(fx->c, &fx->err), 0);
	assert_int_equal(pgw_journal_start(fx->c, "20200101T000000Z-dead", "0",
	                                   "001", NULL, &fx->err),
	                 0);
	pgw_journal_update(fx->c, "20200101T000000Z-dead", &s);
	assert_int_equal(deploy(fx), PGW_EUNSAFE);
	assert_string_equal(fx->err.msg, "deploy 20200101T000000Z-dead was "
	                                 "interrupted during its migrate stage "
	                                 "and never finished");
	assert_non_null(strstr(fx->err.hint, "pgward recover"));
	assert_false(has_relation(fx, "public.t"));
	assert_null(fx->r->backup);
	assert_string_equal(
	        value(fx, "SELECT count(*) FROM pgward_journal.deploys", NULL),
	        "1");
}

static void test_deploy__one_deploy_at_a_time(void **state)
{
	struct fx *fx = *state;

	fixture_put(fx->mig, "001_create_t.sql", m001);
	fx->other = fixture_pg_connect(fx->conninfo);
	assert_non_null(fx->other);
	assert_int_equal(pgw_lock_take(fx->other, "pgward/deploy", 0, &fx->err),
	                 0);
	fx->cfg.wait_s = 0;
	assert_int_equal(deploy(fx), PGW_ELOCKED);
	assert_non_null(strstr(fx->err.msg, "another pgward holds the deploy "
	                                    "lock: pid "));
	assert_string_equal(fx->r->status, "failed");
	assert_false(has_relation(fx, "public.t"));
	assert_false(has_relation(fx, "pgward_journal.deploys"));
	PQfinish(fx->other);
	fx->other = NULL;
	fx->cfg.wait_s = 10;
	deploy_ok(fx);
	assert_string_equal(fx->r->status, "succeeded");
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_deploy__fresh_database_succeeds),
		T(test_deploy__second_run_has_nothing_to_do),
		T(test_deploy__dry_run_plans_and_changes_nothing),
		T(test_deploy__verification_failure_rolls_back),
		T(test_deploy__failing_statement_rolls_back),
		T(test_deploy__committed_part_is_reverted_with_down_sql),
		T(test_deploy__destructive_way_back_needs_writes_stopped),
		T(test_deploy__destructive_way_back_restores_the_touched_rows),
		T(test_deploy__no_backup_refused_for_destructive),
		T(test_deploy__going_down_needs_allow_down),
		T(test_deploy__unfinished_deploy_blocks_the_next),
		T(test_deploy__one_deploy_at_a_time),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
