// SPDX-License-Identifier: MIT
/*
 * whisper/model/load_ct2.c - load a CTranslate2 Whisper model (model.bin, binary
 * format versions 3 to 6) with float32, float16, bfloat16 or int8 variables.
 *
 * Two passes over the file image: the first indexes every variable and
 * derives the dimensions from their shapes, the second converts each known
 * variable into its fp32 slot in struct wsp_model, or, loading INT8 only,
 * each linear weight straight into its packing (model_stream.c).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "whisper/model/model_internal.h"
#include "whisper/model/weights.h"

enum ct2_dtype {
	CT2_F32 = 0, CT2_I8 = 1, CT2_I16 = 2, CT2_I32 = 3, CT2_F16 = 4, CT2_BF16 = 5,
};

#define CT2_MAX_RANK 4

struct ct2_var {
	const char *name;            /* NUL-terminated, inside the image */
	int rank;
	uint32_t dims[CT2_MAX_RANK];
	int dtype;
	const unsigned char *data;
	uint32_t nbytes;
};

struct ct2_reader {
	const unsigned char *start, *p, *end;
	const char *file;
	char *err;
	size_t errlen;
};

static int rd_fail(struct ct2_reader *r, const char *what)
{
	snprintf(r->err, r->errlen, "%s: truncated or corrupt at byte %zu (%s)",
		 r->file, (size_t)(r->p - r->start), what);
	return -EINVAL;
}

static int rd_bytes(struct ct2_reader *r, size_t n, const unsigned char **out)
{
	if ((size_t)(r->end - r->p) < n)
		return -EINVAL;
	*out = r->p;
	r->p += n;
	return 0;
}

static int rd_u32(struct ct2_reader *r, uint32_t *v)
{
	const unsigned char *b;

	if (rd_bytes(r, 4, &b))
		return -EINVAL;
	*v = (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
	return 0;
}

static int rd_u8(struct ct2_reader *r, uint8_t *v)
{
	const unsigned char *b;

	if (rd_bytes(r, 1, &b))
		return -EINVAL;
	*v = b[0];
	return 0;
}

/* A string: u16 length including the NUL, then the bytes. */
static int rd_str(struct ct2_reader *r, const char **s)
{
	const unsigned char *b;
	uint16_t n;

	if (rd_bytes(r, 2, &b))
		return -EINVAL;
	n = (uint16_t)(b[0] | b[1] << 8);
	if (n == 0 || rd_bytes(r, n, &b) || b[n - 1] != '\0' || memchr(b, '\0', n) != b + n - 1)
		return -EINVAL;
	*s = (const char *)b;
	return 0;
}

static size_t dtype_size(int dt)
{
	switch (dt) {
	case CT2_F32: case CT2_I32: return 4;
	case CT2_I16: case CT2_F16: case CT2_BF16: return 2;
	case CT2_I8: return 1;
	default: return 0;
	}
}

static const struct ct2_var *find_var(const struct ct2_var *v, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(v[i].name, name) == 0)
			return &v[i];
	return NULL;
}

