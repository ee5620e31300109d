/* SPDX-License-Identifier: MIT */
/*
 * whisper/text/tokenizer_internal.h - the tokenizer's tables, shared by the
 * files that build them (tokenizer.c, tokenizer_json.c, tokenizer_vocab.c)
 * and the encoder (tokenizer_bpe.c). Not a public header.
 */
#ifndef AMN_WSP_TOKENIZER_INTERNAL_H
#define AMN_WSP_TOKENIZER_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "whisper/text/tokenizer.h"

/* Whisper's timestamps: <|0.00|> .. <|30.00|> in 0.02 s steps. */
#define WSP_TOK_N_TIMESTAMPS 1501

/* One merge of the BPE model: (left id, right id) -> rank and merged id. */
struct wsp_tok_merge {
	uint64_t key;   /* (uint64_t)left << 32 | right */
	int32_t rank;
	int32_t id;     /* -1 marks an empty slot */
};

struct wsp_tokenizer {
	int n_vocab;
	char *blob;              /* every token's raw bytes, back to back */
	size_t blob_len, blob_cap;
	uint32_t *off;           /* [n_vocab] offset of each token in blob */
	uint32_t *len;           /* [n_vocab] byte length; UINT32_MAX: id not set yet */
	uint8_t *special;        /* [n_vocab] skipped by decode */

	/* raw bytes -> id of the BPE model's tokens (encode's lookups) */
	int32_t *vocab_slots;    /* -1 = empty */
	uint32_t vocab_mask;
	/* text -> id of the added (special) tokens, matched in encode's input */
	int32_t *added_slots;
	uint32_t added_mask;
	int n_added;
	size_t max_added_len;    /* longest added token, in bytes */

	struct wsp_tok_merge *merges;  /* NULL when loaded from vocabulary.txt */
	uint32_t merge_mask;
	int n_merges;
	int32_t byte_token[256];       /* the token of each single byte */

	struct wsp_special_tokens sp;
	char (*lang_codes)[8];         /* [sp.n_langs], NUL-terminated */
	char source[32];               /* "tokenizer.json" or "vocabulary.txt" */
};

/* FNV-1a over @n bytes. */
static inline uint32_t wsp_tok_hash(const void *p, size_t n)
{
	const unsigned char *s = p;
	uint32_t h = 2166136261u;

	for (size_t i = 0; i < n; i++)
		h = (h ^ s[i]) * 16777619u;
	return h;
}

/*
 * Table building (tokenizer.c). wsp_tok_alloc() makes the per-id arrays for
 * @n_vocab ids; wsp_tok_set() gives id @id the raw bytes @s; wsp_tok_index()
 * builds the two hash maps once every id is set: @where[id] says which
 * map an id goes into (WSP_TOK_IN_VOCAB, WSP_TOK_IN_ADDED, both or none).
 */
#define WSP_TOK_IN_VOCAB 1
#define WSP_TOK_IN_ADDED 2
int wsp_tok_alloc(struct wsp_tokenizer *t, int n_vocab);
int wsp_tok_set(struct wsp_tokenizer *t, int32_t id, const void *s, size_t n);
int wsp_tok_index(struct wsp_tokenizer *t, const uint8_t *where);

/* Lookups: the id of BPE token / added token with bytes @s, or -1. */
int32_t wsp_tok_find_vocab(const struct wsp_tokenizer *t, const void *s, size_t n);
int32_t wsp_tok_find_added(const struct wsp_tokenizer *t, const void *s, size_t n);

/* Merge table (tokenizer_bpe.c): allocate room for @n merges, then add. */
int wsp_tok_merges_alloc(struct wsp_tokenizer *t, int n);
void wsp_tok_merge_add(struct wsp_tokenizer *t, int32_t left, int32_t right,
		       int32_t rank, int32_t merged);
const struct wsp_tok_merge *wsp_tok_merge_find(const struct wsp_tokenizer *t,
					       int32_t left, int32_t right);

/*
 * GPT-2 byte-level alphabet (tokenizer_vocab.c): a token's text in the
 * files is one code point per byte. wsp_tok_bytelevel_decode() turns @n
 * bytes of such text into raw bytes in @dst (room for @n bytes); a text with
 * a code point outside the alphabet is copied as is, like the Hugging Face
 * ByteLevel decoder does. Return: the raw length.
 */
size_t wsp_tok_bytelevel_decode(const char *s, size_t n, char *dst);

/*
 * wsp_tok_utf8 - the code point of the well-formed UTF-8 sequence at @s (at
 * most @n bytes; its length in *@len), or -1 (then *@len = 1).
 */
int32_t wsp_tok_utf8(const unsigned char *s, size_t n, size_t *len);

/*
 * wsp_tok_load_buf - a tokenizer from the contents of one file: tokenizer.json
 * when @is_json, else vocabulary.txt. @path names it in messages. Return: as
 * wsp_tokenizer_load(), less -ENOENT.
 */
int wsp_tok_load_buf(struct wsp_tokenizer **out, const char *path, const char *buf,
		     size_t len, int is_json, int n_vocab, char *err, size_t errlen);

/* Readers of the two file formats. */
int wsp_tok_read_json(struct wsp_tokenizer *t, const char *path, const char *buf,
		      size_t len, int n_vocab, char *err, size_t errlen);
int wsp_tok_read_vocab(struct wsp_tokenizer *t, const char *path, const char *buf,
		       size_t len, int n_vocab, char *err, size_t errlen);

/* Length of the pre-tokenizer's match at the start of @s (@n > 0). */
size_t wsp_tok_next_piece(const unsigned char *s, size_t n);

/*
 * Unicode classes for the pre-tokenizer (tokenizer_unicode.c): of code
 * point @cp, 'L' (letter), 'N' (number), 'S' (White_Space) or 0 (other).
 */
int wsp_tok_uclass(uint32_t cp);

#endif
