/* release.h - git releases as the engine, status and check use them
 * (git.c reads the repository). */
#ifndef PGW_RELEASE_H
#define PGW_RELEASE_H

#include "pgward.h"

/* The migrations of release `tag`'s tree, each stamped with the tag and
 * its commit; *version: the release's schema version (0: none). */
int pgw_release_migset(struct pgw_migset **out, int64_t *version,
		       const struct pgw_config *cfg, const char *tag,
		       struct pgw_err *err);
/* Stamp each migration of a working-tree set with HEAD's commit (and the
 * release tag on HEAD) when its file is as HEAD has it.  Outside a
 * repository nothing is stamped and nothing fails. */
int pgw_release_stamp(struct pgw_migset *set, const struct pgw_config *cfg,
		      struct pgw_err *err);

/* The schema.sql of release `tag`'s tree; *out NULL when it has none. */
int pgw_release_schema_text(char **out, const struct pgw_config *cfg,
			    const char *tag, struct pgw_err *err);

/* The pull-request rules: a released migration is never changed or
 * removed, a new one never sorts below the newest release.  Each broken
 * rule is a paragraph appended to `problems`. */
int pgw_release_check(struct pgw_buf *problems, const struct pgw_config *cfg,
		      const struct pgw_migset *set, struct pgw_err *err);

#endif
