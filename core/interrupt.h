/* interrupt.h - what a SIGINT/SIGTERM does to a run in progress: the
 * running statement is cancelled, the transaction rolls back, and nothing
 * new starts. */
#ifndef PGW_INTERRUPT_H
#define PGW_INTERRUPT_H

#include <libpq-fe.h>

#include "pgward.h"

/* Make `c` the connection whose statement an interrupt cancels (NULL:
 * none).  Called from the main thread only. */
void pgw_interrupt_watch(PGconn *c);
/* Has an interrupt been requested? */
bool pgw_interrupted(void);

#endif
