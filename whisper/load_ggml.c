// SPDX-License-Identifier: MIT
/*
 * whisper/load_ggml.c - load a whisper.cpp ggml model file (f32 or f16).
 *
 * Layout: "ggml" magic, eleven i32 hyperparameters, the mel filterbank, the
 * vocabulary, then tensors until the end of the file, each as
 * (n_dims, name_len, type, ne[n_dims], name, data). ne[0] is the innermost
 * dimension, so a Linear weight [out, in] arrives as ne = {in, out}, already
 * in our row-major layout. Separate q, k, v (and cross k, v) projections are
 * fused here into the model's qkv / kv layers; the key projection has no bias.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "whisper/model_internal.h"
#include "whisper/weights.h"

#define GGML_MAGIC 0x67676d6cu

struct gg_reader {
	const unsigned char *start, *p, *end;
	const char *file;
	char *err;
	size_t errlen;
};

static int gg_trunc(struct gg_reader *r, const char *what)
{
	snprintf(r->err, r->errlen, "%s: truncated or corrupt at byte %zu (%s)",
		 r->file, (size_t)(r->p - r->start), what);
	return -EINVAL;
}

static int gg_i32(struct gg_reader *r, int32_t *v)
{
	if (r->end - r->p < 4)
		return -EINVAL;
	memcpy(v, r->p, 4);
	r->p += 4;
	return 0;
}

static int gg_skip(struct gg_reader *r, uint64_t n)
{
	if ((uint64_t)(r->end - r->p) < n)
		return -EINVAL;
	r->p += n;
	return 0;
}

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

/* The FFN width is not in the header: take it from the first mlp.0 weight. */
static int gg_find_ffn(struct gg_reader r0)
{
	struct gg_reader r = r0;

	while (r.p < r.end) {
		int32_t nd, nl, ty, ne[4] = { 1, 1, 1, 1 };
		uint64_t numel = 1;

		if (gg_i32(&r, &nd) || gg_i32(&r, &nl) || gg_i32(&r, &ty) || nd < 1 || nd > 4 ||
		    nl <= 0 || nl > 256 || (ty != 0 && ty != 1))
			return 0;
		for (int i = 0; i < nd; i++) {
			if (gg_i32(&r, &ne[i]) || ne[i] <= 0)
				return 0;
			numel *= (uint64_t)ne[i];
		}
		if (r.end - r.p >= nl && nl > 13 && nd == 2 &&
		    memcmp(r.p + nl - 13, ".mlp.0.weight", 13) == 0)
			return ne[1];
		if (gg_skip(&r, (uint64_t)nl) || gg_skip(&r, numel * (ty ? 2u : 4u)))
			return 0;
	}
	return 0;
}

