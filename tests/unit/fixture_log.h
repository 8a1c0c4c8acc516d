/* fixture_log.h - what the library logs during a test: captured into one
 * text (the sink may be called from other threads), or dropped.  A setup
 * calls fixture_log_capture() or fixture_log_quiet(), its teardown
 * fixture_log_reset().  Header-only, like fixture.h. */
#ifndef PGW_TEST_FIXTURE_LOG_H
#define PGW_TEST_FIXTURE_LOG_H

#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "pgward.h"

/* The captured text, and how warnings are written into it. */
struct fixture_log {
	pthread_mutex_t mu;
	bool mark_warnings;
	char text[65536];
};

/* The one capture of the test binary. */
static inline struct fixture_log *fixture_log(void)
{
	static struct fixture_log log = { PTHREAD_MUTEX_INITIALIZER, false,
		                          "" };

	return &log;
}

/* The sink fixture_log_capture() installs: one line a message. */
static inline void fixture_log_sink(enum pgw_log_level level, const char *msg,
                                    void *payload)
{
	struct fixture_log *log = payload;
	size_t len;

	pthread_mutex_lock(&log->mu);
	len = strlen(log->text);
	snprintf(log->text + len, sizeof(log->text) - len, "%s%s\n",
	         log->mark_warnings && level == PGW_LOG_WARN ? "W: " : "", msg);
	pthread_mutex_unlock(&log->mu);
}

/* From now on every message the library logs (debug and up) is a line
 * of fixture_log_text(), which starts empty; with mark_warnings a
 * warning's line starts with "W: ". */
static inline void fixture_log_capture(bool mark_warnings)
{
	struct fixture_log *log = fixture_log();

	pthread_mutex_lock(&log->mu);
	log->mark_warnings = mark_warnings;
	log->text[0] = '\0';
	pthread_mutex_unlock(&log->mu);
	pgw_log_set_sink(fixture_log_sink, log, PGW_LOG_DEBUG);
}

/* What was captured so far. */
static inline const char *fixture_log_text(void)
{
	return fixture_log()->text;
}

/* How many times `what` was logged (it is in the captured text). */
static inline int fixture_log_count(const char *what)
{
	struct fixture_log *log = fixture_log();
	const char *p = log->text;
	int n = 0;

	pthread_mutex_lock(&log->mu);
	while ((p = strstr(p, what))) {
		n++;
		p += strlen(what);
	}
	pthread_mutex_unlock(&log->mu);
	return n;
}

/* Whether `what` was logged. */
static inline bool fixture_logged(const char *what)
{
	return fixture_log_count(what) > 0;
}

/* The sink fixture_log_quiet() installs: nothing kept. */
static inline void fixture_log_drop(enum pgw_log_level level, const char *msg,
                                    void *payload)
{
	(void)level;
	(void)msg;
	(void)payload;
}

/* From now on what the library logs goes nowhere. */
static inline void fixture_log_quiet(void)
{
	pgw_log_set_sink(fixture_log_drop, NULL, PGW_LOG_DEBUG);
}

/* The library's own sink again, at its default level. */
static inline void fixture_log_reset(void)
{
	pgw_log_set_sink(NULL, NULL, PGW_LOG_NOTICE);
}

#endif
