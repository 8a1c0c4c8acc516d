/* config.c - settings from defaults, pgward.ini, environment and flags. */
#include "pgward.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <ini.h>

enum kind { STR, INT, BOOL };

/* One row per setting: its ini name, environment variable, type, place. */
struct setting {
	const char *key;
	const char *env;
	enum kind kind;
	size_t off;
	int min; /* INT: the least value that makes sense */
};

#define F(field) offsetof(struct pgw_config, field)
static const struct setting settings[] = {
	{ "database.url", "DATABASE_URL", STR, F(database_url), 0 },
	{ "database.direct_url", "PGWARD_DIRECT_URL", STR, F(direct_url), 0 },
	{ "migrations.dir", "PGWARD_MIGRATIONS", STR, F(migrations_dir), 0 },
	{ "migrations.timeout", "MIGRATION_TIMEOUT", INT, F(timeout_s), 1 },
	{ "migrations.lock_timeout", NULL, INT, F(lock_timeout_ms), 1 },
	{ "migrations.max_lock_hold", NULL, INT, F(max_lock_hold_s), 1 },
	{ "migrations.concurrent_timeout", NULL, INT, F(concurrent_timeout_s), 1 },
	{ "pgward.schema", NULL, STR, F(schema), 0 },
	{ "deploy.wait", NULL, INT, F(wait_s), 0 },
	{ "deploy.hooks", NULL, STR, F(hooks_dir), 0 },
	{ "backup.dir", NULL, STR, F(backup_dir), 0 },
	{ "backup.target", NULL, STR, F(backup_target), 0 },
	{ "backup.keep", NULL, STR, F(backup_keep), 0 },
	{ "backup.schemas", NULL, STR, F(backup_schemas), 0 },
	{ "notify.url", "PGWARD_NOTIFY_URL", STR, F(notify_url), 0 },
	{ "notify.secret", "PGWARD_NOTIFY_SECRET", STR, F(notify_secret), 0 },
	{ "git.tag_pattern", NULL, STR, F(tag_pattern), 0 },
	{ "verify.ignore", NULL, STR, F(verify_ignore), 0 },
	{ "ephemeral.roles", NULL, STR, F(ephemeral_roles), 0 },
	{ "ephemeral.extensions", NULL, STR, F(ephemeral_extensions), 0 },
	{ "library.auto_migrate", "AUTO_MIGRATE_ON_START", BOOL, F(auto_migrate), 0 },
};
#undef F

void pgw_config_init(struct pgw_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->migrations_dir = strdup("migrations");
	cfg->schema = strdup("pgward");
	cfg->timeout_s = 300;
	cfg->lock_timeout_ms = 1000;
	cfg->lock_retries = 5;
	cfg->max_lock_hold_s = 10;
	cfg->concurrent_timeout_s = 3600;
}

static const struct setting *find_setting(const char *key)
{
	size_t i;

	for (i = 0; i < sizeof(settings) / sizeof(settings[0]); i++)
		if (strcmp(settings[i].key, key) == 0)
			return &settings[i];
	return NULL;
}

int pgw_config_set(struct pgw_config *cfg, const char *key, const char *value,
		   const char *origin, struct pgw_err *err)
{
	const struct setting *s = find_setting(key);
	char *base = (char *)cfg;
	char *end;
	long n;

	if (!s)
		return pgw_err_set(err, PGW_EINVAL, "%s%sunknown setting '%s'",
				   origin ? origin : "", origin ? ": " : "", key);
	switch (s->kind) {
	case STR: {
		char **slot = (char **)(base + s->off);
		char *copy = strdup(value);

		if (!copy)
			return pgw_err_oom(err);
		free(*slot);
		*slot = copy;
		break;
	}
	case INT:
		errno = 0;
		n = strtol(value, &end, 10);
		if (errno || end == value || *end || n < s->min || n > INT_MAX)
			return pgw_err_set(err, PGW_EINVAL,
					   "%s%s'%s' must be a whole number >= %d, not '%s'",
					   origin ? origin : "", origin ? ": " : "", key,
					   s->min, value);
		*(int *)(base + s->off) = (int)n;
		if (strcmp(key, "deploy.wait") == 0)
			cfg->wait_set = true;
		break;
	case BOOL:
		if (!strcasecmp(value, "true") || !strcmp(value, "1") ||
		    !strcasecmp(value, "yes") || !strcasecmp(value, "on"))
			*(bool *)(base + s->off) = true;
		else if (!strcasecmp(value, "false") || !strcmp(value, "0") ||
			 !strcasecmp(value, "no") || !strcasecmp(value, "off") ||
			 !*value)
			*(bool *)(base + s->off) = false;
		else
			return pgw_err_set(err, PGW_EINVAL,
					   "%s%s'%s' must be true or false, not '%s'",
					   origin ? origin : "", origin ? ": " : "", key, value);
		break;
	}
	return 0;
}

