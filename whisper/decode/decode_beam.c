// SPDX-License-Identifier: MIT
/*
 * whisper/decode/decode_beam.c - beam search over a batched decoder, with the rules
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

#include "whisper/decode/decode.h"

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

/* Beam @slot of the next step continues candidate @c. */
static void keep(struct wsp_dec_ws *w, int slot, const struct wsp_beam_cand *c)
{
	const int C = w->n_ctx;

	memcpy(w->ntok + (size_t)slot * C, w->tok + (size_t)c->src * C,
	       (size_t)w->len[c->src] * sizeof(int32_t));
	w->ntok[(size_t)slot * C + w->len[c->src]] = c->tok;
	w->nlen[slot] = w->len[c->src] + 1;
	w->nsum[slot] = c->score;
	w->src[slot] = c->src;
}

/* A finished sequence: candidate @c's prefix, plus its token unless it is the end. */
static void finish(struct wsp_dec_ws *w, int *n_fin, const struct wsp_beam_cand *c, int32_t eot)
{
	const int32_t *prefix = w->tok + (size_t)c->src * w->n_ctx;
	int len = w->len[c->src];

	if (*n_fin >= w->max_fin)
		return;
	add_finished(w, n_fin, prefix, len, c->score);
	if (c->tok != eot) {
		w->fin_tok[(size_t)(*n_fin - 1) * w->n_ctx + len] = c->tok;
		w->fin_len[*n_fin - 1] = len + 1;
	}
}

/*
 * openai-whisper: walk the candidates best first; ends finish (while fewer
 * than max_cand have), the others fill the beams until beam_size are kept.
 */
static int select_openai(struct wsp_dec_ws *w, int B, int max_cand, int *n_fin, int n_cand,
			 int32_t eot)
{
	int saved = 0;

	for (int i = 0; i < n_cand && saved < B; i++) {
		if (w->cand[i].tok == eot) {
			if (*n_fin < max_cand)
				finish(w, n_fin, &w->cand[i], eot);
			continue;
		}
		keep(w, saved++, &w->cand[i]);
	}
	return saved;
}

/*
 * CTranslate2: of the 2 × beam_size best candidates, the first beam_size are
 * the beams; one that ends (or any, at the last step) finishes and its beam
 * takes the next unused non-end candidate among the other beam_size.
 */
static int select_ct2(struct wsp_dec_ws *w, int B, int *n_fin, int n_cand, int32_t eot,
		      int last)
{
	int take = n_cand < 2 * B ? n_cand : 2 * B, sec = B, saved = 0;

	for (int k = 0; k < B && k < take; k++) {
		int use = k;

		if (w->cand[k].tok == eot || last) {
			finish(w, n_fin, &w->cand[k], eot);
			use = -1;
			for (int j = sec; j < take; j++)
				if (w->cand[j].tok != eot) {
					use = j;
					sec = j + 1;
					break;
				}
		}
		if (use >= 0 && !last)
			keep(w, saved++, &w->cand[use]);
	}
	return saved;
}

int wsp_beam_select(struct wsp_dec_ws *w, int B, int max_cand, int *n_fin, int n_cand,
		    int32_t eot, int last, int openai)
{
	sort_cands(w->cand, n_cand);
	if (openai)
		return select_openai(w, B, max_cand, n_fin, n_cand, eot);
	return select_ct2(w, B, n_fin, n_cand, eot, last);
}

int wsp_decode_beam(struct wsp_decoder *d, int n_seq, const struct wsp_rules *r,
		    const struct wsp_decode_opts *o, int n_prompt,
		    struct wsp_dec_ws *w, struct wsp_decoded *out)
{
	const int V = r->n_vocab, C = w->n_ctx, eot = r->sp.eot, B = n_seq;
	int n_live = 1, n_fin = 0, max_cand, ret;

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
		int last = step + 1 == o->max_new || n_prompt + w->len[0] + 1 >= C;
		int per_beam = o->beam_openai ? B + 1 : 2 * B;

		for (int b = 0; b < n_live; b++) {
			float *lg = w->logits + (size_t)b * V;
			struct wsp_rule_seq rs = { w->tok + (size_t)b * C, w->len[b] };
			float lse = wsp_apply_rules(r, &o->rules, &rs, lg);
			int k = wsp_topk(lg, V, per_beam, w->topk);

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
		saved = wsp_beam_select(w, B, max_cand, &n_fin, n_cand, eot, last, o->beam_openai);
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
	wsp_rank_take(w->fin_tok, (size_t)C, w->fin_len, w->fin_sum, n_fin, o->length_penalty, out);
	return 0;
}
