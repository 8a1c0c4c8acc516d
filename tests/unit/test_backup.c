/* test_backup.c - pgw_backup (core/backup.c) of a real database: the
 * archive it writes (0600, verified, its manifest and its rows), the
 * history's version in it, parallel readers sharing one snapshot, the
 * NOWAIT locks that make it fail naming who holds a table, a table the
 * role cannot read, objects it cannot carry, the default file name and
 * [backup] keep, and --backup-target commands. */
#include <errno.h>
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
#include "pgward.h"

#define DB "ut_backup"
/* cluster-wide: made and dropped by the test that needs it */
#define ROLE "pgw_ut_backup_role"

struct fx {
	char *conninfo;
	PGconn *c, *other;
	char *dir;
	char out[4096]; /* dir/a.tar.zst */
	struct pgw_config cfg;
	struct pgw_err err;
	struct pgw_backup_report *rep;
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
	                     &fx->err) == 0) {
		snprintf(fx->out, sizeof(fx->out), "%s/a.tar.zst", fx->dir);
		return 0;
	}
	/* the teardown is not run when the setup fails */
	teardown(state);
	return -1;
}

static int teardown(void **state)
{
	struct fx *fx = *state;

	pgw_backup_report_free(fx->rep);
	pgw_manifest_free(fx->m);
	free(fx->text);
	PQfinish(fx->other);
	fixture_cfg_close(&fx->cfg, DB, fx->conninfo, fx->c, fx->dir);
	fixture_pg_drop_role(ROLE);
	free(fx);
	return 0;
}

/* ---------------------------------------------------------------------- */
/* helpers */

static void fill(PGconn *c)
{
	fixture_pg_sql(c, "CREATE TABLE public.t (id int PRIMARY KEY, s text);"
	                  "INSERT INTO public.t VALUES (1, 'one'), (2, 'two'),"
	                  " (3, E'tab\\there');"
	                  "CREATE SCHEMA app;"
	                  "CREATE TABLE app.empty (x int);"
	                  "CREATE TABLE app.g (a int,"
	                  " b int GENERATED ALWAYS AS (a * 2) STORED);"
	                  "INSERT INTO app.g (a) VALUES (5)");
}

static void backup_ok(struct fx *fx, const struct pgw_backup_opts *o)
{
	pgw_backup_report_free(fx->rep);
	fx->rep = NULL;
	pgw_err_clear(&fx->err);
	if (pgw_backup(&fx->rep, &fx->cfg, o, &fx->err) != 0)
		fail_msg("pgw_backup: %d %s (%s) (%s)", fx->err.code,
		         fx->err.msg, fx->err.detail, fx->err.hint);
	assert_non_null(fx->rep);
}

static int backup_fails(struct fx *fx, const struct pgw_backup_opts *o)
{
	int rc;

	pgw_backup_report_free(fx->rep);
	fx->rep = NULL;
	pgw_err_clear(&fx->err);
	rc = pgw_backup(&fx->rep, &fx->cfg, o, &fx->err);
	assert_int_not_equal(rc, 0);
	assert_int_equal(rc, fx->err.code);
	assert_null(fx->rep);
	return rc;
}

static void verify_ok(struct fx *fx, const char *path)
{
	pgw_manifest_free(fx->m);
	fx->m = NULL;
	if (pgw_archive_verify(&fx->m, path, &fx->err) != 0)
		fail_msg("pgw_archive_verify: %s", fx->err.msg);
}

/* The names in dir not starting with a dot, sorted, one a line, are
 * `want`. */
static void listing_is(struct fx *fx, const char *dir, const char *want)
{
	free(fx->text);
	fx->text = fixture_listing(dir, false);
	assert_string_equal(fx->text, want);
}

/* The entries of a verified archive whose name starts with `prefix`,
 * concatenated in archive order (into fx->text). */
static const char *entries_text(struct fx *fx, const char *path,
                                const char *prefix)
{
	struct pgw_archive_reader *r = NULL;
	const struct pgw_archive_entry *e;
	struct pgw_buf b = PGW_BUF_INIT;
	char chunk[65536];
	int more;

	verify_ok(fx, path);
	assert_int_equal(pgw_archive_open(&r, path, fx->m, &fx->err), 0);
	while ((more = pgw_archive_next(r, &e, &fx->err)) > 0) {
		size_t got;

		if (strncmp(e->name, prefix, strlen(prefix)) != 0)
			continue;
		do {
			got = 0;
			assert_int_equal(pgw_archive_read(r, chunk,
			                                  sizeof(chunk), &got,
			                                  &fx->err),
			                 0);
			pgw_buf_put(&b, chunk, got);
		} while (got);
	}
	pgw_archive_close(r);
	assert_int_equal(more, 0);
	assert_false(pgw_buf_oom(&b));
	free(fx->text);
	fx->text = pgw_buf_detach(&b);
	return fx->text;
}

