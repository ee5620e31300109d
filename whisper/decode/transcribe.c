// SPDX-License-Identifier: MIT
/*
 * whisper/decode/transcribe.c - the public transcription API: the shared context
 * (model, tokenizer, mel filters, engine tenant, suppression lists) and the
 * entry points that feed a file or a buffer to the long-form loop (seek.c).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/amn_env.h"
#include "sched/npu.h"
#include "whisper/audio/audio.h"
#include "whisper/decode/seek.h"
#include "whisper/decode/seek_vad.h"
#include "whisper/model/model_internal.h"

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
	o->word_timestamps = 0;
	o->prepend_punctuations = WSP_PREPEND_PUNCTUATIONS;
	o->append_punctuations = WSP_APPEND_PUNCTUATIONS;
	o->hallucination_silence_threshold = 0.0f;
	o->vad = NULL;
	wsp_vad_opts_default(&o->vad_opts);
	o->batch = 0;
}

void wsp_context_free(struct wsp_context *c)
{
	if (!c)
		return;
	if (c->base) {
		/* a tenant context owns its engine tenant alone */
		if (c->tenant)
			npu_tenant_close(c->tenant);
		free(c);
		return;
	}
	wsp_rules_release(&c->rules);
	wsp_mel_free(c->mel);
	wsp_tokenizer_free(c->tok);
	if (c->tenant)
		npu_tenant_close(c->tenant);
	wsp_dec_gang_free(c->gang);
	free(c);
}

int wsp_context_new(const struct wsp_model *model, struct npu_engine *engine,
		    enum wsp_precision precision, int threads,
		    struct wsp_context **out, char *err, size_t errlen)
{
	const struct wsp_hparams *hp;
	struct wsp_context *c;
	int ret;

	if (!out || !model || (precision != WSP_INT8 && precision != WSP_FP32)) {
		snprintf(err, errlen, "wsp_context_new: invalid arguments");
		return -EINVAL;
	}
	if (precision == WSP_FP32 && !wsp_model_has_fp32(model)) {
		snprintf(err, errlen, "the model's float weights were dropped "
			 "(wsp_model_drop_fp32): it runs INT8 only");
		return -EINVAL;
	}
	*out = NULL;
	hp = wsp_model_hparams(model);
	c = calloc(1, sizeof(*c));
	if (!c) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	c->model = model;
	c->multilingual = wsp_model_is_multilingual(model);
	c->exec.precision = precision;
	c->exec.threads = threads;
	/* AMN_GANG=0: concurrent transcriptions' decoder steps run apart (comparisons) */
	if (amn_env_bool("AMN_GANG", true)) {
		ret = wsp_dec_gang_new(&c->gang);
		if (ret) {
			snprintf(err, errlen, "out of memory");
			goto fail;
		}
		c->exec.gang = c->gang;
	}
	ret = wsp_tokenizer_load(wsp_model_dir(model), hp->n_vocab, &c->tok, err, errlen);
	if (ret == -ENOENT) {
		const unsigned char *gv;
		size_t gv_len;
		int32_t gv_count;

		/* a ggml file on its own: the vocabulary inside it (exact BPE needs
		 * a tokenizer.json beside it, which wins when it is there) */
		gv = wsp_model_ggml_vocab(model, &gv_len, &gv_count);
		if (gv)
			ret = wsp_tokenizer_from_ggml(wsp_model_dir(model), gv, gv_len, gv_count,
						      hp->n_vocab, &c->tok, err, errlen);
	}
	if (ret)
		goto fail;
	ret = wsp_rules_init(&c->rules, c->tok, hp->n_vocab, wsp_model_config(model), err, errlen);
	if (ret)
		goto fail;
	if (c->rules.sp.timestamp_begin < 0 || c->rules.sp.timestamp_begin >= hp->n_vocab) {
		snprintf(err, errlen, "%s: tokenizer has no timestamp tokens", wsp_model_dir(model));
		ret = -EINVAL;
		goto fail;
	}
	ret = wsp_mel_new(hp->n_mels, &c->mel);
	if (ret) {
		snprintf(err, errlen, "log-mel filters for %d bins: %s", hp->n_mels, strerror(-ret));
		goto fail;
	}
	if (engine) {
		ret = npu_tenant_open(engine, &c->tenant, "whisper", 1);
		if (ret) {
			snprintf(err, errlen, "engine tenant: %s", strerror(-ret));
			goto fail;
		}
		c->exec.tenant = c->tenant;
		c->engine = engine;
	}
	*out = c;
	return 0;
fail:
	wsp_context_free(c);
	return ret;
}

int wsp_context_new_tenant(const struct wsp_context *base, const char *name, unsigned weight,
			   struct wsp_context **out, char *err, size_t errlen)
{
	struct npu_engine *engine;
	struct wsp_context *c;
	int ret;