/* Index every variable. On success *vars is owned by the caller. */
static int ct2_index(struct ct2_reader *r, struct ct2_var **vars, size_t *nvars)
{
	struct ct2_var *v = NULL;
	uint32_t version, n, rev;
	const char *spec;

	if (rd_u32(r, &version))
		return rd_fail(r, "version");
	if (version < 3 || version > 6) {
		snprintf(r->err, r->errlen, "%s: unsupported CTranslate2 binary version %u (expected 3..6)",
			 r->file, version);
		return -EINVAL;
	}
	if (rd_str(r, &spec))
		return rd_fail(r, "spec name");
	if (strcmp(spec, "WhisperSpec") != 0) {
		snprintf(r->err, r->errlen, "%s: model spec is '%s', expected 'WhisperSpec'",
			 r->file, spec);
		return -EINVAL;
	}
	if (version >= 4 && rd_u32(r, &rev))
		return rd_fail(r, "spec revision");
	if (rd_u32(r, &n))
		return rd_fail(r, "variable count");
	if (n == 0 || n > (uint32_t)((r->end - r->p) / 8)) {
		snprintf(r->err, r->errlen, "%s: implausible variable count %u", r->file, n);
		return -EINVAL;
	}
	v = calloc(n, sizeof(*v));
	if (!v)
		return -ENOMEM;
	for (uint32_t i = 0; i < n; i++) {
		uint8_t rank, dt;
		uint64_t numel = 1;

		if (rd_str(r, &v[i].name) || rd_u8(r, &rank))
			goto trunc;
		if (rank > CT2_MAX_RANK) {
			snprintf(r->err, r->errlen, "%s: variable '%s': rank %u exceeds %d",
				 r->file, v[i].name, rank, CT2_MAX_RANK);
			goto bad;
		}
		v[i].rank = rank;
		for (int d = 0; d < rank; d++) {
			if (rd_u32(r, &v[i].dims[d]))
				goto trunc;
			numel *= v[i].dims[d];
		}
		if (version >= 4) {
			if (rd_u8(r, &dt))
				goto trunc;
			v[i].dtype = dt;
		} else {
			uint8_t isz;

			if (rd_u8(r, &isz))
				goto trunc;
			v[i].dtype = isz == 4 ? CT2_F32 : isz == 2 ? CT2_F16 : isz == 1 ? CT2_I8 : -1;
		}
		if (dtype_size(v[i].dtype) == 0) {
			snprintf(r->err, r->errlen, "%s: variable '%s': unknown data type %d",
				 r->file, v[i].name, v[i].dtype);
			goto bad;
		}
		if (rd_u32(r, &v[i].nbytes) || rd_bytes(r, v[i].nbytes, &v[i].data))
			goto trunc;
		if (numel * dtype_size(v[i].dtype) != v[i].nbytes) {
			snprintf(r->err, r->errlen, "%s: variable '%s': %u bytes for %llu elements of size %zu",
				 r->file, v[i].name, v[i].nbytes, (unsigned long long)numel,
				 dtype_size(v[i].dtype));
			goto bad;
		}
	}
	*vars = v;
	*nvars = n;
	return 0;
trunc:
	rd_fail(r, "variable table");
bad:
	free(v);
	return -EINVAL;
}

static int scalar_int(const struct ct2_var *v, int *out)
{
	if (!v || v->rank != 0)
		return -EINVAL;
	switch (v->dtype) {
	case CT2_I8: *out = (int8_t)v->data[0]; return 0;
	case CT2_I16: *out = (int16_t)(v->data[0] | v->data[1] << 8); return 0;
	case CT2_I32: *out = (int32_t)((uint32_t)v->data[0] | (uint32_t)v->data[1] << 8 |
				       (uint32_t)v->data[2] << 16 | (uint32_t)v->data[3] << 24);
		return 0;
	default: return -EINVAL;
	}
}

static int count_layers(const struct ct2_var *v, size_t n, const char *prefix)
{
	size_t plen = strlen(prefix);
	long max = -1;

	for (size_t i = 0; i < n; i++) {
		char *end;
		long l;

		if (strncmp(v[i].name, prefix, plen) != 0)
			continue;
		l = strtol(v[i].name + plen, &end, 10);
		if (*end == '/' && l >= 0 && l < 1024 && l > max)
			max = l;
	}
	return (int)(max + 1);
}

static int need2(const struct ct2_var *v, const char *file, const char *name,
		 char *err, size_t errlen)
{
	if (!v) {
		snprintf(err, errlen, "%s: missing variable '%s'", file, name);
		return -EINVAL;
	}
	if (v->rank < 2 || v->dims[0] == 0 || v->dims[1] == 0 || v->dims[0] > 1u << 20 ||
	    v->dims[1] > 1u << 16) {
		snprintf(err, errlen, "%s: variable '%s': implausible shape (rank %d)",
			 file, name, v->rank);
		return -EINVAL;
	}
	return 0;
}

