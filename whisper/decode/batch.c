// SPDX-License-Identifier: MIT
/*
 * whisper/decode/batch.c - the batched long-form mode, after faster-whisper's
 * BatchedInferencePipeline: the recording cut into windows of at most 30 s
 * (speech regions merged by batch_plan.c, or fixed windows that end at the
 * quietest moment of their last 10 s), each window decoded on its own - a
 * prompt without previous text, the fallback ladder and the no-speech rule
 * as in the sequential mode, decoded again from its last timestamp while a
 * decoding stops short of the window's end - and its times mapped back to
 * the file.
 *
 * Up to N windows are in flight: N workers (the calling thread and N - 1
 * more), each with its own decoders and scratch, take the next window, read
 * its audio from the source (one reader at a time, in order), encode it on
 * one of the shared encoders (one per eight workers; their matmuls reach the
 * engine side by side) and decode it, their decoder steps stacked into
 * shared rounds by the context's decoder gang. Finished windows wait in a
 * ring of 2N slots until every earlier one is done; then their segments
 * join the result in file order. A worker takes window w only when w is
 * within 2N of the first window not yet emitted, so memory stays bounded
 * by the windows in flight or waiting, whatever the length of the audio.
 */
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "whisper/audio/audio.h"
#include "whisper/decode/batch.h"
#include "whisper/decode/words.h"

#define N_FRAMES  3000                       /* frames per window */
#define HOP       WSP_HOP_LENGTH             /* samples per frame */
#define W_SAMPLES WSP_BATCH_WINDOW_SAMPLES
#define MAX_SEG   256                        /* segments split from one window */
#define PROMPT_MAX 224                       /* initial prompt tokens kept (n_text_ctx / 2 - 1 of 448) */
#define QUIET_SEARCH (10 * WSP_SAMPLE_RATE)  /* a full fixed window ends in its last 10 s ... */
#define QUIET_LEN    (WSP_SAMPLE_RATE / 5)   /* ... in the middle of its quietest 200 ms */
#define MIN_REST     50       /* frames: a window's rest shorter than 0.5 s is not decoded again */

/* A finished window's segments, waiting for the windows before it. */
struct slot {
	int w;                    /* the window it holds; -1: free */
	int done;
	struct wsp_segment *segs; /* owned until moved into the result */
	int n, cap;
	double end_s;             /* where the window ends in the file */
	double audio_ms, mel_ms, encode_ms, decode_ms;
};

struct run;

/* One worker: everything a window needs, made once. */
struct worker {
	struct run *r;
	pthread_t th;
	int started;
	float *audio;              /* the window's samples, + HOP zeros */
	size_t n;
	size_t own;                /* samples the window covers in the file: @n (segments past them are dropped) */
	struct wsp_batch_piece one; /* the piece of a fixed window */
	const struct wsp_batch_piece *pc;
	int n_pc;
	float *enc;                /* the window's encoder output */
	struct wsp_win win;
	struct wsp_dec_ws *ws;
	struct wsp_words words;
	int words_on;
	int32_t prompt[PROMPT_MAX + 8];
	char err[256];
};

/* The state of one batched transcription, shared by its workers. */
struct run {
	const struct wsp_context *c;
	const struct wsp_transcribe_opts *o;
	struct wsp_source *src;
	struct wsp_result *res;
	const struct wsp_batch_plan *plan;   /* NULL: fixed 30 s windows */
	struct wsp_exec x_dec;               /* the context's, with compact cross keys/values */
	struct wsp_fallback f;
	int32_t init[PROMPT_MAX];            /* the initial prompt's tokens */
	int n_init;
	pthread_mutex_t lock;
	pthread_cond_t cv;
	/* under lock: */
	int next_win;             /* the next window to take */
	int next_emit;            /* the first window not yet in the result */
	size_t read_pos;          /* samples read from the source */
	float *carry;             /* fixed windows: samples read past the last cut, */
	size_t n_carry;           /* the start of the next window */
	size_t win_start;         /* fixed windows: the next window's first sample */
	int eof;
	int ret;                  /* the first error; it stops every worker */
	char err[256];
	int lang_state;           /* 0: not known yet, 1: known, -1: its window failed */
	int32_t lang;             /* the language token; -1: English-only model */
	int32_t sot_seq[3];
	int n_sot_seq;
	struct slot *slots;
	int n_slots;
	int seg_cap;
	/* encoders shared by the workers (one per 8), @n_idle of them free at @idle */
	struct enc_slot *enc;
	int n_enc, n_idle;
	struct enc_slot **idle;
	size_t mel_full_frames;
};

