/* SPDX-License-Identifier: MIT */
/*
 * whisper/audio/mel.h - Whisper's log-mel spectrogram, computed as openai-whisper
 * and faster-whisper do: 400-sample periodic Hann window, hop 160, reflect
 * padding, |STFT|^2 of all frames but the last, Slaney mel filters (80 or 128),
 * log10 clamped at 1e-10, floored at max - 8, then (x + 4) / 4. FFTs by FFTW3.
 */
#ifndef AMN_WSP_MEL_H
#define AMN_WSP_MEL_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

#define WSP_N_FFT      400
#define WSP_HOP_LENGTH 160

struct wsp_mel;

/**
 * wsp_mel_new - a log-mel extractor for @n_mels bins (80 or 128). The filter
 * bank and the FFTW plan are made once; wsp_mel_compute() is then thread safe.
 * Return: 0, -EINVAL, -ENOMEM.
 */
int wsp_mel_new(int n_mels, struct wsp_mel **out);

/** wsp_mel_free - release; NULL is a no-op. */
void wsp_mel_free(struct wsp_mel *m);

/** wsp_mel_frames - how many frames wsp_mel_compute() yields for @n samples. */
size_t wsp_mel_frames(size_t n_samples);

/**
 * wsp_mel_compute - log-mel features of @n samples (16 kHz).
 * @out: n_mels × wsp_mel_frames(n) floats, mel bin major (row i is bin i).
 * Normalization (max - 8 floor, (x + 4) / 4) is over the whole output, as
 * faster-whisper does over the (audio + 30 s of zero padding) it is given:
 * callers that want its exact numbers pass the padded samples.
 * Return: 0, -EINVAL, -ENOMEM.
 */
int wsp_mel_compute(const struct wsp_mel *m, const float *samples, size_t n, float *out);

/**
 * wsp_mel_compute_log - the log-mel of @n samples before normalization:
 * log10(max(energy, 1e-10)) per bin and frame, laid out as wsp_mel_compute().
 * @max: if not NULL, set to the largest value written (-10 when all silent,
 * -INFINITY when no frame).
 *
 * For long audio read in windows, faster-whisper's numbers need the max of
 * the whole (audio + 30 s zeros) spectrogram: take the max over all windows
 * in a first pass, then wsp_mel_normalize() each window with it.
 * Return: 0, -EINVAL, -ENOMEM.
 */
int wsp_mel_compute_log(const struct wsp_mel *m, const float *samples, size_t n, float *out,
			float *max);

/**
 * wsp_mel_max - the largest of frames [@first, @first + @count) of a log-mel
 * laid out as wsp_mel_compute() (@n_mels rows of @n_frames): for a window
 * read with context frames, whose edge frames see reflect padding and must
 * not count. Return: -INFINITY for an empty range.
 */
float wsp_mel_max(const float *x, int n_mels, size_t n_frames, size_t first, size_t count);

/**
 * wsp_mel_normalize - floor @count log-mel values at @max - 8, then map them
 * by (x + 4) / 4, in place: the last step of wsp_mel_compute().
 */
void wsp_mel_normalize(float *x, size_t count, float max);

#ifdef __cplusplus
}
#endif
#endif
