/* SPDX-License-Identifier: MIT */
/*
 * tools/amanuensis/progress.c - one progress line on stderr for all the files in
 * flight: a bar over the seconds of audio transcribed so far, files done,
 * and the speed against real time. Drawn only on a terminal, at most ten
 * times a second, and only once some file is longer than one window.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tools/amanuensis/cli.h"

#define LONG_FILE_S 30.0   /* one Whisper window: shorter files finish before a bar helps */
#define REDRAW_NS 100000000LL
#define BAR_WIDTH 30

struct file_progress {
	double done_s, total_s;
	int finished;
};

struct cli_progress {
	pthread_mutex_t lock;
	int enabled;       /* stderr is a terminal and not --quiet */
	int shown;         /* a long file was seen: the bar is in use */
	int drawn;         /* the bar is on the screen now */
	int n_files, n_finished;
	long long start_ns, last_ns;
	struct file_progress *files;
};

static long long now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

struct cli_progress *cli_progress_new(int n_files, int enabled)
{
	struct cli_progress *p = calloc(1, sizeof(*p));

	if (!p)
		return NULL;
	p->files = calloc((size_t)n_files, sizeof(*p->files));
	if (!p->files) {
		free(p);
		return NULL;
	}
	pthread_mutex_init(&p->lock, NULL);
	p->enabled = enabled;
	p->n_files = n_files;
	p->start_ns = now_ns();
	return p;
}

static void erase(struct cli_progress *p)
{
	if (p->drawn) {
		fputs("\r\033[K", stderr);
		p->drawn = 0;
	}
}

/* draw - the bar over every file that reported so far; lock held. */
static void draw(struct cli_progress *p)
{
	double done = 0, total = 0, frac, elapsed;
	char bar[BAR_WIDTH + 1];
	int i, fill;

	if (!p->enabled || !p->shown)
		return;
	for (i = 0; i < p->n_files; i++) {
		done += p->files[i].done_s;
		total += p->files[i].total_s;
	}
	frac = total > 0 ? done / total : 0;
	if (frac > 1)
		frac = 1;
	fill = (int)(frac * BAR_WIDTH + 0.5);
	memset(bar, '#', (size_t)fill);
	memset(bar + fill, '.', (size_t)(BAR_WIDTH - fill));
	bar[BAR_WIDTH] = '\0';
	elapsed = (now_ns() - p->start_ns) / 1e9;
	fprintf(stderr, "\r\033[K[%s] %3d%%  %.0f/%.0f s audio  %d/%d files",
		bar, (int)(frac * 100), done, total, p->n_finished, p->n_files);
	if (elapsed > 0.5 && done > 0)
		fprintf(stderr, "  %.1fx realtime", done / elapsed);
	fflush(stderr);
	p->drawn = 1;
	p->last_ns = now_ns();
}

void cli_progress_update(struct cli_progress *p, int slot, double done_s, double total_s)
{
	if (!p || slot < 0 || slot >= p->n_files)
		return;
	pthread_mutex_lock(&p->lock);
	p->files[slot].done_s = done_s;
	p->files[slot].total_s = total_s;
	if (total_s > LONG_FILE_S)
		p->shown = 1;
	if (now_ns() - p->last_ns >= REDRAW_NS)
		draw(p);
	pthread_mutex_unlock(&p->lock);
}

void cli_progress_file_done(struct cli_progress *p, int slot)
{
	if (!p || slot < 0 || slot >= p->n_files)
		return;
	pthread_mutex_lock(&p->lock);
	if (!p->files[slot].finished) {
		p->files[slot].finished = 1;
		p->n_finished++;
		if (p->files[slot].total_s > 0)
			p->files[slot].done_s = p->files[slot].total_s;
	}
	draw(p);
	pthread_mutex_unlock(&p->lock);
}

void cli_progress_lock(struct cli_progress *p)
{
	if (!p)
		return;
	pthread_mutex_lock(&p->lock);
	erase(p);
}

void cli_progress_unlock(struct cli_progress *p)
{
	if (!p)
		return;
	fflush(stdout);
	draw(p);
	pthread_mutex_unlock(&p->lock);
}

void cli_progress_free(struct cli_progress *p)
{
	if (!p)
		return;
	erase(p);
	fflush(stderr);
	pthread_mutex_destroy(&p->lock);
	free(p->files);
	free(p);
}
