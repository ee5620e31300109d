// SPDX-License-Identifier: MIT
/*
 * whisper/decode/decode_fallback.c - the temperature-fallback ladder of one window
 * (openai-whisper's decode_with_fallback, as faster-whisper runs it), the
 * compression ratio (zlib, as Python's zlib.compress) that tells a repetition
 * loop from speech, and the window's decoders made on demand per sequence
 * count (beams at temperature 0, best_of samples above).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "whisper/decode/decode.h"

float wsp_compression_ratio(const char *text, size_t len)
{
	unsigned char stack[4096], *buf = stack;
	uLongf cap = compressBound((uLong)len);
	float ratio = 0.0f;

	if (len == 0)
		return 0.0f;
	if (cap > sizeof(stack)) {
		buf = malloc(cap);
		if (!buf)
			return 0.0f;
	}
	if (compress2(buf, &cap, (const Bytef *)text, (uLong)len, Z_DEFAULT_COMPRESSION) == Z_OK &&
	    cap > 0)
		ratio = (float)len / (float)cap;
	if (buf != stack)
		free(buf);
	return ratio;
}

int wsp_win_decoder(struct wsp_win *w, int n_seq, struct wsp_decoder **out)
{
	int slot = -1, ret;

	for (int i = 0; i < 2; i++) {
		if (w->dec[i] && w->n_seq[i] == n_seq) {
			if (w->stale[i]) {
				ret = wsp_decoder_set_encoder(w->dec[i], w->x, w->enc);
				if (ret)
					return ret;
				w->stale[i] = 0;
			}
			*out = w->dec[i];
			return 0;
		}
		if (!w->dec[i] && slot < 0)
			slot = i;
	}
	if (slot < 0) {        /* both taken: replace a stale one, else the second */
		slot = w->stale[0] && !w->stale[1] ? 0 : 1;
		wsp_decoder_free(w->dec[slot]);
		w->dec[slot] = NULL;
	}
	ret = w->n_ctx > 0 ? wsp_decoder_new_ctx(w->m, w->x, w->enc, n_seq, w->n_ctx, &w->dec[slot]) :
			     wsp_decoder_new(w->m, w->x, w->enc, n_seq, &w->dec[slot]);
	if (ret)
		return ret;
	w->n_seq[slot] = n_seq;
	w->stale[slot] = 0;
	*out = w->dec[slot];
	return 0;
}

int wsp_win_any_decoder(struct wsp_win *w, struct wsp_decoder **out)
{
	for (int i = 0; i < 2; i++)
		if (w->dec[i] && !w->stale[i]) {
			*out = w->dec[i];
			return 0;
		}
	return wsp_win_decoder(w, 1, out);
}

void wsp_win_next(struct wsp_win *w)
{
	w->stale[0] = w->stale[1] = 1;
}

void wsp_win_release(struct wsp_win *w)
{
	for (int i = 0; i < 2; i++) {
		wsp_decoder_free(w->dec[i]);
		w->dec[i] = NULL;
		w->n_seq[i] = 0;
		w->stale[i] = 0;
	}
}

const char *wsp_text_of(const struct wsp_tokenizer *tok, const int32_t *t, int n,
			struct wsp_dec_ws *w, size_t *len)
{
	size_t need = wsp_tokenizer_decode(tok, t, n, w->text, w->text_cap);

	if (need + 1 > w->text_cap) {
		char *p = realloc(w->text, need + 1);

		if (!p)
			return NULL;
		w->text = p;
		w->text_cap = need + 1;
		need = wsp_tokenizer_decode(tok, t, n, w->text, w->text_cap);
	}
	if (len)
		*len = need;
	return w->text;
}

static int is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

/* compression ratio of the stripped text of @d */
static float ratio_of(const struct wsp_tokenizer *tok, const struct wsp_decoded *d,
		      struct wsp_dec_ws *w)
{
	size_t len, a = 0;
	const char *s = wsp_text_of(tok, d->tokens, d->n_tokens, w, &len);

	if (!s)
		return 0.0f;
	while (a < len && is_space(s[a]))
		a++;
	while (len > a && is_space(s[len - 1]))
		len--;
	return wsp_compression_ratio(s + a, len - a);
}

int wsp_decode_fallback(struct wsp_win *win, const struct wsp_rules *r,
			const struct wsp_tokenizer *tok, const struct wsp_fallback *f,
			const int32_t *prompt, int n_prompt, int sot_index, uint64_t *rng,
			struct wsp_dec_ws *ws, struct wsp_decoded *out)
{
	static const float ladder[] = { 0.0f, 0.2f, 0.4f, 0.6f, 0.8f, 1.0f };
	const float *temps = f->temps ? f->temps : ladder;
	int n_temps = f->temps ? f->n_temps : 6;
	struct wsp_decoded cur, best;
	int have_best = 0, best_below = 0, cur_slot = 0;
	float last_t = 0.0f;

	if (n_temps <= 0)
		return -EINVAL;
	memset(&best, 0, sizeof(best));
	for (int i = 0; i < n_temps; i++) {
		struct wsp_decode_opts o = {
			.temperature = temps[i],
			.beam_size = f->beam_size,
			.best_of = f->best_of,
			.patience = f->patience,
			.length_penalty = f->length_penalty,
			.max_new = f->max_new,
			.beam_openai = f->beam_openai,
			.rules = f->rules,
		};
		struct wsp_decoder *d;
		int n_seq, below, needs = 0, ret;

		n_seq = temps[i] > 0 ? (f->best_of > 0 ? f->best_of : 1) :
				       (f->beam_size > 0 ? f->beam_size : 1);
		o.beam_size = n_seq;
		last_t = temps[i];
		ret = wsp_win_decoder(win, n_seq, &d);
		if (ret)
			return ret;
		memset(&cur, 0, sizeof(cur));
		cur.tokens = ws->res_tok[cur_slot];
		ret = wsp_decode_window(d, n_seq, r, &o, prompt, n_prompt, sot_index, rng, ws, &cur);
		if (ret)
			return ret;
		cur.compression_ratio = ratio_of(tok, &cur, ws);
		below = 1;
		if (f->cr_threshold > 0 && cur.compression_ratio > f->cr_threshold) {
			needs = 1;      /* too repetitive */
			below = 0;
		}
		if (f->lp_threshold > -1e9f && cur.avg_logprob < f->lp_threshold)
			needs = 1;      /* too unlikely */
		if (f->ns_threshold < 1.0f && cur.no_speech_prob > f->ns_threshold &&
		    f->lp_threshold > -1e9f && cur.avg_logprob < f->lp_threshold)
			needs = 0;      /* silence: nothing better to find */
		if (!needs) {
			*out = cur;
			return 0;
		}
		if (!have_best || (below && !best_below) ||
		    (below == best_below && cur.avg_logprob > best.avg_logprob)) {
			best = cur;
			best_below = below;
			have_best = 1;
			cur_slot ^= 1;  /* keep best's tokens; decode the next into the other */
		}
	}
	*out = best;
	out->temperature = last_t;
	return 0;
}
