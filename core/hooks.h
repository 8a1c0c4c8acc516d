/* hooks.h - run the deploy's hook scripts (hooks/pre-backup, post-verify,
 * on-failure, ...): a checked executable, a redacted environment, a time
 * limit, and output to the log, never to stdout (docs/hooks.md). */
#ifndef PGW_HOOKS_H
#define PGW_HOOKS_H

#include "pgward.h"

/* What a hook is told, as environment variables.  Every field is borrowed
 * for the call; NULL leaves the variable unset (an inherited one is
 * removed too, so a hook never sees a stale value). */
struct pgw_hook_env {
	const char *deploy_id; /* PGWARD_DEPLOY_ID */
	const char *from;      /* PGWARD_FROM: the version before the deploy */
	const char *to;        /* PGWARD_TO: the target version */
	const char *stage;     /* PGWARD_STAGE: "backup", "migrate", ... */
	const char *backup;    /* PGWARD_BACKUP: the archive's path */
	/* DATABASE_URL, always redacted (postgres://app:***@db/prod); NULL:
	 * the inherited DATABASE_URL, redacted, if there is one. */
	const char *database_url;
	/* PGWARD_WRITES_STOPPED_FILE: a path the hook creates to declare
	 * that writers are stopped (what --writes-stopped says); the caller
	 * checks for it after the hook.  Should not exist beforehand. */
	const char *writes_stopped_file;
};
#define PGW_HOOK_ENV_INIT                                \
	{                                                \
		NULL, NULL, NULL, NULL, NULL, NULL, NULL \
	}

/* Run hooks_dir/name (e.g. "pre-backup", "post-verify", "on-failure") if
 * it exists, in a process group of its own, cwd unchanged, stdin
 * /dev/null, with the environment of this process minus what carries a
 * secret (PGPASSWORD, PGWARD_NOTIFY_SECRET, PGWARD_NOTIFY_URL; DATABASE_URL
 * and PGWARD_DIRECT_URL redacted) plus PGWARD_HOOK=name and the variables
 * of `env` (NULL: none).  Its stdout and stderr are logged line by line
 * as they come, at notice level: "hook NAME: LINE".
 *
 * Returns 0 when hooks_dir is NULL, the hook does not exist, or it exits
 * 0.  PGW_EINVAL, without running it, when name is not a plain file name,
 * or the hook is not a regular file, not executable, world-writable, or
 * in a world-writable directory without the sticky bit.  PGW_EFAILED when
 * it exits non-zero or is killed by a signal (the message names the hook
 * and the status or signal), cannot be started (a bad #! line), runs
 * longer than timeout_s seconds (<= 0: no limit) or pgward is
 * interrupted: then its whole process group gets SIGTERM, and SIGKILL 2 s
 * later.  A process the hook started in a session of its own escapes
 * that.  PGW_EIO, PGW_ENOMEM. */
int pgw_hook_run(const char *hooks_dir, const char *name,
                 const struct pgw_hook_env *env, int timeout_s,
                 struct pgw_err *err);

/* Whether hooks_dir/name exists, whatever it is (for plans and
 * --dry-run; pgw_hook_run decides whether it may run).  false for a
 * NULL hooks_dir. */
bool pgw_hook_exists(const char *hooks_dir, const char *name);

#endif
