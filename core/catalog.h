/* catalog.h - read the schema objects in scope from the live catalogs:
 * the census (every object, by catalog class, supported or not), DDL that
 * replays in dependency order (pre-data and post-data), the tables whose
 * rows are copied, and what a restore drops, one object at a time.
 * Serves backup, restore, schema dump and verification. */
#ifndef PGW_CATALOG_H
#define PGW_CATALOG_H

#include <libpq-fe.h>

#include "pgward.h"

/* What is in scope: the schemas owned by the connected role (or a role it
 * belongs to) plus `extra_schemas`; never pg_catalog, information_schema,
 * pg_toast*, pg_temp*, the journal schema "pgward_journal", nor platform
 * schemas of managed services. */
struct pgw_catalog_opts {
	const char *const *extra_schemas; /* NULL-terminated, or NULL */
	bool allow_unsupported; /* record unsupported objects, don't fail */
	bool only_listed; /* scope is extra_schemas alone (restore: exactly
			   * the archive's schemas, those that exist) */
	const char *const *exclude_schemas; /* NULL-terminated, or NULL:
					     * left out (schema dump: pgward's
					     * own) */
	/* Called once the schemas in scope are known (a text form of their
	 * oids, for $1::oid[]), before anything is read that opens a
	 * relation: a backup takes its NOWAIT locks here.  NULL: none. */
	int (*lock_scope)(PGconn *c, const char *schema_oids, void *arg,
			  struct pgw_err *err);
	void *lock_arg;
};

/* One table whose rows the archive carries. */
struct pgw_catalog_table {
	char *schema, *name;   /* unquoted */
	char *qualified;       /* "schema"."name", quoted */
	char *columns;         /* quoted, comma-separated, generated columns left out */
	double est_rows;       /* pg_class.reltuples (may be -1: never analyzed) */
	double est_bytes;      /* relpages * block size */
	bool is_partition_leaf;
};

/* One object the census found that the archive cannot carry. */
struct pgw_catalog_unsupported {
	char *kind;     /* "publication", "large object", ... */
	char *identity; /* pg_identify_object()'s identity */
	unsigned classid, objid; /* the object (pg_depend's terms) */
};

/* One object a restore drops (reverse dependency order). */
struct pgw_catalog_object {
	char *kind;      /* pg_identify_object type: "table", "view", ... */
	char *identity;  /* qualified, quoted */
	char *drop_sql;  /* DROP ... (no CASCADE) */
	unsigned classid, objid, objsubid; /* for pg_depend checks */
};

struct pgw_catalog {
	char **schemas; /* in scope, unquoted */
	size_t n_schemas;
	char *pre_data;  /* schemas, types, sequences, tables, functions, views */
	char *post_data; /* constraints, indexes, triggers, sequence values, grants */
	struct pgw_catalog_table *tables; /* in a load order that satisfies nothing in particular: FKs are post-data */
	size_t n_tables;
	struct pgw_catalog_unsupported *unsupported;
	size_t n_unsupported;
	struct pgw_catalog_object *objects; /* drop order */
	size_t n_objects;
	char **extensions; /* "name version", prerequisites */
	size_t n_extensions;
	/* the schema each extension is in (unquoted), index for index with
	 * extensions; schemas, extensions and extension_schemas are also
	 * NULL-terminated */
	char **extension_schemas;
};

/* Read everything above in the caller's transaction (run it inside the
 * backup's REPEATABLE READ snapshot).  An unsupported object is PGW_EINVAL
 * naming them, unless opts->allow_unsupported.  Caller owns *out. */
int pgw_catalog_read(struct pgw_catalog **out, PGconn *c,
		     const struct pgw_catalog_opts *opts, struct pgw_err *err);
void pgw_catalog_free(struct pgw_catalog *cat);
/* Objects outside `cat` (in the live database of `c`) that depend on an
 * object of `cat` (pg_depend / pg_shdepend aside): a restore would have
 * to drop them too, so it refuses.  *out is NULL when there are none,
 * else a caller-owned text naming each ("view other.v depends on table
 * app.t"). */
int pgw_catalog_outside_dependents(char **out, PGconn *c,
				   const struct pgw_catalog *cat,
				   struct pgw_err *err);

#endif
