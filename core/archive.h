/* archive.h - the backup archive: a tar stream compressed with zstd,
 * readable by plain tar.  The only module that talks to libarchive.
 *
 * Layout (entry order in the tar):
 *   schema/pre-data.sql, data/NNNN.<schema>.<table>.copy.NNN (tables in
 *   any order, interleaved when read in parallel; the parts of one table
 *   in order), schema/post-data.sql, restore.sql, and manifest.json LAST:
 *   it holds every other entry's size and SHA-256, the schemas and the
 *   tables (with their COPY column lists).
 * Entry names are only ever compared with the manifest, never used as
 * file-system paths. */
#ifndef PGW_ARCHIVE_H
#define PGW_ARCHIVE_H

#include <stdint.h>

#include "pgward.h"

#define PGW_ARCHIVE_FORMAT 1
/* COPY data is cut into entries of at most this size (tar needs an
 * entry's size before its data, so a part is held in memory first). */
#define PGW_ARCHIVE_PART_SIZE (8u * 1024 * 1024)
/* A manifest larger than this is refused (hostile archive). */
#define PGW_ARCHIVE_MAX_MANIFEST (64u * 1024 * 1024)
/* An archive with more entries (or tables) than this is refused. */
#define PGW_ARCHIVE_MAX_ENTRIES 100000u

/* A table whose rows the archive carries: data entries of table number
 * `seq` are "data/<seq as %04u>.<schema>.<name>.copy.<part as %03u>"
 * (names are for people; restore finds tables by seq, never by parsing
 * names). */
struct pgw_manifest_table {
	unsigned seq;
	char *schema, *name; /* unquoted */
	char *columns;       /* quoted, comma-separated: the COPY column list */
	long long rows;      /* summed over its parts */
};

/* What the manifest says besides its entries. */
struct pgw_manifest_info {
	const char *const *schemas;    /* in the archive, NULL-terminated */
	const struct pgw_manifest_table *tables;
	size_t n_tables;
	const char *created_at;   /* ISO 8601 UTC */
	int server_version_num;
	const char *database, *encoding, *collation, *ctype;
	const char *schema_version; /* head migration version, or NULL */
	const char *git_commit, *git_tag; /* NULL when unknown */
	const char *wal_lsn;      /* approximate WAL position */
	const char *const *extensions; /* "name version", NULL-terminated */
	const char *const *settings;   /* "name=value", NULL-terminated */
	const char *const *omitted;    /* unsupported objects left out */
};

struct pgw_archive_writer;

/* Start writing `path`: the data goes to "<path>.partial", created 0600
 * (O_EXCL), renamed to `path` by pgw_archive_finish().  zstd_level 0
 * writes an uncompressed tar.  Caller owns *out. */
int pgw_archive_create(struct pgw_archive_writer **out, const char *path,
		       int zstd_level, struct pgw_err *err);
/* Add one entry of `len` bytes.  `copy_format` ("text") and `rows` (-1
 * when not data) go into the manifest.  Any libarchive failure (disk full
 * included) is PGW_EIO with the reason; after it the writer only aborts.
 * A name outside the layout, a duplicate, an entry out of the layout's
 * order or a data part without rows and COPY format (text, csv, binary)
 * is PGW_EINVAL, and the writer can go on.  Entry names are UTF-8 without
 * "..", backslashes or control characters (C1 and DEL included). */
int pgw_archive_add(struct pgw_archive_writer *w, const char *name,
		    const void *data, size_t len, const char *copy_format,
		    long long rows, struct pgw_err *err);
/* Write manifest.json, close, fsync, rename to the final path.  The
 * SHA-256 of the whole archive file goes into sha256_out.  Frees w, also
 * when it fails (then the partial file is removed, as by abort).  The
 * layout must be complete up to restore.sql, every data part must belong
 * to one of info->tables, and a table's rows must be the sum of its
 * parts' rows: else PGW_EINVAL. */
int pgw_archive_finish(struct pgw_archive_writer *w,
		       const struct pgw_manifest_info *info,
		       char sha256_out[65], struct pgw_err *err);
/* Give up: remove the partial file, free w.  NULL is fine. */
void pgw_archive_abort(struct pgw_archive_writer *w);

/* One entry as the manifest records it. */
struct pgw_archive_entry {
	char *name;
	uint64_t bytes;
	long long rows;   /* -1 when not table data */
	char sha256[65];
	char *copy_format; /* NULL when not table data */
};

/* A manifest as read back. */
struct pgw_manifest {
	int format;
	int server_version_num;
	char *created_at, *database, *encoding, *collation, *ctype;
	char *schema_version, *git_commit, *git_tag, *wal_lsn;
	char **extensions, **settings, **omitted; /* NULL-terminated */
	char **schemas;                           /* NULL-terminated */
	struct pgw_manifest_table *tables;
	size_t n_tables;
	struct pgw_archive_entry *entries;
	size_t n_entries;
	uint64_t archive_bytes; /* size of the archive file */
	char archive_sha256[65]; /* of the archive file, as finish reported */
};
void pgw_manifest_free(struct pgw_manifest *m);
/* Split an extension as the manifest lists it, "name version [schema]"
 * (the schema may hold spaces), into its parts, each at most 255 bytes,
 * "" when absent.  Returns how many parts were found (0: none). */
int pgw_archive_extension_parts(const char *spec, char name[256],
				char version[256], char schema[256]);

/* Check a whole archive without a database: every entry name is one the
 * layout allows (no "..", no absolute path, no link, no device, no
 * duplicate), the manifest is present, parses, has a known format
 * version, is not oversized, and lists exactly the entries present with
 * their exact sizes and SHA-256.  Anything else is PGW_EINVAL naming the
 * entry and what is wrong.  Caller owns *out.
 * Also checked: the entry order of the layout, the manifest's checksum of
 * itself, the tables against the data parts (see pgw_archive_finish), and
 * that a table's column list is only column names (restore puts it into
 * SQL).  Nothing is written anywhere. */
int pgw_archive_verify(struct pgw_manifest **out, const char *path,
		       struct pgw_err *err);

/* Take a data entry's name apart: "data/NNNN.<schema>.<table>.copy.NNN".
 * *qualified points into `name` at "<schema>.<table>" (`*len` bytes),
 * *table_no is NNNN and *part the part number.  Any out-parameter may be
 * NULL.  false when `name` is not a valid data entry name. */
bool pgw_archive_data_part(const char *name, unsigned *table_no,
			   const char **qualified, size_t *len,
			   unsigned long *part);

struct pgw_archive_reader;
/* Read an archive already verified into `m` (borrowed; must outlive the
 * reader).  Entries are checked again while read: a size or SHA-256 that
 * no longer matches the manifest is PGW_EINVAL at the end of the entry. */
int pgw_archive_open(struct pgw_archive_reader **out, const char *path,
		     const struct pgw_manifest *m, struct pgw_err *err);
/* Move to the next entry: 1 with *entry set (borrowed from m), 0 at the
 * end (manifest.json, after checking that no listed entry is missing),
 * negative on error.  The rest of an entry the caller did not read to
 * its end is read and checked first. */
int pgw_archive_next(struct pgw_archive_reader *r,
		     const struct pgw_archive_entry **entry,
		     struct pgw_err *err);
/* Read up to `cap` bytes of the current entry into buf; *got is 0 at its
 * end (where the checksum is compared). */
int pgw_archive_read(struct pgw_archive_reader *r, void *buf, size_t cap,
		     size_t *got, struct pgw_err *err);
void pgw_archive_close(struct pgw_archive_reader *r);

#endif
