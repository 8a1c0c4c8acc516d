/* catalog_ddl.c - the DDL of each catalog class the archive carries, as
 * items (ordered by catalog.c) and drop units.  The server writes the
 * hard parts: pg_get_viewdef, pg_get_functiondef, pg_get_indexdef,
 * pg_get_constraintdef, pg_get_triggerdef, pg_get_ruledef,
 * pg_get_statisticsobjdef, format_type, pg_get_expr; identifiers come
 * quoted from quote_ident, literals from quote_literal.  The queries run
 * with search_path pinned to pg_catalog (see catalog.c). */
#include "catalog_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define V(col) pgw_catalog__val(r, (col))
#define OPT(col) pgw_catalog__opt(r, (col))
#define B(col) pgw_catalog__bool(r, (col))
#define OID(col) pgw_catalog__oid(r, (col))

#define CLS "'pg_class'::regclass"
#define TYP "'pg_type'::regclass"

/* "a\x1fb\x1fc": a sort key from names (compared byte by byte) */
static void key3(struct pgw_buf *k, const char *a, const char *b, const char *c)
{
	pgw_buf_reset(k);
	pgw_buf_printf(k, "%s\x1f%s\x1f%s", a, b, c ? c : "");
}

static struct pgw_cat_rel *rel_find(struct pgw_cat_ctx *x, unsigned classid,
                                    unsigned oid)
{
	struct pgw_cat_slot *s =
	        pgw_catalog__lookup(&x->relmap, pgw_catalog__key(classid, oid));

	return s ? &x->rels[s->item] : NULL;
}

static struct pgw_cat_rel *rel_new(struct pgw_cat_ctx *x, unsigned classid,
                                   unsigned oid)
{
	struct pgw_cat_rel *v;
	struct pgw_cat_slot *s;

	if (x->n_rels == x->cap_rels) {
		size_t cap = x->cap_rels ? x->cap_rels * 2 : 64;

		v = realloc(x->rels, cap * sizeof(*v));
		if (!v) {
			pgw_err_oom(x->err);
			return NULL;
		}
		x->rels = v;
		x->cap_rels = cap;
	}
	s = pgw_catalog__slot(x, &x->relmap, pgw_catalog__key(classid, oid));
	if (!s)
		return NULL;
	s->item = x->n_rels;
	v = &x->rels[x->n_rels++];
	memset(v, 0, sizeof(*v));
	v->oid = oid;
	v->cols = (struct pgw_buf)PGW_BUF_INIT;
	v->after = (struct pgw_buf)PGW_BUF_INIT;
	v->copy = (struct pgw_buf)PGW_BUF_INIT;
	v->item = PGW_CAT_NONE;
	v->unit = PGW_CAT_NONE;
	return v;
}

static int set_str(struct pgw_cat_ctx *x, char **dst, const char *s)
{
	*dst = strdup(s ? s : "");
	return *dst ? 0 : pgw_err_oom(x->err);
}

/* A new unit; its kind and identity are pg_identify_object's. */
static size_t unit_add(struct pgw_cat_ctx *x, int prio, const char *key,
                       const char *kind, const char *identity,
                       struct pgw_buf *sql, unsigned classid, unsigned objid)
{
	size_t u;

	if (pgw_buf_oom(sql)) {
		pgw_err_oom(x->err);
		return PGW_CAT_NONE;
	}
	u = pgw_catalog__unit(x, prio, key, kind, identity, sql->ptr, classid,
	                      objid);
	if (u != PGW_CAT_NONE &&
	    pgw_catalog__map_unit(x, classid, objid, u) != 0)
		return PGW_CAT_NONE;
	return u;
}

static size_t item_add(struct pgw_cat_ctx *x, int sect, int prio,
                       struct pgw_buf *key, struct pgw_buf *sql,
                       unsigned classid, unsigned objid)
{
	size_t it;

	if (pgw_buf_oom(key)) {
		pgw_buf_release(sql);
		pgw_err_oom(x->err);
		return PGW_CAT_NONE;
	}
	it = pgw_catalog__item(x, sect, prio, key->ptr, sql);
	if (it != PGW_CAT_NONE && classid &&
	    pgw_catalog__map_item(x, classid, objid, it) != 0)
		return PGW_CAT_NONE;
	return it;
}

/* ---------------------------------------------------------------------- */
/* types: enum, domain, range (composite types come with the relations) */

/* clang-format off */
static const char types_sql[] =
	"SELECT t.oid, t.typtype, n.nspname, t.typname,"
	" " PGW_CAT_QNAME("n.nspname", "t.typname") ","
	" quote_ident(pg_get_userbyid(t.typowner)),"
	" " PGW_CAT_ACL("t.typacl") ","
	" " PGW_CAT_DESCR(TYP, "t.oid", "0") ","
	" t.typarray,"
	" CASE WHEN t.typtype = 'e' THEN (SELECT string_agg("
	"  quote_literal(e.enumlabel), ', ' ORDER BY e.enumsortorder)"
	"  FROM pg_enum e WHERE e.enumtypid = t.oid) END,"
	" CASE WHEN t.typtype = 'd' THEN format_type(t.typbasetype,"
	"  t.typtypmod) END,"
	" CASE WHEN t.typtype = 'd' AND t.typcollation <> 0"
	"  AND t.typcollation <> bt.typcollation THEN " PGW_CAT_COLL("t.typcollation") " END,"
	" pg_get_expr(t.typdefaultbin, 0), t.typnotnull,"
	" format_type(rg.rngsubtype, NULL),"
	" (SELECT quote_ident(ocn.nspname) || '.' || quote_ident(oc.opcname)"
	"  FROM pg_opclass oc JOIN pg_namespace ocn"
	"  ON ocn.oid = oc.opcnamespace WHERE oc.oid = rg.rngsubopc"
	"  AND NOT oc.opcdefault),"
	" CASE WHEN rg.rngcollation <> 0 AND rg.rngcollation <> st.typcollation"
	"  THEN " PGW_CAT_COLL("rg.rngcollation") " END,"
	" CASE WHEN rg.rngcanonical <> 0 THEN rg.rngcanonical::regproc::text END,"
	" CASE WHEN rg.rngsubdiff <> 0 THEN rg.rngsubdiff::regproc::text END,"
	" (SELECT " PGW_CAT_QNAME("mn.nspname", "mt.typname")
	"  FROM pg_type mt JOIN pg_namespace mn ON mn.oid = mt.typnamespace"
	"  WHERE mt.oid = rg.rngmultitypid),"
	" rg.rngmultitypid,"
	" (SELECT mt.typarray FROM pg_type mt WHERE mt.oid = rg.rngmultitypid),"
	" i.type, i.identity"
	" FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace"
	" LEFT JOIN pg_type bt ON bt.oid = t.typbasetype"
	" LEFT JOIN pg_range rg ON rg.rngtypid = t.oid"
	" LEFT JOIN pg_type st ON st.oid = rg.rngsubtype,"
	" LATERAL pg_identify_object(" TYP ", t.oid, 0) i"
	" WHERE t.typnamespace = ANY($1::oid[]) AND t.typtype IN ('e', 'd', 'r')"
	" AND " PGW_CAT_NOT_EXT(TYP, "t.oid");
/* clang-format on */

static int type_row(struct pgw_cat_ctx *x, const PGresult *r)
{
	struct pgw_buf sql = PGW_BUF_INIT, key = PGW_BUF_INIT,
	               on = PGW_BUF_INIT;
	unsigned oid = OID(0);
	char typtype = V(1)[0];
	const char *q = V(4), *owner = V(5);
	const char *kw = typtype == 'd' ? "DOMAIN" : "TYPE";
	size_t it, u;
	int error = 0;

	key3(&key, V(2), V(3), NULL);
	pgw_buf_printf(&on, "%s %s", kw, q);
	if (typtype == 'd') {
		/* constraints come later: assembled in finish_rels */
		struct pgw_cat_rel *d = rel_new(x, PGW_CAT_TYPE, oid);
		struct pgw_buf head = PGW_BUF_INIT;

		if (!d) {
			error = x->err->code;
			goto done;
		}
		d->kind = 'T';
		pgw_buf_printf(&head, "CREATE DOMAIN %s AS %s", q, V(10));
		if (OPT(11))
			pgw_buf_printf(&head, " COLLATE %s", V(11));
		if (OPT(12))
			pgw_buf_printf(&head, " DEFAULT %s", V(12));
		if (B(13))
			pgw_buf_puts(&head, " NOT NULL");
		error = set_str(x, &d->head, head.ptr);
		pgw_buf_release(&head);
		if (!error)
			error = set_str(x, &d->tail, "");
		if (!error)
			error = set_str(x, &d->q, q);
		if (!error)
			error = set_str(x, &d->nsp, V(2));
		if (!error)
			error = set_str(x, &d->name, V(3));
		if (error)
			goto done;
		pgw_buf_printf(&d->after, "ALTER DOMAIN %s OWNER TO %s;\n", q,
		               owner);
		pgw_catalog__acl(&d->after, "", on.ptr, owner, OPT(6), NULL);
		pgw_catalog__comment(&d->after, on.ptr, OPT(7));
	} else {
		if (typtype == 'e') {
			pgw_buf_printf(&sql, "CREATE TYPE %s AS ENUM (%s);\n",
			               q, V(9));
		} else {
			pgw_buf_printf(
			        &sql,
			        "CREATE TYPE %s AS RANGE (\n    SUBTYPE = %s",
			        q, V(14));
			if (OPT(15))
				pgw_buf_printf(&sql,
				               ",\n    SUBTYPE_OPCLASS = %s",
				               V(15));
			if (OPT(16))
				pgw_buf_printf(&sql, ",\n    COLLATION = %s",
				               V(16));
			if (OPT(17))
				pgw_buf_printf(&sql, ",\n    CANONICAL = %s",
				               V(17));
			if (OPT(18))
				pgw_buf_printf(&sql, ",\n    SUBTYPE_DIFF = %s",
				               V(18));
			if (OPT(19))
				pgw_buf_printf(
				        &sql,
				        ",\n    MULTIRANGE_TYPE_NAME = %s",
				        V(19));
			pgw_buf_puts(&sql, "\n);\n");
		}
		pgw_buf_printf(&sql, "ALTER TYPE %s OWNER TO %s;\n", q, owner);
		pgw_catalog__acl(&sql, "", on.ptr, owner, OPT(6), NULL);
		pgw_catalog__comment(&sql, on.ptr, OPT(7));
		it = item_add(x, PGW_CAT_PRE, PGW_PRIO_TYPE, &key, &sql,
		              PGW_CAT_TYPE, oid);
		if (it == PGW_CAT_NONE) {
			error = x->err->code;
			goto done;
		}
	}
	pgw_buf_reset(&sql);
	pgw_buf_printf(&sql, "DROP %s %s;", kw, q);
	u = unit_add(x, PGW_DROP_TYPE, key.ptr, V(22), V(23), &sql,
	             PGW_CAT_TYPE, oid);
	if (u == PGW_CAT_NONE) {
		error = x->err->code;
		goto done;
	}
	/* arrays and multiranges come with their type */
	if (OID(8))
		error = pgw_catalog__alias(x, PGW_CAT_TYPE, OID(8),
		                           PGW_CAT_TYPE, oid, true, true);
	if (!error && OID(20))
		error = pgw_catalog__alias(x, PGW_CAT_TYPE, OID(20),
		                           PGW_CAT_TYPE, oid, true, true);
	if (!error && OID(21))
		error = pgw_catalog__alias(x, PGW_CAT_TYPE, OID(21),
		                           PGW_CAT_TYPE, oid, true, true);
done:
	pgw_buf_release(&sql);
	pgw_buf_release(&key);
	pgw_buf_release(&on);
	return error;
}

