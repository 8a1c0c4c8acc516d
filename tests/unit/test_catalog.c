/* test_catalog.c - the catalog reader's own part (core/catalog.c): the
 * statements shared by every class (grants, comments), the object map,
 * the scope, the census of what an archive cannot carry, the dependency
 * order of the DDL and of the drops, the tables whose rows are copied and
 * the objects outside an archive that depend on it.  Read from a real
 * database the tests fill (tests/unit/fixture_pg.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <libpq-fe.h>

#include "catalog.h"
#include "catalog_int.h"
#include "fixture_pg.h"
#include "pgward.h"

#define DB "ut_catalog"
/* cluster-wide: created and dropped by the tests that need it */
#define PLATFORM_ROLE "pgw_ut_catalog_platform"

struct fx {
	char *conninfo;
	PGconn *c;
	struct pgw_err err;
	struct pgw_catalog *cat;
	char *text;
	struct pgw_cat_map map;
};

static int teardown(void **state);

static int setup(void **state)
{
	struct fx *fx = calloc(1, sizeof(*fx));

	if (!fx)
		return -1;
	*state = fx;
	fx->c = fixture_pg_open(DB, &fx->conninfo);
	if (fx->c)
		return 0;
	/* the teardown is not run when the setup fails */
	teardown(state);
	return -1;
}

static int teardown(void **state)
{
	struct fx *fx = *state;

	pgw_catalog_free(fx->cat);
	free(fx->text);
	free(fx->map.v);
	fixture_pg_close(DB, fx->conninfo, fx->c);
	fixture_pg_drop_role(PLATFORM_ROLE);
	free(fx);
	return 0;
}

/* Tests of the helpers: no database. */
static int setup_plain(void **state)
{
	struct fx *fx = calloc(1, sizeof(*fx));

	*state = fx;
	return fx ? 0 : -1;
}

static int teardown_plain(void **state)
{
	struct fx *fx = *state;

	free(fx->text);
	free(fx->map.v);
	free(fx);
	return 0;
}

/* ---------------------------------------------------------------------- */
/* helpers */

/* Read the catalog in a REPEATABLE READ transaction, as a backup does;
 * fx->cat holds it. */
static void read_ok(struct fx *fx, const struct pgw_catalog_opts *o)
{
	int rc;

	pgw_catalog_free(fx->cat);
	fx->cat = NULL;
	pgw_err_clear(&fx->err);
	fixture_pg_sql(fx->c, "BEGIN ISOLATION LEVEL REPEATABLE READ");
	rc = pgw_catalog_read(&fx->cat, fx->c, o, &fx->err);
	fixture_pg_sql(fx->c, "COMMIT");
	if (rc != 0)
		fail_msg("pgw_catalog_read: %d %s (%s)", rc, fx->err.msg,
		         fx->err.hint);
	assert_non_null(fx->cat);
}

/* The reader's error code; fx->err has the message. */
static int read_fails(struct fx *fx, const struct pgw_catalog_opts *o)
{
	int rc;

	pgw_catalog_free(fx->cat);
	fx->cat = NULL;
	pgw_err_clear(&fx->err);
	fixture_pg_sql(fx->c, "BEGIN ISOLATION LEVEL REPEATABLE READ");
	rc = pgw_catalog_read(&fx->cat, fx->c, o, &fx->err);
	fixture_pg_sql(fx->c, "ROLLBACK");
	assert_int_not_equal(rc, 0);
	assert_null(fx->cat);
	assert_int_equal(rc, fx->err.code);
	return rc;
}

/* Where `needle` starts in `hay`; fails (showing hay) when absent. */
static size_t at(const char *hay, const char *needle)
{
	const char *p = strstr(hay, needle);

	if (!p) {
		print_message("%s\n", hay);
		fail_msg("'%s' is not in the text above", needle);
	}
	return (size_t)(p - hay);
}

/* The index of the object dropped by `drop_sql`, or fails. */
static size_t drop_index(const struct pgw_catalog *cat, const char *drop_sql)
{
	size_t i;

	for (i = 0; i < cat->n_objects; i++)
		if (strcmp(cat->objects[i].drop_sql, drop_sql) == 0)
			return i;
	for (i = 0; i < cat->n_objects; i++)
		print_message("  %s\n", cat->objects[i].drop_sql);
	fail_msg("no object dropped by '%s'", drop_sql);
	return 0;
}

