/* test_pg.c - the libpq adapter against a real server: connecting (and
 * failing to, as PGW_ECONNECT, never showing a password), the pinned
 * session settings, queries whose errors become struct pgw_err,
 * identifier quoting and text[] literals checked by the server itself,
 * where a connection goes, run ids, server notices in the log, and the
 * pooler check on a direct connection. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "fixture_cfg.h"
#include "fixture_pg.h"
#include "pg.h"
#include "pgward.h"

#define DB "pgw_unit_pg"

struct fx {
	char *conninfo;
	PGconn *c; /* connected with pgw_pg_connect */
	struct pgw_err err;
};

static int setup(void **state)
{
	struct fx *fx = calloc(1, sizeof(*fx));

	if (!fx)
		return -1;
	fx->c = fixture_pgw_open(DB, &fx->conninfo, "pgward:unit");
	if (!fx->c) {
		fixture_pg_close(DB, fx->conninfo, NULL);
		free(fx);
		return -1;
	}
	*state = fx;
	return 0;
}

static int teardown(void **state)
{
	struct fx *fx = *state;

	pgw_log_set_sink(NULL, NULL, PGW_LOG_NOTICE);
	fixture_pg_close(DB, fx->conninfo, fx->c);
	free(fx);
	return 0;
}

/* The one value `sql` returns on fx->c (a malloc'd copy), failing the
 * test on any error. */
static char *value(PGconn *c, const char *sql, int nparams,
                   const char *const *params)
{
	struct pgw_err err = PGW_ERR_INIT;
	PGresult *res = NULL;
	char *v;

	if (pgw_pg_exec(&res, c, sql, nparams, params, &err) != 0)
		fail_msg("%s: %s", sql, err.msg);
	assert_int_equal(PQntuples(res), 1);
	v = strdup(PQgetisnull(res, 0, 0) ? "(null)" : PQgetvalue(res, 0, 0));
	PQclear(res);
	assert_non_null(v);
	return v;
}

static void assert_value(PGconn *c, const char *sql, const char *want)
{
	char *got = value(c, sql, 0, NULL);
	char shown[256];

	if (strcmp(got, want) != 0) {
		snprintf(shown, sizeof(shown), "%s", got);
		free(got);
		fail_msg("%s gave '%s', want '%s'", sql, shown, want);
	}
	free(got);
}

/* Nothing of err may show the password. */
static void assert_no_secret(const struct pgw_err *err, const char *secret)
{
	if (strstr(err->msg, secret) || strstr(err->detail, secret) ||
	    strstr(err->hint, secret))
		fail_msg("the password shows: %s | %s | %s", err->msg,
		         err->detail, err->hint);
}

static void test_pg__connect(void **state)
{
	struct fx *fx = *state;

	assert_int_equal(PQstatus(fx->c), CONNECTION_OK);
	assert_string_equal(PQdb(fx->c), DB);
	assert_value(fx->c, "SELECT current_database()", DB);
	/* the application name given, UTF-8 */
	assert_value(fx->c, "SHOW application_name", "pgward:unit");
	assert_value(fx->c, "SHOW client_encoding", "UTF8");
}

static void test_pg__connect_null_conninfo_uses_libpq_defaults(void **state)
{
	struct fx *fx = *state;
	PGconn *c = NULL, *plain;

	plain = PQconnectdb("");
	assert_int_equal(PQstatus(plain), CONNECTION_OK);
	assert_int_equal(pgw_pg_connect(&c, NULL, "pgward:defaults", &fx->err),
	                 0);
	assert_non_null(c);
	/* where libpq itself goes without a conninfo */
	assert_string_equal(PQdb(c), PQdb(plain));
	assert_string_equal(PQuser(c), PQuser(plain));
	assert_value(c, "SHOW application_name", "pgward:defaults");
	PQfinish(plain);
	PQfinish(c);
	/* an empty string is the same */
	assert_int_equal(pgw_pg_connect(&c, "", "pgward:empty", &fx->err), 0);
	assert_value(c, "SHOW application_name", "pgward:empty");
	PQfinish(c);
}

