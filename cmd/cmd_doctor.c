/* cmd_doctor.c - pgward doctor: the health report of the live database,
 * grouped by check, or one JSON document; --fail-on makes it a gate. */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "cmd.h"
#include "doctor.h"

/* Longest object column in the human report: a longer name pushes its
 * own line's message right, not every line's. */
#define OBJECT_WIDTH 40
/* Query text in the human report. */
#define QUERY_WIDTH 100

static int parse_count(int *out, const char *flag, const char *text)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(text, &end, 10);
	if (errno || end == text || *end || v < 0 || v > INT_MAX)
		return cmd_usage_error("doctor",
		                       "%s: '%s' is not a whole number >= 0",
		                       flag, text);
	*out = (int)v;
	return 0;
}

static const char *field(const struct pgw_doctor_finding *f, const char *key)
{
	size_t i;

	for (i = 0; i < f->n_fields; i++)
		if (!strcmp(f->fields[i].key, key))
			return f->fields[i].value;
	return NULL;
}

/* ---------------------------------------------------------------------- */
/* JSON */

static json_t *str_or_null(const char *s)
{
	return s ? json_string(s) : json_null();
}

static json_t *field_json(const struct pgw_doctor_field *fl)
{
	if (!fl->value)
		return json_null();
	switch (fl->type) {
	case PGW_DOCTOR_INT:
		return json_integer((json_int_t)strtoll(fl->value, NULL, 10));
	case PGW_DOCTOR_NUM:
		return json_real(strtod(fl->value, NULL));
	case PGW_DOCTOR_BOOL:
		return json_boolean(fl->value[0] == 't');
	case PGW_DOCTOR_STR:
	default:
		return json_string(fl->value);
	}
}

static json_t *finding_json(const struct pgw_doctor_finding *f)
{
	json_t *o = json_object();
	size_t i;

	json_object_set_new(o, "check",
	                    json_string(pgw_doctor_check_name(f->check)));
	json_object_set_new(o, "level",
	                    json_string(pgw_doctor_level_name(f->level)));
	json_object_set_new(o, "object", str_or_null(f->object));
	json_object_set_new(o, "message", str_or_null(f->message));
	json_object_set_new(o, "fix", str_or_null(f->fix));
	for (i = 0; i < f->n_fields; i++)
		json_object_set_new(o, f->fields[i].key,
		                    field_json(&f->fields[i]));
	return o;
}

/* An estimate of rows; null when the server has none (never analyzed). */
static json_t *rows_json(double rows)
{
	return rows >= 0 ? json_integer((json_int_t)rows) : json_null();
}

static json_t *strings_json(char *const *v, size_t n)
{
	json_t *a = json_array();
	size_t i;

	for (i = 0; i < n; i++)
		json_array_append_new(a, json_string(v[i]));
	return a;
}

static void print_json(const struct pgw_doctor_report *r, const char *fail_on,
                       bool failed)
{
	json_t *findings = json_array(), *tables = json_array();
	json_t *indexes = json_array(), *top = json_array();
	size_t i;

	for (i = 0; i < r->n_findings; i++)
		json_array_append_new(findings, finding_json(&r->findings[i]));
	for (i = 0; i < r->n_tables; i++) {
		const struct pgw_doctor_size *s = &r->tables[i];

		json_array_append_new(
		        tables,
		        json_pack("{s:s, s:I, s:I, s:I, s:s, s:o}", "name",
		                  s->name, "total_bytes",
		                  (json_int_t)s->total_bytes, "table_bytes",
		                  (json_int_t)s->table_bytes, "index_bytes",
		                  (json_int_t)s->index_bytes, "total",
		                  s->total_pretty, "rows", rows_json(s->rows)));
	}
	for (i = 0; i < r->n_indexes; i++) {
		const struct pgw_doctor_size *s = &r->indexes[i];

		json_array_append_new(
		        indexes,
		        json_pack("{s:s, s:s, s:I, s:s, s:o}", "name", s->name,
		                  "table", s->table, "bytes",
		                  (json_int_t)s->total_bytes, "size",
		                  s->total_pretty, "rows", rows_json(s->rows)));
	}
	for (i = 0; i < r->n_statements; i++) {
		const struct pgw_doctor_stmt *s = &r->statements[i];

		json_array_append_new(
		        top, json_pack("{s:s, s:s?, s:I, s:I, s:f, s:f}",
		                       "query", s->query, "role", s->role,
		                       "calls", (json_int_t)s->calls, "rows",
		                       (json_int_t)s->rows, "total_ms",
		                       s->total_ms, "mean_ms", s->mean_ms));
	}
	cmd_print_json(json_pack(
	        "{s:s, s:o, s:s?, s:o, s:{s:I, s:I, s:I}, s:o, s:o, s:{s:b, s:s?, s:o}, s:o, s:s?, s:b}",
	        "database", r->database, "schemas",
	        strings_json(r->schemas, r->n_schemas), "stats_reset",
	        r->stats_reset, "findings", findings, "counts", "error",
	        (json_int_t)r->counts[PGW_DOCTOR_ERROR], "warning",
	        (json_int_t)r->counts[PGW_DOCTOR_WARNING], "info",
	        (json_int_t)r->counts[PGW_DOCTOR_INFO], "largest_tables",
	        tables, "largest_indexes", indexes, "statements", "available",
	        r->have_statements, "note", r->statements_note, "top", top,
	        "notes", strings_json(r->notes, r->n_notes), "fail_on", fail_on,
	        "failed", failed));
}

