/* cmd_status.c - pgward status: where the database is, what is pending. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "cmd.h"

static const char *applied_vtext(const struct pgw_applied *a, char buf[32])
{
	pgw_applied_vtext(buf, a);
	return buf;
}

static json_t *mig_json(const struct pgw_migration *m)
{
	json_t *o = json_object();

	json_object_set_new(o, "version", json_string(m->vtext));
	json_object_set_new(o, "name", json_string(m->name));
	json_object_set_new(o, "file", json_string(m->file));
	return o;
}

static const char *const drift_words[] = { "unknown", "none", "found" };

static void print_json(const struct pgw_status *st, int drift)
{
	json_t *o = json_object(), *a;
	char v[32];
	size_t i;

	json_object_set_new(o, "database", json_string(st->database));
	json_object_set_new(o, "version", st->head ? json_string(applied_vtext(st->head, v)) : json_null());
	json_object_set_new(o, "applied", json_integer((json_int_t)st->history->n));
	a = json_array();
	for (i = 0; i < st->n_pending; i++)
		json_array_append_new(a, mig_json(st->pending[i]));
	json_object_set_new(o, "pending", a);
	a = json_array();
	for (i = 0; i < st->n_unknown; i++) {
		json_t *u = json_object();

		json_object_set_new(u, "version", json_string(applied_vtext(st->unknown[i], v)));
		json_object_set_new(u, "name", json_string(st->unknown[i]->name));
		json_object_set_new(u, "file", json_string(st->unknown[i]->file));
		json_array_append_new(a, u);
	}
	json_object_set_new(o, "unknown", a);
	a = json_array();
	for (i = 0; i < st->n_changed; i++)
		json_array_append_new(a, mig_json(st->changed[i]));
	json_object_set_new(o, "changed", a);
	a = json_array();
	for (i = 0; i < st->n_out_of_order; i++)
		json_array_append_new(a, mig_json(st->out_of_order[i]));
	json_object_set_new(o, "out_of_order", a);
	json_object_set_new(o, "drift", drift < 0 ? json_null() : json_string(drift_words[drift]));
	cmd_print_json(o);
}

static void print_human(const struct pgw_status *st, int drift)
{
	char v[32];
	size_t i;

	printf("database:   %s\n", st->database);
	if (st->head)
		printf("version:    %s (%s, %zu applied, last at %s)\n",
		       applied_vtext(st->head, v), st->head->file,
		       st->history->n, st->head->applied_at);
	else
		printf("version:    none (no migration applied)\n");
	if (drift == PGW_DRIFT_NONE)
		printf("schema:     as expected at this version (no drift)\n");
	else if (drift == PGW_DRIFT_FOUND)
		printf("schema:     DRIFT: the live schema is not what this version expects ('pgward verify' shows how)\n");
	else if (drift == PGW_DRIFT_UNKNOWN)
		printf("schema:     no expected-schema hash recorded (schema.sql was not at the head version when it was applied)\n");
	printf("pending:    %zu\n", st->n_pending);
	for (i = 0; i < st->n_pending; i++)
		printf("  %s\n", st->pending[i]->file);
	if (st->n_out_of_order) {
		printf("out of order (older than the database's version; 'up' refuses them):\n");
		for (i = 0; i < st->n_out_of_order; i++)
			printf("  %s\n", st->out_of_order[i]->file);
	}
	if (st->n_changed) {
		printf("edited after they were applied ('up' refuses to run):\n");
		for (i = 0; i < st->n_changed; i++)
			printf("  %s (see 'pgward history --show %s')\n",
			       st->changed[i]->file, st->changed[i]->vtext);
	}
	if (st->n_unknown) {
		printf("applied but missing from '%s' ('up' refuses unless --allow-unknown):\n",
		       st->set->dir);
		for (i = 0; i < st->n_unknown; i++)
			printf("  %s (%s)\n", applied_vtext(st->unknown[i], v),
			       st->unknown[i]->file);
	}
}

int cmd_status(int argc, char **argv, struct cmd_globals *g)
{
	static const struct option opts[] = {
		{ "no-drift", no_argument, NULL, 'D' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct pgw_err err = PGW_ERR_INIT;
	struct pgw_status *st = NULL;
	enum pgw_drift drift = PGW_DRIFT_UNKNOWN;
	bool no_drift = false;
	int c;

	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'D':
			no_drift = true;
			break;
		case 'h':
			return cmd_help("status");
		default:
			return cmd_usage_error("status", "unknown option");
		}
	}
	if (optind < argc)
		return cmd_usage_error("status", "unexpected argument '%s'", argv[optind]);
	if (pgw_status(&st, &g->cfg, &err))
		return cmd_report(&err);
	if (!no_drift && pgw_drift(&drift, &g->cfg, &err)) {
		pgw_status_free(st);
		return cmd_report(&err);
	}
	if (g->json)
		print_json(st, no_drift ? -1 : (int)drift);
	else
		print_human(st, no_drift ? -1 : (int)drift);
	pgw_status_free(st);
	return EXIT_OK;
}
