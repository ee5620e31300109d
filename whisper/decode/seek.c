// SPDX-License-Identifier: MIT
/*
 * whisper/decode/seek.c - the long-form loop, as openai-whisper's transcribe() and
 * faster-whisper's generate_segments(): 30 s windows starting at `seek`
 * (frames of 10 ms), each one read from the source, turned into log-mel
 * (zero frames past the audio's end), encoded and decoded with the fallback
 * ladder under a prompt of the previous text; segments are split at
 * timestamp pairs and the next window starts at the last timestamp (or after
 * the window when it ended on a single timestamp or had none).
 *
 * Only one window of samples (plus 2 frames before and 400 samples after it)
 * is held: memory is bounded whatever the audio length.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "whisper/audio/audio.h"
#include "whisper/decode/batch.h"
#include "whisper/decode/seek.h"
#include "whisper/decode/words.h"

#define N_FRAMES   3000                      /* frames per window */
#define HOP        WSP_HOP_LENGTH            /* samples per frame */
#define PRE_FRAMES 2                         /* frames of left context */
#define POST_SAMP  400                       /* samples of right context */
#define PREV_MAX   448
#define SILENCE    1e-4f      /* |sample| below: digital silence (about 3 LSB of 16 bits) */
#define MIN_QUIET  100        /* frames of silence before a window start is moved */
#define QUIET_KEEP 20         /* frames of silence kept before the first sound */

double wsp_seek_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

int wsp_split_segments(const int32_t *tokens, int n, int32_t tb, int seek, int segment_size,
		       int (*bounds)[2], double (*t)[2], int max, int *next_seek)
{
	double off = seek * 0.01;
	int single_end = n >= 2 && tokens[n - 2] < tb && tokens[n - 1] >= tb;
	int n_seg = 0, last = 0, any_pair = 0;

	for (int i = 1; i < n; i++) {
		if (!(tokens[i] >= tb && tokens[i - 1] >= tb))
			continue;
		any_pair = 1;
		if (n_seg < max && i > last) {
			bounds[n_seg][0] = last;
			bounds[n_seg][1] = i;
			t[n_seg][0] = off + (tokens[last] - tb) * WSP_TIME_PRECISION;
			t[n_seg][1] = off + (tokens[i - 1] - tb) * WSP_TIME_PRECISION;
			n_seg++;
		}
		last = i;
	}
	if (any_pair) {
		if (single_end) {
			if (n_seg < max && n > last) {
				bounds[n_seg][0] = last;
				bounds[n_seg][1] = n;
				t[n_seg][0] = off + (tokens[last] - tb) * WSP_TIME_PRECISION;
				t[n_seg][1] = off + (tokens[n - 1] - tb) * WSP_TIME_PRECISION;
				n_seg++;
			}
			*next_seek = seek + segment_size;
		} else {
			/* drop the unfinished tail; restart at the last timestamp */
			*next_seek = seek + (tokens[last - 1] - tb) * 2;
		}
		return n_seg;
	}
	{
		double dur = segment_size * 0.01;
		int32_t last_ts = -1;

		for (int i = 0; i < n; i++)
			if (tokens[i] >= tb)
				last_ts = tokens[i];
		if (last_ts >= 0 && last_ts != tb)
			dur = (last_ts - tb) * WSP_TIME_PRECISION;
		if (max > 0) {
			bounds[0][0] = 0;
			bounds[0][1] = n;
			t[0][0] = off;
			t[0][1] = off + dur;
			n_seg = 1;
		}
		*next_seek = seek + segment_size;
	}
	return n_seg;
}

