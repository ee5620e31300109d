/* SPDX-License-Identifier: MIT */
/*
 * whisper/text/tokenizer_ggml.h - the reader of the vocabulary a whisper.cpp
 * ggml file carries (raw token bytes, no merges, no special tokens), which
 * names the special tokens from the vocabulary size as whisper.cpp does.
 * A reader layer beside tokenizer_json.h: it fills a wsp_tok_vocab and
 * uses nothing above it. Not a public header.
 */
#ifndef AMN_WSP_TOKENIZER_GGML_H
#define AMN_WSP_TOKENIZER_GGML_H

#include <stddef.h>
#include <stdint.h>

#include "whisper/text/tokenizer_vocab.h"

/**
 * wsp_tok_read_ggml_vocab - fill @v with @n_vocab ids from a ggml file's
 * vocabulary section @buf (@count entries of i32 length + bytes, @len bytes
 * in all): the text tokens from the file, then <|endoftext|>,
 * <|startoftranscript|>, the language tokens, the task and control tokens
 * and the timestamps at the ids whisper.cpp gives them for @n_vocab
 * (51864: English-only; 51865: 99 languages; 51866: 100, as large-v3).
 * @path names the file in messages.
 * Return: 0, -EINVAL with @err set, -ENOMEM.
 */
int wsp_tok_read_ggml_vocab(struct wsp_tok_vocab *v, const char *path, const unsigned char *buf,
			    size_t len, int32_t count, int n_vocab, char *err, size_t errlen);

#endif
