/* hooks.c - run a deploy hook: checked before it runs, a redacted
 * environment, its output to the log line by line, and a time limit
 * enforced on its whole process group. */
#include "hooks.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "clock.h"
#include "interrupt.h"

#define HOOK_KILL_GRACE 2.0  /* seconds from SIGTERM to SIGKILL */
#define HOOK_DRAIN_GRACE 1.0 /* seconds to wait for EOF once it exited */
#define HOOK_TICK_MS 20      /* how often the child's exit is looked at */
#define HOOK_LINE_MAX 1024   /* longer lines are logged in pieces */
#define HOOK_MAX_SIG 65      /* signals reset to default in the child */

extern char **environ;

/* Variables never passed on as they are: secrets, the ones pgward sets
 * itself (a stale inherited value must not show through). */
static const char *const dropped_vars[] = {
	"PGPASSWORD",        "PGWARD_NOTIFY_SECRET",
	"PGWARD_NOTIFY_URL", "DATABASE_URL",
	"PGWARD_DIRECT_URL", "PGWARD_HOOK",
	"PGWARD_DEPLOY_ID",  "PGWARD_FROM",
	"PGWARD_TO",         "PGWARD_STAGE",
	"PGWARD_BACKUP",     "PGWARD_WRITES_STOPPED_FILE",
};
#define N_DROPPED (sizeof(dropped_vars) / sizeof(dropped_vars[0]))
/* what pgw_hook_run adds at most: PGWARD_HOOK, the seven of the env
 * struct, PGWARD_DIRECT_URL */
#define N_ADDED 9

struct hook_envp {
	char **vars; /* NULL-terminated, for execve */
	size_t n;
	char *owned[N_ADDED]; /* the strings made here */
	size_t n_owned;
	bool oom;
};

struct line_buf {
	char buf[HOOK_LINE_MAX + 1];
	size_t len;
	char last[256]; /* the last non-empty line, for the error detail */
};

static bool valid_name(const char *name)
{
	return name && name[0] && strcmp(name, ".") != 0 &&
	       strcmp(name, "..") != 0 && !strchr(name, '/');
}

static char *hook_path(const char *dir, const char *name)
{
	struct pgw_buf b = PGW_BUF_INIT;

	pgw_buf_printf(&b, "%s/%s", dir, name);
	return pgw_buf_detach(&b);
}

bool pgw_hook_exists(const char *hooks_dir, const char *name)
{
	struct stat st;
	char *path;
	bool found;

	if (!hooks_dir || !hooks_dir[0] || !valid_name(name))
		return false;
	path = hook_path(hooks_dir, name);
	found = path && lstat(path, &st) == 0;
	free(path);
	return found;
}

/* A directory anyone may write to can have its hooks swapped, unless
 * the sticky bit keeps others from renaming or removing them. */
static int check_dir(const char *dir, const char *path, struct pgw_err *err)
{
	struct stat st;

	if (stat(dir, &st) != 0)
		return pgw_err_set(err, PGW_EIO,
		                   "cannot read the directory of hook '%s': %s",
		                   path, strerror(errno));
	if ((st.st_mode & S_IWOTH) && !(st.st_mode & S_ISVTX)) {
		pgw_err_set(
		        err, PGW_EINVAL,
		        "hook '%s' refused: its directory '%s' is world-writable (without the sticky bit)",
		        path, dir);
		pgw_err_hint(err, "chmod o-w '%s'", dir);
		return PGW_EINVAL;
	}
	return 0;
}

/* Is path a hook that may run?  (It exists: lstat said so.) */
static int check_hook(const char *dir, const char *path, struct pgw_err *err)
{
	char real[PATH_MAX], *slash;
	struct stat st;
	int error;

	if (stat(path, &st) != 0)
		return pgw_err_set(err, errno == ENOENT ? PGW_EINVAL : PGW_EIO,
		                   "cannot read hook '%s': %s", path,
		                   strerror(errno));
	if (!S_ISREG(st.st_mode))
		return pgw_err_set(err, PGW_EINVAL,
		                   "hook '%s' refused: not a regular file",
		                   path);
	if (st.st_mode & S_IWOTH) {
		pgw_err_set(err, PGW_EINVAL,
		            "hook '%s' refused: it is world-writable", path);
		pgw_err_hint(err, "chmod o-w '%s'", path);
		return PGW_EINVAL;
	}
	if (!(st.st_mode & (S_IXUSR | S_IXGRP | S_IXOTH)) ||
	    access(path, X_OK) != 0) {
		pgw_err_set(err, PGW_EINVAL,
		            "hook '%s' refused: it is not executable", path);
		pgw_err_hint(err, "chmod +x '%s' to run it, or remove it",
		             path);
		return PGW_EINVAL;
	}
	/* the directory named, and the one the file really is in */
	error = check_dir(dir, path, err);
	if (error)
		return error;
	if (!realpath(path, real))
		return pgw_err_set(err, PGW_EIO, "cannot resolve hook '%s': %s",
		                   path, strerror(errno));
	slash = strrchr(real, '/');
	if (slash == real)
		slash[1] = '\0';
	else if (slash)
		*slash = '\0';
	return check_dir(real, path, err);
}