/* ---------------------------------------------------------------------- */
/* relations: tables, views, materialized views, composite types */

/* clang-format off */
static const char rels_sql[] =
	"SELECT c.oid, c.relkind, n.nspname, c.relname,"
	" " PGW_CAT_QNAME("n.nspname", "c.relname") ","
	" quote_ident(pg_get_userbyid(c.relowner)),"
	" CASE WHEN c.relkind = 'c' THEN " PGW_CAT_ACL("ct.typacl")
	"  ELSE " PGW_CAT_ACL("c.relacl") " END,"
	" CASE WHEN c.relkind = 'c' THEN " PGW_CAT_DESCR(TYP, "c.reltype", "0")
	"  ELSE " PGW_CAT_DESCR(CLS, "c.oid", "0") " END,"
	" c.relpersistence, c.relispartition,"
	" CASE WHEN c.relkind = 'p' THEN pg_get_partkeydef(c.oid) END,"
	" CASE WHEN c.relispartition THEN pg_get_expr(c.relpartbound, c.oid) END,"
	" (SELECT " PGW_CAT_QNAME("pn.nspname", "pc.relname")
	"  FROM pg_inherits ih JOIN pg_class pc ON pc.oid = ih.inhparent"
	"  JOIN pg_namespace pn ON pn.oid = pc.relnamespace"
	"  WHERE ih.inhrelid = c.oid AND c.relispartition),"
	" (SELECT string_agg(" PGW_CAT_QNAME("pn.nspname", "pc.relname")
	"  , ', ' ORDER BY ih.inhseqno)"
	"  FROM pg_inherits ih JOIN pg_class pc ON pc.oid = ih.inhparent"
	"  JOIN pg_namespace pn ON pn.oid = pc.relnamespace"
	"  WHERE ih.inhrelid = c.oid AND NOT c.relispartition),"
	" " PGW_CAT_RELOPTS("c.reloptions", "''") ","
	" " PGW_CAT_RELOPTS("tc.reloptions", "'toast.'") ","
	" CASE WHEN c.relkind IN ('r', 'm') AND am.amname <> 'heap'"
	"  THEN quote_ident(am.amname) END,"
	" (SELECT quote_ident(spcname) FROM pg_tablespace"
	"  WHERE oid = c.reltablespace),"
	" c.relreplident, c.relrowsecurity, c.relforcerowsecurity,"
	" CASE WHEN c.relkind IN ('v', 'm') THEN pg_get_viewdef(c.oid) END,"
	" c.relispopulated, c.reltuples,"
	" c.relpages::float8 * current_setting('block_size')::float8,"
	" c.reltype, ct.typarray,"
	" (SELECT rw.oid FROM pg_rewrite rw WHERE rw.ev_class = c.oid"
	"  AND rw.rulename = '_RETURN'),"
	" i.type, i.identity"
	" FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
	" LEFT JOIN pg_type ct ON ct.oid = c.reltype"
	" LEFT JOIN pg_class tc ON tc.oid = c.reltoastrelid"
	" LEFT JOIN pg_am am ON am.oid = c.relam,"
	" LATERAL pg_identify_object(CASE WHEN c.relkind = 'c' THEN " TYP
	"  ELSE " CLS " END, CASE WHEN c.relkind = 'c' THEN c.reltype"
	"  ELSE c.oid END, 0) i"
	" WHERE c.relnamespace = ANY($1::oid[])"
	" AND c.relkind IN ('r', 'p', 'v', 'm', 'c') AND c.reloftype = 0"
	" AND " PGW_CAT_NOT_EXT(CLS, "c.oid");
/* clang-format on */

static int rel_row(struct pgw_cat_ctx *x, const PGresult *r)
{
	struct pgw_buf head = PGW_BUF_INIT, tail = PGW_BUF_INIT,
	               opts = PGW_BUF_INIT, key = PGW_BUF_INIT,
	               drop = PGW_BUF_INIT;
	unsigned oid = OID(0);
	char kind = V(1)[0];
	const char *q = V(4), *owner = V(5);
	struct pgw_cat_rel *t = rel_new(x, PGW_CAT_CLASS, oid);
	int error = 0, prio;
	const char *dropkw;

	if (!t)
		return x->err->code;
	t->kind = kind;
	t->partition = B(9);
	t->child = OPT(13) != NULL;
	t->est_rows = strtod(V(23), NULL);
	t->est_bytes = strtod(V(24), NULL);
	if (set_str(x, &t->nsp, V(2)) || set_str(x, &t->name, V(3)) ||
	    set_str(x, &t->q, q) || set_str(x, &t->owner, owner))
		return x->err->code;
	/* storage parameters, the toast table's too */
	if (OPT(14))
		pgw_buf_puts(&opts, V(14));
	if (OPT(15))
		pgw_buf_printf(&opts, "%s%s", opts.len ? ", " : "", V(15));

	switch (kind) {
	case 'r':
	case 'p':
		prio = PGW_DROP_TABLE;
		dropkw = "TABLE";
		pgw_buf_printf(&head, "CREATE %sTABLE %s (",
		               V(8)[0] == 'u' ? "UNLOGGED " : "", q);
		pgw_buf_puts(&tail, ")");
		if (t->child)
			pgw_buf_printf(&tail, "\nINHERITS (%s)", V(13));
		if (OPT(10))
			pgw_buf_printf(&tail, "\nPARTITION BY %s", V(10));
		if (OPT(16))
			pgw_buf_printf(&tail, "\nUSING %s", V(16));
		if (opts.len)
			pgw_buf_printf(&tail, "\nWITH (%s)", opts.ptr);
		if (OPT(17))
			pgw_buf_printf(&tail, "\nTABLESPACE %s", V(17));
		/* a partition is a table of its own, attached: its columns
		 * keep their order, whatever the parent's */
		if (t->partition && OPT(12))
			pgw_buf_printf(
			        &t->after,
			        "ALTER TABLE ONLY %s ATTACH PARTITION %s %s;\n",
			        V(12), q, V(11));
		if (V(18)[0] == 'f')
			pgw_buf_printf(
			        &t->after,
			        "ALTER TABLE ONLY %s REPLICA IDENTITY FULL;\n",
			        q);
		else if (V(18)[0] == 'n')
			pgw_buf_printf(
			        &t->after,
			        "ALTER TABLE ONLY %s REPLICA IDENTITY NOTHING;\n",
			        q);
		pgw_buf_printf(&t->after, "ALTER TABLE %s OWNER TO %s;\n", q,
		               owner);
		break;
	case 'v':
	case 'm': {
		const char *def = V(21);
		size_t n = strlen(def);

		/* pg_get_viewdef ends the query with ';' */
		while (n && (def[n - 1] == ';' || def[n - 1] == ' ' ||
		             def[n - 1] == '\n'))
			n--;
		if (kind == 'v') {
			prio = PGW_DROP_VIEW;
			dropkw = "VIEW";
			pgw_buf_printf(&head, "CREATE VIEW %s", q);
			if (opts.len)
				pgw_buf_printf(&head, " WITH (%s)", opts.ptr);
			pgw_buf_puts(&head, " AS\n");
			pgw_buf_put(&head, def, n);
			pgw_buf_puts(&head, ";\n");
			pgw_buf_printf(&t->after,
			               "ALTER VIEW %s OWNER TO %s;\n", q,
			               owner);
		} else {
			prio = PGW_DROP_VIEW;
			dropkw = "MATERIALIZED VIEW";
			pgw_buf_printf(&head, "CREATE MATERIALIZED VIEW %s", q);
			if (OPT(16))
				pgw_buf_printf(&head, " USING %s", V(16));
			if (opts.len)
				pgw_buf_printf(&head, " WITH (%s)", opts.ptr);
			if (OPT(17))
				pgw_buf_printf(&head, " TABLESPACE %s", V(17));
			pgw_buf_puts(&head, " AS\n");
			pgw_buf_put(&head, def, n);
			pgw_buf_puts(&head, "\n  WITH NO DATA;\n");
			pgw_buf_printf(
			        &t->after,
			        "ALTER MATERIALIZED VIEW %s OWNER TO %s;\n", q,
			        owner);
			t->sub = B(22) ? 'p' : 0; /* populated: REFRESH */
		}
		break;
	}
	default: /* 'c' */
		prio = PGW_DROP_TYPE;
		dropkw = "TYPE";
		pgw_buf_printf(&head, "CREATE TYPE %s AS (", q);
		pgw_buf_puts(&tail, ")");
		pgw_buf_printf(&t->after, "ALTER TYPE %s OWNER TO %s;\n", q,
		               owner);
		break;
	}
	{
		struct pgw_buf on = PGW_BUF_INIT;

		pgw_buf_printf(&on, "%s %s", kind == 'c' ? "TYPE" : "TABLE", q);
		pgw_catalog__acl(&t->after, "", on.ptr, owner, OPT(6), NULL);
		pgw_buf_reset(&on);
		pgw_buf_printf(&on, "%s %s",
		               kind == 'c'   ? "TYPE"
		               : kind == 'v' ? "VIEW"
		               : kind == 'm' ? "MATERIALIZED VIEW"
		                             : "TABLE",
		               q);
		pgw_catalog__comment(&t->after, on.ptr, OPT(7));
		if (pgw_buf_oom(&on))
			t->after.oom = true;
		pgw_buf_release(&on);
	}
	key3(&key, V(2), V(3), NULL);
	pgw_buf_printf(&drop, "DROP %s %s;", dropkw, q);
	if (pgw_buf_oom(&head) || pgw_buf_oom(&tail) || pgw_buf_oom(&key)) {
		error = pgw_err_oom(x->err);
		goto done;
	}
	if (set_str(x, &t->head, head.ptr))
		goto fail;
	if (set_str(x, &t->tail, tail.ptr))
		goto fail;
	if (kind == 'c')
		t->unit = unit_add(x, prio, key.ptr, V(28), V(29), &drop,
		                   PGW_CAT_TYPE, OID(25));
	else
		t->unit = unit_add(x, prio, key.ptr, V(28), V(29), &drop,
		                   PGW_CAT_CLASS, oid);
	if (t->unit == PGW_CAT_NONE)
		goto fail;
	if (kind == 'c')
		error = pgw_catalog__map_unit(x, PGW_CAT_CLASS, oid, t->unit);
	/* the row type and its array, the view's rule: the relation */
	if (!error && kind != 'c' && OID(25))
		error = pgw_catalog__alias(x, PGW_CAT_TYPE, OID(25),
		                           PGW_CAT_CLASS, oid, true, true);
	if (!error && kind == 'c')
		error = pgw_catalog__alias(x, PGW_CAT_TYPE, OID(25),
		                           PGW_CAT_CLASS, oid, true, false);
	if (!error && OID(26))
		error = pgw_catalog__alias(x, PGW_CAT_TYPE, OID(26),
		                           PGW_CAT_CLASS, oid, true, true);
	if (!error && OID(27))
		error = pgw_catalog__alias(x, PGW_CAT_REWRITE, OID(27),
		                           PGW_CAT_CLASS, oid, true, true);
	goto done;
fail:
	error = x->err->code;
done:
	pgw_buf_release(&head);
	pgw_buf_release(&tail);
	pgw_buf_release(&opts);
	pgw_buf_release(&key);
	pgw_buf_release(&drop);
	return error;
}

