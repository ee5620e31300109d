// SPDX-License-Identifier: MIT
/*
 * whisper/text/tokenizer_ggml.c - a tokenizer vocabulary from the one a
 * whisper.cpp ggml file embeds.
 *
 * The file holds the text tokens' raw bytes only (50256 for English-only
 * models, 50257 for multilingual ones); whisper.cpp places the special
 * tokens by the vocabulary size (whisper_model_load): <|endoftext|> right
 * after the text tokens, <|startoftranscript|> after it, then one token per
 * language (n_vocab - 51765 languages, one fewer for multilingual models),
 * <|translate|>, <|transcribe|>, <|startoflm|>, <|startofprev|>,
 * <|nospeech|>, <|notimestamps|> and the 1501 timestamps. Here they get the
 * texts openai-whisper's tokenizer gives them, so that the tokenizer front
 * (tokenizer.c) finds them by name exactly as with tokenizer.json.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "whisper/text/tokenizer_ggml.h"

/* openai-whisper's LANGUAGES, in token order (yue only in 100-language models). */
static const char *const lang_codes[] = {
	"en", "zh", "de", "es", "ru", "ko", "fr", "ja", "pt", "tr", "pl", "ca", "nl", "ar",
	"sv", "it", "id", "hi", "fi", "vi", "he", "uk", "el", "ms", "cs", "ro", "da", "hu",
	"ta", "no", "th", "ur", "hr", "bg", "lt", "la", "mi", "ml", "cy", "sk", "te", "fa",
	"lv", "bn", "sr", "az", "sl", "kn", "et", "mk", "br", "eu", "is", "hy", "ne", "mn",
	"bs", "kk", "sq", "sw", "gl", "mr", "pa", "si", "km", "sn", "yo", "so", "af", "oc",
	"ka", "be", "tg", "sd", "gu", "am", "yi", "lo", "uz", "fo", "ht", "ps", "tk", "nn",
	"mt", "sa", "lb", "my", "bo", "tl", "mg", "as", "tt", "haw", "ln", "ha", "ba", "jw",
	"su", "yue",
};
#define N_LANG_CODES ((int)(sizeof(lang_codes) / sizeof(lang_codes[0])))

static const char *const controls[] = {
	"<|translate|>", "<|transcribe|>", "<|startoflm|>", "<|startofprev|>", "<|nospeech|>",
	"<|notimestamps|>",
};

static int set_text(struct wsp_tok_vocab *v, int32_t id, const char *s)
{
	return wsp_tok_vocab_set(v, id, s, strlen(s));
}

int wsp_tok_read_ggml_vocab(struct wsp_tok_vocab *v, const char *path, const unsigned char *buf,
			    size_t len, int32_t count, int n_vocab, char *err, size_t errlen)
{
	int multilingual = n_vocab >= 51865;
	int32_t eot = multilingual ? 50257 : 50256;
	int n_langs = n_vocab - 51765 - multilingual;
	int32_t id, next;
	uint8_t *where = NULL;
	size_t at = 0;
	char text[32];
	int ret;

	if (n_vocab < 51864 || n_langs > N_LANG_CODES) {
		snprintf(err, errlen, "%s: n_vocab %d is not a Whisper vocabulary size "
			 "(51864 to %d)", path, n_vocab, 51765 + N_LANG_CODES + 1);
		return -EINVAL;
	}
	if (count < 0 || count > n_vocab) {
		snprintf(err, errlen, "%s: %d embedded tokens for n_vocab %d", path, count, n_vocab);
		return -EINVAL;
	}
	ret = wsp_tok_vocab_alloc(v, n_vocab);
	if (ret)
		return ret;
	where = calloc((size_t)n_vocab, 1);
	if (!where)
		return -ENOMEM;
	/* the text tokens, as the file has them; entries past them would be the
	 * specials, which are named below whatever the file says */
	for (id = 0; id < count; id++) {
		uint32_t l;

		if (len - at < 4) {
			ret = -EINVAL;
			break;
		}
		memcpy(&l, buf + at, 4);
		at += 4;
		if (l > len - at) {
			ret = -EINVAL;
			break;
		}
		if (id < eot) {
			ret = wsp_tok_vocab_set(v, id, buf + at, l);
			if (ret)
				goto out;
			where[id] = WSP_TOK_IN_VOCAB;
		}
		at += l;
	}
	if (ret) {
		snprintf(err, errlen, "%s: embedded vocabulary truncated at token %d", path, id);
		goto out;
	}
	/* ids the file left out below <|endoftext|>: placeholders, as whisper.cpp's */
	for (id = count; id < eot && !ret; id++) {
		snprintf(text, sizeof(text), "[_extra_token_%d]", id);
		ret = set_text(v, id, text);
	}
	if (!ret)
		ret = set_text(v, eot, "<|endoftext|>");
	if (!ret)
		ret = set_text(v, eot + 1, "<|startoftranscript|>");
	next = eot + 2;
	for (int i = 0; i < n_langs && !ret; i++, next++) {
		snprintf(text, sizeof(text), "<|%s|>", lang_codes[i]);
		ret = set_text(v, next, text);
	}
	for (size_t i = 0; i < sizeof(controls) / sizeof(controls[0]) && !ret; i++, next++)
		ret = next < n_vocab ? set_text(v, next, controls[i]) : -EINVAL;
	for (int t = 0; next < n_vocab && !ret; t++, next++) {
		snprintf(text, sizeof(text), "<|%d.%02d|>", t * 2 / 100, t * 2 % 100);
		ret = set_text(v, next, text);
	}
	if (ret) {
		if (ret == -EINVAL)
			snprintf(err, errlen, "%s: n_vocab %d leaves no room for the special tokens",
				 path, n_vocab);
		goto out;
	}
	for (id = eot; id < n_vocab; id++) {
		v->special[id] = 1;
		where[id] = WSP_TOK_IN_ADDED;
	}
	ret = wsp_tok_vocab_index(v, where);
out:
	free(where);
	return ret;
}
