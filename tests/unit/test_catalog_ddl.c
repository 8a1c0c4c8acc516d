/* test_catalog_ddl.c - the DDL of each catalog class (core/catalog_ddl.c),
 * as pgw_catalog_read() hands it out: types, tables and their columns,
 * sequences, functions, keys and indexes, triggers, rules, policies,
 * statistics objects, grants, comments and default privileges, each in
 * its section with the statement that drops it; and the whole of it
 * replayed into an empty database reads back the same.  From a real
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
#include "fixture_pg.h"
#include "pgward.h"

#define DB "ut_catalog_ddl"
#define DB_COPY "ut_catalog_ddl_copy"
/* cluster-wide, made by the setup and dropped by the teardown */
#define READER "pgw_ut_ddl_reader"

struct fx {
	char *conninfo, *copy_conninfo;
	PGconn *c, *copy;
	struct pgw_err err;
	struct pgw_catalog *cat, *cat_copy;
};

static int teardown(void **state);

static int setup(void **state)
{
	struct fx *fx = calloc(1, sizeof(*fx));

	if (!fx)
		return -1;
	*state = fx;
	fx->c = fixture_pg_open(DB, &fx->conninfo);
	if (fx->c && fixture_pg_drop_role(READER) == 0 &&
	    fixture_pg_admin("CREATE ROLE " READER) == 0)
		return 0;
	/* the teardown is not run when the setup fails */
	teardown(state);
	return -1;
}

static int teardown(void **state)
{
	struct fx *fx = *state;

	pgw_catalog_free(fx->cat);
	pgw_catalog_free(fx->cat_copy);
	fixture_pg_close(DB, fx->conninfo, fx->c);
	if (fx->copy_conninfo)
		fixture_pg_close(DB_COPY, fx->copy_conninfo, fx->copy);
	fixture_pg_drop_role(READER);
	free(fx);
	return 0;
}

/* ---------------------------------------------------------------------- */
/* helpers */

static struct pgw_catalog *read_cat(struct fx *fx, PGconn *c,
                                    struct pgw_catalog **slot)
{
	int rc;

	pgw_catalog_free(*slot);
	*slot = NULL;
	pgw_err_clear(&fx->err);
	fixture_pg_sql(c, "BEGIN ISOLATION LEVEL REPEATABLE READ");
	rc = pgw_catalog_read(slot, c, NULL, &fx->err);
	fixture_pg_sql(c, "COMMIT");
	if (rc != 0)
		fail_msg("pgw_catalog_read: %d %s", rc, fx->err.msg);
	return *slot;
}

static const struct pgw_catalog *read_ok(struct fx *fx)
{
	return read_cat(fx, fx->c, &fx->cat);
}

/* The catalog after `ddl` ran on the test's database. */
static const struct pgw_catalog *read_after(struct fx *fx, const char *ddl)
{
	fixture_pg_sql(fx->c, ddl);
	return read_ok(fx);
}

/* `needle` is in `hay` (shown when not). */
static void has(const char *hay, const char *needle)
{
	if (!strstr(hay, needle)) {
		print_message("%s\n", hay);
		fail_msg("'%s' is not in the text above", needle);
	}
}

static void lacks(const char *hay, const char *needle)
{
	if (strstr(hay, needle)) {
		print_message("%s\n", hay);
		fail_msg("'%s' should not be in the text above", needle);
	}
}

/* The object that `drop_sql` drops, with its kind and identity. */
static void drops(const struct pgw_catalog *cat, const char *drop_sql,
                  const char *kind, const char *identity)
{
	size_t i;

	for (i = 0; i < cat->n_objects; i++) {
		if (strcmp(cat->objects[i].drop_sql, drop_sql) != 0)
			continue;
		assert_string_equal(cat->objects[i].kind, kind);
		assert_string_equal(cat->objects[i].identity, identity);
		return;
	}
	for (i = 0; i < cat->n_objects; i++)
		print_message("  %s\n", cat->objects[i].drop_sql);
	fail_msg("no object dropped by '%s'", drop_sql);
}

static const struct pgw_catalog_table *table(const struct pgw_catalog *cat,
                                             const char *name)
{
	size_t i;

	for (i = 0; i < cat->n_tables; i++)
		if (strcmp(cat->tables[i].name, name) == 0)
			return &cat->tables[i];
	fail_msg("no table %s", name);
	return NULL;
}

/* ---------------------------------------------------------------------- */
/* types */

