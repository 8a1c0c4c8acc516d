/* backup.c - pgward backup: one exported snapshot, the catalog reader's
 * DDL, every table's rows streamed with COPY into archive parts, by one or
 * more readers sharing the snapshot. */
#include "pgward.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "archive.h"
#include "clock.h"
#include "catalog.h"
#include "fault.h"
#include "history.h"
#include "interrupt.h"
#include "pg.h"
#include "plan.h"

#define LOCK_RETRIES 5
/* Full parts waiting for the archive writer, each at most
 * PGW_ARCHIVE_PART_SIZE.  One is enough: the writer hashes and hands a
 * part to zstd (whose workers buffer some more) in a fraction of the time
 * a reader takes to fill the next one; a second slot was no faster and
 * cost another 8 MB. */
#define QUEUE_PARTS 1

/* A unit of reading: a whole table, or a range of its pages (a large
 * table is split by ctid so that --jobs readers share it). */
struct work {
	unsigned seq;
	long first_page, end_page; /* -1: open end; both -1: whole table */
};

/* A full part on its way to the archive.  The slot keeps its buffer: a
 * reader swaps its full buffer for the slot's empty one, so buffers are
 * reused and never copied. */
struct queued_part {
	char name[512];
	long long rows;
	struct pgw_buf buf;
};

/* Shared by the readers and the writer; `mu` guards everything below
 * it. */
struct backup {
	const struct pgw_config *cfg;
	const struct pgw_catalog *cat;
	const char *snapshot;
	const char *host, *port; /* the leader's: readers connect there */
	const char *app;
	pthread_mutex_t mu;
	struct pgw_archive_writer *w;
	struct pgw_manifest_table *tables;
	unsigned *parts; /* parts written per table */
	unsigned *chunks_left; /* per table: ranges not done yet */
	unsigned long long *table_bytes; /* per table: COPY text queued */
	double *table_t0;      /* per table: when its first range started */
	struct work *work; /* what readers take, in order */
	size_t n_work;
	size_t next;
	bool failed;
	struct pgw_err err; /* the first reader's error */
	unsigned long long data_bytes;
	long long rows;
	size_t tables_done;
	double started, last_report;
	/* The readers queue full parts; one writer thread adds them to the
	 * archive (SHA-256, tar, zstd, write) in queue order, so a reader
	 * goes straight back to draining its COPY and the server never
	 * waits for the compressor.  Slots from tail to head are queued. */
	struct queued_part queue[QUEUE_PARTS];
	size_t q_head, q_tail;
	bool q_closed;                 /* no more parts: the writer ends */
	pthread_cond_t q_more, q_room; /* for the writer, for the readers */
};

void pgw_backup_report_free(struct pgw_backup_report *r)
{
	if (!r)
		return;
	free(r->path);
	free(r->uri);
	free(r);
}

/* Entry names are for people reading `tar -t`: no '/' or control
 * characters from table names (restore goes by table number). */
static void entry_name(char *out, size_t cap, unsigned seq,
		       const struct pgw_catalog_table *t, unsigned part)
{
	char clean[2][160];
	const char *src[2] = { t->schema, t->name };
	int k;

	/* Only for people reading `tar -t` (restore goes by table number):
	 * no '/', '\\', "..", DEL or control characters (C1 included), which
	 * the archive refuses in names. */
	for (k = 0; k < 2; k++) {
		const unsigned char *p = (const unsigned char *)src[k];
		size_t j = 0;

		for (; *p && j + 2 < sizeof(clean[k]); p++) {
			bool bad = *p == '/' || *p == '\\' || *p < 0x20 || *p == 0x7f ||
				   (*p == '.' && (j == 0 || clean[k][j - 1] == '.' ||
						  !p[1] || p[1] == '.'));

			if (*p == 0xc2 && p[1] >= 0x80 && p[1] <= 0x9f) {
				bad = true;
				p++;
			}
			clean[k][j++] = bad ? '_' : (char)*p;
		}
		clean[k][j] = '\0';
	}
	snprintf(out, cap, "data/%04u.%s.%s.copy.%03u", seq, clean[0],
		 clean[1], part);
}

static void report_progress(struct backup *b, bool force)
{
	double t = pgw_clock_now();

	if (!force && t - b->last_report < 5)
		return;
	b->last_report = t;
	pgw_log_notice("backup: %zu of %zu tables, %lld rows, %.1f MB read (%.1f MB/s)",
		       b->tables_done, b->cat->n_tables, b->rows,
		       (double)b->data_bytes / 1e6,
		       (double)b->data_bytes / 1e6 / (t - b->started + 1e-9));
}

/* Queue a full part for the archive writer (many readers, one writer).
 * The part's number is given here, under the lock: parts of a table read
 * by several readers still reach the archive in order.  *buf comes back
 * empty (the slot's buffer, its memory kept). */
static int flush_part(struct backup *b, unsigned seq, struct pgw_buf *buf,
		      long long rows, struct pgw_err *err)
{
	const struct pgw_catalog_table *t = &b->cat->tables[seq - 1];
	struct queued_part *q;
	struct pgw_buf empty;

	pthread_mutex_lock(&b->mu);
	while (!b->failed && b->q_head - b->q_tail == QUEUE_PARTS)
		pthread_cond_wait(&b->q_room, &b->mu);
	if (b->failed) {
		pthread_mutex_unlock(&b->mu);
		pgw_buf_reset(buf);
		return pgw_err_set(err, PGW_ERROR, "the backup failed elsewhere");
	}
	q = &b->queue[b->q_head % QUEUE_PARTS];
	b->parts[seq - 1]++;
	entry_name(q->name, sizeof(q->name), seq, t, b->parts[seq - 1]);
	q->rows = rows;
	empty = q->buf;
	q->buf = *buf;
	*buf = empty;
	b->q_head++;
	b->data_bytes += q->buf.len;
	b->rows += rows;
	b->tables[seq - 1].rows += rows;
	b->table_bytes[seq - 1] += q->buf.len;
	report_progress(b, false);
	pthread_cond_signal(&b->q_more);
	pthread_mutex_unlock(&b->mu);
	return 0;
}

