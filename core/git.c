/* git.c - releases from git through libgit2, which is loaded with dlopen()
 * on first use: linking it would cost every start of pgward about a
 * millisecond, and a no-op run must stay in milliseconds.  Tags and the
 * schema version each one carries, the migration files of any tree, HEAD
 * and the working state of the migrations dir. */
#include "git.h"
#include "migfile.h"

#include <ctype.h>
#include <dlfcn.h>
#include <errno.h>
#include <fnmatch.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <string.h>
#include <unistd.h>

#include <git2.h>

#define LG_SONAME "libgit2.so.1.5"
#define LG_PACKAGE "libgit2-1.5"
#define DEFAULT_PATTERN "v*"
#define FETCH_FIX \
	"set 'fetch-depth: 0' in the actions/checkout step, or run 'git fetch --tags --unshallow'"

/* ---- libgit2, loaded on first use ---------------------------------------- */

#define LG_FUNCS(X)                   \
	X(git_libgit2_init)           \
	X(git_libgit2_shutdown)       \
	X(git_error_last)             \
	X(git_repository_open_ext)    \
	X(git_repository_free)        \
	X(git_repository_workdir)     \
	X(git_repository_is_shallow)  \
	X(git_repository_head_unborn) \
	X(git_reference_name_to_id)   \
	X(git_tag_foreach)            \
	X(git_tag_peel)               \
	X(git_object_lookup)          \
	X(git_object_free)            \
	X(git_object_type)            \
	X(git_object_id)              \
	X(git_object_peel)            \
	X(git_object_type2string)     \
	X(git_revparse_single)        \
	X(git_commit_time)            \
	X(git_commit_tree)            \
	X(git_tree_id)                \
	X(git_tree_lookup)            \
	X(git_tree_free)              \
	X(git_tree_entry_bypath)      \
	X(git_tree_entry_free)        \
	X(git_tree_entrycount)        \
	X(git_tree_entry_byindex)     \
	X(git_tree_entry_byname)      \
	X(git_tree_entry_name)        \
	X(git_tree_entry_id)          \
	X(git_tree_entry_type)        \
	X(git_tree_entry_filemode)    \
	X(git_tree_walk)              \
	X(git_blob_lookup)            \
	X(git_blob_rawcontent)        \
	X(git_blob_rawsize)           \
	X(git_blob_free)              \
	X(git_odb_hash)               \
	X(git_oid_fmt)                \
	X(git_oid_fromstrn)           \
	X(git_status_list_new)        \
	X(git_status_list_entrycount) \
	X(git_status_byindex)         \
	X(git_status_list_free)

/* One typed pointer per libgit2 function used, named like it. */
struct lg_api {
#define LG_SLOT(f) __typeof__(f) *f;
	LG_FUNCS(LG_SLOT)
#undef LG_SLOT
};

static struct lg_api lg;
static bool lg_ready;
static char lg_error[512];
static pthread_once_t lg_once = PTHREAD_ONCE_INIT;

static void lg_load_once(void)
{
	static const struct {
		const char *name;
		size_t off;
	} syms[] = {
#define LG_SYM(f) { #f, offsetof(struct lg_api, f) },
		LG_FUNCS(LG_SYM)
#undef LG_SYM
	};
	struct lg_api api;
	const char *why;
	void *h, *p;
	size_t i;

	h = dlopen(LG_SONAME, RTLD_NOW | RTLD_LOCAL);
	if (!h) {
		why = dlerror();
		snprintf(lg_error, sizeof(lg_error), "%s",
		         why ? why : "cannot load " LG_SONAME);
		return;
	}
	for (i = 0; i < sizeof(syms) / sizeof(syms[0]); i++) {
		p = dlsym(h, syms[i].name);
		if (!p) {
			snprintf(lg_error, sizeof(lg_error),
			         "%s has no %s (libgit2 1.5 is needed)",
			         LG_SONAME, syms[i].name);
			dlclose(h);
			return;
		}
		/* POSIX: a function's address comes back as void * */
		memcpy((char *)&api + syms[i].off, &p, sizeof(p));
	}
	lg = api;
	lg_ready = true;
}

/* Load libgit2 and take a reference on its global state; every success
 * is paired with lg_end(), so nothing of libgit2 is left at exit. */
static int lg_begin(struct pgw_err *err)
{
	pthread_once(&lg_once, lg_load_once);
	if (!lg_ready) {
		pgw_err_set(err, PGW_ENOTFOUND,
		            "cannot read git: libgit2 is not available (%s)",
		            lg_error);
		pgw_err_hint(
		        err,
		        "install the Debian package %s (apt-get install %s)",
		        LG_PACKAGE, LG_PACKAGE);
		return PGW_ENOTFOUND;
	}
	if (lg.git_libgit2_init() < 0)
		return pgw_err_set(err, PGW_ERROR,
		                   "cannot read git: libgit2 did not start");
	return 0;
}

static void lg_end(void)
{
	lg.git_libgit2_shutdown();
}

/* libgit2's last message, on one line. */
static void lg_message(char *out, size_t size, int rc)
{
	const git_error *ge = lg.git_error_last();
	size_t len, i;

	if (ge && ge->message && *ge->message)
		snprintf(out, size, "%s", ge->message);
	else
		snprintf(out, size, "libgit2 error %d", rc);
	for (i = 0; out[i]; i++)
		if (out[i] == '\n' || out[i] == '\r' || out[i] == '\t')
			out[i] = ' ';
	len = strlen(out);
	while (len && (out[len - 1] == ' ' || out[len - 1] == '.'))
		out[--len] = '\0';
}

/* Set err from libgit2's error `rc`: "WHAT: libgit2's message", with the
 * hint (NULL: none).  Returns the pgw code. */
static int lg_fail(struct pgw_err *err, int rc, const char *hint,
                   const char *fmt, ...) PGW_PRINTF(4, 5);

static int lg_fail(struct pgw_err *err, int rc, const char *hint,
                   const char *fmt, ...)
{
	char what[512], msg[512];
	va_list ap;
	int code;

	code = rc == GIT_ENOTFOUND ? PGW_ENOTFOUND
	       : rc == GIT_EOWNER  ? PGW_EINVAL
	                           : PGW_ERROR;
	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	lg_message(msg, sizeof(msg), rc);
	pgw_err_set(err, code, "%s: %s", what, msg);
	if (hint)
		pgw_err_hint(err, "%s", hint);
	return code;
}

