/* release.c - what the engine, status and check take from git (git.c):
 * the migration files of a release's tree, the commit and tag each
 * applied migration was read from, where the database and the code stand
 * among the releases, and the rules a released migration obeys. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "file.h"
#include "git.h"
#include "migfile.h"
#include "release.h"

static const char *pattern(const struct pgw_config *cfg)
{
	return cfg->tag_pattern ? cfg->tag_pattern : "v*";
}

/* ---------------------------------------------------------------------- */
/* migration files from a tree */

struct tree_files {
	struct pgw_git *g;
	struct pgw_git_file *files;
	size_t n;
};

static int read_blob(char **data, size_t *len, void *ctx, const char *file,
                     struct pgw_err *err)
{
	struct tree_files *t = ctx;
	size_t i;

	for (i = 0; i < t->n; i++)
		if (strcmp(t->files[i].name, file) == 0)
			return pgw_git_read(data, len, t->g, t->files[i].oid,
			                    err);
	return pgw_err_set(err, PGW_ENOTFOUND, "%s is not in the tree", file);
}

/* The migrations of `rev`'s tree, stamped with `commit` and `tag`. */
static int tree_migset(struct pgw_migset **out, struct pgw_git *g,
                       const char *rev, const char *commit, const char *tag,
                       struct pgw_err *err)
{
	struct tree_files t = { g, NULL, 0 };
	const char **names = NULL;
	struct pgw_buf label = PGW_BUF_INIT;
	size_t i;
	int error;

	*out = NULL;
	error = pgw_git_list(&t.files, &t.n, g, rev, err);
	if (error)
		return error;
	names = calloc(t.n + 1, sizeof(*names));
	pgw_buf_printf(&label, "%s:migrations", rev);
	if (!names || pgw_buf_oom(&label)) {
		error = pgw_err_oom(err);
		goto done;
	}
	for (i = 0; i < t.n; i++)
		names[i] = t.files[i].name;
	error = pgw_migset_load_from(out, label.ptr, names, t.n, read_blob, &t,
	                             err);
	for (i = 0; !error && i < (*out)->n; i++) {
		struct pgw_migration *m = &(*out)->v[i];

		m->git_commit = commit ? strdup(commit) : NULL;
		m->git_tag = tag ? strdup(tag) : NULL;
		if ((commit && !m->git_commit) || (tag && !m->git_tag))
			error = pgw_err_oom(err);
	}
	if (error) {
		pgw_migset_free(*out);
		*out = NULL;
	}
done:
	free(names);
	pgw_buf_release(&label);
	pgw_git_files_free(t.files, t.n);
	return error;
}

static const struct pgw_release *find_release(const struct pgw_releases *r,
                                              const char *tag)
{
	size_t i;

	for (i = 0; i < r->n; i++)
		if (strcmp(r->v[i].tag, tag) == 0)
			return &r->v[i];
	return NULL;
}

int pgw_release_migset(struct pgw_migset **out, int64_t *version,
                       const struct pgw_config *cfg, const char *tag,
                       struct pgw_err *err)
{
	struct pgw_git *g = NULL;
	struct pgw_releases *r = NULL;
	const struct pgw_release *rel;
	int error;

	*out = NULL;
	error = pgw_git_open(&g, cfg->migrations_dir, err);
	if (error) {
		pgw_err_wrap(err, "--release %s needs the git repository", tag);
		return error;
	}
	error = pgw_git_releases(&r, g, pattern(cfg), err);
	if (error)
		goto done;
	rel = find_release(r, tag);
	if (!rel) {
		error = pgw_err_set(err, PGW_EINVAL,
		                    "no release '%s' (tags matching '%s')", tag,
		                    pattern(cfg));
		if (r->note)
			pgw_err_hint(err, "%s", r->note);
		else
			pgw_err_hint(err, "'pgward releases' lists them; --tag-pattern or [git] tag_pattern selects the tags");
		goto done;
	}
	*version = rel->version < 0 ? 0 : rel->version;
	error = tree_migset(out, g, rel->tag, rel->commit, rel->tag, err);
done:
	pgw_releases_free(r);
	pgw_git_close(g);
	return error;
}

