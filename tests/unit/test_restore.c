/* test_restore.c - pgw_restore and pgw_restore_rows (core/restore.c) with
 * real archives written by pgw_backup: into a fresh database and over the
 * one backed up, with schema, rows, sequences and extensions as they
 * were; refusals that change nothing (an archive of another database, an
 * object outside the archive that depends on it, a damaged archive, an
 * owner that no longer exists, a missing extension); and the rows of
 * some tables put back inside the caller's transaction. */
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
#include "restore.h"
#include "schema.h"

#define DB "ut_restore"
#define DB_INTO "ut_restore_into"
/* cluster-wide: made and dropped by the test that needs it */
#define OWNER "pgw_ut_restore_owner"

struct fx {
	char *conninfo, *into_conninfo;
	PGconn *c, *into, *other;
	char *dir;
	char path[4096]; /* dir/a.tar.zst */
	struct pgw_config cfg;
	struct pgw_err err;
	struct pgw_restore_report *rep;
	char *before, *after;
};

static int teardown(void **state);

static int setup(void **state)
{
	struct fx *fx = calloc(1, sizeof(*fx));

	if (!fx)
		return -1;
	*state = fx;
	if (fixture_cfg_open(&fx->cfg, DB, &fx->conninfo, &fx->c, &fx->dir,
	                     &fx->err) == 0) {
		snprintf(fx->path, sizeof(fx->path), "%s/a.tar.zst", fx->dir);
		return 0;
	}
	/* the teardown is not run when the setup fails */
	teardown(state);
	return -1;
}

static int teardown(void **state)
{
	struct fx *fx = *state;

	pgw_restore_report_free(fx->rep);
	free(fx->before);
	free(fx->after);
	PQfinish(fx->other);
	if (fx->into_conninfo)
		fixture_pg_close(DB_INTO, fx->into_conninfo, fx->into);
	fixture_cfg_close(&fx->cfg, DB, fx->conninfo, fx->c, fx->dir);
	fixture_pg_drop_role(OWNER);
	free(fx);
	return 0;
}

/* ---------------------------------------------------------------------- */
/* helpers */

static void fill(PGconn *c)
{
	fixture_pg_sql(
	        c,
	        "CREATE EXTENSION citext;"
	        "CREATE TYPE public.mood AS ENUM ('ok', 'sad');"
	        "CREATE TABLE public.parent (id bigint GENERATED ALWAYS AS"
	        " IDENTITY PRIMARY KEY, name public.citext NOT NULL UNIQUE);"
	        "CREATE TABLE public.t (id serial PRIMARY KEY,"
	        " parent_id bigint REFERENCES public.parent (id), s text,"
	        " m public.mood DEFAULT 'ok',"
	        " twice int GENERATED ALWAYS AS (id * 2) STORED);"
	        "CREATE INDEX t_s_idx ON public.t (s);"
	        "CREATE VIEW public.v AS SELECT id, s FROM public.t;"
	        "CREATE MATERIALIZED VIEW public.mv AS SELECT count(*) AS n"
	        " FROM public.t;"
	        "CREATE FUNCTION public.touch() RETURNS trigger"
	        " LANGUAGE plpgsql AS $$BEGIN RETURN NEW; END$$;"
	        "CREATE TRIGGER t_touch BEFORE INSERT ON public.t"
	        " FOR EACH ROW EXECUTE FUNCTION public.touch();"
	        "CREATE SCHEMA app;"
	        "CREATE TABLE app.notes (id int, body text);"
	        "INSERT INTO public.parent (name) VALUES ('Alpha'), ('beta');"
	        "INSERT INTO public.t (parent_id, s, m) VALUES"
	        " (1, 'plain', 'ok'), (2, E'tab\\tnew\\nline \\\\ back', 'sad'),"
	        " (NULL, NULL, NULL);"
	        "INSERT INTO app.notes VALUES (1, 'caf\xc3\xa9'), (2, '');"
	        "REFRESH MATERIALIZED VIEW public.mv");
}

/* Everything a restore must give back: the schema (as verify reads it),
 * the rows of every table and the materialized view, the sequences. */
