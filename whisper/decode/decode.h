/* SPDX-License-Identifier: MIT */
/*
 * whisper/decode/decode.h - decoding one 30 s window (internal to the runtime):
 * the logit rules of openai-whisper (suppress tokens, suppress blank,
 * timestamp rules), greedy / sampled / beam-search decoding over a batched
 * wsp_decoder, the temperature-fallback ladder, the compression ratio and
 * language detection. The long-form loop over windows is in whisper/decode/seek.c.
 */
#ifndef AMN_WSP_DECODE_H
#define AMN_WSP_DECODE_H

#include <stddef.h>
#include <stdint.h>

#include "whisper/nn/forward.h"
#include "whisper/text/tokenizer.h"

#ifdef __cplusplus
extern "C" {
#endif

#define WSP_TIME_PRECISION 0.02   /* seconds per timestamp token */
#define WSP_MAX_INITIAL_TS 1.0    /* max_initial_timestamp, seconds */

/*
 * struct wsp_rules - what the logit rules need to know about the model; made
 * once per context and read-only afterwards (shared by all threads).
 */
struct wsp_model_config;

struct wsp_rules {
	struct wsp_special_tokens sp;
	int n_vocab;
	int32_t *suppress;        /* always suppressed (sorted, unique) */
	int n_suppress;
	int32_t *suppress_begin;  /* suppressed at the first sampled token (suppress_blank) */
	int n_suppress_begin;
};

/**
 * wsp_rules_init - fill @r for a model with vocabulary @n_vocab: special tokens
 * from @tok; suppressed tokens from the model's lists in @cfg
 * (wsp_model_config(), read from config.json at load; may be NULL), else
 * openai-whisper's default set (-1) built by encoding its symbol list with
 * @tok. The special tokens that faster-whisper always adds (transcribe,
 * translate, sot, sot_prev, sot_lm, no_speech) are added in both cases.
 * Return: 0 or -errno with @err set.
 */
int wsp_rules_init(struct wsp_rules *r, const struct wsp_tokenizer *tok, int n_vocab,
		   const struct wsp_model_config *cfg, char *err, size_t errlen);

/** wsp_rules_release - free what wsp_rules_init() allocated. */
void wsp_rules_release(struct wsp_rules *r);

/* Per-sequence state the timestamp rules look at. */
struct wsp_rule_seq {
	const int32_t *sampled;   /* tokens sampled so far (prompt excluded) */
	int n_sampled;
};

/* Per-window settings of the logit rules. */
struct wsp_rule_opts {
	int timestamps;           /* apply the timestamp rules */
	int suppress_blank;
	int max_initial_ts;       /* max_initial_timestamp index (50 for 1.0 s); < 0: none */
	int strict_increase;      /* after text, a timestamp above the last (openai); else >= (CTranslate2) */
};

/**
 * wsp_apply_rules - apply SuppressBlank, SuppressTokens and ApplyTimestampRules
 * (in openai-whisper's order) to one row of @logits (n_vocab floats) for the
 * sequence @s; masked entries become -INFINITY.
 * Return: the log-sum-exp of the row after the rules (log-probabilities are
 * logits[i] - return value).
 */
float wsp_apply_rules(const struct wsp_rules *r, const struct wsp_rule_opts *o,
		      const struct wsp_rule_seq *s, float *logits);

/* AVX-512 row reductions (decode_rules_avx512.c); only when nn_have_avx512(). */
float wsp_row_max_avx512(const float *v, int n);
float wsp_sum_exp_avx512(const float *v, int n, float m);

/** wsp_logsumexp - log(sum(exp(v[i]))) over @n floats (-INFINITY entries allowed). */
float wsp_logsumexp(const float *v, int n);

/**
 * wsp_topk - indices of the @k largest of @n floats into @idx, largest first
 * (ties: lower index first). Return: how many were written (min(k, n)).
 */
int wsp_topk(const float *v, int n, int k, int32_t *idx);

/**
 * wsp_compression_ratio - len(text) / len(zlib.compress(text)) as openai-whisper
 * computes it (zlib default level). Return: 0 for empty text.
 */
float wsp_compression_ratio(const char *text, size_t len);

/* Options of one decoding pass (one window, one temperature). */
struct wsp_decode_opts {
	float temperature;
	int beam_size;            /* used when temperature == 0; 1: greedy */
	int best_of;              /* independent samples when temperature > 0 */
	float patience;
	float length_penalty;     /* < 0: rank by sum / length (openai's None) */
	int max_new;              /* sample_len: at most this many new tokens */
	int beam_openai;          /* beam bookkeeping: 0 CTranslate2's, 1 openai's */
	struct wsp_rule_opts rules;
};

/* What one decoding pass produced: the best sequence. */
struct wsp_decoded {
	int32_t *tokens;          /* sampled tokens, eot excluded (capacity n_text_ctx) */
	int n_tokens;
	double sum_logprob;
	float avg_logprob;        /* sum_logprob / (n_tokens + 1), as openai */
	float no_speech_prob;
	float temperature;
	float compression_ratio;
};

/* Decoding scratch, sized once per transcription (see wsp_dec_ws_new). */
struct wsp_dec_ws {
	int max_seq, n_vocab, n_ctx, max_fin;
	float *logits;            /* max_seq × n_vocab */
	int32_t *feed;            /* max_seq × n_ctx: tokens fed to the decoder */
	int32_t *tok, *ntok;      /* max_seq × n_ctx: sampled tokens per sequence */
	int *len, *nlen, *done, *src;
	double *sum, *nsum;
	int32_t *fin_tok;         /* max_fin × n_ctx: finished beams */
	int *fin_len;
	double *fin_sum;
	struct wsp_beam_cand *cand;   /* max_seq × 2 max_seq */
	int32_t *topk;                /* 2 max_seq */
	int32_t *res_tok[2];          /* n_ctx each: the fallback ladder's results */
	char *text;                   /* decoded text, grown on demand */
	size_t text_cap;
};

struct wsp_beam_cand {
	double score;
	int src;
	int32_t tok;
};

/**
 * wsp_decode_prompt - reset @d, feed @prompt to all @n_seq sequences and leave
 * the logits of its last position in @w->logits (n_seq rows); the no-speech
 * probability (softmax of the raw logits at @sot_index) goes to *@no_speech.
 */
int wsp_decode_prompt(struct wsp_decoder *d, int n_seq, const struct wsp_rules *r,
		      const int32_t *prompt, int n_prompt, int sot_index,
		      struct wsp_dec_ws *w, float *no_speech);

/**
 * wsp_decode_beam - beam search after wsp_decode_prompt(): @o->beam_size
 * beams (= @n_seq), finished when round(beam_size * patience) sequences have
 * ended; the best by length-normalized log-prob wins. Candidates and finished
 * sequences are kept as CTranslate2 does (faster-whisper): the 2 × beam_size
 * best continuations over all beams, an end among the first beam_size is a
 * finished sequence and its beam is refilled from the rest; or, with
 * @o->beam_openai, as openai-whisper's BeamSearchDecoder: beam_size + 1
 * continuations per beam, every end ranked above the last kept beam finishes.
 */
int wsp_decode_beam(struct wsp_decoder *d, int n_seq, const struct wsp_rules *r,
		    const struct wsp_decode_opts *o, int n_prompt,
		    struct wsp_dec_ws *w, struct wsp_decoded *out);

/**
 * wsp_beam_select - one beam-search step's bookkeeping: sort the @n_cand
 * candidates in @w->cand (score = summed log-prob, src = beam in @w->tok),
 * add finished sequences (fin_*, counted in *@n_fin) and write the next beams
 * to @w->ntok / nlen / nsum / src, as CTranslate2 or, with @openai, as
 * openai-whisper does (see wsp_decode_beam). @last: the final step (CTranslate2
 * then finishes every kept candidate).
 * Return: the number of next beams.
 */
int wsp_beam_select(struct wsp_dec_ws *w, int B, int max_cand, int *n_fin, int n_cand,
		    int32_t eot, int last, int openai);

/** wsp_rank_score - openai's MaximumLikelihoodRanker score of one sequence. */
double wsp_rank_score(double sum_logprob, int len, float length_penalty);

/**
 * wsp_rank_take - copy the best of @n sequences by wsp_rank_score() (tokens
 * @tok, row stride @stride; @len, @sum per sequence) to @out.
 */
void wsp_rank_take(const int32_t *tok, size_t stride, const int *len, const double *sum,
		   int n, float length_penalty, struct wsp_decoded *out);

/**
 * wsp_dec_ws_new - scratch for decoding with up to @max_seq sequences of a
 * model with vocabulary @n_vocab and text context @n_ctx; made once per
 * transcription so that decoding steps do not allocate.
 */
int wsp_dec_ws_new(int max_seq, int n_vocab, int n_ctx, struct wsp_dec_ws **out);

/** wsp_dec_ws_free - release; NULL is a no-op. */
void wsp_dec_ws_free(struct wsp_dec_ws *w);

/**
 * wsp_decode_window - one decoding pass over decoder @d (made for @n_seq
 * sequences, freshly reset) with @prompt; the no-speech probability is read at
 * position @sot_index of the prompt. Greedy, sampling (best_of sequences with
 * *@rng) or beam search as @o says.
 * Return: 0 with @out filled, or -errno.
 */
int wsp_decode_window(struct wsp_decoder *d, int n_seq, const struct wsp_rules *r,
		      const struct wsp_decode_opts *o, const int32_t *prompt, int n_prompt,
		      int sot_index, uint64_t *rng, struct wsp_dec_ws *w,
		      struct wsp_decoded *out);

/**
 * wsp_detect_language - language of the window decoder @d (n_seq rows) was made
 * for: the logits after <|startoftranscript|>, restricted to language tokens.
 * Resets @d before and after.
 * @prob: set to the probability of the chosen language among all languages.
 * Return: the language token, or -errno.
 */
int32_t wsp_detect_language(struct wsp_decoder *d, int n_seq, const struct wsp_rules *r,
			    struct wsp_dec_ws *w, float *prob);

/* One window's decoders (one per sequence count), made on demand. */
struct wsp_win {
	const struct wsp_model *m;
	const struct wsp_exec *x;
	const float *enc;          /* the window's encoder output */
	struct wsp_decoder *dec[2];
	int n_seq[2];
	int stale[2];              /* dec[i] still attends to the previous window's @enc */
	int n_ctx;                 /* positions the decoders hold; 0: the model's n_text_ctx */
};

/**
 * wsp_win_decoder - the window's decoder for @n_seq sequences: made on first
 * use, or one kept from an earlier window and given this window's encoder
 * output (wsp_decoder_set_encoder()).
 */
int wsp_win_decoder(struct wsp_win *w, int n_seq, struct wsp_decoder **out);

/**
 * wsp_win_any_decoder - a decoder that already attends to this window's
 * encoder output (whatever its sequence count), else one made for 1
 * sequence: for passes that run on sequence 0 alone (word timing).
 */
int wsp_win_any_decoder(struct wsp_win *w, struct wsp_decoder **out);

/**
 * wsp_win_next - @w->enc now holds the next window's encoder output: the
 * decoders are kept (their buffers and step graphs reused) and get the new
 * cross-attention keys/values when next asked for.
 */
void wsp_win_next(struct wsp_win *w);

/** wsp_win_release - free the window's decoders (before the next window). */
void wsp_win_release(struct wsp_win *w);

/* Settings of the temperature-fallback ladder (openai's decode_with_fallback). */
struct wsp_fallback {
	const float *temps;
	int n_temps;
	int beam_size, best_of;
	float patience, length_penalty;
	float cr_threshold;       /* <= 0: off */
	float lp_threshold;       /* <= -1e9: off */
	float ns_threshold;       /* >= 1: off */
	int max_new;
	int beam_openai;
	struct wsp_rule_opts rules;
};

/**
 * wsp_text_of - UTF-8 text of @n tokens (timestamps and specials skipped) into
 * @w->text, grown as needed. Return: the text or NULL when out of memory.
 */
const char *wsp_text_of(const struct wsp_tokenizer *tok, const int32_t *t, int n,
			struct wsp_dec_ws *w, size_t *len);

/**
 * wsp_decode_fallback - decode the window at each temperature of the ladder
 * until the result is neither too repetitive (compression ratio above
 * @f->cr_threshold) nor too unlikely (average log-prob below
 * @f->lp_threshold), unless it is silence (no-speech probability above
 * @f->ns_threshold with a low log-prob). When every temperature fails, the
 * result with the best average log-prob among those under the compression
 * threshold (else among all) wins, with the last temperature recorded.
 * @out->tokens points into @ws afterwards (valid until the next call).
 */
int wsp_decode_fallback(struct wsp_win *win, const struct wsp_rules *r,
			const struct wsp_tokenizer *tok, const struct wsp_fallback *f,
			const int32_t *prompt, int n_prompt, int sot_index, uint64_t *rng,
			struct wsp_dec_ws *ws, struct wsp_decoded *out);

/** wsp_rng_next - the next 64 random bits of a splitmix64 generator. */
uint64_t wsp_rng_next(uint64_t *state);

#ifdef __cplusplus
}
#endif
#endif
