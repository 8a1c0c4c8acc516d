/* doctor.c - pgward doctor: index, foreign key, vacuum and session checks,
 * sizes and slow statements, from the catalogs and statistics views.
 * Every query is read-only and runs under the statement and lock
 * timeouts; none of them changes anything. */
#include "doctor.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "pg.h"

/* Marks pgward's own queries, so that pg_stat_statements' list leaves
 * them out. */
#define TAG "/* pgward doctor */ "
/* A timestamp as UTC text, the way pgward shows times. */
#define UTC(e)                                            \
	"pg_catalog.to_char((" e ") AT TIME ZONE 'UTC', " \
	"'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')"
/* Index i (pg_index) starts with the columns of foreign key f, in any
 * order, and is not partial: the referencing side's lookups can use it. */
#define COVERS_FK(i, f)                                                      \
	"(" i ".indisvalid AND " i ".indpred IS NULL AND " i                 \
	".indnkeyatts >= pg_catalog.cardinality(" f ".conkey) AND "          \
	"(pg_catalog.string_to_array(" i ".indkey::pg_catalog.text, ' ')"    \
	"::pg_catalog.int2[])[1:pg_catalog.cardinality(" f ".conkey)] @> " f \
	".conkey AND (pg_catalog.string_to_array(" i                         \
	".indkey::pg_catalog.text, ' ')::pg_catalog.int2[])"                 \
	"[1:pg_catalog.cardinality(" f ".conkey)] <@ " f ".conkey)"
/* Longest query text kept (the human report shortens it further). */
#define QUERY_MAX 1000

/* Schemas of managed platforms (Supabase, Aiven, ...): outside the
 * scope unless the role owns them itself or [backup] schemas names them
 * (the backup's rule, catalog.c). */
/* clang-format off */
static const char platform_schemas[] =
	"{auth,storage,realtime,_realtime,graphql,graphql_public,vault,"
	"pgsodium,pgsodium_masks,supabase_functions,supabase_migrations,"
	"extensions,net,pgbouncer,_analytics,_aiven,cron,pglogical,repack}";
/* clang-format on */

struct ctx {
	PGconn *c;
	const struct pgw_config *cfg;
	const struct pgw_doctor_opts *opts;
	struct pgw_doctor_report *r;
	char *scope; /* oid[] literal of the schemas examined */
	bool track_counts;
	size_t cap; /* of r->findings */
	bool oom;
	struct pgw_err *err;
};

static const char *const level_names[] = { "info", "warning", "error" };

static const struct {
	const char *name, *title;
} checks[PGW_DOCTOR_N_CHECKS] = {
	[PGW_DOCTOR_INVALID_INDEX] = { "invalid_index", "invalid indexes" },
	[PGW_DOCTOR_UNUSED_INDEX] = { "unused_index", "unused indexes" },
	[PGW_DOCTOR_DUPLICATE_INDEX] = { "duplicate_index",
	                                 "duplicate indexes" },
	[PGW_DOCTOR_PREFIX_INDEX] = { "prefix_index",
	                              "indexes that are a prefix of another" },
	[PGW_DOCTOR_FK_WITHOUT_INDEX] = { "fk_without_index",
	                                  "foreign keys without an index" },
	[PGW_DOCTOR_VACUUM] = { "vacuum", "tables needing VACUUM or ANALYZE" },
	[PGW_DOCTOR_LONG_TRANSACTION] = { "long_transaction",
	                                  "long-running transactions" },
	[PGW_DOCTOR_IDLE_IN_TRANSACTION] = { "idle_in_transaction",
	                                     "sessions idle in transaction" },
};

const char *pgw_doctor_level_name(enum pgw_doctor_level level)
{
	return level_names[level];
}

bool pgw_doctor_level_parse(enum pgw_doctor_level *out, const char *name)
{
	size_t i;

	for (i = 0; i < sizeof(level_names) / sizeof(level_names[0]); i++) {
		if (!strcmp(name, level_names[i])) {
			*out = (enum pgw_doctor_level)i;
			return true;
		}
	}
	return false;
}

const char *pgw_doctor_check_name(enum pgw_doctor_check check)
{
	return checks[check].name;
}

const char *pgw_doctor_check_title(enum pgw_doctor_check check)
{
	return checks[check].title;
}

/* ---------------------------------------------------------------------- */
/* text */

/* Length of the longest start of s[0..n) that ends on a character
 * boundary of UTF-8. */
static size_t utf8_cut(const char *s, size_t n)
{
	while (n && ((unsigned char)s[n] & 0xC0) == 0x80)
		n--;
	return n;
}

char *pgw_doctor_shorten(const char *text, size_t max)
{
	struct pgw_buf b = PGW_BUF_INIT;
	const char *p = text;
	bool space = false;

	while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')
		p++;
	for (; *p; p++) {
		if (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r') {
			space = true;
			continue;
		}
		if (space)
			pgw_buf_putc(&b, ' ');
		space = false;
		pgw_buf_putc(&b, *p);
	}
	if (b.len > max && max >= 3) {
		/* b.ptr[n] is a byte of the text: n < b.len */
		size_t n = utf8_cut(b.ptr, max - 3);

		b.len = n;
		b.ptr[n] = '\0';
		pgw_buf_puts(&b, "...");
	}
	return pgw_buf_detach(&b);
}

/* scheme://user:secret@host: the secret becomes ***. */
static void redact_urls(struct pgw_buf *out, const char *s)
{
	const char *p = s;

	while (*p) {
		const char *auth, *end, *colon;

		if (strncmp(p, "://", 3) != 0) {
			pgw_buf_putc(out, *p++);
			continue;
		}
		auth = p + 3;
		end = auth + strcspn(auth, "@/ \t\r\n'\"");
		colon = memchr(auth, ':', (size_t)(end - auth));
		if (*end != '@' || !colon) {
			pgw_buf_put(out, p, 3);
			p = auth;
			continue;
		}
		pgw_buf_put(out, p, (size_t)(colon + 1 - p));
		pgw_buf_puts(out, "***");
		p = end;
	}
}

char *pgw_doctor_redact(const char *query)
{
	struct pgw_buf b = PGW_BUF_INIT;
	char *sql = pgw_redact_sql(query);
	char *kv;

	if (!sql)
		return NULL;
	redact_urls(&b, sql);
	free(sql);
	if (pgw_buf_oom(&b)) {
		pgw_buf_release(&b);
		return NULL;
	}
	/* password=... settings (a conninfo in a literal) */
	kv = pgw_redact_conninfo(b.ptr);
	pgw_buf_release(&b);
	return kv;
}

char *pgw_doctor_index_name(const char *table, const char *cols, int n)
{
	struct pgw_buf b = PGW_BUF_INIT;
	size_t lt = strlen(table), lc = strlen(cols);
	char label[24];

	if (n > 0)
		snprintf(label, sizeof(label), "idx%d", n);
	else
		snprintf(label, sizeof(label), "idx");
	/* the server's makeObjectName(): cut the longer part, a character
	 * at a time, until "table_cols_label" fits in NAMEDATALEN - 1 */
	while (lt + 1 + lc + 1 + strlen(label) > 63) {
		if (lt >= lc)
			lt = utf8_cut(table, lt - 1);
		else
			lc = utf8_cut(cols, lc - 1);
	}
	pgw_buf_put(&b, table, lt);
	pgw_buf_putc(&b, '_');
	pgw_buf_put(&b, cols, lc);
	pgw_buf_printf(&b, "_%s", label);
	return pgw_buf_detach(&b);
}

