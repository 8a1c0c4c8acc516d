/* pgward.h - the public API of libpgward: versioned, guarded PostgreSQL
 * migrations.  The pgward CLI is a thin user of exactly this header; an
 * application can link libpgward.a and call pgw_autostart() on start-up.
 *
 * Conventions: functions return 0 or a negative PGW_E* code and fill the
 * caller's struct pgw_err (first error wins).  Out-parameters come first;
 * what a function returns through `out` is owned by the caller and freed
 * with the matching _free().  Nothing here prints or exits: messages go
 * through the log sink installed with pgw_log_set_sink(). */
#ifndef PGW_PGWARD_H
#define PGW_PGWARD_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PGW_VERSION "0.1.0"

#if defined(__GNUC__)
#define PGW_PRINTF(f, a) __attribute__((format(printf, f, a)))
#else
#define PGW_PRINTF(f, a)
#endif

/* Error codes.  Values never change; cmd/ maps them to exit codes. */
enum pgw_code {
	PGW_OK = 0,
	PGW_ERROR = -1,     /* unexpected failure */
	PGW_ENOMEM = -2,    /* out of memory */
	PGW_EINVAL = -3,    /* bad usage, config or input: nothing changed */
	PGW_ENOTFOUND = -4, /* a named thing does not exist */
	PGW_EPG = -5,       /* the server reported an error */
	PGW_EIO = -6,       /* file system error */
	PGW_ELOCKED = -7,   /* another pgward holds the deploy lock */
	PGW_ECHECKSUM = -8, /* an applied migration was edited */
	PGW_EUNSAFE = -9,   /* not at a known-good state: a human is needed */
	PGW_ECONNECT = -10, /* could not connect or authenticate */
	PGW_EFAILED = -11,  /* the run failed and was rolled back */
	PGW_ECHECK = -12,   /* a check found problems */
};

/* The first error of an operation, with PostgreSQL's detail and hint. */
struct pgw_err {
	int code;        /* PGW_OK until the first error */
	char sqlstate[6]; /* set when the server reported the error */
	char msg[1024];
	char detail[1024];
	char hint[512];
};
#define PGW_ERR_INIT { 0 }

/* Set the error unless one is already set; returns `code` either way. */
int pgw_err_set(struct pgw_err *err, int code, const char *fmt, ...)
	PGW_PRINTF(3, 4);
/* Set detail/hint of the current error (only if not set yet). */
void pgw_err_detail(struct pgw_err *err, const char *fmt, ...) PGW_PRINTF(2, 3);
void pgw_err_hint(struct pgw_err *err, const char *fmt, ...) PGW_PRINTF(2, 3);
/* Add to the detail ("; ..."), keeping what is there. */
void pgw_err_note(struct pgw_err *err, const char *fmt, ...) PGW_PRINTF(2, 3);
/* Prefix the current message with context: "ctx: message". */
void pgw_err_wrap(struct pgw_err *err, const char *fmt, ...) PGW_PRINTF(2, 3);
int pgw_err_oom(struct pgw_err *err);
void pgw_err_clear(struct pgw_err *err);

/* Growable string: ptr is never NULL and always NUL-terminated; running
 * out of memory is sticky and checked once with pgw_buf_oom(). */
struct pgw_buf {
	char *ptr;
	size_t len;
	size_t cap;
	bool oom;
};
#define PGW_BUF_INIT { (char *)"", 0, 0, false }
void pgw_buf_put(struct pgw_buf *b, const char *s, size_t n);
void pgw_buf_puts(struct pgw_buf *b, const char *s);
void pgw_buf_putc(struct pgw_buf *b, char c);
void pgw_buf_printf(struct pgw_buf *b, const char *fmt, ...) PGW_PRINTF(2, 3);
void pgw_buf_vprintf(struct pgw_buf *b, const char *fmt, va_list ap)
	PGW_PRINTF(2, 0);
void pgw_buf_reset(struct pgw_buf *b);
bool pgw_buf_oom(const struct pgw_buf *b);
/* Take the string out; the caller owns it (free()).  NULL on OOM. */
char *pgw_buf_detach(struct pgw_buf *b);
void pgw_buf_release(struct pgw_buf *b);

