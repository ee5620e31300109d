// SPDX-License-Identifier: MIT
/*
 * whisper/nn/ops_attn.c - scaled dot-product attention for the encoder and
 * decoder, fused per (head, block of query rows): scores against keys
 * transposed once per head, softmax, values, all in fp32 and in cache.
 *
 * Scores and values stay in fp32 on both precisions: they are products of two
 * activations (no constant weight to pack once). The AVX-512 form of a block
 * is in ops_avx512.c; the loops here are the portable form.
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>

#include "tiler/tile_pool.h"
#include "whisper/nn/ops.h"

void nn_attn_transpose_k(const struct nn_attn *a, int h, float *kt, size_t ldkt)
{
	const float *k = a->k + (size_t)h * a->hd;

	/* blocks of 16 keys keep both sides in cache lines */
	for (int j0 = 0; j0 < a->n_kv; j0 += 16) {
		int j1 = j0 + 16 < a->n_kv ? j0 + 16 : a->n_kv;

		for (int c = 0; c < a->hd; c++)
			for (int j = j0; j < j1; j++)
				kt[(size_t)c * ldkt + j] = k[(size_t)j * a->ldk + c];
	}
}

void nn_attn_pack_k_strips(const struct nn_attn *a, int h, float *kt)
{
	const float *k = a->k + (size_t)h * a->hd;
	struct nn_attn sa = { .hd = a->hd, .kt_strips = 1 };

	for (int j = 0; j < a->n_kv; j++)
		for (int c = 0; c < a->hd; c++)
			kt[nn_attn_kt_at(&sa, 0, c, j)] = k[(size_t)j * a->ldk + c];
}

static void block_generic(const struct nn_attn *a, int h, int q0, int nq,
			  const float *kt, size_t ldkt, float *s)
{
	const float *q = a->q + (size_t)q0 * a->ldq + (size_t)h * a->hd;
	const float *v = nn_attn_v(a, h);
	const float *kt_lo = a->kv_split ? a->kt_lo + (size_t)h * a->hd * ldkt : NULL;
	const float *v_lo = a->kv_split ? nn_attn_v_lo(a, h) : NULL;
	float *out = a->out + (size_t)q0 * a->ldo + (size_t)h * a->hd;
	float scale = 1.0f / sqrtf((float)a->hd);
	int keep0 = a->n_kv - a->n_q + q0 + 1;
	int ncols = a->causal ? keep0 + nq - 1 : a->n_kv;

	if (ncols > a->n_kv)
		ncols = a->n_kv;
	for (int r = 0; r < nq; r++) {
		float *sr = s + (size_t)r * ldkt;
		float *o = out + (size_t)r * a->ldo;

		for (int j = 0; j < ncols; j++)
			sr[j] = 0.0f;
		for (int c = 0; c < a->hd; c++) {
			float qc = q[(size_t)r * a->ldq + c];
			for (int j = 0; j < ncols; j++)
				sr[j] += qc * (j < a->kv_split ? kt_lo : kt)[nn_attn_kt_at(a, ldkt, c, j)];
		}
		nn_softmax_rows(sr, 1, ncols, ldkt, scale, a->causal, keep0 + r);
		for (int c = 0; c < a->hd; c++)
			o[c] = 0.0f;
		for (int j = 0; j < ncols; j++) {
			const float *vr = (j < a->kv_split ? v_lo : v) + (size_t)j * a->ldv;
			float p = sr[j];

			for (int c = 0; c < a->hd; c++)
				o[c] += p * vr[c];
		}
	}
}

void nn_attn_block(const struct nn_attn *a, int h, int q0, int nq,
		    const float *kt, size_t ldkt, float *s)
{
	if (a->hd == 64 && nn_have_avx512())
		nn_attn_block_avx512(a, h, q0, nq, kt, ldkt, s);
	else
		block_generic(a, h, q0, nq, kt, ldkt, s);
}

struct attn_call {
	const struct nn_attn *a;
	float *kt;          /* transposed keys, n_head × hd × ldkt */
	uint32_t *kt2, *v2; /* bf16: n_head × hd/2 × ldkt and n_head × (n_kv+1)/2 × hd */
	size_t v2_head;     /* words per head in v2 */
	size_t ldkt;
	float *scratch;     /* per worker: qb × ldkt */
	int nqb, qb;        /* query blocks per head, rows per block */
};

