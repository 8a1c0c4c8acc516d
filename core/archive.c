/* archive.c - the backup archive: tar + zstd through libarchive, which is
 * loaded with dlopen() on first use (linking it would map libxml2 and ICU
 * into every start of pgward).  Writer, verifier and streaming reader;
 * entry names are checked against the layout and the manifest, never used
 * as file-system paths. */
#include "archive.h"

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <locale.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <archive.h>
#ifndef ARCHIVE_VERSION_NUMBER
/* With -Icore, <archive.h> is this module's own header: take libarchive's
 * by its path (Debian's libarchive-dev). */
#include </usr/include/archive.h>
#endif
#include <archive_entry.h>
#include <jansson.h>
#include <nettle/sha2.h>

#define LA_SONAME "libarchive.so.13"
#define MANIFEST_NAME "manifest.json"
/* Longest entry name accepted (identifiers are at most 63 bytes). */
#define MAX_NAME 1024
/* Read buffer of the verifier and the reader: memory stays flat. */
#define IO_BUF (64 * 1024)
/* A fuzzing build (tests/fuzz) skips the manifest's check of itself, so
 * that mutated manifests reach the checks of what they say. */
#ifdef FUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION
#define FUZZING 1
#else
#define FUZZING 0
#endif

/* ---- libarchive, loaded on first use ---------------------------------- */

#define LA_FUNCS(X)                                \
	X(archive_error_string)                    \
	X(archive_set_error)                       \
	X(archive_write_new)                       \
	X(archive_write_set_format_pax_restricted) \
	X(archive_write_add_filter_zstd)           \
	X(archive_write_set_filter_option)         \
	X(archive_write_set_bytes_in_last_block)   \
	X(archive_write_open)                      \
	X(archive_write_header)                    \
	X(archive_write_data)                      \
	X(archive_write_finish_entry)              \
	X(archive_write_close)                     \
	X(archive_write_free)                      \
	X(archive_read_new)                        \
	X(archive_read_support_format_tar)         \
	X(archive_read_support_filter_zstd)        \
	X(archive_read_support_filter_none)        \
	X(archive_read_open)                       \
	X(archive_read_next_header)                \
	X(archive_read_data)                       \
	X(archive_read_data_block)                 \
	X(archive_read_free)                       \
	X(archive_entry_new)                       \
	X(archive_entry_free)                      \
	X(archive_entry_clear)                     \
	X(archive_entry_set_pathname)              \
	X(archive_entry_set_size)                  \
	X(archive_entry_set_filetype)              \
	X(archive_entry_set_perm)                  \
	X(archive_entry_set_mtime)                 \
	X(archive_entry_set_uid)                   \
	X(archive_entry_set_gid)                   \
	X(archive_entry_pathname)                  \
	X(archive_entry_filetype)                  \
	X(archive_entry_size)                      \
	X(archive_entry_size_is_set)               \
	X(archive_entry_hardlink)                  \
	X(archive_entry_symlink)                   \
	X(archive_entry_sparse_count)

/* One typed pointer per libarchive function used, named like it. */
struct la_api {
#define LA_SLOT(f) __typeof__(f) *f;
	LA_FUNCS(LA_SLOT)
#undef LA_SLOT
};

static struct la_api la;
static bool la_ready;
static char la_error[512];
/* Entry names are UTF-8; libarchive converts names through the thread's
 * LC_CTYPE (and crashes writing a pax name it cannot convert), so every
 * libarchive call runs under this locale (NULL: none available). */
static locale_t la_utf8;
static pthread_once_t la_once = PTHREAD_ONCE_INIT;

static void la_load_once(void)
{
	static const struct {
		const char *name;
		size_t off;
	} syms[] = {
#define LA_SYM(f) { #f, offsetof(struct la_api, f) },
		LA_FUNCS(LA_SYM)
#undef LA_SYM
	};
	static const char *const utf8_locales[] = { "C.UTF-8", "C.utf8",
		                                    "en_US.UTF-8" };
	struct la_api api;
	const char *why;
	void *h, *p;
	size_t i;

	h = dlopen(LA_SONAME, RTLD_NOW | RTLD_LOCAL);
	if (!h) {
		why = dlerror();
		snprintf(la_error, sizeof(la_error), "cannot load %s: %s",
		         LA_SONAME, why ? why : "unknown error");
		return;
	}
	for (i = 0; i < sizeof(syms) / sizeof(syms[0]); i++) {
		p = dlsym(h, syms[i].name);
		if (!p) {
			snprintf(
			        la_error, sizeof(la_error),
			        "%s has no %s (libarchive 3.3.3 or later is needed)",
			        LA_SONAME, syms[i].name);
			dlclose(h);
			return;
		}
		/* POSIX: a function's address comes back as void * */
		memcpy((char *)&api + syms[i].off, &p, sizeof(p));
	}
	la = api;
	for (i = 0; i < sizeof(utf8_locales) / sizeof(utf8_locales[0]); i++) {
		la_utf8 =
		        newlocale(LC_CTYPE_MASK, utf8_locales[i], (locale_t)0);
		if (la_utf8)
			break;
	}
	la_ready = true;
}

static int la_load(struct pgw_err *err)
{
	pthread_once(&la_once, la_load_once);
	if (la_ready)
		return 0;
	pgw_err_set(err, PGW_EINVAL, "%s", la_error);
	pgw_err_hint(err,
	             "install libarchive13 (apt-get install libarchive13)");
	return PGW_EINVAL;
}

/* Switch this thread to the UTF-8 locale; returns what to give back to
 * la_leave(). */
static locale_t la_enter(void)
{
	return la_utf8 ? uselocale(la_utf8) : (locale_t)0;
}

static void la_leave(locale_t old)
{
	if (old)
		uselocale(old);
}

static const char *la_msg(struct archive *a)
{
	const char *s = a ? la.archive_error_string(a) : NULL;

	return s ? s : "unknown libarchive error";
}

/* ---- names --------------------------------------------------------------- */

static void hex_digest(char out[65], struct sha256_ctx *ctx)
{
	static const char hex[] = "0123456789abcdef";
	unsigned char md[SHA256_DIGEST_SIZE];
	int i;

	sha256_digest(ctx, sizeof(md), md);
	for (i = 0; i < SHA256_DIGEST_SIZE; i++) {
		out[2 * i] = hex[md[i] >> 4];
		out[2 * i + 1] = hex[md[i] & 15];
	}
	out[64] = '\0';
}

/* Length of the UTF-8 sequence at s (n bytes left) and its code point in
 * *cp; 0 when it is not valid UTF-8 (overlong forms and surrogates too). */
static size_t utf8_seq(const unsigned char *s, size_t n, unsigned *cp)
{
	unsigned c = s[0], v;
	size_t len, i;

	if (c < 0x80) {
		*cp = c;
		return 1;
	}
	if (c >= 0xc2 && c <= 0xdf) {
		len = 2;
		v = c & 0x1f;
	} else if (c >= 0xe0 && c <= 0xef) {
		len = 3;
		v = c & 0x0f;
	} else if (c >= 0xf0 && c <= 0xf4) {
		len = 4;
		v = c & 0x07;
	} else {
		return 0;
	}
	if (n < len)
		return 0;
	for (i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		v = (v << 6) | (s[i] & 0x3f);
	}
	if ((len == 3 && v < 0x800) || (len == 4 && v < 0x10000) ||
	    v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff))
		return 0;
	*cp = v;
	return len;
}

static bool is_control(unsigned cp)
{
	return cp < 0x20 || (cp >= 0x7f && cp <= 0x9f);
}

/* Valid UTF-8; with no_control, also free of control characters. */
static bool utf8_text(const char *str, bool no_control)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t n = strlen(str), i, len;
	unsigned cp;

	for (i = 0; i < n; i += len) {
		len = utf8_seq(s + i, n - i, &cp);
		if (!len || (no_control && is_control(cp)))
			return false;
	}
	return true;
}

static bool valid_utf8(const char *s)
{
	return utf8_text(s, false);
}

/* `name` as it can be shown in a message: control characters, backslashes
 * and bytes that are not UTF-8 as \xNN, cut short when long. */
static const char *shown(char out[160], const char *name)
{
	const unsigned char *s = (const unsigned char *)name;
	size_t n = strlen(name), i = 0, o = 0, len;
	unsigned cp;

	while (i < n) {
		if (o + 8 >= 160) {
			memcpy(out + o, "...", 4);
			return out;
		}
		len = utf8_seq(s + i, n - i, &cp);
		if (len && !is_control(cp) && cp != '\\') {
			memcpy(out + o, s + i, len);
			o += len;
			i += len;
		} else {
			snprintf(out + o, 160 - o, "\\x%02x", s[i]);
			o += 4;
			i++;
		}
	}
	out[o] = '\0';
	return out;
}

/* What an entry is, in the order of the layout. */
enum kind {
	K_BAD,
	K_START, /* (a phase: nothing seen yet) */
	K_PRE,
	K_DATA,
	K_POST,
	K_RESTORE,
	K_MANIFEST,
};

/* A name taken apart. */
struct name_info {
	enum kind kind;
	const char *key; /* data: "NNNN.<schema>.<table>" (in the name) */
	size_t key_len;
	unsigned table_no;
	unsigned long part;
};

static size_t count_digits(const char *s)
{
	size_t n = 0;

	while (s[n] >= '0' && s[n] <= '9')
		n++;
	return n;
}

/* A data part: "data/" NNNN "." <schema> "." <table> ".copy." NNN, with
 * 4 or more digits for the table and 3 or more for the part. */
static bool parse_data_name(const char *name, struct name_info *ni)
{
	static const char copy[] = ".copy.";
	size_t len = strlen(name), nd, pd, mid_off, mid_len, i;
	const char *p;

	if (strncmp(name, "data/", 5) != 0)
		return false;
	nd = count_digits(name + 5);
	if (nd < 4 || nd > 9 || name[5 + nd] != '.')
		return false;
	pd = 0;
	while (pd < len && name[len - 1 - pd] >= '0' &&
	       name[len - 1 - pd] <= '9')
		pd++;
	if (pd < 3 || pd > 9 || len < pd + 6 ||
	    memcmp(name + len - pd - 6, copy, 6) != 0)
		return false;
	mid_off = 5 + nd + 1;
	if (len - pd - 6 < mid_off)
		return false;
	mid_len = len - pd - 6 - mid_off;
	/* "<schema>.<table>": a dot with something on both sides */
	for (i = 1; i + 1 < mid_len; i++)
		if (name[mid_off + i] == '.')
			break;
	if (mid_len < 3 || i + 1 >= mid_len)
		return false;
	ni->kind = K_DATA;
	ni->key = name + 5;
	ni->key_len = len - pd - 6 - 5;
	ni->table_no = (unsigned)strtoul(name + 5, NULL, 10);
	p = name + len - pd;
	ni->part = strtoul(p, NULL, 10);
	return true;
}

/* Why `name` cannot be an entry of a pgward archive; NULL when it can.
 * Fills *ni for a good name. */
static const char *name_problem(const char *name, struct name_info *ni)
{
	static const struct {
		const char *name;
		enum kind kind;
	} fixed[] = {
		{ "restore.sql", K_RESTORE },
		{ "schema/pre-data.sql", K_PRE },
		{ "schema/post-data.sql", K_POST },
		{ MANIFEST_NAME, K_MANIFEST },
	};
	const unsigned char *s = (const unsigned char *)name;
	size_t n = strlen(name), i, len, comp;
	unsigned cp;

	memset(ni, 0, sizeof(*ni));
	if (!n)
		return "the name is empty";
	if (n > MAX_NAME)
		return "the name is too long";
	if (name[0] == '/')
		return "the name is an absolute path";
	if (strstr(name, ".."))
		return "the name contains '..'";
	if (strchr(name, '\\'))
		return "the name contains a backslash";
	for (i = 0; i < n; i += len) {
		len = utf8_seq(s + i, n - i, &cp);
		if (!len)
			return "the name is not valid UTF-8";
		if (is_control(cp))
			return "the name contains a control character";
	}
	/* no empty or "." path component */
	comp = 0;
	for (i = 0; i <= n; i++) {
		if (i < n && name[i] != '/')
			continue;
		if (i == comp || (i == comp + 1 && name[comp] == '.'))
			return "the name has an empty or '.' path component";
		comp = i + 1;
	}
	for (i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++) {
		if (!strcmp(name, fixed[i].name)) {
			ni->kind = fixed[i].kind;
			return NULL;
		}
	}
	if (parse_data_name(name, ni))
		return NULL;
	return "the name is not part of the layout (schema/pre-data.sql, data/NNNN.<schema>.<table>.copy.NNN, schema/post-data.sql, restore.sql, manifest.json)";
}

