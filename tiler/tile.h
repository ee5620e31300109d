/* SPDX-License-Identifier: MIT */
/*
 * tiler/tile.h - any M×K×N matmul as INT8 tile jobs.
 *
 * C = A·B where A is M×K (activations, row-major) and B is K×N (weights).
 * B is packed once into the tile layout (struct tile_weights) and reused by
 * every later call; A is quantized per row at call time. Accumulation over K
 * is int32 and exact; fp32 results are dequantized once at the end.
 *
 * Two modes:
 *   int8: A and B are int8, C is the exact int32 product.
 *   fp32: A and B are float, quantized symmetric per K block of 128: B per
 *         output column and block, A per row and block. Each block's int32
 *         sum is exact; C = sum over blocks j of acc_j * sa[m][j] * sb[j][n]
 *         (+ bias[n]).
 *
 * The direct calls here run the jobs on the calling thread plus a worker pool.
 * The scheduler (sched/npu.h) runs the same jobs through its ring instead;
 * the bytes a device run consumes are the batch ABI of tiler/tile_job.h.
 * Errors are negative errno values; nothing here aborts the process.
 */
#ifndef AMN_TILE_H
#define AMN_TILE_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Everything declared here is the library's API: exported from libamanuensis.so. */
#pragma GCC visibility push(default)

/* Source layout flags for tile_weights_pack_*(). */
#define TILE_W_ROW_MAJOR_KN  0u  /* w[k * ldw + n]: a plain K×N matrix */
#define TILE_W_ROW_MAJOR_NK  1u  /* w[n * ldw + k]: a Linear layer's [out, in] weight */

struct tile_weights;

/**
 * tile_weights_pack_f32 - quantize and pack a float weight matrix.
 * @out:   receives the packed weights (free with tile_weights_free()).
 * @w:     source matrix, K×N logically; layout chosen by @flags.
 * @K, @N: logical shape; either may be 0.
 * @ldw:   leading dimension of @w in elements.
 * @flags: TILE_W_ROW_MAJOR_KN or TILE_W_ROW_MAJOR_NK.
 *
 * Each output column n gets one symmetric scale per K block of 128: the
 * max-abs scale of that block or a tighter clip, whichever has the lower
 * squared error.
 * Return: 0, -EINVAL on a bad shape or NULL, -ENOMEM.
 */
int tile_weights_pack_f32(struct tile_weights **out, const float *w,
			  int K, int N, size_t ldw, unsigned flags);

/**
 * tile_weights_alloc_f32 - room for a K×N float matrix packed as
 * tile_weights_pack_f32() packs it, every column 0 until
 * tile_weights_pack_rows_f32() fills it. For loaders that convert a
 * weight slab by slab instead of holding all of it as floats.
 * Return: 0, -EINVAL on a bad shape or NULL, -ENOMEM.
 */
int tile_weights_alloc_f32(struct tile_weights **out, int K, int N);

/**
 * tile_weights_alloc_f32_kb - as tile_weights_alloc_f32(), with one scale
 * per column and K block of @kb instead of 128, for weights whose file
 * already holds INT8 values in finer blocks (ggml's q8_0: a scale per 32).
 * Activations are then quantized per row and block of @kb as well.
 * @kb: a multiple of 4, 4 to 128.
 * Return: 0, -EINVAL on a bad shape, @kb or NULL, -ENOMEM.
 */
int tile_weights_alloc_f32_kb(struct tile_weights **out, int K, int N, int kb);

/**
 * tile_weights_pack_rows_s8_blocks - store columns [@n0, @n0 + @rows) of a
 * float-mode packing from INT8 values that are already quantized in its K
 * blocks, as they are: row i of @q (K values at @q + i * @ldq) is column
 * @n0 + i, and its block j has the scale @scale[i * @lds + j] (value = q *
 * scale). Nothing is rounded, so the packing holds exactly the file's
 * values (tile_weights_column_f32() gives them back).
 * Return: 0, or -EINVAL when the columns are out of range, @ldq < K, @lds
 * is below the number of blocks, a scale is not finite (a negative one is
 * fine: ggml's q4_0 has them), or @w is not a float packing of its own.
 */
int tile_weights_pack_rows_s8_blocks(struct tile_weights *w, int n0, int rows,
				     const int8_t *q, size_t ldq, const float *scale,
				     size_t lds);

/**
 * tile_weights_kblock - the K block length of @w's scales (128 for a float
 * packing by default, K rounded up to 4 for an int8 one); 0 for NULL.
 */
