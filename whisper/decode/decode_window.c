// SPDX-License-Identifier: MIT
/*
 * whisper/decode/decode_window.c - one decoding pass over one 30 s window: the
 * prompt step (with the no-speech probability), then beam search
 * (decode_beam.c) or greedy / best-of sampling, all sequences advancing in
 * one batched wsp_decoder_step() per token. Scratch and ranking: decode_ws.c.
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "whisper/decode/decode.h"

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