/* ---------------------------------------------------------------------- */
/* the report */

static const char *val(const PGresult *res, int row, int col)
{
	return PQgetisnull(res, row, col) ? NULL : PQgetvalue(res, row, col);
}

/* A column that is never NULL. */
static const char *txt(const PGresult *res, int row, int col)
{
	return PQgetvalue(res, row, col);
}

static bool is_true(const PGresult *res, int row, int col)
{
	const char *v = txt(res, row, col);

	return v && v[0] == 't';
}

static char *dup(struct ctx *x, const char *s)
{
	char *d;

	if (!s)
		return NULL;
	d = strdup(s);
	if (!d)
		x->oom = true;
	return d;
}

static struct pgw_doctor_finding *add_finding(struct ctx *x,
                                              enum pgw_doctor_check check,
                                              enum pgw_doctor_level level,
                                              const char *object)
{
	struct pgw_doctor_report *r = x->r;
	struct pgw_doctor_finding *f;

	if (x->oom)
		return NULL;
	if (r->n_findings == x->cap) {
		size_t cap = x->cap ? 2 * x->cap : 16;
		struct pgw_doctor_finding *v =
		        realloc(r->findings, cap * sizeof(*v));

		if (!v) {
			x->oom = true;
			return NULL;
		}
		r->findings = v;
		x->cap = cap;
	}
	f = &r->findings[r->n_findings++];
	memset(f, 0, sizeof(*f));
	f->check = check;
	f->level = level;
	f->object = dup(x, object);
	r->counts[level]++;
	return f;
}

static void add_field(struct ctx *x, struct pgw_doctor_finding *f,
                      const char *key, enum pgw_doctor_type type,
                      const char *value)
{
	struct pgw_doctor_field *v;

	if (!f || x->oom)
		return;
	v = realloc(f->fields, (f->n_fields + 1) * sizeof(*v));
	if (!v) {
		x->oom = true;
		return;
	}
	f->fields = v;
	v[f->n_fields].key = key;
	v[f->n_fields].type = type;
	v[f->n_fields].value = dup(x, value);
	f->n_fields++;
}

/* *dst = the formatted text (an OOM is recorded in x). */
static void set_text(struct ctx *x, char **dst, const char *fmt, ...)
        PGW_PRINTF(3, 4);
static void set_text(struct ctx *x, char **dst, const char *fmt, ...)
{
	struct pgw_buf b = PGW_BUF_INIT;
	va_list ap;

	va_start(ap, fmt);
	pgw_buf_vprintf(&b, fmt, ap);
	va_end(ap);
	free(*dst);
	*dst = pgw_buf_detach(&b);
	if (!*dst)
		x->oom = true;
}

static int add_note(struct ctx *x, const char *note)
{
	char **v = realloc(x->r->notes, (x->r->n_notes + 1) * sizeof(*v));

	if (!v)
		return pgw_err_oom(x->err);
	x->r->notes = v;
	v[x->r->n_notes] = strdup(note);
	if (!v[x->r->n_notes])
		return pgw_err_oom(x->err);
	x->r->n_notes++;
	return 0;
}

/* Run one of the checks' queries; its failure names the check. */
static int query(struct ctx *x, PGresult **res, const char *what,
                 const char *sql, int n, const char *const *params)
{
	int error = pgw_pg_exec(res, x->c, sql, n, params, x->err);

	if (error) {
		pgw_err_wrap(x->err, "doctor: %s", what);
		if (!strcmp(x->err->sqlstate, "55P03"))
			pgw_err_hint(
			        x->err,
			        "another session holds an exclusive lock (a migration?): run pgward doctor again when it is done");
	}
	return error;
}

/* ---------------------------------------------------------------------- */
/* connection and scope */

static int open_conn(struct ctx *x)
{
	char id[40], app[64], st[32], lt[32];
	const char *params[2] = { st, lt };
	int error;

	pgw_pg_new_id(id);
	snprintf(app, sizeof(app), "pgward:%s", id);
	snprintf(st, sizeof(st), "%lld", (long long)x->cfg->timeout_s * 1000);
	snprintf(lt, sizeof(lt), "%d", x->cfg->lock_timeout_ms);
	error = pgw_pg_connect(&x->c, pgw_config_session_url(x->cfg), app,
	                       x->err);
	if (!error)
		error = pgw_pg_pin_settings(x->c, x->err);
	/* sizes take a share lock on each relation: never queue behind a
	 * migration's exclusive lock for longer than --lock-timeout */
	if (!error)
		error = pgw_pg_exec(
		        NULL, x->c,
		        TAG
		        "SELECT pg_catalog.set_config('search_path', 'pg_catalog', false),"
		        " pg_catalog.set_config('statement_timeout', $1, false),"
		        " pg_catalog.set_config('lock_timeout', $2, false)",
		        2, params, x->err);
	return error;
}

/* The schemas owned by the role (or a role it belongs to) and those of
 * [backup] schemas ($1), less the system's, pgward's own and journal
 * ($2), extensions' and managed platforms' ($3). */
/* clang-format off */
static const char scope_sql[] = TAG
	"SELECT n.oid, n.nspname FROM pg_catalog.pg_namespace n"
	" WHERE (n.nspname = ANY ($1::pg_catalog.text[])"
	"        OR pg_catalog.pg_has_role(n.nspowner, 'MEMBER'))"
	" AND n.nspname <> ALL ($2::pg_catalog.text[])"
	" AND n.nspname NOT LIKE 'pg\\_toast%' AND n.nspname NOT LIKE 'pg\\_temp\\_%'"
	" AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend e"
	"  WHERE e.classid = 'pg_catalog.pg_namespace'::pg_catalog.regclass"
	"  AND e.objid = n.oid AND e.deptype = 'e')"
	" AND (n.nspname <> ALL ($3::pg_catalog.text[])"
	"      OR n.nspname = ANY ($1::pg_catalog.text[])"
	"      OR pg_catalog.pg_get_userbyid(n.nspowner) = CURRENT_USER)"
	" ORDER BY n.nspname COLLATE \"C\"";
/* clang-format on */

static int read_scope(struct ctx *x)
{
	struct pgw_buf extra = PGW_BUF_INIT, excl = PGW_BUF_INIT;
	struct pgw_buf oids = PGW_BUF_INIT;
	const char *excluded[] = { "pg_catalog", "information_schema",
		                   "pgward_journal", x->cfg->schema, NULL };
	const char *params[3];
	char **listed = pgw_list_split(x->cfg->backup_schemas);
	PGresult *res = NULL;
	int i, n, error = 0;

	if (!listed) {
		error = pgw_err_oom(x->err);
		goto done;
	}
	pgw_pg_text_array(&extra, (const char *const *)listed);
	pgw_pg_text_array(&excl, excluded);
	params[0] = extra.ptr;
	params[1] = excl.ptr;
	params[2] = platform_schemas;
	if (pgw_buf_oom(&extra) || pgw_buf_oom(&excl)) {
		error = pgw_err_oom(x->err);
		goto done;
	}
	error = query(x, &res, "schemas", scope_sql, 3, params);
	if (error)
		goto done;
	n = PQntuples(res);
	x->r->schemas = calloc((size_t)n + 1, sizeof(char *));
	if (!x->r->schemas) {
		error = pgw_err_oom(x->err);
		goto done;
	}
	pgw_buf_puts(&oids, "{");
	for (i = 0; i < n; i++) {
		pgw_buf_printf(&oids, "%s%s", i ? "," : "",
		               PQgetvalue(res, i, 0));
		x->r->schemas[i] = dup(x, PQgetvalue(res, i, 1));
		x->r->n_schemas++;
	}
	pgw_buf_puts(&oids, "}");
	x->scope = pgw_buf_detach(&oids);
	if (!x->scope || x->oom)
		error = pgw_err_oom(x->err);
done:
	pgw_list_free(listed);
	pgw_buf_release(&extra);
	pgw_buf_release(&excl);
	pgw_buf_release(&oids);
	PQclear(res);
	return error;
}

