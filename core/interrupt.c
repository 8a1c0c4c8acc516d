/* interrupt.c - cancellation from a signal handler. */
#include "interrupt.h"

#include <signal.h>
#include <stdlib.h>

static volatile sig_atomic_t requested;
static volatile sig_atomic_t guarded;
static PGcancel *volatile active;

void pgw_interrupt_watch(PGconn *c)
{
	PGcancel *old = active;

	guarded = 0;
	active = NULL;
	PQfreeCancel(old);
	if (c) {
		active = PQgetCancel(c);
		guarded = 1;
	}
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
