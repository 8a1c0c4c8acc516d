/* catalog_int.h - what catalog.c (scope, census, ordering, drop order)
 * and catalog_ddl.c (the DDL of each catalog class) share. */
#ifndef PGW_CATALOG_INT_H
#define PGW_CATALOG_INT_H

#include <stdint.h>

#include <libpq-fe.h>

#include "catalog.h"

/* Fixed OIDs of the system catalogs (stable since they were created). */
enum {
	PGW_CAT_DEFAULT_ACL = 826,
	PGW_CAT_TYPE = 1247,
	PGW_CAT_PROC = 1255,
	PGW_CAT_CLASS = 1259,
	PGW_CAT_ATTRDEF = 2604,
	PGW_CAT_CONSTRAINT = 2606,
	PGW_CAT_NAMESPACE = 2615,
	PGW_CAT_REWRITE = 2618,
	PGW_CAT_TRIGGER = 2620,
	PGW_CAT_POLICY = 3256,
	PGW_CAT_STATISTIC_EXT = 3381,
};

#define PGW_CAT_NONE ((size_t)-1)

enum pgw_cat_section { PGW_CAT_PRE = 0, PGW_CAT_POST = 1 };

/* Ties between objects the dependencies leave unordered are broken by
 * priority, then by key: the order of these constants is the order of a
 * replay where pg_depend does not decide. */
enum pgw_cat_prio {
	/* pre-data */
	PGW_PRIO_TYPE = 10,
	PGW_PRIO_SEQUENCE = 20,
	PGW_PRIO_FUNCTION = 30,
	PGW_PRIO_TABLE = 40,
	PGW_PRIO_DEFAULT = 45, /* a column default calling a routine */
	PGW_PRIO_VIEW = 50,
	PGW_PRIO_MATVIEW = 60,
	PGW_PRIO_PROMOTED = 65, /* post-data a pre-data object needs */
	PGW_PRIO_OWNED_BY = 70,
	PGW_PRIO_DEFAULT_ACL = 90,
	/* post-data */
	PGW_PRIO_CHECK = 100,
	PGW_PRIO_KEY = 110,
	PGW_PRIO_INDEX = 120,
	PGW_PRIO_FKEY = 130,
	PGW_PRIO_TRIGGER = 140,
	PGW_PRIO_RULE = 150,
	PGW_PRIO_RLS = 160,
	PGW_PRIO_POLICY = 170,
	PGW_PRIO_STATS = 180,
	PGW_PRIO_REFRESH = 190,
	PGW_PRIO_SETVAL = 200,
};

/* Drop order ties: dependents first (pg_depend decides), then these. */
enum pgw_cat_drop_prio {
	PGW_DROP_FKEY = 0,
	PGW_DROP_TRIGGER = 1,
	PGW_DROP_POLICY = 2,
	PGW_DROP_RULE = 3,
	PGW_DROP_VIEW = 4,
	PGW_DROP_TABLE = 5,
	PGW_DROP_SEQUENCE = 6,
	PGW_DROP_FUNCTION = 7,
	PGW_DROP_TYPE = 8,
	PGW_DROP_DEFAULT_ACL = 9,
};

struct pgw_cat_deps {
	size_t *v;
	size_t n, cap;
};

/* One unit of DDL: replayed whole, ordered against the others. */
struct pgw_cat_item {
	char *key;        /* unique among items */
	char *sql;        /* statements, each ending in ";\n" */
	int sect;         /* enum pgw_cat_section */
	int prio;         /* enum pgw_cat_prio */
	bool ignore_auto; /* a sequence: OWNED BY is not a creation order */
	size_t refresh;   /* a materialized view: its REFRESH item */
	struct pgw_cat_deps deps; /* items that must come first */
};

/* One object a restore drops. */
struct pgw_cat_unit {
	char *key;
	char *kind, *identity, *sql;
	int prio;
	unsigned classid, objid;
	struct pgw_cat_deps deps; /* units that must be dropped first */
};

/* Where an object of the catalogs goes: the item that creates it and the
 * unit that drops it, directly or through another object ("alias"). */