static const struct pgw_manifest_table *
mtable(const struct pgw_manifest *m, const char *schema, const char *name)
{
	size_t i;

	for (i = 0; i < m->n_tables; i++)
		if (!strcmp(m->tables[i].schema, schema) &&
		    !strcmp(m->tables[i].name, name))
			return &m->tables[i];
	fail_msg("no table %s.%s in the manifest", schema, name);
	return NULL;
}

static bool has_string(char **v, const char *s)
{
	for (; v && *v; v++)
		if (!strcmp(*v, s))
			return true;
	return false;
}

static bool exists(const char *path)
{
	struct stat sb;

	return stat(path, &sb) == 0;
}

/* ---------------------------------------------------------------------- */
/* the archive */

static void test_backup__writes_a_verified_archive(void **state)
{
	struct fx *fx = *state;
	struct pgw_backup_opts o = PGW_BACKUP_OPTS_INIT;
	struct stat sb;
	const struct pgw_manifest_table *t;

	fill(fx->c);
	o.output = fx->out;
	backup_ok(fx, &o);
	assert_string_equal(fx->rep->path, fx->out);
	assert_null(fx->rep->uri);
	assert_int_equal(fx->rep->rows, 4);
	assert_int_equal(fx->rep->n_tables, 3);
	assert_int_equal(strlen(fx->rep->sha256), 64);
	/* private, complete, and nothing else left beside it */
	assert_int_equal(stat(fx->out, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0600);
	assert_int_equal(fx->rep->bytes, (unsigned long long)sb.st_size);
	listing_is(fx, fx->dir, "a.tar.zst\n");

	verify_ok(fx, fx->out);
	assert_string_equal(fx->m->archive_sha256, fx->rep->sha256);
	assert_string_equal(fx->m->database, DB);
	assert_string_equal(fx->m->encoding, "UTF8");
	assert_true(fx->m->server_version_num >= 140000);
	assert_null(fx->m->schema_version);
	assert_null(fx->m->git_commit);
	assert_non_null(fx->m->created_at);
	assert_non_null(fx->m->wal_lsn);
	assert_string_equal(fx->m->schemas[0], "app");
	assert_string_equal(fx->m->schemas[1], "public");
	assert_null(fx->m->schemas[2]);
	assert_true(has_string(fx->m->settings, "DateStyle=ISO"));
	assert_true(has_string(fx->m->extensions, "plpgsql 1.0 pg_catalog"));
	assert_null(fx->m->omitted[0]);
	/* tables in order, numbered from 1, generated columns left out */
	assert_int_equal(fx->m->n_tables, 3);
	t = mtable(fx->m, "app", "empty");
	assert_int_equal(t->seq, 1);
	assert_int_equal(t->rows, 0);
	t = mtable(fx->m, "app", "g");
	assert_int_equal(t->seq, 2);
	assert_int_equal(t->rows, 1);
	assert_string_equal(t->columns, "a");
	t = mtable(fx->m, "public", "t");
	assert_int_equal(t->seq, 3);
	assert_int_equal(t->rows, 3);
	assert_string_equal(t->columns, "id, s");
}

static void test_backup__holds_the_rows_and_the_schema(void **state)
{
	struct fx *fx = *state;
	struct pgw_backup_opts o = PGW_BACKUP_OPTS_INIT;

	fill(fx->c);
	o.output = fx->out;
	backup_ok(fx, &o);
	assert_string_equal(entries_text(fx, fx->out, "data/0003.public.t."),
	                    "1\tone\n2\ttwo\n3\ttab\\there\n");
	assert_string_equal(entries_text(fx, fx->out, "data/0002.app.g."),
	                    "5\n");
	/* a table without rows has no data entry */
	assert_string_equal(entries_text(fx, fx->out, "data/0001."), "");
	assert_non_null(strstr(entries_text(fx, fx->out, "schema/pre-data.sql"),
	                       "CREATE TABLE public.t ("));
	assert_non_null(
	        strstr(entries_text(fx, fx->out, "schema/post-data.sql"),
	               "ADD CONSTRAINT t_pkey PRIMARY KEY (id);"));
	/* a script for psql, table by table */
	entries_text(fx, fx->out, "restore.sql");
	assert_non_null(strstr(fx->text,
	                       "\\i schema/pre-data.sql\n"
	                       "\\copy app.g (a) FROM "
	                       "'data/0002.app.g.copy.001'\n"
	                       "\\copy public.t (id, s) FROM "
	                       "'data/0003.public.t.copy.001'\n"
	                       "\\i schema/post-data.sql\nCOMMIT;\n"));
	assert_non_null(strstr(fx->text, "SET DateStyle = 'ISO';\n"));
}

static void test_backup__uncompressed_when_level_is_zero(void **state)
{
	struct fx *fx = *state;
	struct pgw_backup_opts o = PGW_BACKUP_OPTS_INIT;
	char path[4200], magic[6] = "";
	FILE *f;

	fill(fx->c);
	snprintf(path, sizeof(path), "%s/plain.tar", fx->dir);
	o.output = path;
	o.zstd_level = 0;
	backup_ok(fx, &o);
	f = fopen(path, "rb");
	assert_non_null(f);
	assert_int_equal(fseek(f, 257, SEEK_SET), 0);
	assert_int_equal(fread(magic, 1, 5, f), 5);
	fclose(f);
	assert_string_equal(magic, "ustar");
	assert_string_equal(entries_text(fx, path, "data/0003.public.t."),
	                    "1\tone\n2\ttwo\n3\ttab\\there\n");
}

/* ---------------------------------------------------------------------- */
/* what it says about the database */

static void test_backup__records_the_history_version(void **state)
{
	struct fx *fx = *state;
	struct pgw_backup_opts o = PGW_BACKUP_OPTS_INIT;
	char mig[4096];

	assert_int_equal(
	        fixture_cfg_migrations(&fx->cfg, mig, fx->dir, &fx->err), 0);
	fixture_put(mig, "007_create_t.sql",
	            "-- migrate:up\nCREATE TABLE public.t (id int);\n"
	            "INSERT INTO public.t VALUES (1);\n"
	            "-- migrate:down\nDROP TABLE public.t;\n");
	fixture_up(&fx->cfg, FIXTURE_ALL, &fx->err);
	o.output = fx->out;
	backup_ok(fx, &o);
	verify_ok(fx, fx->out);
	assert_string_equal(fx->m->schema_version, "007");
	/* the history goes with the rows it describes */
	assert_int_equal(mtable(fx->m, "pgward", "migrations")->rows, 1);
	assert_int_equal(mtable(fx->m, "public", "t")->rows, 1);
}

/* Several readers on one snapshot: a large table read in page ranges,
 * every row exactly once. */
static void test_backup__parallel_readers_share_the_rows(void **state)
{
	struct fx *fx = *state;
	struct pgw_backup_opts o = PGW_BACKUP_OPTS_INIT;
	long long n = 0, sum = 0;
	const char *p;
	size_t parts = 0, i;

	fixture_pg_sql(fx->c, "CREATE TABLE public.big (id int);"
	                      "INSERT INTO public.big SELECT g FROM"
	                      " generate_series(1, 250000) g;"
	                      "CREATE TABLE public.small (id int);"
	                      "INSERT INTO public.small VALUES (7);"
	                      "ANALYZE");
	o.output = fx->out;
	o.jobs = 3;
	backup_ok(fx, &o);
	assert_int_equal(fx->rep->rows, 250001);
	verify_ok(fx, fx->out);
	assert_int_equal(mtable(fx->m, "public", "big")->rows, 250000);
	for (i = 0; i < fx->m->n_entries; i++)
		if (!strncmp(fx->m->entries[i].name, "data/0001.public.big.",
		             21))
			parts++;
	/* more than a range's worth of pages: more than one part */
	assert_true(parts >= 2);
	for (p = entries_text(fx, fx->out, "data/0001.public.big."); *p;) {
		char *end;
		long v = strtol(p, &end, 10);

		assert_true(end > p && *end == '\n');
		n++;
		sum += v;
		p = end + 1;
	}
	assert_int_equal(n, 250000);
	assert_int_equal(sum, 250000LL * 250001 / 2);
	assert_string_equal(
	        entries_text(fx, fx->out, "data/0002.public.small."), "7\n");
}

/* ---------------------------------------------------------------------- */
/* refusals */

static void test_backup__locked_table_fails_naming_the_holder(void **state)
{
	struct fx *fx = *state;
	struct pgw_backup_opts o = PGW_BACKUP_OPTS_INIT;
	char pid[64];

	fill(fx->c);
	fx->other = fixture_pg_connect(fx->conninfo);
	assert_non_null(fx->other);
	fixture_pg_sql(fx->other,
	               "SET application_name = 'ut_holder'; BEGIN;"
	               "LOCK TABLE public.t IN ACCESS EXCLUSIVE MODE");
	snprintf(pid, sizeof(pid),
	         "table public.t is locked by pid %d (ut_holder, ",
	         PQbackendPID(fx->other));
	o.output = fx->out;
	assert_int_equal(backup_fails(fx, &o), PGW_EPG);
	assert_string_equal(fx->err.sqlstate, "55P03");
	assert_non_null(strstr(fx->err.msg, "cannot lock the tables to back up "
	                                    "after 6 tries"));
	if (!strstr(fx->err.detail, pid))
		fail_msg("detail '%s' does not name '%s'", fx->err.detail, pid);
	assert_non_null(strstr(fx->err.detail, "idle in transaction"));
	assert_non_null(strstr(fx->err.hint, "waits for no one"));
	/* nothing written, not even a partial file */
	listing_is(fx, fx->dir, "");

	/* once it is free, the backup goes through */
	fixture_pg_sql(fx->other, "ROLLBACK");
	backup_ok(fx, &o);
	listing_is(fx, fx->dir, "a.tar.zst\n");
}

static void test_backup__table_the_role_cannot_read_is_named(void **state)
{
	struct fx *fx = *state;
	struct pgw_backup_opts o = PGW_BACKUP_OPTS_INIT;
	char url[256];

	fixture_pg_drop_role(ROLE);
	assert_int_equal(fixture_pg_admin("CREATE ROLE " ROLE " LOGIN"), 0);
	fixture_pg_sql(fx->c, "CREATE SCHEMA own AUTHORIZATION " ROLE ";"
	                      "CREATE TABLE own.mine (id int);"
	                      "ALTER TABLE own.mine OWNER TO " ROLE ";"
	                      /* in the role's schema, not the role's table */
	                      "CREATE TABLE own.secret (id int);"
	                      "CREATE TABLE own.also_secret (id int);"
	                      "INSERT INTO own.secret VALUES (1)");
	snprintf(url, sizeof(url), "dbname=%s user=%s", DB, ROLE);
	assert_int_equal(
	        pgw_config_set(&fx->cfg, "database.url", url, NULL, &fx->err),
	        0);
	o.output = fx->out;
	assert_int_equal(backup_fails(fx, &o), PGW_EINVAL);
	assert_string_equal(fx->err.msg, "the backup role cannot read "
	                                 "own.also_secret, own.secret");
	assert_non_null(strstr(fx->err.hint, "GRANT SELECT"));
	listing_is(fx, fx->dir, "");

	fixture_pg_sql(fx->c,
	               "GRANT SELECT ON own.secret, own.also_secret TO " ROLE);
	backup_ok(fx, &o);
	verify_ok(fx, fx->out);
	/* the role's scope: its own schema */
	assert_string_equal(fx->m->schemas[0], "own");
	assert_null(fx->m->schemas[1]);
	assert_int_equal(mtable(fx->m, "own", "secret")->rows, 1);
}

static void test_backup__objects_it_cannot_carry(void **state)
{
	struct fx *fx = *state;
	struct pgw_backup_opts o = PGW_BACKUP_OPTS_INIT;

	fill(fx->c);
	fixture_pg_sql(fx->c, "CREATE TEXT SEARCH CONFIGURATION public.mycfg"
	                      " (COPY = pg_catalog.english)");
	o.output = fx->out;
	assert_int_equal(backup_fails(fx, &o), PGW_EINVAL);
	assert_non_null(strstr(fx->err.msg, "text search configuration "
	                                    "public.mycfg"));
	listing_is(fx, fx->dir, "");

	o.allow_unsupported = true;
	backup_ok(fx, &o);
	verify_ok(fx, fx->out);
	assert_string_equal(fx->m->omitted[0], "public.mycfg");
	assert_null(fx->m->omitted[1]);
	assert_int_equal(mtable(fx->m, "public", "t")->rows, 3);
}

/* ---------------------------------------------------------------------- */
/* where it goes */

static void test_backup__default_name_and_keep(void **state)
{
	struct fx *fx = *state;
	struct pgw_backup_opts o = PGW_BACKUP_OPTS_INIT;
	char dir[4200], want[4300], id[40] = "20200101T000000Z-0001";
	const char *base;
	struct stat sb;
	size_t n;

	fill(fx->c);
	snprintf(dir, sizeof(dir), "%s/backups", fx->dir);
	assert_int_equal(
	        pgw_config_set(&fx->cfg, "backup.dir", dir, NULL, &fx->err), 0);
	assert_int_equal(
	        pgw_config_set(&fx->cfg, "backup.keep", "zero", NULL, &fx->err),
	        0);
	assert_int_equal(backup_fails(fx, &o), PGW_EINVAL);
	assert_string_equal(fx->err.msg, "[backup] keep must be a whole number "
	                                 ">= 1, not 'zero'");
	assert_false(exists(dir));

	assert_int_equal(
	        pgw_config_set(&fx->cfg, "backup.keep", "2", NULL, &fx->err),
	        0);
	assert_int_equal(mkdir(dir, 0700), 0);
	fixture_put(dir, DB "-20200101T000000Z.tar.zst", "old");
	fixture_put(dir, DB "-20200102T000000Z.tar.zst", "old");
	fixture_put(dir, DB "-20200103T000000Z.tar", "old");
	fixture_put(dir, "other-20200101T000000Z.tar.zst", "another db's");
	fixture_put(dir, DB "-notes.txt", "not an archive");
	/* an unfinished deploy still needs the oldest */
	{
		struct pgw_journal_state s = { "backup", "running",
			                       "file:///somewhere/" DB
			                       "-20200101T000000Z.tar.zst",
			                       NULL, NULL };

		assert_int_equal(pgw_journal_ensure(fx->c, &fx->err), 0);
		assert_int_equal(
		        pgw_journal_start(fx->c, id, "0", "1", NULL, &fx->err),
		        0);
		pgw_journal_update(fx->c, id, &s);
	}
	backup_ok(fx, &o);
	/* <dir>/<db>-<UTC time>.tar.zst */
	base = strrchr(fx->rep->path, '/');
	assert_non_null(base);
	assert_int_equal((size_t)(base - fx->rep->path), strlen(dir));
	assert_memory_equal(fx->rep->path, dir, strlen(dir));
	base++;
	n = strlen(base);
	assert_int_equal(n, strlen(DB "-20260101T000000Z.tar.zst"));
	assert_memory_equal(base, DB "-", strlen(DB) + 1);
	assert_int_equal(base[strlen(DB) + 9], 'T');
	assert_string_equal(base + n - 9, "Z.tar.zst");
	assert_int_equal(stat(dir, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0700);
	/* the newest two stay, and the one a deploy needs; other files and
	 * other databases' archives are not touched */
	snprintf(want, sizeof(want),
	         "other-20200101T000000Z.tar.zst\n" DB
	         "-20200101T000000Z.tar.zst\n" DB
	         "-20200103T000000Z.tar\n%s\n" DB "-notes.txt\n",
	         base);
	listing_is(fx, dir, want);
}

static void test_backup__target_command_confirms_the_copy(void **state)
{
	struct fx *fx = *state;
	struct pgw_backup_opts o = PGW_BACKUP_OPTS_INIT;
	char target[16384], copy[4200], uri[4300];
	char *a = NULL, *b = NULL;
	size_t alen, blen;
	FILE *f;

	fill(fx->c);
	snprintf(copy, sizeof(copy), "%s/stored", fx->dir);
	snprintf(uri, sizeof(uri), "file://%s", copy);
	snprintf(
	        target, sizeof(target),
	        "command:cat > '%s' && test \"$PGWARD_ARCHIVE_NAME\" = a.tar.zst"
	        " && echo progress && printf '%%s %%s\\n'"
	        " \"$(sha256sum < '%s' | cut -c1-64)\" '%s'",
	        copy, copy, uri);
	assert_int_equal(pgw_config_set(&fx->cfg, "backup.target", target, NULL,
	                                &fx->err),
	                 0);
	o.output = fx->out;
	backup_ok(fx, &o);
	assert_string_equal(fx->rep->uri, uri);
	/* the copy is the archive */
	f = fopen(fx->out, "rb");
	assert_non_null(f);
	a = malloc((size_t)fx->rep->bytes + 1);
	alen = fread(a, 1, (size_t)fx->rep->bytes + 1, f);
	fclose(f);
	f = fopen(copy, "rb");
	b = malloc((size_t)fx->rep->bytes + 1);
	blen = f ? fread(b, 1, (size_t)fx->rep->bytes + 1, f) : 0;
	if (f)
		fclose(f);
	assert_int_equal(alen, fx->rep->bytes);
	assert_int_equal(blen, alen);
	assert_memory_equal(a, b, alen);
	free(a);
	free(b);
}

static void test_backup__target_that_does_not_confirm_fails(void **state)
{
	struct fx *fx = *state;
	struct pgw_backup_opts o = PGW_BACKUP_OPTS_INIT;
	char path[4200];

	fill(fx->c);
	o.output = fx->out;
	assert_int_equal(pgw_config_set(&fx->cfg, "backup.target",
	                                "command:cat > /dev/null; echo 00 x",
	                                NULL, &fx->err),
	                 0);
	assert_int_equal(backup_fails(fx, &o), PGW_EIO);
	assert_non_null(strstr(fx->err.msg, "the backup target did not confirm "
	                                    "the archive"));
	/* the archive itself is complete and stays */
	verify_ok(fx, fx->out);

	snprintf(path, sizeof(path), "%s/b.tar.zst", fx->dir);
	o.output = path;
	assert_int_equal(pgw_config_set(&fx->cfg, "backup.target",
	                                "command:cat > /dev/null; exit 3", NULL,
	                                &fx->err),
	                 0);
	assert_int_equal(backup_fails(fx, &o), PGW_EIO);
	assert_non_null(strstr(fx->err.msg, "the backup target command failed "
	                                    "(exit 3); the archive stays at"));
	verify_ok(fx, path);

	snprintf(path, sizeof(path), "%s/c.tar.zst", fx->dir);
	o.output = path;
	assert_int_equal(pgw_config_set(&fx->cfg, "backup.target",
	                                "s3://bucket/x", NULL, &fx->err),
	                 0);
	assert_int_equal(backup_fails(fx, &o), PGW_EINVAL);
	assert_non_null(strstr(fx->err.msg, "only command:CMD is known"));
}

/* ---------------------------------------------------------------------- */
/* progress */

struct seen {
	int started, finished;
	double t_rows;
	unsigned long long t_bytes;
};

static void on_progress(const struct pgw_progress *p, void *payload)
{
	struct seen *s = payload;

	if (strcmp(p->task, "backup") != 0)
		return;
	if (!p->finished) {
		s->started++;
		return;
	}
	s->finished++;
	if (!strcmp(p->item, "public.t")) {
		s->t_rows = p->done;
		s->t_bytes = p->bytes;
	}
}

static void test_backup__reports_progress_per_table(void **state)
{
	struct fx *fx = *state;
	struct pgw_backup_opts o = PGW_BACKUP_OPTS_INIT;
	struct seen s = { 0, 0, 0, 0 };

	fill(fx->c);
	o.output = fx->out;
	pgw_progress_set_sink(on_progress, &s);
	pgw_backup(&fx->rep, &fx->cfg, &o, &fx->err);
	pgw_progress_set_sink(NULL, NULL);
	assert_int_equal(fx->err.code, 0);
	assert_int_equal(s.finished, 3);
	assert_true(s.started >= 3);
	assert_true(s.t_rows == 3);
	assert_int_equal(s.t_bytes, strlen("1\tone\n2\ttwo\n3\ttab\\there\n"));
	assert_int_equal(fx->rep->data_bytes,
	                 strlen("1\tone\n2\ttwo\n3\ttab\\there\n") +
	                         strlen("5\n"));
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_backup__writes_a_verified_archive),
		T(test_backup__holds_the_rows_and_the_schema),
		T(test_backup__uncompressed_when_level_is_zero),
		T(test_backup__records_the_history_version),
		T(test_backup__parallel_readers_share_the_rows),
		T(test_backup__locked_table_fails_naming_the_holder),
		T(test_backup__table_the_role_cannot_read_is_named),
		T(test_backup__objects_it_cannot_carry),
		T(test_backup__default_name_and_keep),
		T(test_backup__target_command_confirms_the_copy),
		T(test_backup__target_that_does_not_confirm_fails),
		T(test_backup__reports_progress_per_table),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
