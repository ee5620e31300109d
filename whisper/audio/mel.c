// SPDX-License-Identifier: MIT
/*
 * whisper/audio/mel.c - Whisper's log-mel spectrogram.
 *
 * The numbers are those of faster-whisper's FeatureExtractor (and so of
 * openai-whisper's log_mel_spectrogram): frames of 400 samples every 160, the
 * signal reflect-padded by 200 on both sides, a periodic Hann window, the
 * power of a real FFT (201 bins), all frames but the last, Slaney mel filters
 * built as librosa builds them, log10 clamped at 1e-10, floored at the global
 * max - 8 and mapped by (x + 4) / 4.
 *
 * The FFT is FFTW's single-precision r2c with one plan per extractor; filters
 * are stored as the run of non-zero weights of each mel bin and applied with
 * double accumulation. Frames that see only zeros (the 30 s of padding the
 * callers add) skip the FFT: their power is exactly zero.
 */
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <fftw3.h>

#include "whisper/audio/mel.h"

#define N_BINS (WSP_N_FFT / 2 + 1)	/* 201 */
#define PAD    (WSP_N_FFT / 2)		/* reflect padding on each side */
#define LOG10_E 0.43429448190325182f	/* log10(x) = ln(x) * log10(e) */

struct mel_band {
	int first;	/* first FFT bin with a non-zero weight */
	int len;	/* number of consecutive bins */
	int off;	/* offset of the weights in wsp_mel.weights */
};

struct wsp_mel {
	int n_mels;
	fftwf_plan plan;
	float window[WSP_N_FFT];
	struct mel_band *bands;
	float *weights;
};

/* FFTW's planner is not thread safe; execution with new arrays is. */
static pthread_mutex_t plan_lock = PTHREAD_MUTEX_INITIALIZER;

/*
 * Slaney mel filters, as librosa.filters.mel(sr=16000, n_fft=400) and
 * faster-whisper's get_mel_filters compute them in float64, rounded to float32
 * as both store them. Bands are n_mels + 2 points evenly spaced on the Slaney
 * mel scale (linear below 1 kHz, logarithmic above) from 0 Hz to 8 kHz.
 */
static int build_filters(struct wsp_mel *m)
{
	const int n = m->n_mels;
	const double max_mel = 45.245640471924965;	/* Slaney mel of 8000 Hz */
	const double f_sp = 200.0 / 3.0;
	const double min_log_hz = 1000.0, min_log_mel = min_log_hz / f_sp;
	const double logstep = log(6.4) / 27.0;
	double *freqs = malloc((size_t)(n + 2) * sizeof(double));
	float *dense = calloc((size_t)n * N_BINS, sizeof(float));
	int nnz = 0, ret = -ENOMEM;

	m->bands = calloc((size_t)n, sizeof(*m->bands));
	if (!freqs || !dense || !m->bands)
		goto out;

	for (int i = 0; i < n + 2; i++) {
		/* numpy.linspace: i * step, the last point exactly max_mel */
		double mel = i == n + 1 ? max_mel : i * (max_mel / (n + 1));

		freqs[i] = mel >= min_log_mel ? min_log_hz * exp(logstep * (mel - min_log_mel))
					      : f_sp * mel;
	}
	for (int i = 0; i < n; i++) {
		double enorm = 2.0 / (freqs[i + 2] - freqs[i]);
		double d0 = freqs[i + 1] - freqs[i], d1 = freqs[i + 2] - freqs[i + 1];

		for (int k = 0; k < N_BINS; k++) {
			double f = (double)k * 16000.0 / WSP_N_FFT;
			double lower = -(freqs[i] - f) / d0;
			double upper = (freqs[i + 2] - f) / d1;
			double w = fmax(0.0, fmin(lower, upper));

			dense[(size_t)i * N_BINS + k] = (float)(w * enorm);
		}
	}

	/* Keep each band's run from its first to its last non-zero weight. */
	for (int i = 0; i < n; i++) {
		const float *row = dense + (size_t)i * N_BINS;
		int a = 0, b = N_BINS - 1;

		while (a < N_BINS && row[a] == 0.0f)
			a++;
		while (b > a && row[b] == 0.0f)
			b--;
		m->bands[i].first = a < N_BINS ? a : 0;
		m->bands[i].len = a < N_BINS ? b - a + 1 : 0;
		m->bands[i].off = nnz;
		nnz += m->bands[i].len;
	}
	m->weights = malloc((size_t)(nnz ? nnz : 1) * sizeof(float));
	if (!m->weights)
		goto out;
	for (int i = 0; i < n; i++)
		memcpy(m->weights + m->bands[i].off, dense + (size_t)i * N_BINS + m->bands[i].first,
		       (size_t)m->bands[i].len * sizeof(float));
	ret = 0;
out:
	free(freqs);
	free(dense);
	return ret;
}

void wsp_mel_free(struct wsp_mel *m)
{
	if (!m)
		return;
	if (m->plan) {
		pthread_mutex_lock(&plan_lock);
		fftwf_destroy_plan(m->plan);
		pthread_mutex_unlock(&plan_lock);
	}
	free(m->bands);
	free(m->weights);
	free(m);
}