/* Logging: core reports progress through this sink only. */
enum pgw_log_level {
	PGW_LOG_DEBUG,
	PGW_LOG_INFO,
	PGW_LOG_NOTICE, /* what a user wants to see by default */
	PGW_LOG_WARN,
	PGW_LOG_ERROR,
};
typedef void (*pgw_log_fn)(enum pgw_log_level level, const char *msg,
			   void *payload);
void pgw_log_set_sink(pgw_log_fn fn, void *payload, enum pgw_log_level min);
void pgw_log(enum pgw_log_level level, const char *fmt, ...) PGW_PRINTF(2, 3);
#define pgw_log_debug(...) pgw_log(PGW_LOG_DEBUG, __VA_ARGS__)
#define pgw_log_info(...) pgw_log(PGW_LOG_INFO, __VA_ARGS__)
#define pgw_log_notice(...) pgw_log(PGW_LOG_NOTICE, __VA_ARGS__)
#define pgw_log_warn(...) pgw_log(PGW_LOG_WARN, __VA_ARGS__)

/* Progress of long work (backup, restore, index builds): core reports,
 * the caller draws (a bar on a terminal, a line now and then in a log).
 * The sink may be called from several threads at once. */
struct pgw_progress {
	const char *task;  /* "backup", "restore", "index" */
	const char *item;  /* the table or index */
	double done;       /* rows (or percent for "index") so far */
	double total;      /* estimate; <= 0 when unknown */
	unsigned long long bytes;
	double elapsed;    /* seconds since the item started */
	bool finished;     /* the item is done */
};
typedef void (*pgw_progress_fn)(const struct pgw_progress *p, void *payload);
void pgw_progress_set_sink(pgw_progress_fn fn, void *payload);
void pgw_progress_report(const struct pgw_progress *p);

/* Configuration: defaults, then pgward.ini, then environment, then flags
 * (the caller applies flags last with pgw_config_set). */
struct pgw_config {
	char *database_url;   /* NULL: libpq defaults (PG* variables) */
	char *direct_url;     /* NULL: database_url */
	char *config_file;    /* the ini file read, if any */
	char *migrations_dir; /* "migrations" */
	char *schema;         /* pgward's own schema, "pgward" */
	int timeout_s;        /* statement timeout, 300 */
	int lock_timeout_ms;  /* 1000 */
	int lock_retries;     /* 5 */
	int max_lock_hold_s;  /* 10 */
	int concurrent_timeout_s; /* 3600 */
	int wait_s;           /* wait for the deploy lock, 0 */
	bool wait_set;        /* wait_s given explicitly */
	bool auto_migrate;    /* AUTO_MIGRATE_ON_START */
	/* read and kept for the backup, notify, git, verify and ephemeral
	 * parts; NULL when not set */
	char *backup_dir, *backup_target, *backup_keep, *backup_schemas;
	char *notify_url, *notify_secret;
	char *tag_pattern, *hooks_dir;
	char *verify_ignore, *ephemeral_roles, *ephemeral_extensions;
};

/* A list setting ("a, b c": commas or white space) as a NULL-terminated
 * array; NULL only when out of memory.  Free with pgw_list_free(). */
char **pgw_list_split(const char *text);
void pgw_list_free(char **v);

/* The connection pgward itself uses, session-capable: --direct-url when
 * given, else the database URL (NULL: libpq defaults). */
const char *pgw_config_session_url(const struct pgw_config *cfg);

/* Fill *cfg with defaults. */
void pgw_config_init(struct pgw_config *cfg);
/* Set one setting by its ini name ("migrations.dir", "database.url", ...).
 * `origin` names where the value came from, for the error message
 * (NULL: the caller adds it). */
int pgw_config_set(struct pgw_config *cfg, const char *key, const char *value,
		   const char *origin, struct pgw_err *err);
/* Read the ini file (path NULL: PGWARD_CONFIG, else ./pgward.ini when
 * present) and then the environment, over the defaults in *cfg. */
int pgw_config_load(struct pgw_config *cfg, const char *path,
		    struct pgw_err *err);
void pgw_config_release(struct pgw_config *cfg);

/* Show a connection string with its password replaced by ***.  Caller
 * owns the result (free()); NULL on OOM. */
char *pgw_redact_conninfo(const char *conninfo);
/* Show SQL with PASSWORD '...' literals replaced.  Caller owns it. */
char *pgw_redact_sql(const char *sql);

