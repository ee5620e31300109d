/* SPDX-License-Identifier: MIT */
/*
 * kernels/cpu/kern_rows_avx512.c - AVX-512 VNNI tile kernels for few rows
 * (2..48): each chunk of the weight panel comes from memory once for all
 * rows of the tile.
 *
 * kern_avx512.c runs the whole K loop for 4 rows × 64 columns at a time, so
 * a tile of R rows streams its 64-column panel (kp × 64 bytes: 128 KB at
 * K = 2048) ceil(R / 4) times, from L2 or memory. Here K is cut into chunks
 * of KCHUNK k-values (KCHUNK × 64 bytes = 16 KB of weights, which stays in
 * L1): every 4-row group runs over the chunk before the next chunk, and the
 * int32 accumulators of the tile are kept in C between chunks (loaded and
 * stored once per chunk: 1 load and 1 store per 64 vpdpbusd). In the fp32
 * mode the chunk is the K block (128) and the dequantizing epilogue runs
 * once per block and row group, as in kern_avx512.c.
 *
 * Arithmetic is that of kern_avx512.c: vpdpbusd of u8 weights (w + 128) by
 * the broadcast s8 A dword, accumulators starting at -128 · rowsum (exact
 * int32); the f32 kernel folds each block into C with one fma of
 * acc · (sa · sb), the bias after the last block: the float operations and
 * their order are those of kern_f32_scalar, so the results are
 * bit-identical to it.
 */
#include "kernels/cpu/kern.h"
#include "kernels/cpu/kern_avx512_inline.h"

#define INLINE KERN_INLINE

/* k-values per chunk of the s8 kernel (a multiple of 4). */
#define KCHUNK 256

/*
 * One K chunk [k0, k1) of an R × NV-vector micro-tile: the accumulators
 * start at -128 · rowsum on the first chunk, else at what C holds.
 */
INLINE void s8_chunk(int R, int NV, const int8_t *a, size_t lda, const int32_t *rowsum,
		     int k0, int k1, const uint8_t *b, size_t ldb, int cols,
		     int32_t *c, size_t ldc)
{
	__m512i acc[4][4];

	if (k0)
		for (int r = 0; r < R; r++)
			for (int v = 0; v < NV; v++)
				acc[r][v] = _mm512_maskz_loadu_epi32(kern_col_mask(cols, v),
								     c + (size_t)r * ldc + v * 16);
	else
		kern_acc_init(acc, R, NV, rowsum, 1);
	kern_dot(acc, R, NV, a, lda, b, ldb, k0, k1);
	for (int r = 0; r < R; r++)
		for (int v = 0; v < NV; v++)
			_mm512_mask_storeu_epi32(c + (size_t)r * ldc + v * 16, kern_col_mask(cols, v),
						 acc[r][v]);
}

/* Block j of an R × NV-vector fp32 micro-tile, folded into C. */
INLINE void f32_block(int R, int NV, int j, int nkb, const int8_t *a, size_t lda,
		      const int32_t *rowsum, const float *sa, int k0, int k1,
		      const uint8_t *b, size_t ldb, const float *sb, size_t ldsb,
		      const float *bias, int cols, float *c, size_t ldc)
{
	__m512i acc[4][4];

	kern_acc_init(acc, R, NV, rowsum + j, nkb);
	kern_dot(acc, R, NV, a, lda, b, ldb, k0, k1);
	kern_f32_fold(acc, R, NV, j, nkb, sa, sb, ldsb, bias, cols, c, ldc);
}

#define SHAPES KERN_SHAPES

#define S8_CASE(R, NV) case (R) * 8 + (NV): \
	s8_chunk(R, NV, a, lda, rowsum, k0, k1, b, ldb, cols, c, ldc); break;
#define F32_CASE(R, NV) case (R) * 8 + (NV): \
	f32_block(R, NV, j, nkb, a, lda, rowsum, sa, k0, k1, b, ldb, sb, ldsb, bias, \
		  cols, c, ldc); break;

static void s8_shape(int R, int NV, const int8_t *a, size_t lda, const int32_t *rowsum,
		     int k0, int k1, const uint8_t *b, size_t ldb, int cols,
		     int32_t *c, size_t ldc)
{
	switch (R * 8 + NV) {
	SHAPES(S8_CASE)
	}
}

static void f32_shape(int R, int NV, int j, int nkb, const int8_t *a, size_t lda,
		      const int32_t *rowsum, const float *sa, int k0, int k1,
		      const uint8_t *b, size_t ldb, const float *sb, size_t ldsb,
		      const float *bias, int cols, float *c, size_t ldc)
{
	switch (R * 8 + NV) {
	SHAPES(F32_CASE)
	}
}

void kern_s8_avx512vnni_rows(const int8_t *a, size_t lda, const int32_t *rowsum,
			     int rows, int kp, const uint8_t *b, size_t ldb,
			     int cols, int32_t *c, size_t ldc)
{
	if (kp == 0) {
		kern_s8_scalar(a, lda, rowsum, rows, kp, b, ldb, cols, c, ldc);
		return;
	}
	for (int n = 0; n < cols; n += 64) {
		int cw = cols - n < 64 ? cols - n : 64;

		for (int k0 = 0; k0 < kp; k0 += KCHUNK) {
			int k1 = kp - k0 < KCHUNK ? kp : k0 + KCHUNK;

			for (int m = 0; m < rows; m += 4)
				s8_shape(rows - m < 4 ? rows - m : 4, (cw + 15) / 16,
					 a + (size_t)m * lda, lda, rowsum + m, k0, k1,
					 b + (size_t)n * 4, ldb, cw, c + (size_t)m * ldc + n, ldc);
		}
	}
}

void kern_f32_avx512vnni_rows(const int8_t *a, size_t lda, const int32_t *rowsum,
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

		for (int j = 0; j < nkb; j++) {
			int k0 = j * kb, k1 = k0 + kb < kp ? k0 + kb : kp;

			for (int m = 0; m < rows; m += 4)
				f32_shape(rows - m < 4 ? rows - m : 4, (cw + 15) / 16, j, nkb,
					  a + (size_t)m * lda, lda, rowsum + (size_t)m * nkb,
					  sa + (size_t)m * nkb, k0, k1, b + (size_t)n * 4, ldb,
					  sb + n, ldsb, bias ? bias + n : NULL, cw,
					  c + (size_t)m * ldc + n, ldc);
		}
	}
}
