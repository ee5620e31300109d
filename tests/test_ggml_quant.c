// SPDX-License-Identifier: MIT
/*
 * tests/test_ggml_quant.c - quantized whisper.cpp ggml files.
 *
 * tiny.en is converted to an f16 ggml file (scripts/ct2_to_ggml.py) and
 * quantized to every type whisper.cpp's quantize writes
 * (scripts/ggml_quantize.py, byte-identical to it); each file must load,
 * and its encoder output on jfk.wav must stay within a per-type bound of
 * the f16 file's (fp32 path against fp32: the file's own loss; INT8 path
 * against the f16 file's fp32: what a user gets). The weights' errors are
 * logged too: the file's values against the f16 ones, and our INT8 packing
 * against the file's values (none for q8_0, q4_0 and q5_0, whose integers
 * are kept; one requantization at load for the others;
 * whisper/model/ggml_quants.c). Then malformed files: a truncated block,
 * a non-finite block scale, a size that is not whole blocks, an unknown
 * type, an old quantization version. Skipped without tiny.en or python3
 * with numpy.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tiler/tile_internal.h"
#include "whisper/audio/audio.h"
#include "whisper/audio/mel.h"
#include "whisper/model.h"
#include "whisper/model/model_internal.h"
#include "whisper/model/weights.h"
#include "whisper/nn/forward.h"
#include "tests/helpers/test_env.h"

static char dir[64];

static void run(const char *cmd)
{
	cr_assert_eq(system(cmd), 0, "%s failed", cmd);
}

/* tiny.en as an f16 ggml file in a fresh directory; skips when it cannot. */
static void make_f16(void)
{
	char mb[512], cmd[1024];
	const char *model = test_env_or("AMN_MODEL", "models/tiny.en");

	snprintf(mb, sizeof(mb), "%s/model.bin", model);
	if (access(mb, R_OK) != 0 || access("scripts/ggml_quantize.py", R_OK) != 0)
		cr_skip_test("%s or scripts/ggml_quantize.py not found (run from the repo root)", mb);
	if (system("python3 -c 'import numpy' >/dev/null 2>&1") != 0)
		cr_skip_test("python3 with numpy not available");
	strcpy(dir, "/tmp/amn_ggml_quant_XXXXXX");
	cr_assert_not_null(mkdtemp(dir));
	snprintf(cmd, sizeof(cmd), "python3 scripts/ct2_to_ggml.py %s %s/f16.bin >/dev/null",
		 model, dir);
	run(cmd);
}

static void cleanup(void)
{
	char cmd[128];

	if (dir[0]) {
		snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
		if (system(cmd) != 0)
			fprintf(stderr, "could not remove %s\n", dir);
	}
	dir[0] = '\0';
}

/* jfk.wav's first 30 s window (zero padded), as the encoder takes it. */
static float *jfk_mel(int n_mels, int n_frames)
{
	struct wsp_audio a;
	struct wsp_mel *mel;
	size_t n = (size_t)n_frames * WSP_HOP_LENGTH;
	float *pcm = calloc(n, sizeof(float)), *out = malloc((size_t)n_mels * n_frames * 4);
	char err[256];

	cr_assert(pcm && out);
	cr_assert_eq(wsp_audio_load("samples/jfk.wav", &a, err, sizeof(err)), 0, "%s", err);
	memcpy(pcm, a.samples, (a.n < n ? a.n : n) * sizeof(float));
	wsp_audio_free(&a);
	cr_assert_eq(wsp_mel_new(n_mels, &mel), 0);
	cr_assert_eq(wsp_mel_frames(n), (size_t)n_frames);
	cr_assert_eq(wsp_mel_compute(mel, pcm, n, out), 0);
	wsp_mel_free(mel);
	free(pcm);
	return out;
}

static void encode(const struct wsp_model *m, int precision, const float *mel, float *out)
{
	struct wsp_exec x = { .precision = precision, .threads = 2 };

	cr_assert_eq(wsp_encode(m, &x, mel, out), 0);
}

static double cosine(const float *a, const float *b, size_t n)
{
	double ab = 0, aa = 0, bb = 0;

	for (size_t i = 0; i < n; i++) {
		ab += (double)a[i] * b[i];
		aa += (double)a[i] * a[i];
		bb += (double)b[i] * b[i];
	}
	return ab / sqrt(aa * bb);
}

