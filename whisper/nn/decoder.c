// SPDX-License-Identifier: MIT
/*
 * whisper/nn/decoder.c - the Whisper text decoder with a KV cache.
 *
 * All sequences (beams) advance together: a step appends n_tok tokens to each
 * of n_seq sequences, and every linear layer runs once over the n_seq·n_tok
 * rows. A prompt common to all sequences runs on sequence 0 alone and its
 * keys/values are copied to the others (wsp_decoder_step_shared()). Self-attention keys/values are cached per layer and sequence;
 * cross-attention keys/values are projected from the encoder output once, in
 * wsp_decoder_new(), and shared by all sequences.
 *
 * Keys are kept transposed per head, in strips of 64 positions (hd × 64
 * floats each), and values per head, the layout the attention kernel reads
 * in address order, so no step transposes anything: a new self-attention key
 * is written as one column of its strip.
 */
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "sched/graph.h"
#include "tiler/tile_pool.h"
#include "whisper/nn/forward.h"
#include "whisper/nn/ops.h"
#include "whisper/model/weights.h"
#include "whisper/nn/decoder_internal.h"

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
		if (d->cross_v)
			free(d->cross_v[l]);
		if (d->cross_kt)
			free(d->cross_kt[l]);
		if (d->cross_k16)
			free(d->cross_k16[l]);
		if (d->cross_kscale)
			free(d->cross_kscale[l]);
		if (d->cross_v16)
			free(d->cross_v16[l]);
	}
	npu_graph_free(d->graph);
	free(d->nodes);
	free(d->kself);
	free(d->vself);
	free(d->cross_v);
	free(d->cross_kt);
	free(d->cross_k16);
	free(d->cross_kscale);
	free(d->cross_v16);
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

/*
 * Head @h's keys (@kt: strips of hd × 64 floats, n_kv keys) as int16 at
 * @k16, each channel scaled by its own absmax / 32767 into @scale[c]:
 * rounded to nearest, so each key is within half a step (1/65534 of its
 * channel's largest) of its float. The last strip's unused tail is zero.
 */
static void keys_to_i16(const float *kt, int hd, int n_kv, size_t ldc, int16_t *k16,
			float *scale)
{
	struct nn_attn strips = { .hd = hd, .kt_strips = 1 };

	for (int c = 0; c < hd; c++) {
		float mx = 0.0f, inv;

		for (int j = 0; j < n_kv; j++) {
			float v = fabsf(kt[nn_attn_kt_at(&strips, 0, c, j)]);

			mx = v > mx ? v : mx;
		}
		scale[c] = mx / 32767.0f;
		inv = mx > 0.0f ? 32767.0f / mx : 0.0f;
		for (int j = 0; j < (int)ldc; j++) {
			size_t at = nn_attn_kt_at(&strips, 0, c, j);

			k16[at] = j < n_kv ? (int16_t)lrintf(kt[at] * inv) : 0;
		}
	}
}

/*
 * Cross-attention keys/values of every layer from the encoder output @enc,
 * projected into one layer's scratch (n_audio_ctx × 2d) and laid out the
 * way a step reads them, in address order: the keys of each head in strips
 * of 64 positions (struct nn_attn.kt_strips), the values of each head
 * contiguous. Every beam's query of a step reads all of them, and from
 * memory: 1500 positions × 2d floats per layer do not stay in cache. With
 * d->cross_compact each head is laid out in fp32 in scratch after @kv and
 * stored compact (int16 keys, half-float values).
 */
