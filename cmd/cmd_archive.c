/* cmd_archive.c - pgward archive verify|list FILE: a backup archive's
 * integrity and contents, with no database (nothing connects anywhere,
 * nothing is written). */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "archive.h"
#include "cmd.h"

/* Per table, from its data parts. */
struct table_sum {
	unsigned long long bytes;
	unsigned parts;
};

static json_t *str_or_null(const char *s)
{
	return s ? json_string(s) : json_null();
}

/* s as it can go to a terminal: control characters as \xNN (SQL names
 * may hold them).  Caller owns the result (free()); NULL on OOM. */
static char *safe(const char *s)
{
	struct pgw_buf b = PGW_BUF_INIT;
	const unsigned char *p;

	for (p = (const unsigned char *)(s ? s : ""); *p; p++) {
		if (*p < 0x20 || *p == 0x7f || *p == '\\')
			pgw_buf_printf(&b, "\\x%02x", *p);
		else
			pgw_buf_putc(&b, (char)*p);
	}
	return pgw_buf_detach(&b);
}

static void put_safe(const char *s)
{
	char *t = safe(s);

	fputs(t ? t : "?", stdout);
	free(t);
}

static void fmt_size(char out[32], unsigned long long n)
{
	if (n < 1000)
		snprintf(out, 32, "%llu B", n);
	else if (n < 1000ull * 1000)
		snprintf(out, 32, "%.1f kB", (double)n / 1e3);
	else if (n < 1000ull * 1000 * 1000)
		snprintf(out, 32, "%.1f MB", (double)n / 1e6);
	else
		snprintf(out, 32, "%.2f GB", (double)n / 1e9);
}

/* Seconds since created_at ("2026-11-25T10:00:00Z", UTC); false when it
 * does not read as such a time. */
static bool age_of(long long *out, const char *created_at)
{
	struct tm tm;
	time_t t;

	if (!created_at)
		return false;
	memset(&tm, 0, sizeof(tm));
	if (sscanf(created_at, "%4d-%2d-%2dT%2d:%2d:%2d", &tm.tm_year,
	           &tm.tm_mon, &tm.tm_mday, &tm.tm_hour, &tm.tm_min,
	           &tm.tm_sec) != 6)
		return false;
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	t = timegm(&tm);
	if (t == (time_t)-1)
		return false;
	*out = (long long)(time(NULL) - t);
	return true;
}

static void fmt_age(char out[48], const char *created_at)
{
	long long s;

	if (!age_of(&s, created_at))
		snprintf(out, 48, "age unknown");
	else if (s < -60)
		snprintf(out, 48, "in the future: check the clocks");
	else if (s < 90)
		snprintf(out, 48, "%lld s ago", s < 0 ? 0 : s);
	else if (s < 90 * 60)
		snprintf(out, 48, "%lld min ago", s / 60);
	else if (s < 36 * 3600)
		snprintf(out, 48, "%lld h ago", s / 3600);
	else
		snprintf(out, 48, "%lld days ago", s / 86400);
}

/* 150004 -> "15.4", 90624 -> "9.6.24" */
static void fmt_server(char out[32], int v)
{
	if (v <= 0)
		snprintf(out, 32, "unknown");
	else if (v >= 100000)
		snprintf(out, 32, "%d.%d", v / 10000, v % 10000);
	else
		snprintf(out, 32, "%d.%d.%d", v / 10000, v / 100 % 100,
		         v % 100);
}

/* Bytes and parts of every table, in the order of m->tables. */
static struct table_sum *sum_tables(const struct pgw_manifest *m)
{
	struct table_sum *s = calloc(m->n_tables + 1, sizeof(*s));
	unsigned seq;
	size_t i, k;

	if (!s)
		return NULL;
	for (i = 0; i < m->n_entries; i++) {
		if (!pgw_archive_data_part(m->entries[i].name, &seq, NULL, NULL,
		                           NULL))
			continue;
		for (k = 0; k < m->n_tables && m->tables[k].seq != seq; k++)
			;
		if (k < m->n_tables) {
			s[k].bytes += m->entries[i].bytes;
			s[k].parts++;
		}
	}
	return s;
}

