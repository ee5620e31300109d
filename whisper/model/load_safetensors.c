// SPDX-License-Identifier: MIT
/*
 * whisper/model/load_safetensors.c - load a Hugging Face Whisper checkpoint stored
 * as one safetensors file (F32, F16 or BF16 tensors).
 *
 * Layout: u64 header length, a JSON object mapping tensor names to
 * {"dtype", "shape", "data_offsets": [begin, end]} (plus "__metadata__"),
 * then the data. Hugging Face names (model.encoder.layers.N.self_attn.q_proj)
 * are renamed to OpenAI's (encoder.blocks.N.attn.query) and placed by the
 * shared map in whisper/model/weights_map.c. Head counts are not in the file:
 * every Whisper size uses 64-wide heads, and wsp_model_load() takes them from
 * a config.json beside the file when there is one.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

struct st_json {
	const char *p, *end;
};

static void ws(struct st_json *j)
{
	while (j->p < j->end && (*j->p == ' ' || *j->p == '\n' || *j->p == '\r' || *j->p == '\t'))
		j->p++;
}

static int lit(struct st_json *j, char c)
{
	ws(j);
	if (j->p >= j->end || *j->p != c)
		return -EINVAL;
	j->p++;
	return 0;
}

/* A string without escapes we need to decode; escapes are kept verbatim. */
static int str(struct st_json *j, const char **s, size_t *n)
{
	if (lit(j, '"'))
		return -EINVAL;
	*s = j->p;
	while (j->p < j->end && *j->p != '"') {
		if (*j->p == '\\')
			j->p++;
		j->p++;
	}
	if (j->p >= j->end)
		return -EINVAL;
	*n = (size_t)(j->p - *s);
	j->p++;
	return 0;
}

static int unum(struct st_json *j, uint64_t *v)
{
	int digits = 0;

	ws(j);
	*v = 0;
	while (j->p < j->end && *j->p >= '0' && *j->p <= '9' && digits < 19) {
		*v = *v * 10 + (uint64_t)(*j->p++ - '0');
		digits++;
	}
	return digits ? 0 : -EINVAL;
}

static int skip_value(struct st_json *j, int depth)
{
	const char *s;
	size_t n;

	ws(j);
	if (j->p >= j->end || depth > 32)
		return -EINVAL;
	if (*j->p == '"')
		return str(j, &s, &n);
	if (*j->p == '{' || *j->p == '[') {
		char close = *j->p == '{' ? '}' : ']';

		j->p++;
		ws(j);
		if (j->p < j->end && *j->p == close) {
			j->p++;
			return 0;
		}
		for (;;) {
			if (close == '}' && (str(j, &s, &n) || lit(j, ':')))
				return -EINVAL;
			if (skip_value(j, depth + 1))
				return -EINVAL;
			ws(j);
			if (j->p < j->end && *j->p == ',') {
				j->p++;
				continue;
			}
			return lit(j, close);
		}
	}
	while (j->p < j->end && *j->p != ',' && *j->p != '}' && *j->p != ']')
		j->p++;     /* number, true, false, null */
	return 0;
}

static int uint_array(struct st_json *j, uint64_t *v, int max, int *n)
{
	*n = 0;
	if (lit(j, '['))
		return -EINVAL;
	ws(j);
	if (j->p < j->end && *j->p == ']') {
		j->p++;
		return 0;
	}
	for (;;) {
		if (*n == max || unum(j, &v[(*n)++]))
			return -EINVAL;
		ws(j);
		if (j->p < j->end && *j->p == ',') {
			j->p++;
			continue;
		}
		return lit(j, ']');
	}
}

/* Hugging Face → OpenAI names; @out is left empty for names we do not use. */
static void rename_hf(const char *in, size_t n, char *out)
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
	char name[ST_NAME_MAX];
	const char *s = name;

	out[0] = '\0';
	if (n >= ST_NAME_MAX)
		return;
	memcpy(name, in, n);
	name[n] = '\0';
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

