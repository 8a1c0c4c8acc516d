/* catalog.c - the catalog reader: scope, census, dependency order of the
 * DDL, drop order, outside dependents.  The DDL of each catalog class is
 * in catalog_ddl.c.
 *
 * Every query of this module runs with search_path pinned to
 * "pg_catalog, pg_temp" (set at the start of pgw_catalog_read and put
 * back at the end): catalog names resolve to pg_catalog, and the server's
 * deparsers (pg_get_viewdef, format_type, pg_get_expr, ...) qualify every
 * name outside pg_catalog, so the DDL replays whatever the search_path. */
#include "catalog.h"

#include <stdlib.h>
#include <string.h>

#include "catalog_int.h"
#include "pg.h"

/* Schemas of managed platforms (Supabase, Aiven, ...): left out (with a
 * notice) unless the role owns them itself or extra_schemas names them. */
/* clang-format off */
static const char platform_schemas[] =
	"{auth,storage,realtime,_realtime,graphql,graphql_public,vault,"
	"pgsodium,pgsodium_masks,supabase_functions,supabase_migrations,"
	"extensions,net,pgbouncer,_analytics,_aiven,cron,pglogical,repack}";
/* clang-format on */

/* ---------------------------------------------------------------------- */
/* results, rows */

const char *pgw_catalog__val(const PGresult *r, int col)
{
	return PQgetisnull(r, 0, col) ? "" : PQgetvalue(r, 0, col);
}

const char *pgw_catalog__opt(const PGresult *r, int col)
{
	return PQgetisnull(r, 0, col) ? NULL : PQgetvalue(r, 0, col);
}

bool pgw_catalog__bool(const PGresult *r, int col)
{
	return !PQgetisnull(r, 0, col) && PQgetvalue(r, 0, col)[0] == 't';
}

unsigned pgw_catalog__oid(const PGresult *r, int col)
{
	if (PQgetisnull(r, 0, col))
		return 0;
	return (unsigned)strtoul(PQgetvalue(r, 0, col), NULL, 10);
}

int pgw_catalog__each_params(struct pgw_cat_ctx *x, const char *sql,
                             int nparams, const char *const *params,
                             pgw_cat_row_fn fn)
{
	PGresult *res;
	int error = 0;
	bool done = false;

	if (!PQsendQueryParams(x->c, sql, nparams, NULL, params, NULL, NULL, 0))
		return pgw_pg_error(x->err, x->c, NULL);
	/* One row at a time: a catalog can be large. */
	if (!PQsetSingleRowMode(x->c))
		error = pgw_err_set(x->err, PGW_ERROR,
		                    "cannot read the catalog row by row");
	while ((res = PQgetResult(x->c)) != NULL) {
		ExecStatusType st = PQresultStatus(res);

		if (st == PGRES_SINGLE_TUPLE) {
			if (!error && !done)
				error = fn(x, res);
		} else if (st == PGRES_TUPLES_OK || st == PGRES_COMMAND_OK) {
			done = true;
		} else if (!error) {
			error = pgw_pg_error(x->err, x->c, res);
		}
		PQclear(res);
	}
	if (!error && !done)
		error = pgw_pg_error(x->err, x->c, NULL);
	return error;
}

int pgw_catalog__each(struct pgw_cat_ctx *x, const char *sql, pgw_cat_row_fn fn)
{
	const char *params[1] = { x->scope };

	return pgw_catalog__each_params(x, sql, 1, params, fn);
}

/* ---------------------------------------------------------------------- */
/* items, units, the object map */

uint64_t pgw_catalog__key(unsigned classid, unsigned objid)
{
	return ((uint64_t)classid << 32) | objid;
}

static size_t slot_hash(uint64_t k, size_t cap)
{
	k ^= k >> 33;
	k *= 0xff51afd7ed558ccdULL;
	k ^= k >> 33;
	return (size_t)k & (cap - 1);
}

struct pgw_cat_slot *pgw_catalog__lookup(struct pgw_cat_map *m, uint64_t key)
{
	size_t i;

	if (!m->cap)
		return NULL;
	for (i = slot_hash(key, m->cap);; i = (i + 1) & (m->cap - 1)) {
		if (m->v[i].key == key)
			return &m->v[i];
		if (!m->v[i].key)
			return NULL;
	}
}

struct pgw_cat_slot *pgw_catalog__slot(struct pgw_cat_ctx *x,
                                       struct pgw_cat_map *m, uint64_t key)
{
	size_t i;

	if (m->n * 2 >= m->cap) {
		size_t cap = m->cap ? m->cap * 2 : 1024, j;
		struct pgw_cat_slot *v = calloc(cap, sizeof(*v));

		if (!v) {
			pgw_err_oom(x->err);
			return NULL;
		}
		for (j = 0; j < m->cap; j++) {
			if (!m->v[j].key)
				continue;
			for (i = slot_hash(m->v[j].key, cap); v[i].key;
			     i = (i + 1) & (cap - 1))
				;
			v[i] = m->v[j];
		}
		free(m->v);
		m->v = v;
		m->cap = cap;
	}
	for (i = slot_hash(key, m->cap);; i = (i + 1) & (m->cap - 1)) {
		if (m->v[i].key == key)
			return &m->v[i];
		if (!m->v[i].key)
			break;
	}
	m->v[i].key = key;
	m->v[i].item = PGW_CAT_NONE;
	m->v[i].unit = PGW_CAT_NONE;
	m->v[i].item_alias = 0;
	m->v[i].unit_alias = 0;
	m->n++;
	return &m->v[i];
}

int pgw_catalog__map_item(struct pgw_cat_ctx *x, unsigned classid,
                          unsigned objid, size_t item)
{
	struct pgw_cat_slot *s =
	        pgw_catalog__slot(x, &x->map, pgw_catalog__key(classid, objid));

	if (!s)
		return x->err->code;
	s->item = item;
	return 0;
}

int pgw_catalog__map_unit(struct pgw_cat_ctx *x, unsigned classid,
                          unsigned objid, size_t unit)
{
	struct pgw_cat_slot *s =
	        pgw_catalog__slot(x, &x->map, pgw_catalog__key(classid, objid));

	if (!s)
		return x->err->code;
	s->unit = unit;
	return 0;
}

int pgw_catalog__alias(struct pgw_cat_ctx *x, unsigned classid, unsigned objid,
                       unsigned to_classid, unsigned to_objid, bool item,
                       bool unit)
{
	struct pgw_cat_slot *s =
	        pgw_catalog__slot(x, &x->map, pgw_catalog__key(classid, objid));

	if (!s)
		return x->err->code;
	if (item)
		s->item_alias = pgw_catalog__key(to_classid, to_objid);
	if (unit)
		s->unit_alias = pgw_catalog__key(to_classid, to_objid);
	return 0;
}

size_t pgw_catalog__find_item(struct pgw_cat_ctx *x, uint64_t key)
{
	int hops;

	for (hops = 0; hops < 16 && key; hops++) {
		struct pgw_cat_slot *s = pgw_catalog__lookup(&x->map, key);

		if (!s)
			return PGW_CAT_NONE;
		if (s->item != PGW_CAT_NONE)
			return s->item;
		key = s->item_alias;
	}
	return PGW_CAT_NONE;
}

