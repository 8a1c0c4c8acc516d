/* schema.c - the canonical schema text, read back as objects, compared
 * and hashed.
 *
 * The live schema comes from the catalog reader (the same DDL a backup
 * replays, in the same dependency order with ties broken by name, so the
 * order does not depend on how the schema was built) with what differs
 * from one database to the next left out: owners and the owner's own
 * privileges (they follow whoever runs the migrations), PUBLIC's default
 * privileges revoked and granted back, sequence values, session settings,
 * materialized view contents and empty comments.
 *
 * Reading a text back gives one entry per statement, and one per column
 * and constraint line of a CREATE TABLE, named the way a reviewer names
 * them.  The statements are the ones catalog_ddl.c writes, so their
 * shapes are known; an unknown shape is still compared, as a whole
 * statement.  Entries are equal when their parse trees (libpg_query,
 * locations left out) are: a server of another major that prints a view
 * or a default differently gives no false difference.
 */
#include <ctype.h>
#include <errno.h>
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <pg_query.h>

#include "catalog.h"
#include "file.h"
#include "hash.h"
#include "history.h"
#include "pg.h"
#include "schema.h"
#include "sqlparse.h"

static const char header_tag[] = "-- pgward schema dump: PostgreSQL ";

/* ---------------------------------------------------------------------- */
/* scanning the statements catalog_ddl.c writes */

static const char *skip_ws(const char *p)
{
	while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')
		p++;
	return p;
}

/* `p` starts with the keywords `kw` followed by a space or the end:
 * what follows them (spaces skipped), else NULL. */
static const char *after_kw(const char *p, const char *kw)
{
	size_t n = strlen(kw);

	if (strncmp(p, kw, n) != 0)
		return NULL;
	if (p[n] != '\0' && p[n] != ' ' && p[n] != '\n' && p[n] != '(')
		return NULL;
	return skip_ws(p + n);
}

/* The end of an identifier at p: "quoted" ("" inside) or a bare word. */
static const char *ident_end(const char *p)
{
	const char *s = p;

	if (!p)
		return NULL;
	if (*p == '"') {
		for (p++; *p; p++) {
			if (*p == '"' && p[1] == '"')
				p++;
			else if (*p == '"')
				return p + 1;
		}
		return NULL;
	}
	while (isalnum((unsigned char)*p) || *p == '_' || *p == '$' ||
	       (unsigned char)*p >= 0x80)
		p++;
	return p == s ? NULL : p;
}

/* The end of a qualified name: ident(.ident)*. */
static const char *qname_end(const char *p)
{
	p = ident_end(p);
	while (p && *p == '.')
		p = ident_end(p + 1);
	return p;
}

/* The end of the string or quoted name starting at p (' or "), doubled
 * quotes inside; NULL when it does not end. */
static const char *quoted_end(const char *p)
{
	char q = *p;

	for (p++; *p; p++) {
		if (*p == q && p[1] == q)
			p++;
		else if (*p == q)
			return p + 1;
	}
	return NULL;
}

/* The end of balanced parentheses starting at p ('('), strings and
 * quoted identifiers skipped; NULL when unbalanced. */
static const char *parens_end(const char *p)
{
	int depth = 0;

	for (; *p; p++) {
		if (*p == '\'' || *p == '"') {
			p = quoted_end(p);
			if (!p)
				return NULL;
			p--;
		} else if (*p == '(') {
			depth++;
		} else if (*p == ')' && --depth == 0) {
			return p + 1;
		}
	}
	return NULL;
}

/* A qualified name with its argument list, if one follows at once. */
static const char *sig_end(const char *p)
{
	p = qname_end(p);
	if (p && *p == '(')
		p = parens_end(p);
	return p;
}

/* The first occurrence of `word` (" ON ") in p at parenthesis depth 0,
 * outside strings and quoted names. */
static const char *find_top(const char *p, const char *word)
{
	size_t n = strlen(word);
	int depth = 0;

	for (; *p; p++) {
		if (*p == '\'' || *p == '"') {
			p = quoted_end(p);
			if (!p)
				return NULL;
			p--;
		} else if (*p == '(') {
			depth++;
		} else if (*p == ')') {
			depth--;
		} else if (depth == 0 && strncmp(p, word, n) == 0) {
			return p;
		}
	}
	return NULL;
}

/* Upper-case keywords ("MATERIALIZED VIEW "): bare identifiers are
 * written in lower case, so these are the object kind. */
static const char *kind_words_end(const char *p)
{
	for (;;) {
		const char *w = p;

		while (*w >= 'A' && *w <= 'Z')
			w++;
		if (w == p || *w != ' ')
			return p;
		p = w + 1;
	}
}

static char *dup_n(const char *s, size_t n)
{
	return strndup(s, n);
}

/* ---------------------------------------------------------------------- */
/* the parse-tree hash */

/* SHA-256 of the statement's parse tree with every "location" field
 * left out (they move with the formatting); of the text with white space
 * folded when it does not parse. */
static int tree_hash(char out[65], const char *sql)
{
	PgQueryParseResult pr = pg_query_parse(sql);
	struct pgw_buf b = PGW_BUF_INIT;
	const char *p;
	int rc;

	if (pr.error) {
		bool space = false;

		for (p = sql; *p; p++) {
			if (isspace((unsigned char)*p)) {
				space = true;
				continue;
			}
			if (space && b.len)
				pgw_buf_putc(&b, ' ');
			space = false;
			pgw_buf_putc(&b, *p);
		}
	} else {
		for (p = pr.parse_tree; *p;) {
			static const char *const drop[] = {
				"\"location\":", "\"stmt_location\":",
				"\"stmt_len\":"
			};
			size_t i, n = 0;

			for (i = 0; *p == '"' && i < 3 && !n; i++)
				if (strncmp(p, drop[i], strlen(drop[i])) == 0)
					n = strlen(drop[i]);
			if (!n) {
				pgw_buf_putc(&b, *p++);
				continue;
			}
			p += n;
			while (*p == '-' || isdigit((unsigned char)*p))
				p++;
			if (*p == ',')
				p++;
		}
	}
	pg_query_free_parse_result(pr);
	if (pgw_buf_oom(&b)) {
		pgw_buf_release(&b);
		return -1;
	}
	rc = pgw_sha256_hex(out, b.ptr ? b.ptr : "", b.len);
	pgw_buf_release(&b);
	return rc;
}

/* ---------------------------------------------------------------------- */
/* entries */

struct builder {
	struct pgw_schema *s;
	struct pgw_err *err;
	int error;
};

