/* test_plan.c - what up and down will run: pending migrations checked
 * against a hand-built history, targets, segments, and down SQL. */
#include <stdlib.h>
#include <string.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "fixture.h"
#include "migfile.h"
#include "pgward.h"
#include "plan.h"

/* A history row to build; checksum NULL means "as the file has it". */
struct row {
	int64_t version;
	const char *file;
	const char *checksum;
	const char *down_sql;
	const char *down_directives;
	const char *up_sql; /* as applied; NULL: not read */
};

struct fx {
	char *dir;
	struct pgw_migset *set;
	struct pgw_history *h;
	struct pgw_run *run;
	struct pgw_run_opts opts;
	struct pgw_err err;
};

static const char *const tx_up[] = {
	NULL, /* versions start at 1 */
	"-- migrate:up\nCREATE TABLE a (id int);\n-- migrate:down\nDROP TABLE a;\n",
	"-- migrate:up\nCREATE TABLE b (id int);\n-- migrate:down\nDROP TABLE b;\n",
	"-- migrate:up\nCREATE TABLE c (id int);\n-- migrate:down\nDROP TABLE c;\n",
	"-- migrate:up\nCREATE TABLE d (id int);\n-- migrate:down\nDROP TABLE d;\n",
};

static const char *const notx_index =
        "-- migrate:up transaction:false\n"
        "CREATE INDEX CONCURRENTLY IF NOT EXISTS ix_a ON a (id);\n"
        "-- migrate:down transaction:false\n"
        "DROP INDEX CONCURRENTLY IF EXISTS ix_a;\n";

static const char *const add_enum = "-- migrate:up\n"
                                    "ALTER TYPE mood ADD VALUE 'meh';\n";

static int setup(void **state)
{
	struct fx *fx = calloc(1, sizeof(*fx));
	struct pgw_run_opts init = PGW_RUN_OPTS_INIT;

	if (!fx)
		return -1;
	fx->dir = fixture_mkdtemp();
	if (!fx->dir) {
		free(fx);
		return -1;
	}
	fx->opts = init;
	*state = fx;
	return 0;
}

static int teardown(void **state)
{
	struct fx *fx = *state;

	pgw_run_free(fx->run);
	pgw_history_free(fx->h);
	pgw_migset_free(fx->set);
	fixture_rmdtemp(fx->dir);
	free(fx);
	return 0;
}

static void put(struct fx *fx, const char *name, const char *text)
{
	fixture_put(fx->dir, name, text);
}

/* 001_a.sql .. 00N_x.sql, all transactional. */
static void put_plain(struct fx *fx, int n)
{
	static const char *const names[] = { NULL, "001_a.sql", "002_b.sql",
		                             "003_c.sql", "004_d.sql" };
	int i;

	for (i = 1; i <= n; i++)
		put(fx, names[i], tx_up[i]);
}

static void load(struct fx *fx)
{
	if (pgw_migset_load(&fx->set, fx->dir, &fx->err) != 0)
		fail_msg("load: %s", fx->err.msg);
}

static char *dup_or_null(const char *s)
{
	char *d;

	if (!s)
		return NULL;
	d = strdup(s);
	assert_non_null(d);
	return d;
}

/* Build fx->h from rows (sorted by version); load the set first. */
static void history(struct fx *fx, const struct row *rows, size_t n)
{
	struct pgw_history *h = calloc(1, sizeof(*h));
	size_t i;

	assert_non_null(h);
	h->exists = true;
	h->v = calloc(n + 1, sizeof(*h->v));
	assert_non_null(h->v);
	for (i = 0; i < n; i++) {
		struct pgw_applied *a = &h->v[i];
		const struct pgw_migration *m =
		        fx->set ? pgw_migset_find(fx->set, rows[i].version)
		                : NULL;
		const char *sum = rows[i].checksum;

		if (!sum)
			sum = m ? m->checksum : "no-file";
		a->version = rows[i].version;
		a->file = dup_or_null(rows[i].file);
		a->name = dup_or_null(m ? m->name : "gone");
		a->checksum = dup_or_null(sum);
		a->down_sql = dup_or_null(rows[i].down_sql);
		a->down_directives = dup_or_null(rows[i].down_directives);
		a->up_sql = dup_or_null(rows[i].up_sql);
		h->n++;
	}
	fx->h = h;
}

