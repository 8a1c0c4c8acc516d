/* migfile.c - migration files: NNN_name.sql with sections, or the pair
 * NNN_name.up.sql + .down.sql (+ .verify.sql). */
#include "migfile.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hash.h"
#include "sqlparse.h"

static const char *const section_names[] = { "up", "down", "verify",
					     "count" };
#define N_SECTIONS 4

int pgw_version_parse(int64_t *out, const char *text, struct pgw_err *err)
{
	uint64_t v = 0;
	const char *p;

	if (!*text)
		return pgw_err_set(err, PGW_EINVAL, "empty version");
	for (p = text; *p; p++) {
		if (!isdigit((unsigned char)*p))
			return pgw_err_set(err, PGW_EINVAL,
					   "version '%s' is not a number", text);
		if (v > ((uint64_t)INT64_MAX - (uint64_t)(*p - '0')) / 10)
			return pgw_err_set(err, PGW_EINVAL,
					   "version '%s' does not fit in 64 bits",
					   text);
		v = v * 10 + (uint64_t)(*p - '0');
	}
	*out = (int64_t)v;
	return 0;
}

void pgw_section_release(struct pgw_section *sec)
{
	free(sec->text);
	free(sec->directives);
	pgw_stmts_free(sec->stmts, sec->n_stmts);
	memset(sec, 0, sizeof(*sec));
}

void pgw_migration_release(struct pgw_migration *m)
{
	free(m->vtext);
	free(m->name);
	free(m->file);
	free(m->path);
	free(m->up_file);
	free(m->down_file);
	free(m->verify_file);
	free(m->git_commit);
	free(m->git_tag);
	pgw_section_release(&m->up);
	pgw_section_release(&m->down);
	pgw_section_release(&m->verify);
	pgw_section_release(&m->count);
	memset(m, 0, sizeof(*m));
}

struct pgw_migset *pgw_migset_new(const char *dir)
{
	struct pgw_migset *set = calloc(1, sizeof(*set));

	if (set && !(set->dir = strdup(dir))) {
		free(set);
		return NULL;
	}
	return set;
}

struct pgw_migration *pgw_migset_add(struct pgw_migset *set)
{
	struct pgw_migration *v = realloc(set->v, (set->n + 1) * sizeof(*v));

	if (!v)
		return NULL;
	set->v = v;
	memset(&v[set->n], 0, sizeof(v[0]));
	return &v[set->n++];
}

void pgw_migset_free(struct pgw_migset *set)
{
	size_t i;

	if (!set)
		return;
	for (i = 0; i < set->n; i++)
		pgw_migration_release(&set->v[i]);
	free(set->v);
	free(set->dir);
	free(set);
}

