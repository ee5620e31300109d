// SPDX-License-Identifier: MIT
/*
 * whisper/decode/decode_ws.c - what every decoding pass shares: the scratch
 * that makes steps allocation-free, the sampling random numbers, and the
 * ranking of finished sequences (length penalty). Used by the beam search
 * (decode_beam.c) and the window pass (decode_window.c).
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "whisper/decode/decode.h"

uint64_t wsp_rng_next(uint64_t *state)
{
	uint64_t z = (*state += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

void wsp_dec_ws_free(struct wsp_dec_ws *w)
{
	if (!w)
		return;
	free(w->logits);
	free(w->feed);
	free(w->tok);
	free(w->ntok);
	free(w->len);
	free(w->nlen);
	free(w->done);
	free(w->src);
	free(w->sum);
	free(w->nsum);
	free(w->fin_tok);
	free(w->fin_len);
	free(w->fin_sum);
	free(w->cand);
	free(w->topk);
	free(w->res_tok[0]);
	free(w->res_tok[1]);
	free(w->text);
	free(w);
}

int wsp_dec_ws_new(int max_seq, int n_vocab, int n_ctx, struct wsp_dec_ws **out)
{
	struct wsp_dec_ws *w;
	size_t S, C;

	if (max_seq <= 0 || max_seq > 256 || n_vocab <= 0 || n_ctx <= 0)
		return -EINVAL;
	w = calloc(1, sizeof(*w));
	if (!w)
		return -ENOMEM;
	S = (size_t)max_seq;
	C = (size_t)n_ctx;
	w->max_seq = max_seq;
	w->n_vocab = n_vocab;
	w->n_ctx = n_ctx;
	w->max_fin = 4 * max_seq;
	w->logits = malloc(S * (size_t)n_vocab * sizeof(float));
	w->feed = malloc(S * C * sizeof(int32_t));
	w->tok = malloc(S * C * sizeof(int32_t));
	w->ntok = malloc(S * C * sizeof(int32_t));
	w->len = calloc(S, sizeof(int));
	w->nlen = calloc(S, sizeof(int));
	w->done = calloc(S, sizeof(int));
	w->src = calloc(S, sizeof(int));
	w->sum = calloc(S, sizeof(double));
	w->nsum = calloc(S, sizeof(double));
	w->fin_tok = malloc((size_t)w->max_fin * C * sizeof(int32_t));
	w->fin_len = calloc((size_t)w->max_fin, sizeof(int));
	w->fin_sum = calloc((size_t)w->max_fin, sizeof(double));
	w->cand = malloc(S * 2 * S * sizeof(*w->cand));
	w->topk = malloc(2 * S * sizeof(int32_t));
	w->res_tok[0] = malloc(C * sizeof(int32_t));
	w->res_tok[1] = malloc(C * sizeof(int32_t));
	w->text_cap = 4096;
	w->text = malloc(w->text_cap);
	if (!w->res_tok[0] || !w->res_tok[1] || !w->text || !w->logits || !w->feed || !w->tok || !w->ntok || !w->len || !w->nlen ||
	    !w->done || !w->src || !w->sum || !w->nsum || !w->fin_tok || !w->fin_len ||
	    !w->fin_sum || !w->cand || !w->topk) {
		wsp_dec_ws_free(w);
		return -ENOMEM;
	}
	*out = w;
	return 0;
}

double wsp_rank_score(double sum_logprob, int len, float length_penalty)
{
	double pen;

	if (len < 1)
		len = 1;
	if (length_penalty < 0)
		pen = len;
	else
		pen = pow((5.0 + len) / 6.0, length_penalty);
	return sum_logprob / pen;
}

void wsp_rank_take(const int32_t *tok, size_t stride, const int *len, const double *sum,
		   int n, float length_penalty, struct wsp_decoded *out)
{
	double best_score = -INFINITY;
	int best = 0;

	for (int s = 0; s < n; s++) {
		double sc = wsp_rank_score(sum[s], len[s], length_penalty);

		if (sc > best_score) {
			best_score = sc;
			best = s;
		}
	}
	memcpy(out->tokens, tok + (size_t)best * stride, (size_t)len[best] * sizeof(int32_t));
	out->n_tokens = len[best];
	out->sum_logprob = sum[best];
}
