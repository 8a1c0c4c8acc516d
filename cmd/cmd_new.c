/* cmd_new.c - pgward new: the next migration file from a template. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>

#include "cmd.h"

int cmd_new(int argc, char **argv, struct cmd_globals *g)
{
	static const struct option opts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct pgw_err err = PGW_ERR_INIT;
	char *path = NULL;
	int c;

	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		if (c == 'h')
			return cmd_help("new");
		return cmd_usage_error("new", "unknown option");
	}
	if (optind + 1 != argc)
		return cmd_usage_error("new", "give one NAME, e.g. 'pgward new add_user_email'");
	if (pgw_new_migration(&path, &g->cfg, argv[optind], &err))
		return cmd_report(&err);
	if (g->json)
		printf("{\"file\": \"%s\"}\n", path);
	else
		printf("%s\n", path);
	free(path);
	return EXIT_OK;
}