static int derive_hparams(struct wsp_hparams *hp, const struct ct2_var *v, size_t n,
			  const char *file, char *err, size_t errlen)
{
	const struct ct2_var *c1 = find_var(v, n, "encoder/conv1/weight");
	const struct ct2_var *ep = find_var(v, n, "encoder/position_encodings/encodings");
	const struct ct2_var *emb = find_var(v, n, "decoder/embeddings/weight");
	const struct ct2_var *dp = find_var(v, n, "decoder/position_encodings/encodings");

	if (need2(c1, file, "encoder/conv1/weight", err, errlen) ||
	    need2(ep, file, "encoder/position_encodings/encodings", err, errlen) ||
	    need2(emb, file, "decoder/embeddings/weight", err, errlen) ||
	    need2(dp, file, "decoder/position_encodings/encodings", err, errlen))
		return -EINVAL;
	hp->n_audio_state = (int)c1->dims[0];
	hp->n_mels = (int)c1->dims[1];
	hp->n_audio_ctx = (int)ep->dims[0];
	hp->n_vocab = (int)emb->dims[0];
	hp->n_text_state = (int)emb->dims[1];
	hp->n_text_ctx = (int)dp->dims[0];
	hp->n_audio_layer = count_layers(v, n, "encoder/layer_");
	hp->n_text_layer = count_layers(v, n, "decoder/layer_");
	if (scalar_int(find_var(v, n, "encoder/num_heads"), &hp->n_audio_head))
		hp->n_audio_head = hp->n_audio_state / 64;
	if (scalar_int(find_var(v, n, "decoder/num_heads"), &hp->n_text_head))
		hp->n_text_head = hp->n_text_state / 64;
	return 0;
}

/* Where one variable goes, and what shape it must have. */
struct slot {
	float **dst;
	struct wsp_lin *lin;     /* the linear layer it belongs to, or NULL */
	uint32_t rows, cols;     /* expected element layout: rows × cols */
	int rank;                /* expected rank (1, 2 or 3) */
	uint32_t dims[3];
};

static void lin_slot(struct slot *s, struct wsp_lin *l, const char *leaf, int out, int in)
{
	if (strcmp(leaf, "weight") == 0) {
		s->dst = &l->w;
		s->rank = 2;
		s->dims[0] = (uint32_t)out;
		s->dims[1] = (uint32_t)in;
		s->rows = (uint32_t)out;
		s->cols = (uint32_t)in;
	} else if (strcmp(leaf, "bias") == 0) {
		s->dst = &l->b;
		s->rank = 1;
		s->dims[0] = (uint32_t)out;
		s->rows = 1;
		s->cols = (uint32_t)out;
	}
	s->lin = l;
}

static void ln_slot(struct slot *s, struct wsp_ln *ln, const char *leaf, int d)
{
	if (strcmp(leaf, "gamma") == 0)
		s->dst = &ln->g;
	else if (strcmp(leaf, "beta") == 0)
		s->dst = &ln->b;
	s->rank = 1;
	s->dims[0] = (uint32_t)d;
	s->rows = 1;
	s->cols = (uint32_t)d;
}

static void enc_layer_slot(struct slot *s, struct wsp_enc_layer *L, const char *rest, int d)
{
	if (strncmp(rest, "self_attention/layer_norm/", 26) == 0)
		ln_slot(s, &L->attn_ln, rest + 26, d);
	else if (strncmp(rest, "self_attention/linear_0/", 24) == 0)
		lin_slot(s, &L->qkv, rest + 24, 3 * d, d);
	else if (strncmp(rest, "self_attention/linear_1/", 24) == 0)
		lin_slot(s, &L->attn_out, rest + 24, d, d);
	else if (strncmp(rest, "ffn/layer_norm/", 15) == 0)
		ln_slot(s, &L->ffn_ln, rest + 15, d);
	else if (strncmp(rest, "ffn/linear_0/", 13) == 0)
		lin_slot(s, &L->fc1, rest + 13, L->fc1.out ? L->fc1.out : 0, d);
	else if (strncmp(rest, "ffn/linear_1/", 13) == 0)
		lin_slot(s, &L->fc2, rest + 13, d, L->fc2.in ? L->fc2.in : 0);
}

