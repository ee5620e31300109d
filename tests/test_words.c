// SPDX-License-Identifier: MIT
/*
 * tests/test_words.c - word timestamps (whisper/decode/words*.c):
 *  - the median filter and DTW on small matrices, against answers computed
 *    with openai-whisper's median_filter (numpy reflect padding) and
 *    dtw_cpu;
 *  - the alignment matrix: softmax, normalization over tokens, mean over heads;
 *  - alignment heads: config.json's, else the published ones by dimensions;
 *  - end to end on jfk.wav (models/tiny.en; skipped when missing): the words
 *    spell each segment's text, times are ordered and inside the segment,
 *    probabilities in (0, 1]; with word timestamps off there are no words
 *    and the transcript is the same as before;
 *  - the same model as a ggml file (no config.json: the published heads of
 *    tiny.en, chosen by its dimensions) gives the same words.
 * The comparison with faster-whisper's word_timestamps=True on all shared
 * audio is tests/words/test_word_timestamps.py.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "whisper/decode/words.h"
#include "whisper/model/model_internal.h"
#include "whisper/transcribe.h"
#include "tests/helpers/test_env.h"

Test(words_math, median_filter_width_3_reflects_at_both_ends)
{
	float x[] = { 1, 5, 2, 8, 3 };
	const float want[] = { 5, 2, 5, 3, 8 };

	cr_assert_eq(wsp_median_filter(x, 1, 5, 3), 0);
	for (int i = 0; i < 5; i++)
		cr_expect_float_eq(x[i], want[i], 0, "x[%d] = %g", i, x[i]);
}

Test(words_math, median_filter_width_7_two_rows)
{
	float x[] = { 4, 1, 7, 3, 9, 2, 6, 5, 8, 0,
		      0, 0, 0, 9, 0, 0, 0, 0, 0, 0 };
	const float want[] = { 3, 4, 3, 4, 5, 6, 5, 6, 5, 6,
			       0, 0, 0, 0, 0, 0, 0, 0, 0, 0 };

	cr_assert_eq(wsp_median_filter(x, 2, 10, 7), 0);
	for (int i = 0; i < 20; i++)
		cr_expect_float_eq(x[i], want[i], 0, "x[%d] = %g", i, x[i]);
}

Test(words_math, median_filter_short_rows_and_bad_widths)
{
	float x[] = { 3, 1, 2 };

	cr_assert_eq(wsp_median_filter(x, 1, 3, 7), 0);   /* 3 <= 7 / 2: unchanged */
	cr_expect(x[0] == 3 && x[1] == 1 && x[2] == 2);
	cr_expect_eq(wsp_median_filter(x, 1, 3, 4), -EINVAL);
	cr_expect_eq(wsp_median_filter(x, 1, 3, 0), -EINVAL);
}

static void expect_path(const float *x, int n, int m, const int *wi, const int *wj, int wlen)
{
	int pi[64], pj[64];
	int len = wsp_dtw(x, n, m, pi, pj);

	cr_assert_eq(len, wlen, "path length %d, want %d", len, wlen);
	for (int k = 0; k < len; k++)
		cr_expect(pi[k] == wi[k] && pj[k] == wj[k], "step %d: (%d, %d), want (%d, %d)",
			  k, pi[k], pj[k], wi[k], wj[k]);
}

Test(words_math, dtw_known_paths)
{
	/* answers from openai-whisper's dtw_cpu on the same matrices */
	const float a[] = { 1, 1, 0, 0,
			    0, 0, 1, 1 };
	const int ai[] = { 0, 0, 1, 1, 1 }, aj[] = { 0, 1, 1, 2, 3 };
	const float b[] = { 0.9f, 0.1f, 0.0f, 0.0f, 0.0f,
			    0.0f, 0.2f, 0.1f, 0.0f, 0.0f,
			    0.1f, 0.0f, 0.0f, 0.8f, 0.7f };
	const int bi[] = { 0, 0, 1, 1, 2, 2, 2 }, bj[] = { 0, 1, 1, 2, 2, 3, 4 };
	const float c[6] = { 0 };
	const int ci[] = { 0, 1, 1, 1 }, cj[] = { 0, 0, 1, 2 };
	const float d[] = { 3, 1,
			    1, 1,
			    1, 3 };
	const int di[] = { 0, 1, 2, 2 }, dj[] = { 0, 0, 0, 1 };
	const float e[] = { 1, 0, 0,
			    0, 1, 0,
			    0, 0, 1 };
	const int ei[] = { 0, 1, 1, 2, 2 }, ej[] = { 0, 0, 1, 1, 2 };   /* no diagonal on ties */

	expect_path(a, 2, 4, ai, aj, 5);
	expect_path(b, 3, 5, bi, bj, 7);
	expect_path(c, 2, 3, ci, cj, 4);
	expect_path(d, 3, 2, di, dj, 4);
	expect_path(e, 3, 3, ei, ej, 5);
	cr_expect_eq(wsp_dtw(a, 0, 4, (int[8]){ 0 }, (int[8]){ 0 }), -EINVAL);
}