static void test_catalog_ddl__types(void **state)
{
	struct fx *fx = *state;
	const struct pgw_catalog *cat;

	cat = read_after(
	        fx, "CREATE TYPE public.mood AS ENUM ('ok', 'sad', 'it''s');"
	            "CREATE DOMAIN public.posint AS integer CHECK (VALUE > 0);"
	            "CREATE DOMAIN public.code AS text COLLATE \"C\""
	            " DEFAULT 'x' NOT NULL;"
	            "ALTER DOMAIN public.code ADD CONSTRAINT code_len"
	            " CHECK (length(VALUE) < 10) NOT VALID;"
	            "CREATE TYPE public.span AS RANGE (subtype = integer);"
	            "CREATE TYPE public.pair AS (a integer, b text);"
	            "COMMENT ON TYPE public.pair IS 'two things'");
	has(cat->pre_data,
	    "CREATE TYPE public.mood AS ENUM ('ok', 'sad', "
	    "'it''s');\nALTER TYPE public.mood OWNER TO postgres;\n");
	has(cat->pre_data, "CREATE DOMAIN public.posint AS integer\n"
	                   "    CONSTRAINT posint_check CHECK ((VALUE > 0));\n"
	                   "ALTER DOMAIN public.posint OWNER TO postgres;\n");
	has(cat->pre_data, "CREATE DOMAIN public.code AS text COLLATE "
	                   "pg_catalog.\"C\" DEFAULT 'x'::text NOT NULL;\n");
	/* a constraint that was never validated is added, not valid, after
	 * the data */
	lacks(cat->pre_data, "code_len");
	has(cat->post_data, "ALTER DOMAIN public.code ADD CONSTRAINT code_len "
	                    "CHECK ((length(VALUE) < 10)) NOT VALID;\n");
	has(cat->pre_data, "CREATE TYPE public.span AS RANGE (\n"
	                   "    SUBTYPE = integer,\n"
	                   "    MULTIRANGE_TYPE_NAME = public.span_multirange\n"
	                   ");\n");
	has(cat->pre_data, "CREATE TYPE public.pair AS (\n    a integer,\n"
	                   "    b text\n);\nALTER TYPE public.pair OWNER TO "
	                   "postgres;\nCOMMENT ON TYPE public.pair IS 'two "
	                   "things';\n");
	/* arrays and multiranges come with their type: no statement of
	 * their own */
	lacks(cat->pre_data, "_mood");
	lacks(cat->pre_data, "CREATE TYPE public.span_multirange");
	drops(cat, "DROP TYPE public.mood;", "type", "public.mood");
	drops(cat, "DROP DOMAIN public.posint;", "type", "public.posint");
	drops(cat, "DROP TYPE public.span;", "type", "public.span");
	drops(cat, "DROP TYPE public.pair;", "type", "public.pair");
	assert_int_equal(cat->n_objects, 5);
	assert_int_equal(cat->n_tables, 0);
}

/* ---------------------------------------------------------------------- */
/* tables */

static void test_catalog_ddl__table_columns_and_checks(void **state)
{
	struct fx *fx = *state;
	const struct pgw_catalog *cat;

	cat = read_after(
	        fx, "CREATE TABLE public.orders ("
	            " id bigint GENERATED ALWAYS AS IDENTITY,"
	            " serial_no serial,"
	            " qty integer NOT NULL DEFAULT 1,"
	            " price numeric(10,2) CHECK (price >= 0),"
	            " total numeric GENERATED ALWAYS AS (qty * price) STORED,"
	            " note text COLLATE \"C\","
	            " dropped int);"
	            "ALTER TABLE public.orders DROP COLUMN dropped;"
	            "ALTER TABLE public.orders ADD CONSTRAINT orders_qty_small"
	            " CHECK (qty < 1000) NOT VALID;"
	            "COMMENT ON CONSTRAINT orders_price_check ON public.orders"
	            " IS 'never negative'");
	has(cat->pre_data,
	    "CREATE TABLE public.orders (\n"
	    "    id bigint NOT NULL GENERATED ALWAYS AS IDENTITY (SEQUENCE NAME "
	    "public.orders_id_seq START WITH 1 INCREMENT BY 1 MINVALUE 1 "
	    "MAXVALUE 9223372036854775807 CACHE 1 NO CYCLE),\n"
	    "    serial_no integer DEFAULT "
	    "nextval('public.orders_serial_no_seq'::regclass) NOT NULL,\n"
	    "    qty integer DEFAULT 1 NOT NULL,\n"
	    "    price numeric(10,2),\n"
	    "    total numeric GENERATED ALWAYS AS (((qty)::numeric * price)) "
	    "STORED,\n"
	    "    note text COLLATE pg_catalog.\"C\",\n"
	    "    CONSTRAINT orders_price_check CHECK ((price >= "
	    "(0)::numeric))\n"
	    ");\n"
	    "ALTER TABLE public.orders OWNER TO postgres;\n");
	has(cat->pre_data, "COMMENT ON CONSTRAINT orders_price_check ON "
	                   "public.orders IS 'never negative';\n");
	/* the dropped column is gone; the unvalidated check comes after the
	 * rows, still not valid */
	lacks(cat->pre_data, "dropped");
	lacks(cat->pre_data, "orders_qty_small");
	has(cat->post_data,
	    "ALTER TABLE public.orders ADD CONSTRAINT "
	    "orders_qty_small CHECK ((qty < 1000)) NOT VALID;\n");
	/* the identity's sequence comes with its table; the serial's is a
	 * sequence of its own */
	lacks(cat->pre_data, "CREATE SEQUENCE public.orders_id_seq");
	has(cat->pre_data, "CREATE SEQUENCE public.orders_serial_no_seq\n"
	                   "    AS integer\n");
	has(cat->pre_data,
	    "ALTER SEQUENCE public.orders_serial_no_seq OWNED BY "
	    "public.orders.serial_no;\n");
	/* the rows: every column but the generated one */
	assert_int_equal(cat->n_tables, 1);
	assert_string_equal(cat->tables[0].columns,
	                    "id, serial_no, qty, price, note");
	drops(cat, "DROP TABLE public.orders;", "table", "public.orders");
}

