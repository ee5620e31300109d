// SPDX-License-Identifier: MIT
/*
 * whisper/vad/vad_map.c - times in the speech-only audio (the regions cut out
 * and joined) back to times in the recording: faster-whisper's
 * SpeechTimestampsMap. Region i ends at chunk_end[i] in the joined audio and
 * has silence_before[i] seconds of the recording cut before it.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "whisper/vad/vad_internal.h"

int wsp_vad_map_init(struct wsp_vad_map *m, const struct wsp_vad_region *r, int n)
{
	size_t prev_end = 0, silent = 0;

	m->chunk_end = NULL;
	m->silence_before = NULL;
	m->n = 0;
	if (n <= 0)
		return 0;
	m->chunk_end = malloc((size_t)n * sizeof(*m->chunk_end));
	m->silence_before = malloc((size_t)n * sizeof(*m->silence_before));
	if (!m->chunk_end || !m->silence_before) {
		wsp_vad_map_release(m);
		return -ENOMEM;
	}
	for (int i = 0; i < n; i++) {
		silent += r[i].start - prev_end;
		prev_end = r[i].end;
		m->chunk_end[i] = r[i].end - silent;
		m->silence_before[i] = (double)silent / 16000.0;
	}
	m->n = n;
	return 0;
}

void wsp_vad_map_release(struct wsp_vad_map *m)
{
	free(m->chunk_end);
	free(m->silence_before);
	m->chunk_end = NULL;
	m->silence_before = NULL;
	m->n = 0;
}

int wsp_vad_map_index(const struct wsp_vad_map *m, double t, int is_end)
{
	long long sample = (long long)(t * 16000.0);  /* Python's int(): toward zero */
	int lo = 0, hi = m->n;

	if (m->n == 0)
		return 0;
	if (is_end && sample >= 0) {
		for (int i = 0; i < m->n; i++)
			if (m->chunk_end[i] == (size_t)sample)
				return i;
	}
	/* bisect.bisect (right): the first end greater than the sample */
	while (lo < hi) {
		int mid = (lo + hi) / 2;

		if (sample >= 0 && m->chunk_end[mid] <= (size_t)sample)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < m->n - 1 ? lo : m->n - 1;
}

double wsp_vad_map_time(const struct wsp_vad_map *m, double t, int index)
{
	char buf[64];

	if (m->n == 0)
		return t;
	if (index < 0)
		index = 0;
	if (index >= m->n)
		index = m->n - 1;
	/* round(x, 2) as Python: correctly rounded from the exact binary value,
	 * which is what printf's %.2f does too */
	snprintf(buf, sizeof(buf), "%.2f", m->silence_before[index] + t);
	return strtod(buf, NULL);
}