static int plan_up(struct fx *fx)
{
	return pgw_plan_up(&fx->run, fx->set, fx->h, &fx->opts, &fx->err);
}

static int plan_down(struct fx *fx)
{
	return pgw_plan_down(&fx->run, fx->set, fx->h, &fx->opts, &fx->err);
}

static void assert_versions(const struct pgw_run *run, const int64_t *want,
                            size_t n)
{
	size_t i;

	assert_int_equal(run->n, n);
	for (i = 0; i < n; i++)
		if (run->items[i].m->version != want[i])
			fail_msg("item %zu is version %lld, not %lld", i,
			         (long long)run->items[i].m->version,
			         (long long)want[i]);
}

static void assert_segments(const struct pgw_run *run, const int *want,
                            size_t n, int n_segments)
{
	size_t i;

	assert_int_equal(run->n, n);
	for (i = 0; i < n; i++)
		if (run->items[i].segment != want[i])
			fail_msg("item %zu (%s) is in segment %d, not %d", i,
			         run->items[i].m->file, run->items[i].segment,
			         want[i]);
	assert_int_equal(run->n_segments, n_segments);
}

static void test_plan__pending_in_order(void **state)
{
	struct fx *fx = *state;
	const struct row rows[] = {
		{ 1, "001_a.sql", NULL, "DROP TABLE a;", NULL, NULL },
		{ 2, "002_b.sql", NULL, "DROP TABLE b;", NULL, NULL }
	};
	const int64_t want[] = { 3, 4 };
	size_t i;

	put_plain(fx, 4);
	load(fx);
	history(fx, rows, 2);
	assert_int_equal(plan_up(fx), 0);
	assert_false(fx->run->down);
	assert_false(fx->run->nothing_to_do);
	assert_versions(fx->run, want, 2);
	for (i = 0; i < fx->run->n; i++) {
		const struct pgw_plan_item *it = &fx->run->items[i];

		assert_ptr_equal(it->m, pgw_migset_find(fx->set, want[i]));
		assert_ptr_equal(it->sql, &it->m->up);
		assert_true(it->m->parsed);
		assert_int_equal(it->sql->n_stmts, 1);
		assert_false(it->done);
	}
	assert_string_equal(fx->run->from, "002");
	assert_string_equal(fx->run->to, "004");
	assert_int_equal(fx->run->n_segments, 1);
	assert_int_equal(fx->run->items[0].segment, 0);
	assert_int_equal(fx->run->items[1].segment, 0);
}

static void test_plan__empty_history_plans_everything(void **state)
{
	struct fx *fx = *state;
	const int64_t want[] = { 1, 2, 3 };

	put_plain(fx, 3);
	load(fx);
	history(fx, NULL, 0);
	fx->h->exists = false;
	assert_int_equal(plan_up(fx), 0);
	assert_versions(fx->run, want, 3);
	assert_string_equal(fx->run->from, "0");
	assert_string_equal(fx->run->to, "003");
}

static void test_plan__only_pending_migrations_are_parsed(void **state)
{
	struct fx *fx = *state;
	const struct row rows[] = { { 1, "001_a.sql", NULL, NULL, NULL,
		                      NULL } };

	/* applied long ago, in a form today's checks reject: never parsed */
	put(fx, "001_a.sql", "-- migrate:up\nCREATE TABLEE a (id int);\n");
	put(fx, "002_b.sql", tx_up[2]);
	load(fx);
	history(fx, rows, 1);
	assert_int_equal(plan_up(fx), 0);
	assert_int_equal(fx->run->n, 1);
	assert_false(fx->set->v[0].parsed);
	assert_true(fx->set->v[1].parsed);
}

static void test_plan__pending_parse_error_is_einval(void **state)
{
	struct fx *fx = *state;

	put(fx, "001_a.sql", tx_up[1]);
	put(fx, "002_b.sql", "-- migrate:up\nCREATE TABLEE b (id int);\n");
	load(fx);
	history(fx, NULL, 0);
	assert_int_equal(plan_up(fx), PGW_EINVAL);
	assert_null(fx->run);
	assert_non_null(strstr(fx->err.msg, "002_b.sql:2:"));
}

