// SPDX-License-Identifier: MIT
/*
 * tests/test_encoder.c - the encoder against CTranslate2 on real speech.
 *
 * Reference tensors come from scripts/ct2_reference.py (run by `make test`
 * into $AMN_REF_DIR): fp32 must match CTranslate2's float32 encoder within
 * 1e-3 of the output scale; INT8 must keep cosine similarity >= 0.999
 * against our fp32 output.
 */
#include <criterion/criterion.h>
#include <pthread.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sched/npu.h"
#include "whisper/nn/forward.h"
#include "tests/helpers/test_env.h"

static struct wsp_model *model;
static char names[16][64];
static int n_names;

static float *read_f32(const char *name, const char *ext, size_t n)
{
	char path[1024];
	float *buf = malloc(n * sizeof(float));
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s%s", test_env_or("AMN_REF_DIR", "build/ref"), name, ext);
	f = fopen(path, "rb");
	cr_assert_not_null(f, "cannot open %s", path);
	cr_assert_eq(fread(buf, sizeof(float), n, f), n, "%s is short", path);
	fclose(f);
	return buf;
}

static void setup(void)
{
	char path[1024], err[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/index.txt", test_env_or("AMN_REF_DIR", "build/ref"));
	f = fopen(path, "r");
	if (!f)
		cr_skip_test("no reference tensors at %s (needs python3 with ctranslate2 and "
			     "faster_whisper: run `make setup`)", path);
	while (n_names < 16 && fscanf(f, "%63s", names[n_names]) == 1)
		n_names++;
	fclose(f);
	cr_assert_gt(n_names, 0);
	cr_assert_eq(wsp_model_load(&model, test_env_or("AMN_MODEL", "models/tiny.en"), err, sizeof(err)),
		     0, "%s", err);
}

static void teardown(void)
{
	wsp_model_free(model);
	model = NULL;
}

TestSuite(encoder, .init = setup, .fini = teardown, .timeout = 300);

Test(encoder, fp32_matches_ctranslate2)
{
	const struct wsp_hparams *hp = wsp_model_hparams(model);
	size_t nmel = (size_t)hp->n_mels * 2 * hp->n_audio_ctx;
	size_t nout = (size_t)hp->n_audio_ctx * hp->n_audio_state;
	struct wsp_exec x = { .precision = WSP_FP32, .threads = 2 };
	float *out = malloc(nout * sizeof(float));
	int n = test_small_scale() ? 1 : n_names;

	for (int u = 0; u < n; u++) {
		float *mel = read_f32(names[u], ".mel.f32", nmel);
		float *ref = read_f32(names[u], ".enc.f32", nout);
		double maxd = 0.0, maxr = 0.0;

		cr_assert_eq(wsp_encode(model, &x, mel, out), 0);
		for (size_t i = 0; i < nout; i++) {
			maxd = fmax(maxd, fabs((double)out[i] - ref[i]));
			maxr = fmax(maxr, fabs((double)ref[i]));
		}
		cr_expect_lt(maxd / maxr, 1e-3, "%s: max|ours-ref|/max|ref| = %g",
			     names[u], maxd / maxr);
		free(mel);
		free(ref);
	}
	free(out);
}

Test(encoder, int8_close_to_fp32)
{
	const struct wsp_hparams *hp = wsp_model_hparams(model);
	size_t nmel = (size_t)hp->n_mels * 2 * hp->n_audio_ctx;
	size_t nout = (size_t)hp->n_audio_ctx * hp->n_audio_state;
	struct wsp_exec xf = { .precision = WSP_FP32, .threads = 2 };
	struct wsp_exec xi = { .precision = WSP_INT8, .threads = 2 };
	float *of = malloc(nout * sizeof(float)), *oi = malloc(nout * sizeof(float));
	int n = test_small_scale() ? 1 : 3;

	for (int u = 0; u < n && u < n_names; u++) {
		float *mel = read_f32(names[u], ".mel.f32", nmel);
		double dot = 0.0, nf = 0.0, ni = 0.0, cos;

		cr_assert_eq(wsp_encode(model, &xf, mel, of), 0);
		cr_assert_eq(wsp_encode(model, &xi, mel, oi), 0);
		for (size_t i = 0; i < nout; i++) {
			dot += (double)of[i] * oi[i];
			nf += (double)of[i] * of[i];
			ni += (double)oi[i] * oi[i];
		}
		cos = dot / sqrt(nf * ni);
		cr_log_info("%s: cosine(int8, fp32) = %.6f", names[u], cos);
		cr_expect_geq(cos, 0.999, "%s: cosine(int8, fp32) = %.6f", names[u], cos);
		free(mel);
	}
	free(of);
	free(oi);
}

Test(encoder, rejects_null_arguments)
{
	struct wsp_exec x = { .precision = WSP_FP32 };
	float dummy = 0.0f;

	cr_expect_eq(wsp_encode(NULL, &x, &dummy, &dummy), -EINVAL);
	cr_expect_eq(wsp_encode(model, NULL, &dummy, &dummy), -EINVAL);
	cr_expect_eq(wsp_encode(model, &x, NULL, &dummy), -EINVAL);
}

/*
 * The reference script also converts the model to a whisper.cpp ggml file
 * and a Hugging Face safetensors directory (same f16 values, q/k/v split, no
 * key bias): each must load to the same encoder as the CTranslate2 directory.
 */
static void same_encoder_as(const char *rel)
{
	const struct wsp_hparams *hp = wsp_model_hparams(model), *hg;
	size_t nmel = (size_t)hp->n_mels * 2 * hp->n_audio_ctx;
	size_t nout = (size_t)hp->n_audio_ctx * hp->n_audio_state;
	struct wsp_exec x = { .precision = WSP_FP32, .threads = 2 };
	float *mel = read_f32(names[0], ".mel.f32", nmel);
	float *a = malloc(nout * sizeof(float)), *b = malloc(nout * sizeof(float));
	struct wsp_model *g;
	char path[1024], err[512];
	double maxd = 0.0;

	snprintf(path, sizeof(path), "%s/%s", test_env_or("AMN_REF_DIR", "build/ref"), rel);
	cr_assert_eq(wsp_model_load(&g, path, err, sizeof(err)), 0, "%s", err);
	hg = wsp_model_hparams(g);
	cr_expect_eq(memcmp(hp, hg, sizeof(*hp)), 0, "%s: hyperparameters differ", rel);
	cr_assert_eq(wsp_encode(model, &x, mel, a), 0);
	cr_assert_eq(wsp_encode(g, &x, mel, b), 0);
	for (size_t i = 0; i < nout; i++)
		maxd = fmax(maxd, fabs((double)a[i] - b[i]));
	cr_expect_lt(maxd, 1e-4, "%s: max difference %g", rel, maxd);
	wsp_model_free(g);
	free(mel);
	free(a);
	free(b);
}

Test(encoder, ggml_file_matches_ctranslate2_directory)
{
	same_encoder_as("model.ggml");
}

Test(encoder, safetensors_directory_matches_ctranslate2_directory)
{
	same_encoder_as("hf");
}

/* max |a - b| over max |b| */
static double rel_diff(const float *a, const float *b, size_t n)
{
	double maxd = 0.0, maxr = 0.0;

	for (size_t i = 0; i < n; i++) {
		maxd = fmax(maxd, fabs((double)a[i] - b[i]));
		maxr = fmax(maxr, fabs((double)b[i]));
	}
	return maxr > 0.0 ? maxd / maxr : maxd;
}

/*
 * The job-graph encoder (wsp_encode) computes every row with the same kernels
 * as the step-by-step one (wsp_encode_direct): on the INT8 path the matmuls
 * quantize per row, so chunking rows changes nothing, and the outputs agree
 * to float rounding; through an engine tenant (matmul nodes) as well.
 */
Test(encoder, graph_equals_direct)
{
	const struct wsp_hparams *hp = wsp_model_hparams(model);
	size_t nmel = (size_t)hp->n_mels * 2 * hp->n_audio_ctx;
	size_t nout = (size_t)hp->n_audio_ctx * hp->n_audio_state;
	float *mel = read_f32(names[0], ".mel.f32", nmel);
	float *a = malloc(nout * sizeof(float)), *b = malloc(nout * sizeof(float));
	struct npu_engine_opts eo = { .backend = "cpu", .threads = 2 };
	struct npu_engine *e;
	struct npu_tenant *t;
	double d;

	for (int p = 0; p < 2; p++) {
		struct wsp_exec x = { .precision = p ? WSP_FP32 : WSP_INT8, .threads = 2 };

		cr_assert_eq(wsp_encode(model, &x, mel, a), 0);
		cr_assert_eq(wsp_encode_direct(model, &x, mel, b), 0);
		d = rel_diff(a, b, nout);
		cr_expect_lt(d, 1e-5, "%s: graph vs direct %g", p ? "fp32" : "int8", d);
	}
	cr_assert_eq(npu_engine_open(&e, &eo), 0);
	cr_assert_eq(npu_tenant_open(e, &t, "test_encoder", 1), 0);
	{
		struct wsp_exec x = { .precision = WSP_INT8, .threads = 2, .tenant = t };

		cr_assert_eq(wsp_encode(model, &x, mel, a), 0);
		d = rel_diff(a, b, nout);   /* b: the direct fp32 output */
		cr_expect_lt(d, 0.1, "int8 through the engine vs fp32: %g", d);
		cr_assert_eq(wsp_encode_direct(model, &x, mel, b), 0);
		d = rel_diff(a, b, nout);
		cr_expect_lt(d, 1e-5, "int8 through the engine: graph vs direct %g", d);
	}
	npu_tenant_close(t);
	npu_engine_close(e);
	free(mel);
	free(a);
	free(b);
}

/* One encoder built once and run on several windows gives wsp_encode()'s output each time. */
Test(encoder, reused_encoder_equals_encode)
{
	const struct wsp_hparams *hp = wsp_model_hparams(model);
	size_t nmel = (size_t)hp->n_mels * 2 * hp->n_audio_ctx;
	size_t nout = (size_t)hp->n_audio_ctx * hp->n_audio_state;
	struct wsp_exec x = { .precision = WSP_INT8, .threads = 2 };
	float *a = malloc(nout * sizeof(float)), *b = malloc(nout * sizeof(float));
	struct wsp_encoder *enc;
	int n = n_names < 3 ? n_names : 3;

	cr_assert_eq(wsp_encoder_new(model, &x, &enc), 0);
	for (int u = 0; u < n; u++) {
		float *mel = read_f32(names[u], ".mel.f32", nmel);

		cr_assert_eq(wsp_encoder_run(enc, mel, a), 0);
		cr_assert_eq(wsp_encode(model, &x, mel, b), 0);
		cr_expect_eq(memcmp(a, b, nout * sizeof(float)), 0, "%s: reused encoder differs",
			     names[u]);
		free(mel);
	}
	wsp_encoder_free(enc);
	cr_expect_eq(wsp_encoder_run(NULL, a, b), -EINVAL);
	free(a);
	free(b);
}

/* Several transcriptions at once: one encoder graph each, one tenant each, one engine. */
struct conc {
	struct npu_engine *e;
	const float *mel;
	float *out;
	int ret;
};

static void *conc_main(void *arg)
{
	struct conc *c = arg;
	struct npu_tenant *t;
	struct wsp_encoder *enc;

	c->ret = npu_tenant_open(c->e, &t, "test_encoder", 1);
	if (c->ret)
		return NULL;
	{
		struct wsp_exec x = { .precision = WSP_INT8, .threads = 2, .tenant = t };

		c->ret = wsp_encoder_new(model, &x, &enc);
		for (int i = 0; !c->ret && i < 2; i++)
			c->ret = wsp_encoder_run(enc, c->mel, c->out);
		wsp_encoder_free(enc);
	}
	npu_tenant_close(t);
	return NULL;
}

Test(encoder, concurrent_graphs_share_the_engine)
{
	const struct wsp_hparams *hp = wsp_model_hparams(model);
	size_t nmel = (size_t)hp->n_mels * 2 * hp->n_audio_ctx;
	size_t nout = (size_t)hp->n_audio_ctx * hp->n_audio_state;
	struct npu_engine_opts eo = { .backend = "cpu", .threads = 2 };
	struct wsp_exec x = { .precision = WSP_INT8, .threads = 2 };
	struct conc c[3];
	pthread_t tid[3];
	float *mel[2], *ref[2];
	struct npu_engine *e;
	int n = n_names < 2 ? 1 : 2;

	cr_assert_eq(npu_engine_open(&e, &eo), 0);
	for (int u = 0; u < n; u++) {
		mel[u] = read_f32(names[u], ".mel.f32", nmel);
		ref[u] = malloc(nout * sizeof(float));
		cr_assert_eq(wsp_encode_direct(model, &x, mel[u], ref[u]), 0);
	}
	for (int i = 0; i < 3; i++) {
		c[i] = (struct conc){ e, mel[i % n], malloc(nout * sizeof(float)), -1 };
		cr_assert_eq(pthread_create(&tid[i], NULL, conc_main, &c[i]), 0);
	}
	for (int i = 0; i < 3; i++) {
		pthread_join(tid[i], NULL);
		cr_expect_eq(c[i].ret, 0, "encoder %d failed: %d", i, c[i].ret);
		cr_expect_lt(rel_diff(c[i].out, ref[i % n], nout), 1e-5, "encoder %d differs", i);
		free(c[i].out);
	}
	npu_engine_close(e);
	for (int u = 0; u < n; u++) {
		free(mel[u]);
		free(ref[u]);
	}
}
