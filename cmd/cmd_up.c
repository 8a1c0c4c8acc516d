/* cmd_up.c - pgward up: apply pending migrations. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>

#include "cmd.h"

int cmd_up(int argc, char **argv, struct cmd_globals *g)
{
	static const struct option opts[] = {
		{ "to", required_argument, NULL, 't' },
		{ "release", required_argument, NULL, 'r' },
		{ "dry-run", no_argument, NULL, 'n' },
		{ "allow-unknown", no_argument, NULL, 'u' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct pgw_run_opts ro = PGW_RUN_OPTS_INIT;
	struct pgw_err err = PGW_ERR_INIT;
	struct pgw_run *run = NULL;
	int c, rc, error;

	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 't':
			rc = cmd_parse_version(&ro.target, "up", "--to", optarg);
			if (rc)
				return rc;
			ro.flags |= PGW_RUN_HAS_TARGET;
			break;
		case 'n':
			ro.flags |= PGW_RUN_DRY;
			break;
		case 'u':
			ro.flags |= PGW_RUN_ALLOW_UNKNOWN;
			break;
		case 'r':
			ro.release = optarg;
			break;
		case 'h':
			return cmd_help("up");
		default:
			return cmd_usage_error("up", "unknown option");
		}
	}
	if (ro.release && (ro.flags & (PGW_RUN_HAS_TARGET | PGW_RUN_HAS_STEPS)))
		return cmd_usage_error("up", "--release names the target: not with --to or --steps");
	if (optind < argc)
		return cmd_usage_error("up", "unexpected argument '%s'", argv[optind]);
	error = pgw_up(&run, &g->cfg, &ro, &err);
	cmd_print_run(run, ro.flags & PGW_RUN_DRY, g->json, error);
	rc = error ? cmd_report(&err) : EXIT_OK;
	pgw_run_free(run);
	return rc;
}
