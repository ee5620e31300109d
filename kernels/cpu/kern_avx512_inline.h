/* SPDX-License-Identifier: MIT */
/*
 * kernels/cpu/kern_avx512_inline.h - the pieces of the AVX-512 VNNI tile
 * kernels (kern_avx512.c, kern_rows_avx512.c): the register-blocked K loop
 * and the fp32 epilogue, on up to 4 rows × 4 zmm (64 columns) of int32
 * accumulators. Include only from files built with the AVX-512 flags.
 *
 * vpdpbusd multiplies u8 by s8: the weights are the u8 operand (w + 128) and
 * each A dword (4 signed k-values) is broadcast as the s8 operand, so the
 * loop adds sum(a * w) + 128 * sum(a); accumulators that start at
 * -128 * sum(a) end exact.
 */
#ifndef AMN_KERN_AVX512_INLINE_H
#define AMN_KERN_AVX512_INLINE_H

#include <immintrin.h>
#include <string.h>

#define KERN_INLINE static inline __attribute__((always_inline))

KERN_INLINE __m512i kern_bcast(const int8_t *p)
{
	int32_t v;

	memcpy(&v, p, 4);
	return _mm512_set1_epi32(v);
}

/*
 * acc += w (u8) · x (s8), four products per int32 lane. Inline asm rather
 * than _mm512_dpbusd_epi32: GCC 12 treats the intrinsic's accumulator as a
 * fresh output and copies every accumulator between registers on each trip
 * through the K loop (about 30 extra moves per 16 dot products).
 */
KERN_INLINE __m512i kern_dpbusd(__m512i acc, __m512i w, __m512i x)
{
	__asm__("vpdpbusd %2, %1, %0" : "+v"(acc) : "v"(w), "v"(x));
	return acc;
}

/* The columns of vector @v (16 columns from 16 * @v) that are < @cols. */
KERN_INLINE __mmask16 kern_col_mask(int cols, int v)
{
	int left = cols - v * 16;

	return left >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << left) - 1);
}

/* acc[r][v] = -128 * @rowsum[r * @rs] for r < @R, v < @NV. */
KERN_INLINE void kern_acc_init(__m512i acc[4][4], int R, int NV, const int32_t *rowsum,
			       int rs)
{
	for (int r = 0; r < R; r++) {
		/*
		 * -128 * rowsum in wrapping 32-bit arithmetic, as the vector
		 * accumulators wrap: a valid row's sum is at most 128 * K, but a
		 * batch from outside (fuzz/fuzz_tile_batch.c) may carry any value,
		 * and a signed overflow here would be undefined behaviour.
		 */
		__m512i init = _mm512_set1_epi32((int32_t)(0u - ((uint32_t)rowsum[r * rs] << 7)));

		for (int v = 0; v < NV; v++)
			acc[r][v] = init;
	}
}

/* acc[r][v] += sum over k in [k0, k1) of a[r][k] * (w[k][16v..16v+15] + 128). */
KERN_INLINE void kern_dot(__m512i acc[4][4], int R, int NV, const int8_t *a, size_t lda,
			  const uint8_t *b, size_t ldb, int k0, int k1)
{
	const uint8_t *bk = b + (size_t)(k0 / 4) * ldb;

	for (int k = k0; k < k1; k += 4, bk += ldb) {
		__m512i w[4];

		for (int v = 0; v < NV; v++)
			w[v] = _mm512_loadu_si512(bk + 64 * v);
		for (int r = 0; r < R; r++) {
			__m512i x = kern_bcast(a + (size_t)r * lda + k);

			for (int v = 0; v < NV; v++)
				acc[r][v] = kern_dpbusd(acc[r][v], w[v], x);
		}
	}
}

/*
 * Fold the exact sums of K block @j (of @nkb) into float C: c = fma(acc,
 * sa · sb, c) (c = 0 before block 0), plus the bias (or 0) after the last
 * block; the operations and order of kern_f32_scalar.
 */
KERN_INLINE void kern_f32_fold(__m512i acc[4][4], int R, int NV, int j, int nkb,
			       const float *sa, const float *sb, size_t ldsb,
			       const float *bias, int cols, float *c, size_t ldc)
{
	__m512 sbv[4];

	for (int v = 0; v < NV; v++)
		sbv[v] = _mm512_loadu_ps(sb + (size_t)j * ldsb + v * 16);
	for (int r = 0; r < R; r++) {
		__m512 sar = _mm512_set1_ps(sa[r * nkb + j]);
		float *cr = c + (size_t)r * ldc;

		for (int v = 0; v < NV; v++) {
			__mmask16 mk = kern_col_mask(cols, v);
			__m512 t = j ? _mm512_maskz_loadu_ps(mk, cr + v * 16) : _mm512_setzero_ps();

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

/* One unrolled copy per (rows, vectors) shape: X(R, NV), switched on R * 8 + NV. */
#define KERN_SHAPES(X) \
	X(1, 1) X(1, 2) X(1, 3) X(1, 4) X(2, 1) X(2, 2) X(2, 3) X(2, 4) \
	X(3, 1) X(3, 2) X(3, 3) X(3, 4) X(4, 1) X(4, 2) X(4, 3) X(4, 4)

#endif /* AMN_KERN_AVX512_INLINE_H */
