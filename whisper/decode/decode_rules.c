// SPDX-License-Identifier: MIT
/*
 * whisper/decode/decode_rules.c - the logit filters of openai-whisper applied to one
 * row of logits: SuppressBlank, SuppressTokens and ApplyTimestampRules, plus
 * the row helpers the decoders share (log-sum-exp, top-k).
 *
 * Log-probabilities are never materialized: a rule that compares
 * log-probabilities of one row compares the logits (the normalizer cancels),
 * and callers get the row's log-sum-exp to turn a logit into a log-probability.
 */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "whisper/decode/decode.h"
#include "whisper/nn/ops.h"

static void mask_range(float *v, int from, int to)
{
	for (int i = from; i < to; i++)
		v[i] = -INFINITY;
}

/*
 * Row reductions over ~52k logits per sequence and step. They run in eight
 * independent lanes so that the compiler vectorizes them without -ffast-math;
 * exp is a degree-6 polynomial of 2^f (relative error below 2e-7).
 */
#define LANES 8

static float row_max(const float *v, int n)
{
	float m[LANES], r = -INFINITY;
	int i = 0;

	if (nn_have_avx512())
		return wsp_row_max_avx512(v, n);
	for (int k = 0; k < LANES; k++)
		m[k] = -INFINITY;
	for (; i + LANES <= n; i += LANES)
		for (int k = 0; k < LANES; k++)
			m[k] = v[i + k] > m[k] ? v[i + k] : m[k];
	for (; i < n; i++)
		r = v[i] > r ? v[i] : r;
	for (int k = 0; k < LANES; k++)
		r = m[k] > r ? m[k] : r;
	return r;
}

static inline float exp_le0(float x)
{
	float t, r, y, p, sc;
	int32_t e;

	x = x < -87.0f ? -87.0f : x;
	x = x > 88.0f ? 88.0f : x;
	t = x * 1.44269504f;
	r = (t + 12582912.0f) - 12582912.0f;      /* round to nearest */
	y = (t - r) * 0.693147181f;               /* |y| <= ln2 / 2 */
	p = 1.0f + y * (1.0f + y * (0.5f + y * (1.0f / 6 + y * (1.0f / 24 +
	    y * (1.0f / 120 + y * (1.0f / 720))))));
	e = ((int32_t)r + 127) << 23;
	memcpy(&sc, &e, sizeof(sc));
	return p * sc;
}

static float sum_exp(const float *v, int n, float m)
{
	float s[LANES] = { 0 }, r = 0.0f;
	int i = 0;

	if (nn_have_avx512())
		return wsp_sum_exp_avx512(v, n, m);
	for (; i + LANES <= n; i += LANES)
		for (int k = 0; k < LANES; k++)
			s[k] += exp_le0(v[i + k] - m);
	for (; i < n; i++)
		r += exp_le0(v[i] - m);
	for (int k = 0; k < LANES; k++)
		r += s[k];
	return r;
}

/* Insert v[i] into the sorted top list idx[0..*have) of at most k. */
static inline void topk_insert(const float *v, int i, int k, int32_t *idx, int *have)
{
	int j;

	if (*have == k && !(v[i] > v[idx[k - 1]]))
		return;
	j = *have < k ? (*have)++ : k - 1;
	while (j > 0 && v[i] > v[idx[j - 1]]) {
		idx[j] = idx[j - 1];
		j--;
	}
	idx[j] = i;
}