bool pgw_archive_data_part(const char *name, unsigned *table_no,
                           const char **qualified, size_t *len,
                           unsigned long *part)
{
	struct name_info ni;
	size_t skip;

	if (!name || name_problem(name, &ni) || ni.kind != K_DATA)
		return false;
	skip = count_digits(ni.key) + 1;
	if (table_no)
		*table_no = ni.table_no;
	if (qualified)
		*qualified = ni.key + skip;
	if (len)
		*len = ni.key_len - skip;
	if (part)
		*part = ni.part;
	return true;
}

/* ---- a small string map (entries are few, but not too few for a list) -- */

struct map_slot {
	const char *key; /* NULL: empty */
	size_t len;
	size_t val;
};

struct map {
	struct map_slot *v;
	size_t cap; /* a power of two, or 0 */
	size_t n;
	bool own_keys;
};

static size_t str_hash(const char *s, size_t len)
{
	uint64_t h = 0xcbf29ce484222325u;
	size_t i;

	for (i = 0; i < len; i++) {
		h ^= (unsigned char)s[i];
		h *= 0x100000001b3u;
	}
	return (size_t)(h ^ (h >> 32));
}

static struct map_slot *map_probe(struct map_slot *v, size_t cap,
                                  const char *key, size_t len)
{
	size_t i = str_hash(key, len) & (cap - 1);

	while (v[i].key && (v[i].len != len || memcmp(v[i].key, key, len) != 0))
		i = (i + 1) & (cap - 1);
	return &v[i];
}

/* The slot of key, or NULL. */
static struct map_slot *map_find(const struct map *m, const char *key,
                                 size_t len)
{
	struct map_slot *s;

	if (!m->cap)
		return NULL;
	s = map_probe(m->v, m->cap, key, len);
	return s->key ? s : NULL;
}

/* Add a key that is not there yet (borrowed, or copied when own_keys).
 * -1 when out of memory. */
static int map_add(struct map *m, const char *key, size_t len, size_t val)
{
	struct map_slot *s;
	char *copy = NULL;
	size_t i;

	if ((m->n + 1) * 2 > m->cap) {
		size_t cap = m->cap ? m->cap * 2 : 64;
		struct map_slot *v = calloc(cap, sizeof(*v));

		if (!v)
			return -1;
		for (i = 0; i < m->cap; i++)
			if (m->v[i].key)
				*map_probe(v, cap, m->v[i].key, m->v[i].len) =
				        m->v[i];
		free(m->v);
		m->v = v;
		m->cap = cap;
	}
	if (m->own_keys) {
		copy = malloc(len + 1);
		if (!copy)
			return -1;
		memcpy(copy, key, len);
		copy[len] = '\0';
		key = copy;
	}
	s = map_probe(m->v, m->cap, key, len);
	s->key = key;
	s->len = len;
	s->val = val;
	m->n++;
	return 0;
}

static void map_release(struct map *m)
{
	size_t i;

	if (m->own_keys)
		for (i = 0; i < m->cap; i++)
			free((char *)m->v[i].key);
	free(m->v);
	m->v = NULL;
	m->cap = m->n = 0;
}

/* ---- the layout: which entry may come next --------------------------------
 */

struct layout {
	enum kind phase;
	struct map parts; /* "NNNN.<schema>.<table>" -> last part + 1 */
};

static void layout_init(struct layout *l)
{
	memset(l, 0, sizeof(*l));
	l->phase = K_START;
	l->parts.own_keys = true;
}

static const char *expected(enum kind phase)
{
	switch (phase) {
	case K_START:
		return "'schema/pre-data.sql' first";
	case K_PRE:
	case K_DATA:
		return "data parts, then 'schema/post-data.sql'";
	case K_POST:
		return "'restore.sql' after 'schema/post-data.sql'";
	case K_RESTORE:
		return "'manifest.json' last";
	default:
		return "nothing after 'manifest.json'";
	}
}

/* Accept the next entry or say why it is out of order. */
static int layout_next(struct layout *l, const char *name,
                       const struct name_info *ni, struct pgw_err *err)
{
	char buf[160];
	bool ok;

	switch (ni->kind) {
	case K_PRE:
		ok = l->phase == K_START;
		break;
	case K_DATA:
	case K_POST:
		ok = l->phase == K_PRE || l->phase == K_DATA;
		break;
	case K_RESTORE:
		ok = l->phase == K_POST;
		break;
	case K_MANIFEST:
		ok = l->phase == K_RESTORE;
		break;
	default:
		ok = false;
		break;
	}
	if (!ok)
		return pgw_err_set(err, PGW_EINVAL,
		                   "entry '%s' is out of order (expected %s)",
		                   shown(buf, name), expected(l->phase));
	if (ni->kind == K_DATA) {
		struct map_slot *s = map_find(&l->parts, ni->key, ni->key_len);

		if (s && ni->part < s->val)
			return pgw_err_set(
			        err, PGW_EINVAL,
			        "entry '%s' is out of order (part %lu of its table came earlier)",
			        shown(buf, name), s->val - 1);
		if (s)
			s->val = ni->part + 1;
		else if (map_add(&l->parts, ni->key, ni->key_len, ni->part + 1))
			return pgw_err_oom(err);
	}
	l->phase = ni->kind;
	return 0;
}

/* ---- entry lists ----------------------------------------------------------
 */

struct entries {
	struct pgw_archive_entry *v;
	size_t n, cap;
	struct map index; /* name -> position in v (names borrowed from v) */
};

static void entries_release(struct entries *es)
{
	size_t i;

	for (i = 0; i < es->n; i++) {
		free(es->v[i].name);
		free(es->v[i].copy_format);
	}
	free(es->v);
	map_release(&es->index);
	memset(es, 0, sizeof(*es));
}

/* Append an entry (name copied); *out points at it until the next push. */
static int entries_push(struct entries *es, struct pgw_archive_entry **out,
                        const char *name, struct pgw_err *err)
{
	struct pgw_archive_entry *e;
	size_t len = strlen(name);

	if (es->n == es->cap) {
		size_t cap = es->cap ? es->cap * 2 : 16;
		struct pgw_archive_entry *v = realloc(es->v, cap * sizeof(*v));

		if (!v)
			return pgw_err_oom(err);
		es->v = v;
		es->cap = cap;
	}
	e = &es->v[es->n];
	memset(e, 0, sizeof(*e));
	e->rows = -1;
	e->name = malloc(len + 1);
	if (!e->name)
		return pgw_err_oom(err);
	memcpy(e->name, name, len + 1);
	if (map_add(&es->index, e->name, len, es->n)) {
		free(e->name);
		return pgw_err_oom(err);
	}
	es->n++;
	*out = e;
	return 0;
}

static const struct pgw_archive_entry *entries_find(const struct entries *es,
                                                    const char *name)
{
	struct map_slot *s = map_find(&es->index, name, strlen(name));

	return s ? &es->v[s->val] : NULL;
}

/* ---- tables -----------------------------------------------------------------
 */

static bool plain_ident_char(unsigned char c, bool first)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
	       c >= 0x80 || (!first && ((c >= '0' && c <= '9') || c == '$'));
}

/* A COPY column list as the catalog writes it: identifiers, each plain
 * (letters, digits, _, $) or in double quotes ("" for a quote), separated
 * by commas and spaces.  Restore puts it into SQL, so nothing else may
 * pass; "" (no list) is fine. */
static bool column_list_ok(const char *s)
{
	bool want_ident = true;
	size_t n = 0, len;

	while (*s) {
		if (*s == ' ') {
			s++;
			continue;
		}
		if (!want_ident) {
			if (*s != ',')
				return false;
			s++;
			want_ident = true;
			continue;
		}
		if (*s == '"') {
			for (s++, len = 0;; s++, len++) {
				if (!*s)
					return false;
				if (*s == '"' && s[1] != '"')
					break;
				if (*s == '"')
					s++;
			}
			s++;
			if (!len)
				return false;
		} else if (plain_ident_char((unsigned char)*s, true)) {
			while (plain_ident_char((unsigned char)*s, false))
				s++;
		} else {
			return false;
		}
		want_ident = false;
		n++;
	}
	return !n || !want_ident;
}

struct seq_pos {
	unsigned seq;
	size_t pos;
};

static int seq_cmp(const void *a, const void *b)
{
	unsigned x = ((const struct seq_pos *)a)->seq;
	unsigned y = ((const struct seq_pos *)b)->seq;

	return x < y ? -1 : x > y;
}

/* The tables and the data entries agree: every table once, with a name
 * and a column list restore can use; every data part belongs to a table;
 * a table's rows are the sum of its parts' rows.  Messages start with
 * "manifest.json". */
static int check_tables(const struct pgw_manifest_table *t, size_t n,
                        const struct pgw_archive_entry *e, size_t n_entries,
                        struct pgw_err *err)
{
	struct seq_pos *by_seq = NULL, key, *hit;
	long long *rows = NULL;
	struct name_info ni;
	char buf[160];
	size_t i;
	int error = 0;

	by_seq = malloc((n + 1) * sizeof(*by_seq));
	rows = calloc(n + 1, sizeof(*rows));
	if (!by_seq || !rows) {
		error = pgw_err_oom(err);
		goto done;
	}
	for (i = 0; i < n && !error; i++) {
		by_seq[i].seq = t[i].seq;
		by_seq[i].pos = i;
		if (!t[i].seq)
			error = pgw_err_set(
			        err, PGW_EINVAL,
			        "manifest.json: table %zu has number 0", i);
		else if (!t[i].schema || !*t[i].schema || !t[i].name ||
		         !*t[i].name)
			error = pgw_err_set(
			        err, PGW_EINVAL,
			        "manifest.json: table %u has no schema or name",
			        t[i].seq);
		else if (t[i].columns && !column_list_ok(t[i].columns))
			error = pgw_err_set(
			        err, PGW_EINVAL,
			        "manifest.json: the columns of table %u are not a list of column names",
			        t[i].seq);
		else if (t[i].rows < 0)
			error = pgw_err_set(
			        err, PGW_EINVAL,
			        "manifest.json: table %u has a negative row count",
			        t[i].seq);
	}
	if (error)
		goto done;
	qsort(by_seq, n, sizeof(*by_seq), seq_cmp);
	for (i = 1; i < n; i++) {
		if (by_seq[i].seq == by_seq[i - 1].seq) {
			error = pgw_err_set(
			        err, PGW_EINVAL,
			        "manifest.json lists table %u twice",
			        by_seq[i].seq);
			goto done;
		}
	}
	for (i = 0; i < n_entries; i++) {
		if (name_problem(e[i].name, &ni) || ni.kind != K_DATA)
			continue;
		key.seq = ni.table_no;
		hit = n ? bsearch(&key, by_seq, n, sizeof(*by_seq), seq_cmp)
		        : NULL;
		if (!hit) {
			error = pgw_err_set(
			        err, PGW_EINVAL,
			        "manifest.json: data part '%s' belongs to no table (number %u)",
			        shown(buf, e[i].name), ni.table_no);
			goto done;
		}
		if (e[i].rows > LLONG_MAX - rows[hit->pos]) {
			error = pgw_err_set(
			        err, PGW_EINVAL,
			        "manifest.json: the row counts of table %u overflow",
			        ni.table_no);
			goto done;
		}
		rows[hit->pos] += e[i].rows;
	}
	for (i = 0; i < n; i++) {
		if (rows[i] != t[i].rows) {
			error = pgw_err_set(
			        err, PGW_EINVAL,
			        "manifest.json: table %u has %lld rows, its data parts %lld",
			        t[i].seq, t[i].rows, rows[i]);
			goto done;
		}
	}
done:
	free(by_seq);
	free(rows);
	return error;
}

