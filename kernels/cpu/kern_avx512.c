/* SPDX-License-Identifier: MIT */
/*
 * kernels/cpu/kern_avx512.c - AVX-512 VNNI INT8 tile kernels (s8 and f32).
 *
 * vpdpbusd multiplies u8 by s8: the weights are the u8 operand (w + 128) and
 * each A dword (4 signed k-values) is broadcast as the s8 operand. The
 * result is sum(a * w) + 128 * rowsum(a); the accumulators start at
 * -128 * rowsum(a), so they end exact. Blocking: up to 4 rows × 4 zmm (64 columns) of int32
 * accumulators; each (rows, vectors) shape is its own unrolled copy, so the
 * inner loop has no tests but the k count.
 *
 * The f32 kernel runs the same loop once per K block, then dequantizes the
 * block and adds it to C, which holds the running sum (one fma:
 * acc · (sa · sb) + sum); after the last block it adds the bias. The float operations and their
 * order are those of kern_f32_scalar, so the results are bit-identical.
 */
#include "kernels/cpu/kern.h"
#include "kernels/cpu/kern_avx512_inline.h"

#define INLINE KERN_INLINE

/*
 * Ask for C's lines in exclusive state before the K loop, so the stores at
 * its end do not stall on read-for-ownership misses (C is often larger than
 * the caches: 1500 × 2048 int32 is 12 MB). Every AVX-512 CPU has PREFETCHW.
 */
INLINE void prefetch_c(int R, int NV, const void *c, size_t ldc_bytes)
{
	for (int r = 0; r < R; r++)
		for (int v = 0; v < NV; v++)
			__asm__ volatile("prefetchw %0" : : "m"(*((const char *)c + r * ldc_bytes +
								   v * 64)));
}

INLINE void s8_tile(int R, int NV, const int8_t *a, size_t lda, const int32_t *rowsum,
		    int kp, const uint8_t *b, size_t ldb, int cols, int32_t *c, size_t ldc)
{
	__m512i acc[4][4];

	prefetch_c(R, NV, c, ldc * sizeof(*c));
	kern_acc_init(acc, R, NV, rowsum, 1);
	kern_dot(acc, R, NV, a, lda, b, ldb, 0, kp);
	for (int r = 0; r < R; r++)
		for (int v = 0; v < NV; v++)
			_mm512_mask_storeu_epi32(c + (size_t)r * ldc + v * 16, kern_col_mask(cols, v),
						 acc[r][v]);
}

INLINE void f32_tile(int R, int NV, const int8_t *a, size_t lda, const int32_t *rowsum,
		     const float *sa, int kp, int kb, const uint8_t *b, size_t ldb,
		     const float *sb, size_t ldsb, const float *bias, int cols,
		     float *c, size_t ldc)
{
	int nkb = (kp + kb - 1) / kb;

	prefetch_c(R, NV, c, ldc * sizeof(*c));
	for (int j = 0; j < nkb; j++) {
		int k0 = j * kb, k1 = k0 + kb < kp ? k0 + kb : kp;
		__m512i acc[4][4];

		kern_acc_init(acc, R, NV, rowsum + j, nkb);
		kern_dot(acc, R, NV, a, lda, b, ldb, k0, k1);
		kern_f32_fold(acc, R, NV, j, nkb, sa, sb, ldsb, bias, cols, c, ldc);
	}
}

#define SHAPES KERN_SHAPES

#define S8_CASE(R, NV) case (R) * 8 + (NV): \
	s8_tile(R, NV, a, lda, rowsum, kp, b, ldb, cols, c, ldc); break;
#define F32_CASE(R, NV) case (R) * 8 + (NV): \
	f32_tile(R, NV, a, lda, rowsum, sa, kp, kb, b, ldb, sb, ldsb, bias, cols, c, ldc); break;

static void s8_shape(int R, int NV, const int8_t *a, size_t lda, const int32_t *rowsum,
		     int kp, const uint8_t *b, size_t ldb, int cols, int32_t *c, size_t ldc)
{
	switch (R * 8 + NV) {
	SHAPES(S8_CASE)
	}
}

static void f32_shape(int R, int NV, const int8_t *a, size_t lda, const int32_t *rowsum,
		      const float *sa, int kp, int kb, const uint8_t *b, size_t ldb,
		      const float *sb, size_t ldsb, const float *bias, int cols,
		      float *c, size_t ldc)
{
	switch (R * 8 + NV) {
	SHAPES(F32_CASE)
	}
}

void kern_s8_avx512vnni(const int8_t *a, size_t lda, const int32_t *rowsum,
			int rows, int kp, const uint8_t *b, size_t ldb,
			int cols, int32_t *c, size_t ldc)
{
	for (int n = 0; n < cols; n += 64) {
		int cw = cols - n < 64 ? cols - n : 64;

		for (int m = 0; m < rows; m += 4)
			s8_shape(rows - m < 4 ? rows - m : 4, (cw + 15) / 16,
				 a + (size_t)m * lda, lda, rowsum + m, kp, b + (size_t)n * 4,
				 ldb, cw, c + (size_t)m * ldc + n, ldc);
	}
}

void kern_f32_avx512vnni(const int8_t *a, size_t lda, const int32_t *rowsum,
			 const float *sa, int rows, int kp, int kb,
			 const uint8_t *b, size_t ldb, const float *sb, size_t ldsb,
			 const float *bias, int cols, float *c, size_t ldc)
{
	int nkb = (kp + kb - 1) / kb;

	if (nkb == 0) {
		kern_f32_scalar(a, lda, rowsum, sa, rows, kp, kb, b, ldb, sb, ldsb, bias,
				cols, c, ldc);
		return;
	}
	for (int n = 0; n < cols; n += 64) {
		int cw = cols - n < 64 ? cols - n : 64;

		for (int m = 0; m < rows; m += 4)
			f32_shape(rows - m < 4 ? rows - m : 4, (cw + 15) / 16,
				  a + (size_t)m * lda, lda, rowsum + (size_t)m * nkb,
				  sa + (size_t)m * nkb, kp, kb, b + (size_t)n * 4, ldb,
				  sb + n, ldsb, bias ? bias + n : NULL, cw,
				  c + (size_t)m * ldc + n, ldc);
	}
}