size_t pgw_catalog__find_unit(struct pgw_cat_ctx *x, uint64_t key)
{
	int hops;

	for (hops = 0; hops < 16 && key; hops++) {
		struct pgw_cat_slot *s = pgw_catalog__lookup(&x->map, key);

		if (!s)
			return PGW_CAT_NONE;
		if (s->unit != PGW_CAT_NONE)
			return s->unit;
		key = s->unit_alias;
	}
	return PGW_CAT_NONE;
}

static bool grow(void **v, size_t *cap, size_t n, size_t size)
{
	size_t ncap;
	void *p;

	if (n < *cap)
		return true;
	ncap = *cap ? *cap * 2 : 64;
	p = realloc(*v, ncap * size);
	if (!p)
		return false;
	*v = p;
	*cap = ncap;
	return true;
}

int pgw_catalog__dep(struct pgw_cat_ctx *x, struct pgw_cat_deps *d, size_t on)
{
	if (!grow((void **)&d->v, &d->cap, d->n, sizeof(*d->v)))
		return pgw_err_oom(x->err);
	d->v[d->n++] = on;
	return 0;
}

int pgw_catalog__dep_later(struct pgw_cat_ctx *x, size_t item, unsigned classid,
                           unsigned objid)
{
	if (!grow((void **)&x->later, &x->cap_later, x->n_later,
	          sizeof(*x->later)))
		return pgw_err_oom(x->err);
	x->later[x->n_later].item = item;
	x->later[x->n_later].key = pgw_catalog__key(classid, objid);
	x->n_later++;
	return 0;
}

size_t pgw_catalog__item(struct pgw_cat_ctx *x, int sect, int prio,
                         const char *key, struct pgw_buf *sql)
{
	struct pgw_cat_item *it;

	if (pgw_buf_oom(sql) || !grow((void **)&x->items, &x->cap_items,
	                              x->n_items, sizeof(*x->items))) {
		pgw_buf_release(sql);
		pgw_err_oom(x->err);
		return PGW_CAT_NONE;
	}
	it = &x->items[x->n_items];
	memset(it, 0, sizeof(*it));
	it->sect = sect;
	it->prio = prio;
	it->refresh = PGW_CAT_NONE;
	it->key = strdup(key);
	it->sql = pgw_buf_detach(sql);
	if (!it->key || !it->sql) {
		free(it->key);
		free(it->sql);
		pgw_err_oom(x->err);
		return PGW_CAT_NONE;
	}
	return x->n_items++;
}

size_t pgw_catalog__unit(struct pgw_cat_ctx *x, int prio, const char *key,
                         const char *kind, const char *identity,
                         const char *sql, unsigned classid, unsigned objid)
{
	struct pgw_cat_unit *u;

	if (!grow((void **)&x->units, &x->cap_units, x->n_units,
	          sizeof(*x->units))) {
		pgw_err_oom(x->err);
		return PGW_CAT_NONE;
	}
	u = &x->units[x->n_units];
	memset(u, 0, sizeof(*u));
	u->prio = prio;
	u->classid = classid;
	u->objid = objid;
	u->key = strdup(key);
	u->kind = strdup(kind);
	u->identity = strdup(identity);
	u->sql = strdup(sql);
	if (!u->key || !u->kind || !u->identity || !u->sql) {
		free(u->key);
		free(u->kind);
		free(u->identity);
		free(u->sql);
		pgw_err_oom(x->err);
		return PGW_CAT_NONE;
	}
	return x->n_units++;
}

/* ---------------------------------------------------------------------- */
/* statements shared by the classes */

void pgw_catalog__comment(struct pgw_buf *b, const char *what,
                          const char *literal)
{
	if (literal)
		pgw_buf_printf(b, "COMMENT ON %s IS %s;\n", what, literal);
}

/* One line of an ACL listing: split in place into its four fields. */
static bool acl_fields(char *line, char *f[4])
{
	int i;

	for (i = 0; i < 3; i++) {
		char *tab = strchr(line, '\t');

		if (!tab)
			return false;
		f[i] = line;
		*tab = '\0';
		line = tab + 1;
	}
	f[3] = line;
	return true;
}

void pgw_catalog__acl(struct pgw_buf *b, const char *prefix, const char *on,
                      const char *owner, const char *acl, const char *column)
{
	const char *p = acl;

	if (!acl)
		return;
	if (!column) {
		/* From nothing, then every grant in the order of the array,
		 * so that the ACL comes out identical. */
		pgw_buf_printf(b, "%sREVOKE ALL ON %s FROM PUBLIC;\n", prefix,
		               on);
		pgw_buf_printf(b, "%sREVOKE ALL ON %s FROM %s;\n", prefix, on,
		               owner);
	}
	while (*p) {
		size_t n = strcspn(p, "\n");
		char *line = strndup(p, n), *f[4];
		bool as_other;

		if (!line) {
			b->oom = true;
			return;
		}
		if (!acl_fields(line, f)) {
			free(line);
			p += n + (p[n] == '\n');
			continue;
		}
		as_other = strcmp(f[0], owner) != 0;
		if (as_other)
			pgw_buf_printf(b, "SET ROLE %s;\n", f[0]);
		pgw_buf_printf(b, "%sGRANT ", prefix);
		if (column) {
			char *priv = f[2];

			while (*priv) {
				size_t k = strcspn(priv, ",");

				pgw_buf_put(b, priv, k);
				pgw_buf_printf(b, " (%s)", column);
				priv += k;
				if (*priv == ',') {
					pgw_buf_puts(b, ",");
					priv++;
				}
			}
		} else {
			pgw_buf_puts(b, f[2]);
		}
		pgw_buf_printf(b, " ON %s TO %s%s;\n", on, f[1],
		               f[3][0] == 'G' ? " WITH GRANT OPTION" : "");
		if (as_other)
			pgw_buf_puts(b, "RESET ROLE;\n");
		free(line);
		p += n + (p[n] == '\n');
	}
}

/* ---------------------------------------------------------------------- */
/* scope */

/* Append a copy of s to *v, kept NULL-terminated. */
static int add_string(char ***v, size_t *n, const char *s)
{
	char **nv = realloc(*v, (*n + 2) * sizeof(**v));

	if (!nv)
		return -1;
	*v = nv;
	nv[*n + 1] = NULL;
	nv[*n] = strdup(s);
	if (!nv[*n])
		return -1;
	(*n)++;
	return 0;
}

/* Schemas owned by the role (or a role it belongs to) and those asked
 * for ($1); $2: only those asked for; $3: the platform schemas, left out
 * unless asked for or owned by the role itself. */
/* clang-format off */
static const char scope_sql[] =
	"SELECT n.oid, n.nspname, quote_ident(n.nspname),"
	" quote_ident(pg_get_userbyid(n.nspowner)),"
	" " PGW_CAT_ACL("coalesce(n.nspacl, acldefault('n', n.nspowner))") ","
	" " PGW_CAT_DESCR("'pg_namespace'::regclass", "n.oid", "0") ","
	" n.nspname = ANY($1::text[]),"
	" n.nspname IN ('pg_catalog', 'information_schema', 'pgward_journal')"
	"  OR n.nspname LIKE 'pg\\_toast%' OR n.nspname LIKE 'pg\\_temp\\_%'"
	"  OR NOT " PGW_CAT_NOT_EXT("'pg_namespace'::regclass", "n.oid") ","
	" n.nspname = ANY($3::text[])"
	"  AND pg_get_userbyid(n.nspowner) <> current_user"
	" FROM pg_namespace n"
	" WHERE n.nspname = ANY($1::text[])"
	"  OR (NOT $2::bool AND pg_has_role(n.nspowner, 'MEMBER'))"
	" ORDER BY n.nspname COLLATE \"C\"";