static void test_pg__connect_url(void **state)
{
	struct fx *fx = *state;
	PGconn *c = NULL;

	assert_int_equal(
	        pgw_pg_connect(&c, "postgresql:///" DB, "pgward:url", &fx->err),
	        0);
	assert_string_equal(PQdb(c), DB);
	PQfinish(c);
}

static void test_pg__connect_missing_database_is_econnect(void **state)
{
	struct fx *fx = *state;
	PGconn *c = (PGconn *)fx; /* any non-NULL: must be cleared */

	assert_int_equal(pgw_pg_connect(&c, "dbname=pgw_unit_no_such_db",
	                                "pgward:unit", &fx->err),
	                 PGW_ECONNECT);
	assert_null(c);
	assert_int_equal(fx->err.code, PGW_ECONNECT);
	/* where it tried, what the server said, what to do */
	assert_non_null(strstr(fx->err.msg,
	                       "cannot connect to dbname=pgw_unit_no_such_db"));
	assert_non_null(
	        strstr(fx->err.msg, "pgw_unit_no_such_db\" does not exist"));
	assert_non_null(strstr(fx->err.hint, "safe to retry"));
	/* one line */
	assert_null(strchr(fx->err.msg, '\n'));
}

static void test_pg__connect_unreachable_is_econnect(void **state)
{
	struct fx *fx = *state;
	PGconn *c = NULL;

	/* a socket directory with no server in it */
	assert_int_equal(
	        pgw_pg_connect(&c, "host=/nonexistent/pgward port=1 dbname=x",
	                       "pgward:unit", &fx->err),
	        PGW_ECONNECT);
	assert_null(c);
	assert_non_null(strstr(fx->err.msg, "/nonexistent/pgward"));
	assert_null(strchr(fx->err.msg, '\n'));
}

static void test_pg__connect_failure_never_shows_password(void **state)
{
	struct fx *fx = *state;
	struct pgw_err err2 = PGW_ERR_INIT;
	PGconn *c = NULL;

	/* pgw_pw authenticates by password (tests/cluster.sh): wrong here */
	assert_int_equal(
	        pgw_pg_connect(&c,
	                       "user=pgw_pw password=hunter2secret dbname=" DB,
	                       "pgward:unit", &fx->err),
	        PGW_ECONNECT);
	assert_null(c);
	assert_no_secret(&fx->err, "hunter2secret");
	assert_non_null(strstr(fx->err.msg, "password=***"));
	/* and in a URL */
	assert_int_equal(
	        pgw_pg_connect(&c, "postgresql://pgw_pw:hunter2secret@/" DB,
	                       "pgward:unit", &err2),
	        PGW_ECONNECT);
	assert_null(c);
	assert_no_secret(&err2, "hunter2secret");
	assert_non_null(strstr(err2.msg, "pgw_pw:***@"));
}

static void test_pg__connect_at_overrides(void **state)
{
	struct fx *fx = *state;
	const char *host = getenv("PGHOST"), *port = getenv("PGPORT");
	PGconn *c = NULL;

	assert_non_null(host);
	assert_non_null(port);
	/* the database from the argument wins over the conninfo's */
	assert_int_equal(pgw_pg_connect_at(&c, "dbname=postgres", NULL, NULL,
	                                   DB, "pgward:at", &fx->err),
	                 0);
	assert_string_equal(PQdb(c), DB);
	PQfinish(c);
	/* host and port too: a conninfo pointing nowhere, then redirected */
	assert_int_equal(
	        pgw_pg_connect_at(&c,
	                          "host=/nonexistent/pgward port=1 dbname=" DB,
	                          host, port, NULL, "pgward:at", &fx->err),
	        0);
	assert_string_equal(PQdb(c), DB);
	assert_string_equal(PQhost(c), host);
	assert_string_equal(PQport(c), port);
	assert_value(c, "SHOW application_name", "pgward:at");
	PQfinish(c);
	/* NULLs: as the conninfo says */
	assert_int_equal(pgw_pg_connect_at(&c, fx->conninfo, NULL, NULL, NULL,
	                                   "pgward:at", &fx->err),
	                 0);
	assert_string_equal(PQdb(c), DB);
	PQfinish(c);
	/* a missing database named by the argument fails as a connect */
	assert_int_equal(pgw_pg_connect_at(&c, fx->conninfo, NULL, NULL,
	                                   "pgw_unit_no_such_db", "pgward:at",
	                                   &fx->err),
	                 PGW_ECONNECT);
	assert_null(c);
}