/* clang-format off */
static const char settings_sql[] = TAG
	"SELECT " UTC("d.stats_reset") ","
	" pg_catalog.current_setting('track_counts')::pg_catalog.bool"
	" FROM pg_catalog.pg_stat_database d"
	" WHERE d.datname = pg_catalog.current_database()";
/* clang-format on */

static int read_settings(struct ctx *x)
{
	PGresult *res = NULL;
	int error = query(x, &res, "statistics", settings_sql, 0, NULL);

	if (error)
		return error;
	if (PQntuples(res) == 1) {
		x->r->stats_reset = dup(x, val(res, 0, 0));
		x->track_counts = is_true(res, 0, 1);
	}
	PQclear(res);
	if (!x->track_counts)
		return add_note(
		        x,
		        "track_counts is off: index usage and dead rows are not counted, the unused index and vacuum checks were skipped");
	return x->oom ? pgw_err_oom(x->err) : 0;
}

/* ---------------------------------------------------------------------- */
/* indexes */

/* clang-format off */
static const char invalid_sql[] = TAG
	"SELECT pg_catalog.format('%I.%I', n.nspname, ic.relname),"
	" pg_catalog.format('%I.%I', n.nspname, tc.relname),"
	" i.indisunique, i.indisready, ic.relkind = 'I',"
	" pg_catalog.pg_relation_size(ic.oid),"
	" pg_catalog.pg_size_pretty(pg_catalog.pg_relation_size(ic.oid)),"
	" b.pid, b.command"
	" FROM pg_catalog.pg_index i"
	" JOIN pg_catalog.pg_class ic ON ic.oid = i.indexrelid"
	" JOIN pg_catalog.pg_class tc ON tc.oid = i.indrelid"
	" JOIN pg_catalog.pg_namespace n ON n.oid = ic.relnamespace"
	/* a build in progress: CREATE INDEX CONCURRENTLY names its index,
	 * REINDEX CONCURRENTLY the one it replaces with "<name>_ccnew" */
	" LEFT JOIN LATERAL (SELECT p.pid, p.command"
	"  FROM pg_catalog.pg_stat_progress_create_index p"
	"  WHERE p.index_relid = ic.oid OR (p.relid = i.indrelid"
	"   AND p.command = 'REINDEX CONCURRENTLY'"
	"   AND ic.relname LIKE '%\\_ccnew%') LIMIT 1) b ON true"
	" WHERE NOT i.indisvalid"
	" AND ic.relnamespace = ANY ($1::pg_catalog.oid[])"
	" ORDER BY 1";
/* clang-format on */

static int check_invalid(struct ctx *x)
{
	PGresult *res = NULL;
	const char *params[1] = { x->scope };
	int i, error;

	error = query(x, &res, "invalid indexes", invalid_sql, 1, params);
	for (i = 0; !error && i < PQntuples(res); i++) {
		const char *name = txt(res, i, 0), *table = txt(res, i, 1);
		const char *building = val(res, i, 7);
		bool unique = is_true(res, i, 2), ready = is_true(res, i, 3);
		bool partitioned = is_true(res, i, 4);
		struct pgw_doctor_finding *f;

		if (building) {
			f = add_finding(x, PGW_DOCTOR_INVALID_INDEX,
			                PGW_DOCTOR_INFO, name);
			if (f)
				set_text(
				        x, &f->message,
				        "being built on %s by pid %s (%s in progress)",
				        table, building, txt(res, i, 8));
		} else if (partitioned) {
			f = add_finding(x, PGW_DOCTOR_INVALID_INDEX,
			                PGW_DOCTOR_WARNING, name);
			if (f)
				set_text(
				        x, &f->message,
				        "partitioned index on %s is not valid: a partition has no index attached to it (CREATE INDEX on the partition, then ALTER INDEX %s ATTACH PARTITION)",
				        table, name);
		} else {
			f = add_finding(x, PGW_DOCTOR_INVALID_INDEX,
			                PGW_DOCTOR_ERROR, name);
			if (f) {
				set_text(
				        x, &f->message,
				        "INVALID %sindex on %s, left by a failed CREATE INDEX CONCURRENTLY: never used by queries%s",
				        unique ? "unique " : "", table,
				        !ready ? ""
				        : unique
				                ? ", but still updated and its uniqueness checked on every write"
				                : ", but still updated on every write");
				set_text(
				        x, &f->fix,
				        "DROP INDEX CONCURRENTLY IF EXISTS %s;",
				        name);
			}
		}
		add_field(x, f, "table", PGW_DOCTOR_STR, table);
		add_field(x, f, "unique", PGW_DOCTOR_BOOL, val(res, i, 2));
		add_field(x, f, "ready", PGW_DOCTOR_BOOL, val(res, i, 3));
		add_field(x, f, "size_bytes", PGW_DOCTOR_INT, val(res, i, 5));
		add_field(x, f, "size", PGW_DOCTOR_STR, val(res, i, 6));
		add_field(x, f, "building_pid", PGW_DOCTOR_INT, building);
	}
	PQclear(res);
	return error;
}

/* clang-format off */
static const char unused_sql[] = TAG
	"SELECT pg_catalog.format('%I.%I', n.nspname, ic.relname),"
	" pg_catalog.format('%I.%I', n.nspname, tc.relname), s.idx_scan,"
	" pg_catalog.pg_relation_size(ic.oid),"
	" pg_catalog.pg_size_pretty(pg_catalog.pg_relation_size(ic.oid)),"
	" pg_catalog.pg_get_indexdef(ic.oid), ic.relispartition"
	" FROM pg_catalog.pg_stat_all_indexes s"
	" JOIN pg_catalog.pg_index i ON i.indexrelid = s.indexrelid"
	" JOIN pg_catalog.pg_class ic ON ic.oid = s.indexrelid"
	" JOIN pg_catalog.pg_class tc ON tc.oid = s.relid"
	" JOIN pg_catalog.pg_namespace n ON n.oid = ic.relnamespace"
	" WHERE ic.relnamespace = ANY ($1::pg_catalog.oid[])"
	" AND s.idx_scan = 0 AND i.indisvalid"
	" AND NOT i.indisunique AND NOT i.indisprimary"
	" AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_constraint k"
	"  WHERE k.conindid = i.indexrelid AND k.contype IN ('p', 'u', 'x'))"
	/* the index of a foreign key: dropping it would make the key
	 * one without an index */
	" AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_constraint f"
	"  WHERE f.contype = 'f' AND f.conrelid = i.indrelid"
	"  AND " COVERS_FK("i", "f") ")"
	" ORDER BY 4 DESC, 1";
/* clang-format on */

