/* cmd_backup.c - pgward backup: write a consistent archive. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "cmd.h"

/* --compress zstd[:L] | none */
static int parse_compress(int *level, const char *arg)
{
	char *end;
	long l;

	if (!strcmp(arg, "none")) {
		*level = 0;
		return 0;
	}
	if (!strcmp(arg, "zstd")) {
		*level = 1;
		return 0;
	}
	if (strncmp(arg, "zstd:", 5) != 0)
		return -1;
	errno = 0;
	l = strtol(arg + 5, &end, 10);
	if (errno || *end || end == arg + 5 || l < 1 || l > 19)
		return -1;
	*level = (int)l;
	return 0;
}

int cmd_backup(int argc, char **argv, struct cmd_globals *g)
{
	static const struct option opts[] = {
		{ "output", required_argument, NULL, 'o' },
		{ "jobs", required_argument, NULL, 'j' },
		{ "compress", required_argument, NULL, 'c' },
		{ "allow-unsupported", no_argument, NULL, 'u' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct pgw_backup_opts bo = PGW_BACKUP_OPTS_INIT;
	struct pgw_backup_report *rep = NULL;
	struct pgw_err err = PGW_ERR_INIT;
	char *end;
	long jobs;
	int c;

	while ((c = getopt_long(argc, argv, "o:j:h", opts, NULL)) != -1) {
		switch (c) {
		case 'o':
			bo.output = optarg;
			break;
		case 'j':
			errno = 0;
			jobs = strtol(optarg, &end, 10);
			if (errno || *end || end == optarg || jobs < 1 || jobs > 64)
				return cmd_usage_error("backup", "--jobs takes 1 to 64, not '%s'", optarg);
			bo.jobs = (int)jobs;
			break;
		case 'c':
			if (parse_compress(&bo.zstd_level, optarg))
				return cmd_usage_error("backup", "--compress takes zstd, zstd:1..19 or none, not '%s'", optarg);
			break;
		case 'u':
			bo.allow_unsupported = true;
			break;
		case 'h':
			return cmd_help("backup");
		default:
			return cmd_usage_error("backup", "unknown option");
		}
	}
	if (optind < argc)
		return cmd_usage_error("backup", "unexpected argument '%s'", argv[optind]);
	if (pgw_backup(&rep, &g->cfg, &bo, &err))
		return cmd_report(&err);
	if (g->json) {
		json_t *o = json_object();

		json_object_set_new(o, "path", json_string(rep->path));
		json_object_set_new(o, "sha256", json_string(rep->sha256));
		json_object_set_new(o, "bytes", json_integer((json_int_t)rep->bytes));
		json_object_set_new(o, "tables", json_integer((json_int_t)rep->n_tables));
		json_object_set_new(o, "rows", json_integer(rep->rows));
		json_object_set_new(o, "seconds", json_real(rep->seconds));
		cmd_print_json(o);
	} else {
		printf("backup written: %s (%zu tables, %lld rows, %.1f MB, %.1f s)\nsha256: %s\n",
		       rep->path, rep->n_tables, rep->rows,
		       (double)rep->bytes / 1e6, rep->seconds, rep->sha256);
	}
	pgw_backup_report_free(rep);
	return EXIT_OK;
}
