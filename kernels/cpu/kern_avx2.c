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
#include <math.h>
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

/*
 * fp32 mode on AVX2: each K block of up to 16 rows × 64 columns through
 * kern_s8_avx2 into an int32 tile, then scaled and summed with fmaf as in
 * kern_f32_scalar (same operations, same bits).
 */
void kern_f32_avx2(const int8_t *a, size_t lda, const int32_t *rowsum,
		   const float *sa, int rows, int kp, int kb,
		   const uint8_t *b, size_t ldb, const float *sb, size_t ldsb,
		   const float *bias, int cols, float *c, size_t ldc)
{
	int nkb = (kp + kb - 1) / kb;
	int32_t acc[16 * 64];

	for (int m0 = 0; m0 < rows; m0 += 16)
		for (int n0 = 0; n0 < cols; n0 += 64) {
			int R = rows - m0 < 16 ? rows - m0 : 16, W = cols - n0 < 64 ? cols - n0 : 64;

			for (int r = 0; r < R; r++)
				for (int n = 0; n < W; n++)
					c[(size_t)(m0 + r) * ldc + n0 + n] = 0.0f;
			for (int j = 0; j < nkb; j++) {
				int k0 = j * kb, len = kp - k0 < kb ? kp - k0 : kb;

				kern_s8_avx2(a + (size_t)m0 * lda + k0, lda, NULL, R, len,
					     b + (size_t)(k0 / 4) * ldb + (size_t)n0 * 4, ldb, W, acc, 64);
				for (int r = 0; r < R; r++) {
					float s = sa[(size_t)(m0 + r) * nkb + j], *cr = c + (size_t)(m0 + r) * ldc + n0;
					const float *sbj = sb + (size_t)j * ldsb + n0;

					for (int n = 0; n < W; n++)
						cr[n] = fmaf((float)acc[r * 64 + n], s * sbj[n], cr[n]);
				}
			}
			for (int r = 0; r < R; r++)
				for (int n = 0; n < W; n++)
					c[(size_t)(m0 + r) * ldc + n0 + n] += bias ? bias[n0 + n] : 0.0f;
		}
	(void)rowsum;
}
