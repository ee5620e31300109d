// SPDX-License-Identifier: MIT
/*
 * whisper/decoder.c - the Whisper text decoder with a KV cache.
 *
 * All sequences (beams) advance together: a step appends n_tok tokens to each
 * of n_seq sequences, and every linear layer runs once over the n_seq·n_tok
 * rows. A prompt common to all sequences runs on sequence 0 alone and its
 * keys/values are copied to the others (wsp_decoder_step_shared()). Self-attention keys/values are cached per layer and sequence;
 * cross-attention keys/values are projected from the encoder output once, in
 * wsp_decoder_new(), and shared by all sequences.
 *
 * Keys are kept transposed (channel major: d rows of key positions), the
 * layout the attention kernel reads, so no step transposes anything: a new
 * self-attention key is written as one column of its sequence's cache.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "sched/graph.h"
#include "tiler/tile_pool.h"
#include "whisper/forward.h"
#include "whisper/ops.h"
#include "whisper/weights.h"

struct dec_node;

struct wsp_decoder {
	const struct wsp_model *m;
	struct wsp_exec xl;       /* the caller's, on one thread (see wsp_decoder_new()) */
	int n_seq, n_past;
	int n_run;                /* sequences the current step computes (1 or n_seq) */
	int same;                 /* every sequence's cache is sequence 0's (shared steps only) */
	struct wsp_dec_gang *gang; /* from the caller's exec; NULL: steps run alone */
	float **kself, **vself;   /* per layer: n_seq × d × ldk (keys, transposed)
				     and n_seq × n_text_ctx × d (values) */
	float **cross_kv;         /* per layer: n_audio_ctx × 2d */
	float **cross_kt;         /* per layer: d × ldc, the cross keys transposed */
	size_t ldk, ldc;          /* wsp_attn_ld(n_text_ctx), wsp_attn_ld(n_audio_ctx) */
	/* the step graph and its nodes; the current step's arguments */
	struct npu_graph *graph;
	struct dec_node *nodes;
	const int32_t *tokens;
	int n_tok, logits_from;
	float *logits;
	/* step scratch, grown on demand */
	int cap_rows;
	float *xs, *h, *qkv, *att, *ffn;
	float *reorder_tmp;       /* wsp_decoder_reorder(): n_seq × n_text_ctx × d, made on first use */
	/* membership of a gang round (see struct wsp_dec_gang) */
	struct wsp_decoder *gang_next;
	int gang_done, gang_ret;
};

/*
 * Steps of concurrent transcriptions run as one: a thread that asks for a
 * step queues its decoder; when no round is running it becomes the leader,
 * takes every queued decoder and runs their steps side by side, operation
 * by operation, with each linear layer as ONE matmul over all their rows
 * stacked (weights read once for all streams, not once per stream). Steps
 * asked for during a round wait for the next one (flat combining).
 */
struct wsp_dec_gang {
	pthread_mutex_t lock;
	pthread_cond_t cv;
	struct wsp_decoder *pending;  /* queued for the next round */
	int busy;                     /* a round is running */
	/* the leader's stacked rows and per-decoder work items, grown on demand */
	float *in, *out;
	size_t in_cap, out_cap;
	struct dec_node *nodes;
	int nodes_cap;
	/* counters: rounds and steps, for tests and tools */
	unsigned long rounds, steps;
};

static int dec_graph_build(struct wsp_decoder *d);

void wsp_decoder_free(struct wsp_decoder *d)
{
	if (!d)
		return;
	for (int l = 0; l < d->m->hp.n_text_layer; l++) {
		if (d->kself)
			free(d->kself[l]);
		if (d->vself)
			free(d->vself[l]);
		if (d->cross_kv)
			free(d->cross_kv[l]);
		if (d->cross_kt)
			free(d->cross_kt[l]);
	}
	npu_graph_free(d->graph);
	free(d->nodes);
	free(d->kself);
	free(d->vself);
	free(d->cross_kv);
	free(d->cross_kt);
	free(d->xs);
	free(d->h);
	free(d->qkv);
	free(d->att);
	free(d->ffn);
	free(d->reorder_tmp);
	free(d);
}

