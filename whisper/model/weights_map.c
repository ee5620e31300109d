// SPDX-License-Identifier: MIT
/*
 * whisper/model/weights_map.c - place tensors named as in OpenAI's PyTorch Whisper
 * (encoder.blocks.N.attn.query.weight, ...) into struct wsp_model. Used by
 * the ggml loader directly and by the safetensors loader after renaming.
 * Separate q, k, v (and cross k, v) projections are fused into the model's
 * qkv / kv layers; the key projection has no bias. Loading INT8 only, a
 * linear weight (or its part) goes straight into its packing (model_stream.c).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "whisper/model/ggml_quants.h"
#include "whisper/model/model_internal.h"
#include "whisper/model/weights.h"

/* Where a tensor (or one part of a fused tensor) goes. */
struct gg_slot {
	float **dst;
	size_t total;      /* elements of the whole destination buffer */
	size_t offset;     /* where this part starts */
	size_t numel;      /* elements this part must have */
	struct wsp_lin *lin;
	int lin_out, lin_in;
	int fused;         /* index into the per-layer fused-part masks, or -1 */
	unsigned bit;      /* this part's bit there */
};

static void gg_lin(struct gg_slot *s, struct wsp_lin *l, const char *leaf, int out, int in,
		   int parts, int part)
{
	int po = out / parts;

	s->lin = l;
	s->lin_out = out;
	s->lin_in = in;
	if (strcmp(leaf, "weight") == 0) {
		s->dst = &l->w;
		s->total = (size_t)out * in;
		s->offset = (size_t)part * po * in;
		s->numel = (size_t)po * in;
	} else if (strcmp(leaf, "bias") == 0) {
		s->dst = &l->b;
		s->total = (size_t)out;
		s->offset = (size_t)part * po;
		s->numel = (size_t)po;
	}
}

static void gg_ln(struct gg_slot *s, struct wsp_ln *ln, const char *leaf, int d)
{
	if (strcmp(leaf, "weight") == 0)
		s->dst = &ln->g;
	else if (strcmp(leaf, "bias") == 0)
		s->dst = &ln->b;
	s->total = s->numel = (size_t)d;
}

/* Attention sublayer names: query, key, value, out. */
static int gg_attn_part(const char *p, const char **leaf)
{
	static const char *const n[] = { "query.", "key.", "value.", "out." };

	for (int i = 0; i < 4; i++) {
		if (strncmp(p, n[i], strlen(n[i])) == 0) {
			*leaf = p + strlen(n[i]);
			return i;
		}
	}
	return -1;
}

