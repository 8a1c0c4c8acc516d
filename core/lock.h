/* lock.h - the deploy lock: a session-level advisory lock held by an idle
 * control connection, so it never blocks CREATE INDEX CONCURRENTLY and the
 * server frees it if pgward dies. */
#ifndef PGW_LOCK_H
#define PGW_LOCK_H

#include <libpq-fe.h>

#include "pgward.h"

/* The two int4 keys of pg_advisory_lock(int4, int4) for a schema name:
 * 0x70677764 ("pgwd") and the FNV-1a hash of the name, top bit cleared. */
void pgw_lock_keys(int keys[2], const char *schema);
/* Take the lock on `ctl`, waiting up to wait_s seconds.  Held by someone
 * else after that: PGW_ELOCKED naming the holder. */
int pgw_lock_take(PGconn *ctl, const char *schema, int wait_s,
		  struct pgw_err *err);
/* Does `ctl` still hold the lock?  false when the connection is gone. */
bool pgw_lock_held(PGconn *ctl, const char *schema);
/* Release every lock `ctl` holds, then close it (NULL: nothing).  The
 * server frees a closed session's locks only when its backend has exited,
 * a moment after the client: a deploy right after an `up` would find the
 * lock still held. */
void pgw_lock_close(PGconn *ctl);

#endif
