// SPDX-License-Identifier: MIT
/*
 * whisper/model/load_safetensors.c - load a Hugging Face Whisper checkpoint stored
 * as one safetensors file (F32, F16 or BF16 tensors).
 *
 * Layout: u64 header length, a JSON object mapping tensor names to
 * {"dtype", "shape", "data_offsets": [begin, end]} (plus "__metadata__"),
 * then the data. The header is parsed with jansson (duplicate names are
 * refused); Hugging Face names (model.encoder.layers.N.self_attn.q_proj) are
 * renamed to OpenAI's (encoder.blocks.N.attn.query) and placed by the shared
 * map in whisper/model/weights_map.c. Head counts are not in the file: every
 * Whisper size uses 64-wide heads, and model_config.c takes them from a
 * config.json beside the file when there is one.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "whisper/model/model_internal.h"

#define ST_MAX_RANK 4
#define ST_NAME_MAX 256

struct st_tensor {
	char name[ST_NAME_MAX];   /* already renamed to OpenAI's scheme */
	int dtype;                /* WSP_PT_*, or -1 for a type we do not read */
	int rank;
	uint64_t shape[ST_MAX_RANK];
	uint64_t begin, end;
};

/* Hugging Face → OpenAI names; @out is left empty for names we do not use. */
static void rename_hf(const char *s, char *out)
{
	static const char *const top[][2] = {
		{ "encoder.conv1.", "encoder.conv1." },
		{ "encoder.conv2.", "encoder.conv2." },
		{ "encoder.embed_positions.weight", "encoder.positional_embedding" },
		{ "encoder.layer_norm.", "encoder.ln_post." },
		{ "decoder.embed_tokens.weight", "decoder.token_embedding.weight" },
		{ "decoder.embed_positions.weight", "decoder.positional_embedding" },
		{ "decoder.layer_norm.", "decoder.ln." },
	};
	static const char *const sub[][2] = {
		{ "self_attn.q_proj.", "attn.query." },
		{ "self_attn.k_proj.", "attn.key." },
		{ "self_attn.v_proj.", "attn.value." },
		{ "self_attn.out_proj.", "attn.out." },
		{ "self_attn_layer_norm.", "attn_ln." },
		{ "encoder_attn.q_proj.", "cross_attn.query." },
		{ "encoder_attn.k_proj.", "cross_attn.key." },
		{ "encoder_attn.v_proj.", "cross_attn.value." },
		{ "encoder_attn.out_proj.", "cross_attn.out." },
		{ "encoder_attn_layer_norm.", "cross_attn_ln." },
		{ "final_layer_norm.", "mlp_ln." },
		{ "fc1.", "mlp.0." },
		{ "fc2.", "mlp.2." },
	};

	out[0] = '\0';
	if (strlen(s) >= ST_NAME_MAX)
		return;
	if (strncmp(s, "model.", 6) == 0)
		s += 6;
	for (size_t i = 0; i < sizeof(top) / sizeof(top[0]); i++) {
		size_t l = strlen(top[i][0]);

		if (strncmp(s, top[i][0], l) == 0) {
			snprintf(out, ST_NAME_MAX, "%s%s", top[i][1], s + l);
			return;
		}
	}
	if (strncmp(s, "encoder.layers.", 15) == 0 || strncmp(s, "decoder.layers.", 15) == 0) {
		char *end;
		long layer = strtol(s + 15, &end, 10);

		if (*end != '.' || layer < 0 || layer > 1023)
			return;
		for (size_t i = 0; i < sizeof(sub) / sizeof(sub[0]); i++) {
			size_t l = strlen(sub[i][0]);

			if (strncmp(end + 1, sub[i][0], l) == 0) {
				snprintf(out, ST_NAME_MAX, "%.7s.blocks.%ld.%s%s", s, layer,
					 sub[i][1], end + 1 + l);
				return;
			}
		}
	}
}

static int dtype_of(const char *s)
{
	if (strcmp(s, "F32") == 0)
		return WSP_PT_F32;
	if (strcmp(s, "F16") == 0)
		return WSP_PT_F16;
	if (strcmp(s, "BF16") == 0)
		return WSP_PT_BF16;
	return -1;
}

