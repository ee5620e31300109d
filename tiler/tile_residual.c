/* SPDX-License-Identifier: MIT */
/*
 * tiler/tile_residual.c - what tile_matmul_f32's activation quantization
 * loses: A minus its dequantized INT8 form, computed with the very quantizer
 * the matmul uses, so that a second matmul on it corrects the first.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include "tiler/tile.h"
#include "tiler/tile_internal.h"
#include "kernels/cpu/kern.h"

int tile_quant_residual_f32(const struct tile_weights *w, const float *a, int M, int K,
			    size_t lda, float *r, size_t ldr)
{
	kern_quant_fn *quant = kern_quant_select();
	int kp = (K + 3) & ~3, kb, nkb;
	int8_t *q;
	float *sa;
	int32_t *rowsum;

	if (!w || w->K != K || M < 0 || K < 0 ||
	    (M && K && (!a || !r || lda < (size_t)K || ldr < (size_t)K))) {
		fprintf(stderr, "tile: bad residual arguments (M=%d K=%d)\n", M, K);
		return -EINVAL;
	}
	kb = w->kb;
	nkb = (kp + kb - 1) / kb;
	if (!M || !K)
		return 0;
	q = aligned_alloc(64, ((size_t)kp + 63) & ~(size_t)63);
	sa = malloc((size_t)nkb * sizeof(*sa));
	rowsum = malloc((size_t)nkb * sizeof(*rowsum));
	if (!q || !sa || !rowsum) {
		free(q);
		free(sa);
		free(rowsum);
		return -ENOMEM;
	}
	for (int m = 0; m < M; m++) {
		const float *x = a + (size_t)m * lda;
		float *o = r + (size_t)m * ldr;

		quant(x, K, kp, kb, q, sa, rowsum);
		for (int k = 0; k < K; k++)
			o[k] = x[k] - (float)q[k] * sa[k / kb];
	}
	free(q);
	free(sa);
	free(rowsum);
	return 0;
}
