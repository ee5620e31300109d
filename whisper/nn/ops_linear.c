// SPDX-License-Identifier: MIT
/*
 * whisper/nn/ops_linear.c - wsp_linear(): the single entry point for every
 * weight matmul of the encoder and decoder, in INT8 tile jobs or fp32.
 */
#include <cblas.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "sched/npu.h"
#include "tiler/tile.h"
#include "whisper/model/model_internal.h"
#include "whisper/nn/ops.h"

/* fp32 matmuls of at most this many rows run as one GEMV per row */
#define FP32_GEMV_ROWS 4

static int int8_matmul(const struct wsp_exec *x, const float *in, int M, int K, size_t ldx,
		       const struct tile_weights *q, const float *bias, float *y, size_t ldy)
{
	struct tile_opts o = { .threads = wsp_exec_threads(x) };

	if (x->tenant)
		return npu_matmul_f32(x->tenant, in, M, K, ldx, q, bias, y, ldy);
	return tile_matmul_f32(in, M, K, ldx, q, bias, y, ldy, &o);
}

/*
 * INT8 matmul with residual activations: y = q(in)·W + q(in − dq(q(in)))·W
 * + bias, both halves on the same packed weights. The residual is at most
 * half a quantization step, so its own step is at most 1/254 of the
 * input's: the activations carry about 15 bits, the weights stay INT8.
 *
 * The input rows and their residual rows are stacked into ONE matmul of 2M
 * rows, so the weights are read once, not twice (a decoder step's FFN down
 * projection streams them from memory). Rows are quantized and summed each
 * on its own, and the bias is added here in the order the kernel adds it
 * (after the last K block), then the residual half: the same bits as two
 * separate matmuls.
 */
static int int8_matmul_resid(const struct wsp_exec *x, const float *in, int M, int K,
			     size_t ldx, const struct tile_weights *q, const float *bias,
			     float *y, size_t ldy)
{
	int N = tile_weights_n(q), ret;
	float *ab = malloc((size_t)2 * M * K * sizeof(float));
	float *part = malloc((size_t)2 * M * N * sizeof(float));

	if (!ab || !part) {
		free(ab);
		free(part);
		return -ENOMEM;
	}
	for (int m = 0; m < M; m++)
		memcpy(ab + (size_t)m * K, in + (size_t)m * ldx, (size_t)K * sizeof(float));
	ret = tile_quant_residual_f32(q, in, M, K, ldx, ab + (size_t)M * K, (size_t)K);
	if (!ret)
		ret = int8_matmul(x, ab, 2 * M, K, (size_t)K, q, NULL, part, (size_t)N);
	for (int m = 0; !ret && m < M; m++) {
		float *ym = y + (size_t)m * ldy;

		memcpy(ym, part + (size_t)m * N, (size_t)N * sizeof(float));
		if (bias)
			nn_add(ym, bias, (size_t)N);
		nn_add(ym, part + (size_t)(M + m) * N, (size_t)N);
	}
	free(ab);
	free(part);
	return ret;
}

/* One INT8 matmul of layer @l: plain, or with residual activations. */
static int int8_lin(const struct wsp_exec *x, const struct wsp_lin *l, const float *in, int M,
		    int K, size_t ldx, const struct tile_weights *q, const float *bias,
		    float *y, size_t ldy)
{
	if (l->act_resid)
		return int8_matmul_resid(x, in, M, K, ldx, q, bias, y, ldy);
	return int8_matmul(x, in, M, K, ldx, q, bias, y, ldy);
}

/* Group-wise INT8: y = sum over groups g of in[:, g-th slice] · W_gᵀ, plus b. */
static int int8_grouped(const struct wsp_exec *x, const struct wsp_lin *l, const float *in,
			int M, size_t ldx, float *y, size_t ldy)
{
	int kg = l->in / l->n_groups, ret;
	float *part = malloc((size_t)M * l->out * sizeof(float));

	if (!part)
		return -ENOMEM;
	ret = int8_lin(x, l, in, M, kg, ldx, l->gq[0], l->b, y, ldy);
	for (int g = 1; !ret && g < l->n_groups; g++) {
		ret = int8_lin(x, l, in + (size_t)g * kg, M, kg, ldx, l->gq[g], NULL,
			       part, (size_t)l->out);
		for (int r = 0; !ret && r < M; r++)
			nn_add(y + (size_t)r * ldy, part + (size_t)r * l->out, (size_t)l->out);
	}
	free(part);
	return ret;
}

int wsp_linear(const struct wsp_exec *x, const struct wsp_lin *l, const float *in,
	       int M, size_t ldx, float *y, size_t ldy)
{
	if (M <= 0)
		return M == 0 ? 0 : -EINVAL;
	if (x->precision == WSP_INT8) {
		if (l->n_groups > 1)
			return int8_grouped(x, l, in, M, ldx, y, ldy);
		if (!l->q)
			return -EINVAL;
		return int8_lin(x, l, in, M, l->in, ldx, l->q, l->b, y, ldy);
	}
	if (x->precision != WSP_FP32)
		return -EINVAL;
	if (M <= FP32_GEMV_ROWS) {
		/*
		 * Decoder shapes: sgemm with a transposed B copies all of W for a
		 * handful of rows; a GEMV per row streams W without the copy.
		 */
		for (int r = 0; r < M; r++)
			cblas_sgemv(CblasRowMajor, CblasNoTrans, l->out, l->in, 1.0f, l->w, l->in,
				    in + (size_t)r * ldx, 1, 0.0f, y + (size_t)r * ldy, 1);
	} else {
		cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, M, l->out, l->in, 1.0f,
			    in, (int)ldx, l->w, l->in, 0.0f, y, (int)ldy);
	}
	if (l->b)
		for (int r = 0; r < M; r++)
			nn_add(y + (size_t)r * ldy, l->b, (size_t)l->out);
	return 0;
}
