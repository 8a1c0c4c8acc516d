/* sqlparse.c - the libpg_query adapter: no other module includes it. */
#include "sqlparse.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>
#include <pg_query.h>

static int line_at(const char *text, size_t off, int first_line)
{
	int line = first_line;
	size_t i;

	for (i = 0; i < off && text[i]; i++)
		if (text[i] == '\n')
			line++;
	return line;
}

/* Skip white space and comments: where the statement really starts. */
static size_t skip_noise(const char *s, size_t i, size_t end)
{
	while (i < end) {
		if (isspace((unsigned char)s[i])) {
			i++;
		} else if (s[i] == '-' && i + 1 < end && s[i + 1] == '-') {
			while (i < end && s[i] != '\n')
				i++;
		} else if (s[i] == '/' && i + 1 < end && s[i + 1] == '*') {
			int depth = 1;

			i += 2;
			while (i < end && depth) {
				if (s[i] == '*' && i + 1 < end && s[i + 1] == '/') {
					depth--;
					i += 2;
				} else if (s[i] == '/' && i + 1 < end &&
					   s[i + 1] == '*') {
					depth++;
					i += 2;
				} else {
					i++;
				}
			}
		} else {
			break;
		}
	}
	return i;
}

static bool str_eq(json_t *obj, const char *key, const char *want)
{
	const char *v = json_string_value(json_object_get(obj, key));

	return v && strcmp(v, want) == 0;
}

static bool is_true(json_t *obj, const char *key)
{
	return json_is_true(json_object_get(obj, key));
}

static bool has_defelem(json_t *list, const char *name)
{
	size_t i;
	json_t *it;

	json_array_foreach(list, i, it)
	{
		json_t *d = json_object_get(it, "DefElem");

		if (d && str_eq(d, "defname", name))
			return true;
	}
	return false;
}

static char *dup_str(json_t *obj, const char *key)
{
	const char *v = json_string_value(json_object_get(obj, key));

	return v ? strdup(v) : NULL;
}