static int max_ffn(const struct wsp_model *m)
{
	int n = 0;

	for (int l = 0; l < m->hp.n_text_layer; l++)
		n = m->dec[l].fc1.out > n ? m->dec[l].fc1.out : n;
	return n;
}

static int grow(struct wsp_decoder *d, int rows)
{
	size_t dm = (size_t)d->m->hp.n_text_state;
	size_t nf = (size_t)max_ffn(d->m);
	float *p[5];
	size_t w[5] = { dm, dm, 3 * dm, dm, nf };

	if (rows <= d->cap_rows)
		return 0;
	for (int i = 0; i < 5; i++) {
		p[i] = malloc((size_t)rows * w[i] * sizeof(float));
		if (!p[i]) {
			while (i--)
				free(p[i]);
			return -ENOMEM;
		}
	}
	free(d->xs);
	free(d->h);
	free(d->qkv);
	free(d->att);
	free(d->ffn);
	d->xs = p[0];
	d->h = p[1];
	d->qkv = p[2];
	d->att = p[3];
	d->ffn = p[4];
	d->cap_rows = rows;
	return 0;
}

/* cross-attention keys/values of every layer from the encoder output @enc */
static int cross_project(struct wsp_decoder *d, const struct wsp_exec *x, const float *enc)
{
	const struct wsp_model *m = d->m;
	const struct wsp_hparams *hp = &m->hp;
	size_t dm = (size_t)hp->n_text_state;

	for (int l = 0; l < hp->n_text_layer; l++) {
		struct wsp_attn a = {
			.n_kv = hp->n_audio_ctx, .n_head = hp->n_text_head,
			.hd = (int)dm / hp->n_text_head, .ldk = 2 * dm,
		};
		int ret = wsp_linear(x, &m->dec[l].cross_kv, enc, hp->n_audio_ctx,
				     (size_t)hp->n_audio_state, d->cross_kv[l], 2 * dm);

		if (ret)
			return ret;
		a.k = d->cross_kv[l];
		for (int h = 0; h < a.n_head; h++)
			wsp_attn_transpose_k(&a, h, d->cross_kt[l] + (size_t)h * a.hd * d->ldc,
					     d->ldc);
	}
	return 0;
}

int wsp_decoder_new(const struct wsp_model *m, const struct wsp_exec *x,
		    const float *enc, int n_seq, struct wsp_decoder **out)
{
	const struct wsp_hparams *hp;
	struct wsp_decoder *d;
	size_t dm, cache;
	int ret = -ENOMEM;

	if (!m || !x || !enc || !out || n_seq <= 0 || n_seq > 1024)
		return -EINVAL;
	*out = NULL;
	hp = &m->hp;
	dm = (size_t)hp->n_text_state;
	cache = (size_t)n_seq * hp->n_text_ctx * dm;
	d = calloc(1, sizeof(*d));
	if (!d)
		return -ENOMEM;
	d->m = m;
	/*
	 * A step is a chain of GEMVs (a few MB of weights each, 20 MB for the
	 * vocabulary) and attention over a few hundred to 1500 keys: splitting
	 * each over threads costs a fork-join per operation, and a worker that
	 * is descheduled stalls the step. Measured on 2 shared cores, greedy
	 * decoding took ~30% less wall and CPU time with the layers on one
	 * thread, and less again with the vocabulary projection on one thread
	 * too. Steps of concurrent transcriptions run side by side instead.
	 */
	d->xl = *x;
	d->xl.threads = 1;
	d->gang = x->gang;
	d->n_seq = n_seq;
	d->n_run = n_seq;
	d->kself = calloc((size_t)hp->n_text_layer, sizeof(float *));
	d->vself = calloc((size_t)hp->n_text_layer, sizeof(float *));
	d->cross_kv = calloc((size_t)hp->n_text_layer, sizeof(float *));
	d->cross_kt = calloc((size_t)hp->n_text_layer, sizeof(float *));
	if (!d->kself || !d->vself || !d->cross_kv || !d->cross_kt)
		goto fail;
	d->ldk = wsp_attn_ld(hp->n_text_ctx);
	d->ldc = wsp_attn_ld(hp->n_audio_ctx);
	for (int l = 0; l < hp->n_text_layer; l++) {
		d->kself[l] = calloc((size_t)n_seq * dm * d->ldk, sizeof(float));
		d->vself[l] = malloc(cache * sizeof(float));
		d->cross_kv[l] = malloc((size_t)hp->n_audio_ctx * 2 * dm * sizeof(float));
		d->cross_kt[l] = calloc(dm * d->ldc, sizeof(float));
		if (!d->kself[l] || !d->vself[l] || !d->cross_kv[l] || !d->cross_kt[l])
			goto fail;
	}
	ret = cross_project(d, x, enc);
	if (ret)
		goto fail;
	ret = dec_graph_build(d);
	if (ret)
		goto fail;
	*out = d;
	return 0;
fail:
	wsp_decoder_free(d);
	return ret;
}

