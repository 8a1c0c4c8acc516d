/* buf.c - growable NUL-terminated string with sticky out-of-memory. */
#include "pgward.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static bool grow(struct pgw_buf *b, size_t extra)
{
	size_t want, cap;
	char *p;

	if (b->oom)
		return false;
	want = b->len + extra + 1;
	if (want <= b->cap)
		return true;
	cap = b->cap ? b->cap : 64;
	while (cap < want)
		cap *= 2;
	p = realloc(b->cap ? b->ptr : NULL, cap);
	if (!p) {
		b->oom = true;
		return false;
	}
	if (!b->cap)
		p[0] = '\0';
	b->ptr = p;
	b->cap = cap;
	return true;
}

void pgw_buf_put(struct pgw_buf *b, const char *s, size_t n)
{
	if (!grow(b, n))
		return;
	memcpy(b->ptr + b->len, s, n);
	b->len += n;
	b->ptr[b->len] = '\0';
}

void pgw_buf_puts(struct pgw_buf *b, const char *s)
{
	pgw_buf_put(b, s, strlen(s));
}

void pgw_buf_putc(struct pgw_buf *b, char c)
{
	pgw_buf_put(b, &c, 1);
}

void pgw_buf_vprintf(struct pgw_buf *b, const char *fmt, va_list ap)
{
	va_list ap2;
	int n;

	if (b->oom)
		return;
	va_copy(ap2, ap);
	n = vsnprintf(NULL, 0, fmt, ap2);
	va_end(ap2);
	if (n < 0 || !grow(b, (size_t)n)) {
		b->oom = true;
		return;
	}
	vsnprintf(b->ptr + b->len, (size_t)n + 1, fmt, ap);
	b->len += (size_t)n;
}

void pgw_buf_printf(struct pgw_buf *b, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	pgw_buf_vprintf(b, fmt, ap);
	va_end(ap);
}

void pgw_buf_reset(struct pgw_buf *b)
{
	b->len = 0;
	if (b->cap)
		b->ptr[0] = '\0';
}

bool pgw_buf_oom(const struct pgw_buf *b)
{
	return b->oom;
}

char *pgw_buf_detach(struct pgw_buf *b)
{
	char *s;

	if (b->oom) {
		pgw_buf_release(b);
		return NULL;
	}
	s = b->cap ? b->ptr : strdup("");
	b->ptr = (char *)"";
	b->len = b->cap = 0;
	return s;
}

void pgw_buf_release(struct pgw_buf *b)
{
	if (b->cap)
		free(b->ptr);
	b->ptr = (char *)"";
	b->len = b->cap = 0;
	b->oom = false;
}