/* Statements and migrations, as read from the migrations dir. */
enum pgw_stmt_flags {
	PGW_STMT_DESTRUCTIVE = (1 << 0),    /* DROP TABLE, UPDATE, ... */
	PGW_STMT_NO_TX = (1 << 1),          /* cannot run in a transaction */
	PGW_STMT_NOTX_OK = (1 << 2),        /* allowed in transaction:false */
	PGW_STMT_CONCURRENT_INDEX = (1 << 3), /* CREATE INDEX CONCURRENTLY */
	PGW_STMT_ADD_ENUM_VALUE = (1 << 4), /* ALTER TYPE ... ADD VALUE */
	PGW_STMT_TX_CONTROL = (1 << 5),     /* BEGIN, COMMIT, SAVEPOINT */
	PGW_STMT_COPY_STDIN = (1 << 6),     /* COPY ... FROM stdin */
	PGW_STMT_DROP_INDEX = (1 << 7),     /* DROP INDEX CONCURRENTLY */
};

struct pgw_stmt {
	char *sql;      /* the statement text, without trailing ';' */
	int line;       /* line in the file where it starts */
	unsigned flags; /* enum pgw_stmt_flags */
	char *index_name;   /* CREATE/DROP INDEX CONCURRENTLY: the index */
	char *index_schema; /* the schema written (table's or index's), or NULL */
	char *index_table;  /* CREATE: its table, as the parser read it */
};

struct pgw_section {
	bool present;
	bool transactional; /* false: transaction:false */
	bool split_none;    /* sent as one string */
	long batch;         /* batch:N, rows per batch; 0: not batched */
	char *text;         /* the section body */
	char *directives;   /* as written after the marker, "" if none */
	int line;           /* line of the body's first line */
	struct pgw_stmt *stmts;
	size_t n_stmts;
};

struct pgw_migration {
	int64_t version;
	char *vtext; /* version as written: "001" */
	char *name;  /* "create_users" */
	char *file;  /* file name, for messages: "001_create_users.sql" */
	char *path;  /* full path of the up file */
	char *up_file, *down_file, *verify_file; /* pair files; NULL: `file` */
	char checksum[65]; /* SHA-256 of the up section, hex */
	struct pgw_section up, down, verify;
	struct pgw_section count; /* -- migrate:count: rows a batch:N up
				   * section has to do (progress only) */
	bool parsed; /* statements read: flags below are valid */
	bool destructive;
	bool adds_enum_value;
	/* the commit the file was read from and the release tag on it,
	 * recorded with the migration; NULL when unknown */
	char *git_commit, *git_tag;
};

struct pgw_migset {
	char *dir;
	struct pgw_migration *v; /* sorted by version */
	size_t n;
};

/* Read every migration in `dir`: names, sections, directives and
 * checksums (cheap: what a no-op run needs).  Any bad input is PGW_EINVAL
 * naming file and line. */
int pgw_migset_load(struct pgw_migset **out, const char *dir,
		    struct pgw_err *err);
/* Parse and check the statements of every migration in the set. */
int pgw_migset_parse(struct pgw_migset *set, struct pgw_err *err);
/* The cheaper check every run makes before connecting: the up sections'
 * statements (meta-commands, BEGIN, ... are refused here). */
int pgw_migset_check(struct pgw_migset *set, struct pgw_err *err);
void pgw_migset_free(struct pgw_migset *set);
const struct pgw_migration *pgw_migset_find(const struct pgw_migset *set,
					    int64_t version);
/* Parse a version as written ("001", "20261125093000"). */
int pgw_version_parse(int64_t *out, const char *text, struct pgw_err *err);

/* A migration as recorded in pgward.migrations. */
struct pgw_applied {
	int64_t version;
	char *name, *file, *checksum;
	char *up_sql, *down_sql, *down_directives, *verify_sql;
	bool destructive;
	char *applied_at, *applied_by;
	long long duration_ms;
	char *git_commit, *git_tag, *deploy_id;
};

struct pgw_history {
	bool exists; /* pgward.migrations exists */
	struct pgw_applied *v; /* by version */
	size_t n;
};
void pgw_history_free(struct pgw_history *h);
/* The version of an applied row as written: the digits its file name
 * starts with ("001"), else the number.  Writes into out[32]. */