void wsp_decoder_reset(struct wsp_decoder *d)
{
	if (d) {
		d->n_past = 0;
		d->same = 0;
	}
}

int wsp_decoder_set_encoder(struct wsp_decoder *d, const struct wsp_exec *x, const float *enc)
{
	if (!d || !x || !enc)
		return -EINVAL;
	d->n_past = 0;
	d->same = 0;
	return cross_project(d, x, enc);
}

int wsp_decoder_reorder(struct wsp_decoder *d, const int *src)
{
	size_t dm, per, used, perk;
	int n_move = 0;
	float *tmp;

	if (!d || !src)
		return -EINVAL;
	for (int i = 0; i < d->n_seq; i++) {
		if (src[i] < 0 || src[i] >= d->n_seq)
			return -EINVAL;
		n_move += src[i] != i;
	}
	dm = (size_t)d->m->hp.n_text_state;
	per = (size_t)d->m->hp.n_text_ctx * dm;
	used = (size_t)d->n_past * dm;
	perk = dm * d->ldk;
	if (used == 0 || n_move == 0 || d->same)
		return 0;   /* nothing moves, or every source equals its destination */
	if (!d->reorder_tmp) {
		d->reorder_tmp = malloc((size_t)d->n_seq * per * sizeof(float));
		if (!d->reorder_tmp)
			return -ENOMEM;
	}
	tmp = d->reorder_tmp;
	/* only the sequences that change are copied: all reads first, then the writes */
	for (int l = 0; l < d->m->hp.n_text_layer; l++) {
		float *kc = d->kself[l], *vc = d->vself[l];

		/* values: n_past rows per sequence, contiguous */
		for (int i = 0; i < d->n_seq; i++)
			if (src[i] != i)
				memcpy(tmp + i * used, vc + src[i] * per, used * sizeof(float));
		for (int i = 0; i < d->n_seq; i++)
			if (src[i] != i)
				memcpy(vc + i * per, tmp + i * used, used * sizeof(float));
		/* keys: d rows of n_past positions per sequence */
		for (int i = 0; i < d->n_seq; i++)
			if (src[i] != i)
				for (size_t c = 0; c < dm; c++)
					memcpy(tmp + i * used + c * d->n_past,
					       kc + src[i] * perk + c * d->ldk,
					       d->n_past * sizeof(float));
		for (int i = 0; i < d->n_seq; i++)
			if (src[i] != i)
				for (size_t c = 0; c < dm; c++)
					memcpy(kc + i * perk + c * d->ldk,
					       tmp + i * used + c * d->n_past,
					       d->n_past * sizeof(float));
	}
	return 0;
}

/*
 * The step as a job graph (sched/graph.h), built once per decoder: one node
 * per operation of each layer, in dependency order, the per-sequence
 * self-attentions side by side. The shapes of a step (n_tok, n_past, the
 * tokens and logits) are read from the decoder when a node runs, so the
 * same graph serves every step. It runs on the calling thread (see
 * wsp_decoder_new() for why); matmuls go through wsp_linear(), i.e. through
 * the engine tenant when the caller gave one.
 */
enum dec_op {
	D_EMBED, D_LN_SELF, D_QKV, D_SELF, D_SELF_OUT, D_ADD_LN_CROSS, D_CROSS_Q, D_CROSS,
	D_CROSS_OUT, D_ADD_LN_FFN, D_FC1, D_GELU, D_FC2, D_ADD, D_LN_OUT, D_VOCAB,
};

struct dec_node {
	struct wsp_decoder *d;
	enum dec_op op;
	int l, s;       /* layer, sequence (D_SELF) */
};

