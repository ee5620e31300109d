// SPDX-License-Identifier: MIT
/*
 * tests/test_model_stream.c - INT8-only loading (whisper/model/model_stream.c)
 * gives the model that loading floats, packing and dropping the floats
 * gives, byte for byte: every packed weight (tile bytes and scales), slice
 * plan, residual flag, bias, norm, position table and the kept token
 * embedding. On every format the loaders read: the CTranslate2 toy seeds
 * (float32, float16, int8), the ggml ones (f16, q8_0, q4_1), the
 * safetensors one, and models/tiny.en when it is there (also through the
 * public calls, and its load peak RSS against the old path's, in a child).
 * Also: the tiler packs a matrix slab by slab into the bytes it packs whole.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tiler/tile.h"
#include "tiler/tile_internal.h"
#include "whisper/model/model_internal.h"

static unsigned char *read_all(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	unsigned char *b;
	long n;

	cr_assert_not_null(f, "cannot open %s", path);
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	b = malloc((size_t)n);
	cr_assert_not_null(b);
	cr_assert_eq(fread(b, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	*len = (size_t)n;
	return b;
}

static void tw_eq(const struct tile_weights *a, const struct tile_weights *b, const char *what)
{
	cr_assert_not_null(a, "%s: no packing (old)", what);
	cr_assert_not_null(b, "%s: no packing (streamed)", what);
	cr_assert(a->K == b->K && a->N == b->N && a->kb == b->kb && a->nkb == b->nkb,
		  "%s: shapes differ", what);
	cr_expect_eq(memcmp(a->b, b->b, (size_t)(a->np / TILE_PANEL) * a->pstride), 0,
		     "%s: packed bytes differ", what);
	cr_expect_eq(memcmp(a->sb, b->sb, (size_t)a->nkb * a->np * sizeof(float)), 0,
		     "%s: scales differ", what);
}

static void fl_eq(const float *a, const float *b, size_t n, const char *what)
{
	cr_assert((a == NULL) == (b == NULL), "%s: present in one model only", what);
	if (a)
		cr_expect_eq(memcmp(a, b, n * sizeof(float)), 0, "%s differs", what);
}

static void lin_eq(const struct wsp_lin *a, const struct wsp_lin *b, const char *what)
{
	cr_assert(a->in == b->in && a->out == b->out, "%s: dimensions differ", what);
	cr_expect_null(b->w, "%s: the streamed model kept a float weight", what);
	cr_expect_eq(a->act_resid, b->act_resid, "%s: residual flag", what);
	cr_assert_eq(a->n_groups, b->n_groups, "%s: slices", what);
	if (a->n_groups > 1)
		for (int g = 0; g < a->n_groups; g++)
			tw_eq(a->gq[g], b->gq[g], what);
	else
		tw_eq(a->q, b->q, what);
	fl_eq(a->b, b->b, (size_t)a->out, what);
}

static void ln_eq(const struct wsp_ln *a, const struct wsp_ln *b, int d, const char *what)
{
	fl_eq(a->g, b->g, (size_t)d, what);
	fl_eq(a->b, b->b, (size_t)d, what);
}

/* @a: loaded, packed, floats dropped; @b: streamed. */
static void model_eq(const struct wsp_model *a, const struct wsp_model *b)
{
	const struct wsp_hparams *hp = &a->hp;
	int d = hp->n_audio_state;
	size_t emb = (size_t)hp->n_vocab * d;

	cr_assert_eq(memcmp(&a->hp, &b->hp, sizeof(a->hp)), 0, "dimensions differ");
	cr_expect(a->int8_only && b->int8_only);
	lin_eq(&a->conv1, &b->conv1, "conv1");
	lin_eq(&a->conv2, &b->conv2, "conv2");
	fl_eq(a->enc_pos, b->enc_pos, (size_t)hp->n_audio_ctx * d, "encoder positions");
	fl_eq(a->dec_pos, b->dec_pos, (size_t)hp->n_text_ctx * d, "decoder positions");
	ln_eq(&a->enc_ln, &b->enc_ln, d, "encoder norm");
	ln_eq(&a->dec_ln, &b->dec_ln, d, "decoder norm");
	/* the embedding: packed for the logits, its rows kept for the input */
	cr_expect(b->tok_emb.w == NULL || b->tok_emb_h == NULL);
	tw_eq(a->tok_emb.q, b->tok_emb.q, "token embedding");
	fl_eq(a->tok_emb.w, b->tok_emb.w, emb, "token embedding rows (float)");
	cr_assert((a->tok_emb_h == NULL) == (b->tok_emb_h == NULL), "embedding kept differently");
	if (a->tok_emb_h)
		cr_expect_eq(memcmp(a->tok_emb_h, b->tok_emb_h, emb * 2), 0,
			     "token embedding rows (f16) differ");
	cr_assert((a->tok_emb_raw == NULL) == (b->tok_emb_raw == NULL),
		  "quantized embedding blocks kept by one model only");
	if (a->tok_emb_raw) {
		cr_assert(a->tok_emb_raw_type == b->tok_emb_raw_type &&
			  a->tok_emb_raw_row == b->tok_emb_raw_row, "embedding blocks differ in kind");
		cr_expect_eq(memcmp(a->tok_emb_raw, b->tok_emb_raw,
				    (size_t)hp->n_vocab * a->tok_emb_raw_row), 0,
			     "token embedding blocks differ");
		cr_expect(b->tok_emb.w == NULL && b->tok_emb_h == NULL,
			  "the blocks are kept, and floats too");
	}
	for (int i = 0; i < hp->n_audio_layer; i++) {
		const struct wsp_enc_layer *x = &a->enc[i], *y = &b->enc[i];

		ln_eq(&x->attn_ln, &y->attn_ln, d, "encoder attention norm");
		lin_eq(&x->qkv, &y->qkv, "encoder qkv");
		lin_eq(&x->attn_out, &y->attn_out, "encoder attention out");
		ln_eq(&x->ffn_ln, &y->ffn_ln, d, "encoder FFN norm");
		lin_eq(&x->fc1, &y->fc1, "encoder fc1");
		lin_eq(&x->fc2, &y->fc2, "encoder fc2");
	}
	for (int i = 0; i < hp->n_text_layer; i++) {
		const struct wsp_dec_layer *x = &a->dec[i], *y = &b->dec[i];

		ln_eq(&x->self_ln, &y->self_ln, d, "decoder self norm");
		lin_eq(&x->self_qkv, &y->self_qkv, "decoder qkv");
		lin_eq(&x->self_out, &y->self_out, "decoder self out");
		ln_eq(&x->cross_ln, &y->cross_ln, d, "decoder cross norm");
		lin_eq(&x->cross_q, &y->cross_q, "decoder cross q");
		lin_eq(&x->cross_kv, &y->cross_kv, "decoder cross kv");
		lin_eq(&x->cross_out, &y->cross_out, "decoder cross out");
		ln_eq(&x->ffn_ln, &y->ffn_ln, d, "decoder FFN norm");
		lin_eq(&x->fc1, &y->fc1, "decoder fc1");
		lin_eq(&x->fc2, &y->fc2, "decoder fc2");
	}
}

