// SPDX-License-Identifier: MIT
/*
 * tests/test_loader.c - the CTranslate2 loader on small models this test
 * writes itself (random weights, float32/float16/int8 variables), and on
 * truncated, corrupted and incomplete variants of them; the ggml and
 * safetensors loaders on the toy seeds; the JSON side files (config.json,
 * preprocessor_config.json) read at load, well-formed and not.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "whisper/nn/forward.h"
#include "whisper/model/model_internal.h"
#include "whisper/model/weights.h"

/* Tiny dimensions: everything the real format has, at toy size. */
enum { MELS = 4, D = 8, HEADS = 2, FFN = 16, ACTX = 6, TCTX = 5, VOCAB = 11, LAYERS = 2 };

enum { DT_F32 = 0, DT_I8 = 1, DT_I16 = 2, DT_F16 = 4 };

struct blob {
	unsigned char *p;
	size_t len, cap;
	unsigned nvars;
	size_t nvars_at;
	unsigned seed;
	int dtype;            /* for weight matrices: DT_F32, DT_F16 or DT_I8 */
	const char *skip;     /* a variable to leave out */
	const char *bad;      /* a variable written with a wrong first dimension */
};

static void put(struct blob *b, const void *src, size_t n)
{
	if (b->len + n > b->cap) {
		b->cap = (b->len + n) * 2;
		b->p = realloc(b->p, b->cap);
		cr_assert_not_null(b->p);
	}
	memcpy(b->p + b->len, src, n);
	b->len += n;
}

static void put_u32(struct blob *b, uint32_t v)
{
	unsigned char x[4] = { v & 0xff, (v >> 8) & 0xff, (v >> 16) & 0xff, v >> 24 };

	put(b, x, 4);
}

static void put_str(struct blob *b, const char *s)
{
	uint16_t n = (uint16_t)(strlen(s) + 1);
	unsigned char x[2] = { n & 0xff, n >> 8 };

	put(b, x, 2);
	put(b, s, n);
}

static float rnd(struct blob *b)
{
	b->seed = b->seed * 1103515245u + 12345u;
	return ((float)((b->seed >> 8) & 0xffff) / 65536.0f - 0.5f) * 0.5f;
}

static uint16_t to_f16(float f)
{
	/* exact for the values used here: normal range, 10-bit mantissa rounding */
	uint32_t x;
	int e;

	memcpy(&x, &f, 4);
	if ((x & 0x7fffffffu) == 0)
		return (uint16_t)(x >> 16);
	e = (int)((x >> 23) & 0xff) - 127 + 15;
	if (e <= 0)
		return (uint16_t)((x >> 16) & 0x8000u);
	return (uint16_t)(((x >> 16) & 0x8000u) | (uint32_t)e << 10 | ((x >> 13) & 0x3ffu));
}

/* One variable of up to 3 dims; matrices (rank >= 2) use b->dtype. */
static void var(struct blob *b, const char *name, int rank, uint32_t d0, uint32_t d1, uint32_t d2)
{
	uint32_t dims[3] = { d0, d1, d2 };
	size_t n = 1;
	int dt = rank >= 2 ? b->dtype : DT_F32;
	char sname[256];

	if (b->skip && strcmp(name, b->skip) == 0)
		return;
	if (b->bad && strcmp(name, b->bad) == 0)
		dims[0] += 1;
	b->nvars++;
	put_str(b, name);
	put(b, &(uint8_t){ (uint8_t)rank }, 1);
	for (int i = 0; i < rank; i++) {
		put_u32(b, dims[i]);
		n *= dims[i];
	}
	put(b, &(uint8_t){ (uint8_t)dt }, 1);
	put_u32(b, (uint32_t)(n * (dt == DT_F32 ? 4 : dt == DT_F16 ? 2 : 1)));
	for (size_t i = 0; i < n; i++) {
		float f = rnd(b);

		if (dt == DT_F32) {
			put(b, &f, 4);
		} else if (dt == DT_F16) {
			uint16_t h = to_f16(f);

			put(b, &h, 2);
		} else {
			int8_t q = (int8_t)(lrintf(f * 400.0f) % 127);

			put(b, &q, 1);
		}
	}
	if (dt == DT_I8) {
		snprintf(sname, sizeof(sname), "%s_scale", name);
		b->nvars++;
		put_str(b, sname);
		put(b, &(uint8_t){ 1 }, 1);
		put_u32(b, dims[0]);
		put(b, &(uint8_t){ DT_F32 }, 1);
		put_u32(b, dims[0] * 4);
		for (uint32_t i = 0; i < dims[0]; i++)
			put(b, &(float){ 100.0f + (float)i }, 4);
	}
}