static void dec_layer_slot(struct slot *s, struct wsp_dec_layer *L, const char *rest, int d)
{
	if (strncmp(rest, "self_attention/layer_norm/", 26) == 0)
		ln_slot(s, &L->self_ln, rest + 26, d);
	else if (strncmp(rest, "self_attention/linear_0/", 24) == 0)
		lin_slot(s, &L->self_qkv, rest + 24, 3 * d, d);
	else if (strncmp(rest, "self_attention/linear_1/", 24) == 0)
		lin_slot(s, &L->self_out, rest + 24, d, d);
	else if (strncmp(rest, "attention/layer_norm/", 21) == 0)
		ln_slot(s, &L->cross_ln, rest + 21, d);
	else if (strncmp(rest, "attention/linear_0/", 19) == 0)
		lin_slot(s, &L->cross_q, rest + 19, d, d);
	else if (strncmp(rest, "attention/linear_1/", 19) == 0)
		lin_slot(s, &L->cross_kv, rest + 19, 2 * d, d);
	else if (strncmp(rest, "attention/linear_2/", 19) == 0)
		lin_slot(s, &L->cross_out, rest + 19, d, d);
	else if (strncmp(rest, "ffn/layer_norm/", 15) == 0)
		ln_slot(s, &L->ffn_ln, rest + 15, d);
	else if (strncmp(rest, "ffn/linear_0/", 13) == 0)
		lin_slot(s, &L->fc1, rest + 13, L->fc1.out, d);
	else if (strncmp(rest, "ffn/linear_1/", 13) == 0)
		lin_slot(s, &L->fc2, rest + 13, d, L->fc2.in);
}

/*
 * Resolve @name to a slot. The FFN width is not a hyperparameter of struct
 * wsp_hparams, so it is taken from the first FFN weight seen (0 means "any").
 */
static int resolve(struct wsp_model *m, const struct ct2_var *v, struct slot *s)
{
	const struct wsp_hparams *hp = &m->hp;
	const char *name = v->name;
	int da = hp->n_audio_state, dt = hp->n_text_state;
	char *end;
	long l;

	memset(s, 0, sizeof(*s));
	if (strcmp(name, "encoder/conv1/weight") == 0 || strcmp(name, "encoder/conv1/bias") == 0) {
		lin_slot(s, &m->conv1, name + 14, da, hp->n_mels * 3);
		if (s->rank == 2) {
			s->rank = 3;
			s->dims[1] = (uint32_t)hp->n_mels;
			s->dims[2] = 3;
		}
	} else if (strcmp(name, "encoder/conv2/weight") == 0 || strcmp(name, "encoder/conv2/bias") == 0) {
		lin_slot(s, &m->conv2, name + 14, da, da * 3);
		if (s->rank == 2) {
			s->rank = 3;
			s->dims[1] = (uint32_t)da;
			s->dims[2] = 3;
		}
	} else if (strcmp(name, "encoder/position_encodings/encodings") == 0) {
		s->dst = &m->enc_pos;
		s->rank = 2;
		s->dims[0] = s->rows = (uint32_t)hp->n_audio_ctx;
		s->dims[1] = s->cols = (uint32_t)da;
	} else if (strncmp(name, "encoder/layer_norm/", 19) == 0) {
		ln_slot(s, &m->enc_ln, name + 19, da);
	} else if (strncmp(name, "encoder/layer_", 14) == 0) {
		l = strtol(name + 14, &end, 10);
		if (*end == '/' && l >= 0 && l < hp->n_audio_layer)
			enc_layer_slot(s, &m->enc[l], end + 1, da);
	} else if (strcmp(name, "decoder/embeddings/weight") == 0) {
		lin_slot(s, &m->tok_emb, "weight", hp->n_vocab, dt);
	} else if (strcmp(name, "decoder/position_encodings/encodings") == 0) {
		s->dst = &m->dec_pos;
		s->rank = 2;
		s->dims[0] = s->rows = (uint32_t)hp->n_text_ctx;
		s->dims[1] = s->cols = (uint32_t)dt;
	} else if (strncmp(name, "decoder/layer_norm/", 19) == 0) {
		ln_slot(s, &m->dec_ln, name + 19, dt);
	} else if (strncmp(name, "decoder/layer_", 14) == 0) {
		l = strtol(name + 14, &end, 10);
		if (*end == '/' && l >= 0 && l < hp->n_text_layer)
			dec_layer_slot(s, &m->dec[l], end + 1, dt);
	}
	return s->dst ? 1 : 0;
}

