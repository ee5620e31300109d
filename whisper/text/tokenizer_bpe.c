// SPDX-License-Identifier: MIT
/*
 * whisper/text/tokenizer_bpe.c - encoding text to token ids as the Hugging Face
 * tokenizer of a Whisper model does:
 *   1. added tokens written in the text ("<|en|>") become their ids;
 *   2. the rest is split by GPT-2's pre-tokenizer regex
 *        's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
 *      written out by hand (the classes are in tokenizer_unicode.c);
 *   3. each piece's bytes are merged pairwise, lowest merge rank first,
 *      leftmost first among equals, until no merge applies.
 * Bytes that are not valid UTF-8 count as one "other" character each.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "whisper/text/tokenizer_internal.h"

/* ---- merge table: (left, right) -> rank, merged id ---- */

static uint32_t merge_slot(uint64_t key, uint32_t mask)
{
	return (uint32_t)((key * 0x9e3779b97f4a7c15ull) >> 32) & mask;
}

int wsp_tok_merges_alloc(struct wsp_tokenizer *t, int n)
{
	uint32_t cap = 16;

	while (cap < 2u * (uint32_t)n + 2)
		cap *= 2;
	t->merges = malloc(cap * sizeof(*t->merges));
	if (!t->merges)
		return -ENOMEM;
	for (uint32_t i = 0; i < cap; i++)
		t->merges[i].id = -1;
	t->merge_mask = cap - 1;
	t->n_merges = 0;
	return 0;
}

/* A pair given twice keeps its last rank, as the reference's hash map does. */
void wsp_tok_merge_add(struct wsp_tokenizer *t, int32_t left, int32_t right, int32_t rank,
		       int32_t merged)
{
	uint64_t key = (uint64_t)(uint32_t)left << 32 | (uint32_t)right;
	uint32_t i = merge_slot(key, t->merge_mask);

	while (t->merges[i].id >= 0 && t->merges[i].key != key)
		i = (i + 1) & t->merge_mask;
	if (t->merges[i].id < 0)
		t->n_merges++;
	t->merges[i].key = key;
	t->merges[i].rank = rank;
	t->merges[i].id = merged;
}

const struct wsp_tok_merge *wsp_tok_merge_find(const struct wsp_tokenizer *t, int32_t left,
					       int32_t right)
{
	uint64_t key = (uint64_t)(uint32_t)left << 32 | (uint32_t)right;

	for (uint32_t i = merge_slot(key, t->merge_mask);; i = (i + 1) & t->merge_mask) {
		if (t->merges[i].id < 0)
			return NULL;
		if (t->merges[i].key == key)
			return &t->merges[i];
	}
}

/* ---- pre-tokenizer ---- */

/* The regex class of the character at @s: 'L', 'N', 'S' or 0 (other). */
static int char_class(const unsigned char *s, size_t n, size_t *len)
{
	int32_t cp = wsp_tok_utf8(s, n, len);

	if (cp < 0)
		return 0;
	if (cp < 0x80) {
		unsigned char c = (unsigned char)cp;

		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'))
			return 'L';
		if (c >= '0' && c <= '9')
			return 'N';
		if (c == ' ' || (c >= '\t' && c <= '\r'))
			return 'S';
		return 0;
	}
	return wsp_tok_uclass((uint32_t)cp);
}

/* Length of the regex match that starts at @s (n > 0). */
size_t wsp_tok_next_piece(const unsigned char *s, size_t n)
{
	size_t i = 0, j, len, last;
	int cls;

	if (s[0] == '\'' && n >= 2) {
		if (s[1] == 's' || s[1] == 't' || s[1] == 'm' || s[1] == 'd')
			return 2;
		if (n >= 3 && ((s[1] == 'r' && s[2] == 'e') || (s[1] == 'v' && s[2] == 'e') ||
			       (s[1] == 'l' && s[2] == 'l')))
			return 3;
	}
	cls = char_class(s, n, &len);
	if (s[0] == ' ' && n > 1) {
		size_t l2;
		int c2 = char_class(s + 1, n - 1, &l2);

		if (c2 != 'S') {
			/* " ?\p{L}+", " ?\p{N}+" or " ?[^\s\p{L}\p{N}]+" */
			i = 1;
			cls = c2;
			len = l2;
		}
	}
	if (cls != 'S') {
		for (j = i + len; j < n; j += len)
			if (char_class(s + j, n - j, &len) != cls)
				break;
		return j;
	}
	/* "\s+(?!\S)": the run, less its last character when text follows */
	last = 0;
	for (j = 0; j < n;) {
		if (char_class(s + j, n - j, &len) != 'S')
			break;
		last = j;
		j += len;
	}
	if (j == n || last == 0)
		return j;       /* to the end, or "\s+" of one character */
	return last;
}

/* ---- byte-pair merges of one piece ---- */

struct cand {
	int32_t rank, pos, id;
};

static int cand_less(const struct cand *a, const struct cand *b)
{
	return a->rank < b->rank || (a->rank == b->rank && a->pos < b->pos);
}

