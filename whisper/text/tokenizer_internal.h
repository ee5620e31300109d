/* SPDX-License-Identifier: MIT */
/*
 * whisper/text/tokenizer_internal.h - the tokenizer as tokenizer.c (the
 * front) puts it together from its layers: the vocabulary
 * (tokenizer_vocab.h), the merges (tokenizer_bpe.h), the pre-tokenizer
 * (tokenizer_split.h), filled by the readers (tokenizer_json.h for
 * tokenizer.json, tokenizer_vocab.h for vocabulary.txt and vocabulary.json). Not a public header;
 * the fuzz target uses wsp_tok_load_buf().
 */
#ifndef AMN_WSP_TOKENIZER_INTERNAL_H
#define AMN_WSP_TOKENIZER_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "whisper/text/tokenizer.h"
#include "whisper/text/tokenizer_bpe.h"
#include "whisper/text/tokenizer_split.h"
#include "whisper/text/tokenizer_vocab.h"

struct wsp_tokenizer {
	struct wsp_tok_vocab vocab;
	struct wsp_tok_bpe bpe;        /* no merges from vocabulary.txt or a ggml vocabulary */
	struct wsp_tok_split split;    /* always compiled: greedy matching splits too */
	struct wsp_special_tokens sp;
	char (*lang_codes)[8];         /* [sp.n_langs], NUL-terminated */
	char source[32];               /* "tokenizer.json", "vocabulary.json", "vocabulary.txt",
					  "ggml vocabulary" */
};

/* The files a tokenizer is read from (the values the fuzz target passes). */
enum wsp_tok_file {
	WSP_TOK_VOCAB_TXT = 0,       /* CTranslate2's vocabulary.txt */
	WSP_TOK_TOKENIZER_JSON = 1,  /* Hugging Face tokenizer.json */
	WSP_TOK_VOCAB_JSON = 2,      /* CTranslate2's vocabulary.json */
};

/**
 * wsp_tok_load_buf - a tokenizer from the contents of one file of kind
 * @kind. @path names it in messages.
 * Return: as wsp_tokenizer_load(), less -ENOENT.
 */
int wsp_tok_load_buf(struct wsp_tokenizer **out, const char *path, const char *buf,
		     size_t len, enum wsp_tok_file kind, int n_vocab, char *err, size_t errlen);

#endif