/* Squared errors summed over every weight of one linear layer. */
struct werr {
	double file2, pack2, ref2;   /* (file - f16)^2, (packed - file)^2, f16^2 */
	double file_sq;              /* file^2 */
	double tot2;                 /* (packed - f16)^2 */
};

/* The value packed for row n, column k of one tile_weights (its K slice). */
static float unpacked(const struct tile_weights *t, int k, int n)
{
	uint8_t b = t->b[(size_t)(n / TILE_PANEL) * t->pstride + (size_t)(k / 4) * t->ldb +
			 (size_t)(n % TILE_PANEL) * 4 + k % 4];

	return (float)((int)b - 128) * t->sb[(size_t)(k / t->kb) * t->np + n];
}

static void lin_err(const struct wsp_lin *q, const struct wsp_lin *f, struct werr *e)
{
	int groups = q->n_groups > 1 ? q->n_groups : 1, kg = q->in / groups;

	for (int g = 0; g < groups; g++) {
		const struct tile_weights *t = groups > 1 ? q->gq[g] : q->q;

		for (int n = 0; n < q->out; n++)
			for (int k = 0; k < kg; k++) {
				size_t i = (size_t)n * q->in + (size_t)g * kg + k;
				double w = q->w[i], r = f->w[i], p = unpacked(t, k, n);

				e->file2 += (w - r) * (w - r);
				e->pack2 += (p - w) * (p - w);
				e->ref2 += r * r;
				e->file_sq += w * w;
				e->tot2 += (p - r) * (p - r);
			}
	}
}

/*
 * Every packed linear layer of the encoder and decoder (not the token
 * embedding), and the convolutions apart (@conv): quantize leaves them f16.
 */
static void model_err(const struct wsp_model *q, const struct wsp_model *f, struct werr *e,
		      struct werr *conv)
{
	memset(e, 0, sizeof(*e));
	memset(conv, 0, sizeof(*conv));
	lin_err(&q->conv1, &f->conv1, conv);
	lin_err(&q->conv2, &f->conv2, conv);
	for (int l = 0; l < q->hp.n_audio_layer; l++) {
		lin_err(&q->enc[l].qkv, &f->enc[l].qkv, e);
		lin_err(&q->enc[l].attn_out, &f->enc[l].attn_out, e);
		lin_err(&q->enc[l].fc1, &f->enc[l].fc1, e);
		lin_err(&q->enc[l].fc2, &f->enc[l].fc2, e);
	}
	for (int l = 0; l < q->hp.n_text_layer; l++) {
		const struct wsp_dec_layer *a = &q->dec[l], *b = &f->dec[l];

		lin_err(&a->self_qkv, &b->self_qkv, e);
		lin_err(&a->self_out, &b->self_out, e);
		lin_err(&a->cross_q, &b->cross_q, e);
		lin_err(&a->cross_kv, &b->cross_kv, e);
		lin_err(&a->cross_out, &b->cross_out, e);
		lin_err(&a->fc1, &b->fc1, e);
		lin_err(&a->fc2, &b->fc2, e);
	}
}

/*
 * Per type: the least encoder cosine against the f16 file's fp32 output,
 * for our fp32 and INT8 paths. Measured (tiny.en, jfk.wav, 3 December
 * 2026) and written in Documentation/models.md; each bound sits below the
 * measurement with a margin. These are the file's own losses: our floats
 * equal ggml's dequantize_row_* bit for bit (checked against libggml once),
 * so whisper.cpp computes with the same weights. Besides, for every type,
 * the INT8 path must stay as close to the same file's fp32 path as it is
 * for the f16 file (cosine >= 0.999), and the packing's weight error
 * against the file's values at most 0.0095 (f16: 0.0081). The types that
 * are int8 in blocks of 32 (@exact 1) are packed with no error at all, and
 * their INT8 path stays within cosine 0.9998 of their fp32 one (the f16
 * file's: 0.99974, as q8_0's was when it was requantized per 128); q4_1
 * and q5_1 (@exact 2), repacked per block of 32 like the file, err at most
 * 0.0070 (per 128 they erred 0.0080) and keep the same cosine bound.
 */