/* A few kinds in two schemas, with rows. */
static void fill(PGconn *c)
{
	fixture_pg_sql(
	        c,
	        "CREATE SCHEMA app;"
	        "CREATE TYPE app.mood AS ENUM ('ok', 'sad');"
	        "CREATE DOMAIN app.posint AS integer CHECK (VALUE > 0);"
	        "CREATE TABLE app.parent (id bigint GENERATED ALWAYS AS"
	        " IDENTITY PRIMARY KEY, name text NOT NULL);"
	        "CREATE TABLE app.child (id serial PRIMARY KEY,"
	        " parent_id bigint REFERENCES app.parent (id),"
	        " qty app.posint, m app.mood DEFAULT 'ok',"
	        " twice int GENERATED ALWAYS AS (qty * 2) STORED);"
	        "CREATE INDEX child_qty_idx ON app.child (qty) WHERE qty > 10;"
	        /* names sort against the dependency: z_base must come first */
	        "CREATE VIEW app.z_base AS SELECT id, qty FROM app.child;"
	        "CREATE VIEW app.a_top AS SELECT id FROM app.z_base;"
	        "CREATE FUNCTION app.touch() RETURNS trigger LANGUAGE plpgsql"
	        " AS $$BEGIN RETURN NEW; END$$;"
	        "CREATE TRIGGER child_touch BEFORE INSERT ON app.child"
	        " FOR EACH ROW EXECUTE FUNCTION app.touch();"
	        "ALTER TABLE app.child ENABLE ROW LEVEL SECURITY;"
	        "CREATE POLICY child_pos ON app.child USING (qty > 0);"
	        /* a default calling a function that reads its own table */
	        "CREATE TABLE app.t (id int);"
	        "CREATE FUNCTION app.next_id() RETURNS int LANGUAGE sql"
	        " BEGIN ATOMIC SELECT coalesce(max(id), 0) + 1 FROM app.t; END;"
	        "ALTER TABLE app.t ALTER COLUMN id SET DEFAULT app.next_id();"
	        "CREATE TABLE app.m (d date NOT NULL, v int)"
	        " PARTITION BY RANGE (d);"
	        "CREATE TABLE app.m_2024 PARTITION OF app.m"
	        " FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');"
	        "CREATE TABLE app.\"Odd Name\" (x int);"
	        "CREATE MATERIALIZED VIEW app.mv AS SELECT count(*) AS n"
	        " FROM app.child;"
	        "INSERT INTO app.parent (name) VALUES ('a'), ('b');"
	        "INSERT INTO app.child (parent_id, qty) VALUES (1, 5), (2, 20),"
	        " (2, 30);"
	        "INSERT INTO app.t DEFAULT VALUES;"
	        "INSERT INTO app.m VALUES ('2024-03-01', 1);");
}

/* ---------------------------------------------------------------------- */
/* grants and comments */

static void test_catalog__acl_from_nothing_then_each_grant(void **state)
{
	struct fx *fx = *state;
	struct pgw_buf b = PGW_BUF_INIT;
	/* grantor, grantee, privileges, grant option: as PGW_CAT_ACL lists */
	char acl[] = "postgres\tPUBLIC\tSELECT\t\n"
	             "postgres\tbob\tSELECT, INSERT\tG\n"
	             "alice\tcarol\tUPDATE\t";

	pgw_catalog__acl(&b, "", "TABLE app.t", "postgres", acl, NULL);
	assert_false(pgw_buf_oom(&b));
	fx->text = pgw_buf_detach(&b);
	assert_string_equal(fx->text,
	                    "REVOKE ALL ON TABLE app.t FROM PUBLIC;\n"
	                    "REVOKE ALL ON TABLE app.t FROM postgres;\n"
	                    "GRANT SELECT ON TABLE app.t TO PUBLIC;\n"
	                    "GRANT SELECT, INSERT ON TABLE app.t TO bob WITH "
	                    "GRANT OPTION;\n"
	                    "SET ROLE alice;\n"
	                    "GRANT UPDATE ON TABLE app.t TO carol;\n"
	                    "RESET ROLE;\n");
}

static void test_catalog__acl_of_columns_and_defaults(void **state)
{
	struct fx *fx = *state;
	struct pgw_buf b = PGW_BUF_INIT;

	/* a column's grants: each privilege names the column, nothing is
	 * revoked first */
	pgw_catalog__acl(&b, "", "TABLE app.t", "postgres",
	                 "postgres\tbob\tSELECT, UPDATE\t", "id");
	/* default privileges: every statement after the prefix; SET ROLE
	 * is not */
	pgw_catalog__acl(&b, "ALTER DEFAULT PRIVILEGES FOR ROLE postgres ",
	                 "TABLES", "postgres", "alice\tbob\tSELECT\t", NULL);
	/* NULL: the built-in default, nothing written; "": no privilege at
	 * all, everything revoked; a line without its four fields is
	 * skipped */
	pgw_catalog__acl(&b, "", "SEQUENCE app.s", "postgres", NULL, NULL);
	pgw_catalog__acl(&b, "", "SEQUENCE app.s", "postgres", "", NULL);
	pgw_catalog__acl(&b, "", "TYPE app.x", "postgres",
	                 "broken\nalso broken\tx\n", NULL);
	assert_false(pgw_buf_oom(&b));
	fx->text = pgw_buf_detach(&b);
	assert_string_equal(
	        fx->text,
	        "GRANT SELECT (id), UPDATE (id) ON TABLE app.t TO bob;\n"
	        "ALTER DEFAULT PRIVILEGES FOR ROLE postgres REVOKE ALL ON "
	        "TABLES FROM PUBLIC;\n"
	        "ALTER DEFAULT PRIVILEGES FOR ROLE postgres REVOKE ALL ON "
	        "TABLES FROM postgres;\n"
	        "SET ROLE alice;\n"
	        "ALTER DEFAULT PRIVILEGES FOR ROLE postgres GRANT SELECT ON "
	        "TABLES TO bob;\n"
	        "RESET ROLE;\n"
	        "REVOKE ALL ON SEQUENCE app.s FROM PUBLIC;\n"
	        "REVOKE ALL ON SEQUENCE app.s FROM postgres;\n"
	        "REVOKE ALL ON TYPE app.x FROM PUBLIC;\n"
	        "REVOKE ALL ON TYPE app.x FROM postgres;\n");
}

