/* schema.h - the canonical schema: the text `pgward schema dump` writes
 * (and migrations/schema.sql holds), read back as objects, compared
 * object by object for `verify` and `check`, and hashed for the drift
 * check of `status`.  One catalog reader (catalog.c) serves it. */
#ifndef PGW_SCHEMA_H
#define PGW_SCHEMA_H

#include <libpq-fe.h>

#include "pgward.h"

/* One object of a schema: a statement of the canonical text, or a column
 * or constraint line of a CREATE TABLE. */
struct pgw_schema_entry {
	char *kind;  /* "table", "column", "index", "view", "grant", ... */
	char *name;  /* as in SQL, quoted where needed: public.prices,
		      * public.prices.close, "TABLE public.t to app" */
	char *rel;   /* the table or view it belongs to, or NULL */
	char *text;  /* the statement, or the column / constraint line */
	char fp[65]; /* hash of its parse tree without locations: equal
		      * for the same object however the server printed it */
	int line;    /* where it starts in the text */
};

struct pgw_schema {
	int server_major; /* of the server that wrote it; 0: not said */
	char *version;    /* migration version it is at, or NULL */
	char *text;       /* the canonical text */
	struct pgw_schema_entry *v;
	size_t n;
};

/* The live schema of the database `c` is connected to: every schema in
 * the catalog reader's scope except `pgward_schema` (and the journal),
 * without owners, sequence values or other per-database detail.  Reads in
 * one REPEATABLE READ READ ONLY transaction of its own. */
int pgw_schema_read(struct pgw_schema **out, PGconn *c,
		    const char *pgward_schema, struct pgw_err *err);
/* The same inside the caller's transaction (a migration's, before its
 * COMMIT: it sees what the transaction changed). */
int pgw_schema_read_in_tx(struct pgw_schema **out, PGconn *c,
			  const char *pgward_schema, struct pgw_err *err);
/* Only the text of it. */
int pgw_schema_read_text(char **out, PGconn *c, const char *pgward_schema,
			 struct pgw_err *err);
/* A canonical text (schema.sql); `file` names it in messages. */
int pgw_schema_parse(struct pgw_schema **out, const char *text,
		     const char *file, struct pgw_err *err);
/* The same from a file: PGW_ENOTFOUND when it does not exist. */
int pgw_schema_load(struct pgw_schema **out, const char *path,
		    struct pgw_err *err);
void pgw_schema_free(struct pgw_schema *s);

struct pgw_schema_diff {
	struct pgw_schema_change *v;
	size_t n;
};

/* Compare, leaving out what `ignore` names (globs "kind:schema.name",
 * separated by commas or white space; a relation's pattern covers its
 * columns, constraints, indexes, ...) and grants to roles schema.sql
 * never mentions.  An object only `live` has is "not in schema.sql"
 * (pgw_schema_compare_as: `extra`). */
int pgw_schema_compare(struct pgw_schema_diff **out,
		       const struct pgw_schema *expected,
		       const struct pgw_schema *live, const char *ignore,
		       struct pgw_err *err);
int pgw_schema_compare_as(struct pgw_schema_diff **out,
			  const struct pgw_schema *expected,
			  const struct pgw_schema *live, const char *ignore,
			  const char *extra, struct pgw_err *err);
void pgw_schema_diff_free(struct pgw_schema_diff *d);
void pgw_schema_change_release(struct pgw_schema_change *c);
/* One line per change: "column prices.close: numeric(18,6) -> ..." with
 * both definitions indented below where there are. */
void pgw_schema_diff_text(struct pgw_buf *out, const struct pgw_schema_diff *d);

/* The expected-schema hash stored with the head migration: the hex
 * SHA-256 of the objects (by parse tree) minus `ignore`, then the roles
 * grants were kept for, one per line.  pgw_schema_hash_check() answers
 * whether `live` still has that hash. */
int pgw_schema_hash(char **out, const struct pgw_schema *expected,
		    const char *ignore, struct pgw_err *err);
int pgw_schema_hash_check(bool *same, const char *stored,
			  const struct pgw_schema *live, const char *ignore,
			  struct pgw_err *err);

#endif