static void test_pg__pin_settings(void **state)
{
	struct fx *fx = *state;

	/* far from what pgward wants, first */
	assert_int_equal(
	        pgw_pg_run(fx->c,
	                   "SET DateStyle = 'German';"
	                   "SET IntervalStyle = 'sql_standard';"
	                   "SET extra_float_digits = 0;"
	                   "SET idle_in_transaction_session_timeout = '5min';"
	                   "SET idle_session_timeout = '1h'",
	                   &fx->err),
	        0);
	assert_value(fx->c, "SHOW extra_float_digits", "0");
	assert_int_equal(pgw_pg_pin_settings(fx->c, &fx->err), 0);
	assert_int_equal(fx->err.code, PGW_OK);
	assert_value(fx->c,
	             "SELECT split_part(current_setting('DateStyle'), ',', 1)",
	             "ISO");
	assert_value(fx->c, "SHOW IntervalStyle", "postgres");
	assert_value(fx->c, "SHOW extra_float_digits", "3");
	assert_value(fx->c, "SHOW standard_conforming_strings", "on");
	assert_value(fx->c, "SHOW idle_in_transaction_session_timeout", "0");
	assert_value(fx->c, "SHOW idle_session_timeout", "0");
	/* what they are for: ISO dates, postgres intervals */
	assert_value(fx->c, "SELECT '2026-11-25'::date::text", "2026-11-25");
	assert_value(fx->c, "SELECT '90 minutes'::interval::text", "01:30:00");
}

static void test_pg__pinned_settings_outlive_the_transaction(void **state)
{
	struct fx *fx = *state;

	/* session settings, not SET LOCAL: they stay after COMMIT */
	assert_int_equal(
	        pgw_pg_run(fx->c, "SET extra_float_digits = 0", &fx->err), 0);
	assert_int_equal(pgw_pg_run(fx->c, "BEGIN", &fx->err), 0);
	assert_int_equal(pgw_pg_pin_settings(fx->c, &fx->err), 0);
	assert_int_equal(pgw_pg_run(fx->c, "COMMIT", &fx->err), 0);
	assert_value(fx->c, "SHOW extra_float_digits", "3");
	assert_value(fx->c, "SHOW IntervalStyle", "postgres");
}

static void test_pg__exec_with_parameters(void **state)
{
	struct fx *fx = *state;
	const char *params[3] = { "40", "2", NULL };
	char *v;

	v = value(fx->c, "SELECT $1::int + $2::int", 2, params);
	assert_string_equal(v, "42");
	free(v);
	/* a NULL parameter is SQL NULL */
	v = value(fx->c, "SELECT coalesce($1::text, 'was null')", 1,
	          params + 2);
	assert_string_equal(v, "was null");
	free(v);
	/* parameters are values, never SQL */
	params[0] = "x'); DROP TABLE t; --";
	v = value(fx->c, "SELECT $1::text", 1, params);
	assert_string_equal(v, "x'); DROP TABLE t; --");
	free(v);
	/* out NULL: the result is discarded, success still reported */
	assert_int_equal(pgw_pg_exec(NULL, fx->c, "CREATE TABLE t (id int)", 0,
	                             NULL, &fx->err),
	                 0);
	assert_value(fx->c, "SELECT count(*) FROM pg_class WHERE relname = 't'",
	             "1");
}

static void test_pg__exec_error_fills_err(void **state)
{
	struct fx *fx = *state;
	PGresult *res = (PGresult *)fx; /* must be cleared */

	assert_int_equal(
	        pgw_pg_exec(&res, fx->c, "SELECT 1/0", 0, NULL, &fx->err),
	        PGW_EPG);
	assert_null(res);
	assert_int_equal(fx->err.code, PGW_EPG);
	assert_string_equal(fx->err.sqlstate, "22012");
	assert_string_equal(fx->err.msg, "division by zero");
	/* the connection is still usable */
	assert_value(fx->c, "SELECT 1", "1");
}

