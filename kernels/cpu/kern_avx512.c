/* SPDX-License-Identifier: MIT */
/*
 * kernels/cpu/kern_avx512.c - AVX-512 VNNI INT8 tile kernel.
 *
 * vpdpbusd multiplies u8 by s8: the weights are the u8 operand (w + 128) and
 * each A dword (4 signed k-values) is broadcast as the s8 operand. The
 * result is sum(a * w) + 128 * rowsum(a); the epilogue subtracts the latter,
 * which is exact. Blocking: 4 rows × 4 zmm (64 columns) of accumulators.
 */
#include <immintrin.h>
#include <string.h>
#include "kernels/cpu/kern.h"

static inline __m512i bcast(const int8_t *p)
{
	int32_t v;

	memcpy(&v, p, 4);
	return _mm512_set1_epi32(v);
}

static void block(const int8_t *a, size_t lda, const int32_t *rowsum, int rows,
		  int kp, const uint8_t *b, size_t ldb, int cols,
		  int32_t *c, size_t ldc)
{
	__m512i acc[4][4];
	int nv = (cols + 15) / 16;

	for (int r = 0; r < 4; r++)
		for (int v = 0; v < 4; v++)
			acc[r][v] = _mm512_setzero_si512();
	for (int k = 0; k < kp; k += 4) {
		const uint8_t *bk = b + (size_t)(k / 4) * ldb;
		__m512i w0 = _mm512_loadu_si512(bk);
		__m512i w1 = nv > 1 ? _mm512_loadu_si512(bk + 64) : w0;
		__m512i w2 = nv > 2 ? _mm512_loadu_si512(bk + 128) : w0;
		__m512i w3 = nv > 3 ? _mm512_loadu_si512(bk + 192) : w0;

		for (int r = 0; r < 4; r++) {
			if (r >= rows)
				break;
			__m512i x = bcast(a + (size_t)r * lda + k);

			acc[r][0] = _mm512_dpbusd_epi32(acc[r][0], w0, x);
			acc[r][1] = _mm512_dpbusd_epi32(acc[r][1], w1, x);
			acc[r][2] = _mm512_dpbusd_epi32(acc[r][2], w2, x);
			acc[r][3] = _mm512_dpbusd_epi32(acc[r][3], w3, x);
		}
	}
	for (int r = 0; r < rows; r++) {
		__m512i corr = _mm512_set1_epi32(rowsum[r] * 128);

		for (int v = 0; v < nv; v++) {
			int left = cols - v * 16;
			__mmask16 mk = left >= 16 ? 0xffff : (__mmask16)((1u << left) - 1);

			_mm512_mask_storeu_epi32(c + (size_t)r * ldc + v * 16, mk,
						 _mm512_sub_epi32(acc[r][v], corr));
		}
	}
}

void kern_s8_avx512vnni(const int8_t *a, size_t lda, const int32_t *rowsum,
			int rows, int kp, const uint8_t *b, size_t ldb,
			int cols, int32_t *c, size_t ldc)
{
	for (int n = 0; n < cols; n += 64) {
		int cw = cols - n < 64 ? cols - n : 64;

		for (int m = 0; m < rows; m += 4)
			block(a + (size_t)m * lda, lda, rowsum + m,
			      rows - m < 4 ? rows - m : 4, kp, b + (size_t)n * 4,
			      ldb, cw, c + (size_t)m * ldc + n, ldc);
	}
}
