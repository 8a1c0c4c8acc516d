/* pgward.c - main(): global options, configuration, the command table. */
#include <errno.h>
#include <signal.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "cmd.h"
#include "ephemeral.h"

static const struct cmd_spec cmds[] = {
	{ "new", cmd_new, "pgward new NAME",
	  "create the next migration file from a template" },
	{ "status", cmd_status, "pgward status [--no-drift]",
	  "database version, pending, unknown and edited migrations" },
	{ "up", cmd_up,
	  "pgward up [--to V | --release TAG] [--dry-run] [--allow-unknown]",
	  "apply pending migrations in one transaction" },
	{ "down", cmd_down,
	  "pgward down [--steps N | --to V | --release TAG] [--dry-run] [--use-file-down]",
	  "revert applied migrations with their stored down SQL" },
	{ "history", cmd_history, "pgward history [--show VERSION]",
	  "applied migrations: who, when, how long, commit" },
	{ "baseline", cmd_baseline, "pgward baseline --to V",
	  "adopt an existing database: record 1..V as applied" },
	{ "backup", cmd_backup,
	  "pgward backup [-o FILE] [--jobs N] [--compress zstd[:L]|none] [--allow-unsupported]",
	  "write a consistent backup archive of the role's schemas" },
	{ "restore", cmd_restore,
	  "pgward restore FILE [--yes] [--into NAME] [--no-owner]",
	  "restore an archive in one transaction" },
	{ "archive", cmd_archive,
	  "pgward archive verify [--sha256 HEX] FILE | pgward archive list FILE",
	  "check or list an archive, no database needed" },
	{ "schema", cmd_schema, "pgward schema dump [-o FILE]",
	  "the canonical text of the live schema (migrations/schema.sql)" },
	{ "check", cmd_check, "pgward check [--ephemeral] [--write]",
	  "the pull-request check: every migration applies, reverts and re-applies cleanly; schema.sql is current" },
	{ "deploy", cmd_deploy,
	  "pgward deploy [--release TAG | --to V] [--allow-down] [--no-backup] [--force] [--rollback=auto|down|restore] [--writes-stopped] [--hooks DIR] [--notify URL] [--dry-run]",
	  "the guarded deploy: check, backup, migrate with verification before COMMIT, notify; the way back on failure" },
	{ "recover", cmd_recover,
	  "pgward recover [--way-back] [--writes-stopped]",
	  "finish or undo a deploy that died (the journal says which)" },
	{ "releases", cmd_releases, "pgward releases",
	  "git tags that are releases, their schema versions, and where the database is" },
	{ "verify", cmd_verify, "pgward verify",
	  "run the last deploy's verify sections, compare the live schema with schema.sql" },
	{ "doctor", cmd_doctor,
	  "pgward doctor [--fail-on info|warning|error] [--session-age SEC] [--top N]",
	  "health of the live database: invalid, unused and duplicate indexes, foreign keys without an index, vacuum, long transactions, sizes, slow statements" },
};

static const char global_help[] =
	"global options (before or after the command):\n"
	"  -d URL                    database (DATABASE_URL, PG* variables)\n"
	"  --direct-url URL          unpooled connection (PGWARD_DIRECT_URL)\n"
	"  -C FILE                   config file (PGWARD_CONFIG; ./pgward.ini)\n"
	"  --migrations DIR          migrations dir (PGWARD_MIGRATIONS; ./migrations)\n"
	"  --schema-name NAME        pgward's own schema (pgward)\n"
	"  --timeout SEC             statement timeout (MIGRATION_TIMEOUT; 300)\n"
	"  --lock-timeout MS         lock timeout per statement (1000, retried 5x)\n"
	"  --max-lock-hold SEC       longest exclusive lock hold (10)\n"
	"  --concurrent-timeout SEC  concurrent index build limit (3600)\n"
	"  --wait SEC                wait for the deploy lock (0)\n"
	"  --backup-dir DIR          where backups go (./backups)\n"
	"  --tag-pattern GLOB        git tags that are releases (v*)\n"
	"  --json                    one JSON document on stdout\n"
	"  --ephemeral               run against a private throwaway cluster\n"
	"  -q, -v                    quieter, more verbose\n"
	"  --version, --help\n";