int wsp_load_ggml_mem(struct wsp_model *m, const unsigned char *buf, size_t len,
		      const char *file, char *err, size_t errlen)
{
	struct gg_reader r = { buf, buf, buf + len, file, err, errlen };
	int32_t magic, h[11], n_mel, n_fft, n_vocab;
	unsigned *seen;    /* per layer: which fused q/k/v (and cross k/v) parts arrived */
	int ffn, ret;

	if (gg_i32(&r, &magic) || (uint32_t)magic != GGML_MAGIC) {
		snprintf(err, errlen, "%s: not a ggml file (bad magic)", file);
		return -EINVAL;
	}
	for (int i = 0; i < 11; i++)
		if (gg_i32(&r, &h[i]))
			return gg_trunc(&r, "hyperparameters");
	m->hp = (struct wsp_hparams){
		.n_vocab = h[0], .n_audio_ctx = h[1], .n_audio_state = h[2],
		.n_audio_head = h[3], .n_audio_layer = h[4], .n_text_ctx = h[5],
		.n_text_state = h[6], .n_text_head = h[7], .n_text_layer = h[8],
		.n_mels = h[9],
	};
	ret = wsp_model_check(m, file, err, errlen);
	if (ret)
		return ret;
	if (gg_i32(&r, &n_mel) || gg_i32(&r, &n_fft) || n_mel < 0 || n_fft < 0 ||
	    gg_skip(&r, (uint64_t)n_mel * (uint64_t)n_fft * 4))
		return gg_trunc(&r, "mel filters");
	if (gg_i32(&r, &n_vocab) || n_vocab < 0)
		return gg_trunc(&r, "vocabulary");
	for (int32_t i = 0; i < n_vocab; i++) {
		int32_t l;

		if (gg_i32(&r, &l) || l < 0 || gg_skip(&r, (uint64_t)l))
			return gg_trunc(&r, "vocabulary");
	}
	ffn = gg_find_ffn(r);
	if (ffn <= 0) {
		snprintf(err, errlen, "%s: no readable 'mlp.0.weight' tensor to size the FFN", file);
		return -EINVAL;
	}
	ret = wsp_model_alloc_layers(m);
	if (ret)
		return ret;
	seen = calloc((size_t)(m->hp.n_audio_layer + m->hp.n_text_layer), sizeof(*seen));
	if (!seen)
		return -ENOMEM;
	while (r.p < r.end) {
		int32_t nd, nl, ty, ne[4] = { 1, 1, 1, 1 };
		uint64_t numel = 1;
		char name[257];
		struct gg_slot s;
		const unsigned char *data;

		if (gg_i32(&r, &nd) || gg_i32(&r, &nl) || gg_i32(&r, &ty)) {
			ret = gg_trunc(&r, "tensor header");
			goto out;
		}
		if (nd < 1 || nd > 4 || nl <= 0 || nl > 256 || (ty != 0 && ty != 1)) {
			snprintf(err, errlen, "%s: tensor at byte %zu: unsupported dims %d, name length %d "
				 "or type %d (only f32 and f16)", file, (size_t)(r.p - r.start), nd, nl, ty);
			ret = -EINVAL;
			goto out;
		}
		for (int i = 0; i < nd && !ret; i++) {
			if (gg_i32(&r, &ne[i]) || ne[i] <= 0)
				ret = gg_trunc(&r, "tensor dims");
			numel *= (uint64_t)ne[i];
		}
		if (!ret && r.end - r.p < nl)
			ret = gg_trunc(&r, "tensor name");
		if (ret)
			goto out;
		memcpy(name, r.p, (size_t)nl);
		name[nl] = '\0';
		r.p += nl;
		data = r.p;
		if (gg_skip(&r, numel * (ty ? 2u : 4u))) {
			snprintf(err, errlen, "%s: tensor '%s': data truncated", file, name);
			ret = -EINVAL;
			goto out;
		}
		gg_resolve(m, name, ffn, &s);
		if (!s.dst)
			continue;
		if (numel != s.numel) {
			snprintf(err, errlen, "%s: tensor '%s': expected %zu elements, found %llu",
				 file, name, s.numel, (unsigned long long)numel);
			ret = -EINVAL;
			goto out;
		}
		if (s.fused >= 0 && s.dst == &s.lin->w) {
			if (seen[s.fused] & s.bit) {
				snprintf(err, errlen, "%s: tensor '%s' appears twice", file, name);
				ret = -EINVAL;
				goto out;
			}
			seen[s.fused] |= s.bit;
		}
		if (!*s.dst && !(*s.dst = calloc(s.total, sizeof(float)))) {
			ret = -ENOMEM;
			goto out;
		}
		if (ty)
			wsp_f16_to_f32(*s.dst + s.offset, data, s.numel);
		else
			wsp_f32_copy(*s.dst + s.offset, data, s.numel);
		if (s.lin) {
			s.lin->out = s.lin_out;
			s.lin->in = s.lin_in;
		}
	}
	for (int l = 0; l < m->hp.n_audio_layer + m->hp.n_text_layer; l++) {
		int enc = l < m->hp.n_audio_layer;

		if (seen[l] != (enc ? 0x7u : 0x1fu)) {
			snprintf(err, errlen, "%s: %s layer %d: missing a query, key or value weight "
				 "(parts found: 0x%x)", file, enc ? "encoder" : "decoder",
				 enc ? l : l - m->hp.n_audio_layer, seen[l]);
			ret = -EINVAL;
			goto out;
		}
	}
	ret = gg_zero_biases(m);
	if (!ret)
		ret = wsp_model_check(m, file, err, errlen);
out:
	free(seen);
	return ret;
}