static int dtype_of(const char *s, size_t n)
{
	if (n == 3 && memcmp(s, "F32", 3) == 0)
		return WSP_PT_F32;
	if (n == 3 && memcmp(s, "F16", 3) == 0)
		return WSP_PT_F16;
	if (n == 4 && memcmp(s, "BF16", 4) == 0)
		return WSP_PT_BF16;
	return -1;
}

/* Parse one tensor entry's object. */
static int entry(struct st_json *j, struct st_tensor *t)
{
	int have = 0;

	if (lit(j, '{'))
		return -EINVAL;
	for (;;) {
		const char *k, *v;
		size_t kn, vn;
		uint64_t off[2];
		int n;

		if (str(j, &k, &kn) || lit(j, ':'))
			return -EINVAL;
		if (kn == 5 && memcmp(k, "dtype", 5) == 0) {
			if (str(j, &v, &vn))
				return -EINVAL;
			t->dtype = dtype_of(v, vn);
			have |= 1;
		} else if (kn == 5 && memcmp(k, "shape", 5) == 0) {
			if (uint_array(j, t->shape, ST_MAX_RANK, &t->rank))
				return -EINVAL;
			have |= 2;
		} else if (kn == 12 && memcmp(k, "data_offsets", 12) == 0) {
			if (uint_array(j, off, 2, &n) || n != 2 || off[1] < off[0])
				return -EINVAL;
			t->begin = off[0];
			t->end = off[1];
			have |= 4;
		} else if (skip_value(j, 1)) {
			return -EINVAL;
		}
		ws(j);
		if (j->p < j->end && *j->p == ',') {
			j->p++;
			continue;
		}
		if (lit(j, '}'))
			return -EINVAL;
		return have == 7 ? 0 : -EINVAL;
	}
}

static int st_index(const unsigned char *buf, size_t len, const char *file, char *err,
		    size_t errlen, struct st_tensor **out, size_t *count, size_t *data_at)
{
	struct st_json j;
	struct st_tensor *t = NULL;
	size_t n = 0, cap = 0;
	uint64_t hlen = 0;

	if (len < 8)
		goto bad;
	for (int i = 7; i >= 0; i--)
		hlen = hlen << 8 | buf[i];
	if (hlen > len - 8 || hlen < 2)
		goto bad;
	j.p = (const char *)buf + 8;
	j.end = j.p + hlen;
	*data_at = 8 + (size_t)hlen;
	if (lit(&j, '{'))
		goto bad;
	ws(&j);
	if (j.p < j.end && *j.p == '}')
		goto bad;
	for (;;) {
		const char *k;
		size_t kn;

		if (str(&j, &k, &kn) || lit(&j, ':'))
			goto bad;
		if (kn == 12 && memcmp(k, "__metadata__", 12) == 0) {
			if (skip_value(&j, 1))
				goto bad;
		} else {
			if (n == cap) {
				struct st_tensor *nt;

				cap = cap ? 2 * cap : 64;
				nt = realloc(t, cap * sizeof(*t));
				if (!nt) {
					free(t);
					return -ENOMEM;
				}
				t = nt;
			}
			memset(&t[n], 0, sizeof(t[n]));
			rename_hf(k, kn, t[n].name);
			if (entry(&j, &t[n]))
				goto bad;
			if (t[n].end > len - *data_at) {
				snprintf(err, errlen, "%s: tensor '%.*s': data past the end of the file",
					 file, (int)(kn < 200 ? kn : 200), k);
				free(t);
				return -EINVAL;
			}
			n++;
		}
		ws(&j);
		if (j.p < j.end && *j.p == ',') {
			j.p++;
			continue;
		}
		if (lit(&j, '}'))
			goto bad;
		break;
	}
	*out = t;
	*count = n;
	return 0;
bad:
	snprintf(err, errlen, "%s: truncated or malformed safetensors header", file);
	free(t);
	return -EINVAL;
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
	/* 64-wide heads unless config.json says otherwise (see model.c) */
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
