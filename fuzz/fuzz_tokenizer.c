// SPDX-License-Identifier: MIT
/*
 * fuzz/fuzz_tokenizer.c - libFuzzer target for the tokenizer: the first byte
 * picks what the rest is: a tokenizer.json, a vocabulary.txt, or text to
 * encode and ids to decode with a tokenizer loaded from the seed
 * fuzz/seeds/tokenizer.json. Any input must load (then encode and
 * decode) or fail with a message.
 *
 * `make fuzz` links FUZZ_LIBSRCS, which lists the model loaders only, so the
 * tokenizer's sources are included here rather than listed there.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "whisper/text/tokenizer.c"
#include "whisper/text/tokenizer_bpe.c"
#include "whisper/text/tokenizer_ggml.c"
#include "whisper/text/tokenizer_json.c"
#include "whisper/text/tokenizer_split.c"
#include "whisper/text/tokenizer_vocab.c"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct wsp_tokenizer *seed_tokenizer(void)
{
	static struct wsp_tokenizer *t;
	static int tried;
	char err[256];

	if (!tried) {
		tried = 1;
		if (wsp_tokenizer_load("fuzz/seeds", 0, &t, err, sizeof(err)) != 0)
			t = NULL;
	}
	return t;
}

static void exercise(const struct wsp_tokenizer *t, const uint8_t *data, size_t size)
{
	char *text = malloc(size + 1), out[512];
	int32_t ids[256];
	int n;

	if (!text)
		return;
	memcpy(text, data, size);
	text[size] = '\0';
	n = wsp_tokenizer_encode(t, text, ids, 256);
	if (n < 0 && n != -ENOTSUP && n != -ENOMEM)
		__builtin_trap();
	if (n > 0)
		wsp_tokenizer_decode(t, ids, n < 256 ? n : 256, out, sizeof(out));
	/* the same bytes as ids */
	n = (int)(size / 4 < 256 ? size / 4 : 256);
	memcpy(ids, data, (size_t)n * 4);
	wsp_tokenizer_decode(t, ids, n, out, sizeof(out));
	wsp_tokenizer_decode(t, ids, n, out, 3);
	free(text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct wsp_tokenizer *t = NULL;
	char err[256];
	int ret, mode;

	if (size < 1)
		return 0;
	mode = data[0] % 3;
	data++;
	size--;
	if (mode == 2) {
		if (seed_tokenizer())
			exercise(seed_tokenizer(), data, size);
		return 0;
	}
	err[0] = '\0';
	ret = wsp_tok_load_buf(&t, "fuzz", (const char *)data, size, mode == 0, 0, err,
			       sizeof(err));
	if (ret != 0 && err[0] == '\0')
		__builtin_trap();   /* every failure must say why */
	if (ret == 0) {
		exercise(t, data, size);
		wsp_tokenizer_free(t);
	}
	return 0;
}