static int check_unused(struct ctx *x)
{
	PGresult *res = NULL;
	const char *params[1] = { x->scope };
	int i, error;

	if (!x->track_counts)
		return 0;
	error = query(x, &res, "unused indexes", unused_sql, 1, params);
	for (i = 0; !error && i < PQntuples(res); i++) {
		const char *name = txt(res, i, 0), *table = txt(res, i, 1);
		bool partition = is_true(res, i, 6);
		struct pgw_doctor_finding *f = add_finding(
		        x, PGW_DOCTOR_UNUSED_INDEX, PGW_DOCTOR_WARNING, name);

		if (!f)
			break;
		set_text(x, &f->message, "on %s, 0 scans, %s%s", table,
		         txt(res, i, 4),
		         partition ? " (part of a partitioned index)" : "");
		if (!partition)
			set_text(x, &f->fix,
			         "DROP INDEX CONCURRENTLY IF EXISTS %s;", name);
		add_field(x, f, "table", PGW_DOCTOR_STR, table);
		add_field(x, f, "idx_scan", PGW_DOCTOR_INT, val(res, i, 2));
		add_field(x, f, "size_bytes", PGW_DOCTOR_INT, val(res, i, 3));
		add_field(x, f, "size", PGW_DOCTOR_STR, val(res, i, 4));
		add_field(x, f, "definition", PGW_DOCTOR_STR, val(res, i, 5));
	}
	PQclear(res);
	return error;
}

/* Every valid index of the scope, with what makes two of them the same:
 * access method, key columns (and INCLUDE columns), operator classes,
 * collations, options (DESC, NULLS FIRST), expressions, predicate, NULLS
 * NOT DISTINCT (PostgreSQL 15; read through to_jsonb so that older
 * servers, which have no such column, get NULL).  `rank` says which of
 * two equal indexes to keep: the primary key, then a constraint's, then
 * a unique one.  `cols` has a "attnum/opclass/collation/option" element
 * per key column. */
/* clang-format off */
#define INDEX_CTE \
	"WITH x AS (SELECT i.indexrelid AS oid, i.indrelid, ic.relam," \
	" i.indkey::pg_catalog.text AS k, i.indnkeyatts, i.indnatts," \
	" i.indclass::pg_catalog.text AS cls," \
	" i.indcollation::pg_catalog.text AS coll," \
	" i.indoption::pg_catalog.text AS opt," \
	" pg_catalog.pg_get_expr(i.indexprs, i.indrelid) AS ex," \
	" pg_catalog.pg_get_expr(i.indpred, i.indrelid) AS pred," \
	" pg_catalog.to_jsonb(i) ->> 'indnullsnotdistinct' AS nnd," \
	" CASE WHEN i.indisprimary THEN 3" \
	"  WHEN k.conname IS NOT NULL THEN 2 WHEN i.indisunique THEN 1" \
	"  ELSE 0 END AS rank, k.conname AS con," \
	" ARRAY(SELECT (pg_catalog.string_to_array(i.indkey::pg_catalog.text, ' '))[j]" \
	"  || '/' || (pg_catalog.string_to_array(i.indclass::pg_catalog.text, ' '))[j]" \
	"  || '/' || (pg_catalog.string_to_array(i.indcollation::pg_catalog.text, ' '))[j]" \
	"  || '/' || (pg_catalog.string_to_array(i.indoption::pg_catalog.text, ' '))[j]" \
	"  FROM pg_catalog.generate_series(1, i.indnkeyatts) j ORDER BY j) AS cols," \
	" pg_catalog.format('%I.%I', n.nspname, ic.relname) AS name," \
	" pg_catalog.format('%I.%I', n.nspname, tc.relname) AS tname," \
	" ic.relispartition AS part" \
	" FROM pg_catalog.pg_index i" \
	" JOIN pg_catalog.pg_class ic ON ic.oid = i.indexrelid" \
	" JOIN pg_catalog.pg_class tc ON tc.oid = i.indrelid" \
	" JOIN pg_catalog.pg_namespace n ON n.oid = ic.relnamespace" \
	" LEFT JOIN pg_catalog.pg_constraint k ON k.conindid = i.indexrelid" \
	"  AND k.contype IN ('p', 'u', 'x')" \
	" WHERE i.indisvalid AND ic.relnamespace = ANY ($1::pg_catalog.oid[]))"

/* a is the same index as b, and b is the one to keep */
static const char duplicate_sql[] = TAG INDEX_CTE
	" SELECT * FROM (SELECT DISTINCT ON (a.oid) a.name, a.tname, b.name,"
	" a.con, pg_catalog.pg_relation_size(a.oid),"
	" pg_catalog.pg_size_pretty(pg_catalog.pg_relation_size(a.oid)),"
	" pg_catalog.pg_get_indexdef(a.oid), a.part"
	" FROM x a JOIN x b ON b.indrelid = a.indrelid AND b.oid <> a.oid"
	" AND b.relam = a.relam AND b.k = a.k AND b.indnkeyatts = a.indnkeyatts"
	" AND b.cls = a.cls AND b.coll = a.coll AND b.opt = a.opt"
	" AND b.ex IS NOT DISTINCT FROM a.ex"
	" AND b.pred IS NOT DISTINCT FROM a.pred"
	" AND (a.rank = 0 OR b.nnd IS NOT DISTINCT FROM a.nnd)"
	" WHERE b.rank > a.rank OR (b.rank = a.rank AND b.oid < a.oid)"
	" ORDER BY a.oid, b.rank DESC, b.oid) d ORDER BY 1";

/* a (a plain b-tree on columns only, no INCLUDE, not partial) is a left
 * prefix of b's key columns, and b is not partial: b serves a's queries */
static const char prefix_sql[] = TAG INDEX_CTE
	" SELECT * FROM (SELECT DISTINCT ON (a.oid) a.name, a.tname, b.name,"
	" pg_catalog.pg_get_indexdef(b.oid), pg_catalog.pg_relation_size(a.oid),"
	" pg_catalog.pg_size_pretty(pg_catalog.pg_relation_size(a.oid)),"
	" pg_catalog.pg_get_indexdef(a.oid)"
	" FROM x a JOIN x b ON b.indrelid = a.indrelid AND b.oid <> a.oid"
	" AND b.relam = a.relam"
	" WHERE a.relam = (SELECT oid FROM pg_catalog.pg_am WHERE amname = 'btree')"
	" AND a.rank = 0 AND a.indnatts = a.indnkeyatts"
	" AND a.ex IS NULL AND a.pred IS NULL AND b.pred IS NULL"
	" AND pg_catalog.cardinality(a.cols) < pg_catalog.cardinality(b.cols)"
	" AND a.cols = b.cols[1:pg_catalog.cardinality(a.cols)]"
	" ORDER BY a.oid, pg_catalog.cardinality(b.cols), b.oid) p ORDER BY 1";
/* clang-format on */