static void test_pg__exec_error_detail_and_hint(void **state)
{
	struct fx *fx = *state;

	assert_int_equal(
	        pgw_pg_run(fx->c,
	                   "DO $$BEGIN RAISE EXCEPTION 'boom %', 7"
	                   " USING DETAIL = E'the detail\\nsecond line',"
	                   " HINT = 'the hint', ERRCODE = '22023'; END$$",
	                   &fx->err),
	        PGW_EPG);
	assert_string_equal(fx->err.msg, "boom 7");
	assert_string_equal(fx->err.sqlstate, "22023");
	/* one line, as errors are shown */
	assert_string_equal(fx->err.detail, "the detail second line");
	assert_string_equal(fx->err.hint, "the hint");
}

static void test_pg__first_error_wins(void **state)
{
	struct fx *fx = *state;

	assert_int_equal(
	        pgw_pg_exec(NULL, fx->c, "SELECT 1/0", 0, NULL, &fx->err),
	        PGW_EPG);
	assert_int_equal(pgw_pg_exec(NULL, fx->c, "SELECT * FROM no_such_table",
	                             0, NULL, &fx->err),
	                 PGW_EPG);
	assert_string_equal(fx->err.sqlstate, "22012");
	assert_string_equal(fx->err.msg, "division by zero");
}

static void test_pg__run_several_statements(void **state)
{
	struct fx *fx = *state;

	assert_int_equal(
	        pgw_pg_run(
	                fx->c,
	                "CREATE TABLE a (x int); INSERT INTO a VALUES (1), (2);"
	                " SELECT * FROM a",
	                &fx->err),
	        0);
	assert_value(fx->c, "SELECT sum(x) FROM a", "3");
	/* an empty string or only a comment is no error */
	assert_int_equal(pgw_pg_run(fx->c, "", &fx->err), 0);
	assert_int_equal(pgw_pg_run(fx->c, "-- nothing", &fx->err), 0);
	assert_int_equal(fx->err.code, PGW_OK);
	/* an error stops it: the statements after it do not run */
	assert_int_equal(pgw_pg_run(fx->c,
	                            "INSERT INTO a VALUES (10); SELECT 1/0;"
	                            " INSERT INTO a VALUES (100)",
	                            &fx->err),
	                 PGW_EPG);
	assert_string_equal(fx->err.sqlstate, "22012");
	/* one implicit transaction: the first INSERT rolled back too */
	assert_value(fx->c, "SELECT sum(x) FROM a", "3");
}

static void test_pg__lost_connection(void **state)
{
	struct fx *fx = *state;
	char sql[128];

	snprintf(sql, sizeof(sql), "SELECT pg_terminate_backend(%d, 5000)",
	         PQbackendPID(fx->c));
	assert_int_equal(fixture_pg_admin(sql), 0);
	assert_int_equal(
	        pgw_pg_exec(NULL, fx->c, "SELECT 1", 0, NULL, &fx->err),
	        PGW_EPG);
	assert_int_equal(PQstatus(fx->c), CONNECTION_BAD);
	/* what happened, on one line */
	assert_null(strchr(fx->err.msg, '\n'));
	if (!strstr(fx->err.msg, "terminating connection") &&
	    !strstr(fx->err.msg, "lost the connection"))
		fail_msg("unexpected message: %s", fx->err.msg);
}

