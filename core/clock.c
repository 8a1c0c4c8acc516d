/* clock.c - the one monotonic clock and sleep of core. */
#include "clock.h"

#include <stdint.h>
#include <stdlib.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

double pgw_clock_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void pgw_clock_sleep(double seconds)
{
	struct timespec ts;

	if (seconds <= 0)
		return;
	ts.tv_sec = (time_t)seconds;
	ts.tv_nsec = (long)((seconds - (double)ts.tv_sec) * 1e9);
	nanosleep(&ts, NULL);
}

double pgw_clock_jitter(void)
{
	static _Thread_local unsigned seed;
	static _Thread_local pid_t seeded_for;
	pid_t pid = getpid();

	/* seeded again in a forked child: it must not draw its parent's
	 * sequence */
	if (seeded_for != pid) {
		struct timespec ts;

		clock_gettime(CLOCK_REALTIME, &ts);
		seed = (unsigned)ts.tv_nsec ^ ((unsigned)pid * 2654435761u) ^
		       (unsigned)(uintptr_t)&seed;
		seeded_for = pid;
	}
	return (double)rand_r(&seed) / ((double)RAND_MAX + 1);
}
