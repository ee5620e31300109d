// SPDX-License-Identifier: MIT
/*
 * whisper/model/model_pack.c - pack every linear layer's weight for INT8 tile jobs,
 * once, at model load; on request, drop the float copies the INT8 path does
 * not read. The plan (slices, residual activations) is shared with the
 * INT8-only loader (model_stream.c), which packs as it reads.
 */
#include <errno.h>
#include <stdlib.h>

#include "tiler/tile.h"
#include "whisper/model/ggml_quants.h"
#include "whisper/model/model_internal.h"
#include "whisper/model/weights.h"

/*
 * A weight read from a ggml q8_0, q4_0 or q5_0 tensor: every float is an
 * integer times its block's scale, exactly, so w / scale gives the file's
 * integer back and the packing keeps them as INT8-only loading does.
 */
static int pack_file_blocks(struct wsp_lin *l)
{
	size_t in = (size_t)l->in, nb = in / WSP_GGML_S8_BLOCK;
	int8_t *q = malloc(in);
	int ret = wsp_lin_alloc(l, WSP_GGML_S8_BLOCK);

	if (!q)
		ret = -ENOMEM;
	for (int r = 0; !ret && r < l->out; r++) {
		const float *w = l->w + (size_t)r * in, *sc = l->file_scale + (size_t)r * nb;

		for (size_t k = 0; k < in; k++)
			q[k] = sc[k / WSP_GGML_S8_BLOCK] != 0.0f ?
			       (int8_t)(w[k] / sc[k / WSP_GGML_S8_BLOCK]) : 0;
		ret = wsp_lin_pack_s8_slab(l, r, 1, q, sc);
	}
	free(q);
	free(l->file_scale);
	l->file_scale = NULL;
	return ret;
}

/* Whether @l still has its file's block scales and its slices are whole blocks. */
static int has_file_blocks(struct wsp_lin *l)
{
	if (l->file_scale && (l->in / wsp_lin_groups(l)) % WSP_GGML_S8_BLOCK) {
		free(l->file_scale);
		l->file_scale = NULL;
	}
	return l->file_scale != NULL;
}

/*
 * A weight read from q4_1 or q5_1 (values d * q + m): packed from its
 * floats, with K blocks of 32 like its file's, so one block's range never
 * sets another's step (the INT8-only loader makes the same bytes).
 */
static int pack_file_kb(struct wsp_lin *l)
{
	int ret = wsp_lin_alloc(l, l->file_kb), kg = l->in / wsp_lin_groups(l);

	if (!ret && l->q)
		return tile_weights_pack_rows_f32(l->q, 0, l->out, l->w, (size_t)l->in);
	for (int g = 0; !ret && g < l->n_groups; g++)
		ret = tile_weights_pack_rows_f32(l->gq[g], 0, l->out, l->w + (size_t)g * kg,
						 (size_t)l->in);
	return ret;
}

/* Whether @l came in blocks of 32 that its packing slices keep whole. */
static int has_file_kb(const struct wsp_lin *l)
{
	return l->file_kb && (l->in / wsp_lin_groups(l)) % l->file_kb == 0;
}

static int pack(struct wsp_lin *l)
{
	if (has_file_blocks(l))
		return pack_file_blocks(l);
	if (has_file_kb(l))
		return pack_file_kb(l);
	return tile_weights_pack_f32(&l->q, l->w, l->in, l->out, (size_t)l->in,
				     TILE_W_ROW_MAJOR_NK);
}

/* Pack @l's input columns in @groups slices (one per attention head). */
static int pack_groups(struct wsp_lin *l, int groups)
{
	int kg = l->in / groups, ret = 0;

	if (has_file_blocks(l))
		return pack_file_blocks(l);   /* slices of its own (wsp_lin_groups()) */
	if (has_file_kb(l))
		return pack_file_kb(l);
	if (groups <= 1 || l->in % groups)
		return pack(l);
	l->gq = calloc((size_t)groups, sizeof(*l->gq));
	if (!l->gq)
		return -ENOMEM;
	l->n_groups = groups;
	for (int g = 0; !ret && g < groups; g++)
		ret = tile_weights_pack_f32(&l->gq[g], l->w + (size_t)g * kg, kg, l->out,
					    (size_t)l->in, TILE_W_ROW_MAJOR_NK);
	return ret;
}