Test(words_math, align_matrix_softmax_normalize_mean)
{
	/*
	 * 2 heads, 3 tokens, 4 frames (ld 5: the fifth column is outside the
	 * content and must not count). Head 1 is head 0's scores plus a
	 * constant per row, so both softmaxes are equal and so is the mean.
	 */
	float qk[2 * 3 * 5], out[2 * 4], p[3][4];
	const float s[3][4] = { { 1, 0, 0, 0 }, { 0, 2, 0, 0 }, { 0, 0, 1, 3 } };

	for (int h = 0; h < 2; h++)
		for (int t = 0; t < 3; t++) {
			for (int f = 0; f < 4; f++)
				qk[(h * 3 + t) * 5 + f] = s[t][f] + (h ? 5.0f * t : 0.0f);
			qk[(h * 3 + t) * 5 + 4] = 100.0f;
		}
	for (int t = 0; t < 3; t++) {
		double z = 0;

		for (int f = 0; f < 4; f++)
			z += exp(s[t][f]);
		for (int f = 0; f < 4; f++)
			p[t][f] = (float)(exp(s[t][f]) / z);
	}
	cr_assert_eq(wsp_align_matrix(qk, 2, 3, 5, 4, 1, 2, 1, out), 0);
	for (int f = 0; f < 4; f++) {
		double m = (p[0][f] + p[1][f] + p[2][f]) / 3, v = 0;

		for (int t = 0; t < 3; t++)
			v += (p[t][f] - m) * (p[t][f] - m);
		v = sqrt(v / 3);
		for (int r = 0; r < 2; r++)
			cr_expect_float_eq(out[r * 4 + f], (p[r + 1][f] - m) / v, 1e-5,
					   "row %d frame %d: %g", r, f, out[r * 4 + f]);
	}
}

Test(words_heads, config_list_then_published_then_second_half)
{
	struct wsp_model m;
	int32_t h[2 * 64], cfg[] = { 0, 1, 2, 3 };
	const char *src;
	int n;

	memset(&m, 0, sizeof(m));
	m.hp = (struct wsp_hparams){ .n_vocab = 51864, .n_mels = 80, .n_text_layer = 4,
				     .n_text_state = 384, .n_text_head = 6 };
	m.cfg.alignment_heads.v = cfg;
	m.cfg.alignment_heads.n = 4;
	n = wsp_model_alignment_heads(&m, h, 64, &src);
	cr_expect(n == 2 && h[0] == 0 && h[1] == 1 && h[2] == 2 && h[3] == 3);
	cr_expect_str_eq(src, "config.json");

	m.cfg.alignment_heads.v = NULL;   /* tiny.en's published heads */
	m.cfg.alignment_heads.n = 0;
	n = wsp_model_alignment_heads(&m, h, 64, &src);
	cr_expect_eq(n, 8);
	cr_expect(h[0] == 1 && h[1] == 0 && h[14] == 3 && h[15] == 4);
	cr_expect_str_eq(src, "tiny.en");

	m.hp.n_vocab = 51865;             /* tiny */
	n = wsp_model_alignment_heads(&m, h, 64, &src);
	cr_expect(n == 6 && h[0] == 2 && h[1] == 2);

	m.hp = (struct wsp_hparams){ .n_vocab = 51865, .n_mels = 80, .n_text_layer = 32,
				     .n_text_state = 1280, .n_text_head = 20 };
	n = wsp_model_alignment_heads(&m, h, 64, &src);   /* large-v1 or v2: unknown */
	cr_expect_eq(n, -E2BIG);
	{
		int32_t big[2 * 400];

		n = wsp_model_alignment_heads(&m, big, 400, &src);
		cr_expect_eq(n, 16 * 20);
		cr_expect(big[0] == 16 && big[1] == 0 && big[2 * 319] == 31 && big[2 * 319 + 1] == 19);
	}
}