static int self_attention(struct wsp_decoder *d, int l, int s)
{
	const struct wsp_model *m = d->m;
	int dm = m->hp.n_text_state, nh = m->hp.n_text_head, n_tok = d->n_tok;
	size_t per = (size_t)m->hp.n_text_ctx * dm;
	float *kc = d->kself[l] + s * (size_t)dm * d->ldk, *vc = d->vself[l] + s * per;
	const float *q = d->qkv + (size_t)s * n_tok * 3 * dm;
	struct wsp_attn a = {
		.q = q, .ldq = 3 * (size_t)dm,
		.kt = kc, .ldkt = d->ldk, .v = vc, .ldv = (size_t)dm,
		.out = d->att + (size_t)s * n_tok * dm, .ldo = (size_t)dm,
		.n_q = n_tok, .n_kv = d->n_past + n_tok, .n_head = nh, .hd = dm / nh,
		.causal = 1,
	};

	/* append this step's keys (as columns) and values to the cache */
	for (int t = 0; t < n_tok; t++) {
		const float *kn = q + (size_t)t * 3 * dm + dm;

		for (int c = 0; c < dm; c++)
			kc[(size_t)c * d->ldk + d->n_past + t] = kn[c];
		memcpy(vc + (size_t)(d->n_past + t) * dm, q + (size_t)t * 3 * dm + 2 * dm,
		       (size_t)dm * sizeof(float));
	}
	return wsp_attention(&a, 1);
}

static int cross_attention(struct wsp_decoder *d, int l)
{
	const struct wsp_model *m = d->m;
	int dm = m->hp.n_text_state, nh = m->hp.n_text_head;
	struct wsp_attn a = {
		.q = d->qkv, .ldq = (size_t)dm,
		.kt = d->cross_kt[l], .ldkt = d->ldc,
		.v = d->cross_kv[l] + dm, .ldv = 2 * (size_t)dm,
		.out = d->att, .ldo = (size_t)dm,
		.n_q = d->n_run * d->n_tok, .n_kv = m->hp.n_audio_ctx, .n_head = nh,
		.hd = dm / nh, .causal = 0,
	};

	return wsp_attention(&a, 1);
}

static void embed(struct wsp_decoder *d)
{
	int dm = d->m->hp.n_text_state, rows = d->n_run * d->n_tok;

	for (int i = 0; i < rows; i++) {
		const float *p = d->m->dec_pos + (size_t)(d->n_past + i % d->n_tok) * dm;
		float *r = d->xs + (size_t)i * dm;

		if (d->m->tok_emb_h) {   /* an INT8-only model keeps it as exact f16 */
			wsp_f16_row_to_f32(r, d->m->tok_emb_h + (size_t)d->tokens[i] * dm,
					   (size_t)dm);
			for (int k = 0; k < dm; k++)
				r[k] += p[k];
			continue;
		}
		const float *e = d->m->tok_emb.w + (size_t)d->tokens[i] * dm;

		for (int k = 0; k < dm; k++)
			r[k] = e[k] + p[k];
	}
}

/* final norm for the requested positions, gathered densely, then logits */
static int logits_out(struct wsp_decoder *d, int vocab)
{
	const struct wsp_hparams *hp = &d->m->hp;
	int dm = hp->n_text_state, n_out = d->n_tok - d->logits_from;

	if (n_out == 0)
		return 0;
	if (vocab)
		return wsp_linear(&d->xl, &d->m->tok_emb, d->h, d->n_run * n_out, (size_t)dm,
				  d->logits, (size_t)hp->n_vocab);
	for (int s = 0; s < d->n_run; s++)
		wsp_layer_norm(d->h + (size_t)s * n_out * dm,
			       d->xs + ((size_t)s * d->n_tok + d->logits_from) * dm,
			       d->m->dec_ln.g, d->m->dec_ln.b, n_out, dm);
	return 0;
}