/* ---- writer ---------------------------------------------------------------
 */

struct pgw_archive_writer {
	struct archive *a;
	struct archive_entry *entry;
	int fd;
	char *path, *partial;
	struct sha256_ctx file_sha; /* of what reaches the file */
	int io_errno;               /* first write(2) error */
	bool created;               /* the partial file is ours to remove */
	bool discard;               /* aborting: drop what is left */
	int failed;                 /* a step failed: nothing more */
	struct layout layout;
	struct entries entries;
};

static __typeof__(archive_write_callback) out_write;

static la_ssize_t out_write(struct archive *a, void *client, const void *buf,
                            size_t len)
{
	struct pgw_archive_writer *w = client;
	const char *p = buf;
	size_t left = len;
	ssize_t n;

	if (w->discard)
		return (la_ssize_t)len;
	while (left) {
		n = write(w->fd, p, left);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			/* write() returns 0 only for a 0-byte request */
			w->io_errno = n < 0 ? errno : ENOSPC;
			la.archive_set_error(a, w->io_errno, "%s",
			                     strerror(w->io_errno));
			return -1;
		}
		sha256_update(&w->file_sha, (size_t)n, (const uint8_t *)p);
		p += n;
		left -= (size_t)n;
	}
	return (la_ssize_t)len;
}

/* A libarchive call failed: the writer is done for. */
static int writer_fail(struct pgw_archive_writer *w, const char *what,
                       const char *name, struct pgw_err *err)
{
	char buf[160];

	w->failed = PGW_EIO;
	if (w->io_errno)
		pgw_err_set(err, PGW_EIO, "cannot write '%s': %s", w->partial,
		            strerror(w->io_errno));
	else if (name)
		pgw_err_set(err, PGW_EIO,
		            "cannot write '%s', entry '%s': %s: %s", w->partial,
		            shown(buf, name), what, la_msg(w->a));
	else
		pgw_err_set(err, PGW_EIO, "cannot write '%s': %s: %s",
		            w->partial, what, la_msg(w->a));
	return PGW_EIO;
}

/* ARCHIVE_WARN is logged, anything worse is an error. */
static int writer_check(struct pgw_archive_writer *w, int r, const char *what,
                        const char *name, struct pgw_err *err)
{
	if (r == ARCHIVE_OK)
		return 0;
	if (r == ARCHIVE_WARN) {
		pgw_log_warn("archive '%s': %s: %s", w->partial, what,
		             la_msg(w->a));
		return 0;
	}
	return writer_fail(w, what, name, err);
}

static int write_entry(struct pgw_archive_writer *w, const char *name,
                       const void *data, size_t len, struct pgw_err *err)
{
	const char *p = data;
	size_t off = 0;
	la_ssize_t n;
	int error;

	la.archive_entry_clear(w->entry);
	la.archive_entry_set_pathname(w->entry, name);
	la.archive_entry_set_size(w->entry, (la_int64_t)len);
	la.archive_entry_set_filetype(w->entry, AE_IFREG);
	la.archive_entry_set_perm(w->entry, 0600);
	la.archive_entry_set_mtime(w->entry, time(NULL), 0);
	la.archive_entry_set_uid(w->entry, 0);
	la.archive_entry_set_gid(w->entry, 0);
	error = writer_check(w, la.archive_write_header(w->a, w->entry),
	                     "header", name, err);
	if (error)
		return error;
	while (off < len) {
		n = la.archive_write_data(w->a, p + off, len - off);
		if (n <= 0)
			return writer_fail(w, "data", name, err);
		off += (size_t)n;
	}
	return writer_check(w, la.archive_write_finish_entry(w->a), "data",
	                    name, err);
}

static void writer_free(struct pgw_archive_writer *w)
{
	if (w->a) {
		/* closing writes the trailer: into nothing */
		w->discard = true;
		la.archive_write_free(w->a);
	}
	if (w->entry)
		la.archive_entry_free(w->entry);
	if (w->fd >= 0)
		close(w->fd);
	map_release(&w->layout.parts);
	entries_release(&w->entries);
	free(w->path);
	free(w->partial);
	free(w);
}

void pgw_archive_abort(struct pgw_archive_writer *w)
{
	locale_t old;

	if (!w)
		return;
	old = la_enter();
	if (w->created)
		unlink(w->partial);
	writer_free(w);
	la_leave(old);
}

/* A partial archive whose writer is gone: every writer holds an flock
 * on its file until it finishes, and the kernel drops it when the writer
 * dies. */
static bool partial_is_stale(const char *partial)
{
	int saved = errno, fd = open(partial, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	bool stale = false;

	if (fd >= 0) {
		stale = flock(fd, LOCK_EX | LOCK_NB) == 0;
		close(fd);
	}
	errno = saved; /* the caller reports why its open failed */
	return stale;
}

int pgw_archive_create(struct pgw_archive_writer **out, const char *path,
                       int zstd_level, struct pgw_err *err)
{
	struct pgw_archive_writer *w = NULL;
	struct stat st;
	size_t len;
	locale_t old = (locale_t)0;
	char level[16];
	int error;

	*out = NULL;
	if (!path || !*path)
		return pgw_err_set(err, PGW_EINVAL, "no archive path given");
	if (zstd_level < 0 || zstd_level > 22)
		return pgw_err_set(
		        err, PGW_EINVAL,
		        "zstd level %d is out of range (0 for none, 1 to 22)",
		        zstd_level);
	error = la_load(err);
	if (error)
		return error;
	if (lstat(path, &st) == 0)
		return pgw_err_set(err, PGW_EINVAL,
		                   "archive '%s' already exists", path);
	if (errno != ENOENT)
		return pgw_err_set(err, PGW_EIO, "cannot use '%s': %s", path,
		                   strerror(errno));
	w = calloc(1, sizeof(*w));
	if (!w)
		return pgw_err_oom(err);
	w->fd = -1;
	layout_init(&w->layout);
	sha256_init(&w->file_sha);
	len = strlen(path);
	w->path = malloc(len + 1);
	w->partial = malloc(len + sizeof(".partial"));
	if (!w->path || !w->partial) {
		error = pgw_err_oom(err);
		goto fail;
	}
	memcpy(w->path, path, len + 1);
	memcpy(w->partial, path, len);
	memcpy(w->partial + len, ".partial", sizeof(".partial"));
	w->fd = open(w->partial, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (w->fd < 0 && errno == EEXIST && partial_is_stale(w->partial)) {
		/* its writer died (a killed deploy): not anyone's file */
		pgw_log_notice("removing '%s', left by a backup that did not finish",
		               w->partial);
		unlink(w->partial);
		w->fd = open(w->partial, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC,
		             0600);
	}
	/* held while it is written: tells a live writer from a dead one */
	if (w->fd >= 0)
		(void)flock(w->fd, LOCK_EX | LOCK_NB);
	if (w->fd < 0) {
		error = pgw_err_set(err, PGW_EIO, "cannot create '%s': %s",
		                    w->partial, strerror(errno));
		if (errno == EEXIST)
			pgw_err_hint(
			        err,
			        "an earlier backup stopped half-way: remove the file");
		goto fail;
	}
	w->created = true;
	/* exactly 0600, whatever the umask */
	if (fchmod(w->fd, 0600) != 0) {
		error = pgw_err_set(err, PGW_EIO, "cannot chmod '%s': %s",
		                    w->partial, strerror(errno));
		goto fail;
	}
	old = la_enter();
	w->a = la.archive_write_new();
	w->entry = la.archive_entry_new();
	if (!w->a || !w->entry) {
		error = pgw_err_oom(err);
		goto fail;
	}
	error = writer_check(w,
	                     la.archive_write_set_format_pax_restricted(w->a),
	                     "tar format", NULL, err);
	if (!error && zstd_level > 0) {
		snprintf(level, sizeof(level), "%d", zstd_level);
		error = writer_check(w, la.archive_write_add_filter_zstd(w->a),
		                     "zstd", NULL, err);
		if (!error)
			error = writer_check(w,
			                     la.archive_write_set_filter_option(
			                             w->a, "zstd",
			                             "compression-level",
			                             level),
			                     "zstd level", NULL, err);
		/* compress on other cores while this thread reads from the
		 * server (a libarchive built without it refuses: fine) */
		if (!error &&
		    la.archive_write_set_filter_option(w->a, "zstd", "threads",
		                                       "2") != ARCHIVE_OK)
			pgw_log_debug("zstd: no worker threads in this libarchive");
	}
	/* no padding after the last block: zstd -d refuses trailing zeros */
	if (!error)
		error = writer_check(
		        w, la.archive_write_set_bytes_in_last_block(w->a, 1),
		        "block size", NULL, err);
	if (!error)
		error = writer_check(
		        w,
		        la.archive_write_open(w->a, w, NULL, out_write, NULL),
		        "open", NULL, err);
	if (error)
		goto fail;
	la_leave(old);
	*out = w;
	return 0;
fail:
	la_leave(old);
	pgw_archive_abort(w);
	return error;
}

static bool is_ascii(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s >= 0x80)
			return false;
	return true;
}

static bool known_copy_format(const char *f)
{
	return f && (!strcmp(f, "text") || !strcmp(f, "csv") ||
	             !strcmp(f, "binary"));
}

int pgw_archive_add(struct pgw_archive_writer *w, const char *name,
                    const void *data, size_t len, const char *copy_format,
                    long long rows, struct pgw_err *err)
{
	struct pgw_archive_entry *e;
	struct sha256_ctx sha;
	struct name_info ni;
	const char *why;
	char buf[160];
	locale_t old;
	int error;

	if (w->failed)
		return pgw_err_set(err, w->failed,
		                   "archive '%s' failed earlier", w->partial);
	why = name ? name_problem(name, &ni) : "no name given";
	if (why)
		return pgw_err_set(err, PGW_EINVAL,
		                   "cannot add '%s' to the archive: %s",
		                   name ? shown(buf, name) : "", why);
	if (ni.kind == K_MANIFEST)
		return pgw_err_set(
		        err, PGW_EINVAL,
		        "cannot add 'manifest.json': pgw_archive_finish() writes it");
	if (!la_utf8 && !is_ascii(name))
		return pgw_err_set(
		        err, PGW_EINVAL,
		        "cannot add '%s' to the archive: a non-ASCII name needs a UTF-8 locale (C.UTF-8), and there is none",
		        shown(buf, name));
	if (ni.kind == K_DATA && (rows < 0 || !known_copy_format(copy_format)))
		return pgw_err_set(
		        err, PGW_EINVAL,
		        "cannot add '%s' to the archive: a data part needs its rows and a COPY format (text, csv or binary)",
		        shown(buf, name));
	if (entries_find(&w->entries, name))
		return pgw_err_set(err, PGW_EINVAL,
		                   "cannot add '%s' to the archive twice",
		                   shown(buf, name));
	if (w->entries.n >= PGW_ARCHIVE_MAX_ENTRIES)
		return pgw_err_set(
		        err, PGW_EINVAL,
		        "cannot add '%s': an archive holds at most %u entries",
		        shown(buf, name), PGW_ARCHIVE_MAX_ENTRIES);
	error = layout_next(&w->layout, name, &ni, err);
	if (error)
		return error;
	error = entries_push(&w->entries, &e, name, err);
	if (error)
		return error;
	e->bytes = len;
	if (ni.kind == K_DATA) {
		e->rows = rows;
		e->copy_format = strdup(copy_format);
		if (!e->copy_format)
			return pgw_err_oom(err);
	}
	sha256_init(&sha);
	sha256_update(&sha, len, data);
	hex_digest(e->sha256, &sha);
	old = la_enter();
	error = write_entry(w, name, data, len, err);
	la_leave(old);
	return error;
}

/* ---- manifest.json, written ------------------------------------------------
 */

/* Set o[key] to the string s (NULL: null).  A string that is not UTF-8 is
 * PGW_EINVAL naming the key. */
static int put_str(json_t *o, const char *key, const char *s,
                   struct pgw_err *err)
{
	json_t *v = s ? json_string(s) : json_null();

	if (!v && s && !valid_utf8(s))
		return pgw_err_set(err, PGW_EINVAL,
		                   "manifest field '%s' is not valid UTF-8",
		                   key);
	if (!v)
		return pgw_err_oom(err);
	if (json_object_set_new(o, key, v))
		return pgw_err_oom(err);
	return 0;
}

static int put_new(json_t *o, const char *key, json_t *v, struct pgw_err *err)
{
	if (!v || json_object_set_new(o, key, v))
		return pgw_err_oom(err);
	return 0;
}

/* "name version" -> {"name": ..., "version": ...} */
static int put_extensions(json_t *o, const char *const *list,
                          struct pgw_err *err)
{
	json_t *a = json_array();
	char name[256];
	int error = 0;

	if (put_new(o, "extensions", a, err))
		return PGW_ENOMEM;
	for (; list && *list && !error; list++) {
		const char *sp = strchr(*list, ' ');
		size_t n = sp ? (size_t)(sp - *list) : strlen(*list);
		json_t *e = json_object();

		if (!e || json_array_append_new(a, e))
			return pgw_err_oom(err);
		if (!n || n >= sizeof(name))
			return pgw_err_set(
			        err, PGW_EINVAL,
			        "extension '%s' is not \"name version\"",
			        *list);
		memcpy(name, *list, n);
		name[n] = '\0';
		error = put_str(e, "name", name, err);
		if (!error && sp) {
			/* "name version schema": the schema is optional */
			const char *sp2 = strchr(sp + 1, ' ');
			char version[256];

			snprintf(version, sizeof(version), "%.*s",
			         (int)(sp2 ? (size_t)(sp2 - sp - 1) : strlen(sp + 1)),
			         sp + 1);
			error = put_str(e, "version", version, err);
			if (!error && sp2)
				error = put_str(e, "schema", sp2 + 1, err);
		} else if (!error) {
			error = put_str(e, "version", NULL, err);
		}
	}
	return error;
}

/* "name=value" -> {"name": "value", ...} */
static int put_settings(json_t *o, const char *const *list, struct pgw_err *err)
{
	json_t *s = json_object();
	char name[256];
	int error = 0;

	if (put_new(o, "settings", s, err))
		return PGW_ENOMEM;
	for (; list && *list && !error; list++) {
		const char *eq = strchr(*list, '=');
		size_t n = eq ? (size_t)(eq - *list) : 0;

		if (!n || n >= sizeof(name))
			return pgw_err_set(err, PGW_EINVAL,
			                   "setting '%s' is not \"name=value\"",
			                   *list);
		memcpy(name, *list, n);
		name[n] = '\0';
		error = put_str(s, name, eq + 1, err);
	}
	return error;
}

static int put_strings(json_t *o, const char *key, const char *const *list,
                       struct pgw_err *err)
{
	json_t *a = json_array();
	json_t *v;

	if (put_new(o, key, a, err))
		return PGW_ENOMEM;
	for (; list && *list; list++) {
		v = json_string(*list);
		if (!v)
			return pgw_err_set(
			        err, PGW_EINVAL,
			        "manifest field '%s' has a value that is not valid UTF-8",
			        key);
		if (json_array_append_new(a, v))
			return pgw_err_oom(err);
	}
	return 0;
}

static int put_tables(json_t *o, const struct pgw_manifest_table *t, size_t n,
                      struct pgw_err *err)
{
	json_t *a = json_array();
	size_t i;
	int error = 0;

	if (put_new(o, "tables", a, err))
		return PGW_ENOMEM;
	for (i = 0; i < n && !error; i++) {
		json_t *jt = json_object();

		if (!jt || json_array_append_new(a, jt))
			return pgw_err_oom(err);
		error = put_new(jt, "seq", json_integer(t[i].seq), err);
		if (!error)
			error = put_str(jt, "schema", t[i].schema, err);
		if (!error)
			error = put_str(jt, "name", t[i].name, err);
		if (!error)
			error = put_str(jt, "columns", t[i].columns, err);
		if (!error)
			error = put_new(jt, "rows", json_integer(t[i].rows),
			                err);
	}
	return error;
}

static int put_entries(json_t *o, const struct entries *es, struct pgw_err *err)
{
	json_t *a = json_array();
	size_t i;
	int error = 0;

	if (put_new(o, "entries", a, err))
		return PGW_ENOMEM;
	for (i = 0; i < es->n && !error; i++) {
		const struct pgw_archive_entry *e = &es->v[i];
		json_t *je = json_object();

		if (!je || json_array_append_new(a, je))
			return pgw_err_oom(err);
		error = put_str(je, "path", e->name, err);
		if (!error)
			error = put_new(je, "bytes",
			                json_integer((json_int_t)e->bytes),
			                err);
		if (!error && e->copy_format)
			error = put_new(je, "rows", json_integer(e->rows), err);
		if (!error)
			error = put_str(je, "sha256", e->sha256, err);
		if (!error && e->copy_format)
			error = put_str(je, "copy_format", e->copy_format, err);
	}
	return error;
}

/* The manifest's own checksum: SHA-256 of the object (without the
 * checksum) written compact with sorted keys, so that any change to what
 * it says shows, however the text is laid out. */
static int canonical_sha256(char out[65], const json_t *o, struct pgw_err *err)
{
	char *text = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
	struct sha256_ctx sha;

	if (!text)
		return pgw_err_oom(err);
	sha256_init(&sha);
	sha256_update(&sha, strlen(text), (const uint8_t *)text);
	hex_digest(out, &sha);
	free(text);
	return 0;
}

static void utc_now(char out[32])
{
	time_t now = time(NULL);
	struct tm tm;

	if (!gmtime_r(&now, &tm) ||
	    !strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm))
		snprintf(out, 32, "1970-01-01T00:00:00Z");
}

