/* test_recover.c - pgward recover (core/recover.c, docs/deploy.md) on a
 * real database: the journal rows a deploy leaves when it dies (written
 * with the journal's own functions), and what recover makes of each:
 * nothing to recover, rolled back when nothing committed, succeeded when
 * everything did (unless the schema drifted), rolled forward when part
 * did, the way back with the stored down SQL or the deploy's archive
 * (only with writes stopped), the statements of an unfinished
 * transaction:false section, and a deploy that is still alive. */
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
#include "journal.h"
#include "lock.h"
#include "pgward.h"

#define DB "ut_recover"
#define ID "20261125T120000Z-dead"

struct fx {
	char *conninfo;
	PGconn *c, *other;
	char *dir;
	char mig[4096];
	char archive[4096]; /* dir/at-001.tar.zst */
	struct pgw_config cfg;
	struct pgw_err err;
	struct pgw_recover_opts o;
	struct pgw_recover_report *r;
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
		snprintf(fx->archive, sizeof(fx->archive), "%s/at-001.tar.zst",
		         fx->dir);
		return 0;
	}
	/* the teardown is not run when the setup fails */
	teardown(state);
	return -1;
}

static int teardown(void **state)
{
	struct fx *fx = *state;

	pgw_recover_report_free(fx->r);
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
                           "-- migrate:down\n"
                           "ALTER TABLE public.t DROP COLUMN n;\n";
static const char m002_destructive[] =
        "-- migrate:up\nDELETE FROM public.t WHERE id = 1;\n"
        "-- migrate:down\nSELECT 1;\n";
static const char m002_notx[] =
        "-- migrate:up transaction:false\n"
        "CREATE INDEX CONCURRENTLY IF NOT EXISTS t_s_idx ON public.t (s);\n"
        "CREATE INDEX CONCURRENTLY IF NOT EXISTS t_id_s_idx ON public.t"
        " (id, s);\n"
        "-- migrate:down transaction:false\n"
        "DROP INDEX CONCURRENTLY IF EXISTS public.t_id_s_idx;\n"
        "DROP INDEX CONCURRENTLY IF EXISTS public.t_s_idx;\n";

/* The first value of a one-row query (with at most one parameter);
 * "(null)" for NULL; into fx->text. */
static const char *value(struct fx *fx, const char *q, const char *param)
{
	PGresult *res = PQexecParams(fx->c, q, param ? 1 : 0, NULL, &param,
	                             NULL, NULL, 0);

	if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1) {
		PQclear(res);
		fail_msg("%s: %s", q, PQerrorMessage(fx->c));
	}
	free(fx->text);
	fx->text = strdup(PQgetisnull(res, 0, 0) ? "(null)"
	                                         : PQgetvalue(res, 0, 0));
	PQclear(res);
	return fx->text;
}

/* 001 and a second migration, `name`, in the migrations dir, applied up
 * to `version`. */
static void applied_to(struct fx *fx, const char *name, const char *text,
                       int64_t version)
{
	fixture_put(fx->mig, "001_create_t.sql", m001);
	fixture_put(fx->mig, name, text);
	fixture_up(&fx->cfg, version, &fx->err);
}

/* What a deploy leaves in the journal when it dies in `stage`. */
static void died(struct fx *fx, const char *from, const char *to,
                 const char *stage, const char *status, const char *backup)
{
	struct pgw_journal_state s = { stage, status, backup, NULL, NULL };

	assert_int_equal(pgw_journal_ensure(fx->c, &fx->err), 0);
	assert_int_equal(pgw_journal_start(fx->c, ID, from, to, NULL, &fx->err),
	                 0);
	pgw_journal_update(fx->c, ID, &s);
}

static int recover(struct fx *fx)
{
	pgw_recover_report_free(fx->r);
	fx->r = NULL;
	pgw_err_clear(&fx->err);
	return pgw_recover(&fx->r, &fx->cfg, &fx->o, &fx->err);
}

static void recover_ok(struct fx *fx)
{
	if (recover(fx) != 0)
		fail_msg("pgw_recover: %d %s (%s)", fx->err.code, fx->err.msg,
		         fx->err.hint);
	assert_non_null(fx->r);
}

/* "stage status" of the deploy's journal row, and its error. */
static const char *journal_row(struct fx *fx)
{
	return value(fx,
	             "SELECT stage || ' ' || status || CASE WHEN finished_at"
	             " IS NULL THEN ' unfinished' ELSE '' END || ': '"
	             " || coalesce(error, '') FROM pgward_journal.deploys"
	             " WHERE id = $1",
	             ID);
}