static void test_catalog__comment_only_when_there_is_one(void **state)
{
	struct fx *fx = *state;
	struct pgw_buf b = PGW_BUF_INIT;

	pgw_catalog__comment(&b, "TABLE app.t", NULL);
	pgw_catalog__comment(&b, "COLUMN app.t.id", "'the key'");
	fx->text = pgw_buf_detach(&b);
	assert_string_equal(fx->text,
	                    "COMMENT ON COLUMN app.t.id IS 'the key';\n");
}

/* ---------------------------------------------------------------------- */
/* the object map */

static void test_catalog__object_map_follows_aliases(void **state)
{
	struct fx *fx = *state;
	struct pgw_cat_ctx x;
	unsigned i;

	memset(&x, 0, sizeof(x));
	x.err = &fx->err;
	/* a table is item 7 and unit 3; its row type and its array are
	 * created and dropped with it; an index is dropped with it but
	 * created by a constraint (item 9) */
	assert_int_equal(pgw_catalog__map_item(&x, PGW_CAT_CLASS, 100, 7), 0);
	assert_int_equal(pgw_catalog__map_unit(&x, PGW_CAT_CLASS, 100, 3), 0);
	assert_int_equal(pgw_catalog__alias(&x, PGW_CAT_TYPE, 101,
	                                    PGW_CAT_CLASS, 100, true, true),
	                 0);
	assert_int_equal(pgw_catalog__alias(&x, PGW_CAT_TYPE, 102, PGW_CAT_TYPE,
	                                    101, true, true),
	                 0);
	assert_int_equal(pgw_catalog__map_item(&x, PGW_CAT_CONSTRAINT, 200, 9),
	                 0);
	assert_int_equal(pgw_catalog__alias(&x, PGW_CAT_CLASS, 201,
	                                    PGW_CAT_CONSTRAINT, 200, true,
	                                    false),
	                 0);
	assert_int_equal(pgw_catalog__alias(&x, PGW_CAT_CLASS, 201,
	                                    PGW_CAT_CLASS, 100, false, true),
	                 0);
	/* two aliases that point at each other: the search ends */
	assert_int_equal(pgw_catalog__alias(&x, PGW_CAT_PROC, 300, PGW_CAT_PROC,
	                                    301, true, true),
	                 0);
	assert_int_equal(pgw_catalog__alias(&x, PGW_CAT_PROC, 301, PGW_CAT_PROC,
	                                    300, true, true),
	                 0);
	/* enough objects to grow the table a few times */
	for (i = 0; i < 5000; i++)
		assert_int_equal(pgw_catalog__map_item(&x, PGW_CAT_TRIGGER,
		                                       10000 + i, 1000 + i),
		                 0);

	assert_int_equal(pgw_catalog__find_item(
	                         &x, pgw_catalog__key(PGW_CAT_CLASS, 100)),
	                 7);
	assert_int_equal(pgw_catalog__find_unit(
	                         &x, pgw_catalog__key(PGW_CAT_CLASS, 100)),
	                 3);
	assert_int_equal(
	        pgw_catalog__find_item(&x, pgw_catalog__key(PGW_CAT_TYPE, 102)),
	        7);
	assert_int_equal(
	        pgw_catalog__find_unit(&x, pgw_catalog__key(PGW_CAT_TYPE, 102)),
	        3);
	assert_int_equal(pgw_catalog__find_item(
	                         &x, pgw_catalog__key(PGW_CAT_CLASS, 201)),
	                 9);
	assert_int_equal(pgw_catalog__find_unit(
	                         &x, pgw_catalog__key(PGW_CAT_CLASS, 201)),
	                 3);
	assert_int_equal(pgw_catalog__find_unit(
	                         &x, pgw_catalog__key(PGW_CAT_CONSTRAINT, 200)),
	                 PGW_CAT_NONE);
	assert_int_equal(
	        pgw_catalog__find_item(&x, pgw_catalog__key(PGW_CAT_PROC, 300)),
	        PGW_CAT_NONE);
	assert_int_equal(pgw_catalog__find_item(
	                         &x, pgw_catalog__key(PGW_CAT_CLASS, 999)),
	                 PGW_CAT_NONE);
	for (i = 0; i < 5000; i += 499)
		assert_int_equal(pgw_catalog__find_item(
		                         &x, pgw_catalog__key(PGW_CAT_TRIGGER,
		                                              10000 + i)),
		                 1000 + i);
	assert_int_equal(x.map.n, 5000 + 7);
	assert_int_equal(fx->err.code, 0);
	fx->map = x.map;
}

