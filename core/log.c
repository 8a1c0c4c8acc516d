/* log.c - the one way core reports: log and progress sinks the caller
 * installs. */
#include "pgward.h"

#include <stdio.h>

static pgw_log_fn sink;
static void *sink_payload;
static enum pgw_log_level sink_min = PGW_LOG_NOTICE;

void pgw_log_set_sink(pgw_log_fn fn, void *payload, enum pgw_log_level min)
{
	sink = fn;
	sink_payload = payload;
	sink_min = min;
}

void pgw_log(enum pgw_log_level level, const char *fmt, ...)
{
	char msg[2048];
	va_list ap;

	if (!sink || level < sink_min)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	sink(level, msg, sink_payload);
}

static pgw_progress_fn progress_sink;
static void *progress_payload;

void pgw_progress_set_sink(pgw_progress_fn fn, void *payload)
{
	progress_sink = fn;
	progress_payload = payload;
}

void pgw_progress_report(const struct pgw_progress *p)
{
	if (progress_sink)
		progress_sink(p, progress_payload);
}