/* ---------------------------------------------------------------------- */
/* columns */

/* clang-format off */
static const char cols_sql[] =
	"SELECT a.attrelid, a.attnum, quote_ident(a.attname),"
	" format_type(a.atttypid, a.atttypmod), a.attnotnull, a.attidentity,"
	" a.attgenerated, pg_get_expr(ad.adbin, ad.adrelid), ad.oid,"
	" CASE WHEN a.attcollation <> t.typcollation THEN " PGW_CAT_COLL("a.attcollation") " END,"
	" CASE WHEN a.attstorage <> t.typstorage THEN CASE a.attstorage"
	"  WHEN 'p' THEN 'PLAIN' WHEN 'e' THEN 'EXTERNAL' WHEN 'm' THEN 'MAIN'"
	"  WHEN 'x' THEN 'EXTENDED' END END,"
	" a.attstattarget,"
	" " PGW_CAT_RELOPTS("a.attoptions", "''") ","
	" CASE a.attcompression WHEN 'p' THEN 'pglz' WHEN 'l' THEN 'lz4' END,"
	" a.attislocal,"
	" " PGW_CAT_ACL("a.attacl") ","
	" " PGW_CAT_DESCR(CLS, "a.attrelid", "a.attnum") ","
	" CASE WHEN a.attidentity <> '' THEN (SELECT format("
	"  'SEQUENCE NAME %I.%I START WITH %s INCREMENT BY %s MINVALUE %s"
	" MAXVALUE %s CACHE %s%s', sn.nspname, sc.relname, s.seqstart,"
	"  s.seqincrement, s.seqmin, s.seqmax, s.seqcache,"
	"  CASE WHEN s.seqcycle THEN ' CYCLE' ELSE ' NO CYCLE' END)"
	"  FROM pg_depend dd JOIN pg_class sc ON sc.oid = dd.objid"
	"  JOIN pg_namespace sn ON sn.oid = sc.relnamespace"
	"  JOIN pg_sequence s ON s.seqrelid = sc.oid"
	"  WHERE dd.classid = " CLS " AND dd.refclassid = " CLS
	"  AND dd.refobjid = a.attrelid AND dd.refobjsubid = a.attnum"
	"  AND dd.deptype = 'i' AND sc.relkind = 'S' LIMIT 1) END,"
	" EXISTS (SELECT 1 FROM pg_depend dd JOIN pg_proc p ON p.oid = dd.refobjid"
	"  WHERE dd.classid = 'pg_attrdef'::regclass AND dd.objid = ad.oid"
	"  AND dd.refclassid = 'pg_proc'::regclass"
	"  AND p.pronamespace = ANY($1::oid[])),"
	" n.nspname, c.relname, a.attname"
	" FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid"
	" JOIN pg_namespace n ON n.oid = c.relnamespace"
	" JOIN pg_type t ON t.oid = a.atttypid"
	" LEFT JOIN pg_attrdef ad ON ad.adrelid = a.attrelid"
	"  AND ad.adnum = a.attnum"
	" WHERE c.relnamespace = ANY($1::oid[])"
	" AND c.relkind IN ('r', 'p', 'v', 'm', 'c')"
	" AND a.attnum > 0 AND NOT a.attisdropped"
	" ORDER BY a.attrelid, a.attnum";
/* clang-format on */

static int split_default(struct pgw_cat_ctx *x, const PGresult *r,
                         const struct pgw_cat_rel *t)
{
	struct pgw_buf sql = PGW_BUF_INIT, key = PGW_BUF_INIT,
	               what = PGW_BUF_INIT;
	size_t it;

	pgw_buf_printf(&sql,
	               "ALTER TABLE ONLY %s ALTER COLUMN %s SET DEFAULT %s;\n",
	               t->q, V(2), V(7));
	key3(&key, V(19), V(20), V(21));
	it = item_add(x, PGW_CAT_PRE, PGW_PRIO_DEFAULT, &key, &sql,
	              PGW_CAT_ATTRDEF, OID(8));
	if (it == PGW_CAT_NONE ||
	    pgw_catalog__dep_later(x, it, PGW_CAT_CLASS, t->oid)) {
		pgw_buf_release(&key);
		return x->err->code;
	}
	/* and dropped first, for the same reason */
	pgw_buf_printf(&sql,
	               "ALTER TABLE ONLY %s ALTER COLUMN %s DROP DEFAULT;",
	               t->q, V(2));
	pgw_buf_printf(&what, "for %s.%s", t->q, V(2));
	if (!pgw_buf_oom(&what))
		it = unit_add(x, PGW_DROP_FKEY, key.ptr, "default value",
		              what.ptr, &sql, PGW_CAT_ATTRDEF, OID(8));
	pgw_buf_release(&sql);
	pgw_buf_release(&key);
	pgw_buf_release(&what);
	if (it == PGW_CAT_NONE)
		return x->err->code ? x->err->code : pgw_err_oom(x->err);
	return 0;
}

static int col_row(struct pgw_cat_ctx *x, const PGresult *r)
{
	struct pgw_cat_rel *t = rel_find(x, PGW_CAT_CLASS, OID(0));
	const char *name = V(2), *def = OPT(7);
	bool generated = V(6)[0] != '\0';
	struct pgw_buf what = PGW_BUF_INIT;
	const char *alter;
	int error = 0;

	if (!t)
		return 0;
	/* A default that calls a routine of the scope is set once the table
	 * and the routine exist: the routine may read the table. */
	if (def && !generated && B(18) && (t->kind == 'r' || t->kind == 'p')) {
		error = split_default(x, r, t);
		def = NULL;
	} else if (OID(8)) {
		error = pgw_catalog__alias(x, PGW_CAT_ATTRDEF, OID(8),
		                           PGW_CAT_CLASS, t->oid, true, true);
	}
	if (error)
		return error;
	alter = t->kind == 'v'   ? "VIEW"
	        : t->kind == 'm' ? "MATERIALIZED VIEW"
	        : t->kind == 'c' ? "TYPE"
	                         : "TABLE ONLY";
	if (t->kind == 'r' || t->kind == 'p' || t->kind == 'c') {
		/* an inherited column comes from the parent; a partition
		 * carries every column, in its own order */
		if (t->kind == 'c' || !t->child || B(14)) {
			pgw_buf_printf(&t->cols, "%s\n    %s %s",
			               t->n_cols ? "," : "", name, V(3));
			t->n_cols++;
			if (OPT(9))
				pgw_buf_printf(&t->cols, " COLLATE %s", V(9));
			if (t->kind != 'c') {
				if (generated && def)
					pgw_buf_printf(
					        &t->cols,
					        " GENERATED ALWAYS AS (%s) STORED",
					        def);
				else if (def)
					pgw_buf_printf(&t->cols, " DEFAULT %s",
					               def);
				if (B(4))
					pgw_buf_puts(&t->cols, " NOT NULL");
				if (V(5)[0])
					pgw_buf_printf(
					        &t->cols,
					        " GENERATED %s AS IDENTITY (%s)",
					        V(5)[0] == 'a' ? "ALWAYS"
					                       : "BY DEFAULT",
					        V(17));
			}
		} else {
			if (def && !generated)
				pgw_buf_printf(
				        &t->after,
				        "ALTER TABLE ONLY %s ALTER COLUMN %s SET DEFAULT %s;\n",
				        t->q, name, def);
			if (B(4))
				pgw_buf_printf(
				        &t->after,
				        "ALTER TABLE ONLY %s ALTER COLUMN %s SET NOT NULL;\n",
				        t->q, name);
		}
		if (t->kind != 'c' && !generated)
			pgw_buf_printf(&t->copy, "%s%s",
			               t->copy.len ? ", " : "", name);
	} else if (def) {
		pgw_buf_printf(&t->after,
		               "ALTER %s %s ALTER COLUMN %s SET DEFAULT %s;\n",
		               alter, t->q, name, def);
	}
	if (t->kind != 'c' && t->kind != 'v') {
		if (OPT(10))
			pgw_buf_printf(
			        &t->after,
			        "ALTER %s %s ALTER COLUMN %s SET STORAGE %s;\n",
			        alter, t->q, name, V(10));
		if (OPT(11) && atoi(V(11)) >= 0)
			pgw_buf_printf(
			        &t->after,
			        "ALTER %s %s ALTER COLUMN %s SET STATISTICS %s;\n",
			        alter, t->q, name, V(11));
		if (OPT(12))
			pgw_buf_printf(
			        &t->after,
			        "ALTER %s %s ALTER COLUMN %s SET (%s);\n",
			        alter, t->q, name, V(12));
		if (OPT(13) && t->kind != 'm')
			pgw_buf_printf(
			        &t->after,
			        "ALTER %s %s ALTER COLUMN %s SET COMPRESSION %s;\n",
			        alter, t->q, name, V(13));
	}
	pgw_buf_printf(&what, "TABLE %s", t->q);
	pgw_catalog__acl(&t->after, "", what.ptr, t->owner, OPT(15), name);
	pgw_buf_reset(&what);
	pgw_buf_printf(&what, "COLUMN %s.%s", t->q, name);
	pgw_catalog__comment(&t->after, what.ptr, OPT(16));
	if (pgw_buf_oom(&what))
		error = pgw_err_oom(x->err);
	pgw_buf_release(&what);
	return error;
}

