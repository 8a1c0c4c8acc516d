/* fixture_git.h - a git repository made by a test with the git command
 * (in a fixture_mkdtemp() directory): the environment that makes it the
 * same on every machine, a history of dated commits and tags described
 * as a table, revisions looked up, and the work tree put back between
 * tests.  Header-only, like fixture.h. */
#ifndef PGW_TEST_FIXTURE_GIT_H
#define PGW_TEST_FIXTURE_GIT_H

#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "fixture.h"
#include "pgward.h"

/* Run a shell command; its exit status (-1 when it could not run). */
static inline int fixture_sh(const char *fmt, ...) PGW_PRINTF(1, 2);

static inline int fixture_sh(const char *fmt, ...)
{
	char cmd[8192];
	va_list ap;
	int rc;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	rc = system(cmd);
	return rc == -1 ? -1 : WEXITSTATUS(rc);
}

/* The first line a shell command prints, without its newline ("" when
 * it prints nothing); a static buffer. */
static inline const char *fixture_sh_line(const char *fmt, ...)
        PGW_PRINTF(1, 2);

static inline const char *fixture_sh_line(const char *fmt, ...)
{
	static char line[4096];
	char cmd[8192];
	va_list ap;
	FILE *p;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	line[0] = '\0';
	p = popen(cmd, "r");
	if (!p)
		return line;
	if (!fgets(line, sizeof(line), p))
		line[0] = '\0';
	pclose(p);
	line[strcspn(line, "\n")] = '\0';
	return line;
}

/* Who commits, and no system or user config: git acts the same on any
 * machine.  For the whole test binary (a group setup). */
static inline void fixture_git_env(void)
{
	setenv("GIT_AUTHOR_NAME", "pgward test", 1);
	setenv("GIT_AUTHOR_EMAIL", "test@example.com", 1);
	setenv("GIT_COMMITTER_NAME", "pgward test", 1);
	setenv("GIT_COMMITTER_EMAIL", "test@example.com", 1);
	setenv("GIT_CONFIG_NOSYSTEM", "1", 1);
	setenv("GIT_CONFIG_GLOBAL", "/dev/null", 1);
}

/* A new repository `repo` on branch main, with the directory `dir` (in
 * it: its migrations dir) made.  0 or git's exit status. */
static inline int fixture_git_init(const char *repo, const char *dir)
{
	return fixture_sh("mkdir -p '%s' && cd '%s' && git init -q -b main .",
	                  dir, repo);
}

/* Commit everything in the work tree of `repo`, dated day `day` of
 * January 2026.  0 or git's exit status. */
static inline int fixture_git_commit_all(const char *repo, int day,
                                         const char *msg)
{
	return fixture_sh(
	        "cd '%s' && git add -A && GIT_AUTHOR_DATE='2026-01-%02d 12:00:00 +0000'"
	        " GIT_COMMITTER_DATE='2026-01-%02d 12:00:00 +0000'"
	        " git commit -q -m '%s'",
	        repo, day, day, msg);
}

/* One commit of a history: the files written first (name in the
 * repository, text; the list ends at a NULL name), then the commit, then
 * `tags`, shell commands run in the repository (NULL: none). */
struct fixture_git_commit {
	const char *msg;
	const char *files[6][2];
	const char *tags;
};

/* Make the history `commits` in `repo` (fixture_git_init()), the first
 * one dated January 1st 2026, each next one a day later.  0, or not 0
 * when a file or git failed. */
static inline int fixture_git_history(const char *repo,
                                      const struct fixture_git_commit *commits,
                                      size_t n)
{
	size_t i, j;

	for (i = 0; i < n; i++) {
		const struct fixture_git_commit *c = &commits[i];

		for (j = 0; j < 6 && c->files[j][0]; j++)
			if (fixture_write(repo, c->files[j][0],
			                  c->files[j][1]) != 0)
				return -1;
		if (fixture_git_commit_all(repo, (int)i + 1, c->msg) != 0 ||
		    (c->tags &&
		     fixture_sh("cd '%s' && %s", repo, c->tags) != 0))
			return -1;
	}
	return 0;
}

/* The repository most tests of a binary read, made once (a group
 * setup): fixture_git_env(), a new temp dir into *top (fixture_rmdtemp()
 * removes it all), the repository top/repo (into repo) with its
 * migrations dir repo/migrations (into mig) and the history `commits`.
 * 0, or -1 when something failed. */
static inline int fixture_git_repo(char **top, char repo[4096], char mig[4200],
                                   const struct fixture_git_commit *commits,
                                   size_t n)
{
	fixture_git_env();
	*top = fixture_mkdtemp();
	if (!*top)
		return -1;
	snprintf(repo, 4096, "%.4000s/repo", *top);
	snprintf(mig, 4200, "%s/migrations", repo);
	if (fixture_git_init(repo, mig) != 0 ||
	    fixture_git_history(repo, commits, n) != 0)
		return -1;
	return 0;
}

/* git rev-parse of `what` in `repo`: a static buffer, "" when git could
 * not tell. */
static inline const char *fixture_git_rev(const char *repo, const char *what)
{
	return fixture_sh_line("cd '%s' && git rev-parse '%s'", repo, what);
}

/* The work tree of `repo` as committed at `rev`, on branch main, with
 * nothing else in it: what a test changed is gone for the next one. */
static inline int fixture_git_reset(const char *repo, const char *rev)
{
	return fixture_sh("cd '%s' && git checkout -q -f main && git clean -fdq"
	                  " && git reset -q --hard %s",
	                  repo, rev);
}

#endif