static void oid_hex(char out[41], const git_oid *id)
{
	lg.git_oid_fmt(out, id);
	out[40] = '\0';
}

static int oid_parse(git_oid *id, const char *hex, struct pgw_err *err)
{
	size_t n = strspn(hex, "0123456789abcdefABCDEF");

	if (n != 40 || hex[n] || lg.git_oid_fromstrn(id, hex, 40) < 0)
		return pgw_err_set(
		        err, PGW_EINVAL,
		        "'%s' is not a git object id (40 hex digits)", hex);
	return 0;
}

/* ---- the repository ------------------------------------------------------ */

struct pgw_git {
	git_repository *repo;
	char *given; /* the migrations dir as given, for messages */
	char *root;  /* the work tree, canonical, no trailing '/' */
	char *rel;   /* the migrations dir relative to root; "" is the root */
	char *base;  /* its last component ("" for the root) */
};

static char *join(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	char *s = malloc(la + lb + 2);

	if (!s)
		return NULL;
	memcpy(s, a, la);
	s[la] = '/';
	memcpy(s + la + 1, b, lb + 1);
	if (la && a[la - 1] == '/')
		memmove(s + la, s + la + 1, lb + 1);
	return s;
}

/* The canonical absolute path of `dir`, which need not exist (a
 * migrations dir that was moved away): the deepest part that exists is
 * resolved, the rest appended.  *start is that existing part, where the
 * search for the repository begins.  Caller owns both. */
static int resolve_dir(char **abs, char **start, const char *dir,
                       struct pgw_err *err)
{
	char *path = NULL, *real = NULL;
	char cwd[PATH_MAX];
	size_t len, end, cut, i;

	*abs = *start = NULL;
	real = realpath(dir, NULL);
	if (real) {
		*abs = real;
		*start = strdup(real);
		if (!*start) {
			free(real);
			*abs = NULL;
			return pgw_err_oom(err);
		}
		return 0;
	}
	if (dir[0] == '/') {
		path = strdup(dir);
	} else {
		if (!getcwd(cwd, sizeof(cwd)))
			return pgw_err_set(
			        err, PGW_EIO,
			        "cannot find the current directory: %s",
			        strerror(errno));
		path = join(cwd, dir);
	}
	if (!path)
		return pgw_err_oom(err);
	len = strlen(path);
	while (len > 1 && path[len - 1] == '/')
		path[--len] = '\0';
	/* cut components off the end until what is left exists */
	end = len;
	cut = 0;
	while (!real) {
		i = end;
		while (i > 0 && path[i - 1] != '/')
			i--;
		if (i == 0)
			break;
		cut = i - 1;
		if (cut == 0) {
			real = strdup("/");
			break;
		}
		path[cut] = '\0';
		real = realpath(path, NULL);
		path[cut] = '/';
		end = cut;
	}
	if (!real) {
		free(path);
		return pgw_err_set(err, PGW_EIO, "cannot resolve '%s': %s", dir,
		                   strerror(errno));
	}
	*start = real;
	*abs = join(real, path + cut + 1);
	free(path);
	if (!*abs) {
		free(*start);
		*start = NULL;
		return pgw_err_oom(err);
	}
	return 0;
}

/* libgit2 refused a repository owned by another user (git's "dubious
 * ownership").  libgit2 1.5.1 says so with GIT_ENOTFOUND and "config
 * value 'safe.directory' was not found" when safe.directory is not set,
 * with GIT_EOWNER when it is set to other paths. */
static bool owner_refused(int rc)
{
	const git_error *ge;

	if (rc == GIT_EOWNER)
		return true;
	if (rc != GIT_ENOTFOUND)
		return false;
	ge = lg.git_error_last();
	return ge && ge->message && strstr(ge->message, "safe.directory");
}

/* The error for owner_refused(), naming the repository's top directory
 * (the first one above `start` with a .git) for safe.directory. */
static int owner_error(struct pgw_err *err, const char *start)
{
	char *dir = strdup(start), *slash;
	struct stat sb;
	char *dotgit;
	bool found = false;

	while (dir && !found) {
		dotgit = join(dir, ".git");
		found = dotgit && lstat(dotgit, &sb) == 0;
		free(dotgit);
		if (found)
			break;
		slash = strrchr(dir, '/');
		if (!slash || slash == dir)
			break;
		*slash = '\0';
	}
	if (found && stat(dir, &sb) == 0)
		pgw_err_set(
		        err, PGW_EINVAL,
		        "cannot read the git repository at '%s': it belongs to another user (uid %ld, pgward runs as uid %ld)",
		        dir, (long)sb.st_uid, (long)geteuid());
	else
		pgw_err_set(
		        err, PGW_EINVAL,
		        "cannot read the git repository around '%s': it belongs to another user than the one running pgward",
		        start);
	pgw_err_hint(
	        err,
	        "usual when a container runs as another user than the checkout's: mark it safe with 'git config --global --add safe.directory %s' (libgit2 1.5 ignores '*'), or run pgward as its owner",
	        found ? dir : "DIR");
	free(dir);
	return PGW_EINVAL;
}

void pgw_git_close(struct pgw_git *g)
{
	if (!g)
		return;
	if (g->repo)
		lg.git_repository_free(g->repo);
	free(g->given);
	free(g->root);
	free(g->rel);
	free(g->base);
	free(g);
	lg_end();
}

/* Is there a .git (directory or file) in `dir` or a directory above it? */
static bool git_dir_above(const char *dir)
{
	char path[PATH_MAX];
	struct stat st;
	size_t len = strlen(dir);

	if (len >= sizeof(path) - 6)
		return true; /* let libgit2 decide */
	memcpy(path, dir, len + 1);
	for (;;) {
		snprintf(path + len, sizeof(path) - len, "%s.git",
		         path[len - 1] == '/' ? "" : "/");
		if (lstat(path, &st) == 0)
			return true;
		path[len] = '\0';
		if (len <= 1)
			return false;
		while (len > 1 && path[len - 1] != '/')
			len--;
		if (len > 1)
			len--; /* the slash */
		path[len] = '\0';
	}
}

