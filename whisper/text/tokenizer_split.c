// SPDX-License-Identifier: MIT
/*
 * whisper/text/tokenizer_split.c - the GPT-2 pre-tokenizer, as the Hugging
 * Face ByteLevel pre-tokenizer (and tiktoken's gpt2 encoding) splits text:
 *
 *   's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
 *
 * run by PCRE2 in UTF and UCP mode, anchored at each piece's start. Two
 * changes keep PCRE2's split the reference's for every code point:
 *   - the reference engines (Oniguruma, Rust regex) read \s as the
 *     White_Space property, PCRE2 also takes U+180E: \s is written out as
 *     \p{White_Space};
 *   - the letters and numbers of Unicode versions newer than PCRE2's tables
 *     (tokenizer_split_unicode.h) are added to \p{L} and \p{N}.
 * Bytes that are not well-formed UTF-8 (PCRE2 refuses them, the reference
 * cannot take them) count as one "other" character each: the regex reads a
 * copy of the text in which each is '!'.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "whisper/text/tokenizer_split.h"
#include "whisper/text/tokenizer_split_unicode.h"
#include "whisper/text/tokenizer_vocab.h"

int wsp_tok_split_init(struct wsp_tok_split *sp, char *err, size_t errlen)
{
	char pattern[4096];
	int code, n;
	PCRE2_SIZE at;

	n = snprintf(pattern, sizeof(pattern),
		     "'s|'t|'re|'ve|'m|'ll|'d"
		     "| ?[\\p{L}%s]+"
		     "| ?[\\p{N}%s]+"
		     "| ?[^\\p{White_Space}\\p{L}\\p{N}%s%s]+"
		     "|\\p{White_Space}+(?!\\P{White_Space})"
		     "|\\p{White_Space}+",
		     split_extra_letters, split_extra_numbers, split_extra_letters,
		     split_extra_numbers);
	if ((size_t)n >= sizeof(pattern)) {
		snprintf(err, errlen, "tokenizer: the split regex is over %zu bytes", sizeof(pattern));
		return -EINVAL;
	}
	sp->code = pcre2_compile((PCRE2_SPTR)pattern, PCRE2_ZERO_TERMINATED,
				 PCRE2_UTF | PCRE2_UCP | PCRE2_ANCHORED, &code, &at, NULL);
	if (!sp->code) {
		char msg[128];

		pcre2_get_error_message(code, (PCRE2_UCHAR *)msg, sizeof(msg));
		snprintf(err, errlen, "tokenizer: PCRE2 %s the split regex at offset %zu: %s",
			 code == PCRE2_ERROR_HEAP_FAILED ? "ran out of memory compiling" : "refuses",
			 (size_t)at, msg);
		return code == PCRE2_ERROR_HEAP_FAILED ? -ENOMEM : -EINVAL;
	}
	/* where JIT is missing or not allowed, pcre2_match() interprets */
	sp->jit = pcre2_jit_compile(sp->code, PCRE2_JIT_COMPLETE) == 0;
	return 0;
}

void wsp_tok_split_free(struct wsp_tok_split *sp)
{
	pcre2_code_free(sp->code);
	sp->code = NULL;
}

int wsp_tok_pieces_start(struct wsp_tok_pieces *p, const struct wsp_tok_split *sp,
			 const char *text, size_t n)
{
	const unsigned char *s = (const unsigned char *)text;
	size_t i = 0, len;

	p->sp = sp;
	p->subject = s;
	p->copy = NULL;
	while (i < n && wsp_tok_utf8(s + i, n - i, &len) >= 0)
		i += len;
	if (i < n) {
		p->copy = malloc(n);
		if (!p->copy)
			return -ENOMEM;
		memcpy(p->copy, s, n);
		for (; i < n; i += len)
			if (wsp_tok_utf8(s + i, n - i, &len) < 0)
				p->copy[i] = '!';
		p->subject = p->copy;
	}
	p->match = pcre2_match_data_create_from_pattern(sp->code, NULL);
	if (!p->match) {
		free(p->copy);
		return -ENOMEM;
	}
	return 0;
}

long wsp_tok_pieces_next(const struct wsp_tok_pieces *p, size_t at, size_t end)
{
	const pcre2_code *code = p->sp->code;
	PCRE2_SIZE *ov;
	int rc = p->sp->jit ? pcre2_jit_match(code, p->subject, end, at, 0, p->match, NULL) :
			      pcre2_match(code, p->subject, end, at, PCRE2_NO_UTF_CHECK, p->match, NULL);

	if (rc == PCRE2_ERROR_JIT_STACKLIMIT)
		rc = pcre2_match(code, p->subject, end, at, PCRE2_NO_UTF_CHECK | PCRE2_NO_JIT,
				 p->match, NULL);
	if (rc == PCRE2_ERROR_NOMEMORY || rc == PCRE2_ERROR_HEAPLIMIT)
		return -ENOMEM;
	if (rc < 0)
		return -E2BIG;     /* a match or depth limit: every character starts a match */
	ov = pcre2_get_ovector_pointer(p->match);
	if (ov[1] <= at)
		return -E2BIG;
	return (long)(ov[1] - at);
}

void wsp_tok_pieces_finish(struct wsp_tok_pieces *p)
{
	pcre2_match_data_free(p->match);
	free(p->copy);
	p->match = NULL;
	p->copy = NULL;
}
