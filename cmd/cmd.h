/* cmd.h - what the subcommands share: global options, the loaded
 * configuration, error reporting and exit codes. */
#ifndef PGW_CMD_H
#define PGW_CMD_H

#include <stdbool.h>

#include "pgward.h"

/* Exit codes of DESIGN.md. */
enum cmd_exit {
	EXIT_OK = 0,
	EXIT_FAILED = 1,  /* failed, database back at its state before */
	EXIT_INVALID = 2, /* bad usage/config/input: nothing changed */
	EXIT_UNSAFE = 3,  /* a human is needed */
	EXIT_LOCKED = 4,
	EXIT_CHECK = 5,
	EXIT_CONNECT = 6,
};

struct cmd_globals {
	struct pgw_config cfg;
	bool json;
	bool ephemeral; /* --ephemeral: a throwaway cluster, not -d */
	int verbosity; /* -1 quiet, 0 normal, 1+ verbose */
};

typedef int (*cmd_fn)(int argc, char **argv, struct cmd_globals *g);

struct cmd_spec {
	const char *name;
	cmd_fn fn;
	const char *usage;
	const char *summary;
};

/* Print err as "pgward: error: ..." (+ detail, hint) and return the exit
 * code for its code. */
int cmd_report(const struct pgw_err *err);
/* A usage error: message and exit 2. */
int cmd_usage_error(const char *cmd, const char *fmt, ...) PGW_PRINTF(2, 3);
/* The subcommand's --help text on stdout; returns 0. */
int cmd_help(const char *cmd);
/* Parse a version given on the command line; exit code on error, else 0. */
int cmd_parse_version(int64_t *out, const char *cmd, const char *flag,
		      const char *text);
/* Print a JSON value on stdout (takes the reference). */
struct json_t;
void cmd_print_json(struct json_t *v);

int cmd_new(int argc, char **argv, struct cmd_globals *g);
int cmd_status(int argc, char **argv, struct cmd_globals *g);
int cmd_up(int argc, char **argv, struct cmd_globals *g);
int cmd_down(int argc, char **argv, struct cmd_globals *g);
int cmd_history(int argc, char **argv, struct cmd_globals *g);
int cmd_baseline(int argc, char **argv, struct cmd_globals *g);
int cmd_backup(int argc, char **argv, struct cmd_globals *g);
int cmd_restore(int argc, char **argv, struct cmd_globals *g);
int cmd_archive(int argc, char **argv, struct cmd_globals *g);
int cmd_schema(int argc, char **argv, struct cmd_globals *g);
int cmd_verify(int argc, char **argv, struct cmd_globals *g);
int cmd_check(int argc, char **argv, struct cmd_globals *g);
int cmd_releases(int argc, char **argv, struct cmd_globals *g);
int cmd_deploy(int argc, char **argv, struct cmd_globals *g);
int cmd_doctor(int argc, char **argv, struct cmd_globals *g);
int cmd_recover(int argc, char **argv, struct cmd_globals *g);

/* progress.c: draw progress on stderr (nothing with -q). */
void cmd_progress_install(int verbosity);

/* run_report.c: the plan and outcome of up/down, human or JSON. */
void cmd_print_run(const struct pgw_run *run, bool dry, bool json,
		   int error);

#endif
