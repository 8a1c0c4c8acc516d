/* test_history.c - pgward.migrations on a real server: no table is an
 * empty history (exists false), the table created in the caller's
 * transaction, rows recorded with every field (versions, checksums, SQL,
 * git commit and tag, deploy id, durations) and read back in version
 * order, many rows at once, duplicates refused whole, the schema hash,
 * deleting reverted versions, lookups, and a schema with an odd name. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "fixture_cfg.h"
#include "fixture_pg.h"
#include "history.h"
#include "pg.h"
#include "pgward.h"

#define DB "pgw_unit_history"
#define SCHEMA "pgward"

struct fx {
	char *conninfo;
	PGconn *c;
	struct pgw_history *h;
	struct pgw_err err;
};

static int setup(void **state)
{
	struct fx *fx = calloc(1, sizeof(*fx));

	if (!fx)
		return -1;
	fx->c = fixture_pgw_open(DB, &fx->conninfo, "pgward:unit");
	if (!fx->c) {
		fixture_pg_close(DB, fx->conninfo, NULL);
		free(fx);
		return -1;
	}
	*state = fx;
	return 0;
}

static int teardown(void **state)
{
	struct fx *fx = *state;

	pgw_history_free(fx->h);
	fixture_pg_close(DB, fx->conninfo, fx->c);
	free(fx);
	return 0;
}

/* The one value of `sql`, as text (malloc'd; "(null)" for NULL). */
static char *value(struct fx *fx, const char *sql)
{
	struct pgw_err err = PGW_ERR_INIT;
	PGresult *res = NULL;
	char *v;

	if (pgw_pg_exec(&res, fx->c, sql, 0, NULL, &err) != 0)
		fail_msg("%s: %s", sql, err.msg);
	assert_int_equal(PQntuples(res), 1);
	v = strdup(PQgetisnull(res, 0, 0) ? "(null)" : PQgetvalue(res, 0, 0));
	PQclear(res);
	assert_non_null(v);
	return v;
}

/* Create the table in a transaction of its own, as callers do. */
static void ensure(struct fx *fx, const char *schema)
{
	fixture_pg_sql(fx->c, "BEGIN");
	if (pgw_history_ensure(fx->c, schema, &fx->err) != 0)
		fail_msg("ensure: %s", fx->err.msg);
	fixture_pg_sql(fx->c, "COMMIT");
}

static void load(struct fx *fx, const char *schema, bool full)
{
	pgw_history_free(fx->h);
	fx->h = NULL;
	if (pgw_history_load(&fx->h, fx->c, schema, full, &fx->err) != 0)
		fail_msg("load: %s", fx->err.msg);
	assert_non_null(fx->h);
}

/* A migration as the files would give it. */
static struct pgw_migration mig(int64_t version, const char *name,
                                const char *checksum)
{
	struct pgw_migration m;
	static char files[8][64];
	static int next;
	char *file = files[next++ % 8];

	memset(&m, 0, sizeof(m));
	m.version = version;
	m.name = (char *)name;
	snprintf(file, 64, "%03lld_%s.sql", (long long)version, name);
	m.file = file;
	snprintf(m.checksum, sizeof(m.checksum), "%s", checksum);
	m.up.present = true;
	m.up.transactional = true;
	m.up.text = (char *)"CREATE TABLE x (id int);\n";
	m.up.directives = (char *)"";
	return m;
}

static void insert(struct fx *fx, const struct pgw_migration *const *ms,
                   const long long *durations, size_t n, const char *deploy_id)
{
	if (pgw_history_insert(fx->c, SCHEMA, ms, durations, n, deploy_id,
	                       &fx->err) != 0)
		fail_msg("insert: %s", fx->err.msg);
}

/* Three migrations recorded as one deploy, inserted out of order. */
struct three {
	struct pgw_migration m1, m2, m3;
};

