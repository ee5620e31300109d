/* SPDX-License-Identifier: MIT */
/*
 * whisper/text/tokenizer_bpe.h - the BPE model's merges and the merging of
 * one pre-tokenized piece into token ids. A bottom layer of the tokenizer:
 * it uses none of the other tokenizer files. Not a public header.
 */
#ifndef AMN_WSP_TOKENIZER_BPE_H
#define AMN_WSP_TOKENIZER_BPE_H

#include <stddef.h>
#include <stdint.h>

/* One merge: (left id, right id) -> rank and merged id. */
struct wsp_tok_merge {
	uint64_t key;   /* (uint64_t)left << 32 | right */
	int32_t rank;
	int32_t id;     /* -1 marks an empty slot */
};

struct wsp_tok_bpe {
	struct wsp_tok_merge *merges;  /* open addressing, at most half full */
	uint32_t merge_mask;
	int n_merges;
	int32_t byte_token[256];       /* the token of each single byte */
};

/** Where encoded ids go, with snprintf's contract: count all, store what fits. */
struct wsp_tok_sink {
	int32_t *dst;
	int cap;
	int64_t n;
};

/** wsp_tok_sink_put - count @id and store it when there is room. */
void wsp_tok_sink_put(struct wsp_tok_sink *o, int32_t id);

/**
 * wsp_tok_bpe_alloc - an empty merge table with room for @n merges.
 * Return: 0 or -ENOMEM.
 */
int wsp_tok_bpe_alloc(struct wsp_tok_bpe *b, int n);

/**
 * wsp_tok_bpe_add - merge (@left, @right) into @merged at @rank; a pair
 * given twice keeps its last rank, as the reference's hash map does.
 */
void wsp_tok_bpe_add(struct wsp_tok_bpe *b, int32_t left, int32_t right, int32_t rank,
		     int32_t merged);

/** wsp_tok_bpe_free - release what @b holds (not @b itself). */
void wsp_tok_bpe_free(struct wsp_tok_bpe *b);

/**
 * wsp_tok_bpe_piece - the ids of one piece of @n > 0 bytes: its bytes start
 * as single-byte tokens and are merged pairwise, lowest rank first, leftmost
 * first among equal ranks, until no merge applies; the ids go to @o.
 * Return: 0, -ENOMEM, or -E2BIG for a piece over 512 MiB.
 */
int wsp_tok_bpe_piece(const struct wsp_tok_bpe *b, const unsigned char *s, size_t n,
		      struct wsp_tok_sink *o);

#endif