int wsp_topk(const float *v, int n, int k, int32_t *idx)
{
	int have = 0, i = 0;

	if (k > n)
		k = n;
	if (k <= 0)
		return 0;
	/* blocks of 32 whose maximum is not above the k-th best are skipped */
	for (; i + 32 <= n; i += 32) {
		float m[LANES], bm = -INFINITY;

		if (have == k) {
			for (int l = 0; l < LANES; l++)
				m[l] = v[i + l];
			for (int q = LANES; q < 32; q += LANES)
				for (int l = 0; l < LANES; l++)
					m[l] = v[i + q + l] > m[l] ? v[i + q + l] : m[l];
			for (int l = 0; l < LANES; l++)
				bm = m[l] > bm ? m[l] : bm;
			if (!(bm > v[idx[k - 1]]))
				continue;
		}
		for (int q = 0; q < 32; q++)
			topk_insert(v, i + q, k, idx, &have);
	}
	for (; i < n; i++)
		topk_insert(v, i, k, idx, &have);
	return have;
}

float wsp_logsumexp(const float *v, int n)
{
	float m = row_max(v, n);

	if (m == -INFINITY)
		return -INFINITY;
	return m + logf(sum_exp(v, n, m));
}



/* ApplyTimestampRules on one row; returns the row's log-sum-exp afterwards. */
static float timestamp_rules(const struct wsp_rules *r, const struct wsp_rule_opts *o,
			     const struct wsp_rule_seq *s, float *lg)
{
	const int tb = r->sp.timestamp_begin, V = r->n_vocab, eot = r->sp.eot;
	const int32_t *seq = s->sampled;
	int n = s->n_sampled, last_ts = -1;
	float mt, st, mx, ms, lse_ts;

	if (r->sp.no_timestamps >= 0)
		lg[r->sp.no_timestamps] = -INFINITY;
	if (n >= 1 && seq[n - 1] >= tb) {
		int penult = n < 2 || seq[n - 2] >= tb;

		if (penult)
			mask_range(lg, tb, V);   /* after a pair: text or eot */
		else
			mask_range(lg, 0, eot);  /* after one timestamp: its pair or eot */
	}
	for (int i = n - 1; i >= 0; i--)
		if (seq[i] >= tb) {
			last_ts = seq[i];
			break;
		}
	if (last_ts >= 0) {
		/*
		 * never decreasing; openai also keeps a segment from being empty (a
		 * timestamp after text is above the last), CTranslate2 does not
		 */
		int lim = (!o->strict_increase ||
			   (n >= 1 && seq[n - 1] >= tb && !(n < 2 || seq[n - 2] >= tb))) ?
			  last_ts : last_ts + 1;

		mask_range(lg, tb, lim < V ? lim : V);
	}
	if (n == 0) {
		mask_range(lg, 0, tb);
		if (o->max_initial_ts >= 0 && tb + o->max_initial_ts + 1 < V)
			mask_range(lg, tb + o->max_initial_ts + 1, V);
	}
	/* timestamp mass above the best text token: force a timestamp */
	mt = row_max(lg, tb);
	mx = row_max(lg + tb, V - tb);
	if (mx == -INFINITY)
		lse_ts = -INFINITY;
	else
		lse_ts = mx + logf(sum_exp(lg + tb, V - tb, mx));
	if (lse_ts > mt) {
		mask_range(lg, 0, tb);
		return lse_ts;
	}
	if (mt == -INFINITY)
		return lse_ts;
	st = sum_exp(lg, tb, mt);
	if (lse_ts == -INFINITY)
		return mt + logf(st);
	/* log(exp(lse_text) + exp(lse_ts)) with lse_ts <= mt */
	ms = mt + logf(st);
	return ms + log1pf(expf(lse_ts - ms));
}

float wsp_apply_rules(const struct wsp_rules *r, const struct wsp_rule_opts *o,
		      const struct wsp_rule_seq *s, float *logits)
{
	if (o->suppress_blank && s->n_sampled == 0)
		for (int i = 0; i < r->n_suppress_begin; i++)
			logits[r->suppress_begin[i]] = -INFINITY;
	for (int i = 0; i < r->n_suppress; i++)
		logits[r->suppress[i]] = -INFINITY;
	if (o->timestamps && r->sp.timestamp_begin > 0)
		return timestamp_rules(r, o, s, logits);
	return wsp_logsumexp(logits, r->n_vocab);
}