static json_t *manifest_json(const char *file, const struct pgw_manifest *m,
                             const struct table_sum *sums)
{
	json_t *o = json_object(), *a, *x;
	long long age;
	size_t i;
	char **p;

	json_object_set_new(o, "file", json_string(file));
	json_object_set_new(o, "bytes",
	                    json_integer((json_int_t)m->archive_bytes));
	json_object_set_new(o, "sha256", json_string(m->archive_sha256));
	json_object_set_new(o, "format", json_integer(m->format));
	json_object_set_new(o, "created_at", str_or_null(m->created_at));
	json_object_set_new(o, "age_seconds",
	                    age_of(&age, m->created_at) ? json_integer(age)
	                                                : json_null());
	json_object_set_new(o, "server_version_num",
	                    json_integer(m->server_version_num));
	json_object_set_new(o, "database", str_or_null(m->database));
	json_object_set_new(o, "encoding", str_or_null(m->encoding));
	json_object_set_new(o, "collation", str_or_null(m->collation));
	json_object_set_new(o, "ctype", str_or_null(m->ctype));
	json_object_set_new(o, "schema_version",
	                    str_or_null(m->schema_version));
	json_object_set_new(o, "git_commit", str_or_null(m->git_commit));
	json_object_set_new(o, "git_tag", str_or_null(m->git_tag));
	json_object_set_new(o, "wal_lsn", str_or_null(m->wal_lsn));
	a = json_array();
	/* "name version [schema]", as the manifest reader gives them */
	for (p = m->extensions; p && *p; p++) {
		const char *sp = strchr(*p, ' ');
		const char *sp2 = sp ? strchr(sp + 1, ' ') : NULL;

		x = json_object();
		json_object_set_new(x, "name",
		                    sp ? json_stringn(*p, (size_t)(sp - *p))
		                       : json_string(*p));
		json_object_set_new(x, "version",
		                    !sp   ? json_null()
		                    : sp2 ? json_stringn(sp + 1, (size_t)(sp2 - sp - 1))
		                          : json_string(sp + 1));
		json_object_set_new(x, "schema", str_or_null(sp2 ? sp2 + 1 : NULL));
		json_array_append_new(a, x);
	}
	json_object_set_new(o, "extensions", a);
	x = json_object();
	for (p = m->settings; p && *p; p++) {
		char *eq = strchr(*p, '=');
		char *name = eq ? strndup(*p, (size_t)(eq - *p)) : NULL;

		if (name)
			json_object_set_new(x, name, json_string(eq + 1));
		free(name);
	}
	json_object_set_new(o, "settings", x);
	a = json_array();
	for (p = m->omitted; p && *p; p++)
		json_array_append_new(a, json_string(*p));
	json_object_set_new(o, "omitted", a);
	a = json_array();
	for (p = m->schemas; p && *p; p++)
		json_array_append_new(a, json_string(*p));
	json_object_set_new(o, "schemas", a);
	a = json_array();
	for (i = 0; i < m->n_tables; i++) {
		const struct pgw_manifest_table *t = &m->tables[i];

		x = json_object();
		json_object_set_new(x, "seq", json_integer(t->seq));
		json_object_set_new(x, "schema", json_string(t->schema));
		json_object_set_new(x, "name", json_string(t->name));
		json_object_set_new(x, "rows", json_integer(t->rows));
		json_object_set_new(
		        x, "bytes",
		        json_integer(sums ? (json_int_t)sums[i].bytes : 0));
		json_object_set_new(
		        x, "parts",
		        json_integer(sums ? (json_int_t)sums[i].parts : 0));
		json_array_append_new(a, x);
	}
	json_object_set_new(o, "tables", a);
	a = json_array();
	for (i = 0; i < m->n_entries; i++) {
		const struct pgw_archive_entry *e = &m->entries[i];

		x = json_object();
		json_object_set_new(x, "path", json_string(e->name));
		json_object_set_new(x, "bytes",
		                    json_integer((json_int_t)e->bytes));
		json_object_set_new(x, "rows",
		                    e->rows >= 0 ? json_integer(e->rows)
		                                 : json_null());
		json_object_set_new(x, "sha256", json_string(e->sha256));
		json_array_append_new(a, x);
	}
	json_object_set_new(o, "entries", a);
	return o;
}

