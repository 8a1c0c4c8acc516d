/* cmd_restore.c - pgward restore: put an archive back, atomically. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "cmd.h"

/* On a terminal, a restore replaces schemas: ask first. */
static bool confirmed(const char *path, const char *into)
{
	char line[16];

	fprintf(stderr, "restore '%s' into %s%s%s? Objects of the archive's schemas there are replaced. [y/N] ",
		path, into ? "database '" : "the configured database",
		into ? into : "", into ? "'" : "");
	if (!fgets(line, sizeof(line), stdin))
		return false;
	return line[0] == 'y' || line[0] == 'Y';
}

int cmd_restore(int argc, char **argv, struct cmd_globals *g)
{
	static const struct option opts[] = {
		{ "yes", no_argument, NULL, 'y' },
		{ "into", required_argument, NULL, 'i' },
		{ "no-owner", no_argument, NULL, 'O' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct pgw_restore_opts ro = { NULL, NULL, false };
	struct pgw_restore_report *rep = NULL;
	struct pgw_err err = PGW_ERR_INIT;
	bool yes = false;
	int c;

	while ((c = getopt_long(argc, argv, "yh", opts, NULL)) != -1) {
		switch (c) {
		case 'y':
			yes = true;
			break;
		case 'i':
			ro.into = optarg;
			break;
		case 'O':
			ro.no_owner = true;
			break;
		case 'h':
			return cmd_help("restore");
		default:
			return cmd_usage_error("restore", "unknown option");
		}
	}
	if (optind + 1 != argc)
		return cmd_usage_error("restore", "give one archive FILE");
	ro.path = argv[optind];
	if (!yes && isatty(STDIN_FILENO) && isatty(STDERR_FILENO) &&
	    !confirmed(ro.path, ro.into)) {
		fprintf(stderr, "pgward: nothing restored\n");
		return EXIT_INVALID;
	}
	if (pgw_restore(&rep, &g->cfg, &ro, &err))
		return cmd_report(&err);
	if (g->json) {
		json_t *o = json_object();

		json_object_set_new(o, "database", json_string(rep->database));
		json_object_set_new(o, "tables", json_integer((json_int_t)rep->n_tables));
		json_object_set_new(o, "rows", json_integer(rep->rows));
		json_object_set_new(o, "seconds", json_real(rep->seconds));
		cmd_print_json(o);
	} else {
		printf("restored %s into '%s': %zu tables, %lld rows, %.1f s\n",
		       ro.path, rep->database, rep->n_tables, rep->rows,
		       rep->seconds);
	}
	pgw_restore_report_free(rep);
	return EXIT_OK;
}
