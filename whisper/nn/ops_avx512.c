// SPDX-License-Identifier: MIT
/*
 * whisper/nn/ops_avx512.c - AVX-512 forms of the forward pass's CPU operations:
 * layer norm, GELU, and one attention block (scores, softmax and values for
 * a few query rows of one head) with the exp evaluated 16 lanes at a time.
 *
 * Built with AVX-512 flags (the file name says so to the Makefile); called
 * only when the CPU has AVX-512F (nn_have_avx512()). Same results as the
 * portable loops in ops.c / ops_attn.c up to float rounding order.
 */
#include <immintrin.h>
#include <math.h>

#include "whisper/nn/ops.h"

/* exp(x) on 16 lanes: 2^n · p(r), the same polynomial as nn_expf(). */
static inline __m512 exp16(__m512 x)
{
	__m512 n, r, p;

	x = _mm512_max_ps(x, _mm512_set1_ps(-87.0f));
	x = _mm512_min_ps(x, _mm512_set1_ps(88.0f));
	n = _mm512_roundscale_ps(_mm512_mul_ps(x, _mm512_set1_ps(1.44269504088896341f)),
				 _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
	r = _mm512_fnmadd_ps(n, _mm512_set1_ps(0.693145751953125f), x);
	r = _mm512_fnmadd_ps(n, _mm512_set1_ps(1.428606765330187e-06f), r);
	p = _mm512_set1_ps(1.0f / 5040.0f);
	p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f / 720.0f));
	p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f / 120.0f));
	p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f / 24.0f));
	p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f / 6.0f));
	p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(0.5f));
	p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f));
	p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f));
	return _mm512_scalef_ps(p, n);
}

static inline __mmask16 tail_mask(int left)
{
	return left >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << left) - 1);
}

void nn_layer_norm_avx512(float *y, const float *x, const float *g, const float *b,
			   int rows, int d)
{
	for (int r = 0; r < rows; r++) {
		const float *xr = x + (size_t)r * d;
		float *yr = y + (size_t)r * d;
		__m512 s = _mm512_setzero_ps(), v = _mm512_setzero_ps(), mv, iv;
		float mean, inv;

		for (int i = 0; i < d; i += 16)
			s = _mm512_add_ps(s, _mm512_maskz_loadu_ps(tail_mask(d - i), xr + i));
		mean = _mm512_reduce_add_ps(s) / (float)d;
		mv = _mm512_set1_ps(mean);
		for (int i = 0; i < d; i += 16) {
			__mmask16 k = tail_mask(d - i);
			__m512 t = _mm512_maskz_sub_ps(k, _mm512_maskz_loadu_ps(k, xr + i), mv);

			v = _mm512_fmadd_ps(t, t, v);
		}
		inv = 1.0f / sqrtf(_mm512_reduce_add_ps(v) / (float)d + 1e-5f);
		iv = _mm512_set1_ps(inv);
		for (int i = 0; i < d; i += 16) {
			__mmask16 k = tail_mask(d - i);
			__m512 t = _mm512_mul_ps(_mm512_sub_ps(_mm512_maskz_loadu_ps(k, xr + i), mv), iv);

			t = _mm512_fmadd_ps(t, _mm512_maskz_loadu_ps(k, g + i),
					    _mm512_maskz_loadu_ps(k, b + i));
			_mm512_mask_storeu_ps(yr + i, k, t);
		}
	}
}