static bool is_dropped(const char *entry)
{
	size_t i, len;

	for (i = 0; i < N_DROPPED; i++) {
		len = strlen(dropped_vars[i]);
		if (strncmp(entry, dropped_vars[i], len) == 0 &&
		    entry[len] == '=')
			return true;
	}
	return false;
}

static void envp_add(struct hook_envp *e, const char *name, const char *value,
                     bool redact)
{
	struct pgw_buf b = PGW_BUF_INIT;
	char *shown = NULL, *var;

	if (!value)
		return;
	if (redact) {
		shown = pgw_redact_conninfo(value);
		if (!shown) {
			e->oom = true;
			return;
		}
	}
	pgw_buf_printf(&b, "%s=%s", name, shown ? shown : value);
	free(shown);
	var = pgw_buf_detach(&b);
	if (!var || e->n_owned == N_ADDED) {
		free(var);
		e->oom = true;
		return;
	}
	e->owned[e->n_owned++] = var;
	e->vars[e->n++] = var;
	e->vars[e->n] = NULL;
}

static void envp_release(struct hook_envp *e)
{
	size_t i;

	for (i = 0; i < e->n_owned; i++)
		free(e->owned[i]);
	free(e->vars);
	memset(e, 0, sizeof(*e));
}

static int envp_build(struct hook_envp *e, const char *name,
                      const struct pgw_hook_env *env, struct pgw_err *err)
{
	static const struct pgw_hook_env none = PGW_HOOK_ENV_INIT;
	const char *url;
	size_t count = 0, i;

	memset(e, 0, sizeof(*e));
	if (!env)
		env = &none;
	while (environ && environ[count])
		count++;
	e->vars = calloc(count + N_ADDED + 1, sizeof(*e->vars));
	if (!e->vars)
		return pgw_err_oom(err);
	for (i = 0; i < count; i++)
		if (!is_dropped(environ[i]))
			e->vars[e->n++] = environ[i];
	url = env->database_url ? env->database_url : getenv("DATABASE_URL");
	envp_add(e, "PGWARD_HOOK", name, false);
	envp_add(e, "PGWARD_DEPLOY_ID", env->deploy_id, false);
	envp_add(e, "PGWARD_FROM", env->from, false);
	envp_add(e, "PGWARD_TO", env->to, false);
	envp_add(e, "PGWARD_STAGE", env->stage, false);
	envp_add(e, "PGWARD_BACKUP", env->backup, false);
	envp_add(e, "PGWARD_WRITES_STOPPED_FILE", env->writes_stopped_file,
	         false);
	envp_add(e, "DATABASE_URL", url, true);
	envp_add(e, "PGWARD_DIRECT_URL", getenv("PGWARD_DIRECT_URL"), true);
	if (e->oom) {
		envp_release(e);
		return pgw_err_oom(err);
	}
	return 0;
}

static void set_cloexec(int fd)
{
	int fl = fcntl(fd, F_GETFD);

	if (fl >= 0)
		fcntl(fd, F_SETFD, fl | FD_CLOEXEC);
}

/* Move fd above 0-2 (which the child points elsewhere), close-on-exec. */
static int fd_above_stdio(int fd)
{
	int moved;

	if (fd < 0)
		return fd;
	if (fd > 2) {
		set_cloexec(fd);
		return fd;
	}
	moved = fcntl(fd, F_DUPFD_CLOEXEC, 3);
	close(fd);
	return moved;
}

/* Close every descriptor from 3 up except `keep`.  Async-signal-safe. */
static void close_from_3(int keep, long open_max)
{
	long fd;

#ifdef SYS_close_range
	if ((keep == 3 ||
	     syscall(SYS_close_range, 3U, (unsigned)(keep - 1), 0U) == 0) &&
	    syscall(SYS_close_range, (unsigned)(keep + 1), ~0U, 0U) == 0)
		return;
#endif
	for (fd = 3; fd < open_max; fd++)
		if (fd != keep)
			close((int)fd);
}