static void classify(struct pgw_stmt *st, json_t *stmt)
{
	const char *kind;
	json_t *n;

	if (json_object_size(stmt) != 1)
		return;
	kind = json_object_iter_key(json_object_iter(stmt));
	n = json_object_iter_value(json_object_iter(stmt));

	if (!strcmp(kind, "TransactionStmt")) {
		st->flags |= PGW_STMT_TX_CONTROL;
	} else if (!strcmp(kind, "IndexStmt")) {
		if (is_true(n, "concurrent")) {
			json_t *rel = json_object_get(n, "relation");

			st->flags |= PGW_STMT_NO_TX | PGW_STMT_CONCURRENT_INDEX;
			if (is_true(n, "if_not_exists"))
				st->flags |= PGW_STMT_NOTX_OK;
			st->index_name = dup_str(n, "idxname");
			st->index_schema = dup_str(rel, "schemaname");
			st->index_table = dup_str(rel, "relname");
		}
	} else if (!strcmp(kind, "DropStmt")) {
		if (str_eq(n, "removeType", "OBJECT_TABLE") ||
		    str_eq(n, "removeType", "OBJECT_TYPE") ||
		    str_eq(n, "removeType", "OBJECT_DOMAIN") ||
		    str_eq(n, "removeType", "OBJECT_SCHEMA"))
			st->flags |= PGW_STMT_DESTRUCTIVE;
		if (is_true(n, "concurrent")) {
			json_t *obj = json_array_get(json_object_get(n, "objects"), 0);
			json_t *names = json_object_get(json_object_get(obj, "List"), "items");
			size_t k = json_array_size(names);

			st->flags |= PGW_STMT_NO_TX;
			if (is_true(n, "missing_ok") &&
			    str_eq(n, "removeType", "OBJECT_INDEX"))
				st->flags |= PGW_STMT_NOTX_OK;
			if (str_eq(n, "removeType", "OBJECT_INDEX") && k >= 1) {
				/* remember it: a failed section recreates it */
				st->flags |= PGW_STMT_DROP_INDEX;
				st->index_name = dup_str(json_object_get(json_array_get(names, k - 1), "String"), "sval");
				if (k >= 2)
					st->index_schema = dup_str(json_object_get(json_array_get(names, k - 2), "String"), "sval");
			}
		}
	} else if (!strcmp(kind, "AlterTableStmt")) {
		size_t i;
		json_t *c;

		json_array_foreach(json_object_get(n, "cmds"), i, c)
		{
			json_t *cmd = json_object_get(c, "AlterTableCmd");
			json_t *pc;

			if (str_eq(cmd, "subtype", "AT_DropColumn") ||
			    str_eq(cmd, "subtype", "AT_AlterColumnType"))
				st->flags |= PGW_STMT_DESTRUCTIVE;
			pc = json_object_get(json_object_get(cmd, "def"),
					     "PartitionCmd");
			if (str_eq(cmd, "subtype", "AT_DetachPartition") &&
			    is_true(pc, "concurrent"))
				st->flags |= PGW_STMT_NO_TX;
		}
	} else if (!strcmp(kind, "TruncateStmt") ||
		   !strcmp(kind, "DeleteStmt") || !strcmp(kind, "UpdateStmt")) {
		st->flags |= PGW_STMT_DESTRUCTIVE;
	} else if (!strcmp(kind, "VacuumStmt")) {
		st->flags |= PGW_STMT_NOTX_OK;
		if (is_true(n, "is_vacuumcmd"))
			st->flags |= PGW_STMT_NO_TX;
	} else if (!strcmp(kind, "ReindexStmt")) {
		if (has_defelem(json_object_get(n, "params"), "concurrently"))
			st->flags |= PGW_STMT_NO_TX | PGW_STMT_NOTX_OK;
		else if (str_eq(n, "kind", "REINDEX_OBJECT_SYSTEM") ||
			 str_eq(n, "kind", "REINDEX_OBJECT_DATABASE"))
			st->flags |= PGW_STMT_NO_TX;
	} else if (!strcmp(kind, "AlterEnumStmt")) {
		if (json_object_get(n, "newVal") &&
		    !json_object_get(n, "oldVal")) {
			st->flags |= PGW_STMT_ADD_ENUM_VALUE;
			if (is_true(n, "skipIfNewValExists"))
				st->flags |= PGW_STMT_NOTX_OK;
		}
	} else if (!strcmp(kind, "CopyStmt")) {
		if (!json_object_get(n, "filename") &&
		    !is_true(n, "is_program"))
			st->flags |= PGW_STMT_COPY_STDIN;
	} else if (!strcmp(kind, "CreatedbStmt") ||
		   !strcmp(kind, "DropdbStmt") ||
		   !strcmp(kind, "AlterSystemStmt") ||
		   !strcmp(kind, "CreateTableSpaceStmt") ||
		   !strcmp(kind, "DropTableSpaceStmt")) {
		st->flags |= PGW_STMT_NO_TX;
	}
}

/* The parser counts its error position in characters, not bytes. */
static size_t char_offset(const char *text, size_t chars)
{
	size_t i = 0;

	while (text[i] && chars) {
		i++;
		while ((text[i] & 0xc0) == 0x80)
			i++;
		chars--;
	}
	return i;
}

/* Explain a parser rejection in the words a user needs. */
static int parse_failure(const char *text, int first_line, const char *file,
			 const PgQueryError *perr, struct pgw_err *err)
{
	const char *p = text;
	int line = first_line;

	/* psql meta-commands and COPY data are the usual culprits; name them
	 * rather than the syntax error they cause. */
	while (*p) {
		const char *eol = strchr(p, '\n');
		size_t len = eol ? (size_t)(eol - p) : strlen(p);
		const char *q = p;

		while (q < p + len && (*q == ' ' || *q == '\t'))
			q++;
		if (q < p + len && *q == '\\') {
			int w = (int)strcspn(q, " \t\r\n");

			pgw_err_set(err, PGW_EINVAL,
				    "%s:%d: psql meta-command '%.*s' in a migration",
				    file, line, w, q);
			pgw_err_hint(err, "pgward sends SQL to the server, not to psql: write the SQL the command stands for");
			return err->code;
		}
		if (len > 4 && strncasecmp(q, "COPY", 4) == 0) {
			char lower[512];
			size_t i, n = len < sizeof(lower) - 1 ? len : sizeof(lower) - 1;

			for (i = 0; i < n; i++)
				lower[i] = (char)tolower((unsigned char)p[i]);
			lower[n] = '\0';
			if (strstr(lower, "from stdin")) {
				pgw_err_set(err, PGW_EINVAL,
					    "%s:%d: inline COPY data (COPY ... FROM stdin) in a migration",
					    file, line);
				pgw_err_hint(err, "load data with INSERT statements, or COPY from a file on the server");
				return err->code;
			}
		}
		line++;
		p = eol ? eol + 1 : p + len;
	}
	line = perr->cursorpos > 0 ?
		       line_at(text, char_offset(text, (size_t)perr->cursorpos - 1),
			       first_line) :
		       first_line;
	pgw_err_set(err, PGW_EINVAL, "%s:%d: %s", file, line, perr->message);
	pgw_err_hint(err, "statements are read with PostgreSQL 15's grammar; '-- migrate:up split:none' sends a transactional section as one string");
	return err->code;
}