static void gg_resolve(struct wsp_model *m, const char *name, int ffn, struct gg_slot *s)
{
	const struct wsp_hparams *hp = &m->hp;
	int d = hp->n_audio_state;
	const char *leaf;
	char *end;
	long l;
	int part;

	memset(s, 0, sizeof(*s));
	s->fused = -1;
	if (strncmp(name, "encoder.conv1.", 14) == 0) {
		gg_lin(s, &m->conv1, name + 14, d, hp->n_mels * 3, 1, 0);
	} else if (strncmp(name, "encoder.conv2.", 14) == 0) {
		gg_lin(s, &m->conv2, name + 14, d, d * 3, 1, 0);
	} else if (strcmp(name, "encoder.positional_embedding") == 0) {
		s->dst = &m->enc_pos;
		s->total = s->numel = (size_t)hp->n_audio_ctx * d;
	} else if (strncmp(name, "encoder.ln_post.", 16) == 0) {
		gg_ln(s, &m->enc_ln, name + 16, d);
	} else if (strncmp(name, "encoder.blocks.", 15) == 0) {
		struct wsp_enc_layer *L;
		const char *r;

		l = strtol(name + 15, &end, 10);
		if (*end != '.' || l < 0 || l >= hp->n_audio_layer)
			return;
		L = &m->enc[l];
		r = end + 1;
		if (strncmp(r, "attn_ln.", 8) == 0) {
			gg_ln(s, &L->attn_ln, r + 8, d);
		} else if (strncmp(r, "attn.", 5) == 0 && (part = gg_attn_part(r + 5, &leaf)) >= 0) {
			if (part < 3) {
				gg_lin(s, &L->qkv, leaf, 3 * d, d, 3, part);
				s->fused = (int)l;
				s->bit = 1u << part;
			} else
				gg_lin(s, &L->attn_out, leaf, d, d, 1, 0);
		} else if (strncmp(r, "mlp_ln.", 7) == 0) {
			gg_ln(s, &L->ffn_ln, r + 7, d);
		} else if (strncmp(r, "mlp.0.", 6) == 0) {
			gg_lin(s, &L->fc1, r + 6, ffn, d, 1, 0);
		} else if (strncmp(r, "mlp.2.", 6) == 0) {
			gg_lin(s, &L->fc2, r + 6, d, ffn, 1, 0);
		}
	} else if (strcmp(name, "decoder.token_embedding.weight") == 0) {
		gg_lin(s, &m->tok_emb, "weight", hp->n_vocab, d, 1, 0);
	} else if (strcmp(name, "decoder.positional_embedding") == 0) {
		s->dst = &m->dec_pos;
		s->total = s->numel = (size_t)hp->n_text_ctx * d;
	} else if (strncmp(name, "decoder.ln.", 11) == 0) {
		gg_ln(s, &m->dec_ln, name + 11, d);
	} else if (strncmp(name, "decoder.blocks.", 15) == 0) {
		struct wsp_dec_layer *L;
		const char *r;

		l = strtol(name + 15, &end, 10);
		if (*end != '.' || l < 0 || l >= hp->n_text_layer)
			return;
		L = &m->dec[l];
		r = end + 1;
		if (strncmp(r, "attn_ln.", 8) == 0) {
			gg_ln(s, &L->self_ln, r + 8, d);
		} else if (strncmp(r, "attn.", 5) == 0 && (part = gg_attn_part(r + 5, &leaf)) >= 0) {
			if (part < 3) {
				gg_lin(s, &L->self_qkv, leaf, 3 * d, d, 3, part);
				s->fused = hp->n_audio_layer + (int)l;
				s->bit = 1u << part;
			} else
				gg_lin(s, &L->self_out, leaf, d, d, 1, 0);
		} else if (strncmp(r, "cross_attn_ln.", 14) == 0) {
			gg_ln(s, &L->cross_ln, r + 14, d);
		} else if (strncmp(r, "cross_attn.", 11) == 0 &&
			   (part = gg_attn_part(r + 11, &leaf)) >= 0) {
			if (part == 0)
				gg_lin(s, &L->cross_q, leaf, d, d, 1, 0);
			else if (part < 3) {
				gg_lin(s, &L->cross_kv, leaf, 2 * d, d, 2, part - 1);
				s->fused = hp->n_audio_layer + (int)l;
				s->bit = 1u << (part + 2);
			} else
				gg_lin(s, &L->cross_out, leaf, d, d, 1, 0);
		} else if (strncmp(r, "mlp_ln.", 7) == 0) {
			gg_ln(s, &L->ffn_ln, r + 7, d);
		} else if (strncmp(r, "mlp.0.", 6) == 0) {
			gg_lin(s, &L->fc1, r + 6, ffn, d, 1, 0);
		} else if (strncmp(r, "mlp.2.", 6) == 0) {
			gg_lin(s, &L->fc2, r + 6, d, ffn, 1, 0);
		}
	}
}

/* The key projections have no bias in Whisper: give fused layers zeros. */
static int gg_zero_biases(struct wsp_model *m)
{
	for (int l = 0; l < m->hp.n_audio_layer; l++)
		if (!m->enc[l].qkv.b && !(m->enc[l].qkv.b = calloc(3 * (size_t)m->hp.n_audio_state, 4)))
			return -ENOMEM;
	for (int l = 0; l < m->hp.n_text_layer; l++) {
		if (!m->dec[l].self_qkv.b &&
		    !(m->dec[l].self_qkv.b = calloc(3 * (size_t)m->hp.n_text_state, 4)))
			return -ENOMEM;
		if (!m->dec[l].cross_kv.b &&
		    !(m->dec[l].cross_kv.b = calloc(2 * (size_t)m->hp.n_text_state, 4)))
			return -ENOMEM;
	}
	return 0;
}


