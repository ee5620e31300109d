/* SPDX-License-Identifier: MIT */
/*
 * whisper/text/tokenizer_split.h - the GPT-2 pre-tokenizer: text cut into
 * the pieces that BPE then encodes one by one, by the GPT-2 split regex run
 * with PCRE2. Uses the UTF-8 reader of tokenizer_vocab.h and nothing else of
 * the tokenizer. Not a public header.
 */
#ifndef AMN_WSP_TOKENIZER_SPLIT_H
#define AMN_WSP_TOKENIZER_SPLIT_H

#include <stddef.h>

#ifndef PCRE2_CODE_UNIT_WIDTH
#define PCRE2_CODE_UNIT_WIDTH 8
#endif
#include <pcre2.h>

/** The compiled split regex: read-only once made, shared by every thread. */
struct wsp_tok_split {
	pcre2_code *code;
	int jit;                /* JIT-compiled: matched by pcre2_jit_match() */
};

/**
 * wsp_tok_split_init - compile the split regex into @sp (JIT-compiled where
 * PCRE2 can, else run by its interpreter).
 * Return: 0, or -ENOMEM or -EINVAL (a PCRE2 before 10.40, or without
 * Unicode) with @err set.
 */
int wsp_tok_split_init(struct wsp_tok_split *sp, char *err, size_t errlen);

/** wsp_tok_split_free - release what @sp holds (not @sp itself). */
void wsp_tok_split_free(struct wsp_tok_split *sp);

/**
 * One walk over one text: its own match data (so any number of threads can
 * split with one struct wsp_tok_split at once), and the text the regex
 * reads: the caller's, or a copy in which each byte that is not part of
 * well-formed UTF-8 is '!', an "other" character as the regex sees it.
 */
struct wsp_tok_pieces {
	const struct wsp_tok_split *sp;
	pcre2_match_data *match;
	const unsigned char *subject;
	unsigned char *copy;
};

/**
 * wsp_tok_pieces_start - begin splitting the @n bytes at @text, which must
 * stay unchanged until wsp_tok_pieces_finish().
 * Return: 0 or -ENOMEM (then @p needs no finish).
 */
int wsp_tok_pieces_start(struct wsp_tok_pieces *p, const struct wsp_tok_split *sp,
			 const char *text, size_t n);

/**
 * wsp_tok_pieces_next - the length of the piece at byte @at of the text,
 * the regex seeing the text as ending at byte @end (@at < @end; both on
 * character boundaries).
 * Return: the length (> 0), or -ENOMEM, -E2BIG (a PCRE2 limit).
 */
long wsp_tok_pieces_next(const struct wsp_tok_pieces *p, size_t at, size_t end);

/** wsp_tok_pieces_finish - release what wsp_tok_pieces_start() made. */
void wsp_tok_pieces_finish(struct wsp_tok_pieces *p);

#endif