static void add(struct builder *b, const char *kind, const char *name,
                size_t name_len, const char *rel, size_t rel_len,
                const char *text, const char *tree_sql, int line)
{
	struct pgw_schema_entry *e, *v;

	if (b->error)
		return;
	v = realloc(b->s->v, (b->s->n + 1) * sizeof(*v));
	if (!v) {
		b->error = pgw_err_oom(b->err);
		return;
	}
	b->s->v = v;
	e = &v[b->s->n];
	memset(e, 0, sizeof(*e));
	e->kind = strdup(kind);
	e->name = dup_n(name, name_len);
	e->rel = rel ? dup_n(rel, rel_len) : NULL;
	e->text = strdup(text);
	e->line = line;
	if (!e->kind || !e->name || (rel && !e->rel) || !e->text ||
	    tree_hash(e->fp, tree_sql ? tree_sql : text) != 0) {
		free(e->kind);
		free(e->name);
		free(e->rel);
		free(e->text);
		b->error = pgw_err_oom(b->err);
		return;
	}
	b->s->n++;
}

/* The schema part of a qualified name ("app" of app.t), length 0 if
 * none. */
static size_t schema_len(const char *q, const char *end)
{
	const char *p = ident_end(q);

	return p && p < end && *p == '.' ? (size_t)(p - q) : 0;
}

/* A CREATE TABLE (or composite type): the table, then each column and
 * constraint line, each compared on its own. */
static void add_table(struct builder *b, const char *kind, const char *s,
                      const char *name, const char *name_end,
                      const char *body, int line)
{
	const char *open = skip_ws(body), *close, *p;
	struct pgw_buf shell = PGW_BUF_INIT, el = PGW_BUF_INIT,
	               wrap = PGW_BUF_INIT;
	size_t nlen = (size_t)(name_end - name);

	if (*open != '(' || !(close = parens_end(open))) {
		add(b, kind, name, nlen, name, nlen, s, NULL, line);
		return;
	}
	/* the table without its column list: partitioning, inheritance,
	 * options */
	pgw_buf_put(&shell, s, (size_t)(open - s));
	pgw_buf_puts(&shell, "()");
	pgw_buf_puts(&shell, close);
	if (pgw_buf_oom(&shell)) {
		b->error = pgw_err_oom(b->err);
		return;
	}
	add(b, kind, name, nlen, name, nlen, shell.ptr, NULL, line);
	for (p = open + 1; p < close - 1 && !b->error;) {
		const char *start = skip_ws(p), *end = start, *id_end;
		bool constraint;

		/* to the next comma at depth 0 */
		while (end < close - 1 && *end != ',') {
			if (*end == '(' || *end == '\'' || *end == '"') {
				const char *q = *end == '(' ? parens_end(end)
				                            : NULL;

				if (*end != '(')
					q = quoted_end(end);
				if (!q || q > close - 1)
					break;
				end = q;
			} else {
				end++;
			}
		}
		p = end + 1;
		while (end > start && isspace((unsigned char)end[-1]))
			end--;
		if (end == start)
			continue;
		pgw_buf_reset(&el);
		pgw_buf_put(&el, start, (size_t)(end - start));
		constraint = after_kw(el.ptr, "CONSTRAINT") != NULL;
		id_end = ident_end(constraint ? after_kw(el.ptr, "CONSTRAINT")
		                              : el.ptr);
		if (!id_end || pgw_buf_oom(&el))
			continue;
		{
			const char *id = constraint ? after_kw(el.ptr,
			                                       "CONSTRAINT")
			                            : el.ptr;
			struct pgw_buf full = PGW_BUF_INIT;

			pgw_buf_put(&full, name, nlen);
			pgw_buf_putc(&full, '.');
			pgw_buf_put(&full, id, (size_t)(id_end - id));
			pgw_buf_reset(&wrap);
			pgw_buf_printf(&wrap, "CREATE TABLE t (%s)", el.ptr);
			if (pgw_buf_oom(&full) || pgw_buf_oom(&wrap))
				b->error = pgw_err_oom(b->err);
			else
				add(b,
				    constraint ? "constraint"
				    : strcmp(kind, "type") == 0 ? "attribute"
				                                : "column",
				    full.ptr, full.len, name, nlen, el.ptr,
				    wrap.ptr, line);
			pgw_buf_release(&full);
		}
	}
	pgw_buf_release(&shell);
	pgw_buf_release(&el);
	pgw_buf_release(&wrap);
}

/* GRANT privs ON KIND obj TO role [WITH GRANT OPTION]: named by object
 * and role (column grants apart), compared by privileges. */
static void add_grant(struct builder *b, const char *s, bool revoke,
                      int line)
{
	const char *privs = after_kw(s, revoke ? "REVOKE" : "GRANT");
	const char *on = privs ? find_top(privs, " ON ") : NULL;
	const char *obj = on ? kind_words_end(on + 4) : NULL;
	const char *obj_end = obj ? sig_end(obj) : NULL;
	const char *to = obj_end ? after_kw(obj_end, revoke ? " FROM" : " TO")
	                         : NULL;
	struct pgw_buf name = PGW_BUF_INIT;
	const char *p;

	if (!to) {
		add(b, "statement", s, strlen(s), NULL, 0, s, NULL, line);
		return;
	}
	/* "on table app.t to app" */
	pgw_buf_puts(&name, "on ");
	for (p = on + 4; p < obj; p++)
		pgw_buf_putc(&name, (char)tolower((unsigned char)*p));
	pgw_buf_put(&name, obj, (size_t)(obj_end - obj));
	/* the role alone: WITH GRANT OPTION is compared, not named */
	pgw_buf_printf(&name, " %s %.*s", revoke ? "from" : "to",
	               (int)strcspn(to, " "), to);
	if (memchr(privs, '(', (size_t)(on - privs)))
		pgw_buf_puts(&name, " (columns)");
	if (pgw_buf_oom(&name))
		b->error = pgw_err_oom(b->err);
	else
		add(b, revoke ? "revoke" : "grant", name.ptr, name.len, obj,
		    (size_t)(obj_end - obj), s, NULL, line);
	pgw_buf_release(&name);
}

/* The relation an ALTER or COMMENT is about, for ignore patterns. */
static void rel_of(const char *obj, const char **rel, size_t *rel_len,
                   bool column)
{
	const char *end = qname_end(obj);

	*rel = NULL;
	*rel_len = 0;
	if (!end)
		return;
	if (column) {
		/* schema.table.column: up to the last dot */
		const char *p = obj, *last = NULL;

		while (p && p < end) {
			p = ident_end(p);
			if (p && *p == '.') {
				last = p;
				p++;
			} else {
				break;
			}
		}
		if (!last)
			return;
		end = last;
	}
	*rel = obj;
	*rel_len = (size_t)(end - obj);
}