/* The manifest as JSON text; the caller owns *out (free()). */
static int manifest_text(char **out, const struct entries *es,
                         const struct pgw_manifest_info *info,
                         struct pgw_err *err)
{
	static const struct pgw_manifest_info none;
	json_t *o = json_object();
	char now[32], sha[65];
	int error;

	*out = NULL;
	if (!info)
		info = &none;
	utc_now(now);
	error = put_new(o, "format", json_integer(PGW_ARCHIVE_FORMAT), err);
	if (!error)
		error = put_str(o, "created_at",
		                info->created_at ? info->created_at : now, err);
	if (!error)
		error = put_str(o, "pgward_version", PGW_VERSION, err);
	if (!error)
		error = put_new(o, "server_version_num",
		                json_integer(info->server_version_num), err);
	if (!error)
		error = put_str(o, "database", info->database, err);
	if (!error)
		error = put_str(o, "encoding", info->encoding, err);
	if (!error)
		error = put_str(o, "collation", info->collation, err);
	if (!error)
		error = put_str(o, "ctype", info->ctype, err);
	if (!error)
		error = put_extensions(o, info->extensions, err);
	if (!error)
		error = put_str(o, "schema_version", info->schema_version, err);
	if (!error)
		error = put_str(o, "git_commit", info->git_commit, err);
	if (!error)
		error = put_str(o, "git_tag", info->git_tag, err);
	if (!error)
		error = put_str(o, "wal_lsn", info->wal_lsn, err);
	if (!error)
		error = put_settings(o, info->settings, err);
	if (!error)
		error = put_strings(o, "omitted", info->omitted, err);
	if (!error)
		error = put_strings(o, "schemas", info->schemas, err);
	if (!error)
		error = put_tables(o, info->tables, info->n_tables, err);
	if (!error)
		error = put_entries(o, es, err);
	if (!error)
		error = canonical_sha256(sha, o, err);
	if (!error)
		error = put_str(o, "manifest_sha256", sha, err);
	if (!error) {
		*out = json_dumps(o, JSON_INDENT(1) | JSON_PRESERVE_ORDER);
		if (!*out)
			error = pgw_err_oom(err);
	}
	json_decref(o);
	return error;
}

/* fsync the directory holding `path`, so that the rename is durable. */
static void sync_dir(const char *path)
{
	const char *slash = strrchr(path, '/');
	char dir[4096];
	int fd;

	if (!slash)
		snprintf(dir, sizeof(dir), ".");
	else if (slash == path)
		snprintf(dir, sizeof(dir), "/");
	else if ((size_t)(slash - path) < sizeof(dir))
		snprintf(dir, sizeof(dir), "%.*s", (int)(slash - path), path);
	else
		return;
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return;
	if (fsync(fd) != 0 && errno != EINVAL)
		pgw_log_warn("cannot fsync directory '%s': %s", dir,
		             strerror(errno));
	close(fd);
}

int pgw_archive_finish(struct pgw_archive_writer *w,
                       const struct pgw_manifest_info *info,
                       char sha256_out[65], struct pgw_err *err)
{
	char *text = NULL;
	locale_t old;
	size_t len;
	int error = 0, r;

	old = la_enter();
	if (w->failed) {
		error = pgw_err_set(err, w->failed,
		                    "archive '%s' failed earlier", w->partial);
		goto fail;
	}
	if (w->layout.phase != K_RESTORE) {
		error = pgw_err_set(
		        err, PGW_EINVAL,
		        "cannot finish archive '%s': %s is missing", w->path,
		        w->layout.phase == K_START  ? "'schema/pre-data.sql'"
		        : w->layout.phase == K_POST ? "'restore.sql'"
		                                    : "'schema/post-data.sql'");
		goto fail;
	}
	error = check_tables(info ? info->tables : NULL,
	                     info ? info->n_tables : 0, w->entries.v,
	                     w->entries.n, err);
	if (error) {
		pgw_err_wrap(err, "cannot finish archive '%s'", w->path);
		goto fail;
	}
	error = manifest_text(&text, &w->entries, info, err);
	if (error)
		goto fail;
	len = strlen(text);
	if (len > PGW_ARCHIVE_MAX_MANIFEST) {
		error = pgw_err_set(
		        err, PGW_EINVAL,
		        "manifest of '%s' would be %zu bytes, more than %u",
		        w->path, len, PGW_ARCHIVE_MAX_MANIFEST);
		goto fail;
	}
	error = write_entry(w, MANIFEST_NAME, text, len, err);
	if (error)
		goto fail;
	r = la.archive_write_close(w->a);
	error = writer_check(w, r, "close", NULL, err);
	if (error)
		goto fail;
	r = la.archive_write_free(w->a);
	w->a = NULL;
	if (r != ARCHIVE_OK) {
		error = pgw_err_set(
		        err, PGW_EIO,
		        "cannot write '%s': libarchive failed to finish",
		        w->partial);
		goto fail;
	}
	if (fsync(w->fd) != 0) {
		error = pgw_err_set(err, PGW_EIO, "cannot fsync '%s': %s",
		                    w->partial, strerror(errno));
		goto fail;
	}
	r = close(w->fd);
	w->fd = -1;
	if (r != 0) {
		error = pgw_err_set(err, PGW_EIO, "cannot write '%s': %s",
		                    w->partial, strerror(errno));
		goto fail;
	}
	if (rename(w->partial, w->path) != 0) {
		error = pgw_err_set(err, PGW_EIO,
		                    "cannot rename '%s' to '%s': %s",
		                    w->partial, w->path, strerror(errno));
		goto fail;
	}
	w->created = false;
	sync_dir(w->path);
	if (sha256_out)
		hex_digest(sha256_out, &w->file_sha);
	free(text);
	writer_free(w);
	la_leave(old);
	return 0;
fail:
	free(text);
	la_leave(old);
	pgw_archive_abort(w);
	return error;
}

