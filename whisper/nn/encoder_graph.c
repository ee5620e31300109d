// SPDX-License-Identifier: MIT
/*
 * whisper/nn/encoder_graph.c - the encoder as one job graph (sched/graph.h),
 * built once with its buffers by wsp_encoder_new() and run per window by
 * wsp_encoder_run(); wsp_encode() is new + run + free.
 *
 * Rows (frames) are cut into chunks of ENC_CHUNK (one chunk of all rows on
 * the fp32 path, where concurrent OpenBLAS calls contend); every row-wise
 * step of a chunk is one node, so chunks flow through the layer
 * independently:
 *
 *   add+LN(r) -> QKV(r) -> [all chunks] -> Kᵀ(h) -> attention(h, r) ->
 *   out-proj(r) -> add+LN(r) -> FFN up(r) -> GELU(r) -> FFN down(r) -> ...
 *
 * Only self-attention needs every chunk's keys, so the key transposes are the
 * one barrier per layer (the keys are packed per head: transposed, or in bf16
 * pairs when attention runs in bf16). Matmul nodes go through the caller's engine tenant
 * (npu_graph_add_matmul) on the INT8 path when one is given; otherwise they
 * are CPU nodes running the tiler (or OpenBLAS on the fp32 path) on a single
 * thread, the graph's workers being the parallelism. Every node computes the
 * same rows with the same kernels as the direct path (encoder.c), so both give
 * the same output.
 *
 * Buffer reuse across layers is safe because of the dependencies: the QKV
 * buffer alternates between two copies by layer (a chunk of layer l+1 may be
 * projected while other chunks of layer l still read keys), everything else
 * is rewritten only after its last reader finished (each chain is row-local).
 */
#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sched/graph.h"
#include "whisper/nn/forward.h"
#include "whisper/nn/ops.h"

#define ENC_CHUNK 256           /* rows per chunk; a multiple of NN_ATTN_QBLOCK */
#define ENC_MAX_SLOTS 64        /* attention scratch slots (>= graph threads) */

/* What one node does; all nodes of one encoder live in one array. */
enum eg_kind { EG_IM2COL, EG_LIN, EG_GELU, EG_ADD_LN, EG_KT, EG_ATTN };

struct eg_node {
	enum eg_kind kind;
	struct wsp_encoder *g;
	int r0, r1;                     /* rows */
	/* EG_LIN */
	const struct wsp_lin *lin;
	const float *in; size_t ldx;
	float *out; size_t ldy;
	/* EG_IM2COL; src NULL: the mel input of the run */
	float *col; const float *src;
	int n_chan, t_in, stride;
	size_t chan_stride, time_stride;
	/* EG_GELU: x rows of cols, plus optional add rows */
	float *x; size_t cols; const float *add;
	/* EG_ADD_LN: res += o (if o), y = LN(res); y NULL: the output of the run */
	float *res; const float *o; float *y; const struct wsp_ln *ln;
	/* EG_KT, EG_ATTN */
	const struct nn_attn *attn;
	int head;
};

struct wsp_encoder {
	const struct wsp_model *m;
	const float *mel;               /* input and output of the current run */
	float *out;
	struct wsp_exec x1;             /* the caller's exec, one thread */
	int ctx, d, nffn;
	int chunk;                      /* ENC_CHUNK, or all rows on the fp32 path */
	/* buffers */
	float *col1, *col2, *h1, *x, *h, *qkv[2], *att, *o, *ffn, *kt;
	uint32_t *kt2, *v2;             /* bf16 attention: packed keys and values */
	size_t ldkt, v2_head;
	struct nn_attn attn[2];        /* per QKV copy */
	float *scratch;                 /* ENC_MAX_SLOTS × NN_ATTN_QBLOCK × ldkt */
	int nslots;
	atomic_ulong slots_busy;
	/* nodes */
	struct eg_node *nodes;
	int n_nodes, cap_nodes;
	struct npu_graph *graph;
};

static void eg_free(struct wsp_encoder *g)
{
	free(g->col1);
	free(g->col2);
	free(g->h1);
	free(g->x);
	free(g->h);
	free(g->qkv[0]);
	free(g->qkv[1]);
	free(g->att);
	free(g->o);
	free(g->ffn);
	free(g->kt);
	free(g->kt2);
	free(g->scratch);
	free(g->nodes);
	npu_graph_free(g->graph);
}

