/* plan.c - what up/down will run, and in which segments. */
#include "plan.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "history.h"
#include "migfile.h"

void pgw_applied_vtext(char out[32], const struct pgw_applied *a)
{
	size_t n = a->file ? strspn(a->file, "0123456789") : 0;

	if (n > 0 && n < 32) {
		memcpy(out, a->file, n);
		out[n] = '\0';
	} else {
		snprintf(out, 32, "%lld", (long long)a->version);
	}
}

/* Say where the file first differs from the SQL as applied. */
static void describe_edit(struct pgw_err *err, const struct pgw_migration *m,
			  const char *applied)
{
	const char *f = m->up.text, *a = applied;
	int line = m->up.line;

	for (;;) {
		size_t fl = strcspn(f, "\n"), al = strcspn(a, "\n");

		if (fl != al || strncmp(f, a, fl) != 0 || (!f[fl] && a[al]) ||
		    (f[fl] && !a[al])) {
			pgw_err_detail(err, "%s:%d is now '%.*s'; as applied it was '%.*s'",
				       m->file, line, (int)(fl > 80 ? 80 : fl), f,
				       (int)(al > 80 ? 80 : al), a);
			return;
		}
		if (!f[fl])
			return;
		f += fl + 1;
		a += al + 1;
		line++;
	}
}

static struct pgw_run *run_new(bool down)
{
	struct pgw_run *run = calloc(1, sizeof(*run));

	if (run)
		run->down = down;
	return run;
}

void pgw_run_free(struct pgw_run *run)
{
	if (!run)
		return;
	free(run->from);
	free(run->to);
	free(run->items);
	pgw_migset_free(run->owned_set);
	pgw_migset_free(run->files);
	free(run);
}

/* A segment ends after a transaction:false or batch:N migration, before
 * one, and after a migration that adds an enum value (it must commit
 * before use). */
static void assign_segments(struct pgw_run *run)
{
	int seg = 0;
	bool open = false;
	size_t i;

	for (i = 0; i < run->n; i++) {
		struct pgw_plan_item *it = &run->items[i];

		if (!it->sql->transactional || it->sql->batch) {
			if (open)
				seg++;
			it->segment = seg++;
			open = false;
			continue;
		}
		it->segment = seg;
		open = true;
		if (!run->down && it->m->adds_enum_value) {
			seg++;
			open = false;
		}
	}
	run->n_segments = open ? seg + 1 : seg;
}

/* The last steps of both plans: target version, segments, hand over. */
static int finish_plan(struct pgw_run **out, struct pgw_run *run,
		       const char *to, struct pgw_err *err)
{
	run->nothing_to_do = run->n == 0;
	run->to = strdup(to);
	if (!run->to) {
		pgw_run_free(run);
		return pgw_err_oom(err);
	}
	assign_segments(run);
	*out = run;
	return 0;
}

static const struct pgw_applied *head_of(const struct pgw_history *h)
{
	return h->n ? &h->v[h->n - 1] : NULL;
}

static int set_from(struct pgw_run *run, const struct pgw_history *h)
{
	char v[32] = "0";

	if (head_of(h))
		pgw_applied_vtext(v, head_of(h));
	run->from = strdup(v);
	return run->from ? 0 : -1;
}

int pgw_plan_up(struct pgw_run **out, struct pgw_migset *set,
		const struct pgw_history *h, const struct pgw_run_opts *opts,
		struct pgw_err *err)
{
	const struct pgw_applied *head = head_of(h);
	struct pgw_run *run;
	size_t i;
	int error = 0;

	*out = NULL;
	/* history against files: nothing edited, nothing unknown */
	for (i = 0; i < h->n; i++) {
		const struct pgw_applied *a = &h->v[i];
		const struct pgw_migration *m = pgw_migset_find(set, a->version);
		char v[32];

		pgw_applied_vtext(v, a);
		if (!m && !(opts->flags & PGW_RUN_ALLOW_UNKNOWN)) {
			pgw_err_set(err, PGW_EINVAL,
				    "applied migration %s (%s) has no file in '%s'",
				    v, a->file, set->dir);
			pgw_err_hint(err, "restore the file (its SQL as applied: 'pgward history --show %s'), or pass --allow-unknown if it was removed on purpose",
				     v);
			return err->code;
		}
		if (m && strcmp(m->checksum, a->checksum) != 0) {
			pgw_err_set(err, PGW_ECHECKSUM,
				    "applied migration '%s' was edited after it was applied (checksum %.12s, recorded %.12s)",
				    m->file, m->checksum, a->checksum);
			if (a->up_sql)
				describe_edit(err, m, a->up_sql);
			pgw_err_hint(err, "compare with the SQL as applied ('pgward history --show %s'); put the file back and write the change as a new migration ('pgward new')",
				     m->vtext);
			return err->code;
		}
	}
	if ((opts->flags & PGW_RUN_HAS_TARGET) &&
	    !pgw_migset_find(set, opts->target) &&
	    !pgw_history_find(h, opts->target)) {
		pgw_err_set(err, PGW_EINVAL,
			    "--to %lld: no migration has that version",
			    (long long)opts->target);
		return err->code;
	}
	if ((opts->flags & PGW_RUN_HAS_TARGET) && head &&
	    opts->target < head->version) {
		char v[32];

		pgw_applied_vtext(v, head);
		pgw_err_set(err, PGW_EINVAL,
			    "--to %lld is below the database's version %s",
			    (long long)opts->target, v);
		pgw_err_hint(err, "'pgward down --to %lld' goes back", (long long)opts->target);
		return err->code;
	}
	run = run_new(false);
	if (!run || !(run->items = calloc(set->n + 1, sizeof(*run->items))) ||
	    set_from(run, h)) {
		pgw_run_free(run);
		return pgw_err_oom(err);
	}
	for (i = 0; i < set->n; i++) {
		struct pgw_migration *m = &set->v[i];

		if (pgw_history_find(h, m->version))
			continue;
		if ((opts->flags & PGW_RUN_HAS_TARGET) &&
		    m->version > opts->target)
			break;
		if (head && m->version < head->version) {
			char v[32];

			pgw_applied_vtext(v, head);
			pgw_err_set(err, PGW_EINVAL,
				    "pending migration '%s' is older than the database's version %s",
				    m->file, v);
			pgw_err_hint(err, "a migration written on a branch must get a version above %s before it is merged: rename it",
				     v);
			error = err->code;
			goto fail;
		}
		error = pgw_migration_parse(m, err);
		if (error)
			goto fail;
		run->items[run->n].m = m;
		run->items[run->n].sql = &m->up;
		run->n++;
	}
	return finish_plan(out, run,
			   run->n ? run->items[run->n - 1].m->vtext : run->from,
			   err);
fail:
	pgw_run_free(run);
	return error;
}