/* One transcription's state: buffers sized once, reused by every window. */
struct job {
	const struct wsp_context *c;
	const struct wsp_transcribe_opts *o;
	struct wsp_source *src;
	struct wsp_result *res;
	int seg_cap;
	/* samples [b0, b0 + n) of the stream */
	float *buf;
	size_t b0, n, cap;
	int eof;
	size_t total;            /* samples in the stream, once eof */
	float *mel_full, *mel;   /* mel of the held samples; the window's n_mels × 3000 */
	size_t mel_full_frames;
	float *enc;
	struct wsp_encoder *encoder;   /* made once, run on every window */
	float floor;             /* normalized log-mel floor of the whole stream; -inf: none */
	struct wsp_dec_ws *ws;
	int32_t prev[PREV_MAX];  /* the last tokens since the prompt was reset */
	int n_prev;
	int32_t prompt[PREV_MAX + 8];
	uint64_t rng;
	/* word timestamps (o->word_timestamps) */
	int words_on;
	struct wsp_words words;
	double last_speech;      /* end of the last word spoken, seconds */
	int32_t sot_seq[3];      /* sot [language task]: the alignment pass's prompt */
	int n_sot_seq;
	char *err;
	size_t errlen;
};

/* Hold the samples [max(0, seek - 2 frames), seek + 3000 frames + 400). */
static int fill(struct job *j, int seek)
{
	size_t a = (size_t)(seek > PRE_FRAMES ? seek - PRE_FRAMES : 0) * HOP;
	size_t e = (size_t)(seek + N_FRAMES) * HOP + POST_SAMP;

	if (a > j->b0) {
		size_t drop = a - j->b0;

		if (drop >= j->n) {
			/* past what is held: skip samples by reading them away */
			j->b0 += j->n;
			j->n = 0;
			while (!j->eof && j->b0 < a) {
				size_t want = a - j->b0 < j->cap ? a - j->b0 : j->cap;
				long got = j->src->read(j->src->arg, j->buf, want, j->err, j->errlen);

				if (got < 0)
					return (int)got;
				if (got == 0)
					j->eof = 1;
				j->b0 += (size_t)got;
			}
		} else {
			memmove(j->buf, j->buf + drop, (j->n - drop) * sizeof(float));
			j->n -= drop;
			j->b0 = a;
		}
	}
	while (!j->eof && j->b0 + j->n < e) {
		size_t want = e - (j->b0 + j->n);
		long got;

		if (want > j->cap - j->n)
			want = j->cap - j->n;
		got = j->src->read(j->src->arg, j->buf + j->n, want, j->err, j->errlen);
		if (got < 0)
			return (int)got;
		if (got == 0)
			j->eof = 1;
		j->n += (size_t)got;
	}
	if (j->eof)
		j->total = j->b0 + j->n;
	return 0;
}

/*
 * The window's log-mel: frames seek .. seek + size - 1 of the stream's
 * (audio + 160 zero samples) spectrogram, then zero frames up to 3000, as
 * faster-whisper slices and pads its features.
 */
static int window_mel(struct job *j, int seek, int size)
{
	const int n_mels = wsp_model_hparams(j->c->model)->n_mels;
	size_t len = j->n, frames, off;
	int ret;

	if (j->eof) {        /* the stream's tail: 160 zeros, as the feature extractor pads */
		memset(j->buf + j->n, 0, HOP * sizeof(float));
		len += HOP;
	}
	frames = wsp_mel_frames(len);
	off = (size_t)seek - j->b0 / HOP;
	if (frames > j->mel_full_frames)
		return -EINVAL;   /* buffers are sized for the largest window */
	if (off + (size_t)size > frames)
		size = (int)(frames - off);
	ret = wsp_mel_compute(j->c->mel, j->buf, len, j->mel_full);
	if (ret)
		return ret;
	for (int m = 0; m < n_mels; m++) {
		float *dst = j->mel + (size_t)m * N_FRAMES;
		const float fl = j->floor;

		memcpy(dst, j->mel_full + (size_t)m * frames + off, (size_t)size * sizeof(float));
		for (int k = 0; k < size; k++)   /* the whole stream's floor (max - 8) */
			dst[k] = dst[k] < fl ? fl : dst[k];
		memset(dst + size, 0, (size_t)(N_FRAMES - size) * sizeof(float));
	}
	return 0;
}