static void classify(struct builder *b, const char *s, int line)
{
	static const struct {
		const char *kw, *kind;
		bool sig; /* a routine: its argument list is in its name */
	} creates[] = {
		{ "CREATE SCHEMA IF NOT EXISTS", "schema", false },
		{ "CREATE OR REPLACE FUNCTION", "function", true },
		{ "CREATE OR REPLACE PROCEDURE", "procedure", true },
		{ "CREATE AGGREGATE", "aggregate", true },
		{ "CREATE TYPE", "type", false },
		{ "CREATE DOMAIN", "domain", false },
		{ "CREATE SEQUENCE", "sequence", false },
		{ "CREATE UNLOGGED SEQUENCE", "sequence", false },
		{ "CREATE STATISTICS", "statistics", false },
		{ "CREATE VIEW", "view", false },
		{ "CREATE OR REPLACE VIEW", "view", false },
		{ "CREATE MATERIALIZED VIEW", "materialized view", false },
	};
	const char *p, *q, *e, *rel;
	size_t i, rel_len;

	if ((p = after_kw(s, "CREATE TABLE")) ||
	    (p = after_kw(s, "CREATE UNLOGGED TABLE"))) {
		if ((e = qname_end(p))) {
			add_table(b, "table", s, p, e, e, line);
			return;
		}
	}
	if ((p = after_kw(s, "CREATE TYPE")) && (e = qname_end(p)) &&
	    strncmp(e, " AS (", 5) == 0) {
		add_table(b, "type", s, p, e, e + 3, line);
		return;
	}
	for (i = 0; i < sizeof(creates) / sizeof(creates[0]); i++) {
		if (!(p = after_kw(s, creates[i].kw)))
			continue;
		e = creates[i].sig ? sig_end(p) : qname_end(p);
		if (!e)
			break;
		add(b, creates[i].kind, p, (size_t)(e - p),
		    strstr(creates[i].kind, "view") ? p : NULL,
		    (size_t)(qname_end(p) - p), s, NULL, line);
		return;
	}
	if ((p = after_kw(s, "CREATE INDEX")) ||
	    (p = after_kw(s, "CREATE UNIQUE INDEX"))) {
		/* CREATE INDEX name ON [ONLY] schema.table: the index is in
		 * its table's schema */
		e = ident_end(p);
		q = e ? after_kw(e, " ON") : NULL;
		if (q && after_kw(q, "ONLY"))
			q = after_kw(q, "ONLY");
		if (q && qname_end(q)) {
			struct pgw_buf name = PGW_BUF_INIT;
			const char *qe = qname_end(q);
			size_t sl = schema_len(q, qe);

			if (sl)
				pgw_buf_printf(&name, "%.*s.", (int)sl, q);
			pgw_buf_put(&name, p, (size_t)(e - p));
			if (pgw_buf_oom(&name))
				b->error = pgw_err_oom(b->err);
			else
				add(b, "index", name.ptr, name.len, q,
				    (size_t)(qe - q), s, NULL, line);
			pgw_buf_release(&name);
			return;
		}
	}
	/* ALTER TABLE [ONLY] t ADD CONSTRAINT c, ALTER DOMAIN d ADD ... */
	if ((p = after_kw(s, "ALTER TABLE")) || (p = after_kw(s, "ALTER DOMAIN"))) {
		if (after_kw(p, "ONLY"))
			p = after_kw(p, "ONLY");
		e = qname_end(p);
		q = e ? after_kw(e, " ADD CONSTRAINT") : NULL;
		if (q && ident_end(q)) {
			struct pgw_buf name = PGW_BUF_INIT;

			pgw_buf_put(&name, p, (size_t)(e - p));
			pgw_buf_putc(&name, '.');
			pgw_buf_put(&name, q, (size_t)(ident_end(q) - q));
			if (pgw_buf_oom(&name))
				b->error = pgw_err_oom(b->err);
			else
				add(b, "constraint", name.ptr, name.len, p,
				    (size_t)(e - p), s, NULL, line);
			pgw_buf_release(&name);
			return;
		}
	}
	/* CREATE [CONSTRAINT] TRIGGER t ... ON rel, CREATE POLICY p ON rel,
	 * CREATE RULE r AS ON event TO rel: named rel.name */
	if ((p = after_kw(s, "CREATE TRIGGER")) ||
	    (p = after_kw(s, "CREATE CONSTRAINT TRIGGER")) ||
	    (p = after_kw(s, "CREATE POLICY")) ||
	    (p = after_kw(s, "CREATE RULE"))) {
		bool rule = s[7] == 'R';

		e = ident_end(p);
		q = e ? strstr(e, rule ? " TO " : " ON ") : NULL;
		if (q && (q = skip_ws(q + 4)) && qname_end(q)) {
			struct pgw_buf name = PGW_BUF_INIT;
			const char *qe = qname_end(q);

			pgw_buf_put(&name, q, (size_t)(qe - q));
			pgw_buf_putc(&name, '.');
			pgw_buf_put(&name, p, (size_t)(e - p));
			if (pgw_buf_oom(&name))
				b->error = pgw_err_oom(b->err);
			else
				add(b,
				    rule             ? "rule"
				    : s[7] == 'P'    ? "policy"
				                     : "trigger",
				    name.ptr, name.len, q, (size_t)(qe - q), s,
				    NULL, line);
			pgw_buf_release(&name);
			return;
		}
	}
	if (after_kw(s, "GRANT")) {
		add_grant(b, s, false, line);
		return;
	}
	if (after_kw(s, "REVOKE")) {
		add_grant(b, s, true, line);
		return;
	}
	if ((p = after_kw(s, "COMMENT ON")) && (q = find_top(p, " IS "))) {
		const char *obj = kind_words_end(p);
		bool column = strncmp(p, "COLUMN ", 7) == 0;

		rel_of(obj, &rel, &rel_len, column);
		if (strncmp(p, "CONSTRAINT ", 11) == 0 ||
		    strncmp(p, "TRIGGER ", 8) == 0 ||
		    strncmp(p, "POLICY ", 7) == 0 || strncmp(p, "RULE ", 5) == 0) {
			/* ... name ON rel */
			const char *on = strstr(obj, " ON ");

			if (on && strncmp(p, "CONSTRAINT ", 11) == 0 &&
			    after_kw(on + 4, "DOMAIN"))
				rel_of(after_kw(on + 4, "DOMAIN"), &rel, &rel_len,
				       false);
			else if (on)
				rel_of(on + 4, &rel, &rel_len, false);
		}
		add(b, "comment", p, (size_t)(q - p), rel, rel_len, s, NULL,
		    line);
		return;
	}
	/* anything else is compared whole: ALTER TABLE ... ENABLE ROW LEVEL
	 * SECURITY, ATTACH PARTITION, OWNED BY, SET STATISTICS, ... */
	rel = NULL;
	rel_len = 0;
	if ((p = after_kw(s, "ALTER TABLE")) || (p = after_kw(s, "ALTER INDEX")) ||
	    (p = after_kw(s, "ALTER SEQUENCE")) || (p = after_kw(s, "ALTER VIEW")) ||
	    (p = after_kw(s, "ALTER MATERIALIZED VIEW"))) {
		if (after_kw(p, "ONLY"))
			p = after_kw(p, "ONLY");
		rel_of(p, &rel, &rel_len, false);
	}
	add(b, "statement", s, strlen(s), rel, rel_len, s, NULL, line);
}