/* ---------------------------------------------------------------------- */
/* scope */

static void
test_catalog__scope_leaves_out_system_and_journal_schemas(void **state)
{
	struct fx *fx = *state;
	static const char *const excluded[] = { "pgward", NULL };
	struct pgw_catalog_opts o = { 0 };
	size_t i;

	fixture_pg_sql(
	        fx->c,
	        "CREATE SCHEMA app; CREATE TABLE app.t (id int);"
	        "CREATE SCHEMA pgward; CREATE TABLE pgward.migrations (v int);"
	        "CREATE SCHEMA pgward_journal;"
	        " CREATE TABLE pgward_journal.deploys (id text);");
	o.exclude_schemas = excluded;
	read_ok(fx, &o);
	assert_int_equal(fx->cat->n_schemas, 2);
	assert_string_equal(fx->cat->schemas[0], "app");
	assert_string_equal(fx->cat->schemas[1], "public");
	assert_null(fx->cat->schemas[2]);
	assert_int_equal(fx->cat->n_tables, 1);
	assert_string_equal(fx->cat->tables[0].qualified, "app.t");
	for (i = 0; i < fx->cat->n_objects; i++) {
		assert_null(strstr(fx->cat->objects[i].identity, "pgward"));
		assert_null(strstr(fx->cat->objects[i].identity, "pg_catalog"));
	}
	assert_null(strstr(fx->cat->pre_data, "pgward"));
	assert_null(strstr(fx->cat->pre_data, "information_schema"));

	/* without the exclusion, pgward's own schema is carried; the
	 * journal never is */
	read_ok(fx, NULL);
	assert_int_equal(fx->cat->n_schemas, 3);
	assert_string_equal(fx->cat->schemas[1], "pgward");
	at(fx->cat->pre_data, "CREATE TABLE pgward.migrations");
	assert_null(strstr(fx->cat->pre_data, "pgward_journal"));
}

static void
test_catalog__scope_asked_for_must_exist_and_be_carriable(void **state)
{
	struct fx *fx = *state;
	static const char *const missing[] = { "nowhere", NULL };
	static const char *const journal[] = { "pgward_journal", NULL };
	static const char *const system[] = { "pg_catalog", NULL };
	struct pgw_catalog_opts o = { 0 };

	fixture_pg_sql(fx->c, "CREATE SCHEMA pgward_journal");
	o.extra_schemas = missing;
	assert_int_equal(read_fails(fx, &o), PGW_ENOTFOUND);
	assert_string_equal(fx->err.msg, "schema 'nowhere' does not exist");

	o.extra_schemas = journal;
	assert_int_equal(read_fails(fx, &o), PGW_EINVAL);
	at(fx->err.msg, "schema 'pgward_journal' cannot be carried");

	o.extra_schemas = system;
	assert_int_equal(read_fails(fx, &o), PGW_EINVAL);
	at(fx->err.msg, "schema 'pg_catalog' cannot be carried");

	/* a restore asks for exactly the archive's schemas that exist: one
	 * that does not is simply not there */
	o.extra_schemas = missing;
	o.only_listed = true;
	read_ok(fx, &o);
	assert_int_equal(fx->cat->n_schemas, 0);
	assert_int_equal(fx->cat->n_tables, 0);
}

static void test_catalog__platform_schema_only_when_named(void **state)
{
	struct fx *fx = *state;
	static const char *const named[] = { "auth", NULL };
	struct pgw_catalog_opts o = { 0 };

	fixture_pg_drop_role(PLATFORM_ROLE);
	assert_int_equal(fixture_pg_admin("CREATE ROLE " PLATFORM_ROLE), 0);
	fixture_pg_sql(
	        fx->c,
	        "CREATE SCHEMA auth AUTHORIZATION " PLATFORM_ROLE ";"
	        "CREATE TABLE auth.users (id int);"
	        "ALTER TABLE auth.users OWNER TO " PLATFORM_ROLE ";"
	        /* the same name, owned by the role itself: its own */
	        "CREATE SCHEMA storage; CREATE TABLE storage.o (id int);");
	read_ok(fx, NULL);
	assert_int_equal(fx->cat->n_schemas, 2);
	assert_string_equal(fx->cat->schemas[0], "public");
	assert_string_equal(fx->cat->schemas[1], "storage");

	o.extra_schemas = named;
	read_ok(fx, &o);
	assert_int_equal(fx->cat->n_schemas, 3);
	assert_string_equal(fx->cat->schemas[0], "auth");
	at(fx->cat->pre_data, "CREATE TABLE auth.users");
}