static char *state_of(PGconn *c)
{
	static const char *const q[] = {
		"SELECT coalesce(string_agg(x::text, ' | ' ORDER BY x::text),"
		" '') FROM public.parent x",
		"SELECT coalesce(string_agg(x::text, ' | ' ORDER BY x::text),"
		" '') FROM public.t x",
		"SELECT coalesce(string_agg(x::text, ' | ' ORDER BY x::text),"
		" '') FROM app.notes x",
		"SELECT coalesce(string_agg(x::text, ' | ' ORDER BY x::text),"
		" '') FROM public.mv x",
		"SELECT last_value || ' ' || is_called FROM public.t_id_seq",
		"SELECT last_value || ' ' || is_called FROM public.parent_id_seq",
		NULL
	};
	struct pgw_err err = PGW_ERR_INIT;
	struct pgw_buf b = PGW_BUF_INIT;
	char *schema = NULL, row[4096];
	size_t i;

	if (pgw_schema_read_text(&schema, c, "pgward", &err) != 0)
		fail_msg("pgw_schema_read_text: %s", err.msg);
	pgw_buf_puts(&b, schema);
	free(schema);
	for (i = 0; q[i]; i++)
		pgw_buf_printf(&b, "-- %s\n%s\n", q[i],
		               fixture_pg_scalar(c, q[i], row, sizeof(row)));
	assert_false(pgw_buf_oom(&b));
	return pgw_buf_detach(&b);
}

static void backup_to(struct fx *fx, const char *path)
{
	struct pgw_backup_opts o = PGW_BACKUP_OPTS_INIT;
	struct pgw_backup_report *rep = NULL;

	o.output = path;
	if (pgw_backup(&rep, &fx->cfg, &o, &fx->err) != 0)
		fail_msg("pgw_backup: %s", fx->err.msg);
	pgw_backup_report_free(rep);
}

static void restore_ok(struct fx *fx, const struct pgw_restore_opts *o)
{
	pgw_restore_report_free(fx->rep);
	fx->rep = NULL;
	pgw_err_clear(&fx->err);
	if (pgw_restore(&fx->rep, &fx->cfg, o, &fx->err) != 0)
		fail_msg("pgw_restore: %d %s (%s) (%s)", fx->err.code,
		         fx->err.msg, fx->err.detail, fx->err.hint);
	assert_non_null(fx->rep);
}

static int restore_fails(struct fx *fx, const struct pgw_restore_opts *o)
{
	int rc;

	pgw_restore_report_free(fx->rep);
	fx->rep = NULL;
	pgw_err_clear(&fx->err);
	rc = pgw_restore(&fx->rep, &fx->cfg, o, &fx->err);
	assert_int_not_equal(rc, 0);
	assert_null(fx->rep);
	/* what the caller reports (the CLI's exit code) */
	return fx->err.code;
}

static void make_into(struct fx *fx)
{
	fx->into = fixture_pg_open(DB_INTO, &fx->into_conninfo);
	assert_non_null(fx->into_conninfo);
	assert_non_null(fx->into);
}

/* Take a fresh look at `c`'s database: before and after must be equal. */
static void same_state(struct fx *fx, PGconn *c)
{
	free(fx->after);
	fx->after = state_of(c);
	assert_string_equal(fx->after, fx->before);
}

/* ---------------------------------------------------------------------- */
/* restores */

static void test_restore__into_a_fresh_database(void **state)
{
	struct fx *fx = *state;
	struct pgw_restore_opts o = { NULL, NULL, false };
	char v[64];

	fill(fx->c);
	fixture_pg_sql(
	        fx->c,
	        "SELECT nextval('public.t_id_seq') FROM generate_series(1, 4)");
	fx->before = state_of(fx->c);
	backup_to(fx, fx->path);
	make_into(fx);
	o.path = fx->path;
	o.into = DB_INTO;
	restore_ok(fx, &o);
	assert_string_equal(fx->rep->database, DB_INTO);
	assert_int_equal(fx->rep->n_tables, 3);
	assert_int_equal(fx->rep->rows, 7);
	same_state(fx, fx->into);
	/* the extension was created first, as it was */
	assert_string_equal(
	        fixture_pg_scalar(fx->into,
	                          "SELECT extversion FROM pg_extension"
	                          " WHERE extname = 'citext'",
	                          v, sizeof(v)),
	        fixture_pg_scalar(fx->c,
	                          "SELECT extversion FROM pg_extension"
	                          " WHERE extname = 'citext'",
	                          v + 32, sizeof(v) - 32));
	/* statistics come with the rows */
	assert_string_equal(
	        fixture_pg_scalar(fx->into,
	                          "SELECT reltuples FROM pg_class"
	                          " WHERE oid = 'public.t'::regclass",
	                          v, sizeof(v)),
	        "3");
	/* constraints and triggers work on the restored tables */
	{
		PGresult *res =
		        PQexec(fx->into, "INSERT INTO public.t (parent_id)"
		                         " VALUES (99)");

		assert_int_equal(PQresultStatus(res), PGRES_FATAL_ERROR);
		assert_string_equal(PQresultErrorField(res, PG_DIAG_SQLSTATE),
		                    "23503");
		PQclear(res);
	}
	/* the source is as it was */
	same_state(fx, fx->c);
}