/* ---------------------------------------------------------------------- */
/* human */

static void print_group(const struct pgw_doctor_report *r,
                        enum pgw_doctor_check check, bool quiet)
{
	const char *title = pgw_doctor_check_title(check);
	size_t i, n = 0, width = 0;

	for (i = 0; i < r->n_findings; i++) {
		const struct pgw_doctor_finding *f = &r->findings[i];
		size_t len = strlen(f->object);

		if (f->check != check)
			continue;
		n++;
		if (len > width)
			width = len > OBJECT_WIDTH ? width : len;
	}
	if (!n) {
		if (!quiet)
			printf("%s: none\n", title);
		return;
	}
	printf("%s: %zu\n", title, n);
	for (i = 0; i < r->n_findings; i++) {
		const struct pgw_doctor_finding *f = &r->findings[i];
		const char *query = field(f, "query");

		if (f->check != check)
			continue;
		printf("  %-7s  %-*s  %s\n", pgw_doctor_level_name(f->level),
		       (int)width, f->object, f->message);
		if (query) {
			char *q = pgw_doctor_shorten(query, QUERY_WIDTH);

			printf("           query: %s\n", q ? q : "");
			free(q);
		}
		if (f->fix)
			printf("           fix: %s\n", f->fix);
	}
}

static size_t name_width(const struct pgw_doctor_size *v, size_t n)
{
	size_t i, width = 0;

	for (i = 0; i < n; i++) {
		size_t len = strlen(v[i].name);

		if (len > width && len <= OBJECT_WIDTH)
			width = len;
	}
	return width;
}

static void print_sizes(const struct pgw_doctor_report *r)
{
	size_t i, w;

	if (r->n_tables) {
		w = name_width(r->tables, r->n_tables);
		printf("largest tables (with their indexes and TOAST):\n");
		for (i = 0; i < r->n_tables; i++) {
			const struct pgw_doctor_size *s = &r->tables[i];

			printf("  %-*s  %10s  table %s, indexes %s", (int)w,
			       s->name, s->total_pretty, s->table_pretty,
			       s->index_pretty);
			if (s->rows >= 0)
				printf(", ~%.0f rows", s->rows);
			printf("\n");
		}
	} else {
		printf("largest tables: none\n");
	}
	if (r->n_indexes) {
		w = name_width(r->indexes, r->n_indexes);
		printf("largest indexes:\n");
		for (i = 0; i < r->n_indexes; i++) {
			const struct pgw_doctor_size *s = &r->indexes[i];

			printf("  %-*s  %10s  on %s\n", (int)w, s->name,
			       s->total_pretty, s->table);
		}
	} else {
		printf("largest indexes: none\n");
	}
}