static void insert_three(struct fx *fx, struct three *t)
{
	const struct pgw_migration *ms[3];
	static const long long durations[3] = { 30, 10, 20 };

	t->m1 = mig(1, "create_users", "aaaa");
	t->m2 = mig(2, "add_email", "bbbb");
	t->m3 = mig(3, "drop_legacy", "cccc");
	t->m2.down.present = true;
	t->m2.down.text = (char *)"ALTER TABLE users DROP COLUMN email;\n";
	t->m2.down.directives = (char *)"transaction:false";
	t->m3.destructive = true;
	t->m3.up.text = (char *)"DROP TABLE legacy;\n";
	t->m3.verify.present = true;
	t->m3.verify.text = (char *)"SELECT 1/0 FROM legacy;\n";
	t->m3.git_commit = (char *)"0123456789abcdef0123456789abcdef01234567";
	t->m3.git_tag = (char *)"v1.2.0";
	ms[0] = &t->m3;
	ms[1] = &t->m1;
	ms[2] = &t->m2;
	ensure(fx, SCHEMA);
	insert(fx, ms, durations, 3, "20261125T133500Z-4f2a");
}

static void test_history__no_schema_is_empty_history(void **state)
{
	struct fx *fx = *state;

	load(fx, SCHEMA, false);
	assert_false(fx->h->exists);
	assert_int_equal(fx->h->n, 0);
	assert_int_equal(fx->err.code, PGW_OK);
	assert_string_equal(fx->err.sqlstate, "");
	load(fx, SCHEMA, true);
	assert_false(fx->h->exists);
}

static void test_history__schema_without_table_is_empty_history(void **state)
{
	struct fx *fx = *state;

	fixture_pg_sql(fx->c, "CREATE SCHEMA pgward");
	load(fx, SCHEMA, false);
	assert_false(fx->h->exists);
	assert_int_equal(fx->h->n, 0);
	assert_int_equal(fx->err.code, PGW_OK);
}

static void test_history__other_errors_are_not_empty_history(void **state)
{
	struct fx *fx = *state;

	/* a table of that name, but not pgward's: an error, not "nothing" */
	fixture_pg_sql(
	        fx->c,
	        "CREATE SCHEMA pgward; CREATE TABLE pgward.migrations (x int)");
	assert_int_equal(
	        pgw_history_load(&fx->h, fx->c, SCHEMA, false, &fx->err),
	        PGW_EPG);
	assert_null(fx->h);
	assert_string_equal(fx->err.sqlstate, "42703"); /* undefined column */
}

static void test_history__ensure_creates_the_table(void **state)
{
	struct fx *fx = *state;

	ensure(fx, SCHEMA);
	assert_int_equal(fx->err.code, PGW_OK);
	load(fx, SCHEMA, true);
	assert_true(fx->h->exists);
	assert_int_equal(fx->h->n, 0);
	fixture_pg_assert_value(
	        fx->c,
	        "SELECT count(*) FROM information_schema.columns"
	        " WHERE table_schema = 'pgward' AND table_name = 'migrations'",
	        "16");
	fixture_pg_assert_value(
	        fx->c,
	        "SELECT string_agg(a.attname, ',') FROM pg_index i"
	        " JOIN pg_attribute a ON a.attrelid = i.indrelid"
	        " AND a.attnum = ANY (i.indkey)"
	        " WHERE i.indrelid = 'pgward.migrations'::regclass"
	        " AND i.indisprimary",
	        "version");
}

static void test_history__ensure_in_the_callers_transaction(void **state)
{
	struct fx *fx = *state;

	fixture_pg_sql(fx->c, "BEGIN");
	assert_int_equal(pgw_history_ensure(fx->c, SCHEMA, &fx->err), 0);
	fixture_pg_sql(fx->c, "ROLLBACK");
	/* rolled back with it: neither schema nor table */
	load(fx, SCHEMA, false);
	assert_false(fx->h->exists);
	fixture_pg_assert_value(
	        fx->c,
	        "SELECT count(*) FROM pg_namespace WHERE nspname = 'pgward'",
	        "0");
}