void pgw_applied_vtext(char out[32], const struct pgw_applied *a);

/* What status reports. */
struct pgw_status {
	char *database;     /* redacted */
	struct pgw_history *history;
	struct pgw_migset *set;
	const struct pgw_applied *head; /* NULL: nothing applied */
	const struct pgw_migration **pending;
	size_t n_pending;
	const struct pgw_applied **unknown; /* applied, no file */
	size_t n_unknown;
	const struct pgw_migration **changed; /* applied, file edited */
	size_t n_changed;
	const struct pgw_migration **out_of_order; /* pending below head */
	size_t n_out_of_order;
};
int pgw_status(struct pgw_status **out, const struct pgw_config *cfg,
	       struct pgw_err *err);
void pgw_status_free(struct pgw_status *st);

/* up and down. */
enum pgw_run_flags {
	PGW_RUN_DRY = (1 << 0),           /* plan only, change nothing */
	PGW_RUN_ALLOW_UNKNOWN = (1 << 1), /* applied versions with no file */
	PGW_RUN_USE_FILE_DOWN = (1 << 2), /* down SQL from the file */
	PGW_RUN_HAS_TARGET = (1 << 3),    /* target is set */
	PGW_RUN_HAS_STEPS = (1 << 4),     /* steps is set */
	PGW_RUN_QUIET = (1 << 5),         /* each migration logged at info */
	PGW_RUN_VERIFY_SCHEMA = (1 << 6), /* compare with schema.sql before
					   * the last COMMIT (deploy) */
	PGW_RUN_JOURNAL = (1 << 7),       /* each transaction:false statement
					   * in pgward_journal.steps (deploy) */
};
struct pg_conn; /* libpq's PGconn */
struct pgw_run_opts {
	unsigned flags;
	int64_t target; /* with PGW_RUN_HAS_TARGET */
	int steps;      /* down, with PGW_RUN_HAS_STEPS */
	const char *deploy_id; /* NULL: generated */
	const char *release;   /* a git tag: its version is the target and
				* its tree the migration files */
	/* a lock the caller holds besides the run's own (the deploy's):
	 * checked with it before every COMMIT; false rolls back */
	bool (*still_locked)(void *ctx);
	void *still_locked_ctx;
	/* run in a segment's transaction before its COMMIT, on the
	 * migration connection: each_commit in every segment, last_commit
	 * in the last one (after the schema verification); an error rolls
	 * the segment back */
	int (*each_commit)(struct pg_conn *c, void *ctx, struct pgw_err *err);
	int (*last_commit)(struct pg_conn *c, void *ctx, struct pgw_err *err);
	void *commit_ctx;
	/* the caller's control connection, already holding the migration
	 * lock (the deploy's, for its whole run): used instead of one of
	 * the run's own, never closed by it */
	struct pg_conn *ctl;
};
#define PGW_RUN_OPTS_INIT { 0, 0, 1, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL }

/* One migration of a plan, in the order it runs. */
struct pgw_plan_item {
	const struct pgw_migration *m; /* for down: built from history */
	const struct pgw_section *sql; /* the section that runs */
	int segment;                   /* 0-based; a segment commits at once */
	long long duration_ms;         /* filled when it ran */
	bool done;                     /* committed */
};

struct pgw_run {
	bool down;
	bool nothing_to_do;
	char *from, *to; /* versions as text, "0" for none */
	struct pgw_plan_item *items;
	size_t n;
	int n_segments;
	struct pgw_migset *owned_set; /* down: migrations built from history */
	struct pgw_migset *files;     /* the migration files items point into */
};
/* Apply pending migrations (or plan them with PGW_RUN_DRY).  On failure
 * *out still describes what was planned and what committed. */
int pgw_up(struct pgw_run **out, const struct pgw_config *cfg,
	   const struct pgw_run_opts *opts, struct pgw_err *err);
int pgw_down(struct pgw_run **out, const struct pgw_config *cfg,
	     const struct pgw_run_opts *opts, struct pgw_err *err);
void pgw_run_free(struct pgw_run *run);

int pgw_history_read(struct pgw_history **out, const struct pgw_config *cfg,
		     struct pgw_err *err);
