// SPDX-License-Identifier: MIT
/*
 * kernels/npu/mm_i8_i32.cc - the per-core compute kernel of the NPU batch
 * design: C[64x64, int32] += A[64xKC, int8] · B[KCx64, int8], KC = 64.
 *
 * This is the reference form of the core program's two entry points, in
 * plain C++ so that it defines the semantics exactly and can be compiled for
 * an AIE2 core (Peano/Chess, via mlir-aie's IRON) or on the host for a
 * check. A core runs, for ever (the program must never return, or the
 * second device run times out):
 *
 *   loop:
 *     acquire C;  npu_zero_i32(C)
 *     for each K chunk of the job:  acquire A, B;  npu_mm_i8_i32(A, B, C);  release A, B
 *     release C
 *
 * Layouts (see ABI.md): A chunk row-major 64xKC, B chunk row-major KCx64 (a
 * 64-column block of the packed weights, K rows KC at a time), C row-major
 * 64x64. Accumulation is int32 over the whole K of the job: nothing is
 * rounded, shifted or clamped on the device.
 *
 * Not built in this repository: there is no AIE toolchain here. The vector
 * version would replace the inner loops with aie::mmul on 4x8x8 int8 blocks;
 * it must give the same bits, since int32 accumulation is exact.
 */
#include <stdint.h>

#define NPU_MM_M  64
#define NPU_MM_KC 64
#define NPU_MM_N  64

extern "C" {

/* npu_zero_i32 - clear a 64x64 int32 accumulator tile. */
void npu_zero_i32(int32_t *c)
{
	for (int i = 0; i < NPU_MM_M * NPU_MM_N; i++)
		c[i] = 0;
}

/* npu_mm_i8_i32 - c += a · b for one K chunk (64x64 · 64x64, exact). */
void npu_mm_i8_i32(const int8_t *a, const int8_t *b, int32_t *c)
{
	for (int m = 0; m < NPU_MM_M; m++) {
		for (int k = 0; k < NPU_MM_KC; k++) {
			int32_t av = a[m * NPU_MM_KC + k];

			for (int n = 0; n < NPU_MM_N; n++)
				c[m * NPU_MM_N + n] += av * (int32_t)b[k * NPU_MM_N + n];
		}
	}
}

}  /* extern "C" */