/* ---------------------------------------------------------------------- */
/* the commit a working-tree migration was read from */

/* The bytes of a migration's file as they are on disk. */
static int file_bytes(char **data, size_t *len, const char *path)
{
	struct pgw_err quiet = PGW_ERR_INIT;

	return pgw_file_read(data, len, path, &quiet) ? -1 : 0;
}

int pgw_release_stamp(struct pgw_migset *set, const struct pgw_config *cfg,
                      struct pgw_err *err)
{
	struct pgw_err quiet = PGW_ERR_INIT;
	struct pgw_git *g = NULL;
	struct pgw_git_file *files = NULL;
	char head[41], *tag = NULL;
	size_t n = 0, i, k;
	int error = 0;

	/* outside a repository, or an unborn HEAD: nothing to record */
	if (pgw_git_open(&g, cfg->migrations_dir, &quiet) ||
	    pgw_git_head(head, &tag, g, pattern(cfg), &quiet) ||
	    pgw_git_list(&files, &n, g, "HEAD", &quiet)) {
		pgw_log_debug("no commit recorded with the migrations: %s",
		              quiet.msg);
		goto done;
	}
	for (i = 0; i < set->n && !error; i++) {
		struct pgw_migration *m = &set->v[i];
		const char *base = strrchr(m->path, '/');
		char oid[41], *data;
		size_t len;

		base = base ? base + 1 : m->path;
		/* the commit only when the file is as HEAD has it */
		for (k = 0; k < n && strcmp(files[k].name, base) != 0; k++)
			;
		if (k == n || file_bytes(&data, &len, m->path) != 0)
			continue;
		error = pgw_git_hash(oid, data, len, err);
		free(data);
		if (error || strcmp(oid, files[k].oid) != 0)
			continue;
		free(m->git_commit);
		free(m->git_tag);
		m->git_commit = strdup(head);
		m->git_tag = tag ? strdup(tag) : NULL;
		if (!m->git_commit || (tag && !m->git_tag))
			error = pgw_err_oom(err);
	}
done:
	free(tag);
	pgw_git_files_free(files, n);
	pgw_git_close(g);
	return error;
}

/* ---------------------------------------------------------------------- */
/* status */

void pgw_release_info_free(struct pgw_release_info *ri)
{
	if (!ri)
		return;
	free(ri->db_release);
	free(ri->db_after);
	free(ri->head_vtext);
	free(ri->note);
	pgw_list_free(ri->uncommitted);
	free(ri);
}

int pgw_release_info(struct pgw_release_info **out,
                     const struct pgw_config *cfg, int64_t db_version,
                     struct pgw_err *err)
{
	struct pgw_release_info *ri = calloc(1, sizeof(*ri));
	struct pgw_err quiet = PGW_ERR_INIT;
	struct pgw_releases *r = NULL;
	struct pgw_git *g = NULL;
	struct pgw_git_file *files = NULL;
	char head[41], *tag = NULL, **dirty = NULL;
	size_t n = 0, n_dirty = 0, i;
	int error = 0;