static void test_plan__target_stops_there(void **state)
{
	struct fx *fx = *state;
	const struct row rows[] = { { 1, "001_a.sql", NULL, NULL, NULL,
		                      NULL } };
	const int64_t want[] = { 2, 3 };

	put_plain(fx, 4);
	load(fx);
	history(fx, rows, 1);
	fx->opts.flags |= PGW_RUN_HAS_TARGET;
	fx->opts.target = 3;
	assert_int_equal(plan_up(fx), 0);
	assert_versions(fx->run, want, 2);
	assert_string_equal(fx->run->from, "001");
	assert_string_equal(fx->run->to, "003");
	/* beyond the target: left alone, not even parsed */
	assert_false(fx->set->v[3].parsed);
}

static void test_plan__target_at_head_is_nothing_to_do(void **state)
{
	struct fx *fx = *state;
	const struct row rows[] = { { 1, "001_a.sql", NULL, NULL, NULL, NULL },
		                    { 2, "002_b.sql", NULL, NULL, NULL,
		                      NULL } };

	put_plain(fx, 4);
	load(fx);
	history(fx, rows, 2);
	fx->opts.flags |= PGW_RUN_HAS_TARGET;
	fx->opts.target = 2;
	assert_int_equal(plan_up(fx), 0);
	assert_true(fx->run->nothing_to_do);
	assert_int_equal(fx->run->n, 0);
}

static void test_plan__target_below_head_is_einval(void **state)
{
	struct fx *fx = *state;
	const struct row rows[] = { { 1, "001_a.sql", NULL, NULL, NULL, NULL },
		                    { 2, "002_b.sql", NULL, NULL, NULL, NULL },
		                    { 3, "003_c.sql", NULL, NULL, NULL,
		                      NULL } };

	put_plain(fx, 4);
	load(fx);
	history(fx, rows, 3);
	fx->opts.flags |= PGW_RUN_HAS_TARGET;
	fx->opts.target = 2;
	assert_int_equal(plan_up(fx), PGW_EINVAL);
	assert_null(fx->run);
	assert_non_null(strstr(fx->err.msg, "below"));
	assert_non_null(strstr(fx->err.msg, "003"));
}

static void test_plan__unknown_target_is_einval(void **state)
{
	struct fx *fx = *state;

	put_plain(fx, 2);
	load(fx);
	history(fx, NULL, 0);
	fx->opts.flags |= PGW_RUN_HAS_TARGET;
	fx->opts.target = 7;
	assert_int_equal(plan_up(fx), PGW_EINVAL);
	assert_null(fx->run);
	assert_non_null(strstr(fx->err.msg, "7"));
}

static void test_plan__edited_applied_migration(void **state)
{
	struct fx *fx = *state;
	const struct row rows[] = {
		{ 1, "001_a.sql", NULL, NULL, NULL, NULL },
		{ 2, "002_b.sql",
		  "0000000000000000000000000000000000000000000000000000000000000000",
		  NULL, NULL, NULL },
	};

	put_plain(fx, 3);
	load(fx);
	history(fx, rows, 2);
	assert_int_equal(plan_up(fx), PGW_ECHECKSUM);
	assert_int_equal(fx->err.code, PGW_ECHECKSUM);
	assert_null(fx->run);
	assert_non_null(strstr(fx->err.msg, "002_b.sql"));
	assert_null(strstr(fx->err.msg, "001_a.sql"));
}

static void test_plan__edited_migration_detail_names_first_change(void **state)
{
	struct fx *fx = *state;
	const struct row rows[] = {
		{ 1, "001_a.sql", NULL, NULL, NULL, NULL },
		{ 2, "002_b.sql",
		  "0000000000000000000000000000000000000000000000000000000000000000",
		  NULL, NULL,
		  "CREATE TABLE b (id int);\nCREATE TABLE b2 (id bigint);\n" },
	};

	put(fx, "001_a.sql", tx_up[1]);
	put(fx, "002_b.sql",
	    "-- migrate:up\n"
	    "CREATE TABLE b (id int);\n"
	    "CREATE TABLE b2 (id int);\n");
	load(fx);
	history(fx, rows, 2);
	assert_int_equal(plan_up(fx), PGW_ECHECKSUM);
	assert_null(fx->run);
	assert_non_null(strstr(fx->err.msg, "002_b.sql"));
	assert_string_equal(fx->err.detail,
	                    "002_b.sql:3 is now 'CREATE TABLE b2 (id int);'; "
	                    "as applied it was 'CREATE TABLE b2 (id bigint);'");
}

