/* SPDX-License-Identifier: MIT */
/*
 * whisper/vad/vad_gemm_loops.h - the loops of the VAD's two fp32 products,
 * included by vad_gemm.c (baseline x86-64) and vad_gemm_avx2.c (built with
 * AVX2 and FMA): the same C compiled for each, so both give the same sums in
 * the same order (-std=c11 leaves floating-point contraction off, so no
 * FMA is formed from a multiply and an add). Weights are stored transposed
 * (input-major), so the inner loop runs along the outputs, contiguous and
 * vectorizable without reordering any sum.
 */
#ifndef AMN_WSP_VAD_GEMM_LOOPS_H
#define AMN_WSP_VAD_GEMM_LOOPS_H

#include <stddef.h>
#include <string.h>

#define VAD_RB 4                /* rows per block */
#define VAD_OB 16               /* outputs per block: 4 x 16 sums stay in registers */

/* Rows [0, @rows) and outputs [@o0, @o0 + VAD_OB) of the product: 4 x 16 sums in registers. */
static inline __attribute__((always_inline))
void block_full(float *y, const float *x, const float *wt, int rows, int n, int k, int o0)
{
	const float *x0 = x, *x1 = x + (rows > 1 ? k : 0), *x2 = x + (rows > 2 ? 2 * k : 0);
	const float *x3 = x + (rows > 3 ? 3 * k : 0);
	float a0[VAD_OB] = { 0 }, a1[VAD_OB] = { 0 }, a2[VAD_OB] = { 0 }, a3[VAD_OB] = { 0 };

	for (int j = 0; j < k; j++) {
		const float *w = wt + (size_t)j * n + o0;

		for (int o = 0; o < VAD_OB; o++) {
			a0[o] += x0[j] * w[o];
			a1[o] += x1[j] * w[o];
			a2[o] += x2[j] * w[o];
			a3[o] += x3[j] * w[o];
		}
	}
	memcpy(y + o0, a0, sizeof(a0));
	if (rows > 1)
		memcpy(y + n + o0, a1, sizeof(a1));
	if (rows > 2)
		memcpy(y + 2 * (size_t)n + o0, a2, sizeof(a2));
	if (rows > 3)
		memcpy(y + 3 * (size_t)n + o0, a3, sizeof(a3));
}

/* The same for the last outputs, [@o0, @n), fewer than VAD_OB. */
static inline __attribute__((always_inline))
void block_tail(float *y, const float *x, const float *wt, int rows, int n, int k, int o0)
{
	for (int i = 0; i < rows; i++)
		for (int o = o0; o < n; o++) {
			float acc = 0.0f;

			for (int j = 0; j < k; j++)
				acc += x[(size_t)i * k + j] * wt[(size_t)j * n + o];
			y[(size_t)i * n + o] = acc;
		}
}

/* vad_gemm()'s loop: blocks of 4 rows x 16 outputs, then the tail. */
static inline __attribute__((always_inline))
void vad_gemm_loop(float *y, const float *x, const float *wt, int m, int n, int k)
{
	for (int r = 0; r < m; r += VAD_RB) {
		int rows = m - r < VAD_RB ? m - r : VAD_RB, o0 = 0;
		float *yr = y + (size_t)r * n;
		const float *xr = x + (size_t)r * k;

		for (; o0 + VAD_OB <= n; o0 += VAD_OB)
			block_full(yr, xr, wt, rows, n, k, o0);
		if (o0 < n)
			block_tail(yr, xr, wt, rows, n, k, o0);
	}
}

/* vad_gemv_add()'s loop: one input at a time, along the outputs. */
static inline __attribute__((always_inline))
void vad_gemv_add_loop(float *y, const float *x, const float *wt, int n, int k)
{
	for (int j = 0; j < k; j++) {
		const float *w = wt + (size_t)j * n;
		const float a = x[j];

		for (int o = 0; o < n; o++)
			y[o] += a * w[o];
	}
}

#endif