/* clang-format on */

/* The schemas' own statements: they replay over an existing schema
 * (public, or one a restore keeps), hence no bare CREATE. */
static void schema_ddl(struct pgw_buf *b, const PGresult *res, int row)
{
	const char *q = PQgetvalue(res, row, 2);
	const char *owner = PQgetvalue(res, row, 3);
	struct pgw_buf on = PGW_BUF_INIT;

	pgw_buf_printf(&on, "SCHEMA %s", q);
	pgw_buf_printf(b, "CREATE SCHEMA IF NOT EXISTS %s;\n", q);
	pgw_buf_printf(b, "ALTER SCHEMA %s OWNER TO %s;\n", q, owner);
	pgw_catalog__acl(b, "", on.ptr, owner,
	                 PQgetisnull(res, row, 4) ? NULL
	                                          : PQgetvalue(res, row, 4),
	                 NULL);
	pgw_buf_printf(b, "COMMENT ON SCHEMA %s IS %s;\n\n", q,
	               PQgetisnull(res, row, 5) ? "NULL"
	                                        : PQgetvalue(res, row, 5));
	if (pgw_buf_oom(&on))
		b->oom = true;
	pgw_buf_release(&on);
}

static int read_scope(struct pgw_cat_ctx *x,
                      const struct pgw_catalog_opts *opts)
{
	struct pgw_buf list = PGW_BUF_INIT, oids = PGW_BUF_INIT;
	const char *params[3];
	PGresult *res = NULL;
	size_t i, j;
	int error;

	pgw_pg_text_array(&list, opts->extra_schemas);
	if (pgw_buf_oom(&list)) {
		error = pgw_err_oom(x->err);
		goto done;
	}
	params[0] = list.ptr;
	params[1] = opts->only_listed ? "true" : "false";
	params[2] = platform_schemas;
	error = pgw_pg_exec(&res, x->c, scope_sql, 3, params, x->err);
	if (error)
		goto done;
	/* every schema asked for must exist (a restore asks for those that
	 * exist only) */
	for (i = 0; !opts->only_listed && opts->extra_schemas &&
	            opts->extra_schemas[i];
	     i++) {
		bool found = false;

		for (j = 0; j < (size_t)PQntuples(res) && !found; j++)
			found = strcmp(PQgetvalue(res, (int)j, 1),
			               opts->extra_schemas[i]) == 0;
		if (!found) {
			error = pgw_err_set(x->err, PGW_ENOTFOUND,
			                    "schema '%s' does not exist",
			                    opts->extra_schemas[i]);
			goto done;
		}
	}
	pgw_buf_puts(&oids, "{");
	for (i = 0; i < (size_t)PQntuples(res); i++) {
		const char *name = PQgetvalue(res, (int)i, 1);
		bool listed = PQgetvalue(res, (int)i, 6)[0] == 't';
		bool excluded = PQgetvalue(res, (int)i, 7)[0] == 't';
		bool platform = PQgetvalue(res, (int)i, 8)[0] == 't';

		if (excluded && listed) {
			error = pgw_err_set(
			        x->err, PGW_EINVAL,
			        "schema '%s' cannot be carried: it is a system, journal or extension schema",
			        name);
			goto done;
		}
		for (j = 0; !excluded && opts->exclude_schemas &&
		            opts->exclude_schemas[j];
		     j++)
			excluded = strcmp(name, opts->exclude_schemas[j]) == 0;
		if (excluded)
			continue;
		if (platform && !listed) {
			pgw_log_notice(
			        "leaving out schema '%s': a managed platform's (name it in [backup] schemas to carry it)",
			        name);
			continue;
		}
		if (add_string(&x->cat->schemas, &x->cat->n_schemas, name) <
		    0) {
			error = pgw_err_oom(x->err);
			goto done;
		}
		pgw_buf_printf(&oids, "%s%s", oids.len > 1 ? "," : "",
		               PQgetvalue(res, (int)i, 0));
		schema_ddl(&x->schemas, res, (int)i);
	}
	pgw_buf_puts(&oids, "}");
	if (pgw_buf_oom(&oids) || pgw_buf_oom(&x->schemas)) {
		error = pgw_err_oom(x->err);
		goto done;
	}
	x->scope = pgw_buf_detach(&oids);
done:
	pgw_buf_release(&list);
	pgw_buf_release(&oids);
	PQclear(res);
	return error;
}

/* ---------------------------------------------------------------------- */
/* census */

