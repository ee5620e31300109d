// SPDX-License-Identifier: MIT
/*
 * whisper/decode/decode_suppress.c - which tokens the decoder never samples: the
 * model's own lists (config.json's "suppress_ids", "suppress_ids_begin", read
 * at load into struct wsp_model_config) or, without one, openai-whisper's
 * default set (suppress_tokens="-1": symbols and non-speech marks, found by
 * encoding them with the model's tokenizer), always with the special tokens that would
 * derail a transcript (task, sot, sot_prev, sot_lm, no_speech).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "whisper/decode/decode.h"
#include "whisper/model/model_internal.h"

#define MAX_SUPPRESS 1024

struct idset {
	int32_t v[MAX_SUPPRESS];
	int n;
};

static void add(struct idset *s, int32_t id, int n_vocab)
{
	if (id < 0 || id >= n_vocab || s->n == MAX_SUPPRESS)
		return;
	for (int i = 0; i < s->n; i++)
		if (s->v[i] == id)
			return;
	s->v[s->n++] = id;
}

static int cmp_i32(const void *a, const void *b)
{
	int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;

	return (x > y) - (x < y);
}

/* Add the model's list @l; -1 when the model gives none. */
static int add_list(struct idset *s, const struct wsp_id_list *l, int n_vocab)
{
	if (!l || !l->v)
		return -1;
	for (int i = 0; i < l->n; i++)
		add(s, l->v[i], n_vocab);
	return l->n;
}

/* openai-whisper's Tokenizer.non_speech_tokens, encoded with @tok. */
static void default_suppress(const struct wsp_tokenizer *tok, struct idset *s, int n_vocab)
{
	static const char *const symbols[] = {
		"\"", "#", "(", ")", "*", "+", "/", ":", ";", "<", "=", ">", "@", "[",
		"\\", "]", "^", "_", "`", "{", "|", "}", "~", "\xe3\x80\x8c", "\xe3\x80\x8d",
		"\xe3\x80\x8e", "\xe3\x80\x8f", "<<", ">>", "<<<", ">>>", "--", "---", "-(",
		"-[", "('", "(\"", "((", "))", "(((", ")))", "[[", "]]", "{{", "}}",
		"\xe2\x99\xaa\xe2\x99\xaa", "\xe2\x99\xaa\xe2\x99\xaa\xe2\x99\xaa",
	};
	/* ♩♪♫♬♭♮♯: suppressed by their first token even when it takes several */
	static const char *const misc[] = {
		"\xe2\x99\xa9", "\xe2\x99\xaa", "\xe2\x99\xab", "\xe2\x99\xac",
		"\xe2\x99\xad", "\xe2\x99\xae", "\xe2\x99\xaf",
	};
	int32_t ids[16];
	char buf[64];
	int n;

	if (wsp_tokenizer_encode(tok, " -", ids, 16) >= 1)
		add(s, ids[0], n_vocab);
	if (wsp_tokenizer_encode(tok, " '", ids, 16) >= 1)
		add(s, ids[0], n_vocab);
	for (size_t i = 0; i < sizeof(symbols) / sizeof(symbols[0]); i++) {
		n = wsp_tokenizer_encode(tok, symbols[i], ids, 16);
		if (n == 1)
			add(s, ids[0], n_vocab);
		snprintf(buf, sizeof(buf), " %s", symbols[i]);
		n = wsp_tokenizer_encode(tok, buf, ids, 16);
		if (n == 1)
			add(s, ids[0], n_vocab);
	}
	for (size_t i = 0; i < sizeof(misc) / sizeof(misc[0]); i++) {
		if (wsp_tokenizer_encode(tok, misc[i], ids, 16) >= 1)
			add(s, ids[0], n_vocab);
		snprintf(buf, sizeof(buf), " %s", misc[i]);
		if (wsp_tokenizer_encode(tok, buf, ids, 16) >= 1)
			add(s, ids[0], n_vocab);
	}
}

static int32_t *dup_sorted(struct idset *s)
{
	int32_t *v = malloc(((size_t)s->n + 1) * sizeof(int32_t));

	if (!v)
		return NULL;
	memcpy(v, s->v, (size_t)s->n * sizeof(int32_t));
	qsort(v, (size_t)s->n, sizeof(int32_t), cmp_i32);
	return v;
}

int wsp_rules_init(struct wsp_rules *r, const struct wsp_tokenizer *tok, int n_vocab,
		   const struct wsp_model_config *cfg, char *err, size_t errlen)
{
	static struct idset zero;
	struct idset *sup, *beg;
	const struct wsp_special_tokens *sp;
	int32_t ids[16];
	int ret = 0;

	memset(r, 0, sizeof(*r));
	sp = wsp_tokenizer_special(tok);
	if (!sp || sp->eot < 0 || sp->sot < 0) {
		snprintf(err, errlen, "tokenizer has no <|endoftext|> or <|startoftranscript|>");
		return -EINVAL;
	}
	sup = malloc(sizeof(*sup));
	beg = malloc(sizeof(*beg));
	if (!sup || !beg) {
		ret = -ENOMEM;
		goto out;
	}
	*sup = zero;
	*beg = zero;
	r->sp = *sp;
	r->n_vocab = n_vocab;
	if (add_list(sup, cfg ? &cfg->suppress : NULL, n_vocab) < 0)
		default_suppress(tok, sup, n_vocab);
	add(sup, sp->transcribe, n_vocab);
	add(sup, sp->translate, n_vocab);
	add(sup, sp->sot, n_vocab);
	add(sup, sp->sot_prev, n_vocab);
	add(sup, sp->sot_lm, n_vocab);
	add(sup, sp->no_speech, n_vocab);
	if (add_list(beg, cfg ? &cfg->suppress_begin : NULL, n_vocab) < 0) {
		/* SuppressBlank: encode(" ") + [eot] */
		int n = wsp_tokenizer_encode(tok, " ", ids, 16);

		for (int i = 0; i < n && i < 16; i++)
			add(beg, ids[i], n_vocab);
		add(beg, sp->eot, n_vocab);
	}
	r->suppress = dup_sorted(sup);
	r->suppress_begin = dup_sorted(beg);
	if (!r->suppress || !r->suppress_begin) {
		wsp_rules_release(r);
		ret = -ENOMEM;
		goto out;
	}
	r->n_suppress = sup->n;
	r->n_suppress_begin = beg->n;
out:
	if (ret == -ENOMEM)
		snprintf(err, errlen, "out of memory for the suppressed-token lists");
	free(sup);
	free(beg);
	return ret;
}

void wsp_rules_release(struct wsp_rules *r)
{
	if (!r)
		return;
	free(r->suppress);
	free(r->suppress_begin);
	r->suppress = r->suppress_begin = NULL;
	r->n_suppress = r->n_suppress_begin = 0;
}
