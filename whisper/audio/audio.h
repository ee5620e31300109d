/* SPDX-License-Identifier: MIT */
/*
 * whisper/audio/audio.h - read an audio file (wav, flac, ogg, mp3: whatever
 * libsndfile decodes) into 16 kHz mono float samples, resampling with libsoxr
 * and down-mixing channels by their mean.
 */
#ifndef AMN_WSP_AUDIO_H
#define AMN_WSP_AUDIO_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

#define WSP_SAMPLE_RATE 16000

/** One decoded clip: @n samples at 16 kHz, mono, in [-1, 1]. */
struct wsp_audio {
	float *samples;
	size_t n;
};

/**
 * wsp_audio_load - decode and resample the whole file at @path.
 * @err, @errlen: on failure, a message naming the file and what is wrong.
 * Return: 0; -ENOENT (no file), -EACCES, -EINVAL (not audio, unsupported or
 * truncated), -ENOMEM.
 */
int wsp_audio_load(const char *path, struct wsp_audio *out, char *err, size_t errlen);

/** wsp_audio_free - release the samples; safe on a zeroed struct. */
void wsp_audio_free(struct wsp_audio *a);

struct wsp_audio_stream;

/**
 * wsp_audio_open - open @path for reading in pieces, so that an hour of audio
 * is decoded in bounded memory. Same errors as wsp_audio_load().
 */
int wsp_audio_open(const char *path, struct wsp_audio_stream **out, char *err, size_t errlen);

/**
 * wsp_audio_read - decode up to @max more 16 kHz mono samples into @dst.
 * Return: the number of samples (0 at the end), or -EIO with @err set.
 */
long wsp_audio_read(struct wsp_audio_stream *s, float *dst, size_t max, char *err, size_t errlen);

/** wsp_audio_duration - the file's length in seconds (from its header). */
double wsp_audio_duration(const struct wsp_audio_stream *s);

/** wsp_audio_close - release; NULL is a no-op. */
void wsp_audio_close(struct wsp_audio_stream *s);

#ifdef __cplusplus
}
#endif
#endif
