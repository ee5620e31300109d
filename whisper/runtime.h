/* SPDX-License-Identifier: MIT */
/*
 * whisper/runtime.h - everything a program needs to transcribe, opened in
 * one call and closed in one: the model (found, loaded, its float copies
 * dropped for INT8), the NPU engine with its backend, and one shared
 * decoding context on a tenant of that engine.
 *
 * The CLI (tools/amanuensis), the server and the queue worker all start
 * here, so that none of them copies the setup. A runtime's context may be
 * used by many threads at once (wsp_transcribe_*(), whisper/transcribe.h).
 */
#ifndef AMN_WSP_RUNTIME_H
#define AMN_WSP_RUNTIME_H

#include <stddef.h>

#include "whisper/model.h"
#include "whisper/transcribe.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Everything declared here is the library's API: exported from libamanuensis.so. */
#pragma GCC visibility push(default)

struct npu_engine;
struct wsp_runtime;

/** What to open; wsp_runtime_opts_default() fills the defaults. */
struct wsp_runtime_opts {
	const char *model;            /* path; NULL: wsp_runtime_find_model() */
	const char *backend;          /* "auto", "cpu", "emu", "npu" ("xrt"); NULL: $NPU_BACKEND, else auto */
	int threads;                  /* 0: the library's default (AMN_THREADS, else online CPUs) */
	enum wsp_precision precision; /* WSP_INT8 (default) or WSP_FP32 */
	int keep_fp32;                /* WSP_INT8 only: keep the float weights (default 0: drop them) */
};

/** Which step of wsp_runtime_open() failed. */
enum wsp_runtime_stage {
	WSP_RUNTIME_OK = 0,
	WSP_RUNTIME_FIND,             /* no model given and none found */
	WSP_RUNTIME_MODEL,            /* the model could not be read or is not a Whisper model */
	WSP_RUNTIME_ENGINE,           /* the engine or its backend did not start */
	WSP_RUNTIME_CONTEXT,          /* tokenizer, suppression lists or mel filters */
};

/** Why wsp_runtime_open() failed: the step, -errno, and a sentence for people. */
struct wsp_runtime_error {
	enum wsp_runtime_stage stage;
	int code;                     /* negative errno */
	char message[1024];           /* e.g. "cannot load model PATH: REASON" */
};

/** wsp_runtime_opts_default - fill @o with the defaults (auto backend, INT8). */
void wsp_runtime_opts_default(struct wsp_runtime_opts *o);

/**
 * wsp_runtime_find_model - the model to load. @given is a path (anything
 * with a '/' or that exists as named) taken as it is, or a model name
 * ("tiny.en", "base") looked up as NAME, ggml-NAME.bin or NAME.bin in each
 * folder of wsp_runtime_model_dirs(), first found wins. @given NULL:
 * $AMANUENSIS_MODEL if set, else the name "tiny.en".
 * Return: 0 with the path in @out (@cap bytes); -ENOENT with @err naming
 * every folder searched.
 */
int wsp_runtime_find_model(const char *given, char *out, size_t cap, char *err, size_t errlen);

/**
 * wsp_runtime_model_dirs - the folders model names are looked up in, in
 * order, ':'-separated into @out (@cap bytes; folders that do not fit are
 * left out): each of $AMANUENSIS_MODELS, <executable's folder>/../models
 * (a build tree's models/), ./models, and <executable's
 * folder>/../share/amanuensis/models (an installed program's
 * <prefix>/share/amanuensis/models, filled by `make install-models`).
 * Folders are listed whether or not they exist.
 * Return: the number of folders, or -EINVAL.
 */
int wsp_runtime_model_dirs(char *out, size_t cap);

/**
 * wsp_runtime_open - find and load the model, start the engine, and make
 * one decoding context on it, as @o says (NULL: defaults).
 * @err: filled on failure (may be NULL).
 * Return: 0 with the runtime in @out, or -errno (then @out is NULL and
 * nothing stays open).
 */
int wsp_runtime_open(struct wsp_runtime **out, const struct wsp_runtime_opts *o,
		     struct wsp_runtime_error *err);

/** wsp_runtime_close - close the context, the engine and the model; NULL is a no-op. */
void wsp_runtime_close(struct wsp_runtime *rt);

/** wsp_runtime_context - the shared decoding context (owned by @rt). */
struct wsp_context *wsp_runtime_context(const struct wsp_runtime *rt);

/** wsp_runtime_model - the loaded model (owned by @rt). */
const struct wsp_model *wsp_runtime_model(const struct wsp_runtime *rt);

/** wsp_runtime_engine - the engine (owned by @rt), e.g. to open more tenants. */
struct npu_engine *wsp_runtime_engine(const struct wsp_runtime *rt);

/** wsp_runtime_model_path - the path the model was loaded from. */
const char *wsp_runtime_model_path(const struct wsp_runtime *rt);

/** wsp_runtime_backend - the engine's backend: "cpu", "emu" or "xrt". */
const char *wsp_runtime_backend(const struct wsp_runtime *rt);

/** wsp_runtime_precision - WSP_INT8 or WSP_FP32, as opened. */
enum wsp_precision wsp_runtime_precision(const struct wsp_runtime *rt);

#pragma GCC visibility pop

#ifdef __cplusplus
}
#endif
#endif
