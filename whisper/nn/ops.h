/* SPDX-License-Identifier: MIT */
/*
 * whisper/nn/ops.h - the non-matmul operations of the forward pass (layer norm,
 * GELU, softmax, adds), the one linear-layer entry point both precisions go
 * through, and a small fork-join helper for row-parallel loops. Not installed.
 */
#ifndef AMN_WSP_OPS_H
#define AMN_WSP_OPS_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "whisper/nn/forward.h"
#include "whisper/model/model_internal.h"

/**
 * nn_layer_norm - y = (x - mean) / sqrt(var + 1e-5) * g + b over each of
 * @rows rows of @d floats. @y may equal @x. Leading dimensions are @d.
 */
void nn_layer_norm(float *y, const float *x, const float *g, const float *b,
		    int rows, int d);

/** nn_gelu - x = x * 0.5 * (1 + erf(x / sqrt 2)) on @n floats, in place. */
void nn_gelu(float *x, size_t n);

/**
 * nn_softmax_rows - softmax of each row of an @rows × @cols matrix (leading
 * dimension @ld) after multiplying by @scale. Row r only keeps its first
 * @keep0 + r columns when @causal is set (the rest become 0).
 */
void nn_softmax_rows(float *s, int rows, int cols, size_t ld, float scale,
		      int causal, int keep0);

/**
 * nn_im2col_k3 - rows [@r0, @r1) of the im2col matrix of a kernel-3, pad-1
 * convolution over time with stride @stride: row t, column c·3 + j holds
 * src(c, stride·t + j - 1), or 0 outside [0, @t_in). @src is read through
 * (@chan_stride, @time_stride) so both the mel layout (bin major) and
 * time-major activations fit. @col has @n_chan·3 columns.
 */
void nn_im2col_k3(float *col, const float *src, int n_chan, int t_in, int stride,
		   size_t chan_stride, size_t time_stride, int r0, int r1);

/** nn_add - y[i] += x[i] for @n floats. */
void nn_add(float *y, const float *x, size_t n);

/**
 * nn_expf - a vectorizable expf (inline, no libm call, no SSE4.1 rounding),
 * relative error about 2e-7 on [-87, 88]; inputs outside are clamped.
 */
static inline float nn_expf(float x)
{
	/* exp(x) = 2^n · exp(r), r = x - n·ln2 in [-ln2/2, ln2/2] */
	const float round_magic = 12582912.0f;   /* 1.5 · 2^23 */
	float n, r, p, scale;
	int32_t bits;

	x = x < -87.0f ? -87.0f : x;
	x = x > 88.0f ? 88.0f : x;
	n = (x * 1.44269504088896341f + round_magic) - round_magic;
	r = x - n * 0.693145751953125f;
	r = r - n * 1.428606765330187e-06f;
	p = 1.0f / 5040.0f;
	p = p * r + 1.0f / 720.0f;
	p = p * r + 1.0f / 120.0f;
	p = p * r + 1.0f / 24.0f;
	p = p * r + 1.0f / 6.0f;
	p = p * r + 0.5f;
	p = p * r + 1.0f;
	p = p * r + 1.0f;
	bits = ((int32_t)n + 127) << 23;
	memcpy(&scale, &bits, sizeof(scale));
	return p * scale;
}

/**
 * wsp_linear - y[M × l->out] = x[M × l->in] · Wᵀ + b, the one place every
 * linear or convolution matmul of the forward pass goes through.
 * WSP_INT8 runs INT8 tile jobs (through @x->tenant when set, else the tiler
 * directly), plus a second INT8 matmul on the input's rounding residual for
 * layers packed with act_resid; WSP_FP32 runs an fp32 GEMM.
 * @ldx, @ldy: leading dimensions in floats.
 * Return: 0 or -errno.
 */
int wsp_linear(const struct wsp_exec *x, const struct wsp_lin *l, const float *in,
	       int M, size_t ldx, float *y, size_t ldy);

/* One slice of a row-parallel loop: rows [r0, r1). */
typedef void (*nn_rows_fn)(void *ctx, int r0, int r1);

/**
 * nn_parallel_rows - run @fn over @rows rows split across @threads threads
 * (the caller is one of them; at most 8, the threads it starts for the
 * call). Falls back to one thread if a thread cannot be started.
 */
void nn_parallel_rows(int rows, int threads, nn_rows_fn fn, void *ctx);

/**
 * wsp_exec_threads - the CPU threads of @x: @x->threads, else the library's
 * default ($AMN_THREADS, else the CPUs this process may use).
 * Return: at least 1.
 */
int wsp_exec_threads(const struct wsp_exec *x);