static void test_catalog_ddl__partitions_and_inheritance(void **state)
{
	struct fx *fx = *state;
	const struct pgw_catalog *cat;

	cat = read_after(
	        fx,
	        "CREATE TABLE public.m (id int, d date NOT NULL, v text)"
	        " PARTITION BY RANGE (d);"
	        "CREATE TABLE public.m_2024 PARTITION OF public.m"
	        " FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');"
	        /* a partition whose columns are in another order */
	        "CREATE TABLE public.m_2025 (v text, d date NOT NULL, id int);"
	        "ALTER TABLE public.m ATTACH PARTITION public.m_2025"
	        " FOR VALUES FROM ('2025-01-01') TO ('2026-01-01');"
	        "CREATE TABLE public.base (id int NOT NULL, kind text);"
	        "CREATE TABLE public.sub (extra int) INHERITS (public.base)");
	has(cat->pre_data, "CREATE TABLE public.m (\n    id integer,\n"
	                   "    d date NOT NULL,\n    v text\n)\n"
	                   "PARTITION BY RANGE (d);\n");
	has(cat->pre_data, "CREATE TABLE public.m_2025 (\n    v text,\n"
	                   "    d date NOT NULL,\n    id integer\n);\n"
	                   "ALTER TABLE ONLY public.m ATTACH PARTITION "
	                   "public.m_2025 FOR VALUES FROM ('2025-01-01') TO "
	                   "('2026-01-01');\n");
	has(cat->pre_data, "ALTER TABLE ONLY public.m ATTACH PARTITION "
	                   "public.m_2024 FOR VALUES FROM ('2024-01-01') TO "
	                   "('2025-01-01');\n");
	/* an inheriting table lists only its own columns */
	has(cat->pre_data, "CREATE TABLE public.sub (\n    extra integer\n)\n"
	                   "INHERITS (public.base);\n");
	has(cat->pre_data,
	    "ALTER TABLE ONLY public.sub ALTER COLUMN id SET NOT "
	    "NULL;\n");
	/* rows: leaves, in their own column order; not the parent */
	assert_int_equal(cat->n_tables, 4);
	assert_string_equal(table(cat, "m_2025")->columns, "v, d, id");
	assert_string_equal(table(cat, "m_2024")->columns, "id, d, v");
	assert_string_equal(table(cat, "sub")->columns, "id, kind, extra");
}

static void test_catalog_ddl__storage_and_column_options(void **state)
{
	struct fx *fx = *state;
	const struct pgw_catalog *cat;

	cat = read_after(
	        fx, "CREATE UNLOGGED TABLE public.scratch (id int, note text)"
	            " WITH (fillfactor = 70, autovacuum_enabled = false);"
	            "ALTER TABLE public.scratch ALTER COLUMN note SET STORAGE"
	            " EXTERNAL, ALTER COLUMN id SET STATISTICS 500,"
	            " ALTER COLUMN note SET COMPRESSION pglz,"
	            " ALTER COLUMN id SET (n_distinct = 5),"
	            " REPLICA IDENTITY FULL");
	has(cat->pre_data,
	    "CREATE UNLOGGED TABLE public.scratch (\n    id integer,\n"
	    "    note text\n)\nWITH (fillfactor='70', "
	    "autovacuum_enabled='false');\n"
	    "ALTER TABLE ONLY public.scratch REPLICA IDENTITY FULL;\n"
	    "ALTER TABLE public.scratch OWNER TO postgres;\n"
	    "ALTER TABLE ONLY public.scratch ALTER COLUMN id SET STATISTICS 500;\n"
	    "ALTER TABLE ONLY public.scratch ALTER COLUMN id SET "
	    "(n_distinct='5');\n"
	    "ALTER TABLE ONLY public.scratch ALTER COLUMN note SET STORAGE "
	    "EXTERNAL;\n"
	    "ALTER TABLE ONLY public.scratch ALTER COLUMN note SET COMPRESSION "
	    "pglz;\n");
}

/* ---------------------------------------------------------------------- */
/* sequences */

