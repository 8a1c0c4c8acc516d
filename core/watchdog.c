/* watchdog.c - the max-lock-hold guard. */
#include "watchdog.h"

#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "clock.h"
#include "pg.h"

#define POLL_MS 100
#define MAX_TRACKED 64

struct held {
	char oid[16];
	char name[256];
	double since;
};

struct pgw_watchdog {
	PGconn *conn;
	char *conninfo, *app_name; /* the thread connects itself */
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t wake; /* stop without waiting out a poll interval */
	bool stop;
	bool fired;
	char why[512];
	char pid[16];
	int max_hold_s;
	struct held held[MAX_TRACKED];
	int n_held;
};

/* Rebuild the tracked set from one pg_locks sample, keeping first-seen
 * times of locks still held; returns the longest hold. */
static struct held *sample(struct pgw_watchdog *wd, PGresult *res, double t)
{
	struct held next[MAX_TRACKED];
	struct held *worst = NULL;
	int i, j, n = 0;

	for (i = 0; i < PQntuples(res) && n < MAX_TRACKED; i++) {
		struct held *h = &next[n++];

		snprintf(h->oid, sizeof(h->oid), "%s", PQgetvalue(res, i, 0));
		snprintf(h->name, sizeof(h->name), "%s", PQgetvalue(res, i, 1));
		h->since = t;
		for (j = 0; j < wd->n_held; j++)
			if (!strcmp(wd->held[j].oid, h->oid))
				h->since = wd->held[j].since;
	}
	memcpy(wd->held, next, sizeof(next[0]) * (size_t)n);
	wd->n_held = n;
	for (i = 0; i < n; i++)
		if (!worst || wd->held[i].since < worst->since)
			worst = &wd->held[i];
	return worst;
}

/* Wait one poll interval, or less when stop is asked. */
static void pause_poll(struct pgw_watchdog *wd)
{
	struct timespec until;

	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_nsec += POLL_MS * 1000000L;
	if (until.tv_nsec >= 1000000000L) {
		until.tv_sec++;
		until.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&wd->mu);
	if (!wd->stop)
		pthread_cond_timedwait(&wd->wake, &wd->mu, &until);
	pthread_mutex_unlock(&wd->mu);
}

static void *watch(void *arg)
{
	struct pgw_watchdog *wd = arg;
	const char *params[1] = { wd->pid };
	double fired_at = 0;
	sigset_t all;

	/* signals are the main thread's business */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, NULL);
	/* connecting here lets the run start meanwhile */
	{
		struct pgw_err err = PGW_ERR_INIT;

		if (pgw_pg_connect(&wd->conn, wd->conninfo, wd->app_name, &err)) {
			pgw_log_warn("the lock watchdog cannot connect, --max-lock-hold is not enforced: %s",
				     err.msg);
			return NULL;
		}
	}

	for (;;) {
		struct pgw_err err = PGW_ERR_INIT;
		PGresult *res = NULL;
		struct held *worst;
		double t;
		bool stop;

		pthread_mutex_lock(&wd->mu);
		stop = wd->stop;
		pthread_mutex_unlock(&wd->mu);
		if (stop)
			break;
		/* Tables created by the migration itself are invisible to this
		 * connection's pg_class: only pre-existing ones match. */
		if (pgw_pg_exec(&res, wd->conn,
				"SELECT c.oid::text, pg_catalog.format('%I.%I', n.nspname, c.relname)"
				" FROM pg_catalog.pg_locks l"
				" JOIN pg_catalog.pg_class c ON c.oid = l.relation"
				" JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace"
				" WHERE l.pid = $1::int AND l.granted AND l.locktype = 'relation'"
				" AND l.mode = 'AccessExclusiveLock' AND c.relkind IN ('r', 'p', 'm')"
				" AND l.database = " PGW_SQL_THIS_DATABASE,
				1, params, &err) != 0) {
			if (PQstatus(wd->conn) != CONNECTION_OK)
				break;
			pause_poll(wd);
			continue;
		}
		t = pgw_clock_now();
		pthread_mutex_lock(&wd->mu);
		worst = sample(wd, res, t);
		PQclear(res);
		res = NULL;
		if (worst && !wd->fired && t - worst->since > wd->max_hold_s) {
			wd->fired = true;
			fired_at = t;
			snprintf(wd->why, sizeof(wd->why),
				 "held an ACCESS EXCLUSIVE lock on table %s for more than %d s (--max-lock-hold)",
				 worst->name, wd->max_hold_s);
			pthread_mutex_unlock(&wd->mu);
			if (!pgw_pg_exec(&res, wd->conn,
					 "SELECT pg_catalog.pg_cancel_backend($1::int)",
					 1, params, &err))
				PQclear(res);
			continue;
		}
		/* A backend idle in its transaction ignores a cancel: end it. */
		if (worst && wd->fired && fired_at && t - fired_at > 3) {
			fired_at = 0;
			pthread_mutex_unlock(&wd->mu);
			if (!pgw_pg_exec(&res, wd->conn,
					 "SELECT pg_catalog.pg_terminate_backend($1::int)",
					 1, params, &err))
				PQclear(res);
			continue;
		}
		pthread_mutex_unlock(&wd->mu);
		pause_poll(wd);
	}
	return NULL;
}