static int slot_get(struct wsp_encoder *g)
{
	for (;;) {
		unsigned long busy = atomic_load(&g->slots_busy);

		for (int i = 0; i < g->nslots; i++)
			if (!(busy & (1ul << i)) &&
			    atomic_compare_exchange_weak(&g->slots_busy, &busy, busy | (1ul << i)))
				return i;
	}
}

static void slot_put(struct wsp_encoder *g, int i)
{
	atomic_fetch_and(&g->slots_busy, ~(1ul << i));
}

static int node_run(void *arg)
{
	struct eg_node *n = arg;
	struct wsp_encoder *g = n->g;
	int rows = n->r1 - n->r0;

	switch (n->kind) {
	case EG_IM2COL:
		nn_im2col_k3(n->col, n->src ? n->src : g->mel, n->n_chan, n->t_in, n->stride, n->chan_stride,
			      n->time_stride, n->r0, n->r1);
		return 0;
	case EG_LIN:
		return wsp_linear(&g->x1, n->lin, n->in + (size_t)n->r0 * n->ldx, rows, n->ldx,
				  n->out + (size_t)n->r0 * n->ldy, n->ldy);
	case EG_GELU:
		nn_gelu(n->x + (size_t)n->r0 * n->cols, (size_t)rows * n->cols);
		if (n->add)
			nn_add(n->x + (size_t)n->r0 * n->cols, n->add + (size_t)n->r0 * n->cols,
				(size_t)rows * n->cols);
		return 0;
	case EG_ADD_LN:
		if (n->o)
			nn_add(n->res + (size_t)n->r0 * g->d, n->o + (size_t)n->r0 * g->d,
				(size_t)rows * g->d);
		nn_layer_norm((n->y ? n->y : g->out) + (size_t)n->r0 * g->d, n->res + (size_t)n->r0 * g->d,
			       n->ln->g, n->ln->b, rows, g->d);
		return 0;
	case EG_KT:
		if (n->attn->bf16)
			nn_attn_pack_bf16(n->attn, n->head,
					   g->kt2 + (size_t)n->head * n->attn->hd / 2 * g->ldkt,
					   g->ldkt, g->v2 + n->head * g->v2_head);
		else
			nn_attn_transpose_k(n->attn, n->head,
					     g->kt + (size_t)n->head * n->attn->hd * g->ldkt,
					     g->ldkt);
		return 0;
	case EG_ATTN: {
		int s = slot_get(g);
		float *sc = g->scratch + (size_t)s * NN_ATTN_QBLOCK * g->ldkt;

		for (int q0 = n->r0; q0 < n->r1; q0 += NN_ATTN_QBLOCK) {
			int nq = n->r1 - q0 < NN_ATTN_QBLOCK ? n->r1 - q0 : NN_ATTN_QBLOCK;

			if (n->attn->bf16)
				nn_attn_block_bf16(n->attn, n->head, q0, nq,
					g->kt2 + (size_t)n->head * n->attn->hd / 2 * g->ldkt,
					g->ldkt, g->v2 + n->head * g->v2_head, sc);
			else
				nn_attn_block(n->attn, n->head, q0, nq,
					g->kt + (size_t)n->head * n->attn->hd * g->ldkt,
					g->ldkt, sc);
		}
		slot_put(g, s);
		return 0;
	}
	}
	return -EINVAL;
}

static struct eg_node *node_new(struct wsp_encoder *g, enum eg_kind kind, int r0, int r1)
{
	struct eg_node *n;

	if (g->n_nodes == g->cap_nodes)
		return NULL;
	n = &g->nodes[g->n_nodes++];
	memset(n, 0, sizeof(*n));
	n->kind = kind;
	n->g = g;
	n->r0 = r0;
	n->r1 = r1;
	return n;
}