int wsp_mel_new(int n_mels, struct wsp_mel **out)
{
	struct wsp_mel *m;
	float *in;
	fftwf_complex *spec;

	*out = NULL;
	if (n_mels != 80 && n_mels != 128)
		return -EINVAL;
	m = calloc(1, sizeof(*m));
	if (!m)
		return -ENOMEM;
	m->n_mels = n_mels;
	/* numpy.hanning(401)[:-1]: the periodic Hann window, rounded to float */
	for (int i = 0; i < WSP_N_FFT; i++)
		m->window[i] = (float)(0.5 - 0.5 * cos(2.0 * M_PI * i / WSP_N_FFT));
	if (build_filters(m))
		goto nomem;

	/*
	 * The plan is made on fftwf_malloc'ed arrays; wsp_mel_compute() executes
	 * it on its own fftwf_malloc'ed arrays, which have the same alignment.
	 */
	in = fftwf_malloc(WSP_N_FFT * sizeof(float));
	spec = fftwf_malloc(N_BINS * sizeof(fftwf_complex));
	if (in && spec) {
		pthread_mutex_lock(&plan_lock);
		m->plan = fftwf_plan_dft_r2c_1d(WSP_N_FFT, in, spec, FFTW_ESTIMATE);
		pthread_mutex_unlock(&plan_lock);
	}
	fftwf_free(in);
	fftwf_free(spec);
	if (!m->plan)
		goto nomem;
	*out = m;
	return 0;
nomem:
	wsp_mel_free(m);
	return -ENOMEM;
}

size_t wsp_mel_frames(size_t n_samples)
{
	/* 1 + n / hop frames over the padded signal, less the last one */
	return n_samples / WSP_HOP_LENGTH;
}

/* numpy.pad(mode="reflect") index: mirror without repeating the edge sample. */
static size_t reflect(long i, size_t n)
{
	long p;

	if (n == 1)
		return 0;
	p = 2 * (long)(n - 1);
	i %= p;
	if (i < 0)
		i += p;
	return (size_t)(i < (long)n ? i : p - i);
}

/* Gather frame @t (its 400 samples of the reflect-padded signal); 1 if all zero. */
static int gather(const float *x, size_t n, size_t t, float *frame)
{
	long start = (long)(t * WSP_HOP_LENGTH) - PAD;
	int any = 0;

	if (start >= 0 && (size_t)start + WSP_N_FFT <= n) {
		const float *s = x + start;

		for (int i = 0; i < WSP_N_FFT; i++)
			any |= s[i] != 0.0f;
		if (!any)
			return 1;
		memcpy(frame, x + start, WSP_N_FFT * sizeof(float));
		return 0;
	}
	for (int i = 0; i < WSP_N_FFT; i++)
		frame[i] = x[reflect(start + i, n)];
	return 0;
}

int wsp_mel_compute_log(const struct wsp_mel *m, const float *samples, size_t n, float *out,
			float *max)
{
	size_t nf = wsp_mel_frames(n);
	const int nm = m ? m->n_mels : 0;
	float *frame, *power;
	fftwf_complex *spec;
	float vmax = -INFINITY;
	int ret = -ENOMEM;

	if (max)
		*max = -INFINITY;
	if (!m || (!samples && n) || (!out && nf))
		return -EINVAL;
	if (!nf)
		return 0;

	frame = fftwf_malloc(WSP_N_FFT * sizeof(float));
	spec = fftwf_malloc(N_BINS * sizeof(fftwf_complex));
	power = malloc(N_BINS * sizeof(float));
	if (!frame || !spec || !power)
		goto out;

	for (size_t t = 0; t < nf; t++) {
		if (gather(samples, n, t, frame)) {
			/* silent frame: every mel energy is 0, clamped to 1e-10 */
			for (int b = 0; b < nm; b++)
				out[(size_t)b * nf + t] = -10.0f;
			if (vmax < -10.0f)
				vmax = -10.0f;
			continue;
		}
		for (int i = 0; i < WSP_N_FFT; i++)
			frame[i] *= m->window[i];
		fftwf_execute_dft_r2c(m->plan, frame, spec);
		for (int k = 0; k < N_BINS; k++)
			power[k] = spec[k][0] * spec[k][0] + spec[k][1] * spec[k][1];

		for (int b = 0; b < nm; b++) {
			const struct mel_band *band = &m->bands[b];
			const float *w = m->weights + band->off;
			const float *p = power + band->first;
			double acc = 0.0;
			float v;

			for (int k = 0; k < band->len; k++)
				acc += (double)w[k] * p[k];
			v = logf(acc > 1e-10 ? (float)acc : 1e-10f) * LOG10_E;
			out[(size_t)b * nf + t] = v;
			if (v > vmax)
				vmax = v;
		}
	}
	if (max)
		*max = vmax;
	ret = 0;
out:
	fftwf_free(frame);
	fftwf_free(spec);
	free(power);
	return ret;
}

float wsp_mel_max(const float *x, int n_mels, size_t n_frames, size_t first, size_t count)
{
	float vmax = -INFINITY;

	if (first >= n_frames)
		return vmax;
	if (count > n_frames - first)
		count = n_frames - first;
	for (int b = 0; b < n_mels; b++) {
		const float *row = x + (size_t)b * n_frames + first;

		for (size_t t = 0; t < count; t++)
			vmax = row[t] > vmax ? row[t] : vmax;
	}
	return vmax;
}

void wsp_mel_normalize(float *x, size_t count, float max)
{
	/* Dynamic range of 8 (80 dB) below the loudest value, then (x + 4) / 4. */
	const float floor_v = max - 8.0f;

	for (size_t i = 0; i < count; i++) {
		float v = x[i] > floor_v ? x[i] : floor_v;

		x[i] = (v + 4.0f) / 4.0f;
	}
}

int wsp_mel_compute(const struct wsp_mel *m, const float *samples, size_t n, float *out)
{
	float vmax;
	int ret = wsp_mel_compute_log(m, samples, n, out, &vmax);

	if (!ret)
		wsp_mel_normalize(out, (size_t)m->n_mels * wsp_mel_frames(n), vmax);
	return ret;
}
