/* SPDX-License-Identifier: MIT */
/* tiler/tile_weights.c - quantize and pack weight matrices once. */
#include <errno.h>
#include <math.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "tiler/tile.h"
#include "tiler/tile_internal.h"
#include "tiler/tile_pool.h"

/* Ids start at 1; 0 never names weights. */
static _Atomic uint64_t next_id = 1;

uint64_t tile_weights_new_id(void)
{
	return atomic_fetch_add_explicit(&next_id, 1, memory_order_relaxed);
}

static int weights_alloc(struct tile_weights **out, int K, int N, int kb)
{
	struct tile_weights *w;

	w = calloc(1, sizeof(*w));
	if (!w)
		return -ENOMEM;
	w->id = tile_weights_new_id();
	w->K = K;
	w->N = N;
	w->kp = (K + 3) & ~3;
	w->np = (N + TILE_PANEL - 1) / TILE_PANEL * TILE_PANEL;
	w->ldb = TILE_PANEL * 4;
	w->pstride = (size_t)(w->kp / 4) * w->ldb;
	w->kb = kb ? kb : (w->kp ? w->kp : 4);
	w->f32 = kb != 0;
	w->nkb = (w->kp + w->kb - 1) / w->kb;
	w->b = aligned_alloc(64, (size_t)(w->np / TILE_PANEL) * w->pstride + 64);
	w->sb = calloc((size_t)(w->nkb ? w->nkb : 1) * w->np + 16, sizeof(float));
	if (!w->b || !w->sb)
		goto err;
	memset(w->b, 128, (size_t)(w->np / TILE_PANEL) * w->pstride + 64);
	*out = w;
	return 0;
err:
	tile_weights_free(w);
	return -ENOMEM;
}

static void put(struct tile_weights *w, int k, int n, int8_t v)
{
	w->b[(size_t)(n / TILE_PANEL) * w->pstride + (size_t)(k / 4) * w->ldb +
	     (size_t)(n % TILE_PANEL) * 4 + k % 4] = (uint8_t)(v + 128);
}

static int check(void *out, const void *src, int K, int N, size_t ldw, unsigned flags)
{
	if (!out || K < 0 || N < 0 || flags > TILE_W_ROW_MAJOR_NK) {
		fprintf(stderr, "tile: bad weight shape or flags (K=%d N=%d flags=%u)\n",
			K, N, flags);
		return -EINVAL;
	}
	if (K && N && (!src || ldw < (size_t)(flags ? K : N))) {
		fprintf(stderr, "tile: NULL weights or ldw %zu too small\n", ldw);
		return -EINVAL;
	}
	return 0;
}

int tile_weights_pack_s8(struct tile_weights **out, const int8_t *src,
			 int K, int N, size_t ldw, unsigned flags)
{
	struct tile_weights *w;
	int ret = check(out, src, K, N, ldw, flags);

	if (ret)
		return ret;
	ret = weights_alloc(&w, K, N, 0);
	if (ret)
		return ret;
	for (int n = 0; n < N; n++) {
		w->sb[n] = 1.0f;
		for (int k = 0; k < K; k++)
			put(w, k, n, flags ? src[(size_t)n * ldw + k] : src[(size_t)k * ldw + n]);
	}
	*out = w;
	return 0;
}

static float wval(const float *src, int k, int n, size_t ldw, unsigned flags)
{
	return flags ? src[(size_t)n * ldw + k] : src[(size_t)k * ldw + n];
}

static int8_t quant(float v, float inv)
{
	long q = lrintf(v * inv);

	return (int8_t)(q > 127 ? 127 : q < -127 ? -127 : q);
}

/*
 * quant() as a float, inline: adding and subtracting 1.5 * 2^23 rounds to
 * the nearest integer, ties to even, exactly as lrintf() does in the default
 * rounding mode for |x| < 2^22 (the scaled weights stay below 200).
 */
static float quant_f(float v, float inv)
{
	float q = v * inv + 12582912.0f;

	q -= 12582912.0f;
	return q > 127.0f ? 127.0f : q < -127.0f ? -127.0f : q;
}