static void print_list(const char *file, const struct pgw_manifest *m,
                       const struct table_sum *sums)
{
	unsigned long long data = 0, rows = 0;
	char size[32], age[48], server[32];
	size_t i, width = 5;
	char **p;

	fmt_size(size, m->archive_bytes);
	fmt_age(age, m->created_at);
	fmt_server(server, m->server_version_num);
	printf("archive     %s (%s, format %d, verified)\n", file, size,
	       m->format);
	printf("sha256      %s\n", m->archive_sha256);
	printf("created     %s (%s)\n", m->created_at, age);
	printf("database    %s on PostgreSQL %s, encoding %s, collation %s, ctype %s\n",
	       m->database ? m->database : "?", server,
	       m->encoding ? m->encoding : "?",
	       m->collation ? m->collation : "?", m->ctype ? m->ctype : "?");
	printf("schema      version %s",
	       m->schema_version ? m->schema_version : "none");
	if (m->git_commit || m->git_tag)
		printf(", git %.12s%s%s%s", m->git_commit ? m->git_commit : "?",
		       m->git_tag ? " (" : "", m->git_tag ? m->git_tag : "",
		       m->git_tag ? ")" : "");
	printf("\n");
	if (m->wal_lsn)
		printf("wal         %s\n", m->wal_lsn);
	printf("schemas    ");
	for (p = m->schemas; p && *p; p++) {
		printf(" ");
		put_safe(*p);
		if (p[1])
			printf(",");
	}
	printf("%s\n", m->schemas && *m->schemas ? "" : " none");
	printf("extensions ");
	for (p = m->extensions; p && *p; p++)
		printf(" %s%s", *p, p[1] ? "," : "");
	printf("%s\n", m->extensions && *m->extensions ? "" : " none");
	if (m->omitted && *m->omitted) {
		printf("omitted    ");
		for (p = m->omitted; *p; p++) {
			printf(" ");
			put_safe(*p);
			if (p[1])
				printf(",");
		}
		printf("\n");
	}
	for (i = 0; i < m->n_tables; i++) {
		char *s = safe(m->tables[i].schema),
		     *n = safe(m->tables[i].name);
		size_t w = (s ? strlen(s) : 1) + (n ? strlen(n) : 1) + 1;

		if (w > width)
			width = w;
		free(s);
		free(n);
	}
	if (width > 60)
		width = 60;
	printf("\n%-*s %12s %10s %5s\n", (int)width, "TABLE", "ROWS", "BYTES",
	       "PARTS");
	for (i = 0; i < m->n_tables; i++) {
		char *s = safe(m->tables[i].schema),
		     *n = safe(m->tables[i].name);
		char name[512];

		snprintf(name, sizeof(name), "%s.%s", s ? s : "?", n ? n : "?");
		fmt_size(size, sums ? sums[i].bytes : 0);
		printf("%-*s %12lld %10s %5u\n", (int)width, name,
		       m->tables[i].rows, size, sums ? sums[i].parts : 0);
		data += sums ? sums[i].bytes : 0;
		rows += (unsigned long long)m->tables[i].rows;
		free(s);
		free(n);
	}
	fmt_size(size, data);
	printf("%zu table%s, %llu row%s, %s of data\n", m->n_tables,
	       m->n_tables == 1 ? "" : "s", rows, rows == 1 ? "" : "s", size);
	printf("\n");
	for (i = 0; i < m->n_entries; i++) {
		if (pgw_archive_data_part(m->entries[i].name, NULL, NULL, NULL,
		                          NULL))
			continue;
		fmt_size(size, m->entries[i].bytes);
		printf("%-22s %s\n", m->entries[i].name, size);
	}
}

