// SPDX-License-Identifier: MIT
/*
 * fuzz/fuzz_ggml.c - libFuzzer target for the whisper.cpp ggml parser.
 * Any input must either load (and then free cleanly) or fail with a message.
 * Build and run: make fuzz (FUZZ_SECONDS=60 by default).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "whisper/model/model_internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct wsp_model *m = calloc(1, sizeof(*m));
	char err[256];

	if (!m)
		return 0;
	err[0] = '\0';
	if (wsp_load_ggml_mem(m, data, size, "fuzz", err, sizeof(err)) != 0 && err[0] == '\0')
		__builtin_trap();   /* every failure must say why (or be -ENOMEM) */
	wsp_model_free(m);
	return 0;
}
