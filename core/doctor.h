/* doctor.h - pgward doctor: what a release manager checks before and after
 * a deploy (indexes, foreign keys, vacuum, sessions, sizes, slow
 * statements), read from the catalogs and statistics views of the
 * schemas in pgward's scope.  Reads only; never changes the database. */
#ifndef PGW_DOCTOR_H
#define PGW_DOCTOR_H

#include <stddef.h>
#include <stdint.h>

#include "pgward.h"

enum pgw_doctor_level {
	PGW_DOCTOR_INFO = 0,
	PGW_DOCTOR_WARNING = 1,
	PGW_DOCTOR_ERROR = 2,
};

/* The checks, in report order.  Every finding belongs to one. */
enum pgw_doctor_check {
	PGW_DOCTOR_INVALID_INDEX,
	PGW_DOCTOR_UNUSED_INDEX,
	PGW_DOCTOR_DUPLICATE_INDEX,
	PGW_DOCTOR_PREFIX_INDEX,
	PGW_DOCTOR_FK_WITHOUT_INDEX,
	PGW_DOCTOR_VACUUM,
	PGW_DOCTOR_LONG_TRANSACTION,
	PGW_DOCTOR_IDLE_IN_TRANSACTION,
	PGW_DOCTOR_N_CHECKS
};

/* How a field's text is meant: JSON's types. */
enum pgw_doctor_type {
	PGW_DOCTOR_STR,
	PGW_DOCTOR_INT,
	PGW_DOCTOR_NUM,
	PGW_DOCTOR_BOOL, /* "t" or "f" */
};

/* A check-specific value of a finding ("size_bytes", "pid", ...). */
struct pgw_doctor_field {
	const char *key; /* static */
	enum pgw_doctor_type type;
	char *value; /* NULL: null */
};

struct pgw_doctor_finding {
	enum pgw_doctor_check check;
	enum pgw_doctor_level level;
	char *object;  /* the index or table (quoted, qualified), or "pid N" */
	char *message; /* one line, without the object */
	char *fix;     /* the SQL to run, or NULL */
	struct pgw_doctor_field *fields;
	size_t n_fields;
};

/* One of the largest tables (total: heap + toast + indexes) or indexes
 * (total: the index). */
struct pgw_doctor_size {
	char *name;  /* quoted, qualified */
	char *table; /* an index's table; NULL for a table */
	int64_t total_bytes, table_bytes, index_bytes;
	char *total_pretty, *table_pretty, *index_pretty; /* pg_size_pretty */
	double rows; /* estimate (pg_class.reltuples); -1: unknown */
};

/* One statement of pg_stat_statements: the query is normalised,
 * redacted and shortened. */
struct pgw_doctor_stmt {
	char *query;
	char *role;
	int64_t calls, rows;
	double total_ms, mean_ms;
};

struct pgw_doctor_report {
	char *database;    /* where it ran: host, port, dbname, user */
	char *stats_reset; /* when the statistics were last reset; NULL: never
	                    */
	char **schemas;    /* the schemas examined */
	size_t n_schemas;
	char **notes; /* what could not be checked, a line each */
	size_t n_notes;
	struct pgw_doctor_finding *findings; /* in check order */
	size_t n_findings;
	size_t counts[3];                         /* findings per level */
	struct pgw_doctor_size *tables, *indexes; /* largest first */
	size_t n_tables, n_indexes;
	bool have_statements;  /* pg_stat_statements could be read */
	char *statements_note; /* why not (one line), when not */
	struct pgw_doctor_stmt *statements; /* by total time, largest first */
	size_t n_statements;
};

struct pgw_doctor_opts {
	int session_age_s; /* sessions whose transaction is older: 60 */
	int top;           /* largest tables/indexes, slowest statements: 10 */
};
#define PGW_DOCTOR_OPTS_INIT \
	{                    \
		60, 10       \
	}

/* Run every check on the database cfg names (its session connection).
 * On success the caller owns *out: pgw_doctor_report_free() it.  Cannot
 * connect: PGW_ECONNECT. */
int pgw_doctor(struct pgw_doctor_report **out, const struct pgw_config *cfg,
               const struct pgw_doctor_opts *opts, struct pgw_err *err);
void pgw_doctor_report_free(struct pgw_doctor_report *r);

/* "info", "warning", "error". */
const char *pgw_doctor_level_name(enum pgw_doctor_level level);
/* Parse a level name; false when it is none of them. */
bool pgw_doctor_level_parse(enum pgw_doctor_level *out, const char *name);
/* The check's name in JSON ("unused_index") and its title in the human
 * report ("unused indexes"). */
const char *pgw_doctor_check_name(enum pgw_doctor_check check);
const char *pgw_doctor_check_title(enum pgw_doctor_check check);

/* `text` as one line of at most `max` bytes (a UTF-8 character never
 * cut): runs of white space become one space, and when it is longer its
 * end becomes "...".  Caller owns the result; NULL on OOM. */
char *pgw_doctor_shorten(const char *text, size_t max);
/* Query text as it may be shown: PASSWORD '...' literals, password=...
 * settings and the password of a URL (scheme://user:secret@host) replaced
 * by ***.  Caller owns the result; NULL on OOM. */
char *pgw_doctor_redact(const char *query);
/* A name for a new index on `table` over the columns `cols` (their names
 * joined with '_'): "orders_customer_id_idx", or with `n` > 0
 * "orders_customer_id_idx1" (a second try when the first is taken).  At
 * most 63 bytes: the longer of table and columns is cut (never inside a
 * UTF-8 character) until it fits, as the server names indexes.  Caller
 * owns it; NULL on OOM. */
char *pgw_doctor_index_name(const char *table, const char *cols, int n);

#endif
