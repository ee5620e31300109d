/* SPDX-License-Identifier: MIT */
/*
 * whisper/decode/words.h - word timestamps (internal), as openai-whisper's
 * timing.py and faster-whisper's add_word_timestamps compute them: one
 * teacher-forced decoder pass over a window's text tokens keeps the
 * cross-attention scores of the alignment heads; softmax over frames,
 * normalization per head over tokens, a median filter, the mean over heads
 * and dynamic time warping against the tokens give each token a start
 * frame; tokens are grouped into words, punctuation is merged, and
 * durations are clamped by openai's rules.
 *
 * words_dtw.c holds the arithmetic (no model, no tokenizer: unit-tested on
 * small matrices); words.c the words, the rules and the pass.
 */
#ifndef AMN_WSP_WORDS_H
#define AMN_WSP_WORDS_H

#include <stddef.h>
#include <stdint.h>

#include "whisper/nn/forward.h"
#include "whisper/text/tokenizer.h"
#include "whisper/transcribe.h"

/**
 * wsp_median_filter - replace each of the @rows rows of @x (@cols floats
 * each, stride @cols) by its running median over @width (odd) values,
 * the row reflected at both ends (numpy's "reflect": x[-1] is x[1]), as
 * openai-whisper's median_filter and CTranslate2's MedianFilter. Rows no
 * longer than @width / 2 are left as they are (CTranslate2).
 * Return: 0, -EINVAL (even or non-positive @width), -ENOMEM.
 */
int wsp_median_filter(float *x, int rows, int cols, int width);

/**
 * wsp_dtw - the cheapest monotonic path through the cost matrix -@x
 * (@n rows, @m columns, row-major), from (0, 0) to (n - 1, m - 1) with
 * steps down, right or diagonal, ties broken as openai-whisper's dtw_cpu
 * (diagonal only when strictly cheapest, then up, else left), costs
 * summed in float as CTranslate2's negative_dtw.
 * @pi, @pj: the path's rows and columns, room for n + m entries.
 * Return: the path length, or -ENOMEM / -EINVAL.
 */
int wsp_dtw(const float *x, int n, int m, int *pi, int *pj);

/**
 * wsp_align_matrix - the matrix DTW runs on, from raw attention scores.
 * @qk: @n_heads × @n_tok × @ld scaled scores (q·k / sqrt(hd)) of every
 *      input position against the audio frames; changed in place.
 * @n_frames: the audio frames that hold the window's content (content
 *      mel frames / 2); the softmax runs over those only.
 * @row0, @n_rows: the token rows wanted (the first after the sot
 *      sequence, text tokens + 1).
 * @out: @n_rows × @n_frames: softmax over frames, per head (x - mean) / std
 *      over all @n_tok positions, median filter of @width, mean over heads.
 * Return: 0 or -errno.
 */
int wsp_align_matrix(float *qk, int n_heads, int n_tok, size_t ld, int n_frames,
		     int row0, int n_rows, int width, float *out);

/** One segment of a window, as the word timing sees it. */
struct wsp_word_seg {
	double start, end;           /* in: the timestamp tokens' times; out: as the words say */
	const int32_t *tokens;       /* text and timestamp tokens */
	int n_tokens;
	struct wsp_word *words;      /* out: malloc'd array (NULL when none), owned by the caller */
	int n_words;
};

/* What the word timing of one transcription needs; scratch grows on demand. */
struct wsp_words {
	const struct wsp_tokenizer *tok;
	const struct wsp_special_tokens *sp;
	int n_vocab, n_audio_ctx, n_text_ctx;
	int32_t heads[2 * 256];      /* (layer, head) pairs */
	int n_heads;
	int by_char;                 /* zh, ja, th, lo, my, yue: a word per character */
	const char *prepend, *append;
	float *qk, *logits, *matrix;
	size_t qk_cap, logits_cap, matrix_cap;
	int32_t *feed;               /* sot sequence, notimestamps, text, eot */
	size_t feed_cap;
};

/**
 * wsp_words_init - word timing for transcriptions of @m with @tok: the
 * model's alignment heads (wsp_model_alignment_heads()), the punctuation
 * of @o. Return: 0 or -errno with @err set.
 */
int wsp_words_init(struct wsp_words *w, const struct wsp_model *m,
		   const struct wsp_tokenizer *tok, const struct wsp_transcribe_opts *o,
		   char *err, size_t errlen);

/** wsp_words_set_language - split words per character for @code in zh, ja, th, lo, my, yue. */
void wsp_words_set_language(struct wsp_words *w, const char *code);

/** wsp_words_release - free the scratch. */
void wsp_words_release(struct wsp_words *w);

/**
 * wsp_words_window - time the words of one window's segments @segs: one
 * teacher-forced pass of @d (its sequence 0; every sequence is reset
 * after) over @sot (the sot sequence, @n_sot tokens: sot [language task]),
 * <|notimestamps|>, the segments' text tokens and <|endoftext|>; then
 * faster-whisper's add_word_timestamps. @time_offset: the window start
 * (s); @n_frames: its content frames (10 ms); @last_speech: the end of
 * the last word spoken before this window (s).
 * Return: 0 or -errno (the segments' words are then freed).
 */
int wsp_words_window(struct wsp_words *w, struct wsp_decoder *d, const int32_t *sot,
		     int n_sot, struct wsp_word_seg *segs, int n_segs, double time_offset,
		     int n_frames, double last_speech);

/**
 * wsp_words_anomalous - openai-whisper's is_segment_anomaly on the words of
 * one segment: over the first 8 that are not punctuation, 1 for a
 * probability under 0.15, (0.133 - d) * 15 for a duration d under 0.133 s,
 * d - 2 over 2 s; anomalous when the sum is at least 3 or at least the
 * count - 0.01. Return: 1 or 0 (0 for no words).
 */
int wsp_words_anomalous(const struct wsp_word *words, int n);

/** wsp_word_segs_free - free the words of @n segments @g and leave each with none. */
void wsp_word_segs_free(struct wsp_word_seg *g, int n);

#endif
