/* migfile.h - read the migrations dir: file names, sections, directives,
 * statements, checksums.  Everything is checked before a connection is
 * made, so bad input never touches the database. */
#ifndef PGW_MIGFILE_H
#define PGW_MIGFILE_H

#include "pgward.h"

enum pgw_section_kind { PGW_SEC_UP, PGW_SEC_DOWN, PGW_SEC_VERIFY };

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

#endif