/* One shared encoder and the log-mel buffers it reads, taken per encoding. */
struct enc_slot {
	struct wsp_encoder *e;
	float *mel_full;          /* the samples' whole log-mel */
	float *mel;               /* the window's n_mels × 3000 */
};

/* A free encoder for this worker's window; waits while all are busy. */
static struct enc_slot *encoder_get(struct run *r)
{
	struct enc_slot *e;

	pthread_mutex_lock(&r->lock);
	while (r->n_idle == 0)
		pthread_cond_wait(&r->cv, &r->lock);
	e = r->idle[--r->n_idle];
	pthread_mutex_unlock(&r->lock);
	return e;
}

static void encoder_put(struct run *r, struct enc_slot *e)
{
	pthread_mutex_lock(&r->lock);
	r->idle[r->n_idle++] = e;
	pthread_cond_broadcast(&r->cv);
	pthread_mutex_unlock(&r->lock);
}

static void fail(struct run *r, int ret, const char *err)
{
	/* under r->lock */
	if (!r->ret) {
		r->ret = ret;
		snprintf(r->err, sizeof(r->err), "%s", err && *err ? err : strerror(-ret));
	}
	pthread_cond_broadcast(&r->cv);
}

static void free_segment(struct wsp_segment *s)
{
	for (int k = 0; k < s->n_words; k++)
		free(s->words[k].word);
	free(s->words);
	free(s->text);
	free(s->tokens);
}

static void slot_clear(struct slot *s)
{
	for (int i = 0; i < s->n; i++)
		free_segment(&s->segs[i]);
	free(s->segs);
	memset(s, 0, sizeof(*s));
	s->w = -1;
}

/*
 * Where a full fixed window should end: in the middle of its quietest
 * QUIET_LEN stretch (least energy, the latest of equals) among its last
 * QUIET_SEARCH samples, so that a window seldom cuts a word in two and the
 * model does not stop before a sentence the window ends inside. (Without a
 * voice activity detector faster-whisper refuses audio over 30 s; this is
 * our stand-in for its speech regions.)
 */
static size_t quiet_cut(const float *x, size_t n)
{
	enum { FRAMES = QUIET_SEARCH / HOP, RUN = QUIET_LEN / HOP };
	double e[FRAMES], sum = 0.0, best = INFINITY;
	size_t from = n - QUIET_SEARCH, cut = n;

	for (int f = 0; f < FRAMES; f++) {
		const float *p = x + from + (size_t)f * HOP;
		double v = 0.0;

		for (int i = 0; i < HOP; i++)
			v += (double)p[i] * p[i];
		e[f] = v;
	}
	for (int f = 0; f < FRAMES; f++) {
		sum += e[f];
		if (f >= RUN)
			sum -= e[f - RUN];
		if (f >= RUN - 1 && sum <= best) {
			best = sum;
			cut = from + (size_t)(f + 1 - RUN / 2) * HOP;
		}
	}
	return cut;
}

/*
 * Read window @w's samples into @k->audio: a fixed window is the next 30 s
 * of the stream; a planned one its pieces, skipping what lies between.
 * Under r->lock (the source is read in order, by one worker at a time).
 * Return: 0, or -errno with @k->err set.
 */
static int read_window(struct run *r, struct worker *k, int w)
{
	struct wsp_source *src = r->src;

	k->n = 0;
	if (!r->plan) {
		size_t fresh = 0;

		memcpy(k->audio, r->carry, r->n_carry * sizeof(float));
		k->n = r->n_carry;
		r->n_carry = 0;
		while (!r->eof && k->n < W_SAMPLES) {
			long got = src->read(src->arg, k->audio + k->n, W_SAMPLES - k->n,
					     k->err, sizeof(k->err));

			if (got < 0)
				return (int)got;
			if (got == 0)
				r->eof = 1;
			k->n += (size_t)got;
			fresh += (size_t)got;
		}
		r->read_pos += fresh;
		k->own = k->n;
		if (k->n == W_SAMPLES && !r->eof) {
			/*
			 * More follows: the window ends at the quietest moment
			 * of its last 10 s, and the rest opens the next window.
			 * Its audio stops there too: decoded over the next
			 * window's audio as well, the model gives words past the
			 * cut timestamps before it, and they came out twice.
			 */
			k->own = quiet_cut(k->audio, k->n);
			r->n_carry = k->n - k->own;
			memcpy(r->carry, k->audio + k->own, r->n_carry * sizeof(float));
			k->n = k->own;
		}
		k->one.start = r->win_start;
		k->one.len = k->own;
		k->one.at = 0;
		r->win_start += k->own;
		k->pc = &k->one;
		k->n_pc = 1;
		return 0;
	}
	k->pc = r->plan->pieces + r->plan->win[w].first;
	k->n_pc = r->plan->win[w].n;
	for (int i = 0; i < k->n_pc; i++) {
		const struct wsp_batch_piece *p = &k->pc[i];

		/* what lies before the piece: read into the window buffer and dropped */
		while (!r->eof && r->read_pos < p->start) {
			size_t want = p->start - r->read_pos;
			long got;

			if (want > W_SAMPLES - p->at)
				want = W_SAMPLES - p->at;
			got = src->read(src->arg, k->audio + p->at, want, k->err, sizeof(k->err));
			if (got < 0)
				return (int)got;
			if (got == 0)
				r->eof = 1;
			r->read_pos += (size_t)got;
		}
		while (!r->eof && r->read_pos < p->start + p->len) {
			size_t off = r->read_pos - p->start;
			long got = src->read(src->arg, k->audio + p->at + off, p->len - off,
					     k->err, sizeof(k->err));

			if (got < 0)
				return (int)got;
			if (got == 0)
				r->eof = 1;
			r->read_pos += (size_t)got;
		}
		if (r->read_pos >= p->start)
			k->n = p->at + (r->read_pos - p->start < p->len ? r->read_pos - p->start : p->len);
	}
	k->own = k->n;
	return 0;
}