/*
 * The first pass over a stream longer than one window: the maximum of its
 * log-mel (all frames, as faster-whisper's feature extractor normalizes
 * them), 3000 frames at a time from the same held samples as the windows.
 * A window's normalized features are then floored at that maximum - 8: for a
 * value clamped at its own window's floor, the true value is below the
 * stream's floor too, so the result is the stream-normalized feature exactly.
 */
static int stream_floor(struct job *j)
{
	const int n_mels = wsp_model_hparams(j->c->model)->n_mels;
	float mx = -INFINITY;
	int seek = 0, ret;

	for (;;) {
		size_t len, frames, off, end;

		ret = fill(j, seek);
		if (ret)
			return ret;
		len = j->n;
		if (j->eof) {
			memset(j->buf + j->n, 0, HOP * sizeof(float));
			len += HOP;
		}
		frames = wsp_mel_frames(len);
		off = (size_t)seek - j->b0 / HOP;
		end = j->eof ? frames : off + N_FRAMES;
		if (end > frames)
			end = frames;
		if (off >= end)
			break;
		ret = wsp_mel_compute(j->c->mel, j->buf, len, j->mel_full);
		if (ret)
			return ret;
		for (int m = 0; m < n_mels; m++) {
			const float *row = j->mel_full + (size_t)m * frames;

			for (size_t k = off; k < end; k++)
				mx = row[k] > mx ? row[k] : mx;
		}
		if (j->eof && end == frames)
			break;
		seek += N_FRAMES;
	}
	/* normalized max is (max + 4) / 4, its floor ((max - 8) + 4) / 4 */
	j->floor = mx - 2.0f;
	return 0;
}

/* Two passes when the audio does not fit one window; rewinds the source. */
static int prepare(struct job *j)
{
	int ret = fill(j, 0);

	if (ret || j->eof || !j->src->rewind)
		return ret;      /* one window holds it all: its own max is the stream's */
	ret = stream_floor(j);
	if (!ret)
		ret = j->src->rewind(j->src->arg, j->err, j->errlen);
	j->b0 = j->n = 0;
	j->eof = 0;
	j->total = 0;
	return ret;
}

/*
 * Where the window at @seek should start: past a leading run of digital
 * silence of at least MIN_QUIET frames (keeping QUIET_KEEP frames of it).
 * Return: the new seek; seek + N_FRAMES when all held samples of the window
 * are silent (the caller refills and looks again).
 */
static int skip_silence(const struct job *j, int seek)
{
	size_t from = (size_t)seek * HOP - j->b0, end = j->n, lim;
	size_t i;

	lim = from + (size_t)N_FRAMES * HOP;
	if (end > lim)
		end = lim;
	for (i = from; i < end; i++)
		if (j->buf[i] > SILENCE || j->buf[i] < -SILENCE)
			break;
	if (i == end)
		return end == lim ? seek + N_FRAMES : (int)((j->b0 + end) / HOP) + 1;
	if ((i - from) / HOP < MIN_QUIET)
		return seek;
	return (int)((j->b0 + i) / HOP) - QUIET_KEEP;
}

/* a new segment; takes @words (NULL or @n_words malloc'd words) on success */
static int add_segment(struct job *j, double t0, double t1, const int32_t *toks, int n,
		       const char *text, size_t tlen, const struct wsp_decoded *d,
		       struct wsp_word *words, int n_words)
{
	struct wsp_result *r = j->res;
	struct wsp_segment *s;