/* x · 0.5 · (1 + erf(x / sqrt 2)), erf by Abramowitz & Stegun 7.1.26. */
static inline __m512 gelu16(__m512 x)
{
	__m512 z = _mm512_mul_ps(x, _mm512_set1_ps(0.70710678118654752f));
	__m512 a = _mm512_abs_ps(z);
	__m512 t = _mm512_div_ps(_mm512_set1_ps(1.0f),
				 _mm512_fmadd_ps(a, _mm512_set1_ps(0.3275911f), _mm512_set1_ps(1.0f)));
	__m512 p = _mm512_set1_ps(1.061405429f);
	__m512 e;

	p = _mm512_fmadd_ps(p, t, _mm512_set1_ps(-1.453152027f));
	p = _mm512_fmadd_ps(p, t, _mm512_set1_ps(1.421413741f));
	p = _mm512_fmadd_ps(p, t, _mm512_set1_ps(-0.284496736f));
	p = _mm512_fmadd_ps(p, t, _mm512_set1_ps(0.254829592f));
	p = _mm512_mul_ps(p, t);
	e = _mm512_fnmadd_ps(p, exp16(_mm512_sub_ps(_mm512_setzero_ps(), _mm512_mul_ps(a, a))),
			     _mm512_set1_ps(1.0f));
	/* erf is odd: copy z's sign onto e */
	e = _mm512_castsi512_ps(_mm512_or_si512(_mm512_castps_si512(e),
		_mm512_and_si512(_mm512_castps_si512(z), _mm512_set1_epi32((int)0x80000000u))));
	return _mm512_mul_ps(_mm512_mul_ps(x, _mm512_set1_ps(0.5f)),
			     _mm512_add_ps(e, _mm512_set1_ps(1.0f)));
}

void nn_gelu_avx512(float *x, size_t n)
{
	size_t i = 0;

	for (; i + 16 <= n; i += 16)
		_mm512_storeu_ps(x + i, gelu16(_mm512_loadu_ps(x + i)));
	if (i < n) {
		__mmask16 k = tail_mask((int)(n - i));

		_mm512_mask_storeu_ps(x + i, k, gelu16(_mm512_maskz_loadu_ps(k, x + i)));
	}
}

void nn_add_avx512(float *y, const float *x, size_t n)
{
	size_t i = 0;

	for (; i + 16 <= n; i += 16)
		_mm512_storeu_ps(y + i, _mm512_add_ps(_mm512_loadu_ps(y + i), _mm512_loadu_ps(x + i)));
	if (i < n) {
		__mmask16 k = tail_mask((int)(n - i));

		_mm512_mask_storeu_ps(y + i, k, _mm512_add_ps(_mm512_maskz_loadu_ps(k, y + i),
							      _mm512_maskz_loadu_ps(k, x + i)));
	}
}

/*
 * Query rows per register tile of the fp32 attention block: 6 rows × 64
 * columns are 24 accumulators (plus 4 key or value vectors and a broadcast,
 * 29 of the 32 zmm registers), so the 5 beams of a window take one pass over
 * the cross-attention keys and values, which are the same for every beam and
 * come from memory (1500 positions × d floats per layer), instead of two
 * (4 rows, then 1). Each row's sums run in the same order for any tile
 * height, so the result does not depend on it.
 */
#define ATTN_TILE_ROWS 6

/* Element forms of keys and values: floats, IEEE half floats, int16. */
enum { EL_F32, EL_F16, EL_I16 };

/*
 * 16 keys or values from @p + @i elements of form @el, as floats (half
 * floats by vcvtph2ps, int16 by sign extension and vcvtdq2ps: both exact);
 * lanes outside @k read as 0. @el is a constant at every call, so each form
 * compiles to its own one- to three-instruction load.
 */
static inline __attribute__((always_inline)) __m512
load16(const void *p, size_t i, __mmask16 k, int el)
{
	if (el == EL_F16)
		return _mm512_cvtph_ps(_mm256_maskz_loadu_epi16(k, (const uint16_t *)p + i));
	if (el == EL_I16)
		return _mm512_cvtepi32_ps(_mm512_cvtepi16_epi32(
				_mm256_maskz_loadu_epi16(k, (const int16_t *)p + i)));
	return _mm512_maskz_loadu_ps(k, (const float *)p + i);
}

/*
 * Scores for R (1..ATTN_TILE_ROWS) query rows against 64 key columns:
 * s[r][0..63] = sum_k q[r][k] · kt[k·ldk + 0..63], columns from @left on
 * masked (not read, not written). @kt points at the strip's first column
 * (elements of form @el): in the plain transposed layout ldk is the
 * matrix's leading dimension, in the strip layout (struct
 * nn_attn.kt_strips) the strip is hd × 64 contiguous elements and ldk is 64.
 */
