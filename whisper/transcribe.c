// SPDX-License-Identifier: MIT
/*
 * whisper/transcribe.c - the public transcription API: the shared context
 * (model, tokenizer, mel filters, engine tenant, suppression lists) and the
 * entry points that run a file or a buffer through the long-form loop.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "whisper/transcribe.h"

void wsp_transcribe_opts_default(struct wsp_transcribe_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->language = NULL;
	o->task = WSP_TASK_TRANSCRIBE;
	o->beam_size = 5;
	o->best_of = 5;
	o->patience = 1.0f;
	o->length_penalty = -1.0f;
	o->temperatures = NULL;
	o->n_temperatures = 0;
	o->compression_ratio_threshold = 2.4f;
	o->logprob_threshold = -1.0f;
	o->no_speech_threshold = 0.6f;
	o->condition_on_previous_text = 1;
	o->initial_prompt = NULL;
	o->without_timestamps = 0;
	o->suppress_blank = 1;
	o->seed = 0;
}

int wsp_context_new(const struct wsp_model *model, struct npu_engine *engine,
		    enum wsp_precision precision, int threads,
		    struct wsp_context **out, char *err, size_t errlen)
{
	snprintf(err, errlen, "wsp_context_new: not implemented yet");
	*out = NULL;
	return -ENOSYS;
}

void wsp_context_free(struct wsp_context *c)
{
}

const struct wsp_tokenizer *wsp_context_tokenizer(const struct wsp_context *c)
{
	return NULL;
}

int wsp_transcribe_pcm(struct wsp_context *c, const float *samples, size_t n,
		       const struct wsp_transcribe_opts *o, struct wsp_result *res,
		       char *err, size_t errlen)
{
	snprintf(err, errlen, "wsp_transcribe_pcm: not implemented yet");
	return -ENOSYS;
}

int wsp_transcribe_file(struct wsp_context *c, const char *path,
			const struct wsp_transcribe_opts *o, struct wsp_result *res,
			char *err, size_t errlen)
{
	snprintf(err, errlen, "wsp_transcribe_file: not implemented yet");
	return -ENOSYS;
}

void wsp_result_free(struct wsp_result *res)
{
	if (!res)
		return;
	for (int i = 0; i < res->n_segments; i++) {
		free(res->segments[i].text);
		free(res->segments[i].tokens);
	}
	free(res->segments);
	res->segments = NULL;
	res->n_segments = 0;
}