static const struct {
	const char *type;
	double fp32, int8;
	int exact;   /* 1: the file's integers kept; 2: repacked per 32; 0: per 128 */
} bounds[] = {
	{ "q8_0", 0.9998, 0.9998, 1 },  /* measured 0.999938, 0.999847 (per 128: 0.999736) */
	{ "q5_1", 0.994, 0.994, 2 },    /* 0.996536, 0.996390 */
	{ "q4_0", 0.978, 0.978, 1 },    /* 0.984347, 0.983892 */
	{ "q5_0", 0.994, 0.994, 1 },    /* 0.996364, 0.996336 */
	{ "q4_1", 0.982, 0.982, 2 },    /* 0.987914, 0.987253 */
	{ "q6_k", 0.9985, 0.998, 0 },   /* 0.999310, 0.999064 */
	{ "q5_k", 0.995, 0.995, 0 },    /* 0.997306, 0.997089 */
	{ "q4_k", 0.985, 0.985, 0 },    /* 0.990221, 0.990045 */
	{ "q3_k", 0.93, 0.93, 0 },      /* 0.940354, 0.938759 */
	{ "q2_k", 0.68, 0.68, 0 },      /* 0.724387, 0.724710 */
};

Test(ggml_quant, every_type_loads_and_encodes_close_to_f16, .fini = cleanup, .timeout = 1500)
{
	struct wsp_model *f16, *q;
	const struct wsp_hparams *hp;
	char path[256], cmd[512], err[512];
	size_t nout;
	float *mel, *ref, *o32, *o8;
	int n = test_small_scale() ? 2 : (int)(sizeof(bounds) / sizeof(bounds[0]));

	make_f16();
	snprintf(path, sizeof(path), "%s/f16.bin", dir);
	cr_assert_eq(wsp_model_load(&f16, path, err, sizeof(err)), 0, "%s", err);
	hp = wsp_model_hparams(f16);
	nout = (size_t)hp->n_audio_ctx * hp->n_audio_state;
	mel = jfk_mel(hp->n_mels, 2 * hp->n_audio_ctx);
	ref = malloc(nout * 4);
	o32 = malloc(nout * 4);
	o8 = malloc(nout * 4);
	cr_assert(ref && o32 && o8);
	encode(f16, WSP_FP32, mel, ref);
	{
		struct werr e, conv;

		encode(f16, WSP_INT8, mel, o8);
		model_err(f16, f16, &e, &conv);
		cr_log_info("f16: INT8 encoder cosine %.6f; weights: packing vs file rel RMS %.5f "
			    "(convolutions %.5f)", cosine(o8, ref, nout), sqrt(e.pack2 / e.file_sq),
			    sqrt(conv.pack2 / conv.file_sq));
	}
	for (int t = 0; t < n; t++) {
		struct werr e, conv;
		double c32, c8;

		snprintf(path, sizeof(path), "%s/%s.bin", dir, bounds[t].type);
		snprintf(cmd, sizeof(cmd), "python3 scripts/ggml_quantize.py %s/f16.bin %s %s 2>/dev/null",
			 dir, path, bounds[t].type);
		run(cmd);
		cr_assert_eq(wsp_model_load(&q, path, err, sizeof(err)), 0, "%s: %s", bounds[t].type, err);
		cr_expect_eq(memcmp(wsp_model_hparams(q), hp, sizeof(*hp)), 0);
		encode(q, WSP_FP32, mel, o32);
		encode(q, WSP_INT8, mel, o8);
		c32 = cosine(o32, ref, nout);
		c8 = cosine(o8, ref, nout);
		model_err(q, f16, &e, &conv);
		cr_log_info("%s: encoder cosine vs f16 fp32: fp32 %.6f, INT8 %.6f (INT8 vs this "
			    "file's fp32 %.6f); weights rel RMS: file vs f16 %.5f, packing vs file %.5f, "
			    "packing vs f16 %.5f", bounds[t].type, c32, c8, cosine(o8, o32, nout), sqrt(e.file2 / e.ref2), sqrt(e.pack2 / e.file_sq),
			    sqrt(e.tot2 / e.ref2));
		cr_expect_geq(c32, bounds[t].fp32, "%s: fp32 encoder cosine %.6f < %.4f",
			      bounds[t].type, c32, bounds[t].fp32);
		cr_expect_geq(c8, bounds[t].int8, "%s: INT8 encoder cosine %.6f < %.4f",
			      bounds[t].type, c8, bounds[t].int8);
		cr_expect_geq(cosine(o8, o32, nout), 0.999, "%s: INT8 vs fp32 of the same file: %.6f",
			      bounds[t].type, cosine(o8, o32, nout));
		cr_expect_leq(sqrt(e.pack2 / e.file_sq), 0.0095, "%s: packing error %.5f",
			      bounds[t].type, sqrt(e.pack2 / e.file_sq));
		if (bounds[t].exact == 2) {
			/* q4_1, q5_1: repacked, but per block of 32 like the file */
			cr_expect_leq(sqrt(e.pack2 / e.file_sq), 0.0070, "%s: packing error %.5f",
				      bounds[t].type, sqrt(e.pack2 / e.file_sq));
			cr_expect_geq(cosine(o8, o32, nout), 0.9998, "%s: INT8 vs fp32 of the same "
				      "file: %.6f", bounds[t].type, cosine(o8, o32, nout));
		}
		if (bounds[t].exact == 1) {
			/* int8 in blocks of 32: the file's integers and scales, as they are */
			cr_expect_eq(e.pack2, 0.0, "%s: the packing changed the file's values "
				     "(squared error %g)", bounds[t].type, e.pack2);
			cr_expect_geq(cosine(o8, o32, nout), 0.9998, "%s: INT8 vs fp32 of the same "
				      "file: %.6f", bounds[t].type, cosine(o8, o32, nout));
		}
		/* the convolutions stay f16 in every file: packed once, per 128 */
		cr_expect_gt(conv.pack2, 0.0);
		cr_expect_leq(sqrt(conv.pack2 / conv.file_sq), 0.0125, "%s: conv packing error %.5f",
			      bounds[t].type, sqrt(conv.pack2 / conv.file_sq));
		wsp_model_free(q);
		unlink(path);
	}
	wsp_model_free(f16);
	free(mel);
	free(ref);
	free(o32);
	free(o8);
}

