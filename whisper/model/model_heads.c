// SPDX-License-Identifier: MIT
/*
 * whisper/model/model_heads.c - the decoder's alignment heads: the
 * cross-attention heads whose weights follow the speech in time, used for
 * word timestamps (whisper/decode/words*.c).
 *
 * A CTranslate2 model lists them in config.json ("alignment_heads", read by
 * model_config.c). ggml and safetensors files do not: for them the heads
 * openai-whisper publishes per model (its _ALIGNMENT_HEADS, decoded once
 * into the table below) are chosen by the model's dimensions. Where the
 * dimensions do not tell the model apart (large-v1 and large-v2 have the
 * same), every head of the second half of the decoder layers is used, as
 * faster-whisper and openai-whisper do for a model without a list.
 */
#include <errno.h>
#include <string.h>

#include "whisper/model/model_internal.h"

struct known_heads {
	const char *name;
	int n_text_layer, n_text_state, n_vocab, n_mels;
	int n;
	const signed char *pairs;   /* n (layer, head) pairs */
};

#define PAIRS(...) (const signed char[]){ __VA_ARGS__ }

/*
 * openai-whisper's _ALIGNMENT_HEADS (whisper/__init__.py), decoded. The
 * vocabulary tells English-only (51864) from multilingual (51865) models
 * and large-v3 (51866, 128 mel bins) from the earlier ones.
 */
static const struct known_heads known[] = {
	{ "tiny.en", 4, 384, 51864, 80, 8,
	  PAIRS(1, 0, 2, 0, 2, 5, 3, 0, 3, 1, 3, 2, 3, 3, 3, 4) },
	{ "tiny", 4, 384, 51865, 80, 6,
	  PAIRS(2, 2, 3, 0, 3, 2, 3, 3, 3, 4, 3, 5) },
	{ "base.en", 6, 512, 51864, 80, 5,
	  PAIRS(3, 3, 4, 7, 5, 1, 5, 5, 5, 7) },
	{ "base", 6, 512, 51865, 80, 8,
	  PAIRS(3, 1, 4, 2, 4, 3, 4, 7, 5, 1, 5, 2, 5, 4, 5, 6) },
	{ "small.en", 12, 768, 51864, 80, 19,
	  PAIRS(6, 6, 7, 0, 7, 3, 7, 8, 8, 2, 8, 5, 8, 7, 9, 0, 9, 4, 9, 8, 9, 10,
		10, 0, 10, 1, 10, 2, 10, 3, 10, 6, 10, 11, 11, 2, 11, 4) },
	{ "small", 12, 768, 51865, 80, 10,
	  PAIRS(5, 3, 5, 9, 8, 0, 8, 4, 8, 7, 8, 8, 9, 0, 9, 7, 9, 9, 10, 5) },
	{ "medium.en", 24, 1024, 51864, 80, 18,
	  PAIRS(11, 4, 14, 1, 14, 12, 14, 14, 15, 4, 16, 0, 16, 4, 16, 9, 17, 12,
		17, 14, 18, 7, 18, 10, 18, 15, 20, 0, 20, 3, 20, 9, 20, 14, 21, 12) },
	{ "medium", 24, 1024, 51865, 80, 6,
	  PAIRS(13, 15, 15, 4, 15, 15, 16, 1, 20, 0, 23, 4) },
	{ "large-v3", 32, 1280, 51866, 128, 10,
	  PAIRS(7, 0, 10, 17, 12, 18, 13, 12, 16, 1, 17, 14, 19, 11, 21, 4, 24, 1, 25, 6) },
	{ "large-v3-turbo", 4, 1280, 51866, 128, 6,
	  PAIRS(2, 4, 2, 11, 3, 3, 3, 6, 3, 11, 3, 14) },
};

int wsp_model_alignment_heads(const struct wsp_model *m, int32_t *out, int cap,
			      const char **source)
{
	const struct wsp_hparams *hp = &m->hp;
	const struct wsp_id_list *l = &m->cfg.alignment_heads;
	int n = 0;

	if (l->v && l->n >= 2) {   /* config.json: already range-checked at load */
		if (l->n / 2 > cap)
			return -E2BIG;
		memcpy(out, l->v, (size_t)(l->n / 2) * 2 * sizeof(int32_t));
		*source = "config.json";
		return l->n / 2;
	}
	for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++) {
		const struct known_heads *k = &known[i];

		if (k->n_text_layer != hp->n_text_layer || k->n_text_state != hp->n_text_state ||
		    k->n_vocab != hp->n_vocab || k->n_mels != hp->n_mels)
			continue;
		if (k->n > cap)
			return -E2BIG;
		for (int j = 0; j < 2 * k->n; j++)
			out[j] = k->pairs[j];
		*source = k->name;
		return k->n;
	}
	for (int layer = hp->n_text_layer / 2; layer < hp->n_text_layer; layer++)
		for (int h = 0; h < hp->n_text_head; h++) {
			if (n == cap)
				return -E2BIG;
			out[2 * n] = layer;
			out[2 * n + 1] = h;
			n++;
		}
	*source = "second half of the decoder layers";
	return n;
}
