// SPDX-License-Identifier: MIT
/*
 * tests/test_decoder.c - greedy decoding against CTranslate2's greedy tokens
 * on every utterance of the shared audio, plus KV-cache invariants.
 *
 * The decoder starts from CTranslate2's own encoder output, so only the
 * decoder is under test in the token checks: fp32 must give exactly the
 * reference tokens, INT8 at least 90% of utterances exactly.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "whisper/nn/forward.h"
#include "whisper/decode/greedy.h"
#include "tests/helpers/test_env.h"
#include "tests/helpers/test_ref.h"

#define MAX_TOK 448

static struct wsp_model *model;
static char names[16][64];
static int n_names;
static int32_t prompt[8], eot;
static int n_prompt;

static FILE *ref_open(const char *name, const char *ext, const char *mode)
{
	char path[1200];

	snprintf(path, sizeof(path), "%s/%s%s", test_env_or("AMN_REF_DIR", "build/ref"), name, ext);
	return fopen(path, mode);
}

static float *read_enc(const char *name)
{
	const struct wsp_hparams *hp = wsp_model_hparams(model);
	size_t n = (size_t)hp->n_audio_ctx * hp->n_audio_state;
	float *buf = malloc(n * sizeof(float));
	FILE *f = ref_open(name, ".enc.f32", "rb");

	cr_assert_not_null(f, "missing %s.enc.f32", name);
	cr_assert_eq(fread(buf, sizeof(float), n, f), n, "%s.enc.f32 is short", name);
	fclose(f);
	return buf;
}

static int read_tokens_ext(const char *name, const char *ext, int32_t *tok)
{
	return test_read_tokens(ref_open(name, ext, "r"), tok, MAX_TOK);
}

static int read_tokens(const char *name, int32_t *tok)
{
	int n = read_tokens_ext(name, ".tokens.txt", tok);

	cr_assert_geq(n, 0, "missing %s.tokens.txt", name);
	return n;
}

static void setup(void)
{
	char err[512];
	FILE *f = ref_open("index", ".txt", "r");

	if (!f)
		cr_skip_test("no reference tensors in %s (needs python3 with ctranslate2 and "
			     "faster_whisper: run `make setup`)", test_env_or("AMN_REF_DIR", "build/ref"));
	while (n_names < 16 && fscanf(f, "%63s", names[n_names]) == 1)
		n_names++;
	fclose(f);
	n_prompt = test_read_prompt(ref_open("prompt", ".txt", "r"), prompt, 8, &eot);
	cr_assert_gt(n_prompt, 0, "bad or missing prompt.txt in the reference dir");
	cr_assert_eq(wsp_model_load(&model, test_env_or("AMN_MODEL", "models/tiny.en"), err, sizeof(err)),
		     0, "%s", err);
}

static void teardown(void)
{
	wsp_model_free(model);
	model = NULL;
}

TestSuite(decoder, .init = setup, .fini = teardown, .timeout = 300);

static int run_greedy_x(enum wsp_precision prec, int compact_kv, int n_utt)
{
	struct wsp_exec x = { .precision = prec, .threads = 2, .compact_kv = compact_kv };
	int32_t ref[MAX_TOK], got[MAX_TOK];
	int equal = 0;

	for (int u = 0; u < n_utt; u++) {
		float *enc = read_enc(names[u]);
		int nref = read_tokens(names[u], ref);
		int n = wsp_greedy(model, &x, enc, prompt, n_prompt, eot, got, MAX_TOK);

		cr_assert_geq(n, 0, "%s: wsp_greedy failed: %d", names[u], n);
		if (n == nref && memcmp(got, ref, (size_t)n * sizeof(int32_t)) == 0)
			equal++;
		else
			cr_log_info("%s (%s): %d tokens, reference %d differ", names[u],
				    prec == WSP_FP32 ? "fp32" : "int8", n, nref);
		free(enc);
	}
	return equal;
}

static int run_greedy(enum wsp_precision prec, int n_utt)
{
	return run_greedy_x(prec, 0, n_utt);
}

Test(decoder, fp32_greedy_equals_ctranslate2)
{
	int n = test_small_scale() ? 2 : n_names;

	cr_expect_eq(run_greedy(WSP_FP32, n), n);
}

/*
 * CTranslate2's own int8 decoder, on the same float32 encoder output, as a
 * yardstick: how many utterances it decodes exactly like its float32 model
 * (-1 when the reference script did not write its tokens).
 */
