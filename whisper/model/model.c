// SPDX-License-Identifier: MIT
/*
 * whisper/model/model.c - model lifetime: format detection, validation, release.
 * The format parsers live in load_*.c; the INT8 packing in model_pack.c.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

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
}

static void ln_free(struct wsp_ln *ln)
{
	free(ln->g);
	free(ln->b);
}

void wsp_model_free(struct wsp_model *m)
{
	if (!m)
		return;
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
	ln_free(&m->enc_ln);
	ln_free(&m->dec_ln);
	free(m->enc_pos);
	free(m->dec_pos);
	free(m->dir);
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

#define LIN_OK(l) ((l).w && (l).in > 0 && (l).out > 0)
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

int wsp_read_file(const char *path, unsigned char **buf, size_t *len, char *err, size_t errlen)
{
	unsigned char *b = NULL;
	FILE *f = fopen(path, "rb");
	long n;
	int ret;

	if (!f) {
		ret = -errno;
		snprintf(err, errlen, "%s: cannot open: %s", path, strerror(errno));
		return ret;
	}
	if (fseek(f, 0, SEEK_END) || (n = ftell(f)) < 0 || fseek(f, 0, SEEK_SET)) {
		ret = -EIO;
		snprintf(err, errlen, "%s: cannot size the file", path);
		goto out;
	}
	b = malloc(n ? (size_t)n : 1);
	if (!b) {
		ret = -ENOMEM;
		goto out;
	}
	if (fread(b, 1, (size_t)n, f) != (size_t)n) {
		ret = -EIO;
		snprintf(err, errlen, "%s: short read", path);
		free(b);
		goto out;
	}
	*buf = b;
	*len = (size_t)n;
	ret = 0;
out:
	fclose(f);
	return ret;
}

static int load_file(struct wsp_model *m, const char *path, char *err, size_t errlen)
{
	unsigned char *buf;
	size_t len;
	int ret;

	ret = wsp_read_file(path, &buf, &len, err, errlen);
	if (ret)
		return ret;
	if (len >= 4 && memcmp(buf, "lmgg", 4) == 0) {
		ret = wsp_load_ggml_mem(m, buf, len, path, err, errlen);
	} else if (len >= 9 && buf[8] == '{') {
		ret = wsp_load_safetensors_mem(m, buf, len, path, err, errlen);
	} else {
		snprintf(err, errlen, "%s: unknown model format (expected a ggml file or a "
			 "CTranslate2 directory)", path);
		ret = -EINVAL;
	}
	free(buf);
	return ret;
}

/* An integer field of a Hugging Face config.json, or 0 when absent. */
static int config_int(const char *json, const char *key)
{
	const char *p = strstr(json, key);
	long v;

	if (!p)
		return 0;
	p += strlen(key);
	while (*p == '"' || *p == ' ' || *p == ':')
		p++;
	v = strtol(p, NULL, 10);
	return v > 0 && v < 4096 ? (int)v : 0;
}

/* Hugging Face checkpoints keep the head counts in config.json. */
static int hf_heads(struct wsp_model *m, const char *file, char *err, size_t errlen)
{
	char path[4096], ignore[8];
	unsigned char *buf;
	size_t len;
	char *json;
	int a, t;

	snprintf(path, sizeof(path), "%s/config.json", m->dir);
	if (wsp_read_file(path, &buf, &len, ignore, sizeof(ignore)))
		return 0;      /* no config: keep 64-wide heads */
	json = realloc(buf, len + 1);
	if (!json) {
		free(buf);
		return -ENOMEM;
	}
	json[len] = '\0';
	a = config_int(json, "\"encoder_attention_heads\"");
	t = config_int(json, "\"decoder_attention_heads\"");
	free(json);
	if (a)
		m->hp.n_audio_head = a;
	if (t)
		m->hp.n_text_head = t;
	return wsp_model_check(m, file, err, errlen);
}

int wsp_model_load(struct wsp_model **out, const char *path, char *err, size_t errlen)
{
	struct wsp_model *m;
	struct stat st;
	int ret;

	if (!out || !path || !err || errlen == 0)
		return -EINVAL;
	*out = NULL;
	if (stat(path, &st)) {
		ret = -errno;
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return ret;
	}
	m = calloc(1, sizeof(*m));
	if (!m)
		return -ENOMEM;
	m->dir = strdup(path);
	if (!m->dir) {
		ret = -ENOMEM;
		goto fail;
	}
	if (S_ISDIR(st.st_mode)) {
		char ct2[4096], st_file[4096];

		/* a CTranslate2 directory has model.bin; a Hugging Face one model.safetensors */
		snprintf(ct2, sizeof(ct2), "%s/model.bin", path);
		snprintf(st_file, sizeof(st_file), "%s/model.safetensors", path);
		if (access(ct2, F_OK) != 0 && access(st_file, F_OK) == 0) {
			ret = load_file(m, st_file, err, errlen);
			if (!ret)
				ret = hf_heads(m, st_file, err, errlen);
		} else
			ret = wsp_load_ct2(m, path, err, errlen);
	} else {
		char *slash = strrchr(m->dir, '/');

		/* side files (tokenizer, config) live next to the model file */
		if (slash)
			*slash = '\0';
		else
			strcpy(m->dir, ".");
		ret = load_file(m, path, err, errlen);
	}
	if (ret)
		goto fail;
	ret = wsp_model_pack(m);
	if (ret) {
		snprintf(err, errlen, "%s: packing INT8 weights failed: %s", path, strerror(-ret));
		goto fail;
	}
	*out = m;
	return 0;
fail:
	wsp_model_free(m);
	return ret;
}

const struct wsp_hparams *wsp_model_hparams(const struct wsp_model *m)
{
	return &m->hp;
}

const char *wsp_model_dir(const struct wsp_model *m)
{
	return m->dir;
}

int wsp_model_is_multilingual(const struct wsp_model *m)
{
	return m->hp.n_vocab >= 51865;
}
