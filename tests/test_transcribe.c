// SPDX-License-Identifier: MIT
/*
 * tests/test_transcribe.c - end-to-end transcription on real audio with the
 * model in $AMN_MODEL (models/tiny.en; skipped when missing):
 *  - fp32 greedy without timestamps gives CTranslate2's greedy token ids
 *    (build/ref/NAME.tokens.txt, scripts/ct2_reference.py);
 *  - fp32 beam 5 with timestamps gives faster-whisper's segments on jfk.wav;
 *  - INT8 gives the manifest's transcripts (letters only) on most files;
 *  - digital silence and white noise give no text;
 *  - sentences 10 s apart give both sentences and nothing in between;
 *  - a ~75 s concatenation gives monotonic segments covering the sentences,
 *    and with fp32 exactly faster-whisper's segments (three windows, prompts);
 *  - concurrent transcriptions on one context agree with a serial one, and
 *    a buffer agrees with its file;
 *  - with models/base (multilingual), the language of jfk.wav is detected.
 */
#include <criterion/criterion.h>
#include <ctype.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sched/npu.h"
#include "whisper/audio/audio.h"
#include "whisper/transcribe.h"
#include "tests/helpers/test_env.h"
#include "tests/helpers/test_ref.h"

#define MAX_FILES 16

static struct wsp_model *model;
static struct wsp_context *ctx_i8, *ctx_f32;
static char files[MAX_FILES][128], truth[MAX_FILES][512];
static int n_files;

/* AMN_TEST_SCALE=small (sanitizer and valgrind runs): the long tests skip. */
static void skip_if_small(void)
{
	if (test_small_scale())
		cr_skip_test("long test: skipped with AMN_TEST_SCALE=small");
}

static const char *audio_dir(void)
{
	return test_env_or("AMN_SHARED_AUDIO", "/work/shared/audio");
}

static void path_of(char *dst, size_t n, const char *file)
{
	snprintf(dst, n, "%.255s/%.200s", audio_dir(), file);
}

static void read_manifest(void)
{
	char path[512], line[2048];
	FILE *f;

	path_of(path, sizeof(path), "manifest.tsv");
	f = fopen(path, "r");
	cr_assert_not_null(f, "no %s", path);
	cr_assert_not_null(fgets(line, sizeof(line), f));   /* header */
	while (n_files < MAX_FILES && fgets(line, sizeof(line), f)) {
		char *col[6], *p = line;
		int n = 0;

		line[strcspn(line, "\n")] = 0;
		while (n < 6 && p) {
			col[n++] = p;
			p = strchr(p, '\t');
			if (p)
				*p++ = 0;
		}
		if (n < 6)
			continue;
		snprintf(files[n_files], sizeof(files[0]), "%.127s", col[0]);
		snprintf(truth[n_files], sizeof(truth[0]), "%.511s", col[5]);
		n_files++;
	}
	fclose(f);
}

