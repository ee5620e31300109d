// SPDX-License-Identifier: MIT
/*
 * whisper/decode_window.c - one decoding pass over one 30 s window: the
 * scratch that makes steps allocation-free, the prompt step (with the
 * no-speech probability), and greedy / best-of sampling decoding, all
 * sequences advancing in one batched wsp_decoder_step() per token. Beam
 * search is in decode_beam.c.
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "whisper/decode.h"

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

int wsp_decode_prompt(struct wsp_decoder *d, int n_seq, const struct wsp_rules *r,
		      const int32_t *prompt, int n_prompt, int sot_index,
		      struct wsp_dec_ws *w, float *no_speech)
{
	const int V = r->n_vocab;
	int head = sot_index + 1, ret;

	if (n_seq > w->max_seq || n_prompt <= 0 || n_prompt >= w->n_ctx ||
	    sot_index < 0 || sot_index >= n_prompt)
		return -EINVAL;
	wsp_decoder_reset(d);
	/*
	 * The prompt is the same for every sequence: it runs once, on sequence
	 * 0, and the others get copies of its keys/values (and logits).
	 * Up to the sot: logits at the sot only, for the no-speech probability.
	 */
	ret = wsp_decoder_step_shared(d, prompt, head, head - 1, w->logits);
	if (ret)
		return ret;
	*no_speech = 0.0f;
	if (r->sp.no_speech >= 0) {
		float lse = wsp_logsumexp(w->logits, V);

		*no_speech = expf(w->logits[r->sp.no_speech] - lse);
	}
	if (head == n_prompt)
		return 0;
	/* the rest of the sot sequence: logits at its last position */
	return wsp_decoder_step_shared(d, prompt + head, n_prompt - head, n_prompt - head - 1,
				       w->logits);
}

/* Categorical(logits / T).sample() with a splitmix64 stream. */
static int32_t sample(const float *v, int n, float temp, uint64_t *rng)
{
	float m = -INFINITY, inv = 1.0f / temp;
	double total = 0.0, u, acc = 0.0;
	int32_t last = 0;

	for (int i = 0; i < n; i++)
		m = v[i] > m ? v[i] : m;
	for (int i = 0; i < n; i++)
		if (v[i] != -INFINITY)
			total += expf((v[i] - m) * inv);
	u = (double)(wsp_rng_next(rng) >> 11) * (1.0 / 9007199254740992.0) * total;
	for (int i = 0; i < n; i++) {
		if (v[i] == -INFINITY)
			continue;
		acc += expf((v[i] - m) * inv);
		last = i;
		if (acc > u)
			return i;
	}
	return last;
}

/* Greedy (temperature 0, one sequence) or best_of samples, openai's GreedyDecoder. */
static int decode_sampled(struct wsp_decoder *d, int n_seq, const struct wsp_rules *r,
			  const struct wsp_decode_opts *o, int n_prompt, uint64_t *rng,
			  struct wsp_dec_ws *w, struct wsp_decoded *out)
{
	const int V = r->n_vocab, C = w->n_ctx, eot = r->sp.eot;
	int ret;

	for (int s = 0; s < n_seq; s++) {
		w->len[s] = 0;
		w->done[s] = 0;
		w->sum[s] = 0.0;
	}
	for (int step = 0; step < o->max_new; step++) {
		int live = 0;

		for (int s = 0; s < n_seq; s++) {
			float *lg = w->logits + (size_t)s * V;
			struct wsp_rule_seq rs = { w->tok + (size_t)s * C, w->len[s] };
			float lse;
			int32_t t;

			if (w->done[s])
				continue;
			lse = wsp_apply_rules(r, &o->rules, &rs, lg);
			if (o->temperature > 0)
				t = sample(lg, V, o->temperature, rng);
			else
				wsp_topk(lg, V, 1, &t);   /* argmax, first of ties */
			w->sum[s] += lg[t] - lse;
			if (t == eot)
				w->done[s] = 1;
			else
				w->tok[(size_t)s * C + w->len[s]++] = t;
			if (!w->done[s] && n_prompt + w->len[s] >= C)
				w->done[s] = 1;   /* context full: ends as if eot followed */
			live += !w->done[s];
		}
		if (!live || step + 1 == o->max_new)
			break;
		for (int s = 0; s < n_seq; s++)
			w->feed[s] = w->done[s] ? eot : w->tok[(size_t)s * C + w->len[s] - 1];
		ret = wsp_decoder_step(d, w->feed, 1, 0, w->logits);
		if (ret)
			return ret;
	}
	wsp_rank_take(w->tok, (size_t)C, w->len, w->sum, n_seq, o->length_penalty, out);
	return 0;
}

int wsp_decode_window(struct wsp_decoder *d, int n_seq, const struct wsp_rules *r,
		      const struct wsp_decode_opts *o, const int32_t *prompt, int n_prompt,
		      int sot_index, uint64_t *rng, struct wsp_dec_ws *w,
		      struct wsp_decoded *out)
{
	int ret;

	if (!d || !r || !o || !prompt || !w || !out || n_seq <= 0 || n_seq > w->max_seq ||
	    r->n_vocab != w->n_vocab || o->max_new <= 0)
		return -EINVAL;
	ret = wsp_decode_prompt(d, n_seq, r, prompt, n_prompt, sot_index, w,
				&out->no_speech_prob);
	if (ret)
		return ret;
	if (o->temperature <= 0 && o->beam_size > 1)
		ret = wsp_decode_beam(d, n_seq, r, o, n_prompt, w, out);
	else
		ret = decode_sampled(d, n_seq, r, o, n_prompt, rng, w, out);
	if (ret)
		return ret;
	out->temperature = o->temperature;
	out->avg_logprob = (float)(out->sum_logprob / (out->n_tokens + 1));
	return 0;
}