static int not_a_repository(struct pgw_err *err, const char *migrations_dir,
			    const char *abs, const char *start)
{
	int error;

	if (!strcmp(abs, start))
		error = pgw_err_set(
		        err, PGW_ENOTFOUND,
		        "migrations dir '%s' is not in a git repository",
		        migrations_dir);
	else
		error = pgw_err_set(
		        err, PGW_ENOTFOUND,
		        "migrations dir '%s' does not exist and is not in a git repository (none in '%s' or above it)",
		        migrations_dir, start);
	pgw_err_hint(
	        err,
	        "releases are git tags: run pgward in a clone of the repository, or give --migrations a path inside one");
	return error;
}

int pgw_git_open(struct pgw_git **out, const char *migrations_dir,
                 struct pgw_err *err)
{
	struct pgw_git *g = NULL;
	char *abs = NULL, *start = NULL, *p;
	const char *wd;
	size_t len;
	int rc, error;

	*out = NULL;
	error = resolve_dir(&abs, &start, migrations_dir, err);
	if (error)
		return error;
	/* no .git in the directory or above it: not a repository, and
	 * libgit2 (with the TLS libraries it pulls in) need not be loaded */
	if (!getenv("GIT_DIR") && !git_dir_above(start)) {
		error = not_a_repository(err, migrations_dir, abs, start);
		free(abs);
		free(start);
		return error;
	}
	error = lg_begin(err);
	if (error) {
		free(abs);
		free(start);
		return error;
	}
	g = calloc(1, sizeof(*g));
	if (!g) {
		lg_end();
		free(abs);
		free(start);
		return pgw_err_oom(err);
	}
	g->given = strdup(migrations_dir);
	if (!g->given) {
		error = pgw_err_oom(err);
		goto done;
	}
	rc = lg.git_repository_open_ext(&g->repo, start, 0,
	                                getenv("GIT_CEILING_DIRECTORIES"));
	if (owner_refused(rc)) {
		error = owner_error(err, start);
		goto done;
	}
	if (rc == GIT_ENOTFOUND) {
		error = not_a_repository(err, migrations_dir, abs, start);
		goto done;
	}
	if (rc < 0) {
		error = lg_fail(err, rc, "check that 'git status' works there",
		                "cannot open the git repository around '%s'",
		                migrations_dir);
		goto done;
	}
	wd = lg.git_repository_workdir(g->repo);
	if (!wd) {
		error = pgw_err_set(
		        err, PGW_EINVAL,
		        "the git repository around '%s' is bare: it has no files to read migrations from",
		        migrations_dir);
		pgw_err_hint(err, "run pgward in a clone with a work tree");
		goto done;
	}
	g->root = realpath(wd, NULL);
	if (!g->root) {
		error = pgw_err_set(err, PGW_EIO, "cannot resolve '%s': %s", wd,
		                    strerror(errno));
		goto done;
	}
	len = strlen(g->root);
	if (!strcmp(abs, g->root))
		p = abs + len;
	else if (len == 1)
		p = abs + 1;
	else if (!strncmp(abs, g->root, len) && abs[len] == '/')
		p = abs + len + 1;
	else
		p = NULL;
	if (!p) {
		error = pgw_err_set(
		        err, PGW_EINVAL,
		        "migrations dir '%s' is outside the work tree of its git repository ('%s')",
		        migrations_dir, g->root);
		pgw_err_hint(err,
		             "is GIT_DIR or GIT_WORK_TREE set? unset them");
		goto done;
	}
	g->rel = strdup(p);
	g->base = strdup(strrchr(abs, '/') ? strrchr(abs, '/') + 1 : abs);
	if (!g->rel || !g->base) {
		error = pgw_err_oom(err);
		goto done;
	}
	pgw_log_debug("git: repository '%s', migrations dir '%s'", g->root,
	              *g->rel ? g->rel : ".");
	*out = g;
	g = NULL;
done:
	free(abs);
	free(start);
	pgw_git_close(g);
	return error;
}

const char *pgw_git_migrations_path(const struct pgw_git *g)
{
	return g->rel;
}

const char *pgw_git_workdir(const struct pgw_git *g)
{
	return g->root;
}

/* ---- migration file names ------------------------------------------------ */

enum mig_kind {
	MIG_NONE = 0, /* not a migration file */
	MIG_UP = 1,   /* NNN_name.sql or NNN_name.up.sql: a version */
	MIG_PART = 2, /* NNN_name.down.sql, .verify.sql */
};

/* A file the migrations dir loader reads: *.sql, not hidden, not
 * schema.sql. */
static bool is_sql_file(const char *name)
{
	size_t n = strlen(name);

	return name[0] != '.' && n >= 4 && strcmp(name + n - 4, ".sql") == 0 &&
	       strcmp(name, "schema.sql") != 0;
}

/* What a file name is, by the rules of the migrations dir (migfile.c).
 * Writes the version and its digits as written when it is one. */
static enum mig_kind mig_name(const char *name, int64_t *version,
                              char vtext[32])
{
	struct pgw_err ignored = PGW_ERR_INIT;
	size_t digits, stem;
	int part;
	char num[32];

	if (!pgw_migfile_name(name, &part, &digits, &stem) ||
	    digits >= sizeof(num))
		return MIG_NONE;
	memcpy(num, name, digits);
	num[digits] = '\0';
	if (pgw_version_parse(version, num, &ignored))
		return MIG_NONE;
	memcpy(vtext, num, digits + 1);
	return part == -1 || part == PGW_SEC_UP ? MIG_UP : MIG_PART;
}

/* ---- finding the migrations dir in a tree -------------------------------- */

struct dir_search {
	const char *base;
	char *same[2]; /* the first directories named like the
	                * migrations dir */
	size_t n_same;
	char *holding[2]; /* the first directories holding NNN_*.sql files */
	size_t n_holding; /* (more than 2: not exact) */
	bool oom;
};

/* Keep path (n bytes) as the next of up to two in v. */
static bool keep_path(char *v[2], size_t *count, const char *path, size_t n)
{
	size_t i;

	for (i = 0; i < 2 && i < *count; i++)
		if (strlen(v[i]) == n && !strncmp(v[i], path, n))
			return true;
	if (*count < 2) {
		v[*count] = strndup(path, n);
		if (!v[*count])
			return false;
	}
	(*count)++;
	return true;
}

