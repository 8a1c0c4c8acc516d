/* cmd_recover.c - pgward recover: finish or undo a deploy that died. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "cmd.h"

int cmd_recover(int argc, char **argv, struct cmd_globals *g)
{
	static const struct option opts[] = {
		{ "way-back", no_argument, NULL, 'b' },
		{ "writes-stopped", no_argument, NULL, 'W' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct pgw_recover_opts o;
	struct pgw_recover_report *r = NULL;
	struct pgw_err err = PGW_ERR_INIT;
	int c, rc;

	memset(&o, 0, sizeof(o));
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'b':
			o.way_back = true;
			break;
		case 'W':
			o.writes_stopped = true;
			break;
		case 'h':
			return cmd_help("recover");
		default:
			return cmd_usage_error("recover", "unknown option");
		}
	}
	if (optind < argc)
		return cmd_usage_error("recover", "unexpected argument '%s'",
				       argv[optind]);
	rc = pgw_recover(&r, &g->cfg, &o, &err) ? cmd_report(&err) : EXIT_OK;
	if (r && g->json) {
		cmd_print_json(json_pack("{s:s?, s:s, s:s?, s:s?, s:s?, s:s?, s:s?, s:s?}",
					 "deploy", r->id[0] ? r->id : NULL,
					 "outcome", rc ? "needs a human" : r->outcome,
					 "stage", r->stage, "from", r->from,
					 "to", r->to, "at", r->at,
					 "detail", r->detail,
					 "error", rc ? err.msg : NULL));
	} else if (r && !rc && g->verbosity >= 0) {
		if (!r->id[0])
			printf("nothing to recover: no deploy is unfinished\n");
		else
			printf("deploy %s (%s -> %s, stopped in %s): %s; the database is at %s (%s)\n",
			       r->id, r->from, r->to, r->stage, r->outcome,
			       r->at ? r->at : "?", r->detail ? r->detail : "");
	}
	pgw_recover_report_free(r);
	return rc;
}