typedef int (*load_mem_fn)(struct wsp_model *m, const unsigned char *buf, size_t len,
			   const char *name, char *err, size_t errlen);

/* One seed image both ways, compared. */
static void seed_both_ways(const char *path, load_mem_fn load)
{
	struct wsp_model *a = calloc(1, sizeof(*a)), *b = calloc(1, sizeof(*b));
	char err[512] = "";
	size_t len;
	unsigned char *img = read_all(path, &len);

	cr_assert(a && b);
	cr_assert_eq(load(a, img, len, path, err, sizeof(err)), 0, "%s: %s", path, err);
	cr_assert_eq(wsp_model_pack(a), 0);
	cr_assert_eq(wsp_model_drop_fp32(a), 0);
	b->stream_int8 = 1;
	cr_assert_eq(load(b, img, len, path, err, sizeof(err)), 0, "%s (INT8 only): %s", path, err);
	wsp_model_stream_done(b);
	model_eq(a, b);
	wsp_model_free(a);
	wsp_model_free(b);
	free(img);
}

Test(model_stream, ct2_seeds_pack_the_same_bytes)
{
	seed_both_ways("fuzz/seeds/toy_f32.bin", wsp_load_ct2_mem);
	seed_both_ways("fuzz/seeds/toy_f16.bin", wsp_load_ct2_mem);
	seed_both_ways("fuzz/seeds/toy_i8.bin", wsp_load_ct2_mem);
}

Test(model_stream, ggml_seeds_pack_the_same_bytes)
{
	seed_both_ways("fuzz/seeds/toy.ggml", wsp_load_ggml_mem);
	seed_both_ways("fuzz/seeds/toy_q8_0.ggml", wsp_load_ggml_mem);
	seed_both_ways("fuzz/seeds/toy_q4_1.ggml", wsp_load_ggml_mem);
}

Test(model_stream, safetensors_seed_packs_the_same_bytes)
{
	seed_both_ways("fuzz/seeds/toy.safetensors", wsp_load_safetensors_mem);
}

