/* SPDX-License-Identifier: MIT */
/*
 * whisper/decode/seek.h - the long-form loop (internal): audio read in pieces, one
 * 30 s window at a time through log-mel, encoder and the fallback ladder,
 * segments split at timestamp pairs, the window start advanced to the last
 * timestamp. Also the context struct that wsp_context_*() manage.
 */
#ifndef AMN_WSP_SEEK_H
#define AMN_WSP_SEEK_H

#include <stddef.h>

#include "whisper/decode/decode.h"
#include "whisper/nn/forward.h"
#include "whisper/audio/mel.h"
#include "whisper/text/tokenizer.h"
#include "whisper/transcribe.h"

struct npu_tenant;

/* What every transcription on one context shares; read-only once made. */
struct wsp_context {
	const struct wsp_model *model;
	struct wsp_exec exec;
	struct npu_engine *engine;   /* not owned; NULL: matmuls call the tiler directly */
	struct npu_tenant *tenant;   /* owned; NULL without an engine */
	struct wsp_dec_gang *gang;   /* owned; concurrent transcriptions' decoder steps run stacked */
	struct wsp_tokenizer *tok;
	struct wsp_mel *mel;
	struct wsp_rules rules;
	int multilingual;
	/* non-NULL: gang, tok, mel and rules are @base's, borrowed (wsp_context_new_tenant) */
	const struct wsp_context *base;
};

/* Where samples come from: 16 kHz mono, read in pieces. */
struct wsp_source {
	/* up to @max samples into @dst; 0 at the end; -errno with @err set */
	long (*read)(void *arg, float *dst, size_t max, char *err, size_t errlen);
	/* back to the first sample (for the normalization pass); 0 or -errno */
	int (*rewind)(void *arg, char *err, size_t errlen);
	void *arg;
	double total_s;              /* for progress; 0 when unknown */
};

/**
 * wsp_seek_run - transcribe everything @src yields with context @c and
 * options @o into @res (zeroed first). Memory is bounded by one window.
 * Audio longer than one window is read twice: first for the log-mel maximum
 * of the whole stream (the normalization faster-whisper applies to its
 * features), then window by window.
 * Return: 0, or -errno with @err set (@res is then released).
 */
int wsp_seek_run(const struct wsp_context *c, struct wsp_source *src,
		 const struct wsp_transcribe_opts *o, struct wsp_result *res,
		 char *err, size_t errlen);

/**
 * wsp_split_segments - openai/faster-whisper's split of one window's tokens at
 * consecutive timestamp pairs.
 * @tokens, @n: the decoded tokens (eot excluded); @tb: timestamp_begin.
 * @seek: the window's first frame; @segment_size: its frame count.
 * @bounds: out, up to @max (start, end) token index pairs, end exclusive.
 * @t: out, (start, end) seconds per segment.
 * @next_seek: out, where the next window starts (frames).
 * Return: the number of segments.
 */
int wsp_split_segments(const int32_t *tokens, int n, int32_t tb, int seek, int segment_size,
		       int (*bounds)[2], double (*t)[2], int max, int *next_seek);

/**
 * wsp_seek_fallback - the fallback ladder's settings (@f) for options @o on
 * a model of @hp: beam size, best_of and patience floored at 1, at most
 * n_text_ctx / 2 new tokens, the timestamp rules unless without_timestamps.
 */
void wsp_seek_fallback(const struct wsp_transcribe_opts *o, const struct wsp_hparams *hp,
		       struct wsp_fallback *f);

/**
 * wsp_seek_prompt_tokens - the tokens of an initial prompt, as faster-whisper
 * encodes it (" " + text.strip()): the last @max of them into @out, their
 * count into *@n_out.
 * Return: 0 or -errno (-ENOMEM).
 */
int wsp_seek_prompt_tokens(const struct wsp_context *c, const char *text, int32_t *out,
			   int max, int *n_out);

/** wsp_seek_now_ms - CLOCK_MONOTONIC in milliseconds, for the stage timings of struct wsp_result. */
double wsp_seek_now_ms(void);

/**
 * wsp_seek_blank - whether @n bytes of @s are all white space (space, tab,
 * newline, carriage return, vertical tab, form feed).
 * Return: 1 or 0 (1 for @n 0).
 */
int wsp_seek_blank(const char *s, size_t n);

#endif