static void fmt_dims(char *buf, size_t len, int rank, const uint32_t *dims)
{
	size_t o = 0;

	o += (size_t)snprintf(buf + o, len - o, "[");
	for (int i = 0; i < rank && o < len; i++)
		o += (size_t)snprintf(buf + o, len - o, "%s%u", i ? ", " : "", dims[i]);
	if (o < len)
		snprintf(buf + o, len - o, "]");
}

/* FFN widths come from the file: fill 0 placeholders from the variable's shape. */
static void adopt_ffn_width(struct slot *s, const struct ct2_var *v)
{
	if (s->rank == 2 && v->rank == 2 && s->dims[0] == 0) {
		s->dims[0] = s->rows = v->dims[0];
	} else if (s->rank == 2 && v->rank == 2 && s->dims[1] == 0) {
		s->dims[1] = s->cols = v->dims[1];
	} else if (s->rank == 1 && v->rank == 1 && s->dims[0] == 0) {
		s->dims[0] = s->cols = v->dims[0];
	}
}

static int shape_ok(const struct slot *s, const struct ct2_var *v)
{
	if (s->rank != v->rank)
		return 0;
	for (int i = 0; i < s->rank; i++)
		if (s->dims[i] != v->dims[i] || s->dims[i] > (1u << 24))
			return 0;
	return 1;
}

static int convert(float *dst, const struct ct2_var *v, const struct ct2_var *vars,
		   size_t nvars, const char *file, char *err, size_t errlen)
{
	size_t numel = v->nbytes / dtype_size(v->dtype);
	char sname[512];
	const struct ct2_var *sv;
	float *scale;
	int ret;

	switch (v->dtype) {
	case CT2_F32: wsp_f32_copy(dst, v->data, numel); return 0;
	case CT2_F16: wsp_f16_to_f32(dst, v->data, numel); return 0;
	case CT2_BF16: wsp_bf16_to_f32(dst, v->data, numel); return 0;
	case CT2_I8:
		break;
	default:
		snprintf(err, errlen, "%s: variable '%s': data type %d is not a weight type",
			 file, v->name, v->dtype);
		return -EINVAL;
	}
	snprintf(sname, sizeof(sname), "%s_scale", v->name);
	sv = find_var(vars, nvars, sname);
	if (!sv || sv->dtype != CT2_F32 || v->rank < 2 || sv->rank != 1 ||
	    sv->dims[0] != v->dims[0]) {
		snprintf(err, errlen, "%s: int8 variable '%s' needs a float32 '%s' of %u elements",
			 file, v->name, sname, v->rank ? v->dims[0] : 0);
		return -EINVAL;
	}
	scale = malloc(sv->nbytes);
	if (!scale)
		return -ENOMEM;
	wsp_f32_copy(scale, sv->data, sv->dims[0]);
	ret = wsp_s8_rows_to_f32(dst, (const int8_t *)v->data, scale, v->dims[0], numel / v->dims[0]);
	free(scale);
	if (ret)
		snprintf(err, errlen, "%s: variable '%s': a scale is zero, negative or not finite",
			 file, sname);
	return ret;
}

/*
 * INT8-only loading: @v, the weight of @l (shape checked), goes into @l's
 * packing slab by slab (model_stream.c). Its int8 scales are checked as
 * convert() checks them.
 */