	*out = NULL;
	if (!ri)
		return pgw_err_oom(err);
	ri->head_version = -1;
	if (pgw_git_open(&g, cfg->migrations_dir, &quiet)) {
		/* not a repository: status says nothing of releases */
		*out = ri;
		return 0;
	}
	ri->in_repo = true;
	error = pgw_git_releases(&r, g, pattern(cfg), err);
	if (error)
		goto done;
	if (r->note && !(ri->note = strdup(r->note))) {
		error = pgw_err_oom(err);
		goto done;
	}
	/* the newest release at the database's version, else the one it
	 * went past */
	for (i = r->n; i-- > 0;) {
		if (r->v[i].version == db_version && !ri->db_release)
			ri->db_release = strdup(r->v[i].tag);
	}
	for (i = r->n; !ri->db_release && i-- > 0;) {
		if (r->v[i].version >= 0 && r->v[i].version < db_version) {
			ri->db_after = strdup(r->v[i].tag);
			break;
		}
	}
	if (!pgw_git_head(head, &tag, g, pattern(cfg), &quiet) &&
	    !pgw_git_list(&files, &n, g, "HEAD", &quiet)) {
		struct pgw_migset *set = NULL;

		/* HEAD's version: its highest migration file */
		if (!tree_migset(&set, g, "HEAD", NULL, NULL, &quiet) &&
		    set->n) {
			ri->head_version = set->v[set->n - 1].version;
			ri->head_vtext = strdup(set->v[set->n - 1].vtext);
		}
		pgw_migset_free(set);
	}
	pgw_err_clear(&quiet);
	if (!pgw_git_dirty(&dirty, &n_dirty, g, &quiet)) {
		ri->uncommitted = calloc(n_dirty + 1, sizeof(char *));
		for (i = 0; ri->uncommitted && i < n_dirty; i++)
			ri->uncommitted[i] = strdup(dirty[i]);
		pgw_git_names_free(dirty, n_dirty);
		if (!ri->uncommitted)
			error = pgw_err_oom(err);
	}
done:
	free(tag);
	pgw_git_files_free(files, n);
	pgw_releases_free(r);
	pgw_git_close(g);
	if (error) {
		pgw_release_info_free(ri);
		return error;
	}
	*out = ri;
	return 0;
}

/* ---------------------------------------------------------------------- */
/* check */

/* The lines that differ, between what a release has and what the file
 * has now: the common head and tail left out. */
static void show_change(struct pgw_buf *out, const char *was, const char *now)
{
	const char *a = was, *b = now, *ae, *be;
	int shown = 0;

	/* common leading lines */
	for (;;) {
		size_t la = strcspn(a, "\n"), lb = strcspn(b, "\n");

		if (!*a || !*b || la != lb || strncmp(a, b, la) != 0)
			break;
		a += la + (a[la] == '\n');
		b += lb + (b[lb] == '\n');
	}
	ae = a + strlen(a);
	be = b + strlen(b);
	/* common trailing lines */
	while (ae > a && be > b) {
		const char *pa = ae, *pb = be;

		if (pa > a && pa[-1] == '\n')
			pa--;
		if (pb > b && pb[-1] == '\n')
			pb--;
		while (pa > a && pa[-1] != '\n')
			pa--;
		while (pb > b && pb[-1] != '\n')
			pb--;
		if ((size_t)(ae - pa) != (size_t)(be - pb) ||
		    memcmp(pa, pb, (size_t)(ae - pa)) != 0)
			break;
		ae = pa;
		be = pb;
	}
	while (a < ae && shown < 20) {
		size_t l = strcspn(a, "\n");

		pgw_buf_printf(out, "    - %.*s\n", (int)(l < (size_t)(ae - a) ? l : (size_t)(ae - a)), a);
		a += l + 1;
		shown++;
	}
	while (b < be && shown < 40) {
		size_t l = strcspn(b, "\n");

		pgw_buf_printf(out, "    + %.*s\n", (int)(l < (size_t)(be - b) ? l : (size_t)(be - b)), b);
		b += l + 1;
		shown++;
	}
}

static bool listed(char **names, const char *name)
{
	size_t i;

	for (i = 0; names && names[i]; i++)
		if (strcmp(names[i], name) == 0)
			return true;
	return false;
}

static int add_name(char ***names, size_t *n, const char *name)
{
	char **v = realloc(*names, (*n + 2) * sizeof(*v));

	if (!v)
		return -1;
	*names = v;
	v[*n] = strdup(name);
	v[*n + 1] = NULL;
	if (!v[*n])
		return -1;
	(*n)++;
	return 0;
}