static inline __attribute__((always_inline)) void
qk_tile(int R, const float *q, size_t ldq, const void *kt, size_t ldk, int hd,
	int left, float *s, size_t lds, int el)
{
	__m512 acc[ATTN_TILE_ROWS][4];
	__mmask16 mk[4];

	for (int v = 0; v < 4; v++)
		mk[v] = 16 * v < left ? tail_mask(left - 16 * v) : 0;
	for (int r = 0; r < R; r++)
		for (int v = 0; v < 4; v++)
			acc[r][v] = _mm512_setzero_ps();
	for (int k = 0; k < hd; k++) {
		size_t kr = (size_t)k * ldk;
		__m512 b0 = load16(kt, kr, mk[0], el);
		__m512 b1 = load16(kt, kr + 16, mk[1], el);
		__m512 b2 = load16(kt, kr + 32, mk[2], el);
		__m512 b3 = load16(kt, kr + 48, mk[3], el);

		for (int r = 0; r < R; r++) {
			__m512 a = _mm512_set1_ps(q[(size_t)r * ldq + k]);

			acc[r][0] = _mm512_fmadd_ps(a, b0, acc[r][0]);
			acc[r][1] = _mm512_fmadd_ps(a, b1, acc[r][1]);
			acc[r][2] = _mm512_fmadd_ps(a, b2, acc[r][2]);
			acc[r][3] = _mm512_fmadd_ps(a, b3, acc[r][3]);
		}
	}
	for (int r = 0; r < R; r++)
		for (int v = 0; v < 4; v++)
			_mm512_mask_storeu_ps(s + (size_t)r * lds + 16 * v, mk[v], acc[r][v]);
}

/*
 * out[r][0..63] = inv[r] · sum_{c < n} s[r][c] · v[c][0..63], R rows, hd = 64,
 * where value row c is @v_lo + c·ldv below @split and @v + c·ldv from it on
 * (struct nn_attn.kv_split): one sum in position order either way. The
 * values are elements of form @el (with any but floats, @split is 0).
 */
static inline __attribute__((always_inline)) void
pv_tile(int R, const float *s, size_t lds, const void *v_lo, int split, const void *v,
	size_t ldv, int n, const float *inv, float *out, size_t ldo, int el)
{
	__m512 acc[ATTN_TILE_ROWS][4];

	for (int r = 0; r < R; r++)
		for (int c = 0; c < 4; c++)
			acc[r][c] = _mm512_setzero_ps();
	for (int c = 0; c < n; c++) {
		const void *vb = c < split ? v_lo : v;
		size_t vr = (size_t)c * ldv;
		__m512 v0 = load16(vb, vr, 0xffff, el), v1 = load16(vb, vr + 16, 0xffff, el);
		__m512 v2 = load16(vb, vr + 32, 0xffff, el), v3 = load16(vb, vr + 48, 0xffff, el);

		for (int r = 0; r < R; r++) {
			__m512 p = _mm512_set1_ps(s[(size_t)r * lds + c]);

			acc[r][0] = _mm512_fmadd_ps(p, v0, acc[r][0]);
			acc[r][1] = _mm512_fmadd_ps(p, v1, acc[r][1]);
			acc[r][2] = _mm512_fmadd_ps(p, v2, acc[r][2]);
			acc[r][3] = _mm512_fmadd_ps(p, v3, acc[r][3]);
		}
	}
	for (int r = 0; r < R; r++) {
		__m512 iv = _mm512_set1_ps(inv[r]);

		for (int c = 0; c < 4; c++)
			_mm512_storeu_ps(out + (size_t)r * ldo + 16 * c, _mm512_mul_ps(acc[r][c], iv));
	}
}

/* Softmax numerators of one row in place (first @n of @cols kept, rest 0); returns 1/sum. */
static float softmax_row(float *row, int n, int cols, float scale)
{
	__m512 mx = _mm512_set1_ps(-INFINITY), sum = _mm512_setzero_ps(), sc, m;
	int i;

	for (i = 0; i < n; i += 16)
		mx = _mm512_max_ps(mx, _mm512_mask_loadu_ps(_mm512_set1_ps(-INFINITY),
							   tail_mask(n - i), row + i));
	m = _mm512_set1_ps(_mm512_reduce_max_ps(mx));
	sc = _mm512_set1_ps(scale);
	for (i = 0; i < n; i += 16) {
		__mmask16 k = tail_mask(n - i);
		__m512 e = exp16(_mm512_mul_ps(_mm512_sub_ps(_mm512_maskz_loadu_ps(k, row + i), m), sc));

		e = _mm512_maskz_mov_ps(k, e);
		sum = _mm512_add_ps(sum, e);
		_mm512_mask_storeu_ps(row + i, k, e);
	}
	for (i = n; i < cols; i++)
		row[i] = 0.0f;
	return 1.0f / _mm512_reduce_add_ps(sum);
}

