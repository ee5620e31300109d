// SPDX-License-Identifier: MIT
/*
 * whisper/text/tokenizer_vocab.c - the tokenizer's vocabulary: token bytes by
 * id, the two lookup maps (BPE tokens by raw bytes, added tokens by text),
 * GPT-2's byte-level alphabet, a UTF-8 reader, and the reader of a
 * CTranslate2 vocabulary.txt: one token per line in byte-level form,
 * n_vocab lines, special and timestamp tokens included (and of its JSON
 * form, vocabulary.json, an array of the same strings). Those files have no
 * merges: a tokenizer read from them encodes by greedy longest match.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "whisper/text/tokenizer_vocab.h"

int wsp_tok_vocab_alloc(struct wsp_tok_vocab *v, int n)
{
	v->n = n;
	v->off = calloc((size_t)n, sizeof(*v->off));
	v->len = malloc((size_t)n * sizeof(*v->len));
	v->special = calloc((size_t)n, 1);
	if (!v->off || !v->len || !v->special)
		return -ENOMEM;
	for (int i = 0; i < n; i++)
		v->len[i] = UINT32_MAX;
	return 0;
}

void wsp_tok_vocab_free(struct wsp_tok_vocab *v)
{
	free(v->blob);
	free(v->off);
	free(v->len);
	free(v->special);
	free(v->vocab_slots);
	free(v->added_slots);
}

int wsp_tok_vocab_set(struct wsp_tok_vocab *v, int32_t id, const void *s, size_t n)
{
	if (v->blob_len + n > v->blob_cap) {
		size_t cap = v->blob_cap ? v->blob_cap : 1 << 16;
		char *b;

		while (cap < v->blob_len + n)
			cap *= 2;
		if (cap > UINT32_MAX)
			return -EINVAL;
		b = realloc(v->blob, cap);
		if (!b)
			return -ENOMEM;
		v->blob = b;
		v->blob_cap = cap;
	}
	if (n)
		memcpy(v->blob + v->blob_len, s, n);
	v->off[id] = (uint32_t)v->blob_len;
	v->len[id] = (uint32_t)n;
	v->blob_len += n;
	return 0;
}

/* FNV-1a over @n bytes. */
static uint32_t text_hash(const void *p, size_t n)
{
	const unsigned char *s = p;
	uint32_t h = 2166136261u;

	for (size_t i = 0; i < n; i++)
		h = (h ^ s[i]) * 16777619u;
	return h;
}

static int32_t find(const struct wsp_tok_vocab *v, const int32_t *slots, uint32_t mask,
		    const void *s, size_t n)
{
	if (!slots)
		return -1;
	for (uint32_t i = text_hash(s, n) & mask;; i = (i + 1) & mask) {
		int32_t id = slots[i];

		if (id < 0)
			return -1;
		if (v->len[id] == n && memcmp(v->blob + v->off[id], s, n) == 0)
			return id;
	}
}

int32_t wsp_tok_vocab_find(const struct wsp_tok_vocab *v, const void *s, size_t n)
{
	return find(v, v->vocab_slots, v->vocab_mask, s, n);
}

int32_t wsp_tok_vocab_find_added(const struct wsp_tok_vocab *v, const void *s, size_t n)
{
	return find(v, v->added_slots, v->added_mask, s, n);
}

/* The map of the ids whose @where has @want; the first id of a text wins. Return: its size. */
static int build_map(const struct wsp_tok_vocab *v, const uint8_t *where, int want,
		     int32_t **slots_out, uint32_t *mask_out)
{
	uint32_t cap = 16, mask;
	int32_t *slots;
	int n = 0;

	for (int id = 0; id < v->n; id++)
		n += (where[id] & want) != 0;
	while (cap < 2u * (uint32_t)n + 2)
		cap *= 2;
	slots = malloc(cap * sizeof(*slots));
	if (!slots)
		return -ENOMEM;
	memset(slots, 0xff, cap * sizeof(*slots));
	mask = cap - 1;
	for (int32_t id = 0; id < v->n; id++) {
		const char *s = v->blob + v->off[id];
		uint32_t i;

		if (!(where[id] & want))
			continue;
		for (i = text_hash(s, v->len[id]) & mask; slots[i] >= 0; i = (i + 1) & mask) {
			int32_t o = slots[i];

			if (v->len[o] == v->len[id] && memcmp(v->blob + v->off[o], s, v->len[id]) == 0)
				break;
		}
		if (slots[i] < 0)
			slots[i] = id;
	}
	*slots_out = slots;
	*mask_out = mask;
	return n;
}