	if (r->n_segments == j->seg_cap) {
		int cap = j->seg_cap ? 2 * j->seg_cap : 16;
		struct wsp_segment *p = realloc(r->segments, (size_t)cap * sizeof(*p));

		if (!p)
			return -ENOMEM;
		r->segments = p;
		j->seg_cap = cap;
	}
	s = &r->segments[r->n_segments];
	memset(s, 0, sizeof(*s));
	s->text = malloc(tlen + 1);
	s->tokens = malloc(((size_t)n + 1) * sizeof(int32_t));
	if (!s->text || !s->tokens) {
		free(s->text);
		free(s->tokens);
		return -ENOMEM;
	}
	memcpy(s->text, text, tlen);
	s->text[tlen] = 0;
	memcpy(s->tokens, toks, (size_t)n * sizeof(int32_t));
	s->n_tokens = n;
	s->start = t0;
	s->end = t1;
	s->avg_logprob = d->avg_logprob;
	s->no_speech_prob = d->no_speech_prob;
	s->compression_ratio = d->compression_ratio;
	s->temperature = d->temperature;
	s->words = words;
	s->n_words = n_words;
	r->n_segments++;
	return 0;
}

int wsp_seek_blank(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!(s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r' ||
		      s[i] == '\v' || s[i] == '\f'))
			return 0;
	return 1;
}

/* Remember @n tokens for the next window's prompt (keeps the last PREV_MAX). */
static void remember(struct job *j, const int32_t *t, int n)
{
	if (n >= PREV_MAX) {
		memcpy(j->prev, t + n - PREV_MAX, PREV_MAX * sizeof(int32_t));
		j->n_prev = PREV_MAX;
		return;
	}
	if (j->n_prev + n > PREV_MAX) {
		int drop = j->n_prev + n - PREV_MAX;

		memmove(j->prev, j->prev + drop, (size_t)(j->n_prev - drop) * sizeof(int32_t));
		j->n_prev -= drop;
	}
	memcpy(j->prev + j->n_prev, t, (size_t)n * sizeof(int32_t));
	j->n_prev += n;
}

/* [<|startofprev|> previous...] sot [lang task] [<|notimestamps|>] */
static int build_prompt(struct job *j, int32_t lang, int *sot_index)
{
	const struct wsp_special_tokens *sp = &j->c->rules.sp;
	const int n_ctx = wsp_model_hparams(j->c->model)->n_text_ctx;
	int keep = n_ctx / 2 - 1, n = 0;

	if (j->n_prev > 0 && sp->sot_prev >= 0) {
		int k = j->n_prev < keep ? j->n_prev : keep;

		j->prompt[n++] = sp->sot_prev;
		memcpy(j->prompt + n, j->prev + j->n_prev - k, (size_t)k * sizeof(int32_t));
		n += k;
	}
	*sot_index = n;
	j->prompt[n++] = sp->sot;
	if (j->c->multilingual) {
		j->prompt[n++] = lang;
		j->prompt[n++] = j->o->task == WSP_TASK_TRANSLATE ? sp->translate : sp->transcribe;
	}
	if (j->o->without_timestamps && sp->no_timestamps >= 0)
		j->prompt[n++] = sp->no_timestamps;
	return n;
}

static int set_language(struct job *j, struct wsp_win *win, int n_seq, int32_t *lang)
{
	const struct wsp_context *c = j->c;
	struct wsp_decoder *d;
	const char *code;
	float p = 1.0f;
	int ret;

	j->sot_seq[0] = c->rules.sp.sot;
	j->n_sot_seq = 1;
	if (!c->multilingual) {
		snprintf(j->res->language, sizeof(j->res->language), "en");
		j->res->language_prob = 1.0f;
		*lang = -1;
		return 0;
	}
	if (j->o->language) {
		*lang = wsp_tokenizer_lang_token(c->tok, j->o->language);
		if (*lang < 0) {
			snprintf(j->err, j->errlen, "unknown language '%s'", j->o->language);
			return -EINVAL;
		}
	} else {
		ret = wsp_win_decoder(win, n_seq, &d);
		if (ret)
			return ret;
		ret = wsp_detect_language(d, n_seq, &c->rules, j->ws, &p);
		if (ret < 0)
			return ret;
		*lang = ret;
	}
	code = wsp_tokenizer_lang_code(c->tok, *lang);
	snprintf(j->res->language, sizeof(j->res->language), "%s", code ? code : "?");
	j->sot_seq[1] = *lang;
	j->sot_seq[2] = j->o->task == WSP_TASK_TRANSLATE ? c->rules.sp.translate : c->rules.sp.transcribe;
	j->n_sot_seq = 3;
	wsp_words_set_language(&j->words, code);
	j->res->language_prob = p;
	return 0;
}