/* Add @n to the graph after @deps; a linear may become an engine matmul node. */
static int node_add(struct wsp_encoder *g, struct eg_node *n, const int *deps, int ndeps)
{
	const struct wsp_lin *l = n->lin;

	if (n->kind == EG_LIN && g->x1.precision == WSP_INT8 && g->x1.tenant &&
	    l->n_groups <= 1 && !l->act_resid && l->q)
		return npu_graph_add_matmul(g->graph, n->in + (size_t)n->r0 * n->ldx,
					    n->r1 - n->r0, l->in, n->ldx, l->q, l->b,
					    n->out + (size_t)n->r0 * n->ldy, n->ldy, deps, ndeps);
	return npu_graph_add_op(g->graph, node_run, n, deps, ndeps);
}

static int eg_alloc(struct wsp_encoder *g, const struct wsp_model *m)
{
	const struct wsp_hparams *hp = &m->hp;
	size_t ctx = (size_t)hp->n_audio_ctx, d = (size_t)hp->n_audio_state;

	g->ctx = (int)ctx;
	g->d = (int)d;
	for (int i = 0; i < hp->n_audio_layer; i++)
		if (m->enc[i].fc1.out > g->nffn)
			g->nffn = m->enc[i].fc1.out;
	g->ldkt = nn_attn_ld(g->ctx);
	g->col1 = malloc(2 * ctx * 3 * hp->n_mels * sizeof(float));
	g->col2 = malloc(ctx * 3 * d * sizeof(float));
	g->h1 = malloc(2 * ctx * d * sizeof(float));
	g->x = malloc(ctx * d * sizeof(float));
	g->h = malloc(ctx * d * sizeof(float));
	g->qkv[0] = malloc(ctx * 3 * d * sizeof(float));
	g->qkv[1] = malloc(ctx * 3 * d * sizeof(float));
	g->att = malloc(ctx * d * sizeof(float));
	g->o = malloc(ctx * d * sizeof(float));
	g->ffn = malloc(ctx * g->nffn * sizeof(float));
	g->kt = malloc(d * g->ldkt * sizeof(float));
	g->v2_head = (ctx + 1) / 2 * (d / hp->n_audio_head);
	g->kt2 = malloc((d / 2 * g->ldkt + hp->n_audio_head * g->v2_head) * sizeof(uint32_t));
	if (!g->col1 || !g->col2 || !g->h1 || !g->x || !g->h || !g->qkv[0] || !g->qkv[1] ||
	    !g->att || !g->o || !g->ffn || !g->kt || !g->kt2)
		return -ENOMEM;
	g->v2 = g->kt2 + d / 2 * g->ldkt;
	for (int i = 0; i < 2; i++)
		g->attn[i] = (struct nn_attn){
			.q = g->qkv[i], .ldq = 3 * d,
			.k = g->qkv[i] + d, .ldk = 3 * d,
			.v = g->qkv[i] + 2 * d, .ldv = 3 * d,
			.out = g->att, .ldo = d,
			.n_q = g->ctx, .n_kv = g->ctx, .n_head = hp->n_audio_head,
			.hd = (int)d / hp->n_audio_head, .causal = 0,
			.bf16 = wsp_attn_use_bf16(&g->x1, (int)d / hp->n_audio_head),
		};
	return 0;
}

/* Chunk c of @total rows. */
static int c0(int c, int total, int chunk)
{
	int r = c * chunk;

	return r < total ? r : total;
}

/*
 * Build the graph. @dep[c] holds, per chunk, the node that last wrote the
 * chunk's rows of the residual-stream input to the next step.
 */
#define NEW(kind, a, b)				\
	do {					\
		n = node_new(g, kind, a, b);	\
		if (!n)				\
			goto out;		\
	} while (0)
#define ADD(var, deps, nd)				\
	do {						\
		var = node_add(g, n, deps, nd);		\
		if (var < 0) {				\
			ret = var;			\
			goto out;			\
		}					\
	} while (0)