static int check_duplicate(struct ctx *x)
{
	PGresult *res = NULL;
	const char *params[1] = { x->scope };
	int i, error;

	error = query(x, &res, "duplicate indexes", duplicate_sql, 1, params);
	for (i = 0; !error && i < PQntuples(res); i++) {
		const char *name = txt(res, i, 0), *table = txt(res, i, 1);
		const char *keep = txt(res, i, 2), *con = val(res, i, 3);
		struct pgw_doctor_finding *f =
		        add_finding(x, PGW_DOCTOR_DUPLICATE_INDEX,
		                    PGW_DOCTOR_WARNING, name);

		if (!f)
			break;
		if (con)
			set_text(
			        x, &f->message,
			        "on %s: the same index as %s, %s; it backs constraint %s (drop the constraint to drop it)",
			        table, keep, txt(res, i, 5), con);
		else
			set_text(x, &f->message,
			         "on %s: the same index as %s, %s%s", table,
			         keep, txt(res, i, 5),
			         is_true(res, i, 7)
			                 ? " (part of a partitioned index)"
			                 : "");
		if (!con && !is_true(res, i, 7))
			set_text(x, &f->fix,
			         "DROP INDEX CONCURRENTLY IF EXISTS %s;", name);
		add_field(x, f, "table", PGW_DOCTOR_STR, table);
		add_field(x, f, "duplicate_of", PGW_DOCTOR_STR, keep);
		add_field(x, f, "constraint", PGW_DOCTOR_STR, con);
		add_field(x, f, "size_bytes", PGW_DOCTOR_INT, val(res, i, 4));
		add_field(x, f, "size", PGW_DOCTOR_STR, val(res, i, 5));
		add_field(x, f, "definition", PGW_DOCTOR_STR, val(res, i, 6));
	}
	PQclear(res);
	return error;
}

static int check_prefix(struct ctx *x)
{
	PGresult *res = NULL;
	const char *params[1] = { x->scope };
	int i, error;

	error = query(x, &res, "prefix indexes", prefix_sql, 1, params);
	for (i = 0; !error && i < PQntuples(res); i++) {
		const char *name = txt(res, i, 0), *table = txt(res, i, 1);
		struct pgw_doctor_finding *f = add_finding(
		        x, PGW_DOCTOR_PREFIX_INDEX, PGW_DOCTOR_INFO, name);

		if (!f)
			break;
		set_text(
		        x, &f->message,
		        "on %s: a left prefix of %s, which can serve the same queries; %s",
		        table, txt(res, i, 2), txt(res, i, 5));
		add_field(x, f, "table", PGW_DOCTOR_STR, table);
		add_field(x, f, "prefix_of", PGW_DOCTOR_STR, val(res, i, 2));
		add_field(x, f, "prefix_of_definition", PGW_DOCTOR_STR,
		          val(res, i, 3));
		add_field(x, f, "size_bytes", PGW_DOCTOR_INT, val(res, i, 4));
		add_field(x, f, "size", PGW_DOCTOR_STR, val(res, i, 5));
		add_field(x, f, "definition", PGW_DOCTOR_STR, val(res, i, 6));
	}
	PQclear(res);
	return error;
}

/* ---------------------------------------------------------------------- */
/* foreign keys */

/* clang-format off */
static const char fk_sql[] = TAG
	"SELECT pg_catalog.format('%I.%I', n.nspname, t.relname), f.conname,"
	" pg_catalog.format('%I.%I', rn.nspname, r.relname),"
	" (SELECT pg_catalog.string_agg(pg_catalog.quote_ident(a.attname), ', '"
	"   ORDER BY k.o)"
	"  FROM pg_catalog.unnest(f.conkey) WITH ORDINALITY k(attnum, o)"
	"  JOIN pg_catalog.pg_attribute a ON a.attrelid = f.conrelid"
	"  AND a.attnum = k.attnum),"
	" (SELECT pg_catalog.string_agg(a.attname, '_' ORDER BY k.o)"
	"  FROM pg_catalog.unnest(f.conkey) WITH ORDINALITY k(attnum, o)"
	"  JOIN pg_catalog.pg_attribute a ON a.attrelid = f.conrelid"
	"  AND a.attnum = k.attnum),"
	" t.relnamespace, t.relname, t.relkind = 'p', t.reltuples,"
	" pg_catalog.pg_size_pretty(pg_catalog.pg_table_size(t.oid))"
	" FROM pg_catalog.pg_constraint f"
	" JOIN pg_catalog.pg_class t ON t.oid = f.conrelid"
	" JOIN pg_catalog.pg_namespace n ON n.oid = t.relnamespace"
	" JOIN pg_catalog.pg_class r ON r.oid = f.confrelid"
	" JOIN pg_catalog.pg_namespace rn ON rn.oid = r.relnamespace"
	" WHERE f.contype = 'f' AND f.conparentid = 0"
	" AND t.relnamespace = ANY ($1::pg_catalog.oid[])"
	" AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_index i"
	"  WHERE i.indrelid = f.conrelid AND " COVERS_FK("i", "f") ")"
	" ORDER BY 1, 2";
/* clang-format on */

/* The quoted name of a new index for the key's columns, one no relation
 * of the schema has. */
static int new_index_name(char **out, struct ctx *x, const char *nsp,
                          const char *table, const char *cols)
{
	PGresult *res = NULL;
	char *name = NULL;
	int n, error = 0;

	*out = NULL;
	for (n = 0; n < 100 && !error && !*out; n++) {
		const char *params[2];

		free(name);
		name = pgw_doctor_index_name(table, cols, n);
		if (!name)
			return pgw_err_oom(x->err);
		params[0] = nsp;
		params[1] = name;
		error = query(x, &res, "foreign keys",
		              TAG
		              "SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_class"
		              " WHERE relnamespace = $1::pg_catalog.oid"
		              " AND relname = $2), pg_catalog.quote_ident($2)",
		              2, params);
		if (!error && !is_true(res, 0, 0))
			*out = dup(x, txt(res, 0, 1));
		PQclear(res);
		res = NULL;
	}
	free(name);
	return error;
}

static int check_fk(struct ctx *x)
{
	PGresult *res = NULL;
	const char *params[1] = { x->scope };
	int i, error;

	error = query(x, &res, "foreign keys", fk_sql, 1, params);
	for (i = 0; !error && i < PQntuples(res); i++) {
		const char *table = txt(res, i, 0), *con = txt(res, i, 1);
		const char *cols = txt(res, i, 3);
		bool partitioned = is_true(res, i, 7);
		char *name = NULL;
		struct pgw_doctor_finding *f =
		        add_finding(x, PGW_DOCTOR_FK_WITHOUT_INDEX,
		                    PGW_DOCTOR_WARNING, table);

		if (!f)
			break;
		set_text(
		        x, &f->message,
		        "foreign key %s (%s) -> %s: no index on (%s), a DELETE in %s scans this table (%s)",
		        con, cols, txt(res, i, 2), cols, txt(res, i, 2),
		        txt(res, i, 9));
		error = new_index_name(&name, x, txt(res, i, 5), txt(res, i, 6),
		                       txt(res, i, 4));
		/* a partitioned table takes no CONCURRENTLY (its partitions
		 * can, one by one) */
		if (name)
			set_text(x, &f->fix,
			         "CREATE INDEX %sIF NOT EXISTS %s ON %s (%s);",
			         partitioned ? "" : "CONCURRENTLY ", name,
			         table, cols);
		free(name);
		add_field(x, f, "table", PGW_DOCTOR_STR, table);
		add_field(x, f, "constraint", PGW_DOCTOR_STR, con);
		add_field(x, f, "columns", PGW_DOCTOR_STR, cols);
		add_field(x, f, "references", PGW_DOCTOR_STR, val(res, i, 2));
		add_field(x, f, "table_rows", PGW_DOCTOR_NUM, val(res, i, 8));
	}
	PQclear(res);
	return error;
}

/* ---------------------------------------------------------------------- */
/* vacuum and analyze */