/* One multi-head attention over already projected queries, keys and values. */
struct nn_attn {
	const float *q; size_t ldq;   /* n_q × n_head·hd */
	const float *k; size_t ldk;   /* n_kv × n_head·hd (unused when kt is set) */
	const float *v; size_t ldv;   /* n_kv × n_head·hd */
	float *out; size_t ldo;       /* n_q × n_head·hd */
	/*
	 * Optional keys already transposed: head h is the hd × n_kv matrix at
	 * kt + h·hd·ldkt (row k holds channel k of every key), ldkt >= n_kv.
	 */
	const float *kt; size_t ldkt;
	/*
	 * kt in strips of 64 keys (fp32 only): head h's block at kt + h·hd·ldkt
	 * holds keys 64t .. 64t+63 as hd × 64 contiguous floats at t·64·hd, so
	 * key j, channel c is at (j / 64)·64·hd + c·64 + j % 64, and a block
	 * reads its keys in address order; ldkt a multiple of 64
	 * (nn_attn_ld_strips()). 0: plain transposed rows.
	 */
	int kt_strips;
	/*
	 * Floats from head h's values to head h+1's: 0 means hd (the heads side
	 * by side in each row of ldv floats); n_kv·hd with ldv = hd keeps each
	 * head's values contiguous (read in address order).
	 */
	size_t v_head;
	/*
	 * Keys and values of positions below kv_split (a multiple of 64; 0:
	 * none) come from kt_lo and v_lo instead, laid out as kt and v (same
	 * ldkt, kt_strips, ldv, v_head): the prompt every beam shares, stored
	 * once (decoder.c). fp32 only.
	 */
	const float *kt_lo, *v_lo;
	int kv_split;
	/*
	 * Compact keys and values instead of kt and v (both unused then):
	 * kt_i16, keys as int16 in the strip layout (kt_strips 1, ldkt), key
	 * channel c of head h worth kt_i16 · k_scale[h·hd + c]; v_f16, values
	 * as IEEE half floats laid out as v (ldv, v_head). Widened to fp32 as
	 * they are read; all arithmetic is fp32. Half the bytes of fp32: the
	 * decoder keeps its cross-attention keys and values so on the INT8
	 * path (wsp_attn_use_compact_kv()). Keys get int16 rather than half
	 * floats because scores are exponentiated: 11 bits of key mantissa
	 * flipped near-tied greedy tokens, 15 bits per channel do not.
	 * AVX-512 only (nn_have_avx512()), hd = 64, no kv_split, not bf16.
	 */
	const int16_t *kt_i16;
	const float *k_scale;
	const uint16_t *v_f16;
	int n_q, n_kv, n_head, hd;
	int causal;                   /* query i sees keys 0 .. n_kv - n_q + i */
	int bf16;                     /* products in bf16 (wsp_attn_use_bf16()); kt unused */
};

/* Query rows per attention block (one work item of nn_attention()). */
#define NN_ATTN_QBLOCK 32

/** nn_attn_ld - the leading dimension used for transposed keys: n_kv rounded up to 16. */
static inline size_t nn_attn_ld(int n_kv)
{
	return ((size_t)n_kv + 15) & ~(size_t)15;
}

/** nn_attn_ld_strips - the leading dimension of keys in strips: n_kv rounded up to 64. */
static inline size_t nn_attn_ld_strips(int n_kv)
{
	return ((size_t)n_kv + 63) & ~(size_t)63;
}

/** nn_attn_kt_at - where key @j, channel @c of a head's transposed keys @kt is. */
static inline size_t nn_attn_kt_at(const struct nn_attn *a, size_t ldkt, int c, int j)
{
	if (a->kt_strips)
		return (size_t)(j / 64) * 64 * a->hd + (size_t)c * 64 + (size_t)(j % 64);
	return (size_t)c * ldkt + (size_t)j;
}

/** nn_attn_v - head @h's first value row. */
static inline const float *nn_attn_v(const struct nn_attn *a, int h)
{
	return a->v + (size_t)h * (a->v_head ? a->v_head : (size_t)a->hd);
}

/** nn_attn_v_lo - head @h's first value row below kv_split. */
static inline const float *nn_attn_v_lo(const struct nn_attn *a, int h)
{
	return a->v_lo + (size_t)h * (a->v_head ? a->v_head : (size_t)a->hd);
}

/**
 * nn_attn_transpose_k - write head @h's keys of @a transposed: hd rows of
 * n_kv floats at @kt, leading dimension @ldkt (>= n_kv).
 */
void nn_attn_transpose_k(const struct nn_attn *a, int h, float *kt, size_t ldkt);

