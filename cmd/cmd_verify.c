/* cmd_verify.c - pgward verify: the last deploy's verify sections, then
 * the live schema against schema.sql, difference by difference. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "cmd.h"

static json_t *change_json(const struct pgw_schema_change *c)
{
	json_t *o = json_pack("{s:s, s:s, s:s}", "kind", c->kind, "name",
			      c->name, "what", c->what);

	if (c->expected)
		json_object_set_new(o, "expected", json_string(c->expected));
	if (c->live)
		json_object_set_new(o, "live", json_string(c->live));
	return o;
}

int cmd_verify(int argc, char **argv, struct cmd_globals *g)
{
	static const struct option opts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct pgw_err err = PGW_ERR_INIT;
	struct pgw_verify_report *r = NULL;
	int c, rc;
	size_t i;

	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'h':
			return cmd_help("verify");
		default:
			return cmd_usage_error("verify", "unknown option");
		}
	}
	if (optind < argc)
		return cmd_usage_error("verify", "unexpected argument '%s'",
				       argv[optind]);
	if (pgw_verify(&r, &g->cfg, &err))
		return cmd_report(&err);
	rc = r->n_changes || r->failed ? EXIT_CHECK : EXIT_OK;
	if (g->json) {
		json_t *a = json_array();

		for (i = 0; i < r->n_changes; i++)
			json_array_append_new(a, change_json(&r->changes[i]));
		cmd_print_json(json_pack("{s:s, s:I, s:s?, s:b, s:o}",
					 "schema_file", r->schema_file,
					 "verify_sections",
					 (json_int_t)r->n_verified,
					 "verify_failed", r->failed, "equal",
					 r->n_changes == 0, "differences", a));
		pgw_verify_report_free(r);
		return rc;
	}
	if (r->failed)
		printf("verify sections that failed:\n%s", r->failed);
	if (r->n_changes) {
		printf("the live schema differs from %s (schema.sql -> live):\n%s",
		       r->schema_file, r->text);
	} else if (g->verbosity >= 0) {
		printf("the live schema matches %s (%zu verify section%s run)\n",
		       r->schema_file, r->n_verified,
		       r->n_verified == 1 ? "" : "s");
	}
	pgw_verify_report_free(r);
	return rc;
}
