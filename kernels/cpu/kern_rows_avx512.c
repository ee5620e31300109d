/* SPDX-License-Identifier: MIT */
/*
 * kernels/cpu/kern_rows_avx512.c - AVX-512 VNNI tile kernels for few rows
 * (2..48): each weight vector is loaded once per k-group for up to 16 rows.
 *
 * kern_avx512.c blocks 4 rows × 64 columns, so a tile of R rows streams its
 * weight panel ceil(R / 4) times. Here the rows are cut into at most
 * ceil(R / 16) even groups and the columns into strips as wide as the
 * registers allow: up to 24 zmm accumulators (R ≤ 6: 64 columns; R ≤ 8:
 * 48; R ≤ 12: 32; R ≤ 16: 16). One strip is run for every row group before
 * the next strip, so the strip (kp × 16..64 bytes) is read from memory once
 * and the other groups find it in L1/L2; A (≤ 16 rows × kp) stays in L1.
 *
 * Arithmetic is that of kern_avx512.c: vpdpbusd of u8 weights (w + 128) by
 * the broadcast s8 A dword, accumulators starting at -128 · rowsum (exact
 * int32); the f32 kernel runs the loop once per K block and folds it into C
 * with one fma of acc · (sa · sb), the bias after the last block: the float
 * operations and their order are those of kern_f32_scalar, so the results
 * are bit-identical to it.
 */
#include <immintrin.h>
#include <string.h>
#include "kernels/cpu/kern.h"

#define INLINE static inline __attribute__((always_inline))

/* Rows a group holds at most, and zmm accumulators a micro-tile may use. */
#define GROUP_ROWS 16
#define MAX_ACC 24

INLINE __m512i bcast(const int8_t *p)
{
	int32_t v;

	memcpy(&v, p, 4);
	return _mm512_set1_epi32(v);
}

INLINE __mmask16 col_mask(int cols, int v)
{
	int left = cols - v * 16;

	return left >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << left) - 1);
}

/* Widest strip (in 16-column vectors) for a group of @R rows. */
static int strip_vectors(int R)
{
	int nv = MAX_ACC / R;

	return nv > 4 ? 4 : nv < 1 ? 1 : nv;
}

/* acc[r][v] = exact sum over k in [k0, k1) of a[r][k] * w[k][16v..16v+15]. */
INLINE void dot(__m512i acc[GROUP_ROWS][4], int R, int NV, const int8_t *a, size_t lda,
		const int32_t *rowsum, int rs, const uint8_t *b, size_t ldb, int k0, int k1)
{
	const uint8_t *bk = b + (size_t)(k0 / 4) * ldb;

	for (int r = 0; r < R; r++) {
		__m512i init = _mm512_set1_epi32(-128 * rowsum[r * rs]);

		for (int v = 0; v < NV; v++)
			acc[r][v] = init;
	}
	for (int k = k0; k < k1; k += 4, bk += ldb) {
		__m512i w[4];

		for (int v = 0; v < NV; v++)
			w[v] = _mm512_loadu_si512(bk + 64 * v);
		for (int r = 0; r < R; r++) {
			__m512i x = bcast(a + (size_t)r * lda + k);

			for (int v = 0; v < NV; v++)
				acc[r][v] = _mm512_dpbusd_epi32(acc[r][v], w[v], x);
		}
	}
}

INLINE void s8_tile(int R, int NV, const int8_t *a, size_t lda, const int32_t *rowsum,
		    int kp, const uint8_t *b, size_t ldb, int cols, int32_t *c, size_t ldc)
{
	__m512i acc[GROUP_ROWS][4];

	dot(acc, R, NV, a, lda, rowsum, 1, b, ldb, 0, kp);
	for (int r = 0; r < R; r++)
		for (int v = 0; v < NV; v++)
			_mm512_mask_storeu_epi32(c + (size_t)r * ldc + v * 16, col_mask(cols, v),
						 acc[r][v]);
}

