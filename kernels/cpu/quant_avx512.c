/* SPDX-License-Identifier: MIT */
/*
 * kernels/cpu/quant_avx512.c - AVX-512 row quantizer (fp32 -> int8 per K
 * block): 16 floats a step for the absolute maximum, then multiply, convert
 * with the current (nearest-even) rounding, clamp, saturate-pack and sum.
 * Same operations as kern_quant_scalar, so the bytes and scales are equal.
 */
#include <immintrin.h>
#include "kernels/cpu/kern.h"

static inline __mmask16 upto(int k, int end)
{
	return end - k >= 16 ? (__mmask16)0xffff :
	       end <= k ? (__mmask16)0 : (__mmask16)((1u << (end - k)) - 1);
}

void kern_quant_avx512(const float *x, int K, int kp, int kb, int8_t *q,
		       float *sa, int32_t *rowsum)
{
	const __m512 absmask = _mm512_castsi512_ps(_mm512_set1_epi32(0x7fffffff));
	const __m512i lo = _mm512_set1_epi32(-127), hi = _mm512_set1_epi32(127);

	for (int j = 0, k0 = 0; k0 < kp; j++, k0 += kb) {
		int k1 = k0 + kb < kp ? k0 + kb : kp, e = k1 < K ? k1 : K;
		__m512 mxv = _mm512_setzero_ps(), inv;
		__m512i sum = _mm512_setzero_si512();
		float mx;

		for (int k = k0; k < e; k += 16) {
			__m512 v = _mm512_maskz_loadu_ps(upto(k, e), x + k);

			/* NaN in the first operand yields the second: NaNs are skipped */
			mxv = _mm512_max_ps(_mm512_and_ps(v, absmask), mxv);
		}
		mx = _mm512_reduce_max_ps(mxv);
		sa[j] = mx / 127.0f;
		inv = _mm512_set1_ps(mx > 0.0f ? 127.0f / mx : 0.0f);
		for (int k = k0; k < k1; k += 16) {
			__m512 v = _mm512_maskz_loadu_ps(upto(k, e), x + k);
			__m512i i = _mm512_cvtps_epi32(_mm512_mul_ps(v, inv));

			i = _mm512_min_epi32(_mm512_max_epi32(i, lo), hi);
			sum = _mm512_add_epi32(sum, i);
			_mm512_mask_cvtsepi32_storeu_epi8(q + k, upto(k, k1), i);
		}
		rowsum[j] = _mm512_reduce_add_epi32(sum);
	}
}
