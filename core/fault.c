/* fault.c - see fault.h: compiled to nothing outside test builds. */
#include "fault.h"

#ifdef PGW_FAULTS
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void pgw_fault(const char *point)
{
	static int hits;
	const char *want = getenv("PGWARD_FAULT");
	size_t n = strlen(point);
	int nth = 1;

	if (!want || strncmp(want, point, n) != 0 ||
	    (want[n] != '\0' && want[n] != ':'))
		return;
	if (want[n] == ':')
		nth = atoi(want + n + 1);
	if (++hits < nth)
		return;
	fprintf(stderr, "pgward: fault point '%s': killing myself\n", point);
	fflush(stderr);
	raise(SIGKILL);
}
#else
/* ISO C wants something in every translation unit */
typedef int pgw_fault_unused;
#endif