int wsp_pt_begin(struct wsp_pt_sink *k, struct wsp_model *m, int ffn, const char *file,
		 char *err, size_t errlen)
{
	int ret;

	memset(k, 0, sizeof(*k));
	k->m = m;
	k->ffn = ffn;
	k->file = file;
	k->err = err;
	k->errlen = errlen;
	ret = wsp_model_alloc_layers(m);
	if (ret)
		return ret;
	k->seen = calloc((size_t)(m->hp.n_audio_layer + m->hp.n_text_layer), sizeof(*k->seen));
	return k->seen ? 0 : -ENOMEM;
}

/*
 * INT8-only loading: a weight, or one part of a fused one (its output rows
 * from @s->offset on), goes into the layer's packing as it is read.
 */
static int stream_part(struct wsp_pt_sink *k, const char *name, const struct gg_slot *s,
		       uint64_t numel, int dtype, const unsigned char *data)
{
	struct wsp_rows src = { .kind = dtype, .data = data };
	uint64_t row_bytes = 0, bytes = 0;
	char e[192];
	int ret;

	s->lin->out = s->lin_out;
	s->lin->in = s->lin_in;
	ret = 0;
	if (dtype >= WSP_PT_GGML) {
		ret = wsp_ggml_tensor_bytes(dtype - WSP_PT_GGML, numel, &bytes, e, sizeof(e));
		/* rows of whole blocks are read a slab at a time, others in one piece */
		if (!ret && wsp_ggml_tensor_bytes(dtype - WSP_PT_GGML, (uint64_t)s->lin_in,
						  &row_bytes, NULL, 0))
			row_bytes = 0;
	} else {
		row_bytes = (uint64_t)s->lin_in * (dtype == WSP_PT_F32 ? 4 : 2);
		bytes = row_bytes * (numel / (uint64_t)s->lin_in);
	}
	src.row_bytes = (size_t)row_bytes;
	src.bytes = (size_t)bytes;
	if (!ret)
		ret = wsp_lin_stream(k->m, s->lin, (int)(s->offset / (size_t)s->lin_in),
				     (int)(numel / (uint64_t)s->lin_in), &src, e, sizeof(e));
	if (ret == -EINVAL)
		snprintf(k->err, k->errlen, "%s: tensor '%s': %s", k->file, name, e);
	return ret;
}

/*
 * Float loading: what packing needs besides the floats to keep a ggml
 * file's integers exactly (struct wsp_lin, file_scale), and a quantized
 * embedding's blocks (the decoder's input rows, model_emb.c).
 */
static int keep_file_blocks(struct wsp_model *m, const struct gg_slot *s, uint64_t numel,
			    int dtype, const unsigned char *data)
{
	struct wsp_lin *l = s->lin;
	int type = dtype - WSP_PT_GGML;
	uint64_t row_bytes = 0;
	char e[192];

	l->in = s->lin_in;
	l->out = s->lin_out;
	if (dtype >= WSP_PT_GGML && l == &m->tok_emb && wsp_ggml_type_quantized(type) &&
	    !wsp_ggml_tensor_bytes(type, (uint64_t)s->lin_in, &row_bytes, NULL, 0)) {
		int ret = wsp_model_keep_emb_raw(m, type, (size_t)row_bytes,
						 (int)(s->offset / (size_t)s->lin_in),
						 (int)(numel / (uint64_t)s->lin_in), data);
		if (ret)
			return ret;
	}
	if (dtype < WSP_PT_GGML || !wsp_lin_kb32(l, type))
		l->file_not_blocks = 1;
	else if (!wsp_lin_s8_blocks(l, type))
		l->file_not_s8 = 1;
	l->file_kb = l->file_not_blocks ? 0 : WSP_GGML_S8_BLOCK;
	if (l->file_not_blocks || l->file_not_s8) {
		free(l->file_scale);
		l->file_scale = NULL;
		return 0;
	}
	if (!l->file_scale &&
	    !(l->file_scale = calloc(s->total / WSP_GGML_S8_BLOCK, sizeof(float))))
		return -ENOMEM;
	/* the values were checked just now: this cannot fail */
	return wsp_ggml_to_s8(type, NULL, l->file_scale + s->offset / WSP_GGML_S8_BLOCK, data,
			      numel, e, sizeof(e));
}