/*
 * The log-mel of the window's samples from frame @seek on (+ HOP zeros):
 * @size frames of it, normalized by their own maximum, then zero frames up
 * to 3000, as faster-whisper's batched pipeline makes each chunk's features.
 */
static int window_mel(struct run *r, struct worker *k, struct enc_slot *e, int seek, int size)
{
	const int n_mels = wsp_model_hparams(r->c->model)->n_mels;
	size_t from = (size_t)seek * HOP, len = k->n - from + HOP, frames = wsp_mel_frames(len);
	int ret;

	memset(k->audio + k->n, 0, HOP * sizeof(float));
	if (frames > r->mel_full_frames)
		return -EINVAL;
	if ((size_t)size > frames)
		size = (int)frames;
	ret = wsp_mel_compute(r->c->mel, k->audio + from, len, e->mel_full);
	if (ret)
		return ret;
	for (int m = 0; m < n_mels; m++) {
		float *dst = e->mel + (size_t)m * N_FRAMES;

		memcpy(dst, e->mel_full + (size_t)m * frames, (size_t)size * sizeof(float));
		memset(dst + size, 0, (size_t)(N_FRAMES - size) * sizeof(float));
	}
	return 0;
}

/* The language: given, English-only, or detected on window 0 (its worker alone). */
static int detect_language(struct run *r, struct worker *k)
{
	const struct wsp_context *c = r->c;
	struct wsp_decoder *d;
	const char *code;
	float p = 1.0f;
	int32_t lang;
	int ret;

	ret = wsp_win_decoder(&k->win, r->f.beam_size, &d);
	if (ret)
		return ret;
	ret = wsp_detect_language(d, r->f.beam_size, &c->rules, k->ws, &p);
	if (ret < 0)
		return ret;
	lang = ret;
	code = wsp_tokenizer_lang_code(c->tok, lang);
	pthread_mutex_lock(&r->lock);
	r->lang = lang;
	snprintf(r->res->language, sizeof(r->res->language), "%s", code ? code : "?");
	r->res->language_prob = p;
	r->sot_seq[1] = lang;
	r->sot_seq[2] = r->o->task == WSP_TASK_TRANSLATE ? c->rules.sp.translate :
							   c->rules.sp.transcribe;
	r->n_sot_seq = 3;
	r->lang_state = 1;
	pthread_cond_broadcast(&r->cv);
	pthread_mutex_unlock(&r->lock);
	return 0;
}

/* [<|startofprev|> initial prompt] sot [lang task] [<|notimestamps|>] */
static int build_prompt(struct run *r, struct worker *k, int *sot_index)
{
	const struct wsp_special_tokens *sp = &r->c->rules.sp;
	int n = 0;

	if (r->n_init > 0 && sp->sot_prev >= 0) {
		k->prompt[n++] = sp->sot_prev;
		memcpy(k->prompt + n, r->init, (size_t)r->n_init * sizeof(int32_t));
		n += r->n_init;
	}
	*sot_index = n;
	k->prompt[n++] = sp->sot;
	if (r->c->multilingual) {
		k->prompt[n++] = r->lang;
		k->prompt[n++] = r->o->task == WSP_TASK_TRANSLATE ? sp->translate : sp->transcribe;
	}
	if (r->o->without_timestamps && sp->no_timestamps >= 0)
		k->prompt[n++] = sp->no_timestamps;
	return n;
}