/* ---- hashing on a second core ----------------------------------------------
 *
 * The verifier decompresses every byte of the archive and hashes it twice:
 * each entry (what the manifest lists) and the whole file (what `archive
 * verify` reports).  Decompression costs about twice what SHA-256 does, so
 * the hashing goes to a thread of its own: the verifier copies each block
 * into a small ring (memory stays flat) and goes on decompressing.  The
 * digests are read only after hasher_finish(), which joins the thread.
 * When no thread can be started, the caller hashes in line instead. */

#define HASH_SLOT IO_BUF
#define HASH_SLOTS 16

enum hash_op {
	H_FILE,      /* bytes of the file */
	H_ENTRY,     /* bytes of the current entry */
	H_ENTRY_END, /* the current entry is complete: its digest to `index` */
	H_STOP,
};

struct hash_job {
	enum hash_op op;
	size_t len;
	size_t index;
	unsigned char data[HASH_SLOT];
};

struct hasher {
	pthread_t thread;
	bool running;
	pthread_mutex_t mu;
	pthread_cond_t more, room;
	size_t head, tail; /* jobs queued: head - tail, under mu */
	struct hash_job jobs[HASH_SLOTS];
	/* the thread's own until hasher_finish() */
	struct sha256_ctx file, entry;
	char (*digests)[65]; /* of entry `index`, by index */
	size_t cap;
	bool oom;
};

static void hasher_do(struct hasher *h, const struct hash_job *j)
{
	switch (j->op) {
	case H_FILE:
		sha256_update(&h->file, j->len, j->data);
		break;
	case H_ENTRY:
		sha256_update(&h->entry, j->len, j->data);
		break;
	case H_ENTRY_END:
		if (j->index >= h->cap && !h->oom) {
			size_t cap = h->cap ? h->cap * 2 : 64;
			char(*d)[65];

			while (cap <= j->index)
				cap *= 2;
			d = realloc(h->digests, cap * sizeof(*d));
			if (d) {
				h->digests = d;
				h->cap = cap;
			} else {
				h->oom = true;
			}
		}
		if (j->index < h->cap)
			hex_digest(h->digests[j->index], &h->entry);
		sha256_init(&h->entry);
		break;
	case H_STOP:
		break;
	}
}

static void *hasher_main(void *arg)
{
	struct hasher *h = arg;
	struct hash_job *j;
	bool stop;

	for (;;) {
		pthread_mutex_lock(&h->mu);
		while (h->head == h->tail)
			pthread_cond_wait(&h->more, &h->mu);
		/* the slot at tail is this thread's until tail moves on */
		j = &h->jobs[h->tail % HASH_SLOTS];
		pthread_mutex_unlock(&h->mu);
		stop = j->op == H_STOP;
		hasher_do(h, j);
		pthread_mutex_lock(&h->mu);
		h->tail++;
		pthread_cond_signal(&h->room);
		pthread_mutex_unlock(&h->mu);
		if (stop)
			return NULL;
	}
}

/* A hasher with its thread running, or NULL when none could be started
 * (out of memory or threads), which is no error: the caller then hashes
 * in line. */
static struct hasher *hasher_start(void)
{
	struct hasher *h = calloc(1, sizeof(*h));
	sigset_t all, old;
	int rc;

	if (!h)
		return NULL;
	sha256_init(&h->file);
	sha256_init(&h->entry);
	pthread_mutex_init(&h->mu, NULL);
	pthread_cond_init(&h->more, NULL);
	pthread_cond_init(&h->room, NULL);
	/* signals stay with the caller's thread (the CLI's handlers) */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	rc = pthread_create(&h->thread, NULL, hasher_main, h);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc != 0) {
		pthread_cond_destroy(&h->room);
		pthread_cond_destroy(&h->more);
		pthread_mutex_destroy(&h->mu);
		free(h);
		return NULL;
	}
	h->running = true;
	return h;
}

/* Queue one job; `data` is copied (up to HASH_SLOT bytes). */
static void hasher_put(struct hasher *h, enum hash_op op, const void *data,
                       size_t len, size_t index)
{
	struct hash_job *j;

	pthread_mutex_lock(&h->mu);
	while (h->head - h->tail == HASH_SLOTS)
		pthread_cond_wait(&h->room, &h->mu);
	/* the slot at head is this thread's until head moves on */
	j = &h->jobs[h->head % HASH_SLOTS];
	pthread_mutex_unlock(&h->mu);
	j->op = op;
	j->len = len;
	j->index = index;
	if (len)
		memcpy(j->data, data, len);
	pthread_mutex_lock(&h->mu);
	h->head++;
	pthread_cond_signal(&h->more);
	pthread_mutex_unlock(&h->mu);
}

static void hasher_data(struct hasher *h, enum hash_op op, const void *data,
                        size_t len)
{
	const unsigned char *p = data;
	size_t n;

	while (len) {
		n = len < HASH_SLOT ? len : HASH_SLOT;
		hasher_put(h, op, p, n, 0);
		p += n;
		len -= n;
	}
}

/* Wait for every queued job and stop the thread: the digests are the
 * caller's to read from now on. */
static void hasher_finish(struct hasher *h)
{
	if (!h || !h->running)
		return;
	hasher_put(h, H_STOP, NULL, 0, 0);
	pthread_join(h->thread, NULL);
	h->running = false;
}

static void hasher_free(struct hasher *h)
{
	if (!h)
		return;
	hasher_finish(h);
	pthread_cond_destroy(&h->room);
	pthread_cond_destroy(&h->more);
	pthread_mutex_destroy(&h->mu);
	free(h->digests);
	free(h);
}

/* ---- reading
 * ------------------------------------------------------------------ */

/* The archive file as libarchive reads it: sequentially, through a fixed
 * buffer.  The verifier hashes the whole file on the way (through its
 * hasher when it has one); the streaming reader does not need that. */
struct source {
	int fd;
	int io_errno;
	uint64_t bytes;
	bool hash_file;        /* hash what is read ... */
	struct hasher *hasher; /* ... there, or in line into sha */
	struct sha256_ctx sha;
	unsigned char buf[IO_BUF];
};

/* Add what was read to the checksum of the whole file. */
static void source_hash(struct source *s, const unsigned char *p, size_t n)
{
	if (!s->hash_file || !n)
		return;
	if (s->hasher)
		hasher_data(s->hasher, H_FILE, p, n);
	else
		sha256_update(&s->sha, n, p);
}

static __typeof__(archive_read_callback) source_read;

static la_ssize_t source_read(struct archive *a, void *client, const void **out)
{
	struct source *s = client;
	ssize_t n;

	do
		n = read(s->fd, s->buf, sizeof(s->buf));
	while (n < 0 && errno == EINTR);
	if (n < 0) {
		s->io_errno = errno;
		la.archive_set_error(a, errno, "%s", strerror(errno));
		return -1;
	}
	source_hash(s, s->buf, (size_t)n);
	s->bytes += (uint64_t)n;
	*out = s->buf;
	return n;
}

static int source_open(struct source **out, const char *path,
                       struct pgw_err *err)
{
	struct source *s;
	struct stat st;

	*out = NULL;
	s = malloc(sizeof(*s));
	if (!s)
		return pgw_err_oom(err);
	s->io_errno = 0;
	s->bytes = 0;
	s->hash_file = false;
	s->hasher = NULL;
	sha256_init(&s->sha);
	/* O_NONBLOCK: a FIFO is refused below instead of waiting for a
	 * writer (it changes nothing for a regular file) */
	s->fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (s->fd < 0) {
		int e = errno;

		free(s);
		if (e == ENOENT)
			return pgw_err_set(err, PGW_ENOTFOUND,
			                   "archive '%s' does not exist", path);
		return pgw_err_set(err, PGW_EIO, "cannot open archive '%s': %s",
		                   path, strerror(e));
	}
	if (fstat(s->fd, &st) != 0) {
		int e = errno;

		close(s->fd);
		free(s);
		return pgw_err_set(err, PGW_EIO, "cannot stat archive '%s': %s",
		                   path, strerror(e));
	}
	if (!S_ISREG(st.st_mode) || !st.st_size) {
		close(s->fd);
		free(s);
		return pgw_err_set(err, PGW_EINVAL, "archive '%s' is %s", path,
		                   S_ISREG(st.st_mode) ? "empty"
		                                       : "not a regular file");
	}
	*out = s;
	return 0;
}

static void source_close(struct source *s)
{
	if (!s)
		return;
	close(s->fd);
	free(s);
}

/* What libarchive said went wrong, as an error naming the entry (or not). */
static int read_fail(struct archive *a, const struct source *s,
                     const char *name, struct pgw_err *err)
{
	char buf[160];

	if (s->io_errno)
		return pgw_err_set(err, PGW_EIO, "cannot read: %s",
		                   strerror(s->io_errno));
	if (name)
		return pgw_err_set(err, PGW_EINVAL,
		                   "entry '%s' is damaged or cut short: %s",
		                   shown(buf, name), la_msg(a));
	return pgw_err_set(err, PGW_EINVAL,
	                   "damaged, cut short or not a pgward archive: %s",
	                   la_msg(a));
}

/* A libarchive reader of s: tar, compressed with zstd or not at all. */
static int read_new(struct archive **out, struct source *s, struct pgw_err *err)
{
	struct archive *a = la.archive_read_new();
	int r;

	*out = NULL;
	if (!a)
		return pgw_err_oom(err);
	r = la.archive_read_support_format_tar(a);
	if (r >= ARCHIVE_WARN)
		r = la.archive_read_support_filter_zstd(a);
	/* ARCHIVE_WARN: zstd runs as a program, which is fine */
	if (r >= ARCHIVE_WARN)
		r = la.archive_read_support_filter_none(a);
	if (r < ARCHIVE_WARN) {
		pgw_err_set(err, PGW_ERROR, "cannot set up libarchive: %s",
		            la_msg(a));
		la.archive_read_free(a);
		return PGW_ERROR;
	}
	r = la.archive_read_open(a, s, NULL, source_read, NULL);
	if (r < ARCHIVE_WARN) {
		read_fail(a, s, NULL, err);
		la.archive_read_free(a);
		return err->code;
	}
	*out = a;
	return 0;
}

static const char *type_name(unsigned type)
{
	switch (type) {
	case AE_IFLNK:
		return "a symbolic link";
	case AE_IFDIR:
		return "a directory";
	case AE_IFCHR:
		return "a character device";
	case AE_IFBLK:
		return "a block device";
	case AE_IFIFO:
		return "a FIFO";
	case AE_IFSOCK:
		return "a socket";
	default:
		return "not a regular file";
	}
}

/* Check one entry's header: a regular file with a name of the layout and
 * a size.  Sets *name (borrowed from e), *ni and *size. */
static int check_header(struct archive_entry *e, const char **name,
                        struct name_info *ni, uint64_t *size,
                        struct pgw_err *err)
{
	const char *n = la.archive_entry_pathname(e);
	unsigned type = la.archive_entry_filetype(e);
	const char *why;
	char buf[160];

	if (!n)
		return pgw_err_set(err, PGW_EINVAL,
		                   "an entry has a name that cannot be read");
	if (la.archive_entry_hardlink(e))
		return pgw_err_set(
		        err, PGW_EINVAL,
		        "entry '%s' is a hard link (only regular files are allowed)",
		        shown(buf, n));
	if (la.archive_entry_symlink(e))
		type = AE_IFLNK;
	if (type != AE_IFREG)
		return pgw_err_set(
		        err, PGW_EINVAL,
		        "entry '%s' is %s (only regular files are allowed)",
		        shown(buf, n), type_name(type));
	if (la.archive_entry_sparse_count(e) > 0)
		return pgw_err_set(
		        err, PGW_EINVAL,
		        "entry '%s' is a sparse file (only regular files are allowed)",
		        shown(buf, n));
	why = name_problem(n, ni);
	if (why)
		return pgw_err_set(err, PGW_EINVAL, "entry '%s': %s",
		                   shown(buf, n), why);
	if (!la.archive_entry_size_is_set(e) || la.archive_entry_size(e) < 0)
		return pgw_err_set(err, PGW_EINVAL, "entry '%s' has no size",
		                   shown(buf, n));
	*name = n;
	*size = (uint64_t)la.archive_entry_size(e);
	return 0;
}