/* ---------------------------------------------------------------------- */
/* the text */

static int parse_header(struct pgw_schema *s, const char *text)
{
	const char *p = strstr(text, header_tag);
	const char *at;

	if (!p || (p != text && p[-1] != '\n'))
		return 0;
	p += strlen(header_tag);
	s->server_major = atoi(p);
	at = strstr(p, ", migrations at ");
	if (at && at < p + strcspn(p, "\n")) {
		at += strlen(", migrations at ");
		s->version = strndup(at, strcspn(at, " \n"));
		if (!s->version)
			return -1;
	}
	return 0;
}

/* A sequence OWNED BY a column belongs to its table (a table's ignore
 * pattern covers its serial sequence), and so does that statement. */
static int owned_sequences(struct pgw_schema *s, struct pgw_err *err)
{
	size_t i, j;

	for (i = 0; i < s->n; i++) {
		const char *p = after_kw(s->v[i].text, "ALTER SEQUENCE"), *e, *t,
		           *te;

		if (!p || !(e = qname_end(p)) ||
		    !(t = after_kw(e, " OWNED BY")) || !(te = qname_end(t)))
			continue;
		/* t is table.column (or schema.table.column): the table */
		while (te > t && te[-1] != '.')
			te--;
		if (te == t)
			continue;
		for (j = 0; j < s->n; j++) {
			struct pgw_schema_entry *q = &s->v[j];
			char *rel;

			if (j != i && (strcmp(q->kind, "sequence") != 0 ||
			               strlen(q->name) != (size_t)(e - p) ||
			               strncmp(q->name, p, (size_t)(e - p)) != 0))
				continue;
			rel = strndup(t, (size_t)(te - 1 - t));
			if (!rel)
				return pgw_err_oom(err);
			free(q->rel);
			q->rel = rel;
		}
	}
	return 0;
}

int pgw_schema_parse(struct pgw_schema **out, const char *text,
                     const char *file, struct pgw_err *err)
{
	struct pgw_schema *s = calloc(1, sizeof(*s));
	struct builder b = { s, err, 0 };
	struct pgw_stmt *st = NULL;
	size_t i, n = 0;
	int error;

	*out = NULL;
	if (!s || !(s->text = strdup(text))) {
		free(s);
		return pgw_err_oom(err);
	}
	if (parse_header(s, text) != 0) {
		pgw_schema_free(s);
		return pgw_err_oom(err);
	}
	error = pgw_sql_split(&st, &n, text, 1, file, err);
	for (i = 0; !error && i < n; i++) {
		classify(&b, st[i].sql, st[i].line);
		error = b.error;
	}
	pgw_stmts_free(st, n);
	if (!error)
		error = owned_sequences(s, err);
	if (error) {
		pgw_schema_free(s);
		return error;
	}
	*out = s;
	return 0;
}

int pgw_schema_load(struct pgw_schema **out, const char *path,
                    struct pgw_err *err)
{
	char *text = NULL;
	size_t len;
	int error;

	*out = NULL;
	error = pgw_file_read(&text, &len, path, err);
	if (!error)
		error = pgw_schema_parse(out, text, path, err);
	free(text);
	return error;
}

void pgw_schema_free(struct pgw_schema *s)
{
	size_t i;

	if (!s)
		return;
	for (i = 0; i < s->n; i++) {
		free(s->v[i].kind);
		free(s->v[i].name);
		free(s->v[i].rel);
		free(s->v[i].text);
	}
	free(s->v);
	free(s->version);
	free(s->text);
	free(s);
}

/* ---------------------------------------------------------------------- */
/* the live schema */

struct owner {
	char *obj, *role;
};

/* "ALTER KIND obj OWNER TO role": obj and role, else false. */
static bool owner_stmt(const char *s, const char **obj, size_t *obj_len,
                       const char **role)
{
	const char *p = after_kw(s, "ALTER"), *e;

	if (!p)
		return false;
	p = kind_words_end(p);
	e = sig_end(p);
	if (!e || strncmp(e, " OWNER TO ", 10) != 0)
		return false;
	*obj = p;
	*obj_len = (size_t)(e - p);
	*role = e + 10;
	return true;
}

static const char *owner_of(const struct owner *o, size_t n, const char *obj,
                            size_t len)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (strlen(o[i].obj) == len && strncmp(o[i].obj, obj, len) == 0)
			return o[i].role;
	return NULL;
}

/* Whether statement s is per-database detail the canonical text leaves
 * out. */
static bool noise(const char *s)
{
	const char *p;

	if (after_kw(s, "SET") || after_kw(s, "RESET") ||
	    after_kw(s, "SELECT") || after_kw(s, "REFRESH MATERIALIZED VIEW"))
		return true;
	/* an empty comment is no comment */
	if ((p = after_kw(s, "COMMENT ON")) && (p = find_top(p, " IS ")) &&
	    strcmp(p, " IS NULL") == 0)
		return true;
	return false;
}

/* The parts of GRANT privs ON KIND obj TO role / REVOKE ... FROM role. */
struct grant_parts {
	bool revoke;
	const char *kind, *obj, *role;
	size_t kind_len, obj_len, role_len;
};

static bool grant_split(const char *s, struct grant_parts *g)
{
	const char *privs, *on, *kend, *to;

	g->revoke = after_kw(s, "REVOKE") != NULL;
	privs = after_kw(s, g->revoke ? "REVOKE" : "GRANT");
	on = privs ? find_top(privs, " ON ") : NULL;
	if (!on)
		return false;
	g->kind = on + 4;
	g->obj = kind_words_end(g->kind);
	for (kend = g->obj; kend > g->kind && kend[-1] == ' '; kend--)
		;
	g->kind_len = (size_t)(kend - g->kind);
	kend = sig_end(g->obj);
	to = kend ? after_kw(kend, g->revoke ? " FROM" : " TO") : NULL;
	if (!to)
		return false;
	g->obj_len = (size_t)(kend - g->obj);
	g->role = to;
	g->role_len = strcspn(to, " ");
	return true;
}

static bool part_is(const char *p, size_t n, const char *word)
{
	return strlen(word) == n && strncmp(p, word, n) == 0;
}

/* Object kinds where PUBLIC holds a privilege by default. */
static bool public_default(const struct grant_parts *g)
{
	return part_is(g->kind, g->kind_len, "FUNCTION") ||
	       part_is(g->kind, g->kind_len, "PROCEDURE") ||
	       part_is(g->kind, g->kind_len, "TYPE") ||
	       part_is(g->kind, g->kind_len, "DOMAIN") ||
	       part_is(g->kind, g->kind_len, "LANGUAGE");
}