static int cross_project(struct wsp_decoder *d, const struct wsp_exec *x, const float *enc)
{
	const struct wsp_model *m = d->m;
	const struct wsp_hparams *hp = &m->hp;
	size_t dm = (size_t)hp->n_text_state, n_kv = (size_t)hp->n_audio_ctx;
	size_t hd = dm / (size_t)hp->n_text_head, khead = hd * d->ldc, vhead = n_kv * hd;
	float *kv = malloc((n_kv * 2 * dm + (d->cross_compact ? khead + vhead : 0)) *
			   sizeof(float));
	float *kt_tmp = NULL, *v_tmp = NULL;   /* compact: one head in fp32, after kv */
	int ret = 0;

	if (!kv)
		return -ENOMEM;
	if (d->cross_compact) {
		kt_tmp = kv + n_kv * 2 * dm;
		v_tmp = kt_tmp + khead;
	}
	for (int l = 0; l < hp->n_text_layer && !ret; l++) {
		struct nn_attn a = {
			.n_kv = hp->n_audio_ctx, .n_head = hp->n_text_head,
			.hd = (int)hd, .ldk = 2 * dm, .k = kv,
		};

		ret = wsp_linear(x, &m->dec[l].cross_kv, enc, hp->n_audio_ctx,
				 (size_t)hp->n_audio_state, kv, 2 * dm);
		if (ret)
			break;
		for (int h = 0; h < a.n_head; h++) {
			float *kt = d->cross_compact ? kt_tmp : d->cross_kt[l] + (size_t)h * khead;
			float *vh = d->cross_compact ? v_tmp : d->cross_v[l] + (size_t)h * vhead;

			nn_attn_pack_k_strips(&a, h, kt);
			for (size_t j = 0; j < n_kv; j++)
				memcpy(vh + j * hd, kv + j * 2 * dm + dm + (size_t)h * hd,
				       hd * sizeof(float));
			if (d->cross_compact) {
				keys_to_i16(kt, (int)hd, (int)n_kv, d->ldc,
					    d->cross_k16[l] + (size_t)h * khead,
					    d->cross_kscale[l] + (size_t)h * hd);
				nn_f32_to_f16(d->cross_v16[l] + (size_t)h * vhead, vh, vhead);
			}
		}
	}
	free(kv);
	return ret;
}

int wsp_decoder_new(const struct wsp_model *m, const struct wsp_exec *x,
		    const float *enc, int n_seq, struct wsp_decoder **out)
{
	if (!m)
		return -EINVAL;
	return wsp_decoder_new_ctx(m, x, enc, n_seq, m->hp.n_text_ctx, out);
}

int wsp_decoder_new_ctx(const struct wsp_model *m, const struct wsp_exec *x,
			const float *enc, int n_seq, int n_ctx, struct wsp_decoder **out)
{
	const struct wsp_hparams *hp;
	struct wsp_decoder *d;
	size_t dm, cache;
	int ret = -ENOMEM;

	if (!m || !x || !enc || !out || n_seq <= 0 || n_seq > 1024 || n_ctx <= 0 ||
	    n_ctx > m->hp.n_text_ctx)
		return -EINVAL;
	*out = NULL;
	hp = &m->hp;
	dm = (size_t)hp->n_text_state;
	cache = (size_t)n_seq * n_ctx * dm;
	d = calloc(1, sizeof(*d));
	if (!d)
		return -ENOMEM;
	d->m = m;
	d->n_ctx = n_ctx;
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
	d->threads = wsp_exec_threads(x);
	d->gang = x->gang;
	d->n_seq = n_seq;
	d->n_run = n_seq;
	d->kself = calloc((size_t)hp->n_text_layer, sizeof(float *));
	d->vself = calloc((size_t)hp->n_text_layer, sizeof(float *));
	d->cross_compact = wsp_attn_use_compact_kv(x, (int)dm / hp->n_text_head);
	if (d->cross_compact) {
		d->cross_k16 = calloc((size_t)hp->n_text_layer, sizeof(int16_t *));
		d->cross_kscale = calloc((size_t)hp->n_text_layer, sizeof(float *));
		d->cross_v16 = calloc((size_t)hp->n_text_layer, sizeof(uint16_t *));
		if (!d->cross_k16 || !d->cross_kscale || !d->cross_v16)
			goto fail;
	} else {
		d->cross_v = calloc((size_t)hp->n_text_layer, sizeof(float *));
		d->cross_kt = calloc((size_t)hp->n_text_layer, sizeof(float *));
		if (!d->cross_v || !d->cross_kt)
			goto fail;
	}
	if (!d->kself || !d->vself)
		goto fail;
	d->ldk = nn_attn_ld_strips(n_ctx);
	d->ldc = nn_attn_ld_strips(hp->n_audio_ctx);
	for (int l = 0; l < hp->n_text_layer; l++) {
		size_t nv = (size_t)hp->n_audio_ctx * dm, nk = dm * d->ldc;

		d->kself[l] = calloc((size_t)n_seq * dm * d->ldk, sizeof(float));
		d->vself[l] = malloc(cache * sizeof(float));
		if (!d->kself[l] || !d->vself[l])
			goto fail;
		if (d->cross_compact) {
			d->cross_k16[l] = malloc(nk * sizeof(int16_t));
			d->cross_kscale[l] = malloc(dm * sizeof(float));
			d->cross_v16[l] = malloc(nv * sizeof(uint16_t));
			if (!d->cross_k16[l] || !d->cross_kscale[l] || !d->cross_v16[l])
				goto fail;
		} else {
			d->cross_v[l] = malloc(nv * sizeof(float));
			d->cross_kt[l] = calloc(nk, sizeof(float));
			if (!d->cross_v[l] || !d->cross_kt[l])
				goto fail;
		}
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
		d->n_shared = 0;
	}
}