static void test_restore__over_itself_brings_everything_back(void **state)
{
	struct fx *fx = *state;
	struct pgw_restore_opts o = { NULL, NULL, false };
	char n[32];

	fill(fx->c);
	fx->before = state_of(fx->c);
	backup_to(fx, fx->path);
	fixture_pg_sql(fx->c,
	               "DELETE FROM public.t WHERE id = 1;"
	               "UPDATE public.parent SET name = 'changed' WHERE id = 2;"
	               "ALTER TABLE app.notes DROP COLUMN body;"
	               "CREATE INDEX parent_extra ON public.parent (name);"
	               "CREATE TABLE public.added_later (x int);"
	               "INSERT INTO app.notes VALUES (3)");
	o.path = fx->path;
	restore_ok(fx, &o);
	assert_string_equal(fx->rep->database, DB);
	same_state(fx, fx->c);
	/* what the archive does not have is gone from its schemas */
	assert_string_equal(
	        fixture_pg_scalar(fx->c,
	                          "SELECT count(*) FROM pg_class"
	                          " WHERE relname IN ('added_later',"
	                          " 'parent_extra')",
	                          n, sizeof(n)),
	        "0");
}

static void test_restore__sequences_never_move_back(void **state)
{
	struct fx *fx = *state;
	struct pgw_restore_opts o = { NULL, NULL, false };
	char v[32];

	fill(fx->c);
	backup_to(fx, fx->path);
	/* rows were handed out numbers after the backup: restoring must not
	 * hand those numbers out again */
	fixture_pg_sql(
	        fx->c,
	        "SELECT nextval('public.t_id_seq') FROM generate_series(1, 47)");
	o.path = fx->path;
	restore_ok(fx, &o);
	assert_string_equal(
	        fixture_pg_scalar(fx->c,
	                          "SELECT last_value FROM public.t_id_seq", v,
	                          sizeof(v)),
	        "50");
	assert_string_equal(fixture_pg_scalar(fx->c,
	                                      "SELECT count(*) FROM public.t",
	                                      v, sizeof(v)),
	                    "3");
}

/* ---------------------------------------------------------------------- */
/* refusals: nothing changes */

static void test_restore__archive_of_another_database_needs_into(void **state)
{
	struct fx *fx = *state;
	struct pgw_restore_opts o = { NULL, NULL, false };
	char n[32];

	fill(fx->c);
	backup_to(fx, fx->path);
	make_into(fx);
	fixture_pg_sql(
	        fx->into,
	        "CREATE TABLE public.keep (x int); INSERT INTO public.keep"
	        " VALUES (1)");
	assert_int_equal(pgw_config_set(&fx->cfg, "database.url",
	                                fx->into_conninfo, NULL, &fx->err),
	                 0);
	o.path = fx->path;
	assert_int_equal(restore_fails(fx, &o), PGW_EINVAL);
	assert_string_equal(fx->err.msg, "the archive is of database '" DB
	                                 "'; this is '" DB_INTO "'");
	assert_string_equal(fx->err.hint, "to restore it here on purpose, pass "
	                                  "--into " DB_INTO);
	assert_string_equal(
	        fixture_pg_scalar(fx->into, "SELECT count(*) FROM public.keep",
	                          n, sizeof(n)),
	        "1");
}

static void test_restore__outside_dependent_refuses(void **state)
{
	struct fx *fx = *state;
	struct pgw_restore_opts o = { NULL, NULL, false };

	fill(fx->c);
	backup_to(fx, fx->path);
	fixture_pg_sql(fx->c, "DELETE FROM public.t WHERE id = 1;"
	                      "CREATE SCHEMA other;"
	                      "CREATE VIEW other.v AS SELECT id FROM public.t");
	fx->before = state_of(fx->c);
	o.path = fx->path;
	assert_int_equal(restore_fails(fx, &o), PGW_EINVAL);
	assert_string_equal(fx->err.msg,
	                    "objects outside the archive depend on "
	                    "what it restores: view other.v depends "
	                    "on table public.t");
	assert_non_null(strstr(fx->err.hint, "nothing was changed"));
	same_state(fx, fx->c);
	fixture_pg_sql(fx->c, "SELECT * FROM other.v");

	/* once it is gone, the restore goes through */
	fixture_pg_sql(fx->c, "DROP SCHEMA other CASCADE");
	restore_ok(fx, &o);
	assert_int_equal(fx->rep->rows, 7);
}