static int slot_add(struct slot *s, const struct wsp_segment *seg)
{
	if (s->n == s->cap) {
		int cap = s->cap ? 2 * s->cap : 8;
		struct wsp_segment *p = realloc(s->segs, (size_t)cap * sizeof(*p));

		if (!p)
			return -ENOMEM;
		s->segs = p;
		s->cap = cap;
	}
	s->segs[s->n++] = *seg;
	return 0;
}

/*
 * The segments of one decoding of the window from frame @seek (@size
 * frames) into @s, times in the file; *@next_seek: where the window's next
 * decoding starts, as the sequential mode's seek.
 */
static int window_segments(struct run *r, struct worker *k, const struct wsp_decoded *d,
			   int seek, int size, struct slot *s, int *next_seek)
{
	const int32_t tb = r->c->rules.sp.timestamp_begin;
	const double own_s = (double)k->own / WSP_SAMPLE_RATE;
	int bounds[MAX_SEG][2];
	double t[MAX_SEG][2];
	struct wsp_word_seg g[MAX_SEG];
	int n_seg, ret = 0;

	n_seg = wsp_split_segments(d->tokens, d->n_tokens, tb, seek, size, bounds, t, MAX_SEG,
				   next_seek);
	memset(g, 0, sizeof(g[0]) * (size_t)(n_seg > 0 ? n_seg : 1));
	for (int i = 0; i < n_seg; i++) {
		g[i].start = t[i][0];
		g[i].end = t[i][1];
		g[i].tokens = d->tokens + bounds[i][0];
		g[i].n_tokens = bounds[i][1] - bounds[i][0];
	}
	if (k->words_on && n_seg > 0) {
		struct wsp_decoder *dec;

		ret = wsp_win_any_decoder(&k->win, &dec);
		if (!ret)
			ret = wsp_words_window(&k->words, dec, r->sot_seq, r->n_sot_seq, g, n_seg,
					       seek * 0.01, size, 0.0);
		if (ret)
			return ret;
		{
			/* as the sequential mode: restart at the last word's end */
			const int32_t *tk = d->tokens;
			int n = d->n_tokens;
			int single_end = n >= 2 && tk[n - 2] < tb && tk[n - 1] >= tb;

			for (int i = n_seg - 1; i >= 0 && !single_end; i--)
				if (g[i].n_words) {
					double end = g[i].words[g[i].n_words - 1].end;

					if (end > seek * 0.01)
						*next_seek = (int)lround(end * 100);
					break;
				}
		}
	}
	for (int i = 0; i < n_seg && !ret; i++) {
		struct wsp_segment seg;
		size_t len;
		const char *text = wsp_text_of(r->c->tok, g[i].tokens, g[i].n_tokens, k->ws, &len);

		if (!text) {
			ret = -ENOMEM;
			break;
		}
		/*
		 * Past the cut there is only padding: the window's audio ends
		 * there (read_window()). A segment that starts past it is made
		 * up; one that starts before it is this window's, and its end
		 * is kept within the audio: the model's closing timestamp can
		 * run into the padding (base, the 208 s file: 25.92 -> 46.32 s
		 * for "At that high level, the air is pure." after 2.9 s of
		 * audio), which used to drop the sentence as the next window's.
		 */
		if (g[i].start == g[i].end || wsp_seek_blank(text, len) || g[i].start >= own_s)
			continue;
		if (g[i].end > own_s)
			g[i].end = own_s;
		memset(&seg, 0, sizeof(seg));
		if (g[i].n_words) {
			/* as restore_speech_timestamps: a word's piece is its middle's */
			for (int w = 0; w < g[i].n_words; w++) {
				struct wsp_word *x = &g[i].words[w];
				int p = wsp_batch_piece_at(k->pc, k->n_pc, (x->start + x->end) / 2, 0);

				x->start = wsp_batch_file_time(k->pc, k->n_pc, p, x->start);
				x->end = wsp_batch_file_time(k->pc, k->n_pc, p, x->end);
			}
			seg.start = g[i].words[0].start;
			seg.end = g[i].words[g[i].n_words - 1].end;
		} else {
			seg.start = wsp_batch_file_time(k->pc, k->n_pc,
							wsp_batch_piece_at(k->pc, k->n_pc, g[i].start, 0),
							g[i].start);
			seg.end = wsp_batch_file_time(k->pc, k->n_pc,
						      wsp_batch_piece_at(k->pc, k->n_pc, g[i].end, 1),
						      g[i].end);
		}
		if (seg.end < seg.start)
			seg.end = seg.start;
		seg.text = malloc(len + 1);
		seg.tokens = malloc(((size_t)g[i].n_tokens + 1) * sizeof(int32_t));
		if (!seg.text || !seg.tokens) {
			free(seg.text);
			free(seg.tokens);
			ret = -ENOMEM;
			break;
		}
		memcpy(seg.text, text, len);
		seg.text[len] = 0;
		memcpy(seg.tokens, g[i].tokens, (size_t)g[i].n_tokens * sizeof(int32_t));
		seg.n_tokens = g[i].n_tokens;
		seg.avg_logprob = d->avg_logprob;
		seg.no_speech_prob = d->no_speech_prob;
		seg.compression_ratio = d->compression_ratio;
		seg.temperature = d->temperature;
		seg.words = g[i].words;
		seg.n_words = g[i].n_words;
		ret = slot_add(s, &seg);
		if (ret) {
			seg.words = NULL;
			seg.n_words = 0;
			free_segment(&seg);
			break;
		}
		g[i].words = NULL;     /* the slot owns them now */
		g[i].n_words = 0;
	}
	wsp_word_segs_free(g, n_seg);
	return ret;
}