static int search_cb(const char *root, const git_tree_entry *e, void *payload)
{
	struct dir_search *s = payload;
	const char *name = lg.git_tree_entry_name(e);
	size_t rlen = strlen(root);
	char vtext[32], *path;
	int64_t v;
	bool ok;

	if (lg.git_tree_entry_type(e) == GIT_OBJECT_TREE) {
		if (strcmp(name, s->base) != 0)
			return 0;
		path = malloc(rlen + strlen(name) + 1);
		if (!path) {
			s->oom = true;
			return -1;
		}
		memcpy(path, root, rlen);
		strcpy(path + rlen, name);
		ok = keep_path(s->same, &s->n_same, path, strlen(path));
		free(path);
	} else if (lg.git_tree_entry_type(e) == GIT_OBJECT_BLOB &&
	           mig_name(name, &v, vtext) != MIG_NONE) {
		/* root is "a/b/" (or "" at the top): the directory */
		ok = keep_path(s->holding, &s->n_holding, root,
		               rlen ? rlen - 1 : 0);
	} else {
		return 0;
	}
	if (!ok) {
		s->oom = true;
		return -1;
	}
	return 0;
}

/* "'a', 'b'" or "'a', 'b', ..." */
static void two_paths(char *out, size_t size, char *const v[2], size_t n)
{
	snprintf(out, size, "'%s', '%s'%s", v[0], v[1], n > 2 ? ", ..." : "");
}

/* The migrations dir in the tree `root`: 1 with its tree id in *oid and
 * its path in *path (caller frees; "" is the root); 0 when the tree has
 * none; < 0 on error.  `what` names the tree in messages. */
static int find_dir(git_oid *oid, char **path, struct pgw_git *g,
                    git_tree *root, const char *what, struct pgw_err *err)
{
	struct dir_search s;
	char list[256];
	git_tree_entry *e = NULL;
	const char *pick = NULL;
	int rc, found = 0;

	*path = NULL;
	memset(&s, 0, sizeof(s));
	s.base = g->base;
	if (!*g->rel) {
		*oid = *lg.git_tree_id(root);
		*path = strdup("");
		return *path ? 1 : pgw_err_oom(err);
	}
	rc = lg.git_tree_entry_bypath(&e, root, g->rel);
	if (rc == 0 && lg.git_tree_entry_type(e) == GIT_OBJECT_TREE) {
		*oid = *lg.git_tree_entry_id(e);
		lg.git_tree_entry_free(e);
		*path = strdup(g->rel);
		return *path ? 1 : pgw_err_oom(err);
	}
	if (rc == 0)
		lg.git_tree_entry_free(e);
	else if (rc != GIT_ENOTFOUND)
		return lg_fail(err, rc, NULL,
		               "cannot read '%s' in the tree of '%s'", g->rel,
		               what);
	/* not there: the dir moved between then and now */
	rc = lg.git_tree_walk(root, GIT_TREEWALK_PRE, search_cb, &s);
	if (s.oom) {
		found = pgw_err_oom(err);
		goto done;
	}
	if (rc < 0) {
		found = lg_fail(err, rc, NULL, "cannot read the tree of '%s'",
		                what);
		goto done;
	}
	if (s.n_same == 1)
		pick = s.same[0];
	else if (s.n_holding == 1)
		pick = s.holding[0];
	if (!pick && s.n_same > 1) {
		two_paths(list, sizeof(list), s.same, s.n_same);
		pgw_log_warn(
		        "'%s' has no '%s', and several directories are named '%s' (%s): it is unclear which one holds its migrations, none is read",
		        what, g->rel, g->base, list);
	} else if (!pick && s.n_holding > 1) {
		two_paths(list, sizeof(list), s.holding, s.n_holding);
		pgw_log_warn(
		        "'%s' has no '%s', and several directories hold migration files (%s): it is unclear which one is the migrations dir, none is read",
		        what, g->rel, list);
	}
	if (!pick)
		goto done;
	if (!*pick) {
		*oid = *lg.git_tree_id(root);
	} else {
		rc = lg.git_tree_entry_bypath(&e, root, pick);
		if (rc < 0) {
			found = lg_fail(err, rc, NULL,
			                "cannot read '%s' in the tree of '%s'",
			                pick, what);
			goto done;
		}
		*oid = *lg.git_tree_entry_id(e);
		lg.git_tree_entry_free(e);
	}
	*path = strdup(pick);
	if (!*path) {
		found = pgw_err_oom(err);
		goto done;
	}
	pgw_log_debug("%s: migrations dir '%s' (not at '%s' then)", what, pick,
	              g->rel);
	found = 1;
done:
	free(s.same[0]);
	free(s.same[1]);
	free(s.holding[0]);
	free(s.holding[1]);
	return found;
}

/* The tree of the commit `rev` names, and the commit's id. */
static int rev_tree(git_tree **out, char commit[41], struct pgw_git *g,
                    const char *rev, struct pgw_err *err)
{
	git_object *obj = NULL, *peeled = NULL;
	int rc, error = 0;

	*out = NULL;
	rc = lg.git_revparse_single(&obj, g->repo, rev);
	if (rc == GIT_ENOTFOUND || rc == GIT_EAMBIGUOUS ||
	    rc == GIT_EINVALIDSPEC) {
		error = lg_fail(
		        err, GIT_ENOTFOUND,
		        "'git tag --list' shows the tags; a clone made without them gets them with 'git fetch --tags'",
		        "no commit or tag '%s' in the git repository", rev);
		goto done;
	}
	if (rc < 0) {
		error = lg_fail(err, rc, NULL, "cannot read '%s' in git", rev);
		goto done;
	}
	rc = lg.git_object_peel(&peeled, obj, GIT_OBJECT_COMMIT);
	if (rc < 0) {
		error = pgw_err_set(
		        err, PGW_EINVAL,
		        "'%s' is a %s in git, not a commit: it has no migrations dir",
		        rev,
		        lg.git_object_type2string(lg.git_object_type(obj)));
		goto done;
	}
	if (commit)
		oid_hex(commit, lg.git_object_id(peeled));
	rc = lg.git_commit_tree(out, (git_commit *)peeled);
	if (rc < 0)
		error = lg_fail(err, rc, NULL, "cannot read the tree of '%s'",
		                rev);
done:
	if (peeled)
		lg.git_object_free(peeled);
	if (obj)
		lg.git_object_free(obj);
	return error;
}

/* ---- release order ------------------------------------------------------- */

#define MAX_PARTS 8

/* A tag name read as a version: prefix (up to the first digit) ignored,
 * numbers separated by dots, then an optional pre-release ("-rc1",
 * "rc1", "-beta.2"); "+build" is ignored. */
