/* notify.c - webhooks for a deploy's result, through libcurl, which is
 * loaded with dlopen() on first use: a start that notifies no one maps
 * none of it (nor OpenSSL behind it).  Generic JSON or Slack's format,
 * HMAC-SHA256 signature, retries with jittered back-off, a bound on the
 * time spent per URL, and URLs shown only redacted. */
#include "notify.h"

#include <ctype.h>
#include <dlfcn.h>
#include <limits.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

/* plain prototypes: the type-checking macros would wrap calls through the
 * function table, and dlopen() makes the deprecation marks moot */
#define CURL_DISABLE_TYPECHECK 1
#define CURL_DISABLE_DEPRECATION 1
#include <curl/curl.h>
#include <jansson.h>
#include <nettle/hmac.h>
#include <nettle/sha2.h>

#include "clock.h"
#include "interrupt.h"
#include "pgward.h"

#define CU_SONAME "libcurl.so.4"
#define CU_PACKAGE "libcurl4"
#define USER_AGENT "pgward/" PGW_VERSION
/* back-off before attempt n+1: BASE << (n-1), jittered to 50-100 %,
 * at most MAX */
#define BACKOFF_BASE_MS 250
#define BACKOFF_MAX_MS 4000
/* an attempt with less time than this left is not worth starting */
#define MIN_ATTEMPT_MS 100
/* a Slack section holds at most 3000 characters */
#define SLACK_ERROR_MAX 1500
#define SLACK_TEXT_MAX 200

/* ---- libcurl, loaded on first use ---------------------------------------- */

#define CU_FUNCS(X)           \
	X(curl_global_init)   \
	X(curl_easy_init)     \
	X(curl_easy_setopt)   \
	X(curl_easy_perform)  \
	X(curl_easy_getinfo)  \
	X(curl_easy_cleanup)  \
	X(curl_easy_strerror) \
	X(curl_slist_append)  \
	X(curl_slist_free_all)

/* One typed pointer per libcurl function used, named like it. */
struct cu_api {
#define CU_SLOT(f) __typeof__(f) *f;
	CU_FUNCS(CU_SLOT)
#undef CU_SLOT
};

static struct cu_api cu;
static bool cu_ready;
static char cu_error[256];
static pthread_once_t cu_once = PTHREAD_ONCE_INIT;

static void cu_load_once(void)
{
	static const struct {
		const char *name;
		size_t off;
	} syms[] = {
#define CU_SYM(f) { #f, offsetof(struct cu_api, f) },
		CU_FUNCS(CU_SYM)
#undef CU_SYM
	};
	struct cu_api api;
	const char *why;
	void *h, *p;
	size_t i;

	h = dlopen(CU_SONAME, RTLD_NOW | RTLD_LOCAL);
	if (!h) {
		why = dlerror();
		snprintf(cu_error, sizeof(cu_error), "%s",
		         why ? why : "cannot load " CU_SONAME);
		return;
	}
	for (i = 0; i < sizeof(syms) / sizeof(syms[0]); i++) {
		p = dlsym(h, syms[i].name);
		if (!p) {
			snprintf(cu_error, sizeof(cu_error), "%s has no %s",
			         CU_SONAME, syms[i].name);
			dlclose(h);
			return;
		}
		/* POSIX: a function's address comes back as void * */
		memcpy((char *)&api + syms[i].off, &p, sizeof(p));
	}
	/* once for the process: curl_global_cleanup() is not thread-safe,
	 * and libcurl stays loaded */
	if (api.curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		snprintf(cu_error, sizeof(cu_error), "curl_global_init failed");
		return;
	}
	cu = api;
	cu_ready = true;
}

/* ---- URLs ---------------------------------------------------------------- */

/* The parts of scheme://userinfo@host:port/path?query#fragment that
 * matter here; each is a [start, end) range of the URL, empty when
 * absent.  A string without "://" is all path. */
struct url_parts {
	const char *auth, *auth_end; /* userinfo@host:port */
	const char *user_end;        /* the '@' of the userinfo, or NULL */
	const char *host, *host_end;
	const char *path, *path_end;
	const char *query, *query_end; /* after the '?' */
	const char *frag;              /* after the '#', or NULL */
};