static void usage(FILE *f)
{
	size_t i;

	fprintf(f, "usage: pgward [options] COMMAND [args]\n\ncommands:\n");
	for (i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		fprintf(f, "  %-10s %s\n", cmds[i].name, cmds[i].summary);
	fprintf(f, "\n%s\nexit codes: 0 ok, 1 failed and rolled back, 2 bad input (nothing changed),\n"
		   "3 human needed, 4 locked, 5 check found problems, 6 cannot connect\n",
		global_help);
}

int cmd_help(const char *cmd)
{
	size_t i;

	for (i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		if (!strcmp(cmds[i].name, cmd))
			printf("usage: %s\n\n%s.\n\n%s", cmds[i].usage,
			       cmds[i].summary, global_help);
	return EXIT_OK;
}

int cmd_report(const struct pgw_err *err)
{
	fprintf(stderr, "pgward: error: %s\n", err->msg);
	if (err->detail[0])
		fprintf(stderr, "  detail: %s\n", err->detail);
	if (err->hint[0])
		fprintf(stderr, "  hint: %s\n", err->hint);
	switch (err->code) {
	case PGW_OK:
		return EXIT_OK;
	case PGW_EINVAL:
	case PGW_ECHECKSUM:
	case PGW_ENOTFOUND:
		return EXIT_INVALID;
	case PGW_EUNSAFE:
		return EXIT_UNSAFE;
	case PGW_ELOCKED:
		return EXIT_LOCKED;
	case PGW_ECHECK:
		return EXIT_CHECK;
	case PGW_ECONNECT:
		return EXIT_CONNECT;
	default:
		return EXIT_FAILED;
	}
}

int cmd_usage_error(const char *cmd, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "pgward %s: ", cmd);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n(see 'pgward %s --help')\n", cmd);
	return EXIT_INVALID;
}

int cmd_parse_version(int64_t *out, const char *cmd, const char *flag,
		      const char *text)
{
	struct pgw_err err = PGW_ERR_INIT;

	if (pgw_version_parse(out, text, &err))
		return cmd_usage_error(cmd, "%s: %s", flag, err.msg);
	return 0;
}

void cmd_print_json(json_t *v)
{
	char *s = json_dumps(v, JSON_INDENT(2) | JSON_PRESERVE_ORDER);

	if (s) {
		puts(s);
		free(s);
	}
	json_decref(v);
}

static void log_sink(enum pgw_log_level level, const char *msg, void *payload)
{
	(void)payload;
	if (level >= PGW_LOG_ERROR)
		fprintf(stderr, "pgward: error: %s\n", msg);
	else if (level == PGW_LOG_WARN)
		fprintf(stderr, "pgward: warning: %s\n", msg);
	else
		fprintf(stderr, "%s\n", msg);
}

/* Global options, wherever they stand: name, ini key (NULL: a switch). */
struct global_opt {
	const char *name;
	const char *key;
};
static const struct global_opt global_opts[] = {
	{ "-d", "database.url" },
	{ "--direct-url", "database.direct_url" },
	{ "--migrations", "migrations.dir" },
	{ "--schema-name", "pgward.schema" },
	{ "--timeout", "migrations.timeout" },
	{ "--lock-timeout", "migrations.lock_timeout" },
	{ "--max-lock-hold", "migrations.max_lock_hold" },
	{ "--concurrent-timeout", "migrations.concurrent_timeout" },
	{ "--wait", "deploy.wait" },
	{ "--backup-dir", "backup.dir" },
	{ "--backup-target", "backup.target" },
	{ "--tag-pattern", "git.tag_pattern" },
	{ "-C", "" },
};

struct flag_value {
	const char *key;
	const char *name;
	const char *value;
};

static void on_signal(int sig)
{
	/* nothing running that needs a clean stop: die as usual */
	if (!pgw_interrupt()) {
		signal(sig, SIG_DFL);
		raise(sig);
	}
}

/* SIGINT/SIGTERM (a cancelled CI job) cancel the running statement; the
 * run rolls back and exits 1. */
static void catch_signals(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
}

/* --ephemeral: the command runs against a private throwaway cluster
 * with [ephemeral] roles and extensions, removed when pgward exits. */
static int start_ephemeral(struct cmd_globals *g, struct pgw_ephemeral **eph)
{
	struct pgw_ephemeral_opts eo = PGW_EPHEMERAL_OPTS_INIT;
	struct pgw_err err = PGW_ERR_INIT;
	char **roles = pgw_list_split(g->cfg.ephemeral_roles);
	char **exts = pgw_list_split(g->cfg.ephemeral_extensions);
	int rc = EXIT_OK;

	eo.roles = (const char *const *)roles;
	eo.extensions = (const char *const *)exts;
	if (!roles || !exts)
		rc = cmd_report(&(struct pgw_err){ PGW_ENOMEM, "", "out of memory", "", "" });
	else if (pgw_ephemeral_start(eph, &eo, &err))
		rc = cmd_report(&err);
	pgw_list_free(roles);
	pgw_list_free(exts);
	if (rc != EXIT_OK)
		return rc;
	free(g->cfg.database_url);
	free(g->cfg.direct_url);
	g->cfg.direct_url = NULL;
	g->cfg.database_url = strdup(pgw_ephemeral_conninfo(*eph));
	if (!g->cfg.database_url) {
		fprintf(stderr, "pgward: error: out of memory\n");
		return EXIT_FAILED;
	}
	return EXIT_OK;
}

int main(int argc, char **argv)
{
	struct cmd_globals g;
	struct pgw_ephemeral *eph = NULL;
	struct pgw_err err = PGW_ERR_INIT;
	struct flag_value flags[64];
	char **rest = calloc((size_t)argc + 1, sizeof(char *));
	const struct cmd_spec *cmd = NULL;
	const char *config_path = NULL;
	int n_flags = 0, n_rest = 0, i, rc;
	size_t k;

	memset(&g, 0, sizeof(g));
	if (!rest)
		return EXIT_FAILED;
	rest[n_rest++] = argv[0];
	for (i = 1; i < argc; i++) {
		const char *a = argv[i];
		bool matched = false;

		if (!strcmp(a, "--")) {
			while (i < argc)
				rest[n_rest++] = argv[i++];
			break;
		}
		for (k = 0; k < sizeof(global_opts) / sizeof(global_opts[0]); k++) {
			const char *name = global_opts[k].name;
			size_t len = strlen(name);
			const char *value = NULL;

			if (!strncmp(a, name, len) && a[len] == '\0') {
				if (i + 1 >= argc) {
					fprintf(stderr, "pgward: option '%s' needs a value\n", name);
					free(rest);
					return EXIT_INVALID;
				}
				value = argv[++i];
			} else if (!strncmp(a, name, len) &&
				   ((name[1] == '-' && a[len] == '=') ||
				    (name[1] != '-' && a[len] != '\0'))) {
				value = a + len + (name[1] == '-' ? 1 : 0);
			} else {
				continue;
			}
			if (!*global_opts[k].key) {
				config_path = value;
			} else if (n_flags < 64) {
				flags[n_flags].key = global_opts[k].key;
				flags[n_flags].name = name;
				flags[n_flags].value = value;
				n_flags++;
			}
			matched = true;
			break;
		}
		if (matched)
			continue;
		if (!strcmp(a, "--json"))
			g.json = true;
		else if (!strcmp(a, "--ephemeral") && (!cmd || cmd->fn != cmd_check))
			g.ephemeral = true;
		else if (!strcmp(a, "-q") || !strcmp(a, "--quiet"))
			g.verbosity = -1;
		else if (!strcmp(a, "-v") || !strcmp(a, "--verbose"))
			g.verbosity++;
		else if (!strcmp(a, "--version")) {
			printf("pgward %s\n", PGW_VERSION);
			free(rest);
			return EXIT_OK;
		} else if ((!strcmp(a, "--help") || !strcmp(a, "-h")) && !cmd) {
			usage(stdout);
			free(rest);
			return EXIT_OK;
		} else {
			if (!cmd && a[0] != '-') {
				for (k = 0; k < sizeof(cmds) / sizeof(cmds[0]); k++)
					if (!strcmp(cmds[k].name, a))
						cmd = &cmds[k];
				if (!cmd) {
					fprintf(stderr, "pgward: unknown command '%s'\n\n", a);
					usage(stderr);
					free(rest);
					return EXIT_INVALID;
				}
			} else if (!cmd) {
				fprintf(stderr, "pgward: unknown option '%s' (command options go after the command)\n", a);
				free(rest);
				return EXIT_INVALID;
			}
			rest[n_rest++] = argv[i];
		}
	}
	if (!cmd) {
		usage(stderr);
		free(rest);
		return EXIT_INVALID;
	}
	pgw_log_set_sink(log_sink, NULL,
			 g.verbosity < 0 ? PGW_LOG_WARN :
			 g.verbosity == 0 ? PGW_LOG_NOTICE :
			 g.verbosity == 1 ? PGW_LOG_INFO :
					    PGW_LOG_DEBUG);
	catch_signals();
	cmd_progress_install(g.verbosity);
	pgw_config_init(&g.cfg);
	if (pgw_config_load(&g.cfg, config_path, &err)) {
		rc = cmd_report(&err);
		goto done;
	}
	for (i = 0; i < n_flags; i++) {
		char origin[64];

		snprintf(origin, sizeof(origin), "option %s", flags[i].name);
		if (pgw_config_set(&g.cfg, flags[i].key, flags[i].value, origin,
				   &err)) {
			rc = cmd_report(&err);
			goto done;
		}
	}
	if (g.ephemeral && cmd->fn != cmd_check) {
		rc = start_ephemeral(&g, &eph);
		if (rc != EXIT_OK)
			goto done;
	}
	/* rest[1] is the command word itself */
	rc = cmd->fn(n_rest - 1, rest + 1, &g);
done:
	pgw_ephemeral_stop(eph);
	pgw_config_release(&g.cfg);
	free(rest);
	return rc;
}
