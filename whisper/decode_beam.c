// SPDX-License-Identifier: MIT
/*
 * whisper/decode_beam.c - beam search over a batched decoder, with the rules
 * of openai-whisper's BeamSearchDecoder: every live beam proposes its
 * beam_size + 1 most likely next tokens; the candidates, ranked by summed
 * log-probability, refill the beams (those ending in <|endoftext|> are set
 * aside as finished) until round(beam_size * patience) have finished; the
 * winner is the finished sequence with the best length-normalized score.
 * Each step is one wsp_decoder_step() over all beams, and the KV cache follows
 * the surviving beams through wsp_decoder_reorder().
 */
#include <errno.h>
#include <math.h>
#include <string.h>

#include "whisper/decode.h"

/* Stable insertion sort by score, best first: ties keep proposal order. */
static void sort_cands(struct wsp_beam_cand *c, int n)
{
	for (int i = 1; i < n; i++) {
		struct wsp_beam_cand x = c[i];
		int j = i;

		while (j > 0 && c[j - 1].score < x.score) {
			c[j] = c[j - 1];
			j--;
		}
		c[j] = x;
	}
}

static void add_finished(struct wsp_dec_ws *w, int *n_fin, const int32_t *toks, int len,
			 double sum)
{
	int f = *n_fin;

	memcpy(w->fin_tok + (size_t)f * w->n_ctx, toks, (size_t)len * sizeof(int32_t));
	w->fin_len[f] = len;
	w->fin_sum[f] = sum;
	*n_fin = f + 1;
}

int wsp_decode_beam(struct wsp_decoder *d, int n_seq, const struct wsp_rules *r,
		    const struct wsp_decode_opts *o, int n_prompt,
		    struct wsp_dec_ws *w, struct wsp_decoded *out)
{
	const int V = r->n_vocab, C = w->n_ctx, eot = r->sp.eot, B = n_seq;
	int n_live = 1, n_fin = 0, max_cand, best, ret;
	double best_score;

	if (o->beam_size != n_seq)
		return -EINVAL;
	max_cand = (int)lrintf((float)B * o->patience);
	if (max_cand < 1)
		max_cand = 1;
	if (max_cand > w->max_fin)
		max_cand = w->max_fin;
	w->len[0] = 0;
	w->sum[0] = 0.0;

	for (int step = 0; step < o->max_new; step++) {
		int n_cand = 0, saved = 0, identity = 1;

		for (int b = 0; b < n_live; b++) {
			float *lg = w->logits + (size_t)b * V;
			struct wsp_rule_seq rs = { w->tok + (size_t)b * C, w->len[b] };
			float lse = wsp_apply_rules(r, &o->rules, &rs, lg);
			int k = wsp_topk(lg, V, B + 1, w->topk);

			for (int i = 0; i < k; i++) {
				float l = lg[w->topk[i]];

				if (l == -INFINITY)
					break;
				w->cand[n_cand].score = w->sum[b] + (double)(l - lse);
				w->cand[n_cand].src = b;
				w->cand[n_cand].tok = w->topk[i];
				n_cand++;
			}
		}
		sort_cands(w->cand, n_cand);
		for (int i = 0; i < n_cand && saved < B; i++) {
			const struct wsp_beam_cand *c = &w->cand[i];
			const int32_t *prefix = w->tok + (size_t)c->src * C;

			if (c->tok == eot) {
				if (n_fin < max_cand)
					add_finished(w, &n_fin, prefix, w->len[c->src], c->score);
				continue;
			}
			memcpy(w->ntok + (size_t)saved * C, prefix,
			       (size_t)w->len[c->src] * sizeof(int32_t));
			w->ntok[(size_t)saved * C + w->len[c->src]] = c->tok;
			w->nlen[saved] = w->len[c->src] + 1;
			w->nsum[saved] = c->score;
			w->src[saved] = c->src;
			saved++;
		}
		if (n_fin >= max_cand || saved == 0)
			break;
		/* swap in the new beams; rows past @saved repeat beam 0 and are ignored */
		for (int s = 0; s < B; s++) {
			if (s >= saved) {
				memcpy(w->ntok + (size_t)s * C, w->ntok, (size_t)w->nlen[0] * sizeof(int32_t));
				w->nlen[s] = w->nlen[0];
				w->nsum[s] = w->nsum[0];
				w->src[s] = w->src[0];
			}
			identity &= w->src[s] == s;
		}
		{
			int32_t *t = w->tok;
			int *l = w->len;
			double *su = w->sum;

			w->tok = w->ntok;
			w->ntok = t;
			w->len = w->nlen;
			w->nlen = l;
			w->sum = w->nsum;
			w->nsum = su;
		}
		n_live = saved;
		if (step + 1 == o->max_new || n_prompt + w->len[0] >= C)
			break;
		if (!identity) {
			ret = wsp_decoder_reorder(d, w->src);
			if (ret)
				return ret;
		}
		for (int s = 0; s < B; s++)
			w->feed[s] = w->tok[(size_t)s * C + w->len[s] - 1];
		ret = wsp_decoder_step(d, w->feed, 1, 0, w->logits);
		if (ret)
			return ret;
	}
	/* too few finished: the live beams count, best first (openai's finalize) */
	if (n_fin < B) {
		int order[256], n = 0;

		for (int b = 0; b < n_live && b < 256; b++) {
			int j = n++;

			while (j > 0 && w->sum[order[j - 1]] < w->sum[b]) {
				order[j] = order[j - 1];
				j--;
			}
			order[j] = b;
		}
		for (int i = 0; i < n && n_fin < B && n_fin < w->max_fin; i++)
			add_finished(w, &n_fin, w->tok + (size_t)order[i] * C, w->len[order[i]],
				     w->sum[order[i]]);
	}
	if (n_fin == 0) {
		out->n_tokens = 0;
		out->sum_logprob = 0.0;
		return 0;
	}
	best = 0;
	best_score = -INFINITY;
	for (int f = 0; f < n_fin; f++) {
		double sc = wsp_rank_score(w->fin_sum[f], w->fin_len[f], o->length_penalty);

		if (sc > best_score) {
			best_score = sc;
			best = f;
		}
	}
	memcpy(out->tokens, w->fin_tok + (size_t)best * C, (size_t)w->fin_len[best] * sizeof(int32_t));
	out->n_tokens = w->fin_len[best];
	out->sum_logprob = w->fin_sum[best];
	return 0;
}