/* ---------------------------------------------------------------------- */
/* check constraints, of tables and domains */

/* clang-format off */
static const char checks_sql[] =
	"SELECT con.oid, con.conrelid, con.contypid, quote_ident(con.conname),"
	" pg_get_constraintdef(con.oid), con.convalidated, con.conislocal,"
	" " PGW_CAT_DESCR("'pg_constraint'::regclass", "con.oid", "0") ","
	" con.conname"
	" FROM pg_constraint con WHERE con.connamespace = ANY($1::oid[])"
	" AND con.contype = 'c'"
	" ORDER BY con.conname COLLATE \"C\", con.conrelid, con.contypid";
/* clang-format on */

static int check_row(struct pgw_cat_ctx *x, const PGresult *r)
{
	unsigned oid = OID(0);
	bool domain = OID(2) != 0;
	struct pgw_cat_rel *t = domain ? rel_find(x, PGW_CAT_TYPE, OID(2))
	                               : rel_find(x, PGW_CAT_CLASS, OID(1));
	const char *name = V(3), *def = V(4);
	struct pgw_buf what = PGW_BUF_INIT, sql = PGW_BUF_INIT,
	               key = PGW_BUF_INIT;
	int error = 0;

	if (!t || (t->kind != 'r' && t->kind != 'p' && t->kind != 'T'))
		return 0;
	pgw_buf_printf(&what, "CONSTRAINT %s ON %s%s", name,
	               domain ? "DOMAIN " : "", t->q);
	if (B(5) && (domain || B(6) || t->partition)) {
		/* valid: with the table, before the data */
		if (domain) {
			pgw_buf_printf(&t->cols, "\n    CONSTRAINT %s %s", name,
			               def);
		} else {
			pgw_buf_printf(&t->cols, "%s\n    CONSTRAINT %s %s",
			               t->n_cols ? "," : "", name, def);
			t->n_cols++;
		}
		pgw_catalog__comment(&t->after, what.ptr, OPT(7));
		error = pgw_catalog__alias(x, PGW_CAT_CONSTRAINT, oid,
		                           domain ? PGW_CAT_TYPE
		                                  : PGW_CAT_CLASS,
		                           t->oid, true, true);
	} else if (!B(5) && (domain || B(6))) {
		/* NOT VALID: after the data, as it was */
		pgw_buf_printf(&sql, "ALTER %s %s ADD CONSTRAINT %s %s;\n",
		               domain ? "DOMAIN" : "TABLE", t->q, name, def);
		pgw_catalog__comment(&sql, what.ptr, OPT(7));
		key3(&key, t->nsp, t->name, V(8));
		if (item_add(x, PGW_CAT_POST, PGW_PRIO_CHECK, &key, &sql,
		             PGW_CAT_CONSTRAINT, oid) == PGW_CAT_NONE)
			error = x->err->code;
		if (!error)
			error = pgw_catalog__alias(x, PGW_CAT_CONSTRAINT, oid,
			                           domain ? PGW_CAT_TYPE
			                                  : PGW_CAT_CLASS,
			                           t->oid, false, true);
	} else {
		/* inherited from the parent: comes with it */
		pgw_catalog__comment(&t->after, what.ptr, OPT(7));
		error = pgw_catalog__alias(x, PGW_CAT_CONSTRAINT, oid,
		                           PGW_CAT_CLASS, t->oid, true, true);
	}
	if (!error && (pgw_buf_oom(&what) || pgw_buf_oom(&t->cols)))
		error = pgw_err_oom(x->err);
	pgw_buf_release(&what);
	pgw_buf_release(&sql);
	pgw_buf_release(&key);
	return error;
}

/* ---------------------------------------------------------------------- */
/* sequences */

/* clang-format off */
static const char seqs_sql[] =
	"SELECT c.oid, n.nspname, c.relname,"
	" " PGW_CAT_QNAME("n.nspname", "c.relname") ","
	" quote_ident(pg_get_userbyid(c.relowner)),"
	" " PGW_CAT_ACL("c.relacl") ","
	" " PGW_CAT_DESCR(CLS, "c.oid", "0") ","
	" c.relpersistence, format_type(s.seqtypid, NULL), s.seqstart,"
	" s.seqincrement, s.seqmin, s.seqmax, s.seqcache, s.seqcycle,"
	" d.deptype, d.refobjid, quote_ident(a.attname),"
	" " PGW_CAT_QNAME("tn.nspname", "tc.relname") ","
	" i.type, i.identity,"
	" tc.relnamespace = ANY($1::oid[]),"
	" quote_literal(" PGW_CAT_QNAME("n.nspname", "c.relname") ")"
	" FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
	" JOIN pg_sequence s ON s.seqrelid = c.oid"
	" LEFT JOIN pg_depend d ON d.classid = " CLS " AND d.objid = c.oid"
	"  AND d.refclassid = " CLS " AND d.refobjsubid > 0"
	"  AND d.deptype IN ('a', 'i')"
	" LEFT JOIN pg_class tc ON tc.oid = d.refobjid"
	" LEFT JOIN pg_namespace tn ON tn.oid = tc.relnamespace"
	" LEFT JOIN pg_attribute a ON a.attrelid = d.refobjid"
	"  AND a.attnum = d.refobjsubid,"
	" LATERAL pg_identify_object(" CLS ", c.oid, 0) i"
	" WHERE c.relnamespace = ANY($1::oid[]) AND c.relkind = 'S'"
	" AND " PGW_CAT_NOT_EXT(CLS, "c.oid");
/* clang-format on */

static int add_seq(struct pgw_cat_ctx *x, const char *q, const char *literal,
                   unsigned oid)
{
	void *p;

	if (x->n_seqs == x->cap_seqs) {
		size_t cap = x->cap_seqs ? x->cap_seqs * 2 : 32;

		p = realloc(x->seqs, cap * sizeof(*x->seqs));
		if (!p)
			return pgw_err_oom(x->err);
		x->seqs = p;
		x->cap_seqs = cap;
	}
	x->seqs[x->n_seqs].q = strdup(q);
	x->seqs[x->n_seqs].lit = strdup(literal);
	x->seqs[x->n_seqs].oid = oid;
	if (!x->seqs[x->n_seqs].q || !x->seqs[x->n_seqs].lit) {
		free(x->seqs[x->n_seqs].q);
		free(x->seqs[x->n_seqs].lit);
		return pgw_err_oom(x->err);
	}
	x->n_seqs++;
	return 0;
}

static int seq_row(struct pgw_cat_ctx *x, const PGresult *r)
{
	struct pgw_buf sql = PGW_BUF_INIT, key = PGW_BUF_INIT,
	               on = PGW_BUF_INIT;
	unsigned oid = OID(0);
	const char *q = V(3), *owner = V(4);
	char dep = V(15)[0];
	int error = 0;
	size_t it;

	pgw_buf_printf(&on, "SEQUENCE %s", q);
	key3(&key, V(1), V(2), NULL);
	if (dep == 'i') {
		/* an identity column's: created with its table */
		struct pgw_cat_rel *t = rel_find(x, PGW_CAT_CLASS, OID(16));

		if (t) {
			pgw_catalog__acl(&t->after, "", on.ptr, owner, OPT(5),
			                 NULL);
			pgw_catalog__comment(&t->after, on.ptr, OPT(6));
		}
		error = pgw_catalog__alias(x, PGW_CAT_CLASS, oid, PGW_CAT_CLASS,
		                           OID(16), true, true);
		goto values;
	}
	pgw_buf_printf(&sql,
	               "CREATE %sSEQUENCE %s\n    AS %s\n    START WITH %s\n"
	               "    INCREMENT BY %s\n    MINVALUE %s\n    MAXVALUE %s\n"
	               "    CACHE %s%s;\n",
	               V(7)[0] == 'u' ? "UNLOGGED " : "", q, V(8), V(9), V(10),
	               V(11), V(12), V(13), B(14) ? "\n    CYCLE" : "");
	pgw_buf_printf(&sql, "ALTER SEQUENCE %s OWNER TO %s;\n", q, owner);
	pgw_catalog__acl(&sql, "", on.ptr, owner, OPT(5), NULL);
	pgw_catalog__comment(&sql, on.ptr, OPT(6));
	it = item_add(x, PGW_CAT_PRE, PGW_PRIO_SEQUENCE, &key, &sql,
	              PGW_CAT_CLASS, oid);
	if (it == PGW_CAT_NONE) {
		error = x->err->code;
		goto done;
	}
	/* OWNED BY is no creation order: the table's default needs the
	 * sequence first, OWNED BY needs the table */
	x->items[it].ignore_auto = true;
	if (dep == 'a') {
		size_t ob;

		pgw_buf_reset(&sql);
		pgw_buf_printf(&sql, "ALTER SEQUENCE %s OWNED BY %s.%s;\n", q,
		               V(18), V(17));
		ob = item_add(x, PGW_CAT_PRE, PGW_PRIO_OWNED_BY, &key, &sql, 0,
		              0);
		if (ob == PGW_CAT_NONE ||
		    pgw_catalog__dep(x, &x->items[ob].deps, it) ||
		    pgw_catalog__dep_later(x, ob, PGW_CAT_CLASS, OID(16))) {
			error = x->err->code;
			goto done;
		}
	}
	if (dep == 'a' && B(21)) {
		/* dropped with its table */
		error = pgw_catalog__alias(x, PGW_CAT_CLASS, oid, PGW_CAT_CLASS,
		                           OID(16), false, true);
	} else {
		pgw_buf_reset(&sql);
		pgw_buf_printf(&sql, "DROP SEQUENCE %s;", q);
		if (unit_add(x, PGW_DROP_SEQUENCE, key.ptr, V(19), V(20), &sql,
		             PGW_CAT_CLASS, oid) == PGW_CAT_NONE)
			error = x->err->code;
	}
values:
	if (!error)
		error = add_seq(x, q, V(22), oid);
done:
	pgw_buf_release(&sql);
	pgw_buf_release(&key);
	pgw_buf_release(&on);
	return error;
}