/* faster-whisper's get_end: the last word's end, else the last segment's end */
static int get_end(const struct wsp_word_seg *g, int n, double *end)
{
	for (int i = n - 1; i >= 0; i--)
		if (g[i].n_words) {
			*end = g[i].words[g[i].n_words - 1].end;
			return 1;
		}
	if (n)
		*end = g[n - 1].end;
	return n > 0;
}

/* is_segment_anomaly() of a segment (NULL: no) */
static int seg_anomaly(const struct wsp_word_seg *g)
{
	return g && wsp_words_anomalous(g->words, g->n_words);
}

static const struct wsp_word_seg *next_words_seg(const struct wsp_word_seg *g, int n)
{
	for (int i = 0; i < n; i++)
		if (g[i].n_words)
			return &g[i];
	return NULL;
}

/*
 * hallucination_silence_threshold, as openai-whisper: returns 1 when the
 * whole window is to be redone from *@next_seek (a hallucination after a
 * leading silence), else 0 with *@n_keep the segments kept (the rest
 * dropped, *@next_seek moved past the silence when one is cut).
 */
static int skip_hallucination(const struct job *j, const struct wsp_word_seg *g, int n,
			      int seek, int size, int *n_keep, int *next_seek)
{
	double thr = j->o->hallucination_silence_threshold, off = seek * 0.01;
	double seg_dur = size * 0.01, win_end = (seek + N_FRAMES) * 0.01;
	double content = j->eof ? (double)j->total / WSP_SAMPLE_RATE : INFINITY;
	const struct wsp_word_seg *first = next_words_seg(g, n);
	double last_end = j->last_speech;

	*n_keep = n;
	if (first && seg_anomaly(first)) {
		double gap = first->start - off;

		if (gap > thr) {
			*next_seek = seek + (int)lround(gap * 100);
			return 1;
		}
	}
	for (int i = 0; i < n; i++) {
		const struct wsp_word_seg *s = &g[i], *nx;
		double next_start;
		int before, after;

		if (!s->n_words)
			continue;
		if (seg_anomaly(s)) {
			nx = next_words_seg(g + i + 1, n - i - 1);
			next_start = nx ? nx->words[0].start : off + seg_dur;
			before = s->start - last_end > thr || s->start < thr || s->start - off < 2.0;
			after = next_start - s->end > thr || seg_anomaly(nx) || win_end - s->end < 2.0;
			if (before && after) {
				*next_seek = (int)lround(fmax(off + 1, s->start) * 100);
				if (content - s->end < thr)
					*next_seek = (int)(j->total / HOP);
				*n_keep = i;
				return 0;
			}
		}
		last_end = s->end;
	}
	return 0;
}

