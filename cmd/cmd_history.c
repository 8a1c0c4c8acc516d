/* cmd_history.c - pgward history: what was applied, when, by whom. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "cmd.h"

static json_t *str_or_null(const char *s)
{
	return s ? json_string(s) : json_null();
}

static const char *vtext(const struct pgw_applied *a, char buf[32])
{
	pgw_applied_vtext(buf, a);
	return buf;
}

static void print_section(const char *title, const char *sql)
{
	char *safe;

	if (!sql)
		return;
	safe = pgw_redact_sql(sql);
	printf("-- %s\n%s", title, safe ? safe : "");
	if (safe && *safe && safe[strlen(safe) - 1] != '\n')
		putchar('\n');
	free(safe);
}

static int show(const struct pgw_history *h, const char *which)
{
	int64_t version;
	size_t i;
	int rc = cmd_parse_version(&version, "history", "--show", which);

	if (rc)
		return rc;
	for (i = 0; i < h->n; i++) {
		const struct pgw_applied *a = &h->v[i];

		if (a->version != version)
			continue;
		printf("-- %s, applied %s by %s\n", a->file, a->applied_at,
		       a->applied_by);
		print_section("migrate:up", a->up_sql);
		print_section("migrate:down", a->down_sql);
		print_section("migrate:verify", a->verify_sql);
		return EXIT_OK;
	}
	fprintf(stderr, "pgward: error: migration %s is not applied\n", which);
	return EXIT_INVALID;
}

int cmd_history(int argc, char **argv, struct cmd_globals *g)
{
	static const struct option opts[] = {
		{ "show", required_argument, NULL, 's' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct pgw_err err = PGW_ERR_INIT;
	struct pgw_history *h = NULL;
	const char *which = NULL;
	char v[32];
	size_t i;
	int c, rc = EXIT_OK;

	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 's':
			which = optarg;
			break;
		case 'h':
			return cmd_help("history");
		default:
			return cmd_usage_error("history", "unknown option");
		}
	}
	if (optind < argc)
		return cmd_usage_error("history", "unexpected argument '%s'", argv[optind]);
	if (pgw_history_read(&h, &g->cfg, &err))
		return cmd_report(&err);
	if (which) {
		rc = show(h, which);
	} else if (g->json) {
		json_t *a = json_array();

		for (i = 0; i < h->n; i++) {
			const struct pgw_applied *r = &h->v[i];
			json_t *o = json_object();

			json_object_set_new(o, "version", json_string(vtext(r, v)));
			json_object_set_new(o, "name", str_or_null(r->name));
			json_object_set_new(o, "file", str_or_null(r->file));
			json_object_set_new(o, "checksum", str_or_null(r->checksum));
			json_object_set_new(o, "applied_at", str_or_null(r->applied_at));
			json_object_set_new(o, "applied_by", str_or_null(r->applied_by));
			json_object_set_new(o, "duration_ms", json_integer(r->duration_ms));
			json_object_set_new(o, "destructive", json_boolean(r->destructive));
			json_object_set_new(o, "git_commit", str_or_null(r->git_commit));
			json_object_set_new(o, "git_tag", str_or_null(r->git_tag));
			json_object_set_new(o, "deploy_id", str_or_null(r->deploy_id));
			json_array_append_new(a, o);
		}
		cmd_print_json(a);
	} else if (!h->n) {
		printf("no migration applied\n");
	} else {
		printf("%-16s %-32s %-20s %-12s %8s  %s\n", "VERSION", "NAME",
		       "APPLIED AT (UTC)", "BY", "MS", "COMMIT");
		for (i = 0; i < h->n; i++) {
			const struct pgw_applied *r = &h->v[i];

			printf("%-16s %-32s %-20s %-12s %8lld  %.12s%s%s%s\n",
			       vtext(r, v), r->name ? r->name : "",
			       r->applied_at ? r->applied_at : "",
			       r->applied_by ? r->applied_by : "", r->duration_ms,
			       r->git_commit ? r->git_commit : "-",
			       r->git_tag ? " (" : "", r->git_tag ? r->git_tag : "",
			       r->git_tag ? ")" : "");
		}
	}
	pgw_history_free(h);
	return rc;
}