int wsp_pt_put(struct wsp_pt_sink *k, const char *name, uint64_t numel, int dtype,
	       const unsigned char *data)
{
	struct gg_slot s;

	gg_resolve(k->m, name, k->ffn, &s);
	if (!s.dst)
		return 0;    /* not a weight we use */
	if (numel != s.numel) {
		snprintf(k->err, k->errlen, "%s: tensor '%s': expected %zu elements, found %llu",
			 k->file, name, s.numel, (unsigned long long)numel);
		return -EINVAL;
	}
	if (s.fused >= 0 && s.dst == &s.lin->w) {
		if (k->seen[s.fused] & s.bit) {
			snprintf(k->err, k->errlen, "%s: tensor '%s' appears twice", k->file, name);
			return -EINVAL;
		}
		k->seen[s.fused] |= s.bit;
	}
	if (k->m->stream_int8 && s.lin && s.dst == &s.lin->w)
		return stream_part(k, name, &s, numel, dtype, data);
	if (!*s.dst && !(*s.dst = calloc(s.total, sizeof(float))))
		return -ENOMEM;
	if (dtype >= WSP_PT_GGML) {
		char e[192];

		if (wsp_ggml_to_f32(dtype - WSP_PT_GGML, *s.dst + s.offset, data, numel, e,
				    sizeof(e))) {
			snprintf(k->err, k->errlen, "%s: tensor '%s': %s", k->file, name, e);
			return -EINVAL;
		}
	} else if (dtype == WSP_PT_F16)
		wsp_f16_to_f32(*s.dst + s.offset, data, s.numel);
	else if (dtype == WSP_PT_BF16)
		wsp_bf16_to_f32(*s.dst + s.offset, data, s.numel);
	else
		wsp_f32_copy(*s.dst + s.offset, data, s.numel);
	if (s.lin && s.dst == &s.lin->w) {
		int ret = keep_file_blocks(k->m, &s, numel, dtype, data);

		if (ret)
			return ret;
	}
	if (s.lin) {
		s.lin->out = s.lin_out;
		s.lin->in = s.lin_in;
	}
	if (k->m->image_mapped) {
		uint64_t bytes = numel * (dtype == WSP_PT_F32 ? 4 : 2);

		if (dtype < WSP_PT_GGML ||
		    !wsp_ggml_tensor_bytes(dtype - WSP_PT_GGML, numel, &bytes, NULL, 0))
			wsp_image_release(k->m, data, (size_t)bytes, 1);
	}
	return 0;
}

int wsp_pt_end(struct wsp_pt_sink *k)
{
	struct wsp_model *m = k->m;
	int ret;

	for (int l = 0; l < m->hp.n_audio_layer + m->hp.n_text_layer; l++) {
		int enc = l < m->hp.n_audio_layer;

		if (k->seen[l] != (enc ? 0x7u : 0x1fu)) {
			snprintf(k->err, k->errlen, "%s: %s layer %d: missing a query, key or value "
				 "weight (parts found: 0x%x)", k->file, enc ? "encoder" : "decoder",
				 enc ? l : l - m->hp.n_audio_layer, k->seen[l]);
			return -EINVAL;
		}
	}
	ret = gg_zero_biases(m);
	if (ret)
		return ret;
	return wsp_model_check(m, k->file, k->err, k->errlen);
}

void wsp_pt_release(struct wsp_pt_sink *k)
{
	free(k->seen);
	k->seen = NULL;
}