static int ct2_int8_equal(int n_utt)
{
	int32_t ref[MAX_TOK], got[MAX_TOK];
	int equal = 0;

	for (int u = 0; u < n_utt; u++) {
		int nref = read_tokens(names[u], ref);
		int n = read_tokens_ext(names[u], ".tokens_int8.txt", got);

		if (n < 0)
			return -1;
		equal += n == nref && memcmp(got, ref, (size_t)n * sizeof(int32_t)) == 0;
	}
	return equal;
}

/*
 * INT8 must decode >= 90% of utterances exactly like CTranslate2 float32
 * (with 7 utterances: all 7). Plain INT8 flipped spk1_snt2's near-tied first
 * token; the FFN down projections' residual activations keep it. How many
 * CTranslate2's own int8 decoder gets (6 of 7 on tiny.en) is logged.
 */
Test(decoder, int8_greedy_mostly_equals_ctranslate2)
{
	int n = test_small_scale() ? 2 : n_names;
	int eq = run_greedy(WSP_INT8, n), eq8 = ct2_int8_equal(n);

	cr_log_info("int8: %d of %d utterances exact; CTranslate2 int8: %d", eq, n, eq8);
	cr_expect(eq * 10 >= n * 9, "int8: %d of %d utterances exact (CTranslate2 int8: %d)",
		  eq, n, eq8);
}

/*
 * The same bar with the cross-attention keys as int16 and values as half
 * floats (wsp_exec.compact_kv, the batched mode's): 7 of 7 on tiny.en.
 * Half-float keys failed it (jfk and spk1_snt2 flipped).
 */
Test(decoder, int8_compact_kv_greedy_mostly_equals_ctranslate2)
{
	int n = test_small_scale() ? 2 : n_names;
	int eq = run_greedy_x(WSP_INT8, 1, n);

	cr_log_info("int8, compact cross keys/values: %d of %d utterances exact", eq, n);
	cr_expect(eq * 10 >= n * 9, "int8 compact: %d of %d utterances exact", eq, n);
}

/* Feeding the prompt in one step or token by token must give the same logits. */
Test(decoder, batched_step_equals_incremental)
{
	const struct wsp_hparams *hp = wsp_model_hparams(model);
	struct wsp_exec x = { .precision = WSP_FP32, .threads = 2 };
	int32_t toks[4] = { prompt[0], prompt[n_prompt - 1], 383, 1200 };
	float *enc = read_enc(names[0]);
	float *la = malloc(4 * (size_t)hp->n_vocab * sizeof(float));
	float *lb = malloc(4 * (size_t)hp->n_vocab * sizeof(float));
	struct wsp_decoder *d;
	double maxd = 0.0;

	cr_assert_eq(wsp_decoder_new(model, &x, enc, 1, &d), 0);
	cr_assert_eq(wsp_decoder_step(d, toks, 4, 0, la), 0);
	wsp_decoder_reset(d);
	for (int i = 0; i < 4; i++)
		cr_assert_eq(wsp_decoder_step(d, &toks[i], 1, 0, lb + (size_t)i * hp->n_vocab), 0);
	for (size_t i = 0; i < 4 * (size_t)hp->n_vocab; i++)
		maxd = fmax(maxd, fabs((double)la[i] - lb[i]));
	cr_expect_lt(maxd, 1e-3, "max logit difference %g", maxd);
	wsp_decoder_free(d);
	free(enc);
	free(la);
	free(lb);
}