/* clang-format off */
static const char census_sql[] =
	"WITH sp AS (SELECT oid FROM pg_proc WHERE pronamespace = ANY($1::oid[])),"
	" st AS (SELECT oid FROM pg_type WHERE typnamespace = ANY($1::oid[])),"
	" u(classid, objid, why) AS ("
	/* relations: every relkind the archive does not carry */
	"  SELECT 'pg_class'::regclass::oid, c.oid,"
	"   CASE WHEN c.reloftype <> 0 THEN 'typed table' END"
	"  FROM pg_class c WHERE c.relnamespace = ANY($1::oid[])"
	"   AND (c.relkind NOT IN ('r', 'p', 'v', 'm', 'S', 'i', 'I', 'c')"
	"        OR c.reloftype <> 0)"
	/* types: base and shell types (arrays, multiranges and row types
	 * come with what they belong to) */
	"  UNION ALL SELECT 'pg_type'::regclass, t.oid,"
	"   CASE WHEN t.typtype = 'p' OR NOT t.typisdefined THEN 'shell type'"
	"   ELSE 'base type' END"
	"  FROM pg_type t WHERE t.typnamespace = ANY($1::oid[])"
	"   AND t.typtype NOT IN ('e', 'd', 'r', 'm', 'c')"
	"   AND NOT (t.typelem <> 0 AND EXISTS (SELECT 1 FROM pg_type el"
	"    WHERE el.oid = t.typelem AND el.typarray = t.oid))"
	"  UNION ALL SELECT 'pg_proc'::regclass, p.oid, NULL FROM pg_proc p"
	"   WHERE p.pronamespace = ANY($1::oid[])"
	"   AND p.prokind NOT IN ('f', 'p', 'a', 'w')"
	"  UNION ALL SELECT 'pg_constraint'::regclass, o.oid, NULL"
	"   FROM pg_constraint o WHERE o.connamespace = ANY($1::oid[])"
	"   AND o.contype NOT IN ('c', 'f', 'p', 'u', 'x', 't')"
	"  UNION ALL SELECT 'pg_operator'::regclass, o.oid, NULL"
	"   FROM pg_operator o WHERE o.oprnamespace = ANY($1::oid[])"
	"  UNION ALL SELECT 'pg_opclass'::regclass, o.oid, NULL"
	"   FROM pg_opclass o WHERE o.opcnamespace = ANY($1::oid[])"
	"  UNION ALL SELECT 'pg_opfamily'::regclass, o.oid, NULL"
	"   FROM pg_opfamily o WHERE o.opfnamespace = ANY($1::oid[])"
	"  UNION ALL SELECT 'pg_collation'::regclass, o.oid, NULL"
	"   FROM pg_collation o WHERE o.collnamespace = ANY($1::oid[])"
	"  UNION ALL SELECT 'pg_conversion'::regclass, o.oid, NULL"
	"   FROM pg_conversion o WHERE o.connamespace = ANY($1::oid[])"
	"  UNION ALL SELECT 'pg_ts_config'::regclass, o.oid, NULL"
	"   FROM pg_ts_config o WHERE o.cfgnamespace = ANY($1::oid[])"
	"  UNION ALL SELECT 'pg_ts_dict'::regclass, o.oid, NULL"
	"   FROM pg_ts_dict o WHERE o.dictnamespace = ANY($1::oid[])"
	"  UNION ALL SELECT 'pg_ts_parser'::regclass, o.oid, NULL"
	"   FROM pg_ts_parser o WHERE o.prsnamespace = ANY($1::oid[])"
	"  UNION ALL SELECT 'pg_ts_template'::regclass, o.oid, NULL"
	"   FROM pg_ts_template o WHERE o.tmplnamespace = ANY($1::oid[])"
	/* database-wide classes: those tied to the scope or its roles */
	"  UNION ALL SELECT 'pg_cast'::regclass, o.oid, NULL FROM pg_cast o"
	"   WHERE o.oid >= 16384 AND (o.castsource IN (SELECT oid FROM st)"
	"    OR o.casttarget IN (SELECT oid FROM st)"
	"    OR o.castfunc IN (SELECT oid FROM sp)"
	"    OR (o.castsource < 16384 AND o.casttarget < 16384"
	"        AND o.castfunc < 16384))"
	"  UNION ALL SELECT 'pg_transform'::regclass, o.oid, NULL"
	"   FROM pg_transform o WHERE o.oid >= 16384"
	"  UNION ALL SELECT 'pg_event_trigger'::regclass, o.oid, NULL"
	"   FROM pg_event_trigger o WHERE pg_has_role(o.evtowner, 'MEMBER')"
	"   OR o.evtfoid IN (SELECT oid FROM sp)"
	"  UNION ALL SELECT 'pg_publication'::regclass, o.oid, NULL"
	"   FROM pg_publication o WHERE pg_has_role(o.pubowner, 'MEMBER')"
	"   OR o.puballtables OR EXISTS (SELECT 1 FROM pg_publication_rel pr"
	"    JOIN pg_class c ON c.oid = pr.prrelid WHERE pr.prpubid = o.oid"
	"    AND c.relnamespace = ANY($1::oid[]))" "%s"
	"  UNION ALL SELECT 'pg_subscription'::regclass, o.oid, NULL"
	"   FROM pg_subscription o WHERE o.subdbid = (SELECT oid FROM"
	"    pg_database WHERE datname = current_database())"
	"   AND pg_has_role(o.subowner, 'MEMBER')"
	"  UNION ALL SELECT 'pg_foreign_data_wrapper'::regclass, o.oid, NULL"
	"   FROM pg_foreign_data_wrapper o"
	"   WHERE pg_has_role(o.fdwowner, 'MEMBER')"
	"  UNION ALL SELECT 'pg_foreign_server'::regclass, o.oid, NULL"
	"   FROM pg_foreign_server o WHERE pg_has_role(o.srvowner, 'MEMBER')"
	"   OR o.oid IN (SELECT ft.ftserver FROM pg_foreign_table ft"
	"    JOIN pg_class c ON c.oid = ft.ftrelid"
	"    WHERE c.relnamespace = ANY($1::oid[]))"
	"  UNION ALL SELECT 'pg_user_mapping'::regclass, um.umid, NULL"
	"   FROM pg_user_mappings um JOIN pg_foreign_server s"
	"   ON s.oid = um.srvid WHERE pg_has_role(s.srvowner, 'MEMBER')"
	"  UNION ALL SELECT 'pg_largeobject'::regclass, o.oid, NULL"
	"   FROM pg_largeobject_metadata o"
	"   WHERE pg_has_role(o.lomowner, 'MEMBER')"
	"  UNION ALL SELECT 'pg_language'::regclass, o.oid, NULL"
	"   FROM pg_language o WHERE o.oid >= 16384"
	"   AND pg_has_role(o.lanowner, 'MEMBER')"
	"  UNION ALL SELECT 'pg_am'::regclass, o.oid, NULL FROM pg_am o"
	"   WHERE o.oid >= 16384"
	"  UNION ALL SELECT l.classoid, l.objoid, 'security label on'"
	"   FROM pg_seclabel l WHERE (l.classoid = 'pg_namespace'::regclass"
	"    AND l.objoid = ANY($1::oid[]))"
	"   OR (pg_identify_object(l.classoid, l.objoid, 0)).schema IN"
	"    (SELECT nspname FROM pg_namespace WHERE oid = ANY($1::oid[]))"
	" )"
	" SELECT * FROM (SELECT CASE WHEN u.why LIKE '%% on'"
	"  THEN u.why || ' ' || i.type ELSE coalesce(u.why, i.type) END AS kind,"
	"  i.identity AS ident, u.classid, u.objid"
	"  FROM u, LATERAL pg_identify_object(u.classid, u.objid, 0) i"
	/* extension members are prerequisites; internal parts (a range's
	 * multirange cast) come with what they belong to */
	"  WHERE NOT EXISTS (SELECT 1 FROM pg_depend e"
	"   WHERE e.classid = u.classid AND e.objid = u.objid"
	"   AND e.deptype IN ('e', 'i'))) s"
	" ORDER BY s.kind COLLATE \"C\", s.ident COLLATE \"C\"";
/* clang-format on */

static int census_row(struct pgw_cat_ctx *x, const PGresult *r)
{
	struct pgw_catalog *cat = x->cat;
	struct pgw_catalog_unsupported *u;
	size_t cap = cat->n_unsupported;

	/* grow by powers of two: n is a power of two when full */
	if (!cap || (cap & (cap - 1)) == 0) {
		void *p = realloc(cat->unsupported,
		                  (cap ? cap * 2 : 8) * sizeof(*u));

		if (!p)
			return pgw_err_oom(x->err);
		cat->unsupported = p;
	}
	u = &cat->unsupported[cat->n_unsupported];
	memset(u, 0, sizeof(*u));
	u->kind = strdup(pgw_catalog__val(r, 0));
	u->identity = strdup(pgw_catalog__val(r, 1));
	u->classid = pgw_catalog__oid(r, 2);
	u->objid = pgw_catalog__oid(r, 3);
	cat->n_unsupported++;
	if (!u->kind || !u->identity)
		return pgw_err_oom(x->err);
	return 0;
}