/* Window @w, its audio in @k: mel, encoder, language, fallback ladder, segments. */
static int run_window(struct run *r, struct worker *k, int w, struct slot *s)
{
	const struct wsp_transcribe_opts *o = r->o;
	const int frames = (int)(k->n / HOP), own = (int)(k->own / HOP);
	struct wsp_decoded d;
	int seek = 0, ret = 0;
	uint64_t rng;
	double t0;

	/* the window's own stream: the same numbers whichever worker runs it */
	rng = (o->seed ^ 0x5eedf00dull) + 0x9e3779b97f4a7c15ull * (uint64_t)w;
	/*
	 * Decoded as the sequential mode decodes a recording, but without
	 * previous text: once from its start, and again from the last
	 * timestamp while a decoding ends before the window's own samples do
	 * (the model often stops at a timestamp pair with speech left).
	 */
	do {
		int size = frames - seek, sot_index, n_prompt, next_seek = frames;

		{
			/* the mel buffers go with the encoder: computed, then encoded */
			struct enc_slot *e = encoder_get(r);

			t0 = wsp_seek_now_ms();
			ret = window_mel(r, k, e, seek, size);
			s->mel_ms += wsp_seek_now_ms() - t0;
			t0 = wsp_seek_now_ms();
			if (!ret)
				ret = wsp_encoder_run(e->e, e->mel, k->enc);
			s->encode_ms += wsp_seek_now_ms() - t0;
			encoder_put(r, e);
		}
		if (ret)
			return ret;
		t0 = wsp_seek_now_ms();
		if (r->lang_state == 0 && w == 0) {
			ret = detect_language(r, k);
			if (ret)
				return ret;
		}
		if (size > 0) {
			n_prompt = build_prompt(r, k, &sot_index);
			ret = wsp_decode_fallback(&k->win, &r->c->rules, r->c->tok, &r->f, k->prompt,
						  n_prompt, sot_index, &rng, k->ws, &d);
			if (!ret) {
				int skip = o->no_speech_threshold < 1.0f &&
					   d.no_speech_prob > o->no_speech_threshold;

				if (o->logprob_threshold > -1e9f &&
				    d.avg_logprob > o->logprob_threshold)
					skip = 0;   /* likely enough to be speech after all */
				if (!skip)
					ret = window_segments(r, k, &d, seek, size, s, &next_seek);
			}
		}
		wsp_win_next(&k->win);   /* decoders kept, new cross keys/values next time */
		s->decode_ms += wsp_seek_now_ms() - t0;
		if (next_seek <= seek)
			next_seek = seek + 1;   /* never loop on one place */
		seek = next_seek;
	} while (!ret && own - seek >= MIN_REST);
	/* the sampling decoder of a fallback is seldom needed again: give back its memory */
	for (int i = 0; i < 2; i++)
		if (k->win.dec[i] && k->win.n_seq[i] != r->f.beam_size) {
			wsp_decoder_free(k->win.dec[i]);
			k->win.dec[i] = NULL;
			k->win.stale[i] = 0;
		}
	return ret;
}