/* A cut image fails the streamed load where it fails the float one, with a message. */
Test(model_stream, truncated_images_fail_as_on_the_float_path)
{
	static const struct { const char *path; load_mem_fn load; } seeds[] = {
		{ "fuzz/seeds/toy_i8.bin", wsp_load_ct2_mem },
		{ "fuzz/seeds/toy_q8_0.ggml", wsp_load_ggml_mem },
		{ "fuzz/seeds/toy.safetensors", wsp_load_safetensors_mem },
	};

	for (size_t s = 0; s < sizeof(seeds) / sizeof(seeds[0]); s++) {
		size_t len;
		unsigned char *img = read_all(seeds[s].path, &len);

		for (size_t cut = 0; cut < len; cut += len / 97 + 1) {
			struct wsp_model *a = calloc(1, sizeof(*a)), *b = calloc(1, sizeof(*b));
			unsigned char *copy = malloc(cut ? cut : 1);
			char ea[512] = "", eb[512] = "";
			int ra, rb;

			memcpy(copy, img, cut);
			b->stream_int8 = 1;
			ra = seeds[s].load(a, copy, cut, "cut", ea, sizeof(ea));
			rb = seeds[s].load(b, copy, cut, "cut", eb, sizeof(eb));
			cr_expect_eq(rb, ra, "%s cut at %zu: %d streamed, %d on floats (%s)",
				     seeds[s].path, cut, rb, ra, eb);
			cr_expect(rb == 0 || eb[0], "%s cut at %zu: no message", seeds[s].path, cut);
			wsp_model_free(a);
			wsp_model_free(b);
			free(copy);
		}
		free(img);
	}
}

static int have_tiny(void)
{
	return access("models/tiny.en/model.bin", R_OK) == 0;
}

