// SPDX-License-Identifier: MIT
/*
 * whisper/nn/decoder_gang.c - the decoder gang: steps of concurrent
 * transcriptions run as one round, each linear layer as one matmul over all
 * their rows stacked (flat combining; see struct wsp_dec_gang).
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "tiler/tile_pool.h"
#include "whisper/nn/decoder_internal.h"
#include "whisper/nn/ops.h"
#include "whisper/model/model_internal.h"

int wsp_dec_gang_new(struct wsp_dec_gang **out)
{
	struct wsp_dec_gang *g;

	if (!out)
		return -EINVAL;
	g = calloc(1, sizeof(*g));
	if (!g)
		return -ENOMEM;
	if (pthread_mutex_init(&g->lock, NULL)) {
		free(g);
		return -ENOMEM;
	}
	if (pthread_cond_init(&g->cv, NULL)) {
		pthread_mutex_destroy(&g->lock);
		free(g);
		return -ENOMEM;
	}
	*out = g;
	return 0;
}

void wsp_dec_gang_free(struct wsp_dec_gang *g)
{
	if (!g)
		return;
	pthread_cond_destroy(&g->cv);
	pthread_mutex_destroy(&g->lock);
	free(g->in);
	free(g->out);
	free(g->nodes);
	free(g);
}

void wsp_dec_gang_counters(struct wsp_dec_gang *g, unsigned long *rounds, unsigned long *steps)
{
	pthread_mutex_lock(&g->lock);
	*rounds = g->rounds;
	*steps = g->steps;
	pthread_mutex_unlock(&g->lock);
}

static int grow_buf(float **p, size_t *cap, size_t n)
{
	float *q;

	if (n <= *cap)
		return 0;
	q = malloc(n * sizeof(float));
	if (!q)
		return -ENOMEM;
	free(*p);
	*p = q;
	*cap = n;
	return 0;
}

/* where a linear operation of a step reads and writes */
struct lin_io {
	const struct wsp_lin *w;
	const float *in;
	float *out;
	int rows, K, N;
	size_t ldo;
};

static void lin_io_of(struct wsp_decoder *d, enum dec_op op, int l, struct lin_io *io)
{
	const struct wsp_dec_layer *L = &d->m->dec[l];
	int dm = d->m->hp.n_text_state;

	io->rows = d->n_run * d->n_tok;
	io->K = dm;
	io->in = d->h;
	io->out = d->h;
	switch (op) {
	case D_QKV:
		io->w = &L->self_qkv;
		io->out = d->qkv;
		break;
	case D_SELF_OUT:
		io->w = &L->self_out;
		io->in = d->att;
		break;
	case D_CROSS_Q:
		io->w = &L->cross_q;
		io->out = d->qkv;
		break;
	case D_CROSS_OUT:
		io->w = &L->cross_out;
		io->in = d->att;
		break;
	case D_FC1:
		io->w = &L->fc1;
		io->out = d->ffn;
		break;
	case D_FC2:
		io->w = &L->fc2;
		io->in = d->ffn;
		io->K = L->fc1.out;
		break;
	default: /* D_VOCAB */
		io->w = &d->m->tok_emb;
		io->out = d->logits;
		io->rows = d->n_run * (d->n_tok - d->logits_from);
		break;
	}
	io->N = op == D_VOCAB ? d->m->hp.n_vocab : io->w->out;
	io->ldo = (size_t)io->N;
}

/* one linear operation for every decoder of @list, as one stacked matmul */
static int gang_linear(struct wsp_dec_gang *g, struct wsp_decoder **list, int n,
		       enum dec_op op, int l)
{
	struct lin_io io;
	size_t rows = 0, off = 0;
	int ret, n_live = 0;

	for (int i = 0; i < n; i++) {
		lin_io_of(list[i], op, l, &io);
		rows += (size_t)io.rows;
		n_live += io.rows > 0;
	}
	if (n_live <= 1) {
		for (int i = 0; i < n; i++) {
			lin_io_of(list[i], op, l, &io);
			if (io.rows > 0)
				return wsp_linear(&list[i]->xl, io.w, io.in, io.rows, (size_t)io.K,
						  io.out, io.ldo);
		}
		return 0;
	}
	ret = grow_buf(&g->in, &g->in_cap, rows * (size_t)io.K);
	if (!ret)
		ret = grow_buf(&g->out, &g->out_cap, rows * (size_t)io.N);
	if (ret)
		return ret;
	for (int i = 0; i < n; i++) {
		lin_io_of(list[i], op, l, &io);
		if (io.rows > 0)
			memcpy(g->in + off * io.K, io.in, (size_t)io.rows * io.K * sizeof(float));
		off += (size_t)io.rows;
	}
	ret = wsp_linear(&list[0]->xl, io.w, g->in, (int)rows, (size_t)io.K, g->out, (size_t)io.N);
	if (ret)
		return ret;
	off = 0;
	for (int i = 0; i < n; i++) {
		lin_io_of(list[i], op, l, &io);
		if (io.rows > 0)
			memcpy(io.out, g->out + off * io.N, (size_t)io.rows * io.N * sizeof(float));
		off += (size_t)io.rows;
	}
	return 0;
}

/* The per-decoder operations of a round, as items of the tiler's pool. */
struct gang_items {
	struct dec_node *nodes;
	_Atomic int ret;
};