static void test_catalog_ddl__sequences_and_their_values(void **state)
{
	struct fx *fx = *state;
	const struct pgw_catalog *cat;

	cat = read_after(
	        fx,
	        "CREATE SEQUENCE public.counter AS integer START 10"
	        " INCREMENT 5 MAXVALUE 1000 CYCLE;"
	        "SELECT nextval('public.counter'), nextval('public.counter');"
	        "CREATE SEQUENCE public.unused;"
	        "CREATE TABLE public.t (id bigint GENERATED BY DEFAULT AS"
	        " IDENTITY (START WITH 100), s serial);"
	        "INSERT INTO public.t DEFAULT VALUES;"
	        "INSERT INTO public.t DEFAULT VALUES");
	has(cat->pre_data, "CREATE SEQUENCE public.counter\n    AS integer\n"
	                   "    START WITH 10\n    INCREMENT BY 5\n"
	                   "    MINVALUE 1\n    MAXVALUE 1000\n    CACHE 1\n"
	                   "    CYCLE;\nALTER SEQUENCE public.counter OWNER TO "
	                   "postgres;\n");
	has(cat->pre_data, "GENERATED BY DEFAULT AS IDENTITY (SEQUENCE NAME "
	                   "public.t_id_seq START WITH 100 ");
	/* values after the rows: where each one is, used or not */
	has(cat->post_data, "SELECT pg_catalog.setval('public.counter', 15, "
	                    "true);\n");
	has(cat->post_data, "SELECT pg_catalog.setval('public.unused', 1, "
	                    "false);\n");
	has(cat->post_data, "SELECT pg_catalog.setval('public.t_id_seq', 101, "
	                    "true);\n");
	has(cat->post_data, "SELECT pg_catalog.setval('public.t_s_seq', 2, "
	                    "true);\n");
	drops(cat, "DROP SEQUENCE public.counter;", "sequence",
	      "public.counter");
	drops(cat, "DROP SEQUENCE public.unused;", "sequence", "public.unused");
}

/* ---------------------------------------------------------------------- */
/* routines */

static void test_catalog_ddl__functions_procedures_aggregates(void **state)
{
	struct fx *fx = *state;
	const struct pgw_catalog *cat;

	cat = read_after(
	        fx,
	        "CREATE FUNCTION public.add(a int, b int) RETURNS int"
	        " LANGUAGE sql IMMUTABLE AS 'SELECT a + b';"
	        "CREATE AGGREGATE public.mysum(int) (SFUNC = public.add,"
	        " STYPE = int, INITCOND = '0');"
	        "CREATE PROCEDURE public.p(x int) LANGUAGE sql"
	        " AS 'SELECT 1';"
	        "REVOKE ALL ON FUNCTION public.add(int, int) FROM PUBLIC;"
	        "GRANT EXECUTE ON FUNCTION public.add(int, int) TO " READER ";"
	        "COMMENT ON PROCEDURE public.p(int) IS 'does nothing'");
	has(cat->pre_data, "CREATE OR REPLACE FUNCTION public.add(a integer, b "
	                   "integer)\n RETURNS integer\n LANGUAGE sql\n "
	                   "IMMUTABLE\nAS $function$SELECT a + "
	                   "b$function$;\nALTER FUNCTION public.add(a integer, "
	                   "b integer) OWNER TO postgres;\n"
	                   "REVOKE ALL ON FUNCTION public.add(a integer, b "
	                   "integer) FROM PUBLIC;\n");
	has(cat->pre_data, "GRANT EXECUTE ON FUNCTION public.add(a integer, b "
	                   "integer) TO " READER ";\n");
	has(cat->pre_data, "CREATE AGGREGATE public.mysum(integer) (\n"
	                   "    SFUNC = public.add,\n    STYPE = integer,\n"
	                   "    FINALFUNC_MODIFY = READ_ONLY,\n"
	                   "    INITCOND = '0'\n);\n"
	                   "ALTER AGGREGATE public.mysum(integer) OWNER TO "
	                   "postgres;\n");
	has(cat->pre_data,
	    "CREATE OR REPLACE PROCEDURE public.p(IN x integer)\n"
	    " LANGUAGE sql\nAS $procedure$SELECT 1$procedure$;\n"
	    "ALTER PROCEDURE public.p(IN x integer) OWNER TO "
	    "postgres;\n"
	    "COMMENT ON PROCEDURE public.p(IN x integer) IS "
	    "'does nothing';\n");
	drops(cat, "DROP FUNCTION public.add(a integer, b integer);",
	      "function", "public.add(integer,integer)");
	drops(cat, "DROP AGGREGATE public.mysum(integer);", "aggregate",
	      "public.mysum(integer)");
	drops(cat, "DROP PROCEDURE public.p(IN x integer);", "procedure",
	      "public.p(integer)");
}

/* ---------------------------------------------------------------------- */
/* post-data */

