/* notify.h - webhooks for a deploy's result: generic JSON or Slack's
 * format, signed with HMAC-SHA256 when a secret is set, retried with
 * back-off and bounded in time.  libcurl is loaded on first use. */
#ifndef PGW_NOTIFY_H
#define PGW_NOTIFY_H

#include <stddef.h>

/* One pipeline stage as reported: { "check", "ok", 12 }. */
struct pgw_notify_stage {
	const char *name;
	const char *status;
	long long duration_ms;
};

/* What happened.  Every string may be NULL except status (NULL is sent
 * as JSON null, or left out of a Slack message). */
struct pgw_notify_event {
	const char *deploy_id;
	const char *database; /* redacted by the caller */
	/* "succeeded", "failed", "rolled back", "nothing to do", ... */
	const char *status;
	const char *from_version, *to_version;
	const char *from_release, *to_release;
	const char *backup_uri;
	const char *error;
	const struct pgw_notify_stage *stages;
	size_t n_stages;
};

struct pgw_notify_opts {
	const char *const *urls; /* NULL-terminated; NULL: none */
	const char *secret;      /* NULL or "": unsigned */
	/* bound on all attempts for one URL, back-off included (0: 10000) */
	int total_timeout_ms;
	int max_attempts; /* attempts per URL (0: 4) */
};
#define PGW_NOTIFY_OPTS_INIT     \
	{                        \
		NULL, NULL, 0, 0 \
	}

#define PGW_NOTIFY_TIMEOUT_MS 10000
#define PGW_NOTIFY_ATTEMPTS 4

/* POST the event to every URL (Content-Type: application/json, User-Agent
 * pgward/VERSION; with a secret, X-Pgward-Signature: sha256=<hex HMAC of
 * the body>).  Connection errors, timeouts, 429 and 5xx are retried with
 * jittered exponential back-off within total_timeout_ms; 2xx is success;
 * anything else fails at once.  Every URL at once, each on a thread of its
 * own: all of them together take one such bound.  Never fails the deploy: returns the
 * number of URLs that could not be notified, 0 when all got it.  Each
 * failure is logged as a warning naming the URL redacted
 * (pgw_notify_redact_url); a missing libcurl is such a failure too. */
int pgw_notify_send(const struct pgw_notify_event *ev,
                    const struct pgw_notify_opts *opts);

/* The body pgw_notify_send() would POST to `url` (Slack's format when its
 * host is hooks.slack.com or it has the query parameter format=slack,
 * generic JSON otherwise).  The caller frees it; NULL when out of memory. */
char *pgw_notify_body(const struct pgw_notify_event *ev, const char *url);

/* `url` fit to show: the password of its user info, the path of a
 * hooks.slack.com URL and the values of query parameters that look like
 * credentials (token, secret, key, sig, ...) become "***".  The caller
 * frees it; NULL when out of memory. */
char *pgw_notify_redact_url(const char *url);

#endif