static int seqval_row(struct pgw_cat_ctx *x, const PGresult *r)
{
	size_t i = (size_t)strtoul(V(0), NULL, 10);
	struct pgw_buf sql = PGW_BUF_INIT, key = PGW_BUF_INIT;
	size_t it;

	if (i >= x->n_seqs)
		return 0;
	pgw_buf_printf(&sql, "SELECT pg_catalog.setval(%s, %s, %s);\n",
	               x->seqs[i].lit, V(1), B(2) ? "true" : "false");
	pgw_buf_printf(&key, "%s", x->seqs[i].q);
	it = item_add(x, PGW_CAT_POST, PGW_PRIO_SETVAL, &key, &sql, 0, 0);
	pgw_buf_release(&key);
	if (it == PGW_CAT_NONE)
		return x->err->code;
	return pgw_catalog__dep_later(x, it, PGW_CAT_CLASS, x->seqs[i].oid);
}

/* Every sequence's current value, a few hundred sequences a query. */
static int read_seq_values(struct pgw_cat_ctx *x)
{
	struct pgw_buf sql = PGW_BUF_INIT;
	size_t i, j;
	int error = 0;

	for (i = 0; i < x->n_seqs && !error; i += 200) {
		pgw_buf_reset(&sql);
		for (j = i; j < x->n_seqs && j < i + 200; j++)
			pgw_buf_printf(
			        &sql,
			        "%sSELECT %zu, last_value, is_called FROM %s",
			        j > i ? " UNION ALL " : "", j, x->seqs[j].q);
		pgw_buf_puts(&sql, " ORDER BY 1");
		if (pgw_buf_oom(&sql)) {
			error = pgw_err_oom(x->err);
			break;
		}
		error = pgw_catalog__each_params(x, sql.ptr, 0, NULL,
		                                 seqval_row);
	}
	pgw_buf_release(&sql);
	return error;
}

/* ---------------------------------------------------------------------- */
/* the relations' and domains' statements, once columns and checks are in */

static int finish_rels(struct pgw_cat_ctx *x)
{
	struct pgw_buf sql = PGW_BUF_INIT, key = PGW_BUF_INIT;
	size_t i;
	int error = 0;

	for (i = 0; i < x->n_rels && !error; i++) {
		struct pgw_cat_rel *t = &x->rels[i];
		int prio;
		unsigned classid = PGW_CAT_CLASS;

		pgw_buf_reset(&sql);
		switch (t->kind) {
		case 'T':
			pgw_buf_printf(&sql, "%s%s;\n", t->head, t->cols.ptr);
			prio = PGW_PRIO_TYPE;
			classid = PGW_CAT_TYPE;
			break;
		case 'v':
			pgw_buf_puts(&sql, t->head);
			prio = PGW_PRIO_VIEW;
			break;
		case 'm':
			pgw_buf_puts(&sql, t->head);
			prio = PGW_PRIO_MATVIEW;
			break;
		case 'c':
			pgw_buf_printf(&sql, "%s%s\n%s;\n", t->head,
			               t->cols.ptr, t->tail);
			prio = PGW_PRIO_TYPE;
			break;
		default:
			pgw_buf_printf(&sql, "%s%s\n%s;\n", t->head,
			               t->cols.ptr, t->tail);
			prio = PGW_PRIO_TABLE;
			break;
		}
		pgw_buf_puts(&sql, t->after.ptr);
		if (pgw_buf_oom(&t->cols) || pgw_buf_oom(&t->after) ||
		    pgw_buf_oom(&t->copy)) {
			error = pgw_err_oom(x->err);
			break;
		}
		key3(&key, t->nsp, t->name, NULL);
		t->item = item_add(x, PGW_CAT_PRE, prio, &key, &sql, classid,
		                   t->oid);
		if (t->item == PGW_CAT_NONE) {
			error = x->err->code;
			break;
		}
		if (t->kind == 'm' && t->sub == 'p') {
			size_t rf;

			pgw_buf_printf(&sql, "REFRESH MATERIALIZED VIEW %s;\n",
			               t->q);
			rf = item_add(x, PGW_CAT_POST, PGW_PRIO_REFRESH, &key,
			              &sql, 0, 0);
			if (rf == PGW_CAT_NONE ||
			    pgw_catalog__dep(x, &x->items[rf].deps, t->item)) {
				error = x->err->code;
				break;
			}
			x->items[t->item].refresh = rf;
		}
	}
	pgw_buf_release(&sql);
	pgw_buf_release(&key);
	return error;
}

/* ---------------------------------------------------------------------- */
/* functions, procedures, aggregates */

/* clang-format off */
static const char funcs_sql[] =
	"SELECT p.oid, p.prokind, n.nspname, p.proname,"
	" " PGW_CAT_QNAME("n.nspname", "p.proname") ","
	" pg_get_function_identity_arguments(p.oid),"
	" quote_ident(pg_get_userbyid(p.proowner)),"
	" " PGW_CAT_ACL("p.proacl") ","
	" " PGW_CAT_DESCR("'pg_proc'::regclass", "p.oid", "0") ","
	" CASE WHEN p.prokind <> 'a' THEN pg_get_functiondef(p.oid) END,"
	" pg_get_function_arguments(p.oid), i.type, i.identity,"
	" a.aggkind, a.aggtransfn::regproc::text, format_type(a.aggtranstype, NULL),"
	" a.aggtransspace,"
	" CASE WHEN a.aggfinalfn <> 0 THEN a.aggfinalfn::regproc::text END,"
	" a.aggfinalextra, a.aggfinalmodify,"
	" CASE WHEN a.aggcombinefn <> 0 THEN a.aggcombinefn::regproc::text END,"
	" CASE WHEN a.aggserialfn <> 0 THEN a.aggserialfn::regproc::text END,"
	" CASE WHEN a.aggdeserialfn <> 0 THEN a.aggdeserialfn::regproc::text END,"
	" CASE WHEN a.aggmtransfn <> 0 THEN a.aggmtransfn::regproc::text END,"
	" CASE WHEN a.aggminvtransfn <> 0 THEN a.aggminvtransfn::regproc::text END,"
	" CASE WHEN a.aggmtranstype <> 0 THEN format_type(a.aggmtranstype, NULL) END,"
	" a.aggmtransspace,"
	" CASE WHEN a.aggmfinalfn <> 0 THEN a.aggmfinalfn::regproc::text END,"
	" a.aggmfinalextra, a.aggmfinalmodify,"
	" (SELECT 'OPERATOR(' || quote_ident(opn.nspname) || '.' || op.oprname"
	"  || ')' FROM pg_operator op JOIN pg_namespace opn"
	"  ON opn.oid = op.oprnamespace WHERE op.oid = a.aggsortop),"
	" quote_literal(a.agginitval), quote_literal(a.aggminitval),"
	" p.proparallel"
	" FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace"
	" LEFT JOIN pg_aggregate a ON a.aggfnoid = p.oid,"
	" LATERAL pg_identify_object('pg_proc'::regclass, p.oid, 0) i"
	" WHERE p.pronamespace = ANY($1::oid[])"
	" AND p.prokind IN ('f', 'p', 'a', 'w')"
	/* a range type's
                                                                 constructors
                                                                 come with it */
	" AND NOT EXISTS (SELECT 1 FROM pg_depend e"
	"  WHERE e.classid = 'pg_proc'::regclass AND e.objid = p.oid"
	"  AND e.deptype IN ('e', 'i'))";
/* clang-format on */

static const char *modify_kw(char m)
{
	return m == 's' ? "SHAREABLE" : m == 'w' ? "READ_WRITE" : "READ_ONLY";
}

static void aggregate_sql(struct pgw_buf *b, const PGresult *r, const char *q)
{
	const char *args = V(10);

	pgw_buf_printf(
	        b, "CREATE AGGREGATE %s(%s) (\n    SFUNC = %s,\n    STYPE = %s",
	        q, args[0] ? args : "*", V(14), V(15));
	if (atoi(V(16)))
		pgw_buf_printf(b, ",\n    SSPACE = %s", V(16));
	if (OPT(17))
		pgw_buf_printf(b, ",\n    FINALFUNC = %s", V(17));
	if (B(18))
		pgw_buf_puts(b, ",\n    FINALFUNC_EXTRA");
	pgw_buf_printf(b, ",\n    FINALFUNC_MODIFY = %s", modify_kw(V(19)[0]));
	if (OPT(20))
		pgw_buf_printf(b, ",\n    COMBINEFUNC = %s", V(20));
	if (OPT(21))
		pgw_buf_printf(b, ",\n    SERIALFUNC = %s", V(21));
	if (OPT(22))
		pgw_buf_printf(b, ",\n    DESERIALFUNC = %s", V(22));
	if (OPT(31))
		pgw_buf_printf(b, ",\n    INITCOND = %s", V(31));
	if (OPT(23)) {
		pgw_buf_printf(b, ",\n    MSFUNC = %s", V(23));
		if (OPT(24))
			pgw_buf_printf(b, ",\n    MINVFUNC = %s", V(24));
		if (OPT(25))
			pgw_buf_printf(b, ",\n    MSTYPE = %s", V(25));
		if (atoi(V(26)))
			pgw_buf_printf(b, ",\n    MSSPACE = %s", V(26));
		if (OPT(27))
			pgw_buf_printf(b, ",\n    MFINALFUNC = %s", V(27));
		if (B(28))
			pgw_buf_puts(b, ",\n    MFINALFUNC_EXTRA");
		pgw_buf_printf(b, ",\n    MFINALFUNC_MODIFY = %s",
		               modify_kw(V(29)[0]));
		if (OPT(32))
			pgw_buf_printf(b, ",\n    MINITCOND = %s", V(32));
	}
	if (OPT(30))
		pgw_buf_printf(b, ",\n    SORTOP = %s", V(30));
	if (V(33)[0] == 's')
		pgw_buf_puts(b, ",\n    PARALLEL = SAFE");
	else if (V(33)[0] == 'r')
		pgw_buf_puts(b, ",\n    PARALLEL = RESTRICTED");
	if (V(13)[0] == 'h')
		pgw_buf_puts(b, ",\n    HYPOTHETICAL");
	pgw_buf_puts(b, "\n);\n");
}

