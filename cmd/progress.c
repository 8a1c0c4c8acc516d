/* progress.c - draw core's progress reports: a bar on a terminal, a line
 * every few seconds otherwise (CI logs). */
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cmd.h"

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static bool on_tty;
static double last_draw;

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void human(char *out, size_t cap, double n)
{
	if (n >= 1e6)
		snprintf(out, cap, "%.1fM", n / 1e6);
	else if (n >= 1e4)
		snprintf(out, cap, "%.0fk", n / 1e3);
	else
		snprintf(out, cap, "%.0f", n);
}

/* A bar of 20: '#' for the fraction done (< 0: unknown, all '.'). */
static void fill_bar(char bar[21], double frac)
{
	int i, fill = frac >= 0 ? (int)(frac * 20) : 0;

	for (i = 0; i < 20; i++)
		bar[i] = i < fill ? '#' : '.';
	bar[20] = '\0';
}

/* ", 38.1 MB" when the item counts bytes */
static void megabytes(char *out, size_t cap, unsigned long long bytes)
{
	if (bytes)
		snprintf(out, cap, ", %.1f MB", (double)bytes / 1e6);
	else
		out[0] = '\0';
}

/* An index build: "NAME: PHASE" and a percentage (done < 0: none, it
 * waits for other sessions).  Called with mu held. */
static void draw_index(const struct pgw_progress *p)
{
	const char *colon = strstr(p->item, ": ");
	int name_len = colon ? (int)(colon - p->item) : (int)strlen(p->item);
	char pct[16] = "";

	if (p->done >= 0 && !p->finished)
		snprintf(pct, sizeof(pct), ", %.0f%%", p->done);
	if (on_tty && !p->finished) {
		char bar[21];

		fill_bar(bar, p->done >= 0 ? p->done / 100 : -1);
		fprintf(stderr, "\r\033[K%s %.*s [%s] %s%s", p->task, name_len, p->item,
			bar, colon ? colon + 2 : "", pct);
	} else {
		fprintf(stderr, "%s%s %s%s in %.1f s\n", on_tty ? "\r\033[K" : "",
			p->task, p->item, pct, p->elapsed);
	}
}

static void draw(const struct pgw_progress *p, void *payload)
{
	char done[32], total[32], r[32], mb[32], eta[32] = "", speed[48] = "";
	double t = now_s(), rate = p->elapsed > 0 ? p->done / p->elapsed : 0;
	double frac = p->total > 0 ? p->done / p->total : -1;

	(void)payload;
	if (frac > 1)
		frac = 1;
	/* in a log, a line only for work that takes a while */
	if (!on_tty && !p->finished && p->elapsed < 5)
		return;
	pthread_mutex_lock(&mu);
	if (!p->finished && t - last_draw < (on_tty ? 0.1 : 5)) {
		pthread_mutex_unlock(&mu);
		return;
	}
	last_draw = t;
	if (!strcmp(p->task, "index")) {
		draw_index(p);
		fflush(stderr);
		pthread_mutex_unlock(&mu);
		return;
	}
	human(done, sizeof(done), p->done);
	human(total, sizeof(total), p->total);
	human(r, sizeof(r), rate);
	megabytes(mb, sizeof(mb), p->bytes);
	if (frac >= 0 && rate > 0 && !p->finished)
		snprintf(eta, sizeof(eta), ", ETA %.0f s",
			 (p->total - p->done) / rate > 0 ? (p->total - p->done) / rate : 0);
	/* a rate over a few milliseconds says nothing */
	if (p->elapsed >= 0.1)
		snprintf(speed, sizeof(speed), " (%s rows/s)", r);
	if (on_tty && !p->finished) {
		char bar[21];

		fill_bar(bar, frac);
		fprintf(stderr, "\r\033[K%s %s [%s] %s/%s rows%s, %s rows/s%s",
			p->task, p->item, bar,
			done, p->total > 0 ? total : "?", mb, r, eta);
	} else {
		fprintf(stderr, "%s%s %s: %s rows%s%s%s in %.1f s%s%s\n",
			on_tty ? "\r\033[K" : "", p->task, p->item, done,
			p->finished ? "" : " of about ",
			p->finished ? "" : (p->total > 0 ? total : "?"),
			mb, p->elapsed, speed, p->finished ? "" : eta);
	}
	fflush(stderr);
	pthread_mutex_unlock(&mu);
}

void cmd_progress_install(int verbosity)
{
	if (verbosity < 0)
		return;
	on_tty = isatty(STDERR_FILENO);
	pgw_progress_set_sink(draw, NULL);
}