static void test_plan__applied_without_file_is_einval(void **state)
{
	struct fx *fx = *state;
	const struct row rows[] = {
		{ 1, "001_a.sql", NULL, NULL, NULL, NULL },
		{ 2, "002_gone.sql", NULL, NULL, NULL, NULL },
		{ 3, "003_c.sql", NULL, NULL, NULL, NULL }
	};

	put(fx, "001_a.sql", tx_up[1]);
	put(fx, "003_c.sql", tx_up[3]);
	put(fx, "004_d.sql", tx_up[4]);
	load(fx);
	history(fx, rows, 3);
	assert_int_equal(plan_up(fx), PGW_EINVAL);
	assert_null(fx->run);
	assert_non_null(strstr(fx->err.msg, "002_gone.sql"));
}

static void test_plan__allow_unknown(void **state)
{
	struct fx *fx = *state;
	const struct row rows[] = {
		{ 1, "001_a.sql", NULL, NULL, NULL, NULL },
		{ 2, "002_gone.sql", NULL, NULL, NULL, NULL },
		{ 3, "003_c.sql", NULL, NULL, NULL, NULL }
	};
	const int64_t want[] = { 4 };

	put(fx, "001_a.sql", tx_up[1]);
	put(fx, "003_c.sql", tx_up[3]);
	put(fx, "004_d.sql", tx_up[4]);
	load(fx);
	history(fx, rows, 3);
	fx->opts.flags |= PGW_RUN_ALLOW_UNKNOWN;
	assert_int_equal(plan_up(fx), 0);
	assert_versions(fx->run, want, 1);
	assert_string_equal(fx->run->from, "003");
}

static void test_plan__pending_below_head_is_out_of_order(void **state)
{
	struct fx *fx = *state;
	const struct row rows[] = { { 1, "001_a.sql", NULL, NULL, NULL, NULL },
		                    { 3, "003_c.sql", NULL, NULL, NULL,
		                      NULL } };

	put_plain(fx, 3);
	load(fx);
	history(fx, rows, 2);
	assert_int_equal(plan_up(fx), PGW_EINVAL);
	assert_null(fx->run);
	assert_non_null(strstr(fx->err.msg, "002_b.sql"));
	assert_non_null(strstr(fx->err.msg, "003"));
}

static void test_plan__nothing_pending(void **state)
{
	struct fx *fx = *state;
	const struct row rows[] = { { 1, "001_a.sql", NULL, NULL, NULL, NULL },
		                    { 2, "002_b.sql", NULL, NULL, NULL,
		                      NULL } };

	put_plain(fx, 2);
	load(fx);
	history(fx, rows, 2);
	assert_int_equal(plan_up(fx), 0);
	assert_true(fx->run->nothing_to_do);
	assert_int_equal(fx->run->n, 0);
	assert_int_equal(fx->run->n_segments, 0);
	assert_string_equal(fx->run->from, "002");
	assert_string_equal(fx->run->to, "002");
}

/* tx, tx, notx, tx, enum-adding tx, tx */
static void test_plan__segments(void **state)
{
	struct fx *fx = *state;
	const int want[] = { 0, 0, 1, 2, 2, 3 };

	put(fx, "001_a.sql", tx_up[1]);
	put(fx, "002_b.sql", tx_up[2]);
	put(fx, "003_ix.sql", notx_index);
	put(fx, "004_d.sql", tx_up[4]);
	put(fx, "005_enum.sql", add_enum);
	put(fx, "006_f.sql", "-- migrate:up\nCREATE TABLE f (id int);\n");
	load(fx);
	history(fx, NULL, 0);
	assert_int_equal(plan_up(fx), 0);
	assert_false(fx->run->items[2].sql->transactional);
	assert_true(fx->run->items[4].m->adds_enum_value);
	assert_segments(fx->run, want, 6, 4);
}