/* lock_scope runs once the scope is known, with its oids; its error is
 * the reader's; the caller's search_path comes back. */
struct lock_seen {
	char oids[256];
	int calls;
	int fail;
};

static int record_scope(PGconn *c, const char *schema_oids, void *arg,
                        struct pgw_err *err)
{
	struct lock_seen *s = arg;

	(void)c;
	s->calls++;
	snprintf(s->oids, sizeof(s->oids), "%s", schema_oids);
	if (s->fail)
		return pgw_err_set(err, PGW_ELOCKED, "table app.t is busy");
	return 0;
}

static void test_catalog__lock_scope_first_and_search_path_kept(void **state)
{
	struct fx *fx = *state;
	struct pgw_catalog_opts o = { 0 };
	struct lock_seen seen = { "", 0, 0 };
	char want[256], path[256];

	fixture_pg_sql(fx->c, "CREATE SCHEMA app; CREATE TABLE app.t (id int);"
	                      "SET search_path = app, public");
	o.lock_scope = record_scope;
	o.lock_arg = &seen;
	read_ok(fx, &o);
	assert_int_equal(seen.calls, 1);
	fixture_pg_scalar(
	        fx->c,
	        "SELECT '{' || string_agg(oid::text, ',' ORDER BY nspname"
	        " COLLATE \"C\") || '}' FROM pg_namespace"
	        " WHERE nspname IN ('app', 'public')",
	        want, sizeof(want));
	assert_string_equal(seen.oids, want);
	assert_string_equal(fixture_pg_scalar(fx->c, "SHOW search_path", path,
	                                      sizeof(path)),
	                    "app, public");

	seen.fail = 1;
	assert_int_equal(read_fails(fx, &o), PGW_ELOCKED);
	assert_string_equal(fx->err.msg, "table app.t is busy");
	assert_int_equal(seen.calls, 2);
}

/* ---------------------------------------------------------------------- */
/* census */

static void test_catalog__census_names_what_cannot_be_carried(void **state)
{
	struct fx *fx = *state;
	struct pgw_catalog_opts o = { 0 };
	char oid[32];

	fixture_pg_sql(fx->c, "CREATE TABLE public.t (id int);"
	                      "CREATE TEXT SEARCH CONFIGURATION public.mycfg"
	                      " (COPY = pg_catalog.english)");
	assert_int_equal(read_fails(fx, &o), PGW_EINVAL);
	assert_string_equal(
	        fx->err.msg,
	        "the archive cannot carry: text search configuration "
	        "public.mycfg; --allow-unsupported leaves them out "
	        "and records it");
	at(fx->err.hint, "--allow-unsupported");

	o.allow_unsupported = true;
	read_ok(fx, &o);
	assert_int_equal(fx->cat->n_unsupported, 1);
	assert_string_equal(fx->cat->unsupported[0].kind,
	                    "text search configuration");
	assert_string_equal(fx->cat->unsupported[0].identity, "public.mycfg");
	assert_int_equal(
	        fx->cat->unsupported[0].classid,
	        strtoul(fixture_pg_scalar(
	                        fx->c, "SELECT 'pg_ts_config'::regclass::oid",
	                        oid, sizeof(oid)),
	                NULL, 10));
	assert_int_equal(
	        fx->cat->unsupported[0].objid,
	        strtoul(fixture_pg_scalar(fx->c,
	                                  "SELECT oid FROM pg_ts_config"
	                                  " WHERE cfgname = 'mycfg'",
	                                  oid, sizeof(oid)),
	                NULL, 10));
	/* left out of the DDL, the rest is there */
	assert_null(strstr(fx->cat->pre_data, "mycfg"));
	at(fx->cat->pre_data, "CREATE TABLE public.t");
}

static void test_catalog__census_names_twelve_and_counts_the_rest(void **state)
{
	struct fx *fx = *state;
	struct pgw_catalog_opts o = { 0 };
	char q[200];
	int i;

	for (i = 0; i < 15; i++) {
		snprintf(q, sizeof(q),
		         "CREATE TEXT SEARCH CONFIGURATION public.cfg%02d"
		         " (COPY = pg_catalog.simple)",
		         i);
		fixture_pg_sql(fx->c, q);
	}
	assert_int_equal(read_fails(fx, &o), PGW_EINVAL);
	/* in name order */
	at(fx->err.msg, "text search configuration public.cfg00, text search "
	                "configuration public.cfg01,");
	at(fx->err.msg, "public.cfg11 and 3 more;");
	assert_null(strstr(fx->err.msg, "cfg12"));
	o.allow_unsupported = true;
	read_ok(fx, &o);
	assert_int_equal(fx->cat->n_unsupported, 15);
	assert_string_equal(fx->cat->unsupported[14].identity, "public.cfg14");
}

/* ---------------------------------------------------------------------- */
/* order */