/*
 * Residual activations (struct wsp_lin) where the INT8 activation error
 * reaches the output most, measured with every linear's INT8 output against
 * its fp32 output on real activations (Documentation/forward.md, "INT8
 * accuracy"): the attention inputs of the encoder's first block, whose
 * error every later block carries (QKV and attention output: base's worst
 * output cosine 0.9976 -> 0.9990 for 1/3 of one block's matmul work more;
 * its FFN up and down would add 0.0002-0.0004 each for as much again), and
 * the decoder's FFN down projections, whose post-GELU inputs decide
 * near-tied greedy tokens (small GEMVs re-reading INT8 weights). Everything
 * else is plain INT8. The encoder's attention output and FFN down
 * projection are packed in one slice per head (struct wsp_lin, n_groups).
 */
void wsp_model_pack_plan(struct wsp_model *m)
{
	for (int i = 0; i < m->hp.n_audio_layer; i++) {
		struct wsp_enc_layer *L = &m->enc[i];

		L->qkv.act_resid = L->attn_out.act_resid = i == 0;
		L->attn_out.pack_groups = m->hp.n_audio_head;
		L->fc2.pack_groups = m->hp.n_audio_head;
	}
	for (int i = 0; i < m->hp.n_text_layer; i++)
		m->dec[i].fc2.act_resid = 1;
	m->pack_planned = 1;
}

int wsp_model_pack(struct wsp_model *m)
{
	int ret;

	wsp_model_pack_plan(m);
	ret = pack(&m->conv1);
	if (!ret)
		ret = pack(&m->conv2);
	if (!ret)
		ret = pack(&m->tok_emb);
	for (int i = 0; !ret && i < m->hp.n_audio_layer; i++) {
		struct wsp_enc_layer *L = &m->enc[i];

		ret = pack(&L->qkv);
		if (!ret)
			ret = pack_groups(&L->attn_out, L->attn_out.pack_groups);
		if (!ret)
			ret = pack(&L->fc1);
		if (!ret)
			ret = pack_groups(&L->fc2, L->fc2.pack_groups);
	}
	for (int i = 0; !ret && i < m->hp.n_text_layer; i++) {
		struct wsp_dec_layer *L = &m->dec[i];
		struct wsp_lin *all[] = { &L->self_qkv, &L->self_out, &L->cross_q,
					  &L->cross_kv, &L->cross_out, &L->fc1, &L->fc2 };

		for (size_t j = 0; !ret && j < sizeof(all) / sizeof(all[0]); j++)
			ret = pack(all[j]);
	}
	return ret;
}

/* Free the float weight of a packed layer (its bias stays: INT8 adds it). */
static void drop(struct wsp_lin *l)
{
	if (l->q || l->n_groups > 1) {
		free(l->w);
		l->w = NULL;
	}
}

int wsp_model_drop_fp32(struct wsp_model *m)
{
	if (!m)
		return -EINVAL;
	/*
	 * tok_emb's rows are the decoder's input embeddings: keep them, as
	 * half floats when that is exact (f16 models), else as they are.
	 */
	if (m->tok_emb_raw) {   /* the file's blocks, read back exactly */
		free(m->tok_emb.w);
		m->tok_emb.w = NULL;
	} else if (!m->tok_emb_h && m->tok_emb.w) {
		size_t n = (size_t)m->tok_emb.in * m->tok_emb.out;
		uint16_t *h = malloc(n * sizeof(*h));

		if (h && wsp_f32_to_f16_exact(h, m->tok_emb.w, n) == 0) {
			m->tok_emb_h = h;
			free(m->tok_emb.w);
			m->tok_emb.w = NULL;
		} else {
			free(h);
		}
	}
	drop(&m->conv1);
	drop(&m->conv2);
	for (int i = 0; i < m->hp.n_audio_layer; i++) {
		struct wsp_enc_layer *L = &m->enc[i];

		drop(&L->qkv);
		drop(&L->attn_out);
		drop(&L->fc1);
		drop(&L->fc2);
	}
	for (int i = 0; i < m->hp.n_text_layer; i++) {
		struct wsp_dec_layer *L = &m->dec[i];
		struct wsp_lin *all[] = { &L->self_qkv, &L->self_out, &L->cross_q,
					  &L->cross_kv, &L->cross_out, &L->fc1, &L->fc2 };

		for (size_t j = 0; j < sizeof(all) / sizeof(all[0]); j++)
			drop(all[j]);
	}
	m->int8_only = 1;
	return 0;
}

int wsp_model_has_fp32(const struct wsp_model *m)
{
	return m && !m->int8_only;
}