static void test_history__ensure_twice_keeps_rows(void **state)
{
	struct fx *fx = *state;
	struct three t;

	insert_three(fx, &t);
	ensure(fx, SCHEMA);
	ensure(fx, SCHEMA);
	load(fx, SCHEMA, false);
	assert_true(fx->h->exists);
	assert_int_equal(fx->h->n, 3);
}

static void test_history__rows_come_back_in_version_order(void **state)
{
	struct fx *fx = *state;
	struct three t;
	char *user, *today;
	const struct pgw_applied *a;
	size_t i;

	insert_three(fx, &t);
	load(fx, SCHEMA, false);
	assert_true(fx->h->exists);
	assert_int_equal(fx->h->n, 3);
	for (i = 0; i < 3; i++)
		assert_int_equal(fx->h->v[i].version, (int64_t)i + 1);
	user = value(fx, "SELECT session_user");
	today = value(fx,
	              "SELECT to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD')");

	a = &fx->h->v[0];
	assert_string_equal(a->name, "create_users");
	assert_string_equal(a->file, "001_create_users.sql");
	assert_string_equal(a->checksum, "aaaa");
	assert_false(a->destructive);
	assert_int_equal(a->duration_ms, 10);
	assert_string_equal(a->deploy_id, "20261125T133500Z-4f2a");
	assert_null(a->git_commit);
	assert_null(a->git_tag);
	assert_string_equal(a->applied_by, user);
	/* "YYYY-MM-DDTHH:MM:SSZ", UTC */
	assert_non_null(a->applied_at);
	assert_int_equal(strlen(a->applied_at), 20);
	assert_memory_equal(a->applied_at, today, 10);
	assert_int_equal(a->applied_at[10], 'T');
	assert_int_equal(a->applied_at[13], ':');
	assert_int_equal(a->applied_at[19], 'Z');
	/* not read unless asked for */
	assert_null(a->up_sql);
	assert_null(a->down_sql);
	assert_null(a->verify_sql);

	a = &fx->h->v[1];
	assert_string_equal(a->name, "add_email");
	assert_string_equal(a->checksum, "bbbb");
	assert_int_equal(a->duration_ms, 20);

	a = &fx->h->v[2];
	assert_string_equal(a->name, "drop_legacy");
	assert_string_equal(a->file, "003_drop_legacy.sql");
	assert_string_equal(a->checksum, "cccc");
	assert_true(a->destructive);
	assert_int_equal(a->duration_ms, 30);
	assert_string_equal(a->git_commit,
	                    "0123456789abcdef0123456789abcdef01234567");
	assert_string_equal(a->git_tag, "v1.2.0");
	free(user);
	free(today);
}

static void test_history__full_reads_the_sql(void **state)
{
	struct fx *fx = *state;
	struct three t;
	const struct pgw_applied *a;

	insert_three(fx, &t);
	load(fx, SCHEMA, true);
	assert_int_equal(fx->h->n, 3);
	a = &fx->h->v[0];
	assert_string_equal(a->up_sql, "CREATE TABLE x (id int);\n");
	assert_null(a->down_sql);
	assert_null(a->down_directives);
	assert_null(a->verify_sql);
	a = &fx->h->v[1];
	assert_string_equal(a->down_sql,
	                    "ALTER TABLE users DROP COLUMN email;\n");
	assert_string_equal(a->down_directives, "transaction:false");
	assert_null(a->verify_sql);
	a = &fx->h->v[2];
	assert_string_equal(a->up_sql, "DROP TABLE legacy;\n");
	assert_null(a->down_sql);
	assert_string_equal(a->verify_sql, "SELECT 1/0 FROM legacy;\n");
	/* and the light columns as before */
	assert_string_equal(a->git_tag, "v1.2.0");
	assert_int_equal(a->duration_ms, 30);
}