void pgw_stmts_free(struct pgw_stmt *stmts, size_t n)
{
	size_t i;

	if (!stmts)
		return;
	for (i = 0; i < n; i++) {
		free(stmts[i].sql);
		free(stmts[i].index_name);
		free(stmts[i].index_schema);
		free(stmts[i].index_table);
	}
	free(stmts);
}

int pgw_sql_whole(struct pgw_stmt **out, size_t *n_out, const char *text,
		  int first_line, struct pgw_err *err)
{
	size_t len = strlen(text), start = skip_noise(text, 0, len);
	struct pgw_stmt *st;

	*out = NULL;
	*n_out = 0;
	if (start == len)
		return 0;
	st = calloc(1, sizeof(*st));
	if (!st || !(st->sql = strdup(text + start))) {
		free(st);
		return pgw_err_oom(err);
	}
	st->line = line_at(text, start, first_line);
	st->flags = PGW_STMT_DESTRUCTIVE;
	*out = st;
	*n_out = 1;
	return 0;
}

/* Does the statement's parse tree matter?  Only a few kinds of statement
 * carry a flag; building and reading the tree of every CREATE TABLE and
 * INSERT would cost a no-op run more than its database round trip.  Any
 * first word not known to be flag-free is read in full. */
static bool needs_tree(const char *sql)
{
	static const char *const plain[] = { "INSERT", "SELECT", "GRANT",
					     "REVOKE", "COMMENT", "SET",
					     "SECURITY", NULL };
	static const char *const plain_create[] = {
		"TABLE",     "VIEW",	"FUNCTION",  "SEQUENCE", "TYPE",
		"SCHEMA",    "TRIGGER", "POLICY",    "ROLE",	 "DOMAIN",
		"EXTENSION", "AGGREGATE", "PROCEDURE", "MATERIALIZED", NULL
	};
	size_t w = strcspn(sql, " \t\n\r("), i;
	const char *next;

	for (i = 0; plain[i]; i++)
		if (w == strlen(plain[i]) && !strncasecmp(sql, plain[i], w))
			return false;
	if (w != 6 || strncasecmp(sql, "CREATE", 6) != 0)
		return true;
	next = sql + w;
	while (isspace((unsigned char)*next))
		next++;
	w = strcspn(next, " \t\n\r(");
	for (i = 0; plain_create[i]; i++)
		if (w == strlen(plain_create[i]) &&
		    !strncasecmp(next, plain_create[i], w))
			return false;
	return true;
}

/* Classify one statement from its own parse tree. */
static int classify_text(struct pgw_stmt *st, const char *file,
			 struct pgw_err *err)
{
	PgQueryParseResult pr = pg_query_parse(st->sql);
	json_t *root = NULL;
	int error = 0;

	if (pr.error) {
		/* it parsed as part of the section: cannot happen */
		error = pgw_err_set(err, PGW_EINVAL, "%s:%d: %s", file,
				    st->line, pr.error->message);
	} else {
		root = json_loads(pr.parse_tree, 0, NULL);
		if (!root)
			error = pgw_err_set(err, PGW_ERROR,
					    "%s:%d: cannot read the parse tree",
					    file, st->line);
		else
			classify(st, json_object_get(json_array_get(json_object_get(root, "stmts"), 0),
						     "stmt"));
	}
	json_decref(root);
	pg_query_free_parse_result(pr);
	return error;
}