/* Two sequences, swapped by reorder, must each continue the other's cache. */
Test(decoder, reorder_swaps_caches)
{
	const struct wsp_hparams *hp = wsp_model_hparams(model);
	struct wsp_exec x = { .precision = WSP_FP32, .threads = 2 };
	int32_t a[4] = { prompt[0], 383, prompt[0], 775 };
	int32_t next[2] = { 1200, 1200 };
	int swap[2] = { 1, 0 };
	float *enc = read_enc(names[0]);
	float *l1 = malloc(2 * (size_t)hp->n_vocab * sizeof(float));
	float *l2 = malloc(2 * (size_t)hp->n_vocab * sizeof(float));
	struct wsp_decoder *d;

	cr_assert_eq(wsp_decoder_new(model, &x, enc, 2, &d), 0);
	cr_assert_eq(wsp_decoder_step(d, a, 2, 2, NULL), 0);
	cr_assert_eq(wsp_decoder_step(d, next, 1, 0, l1), 0);
	wsp_decoder_reset(d);
	cr_assert_eq(wsp_decoder_step(d, a, 2, 2, NULL), 0);
	cr_assert_eq(wsp_decoder_reorder(d, swap), 0);
	cr_assert_eq(wsp_decoder_step(d, next, 1, 0, l2), 0);
	for (int i = 0; i < hp->n_vocab; i += 97) {
		cr_expect_float_eq(l2[i], l1[hp->n_vocab + i], 1e-4);
		cr_expect_float_eq(l2[hp->n_vocab + i], l1[i], 1e-4);
	}
	wsp_decoder_free(d);
	free(enc);
	free(l1);
	free(l2);
}

Test(decoder, rejects_bad_tokens_and_overflow)
{
	const struct wsp_hparams *hp = wsp_model_hparams(model);
	struct wsp_exec x = { .precision = WSP_FP32, .threads = 2 };
	float *enc = read_enc(names[0]);
	int32_t bad = hp->n_vocab, ok = prompt[0];
	int32_t *many = calloc((size_t)hp->n_text_ctx + 1, sizeof(int32_t));
	struct wsp_decoder *d;

	cr_assert_eq(wsp_decoder_new(model, &x, enc, 1, &d), 0);
	cr_expect_eq(wsp_decoder_step(d, &bad, 1, 1, NULL), -EINVAL);
	cr_expect_eq(wsp_decoder_step(d, &ok, 1, 2, NULL), -EINVAL);
	cr_expect_eq(wsp_decoder_step(d, many, hp->n_text_ctx + 1, hp->n_text_ctx + 1, NULL),
		     -E2BIG);
	cr_expect_eq(wsp_decoder_new(model, &x, enc, 0, &(struct wsp_decoder *){ NULL }), -EINVAL);
	wsp_decoder_free(d);
	free(many);
	free(enc);
}

static double max_diff(const float *a, const float *b, size_t n)
{
	double m = 0.0;

	for (size_t i = 0; i < n; i++)
		m = fmax(m, fabs((double)a[i] - b[i]));
	return m;
}

/* A prompt run once and copied (step_shared) must equal it run on every sequence. */
Test(decoder, shared_prompt_equals_per_sequence_prompt)
{
	const struct wsp_hparams *hp = wsp_model_hparams(model);
	struct wsp_exec x = { .precision = WSP_FP32, .threads = 2 };
	const size_t V = (size_t)hp->n_vocab;
	int32_t feed[3 * 8], next[3] = { 383, 1200, 775 };
	float *enc = read_enc(names[0]);
	float *la = malloc(3 * V * sizeof(float)), *lb = malloc(3 * V * sizeof(float));
	struct wsp_decoder *d;

	for (int s = 0; s < 3; s++)
		memcpy(feed + s * n_prompt, prompt, (size_t)n_prompt * sizeof(int32_t));
	cr_assert_eq(wsp_decoder_new(model, &x, enc, 3, &d), 0);
	cr_assert_eq(wsp_decoder_step(d, feed, n_prompt, n_prompt - 1, la), 0);
	cr_assert_eq(wsp_decoder_step(d, next, 1, 0, la), 0);
	wsp_decoder_reset(d);
	cr_assert_eq(wsp_decoder_step_shared(d, prompt, n_prompt, n_prompt - 1, lb), 0);
	/* every sequence got sequence 0's logits */
	cr_expect_eq(memcmp(lb, lb + V, V * sizeof(float)), 0);
	cr_expect_eq(memcmp(lb, lb + 2 * V, V * sizeof(float)), 0);
	cr_assert_eq(wsp_decoder_step(d, next, 1, 0, lb), 0);
	cr_expect_lt(max_diff(la, lb, 3 * V), 1e-3, "max logit difference %g",
		     max_diff(la, lb, 3 * V));
	wsp_decoder_free(d);
	free(enc);
	free(la);
	free(lb);
}