/* Record the first failure (of a reader or the writer): everyone stops. */
static void fail(struct backup *b, const struct pgw_err *err)
{
	pthread_mutex_lock(&b->mu);
	if (!b->failed) {
		b->failed = true;
		b->err = *err;
	}
	pthread_cond_broadcast(&b->q_room);
	pthread_cond_broadcast(&b->q_more);
	pthread_mutex_unlock(&b->mu);
}

/* The archive writer: add queued parts until the queue is closed and
 * empty.  After a failure it only empties the queue (readers waiting for
 * room must not hang). */
static void *writer_thread(void *arg)
{
	struct backup *b = arg;
	struct pgw_err err = PGW_ERR_INIT;
	struct queued_part *q;
	sigset_t all;
	bool failed;
	int error;

	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, NULL);
	for (;;) {
		pthread_mutex_lock(&b->mu);
		while (b->q_head == b->q_tail && !b->q_closed)
			pthread_cond_wait(&b->q_more, &b->mu);
		if (b->q_head == b->q_tail) {
			pthread_mutex_unlock(&b->mu);
			return NULL;
		}
		/* the slot at tail is this thread's until tail moves on */
		q = &b->queue[b->q_tail % QUEUE_PARTS];
		failed = b->failed;
		pthread_mutex_unlock(&b->mu);
		error = failed ? 0 :
				 pgw_archive_add(b->w, q->name, q->buf.ptr, q->buf.len,
						 "text", q->rows, &err);
		pgw_buf_reset(&q->buf);
		if (error)
			fail(b, &err);
		pthread_mutex_lock(&b->mu);
		b->q_tail++;
		pthread_cond_broadcast(&b->q_room);
		pthread_mutex_unlock(&b->mu);
	}
}

/* Close the queue and wait for the writer to add what is in it. */
static void writer_stop(struct backup *b, pthread_t th)
{
	pthread_mutex_lock(&b->mu);
	b->q_closed = true;
	pthread_cond_signal(&b->q_more);
	pthread_mutex_unlock(&b->mu);
	pthread_join(th, NULL);
}

/* COPY one table (or a page range of it) out, cut into parts at row
 * boundaries. */
static int copy_table(struct backup *b, PGconn *c, const struct work *wk,
		      struct pgw_buf *buf, struct pgw_err *err)
{
	unsigned seq = wk->seq;
	const struct pgw_catalog_table *t = &b->cat->tables[seq - 1];
	struct pgw_buf sql = PGW_BUF_INIT;
	long long rows = 0;
	double t0;
	PGresult *res;
	char *row;
	int n, error = 0;

	/* a table's time runs from its first range, whichever reader took it */
	pthread_mutex_lock(&b->mu);
	if (!b->table_t0[seq - 1])
		b->table_t0[seq - 1] = pgw_clock_now();
	t0 = b->table_t0[seq - 1];
	pthread_mutex_unlock(&b->mu);

	/* generated columns are left out; none at all: COPY leaves them
	 * out by itself */
	if (wk->first_page >= 0) {
		/* PostgreSQL 14+ reads a ctid range without a full scan */
		pgw_buf_printf(&sql, "COPY (SELECT %s FROM ONLY %s WHERE ctid >= '(%ld,0)'::tid",
			       t->columns, t->qualified, wk->first_page);
		if (wk->end_page >= 0)
			pgw_buf_printf(&sql, " AND ctid < '(%ld,0)'::tid", wk->end_page);
		pgw_buf_puts(&sql, ") TO STDOUT");
	} else if (t->columns && *t->columns) {
		pgw_buf_printf(&sql, "COPY %s (%s) TO STDOUT", t->qualified,
			       t->columns);
	} else {
		pgw_buf_printf(&sql, "COPY %s TO STDOUT", t->qualified);
	}
	if (pgw_buf_oom(&sql))
		return pgw_err_oom(err);
	res = PQexec(c, sql.ptr);
	pgw_buf_release(&sql);
	if (PQresultStatus(res) != PGRES_COPY_OUT) {
		pgw_pg_error(err, c, res);
		PQclear(res);
		pgw_err_wrap(err, "reading table %s", t->qualified);
		return err->code;
	}
	PQclear(res);
	{
		struct pgw_progress pr = { "backup", t->qualified, 0, t->est_rows,
					   0, 0, false };

		pgw_progress_report(&pr);
	}
	while ((n = PQgetCopyData(c, &row, 0)) > 0) {
		if (((rows + 1) & 8191) == 0) {
			struct pgw_progress pr = { "backup", t->qualified, 0,
						   t->est_rows, 0, pgw_clock_now() - t0, false };

			/* the table's rows queued so far, by every reader */
			pthread_mutex_lock(&b->mu);
			pr.done = (double)(b->tables[seq - 1].rows + rows);
			pr.bytes = b->table_bytes[seq - 1] + buf->len;
			pthread_mutex_unlock(&b->mu);
			pgw_progress_report(&pr);
		}
		if (buf->len && buf->len + (size_t)n > PGW_ARCHIVE_PART_SIZE) {
			error = flush_part(b, seq, buf, rows, err);
			rows = 0;
		}
		pgw_buf_put(buf, row, (size_t)n);
		PQfreemem(row);
		rows++;
		if (error || pgw_buf_oom(buf) || pgw_interrupted())
			break;
	}
	if (n > 0 || pgw_buf_oom(buf) || error || pgw_interrupted()) {
		/* leave the COPY: the connection is dropped by the caller */
		if (!error)
			error = pgw_buf_oom(buf) ? pgw_err_oom(err) :
				pgw_err_set(err, PGW_EFAILED, "interrupted by a signal");
		return error;
	}
	while ((res = PQgetResult(c))) {
		if (PQresultStatus(res) != PGRES_COMMAND_OK && !error) {
			error = pgw_pg_error(err, c, res);
			pgw_err_wrap(err, "reading table %s", t->qualified);
		}
		PQclear(res);
	}
	if (!error && buf->len)
		error = flush_part(b, seq, buf, rows, err);
	if (!error) {
		struct pgw_progress pr = { "backup", t->qualified, 0, t->est_rows,
					   0, pgw_clock_now() - t0, true };
		bool last;

		pthread_mutex_lock(&b->mu);
		pr.done = (double)b->tables[seq - 1].rows;
		pr.bytes = b->table_bytes[seq - 1];
		last = --b->chunks_left[seq - 1] == 0;
		if (!last) {
			pthread_mutex_unlock(&b->mu);
			return 0;
		}
		b->tables_done++;
		pgw_log_info("backup: %s: %lld rows", t->qualified,
			     b->tables[seq - 1].rows);
		pthread_mutex_unlock(&b->mu);
		pgw_progress_report(&pr);
		pgw_fault("backup-table");
	}
	return error;
}

