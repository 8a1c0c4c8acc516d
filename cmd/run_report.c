/* run_report.c - how up and down show their plan and outcome. */
#include <stdio.h>
#include <stdlib.h>

#include <jansson.h>

#include "cmd.h"

static void print_plan(const struct pgw_run *run)
{
	int seg = -1;
	size_t i, k;

	printf("plan: %s from %s to %s, %zu migration%s in %d segment%s\n",
	       run->down ? "down" : "up", run->from, run->to, run->n,
	       run->n == 1 ? "" : "s", run->n_segments,
	       run->n_segments == 1 ? "" : "s");
	for (i = 0; i < run->n; i++) {
		const struct pgw_plan_item *it = &run->items[i];

		if (it->segment != seg) {
			seg = it->segment;
			if (it->sql->batch && !run->down)
				printf("segment %d (batch:%ld, a short transaction per batch)\n",
				       seg + 1, it->sql->batch);
			else
				printf("segment %d (%s)\n", seg + 1,
				       it->sql->transactional ?
					       "one transaction" :
					       "transaction:false, statement by statement");
		}
		printf("  %s%s\n", it->m->file,
		       !run->down && it->m->destructive ? "  [destructive]" : "");
		for (k = 0; k < it->sql->n_stmts; k++) {
			const struct pgw_stmt *st = &it->sql->stmts[k];
			char *safe = pgw_redact_sql(st->sql);

			printf("    %4d: %s%s\n", st->line, safe ? safe : "",
			       st->flags & PGW_STMT_DESTRUCTIVE ? "  [destructive]" : "");
			free(safe);
		}
	}
	printf("dry run: nothing was changed\n");
}

static json_t *run_json(const struct pgw_run *run, bool dry)
{
	json_t *o = json_object(), *items = json_array();
	size_t i;

	json_object_set_new(o, "direction", json_string(run->down ? "down" : "up"));
	json_object_set_new(o, "from", json_string(run->from));
	json_object_set_new(o, "to", json_string(run->to));
	json_object_set_new(o, "dry_run", json_boolean(dry));
	for (i = 0; i < run->n; i++) {
		const struct pgw_plan_item *it = &run->items[i];
		json_t *m = json_object();

		json_object_set_new(m, "version", json_string(it->m->vtext));
		json_object_set_new(m, "name", json_string(it->m->name));
		json_object_set_new(m, "file", json_string(it->m->file));
		json_object_set_new(m, "segment", json_integer(it->segment + 1));
		json_object_set_new(m, "transactional", json_boolean(it->sql->transactional));
		if (it->sql->batch && !run->down)
			json_object_set_new(m, "batch", json_integer(it->sql->batch));
		json_object_set_new(m, "destructive", json_boolean(!run->down && it->m->destructive));
		json_object_set_new(m, "done", json_boolean(it->done));
		if (it->done)
			json_object_set_new(m, "duration_ms", json_integer(it->duration_ms));
		json_array_append_new(items, m);
	}
	json_object_set_new(o, run->down ? "reverted" : "applied", items);
	return o;
}

void cmd_print_run(const struct pgw_run *run, bool dry, bool json, int error)
{
	size_t i, done = 0;

	if (!run)
		return;
	if (json) {
		json_t *o = run_json(run, dry);

		json_object_set_new(o, "status", json_string(error ? "failed" :
							      run->nothing_to_do ? "nothing to do" :
							      dry ? "planned" : "ok"));
		cmd_print_json(o);
		return;
	}
	if (run->nothing_to_do) {
		printf("nothing to do: database at version %s\n", run->from);
		return;
	}
	if (dry) {
		print_plan(run);
		return;
	}
	for (i = 0; i < run->n; i++)
		if (run->items[i].done)
			done++;
	if (!error)
		printf("%s %zu migration%s: database now at version %s\n",
		       run->down ? "reverted" : "applied", done,
		       done == 1 ? "" : "s", run->to);
}