static void test_catalog_ddl__keys_indexes_and_foreign_keys(void **state)
{
	struct fx *fx = *state;
	const struct pgw_catalog *cat;

	cat = read_after(
	        fx,
	        "CREATE TABLE public.parent (id int PRIMARY KEY, code text"
	        " CONSTRAINT parent_code_u UNIQUE);"
	        "CREATE TABLE public.child (id int, parent_id int"
	        " REFERENCES public.parent (id) ON DELETE CASCADE, qty int);"
	        "CREATE INDEX child_big_idx ON public.child (qty)"
	        " WHERE qty > 10;"
	        "CREATE UNIQUE INDEX child_lower_idx ON public.child"
	        " ((qty * 2), id DESC);"
	        "ALTER TABLE public.child CLUSTER ON child_lower_idx;"
	        "COMMENT ON INDEX public.child_big_idx IS 'the big ones';"
	        "CREATE TABLE public.booking (r int4range,"
	        " EXCLUDE USING gist (r WITH &&));"
	        "CREATE TABLE public.pm (id int, d date,"
	        " PRIMARY KEY (id, d)) PARTITION BY RANGE (d);"
	        "CREATE TABLE public.pm_1 PARTITION OF public.pm"
	        " FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');"
	        "CREATE TABLE public.pm_ref (id int, d date,"
	        " FOREIGN KEY (id, d) REFERENCES public.pm (id, d));"
	        "ALTER TABLE public.pm_ref ADD UNIQUE (id, d);"
	        "CREATE TABLE public.pm_from (id int, d date, FOREIGN KEY"
	        " (id, d) REFERENCES public.pm_ref (id, d)) PARTITION BY"
	        " RANGE (d);"
	        "CREATE INDEX pm_d_idx ON public.pm (d)");
	has(cat->post_data, "ALTER TABLE ONLY public.parent ADD CONSTRAINT "
	                    "parent_pkey PRIMARY KEY (id);\n");
	has(cat->post_data, "ALTER TABLE ONLY public.parent ADD CONSTRAINT "
	                    "parent_code_u UNIQUE (code);\n");
	has(cat->post_data,
	    "ALTER TABLE ONLY public.child ADD CONSTRAINT "
	    "child_parent_id_fkey FOREIGN KEY (parent_id) "
	    "REFERENCES public.parent(id) ON DELETE CASCADE;\n");
	has(cat->post_data, "CREATE INDEX child_big_idx ON public.child USING "
	                    "btree (qty) WHERE (qty > 10);\n"
	                    "COMMENT ON INDEX public.child_big_idx IS 'the big "
	                    "ones';\n");
	has(cat->post_data,
	    "CREATE UNIQUE INDEX child_lower_idx ON public.child "
	    "USING btree (((qty * 2)), id DESC);\n"
	    "ALTER TABLE public.child CLUSTER ON "
	    "child_lower_idx;\n");
	has(cat->post_data, "ALTER TABLE ONLY public.booking ADD CONSTRAINT "
	                    "booking_r_excl EXCLUDE USING gist (r WITH &&);\n");
	/* a partitioned table's key and index; each partition's own is
	 * attached to them */
	has(cat->post_data, "ALTER TABLE ONLY public.pm ADD CONSTRAINT pm_pkey "
	                    "PRIMARY KEY (id, d);\n");
	has(cat->post_data, "ALTER TABLE ONLY public.pm_1 ADD CONSTRAINT "
	                    "pm_1_pkey PRIMARY KEY (id, d);\n"
	                    "ALTER INDEX public.pm_pkey ATTACH PARTITION "
	                    "public.pm_1_pkey;\n");
	has(cat->post_data,
	    "CREATE INDEX pm_d_idx ON ONLY public.pm USING btree "
	    "(d);\n");
	has(cat->post_data, "ALTER INDEX public.pm_d_idx ATTACH PARTITION "
	                    "public.pm_1_d_idx;\n");
	/* a partitioned table's foreign key is added to it, not ONLY; the
	 * partitions' copies come with it */
	has(cat->post_data, "ALTER TABLE public.pm_from ADD CONSTRAINT "
	                    "pm_from_id_d_fkey FOREIGN KEY (id, d) REFERENCES "
	                    "public.pm_ref(id, d);\n");
	/* every key, index and foreign key in post-data only */
	lacks(cat->pre_data, "PRIMARY KEY");
	lacks(cat->pre_data, "CREATE INDEX");
	lacks(cat->pre_data, "FOREIGN KEY");
	drops(cat,
	      "ALTER TABLE public.child DROP CONSTRAINT child_parent_id_fkey;",
	      "table constraint", "child_parent_id_fkey on public.child");
}