/* A reader: take the next table until none is left or one failed. */
static int read_tables(struct backup *b, PGconn *c, struct pgw_err *err)
{
	struct pgw_buf buf = PGW_BUF_INIT;
	int error = 0;

	for (;;) {
		size_t i;

		pthread_mutex_lock(&b->mu);
		i = b->next++;
		if (b->failed || i >= b->n_work) {
			pthread_mutex_unlock(&b->mu);
			break;
		}
		pthread_mutex_unlock(&b->mu);
		error = copy_table(b, c, &b->work[i], &buf, err);
		if (error)
			break;
	}
	pgw_buf_release(&buf);
	if (error)
		fail(b, err);
	return error;
}

/* Pages per range when a table is split among readers (8 MiB). */
#define SPLIT_PAGES 1024L

/* What the readers take: each table whole, or, with several readers, a
 * large table in page ranges (the last range open-ended: the estimate
 * may be behind the snapshot). */
static int plan_work(struct backup *b, int jobs, struct pgw_err *err)
{
	const struct pgw_catalog *cat = b->cat;
	size_t k, n = 0, cap = cat->n_tables + 1;

	b->chunks_left = calloc(cat->n_tables + 1, sizeof(*b->chunks_left));
	b->table_bytes = calloc(cat->n_tables + 1, sizeof(*b->table_bytes));
	b->table_t0 = calloc(cat->n_tables + 1, sizeof(*b->table_t0));
	for (k = 0; k < cat->n_tables; k++) {
		long pages = (long)(cat->tables[k].est_bytes / 8192);

		if (jobs > 1 && pages > SPLIT_PAGES && cat->tables[k].columns &&
		    *cat->tables[k].columns)
			cap += (size_t)(pages / SPLIT_PAGES) + 1;
	}
	b->work = calloc(cap, sizeof(*b->work));
	if (!b->work || !b->chunks_left || !b->table_bytes || !b->table_t0)
		return pgw_err_oom(err);
	for (k = 0; k < cat->n_tables; k++) {
		long pages = (long)(cat->tables[k].est_bytes / 8192), p;
		unsigned seq = (unsigned)k + 1;

		if (jobs > 1 && pages > SPLIT_PAGES && cat->tables[k].columns &&
		    *cat->tables[k].columns) {
			for (p = 0; p < pages; p += SPLIT_PAGES) {
				b->work[n].seq = seq;
				b->work[n].first_page = p;
				b->work[n].end_page = p + SPLIT_PAGES < pages ? p + SPLIT_PAGES : -1;
				n++;
				b->chunks_left[k]++;
			}
			pgw_log_info("backup: %s is read in %u page ranges by %d readers",
				     cat->tables[k].qualified, b->chunks_left[k], jobs);
		} else {
			b->work[n].seq = seq;
			b->work[n].first_page = b->work[n].end_page = -1;
			n++;
			b->chunks_left[k] = 1;
		}
	}
	b->n_work = n;
	return 0;
}

static int begin_snapshot_tx(PGconn *c, struct pgw_err *err)
{
	return pgw_pg_run(c, "BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY", err);
}

/* A helper reader: its own connection on the leader's snapshot. */
static void *reader_thread(void *arg)
{
	struct backup *b = arg;
	struct pgw_err err = PGW_ERR_INIT;
	PGconn *c = NULL;
	char *lit = NULL;
	int error;
	sigset_t all;

	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, NULL);
	error = pgw_pg_connect_at(&c, pgw_config_session_url(b->cfg),
				  b->host, b->port, NULL, b->app, &err);
	if (!error)
		error = pgw_pg_pin_settings(c, &err);
	if (!error)
		error = begin_snapshot_tx(c, &err);
	if (!error) {
		struct pgw_buf sql = PGW_BUF_INIT;

		lit = PQescapeLiteral(c, b->snapshot, strlen(b->snapshot));
		pgw_buf_printf(&sql, "SET TRANSACTION SNAPSHOT %s", lit ? lit : "''");
		error = pgw_pg_run(c, sql.ptr, &err);
		pgw_buf_release(&sql);
	}
	if (!error)
		read_tables(b, c, &err);
	else
		fail(b, &err);
	PQfreemem(lit);
	PQfinish(c);
	return NULL;
}