struct pgw_cat_slot {
	uint64_t key; /* classid << 32 | objid; 0 = empty */
	size_t item, unit;
	uint64_t item_alias, unit_alias;
};

struct pgw_cat_map {
	struct pgw_cat_slot *v;
	size_t n, cap;
};

/* A relation or a type whose DDL is assembled from several queries. */
struct pgw_cat_rel {
	unsigned oid;
	char kind;            /* relkind, or 'T' for a domain */
	char sub;             /* 'p': a populated materialized view */
	bool partition;       /* relispartition */
	bool child;           /* inherits (not a partition) */
	char *nsp, *name;     /* unquoted */
	char *q;              /* quoted, qualified */
	char *owner;          /* quoted */
	char *head;           /* the statement up to its column list */
	char *tail;           /* after the column list */
	struct pgw_buf cols;  /* column and constraint lines */
	struct pgw_buf after; /* statements after the CREATE */
	struct pgw_buf copy;  /* quoted COPY column list */
	size_t n_cols;
	size_t item, unit;
	double est_rows, est_bytes;
};

struct pgw_cat_ctx {
	PGconn *c;
	struct pgw_err *err;
	struct pgw_catalog *cat;
	char *scope;            /* in-scope namespace oids, "{2200,16390}" */
	struct pgw_buf schemas; /* the schemas' DDL */
	struct pgw_cat_item *items;
	size_t n_items, cap_items;
	struct pgw_cat_unit *units;
	size_t n_units, cap_units;
	struct pgw_cat_map map;
	struct pgw_cat_rel *rels;
	size_t n_rels, cap_rels;
	struct pgw_cat_map relmap; /* oid -> rels index (in .item) */
	/* deferred item dependencies: item -> object key */
	struct {
		size_t item;
		uint64_t key;
	} * later;
	size_t n_later, cap_later;
	/* sequences whose values post-data sets */
	struct {
		char *q;   /* quoted, qualified */
		char *lit; /* the same, as a literal */
		unsigned oid;
	} * seqs;
	size_t n_seqs, cap_seqs;
};

typedef int (*pgw_cat_row_fn)(struct pgw_cat_ctx *x, const PGresult *r);

/* Run `sql` with $1 = the scope, streaming: fn is called once per row
 * (PQgetvalue(r, 0, col)). */
int pgw_catalog__each(struct pgw_cat_ctx *x, const char *sql,
                      pgw_cat_row_fn fn);
/* The same with explicit parameters. */
int pgw_catalog__each_params(struct pgw_cat_ctx *x, const char *sql,
                             int nparams, const char *const *params,
                             pgw_cat_row_fn fn);

/* Text of column `col` of a single-row result: "" when NULL. */
const char *pgw_catalog__val(const PGresult *r, int col);
/* NULL when NULL. */
const char *pgw_catalog__opt(const PGresult *r, int col);
bool pgw_catalog__bool(const PGresult *r, int col);
unsigned pgw_catalog__oid(const PGresult *r, int col);

/* A new item; its sql is taken from `sql` (reset after).  Returns its
 * index, or PGW_CAT_NONE on out-of-memory (err set). */
size_t pgw_catalog__item(struct pgw_cat_ctx *x, int sect, int prio,
                         const char *key, struct pgw_buf *sql);
size_t pgw_catalog__unit(struct pgw_cat_ctx *x, int prio, const char *key,
                         const char *kind, const char *identity,
                         const char *sql, unsigned classid, unsigned objid);
int pgw_catalog__dep(struct pgw_cat_ctx *x, struct pgw_cat_deps *d, size_t on);
/* Item `item` needs whatever item object (classid, objid) maps to. */
int pgw_catalog__dep_later(struct pgw_cat_ctx *x, size_t item, unsigned classid,
                           unsigned objid);

uint64_t pgw_catalog__key(unsigned classid, unsigned objid);
/* The slot of `key`, NULL when absent. */
struct pgw_cat_slot *pgw_catalog__lookup(struct pgw_cat_map *m, uint64_t key);
/* The slot of `key`, created when absent; NULL on out-of-memory. */
struct pgw_cat_slot *pgw_catalog__slot(struct pgw_cat_ctx *x,
                                       struct pgw_cat_map *m, uint64_t key);