/* A JSON array of at most @max non-negative integers into @v. */
static int uint_array(const json_t *a, uint64_t *v, int max, int *n)
{
	const json_t *x;
	size_t i;

	if (!json_is_array(a) || json_array_size(a) > (size_t)max)
		return -EINVAL;
	json_array_foreach(a, i, x) {
		if (!json_is_integer(x) || json_integer_value(x) < 0)
			return -EINVAL;
		v[i] = (uint64_t)json_integer_value(x);
	}
	*n = (int)json_array_size(a);
	return 0;
}

/* One tensor entry {"dtype", "shape", "data_offsets"} into @t; @err says what is wrong. */
static int entry(const json_t *e, const char *key, struct st_tensor *t, const char *file,
		 char *err, size_t errlen)
{
	const json_t *dtype = json_object_get(e, "dtype");
	uint64_t off[2];
	const char *bad;
	int n;

	if (!json_is_object(e))
		bad = "is not an object";
	else if (!json_is_string(dtype))
		bad = "has no \"dtype\" string";
	else if (uint_array(json_object_get(e, "shape"), t->shape, ST_MAX_RANK, &t->rank))
		bad = "has no \"shape\" of at most 4 non-negative integers";
	else if (uint_array(json_object_get(e, "data_offsets"), off, 2, &n) || n != 2 ||
		 off[1] < off[0])
		bad = "has no \"data_offsets\" [begin, end] with begin <= end";
	else
		bad = NULL;
	if (bad) {
		snprintf(err, errlen, "%s: safetensors header: tensor '%.200s' %s", file, key, bad);
		return -EINVAL;
	}
	t->dtype = dtype_of(json_string_value(dtype));
	t->begin = off[0];
	t->end = off[1];
	return 0;
}

/* Index every tensor of the header: names renamed, offsets checked against the file. */
static int st_entries(const json_t *root, size_t len, size_t data_at, const char *file,
		      char *err, size_t errlen, struct st_tensor *t, size_t *count)
{
	const char *key;
	const json_t *e;
	size_t n = 0;

	json_object_foreach((json_t *)root, key, e) {
		if (strcmp(key, "__metadata__") == 0)
			continue;
		memset(&t[n], 0, sizeof(t[n]));
		rename_hf(key, t[n].name);
		if (entry(e, key, &t[n], file, err, errlen))
			return -EINVAL;
		if (t[n].end > len - data_at) {
			snprintf(err, errlen, "%s: tensor '%.200s': data past the end of the file",
				 file, key);
			return -EINVAL;
		}
		n++;
	}
	*count = n;
	return 0;
}

static int st_index(const unsigned char *buf, size_t len, const char *file, char *err,
		    size_t errlen, struct st_tensor **out, size_t *count, size_t *data_at)
{
	struct st_tensor *t;
	json_error_t e;
	uint64_t hlen = 0;
	json_t *root;
	int ret;

	for (int i = 7; len >= 8 && i >= 0; i--)
		hlen = hlen << 8 | buf[i];
	if (len < 8 || hlen > len - 8 || hlen < 2) {
		snprintf(err, errlen, "%s: truncated or malformed safetensors header", file);
		return -EINVAL;
	}
	*data_at = 8 + (size_t)hlen;
	root = json_loadb((const char *)buf + 8, (size_t)hlen, JSON_REJECT_DUPLICATES, &e);
	if (!root) {
		snprintf(err, errlen, "%s: safetensors header, line %d: %s", file, e.line, e.text);
		return -EINVAL;
	}
	if (!json_is_object(root) || json_object_size(root) == 0) {
		snprintf(err, errlen, "%s: safetensors header is not an object of tensors", file);
		json_decref(root);
		return -EINVAL;
	}
	t = calloc(json_object_size(root), sizeof(*t));
	if (!t) {
		json_decref(root);
		return -ENOMEM;
	}
	ret = st_entries(root, len, *data_at, file, err, errlen, t, count);
	json_decref(root);
	if (ret) {
		free(t);
		return ret;
	}
	*out = t;
	return 0;
}