static void test_catalog_ddl__triggers_rules_policies_statistics(void **state)
{
	struct fx *fx = *state;
	const struct pgw_catalog *cat;

	cat = read_after(
	        fx, "CREATE TABLE public.base (id int, kind text);"
	            "CREATE FUNCTION public.trg() RETURNS trigger"
	            " LANGUAGE plpgsql AS $$BEGIN RETURN NEW; END$$;"
	            "CREATE TRIGGER base_trg AFTER UPDATE ON public.base"
	            " FOR EACH ROW EXECUTE FUNCTION public.trg();"
	            "ALTER TABLE public.base DISABLE TRIGGER base_trg;"
	            "CREATE TRIGGER base_always BEFORE INSERT ON public.base"
	            " FOR EACH ROW WHEN (NEW.id > 0)"
	            " EXECUTE FUNCTION public.trg();"
	            "ALTER TABLE public.base ENABLE ALWAYS TRIGGER base_always;"
	            "COMMENT ON TRIGGER base_always ON public.base IS 'always';"
	            "CREATE RULE base_no_delete AS ON DELETE TO public.base"
	            " DO INSTEAD NOTHING;"
	            "ALTER TABLE public.base ENABLE ROW LEVEL SECURITY;"
	            "ALTER TABLE public.base FORCE ROW LEVEL SECURITY;"
	            "CREATE POLICY base_mine ON public.base AS RESTRICTIVE"
	            " FOR UPDATE TO " READER ", postgres USING (id > 0)"
	            " WITH CHECK (kind IS NOT NULL);"
	            "CREATE POLICY base_all ON public.base USING (true);"
	            "CREATE STATISTICS public.base_st (ndistinct) ON id, kind"
	            " FROM public.base;"
	            "ALTER STATISTICS public.base_st SET STATISTICS 200");
	has(cat->post_data,
	    "CREATE TRIGGER base_trg AFTER UPDATE ON public.base "
	    "FOR EACH ROW EXECUTE FUNCTION public.trg();\n"
	    "ALTER TABLE public.base DISABLE TRIGGER base_trg;\n");
	has(cat->post_data, "CREATE TRIGGER base_always BEFORE INSERT ON "
	                    "public.base FOR EACH ROW WHEN ((new.id > 0)) "
	                    "EXECUTE FUNCTION public.trg();\n"
	                    "ALTER TABLE public.base ENABLE ALWAYS TRIGGER "
	                    "base_always;\n"
	                    "COMMENT ON TRIGGER base_always ON public.base IS "
	                    "'always';\n");
	has(cat->post_data, "CREATE RULE base_no_delete AS\n    ON DELETE TO "
	                    "public.base DO INSTEAD NOTHING;\n");
	has(cat->post_data,
	    "ALTER TABLE public.base ENABLE ROW LEVEL SECURITY;\n"
	    "ALTER TABLE public.base FORCE ROW LEVEL SECURITY;\n");
	has(cat->post_data,
	    "CREATE POLICY base_mine ON public.base AS "
	    "RESTRICTIVE FOR UPDATE TO " READER ", postgres "
	    "USING ((id > 0)) WITH CHECK ((kind IS NOT NULL));\n");
	has(cat->post_data,
	    "CREATE POLICY base_all ON public.base AS PERMISSIVE "
	    "FOR ALL TO PUBLIC USING (true);\n");
	has(cat->post_data,
	    "CREATE STATISTICS public.base_st (ndistinct) ON id, "
	    "kind FROM public.base;\n"
	    "ALTER STATISTICS public.base_st SET STATISTICS 200;\n"
	    "ALTER STATISTICS public.base_st OWNER TO postgres;\n");
	drops(cat, "DROP TRIGGER base_trg ON public.base;", "trigger",
	      "base_trg on public.base");
	drops(cat, "DROP RULE base_no_delete ON public.base;", "rule",
	      "base_no_delete on public.base");
	drops(cat, "DROP POLICY base_mine ON public.base;", "policy",
	      "base_mine on public.base");
	drops(cat, "DROP STATISTICS public.base_st;", "statistics object",
	      "public.base_st");
}

/* ---------------------------------------------------------------------- */
/* grants, comments, default privileges */