int wsp_decoder_set_encoder(struct wsp_decoder *d, const struct wsp_exec *x, const float *enc)
{
	if (!d || !x || !enc)
		return -EINVAL;
	d->n_past = 0;
	d->same = 0;
	d->n_shared = 0;
	return cross_project(d, x, enc);
}

/*
 * The self-attention cache of one sequence and layer, laid out as the
 * attention kernel reads it, in address order: keys as n_head blocks of
 * hd × ldk floats in strips of 64 positions (struct nn_attn.kt_strips),
 * values as n_head blocks of n_ctx × hd floats (n_ctx: the positions this
 * decoder holds, n_text_ctx unless wsp_decoder_new_ctx() said fewer).
 */
static size_t kv_per_k(const struct wsp_decoder *d)
{
	return (size_t)d->m->hp.n_text_state * d->ldk;
}

static size_t kv_per_v(const struct wsp_decoder *d)
{
	return (size_t)d->n_ctx * d->m->hp.n_text_state;
}

/* the positions of a shared prompt of @n_shared that only sequence 0 keeps: whole strips */
static int kv_split_of(int n_shared)
{
	return n_shared / 64 * 64;
}

/* positions [@p0, @p1) of one sequence's keys @sk to @dk (either layout's block) */
static void kv_copy_k(const struct wsp_decoder *d, float *dk, const float *sk, int p0, int p1)
{
	int nh = d->m->hp.n_text_head, hd = d->m->hp.n_text_state / nh;
	size_t strip = (size_t)64 * hd;

	for (int h = 0; h < nh; h++) {
		float *dh = dk + (size_t)h * hd * d->ldk;
		const float *sh = sk + (size_t)h * hd * d->ldk;

		for (int j = p0; j < p1;) {
			int t = j / 64, j1 = (t + 1) * 64 < p1 ? (t + 1) * 64 : p1;

			if (j % 64 == 0 && j1 - j == 64) {   /* a whole strip */
				memcpy(dh + t * strip, sh + t * strip, strip * sizeof(float));
			} else {
				for (int c = 0; c < hd; c++)
					memcpy(dh + t * strip + (size_t)c * 64 + j % 64,
					       sh + t * strip + (size_t)c * 64 + j % 64,
					       (size_t)(j1 - j) * sizeof(float));
			}
			j = j1;
		}
	}
}

/* positions [@p0, @p1) of one sequence's values @sv to @dv */
static void kv_copy_v(const struct wsp_decoder *d, float *dv, const float *sv, int p0, int p1)
{
	int nh = d->m->hp.n_text_head, hd = d->m->hp.n_text_state / nh;
	size_t head = (size_t)d->n_ctx * hd;

	for (int h = 0; h < nh; h++)
		memcpy(dv + h * head + (size_t)p0 * hd, sv + h * head + (size_t)p0 * hd,
		       (size_t)(p1 - p0) * hd * sizeof(float));
}