static void test_restore__damaged_archive_touches_nothing(void **state)
{
	struct fx *fx = *state;
	struct pgw_restore_opts o = { NULL, NULL, false };
	struct stat sb;
	FILE *f;
	int ch;

	fill(fx->c);
	backup_to(fx, fx->path);
	fixture_pg_sql(fx->c, "DELETE FROM public.t");
	fx->before = state_of(fx->c);
	assert_int_equal(stat(fx->path, &sb), 0);
	f = fopen(fx->path, "r+b");
	assert_non_null(f);
	assert_int_equal(fseek(f, sb.st_size / 2, SEEK_SET), 0);
	ch = fgetc(f);
	assert_int_equal(fseek(f, sb.st_size / 2, SEEK_SET), 0);
	fputc(ch ^ 0x20, f);
	fclose(f);
	o.path = fx->path;
	assert_int_equal(restore_fails(fx, &o), PGW_EINVAL);
	same_state(fx, fx->c);

	/* checked before connecting: a database that is not there does
	 * not matter yet */
	assert_int_equal(pgw_config_set(&fx->cfg, "database.url",
	                                "dbname=ut_restore_nowhere", NULL,
	                                &fx->err),
	                 0);
	assert_int_equal(restore_fails(fx, &o), PGW_EINVAL);
}

static void test_restore__owner_that_is_gone_needs_no_owner(void **state)
{
	struct fx *fx = *state;
	struct pgw_restore_opts o = { NULL, NULL, false };
	char v[64];

	fixture_pg_drop_role(OWNER);
	assert_int_equal(fixture_pg_admin("CREATE ROLE " OWNER), 0);
	fixture_pg_sql(fx->c, "CREATE TABLE public.owned (id int);"
	                      "INSERT INTO public.owned VALUES (1), (2);"
	                      "ALTER TABLE public.owned OWNER TO " OWNER);
	backup_to(fx, fx->path);
	fixture_pg_sql(fx->c, "REASSIGN OWNED BY " OWNER " TO postgres;"
	                      "DROP OWNED BY " OWNER);
	assert_int_equal(fixture_pg_admin("DROP ROLE " OWNER), 0);
	make_into(fx);
	o.path = fx->path;
	o.into = DB_INTO;
	assert_int_equal(restore_fails(fx, &o), PGW_EINVAL);
	assert_non_null(strstr(fx->err.msg, "replaying schema/pre-data.sql"));
	assert_non_null(strstr(fx->err.msg, OWNER));
	assert_non_null(strstr(fx->err.hint, "--no-owner"));
	assert_string_equal(fixture_pg_scalar(fx->into,
	                                      "SELECT count(*) FROM pg_class"
	                                      " WHERE relname = 'owned'",
	                                      v, sizeof(v)),
	                    "0");

	o.no_owner = true;
	restore_ok(fx, &o);
	assert_string_equal(
	        fixture_pg_scalar(fx->into,
	                          "SELECT pg_get_userbyid(relowner) || ' '"
	                          " || (SELECT count(*) FROM public.owned)"
	                          " FROM pg_class WHERE relname = 'owned'",
	                          v, sizeof(v)),
	        "postgres 2");
}

static void
test_restore__missing_extension_needs_an_empty_database(void **state)
{
	struct fx *fx = *state;
	struct pgw_restore_opts o = { NULL, NULL, false };

	fill(fx->c);
	backup_to(fx, fx->path);
	make_into(fx);
	fixture_pg_sql(fx->into, "CREATE TABLE public.keep (x int)");
	o.path = fx->path;
	o.into = DB_INTO;
	assert_int_equal(restore_fails(fx, &o), PGW_EINVAL);
	assert_string_equal(fx->err.msg,
	                    "extension 'citext' is missing and the "
	                    "database is not empty");
	assert_non_null(strstr(fx->err.hint, "CREATE EXTENSION citext first"));
	fixture_pg_sql(fx->into, "SELECT * FROM public.keep");
}