static int read_census(struct pgw_cat_ctx *x,
                       const struct pgw_catalog_opts *opts)
{
	struct pgw_buf sql = PGW_BUF_INIT, names = PGW_BUF_INIT;
	struct pgw_catalog *cat = x->cat;
	size_t i;
	int error;

	pgw_buf_printf(
	        &sql, census_sql,
	        PQserverVersion(x->c) >= 150000
	                ? "   OR EXISTS (SELECT 1 FROM pg_publication_namespace pn"
	                  "    WHERE pn.pnpubid = o.oid"
	                  "    AND pn.pnnspid = ANY($1::oid[]))"
	                : "");
	if (pgw_buf_oom(&sql)) {
		error = pgw_err_oom(x->err);
		goto done;
	}
	error = pgw_catalog__each(x, sql.ptr, census_row);
	if (error || !cat->n_unsupported || opts->allow_unsupported)
		goto done;
	for (i = 0; i < cat->n_unsupported && i < 12; i++)
		pgw_buf_printf(&names, "%s%s %s", i ? ", " : "",
		               cat->unsupported[i].kind,
		               cat->unsupported[i].identity);
	if (cat->n_unsupported > 12)
		pgw_buf_printf(&names, " and %zu more",
		               cat->n_unsupported - 12);
	error = pgw_err_set(
	        x->err, PGW_EINVAL,
	        "the archive cannot carry: %s; --allow-unsupported leaves them out and records it",
	        names.ptr);
	pgw_err_hint(
	        x->err,
	        "drop or move these objects out of the backed-up schemas, or pass --allow-unsupported");
done:
	pgw_buf_release(&sql);
	pgw_buf_release(&names);
	return error;
}

static int extension_row(struct pgw_cat_ctx *x, const PGresult *r)
{
	size_t n = x->cat->n_extensions;

	if (add_string(&x->cat->extensions, &x->cat->n_extensions,
	               pgw_catalog__val(r, 0)) < 0 ||
	    add_string(&x->cat->extension_schemas, &n, pgw_catalog__val(r, 1)) <
	            0)
		return pgw_err_oom(x->err);
	return 0;
}

/* ---------------------------------------------------------------------- */
/* ordering */

struct topo_node {
	int prio;
	const char *key;
	const struct pgw_cat_deps *deps;
	bool member;
};

static int node_cmp(const struct topo_node *n, size_t a, size_t b)
{
	if (n[a].prio != n[b].prio)
		return n[a].prio < n[b].prio ? -1 : 1;
	return strcmp(n[a].key, n[b].key);
}

static void heap_push(size_t *h, size_t *len, const struct topo_node *n,
                      size_t v)
{
	size_t i = (*len)++;

	while (i > 0) {
		size_t p = (i - 1) / 2;

		if (node_cmp(n, h[p], v) <= 0)
			break;
		h[i] = h[p];
		i = p;
	}
	h[i] = v;
}

static size_t heap_pop(size_t *h, size_t *len, const struct topo_node *n)
{
	size_t top = h[0], v = h[--(*len)], i = 0;

	for (;;) {
		size_t c = 2 * i + 1;

		if (c >= *len)
			break;
		if (c + 1 < *len && node_cmp(n, h[c + 1], h[c]) < 0)
			c++;
		if (node_cmp(n, v, h[c]) <= 0)
			break;
		h[i] = h[c];
		i = c;
	}
	if (*len)
		h[i] = v;
	return top;
}

/* Kahn's algorithm over the member nodes: a node comes after every member
 * it depends on; among the ready ones, the smallest (prio, key) first.
 * Writes the order into out (n_out entries); a cycle leaves nodes out. */
static int topo_sort(struct pgw_cat_ctx *x, const struct topo_node *n,
                     size_t count, size_t *out, size_t *n_out)
{
	size_t *indeg = NULL, *start = NULL, *adj = NULL, *heap = NULL;
	size_t i, j, total = 0, hlen = 0;
	int error = 0;

	*n_out = 0;
	indeg = calloc(count + 1, sizeof(*indeg));
	start = calloc(count + 2, sizeof(*start));
	heap = calloc(count + 1, sizeof(*heap));
	if (!indeg || !start || !heap) {
		error = pgw_err_oom(x->err);
		goto done;
	}
	/* dependents lists (CSR): for each dep d of i, i is a dependent of d */
	for (i = 0; i < count; i++) {
		if (!n[i].member)
			continue;
		for (j = 0; j < n[i].deps->n; j++) {
			size_t d = n[i].deps->v[j];

			if (d < count && n[d].member && d != i) {
				start[d + 1]++;
				indeg[i]++;
				total++;
			}
		}
	}
	for (i = 0; i < count; i++)
		start[i + 1] += start[i];
	adj = calloc(total + 1, sizeof(*adj));
	if (!adj) {
		error = pgw_err_oom(x->err);
		goto done;
	}
	{
		size_t *fill = calloc(count + 1, sizeof(*fill));

		if (!fill) {
			error = pgw_err_oom(x->err);
			goto done;
		}
		for (i = 0; i < count; i++) {
			if (!n[i].member)
				continue;
			for (j = 0; j < n[i].deps->n; j++) {
				size_t d = n[i].deps->v[j];

				if (d < count && n[d].member && d != i)
					adj[start[d] + fill[d]++] = i;
			}
		}
		free(fill);
	}
	for (i = 0; i < count; i++)
		if (n[i].member && !indeg[i])
			heap_push(heap, &hlen, n, i);
	while (hlen) {
		size_t v = heap_pop(heap, &hlen, n);

		out[(*n_out)++] = v;
		for (j = start[v]; j < start[v + 1]; j++)
			if (--indeg[adj[j]] == 0)
				heap_push(heap, &hlen, n, adj[j]);
	}
done:
	free(indeg);
	free(start);
	free(adj);
	free(heap);
	return error;
}

/* Name (a few of) the nodes a cycle left out. */
static int cycle_error(struct pgw_cat_ctx *x, const struct topo_node *n,
                       size_t count, const size_t *out, size_t n_out,
                       const char *what)
{
	struct pgw_buf names = PGW_BUF_INIT;
	bool *placed = calloc(count + 1, sizeof(*placed));
	size_t i, shown = 0;

	if (!placed)
		return pgw_err_oom(x->err);
	for (i = 0; i < n_out; i++)
		placed[out[i]] = true;
	for (i = 0; i < count && shown < 8; i++) {
		const char *k;

		if (!n[i].member || placed[i])
			continue;
		/* keys are "schema\x1fname\x1fmore": shown schema.name.more */
		pgw_buf_puts(&names, shown++ ? ", " : "");
		for (k = n[i].key; *k; k++)
			if (*k != '\x1f')
				pgw_buf_putc(&names, *k);
			else if (k[1] && k[1] != '\x1f')
				pgw_buf_putc(&names, '.');
	}
	free(placed);
	pgw_err_set(x->err, PGW_EINVAL,
	            "cannot order the %s: a dependency cycle among %s", what,
	            names.ptr);
	pgw_err_hint(
	        x->err,
	        "break the cycle (e.g. a function body that refers to a table whose default calls it)");
	pgw_buf_release(&names);
	return x->err->code;
}

/* Turn pg_depend into item and unit dependencies. */
static int depend_row(struct pgw_cat_ctx *x, const PGresult *r)
{
	uint64_t a = pgw_catalog__key(pgw_catalog__oid(r, 0),
	                              pgw_catalog__oid(r, 1));
	uint64_t b = pgw_catalog__key(pgw_catalog__oid(r, 2),
	                              pgw_catalog__oid(r, 3));
	bool is_auto = pgw_catalog__val(r, 4)[0] == 'a';
	size_t ia = pgw_catalog__find_item(x, a);
	size_t ib = pgw_catalog__find_item(x, b);
	size_t ua = pgw_catalog__find_unit(x, a);
	size_t ub = pgw_catalog__find_unit(x, b);

	if (ia != PGW_CAT_NONE && ib != PGW_CAT_NONE && ia != ib &&
	    !(is_auto && x->items[ia].ignore_auto))
		pgw_catalog__dep(x, &x->items[ia].deps, ib);
	/* a dependent is dropped before what it depends on */
	if (ua != PGW_CAT_NONE && ub != PGW_CAT_NONE && ua != ub)
		pgw_catalog__dep(x, &x->units[ub].deps, ua);
	return x->err->code;
}

