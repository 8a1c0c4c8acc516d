/* clock.h - monotonic time and sleeping, for timeouts, back-off and
 * progress rates. */
#ifndef PGW_CLOCK_H
#define PGW_CLOCK_H

/* Seconds on the monotonic clock (only differences mean anything). */
double pgw_clock_now(void);
/* Sleep `seconds` (fractions allowed; <= 0 returns at once). */
void pgw_clock_sleep(double seconds);
/* A number in [0, 1) for jittered back-off, from a state of pgward's own
 * (per thread, seeded from the time and the process id): processes
 * started together do not retry in step, and the application's rand()
 * sequence is left alone. */
double pgw_clock_jitter(void);

#endif
