/* SPDX-License-Identifier: MIT */
/*
 * whisper/nn/forward.h - the encoder and decoder forward passes.
 *
 * Matmuls run as INT8 tile jobs through the engine (sched/npu.h) or, on the
 * fp32 path, in float. The decoder keeps a KV cache per sequence: self-attention
 * keys/values grow with each step; cross-attention keys/values are computed
 * once from the encoder output.
 */
#ifndef AMN_WSP_FORWARD_H
#define AMN_WSP_FORWARD_H

#include <stdint.h>
#include "whisper/model.h"

#ifdef __cplusplus
extern "C" {
#endif

struct npu_tenant;

/* How a forward pass runs. */
struct wsp_exec {
	enum wsp_precision precision;
	struct npu_tenant *tenant;  /* INT8 matmuls go through it; NULL: direct tiler calls */
	int threads;                /* CPU threads for non-matmul ops; 0: default */
	struct wsp_dec_gang *gang;  /* decoder steps of concurrent callers run stacked; NULL: alone */
	/*
	 * 1: decoders made with this exec keep their cross-attention keys as
	 * int16 and values as half floats (half the memory and the bytes a
	 * step reads; INT8 path with AVX-512 only, see
	 * wsp_attn_use_compact_kv()). The batched long-form mode sets it, as
	 * it holds N windows' keys and values at once; 0 keeps them fp32.
	 */
	int compact_kv;
};

/**
 * wsp_encode - run the encoder on one 30 s window, as one job graph
 * (sched/graph.h): CPU nodes for the row-wise operations and attention, matmul
 * nodes through @x->tenant on the INT8 path (CPU nodes on the tiler without one).
 * @mel: n_mels × (2 * n_audio_ctx) log-mel frames, row-major (mel bin major).
 * @out: n_audio_ctx × n_audio_state floats.
 * Return: 0 or -errno.
 */
int wsp_encode(const struct wsp_model *m, const struct wsp_exec *x,
	       const float *mel, float *out);

/**
 * wsp_encode_direct - wsp_encode() run step by step (each step over all rows,
 * parallel inside the step) instead of as a job graph. Same arguments, same
 * result; kept as the reference for the graph and for comparisons.
 */
int wsp_encode_direct(const struct wsp_model *m, const struct wsp_exec *x,
		      const float *mel, float *out);

/*
 * An encoder made once and run on many windows: its job graph and buffers
 * are built by wsp_encoder_new() and reused by every wsp_encoder_run(), so a
 * window costs no allocation and no graph construction. wsp_encode() is
 * new + run + free. One run at a time per encoder; make one per thread (or
 * per transcription) to encode concurrently.
 */
struct wsp_encoder;

/** wsp_encoder_new - build the encoder graph for @m and @x (copied). Return: 0 or -errno. */
int wsp_encoder_new(const struct wsp_model *m, const struct wsp_exec *x,
		    struct wsp_encoder **out);

/** wsp_encoder_run - encode one window, as wsp_encode(). Return: 0 or -errno. */
int wsp_encoder_run(struct wsp_encoder *e, const float *mel, float *out);

/** wsp_encoder_free - release; NULL is a no-op. */
void wsp_encoder_free(struct wsp_encoder *e);

struct wsp_decoder;

/*
 * A decoder gang: decoders made with the same gang in their exec run the
 * steps asked for at the same time (by different threads) as one, each
 * linear layer as one matmul over all their rows, so the weights are read
 * once per round instead of once per stream. A step waits only for the
 * round it joins. The result of a step does not depend on who else is in
 * its round (INT8: per-row activation scales).
 */
struct wsp_dec_gang;

/** wsp_dec_gang_new - an empty gang. Return: 0 or -errno. */
int wsp_dec_gang_new(struct wsp_dec_gang **out);

/** wsp_dec_gang_free - release; no decoder may still be stepping. NULL is a no-op. */
void wsp_dec_gang_free(struct wsp_dec_gang *g);

/** wsp_dec_gang_counters - rounds run so far and the steps they ran. */
void wsp_dec_gang_counters(struct wsp_dec_gang *g, unsigned long *rounds, unsigned long *steps);

/**
 * wsp_decoder_new - a decoder for @n_seq sequences (beams) attending to one
 * encoder output @enc (n_audio_ctx × n_audio_state, copied or projected now).
 */
int wsp_decoder_new(const struct wsp_model *m, const struct wsp_exec *x,
		    const float *enc, int n_seq, struct wsp_decoder **out);

/**
 * wsp_decoder_new_ctx - wsp_decoder_new() whose self-attention caches hold
 * @n_ctx positions (1..n_text_ctx) instead of n_text_ctx: for callers that
 * know their prompt and new tokens stay below it (the batched mode's
 * windows have no previous text), about half the cache memory. A step
 * past @n_ctx positions is -E2BIG.
 */
int wsp_decoder_new_ctx(const struct wsp_model *m, const struct wsp_exec *x,
			const float *enc, int n_seq, int n_ctx, struct wsp_decoder **out);

/**
 * wsp_decoder_step - append @n_tok tokens to every sequence and compute logits.
 * @tokens:      n_seq × n_tok token ids, sequence major.
 * @logits_from: first of the new positions (0..n_tok-1) to return logits for.
 * @logits:      n_seq × (n_tok - logits_from) × n_vocab floats.
 * Return: 0, -E2BIG past n_text_ctx, or -errno.
 */
int wsp_decoder_step(struct wsp_decoder *d, const int32_t *tokens, int n_tok,
		     int logits_from, float *logits);

/**
 * wsp_decoder_step_shared - wsp_decoder_step() for tokens common to every
 * sequence (the prompt): computed on sequence 0 only, then its new self-attention
 * keys/values are copied to the other sequences, as are its logits.
 * @tokens: n_tok token ids (one sequence's).
 * @logits: n_seq × (n_tok - logits_from) × n_vocab floats, every sequence's
 *          rows equal to sequence 0's.
 * Return: as wsp_decoder_step().
 */
int wsp_decoder_step_shared(struct wsp_decoder *d, const int32_t *tokens, int n_tok,
			    int logits_from, float *logits);

/**
 * wsp_decoder_set_encoder - attend to a new encoder output @enc from now on:
 * recomputes the cross-attention keys/values (through @x, which may use more
 * threads than the steps do) and forgets all tokens, as wsp_decoder_reset().
 * Lets one decoder serve every window of a transcription.
 * Return: 0 or -errno (the decoder must then not be stepped before a
 * successful call).
 */
int wsp_decoder_set_encoder(struct wsp_decoder *d, const struct wsp_exec *x, const float *enc);

/** wsp_decoder_reorder - beam search: sequence i takes the cache of @src[i]. No allocation after the first call. */
int wsp_decoder_reorder(struct wsp_decoder *d, const int *src);

/**
 * wsp_decoder_align - a teacher-forced pass for word timing (openai-whisper's
 * find_alignment, CTranslate2's align): feed @n_tok tokens to sequence 0
 * alone, from position 0, keep the cross-attention scores q·k / sqrt(hd)
 * (before the softmax) of the @n_heads (layer, head) pairs @heads, and the
 * logits of the positions from @logits_from on. Forgets every token before
 * and after (as wsp_decoder_reset()), so the other sequences' caches are
 * no longer valid either; the cross-attention keys/values stay.
 * @qk:     n_heads × n_tok × n_audio_ctx floats.
 * @logits: (n_tok - logits_from) × n_vocab floats.
 * Return: 0, -EINVAL (a head out of range), -E2BIG past n_text_ctx, or -errno.
 */
int wsp_decoder_align(struct wsp_decoder *d, const int32_t *tokens, int n_tok,
		      int logits_from, float *logits, const int32_t *heads, int n_heads,
		      float *qk);

/** wsp_decoder_reset - forget all tokens (keeps the cross-attention cache). */
void wsp_decoder_reset(struct wsp_decoder *d);

/** wsp_decoder_free - release; NULL is a no-op. */
void wsp_decoder_free(struct wsp_decoder *d);

#ifdef __cplusplus
}
#endif
#endif