/* The relations of the schemas in scope ($1, oids) a backup locks: those
 * whose rows it reads, and those the catalog reader opens (pg_get_expr of
 * a column default locks its table). */
#define SCOPE_RELATIONS \
	" FROM pg_catalog.pg_class c" \
	" JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace" \
	" WHERE c.relnamespace = ANY ($1::oid[]) AND c.relkind IN ('r', 'p')"

/* ACCESS SHARE on every table in scope, NOWAIT, retried: a backup never
 * queues behind (and so never blocks) production traffic.  Called by the
 * catalog reader as soon as the scope is known, before it reads anything
 * that opens a relation. */
static int lock_scope(PGconn *c, const char *schema_oids, void *arg,
		      struct pgw_err *err)
{
	struct pgw_buf sql = PGW_BUF_INIT;
	PGresult *res = NULL;
	const char *params[1] = { schema_oids };
	int attempt, row, error;

	(void)arg;
	error = pgw_pg_exec(&res, c,
			    "SELECT pg_catalog.format('%I.%I', n.nspname, c.relname),"
			    " pg_catalog.has_table_privilege(c.oid, 'SELECT')"
			    SCOPE_RELATIONS " ORDER BY 1",
			    1, params, err);
	if (error || PQntuples(res) == 0) {
		PQclear(res);
		return error;
	}
	/* a table the role cannot read is named, before anything is locked */
	for (row = 0; row < PQntuples(res); row++)
		if (PQgetvalue(res, row, 1)[0] != 't')
			pgw_buf_printf(&sql, "%s%s", sql.len ? ", " : "", PQgetvalue(res, row, 0));
	if (sql.len) {
		error = pgw_err_set(err, PGW_EINVAL,
				    "the backup role cannot read %s", sql.ptr);
		pgw_err_hint(err, "a backup carries every table of its schemas: GRANT SELECT on them to this role, or back up as a role that can read them");
		pgw_buf_release(&sql);
		PQclear(res);
		return error;
	}
	pgw_buf_puts(&sql, "LOCK TABLE ");
	for (row = 0; row < PQntuples(res); row++)
		pgw_buf_printf(&sql, "%s%s", row ? ", " : "", PQgetvalue(res, row, 0));
	pgw_buf_puts(&sql, " IN ACCESS SHARE MODE NOWAIT");
	PQclear(res);
	res = NULL;
	if (pgw_buf_oom(&sql))
		return pgw_err_oom(err);
	for (attempt = 0;; attempt++) {
		error = pgw_pg_run(c, "SAVEPOINT pgward_lock", err);
		if (!error)
			error = pgw_pg_run(c, sql.ptr, err);
		if (!error || strcmp(err->sqlstate, "55P03") != 0 ||
		    attempt >= LOCK_RETRIES || pgw_interrupted())
			break;
		pgw_err_clear(err);
		error = pgw_pg_run(c, "ROLLBACK TO SAVEPOINT pgward_lock", err);
		if (error)
			break;
		pgw_clock_sleep((0.1 + 0.2 * pgw_clock_jitter()) * (attempt + 1));
	}
	if (error && !strcmp(err->sqlstate, "55P03")) {
		struct pgw_err e2 = PGW_ERR_INIT;

		/* name who holds, on one of these tables, what we could not get */
		pgw_pg_run(c, "ROLLBACK TO SAVEPOINT pgward_lock", &e2);
		if (!pgw_pg_exec(&res, c,
				 "SELECT DISTINCT l.relation::regclass::text, a.pid, a.application_name,"
				 " a.state, left(a.query, 60) FROM pg_catalog.pg_locks l"
				 " JOIN pg_catalog.pg_stat_activity a ON a.pid = l.pid"
				 " WHERE l.granted AND l.mode = 'AccessExclusiveLock'"
				 " AND l.locktype = 'relation' AND l.pid <> pg_catalog.pg_backend_pid()"
				 " AND l.database = " PGW_SQL_THIS_DATABASE
				 " AND l.relation IN (SELECT c.oid" SCOPE_RELATIONS ")"
				 " ORDER BY 1, 2 LIMIT 5",
				 1, params, &e2))
			for (row = 0; row < PQntuples(res); row++)
				pgw_err_note(err, "table %s is locked by pid %s (%s, %s): %s",
					     PQgetvalue(res, row, 0), PQgetvalue(res, row, 1),
					     PQgetvalue(res, row, 2), PQgetvalue(res, row, 3),
					     PQgetvalue(res, row, 4));
		PQclear(res);
		pgw_err_wrap(err, "cannot lock the tables to back up after %d tries",
			     LOCK_RETRIES + 1);
		pgw_err_hint(err, "a backup waits for no one; try again when the session above is done");
	}
	pgw_buf_release(&sql);
	return error;
}