/* The segments of one decoded window; updates the prompt memory. */
static int emit(struct job *j, struct wsp_win *win, const struct wsp_decoded *d, int seek,
		int size, int *next_seek, int *redo)
{
	enum { MAX_SEG = 256 };
	int bounds[MAX_SEG][2];
	double t[MAX_SEG][2];
	struct wsp_word_seg g[MAX_SEG];
	int n_seg, n_keep, ret = 0;

	*redo = 0;
	n_seg = wsp_split_segments(d->tokens, d->n_tokens, j->c->rules.sp.timestamp_begin, seek,
				   size, bounds, t, MAX_SEG, next_seek);
	memset(g, 0, sizeof(g[0]) * (size_t)(n_seg > 0 ? n_seg : 1));
	for (int i = 0; i < n_seg; i++) {
		g[i].start = t[i][0];
		g[i].end = t[i][1];
		g[i].tokens = d->tokens + bounds[i][0];
		g[i].n_tokens = bounds[i][1] - bounds[i][0];
	}
	n_keep = n_seg;
	if (j->words_on && n_seg > 0) {
		const int32_t *tk = d->tokens;
		int n = d->n_tokens, tb = j->c->rules.sp.timestamp_begin;
		int single_end = n >= 2 && tk[n - 2] < tb && tk[n - 1] >= tb;
		struct wsp_decoder *dec;
		double end;

		ret = wsp_win_any_decoder(win, &dec);
		if (!ret)
			ret = wsp_words_window(&j->words, dec, j->sot_seq, j->n_sot_seq, g, n_seg,
					       seek * 0.01, size, j->last_speech);
		if (ret)
			return ret;
		if (!single_end && get_end(g, n_seg, &end) && end > seek * 0.01)
			*next_seek = (int)lround(end * 100);
		if (j->o->hallucination_silence_threshold > 0.0f &&
		    skip_hallucination(j, g, n_seg, seek, size, &n_keep, next_seek)) {
			wsp_word_segs_free(g, n_seg);
			*redo = 1;
			return 0;
		}
		if (get_end(g, n_keep, &end))
			j->last_speech = end;
	}
	for (int i = 0; i < n_keep && !ret; i++) {
		size_t len;
		const char *text = wsp_text_of(j->c->tok, g[i].tokens, g[i].n_tokens, j->ws, &len);

		if (!text) {
			ret = -ENOMEM;
			break;
		}
		if (g[i].start == g[i].end || wsp_seek_blank(text, len))
			continue;
		ret = add_segment(j, g[i].start, g[i].end, g[i].tokens, g[i].n_tokens, text, len,
				  d, g[i].words, g[i].n_words);
		if (ret)
			break;
		g[i].words = NULL;     /* the segment owns them now */
		g[i].n_words = 0;
		remember(j, g[i].tokens, g[i].n_tokens);
		if (j->o->on_segment)
			j->o->on_segment(j->o->hook_arg, &j->res->segments[j->res->n_segments - 1],
					 j->res->n_segments - 1);
	}
	wsp_word_segs_free(g, n_seg);
	return ret;
}

void wsp_seek_fallback(const struct wsp_transcribe_opts *o, const struct wsp_hparams *hp,
		       struct wsp_fallback *f)
{
	*f = (struct wsp_fallback){
		.temps = o->temperatures,
		.n_temps = o->n_temperatures,
		.beam_size = o->beam_size > 0 ? o->beam_size : 1,
		.best_of = o->best_of > 0 ? o->best_of : 1,
		.patience = o->patience > 0 ? o->patience : 1.0f,
		.length_penalty = o->length_penalty,
		.cr_threshold = o->compression_ratio_threshold,
		.lp_threshold = o->logprob_threshold,
		.ns_threshold = o->no_speech_threshold,
		.max_new = hp->n_text_ctx / 2,
		.beam_openai = o->openai_rules,
		.rules = {
			.timestamps = !o->without_timestamps,
			.suppress_blank = o->suppress_blank,
			.max_initial_ts = (int)lround(WSP_MAX_INITIAL_TS / WSP_TIME_PRECISION),
			.strict_increase = o->openai_rules,
		},
	};
}