/* A migration to revert, built from its history row (or its file). */
static int down_item(struct pgw_run *run, const struct pgw_migset *set,
		     const struct pgw_applied *a, bool use_file,
		     struct pgw_err *err)
{
	struct pgw_migration *m = pgw_migset_add(run->owned_set);
	const struct pgw_migration *fm = set ? pgw_migset_find(set, a->version) : NULL;
	const char *body = a->down_sql, *directives = a->down_directives;
	char v[32];
	int error;

	if (!m)
		return pgw_err_oom(err);
	pgw_applied_vtext(v, a);
	m->version = a->version;
	m->vtext = strdup(v);
	m->name = strdup(a->name ? a->name : "");
	m->file = strdup(a->file ? a->file : v);
	if (!m->vtext || !m->name || !m->file)
		return pgw_err_oom(err);
	if (use_file) {
		if (!fm)
			return pgw_err_set(err, PGW_EINVAL,
					   "--use-file-down: migration %s has no file in '%s'",
					   v, set ? set->dir : "?");
		body = fm->down.present ? fm->down.text : NULL;
		directives = fm->down.present ? fm->down.directives : NULL;
	}
	if (!body) {
		pgw_err_set(err, PGW_EINVAL,
			    "migration '%s' has no down section%s; nothing was reverted",
			    m->file, use_file ? "" : " (as applied)");
		pgw_err_hint(err, use_file ? "write its '-- migrate:down' section" :
					     "if the file has one now, --use-file-down runs it; otherwise write a new migration that undoes it");
		return err->code;
	}
	/* lines are the file's when the file's section is the text run (the
	 * down SQL as applied is, as long as the file was not changed) */
	error = pgw_section_parse(&m->down, PGW_SEC_DOWN, body,
				  directives, m->file,
				  fm && fm->down.present && fm->down.text &&
						  (use_file || !strcmp(fm->down.text, body)) ?
					  fm->down.line : 1,
				  err);
	if (error)
		return error;
	m->parsed = true;
	return 0;
}

int pgw_plan_down(struct pgw_run **out, const struct pgw_migset *set,
		  const struct pgw_history *h, const struct pgw_run_opts *opts,
		  struct pgw_err *err)
{
	struct pgw_run *run = run_new(true);
	size_t i, count = 0;
	int error = 0;
	char v[32] = "0";

	*out = NULL;
	if (!run || !(run->items = calloc(h->n + 1, sizeof(*run->items))) ||
	    !(run->owned_set = pgw_migset_new(set ? set->dir : ".")) ||
	    set_from(run, h)) {
		pgw_run_free(run);
		return pgw_err_oom(err);
	}
	for (i = h->n; i > 0; i--) {
		const struct pgw_applied *a = &h->v[i - 1];

		if (opts->flags & PGW_RUN_HAS_TARGET) {
			if (a->version <= opts->target)
				break;
		} else if (count >= (size_t)(opts->steps > 0 ? opts->steps : 1)) {
			break;
		}
		count++;
	}
	/* all checks first: a missing down section stops before anything */
	for (i = 0; i < count; i++) {
		error = down_item(run, set, &h->v[h->n - 1 - i],
				  opts->flags & PGW_RUN_USE_FILE_DOWN, err);
		if (error)
			goto fail;
	}
	/* pointers only now: adding to owned_set moves its array */
	for (i = 0; i < count; i++) {
		run->items[i].m = &run->owned_set->v[i];
		run->items[i].sql = &run->owned_set->v[i].down;
	}
	run->n = count;
	if (h->n > count)
		pgw_applied_vtext(v, &h->v[h->n - 1 - count]);
	return finish_plan(out, run, v, err);
fail:
	pgw_run_free(run);
	return error;
}