int wsp_tok_vocab_index(struct wsp_tok_vocab *v, const uint8_t *where)
{
	int n = build_map(v, where, WSP_TOK_IN_VOCAB, &v->vocab_slots, &v->vocab_mask);

	if (n < 0)
		return n;
	n = build_map(v, where, WSP_TOK_IN_ADDED, &v->added_slots, &v->added_mask);
	if (n < 0)
		return n;
	v->n_added = n;
	for (int32_t id = 0; id < v->n; id++)
		if ((where[id] & WSP_TOK_IN_ADDED) && v->len[id] > v->max_added_len)
			v->max_added_len = v->len[id];
	return 0;
}

/*
 * GPT-2 shows byte b as the code point b when b is printable Latin-1
 * ('!'..'~', U+00A1..U+00AC, U+00AE..U+00FF) and as U+0100 + k otherwise,
 * k counting the other bytes in order. Here: code point -> byte, -1 if none.
 */
static int cp_to_byte(uint32_t cp)
{
	uint32_t k;

	if ((cp >= 0x21 && cp <= 0x7e) || (cp >= 0xa1 && cp <= 0xac) || (cp >= 0xae && cp <= 0xff))
		return (int)cp;
	if (cp < 0x100 || cp >= 0x100 + 68)
		return -1;
	k = cp - 0x100;         /* bytes 0x00..0x20, then 0x7f..0xa0, then 0xad */
	if (k < 33)
		return (int)k;
	if (k < 67)
		return (int)(0x7f + k - 33);
	return 0xad;
}