static void test_catalog_ddl__grants_comments_default_privileges(void **state)
{
	struct fx *fx = *state;
	const struct pgw_catalog *cat;
	char n[32];
	size_t i;

	cat = read_after(
	        fx,
	        "CREATE TABLE public.base (id int, kind text);"
	        "COMMENT ON TABLE public.base IS 'the base';"
	        "COMMENT ON COLUMN public.base.kind IS 'what it''s for';"
	        "GRANT SELECT ON public.base TO " READER " WITH GRANT OPTION;"
	        "GRANT UPDATE (kind) ON public.base TO " READER ";"
	        "CREATE VIEW public.v AS SELECT id FROM public.base;"
	        "GRANT SELECT ON public.v TO " READER ";"
	        "COMMENT ON VIEW public.v IS 'a view';"
	        "ALTER DEFAULT PRIVILEGES IN SCHEMA public"
	        " GRANT SELECT ON TABLES TO " READER ";"
	        "ALTER DEFAULT PRIVILEGES REVOKE EXECUTE ON FUNCTIONS"
	        " FROM PUBLIC");
	has(cat->pre_data,
	    "ALTER TABLE public.base OWNER TO postgres;\n"
	    "REVOKE ALL ON TABLE public.base FROM PUBLIC;\n"
	    "REVOKE ALL ON TABLE public.base FROM postgres;\n"
	    "GRANT INSERT, SELECT, UPDATE, DELETE, TRUNCATE, "
	    "REFERENCES, TRIGGER ON TABLE public.base TO postgres;\n"
	    "GRANT SELECT ON TABLE public.base TO " READER
	    " WITH GRANT OPTION;\n"
	    "COMMENT ON TABLE public.base IS 'the base';\n"
	    "GRANT UPDATE (kind) ON TABLE public.base TO " READER
	    ";\nCOMMENT ON COLUMN public.base.kind IS 'what "
	    "it''s for';\n");
	has(cat->pre_data, "GRANT SELECT ON TABLE public.v TO " READER ";\n"
	                   "COMMENT ON VIEW public.v IS 'a view';\n");
	has(cat->pre_data,
	    "ALTER DEFAULT PRIVILEGES FOR ROLE postgres IN SCHEMA "
	    "public GRANT SELECT ON TABLES TO " READER ";\n");
	/* from nothing: EXECUTE for the owner alone, as it is */
	has(cat->pre_data,
	    "ALTER DEFAULT PRIVILEGES FOR ROLE postgres REVOKE ALL "
	    "ON FUNCTIONS FROM PUBLIC;\n"
	    "ALTER DEFAULT PRIVILEGES FOR ROLE postgres REVOKE ALL "
	    "ON FUNCTIONS FROM postgres;\n"
	    "ALTER DEFAULT PRIVILEGES FOR ROLE postgres GRANT "
	    "EXECUTE ON FUNCTIONS TO postgres;\n");
	lacks(cat->pre_data, "FUNCTIONS TO PUBLIC");
	/* "dropped": back to the built-in defaults */
	drops(cat,
	      "ALTER DEFAULT PRIVILEGES FOR ROLE postgres IN SCHEMA public "
	      "REVOKE ALL ON TABLES FROM " READER ";\n",
	      "default acl", "for role postgres in schema public on tables");
	drops(cat,
	      "ALTER DEFAULT PRIVILEGES FOR ROLE postgres REVOKE ALL ON "
	      "FUNCTIONS FROM postgres;\n"
	      "ALTER DEFAULT PRIVILEGES FOR ROLE postgres GRANT ALL ON "
	      "FUNCTIONS TO postgres;\n"
	      "ALTER DEFAULT PRIVILEGES FOR ROLE postgres GRANT ALL ON "
	      "FUNCTIONS TO PUBLIC;\n",
	      "default acl", "for role postgres on functions");
	/* and those statements do remove both entries */
	fixture_pg_sql(fx->c, "BEGIN");
	for (i = 0; i < cat->n_objects; i++)
		if (strcmp(cat->objects[i].kind, "default acl") == 0)
			fixture_pg_sql(fx->c, cat->objects[i].drop_sql);
	assert_string_equal(
	        fixture_pg_scalar(fx->c, "SELECT count(*) FROM pg_default_acl",
	                          n, sizeof(n)),
	        "0");
	fixture_pg_sql(fx->c, "ROLLBACK");
}

/* ---------------------------------------------------------------------- */
/* views */

static void test_catalog_ddl__views_and_materialized_views(void **state)
{
	struct fx *fx = *state;
	const struct pgw_catalog *cat;

	cat = read_after(fx,
	                 "CREATE TABLE public.t (id int, qty int);"
	                 "CREATE VIEW public.big WITH (security_barrier) AS"
	                 " SELECT id FROM public.t WHERE qty > 10;"
	                 "ALTER VIEW public.big ALTER COLUMN id SET DEFAULT 0;"
	                 "CREATE MATERIALIZED VIEW public.full_mv AS"
	                 " SELECT count(*) AS n FROM public.t;"
	                 "CREATE UNIQUE INDEX full_mv_n ON public.full_mv (n);"
	                 "CREATE MATERIALIZED VIEW public.empty_mv AS"
	                 " SELECT id FROM public.t WITH NO DATA");
	has(cat->pre_data,
	    "CREATE VIEW public.big WITH (security_barrier='true') "
	    "AS\n SELECT t.id\n   FROM public.t\n  WHERE (t.qty > "
	    "10);\nALTER VIEW public.big OWNER TO postgres;\n");
	has(cat->pre_data,
	    "ALTER VIEW public.big ALTER COLUMN id SET DEFAULT 0;\n");
	has(cat->pre_data,
	    "CREATE MATERIALIZED VIEW public.full_mv AS\n SELECT "
	    "count(*) AS n\n   FROM public.t\n  WITH NO DATA;\n"
	    "ALTER MATERIALIZED VIEW public.full_mv OWNER TO "
	    "postgres;\n");
	/* refreshed after the rows and its index; an unpopulated one stays
	 * empty */
	has(cat->post_data,
	    "CREATE UNIQUE INDEX full_mv_n ON public.full_mv USING "
	    "btree (n);\n");
	has(cat->post_data, "REFRESH MATERIALIZED VIEW public.full_mv;\n");
	assert_true(strstr(cat->post_data, "CREATE UNIQUE INDEX full_mv_n") <
	            strstr(cat->post_data,
	                   "REFRESH MATERIALIZED VIEW public.full_mv"));
	lacks(cat->post_data, "REFRESH MATERIALIZED VIEW public.empty_mv");
	has(cat->pre_data, "CREATE MATERIALIZED VIEW public.empty_mv AS\n");
	/* no rows of their own */
	assert_int_equal(cat->n_tables, 1);
	drops(cat, "DROP VIEW public.big;", "view", "public.big");
	drops(cat, "DROP MATERIALIZED VIEW public.full_mv;",
	      "materialized view", "public.full_mv");
}

/* ---------------------------------------------------------------------- */
/* the whole of it */