int pgw_sql_split(struct pgw_stmt **out, size_t *n_out, const char *text,
		  int first_line, const char *file, struct pgw_err *err)
{
	PgQuerySplitResult sr;
	struct pgw_stmt *v = NULL;
	size_t n = 0, len = strlen(text), counted = 0;
	int i, error = 0, line = first_line;

	*out = NULL;
	*n_out = 0;
	sr = pg_query_split_with_parser(text);
	if (sr.error) {
		error = parse_failure(text, first_line, file, sr.error, err);
		goto done;
	}
	v = calloc((size_t)sr.n_stmts + 1, sizeof(*v));
	if (!v) {
		error = pgw_err_oom(err);
		goto done;
	}
	for (i = 0; i < sr.n_stmts; i++) {
		size_t loc = (size_t)sr.stmts[i]->stmt_location;
		size_t slen = (size_t)sr.stmts[i]->stmt_len;
		size_t start, end;
		struct pgw_stmt *st;

		if (loc > len)
			loc = 0;
		end = slen > 0 && loc + slen <= len ? loc + slen : len;
		start = skip_noise(text, loc, end);
		while (end > start &&
		       (isspace((unsigned char)text[end - 1]) ||
			text[end - 1] == ';'))
			end--;
		if (end == start)
			continue;
		st = &v[n++];
		st->sql = strndup(text + start, end - start);
		if (!st->sql) {
			error = pgw_err_oom(err);
			goto done;
		}
		/* counted on from the previous statement: one pass over
		 * the text, however many statements it holds */
		line = line_at(text + counted, start - counted, line);
		counted = start;
		st->line = line;
		if (needs_tree(st->sql)) {
			error = classify_text(st, file, err);
			if (error)
				goto done;
		}
	}
	*out = v;
	*n_out = n;
	v = NULL;
done:
	pgw_stmts_free(v, n);
	pg_query_free_split_result(sr);
	return error;
}

int pgw_sql_kind(char out[64], const char *sql, struct pgw_err *err)
{
	PgQueryParseResult pr = pg_query_parse(sql);
	json_t *root = NULL, *stmts, *stmt;
	int error = 0;

	out[0] = '\0';
	if (pr.error) {
		error = pgw_err_set(err, PGW_EINVAL, "%s", pr.error->message);
		goto done;
	}
	root = json_loads(pr.parse_tree, 0, NULL);
	if (!root) {
		error = pgw_err_set(err, PGW_ERROR, "cannot read the parse tree");
		goto done;
	}
	stmts = json_object_get(root, "stmts");
	stmt = json_object_get(json_array_get(stmts, 0), "stmt");
	if (json_array_size(stmts) == 1 && json_object_size(stmt) == 1) {
		const char *kind = json_object_iter_key(json_object_iter(stmt));
		json_t *n = json_object_iter_value(json_object_iter(stmt));

		snprintf(out, 64, "%s",
			 !strcmp(kind, "SelectStmt") && json_object_get(n, "intoClause") ?
				 "SelectInto" : kind);
	}
done:
	json_decref(root);
	pg_query_free_parse_result(pr);
	return error;
}

static bool ident_char(char c)
{
	return isalnum((unsigned char)c) || c == '_' || c == '$' ||
	       (unsigned char)c >= 0x80;
}

/* If s[i] starts a string literal, quoted identifier, dollar-quoted
 * string or comment, the offset just after it; else i. */
