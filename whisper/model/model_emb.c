// SPDX-License-Identifier: MIT
/*
 * whisper/model/model_emb.c - the token embedding's rows, which are the
 * decoder's input (its INT8 packing makes the logits): kept in the
 * smallest form that gives the file's values back exactly. Floats for a
 * float model, half floats when every value is one (an f16 file), or the
 * file's own blocks for a block-quantized ggml file whose rows are whole
 * blocks (q8_0: 1.06 bytes a value instead of 4), turned into floats one
 * row at a time as ggml's get_rows does.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "whisper/model/ggml_quants.h"
#include "whisper/model/model_internal.h"
#include "whisper/model/weights.h"

int wsp_model_emb_row(const struct wsp_model *m, int tok, float *dst)
{
	size_t d = (size_t)m->hp.n_text_state;
	char err[128];

	if (tok < 0 || tok >= m->tok_emb.out)
		return -EINVAL;
	if (m->tok_emb.w) {
		memcpy(dst, m->tok_emb.w + (size_t)tok * d, d * sizeof(float));
		return 0;
	}
	if (m->tok_emb_h) {
		wsp_f16_row_to_f32(dst, m->tok_emb_h + (size_t)tok * d, d);
		return 0;
	}
	if (m->tok_emb_raw)   /* checked whole when it was read: cannot fail here */
		return wsp_ggml_to_f32(m->tok_emb_raw_type, dst,
				       m->tok_emb_raw + (size_t)tok * m->tok_emb_raw_row, d, err,
				       sizeof(err));
	return -EINVAL;
}

int wsp_model_keep_emb_raw(struct wsp_model *m, int type, size_t row_bytes, int row0,
			   int rows, const unsigned char *src)
{
	if (!m->tok_emb_raw) {
		m->tok_emb_raw = malloc((size_t)m->tok_emb.out * row_bytes);
		if (!m->tok_emb_raw)
			return -ENOMEM;
		m->tok_emb_raw_row = row_bytes;
		m->tok_emb_raw_type = type;
	}
	memcpy(m->tok_emb_raw + (size_t)row0 * row_bytes, src, (size_t)rows * row_bytes);
	return 0;
}