static int func_row(struct pgw_cat_ctx *x, const PGresult *r)
{
	struct pgw_buf sql = PGW_BUF_INIT, key = PGW_BUF_INIT,
	               sig = PGW_BUF_INIT, on = PGW_BUF_INIT;
	unsigned oid = OID(0);
	char kind = V(1)[0];
	const char *q = V(4), *args = V(5), *owner = V(6);
	const char *kw = kind == 'p'   ? "PROCEDURE"
	                 : kind == 'a' ? "AGGREGATE"
	                               : "FUNCTION";
	int error = 0;

	pgw_buf_printf(&sig, "%s(%s)", q, kind == 'a' && !args[0] ? "*" : args);
	if (kind == 'a') {
		aggregate_sql(&sql, r, q);
	} else {
		const char *def = V(9);
		size_t n = strlen(def);

		while (n && (def[n - 1] == '\n' || def[n - 1] == ' '))
			n--;
		pgw_buf_put(&sql, def, n);
		pgw_buf_puts(&sql, ";\n");
	}
	pgw_buf_printf(&sql, "ALTER %s %s OWNER TO %s;\n", kw, sig.ptr, owner);
	/* GRANT takes an aggregate as a function, with no "*" */
	pgw_buf_printf(&on, "%s %s(%s)", kind == 'p' ? "PROCEDURE" : "FUNCTION",
	               q, args);
	pgw_catalog__acl(&sql, "", on.ptr, owner, OPT(7), NULL);
	pgw_buf_reset(&on);
	pgw_buf_printf(&on, "%s %s", kw, sig.ptr);
	pgw_catalog__comment(&sql, on.ptr, OPT(8));
	key3(&key, V(2), V(3), args);
	if (item_add(x, PGW_CAT_PRE, PGW_PRIO_FUNCTION, &key, &sql,
	             PGW_CAT_PROC, oid) == PGW_CAT_NONE) {
		error = x->err->code;
		goto done;
	}
	pgw_buf_reset(&sql);
	pgw_buf_printf(&sql, "DROP %s %s;", kw, sig.ptr);
	if (pgw_buf_oom(&sig) ||
	    unit_add(x, PGW_DROP_FUNCTION, key.ptr, V(11), V(12), &sql,
	             PGW_CAT_PROC, oid) == PGW_CAT_NONE)
		error = x->err->code ? x->err->code : pgw_err_oom(x->err);
done:
	pgw_buf_release(&sql);
	pgw_buf_release(&key);
	pgw_buf_release(&sig);
	pgw_buf_release(&on);
	return error;
}

/* ---------------------------------------------------------------------- */
/* keys, unique and exclusion constraints, foreign keys */

/* clang-format off */
static const char cons_sql[] =
	"SELECT con.oid, con.contype, con.conrelid, quote_ident(con.conname),"
	" " PGW_CAT_QNAME("n.nspname", "c.relname") ", c.relkind,"
	" pg_get_constraintdef(con.oid), con.conindid, con.conparentid,"
	" (SELECT " PGW_CAT_QNAME("pin.nspname", "pic.relname")
	"  FROM pg_constraint pcon JOIN pg_class pic ON pic.oid = pcon.conindid"
	"  JOIN pg_namespace pin ON pin.oid = pic.relnamespace"
	"  WHERE pcon.oid = con.conparentid),"
	" " PGW_CAT_QNAME("n.nspname", "ic.relname") ","
	" ix.indisclustered, ix.indisreplident,"
	" " PGW_CAT_DESCR("'pg_constraint'::regclass", "con.oid", "0") ","
	" " PGW_CAT_DESCR(CLS, "con.conindid", "0") ","
	" n.nspname, c.relname, con.conname, i.type, i.identity,"
	" quote_ident(ic.relname),"
	" (SELECT quote_ident(spcname) FROM pg_tablespace"
	"  WHERE oid = ic.reltablespace)"
	" FROM pg_constraint con JOIN pg_class c ON c.oid = con.conrelid"
	" JOIN pg_namespace n ON n.oid = c.relnamespace"
	" LEFT JOIN pg_index ix ON ix.indexrelid = con.conindid"
	"  AND con.contype IN ('p', 'u', 'x')"
	" LEFT JOIN pg_class ic ON ic.oid = ix.indexrelid,"
	" LATERAL pg_identify_object('pg_constraint'::regclass, con.oid, 0) i"
	" WHERE c.relnamespace = ANY($1::oid[])"
	" AND con.contype IN ('p', 'u', 'x', 'f')";
/* clang-format on */

static int con_row(struct pgw_cat_ctx *x, const PGresult *r)
{
	struct pgw_buf sql = PGW_BUF_INIT, key = PGW_BUF_INIT,
	               what = PGW_BUF_INIT;
	unsigned oid = OID(0);
	char type = V(1)[0];
	struct pgw_cat_rel *t = rel_find(x, PGW_CAT_CLASS, OID(2));
	const char *name = V(3), *tq = V(4);
	size_t it;
	int error = 0;

	if (!t || (t->kind != 'r' && t->kind != 'p'))
		return 0;
	key3(&key, V(15), V(16), V(17));
	if (type == 'f') {
		if (OID(8)) {
			/* a partition's copy of its parent's key */
			error = pgw_catalog__alias(x, PGW_CAT_CONSTRAINT, oid,
			                           PGW_CAT_CONSTRAINT, OID(8),
			                           true, true);
			goto done;
		}
		pgw_buf_printf(&sql, "ALTER TABLE %s%s ADD CONSTRAINT %s %s;\n",
		               V(5)[0] == 'p' ? "" : "ONLY ", tq, name, V(6));
		pgw_buf_printf(&what, "CONSTRAINT %s ON %s", name, tq);
		pgw_catalog__comment(&sql, what.ptr, OPT(13));
		if (item_add(x, PGW_CAT_POST, PGW_PRIO_FKEY, &key, &sql,
		             PGW_CAT_CONSTRAINT, oid) == PGW_CAT_NONE) {
			error = x->err->code;
			goto done;
		}
		pgw_buf_reset(&sql);
		pgw_buf_printf(&sql, "ALTER TABLE %s DROP CONSTRAINT %s;", tq,
		               name);
		if (unit_add(x, PGW_DROP_FKEY, key.ptr, V(18), V(19), &sql,
		             PGW_CAT_CONSTRAINT, oid) == PGW_CAT_NONE)
			error = x->err->code;
		goto done;
	}
	/* the index's tablespace: not in pg_get_constraintdef */
	if (OPT(21))
		pgw_buf_printf(&sql, "SET default_tablespace = %s;\n", V(21));
	pgw_buf_printf(&sql, "ALTER TABLE ONLY %s ADD CONSTRAINT %s %s;\n", tq,
	               name, V(6));
	if (OPT(21))
		pgw_buf_puts(&sql, "SET default_tablespace = '';\n");
	if (OID(8) && OPT(9))
		pgw_buf_printf(&sql, "ALTER INDEX %s ATTACH PARTITION %s;\n",
		               V(9), V(10));
	if (B(11))
		pgw_buf_printf(&sql, "ALTER TABLE %s CLUSTER ON %s;\n", tq,
		               V(20));
	if (B(12))
		pgw_buf_printf(
		        &sql,
		        "ALTER TABLE ONLY %s REPLICA IDENTITY USING INDEX %s;\n",
		        tq, V(20));
	pgw_buf_printf(&what, "CONSTRAINT %s ON %s", name, tq);
	pgw_catalog__comment(&sql, what.ptr, OPT(13));
	pgw_buf_reset(&what);
	pgw_buf_printf(&what, "INDEX %s", V(10));
	pgw_catalog__comment(&sql, what.ptr, OPT(14));
	it = item_add(x, PGW_CAT_POST, PGW_PRIO_KEY, &key, &sql,
	              PGW_CAT_CONSTRAINT, oid);
	if (it == PGW_CAT_NONE) {
		error = x->err->code;
		goto done;
	}
	if (OID(8))
		error = pgw_catalog__dep_later(x, it, PGW_CAT_CONSTRAINT,
		                               OID(8));
	if (!error && OID(7))
		error = pgw_catalog__alias(x, PGW_CAT_CLASS, OID(7),
		                           PGW_CAT_CONSTRAINT, oid, true,
		                           false);
	if (!error && OID(7))
		error = pgw_catalog__alias(x, PGW_CAT_CLASS, OID(7),
		                           PGW_CAT_CLASS, t->oid, false, true);
	if (!error)
		error = pgw_catalog__alias(x, PGW_CAT_CONSTRAINT, oid,
		                           PGW_CAT_CLASS, t->oid, false, true);
done:
	pgw_buf_release(&sql);
	pgw_buf_release(&key);
	pgw_buf_release(&what);
	return error;
}

/* ---------------------------------------------------------------------- */
/* indexes that are not a constraint's */

/* clang-format off */
static const char idx_sql[] =
	"SELECT ix.indexrelid, ix.indrelid, ic.relkind,"
	" pg_get_indexdef(ix.indexrelid),"
	" " PGW_CAT_QNAME("n.nspname", "ic.relname") ","
	" " PGW_CAT_QNAME("n.nspname", "tc.relname") ","
	" (SELECT quote_ident(spcname) FROM pg_tablespace"
	"  WHERE oid = ic.reltablespace),"
	" ix.indisclustered, ix.indisreplident,"
	" (SELECT " PGW_CAT_QNAME("pn.nspname", "pc.relname")
	"  FROM pg_inherits ih JOIN pg_class pc ON pc.oid = ih.inhparent"
	"  JOIN pg_namespace pn ON pn.oid = pc.relnamespace"
	"  WHERE ih.inhrelid = ix.indexrelid),"
	" (SELECT ih.inhparent FROM pg_inherits ih"
	"  WHERE ih.inhrelid = ix.indexrelid),"
	" " PGW_CAT_DESCR(CLS, "ix.indexrelid", "0") ","
	" (SELECT string_agg(format('ALTER INDEX %s ALTER COLUMN %s SET"
	" STATISTICS %s;', " PGW_CAT_QNAME("n.nspname", "ic.relname") ","
	"  a.attnum, a.attstattarget), E'\\n' ORDER BY a.attnum)"
	"  FROM pg_attribute a WHERE a.attrelid = ix.indexrelid"
	"  AND a.attstattarget >= 0),"
	" n.nspname, ic.relname, quote_ident(ic.relname)"
	" FROM pg_index ix JOIN pg_class ic ON ic.oid = ix.indexrelid"
	" JOIN pg_class tc ON tc.oid = ix.indrelid"
	" JOIN pg_namespace n ON n.oid = ic.relnamespace"
	" WHERE tc.relnamespace = ANY($1::oid[])"
	" AND ix.indislive AND (ix.indisvalid OR ic.relkind = 'I')"
	" AND NOT EXISTS (SELECT 1 FROM pg_constraint con"
	"  WHERE con.conindid = ix.indexrelid AND con.conrelid = ix.indrelid"
	"  AND con.contype IN ('p', 'u', 'x'))"
	" AND " PGW_CAT_NOT_EXT(CLS, "ix.indexrelid");