	if (out)
		*out = NULL;
	if (!out || !base || !name || weight == 0) {
		snprintf(err, errlen, "wsp_context_new_tenant: invalid arguments");
		return -EINVAL;
	}
	/* a tenant of a tenant context shares the same owner: never chain borrowers */
	if (base->base)
		base = base->base;
	c = malloc(sizeof(*c));
	if (!c) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	/* the read-only parts (model, tokenizer, mel filters, rules) and the gang
	 * are shared by reference: the gang is what lets two tenants' decoder
	 * steps run stacked in one matmul */
	*c = *base;
	c->base = base;
	c->tenant = NULL;
	c->exec.tenant = NULL;
	engine = base->engine;
	if (engine) {
		ret = npu_tenant_open(engine, &c->tenant, name, weight);
		if (ret) {
			snprintf(err, errlen, "engine tenant %s: %s", name, strerror(-ret));
			free(c);
			return ret;
		}
		c->exec.tenant = c->tenant;
	}
	*out = c;
	return 0;
}

int wsp_context_has_language(const struct wsp_context *c, const char *code)
{
	if (!c || !c->tok || !code)
		return 0;
	if (!c->multilingual)
		return !strcmp(code, "en");
	return wsp_tokenizer_lang_token(c->tok, code) >= 0;
}

struct pcm_src {
	const float *s;
	size_t n, pos;
};

static long pcm_read(void *arg, float *dst, size_t max, char *err, size_t errlen)
{
	struct pcm_src *p = arg;
	size_t k = p->n - p->pos < max ? p->n - p->pos : max;

	memcpy(dst, p->s + p->pos, k * sizeof(float));
	p->pos += k;
	return (long)k;
}

static int pcm_rewind(void *arg, char *err, size_t errlen)
{
	((struct pcm_src *)arg)->pos = 0;
	return 0;
}

static int check_args(struct wsp_context *c, const struct wsp_transcribe_opts *o,
		      struct wsp_result *res, char *err, size_t errlen)
{
	if (!c || !res) {
		snprintf(err, errlen, "wsp_transcribe: no context or result");
		return -EINVAL;
	}
	memset(res, 0, sizeof(*res));
	if (o && (o->beam_size > 256 || o->best_of > 256 || o->n_temperatures < 0 ||
		  (o->temperatures && o->n_temperatures == 0))) {
		snprintf(err, errlen, "wsp_transcribe: beam_size/best_of above 256 or empty temperature list");
		return -EINVAL;
	}
	if (o && o->batch < 0) {
		snprintf(err, errlen, "wsp_transcribe: batch %d: must be 0 or more "
			 "(0, 1: sequential; N > 1: N windows at once)", o->batch);
		return -EINVAL;
	}
	return 0;
}

int wsp_transcribe_pcm(struct wsp_context *c, const float *samples, size_t n,
		       const struct wsp_transcribe_opts *o, struct wsp_result *res,
		       char *err, size_t errlen)
{
	struct wsp_transcribe_opts def;
	struct pcm_src p = { samples, n, 0 };
	struct wsp_source src = { pcm_read, pcm_rewind, &p, (double)n / WSP_SAMPLE_RATE };
	int ret = check_args(c, o, res, err, errlen);

	if (ret)
		return ret;
	if (!samples && n) {
		snprintf(err, errlen, "wsp_transcribe_pcm: no samples");
		return -EINVAL;
	}
	if (!o) {
		wsp_transcribe_opts_default(&def);
		o = &def;
	}
	if (err && errlen)
		err[0] = 0;
	if (o->vad)
		return wsp_seek_vad_run(c, &src, o, res, err, errlen);
	return wsp_seek_run(c, &src, o, res, err, errlen);
}

struct file_src {
	const char *path;
	struct wsp_audio_stream *s;
};

static long file_read(void *arg, float *dst, size_t max, char *err, size_t errlen)
{
	return wsp_audio_read(((struct file_src *)arg)->s, dst, max, err, errlen);
}

static int file_rewind(void *arg, char *err, size_t errlen)
{
	struct file_src *f = arg;

	wsp_audio_close(f->s);
	f->s = NULL;
	return wsp_audio_open(f->path, &f->s, err, errlen);
}

int wsp_transcribe_file(struct wsp_context *c, const char *path,
			const struct wsp_transcribe_opts *o, struct wsp_result *res,
			char *err, size_t errlen)
{
	struct wsp_transcribe_opts def;
	struct file_src f = { path, NULL };
	struct wsp_source src;
	int ret = check_args(c, o, res, err, errlen);

	if (ret)
		return ret;
	if (!o) {
		wsp_transcribe_opts_default(&def);
		o = &def;
	}
	ret = wsp_audio_open(path, &f.s, err, errlen);
	if (ret)
		return ret;
	src.read = file_read;
	src.rewind = file_rewind;
	src.arg = &f;
	src.total_s = wsp_audio_duration(f.s);
	if (err && errlen)
		err[0] = 0;
	if (o->vad)
		ret = wsp_seek_vad_run(c, &src, o, res, err, errlen);
	else
		ret = wsp_seek_run(c, &src, o, res, err, errlen);
	wsp_audio_close(f.s);
	return ret;
}