struct vkey {
	bool is_version;
	size_t n;
	unsigned long long part[MAX_PARTS];
	const char *pre; /* NULL: a release */
	size_t pre_len;
};

static void vkey_parse(struct vkey *k, const char *name)
{
	const char *p = name;
	size_t i;

	memset(k, 0, sizeof(*k));
	while (*p && !isdigit((unsigned char)*p))
		p++;
	if (!*p)
		return;
	k->is_version = true;
	for (;;) {
		unsigned long long v = 0;

		while (isdigit((unsigned char)*p)) {
			if (v > (ULLONG_MAX - 9) / 10)
				v = ULLONG_MAX; /* saturate: still ordered */
			else
				v = v * 10 + (unsigned long long)(*p - '0');
			p++;
		}
		if (k->n < MAX_PARTS)
			k->part[k->n++] = v;
		if (*p == '.' && isdigit((unsigned char)p[1]))
			p++;
		else
			break;
	}
	if (!*p || *p == '+')
		return;
	if (*p == '-' || *p == '.' || *p == '_' || *p == '~')
		p++;
	i = strcspn(p, "+");
	if (i) {
		k->pre = p;
		k->pre_len = i;
	}
}

/* Natural order of pre-release labels: runs of digits as numbers
 * ("rc2" < "rc10"), the rest byte by byte ("alpha" < "beta" < "rc"). */
static int natural_cmp(const char *a, size_t an, const char *b, size_t bn)
{
	size_t i = 0, j = 0;

	while (i < an && j < bn) {
		if (isdigit((unsigned char)a[i]) &&
		    isdigit((unsigned char)b[j])) {
			size_t si, sj, li, lj;
			int c;

			while (i < an && a[i] == '0')
				i++;
			while (j < bn && b[j] == '0')
				j++;
			si = i;
			sj = j;
			while (i < an && isdigit((unsigned char)a[i]))
				i++;
			while (j < bn && isdigit((unsigned char)b[j]))
				j++;
			li = i - si;
			lj = j - sj;
			if (li != lj)
				return li < lj ? -1 : 1;
			c = memcmp(a + si, b + sj, li);
			if (c)
				return c < 0 ? -1 : 1;
			continue;
		}
		if (a[i] != b[j])
			return (unsigned char)a[i] < (unsigned char)b[j] ? -1
			                                                 : 1;
		i++;
		j++;
	}
	if (i < an)
		return 1;
	if (j < bn)
		return -1;
	return 0;
}

/* Version order of two tag names; 0 also when neither is a version. */
static int vkey_cmp(const struct vkey *a, const struct vkey *b)
{
	size_t i, n = a->n > b->n ? a->n : b->n;

	if (a->is_version != b->is_version)
		return a->is_version ? -1 : 1;
	if (!a->is_version)
		return 0;
	for (i = 0; i < n; i++) {
		unsigned long long x = i < a->n ? a->part[i] : 0;
		unsigned long long y = i < b->n ? b->part[i] : 0;

		if (x != y)
			return x < y ? -1 : 1;
	}
	if (!a->pre != !b->pre)
		return a->pre ? -1 : 1; /* v2.0.0-rc1 before v2.0.0 */
	if (a->pre)
		return natural_cmp(a->pre, a->pre_len, b->pre, b->pre_len);
	return 0;
}

static int release_cmp(const void *pa, const void *pb)
{
	const struct pgw_release *a = pa, *b = pb;
	struct vkey ka, kb;
	int c;

	vkey_parse(&ka, a->tag);
	vkey_parse(&kb, b->tag);
	c = vkey_cmp(&ka, &kb);
	if (c)
		return c;
	if (a->time != b->time)
		return a->time < b->time ? -1 : 1;
	return strcmp(a->tag, b->tag);
}

/* ---- tags ---------------------------------------------------------------- */

struct tag_ref {
	char *name; /* without refs/tags/ */
	git_oid oid;
};

struct tag_list {
	const char *pattern;
	struct tag_ref *v;
	size_t n, cap;
	size_t total; /* every tag, matching or not */
	bool oom;
};

static int tag_cb(const char *name, git_oid *oid, void *payload)
{
	struct tag_list *l = payload;
	const char *shortname = name;

	if (!strncmp(name, "refs/tags/", 10))
		shortname = name + 10;
	l->total++;
	if (fnmatch(l->pattern, shortname, 0) != 0)
		return 0;
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 64;
		struct tag_ref *v = realloc(l->v, cap * sizeof(*v));

		if (!v) {
			l->oom = true;
			return -1;
		}
		l->v = v;
		l->cap = cap;
	}
	l->v[l->n].name = strdup(shortname);
	if (!l->v[l->n].name) {
		l->oom = true;
		return -1;
	}
	l->v[l->n].oid = *oid;
	l->n++;
	return 0;
}

static void tag_list_release(struct tag_list *l)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		free(l->v[i].name);
	free(l->v);
	memset(l, 0, sizeof(*l));
}

static int tag_list_read(struct tag_list *l, struct pgw_git *g,
                         const char *pattern, struct pgw_err *err)
{
	int rc;

	memset(l, 0, sizeof(*l));
	l->pattern = pattern ? pattern : DEFAULT_PATTERN;
	rc = lg.git_tag_foreach(g->repo, tag_cb, l);
	if (l->oom) {
		tag_list_release(l);
		return pgw_err_oom(err);
	}
	if (rc < 0) {
		tag_list_release(l);
		return lg_fail(
		        err, rc, "check that 'git tag --list' works there",
		        "cannot list the tags of the git repository at '%s'",
		        g->root);
	}
	return 0;
}

/* The commit a tag stands for, annotated tags peeled: 1 and *out (free
 * with git_object_free), 0 when it is no release (logged unless quiet),
 * < 0 on error. */