/* The autovacuum thresholds as autovacuum computes them (the table's
 * storage parameters over the server's settings; reltuples -1, never
 * vacuumed nor analyzed, counts as 0). */
/* clang-format off */
#define RELOPT(name) \
	"(SELECT o.option_value FROM pg_catalog.pg_options_to_table(c.reloptions) o" \
	" WHERE o.option_name = '" name "')"
static const char vacuum_sql[] = TAG
	"SELECT * FROM (SELECT pg_catalog.format('%I.%I', n.nspname, c.relname) AS name,"
	" s.n_live_tup, s.n_dead_tup, s.n_mod_since_analyze,"
	" pg_catalog.round((coalesce(" RELOPT("autovacuum_vacuum_threshold")
	"  ::pg_catalog.float8, pg_catalog.current_setting('autovacuum_vacuum_threshold')"
	"  ::pg_catalog.float8) + coalesce(" RELOPT("autovacuum_vacuum_scale_factor")
	"  ::pg_catalog.float8, pg_catalog.current_setting('autovacuum_vacuum_scale_factor')"
	"  ::pg_catalog.float8) * greatest(c.reltuples, 0))::pg_catalog.numeric) AS vt,"
	" pg_catalog.round((coalesce(" RELOPT("autovacuum_analyze_threshold")
	"  ::pg_catalog.float8, pg_catalog.current_setting('autovacuum_analyze_threshold')"
	"  ::pg_catalog.float8) + coalesce(" RELOPT("autovacuum_analyze_scale_factor")
	"  ::pg_catalog.float8, pg_catalog.current_setting('autovacuum_analyze_scale_factor')"
	"  ::pg_catalog.float8) * greatest(c.reltuples, 0))::pg_catalog.numeric) AS at,"
	" " UTC("greatest(s.last_vacuum, s.last_autovacuum)") ","
	" " UTC("greatest(s.last_analyze, s.last_autoanalyze)") ","
	" greatest(s.last_analyze, s.last_autoanalyze) AS la,"
	" coalesce(" RELOPT("autovacuum_enabled") "::pg_catalog.bool, true)"
	"  AND pg_catalog.current_setting('autovacuum')::pg_catalog.bool,"
	" CASE WHEN s.n_live_tup + s.n_dead_tup > 0 THEN pg_catalog.round("
	"  s.n_dead_tup::pg_catalog.numeric / (s.n_live_tup + s.n_dead_tup), 3)"
	"  ELSE 0 END AS ratio"
	" FROM pg_catalog.pg_stat_all_tables s"
	" JOIN pg_catalog.pg_class c ON c.oid = s.relid"
	" JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace"
	" WHERE c.relnamespace = ANY ($1::pg_catalog.oid[])"
	" AND c.relkind IN ('r', 'm')) t"
	" WHERE t.n_dead_tup > t.vt OR t.n_mod_since_analyze > t.at"
	" OR (t.n_live_tup > 0 AND t.la IS NULL)"
	" ORDER BY t.n_dead_tup DESC, t.name";
/* clang-format on */

static int check_vacuum(struct ctx *x)
{
	PGresult *res = NULL;
	const char *params[1] = { x->scope };
	int i, error;

	if (!x->track_counts)
		return 0;
	error = query(x, &res, "vacuum", vacuum_sql, 1, params);
	for (i = 0; !error && i < PQntuples(res); i++) {
		const char *name = txt(res, i, 0);
		double live = strtod(txt(res, i, 1), NULL);
		double dead = strtod(txt(res, i, 2), NULL);
		double mod = strtod(txt(res, i, 3), NULL);
		double vt = strtod(txt(res, i, 4), NULL);
		double at = strtod(txt(res, i, 5), NULL);
		const char *last_vac = val(res, i, 6),
		           *last_an = val(res, i, 7);
		bool autovacuum = is_true(res, i, 9);
		bool vac = dead > vt, an = mod > at;
		struct pgw_buf b = PGW_BUF_INIT;
		struct pgw_doctor_finding *f = add_finding(
		        x, PGW_DOCTOR_VACUUM,
		        vac || an ? PGW_DOCTOR_WARNING : PGW_DOCTOR_INFO, name);

		if (!f)
			break;
		if (vac)
			pgw_buf_printf(
			        &b,
			        "%.0f dead rows (%.0f%% of %.0f), over the autovacuum threshold %.0f",
			        dead, 100.0 * strtod(txt(res, i, 10), NULL),
			        live + dead, vt);
		if (!last_an)
			pgw_buf_printf(&b, "%snever analyzed (%.0f rows%s)",
			               b.len ? "; " : "", live,
			               an ? ", over the analyze threshold"
			                  : "");
		else if (an)
			pgw_buf_printf(
			        &b,
			        "%s%.0f rows changed since the last analyze, over the threshold %.0f",
			        b.len ? "; " : "", mod, at);
		if (!autovacuum)
			pgw_buf_puts(&b, "; autovacuum is off for this table");
		pgw_buf_printf(&b, "; last vacuum %s, last analyze %s",
		               last_vac ? last_vac : "never",
		               last_an ? last_an : "never");
		f->message = pgw_buf_detach(&b);
		if (!f->message)
			x->oom = true;
		set_text(x, &f->fix, "%s %s;",
		         vac ? "VACUUM (ANALYZE)" : "ANALYZE", name);
		add_field(x, f, "table", PGW_DOCTOR_STR, name);
		add_field(x, f, "live_rows", PGW_DOCTOR_INT, val(res, i, 1));
		add_field(x, f, "dead_rows", PGW_DOCTOR_INT, val(res, i, 2));
		add_field(x, f, "dead_ratio", PGW_DOCTOR_NUM, val(res, i, 10));
		add_field(x, f, "vacuum_threshold", PGW_DOCTOR_INT,
		          val(res, i, 4));
		add_field(x, f, "modified_since_analyze", PGW_DOCTOR_INT,
		          val(res, i, 3));
		add_field(x, f, "analyze_threshold", PGW_DOCTOR_INT,
		          val(res, i, 5));
		add_field(x, f, "needs_vacuum", PGW_DOCTOR_BOOL,
		          vac ? "t" : "f");
		add_field(x, f, "needs_analyze", PGW_DOCTOR_BOOL,
		          an || !last_an ? "t" : "f");
		add_field(x, f, "last_vacuum", PGW_DOCTOR_STR, last_vac);
		add_field(x, f, "last_analyze", PGW_DOCTOR_STR, last_an);
		add_field(x, f, "autovacuum_enabled", PGW_DOCTOR_BOOL,
		          val(res, i, 9));
	}
	PQclear(res);
	return error;
}

/* ---------------------------------------------------------------------- */
/* sessions */

/* clang-format off */
static const char sessions_sql[] = TAG
	"SELECT a.pid, a.usename, a.application_name, a.state,"
	" pg_catalog.floor(EXTRACT(epoch FROM pg_catalog.now() - a.xact_start))"
	"  ::pg_catalog.int8,"
	" pg_catalog.floor(EXTRACT(epoch FROM pg_catalog.now() - a.state_change))"
	"  ::pg_catalog.int8,"
	" a.query,"
	" a.state LIKE 'idle in transaction%' AND a.state_change"
	"  < pg_catalog.now() - pg_catalog.make_interval(secs => $1::pg_catalog.float8),"
	" a.wait_event_type, a.wait_event"
	" FROM pg_catalog.pg_stat_activity a"
	" WHERE a.datname = pg_catalog.current_database()"
	" AND a.pid <> pg_catalog.pg_backend_pid()"
	" AND a.backend_type = 'client backend'"
	" AND a.xact_start"
	"  < pg_catalog.now() - pg_catalog.make_interval(secs => $1::pg_catalog.float8)"
	" ORDER BY a.xact_start, a.pid";
