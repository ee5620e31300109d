// SPDX-License-Identifier: MIT
/*
 * whisper/decode/seek_vad.c - sequential transcription with the VAD filter,
 * as faster-whisper's transcribe(vad_filter=True): the speech regions of the
 * recording (get_speech_timestamps) are cut out and joined (collect_chunks),
 * the joined audio is transcribed by the usual long-form loop (seek.c), and
 * segment and word times are mapped back to the recording
 * (restore_speech_timestamps).
 *
 * Nothing holds the recording: a first pass streams it through the VAD
 * (one float per 512 samples stays), and the long-form loop then reads it
 * through a region source that skips what is not speech.
 *
 * In the batched mode (opts.batch > 1) the regions, found with the batched
 * pipeline's rules, go to wsp_batch_run() instead, which merges them into
 * windows of at most 30 s and maps the times back itself.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "whisper/audio/audio.h"
#include "whisper/decode/batch.h"
#include "whisper/decode/seek_vad.h"
#include "whisper/vad/vad_internal.h"

#define VAD_READ 32768          /* samples per read of the scoring pass */

/* The speech regions of an inner source, joined. */
struct region_src {
	struct wsp_source *in;
	const struct wsp_vad_region *r;
	int n;
	int cur;                    /* region being read */
	size_t pos;                 /* samples of @in consumed */
};

static long region_read(void *arg, float *dst, size_t max, char *err, size_t errlen)
{
	struct region_src *s = arg;

	while (s->cur < s->n) {
		const struct wsp_vad_region *r = &s->r[s->cur];
		size_t want;
		long got;

		if (s->pos >= r->end) {
			s->cur++;
			continue;
		}
		if (s->pos < r->start) {
			/* not speech: read into @dst and drop it */
			want = r->start - s->pos < max ? r->start - s->pos : max;
			got = s->in->read(s->in->arg, dst, want, err, errlen);
			if (got <= 0)
				return got;     /* an error, or the audio ended early */
			s->pos += (size_t)got;
			continue;
		}
		want = r->end - s->pos < max ? r->end - s->pos : max;
		got = s->in->read(s->in->arg, dst, want, err, errlen);
		if (got > 0)
			s->pos += (size_t)got;
		return got;
	}
	return 0;
}

static int region_rewind(void *arg, char *err, size_t errlen)
{
	struct region_src *s = arg;

	s->cur = 0;
	s->pos = 0;
	return s->in->rewind(s->in->arg, err, errlen);
}

/* What the on_segment wrapper needs: the map and the caller's hook. */
struct vad_hook {
	struct wsp_vad_map map;
	const struct wsp_transcribe_opts *user;
};

/* restore_speech_timestamps() for one segment, in place. */
static void map_segment(const struct wsp_vad_map *m, struct wsp_segment *seg)
{
	if (seg->n_words > 0) {
		for (int i = 0; i < seg->n_words; i++) {
			struct wsp_word *w = &seg->words[i];
			/* a word's start and end are resolved in the same region */
			int idx = wsp_vad_map_index(m, (w->start + w->end) / 2, 0);

			w->start = wsp_vad_map_time(m, w->start, idx);
			w->end = wsp_vad_map_time(m, w->end, idx);
		}
		seg->start = seg->words[0].start;
		seg->end = seg->words[seg->n_words - 1].end;
		return;
	}
	seg->start = wsp_vad_map_time(m, seg->start, wsp_vad_map_index(m, seg->start, 0));
	seg->end = wsp_vad_map_time(m, seg->end, wsp_vad_map_index(m, seg->end, 1));
}

static void on_segment(void *arg, const struct wsp_segment *seg, int index)
{
	struct vad_hook *h = arg;

	/* the segment is the result's own (seek.c): mapped once, here, before
	 * anyone sees it */
	map_segment(&h->map, (struct wsp_segment *)seg);
	if (h->user->on_segment)
		h->user->on_segment(h->user->hook_arg, seg, index);
}

static int user_window_begin(void *arg, double start_s, double length_s)
{
	const struct vad_hook *h = arg;

	return h->user->window_begin ? h->user->window_begin(h->user->hook_arg, start_s, length_s) : 0;
}

static void user_window_end(void *arg)
{
	const struct vad_hook *h = arg;

	if (h->user->window_end)
		h->user->window_end(h->user->hook_arg);
}