/* Move every finished window at the head into the result, in order. Under r->lock. */
static int emit_ready(struct run *r)
{
	const struct wsp_transcribe_opts *o = r->o;
	struct wsp_result *res = r->res;

	for (;;) {
		struct slot *s = &r->slots[r->next_emit % r->n_slots];

		if (s->w != r->next_emit || !s->done)
			return 0;
		if (res->n_segments + s->n > r->seg_cap) {
			int cap = r->seg_cap ? r->seg_cap : 16;
			struct wsp_segment *p;

			while (cap < res->n_segments + s->n)
				cap *= 2;
			p = realloc(res->segments, (size_t)cap * sizeof(*p));
			if (!p)
				return -ENOMEM;
			res->segments = p;
			r->seg_cap = cap;
		}
		for (int i = 0; i < s->n; i++) {
			res->segments[res->n_segments] = s->segs[i];
			res->n_segments++;
			if (o->on_segment)
				o->on_segment(o->hook_arg, &res->segments[res->n_segments - 1],
					      res->n_segments - 1);
		}
		s->n = 0;              /* the result owns the segments now */
		res->audio_ms += s->audio_ms;
		res->mel_ms += s->mel_ms;
		res->encode_ms += s->encode_ms;
		res->decode_ms += s->decode_ms;
		if (o->progress)
			o->progress(o->progress_arg, s->end_s, r->src->total_s);
		slot_clear(s);
		r->next_emit++;
		pthread_cond_broadcast(&r->cv);
	}
}

/* Is there a window left to take? Under r->lock. */
static int more_windows(const struct run *r)
{
	if (r->ret)
		return 0;
	if (r->plan)
		return r->next_win < r->plan->n_win;
	return !r->eof || r->n_carry > 0;
}

static void work(struct worker *k)
{
	struct run *r = k->r;
	const struct wsp_transcribe_opts *o = r->o;

	pthread_mutex_lock(&r->lock);
	while (more_windows(r)) {
		int w = r->next_win, ret;
		struct slot *s;
		double t0;

		if (w - r->next_emit >= r->n_slots) {
			pthread_cond_wait(&r->cv, &r->lock);   /* the ring is full: wait for the head */
			continue;
		}
		r->next_win++;
		s = &r->slots[w % r->n_slots];
		s->w = w;
		s->done = 0;
		k->err[0] = 0;
		t0 = wsp_seek_now_ms();
		ret = read_window(r, k, w);
		s->audio_ms += wsp_seek_now_ms() - t0;
		if (!ret && !r->plan && k->n == 0 && r->eof) {
			/* the stream ended on a window boundary: no window w */
			s->w = -1;
			r->next_win = w;
			break;
		}
		if (!ret)
			s->end_s = wsp_batch_file_time(k->pc, k->n_pc, k->n_pc - 1,
						       (double)k->own / WSP_SAMPLE_RATE);
		if (!ret && w > 0) {
			/* the prompt needs window 0's language: wait without a slot held */
			while (r->lang_state == 0 && !r->ret)
				pthread_cond_wait(&r->cv, &r->lock);
			if (r->ret)
				ret = -ECANCELED;
		}
		pthread_mutex_unlock(&r->lock);

		if (!ret && o->window_begin) {
			double start = (double)k->pc[0].start / WSP_SAMPLE_RATE;

			ret = o->window_begin(o->hook_arg, start, s->end_s - start);
			if (ret)
				snprintf(k->err, sizeof(k->err), "window at %.2f s: %s", start,
					 strerror(-ret));
			else {
				/* another window failed while this one waited for its turn */
				pthread_mutex_lock(&r->lock);
				ret = r->ret ? -ECANCELED : 0;
				pthread_mutex_unlock(&r->lock);
				if (!ret)
					ret = run_window(r, k, w, s);
				if (o->window_end)
					o->window_end(o->hook_arg);
			}
		} else if (!ret) {
			ret = run_window(r, k, w, s);
		}

		pthread_mutex_lock(&r->lock);
		if (!ret && r->lang_state == 0 && w == 0)
			r->lang_state = 1;
		if (ret) {
			if (w == 0 && r->lang_state == 0)
				r->lang_state = -1;
			fail(r, ret, k->err);
			break;
		}
		s->done = 1;
		ret = emit_ready(r);
		if (ret) {
			fail(r, ret, "out of memory for the segments");
			break;
		}
	}
	pthread_cond_broadcast(&r->cv);
	pthread_mutex_unlock(&r->lock);
}

static void *worker_main(void *arg)
{
	work(arg);
	return NULL;
}

static void worker_free(struct worker *k)
{
	free(k->audio);
	free(k->enc);
	wsp_win_release(&k->win);
	wsp_dec_ws_free(k->ws);
	if (k->words_on)
		wsp_words_release(&k->words);
}