static void test_plan__segments_notx_first_and_in_a_row(void **state)
{
	struct fx *fx = *state;
	const int want[] = { 0, 1, 2, 2 };

	put(fx, "001_ix.sql", notx_index);
	put(fx, "002_ix2.sql",
	    "-- migrate:up transaction:false\n"
	    "CREATE INDEX CONCURRENTLY IF NOT EXISTS ix_b ON a (id);\n");
	put(fx, "003_c.sql", tx_up[3]);
	put(fx, "004_d.sql", tx_up[4]);
	load(fx);
	history(fx, NULL, 0);
	assert_int_equal(plan_up(fx), 0);
	assert_segments(fx->run, want, 4, 3);
}

static void test_plan__segments_enum_last(void **state)
{
	struct fx *fx = *state;
	const int want[] = { 0, 0 };

	put(fx, "001_a.sql", tx_up[1]);
	put(fx, "002_enum.sql", add_enum);
	load(fx);
	history(fx, NULL, 0);
	assert_int_equal(plan_up(fx), 0);
	assert_segments(fx->run, want, 2, 1);
}

static void test_plan__segments_notx_last(void **state)
{
	struct fx *fx = *state;
	const int want[] = { 0, 1 };

	put(fx, "001_a.sql", tx_up[1]);
	put(fx, "002_ix.sql", notx_index);
	load(fx);
	history(fx, NULL, 0);
	assert_int_equal(plan_up(fx), 0);
	assert_segments(fx->run, want, 2, 2);
}

static void test_plan__segments_after_partial_history(void **state)
{
	struct fx *fx = *state;
	const struct row rows[] = { { 1, "001_a.sql", NULL, NULL, NULL, NULL },
		                    { 2, "002_b.sql", NULL, NULL, NULL,
		                      NULL } };
	const int want[] = { 0, 1, 1, 2 };

	put(fx, "001_a.sql", tx_up[1]);
	put(fx, "002_b.sql", tx_up[2]);
	put(fx, "003_ix.sql", notx_index);
	put(fx, "004_d.sql", tx_up[4]);
	put(fx, "005_enum.sql", add_enum);
	put(fx, "006_f.sql", "-- migrate:up\nCREATE TABLE f (id int);\n");
	load(fx);
	history(fx, rows, 2);
	assert_int_equal(plan_up(fx), 0);
	assert_segments(fx->run, want, 4, 3);
}

static const struct row four_applied[] = {
	{ 1, "001_a.sql", NULL, "DROP TABLE a;", NULL, NULL },
	{ 2, "002_b.sql", NULL, "DROP TABLE b_as_applied;", NULL, NULL },
	{ 3, "003_c.sql", NULL, "DROP TABLE c;\nDROP TABLE c2;", NULL, NULL },
	{ 4, "004_d.sql", NULL, "DROP TABLE d;", NULL, NULL },
};

static void test_plan__down_steps_newest_first(void **state)
{
	struct fx *fx = *state;
	const int64_t want[] = { 4, 3 };

	put_plain(fx, 4);
	load(fx);
	history(fx, four_applied, 4);
	fx->opts.flags |= PGW_RUN_HAS_STEPS;
	fx->opts.steps = 2;
	assert_int_equal(plan_down(fx), 0);
	assert_true(fx->run->down);
	assert_false(fx->run->nothing_to_do);
	assert_versions(fx->run, want, 2);
	assert_string_equal(fx->run->items[0].m->file, "004_d.sql");
	assert_string_equal(fx->run->items[0].sql->text, "DROP TABLE d;");
	assert_string_equal(fx->run->items[1].m->file, "003_c.sql");
	assert_string_equal(fx->run->items[1].sql->text,
	                    "DROP TABLE c;\nDROP TABLE c2;");
	assert_int_equal(fx->run->items[1].sql->n_stmts, 2);
	assert_int_equal(fx->run->items[1].sql->stmts[1].line, 2);
	assert_string_equal(fx->run->from, "004");
	assert_string_equal(fx->run->to, "002");
	assert_int_equal(fx->run->n_segments, 1);
}

