// SPDX-License-Identifier: MIT
/*
 * whisper/decode/result.c - releasing what a transcription produced
 * (struct wsp_result, whisper/transcribe.h). Apart from transcribe.c so that
 * the long-form loop (seek.c), which fills results, depends on it alone.
 */
#include <stdlib.h>

#include "whisper/transcribe.h"

void wsp_result_free(struct wsp_result *res)
{
	if (!res)
		return;
	for (int i = 0; i < res->n_segments; i++) {
		free(res->segments[i].text);
		free(res->segments[i].tokens);
		for (int w = 0; w < res->segments[i].n_words; w++)
			free(res->segments[i].words[w].word);
		free(res->segments[i].words);
	}
	free(res->segments);
	res->segments = NULL;
	res->n_segments = 0;
}