static int verify_cmd(const char *file, const char *want_sha, bool json)
{
	struct pgw_err err = PGW_ERR_INIT;
	struct pgw_manifest *m = NULL;
	char size[32], age[48];

	if (!pgw_archive_verify(&m, file, &err) && want_sha &&
	    strcmp(want_sha, m->archive_sha256) != 0) {
		pgw_err_set(&err, PGW_EINVAL,
		            "archive '%s': its SHA-256 is %s, expected %s",
		            file, m->archive_sha256, want_sha);
		pgw_err_hint(
		        &err,
		        "the file was changed or damaged after it was written; use another copy");
	}
	if (err.code) {
		if (json) {
			json_t *o = json_object();

			json_object_set_new(o, "ok", json_false());
			json_object_set_new(o, "file", json_string(file));
			json_object_set_new(o, "error", json_string(err.msg));
			cmd_print_json(o);
		}
		pgw_manifest_free(m);
		return cmd_report(&err);
	}
	if (json) {
		json_t *o = json_object();
		long long a;

		json_object_set_new(o, "ok", json_true());
		json_object_set_new(o, "file", json_string(file));
		json_object_set_new(o, "entries",
		                    json_integer((json_int_t)m->n_entries + 1));
		json_object_set_new(o, "bytes",
		                    json_integer((json_int_t)m->archive_bytes));
		json_object_set_new(o, "sha256",
		                    json_string(m->archive_sha256));
		json_object_set_new(o, "format", json_integer(m->format));
		json_object_set_new(o, "created_at",
		                    str_or_null(m->created_at));
		json_object_set_new(o, "age_seconds",
		                    age_of(&a, m->created_at) ? json_integer(a)
		                                              : json_null());
		json_object_set_new(o, "schema_version",
		                    str_or_null(m->schema_version));
		cmd_print_json(o);
	} else {
		fmt_size(size, m->archive_bytes);
		fmt_age(age, m->created_at);
		printf("ok: %s: %zu entries, %s, format %d, created %s (%s), schema version %s\n",
		       file, m->n_entries + 1, size, m->format, m->created_at,
		       age, m->schema_version ? m->schema_version : "none");
		printf("sha256: %s\n", m->archive_sha256);
	}
	pgw_manifest_free(m);
	return EXIT_OK;
}

static int list_cmd(const char *file, bool json)
{
	struct pgw_err err = PGW_ERR_INIT;
	struct pgw_manifest *m = NULL;
	struct table_sum *sums;

	if (pgw_archive_verify(&m, file, &err))
		return cmd_report(&err);
	sums = sum_tables(m);
	if (json)
		cmd_print_json(manifest_json(file, m, sums));
	else
		print_list(file, m, sums);
	free(sums);
	pgw_manifest_free(m);
	return EXIT_OK;
}

static bool is_hex64(const char *s)
{
	size_t i;

	for (i = 0; i < 64; i++)
		if (!((s[i] >= '0' && s[i] <= '9') ||
		      (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	return s[64] == '\0';
}

int cmd_archive(int argc, char **argv, struct cmd_globals *g)
{
	static const struct option opts[] = {
		{ "sha256", required_argument, NULL, 's' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *want_sha = NULL, *action, *file;
	int c;

	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 's':
			want_sha = optarg;
			break;
		case 'h':
			return cmd_help("archive");
		default:
			return cmd_usage_error("archive", "unknown option");
		}
	}
	if (optind >= argc)
		return cmd_usage_error(
		        "archive",
		        "give an action: 'verify FILE' or 'list FILE'");
	action = argv[optind];
	if (strcmp(action, "verify") != 0 && strcmp(action, "list") != 0)
		return cmd_usage_error(
		        "archive",
		        "unknown action '%s': use 'verify' or 'list'", action);
	if (optind + 1 >= argc)
		return cmd_usage_error("archive", "give the archive FILE");
	if (optind + 2 < argc)
		return cmd_usage_error("archive", "unexpected argument '%s'",
		                       argv[optind + 2]);
	file = argv[optind + 1];
	if (want_sha && strcmp(action, "verify") != 0)
		return cmd_usage_error("archive",
		                       "--sha256 goes with 'verify'");
	if (want_sha && !is_hex64(want_sha))
		return cmd_usage_error(
		        "archive", "--sha256: give 64 lower-case hex digits");
	if (!strcmp(action, "verify"))
		return verify_cmd(file, want_sha, g->json);
	return list_cmd(file, g->json);
}