static void test_plan__down_default_is_one_step(void **state)
{
	struct fx *fx = *state;
	const int64_t want[] = { 4 };

	put_plain(fx, 4);
	load(fx);
	history(fx, four_applied, 4);
	assert_int_equal(plan_down(fx), 0);
	assert_versions(fx->run, want, 1);
	assert_string_equal(fx->run->to, "003");
}

static void test_plan__down_to_target(void **state)
{
	struct fx *fx = *state;
	const int64_t want[] = { 4, 3, 2 };

	put_plain(fx, 4);
	load(fx);
	history(fx, four_applied, 4);
	fx->opts.flags |= PGW_RUN_HAS_TARGET;
	fx->opts.target = 1;
	assert_int_equal(plan_down(fx), 0);
	assert_versions(fx->run, want, 3);
	/* down SQL as applied, not as the file has it now */
	assert_string_equal(fx->run->items[2].sql->text,
	                    "DROP TABLE b_as_applied;");
	assert_string_equal(fx->run->to, "001");
}

static void test_plan__down_to_zero_reverts_all(void **state)
{
	struct fx *fx = *state;
	const int64_t want[] = { 4, 3, 2, 1 };

	put_plain(fx, 4);
	load(fx);
	history(fx, four_applied, 4);
	fx->opts.flags |= PGW_RUN_HAS_TARGET;
	fx->opts.target = 0;
	assert_int_equal(plan_down(fx), 0);
	assert_versions(fx->run, want, 4);
	assert_string_equal(fx->run->to, "0");
}

static void test_plan__down_with_nothing_applied(void **state)
{
	struct fx *fx = *state;

	put_plain(fx, 2);
	load(fx);
	history(fx, NULL, 0);
	assert_int_equal(plan_down(fx), 0);
	assert_true(fx->run->nothing_to_do);
	assert_int_equal(fx->run->n, 0);
	assert_string_equal(fx->run->from, "0");
	assert_string_equal(fx->run->to, "0");
}

static void test_plan__down_without_down_sql_is_einval(void **state)
{
	struct fx *fx = *state;
	const struct row rows[] = {
		{ 1, "001_a.sql", NULL, "DROP TABLE a;", NULL, NULL },
		{ 2, "002_b.sql", NULL, NULL, NULL, NULL },
		{ 3, "003_c.sql", NULL, "DROP TABLE c;", NULL, NULL },
	};

	put_plain(fx, 3);
	load(fx);
	history(fx, rows, 3);
	fx->opts.flags |= PGW_RUN_HAS_STEPS;
	fx->opts.steps = 2;
	assert_int_equal(plan_down(fx), PGW_EINVAL);
	assert_null(fx->run);
	assert_non_null(strstr(fx->err.msg, "002_b.sql"));
	assert_non_null(strstr(fx->err.msg, "down"));
}

static void test_plan__down_notx_from_history_directives(void **state)
{
	struct fx *fx = *state;
	const struct row rows[] = {
		{ 1, "001_a.sql", NULL, "DROP TABLE a;", NULL, NULL },
		{ 2, "002_b.sql", NULL, "DROP TABLE b;", NULL, NULL },
		{ 3, "003_ix.sql", NULL,
		  "DROP INDEX CONCURRENTLY IF EXISTS ix_a;",
		  "transaction:false", NULL },
	};
	const int want[] = { 0, 1, 1 };

	put(fx, "001_a.sql", tx_up[1]);
	put(fx, "002_b.sql", tx_up[2]);
	put(fx, "003_ix.sql", notx_index);
	load(fx);
	history(fx, rows, 3);
	fx->opts.flags |= PGW_RUN_HAS_TARGET;
	fx->opts.target = 0;
	assert_int_equal(plan_down(fx), 0);
	assert_false(fx->run->items[0].sql->transactional);
	assert_true(fx->run->items[1].sql->transactional);
	assert_segments(fx->run, want, 3, 2);
}