/*
 * Malformed quantized files, from fuzz/seeds/toy_q8_0.ggml and toy_q4_1.ggml
 * (the toy model with every tensor of whole 32-value blocks quantized by
 * scripts/ggml_quantize.py --skip-partial).
 */
static unsigned char *read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	unsigned char *buf;
	long n;

	cr_assert_not_null(f, "cannot open %s", path);
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	buf = malloc((size_t)n);
	cr_assert_not_null(buf);
	cr_assert_eq(fread(buf, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	*len = (size_t)n;
	return buf;
}

static int32_t get_i32(const unsigned char *p)
{
	int32_t v;

	memcpy(&v, p, 4);
	return v;
}

static void put_i32(unsigned char *p, int32_t v)
{
	memcpy(p, &v, 4);
}

/* Where the first tensor of type @type starts in ggml image @b: its header and its data. */
static void first_of_type(const unsigned char *b, size_t len, int32_t type, size_t *hdr,
			  size_t *data)
{
	size_t p = 48;

	int32_t n_vocab;

	p += 8 + 4 * (size_t)get_i32(b + 48) * (size_t)get_i32(b + 52);
	n_vocab = get_i32(b + p);
	p += 4;
	for (int32_t i = 0; i < n_vocab; i++)
		p += 4 + (size_t)get_i32(b + p);
	while (p < len) {
		int32_t nd = get_i32(b + p), nl = get_i32(b + p + 4), ty = get_i32(b + p + 8);
		size_t numel = 1, q = p + 12;

		for (int i = 0; i < nd; i++, q += 4)
			numel *= (size_t)get_i32(b + q);
		q += (size_t)nl;
		if (ty == type) {
			*hdr = p;
			*data = q;
			return;
		}
		p = q + numel * (ty == 0 ? 4 : ty == 1 ? 2 : ty == 8 ? 34 : 20) /
			    (ty <= 1 ? 1 : 32);
	}
	cr_assert_fail("no tensor of type %d", type);
}

static int load_img(const unsigned char *b, size_t len, char *err, size_t errlen)
{
	struct wsp_model *m = calloc(1, sizeof(*m));
	int ret;

	cr_assert_not_null(m);
	err[0] = '\0';
	ret = wsp_load_ggml_mem(m, b, len, "toy_q.ggml", err, errlen);
	wsp_model_free(m);
	return ret;
}

Test(ggml_quant, toy_q8_0_values_are_the_blocks)
{
	size_t len, hdr, data;
	unsigned char *b = read_file("fuzz/seeds/toy_q8_0.ggml", &len);
	struct wsp_model *m = calloc(1, sizeof(*m));
	char err[256];

	cr_assert_not_null(m);
	cr_assert_eq(get_i32(b + 44), 2007, "ftype: q8_0 (7) + 1000 x version 2");
	first_of_type(b, len, 8, &hdr, &data);
	cr_assert_eq(wsp_load_ggml_mem(m, b, len, "toy_q8_0.ggml", err, sizeof(err)), 0, "%s", err);
	/* the first q8_0 tensor is encoder.blocks.0.attn.query.weight: qkv rows 0..7 */
	for (int blk = 0; blk < 2; blk++) {
		const unsigned char *bb = b + data + 34 * blk;
		float d;

		wsp_f16_to_f32(&d, bb, 1);
		for (int j = 0; j < 32; j++)
			cr_expect_eq(m->enc[0].qkv.w[32 * blk + j], (float)(int8_t)bb[2 + j] * d,
				     "value %d", 32 * blk + j);
	}
	wsp_model_free(m);
	free(b);
}

Test(ggml_quant, every_truncation_is_rejected)
{
	const char *seeds[] = { "fuzz/seeds/toy_q8_0.ggml", "fuzz/seeds/toy_q4_1.ggml" };

	for (int s = 0; s < 2; s++) {
		size_t len, step = test_small_scale() ? 13 : 1;
		unsigned char *b = read_file(seeds[s], &len);
		char err[256];

		cr_assert_eq(load_img(b, len, err, sizeof(err)), 0, "%s: %s", seeds[s], err);
		for (size_t n = 0; n < len; n += step) {
			cr_assert_eq(load_img(b, n, err, sizeof(err)), -EINVAL, "%s: length %zu",
				     seeds[s], n);
			cr_assert(strstr(err, "toy_q.ggml") != NULL, "message names the file: %s", err);
		}
		free(b);
	}
}

Test(ggml_quant, malformed_blocks_are_named)
{
	size_t len, hdr, data;
	unsigned char *b = read_file("fuzz/seeds/toy_q8_0.ggml", &len), *c = malloc(len);
	char err[256];

	cr_assert_not_null(c);
	first_of_type(b, len, 8, &hdr, &data);

	/* block 1's scale an infinity */
	memcpy(c, b, len);
	c[data + 34] = 0x00;
	c[data + 35] = 0x7c;
	cr_expect_eq(load_img(c, len, err, sizeof(err)), -EINVAL);
	cr_expect(strstr(err, "q8_0 block 1 of 2: its scale is not a finite half float") != NULL,
		  "%s", err);

	/* a NaN scale in block 0 */
	memcpy(c, b, len);
	c[data + 1] = 0x7e;
	cr_expect_eq(load_img(c, len, err, sizeof(err)), -EINVAL);
	cr_expect(strstr(err, "block 0 of 2") != NULL, "%s", err);

	/* the tensor called q4_K: 64 values are not a whole 256-value block */
	memcpy(c, b, len);
	put_i32(c + hdr + 8, 12);
	cr_expect_eq(load_img(c, len, err, sizeof(err)), -EINVAL);
	cr_expect(strstr(err, "64 elements are not a whole number of q4_K blocks (256 each)") != NULL,
		  "%s", err);

	/* a type quantize never writes for Whisper (q8_1), and one ggml removed (4) */
	for (int32_t t = 4; t <= 9; t += 5) {
		memcpy(c, b, len);
		put_i32(c + hdr + 8, t);
		cr_expect_eq(load_img(c, len, err, sizeof(err)), -EINVAL);
		cr_expect(strstr(err, "is not one ggml's quantize writes") != NULL, "%s", err);
	}

	/* quantization version 1 (ggml before May 2023) in the header */
	memcpy(c, b, len);
	put_i32(c + 44, 1007);
	cr_expect_eq(load_img(c, len, err, sizeof(err)), -EINVAL);
	cr_expect(strstr(err, "quantization version 1 (ftype 1007)") != NULL, "%s", err);

	/* data cut inside the first block */
	cr_expect_eq(load_img(b, data + 20, err, sizeof(err)), -EINVAL);
	cr_expect(strstr(err, "data truncated (q8_0, 68 bytes, 20 left)") != NULL, "%s", err);
	free(c);
	free(b);
}

Test(ggml_quant, toy_q4_1_min_must_be_finite)
{
	size_t len, hdr, data;
	unsigned char *b = read_file("fuzz/seeds/toy_q4_1.ggml", &len);
	char err[256];

	first_of_type(b, len, 3, &hdr, &data);
	cr_assert_eq(load_img(b, len, err, sizeof(err)), 0, "%s", err);
	b[data + 2] = 0x00;
	b[data + 3] = 0xfc;      /* block 0's min: -infinity */
	cr_expect_eq(load_img(b, len, err, sizeof(err)), -EINVAL);
	cr_expect(strstr(err, "q4_1 block 0 of 2: its min is not a finite half float") != NULL,
		  "%s", err);
	free(b);
}
