/* journal.h - pgward_journal: what deploys did, step by step, in a schema
 * of its own that no archive contains and no restore touches.  Written on
 * the control connection before each step; advisory (the rows of
 * pgward.migrations are the truth), so a failed write is a warning. */
#ifndef PGW_JOURNAL_H
#define PGW_JOURNAL_H

#include <libpq-fe.h>

#include "pgward.h"

/* Create (or bring up to date) pgward_journal.deploys and .steps. */
int pgw_journal_ensure(PGconn *ctl, struct pgw_err *err);
/* Does the journal exist yet? */
int pgw_journal_exists(PGconn *ctl, bool *exists, struct pgw_err *err);
/* The newest deploy that is unfinished: the journal says it is running
 * but no session of it is left, or it was interrupted.  id[0] == '\0'
 * when there is none (or no journal yet). */
int pgw_journal_unfinished(PGconn *ctl, char id[40], char stage[64],
			   struct pgw_err *err);
/* A new deploy row, status running, stage check. */
int pgw_journal_start(PGconn *ctl, const char *id, const char *from,
		      const char *to, const char *release,
		      struct pgw_err *err);
/* The deploy's row now; finished_at is set unless status is "running". */
struct pgw_journal_state {
	const char *stage, *status;
	const char *backup_uri, *backup_sha256, *error; /* NULL: none */
};
void pgw_journal_update(PGconn *ctl, const char *id,
			const struct pgw_journal_state *s);
/* One row of .steps: a stage, or (version != NULL) statement `statement`
 * of a transaction:false migration, with what undoes it.  A statement's
 * row is inserted "running" and updated "done". */
void pgw_journal_step(PGconn *ctl, const char *id, const char *stage,
		      const char *status);
void pgw_journal_statement(PGconn *ctl, const char *id, const char *version,
			   int statement, const char *sql,
			   const char *undo_sql, const char *status);

#endif
