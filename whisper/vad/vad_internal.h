/* SPDX-License-Identifier: MIT */
/*
 * whisper/vad/vad_internal.h - the VAD's insides (not installed): the loaded
 * weights, the streaming forward pass that turns audio into one speech
 * probability per 512 samples without holding the audio, the region rules
 * on a probability sequence, and the map from speech-only time back to the
 * recording's time (faster-whisper's SpeechTimestampsMap).
 */
#ifndef AMN_WSP_VAD_INTERNAL_H
#define AMN_WSP_VAD_INTERNAL_H

#include <stddef.h>

#include "whisper/vad.h"

/* The network's sizes (Silero VAD v6, 16 kHz). */
#define VAD_CONTEXT 64          /* samples of the previous chunk before each chunk */
#define VAD_INPUT (VAD_CONTEXT + WSP_VAD_CHUNK)
#define VAD_NFFT 256            /* STFT window (a convolution with 258 basis rows) */
#define VAD_HOP 128
#define VAD_BINS 129
#define VAD_FRAMES 4            /* STFT frames per chunk the network keeps */
#define VAD_HIDDEN 128          /* LSTM state */

/*
 * The weights, each tensor its own aligned copy, the matrices transposed
 * to input-major for vad_gemm(); read-only once loaded.
 */
struct wsp_vad {
	float *basis_t;             /* [256][258]: columns 0..128 real, 129..257 imaginary */
	float *enc_wt[4], *enc_b[4]; /* [in*3][out], [out]: 129->128, 128->64 (/2), 64->64 (/2), 64->128 */
	float *w_ih_t, *w_hh_t;     /* [128][512], gates i, o, f, c */
	float *bias;                /* [512]: b_ih + b_hh */
	float *out_w;               /* [128] */
	float out_b;
};

/* The encoder layers' shapes: in and out channels, stride. */
extern const int wsp_vad_enc_shape[4][3];

/**
 * vad_gemm - @y (@m x @n) = @x (@m x @k) times @wt (@k x @n), all
 * row-major and dense. The sums run in the same order everywhere.
 */
void vad_gemm(float *y, const float *x, const float *wt, int m, int n, int k);

/** vad_gemv_add - @y (@n) += @x (@k) times @wt (@k x @n). */
void vad_gemv_add(float *y, const float *x, const float *wt, int n, int k);

/** vad_gemm_avx2 - vad_gemm() built for AVX2 and FMA: only on CPUs with both. */
void vad_gemm_avx2(float *y, const float *x, const float *wt, int m, int n, int k);

/** vad_gemv_add_avx2 - vad_gemv_add() built for AVX2 and FMA: only on CPUs with both. */
void vad_gemv_add_avx2(float *y, const float *x, const float *wt, int n, int k);

struct wsp_vad_stream;

/**
 * wsp_vad_stream_new - start scoring one recording with @v (borrowed; it
 * must outlive the stream). The stream keeps the LSTM state, the last
 * context samples, one block of pending samples and the probabilities so far.
 * Return: 0, or -ENOMEM.
 */
int wsp_vad_stream_new(const struct wsp_vad *v, struct wsp_vad_stream **out);

/**
 * wsp_vad_stream_feed - append @n samples of the recording. Probabilities
 * of whole blocks of chunks are computed as they fill.
 * Return: 0, or -ENOMEM (the stream is then unusable).
 */
int wsp_vad_stream_feed(struct wsp_vad_stream *s, const float *pcm, size_t n);

/**
 * wsp_vad_stream_finish - end the recording as faster-whisper does: pad
 * with 512 - n % 512 zeros (a whole chunk when n is a multiple of 512),
 * zero the last 64 samples of the last chunk (SileroVADModel writes its
 * last context row into the audio), and score what is left. Hands the
 * probabilities (malloc'd, n / 512 + 1 of them) to *@probs.
 * Return: 0, or -ENOMEM.
 */
int wsp_vad_stream_finish(struct wsp_vad_stream *s, float **probs, size_t *n_probs);

/** wsp_vad_stream_samples - the samples fed so far. */
size_t wsp_vad_stream_samples(const struct wsp_vad_stream *s);

/** wsp_vad_stream_free - release; NULL is a no-op. */
void wsp_vad_stream_free(struct wsp_vad_stream *s);

/**
 * wsp_vad_opts_check - whether @o is usable (thresholds in [0, 1], durations
 * not negative). Return: 0, or -EINVAL with @err set.
 */
int wsp_vad_opts_check(const struct wsp_vad_opts *o, char *err, size_t errlen);

/**
 * wsp_vad_regions_from_probs - faster-whisper's get_speech_timestamps() on a
 * probability sequence already computed: @probs (@n_probs, one per 512
 * samples) of a recording of @n_samples samples, rules @o (NULL: defaults).
 * *@out is malloc'd (NULL when *@n_out is 0).
 * Return: 0, or -ENOMEM / -EINVAL with @err set.
 */
int wsp_vad_regions_from_probs(const float *probs, size_t n_probs, size_t n_samples,
			       const struct wsp_vad_opts *o, struct wsp_vad_region **out,
			       int *n_out, char *err, size_t errlen);

/* faster-whisper's SpeechTimestampsMap: speech-only time -> recording time. */
struct wsp_vad_map {
	size_t *chunk_end;          /* each region's end in speech-only samples */
	double *silence_before;     /* seconds of silence before each region */
	int n;
};

/**
 * wsp_vad_map_init - the map of @n regions @r (in order).
 * Return: 0, or -ENOMEM.
 */
int wsp_vad_map_init(struct wsp_vad_map *m, const struct wsp_vad_region *r, int n);

/** wsp_vad_map_release - free the arrays; safe on a zeroed map. */
void wsp_vad_map_release(struct wsp_vad_map *m);

/**
 * wsp_vad_map_index - the region a speech-only time @t falls in
 * (get_chunk_index): the first region whose end is past it; with @is_end, a
 * time that is exactly a region's end belongs to that region. 0 without regions.
 */
int wsp_vad_map_index(const struct wsp_vad_map *m, double t, int is_end);

/**
 * wsp_vad_map_time - @t in the recording's time, counted in region @index
 * (get_original_time): the silence before it added, rounded to 0.01 s as
 * Python's round(x, 2). @t itself without regions.
 */
double wsp_vad_map_time(const struct wsp_vad_map *m, double t, int index);

#endif