static void url_parse(const char *url, struct url_parts *u)
{
	const char *p = strstr(url, "://"), *q;

	memset(u, 0, sizeof(*u));
	if (p && strcspn(url, ":/?#") == (size_t)(p - url)) {
		u->auth = p + 3;
		u->auth_end = u->auth + strcspn(u->auth, "/?#");
		/* the last '@' ends the userinfo (an unencoded '@' in a
		 * password stays hidden) */
		for (q = u->auth; q < u->auth_end; q++)
			if (*q == '@')
				u->user_end = q;
		u->host = u->user_end ? u->user_end + 1 : u->auth;
		if (*u->host == '[') {
			q = memchr(u->host, ']',
			           (size_t)(u->auth_end - u->host));
			u->host_end = q ? q + 1 : u->auth_end;
		} else {
			q = memchr(u->host, ':',
			           (size_t)(u->auth_end - u->host));
			u->host_end = q ? q : u->auth_end;
		}
		u->path = u->auth_end;
	} else {
		u->path = url;
	}
	u->path_end = u->path + strcspn(u->path, "?#");
	if (*u->path_end == '?') {
		u->query = u->path_end + 1;
		u->query_end = u->query + strcspn(u->query, "#");
	} else {
		u->query = u->query_end = u->path_end;
	}
	if (*u->query_end == '#')
		u->frag = u->query_end + 1;
}

static bool url_is_slack_host(const struct url_parts *u)
{
	static const char slack[] = "hooks.slack.com";
	size_t n;

	if (!u->host)
		return false;
	n = (size_t)(u->host_end - u->host);
	/* a trailing dot names the same host */
	if (n == sizeof(slack) && u->host[n - 1] == '.')
		n--;
	return n == sizeof(slack) - 1 && strncasecmp(u->host, slack, n) == 0;
}

static bool url_wants_slack(const char *url)
{
	struct url_parts u;
	const char *p, *end;
	size_t n;

	url_parse(url, &u);
	if (url_is_slack_host(&u))
		return true;
	for (p = u.query; p < u.query_end; p = end + 1) {
		end = memchr(p, '&', (size_t)(u.query_end - p));
		if (!end)
			end = u.query_end;
		n = (size_t)(end - p);
		if (n == 12 && strncasecmp(p, "format=slack", 12) == 0)
			return true;
	}
	return false;
}

/* Does a query parameter named like this carry a credential? */
static bool param_is_secret(const char *name, size_t n)
{
	static const char *const words[] = { "token", "secret",    "key",
		                             "sig",   "pass",      "auth",
		                             "code",  "credential" };
	char low[64];
	size_t i;

	if (n >= sizeof(low))
		return true; /* a name that long: hide it rather than guess */
	for (i = 0; i < n; i++)
		low[i] = (char)tolower((unsigned char)name[i]);
	low[n] = '\0';
	for (i = 0; i < sizeof(words) / sizeof(words[0]); i++)
		if (strstr(low, words[i]))
			return true;
	return false;
}

char *pgw_notify_redact_url(const char *url)
{
	struct pgw_buf out = PGW_BUF_INIT;
	struct url_parts u;
	const char *p, *end, *eq, *colon, *seg;

	if (!url)
		return strdup("(none)");
	url_parse(url, &u);
	if (u.auth) {
		pgw_buf_put(&out, url, (size_t)(u.auth - url));
		if (u.user_end) {
			colon = memchr(u.auth, ':',
			               (size_t)(u.user_end - u.auth));
			/* without a password, the user name may be the token */
			if (colon)
				pgw_buf_put(&out, u.auth,
				            (size_t)(colon - u.auth));
			pgw_buf_puts(&out, colon ? ":***@" : "***@");
		}
		pgw_buf_put(&out, u.host, (size_t)(u.auth_end - u.host));
	}
	if (url_is_slack_host(&u) && u.path + 1 < u.path_end) {
		/* /services/T000/B000/XXXX: all but the first segment is the
		 * token */
		seg = memchr(u.path + 1, '/',
		             (size_t)(u.path_end - u.path - 1));
		pgw_buf_put(&out, u.path,
		            (size_t)((seg ? seg : u.path_end) - u.path));
		if (seg)
			pgw_buf_puts(&out, "/***");
	} else {
		pgw_buf_put(&out, u.path, (size_t)(u.path_end - u.path));
	}
	if (*u.path_end == '?') {
		pgw_buf_putc(&out, '?');
		for (p = u.query; p <= u.query_end; p = end + 1) {
			end = memchr(p, '&', (size_t)(u.query_end - p));
			if (!end)
				end = u.query_end;
			eq = memchr(p, '=', (size_t)(end - p));
			if (eq && param_is_secret(p, (size_t)(eq - p))) {
				pgw_buf_put(&out, p, (size_t)(eq - p));
				pgw_buf_puts(&out, "=***");
			} else {
				pgw_buf_put(&out, p, (size_t)(end - p));
			}
			if (end == u.query_end)
				break;
			pgw_buf_putc(&out, '&');
		}
	}
	/* never sent, but may hold an access token */
	if (u.frag)
		pgw_buf_puts(&out, *u.frag ? "#***" : "#");
	return pgw_buf_detach(&out);
}