int tile_weights_kblock(const struct tile_weights *w);

/**
 * tile_weights_pack_rows_f32 - quantize and pack columns [@n0, @n0 + @rows)
 * of @w from @rows rows of a [out, in] weight (TILE_W_ROW_MAJOR_NK): row i
 * of @src, K floats at @src + i * @ldw, is column @n0 + i. A column's
 * packing reads that column alone, so packing a matrix slab by slab gives
 * the bytes tile_weights_pack_f32() gives for the whole.
 * Return: 0, or -EINVAL when the columns are out of range, @ldw < K, or @w
 * is not a float packing of its own (tile_weights_alloc_f32()).
 */
int tile_weights_pack_rows_f32(struct tile_weights *w, int n0, int rows, const float *src,
			       size_t ldw);

/**
 * tile_weights_pack_s8 - pack an int8 weight matrix as is (all scales 1).
 * Same arguments and returns as tile_weights_pack_f32().
 */
int tile_weights_pack_s8(struct tile_weights **out, const int8_t *w,
			 int K, int N, size_t ldw, unsigned flags);

/**
 * tile_weights_column_f32 - the values packed weights stand for in logical
 * column @n: @dst[k] = q[k][n] * scale of (k's block, n), K floats. For a
 * Linear weight packed as [out, in] (TILE_W_ROW_MAJOR_NK) that is row @n of
 * the matrix as the INT8 matmul sees it.
 * Return: 0, or -EINVAL when @n is out of range or @w or @dst is NULL.
 */
int tile_weights_column_f32(const struct tile_weights *w, int n, float *dst);

/** tile_weights_free - release packed weights; NULL is a no-op. */
void tile_weights_free(struct tile_weights *w);

/** tile_weights_k - the logical K (rows of the unpacked matrix) of packed weights. */
int tile_weights_k(const struct tile_weights *w);

/** tile_weights_n - the logical N (columns of the unpacked matrix) of packed weights. */
int tile_weights_n(const struct tile_weights *w);

/**
 * tile_weights_id - a number that names @w for the life of the process:
 * packed weights never share it, and a freed set's id is never given to
 * another (backends that keep weights resident key them by it, as an
 * address may be reused). Return: the id, or 0 for NULL.
 */
uint64_t tile_weights_id(const struct tile_weights *w);

/* Options for a direct matmul. Zeroed fields mean "default". */
struct tile_opts {
	int threads;    /* worker threads; 0: $AMN_THREADS, else the CPUs this process may use */
	int tile_edge;  /* 16, 32 or 64; 0: the default edge */
};

/**
 * tile_matmul_s8 - C[M×N] = A[M×K] · B exactly, in int32.
 * @a, @lda: int8 activations, row-major, leading dimension @lda.
 * @w:       packed weights (K must match).
 * @c, @ldc: int32 output, row-major.
 * @opts:    NULL for defaults.
 * Return: 0, or -EINVAL on mismatched shapes.
 */
int tile_matmul_s8(const int8_t *a, int M, int K, size_t lda,
		   const struct tile_weights *w,
		   int32_t *c, size_t ldc, const struct tile_opts *opts);

/**
 * tile_matmul_f32 - C[M×N] = quant(A) · quant(B), dequantized, plus @bias.
 * @bias: N floats added to every row, or NULL.
 * Other arguments as tile_matmul_s8(), with float A and C.
 */
int tile_matmul_f32(const float *a, int M, int K, size_t lda,
		    const struct tile_weights *w, const float *bias,
		    float *c, size_t ldc, const struct tile_opts *opts);

/**
 * tile_quant_residual_f32 - R = A - dequant(quant(A)) with the activation
 * quantization tile_matmul_f32() applies against weights @w (per row and
 * K block of tile_weights_kblock(@w), absmax/127, nearest even).
 * tile_matmul_f32(A) + tile_matmul_f32(R) on @w then carries about 15 bits
 * of A instead of 8 (weights unchanged).
 * @r, @ldr: M × K floats out. Return: 0, -EINVAL (also when @w is NULL or
 * its K is not @K), -ENOMEM.
 */
int tile_quant_residual_f32(const struct tile_weights *w, const float *a, int M, int K,
			    size_t lda, float *r, size_t ldr);

#pragma GCC visibility pop

#ifdef __cplusplus
}
#endif
#endif /* AMN_TILE_H */