/* The ACL statements as privileges held, not as the REVOKE-then-GRANT
 * replay the catalog reader writes: the owner's own privileges go (they
 * follow whoever runs the migrations), and so do revoking and granting
 * back PUBLIC's default privilege; a default PUBLIC lost is kept as its
 * REVOKE.  keep[i] false: leave statement i out. */
static void acl_filter(struct pgw_stmt *st, size_t n, bool *keep,
                       const struct owner *o, size_t n_o)
{
	size_t i, j;

	for (i = 0; i < n; i++) {
		struct grant_parts g, h;
		const char *owner;

		if (!keep[i] || !grant_split(st[i].sql, &g))
			continue;
		owner = owner_of(o, n_o, g.obj, g.obj_len);
		if (owner && strlen(owner) == g.role_len &&
		    strncmp(owner, g.role, g.role_len) == 0) {
			keep[i] = false;
			continue;
		}
		if (!g.revoke || !part_is(g.role, g.role_len, "PUBLIC") ||
		    part_is(g.kind, g.kind_len, "SCHEMA"))
			continue;
		keep[i] = false;
		if (!public_default(&g))
			continue; /* nothing to revoke: tables, sequences */
		for (j = i + 1; j < n; j++) {
			if (!keep[j] || !grant_split(st[j].sql, &h) ||
			    h.revoke || h.obj_len != g.obj_len ||
			    strncmp(h.obj, g.obj, g.obj_len) != 0 ||
			    !part_is(h.role, h.role_len, "PUBLIC"))
				continue;
			keep[j] = false; /* granted back: the default */
			break;
		}
		if (j == n)
			keep[i] = true; /* really revoked */
	}
}

static int canonical_text(struct pgw_buf *out, const struct pgw_catalog *cat,
                          struct pgw_err *err)
{
	struct pgw_buf all = PGW_BUF_INIT;
	struct pgw_stmt *st = NULL;
	struct owner *o = NULL;
	bool *keep = NULL;
	size_t i, n = 0, n_o = 0;
	int error = 0;

	pgw_buf_puts(&all, cat->pre_data);
	pgw_buf_puts(&all, "\n");
	pgw_buf_puts(&all, cat->post_data);
	if (pgw_buf_oom(&all))
		return pgw_err_oom(err);
	error = pgw_sql_split(&st, &n, all.ptr, 1, "the catalog's DDL", err);
	pgw_buf_release(&all);
	if (error)
		return error;
	o = calloc(n + 1, sizeof(*o));
	keep = calloc(n + 1, sizeof(*keep));
	if (!o || !keep) {
		error = pgw_err_oom(err);
		goto done;
	}
	for (i = 0; i < n; i++) {
		const char *obj, *role;
		size_t len;

		keep[i] = !noise(st[i].sql);
		if (!owner_stmt(st[i].sql, &obj, &len, &role))
			continue;
		keep[i] = false;
		o[n_o].obj = strndup(obj, len);
		o[n_o].role = strdup(role);
		if (!o[n_o].obj || !o[n_o].role) {
			free(o[n_o].obj);
			free(o[n_o].role);
			error = pgw_err_oom(err);
			goto done;
		}
		n_o++;
	}
	acl_filter(st, n, keep, o, n_o);
	for (i = 0; i < n; i++) {
		if (!keep[i])
			continue;
		/* a blank line before each object's first statement */
		if (after_kw(st[i].sql, "CREATE") && out->len > 1 &&
		    !(out->ptr[out->len - 1] == '\n' &&
		      out->ptr[out->len - 2] == '\n'))
			pgw_buf_putc(out, '\n');
		pgw_buf_puts(out, st[i].sql);
		pgw_buf_puts(out, ";\n");
	}
	if (pgw_buf_oom(out))
		error = pgw_err_oom(err);
done:
	for (i = 0; o && i < n_o; i++) {
		free(o[i].obj);
		free(o[i].role);
	}
	free(o);
	free(keep);
	pgw_stmts_free(st, n);
	return error;
}

/* The version the database is at, as its file names write it. */
static int head_version(char **out, PGconn *c, const char *pgward_schema,
                        struct pgw_err *err)
{
	struct pgw_history *h = NULL;
	char v[32];
	int error;

	*out = NULL;
	error = pgw_history_load(&h, c, pgward_schema, false, err);
	if (error)
		return error;
	if (h->n) {
		pgw_applied_vtext(v, &h->v[h->n - 1]);
		*out = strdup(v);
		if (!*out)
			error = pgw_err_oom(err);
	}
	pgw_history_free(h);
	return error;
}

static int read_text(char **out, PGconn *c, const char *pgward_schema,
                     bool own_tx, struct pgw_err *err);

int pgw_schema_read_text(char **out, PGconn *c, const char *pgward_schema,
                         struct pgw_err *err)
{
	return read_text(out, c, pgward_schema, true, err);
}

int pgw_schema_read_in_tx(struct pgw_schema **out, PGconn *c,
                          const char *pgward_schema, struct pgw_err *err)
{
	char *text = NULL;
	int error = read_text(&text, c, pgward_schema, false, err);

	*out = NULL;
	if (!error)
		error = pgw_schema_parse(out, text, "the live schema", err);
	free(text);
	return error;
}

static int read_text(char **out, PGconn *c, const char *pgward_schema,
                     bool own_tx, struct pgw_err *err)
{
	const char *exclude[] = { pgward_schema, NULL };
	struct pgw_catalog_opts opts = { 0 };
	struct pgw_catalog *cat = NULL;
	struct pgw_buf text = PGW_BUF_INIT;
	char *version = NULL;
	int error, major = PQserverVersion(c) / 10000;

	*out = NULL;
	opts.allow_unsupported = true;
	opts.exclude_schemas = exclude;
	error = own_tx ? pgw_pg_run(c,
	                            "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY",
	                            err)
	               : 0;
	if (error)
		return error;
	error = pgw_catalog_read(&cat, c, &opts, err);
	if (!error)
		error = head_version(&version, c, pgward_schema, err);
	if (own_tx && !error)
		error = pgw_pg_run(c, "COMMIT", err);
	else if (own_tx)
		pgw_pg_run(c, "ROLLBACK", NULL);
	if (error)
		goto done;
	pgw_buf_printf(&text, "%s%d%s%s\n", header_tag, major,
	               version ? ", migrations at " : "",
	               version ? version : "");
	pgw_buf_puts(&text,
	             "-- The schema the migrations build, for review and for "
	             "`pgward verify`.\n-- Written by `pgward schema dump` (or "
	             "`pgward check --write`): do not edit.\n\n");
	error = canonical_text(&text, cat, err);
	if (!error)
		*out = pgw_buf_detach(&text);
done:
	free(version);
	pgw_buf_release(&text);
	pgw_catalog_free(cat);
	return error;
}

