// SPDX-License-Identifier: MIT
/*
 * whisper/decode/greedy.c - argmax decoding over wsp_decoder_step(), one token per
 * step after the prompt.
 */
#include <errno.h>
#include <stdlib.h>

#include "whisper/decode/greedy.h"

static int32_t argmax(const float *v, int n)
{
	int32_t best = 0;

	for (int i = 1; i < n; i++)
		if (v[i] > v[best])
			best = i;
	return best;
}

int wsp_greedy(const struct wsp_model *m, const struct wsp_exec *x, const float *enc,
	       const int32_t *prompt, int n_prompt, int32_t eot,
	       int32_t *out, int max_out)
{
	const struct wsp_hparams *hp;
	struct wsp_decoder *d = NULL;
	float *logits;
	int n = 0, ret;
	int32_t tok;

	if (!m || !x || !enc || !prompt || n_prompt <= 0 || !out || max_out < 0)
		return -EINVAL;
	hp = wsp_model_hparams(m);
	logits = malloc((size_t)hp->n_vocab * sizeof(float));
	if (!logits)
		return -ENOMEM;
	ret = wsp_decoder_new(m, x, enc, 1, &d);
	if (ret)
		goto out;
	ret = wsp_decoder_step(d, prompt, n_prompt, n_prompt - 1, logits);
	while (!ret) {
		tok = argmax(logits, hp->n_vocab);
		if (tok == eot || n == max_out || n_prompt + n >= hp->n_text_ctx)
			break;
		out[n++] = tok;
		ret = wsp_decoder_step(d, &tok, 1, 0, logits);
	}
	if (!ret)
		ret = n;
out:
	wsp_decoder_free(d);
	free(logits);
	return ret;
}
