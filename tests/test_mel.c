// SPDX-License-Identifier: MIT
/*
 * tests/test_mel.c - the log-mel spectrogram: shapes, where a tone's energy
 * lands, and faster-whisper's FeatureExtractor numbers on every file of the
 * shared audio set (within 1e-4 absolute on the normalized features).
 *
 * The reference features come from scripts/mel_reference.py, written by
 * `make test` into $AMN_REF_DIR/mel80 and $AMN_REF_DIR/mel128: for each
 * file, int32 n_mels, int32 n_frames, then n_mels x n_frames float32, of the
 * audio padded with 30 s of zeros as faster-whisper's transcribe does.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "whisper/audio/audio.h"
#include "whisper/audio/mel.h"
#include "tests/helpers/test_env.h"

#define PAD_30S (30 * WSP_SAMPLE_RATE)

/* Slaney mel of @hz, as librosa's hz_to_mel(htk=False). */
static double hz_to_mel(double hz)
{
	if (hz < 1000.0)
		return hz / (200.0 / 3.0);
	return 15.0 + log(hz / 1000.0) / (log(6.4) / 27.0);
}

/* The mel band whose centre is nearest @hz, for @n_mels bands up to 8 kHz. */
static int band_of(double hz, int n_mels)
{
	double step = 45.245640471924965 / (n_mels + 1);

	return (int)lround(hz_to_mel(hz) / step) - 1;
}

Test(mel, rejects_bad_sizes)
{
	struct wsp_mel *m = (void *)1;

	cr_assert_eq(wsp_mel_new(0, &m), -EINVAL);
	cr_assert_null(m);
	cr_assert_eq(wsp_mel_new(81, &m), -EINVAL);
	cr_assert_eq(wsp_mel_new(-80, &m), -EINVAL);
	wsp_mel_free(NULL);
}

Test(mel, frame_counts)
{
	/* faster-whisper: 1 + n / 160 STFT frames, the last one dropped */
	cr_assert_eq(wsp_mel_frames(0), 0);
	cr_assert_eq(wsp_mel_frames(159), 0);
	cr_assert_eq(wsp_mel_frames(160), 1);
	cr_assert_eq(wsp_mel_frames(161), 1);
	cr_assert_eq(wsp_mel_frames(PAD_30S), 3000);
	cr_assert_eq(wsp_mel_frames(PAD_30S + 11 * WSP_SAMPLE_RATE), 4100);
	cr_assert_eq(wsp_mel_frames(PAD_30S + 45887), 3286);
}

Test(mel, zero_frames_writes_nothing)
{
	struct wsp_mel *m;
	float x[100] = { 0 }, out[1] = { 42.0f };

	cr_assert_eq(wsp_mel_new(80, &m), 0);
	cr_assert_eq(wsp_mel_compute(m, x, 100, out), 0);
	cr_assert_eq(out[0], 42.0f);
	cr_assert_eq(wsp_mel_compute(NULL, x, 100, out), -EINVAL);
	wsp_mel_free(m);
}

Test(mel, silence_is_flat)
{
	struct wsp_mel *m;
	size_t n = 16000, nf = wsp_mel_frames(n);
	float *x = calloc(n, sizeof(float)), *out = malloc(80 * nf * sizeof(float));

	cr_assert_eq(wsp_mel_new(80, &m), 0);
	cr_assert_eq(wsp_mel_compute(m, x, n, out), 0);
	/* log10(1e-10) = -10 everywhere; the max is -10 too: (-10 + 4) / 4 */
	for (size_t i = 0; i < 80 * nf; i++)
		cr_assert_float_eq(out[i], -1.5f, 1e-6, "at %zu: %f", i, out[i]);
	wsp_mel_free(m);
	free(x);
	free(out);
}

static void check_tone(int n_mels, double hz)
{
	struct wsp_mel *m;
	size_t n = 2 * WSP_SAMPLE_RATE, nf = wsp_mel_frames(n);
	float *x = malloc(n * sizeof(float)), *out = malloc((size_t)n_mels * nf * sizeof(float));
	int want = band_of(hz, n_mels);

	for (size_t i = 0; i < n; i++)
		x[i] = 0.5f * (float)sin(2.0 * M_PI * hz * i / WSP_SAMPLE_RATE);
	cr_assert_eq(wsp_mel_new(n_mels, &m), 0);
	cr_assert_eq(wsp_mel_compute(m, x, n, out), 0);

	/* In every frame clear of the reflected edges, the tone's band is the loudest. */
	for (size_t t = 2; t + 2 < nf; t++) {
		int best = 0;

		for (int b = 1; b < n_mels; b++)
			if (out[(size_t)b * nf + t] > out[(size_t)best * nf + t])
				best = b;
		cr_assert(abs(best - want) <= 1, "%d mels, %.0f Hz, frame %zu: band %d, want %d",
			  n_mels, hz, t, best, want);
	}
	/* ... and far bands sit at the floor: max - 8 maps to the max - 2. */
	size_t mid = nf / 2;
	float top = out[(size_t)want * nf + mid];

	cr_assert_gt(top, 0.5f);
	cr_assert_lt(out[(size_t)(want > n_mels / 2 ? 0 : n_mels - 1) * nf + mid], top - 1.0f);
	wsp_mel_free(m);
	free(x);
	free(out);
}

