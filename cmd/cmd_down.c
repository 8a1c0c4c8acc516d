/* cmd_down.c - pgward down: revert applied migrations. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>

#include "cmd.h"

int cmd_down(int argc, char **argv, struct cmd_globals *g)
{
	static const struct option opts[] = {
		{ "to", required_argument, NULL, 't' },
		{ "release", required_argument, NULL, 'r' },
		{ "steps", required_argument, NULL, 's' },
		{ "dry-run", no_argument, NULL, 'n' },
		{ "use-file-down", no_argument, NULL, 'f' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct pgw_run_opts ro = PGW_RUN_OPTS_INIT;
	struct pgw_err err = PGW_ERR_INIT;
	struct pgw_run *run = NULL;
	char *end;
	long steps;
	int c, rc, error;

	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 't':
			rc = cmd_parse_version(&ro.target, "down", "--to", optarg);
			if (rc)
				return rc;
			ro.flags |= PGW_RUN_HAS_TARGET;
			break;
		case 's':
			errno = 0;
			steps = strtol(optarg, &end, 10);
			if (errno || *end || end == optarg || steps < 1 || steps > 1000000)
				return cmd_usage_error("down", "--steps takes a whole number >= 1, not '%s'", optarg);
			ro.steps = (int)steps;
			ro.flags |= PGW_RUN_HAS_STEPS;
			break;
		case 'n':
			ro.flags |= PGW_RUN_DRY;
			break;
		case 'f':
			ro.flags |= PGW_RUN_USE_FILE_DOWN;
			break;
		case 'r':
			ro.release = optarg;
			break;
		case 'h':
			return cmd_help("down");
		default:
			return cmd_usage_error("down", "unknown option");
		}
	}
	if (ro.release && (ro.flags & (PGW_RUN_HAS_TARGET | PGW_RUN_HAS_STEPS)))
		return cmd_usage_error("down", "--release names the target: not with --to or --steps");
	if (optind < argc)
		return cmd_usage_error("down", "unexpected argument '%s'", argv[optind]);
	if ((ro.flags & PGW_RUN_HAS_TARGET) && (ro.flags & PGW_RUN_HAS_STEPS))
		return cmd_usage_error("down", "--to and --steps do not go together");
	error = pgw_down(&run, &g->cfg, &ro, &err);
	cmd_print_run(run, ro.flags & PGW_RUN_DRY, g->json, error);
	rc = error ? cmd_report(&err) : EXIT_OK;
	pgw_run_free(run);
	return rc;
}
