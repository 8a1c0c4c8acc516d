/* watchdog.h - bounds how long a migration holds an ACCESS EXCLUSIVE lock
 * on a table that existed before it (lock_timeout bounds the wait; this
 * bounds the hold).  A thread with its own connection polls pg_locks and
 * cancels the migration's backend when the hold passes the limit. */
#ifndef PGW_WATCHDOG_H
#define PGW_WATCHDOG_H

#include "pgward.h"

struct pgw_watchdog;

/* Start watching backend `pid` with a connection of its own.  Caller owns
 * *out: pgw_watchdog_stop(). */
int pgw_watchdog_start(struct pgw_watchdog **out, const char *conninfo,
		       const char *app_name, int pid, int max_hold_s,
		       struct pgw_err *err);
/* If the watchdog cancelled the backend, write why into msg and return
 * true. */
bool pgw_watchdog_fired(struct pgw_watchdog *wd, char *msg, size_t cap);
/* Forget a previous firing (before a retry). */
void pgw_watchdog_reset(struct pgw_watchdog *wd);
void pgw_watchdog_stop(struct pgw_watchdog *wd);

#endif