static void test_catalog__pre_data_in_dependency_order(void **state)
{
	struct fx *fx = *state;
	const char *pre, *post;

	fill(fx->c);
	read_ok(fx, NULL);
	pre = fx->cat->pre_data;
	post = fx->cat->post_data;
	/* the session settings first, in both sections */
	assert_int_equal(at(pre, "SET check_function_bodies = false;"), 0);
	assert_int_equal(at(post, "SET check_function_bodies = false;"), 0);
	at(pre, "SELECT pg_catalog.set_config('search_path', '', false);");
	/* schemas, then types, then what uses them */
	assert_true(at(pre, "CREATE SCHEMA IF NOT EXISTS app;") <
	            at(pre, "CREATE TYPE app.mood AS ENUM"));
	assert_true(at(pre, "CREATE TYPE app.mood AS ENUM") <
	            at(pre, "CREATE TABLE app.child ("));
	assert_true(at(pre, "CREATE DOMAIN app.posint") <
	            at(pre, "CREATE TABLE app.child ("));
	/* a view after the view it reads, whatever the names */
	assert_true(at(pre, "CREATE TABLE app.child (") <
	            at(pre, "CREATE VIEW app.z_base AS"));
	assert_true(at(pre, "CREATE VIEW app.z_base AS") <
	            at(pre, "CREATE VIEW app.a_top AS"));
	/* a default calling a function that reads the table: table,
	 * function, then the default */
	assert_true(at(pre, "CREATE TABLE app.t (") <
	            at(pre, "CREATE OR REPLACE FUNCTION app.next_id()"));
	assert_true(at(pre, "CREATE OR REPLACE FUNCTION app.next_id()") <
	            at(pre, "ALTER TABLE ONLY app.t ALTER COLUMN id SET "
	                    "DEFAULT app.next_id();"));
	/* a serial's sequence before its table, OWNED BY after it */
	assert_true(at(pre, "CREATE SEQUENCE app.child_id_seq") <
	            at(pre, "CREATE TABLE app.child ("));
	assert_true(at(pre, "CREATE TABLE app.child (") <
	            at(pre, "ALTER SEQUENCE app.child_id_seq OWNED BY "
	                    "app.child.id;"));
	/* post-data: keys before indexes before foreign keys before
	 * triggers, policies after RLS is on, sequence values last */
	assert_true(at(post, "ADD CONSTRAINT parent_pkey PRIMARY KEY (id);") <
	            at(post, "CREATE INDEX child_qty_idx"));
	assert_true(
	        at(post, "CREATE INDEX child_qty_idx") <
	        at(post, "FOREIGN KEY (parent_id) REFERENCES app.parent(id)"));
	assert_true(
	        at(post, "FOREIGN KEY (parent_id) REFERENCES app.parent(id)") <
	        at(post, "CREATE TRIGGER child_touch"));
	assert_true(
	        at(post, "ALTER TABLE app.child ENABLE ROW LEVEL SECURITY;") <
	        at(post, "CREATE POLICY child_pos ON app.child"));
	assert_true(at(post, "CREATE POLICY child_pos ON app.child") <
	            at(post, "SELECT pg_catalog.setval('app.child_id_seq', 3, "
	                     "true);"));
	/* a populated materialized view: created empty, refreshed once the
	 * rows are in */
	at(pre, "CREATE MATERIALIZED VIEW app.mv AS");
	at(post, "REFRESH MATERIALIZED VIEW app.mv;");
	/* nothing of post-data in pre-data */
	assert_null(strstr(pre, "CREATE TRIGGER"));
	assert_null(strstr(pre, "PRIMARY KEY"));
}

static void test_catalog__dependency_cycle_is_named(void **state)
{
	struct fx *fx = *state;

	/* a view calling a function whose body reads the view */
	fixture_pg_sql(fx->c,
	               "CREATE VIEW public.v AS SELECT 1 AS x;"
	               "CREATE FUNCTION public.f() RETURNS bigint LANGUAGE sql"
	               " BEGIN ATOMIC SELECT count(*) FROM public.v; END;"
	               "CREATE OR REPLACE VIEW public.v AS SELECT 1 AS x,"
	               " public.f() AS y;"
	               "CREATE TABLE public.fine (id int)");
	assert_int_equal(read_fails(fx, NULL), PGW_EINVAL);
	at(fx->err.msg, "cannot order the pre-data objects: a dependency cycle "
	                "among ");
	at(fx->err.msg, "public.v");
	at(fx->err.msg, "public.f");
	assert_null(strstr(fx->err.msg, "fine"));
	at(fx->err.hint, "break the cycle");
}

/* Every drop statement, in the reader's order, runs: dependents go
 * first, and nothing of the schemas is left. */