/* ---- end to end ---- */

static struct wsp_model *model;
static struct wsp_context *ctx;

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
	cr_assert_eq(wsp_context_new(model, NULL, WSP_INT8, 2, &ctx, err, sizeof(err)), 0, "%s", err);
}

static void teardown(void)
{
	wsp_context_free(ctx);
	wsp_model_free(model);
	ctx = NULL;
	model = NULL;
}

TestSuite(words, .init = setup, .fini = teardown, .timeout = 300);

static void transcribe(const char *file, int words, struct wsp_result *r)
{
	struct wsp_transcribe_opts o;
	char path[512], err[512];

	snprintf(path, sizeof(path), "%s/%s", test_env_or("AMN_SHARED_AUDIO", "/work/shared/audio"),
		 file);
	wsp_transcribe_opts_default(&o);
	o.word_timestamps = words;
	cr_assert_eq(wsp_transcribe_file(ctx, path, &o, r, err, sizeof(err)), 0, "%s", err);
}

Test(words, jfk_words_spell_the_segments)
{
	struct wsp_result r, plain;
	int total = 0;

	transcribe("jfk.wav", 1, &r);
	transcribe("jfk.wav", 0, &plain);
	cr_assert(r.word_timestamps && !plain.word_timestamps);
	cr_assert_gt(r.n_segments, 0);
	for (int s = 0; s < r.n_segments; s++) {
		const struct wsp_segment *g = &r.segments[s];
		char joined[2048] = "";

		cr_assert_gt(g->n_words, 0, "segment %d has no words", s);
		for (int i = 0; i < g->n_words; i++) {
			const struct wsp_word *w = &g->words[i];

			strncat(joined, w->word, sizeof(joined) - strlen(joined) - 1);
			cr_expect(w->start <= w->end, "word %s: %g > %g", w->word, w->start, w->end);
			cr_expect(i == 0 || w->start >= g->words[i - 1].end - 1e-9,
				  "word %s starts before the previous one ends", w->word);
			cr_expect(w->start >= g->start - 1e-9 && w->end <= g->end + 1e-9,
				  "word %s [%g, %g] outside its segment [%g, %g]", w->word,
				  w->start, w->end, g->start, g->end);
			cr_expect(w->probability > 0 && w->probability <= 1);
			cr_expect(fabs(w->start * 100 - round(w->start * 100)) < 1e-6);
		}
		cr_expect_str_eq(joined, g->text);
		total += g->n_words;
	}
	cr_expect_geq(total, 20, "jfk.wav has 22 words, got %d", total);
	/* without word timestamps: no words, and the same text */
	for (int s = 0; s < plain.n_segments; s++)
		cr_expect(plain.segments[s].words == NULL && plain.segments[s].n_words == 0);
	cr_expect_eq(plain.n_segments, r.n_segments);
	for (int s = 0; s < plain.n_segments && s < r.n_segments; s++)
		cr_expect_str_eq(plain.segments[s].text, r.segments[s].text);
	/* "Americans" is spoken between 1.6 and 2.4 s (by ear and by faster-whisper: 1.76-2.26) */
	for (int s = 0; s < r.n_segments; s++)
		for (int i = 0; i < r.segments[s].n_words; i++)
			if (!strcmp(r.segments[s].words[i].word, " Americans"))
				cr_expect(r.segments[s].words[i].start > 1.6 &&
					  r.segments[s].words[i].end < 2.4);
	wsp_result_free(&r);
	wsp_result_free(&plain);
	cr_expect(r.segments == NULL && r.n_segments == 0);
}

