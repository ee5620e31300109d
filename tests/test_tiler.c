/* SPDX-License-Identifier: MIT */
/* tests/test_tiler.c - tiler results against 64-bit and double references. */
#include <criterion/criterion.h>
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "tiler/tile.h"
#include "tests/helpers/test_env.h"

static uint64_t rng = 88172645463325252ull;

static uint32_t next(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (uint32_t)rng;
}

/* Exact int8 check of one shape for one tile edge. */
static void check_s8(int M, int K, int N, int edge)
{
	int8_t *a = malloc((size_t)M * K + 1), *b = malloc((size_t)K * N + 1);
	int32_t *c = malloc(((size_t)M * N + 1) * sizeof(int32_t));
	struct tile_weights *w;
	struct tile_opts o = { .threads = 2, .tile_edge = edge };

	for (size_t i = 0; i < (size_t)M * K; i++)
		a[i] = (int8_t)next();
	for (size_t i = 0; i < (size_t)K * N; i++)
		b[i] = (int8_t)next();
	cr_assert_eq(tile_weights_pack_s8(&w, b, K, N, N ? N : 1, TILE_W_ROW_MAJOR_KN), 0);
	cr_assert_eq(tile_matmul_s8(a, M, K, K ? K : 1, w, c, N ? N : 1, &o), 0);
	for (int m = 0; m < M; m++)
		for (int n = 0; n < N; n++) {
			int64_t ref = 0;

			for (int k = 0; k < K; k++)
				ref += (int64_t)a[(size_t)m * K + k] * b[(size_t)k * N + n];
			cr_assert_eq(c[(size_t)m * N + n], ref, "M%d K%d N%d at %d,%d", M, K, N, m, n);
		}
	tile_weights_free(w);
	free(a);
	free(b);
	free(c);
}

Test(tiler, s8_edge_shapes_exact)
{
	static const int d[] = { 0, 1, 15, 16, 17, 63, 65 };
	static const int edges[] = { 16, 32, 64 };

	for (int i = 0; i < 7; i++)
		for (int j = 0; j < 7; j++)
			for (int k = 0; k < 7; k++)
				check_s8(d[i], d[j], d[k], edges[(i + j + k) % 3]);
}

Test(tiler, s8_random_shapes_exact)
{
	for (int i = 0; i < 200; i++)
		check_s8(1 + next() % 130, 1 + next() % 200, 1 + next() % 300, 16 << (i % 3));
}

/*
 * Every M the few-rows kernels serve (AMN_KERNEL_ROWS=1 on half of them),
 * decoder-like and ragged K (over the kernel's 256-k chunks), ragged N.
 */
Test(tiler, s8_few_rows_exact)
{
	for (int M = 2; M <= 49; M++) {
		if (M & 1)
			setenv("AMN_KERNEL_ROWS", "1", 1);
		check_s8(M, M % 3 ? 384 : 130 + M * 20, M % 2 ? 700 : 131, 16 << (M % 3));
		unsetenv("AMN_KERNEL_ROWS");
	}
}

Test(tiler, s8_big_shape_exact)
{
	if (test_small_scale())
		check_s8(150, 512, 256, 64);
	else
		check_s8(1500, 512, 2048, 64);
}

Test(tiler, edges_give_identical_int32_and_padding_changes_nothing)
{
	int M = 70, K = 77, N = 130;
	int8_t *a = malloc((size_t)M * K), *b = malloc((size_t)K * N);
	int32_t *c[3], *one = malloc((size_t)N * sizeof(int32_t));
	struct tile_weights *w;

	for (int i = 0; i < M * K; i++)
		a[i] = (int8_t)next();
	for (int i = 0; i < K * N; i++)
		b[i] = (int8_t)next();
	cr_assert_eq(tile_weights_pack_s8(&w, b, K, N, N, 0), 0);
	for (int e = 0; e < 3; e++) {
		struct tile_opts o = { .threads = 1 + e, .tile_edge = 16 << e };

		c[e] = malloc((size_t)M * N * sizeof(int32_t));
		cr_assert_eq(tile_matmul_s8(a, M, K, K, w, c[e], N, &o), 0);
	}
	cr_assert_eq(memcmp(c[0], c[1], (size_t)M * N * 4), 0);
	cr_assert_eq(memcmp(c[0], c[2], (size_t)M * N * 4), 0);
	/* row 37 alone gives the bits it had inside the bigger problem */
	cr_assert_eq(tile_matmul_s8(a + 37 * K, 1, K, K, w, one, N, NULL), 0);
	cr_assert_eq(memcmp(one, c[0] + 37 * N, (size_t)N * 4), 0);
	for (int e = 0; e < 3; e++)
		free(c[e]);
	free(one);
	tile_weights_free(w);
	free(a);
	free(b);
}

