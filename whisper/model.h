/* SPDX-License-Identifier: MIT */
/*
 * whisper/model.h - one in-memory Whisper model, loaded from CTranslate2
 * directories, whisper.cpp ggml files or Hugging Face safetensors.
 * Every dimension comes from the file.
 */
#ifndef AMN_WSP_MODEL_H
#define AMN_WSP_MODEL_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Everything declared here is the library's API: exported from libamanuensis.so. */
#pragma GCC visibility push(default)

struct wsp_hparams {
	int n_vocab;
	int n_mels;
	int n_audio_ctx;    /* 1500 */
	int n_audio_state;  /* d_model of the encoder */
	int n_audio_head;
	int n_audio_layer;
	int n_text_ctx;     /* 448 */
	int n_text_state;
	int n_text_head;
	int n_text_layer;
};

enum wsp_precision {
	WSP_INT8 = 0,  /* matmuls as INT8 tile jobs (default) */
	WSP_FP32 = 1,  /* float reference path */
};

struct wsp_model;

/**
 * wsp_model_load - load a model from @path (a CTranslate2 directory, a ggml
 * .bin file or a safetensors directory; the format is detected), with the
 * config.json and preprocessor_config.json beside it when they exist.
 * @err, @errlen: on failure, a message naming the file and what is wrong.
 * Return: 0, -ENOENT, -EINVAL (corrupt or unsupported), -ENOMEM.
 */
int wsp_model_load(struct wsp_model **out, const char *path, char *err, size_t errlen);

/**
 * wsp_model_load_int8 - load a model for WSP_INT8 contexts only: the model
 * wsp_model_load() and wsp_model_drop_fp32() give, bit for bit, without
 * ever holding it as floats. Each linear weight goes from the (mapped) file
 * into its INT8 packing a slab of rows at a time, and the file's pages
 * leave the resident set once read; the peak is the packed model plus a
 * megabyte. Arguments and returns as wsp_model_load().
 */
int wsp_model_load_int8(struct wsp_model **out, const char *path, char *err, size_t errlen);

/**
 * wsp_model_drop_fp32 - free the float copy of every linear layer that has
 * its INT8 packing, which the WSP_INT8 path never reads; the token
 * embedding's rows (the decoder's input) are kept, as half floats when that
 * is exact. tiny.en holds 82 MB instead of 187 MB, base 131 MB instead of
 * 358 MB, and the INT8 results do not change. Afterwards the model serves WSP_INT8 contexts
 * only; wsp_context_new() with WSP_FP32 fails with -EINVAL and says why.
 * Call it before creating contexts; not while one runs.
 * Return: 0, or -EINVAL for NULL.
 */
int wsp_model_drop_fp32(struct wsp_model *m);

/** wsp_model_has_fp32 - 1 while the float path can run on @m, else 0. */
int wsp_model_has_fp32(const struct wsp_model *m);

/** wsp_model_free - release a model; NULL is a no-op. */
void wsp_model_free(struct wsp_model *m);

/** wsp_model_hparams - the model's dimensions. */
const struct wsp_hparams *wsp_model_hparams(const struct wsp_model *m);

/** wsp_model_dir - the directory holding the model's side files (tokenizer, config). */
const char *wsp_model_dir(const struct wsp_model *m);

/**
 * wsp_model_weights_file - the file @m's weights were read from: the path
 * given for a file; for a directory, its model.bin (CTranslate2), or its
 * model.safetensors (Hugging Face) when there is no model.bin.
 * @unused: if not NULL, set to the other weights file of that directory
 * that was not read (model.safetensors beside a model.bin), or NULL.
 */
const char *wsp_model_weights_file(const struct wsp_model *m, const char **unused);

/** wsp_model_is_multilingual - true when n_vocab >= 51865. */
int wsp_model_is_multilingual(const struct wsp_model *m);

#pragma GCC visibility pop

#ifdef __cplusplus
}
#endif
#endif
