/* test_notify.c - deploy webhooks: the generic JSON body and Slack's,
 * URLs redacted for messages, and real deliveries to a small HTTP server
 * on 127.0.0.1 run by the test in a thread: headers, the HMAC-SHA256
 * signature checked with nettle, retries of 5xx, 429 (Retry-After) and
 * refused connections, 4xx failing at once, the time bound, several URLs
 * at once. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <jansson.h>
#include <nettle/hmac.h>
#include <nettle/sha2.h>

#include "fixture.h"
#include "fixture_log.h"
#include "notify.h"
#include "pgward.h"

/* What the deliveries log (from their own threads), warnings marked. */
static int setup(void **state)
{
	(void)state;
	fixture_log_capture(true);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	fixture_log_reset();
	return 0;
}

/* ---- a small HTTP server ----------------------------------------------------
 */

#define MAX_REQ 8

struct request {
	char head[4096];
	char *body;
	size_t body_len;
};

struct server {
	int fd;
	int port;
	pthread_t thread;
	pthread_mutex_t mu;
	bool stop;
	/* what to answer to request i (the last one repeats) */
	const char *answers[MAX_REQ];
	int n_answers;
	int delay_ms; /* before answering */
	bool silent;  /* never answer */
	struct request req[MAX_REQ];
	int n_req;
};

/* strstr, ignoring case (header names) */
static const char *find_nocase(const char *hay, const char *needle)
{
	size_t n = strlen(needle);

	for (; *hay; hay++)
		if (strncasecmp(hay, needle, n) == 0)
			return hay;
	return NULL;
}