static void test_pg__ident_quotes_odd_names(void **state)
{
	static const char *const names[] = {
		"plain",       "MixedCase", "with space",
		"with\"quote", "\"\"",      "semi; DROP TABLE x; --",
		"caf\xc3\xa9", "select",    "back\\slash",
		"$1",          NULL,
	};
	struct fx *fx = *state;
	const char *p[1];
	char sql[512], *q, *v;
	size_t i;

	for (i = 0; names[i]; i++) {
		pgw_err_clear(&fx->err);
		q = pgw_pg_ident(fx->c, names[i], &fx->err);
		assert_non_null(q);
		/* always quoted */
		assert_int_equal(q[0], '"');
		assert_int_equal(q[strlen(q) - 1], '"');
		/* the server takes it for exactly that name */
		snprintf(sql, sizeof(sql), "CREATE TABLE %s (id int)", q);
		if (pgw_pg_run(fx->c, sql, &fx->err) != 0)
			fail_msg("%s: %s", sql, fx->err.msg);
		p[0] = names[i];
		v = value(fx->c,
		          "SELECT count(*) FROM pg_class WHERE relname = $1"
		          " AND relnamespace = 'public'::regnamespace",
		          1, p);
		if (strcmp(v, "1") != 0)
			fail_msg("table %s not found by its name '%s'", q,
			         names[i]);
		free(v);
		PQfreemem(q);
	}
	/* "with\"quote" is written doubled */
	q = pgw_pg_ident(fx->c, "with\"quote", &fx->err);
	assert_string_equal(q, "\"with\"\"quote\"");
	PQfreemem(q);
	q = pgw_pg_ident(fx->c, "plain", &fx->err);
	assert_string_equal(q, "\"plain\"");
	PQfreemem(q);
}

static void test_pg__ident_invalid_utf8_is_einval(void **state)
{
	struct fx *fx = *state;
	char *q;

	/* a lone continuation byte: libpq refuses it in a UTF8 session */
	q = pgw_pg_ident(fx->c, "bad\xa9name", &fx->err);
	assert_null(q);
	assert_int_equal(fx->err.code, PGW_EINVAL);
	assert_non_null(strstr(fx->err.msg, "cannot quote identifier"));
}

/* names -> literal -> the server's text[] -> each element, compared. */
static void round_trip(PGconn *c, const char *const *names)
{
	struct pgw_buf b = PGW_BUF_INIT;
	struct pgw_err err = PGW_ERR_INIT;
	PGresult *res = NULL;
	const char *p[1];
	int i, n = 0;

	pgw_pg_text_array(&b, names);
	assert_false(pgw_buf_oom(&b));
	while (names && names[n])
		n++;
	p[0] = b.ptr;
	if (pgw_pg_exec(
	            &res, c,
	            "SELECT u, o, coalesce(cardinality($1::text[]), 0)"
	            " FROM unnest($1::text[]) WITH ORDINALITY AS x(u, o)"
	            " UNION ALL SELECT NULL, 0, coalesce(cardinality($1::text[]), 0)"
	            " ORDER BY 2",
	            1, p, &err) != 0)
		fail_msg("literal %s: %s", b.ptr, err.msg);
	/* one row for the count, then each element in order */
	assert_int_equal(PQntuples(res), n + 1);
	assert_int_equal(atoi(PQgetvalue(res, 0, 2)), n);
	for (i = 0; i < n; i++) {
		if (PQgetisnull(res, i + 1, 0))
			fail_msg("element %d of %s came back NULL", i + 1,
			         b.ptr);
		if (strcmp(PQgetvalue(res, i + 1, 0), names[i]) != 0)
			fail_msg("element %d of %s: '%s', want '%s'", i + 1,
			         b.ptr, PQgetvalue(res, i + 1, 0), names[i]);
	}
	PQclear(res);
	pgw_buf_release(&b);
}

static void test_pg__text_array_round_trips(void **state)
{
	static const char *const plain[] = { "public", "app", NULL };
	static const char *const odd[] = {
		"with,comma", "with\"quote", "back\\slash",
		"{braces}",   " spaced ",    "",
		"NULL",       "null",        "caf\xc3\xa9",
		"'single'",   "tab\there",   "new\nline",
		"\\\"",       "a\\,b",       NULL,
	};
	static const char *const one[] = { "NULL", NULL };
	struct fx *fx = *state;

	round_trip(fx->c, plain);
	round_trip(fx->c, odd);
	round_trip(fx->c, one);
}

static void test_pg__text_array_empty(void **state)
{
	static const char *const none[] = { NULL };
	struct fx *fx = *state;
	struct pgw_buf b = PGW_BUF_INIT;

	pgw_pg_text_array(&b, NULL);
	assert_string_equal(b.ptr, "{}");
	pgw_buf_reset(&b);
	pgw_pg_text_array(&b, none);
	assert_string_equal(b.ptr, "{}");
	pgw_buf_release(&b);
	round_trip(fx->c, NULL);
	round_trip(fx->c, none);
}

