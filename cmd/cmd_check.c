/* cmd_check.c - pgward check [--ephemeral] [--write]: the pull-request
 * check of the migrations dir and schema.sql. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "cmd.h"

int cmd_check(int argc, char **argv, struct cmd_globals *g)
{
	static const struct option opts[] = {
		{ "ephemeral", no_argument, NULL, 'e' },
		{ "write", no_argument, NULL, 'w' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct pgw_check_opts co = { false, false };
	struct pgw_err err = PGW_ERR_INIT;
	struct pgw_check_report *r = NULL;
	bool stale;
	int c, rc;

	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'e':
			co.ephemeral = true;
			break;
		case 'w':
			co.write = true;
			break;
		case 'h':
			return cmd_help("check");
		default:
			return cmd_usage_error("check", "unknown option");
		}
	}
	if (optind < argc)
		return cmd_usage_error("check", "unexpected argument '%s'",
				       argv[optind]);
	co.ephemeral = co.ephemeral || g->ephemeral;
	if (pgw_check(&r, &g->cfg, &co, &err))
		return cmd_report(&err);
	stale = r->schema_diff && !r->schema_written;
	rc = r->problems || stale ? EXIT_CHECK : EXIT_OK;
	if (g->json) {
		cmd_print_json(json_pack(
			"{s:I, s:s?, s:s?, s:s, s:s?, s:b, s:b}", "migrations",
			(json_int_t)r->n_migrations, "problems", r->problems,
			"warnings", r->warnings, "schema_file", r->schema_file,
			"schema_diff", r->schema_diff, "schema_written",
			r->schema_written, "ok", rc == EXIT_OK));
		pgw_check_report_free(r);
		return rc;
	}
	if (r->warnings)
		fprintf(stderr, "warnings:\n%s", r->warnings);
	if (r->problems)
		printf("problems:\n%s", r->problems);
	if (r->schema_written)
		printf("rewrote %s from the migrations\n", r->schema_file);
	else if (stale)
		printf("%s is stale: the migrations give another schema (schema.sql -> migrations):\n%s"
		       "hint: 'pgward check --ephemeral --write' rewrites it\n",
		       r->schema_file, r->schema_diff);
	if (rc == EXIT_OK && g->verbosity >= 0)
		printf("check passed: %zu migrations apply, revert and re-apply cleanly; %s is current\n",
		       r->n_migrations, r->schema_file);
	pgw_check_report_free(r);
	return rc;
}