const struct pgw_migration *pgw_migset_find(const struct pgw_migset *set,
					    int64_t version)
{
	size_t lo = 0, hi = set->n;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;

		if (set->v[mid].version == version)
			return &set->v[mid];
		if (set->v[mid].version < version)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

static const char *sql_kind_word(unsigned flags)
{
	if (flags & PGW_STMT_CONCURRENT_INDEX)
		return "CREATE INDEX CONCURRENTLY";
	return NULL;
}

/* The rules of DESIGN.md's Migrations section, statement by statement. */
static int check_statements(const struct pgw_section *sec,
			    enum pgw_section_kind kind, const char *file,
			    struct pgw_err *err)
{
	size_t i;

	for (i = 0; i < sec->n_stmts; i++) {
		const struct pgw_stmt *st = &sec->stmts[i];
		struct pgw_buf what = PGW_BUF_INIT;
		const char *word = sql_kind_word(st->flags);

		pgw_stmt_summary(&what, st->sql);
		if (st->flags & PGW_STMT_TX_CONTROL) {
			pgw_err_set(err, PGW_EINVAL,
				    "%s:%d: transaction control '%s' in a migration",
				    file, st->line, what.ptr);
			pgw_err_hint(err, "pgward runs migrations in its own transaction; remove it, or use '-- migrate:%s transaction:false' for statements that cannot run in one",
				     section_names[kind]);
		} else if (st->flags & PGW_STMT_COPY_STDIN) {
			pgw_err_set(err, PGW_EINVAL,
				    "%s:%d: inline COPY data (COPY with stdin/stdout) in a migration",
				    file, st->line);
			pgw_err_hint(err, "load data with INSERT statements, or COPY from a file on the server");
		} else if (sec->transactional &&
			   (st->flags & PGW_STMT_NO_TX)) {
			pgw_err_set(err, PGW_EINVAL,
				    "%s:%d: '%s' cannot run inside a transaction",
				    file, st->line, word ? word : what.ptr);
			pgw_err_hint(err, "put it in a migration of its own marked '-- migrate:%s transaction:false', written idempotently (IF NOT EXISTS / IF EXISTS)",
				     section_names[kind]);
		} else if (!sec->transactional &&
			   !(st->flags & PGW_STMT_NOTX_OK)) {
			pgw_err_set(err, PGW_EINVAL,
				    "%s:%d: '%s' is not allowed in a transaction:false section",
				    file, st->line, what.ptr);
			pgw_err_hint(err, "such a section may only hold statements that are idempotent and can be read back: CREATE INDEX CONCURRENTLY IF NOT EXISTS, DROP INDEX CONCURRENTLY IF EXISTS, REINDEX ... CONCURRENTLY, ALTER TYPE ... ADD VALUE IF NOT EXISTS, VACUUM, ANALYZE");
		}
		pgw_buf_release(&what);
		if (err->code)
			return err->code;
	}
	return 0;
}

/* batch:N, the text after "batch:" */
static int parse_batch(struct pgw_section *sec, const char *p, size_t n,
		       const char *file, int marker_line, struct pgw_err *err)
{
	long v = 0;
	size_t i;

	for (i = 0; i < n && v <= PGW_BATCH_MAX; i++) {
		if (!isdigit((unsigned char)p[i]))
			break;
		v = v * 10 + (p[i] - '0');
	}
	if (!n || i < n || v < 1 || v > PGW_BATCH_MAX) {
		pgw_err_set(err, PGW_EINVAL,
			    "%s:%d: 'batch:%.*s': N must be a number of rows from 1 to %ld",
			    file, marker_line, (int)n, p, PGW_BATCH_MAX);
		pgw_err_hint(err, "e.g. '-- migrate:up batch:1000': each run of the statement changes at most 1000 rows");
		return err->code;
	}
	sec->batch = v;
	return 0;
}

static int parse_directives(struct pgw_section *sec, enum pgw_section_kind kind,
			    const char *directives, const char *file,
			    int marker_line, struct pgw_err *err)
{
	const char *p = directives;
	int error;

	sec->transactional = true;
	while (*p) {
		size_t n;

		while (*p == ' ' || *p == '\t')
			p++;
		n = strcspn(p, " \t");
		if (!n)
			break;
		if (n == 17 && !strncmp(p, "transaction:false", n) &&
		    kind != PGW_SEC_VERIFY && kind != PGW_SEC_COUNT) {
			sec->transactional = false;
		} else if (n == 16 && !strncmp(p, "transaction:true", n) &&
			   kind != PGW_SEC_COUNT) {
			sec->transactional = true;
		} else if (n == 10 && !strncmp(p, "split:none", n) &&
			   kind != PGW_SEC_COUNT) {
			sec->split_none = true;
		} else if (n >= 6 && !strncmp(p, "batch:", 6) &&
			   kind == PGW_SEC_UP) {
			error = parse_batch(sec, p + 6, n - 6, file,
					    marker_line, err);
			if (error)
				return error;
		} else {
			pgw_err_set(err, PGW_EINVAL,
				    "%s:%d: unknown directive '%.*s' after '-- migrate:%s'",
				    file, marker_line, (int)n, p,
				    section_names[kind]);
			pgw_err_hint(err, "%s",
				     kind == PGW_SEC_VERIFY ? "a verify section takes no directive but split:none" :
				     kind == PGW_SEC_COUNT ? "a count section takes no directive" :
				     kind == PGW_SEC_DOWN ? "known directives: transaction:false, split:none (batch:N goes with '-- migrate:up' only)" :
							    "known directives: transaction:false, split:none, batch:N");
			return err->code;
		}
		p += n;
	}
	if (sec->split_none && !sec->transactional)
		return pgw_err_set(err, PGW_EINVAL,
				   "%s:%d: split:none goes with transactional sections only",
				   file, marker_line);
	if (sec->batch && !sec->transactional) {
		pgw_err_set(err, PGW_EINVAL,
			    "%s:%d: batch:%ld and transaction:false do not go together",
			    file, marker_line, sec->batch);
		pgw_err_hint(err, "each batch runs in a short transaction of its own: remove transaction:false");
		return err->code;
	}
	if (sec->batch && sec->split_none)
		return pgw_err_set(err, PGW_EINVAL,
				   "%s:%d: split:none does not go with batch:%ld (the batch statement is parsed to check it)",
				   file, marker_line, sec->batch);
	return 0;
}

/* Keep the body and check the directives; statements come later. */
static int section_init(struct pgw_section *sec, enum pgw_section_kind kind,
			const char *body, const char *directives,
			const char *file, int first_line, struct pgw_err *err)
{
	int error;

	memset(sec, 0, sizeof(*sec));
	sec->present = true;
	sec->line = first_line;
	sec->text = strdup(body);
	sec->directives = strdup(directives ? directives : "");
	if (!sec->text || !sec->directives) {
		pgw_section_release(sec);
		return pgw_err_oom(err);
	}
	error = parse_directives(sec, kind, sec->directives, file,
				 first_line > 1 ? first_line - 1 : 1, err);
	if (error)
		pgw_section_release(sec);
	return error;
}

static int line_of(const char *text, size_t off, int first_line)
{
	size_t i;

	for (i = 0; i < off && text[i]; i++)
		if (text[i] == '\n')
			first_line++;
	return first_line;
}

/* The hint every batch:N error gives: the pattern of docs/migrations.md. */
static void batch_hint(struct pgw_err *err)
{
	pgw_err_hint(err, "write one idempotent statement limited by the placeholder, e.g. UPDATE t SET x = ... WHERE id IN (SELECT id FROM t WHERE <not done yet> ORDER BY id LIMIT :batch)");
}

/* A batch:N section: its text parsed with the placeholder bound as $1
 * (the statement's kind is read from that), its statements kept as
 * written.  One UPDATE, DELETE or INSERT, with the placeholder. */
static int batch_statements(struct pgw_section *sec, const char *file,
			    struct pgw_err *err)
{
	char *bound = NULL, kind[64];
	size_t positional, i;
	int found, error;
	struct pgw_buf what = PGW_BUF_INIT;

	error = pgw_sql_batch_bind(&bound, &found, &positional, sec->text,
				   true, err);
	if (error)
		return error;
	if (positional) {
		pgw_err_set(err, PGW_EINVAL,
			    "%s:%d: parameter '$%.*s' in a batch:%ld statement: its only parameter is :batch",
			    file, line_of(sec->text, positional - 1, sec->line),
			    (int)strspn(sec->text + positional, "0123456789"),
			    sec->text + positional, sec->batch);
		batch_hint(err);
		goto done;
	}
	error = pgw_sql_split(&sec->stmts, &sec->n_stmts, bound, sec->line,
			      file, err);
	if (error || !sec->n_stmts)
		goto done;
	free(bound);
	bound = NULL;
	/* kept as written: what dry runs and messages show */
	for (i = 0; i < sec->n_stmts; i++) {
		char *asis = NULL;

		error = pgw_sql_batch_unbind(&asis, sec->stmts[i].sql, err);
		if (error)
			goto done;
		free(sec->stmts[i].sql);
		sec->stmts[i].sql = asis;
	}
	pgw_stmt_summary(&what, sec->stmts[sec->n_stmts > 1].sql);
	if (sec->n_stmts > 1) {
		pgw_err_set(err, PGW_EINVAL,
			    "%s:%d: a second statement ('%s') in a batch:%ld section: it holds one statement",
			    file, sec->stmts[1].line, what.ptr, sec->batch);
		pgw_err_hint(err, "each batch runs the one statement in a short transaction of its own; put other statements in a migration of their own");
		goto done;
	}
	error = pgw_sql_batch_bind(&bound, &found, &positional,
				   sec->stmts[0].sql, false, err);
	if (!error)
		error = pgw_sql_kind(kind, bound, err);
	if (error) {
		pgw_err_wrap(err, "%s:%d", file, sec->stmts[0].line);
		goto done;
	}
	if (strcmp(kind, "UpdateStmt") != 0 && strcmp(kind, "DeleteStmt") != 0 &&
	    strcmp(kind, "InsertStmt") != 0) {
		pgw_err_set(err, PGW_EINVAL,
			    "%s:%d: '%s' is not a data change: a batch:%ld section runs one UPDATE, DELETE or INSERT ... SELECT",
			    file, sec->stmts[0].line, what.ptr, sec->batch);
		batch_hint(err);
		goto done;
	}
	if (!found) {
		pgw_err_set(err, PGW_EINVAL,
			    "%s:%d: the batch:%ld statement has no :batch placeholder to limit it to %ld rows",
			    file, sec->stmts[0].line, sec->batch, sec->batch);
		batch_hint(err);
		goto done;
	}
done:
	pgw_buf_release(&what);
	free(bound);
	if (!error && err->code)
		error = err->code;
	return error;
}

/* A count section: one SELECT. */
static int check_count(const struct pgw_section *sec, const char *file,
		       struct pgw_err *err)
{
	struct pgw_buf what = PGW_BUF_INIT;
	char kind[64] = "";
	int error = 0;

	if (!sec->n_stmts)
		return pgw_err_set(err, PGW_EINVAL,
				   "%s:%d: the '-- migrate:count' section has no query",
				   file, sec->line > 1 ? sec->line - 1 : 1);
	pgw_stmt_summary(&what, sec->stmts[sec->n_stmts > 1].sql);
	if (sec->n_stmts == 1)
		error = pgw_sql_kind(kind, sec->stmts[0].sql, err);
	if (!error && (sec->n_stmts > 1 || strcmp(kind, "SelectStmt") != 0)) {
		pgw_err_set(err, PGW_EINVAL,
			    "%s:%d: %s'%s' in a count section: it is one SELECT giving the number of rows to do",
			    file, sec->stmts[sec->n_stmts > 1].line,
			    sec->n_stmts > 1 ? "a second statement " : "", what.ptr);
		pgw_err_hint(err, "e.g. SELECT count(*) FROM t WHERE <not done yet>");
		error = err->code;
	}
	pgw_buf_release(&what);
	return error;
}

static int section_statements(struct pgw_section *sec,
			      enum pgw_section_kind kind, const char *file,
			      struct pgw_err *err)
{
	int error;

	if (!sec->present || sec->stmts)
		return 0;
	if (sec->batch)
		error = batch_statements(sec, file, err);
	else if (sec->split_none)
		error = pgw_sql_whole(&sec->stmts, &sec->n_stmts, sec->text,
				      sec->line, err);
	else
		error = pgw_sql_split(&sec->stmts, &sec->n_stmts, sec->text,
				      sec->line, file, err);
	if (!error)
		error = check_statements(sec, kind, file, err);
	if (!error && kind == PGW_SEC_COUNT)
		error = check_count(sec, file, err);
	return error;
}

/* The count section of a migration: checked with its up section. */
static int count_statements(struct pgw_migration *m, struct pgw_err *err)
{
	const char *file = m->up_file ? m->up_file : m->file;

	if (!m->count.present)
		return 0;
	if (!m->up.batch)
		return pgw_err_set(err, PGW_EINVAL,
				   "%s:%d: a '-- migrate:count' section goes with '-- migrate:up batch:N' only",
				   file, m->count.line > 1 ? m->count.line - 1 : 1);
	return section_statements(&m->count, PGW_SEC_COUNT, file, err);
}

int pgw_section_parse(struct pgw_section *sec, enum pgw_section_kind kind,
		      const char *body, const char *directives,
		      const char *file, int first_line, struct pgw_err *err)
{
	int error = section_init(sec, kind, body, directives, file,
				 first_line, err);

	if (!error)
		error = section_statements(sec, kind, file, err);
	if (error)
		pgw_section_release(sec);
	return error;
}

int pgw_migration_parse(struct pgw_migration *m, struct pgw_err *err)
{
	size_t i;
	int error;

	if (m->parsed)
		return 0;
	error = section_statements(&m->up, PGW_SEC_UP,
				   m->up_file ? m->up_file : m->file, err);
	if (!error)
		error = section_statements(&m->down, PGW_SEC_DOWN,
					   m->down_file ? m->down_file : m->file, err);
	if (!error)
		error = section_statements(&m->verify, PGW_SEC_VERIFY,
					   m->verify_file ? m->verify_file : m->file, err);
	if (!error)
		error = count_statements(m, err);
	if (error)
		return error;
	if (!m->up.n_stmts)
		return pgw_err_set(err, PGW_EINVAL,
				   "%s:%d: the '-- migrate:up' section has no statement",
				   m->up_file ? m->up_file : m->file,
				   m->up.line > 1 ? m->up.line - 1 : 1);
	for (i = 0; i < m->up.n_stmts; i++) {
		if (m->up.stmts[i].flags & PGW_STMT_DESTRUCTIVE)
			m->destructive = true;
		if (m->up.stmts[i].flags & PGW_STMT_ADD_ENUM_VALUE)
			m->adds_enum_value = true;
	}
	m->parsed = true;
	return 0;
}

int pgw_migset_parse(struct pgw_migset *set, struct pgw_err *err)
{
	size_t i;
	int error;

	for (i = 0; i < set->n; i++) {
		error = pgw_migration_parse(&set->v[i], err);
		if (error)
			return error;
	}
	return 0;
}

int pgw_migset_check(struct pgw_migset *set, struct pgw_err *err)
{
	size_t i;
	int error;

	/* Up sections only: they decide what a run would do.  The other
	 * sections of a pending migration are read by pgw_migration_parse()
	 * when it is planned, and a down section when it runs. */
	for (i = 0; i < set->n; i++) {
		struct pgw_migration *m = &set->v[i];
		const char *file = m->up_file ? m->up_file : m->file;

		error = section_statements(&m->up, PGW_SEC_UP, file, err);
		if (!error)
			error = count_statements(m, err);
		if (error)
			return error;
		if (!m->up.n_stmts)
			return pgw_err_set(err, PGW_EINVAL,
					   "%s:%d: the '-- migrate:up' section has no statement",
					   file, m->up.line > 1 ? m->up.line - 1 : 1);
	}
	return 0;
}

/* UTF-8 check; returns the 1-based line of the first bad byte, or 0. */
static int bad_utf8_line(const unsigned char *s, size_t len)
{
	size_t i = 0;
	int line = 1;

	while (i < len) {
		unsigned char c = s[i];
		size_t need, k;

		if (c == '\n')
			line++;
		if (c == 0)
			return line;
		if (c < 0x80) {
			i++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf)
			need = 1;
		else if (c >= 0xe0 && c <= 0xef)
			need = 2;
		else if (c >= 0xf0 && c <= 0xf4)
			need = 3;
		else
			return line;
		for (k = 1; k <= need; k++)
			if (i + k >= len || (s[i + k] & 0xc0) != 0x80)
				return line;
		/* overlong 3/4-byte forms and surrogates */
		if ((c == 0xe0 && s[i + 1] < 0xa0) ||
		    (c == 0xed && s[i + 1] > 0x9f) ||
		    (c == 0xf0 && s[i + 1] < 0x90) ||
		    (c == 0xf4 && s[i + 1] > 0x8f))
			return line;
		i += need + 1;
	}
	return 0;
}

/* Check that text[0..len) is UTF-8 and turn CRLF into LF, in place. */
static int normalize_text(char *text, size_t len, const char *file,
			  struct pgw_err *err)
{
	size_t i, j;
	int line;

	text[len] = '\0';
	line = bad_utf8_line((const unsigned char *)text, len);
	if (line) {
		pgw_err_set(err, PGW_EINVAL, "%s:%d: text is not valid UTF-8",
			    file, line);
		pgw_err_hint(err, "save the file as UTF-8 (e.g. iconv -f LATIN1 -t UTF-8)");
		return err->code;
	}
	for (i = j = 0; i < len; i++)
		if (!(text[i] == '\r' && i + 1 < len && text[i + 1] == '\n'))
			text[j++] = text[i];
	text[j] = '\0';
	return 0;
}

/* Read a whole file.  Caller owns *out.  One read of the size fstat
 * gives: a no-op run reads every file. */
static int read_file(char **out, size_t *out_len, void *ctx, const char *file,
		     struct pgw_err *err)
{
	const char *dir = ctx;
	char path[4096];
	struct stat sb;
	char *text = NULL;
	size_t len = 0;
	ssize_t n;
	int fd;

	*out = NULL;
	snprintf(path, sizeof(path), "%s/%s", dir, file);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &sb) != 0) {
		pgw_err_set(err, PGW_EIO, "cannot read '%s': %s", path,
			    strerror(errno));
		goto fail;
	}
	text = malloc((size_t)sb.st_size + 1);
	if (!text) {
		pgw_err_oom(err);
		goto fail;
	}
	/* what fstat promised; a file that changes meanwhile is read as it
	 * was then, and its checksum says so */
	while (len < (size_t)sb.st_size) {
		n = read(fd, text + len, (size_t)sb.st_size - len);
		if (n < 0) {
			pgw_err_set(err, PGW_EIO, "cannot read '%s': %s", path,
				    strerror(errno));
			goto fail;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	close(fd);
	*out = text;
	*out_len = len;
	return 0;
fail:
	if (fd >= 0)
		close(fd);
	free(text);
	return err->code;
}

static bool blank(const char *s)
{
	for (; *s; s++)
		if (!isspace((unsigned char)*s))
			return false;
	return true;
}

/* A marker line: "-- migrate:KIND directives".  Returns false if `line`
 * is no marker; *kind_len = 0 when it is one with an unknown kind. */
static bool is_marker(const char *line, const char **kind, size_t *kind_len,
		      const char **rest)
{
	const char *p = line;

	if (p[0] != '-' || p[1] != '-')
		return false;
	p += 2;
	while (*p == ' ' || *p == '\t')
		p++;
	if (strncmp(p, "migrate:", 8) != 0)
		return false;
	p += 8;
	*kind = p;
	*kind_len = strcspn(p, " \t\n");
	*rest = p + *kind_len;
	return true;
}

struct raw_section {
	bool present;
	int marker_line;
	char *directives;
	struct pgw_buf body;
};

/* Split a single-file migration into its sections by marker lines. */
static int split_sections(struct raw_section raw[N_SECTIONS], const char *text,
			  const char *file, bool pair_part,
			  enum pgw_section_kind pair_kind, struct pgw_err *err)
{
	const char *p = text;
	int line = 1, cur = pair_part ? (int)pair_kind : -1;

	if (pair_part) {
		raw[cur].present = true;
		raw[cur].marker_line = 0;
	}
	while (*p) {
		const char *eol = strchr(p, '\n');
		size_t len = eol ? (size_t)(eol - p) + 1 : strlen(p);
		char *ln = strndup(p, len);
		const char *kind, *rest;
		size_t klen;
		int k;

		if (!ln)
			return pgw_err_oom(err);
		if (is_marker(ln, &kind, &klen, &rest)) {
			for (k = 0; k < N_SECTIONS; k++)
				if (strlen(section_names[k]) == klen &&
				    !strncmp(kind, section_names[k], klen))
					break;
			/* a pair's up file may carry the count section */
			if (k == N_SECTIONS ||
			    (pair_part && k != (int)pair_kind &&
			     !(k == PGW_SEC_COUNT && pair_kind == PGW_SEC_UP))) {
				pgw_err_set(err, PGW_EINVAL,
					    "%s:%d: unknown directive '-- migrate:%.*s'",
					    file, line, (int)klen, kind);
				pgw_err_hint(err, pair_part ?
							  "this file holds one section only (an up file may add '-- migrate:count')" :
							  "sections are '-- migrate:up', '-- migrate:down', '-- migrate:verify' and '-- migrate:count'");
				free(ln);
				return err->code;
			}
			if (raw[k].present && raw[k].marker_line) {
				pgw_err_set(err, PGW_EINVAL,
					    "%s:%d: second '-- migrate:%s' section (the first is at line %d)",
					    file, line, section_names[k],
					    raw[k].marker_line);
				free(ln);
				return err->code;
			}
			if (pair_part && k == (int)pair_kind && raw[k].body.len &&
			    !blank(raw[k].body.ptr)) {
				pgw_err_set(err, PGW_EINVAL,
					    "%s:%d: '-- migrate:%s' must be the first line",
					    file, line, section_names[k]);
				free(ln);
				return err->code;
			}
			raw[k].present = true;
			raw[k].marker_line = line;
			raw[k].directives = strndup(rest, strcspn(rest, "\n"));
			pgw_buf_reset(&raw[k].body);
			cur = k;
		} else if (cur < 0) {
			const char *q = ln;

			while (isspace((unsigned char)*q))
				q++;
			if (*q && strncmp(q, "--", 2) != 0) {
				pgw_err_set(err, PGW_EINVAL,
					    "%s:%d: SQL before the first '-- migrate:up' marker",
					    file, line);
				pgw_err_hint(err, "start the file with '-- migrate:up'");
				free(ln);
				return err->code;
			}
		} else {
			/* keep line numbers right: pad the body of a
			 * section with the lines it starts after */
			pgw_buf_puts(&raw[cur].body, ln);
		}
		free(ln);
		line++;
		p += len;
	}
	return 0;
}

/* One file found in the directory. */
struct entry {
	int64_t version;
	char *vtext, *name, *file, *path;
	int part; /* -1 single file, else enum pgw_section_kind */
};

static void entry_free(struct entry *e)
{
	free(e->vtext);
	free(e->name);
	free(e->file);
	free(e->path);
}

static int cmp_entry(const void *a, const void *b)
{
	const struct entry *x = a, *y = b;

	if (x->version != y->version)
		return x->version < y->version ? -1 : 1;
	if (x->part != y->part)
		return x->part < y->part ? -1 : 1;
	return strcmp(x->file, y->file);
}

static bool ends_with(const char *s, const char *suffix)
{
	size_t a = strlen(s), b = strlen(suffix);

	return a >= b && !strcmp(s + a - b, suffix);
}

bool pgw_migfile_name(const char *file, int *part, size_t *digits,
		      size_t *stem)
{
	*digits = strspn(file, "0123456789");
	*part = -1;
	*stem = strlen(file) - 4;
	if (file[0] == '.' || !ends_with(file, ".sql") ||
	    !strcmp(file, "schema.sql"))
		return false;
	if (ends_with(file, ".up.sql")) {
		*part = PGW_SEC_UP;
		*stem = strlen(file) - 7;
	} else if (ends_with(file, ".down.sql")) {
		*part = PGW_SEC_DOWN;
		*stem = strlen(file) - 9;
	} else if (ends_with(file, ".verify.sql")) {
		*part = PGW_SEC_VERIFY;
		*stem = strlen(file) - 11;
	}
	return *digits && file[*digits] == '_' && *stem > *digits + 1;
}

static int parse_name(struct entry *e, const char *dir, const char *file,
		      struct pgw_err *err)
{
	size_t digits, stem;
	int error;

	memset(e, 0, sizeof(*e));
	if (!pgw_migfile_name(file, &e->part, &digits, &stem)) {
		pgw_err_set(err, PGW_EINVAL,
			    "'%s/%s' is not named like a migration (NNN_name.sql)",
			    dir, file);
		pgw_err_hint(err, "rename it (e.g. 001_create_users.sql) or move it out of the migrations dir: every .sql file there but schema.sql is a migration");
		return err->code;
	}
	e->vtext = strndup(file, digits);
	e->name = strndup(file + digits + 1, stem - digits - 1);
	e->file = strdup(file);
	e->path = malloc(strlen(dir) + strlen(file) + 2);
	if (!e->vtext || !e->name || !e->file || !e->path) {
		entry_free(e);
		return pgw_err_oom(err);
	}
	snprintf(e->path, strlen(dir) + strlen(file) + 2, "%s/%s", dir, file);
	error = pgw_version_parse(&e->version, e->vtext, err);
	if (error) {
		pgw_err_wrap(err, "%s", file);
		entry_free(e);
	}
	return error;
}

/* Build one migration from its file(s): entries[0..n) share a version. */
static int load_migration(struct pgw_migration *m, struct entry *ents,
			  size_t n, pgw_mig_reader read, void *ctx,
			  struct pgw_err *err)
{
	struct raw_section raw[N_SECTIONS];
	char *text = NULL;
	size_t i;
	int k, error = 0;

	memset(raw, 0, sizeof(raw));
	for (k = 0; k < N_SECTIONS; k++)
		raw[k].body = (struct pgw_buf)PGW_BUF_INIT;
	m->version = ents[0].version;
	m->vtext = strdup(ents[0].vtext);
	m->name = strdup(ents[0].name);
	m->file = strdup(ents[0].file);
	m->path = strdup(ents[0].path);
	if (!m->vtext || !m->name || !m->file || !m->path) {
		error = pgw_err_oom(err);
		goto done;
	}
	for (i = 0; i < n; i++) {
		free(text);
		text = NULL;
		size_t len = 0;

		error = read(&text, &len, ctx, ents[i].file, err);
		if (!error)
			error = normalize_text(text, len, ents[i].file, err);
		if (error)
			goto done;
		if (blank(text)) {
			error = pgw_err_set(err, PGW_EINVAL,
					    "%s: empty file", ents[i].file);
			pgw_err_hint(err, "write its '-- migrate:up' section, or delete it");
			goto done;
		}
		error = split_sections(raw, text, ents[i].file,
				       ents[i].part >= 0,
				       (enum pgw_section_kind)(ents[i].part < 0 ? 0 : ents[i].part),
				       err);
		if (error)
			goto done;
	}
	if (!raw[PGW_SEC_UP].present) {
		error = pgw_err_set(err, PGW_EINVAL,
				    "%s: no '-- migrate:up' section", m->file);
		pgw_err_hint(err, "a migration starts with '-- migrate:up'; see 'pgward new'");
		goto done;
	}
	for (k = 0; k < N_SECTIONS; k++) {
		struct pgw_section *sec = k == 0 ? &m->up :
					  k == 1 ? &m->down :
					  k == 2 ? &m->verify :
						   &m->count;
		char **sec_file = k == 0 ? &m->up_file :
				  k == 1 ? &m->down_file :
				  k == 2 ? &m->verify_file :
					   &m->up_file;
		const char *file = m->file;

		if (!raw[k].present)
			continue;
		for (i = 0; i < n; i++)
			if (ents[i].part == (k == PGW_SEC_COUNT ? PGW_SEC_UP : k))
				file = ents[i].file;
		if (file != m->file && !*sec_file && !(*sec_file = strdup(file))) {
			error = pgw_err_oom(err);
			goto done;
		}
		if (pgw_buf_oom(&raw[k].body)) {
			error = pgw_err_oom(err);
			goto done;
		}
		error = section_init(sec, (enum pgw_section_kind)k,
				     raw[k].body.ptr,
				     raw[k].directives ? raw[k].directives : "",
				     file, raw[k].marker_line + 1, err);
		if (error)
			goto done;
	}
	if (pgw_sha256_hex(m->checksum, m->up.text, strlen(m->up.text)))
		error = pgw_err_set(err, PGW_ERROR, "cannot compute SHA-256");
done:
	for (k = 0; k < N_SECTIONS; k++) {
		free(raw[k].directives);
		pgw_buf_release(&raw[k].body);
	}
	free(text);
	return error;
}

static int check_group(struct entry *ents, size_t n, struct pgw_err *err)
{
	size_t i;
	bool has_up = false;

	for (i = 1; i < n; i++) {
		if (ents[i].part == ents[0].part || ents[0].part == -1 ||
		    strcmp(ents[i].name, ents[0].name) != 0 ||
		    strcmp(ents[i].vtext, ents[0].vtext) != 0) {
			pgw_err_set(err, PGW_EINVAL,
				    "duplicate version %lld: '%s' and '%s'",
				    (long long)ents[0].version, ents[0].file,
				    ents[i].file);
			pgw_err_hint(err, "versions are compared as numbers ('001' and '1' are the same): give one of them the next free version");
			return err->code;
		}
	}
	for (i = 0; i < n; i++)
		if (ents[i].part == -1 || ents[i].part == PGW_SEC_UP)
			has_up = true;
	if (!has_up)
		return pgw_err_set(err, PGW_EINVAL,
				   "'%s' has no '%s_%s.up.sql' beside it",
				   ents[0].file, ents[0].vtext, ents[0].name);
	return 0;
}

int pgw_migset_load_from(struct pgw_migset **out, const char *dir,
			 const char *const *files, size_t n_files,
			 pgw_mig_reader read, void *ctx, struct pgw_err *err)
{
	struct pgw_migset *set = NULL;
	struct entry *ents = NULL;
	size_t n = 0, i, j;
	int error = 0;

	*out = NULL;
	ents = calloc(n_files + 1, sizeof(*ents));
	if (!ents)
		return pgw_err_oom(err);
	for (i = 0; i < n_files; i++) {
		if (files[i][0] == '.' || !ends_with(files[i], ".sql") ||
		    !strcmp(files[i], "schema.sql"))
			continue;
		error = parse_name(&ents[n], dir, files[i], err);
		if (error)
			goto done;
		n++;
	}
	if (n > 1)
		qsort(ents, n, sizeof(*ents), cmp_entry);
	set = pgw_migset_new(dir);
	if (!set) {
		error = pgw_err_oom(err);
		goto done;
	}
	for (i = 0; i < n; i = j) {
		struct pgw_migration *m;

		for (j = i + 1; j < n && ents[j].version == ents[i].version; j++)
			;
		error = check_group(&ents[i], j - i, err);
		if (error)
			goto done;
		m = pgw_migset_add(set);
		if (!m) {
			error = pgw_err_oom(err);
			goto done;
		}
		error = load_migration(m, &ents[i], j - i, read, ctx, err);
		if (error)
			goto done;
	}
	*out = set;
	set = NULL;
done:
	for (i = 0; i < n; i++)
		entry_free(&ents[i]);
	free(ents);
	pgw_migset_free(set);
	return error;
}

int pgw_migset_load(struct pgw_migset **out, const char *dir,
		    struct pgw_err *err)
{
	char **names = NULL;
	size_t n = 0, cap = 0, i;
	struct dirent *de;
	DIR *d;
	int error = 0;

	*out = NULL;
	d = opendir(dir);
	if (!d) {
		pgw_err_set(err, PGW_EINVAL, "cannot open migrations dir '%s': %s",
			    dir, strerror(errno));
		pgw_err_hint(err, "give it with --migrations DIR, PGWARD_MIGRATIONS or [migrations] dir");
		return err->code;
	}
	while ((de = readdir(d))) {
		char path[4096];
		struct stat sb;

		if (de->d_name[0] == '.' || !ends_with(de->d_name, ".sql") ||
		    !strcmp(de->d_name, "schema.sql"))
			continue;
		/* d_type saves a stat per file; some file systems lack it */
		if (de->d_type != DT_REG &&
		    (de->d_type != DT_UNKNOWN && de->d_type != DT_LNK))
			continue;
		if (de->d_type != DT_REG &&
		    (snprintf(path, sizeof(path), "%s/%s", dir, de->d_name) >=
			     (int)sizeof(path) ||
		     stat(path, &sb) != 0 || !S_ISREG(sb.st_mode)))
			continue;
		if (n == cap) {
			char **bigger;

			cap = cap ? cap * 2 : 64;
			bigger = realloc(names, cap * sizeof(*names));
			if (!bigger) {
				error = pgw_err_oom(err);
				goto done;
			}
			names = bigger;
		}
		if (!(names[n] = strdup(de->d_name))) {
			error = pgw_err_oom(err);
			goto done;
		}
		n++;
	}
	error = pgw_migset_load_from(out, dir, (const char *const *)names, n,
				     read_file, (void *)dir, err);
done:
	closedir(d);
	for (i = 0; i < n; i++)
		free(names[i]);
	free(names);
	return error;
}
