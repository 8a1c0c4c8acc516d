/* interrupt.c - cancellation from a signal handler. */
#include "interrupt.h"

#include <signal.h>
#include <stdlib.h>

static volatile sig_atomic_t requested;
static volatile sig_atomic_t guarded;
static PGcancel *volatile active;

void pgw_interrupt_watch(PGconn *c)
{
	PGcancel *old = active, *fresh = c ? PQgetCancel(c) : NULL;

	/* switching from one connection to another stays guarded: a signal
	 * in between must not fall back to the default action (death) */
	if (fresh) {
		active = fresh;
		guarded = 1;
	} else {
		guarded = 0;
		active = NULL;
	}
	PQfreeCancel(old);
}

bool pgw_interrupted(void)
{
	return requested != 0;
}

bool pgw_interrupt(void)
{
	PGcancel *c = active;
	char buf[256];

	requested = 1;
	if (!guarded)
		return false;
	/* PQcancel is safe in a signal handler (libpq documents it so) */
	if (c)
		PQcancel(c, buf, sizeof(buf));
	return true;
}
