/* redact.c - keep passwords out of everything pgward shows. */
#include "pgward.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static bool is_word(char c)
{
	return isalnum((unsigned char)c) || c == '_';
}

/* key=value conninfo: password = value, value maybe 'quoted'. */
static void redact_kv(struct pgw_buf *out, const char *s)
{
	const char *p = s;

	while (*p) {
		const char *q;

		if (strncasecmp(p, "password", 8) != 0 ||
		    (p > s && is_word(p[-1])) || is_word(p[8])) {
			pgw_buf_putc(out, *p++);
			continue;
		}
		q = p + 8;
		while (*q == ' ' || *q == '\t')
			q++;
		if (*q != '=') {
			pgw_buf_putc(out, *p++);
			continue;
		}
		q++;
		while (*q == ' ' || *q == '\t')
			q++;
		pgw_buf_puts(out, "password=***");
		if (*q == '\'') {
			q++;
			while (*q && *q != '\'') {
				if (*q == '\\' && q[1])
					q++;
				q++;
			}
			if (*q)
				q++;
		} else {
			while (*q && !isspace((unsigned char)*q))
				q++;
		}
		p = q;
	}
}

/* URL: scheme://user:secret@host/db?password=secret&... */
static void redact_url(struct pgw_buf *out, const char *s)
{
	const char *auth = strstr(s, "://") + 3;
	/* user info ends at an '@' before the first '/' (libpq takes the
	 * first; hiding up to the last also hides an unencoded '@') */
	const char *end = auth + strcspn(auth, "/");
	const char *at = NULL, *colon, *p;

	for (p = auth; p < end; p++)
		if (*p == '@')
			at = p;

	pgw_buf_put(out, s, (size_t)(auth - s));
	if (at) {
		colon = memchr(auth, ':', (size_t)(at - auth));
		if (colon) {
			pgw_buf_put(out, auth, (size_t)(colon - auth));
			pgw_buf_puts(out, ":***");
			auth = at;
		}
	}
	/* the rest: copy, but hide password=... query parameters */
	p = auth;
	while (*p) {
		if ((p[-1] == '?' || p[-1] == '&') &&
		    strncasecmp(p, "password=", 9) == 0) {
			pgw_buf_puts(out, "password=***");
			p += 9;
			while (*p && *p != '&' && *p != '#')
				p++;
			continue;
		}
		pgw_buf_putc(out, *p++);
	}
}

char *pgw_redact_conninfo(const char *conninfo)
{
	struct pgw_buf out = PGW_BUF_INIT;

	if (!conninfo)
		return strdup("(libpq defaults)");
	/* libpq takes only these prefixes for URLs */
	if (!strncmp(conninfo, "postgresql://", 13) ||
	    !strncmp(conninfo, "postgres://", 11))
		redact_url(&out, conninfo);
	else
		redact_kv(&out, conninfo);
	return pgw_buf_detach(&out);
}

/* Skip a SQL string literal starting at p ('...', E'...', $tag$...$tag$);
 * returns the position after it, or NULL if p is not at a literal. */
static const char *skip_literal(const char *p)
{
	if (*p == 'E' || *p == 'e') {
		if (p[1] != '\'')
			return NULL;
		p++;
		for (p++; *p; p++) {
			if (*p == '\\' && p[1])
				p++;
			else if (*p == '\'' && p[1] == '\'')
				p++;
			else if (*p == '\'')
				return p + 1;
		}
		return p;
	}
	if (*p == '\'') {
		for (p++; *p; p++) {
			if (*p == '\'' && p[1] == '\'')
				p++;
			else if (*p == '\'')
				return p + 1;
		}
		return p;
	}
	if (*p == '$') {
		const char *tag_end = p + 1;
		size_t tag_len;
		const char *close;

		while (is_word(*tag_end))
			tag_end++;
		if (*tag_end != '$')
			return NULL;
		tag_len = (size_t)(tag_end - p) + 1;
		for (close = tag_end + 1; *close; close++)
			if (*close == '$' && strncmp(close, p, tag_len) == 0)
				return close + tag_len;
		return close;
	}
	return NULL;
}

char *pgw_redact_sql(const char *sql)
{
	struct pgw_buf out = PGW_BUF_INIT;
	const char *p = sql;

	while (*p) {
		const char *q, *end;

		if (strncasecmp(p, "password", 8) != 0 ||
		    (p > sql && is_word(p[-1])) || is_word(p[8])) {
			pgw_buf_putc(&out, *p++);
			continue;
		}
		q = p + 8;
		while (isspace((unsigned char)*q))
			q++;
		end = skip_literal(q);
		if (!end) {
			pgw_buf_put(&out, p, 8);
			p += 8;
			continue;
		}
		pgw_buf_put(&out, p, (size_t)(q - p));
		pgw_buf_puts(&out, "'***'");
		p = end;
	}
	return pgw_buf_detach(&out);
}