static void linear(struct blob *b, const char *prefix, uint32_t out, uint32_t in)
{
	char n[256];

	snprintf(n, sizeof(n), "%s/bias", prefix);
	var(b, n, 1, out, 0, 0);
	snprintf(n, sizeof(n), "%s/weight", prefix);
	var(b, n, 2, out, in, 0);
}

static void norm(struct blob *b, const char *prefix)
{
	char n[256];

	snprintf(n, sizeof(n), "%s/beta", prefix);
	var(b, n, 1, D, 0, 0);
	snprintf(n, sizeof(n), "%s/gamma", prefix);
	var(b, n, 1, D, 0, 0);
}

static void scalar16(struct blob *b, const char *name, int16_t v)
{
	b->nvars++;
	put_str(b, name);
	put(b, &(uint8_t){ 0 }, 1);
	put(b, &(uint8_t){ DT_I16 }, 1);
	put_u32(b, 2);
	put(b, &v, 2);
}

static void build_model(struct blob *b)
{
	char p[128];

	b->len = 0;
	b->nvars = 0;
	put_u32(b, 6);
	put_str(b, "WhisperSpec");
	put_u32(b, 3);
	b->nvars_at = b->len;
	put_u32(b, 0);
	scalar16(b, "decoder/num_heads", HEADS);
	var(b, "decoder/embeddings/weight", 2, VOCAB, D, 0);
	var(b, "decoder/position_encodings/encodings", 2, TCTX, D, 0);
	norm(b, "decoder/layer_norm");
	for (int l = 0; l < LAYERS; l++) {
		snprintf(p, sizeof(p), "decoder/layer_%d/self_attention/layer_norm", l);
		norm(b, p);
		snprintf(p, sizeof(p), "decoder/layer_%d/self_attention/linear_0", l);
		linear(b, p, 3 * D, D);
		snprintf(p, sizeof(p), "decoder/layer_%d/self_attention/linear_1", l);
		linear(b, p, D, D);
		snprintf(p, sizeof(p), "decoder/layer_%d/attention/layer_norm", l);
		norm(b, p);
		snprintf(p, sizeof(p), "decoder/layer_%d/attention/linear_0", l);
		linear(b, p, D, D);
		snprintf(p, sizeof(p), "decoder/layer_%d/attention/linear_1", l);
		linear(b, p, 2 * D, D);
		snprintf(p, sizeof(p), "decoder/layer_%d/attention/linear_2", l);
		linear(b, p, D, D);
		snprintf(p, sizeof(p), "decoder/layer_%d/ffn/layer_norm", l);
		norm(b, p);
		snprintf(p, sizeof(p), "decoder/layer_%d/ffn/linear_0", l);
		linear(b, p, FFN, D);
		snprintf(p, sizeof(p), "decoder/layer_%d/ffn/linear_1", l);
		linear(b, p, D, FFN);
	}
	scalar16(b, "encoder/num_heads", HEADS);
	var(b, "encoder/conv1/bias", 1, D, 0, 0);
	var(b, "encoder/conv1/weight", 3, D, MELS, 3);
	var(b, "encoder/conv2/bias", 1, D, 0, 0);
	var(b, "encoder/conv2/weight", 3, D, D, 3);
	var(b, "encoder/position_encodings/encodings", 2, ACTX, D, 0);
	norm(b, "encoder/layer_norm");
	for (int l = 0; l < LAYERS; l++) {
		snprintf(p, sizeof(p), "encoder/layer_%d/self_attention/layer_norm", l);
		norm(b, p);
		snprintf(p, sizeof(p), "encoder/layer_%d/self_attention/linear_0", l);
		linear(b, p, 3 * D, D);
		snprintf(p, sizeof(p), "encoder/layer_%d/self_attention/linear_1", l);
		linear(b, p, D, D);
		snprintf(p, sizeof(p), "encoder/layer_%d/ffn/layer_norm", l);
		norm(b, p);
		snprintf(p, sizeof(p), "encoder/layer_%d/ffn/linear_0", l);
		linear(b, p, FFN, D);
		snprintf(p, sizeof(p), "encoder/layer_%d/ffn/linear_1", l);
		linear(b, p, D, FFN);
	}
	put_u32(b, 1);   /* one alias, as in real files */
	put_str(b, "decoder/projection/weight");
	put_str(b, "decoder/embeddings/weight");
	memcpy(b->p + b->nvars_at, &(uint32_t){ b->nvars }, 4);
}