/* clang-format off */
static const char depend_sql[] =
	"SELECT d.classid, d.objid, d.refclassid, d.refobjid, d.deptype"
	" FROM pg_depend d WHERE d.deptype IN ('n', 'a')"
	" AND d.objid >= 16384 AND d.refobjid >= 16384"
	" AND d.classid IN ('pg_class'::regclass, 'pg_type'::regclass,"
	"  'pg_proc'::regclass, 'pg_constraint'::regclass,"
	"  'pg_attrdef'::regclass, 'pg_rewrite'::regclass,"
	"  'pg_trigger'::regclass, 'pg_policy'::regclass,"
	"  'pg_statistic_ext'::regclass)"
	" AND d.refclassid IN ('pg_class'::regclass, 'pg_type'::regclass,"
	"  'pg_proc'::regclass, 'pg_constraint'::regclass,"
	"  'pg_attrdef'::regclass, 'pg_rewrite'::regclass,"
	"  'pg_trigger'::regclass, 'pg_policy'::regclass,"
	"  'pg_statistic_ext'::regclass)";
/* clang-format on */

/* clang-format off */
static const char ddl_header[] =
	"SET check_function_bodies = false;\n"
	"SET standard_conforming_strings = on;\n"
	"SET default_tablespace = '';\n"
	"SET default_table_access_method = heap;\n"
	"SELECT pg_catalog.set_config('search_path', '', false);\n\n";
/* clang-format on */

/* A pre-data item cannot wait for post-data: what it needs moves to
 * pre-data (e.g. a view grouping by a primary key needs the key). */
static int promote(struct pgw_cat_ctx *x)
{
	size_t *stack = NULL, len = 0, i, j;

	stack = calloc(x->n_items + 1, sizeof(*stack));
	if (!stack)
		return pgw_err_oom(x->err);
	for (i = 0; i < x->n_items; i++) {
		if (x->items[i].sect != PGW_CAT_PRE)
			continue;
		stack[len++] = i;
		while (len) {
			size_t v = stack[--len];

			for (j = 0; j < x->items[v].deps.n; j++) {
				size_t d = x->items[v].deps.v[j];

				if (x->items[d].sect == PGW_CAT_POST) {
					x->items[d].sect = PGW_CAT_PRE;
					x->items[d].prio = PGW_PRIO_PROMOTED;
					stack[len++] = d;
				}
			}
		}
	}
	free(stack);
	return 0;
}

static int emit_section(struct pgw_cat_ctx *x, int sect, struct pgw_buf *b,
                        struct topo_node *nodes, size_t *order)
{
	size_t i, n_out = 0, count = 0;
	int error;

	for (i = 0; i < x->n_items; i++) {
		nodes[i].prio = x->items[i].prio;
		nodes[i].key = x->items[i].key;
		nodes[i].deps = &x->items[i].deps;
		nodes[i].member = x->items[i].sect == sect;
		count += nodes[i].member;
	}
	error = topo_sort(x, nodes, x->n_items, order, &n_out);
	if (error)
		return error;
	if (n_out < count)
		return cycle_error(x, nodes, x->n_items, order, n_out,
		                   sect == PGW_CAT_PRE ? "pre-data objects"
		                                       : "post-data objects");
	for (i = 0; i < n_out; i++) {
		pgw_buf_puts(b, x->items[order[i]].sql);
		pgw_buf_puts(b, "\n");
	}
	return 0;
}

static int order_all(struct pgw_cat_ctx *x)
{
	struct pgw_buf pre = PGW_BUF_INIT, post = PGW_BUF_INIT;
	struct topo_node *nodes = NULL;
	size_t *order = NULL, i, n_out = 0, max;
	int error;

	/* deferred dependencies, now that every object is mapped */
	for (i = 0; i < x->n_later; i++) {
		size_t on = pgw_catalog__find_item(x, x->later[i].key);

		if (on != PGW_CAT_NONE && on != x->later[i].item)
			pgw_catalog__dep(x, &x->items[x->later[i].item].deps,
			                 on);
	}
	/* a materialized view's REFRESH waits for those it reads */
	for (i = 0; i < x->n_items; i++) {
		size_t j, r = x->items[i].refresh;

		if (r == PGW_CAT_NONE)
			continue;
		for (j = 0; j < x->items[i].deps.n; j++) {
			size_t d = x->items[i].deps.v[j];

			if (x->items[d].refresh != PGW_CAT_NONE)
				pgw_catalog__dep(x, &x->items[r].deps,
				                 x->items[d].refresh);
		}
	}
	if (x->err->code)
		return x->err->code;
	error = promote(x);
	if (error)
		return error;
	max = x->n_items > x->n_units ? x->n_items : x->n_units;
	nodes = calloc(max + 1, sizeof(*nodes));
	order = calloc(max + 1, sizeof(*order));
	if (!nodes || !order) {
		error = pgw_err_oom(x->err);
		goto done;
	}
	pgw_buf_puts(&pre, ddl_header);
	pgw_buf_puts(&pre, x->schemas.ptr);
	error = emit_section(x, PGW_CAT_PRE, &pre, nodes, order);
	if (error)
		goto done;
	pgw_buf_puts(&post, ddl_header);
	error = emit_section(x, PGW_CAT_POST, &post, nodes, order);
	if (error)
		goto done;
	if (pgw_buf_oom(&pre) || pgw_buf_oom(&post)) {
		error = pgw_err_oom(x->err);
		goto done;
	}
	x->cat->pre_data = pgw_buf_detach(&pre);
	x->cat->post_data = pgw_buf_detach(&post);

	/* drop order */
	for (i = 0; i < x->n_units; i++) {
		nodes[i].prio = x->units[i].prio;
		nodes[i].key = x->units[i].key;
		nodes[i].deps = &x->units[i].deps;
		nodes[i].member = true;
	}
	error = topo_sort(x, nodes, x->n_units, order, &n_out);
	if (error)
		goto done;
	if (n_out < x->n_units) {
		error = cycle_error(x, nodes, x->n_units, order, n_out,
		                    "objects to drop");
		goto done;
	}
	x->cat->objects = calloc(x->n_units + 1, sizeof(*x->cat->objects));
	if (!x->cat->objects) {
		error = pgw_err_oom(x->err);
		goto done;
	}
	for (i = 0; i < n_out; i++) {
		struct pgw_cat_unit *u = &x->units[order[i]];
		struct pgw_catalog_object *o = &x->cat->objects[i];

		o->kind = u->kind;
		o->identity = u->identity;
		o->drop_sql = u->sql;
		u->kind = u->identity = u->sql = NULL;
		o->classid = u->classid;
		o->objid = u->objid;
		o->objsubid = 0;
		x->cat->n_objects++;
	}
done:
	pgw_buf_release(&pre);
	pgw_buf_release(&post);
	free(nodes);
	free(order);
	return error;
}

/* ---------------------------------------------------------------------- */
/* the tables whose rows are copied */

static int cmp_tables(const void *a, const void *b)
{
	const struct pgw_catalog_table *x = a, *y = b;
	int c = strcmp(x->schema, y->schema);

	return c ? c : strcmp(x->name, y->name);
}

