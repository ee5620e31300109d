// SPDX-License-Identifier: MIT
/*
 * whisper/nn/encoder.c - the Whisper encoder run step by step, each step over
 * all rows (wsp_encode_direct()): two convolutions as im2col matmuls,
 * sinusoidal positions, pre-LN transformer blocks, final layer norm. The
 * default, wsp_encode(), runs the same steps as a job graph (encoder_graph.c).
 *
 * Activations are time-major (one row per frame), so every convolution and
 * linear layer is a single M×K×N matmul through wsp_linear().
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "whisper/nn/forward.h"
#include "whisper/nn/ops.h"

/* Buffers for one encode; sized from the model, owned by wsp_encode(). */
struct enc_buf {
	float *col;    /* im2col rows: max(2·ctx × 3·n_mels, ctx × 3·d) */
	float *h1;     /* conv1 output: 2·ctx × d */
	float *x;      /* residual stream: ctx × d */
	float *h;      /* normed input: ctx × d */
	float *qkv;    /* ctx × 3d */
	float *att;    /* ctx × d */
	float *ffn;    /* ctx × n_ffn */
};

static void enc_buf_free(struct enc_buf *b)
{
	free(b->col);
	free(b->h1);
	free(b->x);
	free(b->h);
	free(b->qkv);
	free(b->att);
	free(b->ffn);
}

static int enc_buf_alloc(struct enc_buf *b, const struct wsp_model *m)
{
	const struct wsp_hparams *hp = &m->hp;
	size_t ctx = (size_t)hp->n_audio_ctx, d = (size_t)hp->n_audio_state;
	size_t c1 = 2 * ctx * 3 * (size_t)hp->n_mels, c2 = ctx * 3 * d;
	size_t nffn = 0;

	for (int i = 0; i < hp->n_audio_layer; i++)
		if ((size_t)m->enc[i].fc1.out > nffn)
			nffn = (size_t)m->enc[i].fc1.out;
	memset(b, 0, sizeof(*b));
	b->col = malloc((c1 > c2 ? c1 : c2) * sizeof(float));
	b->h1 = malloc(2 * ctx * d * sizeof(float));
	b->x = malloc(ctx * d * sizeof(float));
	b->h = malloc(ctx * d * sizeof(float));
	b->qkv = malloc(ctx * 3 * d * sizeof(float));
	b->att = malloc(ctx * d * sizeof(float));
	b->ffn = malloc(ctx * nffn * sizeof(float));
	if (!b->col || !b->h1 || !b->x || !b->h || !b->qkv || !b->att || !b->ffn) {
		enc_buf_free(b);
		return -ENOMEM;
	}
	return 0;
}

struct im2col_job {
	float *col;
	const float *src;
	int n_chan, t_in, stride;
	size_t chan_stride, time_stride;
};

static void im2col_slice(void *ctx, int r0, int r1)
{
	const struct im2col_job *j = ctx;

	nn_im2col_k3(j->col, j->src, j->n_chan, j->t_in, j->stride, j->chan_stride,
		      j->time_stride, r0, r1);
}

struct gelu_job {
	float *x;
	size_t cols;
	const float *add;   /* optional rows to add after the GELU */
};

static void gelu_slice(void *ctx, int r0, int r1)
{
	const struct gelu_job *j = ctx;
	float *p = j->x + (size_t)r0 * j->cols;
	size_t n = (size_t)(r1 - r0) * j->cols;

	nn_gelu(p, n);
	if (j->add)
		nn_add(p, j->add + (size_t)r0 * j->cols, n);
}

struct ln_job {
	float *y;
	const float *x;
	const struct wsp_ln *ln;
	int d;
};

static void ln_slice(void *ctx, int r0, int r1)
{
	const struct ln_job *j = ctx;

	nn_layer_norm(j->y + (size_t)r0 * j->d, j->x + (size_t)r0 * j->d,
		       j->ln->g, j->ln->b, r1 - r0, j->d);
}

static void par_ln(float *y, const float *x, const struct wsp_ln *ln, int rows, int d, int thr)
{
	struct ln_job j = { y, x, ln, d };

	nn_parallel_rows(rows, thr, ln_slice, &j);
}