static void nap_ms(int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

static void serve_one(struct server *s, int c)
{
	char buf[65536];
	size_t len = 0, want = 0;
	char *end = NULL, *cl;
	const char *answer;
	struct request *r;
	int i;

	/* the head, then Content-Length bytes of body */
	for (;;) {
		struct pollfd p = { c, POLLIN, 0 };
		ssize_t n;

		if (poll(&p, 1, 3000) <= 0)
			break;
		n = read(c, buf + len, sizeof(buf) - 1 - len);
		if (n <= 0)
			break;
		len += (size_t)n;
		buf[len] = '\0';
		if (!end && (end = strstr(buf, "\r\n\r\n"))) {
			cl = (char *)find_nocase(buf, "\r\ncontent-length:");
			want = (size_t)(end + 4 - buf) +
			       (cl && cl < end ? strtoul(cl + 17, NULL, 10)
			                       : 0);
		}
		if (end && len >= want)
			break;
	}
	if (!end)
		return;
	pthread_mutex_lock(&s->mu);
	i = s->n_req < MAX_REQ ? s->n_req++ : -1;
	if (i >= 0) {
		r = &s->req[i];
		snprintf(r->head, sizeof(r->head), "%.*s", (int)(end - buf),
		         buf);
		r->body_len = len - (size_t)(end + 4 - buf);
		r->body = malloc(r->body_len + 1);
		if (r->body) {
			memcpy(r->body, end + 4, r->body_len);
			r->body[r->body_len] = '\0';
		}
	}
	answer = s->answers[i < 0              ? s->n_answers - 1
	                    : i < s->n_answers ? i
	                                       : s->n_answers - 1];
	pthread_mutex_unlock(&s->mu);
	if (s->silent) {
		/* hold the connection until the client gives up */
		struct pollfd p = { c, POLLIN, 0 };

		while (poll(&p, 1, 100) == 0 && !s->stop)
			;
		return;
	}
	if (s->delay_ms)
		nap_ms(s->delay_ms);
	if (write(c, answer, strlen(answer)) < 0)
		return;
}

static void *serve(void *arg)
{
	struct server *s = arg;

	for (;;) {
		struct pollfd p = { s->fd, POLLIN, 0 };
		bool stop;
		int c;

		pthread_mutex_lock(&s->mu);
		stop = s->stop;
		pthread_mutex_unlock(&s->mu);
		if (stop)
			break;
		if (poll(&p, 1, 50) <= 0)
			continue;
		c = accept(s->fd, NULL, NULL);
		if (c < 0)
			continue;
		serve_one(s, c);
		close(c);
	}
	return NULL;
}

#define OK_200 \
	"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok"
#define E_503 \
	"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 4\r\nConnection: close\r\n\r\nbusy"
#define E_404 \
	"HTTP/1.1 404 Not Found\r\nContent-Length: 14\r\nConnection: close\r\n\r\nno_such_hook\r\n"
#define E_429 \
	"HTTP/1.1 429 Too Many Requests\r\nRetry-After: 1\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"

static struct server *server_start(const char *const *answers, int n)
{
	struct server *s = calloc(1, sizeof(*s));
	struct sockaddr_in a;
	socklen_t alen = sizeof(a);
	int i, one = 1;

	assert_non_null(s);
	pthread_mutex_init(&s->mu, NULL);
	for (i = 0; i < n && i < MAX_REQ; i++)
		s->answers[i] = answers[i];
	s->n_answers = n;
	s->fd = socket(AF_INET, SOCK_STREAM, 0);
	assert_true(s->fd >= 0);
	setsockopt(s->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	a.sin_port = 0;
	assert_int_equal(bind(s->fd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(listen(s->fd, 16), 0);
	assert_int_equal(getsockname(s->fd, (struct sockaddr *)&a, &alen), 0);
	s->port = ntohs(a.sin_port);
	assert_int_equal(pthread_create(&s->thread, NULL, serve, s), 0);
	return s;
}

static void server_stop(struct server *s)
{
	int i;

	pthread_mutex_lock(&s->mu);
	s->stop = true;
	pthread_mutex_unlock(&s->mu);
	pthread_join(s->thread, NULL);
	close(s->fd);
	for (i = 0; i < s->n_req; i++)
		free(s->req[i].body);
	pthread_mutex_destroy(&s->mu);
	free(s);
}

static void server_url(char *out, size_t size, const struct server *s,
                       const char *path)
{
	snprintf(out, size, "http://127.0.0.1:%d%s", s->port, path);
}

/* A header's value in a request head, or NULL (a static copy). */
static const char *header(const struct request *r, const char *name)
{
	static char value[512];
	char key[128];
	const char *p;
	size_t n;

	snprintf(key, sizeof(key), "\r\n%s:", name);
	p = find_nocase(r->head, key);
	if (!p)
		return NULL;
	p += strlen(key);
	while (*p == ' ')
		p++;
	n = strcspn(p, "\r\n");
	snprintf(value, sizeof(value), "%.*s", (int)n, p);
	return value;
}

/* "sha256=<hex HMAC-SHA256>" of data under key, with nettle. */
static void hmac_hex(char out[72], const char *key, const void *data,
                     size_t len)
{
	struct hmac_sha256_ctx ctx;
	uint8_t mac[SHA256_DIGEST_SIZE];
	size_t i;

	hmac_sha256_set_key(&ctx, strlen(key), (const uint8_t *)key);
	hmac_sha256_update(&ctx, len, data);
	hmac_sha256_digest(&ctx, sizeof(mac), mac);
	strcpy(out, "sha256=");
	for (i = 0; i < sizeof(mac); i++)
		snprintf(out + 7 + 2 * i, 3, "%02x", mac[i]);
}

/* ---- events
 * ------------------------------------------------------------------ */

static const struct pgw_notify_stage stages[] = {
	{ "check", "ok", 12 },
	{ "backup", "ok", 1500 },
	{ "migrate", "failed", 125000 },
};

static struct pgw_notify_event full_event(void)
{
	struct pgw_notify_event ev;

	memset(&ev, 0, sizeof(ev));
	ev.deploy_id = "20261125T133500Z-4f2a";
	ev.database = "postgres://app:***@db/prod";
	ev.status = "rolled back";
	ev.from_version = "002";
	ev.to_version = "005";
	ev.from_release = "v1.2.0";
	ev.to_release = "v1.3.0";
	ev.backup_uri = "s3://bucket/prod-20261125.tar.zst";
	ev.error = "003_x.sql:4: 'ALTER TABLE a' failed: <lock> & `timeout`";
	ev.stages = stages;
	ev.n_stages = 3;
	return ev;
}

/* The full event sent to a server of the test's that answers `answers`
 * in turn (the last one repeats): opts has the one URL, `path` on it.
 * Sent with pgw_notify_send(&d.ev, &d.opts); server_stop(d.s) after. */
struct delivery {
	struct server *s;
	struct pgw_notify_event ev;
	struct pgw_notify_opts opts;
	char url[256];
	const char *urls[2];
};

static void delivery_start(struct delivery *d, const char *const *answers,
                           int n, const char *path)
{
	const struct pgw_notify_opts opts = PGW_NOTIFY_OPTS_INIT;

	d->s = server_start(answers, n);
	d->ev = full_event();
	d->opts = opts;
	server_url(d->url, sizeof(d->url), d->s, path);
	d->urls[0] = d->url;
	d->urls[1] = NULL;
	d->opts.urls = d->urls;
}

static json_t *parse(const char *text)
{
	json_error_t e;
	json_t *j;

	assert_non_null(text);
	j = json_loads(text, 0, &e);
	if (!j)
		fail_msg("not JSON (%s): %s", e.text, text);
	return j;
}

static const char *jget(json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);

	if (!v)
		fail_msg("no key '%s'", key);
	return json_is_null(v) ? NULL : json_string_value(v);
}

/* ---- bodies -----------------------------------------------------------------
 */

static void test_notify__generic_body(void **state)
{
	struct pgw_notify_event ev = full_event();
	char *text;
	json_t *j, *st;

	(void)state;
	text = pgw_notify_body(&ev, "https://ci.example.com/hooks/deploy");
	j = parse(text);
	free(text);
	assert_string_equal(jget(j, "tool"), "pgward");
	assert_string_equal(jget(j, "tool_version"), PGW_VERSION);
	assert_string_equal(jget(j, "deploy_id"), "20261125T133500Z-4f2a");
	assert_string_equal(jget(j, "database"), "postgres://app:***@db/prod");
	assert_string_equal(jget(j, "status"), "rolled back");
	assert_string_equal(jget(j, "from_version"), "002");
	assert_string_equal(jget(j, "to_version"), "005");
	assert_string_equal(jget(j, "from_release"), "v1.2.0");
	assert_string_equal(jget(j, "to_release"), "v1.3.0");
	assert_string_equal(jget(j, "backup_uri"),
	                    "s3://bucket/prod-20261125.tar.zst");
	/* JSON carries the text as it is: no mrkdwn escaping */
	assert_string_equal(jget(j, "error"), ev.error);
	st = json_object_get(j, "stages");
	assert_true(json_is_array(st));
	assert_int_equal(json_array_size(st), 3);
	assert_string_equal(jget(json_array_get(st, 2), "name"), "migrate");
	assert_string_equal(jget(json_array_get(st, 2), "status"), "failed");
	assert_int_equal(json_integer_value(json_object_get(
	                         json_array_get(st, 2), "duration_ms")),
	                 125000);
	json_decref(j);
}

static void test_notify__generic_body_nulls_and_bad_bytes(void **state)
{
	struct pgw_notify_event ev;
	char *text;
	json_t *j;

	(void)state;
	memset(&ev, 0, sizeof(ev));
	ev.status = "failed";
	/* a server message in LATIN1: not UTF-8 */
	ev.error = "caf\xe9 au lait";
	text = pgw_notify_body(&ev, NULL);
	j = parse(text);
	free(text);
	assert_string_equal(jget(j, "status"), "failed");
	assert_null(jget(j, "deploy_id"));
	assert_null(jget(j, "database"));
	assert_null(jget(j, "from_version"));
	assert_null(jget(j, "backup_uri"));
	assert_true(json_is_null(json_object_get(j, "to_release")));
	assert_string_equal(jget(j, "error"), "caf? au lait");
	assert_int_equal(json_array_size(json_object_get(j, "stages")), 0);
	json_decref(j);
}

static void test_notify__slack_body(void **state)
{
	struct pgw_notify_event ev = full_event();
	const char *summary, *err;
	char *text;
	json_t *j, *blocks;

	(void)state;
	text = pgw_notify_body(&ev,
	                       "https://hooks.slack.com/services/T0/B0/XyZ");
	j = parse(text);
	free(text);
	/* the fallback line, mrkdwn-escaped */
	assert_string_equal(
	        jget(j, "text"),
	        "pgward: deploy of postgres://app:***@db/prod rolled back"
	        " (002 -> 005 (v1.2.0 -> v1.3.0)): 003_x.sql:4: 'ALTER TABLE a'"
	        " failed: &lt;lock&gt; &amp; `timeout`");
	blocks = json_object_get(j, "blocks");
	assert_int_equal(json_array_size(blocks), 2);
	summary = json_string_value(json_object_get(
	        json_object_get(json_array_get(blocks, 0), "text"), "text"));
	assert_non_null(summary);
	assert_non_null(strstr(
	        summary,
	        ":leftwards_arrow_with_hook: *pgward deploy rolled back*"));
	assert_non_null(strstr(summary, "*Deploy:* 20261125T133500Z-4f2a"));
	assert_non_null(
	        strstr(summary, "*Version:* 002 -> 005 (v1.2.0 -> v1.3.0)"));
	/* durations as people read them */
	assert_non_null(strstr(summary,
	                       "*Stages:* check ok 12 ms, backup ok 1.5 s,"
	                       " migrate failed 2 min 5 s"));
	assert_non_null(
	        strstr(summary, "*Backup:* s3://bucket/prod-20261125.tar.zst"));
	err = json_string_value(json_object_get(
	        json_object_get(json_array_get(blocks, 1), "text"), "text"));
	assert_non_null(err);
	/* in the code block backquotes become quotes */
	assert_string_equal(err,
	                    "*Error:*\n```003_x.sql:4: 'ALTER TABLE a' failed:"
	                    " &lt;lock&gt; &amp; 'timeout'```");
	assert_string_equal(jget(json_array_get(blocks, 0), "type"), "section");
	json_decref(j);
}

static void test_notify__slack_chosen_by_host_or_parameter(void **state)
{
	struct pgw_notify_event ev;
	static const char *const slack[] = {
		"https://hooks.slack.com/services/T/B/X",
		"https://HOOKS.SLACK.COM./services/T/B/X",
		"https://user@hooks.slack.com:443/services/T/B/X",
		"https://relay.example/x?a=1&format=slack",
		"https://relay.example/x?FORMAT=SLACK#frag",
	};
	static const char *const generic[] = {
		"https://hooks.slack.com.evil.example/services/T/B/X",
		"https://example.com/hooks.slack.com/x",
		"https://relay.example/x?format=slacker",
		"https://relay.example/x?xformat=slack",
		"https://relay.example/x#format=slack",
	};
	size_t i;

	(void)state;
	memset(&ev, 0, sizeof(ev));
	ev.status = "succeeded";
	for (i = 0; i < sizeof(slack) / sizeof(slack[0]); i++) {
		char *text = pgw_notify_body(&ev, slack[i]);
		json_t *j = parse(text);

		free(text);
		if (!json_object_get(j, "blocks"))
			fail_msg("%s: not Slack's format", slack[i]);
		assert_non_null(strstr(jget(j, "text"), "succeeded"));
		json_decref(j);
	}
	for (i = 0; i < sizeof(generic) / sizeof(generic[0]); i++) {
		char *text = pgw_notify_body(&ev, generic[i]);
		json_t *j = parse(text);

		free(text);
		if (!json_object_get(j, "tool"))
			fail_msg("%s: not the generic format", generic[i]);
		json_decref(j);
	}
}

static void test_notify__slack_body_minimal(void **state)
{
	struct pgw_notify_event ev;
	char *text;
	json_t *j;

	(void)state;
	memset(&ev, 0, sizeof(ev));
	text = pgw_notify_body(&ev, "https://hooks.slack.com/services/T/B/X");
	j = parse(text);
	free(text);
	assert_string_equal(jget(j, "text"), "pgward: deploy unknown");
	/* no error: one block only */
	assert_int_equal(json_array_size(json_object_get(j, "blocks")), 1);
	json_decref(j);
}

/* ---- redaction --------------------------------------------------------------
 */

static void redacts(const char *url, const char *want)
{
	char *got = pgw_notify_redact_url(url);
	char shown[512];

	assert_non_null(got);
	snprintf(shown, sizeof(shown), "%s", got);
	free(got);
	if (strcmp(shown, want) != 0)
		fail_msg("redact '%s' gave '%s', want '%s'", url, shown, want);
}

static void test_notify__redact_url(void **state)
{
	(void)state;
	redacts("https://ci.example.com/hooks/deploy",
	        "https://ci.example.com/hooks/deploy");
	redacts("https://user:pa55@ci.example.com/x",
	        "https://user:***@ci.example.com/x");
	/* without a password the user name may be the token */
	redacts("https://tok3n@ci.example.com/x",
	        "https://***@ci.example.com/x");
	/* an unencoded '@' in the password stays hidden */
	redacts("https://u:p@ss@host/x", "https://u:***@host/x");
	redacts("https://hooks.slack.com/services/T000/B000/XXXX",
	        "https://hooks.slack.com/services/***");
	redacts("https://example.com/x?token=abc&page=2&api_key=k&Signature=s",
	        "https://example.com/x?token=***&page=2&api_key=***&Signature=***");
	redacts("https://example.com/x?a=1&access_code=9",
	        "https://example.com/x?a=1&access_code=***");
	redacts("https://example.com/x#access_token=zzz",
	        "https://example.com/x#***");
	redacts("https://example.com/x#", "https://example.com/x#");
	redacts("http://[::1]:8080/x?secret=s",
	        "http://[::1]:8080/x?secret=***");
	redacts(NULL, "(none)");
	redacts("", "");
}

/* ---- deliveries ------------------------------------------------------------
 */

static void test_notify__hmac_sha256_known_vector(void **state)
{
	char got[72];

	(void)state;
	/* RFC 4231, test case 2 */
	hmac_hex(got, "Jefe", "what do ya want for nothing?", 28);
	assert_string_equal(
	        got,
	        "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}

static void test_notify__signed_post(void **state)
{
	static const char *const answers[] = { OK_200 };
	struct delivery d;
	char want[72], *body;
	int failed;

	(void)state;
	delivery_start(&d, answers, 1, "/deploy?token=abc");
	d.opts.secret = "s3cret-key";
	failed = pgw_notify_send(&d.ev, &d.opts);
	assert_int_equal(failed, 0);
	assert_int_equal(d.s->n_req, 1);
	assert_non_null(
	        strstr(d.s->req[0].head, "POST /deploy?token=abc HTTP/1."));
	assert_string_equal(header(&d.s->req[0], "Content-Type"),
	                    "application/json");
	assert_string_equal(header(&d.s->req[0], "User-Agent"),
	                    "pgward/" PGW_VERSION);
	assert_null(header(&d.s->req[0], "Expect"));
	/* the body is what pgw_notify_body makes, and the signature is the
	 * HMAC of exactly those bytes */
	body = pgw_notify_body(&d.ev, d.url);
	assert_string_equal(d.s->req[0].body, body);
	free(body);
	hmac_hex(want, "s3cret-key", d.s->req[0].body, d.s->req[0].body_len);
	assert_string_equal(header(&d.s->req[0], "X-Pgward-Signature"), want);
	/* the log names the URL redacted */
	assert_non_null(strstr(fixture_log_text(), "?token=***"));
	assert_null(strstr(fixture_log_text(), "token=abc"));
	server_stop(d.s);
}

static void test_notify__unsigned_without_secret(void **state)
{
	static const char *const answers[] = { OK_200 };
	struct delivery d;

	(void)state;
	delivery_start(&d, answers, 1, "/x");
	d.opts.secret = "";
	assert_int_equal(pgw_notify_send(&d.ev, &d.opts), 0);
	assert_int_equal(d.s->n_req, 1);
	assert_null(header(&d.s->req[0], "X-Pgward-Signature"));
	server_stop(d.s);
}

static void test_notify__5xx_retried_then_delivered(void **state)
{
	static const char *const answers[] = { E_503, E_503, OK_200 };
	struct delivery d;
	double t0, took;

	(void)state;
	delivery_start(&d, answers, 3, "/x");
	t0 = fixture_now();
	assert_int_equal(pgw_notify_send(&d.ev, &d.opts), 0);
	took = fixture_now() - t0;
	assert_int_equal(d.s->n_req, 3);
	/* back-off: 250 ms then 500 ms, each jittered to 50-100 % */
	assert_true(took >= 0.37);
	assert_true(took < 2.5);
	assert_non_null(strstr(fixture_log_text(),
	                       "attempt 1 failed (HTTP 503: busy)"));
	assert_non_null(strstr(fixture_log_text(),
	                       "attempt 2 failed (HTTP 503: busy)"));
	assert_null(strstr(fixture_log_text(), "W: "));
	server_stop(d.s);
}

static void test_notify__4xx_fails_at_once(void **state)
{
	static const char *const answers[] = { E_404 };
	struct delivery d;

	(void)state;
	delivery_start(&d, answers, 1, "/x?key=k1");
	assert_int_equal(pgw_notify_send(&d.ev, &d.opts), 1);
	assert_int_equal(d.s->n_req, 1);
	assert_non_null(strstr(fixture_log_text(), "W: cannot notify"));
	assert_non_null(strstr(fixture_log_text(), "/x?key=***: HTTP 404"));
	assert_non_null(strstr(fixture_log_text(), "HTTP 404: no_such_hook"));
	assert_non_null(strstr(fixture_log_text(), "(1 attempt, "));
	assert_null(strstr(fixture_log_text(), "k1"));
	server_stop(d.s);
}

static void test_notify__attempts_bounded(void **state)
{
	static const char *const answers[] = { E_503 };
	struct delivery d;

	(void)state;
	delivery_start(&d, answers, 1, "/x");
	d.opts.max_attempts = 2;
	assert_int_equal(pgw_notify_send(&d.ev, &d.opts), 1);
	assert_int_equal(d.s->n_req, 2);
	assert_non_null(strstr(fixture_log_text(), "(2 attempts, "));
	server_stop(d.s);
}

static void test_notify__retry_after_is_honoured(void **state)
{
	static const char *const answers[] = { E_429, OK_200 };
	struct delivery d;
	double t0, took;

	(void)state;
	delivery_start(&d, answers, 2, "/x");
	t0 = fixture_now();
	assert_int_equal(pgw_notify_send(&d.ev, &d.opts), 0);
	took = fixture_now() - t0;
	assert_int_equal(d.s->n_req, 2);
	/* Retry-After: 1 beats the 125-250 ms back-off */
	assert_true(took >= 0.95);
	assert_non_null(strstr(fixture_log_text(), "again in 1000 ms"));
	server_stop(d.s);
}

static void test_notify__time_bound(void **state)
{
	static const char *const answers[] = { OK_200 };
	struct delivery d;
	double t0, took;

	(void)state;
	delivery_start(&d, answers, 1, "/x");
	d.s->silent = true;
	d.opts.total_timeout_ms = 700;
	t0 = fixture_now();
	assert_int_equal(pgw_notify_send(&d.ev, &d.opts), 1);
	took = fixture_now() - t0;
	assert_true(took >= 0.6);
	assert_true(took < 1.6);
	assert_non_null(strstr(fixture_log_text(), "W: cannot notify"));
	server_stop(d.s);
}

static void test_notify__refused_connection_retried(void **state)
{
	struct pgw_notify_event ev = full_event();
	struct pgw_notify_opts opts = PGW_NOTIFY_OPTS_INIT;
	struct sockaddr_in a;
	socklen_t alen = sizeof(a);
	char url[256];
	const char *urls[2] = { url, NULL };
	int fd;

	(void)state;
	/* a port that was free a moment ago: nobody listens there */
	fd = socket(AF_INET, SOCK_STREAM, 0);
	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &alen), 0);
	close(fd);
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/x", ntohs(a.sin_port));
	opts.urls = urls;
	opts.max_attempts = 2;
	assert_int_equal(pgw_notify_send(&ev, &opts), 1);
	assert_non_null(strstr(fixture_log_text(), "attempt 1 failed"));
	assert_non_null(strstr(fixture_log_text(), "(2 attempts, "));
}

static void test_notify__only_http(void **state)
{
	struct pgw_notify_event ev = full_event();
	struct pgw_notify_opts opts = PGW_NOTIFY_OPTS_INIT;
	const char *urls[] = { "file:///etc/passwd", "ftp://u:pw@h/x", NULL };

	(void)state;
	opts.urls = urls;
	assert_int_equal(pgw_notify_send(&ev, &opts), 2);
	assert_non_null(strstr(fixture_log_text(),
	                       "only http:// and https:// URLs are supported"));
	assert_non_null(strstr(fixture_log_text(), "ftp://u:***@h/x"));
	assert_null(strstr(fixture_log_text(), ":pw@"));
}

static void test_notify__nothing_to_send(void **state)
{
	struct pgw_notify_event ev = full_event();
	struct pgw_notify_opts opts = PGW_NOTIFY_OPTS_INIT;
	const char *none[] = { NULL };

	(void)state;
	assert_int_equal(pgw_notify_send(&ev, NULL), 0);
	assert_int_equal(pgw_notify_send(&ev, &opts), 0);
	opts.urls = none;
	assert_int_equal(pgw_notify_send(&ev, &opts), 0);
	assert_string_equal(fixture_log_text(), "");
}

static void test_notify__urls_in_parallel(void **state)
{
	static const char *const answers[] = { OK_200 };
	struct server *a = server_start(answers, 1);
	struct server *b = server_start(answers, 1);
	static const char *const bad[] = { E_404 };
	struct server *c = server_start(bad, 1);
	struct pgw_notify_event ev = full_event();
	struct pgw_notify_opts opts = PGW_NOTIFY_OPTS_INIT;
	char ua[256], ub[256], uc[256], slack[256];
	const char *urls[5] = { ua, ub, uc, slack, NULL };
	double t0, took;
	json_t *j;

	(void)state;
	a->delay_ms = 600;
	b->delay_ms = 600;
	server_url(ua, sizeof(ua), a, "/a");
	server_url(ub, sizeof(ub), b, "/b?format=slack");
	server_url(uc, sizeof(uc), c, "/c");
	snprintf(slack, sizeof(slack), "mailto:x@example.com");
	opts.urls = urls;
	t0 = fixture_now();
	assert_int_equal(pgw_notify_send(&ev, &opts), 2);
	took = fixture_now() - t0;
	/* two slow answers together take one's time */
	assert_true(took >= 0.55);
	assert_true(took < 1.1);
	assert_int_equal(a->n_req, 1);
	assert_int_equal(b->n_req, 1);
	assert_int_equal(c->n_req, 1);
	/* each URL gets its own format */
	j = parse(a->req[0].body);
	assert_non_null(json_object_get(j, "tool"));
	json_decref(j);
	j = parse(b->req[0].body);
	assert_non_null(json_object_get(j, "blocks"));
	json_decref(j);
	server_stop(a);
	server_stop(b);
	server_stop(c);
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_notify__generic_body),
		T(test_notify__generic_body_nulls_and_bad_bytes),
		T(test_notify__slack_body),
		T(test_notify__slack_chosen_by_host_or_parameter),
		T(test_notify__slack_body_minimal),
		T(test_notify__redact_url),
		T(test_notify__hmac_sha256_known_vector),
		T(test_notify__signed_post),
		T(test_notify__unsigned_without_secret),
		T(test_notify__5xx_retried_then_delivered),
		T(test_notify__4xx_fails_at_once),
		T(test_notify__attempts_bounded),
		T(test_notify__retry_after_is_honoured),
		T(test_notify__time_bound),
		T(test_notify__refused_connection_retried),
		T(test_notify__only_http),
		T(test_notify__nothing_to_send),
		T(test_notify__urls_in_parallel),
	};
#undef T

	return cmocka_run_group_tests(tests, NULL, NULL);
}