static void test_plan__down_use_file_down(void **state)
{
	struct fx *fx = *state;
	const int64_t want[] = { 4, 3, 2 };

	put_plain(fx, 4);
	load(fx);
	history(fx, four_applied, 4);
	fx->opts.flags |= PGW_RUN_HAS_STEPS | PGW_RUN_USE_FILE_DOWN;
	fx->opts.steps = 3;
	assert_int_equal(plan_down(fx), 0);
	assert_versions(fx->run, want, 3);
	assert_string_equal(fx->run->items[2].sql->text, "DROP TABLE b;\n");
	/* the file's own line numbers */
	assert_int_equal(fx->run->items[2].sql->stmts[0].line, 4);
	assert_string_equal(fx->run->items[1].sql->text, "DROP TABLE c;\n");
	assert_int_equal(fx->run->items[1].sql->n_stmts, 1);
}

static void test_plan__down_use_file_down_without_section(void **state)
{
	struct fx *fx = *state;
	const struct row rows[] = {
		{ 1, "001_a.sql", NULL, "DROP TABLE a;", NULL, NULL },
		{ 2, "002_b.sql", NULL, "DROP TABLE b;", NULL, NULL },
	};

	put(fx, "001_a.sql", tx_up[1]);
	put(fx, "002_b.sql", "-- migrate:up\nCREATE TABLE b (id int);\n");
	load(fx);
	history(fx, rows, 2);
	fx->opts.flags |= PGW_RUN_USE_FILE_DOWN;
	assert_int_equal(plan_down(fx), PGW_EINVAL);
	assert_null(fx->run);
	assert_non_null(strstr(fx->err.msg, "002_b.sql"));
}

static void test_plan__down_use_file_down_without_file(void **state)
{
	struct fx *fx = *state;
	const struct row rows[] = {
		{ 1, "001_a.sql", NULL, "DROP TABLE a;", NULL, NULL },
		{ 2, "002_gone.sql", NULL, "DROP TABLE b;", NULL, NULL },
	};

	put(fx, "001_a.sql", tx_up[1]);
	load(fx);
	history(fx, rows, 2);
	fx->opts.flags |= PGW_RUN_USE_FILE_DOWN;
	assert_int_equal(plan_down(fx), PGW_EINVAL);
	assert_null(fx->run);
	assert_non_null(strstr(fx->err.msg, "002"));
}

static void test_plan__applied_vtext(void **state)
{
	struct pgw_applied a;
	char v[32];

	(void)state;
	memset(&a, 0, sizeof(a));
	a.version = 42;
	a.file = (char *)"0042_add_index.sql";
	pgw_applied_vtext(v, &a);
	assert_string_equal(v, "0042");
	a.file = NULL;
	pgw_applied_vtext(v, &a);
	assert_string_equal(v, "42");
	a.file = (char *)"renamed.sql";
	pgw_applied_vtext(v, &a);
	assert_string_equal(v, "42");
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_plan__pending_in_order),
		T(test_plan__empty_history_plans_everything),
		T(test_plan__only_pending_migrations_are_parsed),
		T(test_plan__pending_parse_error_is_einval),
		T(test_plan__target_stops_there),
		T(test_plan__target_at_head_is_nothing_to_do),
		T(test_plan__target_below_head_is_einval),
		T(test_plan__unknown_target_is_einval),
		T(test_plan__edited_applied_migration),
		T(test_plan__edited_migration_detail_names_first_change),
		T(test_plan__applied_without_file_is_einval),
		T(test_plan__allow_unknown),
		T(test_plan__pending_below_head_is_out_of_order),
		T(test_plan__nothing_pending),
		T(test_plan__segments),
		T(test_plan__segments_notx_first_and_in_a_row),
		T(test_plan__segments_enum_last),
		T(test_plan__segments_notx_last),
		T(test_plan__segments_after_partial_history),
		T(test_plan__down_steps_newest_first),
		T(test_plan__down_default_is_one_step),
		T(test_plan__down_to_target),
		T(test_plan__down_to_zero_reverts_all),
		T(test_plan__down_with_nothing_applied),
		T(test_plan__down_without_down_sql_is_einval),
		T(test_plan__down_notx_from_history_directives),
		T(test_plan__down_use_file_down),
		T(test_plan__down_use_file_down_without_section),
		T(test_plan__down_use_file_down_without_file),
		T(test_plan__applied_vtext),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