static int dec_node_run(void *arg)
{
	struct dec_node *n = arg;
	struct wsp_decoder *d = n->d;
	const struct wsp_dec_layer *L = &d->m->dec[n->l];
	const struct wsp_exec *x = &d->xl;
	int dm = d->m->hp.n_text_state, rows = d->n_run * d->n_tok;
	size_t nd = (size_t)rows * dm;

	switch (n->op) {
	case D_EMBED:
		embed(d);
		return 0;
	case D_LN_SELF:
		wsp_layer_norm(d->h, d->xs, L->self_ln.g, L->self_ln.b, rows, dm);
		return 0;
	case D_QKV:
		return wsp_linear(x, &L->self_qkv, d->h, rows, (size_t)dm, d->qkv, 3 * (size_t)dm);
	case D_SELF:
		return n->s < d->n_run ? self_attention(d, n->l, n->s) : 0;
	case D_SELF_OUT:
		return wsp_linear(x, &L->self_out, d->att, rows, (size_t)dm, d->h, (size_t)dm);
	case D_ADD_LN_CROSS:
		wsp_add(d->xs, d->h, nd);
		wsp_layer_norm(d->h, d->xs, L->cross_ln.g, L->cross_ln.b, rows, dm);
		return 0;
	case D_CROSS_Q:
		return wsp_linear(x, &L->cross_q, d->h, rows, (size_t)dm, d->qkv, (size_t)dm);
	case D_CROSS:
		return cross_attention(d, n->l);
	case D_CROSS_OUT:
		return wsp_linear(x, &L->cross_out, d->att, rows, (size_t)dm, d->h, (size_t)dm);
	case D_ADD_LN_FFN:
		wsp_add(d->xs, d->h, nd);
		wsp_layer_norm(d->h, d->xs, L->ffn_ln.g, L->ffn_ln.b, rows, dm);
		return 0;
	case D_FC1:
		return wsp_linear(x, &L->fc1, d->h, rows, (size_t)dm, d->ffn, (size_t)L->fc1.out);
	case D_GELU:
		wsp_gelu(d->ffn, (size_t)rows * L->fc1.out);
		return 0;
	case D_FC2:
		return wsp_linear(x, &L->fc2, d->ffn, rows, (size_t)L->fc1.out, d->h, (size_t)dm);
	case D_ADD:
		wsp_add(d->xs, d->h, nd);
		return 0;
	case D_LN_OUT:
		return logits_out(d, 0);
	case D_VOCAB:
		return logits_out(d, 1);
	}
	return -EINVAL;
}

static int dec_graph_build(struct wsp_decoder *d)
{
	int n_layer = d->m->hp.n_text_layer, prev, id, k = 0, *self;
	int ret = npu_graph_new(&d->graph, NULL, 1);

	if (ret)
		return ret;
	d->nodes = calloc((size_t)n_layer * (12 + d->n_seq) + 3, sizeof(*d->nodes));
	self = calloc((size_t)d->n_seq, sizeof(int));
	if (!d->nodes || !self) {
		free(self);
		return -ENOMEM;
	}
#define NODE(op_, l_, s_, deps, nd)						\
	do {									\
		d->nodes[k] = (struct dec_node){ d, op_, l_, s_ };		\
		id = npu_graph_add_op(d->graph, dec_node_run, &d->nodes[k++], deps, nd); \
		if (id < 0)							\
			goto out;						\
	} while (0)
	NODE(D_EMBED, 0, 0, NULL, 0);
	prev = id;
	for (int l = 0; l < n_layer; l++) {
		NODE(D_LN_SELF, l, 0, &prev, 1);
		NODE(D_QKV, l, 0, &id, 1);
		prev = id;
		for (int s = 0; s < d->n_seq; s++) {
			NODE(D_SELF, l, s, &prev, 1);
			self[s] = id;
		}
		NODE(D_SELF_OUT, l, 0, self, d->n_seq);
		NODE(D_ADD_LN_CROSS, l, 0, &id, 1);
		NODE(D_CROSS_Q, l, 0, &id, 1);
		NODE(D_CROSS, l, 0, &id, 1);
		NODE(D_CROSS_OUT, l, 0, &id, 1);
		NODE(D_ADD_LN_FFN, l, 0, &id, 1);
		NODE(D_FC1, l, 0, &id, 1);
		NODE(D_GELU, l, 0, &id, 1);
		NODE(D_FC2, l, 0, &id, 1);
		NODE(D_ADD, l, 0, &id, 1);
		prev = id;
	}
	NODE(D_LN_OUT, 0, 0, &prev, 1);
	NODE(D_VOCAB, 0, 0, &id, 1);
#undef NODE
	id = 0;
out:
	free(self);
	return id < 0 ? id : 0;
}

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
	ret = dec_node_run(&gi->nodes[i]);
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
	 * Only cross-attention (every query against all 1500 audio frames)
	 * is worth a pool call; norms and the short self-attentions take a
	 * few microseconds, less than waking a worker.
	 */
	pool = op == D_CROSS && count > 1 && list[0]->xl.threads != 1 ?
	       tile_pool_default() : NULL;
	if (pool)
		tile_pool_for(pool, count, list[0]->xl.threads > 0 ? list[0]->xl.threads : 0,
			      gang_item, &gi);
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
		embed(list[i]);
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
		ret = logits_out(list[i], 0);
	if (!ret)
		ret = gang_linear(g, list, n, D_VOCAB, 0);
	return ret;
}