/* clang-format on */

static int check_sessions(struct ctx *x)
{
	PGresult *res = NULL;
	char age[32];
	const char *params[1] = { age };
	int i, error;

	snprintf(age, sizeof(age), "%d", x->opts->session_age_s);
	error = query(x, &res, "sessions", sessions_sql, 1, params);
	for (i = 0; !error && i < PQntuples(res); i++) {
		const char *pid = txt(res, i, 0), *state = txt(res, i, 3);
		const char *q = val(res, i, 6), *wait = val(res, i, 9);
		const char *wait_type = val(res, i, 8);
		bool idle = is_true(res, i, 7);
		char object[32], *safe = NULL, *query_text = NULL;
		struct pgw_doctor_finding *f;

		snprintf(object, sizeof(object), "pid %s", pid);
		f = add_finding(x,
		                idle ? PGW_DOCTOR_IDLE_IN_TRANSACTION
		                     : PGW_DOCTOR_LONG_TRANSACTION,
		                PGW_DOCTOR_WARNING, object);
		if (!f)
			break;
		if (q) {
			safe = pgw_doctor_redact(q);
			query_text = safe ? pgw_doctor_shorten(safe, QUERY_MAX)
			                  : NULL;
			if (!query_text)
				x->oom = true;
		}
		if (idle)
			set_text(
			        x, &f->message,
			        "%s for %s s (transaction open %s s), user %s, application '%s'",
			        state, txt(res, i, 5), txt(res, i, 4),
			        val(res, i, 1) ? val(res, i, 1) : "?",
			        val(res, i, 2) ? val(res, i, 2) : "");
		else
			set_text(
			        x, &f->message,
			        "transaction open %s s, %s%s%s%s%s, user %s, application '%s'",
			        txt(res, i, 4), state ? state : "state unknown",
			        wait ? ", waiting on " : "",
			        wait_type ? wait_type : "",
			        wait_type ? ":" : "", wait ? wait : "",
			        val(res, i, 1) ? val(res, i, 1) : "?",
			        val(res, i, 2) ? val(res, i, 2) : "");
		if (idle)
			set_text(x, &f->fix,
			         "SELECT pg_catalog.pg_terminate_backend(%s);",
			         pid);
		add_field(x, f, "pid", PGW_DOCTOR_INT, pid);
		add_field(x, f, "user", PGW_DOCTOR_STR, val(res, i, 1));
		add_field(x, f, "application_name", PGW_DOCTOR_STR,
		          val(res, i, 2));
		add_field(x, f, "state", PGW_DOCTOR_STR, state);
		add_field(x, f, "transaction_age_s", PGW_DOCTOR_INT,
		          val(res, i, 4));
		add_field(x, f, "state_age_s", PGW_DOCTOR_INT, val(res, i, 5));
		add_field(x, f, "wait_event", PGW_DOCTOR_STR, wait);
		add_field(x, f, "query", PGW_DOCTOR_STR, query_text);
		free(safe);
		free(query_text);
	}
	PQclear(res);
	return error;
}

/* ---------------------------------------------------------------------- */
/* sizes */

/* clang-format off */
static const char tables_sql[] = TAG
	"SELECT pg_catalog.format('%I.%I', n.nspname, c.relname),"
	" pg_catalog.pg_total_relation_size(c.oid) AS total,"
	" pg_catalog.pg_table_size(c.oid), pg_catalog.pg_indexes_size(c.oid),"
	" pg_catalog.pg_size_pretty(pg_catalog.pg_total_relation_size(c.oid)),"
	" pg_catalog.pg_size_pretty(pg_catalog.pg_table_size(c.oid)),"
	" pg_catalog.pg_size_pretty(pg_catalog.pg_indexes_size(c.oid)),"
	" c.reltuples"
	" FROM pg_catalog.pg_class c"
	" JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace"
	" WHERE c.relnamespace = ANY ($1::pg_catalog.oid[])"
	" AND c.relkind IN ('r', 'm')"
	" ORDER BY total DESC, 1 LIMIT $2::pg_catalog.int4";

static const char indexes_sql[] = TAG
	"SELECT pg_catalog.format('%I.%I', n.nspname, ic.relname),"
	" pg_catalog.format('%I.%I', n.nspname, tc.relname),"
	" pg_catalog.pg_relation_size(ic.oid) AS total,"
	" pg_catalog.pg_size_pretty(pg_catalog.pg_relation_size(ic.oid)),"
	" ic.reltuples"
	" FROM pg_catalog.pg_index i"
	" JOIN pg_catalog.pg_class ic ON ic.oid = i.indexrelid"
	" JOIN pg_catalog.pg_class tc ON tc.oid = i.indrelid"
	" JOIN pg_catalog.pg_namespace n ON n.oid = ic.relnamespace"
	" WHERE ic.relnamespace = ANY ($1::pg_catalog.oid[])"
	" AND ic.relkind = 'i'"
	" ORDER BY total DESC, 1 LIMIT $2::pg_catalog.int4";
/* clang-format on */

static int read_sizes(struct ctx *x)
{
	PGresult *res = NULL;
	char top[32];
	const char *params[2] = { x->scope, top };
	struct pgw_doctor_report *r = x->r;
	int i, n, error;

	snprintf(top, sizeof(top), "%d", x->opts->top);
	error = query(x, &res, "largest tables", tables_sql, 2, params);
	if (error)
		return error;
	n = PQntuples(res);
	r->tables = calloc((size_t)n + 1, sizeof(*r->tables));
	if (!r->tables)
		x->oom = true;
	for (i = 0; r->tables && i < n; i++) {
		struct pgw_doctor_size *s = &r->tables[i];

		r->n_tables++;
		s->name = dup(x, txt(res, i, 0));
		s->total_bytes = strtoll(txt(res, i, 1), NULL, 10);
		s->table_bytes = strtoll(txt(res, i, 2), NULL, 10);
		s->index_bytes = strtoll(txt(res, i, 3), NULL, 10);
		s->total_pretty = dup(x, txt(res, i, 4));
		s->table_pretty = dup(x, txt(res, i, 5));
		s->index_pretty = dup(x, txt(res, i, 6));
		s->rows = strtod(txt(res, i, 7), NULL);
	}
	PQclear(res);
	res = NULL;
	error = query(x, &res, "largest indexes", indexes_sql, 2, params);
	if (error)
		return error;
	n = PQntuples(res);
	r->indexes = calloc((size_t)n + 1, sizeof(*r->indexes));
	if (!r->indexes)
		x->oom = true;
	for (i = 0; r->indexes && i < n; i++) {
		struct pgw_doctor_size *s = &r->indexes[i];

		r->n_indexes++;
		s->name = dup(x, txt(res, i, 0));
		s->table = dup(x, txt(res, i, 1));
		s->total_bytes = strtoll(txt(res, i, 2), NULL, 10);
		s->index_bytes = s->total_bytes;
		s->total_pretty = dup(x, txt(res, i, 3));
		s->index_pretty = dup(x, txt(res, i, 3));
		s->rows = strtod(txt(res, i, 4), NULL);
	}
	PQclear(res);
	return x->oom ? pgw_err_oom(x->err) : 0;
}