/* Record migrations 1..version as applied without running them. */
int pgw_baseline(struct pgw_history **out, const struct pgw_config *cfg,
		 int64_t version, struct pgw_err *err);
/* Create the next migration file; *out_path is owned by the caller. */
int pgw_new_migration(char **out_path, const struct pgw_config *cfg,
		      const char *name, struct pgw_err *err);

/* The live schema against migrations/schema.sql (docs/verify.md). */
struct pgw_schema_change {
	char *kind;     /* of the object: "column", "index", "view", ... */
	char *name;     /* as shown: "prices.close" ("public." left out) */
	char *what;     /* "missing", "not in schema.sql", "numeric(18,6) ->
			 * numeric(12,2)", "definition differs", ... */
	char *expected; /* both definitions, when they are worth showing */
	char *live;
};
/* The canonical text of the live schema (`pgward schema dump`). */
int pgw_schema_dump(char **out, const struct pgw_config *cfg,
		    struct pgw_err *err);
struct pgw_verify_report {
	char *schema_file;    /* compared with */
	size_t n_verified;    /* verify sections run */
	char *failed;         /* those that failed, a line each; NULL: none */
	struct pgw_schema_change *changes; /* schema.sql -> live */
	size_t n_changes;
	char *text;           /* the changes, as pgward verify prints them */
};
/* Run the verify sections of the last deploy's migrations, then compare
 * the live schema with schema.sql minus [verify] ignore. */
int pgw_verify(struct pgw_verify_report **out, const struct pgw_config *cfg,
	       struct pgw_err *err);
void pgw_verify_report_free(struct pgw_verify_report *r);
/* Drift: the live schema against the expected-schema hash stored with
 * the head migration, with no throwaway cluster. */
enum pgw_drift {
	PGW_DRIFT_UNKNOWN = 0, /* no hash stored */
	PGW_DRIFT_NONE = 1,
	PGW_DRIFT_FOUND = 2,
};
int pgw_drift(enum pgw_drift *out, const struct pgw_config *cfg,
	      struct pgw_err *err);

/* Where the database and the code stand among the releases (status). */
struct pgw_release_info {
	bool in_repo;       /* false: nothing below is known */
	char *db_release;   /* the release at the database's version */
	char *db_after;     /* else the newest release below it */
	int64_t head_version; /* what HEAD's tree expects; -1: none */
	char *head_vtext;
	char **uncommitted; /* migration files not committed (NULL-ended) */
	char *note;         /* shallow or tagless clone: what to do */
};
int pgw_release_info(struct pgw_release_info **out,
		     const struct pgw_config *cfg, int64_t db_version,
		     struct pgw_err *err);
void pgw_release_info_free(struct pgw_release_info *ri);

/* The guarded deploy (`pgward deploy`, docs/deploy.md). */
enum pgw_rollback {
	PGW_ROLLBACK_AUTO = 0, /* down SQL, or a restore for destructive */
	PGW_ROLLBACK_DOWN,
	PGW_ROLLBACK_RESTORE,
};
struct pgw_deploy_opts {
	const char *release;    /* a git tag, or NULL */
	int64_t target;         /* with has_target */
	bool has_target;
	bool allow_down, no_backup, force, writes_stopped, dry_run;
	enum pgw_rollback rollback;
	const char *hooks_dir;  /* NULL: no hooks */
	int hook_timeout_s;
	const char *const *notify_urls; /* NULL-terminated, or NULL */
};
struct pgw_deploy_stage {
	char name[16];
	char status[16]; /* "ok", "failed" */
	long long ms;
};
struct pgw_deploy_report {
	char id[40];
	char *from, *to;          /* versions */
	const char *status;       /* "succeeded", "nothing to do", "planned",
				   * "rolled back", "failed", "needs a human" */
	bool nothing_to_do;
	char *backup;             /* the archive (its URI), or NULL */
	char backup_sha256[65];
	struct pgw_deploy_stage stages[8];
	size_t n_stages;
	const char *way_back;     /* what undid the deploy, or NULL */
	char *error;
	/* the plan (--dry-run fills it): one line per pending migration,
	 * what the backup would hold and how long it and a restore of it
	 * would take (estimated from the sizes, docs/deploy.md) */
	char *plan;
	long long table_bytes, index_bytes;
	double est_backup_s, est_restore_s;
};
int pgw_deploy(struct pgw_deploy_report **out, const struct pgw_config *cfg,
	       const struct pgw_deploy_opts *opts, struct pgw_err *err);
