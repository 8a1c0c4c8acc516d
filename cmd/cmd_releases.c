/* cmd_releases.c - pgward releases: the release tags of the repository
 * around the migrations dir and the schema version each one carries;
 * with a database, which release it is at. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "cmd.h"
#include "git.h"

/* Where the database stands among the releases. */
struct db_pos {
	bool applied; /* it has a migration applied */
	int64_t version;
	char vtext[32];
	const struct pgw_release *at;    /* the newest release at its version */
	const struct pgw_release *after; /* the highest release below it */
	const struct pgw_release *before; /* the lowest release above it */
};

static void db_locate(struct db_pos *p, const struct pgw_history *h,
                      const struct pgw_releases *r)
{
	size_t i;

	memset(p, 0, sizeof(*p));
	if (!h->n)
		return;
	p->applied = true;
	p->version = h->v[h->n - 1].version;
	pgw_applied_vtext(p->vtext, &h->v[h->n - 1]);
	for (i = 0; i < r->n; i++) {
		const struct pgw_release *x = &r->v[i];

		if (x->version < 0)
			continue;
		if (x->version == p->version)
			p->at = x; /* the last one in release order wins */
		else if (x->version < p->version &&
		         (!p->after || x->version >= p->after->version))
			p->after = x;
		else if (x->version > p->version &&
		         (!p->before || x->version < p->before->version))
			p->before = x;
	}
}

static void fmt_date(char out[11], int64_t t)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (!gmtime_r(&tt, &tm) || !strftime(out, 11, "%Y-%m-%d", &tm))
		snprintf(out, 11, "?");
}

static json_t *str_or_null(const char *s)
{
	return s && *s ? json_string(s) : json_null();
}

static void print_json(const struct pgw_releases *r, const char *pattern,
                       const char *mig_path, const struct db_pos *db)
{
	json_t *o = json_object(), *a = json_array();
	char date[11];
	size_t i;

	for (i = 0; i < r->n; i++) {
		const struct pgw_release *x = &r->v[i];
		json_t *e = json_object();

		fmt_date(date, x->time);
		json_object_set_new(e, "tag", json_string(x->tag));
		json_object_set_new(e, "commit", json_string(x->commit));
		json_object_set_new(e, "date", json_string(date));
		json_object_set_new(e, "time",
		                    json_integer((json_int_t)x->time));
		json_object_set_new(e, "version", str_or_null(x->vtext));
		json_object_set_new(e, "migrations_dir",
		                    x->dir ? json_string(x->dir) : json_null());
		json_object_set_new(e, "database",
		                    json_boolean(db && db->at == x));
		json_array_append_new(a, e);
	}
	json_object_set_new(o, "pattern", json_string(pattern));
	json_object_set_new(o, "migrations_dir", json_string(mig_path));
	json_object_set_new(o, "releases", a);
	json_object_set_new(o, "shallow", json_boolean(r->shallow));
	json_object_set_new(o, "note", str_or_null(r->note));
	if (db) {
		json_t *d = json_object();

		json_object_set_new(d, "version",
		                    db->applied ? json_string(db->vtext)
		                                : json_null());
		json_object_set_new(d, "release",
		                    db->at ? json_string(db->at->tag)
		                           : json_null());
		json_object_set_new(d, "previous_release",
		                    !db->at && db->after
		                            ? json_string(db->after->tag)
		                            : json_null());
		json_object_set_new(d, "next_release",
		                    !db->at && db->before
		                            ? json_string(db->before->tag)
		                            : json_null());
		json_object_set_new(o, "database", d);
	} else {
		json_object_set_new(o, "database", json_null());
	}
	cmd_print_json(o);
}

static void print_db(const struct db_pos *db)
{
	if (!db->applied)
		printf("database has no migration applied\n");
	else if (db->at)
		printf("database is at %s (release %s)\n", db->vtext,
		       db->at->tag);
	else if (db->after && db->before)
		printf("database is at %s, between releases %s and %s\n",
		       db->vtext, db->after->tag, db->before->tag);
	else if (db->after)
		printf("database is at %s, ahead of every release (%s is at %s)\n",
		       db->vtext, db->after->tag, db->after->vtext);
	else if (db->before)
		printf("database is at %s, behind every release (%s is at %s)\n",
		       db->vtext, db->before->tag, db->before->vtext);
	else
		printf("database is at %s (no release has migrations)\n",
		       db->vtext);
}

static void print_human(const struct pgw_releases *r, const char *pattern,
                        const char *mig_path, const struct db_pos *db)
{
	int width = 3;
	char date[11];
	size_t i;

	if (!r->n && r->n_skipped) {
		printf("no release (%zu tags match '%s', none of them on a commit)\n",
		       r->n_skipped, pattern);
	} else if (!r->n) {
		printf("no release (no tag matching '%s')\n", pattern);
	} else {
		for (i = 0; i < r->n; i++)
			if ((int)strlen(r->v[i].tag) > width)
				width = (int)strlen(r->v[i].tag);
		printf("%-*s  %-12s  %-10s  %s\n", width, "TAG", "COMMIT",
		       "DATE (UTC)", "SCHEMA");
	}
	for (i = 0; i < r->n; i++) {
		const struct pgw_release *x = &r->v[i];
		bool moved = x->dir && strcmp(x->dir, mig_path) != 0;

		fmt_date(date, x->time);
		printf("%-*s  %.12s  %-10s  %s", width, x->tag, x->commit, date,
		       x->vtext[0] ? x->vtext : "-");
		if (moved)
			printf("  (migrations in '%s')",
			       *x->dir ? x->dir : ".");
		if (db && db->at == x)
			printf("  <- database");
		putchar('\n');
	}
	if (db)
		print_db(db);
}

int cmd_releases(int argc, char **argv, struct cmd_globals *g)
{
	static const struct option opts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct pgw_err err = PGW_ERR_INIT;
	struct pgw_git *git = NULL;
	struct pgw_releases *r = NULL;
	struct pgw_history *h = NULL;
	struct db_pos db;
	const char *pattern = g->cfg.tag_pattern ? g->cfg.tag_pattern : "v*";
	int c, rc = EXIT_OK;

	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'h':
			return cmd_help("releases");
		default:
			return cmd_usage_error("releases", "unknown option");
		}
	}
	if (optind < argc)
		return cmd_usage_error("releases", "unexpected argument '%s'",
		                       argv[optind]);
	if (pgw_git_open(&git, g->cfg.migrations_dir, &err) ||
	    pgw_git_releases(&r, git, pattern, &err)) {
		rc = cmd_report(&err);
		goto done;
	}
	if (r->shallow && !r->n) {
		/* an empty list would read as "no release yet" */
		fprintf(stderr, "pgward: error: no release found: %s\n",
		        r->note ? r->note : "this clone is shallow");
		rc = EXIT_INVALID;
		goto done;
	}
	if (g->cfg.database_url) {
		if (pgw_history_read(&h, &g->cfg, &err)) {
			rc = cmd_report(&err);
			goto done;
		}
		db_locate(&db, h, r);
	}
	if (r->note)
		fprintf(stderr, "pgward: warning: %s\n", r->note);
	if (g->json)
		print_json(r, pattern, pgw_git_migrations_path(git),
		           h ? &db : NULL);
	else
		print_human(r, pattern, pgw_git_migrations_path(git),
		            h ? &db : NULL);
done:
	pgw_history_free(h);
	pgw_releases_free(r);
	pgw_git_close(git);
	return rc;
}
