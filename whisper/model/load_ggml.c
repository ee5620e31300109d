// SPDX-License-Identifier: MIT
/*
 * whisper/model/load_ggml.c - load a whisper.cpp ggml model file: f32, f16 or
 * quantized (every type whisper.cpp's quantize writes; ggml_quants.c reads
 * the blocks).
 *
 * Layout: "ggml" magic, eleven i32 hyperparameters, the mel filterbank, the
 * vocabulary, then tensors until the end of the file, each as
 * (n_dims, name_len, type, ne[n_dims], name, data). ne[0] is the innermost
 * dimension, so a Linear weight [out, in] arrives as ne = {in, out}, already
 * in our row-major layout. The tensors carry OpenAI's PyTorch names and go
 * through the shared name map (whisper/model/weights_map.c).
 *
 * The header's ftype is GGML_FTYPE + 1000 x the quantization version; only
 * quantized tensors depend on the version, and they must be version 2
 * (ggml's block layouts since May 2023, the ones ggml_quants.c reads).
 * A tensor's own type id decides how it is read, whatever the ftype says.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "whisper/model/ggml_quants.h"
#include "whisper/model/model_internal.h"
#include "whisper/model/weights.h"

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

/*
 * The bytes of tensor @name's data: its type must be one ggml_quants.c
 * reads, a whole number of blocks, and quantized only in the block
 * layouts of version 2.
 */
static int gg_tensor_size(struct gg_reader *r, const char *name, int32_t ty, uint64_t numel,
			  int32_t ftype, uint64_t *bytes)
{
	char e[160];

	if (wsp_ggml_tensor_bytes(ty, numel, bytes, e, sizeof(e))) {
		snprintf(r->err, r->errlen, "%s: tensor '%s' at byte %zu: %s", r->file, name,
			 (size_t)(r->p - r->start), e);
		return -EINVAL;
	}
	if (wsp_ggml_type_quantized(ty) && ftype / 1000 != WSP_GGML_QNT_VERSION) {
		snprintf(r->err, r->errlen, "%s: tensor '%s' is %s in quantization version %d "
			 "(ftype %d); only version %d is read: quantize the model again with a "
			 "whisper.cpp from after May 2023", r->file, name, wsp_ggml_type_name(ty),
			 ftype / 1000, ftype, WSP_GGML_QNT_VERSION);
		return -EINVAL;
	}
	return 0;
}

static int gg_data_truncated(struct gg_reader *r, const char *name, int32_t ty, uint64_t bytes)
{
	snprintf(r->err, r->errlen, "%s: tensor '%s': data truncated (%s, %llu bytes, %zu left)",
		 r->file, name, wsp_ggml_type_name(ty), (unsigned long long)bytes,
		 (size_t)(r->end - r->p));
	return -EINVAL;
}

/*
 * The FFN width is not in the header: take it from the first mlp.0 weight.
 * Return: the width; 0 when the tensors end first (cut short); -EINVAL for
 * a tensor before it of a type or size not read (@r0's err says which).
 */
static int gg_find_ffn(struct gg_reader r0, int32_t ftype)
{
	struct gg_reader r = r0;

	while (r.p < r.end) {
		int32_t nd, nl, ty, ne[4] = { 1, 1, 1, 1 };
		uint64_t numel = 1, bytes;
		char name[257];

		if (gg_i32(&r, &nd) || gg_i32(&r, &nl) || gg_i32(&r, &ty) || nd < 1 || nd > 4 ||
		    nl <= 0 || nl > 256)
			return 0;
		for (int i = 0; i < nd; i++) {
			int32_t v;

			if (gg_i32(&r, &v) || v <= 0)
				return 0;
			ne[i] = v;
			numel *= (uint64_t)v;
		}
		if (r.end - r.p < nl)
			return 0;
		if (nl > 13 && nd == 2 && memcmp(r.p + nl - 13, ".mlp.0.weight", 13) == 0)
			return ne[1];
		memcpy(name, r.p, (size_t)nl);
		name[nl] = '\0';
		r.p += nl;
		if (gg_tensor_size(&r, name, ty, numel, ftype, &bytes))
			return -EINVAL;
		if (gg_skip(&r, bytes))
			return gg_data_truncated(&r, name, ty, bytes);
	}
	return 0;
}

int wsp_load_ggml_mem(struct wsp_model *m, const unsigned char *buf, size_t len,
		      const char *file, char *err, size_t errlen)
{
	struct gg_reader r = { buf, buf, buf + len, file, err, errlen };
	int32_t magic, h[11], n_mel, n_fft, n_vocab;
	const unsigned char *vocab;
	struct wsp_pt_sink k;
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
	if (n_vocab > m->hp.n_vocab) {
		snprintf(err, errlen, "%s: %d vocabulary entries for n_vocab %d", file, n_vocab,
			 m->hp.n_vocab);
		return -EINVAL;
	}
	vocab = r.p;
	for (int32_t i = 0; i < n_vocab; i++) {
		int32_t l;

		if (gg_i32(&r, &l) || l < 0 || l > 1024 || gg_skip(&r, (uint64_t)l))
			return gg_trunc(&r, "vocabulary");
	}
	/* kept for the tokenizer: a ggml file alone is a whole model */
	free(m->ggml_vocab);
	m->ggml_vocab = malloc((size_t)(r.p - vocab) + 1);
	if (!m->ggml_vocab)
		return -ENOMEM;
	memcpy(m->ggml_vocab, vocab, (size_t)(r.p - vocab));
	m->ggml_vocab_len = (size_t)(r.p - vocab);
	m->ggml_vocab_count = n_vocab;
	ffn = gg_find_ffn(r, h[10]);
	if (ffn < 0)
		return ffn;
	if (ffn == 0) {
		snprintf(err, errlen, "%s: no readable 'mlp.0.weight' tensor to size the FFN", file);
		return -EINVAL;
	}
	ret = wsp_pt_begin(&k, m, ffn, file, err, errlen);
	if (ret)
		return ret;
	while (r.p < r.end) {
		int32_t nd, nl, ty, ne[4] = { 1, 1, 1, 1 };
		uint64_t numel = 1;
		char name[257];
		const unsigned char *data;
		uint64_t bytes;

		if (gg_i32(&r, &nd) || gg_i32(&r, &nl) || gg_i32(&r, &ty)) {
			ret = gg_trunc(&r, "tensor header");
			goto out;
		}
		if (nd < 1 || nd > 4 || nl <= 0 || nl > 256) {
			snprintf(err, errlen, "%s: tensor at byte %zu: unsupported dims %d or name "
				 "length %d", file, (size_t)(r.p - r.start), nd, nl);
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
		ret = gg_tensor_size(&r, name, ty, numel, h[10], &bytes);
		if (ret)
			goto out;
		data = r.p;
		if (gg_skip(&r, bytes)) {
			ret = gg_data_truncated(&r, name, ty, bytes);
			goto out;
		}
		ret = wsp_pt_put(&k, name, numel, WSP_PT_GGML + ty, data);
		if (ret)
			goto out;
	}
	ret = wsp_pt_end(&k);
out:
	wsp_pt_release(&k);
	return ret;
}