void pgw_deploy_report_free(struct pgw_deploy_report *r);

/* Finish or undo a deploy that died (`pgward recover`, docs/deploy.md). */
struct pgw_recover_opts {
	bool way_back;       /* undo it, rather than roll forward */
	bool writes_stopped; /* a destructive way back may restore */
};
struct pgw_recover_report {
	char id[40];         /* the deploy, "" when none was unfinished */
	char *stage;         /* the stage it stopped in */
	char *from, *to;     /* its versions */
	char *at;            /* the database's version now */
	const char *outcome; /* "nothing to recover", "succeeded" (at its
			      * target), "rolled back" (at its start) */
	const char *detail;  /* what was done */
};
int pgw_recover(struct pgw_recover_report **out, const struct pgw_config *cfg,
		const struct pgw_recover_opts *opts, struct pgw_err *err);
void pgw_recover_report_free(struct pgw_recover_report *r);

/* The pull-request check (`pgward check`, docs/verify.md). */
struct pgw_check_opts {
	bool ephemeral; /* a private throwaway cluster, not a scratch
			 * database on the server of -d */
	bool write;     /* rewrite a stale or missing schema.sql */
};
struct pgw_check_report {
	size_t n_migrations; /* checked */
	char *problems;      /* findings, a block each; NULL: none */
	char *warnings;      /* NULL: none */
	char *schema_file;
	char *schema_diff;   /* schema.sql -> the migrations' result; NULL:
			      * schema.sql is current */
	bool schema_written; /* --write rewrote it */
};
int pgw_check(struct pgw_check_report **out, const struct pgw_config *cfg,
	      const struct pgw_check_opts *opts, struct pgw_err *err);
void pgw_check_report_free(struct pgw_check_report *r);

/* Backups: one consistent snapshot of the role's schemas in a .tar.zst
 * archive (docs/archive-format.md). */
struct pgw_backup_opts {
	const char *output; /* NULL: <backup dir>/<db>-<UTC time>.tar.zst */
	int jobs;           /* parallel readers sharing the snapshot */
	int zstd_level;     /* 0: uncompressed tar */
	bool allow_unsupported; /* leave out what cannot be carried */
};
#define PGW_BACKUP_OPTS_INIT { NULL, 1, 1, false }

struct pgw_backup_report {
	char *path;              /* the archive written */
	char *uri;               /* where --backup-target put it, or NULL */
	char sha256[65];         /* of the whole file */
	unsigned long long bytes; /* archive size */
	unsigned long long data_bytes; /* COPY text, uncompressed */
	long long rows;
	size_t n_tables;
	double seconds;
};
int pgw_backup(struct pgw_backup_report **out, const struct pgw_config *cfg,
	       const struct pgw_backup_opts *opts, struct pgw_err *err);
void pgw_backup_report_free(struct pgw_backup_report *r);

/* Restore an archive: checked whole first, then one transaction. */
struct pgw_restore_opts {
	const char *path;
	const char *into; /* restore into this database (name differs) */
	bool no_owner;    /* leave ownership to the restoring role */
};
struct pgw_restore_report {
	char *database;
	size_t n_tables;
	long long rows;
	double seconds;
};
int pgw_restore(struct pgw_restore_report **out, const struct pgw_config *cfg,
		const struct pgw_restore_opts *opts, struct pgw_err *err);
void pgw_restore_report_free(struct pgw_restore_report *r);

/* Ask the run in progress to stop: the running statement is cancelled,
 * its transaction rolls back, nothing new starts, and the operation
 * returns PGW_EFAILED.  Returns false when nothing is running that needs
 * a clean stop (the caller may simply exit).  Async-signal-safe: call it
 * from a SIGINT/SIGTERM handler. */
bool pgw_interrupt(void);

/* Application start-up: when cfg->auto_migrate, wait for the deploy lock
 * up to cfg->timeout_s, re-check under it, apply what is pending and log
 * what happened.  Returns 0 when the database is at head. */
int pgw_autostart(const struct pgw_config *cfg, struct pgw_err *err);

#endif
