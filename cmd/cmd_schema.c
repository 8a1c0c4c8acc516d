/* cmd_schema.c - pgward schema dump [-o FILE]: the canonical text of the
 * live schema, on stdout or into FILE (written whole or not at all:
 * pgw_file_write). */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "cmd.h"
#include "file.h"

int cmd_schema(int argc, char **argv, struct cmd_globals *g)
{
	static const struct option opts[] = {
		{ "output", required_argument, NULL, 'o' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct pgw_err err = PGW_ERR_INIT;
	const char *output = NULL;
	char *text = NULL;
	int c, rc = EXIT_OK;

	while ((c = getopt_long(argc, argv, "o:h", opts, NULL)) != -1) {
		switch (c) {
		case 'o':
			output = optarg;
			break;
		case 'h':
			return cmd_help("schema");
		default:
			return cmd_usage_error("schema", "unknown option");
		}
	}
	if (optind >= argc || strcmp(argv[optind], "dump") != 0)
		return cmd_usage_error("schema", "expected 'schema dump [-o FILE]'");
	if (optind + 1 < argc)
		return cmd_usage_error("schema", "unexpected argument '%s'",
				       argv[optind + 1]);
	if (pgw_schema_dump(&text, &g->cfg, &err))
		return cmd_report(&err);
	if (output) {
		if (pgw_file_write(output, text, &err)) {
			cmd_report(&err);
			rc = EXIT_INVALID;
		}
		else if (g->json)
			cmd_print_json(json_pack("{s:s}", "written", output));
		else if (g->verbosity >= 0)
			fprintf(stderr, "wrote %s\n", output);
	} else if (g->json) {
		cmd_print_json(json_pack("{s:s}", "schema", text));
	} else {
		fputs(text, stdout);
	}
	free(text);
	return rc;
}
