/* git.h - releases from git: the repository around the migrations dir,
 * its release tags and the schema version each one carries, the migration
 * files of any commit's tree.  libgit2 is loaded with dlopen() on first
 * use, so commands that never read git do not pay for it.
 *
 * Errors: PGW_ENOTFOUND when there is no repository, no such revision, no
 * commit yet, or libgit2 is not installed; PGW_EINVAL for a repository
 * that cannot be used as it is (not owned by this user, bare); PGW_ERROR
 * for anything else libgit2 reports.  Every message says what pgward was
 * doing, and the hint what to do. */
#ifndef PGW_GIT_H
#define PGW_GIT_H

#include <stddef.h>
#include <stdint.h>

#include "pgward.h"

/* An open repository around the migrations dir. */
struct pgw_git;

/* Open the repository that contains `migrations_dir` (searching up from
 * it, as git does; GIT_CEILING_DIRECTORIES is honoured; the dir itself
 * need not exist).  PGW_ENOTFOUND when it is in no git repository
 * (callers that do not need git carry on without it) or when libgit2
 * cannot be loaded (the message names the Debian package); PGW_EINVAL
 * when the repository belongs to another user and is not marked
 * safe.directory (the hint gives the command).  Costs a few milliseconds
 * the first time (loading and starting libgit2).  On success the caller
 * owns *out: pgw_git_close(). */
int pgw_git_open(struct pgw_git **out, const char *migrations_dir,
                 struct pgw_err *err);
void pgw_git_close(struct pgw_git *g); /* NULL is fine */

/* The migrations dir's path relative to the repository root ("" when it
 * is the root itself), and the root.  Borrowed: valid until close. */
const char *pgw_git_migrations_path(const struct pgw_git *g);
const char *pgw_git_workdir(const struct pgw_git *g);

struct pgw_release {
	char *tag;       /* "v1.2.0" */
	char commit[41]; /* the commit the tag points at (annotated tags
	                  * peeled) */
	int64_t time;    /* commit time, seconds since the epoch */
	int64_t version; /* highest migration version in the tag's
	                  * migrations dir; -1 when it has none */
	char vtext[32];  /* that version as its file name writes it
	                  * ("003"); "" when none */
	char *dir;       /* where the migrations dir was found in the tag's
	                  * tree, relative to the root; NULL when it has none */
};

struct pgw_releases {
	/* Sorted by version as people mean it: v1.10.0 after v1.9.0, a
	 * prefix before the first digit ignored ("v", "release-"), a
	 * pre-release (v2.0.0-rc1, v2.0.0rc1) before its release; equal
	 * versions by commit time.  Tags that are not versions come after,
	 * by commit time. */
	struct pgw_release *v;
	size_t n;
	/* NULL, or what a user must know about this list: a shallow clone
	 * (with or without tags), no tag at all, no tag matching the
	 * pattern.  One line, with the fix. */
	char *note;
	bool shallow;     /* the clone is shallow */
	size_t n_tags;    /* every tag in the repository */
	size_t n_skipped; /* matching tags that are no release (on a blob
	                   * or tree, or their commit is not in the clone);
	                   * each one was logged as a warning */
};

/* Every tag matching `pattern` (an fnmatch glob on the tag's name;
 * NULL: "v*"), lightweight and annotated.  A tag on a tree or a blob is
 * skipped with a warning.  Caller owns *out: pgw_releases_free(). */
int pgw_git_releases(struct pgw_releases **out, struct pgw_git *g,
                     const char *pattern, struct pgw_err *err);
void pgw_releases_free(struct pgw_releases *r); /* NULL is fine */

/* A migration file in a tree. */
struct pgw_git_file {
	char *name;   /* "003_add_email.sql" */
	char oid[41]; /* its blob */
};

/* The migration files of `rev`'s tree (a tag name, "HEAD", a commit or
 * tag id): every *.sql file that the migrations dir loader reads (not
 * hidden, not schema.sql; symbolic links are left out), sorted by name.
 * The migrations dir is looked for at the same path relative to the root
 * as the working one; when the tree has nothing there (the dir moved),
 * its one directory with the same base name is used, else the one
 * directory holding NNN_*.sql files, if exactly one does.  *n = 0 and
 * *out = NULL when the tree has none.  An unknown rev is PGW_ENOTFOUND.
 * Caller owns *out: pgw_git_files_free(). */
int pgw_git_list(struct pgw_git_file **out, size_t *n, struct pgw_git *g,
                 const char *rev, struct pgw_err *err);
void pgw_git_files_free(struct pgw_git_file *f, size_t n);

/* The blob id of `name` (e.g. "schema.sql") in `rev`'s migrations dir,
 * found as pgw_git_list finds it.  PGW_ENOTFOUND when it is not there. */
int pgw_git_find(char oid[41], struct pgw_git *g, const char *rev,
                 const char *name, struct pgw_err *err);

/* The content of a blob.  Caller owns *data (free()); it is
 * NUL-terminated, *len does not count the NUL. */
int pgw_git_read(char **data, size_t *len, struct pgw_git *g, const char *oid,
                 struct pgw_err *err);

/* The blob id git gives these bytes (what `git hash-object` prints), to
 * compare working files with a tree without reading blobs. */
int pgw_git_hash(char oid[41], const void *data, size_t len,
                 struct pgw_err *err);

/* HEAD's commit (detached or not), and the name of a tag matching
 * `pattern` (NULL: "v*") that points at it, the newest release when
 * several do (*tag NULL when none; caller frees it).  An unborn HEAD (no
 * commit yet) is PGW_ENOTFOUND. */
int pgw_git_head(char commit[41], char **tag, struct pgw_git *g,
                 const char *pattern, struct pgw_err *err);

/* The working-tree state of the migrations dir: files (not ignored) that
 * are untracked, modified, deleted, or staged and not committed; names
 * relative to the migrations dir, sorted.  Caller owns *names:
 * pgw_git_names_free(). */
int pgw_git_dirty(char ***names, size_t *n, struct pgw_git *g,
                  struct pgw_err *err);
void pgw_git_names_free(char **names, size_t n);

#endif
