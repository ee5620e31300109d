// SPDX-License-Identifier: MIT
/*
 * whisper/decode/decode_rules_avx512.c - AVX-512 forms of the row reductions the
 * logit rules run over the vocabulary every step: maximum and sum of
 * exp(v - m). Built with AVX-512 flags (the file name says so to the
 * Makefile); called only when nn_have_avx512(). Same polynomial exp as the
 * portable form in decode_rules.c, up to float rounding order.
 */
#include <immintrin.h>
#include <math.h>

#include "whisper/decode/decode.h"

static inline __mmask16 tail_mask(int left)
{
	return left >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << left) - 1);
}

/* exp(x) for x <= 0 on 16 lanes: 2^n · p(y), degree-6 Taylor polynomial of e^y. */
static inline __m512 exp16(__m512 x)
{
	__m512 n, y, p;

	x = _mm512_max_ps(x, _mm512_set1_ps(-87.0f));
	x = _mm512_min_ps(x, _mm512_set1_ps(88.0f));
	n = _mm512_roundscale_ps(_mm512_mul_ps(x, _mm512_set1_ps(1.44269504f)),
				 _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
	y = _mm512_fnmadd_ps(n, _mm512_set1_ps(0.693147181f), x);
	p = _mm512_set1_ps(1.0f / 720);
	p = _mm512_fmadd_ps(p, y, _mm512_set1_ps(1.0f / 120));
	p = _mm512_fmadd_ps(p, y, _mm512_set1_ps(1.0f / 24));
	p = _mm512_fmadd_ps(p, y, _mm512_set1_ps(1.0f / 6));
	p = _mm512_fmadd_ps(p, y, _mm512_set1_ps(0.5f));
	p = _mm512_fmadd_ps(p, y, _mm512_set1_ps(1.0f));
	p = _mm512_fmadd_ps(p, y, _mm512_set1_ps(1.0f));
	return _mm512_scalef_ps(p, n);
}

float wsp_row_max_avx512(const float *v, int n)
{
	__m512 a = _mm512_set1_ps(-INFINITY), b = a;
	int i = 0;

	for (; i + 32 <= n; i += 32) {
		a = _mm512_max_ps(a, _mm512_loadu_ps(v + i));
		b = _mm512_max_ps(b, _mm512_loadu_ps(v + i + 16));
	}
	for (; i < n; i += 16)
		a = _mm512_max_ps(a, _mm512_mask_loadu_ps(_mm512_set1_ps(-INFINITY),
							  tail_mask(n - i), v + i));
	return _mm512_reduce_max_ps(_mm512_max_ps(a, b));
}

float wsp_sum_exp_avx512(const float *v, int n, float m)
{
	const __m512 vm = _mm512_set1_ps(m);
	__m512 a = _mm512_setzero_ps(), b = a;
	int i = 0;

	for (; i + 32 <= n; i += 32) {
		a = _mm512_add_ps(a, exp16(_mm512_sub_ps(_mm512_loadu_ps(v + i), vm)));
		b = _mm512_add_ps(b, exp16(_mm512_sub_ps(_mm512_loadu_ps(v + i + 16), vm)));
	}
	for (; i < n; i += 16) {
		__mmask16 k = tail_mask(n - i);
		__m512 x = _mm512_maskz_loadu_ps(k, v + i);

		a = _mm512_mask_add_ps(a, k, a, exp16(_mm512_sub_ps(x, vm)));
	}
	return _mm512_reduce_add_ps(_mm512_add_ps(a, b));
}