static void print_statements(const struct pgw_doctor_report *r)
{
	size_t i;

	if (!r->have_statements) {
		printf("slowest statements: %s\n", r->statements_note);
		return;
	}
	if (!r->n_statements) {
		printf("slowest statements: none recorded\n");
		return;
	}
	printf("slowest statements (pg_stat_statements, by total time):\n");
	printf("  %12s  %10s  %9s  %s\n", "total ms", "mean ms", "calls",
	       "query");
	for (i = 0; i < r->n_statements; i++) {
		const struct pgw_doctor_stmt *s = &r->statements[i];
		char *q = pgw_doctor_shorten(s->query, QUERY_WIDTH);

		printf("  %12.1f  %10.2f  %9lld  %s\n", s->total_ms, s->mean_ms,
		       (long long)s->calls, q ? q : "");
		free(q);
	}
}

static void print_human(const struct pgw_doctor_report *r, bool quiet)
{
	size_t i;
	int c;

	if (!quiet) {
		printf("database:   %s\n", r->database);
		printf("schemas:    ");
		for (i = 0; i < r->n_schemas; i++)
			printf("%s%s", i ? ", " : "", r->schemas[i]);
		printf("%s\n", r->n_schemas ? "" : "none");
		printf("statistics: %s%s\n",
		       r->stats_reset ? "since " : "never reset",
		       r->stats_reset ? r->stats_reset : "");
		printf("\n");
	}
	for (c = 0; c < PGW_DOCTOR_N_CHECKS; c++)
		print_group(r, (enum pgw_doctor_check)c, quiet);
	if (!quiet) {
		printf("\n");
		print_sizes(r);
		print_statements(r);
	}
	for (i = 0; i < r->n_notes; i++)
		printf("note: %s\n", r->notes[i]);
	printf("%s%zu error%s, %zu warning%s, %zu info\n", quiet ? "" : "\n",
	       r->counts[PGW_DOCTOR_ERROR],
	       r->counts[PGW_DOCTOR_ERROR] == 1 ? "" : "s",
	       r->counts[PGW_DOCTOR_WARNING],
	       r->counts[PGW_DOCTOR_WARNING] == 1 ? "" : "s",
	       r->counts[PGW_DOCTOR_INFO]);
}

int cmd_doctor(int argc, char **argv, struct cmd_globals *g)
{
	static const struct option opts[] = {
		{ "fail-on", required_argument, NULL, 'f' },
		{ "session-age", required_argument, NULL, 's' },
		{ "top", required_argument, NULL, 't' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct pgw_doctor_opts dopts = PGW_DOCTOR_OPTS_INIT;
	struct pgw_err err = PGW_ERR_INIT;
	struct pgw_doctor_report *r = NULL;
	enum pgw_doctor_level fail_level = PGW_DOCTOR_ERROR;
	const char *fail_on = NULL;
	size_t n_failing = 0;
	int c, rc, level;

	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'f':
			if (!pgw_doctor_level_parse(&fail_level, optarg))
				return cmd_usage_error(
				        "doctor",
				        "--fail-on: '%s' is not a level (info, warning, error)",
				        optarg);
			fail_on = pgw_doctor_level_name(fail_level);
			break;
		case 's':
			rc = parse_count(&dopts.session_age_s, "--session-age",
			                 optarg);
			if (rc)
				return rc;
			break;
		case 't':
			rc = parse_count(&dopts.top, "--top", optarg);
			if (rc)
				return rc;
			break;
		case 'h':
			return cmd_help("doctor");
		default:
			return cmd_usage_error("doctor", "unknown option");
		}
	}
	if (optind < argc)
		return cmd_usage_error("doctor", "unexpected argument '%s'",
		                       argv[optind]);
	if (pgw_doctor(&r, &g->cfg, &dopts, &err))
		return cmd_report(&err);
	for (level = (int)fail_level; fail_on && level <= PGW_DOCTOR_ERROR;
	     level++)
		n_failing += r->counts[level];
	if (g->json)
		print_json(r, fail_on, n_failing > 0);
	else
		print_human(r, g->verbosity < 0);
	if (n_failing && !g->json)
		fprintf(stderr,
		        "pgward: doctor: %zu finding%s at level '%s' or above (--fail-on %s)\n",
		        n_failing, n_failing == 1 ? "" : "s", fail_on, fail_on);
	pgw_doctor_report_free(r);
	return n_failing ? EXIT_CHECK : EXIT_OK;
}