/* The scoring pass: all of @src through the VAD, then back to its start. */
static int score(const struct wsp_vad *v, struct wsp_source *src, float **probs,
		 size_t *n_probs, size_t *n_samples, char *err, size_t errlen)
{
	struct wsp_vad_stream *st = NULL;
	float *buf = malloc(VAD_READ * sizeof(float));
	int ret = buf ? wsp_vad_stream_new(v, &st) : -ENOMEM;

	while (!ret) {
		long got = src->read(src->arg, buf, VAD_READ, err, errlen);

		if (got < 0)
			ret = (int)got;
		if (got <= 0)
			break;
		ret = wsp_vad_stream_feed(st, buf, (size_t)got);
	}
	if (!ret) {
		*n_samples = wsp_vad_stream_samples(st);
		ret = wsp_vad_stream_finish(st, probs, n_probs);
	}
	if (ret == -ENOMEM)
		snprintf(err, errlen, "out of memory");
	wsp_vad_stream_free(st);
	free(buf);
	if (!ret)
		ret = src->rewind(src->arg, err, errlen);
	return ret;
}

int wsp_seek_vad_run(const struct wsp_context *c, struct wsp_source *src,
		     const struct wsp_transcribe_opts *o, struct wsp_result *res,
		     char *err, size_t errlen)
{
	struct wsp_transcribe_opts inner = *o;
	struct wsp_vad_opts vo;
	struct wsp_vad_region *reg = NULL;
	struct region_src rs = { 0 };
	struct wsp_source joined;
	struct vad_hook hook = { .user = o };
	float *probs = NULL;
	size_t n_probs = 0, n_samples = 0, speech = 0;
	int n_reg = 0, ret;

	memset(res, 0, sizeof(*res));
	if (!src->rewind) {
		snprintf(err, errlen, "the VAD filter needs an audio source it can read twice");
		return -EINVAL;
	}
	vo = o->vad_opts;
	if (o->batch > 1) {
		/*
		 * The batched pipeline's VAD rules (faster-whisper's
		 * BatchedInferencePipeline): no region longer than a window, and
		 * regions cut at 160 ms of silence unless the caller chose a
		 * silence length of its own.
		 */
		vo.max_speech_duration_s = 30.0f;
		if (vo.min_silence_duration_ms == 2000)
			vo.min_silence_duration_ms = 160;
	}
	ret = wsp_vad_opts_check(&vo, err, errlen);
	if (!ret)
		ret = score(o->vad, src, &probs, &n_probs, &n_samples, err, errlen);
	if (!ret)
		ret = wsp_vad_regions_from_probs(probs, n_probs, n_samples, &vo, &reg,
						 &n_reg, err, errlen);
	free(probs);
	if (!ret && o->batch > 1) {
		/*
		 * The batched mode reads the regions from the file itself and maps
		 * its windows' times back on its own; no speech at all is an empty
		 * list, not NULL (which would mean the whole stream).
		 */
		static const struct wsp_vad_region none;

		inner.vad = NULL;
		ret = wsp_batch_run(c, src, &inner, reg ? reg : &none, n_reg, res, err, errlen);
		if (!ret)
			res->duration_s = (double)n_samples / WSP_SAMPLE_RATE;
		free(reg);
		return ret;
	}
	if (!ret && wsp_vad_map_init(&hook.map, reg, n_reg)) {
		snprintf(err, errlen, "out of memory");
		ret = -ENOMEM;
	}
	if (ret)
		goto out;
	for (int i = 0; i < n_reg; i++)
		speech += reg[i].end - reg[i].start;
	rs.in = src;
	rs.r = reg;
	rs.n = n_reg;
	joined.read = region_read;
	joined.rewind = region_rewind;
	joined.arg = &rs;
	joined.total_s = (double)speech / WSP_SAMPLE_RATE;
	inner.vad = NULL;
	inner.on_segment = on_segment;
	inner.window_begin = o->window_begin ? user_window_begin : NULL;
	inner.window_end = o->window_end ? user_window_end : NULL;
	inner.hook_arg = &hook;
	ret = wsp_seek_run(c, &joined, &inner, res, err, errlen);
	if (!ret)
		res->duration_s = (double)n_samples / WSP_SAMPLE_RATE;
out:
	wsp_vad_map_release(&hook.map);
	free(reg);
	return ret;
}
