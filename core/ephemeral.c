/* ephemeral.c - a private throwaway PostgreSQL cluster that is always
 * removed: a reaper process, started before anything is made, stops the
 * server and deletes the directory when our end of a socket closes. */
#include "ephemeral.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <locale.h>
#include <pwd.h>
#include <signal.h>
#include <spawn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "interrupt.h"
#include "pg.h"

#define EPH_PORT "5432"
#define EPH_PREFIX "pgward-eph."
/* what the socket path adds to the directory; sun_path holds 108 bytes */
#define EPH_SOCKET_NAME "/.s.PGSQL." EPH_PORT
#define EPH_SUN_PATH 108
#define EPH_READY_TIMEOUT 60.0 /* seconds for the server to accept */
#define EPH_QUIT_TIMEOUT 20.0  /* seconds for an immediate shutdown */
#define EPH_PKG "postgresql-15"

struct pgw_ephemeral {
	char *dir;      /* the temp dir: socket, data/, logs */
	char *datadir;  /* dir/data */
	char *conninfo; /* host=dir port=5432 user=postgres dbname=postgres */
	char *bindir;
	pid_t reaper;
	pid_t initdb;     /* running initdb, 0 when none */
	pid_t postmaster; /* 0 when none or reaped */
	int sock;         /* our end; closing it starts the reaper's work */
};

/* Whom the server runs as: as root, the postgres system user. */
struct runas {
	bool switch_user;
	uid_t uid;
	gid_t gid;
};

/* What the reaper hears on the socket: a child's pid as the child starts
 * (sent by the child itself, before exec) or after it was waited for. */
enum msg_kind {
	MSG_INITDB = 'I',     /* pid leads a process group: initdb's */
	MSG_POSTMASTER = 'P', /* the server */
	MSG_DONE = 'D',       /* pid exited and is no longer ours to kill */
};
struct reaper_msg {
	int32_t kind;
	int32_t pid;
};
/* The reaper's one reply: the directory it made. */
struct reaper_reply {
	int32_t error; /* errno of mkdtemp/chown, 0 when made */
	char dir[256];
};

/* Everything a forked child may use is prepared before fork(): between
 * fork() and exec() (or _exit()) only async-signal-safe calls run, as the
 * caller may have threads. */
static long open_max = 1024;

static void set_cloexec(int fd)
{
	int fl = fcntl(fd, F_GETFD);

	if (fl >= 0)
		fcntl(fd, F_SETFD, fl | FD_CLOEXEC);
}

/* Close every descriptor from `low` up except `keep`. */
static void close_from(int low, int keep)
{
	long fd;

#ifdef SYS_close_range
	if (keep < low) {
		if (syscall(SYS_close_range, (unsigned)low, ~0U, 0U) == 0)
			return;
	} else if ((keep == low || syscall(SYS_close_range, (unsigned)low,
	                                   (unsigned)(keep - 1), 0U) == 0) &&
	           syscall(SYS_close_range, (unsigned)(keep + 1), ~0U, 0U) ==
	                   0) {
		return;
	}
#endif
	for (fd = low; fd < open_max; fd++)
		if (fd != keep)
			close((int)fd);
}

static bool write_full(int fd, const void *buf, size_t n)
{
	const char *p = buf;
	ssize_t w;

	while (n) {
		w = send(fd, p, n, MSG_NOSIGNAL);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return false;
		p += w;
		n -= (size_t)w;
	}
	return true;
}

