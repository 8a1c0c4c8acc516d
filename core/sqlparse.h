/* sqlparse.h - split and classify SQL with libpg_query (PostgreSQL 15's
 * own grammar): statements, their lines, and the flags pgward acts on. */
#ifndef PGW_SQLPARSE_H
#define PGW_SQLPARSE_H

#include "pgward.h"

/* Split `text` (a section body whose first line is `first_line` of
 * `file`) into statements.  On success the caller owns *out: free it with
 * pgw_stmts_free().  A text the parser rejects is PGW_EINVAL naming
 * file:line, with a special message for psql meta-commands and inline COPY
 * data. */
int pgw_sql_split(struct pgw_stmt **out, size_t *n_out, const char *text,
		  int first_line, const char *file, struct pgw_err *err);
/* The whole text as one statement (split:none): not parsed, so taken to
 * be destructive. */
int pgw_sql_whole(struct pgw_stmt **out, size_t *n_out, const char *text,
		  int first_line, struct pgw_err *err);
void pgw_stmts_free(struct pgw_stmt *stmts, size_t n);

/* The kind of the one statement in `sql` as PostgreSQL's parser names
 * it ("UpdateStmt", "SelectStmt", ...; "SelectInto" for SELECT ... INTO),
 * written into out[64]; "" when the text is no single statement. */
int pgw_sql_kind(char out[64], const char *sql, struct pgw_err *err);

/* The batch placeholder of a batch:N statement, `:batch`, written outside
 * string literals, quoted identifiers and comments.  pgw_sql_batch_bind()
 * rewrites each as the parameter `$1` (with `pad`, followed by four spaces
 * so that offsets and lines stay those of the file), counts them in
 * *found and sets *positional to the 1-based offset of a `$n` parameter
 * the text has of its own (0: none).  pgw_sql_batch_unbind() turns the
 * `$1` of a bound statement (and the padding left of it) back into
 * `:batch`.  Caller owns *out (free()); PGW_ENOMEM on OOM. */
#define PGW_BATCH_PLACEHOLDER ":batch"
int pgw_sql_batch_bind(char **out, int *found, size_t *positional,
		       const char *sql, bool pad, struct pgw_err *err);
int pgw_sql_batch_unbind(char **out, const char *sql, struct pgw_err *err);

/* The statement's first words, whitespace folded, passwords hidden:
 * "CREATE INDEX CONCURRENTLY ix_prices_latest ON ...". */
void pgw_stmt_summary(struct pgw_buf *out, const char *sql);

#endif