static void test_history__no_durations_and_no_deploy_id(void **state)
{
	struct fx *fx = *state;
	struct pgw_migration m = mig(7, "seven", "7777");
	const struct pgw_migration *ms[1] = { &m };

	ensure(fx, SCHEMA);
	insert(fx, ms, NULL, 1, NULL);
	load(fx, SCHEMA, false);
	assert_int_equal(fx->h->n, 1);
	assert_int_equal(fx->h->v[0].version, 7);
	assert_int_equal(fx->h->v[0].duration_ms, 0);
	assert_null(fx->h->v[0].deploy_id);
}

static void test_history__big_versions(void **state)
{
	struct fx *fx = *state;
	struct pgw_migration a = mig(20261125093000LL, "ts_a", "a1");
	struct pgw_migration b = mig(INT64_MAX, "max", "b1");
	const struct pgw_migration *ms[2] = { &b, &a };

	ensure(fx, SCHEMA);
	insert(fx, ms, NULL, 2, "d");
	load(fx, SCHEMA, false);
	assert_int_equal(fx->h->n, 2);
	assert_true(fx->h->v[0].version == 20261125093000LL);
	assert_true(fx->h->v[1].version == INT64_MAX);
}

static void test_history__many_rows_at_once(void **state)
{
	enum { N = 1201 }; /* more than two statements' worth */
	struct fx *fx = *state;
	struct pgw_migration *m = calloc(N, sizeof(*m));
	const struct pgw_migration **ms = calloc(N, sizeof(*ms));
	long long *d = calloc(N, sizeof(*d));
	char(*names)[32] = calloc(N, sizeof(*names));
	char(*files)[48] = calloc(N, sizeof(*files));
	size_t i;

	assert_non_null(m);
	assert_non_null(ms);
	assert_non_null(d);
	assert_non_null(names);
	assert_non_null(files);
	for (i = 0; i < N; i++) {
		snprintf(names[i], sizeof(names[i]), "step_%zu", i + 1);
		snprintf(files[i], sizeof(files[i]), "%04zu_step_%zu.sql",
		         i + 1, i + 1);
		m[i].version = (int64_t)i + 1;
		m[i].name = names[i];
		m[i].file = files[i];
		snprintf(m[i].checksum, sizeof(m[i].checksum), "%064zx", i + 1);
		m[i].up.present = true;
		m[i].up.text = (char *)"SELECT 1;\n";
		ms[i] = &m[i];
		d[i] = (long long)i * 3;
	}
	ensure(fx, SCHEMA);
	insert(fx, ms, d, N, "bulk");
	load(fx, SCHEMA, false);
	assert_int_equal(fx->h->n, N);
	for (i = 0; i < N; i++) {
		const struct pgw_applied *a = &fx->h->v[i];

		if (a->version != (int64_t)i + 1 || strcmp(a->name, names[i]) ||
		    strcmp(a->file, files[i]) ||
		    strcmp(a->checksum, m[i].checksum) ||
		    a->duration_ms != (long long)i * 3)
			fail_msg("row %zu: version %lld name %s duration %lld",
			         i, (long long)a->version, a->name,
			         a->duration_ms);
	}
	free(m);
	free(ms);
	free(d);
	free(names);
	free(files);
}

static void test_history__duplicate_version_is_refused_whole(void **state)
{
	struct fx *fx = *state;
	struct pgw_migration m1 = mig(1, "one", "1111");
	struct pgw_migration m2 = mig(2, "two", "2222");
	struct pgw_migration m3 = mig(3, "three", "3333");
	struct pgw_migration again = mig(1, "one_again", "9999");
	const struct pgw_migration *first[2] = { &m1, &m2 };
	const struct pgw_migration *second[2] = { &m3, &again };

	ensure(fx, SCHEMA);
	insert(fx, first, NULL, 2, "d1");
	assert_int_equal(pgw_history_insert(fx->c, SCHEMA, second, NULL, 2,
	                                    "d2", &fx->err),
	                 PGW_EPG);
	assert_string_equal(fx->err.sqlstate, "23505"); /* unique_violation */
	pgw_err_clear(&fx->err);
	/* one statement: 3 was not recorded either, 1 is unchanged */
	load(fx, SCHEMA, false);
	assert_int_equal(fx->h->n, 2);
	assert_string_equal(fx->h->v[0].name, "one");
	assert_string_equal(fx->h->v[0].checksum, "1111");
	assert_null(pgw_history_find(fx->h, 3));
}