static void close_fds(int *fds, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (fds[i] >= 0)
			close(fds[i]);
		fds[i] = -1;
	}
}

/* Start the hook: a process group of its own, stdin /dev/null, stdout
 * and stderr into a pipe whose read end is *out_fd.  Everything the child
 * uses is made before fork(): between fork() and exec() only
 * async-signal-safe calls run.  An exec failure comes back through a
 * close-on-exec pipe, so it is an error here rather than an exit 127. */
static int spawn_hook(pid_t *out_pid, int *out_fd, const char *name,
                      const char *path, char **envp, struct pgw_err *err)
{
	char *argv[] = { (char *)path, NULL };
	char *sh_argv[] = { (char *)"/bin/sh", (char *)path, NULL };
	int fds[5] = { -1, -1, -1, -1, -1 }; /* out r/w, status r/w, null */
	long open_max = sysconf(_SC_OPEN_MAX);
	int child_errno = 0, error = 0;
	struct sigaction dfl;
	sigset_t none;
	ssize_t n;
	pid_t pid;
	int i;

	*out_pid = -1;
	*out_fd = -1;
	if (open_max < 0 || open_max > 65536)
		open_max = 65536;
	if (pipe(fds) != 0 || pipe(fds + 2) != 0) {
		error = pgw_err_set(err, PGW_EIO,
		                    "hook '%s': cannot create a pipe: %s", name,
		                    strerror(errno));
		goto done;
	}
	fds[4] = open("/dev/null", O_RDONLY | O_CLOEXEC);
	for (i = 0; i < 5; i++) {
		fds[i] = fd_above_stdio(fds[i]);
		if (fds[i] < 0) {
			error = pgw_err_set(
			        err, PGW_EIO,
			        "hook '%s': cannot set up its descriptors: %s",
			        name, strerror(errno));
			goto done;
		}
	}
	memset(&dfl, 0, sizeof(dfl));
	dfl.sa_handler = SIG_DFL;
	sigemptyset(&dfl.sa_mask);
	sigemptyset(&none);

	pid = fork();
	if (pid == 0) {
		int sig, e;

		setpgid(0, 0);
		/* caught signals are reset by exec, ignored ones are not */
		for (sig = 1; sig < HOOK_MAX_SIG; sig++)
			if (sig != SIGKILL && sig != SIGSTOP)
				sigaction(sig, &dfl, NULL);
		sigprocmask(SIG_SETMASK, &none, NULL);
		dup2(fds[4], 0);
		dup2(fds[1], 1);
		dup2(fds[1], 2);
		close_from_3(fds[3], open_max);
		execve(path, argv, envp);
		/* no #! line: what a shell does, run it with sh */
		if (errno == ENOEXEC)
			execve(sh_argv[0], sh_argv, envp);
		e = errno;
		if (write(fds[3], &e, sizeof(e)) < 0)
			_exit(127);
		_exit(127);
	}
	if (pid < 0) {
		error = pgw_err_set(err, PGW_EIO, "cannot start hook '%s': %s",
		                    name, strerror(errno));
		goto done;
	}
	/* as well as in the child: kill(-pid) must work from now on */
	setpgid(pid, pid);
	close(fds[1]);
	fds[1] = -1;
	close(fds[3]);
	fds[3] = -1;
	do
		n = read(fds[2], &child_errno, sizeof(child_errno));
	while (n < 0 && errno == EINTR);
	if (n == (ssize_t)sizeof(child_errno)) {
		int status;

		while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
			;
		error = pgw_err_set(err, PGW_EFAILED,
		                    "cannot run hook '%s' (%s): %s", name, path,
		                    strerror(child_errno));
		if (child_errno == ENOENT)
			pgw_err_hint(err,
			             "check the interpreter on its #! line");
		goto done;
	}
	*out_pid = pid;
	*out_fd = fds[0];
	fds[0] = -1;
done:
	close_fds(fds, 5);
	return error;
}

/* Log one line of output, with control characters made visible. */
static void emit_line(struct line_buf *lb, const char *name)
{
	size_t i, n;

	if (lb->len && lb->buf[lb->len - 1] == '\r')
		lb->len--;
	for (i = 0; i < lb->len; i++) {
		unsigned char c = (unsigned char)lb->buf[i];

		if ((c < 0x20 && c != '\t') || c == 0x7f)
			lb->buf[i] = '?';
	}
	lb->buf[lb->len] = '\0';
	pgw_log_notice("hook %s: %s", name, lb->buf);
	if (lb->len) {
		n = lb->len < sizeof(lb->last) ? lb->len : sizeof(lb->last) - 1;
		memcpy(lb->last, lb->buf, n);
		lb->last[n] = '\0';
	}
	lb->len = 0;
}