/* ---- manifest.json, read
 * ---------------------------------------------------------- */

static int mf_missing(const char *what, struct pgw_err *err)
{
	return pgw_err_set(err, PGW_EINVAL, "manifest.json: '%s' is missing",
	                   what);
}

static int mf_bad(const char *what, const char *should, struct pgw_err *err)
{
	return pgw_err_set(err, PGW_EINVAL, "manifest.json: '%s' %s", what,
	                   should);
}

/* A string, or NULL when absent or null (an error when required).  Only
 * SQL names may hold control characters: they are always quoted, and
 * escaped when shown. */
static int mf_text(char **out, json_t *v, const char *what, bool required,
                   bool sql_name, struct pgw_err *err)
{
	const char *s;

	*out = NULL;
	if (!v || json_is_null(v))
		return required ? mf_missing(what, err) : 0;
	if (!json_is_string(v))
		return mf_bad(what, "is not a string", err);
	s = json_string_value(v);
	if (!sql_name && !utf8_text(s, true))
		return mf_bad(what, "contains a control character", err);
	*out = strdup(s);
	return *out ? 0 : pgw_err_oom(err);
}

static int mf_string(char **out, json_t *v, const char *what, bool required,
                     struct pgw_err *err)
{
	return mf_text(out, v, what, required, false, err);
}

/* A non-negative integer; *out = dflt when absent or null and not
 * required. */
static int mf_count(long long *out, json_t *v, const char *what, bool required,
                    long long dflt, struct pgw_err *err)
{
	*out = dflt;
	if (!v || json_is_null(v))
		return required ? mf_missing(what, err) : 0;
	if (!json_is_integer(v) || json_integer_value(v) < 0)
		return mf_bad(what, "is not a non-negative integer", err);
	*out = json_integer_value(v);
	return 0;
}

/* A growable NULL-terminated list of strings. */
struct strv {
	char **v;
	size_t n, cap;
};

static int strv_push(struct strv *l, char *s, struct pgw_err *err)
{
	if (l->n + 2 > l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 8;
		char **v = realloc(l->v, cap * sizeof(*v));

		if (!v) {
			free(s);
			return pgw_err_oom(err);
		}
		l->v = v;
		l->cap = cap;
	}
	l->v[l->n++] = s;
	l->v[l->n] = NULL;
	return 0;
}

static void strv_free(char **v)
{
	char **p;

	for (p = v; p && *p; p++)
		free(*p);
	free(v);
}

/* An empty list rather than NULL, so callers can walk it. */
static int strv_done(char ***out, struct strv *l, struct pgw_err *err)
{
	if (!l->v) {
		l->v = calloc(1, sizeof(char *));
		if (!l->v)
			return pgw_err_oom(err);
	}
	*out = l->v;
	l->v = NULL;
	return 0;
}

static char *join(const char *a, char sep, const char *b)
{
	size_t la_ = strlen(a), lb = b ? strlen(b) : 0;
	char *s = malloc(la_ + lb + 2);

	if (!s)
		return NULL;
	memcpy(s, a, la_);
	if (b) {
		s[la_] = sep;
		memcpy(s + la_ + 1, b, lb + 1);
	} else {
		s[la_] = '\0';
	}
	return s;
}

static int mf_extensions(char ***out, json_t *v, struct pgw_err *err)
{
	struct strv l = { 0 };
	char what[64];
	size_t i;
	int error = 0;

	if (v && !json_is_null(v) && !json_is_array(v))
		return mf_bad("extensions", "is not an array", err);
	for (i = 0; v && i < json_array_size(v) && !error; i++) {
		json_t *e = json_array_get(v, i);
		char *name = NULL, *version = NULL, *schema = NULL, *s;

		snprintf(what, sizeof(what), "extensions[%zu]", i);
		if (!json_is_object(e)) {
			error = mf_bad(what, "is not an object", err);
			break;
		}
		snprintf(what, sizeof(what), "extensions[%zu].name", i);
		error = mf_string(&name, json_object_get(e, "name"), what, true,
		                  err);
		if (!error && (!*name || strchr(name, ' ')))
			error = mf_bad(what, "is empty or has a space", err);
		snprintf(what, sizeof(what), "extensions[%zu].version", i);
		if (!error)
			error = mf_string(&version,
			                  json_object_get(e, "version"), what,
			                  false, err);
		snprintf(what, sizeof(what), "extensions[%zu].schema", i);
		if (!error && json_object_get(e, "schema"))
			error = mf_string(&schema, json_object_get(e, "schema"),
			                  what, false, err);
		if (!error && version && strchr(version, ' '))
			error = mf_bad(what, "version has a space", err);
		if (!error) {
			char *nv = join(name, ' ', version);

			s = nv && schema ? join(nv, ' ', schema) : nv;
			if (s != nv)
				free(nv);
			error = s ? strv_push(&l, s, err) : pgw_err_oom(err);
		}
		free(name);
		free(version);
		free(schema);
	}
	if (!error)
		error = strv_done(out, &l, err);
	strv_free(l.v);
	return error;
}

static int mf_settings(char ***out, json_t *v, struct pgw_err *err)
{
	struct strv l = { 0 };
	const char *key;
	json_t *val;
	char what[320], *s;
	int error = 0;

	if (v && !json_is_null(v) && !json_is_object(v))
		return mf_bad("settings", "is not an object", err);
	if (v && json_is_object(v)) {
		json_object_foreach(v, key, val)
		{
			char *value = NULL;

			snprintf(what, sizeof(what), "settings.%.256s", key);
			if (!*key || strchr(key, '=') ||
			    !utf8_text(key, true)) {
				error = pgw_err_set(
				        err, PGW_EINVAL,
				        "manifest.json: a setting has a bad name");
				break;
			}
			error = mf_string(&value, val, what, true, err);
			if (error)
				break;
			s = join(key, '=', value);
			free(value);
			error = s ? strv_push(&l, s, err) : pgw_err_oom(err);
			if (error)
				break;
		}
	}
	if (!error)
		error = strv_done(out, &l, err);
	strv_free(l.v);
	return error;
}

static int mf_strings(char ***out, json_t *v, const char *key, bool sql_names,
                      struct pgw_err *err)
{
	struct strv l = { 0 };
	char what[64];
	size_t i;
	int error = 0;

	if (v && !json_is_null(v) && !json_is_array(v))
		return mf_bad(key, "is not an array", err);
	for (i = 0; v && i < json_array_size(v) && !error; i++) {
		char *s = NULL;

		snprintf(what, sizeof(what), "%s[%zu]", key, i);
		error = mf_text(&s, json_array_get(v, i), what, true, sql_names,
		                err);
		if (!error)
			error = strv_push(&l, s, err);
	}
	if (!error)
		error = strv_done(out, &l, err);
	strv_free(l.v);
	return error;
}

static int mf_tables(struct pgw_manifest *m, json_t *v, struct pgw_err *err)
{
	char what[64];
	long long n;
	size_t i;
	int error = 0;

	if (!v || json_is_null(v))
		return mf_missing("tables", err);
	if (!json_is_array(v))
		return mf_bad("tables", "is not an array", err);
	if (json_array_size(v) > PGW_ARCHIVE_MAX_ENTRIES)
		return pgw_err_set(err, PGW_EINVAL,
		                   "manifest.json lists more than %u tables",
		                   PGW_ARCHIVE_MAX_ENTRIES);
	m->tables = calloc(json_array_size(v) + 1, sizeof(*m->tables));
	if (!m->tables)
		return pgw_err_oom(err);
	for (i = 0; i < json_array_size(v) && !error; i++) {
		json_t *jt = json_array_get(v, i);
		struct pgw_manifest_table *t = &m->tables[i];

		snprintf(what, sizeof(what), "tables[%zu]", i);
		if (!json_is_object(jt))
			return mf_bad(what, "is not an object", err);
		m->n_tables = i + 1;
		snprintf(what, sizeof(what), "tables[%zu].seq", i);
		error = mf_count(&n, json_object_get(jt, "seq"), what, true, 0,
		                 err);
		if (!error && (n < 1 || n > 999999999))
			error = mf_bad(what, "is out of range", err);
		t->seq = (unsigned)n;
		snprintf(what, sizeof(what), "tables[%zu].schema", i);
		if (!error)
			error = mf_text(&t->schema,
			                json_object_get(jt, "schema"), what,
			                true, true, err);
		snprintf(what, sizeof(what), "tables[%zu].name", i);
		if (!error)
			error = mf_text(&t->name, json_object_get(jt, "name"),
			                what, true, true, err);
		snprintf(what, sizeof(what), "tables[%zu].columns", i);
		if (!error)
			error = mf_text(&t->columns,
			                json_object_get(jt, "columns"), what,
			                false, true, err);
		snprintf(what, sizeof(what), "tables[%zu].rows", i);
		if (!error)
			error = mf_count(&t->rows, json_object_get(jt, "rows"),
			                 what, true, 0, err);
	}
	return error;
}