/* The psql script that restores an extracted archive without pgward. */
static char *restore_script(const struct pgw_manifest_info *info,
			    const struct pgw_catalog *cat,
			    unsigned *parts_per_table)
{
	struct pgw_buf s = PGW_BUF_INIT;
	const char *const *p;
	size_t i;

	pgw_buf_puts(&s,
		     "-- restore.sql: restores this archive without pgward, into an\n"
		     "-- empty database, in one transaction.  From the extracted archive:\n"
		     "--   psql -X -d DATABASE -f restore.sql\n"
		     "\\set ON_ERROR_STOP on\n"
		     "BEGIN;\n");
	for (p = info->settings; p && *p; p++) {
		const char *eq = strchr(*p, '=');

		if (eq)
			pgw_buf_printf(&s, "SET %.*s = '%s';\n", (int)(eq - *p), *p, eq + 1);
	}
	/* extensions are prerequisites: created when missing */
	for (p = info->extensions; p && *p; p++) {
		char name[256], version[256], schema[256];

		if (!pgw_archive_extension_parts(*p, name, version, schema))
			continue;
		if (schema[0] && strncmp(schema, "pg_", 3) != 0)
			pgw_buf_printf(&s, "CREATE SCHEMA IF NOT EXISTS \"%s\";\n", schema);
		pgw_buf_printf(&s, "CREATE EXTENSION IF NOT EXISTS \"%s\"", name);
		if (schema[0])
			pgw_buf_printf(&s, " SCHEMA \"%s\"", schema);
		if (version[0])
			pgw_buf_printf(&s, " VERSION '%s'", version);
		pgw_buf_puts(&s, ";\n");
	}
	pgw_buf_puts(&s, "\\i schema/pre-data.sql\n");
	for (i = 0; i < cat->n_tables; i++) {
		unsigned part;

		for (part = 1; part <= parts_per_table[i]; part++) {
			char name[512];
			const char *q;

			entry_name(name, sizeof(name), (unsigned)i + 1,
				   &cat->tables[i], part);
			pgw_buf_printf(&s, "\\copy %s", cat->tables[i].qualified);
			if (cat->tables[i].columns && *cat->tables[i].columns)
				pgw_buf_printf(&s, " (%s)", cat->tables[i].columns);
			pgw_buf_puts(&s, " FROM '");
			for (q = name; *q; q++) {
				if (*q == '\'')
					pgw_buf_putc(&s, '\'');
				pgw_buf_putc(&s, *q);
			}
			pgw_buf_puts(&s, "'\n");
		}
	}
	pgw_buf_puts(&s, "\\i schema/post-data.sql\nCOMMIT;\nANALYZE;\n");
	return pgw_buf_detach(&s);
}

/* Where the archive goes: -o FILE, or <backup dir>/<db>-<UTC>.tar.zst. */
static char *output_path(const struct pgw_config *cfg,
			 const struct pgw_backup_opts *opts, const char *db,
			 struct pgw_err *err)
{
	const char *dir = cfg->backup_dir ? cfg->backup_dir : "backups";
	struct pgw_buf p = PGW_BUF_INIT;
	char stamp[32];
	time_t t = time(NULL);
	struct tm tm;
	const char *c;

	if (opts->output)
		return strdup(opts->output);
	if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
		pgw_err_set(err, PGW_EIO, "cannot create backup dir '%s': %s",
			    dir, strerror(errno));
		return NULL;
	}
	/* names are per second: a second backup within the same second
	 * (two deploys in a row) waits for the next one */
	for (;;) {
		gmtime_r(&t, &tm);
		strftime(stamp, sizeof(stamp), "%Y%m%dT%H%M%SZ", &tm);
		pgw_buf_reset(&p);
		pgw_buf_printf(&p, "%s/", dir);
		for (c = db; *c; c++)
			pgw_buf_putc(&p, *c == '/' ? '_' : *c);
		pgw_buf_printf(&p, "-%s.tar%s", stamp,
			       opts->zstd_level ? ".zst" : "");
		if (pgw_buf_oom(&p) || access(p.ptr, F_OK) != 0)
			break;
		pgw_clock_sleep(0.2);
		t = time(NULL);
	}
	return pgw_buf_detach(&p);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Does an unfinished deploy's journal row refer to this archive?  (The
 * journal may not exist yet: then nothing does.) */
static bool in_use(PGconn *c, const char *path)
{
	const char *params[1] = { path };
	struct pgw_err e = PGW_ERR_INIT;
	PGresult *res = NULL;
	bool used;

	if (pgw_pg_exec(&res, c,
			"SELECT pg_catalog.to_regclass('pgward_journal.deploys') IS NOT NULL",
			0, NULL, &e) ||
	    strcmp(PQgetvalue(res, 0, 0), "t") != 0) {
		PQclear(res);
		return false;
	}
	PQclear(res);
	res = NULL;
	/* when in doubt, keep it */
	if (pgw_pg_exec(&res, c,
			"SELECT EXISTS (SELECT 1 FROM pgward_journal.deploys"
			" WHERE finished_at IS NULL AND backup_uri LIKE '%' || $1)",
			1, params, &e))
		return true;
	used = !strcmp(PQgetvalue(res, 0, 0), "t");
	PQclear(res);
	return used;
}

/* [backup] keep: the newest N archives of this database in the backup
 * dir stay; older ones go, never the newest and never one an unfinished
 * deploy refers to. */