Test(model_stream, tiny_en_public_calls_give_the_same_model)
{
	struct wsp_model *a, *b;
	char err[512];

	if (!have_tiny())
		cr_skip_test("no models/tiny.en");
	cr_assert_eq(wsp_model_load(&a, "models/tiny.en", err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(wsp_model_drop_fp32(a), 0);
	cr_assert_eq(wsp_model_load_int8(&b, "models/tiny.en", err, sizeof(err)), 0, "%s", err);
	cr_expect_not(wsp_model_has_fp32(b));
	model_eq(a, b);
	wsp_model_free(a);
	wsp_model_free(b);
}

/*
 * tiny.en as q8_0, q4_0 and q4_1 ggml files (scripts/ggml_quantize.py):
 * packings with K blocks of 32 on both paths, the same bytes (q8_0 and
 * q4_0 their integers as they are, q4_1 from its floats), and the
 * embedding rows stay the file's blocks.
 */
Test(model_stream, tiny_en_int8_block_files_pack_the_same_bytes, .timeout = 600)
{
	static const char *types[] = { "q8_0", "q4_0", "q4_1" };
	char dir[] = "/tmp/amn_stream_q_XXXXXX", cmd[1024], path[256], err[512];

	if (!have_tiny())
		cr_skip_test("no models/tiny.en");
	if (system("python3 -c 'import numpy' >/dev/null 2>&1") != 0)
		cr_skip_test("python3 with numpy not available");
	cr_assert_not_null(mkdtemp(dir));
	snprintf(cmd, sizeof(cmd), "python3 scripts/ct2_to_ggml.py models/tiny.en %s/f16.bin "
		 ">/dev/null", dir);
	cr_assert_eq(system(cmd), 0, "%s", cmd);
	for (size_t t = 0; t < sizeof(types) / sizeof(types[0]); t++) {
		struct wsp_model *a, *b;

		snprintf(path, sizeof(path), "%s/%s.bin", dir, types[t]);
		snprintf(cmd, sizeof(cmd), "python3 scripts/ggml_quantize.py %s/f16.bin %s %s "
			 "2>/dev/null", dir, path, types[t]);
		cr_assert_eq(system(cmd), 0, "%s", cmd);
		cr_assert_eq(wsp_model_load(&a, path, err, sizeof(err)), 0, "%s", err);
		cr_assert_eq(wsp_model_drop_fp32(a), 0);
		cr_assert_eq(wsp_model_load_int8(&b, path, err, sizeof(err)), 0, "%s", err);
		cr_expect_eq(tile_weights_kblock(b->enc[0].fc1.q), 32, "%s: fc1 K block", types[t]);
		cr_expect_eq(tile_weights_kblock(b->dec[0].self_qkv.q), 32, "%s", types[t]);
		cr_expect_eq(tile_weights_kblock(b->conv1.q), 128, "%s: conv1 stays f16",
			     types[t]);
		cr_expect_not_null(b->tok_emb_raw, "%s: embedding rows as blocks", types[t]);
		model_eq(a, b);
		wsp_model_free(a);
		wsp_model_free(b);
		unlink(path);
	}
	snprintf(path, sizeof(path), "%s/f16.bin", dir);
	unlink(path);
	rmdir(dir);
}

/* Peak RSS (kB) of a child that loads @path one way or the other. */
static long child_peak_kb(const char *path, int int8_only)
{
	struct rusage ru;
	int st;
	pid_t pid = fork();

	cr_assert_geq(pid, 0);
	if (pid == 0) {
		struct wsp_model *m;
		char err[512];
		int ret = int8_only ? wsp_model_load_int8(&m, path, err, sizeof(err))
				    : wsp_model_load(&m, path, err, sizeof(err));

		if (!ret && !int8_only)
			ret = wsp_model_drop_fp32(m);
		_exit(ret ? 1 : 0);
	}
	cr_assert_eq(wait4(pid, &st, 0, &ru), pid);
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "the child failed to load %s", path);
	return ru.ru_maxrss;
}

/*
 * The INT8-only load never holds the floats: its peak is the packed model
 * (~40 MB on tiny.en, its f16 embedding rows ~40 MB) plus slabs, against
 * the file, the floats and the packing together on the old path.
 */
Test(model_stream, int8_only_load_peak_is_below_the_float_path)
{
	long old_kb, new_kb;

	if (!have_tiny())
		cr_skip_test("no models/tiny.en");
#ifdef __SANITIZE_ADDRESS__
	/* ASan's shadow and quarantine grow the resident set by tens of MB */
	cr_skip_test("peak RSS bounds do not hold under AddressSanitizer");
#endif
	old_kb = child_peak_kb("models/tiny.en", 0);
	new_kb = child_peak_kb("models/tiny.en", 1);
	cr_log_info("tiny.en load peak: %ld kB loading floats, %ld kB INT8 only", old_kb, new_kb);
	cr_expect_lt(new_kb, old_kb / 2, "INT8-only peak %ld kB, float path %ld kB", new_kb,
		     old_kb);
	cr_expect_lt(new_kb, 120 * 1024, "INT8-only peak %ld kB", new_kb);
}

/* Packing slab by slab (odd slab sizes, panel edges crossed) equals packing whole. */
Test(model_stream, tiler_slabs_pack_the_same_bytes)
{
	enum { K = 300, N = 203 };
	float *w = malloc((size_t)K * N * sizeof(float));
	struct tile_weights *whole, *slabs;
	static const int cut[] = { 0, 1, 17, 64, 65, 130, 202, N };
	unsigned s = 12345;

	cr_assert_not_null(w);
	for (size_t i = 0; i < (size_t)K * N; i++) {
		s = s * 1103515245u + 12345u;
		w[i] = ((float)(s >> 8) / 16777216.0f - 0.5f) * (i % 97 == 0 ? 9.0f : 1.0f);
	}
	cr_assert_eq(tile_weights_pack_f32(&whole, w, K, N, K, TILE_W_ROW_MAJOR_NK), 0);
	cr_assert_eq(tile_weights_alloc_f32(&slabs, K, N), 0);
	for (size_t i = 0; i + 1 < sizeof(cut) / sizeof(cut[0]); i++)
		cr_assert_eq(tile_weights_pack_rows_f32(slabs, cut[i], cut[i + 1] - cut[i],
							w + (size_t)cut[i] * K, K), 0);
	tw_eq(whole, slabs, "slabs");
	cr_expect_eq(tile_weights_pack_rows_f32(slabs, N - 1, 2, w, K), -EINVAL);
	cr_expect_eq(tile_weights_pack_rows_f32(slabs, 0, 1, w, K - 1), -EINVAL);
	/* a column read back is what the matmul sees: within half a step of the value */
	for (int n = 0; n < N; n += 50) {
		float col[K];

		cr_assert_eq(tile_weights_column_f32(whole, n, col), 0);
		for (int k = 0; k < K; k++) {
			float step = whole->sb[(size_t)(k / whole->kb) * whole->np + n];

			float v = w[(size_t)n * K + k];

			/* values past a clipped scale saturate at 127 steps */
			cr_expect(fabsf(col[k] - v) <= 0.5f * step + 1e-6f || fabsf(v) > 127.0f * step,
				  "column %d, k %d: %g for %g", n, k, col[k], v);
		}
	}
	cr_expect_eq(tile_weights_column_f32(whole, N, (float[K]){ 0 }), -EINVAL);
	tile_weights_free(whole);
	tile_weights_free(slabs);
	free(w);
}