/**
 * nn_attn_pack_k_strips - write head @h's keys of @a (a->k, a->ldk) in the
 * strip layout of struct nn_attn.kt_strips at @kt: nn_attn_ld_strips(n_kv)
 * × hd floats; the tail of the last strip is left as it is (never read).
 */
void nn_attn_pack_k_strips(const struct nn_attn *a, int h, float *kt);

/**
 * nn_attn_block - attention of query rows [@q0, @q0 + @nq) of head @h,
 * written to a->out: scores against the transposed keys @kt (this head's
 * hd × n_kv block, leading dimension @ldkt), softmax, values.
 * @s: scratch of @nq × @ldkt floats. Single-threaded; distinct (h, q0)
 * blocks may run concurrently.
 */
void nn_attn_block(const struct nn_attn *a, int h, int q0, int nq,
		    const float *kt, size_t ldkt, float *s);

/**
 * nn_attention - softmax(Q·Kᵀ / sqrt(hd)) · V per head, as (head, query
 * block) items on the tiler's worker pool: in fp32 with keys transposed first
 * unless a->kt is set, or with a->bf16 set, keys and values packed in bf16
 * pairs first and both products in bf16 (fp32 sums and softmax), or with
 * a->kt_i16 set, compact keys and values read as they are (fp32 products).
 * @threads: at most this many threads.
 * Return: 0, -ENOMEM, or -EINVAL for compact keys and values outside their
 * one form (struct nn_attn.kt_i16).
 */
int nn_attention(const struct nn_attn *a, int threads);

/** nn_have_avx512 - 1 when the AVX-512 forms of the ops run on this CPU
 * (AVX-512 F/BW/DQ/VL present and AMN_OPS is not "generic"). */
int nn_have_avx512(void);

/** nn_have_bf16 - 1 when the CPU has AVX512-BF16 (and nn_have_avx512()). */
int nn_have_bf16(void);

/**
 * wsp_attn_use_bf16 - whether attention of head size @hd runs its two
 * products in bf16 (fp32 sums): on the INT8 path, with AVX512-BF16, hd = 64,
 * unless AMN_ATTN=fp32. The fp32 path always keeps fp32 attention.
 */
int wsp_attn_use_bf16(const struct wsp_exec *x, int hd);

/**
 * wsp_attn_use_compact_kv - whether attention of head size @hd keeps its
 * keys and values compact (struct nn_attn.kt_i16): when @x asks for it
 * (wsp_exec.compact_kv), on the INT8 path, with AVX-512, hd = 64, unless
 * AMN_ATTN=fp32. The fp32 path keeps fp32.
 */
int wsp_attn_use_compact_kv(const struct wsp_exec *x, int hd);

/**
 * nn_f32_to_f16 - store @n floats as IEEE half floats, rounded to nearest
 * even (beyond 65504: infinity), with F16C under AVX-512, else portably
 * with the same results.
 */
void nn_f32_to_f16(uint16_t *dst, const float *src, size_t n);

/** nn_f16_to_f32 - widen @n IEEE half floats to floats (exact). */
void nn_f16_to_f32(float *dst, const uint16_t *src, size_t n);

/* AVX-512 forms (whisper/nn/ops_avx512.c); call only when nn_have_avx512(). */
void nn_layer_norm_avx512(float *y, const float *x, const float *g, const float *b,
			   int rows, int d);
void nn_gelu_avx512(float *x, size_t n);
void nn_add_avx512(float *y, const float *x, size_t n);
void nn_f32_to_f16_avx512(uint16_t *dst, const float *src, size_t n);
void nn_f16_to_f32_avx512(float *dst, const uint16_t *src, size_t n);
/* one block of nn_attn_block() on compact keys and values (struct nn_attn.kt_i16) */
void nn_attn_block_compact_avx512(const struct nn_attn *a, int h, int q0, int nq, float *s);
/*
 * bf16 attention (call only when nn_have_bf16(), hd = 64): pack head @h's
 * keys as channel pairs (@kt2: hd/2 rows of @ldkt words) and values as
 * position pairs (@v2: (n_kv + 1)/2 rows of hd words), then blocks as
 * nn_attn_block() with scratch @s of nq × ldkt floats.
 */
void nn_attn_pack_bf16(const struct nn_attn *a, int h, uint32_t *kt2, size_t ldkt,
			uint32_t *v2);
void nn_attn_block_bf16(const struct nn_attn *a, int h, int q0, int nq,
			 const uint32_t *kt2, size_t ldkt, const uint32_t *v2, float *s);
/* hd must be 64 */
void nn_attn_block_avx512(const struct nn_attn *a, int h, int q0, int nq,
			   const float *kt, size_t ldkt, float *s);
#endif
