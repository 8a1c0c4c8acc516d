/* cmd_deploy.c - pgward deploy: the guarded deploy, its report on the
 * terminal, as JSON, and for GitHub Actions. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <jansson.h>

#include "cmd.h"

/* The step summary and outputs of a GitHub Actions job. */
static void github(const struct pgw_deploy_report *r)
{
	const char *summary = getenv("GITHUB_STEP_SUMMARY");
	const char *output = getenv("GITHUB_OUTPUT");
	FILE *f;
	size_t i;

	if (summary && *summary && (f = fopen(summary, "a"))) {
		fprintf(f, "### pgward deploy: %s\n\n%s -> %s%s%s\n\n| stage | result | time |\n|---|---|---|\n",
			r->status, r->from ? r->from : "?", r->to ? r->to : "?",
			r->backup ? ", backup " : "", r->backup ? r->backup : "");
		for (i = 0; i < r->n_stages; i++)
			fprintf(f, "| %s | %s | %lld ms |\n", r->stages[i].name,
				r->stages[i].status, r->stages[i].ms);
		if (r->error)
			fprintf(f, "\n**Error:** %s\n", r->error);
		fclose(f);
	}
	if (output && *output && (f = fopen(output, "a"))) {
		fprintf(f, "from_version=%s\nto_version=%s\nstatus=%s\nbackup=%s\n",
			r->from ? r->from : "", r->to ? r->to : "", r->status,
			r->backup ? r->backup : "");
		fclose(f);
	}
	if (getenv("GITHUB_ACTIONS") && r->error)
		fprintf(stderr, "::error::pgward deploy %s: %s\n", r->status,
			r->error);
}

static void print_report(const struct pgw_deploy_report *r, bool json)
{
	size_t i;

	if (json) {
		json_t *a = json_array();

		for (i = 0; i < r->n_stages; i++)
			json_array_append_new(a, json_pack("{s:s, s:s, s:I}", "name",
							   r->stages[i].name, "status",
							   r->stages[i].status, "duration_ms",
							   (json_int_t)r->stages[i].ms));
		json_t *doc = json_pack("{s:s, s:s, s:s?, s:s?, s:s?, s:s?, s:s?, s:s?, s:o}",
					"id", r->id, "status", r->status,
					"from", r->from, "to", r->to,
					"backup", r->backup, "backup_sha256",
					r->backup_sha256[0] ? r->backup_sha256 : NULL,
					"way_back", r->way_back, "error", r->error,
					"stages", a);

		if (r->plan)
			json_object_set_new(doc, "plan",
					    json_pack("{s:s, s:I, s:I, s:f, s:f}",
						      "migrations", r->plan,
						      "table_bytes", (json_int_t)r->table_bytes,
						      "index_bytes", (json_int_t)r->index_bytes,
						      "estimated_backup_s", r->est_backup_s,
						      "estimated_restore_s", r->est_restore_s));
		cmd_print_json(doc);
		return;
	}
	for (i = 0; i < r->n_stages; i++)
		printf("%-8s %-7s %6lld ms\n", r->stages[i].name,
		       r->stages[i].status, r->stages[i].ms);
	if (r->plan) {
		printf("plan (%s -> %s):\n", r->from ? r->from : "?", r->to ? r->to : "?");
		fputs(r->plan, stdout);
		printf("backup: %.0f MB of tables (+%.0f MB of indexes, rebuilt on restore):"
		       " backup about %.1f s, restore about %.1f s\n",
		       (double)r->table_bytes / 1e6, (double)r->index_bytes / 1e6,
		       r->est_backup_s, r->est_restore_s);
	}
	if (r->nothing_to_do)
		printf("nothing to do: the database is at %s\n", r->to ? r->to : "?");
	else
		printf("deploy %s: %s (%s -> %s)%s%s\n", r->id, r->status,
		       r->from ? r->from : "?", r->to ? r->to : "?",
		       r->backup ? "; backup " : "", r->backup ? r->backup : "");
	if (r->way_back)
		printf("way back: %s\n", r->way_back);
}

int cmd_deploy(int argc, char **argv, struct cmd_globals *g)
{
	static const struct option opts[] = {
		{ "release", required_argument, NULL, 'r' },
		{ "to", required_argument, NULL, 't' },
		{ "allow-down", no_argument, NULL, 'D' },
		{ "no-backup", no_argument, NULL, 'B' },
		{ "force", no_argument, NULL, 'f' },
		{ "rollback", required_argument, NULL, 'R' },
		{ "writes-stopped", no_argument, NULL, 'W' },
		{ "hooks", required_argument, NULL, 'H' },
		{ "notify", required_argument, NULL, 'N' },
		{ "dry-run", no_argument, NULL, 'n' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct pgw_deploy_opts o;
	struct pgw_deploy_report *r = NULL;
	struct pgw_err err = PGW_ERR_INIT;
	const char *urls[17] = { NULL };
	size_t n_urls = 0;
	struct stat sb;
	int c, rc;

	memset(&o, 0, sizeof(o));
	o.hooks_dir = g->cfg.hooks_dir;
	o.hook_timeout_s = 300;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'r':
			o.release = optarg;
			break;
		case 't':
			rc = cmd_parse_version(&o.target, "deploy", "--to", optarg);
			if (rc)
				return rc;
			o.has_target = true;
			break;
		case 'D':
			o.allow_down = true;
			break;
		case 'B':
			o.no_backup = true;
			break;
		case 'f':
			o.force = true;
			break;
		case 'R':
			if (!strcmp(optarg, "auto"))
				o.rollback = PGW_ROLLBACK_AUTO;
			else if (!strcmp(optarg, "down"))
				o.rollback = PGW_ROLLBACK_DOWN;
			else if (!strcmp(optarg, "restore"))
				o.rollback = PGW_ROLLBACK_RESTORE;
			else
				return cmd_usage_error("deploy", "--rollback is auto, down or restore");
			break;
		case 'W':
			o.writes_stopped = true;
			break;
		case 'H':
			o.hooks_dir = optarg;
			break;
		case 'N':
			if (n_urls >= 16)
				return cmd_usage_error("deploy", "at most 16 --notify URLs");
			urls[n_urls++] = optarg;
			break;
		case 'n':
			o.dry_run = true;
			break;
		case 'h':
			return cmd_help("deploy");
		default:
			return cmd_usage_error("deploy", "unknown option");
		}
	}
	if (optind < argc)
		return cmd_usage_error("deploy", "unexpected argument '%s'", argv[optind]);
	if (o.release && o.has_target)
		return cmd_usage_error("deploy", "--release names the target: not with --to");
	/* ./hooks when present and nothing else is said */
	if (!o.hooks_dir && stat("hooks", &sb) == 0 && S_ISDIR(sb.st_mode))
		o.hooks_dir = "hooks";
	if (!n_urls && g->cfg.notify_url)
		urls[n_urls++] = g->cfg.notify_url;
	o.notify_urls = urls;
	rc = pgw_deploy(&r, &g->cfg, &o, &err) ? cmd_report(&err) : EXIT_OK;
	if (r) {
		print_report(r, g->json);
		github(r);
	}
	pgw_deploy_report_free(r);
	return rc;
}
