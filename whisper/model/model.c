// SPDX-License-Identifier: MIT
/*
 * whisper/model/model.c - the model structure itself: layer arrays, the
 * completeness and dimension checks, release and the accessors. A leaf: the
 * loaders (load_*.c, weights_map.c, model_config.c) call it and it calls none
 * of them; reading files and choosing a loader is model_load.c's job.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "tiler/tile.h"
#include "whisper/model/model_internal.h"

int wsp_model_alloc_layers(struct wsp_model *m)
{
	m->enc = calloc((size_t)m->hp.n_audio_layer, sizeof(*m->enc));
	m->dec = calloc((size_t)m->hp.n_text_layer, sizeof(*m->dec));
	if (!m->enc || !m->dec)
		return -ENOMEM;
	return 0;
}

static void lin_free(struct wsp_lin *l)
{
	free(l->w);
	free(l->b);
	tile_weights_free(l->q);
	for (int g = 0; l->gq && g < l->n_groups; g++)
		tile_weights_free(l->gq[g]);
	free(l->gq);
	free(l->file_scale);
}

static void ln_free(struct wsp_ln *ln)
{
	free(ln->g);
	free(ln->b);
}

const unsigned char *wsp_model_ggml_vocab(const struct wsp_model *m, size_t *len,
					  int32_t *count)
{
	*len = m->ggml_vocab ? m->ggml_vocab_len : 0;
	*count = m->ggml_vocab ? m->ggml_vocab_count : 0;
	return m->ggml_vocab;
}

void wsp_model_free(struct wsp_model *m)
{
	if (!m)
		return;
	free(m->ggml_vocab);
	for (int i = 0; m->enc && i < m->hp.n_audio_layer; i++) {
		struct wsp_enc_layer *L = &m->enc[i];

		ln_free(&L->attn_ln);
		lin_free(&L->qkv);
		lin_free(&L->attn_out);
		ln_free(&L->ffn_ln);
		lin_free(&L->fc1);
		lin_free(&L->fc2);
	}
	for (int i = 0; m->dec && i < m->hp.n_text_layer; i++) {
		struct wsp_dec_layer *L = &m->dec[i];

		ln_free(&L->self_ln);
		lin_free(&L->self_qkv);
		lin_free(&L->self_out);
		ln_free(&L->cross_ln);
		lin_free(&L->cross_q);
		lin_free(&L->cross_kv);
		lin_free(&L->cross_out);
		ln_free(&L->ffn_ln);
		lin_free(&L->fc1);
		lin_free(&L->fc2);
	}
	free(m->enc);
	free(m->dec);
	lin_free(&m->conv1);
	lin_free(&m->conv2);
	lin_free(&m->tok_emb);
	free(m->tok_emb_h);
	free(m->tok_emb_raw);
	free(m->tok_emb_seen);
	ln_free(&m->enc_ln);
	ln_free(&m->dec_ln);
	free(m->enc_pos);
	free(m->dec_pos);
	free(m->cfg.suppress.v);
	free(m->cfg.suppress_begin.v);
	free(m->cfg.lang_ids.v);
	free(m->cfg.alignment_heads.v);
	free(m->dir);
	free(m->weights_file);
	free(m->unused_file);
	free(m);
}

static int hp_check(const struct wsp_hparams *hp, const char *file, char *err, size_t errlen)
{
	const struct { const char *name; int v, max; } f[] = {
		{ "n_vocab", hp->n_vocab, 1 << 20 },
		{ "n_mels", hp->n_mels, 1024 },
		{ "n_audio_ctx", hp->n_audio_ctx, 1 << 16 },
		{ "n_audio_state", hp->n_audio_state, 1 << 14 },
		{ "n_audio_head", hp->n_audio_head, 1024 },
		{ "n_audio_layer", hp->n_audio_layer, 1024 },
		{ "n_text_ctx", hp->n_text_ctx, 1 << 16 },
		{ "n_text_state", hp->n_text_state, 1 << 14 },
		{ "n_text_head", hp->n_text_head, 1024 },
		{ "n_text_layer", hp->n_text_layer, 1024 },
	};

	for (size_t i = 0; i < sizeof(f) / sizeof(f[0]); i++) {
		if (f[i].v <= 0 || f[i].v > f[i].max) {
			snprintf(err, errlen, "%s: %s = %d is out of range 1..%d",
				 file, f[i].name, f[i].v, f[i].max);
			return -EINVAL;
		}
	}
	if (hp->n_audio_state % hp->n_audio_head || hp->n_text_state % hp->n_text_head) {
		snprintf(err, errlen, "%s: state sizes %d/%d are not multiples of head counts %d/%d",
			 file, hp->n_audio_state, hp->n_text_state, hp->n_audio_head, hp->n_text_head);
		return -EINVAL;
	}
	if (hp->n_audio_state != hp->n_text_state) {
		snprintf(err, errlen, "%s: encoder width %d differs from decoder width %d",
			 file, hp->n_audio_state, hp->n_text_state);
		return -EINVAL;
	}
	return 0;
}

static int miss(const char *file, const char *what, int layer, char *err, size_t errlen)
{
	if (layer >= 0)
		snprintf(err, errlen, "%s: missing weight: layer %d %s", file, layer, what);
	else
		snprintf(err, errlen, "%s: missing weight: %s", file, what);
	return -EINVAL;
}

/* a linear layer has its float weight, or (INT8-only loading) its packing */
#define LIN_OK(l) (((l).w || (l).q || (l).gq) && (l).in > 0 && (l).out > 0)
#define LN_OK(n)  ((n).g && (n).b)