Test(words_math, hallucination_anomaly_score)
{
	struct wsp_word ok[] = { { 0.0, 0.4, " fine", 0.9f }, { 0.4, 0.8, " words", 0.8f } };
	struct wsp_word improbable[] = { { 0.0, 0.4, " la", 0.1f }, { 0.4, 0.8, " la", 0.1f } };
	struct wsp_word short_ones[] = { { 0.0, 0.02, " a", 0.9f }, { 0.02, 0.04, " b", 0.9f },
					 { 0.04, 0.5, " c", 0.9f } };
	/* one improbable word among two (score 1 < 2 - 0.01); a 5 s word: 3 */
	struct wsp_word half[] = { { 0.0, 0.4, " la", 0.1f }, { 0.4, 0.8, " ok", 0.9f } };
	struct wsp_word long_one[] = { { 0.0, 5.0, " looong", 0.9f }, { 5.0, 5.4, " a", 0.9f },
				       { 5.4, 5.8, " b", 0.9f }, { 5.8, 6.2, " c", 0.9f } };
	/* punctuation does not count: "," alone leaves one improbable word */
	struct wsp_word punct[] = { { 0.0, 0.4, " hm", 0.1f }, { 0.4, 0.8, ",", 0.9f } };

	cr_expect_eq(wsp_words_anomalous(ok, 2), 0);
	cr_expect_eq(wsp_words_anomalous(improbable, 2), 1);
	/* (0.133 - 0.02) * 15 * 2 = 3.39 >= 3 */
	cr_expect_eq(wsp_words_anomalous(short_ones, 3), 1);
	cr_expect_eq(wsp_words_anomalous(half, 2), 0);
	cr_expect_eq(wsp_words_anomalous(long_one, 4), 1);
	cr_expect_eq(wsp_words_anomalous(punct, 2), 1);
	cr_expect_eq(wsp_words_anomalous(NULL, 0), 0);
}

Test(words, ggml_file_without_config_gives_the_same_words)
{
	const char *dir = test_env_or("AMN_MODEL", "models/tiny.en");
	char tmp[] = "/tmp/amn_words_ggml_XXXXXX", path[64], cmd[1024], err[512], wav[512];
	struct wsp_model *gm = NULL;
	struct wsp_context *gc = NULL;
	struct wsp_transcribe_opts o;
	struct wsp_result a, b;

	if (access("scripts/ct2_to_ggml.py", R_OK) != 0 ||
	    system("python3 -c 'import numpy' >/dev/null 2>&1") != 0)
		cr_skip_test("scripts/ct2_to_ggml.py or python3 with numpy not available");
	/* a directory of its own: no side files beside the model */
	cr_assert_not_null(mkdtemp(tmp));
	snprintf(path, sizeof(path), "%s/ggml-tiny.en.bin", tmp);
	snprintf(cmd, sizeof(cmd), "python3 scripts/ct2_to_ggml.py %s %s >/dev/null", dir, path);
	cr_assert_eq(system(cmd), 0, "%s failed", cmd);
	cr_assert_eq(wsp_model_load(&gm, path, err, sizeof(err)), 0, "%s", err);
	unlink(path);
	rmdir(tmp);
	cr_assert_null(wsp_model_config(gm)->alignment_heads.v, "a ggml file has no heads list");
	cr_assert_eq(wsp_context_new(gm, NULL, WSP_INT8, 2, &gc, err, sizeof(err)), 0, "%s", err);
	transcribe("jfk.wav", 1, &a);
	snprintf(wav, sizeof(wav), "%s/jfk.wav", test_env_or("AMN_SHARED_AUDIO", "/work/shared/audio"));
	wsp_transcribe_opts_default(&o);
	o.word_timestamps = 1;
	cr_assert_eq(wsp_transcribe_file(gc, wav, &o, &b, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(a.n_segments, b.n_segments);
	for (int s = 0; s < a.n_segments; s++) {
		cr_assert_eq(a.segments[s].n_words, b.segments[s].n_words);
		for (int i = 0; i < a.segments[s].n_words; i++) {
			const struct wsp_word *x = &a.segments[s].words[i], *y = &b.segments[s].words[i];

			cr_expect(!strcmp(x->word, y->word) && x->start == y->start && x->end == y->end,
				  "%s [%g, %g] vs %s [%g, %g]", x->word, x->start, x->end, y->word,
				  y->start, y->end);
		}
	}
	wsp_result_free(&a);
	wsp_result_free(&b);
	wsp_context_free(gc);
	wsp_model_free(gm);
}