static const char *history(struct fx *fx)
{
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

static void report_is(const struct pgw_recover_report *r, const char *stage,
                      const char *from, const char *to, const char *at,
                      const char *outcome, const char *detail)
{
	assert_string_equal(r->id, ID);
	assert_string_equal(r->stage, stage);
	assert_string_equal(r->from, from);
	assert_string_equal(r->to, to);
	assert_string_equal(r->at, at);
	assert_string_equal(r->outcome, outcome);
	assert_string_equal(r->detail, detail);
}

/* ---------------------------------------------------------------------- */
/* nothing to do */

static void test_recover__no_journal_nothing_to_recover(void **state)
{
	struct fx *fx = *state;

	recover_ok(fx);
	assert_string_equal(fx->r->id, "");
	assert_string_equal(fx->r->outcome, "nothing to recover");
	assert_null(fx->r->stage);
	assert_null(fx->r->at);
	/* and it made no journal of its own */
	assert_false(has_relation(fx, "pgward_journal.deploys"));
}

static void test_recover__finished_deploys_are_left_alone(void **state)
{
	struct fx *fx = *state;
	struct pgw_deploy_opts d;
	struct pgw_deploy_report *dr = NULL;
	char dir[4200];

	snprintf(dir, sizeof(dir), "%s/backups", fx->dir);
	assert_int_equal(
	        pgw_config_set(&fx->cfg, "backup.dir", dir, NULL, &fx->err), 0);
	fixture_put(fx->mig, "001_create_t.sql", m001);
	memset(&d, 0, sizeof(d));
	assert_int_equal(pgw_deploy(&dr, &fx->cfg, &d, &fx->err), 0);
	assert_string_equal(dr->status, "succeeded");
	pgw_deploy_report_free(dr);
	recover_ok(fx);
	assert_string_equal(fx->r->id, "");
	assert_string_equal(fx->r->outcome, "nothing to recover");
	assert_string_equal(history(fx), "1");
}

/* ---------------------------------------------------------------------- */
/* where it stopped */

static void test_recover__nothing_committed_is_rolled_back(void **state)
{
	struct fx *fx = *state;

	applied_to(fx, "002_add_n.sql", m002, 1);
	died(fx, "001", "002", "migrate", "running", NULL);
	recover_ok(fx);
	report_is(fx->r, "migrate", "001", "002", "001", "rolled back",
	          "nothing of it had committed");
	assert_string_equal(journal_row(fx),
	                    "recover rolled back: nothing of it "
	                    "had committed");
	assert_string_equal(history(fx), "1");
	/* safe to run again: nothing left to recover */
	recover_ok(fx);
	assert_string_equal(fx->r->id, "");
	assert_string_equal(fx->r->outcome, "nothing to recover");
}

static void test_recover__everything_committed_succeeded(void **state)
{
	struct fx *fx = *state;

	applied_to(fx, "002_add_n.sql", m002, 2);
	died(fx, "001", "002", "verify", "interrupted", NULL);
	recover_ok(fx);
	report_is(fx->r, "verify", "001", "002", "002", "succeeded",
	          "every migration of it had committed");
	assert_string_equal(journal_row(fx),
	                    "recover succeeded: every migration "
	                    "of it had committed");
	assert_string_equal(history(fx), "1,2");
}

static void test_recover__committed_but_drifted_needs_a_human(void **state)
{
	struct fx *fx = *state;
	char *text = NULL;

	/* schema.sql at 002, so that `up` stores the expected hash */
	applied_to(fx, "002_add_n.sql", m002, 2);
	assert_int_equal(pgw_schema_dump(&text, &fx->cfg, &fx->err), 0);
	fixture_put(fx->mig, "schema.sql", text);
	free(text);
	fixture_down(&fx->cfg, 0, &fx->err);
	fixture_up(&fx->cfg, 2, &fx->err);
	fixture_pg_sql(fx->c, "ALTER TABLE public.t ADD COLUMN by_hand int");
	died(fx, "001", "002", "verify", "interrupted", NULL);
	assert_int_equal(recover(fx), PGW_EUNSAFE);
	assert_string_equal(fx->err.msg,
	                    "deploy " ID " reached 002 but the live "
	                    "schema differs from what that version "
	                    "expects");
	assert_non_null(strstr(fx->err.hint, "pgward verify"));
	/* still unfinished, at the same stage, with why */
	assert_string_equal(
	        journal_row(fx),
	        "verify interrupted: deploy " ID " reached 002 but the "
	        "live schema differs from what that version expects");
	/* once the difference is gone, it is done */
	fixture_pg_sql(fx->c, "ALTER TABLE public.t DROP COLUMN by_hand");
	recover_ok(fx);
	assert_string_equal(fx->r->outcome, "succeeded");
}

static void test_recover__part_way_rolls_forward(void **state)
{
	struct fx *fx = *state;

	applied_to(fx, "002_add_n.sql", m002, 1);
	died(fx, "0", "002", "migrate", "interrupted", NULL);
	recover_ok(fx);
	report_is(fx->r, "migrate", "0", "002", "002", "succeeded",
	          "rolled forward to the deploy's target");
	assert_string_equal(history(fx), "1,2");
	assert_string_equal(value(fx,
	                          "SELECT deploy_id FROM pgward.migrations"
	                          " WHERE version = 2",
	                          NULL),
	                    ID);
	assert_string_equal(journal_row(fx),
	                    "recover succeeded: rolled forward to "
	                    "the deploy's target");
}

static void test_recover__way_back_reverts_with_down_sql(void **state)
{
	struct fx *fx = *state;

	applied_to(fx, "002_add_n.sql", m002, 2);
	died(fx, "001", "002", "verify", "interrupted", NULL);
	fx->o.way_back = true;
	recover_ok(fx);
	report_is(fx->r, "verify", "001", "002", "001", "rolled back",
	          "reverted with the stored down SQL");
	assert_string_equal(history(fx), "1");
	assert_string_equal(value(fx,
	                          "SELECT count(*) FROM pg_attribute WHERE"
	                          " attrelid = 'public.t'::regclass AND"
	                          " attname = 'n'",
	                          NULL),
	                    "0");
	assert_string_equal(journal_row(fx),
	                    "recover rolled back: reverted with "
	                    "the stored down SQL");
}

static void test_recover__deploy_on_its_way_back_is_taken_back(void **state)
{
	struct fx *fx = *state;

	applied_to(fx, "002_add_n.sql", m002, 2);
	/* it failed after COMMIT and died going back: back, not forward */
	died(fx, "0", "002", "way back", "running", NULL);
	recover_ok(fx);
	report_is(fx->r, "way back", "0", "002", "0", "rolled back",
	          "reverted with the stored down SQL");
	assert_string_equal(history(fx), "");
	assert_false(has_relation(fx, "public.t"));
}

static void
test_recover__destructive_way_back_restores_only_with_writes_stopped(
        void **state)
{
	struct fx *fx = *state;
	struct pgw_backup_opts bo = PGW_BACKUP_OPTS_INIT;
	struct pgw_backup_report *br = NULL;
	char hint[4300];

	applied_to(fx, "002_forget.sql", m002_destructive, 1);
	bo.output = fx->archive;
	assert_int_equal(pgw_backup(&br, &fx->cfg, &bo, &fx->err), 0);
	pgw_backup_report_free(br);
	fixture_up(&fx->cfg, 2, &fx->err);

	/* no archive: nothing can bring the rows back */
	died(fx, "001", "002", "way back", "running", NULL);
	assert_int_equal(recover(fx), PGW_EUNSAFE);
	assert_string_equal(fx->err.msg, "deploy " ID " committed destructive "
	                                 "migrations and has no backup to "
	                                 "restore");
	fixture_pg_sql(fx->c, "DELETE FROM pgward_journal.deploys");

	/* an archive, but writes not stopped: a human decides */
	died(fx, "001", "002", "way back", "running", fx->archive);
	assert_int_equal(recover(fx), PGW_EUNSAFE);
	assert_non_null(strstr(fx->err.msg, "without --writes-stopped"));
	snprintf(hint, sizeof(hint), "pgward restore %s --yes", fx->archive);
	assert_non_null(strstr(fx->err.hint, hint));
	assert_int_equal(strncmp(journal_row(fx), "way back interrupted: ", 22),
	                 0);
	assert_string_equal(value(fx, "SELECT count(*) FROM public.t", NULL),
	                    "2");
	assert_string_equal(history(fx), "1,2");

	fx->o.writes_stopped = true;
	recover_ok(fx);
	report_is(fx->r, "way back", "001", "002", "001", "rolled back",
	          "restored the deploy's backup (writes were stopped)");
	assert_string_equal(value(fx,
	                          "SELECT string_agg(id::text || s, ','"
	                          " ORDER BY id) FROM public.t",
	                          NULL),
	                    "1a,2b,3c");
	assert_string_equal(history(fx), "1");
	assert_string_equal(journal_row(fx),
	                    "recover rolled back: restored the "
	                    "deploy's backup (writes were "
	                    "stopped)");
}

/* ---------------------------------------------------------------------- */
/* a transaction:false section part-way */

static void notx_part_way(struct fx *fx)
{
	applied_to(fx, "002_indexes.sql", m002_notx, 1);
	died(fx, "001", "002", "migrate", "interrupted", NULL);
	/* its first statement ran, the second never did */
	fixture_pg_sql(fx->c, "CREATE INDEX t_s_idx ON public.t (s)");
	pgw_journal_statement(
	        fx->c, ID, "002", 1,
	        "CREATE INDEX CONCURRENTLY IF NOT EXISTS t_s_idx"
	        " ON public.t (s)",
	        "DROP INDEX CONCURRENTLY IF EXISTS public.t_s_idx", "running");
	pgw_journal_statement(fx->c, ID, "002", 1, NULL, NULL, "done");
}

static void test_recover__unfinished_section_runs_again(void **state)
{
	struct fx *fx = *state;

	notx_part_way(fx);
	recover_ok(fx);
	report_is(fx->r, "migrate", "001", "002", "002", "succeeded",
	          "rolled forward to the deploy's target");
	assert_string_equal(history(fx), "1,2");
	assert_true(has_relation(fx, "public.t_s_idx"));
	assert_true(has_relation(fx, "public.t_id_s_idx"));
}

static void
test_recover__unfinished_section_undone_on_the_way_back(void **state)
{
	struct fx *fx = *state;

	notx_part_way(fx);
	fx->o.way_back = true;
	recover_ok(fx);
	assert_string_equal(fx->r->outcome, "rolled back");
	assert_string_equal(fx->r->at, "001");
	assert_string_equal(history(fx), "1");
	assert_false(has_relation(fx, "public.t_s_idx"));
	assert_false(has_relation(fx, "public.t_id_s_idx"));
	assert_true(has_relation(fx, "public.t"));
}

/* ---------------------------------------------------------------------- */
/* a deploy that is not dead */

static void test_recover__waits_for_the_deploys_sessions(void **state)
{
	struct fx *fx = *state;
	char pid[64];

	fixture_put(fx->mig, "001_create_t.sql", m001);
	died(fx, "0", "001", "migrate", "running", NULL);
	/* its migration session is still on the server */
	fx->other = fixture_pg_connect(fx->conninfo);
	assert_non_null(fx->other);
	fixture_pg_sql(fx->other, "SET application_name = 'pgward:" ID "'");
	snprintf(pid, sizeof(pid), "(pid %d)", PQbackendPID(fx->other));
	fx->cfg.wait_s = 0;
	assert_int_equal(recover(fx), PGW_ELOCKED);
	assert_non_null(strstr(fx->err.msg,
	                       "deploy " ID " still has sessions on "
	                       "the server"));
	assert_non_null(strstr(fx->err.msg, pid));
	assert_non_null(strstr(fx->err.hint, "pg_terminate_backend"));
	assert_string_equal(journal_row(fx), "migrate running unfinished: ");

	PQfinish(fx->other);
	fx->other = NULL;
	/* the server notices the client is gone */
	fx->cfg.wait_s = 5;
	recover_ok(fx);
	assert_string_equal(fx->r->outcome, "rolled back");
}

static void test_recover__a_live_deploy_holds_the_lock(void **state)
{
	struct fx *fx = *state;

	fixture_put(fx->mig, "001_create_t.sql", m001);
	died(fx, "0", "001", "migrate", "running", NULL);
	fx->other = fixture_pg_connect(fx->conninfo);
	assert_non_null(fx->other);
	assert_int_equal(pgw_lock_take(fx->other, "pgward/deploy", 0, &fx->err),
	                 0);
	fx->cfg.wait_s = 0;
	assert_int_equal(recover(fx), PGW_ELOCKED);
	assert_non_null(strstr(fx->err.msg, "another pgward holds the deploy "
	                                    "lock"));
	assert_string_equal(journal_row(fx), "migrate running unfinished: ");
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_recover__no_journal_nothing_to_recover),
		T(test_recover__finished_deploys_are_left_alone),
		T(test_recover__nothing_committed_is_rolled_back),
		T(test_recover__everything_committed_succeeded),
		T(test_recover__committed_but_drifted_needs_a_human),
		T(test_recover__part_way_rolls_forward),
		T(test_recover__way_back_reverts_with_down_sql),
		T(test_recover__deploy_on_its_way_back_is_taken_back),
		T(test_recover__destructive_way_back_restores_only_with_writes_stopped),
		T(test_recover__unfinished_section_runs_again),
		T(test_recover__unfinished_section_undone_on_the_way_back),
		T(test_recover__waits_for_the_deploys_sessions),
		T(test_recover__a_live_deploy_holds_the_lock),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