/* ---- bodies -------------------------------------------------------------- */

/* A JSON string for s (null for NULL); bytes that are not UTF-8 (a server
 * message in LATIN1) become '?'.  NULL when out of memory. */
static json_t *jstr(const char *s)
{
	json_t *j;
	char *copy;
	size_t i;

	if (!s)
		return json_null();
	j = json_string(s);
	if (j)
		return j;
	copy = strdup(s);
	if (!copy)
		return NULL;
	for (i = 0; copy[i]; i++)
		if ((unsigned char)copy[i] >= 0x80)
			copy[i] = '?';
	j = json_string(copy);
	free(copy);
	return j;
}

/* Set key to v (stolen); false when out of memory. */
static bool jset(json_t *o, const char *key, json_t *v)
{
	return v && json_object_set_new(o, key, v) == 0;
}

static char *body_generic(const struct pgw_notify_event *ev)
{
	json_t *o = json_object(), *stages = json_array(), *st;
	char *text = NULL;
	bool ok = o && stages;
	size_t i;

	ok = ok && jset(o, "tool", json_string("pgward"));
	ok = ok && jset(o, "tool_version", json_string(PGW_VERSION));
	ok = ok && jset(o, "deploy_id", jstr(ev->deploy_id));
	ok = ok && jset(o, "database", jstr(ev->database));
	ok = ok && jset(o, "status", jstr(ev->status));
	ok = ok && jset(o, "from_version", jstr(ev->from_version));
	ok = ok && jset(o, "to_version", jstr(ev->to_version));
	ok = ok && jset(o, "from_release", jstr(ev->from_release));
	ok = ok && jset(o, "to_release", jstr(ev->to_release));
	ok = ok && jset(o, "backup_uri", jstr(ev->backup_uri));
	ok = ok && jset(o, "error", jstr(ev->error));
	for (i = 0; ok && i < ev->n_stages; i++) {
		st = json_object();
		ok = st && json_array_append_new(stages, st) == 0;
		ok = ok && jset(st, "name", jstr(ev->stages[i].name));
		ok = ok && jset(st, "status", jstr(ev->stages[i].status));
		ok = ok && jset(st, "duration_ms",
		                json_integer(ev->stages[i].duration_ms));
	}
	if (ok && json_object_set(o, "stages", stages) == 0)
		text = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(stages);
	json_decref(o);
	return text;
}

/* Up to max bytes of s, cut at a character boundary, "..." when cut. */
static void put_cut(struct pgw_buf *b, const char *s, size_t max)
{
	size_t n = strlen(s);

	if (n <= max) {
		pgw_buf_put(b, s, n);
		return;
	}
	while (max > 0 && ((unsigned char)s[max] & 0xC0) == 0x80)
		max--;
	pgw_buf_put(b, s, max);
	pgw_buf_puts(b, "...");
}

/* Slack's mrkdwn: only &, < and > are special (and ``` in a code block,
 * so backquotes become quotes there). */
static void put_mrkdwn(struct pgw_buf *b, const char *s, size_t max, bool code)
{
	struct pgw_buf cut = PGW_BUF_INIT;
	const char *p;

	put_cut(&cut, s, max);
	for (p = cut.ptr; *p; p++) {
		if (*p == '&')
			pgw_buf_puts(b, "&amp;");
		else if (*p == '<')
			pgw_buf_puts(b, "&lt;");
		else if (*p == '>')
			pgw_buf_puts(b, "&gt;");
		else if (code && *p == '`')
			pgw_buf_putc(b, '\'');
		else
			pgw_buf_putc(b, *p);
	}
	if (pgw_buf_oom(&cut))
		b->oom = true;
	pgw_buf_release(&cut);
}