static void test_catalog__drop_order_runs_and_empties_the_schemas(void **state)
{
	struct fx *fx = *state;
	char n[32];
	size_t i;

	fill(fx->c);
	read_ok(fx, NULL);
	assert_true(fx->cat->n_objects > 10);
	/* dependents before what they depend on */
	assert_true(drop_index(fx->cat, "ALTER TABLE app.child DROP CONSTRAINT "
	                                "child_parent_id_fkey;") <
	            drop_index(fx->cat, "DROP TABLE app.parent;"));
	assert_true(drop_index(fx->cat, "DROP VIEW app.a_top;") <
	            drop_index(fx->cat, "DROP VIEW app.z_base;"));
	assert_true(drop_index(fx->cat, "DROP VIEW app.z_base;") <
	            drop_index(fx->cat, "DROP TABLE app.child;"));
	assert_true(
	        drop_index(fx->cat, "DROP TRIGGER child_touch ON app.child;") <
	        drop_index(fx->cat, "DROP FUNCTION app.touch();"));
	assert_true(drop_index(fx->cat,
	                       "ALTER TABLE ONLY app.t ALTER COLUMN id "
	                       "DROP DEFAULT;") <
	            drop_index(fx->cat, "DROP FUNCTION app.next_id();"));
	assert_true(drop_index(fx->cat, "DROP FUNCTION app.next_id();") <
	            drop_index(fx->cat, "DROP TABLE app.t;"));
	assert_true(drop_index(fx->cat, "DROP TABLE app.child;") <
	            drop_index(fx->cat, "DROP TYPE app.mood;"));
	assert_true(drop_index(fx->cat, "DROP TABLE app.child;") <
	            drop_index(fx->cat, "DROP DOMAIN app.posint;"));
	/* kinds and identities as the server names them */
	i = drop_index(fx->cat, "DROP VIEW app.a_top;");
	assert_string_equal(fx->cat->objects[i].kind, "view");
	assert_string_equal(fx->cat->objects[i].identity, "app.a_top");
	assert_int_equal(fx->cat->objects[i].classid, PGW_CAT_CLASS);
	/* a serial's sequence goes with its table: no DROP of its own */
	for (i = 0; i < fx->cat->n_objects; i++)
		assert_null(strstr(fx->cat->objects[i].drop_sql,
		                   "DROP SEQUENCE app.child_id_seq"));

	fixture_pg_sql(fx->c, "BEGIN");
	for (i = 0; i < fx->cat->n_objects; i++) {
		PGresult *res = PQexec(fx->c, fx->cat->objects[i].drop_sql);

		if (PQresultStatus(res) != PGRES_COMMAND_OK) {
			print_message("%s\n", PQerrorMessage(fx->c));
			PQclear(res);
			fixture_pg_sql(fx->c, "ROLLBACK");
			fail_msg("drop %zu failed: %s", i,
			         fx->cat->objects[i].drop_sql);
		}
		PQclear(res);
	}
	assert_string_equal(
	        fixture_pg_scalar(fx->c,
	                          "SELECT count(*) FROM pg_class c JOIN"
	                          " pg_namespace n ON n.oid = c.relnamespace"
	                          " WHERE n.nspname IN ('app', 'public')",
	                          n, sizeof(n)),
	        "0");
	assert_string_equal(
	        fixture_pg_scalar(fx->c,
	                          "SELECT count(*) FROM pg_proc p JOIN"
	                          " pg_namespace n ON n.oid = p.pronamespace"
	                          " WHERE n.nspname = 'app'",
	                          n, sizeof(n)),
	        "0");
	assert_string_equal(
	        fixture_pg_scalar(fx->c,
	                          "SELECT count(*) FROM pg_type t JOIN"
	                          " pg_namespace n ON n.oid = t.typnamespace"
	                          " WHERE n.nspname = 'app'",
	                          n, sizeof(n)),
	        "0");
	/* schemas are never dropped */
	assert_string_equal(
	        fixture_pg_scalar(fx->c,
	                          "SELECT count(*) FROM pg_namespace"
	                          " WHERE nspname = 'app'",
	                          n, sizeof(n)),
	        "1");
	fixture_pg_sql(fx->c, "ROLLBACK");
}

/* ---------------------------------------------------------------------- */
/* tables */

static void test_catalog__tables_sorted_with_partition_leaves(void **state)
{
	struct fx *fx = *state;
	const struct pgw_catalog *cat;
	static const char *const want[] = { "Odd Name", "child", "m_2024",
		                            "parent", "t" };
	size_t i;

	fill(fx->c);
	fixture_pg_sql(fx->c, "ANALYZE");
	read_ok(fx, NULL);
	cat = fx->cat;
	/* tables only: not the partitioned parent, views or the
	 * materialized view; by schema, then name (byte order) */
	assert_int_equal(cat->n_tables, 5);
	for (i = 0; i < 5; i++) {
		assert_string_equal(cat->tables[i].schema, "app");
		assert_string_equal(cat->tables[i].name, want[i]);
	}
	assert_string_equal(cat->tables[0].qualified, "app.\"Odd Name\"");
	assert_string_equal(cat->tables[0].columns, "x");
	/* generated columns are left out of what is copied */
	assert_string_equal(cat->tables[1].columns, "id, parent_id, qty, m");
	assert_false(cat->tables[1].is_partition_leaf);
	assert_true(cat->tables[2].is_partition_leaf);
	assert_string_equal(cat->tables[2].qualified, "app.m_2024");
	assert_string_equal(cat->tables[2].columns, "d, v");
	/* estimates from the statistics */
	assert_true(cat->tables[1].est_rows == 3);
	assert_true(cat->tables[3].est_rows == 2);
	assert_true(cat->tables[1].est_bytes >= 8192);
}