/* Replayed into an empty database, the DDL reads back the same text. */
static void test_catalog_ddl__replays_into_an_empty_database(void **state)
{
	struct fx *fx = *state;
	const struct pgw_catalog *cat, *again;

	cat = read_after(
	        fx,
	        "CREATE SCHEMA app;"
	        "CREATE TYPE app.mood AS ENUM ('ok', 'sad');"
	        "CREATE DOMAIN app.posint AS integer CHECK (VALUE > 0);"
	        "CREATE TYPE app.span AS RANGE (subtype = integer);"
	        "CREATE TABLE app.parent (id bigint GENERATED ALWAYS AS"
	        " IDENTITY PRIMARY KEY, name text NOT NULL DEFAULT 'x');"
	        "CREATE TABLE app.child (id serial PRIMARY KEY,"
	        " parent_id bigint REFERENCES app.parent (id),"
	        " qty app.posint, m app.mood DEFAULT 'ok', s app.span,"
	        " twice int GENERATED ALWAYS AS (qty * 2) STORED,"
	        " CHECK (qty < 100));"
	        "ALTER TABLE app.child ADD CONSTRAINT child_nv"
	        " CHECK (qty <> 13) NOT VALID;"
	        "CREATE INDEX child_qty_idx ON app.child (qty)"
	        " WHERE qty > 10;"
	        "CREATE VIEW app.big AS SELECT id, qty FROM app.child"
	        " WHERE qty > 10;"
	        "CREATE FUNCTION app.touch() RETURNS trigger"
	        " LANGUAGE plpgsql AS $$BEGIN RETURN NEW; END$$;"
	        "CREATE TRIGGER child_touch BEFORE INSERT ON app.child"
	        " FOR EACH ROW EXECUTE FUNCTION app.touch();"
	        "CREATE TABLE app.t (id int);"
	        "CREATE FUNCTION app.next_id() RETURNS int LANGUAGE sql"
	        " BEGIN ATOMIC SELECT coalesce(max(id), 0) + 1 FROM app.t;"
	        " END;"
	        "ALTER TABLE app.t ALTER COLUMN id SET DEFAULT app.next_id();"
	        "CREATE TABLE app.m (d date NOT NULL, v int)"
	        " PARTITION BY RANGE (d);"
	        "CREATE TABLE app.m_2024 PARTITION OF app.m"
	        " FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');"
	        "CREATE INDEX m_v_idx ON app.m (v);"
	        "CREATE MATERIALIZED VIEW app.mv AS SELECT count(*) AS n"
	        " FROM app.child;"
	        "ALTER TABLE app.child ENABLE ROW LEVEL SECURITY;"
	        "CREATE POLICY child_pos ON app.child TO " READER
	        " USING (qty > 0);"
	        "CREATE RULE t_no_delete AS ON DELETE TO app.t"
	        " DO INSTEAD NOTHING;"
	        "CREATE STATISTICS app.child_st ON qty, m FROM app.child;"
	        "GRANT USAGE ON SCHEMA app TO " READER ";"
	        "GRANT SELECT ON app.big TO " READER ";"
	        "COMMENT ON TABLE app.child IS 'children';"
	        "ALTER DEFAULT PRIVILEGES IN SCHEMA app GRANT SELECT"
	        " ON TABLES TO " READER ";"
	        "CREATE SEQUENCE app.counter START 7;"
	        "SELECT nextval('app.counter');"
	        "INSERT INTO app.parent (name) VALUES ('a'), ('b');"
	        "INSERT INTO app.child (parent_id, qty) VALUES (1, 5),"
	        " (2, 20)");
	fx->copy = fixture_pg_open(DB_COPY, &fx->copy_conninfo);
	assert_non_null(fx->copy_conninfo);
	assert_non_null(fx->copy);
	fixture_pg_sql(fx->copy, cat->pre_data);
	fixture_pg_sql(fx->copy, cat->post_data);
	/* the replay set search_path for its session: a fresh one reads */
	PQfinish(fx->copy);
	fx->copy = fixture_pg_connect(fx->copy_conninfo);
	assert_non_null(fx->copy);
	again = read_cat(fx, fx->copy, &fx->cat_copy);
	assert_string_equal(again->pre_data, cat->pre_data);
	assert_string_equal(again->post_data, cat->post_data);
	assert_int_equal(again->n_objects, cat->n_objects);
	assert_int_equal(again->n_tables, cat->n_tables);
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_catalog_ddl__types),
		T(test_catalog_ddl__table_columns_and_checks),
		T(test_catalog_ddl__partitions_and_inheritance),
		T(test_catalog_ddl__storage_and_column_options),
		T(test_catalog_ddl__sequences_and_their_values),
		T(test_catalog_ddl__functions_procedures_aggregates),
		T(test_catalog_ddl__keys_indexes_and_foreign_keys),
		T(test_catalog_ddl__triggers_rules_policies_statistics),
		T(test_catalog_ddl__grants_comments_default_privileges),
		T(test_catalog_ddl__views_and_materialized_views),
		T(test_catalog_ddl__replays_into_an_empty_database),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
