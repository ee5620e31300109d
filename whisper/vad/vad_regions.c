// SPDX-License-Identifier: MIT
/*
 * whisper/vad/vad_regions.c - speech regions from per-chunk probabilities,
 * rule for rule faster-whisper's get_speech_timestamps() (itself Silero's):
 *
 * - a chunk at or above threshold starts a region; once in one, chunks
 *   below neg_threshold count as silence and a silence of
 *   min_silence_duration_ms ends it at the silence's start;
 * - a region longer than max_speech_duration_s (less one chunk and both
 *   pads) is cut at the start of its last silence of more than 98 ms, or
 *   where it stands when there was none;
 * - regions of min_speech_duration_ms or less are dropped;
 * - each region is padded by speech_pad_ms, and two regions closer than two
 *   pads share the gap between them half and half.
 *
 * Arithmetic follows Python's: sample counts derived from milliseconds are
 * doubles, the probabilities are compared with the thresholds in float32
 * (NumPy 2 compares a float32 with a Python float in float32), and the pads
 * are truncated to whole samples where faster-whisper calls int().
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "whisper/vad/vad_internal.h"

/* A region while it is made: starts and ends as Python holds them. */
struct reg {
	long long start, end;
};

struct regs {
	struct reg *r;
	int n, cap;
};

static int push(struct regs *rs, long long start, long long end)
{
	if (rs->n == rs->cap) {
		int cap = rs->cap ? rs->cap * 2 : 16;
		struct reg *p = realloc(rs->r, (size_t)cap * sizeof(*p));

		if (!p)
			return -ENOMEM;
		rs->r = p;
		rs->cap = cap;
	}
	rs->r[rs->n].start = start;
	rs->r[rs->n].end = end;
	rs->n++;
	return 0;
}

/* Python's a // b for integers (floor division). */
static long long floordiv(long long a, long long b)
{
	long long q = a / b;

	return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

int wsp_vad_regions_from_probs(const float *probs, size_t n_probs, size_t n_samples,
			       const struct wsp_vad_opts *opts, struct wsp_vad_region **out,
			       int *n_out, char *err, size_t errlen)
{
	const double sr = 16000.0, win = WSP_VAD_CHUNK;
	struct wsp_vad_opts def;
	struct regs rs = { 0 };
	double min_speech, pad, max_speech, min_silence, min_silence_at_max;
	float thr, neg;
	long long temp_end = 0, prev_end = 0, next_start = 0, cur_start = 0;
	long long len = (long long)n_samples;
	int triggered = 0, have_cur = 0, ret;

	if (!out || !n_out || (!probs && n_probs)) {
		snprintf(err, errlen, "wsp_vad_regions: invalid arguments");
		return -EINVAL;
	}
	*out = NULL;
	*n_out = 0;
	if (!opts) {
		wsp_vad_opts_default(&def);
		opts = &def;
	}
	ret = wsp_vad_opts_check(opts, err, errlen);
	if (ret)
		return ret;
	min_speech = sr * opts->min_speech_duration_ms / 1000.0;
	pad = sr * opts->speech_pad_ms / 1000.0;
	max_speech = opts->max_speech_duration_s > 0.0 && isfinite(opts->max_speech_duration_s) ?
		     sr * opts->max_speech_duration_s - win - 2.0 * pad : INFINITY;
	min_silence = sr * opts->min_silence_duration_ms / 1000.0;
	min_silence_at_max = sr * 98.0 / 1000.0;
	/* the float32 probabilities meet the thresholds in float32 */
	thr = (float)opts->threshold;
	neg = (float)(opts->neg_threshold < 0.0 ? fmax(opts->threshold - 0.15, 0.01) :
		      opts->neg_threshold);

	for (size_t i = 0; i < n_probs; i++) {
		const float p = probs[i];
		const long long at = (long long)(WSP_VAD_CHUNK * i);

		if (p >= thr && temp_end) {
			temp_end = 0;
			if (next_start < prev_end)
				next_start = at;
		}
		if (p >= thr && !triggered) {
			triggered = 1;
			have_cur = 1;
			cur_start = at;
			continue;
		}
		if (triggered && (double)(at - cur_start) > max_speech) {
			if (prev_end) {
				ret = push(&rs, cur_start, prev_end);
				if (ret)
					goto fail;
				have_cur = 0;
				/* reached silence before and is still not speech */
				if (next_start < prev_end) {
					triggered = 0;
				} else {
					have_cur = 1;
					cur_start = next_start;
				}
				prev_end = next_start = temp_end = 0;
			} else {
				ret = push(&rs, cur_start, at);
				if (ret)
					goto fail;
				have_cur = 0;
				prev_end = next_start = temp_end = 0;
				triggered = 0;
				continue;
			}
		}
		if (p < neg && triggered) {
			if (!temp_end)
				temp_end = at;
			/* do not cut in a very short silence */
			if ((double)(at - temp_end) > min_silence_at_max)
				prev_end = temp_end;
			if ((double)(at - temp_end) < min_silence)
				continue;
			if ((double)(temp_end - cur_start) > min_speech) {
				ret = push(&rs, cur_start, temp_end);
				if (ret)
					goto fail;
			}
			have_cur = 0;
			prev_end = next_start = temp_end = 0;
			triggered = 0;
			continue;
		}
	}
	if (have_cur && (double)(len - cur_start) > min_speech) {
		ret = push(&rs, cur_start, len);
		if (ret)
			goto fail;
	}

	for (int i = 0; i < rs.n; i++) {
		struct reg *s = &rs.r[i];

		if (i == 0)
			s->start = (long long)fmax(0.0, (double)s->start - pad);
		if (i != rs.n - 1) {
			struct reg *nx = &rs.r[i + 1];
			long long gap = nx->start - s->end;

			if ((double)gap < 2.0 * pad) {
				s->end += floordiv(gap, 2);
				nx->start = nx->start - floordiv(gap, 2);
				if (nx->start < 0)
					nx->start = 0;
			} else {
				s->end = (long long)fmin((double)len, (double)s->end + pad);
				nx->start = (long long)fmax(0.0, (double)nx->start - pad);
			}
		} else {
			s->end = (long long)fmin((double)len, (double)s->end + pad);
		}
	}
	if (rs.n > 0) {
		*out = malloc((size_t)rs.n * sizeof(**out));
		if (!*out) {
			ret = -ENOMEM;
			goto fail;
		}
		for (int i = 0; i < rs.n; i++) {
			(*out)[i].start = (size_t)rs.r[i].start;
			(*out)[i].end = (size_t)rs.r[i].end;
		}
	}
	*n_out = rs.n;
	free(rs.r);
	return 0;
fail:
	free(rs.r);
	snprintf(err, errlen, "out of memory");
	return ret;
}

int wsp_vad_speech(const struct wsp_vad *v, const float *pcm, size_t n,
		   const struct wsp_vad_opts *o, struct wsp_vad_region **out, int *n_out,
		   char *err, size_t errlen)
{
	float *probs = NULL;
	size_t n_probs = 0;
	int ret;

	if (out)
		*out = NULL;
	if (n_out)
		*n_out = 0;
	if (!out || !n_out) {
		snprintf(err, errlen, "wsp_vad_speech: invalid arguments");
		return -EINVAL;
	}
	if (o) {
		ret = wsp_vad_opts_check(o, err, errlen);
		if (ret)
			return ret;
	}
	ret = wsp_vad_probs(v, pcm, n, &probs, &n_probs, err, errlen);
	if (!ret)
		ret = wsp_vad_regions_from_probs(probs, n_probs, n, o, out, n_out, err, errlen);
	free(probs);
	return ret;
}