static void gang_item(void *arg, int i, int worker)
{
	struct gang_items *gi = arg;
	int ret;

	(void)worker;
	ret = wsp_dec_node_run(&gi->nodes[i]);
	if (ret) {
		int zero = 0;

		atomic_compare_exchange_strong(&gi->ret, &zero, ret);
	}
}

/*
 * Operation @op of layer @l for every decoder of @list (and, for
 * self-attention, every sequence of each): independent pieces. The
 * decoders' cross-attentions, the per-stream bulk of a step, run on the
 * tiler's pool side by side; the leader used to run them one after
 * another, leaving the other cores idle while the other streams waited for
 * the round.
 */
static int gang_per_decoder(struct wsp_dec_gang *g, struct wsp_decoder **list, int n,
			    enum dec_op op, int l)
{
	struct gang_items gi;
	struct tile_pool *pool;
	int count = 0, k = 0;

	for (int i = 0; i < n; i++)
		count += op == D_SELF ? list[i]->n_run : 1;
	if (count == 0)
		return 0;
	if (count > g->nodes_cap) {
		struct dec_node *nn = realloc(g->nodes, (size_t)count * sizeof(*nn));

		if (!nn)
			return -ENOMEM;
		g->nodes = nn;
		g->nodes_cap = count;
	}
	for (int i = 0; i < n; i++)
		for (int s = 0; s < (op == D_SELF ? list[i]->n_run : 1); s++)
			g->nodes[k++] = (struct dec_node){ list[i], op, l, s };
	gi.nodes = g->nodes;
	atomic_init(&gi.ret, 0);
	/*
	 * Self-attentions (one item per sequence) and several decoders'
	 * cross-attentions go to the tiler's pool; a lone decoder's
	 * cross-attention spreads its heads there itself (cross_attention(),
	 * decoder.c; nested in an item here it runs inline). Norms and adds
	 * take a few microseconds, less than waking a worker.
	 */
	pool = (op == D_CROSS || op == D_SELF) && count > 1 && list[0]->threads > 1 ?
	       tile_pool_default() : NULL;
	if (pool)
		tile_pool_for(pool, count, list[0]->threads, gang_item, &gi);
	else
		for (int i = 0; i < count; i++)
			gang_item(&gi, i, 0);
	return atomic_load(&gi.ret);
}

/* one round: the steps of @n decoders, each operation over all of them */
static int gang_round(struct wsp_dec_gang *g, struct wsp_decoder **list, int n)
{
	static const enum dec_op layer_ops[] = {
		D_LN_SELF, D_QKV, D_SELF, D_SELF_OUT, D_ADD_LN_CROSS, D_CROSS_Q, D_CROSS,
		D_CROSS_OUT, D_ADD_LN_FFN, D_FC1, D_GELU, D_FC2, D_ADD,
	};
	int n_layer = list[0]->m->hp.n_text_layer, ret = 0;

	for (int i = 0; i < n; i++)
		wsp_dec_embed(list[i]);
	for (int l = 0; l < n_layer && !ret; l++) {
		for (size_t k = 0; k < sizeof(layer_ops) / sizeof(layer_ops[0]) && !ret; k++) {
			enum dec_op op = layer_ops[k];

			switch (op) {
			case D_QKV: case D_SELF_OUT: case D_CROSS_Q: case D_CROSS_OUT:
			case D_FC1: case D_FC2:
				ret = gang_linear(g, list, n, op, l);
				break;
			default:
				ret = gang_per_decoder(g, list, n, op, l);
			}
		}
	}
	for (int i = 0; i < n && !ret; i++)
		ret = wsp_dec_logits_out(list[i], 0);
	if (!ret)
		ret = gang_linear(g, list, n, D_VOCAB, 0);
	return ret;
}

/* run @d's prepared step in a round, led by this thread or another */
int wsp_dec_gang_step(struct wsp_dec_gang *g, struct wsp_decoder *d)
{
	struct wsp_decoder *stack_list[16], **list;

	pthread_mutex_lock(&g->lock);
	d->gang_done = 0;
	d->gang_ret = 0;
	d->gang_next = g->pending;
	g->pending = d;
	while (!d->gang_done) {
		struct wsp_decoder *p;
		int n = 0, ret;

		if (g->busy) {
			pthread_cond_wait(&g->cv, &g->lock);
			continue;
		}
		g->busy = 1;
		for (p = g->pending; p; p = p->gang_next)
			n++;
		list = n <= 16 ? stack_list : malloc((size_t)n * sizeof(*list));
		n = 0;
		/* oldest first */
		for (p = g->pending; p; p = p->gang_next)
			if (list)
				list[n++] = p;
		for (int i = 0; i < n / 2; i++) {
			struct wsp_decoder *t = list[i];

			list[i] = list[n - 1 - i];
			list[n - 1 - i] = t;
		}
		p = g->pending;
		g->pending = NULL;
		g->rounds++;
		g->steps += (unsigned long)n;
		pthread_mutex_unlock(&g->lock);
		ret = list ? gang_round(g, list, n) : -ENOMEM;
		if (list != stack_list)
			free(list);
		pthread_mutex_lock(&g->lock);
		for (; p; p = p->gang_next) {
			p->gang_ret = ret;
			p->gang_done = 1;
		}
		g->busy = 0;
		pthread_cond_broadcast(&g->cv);
	}
	pthread_mutex_unlock(&g->lock);
	return d->gang_ret;
}