int32_t wsp_tok_utf8(const unsigned char *s, size_t n, size_t *len)
{
	unsigned char c = s[0], lo = 0x80, hi = 0xbf;
	size_t need;
	uint32_t cp;

	*len = 1;
	if (c < 0x80)
		return c;
	if (c >= 0xc2 && c <= 0xdf)
		need = 1, cp = c & 0x1f;
	else if (c >= 0xe0 && c <= 0xef)
		need = 2, cp = c & 0x0f, lo = c == 0xe0 ? 0xa0 : 0x80, hi = c == 0xed ? 0x9f : 0xbf;
	else if (c >= 0xf0 && c <= 0xf4)
		need = 3, cp = c & 0x07, lo = c == 0xf0 ? 0x90 : 0x80, hi = c == 0xf4 ? 0x8f : 0xbf;
	else
		return -1;
	if (n < need + 1 || s[1] < lo || s[1] > hi)
		return -1;
	for (size_t i = 1; i <= need; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return -1;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	*len = need + 1;
	return (int32_t)cp;
}

size_t wsp_tok_bytelevel_decode(const char *text, size_t n, char *dst)
{
	const unsigned char *s = (const unsigned char *)text;
	size_t i = 0, k = 0;

	while (i < n) {
		size_t used;
		int32_t cp = wsp_tok_utf8(s + i, n - i, &used);
		int b = cp < 0 ? -1 : cp_to_byte((uint32_t)cp);

		if (b < 0) {
			memcpy(dst, text, n);
			return n;
		}
		dst[k++] = (char)b;
		i += used;
	}
	return k;
}

int wsp_tok_read_vocab_txt(struct wsp_tok_vocab *v, const char *path, const char *buf,
			   size_t len, int n_vocab, char *err, size_t errlen)
{
	size_t lines = 0, start = 0;
	int32_t eot = -1;
	uint8_t *where = NULL;
	char *raw = NULL;
	int ret;

	for (size_t i = 0; i < len; i++) {
		if (buf[i] == '\0') {
			snprintf(err, errlen, "%s: NUL byte at offset %zu: not a vocabulary", path,
				 i);
			return -EINVAL;
		}
		lines += buf[i] == '\n';
	}
	if (len && buf[len - 1] != '\n')
		lines++;
	if (lines == 0 || lines > INT32_MAX / 2) {
		snprintf(err, errlen, "%s: %s", path, lines ? "too many lines" : "empty");
		return -EINVAL;
	}
	if (n_vocab > 0 && (size_t)n_vocab != lines) {
		snprintf(err, errlen, "%s: %zu tokens, but the model has n_vocab %d", path,
			 lines, n_vocab);
		return -EINVAL;
	}
	ret = wsp_tok_vocab_alloc(v, (int)lines);
	if (ret)
		return ret;
	where = calloc(lines, 1);
	raw = malloc(len + 1);
	if (!where || !raw) {
		ret = -ENOMEM;
		goto out;
	}
	for (size_t id = 0; id < lines; id++) {
		const char *s = buf + start, *nl = memchr(s, '\n', len - start);
		size_t n = nl ? (size_t)(nl - s) : len - start;
		size_t rn = wsp_tok_bytelevel_decode(s, n, raw);

		ret = wsp_tok_vocab_set(v, (int32_t)id, raw, rn);
		if (ret)
			goto out;
		if (eot < 0 && rn == 13 && memcmp(raw, "<|endoftext|>", 13) == 0)
			eot = (int32_t)id;
		start += n + 1;
	}
	if (eot < 0) {
		snprintf(err, errlen, "%s: no <|endoftext|> line", path);
		ret = -EINVAL;
		goto out;
	}
	/* Whisper's special tokens are <|endoftext|> and everything after it. */
	memset(where, WSP_TOK_IN_VOCAB, (size_t)eot);
	for (int32_t id = eot; id < (int32_t)lines; id++) {
		const char *s = v->blob + v->off[id];
		uint32_t n = v->len[id];

		v->special[id] = 1;
		if (n >= 4 && memcmp(s, "<|", 2) == 0 && memcmp(s + n - 2, "|>", 2) == 0)
			where[id] = WSP_TOK_IN_ADDED;
	}
	ret = wsp_tok_vocab_index(v, where);
out:
	free(where);
	free(raw);
	return ret;
}

int wsp_tok_read_vocab_json(struct wsp_tok_vocab *v, const char *path, const char *buf,
			    size_t len, int n_vocab, char *err, size_t errlen)
{
	json_error_t e;
	json_t *a = json_loadb(buf, len, 0, &e), *x;
	size_t i, total = 0, at = 0;
	char *lines;
	int ret;

	if (!a) {
		snprintf(err, errlen, "%s: line %d: %s", path, e.line, e.text);
		return -EINVAL;
	}
	if (!json_is_array(a) || json_array_size(a) == 0) {
		snprintf(err, errlen, "%s: expected a non-empty JSON array of token strings", path);
		json_decref(a);
		return -EINVAL;
	}
	json_array_foreach(a, i, x) {
		const char *s = json_string_value(x);
		size_t n = json_string_length(x);

		if (!s || memchr(s, '\n', n) || memchr(s, '\0', n)) {
			snprintf(err, errlen, "%s: entry %zu is %s", path, i, !s ? "not a string" :
				 "a token with a newline or NUL byte");
			json_decref(a);
			return -EINVAL;
		}
		total += n + 1;
	}
	lines = malloc(total + 1);
	if (!lines) {
		json_decref(a);
		return -ENOMEM;
	}
	json_array_foreach(a, i, x) {
		size_t n = json_string_length(x);

		memcpy(lines + at, json_string_value(x), n);
		at += n;
		lines[at++] = '\n';
	}
	lines[at] = '\0';
	json_decref(a);
	ret = wsp_tok_read_vocab_txt(v, path, lines, total, n_vocab, err, errlen);
	free(lines);
	return ret;
}