static void setup(void)
{
	const char *dir = test_env_or("AMN_MODEL", "models/tiny.en");
	char err[512], cfg[1024];
	FILE *f;

	snprintf(cfg, sizeof(cfg), "%s/config.json", dir);
	f = fopen(cfg, "r");
	if (!f)
		cr_skip_test("no model at %s (set AMN_MODEL)", dir);
	fclose(f);
	cr_assert_eq(wsp_model_load(&model, dir, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(wsp_context_new(model, NULL, WSP_INT8, 2, &ctx_i8, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(wsp_context_new(model, NULL, WSP_FP32, 2, &ctx_f32, err, sizeof(err)), 0, "%s", err);
	read_manifest();
}

static void teardown(void)
{
	wsp_context_free(ctx_i8);
	wsp_context_free(ctx_f32);
	wsp_model_free(model);
	ctx_i8 = ctx_f32 = NULL;
	model = NULL;
}

TestSuite(transcribe, .init = setup, .fini = teardown, .timeout = 600);

static int has_text(const struct wsp_result *r)
{
	char buf[4096], l[4096];

	test_joined_text(r, buf, sizeof(buf));
	test_text_letters(buf, l, sizeof(l));
	return l[0] != 0;
}

static int index_of(const char *file)
{
	for (int i = 0; i < n_files; i++)
		if (strcmp(files[i], file) == 0)
			return i;
	return -1;
}

static float *load(const char *file, size_t *n)
{
	struct wsp_audio a = { 0 };
	char path[512], err[512];

	path_of(path, sizeof(path), file);
	cr_assert_eq(wsp_audio_load(path, &a, err, sizeof(err)), 0, "%s", err);
	*n = a.n;
	return a.samples;
}

static int read_ref_tokens(const char *name, int32_t *tok, int cap)
{
	char path[1024];
	FILE *f;
	int n = 0;

	snprintf(path, sizeof(path), "%s/%s.tokens.txt", test_env_or("AMN_REF_DIR", "build/ref"), name);
	f = fopen(path, "r");
	if (!f)
		return -1;
	while (n < cap && fscanf(f, "%d", &tok[n]) == 1)
		n++;
	fclose(f);
	return n;
}

Test(transcribe, fp32_greedy_without_timestamps_equals_ctranslate2)
{
	static const float t0[] = { 0.0f };
	struct wsp_transcribe_opts o;
	int checked = 0;

	wsp_transcribe_opts_default(&o);
	o.beam_size = 1;
	o.without_timestamps = 1;
	o.temperatures = t0;
	o.n_temperatures = 1;
	for (int i = 0; i < (test_small_scale() && n_files > 2 ? 2 : n_files); i++) {
		struct wsp_result r;
		char path[512], name[128], err[512];
		int32_t ref[448], got[448];
		int n_ref, n = 0;

		snprintf(name, sizeof(name), "%s", files[i]);
		*strrchr(name, '.') = 0;
		n_ref = read_ref_tokens(name, ref, 448);
		if (n_ref < 0)
			continue;
		path_of(path, sizeof(path), files[i]);
		cr_assert_eq(wsp_transcribe_file(ctx_f32, path, &o, &r, err, sizeof(err)), 0, "%s", err);
		for (int s = 0; s < r.n_segments; s++)
			for (int k = 0; k < r.segments[s].n_tokens && n < 448; k++)
				got[n++] = r.segments[s].tokens[k];
		cr_expect_eq(n, n_ref, "%s: %d tokens, CTranslate2 %d", files[i], n, n_ref);
		cr_expect(n == n_ref && memcmp(got, ref, (size_t)n * sizeof(int32_t)) == 0,
			  "%s: tokens differ from CTranslate2 greedy", files[i]);
		wsp_result_free(&r);
		checked++;
	}
	if (!checked)
		cr_skip_test("no reference tokens in %s", test_env_or("AMN_REF_DIR", "build/ref"));
}

Test(transcribe, fp32_beam5_jfk_equals_faster_whisper)
{
	/* faster-whisper 1.2.1, compute_type="float32", beam_size=5, defaults otherwise */
	static const char *fw[] = {
		" And so, my fellow Americans ask not what your country can do for you",
		" ask what you can do for your country.",
	};
	static const double fw_t[][2] = { { 0.0, 8.0 }, { 8.0, 11.0 } };
	struct wsp_transcribe_opts o;
	struct wsp_result r;
	char path[512], err[512], got[1024], a[1024], b[1024];

	wsp_transcribe_opts_default(&o);
	path_of(path, sizeof(path), "jfk.wav");
	cr_assert_eq(wsp_transcribe_file(ctx_f32, path, &o, &r, err, sizeof(err)), 0, "%s", err);
	test_joined_text(&r, got, sizeof(got));
	test_text_no_space(got, a, sizeof(a));
	snprintf(got, sizeof(got), "%s%s", fw[0], fw[1]);
	test_text_no_space(got, b, sizeof(b));
	cr_expect_str_eq(a, b);
	cr_assert_eq(r.n_segments, 2);
	for (int i = 0; i < 2; i++) {
		cr_expect_float_eq(r.segments[i].start, fw_t[i][0], 1e-6);
		cr_expect_float_eq(r.segments[i].end, fw_t[i][1], 1e-6);
		cr_expect_str_eq(r.segments[i].text, fw[i]);
		cr_expect_float_eq(r.segments[i].avg_logprob, -0.290f, 5e-3);
	}
	cr_expect_str_eq(r.language, "en");
	cr_expect_float_eq(r.duration_s, 11.0, 1e-3);
	cr_expect_gt(r.encode_ms, 0.0);
	cr_expect_gt(r.decode_ms, 0.0);
	wsp_result_free(&r);

	/* openai-whisper's beam bookkeeping and timestamp rule agree on this file */
	o.openai_rules = 1;
	cr_assert_eq(wsp_transcribe_file(ctx_f32, path, &o, &r, err, sizeof(err)), 0, "%s", err);
	test_joined_text(&r, got, sizeof(got));
	test_text_no_space(got, a, sizeof(a));
	cr_expect_str_eq(a, b, "openai rules");
	wsp_result_free(&r);
}

Test(transcribe, int8_beam5_matches_transcripts_on_most_files)
{
	struct wsp_transcribe_opts o;
	int ok = 0;

	skip_if_small();
	wsp_transcribe_opts_default(&o);
	for (int i = 0; i < n_files; i++) {
		struct wsp_result r;
		char path[512], err[512], got[2048], a[2048], b[2048];

		path_of(path, sizeof(path), files[i]);
		cr_assert_eq(wsp_transcribe_file(ctx_i8, path, &o, &r, err, sizeof(err)), 0, "%s", err);
		test_joined_text(&r, got, sizeof(got));
		test_text_letters(got, a, sizeof(a));
		test_text_letters(truth[i], b, sizeof(b));
		if (strcmp(a, b) == 0)
			ok++;
		else
			cr_log_info("%s (int8): '%s'", files[i], got);
		wsp_result_free(&r);
	}
	cr_expect_geq(ok, n_files - 1, "only %d of %d files transcribed exactly", ok, n_files);
}

Test(transcribe, silence_and_noise_give_no_text)
{
	const size_t n = 15 * 16000;
	float *x = calloc(n, sizeof(float));
	struct wsp_transcribe_opts o;
	struct wsp_result r;
	char err[512], got[4096];
	uint32_t s = 12345;

	cr_assert_not_null(x);
	wsp_transcribe_opts_default(&o);
	cr_assert_eq(wsp_transcribe_pcm(ctx_i8, x, n, &o, &r, err, sizeof(err)), 0, "%s", err);
	test_joined_text(&r, got, sizeof(got));
	cr_expect(!has_text(&r), "silence gave '%s'", got);
	wsp_result_free(&r);

	for (size_t i = 0; i < n; i++) {   /* uniform white noise, std 0.06 */
		s = s * 1664525u + 1013904223u;
		x[i] = ((float)(s >> 8) / 16777216.0f - 0.5f) * 0.2f;
	}
	cr_assert_eq(wsp_transcribe_pcm(ctx_i8, x, n, &o, &r, err, sizeof(err)), 0, "%s", err);
	test_joined_text(&r, got, sizeof(got));
	cr_expect(!has_text(&r), "white noise gave '%s'", got);
	wsp_result_free(&r);
	free(x);
}

Test(transcribe, pause_between_sentences)
{
	size_t na, nb, n;
	float *a = load("jfk.wav", &na), *b = load("spk1_snt1.wav", &nb), *x;
	const size_t gap = 10 * 16000;
	struct wsp_transcribe_opts o;
	struct wsp_result r;
	char err[512], got[4096], l[4096];
	double a_end = (double)na / 16000, b_start = (double)(na + gap) / 16000;

	n = na + gap + nb;
	x = calloc(n, sizeof(float));
	cr_assert_not_null(x);
	memcpy(x, a, na * sizeof(float));
	memcpy(x + na + gap, b, nb * sizeof(float));
	wsp_transcribe_opts_default(&o);
	cr_assert_eq(wsp_transcribe_pcm(ctx_i8, x, n, &o, &r, err, sizeof(err)), 0, "%s", err);
	test_joined_text(&r, got, sizeof(got));
	test_text_letters(got, l, sizeof(l));
	cr_expect(strstr(l, "askwhatyoucandoforyourcountry") != NULL, "first sentence missing: '%s'", got);
	cr_expect(strstr(l, "thechildalmosthurtthesmalldog") != NULL, "second sentence missing: '%s'", got);
	for (int i = 0; i < r.n_segments; i++) {
		const struct wsp_segment *s = &r.segments[i];

		cr_expect(s->end <= a_end + 1.0 || s->start >= b_start - 1.5,
			  "segment [%.2f, %.2f] '%s' inside the pause [%.2f, %.2f]",
			  s->start, s->end, s->text, a_end, b_start);
	}
	wsp_result_free(&r);
	free(a);
	free(b);
	free(x);
}

static float *concat_twice(size_t *out_n);

Test(transcribe, long_form_monotonic_segments)
{
	struct wsp_transcribe_opts o;
	struct wsp_result r;
	char err[512], got[16384], l[16384];
	int found = 0;
	size_t n;
	float *x;

	skip_if_small();
	x = concat_twice(&n);
	cr_assert_gt((double)n / 16000, 60.0);
	wsp_transcribe_opts_default(&o);
	cr_assert_eq(wsp_transcribe_pcm(ctx_i8, x, n, &o, &r, err, sizeof(err)), 0, "%s", err);
	cr_assert_gt(r.n_segments, 4);
	for (int i = 0; i < r.n_segments; i++) {
		const struct wsp_segment *s = &r.segments[i];

		cr_expect_leq(s->start, s->end, "segment %d: [%.2f, %.2f]", i, s->start, s->end);
		if (i > 0)
			cr_expect_geq(s->start, r.segments[i - 1].start, "segment %d starts at %.2f before "
				      "segment %d at %.2f", i, s->start, i - 1, r.segments[i - 1].start);
		cr_expect_leq(s->end, (double)n / 16000 + 0.5);
	}
	cr_expect_gt(r.segments[r.n_segments - 1].end, (double)n / 16000 - 8.0,
		     "the segments stop at %.2f of %.2f s", r.segments[r.n_segments - 1].end,
		     (double)n / 16000);
	test_joined_text(&r, got, sizeof(got));
	test_text_letters(got, l, sizeof(l));
	for (int i = 0; i < n_files; i++) {
		char t[512], *p;

		test_text_letters(truth[i], t, sizeof(t));
		p = strstr(l, t);
		found += p != NULL;
		found += p && strstr(p + 1, t) != NULL;
	}
	cr_expect_geq(found, 2 * n_files - 3, "only %d of %d sentences found in '%s'", found,
		      2 * n_files, got);
	cr_expect_float_eq(r.duration_s, (double)n / 16000, 1e-3);
	wsp_result_free(&r);
	free(x);
}

/* The manifest's files in order, each followed by 1 s of silence, twice (~76 s). */
static float *concat_twice(size_t *out_n)
{
	const size_t gap = 16000;
	float *clip[MAX_FILES], *x;
	size_t len[MAX_FILES], n = 0, pos = 0;

	for (int i = 0; i < n_files; i++) {
		clip[i] = load(files[i], &len[i]);
		n += 2 * (len[i] + gap);
	}
	x = calloc(n, sizeof(float));
	cr_assert_not_null(x);
	for (int rep = 0; rep < 2; rep++)
		for (int i = 0; i < n_files; i++) {
			memcpy(x + pos, clip[i], len[i] * sizeof(float));
			pos += len[i] + gap;
		}
	for (int i = 0; i < n_files; i++)
		free(clip[i]);
	*out_n = n;
	return x;
}

Test(transcribe, fp32_long_form_equals_faster_whisper)
{
	/*
	 * faster-whisper 1.2.1, tiny.en, compute_type="float32", beam_size=5, on
	 * the same 76 s concatenation: three windows (seek 0, 29 s, 57 s), the
	 * second and third under a prompt of the previous text.
	 */
	static const struct { double t0, t1; const char *text; } fw[] = {
		{ 0, 11, " And so, my fellow Americans, ask not what your country can do for you, ask what you can do for your country." },
		{ 12, 15, " The child almost hurt the small dog." },
		{ 16, 19, " Drop the two when you add the figures." },
		{ 20, 23, " At that high level, the air is pure." },
		{ 24, 26, " We are sure that one war is enough." },
		{ 27, 29, " What joy there is in living." },
		{ 29, 35, " Unless a system is established for the frequent formal review of activities they are under." },
		{ 36, 37, " In this regard." },
		{ 38, 48, " And so, my fellow Americans, ask not what your country can do for you, ask what you can do for your country." },
		{ 49, 53, " The child almost hurt the small dog." },
		{ 54, 57, " Drop the two when you add the figures." },
		{ 57, 60, " At that high level, the air is pure." },
		{ 61, 63, " We are sure that one war is enough." },
		{ 64, 66, " What joy there is in living." },
		{ 67, 73, " Unless a system is established for the frequent formal review of activities they are under." },
		{ 74, 75, " In this regard." },
	};
	const int n_fw = (int)(sizeof(fw) / sizeof(fw[0]));
	struct wsp_transcribe_opts o;
	struct wsp_result r;
	char err[512];
	size_t n;
	float *x;

	skip_if_small();
	if (n_files != 7 || strcmp(files[0], "jfk.wav") != 0)
		cr_skip_test("the reference is for the 7-file manifest starting with jfk.wav");
	x = concat_twice(&n);
	wsp_transcribe_opts_default(&o);
	cr_assert_eq(wsp_transcribe_pcm(ctx_f32, x, n, &o, &r, err, sizeof(err)), 0, "%s", err);
	cr_expect_eq(r.n_segments, n_fw);
	for (int i = 0; i < r.n_segments && i < n_fw; i++) {
		cr_expect_str_eq(r.segments[i].text, fw[i].text, "segment %d", i);
		cr_expect_float_eq(r.segments[i].start, fw[i].t0, 1e-6, "segment %d start", i);
		cr_expect_float_eq(r.segments[i].end, fw[i].t1, 1e-6, "segment %d end", i);
	}
	wsp_result_free(&r);
	free(x);
}

struct worker {
	const char *path;
	struct wsp_result r;
	int ret;
	char err[256];
};

static void *work(void *arg)
{
	struct worker *w = arg;
	struct wsp_transcribe_opts o;

	wsp_transcribe_opts_default(&o);
	w->ret = wsp_transcribe_file(ctx_i8, w->path, &o, &w->r, w->err, sizeof(w->err));
	return NULL;
}

static void same_result(const struct wsp_result *a, const struct wsp_result *b, const char *what)
{
	cr_assert_eq(a->n_segments, b->n_segments, "%s: segment counts differ", what);
	for (int i = 0; i < a->n_segments; i++) {
		cr_expect_str_eq(a->segments[i].text, b->segments[i].text, "%s", what);
		cr_expect_eq(a->segments[i].start, b->segments[i].start, "%s", what);
		cr_expect_eq(a->segments[i].end, b->segments[i].end, "%s", what);
	}
}

Test(transcribe, concurrent_calls_and_pcm_agree_with_serial)
{
	char p1[512], p2[512];
	struct worker w[3];
	pthread_t th[3];
	struct wsp_transcribe_opts o;
	struct wsp_result serial[2], pcm;
	char err[512];
	float *x;
	size_t n;
	/* small scale (sanitizers): the two shortest files */
	const char *f1 = test_small_scale() ? "spk2_snt2.wav" : "jfk.wav";
	int fi = index_of(test_small_scale() ? "spk2_snt1.wav" : "spk1_snt2.wav");

	path_of(p1, sizeof(p1), f1);
	path_of(p2, sizeof(p2), fi >= 0 ? files[fi] : f1);
	wsp_transcribe_opts_default(&o);
	cr_assert_eq(wsp_transcribe_file(ctx_i8, p1, &o, &serial[0], err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(wsp_transcribe_file(ctx_i8, p2, &o, &serial[1], err, sizeof(err)), 0, "%s", err);
	for (int i = 0; i < 3; i++) {
		memset(&w[i], 0, sizeof(w[i]));
		w[i].path = i == 1 ? p2 : p1;
		cr_assert_eq(pthread_create(&th[i], NULL, work, &w[i]), 0);
	}
	for (int i = 0; i < 3; i++) {
		pthread_join(th[i], NULL);
		cr_assert_eq(w[i].ret, 0, "%s", w[i].err);
		same_result(&w[i].r, &serial[i == 1], "concurrent vs serial");
		wsp_result_free(&w[i].r);
	}
	x = load(f1, &n);
	cr_assert_eq(wsp_transcribe_pcm(ctx_i8, x, n, &o, &pcm, err, sizeof(err)), 0, "%s", err);
	same_result(&pcm, &serial[0], "buffer vs file");
	wsp_result_free(&pcm);
	wsp_result_free(&serial[0]);
	wsp_result_free(&serial[1]);
	free(x);
}

struct tenant_worker {
	struct wsp_context *ctx;
	const char *path;
	struct wsp_result r;
	int ret;
	char err[256];
};

static void *tenant_work(void *arg)
{
	struct tenant_worker *w = arg;
	struct wsp_transcribe_opts o;

	wsp_transcribe_opts_default(&o);
	w->ret = wsp_transcribe_file(w->ctx, w->path, &o, &w->r, w->err, sizeof(w->err));
	return NULL;
}

/*
 * Tenant contexts share the base's model, tokenizer and gang but hold their
 * own engine tenants: two of them transcribing at once (their decoder
 * steps stacked in one gang) give the base's serial result, and they may be
 * freed in any order before the base.
 */
Test(transcribe, tenant_contexts_share_the_base)
{
	const char *f = test_small_scale() ? "spk2_snt2.wav" : "jfk.wav";
	struct npu_engine_opts eo = { .backend = "cpu" };
	struct wsp_context *base, *t1, *t2, *bad = (void *)1;
	struct tenant_worker w[2];
	struct npu_engine *e;
	struct wsp_transcribe_opts o;
	struct wsp_result serial;
	pthread_t th[2];
	char p[512], err[256];

	path_of(p, sizeof(p), f);
	cr_assert_eq(npu_engine_open(&e, &eo), 0);
	cr_assert_eq(wsp_context_new(model, e, WSP_INT8, 2, &base, err, sizeof(err)), 0, "%s", err);
	cr_expect_eq(wsp_context_new_tenant(base, "x", 0, &bad, err, sizeof(err)), -EINVAL);
	cr_expect_null(bad);
	cr_expect_eq(wsp_context_new_tenant(NULL, "x", 1, &bad, err, sizeof(err)), -EINVAL);
	cr_assert_eq(wsp_context_new_tenant(base, "light", 1, &t1, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(wsp_context_new_tenant(t1, "heavy", 3, &t2, err, sizeof(err)), 0, "%s", err);
	wsp_transcribe_opts_default(&o);
	cr_assert_eq(wsp_transcribe_file(base, p, &o, &serial, err, sizeof(err)), 0, "%s", err);
	for (int i = 0; i < 2; i++) {
		memset(&w[i], 0, sizeof(w[i]));
		w[i].ctx = i ? t2 : t1;
		w[i].path = p;
		cr_assert_eq(pthread_create(&th[i], NULL, tenant_work, &w[i]), 0);
	}
	for (int i = 0; i < 2; i++) {
		pthread_join(th[i], NULL);
		cr_assert_eq(w[i].ret, 0, "%s", w[i].err);
		same_result(&w[i].r, &serial, "tenant context vs base");
		wsp_result_free(&w[i].r);
	}
	cr_expect(wsp_context_has_language(t2, "en"));
	wsp_context_free(t1);
	wsp_context_free(t2);
	wsp_context_free(base);
	npu_engine_close(e);
	wsp_result_free(&serial);
}

/*
 * Dropping the float weights keeps every bit of the INT8 path (it never
 * reads them), and a float context on that model is refused with a reason.
 */
Test(transcribe, int8_only_model_gives_the_same_result)
{
	const char *f = test_small_scale() ? "spk2_snt2.wav" : "jfk.wav";
	struct wsp_context *c = NULL;
	struct wsp_transcribe_opts o;
	struct wsp_result before, after;
	char p[512], err[512] = "";

	path_of(p, sizeof(p), f);
	wsp_transcribe_opts_default(&o);
	cr_assert_eq(wsp_transcribe_file(ctx_i8, p, &o, &before, err, sizeof(err)), 0, "%s", err);
	cr_assert(wsp_model_has_fp32(model));
	/* the fixture's fp32 context must not run after this: free it first */
	wsp_context_free(ctx_f32);
	ctx_f32 = NULL;
	cr_assert_eq(wsp_model_drop_fp32(model), 0);
	cr_expect_not(wsp_model_has_fp32(model));
	cr_assert_eq(wsp_transcribe_file(ctx_i8, p, &o, &after, err, sizeof(err)), 0, "%s", err);
	same_result(&after, &before, "int8 after dropping the float weights");
	cr_expect_eq(wsp_context_new(model, NULL, WSP_FP32, 2, &c, err, sizeof(err)), -EINVAL);
	cr_expect_null(c);
	cr_expect(strstr(err, "INT8 only") != NULL, "message: %s", err);
	cr_assert_eq(wsp_context_new(model, NULL, WSP_INT8, 2, &c, err, sizeof(err)), 0, "%s", err);
	wsp_context_free(c);
	wsp_result_free(&before);
	wsp_result_free(&after);
}

Test(transcribe, errors_are_reported)
{
	struct wsp_transcribe_opts o;
	struct wsp_result r;
	char err[512] = "";

	wsp_transcribe_opts_default(&o);
	cr_expect_eq(wsp_transcribe_file(ctx_i8, "/nonexistent/x.wav", &o, &r, err, sizeof(err)),
		     -ENOENT);
	cr_expect_neq(err[0], 0, "no message");
	cr_expect_eq(r.n_segments, 0);
	wsp_result_free(&r);
}

Test(transcribe, multilingual_detects_english, .timeout = 600)
{
	struct wsp_model *m;
	struct wsp_context *c;
	struct wsp_transcribe_opts o;
	struct wsp_result r;
	char err[512], path[512], got[1024], l[1024];
	FILE *f;

	skip_if_small();
	f = fopen("models/base/config.json", "r");
	if (!f)
		cr_skip_test("no models/base");
	fclose(f);
	cr_assert_eq(wsp_model_load(&m, "models/base", err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(wsp_context_new(m, NULL, WSP_INT8, 2, &c, err, sizeof(err)), 0, "%s", err);
	wsp_transcribe_opts_default(&o);
	path_of(path, sizeof(path), "jfk.wav");
	cr_assert_eq(wsp_transcribe_file(c, path, &o, &r, err, sizeof(err)), 0, "%s", err);
	cr_expect_str_eq(r.language, "en");
	cr_expect_gt(r.language_prob, 0.5f);
	test_joined_text(&r, got, sizeof(got));
	test_text_letters(got, l, sizeof(l));
	cr_expect(strstr(l, "asknotwhatyourcountrycandoforyou") != NULL, "'%s'", got);
	wsp_result_free(&r);
	o.language = "xx";
	cr_expect_eq(wsp_transcribe_file(c, path, &o, &r, err, sizeof(err)), -EINVAL);
	wsp_context_free(c);
	wsp_model_free(m);
}

/* What the hooks saw: windows begun and ended, segments streamed. */
struct hook_log {
	int begun, ended, open, stop_at;
	double last_start;
	int ordered;
	int n_seg;
	char text[16384];
};

static int hook_begin(void *arg, double start_s, double length_s)
{
	struct hook_log *h = arg;

	if (h->open || start_s < h->last_start || length_s <= 0 || length_s > 30.0)
		h->ordered = 0;
	h->last_start = start_s;
	if (h->stop_at && h->begun == h->stop_at)
		return -ECANCELED;
	h->begun++;
	h->open = 1;
	return 0;
}

static void hook_end(void *arg)
{
	struct hook_log *h = arg;

	h->ended++;
	h->open = 0;
}

static void hook_segment(void *arg, const struct wsp_segment *s, int index)
{
	struct hook_log *h = arg;
	size_t len = strlen(h->text);

	if (index != h->n_seg || !h->open)
		h->ordered = 0;
	h->n_seg++;
	snprintf(h->text + len, sizeof(h->text) - len, "%s", s->text);
}

/*
 * The hooks a server uses: every window is announced before it is worked
 * and closed after, segments stream in order with the same text as the
 * result, and a window_begin that says stop ends the transcription with
 * its error after the windows already done.
 */
Test(transcribe, window_and_segment_hooks)
{
	struct hook_log h = { .ordered = 1 };
	struct wsp_transcribe_opts o;
	struct wsp_result r;
	char err[512], got[16384];
	size_t n;
	float *x;

	skip_if_small();
	x = concat_twice(&n);
	wsp_transcribe_opts_default(&o);
	o.beam_size = 1;
	o.window_begin = hook_begin;
	o.window_end = hook_end;
	o.on_segment = hook_segment;
	o.hook_arg = &h;
	cr_assert_eq(wsp_transcribe_pcm(ctx_i8, x, n, &o, &r, err, sizeof(err)), 0, "%s", err);
	cr_expect(h.ordered, "hooks out of order");
	cr_expect_geq(h.begun, 3, "%d windows for %.1f s", h.begun, (double)n / 16000);
	cr_expect_eq(h.begun, h.ended);
	cr_expect_eq(h.n_seg, r.n_segments);
	test_joined_text(&r, got, sizeof(got));
	cr_expect_str_eq(h.text, got, "streamed text differs from the result");
	wsp_result_free(&r);

	memset(&h, 0, sizeof(h));
	h.ordered = 1;
	h.stop_at = 2;
	cr_expect_eq(wsp_transcribe_pcm(ctx_i8, x, n, &o, &r, err, sizeof(err)), -ECANCELED);
	cr_expect_eq(h.begun, 2, "windows after the stop: %d", h.begun);
	cr_expect_eq(h.ended, 2);
	free(x);
}
