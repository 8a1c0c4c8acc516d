/* seed_archive.c - write a few valid archives into a directory, as the
 * starting corpus of fuzz_archive: plain tar and zstd, with and without
 * data, names with dots and UTF-8.  Usage: seed_archive DIR */
#include <stdio.h>
#include <string.h>

#include "archive.h"

static int seed(const char *dir, const char *name, int level, int tables)
{
	static const char *const schemas[] = { "public", "s.x", NULL };
	struct pgw_manifest_table t[2] = {
		{ 1, (char *)"public", (char *)"users", (char *)"id, \"Name\"",
		  3 },
		{ 2, (char *)"s.x", (char *)"t\xc3\xa4", NULL, 1 },
	};
	struct pgw_manifest_info info = { 0 };
	struct pgw_archive_writer *w = NULL;
	struct pgw_err err = PGW_ERR_INIT;
	char path[4096], sha[65];

	info.schemas = schemas;
	info.tables = t;
	info.n_tables = (size_t)tables;
	info.database = "app";
	info.schema_version = "007";
	if (snprintf(path, sizeof(path), "%s/%s", dir, name) >=
	    (int)sizeof(path))
		return 1;
	if (pgw_archive_create(&w, path, level, &err))
		goto fail;
	if (pgw_archive_add(w, "schema/pre-data.sql", "CREATE TABLE t ();\n",
	                    19, NULL, -1, &err))
		goto fail;
	if (tables &&
	    (pgw_archive_add(w, "data/0001.public.users.copy.001",
	                     "1\tann\n2\tbob\n", 12, "text", 2, &err) ||
	     pgw_archive_add(w, "data/0002.s.x.t\xc3\xa4.copy.001", "x\n", 2,
	                     "text", 1, &err) ||
	     pgw_archive_add(w, "data/0001.public.users.copy.002", "3\tcy\n", 5,
	                     "text", 1, &err)))
		goto fail;
	if (pgw_archive_add(w, "schema/post-data.sql", "", 0, NULL, -1, &err) ||
	    pgw_archive_add(w, "restore.sql", "\\i schema/pre-data.sql\n", 23,
	                    NULL, -1, &err))
		goto fail;
	if (pgw_archive_finish(w, &info, sha, &err)) {
		w = NULL;
		goto fail;
	}
	return 0;
fail:
	pgw_archive_abort(w);
	fprintf(stderr, "seed_archive: %s\n", err.msg);
	return 1;
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: seed_archive DIR\n");
		return 2;
	}
	return seed(argv[1], "plain.tar", 0, 2) |
	       seed(argv[1], "zstd.tar.zst", 3, 2) |
	       seed(argv[1], "empty-db.tar", 0, 0) |
	       seed(argv[1], "empty-db.tar.zst", 1, 0);
}