int pgw_schema_read(struct pgw_schema **out, PGconn *c,
                    const char *pgward_schema, struct pgw_err *err)
{
	char *text = NULL;
	int error = pgw_schema_read_text(&text, c, pgward_schema, err);

	*out = NULL;
	if (!error)
		error = pgw_schema_parse(out, text, "the live schema", err);
	free(text);
	return error;
}

/* ---------------------------------------------------------------------- */
/* comparing */

/* Patterns of [verify] ignore, split (NULL-terminated). */
struct ignore {
	char **v;
};

static int ignore_split(struct ignore *ig, const char *text,
                        struct pgw_err *err)
{
	ig->v = pgw_list_split(text);
	return ig->v ? 0 : pgw_err_oom(err);
}

static void ignore_free(struct ignore *ig)
{
	pgw_list_free(ig->v);
	ig->v = NULL;
}

/* A name as people type it: quotes removed ("A ""b""" -> A "b"). */
static char *plain(const char *name)
{
	char *out = malloc(strlen(name) + 1), *w = out;
	const char *p;
	bool quoted = false;

	if (!out)
		return NULL;
	for (p = name; *p; p++) {
		if (*p == '"' && quoted && p[1] == '"') {
			*w++ = '"';
			p++;
		} else if (*p == '"') {
			quoted = !quoted;
		} else {
			*w++ = *p;
		}
	}
	*w = '\0';
	return out;
}

static bool glob_matches(const char *pattern, const char *kind,
                         const char *name)
{
	const char *colon = strchr(pattern, ':');
	char *pn = name ? plain(name) : NULL;
	bool hit = false;

	if (!pn)
		return false;
	if (!colon) {
		hit = fnmatch(pattern, pn, 0) == 0;
	} else {
		char *pk = strndup(pattern, (size_t)(colon - pattern));

		hit = pk && fnmatch(pk, kind, 0) == 0 &&
		      fnmatch(colon + 1, pn, 0) == 0;
		free(pk);
	}
	free(pn);
	return hit;
}

static bool ignored(const struct ignore *ig, const struct pgw_schema_entry *e)
{
	size_t i;

	for (i = 0; ig->v[i]; i++) {
		if (glob_matches(ig->v[i], e->kind, e->name))
			return true;
		if (e->rel && (glob_matches(ig->v[i], "table", e->rel) ||
		               glob_matches(ig->v[i], "view", e->rel) ||
		               glob_matches(ig->v[i], "materialized view",
		                            e->rel)))
			return true;
	}
	return false;
}

/* The role of a grant or revoke entry ("TABLE t to app": app). */
static const char *grant_role(const struct pgw_schema_entry *e, size_t *len)
{
	const char *p = strstr(e->name, e->kind[0] == 'g' ? " to " : " from ");

	if (!p)
		return NULL;
	p += e->kind[0] == 'g' ? 4 : 6;
	*len = strcspn(p, " ");
	return p;
}

static bool is_grant(const struct pgw_schema_entry *e)
{
	return strcmp(e->kind, "grant") == 0 || strcmp(e->kind, "revoke") == 0;
}

/* Whether `roles` (one per line) lists the role of grant entry e. */
static bool role_listed(const char *roles, const struct pgw_schema_entry *e)
{
	size_t len;
	const char *r = grant_role(e, &len), *p;

	if (!r || (len == 12 && strncmp(r, "CURRENT_USER", 12) == 0) ||
	    (len == 6 && strncmp(r, "PUBLIC", 6) == 0))
		return true;
	for (p = roles; p && *p;) {
		size_t n = strcspn(p, "\n");

		if (n == len && strncmp(p, r, n) == 0)
			return true;
		p += n + (p[n] == '\n');
	}
	return false;
}

/* The roles grants of `s` name, one per line. */
static int roles_of(struct pgw_buf *out, const struct pgw_schema *s)
{
	size_t i;

	for (i = 0; i < s->n; i++) {
		size_t len;
		const char *r;

		if (!is_grant(&s->v[i]) || !(r = grant_role(&s->v[i], &len)))
			continue;
		if (role_listed(out->ptr, &s->v[i]))
			continue;
		pgw_buf_put(out, r, len);
		pgw_buf_putc(out, '\n');
	}
	return pgw_buf_oom(out) ? -1 : 0;
}

static int cmp_entry(const void *a, const void *b)
{
	const struct pgw_schema_entry *x = *(const struct pgw_schema_entry *const *)a;
	const struct pgw_schema_entry *y = *(const struct pgw_schema_entry *const *)b;
	int c = strcmp(x->kind, y->kind);

	return c ? c : strcmp(x->name, y->name);
}

/* The entries of s that count, sorted by kind and name. */
static const struct pgw_schema_entry **
counted(const struct pgw_schema *s, const struct ignore *ig, const char *roles,
        size_t *n)
{
	const struct pgw_schema_entry **v = calloc(s->n + 1, sizeof(*v));
	size_t i;

	*n = 0;
	if (!v)
		return NULL;
	for (i = 0; i < s->n; i++) {
		const struct pgw_schema_entry *e = &s->v[i];

		if (ignored(ig, e) || (is_grant(e) && !role_listed(roles, e)))
			continue;
		v[(*n)++] = e;
	}
	qsort(v, *n, sizeof(*v), cmp_entry);
	return v;
}

/* "public.prices.close" -> "prices.close": the public schema is left
 * out of what people read. */
static char *shown(const char *name)
{
	struct pgw_buf b = PGW_BUF_INIT;
	const char *p = name;

	while (*p) {
		if (strncmp(p, "public.", 7) == 0 &&
		    (p == name || p[-1] == ' ' || p[-1] == '(')) {
			p += 7;
			continue;
		}
		pgw_buf_putc(&b, *p++);
	}
	if (pgw_buf_oom(&b)) {
		pgw_buf_release(&b);
		return NULL;
	}
	{
		char *s = pgw_buf_detach(&b);

		return s ? s : strdup("");
	}
}

/* A column line's parts: type, collation, default, NOT NULL, identity. */
struct col_parts {
	char *type, *collate, *deflt, *ident;
	bool not_null;
};

static const char *first_of(const char *p, const char *const *words,
                            size_t n)
{
	const char *best = NULL;
	size_t i;

	for (i = 0; i < n; i++) {
		const char *hit = find_top(p, words[i]);

		if (hit && (!best || hit < best))
			best = hit;
	}
	return best;
}