int wsp_decoder_reorder(struct wsp_decoder *d, const int *src)
{
	size_t perk, per, blk;
	int n_move = 0, p0;
	float *tmp;

	if (!d || !src)
		return -EINVAL;
	for (int i = 0; i < d->n_seq; i++) {
		if (src[i] < 0 || src[i] >= d->n_seq)
			return -EINVAL;
		n_move += src[i] != i;
	}
	perk = kv_per_k(d);
	per = kv_per_v(d);
	blk = perk > per ? perk : per;
	if (d->n_past == 0 || n_move == 0 || d->same)
		return 0;   /* nothing moves, or every source equals its destination */
	if (!d->reorder_tmp) {
		d->reorder_tmp = malloc((size_t)d->n_seq * blk * sizeof(float));
		if (!d->reorder_tmp)
			return -ENOMEM;
	}
	tmp = d->reorder_tmp;
	/*
	 * Only the sequences that change are copied, and only the positions
	 * each keeps itself, [kv_split_of(n_shared), n_past): all reads first,
	 * then the writes (a source may also be a destination).
	 */
	p0 = kv_split_of(d->n_shared);
	for (int l = 0; l < d->m->hp.n_text_layer; l++) {
		float *kc = d->kself[l], *vc = d->vself[l];

		for (int i = 0; i < d->n_seq; i++)
			if (src[i] != i)
				kv_copy_v(d, tmp + i * blk, vc + src[i] * per, p0, d->n_past);
		for (int i = 0; i < d->n_seq; i++)
			if (src[i] != i)
				kv_copy_v(d, vc + i * per, tmp + i * blk, p0, d->n_past);
		for (int i = 0; i < d->n_seq; i++)
			if (src[i] != i)
				kv_copy_k(d, tmp + i * blk, kc + src[i] * perk, p0, d->n_past);
		for (int i = 0; i < d->n_seq; i++)
			if (src[i] != i)
				kv_copy_k(d, kc + i * perk, tmp + i * blk, p0, d->n_past);
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
/* enum dec_op and struct dec_node: whisper/nn/decoder_internal.h */

static int self_attention(struct wsp_decoder *d, int l, int s)
{
	const struct wsp_model *m = d->m;
	int dm = m->hp.n_text_state, nh = m->hp.n_text_head, n_tok = d->n_tok, hd = dm / nh;
	size_t vhead = (size_t)d->n_ctx * hd;
	float *kc = d->kself[l] + s * kv_per_k(d), *vc = d->vself[l] + s * kv_per_v(d);
	const float *q = d->qkv + (size_t)s * n_tok * 3 * dm;
	struct nn_attn a = {
		.q = q, .ldq = 3 * (size_t)dm,
		.kt = kc, .ldkt = d->ldk, .kt_strips = 1,
		.v = vc, .ldv = (size_t)hd, .v_head = vhead,
		.out = d->att + (size_t)s * n_tok * dm, .ldo = (size_t)dm,
		.n_q = n_tok, .n_kv = d->n_past + n_tok, .n_head = nh, .hd = hd,
		.causal = 1,
	};

	if (s > 0 && kv_split_of(d->n_shared) > 0) {
		/* the shared prompt's whole strips: sequence 0's, read there */
		a.kt_lo = d->kself[l];
		a.v_lo = d->vself[l];
		a.kv_split = kv_split_of(d->n_shared);
	}

	/* append this step's keys (as columns of their strips) and values to the cache */
	for (int t = 0; t < n_tok; t++) {
		const float *kn = q + (size_t)t * 3 * dm + dm, *vn = kn + dm;
		int pos = d->n_past + t;

		for (int h = 0; h < nh; h++) {
			float *kh = kc + (size_t)h * hd * d->ldk;

			for (int c = 0; c < hd; c++)
				kh[nn_attn_kt_at(&a, d->ldk, c, pos)] = kn[h * hd + c];
			memcpy(vc + h * vhead + (size_t)pos * hd, vn + h * hd,
			       (size_t)hd * sizeof(float));
		}
	}
	return nn_attention(&a, 1);
}

static int cross_attention(struct wsp_decoder *d, int l)
{
	const struct wsp_model *m = d->m;
	int dm = m->hp.n_text_state, nh = m->hp.n_text_head;
	struct nn_attn a = {
		.q = d->qkv, .ldq = (size_t)dm,
		.kt = d->cross_compact ? NULL : d->cross_kt[l], .ldkt = d->ldc, .kt_strips = 1,
		.v = d->cross_compact ? NULL : d->cross_v[l], .ldv = (size_t)dm / nh,
		.kt_i16 = d->cross_compact ? d->cross_k16[l] : NULL,
		.k_scale = d->cross_compact ? d->cross_kscale[l] : NULL,
		.v_f16 = d->cross_compact ? d->cross_v16[l] : NULL,
		.v_head = (size_t)m->hp.n_audio_ctx * (dm / nh),
		.out = d->att, .ldo = (size_t)dm,
		.n_q = d->n_run * d->n_tok, .n_kv = m->hp.n_audio_ctx, .n_head = nh,
		.hd = dm / nh, .causal = 0,
	};

	/*
	 * The bulk of a step's own work (every query against all audio
	 * positions), and independent per head: the heads go to the tiler's
	 * pool, whose workers are usually still spinning after the matmul
	 * before (tiler/tile_pool.c), so the other cores take a share instead
	 * of waiting. Same bits at any thread count (each item is one head's
	 * block, computed the same way wherever it runs).
	 */
	return nn_attention(&a, d->threads);
}

/*
 * wsp_decoder_align(): the scaled scores q·k / sqrt(hd) of layer @l's
 * alignment heads, before the softmax (the attention kernel never stores
 * its probabilities), for the one sequence of the pass.
 */
static void align_scores(struct wsp_decoder *d, int l)
{
	const struct wsp_hparams *hp = &d->m->hp;
	int dm = hp->n_text_state, hd = dm / hp->n_text_head, n_kv = hp->n_audio_ctx;
	float scale = 1.0f / sqrtf((float)hd);
	struct nn_attn strips = { .hd = hd, .kt_strips = 1 };

	for (int a = 0; a < d->n_align; a++) {
		int h = d->align_heads[2 * a + 1];

		if (d->align_heads[2 * a] != l)
			continue;
		for (int t = 0; t < d->n_tok; t++) {
			const float *q = d->qkv + (size_t)t * dm + (size_t)h * hd;
			float *row = d->align_qk + ((size_t)a * d->n_tok + t) * n_kv;

			memset(row, 0, (size_t)n_kv * sizeof(float));
			for (int c = 0; c < hd; c++) {
				float qc = q[c];

				for (int f0 = 0; f0 < n_kv; f0 += 64) {
					size_t at = nn_attn_kt_at(&strips, 0, c, f0) +
						    (size_t)h * hd * d->ldc;
					int nf = n_kv - f0 < 64 ? n_kv - f0 : 64;
					float wide[64];
					const float *kt = wide;

					/* one strip row of this channel: 64 consecutive keys */
					if (d->cross_compact) {
						const int16_t *k16 = d->cross_k16[l] + at;
						float ks = d->cross_kscale[l][h * hd + c];

						for (int f = 0; f < nf; f++)
							wide[f] = (float)k16[f] * ks;
					} else {
						kt = d->cross_kt[l] + at;
					}
					for (int f = 0; f < nf; f++)
						row[f0 + f] += qc * kt[f];
				}
			}
			for (int f = 0; f < n_kv; f++)
				row[f] *= scale;
		}
	}
}

void wsp_dec_embed(struct wsp_decoder *d)
{
	int dm = d->m->hp.n_text_state, rows = d->n_run * d->n_tok;

	for (int i = 0; i < rows; i++) {
		const float *p = d->m->dec_pos + (size_t)(d->n_past + i % d->n_tok) * dm;
		float *r = d->xs + (size_t)i * dm;

		/* a token was checked against the vocabulary when it was chosen or given */
		wsp_model_emb_row(d->m, d->tokens[i], r);
		for (int k = 0; k < dm; k++)
			r[k] += p[k];
	}
}

/* final norm for the requested positions, gathered densely, then logits */
int wsp_dec_logits_out(struct wsp_decoder *d, int vocab)
{
	const struct wsp_hparams *hp = &d->m->hp;
	int dm = hp->n_text_state, n_out = d->n_tok - d->logits_from;

	if (n_out == 0)
		return 0;
	if (vocab)
		return wsp_linear(&d->xl, &d->m->tok_emb, d->h, d->n_run * n_out, (size_t)dm,
				  d->logits, (size_t)hp->n_vocab);
	for (int s = 0; s < d->n_run; s++)
		nn_layer_norm(d->h + (size_t)s * n_out * dm,
			       d->xs + ((size_t)s * d->n_tok + d->logits_from) * dm,
			       d->m->dec_ln.g, d->m->dec_ln.b, n_out, dm);
	return 0;
}

int wsp_dec_node_run(void *arg)
{
	struct dec_node *n = arg;
	struct wsp_decoder *d = n->d;
	const struct wsp_dec_layer *L = &d->m->dec[n->l];
	const struct wsp_exec *x = &d->xl;
	int dm = d->m->hp.n_text_state, rows = d->n_run * d->n_tok;
	size_t nd = (size_t)rows * dm;

	switch (n->op) {
	case D_EMBED:
		wsp_dec_embed(d);
		return 0;
	case D_LN_SELF:
		nn_layer_norm(d->h, d->xs, L->self_ln.g, L->self_ln.b, rows, dm);
		return 0;
	case D_QKV:
		return wsp_linear(x, &L->self_qkv, d->h, rows, (size_t)dm, d->qkv, 3 * (size_t)dm);
	case D_SELF:
		return n->s < d->n_run ? self_attention(d, n->l, n->s) : 0;
	case D_SELF_OUT:
		return wsp_linear(x, &L->self_out, d->att, rows, (size_t)dm, d->h, (size_t)dm);
	case D_ADD_LN_CROSS:
		nn_add(d->xs, d->h, nd);
		nn_layer_norm(d->h, d->xs, L->cross_ln.g, L->cross_ln.b, rows, dm);
		return 0;
	case D_CROSS_Q:
		return wsp_linear(x, &L->cross_q, d->h, rows, (size_t)dm, d->qkv, (size_t)dm);
	case D_CROSS:
		if (d->align_qk)
			align_scores(d, n->l);   /* before the kernel overwrites nothing it reads */
		return cross_attention(d, n->l);
	case D_CROSS_OUT:
		return wsp_linear(x, &L->cross_out, d->att, rows, (size_t)dm, d->h, (size_t)dm);
	case D_ADD_LN_FFN:
		nn_add(d->xs, d->h, nd);
		nn_layer_norm(d->h, d->xs, L->ffn_ln.g, L->ffn_ln.b, rows, dm);
		return 0;
	case D_FC1:
		return wsp_linear(x, &L->fc1, d->h, rows, (size_t)dm, d->ffn, (size_t)L->fc1.out);
	case D_GELU:
		nn_gelu(d->ffn, (size_t)rows * L->fc1.out);
		return 0;
	case D_FC2:
		return wsp_linear(x, &L->fc2, d->ffn, rows, (size_t)L->fc1.out, d->h, (size_t)dm);
	case D_ADD:
		nn_add(d->xs, d->h, nd);
		return 0;
	case D_LN_OUT:
		return wsp_dec_logits_out(d, 0);
	case D_VOCAB:
		return wsp_dec_logits_out(d, 1);
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
		id = npu_graph_add_op(d->graph, wsp_dec_node_run, &d->nodes[k++], deps, nd); \
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
	if (d->n_past + n_tok > d->n_ctx)
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
	ret = d->gang ? wsp_dec_gang_step(d->gang, d) : npu_graph_run(d->graph);
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
	size_t per, perk, n_out, V;
	int p0, p1, ret = step_run(d, 1, tokens, n_tok, logits_from, logits);

	if (ret)
		return ret;
	/*
	 * Sequence 0's new keys and values, and its logits, to the others.
	 * When every cache was sequence 0's, the prompt so far is shared: the
	 * others read its whole strips in sequence 0's cache (self_attention())
	 * and get only the positions past the last whole strip.
	 */
	perk = kv_per_k(d);
	per = kv_per_v(d);
	p1 = d->n_past + n_tok;
	if (d->n_past == 0 || d->same) {
		d->n_shared = p1;
		p0 = kv_split_of(p1);   /* under 64 positions */
	} else {
		p0 = d->n_past;
	}
	for (int l = 0; l < d->m->hp.n_text_layer; l++)
		for (int s = 1; s < d->n_seq; s++) {
			kv_copy_k(d, d->kself[l] + s * perk, d->kself[l], p0, p1);
			kv_copy_v(d, d->vself[l] + s * per, d->vself[l], p0, p1);
		}
	n_out = (size_t)(n_tok - logits_from);
	V = (size_t)d->m->hp.n_vocab;
	for (int s = 1; s < d->n_seq && n_out; s++)
		memcpy(logits + s * n_out * V, logits, n_out * V * sizeof(float));
	d->same = d->n_past == 0 || d->same;
	d->n_past += n_tok;
	return 0;
}

int wsp_decoder_align(struct wsp_decoder *d, const int32_t *tokens, int n_tok,
		      int logits_from, float *logits, const int32_t *heads, int n_heads,
		      float *qk)
{
	const struct wsp_hparams *hp;
	struct wsp_dec_gang *gang;
	int ret;

	if (!d || !heads || n_heads <= 0 || !qk)
		return -EINVAL;
	hp = &d->m->hp;
	for (int a = 0; a < n_heads; a++)
		if (heads[2 * a] < 0 || heads[2 * a] >= hp->n_text_layer ||
		    heads[2 * a + 1] < 0 || heads[2 * a + 1] >= hp->n_text_head)
			return -EINVAL;
	d->n_past = 0;
	d->same = 0;
	d->n_shared = 0;
	d->align_heads = heads;
	d->n_align = n_heads;
	d->align_qk = qk;
	/*
	 * One pass on sequence 0, never through the gang: a gang round runs
	 * the operations itself and would not keep the scores, and one pass
	 * per window gains nothing from being stacked.
	 */
	gang = d->gang;
	d->gang = NULL;
	ret = step_run(d, 1, tokens, n_tok, logits_from, logits);
	d->gang = gang;
	d->align_heads = NULL;
	d->n_align = 0;
	d->align_qk = NULL;
	d->n_past = 0;   /* sequence 0's cache is the pass's: forget it */
	return ret;
}