/* ---------------------------------------------------------------------- */
/* pg_stat_statements */

/* "1.10" -> 110; 0 when unparsable. */
static long ext_version(const char *v)
{
	char *end;
	long major = strtol(v, &end, 10), minor = 0;

	if (*end == '.')
		minor = strtol(end + 1, NULL, 10);
	return major * 100 + minor;
}

static int statements_note(struct ctx *x, const char *fmt, ...)
        PGW_PRINTF(2, 3);
static int statements_note(struct ctx *x, const char *fmt, ...)
{
	struct pgw_buf b = PGW_BUF_INIT;
	va_list ap;

	va_start(ap, fmt);
	pgw_buf_vprintf(&b, fmt, ap);
	va_end(ap);
	x->r->statements_note = pgw_buf_detach(&b);
	return x->r->statements_note ? 0 : pgw_err_oom(x->err);
}

static int read_statements(struct ctx *x)
{
	struct pgw_err qerr = PGW_ERR_INIT;
	struct pgw_buf sql = PGW_BUF_INIT;
	PGresult *res = NULL;
	char *nsp = NULL, top[32];
	const char *params[1] = { top };
	const char *total, *mean;
	int i, n, error;

	error = query(
	        x, &res, "pg_stat_statements",
	        TAG "SELECT n.nspname, e.extversion"
	            " FROM pg_catalog.pg_extension e"
	            " JOIN pg_catalog.pg_namespace n ON n.oid = e.extnamespace"
	            " WHERE e.extname = 'pg_stat_statements'",
	        0, NULL);
	if (error)
		return error;
	if (PQntuples(res) == 0) {
		PQclear(res);
		return statements_note(
		        x,
		        "pg_stat_statements is not installed in this database: no statement statistics (CREATE EXTENSION pg_stat_statements, with pg_stat_statements in shared_preload_libraries)");
	}
	nsp = pgw_pg_ident(x->c, txt(res, 0, 0), x->err);
	/* 1.8 (PostgreSQL 13) split planning from execution time */
	if (ext_version(txt(res, 0, 1)) >= 108) {
		total = "total_exec_time";
		mean = "mean_exec_time";
	} else {
		total = "total_time";
		mean = "mean_time";
	}
	PQclear(res);
	res = NULL;
	if (!nsp)
		return x->err->code;
	snprintf(top, sizeof(top), "%d", x->opts->top);
	pgw_buf_printf(&sql,
	               TAG
	               "SELECT s.query, pg_catalog.pg_get_userbyid(s.userid),"
	               " s.calls, s.rows, s.%s, s.%s"
	               " FROM %s.pg_stat_statements s"
	               " WHERE s.dbid = " PGW_SQL_THIS_DATABASE
	               " AND s.query NOT LIKE '/* pgward doctor */%%'"
	               " ORDER BY s.%s DESC LIMIT $1::pg_catalog.int4",
	               total, mean, nsp, total);
	PQfreemem(nsp);
	if (pgw_buf_oom(&sql)) {
		pgw_buf_release(&sql);
		return pgw_err_oom(x->err);
	}
	/* a failure here is a note, not the doctor's failure: the
	 * extension installed but not loaded is common */
	if (pgw_pg_exec(&res, x->c, sql.ptr, 1, params, &qerr)) {
		pgw_buf_release(&sql);
		if (!strcmp(qerr.sqlstate, "55000"))
			return statements_note(
			        x,
			        "pg_stat_statements is installed but not loaded: add it to shared_preload_libraries and restart the server");
		return statements_note(x, "cannot read pg_stat_statements: %s",
		                       qerr.msg);
	}
	pgw_buf_release(&sql);
	x->r->have_statements = true;
	n = PQntuples(res);
	x->r->statements = calloc((size_t)n + 1, sizeof(*x->r->statements));
	if (!x->r->statements)
		x->oom = true;
	for (i = 0; x->r->statements && i < n; i++) {
		struct pgw_doctor_stmt *s = &x->r->statements[i];
		const char *q = val(res, i, 0);
		char *safe =
		        pgw_doctor_redact(q ? q : "(query text not available)");

		x->r->n_statements++;
		s->query = safe ? pgw_doctor_shorten(safe, QUERY_MAX) : NULL;
		if (!s->query)
			x->oom = true;
		free(safe);
		s->role = dup(x, txt(res, i, 1));
		s->calls = strtoll(txt(res, i, 2), NULL, 10);
		s->rows = strtoll(txt(res, i, 3), NULL, 10);
		s->total_ms = strtod(txt(res, i, 4), NULL);
		s->mean_ms = strtod(txt(res, i, 5), NULL);
	}
	PQclear(res);
	return x->oom ? pgw_err_oom(x->err) : 0;
}

/* ---------------------------------------------------------------------- */

static const struct {
	int (*run)(struct ctx *x);
} steps[] = {
	{ read_scope },   { read_settings },   { check_invalid },
	{ check_unused }, { check_duplicate }, { check_prefix },
	{ check_fk },     { check_vacuum },    { check_sessions },
	{ read_sizes },   { read_statements },
};

int pgw_doctor(struct pgw_doctor_report **out, const struct pgw_config *cfg,
               const struct pgw_doctor_opts *opts, struct pgw_err *err)
{
	struct ctx x;
	size_t i;
	int error;

	*out = NULL;
	memset(&x, 0, sizeof(x));
	x.cfg = cfg;
	x.opts = opts;
	x.err = err;
	x.r = calloc(1, sizeof(*x.r));
	if (!x.r)
		return pgw_err_oom(err);
	error = open_conn(&x);
	if (!error) {
		x.r->database = pgw_pg_describe(x.c);
		if (!x.r->database)
			error = pgw_err_oom(err);
	}
	for (i = 0; !error && i < sizeof(steps) / sizeof(steps[0]); i++) {
		error = steps[i].run(&x);
		if (!error && x.oom)
			error = pgw_err_oom(err);
	}
	PQfinish(x.c);
	free(x.scope);
	if (error) {
		pgw_doctor_report_free(x.r);
		return error;
	}
	*out = x.r;
	return 0;
}

static void free_sizes(struct pgw_doctor_size *v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		free(v[i].name);
		free(v[i].table);
		free(v[i].total_pretty);
		free(v[i].table_pretty);
		free(v[i].index_pretty);
	}
	free(v);
}

void pgw_doctor_report_free(struct pgw_doctor_report *r)
{
	size_t i, k;

	if (!r)
		return;
	for (i = 0; i < r->n_findings; i++) {
		struct pgw_doctor_finding *f = &r->findings[i];

		free(f->object);
		free(f->message);
		free(f->fix);
		for (k = 0; k < f->n_fields; k++)
			free(f->fields[k].value);
		free(f->fields);
	}
	free(r->findings);
	for (i = 0; i < r->n_schemas; i++)
		free(r->schemas[i]);
	free(r->schemas);
	for (i = 0; i < r->n_notes; i++)
		free(r->notes[i]);
	free(r->notes);
	free_sizes(r->tables, r->n_tables);
	free_sizes(r->indexes, r->n_indexes);
	for (i = 0; i < r->n_statements; i++) {
		free(r->statements[i].query);
		free(r->statements[i].role);
	}
	free(r->statements);
	free(r->statements_note);
	free(r->database);
	free(r->stats_reset);
	free(r);
}