static void test_history__insert_without_table_is_epg(void **state)
{
	struct fx *fx = *state;
	struct pgw_migration m = mig(1, "one", "1111");
	const struct pgw_migration *ms[1] = { &m };

	assert_int_equal(
	        pgw_history_insert(fx->c, SCHEMA, ms, NULL, 1, "d", &fx->err),
	        PGW_EPG);
	assert_string_equal(fx->err.sqlstate, "42P01"); /* undefined table */
}

static void test_history__find(void **state)
{
	struct fx *fx = *state;
	struct pgw_migration m[5];
	const struct pgw_migration *ms[5];
	static const int64_t versions[5] = { 2, 3, 5, 8, 13 };
	struct pgw_history empty;
	size_t i;

	for (i = 0; i < 5; i++) {
		m[i] = mig(versions[i], "m", "c");
		ms[i] = &m[i];
	}
	ensure(fx, SCHEMA);
	insert(fx, ms, NULL, 5, "d");
	load(fx, SCHEMA, false);
	for (i = 0; i < 5; i++) {
		const struct pgw_applied *a =
		        pgw_history_find(fx->h, versions[i]);

		assert_non_null(a);
		assert_ptr_equal(a, &fx->h->v[i]);
		assert_true(a->version == versions[i]);
	}
	assert_null(pgw_history_find(fx->h, 1));
	assert_null(pgw_history_find(fx->h, 4));
	assert_null(pgw_history_find(fx->h, 12));
	assert_null(pgw_history_find(fx->h, 14));
	assert_null(pgw_history_find(fx->h, -1));
	memset(&empty, 0, sizeof(empty));
	assert_null(pgw_history_find(&empty, 1));
}

static void test_history__schema_hash(void **state)
{
	struct fx *fx = *state;
	struct three t;
	char *hash = (char *)"stale";

	/* no table: no hash, no error */
	assert_int_equal(pgw_history_get_hash(&hash, fx->c, SCHEMA, &fx->err),
	                 0);
	assert_null(hash);
	ensure(fx, SCHEMA);
	assert_int_equal(pgw_history_get_hash(&hash, fx->c, SCHEMA, &fx->err),
	                 0);
	assert_null(hash);
	insert_three(fx, &t);
	assert_int_equal(pgw_history_get_hash(&hash, fx->c, SCHEMA, &fx->err),
	                 0);
	assert_null(hash);
	/* a hash on an older row is not the head's */
	assert_int_equal(
	        pgw_history_set_hash(fx->c, SCHEMA, 2, "old-hash", &fx->err),
	        0);
	assert_int_equal(pgw_history_get_hash(&hash, fx->c, SCHEMA, &fx->err),
	                 0);
	assert_null(hash);
	assert_int_equal(
	        pgw_history_set_hash(fx->c, SCHEMA, 3, "head-hash", &fx->err),
	        0);
	assert_int_equal(pgw_history_get_hash(&hash, fx->c, SCHEMA, &fx->err),
	                 0);
	assert_non_null(hash);
	assert_string_equal(hash, "head-hash");
	free(hash);
	fixture_pg_assert_value(
	        fx->c,
	        "SELECT schema_hash FROM pgward.migrations WHERE version = 2",
	        "old-hash");
	/* a version not recorded changes nothing */
	assert_int_equal(pgw_history_set_hash(fx->c, SCHEMA, 99, "x", &fx->err),
	                 0);
	fixture_pg_assert_value(
	        fx->c,
	        "SELECT count(*) FROM pgward.migrations WHERE schema_hash = 'x'",
	        "0");
	assert_int_equal(fx->err.code, PGW_OK);
}