static int tag_commit(git_object **out, struct pgw_git *g,
                      const struct tag_ref *t, bool quiet, struct pgw_err *err)
{
	git_object *obj = NULL, *target = NULL;
	char hex[41];
	int rc;

	*out = NULL;
	rc = lg.git_object_lookup(&obj, g->repo, &t->oid, GIT_OBJECT_ANY);
	if (rc == 0 && lg.git_object_type(obj) == GIT_OBJECT_TAG) {
		rc = lg.git_tag_peel(&target, (git_tag *)obj);
		lg.git_object_free(obj);
		obj = NULL;
	} else if (rc == 0) {
		target = obj;
		obj = NULL;
	}
	if (rc == GIT_ENOTFOUND) {
		/* a shallow or partial clone without the tagged object */
		if (!quiet) {
			oid_hex(hex, &t->oid);
			pgw_log_warn(
			        "tag '%s': what it points at (%.12s) is not in this clone: skipped",
			        t->name, hex);
		}
		return 0;
	}
	if (rc < 0)
		return lg_fail(err, rc, NULL, "cannot read tag '%s'", t->name);
	if (lg.git_object_type(target) != GIT_OBJECT_COMMIT) {
		if (!quiet)
			pgw_log_warn(
			        "tag '%s' points at a %s, not a commit: skipped (a release is a tag on a commit)",
			        t->name,
			        lg.git_object_type2string(
			                lg.git_object_type(target)));
		lg.git_object_free(target);
		return 0;
	}
	*out = target;
	return 1;
}

/* Schema versions of migrations dir trees already read: tags that share
 * one (no new migration between them) read it once. */
struct vcache_slot {
	git_oid oid;
	bool used;
	int64_t version;
	char vtext[32];
};

struct vcache {
	struct vcache_slot *slot;
	size_t cap; /* a power of two */
};

static struct vcache_slot *vcache_find(struct vcache *c, const git_oid *oid)
{
	size_t h = 0, i;

	memcpy(&h, oid->id,
	       sizeof(h) < GIT_OID_RAWSZ ? sizeof(h) : GIT_OID_RAWSZ);
	for (i = h & (c->cap - 1);; i = (i + 1) & (c->cap - 1))
		if (!c->slot[i].used ||
		    !memcmp(c->slot[i].oid.id, oid->id, GIT_OID_RAWSZ))
			return &c->slot[i];
}

/* The highest migration version in the tree `oid`. */
static int dir_version(int64_t *version, char vtext[32], struct pgw_git *g,
                       const git_oid *oid, const char *what,
                       struct pgw_err *err)
{
	git_tree *t = NULL;
	size_t i, n;
	int rc;

	*version = -1;
	vtext[0] = '\0';
	rc = lg.git_tree_lookup(&t, g->repo, oid);
	if (rc < 0)
		return lg_fail(err, rc, NULL,
		               "cannot read the migrations dir of '%s'", what);
	n = lg.git_tree_entrycount(t);
	for (i = 0; i < n; i++) {
		const git_tree_entry *e = lg.git_tree_entry_byindex(t, i);
		git_filemode_t mode = lg.git_tree_entry_filemode(e);
		char vt[32];
		int64_t v;

		if (mode != GIT_FILEMODE_BLOB &&
		    mode != GIT_FILEMODE_BLOB_EXECUTABLE)
			continue;
		if (mig_name(lg.git_tree_entry_name(e), &v, vt) == MIG_UP &&
		    v > *version) {
			*version = v;
			memcpy(vtext, vt, sizeof(vt));
		}
	}
	lg.git_tree_free(t);
	return 0;
}

/* Fill r (tag already set) from the tag's commit. */
static int release_read(struct pgw_release *r, struct pgw_git *g,
                        git_object *commit, struct vcache *cache,
                        struct pgw_err *err)
{
	git_tree *root = NULL;
	struct vcache_slot *slot;
	git_oid dir;
	int rc, found, error = 0;

	oid_hex(r->commit, lg.git_object_id(commit));
	r->time = (int64_t)lg.git_commit_time((git_commit *)commit);
	r->version = -1;
	r->vtext[0] = '\0';
	rc = lg.git_commit_tree(&root, (git_commit *)commit);
	if (rc < 0)
		return lg_fail(err, rc,
		               "in a shallow or partial clone: " FETCH_FIX,
		               "cannot read the tree of tag '%s'", r->tag);
	found = find_dir(&dir, &r->dir, g, root, r->tag, err);
	if (found < 0) {
		error = found;
		goto done;
	}
	if (!found)
		goto done;
	slot = vcache_find(cache, &dir);
	if (!slot->used) {
		error = dir_version(&slot->version, slot->vtext, g, &dir,
		                    r->tag, err);
		if (error)
			goto done;
		slot->oid = dir;
		slot->used = true;
	}
	r->version = slot->version;
	memcpy(r->vtext, slot->vtext, sizeof(r->vtext));
done:
	lg.git_tree_free(root);
	return error;
}

void pgw_releases_free(struct pgw_releases *r)
{
	size_t i;

	if (!r)
		return;
	for (i = 0; i < r->n; i++) {
		free(r->v[i].tag);
		free(r->v[i].dir);
	}
	free(r->v);
	free(r->note);
	free(r);
}

/* What a user must know about this list of releases, or NULL. */
static char *releases_note(const struct pgw_releases *r, const char *pattern)
{
	struct pgw_buf b = PGW_BUF_INIT;

	if (r->shallow && !r->n_tags)
		pgw_buf_printf(
		        &b,
		        "this clone is shallow and has no tags (GitHub's actions/checkout fetches neither history nor tags by default): %s",
		        FETCH_FIX);
	else if (r->shallow)
		pgw_buf_printf(
		        &b,
		        "this clone is shallow: tags on commits it does not have are missing (GitHub's actions/checkout fetches one commit by default): %s",
		        FETCH_FIX);
	else if (!r->n_tags)
		pgw_buf_printf(
		        &b,
		        "this repository has no tags: a release is a tag matching '%s' (git tag v1.0.0); a clone made without tags gets them with 'git fetch --tags'",
		        pattern);
	else if (!r->n && !r->n_skipped)
		pgw_buf_printf(
		        &b,
		        "none of the %zu tags matches '%s': give the pattern of release tags with --tag-pattern or [git] tag_pattern",
		        r->n_tags, pattern);
	else
		return NULL;
	return pgw_buf_detach(&b);
}

