/* err.c - the error record every core function fills: first error wins. */
#include "pgward.h"

#include <stdio.h>
#include <string.h>

int pgw_err_set(struct pgw_err *err, int code, const char *fmt, ...)
{
	va_list ap;

	if (!err || err->code)
		return code;
	err->code = code;
	va_start(ap, fmt);
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	va_end(ap);
	return code;
}

void pgw_err_detail(struct pgw_err *err, const char *fmt, ...)
{
	va_list ap;

	if (!err || err->detail[0])
		return;
	va_start(ap, fmt);
	vsnprintf(err->detail, sizeof(err->detail), fmt, ap);
	va_end(ap);
}

void pgw_err_note(struct pgw_err *err, const char *fmt, ...)
{
	size_t len;
	va_list ap;

	if (!err)
		return;
	len = strlen(err->detail);
	if (len && len + 2 < sizeof(err->detail)) {
		memcpy(err->detail + len, "; ", 3);
		len += 2;
	}
	va_start(ap, fmt);
	vsnprintf(err->detail + len, sizeof(err->detail) - len, fmt, ap);
	va_end(ap);
}

void pgw_err_hint(struct pgw_err *err, const char *fmt, ...)
{
	va_list ap;

	if (!err || err->hint[0])
		return;
	va_start(ap, fmt);
	vsnprintf(err->hint, sizeof(err->hint), fmt, ap);
	va_end(ap);
}

void pgw_err_wrap(struct pgw_err *err, const char *fmt, ...)
{
	char ctx[512], old[sizeof(err->msg)];
	va_list ap;

	if (!err || !err->code)
		return;
	va_start(ap, fmt);
	vsnprintf(ctx, sizeof(ctx), fmt, ap);
	va_end(ap);
	memcpy(old, err->msg, sizeof(old));
	if (snprintf(err->msg, sizeof(err->msg), "%s: %s", ctx, old) >=
	    (int)sizeof(err->msg))
		err->msg[sizeof(err->msg) - 1] = '\0';
}

int pgw_err_oom(struct pgw_err *err)
{
	/* No allocation here: this runs when memory is gone. */
	return pgw_err_set(err, PGW_ENOMEM, "out of memory");
}

void pgw_err_clear(struct pgw_err *err)
{
	if (err)
		memset(err, 0, sizeof(*err));
}
