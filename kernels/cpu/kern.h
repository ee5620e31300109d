/* SPDX-License-Identifier: MIT */
/*
 * kernels/cpu/kern.h - CPU INT8 tile kernels and their run-time selection.
 *
 * Weight layout every kernel reads (made by the tiler): u8 = w + 128, the
 * four k-values of a column side by side, b[(k / 4) * ldb + n * 4 + k % 4]
 * for the columns n < cols of one call (the tiler's 64-column panels have
 * ldb = 256; padding columns hold 128, i.e. weight 0; a full 16-column
 * vector must be readable at every 16th column). The A panel is rows × Kp int8 (Kp: K rounded up to 4, zero
 * padded). An s8 kernel returns the exact int32 sum over k of
 * a[m][k] * w[k][n]; an f32 kernel accumulates the same sums exactly per
 * K block and dequantizes each block with its row and column scales.
 *
 * Every variant of a kind gives bit-identical results (tests/test_kernels.c).
 */
#ifndef AMN_KERN_H
#define AMN_KERN_H

#include <stddef.h>
#include <stdint.h>

/**
 * kern_s8_fn - compute one output tile exactly.
 * @a:      A panel, @rows × @kp int8, leading dimension @lda (bytes).
 * @rowsum: per row, the sum of that row of @a (used to undo the +128 bias).
 * @b:      packed weights, pointing at column @n0 of k-group 0.
 * @ldb:    bytes between k-groups in @b (4 * Np).
 * @c:      int32 output, @rows × @cols, leading dimension @ldc (elements).
 */
typedef void kern_s8_fn(const int8_t *a, size_t lda, const int32_t *rowsum,
			int rows, int kp, const uint8_t *b, size_t ldb,
			int cols, int32_t *c, size_t ldc);

/**
 * kern_f32_fn - compute one fp32-mode output tile, K in blocks.
 * @a, @lda, @rows, @kp, @b, @ldb, @cols: as kern_s8_fn.
 * @kb:     K block length, a multiple of 4; nkb = ceil(@kp / @kb) blocks.
 * @rowsum: @rows × nkb int32, row-major: the sum of A over each block.
 * @sa:     @rows × nkb floats, row-major: A's scale per row and block.
 * @sb:     column scales of block 0 at column n0; block j at @sb + j * @ldsb.
 *          Readable for @cols rounded up to 16.
 * @bias:   @cols floats (at column n0), or NULL.
 * @c:      float output, leading dimension @ldc (elements).
 *
 * With acc_j the exact int32 sum of block j, every variant computes, in
 * float and in this order: s = 0; s = fmaf((float)acc_j, sa_j * sb_j, s)
 * for j = 0 .. nkb - 1 (one rounding each); c = s + bias (or + 0).
 */
typedef void kern_f32_fn(const int8_t *a, size_t lda, const int32_t *rowsum,
			 const float *sa, int rows, int kp, int kb,
			 const uint8_t *b, size_t ldb, const float *sb, size_t ldsb,
			 const float *bias, int cols, float *c, size_t ldc);

/**
 * kern_quant_fn - quantize one float row to int8 in K blocks.
 * @x:      @K floats.
 * @kp:     @K rounded up to 4; @q gets @kp bytes, zero past @K.
 * @kb:     block length (multiple of 4); nkb = ceil(@kp / @kb).
 * @q:      int8 output.
 * @sa:     nkb scales: max|x| over the block / 127 (0 for an all-zero block).
 * @rowsum: nkb sums of @q over each block.
 *
 * q = clamp(rint(x * (127 / max)), -127, 127), round to nearest even.
 */
typedef void kern_quant_fn(const float *x, int K, int kp, int kb, int8_t *q,
			   float *sa, int32_t *rowsum);

/** kern_s8_scalar - portable reference kernel. */
kern_s8_fn kern_s8_scalar;
/** kern_s8_avx2 - AVX2 kernel (int16 vpmaddwd, exact). */
kern_s8_fn kern_s8_avx2;
/** kern_s8_avx512vnni - AVX-512 VNNI kernel (vpdpbusd). */
kern_s8_fn kern_s8_avx512vnni;

/** kern_f32_scalar - portable reference fp32-mode kernel. */
kern_f32_fn kern_f32_scalar;
/** kern_f32_avx2 - fp32-mode kernel on kern_s8_avx2, scaled per block. */
kern_f32_fn kern_f32_avx2;
/** kern_f32_avx512vnni - AVX-512 VNNI fp32-mode kernel, fused dequantization. */
kern_f32_fn kern_f32_avx512vnni;

/**
 * kern_s8_avx512vnni_rows, kern_f32_avx512vnni_rows - AVX-512 VNNI kernels
 * for few rows (M = 2 .. KERN_ROWS_MAX, opt-in with AMN_KERNEL_ROWS=1): K in
 * L1-sized chunks, each chunk of the weight panel run for every 4-row group
 * before the next, accumulators kept in C between chunks. Same results, bit
 * for bit, as the others; not faster than them on Zen4 (kernels.md).
 */
kern_s8_fn kern_s8_avx512vnni_rows;
kern_f32_fn kern_f32_avx512vnni_rows;

/* Largest M for which kern_*_select_rows() picks a few-rows kernel. */
#define KERN_ROWS_MAX 48

/** kern_quant_scalar - portable reference row quantizer. */
kern_quant_fn kern_quant_scalar;
/** kern_quant_avx512 - AVX-512 row quantizer. */
kern_quant_fn kern_quant_avx512;

/**
 * kern_s8_select - the kernel to use on this machine.
 *
 * AMN_KERNEL=scalar|avx2|avx512vnni forces one; otherwise the best one CPUID
 * reports. A forced kernel the CPU lacks falls back to scalar.
 * Return: the kernel; never NULL.
 */
kern_s8_fn *kern_s8_select(void);

/**
 * kern_s8_by_name - look a kernel up by name.
 * Return: the kernel, or NULL when unknown or unsupported on this CPU.
 */
kern_s8_fn *kern_s8_by_name(const char *name);

/**
 * kern_f32_select, kern_quant_select - the fp32-mode kernel and the row
 * quantizer for this machine, chosen like kern_s8_select() (the quantizer
 * has no AVX2 variant: avx2 gives the scalar one). Return: never NULL.
 */
kern_f32_fn *kern_f32_select(void);
kern_quant_fn *kern_quant_select(void);

/**
 * kern_s8_select_rows, kern_f32_select_rows - the kernel for a matmul of
 * @M rows: with AMN_KERNEL_ROWS=1 and 2 <= @M <= KERN_ROWS_MAX, the
 * few-rows variant of the kernel kern_s8_select() / kern_f32_select() would
 * pick, when it has one (avx512vnni); otherwise that kernel.
 * Return: never NULL.
 */
kern_s8_fn *kern_s8_select_rows(int M);
kern_f32_fn *kern_f32_select_rows(int M);

/**
 * kern_f32_by_name, kern_quant_by_name - look up by kernel name ("scalar",
 * "avx2" (kern_f32 only), "avx512vnni"; kern_s8_by_name and kern_f32_by_name
 * also know "avx512vnni_rows", the few-rows variant). Return: NULL when unknown or unsupported on this CPU.
 */
kern_f32_fn *kern_f32_by_name(const char *name);
kern_quant_fn *kern_quant_by_name(const char *name);

#endif /* AMN_KERN_H */
