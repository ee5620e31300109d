// SPDX-License-Identifier: MIT
/*
 * whisper/decode/batch_plan.c - the windows of the batched mode: speech
 * regions merged into windows of at most 30 s (faster-whisper's
 * collect_chunks, without its slip of leaving a window's first region out
 * of its metadata), and the map from a time in a window's concatenated
 * audio back to the file (SpeechTimestampsMap).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "whisper/audio/audio.h"
#include "whisper/decode/batch.h"

void wsp_batch_plan_free(struct wsp_batch_plan *p)
{
	if (!p)
		return;
	free(p->pieces);
	free(p->win);
	memset(p, 0, sizeof(*p));
}

int wsp_batch_plan_make(const struct wsp_vad_region *r, int n, size_t max_len,
			struct wsp_batch_plan *p)
{
	size_t count = 0, prev_end = 0;
	int k = 0, w = -1;

	memset(p, 0, sizeof(*p));
	if (n < 0 || (n > 0 && !r) || max_len == 0)
		return -EINVAL;
	for (int i = 0; i < n; i++) {
		if (r[i].end < r[i].start || r[i].start < prev_end)
			return -EINVAL;
		prev_end = r[i].end;
		count += (r[i].end - r[i].start + max_len - 1) / max_len;
	}
	if (count == 0)
		return 0;
	if (count > (size_t)(1 << 30))
		return -EINVAL;
	p->pieces = malloc(count * sizeof(*p->pieces));
	p->win = malloc(count * sizeof(*p->win));
	if (!p->pieces || !p->win) {
		wsp_batch_plan_free(p);
		return -ENOMEM;
	}
	for (int i = 0; i < n; i++) {
		for (size_t s = r[i].start; s < r[i].end; s += max_len) {
			size_t len = r[i].end - s < max_len ? r[i].end - s : max_len;

			if (w < 0 || p->win[w].len + len > max_len) {
				w++;
				p->win[w].first = k;
				p->win[w].n = 0;
				p->win[w].len = 0;
			}
			p->pieces[k].start = s;
			p->pieces[k].len = len;
			p->pieces[k].at = p->win[w].len;
			p->win[w].n++;
			p->win[w].len += len;
			k++;
		}
	}
	p->n_pieces = k;
	p->n_win = w + 1;
	return 0;
}

int wsp_batch_piece_at(const struct wsp_batch_piece *pc, int n, double t, int is_end)
{
	double sample = t * WSP_SAMPLE_RATE;

	for (int i = 0; i < n; i++) {
		double end = (double)(pc[i].at + pc[i].len);

		if (sample < end || (is_end && sample == end))
			return i;
	}
	return n > 0 ? n - 1 : 0;
}

double wsp_batch_file_time(const struct wsp_batch_piece *pc, int n, int i, double t)
{
	double lo, hi, f;

	if (n <= 0)
		return t;
	if (i < 0)
		i = 0;
	if (i >= n)
		i = n - 1;
	f = (double)pc[i].start / WSP_SAMPLE_RATE + t - (double)pc[i].at / WSP_SAMPLE_RATE;
	lo = (double)pc[0].start / WSP_SAMPLE_RATE;
	hi = (double)(pc[n - 1].start + pc[n - 1].len) / WSP_SAMPLE_RATE;
	return f < lo ? lo : f > hi ? hi : f;
}
