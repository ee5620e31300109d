/* SPDX-License-Identifier: MIT */
/*
 * kernels/cpu/kern_avx2.c - AVX2 INT8 tile kernel (no VNNI).
 *
 * vpmaddubsw saturates, so for exact results the weights are turned back
 * into signed bytes (xor 0x80 undoes the +128 bias), sign-extended to int16
 * and multiplied with the A dword's four int16 values by vpmaddwd. Each
 * column collects two partial sums that one vphaddd joins at the end.
 */
#include <immintrin.h>
#include "kernels/cpu/kern.h"

static __m256i a_quad(const int8_t *p)
{
	return _mm256_set1_epi64x((long long)(((uint64_t)(uint16_t)p[0]) |
					      ((uint64_t)(uint16_t)p[1] << 16) |
					      ((uint64_t)(uint16_t)p[2] << 32) |
					      ((uint64_t)(uint16_t)p[3] << 48)));
}

void kern_s8_avx2(const int8_t *a, size_t lda, const int32_t *rowsum,
		  int rows, int kp, const uint8_t *b, size_t ldb,
		  int cols, int32_t *c, size_t ldc)
{
	const __m256i bias = _mm256_set1_epi8((char)0x80);
	const __m256i order = _mm256_setr_epi32(0, 1, 4, 5, 2, 3, 6, 7);

	for (int r = 0; r < rows; r++) {
		const int8_t *ar = a + (size_t)r * lda;

		for (int n = 0; n < cols; n += 8) {
			__m256i lo = _mm256_setzero_si256(), hi = _mm256_setzero_si256();

			for (int k = 0; k < kp; k += 4) {
				__m256i w = _mm256_loadu_si256((const __m256i *)
						(b + (size_t)(k / 4) * ldb + (size_t)n * 4));
				__m256i x = a_quad(ar + k);

				w = _mm256_xor_si256(w, bias);
				lo = _mm256_add_epi32(lo, _mm256_madd_epi16(
					_mm256_cvtepi8_epi16(_mm256_castsi256_si128(w)), x));
				hi = _mm256_add_epi32(hi, _mm256_madd_epi16(
					_mm256_cvtepi8_epi16(_mm256_extracti128_si256(w, 1)), x));
			}
			__m256i sum = _mm256_permutevar8x32_epi32(_mm256_hadd_epi32(lo, hi), order);
			int left = cols - n < 8 ? cols - n : 8;
			__m256i mask = _mm256_cmpgt_epi32(_mm256_set1_epi32(left),
							  _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));

			_mm256_maskstore_epi32((int *)(c + (size_t)r * ldc + n), mask, sum);
		}
	}
	(void)rowsum;
}