static void col_split(struct col_parts *c, const char *line)
{
	static const char *const marks[] = { " COLLATE ", " DEFAULT ",
		                             " GENERATED ", " NOT NULL" };
	const char *p = skip_ws(ident_end(line) ? ident_end(line) : line);
	const char *end = p + strlen(p), *m;

	memset(c, 0, sizeof(*c));
	m = first_of(p, marks, 4);
	c->type = strndup(p, (size_t)((m ? m : end) - p));
	if ((m = find_top(p, " COLLATE ")))
		c->collate = strndup(m + 9, strcspn(m + 9, " "));
	if ((m = find_top(p, " GENERATED ALWAYS AS (")) &&
	    strstr(m, " STORED")) {
		const char *e = strstr(m, " STORED") + 7;

		c->deflt = strndup(m + 1, (size_t)(e - m - 1));
	} else if ((m = find_top(p, " DEFAULT "))) {
		const char *e = first_of(m + 9, marks + 2, 2);

		c->deflt = strndup(m + 9, (size_t)((e ? e : end) - (m + 9)));
	}
	if ((m = find_top(p, " GENERATED ")) && strstr(m, " AS IDENTITY"))
		c->ident = strdup(m + 1);
	c->not_null = find_top(p, " NOT NULL") != NULL;
}

static void col_free(struct col_parts *c)
{
	free(c->type);
	free(c->collate);
	free(c->deflt);
	free(c->ident);
}

