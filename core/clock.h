/* clock.h - monotonic time and sleeping, for timeouts, back-off and
 * progress rates. */
#ifndef PGW_CLOCK_H
#define PGW_CLOCK_H

/* Seconds on the monotonic clock (only differences mean anything). */
double pgw_clock_now(void);
/* Sleep `seconds` (fractions allowed; <= 0 returns at once). */
void pgw_clock_sleep(double seconds);

#endif
