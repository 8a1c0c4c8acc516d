/* cmd_baseline.c - pgward baseline: adopt a database built by hand. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>

#include "cmd.h"

int cmd_baseline(int argc, char **argv, struct cmd_globals *g)
{
	static const struct option opts[] = {
		{ "to", required_argument, NULL, 't' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct pgw_err err = PGW_ERR_INIT;
	struct pgw_history *h = NULL;
	int64_t version = 0;
	bool have = false;
	int c, rc;

	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 't':
			rc = cmd_parse_version(&version, "baseline", "--to", optarg);
			if (rc)
				return rc;
			have = true;
			break;
		case 'h':
			return cmd_help("baseline");
		default:
			return cmd_usage_error("baseline", "unknown option");
		}
	}
	if (!have)
		return cmd_usage_error("baseline", "--to V is required");
	if (optind < argc)
		return cmd_usage_error("baseline", "unexpected argument '%s'", argv[optind]);
	if (pgw_baseline(&h, &g->cfg, version, &err))
		return cmd_report(&err);
	if (!g->json)
		printf("baseline: recorded %zu migration%s as applied (not run); database at version %s\n",
		       h->n, h->n == 1 ? "" : "s", h->n ? h->v[h->n - 1].file : "none");
	else
		printf("{\"recorded\": %zu}\n", h->n);
	pgw_history_free(h);
	return EXIT_OK;
}