static int eg_build(struct wsp_encoder *g)
{
	const struct wsp_model *m = g->m;
	const struct wsp_hparams *hp = &m->hp;
	int ctx = g->ctx, d = g->d, nh = hp->n_audio_head;
	int ch = g->chunk, nc = (ctx + ch - 1) / ch, nc1 = (2 * ctx + ch - 1) / ch;
	int *dep = calloc((size_t)nc1 + nc + nh + 8, sizeof(int)), *all = dep + nc1;
	int *kt = all + nc, id, ret = -ENOMEM;
	struct eg_node *n;

	if (!dep)
		return -ENOMEM;
	if (nh > 64) {
		fprintf(stderr, "wsp_encode: %d heads (at most 64)\n", nh);
		free(dep);
		return -EINVAL;
	}
	/* conv1: im2col, matmul, GELU per chunk of 2·ctx frames */
	for (int c = 0; c < nc1; c++) {
		int r0 = c0(c, 2 * ctx, ch), r1 = c0(c + 1, 2 * ctx, ch);

		NEW(EG_IM2COL, r0, r1);
		n->col = g->col1; n->src = NULL; n->n_chan = hp->n_mels; n->t_in = 2 * ctx;
		n->stride = 1; n->chan_stride = (size_t)2 * ctx; n->time_stride = 1;
		ADD(id, NULL, 0);
		NEW(EG_LIN, r0, r1);
		n->lin = &m->conv1; n->in = g->col1; n->ldx = (size_t)m->conv1.in;
		n->out = g->h1; n->ldy = (size_t)d;
		ADD(id, &id, 1);
		NEW(EG_GELU, r0, r1);
		n->x = g->h1; n->cols = (size_t)d;
		ADD(dep[c], &id, 1);
	}
	/* conv2 reads neighbouring frames: after all of conv1 */
	for (int c = 0; c < nc; c++) {
		int r0 = c0(c, ctx, ch), r1 = c0(c + 1, ctx, ch);

		NEW(EG_IM2COL, r0, r1);
		n->col = g->col2; n->src = g->h1; n->n_chan = d; n->t_in = 2 * ctx;
		n->stride = 2; n->chan_stride = 1; n->time_stride = (size_t)d;
		ADD(id, dep, nc1);
		NEW(EG_LIN, r0, r1);
		n->lin = &m->conv2; n->in = g->col2; n->ldx = (size_t)m->conv2.in;
		n->out = g->x; n->ldy = (size_t)d;
		ADD(id, &id, 1);
		NEW(EG_GELU, r0, r1);
		n->x = g->x; n->cols = (size_t)d; n->add = m->enc_pos;
		ADD(id, &id, 1);
		/* layer 0's first layer norm */
		NEW(EG_ADD_LN, r0, r1);
		n->res = g->x; n->y = hp->n_audio_layer ? g->h : NULL;
		n->ln = hp->n_audio_layer ? &m->enc[0].attn_ln : &m->enc_ln;
		ADD(all[c], &id, 1);
	}
	for (int l = 0; l < hp->n_audio_layer; l++) {
		const struct wsp_enc_layer *L = &m->enc[l];
		const struct nn_attn *a = &g->attn[l & 1];
		float *qkv = g->qkv[l & 1];

		/* QKV per chunk */
		for (int c = 0; c < nc; c++) {
			NEW(EG_LIN, c0(c, ctx, ch), c0(c + 1, ctx, ch));
			n->lin = &L->qkv; n->in = g->h; n->ldx = (size_t)d;
			n->out = qkv; n->ldy = 3 * (size_t)d;
			ADD(dep[c], &all[c], 1);
		}
		/* keys transposed per head, after every chunk's projection */
		for (int h = 0; h < nh; h++) {
			NEW(EG_KT, 0, ctx);
			n->attn = a; n->head = h;
			ADD(kt[h], dep, nc);
		}
		for (int c = 0; c < nc; c++) {
			int r0 = c0(c, ctx, ch), r1 = c0(c + 1, ctx, ch);
			int heads[64];

			for (int h = 0; h < nh && h < 64; h++) {
				NEW(EG_ATTN, r0, r1);
				n->attn = a; n->head = h;
				ADD(heads[h], &kt[h], 1);
			}
			NEW(EG_LIN, r0, r1);
			n->lin = &L->attn_out; n->in = g->att; n->ldx = (size_t)d;
			n->out = g->o; n->ldy = (size_t)d;
			ADD(id, heads, nh < 64 ? nh : 64);
			NEW(EG_ADD_LN, r0, r1);
			n->res = g->x; n->o = g->o; n->y = g->h; n->ln = &L->ffn_ln;
			ADD(id, &id, 1);
			NEW(EG_LIN, r0, r1);
			n->lin = &L->fc1; n->in = g->h; n->ldx = (size_t)d;
			n->out = g->ffn; n->ldy = (size_t)L->fc1.out;
			ADD(id, &id, 1);
			NEW(EG_GELU, r0, r1);
			n->x = g->ffn; n->cols = (size_t)L->fc1.out;
			ADD(id, &id, 1);
			NEW(EG_LIN, r0, r1);
			n->lin = &L->fc2; n->in = g->ffn; n->ldx = (size_t)L->fc1.out;
			n->out = g->o; n->ldy = (size_t)d;
			ADD(id, &id, 1);
			/* residual, then the next layer's first norm (or the final one) */
			NEW(EG_ADD_LN, r0, r1);
			n->res = g->x; n->o = g->o;
			n->y = l + 1 < hp->n_audio_layer ? g->h : NULL;
			n->ln = l + 1 < hp->n_audio_layer ? &m->enc[l + 1].attn_ln : &m->enc_ln;
			ADD(all[c], &id, 1);
		}
	}
	ret = 0;
out:
	free(dep);
	return ret;
}

