// SPDX-License-Identifier: MIT
/*
 * whisper/vad/vad_gemm_avx2.c - the VAD's products built with AVX2 and FMA
 * (the Makefile's *_avx2.c rule); called by vad_gemm.c only on CPUs that
 * have both.
 */
#include "whisper/vad/vad_internal.h"
#include "whisper/vad/vad_gemm_loops.h"

void vad_gemm_avx2(float *y, const float *x, const float *wt, int m, int n, int k)
{
	vad_gemm_loop(y, x, wt, m, n, k);
}

void vad_gemv_add_avx2(float *y, const float *x, const float *wt, int n, int k)
{
	vad_gemv_add_loop(y, x, wt, n, k);
}