static bool is_sha256_hex(const char *s)
{
	size_t i;

	for (i = 0; i < 64; i++)
		if (!((s[i] >= '0' && s[i] <= '9') ||
		      (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	return s[64] == '\0';
}

static int mf_entries(struct entries *es, json_t *v, struct pgw_err *err)
{
	char what[64], buf[160];
	size_t i;
	int error = 0;

	if (!v || json_is_null(v))
		return mf_missing("entries", err);
	if (!json_is_array(v))
		return mf_bad("entries", "is not an array", err);
	if (json_array_size(v) > PGW_ARCHIVE_MAX_ENTRIES)
		return pgw_err_set(err, PGW_EINVAL,
		                   "manifest.json lists more than %u entries",
		                   PGW_ARCHIVE_MAX_ENTRIES);
	for (i = 0; i < json_array_size(v) && !error; i++) {
		json_t *je = json_array_get(v, i);
		struct pgw_archive_entry *e;
		struct name_info ni;
		char *path = NULL, *sha = NULL, *fmt = NULL;
		long long bytes, rows;
		const char *why;

		snprintf(what, sizeof(what), "entries[%zu]", i);
		if (!json_is_object(je))
			return mf_bad(what, "is not an object", err);
		snprintf(what, sizeof(what), "entries[%zu].path", i);
		error = mf_string(&path, json_object_get(je, "path"), what,
		                  true, err);
		if (error)
			break;
		why = name_problem(path, &ni);
		if (why || ni.kind == K_MANIFEST) {
			error = pgw_err_set(
			        err, PGW_EINVAL,
			        "manifest.json: entry '%s': %s",
			        shown(buf, path),
			        why ? why : "the manifest cannot list itself");
		} else if (entries_find(es, path)) {
			error = pgw_err_set(
			        err, PGW_EINVAL,
			        "manifest.json lists entry '%s' twice",
			        shown(buf, path));
		}
		if (!error)
			error = entries_push(es, &e, path, err);
		free(path);
		if (error)
			break;
		snprintf(what, sizeof(what), "entries[%zu].bytes", i);
		error = mf_count(&bytes, json_object_get(je, "bytes"), what,
		                 true, 0, err);
		if (error)
			break;
		e->bytes = (uint64_t)bytes;
		snprintf(what, sizeof(what), "entries[%zu].sha256", i);
		error = mf_string(&sha, json_object_get(je, "sha256"), what,
		                  true, err);
		if (!error && !is_sha256_hex(sha))
			error = mf_bad(what, "is not 64 lower-case hex digits",
			               err);
		if (!error)
			memcpy(e->sha256, sha, 65);
		free(sha);
		if (error)
			break;
		snprintf(what, sizeof(what), "entries[%zu].rows", i);
		error = mf_count(&rows, json_object_get(je, "rows"), what,
		                 ni.kind == K_DATA, -1, err);
		if (error)
			break;
		snprintf(what, sizeof(what), "entries[%zu].copy_format", i);
		error = mf_string(&fmt, json_object_get(je, "copy_format"),
		                  what, ni.kind == K_DATA, err);
		if (!error && ni.kind != K_DATA && fmt)
			error = mf_bad(
			        what,
			        "is set for an entry that is not table data",
			        err);
		else if (!error && fmt && !known_copy_format(fmt))
			error = mf_bad(what, "is not text, csv or binary", err);
		if (error) {
			free(fmt);
			break;
		}
		e->copy_format = fmt;
		e->rows = ni.kind == K_DATA ? rows : -1;
	}
	return error;
}

/* The manifest's checksum of itself (taken out of o). */
static int check_own_sum(json_t *o, struct pgw_err *err)
{
	json_t *v = json_object_get(o, "manifest_sha256");
	char want[65], got[65];
	int error;

	if (!v)
		return mf_missing("manifest_sha256", err);
	if (!json_is_string(v) || !is_sha256_hex(json_string_value(v)))
		return mf_bad("manifest_sha256",
		              "is not 64 lower-case hex digits", err);
	memcpy(want, json_string_value(v), sizeof(want));
	json_object_del(o, "manifest_sha256");
	error = canonical_sha256(got, o, err);
	if (error)
		return error;
	if (strcmp(want, got) != 0 && !FUZZING)
		return pgw_err_set(
		        err, PGW_EINVAL,
		        "manifest.json does not match its own checksum (the archive is damaged or was altered)");
	return 0;
}

/* Parse the manifest's text; entries go to *es (with their index). */
static int manifest_parse(struct pgw_manifest **out, struct entries *es,
                          const char *text, size_t len, struct pgw_err *err)
{
	struct pgw_manifest *m = NULL;
	json_error_t jerr;
	json_t *o, *v;
	long long n;
	int error;

	*out = NULL;
	o = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!o)
		return pgw_err_set(
		        err, PGW_EINVAL,
		        "manifest.json is not valid JSON: %s (line %d)",
		        jerr.text, jerr.line);
	if (!json_is_object(o)) {
		error = pgw_err_set(err, PGW_EINVAL,
		                    "manifest.json is not a JSON object");
		goto done;
	}
	/* the version first: a newer archive gets the right message */
	v = json_object_get(o, "format");
	if (!v) {
		error = mf_missing("format", err);
		goto done;
	}
	if (!json_is_integer(v) ||
	    json_integer_value(v) != PGW_ARCHIVE_FORMAT) {
		char shown_v[32] = "?";

		if (json_is_integer(v))
			snprintf(shown_v, sizeof(shown_v), "%lld",
			         (long long)json_integer_value(v));
		error = pgw_err_set(
		        err, PGW_EINVAL,
		        "manifest.json: unknown archive format %s (this pgward reads format %d)",
		        shown_v, PGW_ARCHIVE_FORMAT);
		pgw_err_hint(err, "a newer pgward wrote it: use that version");
		goto done;
	}
	error = check_own_sum(o, err);
	if (error)
		goto done;
	m = calloc(1, sizeof(*m));
	if (!m) {
		error = pgw_err_oom(err);
		goto done;
	}
	m->format = PGW_ARCHIVE_FORMAT;
	error = mf_string(&m->created_at, json_object_get(o, "created_at"),
	                  "created_at", true, err);
	if (!error)
		error = mf_count(&n, json_object_get(o, "server_version_num"),
		                 "server_version_num", false, 0, err);
	if (!error && n > 99999999)
		error = mf_bad("server_version_num", "is out of range", err);
	if (!error)
		m->server_version_num = (int)n;
	if (!error)
		error = mf_string(&m->database, json_object_get(o, "database"),
		                  "database", false, err);
	if (!error)
		error = mf_string(&m->encoding, json_object_get(o, "encoding"),
		                  "encoding", false, err);
	if (!error)
		error = mf_string(&m->collation,
		                  json_object_get(o, "collation"), "collation",
		                  false, err);
	if (!error)
		error = mf_string(&m->ctype, json_object_get(o, "ctype"),
		                  "ctype", false, err);
	if (!error)
		error = mf_string(&m->schema_version,
		                  json_object_get(o, "schema_version"),
		                  "schema_version", false, err);
	if (!error)
		error = mf_string(&m->git_commit,
		                  json_object_get(o, "git_commit"),
		                  "git_commit", false, err);
	if (!error)
		error = mf_string(&m->git_tag, json_object_get(o, "git_tag"),
		                  "git_tag", false, err);
	if (!error)
		error = mf_string(&m->wal_lsn, json_object_get(o, "wal_lsn"),
		                  "wal_lsn", false, err);
	if (!error)
		error = mf_extensions(&m->extensions,
		                      json_object_get(o, "extensions"), err);
	if (!error)
		error = mf_settings(&m->settings,
		                    json_object_get(o, "settings"), err);
	if (!error)
		error = mf_strings(&m->omitted, json_object_get(o, "omitted"),
		                   "omitted", true, err);
	if (!error && !json_is_array(json_object_get(o, "schemas")))
		error = mf_missing("schemas", err);
	if (!error)
		error = mf_strings(&m->schemas, json_object_get(o, "schemas"),
		                   "schemas", true, err);
	if (!error)
		error = mf_tables(m, json_object_get(o, "tables"), err);
	if (!error)
		error = mf_entries(es, json_object_get(o, "entries"), err);
	if (!error)
		error = check_tables(m->tables, m->n_tables, es->v, es->n, err);
done:
	json_decref(o);
	if (error) {
		pgw_manifest_free(m);
		return error;
	}
	*out = m;
	return 0;
}

void pgw_manifest_free(struct pgw_manifest *m)
{
	size_t i;

	if (!m)
		return;
	free(m->created_at);
	free(m->database);
	free(m->encoding);
	free(m->collation);
	free(m->ctype);
	free(m->schema_version);
	free(m->git_commit);
	free(m->git_tag);
	free(m->wal_lsn);
	strv_free(m->extensions);
	strv_free(m->settings);
	strv_free(m->omitted);
	strv_free(m->schemas);
	for (i = 0; i < m->n_tables; i++) {
		free(m->tables[i].schema);
		free(m->tables[i].name);
		free(m->tables[i].columns);
	}
	free(m->tables);
	for (i = 0; i < m->n_entries; i++) {
		free(m->entries[i].name);
		free(m->entries[i].copy_format);
	}
	free(m->entries);
	free(m);
}

/* ---- verify
 * -------------------------------------------------------------------------- */

/* Read the current entry to its end, checking its length against the
 * header's `size`, and hash it: through the hasher (the digest goes to
 * entry `index` of its results), or in line into sha_out when there is
 * no hasher.  Blocks are taken from libarchive's buffer as they are
 * (archive_read_data() would copy each one first). */
static int hash_entry(struct archive *a, const struct source *s,
                      struct hasher *h, const char *name, uint64_t size,
                      size_t index, char sha_out[65], struct pgw_err *err)
{
	struct sha256_ctx sha;
	const void *block;
	size_t len;
	la_int64_t off;
	uint64_t got = 0;
	int r;
	char shown_buf[160];

	sha256_init(&sha);
	for (;;) {
		r = la.archive_read_data_block(a, &block, &len, &off);
		if (r == ARCHIVE_EOF)
			break;
		if (r != ARCHIVE_OK)
			return read_fail(a, s, name, err);
		/* a regular entry's blocks follow each other (sparse
		 * entries were refused with their header) */
		if (off < 0 || (uint64_t)off != got)
			return pgw_err_set(
			        err, PGW_EINVAL,
			        "entry '%s' is damaged: its data has a gap",
			        shown(shown_buf, name));
		got += len;
		if (got > size)
			break;
		if (h)
			hasher_data(h, H_ENTRY, block, len);
		else
			sha256_update(&sha, len, block);
	}
	if (got != size)
		return pgw_err_set(
		        err, PGW_EINVAL,
		        "entry '%s' has %llu bytes where its header says %llu",
		        shown(shown_buf, name), (unsigned long long)got,
		        (unsigned long long)size);
	if (h)
		hasher_put(h, H_ENTRY_END, NULL, 0, index);
	else
		hex_digest(sha_out, &sha);
	return 0;
}

/* Read manifest.json (size already checked) into *out (free()). */
static int read_manifest(char **out, struct archive *a, const struct source *s,
                         uint64_t size, struct pgw_err *err)
{
	char *text = malloc((size_t)size + 1);
	size_t got = 0;
	la_ssize_t n;

	*out = NULL;
	if (!text)
		return pgw_err_oom(err);
	for (;;) {
		n = la.archive_read_data(a, text + got, (size_t)size - got);
		if (n < 0) {
			free(text);
			return read_fail(a, s, MANIFEST_NAME, err);
		}
		if (n == 0)
			break;
		got += (size_t)n;
		if (got == size)
			break;
	}
	if (got != size) {
		free(text);
		return pgw_err_set(err, PGW_EINVAL,
		                   "entry 'manifest.json' is cut short");
	}
	text[got] = '\0';
	*out = text;
	return 0;
}

/* The entries found must be exactly those the manifest lists, with the
 * same sizes and checksums. */
static int compare(const struct entries *found, const struct entries *listed,
                   struct pgw_err *err)
{
	const struct pgw_archive_entry *f, *l;
	char buf[160];
	size_t i;

	for (i = 0; i < found->n; i++) {
		f = &found->v[i];
		l = entries_find(listed, f->name);
		if (!l)
			return pgw_err_set(
			        err, PGW_EINVAL,
			        "entry '%s' is not listed in manifest.json",
			        shown(buf, f->name));
		if (l->bytes != f->bytes)
			return pgw_err_set(
			        err, PGW_EINVAL,
			        "entry '%s' has %llu bytes, manifest.json says %llu",
			        shown(buf, f->name),
			        (unsigned long long)f->bytes,
			        (unsigned long long)l->bytes);
		if (strcmp(l->sha256, f->sha256) != 0)
			return pgw_err_set(
			        err, PGW_EINVAL,
			        "entry '%s' does not match its SHA-256 in manifest.json (the archive is damaged or was altered)",
			        shown(buf, f->name));
	}
	for (i = 0; i < listed->n; i++) {
		l = &listed->v[i];
		if (!entries_find(found, l->name))
			return pgw_err_set(
			        err, PGW_EINVAL,
			        "entry '%s' is listed in manifest.json but missing from the archive",
			        shown(buf, l->name));
	}
	return 0;
}

static int verify_stream(struct pgw_manifest **out, struct archive *a,
                         struct source *s, struct pgw_err *err)
{
	struct entries found = { 0 }, listed = { 0 };
	struct pgw_archive_entry *e;
	struct archive_entry *ae;
	struct pgw_manifest *m = NULL;
	struct layout lay;
	struct name_info ni;
	struct hasher *h = s->hasher;
	char *text = NULL, shown_buf[160];
	const char *name;
	uint64_t size;
	ssize_t n;
	size_t i;
	int error = 0, r;

	layout_init(&lay);
	for (;;) {
		r = la.archive_read_next_header(a, &ae);
		if (r == ARCHIVE_EOF)
			break;
		if (r == ARCHIVE_WARN)
			pgw_log_warn("archive: %s", la_msg(a));
		else if (r != ARCHIVE_OK) {
			error = read_fail(a, s, NULL, err);
			goto done;
		}
		if (text) {
			name = la.archive_entry_pathname(ae);
			error = pgw_err_set(
			        err, PGW_EINVAL,
			        "entry '%s' comes after manifest.json",
			        name ? shown(shown_buf, name) : "?");
			goto done;
		}
		error = check_header(ae, &name, &ni, &size, err);
		if (error)
			goto done;
		if (entries_find(&found, name)) {
			error = pgw_err_set(err, PGW_EINVAL,
			                    "entry '%s' appears twice",
			                    shown(shown_buf, name));
			goto done;
		}
		if (found.n >= PGW_ARCHIVE_MAX_ENTRIES) {
			error = pgw_err_set(err, PGW_EINVAL,
			                    "more than %u entries",
			                    PGW_ARCHIVE_MAX_ENTRIES);
			goto done;
		}
		error = layout_next(&lay, name, &ni, err);
		if (error)
			goto done;
		if (ni.kind == K_MANIFEST) {
			/* before reading a byte of it */
			if (size > PGW_ARCHIVE_MAX_MANIFEST) {
				error = pgw_err_set(
				        err, PGW_EINVAL,
				        "manifest.json is %llu bytes, more than the limit of %u",
				        (unsigned long long)size,
				        PGW_ARCHIVE_MAX_MANIFEST);
				goto done;
			}
			error = read_manifest(&text, a, s, size, err);
			if (error)
				goto done;
			error = manifest_parse(&m, &listed, text, (size_t)size,
			                       err);
			if (error)
				goto done;
			continue;
		}
		error = entries_push(&found, &e, name, err);
		if (error)
			goto done;
		e->bytes = size;
		error = hash_entry(a, s, h, e->name, size, found.n - 1,
		                   e->sha256, err);
		if (error)
			goto done;
	}
	if (!text) {
		error = pgw_err_set(
		        err, PGW_EINVAL,
		        lay.phase == K_START
		                ? "no entries: not a pgward archive"
		                : "no manifest.json at the end: the archive is cut short or not a pgward archive");
		goto done;
	}
	/* the rest of the file, for the checksum of the whole */
	do {
		n = read(s->fd, s->buf, sizeof(s->buf));
		if (n > 0) {
			source_hash(s, s->buf, (size_t)n);
			s->bytes += (uint64_t)n;
		}
	} while (n > 0 || (n < 0 && errno == EINTR));
	if (n < 0) {
		error = pgw_err_set(err, PGW_EIO, "cannot read: %s",
		                    strerror(errno));
		goto done;
	}
	if (h) {
		hasher_finish(h);
		/* every entry found was hashed to its end (else: done) */
		if (h->oom || (found.n && h->cap < found.n)) {
			error = pgw_err_oom(err);
			goto done;
		}
		for (i = 0; i < found.n; i++)
			memcpy(found.v[i].sha256, h->digests[i], 65);
		s->sha = h->file;
	}
	error = compare(&found, &listed, err);
	if (error)
		goto done;
	m->entries = listed.v;
	m->n_entries = listed.n;
	listed.v = NULL;
	listed.n = 0;
	m->archive_bytes = s->bytes;
	hex_digest(m->archive_sha256, &s->sha);
	*out = m;
	m = NULL;
done:
	pgw_manifest_free(m);
	entries_release(&found);
	entries_release(&listed);
	map_release(&lay.parts);
	free(text);
	return error;
}

int pgw_archive_verify(struct pgw_manifest **out, const char *path,
                       struct pgw_err *err)
{
	struct source *s = NULL;
	struct archive *a = NULL;
	locale_t old = (locale_t)0;
	int error;

	*out = NULL;
	error = la_load(err);
	if (error)
		return error;
	error = source_open(&s, path, err);
	if (error)
		return error;
	s->hash_file = true;
	s->hasher = hasher_start();
	old = la_enter();
	error = read_new(&a, s, err);
	if (!error)
		error = verify_stream(out, a, s, err);
	if (error)
		pgw_err_wrap(err, "archive '%s'", path);
	if (a)
		la.archive_read_free(a);
	la_leave(old);
	hasher_free(s->hasher);
	source_close(s);
	return error;
}

/* ---- reader
 * ------------------------------------------------------------------------------
 */

struct pgw_archive_reader {
	struct source *src;
	struct archive *a;
	char *path;
	const struct pgw_manifest *m;
	struct map index;    /* name -> position in m->entries */
	unsigned char *seen; /* per manifest entry */
	struct layout layout;
	const struct pgw_archive_entry *cur; /* being read */
	bool cur_done;                       /* read to its end and checked */
	struct sha256_ctx sha;
	uint64_t got;
	int failed;
	bool ended;
	unsigned char scratch[IO_BUF]; /* for the rest of a skipped entry */
};

/* The reader is done for: later calls repeat the failure. */
static int reader_fail(struct pgw_archive_reader *r, struct pgw_err *err)
{
	r->failed = err->code ? err->code : PGW_ERROR;
	pgw_err_wrap(err, "archive '%s'", r->path);
	return r->failed;
}

int pgw_archive_open(struct pgw_archive_reader **out, const char *path,
                     const struct pgw_manifest *m, struct pgw_err *err)
{
	struct pgw_archive_reader *r = NULL;
	locale_t old = (locale_t)0;
	char buf[160];
	size_t i;
	int error;

	*out = NULL;
	error = la_load(err);
	if (error)
		return error;
	r = calloc(1, sizeof(*r));
	if (!r)
		return pgw_err_oom(err);
	r->m = m;
	layout_init(&r->layout);
	r->path = strdup(path);
	r->seen = calloc(m->n_entries + 1, 1);
	if (!r->path || !r->seen) {
		error = pgw_err_oom(err);
		goto fail;
	}
	for (i = 0; i < m->n_entries; i++) {
		const char *name = m->entries[i].name;

		if (map_find(&r->index, name, strlen(name))) {
			error = pgw_err_set(
			        err, PGW_EINVAL,
			        "the manifest lists entry '%s' twice",
			        shown(buf, name));
			goto fail;
		}
		if (map_add(&r->index, name, strlen(name), i)) {
			error = pgw_err_oom(err);
			goto fail;
		}
	}
	error = source_open(&r->src, path, err);
	if (error)
		goto fail;
	old = la_enter();
	error = read_new(&r->a, r->src, err);
	la_leave(old);
	if (error) {
		pgw_err_wrap(err, "archive '%s'", path);
		goto fail;
	}
	*out = r;
	return 0;
fail:
	pgw_archive_close(r);
	return error;
}

/* Read from the current entry; at its end compare size and checksum. */
static int read_current(struct pgw_archive_reader *r, void *buf, size_t cap,
                        size_t *got, struct pgw_err *err)
{
	const struct pgw_archive_entry *e = r->cur;
	char shown_buf[160], hex[65];
	la_ssize_t n;

	*got = 0;
	if (r->cur_done)
		return 0;
	n = la.archive_read_data(r->a, buf, cap);
	if (n < 0)
		return read_fail(r->a, r->src, e->name, err);
	if (n > 0) {
		if ((uint64_t)n > e->bytes - r->got)
			return pgw_err_set(
			        err, PGW_EINVAL,
			        "entry '%s' is longer than the manifest says (%llu bytes)",
			        shown(shown_buf, e->name),
			        (unsigned long long)e->bytes);
		sha256_update(&r->sha, (size_t)n, buf);
		r->got += (uint64_t)n;
		*got = (size_t)n;
		return 0;
	}
	if (r->got != e->bytes)
		return pgw_err_set(
		        err, PGW_EINVAL,
		        "entry '%s' has %llu bytes, the manifest says %llu",
		        shown(shown_buf, e->name), (unsigned long long)r->got,
		        (unsigned long long)e->bytes);
	hex_digest(hex, &r->sha);
	if (strcmp(hex, e->sha256) != 0)
		return pgw_err_set(
		        err, PGW_EINVAL,
		        "entry '%s' does not match its SHA-256 in the manifest (the archive is damaged or was altered)",
		        shown(shown_buf, e->name));
	r->cur_done = true;
	return 0;
}

static int next_entry(struct pgw_archive_reader *r,
                      const struct pgw_archive_entry **entry,
                      struct pgw_err *err)
{
	struct archive_entry *ae;
	struct name_info ni;
	struct map_slot *slot;
	const struct pgw_archive_entry *e;
	const char *name;
	char buf[160];
	uint64_t size;
	size_t got, i;
	int error, rc;

	/* an entry the caller skipped is still read and checked */
	while (r->cur && !r->cur_done) {
		error = read_current(r, r->scratch, sizeof(r->scratch), &got,
		                     err);
		if (error)
			return error;
	}
	r->cur = NULL;
	rc = la.archive_read_next_header(r->a, &ae);
	if (rc == ARCHIVE_EOF)
		return pgw_err_set(
		        err, PGW_EINVAL,
		        "no manifest.json at the end: the archive is cut short");
	if (rc == ARCHIVE_WARN)
		pgw_log_warn("archive '%s': %s", r->path, la_msg(r->a));
	else if (rc != ARCHIVE_OK)
		return read_fail(r->a, r->src, NULL, err);
	error = check_header(ae, &name, &ni, &size, err);
	if (error)
		return error;
	error = layout_next(&r->layout, name, &ni, err);
	if (error)
		return error;
	if (ni.kind == K_MANIFEST) {
		for (i = 0; i < r->m->n_entries; i++)
			if (!r->seen[i])
				return pgw_err_set(
				        err, PGW_EINVAL,
				        "entry '%s' is listed in the manifest but missing from the archive",
				        shown(buf, r->m->entries[i].name));
		r->ended = true;
		return 0;
	}
	slot = map_find(&r->index, name, strlen(name));
	if (!slot)
		return pgw_err_set(err, PGW_EINVAL,
		                   "entry '%s' is not listed in the manifest",
		                   shown(buf, name));
	if (r->seen[slot->val])
		return pgw_err_set(err, PGW_EINVAL, "entry '%s' appears twice",
		                   shown(buf, name));
	e = &r->m->entries[slot->val];
	if (size != e->bytes)
		return pgw_err_set(
		        err, PGW_EINVAL,
		        "entry '%s' has %llu bytes, the manifest says %llu",
		        shown(buf, name), (unsigned long long)size,
		        (unsigned long long)e->bytes);
	r->seen[slot->val] = 1;
	r->cur = e;
	r->cur_done = false;
	r->got = 0;
	sha256_init(&r->sha);
	*entry = e;
	return 1;
}

int pgw_archive_next(struct pgw_archive_reader *r,
                     const struct pgw_archive_entry **entry,
                     struct pgw_err *err)
{
	locale_t old;
	int rc;

	*entry = NULL;
	if (r->failed)
		return pgw_err_set(err, r->failed,
		                   "archive '%s': reading failed earlier",
		                   r->path);
	if (r->ended)
		return 0;
	old = la_enter();
	rc = next_entry(r, entry, err);
	la_leave(old);
	if (rc < 0)
		return reader_fail(r, err);
	return rc;
}

int pgw_archive_read(struct pgw_archive_reader *r, void *buf, size_t cap,
                     size_t *got, struct pgw_err *err)
{
	locale_t old;
	int error;

	*got = 0;
	if (r->failed)
		return pgw_err_set(err, r->failed,
		                   "archive '%s': reading failed earlier",
		                   r->path);
	if (!r->cur)
		return pgw_err_set(
		        err, PGW_EINVAL,
		        "archive '%s': no entry to read (call pgw_archive_next() first)",
		        r->path);
	if (!cap)
		return pgw_err_set(
		        err, PGW_EINVAL,
		        "archive '%s': read into a buffer of 0 bytes", r->path);
	old = la_enter();
	error = read_current(r, buf, cap, got, err);
	la_leave(old);
	if (error)
		return reader_fail(r, err);
	return 0;
}

void pgw_archive_close(struct pgw_archive_reader *r)
{
	locale_t old;

	if (!r)
		return;
	old = la_enter();
	if (r->a)
		la.archive_read_free(r->a);
	la_leave(old);
	source_close(r->src);
	map_release(&r->index);
	map_release(&r->layout.parts);
	free(r->seen);
	free(r->path);
	free(r);
}

int pgw_archive_extension_parts(const char *spec, char name[256],
                                char version[256], char schema[256])
{
	int n;

	name[0] = version[0] = schema[0] = '\0';
	n = sscanf(spec, "%255s %255s %255[^\n]", name, version, schema);
	return n < 0 ? 0 : n;
}
