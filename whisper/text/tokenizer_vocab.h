/* SPDX-License-Identifier: MIT */
/*
 * whisper/text/tokenizer_vocab.h - the tokenizer's vocabulary: every token's
 * raw bytes by id, lookups by text, GPT-2's byte-level alphabet, a UTF-8
 * reader, and the reader of a CTranslate2 vocabulary.txt. The bottom layer
 * of the tokenizer: it uses none of the other tokenizer files. Not a public
 * header.
 */
#ifndef AMN_WSP_TOKENIZER_VOCAB_H
#define AMN_WSP_TOKENIZER_VOCAB_H

#include <stddef.h>
#include <stdint.h>

/* Whisper's timestamps: <|0.00|> .. <|30.00|> in 0.02 s steps. */
#define WSP_TOK_N_TIMESTAMPS 1501

/* Which lookup map an id goes into (wsp_tok_vocab_index()'s @where). */
#define WSP_TOK_IN_VOCAB 1      /* the BPE model's tokens, by raw bytes */
#define WSP_TOK_IN_ADDED 2      /* added (special) tokens, by text */

struct wsp_tok_vocab {
	int n;                   /* token ids 0 .. n - 1 */
	char *blob;              /* every token's raw bytes, back to back */
	size_t blob_len, blob_cap;
	uint32_t *off;           /* [n] offset of each token in blob */
	uint32_t *len;           /* [n] byte length; UINT32_MAX: id not set yet */
	uint8_t *special;        /* [n] skipped by decode */

	/* open-addressing maps, text -> id, at most half full; -1 = empty */
	int32_t *vocab_slots;
	uint32_t vocab_mask;
	int32_t *added_slots;
	uint32_t added_mask;
	int n_added;
	size_t max_added_len;    /* longest added token, in bytes */
};

/**
 * wsp_tok_vocab_alloc - make the per-id arrays of @v for @n ids, none set.
 * Return: 0 or -ENOMEM (free @v with wsp_tok_vocab_free() either way).
 */
int wsp_tok_vocab_alloc(struct wsp_tok_vocab *v, int n);

/**
 * wsp_tok_vocab_set - give id @id (below v->n) the raw bytes @s, @n long.
 * Return: 0, -ENOMEM, or -EINVAL when the blob would pass 4 GiB.
 */
int wsp_tok_vocab_set(struct wsp_tok_vocab *v, int32_t id, const void *s, size_t n);

/**
 * wsp_tok_vocab_index - build the two lookup maps once every id is set.
 * @where: [v->n] WSP_TOK_IN_VOCAB and/or WSP_TOK_IN_ADDED per id; where two
 * ids of one map share a text, the lower id wins.
 * Return: 0 or -ENOMEM.
 */
int wsp_tok_vocab_index(struct wsp_tok_vocab *v, const uint8_t *where);

/** wsp_tok_vocab_find - the id of the BPE token with raw bytes @s (@n long), or -1. */
int32_t wsp_tok_vocab_find(const struct wsp_tok_vocab *v, const void *s, size_t n);

/** wsp_tok_vocab_find_added - the id of the added token with text @s (@n long), or -1. */
int32_t wsp_tok_vocab_find_added(const struct wsp_tok_vocab *v, const void *s, size_t n);

/** wsp_tok_vocab_free - release what @v holds (not @v itself). */
void wsp_tok_vocab_free(struct wsp_tok_vocab *v);

/**
 * wsp_tok_bytelevel_decode - turn @n bytes of GPT-2 byte-level text (one
 * code point per byte) into raw bytes in @dst, which has room for @n. A text
 * with a code point outside the alphabet is copied as it is, as the Hugging
 * Face ByteLevel decoder does.
 * Return: the raw length.
 */
size_t wsp_tok_bytelevel_decode(const char *s, size_t n, char *dst);

/**
 * wsp_tok_utf8 - the code point of the well-formed UTF-8 sequence at @s (at
 * most @n bytes, @n > 0); its length goes to *@len.
 * Return: the code point, or -1 (then *@len is 1).
 */
int32_t wsp_tok_utf8(const unsigned char *s, size_t n, size_t *len);

/**
 * wsp_tok_read_vocab_txt - fill @v from the contents of a vocabulary.txt:
 * one byte-level token per line, @n_vocab lines (0: any count), special
 * tokens from <|endoftext|> on. @path names the file in messages.
 * Return: 0, -EINVAL with @err set, -ENOMEM.
 */
int wsp_tok_read_vocab_txt(struct wsp_tok_vocab *v, const char *path, const char *buf,
			   size_t len, int n_vocab, char *err, size_t errlen);

/**
 * wsp_tok_read_vocab_json - fill @v from the contents of a CTranslate2
 * vocabulary.json: a JSON array of the same byte-level token strings, one
 * per id (@n_vocab of them; 0: any count). Read as vocabulary.txt's lines.
 * Return: 0, -EINVAL with @err set (not JSON, not an array of strings, a
 * token with a newline or NUL), -ENOMEM.
 */
int wsp_tok_read_vocab_json(struct wsp_tok_vocab *v, const char *path, const char *buf,
			    size_t len, int n_vocab, char *err, size_t errlen);

#endif