/* Read exactly n bytes; false on EOF or error. */
static bool read_full(int fd, void *buf, size_t n)
{
	char *p = buf;
	ssize_t r;

	while (n) {
		r = read(fd, p, n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return false;
		p += r;
		n -= (size_t)r;
	}
	return true;
}

static void tell_reaper(int sock, int kind, pid_t pid)
{
	struct reaper_msg m;

	m.kind = kind;
	m.pid = (int32_t)pid;
	write_full(sock, &m, sizeof(m));
}

static void put_str(char *dst, size_t cap, size_t *len, const char *s)
{
	while (*s && *len + 1 < cap)
		dst[(*len)++] = *s++;
	dst[*len] = '\0';
}

static void put_num(char *dst, size_t cap, size_t *len, long v)
{
	char digits[24];
	int n = 0;

	if (v < 0) {
		put_str(dst, cap, len, "-");
		v = -v;
	}
	do {
		digits[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v && n < (int)sizeof(digits));
	while (n && *len + 1 < cap)
		dst[(*len)++] = digits[--n];
	dst[*len] = '\0';
}

/* Async-signal-safe sleep and clock for the reaper. */
static void nap(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

static double mono(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Read /proc/<pid>/<what> into buf (NUL-terminated); bytes read, or -1. */
static ssize_t read_proc(pid_t pid, const char *what, char *buf, size_t cap)
{
	char path[64];
	size_t len = 0;
	ssize_t n, got = 0;
	int fd;

	path[0] = '\0';
	put_str(path, sizeof(path), &len, "/proc/");
	put_num(path, sizeof(path), &len, (long)pid);
	put_str(path, sizeof(path), &len, "/");
	put_str(path, sizeof(path), &len, what);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	while ((size_t)got + 1 < cap) {
		n = read(fd, buf + got, cap - 1 - (size_t)got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += n;
	}
	close(fd);
	buf[got] = '\0';
	return got;
}

/* Has pid exited (gone, or a zombie its parent has not waited for)? */
static bool is_gone(pid_t pid)
{
	char stat[512];
	const char *p;
	ssize_t n;

	if (kill(pid, 0) != 0 && errno == ESRCH)
		return true;
	n = read_proc(pid, "stat", stat, sizeof(stat));
	if (n <= 0)
		return false;
	/* "pid (comm) S ...": the state follows the last ')' */
	p = strrchr(stat, ')');
	return p && p[1] == ' ' && (p[2] == 'Z' || p[2] == 'X');
}

static bool wait_gone(pid_t pid, double seconds)
{
	double until = mono() + seconds;

	while (!is_gone(pid)) {
		if (mono() > until)
			return false;
		nap(2);
	}
	return true;
}

/* Is pid our server: does its command line name our data directory?  A
 * pid is only signalled when it is, so a recycled pid is never hit.
 * Without /proc there is no way to tell: yes. */
static bool is_our_postmaster(pid_t pid, const char *datadir)
{
	char cmd[4096];
	ssize_t n, i;

	n = read_proc(pid, "cmdline", cmd, sizeof(cmd));
	if (n < 0)
		return read_proc(getpid(), "stat", cmd, sizeof(cmd)) < 0;
	for (i = 0; i < n; i += (ssize_t)strlen(cmd + i) + 1)
		if (strcmp(cmd + i, datadir) == 0)
			return true;
	return false;
}

/* rm -rf -- dir, a few times while it is still there (a process that was
 * still writing into it may have raced the first pass). */
static void remove_tree(const char *dir)
{
	char *const argv[] = { (char *)"rm", (char *)"-rf", (char *)"--",
		               (char *)dir, NULL };
	struct stat st;
	int attempt, status;
	pid_t pid, w;

	for (attempt = 0; attempt < 5; attempt++) {
		if (lstat(dir, &st) != 0 && errno == ENOENT)
			return;
		if (attempt)
			nap(100);
		pid = fork();
		if (pid == 0) {
			execv("/bin/rm", argv);
			execv("/usr/bin/rm", argv);
			_exit(127);
		}
		if (pid < 0)
			continue;
		do
			w = waitpid(pid, &status, 0);
		while (w < 0 && errno == EINTR);
	}
}

/* Stop what runs in the cluster, then remove it.  `initdb` leads a
 * process group (initdb and the backends it runs): killed outright.  The
 * server gets SIGQUIT, PostgreSQL's immediate shutdown (what pg_ctl stop
 * -m immediate sends); SIGKILL if it has not exited in time. */
static void teardown(const char *dir, const char *datadir, pid_t initdb,
                     pid_t postmaster)
{
	if (initdb > 0) {
		kill(-initdb, SIGKILL);
		wait_gone(initdb, 5.0);
	}
	if (postmaster > 0 && is_our_postmaster(postmaster, datadir) &&
	    kill(postmaster, SIGQUIT) == 0 &&
	    !wait_gone(postmaster, EPH_QUIT_TIMEOUT)) {
		kill(postmaster, SIGKILL);
		wait_gone(postmaster, 5.0);
	}
	remove_tree(dir);
}

static void ignore_signals(void)
{
	static const int sigs[] = { SIGINT,  SIGTERM, SIGHUP,  SIGQUIT,
		                    SIGTSTP, SIGTTIN, SIGTTOU, SIGPIPE };
	struct sigaction sa;
	size_t i;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_IGN;
	sigemptyset(&sa.sa_mask);
	for (i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		sigaction(sigs[i], &sa, NULL);
}

/* The reaper: in a session of its own and deaf to the terminal's and a
 * CI runner's SIGINT/SIGTERM (they hit the whole process group), it makes
 * the directory, then waits for EOF on the socket, which comes when every
 * copy of the other end is closed: at pgw_ephemeral_stop or when the
 * process ends, however.  Then it tears the cluster down.  Never
 * returns. */
static void reaper_main(int sock, char *tmpl, const struct runas *ru,
                        int devnull)
{
	struct reaper_reply reply;
	struct reaper_msg m;
	char datadir[sizeof(reply.dir) + 8];
	pid_t initdb = 0, postmaster = 0;
	size_t len = 0;
	sigset_t none;

	setsid();
	ignore_signals();
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	dup2(devnull, 0);
	dup2(devnull, 1);
	dup2(devnull, 2);
	close_from(3, sock);

	memset(&reply, 0, sizeof(reply));
	if (!mkdtemp(tmpl)) {
		reply.error = errno;
	} else if (ru->switch_user && chown(tmpl, ru->uid, ru->gid) != 0) {
		reply.error = errno;
		rmdir(tmpl);
	}
	put_str(reply.dir, sizeof(reply.dir), &len, tmpl);
	if (!write_full(sock, &reply, sizeof(reply)) || reply.error) {
		if (!reply.error)
			rmdir(tmpl);
		_exit(1);
	}
	memcpy(datadir, reply.dir, len + 1);
	put_str(datadir, sizeof(datadir), &len, "/data");

	while (read_full(sock, &m, sizeof(m))) {
		if (m.kind == MSG_INITDB)
			initdb = m.pid;
		else if (m.kind == MSG_POSTMASTER)
			postmaster = m.pid;
		else if (m.kind == MSG_DONE && m.pid == initdb)
			initdb = 0;
		else if (m.kind == MSG_DONE && m.pid == postmaster)
			postmaster = 0;
	}
	teardown(reply.dir, datadir, initdb, postmaster);
	_exit(0);
}

static int fd_above_stdio(int fd)
{
	int moved;

	if (fd < 0 || fd > 2)
		return fd;
	moved = fcntl(fd, F_DUPFD_CLOEXEC, 3);
	close(fd);
	return moved;
}

static int open_devnull(void)
{
	return fd_above_stdio(open("/dev/null", O_RDWR | O_CLOEXEC));
}

static int start_reaper(struct pgw_ephemeral *e, char *tmpl,
                        const struct runas *ru, struct pgw_err *err)
{
	struct reaper_reply reply;
	int sv[2], devnull, type = SOCK_STREAM;
	pid_t pid;

#ifdef SOCK_CLOEXEC
	type |= SOCK_CLOEXEC;
#endif
	if (socketpair(AF_UNIX, type, 0, sv) != 0)
		return pgw_err_set(
		        err, PGW_EIO,
		        "ephemeral cluster: cannot create a socket pair: %s",
		        strerror(errno));
	/* above 0-2, which the children point at /dev/null and logs */
	sv[0] = fd_above_stdio(sv[0]);
	sv[1] = fd_above_stdio(sv[1]);
	if (sv[0] >= 0)
		set_cloexec(sv[0]);
	if (sv[1] >= 0)
		set_cloexec(sv[1]);
	devnull = open_devnull();
	if (devnull < 0 || sv[0] < 0 || sv[1] < 0) {
		if (devnull >= 0)
			close(devnull);
		if (sv[0] >= 0)
			close(sv[0]);
		if (sv[1] >= 0)
			close(sv[1]);
		return pgw_err_set(
		        err, PGW_EIO,
		        "ephemeral cluster: cannot set up the reaper's descriptors: %s",
		        strerror(errno));
	}
	pid = fork();
	if (pid == 0)
		reaper_main(sv[1], tmpl, ru, devnull);
	close(sv[1]);
	close(devnull);
	if (pid < 0) {
		close(sv[0]);
		return pgw_err_set(
		        err, PGW_EIO,
		        "ephemeral cluster: cannot start the reaper process: %s",
		        strerror(errno));
	}
	e->reaper = pid;
	e->sock = sv[0];
	if (!read_full(e->sock, &reply, sizeof(reply)))
		return pgw_err_set(
		        err, PGW_ERROR,
		        "ephemeral cluster: the reaper process died before making the directory");
	reply.dir[sizeof(reply.dir) - 1] = '\0';
	if (reply.error)
		return pgw_err_set(err, PGW_EIO,
		                   "ephemeral cluster: cannot create '%s': %s",
		                   reply.dir, strerror(reply.error));
	e->dir = strdup(reply.dir);
	if (!e->dir)
		return pgw_err_oom(err);
	return 0;
}

/* A child that the reaper knows of before it runs anything: in a session
 * of its own (so a signal to our process group does not kill it behind the
 * reaper's back), stdin /dev/null, stdout and stderr to `log` (never our
 * own), no descriptor of ours, the cluster's user, cwd the cluster dir. */
static int spawn_child(pid_t *out, struct pgw_ephemeral *e,
                       const struct runas *ru, int kind, const char *path,
                       char *const argv[], const char *log, struct pgw_err *err)
{
	int devnull = -1, logfd = -1, error = 0;
	gid_t groups[1];
	sigset_t none;
	pid_t pid;

	*out = 0;
	devnull = open_devnull();
	logfd = fd_above_stdio(
	        open(log, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC,
	             0600));
	if (devnull < 0 || logfd < 0) {
		error = pgw_err_set(
		        err, PGW_EIO, "ephemeral cluster: cannot open '%s': %s",
		        devnull < 0 ? "/dev/null" : log, strerror(errno));
		goto done;
	}
	if (ru->switch_user && fchown(logfd, ru->uid, ru->gid) != 0) {
		error = pgw_err_set(
		        err, PGW_EIO,
		        "ephemeral cluster: cannot hand '%s' to the postgres user: %s",
		        log, strerror(errno));
		goto done;
	}
	groups[0] = ru->gid;
	sigemptyset(&none);
	pid = fork();
	if (pid == 0) {
		static const int sigs[] = { SIGINT,  SIGTERM, SIGHUP,
			                    SIGQUIT, SIGPIPE, SIGCHLD };
		struct sigaction sa;
		char msg[PATH_MAX + 64];
		size_t len = 0, i;

		setsid();
		tell_reaper(e->sock, kind, getpid());
		memset(&sa, 0, sizeof(sa));
		sa.sa_handler = SIG_DFL;
		sigemptyset(&sa.sa_mask);
		for (i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
			sigaction(sigs[i], &sa, NULL);
		sigprocmask(SIG_SETMASK, &none, NULL);
		dup2(devnull, 0);
		dup2(logfd, 1);
		dup2(logfd, 2);
		/* e->sock stays until exec: it is close-on-exec */
		close_from(3, e->sock);
		if (chdir(e->dir) != 0) {
			put_str(msg, sizeof(msg), &len,
			        "pgward: error: cannot enter the cluster directory\n");
			goto fail;
		}
		if (ru->switch_user &&
		    (setgroups(1, groups) != 0 || setgid(ru->gid) != 0 ||
		     setuid(ru->uid) != 0)) {
			put_str(msg, sizeof(msg), &len,
			        "pgward: error: cannot switch to the postgres user (errno ");
			put_num(msg, sizeof(msg), &len, errno);
			put_str(msg, sizeof(msg), &len, ")\n");
			goto fail;
		}
		execv(path, argv);
		put_str(msg, sizeof(msg), &len, "pgward: error: cannot run ");
		put_str(msg, sizeof(msg), &len, path);
		put_str(msg, sizeof(msg), &len, " (errno ");
		put_num(msg, sizeof(msg), &len, errno);
		put_str(msg, sizeof(msg), &len, ")\n");
fail:
		if (write(2, msg, len) < 0)
			_exit(127);
		_exit(127);
	}
	if (pid < 0) {
		error = pgw_err_set(err, PGW_EIO,
		                    "ephemeral cluster: cannot start '%s': %s",
		                    path, strerror(errno));
		goto done;
	}
	*out = pid;
done:
	if (devnull >= 0)
		close(devnull);
	if (logfd >= 0)
		close(logfd);
	return error;
}

/* Has `pid` exited?  Waits when `block`.  The exit is seen without
 * reaping (WNOWAIT): the reaper hears "done" while the pid is still ours,
 * so it can never signal a recycled pid; then the child is reaped.
 * Returns 1 exited (*status set), 0 still running, -1 interrupted or no
 * such child (errno). */
static int child_exited(struct pgw_ephemeral *e, pid_t pid, bool block,
                        int *status)
{
	siginfo_t si;
	pid_t w;

	for (;;) {
		memset(&si, 0, sizeof(si));
		if (waitid(P_PID, (id_t)pid, &si,
		           WEXITED | WNOWAIT | (block ? 0 : WNOHANG)) == 0)
			break;
		if (errno != EINTR || pgw_interrupted())
			return -1;
	}
	if (si.si_pid != pid)
		return 0;
	tell_reaper(e->sock, MSG_DONE, pid);
	do
		w = waitpid(pid, status, 0);
	while (w < 0 && errno == EINTR);
	return 1;
}

/* The line of a log that says what went wrong: the last line with
 * FATAL:, PANIC: or ERROR: (from the keyword on, without the server's
 * timestamp) or error: (initdb's, whole), else the last non-empty line. */
static void error_line(char *out, size_t cap, const char *path)
{
	static const char *const keys[] = { "FATAL:", "PANIC:", "ERROR:",
		                            "error:" };
	char buf[8192], *line, *next, *hit;
	const char *best = NULL, *last = NULL;
	ssize_t n = 0;
	size_t k;
	off_t size;
	int fd;

	out[0] = '\0';
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	size = lseek(fd, 0, SEEK_END);
	if (size > (off_t)sizeof(buf) - 1)
		lseek(fd, size - (off_t)sizeof(buf) + 1, SEEK_SET);
	else
		lseek(fd, 0, SEEK_SET);
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return;
	buf[n] = '\0';
	for (line = buf; line; line = next) {
		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		if (!line[0])
			continue;
		last = line;
		for (k = 0; k < sizeof(keys) / sizeof(keys[0]); k++) {
			hit = strstr(line, keys[k]);
			if (hit) {
				/* initdb's own "initdb: error: ..." whole */
				best = k == 3 ? line : hit;
				break;
			}
		}
	}
	if (!best)
		best = last;
	if (best) {
		k = strlen(best);
		if (k >= cap)
			k = cap - 1;
		memcpy(out, best, k);
		out[k] = '\0';
	}
	for (; *out; out++)
		if (*out == '\t')
			*out = ' ';
}

static bool is_exec(const char *dir, const char *name)
{
	char path[PATH_MAX];
	struct stat st;

	if (snprintf(path, sizeof(path), "%s/%s", dir, name) >=
	    (int)sizeof(path))
		return false;
	return stat(path, &st) == 0 && S_ISREG(st.st_mode) &&
	       access(path, X_OK) == 0;
}

static bool has_server(const char *dir)
{
	return dir && dir[0] && is_exec(dir, "initdb") &&
	       is_exec(dir, "postgres");
}

/* `pg_config --bindir`, or "" (not installed, or it failed). */
static void pg_config_bindir(char *out, size_t cap)
{
	char *argv[] = { (char *)"pg_config", (char *)"--bindir", NULL };
	posix_spawn_file_actions_t fa;
	extern char **environ;
	size_t n = 0;
	ssize_t got;
	int pfd[2], status;
	pid_t pid;

	out[0] = '\0';
	if (pipe(pfd) != 0)
		return;
	pfd[0] = fd_above_stdio(pfd[0]);
	pfd[1] = fd_above_stdio(pfd[1]);
	if (pfd[0] < 0 || pfd[1] < 0) {
		if (pfd[0] >= 0)
			close(pfd[0]);
		if (pfd[1] >= 0)
			close(pfd[1]);
		return;
	}
	set_cloexec(pfd[0]);
	set_cloexec(pfd[1]);
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_adddup2(&fa, pfd[1], 1);
	posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
	if (posix_spawnp(&pid, "pg_config", &fa, NULL, argv, environ) != 0)
		pid = -1;
	posix_spawn_file_actions_destroy(&fa);
	close(pfd[1]);
	if (pid > 0) {
		while (n + 1 < cap) {
			got = read(pfd[0], out + n, cap - 1 - n);
			if (got < 0 && errno == EINTR)
				continue;
			if (got <= 0)
				break;
			n += (size_t)got;
		}
		while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
			;
		if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
			n = 0;
	}
	close(pfd[0]);
	while (n && (out[n - 1] == '\n' || out[n - 1] == ' '))
		n--;
	out[n] = '\0';
}

/* The directory of initdb on PATH, its symlinks resolved (initdb finds
 * postgres next to its real self). */
static bool path_bindir(char *out, size_t cap)
{
	const char *path = getenv("PATH"), *p, *end;
	char dir[PATH_MAX], exe[PATH_MAX], real[PATH_MAX], *slash;
	size_t len;

	for (p = path; p && *p; p = *end ? end + 1 : end) {
		end = strchr(p, ':');
		if (!end)
			end = p + strlen(p);
		len = (size_t)(end - p);
		if (len == 0 || len >= sizeof(dir))
			continue;
		memcpy(dir, p, len);
		dir[len] = '\0';
		if (!is_exec(dir, "initdb"))
			continue;
		if (snprintf(exe, sizeof(exe), "%s/initdb", dir) <
		            (int)sizeof(exe) &&
		    realpath(exe, real)) {
			slash = strrchr(real, '/');
			if (slash && slash != real) {
				*slash = '\0';
				if (has_server(real)) {
					snprintf(out, cap, "%s", real);
					return true;
				}
			}
		}
		if (has_server(dir)) {
			snprintf(out, cap, "%s", dir);
			return true;
		}
	}
	return false;
}

/* The highest /usr/lib/postgresql/<N>/bin that has the server. */
static bool debian_bindir(char *out, size_t cap)
{
	char dir[PATH_MAX];
	struct dirent *de;
	long best = -1, v;
	char *end;
	DIR *d;

	d = opendir("/usr/lib/postgresql");
	if (!d)
		return false;
	while ((de = readdir(d)) != NULL) {
		errno = 0;
		v = strtol(de->d_name, &end, 10);
		if (errno || end == de->d_name || (*end && *end != '.') ||
		    v <= best)
			continue;
		if (snprintf(dir, sizeof(dir), "/usr/lib/postgresql/%s/bin",
		             de->d_name) >= (int)sizeof(dir) ||
		    !has_server(dir))
			continue;
		best = v;
		snprintf(out, cap, "%s", dir);
	}
	closedir(d);
	return best >= 0;
}

static int find_bindir(char **out, const char *given, struct pgw_err *err)
{
	char dir[PATH_MAX], pgc[PATH_MAX];

	*out = NULL;
	if (given) {
		if (!has_server(given))
			return pgw_err_set(
			        err, PGW_ENOTFOUND,
			        "no PostgreSQL server binaries (initdb, postgres) in '%s': install the Debian package " EPH_PKG
			        " or name the directory that has them",
			        given);
		snprintf(dir, sizeof(dir), "%s", given);
	} else {
		pg_config_bindir(pgc, sizeof(pgc));
		if (has_server(pgc))
			snprintf(dir, sizeof(dir), "%s", pgc);
		else if (!path_bindir(dir, sizeof(dir)) &&
		         !debian_bindir(dir, sizeof(dir)))
			return pgw_err_set(
			        err, PGW_ENOTFOUND,
			        "no PostgreSQL server binaries (initdb, postgres) found in `pg_config --bindir`%s%s%s, on PATH or in /usr/lib/postgresql/*/bin: install the Debian package " EPH_PKG
			        " or put initdb on PATH",
			        pgc[0] ? " (" : "", pgc, pgc[0] ? ")" : "");
	}
	*out = strdup(dir);
	return *out ? 0 : pgw_err_oom(err);
}

static int find_runas(struct runas *ru, struct pgw_err *err)
{
	struct passwd *pw;

	memset(ru, 0, sizeof(*ru));
	if (geteuid() != 0)
		return 0;
	/* initdb and postgres refuse to run as root */
	pw = getpwnam("postgres");
	if (!pw)
		return pgw_err_set(
		        err, PGW_ENOTFOUND,
		        "running as root, the throwaway server must run as the 'postgres' system user, which does not exist: install the Debian package " EPH_PKG
		        " (it creates the user) or run pgward as another user");
	ru->switch_user = true;
	ru->uid = pw->pw_uid;
	ru->gid = pw->pw_gid;
	return 0;
}

/* Can the cluster's user enter every directory on the way to `dir`? */
static bool reachable(const char *dir, const struct runas *ru)
{
	char path[PATH_MAX], *p;
	struct stat st;

	if (!ru->switch_user)
		return true;
	if (snprintf(path, sizeof(path), "%s", dir) >= (int)sizeof(path))
		return false;
	for (p = path;;) {
		p = strchr(p + 1, '/');
		if (p)
			*p = '\0';
		if (stat(path[0] ? path : "/", &st) != 0)
			return false;
		if (!(st.st_mode & S_IXOTH) &&
		    !(st.st_uid == ru->uid && (st.st_mode & S_IXUSR)) &&
		    !(st.st_gid == ru->gid && (st.st_mode & S_IXGRP)))
			return false;
		if (!p)
			return true;
		*p = '/';
	}
}

/* $TMPDIR/pgward-eph.XXXXXX, or /tmp when TMPDIR is unset, relative, not
 * a writable directory, not reachable by the cluster's user, has
 * characters a conninfo or unix_socket_directories would need quoted, or
 * is too long for a socket path. */
static void choose_template(char *out, size_t cap, const struct runas *ru)
{
	const char *base = getenv("TMPDIR");
	char b[PATH_MAX];
	size_t len;
	struct stat st;

	if (base && base[0] == '/' && strlen(base) < sizeof(b)) {
		snprintf(b, sizeof(b), "%s", base);
		len = strlen(b);
		while (len > 1 && b[len - 1] == '/')
			b[--len] = '\0';
		if (!strpbrk(b, " \t\n,'\"\\") &&
		    len + strlen("/" EPH_PREFIX "XXXXXX" EPH_SOCKET_NAME) <
		            EPH_SUN_PATH &&
		    stat(b, &st) == 0 && S_ISDIR(st.st_mode) &&
		    access(b, W_OK | X_OK) == 0 && reachable(b, ru)) {
			snprintf(out, cap, "%s/" EPH_PREFIX "XXXXXX",
			         len == 1 ? "" : b);
			return;
		}
	}
	snprintf(out, cap, "/tmp/" EPH_PREFIX "XXXXXX");
}

static char *join(const char *a, const char *b)
{
	struct pgw_buf buf = PGW_BUF_INIT;

	pgw_buf_printf(&buf, "%s%s", a, b);
	return pgw_buf_detach(&buf);
}

static int run_initdb(struct pgw_ephemeral *e, const struct runas *ru,
                      struct pgw_err *err)
{
	char *initdb = join(e->bindir, "/initdb");
	char *log = join(e->dir, "/initdb.log");
	char line[512], locale_arg[32];
	locale_t probe;
	int status = 0, rc, error = 0;

	/* C.UTF-8 when the C library has it (glibc 2.35 always does) */
	probe = newlocale(LC_ALL_MASK, "C.UTF-8", (locale_t)0);
	snprintf(locale_arg, sizeof(locale_arg), "--locale=%s",
	         probe ? "C.UTF-8" : "C");
	if (probe)
		freelocale(probe);
	if (!initdb || !log) {
		error = pgw_err_oom(err);
		goto done;
	}
	{
		/* a full argv[0]: initdb finds postgres next to itself, and
		 * with a bare name it would look for itself on PATH */
		char *const argv[] = {
			initdb,          (char *)"-D",        e->datadir,
			(char *)"-U",    (char *)"postgres",  (char *)"-A",
			(char *)"trust", (char *)"-E",        (char *)"UTF8",
			locale_arg,      (char *)"--no-sync", NULL
		};

		error = spawn_child(&e->initdb, e, ru, MSG_INITDB, initdb, argv,
		                    log, err);
	}
	if (error)
		goto done;
	rc = child_exited(e, e->initdb, true, &status);
	if (rc < 0) {
		if (pgw_interrupted())
			error = pgw_err_set(
			        err, PGW_EFAILED,
			        "ephemeral cluster: interrupted while initdb ran");
		else
			error = pgw_err_set(
			        err, PGW_ERROR,
			        "ephemeral cluster: cannot wait for initdb: %s",
			        strerror(errno));
		goto done;
	}
	e->initdb = 0;
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		error_line(line, sizeof(line), log);
		if (WIFEXITED(status))
			error = pgw_err_set(
			        err, PGW_ERROR,
			        "ephemeral cluster: initdb failed (exit %d): %s",
			        WEXITSTATUS(status),
			        line[0] ? line : "no output");
		else
			error = pgw_err_set(
			        err, PGW_ERROR,
			        "ephemeral cluster: initdb was killed by signal %d: %s",
			        WIFSIGNALED(status) ? WTERMSIG(status) : 0,
			        line[0] ? line : "no output");
	}
done:
	free(initdb);
	free(log);
	return error;
}

static int start_server(struct pgw_ephemeral *e, const struct runas *ru,
                        struct pgw_err *err)
{
	const char *keys[] = {
		"host", "port", "user", "dbname", "connect_timeout", NULL
	};
	const char *vals[] = { e->dir,     EPH_PORT, "postgres",
		               "postgres", "5",      NULL };
	char *postgres = join(e->bindir, "/postgres");
	char *log = join(e->dir, "/server.log");
	char line[512];
	double until, delay = 0.002;
	PGPing ping;
	int status = 0, rc, error = 0;

	if (!postgres || !log) {
		error = pgw_err_oom(err);
		goto done;
	}
	{
		char *const argv[] = { postgres,
			               (char *)"-D",
			               e->datadir,
			               (char *)"-k",
			               e->dir,
			               (char *)"-p",
			               (char *)EPH_PORT,
			               (char *)"-c",
			               (char *)"listen_addresses=",
			               (char *)"-c",
			               (char *)"unix_socket_permissions=0700",
			               (char *)"-c",
			               (char *)"fsync=off",
			               (char *)"-c",
			               (char *)"full_page_writes=off",
			               (char *)"-c",
			               (char *)"synchronous_commit=off",
			               NULL };

		error = spawn_child(&e->postmaster, e, ru, MSG_POSTMASTER,
		                    postgres, argv, log, err);
	}
	if (error)
		goto done;
	until = pgw_clock_now() + EPH_READY_TIMEOUT;
	for (;;) {
		ping = PQpingParams(keys, vals, 0);
		if (ping == PQPING_OK)
			break;
		/* -1 (no such child: SIGCHLD ignored by the application) leaves
		 * only the time limit */
		rc = child_exited(e, e->postmaster, false, &status);
		if (rc > 0) {
			e->postmaster = 0;
			error_line(line, sizeof(line), log);
			error = pgw_err_set(
			        err, PGW_ERROR,
			        "ephemeral cluster: the server did not start: %s",
			        line[0] ? line : "no output");
			goto done;
		}
		if (ping == PQPING_NO_ATTEMPT || pgw_clock_now() > until ||
		    pgw_interrupted()) {
			error_line(line, sizeof(line), log);
			error = pgw_err_set(
			        err, PGW_ERROR,
			        "ephemeral cluster: the server did not accept connections %s: %s",
			        pgw_interrupted() ? "before the interrupt"
			                          : "within 60 s",
			        line[0] ? line : "no output");
			goto done;
		}
		pgw_clock_sleep(delay);
		if (delay < 0.05)
			delay *= 1.5;
	}
done:
	free(postgres);
	free(log);
	return error;
}

/* Roles first (the extensions' objects may want them), then extensions. */
static int set_up(struct pgw_ephemeral *e,
                  const struct pgw_ephemeral_opts *opts, struct pgw_err *err)
{
	struct pgw_err inner = PGW_ERR_INIT;
	struct pgw_buf sql = PGW_BUF_INIT;
	PGresult *res = NULL;
	PGconn *c = NULL;
	char *ident = NULL;
	const char *name;
	size_t i;
	int error = 0;

	if ((!opts->roles || !opts->roles[0]) &&
	    (!opts->extensions || !opts->extensions[0]))
		return 0;
	error = pgw_pg_connect(&c, e->conninfo, "pgward-ephemeral", err);
	if (error)
		goto done;
	for (i = 0; opts->roles && opts->roles[i]; i++) {
		name = opts->roles[i];
		error = pgw_pg_exec(
		        &res, c,
		        "SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = $1",
		        1, &name, err);
		if (error)
			goto done;
		if (PQntuples(res) == 0) {
			ident = pgw_pg_ident(c, name, err);
			if (!ident) {
				error = err->code;
				goto done;
			}
			pgw_buf_reset(&sql);
			pgw_buf_printf(&sql, "CREATE ROLE %s", ident);
			if (pgw_buf_oom(&sql)) {
				error = pgw_err_oom(err);
				goto done;
			}
			error = pgw_pg_run(c, sql.ptr, err);
			if (error) {
				pgw_err_wrap(
				        err,
				        "ephemeral cluster: cannot create role '%s'",
				        name);
				goto done;
			}
			PQfreemem(ident);
			ident = NULL;
		}
		PQclear(res);
		res = NULL;
	}
	for (i = 0; opts->extensions && opts->extensions[i]; i++) {
		name = opts->extensions[i];
		error = pgw_pg_exec(
		        &res, c,
		        "SELECT 1 FROM pg_catalog.pg_available_extensions WHERE name = $1",
		        1, &name, err);
		if (error)
			goto done;
		if (PQntuples(res) == 0) {
			error = pgw_err_set(
			        err, PGW_EINVAL,
			        "ephemeral cluster: extension '%s' is not installed for the server in %s: install the package that has it (contrib extensions such as citext and pg_trgm come with " EPH_PKG
			        ")",
			        name, e->bindir);
			goto done;
		}
		PQclear(res);
		res = NULL;
		ident = pgw_pg_ident(c, name, err);
		if (!ident) {
			error = err->code;
			goto done;
		}
		pgw_buf_reset(&sql);
		pgw_buf_printf(&sql,
		               "CREATE EXTENSION IF NOT EXISTS %s CASCADE",
		               ident);
		if (pgw_buf_oom(&sql)) {
			error = pgw_err_oom(err);
			goto done;
		}
		error = pgw_pg_run(c, sql.ptr, &inner);
		if (error) {
			error = pgw_err_set(
			        err, inner.code,
			        "ephemeral cluster: cannot create extension '%s': %s",
			        name, inner.msg);
			memcpy(err->sqlstate, inner.sqlstate,
			       sizeof(err->sqlstate));
			pgw_err_detail(err, "%s", inner.detail);
			pgw_err_hint(err, "%s", inner.hint);
			goto done;
		}
		PQfreemem(ident);
		ident = NULL;
	}
done:
	PQfreemem(ident);
	PQclear(res);
	PQfinish(c);
	pgw_buf_release(&sql);
	return error;
}

int pgw_ephemeral_start(struct pgw_ephemeral **out,
                        const struct pgw_ephemeral_opts *opts,
                        struct pgw_err *err)
{
	static const struct pgw_ephemeral_opts none = PGW_EPHEMERAL_OPTS_INIT;
	struct pgw_ephemeral *e = NULL;
	struct pgw_buf ci = PGW_BUF_INIT;
	char tmpl[PATH_MAX];
	struct runas ru;
	double t0 = pgw_clock_now(), t_initdb, t_ready;
	long om;
	int error;

	*out = NULL;
	if (!opts)
		opts = &none;
	om = sysconf(_SC_OPEN_MAX);
	open_max = om > 0 && om < 65536 ? om : 65536;
	e = calloc(1, sizeof(*e));
	if (!e)
		return pgw_err_oom(err);
	e->sock = -1;
	error = find_bindir(&e->bindir, opts->bindir, err);
	if (!error)
		error = find_runas(&ru, err);
	if (error)
		goto fail;
	choose_template(tmpl, sizeof(tmpl), &ru);
	error = start_reaper(e, tmpl, &ru, err);
	if (error)
		goto fail;
	e->datadir = join(e->dir, "/data");
	pgw_buf_printf(
	        &ci, "host=%s port=" EPH_PORT " user=postgres dbname=postgres",
	        e->dir);
	e->conninfo = pgw_buf_detach(&ci);
	if (!e->datadir || !e->conninfo) {
		error = pgw_err_oom(err);
		goto fail;
	}
	error = run_initdb(e, &ru, err);
	if (error)
		goto fail;
	t_initdb = pgw_clock_now();
	error = start_server(e, &ru, err);
	if (error)
		goto fail;
	t_ready = pgw_clock_now();
	error = set_up(e, opts, err);
	if (error)
		goto fail;
	pgw_log_info(
	        "ephemeral cluster in %s (server binaries %s): initdb %.2f s, server up %.2f s, set-up %.2f s",
	        e->dir, e->bindir, t_initdb - t0, t_ready - t_initdb,
	        pgw_clock_now() - t_ready);
	*out = e;
	return 0;
fail:
	pgw_ephemeral_stop(e);
	return error;
}

const char *pgw_ephemeral_conninfo(const struct pgw_ephemeral *e)
{
	return e->conninfo;
}

const char *pgw_ephemeral_dir(const struct pgw_ephemeral *e)
{
	return e->dir;
}

const char *pgw_ephemeral_bindir(const struct pgw_ephemeral *e)
{
	return e->bindir;
}

static void reap(pid_t pid)
{
	int status;

	if (pid <= 0)
		return;
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
}

void pgw_ephemeral_stop(struct pgw_ephemeral *e)
{
	struct stat st;
	int status = 0;

	if (!e)
		return;
	/* EOF for the reaper: it stops the server and removes the dir */
	if (e->sock >= 0)
		close(e->sock);
	if (e->reaper > 0)
		while (waitpid(e->reaper, &status, 0) < 0 && errno == EINTR)
			;
	/* the reaper was killed (it ignores everything but SIGKILL): do
	 * its work here */
	if (e->dir && e->datadir && lstat(e->dir, &st) == 0)
		teardown(e->dir, e->datadir, e->initdb, e->postmaster);
	reap(e->initdb);
	reap(e->postmaster);
	free(e->dir);
	free(e->datadir);
	free(e->conninfo);
	free(e->bindir);
	free(e);
}