static int worker_init(struct run *r, struct worker *k, char *err, size_t errlen)
{
	const struct wsp_context *c = r->c;
	const struct wsp_hparams *hp = wsp_model_hparams(c->model);
	int max_seq = r->f.beam_size > r->f.best_of ? r->f.beam_size : r->f.best_of;
	int ret = -ENOMEM;

	memset(k, 0, sizeof(*k));
	k->r = r;
	k->audio = malloc((W_SAMPLES + HOP) * sizeof(float));
	k->enc = malloc((size_t)hp->n_audio_ctx * hp->n_audio_state * sizeof(float));
	k->win.m = c->model;
	k->win.x = &r->x_dec;
	k->win.enc = k->enc;
	/*
	 * No previous text: a window's decoder holds its prompt (sot_prev,
	 * the initial prompt, sot, language, task, notimestamps), max_new
	 * new tokens and the eot, about half of n_text_ctx, and its caches
	 * are sized for that (the word timing pass feeds fewer).
	 */
	k->win.n_ctx = r->n_init + 6 + r->f.max_new + 2;
	if (k->win.n_ctx > hp->n_text_ctx)
		k->win.n_ctx = hp->n_text_ctx;
	if (k->audio && k->enc)
		ret = wsp_dec_ws_new(max_seq, hp->n_vocab, hp->n_text_ctx, &k->ws);
	if (ret) {
		snprintf(err, errlen, "out of memory for the batched windows' buffers");
		return ret;
	}
	if (r->o->word_timestamps) {
		ret = wsp_words_init(&k->words, c->model, c->tok, r->o, err, errlen);
		if (ret)
			return ret;
		k->words_on = 1;
	}
	return 0;
}

/* The language before any window, when it needs no detection. */
static int set_language(struct run *r, char *err, size_t errlen)
{
	const struct wsp_context *c = r->c;
	const char *code;

	r->sot_seq[0] = c->rules.sp.sot;
	r->n_sot_seq = 1;
	r->lang = -1;
	if (!c->multilingual) {
		snprintf(r->res->language, sizeof(r->res->language), "en");
		r->res->language_prob = 1.0f;
		r->lang_state = 1;
		return 0;
	}
	if (!r->o->language)
		return 0;          /* window 0 detects it */
	r->lang = wsp_tokenizer_lang_token(c->tok, r->o->language);
	if (r->lang < 0) {
		snprintf(err, errlen, "unknown language '%s'", r->o->language);
		return -EINVAL;
	}
	code = wsp_tokenizer_lang_code(c->tok, r->lang);
	snprintf(r->res->language, sizeof(r->res->language), "%s", code ? code : "?");
	r->res->language_prob = 1.0f;
	r->sot_seq[1] = r->lang;
	r->sot_seq[2] = r->o->task == WSP_TASK_TRANSLATE ? c->rules.sp.translate :
							   c->rules.sp.transcribe;
	r->n_sot_seq = 3;
	r->lang_state = 1;
	return 0;
}

