/* SPDX-License-Identifier: MIT */
/*
 * whisper/nn/decoder_internal.h - the decoder state shared by the decoder
 * (decoder.c: KV cache and the step graph) and the decoder gang
 * (decoder_gang.c: concurrent streams' steps run as one). Internal.
 */
#ifndef AMN_WSP_DECODER_INTERNAL_H
#define AMN_WSP_DECODER_INTERNAL_H

#include <pthread.h>

#include "whisper/nn/forward.h"

struct dec_node;


struct wsp_decoder {
	const struct wsp_model *m;
	struct wsp_exec xl;       /* the caller's, on one thread (see wsp_decoder_new()) */
	int threads;              /* the caller's threads, for the attention items (decoder.c) */
	int n_seq, n_past;
	int n_ctx;                /* positions the self-attention caches hold (<= n_text_ctx) */
	int n_run;                /* sequences the current step computes (1 or n_seq) */
	int same;                 /* every sequence's cache is sequence 0's (shared steps only) */
	/*
	 * Positions [0, n_shared) of every sequence's self-attention cache are
	 * the same (the prompt of wsp_decoder_step_shared()), and those below
	 * kv_split_of(n_shared) (whole strips of 64) are kept in sequence 0's
	 * cache only: the other sequences read them there (struct
	 * nn_attn.kv_split) and nothing copies or reorders them.
	 */
	int n_shared;
	struct wsp_dec_gang *gang; /* from the caller's exec; NULL: steps run alone */
	float **kself, **vself;   /* per layer and sequence: keys, n_head × hd × ldk in strips of 64
				     positions (struct nn_attn.kt_strips); values, n_head ×
				     n_text_ctx × hd (see decoder.c, kv_copy_k()) */
	float **cross_v;          /* per layer: n_head × n_audio_ctx × hd, each head's values contiguous */
	float **cross_kt;         /* per layer: n_head × hd × ldc, the cross keys in strips of 64
				     (struct nn_attn.kt_strips) */
	/*
	 * cross_compact: the cross keys and values are kept compact instead
	 * (struct nn_attn.kt_i16): cross_k16, int16 keys in the layout of
	 * cross_kt, with per (head, channel) scales in cross_kscale (n_head ×
	 * hd); cross_v16, half-float values in the layout of cross_v. cross_kt
	 * and cross_v are NULL then. The INT8 path's choice
	 * (wsp_attn_use_compact_kv()): every step reads all of them from memory.
	 */
	int cross_compact;
	int16_t **cross_k16;
	float **cross_kscale;
	uint16_t **cross_v16;
	size_t ldk, ldc;          /* nn_attn_ld_strips() of n_text_ctx and n_audio_ctx */
	/* the step graph and its nodes; the current step's arguments */
	struct npu_graph *graph;
	struct dec_node *nodes;
	const int32_t *tokens;
	int n_tok, logits_from;
	float *logits;
	/* step scratch, grown on demand */
	int cap_rows;
	float *xs, *h, *qkv, *att, *ffn;
	float *reorder_tmp;       /* wsp_decoder_reorder(): n_seq × n_ctx × d, made on first use */
	/* membership of a gang round (see struct wsp_dec_gang) */
	struct wsp_decoder *gang_next;
	int gang_done, gang_ret;
	/* wsp_decoder_align(): the heads whose cross-attention scores are kept */
	const int32_t *align_heads;   /* (layer, head) pairs; NULL: none kept */
	int n_align;
	float *align_qk;              /* n_align × n_tok × n_audio_ctx */
};

/*
 * Steps of concurrent transcriptions run as one: a thread that asks for a
 * step queues its decoder; when no round is running it becomes the leader,
 * takes every queued decoder and runs their steps side by side, operation
 * by operation, with each linear layer as ONE matmul over all their rows
 * stacked (weights read once for all streams, not once per stream). Steps
 * asked for during a round wait for the next one (flat combining).
 */
struct wsp_dec_gang {
	pthread_mutex_t lock;
	pthread_cond_t cv;
	struct wsp_decoder *pending;  /* queued for the next round */
	int busy;                     /* a round is running */
	/* the leader's stacked rows and per-decoder work items, grown on demand */
	float *in, *out;
	size_t in_cap, out_cap;
	struct dec_node *nodes;
	int nodes_cap;
	/* counters: rounds and steps, for tests and tools */
	unsigned long rounds, steps;
};


/* The operations of one decoder step, in graph order (see decoder.c). */
enum dec_op {
	D_EMBED, D_LN_SELF, D_QKV, D_SELF, D_SELF_OUT, D_ADD_LN_CROSS, D_CROSS_Q, D_CROSS,
	D_CROSS_OUT, D_ADD_LN_FFN, D_FC1, D_GELU, D_FC2, D_ADD, D_LN_OUT, D_VOCAB,
};

struct dec_node {
	struct wsp_decoder *d;
	enum dec_op op;
	int l, s;       /* layer, sequence (D_SELF) */
};

/** wsp_dec_node_run - run one operation of @arg (a struct dec_node) for its decoder. */
int wsp_dec_node_run(void *arg);

/** wsp_dec_embed - token plus position embeddings of the current step into d->xs. */
void wsp_dec_embed(struct wsp_decoder *d);

/**
 * wsp_dec_logits_out - final layer norm of the rows that want logits (@vocab 0),
 * or their vocabulary projection into d->logits (@vocab 1).
 * Return: 0 or -errno.
 */
int wsp_dec_logits_out(struct wsp_decoder *d, int vocab);

/**
 * wsp_dec_gang_step - queue @d's current step on gang @g and return when a
 * round (led by this thread or another) has run it.
 * Return: the step's result, 0 or -errno.
 */
int wsp_dec_gang_step(struct wsp_dec_gang *g, struct wsp_decoder *d);

#endif