static void test_pg__text_array_appends(void **state)
{
	static const char *const names[] = { "a", "b\"c", NULL };
	struct pgw_buf b = PGW_BUF_INIT;

	(void)state;
	pgw_buf_puts(&b, "x=");
	pgw_pg_text_array(&b, names);
	assert_string_equal(b.ptr, "x={\"a\",\"b\\\"c\"}");
	pgw_buf_release(&b);
}

static void test_pg__text_array_in_any(void **state)
{
	static const char *const names[] = { "pg_class", "pg_proc", "no\"such",
		                             NULL };
	struct fx *fx = *state;
	struct pgw_buf b = PGW_BUF_INIT;
	const char *p[1];
	char *v;

	/* the documented use: = ANY ($1::text[]) */
	pgw_pg_text_array(&b, names);
	p[0] = b.ptr;
	v = value(
	        fx->c,
	        "SELECT string_agg(relname, ',' ORDER BY relname) FROM pg_class"
	        " WHERE relname = ANY ($1::text[])"
	        " AND relnamespace = 'pg_catalog'::regnamespace",
	        1, p);
	assert_string_equal(v, "pg_class,pg_proc");
	free(v);
	pgw_buf_release(&b);
}

static void test_pg__describe(void **state)
{
	struct fx *fx = *state;
	PGconn *c = NULL;
	char want[1024], *d;

	snprintf(want, sizeof(want), "host=%s port=%s dbname=%s user=%s",
	         getenv("PGHOST"), getenv("PGPORT"), DB, PQuser(fx->c));
	d = pgw_pg_describe(fx->c);
	assert_non_null(d);
	assert_string_equal(d, want);
	free(d);
	/* a password in the conninfo (trust lets it connect) never shows */
	assert_int_equal(pgw_pg_connect(&c, "password=hunter2secret dbname=" DB,
	                                "pgward:unit", &fx->err),
	                 0);
	d = pgw_pg_describe(c);
	assert_non_null(d);
	assert_string_equal(d, want);
	assert_null(strstr(d, "hunter2secret"));
	free(d);
	PQfinish(c);
}

static void test_pg__new_id(void **state)
{
	char a[40], b[40], now[32];
	struct timespec ts = { 0, 2 * 1000 * 1000 };
	time_t t0, t1;
	struct tm tm;
	int i;

	(void)state;
	t0 = time(NULL);
	pgw_pg_new_id(a);
	t1 = time(NULL);
	/* "20261125T133500Z-4f2a" */
	assert_int_equal(strlen(a), 21);
	for (i = 0; i < 8; i++)
		assert_true(isdigit((unsigned char)a[i]));
	assert_int_equal(a[8], 'T');
	for (i = 9; i < 15; i++)
		assert_true(isdigit((unsigned char)a[i]));
	assert_int_equal(a[15], 'Z');
	assert_int_equal(a[16], '-');
	for (i = 17; i < 21; i++)
		assert_true(isdigit((unsigned char)a[i]) ||
		            (a[i] >= 'a' && a[i] <= 'f'));
	/* the UTC time now */
	gmtime_r(&t0, &tm);
	strftime(now, sizeof(now), "%Y%m%dT%H%M%SZ", &tm);
	if (strncmp(a, now, 16) != 0) {
		gmtime_r(&t1, &tm);
		strftime(now, sizeof(now), "%Y%m%dT%H%M%SZ", &tm);
		assert_memory_equal(a, now, 16);
	}
	/* two runs a moment apart differ */
	nanosleep(&ts, NULL);
	pgw_pg_new_id(b);
	assert_string_not_equal(a, b);
}

static void test_pg__check_session_direct(void **state)
{
	struct fx *fx = *state;
	PGconn *other = NULL;

	assert_int_equal(pgw_pg_check_session(fx->c, NULL, &fx->err), 0);
	assert_int_equal(
	        pgw_pg_connect(&other, fx->conninfo, "pgward:other", &fx->err),
	        0);
	assert_int_equal(pgw_pg_check_session(fx->c, other, &fx->err), 0);
	assert_int_equal(fx->err.code, PGW_OK);
	/* neither is left in a transaction */
	assert_int_equal(PQtransactionStatus(fx->c), PQTRANS_IDLE);
	assert_int_equal(PQtransactionStatus(other), PQTRANS_IDLE);
	PQfinish(other);
}