static void prune(PGconn *c, const struct pgw_config *cfg, const char *db,
		  const char *written)
{
	const char *dir = cfg->backup_dir ? cfg->backup_dir : "backups";
	long keep = cfg->backup_keep ? strtol(cfg->backup_keep, NULL, 10) : 10;
	char **names = NULL;
	size_t n = 0, cap = 0, i, dlen = strlen(db);
	struct dirent *de;
	DIR *d;

	if (keep < 1)
		keep = 1;
	d = opendir(dir);
	if (!d)
		return;
	while ((de = readdir(d))) {
		const char *nm = de->d_name;
		char **bigger;

		/* <db>-YYYYmmddTHHMMSSZ.tar[.zst], as output_path() names them */
		if (strncmp(nm, db, dlen) != 0 || nm[dlen] != '-' ||
		    strlen(nm + dlen + 1) < 20 || nm[dlen + 9] != 'T' ||
		    (strcmp(nm + dlen + 17, ".tar") && strcmp(nm + dlen + 17, ".tar.zst")))
			continue;
		if (n == cap) {
			cap = cap ? 2 * cap : 16;
			bigger = realloc(names, cap * sizeof(*names));
			if (!bigger)
				break;
			names = bigger;
		}
		names[n] = strdup(nm);
		if (names[n])
			n++;
	}
	closedir(d);
	if (n)
		qsort(names, n, sizeof(*names), cmp_str);
	for (i = 0; n > (size_t)keep && i < n - (size_t)keep; i++) {
		char path[4096];

		if (snprintf(path, sizeof(path), "%s/%s", dir, names[i]) >= (int)sizeof(path) ||
		    !strcmp(path, written) || in_use(c, names[i]))
			continue;
		if (unlink(path) == 0)
			pgw_log_info("backup: removed old archive %s ([backup] keep = %ld)",
				     path, keep);
	}
	for (i = 0; i < n; i++)
		free(names[i]);
	free(names);
}

/* --backup-target command:CMD.  CMD (run by /bin/sh) gets the archive on
 * stdin and PGWARD_ARCHIVE_NAME / PGWARD_ARCHIVE_SHA256 in its
 * environment; it must exit 0 and print, as its last line, the SHA-256 of
 * the copy it stored, read back, and the copy's URI: "<sha256> <uri>".
 * Anything else fails the backup. */
static int upload(char **uri, const char *path, const char *sha,
		  const char *target, struct pgw_err *err)
{
	const char *cmd = target + 8;
	char out[65536], name_env[4200], sha_env[128];
	char *argv[] = { (char *)"sh", (char *)"-c", (char *)cmd, NULL };
	const char *base = strrchr(path, '/');
	posix_spawn_file_actions_t fa;
	extern char **environ;
	char **envp = NULL;
	size_t n = 0, envn = 0, i;
	int pipefd[2], in, status = 0, rc;
	ssize_t got;
	pid_t pid;
	char *line, *sp;

	*uri = NULL;
	if (strncmp(target, "command:", 8) != 0 || !cmd[0])
		return pgw_err_set(err, PGW_EINVAL,
				   "--backup-target '%s': only command:CMD is known", target);
	in = open(path, O_RDONLY | O_CLOEXEC);
	if (in < 0 || pipe(pipefd) != 0) {
		if (in >= 0)
			close(in);
		return pgw_err_set(err, PGW_EIO, "cannot start the upload: %s", strerror(errno));
	}
	snprintf(name_env, sizeof(name_env), "PGWARD_ARCHIVE_NAME=%s", base ? base + 1 : path);
	snprintf(sha_env, sizeof(sha_env), "PGWARD_ARCHIVE_SHA256=%s", sha);
	while (environ[envn])
		envn++;
	envp = calloc(envn + 3, sizeof(*envp));
	if (!envp) {
		close(in);
		close(pipefd[0]);
		close(pipefd[1]);
		return pgw_err_oom(err);
	}
	for (i = 0; i < envn; i++)
		envp[i] = environ[i];
	envp[envn] = name_env;
	envp[envn + 1] = sha_env;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, in, 0);
	posix_spawn_file_actions_adddup2(&fa, pipefd[1], 1);
	posix_spawn_file_actions_addclose(&fa, pipefd[0]);
	rc = posix_spawn(&pid, "/bin/sh", &fa, NULL, argv, envp);
	posix_spawn_file_actions_destroy(&fa);
	free(envp);
	close(in);
	close(pipefd[1]);
	if (rc != 0) {
		close(pipefd[0]);
		return pgw_err_set(err, PGW_EIO, "cannot run the backup target command: %s",
				   strerror(rc));
	}
	while ((got = read(pipefd[0], out + n, sizeof(out) - 1 - n)) > 0)
		if ((n += (size_t)got) == sizeof(out) - 1)
			n = 0; /* keep the tail: the last line matters */
	close(pipefd[0]);
	out[n] = '\0';
	waitpid(pid, &status, 0);
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		return pgw_err_set(err, PGW_EIO,
				   "the backup target command failed (exit %d); the archive stays at %s",
				   WIFEXITED(status) ? WEXITSTATUS(status) : -1, path);
	while (n && (out[n - 1] == '\n' || out[n - 1] == ' '))
		out[--n] = '\0';
	line = strrchr(out, '\n');
	line = line ? line + 1 : out;
	sp = strchr(line, ' ');
	if (!sp || (size_t)(sp - line) != 64 || strncmp(line, sha, 64) != 0) {
		pgw_err_set(err, PGW_EIO,
			    "the backup target did not confirm the archive: its read-back checksum '%.64s' is not %s",
			    line, sha);
		pgw_err_hint(err, "the command must print \"<sha256 of the stored copy> <uri>\" as its last line");
		return err->code;
	}
	*uri = strdup(sp + 1);
	return *uri ? 0 : pgw_err_oom(err);
}

static char *val(PGresult *res, int col)
{
	return PQgetisnull(res, 0, col) ? NULL : strdup(PQgetvalue(res, 0, col));
}