/* run @d's prepared step in a round, led by this thread or another */
static int gang_step(struct wsp_dec_gang *g, struct wsp_decoder *d)
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

/* one step over the first @n_run sequences, @tokens n_run × n_tok */
static int step_run(struct wsp_decoder *d, int n_run, const int32_t *tokens, int n_tok,
		    int logits_from, float *logits)
{
	const struct wsp_hparams *hp;
	int rows, ret;

	if (!d || !tokens || n_tok <= 0 || logits_from < 0 || logits_from > n_tok ||
	    (!logits && logits_from < n_tok))
		return -EINVAL;
	hp = &d->m->hp;
	if (d->n_past + n_tok > hp->n_text_ctx)
		return -E2BIG;
	rows = n_run * n_tok;
	for (int i = 0; i < rows; i++)
		if (tokens[i] < 0 || tokens[i] >= hp->n_vocab)
			return -EINVAL;
	ret = grow(d, rows);
	if (ret)
		return ret;
	d->n_run = n_run;
	d->tokens = tokens;
	d->n_tok = n_tok;
	d->logits_from = logits_from;
	d->logits = logits;
	ret = d->gang ? gang_step(d->gang, d) : npu_graph_run(d->graph);
	d->n_run = d->n_seq;
	return ret;   /* on error the cache is unchanged: n_past not advanced */
}

int wsp_decoder_step(struct wsp_decoder *d, const int32_t *tokens, int n_tok,
		     int logits_from, float *logits)
{
	int ret = step_run(d, d ? d->n_seq : 0, tokens, n_tok, logits_from, logits);

	if (ret)
		return ret;
	d->n_past += n_tok;
	d->same = d->n_seq == 1;
	return 0;
}

int wsp_decoder_step_shared(struct wsp_decoder *d, const int32_t *tokens, int n_tok,
			    int logits_from, float *logits)
{
	size_t dm, per, perk, n_out, V;
	int ret = step_run(d, 1, tokens, n_tok, logits_from, logits);

	if (ret)
		return ret;
	/* sequence 0's new keys and values, and its logits, to the others */
	dm = (size_t)d->m->hp.n_text_state;
	per = (size_t)d->m->hp.n_text_ctx * dm;
	perk = dm * d->ldk;
	for (int l = 0; l < d->m->hp.n_text_layer; l++) {
		const float *k0 = d->kself[l] + d->n_past;
		const float *v0 = d->vself[l] + (size_t)d->n_past * dm;

		for (int s = 1; s < d->n_seq; s++) {
			for (size_t c = 0; c < dm; c++)
				memcpy(d->kself[l] + s * perk + c * d->ldk + d->n_past,
				       k0 + c * d->ldk, (size_t)n_tok * sizeof(float));
			memcpy(d->vself[l] + s * per + (size_t)d->n_past * dm, v0,
			       (size_t)n_tok * dm * sizeof(float));
		}
	}
	n_out = (size_t)(n_tok - logits_from);
	V = (size_t)d->m->hp.n_vocab;
	for (int s = 1; s < d->n_seq && n_out; s++)
		memcpy(logits + s * n_out * V, logits, n_out * V * sizeof(float));
	d->same = d->n_past == 0 || d->same;
	d->n_past += n_tok;
	return 0;
}