int pgw_release_check(struct pgw_buf *problems, const struct pgw_config *cfg,
                      const struct pgw_migset *set, struct pgw_err *err)
{
	struct pgw_err quiet = PGW_ERR_INIT;
	struct pgw_git *g = NULL;
	struct pgw_releases *r = NULL;
	char **seen = NULL;
	size_t n_seen = 0, i, k, j;
	int64_t newest = -1;
	const struct pgw_release *newest_rel = NULL;
	int error;

	if (pgw_git_open(&g, cfg->migrations_dir, &quiet))
		return 0; /* not a repository: no release to keep */
	error = pgw_git_releases(&r, g, pattern(cfg), err);
	if (error)
		goto done;
	if (r->note)
		pgw_log_warn("%s", r->note);
	/* newest first: a file changed after several releases is named
	 * once, with the newest release that has its old text */
	for (i = r->n; !error && i-- > 0;) {
		const struct pgw_release *rel = &r->v[i];
		struct pgw_git_file *files = NULL;
		size_t n = 0;

		if (rel->version > newest) {
			newest = rel->version;
			newest_rel = rel;
		}
		error = pgw_git_list(&files, &n, g, rel->tag, err);
		for (k = 0; !error && k < n; k++) {
			const struct pgw_git_file *f = &files[k];
			char path[4096], oid[41], *now = NULL, *was = NULL;
			size_t len, wlen;

			if (strcmp(f->name, "schema.sql") == 0 ||
			    listed(seen, f->name))
				continue;
			if (add_name(&seen, &n_seen, f->name) != 0) {
				error = pgw_err_oom(err);
				break;
			}
			snprintf(path, sizeof(path), "%s/%s",
			         cfg->migrations_dir, f->name);
			if (file_bytes(&now, &len, path) != 0) {
				pgw_buf_printf(problems,
				               "%s is part of release %s (commit %.12s) but was removed: a released migration stays, revert it with a new migration\n",
				               f->name, rel->tag, rel->commit);
				continue;
			}
			error = pgw_git_hash(oid, now, len, err);
			if (!error && strcmp(oid, f->oid) != 0) {
				pgw_buf_printf(problems,
				               "%s was changed after release %s (commit %.12s): a released migration never changes, add a new one instead\n",
				               f->name, rel->tag, rel->commit);
				if (!pgw_git_read(&was, &wlen, g, f->oid, err))
					show_change(problems, was, now);
				free(was);
			}
			free(now);
		}
		pgw_git_files_free(files, n);
	}
	/* a new migration below the newest release never runs where that
	 * release is deployed */
	for (j = 0; !error && newest_rel && j < set->n; j++) {
		const struct pgw_migration *m = &set->v[j];
		const char *base = strrchr(m->path, '/');

		base = base ? base + 1 : m->path;
		if (listed(seen, base) || m->version >= newest)
			continue;
		pgw_buf_printf(problems,
		               "%s: version %s sorts below release %s (commit %.12s), whose newest migration is %s: databases at %s would never run it; give it a version above %s\n",
		               m->file, m->vtext, newest_rel->tag,
		               newest_rel->commit, newest_rel->vtext,
		               newest_rel->tag, newest_rel->vtext);
	}
	if (!error && pgw_buf_oom(problems))
		error = pgw_err_oom(err);
done:
	pgw_list_free(seen);
	pgw_releases_free(r);
	pgw_git_close(g);
	return error;
}

int pgw_release_schema_text(char **out, const struct pgw_config *cfg,
                            const char *tag, struct pgw_err *err)
{
	struct pgw_git *g = NULL;
	char oid[41];
	size_t len;
	int error;

	*out = NULL;
	error = pgw_git_open(&g, cfg->migrations_dir, err);
	if (!error)
		error = pgw_git_find(oid, g, tag, "schema.sql", err);
	if (!error)
		error = pgw_git_read(out, &len, g, oid, err);
	if (error == PGW_ENOTFOUND) {
		pgw_err_clear(err);
		error = 0;
	}
	pgw_git_close(g);
	return error;
}
