// SPDX-License-Identifier: MIT
/*
 * tests/test_decode.c - the decoding rules on crafted logits, without a
 * model: timestamp rules (initial, pairs, monotonic, max initial timestamp,
 * probability mass), token suppression, the log-sum-exp they return, top-k and
 * ranking order, compression ratios of known strings, and the split of a
 * window's tokens into segments with the next seek.
 */
#include <criterion/criterion.h>
#include <math.h>
#include <string.h>

#include "whisper/decode/decode.h"
#include "whisper/nn/ops.h"
#include "whisper/decode/seek.h"

/*
 * A toy vocabulary of 40: text 0..19, eot 20, sot 21, translate 22,
 * transcribe 23, sot_lm 24, sot_prev 25, no_speech 26, no_timestamps 27,
 * lang 28..29, timestamps 30..39 (<|0.00|> .. <|0.18|>).
 */
#define V   40
#define EOT 20
#define NTS 27
#define TB  30

static int32_t sup[] = { 3, 21, 22, 23, 24, 25, 26 };
static int32_t sup_begin[] = { 1, EOT };

static struct wsp_rules rules = {
	.sp = {
		.eot = EOT, .sot = 21, .translate = 22, .transcribe = 23, .sot_lm = 24,
		.sot_prev = 25, .no_speech = 26, .no_timestamps = NTS, .timestamp_begin = TB,
		.lang_first = 28, .n_langs = 2,
	},
	.n_vocab = V,
	.suppress = sup, .n_suppress = 7,
	.suppress_begin = sup_begin, .n_suppress_begin = 2,
};

static void fill(float *lg, float text, float ts)
{
	for (int i = 0; i < V; i++)
		lg[i] = i < TB ? text : ts;
}

static int strict = 1;

static float apply(const int32_t *seq, int n, float *lg, int ts, int blank, int max_init)
{
	struct wsp_rule_opts o = { .timestamps = ts, .suppress_blank = blank,
				   .max_initial_ts = max_init, .strict_increase = strict };
	struct wsp_rule_seq s = { seq, n };

	return wsp_apply_rules(&rules, &o, &s, lg);
}

static float direct_lse(const float *lg)
{
	double s = 0.0;

	for (int i = 0; i < V; i++)
		if (lg[i] != -INFINITY)
			s += exp(lg[i]);
	return (float)log(s);
}

Test(rules, suppress_tokens_always_blank_only_first)
{
	float lg[V];
	int32_t seq[1] = { 5 };

	fill(lg, 0.0f, 0.0f);
	apply(NULL, 0, lg, 0, 1, -1);
	for (int i = 0; i < 7; i++)
		cr_expect(isinf(lg[sup[i]]), "token %d not suppressed", sup[i]);
	cr_expect(isinf(lg[1]) && isinf(lg[EOT]), "blank and eot allowed at the first token");
	cr_expect_eq(lg[0], 0.0f);

	fill(lg, 0.0f, 0.0f);
	apply(seq, 1, lg, 0, 1, -1);
	cr_expect_eq(lg[1], 0.0f, "blank suppressed after the first token");
	cr_expect_eq(lg[EOT], 0.0f, "eot suppressed after the first token");
	cr_expect(isinf(lg[3]));

	fill(lg, 0.0f, 0.0f);
	apply(NULL, 0, lg, 0, 0, -1);
	cr_expect_eq(lg[1], 0.0f, "suppress_blank off still suppresses the blank");
}

Test(rules, initial_timestamp_and_max_initial)
{
	float lg[V];

	fill(lg, 5.0f, 0.0f);   /* text far more likely: the rule still forces a timestamp */
	apply(NULL, 0, lg, 1, 1, 3);
	for (int i = 0; i < TB; i++)
		cr_expect(isinf(lg[i]), "text token %d allowed first", i);
	for (int i = TB; i <= TB + 3; i++)
		cr_expect_eq(lg[i], 0.0f, "timestamp %d masked", i - TB);
	for (int i = TB + 4; i < V; i++)
		cr_expect(isinf(lg[i]), "timestamp %d above max_initial allowed", i - TB);
}

Test(rules, no_timestamps_token_never_sampled)
{
	float lg[V];
	int32_t seq[1] = { TB };

	fill(lg, 0.0f, -50.0f);
	lg[NTS] = 100.0f;
	apply(seq, 1, lg, 1, 1, -1);
	cr_expect(isinf(lg[NTS]));
}