int wsp_batch_run(const struct wsp_context *c, struct wsp_source *src,
		  const struct wsp_transcribe_opts *o, const struct wsp_vad_region *regions,
		  int n_regions, struct wsp_result *res, char *err, size_t errlen)
{
	const struct wsp_hparams *hp = wsp_model_hparams(c->model);
	struct wsp_batch_plan plan;
	struct worker *k = NULL;
	struct run r;
	int n_work = o->batch > WSP_BATCH_MAX ? WSP_BATCH_MAX : o->batch, n_made = 0, ret;

	memset(res, 0, sizeof(*res));
	memset(&r, 0, sizeof(r));
	memset(&plan, 0, sizeof(plan));
	if (hp->n_audio_ctx * 2 != N_FRAMES) {
		snprintf(err, errlen, "model has %d audio positions; windows need 1500", hp->n_audio_ctx);
		return -EINVAL;
	}
	r.c = c;
	r.o = o;
	r.src = src;
	r.res = res;
	wsp_seek_fallback(o, hp, &r.f);
	if (regions) {
		ret = wsp_batch_plan_make(regions, n_regions, W_SAMPLES, &plan);
		if (ret) {
			snprintf(err, errlen, "speech regions: %s", strerror(-ret));
			return ret;
		}
		r.plan = &plan;
		if (n_work > plan.n_win)
			n_work = plan.n_win > 0 ? plan.n_win : 1;
	} else if (src->total_s > 0) {
		double est = ceil(src->total_s / 30.0);

		if (est < n_work)
			n_work = est < 1 ? 1 : (int)est;
	}
	/*
	 * Several windows in flight hold their cross-attention keys and values
	 * at once (8 × 18 MB on tiny.en, × 37 MB on base in fp32): compact,
	 * they take half (forward.h, struct wsp_exec). One window in flight
	 * holds what the sequential mode holds, and keeps its fp32 numbers, so
	 * a one-window recording decodes as the sequential mode does.
	 */
	r.x_dec = c->exec;
	r.x_dec.compact_kv = n_work > 1;
	ret = set_language(&r, err, errlen);
	if (!ret && o->initial_prompt) {
		ret = wsp_seek_prompt_tokens(c, o->initial_prompt, r.init, PROMPT_MAX, &r.n_init);
		if (ret)
			snprintf(err, errlen, "initial prompt: %s", strerror(-ret));
	}
	res->word_timestamps = o->word_timestamps != 0;
	r.n_slots = 2 * n_work;
	if (!ret) {
		r.slots = calloc((size_t)r.n_slots, sizeof(*r.slots));
		k = calloc((size_t)n_work, sizeof(*k));
		if (!regions)
			r.carry = malloc(QUIET_SEARCH * sizeof(float));
		if (!r.slots || !k || (!regions && !r.carry)) {
			snprintf(err, errlen, "out of memory");
			ret = -ENOMEM;
		}
	}
	for (int i = 0; !ret && i < r.n_slots; i++)
		r.slots[i].w = -1;
	if (!ret && pthread_mutex_init(&r.lock, NULL)) {
		snprintf(err, errlen, "cannot make a lock");
		ret = -ENOMEM;
	}
	if (!ret && pthread_cond_init(&r.cv, NULL)) {
		pthread_mutex_destroy(&r.lock);
		snprintf(err, errlen, "cannot make a condition variable");
		ret = -ENOMEM;
	}
	if (ret) {
		free(r.slots);
		free(k);
		free(r.carry);
		wsp_batch_plan_free(&plan);
		return ret;
	}
	for (n_made = 0; n_made < n_work; n_made++) {
		ret = worker_init(&r, &k[n_made], err, errlen);
		if (ret) {
			worker_free(&k[n_made]);
			break;
		}
	}
	if (n_made > 0)
		ret = 0;       /* fewer workers than asked: fewer windows in flight */
	/*
	 * One encoder (job graph and activations, ~50 MB for tiny) per eight
	 * workers: a window spends most of its time decoding, so a worker
	 * seldom waits for one, and N encoders would be most of the memory.
	 */
	if (!ret) {
		int want = (n_made + 7) / 8;

		r.enc = calloc((size_t)want, sizeof(*r.enc));
		r.idle = calloc((size_t)want, sizeof(*r.idle));
		ret = r.enc && r.idle ? 0 : -ENOMEM;
		r.mel_full_frames = wsp_mel_frames(W_SAMPLES + HOP);
		while (!ret && r.n_enc < want) {
			struct enc_slot *e = &r.enc[r.n_enc];

			e->mel_full = malloc((size_t)hp->n_mels * r.mel_full_frames * sizeof(float));
			e->mel = malloc((size_t)hp->n_mels * N_FRAMES * sizeof(float));
			ret = e->mel_full && e->mel ? wsp_encoder_new(c->model, &c->exec, &e->e) : -ENOMEM;
			if (ret) {
				free(e->mel_full);
				free(e->mel);
				break;
			}
			r.idle[r.n_idle++] = e;
			r.n_enc++;
		}
		if (r.n_enc > 0)
			ret = 0;   /* fewer encoders than wanted: windows wait for one longer */
		else
			snprintf(err, errlen, "encoder: %s", strerror(-ret));
	}
	/* worker 0 is this thread; the others get their own */
	for (int i = 1; !ret && i < n_made; i++)
		k[i].started = !pthread_create(&k[i].th, NULL, worker_main, &k[i]);
	if (!ret) {
		err[0] = 0;
		work(&k[0]);
	}
	for (int i = 1; i < n_made; i++)
		if (k[i].started)
			pthread_join(k[i].th, NULL);
	for (int i = 0; i < n_made; i++)
		worker_free(&k[i]);
	for (int i = 0; i < r.n_enc; i++) {
		wsp_encoder_free(r.enc[i].e);
		free(r.enc[i].mel_full);
		free(r.enc[i].mel);
	}
	free(r.enc);
	free(r.idle);
	if (!ret && r.ret) {
		ret = r.ret;
		snprintf(err, errlen, "%s", r.err);
	}
	if (!ret)
		res->duration_s = r.plan && src->total_s > 0 ? src->total_s :
				  (double)r.read_pos / WSP_SAMPLE_RATE;
	for (int i = 0; i < r.n_slots && r.slots; i++)
		slot_clear(&r.slots[i]);
	pthread_cond_destroy(&r.cv);
	pthread_mutex_destroy(&r.lock);
	free(r.slots);
	free(k);
	free(r.carry);
	wsp_batch_plan_free(&plan);
	if (ret)
		wsp_result_free(res);
	return ret;
}
