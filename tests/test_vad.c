// SPDX-License-Identifier: MIT
/*
 * tests/test_vad.c - the voice activity detector (whisper/vad.h):
 *  - the weights file: missing, foreign, truncated and misshapen files are
 *    refused with a sentence (the real file is $AMANUENSIS_VAD, else
 *    models/silero_vad_v6.amnv; tests that need it skip without it);
 *  - the region rules on made-up probability sequences, each expectation
 *    worked out by hand from faster-whisper's get_speech_timestamps();
 *  - silence gives no regions, probabilities lie in [0, 1], two threads on
 *    one detector get the same probabilities;
 *  - transcription with the VAD of jfk.wav behind 10 s of silence: segments
 *    start after the silence, in the file's time, with the same text as
 *    without it, from a file and from a buffer alike.
 * Agreement with onnxruntime and get_speech_timestamps() on real audio is
 * tests/vad/test_vad.py's job.
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
#include "whisper/transcribe.h"
#include "whisper/vad.h"
#include "whisper/vad/vad_internal.h"
#include "tests/helpers/test_env.h"

#define SR 16000

static const char *vad_path(void)
{
	return test_env_or("AMANUENSIS_VAD", "models/silero_vad_v6.amnv");
}

static struct wsp_vad *load_or_skip(void)
{
	struct wsp_vad *v = NULL;
	char err[1024];

	if (access(vad_path(), R_OK))
		cr_skip_test("no VAD weights at %s (scripts/silero_to_amn.py)", vad_path());
	cr_assert_eq(wsp_vad_load(vad_path(), &v, err, sizeof(err)), 0, "%s", err);
	return v;
}

/* The bytes of the real weights file, malloc'd. */
static unsigned char *real_bytes(size_t *len)
{
	unsigned char *buf;
	FILE *f;
	long n;

	if (access(vad_path(), R_OK))
		cr_skip_test("no VAD weights at %s", vad_path());
	f = fopen(vad_path(), "rb");
	cr_assert_not_null(f);
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	buf = malloc((size_t)n);
	cr_assert_eq(fread(buf, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	*len = (size_t)n;
	return buf;
}

/* Write @len bytes into a new temporary file; its name into @path. */
static void write_tmp(char *path, size_t cap, const void *data, size_t len)
{
	int fd;

	snprintf(path, cap, "/tmp/amn-vad-XXXXXX");
	fd = mkstemp(path);
	cr_assert_geq(fd, 0);
	cr_assert_eq(write(fd, data, len), (ssize_t)len);
	close(fd);
}

static int load_bytes(const void *data, size_t len, char *err, size_t errlen)
{
	struct wsp_vad *v = (struct wsp_vad *)0x1;
	char path[64];
	int ret;

	write_tmp(path, sizeof(path), data, len);
	ret = wsp_vad_load(path, &v, err, errlen);
	unlink(path);
	cr_expect(ret != 0 || v != NULL);
	if (ret)
		cr_expect_null(v, "a failed load leaves *out NULL");
	wsp_vad_free(ret ? NULL : v);
	return ret;
}

Test(vad_weights, missing_file_is_enoent)
{
	struct wsp_vad *v = NULL;
	char err[1024] = "";

	cr_expect_eq(wsp_vad_load("/nonexistent/silero_vad_v6.amnv", &v, err, sizeof(err)), -ENOENT);
	cr_expect_null(v);
	cr_expect(strstr(err, "/nonexistent/silero_vad_v6.amnv") != NULL, "%s", err);
}

/*
 * wsp_vad_open(): a path given must load; without one, the weights
 * wsp_vad_find() names ($AMANUENSIS_VAD here) load, and a name that is
 * not there is a load error, not "none found".
 */
Test(vad_weights, open_takes_the_path_else_the_one_found)
{
	struct wsp_vad *v = (struct wsp_vad *)&v;
	char err[1024] = "";

	if (access(vad_path(), R_OK))
		cr_skip_test("no VAD weights at %s (scripts/silero_to_amn.py)", vad_path());
	cr_expect_eq(wsp_vad_open("/nonexistent/silero_vad_v6.amnv", &v, err, sizeof(err)),
		     -ENOENT);
	cr_expect_null(v, "*out is NULL after a failure");
	setenv("AMANUENSIS_VAD", vad_path(), 1);
	cr_assert_eq(wsp_vad_open(NULL, &v, err, sizeof(err)), 0, "%s", err);
	cr_expect_not_null(v, "$AMANUENSIS_VAD's weights");
	wsp_vad_free(v);
	setenv("AMANUENSIS_VAD", "/nonexistent/silero_vad_v6.amnv", 1);
	cr_expect_eq(wsp_vad_open(NULL, &v, err, sizeof(err)), -ENOENT);
	cr_expect_null(v);
	cr_expect(strstr(err, "/nonexistent/silero_vad_v6.amnv") != NULL, "%s", err);
	unsetenv("AMANUENSIS_VAD");
}

Test(vad_weights, bad_magic_is_refused)
{
	size_t len;
	unsigned char *b = real_bytes(&len);
	char err[1024] = "";

	memcpy(b, "GGUF", 4);
	cr_expect_eq(load_bytes(b, len, err, sizeof(err)), -EINVAL);
	cr_expect(strstr(err, "not a VAD weights file") != NULL, "%s", err);
	cr_expect_eq(load_bytes("AM", 2, err, sizeof(err)), -EINVAL);
	cr_expect_eq(load_bytes("", 0, err, sizeof(err)), -EINVAL);
	free(b);
}

Test(vad_weights, truncated_file_is_refused)
{
	size_t len;
	unsigned char *b = real_bytes(&len);
	char err[1024] = "";

	/* the tensor data cut short */
	cr_expect_eq(load_bytes(b, len / 2, err, sizeof(err)), -EINVAL);
	cr_expect(strstr(err, "truncated") != NULL, "%s", err);
	/* the table cut short */
	cr_expect_eq(load_bytes(b, 100, err, sizeof(err)), -EINVAL);
	cr_expect(strstr(err, "truncated") != NULL, "%s", err);
	/* the last tensor's block (out.bias, 4 bytes padded to 64) missing */
	cr_expect_eq(load_bytes(b, len - 64, err, sizeof(err)), -EINVAL);
	cr_expect(strstr(err, "out.bias") != NULL, "%s", err);
	free(b);
}

Test(vad_weights, wrong_shape_is_refused)
{
	size_t len;
	unsigned char *b = real_bytes(&len);
	char err[1024] = "";
	uint32_t n = (uint32_t)b[8] | (uint32_t)b[9] << 8, v;
	int found = 0;

	/* enc1.weight [64, 128, 3] claimed as [32, 128, 3] */
	for (uint32_t i = 0; i < n; i++) {
		unsigned char *e = b + 16 + 64 * i;

		if (strcmp((char *)e, "enc1.weight") == 0) {
			memcpy(&v, e + 44, 4);
			cr_assert_eq(v, 64u);
			v = 32;
			memcpy(e + 44, &v, 4);
			found = 1;
		}
	}
	cr_assert(found);
	cr_expect_eq(load_bytes(b, len, err, sizeof(err)), -EINVAL);
	cr_expect(strstr(err, "enc1.weight") != NULL && strstr(err, "expected 64") != NULL,
		  "%s", err);
	free(b);
}

Test(vad_weights, wrong_version_and_missing_tensor_are_refused)
{
	size_t len;
	unsigned char *b = real_bytes(&len);
	char err[1024] = "";

	b[4] = 9;
	cr_expect_eq(load_bytes(b, len, err, sizeof(err)), -EINVAL);
	cr_expect(strstr(err, "version 9") != NULL, "%s", err);
	b[4] = 1;
	/* rename out.bias: the file no longer has it */
	for (int i = 0; i < b[8]; i++)
		if (strcmp((char *)b + 16 + 64 * i, "out.bias") == 0)
			b[16 + 64 * i] = 'X';
	cr_expect_eq(load_bytes(b, len, err, sizeof(err)), -EINVAL);
	cr_expect(strstr(err, "no tensor out.bias") != NULL, "%s", err);
	free(b);
}

Test(vad_weights, find_honours_the_environment)
{
	char path[4096], err[1024];

	setenv("AMANUENSIS_VAD", "/some/where.amnv", 1);
	cr_expect_eq(wsp_vad_find(path, sizeof(path), err, sizeof(err)), 0);
	cr_expect_str_eq(path, "/some/where.amnv");
	unsetenv("AMANUENSIS_VAD");
}

/* ---- region rules on made-up probabilities ---- */

struct run {
	float p;
	int chunks;
};

/* A probability sequence of runs; returns the count. */
static size_t make_probs(float *dst, size_t cap, const struct run *r, int n)
{
	size_t k = 0;

	for (int i = 0; i < n; i++)
		for (int j = 0; j < r[i].chunks && k < cap; j++)
			dst[k++] = r[i].p;
	return k;
}

static int regions(const float *p, size_t n, size_t n_samples, const struct wsp_vad_opts *o,
		   struct wsp_vad_region **out)
{
	char err[256];
	int n_out = -1;

	cr_assert_eq(wsp_vad_regions_from_probs(p, n, n_samples, o, out, &n_out, err, sizeof(err)),
		     0, "%s", err);
	return n_out;
}

Test(vad_regions, defaults_are_faster_whispers)
{
	struct wsp_vad_opts o;
	struct wsp_transcribe_opts t;

	wsp_vad_opts_default(&o);
	cr_expect_eq(o.threshold, 0.5);
	cr_expect_lt(o.neg_threshold, 0.0);
	cr_expect_eq(o.min_speech_duration_ms, 0);
	cr_expect_leq(o.max_speech_duration_s, 0.0);
	cr_expect_eq(o.min_silence_duration_ms, 2000);
	cr_expect_eq(o.speech_pad_ms, 400);
	wsp_transcribe_opts_default(&t);
	cr_expect_null(t.vad, "the VAD filter is off by default");
	cr_expect_eq(t.vad_opts.threshold, o.threshold);
	cr_expect_eq(t.vad_opts.neg_threshold, o.neg_threshold);
	cr_expect_eq(t.vad_opts.min_speech_duration_ms, o.min_speech_duration_ms);
	cr_expect_eq(t.vad_opts.max_speech_duration_s, o.max_speech_duration_s);
	cr_expect_eq(t.vad_opts.min_silence_duration_ms, o.min_silence_duration_ms);
	cr_expect_eq(t.vad_opts.speech_pad_ms, o.speech_pad_ms);
}

Test(vad_regions, silence_gives_none)
{
	static float p[400];
	struct wsp_vad_region *r = (struct wsp_vad_region *)0x1;

	cr_expect_eq(regions(p, 400, 400 * 512, NULL, &r), 0);
	cr_expect_null(r);
	cr_expect_eq(regions(NULL, 0, 0, NULL, &r), 0);
}

Test(vad_regions, one_region_padded_and_clamped)
{
	static const struct run runs[] = { { 0.0f, 10 }, { 0.9f, 50 }, { 0.0f, 100 } };
	float p[160];
	size_t n = make_probs(p, 160, runs, 3);
	struct wsp_vad_region *r;

	/* speech from chunk 10 (5120) to the silence at chunk 60 (30720);
	 * padded by 6400 each side, the start clamped at 0 */
	cr_assert_eq(regions(p, n, n * 512, NULL, &r), 1);
	cr_expect_eq(r[0].start, 0u);
	cr_expect_eq(r[0].end, 30720u + 6400u);
	free(r);
}

Test(vad_regions, speech_to_the_end_ends_at_the_last_sample)
{
	static const struct run runs[] = { { 0.0f, 100 }, { 0.9f, 20 } };
	float p[120];
	size_t n = make_probs(p, 120, runs, 2);
	struct wsp_vad_region *r;

	cr_assert_eq(regions(p, n, n * 512 - 100, NULL, &r), 1);
	cr_expect_eq(r[0].start, 100u * 512 - 6400);
	cr_expect_eq(r[0].end, n * 512 - 100);
	free(r);
}

Test(vad_regions, between_the_thresholds_stays_what_it_was)
{
	/* 0.4 lies between neg_threshold (0.35) and threshold (0.5): it does
	 * not start speech, and it does not end it */
	static const struct run runs[] = { { 0.4f, 50 }, { 0.9f, 5 }, { 0.4f, 200 }, { 0.1f, 100 } };
	float p[355];
	size_t n = make_probs(p, 355, runs, 4);
	struct wsp_vad_region *r;
	struct wsp_vad_opts o;

	cr_assert_eq(regions(p, n, n * 512, NULL, &r), 1);
	cr_expect_eq(r[0].start, 50u * 512 - 6400);
	cr_expect_eq(r[0].end, 255u * 512 + 6400);
	free(r);
	/* neg_threshold 0.45: the 0.4 chunks are silence now */
	wsp_vad_opts_default(&o);
	o.neg_threshold = 0.45;
	cr_assert_eq(regions(p, n, n * 512, &o, &r), 1);
	cr_expect_eq(r[0].end, 55u * 512 + 6400);
	free(r);
}

Test(vad_regions, short_silence_joins_long_silence_splits)
{
	/* 1 s of silence (32 chunks) < 2 s: one region; 3 s (94 chunks): two,
	 * each padded by 400 ms */
	static const struct run joined[] = { { 0.9f, 40 }, { 0.0f, 32 }, { 0.9f, 40 }, { 0.0f, 200 } };
	static const struct run split[] = { { 0.9f, 40 }, { 0.0f, 94 }, { 0.9f, 40 }, { 0.0f, 200 } };
	float p[400];
	size_t n;
	struct wsp_vad_region *r;

	n = make_probs(p, 400, joined, 4);
	cr_assert_eq(regions(p, n, n * 512, NULL, &r), 1);
	cr_expect_eq(r[0].start, 0u);
	cr_expect_eq(r[0].end, 112u * 512 + 6400);
	free(r);
	n = make_probs(p, 400, split, 4);
	cr_assert_eq(regions(p, n, n * 512, NULL, &r), 2);
	cr_expect_eq(r[0].end, 40u * 512 + 6400);
	cr_expect_eq(r[1].start, 134u * 512 - 6400);
	cr_expect_eq(r[1].end, 174u * 512 + 6400);
	free(r);
}

Test(vad_regions, close_regions_share_the_gap)
{
	/* min_silence 100 ms: a 300 ms gap (10 chunks = 5120 samples, under two
	 * pads of 6400) is split half and half between the two regions */
	static const struct run runs[] = { { 0.0f, 100 }, { 0.9f, 40 }, { 0.0f, 10 }, { 0.9f, 40 },
					   { 0.0f, 100 } };
	float p[290];
	size_t n = make_probs(p, 290, runs, 5);
	struct wsp_vad_region *r;
	struct wsp_vad_opts o;

	wsp_vad_opts_default(&o);
	o.min_silence_duration_ms = 100;
	cr_assert_eq(regions(p, n, n * 512, &o, &r), 2);
	cr_expect_eq(r[0].start, 100u * 512 - 6400);
	cr_expect_eq(r[0].end, 140u * 512 + 2560);
	cr_expect_eq(r[1].start, 150u * 512 - 2560);
	cr_expect_eq(r[1].end, 190u * 512 + 6400);
	free(r);
}

Test(vad_regions, min_speech_drops_short_regions)
{
	static const struct run runs[] = { { 0.0f, 100 }, { 0.9f, 5 }, { 0.0f, 100 }, { 0.9f, 40 },
					   { 0.0f, 100 } };
	float p[345];
	size_t n = make_probs(p, 345, runs, 5);
	struct wsp_vad_region *r;
	struct wsp_vad_opts o;

	wsp_vad_opts_default(&o);
	cr_assert_eq(regions(p, n, n * 512, &o, &r), 2);
	free(r);
	o.min_speech_duration_ms = 250;     /* 4000 samples > 5 chunks (2560) */
	cr_assert_eq(regions(p, n, n * 512, &o, &r), 1);
	cr_expect_eq(r[0].start, 205u * 512 - 6400);
	free(r);
}

Test(vad_regions, max_speech_splits_at_the_last_silence_or_where_it_stands)
{
	/* max 10 s: 160000 - 512 - 12800 = 146688 samples (286.5 chunks) */
	static const struct run solid[] = { { 0.9f, 700 } };
	static const struct run dip[] = { { 0.9f, 200 }, { 0.1f, 5 }, { 0.9f, 495 } };
	float p[700];
	size_t n;
	struct wsp_vad_region *r;
	struct wsp_vad_opts o;
	int k;

	wsp_vad_opts_default(&o);
	o.max_speech_duration_s = 10.0;
	/* no silence at all: cut aggressively at chunk 287, the next region
	 * starting at the next chunk of speech */
	n = make_probs(p, 700, solid, 1);
	k = regions(p, n, n * 512, &o, &r);
	cr_assert_eq(k, 3);
	cr_expect_eq(r[0].start, 0u);
	cr_expect_eq(r[0].end, 287u * 512 + 256);      /* a 1-chunk gap shared */
	cr_expect_eq(r[1].start, 288u * 512 - 256);
	cr_expect_eq(r[1].end, 575u * 512 + 256);
	cr_expect_eq(r[2].end, 700u * 512);
	free(r);
	/* a 160 ms dip (more than 98 ms) at chunk 200: the cut goes there, and
	 * the next region starts where speech came back (chunk 205) */
	n = make_probs(p, 700, dip, 3);
	k = regions(p, n, n * 512, &o, &r);
	cr_assert_geq(k, 2);
	cr_expect_eq(r[0].end, 200u * 512 + 1280);     /* the 5-chunk gap shared */
	cr_expect_eq(r[1].start, 205u * 512 - 1280);
	free(r);
}

Test(vad_regions, bad_options_are_refused)
{
	float p[4] = { 0 };
	struct wsp_vad_region *r;
	struct wsp_vad_opts o;
	char err[256];
	int n;

	wsp_vad_opts_default(&o);
	o.threshold = 1.5;
	cr_expect_eq(wsp_vad_regions_from_probs(p, 4, 2048, &o, &r, &n, err, sizeof(err)), -EINVAL);
	wsp_vad_opts_default(&o);
	o.min_silence_duration_ms = -1;
	cr_expect_eq(wsp_vad_regions_from_probs(p, 4, 2048, &o, &r, &n, err, sizeof(err)), -EINVAL);
}

Test(vad_map, maps_back_as_speech_timestamps_map)
{
	/* regions [1 s, 3 s) and [5 s, 6 s): 1 s of silence before the first,
	 * 3 s in all before the second (which starts at 2 s of speech) */
	const struct wsp_vad_region r[] = { { 16000, 48000 }, { 80000, 96000 } };
	struct wsp_vad_map m;

	cr_assert_eq(wsp_vad_map_init(&m, r, 2), 0);
	cr_expect_eq(wsp_vad_map_index(&m, 0.5, 0), 0);
	cr_expect_eq(wsp_vad_map_index(&m, 2.0, 0), 1);
	cr_expect_eq(wsp_vad_map_index(&m, 2.0, 1), 0, "an end exactly at a region's end stays in it");
	cr_expect_eq(wsp_vad_map_index(&m, 9.0, 0), 1);
	cr_expect_float_eq(wsp_vad_map_time(&m, 0.5, 0), 1.5, 1e-9);
	cr_expect_float_eq(wsp_vad_map_time(&m, 2.0, 0), 3.0, 1e-9);
	cr_expect_float_eq(wsp_vad_map_time(&m, 2.0, 1), 5.0, 1e-9);
	cr_expect_float_eq(wsp_vad_map_time(&m, 2.256, 1), 5.26, 1e-9);
	wsp_vad_map_release(&m);
}

/* ---- the network ---- */

static float *jfk(size_t *n)
{
	struct wsp_audio a = { 0 };
	char path[512], err[512];

	snprintf(path, sizeof(path), "%s/jfk.wav", test_env_or("AMN_SHARED_AUDIO", "/work/shared/audio"));
	if (access(path, R_OK))
		cr_skip_test("no %s", path);
	cr_assert_eq(wsp_audio_load(path, &a, err, sizeof(err)), 0, "%s", err);
	*n = a.n;
	return a.samples;
}

Test(vad_net, silence_gives_no_regions)
{
	struct wsp_vad *v = load_or_skip();
	size_t n = 10 * SR, n_probs;
	float *z = calloc(n, sizeof(float)), *p;
	struct wsp_vad_region *r;
	char err[256];
	int n_r = -1;

	cr_assert_eq(wsp_vad_speech(v, z, n, NULL, &r, &n_r, err, sizeof(err)), 0, "%s", err);
	cr_expect_eq(n_r, 0);
	cr_expect_null(r);
	cr_assert_eq(wsp_vad_probs(v, z, n, &p, &n_probs, err, sizeof(err)), 0, "%s", err);
	cr_expect_eq(n_probs, n / 512 + 1);
	for (size_t i = 0; i < n_probs; i++)
		cr_expect_lt(p[i], 0.5f, "chunk %zu of silence: %g", i, p[i]);
	free(p);
	free(z);
	wsp_vad_free(v);
}

Test(vad_net, speech_probabilities_lie_in_0_1_and_find_speech)
{
	struct wsp_vad *v = load_or_skip();
	size_t n, n_probs, above = 0;
	float *pcm = jfk(&n), *p;
	struct wsp_vad_region *r;
	char err[256];
	int n_r;

	cr_assert_eq(wsp_vad_probs(v, pcm, n, &p, &n_probs, err, sizeof(err)), 0, "%s", err);
	cr_expect_eq(n_probs, n / 512 + 1);
	for (size_t i = 0; i < n_probs; i++) {
		cr_expect(p[i] >= 0.0f && p[i] <= 1.0f, "chunk %zu: %g", i, p[i]);
		above += p[i] >= 0.5f;
	}
	cr_expect_gt(above, n_probs / 2, "jfk.wav is mostly speech: %zu of %zu", above, n_probs);
	cr_assert_eq(wsp_vad_speech(v, pcm, n, NULL, &r, &n_r, err, sizeof(err)), 0, "%s", err);
	cr_expect_geq(n_r, 1);
	for (int i = 0; i < n_r; i++) {
		cr_expect_lt(r[i].start, r[i].end);
		cr_expect_leq(r[i].end, n);
		if (i)
			cr_expect_leq(r[i - 1].end, r[i].start);
	}
	free(r);
	free(p);
	free(pcm);
	wsp_vad_free(v);
}

struct th {
	const struct wsp_vad *v;
	const float *pcm;
	size_t n, n_probs;
	float *probs;
	int ret;
};

static void *score_thread(void *arg)
{
	struct th *t = arg;
	char err[256];

	t->ret = wsp_vad_probs(t->v, t->pcm, t->n, &t->probs, &t->n_probs, err, sizeof(err));
	return NULL;
}

Test(vad_net, two_threads_on_one_detector_agree)
{
	struct wsp_vad *v = load_or_skip();
	size_t n;
	float *pcm = jfk(&n);
	struct th t[2] = { { v, pcm, n, 0, NULL, -1 }, { v, pcm, n, 0, NULL, -1 } };
	pthread_t id[2];

	for (int i = 0; i < 2; i++)
		cr_assert_eq(pthread_create(&id[i], NULL, score_thread, &t[i]), 0);
	for (int i = 0; i < 2; i++)
		pthread_join(id[i], NULL);
	cr_assert_eq(t[0].ret, 0);
	cr_assert_eq(t[1].ret, 0);
	cr_assert_eq(t[0].n_probs, t[1].n_probs);
	cr_expect_eq(memcmp(t[0].probs, t[1].probs, t[0].n_probs * sizeof(float)), 0);
	free(t[0].probs);
	free(t[1].probs);
	free(pcm);
	wsp_vad_free(v);
}

Test(vad_net, streaming_in_odd_pieces_equals_one_call)
{
	struct wsp_vad *v = load_or_skip();
	struct wsp_vad_stream *s;
	size_t n, n1, n2, at = 0, step = 1;
	float *pcm = jfk(&n), *p1, *p2;
	char err[256];

	cr_assert_eq(wsp_vad_probs(v, pcm, n, &p1, &n1, err, sizeof(err)), 0);
	cr_assert_eq(wsp_vad_stream_new(v, &s), 0);
	while (at < n) {
		size_t k = n - at < step ? n - at : step;

		cr_assert_eq(wsp_vad_stream_feed(s, pcm + at, k), 0);
		at += k;
		step = step * 3 + 7;
	}
	cr_assert_eq(wsp_vad_stream_finish(s, &p2, &n2), 0);
	cr_assert_eq(n1, n2);
	cr_expect_eq(memcmp(p1, p2, n1 * sizeof(float)), 0);
	wsp_vad_stream_free(s);
	free(p1);
	free(p2);
	free(pcm);
	wsp_vad_free(v);
}

/* ---- transcription with the VAD ---- */

static void write_wav(const char *path, const float *x, size_t n)
{
	FILE *f = fopen(path, "wb");
	uint32_t u32;
	uint16_t u16;

	cr_assert_not_null(f);
	fwrite("RIFF", 1, 4, f);
	u32 = (uint32_t)(36 + 2 * n);
	fwrite(&u32, 4, 1, f);
	fwrite("WAVEfmt ", 1, 8, f);
	u32 = 16;
	fwrite(&u32, 4, 1, f);
	u16 = 1;
	fwrite(&u16, 2, 1, f);          /* PCM */
	fwrite(&u16, 2, 1, f);          /* mono */
	u32 = SR;
	fwrite(&u32, 4, 1, f);
	u32 = 2 * SR;
	fwrite(&u32, 4, 1, f);
	u16 = 2;
	fwrite(&u16, 2, 1, f);
	u16 = 16;
	fwrite(&u16, 2, 1, f);
	fwrite("data", 1, 4, f);
	u32 = (uint32_t)(2 * n);
	fwrite(&u32, 4, 1, f);
	for (size_t i = 0; i < n; i++) {
		float s = x[i] * 32767.0f;
		int16_t q = (int16_t)(s > 32767.0f ? 32767 : s < -32768.0f ? -32768 : lrintf(s));

		fwrite(&q, 2, 1, f);
	}
	fclose(f);
}

/* The result's letters, lower-cased (punctuation may differ with the context). */
static void joined(const struct wsp_result *r, char *dst, size_t cap)
{
	size_t len = 0;

	for (int i = 0; i < r->n_segments; i++)
		for (const char *t = r->segments[i].text; *t && len + 1 < cap; t++)
			if ((*t >= 'a' && *t <= 'z') || (*t >= 'A' && *t <= 'Z'))
				dst[len++] = (char)(*t | 0x20);
	dst[len] = 0;
}

Test(vad_transcribe, leading_silence_maps_back, .timeout = 600)
{
	const char *dir = test_env_or("AMN_MODEL", "models/tiny.en");
	struct wsp_vad *v;
	struct wsp_model *m;
	struct wsp_context *c;
	struct wsp_transcribe_opts o;
	struct wsp_result plain, rf, rp;
	size_t n, total;
	float *pcm, *x;
	char err[1024], cfg[1024], path[64], t0[4096], t1[4096];
	FILE *f;

	/* four transcriptions: longer than memcheck allows (test_transcribe's
	 * long tests skip the same way) */
	if (test_small_scale())
		cr_skip_test("long test: skipped with AMN_TEST_SCALE=small");
	v = load_or_skip();
	pcm = jfk(&n);
	snprintf(cfg, sizeof(cfg), "%s/config.json", dir);
	f = fopen(cfg, "r");
	if (!f)
		cr_skip_test("no model at %s (set AMN_MODEL)", dir);
	fclose(f);
	cr_assert_eq(wsp_model_load(&m, dir, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(wsp_context_new(m, NULL, WSP_INT8, 2, &c, err, sizeof(err)), 0, "%s", err);
	/* 10 s of silence, jfk.wav, 3 s of silence */
	total = 13 * SR + n;
	x = calloc(total, sizeof(float));
	memcpy(x + 10 * SR, pcm, n * sizeof(float));
	snprintf(path, sizeof(path), "/tmp/amn-vad-XXXXXX.wav");
	close(mkstemps(path, 4));
	write_wav(path, x, total);

	wsp_transcribe_opts_default(&o);
	cr_assert_eq(wsp_transcribe_pcm(c, pcm, n, &o, &plain, err, sizeof(err)), 0, "%s", err);
	o.vad = v;
	cr_assert_eq(wsp_transcribe_file(c, path, &o, &rf, err, sizeof(err)), 0, "%s", err);
	cr_assert_gt(rf.n_segments, 0);
	cr_expect_float_eq(rf.duration_s, (double)total / SR, 0.01, "the file's duration");
	/* the speech starts at 10 s; the region's pad reaches back 0.4 s */
	cr_expect_geq(rf.segments[0].start, 9.6, "first segment at %.2f", rf.segments[0].start);
	for (int i = 0; i < rf.n_segments; i++) {
		cr_expect_leq(rf.segments[i].end, 10.0 + (double)n / SR + 0.4 + 0.01,
			      "segment %d ends at %.2f", i, rf.segments[i].end);
		cr_expect_leq(rf.segments[i].start, rf.segments[i].end);
	}
	/* the same words as jfk.wav alone (punctuation aside), shifted by the silence */
	joined(&plain, t0, sizeof(t0));
	joined(&rf, t1, sizeof(t1));
	cr_expect_str_eq(t1, t0);
	/* speech-only time t is file time t + 9.6 (the region starts 0.4 s
	 * before the speech), and the speech sits 0.4 s into the region */
	cr_expect_float_eq(rf.segments[0].start, plain.segments[0].start + 10.0, 0.3,
			   "VAD %.2f vs plain %.2f", rf.segments[0].start, plain.segments[0].start);
	/* a buffer gives what its file gives */
	cr_assert_eq(wsp_transcribe_pcm(c, x, total, &o, &rp, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(rp.n_segments, rf.n_segments);
	for (int i = 0; i < rp.n_segments; i++) {
		cr_expect_float_eq(rp.segments[i].start, rf.segments[i].start, 1e-9);
		cr_expect_float_eq(rp.segments[i].end, rf.segments[i].end, 1e-9);
	}
	wsp_result_free(&rp);
	/* words too */
	wsp_result_free(&rf);
	o.word_timestamps = 1;
	cr_assert_eq(wsp_transcribe_file(c, path, &o, &rf, err, sizeof(err)), 0, "%s", err);
	cr_assert_gt(rf.n_segments, 0);
	cr_assert_gt(rf.segments[0].n_words, 0);
	cr_expect_geq(rf.segments[0].words[0].start, 9.6, "first word at %.2f",
		      rf.segments[0].words[0].start);
	cr_expect_float_eq(rf.segments[0].start, rf.segments[0].words[0].start, 1e-9);
	wsp_result_free(&rf);
	wsp_result_free(&plain);
	unlink(path);
	free(x);
	free(pcm);
	wsp_context_free(c);
	wsp_model_free(m);
	wsp_vad_free(v);
}

Test(vad_transcribe, all_silence_transcribes_nothing, .timeout = 600)
{
	const char *dir = test_env_or("AMN_MODEL", "models/tiny.en");
	struct wsp_vad *v = load_or_skip();
	struct wsp_model *m;
	struct wsp_context *c;
	struct wsp_transcribe_opts o;
	struct wsp_result r;
	size_t n = 40 * SR;
	float *z = calloc(n, sizeof(float));
	char err[1024], cfg[1024];
	FILE *f;

	snprintf(cfg, sizeof(cfg), "%s/config.json", dir);
	f = fopen(cfg, "r");
	if (!f)
		cr_skip_test("no model at %s (set AMN_MODEL)", dir);
	fclose(f);
	cr_assert_eq(wsp_model_load(&m, dir, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(wsp_context_new(m, NULL, WSP_INT8, 2, &c, err, sizeof(err)), 0, "%s", err);
	wsp_transcribe_opts_default(&o);
	o.vad = v;
	cr_assert_eq(wsp_transcribe_pcm(c, z, n, &o, &r, err, sizeof(err)), 0, "%s", err);
	cr_expect_eq(r.n_segments, 0);
	cr_expect_float_eq(r.duration_s, 40.0, 1e-9);
	wsp_result_free(&r);
	free(z);
	wsp_context_free(c);
	wsp_model_free(m);
	wsp_vad_free(v);
}