static int load_blob(const struct blob *b, size_t len, struct wsp_model **out, char *err, size_t errlen)
{
	struct wsp_model *m = calloc(1, sizeof(*m));
	int ret;

	cr_assert_not_null(m);
	ret = wsp_load_ct2_mem(m, b->p, len, "test.bin", err, errlen);
	if (ret) {
		wsp_model_free(m);
		return ret;
	}
	*out = m;
	return 0;
}

Test(loader, float32_model_dimensions_come_from_the_file)
{
	struct blob b = { .seed = 1, .dtype = DT_F32 };
	struct wsp_model *m;
	char err[256] = "";

	build_model(&b);
	cr_assert_eq(load_blob(&b, b.len, &m, err, sizeof(err)), 0, "%s", err);
	cr_expect_eq(m->hp.n_mels, MELS);
	cr_expect_eq(m->hp.n_audio_state, D);
	cr_expect_eq(m->hp.n_audio_head, HEADS);
	cr_expect_eq(m->hp.n_audio_ctx, ACTX);
	cr_expect_eq(m->hp.n_audio_layer, LAYERS);
	cr_expect_eq(m->hp.n_text_ctx, TCTX);
	cr_expect_eq(m->hp.n_text_layer, LAYERS);
	cr_expect_eq(m->hp.n_vocab, VOCAB);
	cr_expect_eq(m->enc[1].fc1.out, FFN);
	cr_expect_eq(m->conv2.in, 3 * D);
	wsp_model_free(m);
	free(b.p);
}