int wsp_model_check(const struct wsp_model *m, const char *file, char *err, size_t errlen)
{
	int ret = hp_check(&m->hp, file, err, errlen);

	if (ret || !m->enc)
		return ret;    /* before the weights are read, only the dimensions */
	if (!LIN_OK(m->conv1) || !m->conv1.b)
		return miss(file, "encoder conv1", -1, err, errlen);
	if (!LIN_OK(m->conv2) || !m->conv2.b)
		return miss(file, "encoder conv2", -1, err, errlen);
	if (!m->enc_pos)
		return miss(file, "encoder positions", -1, err, errlen);
	if (!LN_OK(m->enc_ln))
		return miss(file, "encoder final layer norm", -1, err, errlen);
	if (!LIN_OK(m->tok_emb) || !m->dec_pos)
		return miss(file, "decoder embeddings", -1, err, errlen);
	if (!LN_OK(m->dec_ln))
		return miss(file, "decoder final layer norm", -1, err, errlen);
	for (int i = 0; i < m->hp.n_audio_layer; i++) {
		const struct wsp_enc_layer *L = &m->enc[i];

		if (!LN_OK(L->attn_ln) || !LIN_OK(L->qkv) || !LIN_OK(L->attn_out))
			return miss(file, "encoder self-attention", i, err, errlen);
		if (!LN_OK(L->ffn_ln) || !LIN_OK(L->fc1) || !LIN_OK(L->fc2) ||
		    L->fc1.out != L->fc2.in)
			return miss(file, "encoder FFN", i, err, errlen);
	}
	for (int i = 0; i < m->hp.n_text_layer; i++) {
		const struct wsp_dec_layer *L = &m->dec[i];

		if (!LN_OK(L->self_ln) || !LIN_OK(L->self_qkv) || !LIN_OK(L->self_out))
			return miss(file, "decoder self-attention", i, err, errlen);
		if (!LN_OK(L->cross_ln) || !LIN_OK(L->cross_q) || !LIN_OK(L->cross_kv) ||
		    !LIN_OK(L->cross_out))
			return miss(file, "decoder cross-attention", i, err, errlen);
		if (!LN_OK(L->ffn_ln) || !LIN_OK(L->fc1) || !LIN_OK(L->fc2) ||
		    L->fc1.out != L->fc2.in)
			return miss(file, "decoder FFN", i, err, errlen);
	}
	return 0;
}

const struct wsp_hparams *wsp_model_hparams(const struct wsp_model *m)
{
	return &m->hp;
}

const char *wsp_model_dir(const struct wsp_model *m)
{
	return m->dir;
}

const char *wsp_model_weights_file(const struct wsp_model *m, const char **unused)
{
	if (unused)
		*unused = m ? m->unused_file : NULL;
	return m ? m->weights_file : NULL;
}

int wsp_model_is_multilingual(const struct wsp_model *m)
{
	return m->hp.n_vocab >= 51865;
}

const struct wsp_model_config *wsp_model_config(const struct wsp_model *m)
{
	return &m->cfg;
}