static size_t skip_quoted(const char *s, size_t i)
{
	size_t j;

	if (s[i] == '\'' || s[i] == '"') {
		char q = s[i];
		/* E'...' takes backslash escapes */
		bool esc = q == '\'' && i > 0 && (s[i - 1] == 'E' || s[i - 1] == 'e') &&
			   (i < 2 || !ident_char(s[i - 2]));

		for (j = i + 1; s[j]; j++) {
			if (esc && s[j] == '\\' && s[j + 1]) {
				j++;
			} else if (s[j] == q) {
				if (s[j + 1] != q)
					return j + 1;
				j++;
			}
		}
		return j;
	}
	if (s[i] == '-' && s[i + 1] == '-') {
		for (j = i; s[j] && s[j] != '\n'; j++)
			;
		return j;
	}
	if (s[i] == '/' && s[i + 1] == '*')
		return skip_noise(s, i, strlen(s));
	if (s[i] == '$' && (i == 0 || !ident_char(s[i - 1])) &&
	    !isdigit((unsigned char)s[i + 1])) {
		size_t tag;

		for (j = i + 1; s[j] && s[j] != '$' && ident_char(s[j]); j++)
			;
		if (s[j] != '$')
			return i;
		tag = j + 1 - i;
		for (j = j + 1; s[j]; j++)
			if (s[j] == '$' && !strncmp(s + j, s + i, tag))
				return j + tag;
		return j;
	}
	return i;
}

int pgw_sql_batch_bind(char **out, int *found, size_t *positional,
		       const char *sql, bool pad, struct pgw_err *err)
{
	const size_t plen = strlen(PGW_BATCH_PLACEHOLDER);
	struct pgw_buf b = PGW_BUF_INIT;
	size_t i = 0, from = 0;

	*out = NULL;
	*found = 0;
	*positional = 0;
	while (sql[i]) {
		size_t j = skip_quoted(sql, i);

		if (j != i) {
			i = j;
			continue;
		}
		if (sql[i] == '$' && isdigit((unsigned char)sql[i + 1]) &&
		    (i == 0 || !ident_char(sql[i - 1]))) {
			if (!*positional)
				*positional = i + 1;
		} else if (!strncmp(sql + i, PGW_BATCH_PLACEHOLDER, plen) &&
			   (i == 0 || sql[i - 1] != ':') &&
			   !ident_char(sql[i + plen])) {
			pgw_buf_put(&b, sql + from, i - from);
			pgw_buf_puts(&b, pad ? "$1    " : "$1");
			(*found)++;
			i += plen;
			from = i;
			continue;
		}
		i++;
	}
	pgw_buf_puts(&b, sql + from);
	if (pgw_buf_oom(&b))
		return pgw_err_oom(err);
	*out = pgw_buf_detach(&b);
	return *out ? 0 : pgw_err_oom(err);
}

int pgw_sql_batch_unbind(char **out, const char *sql, struct pgw_err *err)
{
	struct pgw_buf b = PGW_BUF_INIT;
	size_t i = 0, from = 0;

	*out = NULL;
	while (sql[i]) {
		size_t j = skip_quoted(sql, i), k;

		if (j != i) {
			i = j;
			continue;
		}
		if (sql[i] == '$' && sql[i + 1] == '1' &&
		    !isdigit((unsigned char)sql[i + 2]) &&
		    (i == 0 || !ident_char(sql[i - 1]))) {
			pgw_buf_put(&b, sql + from, i - from);
			pgw_buf_puts(&b, PGW_BATCH_PLACEHOLDER);
			/* the padding pgw_sql_batch_bind() added */
			for (k = i + 2; k < i + 6 && sql[k] == ' '; k++)
				;
			i = from = k;
			continue;
		}
		i++;
	}
	pgw_buf_puts(&b, sql + from);
	if (pgw_buf_oom(&b))
		return pgw_err_oom(err);
	*out = pgw_buf_detach(&b);
	return *out ? 0 : pgw_err_oom(err);
}

void pgw_stmt_summary(struct pgw_buf *out, const char *sql)
{
	char *safe = pgw_redact_sql(sql);
	const char *p = safe ? safe : "";
	size_t shown = 0;
	bool space = false;

	/* 60 characters (not bytes: never half a UTF-8 sequence) */
	for (; *p && shown < 60; p++) {
		if (isspace((unsigned char)*p)) {
			space = shown > 0;
			continue;
		}
		if (space) {
			pgw_buf_putc(out, ' ');
			shown++;
			space = false;
		}
		pgw_buf_putc(out, *p);
		while ((p[1] & 0xc0) == 0x80)
			pgw_buf_putc(out, *++p);
		shown++;
	}
	while (isspace((unsigned char)*p))
		p++;
	if (*p)
		pgw_buf_puts(out, " ...");
	free(safe);
}