Test(rules, timestamps_come_in_pairs)
{
	float lg[V];
	/* <|0.02|> text <|0.08|>: the next token must be a timestamp (>= 0.08) or eot */
	int32_t open[3] = { TB + 1, 5, TB + 4 };
	/* <|0.02|> text <|0.08|><|0.08|>: after a pair, text only */
	int32_t pair[4] = { TB + 1, 5, TB + 4, TB + 4 };

	fill(lg, 0.0f, -100.0f);
	apply(open, 3, lg, 1, 1, -1);
	for (int i = 0; i < EOT; i++)
		cr_expect(isinf(lg[i]), "text %d allowed after an open timestamp", i);
	cr_expect_eq(lg[EOT], 0.0f, "eot must stay allowed after a single timestamp");
	for (int i = TB; i < TB + 4; i++)
		cr_expect(isinf(lg[i]), "timestamp %d before the last allowed", i - TB);
	cr_expect_eq(lg[TB + 4], -100.0f, "the closing timestamp may repeat the last");

	fill(lg, 0.0f, 10.0f);
	apply(pair, 4, lg, 1, 1, -1);
	for (int i = TB; i < V; i++)
		cr_expect(isinf(lg[i]), "timestamp %d allowed right after a pair", i - TB);
	cr_expect_eq(lg[5], 0.0f);
}

Test(rules, timestamps_monotonic_and_segments_nonempty)
{
	float lg[V];
	int32_t seq2[5] = { TB + 2, 5, TB + 6, TB + 6, 7 };

	fill(lg, 0.0f, -100.0f);
	apply(seq2, 5, lg, 1, 1, -1);
	/* openai: after text that follows <|0.12|>, timestamps must be > 0.12 */
	for (int i = TB; i <= TB + 6; i++)
		cr_expect(isinf(lg[i]), "timestamp %d not above the last", i - TB);
	for (int i = TB + 7; i < V; i++)
		cr_expect_eq(lg[i], -100.0f);

	/* CTranslate2: >= 0.12 (a segment may be empty) */
	strict = 0;
	fill(lg, 0.0f, -100.0f);
	apply(seq2, 5, lg, 1, 1, -1);
	strict = 1;
	for (int i = TB; i < TB + 6; i++)
		cr_expect(isinf(lg[i]), "timestamp %d below the last", i - TB);
	for (int i = TB + 6; i < V; i++)
		cr_expect_eq(lg[i], -100.0f);
}

Test(rules, timestamp_mass_beats_best_text_token)
{
	float lg[V];
	int32_t seq[2] = { TB, 5 };
	float lse;

	/* each timestamp below the best text token, their sum above it */
	fill(lg, -10.0f, 0.0f);
	lg[7] = 1.0f;            /* log(9 timestamps allowed: e^0 * 9) = 2.2 > 1 */
	lse = apply(seq, 2, lg, 1, 1, -1);
	for (int i = 0; i < TB; i++)
		cr_expect(isinf(lg[i]), "text %d allowed though timestamps hold more mass", i);
	cr_expect_float_eq(lse, direct_lse(lg), 1e-5);

	/* a text token above the mass: nothing forced */
	fill(lg, -10.0f, 0.0f);
	lg[7] = 3.0f;
	lse = apply(seq, 2, lg, 1, 1, -1);
	cr_expect_eq(lg[7], 3.0f);
	cr_expect_float_eq(lse, direct_lse(lg), 1e-5);
}

Test(rules, logsumexp_without_timestamps)
{
	float lg[V];
	int32_t seq[1] = { 4 };
	float lse;

	for (int i = 0; i < V; i++)
		lg[i] = 0.1f * (float)i - 1.0f;
	lse = apply(seq, 1, lg, 0, 1, -1);
	cr_expect_float_eq(lse, direct_lse(lg), 1e-5);
	cr_expect(isinf(wsp_logsumexp((float[]){ -INFINITY, -INFINITY }, 2)));
}

Test(rank, topk_order_and_ties)
{
	float v[8] = { 1.0f, 5.0f, 3.0f, 5.0f, -INFINITY, 4.0f, 0.0f, 2.0f };
	int32_t idx[4];

	cr_assert_eq(wsp_topk(v, 8, 4, idx), 4);
	cr_expect_eq(idx[0], 1, "ties: lower index first");
	cr_expect_eq(idx[1], 3);
	cr_expect_eq(idx[2], 5);
	cr_expect_eq(idx[3], 2);
	cr_expect_eq(wsp_topk(v, 2, 4, idx), 2);
}