/*
 * A long shared prompt (over two whole strips of 64 positions, which only
 * sequence 0 keeps: decoder.c, n_shared) in two shared steps, then steps
 * with beam reorders, must give the same logits as the prompt run on every
 * sequence: INT8 bit for bit (per-row activation scales, fp32 attention in
 * position order either way), fp32 within 1e-3 (OpenBLAS blocks by rows).
 */
static void long_shared_prompt_case(enum wsp_precision prec)
{
	enum { NS = 3, P = 150, HEAD = 70, STEPS = 4 };
	const struct wsp_hparams *hp = wsp_model_hparams(model);
	struct wsp_exec x = { .precision = prec, .threads = 2 };
	const size_t V = (size_t)hp->n_vocab;
	static const int src[STEPS][NS] = { { 0, 1, 2 }, { 2, 0, 0 }, { 1, 1, 2 }, { 0, 2, 1 } };
	int32_t p[P], feed[NS * P], next[NS];
	float *enc = read_enc(names[0]);
	float *la = malloc(NS * V * sizeof(float)), *lb = malloc(NS * V * sizeof(float));
	struct wsp_decoder *da, *db;

	memcpy(p, prompt, (size_t)n_prompt * sizeof(int32_t));
	for (int i = n_prompt; i < P; i++)
		p[i] = 300 + 11 * i;
	for (int s = 0; s < NS; s++)
		memcpy(feed + s * P, p, sizeof(p));
	cr_assert_eq(wsp_decoder_new(model, &x, enc, NS, &da), 0);
	cr_assert_eq(wsp_decoder_new(model, &x, enc, NS, &db), 0);
	cr_assert_eq(wsp_decoder_step(da, feed, P, P, NULL), 0);
	cr_assert_eq(wsp_decoder_step_shared(db, p, HEAD, HEAD, NULL), 0);
	cr_assert_eq(wsp_decoder_step_shared(db, p + HEAD, P - HEAD, P - HEAD, NULL), 0);
	for (int t = 0; t < STEPS; t++) {
		cr_assert_eq(wsp_decoder_reorder(da, src[t]), 0);
		cr_assert_eq(wsp_decoder_reorder(db, src[t]), 0);
		for (int s = 0; s < NS; s++)
			next[s] = 400 + 97 * s + 13 * t;
		cr_assert_eq(wsp_decoder_step(da, next, 1, 0, la), 0);
		cr_assert_eq(wsp_decoder_step(db, next, 1, 0, lb), 0);
		if (prec == WSP_INT8)
			cr_expect_eq(memcmp(la, lb, NS * V * sizeof(float)), 0,
				     "step %d: max difference %g", t, max_diff(la, lb, NS * V));
		else
			cr_expect_lt(max_diff(la, lb, NS * V), 1e-3, "step %d: max difference %g",
				     t, max_diff(la, lb, NS * V));
	}
	wsp_decoder_free(da);
	wsp_decoder_free(db);
	free(enc);
	free(la);
	free(lb);
}

Test(decoder, long_shared_prompt_equals_per_sequence_prompt)
{
	long_shared_prompt_case(WSP_INT8);
	long_shared_prompt_case(WSP_FP32);
}