Test(mel, sine_lands_in_its_band)
{
	check_tone(80, 440.0);
	check_tone(80, 1000.0);
	check_tone(80, 3000.0);
	check_tone(128, 440.0);
	check_tone(128, 6000.0);
}

struct job {
	const struct wsp_mel *m;
	const float *x;
	size_t n;
	float *out;
	int ret;
};

static void *run_job(void *arg)
{
	struct job *j = arg;

	j->ret = wsp_mel_compute(j->m, j->x, j->n, j->out);
	return NULL;
}

Test(mel, concurrent_calls_agree)
{
	struct wsp_mel *m;
	size_t n = 3 * WSP_SAMPLE_RATE, nf = wsp_mel_frames(n);
	float *x = malloc(n * sizeof(float));
	struct job jobs[4];
	pthread_t th[4];
	uint32_t r = 12345;

	for (size_t i = 0; i < n; i++) {
		r = r * 1664525u + 1013904223u;
		x[i] = ((float)(r >> 8) / (float)(1u << 24) - 0.5f) * 0.2f +
		       0.3f * (float)sin(i * 0.05);
	}
	cr_assert_eq(wsp_mel_new(80, &m), 0);
	for (int i = 0; i < 4; i++) {
		jobs[i] = (struct job){ m, x, n, malloc(80 * nf * sizeof(float)), -1 };
		cr_assert_eq(pthread_create(&th[i], NULL, run_job, &jobs[i]), 0);
	}
	for (int i = 0; i < 4; i++) {
		pthread_join(th[i], NULL);
		cr_assert_eq(jobs[i].ret, 0);
	}
	for (int i = 1; i < 4; i++)
		cr_assert_eq(memcmp(jobs[0].out, jobs[i].out, 80 * nf * sizeof(float)), 0);
	for (int i = 0; i < 4; i++)
		free(jobs[i].out);
	wsp_mel_free(m);
	free(x);
}

/*
 * Two windows read separately (the second with 2 frames of left context, as a
 * streaming caller holds them), normalized with the max over both, give the
 * whole signal's features bit for bit on the frames away from window edges.
 */
Test(mel, windows_with_global_max_match_whole)
{
	const size_t n = 8 * WSP_SAMPLE_RATE, split = 3 * WSP_SAMPLE_RATE;
	const size_t nf = wsp_mel_frames(n), s0 = split - 2 * WSP_HOP_LENGTH;
	const size_t fa = wsp_mel_frames(split + 400), fb = wsp_mel_frames(n - s0);
	float *x = malloc(n * sizeof(float)), *whole = malloc(80 * nf * sizeof(float));
	float *a = malloc(80 * fa * sizeof(float)), *b = malloc(80 * fb * sizeof(float));
	float ma, mb, mw;
	struct wsp_mel *m;

	/* loud in the first window only: the second's own max would be lower */
	for (size_t i = 0; i < n; i++)
		x[i] = (i + 1000 < split ? 0.8f : 0.01f) * (float)sin(i * 0.07) +
		       0.001f * (float)sin(i * 1.3);
	cr_assert_eq(wsp_mel_new(80, &m), 0);
	cr_assert_eq(wsp_mel_compute(m, x, n, whole), 0);
	cr_assert_eq(wsp_mel_compute_log(m, x, split + 400, a, &ma), 0);
	cr_assert_eq(wsp_mel_compute_log(m, x + s0, n - s0, b, &mb), 0);
	cr_assert_eq(wsp_mel_compute_log(m, x, n, whole, &mw), 0);
	/* b's first frames see its reflect padding: its max is over the rest */
	cr_assert_eq(wsp_mel_max(a, 80, fa, 0, fa), ma);
	mb = wsp_mel_max(b, 80, fb, 2, fb);
	cr_assert_eq(fmaxf(ma, mb), mw, "%.9g %.9g %.9g", ma, mb, mw);
	cr_assert_gt(ma, mb + 1.0f);
	cr_assert_eq(wsp_mel_max(a, 80, fa, fa, 1), -INFINITY);
	wsp_mel_normalize(a, 80 * fa, mw);
	wsp_mel_normalize(b, 80 * fb, mw);
	wsp_mel_normalize(whole, 80 * nf, mw);
	for (int bin = 0; bin < 80; bin++) {
		for (size_t t = 2; t < split / WSP_HOP_LENGTH; t++)
			cr_assert_eq(a[bin * fa + t], whole[bin * nf + t], "bin %d frame %zu", bin, t);
		for (size_t t = 2; t + 2 < fb; t++)
			cr_assert_eq(b[bin * fb + t], whole[bin * nf + s0 / WSP_HOP_LENGTH + t],
				     "bin %d frame %zu", bin, s0 / WSP_HOP_LENGTH + t);
	}
	wsp_mel_free(m);
	free(x);
	free(whole);
	free(a);
	free(b);
}