static void transpose_item(void *arg, int h, int worker)
{
	struct attn_call *c = arg;

	(void)worker;
	if (c->a->bf16)
		nn_attn_pack_bf16(c->a, h, c->kt2 + (size_t)h * c->a->hd / 2 * c->ldkt, c->ldkt,
				   c->v2 + h * c->v2_head);
	else
		nn_attn_transpose_k(c->a, h, c->kt + (size_t)h * c->a->hd * c->ldkt, c->ldkt);
}

static void block_item(void *arg, int i, int worker)
{
	struct attn_call *c = arg;
	const struct nn_attn *a = c->a;
	int h = i / c->nqb, q0 = (i % c->nqb) * NN_ATTN_QBLOCK;
	int nq = a->n_q - q0 < NN_ATTN_QBLOCK ? a->n_q - q0 : NN_ATTN_QBLOCK;

	float *s = c->scratch + (size_t)worker * c->qb * c->ldkt;

	if (a->bf16)
		nn_attn_block_bf16(a, h, q0, nq, c->kt2 + (size_t)h * a->hd / 2 * c->ldkt, c->ldkt,
				    c->v2 + h * c->v2_head, s);
	else if (a->kt_i16)
		nn_attn_block_compact_avx512(a, h, q0, nq, s);
	else
		nn_attn_block(a, h, q0, nq, c->kt + (size_t)h * a->hd * c->ldkt, c->ldkt, s);
}

/* Run @fn over @count items on the tiler's pool, or inline for one thread. */
static void run_items(int count, int threads, tile_pool_fn *fn, void *arg)
{
	struct tile_pool *pool = threads > 1 ? tile_pool_default() : NULL;

	if (pool && threads > tile_pool_threads(pool))
		threads = tile_pool_threads(pool);
	if (!pool || threads <= 1 || count <= 1) {
		for (int i = 0; i < count; i++)
			fn(arg, i, 0);
		return;
	}
	tile_pool_for(pool, count, threads, fn, arg);
}

int nn_attention(const struct nn_attn *a, int threads)
{
	struct attn_call c = { .a = a };
	float *own_kt = NULL;
	struct tile_pool *pool;

	if (a->n_q <= 0 || a->n_kv <= 0)
		return 0;
	/* compact keys and values: one AVX-512 form, on the strip layout */
	if (a->kt_i16 && (!a->v_f16 || !a->k_scale || a->hd != 64 || !a->kt_strips ||
			  a->kv_split || a->bf16 || !nn_have_avx512()))
		return -EINVAL;
	c.nqb = (a->n_q + NN_ATTN_QBLOCK - 1) / NN_ATTN_QBLOCK;
	if (threads > a->n_head * c.nqb)
		threads = a->n_head * c.nqb;
	pool = threads > 1 ? tile_pool_default() : NULL;
	if (!pool)
		threads = 1;
	else if (threads > tile_pool_threads(pool))
		threads = tile_pool_threads(pool);
	if (a->bf16) {
		c.ldkt = nn_attn_ld(a->n_kv);
		c.v2_head = (size_t)(a->n_kv + 1) / 2 * a->hd;
		c.kt2 = malloc(((size_t)a->n_head * a->hd / 2 * c.ldkt +
				a->n_head * c.v2_head) * sizeof(uint32_t));
		if (!c.kt2)
			return -ENOMEM;
		c.v2 = c.kt2 + (size_t)a->n_head * a->hd / 2 * c.ldkt;
		own_kt = (float *)c.kt2;
	} else if (a->kt_i16) {
		c.ldkt = a->ldkt;
	} else if (a->kt) {
		c.kt = (float *)a->kt;
		c.ldkt = a->ldkt;
	} else {
		c.ldkt = nn_attn_ld(a->n_kv);
		own_kt = malloc((size_t)a->n_head * a->hd * c.ldkt * sizeof(float));
		if (!own_kt)
			return -ENOMEM;
		c.kt = own_kt;
	}
	c.qb = a->n_q < NN_ATTN_QBLOCK ? a->n_q : NN_ATTN_QBLOCK;
	c.scratch = malloc((size_t)threads * c.qb * c.ldkt * sizeof(float));
	if (!c.scratch) {
		free(own_kt);
		return -ENOMEM;
	}
	if (own_kt)
		run_items(a->n_head, threads, transpose_item, &c);
	run_items(a->n_head * c.nqb, threads, block_item, &c);
	free(c.scratch);
	free(own_kt);
	return 0;
}
