/* ephemeral.h - a private throwaway PostgreSQL cluster for --ephemeral and
 * `pgward check --ephemeral`: initdb into a temp dir, a server on a unix
 * socket in that dir only, removed on stop, on error and when the process
 * dies however it dies (docs/ephemeral.md). */
#ifndef PGW_EPHEMERAL_H
#define PGW_EPHEMERAL_H

#include "pgward.h"

struct pgw_ephemeral; /* opaque */

struct pgw_ephemeral_opts {
	/* NULL-terminated: CREATE ROLE each (NOLOGIN) before anything
	 * else; one that exists already is left alone.  NULL: none. */
	const char *const *roles;
	/* NULL-terminated: CREATE EXTENSION IF NOT EXISTS ... CASCADE each
	 * in the returned database.  NULL: none. */
	const char *const *extensions;
	/* Where the server binaries (initdb, postgres) are; nothing else is
	 * searched then.  NULL: search (see pgw_ephemeral_start). */
	const char *bindir;
};
#define PGW_EPHEMERAL_OPTS_INIT  \
	{                        \
		NULL, NULL, NULL \
	}

/* Start a cluster.  The binaries come from opts->bindir; else from
 * `pg_config --bindir` when it has initdb; else from the directory of
 * initdb on PATH; else from the highest /usr/lib/postgresql/<N>/bin.
 * initdb (trust, UTF8, C.UTF-8 or C locale, --no-sync) runs into a fresh
 * $TMPDIR/pgward-eph.XXXXXX (/tmp when TMPDIR is unusable), the server
 * listens on a socket in that dir only (no TCP), with fsync,
 * full_page_writes and synchronous_commit off; then the roles and the
 * extensions are created.  As root, initdb and the server run as the
 * `postgres` system user.
 *
 * A small reaper process, started first, stops the server (immediate) and
 * removes the directory as soon as this process closes its end of a
 * socket: at pgw_ephemeral_stop, or when the process exits or is killed,
 * by any signal.  Child processes never write to this process's stdout
 * or stderr: their output goes to log files in the directory.
 *
 * On success the caller owns *out (pgw_ephemeral_stop).  On failure
 * everything made so far is removed and err says what and what to do:
 * PGW_ENOTFOUND (no binaries: the places searched), PGW_EINVAL (an
 * extension that is not installed), PGW_EPG (a role or extension the
 * server refused), PGW_ERROR (initdb or the server failed: its last error
 * line), PGW_EIO, PGW_ENOMEM. */
int pgw_ephemeral_start(struct pgw_ephemeral **out,
                        const struct pgw_ephemeral_opts *opts,
                        struct pgw_err *err);
/* libpq conninfo of the cluster's database, as superuser:
 * "host=/tmp/pgward-eph.Ab12Cd port=5432 user=postgres dbname=postgres".
 * Borrowed: valid until pgw_ephemeral_stop(e). */
const char *pgw_ephemeral_conninfo(const struct pgw_ephemeral *e);
/* The cluster's temp directory (the socket's, holding data/ and the
 * logs).  Borrowed, as above. */
const char *pgw_ephemeral_dir(const struct pgw_ephemeral *e);
/* The server binaries' directory in use (pg_dump of the same version is
 * usually there too).  Borrowed, as above. */
const char *pgw_ephemeral_bindir(const struct pgw_ephemeral *e);
/* Stop the server (immediate: nothing in it is worth keeping), remove the
 * directory and wait until both are done; frees e.  NULL is fine. */
void pgw_ephemeral_stop(struct pgw_ephemeral *e);

#endif