static void take_output(struct line_buf *lb, const char *name, const char *data,
                        size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (data[i] == '\n') {
			emit_line(lb, name);
			continue;
		}
		lb->buf[lb->len++] = data[i];
		if (lb->len == HOOK_LINE_MAX)
			emit_line(lb, name);
	}
}

/* Has pid exited?  Seen without reaping it (WNOWAIT): while it is a
 * zombie its pid, the process group's id, cannot be reused. */
static bool has_exited(pid_t pid)
{
	siginfo_t si;

	memset(&si, 0, sizeof(si));
	if (waitid(P_PID, (id_t)pid, &si, WEXITED | WNOHANG | WNOWAIT) != 0)
		return errno == ECHILD;
	return si.si_pid == pid;
}

static const char *signal_name(int sig)
{
	switch (sig) {
	case SIGHUP:
		return "SIGHUP";
	case SIGINT:
		return "SIGINT";
	case SIGQUIT:
		return "SIGQUIT";
	case SIGILL:
		return "SIGILL";
	case SIGABRT:
		return "SIGABRT";
	case SIGBUS:
		return "SIGBUS";
	case SIGFPE:
		return "SIGFPE";
	case SIGKILL:
		return "SIGKILL";
	case SIGSEGV:
		return "SIGSEGV";
	case SIGPIPE:
		return "SIGPIPE";
	case SIGALRM:
		return "SIGALRM";
	case SIGTERM:
		return "SIGTERM";
	case SIGUSR1:
		return "SIGUSR1";
	case SIGUSR2:
		return "SIGUSR2";
	default:
		return "a signal";
	}
}

static void nap_ms(int ms)
{
	poll(NULL, 0, ms);
}

/* Does a live process remain in group pgid?  Zombies do not count: an
 * orphan's zombie waits for init, which may take its time, and kill(-pgid,
 * 0) still finds it.  Without /proc, kill(-pgid, 0) is all there is. */
static bool group_alive(pid_t pgid)
{
	char path[64], stat[512], *p;
	struct dirent *de;
	long pgrp;
	bool alive = false;
	ssize_t n;
	DIR *d;
	int fd;

	if (kill(-pgid, 0) != 0)
		return false;
	d = opendir("/proc");
	if (!d)
		return true;
	while (!alive && (de = readdir(d)) != NULL) {
		if (de->d_name[0] < '1' || de->d_name[0] > '9')
			continue;
		if (snprintf(path, sizeof(path), "/proc/%s/stat", de->d_name) >=
		    (int)sizeof(path))
			continue;
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			continue;
		n = read(fd, stat, sizeof(stat) - 1);
		close(fd);
		if (n <= 0)
			continue;
		stat[n] = '\0';
		/* "pid (comm) S ppid pgrp ...": after the last ')' */
		p = strrchr(stat, ')');
		if (!p || p[1] != ' ' || !p[2] || p[2] == 'Z' || p[2] == 'X')
			continue;
		if (sscanf(p + 3, "%*d %ld", &pgrp) == 1 && pgrp == (long)pgid)
			alive = true;
	}
	closedir(d);
	return alive;
}

/* What the hook's process group still holds: after SIGTERM, it gets
 * until term_at + HOOK_KILL_GRACE to end, then SIGKILL. */
static void finish_group(pid_t pgid, double term_at, bool killed)
{
	if (killed)
		return;
	while (group_alive(pgid) && pgw_clock_now() < term_at + HOOK_KILL_GRACE)
		nap_ms(HOOK_TICK_MS);
	if (group_alive(pgid))
		kill(-pgid, SIGKILL);
}

int pgw_hook_run(const char *hooks_dir, const char *name,
                 const struct pgw_hook_env *env, int timeout_s,
                 struct pgw_err *err)
{
	struct hook_envp envp = { NULL, 0, { NULL }, 0, false };
	struct line_buf *lb = NULL;
	char *path = NULL, chunk[4096];
	double start, deadline, now, term_at = 0, exited_at = 0;
	bool eof = false, exited = false, timed_out = false;
	bool interrupted = false, killed = false, left_open = false;
	bool was_interrupted = pgw_interrupted();
	struct stat st;
	struct pollfd pfd;
	int fd = -1, status = 0, error = 0;
	pid_t pid = -1, reaped;
	ssize_t n;