/* ---------------------------------------------------------------------- */
/* the rows of some tables */

static void
test_restore__rows_of_some_tables_in_the_callers_transaction(void **state)
{
	struct fx *fx = *state;
	static const struct pgw_table_ref t_and_parent[] = {
		{ "public", "t" }, { "public", "parent" }
	};
	static const struct pgw_table_ref nope[] = { { "public", "t" },
		                                     { "public", "nope" } };
	long long rows = -1;
	char v[512], want_t[512];

	fill(fx->c);
	fixture_pg_scalar(fx->c,
	                  "SELECT string_agg(x::text, ' | ' ORDER BY x::text)"
	                  " FROM public.t x",
	                  want_t, sizeof(want_t));
	backup_to(fx, fx->path);
	fixture_pg_sql(fx->c, "DELETE FROM public.t WHERE id < 3;"
	                      "INSERT INTO public.t (s) VALUES ('new');"
	                      "DELETE FROM app.notes");

	/* a table the archive lacks: refused before anything changes */
	fixture_pg_sql(fx->c, "BEGIN");
	assert_int_equal(
	        pgw_restore_rows(fx->c, fx->path, nope, 2, &rows, &fx->err),
	        PGW_EINVAL);
	assert_non_null(strstr(fx->err.msg, "table public.nope is not in "
	                                    "archive"));
	assert_int_equal(rows, 0);
	assert_string_equal(fixture_pg_scalar(fx->c,
	                                      "SELECT count(*) FROM public.t",
	                                      v, sizeof(v)),
	                    "2");
	fixture_pg_sql(fx->c, "ROLLBACK");
	pgw_err_clear(&fx->err);

	/* two tables a foreign key ties: truncated together, reloaded */
	fixture_pg_sql(fx->c, "BEGIN");
	assert_int_equal(pgw_restore_rows(fx->c, fx->path, t_and_parent, 2,
	                                  &rows, &fx->err),
	                 0);
	assert_int_equal(rows, 5);
	fixture_pg_sql(fx->c, "COMMIT");
	assert_string_equal(
	        fixture_pg_scalar(fx->c,
	                          "SELECT string_agg(x::text, ' | ' ORDER BY"
	                          " x::text) FROM public.t x",
	                          v, sizeof(v)),
	        want_t);
	/* the others are left as they are */
	assert_string_equal(fixture_pg_scalar(fx->c,
	                                      "SELECT count(*) FROM app.notes",
	                                      v, sizeof(v)),
	                    "0");
	/* nothing asked: nothing done */
	assert_int_equal(pgw_restore_rows(fx->c, "/nonexistent", NULL, 0, &rows,
	                                  &fx->err),
	                 0);
	assert_int_equal(rows, 0);
}

static void test_restore__rows_rolled_back_with_the_transaction(void **state)
{
	struct fx *fx = *state;
	static const struct pgw_table_ref notes[] = { { "app", "notes" } };
	long long rows = -1;
	char v[32];

	fill(fx->c);
	backup_to(fx, fx->path);
	fixture_pg_sql(fx->c, "DELETE FROM app.notes");
	fixture_pg_sql(fx->c, "BEGIN");
	assert_int_equal(
	        pgw_restore_rows(fx->c, fx->path, notes, 1, &rows, &fx->err),
	        0);
	assert_int_equal(rows, 2);
	assert_string_equal(fixture_pg_scalar(fx->c,
	                                      "SELECT count(*) FROM app.notes",
	                                      v, sizeof(v)),
	                    "2");
	fixture_pg_sql(fx->c, "ROLLBACK");
	assert_string_equal(fixture_pg_scalar(fx->c,
	                                      "SELECT count(*) FROM app.notes",
	                                      v, sizeof(v)),
	                    "0");
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_restore__into_a_fresh_database),
		T(test_restore__over_itself_brings_everything_back),
		T(test_restore__sequences_never_move_back),
		T(test_restore__archive_of_another_database_needs_into),
		T(test_restore__outside_dependent_refuses),
		T(test_restore__damaged_archive_touches_nothing),
		T(test_restore__owner_that_is_gone_needs_no_owner),
		T(test_restore__missing_extension_needs_an_empty_database),
		T(test_restore__rows_of_some_tables_in_the_callers_transaction),
		T(test_restore__rows_rolled_back_with_the_transaction),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