/* Record what creates / drops an object; *_alias: another object's. */
int pgw_catalog__map_item(struct pgw_cat_ctx *x, unsigned classid,
                          unsigned objid, size_t item);
int pgw_catalog__map_unit(struct pgw_cat_ctx *x, unsigned classid,
                          unsigned objid, size_t unit);
int pgw_catalog__alias(struct pgw_cat_ctx *x, unsigned classid, unsigned objid,
                       unsigned to_classid, unsigned to_objid, bool item,
                       bool unit);
size_t pgw_catalog__find_item(struct pgw_cat_ctx *x, uint64_t key);
size_t pgw_catalog__find_unit(struct pgw_cat_ctx *x, uint64_t key);

/* REVOKE/GRANT statements for an ACL as the server lists it (one line per
 * grantor, grantee and grant option: "grantor\tgrantee\tprivs\tG"),
 * each statement after `prefix` ("" or ALTER DEFAULT PRIVILEGES ...).
 * `acl` NULL: the default, nothing to write.  `column`: column grants
 * (nothing revoked). */
void pgw_catalog__acl(struct pgw_buf *b, const char *prefix, const char *on,
                      const char *owner, const char *acl, const char *column);
/* COMMENT ON `what` IS literal (already quoted); nothing when NULL. */
void pgw_catalog__comment(struct pgw_buf *b, const char *what,
                          const char *literal);

/* The DDL of every class in scope (catalog_ddl.c). */
int pgw_catalog__read_ddl(struct pgw_cat_ctx *x);

/* SQL fragments shared by the queries. */
#define PGW_CAT_ACL(expr)                                                      \
	"CASE WHEN (" expr ") IS NULL THEN NULL ELSE coalesce((SELECT "        \
	"string_agg(x.l, E'\\n' ORDER BY x.o) FROM (SELECT min(e.n) AS o, "    \
	"quote_ident(pg_get_userbyid(e.grantor)) || E'\\t' || CASE WHEN "      \
	"e.grantee = 0 THEN 'PUBLIC' ELSE "                                    \
	"quote_ident(pg_get_userbyid(e.grantee)) END || E'\\t' || "            \
	"string_agg(e.privilege_type, ', ' ORDER BY e.n) || E'\\t' || CASE "   \
	"WHEN e.is_grantable THEN 'G' ELSE '' END AS l FROM aclexplode(" expr  \
	") WITH ORDINALITY AS e(grantor, grantee, privilege_type, "            \
	"is_grantable, n) GROUP BY e.grantor, e.grantee, e.is_grantable) x), " \
	"'') END"
#define PGW_CAT_DESCR(cls, oid, sub)                                        \
	"(SELECT quote_literal(d.description) FROM pg_description d WHERE " \
	"d.classoid = " cls " AND d.objoid = " oid " AND d.objsubid = " sub \
	")"
#define PGW_CAT_NOT_EXT(cls, oid)                                      \
	"NOT EXISTS (SELECT 1 FROM pg_depend e WHERE e.classid = " cls \
	" AND e.objid = " oid " AND e.deptype = 'e')"
#define PGW_CAT_QNAME(nsp, name) \
	"quote_ident(" nsp ") || '.' || quote_ident(" name ")"
#define PGW_CAT_COLL(oid)                                                     \
	"(SELECT quote_ident(cn.nspname) || '.' || quote_ident(co.collname) " \
	"FROM pg_collation co JOIN pg_namespace cn ON cn.oid = "              \
	"co.collnamespace WHERE co.oid = " oid ")"
/* Options "name=value" as name='value', in array order; pg_attver, an
 * option some server builds keep on every column themselves (it cannot
 * be set, and pg_dump leaves it out), is left out. */
#define PGW_CAT_RELOPTS(arr, prefix)                                           \
	"(SELECT string_agg(" prefix " || split_part(o, '=', 1) || '=' || "    \
	"quote_literal(substr(o, strpos(o, '=') + 1)), ', ' ORDER BY n) FROM " \
	"unnest(" arr ") WITH ORDINALITY AS u(o, n)"                           \
	" WHERE o NOT LIKE 'pg\\_attver=%')"

#endif
