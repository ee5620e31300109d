/* SPDX-License-Identifier: MIT */
/*
 * whisper/text/tokenizer.h - Whisper's byte-level BPE tokenizer, read from the
 * model's own files (tokenizer.json, else vocabulary.json or vocabulary.txt
 * for CTranslate2 directories, else the vocabulary embedded in a ggml file).
 * Special tokens are looked up by their text; no token id is hard-coded.
 */
#ifndef AMN_WSP_TOKENIZER_H
#define AMN_WSP_TOKENIZER_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

struct wsp_tokenizer;

/** The special tokens of one model; -1 where the model has none. */
struct wsp_special_tokens {
	int32_t eot;              /* <|endoftext|> */
	int32_t sot;              /* <|startoftranscript|> */
	int32_t translate;        /* <|translate|> */
	int32_t transcribe;       /* <|transcribe|> */
	int32_t sot_lm;           /* <|startoflm|> */
	int32_t sot_prev;         /* <|startofprev|> */
	int32_t no_speech;        /* <|nospeech|> or <|nocaptions|> */
	int32_t no_timestamps;    /* <|notimestamps|> */
	int32_t timestamp_begin;  /* <|0.00|>; timestamps are timestamp_begin + t / 0.02 s */
	int32_t lang_first;       /* <|en|>, the first language token */
	int n_langs;              /* language tokens lang_first .. lang_first + n_langs - 1 */
};

/**
 * wsp_tokenizer_load - read the tokenizer of the model in directory @dir.
 * @n_vocab: the model's vocabulary size (from its weights), checked against
 * the files; 0 takes the size the files give.
 * Return: 0, -ENOENT, -EINVAL (with @err naming the file and the problem), -ENOMEM.
 */
int wsp_tokenizer_load(const char *dir, int n_vocab, struct wsp_tokenizer **out,
		       char *err, size_t errlen);

/**
 * wsp_tokenizer_from_ggml - the tokenizer of a ggml file from its embedded
 * vocabulary (@count entries of i32 length + raw bytes, @len bytes), with
 * the special tokens whisper.cpp places for @n_vocab. @path names the file
 * in messages.
 * Return: 0, -EINVAL (with @err set), -ENOMEM.
 */
int wsp_tokenizer_from_ggml(const char *path, const unsigned char *buf, size_t len,
			    int32_t count, int n_vocab, struct wsp_tokenizer **out,
			    char *err, size_t errlen);

/** wsp_tokenizer_free - release; NULL is a no-op. */
void wsp_tokenizer_free(struct wsp_tokenizer *t);

/** wsp_tokenizer_special - the model's special tokens. */
const struct wsp_special_tokens *wsp_tokenizer_special(const struct wsp_tokenizer *t);

/** wsp_tokenizer_n_vocab - number of token ids. */
int wsp_tokenizer_n_vocab(const struct wsp_tokenizer *t);

/**
 * wsp_tokenizer_token_bytes - the raw bytes of one token (byte-level BPE
 * undone; special tokens give their text, e.g. "<|en|>").
 * @len: set to the byte count. Return: NULL for an id out of range.
 */
const char *wsp_tokenizer_token_bytes(const struct wsp_tokenizer *t, int32_t id, size_t *len);

/**
 * wsp_tokenizer_decode - UTF-8 text of @n tokens, special tokens and
 * timestamps skipped. Writes at most @cap bytes including the NUL; invalid
 * UTF-8 left by a cut multi-byte character is replaced by U+FFFD.
 * Return: the length the full text needs (excluding the NUL), as snprintf.
 */
size_t wsp_tokenizer_decode(const struct wsp_tokenizer *t, const int32_t *tokens, int n,
			    char *dst, size_t cap);

/**
 * wsp_tokenizer_encode - byte-level BPE encoding of UTF-8 @text (GPT-2
 * pre-tokenization regex, merges by rank). No special tokens are added.
 * Added tokens written in @text ("<|en|>") become their ids, as in Hugging
 * Face tokenizers.
 * Without merges (wsp_tokenizer_encodes_exactly() false) each piece of the
 * pre-tokenizer is matched greedily against the vocabulary instead.
 * Return: the number of tokens (may exceed @cap; only @cap are written), or -ENOMEM.
 */
int wsp_tokenizer_encode(const struct wsp_tokenizer *t, const char *text,
			 int32_t *dst, int cap);

/**
 * wsp_tokenizer_lang_token - the token of language code @code ("en", "de", ...).
 * Return: the id, or -1 when the model has no such language.
 */
int32_t wsp_tokenizer_lang_token(const struct wsp_tokenizer *t, const char *code);

/** wsp_tokenizer_lang_code - the code of language token @id, or NULL. */
const char *wsp_tokenizer_lang_code(const struct wsp_tokenizer *t, int32_t id);

/**
 * wsp_tokenizer_token_id - the id of the token whose text is @text: an added
 * (special) token such as "<|en|>", else a BPE token given as raw bytes.
 * Return: the id, or -1.
 */
int32_t wsp_tokenizer_token_id(const struct wsp_tokenizer *t, const char *text);

/**
 * wsp_tokenizer_is_special - true for the ids decode skips: <|endoftext|>
 * and every id after it (control, language and timestamp tokens).
 */
int wsp_tokenizer_is_special(const struct wsp_tokenizer *t, int32_t id);

/**
 * wsp_tokenizer_encodes_exactly - true when the merges were read
 * (tokenizer.json): wsp_tokenizer_encode() then gives the reference BPE's
 * tokens. Otherwise (vocabulary.json/.txt, a ggml file's vocabulary) it matches
 * the longest known token at each position, as whisper.cpp does without
 * merges: the same text on decoding, often other token ids.
 */
int wsp_tokenizer_encodes_exactly(const struct wsp_tokenizer *t);

/**
 * wsp_tokenizer_source - what was read: "tokenizer.json", "vocabulary.json",
 * "vocabulary.txt" or "ggml vocabulary".
 */
const char *wsp_tokenizer_source(const struct wsp_tokenizer *t);

#ifdef __cplusplus
}
#endif
#endif