static void test_pg__check_session_on_a_dead_connection(void **state)
{
	struct fx *fx = *state;
	char sql[128];

	snprintf(sql, sizeof(sql), "SELECT pg_terminate_backend(%d, 5000)",
	         PQbackendPID(fx->c));
	assert_int_equal(fixture_pg_admin(sql), 0);
	assert_int_equal(pgw_pg_check_session(fx->c, NULL, &fx->err), PGW_EPG);
	assert_int_equal(fx->err.code, PGW_EPG);
}

/* Log lines, for the notice test. */
struct lines {
	int n;
	enum pgw_log_level level;
	char msg[1024];
};

static void keep_line(enum pgw_log_level level, const char *msg, void *payload)
{
	struct lines *l = payload;

	l->n++;
	l->level = level;
	snprintf(l->msg, sizeof(l->msg), "%s", msg);
}

static void test_pg__server_notices_go_to_the_log(void **state)
{
	struct fx *fx = *state;
	struct lines l = { 0 };

	pgw_log_set_sink(keep_line, &l, PGW_LOG_DEBUG);
	assert_int_equal(
	        pgw_pg_run(fx->c,
	                   "DO $$BEGIN RAISE NOTICE 'hello %', 42; END$$",
	                   &fx->err),
	        0);
	assert_int_equal(l.n, 1);
	assert_int_equal(l.level, PGW_LOG_INFO);
	assert_non_null(strstr(l.msg, "server: "));
	assert_non_null(strstr(l.msg, "hello 42"));
	/* one line, no trailing newline */
	assert_null(strchr(l.msg, '\n'));
	/* at the default level (notice) they are not shown */
	pgw_log_set_sink(keep_line, &l, PGW_LOG_NOTICE);
	assert_int_equal(pgw_pg_run(fx->c,
	                            "DO $$BEGIN RAISE NOTICE 'quiet'; END$$",
	                            &fx->err),
	                 0);
	assert_int_equal(l.n, 1);
}

static void test_pg__socket_connection_logs_no_ssl_warning(void **state)
{
	struct fx *fx = *state;
	struct lines l = { 0 };
	PGconn *c = NULL;

	/* a unix socket is not "TCP without SSL" */
	pgw_log_set_sink(keep_line, &l, PGW_LOG_DEBUG);
	assert_int_equal(
	        pgw_pg_connect(&c, fx->conninfo, "pgward:unit", &fx->err), 0);
	PQfinish(c);
	assert_int_equal(l.n, 0);
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_pg__connect),
		T(test_pg__connect_null_conninfo_uses_libpq_defaults),
		T(test_pg__connect_url),
		T(test_pg__connect_missing_database_is_econnect),
		T(test_pg__connect_unreachable_is_econnect),
		T(test_pg__connect_failure_never_shows_password),
		T(test_pg__connect_at_overrides),
		T(test_pg__pin_settings),
		T(test_pg__pinned_settings_outlive_the_transaction),
		T(test_pg__exec_with_parameters),
		T(test_pg__exec_error_fills_err),
		T(test_pg__exec_error_detail_and_hint),
		T(test_pg__first_error_wins),
		T(test_pg__run_several_statements),
		T(test_pg__lost_connection),
		T(test_pg__ident_quotes_odd_names),
		T(test_pg__ident_invalid_utf8_is_einval),
		T(test_pg__text_array_round_trips),
		T(test_pg__text_array_empty),
		T(test_pg__text_array_appends),
		T(test_pg__text_array_in_any),
		T(test_pg__describe),
		T(test_pg__new_id),
		T(test_pg__check_session_direct),
		T(test_pg__check_session_on_a_dead_connection),
		T(test_pg__server_notices_go_to_the_log),
		T(test_pg__socket_connection_logs_no_ssl_warning),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
