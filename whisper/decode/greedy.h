/* SPDX-License-Identifier: MIT */
/*
 * whisper/decode/greedy.h - a minimal greedy decoding loop (argmax, no timestamps,
 * no suppression) used to check the forward pass against reference tokens.
 * Full decoding (beams, timestamps, fallbacks) lives in whisper/decode.c.
 */
#ifndef AMN_WSP_GREEDY_H
#define AMN_WSP_GREEDY_H

#include <stdint.h>
#include "whisper/nn/forward.h"

/**
 * wsp_greedy - decode one sequence from encoder output @enc.
 * @prompt, @n_prompt: initial tokens (e.g. <|startoftranscript|><|notimestamps|>).
 * @eot:      the end-of-text token; it stops decoding and is not stored.
 * @out, @max_out: generated tokens (prompt excluded).
 * Return: the number of generated tokens, or -errno.
 */
int wsp_greedy(const struct wsp_model *m, const struct wsp_exec *x, const float *enc,
	       const int32_t *prompt, int n_prompt, int32_t eot,
	       int32_t *out, int max_out);

#endif