/* The same random stream stored as f32, f16 and int8 loads to close values. */
Test(loader, float16_and_int8_convert_to_the_stored_values)
{
	struct blob b32 = { .seed = 7, .dtype = DT_F32 }, b16 = { .seed = 7, .dtype = DT_F16 };
	struct blob b8 = { .seed = 7, .dtype = DT_I8 };
	struct wsp_model *m32, *m16, *m8;
	char err[256] = "";
	const struct wsp_lin *l32, *l16, *l8;

	build_model(&b32);
	build_model(&b16);
	build_model(&b8);
	cr_assert_eq(load_blob(&b32, b32.len, &m32, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(load_blob(&b16, b16.len, &m16, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(load_blob(&b8, b8.len, &m8, err, sizeof(err)), 0, "%s", err);
	l32 = &m32->enc[0].fc1;
	l16 = &m16->enc[0].fc1;
	l8 = &m8->enc[0].fc1;
	for (int i = 0; i < FFN * D; i++) {
		float q = (float)(int8_t)(lrintf(l32->w[i] * 400.0f) % 127);

		cr_expect_float_eq(l16->w[i], l32->w[i], 1e-3f * fabsf(l32->w[i]) + 1e-7f);
		/* int8 rows were written with scale 100 + row */
		cr_expect_float_eq(l8->w[i], q / (100.0f + (float)(i / D)), 1e-6f);
	}
	wsp_model_free(m32);
	wsp_model_free(m16);
	wsp_model_free(m8);
	free(b32.p);
	free(b16.p);
	free(b8.p);
}

Test(loader, every_truncation_is_rejected)
{
	struct blob b = { .seed = 3, .dtype = DT_F16 };
	struct wsp_model *m;
	char err[256];
	size_t step;

	build_model(&b);
	step = getenv("AMN_TEST_SCALE") ? 7 : 1;
	/* the trailing alias table is optional to us; everything before it is not */
	for (size_t len = 0; len + 80 < b.len; len += step) {
		err[0] = '\0';
		cr_assert_eq(load_blob(&b, len, &m, err, sizeof(err)), -EINVAL, "length %zu", len);
		cr_assert(strstr(err, "test.bin") != NULL, "message names the file: %s", err);
	}
	free(b.p);
}

Test(loader, shape_mismatch_names_the_variable)
{
	struct blob b = { .seed = 4, .dtype = DT_F32, .bad = "encoder/layer_1/self_attention/linear_1/weight" };
	struct wsp_model *m;
	char err[256] = "";

	build_model(&b);
	cr_assert_eq(load_blob(&b, b.len, &m, err, sizeof(err)), -EINVAL);
	cr_expect(strstr(err, "encoder/layer_1/self_attention/linear_1/weight") != NULL, "%s", err);
	cr_expect(strstr(err, "expected shape [8, 8], found [9, 8]") != NULL, "%s", err);
	free(b.p);
}

Test(loader, missing_weight_is_named)
{
	struct blob b = { .seed = 5, .dtype = DT_F32, .skip = "decoder/layer_1/attention/linear_2/weight" };
	struct wsp_model *m;
	char err[256] = "";

	build_model(&b);
	cr_assert_eq(load_blob(&b, b.len, &m, err, sizeof(err)), -EINVAL);
	cr_expect(strstr(err, "layer 1 decoder cross-attention") != NULL, "%s", err);
	free(b.p);
}

Test(loader, corrupted_header_fields)
{
	struct blob b = { .seed = 6, .dtype = DT_F32 };
	struct wsp_model *m;
	char err[256] = "";

	build_model(&b);
	b.p[0] = 99;                              /* binary version */
	cr_expect_eq(load_blob(&b, b.len, &m, err, sizeof(err)), -EINVAL);
	cr_expect(strstr(err, "version 99") != NULL, "%s", err);
	b.p[0] = 6;
	b.p[6] = 'X';                             /* spec name */
	cr_expect_eq(load_blob(&b, b.len, &m, err, sizeof(err)), -EINVAL);
	cr_expect(strstr(err, "WhisperSpec") != NULL, "%s", err);
	free(b.p);
}

/* Random byte flips never crash the loader: they load or fail cleanly. */
Test(loader, random_corruption_fails_cleanly)
{
	struct blob b = { .seed = 8, .dtype = DT_I8 };
	unsigned char *copy;
	int rounds = getenv("AMN_TEST_SCALE") ? 50 : 400;

	build_model(&b);
	copy = malloc(b.len);
	for (int r = 0; r < rounds; r++) {
		struct wsp_model *m = NULL;
		char err[256];
		size_t at = (size_t)(rnd(&b) * 1e6 + 5e5) % b.len;

		memcpy(copy, b.p, b.len);
		copy[at] ^= (unsigned char)(1u << (r % 8));
		m = calloc(1, sizeof(*m));
		if (wsp_load_ct2_mem(m, copy, b.len, "test.bin", err, sizeof(err)) != 0)
			cr_expect(strlen(err) > 0);
		wsp_model_free(m);
	}
	free(copy);
	free(b.p);
}

Test(loader, public_load_reports_missing_paths)
{
	struct wsp_model *m = (void *)1;
	char err[256] = "";

	cr_expect_eq(wsp_model_load(&m, "/nonexistent/model", err, sizeof(err)), -ENOENT);
	cr_expect_null(m);
	cr_expect(strstr(err, "/nonexistent/model") != NULL, "%s", err);
	cr_expect_eq(wsp_model_load(&m, "/tmp", err, sizeof(err)), -ENOENT);
	cr_expect(strstr(err, "model.bin") != NULL, "%s", err);
}

/* A loaded toy model runs end to end: encoder, then a decoder step. */
Test(loader, toy_model_runs_forward)
{
	struct blob b = { .seed = 9, .dtype = DT_F16 };
	struct wsp_exec x = { .precision = WSP_FP32, .threads = 2 };
	float mel[MELS * 2 * ACTX], enc[ACTX * D], logits[2 * VOCAB];
	int32_t tok[2] = { 1, 2 };
	struct wsp_decoder *d;
	struct wsp_model *m;
	char err[256] = "";

	build_model(&b);
	cr_assert_eq(load_blob(&b, b.len, &m, err, sizeof(err)), 0, "%s", err);
	for (int i = 0; i < MELS * 2 * ACTX; i++)
		mel[i] = rnd(&b);
	cr_assert_eq(wsp_encode(m, &x, mel, enc), 0);
	for (int i = 0; i < ACTX * D; i++)
		cr_assert(isfinite(enc[i]));
	cr_assert_eq(wsp_decoder_new(m, &x, enc, 1, &d), 0);
	cr_assert_eq(wsp_decoder_step(d, tok, 2, 0, logits), 0);
	for (int i = 0; i < 2 * VOCAB; i++)
		cr_assert(isfinite(logits[i]));
	cr_expect_eq(wsp_decoder_step(d, tok, 2, 0, logits), 0);
	cr_expect_eq(wsp_decoder_step(d, tok, 2, 0, logits), -E2BIG);   /* 6 > TCTX */
	wsp_decoder_free(d);
	wsp_model_free(m);
	free(b.p);
}

/*
 * whisper.cpp ggml: fuzz/seeds/toy.ggml is the f16 toy model converted by
 * scripts/ct2_reference.py's writer (1 layer each, q/k/v split).
 */
static unsigned char *read_seed(const char *path, size_t *len)
{
	unsigned char *buf;
	FILE *f = fopen(path, "rb");
	long n;

	cr_assert_not_null(f, "cannot open %s", path);
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	buf = malloc((size_t)n);
	cr_assert_eq(fread(buf, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	*len = (size_t)n;
	return buf;
}

Test(loader, ggml_toy_model_loads_and_runs)
{
	struct wsp_exec x = { .precision = WSP_FP32, .threads = 1 };
	float mel[MELS * 2 * ACTX] = { 0 }, enc[ACTX * D];
	struct wsp_model *m;
	char err[256] = "";

	cr_assert_eq(wsp_model_load(&m, "fuzz/seeds/toy.ggml", err, sizeof(err)), 0, "%s", err);
	cr_expect_eq(wsp_model_hparams(m)->n_audio_state, D);
	cr_expect_eq(wsp_model_hparams(m)->n_audio_layer, 1);
	cr_expect_eq(m->enc[0].qkv.out, 3 * D);
	cr_expect_eq(m->dec[0].cross_kv.out, 2 * D);
	for (int i = 0; i < D; i++)    /* the key projection has no bias */
		cr_expect_eq(m->enc[0].qkv.b[D + i], 0.0f);
	cr_expect_str_eq(wsp_model_dir(m), "fuzz/seeds");
	cr_expect_eq(wsp_encode(m, &x, mel, enc), 0);
	wsp_model_free(m);
}

Test(loader, ggml_truncations_are_rejected)
{
	size_t len, step = getenv("AMN_TEST_SCALE") ? 13 : 1;
	unsigned char *buf = read_seed("fuzz/seeds/toy.ggml", &len);

	for (size_t n = 0; n < len; n += step) {
		struct wsp_model *m = calloc(1, sizeof(*m));
		char err[256] = "";

		cr_assert_eq(wsp_load_ggml_mem(m, buf, n, "toy.ggml", err, sizeof(err)), -EINVAL,
			     "length %zu", n);
		cr_assert(strstr(err, "toy.ggml") != NULL, "message names the file: %s", err);
		wsp_model_free(m);
	}
	free(buf);
}

/* Hugging Face safetensors: fuzz/seeds/toy.safetensors, the same toy model. */
Test(loader, safetensors_toy_model_loads)
{
	struct wsp_model *m;
	char err[256] = "";

	cr_assert_eq(wsp_model_load(&m, "fuzz/seeds/toy.safetensors", err, sizeof(err)), 0,
		     "%s", err);
	cr_expect_eq(wsp_model_hparams(m)->n_audio_state, D);
	cr_expect_eq(wsp_model_hparams(m)->n_vocab, VOCAB);
	cr_expect_eq(wsp_model_hparams(m)->n_text_layer, 1);
	cr_expect_eq(m->dec[0].fc1.out, FFN);
	wsp_model_free(m);
}

Test(loader, safetensors_truncations_are_rejected)
{
	size_t len, step = getenv("AMN_TEST_SCALE") ? 13 : 1;
	unsigned char *buf = read_seed("fuzz/seeds/toy.safetensors", &len);

	for (size_t n = 0; n < len; n += step) {
		struct wsp_model *m = calloc(1, sizeof(*m));
		char err[256] = "";

		cr_assert_eq(wsp_load_safetensors_mem(m, buf, n, "toy.st", err, sizeof(err)), -EINVAL,
			     "length %zu", n);
		cr_assert(strstr(err, "toy.st") != NULL, "message names the file: %s", err);
		wsp_model_free(m);
	}
	free(buf);
}

/* A safetensors image of @json as its header and @data_len zero bytes after it. */
static int load_st_header(const char *json, size_t data_len, char *err, size_t errlen)
{
	size_t hlen = strlen(json), len = 8 + hlen + data_len;
	unsigned char *buf = calloc(1, len);
	struct wsp_model *m = calloc(1, sizeof(*m));
	int ret;

	cr_assert(buf && m);
	for (int i = 0; i < 8; i++)
		buf[i] = (unsigned char)((uint64_t)hlen >> (8 * i));
	memcpy(buf + 8, json, hlen);
	err[0] = '\0';
	ret = wsp_load_safetensors_mem(m, buf, len, "bad.st", err, errlen);
	wsp_model_free(m);
	free(buf);
	return ret;
}

/* Headers of the wrong shape fail with -EINVAL and say which tensor and field. */
Test(loader, safetensors_header_types_are_checked)
{
	static const struct { const char *json, *says; } bad[] = {
		{ "{\"a\": {\"dtype\": 5, \"shape\": [1], \"data_offsets\": [0, 4]}}", "dtype" },
		{ "{\"a\": {\"dtype\": \"F32\", \"shape\": \"1\", \"data_offsets\": [0, 4]}}", "shape" },
		{ "{\"a\": {\"dtype\": \"F32\", \"shape\": [-1], \"data_offsets\": [0, 4]}}", "shape" },
		{ "{\"a\": {\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [4, 0]}}", "data_offsets" },
		{ "{\"a\": {\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [0]}}", "data_offsets" },
		{ "{\"a\": [1, 2]}", "'a'" },
		{ "{\"a\": {\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [0, 4]}", "line 1" },
		{ "{\"a\": {\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [0, 4]}, \"a\": {}}",
		  "duplicate" },
		{ "[1, 2]", "not an object" },
		{ "{\"a\": {\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [0, 400]}}", "past the end" },
	};
	char err[256];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		cr_expect_eq(load_st_header(bad[i].json, 4, err, sizeof(err)), -EINVAL, "%s", bad[i].json);
		cr_expect(strstr(err, "bad.st") && strstr(err, bad[i].says), "%s: %s", bad[i].json, err);
	}
}

/* A model directory of its own: the toy safetensors model and @files (name, text) pairs. */
static void toy_dir(char *dir, const char *const files[][2], int n)
{
	size_t len;
	unsigned char *buf = read_seed("fuzz/seeds/toy.safetensors", &len);
	char path[256];
	FILE *f;

	strcpy(dir, "/tmp/amn_cfg_XXXXXX");
	cr_assert_not_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/model.safetensors", dir);
	f = fopen(path, "wb");
	cr_assert(f && fwrite(buf, 1, len, f) == len);
	fclose(f);
	free(buf);
	for (int i = 0; i < n; i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, files[i][0]);
		f = fopen(path, "w");
		cr_assert(f && fputs(files[i][1], f) >= 0);
		fclose(f);
	}
}

static void toy_dir_remove(const char *dir)
{
	static const char *const names[] = {
		"model.safetensors", "config.json", "preprocessor_config.json", "tokenizer.json",
		"model.bin",
	};
	char path[256];

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
		unlink(path);
	}
	rmdir(dir);
}

/* config.json is read once at load: the lists, and the head counts for safetensors. */
Test(loader, config_json_is_read_at_load)
{
	static const char *const files[][2] = {
		{ "config.json", "{\"suppress_ids\": [3, 1, 2], \"suppress_ids_begin\": [],\n"
				 " \"lang_ids\": [7, 8], \"alignment_heads\": [[0, 1], [0, 0]],\n"
				 " \"encoder_attention_heads\": 2, \"decoder_attention_heads\": 4,\n"
				 " \"suppress_tokens\": \"ignored: suppress_ids comes first\"}" },
		{ "preprocessor_config.json", "{\"feature_size\": 4, \"sampling_rate\": 16000}" },
	};
	const struct wsp_model_config *c;
	struct wsp_model *m;
	char dir[64], err[512] = "";

	toy_dir(dir, files, 2);
	cr_assert_eq(wsp_model_load(&m, dir, err, sizeof(err)), 0, "%s", err);
	c = wsp_model_config(m);
	cr_expect_eq(c->suppress.n, 3);
	cr_expect(c->suppress.n == 3 && c->suppress.v[0] == 3 && c->suppress.v[2] == 2);
	cr_expect(c->suppress_begin.v != NULL && c->suppress_begin.n == 0, "given, empty");
	cr_expect(c->lang_ids.n == 2 && c->lang_ids.v[1] == 8);
	cr_expect(c->alignment_heads.n == 4 && c->alignment_heads.v[1] == 1);
	cr_expect_eq(wsp_model_hparams(m)->n_audio_head, 2);
	cr_expect_eq(wsp_model_hparams(m)->n_text_head, 4);
	wsp_model_free(m);
	toy_dir_remove(dir);
}

/* Copy fuzz/seeds/@seed into @dir as @name. */
static void put_seed(const char *dir, const char *seed, const char *name)
{
	size_t len;
	unsigned char *buf;
	char path[256];
	FILE *f;

	snprintf(path, sizeof(path), "fuzz/seeds/%s", seed);
	buf = read_seed(path, &len);
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "wb");
	cr_assert(f && fwrite(buf, 1, len, f) == len);
	fclose(f);
	free(buf);
}

/*
 * A Hugging Face folder as transformers saves it (model.safetensors,
 * config.json, tokenizer.json, preprocessor_config.json) loads from -m DIR;
 * with a CTranslate2 model.bin beside it the folder has two formats: the
 * model says which file it read (model.bin) and which it did not.
 */
Test(loader, hugging_face_folder_and_two_formats)
{
	static const char *const files[][2] = {
		{ "config.json", "{\"architectures\": [\"WhisperForConditionalGeneration\"],\n"
				 " \"d_model\": 8, \"encoder_attention_heads\": 2,\n"
				 " \"decoder_attention_heads\": 2, \"suppress_tokens\": [1, 2],\n"
				 " \"begin_suppress_tokens\": [3]}" },
		{ "preprocessor_config.json", "{\"feature_size\": 4, \"sampling_rate\": 16000,\n"
					      " \"hop_length\": 160, \"n_fft\": 400}" },
	};
	const char *used, *unused = "x";
	struct wsp_model *m;
	char dir[64], path[128], err[512] = "";

	toy_dir(dir, files, 2);
	put_seed(dir, "tokenizer.json", "tokenizer.json");
	cr_assert_eq(wsp_model_load(&m, dir, err, sizeof(err)), 0, "%s", err);
	used = wsp_model_weights_file(m, &unused);
	snprintf(path, sizeof(path), "%s/model.safetensors", dir);
	cr_expect_str_eq(used, path);
	cr_expect_null(unused, "one format: nothing left unread");
	cr_expect_str_eq(wsp_model_dir(m), dir);
	cr_expect_eq(wsp_model_hparams(m)->n_audio_head, 2, "head count from config.json");
	cr_expect_eq(wsp_model_config(m)->suppress.n, 2);
	cr_expect_eq(wsp_model_config(m)->suppress_begin.n, 1);
	wsp_model_free(m);

	put_seed(dir, "toy_f16.bin", "model.bin");
	cr_assert_eq(wsp_model_load(&m, dir, err, sizeof(err)), 0, "%s", err);
	used = wsp_model_weights_file(m, &unused);
	snprintf(path, sizeof(path), "%s/model.bin", dir);
	cr_expect_str_eq(used, path, "CTranslate2 first, as faster-whisper reads such a folder");
	snprintf(path, sizeof(path), "%s/model.safetensors", dir);
	cr_assert_not_null(unused);
	cr_expect_str_eq(unused, path);
	cr_expect_eq(wsp_model_hparams(m)->n_audio_state, D);
	wsp_model_free(m);

	/* a ggml file given as a file: that file, nothing unread */
	cr_assert_eq(wsp_model_load(&m, "fuzz/seeds/toy.ggml", err, sizeof(err)), 0, "%s", err);
	cr_expect_str_eq(wsp_model_weights_file(m, &unused), "fuzz/seeds/toy.ggml");
	cr_expect_null(unused);
	wsp_model_free(m);
	toy_dir_remove(dir);
}

/* A malformed side file fails the load with -EINVAL, naming the file and the field. */
Test(loader, malformed_config_json_names_the_file)
{
	static const struct { const char *name, *text, *says; } bad[] = {
		{ "config.json", "{\"suppress_ids\": \"1 2\"}", "suppress_ids" },
		{ "config.json", "{\"suppress_ids\": [1, 2.5]}", "suppress_ids\"[1]" },
		{ "config.json", "{\"suppress_ids_begin\": [220, 50257", "line 1" },
		{ "config.json", "{\"lang_ids\": [1],\n \"lang_ids\": [2]}", "duplicate" },
		{ "config.json", "{\"lang_ids\": [11]}", "lang_ids" },
		{ "config.json", "{\"alignment_heads\": [[0]]}", "alignment_heads" },
		{ "config.json", "{\"alignment_heads\": [[1, 0]]}", "decoder layer" },
		{ "config.json", "{\"encoder_attention_heads\": \"2\"}", "encoder_attention_heads" },
		{ "config.json", "{\"decoder_attention_heads\": 3}", "head" },
		{ "config.json", "[1, 2]", "object" },
		{ "config.json", "", "line" },
		{ "preprocessor_config.json", "{\"feature_size\": 80}", "feature_size" },
		{ "preprocessor_config.json", "{\"feature_size\": [4]}", "feature_size" },
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		const char *const files[][2] = { { bad[i].name, bad[i].text } };
		struct wsp_model *m = (void *)1;
		char dir[64], err[512] = "";

		toy_dir(dir, files, 1);
		cr_expect_eq(wsp_model_load(&m, dir, err, sizeof(err)), -EINVAL, "%s", bad[i].text);
		cr_expect_null(m);
		cr_expect(strstr(err, bad[i].name) && strstr(err, bad[i].says), "%s: %s",
			  bad[i].text, err);
		toy_dir_remove(dir);
	}
}

/* The real model, cut in half, fails with a message naming the file. */
Test(loader, truncated_real_model_names_the_file)
{
	const char *src = getenv("AMN_MODEL") ? getenv("AMN_MODEL") : "models/tiny.en";
	char path[1024], dir[] = "/tmp/amn_trunc_XXXXXX", dst[1100], err[512] = "";
	struct wsp_model *m = NULL;
	unsigned char *buf;
	size_t len;
	FILE *f;

	snprintf(path, sizeof(path), "%s/model.bin", src);
	f = fopen(path, "rb");
	if (!f)
		cr_skip_test("no model at %s", path);
	fclose(f);
	buf = read_seed(path, &len);
	cr_assert_not_null(mkdtemp(dir));
	snprintf(dst, sizeof(dst), "%s/model.bin", dir);
	f = fopen(dst, "wb");
	cr_assert_not_null(f);
	cr_assert_eq(fwrite(buf, 1, len / 2, f), len / 2);
	fclose(f);
	cr_expect_eq(wsp_model_load(&m, dir, err, sizeof(err)), -EINVAL);
	cr_expect_null(m);
	cr_expect(strstr(err, dst) != NULL, "%s", err);
	cr_expect(strstr(err, "truncated") != NULL, "%s", err);
	unlink(dst);
	rmdir(dir);
	free(buf);
}

/* Floats that are half floats come back to the same bits; others are refused. */
Test(loader, f16_exact_round_trip)
{
	static float f[65536];
	static uint16_t h[65536], h2[65536];
	const float not_half[] = { 1.0f + 0x1p-20f, 1e-9f, 70000.0f, 0.1f, -3.0e-8f };
	size_t n = 0;

	for (uint32_t i = 0; i < 65536; i++) {
		unsigned char b[2] = { (unsigned char)(i & 0xff), (unsigned char)(i >> 8) };

		if ((i & 0x7c00u) == 0x7c00u && (i & 0x3ffu))
			continue;   /* NaN payloads: compared by bits below, skip */
		h[n] = (uint16_t)i;
		wsp_f16_to_f32(&f[n], b, 1);
		n++;
	}
	cr_assert_eq(wsp_f32_to_f16_exact(h2, f, n), 0);
	cr_expect_eq(memcmp(h, h2, n * sizeof(*h)), 0, "every half float, zeros and "
		     "subnormals and infinities included, comes back as itself");
	for (size_t i = 0; i < sizeof(not_half) / sizeof(not_half[0]); i++)
		cr_expect_eq(wsp_f32_to_f16_exact(h2, &not_half[i], 1), -ERANGE, "%g", not_half[i]);
	wsp_f16_row_to_f32(f, h, 4);
	for (int i = 0; i < 4; i++) {
		unsigned char b[2] = { (unsigned char)(h[i] & 0xff), (unsigned char)(h[i] >> 8) };
		float g;

		wsp_f16_to_f32(&g, b, 1);
		cr_expect_eq(memcmp(&f[i], &g, sizeof(g)), 0);
	}
}
