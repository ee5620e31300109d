/* SPDX-License-Identifier: MIT */
/*
 * whisper/text/tokenizer_json.h - the reader of a Hugging Face tokenizer.json:
 * it builds the vocabulary (tokenizer_vocab.h) and the merges
 * (tokenizer_bpe.h) and uses nothing else of the tokenizer. Not a public
 * header.
 */
#ifndef AMN_WSP_TOKENIZER_JSON_H
#define AMN_WSP_TOKENIZER_JSON_H

#include <stddef.h>

#include "whisper/text/tokenizer_bpe.h"
#include "whisper/text/tokenizer_vocab.h"

/**
 * wsp_tok_read_json - fill @v and @b from the @len bytes of a tokenizer.json
 * at @buf; the timestamps are added after <|notimestamps|> when @n_vocab
 * (the model's size; 0: the file's) has room for them. @path names the file
 * in messages.
 * Return: 0, -EINVAL with @err set, -ENOMEM (free @v and @b either way).
 */
int wsp_tok_read_json(struct wsp_tok_vocab *v, struct wsp_tok_bpe *b, const char *path,
		      const char *buf, size_t len, int n_vocab, char *err, size_t errlen);

#endif