/* A decoder given a new encoder output must act as one made for it. */
Test(decoder, set_encoder_equals_new_decoder)
{
	const struct wsp_hparams *hp = wsp_model_hparams(model);
	struct wsp_exec x = { .precision = WSP_INT8, .threads = 2 };
	const size_t V = (size_t)hp->n_vocab;
	float *ea = read_enc(names[0]), *eb = read_enc(names[n_names > 1 ? 1 : 0]);
	float *la = malloc(2 * V * sizeof(float)), *lb = malloc(2 * V * sizeof(float));
	int32_t next[2] = { 383, 1200 };
	struct wsp_decoder *d, *e;

	cr_assert_eq(wsp_decoder_new(model, &x, ea, 2, &d), 0);
	cr_assert_eq(wsp_decoder_step_shared(d, prompt, n_prompt, n_prompt, NULL), 0);
	cr_assert_eq(wsp_decoder_set_encoder(d, &x, eb), 0);
	cr_assert_eq(wsp_decoder_step_shared(d, prompt, n_prompt, n_prompt, NULL), 0);
	cr_assert_eq(wsp_decoder_step(d, next, 1, 0, la), 0);
	cr_assert_eq(wsp_decoder_new(model, &x, eb, 2, &e), 0);
	cr_assert_eq(wsp_decoder_step_shared(e, prompt, n_prompt, n_prompt, NULL), 0);
	cr_assert_eq(wsp_decoder_step(e, next, 1, 0, lb), 0);
	cr_expect_eq(memcmp(la, lb, 2 * V * sizeof(float)), 0, "max difference %g",
		     max_diff(la, lb, 2 * V));
	wsp_decoder_free(d);
	wsp_decoder_free(e);
	free(ea);
	free(eb);
	free(la);
	free(lb);
}

/*
 * Decoders stepped from several threads through one gang: every step's
 * logits equal those of the same decoder stepped alone, whoever shared its
 * round (INT8, direct tiler calls).
 */
#define GANG_T 3
#define GANG_STEPS 12

struct gang_arg {
	struct wsp_exec x;
	const float *enc;
	float *logits;   /* GANG_STEPS × 2 × V */
	int ret;
};

static void *gang_thread(void *p)
{
	struct gang_arg *a = p;
	const size_t V = (size_t)wsp_model_hparams(model)->n_vocab;
	struct wsp_decoder *d;
	int32_t tok[2];

	a->ret = wsp_decoder_new(model, &a->x, a->enc, 2, &d);
	if (a->ret)
		return NULL;
	a->ret = wsp_decoder_step_shared(d, prompt, n_prompt, n_prompt, NULL);
	for (int i = 0; i < GANG_STEPS && !a->ret; i++) {
		tok[0] = 300 + 7 * i;
		tok[1] = 1000 + 13 * i;
		a->ret = wsp_decoder_step(d, tok, 1, 0, a->logits + (size_t)i * 2 * V);
	}
	wsp_decoder_free(d);
	return NULL;
}

Test(decoder, gang_steps_equal_lone_steps)
{
	const size_t V = (size_t)wsp_model_hparams(model)->n_vocab;
	const size_t n = (size_t)GANG_STEPS * 2 * V;
	struct wsp_dec_gang *g;
	struct gang_arg lone[GANG_T], many[GANG_T];
	float *enc[GANG_T];
	pthread_t th[GANG_T];
	unsigned long rounds, steps;

	cr_assert_eq(wsp_dec_gang_new(&g), 0);
	for (int t = 0; t < GANG_T; t++) {
		enc[t] = read_enc(names[t % n_names]);
		lone[t] = (struct gang_arg){ { .precision = WSP_INT8, .threads = 1 }, enc[t],
					     malloc(n * sizeof(float)), 0 };
		many[t] = lone[t];
		many[t].x.gang = g;
		many[t].logits = malloc(n * sizeof(float));
		gang_thread(&lone[t]);
		cr_assert_eq(lone[t].ret, 0);
	}
	for (int t = 0; t < GANG_T; t++)
		cr_assert_eq(pthread_create(&th[t], NULL, gang_thread, &many[t]), 0);
	for (int t = 0; t < GANG_T; t++)
		pthread_join(th[t], NULL);
	wsp_dec_gang_counters(g, &rounds, &steps);
	cr_expect_eq(steps, (unsigned long)GANG_T * (GANG_STEPS + 1));
	cr_expect_leq(rounds, steps);
	for (int t = 0; t < GANG_T; t++) {
		cr_expect_eq(many[t].ret, 0);
		cr_expect_eq(memcmp(lone[t].logits, many[t].logits, n * sizeof(float)), 0,
			     "thread %d: max difference %g", t,
			     max_diff(lone[t].logits, many[t].logits, n));
		free(lone[t].logits);
		free(many[t].logits);
		free(enc[t]);
	}
	wsp_dec_gang_free(g);
}