Test(rank, length_normalized_scores)
{
	/* openai's ranker: sum / length, or / ((5 + length) / 6)^p */
	cr_expect_float_eq(wsp_rank_score(-6.0, 3, -1.0f), -2.0, 1e-12);
	cr_expect_float_eq(wsp_rank_score(-6.0, 7, 1.0f), -3.0, 1e-12);
	/* a longer sequence with the same mean log-prob ranks equal */
	cr_expect_float_eq(wsp_rank_score(-2.0, 4, -1.0f), wsp_rank_score(-1.0, 2, -1.0f), 1e-12);
	/* a short unlikely ending loses to a longer likely one */
	cr_expect_gt(wsp_rank_score(-3.0, 10, -1.0f), wsp_rank_score(-1.0, 1, -1.0f));
}

Test(fallback, compression_ratio_of_known_strings)
{
	/* values from Python: len(s) / len(zlib.compress(s)) */
	char a[101];
	const char *speech = "And so my fellow Americans ask not what your country can do for you";
	const char *loop = "the the the the the the the the the the the the the the the the the the "
			   "the the the the the the the the the the the the the the the the the the "
			   "the the the the the the the";

	memset(a, 'a', 100);
	a[100] = 0;
	cr_expect_float_eq(wsp_compression_ratio(a, 100), 100.0f / 12.0f, 1e-5);
	cr_expect_float_eq(wsp_compression_ratio(speech, strlen(speech)), 67.0f / 66.0f, 1e-5);
	cr_expect_float_eq(wsp_compression_ratio(loop, strlen(loop)), 171.0f / 15.0f, 1e-5);
	cr_expect_gt(wsp_compression_ratio(loop, strlen(loop)), 2.4f, "a loop must trigger fallback");
	cr_expect_eq(wsp_compression_ratio("", 0), 0.0f);
}

Test(segments, split_at_pairs_seek_to_last_timestamp)
{
	/* <|0.00|> a b <|0.10|><|0.10|> c <|0.16|><|0.16|> d (unfinished) */
	int32_t t[] = { TB, 1, 2, TB + 5, TB + 5, 4, TB + 8, TB + 8, 6 };
	int b[8][2], next;
	double s[8][2];
	int n = wsp_split_segments(t, 9, TB, 1000, 3000, b, s, 8, &next);

	cr_assert_eq(n, 2);
	cr_expect(b[0][0] == 0 && b[0][1] == 4);
	cr_expect(b[1][0] == 4 && b[1][1] == 7);
	cr_expect_float_eq(s[0][0], 10.00, 1e-9);
	cr_expect_float_eq(s[0][1], 10.10, 1e-9);
	cr_expect_float_eq(s[1][0], 10.10, 1e-9);
	cr_expect_float_eq(s[1][1], 10.16, 1e-9);
	cr_expect_eq(next, 1000 + 8 * 2, "seek goes to the last timestamp pair");
}

Test(segments, single_timestamp_ending_consumes_window)
{
	/* <|0.00|> a <|0.04|><|0.04|> b <|0.12|> : ends on one timestamp */
	int32_t t[] = { TB, 1, TB + 2, TB + 2, 3, TB + 6 };
	int b[8][2], next;
	double s[8][2];
	int n = wsp_split_segments(t, 6, TB, 0, 1100, b, s, 8, &next);

	cr_assert_eq(n, 2);
	cr_expect(b[1][0] == 3 && b[1][1] == 6);
	cr_expect_float_eq(s[1][1], 0.12, 1e-9);
	cr_expect_eq(next, 1100);
}

Test(segments, no_pair_one_segment)
{
	/* <|0.00|> a b <|0.14|> without pairs: one segment to the last timestamp */
	int32_t t[] = { TB, 1, 2, TB + 7 };
	int32_t notime[] = { 1, 2, 3 };
	int b[8][2], next;
	double s[8][2];
	int n = wsp_split_segments(t, 4, TB, 500, 3000, b, s, 8, &next);

	cr_assert_eq(n, 1);
	cr_expect_float_eq(s[0][0], 5.0, 1e-9);
	cr_expect_float_eq(s[0][1], 5.14, 1e-9);
	cr_expect_eq(next, 3500);
	n = wsp_split_segments(notime, 3, TB, 0, 1234, b, s, 8, &next);
	cr_assert_eq(n, 1);
	cr_expect_float_eq(s[0][1], 12.34, 1e-9, "without timestamps: the whole window");
	cr_expect_eq(next, 1234);
}

/*
 * Beam bookkeeping on crafted candidates, 2 beams holding "5" and "6":
 * sorted, the candidates are eot (from beam 0), 7, eot (beam 1), 8, 9.
 */
static int beam_step(struct wsp_dec_ws *w, int openai, int *n_fin, int last)
{
	static const struct wsp_beam_cand c[] = {
		{ -3.0, 1, 8 }, { -1.0, 0, EOT }, { -2.5, 1, EOT }, { -2.0, 0, 7 }, { -4.0, 0, 9 },
	};

	w->tok[0] = 5;
	w->tok[w->n_ctx] = 6;
	w->len[0] = w->len[1] = 1;
	memcpy(w->cand, c, sizeof(c));
	*n_fin = 0;
	return wsp_beam_select(w, 2, 2, n_fin, 5, EOT, last, openai);
}