#define DISPATCH4(R, call)                       \
	switch (R) {                             \
	case 4: { enum { RR = 4 }; call; } break; \
	case 3: { enum { RR = 3 }; call; } break; \
	case 2: { enum { RR = 2 }; call; } break; \
	default: { enum { RR = 1 }; call; } break; \
	}

#define DISPATCH6(R, call)                       \
	switch (R) {                             \
	case 6: { enum { RR = 6 }; call; } break; \
	case 5: { enum { RR = 5 }; call; } break; \
	default: DISPATCH4(R, call);             \
	}

/*
 * One attention block (see nn_attn_block()): keys @kt (this head's block,
 * leading dimension @ldkt; elements of form @kel) and values from @v_lo /
 * @v (form @vel); both forms are constants at the calls below. With int16
 * keys, @kscale holds the head's hd channel scales, applied to the query
 * instead (q·(k·s) = (q·s)·k per channel), @qs scratch for the scaled rows.
 */
static inline __attribute__((always_inline)) void
attn_block(const struct nn_attn *a, int h, int q0, int nq, const void *kt, const void *kt_lo,
	   const float *kscale, const void *v, const void *v_lo, size_t ldkt, float *s,
	   int kel, int vel)
{
	const float *q = a->q + (size_t)q0 * a->ldq + (size_t)h * a->hd;
	float *out = a->out + (size_t)q0 * a->ldo + (size_t)h * a->hd;
	float scale = 1.0f / sqrtf((float)a->hd), inv[ATTN_TILE_ROWS];
	float qs[ATTN_TILE_ROWS * 64];
	size_t esz = kel == EL_F32 ? sizeof(float) : sizeof(uint16_t);
	int keep0 = a->n_kv - a->n_q + q0 + 1;
	int ncols = a->causal ? keep0 + nq - 1 : a->n_kv;
	int split = kel == EL_F32 ? a->kv_split : 0;
	size_t ldk = a->kt_strips ? 64 : ldkt;

	if (ncols > a->n_kv)
		ncols = a->n_kv;
	for (int i = 0; i < nq; i += ATTN_TILE_ROWS) {
		int R = nq - i < ATTN_TILE_ROWS ? nq - i : ATTN_TILE_ROWS, nmax = 0;
		float *si = s + (size_t)i * ldkt;
		const float *qi = q + (size_t)i * a->ldq;
		size_t ldq = a->ldq;

		if (kel == EL_I16) {
			for (int r = 0; r < R; r++)
				for (int c = 0; c < 64; c += 16)
					_mm512_storeu_ps(qs + r * 64 + c,
						_mm512_mul_ps(_mm512_loadu_ps(qi + (size_t)r * a->ldq + c),
							      _mm512_loadu_ps(kscale + c)));
			qi = qs;
			ldq = 64;
		}
		for (int j = 0; j < ncols; j += 64) {
			const char *kb = j < split ? kt_lo : kt;
			const char *kj = kb + (a->kt_strips ? (size_t)j * a->hd : (size_t)j) * esz;

			DISPATCH6(R, qk_tile(RR, qi, ldq, kj, ldk, a->hd, ncols - j, si + j, ldkt,
					     kel));
		}
		for (int r = 0; r < R; r++) {
			int n = a->causal ? keep0 + i + r : ncols;

			n = n > ncols ? ncols : n;
			nmax = n > nmax ? n : nmax;
			inv[r] = softmax_row(si + (size_t)r * ldkt, n, ncols, scale);
		}
		DISPATCH6(R, pv_tile(RR, si, ldkt, v_lo, split, v, a->ldv, nmax, inv,
				     out + (size_t)i * a->ldo, a->ldo, vel));
	}
}

