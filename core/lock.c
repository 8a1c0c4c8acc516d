/* lock.c - advisory deploy lock on the control connection. */
#include "lock.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "clock.h"
#include "interrupt.h"
#include "pg.h"

void pgw_lock_keys(int keys[2], const char *schema)
{
	uint32_t h = 2166136261u;
	const unsigned char *p;

	for (p = (const unsigned char *)schema; *p; p++) {
		h ^= *p;
		h *= 16777619u;
	}
	keys[0] = 0x70677764;
	keys[1] = (int)(h & 0x7fffffff);
}

static void key_text(char a[16], char b[16], const char *schema)
{
	int keys[2];

	pgw_lock_keys(keys, schema);
	snprintf(a, 16, "%d", keys[0]);
	snprintf(b, 16, "%d", keys[1]);
}

/* Who holds it: "pid 123 (pgward:2026...)". */
static void describe_holder(char *out, size_t cap, PGconn *ctl,
			    const char *schema)
{
	char a[16], b[16];
	const char *params[2] = { a, b };
	struct pgw_err err = PGW_ERR_INIT;
	PGresult *res = NULL;

	key_text(a, b, schema);
	snprintf(out, cap, "another session");
	if (pgw_pg_exec(&res, ctl,
			"SELECT l.pid, coalesce(a.application_name, ''),"
			" coalesce(a.client_addr::text, 'local'),"
			" coalesce(to_char(pg_catalog.now() - a.backend_start, 'HH24:MI:SS'), '')"
			" FROM pg_catalog.pg_locks l"
			" LEFT JOIN pg_catalog.pg_stat_activity a ON a.pid = l.pid"
			" WHERE l.locktype = 'advisory' AND l.granted"
			" AND l.classid = $1::int4::oid AND l.objid = $2::int4::oid"
			" AND l.objsubid = 2"
			/* advisory locks are per database: same key, other
			 * database, another deploy */
			" AND l.database = " PGW_SQL_THIS_DATABASE,
			2, params, &err) == 0 &&
	    PQntuples(res) > 0)
		snprintf(out, cap, "pid %s (%s, from %s, connected %s ago)",
			 PQgetvalue(res, 0, 0), PQgetvalue(res, 0, 1),
			 PQgetvalue(res, 0, 2), PQgetvalue(res, 0, 3));
	PQclear(res);
}

int pgw_lock_take(PGconn *ctl, const char *schema, int wait_s,
		  struct pgw_err *err)
{
	char a[16], b[16], holder[256];
	const char *params[2] = { a, b };
	double deadline = pgw_clock_now() + wait_s;
	bool told = false;
	int error;

	key_text(a, b, schema);
	pgw_interrupt_watch(ctl);
	for (;;) {
		PGresult *res = NULL;
		bool got;

		error = pgw_pg_exec(&res, ctl,
				    "SELECT pg_catalog.pg_try_advisory_lock($1::int4, $2::int4)",
				    2, params, err);
		if (error)
			break;
		got = strcmp(PQgetvalue(res, 0, 0), "t") == 0;
		PQclear(res);
		if (got)
			break;
		describe_holder(holder, sizeof(holder), ctl, schema);
		if (pgw_interrupted()) {
			error = pgw_err_set(err, PGW_EFAILED,
					    "interrupted while waiting for the deploy lock held by %s",
					    holder);
			break;
		}
		if (pgw_clock_now() >= deadline) {
			pgw_err_set(err, PGW_ELOCKED,
				    "another pgward holds the deploy lock: %s",
				    holder);
			pgw_err_hint(err, wait_s ? "it did not finish within the %d s waited for it (--wait; MIGRATION_TIMEOUT for an application starting up); try again when it is done" :
						   "wait for it to finish, or pass --wait SEC to wait for it",
				     wait_s);
			error = err->code;
			break;
		}
		if (!told) {
			pgw_log_notice("waiting up to %d s for the deploy lock held by %s",
				       wait_s, holder);
			told = true;
		}
		/* 200-450 ms, jittered so waiters do not march in step */
		pgw_clock_sleep(0.2 + 0.25 * pgw_clock_jitter());
	}
	pgw_interrupt_watch(NULL);
	return error;
}

bool pgw_lock_held(PGconn *ctl, const char *schema)
{
	char a[16], b[16];
	const char *params[2] = { a, b };
	struct pgw_err err = PGW_ERR_INIT;
	PGresult *res = NULL;
	bool held;

	if (PQstatus(ctl) != CONNECTION_OK)
		return false;
	key_text(a, b, schema);
	if (pgw_pg_exec(&res, ctl,
			"SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_locks"
			" WHERE locktype = 'advisory' AND granted"
			" AND pid = pg_catalog.pg_backend_pid()"
			" AND classid = $1::int4::oid AND objid = $2::int4::oid"
			" AND objsubid = 2)",
			2, params, &err))
		return false;
	held = strcmp(PQgetvalue(res, 0, 0), "t") == 0;
	PQclear(res);
	return held;
}

void pgw_lock_close(PGconn *ctl)
{
	if (ctl && PQstatus(ctl) == CONNECTION_OK) {
		if (PQtransactionStatus(ctl) != PQTRANS_IDLE)
			PQclear(PQexec(ctl, "ROLLBACK"));
		PQclear(PQexec(ctl, "SELECT pg_catalog.pg_advisory_unlock_all()"));
	}
	PQfinish(ctl);
}