int pgw_git_releases(struct pgw_releases **out, struct pgw_git *g,
                     const char *pattern, struct pgw_err *err)
{
	struct tag_list tags;
	struct pgw_releases *r = NULL;
	struct vcache cache = { NULL, 0 };
	git_object *commit = NULL;
	size_t i;
	int rc, error;

	*out = NULL;
	if (!pattern)
		pattern = DEFAULT_PATTERN;
	error = tag_list_read(&tags, g, pattern, err);
	if (error)
		return error;
	r = calloc(1, sizeof(*r));
	if (r && tags.n)
		r->v = calloc(tags.n, sizeof(*r->v));
	for (cache.cap = 16; cache.cap < 2 * tags.n; cache.cap *= 2)
		;
	cache.slot = calloc(cache.cap, sizeof(*cache.slot));
	if (!r || (tags.n && !r->v) || !cache.slot) {
		error = pgw_err_oom(err);
		goto done;
	}
	r->n_tags = tags.total;
	rc = lg.git_repository_is_shallow(g->repo);
	r->shallow = rc == 1;
	for (i = 0; i < tags.n; i++) {
		struct pgw_release *rel = &r->v[r->n];

		rc = tag_commit(&commit, g, &tags.v[i], false, err);
		if (rc < 0) {
			error = rc;
			goto done;
		}
		if (!rc) {
			r->n_skipped++;
			continue;
		}
		/* the name moves into the release */
		rel->tag = tags.v[i].name;
		tags.v[i].name = NULL;
		r->n++;
		error = release_read(rel, g, commit, &cache, err);
		lg.git_object_free(commit);
		commit = NULL;
		if (error)
			goto done;
	}
	if (r->n > 1)
		qsort(r->v, r->n, sizeof(*r->v), release_cmp);
	r->note = releases_note(r, pattern);
	pgw_log_debug("git: %zu tags, %zu releases matching '%s', %zu skipped",
	              r->n_tags, r->n, pattern, r->n_skipped);
	*out = r;
	r = NULL;
done:
	if (commit)
		lg.git_object_free(commit);
	free(cache.slot);
	tag_list_release(&tags);
	pgw_releases_free(r);
	return error;
}

/* ---- trees, blobs -------------------------------------------------------- */

void pgw_git_files_free(struct pgw_git_file *f, size_t n)
{
	size_t i;

	if (!f)
		return;
	for (i = 0; i < n; i++)
		free(f[i].name);
	free(f);
}

static int file_cmp(const void *pa, const void *pb)
{
	const struct pgw_git_file *a = pa, *b = pb;

	return strcmp(a->name, b->name);
}

/* The migrations dir tree of `rev`: *dir NULL when it has none. */
static int rev_dir(git_tree **dir, struct pgw_git *g, const char *rev,
                   struct pgw_err *err)
{
	git_tree *root = NULL;
	char *path = NULL;
	git_oid oid;
	int rc, found, error;

	*dir = NULL;
	error = rev_tree(&root, NULL, g, rev, err);
	if (error)
		return error;
	found = find_dir(&oid, &path, g, root, rev, err);
	free(path);
	if (found < 0) {
		error = found;
	} else if (found) {
		rc = lg.git_tree_lookup(dir, g->repo, &oid);
		if (rc < 0)
			error = lg_fail(
			        err, rc, NULL,
			        "cannot read the migrations dir of '%s'", rev);
	}
	lg.git_tree_free(root);
	return error;
}

int pgw_git_list(struct pgw_git_file **out, size_t *n, struct pgw_git *g,
                 const char *rev, struct pgw_err *err)
{
	struct pgw_git_file *v = NULL;
	git_tree *dir = NULL;
	size_t i, count, k = 0;
	int error;

	*out = NULL;
	*n = 0;
	error = rev_dir(&dir, g, rev, err);
	if (error || !dir)
		return error;
	count = lg.git_tree_entrycount(dir);
	v = calloc(count ? count : 1, sizeof(*v));
	if (!v) {
		error = pgw_err_oom(err);
		goto done;
	}
	for (i = 0; i < count; i++) {
		const git_tree_entry *e = lg.git_tree_entry_byindex(dir, i);
		git_filemode_t mode = lg.git_tree_entry_filemode(e);
		const char *name = lg.git_tree_entry_name(e);

		if (!is_sql_file(name))
			continue;
		if (mode != GIT_FILEMODE_BLOB &&
		    mode != GIT_FILEMODE_BLOB_EXECUTABLE) {
			pgw_log_info(
			        "%s: '%s' in the migrations dir is not a regular file: left out",
			        rev, name);
			continue;
		}
		v[k].name = strdup(name);
		if (!v[k].name) {
			error = pgw_err_oom(err);
			goto done;
		}
		oid_hex(v[k].oid, lg.git_tree_entry_id(e));
		k++;
	}
	if (k > 1)
		qsort(v, k, sizeof(*v), file_cmp);
	if (k) {
		*out = v;
		*n = k;
		v = NULL;
	}
done:
	pgw_git_files_free(v, k);
	lg.git_tree_free(dir);
	return error;
}

int pgw_git_find(char oid[41], struct pgw_git *g, const char *rev,
                 const char *name, struct pgw_err *err)
{
	const git_tree_entry *e;
	git_tree *dir = NULL;
	int error;

	oid[0] = '\0';
	error = rev_dir(&dir, g, rev, err);
	if (error)
		return error;
	e = dir ? lg.git_tree_entry_byname(dir, name) : NULL;
	if (!e || lg.git_tree_entry_type(e) != GIT_OBJECT_BLOB)
		error = pgw_err_set(
		        err, PGW_ENOTFOUND,
		        "'%s' has no file '%s' in its migrations dir", rev,
		        name);
	else
		oid_hex(oid, lg.git_tree_entry_id(e));
	lg.git_tree_free(dir);
	return error;
}

int pgw_git_read(char **data, size_t *len, struct pgw_git *g, const char *oid,
                 struct pgw_err *err)
{
	git_blob *blob = NULL;
	git_object_size_t size;
	git_oid id;
	char *buf;
	int rc, error;

	*data = NULL;
	*len = 0;
	error = oid_parse(&id, oid, err);
	if (error)
		return error;
	rc = lg.git_blob_lookup(&blob, g->repo, &id);
	if (rc < 0)
		return lg_fail(
		        err, rc,
		        rc == GIT_ENOTFOUND
		                ? "in a shallow or partial clone: " FETCH_FIX
		                : NULL,
		        "cannot read file %.12s from git", oid);
	size = lg.git_blob_rawsize(blob);
	if (size >= (git_object_size_t)SIZE_MAX) {
		lg.git_blob_free(blob);
		return pgw_err_oom(err);
	}
	buf = malloc((size_t)size + 1);
	if (!buf) {
		lg.git_blob_free(blob);
		return pgw_err_oom(err);
	}
	if (size)
		memcpy(buf, lg.git_blob_rawcontent(blob), (size_t)size);
	buf[size] = '\0';
	lg.git_blob_free(blob);
	*data = buf;
	*len = (size_t)size;
	return 0;
}