static void test_catalog__never_analyzed_tables_have_no_estimate(void **state)
{
	struct fx *fx = *state;

	fixture_pg_sql(fx->c, "CREATE TABLE public.fresh (id int)");
	read_ok(fx, NULL);
	assert_int_equal(fx->cat->n_tables, 1);
	assert_true(fx->cat->tables[0].est_rows < 0);
	assert_true(fx->cat->tables[0].est_bytes == 0);
}

/* ---------------------------------------------------------------------- */
/* outside dependents */

static void test_catalog__outside_dependents_are_named(void **state)
{
	struct fx *fx = *state;
	static const char *const only_app[] = { "app", NULL };
	struct pgw_catalog_opts o = { 0 };

	fixture_pg_sql(
	        fx->c,
	        "CREATE SCHEMA app; CREATE TABLE app.t (id int PRIMARY KEY);"
	        "CREATE FUNCTION app.f() RETURNS int LANGUAGE sql"
	        " AS 'SELECT 1';"
	        "CREATE SCHEMA other;"
	        "CREATE VIEW other.v AS SELECT id FROM app.t;"
	        "CREATE TABLE other.r (t_id int REFERENCES app.t (id),"
	        " n int DEFAULT app.f())");
	o.extra_schemas = only_app;
	o.only_listed = true;
	read_ok(fx, &o);
	assert_int_equal(pgw_catalog_outside_dependents(&fx->text, fx->c,
	                                                fx->cat, &fx->err),
	                 0);
	assert_non_null(fx->text);
	/* one line each, sorted, joined by "; " */
	at(fx->text, "view other.v depends on table app.t");
	at(fx->text, "table constraint r_t_id_fkey on other.r depends on "
	             "table app.t");
	at(fx->text, "depends on function app.f()");
	assert_null(strstr(fx->text, "other.v depends on table other"));

	/* the whole database: nothing is outside */
	free(fx->text);
	fx->text = NULL;
	read_ok(fx, NULL);
	assert_int_equal(pgw_catalog_outside_dependents(&fx->text, fx->c,
	                                                fx->cat, &fx->err),
	                 0);
	assert_null(fx->text);
}

/* ---------------------------------------------------------------------- */
/* extensions */

static void test_catalog__extensions_are_prerequisites(void **state)
{
	struct fx *fx = *state;
	char want[64];

	fixture_pg_sql(fx->c, "CREATE EXTENSION citext;"
	                      "CREATE TABLE public.u (email public.citext)");
	read_ok(fx, NULL);
	fixture_pg_scalar(fx->c,
	                  "SELECT 'citext ' || extversion FROM pg_extension"
	                  " WHERE extname = 'citext'",
	                  want, sizeof(want));
	assert_int_equal(fx->cat->n_extensions, 2); /* and plpgsql */
	assert_string_equal(fx->cat->extensions[0], want);
	assert_string_equal(fx->cat->extension_schemas[0], "public");
	assert_string_equal(fx->cat->extension_schemas[1], "pg_catalog");
	assert_null(fx->cat->extensions[2]);
	/* its members are neither unsupported nor replayed */
	assert_int_equal(fx->cat->n_unsupported, 0);
	assert_null(strstr(fx->cat->pre_data, "CREATE TYPE public.citext"));
	assert_null(strstr(fx->cat->pre_data, "FUNCTION public.citext"));
	at(fx->cat->pre_data, "    email public.citext\n");
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
#define P(f) cmocka_unit_test_setup_teardown(f, setup_plain, teardown_plain)

int main(void)
{
	const struct CMUnitTest tests[] = {
		P(test_catalog__acl_from_nothing_then_each_grant),
		P(test_catalog__acl_of_columns_and_defaults),
		P(test_catalog__comment_only_when_there_is_one),
		P(test_catalog__object_map_follows_aliases),
		T(test_catalog__scope_leaves_out_system_and_journal_schemas),
		T(test_catalog__scope_asked_for_must_exist_and_be_carriable),
		T(test_catalog__platform_schema_only_when_named),
		T(test_catalog__lock_scope_first_and_search_path_kept),
		T(test_catalog__census_names_what_cannot_be_carried),
		T(test_catalog__census_names_twelve_and_counts_the_rest),
		T(test_catalog__pre_data_in_dependency_order),
		T(test_catalog__dependency_cycle_is_named),
		T(test_catalog__drop_order_runs_and_empties_the_schemas),
		T(test_catalog__tables_sorted_with_partition_leaves),
		T(test_catalog__never_analyzed_tables_have_no_estimate),
		T(test_catalog__outside_dependents_are_named),
		T(test_catalog__extensions_are_prerequisites),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
