// SPDX-License-Identifier: MIT
/*
 * whisper/ops_attn.c - scaled dot-product attention for the encoder and
 * decoder: fp32 GEMMs for scores and values, softmax in between.
 *
 * Scores and values stay in fp32 on both precisions: they are products of two
 * activations (no constant weight to pack once), and in the encoder they are
 * computed block by block so a 1500-wide score block stays in L2.
 */
#include <cblas.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>

#include "whisper/ops.h"

#define ATTN_QBLOCK 128

struct softmax_job {
	float *s;
	int cols;
	float scale;
	int causal, keep0;
};

static void softmax_slice(void *ctx, int r0, int r1)
{
	struct softmax_job *j = ctx;

	wsp_softmax_rows(j->s + (size_t)r0 * j->cols, r1 - r0, j->cols, (size_t)j->cols,
			 j->scale, j->causal, j->keep0 + r0);
}

int wsp_attention(const struct wsp_attn *a, int threads)
{
	int qb = a->n_q < ATTN_QBLOCK ? a->n_q : ATTN_QBLOCK;
	float scale = 1.0f / sqrtf((float)a->hd);
	float *s;

	if (a->n_q <= 0 || a->n_kv <= 0)
		return 0;
	s = malloc((size_t)qb * a->n_kv * sizeof(float));
	if (!s)
		return -ENOMEM;
	for (int h = 0; h < a->n_head; h++) {
		const float *qh = a->q + (size_t)h * a->hd;
		const float *kh = a->k + (size_t)h * a->hd;
		const float *vh = a->v + (size_t)h * a->hd;
		float *oh = a->out + (size_t)h * a->hd;

		for (int q0 = 0; q0 < a->n_q; q0 += qb) {
			int nq = a->n_q - q0 < qb ? a->n_q - q0 : qb;
			int keep0 = a->n_kv - a->n_q + q0 + 1;
			/* causal: this block needs keys up to keep0 + nq - 1 */
			int nkv = a->causal ? keep0 + nq - 1 : a->n_kv;
			struct softmax_job j = { s, nkv, scale, a->causal, keep0 };

			cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, nq, nkv, a->hd,
				    1.0f, qh + (size_t)q0 * a->ldq, (int)a->ldq,
				    kh, (int)a->ldk, 0.0f, s, nkv);
			wsp_parallel_rows(nq, nq >= 32 ? threads : 1, softmax_slice, &j);
			cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, nq, a->hd, nkv,
				    1.0f, s, nkv, vh, (int)a->ldv, 0.0f,
				    oh + (size_t)q0 * a->ldo, (int)a->ldo);
		}
	}
	free(s);
	return 0;
}
