// SPDX-License-Identifier: MIT
/*
 * whisper/text/tokenizer_bpe.c - the BPE model's merge table, and the merging
 * of one pre-tokenized piece as the Hugging Face BPE model does it: the
 * piece's bytes start as single-byte tokens and are merged pairwise, lowest
 * merge rank first, leftmost first among equals, with a heap (no quadratic
 * case on long pieces), until no merge applies.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "whisper/text/tokenizer_bpe.h"

/* ---- merge table: (left, right) -> rank, merged id ---- */

static uint32_t merge_slot(uint64_t key, uint32_t mask)
{
	return (uint32_t)((key * 0x9e3779b97f4a7c15ull) >> 32) & mask;
}

int wsp_tok_bpe_alloc(struct wsp_tok_bpe *b, int n)
{
	uint32_t cap = 16;

	while (cap < 2u * (uint32_t)n + 2)
		cap *= 2;
	b->merges = malloc(cap * sizeof(*b->merges));
	if (!b->merges)
		return -ENOMEM;
	for (uint32_t i = 0; i < cap; i++)
		b->merges[i].id = -1;
	b->merge_mask = cap - 1;
	b->n_merges = 0;
	return 0;
}

void wsp_tok_bpe_add(struct wsp_tok_bpe *b, int32_t left, int32_t right, int32_t rank,
		     int32_t merged)
{
	uint64_t key = (uint64_t)(uint32_t)left << 32 | (uint32_t)right;
	uint32_t i = merge_slot(key, b->merge_mask);

	while (b->merges[i].id >= 0 && b->merges[i].key != key)
		i = (i + 1) & b->merge_mask;
	if (b->merges[i].id < 0)
		b->n_merges++;
	b->merges[i].key = key;
	b->merges[i].rank = rank;
	b->merges[i].id = merged;
}

static const struct wsp_tok_merge *merge_find(const struct wsp_tok_bpe *b, int32_t left,
					      int32_t right)
{
	uint64_t key = (uint64_t)(uint32_t)left << 32 | (uint32_t)right;

	for (uint32_t i = merge_slot(key, b->merge_mask);; i = (i + 1) & b->merge_mask) {
		if (b->merges[i].id < 0)
			return NULL;
		if (b->merges[i].key == key)
			return &b->merges[i];
	}
}

void wsp_tok_bpe_free(struct wsp_tok_bpe *b)
{
	free(b->merges);
	b->merges = NULL;
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

void wsp_tok_sink_put(struct wsp_tok_sink *o, int32_t id)
{
	if (o->n < o->cap)
		o->dst[o->n] = id;
	o->n++;
}

struct sym {
	int32_t id, prev, next;
};

static void push_pair(const struct wsp_tok_bpe *b, struct sym *sy, struct cand *h, int *nh,
		      int32_t pos)
{
	const struct wsp_tok_merge *m;

	if (pos < 0 || sy[pos].next < 0)
		return;
	m = merge_find(b, sy[pos].id, sy[sy[pos].next].id);
	if (m)
		heap_push(h, nh, (struct cand){ m->rank, pos, m->id });
}

int wsp_tok_bpe_piece(const struct wsp_tok_bpe *b, const unsigned char *s, size_t n,
		      struct wsp_tok_sink *o)
{
	struct sym sbuf[64], *sy = sbuf;
	struct cand hbuf[3 * 64], *h = hbuf;
	int nh = 0;

	if (n == 1) {
		wsp_tok_sink_put(o, b->byte_token[s[0]]);
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
		sy[i] = (struct sym){ b->byte_token[s[i]], (int32_t)i - 1,
				      i + 1 < n ? (int32_t)i + 1 : -1 };
	for (size_t i = 0; i + 1 < n; i++)
		push_pair(b, sy, h, &nh, (int32_t)i);
	while (nh > 0) {
		struct cand c = heap_pop(h, &nh);
		const struct wsp_tok_merge *m;
		int32_t r = sy[c.pos].next;

		if (sy[c.pos].id < 0 || r < 0)
			continue;       /* merged away, or the last symbol now */
		m = merge_find(b, sy[c.pos].id, sy[r].id);
		if (!m || m->id != c.id)
			continue;       /* stale: a neighbour changed since */
		sy[c.pos].id = c.id;
		sy[c.pos].next = sy[r].next;
		if (sy[r].next >= 0)
			sy[sy[r].next].prev = c.pos;
		sy[r].id = -1;
		push_pair(b, sy, h, &nh, sy[c.pos].prev);
		push_pair(b, sy, h, &nh, c.pos);
	}
	for (int32_t i = 0; i >= 0; i = sy[i].next)
		wsp_tok_sink_put(o, sy[i].id);
	if (sy != sbuf) {
		free(sy);
		free(h);
	}
	return 0;
}