/* clang-format on */

static int idx_row(struct pgw_cat_ctx *x, const PGresult *r)
{
	struct pgw_buf sql = PGW_BUF_INIT, key = PGW_BUF_INIT,
	               what = PGW_BUF_INIT;
	unsigned oid = OID(0);
	struct pgw_cat_rel *t = rel_find(x, PGW_CAT_CLASS, OID(1));
	const char *q = V(4), *tq = V(5);
	size_t it;
	int error = 0;

	if (!t || (t->kind != 'r' && t->kind != 'p' && t->kind != 'm'))
		return 0;
	if (OPT(6))
		pgw_buf_printf(&sql, "SET default_tablespace = %s;\n", V(6));
	pgw_buf_printf(&sql, "%s;\n", V(3));
	if (OPT(6))
		pgw_buf_puts(&sql, "SET default_tablespace = '';\n");
	if (OPT(9))
		pgw_buf_printf(&sql, "ALTER INDEX %s ATTACH PARTITION %s;\n",
		               V(9), q);
	if (B(7))
		pgw_buf_printf(&sql, "ALTER TABLE %s CLUSTER ON %s;\n", tq,
		               V(15));
	if (B(8))
		pgw_buf_printf(
		        &sql,
		        "ALTER TABLE ONLY %s REPLICA IDENTITY USING INDEX %s;\n",
		        tq, V(15));
	if (OPT(12))
		pgw_buf_printf(&sql, "%s\n", V(12));
	pgw_buf_printf(&what, "INDEX %s", q);
	pgw_catalog__comment(&sql, what.ptr, OPT(11));
	key3(&key, V(13), V(14), NULL);
	it = item_add(x, PGW_CAT_POST, PGW_PRIO_INDEX, &key, &sql,
	              PGW_CAT_CLASS, oid);
	if (it == PGW_CAT_NONE) {
		error = x->err->code;
		goto done;
	}
	if (OID(10))
		error = pgw_catalog__dep_later(x, it, PGW_CAT_CLASS, OID(10));
	if (!error)
		error = pgw_catalog__alias(x, PGW_CAT_CLASS, oid, PGW_CAT_CLASS,
		                           t->oid, false, true);
done:
	pgw_buf_release(&sql);
	pgw_buf_release(&key);
	pgw_buf_release(&what);
	return error;
}

/* ---------------------------------------------------------------------- */
/* triggers, rules, policies, row-level security, statistics objects */

/* clang-format off */
static const char trig_sql[] =
	"SELECT t.oid, t.tgrelid, quote_ident(t.tgname),"
	" " PGW_CAT_QNAME("n.nspname", "c.relname") ","
	" pg_get_triggerdef(t.oid), t.tgenabled,"
	" " PGW_CAT_DESCR("'pg_trigger'::regclass", "t.oid", "0") ","
	" n.nspname, c.relname, t.tgname, i.type, i.identity, t.tgconstraint"
	" FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid"
	" JOIN pg_namespace n ON n.oid = c.relnamespace,"
	" LATERAL pg_identify_object('pg_trigger'::regclass, t.oid, 0) i"
	" WHERE c.relnamespace = ANY($1::oid[]) AND NOT t.tgisinternal"
	" AND t.tgparentid = 0";
/* clang-format on */

static const char *enable_kw(char state)
{
	switch (state) {
	case 'D':
		return "DISABLE";
	case 'R':
		return "ENABLE REPLICA";
	case 'A':
		return "ENABLE ALWAYS";
	default:
		return NULL;
	}
}

static int trig_row(struct pgw_cat_ctx *x, const PGresult *r)
{
	struct pgw_buf sql = PGW_BUF_INIT, key = PGW_BUF_INIT,
	               what = PGW_BUF_INIT;
	unsigned oid = OID(0);
	const char *name = V(2), *tq = V(3), *state = enable_kw(V(5)[0]);
	int error = 0;

	if (!rel_find(x, PGW_CAT_CLASS, OID(1)))
		return 0;
	pgw_buf_printf(&sql, "%s;\n", V(4));
	if (state)
		pgw_buf_printf(&sql, "ALTER TABLE %s %s TRIGGER %s;\n", tq,
		               state, name);
	pgw_buf_printf(&what, "TRIGGER %s ON %s", name, tq);
	pgw_catalog__comment(&sql, what.ptr, OPT(6));
	key3(&key, V(7), V(8), V(9));
	if (item_add(x, PGW_CAT_POST, PGW_PRIO_TRIGGER, &key, &sql,
	             PGW_CAT_TRIGGER, oid) == PGW_CAT_NONE) {
		error = x->err->code;
		goto done;
	}
	pgw_buf_reset(&sql);
	pgw_buf_printf(&sql, "DROP TRIGGER %s ON %s;", name, tq);
	if (unit_add(x, PGW_DROP_TRIGGER, key.ptr, V(10), V(11), &sql,
	             PGW_CAT_TRIGGER, oid) == PGW_CAT_NONE) {
		error = x->err->code;
		goto done;
	}
	/* a constraint trigger's constraint */
	if (OID(12))
		error = pgw_catalog__alias(x, PGW_CAT_CONSTRAINT, OID(12),
		                           PGW_CAT_TRIGGER, oid, true, true);
done:
	pgw_buf_release(&sql);
	pgw_buf_release(&key);
	pgw_buf_release(&what);
	return error;
}

/* clang-format off */
static const char rule_sql[] =
	"SELECT rw.oid, rw.ev_class, quote_ident(rw.rulename),"
	" " PGW_CAT_QNAME("n.nspname", "c.relname") ","
	" pg_get_ruledef(rw.oid), rw.ev_enabled,"
	" " PGW_CAT_DESCR("'pg_rewrite'::regclass", "rw.oid", "0") ","
	" n.nspname, c.relname, rw.rulename, i.type, i.identity"
	" FROM pg_rewrite rw JOIN pg_class c ON c.oid = rw.ev_class"
	" JOIN pg_namespace n ON n.oid = c.relnamespace,"
	" LATERAL pg_identify_object('pg_rewrite'::regclass, rw.oid, 0) i"
	" WHERE c.relnamespace = ANY($1::oid[]) AND rw.rulename <> '_RETURN'";
/* clang-format on */

static int rule_row(struct pgw_cat_ctx *x, const PGresult *r)
{
	struct pgw_buf sql = PGW_BUF_INIT, key = PGW_BUF_INIT,
	               what = PGW_BUF_INIT;
	unsigned oid = OID(0);
	const char *name = V(2), *tq = V(3), *state = enable_kw(V(5)[0]);
	int error = 0;

	if (!rel_find(x, PGW_CAT_CLASS, OID(1)))
		return 0;
	pgw_buf_printf(&sql, "%s\n", V(4));
	if (state)
		pgw_buf_printf(&sql, "ALTER TABLE %s %s RULE %s;\n", tq, state,
		               name);
	pgw_buf_printf(&what, "RULE %s ON %s", name, tq);
	pgw_catalog__comment(&sql, what.ptr, OPT(6));
	key3(&key, V(7), V(8), V(9));
	if (item_add(x, PGW_CAT_POST, PGW_PRIO_RULE, &key, &sql,
	             PGW_CAT_REWRITE, oid) == PGW_CAT_NONE) {
		error = x->err->code;
		goto done;
	}
	pgw_buf_reset(&sql);
	pgw_buf_printf(&sql, "DROP RULE %s ON %s;", name, tq);
	if (unit_add(x, PGW_DROP_RULE, key.ptr, V(10), V(11), &sql,
	             PGW_CAT_REWRITE, oid) == PGW_CAT_NONE)
		error = x->err->code;
done:
	pgw_buf_release(&sql);
	pgw_buf_release(&key);
	pgw_buf_release(&what);
	return error;
}

/* clang-format off */
static const char pol_sql[] =
	"SELECT p.oid, p.polrelid, quote_ident(p.polname),"
	" " PGW_CAT_QNAME("n.nspname", "c.relname") ","
	" p.polcmd, p.polpermissive,"
	" (SELECT string_agg(CASE WHEN u.r = 0 THEN 'PUBLIC'"
	"  ELSE quote_ident(pg_get_userbyid(u.r)) END, ', ' ORDER BY u.k)"
	"  FROM unnest(p.polroles) WITH ORDINALITY AS u(r, k)),"
	" pg_get_expr(p.polqual, p.polrelid),"
	" pg_get_expr(p.polwithcheck, p.polrelid),"
	" " PGW_CAT_DESCR("'pg_policy'::regclass", "p.oid", "0") ","
	" n.nspname, c.relname, p.polname, i.type, i.identity"
	" FROM pg_policy p JOIN pg_class c ON c.oid = p.polrelid"
	" JOIN pg_namespace n ON n.oid = c.relnamespace,"
	" LATERAL pg_identify_object('pg_policy'::regclass, p.oid, 0) i"
	" WHERE c.relnamespace = ANY($1::oid[])";
/* clang-format on */