int pgw_backup(struct pgw_backup_report **out, const struct pgw_config *cfg,
	       const struct pgw_backup_opts *opts, struct pgw_err *err)
{
	static const char *const settings[] = {
		"DateStyle=ISO", "IntervalStyle=postgres", "extra_float_digits=3",
		"client_encoding=UTF8", "standard_conforming_strings=on", NULL
	};
	struct backup b;
	struct pgw_manifest_info info;
	struct pgw_catalog_opts copts = {
		.allow_unsupported = opts->allow_unsupported,
		.lock_scope = lock_scope,
	};
	struct pgw_backup_report *rep = NULL;
	struct pgw_catalog *cat = NULL;
	struct pgw_history *hist = NULL;
	PGresult *meta = NULL, *snap = NULL;
	PGconn *c = NULL;
	pthread_t *threads = NULL, writer;
	bool writer_running = false;
	unsigned *parts = NULL;
	const char **schemas = NULL, **omitted = NULL;
	char **exts = NULL;
	char *script = NULL, *path = NULL, vtext[32] = "", id[40], app[64];
	char *m_created = NULL, *m_db = NULL, *m_enc = NULL, *m_coll = NULL,
	     *m_ctype = NULL, *m_lsn = NULL;
	int jobs = opts->jobs > 0 ? opts->jobs : 1, started = 0, i, error;
	size_t k;

	*out = NULL;
	if (cfg->backup_keep) {
		char *end;
		long keep = strtol(cfg->backup_keep, &end, 10);

		if (*end || end == cfg->backup_keep || keep < 1)
			return pgw_err_set(err, PGW_EINVAL,
					   "[backup] keep must be a whole number >= 1, not '%s'",
					   cfg->backup_keep);
	}
	memset(&b, 0, sizeof(b));
	memset(&info, 0, sizeof(info));
	pthread_mutex_init(&b.mu, NULL);
	pthread_cond_init(&b.q_more, NULL);
	pthread_cond_init(&b.q_room, NULL);
	for (k = 0; k < QUEUE_PARTS; k++)
		b.queue[k].buf = (struct pgw_buf)PGW_BUF_INIT;
	b.cfg = cfg;
	b.started = b.last_report = pgw_clock_now();
	pgw_pg_new_id(id);
	snprintf(app, sizeof(app), "pgward:%s", id);
	b.app = app;
	error = pgw_pg_connect(&c, pgw_config_session_url(cfg),
			       app, err);
	/* SIGINT/SIGTERM cancel the leader's statement; the readers see the
	 * request, everyone stops and the partial file is removed */
	if (!error)
		pgw_interrupt_watch(c);
	if (!error)
		error = pgw_pg_pin_settings(c, err);
	if (!error)
		error = begin_snapshot_tx(c, err);
	if (!error)
		error = pgw_pg_exec(&snap, c, "SELECT pg_catalog.pg_export_snapshot()",
				    0, NULL, err);
	if (error)
		goto done;
	b.snapshot = PQgetvalue(snap, 0, 0);
	b.host = PQhost(c);
	b.port = PQport(c);
	error = pgw_pg_exec(&meta, c,
			    "SELECT pg_catalog.current_setting('server_version_num'),"
			    " pg_catalog.current_database(),"
			    " pg_catalog.pg_encoding_to_char(d.encoding), d.datcollate, d.datctype,"
			    " CASE WHEN pg_catalog.pg_is_in_recovery()"
			    "  THEN pg_catalog.pg_last_wal_replay_lsn()::text"
			    "  ELSE pg_catalog.pg_current_wal_lsn()::text END,"
			    " pg_catalog.to_char(pg_catalog.now() AT TIME ZONE 'UTC',"
			    "  'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')"
			    " FROM pg_catalog.pg_database d"
			    " WHERE d.datname = pg_catalog.current_database()",
			    0, NULL, err);
	if (error)
		goto done;
	m_db = val(meta, 1);
	m_enc = val(meta, 2);
	m_coll = val(meta, 3);
	m_ctype = val(meta, 4);
	m_lsn = val(meta, 5);
	m_created = val(meta, 6);
	{
		/* no history table must not abort the snapshot's transaction */
		const char *params[1] = { cfg->schema };
		PGresult *has = NULL;

		error = pgw_pg_exec(&has, c,
				    "SELECT pg_catalog.to_regclass(pg_catalog.format('%I.migrations', $1::text)) IS NOT NULL",
				    1, params, err);
		if (!error && !strcmp(PQgetvalue(has, 0, 0), "t"))
			error = pgw_history_load(&hist, c, cfg->schema, false, err);
		PQclear(has);
	}
	if (error)
		goto done;
	if (hist && hist->n)
		pgw_applied_vtext(vtext, &hist->v[hist->n - 1]);
	error = pgw_catalog_read(&cat, c, &copts, err);
	if (error)
		goto done;
	b.cat = cat;
	b.tables = calloc(cat->n_tables + 1, sizeof(*b.tables));
	b.parts = parts = calloc(cat->n_tables + 1, sizeof(*parts));
	schemas = calloc(cat->n_schemas + 1, sizeof(*schemas));
	omitted = calloc(cat->n_unsupported + 1, sizeof(*omitted));
	path = output_path(cfg, opts, m_db ? m_db : "db", err);
	if (!b.tables || !parts || !schemas || !omitted || !path) {
		error = err->code ? err->code : pgw_err_oom(err);
		goto done;
	}
	for (k = 0; k < cat->n_tables; k++) {
		b.tables[k].seq = (unsigned)k + 1;
		b.tables[k].schema = cat->tables[k].schema;
		b.tables[k].name = cat->tables[k].name;
		b.tables[k].columns = cat->tables[k].columns;
	}
	error = plan_work(&b, jobs, err);
	if (error)
		goto done;
	for (k = 0; k < cat->n_schemas; k++)
		schemas[k] = cat->schemas[k];
	for (k = 0; k < cat->n_unsupported; k++)
		omitted[k] = cat->unsupported[k].identity;
	error = pgw_archive_create(&b.w, path, opts->zstd_level, err);
	if (!error)
		error = pgw_archive_add(b.w, "schema/pre-data.sql", cat->pre_data,
					strlen(cat->pre_data), NULL, -1, err);
	if (error)
		goto done;
	pgw_log_notice("backup: %zu tables in %zu schemas to %s", cat->n_tables,
		       cat->n_schemas, path);
	threads = calloc((size_t)jobs, sizeof(*threads));
	if (!threads) {
		error = pgw_err_oom(err);
		goto done;
	}
	if (pthread_create(&writer, NULL, writer_thread, &b) != 0) {
		error = pgw_err_set(err, PGW_ERROR, "cannot start the archive writer thread");
		goto done;
	}
	writer_running = true;
	for (i = 1; i < jobs; i++) {
		if (pthread_create(&threads[i], NULL, reader_thread, &b) != 0)
			break;
		started++;
	}
	read_tables(&b, c, err);
	for (i = 1; i <= started; i++)
		pthread_join(threads[i], NULL);
	/* every part is queued: the writer adds what is left and ends */
	writer_stop(&b, writer);
	writer_running = false;
	if (b.failed) {
		/* the first failure, wherever it was (a reader that stopped
		 * because of it has only "failed elsewhere") */
		*err = b.err;
		error = err->code ? err->code : PGW_ERROR;
		goto done;
	}
	report_progress(&b, true);
	info.schemas = schemas;
	info.tables = b.tables;
	info.n_tables = cat->n_tables;
	info.created_at = m_created;
	info.server_version_num = (int)strtol(PQgetvalue(meta, 0, 0), NULL, 10);
	info.database = m_db;
	info.encoding = m_enc;
	info.collation = m_coll;
	info.ctype = m_ctype;
	info.schema_version = vtext[0] ? vtext : NULL;
	/* the release the database's schema came from: the newest history
	 * row's (an `up --release` or a deploy records them) */
	if (hist && hist->n) {
		info.git_commit = hist->v[hist->n - 1].git_commit;
		info.git_tag = hist->v[hist->n - 1].git_tag;
	}
	info.wal_lsn = m_lsn;
	exts = calloc(cat->n_extensions + 1, sizeof(*exts));
	if (!exts) {
		error = pgw_err_oom(err);
		goto done;
	}
	/* "name version schema": created where it was */
	for (k = 0; k < cat->n_extensions; k++) {
		struct pgw_buf e = PGW_BUF_INIT;

		pgw_buf_puts(&e, cat->extensions[k]);
		if (cat->extension_schemas && cat->extension_schemas[k])
			pgw_buf_printf(&e, " %s", cat->extension_schemas[k]);
		exts[k] = pgw_buf_detach(&e);
		if (!exts[k]) {
			error = pgw_err_oom(err);
			goto done;
		}
	}
	info.extensions = (const char *const *)exts;
	info.settings = settings;
	info.omitted = omitted;
	script = restore_script(&info, cat, parts);
	if (!script) {
		error = pgw_err_oom(err);
		goto done;
	}
	error = pgw_archive_add(b.w, "schema/post-data.sql", cat->post_data,
				strlen(cat->post_data), NULL, -1, err);
	if (!error)
		error = pgw_archive_add(b.w, "restore.sql", script, strlen(script),
					NULL, -1, err);
	if (error)
		goto done;
	rep = calloc(1, sizeof(*rep));
	if (!rep) {
		error = pgw_err_oom(err);
		goto done;
	}
	error = pgw_archive_finish(b.w, &info, rep->sha256, err);
	b.w = NULL;
	if (error)
		goto done;
	/* the snapshot's transaction ends before anything else happens */
	pgw_pg_run(c, "COMMIT", err);
	if (cfg->backup_target) {
		error = upload(&rep->uri, path, rep->sha256, cfg->backup_target, err);
		if (error)
			goto done;
		pgw_log_notice("backup: stored at %s", rep->uri);
	}
	if (!opts->output)
		prune(c, cfg, m_db ? m_db : "db", path);
	{
		struct stat sb;

		if (stat(path, &sb) == 0)
			rep->bytes = (unsigned long long)sb.st_size;
	}
	rep->path = path;
	path = NULL;
	rep->data_bytes = b.data_bytes;
	rep->rows = b.rows;
	rep->n_tables = cat->n_tables;
	rep->seconds = pgw_clock_now() - b.started;
	*out = rep;
	rep = NULL;
done:
	if (writer_running)
		writer_stop(&b, writer);
	if (error && b.w && path)
		pgw_err_note(err, "the unfinished archive %s.partial was removed", path);
	pgw_archive_abort(b.w);
	if (c)
		pgw_interrupt_watch(NULL);
	for (k = 0; k < QUEUE_PARTS; k++)
		pgw_buf_release(&b.queue[k].buf);
	pgw_backup_report_free(rep);
	PQclear(snap);
	PQclear(meta);
	PQfinish(c);
	pgw_catalog_free(cat);
	pgw_history_free(hist);
	free(b.tables);
	free(b.work);
	free(b.chunks_left);
	free(b.table_bytes);
	free(b.table_t0);
	free(parts);
	free(schemas);
	free(omitted);
	for (k = 0; exts && exts[k]; k++)
		free(exts[k]);
	free(exts);
	free(threads);
	free(script);
	free(path);
	free(m_created);
	free(m_db);
	free(m_enc);
	free(m_coll);
	free(m_ctype);
	free(m_lsn);
	pthread_cond_destroy(&b.q_room);
	pthread_cond_destroy(&b.q_more);
	pthread_mutex_destroy(&b.mu);
	return error;
}
