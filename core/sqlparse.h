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

/* The statement's first words, whitespace folded, passwords hidden:
 * "CREATE INDEX CONCURRENTLY ix_prices_latest ON ...". */
void pgw_stmt_summary(struct pgw_buf *out, const char *sql);

#endif