Test(rank, beam_bookkeeping_ctranslate2_and_openai)
{
	struct wsp_dec_ws *w;
	int n_fin, saved;

	cr_assert_eq(wsp_dec_ws_new(2, V, 16, &w), 0);

	/* CTranslate2: of the first two (eot, 7), eot finishes and its beam takes 8
	 * (the first non-end after them); the second eot is not among the first two */
	saved = beam_step(w, 0, &n_fin, 0);
	cr_assert_eq(saved, 2);
	cr_assert_eq(n_fin, 1);
	cr_expect_eq(w->fin_len[0], 1);
	cr_expect_eq(w->fin_tok[0], 5);
	cr_expect_float_eq(w->fin_sum[0], -1.0, 1e-12);
	cr_expect(w->ntok[0] == 6 && w->ntok[1] == 8 && w->src[0] == 1, "beam 0 is 6 8");
	cr_expect(w->ntok[w->n_ctx] == 5 && w->ntok[w->n_ctx + 1] == 7 && w->src[1] == 0,
		  "beam 1 is 5 7");
	cr_expect_float_eq(w->nsum[0], -3.0, 1e-12);

	/* openai: walking best first, both ends rank above the second kept beam */
	saved = beam_step(w, 1, &n_fin, 0);
	cr_assert_eq(saved, 2);
	cr_assert_eq(n_fin, 2);
	cr_expect(w->fin_tok[0] == 5 && w->fin_tok[w->n_ctx] == 6);
	cr_expect(w->ntok[1] == 7 && w->ntok[w->n_ctx + 1] == 8, "beams 5 7, then 6 8");

	/* CTranslate2's last step: the first two candidates finish, tokens included */
	saved = beam_step(w, 0, &n_fin, 1);
	cr_expect_eq(saved, 0);
	cr_assert_eq(n_fin, 2);
	cr_expect(w->fin_len[1] == 2 && w->fin_tok[w->n_ctx + 1] == 7);
	wsp_dec_ws_free(w);
}

Test(rules, avx512_row_reductions_match_double)
{
	enum { N = 1037 };   /* not a multiple of 16: the tail is masked */
	float v[N];
	double m = -INFINITY, s = 0.0;
	uint32_t x = 7;

	if (!nn_have_avx512())
		cr_skip_test("no AVX-512 on this CPU");
	for (int i = 0; i < N; i++) {
		x = x * 1664525u + 1013904223u;
		v[i] = (float)(x >> 8) / 16777216.0f * 40.0f - 30.0f;
	}
	v[5] = -INFINITY;
	for (int i = 0; i < N; i++)
		m = v[i] > m ? v[i] : m;
	for (int i = 0; i < N; i++)
		s += exp((double)v[i] - m);
	cr_expect_eq(wsp_row_max_avx512(v, N), (float)m);
	cr_expect_float_eq(wsp_sum_exp_avx512(v, N, (float)m), s, 1e-5 * s);
	cr_expect_float_eq(wsp_logsumexp(v, N), m + log(s), 1e-5);
	cr_expect_eq(wsp_row_max_avx512(v, 3), fmaxf(v[0], fmaxf(v[1], v[2])));
}

Test(rank, topk_long_rows_equal_a_full_scan)
{
	enum { N = 5003, K = 10 };
	static float v[N];
	int32_t idx[K];
	uint32_t x = 99;
	int prev = -1;

	for (int i = 0; i < N; i++) {
		x = x * 1664525u + 1013904223u;
		v[i] = (float)(x >> 20) / 64.0f;   /* coarse values: many ties */
	}
	cr_assert_eq(wsp_topk(v, N, K, idx), K);
	for (int r = 0; r < K; r++) {
		/* the r-th best by a full scan: largest value, then lowest index, not taken yet */
		int best = -1;

		for (int i = 0; i < N; i++) {
			int taken = 0;

			for (int q = 0; q < r; q++)
				taken |= idx[q] == i;
			if (!taken && (best < 0 || v[i] > v[best]))
				best = i;
		}
		cr_expect_eq(idx[r], best, "rank %d: %d (%.4f), full scan %d (%.4f)", r, idx[r],
			     v[idx[r]], best, v[best]);
		if (r > 0)
			cr_expect(v[idx[r]] < v[prev] || (v[idx[r]] == v[prev] && idx[r] > prev));
		prev = idx[r];
	}
}
