/* SPDX-License-Identifier: MIT */
/* kernels/cpu/kern_scalar.c - portable reference INT8 tile kernels (s8 and f32). */
#include <math.h>
#include "kernels/cpu/kern.h"

static int32_t dot(const int8_t *ar, const uint8_t *b, size_t ldb, int n, int k0, int k1)
{
	int32_t acc = 0;

	for (int k = k0; k < k1; k++)
		acc += (int32_t)ar[k] * ((int32_t)b[(size_t)(k / 4) * ldb + (size_t)n * 4 + k % 4] - 128);
	return acc;
}

void kern_s8_scalar(const int8_t *a, size_t lda, const int32_t *rowsum,
		    int rows, int kp, const uint8_t *b, size_t ldb,
		    int cols, int32_t *c, size_t ldc)
{
	for (int m = 0; m < rows; m++)
		for (int n = 0; n < cols; n++)
			c[(size_t)m * ldc + n] = dot(a + (size_t)m * lda, b, ldb, n, 0, kp);
	(void)rowsum;
}

void kern_f32_scalar(const int8_t *a, size_t lda, const int32_t *rowsum,
		     const float *sa, int rows, int kp, int kb,
		     const uint8_t *b, size_t ldb, const float *sb, size_t ldsb,
		     const float *bias, int cols, float *c, size_t ldc)
{
	int nkb = (kp + kb - 1) / kb;

	for (int m = 0; m < rows; m++)
		for (int n = 0; n < cols; n++) {
			float s = 0.0f;

			for (int j = 0; j < nkb; j++) {
				int k0 = j * kb, k1 = k0 + kb < kp ? k0 + kb : kp;
				int32_t acc = dot(a + (size_t)m * lda, b, ldb, n, k0, k1);

				s = fmaf((float)acc, sa[m * nkb + j] * sb[(size_t)j * ldsb + n], s);
			}
			c[(size_t)m * ldc + n] = s + (bias ? bias[n] : 0.0f);
		}
	(void)rowsum;
}