static void put_duration(struct pgw_buf *b, long long ms)
{
	if (ms < 0)
		pgw_buf_puts(b, "-");
	else if (ms < 1000)
		pgw_buf_printf(b, "%lld ms", ms);
	else if (ms < 60000)
		pgw_buf_printf(b, "%.1f s", (double)ms / 1000.0);
	else
		pgw_buf_printf(b, "%lld min %lld s", ms / 60000,
		               ms % 60000 / 1000);
}

static const char *status_emoji(const char *status)
{
	if (!status)
		return ":grey_question:";
	if (!strcmp(status, "succeeded"))
		return ":white_check_mark:";
	if (!strcmp(status, "nothing to do"))
		return ":information_source:";
	if (!strcmp(status, "rolled back"))
		return ":leftwards_arrow_with_hook:";
	return ":x:";
}

/* "3 -> 5 (v1.2 -> v1.3)", or nothing when no version is known. */
static void put_versions(struct pgw_buf *b, const struct pgw_notify_event *ev)
{
	if (ev->from_version || ev->to_version) {
		put_mrkdwn(b, ev->from_version ? ev->from_version : "none", 200,
		           false);
		pgw_buf_puts(b, " -> ");
		put_mrkdwn(b, ev->to_version ? ev->to_version : "none", 200,
		           false);
	}
	if (ev->from_release || ev->to_release) {
		pgw_buf_puts(b,
		             ev->from_version || ev->to_version ? " (" : "(");
		put_mrkdwn(b, ev->from_release ? ev->from_release : "none", 200,
		           false);
		pgw_buf_puts(b, " -> ");
		put_mrkdwn(b, ev->to_release ? ev->to_release : "none", 200,
		           false);
		pgw_buf_putc(b, ')');
	}
}

static char *body_slack(const struct pgw_notify_event *ev)
{
	struct pgw_buf text = PGW_BUF_INIT, summary = PGW_BUF_INIT;
	struct pgw_buf err = PGW_BUF_INIT, versions = PGW_BUF_INIT;
	const char *status = ev->status ? ev->status : "unknown";
	json_t *o = json_object(), *blocks = json_array(), *blk, *t;
	char *out = NULL;
	bool ok;
	size_t i;

	put_versions(&versions, ev);

	/* the fallback line: notifications and clients without blocks */
	pgw_buf_puts(&text, "pgward: deploy");
	if (ev->database) {
		pgw_buf_puts(&text, " of ");
		put_mrkdwn(&text, ev->database, 200, false);
	}
	pgw_buf_puts(&text, " ");
	put_mrkdwn(&text, status, 100, false);
	if (versions.len)
		pgw_buf_printf(&text, " (%s)", versions.ptr);
	if (ev->error) {
		pgw_buf_puts(&text, ": ");
		put_mrkdwn(&text, ev->error, SLACK_TEXT_MAX, false);
	}

	pgw_buf_printf(&summary, "%s *pgward deploy ",
	               status_emoji(ev->status));
	put_mrkdwn(&summary, status, 100, false);
	pgw_buf_puts(&summary, "*");
	if (ev->database) {
		pgw_buf_puts(&summary, "\n*Database:* ");
		put_mrkdwn(&summary, ev->database, 200, false);
	}
	if (ev->deploy_id) {
		pgw_buf_puts(&summary, "\n*Deploy:* ");
		put_mrkdwn(&summary, ev->deploy_id, 100, false);
	}
	if (versions.len)
		pgw_buf_printf(&summary, "\n*Version:* %s", versions.ptr);
	if (ev->n_stages) {
		pgw_buf_puts(&summary, "\n*Stages:*");
		for (i = 0; i < ev->n_stages && i < 20; i++) {
			pgw_buf_puts(&summary, i ? ", " : " ");
			put_mrkdwn(&summary,
			           ev->stages[i].name ? ev->stages[i].name
			                              : "?",
			           40, false);
			pgw_buf_putc(&summary, ' ');
			put_mrkdwn(&summary,
			           ev->stages[i].status ? ev->stages[i].status
			                                : "?",
			           40, false);
			pgw_buf_putc(&summary, ' ');
			put_duration(&summary, ev->stages[i].duration_ms);
		}
	}
	if (ev->backup_uri) {
		pgw_buf_puts(&summary, "\n*Backup:* ");
		put_mrkdwn(&summary, ev->backup_uri, 300, false);
	}
	if (ev->error) {
		pgw_buf_puts(&err, "*Error:*\n```");
		put_mrkdwn(&err, ev->error, SLACK_ERROR_MAX, true);
		pgw_buf_puts(&err, "```");
	}

	ok = o && blocks && !pgw_buf_oom(&text) && !pgw_buf_oom(&summary) &&
	     !pgw_buf_oom(&err) && !pgw_buf_oom(&versions);
	ok = ok && jset(o, "text", jstr(text.ptr));
	for (i = 0; ok && i < 2; i++) {
		if (i == 1 && !err.len)
			break;
		blk = json_object();
		t = json_object();
		ok = blk && t && json_array_append_new(blocks, blk) == 0;
		ok = ok && jset(blk, "type", json_string("section"));
		ok = ok && json_object_set(blk, "text", t) == 0;
		ok = ok && jset(t, "type", json_string("mrkdwn"));
		ok = ok && jset(t, "text", jstr(i ? err.ptr : summary.ptr));
		json_decref(t);
	}
	if (ok && json_object_set(o, "blocks", blocks) == 0)
		out = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(blocks);
	json_decref(o);
	pgw_buf_release(&text);
	pgw_buf_release(&summary);
	pgw_buf_release(&err);
	pgw_buf_release(&versions);
	return out;
}