void wsp_encoder_free(struct wsp_encoder *g)
{
	if (!g)
		return;
	eg_free(g);
	free(g);
}

int wsp_encoder_new(const struct wsp_model *m, const struct wsp_exec *x,
		    struct wsp_encoder **out)
{
	struct wsp_encoder *g;
	int thr, nc, nc1, ret;

	if (!m || !x || !out)
		return -EINVAL;
	*out = NULL;
	g = calloc(1, sizeof(*g));
	if (!g)
		return -ENOMEM;
	g->m = m;
	g->x1 = *x;
	g->x1.threads = 1;
	thr = wsp_exec_threads(x);
	ret = eg_alloc(g, m);
	if (ret)
		goto fail;
	g->nslots = thr < ENC_MAX_SLOTS ? thr : ENC_MAX_SLOTS;
	g->scratch = malloc((size_t)g->nslots * NN_ATTN_QBLOCK * g->ldkt * sizeof(float));
	/*
	 * fp32: one chunk, so one OpenBLAS sgemm runs at a time (two at once,
	 * one per graph worker, make OpenBLAS's own threads contend).
	 */
	g->chunk = x->precision == WSP_FP32 ? g->ctx : ENC_CHUNK;
	nc = (g->ctx + g->chunk - 1) / g->chunk;
	nc1 = (2 * g->ctx + g->chunk - 1) / g->chunk;
	g->cap_nodes = 3 * nc1 + 4 * nc +
		       m->hp.n_audio_layer * (m->hp.n_audio_head * (nc + 1) + 7 * nc);
	g->nodes = malloc((size_t)g->cap_nodes * sizeof(*g->nodes));
	ret = -ENOMEM;
	if (!g->scratch || !g->nodes)
		goto fail;
	ret = npu_graph_new(&g->graph, x->tenant, (unsigned)g->nslots);
	if (!ret)
		ret = eg_build(g);
	if (ret)
		goto fail;
	*out = g;
	return 0;
fail:
	fprintf(stderr, "wsp_encoder_new: cannot build the encoder graph: %d\n", ret);
	wsp_encoder_free(g);
	return ret;
}

int wsp_encoder_run(struct wsp_encoder *g, const float *mel, float *out)
{
	int ret;

	if (!g || !mel || !out)
		return -EINVAL;
	g->mel = mel;
	g->out = out;
	ret = npu_graph_run(g->graph);
	if (ret)
		fprintf(stderr, "wsp_encoder_run: encoder graph failed: %d\n", ret);
	return ret;
}

int wsp_encode(const struct wsp_model *m, const struct wsp_exec *x,
	       const float *mel, float *out)
{
	struct wsp_encoder *g;
	int ret;

	if (!m || !x || !mel || !out)
		return -EINVAL;
	ret = wsp_encoder_new(m, x, &g);
	if (ret)
		return ret;
	ret = wsp_encoder_run(g, mel, out);
	wsp_encoder_free(g);
	return ret;
}