static int run(struct job *j)
{
	const struct wsp_context *c = j->c;
	const struct wsp_transcribe_opts *o = j->o;
	const struct wsp_hparams *hp = wsp_model_hparams(c->model);
	struct wsp_fallback f;
	struct wsp_win win = { .m = c->model, .x = &c->exec, .enc = j->enc };
	int32_t lang = -1;
	int seek = 0, first = 1, ret = 0;
	double t0;

	wsp_seek_fallback(o, hp, &f);
	t0 = wsp_seek_now_ms();
	ret = prepare(j);
	j->res->mel_ms += wsp_seek_now_ms() - t0;
	if (ret)
		return ret;
	if (!c->multilingual || o->language) {
		ret = set_language(j, &win, f.beam_size, &lang);
		if (ret)
			return ret;
		first = 0;
	}
	while (1) {
		struct wsp_decoded d;
		int size, sot_index, n_prompt, next_seek;
		size_t content;

		t0 = wsp_seek_now_ms();
		ret = fill(j, seek);
		j->res->audio_ms += wsp_seek_now_ms() - t0;
		if (ret)
			break;
		content = j->eof ? j->total / HOP : (size_t)seek + N_FRAMES;
		if ((size_t)seek >= content)
			break;
		next_seek = skip_silence(j, seek);
		if (next_seek != seek) {
			seek = next_seek;
			continue;
		}
		size = (size_t)seek + N_FRAMES <= content ? N_FRAMES : (int)(content - seek);
		if (o->window_begin) {
			ret = o->window_begin(o->hook_arg, seek * 0.01, size * 0.01);
			if (ret)
				break;
		}

		t0 = wsp_seek_now_ms();
		ret = window_mel(j, seek, size);
		j->res->mel_ms += wsp_seek_now_ms() - t0;
		if (!ret) {
			t0 = wsp_seek_now_ms();
			ret = wsp_encoder_run(j->encoder, j->mel, j->enc);
			j->res->encode_ms += wsp_seek_now_ms() - t0;
		}
		if (ret) {
			if (o->window_end)
				o->window_end(o->hook_arg);
			break;
		}

		t0 = wsp_seek_now_ms();
		if (first && lang < 0 && c->multilingual) {
			ret = set_language(j, &win, f.beam_size, &lang);
			if (ret)
				break;
			first = 0;
		}
		n_prompt = build_prompt(j, lang, &sot_index);
		ret = wsp_decode_fallback(&win, &c->rules, c->tok, &f, j->prompt, n_prompt,
					  sot_index, &j->rng, j->ws, &d);
		if (!ret) {
			int skip = o->no_speech_threshold < 1.0f &&
				   d.no_speech_prob > o->no_speech_threshold;

			if (o->logprob_threshold > -1e9f && d.avg_logprob > o->logprob_threshold)
				skip = 0;   /* likely enough to be speech after all */
			if (skip) {
				next_seek = seek + size;
			} else {
				int redo;

				ret = emit(j, &win, &d, seek, size, &next_seek, &redo);
				if (!redo && (!o->condition_on_previous_text || d.temperature > 0.5f))
					j->n_prev = 0;
			}
		}
		wsp_win_next(&win);   /* decoders kept, new cross keys/values next window */
		j->res->decode_ms += wsp_seek_now_ms() - t0;
		if (o->window_end)
			o->window_end(o->hook_arg);
		if (ret)
			break;
		if (next_seek <= seek)
			next_seek = seek + 1;   /* never loop on one window */
		seek = next_seek;
		if (o->progress)
			o->progress(o->progress_arg, seek * 0.01, j->src->total_s);
	}
	wsp_win_release(&win);
	if (j->eof || !ret)
		j->res->duration_s = (double)j->total / WSP_SAMPLE_RATE;
	return ret;
}