	if (!valid_name(name))
		return pgw_err_set(
		        err, PGW_EINVAL,
		        "'%s' is not a hook name (a file name, no '/')",
		        name ? name : "");
	if (!hooks_dir || !hooks_dir[0])
		return 0;
	path = hook_path(hooks_dir, name);
	if (!path)
		return pgw_err_oom(err);
	if (lstat(path, &st) != 0) {
		if (errno == ENOENT || errno == ENOTDIR) {
			pgw_log_debug("no hook %s in '%s'", name, hooks_dir);
			goto done;
		}
		error = pgw_err_set(err, PGW_EIO, "cannot read hook '%s': %s",
		                    path, strerror(errno));
		goto done;
	}
	error = check_hook(hooks_dir, path, err);
	if (error)
		goto done;
	lb = calloc(1, sizeof(*lb));
	if (!lb) {
		error = pgw_err_oom(err);
		goto done;
	}
	error = envp_build(&envp, name, env, err);
	if (error)
		goto done;

	pgw_log_info("running hook %s (%s)", name, path);
	start = pgw_clock_now();
	deadline = timeout_s > 0 ? start + timeout_s : 0;
	error = spawn_hook(&pid, &fd, name, path, envp.vars, err);
	if (error)
		goto done;
	pfd.fd = fd;
	pfd.events = POLLIN;

	for (;;) {
		now = pgw_clock_now();
		if (!exited && has_exited(pid)) {
			exited = true;
			exited_at = now;
		}
		if (exited && eof)
			break;
		if (!term_at) {
			if (deadline && now >= deadline)
				timed_out = true;
			else if (!was_interrupted && pgw_interrupted())
				interrupted = true;
			if (timed_out || interrupted) {
				kill(-pid, SIGTERM);
				term_at = now;
			}
		} else if (!killed && now >= term_at + HOOK_KILL_GRACE) {
			kill(-pid, SIGKILL);
			killed = true;
		}
		/* exited, but something it started still holds the pipe:
		 * stop reading rather than wait for it */
		if (exited && !eof &&
		    now >= exited_at + (killed ? 0.5 : HOOK_DRAIN_GRACE)) {
			left_open = true;
			break;
		}
		if (eof) {
			nap_ms(HOOK_TICK_MS / 4);
			continue;
		}
		if (poll(&pfd, 1, HOOK_TICK_MS) <= 0)
			continue;
		n = read(fd, chunk, sizeof(chunk));
		if (n > 0)
			take_output(lb, name, chunk, (size_t)n);
		else if (n == 0 || (errno != EINTR && errno != EAGAIN))
			eof = true;
	}
	if (lb->len)
		emit_line(lb, name);
	if (left_open)
		pgw_log_warn(
		        "hook %s: exited, but a process it started still holds its output open: not read any further",
		        name);
	while ((reaped = waitpid(pid, &status, 0)) < 0 && errno == EINTR)
		;
	if (term_at)
		finish_group(pid, term_at, killed);

	if (reaped != pid && !timed_out && !interrupted)
		/* someone else reaped it (a SIGCHLD handler of the caller's) */
		error = pgw_err_set(err, PGW_ERROR,
		                    "hook '%s': its exit status was lost: %s",
		                    name, strerror(errno));
	else if (timed_out)
		error = pgw_err_set(
		        err, PGW_EFAILED,
		        "hook '%s' timed out after %d s and was killed", name,
		        timeout_s);
	else if (interrupted)
		error = pgw_err_set(
		        err, PGW_EFAILED,
		        "hook '%s' was stopped: pgward was interrupted", name);
	else if (WIFEXITED(status) && WEXITSTATUS(status) != 0)
		error = pgw_err_set(err, PGW_EFAILED,
		                    "hook '%s' failed: exit status %d", name,
		                    WEXITSTATUS(status));
	else if (WIFSIGNALED(status))
		error = pgw_err_set(err, PGW_EFAILED,
		                    "hook '%s' was killed by %s (signal %d)",
		                    name, signal_name(WTERMSIG(status)),
		                    WTERMSIG(status));
	if (error && lb->last[0])
		pgw_err_detail(err, "its last output line: %s", lb->last);
	if (!error)
		pgw_log_info("hook %s finished in %.1f s", name,
		             pgw_clock_now() - start);
done:
	if (fd >= 0)
		close(fd);
	envp_release(&envp);
	free(lb);
	free(path);
	return error;
}