char *pgw_notify_body(const struct pgw_notify_event *ev, const char *url)
{
	if (url && url_wants_slack(url))
		return body_slack(ev);
	return body_generic(ev);
}

/* ---- sending ------------------------------------------------------------- */

/* "sha256=<hex HMAC-SHA256 of body under secret>" */
static void signature(char out[8 + 2 * SHA256_DIGEST_SIZE], const char *secret,
                      const char *body)
{
	struct hmac_sha256_ctx ctx;
	uint8_t mac[SHA256_DIGEST_SIZE];
	size_t i;

	hmac_sha256_set_key(&ctx, strlen(secret), (const uint8_t *)secret);
	hmac_sha256_update(&ctx, strlen(body), (const uint8_t *)body);
	hmac_sha256_digest(&ctx, sizeof(mac), mac);
	memcpy(out, "sha256=", 7);
	for (i = 0; i < sizeof(mac); i++)
		snprintf(out + 7 + 2 * i, 3, "%02x", mac[i]);
	memset(&ctx, 0, sizeof(ctx));
}

/* The start of the response body, kept for the message of a refusal. */
struct reply {
	char text[160];
	size_t len;
};

static size_t on_reply(char *data, size_t size, size_t n, void *payload)
{
	struct reply *r = payload;
	size_t take = size * n;

	if (take > sizeof(r->text) - 1 - r->len)
		take = sizeof(r->text) - 1 - r->len;
	memcpy(r->text + r->len, data, take);
	r->len += take;
	r->text[r->len] = '\0';
	return size * n; /* the rest is read and dropped */
}

/* The server's answer, if it is a short plain message ("invalid_token",
 * "Not Found"): something that might echo the URL's token (a long word)
 * is not shown. */
static const char *reply_note(struct reply *r)
{
	size_t i, word = 0;
	char *s = r->text;

	while (r->len && isspace((unsigned char)s[r->len - 1]))
		s[--r->len] = '\0';
	while (isspace((unsigned char)*s))
		s++;
	if (!*s || strlen(s) > 100)
		return NULL;
	for (i = 0; s[i]; i++) {
		if (!isprint((unsigned char)s[i]))
			return NULL;
		word = isalnum((unsigned char)s[i]) ? word + 1 : 0;
		if (word >= 20)
			return NULL;
	}
	return s;
}

/* Is a transport error worth another attempt?  Not when the URL or the
 * TLS set-up is wrong: that will not change in a second. */