static int stream_weight(struct wsp_model *m, struct wsp_lin *l, const struct ct2_var *v,
			 const struct ct2_var *vars, size_t nvars, const char *file, char *err,
			 size_t errlen)
{
	struct wsp_rows src = { .data = v->data };
	char e[192];
	int ret;

	src.row_bytes = v->nbytes / v->dims[0];
	src.bytes = v->nbytes;
	switch (v->dtype) {
	case CT2_F32: src.kind = WSP_PT_F32; break;
	case CT2_F16: src.kind = WSP_PT_F16; break;
	case CT2_BF16: src.kind = WSP_PT_BF16; break;
	case CT2_I8: {
		const struct ct2_var *sv;
		char sname[512];

		snprintf(sname, sizeof(sname), "%s_scale", v->name);
		sv = find_var(vars, nvars, sname);
		if (!sv || sv->dtype != CT2_F32 || sv->rank != 1 || sv->dims[0] != v->dims[0]) {
			snprintf(err, errlen, "%s: int8 variable '%s' needs a float32 '%s' of %u "
				 "elements", file, v->name, sname, v->dims[0]);
			return -EINVAL;
		}
		src.kind = WSP_PT_S8;
		src.scale = sv->data;
		break;
	}
	default:
		snprintf(err, errlen, "%s: variable '%s': data type %d is not a weight type",
			 file, v->name, v->dtype);
		return -EINVAL;
	}
	ret = wsp_lin_stream(m, l, 0, l->out, &src, e, sizeof(e));
	if (ret == -EINVAL)
		snprintf(err, errlen, "%s: variable '%s': %s", file, v->name, e);
	return ret;
}

int wsp_load_ct2_mem(struct wsp_model *m, const unsigned char *buf, size_t len,
		     const char *file, char *err, size_t errlen)
{
	struct ct2_reader r = { .start = buf, .p = buf, .end = buf + len, .file = file, .err = err, .errlen = errlen };
	struct ct2_var *vars = NULL;
	size_t nvars = 0;
	int ret;

	ret = ct2_index(&r, &vars, &nvars);
	if (ret)
		return ret;
	ret = derive_hparams(&m->hp, vars, nvars, file, err, errlen);
	if (ret)
		goto out;
	ret = wsp_model_check(m, file, err, errlen);   /* hparams only at this point */
	if (ret)
		goto out;
	ret = wsp_model_alloc_layers(m);
	if (ret)
		goto out;
	for (size_t i = 0; i < nvars; i++) {
		const struct ct2_var *v = &vars[i];
		char want[96], got[96];
		struct slot s;

		if (!resolve(m, v, &s))
			continue;             /* config scalars, aliases, scales */
		adopt_ffn_width(&s, v);
		if (!shape_ok(&s, v)) {
			fmt_dims(want, sizeof(want), s.rank, s.dims);
			fmt_dims(got, sizeof(got), v->rank, v->dims);
			snprintf(err, errlen, "%s: variable '%s': expected shape %s, found %s",
				 file, v->name, want, got);
			ret = -EINVAL;
			goto out;
		}
		if (*s.dst || (s.lin && s.dst == &s.lin->w && (s.lin->q || s.lin->gq))) {
			snprintf(err, errlen, "%s: variable '%s' appears twice", file, v->name);
			ret = -EINVAL;
			goto out;
		}
		if (s.lin && s.rank >= 2) {
			s.lin->out = (int)s.rows;
			s.lin->in = (int)s.cols;
		} else if (s.lin) {
			s.lin->out = (int)s.cols;
		}
		if (m->stream_int8 && s.lin && s.dst == &s.lin->w) {
			ret = stream_weight(m, s.lin, v, vars, nvars, file, err, errlen);
			if (ret)
				goto out;
			continue;
		}
		*s.dst = malloc((size_t)s.rows * s.cols * sizeof(float));
		if (!*s.dst) {
			ret = -ENOMEM;
			goto out;
		}
		ret = convert(*s.dst, v, vars, nvars, file, err, errlen);
		if (ret)
			goto out;
		wsp_image_release(m, v->data, v->nbytes, 1);
	}
	ret = wsp_model_check(m, file, err, errlen);
out:
	free(vars);
	return ret;
}
