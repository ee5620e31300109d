/* SPDX-License-Identifier: MIT */
/*
 * whisper/vad.h - voice activity detection: Silero VAD v6 run in C on the
 * library's own ops, and the speech regions of a recording found from its
 * per-chunk speech probabilities with faster-whisper's rules
 * (get_speech_timestamps, VadOptions).
 *
 * The weights come from the ONNX file that ships with faster-whisper,
 * converted once at setup into the project's own weights file
 * (scripts/silero_to_amn.py); see Documentation/vad.md.
 *
 * A loaded wsp_vad is read-only: many threads may run it at once, each call
 * keeping its own recurrent state.
 */
#ifndef AMN_WSP_VAD_H
#define AMN_WSP_VAD_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Everything declared here is the library's API: exported from libamanuensis.so. */
#pragma GCC visibility push(default)

/* Samples per chunk the model scores (16 kHz): one probability per 32 ms. */
#define WSP_VAD_CHUNK 512

struct wsp_vad;

/*
 * The region rules; wsp_vad_opts_default() gives faster-whisper's VadOptions.
 * The thresholds and the longest region are doubles, as Python's floats
 * there, so that the same decimal values make the same regions.
 */
struct wsp_vad_opts {
	double threshold;             /* 0.5: a chunk at or above is speech */
	double neg_threshold;         /* < 0 (default): threshold - 0.15, floored at 0.01 */
	int min_speech_duration_ms;   /* 0: regions this short or shorter are dropped */
	double max_speech_duration_s; /* <= 0 (default) or inf: no limit; longer regions are split */
	int min_silence_duration_ms;  /* 2000: silence that ends a region */
	int speech_pad_ms;            /* 400: padding each side of a region */
};

/** One region of speech, in samples at 16 kHz: [start, end). */
struct wsp_vad_region {
	size_t start, end;
};

/** wsp_vad_opts_default - fill @o with faster-whisper's VadOptions defaults. */
void wsp_vad_opts_default(struct wsp_vad_opts *o);

/**
 * wsp_vad_load - read a converted Silero VAD weights file.
 * Return: 0 and *@out set, or -errno with @err set (-ENOENT: no file,
 * -EINVAL: not a VAD weights file or a wrong shape).
 */
int wsp_vad_load(const char *path, struct wsp_vad **out, char *err, size_t errlen);

/**
 * wsp_vad_find - the VAD weights file to use: $AMANUENSIS_VAD if set, else
 * the first silero_vad_v6.amnv in the model directories
 * (wsp_runtime_model_dirs()). Writes the path into @path.
 * Return: 0, or -ENOENT with @err saying where it looked.
 */
int wsp_vad_find(char *path, size_t pathlen, char *err, size_t errlen);

/**
 * wsp_vad_open - the VAD a program uses: the weights at @path, or with
 * @path NULL the ones wsp_vad_find() finds, if any.
 * Return: 0 with *@out set; 0 with *@out NULL when @path is NULL and no
 * weights were found (@err says where it looked); or wsp_vad_load()'s
 * -errno with @err set.
 */
int wsp_vad_open(const char *path, struct wsp_vad **out, char *err, size_t errlen);

/** wsp_vad_free - release; NULL is a no-op. */
void wsp_vad_free(struct wsp_vad *v);

/**
 * wsp_vad_probs - the speech probability of each WSP_VAD_CHUNK samples of
 * @pcm (16 kHz mono), as faster-whisper's get_speech_timestamps() has
 * SileroVADModel compute them: @pcm padded with 512 - n % 512 zeros (a
 * whole chunk of zeros when n is a multiple of 512), each chunk scored with
 * the 64 samples before it, the last chunk's last 64 samples read as zeros.
 * *@probs is malloc'd, n / 512 + 1 values.
 * Return: 0, or -errno with @err set.
 */
int wsp_vad_probs(const struct wsp_vad *v, const float *pcm, size_t n,
		  float **probs, size_t *n_probs, char *err, size_t errlen);

/**
 * wsp_vad_speech - the speech regions of @pcm under @o (NULL: defaults),
 * equal to faster-whisper's get_speech_timestamps(). *@out is malloc'd
 * (NULL when *@n_out is 0), in order and not overlapping.
 * Return: 0, or -errno with @err set.
 */
int wsp_vad_speech(const struct wsp_vad *v, const float *pcm, size_t n,
		   const struct wsp_vad_opts *o, struct wsp_vad_region **out, int *n_out,
		   char *err, size_t errlen);

#pragma GCC visibility pop

#ifdef __cplusplus
}
#endif
#endif