#define CLIP_STEPS 9

/*
 * Quantize column @n over k in [@k0, @k1) into @w, reading it from column
 * @sn of @src; return its scale: the max-abs scale or one of eight tighter
 * clips (down to 0.68 of the maximum), whichever gives the lowest squared
 * error. The candidates' errors are
 * summed side by side (independent chains, each in k order).
 */
static float pack_block(struct tile_weights *w, const float *src, int k0, int k1,
			int n, int sn, size_t ldw, unsigned flags)
{
	float col[TILE_KBLOCK], s[CLIP_STEPS], inv[CLIP_STEPS], mx = 0.0f, best = 0.0f;
	double err[CLIP_STEPS] = { 0 }, best_err = -1.0;
	int len = k1 - k0, steps = 0;

	for (int k = 0; k < len; k++) {
		col[k] = wval(src, k0 + k, sn, ldw, flags);
		mx = fabsf(col[k]) > mx ? fabsf(col[k]) : mx;
	}
	for (; steps < CLIP_STEPS; steps++) {
		s[steps] = mx * (1.0f - 0.04f * steps) / 127.0f;
		if (s[steps] <= 0.0f)
			break;
		inv[steps] = 1.0f / s[steps];
	}
	for (int k = 0; k < len; k++)
		for (int st = 0; st < steps; st++) {
			double d = col[k] - quant_f(col[k], inv[st]) * s[st];

			err[st] += d * d;
		}
	for (int st = 0; st < steps; st++)
		if (best_err < 0.0 || err[st] < best_err) {
			best_err = err[st];
			best = s[st];
		}
	for (int k = 0; k < len; k++)
		put(w, k0 + k, n, quant(col[k], best > 0.0f ? 1.0f / best : 0.0f));
	return best;
}

#define PACK_COLS 16  /* columns per parallel item */

/*
 * Columns [@n0, @n1) of @w from @src. @src's column 0 is @w's column @n0
 * (the whole matrix when @n0 is 0; a slab of rows of a [out, in] weight
 * when a loader packs it piece by piece).
 */
struct pack_job {
	struct tile_weights *w;
	const float *src;
	size_t ldw;
	unsigned flags;
	int n0, n1;
};

/* One column of @w, from column @n - pj->n0 of pj->src: a column's packing
 * reads that column alone, so packing in slabs gives the same bytes. */
static void pack_col(const struct pack_job *pj, int n)
{
	struct tile_weights *w = pj->w;

	for (int j = 0; j < w->nkb; j++) {
		int k0 = j * w->kb, k1 = k0 + w->kb < w->K ? k0 + w->kb : w->K;

		w->sb[(size_t)j * w->np + n] = pack_block(w, pj->src, k0, k1, n, n - pj->n0,
							  pj->ldw, pj->flags);
	}
}

static void pack_cols(void *arg, int item, int worker)
{
	struct pack_job *pj = arg;
	int n = pj->n0 + item * PACK_COLS;
	int n1 = n + PACK_COLS < pj->n1 ? n + PACK_COLS : pj->n1;

	(void)worker;
	for (; n < n1; n++)
		pack_col(pj, n);
}

/* Pack columns [pj->n0, pj->n1) on the default pool, or here without one. */
static void pack_range(struct pack_job *pj)
{
	int items = (pj->n1 - pj->n0 + PACK_COLS - 1) / PACK_COLS;
	struct tile_pool *pool = pj->w->K ? tile_pool_default() : NULL;

	if (pool)
		tile_pool_for(pool, items, 0, pack_cols, pj);
	else
		for (int i = 0; i < items; i++)
			pack_cols(pj, i, 0);
}

int tile_weights_pack_f32(struct tile_weights **out, const float *src,
			  int K, int N, size_t ldw, unsigned flags)
{
	struct tile_weights *w;
	struct pack_job pj = { .src = src, .ldw = ldw, .flags = flags, .n0 = 0, .n1 = N };
	int ret = check(out, src, K, N, ldw, flags);

	if (ret)
		return ret;
	ret = weights_alloc(&w, K, N, TILE_KBLOCK);
	if (ret)
		return ret;
	pj.w = w;
	pack_range(&pj);
	*out = w;
	return 0;
}

