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

static json_t *release_json(const struct pgw_release_info *ri)
{
	json_t *o = json_object(), *a = json_array();
	size_t i;

	json_object_set_new(o, "database_release", ri->db_release ? json_string(ri->db_release) : json_null());
	json_object_set_new(o, "database_after_release", ri->db_after ? json_string(ri->db_after) : json_null());
	json_object_set_new(o, "head_version", ri->head_vtext ? json_string(ri->head_vtext) : json_null());
	for (i = 0; ri->uncommitted && ri->uncommitted[i]; i++)
		json_array_append_new(a, json_string(ri->uncommitted[i]));
	json_object_set_new(o, "uncommitted", a);
	json_object_set_new(o, "note", ri->note ? json_string(ri->note) : json_null());
	return o;
}

static void print_json(const struct pgw_status *st, int drift,
		       const struct pgw_release_info *ri)
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
	json_object_set_new(o, "git", ri && ri->in_repo ? release_json(ri) : json_null());
	cmd_print_json(o);
}

/* "database at 003 (release v1.2.0); code at HEAD expects 005 (2
 * pending: 004_x, 005_y)" and uncommitted migration files. */
static void print_release(const struct pgw_status *st,
			  const struct pgw_release_info *ri)
{
	char v[32];
	size_t i;

	if (!ri || !ri->in_repo)
		return;
	printf("release:    database at %s", st->head ? applied_vtext(st->head, v) : "none");
	if (ri->db_release)
		printf(" (release %s)", ri->db_release);
	else if (ri->db_after)
		printf(" (after release %s)", ri->db_after);
	if (ri->head_vtext) {
		printf("; code at HEAD expects %s", ri->head_vtext);
		if (st->n_pending) {
			printf(" (%zu pending:", st->n_pending);
			for (i = 0; i < st->n_pending; i++)
				printf("%s %s_%s", i ? "," : "",
				       st->pending[i]->vtext, st->pending[i]->name);
			printf(")");
		}
	}
	printf("\n");
	for (i = 0; ri->uncommitted && ri->uncommitted[i]; i++)
		printf("            working tree has an uncommitted migration %s\n",
		       ri->uncommitted[i]);
	if (ri->note)
		fprintf(stderr, "pgward: note: %s\n", ri->note);
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
	struct pgw_release_info *ri = NULL;
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
	if (pgw_release_info(&ri, &g->cfg, st->head ? st->head->version : 0,
			     &err)) {
		pgw_status_free(st);
		return cmd_report(&err);
	}
	if (g->json) {
		print_json(st, no_drift ? -1 : (int)drift, ri);
	} else {
		print_human(st, no_drift ? -1 : (int)drift);
		print_release(st, ri);
	}
	pgw_release_info_free(ri);
	pgw_status_free(st);
	return EXIT_OK;
}