static int pol_row(struct pgw_cat_ctx *x, const PGresult *r)
{
	struct pgw_buf sql = PGW_BUF_INIT, key = PGW_BUF_INIT,
	               what = PGW_BUF_INIT;
	unsigned oid = OID(0);
	const char *name = V(2), *tq = V(3);
	const char *cmd;
	int error = 0;

	if (!rel_find(x, PGW_CAT_CLASS, OID(1)))
		return 0;
	switch (V(4)[0]) {
	case 'r':
		cmd = "SELECT";
		break;
	case 'a':
		cmd = "INSERT";
		break;
	case 'w':
		cmd = "UPDATE";
		break;
	case 'd':
		cmd = "DELETE";
		break;
	default:
		cmd = "ALL";
		break;
	}
	pgw_buf_printf(&sql, "CREATE POLICY %s ON %s AS %s FOR %s TO %s", name,
	               tq, B(5) ? "PERMISSIVE" : "RESTRICTIVE", cmd,
	               OPT(6) ? V(6) : "PUBLIC");
	if (OPT(7))
		pgw_buf_printf(&sql, " USING (%s)", V(7));
	if (OPT(8))
		pgw_buf_printf(&sql, " WITH CHECK (%s)", V(8));
	pgw_buf_puts(&sql, ";\n");
	pgw_buf_printf(&what, "POLICY %s ON %s", name, tq);
	pgw_catalog__comment(&sql, what.ptr, OPT(9));
	key3(&key, V(10), V(11), V(12));
	if (item_add(x, PGW_CAT_POST, PGW_PRIO_POLICY, &key, &sql,
	             PGW_CAT_POLICY, oid) == PGW_CAT_NONE) {
		error = x->err->code;
		goto done;
	}
	pgw_buf_reset(&sql);
	pgw_buf_printf(&sql, "DROP POLICY %s ON %s;", name, tq);
	if (unit_add(x, PGW_DROP_POLICY, key.ptr, V(13), V(14), &sql,
	             PGW_CAT_POLICY, oid) == PGW_CAT_NONE)
		error = x->err->code;
done:
	pgw_buf_release(&sql);
	pgw_buf_release(&key);
	pgw_buf_release(&what);
	return error;
}

/* clang-format off */
static const char rls_sql[] =
	"SELECT c.oid, " PGW_CAT_QNAME("n.nspname", "c.relname") ","
	" c.relrowsecurity, c.relforcerowsecurity, n.nspname, c.relname"
	" FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
	" WHERE c.relnamespace = ANY($1::oid[])"
	" AND (c.relrowsecurity OR c.relforcerowsecurity)";
/* clang-format on */

static int rls_row(struct pgw_cat_ctx *x, const PGresult *r)
{
	struct pgw_buf sql = PGW_BUF_INIT, key = PGW_BUF_INIT;
	struct pgw_cat_rel *t = rel_find(x, PGW_CAT_CLASS, OID(0));
	size_t it;

	if (!t || t->item == PGW_CAT_NONE)
		return 0;
	if (B(2))
		pgw_buf_printf(&sql,
		               "ALTER TABLE %s ENABLE ROW LEVEL SECURITY;\n",
		               V(1));
	if (B(3))
		pgw_buf_printf(&sql,
		               "ALTER TABLE %s FORCE ROW LEVEL SECURITY;\n",
		               V(1));
	key3(&key, V(4), V(5), NULL);
	it = item_add(x, PGW_CAT_POST, PGW_PRIO_RLS, &key, &sql, 0, 0);
	pgw_buf_release(&key);
	if (it == PGW_CAT_NONE)
		return x->err->code;
	return pgw_catalog__dep(x, &x->items[it].deps, t->item);
}

/* clang-format off */
static const char stats_sql[] =
	"SELECT s.oid, pg_get_statisticsobjdef(s.oid),"
	" " PGW_CAT_QNAME("n.nspname", "s.stxname") ","
	" quote_ident(pg_get_userbyid(s.stxowner)), s.stxstattarget,"
	" " PGW_CAT_DESCR("'pg_statistic_ext'::regclass", "s.oid", "0") ","
	" n.nspname, s.stxname, i.type, i.identity"
	" FROM pg_statistic_ext s JOIN pg_namespace n ON n.oid = s.stxnamespace,"
	" LATERAL pg_identify_object('pg_statistic_ext'::regclass, s.oid, 0) i"
	" WHERE s.stxnamespace = ANY($1::oid[])"
	" AND " PGW_CAT_NOT_EXT("'pg_statistic_ext'::regclass", "s.oid");
/* clang-format on */

static int stats_row(struct pgw_cat_ctx *x, const PGresult *r)
{
	struct pgw_buf sql = PGW_BUF_INIT, key = PGW_BUF_INIT,
	               what = PGW_BUF_INIT;
	unsigned oid = OID(0);
	const char *q = V(2);
	int error = 0;

	pgw_buf_printf(&sql, "%s;\n", V(1));
	if (atoi(V(4)) >= 0)
		pgw_buf_printf(&sql, "ALTER STATISTICS %s SET STATISTICS %s;\n",
		               q, V(4));
	pgw_buf_printf(&sql, "ALTER STATISTICS %s OWNER TO %s;\n", q, V(3));
	pgw_buf_printf(&what, "STATISTICS %s", q);
	pgw_catalog__comment(&sql, what.ptr, OPT(5));
	key3(&key, V(6), V(7), NULL);
	if (item_add(x, PGW_CAT_POST, PGW_PRIO_STATS, &key, &sql,
	             PGW_CAT_STATISTIC_EXT, oid) == PGW_CAT_NONE) {
		error = x->err->code;
		goto done;
	}
	pgw_buf_reset(&sql);
	pgw_buf_printf(&sql, "DROP STATISTICS %s;", q);
	if (unit_add(x, PGW_DROP_TRIGGER, key.ptr, V(8), V(9), &sql,
	             PGW_CAT_STATISTIC_EXT, oid) == PGW_CAT_NONE)
		error = x->err->code;
done:
	pgw_buf_release(&sql);
	pgw_buf_release(&key);
	pgw_buf_release(&what);
	return error;
}

/* ---------------------------------------------------------------------- */
/* default privileges */

/* clang-format off */
static const char defacl_sql[] =
	"SELECT d.oid, quote_ident(pg_get_userbyid(d.defaclrole)),"
	" quote_ident(n.nspname), d.defaclobjtype,"
	" " PGW_CAT_ACL("d.defaclacl") ","
	" i.type, i.identity, pg_get_userbyid(d.defaclrole), n.nspname"
	" FROM pg_default_acl d LEFT JOIN pg_namespace n"
	" ON n.oid = d.defaclnamespace,"
	" LATERAL pg_identify_object('pg_default_acl'::regclass, d.oid, 0) i"
	" WHERE d.defaclnamespace = ANY($1::oid[])"
	" OR (d.defaclnamespace = 0 AND pg_has_role(d.defaclrole, 'MEMBER'))";
/* clang-format on */

static int defacl_row(struct pgw_cat_ctx *x, const PGresult *r)
{
	struct pgw_buf sql = PGW_BUF_INIT, key = PGW_BUF_INIT,
	               prefix = PGW_BUF_INIT;
	unsigned oid = OID(0);
	const char *role = V(1), *acl = OPT(4), *p;
	const char *kw;
	bool global = OPT(2) == NULL;
	int error = 0;

	switch (V(3)[0]) {
	case 'r':
		kw = "TABLES";
		break;
	case 'S':
		kw = "SEQUENCES";
		break;
	case 'f':
		kw = "FUNCTIONS";
		break;
	case 'T':
		kw = "TYPES";
		break;
	case 'n':
		kw = "SCHEMAS";
		break;
	default:
		return 0;
	}
	pgw_buf_printf(&prefix, "ALTER DEFAULT PRIVILEGES FOR ROLE %s ", role);
	if (!global)
		pgw_buf_printf(&prefix, "IN SCHEMA %s ", V(2));
	pgw_catalog__acl(&sql, prefix.ptr, kw, role, acl ? acl : "", NULL);
	key3(&key, global ? "" : V(8), V(7), V(3));
	if (item_add(x, PGW_CAT_PRE, PGW_PRIO_DEFAULT_ACL, &key, &sql,
	             PGW_CAT_DEFAULT_ACL, oid) == PGW_CAT_NONE) {
		error = x->err->code;
		goto done;
	}
	/* "dropping" one: back to the built-in defaults, where the server
	 * removes the entry */
	pgw_buf_reset(&sql);
	for (p = acl ? acl : ""; *p;) {
		size_t n = strcspn(p, "\n");
		const char *t1 = memchr(p, '\t', n), *t2;

		if (t1) {
			t2 = memchr(t1 + 1, '\t', n - (size_t)(t1 + 1 - p));
			if (t2) {
				pgw_buf_printf(&sql, "%sREVOKE ALL ON %s FROM ",
				               prefix.ptr, kw);
				pgw_buf_put(&sql, t1 + 1,
				            (size_t)(t2 - t1 - 1));
				pgw_buf_puts(&sql, ";\n");
			}
		}
		p += n + (p[n] == '\n');
	}
	if (global) {
		pgw_buf_printf(&sql, "%sGRANT ALL ON %s TO %s;\n", prefix.ptr,
		               kw, role);
		if (V(3)[0] == 'f' || V(3)[0] == 'T')
			pgw_buf_printf(&sql, "%sGRANT ALL ON %s TO PUBLIC;\n",
			               prefix.ptr, kw);
	}
	if (!sql.len)
		pgw_buf_puts(&sql, "SELECT 1;");
	if (unit_add(x, PGW_DROP_DEFAULT_ACL, key.ptr, V(5), V(6), &sql,
	             PGW_CAT_DEFAULT_ACL, oid) == PGW_CAT_NONE)
		error = x->err->code;
done:
	pgw_buf_release(&sql);
	pgw_buf_release(&key);
	pgw_buf_release(&prefix);
	return error;
}

/* ---------------------------------------------------------------------- */

int pgw_catalog__read_ddl(struct pgw_cat_ctx *x)
{
	int error;

	error = pgw_catalog__each(x, types_sql, type_row);
	if (!error)
		error = pgw_catalog__each(x, rels_sql, rel_row);
	if (!error)
		error = pgw_catalog__each(x, cols_sql, col_row);
	if (!error)
		error = pgw_catalog__each(x, checks_sql, check_row);
	if (!error)
		error = pgw_catalog__each(x, seqs_sql, seq_row);
	if (!error)
		error = finish_rels(x);
	if (!error)
		error = read_seq_values(x);
	if (!error)
		error = pgw_catalog__each(x, funcs_sql, func_row);
	if (!error)
		error = pgw_catalog__each(x, cons_sql, con_row);
	if (!error)
		error = pgw_catalog__each(x, idx_sql, idx_row);
	if (!error)
		error = pgw_catalog__each(x, trig_sql, trig_row);
	if (!error)
		error = pgw_catalog__each(x, rule_sql, rule_row);
	if (!error)
		error = pgw_catalog__each(x, pol_sql, pol_row);
	if (!error)
		error = pgw_catalog__each(x, rls_sql, rls_row);
	if (!error)
		error = pgw_catalog__each(x, stats_sql, stats_row);
	if (!error)
		error = pgw_catalog__each(x, defacl_sql, defacl_row);
	return error;
}