int pgw_git_hash(char oid[41], const void *data, size_t len,
                 struct pgw_err *err)
{
	git_oid id;
	int rc, error;

	oid[0] = '\0';
	error = lg_begin(err);
	if (error)
		return error;
	rc = lg.git_odb_hash(&id, data ? data : "", len, GIT_OBJECT_BLOB);
	if (rc < 0)
		error = lg_fail(err, rc, NULL, "cannot compute a git blob id");
	else
		oid_hex(oid, &id);
	lg_end();
	return error;
}

/* ---- HEAD and the work tree ---------------------------------------------- */

/* Of two tags on one commit, the one that names it: a version over a
 * name that is none, the higher version (v2.0.0 over v2.0.0-rc1), else
 * the greater name. */
static int head_tag_cmp(const char *a, const char *b)
{
	struct vkey ka, kb;
	int c;

	vkey_parse(&ka, a);
	vkey_parse(&kb, b);
	if (ka.is_version != kb.is_version)
		return ka.is_version ? 1 : -1;
	c = vkey_cmp(&ka, &kb);
	return c ? c : strcmp(a, b);
}

int pgw_git_head(char commit[41], char **tag, struct pgw_git *g,
                 const char *pattern, struct pgw_err *err)
{
	struct tag_list tags;
	const char *best = NULL;
	git_object *obj = NULL;
	git_oid head;
	size_t i;
	int rc, error;

	commit[0] = '\0';
	*tag = NULL;
	rc = lg.git_repository_head_unborn(g->repo);
	if (rc == 1) {
		error = pgw_err_set(
		        err, PGW_ENOTFOUND,
		        "the git repository at '%s' has no commit yet",
		        g->root);
		pgw_err_hint(
		        err,
		        "commit the migrations first (git add, git commit)");
		return error;
	}
	rc = lg.git_reference_name_to_id(&head, g->repo, "HEAD");
	if (rc < 0)
		return lg_fail(err, rc, "check that 'git log -1' works there",
		               "cannot read HEAD of the git repository at '%s'",
		               g->root);
	oid_hex(commit, &head);
	error = tag_list_read(&tags, g, pattern, err);
	if (error)
		return error;
	for (i = 0; i < tags.n; i++) {
		rc = tag_commit(&obj, g, &tags.v[i], true, err);
		if (rc < 0) {
			error = rc;
			break;
		}
		if (!rc)
			continue;
		if (!memcmp(lg.git_object_id(obj)->id, head.id,
		            GIT_OID_RAWSZ) &&
		    (!best || head_tag_cmp(tags.v[i].name, best) > 0))
			best = tags.v[i].name;
		lg.git_object_free(obj);
	}
	if (!error && best) {
		*tag = strdup(best);
		if (!*tag)
			error = pgw_err_oom(err);
	}
	tag_list_release(&tags);
	return error;
}

void pgw_git_names_free(char **names, size_t n)
{
	size_t i;

	if (!names)
		return;
	for (i = 0; i < n; i++)
		free(names[i]);
	free(names);
}

static int name_cmp(const void *pa, const void *pb)
{
	return strcmp(*(char *const *)pa, *(char *const *)pb);
}

int pgw_git_dirty(char ***names, size_t *n, struct pgw_git *g,
                  struct pgw_err *err)
{
	const unsigned int changed =
	        GIT_STATUS_INDEX_NEW | GIT_STATUS_INDEX_MODIFIED |
	        GIT_STATUS_INDEX_DELETED | GIT_STATUS_INDEX_RENAMED |
	        GIT_STATUS_INDEX_TYPECHANGE | GIT_STATUS_WT_NEW |
	        GIT_STATUS_WT_MODIFIED | GIT_STATUS_WT_DELETED |
	        GIT_STATUS_WT_TYPECHANGE | GIT_STATUS_WT_RENAMED |
	        GIT_STATUS_WT_UNREADABLE | GIT_STATUS_CONFLICTED;
	git_status_options opts;
	git_status_list *list = NULL;
	char *spec[1];
	char **v = NULL;
	size_t i, count, k = 0, plen = strlen(g->rel);
	int rc, error = 0;

	*names = NULL;
	*n = 0;
	/* what GIT_STATUS_OPTIONS_INIT and git_status_options_init() do */
	memset(&opts, 0, sizeof(opts));
	opts.version = GIT_STATUS_OPTIONS_VERSION;
	opts.show = GIT_STATUS_SHOW_INDEX_AND_WORKDIR;
	opts.flags = GIT_STATUS_OPT_INCLUDE_UNTRACKED |
	             GIT_STATUS_OPT_RECURSE_UNTRACKED_DIRS |
	             GIT_STATUS_OPT_EXCLUDE_SUBMODULES |
	             GIT_STATUS_OPT_DISABLE_PATHSPEC_MATCH;
	if (plen) {
		spec[0] = g->rel;
		opts.pathspec.strings = spec;
		opts.pathspec.count = 1;
	}
	rc = lg.git_status_list_new(&list, g->repo, &opts);
	if (rc < 0)
		return lg_fail(err, rc, "check that 'git status' works there",
		               "cannot read the git status of '%s'", g->given);
	count = lg.git_status_list_entrycount(list);
	v = calloc(count ? count : 1, sizeof(*v));
	if (!v) {
		error = pgw_err_oom(err);
		goto done;
	}
	for (i = 0; i < count; i++) {
		const git_status_entry *s = lg.git_status_byindex(list, i);
		const git_diff_delta *d;
		const char *path;

		if (!s || !(s->status & changed))
			continue;
		d = s->index_to_workdir ? s->index_to_workdir
		                        : s->head_to_index;
		if (!d)
			continue;
		path = d->new_file.path ? d->new_file.path : d->old_file.path;
		if (!path)
			continue;
		if (plen) {
			/* the literal pathspec also matches "migrations2" */
			if (strncmp(path, g->rel, plen) != 0 ||
			    path[plen] != '/')
				continue;
			path += plen + 1;
		}
		if (k && !strcmp(v[k - 1], path))
			continue;
		v[k] = strdup(path);
		if (!v[k]) {
			error = pgw_err_oom(err);
			goto done;
		}
		k++;
	}
	if (k > 1)
		qsort(v, k, sizeof(*v), name_cmp);
	*names = v;
	*n = k;
	v = NULL;
done:
	pgw_git_names_free(v, k);
	lg.git_status_list_free(list);
	return error;
}