static void heap_push(struct cand *h, int *n, struct cand c)
{
	int i = (*n)++;

	while (i > 0) {
		int p = (i - 1) / 2;

		if (!cand_less(&c, &h[p]))
			break;
		h[i] = h[p];
		i = p;
	}
	h[i] = c;
}

static struct cand heap_pop(struct cand *h, int *n)
{
	struct cand top = h[0], last = h[--*n];
	int i = 0;

	for (;;) {
		int c = 2 * i + 1;

		if (c >= *n)
			break;
		if (c + 1 < *n && cand_less(&h[c + 1], &h[c]))
			c++;
		if (!cand_less(&h[c], &last))
			break;
		h[i] = h[c];
		i = c;
	}
	if (*n > 0)
		h[i] = last;
	return top;
}

struct sink {
	int32_t *dst;
	int cap;
	int64_t n;
};

static void emit(struct sink *o, int32_t id)
{
	if (o->n < o->cap)
		o->dst[o->n] = id;
	o->n++;
}

struct sym {
	int32_t id, prev, next;
};

static void push_pair(const struct wsp_tokenizer *t, struct sym *sy, struct cand *h, int *nh,
		      int32_t pos)
{
	const struct wsp_tok_merge *m;

	if (pos < 0 || sy[pos].next < 0)
		return;
	m = wsp_tok_merge_find(t, sy[pos].id, sy[sy[pos].next].id);
	if (m)
		heap_push(h, nh, (struct cand){ m->rank, pos, m->id });
}

static int bpe(const struct wsp_tokenizer *t, const unsigned char *s, size_t n, struct sink *o)
{
	struct sym sbuf[64], *sy = sbuf;
	struct cand hbuf[3 * 64], *h = hbuf;
	int nh = 0;

	if (n == 1) {
		emit(o, t->byte_token[s[0]]);
		return 0;
	}
	if (n > 64) {
		if (n > INT32_MAX / 4)
			return -E2BIG;
		sy = malloc(n * sizeof(*sy));
		h = malloc(3 * n * sizeof(*h));
		if (!sy || !h) {
			free(sy);
			free(h);
			return -ENOMEM;
		}
	}
	for (size_t i = 0; i < n; i++)
		sy[i] = (struct sym){ t->byte_token[s[i]], (int32_t)i - 1,
				      i + 1 < n ? (int32_t)i + 1 : -1 };
	for (size_t i = 0; i + 1 < n; i++)
		push_pair(t, sy, h, &nh, (int32_t)i);
	while (nh > 0) {
		struct cand c = heap_pop(h, &nh);
		const struct wsp_tok_merge *m;
		int32_t r = sy[c.pos].next;

		if (sy[c.pos].id < 0 || r < 0)
			continue;       /* merged away, or the last symbol now */
		m = wsp_tok_merge_find(t, sy[c.pos].id, sy[r].id);
		if (!m || m->id != c.id)
			continue;       /* stale: a neighbour changed since */
		sy[c.pos].id = c.id;
		sy[c.pos].next = sy[r].next;
		if (sy[r].next >= 0)
			sy[sy[r].next].prev = c.pos;
		sy[r].id = -1;
		push_pair(t, sy, h, &nh, sy[c.pos].prev);
		push_pair(t, sy, h, &nh, c.pos);
	}
	for (int32_t i = 0; i >= 0; i = sy[i].next)
		emit(o, sy[i].id);
	if (sy != sbuf) {
		free(sy);
		free(h);
	}
	return 0;
}

static int encode_span(const struct wsp_tokenizer *t, const unsigned char *s, size_t n,
		       struct sink *o)
{
	while (n > 0) {
		size_t k = wsp_tok_next_piece(s, n);
		int ret = bpe(t, s, k, o);

		if (ret)
			return ret;
		s += k;
		n -= k;
	}
	return 0;
}

int wsp_tokenizer_encode(const struct wsp_tokenizer *t, const char *text, int32_t *dst,
			 int cap)
{
	const unsigned char *s = (const unsigned char *)text;
	struct sink o = { dst, dst && cap > 0 ? cap : 0, 0 };
	size_t n, start = 0, maxlen = t ? t->max_added_len : 0;
	int ret;

	if (!t || !text)
		return -EINVAL;
	if (!t->merges)
		return -ENOTSUP;    /* vocabulary.txt has no merges: encoding needs tokenizer.json */
	n = strlen(text);
	for (size_t i = 0; i + 1 < n; i++) {
		const unsigned char *close;
		size_t window;
		int32_t id;

		if (s[i] != '<' || s[i + 1] != '|')
			continue;
		window = n - i < maxlen ? n - i : maxlen;
		close = window >= 4 ? memmem(s + i + 2, window - 2, "|>", 2) : NULL;
		if (!close)
			continue;
		id = wsp_tok_find_added(t, s + i, (size_t)(close + 2 - (s + i)));
		if (id < 0)
			continue;
		ret = encode_span(t, s + start, i - start, &o);
		if (ret)
			return ret;
		emit(&o, id);
		i = (size_t)(close + 2 - s) - 1;
		start = i + 1;
	}
	ret = encode_span(t, s + start, n - start, &o);
	if (ret)
		return ret;
	return o.n > INT32_MAX ? -EOVERFLOW : (int)o.n;
}