static void watchdog_free(struct pgw_watchdog *wd)
{
	PQfinish(wd->conn);
	free(wd->conninfo);
	free(wd->app_name);
	free(wd);
}

int pgw_watchdog_start(struct pgw_watchdog **out, const char *conninfo,
		       const char *app_name, int pid, int max_hold_s,
		       struct pgw_err *err)
{
	struct pgw_watchdog *wd = calloc(1, sizeof(*wd));

	*out = NULL;
	if (!wd)
		return pgw_err_oom(err);
	snprintf(wd->pid, sizeof(wd->pid), "%d", pid);
	wd->max_hold_s = max_hold_s;
	wd->conninfo = conninfo ? strdup(conninfo) : NULL;
	wd->app_name = strdup(app_name);
	if ((conninfo && !wd->conninfo) || !wd->app_name) {
		watchdog_free(wd);
		return pgw_err_oom(err);
	}
	pthread_mutex_init(&wd->mu, NULL);
	pthread_cond_init(&wd->wake, NULL);
	if (pthread_create(&wd->thread, NULL, watch, wd) != 0) {
		pthread_cond_destroy(&wd->wake);
		pthread_mutex_destroy(&wd->mu);
		watchdog_free(wd);
		return pgw_err_set(err, PGW_ERROR, "cannot start the lock watchdog thread");
	}
	*out = wd;
	return 0;
}

bool pgw_watchdog_fired(struct pgw_watchdog *wd, char *msg, size_t cap)
{
	bool fired;

	if (!wd)
		return false;
	pthread_mutex_lock(&wd->mu);
	fired = wd->fired;
	if (fired && msg)
		snprintf(msg, cap, "%s", wd->why);
	pthread_mutex_unlock(&wd->mu);
	return fired;
}

void pgw_watchdog_reset(struct pgw_watchdog *wd)
{
	if (!wd)
		return;
	pthread_mutex_lock(&wd->mu);
	wd->fired = false;
	wd->n_held = 0;
	pthread_mutex_unlock(&wd->mu);
}

void pgw_watchdog_stop(struct pgw_watchdog *wd)
{
	if (!wd)
		return;
	pthread_mutex_lock(&wd->mu);
	wd->stop = true;
	pthread_cond_signal(&wd->wake);
	pthread_mutex_unlock(&wd->mu);
	pthread_join(wd->thread, NULL);
	pthread_cond_destroy(&wd->wake);
	pthread_mutex_destroy(&wd->mu);
	watchdog_free(wd);
}
