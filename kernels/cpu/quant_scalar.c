/* SPDX-License-Identifier: MIT */
/* kernels/cpu/quant_scalar.c - portable reference row quantizer (fp32 -> int8 per K block). */
#include <math.h>
#include "kernels/cpu/kern.h"

void kern_quant_scalar(const float *x, int K, int kp, int kb, int8_t *q,
		       float *sa, int32_t *rowsum)
{
	for (int j = 0, k0 = 0; k0 < kp; j++, k0 += kb) {
		int k1 = k0 + kb < kp ? k0 + kb : kp, e = k1 < K ? k1 : K;
		float mx = 0.0f, inv;
		int32_t s = 0;

		for (int k = k0; k < e; k++)
			mx = fabsf(x[k]) > mx ? fabsf(x[k]) : mx;
		sa[j] = mx / 127.0f;
		inv = mx > 0.0f ? 127.0f / mx : 0.0f;
		for (int k = k0; k < e; k++) {
			long v = lrintf(x[k] * inv);

			v = v > 127 ? 127 : v < -127 ? -127 : v;
			q[k] = (int8_t)v;
			s += (int32_t)v;
		}
		for (int k = e; k < k1; k++)
			q[k] = 0;
		rowsum[j] = s;
	}
}