void nn_attn_block_avx512(const struct nn_attn *a, int h, int q0, int nq,
			   const float *kt, size_t ldkt, float *s)
{
	int split = a->kv_split;
	const float *kt_lo = split ? a->kt_lo + (size_t)h * a->hd * ldkt : NULL;
	const float *v_lo = split ? nn_attn_v_lo(a, h) : NULL;

	attn_block(a, h, q0, nq, kt, kt_lo, NULL, nn_attn_v(a, h), v_lo, ldkt, s,
		   EL_F32, EL_F32);
}

void nn_attn_block_compact_avx512(const struct nn_attn *a, int h, int q0, int nq, float *s)
{
	const int16_t *kt = a->kt_i16 + (size_t)h * a->hd * a->ldkt;
	const uint16_t *v = a->v_f16 + (size_t)h * (a->v_head ? a->v_head : (size_t)a->hd);

	attn_block(a, h, q0, nq, kt, NULL, a->k_scale + (size_t)h * a->hd, v, NULL, a->ldkt,
		   s, EL_I16, EL_F16);
}

void nn_f32_to_f16_avx512(uint16_t *dst, const float *src, size_t n)
{
	size_t i = 0;

	/* round to nearest even, as vcvtps2ph with an immediate rounding mode */
	for (; i + 16 <= n; i += 16)
		_mm256_storeu_si256((__m256i *)(dst + i),
			_mm512_cvtps_ph(_mm512_loadu_ps(src + i),
					_MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
	if (i < n) {
		__mmask16 k = tail_mask((int)(n - i));

		_mm256_mask_storeu_epi16(dst + i, k,
			_mm512_cvtps_ph(_mm512_maskz_loadu_ps(k, src + i),
					_MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
	}
}

void nn_f16_to_f32_avx512(float *dst, const uint16_t *src, size_t n)
{
	size_t i = 0;

	for (; i + 16 <= n; i += 16)
		_mm512_storeu_ps(dst + i,
				 _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)(src + i))));
	if (i < n) {
		__mmask16 k = tail_mask((int)(n - i));

		_mm512_mask_storeu_ps(dst + i, k,
				      _mm512_cvtph_ps(_mm256_maskz_loadu_epi16(k, src + i)));
	}
}

/*
 * bf16 attention (AVX512-BF16, vdpbf16ps: two bf16 products per fp32 lane).
 * Keys are packed as pairs of channels, kt2[p][j] = (K[j][2p], K[j][2p+1]),
 * values as pairs of positions, v2[jp][c] = (V[2jp][c], V[2jp+1][c]); one
 * 32-bit word per pair, low half first. Scores, softmax and sums stay fp32.
 */
#define BF16_FN __attribute__((target("avx512f,avx512bw,avx512dq,avx512vl,avx512bf16")))

BF16_FN void nn_attn_pack_bf16(const struct nn_attn *a, int h, uint32_t *kt2, size_t ldkt,
				uint32_t *v2)
{
	const float *k = a->k + (size_t)h * a->hd, *v = a->v + (size_t)h * a->hd;
	int hd = a->hd, n = a->n_kv;

	for (int j = 0; j < n; j++) {
		const float *kr = k + (size_t)j * a->ldk;

		/* 64 channels -> 32 pairs, stored down column j */
		for (int c = 0; c < hd; c += 32) {
			__m512i w = (__m512i)_mm512_cvtne2ps_pbh(_mm512_loadu_ps(kr + c + 16),
								 _mm512_loadu_ps(kr + c));
			uint32_t t[16];

			_mm512_storeu_si512(t, w);
			for (int p = 0; p < 16; p++)
				kt2[(size_t)(c / 2 + p) * ldkt + j] = t[p];
		}
	}
	for (int jp = 0; jp < (n + 1) / 2; jp++) {
		const float *r0 = v + (size_t)(2 * jp) * a->ldv;
		const float *r1 = 2 * jp + 1 < n ? r0 + a->ldv : NULL;

		for (int c = 0; c < hd; c += 16) {
			__m512 lo = _mm512_loadu_ps(r0 + c);
			__m512 hi = r1 ? _mm512_loadu_ps(r1 + c) : _mm512_setzero_ps();
			/* interleave lo/hi lanes: bf16 of (lo[i], hi[i]) per word */
			__m512i bl = _mm512_cvtepu16_epi32((__m256i)_mm512_cvtneps_pbh(lo));
			__m512i bh = _mm512_cvtepu16_epi32((__m256i)_mm512_cvtneps_pbh(hi));

			_mm512_storeu_si512(v2 + (size_t)jp * hd + c,
					    _mm512_or_si512(bl, _mm512_slli_epi32(bh, 16)));
		}
	}
}

BF16_FN static inline __attribute__((always_inline)) void
qk_tile_bf16(int R, const uint32_t *qp, const uint32_t *kt2, size_t ldkt, int hd,
	     int j, int ncols, float *s, size_t lds)
{
	__m512 acc[4][4];
	__mmask16 mk[4];

	for (int v = 0; v < 4; v++)
		mk[v] = j + 16 * v < ncols ? tail_mask(ncols - j - 16 * v) : 0;
	for (int r = 0; r < R; r++)
		for (int v = 0; v < 4; v++)
			acc[r][v] = _mm512_setzero_ps();
	for (int p = 0; p < hd / 2; p++) {
		const uint32_t *kr = kt2 + (size_t)p * ldkt + j;
		__m512bh b0 = (__m512bh)_mm512_maskz_loadu_epi32(mk[0], kr);
		__m512bh b1 = (__m512bh)_mm512_maskz_loadu_epi32(mk[1], kr + 16);
		__m512bh b2 = (__m512bh)_mm512_maskz_loadu_epi32(mk[2], kr + 32);
		__m512bh b3 = (__m512bh)_mm512_maskz_loadu_epi32(mk[3], kr + 48);

		for (int r = 0; r < R; r++) {
			__m512bh x = (__m512bh)_mm512_set1_epi32((int)qp[r * 32 + p]);

			acc[r][0] = _mm512_dpbf16_ps(acc[r][0], x, b0);
			acc[r][1] = _mm512_dpbf16_ps(acc[r][1], x, b1);
			acc[r][2] = _mm512_dpbf16_ps(acc[r][2], x, b2);
			acc[r][3] = _mm512_dpbf16_ps(acc[r][3], x, b3);
		}
	}
	for (int r = 0; r < R; r++)
		for (int v = 0; v < 4; v++)
			_mm512_mask_storeu_ps(s + (size_t)r * lds + j + 16 * v, mk[v], acc[r][v]);
}

BF16_FN static inline __attribute__((always_inline)) void
pv_tile_bf16(int R, const uint32_t *pp, size_t ldp, const uint32_t *v2, int npairs,
	     const float *inv, float *out, size_t ldo)
{
	__m512 acc[4][4];

	for (int r = 0; r < R; r++)
		for (int c = 0; c < 4; c++)
			acc[r][c] = _mm512_setzero_ps();
	for (int jp = 0; jp < npairs; jp++) {
		const uint32_t *vr = v2 + (size_t)jp * 64;
		__m512bh v0 = (__m512bh)_mm512_loadu_si512(vr);
		__m512bh v1 = (__m512bh)_mm512_loadu_si512(vr + 16);
		__m512bh v2r = (__m512bh)_mm512_loadu_si512(vr + 32);
		__m512bh v3 = (__m512bh)_mm512_loadu_si512(vr + 48);

		for (int r = 0; r < R; r++) {
			__m512bh p = (__m512bh)_mm512_set1_epi32((int)pp[(size_t)r * ldp + jp]);

			acc[r][0] = _mm512_dpbf16_ps(acc[r][0], p, v0);
			acc[r][1] = _mm512_dpbf16_ps(acc[r][1], p, v1);
			acc[r][2] = _mm512_dpbf16_ps(acc[r][2], p, v2r);
			acc[r][3] = _mm512_dpbf16_ps(acc[r][3], p, v3);
		}
	}
	for (int r = 0; r < R; r++) {
		__m512 iv = _mm512_set1_ps(inv[r]);

		for (int c = 0; c < 4; c++)
			_mm512_storeu_ps(out + (size_t)r * ldo + 16 * c, _mm512_mul_ps(acc[r][c], iv));
	}
}

/*
 * Softmax numerators of one score row, written in place as bf16 (zero past
 * @n up to @npad, a multiple of 32 within the row): exp, sum and conversion
 * in one pass. Writing bf16 element i at byte 2i never passes the floats
 * still to be read. Returns 1/sum of the fp32 numerators.
 */
BF16_FN static float softmax_row_bf16(float *row, int n, int npad, float scale)
{
	__m512 mx = _mm512_set1_ps(-INFINITY), sum = _mm512_setzero_ps(), sc, m;
	uint16_t *dst = (uint16_t *)row;

	for (int i = 0; i < n; i += 16)
		mx = _mm512_max_ps(mx, _mm512_mask_loadu_ps(_mm512_set1_ps(-INFINITY),
							   tail_mask(n - i), row + i));
	m = _mm512_set1_ps(_mm512_reduce_max_ps(mx));
	sc = _mm512_set1_ps(scale);
	for (int i = 0; i < npad; i += 32) {
		__mmask16 k0 = i < n ? tail_mask(n - i) : 0;
		__mmask16 k1 = i + 16 < n ? tail_mask(n - i - 16) : 0;
		__m512 e0 = _mm512_maskz_mov_ps(k0, exp16(_mm512_mul_ps(
				_mm512_sub_ps(_mm512_maskz_loadu_ps(k0, row + i), m), sc)));
		__m512 e1 = _mm512_maskz_mov_ps(k1, exp16(_mm512_mul_ps(
				_mm512_sub_ps(_mm512_maskz_loadu_ps(k1, row + i + 16), m), sc)));

		sum = _mm512_add_ps(sum, _mm512_add_ps(e0, e1));
		_mm512_storeu_si512(dst + i, (__m512i)_mm512_cvtne2ps_pbh(e1, e0));
	}
	return 1.0f / _mm512_reduce_add_ps(sum);
}

BF16_FN void nn_attn_block_bf16(const struct nn_attn *a, int h, int q0, int nq,
				 const uint32_t *kt2, size_t ldkt, const uint32_t *v2, float *s)
{
	const float *q = a->q + (size_t)q0 * a->ldq + (size_t)h * a->hd;
	float *out = a->out + (size_t)q0 * a->ldo + (size_t)h * a->hd;
	float scale = 1.0f / sqrtf((float)a->hd), inv[4];
	uint32_t qp[4 * 32];
	int keep0 = a->n_kv - a->n_q + q0 + 1;
	int ncols = a->causal ? keep0 + nq - 1 : a->n_kv;

	if (ncols > a->n_kv)
		ncols = a->n_kv;
	for (int i = 0; i < nq; i += 4) {
		int R = nq - i < 4 ? nq - i : 4, nmax = 0;
		float *si = s + (size_t)i * ldkt;

		for (int r = 0; r < R; r++) {
			const float *qr = q + (size_t)(i + r) * a->ldq;

			for (int c = 0; c < 64; c += 32)
				_mm512_storeu_si512(qp + r * 32 + c / 2,
					(__m512i)_mm512_cvtne2ps_pbh(_mm512_loadu_ps(qr + c + 16),
								     _mm512_loadu_ps(qr + c)));
		}
		for (int j = 0; j < ncols; j += 64)
			DISPATCH4(R, qk_tile_bf16(RR, qp, kt2, ldkt, 64, j, ncols, si, ldkt));
		for (int r = 0; r < R; r++) {
			int n = a->causal ? keep0 + i + r : ncols;

			n = n > ncols ? ncols : n;
			nmax = n > nmax ? n : nmax;
			inv[r] = softmax_row_bf16(si + (size_t)r * ldkt, n,
						  (int)((ncols + 31) & ~31), scale);
		}
		/* rows as pairs: leading dimension ldkt floats = ldkt pair words */
		DISPATCH4(R, pv_tile_bf16(RR, (const uint32_t *)si, ldkt, v2, (nmax + 1) / 2, inv,
					  out + (size_t)i * a->ldo, a->ldo));
	}
}