static float gauss(void)
{
	double u = (next() + 1.0) / 4294967297.0, v = (next() + 1.0) / 4294967297.0;

	return (float)(sqrt(-2.0 * log(u)) * cos(6.283185307179586 * v));
}

/*
 * fp32 mode on Gaussian data against a double reference: relative Frobenius
 * error <= 1% and correlation > 0.999, at the K of every Whisper linear layer
 * (tiny/base/small: 384, 512, 768, 1536, 2048, 3072) and a ragged one.
 */
static void check_f32(int M, int K, int N)
{
	float *a = malloc((size_t)M * K * 4), *b = malloc((size_t)N * K * 4);
	float *c = malloc((size_t)M * N * 4), *c1 = malloc((size_t)N * 4);
	float *bias = malloc((size_t)N * 4);
	double num = 0, den = 0, sxy = 0, sxx = 0, syy = 0, sx = 0, sy = 0, *ref;
	struct tile_weights *w;
	int cnt = M * N, r1 = M / 2;

	ref = malloc((size_t)N * sizeof(double));
	for (int i = 0; i < M * K; i++)
		a[i] = gauss();
	for (int i = 0; i < N * K; i++)
		b[i] = gauss();
	for (int n = 0; n < N; n++)
		bias[n] = gauss();
	/* NK layout: b[n][k], as a Linear layer stores it */
	cr_assert_eq(tile_weights_pack_f32(&w, b, K, N, K, TILE_W_ROW_MAJOR_NK), 0);
	cr_assert_eq(tile_matmul_f32(a, M, K, K, w, bias, c, N, NULL), 0);
	for (int m = 0; m < M; m++) {
		for (int n = 0; n < N; n++)
			ref[n] = bias[n];
		for (int n = 0; n < N; n++) {
			const float *am = a + (size_t)m * K, *bn = b + (size_t)n * K;
			double s = 0;

			for (int k = 0; k < K; k++)
				s += (double)am[k] * bn[k];
			ref[n] += s;
		}
		for (int n = 0; n < N; n++) {
			double y = c[(size_t)m * N + n];

			num += (y - ref[n]) * (y - ref[n]);
			den += ref[n] * ref[n];
			sx += ref[n];
			sy += y;
			sxx += ref[n] * ref[n];
			syy += y * y;
			sxy += ref[n] * y;
		}
	}
	double corr = (cnt * sxy - sx * sy) /
		      sqrt((cnt * sxx - sx * sx) * (cnt * syy - sy * sy));
	cr_log_info("M %d K %d N %d: rel err %.4f%% corr %.6f", M, K, N,
		    100 * sqrt(num / den), corr);
	cr_assert_leq(sqrt(num / den), 0.01, "K %d: rel err %g", K, sqrt(num / den));
	cr_assert_gt(corr, 0.999, "K %d: corr %g", K, corr);
	/* a row alone gives the bits it had inside the bigger problem */
	cr_assert_eq(tile_matmul_f32(a + (size_t)r1 * K, 1, K, K, w, bias, c1, N, NULL), 0);
	cr_assert_eq(memcmp(c1, c + (size_t)r1 * N, (size_t)N * 4), 0);
	tile_weights_free(w);
	free(a);
	free(b);
	free(c);
	free(c1);
	free(bias);
	free(ref);
}

Test(tiler, f32_error_and_correlation)
{
	static const int ks[] = { 256, 384, 512, 768, 1536, 2048, 3072, 1001 };

	for (size_t i = 0; i < sizeof(ks) / sizeof(ks[0]); i++)
		check_f32(test_small_scale() ? 64 : 200, ks[i], 300);
}

/*
 * fp32 mode at few rows gives the bits of the scalar path (AMN_KERNEL=scalar:
 * scalar kernel and quantizer), bias included, over ragged K blocks: with
 * the usual kernel and with the few-rows one (AMN_KERNEL_ROWS=1).
 */
Test(tiler, f32_few_rows_match_scalar_bits)
{
	static const int Ms[] = { 2, 5, 8, 13, 16, 17, 33, 48 };
	int K = 400, N = 333;
	float *a = malloc(sizeof(float) * 48 * K), *b = malloc(sizeof(float) * K * N);
	float *bias = malloc(sizeof(float) * N);
	float *c0 = malloc(sizeof(float) * 48 * N), *c1 = malloc(sizeof(float) * 48 * N);
	struct tile_opts o = { .threads = 2 };
	struct tile_weights *w;

	if (getenv("AMN_KERNEL"))
		cr_skip_test("AMN_KERNEL is set");
	for (int i = 0; i < 48 * K; i++)
		a[i] = (float)(int32_t)next() / 2147483648.0f;
	for (int i = 0; i < K * N; i++)
		b[i] = (float)(int32_t)next() / 2147483648.0f;
	for (int i = 0; i < N; i++)
		bias[i] = (float)(int32_t)next() / 2147483648.0f;
	cr_assert_eq(tile_weights_pack_f32(&w, b, K, N, N, TILE_W_ROW_MAJOR_KN), 0);
	for (int i = 0; i < 16; i++) {
		int M = Ms[i % 8];

		if (i >= 8)
			setenv("AMN_KERNEL_ROWS", "1", 1);
		cr_assert_eq(tile_matmul_f32(a, M, K, K, w, M % 2 ? bias : NULL, c0, N, &o), 0);
		unsetenv("AMN_KERNEL_ROWS");
		setenv("AMN_KERNEL", "scalar", 1);
		cr_assert_eq(tile_matmul_f32(a, M, K, K, w, M % 2 ? bias : NULL, c1, N, &o), 0);
		unsetenv("AMN_KERNEL");
		cr_assert_eq(memcmp(c0, c1, sizeof(float) * M * N), 0, "M %d rows kernel %d",
			     M, i >= 8);
	}
	tile_weights_free(w);
	free(a);
	free(b);
	free(bias);
	free(c0);
	free(c1);
}