static void test_history__delete(void **state)
{
	struct fx *fx = *state;
	struct three t;
	static const int64_t gone[2] = { 3, 1 };
	static const int64_t unknown[1] = { 42 };

	insert_three(fx, &t);
	/* nothing, and a version not there: no change, no error */
	assert_int_equal(pgw_history_delete(fx->c, SCHEMA, gone, 0, &fx->err),
	                 0);
	assert_int_equal(
	        pgw_history_delete(fx->c, SCHEMA, unknown, 1, &fx->err), 0);
	load(fx, SCHEMA, false);
	assert_int_equal(fx->h->n, 3);
	assert_int_equal(pgw_history_delete(fx->c, SCHEMA, gone, 2, &fx->err),
	                 0);
	load(fx, SCHEMA, false);
	assert_int_equal(fx->h->n, 1);
	assert_int_equal(fx->h->v[0].version, 2);
	assert_string_equal(fx->h->v[0].name, "add_email");
}

static void test_history__odd_schema_name(void **state)
{
	static const char odd[] = "Ward \"x\"; DROP SCHEMA public; --";
	struct fx *fx = *state;
	struct pgw_migration m = mig(1, "one", "1111");
	const struct pgw_migration *ms[1] = { &m };
	static const int64_t v1[1] = { 1 };
	char *hash = NULL;

	ensure(fx, odd);
	load(fx, odd, false);
	assert_true(fx->h->exists);
	/* a schema of exactly that name; public untouched; no "pgward" */
	fixture_pg_assert_value(
	        fx->c,
	        "SELECT count(*) FROM pg_namespace"
	        " WHERE nspname = 'Ward \"x\"; DROP SCHEMA public; --'",
	        "1");
	fixture_pg_assert_value(fx->c,
	                        "SELECT count(*) FROM pg_namespace"
	                        " WHERE nspname IN ('public', 'pgward')",
	                        "1");
	if (pgw_history_insert(fx->c, odd, ms, NULL, 1, "d", &fx->err) != 0)
		fail_msg("insert: %s", fx->err.msg);
	assert_int_equal(pgw_history_set_hash(fx->c, odd, 1, "h", &fx->err), 0);
	assert_int_equal(pgw_history_get_hash(&hash, fx->c, odd, &fx->err), 0);
	assert_non_null(hash);
	assert_string_equal(hash, "h");
	free(hash);
	load(fx, odd, true);
	assert_int_equal(fx->h->n, 1);
	assert_string_equal(fx->h->v[0].name, "one");
	/* the default schema is another history */
	load(fx, SCHEMA, false);
	assert_false(fx->h->exists);
	assert_int_equal(pgw_history_delete(fx->c, odd, v1, 1, &fx->err), 0);
	load(fx, odd, false);
	assert_int_equal(fx->h->n, 0);
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_history__no_schema_is_empty_history),
		T(test_history__schema_without_table_is_empty_history),
		T(test_history__other_errors_are_not_empty_history),
		T(test_history__ensure_creates_the_table),
		T(test_history__ensure_in_the_callers_transaction),
		T(test_history__ensure_twice_keeps_rows),
		T(test_history__rows_come_back_in_version_order),
		T(test_history__full_reads_the_sql),
		T(test_history__no_durations_and_no_deploy_id),
		T(test_history__big_versions),
		T(test_history__many_rows_at_once),
		T(test_history__duplicate_version_is_refused_whole),
		T(test_history__insert_without_table_is_epg),
		T(test_history__find),
		T(test_history__schema_hash),
		T(test_history__delete),
		T(test_history__odd_schema_name),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