/* Reference features of @name from @dir (int32 n_mels, int32 n_frames, floats). */
static float *read_ref(const char *dir, const char *name, int *n_mels, int *n_frames)
{
	char path[2048];
	int32_t hdr[2];
	float *buf;
	size_t cnt;
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s.mel", dir, name);
	f = fopen(path, "rb");
	cr_assert_not_null(f, "reference %s missing: rerun scripts/mel_reference.py", path);
	cr_assert_eq(fread(hdr, sizeof(hdr), 1, f), 1, "%s: short header", path);
	cr_assert(hdr[0] > 0 && hdr[1] > 0, "%s: bad header", path);
	cnt = (size_t)hdr[0] * hdr[1];
	buf = malloc(cnt * sizeof(float));
	cr_assert_not_null(buf);
	cr_assert_eq(fread(buf, sizeof(float), cnt, f), cnt, "%s is short", path);
	fclose(f);
	*n_mels = hdr[0];
	*n_frames = hdr[1];
	return buf;
}

static void check_reference(int n_mels)
{
	const char *audio_dir = test_env_or("AMN_SHARED_AUDIO", "../shared/audio");
	char dir[1024], path[2048], line[512], err[512];
	struct wsp_mel *m;
	int files = 0;
	FILE *man;

	snprintf(dir, sizeof(dir), "%s/mel%d", test_env_or("AMN_REF_DIR", "build/ref"), n_mels);
	snprintf(path, sizeof(path), "%s/manifest.tsv", audio_dir);
	man = fopen(path, "r");
	if (!man || access(dir, R_OK) != 0) {
		if (man)
			fclose(man);
		cr_skip_test("no mel reference at %s or no audio manifest at %s (needs python3 "
			     "with faster_whisper: `make test` writes it)", dir, path);
	}
	cr_assert_eq(wsp_mel_new(n_mels, &m), 0);
	cr_assert_not_null(fgets(line, sizeof(line), man)); /* header row */
	while (fgets(line, sizeof(line), man)) {
		struct wsp_audio a;
		int rm, rf;
		float *ref, *out, *x;
		double maxd = 0.0;
		size_t at = 0;

		line[strcspn(line, "\t\r\n")] = '\0';
		if (!line[0])
			continue;
		snprintf(path, sizeof(path), "%s/%s", audio_dir, line);
		cr_assert_eq(wsp_audio_load(path, &a, err, sizeof(err)), 0, "%s", err);
		ref = read_ref(dir, line, &rm, &rf);
		cr_assert_eq(rm, n_mels, "%s: reference has %d mels", line, rm);

		/* faster-whisper's transcribe pads with 30 s of zeros */
		x = calloc(a.n + PAD_30S, sizeof(float));
		memcpy(x, a.samples, a.n * sizeof(float));
		cr_assert_eq(wsp_mel_frames(a.n + PAD_30S), (size_t)rf,
			     "%s: %zu frames, reference has %d", line, wsp_mel_frames(a.n + PAD_30S), rf);
		out = malloc((size_t)rm * rf * sizeof(float));
		cr_assert_eq(wsp_mel_compute(m, x, a.n + PAD_30S, out), 0);
		for (size_t i = 0; i < (size_t)rm * rf; i++) {
			double d = fabs((double)out[i] - ref[i]);

			if (d > maxd) {
				maxd = d;
				at = i;
			}
		}
		cr_log_info("mel%d %s: %dx%d, max |diff| %.3g", n_mels, line, rm, rf, maxd);
		cr_assert_lt(maxd, 1e-4, "%s (%d mels): max |diff| %g at bin %zu frame %zu "
			     "(ours %f, faster-whisper %f)", line, n_mels, maxd, at / rf, at % rf,
			     out[at], ref[at]);
		files++;
		free(out);
		free(x);
		free(ref);
		wsp_audio_free(&a);
	}
	fclose(man);
	cr_assert_gt(files, 0, "empty manifest");
	wsp_mel_free(m);
}

Test(mel, matches_faster_whisper_80, .timeout = 120)
{
	check_reference(80);
}

Test(mel, matches_faster_whisper_128, .timeout = 120)
{
	check_reference(128);
}