static bool same(const char *a, const char *b)
{
	return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

static void describe_column(struct pgw_buf *w, const char *exp,
                            const char *live)
{
	struct col_parts a, b;
	size_t start = w->len;

	col_split(&a, exp);
	col_split(&b, live);
	if (!same(a.type, b.type))
		pgw_buf_printf(w, "%s -> %s", a.type ? a.type : "?",
		               b.type ? b.type : "?");
	if (!same(a.collate, b.collate))
		pgw_buf_printf(w, "%scollation %s -> %s", w->len > start ? "; " : "",
		               a.collate ? a.collate : "default",
		               b.collate ? b.collate : "default");
	if (!same(a.deflt, b.deflt))
		pgw_buf_printf(w, "%sdefault %s -> %s", w->len > start ? "; " : "",
		               a.deflt ? a.deflt : "none",
		               b.deflt ? b.deflt : "none");
	if (a.not_null != b.not_null)
		pgw_buf_printf(w, "%s%s -> %s", w->len > start ? "; " : "",
		               a.not_null ? "NOT NULL" : "nullable",
		               b.not_null ? "NOT NULL" : "nullable");
	if (!same(a.ident, b.ident))
		pgw_buf_printf(w, "%sidentity %s -> %s",
		               w->len > start ? "; " : "",
		               a.ident ? a.ident : "none",
		               b.ident ? b.ident : "none");
	if (w->len == start)
		pgw_buf_puts(w, "definition differs");
	col_free(&a);
	col_free(&b);
}

/* An index's predicate (after WHERE), or NULL. */
static const char *predicate(const char *s)
{
	const char *p = find_top(s, " WHERE ");

	return p ? p + 7 : NULL;
}

/* The values of CREATE TYPE ... AS ENUM (...), or NULL. */
static const char *enum_values(const char *s)
{
	const char *p = strstr(s, " AS ENUM (");

	return p ? p + 9 : NULL;
}

/* The privileges of a GRANT ("SELECT, INSERT"), length in *n. */
static const char *privileges(const char *s, size_t *n)
{
	const char *p = after_kw(s, "GRANT"), *on = p ? find_top(p, " ON ") : NULL;

	*n = on ? (size_t)(on - p) : 0;
	return on ? p : NULL;
}

/* What differs between two entries of the same kind and name; sets
 * *both when the definitions should be shown. */
static void describe(struct pgw_buf *w, const struct pgw_schema_entry *a,
                     const struct pgw_schema_entry *b, bool *both)
{
	const char *pa, *pb;
	size_t na, nb;

	*both = false;
	if (strcmp(a->kind, "column") == 0 || strcmp(a->kind, "attribute") == 0) {
		describe_column(w, a->text, b->text);
		return;
	}
	if (strcmp(a->kind, "index") == 0) {
		pa = predicate(a->text);
		pb = predicate(b->text);
		if ((pa || pb) &&
		    (size_t)((pa ? pa - 7 : a->text + strlen(a->text)) - a->text) ==
		            (size_t)((pb ? pb - 7 : b->text + strlen(b->text)) -
		                     b->text) &&
		    strncmp(a->text, b->text,
		            (size_t)((pa ? pa - 7 : a->text + strlen(a->text)) -
		                     a->text)) == 0) {
			pgw_buf_printf(w, "predicate %s -> %s", pa ? pa : "none",
			               pb ? pb : "none");
			return;
		}
	}
	if (strcmp(a->kind, "type") == 0 && (pa = enum_values(a->text)) &&
	    (pb = enum_values(b->text))) {
		pgw_buf_printf(w, "values %s -> %s", pa, pb);
		return;
	}
	if (strcmp(a->kind, "grant") == 0 && (pa = privileges(a->text, &na)) &&
	    (pb = privileges(b->text, &nb))) {
		pgw_buf_printf(w, "%.*s -> %.*s", (int)na, pa, (int)nb, pb);
		if (!strstr(a->text, "WITH GRANT OPTION") !=
		    !strstr(b->text, "WITH GRANT OPTION"))
			pgw_buf_puts(w, strstr(b->text, "WITH GRANT OPTION")
			                        ? " (now WITH GRANT OPTION)"
			                        : " (WITH GRANT OPTION lost)");
		return;
	}
	if (strcmp(a->kind, "comment") == 0 && (pa = find_top(a->text, " IS ")) &&
	    (pb = find_top(b->text, " IS "))) {
		pgw_buf_printf(w, "%s -> %s", pa + 4, pb + 4);
		return;
	}
	pgw_buf_puts(w, "definition differs");
	*both = true;
}

static int change_add(struct pgw_schema_diff *d, const char *kind,
                      const char *name, const char *what, const char *expected,
                      const char *live)
{
	struct pgw_schema_change *v = realloc(d->v, (d->n + 1) * sizeof(*v)), *c;

	if (!v)
		return -1;
	d->v = v;
	c = &v[d->n];
	c->kind = strdup(kind);
	c->name = shown(name);
	c->what = strdup(what);
	c->expected = expected ? strdup(expected) : NULL;
	c->live = live ? strdup(live) : NULL;
	d->n++;
	if (!c->kind || !c->name || !c->what || (expected && !c->expected) ||
	    (live && !c->live))
		return -1;
	return 0;
}

/* Whether e belongs to a relation that is missing or unexpected as a
 * whole (named once, not column by column). */
static bool in_gone(const struct pgw_schema_entry *e,
                    const struct pgw_schema_entry *const *gone, size_t n)
{
	size_t i;

	if (!e->rel)
		return false;
	for (i = 0; i < n; i++)
		if (gone[i] != e && strcmp(gone[i]->name, e->rel) == 0)
			return true;
	return false;
}

static bool whole_rel(const struct pgw_schema_entry *e)
{
	return strcmp(e->kind, "table") == 0 || strcmp(e->kind, "view") == 0 ||
	       strcmp(e->kind, "materialized view") == 0 ||
	       strcmp(e->kind, "type") == 0;
}

int pgw_schema_compare(struct pgw_schema_diff **out,
                       const struct pgw_schema *expected,
                       const struct pgw_schema *live, const char *ignore,
                       struct pgw_err *err)
{
	return pgw_schema_compare_as(out, expected, live, ignore, NULL, err);
}

int pgw_schema_compare_as(struct pgw_schema_diff **out,
                          const struct pgw_schema *expected,
                          const struct pgw_schema *live, const char *ignore,
                          const char *extra, struct pgw_err *err)
{
	struct pgw_schema_diff *d = calloc(1, sizeof(*d));
	struct pgw_buf roles = PGW_BUF_INIT, what = PGW_BUF_INIT;
	const struct pgw_schema_entry **a = NULL, **b = NULL, **gone = NULL;
	struct ignore ig = { 0 };
	size_t na = 0, nb = 0, ng = 0, i, j;
	int error = 0, pass;

	*out = NULL;
	if (!d)
		return pgw_err_oom(err);
	error = ignore_split(&ig, ignore, err);
	if (error)
		goto done;
	if (roles_of(&roles, expected) != 0 ||
	    !(a = counted(expected, &ig, roles.ptr, &na)) ||
	    !(b = counted(live, &ig, roles.ptr, &nb)) ||
	    !(gone = calloc(na + nb + 1, sizeof(*gone)))) {
		error = pgw_err_oom(err);
		goto done;
	}
	/* pass 0 finds relations missing or unexpected as a whole, pass 1
	 * reports */
	for (pass = 0; pass < 2 && !error; pass++) {
		for (i = j = 0; (i < na || j < nb) && !error;) {
			int c = i == na   ? 1
			        : j == nb ? -1
			                  : cmp_entry(&a[i], &b[j]);
			const struct pgw_schema_entry *e = c < 0 ? a[i] : b[j];

			if (c == 0) {
				if (pass && strcmp(a[i]->fp, b[j]->fp) != 0) {
					bool both;

					pgw_buf_reset(&what);
					describe(&what, a[i], b[j], &both);
					if (pgw_buf_oom(&what) ||
					    change_add(d, e->kind, e->name,
					               what.ptr,
					               both ? a[i]->text : NULL,
					               both ? b[j]->text : NULL))
						error = pgw_err_oom(err);
				}
				i++;
				j++;
				continue;
			}
			if (c < 0)
				i++;
			else
				j++;
			if (!pass) {
				if (whole_rel(e))
					gone[ng++] = e;
			} else if (!in_gone(e, gone, ng) &&
			           change_add(d, e->kind, e->name,
			                      c < 0   ? "missing"
			                      : extra ? extra
			                              : "not in schema.sql",
			                      NULL, NULL)) {
				error = pgw_err_oom(err);
			}
		}
	}
done:
	free(a);
	free(b);
	free(gone);
	ignore_free(&ig);
	pgw_buf_release(&roles);
	pgw_buf_release(&what);
	if (error) {
		pgw_schema_diff_free(d);
		return error;
	}
	*out = d;
	return 0;
}

void pgw_schema_diff_free(struct pgw_schema_diff *d)
{
	size_t i;

	if (!d)
		return;
	for (i = 0; i < d->n; i++)
		pgw_schema_change_release(&d->v[i]);
	free(d->v);
	free(d);
}

void pgw_schema_change_release(struct pgw_schema_change *c)
{
	free(c->kind);
	free(c->name);
	free(c->what);
	free(c->expected);
	free(c->live);
}

static void indented(struct pgw_buf *out, const char *label, const char *text)
{
	const char *p = text;

	pgw_buf_printf(out, "    %s:\n", label);
	while (*p) {
		size_t n = strcspn(p, "\n");

		pgw_buf_printf(out, "        %.*s\n", (int)n, p);
		p += n + (p[n] == '\n');
	}
}

void pgw_schema_diff_text(struct pgw_buf *out, const struct pgw_schema_diff *d)
{
	size_t i;

	for (i = 0; i < d->n; i++) {
		const struct pgw_schema_change *c = &d->v[i];

		if (strcmp(c->kind, "statement") == 0)
			pgw_buf_printf(out, "%s: %s\n", c->name, c->what);
		else
			pgw_buf_printf(out, "%s %s: %s\n", c->kind, c->name,
			               c->what);
		if (c->expected)
			indented(out, "schema.sql", c->expected);
		if (c->live)
			indented(out, "live", c->live);
	}
}

/* ---------------------------------------------------------------------- */
/* the hash */

static int hash_of(char out[65], const struct pgw_schema *s,
                   const struct ignore *ig, const char *roles,
                   struct pgw_err *err)
{
	const struct pgw_schema_entry **v;
	struct pgw_buf b = PGW_BUF_INIT;
	size_t n, i;
	int error = 0;

	v = counted(s, ig, roles, &n);
	if (!v)
		return pgw_err_oom(err);
	for (i = 0; i < n; i++)
		pgw_buf_printf(&b, "%s\t%s\t%s\n", v[i]->kind, v[i]->name,
		               v[i]->fp);
	if (pgw_buf_oom(&b) || pgw_sha256_hex(out, b.ptr ? b.ptr : "", b.len))
		error = pgw_err_oom(err);
	free(v);
	pgw_buf_release(&b);
	return error;
}

int pgw_schema_hash(char **out, const struct pgw_schema *expected,
                    const char *ignore, struct pgw_err *err)
{
	struct pgw_buf roles = PGW_BUF_INIT, b = PGW_BUF_INIT;
	struct ignore ig;
	char hex[65];
	int error;

	*out = NULL;
	error = ignore_split(&ig, ignore, err);
	if (error)
		return error;
	if (roles_of(&roles, expected) != 0)
		error = pgw_err_oom(err);
	if (!error)
		error = hash_of(hex, expected, &ig, roles.ptr, err);
	if (!error) {
		pgw_buf_printf(&b, "%s\n%s", hex, roles.ptr ? roles.ptr : "");
		if (pgw_buf_oom(&b))
			error = pgw_err_oom(err);
		else
			*out = pgw_buf_detach(&b);
	}
	ignore_free(&ig);
	pgw_buf_release(&roles);
	pgw_buf_release(&b);
	return error;
}

int pgw_schema_hash_check(bool *same_hash, const char *stored,
                          const struct pgw_schema *live, const char *ignore,
                          struct pgw_err *err)
{
	struct ignore ig;
	const char *nl = strchr(stored, '\n');
	char hex[65];
	int error;

	*same_hash = false;
	error = ignore_split(&ig, ignore, err);
	if (error)
		return error;
	error = hash_of(hex, live, &ig, nl ? nl + 1 : "", err);
	if (!error)
		*same_hash = strncmp(stored, hex, 64) == 0 &&
		             (stored[64] == '\n' || stored[64] == '\0');
	ignore_free(&ig);
	return error;
}
