// SPDX-License-Identifier: MIT
/*
 * whisper/ops_linear.c - wsp_linear(): the single entry point for every
 * weight matmul of the encoder and decoder, in INT8 tile jobs or fp32.
 */
#include <cblas.h>
#include <errno.h>

#include "sched/npu.h"
#include "tiler/tile.h"
#include "whisper/ops.h"

int wsp_linear(const struct wsp_exec *x, const struct wsp_lin *l, const float *in,
	       int M, size_t ldx, float *y, size_t ldy)
{
	if (M <= 0)
		return M == 0 ? 0 : -EINVAL;
	if (x->precision == WSP_INT8) {
		struct tile_opts o = { .threads = wsp_exec_threads(x) };

		if (!l->q)
			return -EINVAL;
		if (x->tenant)
			return npu_matmul_f32(x->tenant, in, M, l->in, ldx, l->q, l->b, y, ldy);
		return tile_matmul_f32(in, M, l->in, ldx, l->q, l->b, y, ldy, &o);
	}
	if (x->precision != WSP_FP32)
		return -EINVAL;
	cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, M, l->out, l->in, 1.0f,
		    in, (int)ldx, l->w, l->in, 0.0f, y, (int)ldy);
	if (l->b)
		for (int r = 0; r < M; r++)
			wsp_add(y + (size_t)r * ldy, l->b, (size_t)l->out);
	return 0;
}
