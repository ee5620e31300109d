// SPDX-License-Identifier: MIT
/*
 * whisper/decode/decode_lang.c - spoken-language detection as openai-whisper does
 * it: one decoder step on <|startoftranscript|>, the logits restricted to the
 * language tokens, the most likely one and its softmax probability among them.
 */
#include <errno.h>
#include <math.h>

#include "whisper/decode/decode.h"

int32_t wsp_detect_language(struct wsp_decoder *d, int n_seq, const struct wsp_rules *r,
			    struct wsp_dec_ws *w, float *prob)
{
	const struct wsp_special_tokens *sp = &r->sp;
	const float *lg;
	float lse;
	int32_t best;
	int ret;

	if (sp->lang_first < 0 || sp->n_langs <= 0 || n_seq > w->max_seq ||
	    sp->lang_first + sp->n_langs > r->n_vocab)
		return -EINVAL;
	wsp_decoder_reset(d);
	for (int s = 0; s < n_seq; s++)
		w->feed[s] = sp->sot;
	ret = wsp_decoder_step(d, w->feed, 1, 0, w->logits);
	wsp_decoder_reset(d);
	if (ret)
		return ret;
	lg = w->logits + sp->lang_first;
	best = 0;
	for (int i = 1; i < sp->n_langs; i++)
		if (lg[i] > lg[best])
			best = i;
	lse = wsp_logsumexp(lg, sp->n_langs);
	if (prob)
		*prob = expf(lg[best] - lse);
	return sp->lang_first + best;
}
