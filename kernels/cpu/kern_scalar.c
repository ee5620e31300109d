/* SPDX-License-Identifier: MIT */
/* kernels/cpu/kern_scalar.c - portable reference INT8 tile kernel. */
#include "kernels/cpu/kern.h"

void kern_s8_scalar(const int8_t *a, size_t lda, const int32_t *rowsum,
		    int rows, int kp, const uint8_t *b, size_t ldb,
		    int cols, int32_t *c, size_t ldc)
{
	for (int m = 0; m < rows; m++) {
		const int8_t *ar = a + (size_t)m * lda;

		for (int n = 0; n < cols; n++) {
			int32_t acc = 0;

			for (int k = 0; k < kp; k++)
				acc += (int32_t)ar[k] *
				       ((int32_t)b[(size_t)(k / 4) * ldb + (size_t)n * 4 + k % 4] - 128);
			c[(size_t)m * ldc + n] = acc;
		}
	}
	(void)rowsum;
}