INLINE void f32_tile(int R, int NV, const int8_t *a, size_t lda, const int32_t *rowsum,
		     const float *sa, int kp, int kb, const uint8_t *b, size_t ldb,
		     const float *sb, size_t ldsb, const float *bias, int cols,
		     float *c, size_t ldc)
{
	int nkb = (kp + kb - 1) / kb;

	for (int j = 0; j < nkb; j++) {
		int k0 = j * kb, k1 = k0 + kb < kp ? k0 + kb : kp;
		__m512i acc[GROUP_ROWS][4];
		__m512 sbv[4];

		dot(acc, R, NV, a, lda, rowsum + j, nkb, b, ldb, k0, k1);
		for (int v = 0; v < NV; v++)
			sbv[v] = _mm512_loadu_ps(sb + (size_t)j * ldsb + v * 16);
		for (int r = 0; r < R; r++) {
			__m512 sar = _mm512_set1_ps(sa[r * nkb + j]);
			float *cr = c + (size_t)r * ldc;

			for (int v = 0; v < NV; v++) {
				__mmask16 mk = col_mask(cols, v);
				__m512 t = j ? _mm512_maskz_loadu_ps(mk, cr + v * 16) :
					       _mm512_setzero_ps();

				t = _mm512_fmadd_ps(_mm512_cvtepi32_ps(acc[r][v]),
						    _mm512_mul_ps(sar, sbv[v]), t);
				if (j == nkb - 1)
					t = _mm512_add_ps(t, bias ?
						_mm512_maskz_loadu_ps(mk, bias + v * 16) :
						_mm512_setzero_ps());
				_mm512_mask_storeu_ps(cr + v * 16, mk, t);
			}
		}
	}
}

/* Every (rows, vectors) shape with vectors <= strip_vectors(rows). */
#define SHAPES(X) \
	X(1, 1) X(1, 2) X(1, 3) X(1, 4) X(2, 1) X(2, 2) X(2, 3) X(2, 4) \
	X(3, 1) X(3, 2) X(3, 3) X(3, 4) X(4, 1) X(4, 2) X(4, 3) X(4, 4) \
	X(5, 1) X(5, 2) X(5, 3) X(5, 4) X(6, 1) X(6, 2) X(6, 3) X(6, 4) \
	X(7, 1) X(7, 2) X(7, 3) X(8, 1) X(8, 2) X(8, 3) \
	X(9, 1) X(9, 2) X(10, 1) X(10, 2) X(11, 1) X(11, 2) X(12, 1) X(12, 2) \
	X(13, 1) X(14, 1) X(15, 1) X(16, 1)

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

/* Even row groups of at most GROUP_ROWS: their count and the largest size. */
static void row_groups(int rows, int *ngroups, int *grows)
{
	*ngroups = (rows + GROUP_ROWS - 1) / GROUP_ROWS;
	*grows = (rows + *ngroups - 1) / *ngroups;
}

void kern_s8_avx512vnni_rows(const int8_t *a, size_t lda, const int32_t *rowsum,
			     int rows, int kp, const uint8_t *b, size_t ldb,
			     int cols, int32_t *c, size_t ldc)
{
	int ng, gr, sw;

	if (rows <= 0 || cols <= 0)
		return;
	row_groups(rows, &ng, &gr);
	sw = strip_vectors(gr) * 16;
	for (int n = 0; n < cols; n += sw) {
		int cw = cols - n < sw ? cols - n : sw;

		for (int m = 0; m < rows; m += gr)
			s8_shape(rows - m < gr ? rows - m : gr, (cw + 15) / 16,
				 a + (size_t)m * lda, lda, rowsum + m, kp, b + (size_t)n * 4,
				 ldb, cw, c + (size_t)m * ldc + n, ldc);
	}
}

void kern_f32_avx512vnni_rows(const int8_t *a, size_t lda, const int32_t *rowsum,
			      const float *sa, int rows, int kp, int kb,
			      const uint8_t *b, size_t ldb, const float *sb, size_t ldsb,
			      const float *bias, int cols, float *c, size_t ldc)
{
	int nkb = (kp + kb - 1) / kb, ng, gr, sw;

	if (nkb == 0) {
		kern_f32_scalar(a, lda, rowsum, sa, rows, kp, kb, b, ldb, sb, ldsb, bias,
				cols, c, ldc);
		return;
	}
	if (rows <= 0 || cols <= 0)
		return;
	row_groups(rows, &ng, &gr);
	sw = strip_vectors(gr) * 16;
	for (int n = 0; n < cols; n += sw) {
		int cw = cols - n < sw ? cols - n : sw;

		for (int m = 0; m < rows; m += gr)
			f32_shape(rows - m < gr ? rows - m : gr, (cw + 15) / 16,
				  a + (size_t)m * lda, lda, rowsum + (size_t)m * nkb,
				  sa + (size_t)m * nkb, kp, kb, b + (size_t)n * 4, ldb,
				  sb + n, ldsb, bias ? bias + n : NULL, cw,
				  c + (size_t)m * ldc + n, ldc);
	}
}