static const struct st_tensor *st_find(const struct st_tensor *t, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(t[i].name, name) == 0)
			return &t[i];
	return NULL;
}

static int st_layers(const struct st_tensor *t, size_t n, const char *prefix)
{
	size_t pl = strlen(prefix);
	long max = -1;

	for (size_t i = 0; i < n; i++) {
		char *end;
		long l;

		if (strncmp(t[i].name, prefix, pl) != 0)
			continue;
		l = strtol(t[i].name + pl, &end, 10);
		if (*end == '.' && l > max)
			max = l;
	}
	return (int)(max + 1);
}

static int st_dims(struct wsp_model *m, const struct st_tensor *t, size_t n, int *ffn,
		   const char *file, char *err, size_t errlen)
{
	static const char *const need[] = {
		"encoder.conv1.weight", "encoder.positional_embedding",
		"decoder.token_embedding.weight", "decoder.positional_embedding",
		"encoder.blocks.0.mlp.0.weight",
	};
	const struct st_tensor *v[5];

	for (int i = 0; i < 5; i++) {
		v[i] = st_find(t, n, need[i]);
		if (!v[i] || v[i]->rank < 2 || v[i]->shape[0] > 1u << 20 || v[i]->shape[1] > 1u << 20) {
			snprintf(err, errlen, "%s: missing or malformed tensor for '%s'", file, need[i]);
			return -EINVAL;
		}
	}
	m->hp.n_audio_state = (int)v[0]->shape[0];
	m->hp.n_mels = (int)v[0]->shape[1];
	m->hp.n_audio_ctx = (int)v[1]->shape[0];
	m->hp.n_vocab = (int)v[2]->shape[0];
	m->hp.n_text_state = (int)v[2]->shape[1];
	m->hp.n_text_ctx = (int)v[3]->shape[0];
	/* 64-wide heads unless config.json says otherwise (model_config.c) */
	m->hp.n_audio_head = m->hp.n_audio_state >= 64 ? m->hp.n_audio_state / 64 : 1;
	m->hp.n_text_head = m->hp.n_text_state >= 64 ? m->hp.n_text_state / 64 : 1;
	m->hp.n_audio_layer = st_layers(t, n, "encoder.blocks.");
	m->hp.n_text_layer = st_layers(t, n, "decoder.blocks.");
	*ffn = (int)v[4]->shape[0];
	return wsp_model_check(m, file, err, errlen);
}

int wsp_load_safetensors_mem(struct wsp_model *m, const unsigned char *buf, size_t len,
			     const char *file, char *err, size_t errlen)
{
	struct wsp_pt_sink k = { 0 };
	struct st_tensor *t = NULL;
	size_t n = 0, data_at = 0;
	int ffn, ret;

	ret = st_index(buf, len, file, err, errlen, &t, &n, &data_at);
	if (ret)
		return ret;
	ret = st_dims(m, t, n, &ffn, file, err, errlen);
	if (!ret)
		ret = wsp_pt_begin(&k, m, ffn, file, err, errlen);
	for (size_t i = 0; !ret && i < n; i++) {
		size_t esize = t[i].dtype == WSP_PT_F32 ? 4 : 2;
		uint64_t numel = 1;

		if (!t[i].name[0])
			continue;    /* not a tensor we use (e.g. proj_out, tied) */
		for (int d = 0; d < t[i].rank; d++)
			numel *= t[i].shape[d];
		if (t[i].dtype < 0 || numel * esize != t[i].end - t[i].begin) {
			snprintf(err, errlen, "%s: tensor '%s': unsupported dtype or %llu bytes for "
				 "%llu elements", file, t[i].name,
				 (unsigned long long)(t[i].end - t[i].begin), (unsigned long long)numel);
			ret = -EINVAL;
			break;
		}
		ret = wsp_pt_put(&k, t[i].name, numel, t[i].dtype, buf + data_at + t[i].begin);
	}
	if (!ret)
		ret = wsp_pt_end(&k);
	wsp_pt_release(&k);
	free(t);
	return ret;
}