int tile_weights_alloc_f32(struct tile_weights **out, int K, int N)
{
	if (!out || K < 0 || N < 0) {
		fprintf(stderr, "tile: bad weight shape (K=%d N=%d)\n", K, N);
		return -EINVAL;
	}
	return weights_alloc(out, K, N, TILE_KBLOCK);
}

int tile_weights_alloc_f32_kb(struct tile_weights **out, int K, int N, int kb)
{
	if (!out || K < 0 || N < 0 || kb < 4 || kb > TILE_KBLOCK || kb % 4) {
		fprintf(stderr, "tile: bad weight shape or K block (K=%d N=%d kb=%d)\n", K, N, kb);
		return -EINVAL;
	}
	return weights_alloc(out, K, N, kb);
}

int tile_weights_pack_rows_s8_blocks(struct tile_weights *w, int n0, int rows,
				     const int8_t *q, size_t ldq, const float *scale,
				     size_t lds)
{
	if (!w || !w->f32 || w->borrowed || n0 < 0 || rows < 0 || rows > w->N - n0 ||
	    (rows && w->K && (!q || !scale || ldq < (size_t)w->K || lds < (size_t)w->nkb))) {
		fprintf(stderr, "tile: bad int8 row slab (n0=%d rows=%d ldq=%zu lds=%zu)\n",
			n0, rows, ldq, lds);
		return -EINVAL;
	}
	if (!w->K)
		return 0;
	for (int i = 0; i < rows; i++)
		for (int j = 0; j < w->nkb; j++) {
			float sc = scale[(size_t)i * lds + j];

			if (!isfinite(sc)) {
				fprintf(stderr, "tile: row %d block %d: scale %g is not finite\n",
					n0 + i, j, (double)sc);
				return -EINVAL;
			}
		}
	for (int i = 0; i < rows; i++) {
		int n = n0 + i;

		for (int j = 0; j < w->nkb; j++)
			w->sb[(size_t)j * w->np + n] = scale[(size_t)i * lds + j];
		for (int k = 0; k < w->K; k++)
			put(w, k, n, q[(size_t)i * ldq + k]);
	}
	return 0;
}

int tile_weights_kblock(const struct tile_weights *w)
{
	return w ? w->kb : 0;
}

int tile_weights_pack_rows_f32(struct tile_weights *w, int n0, int rows, const float *src,
			       size_t ldw)
{
	struct pack_job pj = { .w = w, .src = src, .ldw = ldw, .flags = TILE_W_ROW_MAJOR_NK,
			       .n0 = n0, .n1 = n0 + rows };

	if (!w || !w->f32 || w->borrowed || n0 < 0 || rows < 0 ||
	    rows > w->N - n0 || (rows && w->K && (!src || ldw < (size_t)w->K))) {
		fprintf(stderr, "tile: bad row slab (n0=%d rows=%d ldw=%zu)\n", n0, rows, ldw);
		return -EINVAL;
	}
	pack_range(&pj);
	return 0;
}

int tile_weights_column_f32(const struct tile_weights *w, int n, float *dst)
{
	const uint8_t *col;

	if (!w || n < 0 || n >= w->N || (w->K && !dst))
		return -EINVAL;
	col = tile_wcol(w, n);
	for (int k = 0; k < w->K; k++) {
		int q = (int)col[(size_t)(k / 4) * w->ldb + k % 4] - 128;

		dst[k] = (float)q * w->sb[(size_t)(k / w->kb) * w->np + n];
	}
	return 0;
}

void tile_weights_free(struct tile_weights *w)
{
	if (!w)
		return;
	if (!w->borrowed) {
		free(w->b);
		free(w->sb);
	}
	free(w);
}

uint64_t tile_weights_id(const struct tile_weights *w)
{
	return w ? w->id : 0;
}

int tile_weights_k(const struct tile_weights *w)
{
	return w ? w->K : 0;
}

int tile_weights_n(const struct tile_weights *w)
{
	return w ? w->N : 0;
}
