// SPDX-License-Identifier: MIT
/*
 * whisper/vad/vad_gemm.c - the VAD's two small fp32 products, on weights
 * stored transposed (input-major) so that the inner loop runs along the
 * outputs: contiguous, vectorizable without reordering any sum, the same
 * order of additions on every machine and at any thread count.
 *
 * The VAD's matmuls are small (at most 256 x 387 x 258 per block) and run
 * on the transcribing thread: a BLAS would bring its own thread pool into
 * a process whose CPUs the engine already schedules. GCC's target_clones
 * builds each function twice, for x86-64-v3 (AVX2 and FMA) and for the
 * baseline, and picks one at load time.
 */
#include <string.h>

#include "whisper/vad/vad_internal.h"

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define VAD_CLONES __attribute__((target_clones("arch=x86-64-v3", "default")))
#else
#define VAD_CLONES
#endif

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
static void block_tail(float *y, const float *x, const float *wt, int rows, int n, int k, int o0)
{
	for (int i = 0; i < rows; i++)
		for (int o = o0; o < n; o++) {
			float acc = 0.0f;

			for (int j = 0; j < k; j++)
				acc += x[(size_t)i * k + j] * wt[(size_t)j * n + o];
			y[(size_t)i * n + o] = acc;
		}
}

VAD_CLONES
void vad_gemm(float *y, const float *x, const float *wt, int m, int n, int k)
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

VAD_CLONES
void vad_gemv_add(float *y, const float *x, const float *wt, int n, int k)
{
	for (int j = 0; j < k; j++) {
		const float *w = wt + (size_t)j * n;
		const float a = x[j];

		for (int o = 0; o < n; o++)
			y[o] += a * w[o];
	}
}