Test(tiler, bad_input_is_rejected)
{
	struct tile_weights *w;
	int8_t b[4] = { 0 };
	int32_t c[4];
	struct tile_opts o = { .tile_edge = 48 };

	cr_assert_eq(tile_weights_pack_s8(&w, b, -1, 2, 2, 0), -EINVAL);
	cr_assert_eq(tile_weights_pack_s8(&w, b, 2, 2, 1, 0), -EINVAL);
	cr_assert_eq(tile_weights_pack_s8(&w, b, 2, 2, 2, 0), 0);
	cr_assert_eq(tile_matmul_s8(b, 1, 3, 3, w, c, 2, NULL), -EINVAL);
	cr_assert_eq(tile_matmul_s8(b, 1, 2, 2, w, c, 2, &o), -EINVAL);
	tile_weights_free(w);
}

/* Relative Frobenius error of C = A·B (B row-major K×N) against double. */
static double rel_err(const float *a, const float *b, const float *c, int M, int K, int N)
{
	double num = 0, den = 0;

	for (int m = 0; m < M; m++)
		for (int n = 0; n < N; n++) {
			double s = 0;

			for (int k = 0; k < K; k++)
				s += (double)a[(size_t)m * K + k] * b[(size_t)k * N + n];
			num += (c[(size_t)m * N + n] - s) * (c[(size_t)m * N + n] - s);
			den += s * s;
		}
	return sqrt(num / den);
}

/*
 * The residual is at most half a quantization step of its row block, and
 * adding the matmul of the residual removes most of the activations' error:
 * what is left is the weights' (about 1/sqrt(2) of the plain error).
 */
Test(tiler, quant_residual_corrects_activations)
{
	int M = 37, K = 300, N = 70;
	float *a = malloc(sizeof(float) * M * K), *b = malloc(sizeof(float) * K * N);
	float *r = malloc(sizeof(float) * M * K), *c = malloc(sizeof(float) * M * N);
	float *c2 = malloc(sizeof(float) * M * N);
	struct tile_weights *w;
	double plain, both;

	for (int i = 0; i < M * K; i++)
		a[i] = gauss();
	for (int i = 0; i < K * N; i++)
		b[i] = gauss();
	cr_assert_eq(tile_weights_pack_f32(&w, b, K, N, N, TILE_W_ROW_MAJOR_KN), 0);
	cr_assert_eq(tile_quant_residual_f32(w, a, M, K, K, r, K), 0);
	for (int m = 0; m < M; m++)
		for (int k0 = 0; k0 < K; k0 += 128) {
			float mx = 0;

			for (int k = k0; k < K && k < k0 + 128; k++)
				mx = fmaxf(mx, fabsf(a[m * K + k]));
			for (int k = k0; k < K && k < k0 + 128; k++)
				cr_assert_leq(fabsf(r[m * K + k]), 0.5f * mx / 127.0f * 1.0001f,
					      "residual (%d,%d) beyond half a step", m, k);
		}
	cr_assert_eq(tile_matmul_f32(a, M, K, K, w, NULL, c, N, NULL), 0);
	plain = rel_err(a, b, c, M, K, N);
	cr_assert_eq(tile_matmul_f32(r, M, K, K, w, NULL, c2, N, NULL), 0);
	for (int i = 0; i < M * N; i++)
		c2[i] += c[i];
	both = rel_err(a, b, c2, M, K, N);
	cr_expect_lt(both, 0.8 * plain, "residual error %g vs plain %g", both, plain);
	cr_expect_eq(tile_quant_residual_f32(w, a, M, K, K - 1, r, K), -EINVAL);
	cr_expect_eq(tile_quant_residual_f32(NULL, a, M, K, K, r, K), -EINVAL);
	cr_expect_eq(tile_quant_residual_f32(w, a, M, K - 4, K, r, K), -EINVAL, "K is not w's");
	tile_weights_free(w);
	free(a);
	free(b);
	free(r);
	free(c);
	free(c2);
}