static void par_gelu(float *x, int rows, size_t cols, const float *add, int thr)
{
	struct gelu_job j = { x, cols, add };

	nn_parallel_rows(rows, thr, gelu_slice, &j);
}

static int enc_layer(const struct wsp_model *m, const struct wsp_exec *x,
		     const struct wsp_enc_layer *L, struct enc_buf *b, int thr)
{
	int ctx = m->hp.n_audio_ctx, d = m->hp.n_audio_state;
	struct nn_attn a = {
		.q = b->qkv, .ldq = 3 * (size_t)d,
		.k = b->qkv + d, .ldk = 3 * (size_t)d,
		.v = b->qkv + 2 * d, .ldv = 3 * (size_t)d,
		.out = b->att, .ldo = (size_t)d,
		.n_q = ctx, .n_kv = ctx, .n_head = m->hp.n_audio_head,
		.hd = d / m->hp.n_audio_head, .causal = 0,
		.bf16 = wsp_attn_use_bf16(x, d / m->hp.n_audio_head),
	};
	int ret;

	par_ln(b->h, b->x, &L->attn_ln, ctx, d, thr);
	ret = wsp_linear(x, &L->qkv, b->h, ctx, (size_t)d, b->qkv, 3 * (size_t)d);
	if (!ret)
		ret = nn_attention(&a, thr);
	if (!ret)
		ret = wsp_linear(x, &L->attn_out, b->att, ctx, (size_t)d, b->h, (size_t)d);
	if (ret)
		return ret;
	nn_add(b->x, b->h, (size_t)ctx * d);

	par_ln(b->h, b->x, &L->ffn_ln, ctx, d, thr);
	ret = wsp_linear(x, &L->fc1, b->h, ctx, (size_t)d, b->ffn, (size_t)L->fc1.out);
	if (ret)
		return ret;
	par_gelu(b->ffn, ctx, (size_t)L->fc1.out, NULL, thr);
	ret = wsp_linear(x, &L->fc2, b->ffn, ctx, (size_t)L->fc1.out, b->h, (size_t)d);
	if (ret)
		return ret;
	nn_add(b->x, b->h, (size_t)ctx * d);
	return 0;
}

int wsp_encode_direct(const struct wsp_model *m, const struct wsp_exec *x,
		      const float *mel, float *out)
{
	const struct wsp_hparams *hp;
	struct enc_buf b;
	struct im2col_job ic;
	int ctx, d, thr, ret;

	if (!m || !x || !mel || !out)
		return -EINVAL;
	hp = &m->hp;
	ctx = hp->n_audio_ctx;
	d = hp->n_audio_state;
	thr = wsp_exec_threads(x);
	ret = enc_buf_alloc(&b, m);
	if (ret)
		return ret;

	/* conv1: n_mels → d over 2·ctx frames, stride 1 */
	ic = (struct im2col_job){ b.col, mel, hp->n_mels, 2 * ctx, 1, (size_t)2 * ctx, 1 };
	nn_parallel_rows(2 * ctx, thr, im2col_slice, &ic);
	ret = wsp_linear(x, &m->conv1, b.col, 2 * ctx, (size_t)m->conv1.in, b.h1, (size_t)d);
	if (ret)
		goto out;
	par_gelu(b.h1, 2 * ctx, (size_t)d, NULL, thr);

	/* conv2: d → d, stride 2, then GELU and positions */
	ic = (struct im2col_job){ b.col, b.h1, d, 2 * ctx, 2, 1, (size_t)d };
	nn_parallel_rows(ctx, thr, im2col_slice, &ic);
	ret = wsp_linear(x, &m->conv2, b.col, ctx, (size_t)m->conv2.in, b.x, (size_t)d);
	if (ret)
		goto out;
	par_gelu(b.x, ctx, (size_t)d, m->enc_pos, thr);

	for (int l = 0; l < hp->n_audio_layer; l++) {
		ret = enc_layer(m, x, &m->enc[l], &b, thr);
		if (ret)
			goto out;
	}
	par_ln(out, b.x, &m->enc_ln, ctx, d, thr);
out:
	enc_buf_free(&b);
	return ret;
}