static bool transient(CURLcode rc)
{
	switch (rc) {
	case CURLE_UNSUPPORTED_PROTOCOL:
	case CURLE_URL_MALFORMAT:
	case CURLE_NOT_BUILT_IN:
	case CURLE_OUT_OF_MEMORY:
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_CERTPROBLEM:
	case CURLE_SSL_CIPHER:
	case CURLE_SSL_CACERT_BADFILE:
	case CURLE_SSL_ENGINE_NOTFOUND:
	case CURLE_LOGIN_DENIED:
	case CURLE_TOO_MANY_REDIRECTS:
		return false;
	default:
		return true;
	}
}

static long long ms_left(double deadline)
{
	return (long long)((deadline - pgw_clock_now()) * 1000.0);
}

/* One URL: attempts until success, a final answer, max_attempts or the
 * deadline.  0 when delivered; the reason otherwise, in why. */
static int post_one(const char *url, const char *body,
                    struct curl_slist *headers, int total_ms, int max_attempts,
                    const char *shown, char *why, size_t why_size)
{
	double start = pgw_clock_now(), deadline = start + total_ms / 1000.0;
	char errbuf[CURL_ERROR_SIZE];
	long long left, delay, cap;
	struct reply reply;
	curl_off_t after;
	const char *note;
	bool retry;
	CURLcode rc;
	long code;
	CURL *h;
	int attempt;
	/* seeded per process: replicas notifying at once do not retry in
	 * step */
	unsigned seed = (unsigned)(unsigned long long)(start * 1e6) ^
	                (unsigned)getpid();

	for (attempt = 1;; attempt++) {
		/* 0 would mean no limit at all */
		left = ms_left(deadline);
		if (left < 1)
			left = 1;
		h = cu.curl_easy_init();
		if (!h) {
			snprintf(why, why_size, "cannot start libcurl");
			return -1;
		}
		errbuf[0] = '\0';
		memset(&reply, 0, sizeof(reply));
		cu.curl_easy_setopt(h, CURLOPT_URL, url);
		cu.curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
		cu.curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
		cu.curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE,
		                    (long)strlen(body));
		cu.curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers);
		cu.curl_easy_setopt(h, CURLOPT_USERAGENT, USER_AGENT);
		cu.curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
		cu.curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
		cu.curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, (long)left);
		cu.curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, (long)left);
		cu.curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
		cu.curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_reply);
		cu.curl_easy_setopt(h, CURLOPT_WRITEDATA, &reply);
		rc = cu.curl_easy_perform(h);
		code = 0;
		after = -1;
		if (rc == CURLE_OK) {
			cu.curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code);
			if (cu.curl_easy_getinfo(h, CURLINFO_RETRY_AFTER,
			                         &after) != CURLE_OK)
				after = -1;
		}
		cu.curl_easy_cleanup(h);

		if (rc == CURLE_OK && code >= 200 && code < 300) {
			pgw_log_info("notified %s (HTTP %ld)", shown, code);
			return 0;
		}
		if (rc == CURLE_OK) {
			note = reply_note(&reply);
			snprintf(why, why_size, "HTTP %ld%s%s", code,
			         note ? ": " : "", note ? note : "");
			retry = code == 429 || code >= 500;
		} else {
			/* the error buffer has the detail ("Failed to connect
			 * to 127.0.0.1 port 9 after 0 ms: Connection
			 * refused"); it never holds the path or query */
			snprintf(why, why_size, "%s",
			         errbuf[0] ? errbuf
			                   : cu.curl_easy_strerror(rc));
			retry = transient(rc);
		}
		if (!retry || attempt >= max_attempts)
			break;
		if (pgw_interrupted()) {
			/* the run is being stopped: the result goes out
			 * once, nothing waits */
			break;
		}
		cap = (long long)BACKOFF_BASE_MS << (attempt - 1);
		if (cap > BACKOFF_MAX_MS)
			cap = BACKOFF_MAX_MS;
		delay = cap / 2 + rand_r(&seed) % (cap / 2 + 1);
		if (after > 0 && after * 1000 > delay)
			delay = after * 1000;
		if (ms_left(deadline) - delay < MIN_ATTEMPT_MS) {
			snprintf(why + strlen(why), why_size - strlen(why),
			         "; no time left for attempt %d", attempt + 1);
			break;
		}
		pgw_log_info(
		        "notify %s: attempt %d failed (%s), again in %lld ms",
		        shown, attempt, why, delay);
		pgw_clock_sleep(delay / 1000.0);
	}
	snprintf(why + strlen(why), why_size - strlen(why),
	         " (%d attempt%s, %.1f s)", attempt, attempt == 1 ? "" : "s",
	         pgw_clock_now() - start);
	return -1;
}