static int list_tables(struct pgw_cat_ctx *x)
{
	struct pgw_catalog *cat = x->cat;
	size_t i;

	cat->tables = calloc(x->n_rels + 1, sizeof(*cat->tables));
	if (!cat->tables)
		return pgw_err_oom(x->err);
	for (i = 0; i < x->n_rels; i++) {
		struct pgw_cat_rel *r = &x->rels[i];
		struct pgw_catalog_table *t;

		if (r->kind != 'r')
			continue;
		t = &cat->tables[cat->n_tables++];
		t->schema = strdup(r->nsp);
		t->name = strdup(r->name);
		t->qualified = strdup(r->q);
		t->columns = strdup(r->copy.ptr);
		t->est_rows = r->est_rows;
		t->est_bytes = r->est_bytes;
		t->is_partition_leaf = r->partition;
		if (!t->schema || !t->name || !t->qualified || !t->columns)
			return pgw_err_oom(x->err);
	}
	qsort(cat->tables, cat->n_tables, sizeof(*cat->tables), cmp_tables);
	return 0;
}

/* Pin search_path to pg_catalog for this module's queries; *saved gets
 * the caller's, for unpin_path. */
static int pin_path(PGconn *c, char **saved, struct pgw_err *err)
{
	PGresult *res = NULL;
	int error;

	*saved = NULL;
	error = pgw_pg_exec(&res, c,
	                    "SELECT pg_catalog.current_setting('search_path'),"
	                    " pg_catalog.set_config('search_path',"
	                    " 'pg_catalog, pg_temp', false)",
	                    0, NULL, err);
	if (error)
		return error;
	*saved = strdup(PQgetvalue(res, 0, 0));
	PQclear(res);
	return *saved ? 0 : pgw_err_oom(err);
}

static int unpin_path(PGconn *c, const char *saved, struct pgw_err *err)
{
	const char *params[1] = { saved };

	return pgw_pg_exec(
	        NULL, c,
	        "SELECT pg_catalog.set_config('search_path', $1, false)", 1,
	        params, err);
}

/* ---------------------------------------------------------------------- */
/* the API */

static void ctx_release(struct pgw_cat_ctx *x)
{
	size_t i;

	for (i = 0; i < x->n_items; i++) {
		free(x->items[i].key);
		free(x->items[i].sql);
		free(x->items[i].deps.v);
	}
	free(x->items);
	for (i = 0; i < x->n_units; i++) {
		free(x->units[i].key);
		free(x->units[i].kind);
		free(x->units[i].identity);
		free(x->units[i].sql);
		free(x->units[i].deps.v);
	}
	free(x->units);
	for (i = 0; i < x->n_rels; i++) {
		struct pgw_cat_rel *r = &x->rels[i];

		free(r->nsp);
		free(r->name);
		free(r->q);
		free(r->owner);
		free(r->head);
		free(r->tail);
		pgw_buf_release(&r->cols);
		pgw_buf_release(&r->after);
		pgw_buf_release(&r->copy);
	}
	free(x->rels);
	for (i = 0; i < x->n_seqs; i++) {
		free(x->seqs[i].q);
		free(x->seqs[i].lit);
	}
	free(x->seqs);
	free(x->later);
	free(x->map.v);
	free(x->relmap.v);
	free(x->scope);
	pgw_buf_release(&x->schemas);
}

int pgw_catalog_read(struct pgw_catalog **out, PGconn *c,
                     const struct pgw_catalog_opts *opts, struct pgw_err *err)
{
	static const struct pgw_catalog_opts no_opts = { 0 };
	struct pgw_cat_ctx x;
	char *saved_path = NULL;
	int error;

	*out = NULL;
	if (!opts)
		opts = &no_opts;
	memset(&x, 0, sizeof(x));
	x.c = c;
	x.err = err;
	x.schemas = (struct pgw_buf)PGW_BUF_INIT;
	x.cat = calloc(1, sizeof(*x.cat));
	if (!x.cat)
		return pgw_err_oom(err);
	if (PQserverVersion(c) < 140000) {
		error = pgw_err_set(
		        err, PGW_EINVAL,
		        "the catalog reader needs PostgreSQL 14 or later (server is %d)",
		        PQserverVersion(c));
		goto done;
	}
	error = pin_path(c, &saved_path, err);
	if (error)
		goto done;
	error = read_scope(&x, opts);
	if (!error && opts->lock_scope)
		error = opts->lock_scope(c, x.scope, opts->lock_arg, err);
	if (!error)
		error = read_census(&x, opts);
	if (!error)
		error = pgw_catalog__each_params(
		        &x,
		        "SELECT e.extname || ' ' || e.extversion, n.nspname"
		        " FROM pg_extension e"
		        " JOIN pg_namespace n ON n.oid = e.extnamespace"
		        " ORDER BY e.extname COLLATE \"C\"",
		        0, NULL, extension_row);
	if (!error)
		error = pgw_catalog__read_ddl(&x);
	if (!error)
		error = pgw_catalog__each_params(&x, depend_sql, 0, NULL,
		                                 depend_row);
	if (!error)
		error = order_all(&x);
	if (!error)
		error = list_tables(&x);
	if (!error)
		error = unpin_path(c, saved_path, err);
	if (!error)
		pgw_log_debug(
		        "catalog: %zu schemas, %zu DDL items, %zu tables, %zu objects to drop, %zu not carried",
		        x.cat->n_schemas, x.n_items, x.cat->n_tables,
		        x.cat->n_objects, x.cat->n_unsupported);
done:
	free(saved_path);
	ctx_release(&x);
	if (error) {
		pgw_catalog_free(x.cat);
		return error;
	}
	*out = x.cat;
	return 0;
}

void pgw_catalog_free(struct pgw_catalog *cat)
{
	size_t i;

	if (!cat)
		return;
	for (i = 0; i < cat->n_schemas; i++)
		free(cat->schemas[i]);
	free(cat->schemas);
	free(cat->pre_data);
	free(cat->post_data);
	for (i = 0; i < cat->n_tables; i++) {
		free(cat->tables[i].schema);
		free(cat->tables[i].name);
		free(cat->tables[i].qualified);
		free(cat->tables[i].columns);
	}
	free(cat->tables);
	for (i = 0; i < cat->n_unsupported; i++) {
		free(cat->unsupported[i].kind);
		free(cat->unsupported[i].identity);
	}
	free(cat->unsupported);
	for (i = 0; i < cat->n_objects; i++) {
		free(cat->objects[i].kind);
		free(cat->objects[i].identity);
		free(cat->objects[i].drop_sql);
	}
	free(cat->objects);
	for (i = 0; i < cat->n_extensions; i++) {
		free(cat->extensions[i]);
		if (cat->extension_schemas)
			free(cat->extension_schemas[i]);
	}
	free(cat->extensions);
	free(cat->extension_schemas);
	free(cat);
}

/* ---------------------------------------------------------------------- */
/* outside dependents */

/* The objects of the archive: every object of its schemas ($1), with
 * those that hang off a table, but extension members and the objects the
 * archive leaves out ($2, $3).  Then what depends on them (normal and
 * automatic dependencies) and is not one of them; a view's rule shown as
 * the view. */
