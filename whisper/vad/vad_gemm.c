// SPDX-License-Identifier: MIT
/*
 * whisper/vad/vad_gemm.c - the VAD's two small fp32 products, and the
 * choice of their build: AVX2 and FMA (vad_gemm_avx2.c) where the CPU has
 * them, else the baseline one here. Both compile the same loops
 * (vad_gemm_loops.h) and give the same bits.
 *
 * The VAD's matmuls are small (at most 256 x 387 x 258 per block) and run
 * on the transcribing thread: a BLAS would bring its own thread pool into
 * a process whose CPUs the engine already schedules. (GCC's target_clones
 * would do the choosing, but GCC 12 exports each clone's resolver from the
 * shared library whatever the visibility.)
 */
#include "whisper/vad/vad_internal.h"
#include "whisper/vad/vad_gemm_loops.h"

static int vad_have_avx2(void)
{
#if defined(__x86_64__) && defined(__GNUC__)
	return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
#else
	return 0;
#endif
}

void vad_gemm(float *y, const float *x, const float *wt, int m, int n, int k)
{
	if (vad_have_avx2())
		vad_gemm_avx2(y, x, wt, m, n, k);
	else
		vad_gemm_loop(y, x, wt, m, n, k);
}

void vad_gemv_add(float *y, const float *x, const float *wt, int n, int k)
{
	if (vad_have_avx2())
		vad_gemv_add_avx2(y, x, wt, n, k);
	else
		vad_gemv_add_loop(y, x, wt, n, k);
}