static bool http_url(const char *url)
{
	return !strncasecmp(url, "http://", 7) ||
	       !strncasecmp(url, "https://", 8);
}

/* One URL's delivery, on a thread of its own. */
struct delivery {
	const struct pgw_notify_event *ev;
	const struct pgw_notify_opts *opts;
	const char *url;
	int total_ms, attempts;
	bool failed;
	pthread_t thread;
};

static void *deliver(void *arg)
{
	struct delivery *dv = arg;
	const struct pgw_notify_opts *opts = dv->opts;
	char sig[32 + 8 + 2 * SHA256_DIGEST_SIZE], why[1024];
	struct curl_slist *headers = NULL, *more;
	char *shown = pgw_notify_redact_url(dv->url), *body = NULL;

	if (!http_url(dv->url)) {
		snprintf(why, sizeof(why),
		         "only http:// and https:// URLs are supported");
		goto failed;
	}
	pthread_once(&cu_once, cu_load_once);
	if (!cu_ready) {
		snprintf(
		        why, sizeof(why),
		        "libcurl is not available (%s); install the Debian package %s (apt-get install %s)",
		        cu_error, CU_PACKAGE, CU_PACKAGE);
		goto failed;
	}
	body = pgw_notify_body(dv->ev, dv->url);
	if (!body) {
		snprintf(why, sizeof(why), "out of memory");
		goto failed;
	}
	/* no "Expect: 100-continue" round trip for larger bodies */
	headers = cu.curl_slist_append(NULL, "Content-Type: application/json");
	more = headers ? cu.curl_slist_append(headers, "Expect:") : NULL;
	if (more && opts->secret && *opts->secret) {
		memcpy(sig, "X-Pgward-Signature: ", 20);
		signature(sig + 20, opts->secret, body);
		more = cu.curl_slist_append(headers, sig);
		memset(sig, 0, sizeof(sig));
	}
	if (!more) {
		snprintf(why, sizeof(why), "out of memory");
		goto failed;
	}
	if (post_one(dv->url, body, headers, dv->total_ms, dv->attempts,
	             shown ? shown : "(URL)", why, sizeof(why)) == 0)
		goto done;
failed:
	pgw_log_warn("cannot notify %s: %s", shown ? shown : "(URL)", why);
	dv->failed = true;
done:
	if (headers)
		cu.curl_slist_free_all(headers);
	free(body);
	free(shown);
	return NULL;
}

int pgw_notify_send(const struct pgw_notify_event *ev,
                    const struct pgw_notify_opts *opts)
{
	struct delivery *dv;
	size_t n = 0, i;
	int failed = 0;

	if (!opts || !opts->urls)
		return 0;
	while (opts->urls[n])
		n++;
	dv = calloc(n ? n : 1, sizeof(*dv));
	if (!dv) {
		pgw_log_warn("cannot notify: out of memory");
		return (int)n;
	}
	/* every URL at once: the whole notification takes one URL's time
	 * bound, not the sum (a cancelled CI job gets SIGTERM 7.5 s after
	 * SIGINT) */
	for (i = 0; i < n; i++) {
		dv[i].ev = ev;
		dv[i].opts = opts;
		dv[i].url = opts->urls[i];
		dv[i].total_ms = opts->total_timeout_ms > 0
		                         ? opts->total_timeout_ms
		                         : PGW_NOTIFY_TIMEOUT_MS;
		dv[i].attempts = opts->max_attempts > 0 ? opts->max_attempts
		                                        : PGW_NOTIFY_ATTEMPTS;
		if (pthread_create(&dv[i].thread, NULL, deliver, &dv[i]) != 0) {
			/* no thread: deliver it here */
			deliver(&dv[i]);
			dv[i].thread = pthread_self();
		}
	}
	for (i = 0; i < n; i++) {
		if (!pthread_equal(dv[i].thread, pthread_self()))
			pthread_join(dv[i].thread, NULL);
		failed += dv[i].failed;
	}
	free(dv);
	return failed;
}
