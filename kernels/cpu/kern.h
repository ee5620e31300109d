/* SPDX-License-Identifier: MIT */
/*
 * kernels/cpu/kern.h - CPU INT8 tile kernels and their run-time selection.
 *
 * Weight layout every kernel reads (made by the tiler): u8 = w + 128, the
 * four k-values of a column side by side, b[(k / 4) * ldb + n * 4 + k % 4],
 * with ldb = 4 * Np (Np: N rounded up to 16, padding columns hold 128, i.e.
 * weight 0). The A panel is rows × Kp int8 (Kp: K rounded up to 4, zero
 * padded). A kernel returns the exact int32 sum over k of a[m][k] * w[k][n].
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

/** kern_s8_scalar - portable reference kernel. */
kern_s8_fn kern_s8_scalar;
/** kern_s8_avx2 - AVX2 kernel (int16 vpmaddwd, exact). */
kern_s8_fn kern_s8_avx2;
/** kern_s8_avx512vnni - AVX-512 VNNI kernel (vpdpbusd). */
kern_s8_fn kern_s8_avx512vnni;

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

#endif /* AMN_KERN_H */
