/* migfile.h - read the migrations dir: file names, sections, directives,
 * statements, checksums.  Everything is checked before a connection is
 * made, so bad input never touches the database. */
#ifndef PGW_MIGFILE_H
#define PGW_MIGFILE_H

#include "pgward.h"

enum pgw_section_kind {
	PGW_SEC_UP,
	PGW_SEC_DOWN,
	PGW_SEC_VERIFY,
	PGW_SEC_COUNT, /* -- migrate:count, beside a batch:N up section */
};

/* The largest batch:N. */
#define PGW_BATCH_MAX 10000000L

/* Fill *sec from a body and the directives written after its marker
 * (also used for down SQL stored in history).  `file` and `first_line`
 * are for messages.  On error *sec is released. */
int pgw_section_parse(struct pgw_section *sec, enum pgw_section_kind kind,
		      const char *body, const char *directives,
		      const char *file, int first_line, struct pgw_err *err);
void pgw_section_release(struct pgw_section *sec);
/* Parse the statements of one migration (all its sections), once. */
int pgw_migration_parse(struct pgw_migration *m, struct pgw_err *err);
/* Release what a migration holds (not the struct itself). */
void pgw_migration_release(struct pgw_migration *m);
/* An empty set to build migrations into (down from history). */
struct pgw_migset *pgw_migset_new(const char *dir);
/* Append an empty migration to the set; NULL on OOM. */
struct pgw_migration *pgw_migset_add(struct pgw_migset *set);

/* Whether `file` is named like a migration: "NNN_name.sql", or a pair
 * "NNN_name.up.sql" + ".down.sql" (+ ".verify.sql").  *part: -1 for a
 * single file, else enum pgw_section_kind; the version is the first
 * *digits characters, the name ends at *stem.  False for schema.sql,
 * hidden files and anything not .sql, or not named NNN_name. */
bool pgw_migfile_name(const char *file, int *part, size_t *digits,
		      size_t *stem);
/* Read one file of a migration set: its bytes (caller frees *data, which
 * has room for a NUL after *len bytes). */
typedef int (*pgw_mig_reader)(char **data, size_t *len, void *ctx,
			      const char *file, struct pgw_err *err);
/* pgw_migset_load over files[0..n) that `read` gives (a git tree); `dir`
 * names them in messages.  Names that are not .sql, or schema.sql, are
 * skipped. */
int pgw_migset_load_from(struct pgw_migset **out, const char *dir,
			 const char *const *files, size_t n, pgw_mig_reader read,
			 void *ctx, struct pgw_err *err);

#endif