/* clang-format off */
static const char outside_sql[] =
	"WITH sc AS (SELECT oid FROM pg_namespace WHERE nspname = ANY($1::text[])),"
	" rels AS (SELECT oid FROM pg_class WHERE relnamespace IN (SELECT oid FROM sc)),"
	" skip AS (SELECT unnest($2::oid[]) AS classid, unnest($3::oid[]) AS objid),"
	" ins(classid, objid) AS ("
	"  SELECT 'pg_class'::regclass::oid, oid FROM rels"
	"  UNION ALL SELECT 'pg_type'::regclass, oid FROM pg_type"
	"   WHERE typnamespace IN (SELECT oid FROM sc)"
	"  UNION ALL SELECT 'pg_proc'::regclass, oid FROM pg_proc"
	"   WHERE pronamespace IN (SELECT oid FROM sc)"
	"  UNION ALL SELECT 'pg_constraint'::regclass, oid FROM pg_constraint"
	"   WHERE connamespace IN (SELECT oid FROM sc)"
	"  UNION ALL SELECT 'pg_attrdef'::regclass, oid FROM pg_attrdef"
	"   WHERE adrelid IN (SELECT oid FROM rels)"
	"  UNION ALL SELECT 'pg_rewrite'::regclass, oid FROM pg_rewrite"
	"   WHERE ev_class IN (SELECT oid FROM rels)"
	"  UNION ALL SELECT 'pg_trigger'::regclass, oid FROM pg_trigger"
	"   WHERE tgrelid IN (SELECT oid FROM rels)"
	"  UNION ALL SELECT 'pg_policy'::regclass, oid FROM pg_policy"
	"   WHERE polrelid IN (SELECT oid FROM rels)"
	"  UNION ALL SELECT 'pg_statistic_ext'::regclass, oid FROM pg_statistic_ext"
	"   WHERE stxnamespace IN (SELECT oid FROM sc)"
	"  UNION ALL SELECT 'pg_operator'::regclass, oid FROM pg_operator"
	"   WHERE oprnamespace IN (SELECT oid FROM sc)"
	"  UNION ALL SELECT 'pg_opclass'::regclass, oid FROM pg_opclass"
	"   WHERE opcnamespace IN (SELECT oid FROM sc)"
	"  UNION ALL SELECT 'pg_opfamily'::regclass, oid FROM pg_opfamily"
	"   WHERE opfnamespace IN (SELECT oid FROM sc)"
	"  UNION ALL SELECT 'pg_collation'::regclass, oid FROM pg_collation"
	"   WHERE collnamespace IN (SELECT oid FROM sc)"
	"  UNION ALL SELECT 'pg_conversion'::regclass, oid FROM pg_conversion"
	"   WHERE connamespace IN (SELECT oid FROM sc)"
	"  UNION ALL SELECT 'pg_ts_config'::regclass, oid FROM pg_ts_config"
	"   WHERE cfgnamespace IN (SELECT oid FROM sc)"
	"  UNION ALL SELECT 'pg_ts_dict'::regclass, oid FROM pg_ts_dict"
	"   WHERE dictnamespace IN (SELECT oid FROM sc)"
	"  UNION ALL SELECT 'pg_default_acl'::regclass, oid FROM pg_default_acl"
	"   WHERE defaclnamespace IN (SELECT oid FROM sc)),"
	" carried AS MATERIALIZED (SELECT i.classid, i.objid FROM ins i"
	"  WHERE NOT EXISTS (SELECT 1 FROM pg_depend e WHERE e.classid = i.classid"
	"   AND e.objid = i.objid AND e.deptype = 'e')"
	"  AND NOT EXISTS (SELECT 1 FROM skip k WHERE k.classid = i.classid"
	"   AND k.objid = i.objid)),"
	" dep AS (SELECT DISTINCT"
	"   CASE WHEN rw.rulename = '_RETURN' THEN 'pg_class'::regclass::oid"
	"    ELSE d.classid END AS classid,"
	"   CASE WHEN rw.rulename = '_RETURN' THEN rw.ev_class"
	"    ELSE d.objid END AS objid,"
	"   CASE WHEN rw.rulename = '_RETURN' THEN 0"
	"    ELSE d.objsubid END AS objsubid,"
	"   d.refclassid, d.refobjid"
	"  FROM pg_depend d"
	"  JOIN carried r ON r.classid = d.refclassid AND r.objid = d.refobjid"
	"  LEFT JOIN pg_rewrite rw ON d.classid = 'pg_rewrite'::regclass"
	"   AND rw.oid = d.objid"
	"  WHERE d.deptype IN ('n', 'a')"
	"  AND NOT EXISTS (SELECT 1 FROM carried c WHERE c.classid = d.classid"
	"   AND c.objid = d.objid))"
	" SELECT s.line FROM (SELECT DISTINCT a.type || ' ' || a.identity"
	"  || ' depends on ' || b.type || ' ' || b.identity AS line"
	"  FROM dep, LATERAL pg_identify_object(dep.classid, dep.objid,"
	"   dep.objsubid) a,"
	"  LATERAL pg_identify_object(dep.refclassid, dep.refobjid, 0) b) s"
	" ORDER BY s.line COLLATE \"C\"";
/* clang-format on */

int pgw_catalog_outside_dependents(char **out, PGconn *c,
                                   const struct pgw_catalog *cat,
                                   struct pgw_err *err)
{
	struct pgw_buf names = PGW_BUF_INIT, classes = PGW_BUF_INIT,
	               objs = PGW_BUF_INIT, text = PGW_BUF_INIT;
	const char *params[3];
	PGresult *res = NULL;
	char *saved_path = NULL;
	size_t i;
	int error = 0;

	*out = NULL;
	pgw_pg_text_array(&names, (const char *const *)cat->schemas);
	/* objects in scope the archive leaves out are not dropped: what
	 * depends on them does not matter, and they count as outside */
	pgw_buf_puts(&classes, "{");
	pgw_buf_puts(&objs, "{");
	for (i = 0; i < cat->n_unsupported; i++) {
		pgw_buf_printf(&classes, "%s%u", i ? "," : "",
		               cat->unsupported[i].classid);
		pgw_buf_printf(&objs, "%s%u", i ? "," : "",
		               cat->unsupported[i].objid);
	}
	pgw_buf_puts(&classes, "}");
	pgw_buf_puts(&objs, "}");
	if (pgw_buf_oom(&names) || pgw_buf_oom(&classes) ||
	    pgw_buf_oom(&objs)) {
		error = pgw_err_oom(err);
		goto done;
	}
	params[0] = names.ptr;
	params[1] = classes.ptr;
	params[2] = objs.ptr;
	error = pin_path(c, &saved_path, err);
	if (error)
		goto done;
	error = pgw_pg_exec(&res, c, outside_sql, 3, params, err);
	if (!error)
		error = unpin_path(c, saved_path, err);
	if (error)
		goto done;
	for (i = 0; i < (size_t)PQntuples(res); i++)
		pgw_buf_printf(&text, "%s%s", i ? "; " : "",
		               PQgetvalue(res, (int)i, 0));
	if (pgw_buf_oom(&text)) {
		error = pgw_err_oom(err);
		goto done;
	}
	if (text.len)
		*out = pgw_buf_detach(&text);
done:
	pgw_buf_release(&names);
	pgw_buf_release(&classes);
	pgw_buf_release(&objs);
	pgw_buf_release(&text);
	free(saved_path);
	PQclear(res);
	return error;
}
