/* app_start.c - an application's start-up with libpgward: migrate the
 * database when AUTO_MIGRATE_ON_START=true, then go on starting.
 *
 *   DATABASE_URL=postgres://app@db/prod AUTO_MIGRATE_ON_START=true \
 *   PGWARD_MIGRATIONS=./migrations ./app_start
 *
 * Replicas that start together wait for each other on the deploy lock (up
 * to MIGRATION_TIMEOUT seconds) and each migration is applied once. */
#include <stdio.h>

#include "pgward.h"

static void log_to_stderr(enum pgw_log_level level, const char *msg,
			  void *payload)
{
	(void)payload;
	fprintf(stderr, "[migrate] %s%s\n",
		level >= PGW_LOG_WARN ? "warning: " : "", msg);
}

int main(void)
{
	struct pgw_config cfg;
	struct pgw_err err = PGW_ERR_INIT;
	int rc = 0;

	pgw_log_set_sink(log_to_stderr, NULL, PGW_LOG_NOTICE);
	pgw_config_init(&cfg);
	if (pgw_config_load(&cfg, NULL, &err) || pgw_autostart(&cfg, &err)) {
		fprintf(stderr, "[migrate] error: %s\n", err.msg);
		if (err.hint[0])
			fprintf(stderr, "[migrate] hint: %s\n", err.hint);
		rc = 1;
	} else {
		printf("application started\n");
	}
	pgw_config_release(&cfg);
	return rc;
}