int wsp_seek_prompt_tokens(const struct wsp_context *c, const char *text, int32_t *out,
			   int max, int *n_out)
{
	/* " " + prompt.strip(), as faster-whisper */
	const char *p = text;
	int32_t *t;
	size_t len;
	char *s;
	int n;

	*n_out = 0;
	while (*p && wsp_seek_blank(p, 1))
		p++;
	len = strlen(p);
	while (len > 0 && wsp_seek_blank(p + len - 1, 1))
		len--;
	s = malloc(len + 2);
	t = malloc((len + 8) * sizeof(int32_t));
	if (!s || !t) {
		free(s);
		free(t);
		return -ENOMEM;
	}
	s[0] = ' ';
	memcpy(s + 1, p, len);
	s[len + 1] = 0;
	n = wsp_tokenizer_encode(c->tok, s, t, (int)len + 8);
	if (n > (int)len + 8)
		n = (int)len + 8;
	if (n > 0) {
		int k = n < max ? n : max;   /* the last @max tokens */

		memcpy(out, t + n - k, (size_t)k * sizeof(int32_t));
		*n_out = k;
	}
	free(t);
	free(s);
	return n < 0 ? n : 0;
}

int wsp_seek_run(const struct wsp_context *c, struct wsp_source *src,
		 const struct wsp_transcribe_opts *o, struct wsp_result *res,
		 char *err, size_t errlen)
{
	const struct wsp_hparams *hp = wsp_model_hparams(c->model);
	struct job j;
	int max_seq, ret;

	if (o->batch > 1)
		return wsp_batch_run(c, src, o, NULL, 0, res, err, errlen);
	memset(res, 0, sizeof(*res));
	memset(&j, 0, sizeof(j));
	j.c = c;
	j.o = o;
	j.src = src;
	j.res = res;
	j.err = err;
	j.errlen = errlen;
	j.rng = o->seed ^ 0x5eedf00dull;
	j.floor = -INFINITY;
	max_seq = o->beam_size > o->best_of ? o->beam_size : o->best_of;
	if (max_seq < 1)
		max_seq = 1;
	if (hp->n_audio_ctx * 2 != N_FRAMES) {
		snprintf(err, errlen, "model has %d audio positions; windows need 1500", hp->n_audio_ctx);
		return -EINVAL;
	}
	j.cap = (size_t)(N_FRAMES + PRE_FRAMES) * HOP + POST_SAMP + HOP;
	j.mel_full_frames = wsp_mel_frames(j.cap);
	j.buf = malloc(j.cap * sizeof(float));
	j.mel_full = malloc((size_t)hp->n_mels * j.mel_full_frames * sizeof(float));
	j.mel = malloc((size_t)hp->n_mels * N_FRAMES * sizeof(float));
	j.enc = malloc((size_t)hp->n_audio_ctx * hp->n_audio_state * sizeof(float));
	ret = -ENOMEM;
	if (j.buf && j.mel_full && j.mel && j.enc)
		ret = wsp_dec_ws_new(max_seq, hp->n_vocab, hp->n_text_ctx, &j.ws);
	if (!ret && o->word_timestamps) {
		ret = wsp_words_init(&j.words, c->model, c->tok, o, err, errlen);
		j.words_on = !ret;
		res->word_timestamps = j.words_on;
	}
	if (!ret) {
		ret = wsp_encoder_new(c->model, &c->exec, &j.encoder);
		if (ret && ret != -ENOMEM)
			snprintf(err, errlen, "encoder: %s", strerror(-ret));
	}
	j.cap -= HOP;   /* room for the 160 zeros of the stream's tail */
	if (!ret && o->initial_prompt) {
		int32_t t[PREV_MAX];
		int n;

		ret = wsp_seek_prompt_tokens(c, o->initial_prompt, t, PREV_MAX, &n);
		if (!ret)
			remember(&j, t, n);
	}
	if (ret == -ENOMEM)
		snprintf(err, errlen, "out of memory for the transcription buffers");
	if (!ret) {
		ret = run(&j);
		if (ret && !err[0])
			snprintf(err, errlen, "transcription failed: %s", strerror(-ret));
	}
	free(j.buf);
	free(j.mel_full);
	free(j.mel);
	free(j.enc);
	wsp_encoder_free(j.encoder);
	wsp_dec_ws_free(j.ws);
	if (j.words_on)
		wsp_words_release(&j.words);
	if (ret)
		wsp_result_free(res);
	return ret;
}
