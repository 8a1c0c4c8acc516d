/* fault.h - named points where a test build of pgward kills itself.
 *
 * The fault-matrix tests stop pgward with SIGKILL at a chosen point of a
 * deploy (PGWARD_FAULT=NAME, or NAME:N for the Nth time it is passed) and
 * then check that `pgward recover` brings the database to a known state.
 * Only builds made with -DPGW_FAULTS (the sanitizer build of `make check`)
 * have the points; in any other build pgw_fault() is nothing at all. */
#ifndef PGW_FAULT_H
#define PGW_FAULT_H

#ifdef PGW_FAULTS
void pgw_fault(const char *point);
#else
#define pgw_fault(point) ((void)0)
#endif

#endif