struct ini_ctx {
	struct pgw_config *cfg;
	const char *path;
	struct pgw_err *err;
	int line;
};

static int on_ini(void *user, const char *section, const char *name,
		  const char *value)
{
	struct ini_ctx *ctx = user;
	char key[256];

	if (snprintf(key, sizeof(key), "%s.%s", section, name) >=
	    (int)sizeof(key))
		key[0] = '\0';
	/* The library's start-up switch is environment-only. */
	if (!strcmp(key, "library.auto_migrate") || !find_setting(key)) {
		pgw_err_set(ctx->err, PGW_EINVAL,
			    "unknown setting '%s' in section '[%s]'", name,
			    section);
		return 0;
	}
	/* the caller prefixes "file:line" */
	return pgw_config_set(ctx->cfg, key, value, NULL, ctx->err) == 0;
}

int pgw_config_load(struct pgw_config *cfg, const char *path,
		    struct pgw_err *err)
{
	const char *env;
	bool explicit = path != NULL;
	size_t i;
	int rc;

	if (!path) {
		env = getenv("PGWARD_CONFIG");
		if (env && *env) {
			path = env;
			explicit = true;
		} else {
			path = "pgward.ini";
		}
	}
	if (explicit || access(path, F_OK) == 0) {
		struct ini_ctx ctx = { cfg, path, err, 0 };

		if (access(path, R_OK) != 0)
			return pgw_err_set(err, PGW_EINVAL,
					   "cannot read config file '%s': %s",
					   path, strerror(errno));
		rc = ini_parse(path, on_ini, &ctx);
		if (rc < 0)
			return pgw_err_set(err, PGW_EINVAL,
					   "cannot read config file '%s'", path);
		if (rc > 0) {
			if (!err->code)
				pgw_err_set(err, PGW_EINVAL,
					    "syntax error (expected [section] or key = value)");
			pgw_err_wrap(err, "%s:%d", path, rc);
			pgw_err_hint(err, "settings are listed in docs/cli.md");
			return err->code;
		}
		free(cfg->config_file);
		cfg->config_file = strdup(path);
	}
	for (i = 0; i < sizeof(settings) / sizeof(settings[0]); i++) {
		char origin[128];

		if (!settings[i].env)
			continue;
		env = getenv(settings[i].env);
		if (!env || !*env)
			continue;
		snprintf(origin, sizeof(origin), "environment %s",
			 settings[i].env);
		rc = pgw_config_set(cfg, settings[i].key, env, origin, err);
		if (rc)
			return rc;
	}
	return 0;
}

void pgw_config_release(struct pgw_config *cfg)
{
	size_t i;

	for (i = 0; i < sizeof(settings) / sizeof(settings[0]); i++)
		if (settings[i].kind == STR)
			free(*(char **)((char *)cfg + settings[i].off));
	free(cfg->config_file);
	memset(cfg, 0, sizeof(*cfg));
}

char **pgw_list_split(const char *text)
{
	const char *p = text ? text : "";
	char **v = calloc(strlen(p) / 2 + 2, sizeof(*v));
	size_t n = 0;

	if (!v)
		return NULL;
	while (*p) {
		size_t len;

		p += strspn(p, ", \t\n");
		len = strcspn(p, ", \t\n");
		if (!len)
			break;
		if (!(v[n++] = strndup(p, len))) {
			pgw_list_free(v);
			return NULL;
		}
		p += len;
	}
	return v;
}

void pgw_list_free(char **v)
{
	size_t i;

	for (i = 0; v && v[i]; i++)
		free(v[i]);
	free(v);
}

const char *pgw_config_session_url(const struct pgw_config *cfg)
{
	return cfg->direct_url ? cfg->direct_url : cfg->database_url;
}
