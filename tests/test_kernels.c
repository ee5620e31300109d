/* SPDX-License-Identifier: MIT */
/* tests/test_kernels.c - every kernel this CPU runs matches the scalar one. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "kernels/cpu/kern.h"

static void compare(kern_s8_fn *fn, int rows, int kp, int cols)
{
	int np = (cols + 15) & ~15;
	size_t ldb = (size_t)np * 4;
	int8_t *a = malloc((size_t)rows * kp + 1);
	uint8_t *b = malloc((size_t)(kp / 4) * ldb + 64);
	int32_t *rs = calloc(rows + 1, 4), *c0 = malloc((rows * cols + 1) * 4);
	int32_t *c1 = malloc((rows * cols + 1) * 4);

	for (int i = 0; i < rows * kp; i++)
		a[i] = (int8_t)rand();
	for (size_t i = 0; i < (size_t)(kp / 4) * ldb + 64; i++)
		b[i] = (uint8_t)rand();
	for (int r = 0; r < rows; r++)
		for (int k = 0; k < kp; k++)
			rs[r] += a[r * kp + k];
	kern_s8_scalar(a, kp, rs, rows, kp, b, ldb, cols, c0, cols);
	fn(a, kp, rs, rows, kp, b, ldb, cols, c1, cols);
	cr_assert_eq(memcmp(c0, c1, (size_t)rows * cols * 4), 0, "rows %d kp %d cols %d",
		     rows, kp, cols);
	free(a);
	free(b);
	free(rs);
	free(c0);
	free(c1);
}

Test(kernels, scalar_is_the_signed_product)
{
	int8_t a[4] = { -128, 127, 3, -1 };
	uint8_t b[64];
	int32_t rs = -128 + 127 + 3 - 1, c;

	memset(b, 128, sizeof(b));
	b[0] = 0;      /* w = -128 */
	b[1] = 255;    /* w = 127 */
	b[2] = 130;    /* w = 2 */
	kern_s8_scalar(a, 4, &rs, 1, 4, b, 64, 1, &c, 1);
	cr_assert_eq(c, 128 * 128 + 127 * 127 + 6);
}

Test(kernels, every_supported_variant_matches_scalar)
{
	static const char *names[] = { "scalar", "avx2", "avx512vnni", "avx512vnni_rows" };

	for (int i = 0; i < 4; i++) {
		kern_s8_fn *fn = kern_s8_by_name(names[i]);

		if (!fn)
			continue;
		for (int rows = 1; rows <= 9; rows++)
			for (int kp = 4; kp <= 68; kp += 16)
				for (int cols = 1; cols <= 130; cols += 13)
					compare(fn, rows, kp, cols);
	}
}

/* One fp32-mode tile with every variant against scalar, bit for bit. */
static void compare_f32(kern_f32_fn *fn, int rows, int kp, int kb, int cols, int with_bias)
{
	int np = (cols + 15) & ~15, nkb = (kp + kb - 1) / kb;
	size_t ldb = (size_t)np * 4;
	int8_t *a = malloc((size_t)rows * kp + 1);
	uint8_t *b = malloc((size_t)(kp / 4) * ldb + 64);
	int32_t *rs = calloc((size_t)rows * nkb + 1, 4);
	float *sa = malloc(((size_t)rows * nkb + 1) * 4), *sb = malloc(((size_t)nkb * np + 1) * 4);
	float *bias = malloc((size_t)np * 4);
	float *c0 = malloc(((size_t)rows * cols + 1) * 4), *c1 = malloc(((size_t)rows * cols + 1) * 4);

	for (int i = 0; i < rows * kp; i++)
		a[i] = (int8_t)rand();
	for (size_t i = 0; i < (size_t)(kp / 4) * ldb + 64; i++)
		b[i] = (uint8_t)rand();
	for (int r = 0; r < rows; r++)
		for (int k = 0; k < kp; k++)
			rs[r * nkb + k / kb] += a[r * kp + k];
	for (int i = 0; i < rows * nkb; i++)
		sa[i] = (float)rand() / RAND_MAX * 0.01f;
	for (int i = 0; i < nkb * np; i++)
		sb[i] = (float)rand() / RAND_MAX * 0.02f;
	for (int i = 0; i < np; i++)
		bias[i] = (float)rand() / RAND_MAX - 0.5f;
	kern_f32_scalar(a, kp, rs, sa, rows, kp, kb, b, ldb, sb, np,
			with_bias ? bias : NULL, cols, c0, cols);
	fn(a, kp, rs, sa, rows, kp, kb, b, ldb, sb, np, with_bias ? bias : NULL, cols, c1, cols);
	cr_assert_eq(memcmp(c0, c1, (size_t)rows * cols * 4), 0,
		     "rows %d kp %d kb %d cols %d", rows, kp, kb, cols);
	free(a);
	free(b);
	free(rs);
	free(sa);
	free(sb);
	free(bias);
	free(c0);
	free(c1);
}

Test(kernels, f32_scalar_dequantizes_each_block)
{
	/* one row, 8 k in two blocks of 4, one column: a = 1, w = k - 3 */
	int8_t a[8] = { 1, 1, 1, 1, 1, 1, 1, 1 };
	uint8_t b[2 * 64];
	int32_t rs[2] = { 4, 4 };
	float sa[2] = { 0.5f, 2.0f }, sb[2 * 16] = { 0 }, bias = 10.0f, c;

	memset(b, 128, sizeof(b));
	for (int k = 0; k < 8; k++)
		b[(k / 4) * 64 + k % 4] = (uint8_t)(128 + k - 3);
	sb[0] = 1.0f;
	sb[16] = 0.25f;
	kern_f32_scalar(a, 8, rs, sa, 1, 8, 4, b, 64, sb, 16, &bias, 1, &c, 1);
	/* block 0: -3-2-1+0 = -6, × 0.5; block 1: 1+2+3+4 = 10, × 0.5; + 10 */
	cr_assert_float_eq(c, -3.0f + 5.0f + 10.0f, 1e-6);
}

Test(kernels, every_f32_variant_matches_scalar)
{
	static const char *names[] = { "scalar", "avx2", "avx512vnni", "avx512vnni_rows" };

	for (int i = 0; i < 4; i++) {
		kern_f32_fn *fn = kern_f32_by_name(names[i]);

		if (!fn)
			continue;
		for (int rows = 1; rows <= 19; rows += 3)   /* 19 rows, 127 cols: 2 × 2 AVX2 tiles */
			for (int kp = 0; kp <= 300; kp += 52)
				for (int kb = 4; kb <= 128; kb *= 4)
					for (int cols = 1; cols <= 130; cols += 21)
						compare_f32(fn, rows, kp, kb, cols, (rows + cols) & 1);
	}
}

/*
 * The few-rows kernels at every row count they are chosen for (2..48: row
 * groups of up to 16, strips of 16..64 columns), ragged K and columns.
 */
Test(kernels, few_rows_variants_match_scalar_at_every_row_count)
{
	kern_s8_fn *s8 = kern_s8_by_name("avx512vnni_rows");
	kern_f32_fn *f32 = kern_f32_by_name("avx512vnni_rows");

	if (!s8 || !f32)
		cr_skip_test("no AVX-512 VNNI");
	for (int rows = 1; rows <= KERN_ROWS_MAX + 1; rows++)
		for (int kp = 4; kp <= 516; kp += 256)
			for (int cols = 1 + rows % 16; cols <= 64; cols += 21) {
				compare(s8, rows, kp, cols);
				compare_f32(f32, rows, kp, 128, cols, (rows + kp) & 1);
			}
}

Test(kernels, select_rows_picks_the_few_rows_kernel_when_asked_and_m_is_small)
{
	if (!kern_s8_by_name("avx512vnni_rows") || getenv("AMN_KERNEL"))
		cr_skip_test("no AVX-512 VNNI, or a forced kernel");
	unsetenv("AMN_KERNEL_ROWS");
	cr_assert_eq(kern_s8_select_rows(5), kern_s8_select());   /* opt-in */
	setenv("AMN_KERNEL_ROWS", "1", 1);
	cr_assert_eq(kern_s8_select_rows(1), kern_s8_select());
	cr_assert_eq(kern_s8_select_rows(2), kern_s8_avx512vnni_rows);
	cr_assert_eq(kern_s8_select_rows(KERN_ROWS_MAX), kern_s8_avx512vnni_rows);
	cr_assert_eq(kern_s8_select_rows(KERN_ROWS_MAX + 1), kern_s8_select());
	cr_assert_eq(kern_f32_select_rows(5), kern_f32_avx512vnni_rows);
	cr_assert_eq(kern_f32_select_rows(1500), kern_f32_select());
	unsetenv("AMN_KERNEL_ROWS");
}

Test(kernels, quantizers_match_scalar_and_round_trip)
{
	static const char *names[] = { "scalar", "avx512vnni" };
	float x[300];
	int8_t q0[304], q1[304];
	float s0[80], s1[80];
	int32_t r0[80], r1[80];

	for (int i = 0; i < 2; i++) {
		kern_quant_fn *fn = kern_quant_by_name(names[i]);

		if (!fn)
			continue;
		for (int K = 1; K <= 300; K += 17)
			for (int kb = 4; kb <= 256; kb *= 4) {
				int kp = (K + 3) & ~3, nkb = (kp + kb - 1) / kb;

				for (int k = 0; k < K; k++)
					x[k] = ((float)rand() / RAND_MAX - 0.5f) * (k % 7 + 1);
				if (K > 20)   /* an all-zero first block */
					memset(x, 0, sizeof(float) * (kb < K ? kb : K));
				memset(q1, 0x55, sizeof(q1));
				kern_quant_scalar(x, K, kp, kb, q0, s0, r0);
				fn(x, K, kp, kb, q1, s1, r1);
				cr_assert_eq(memcmp(q0, q1, kp), 0, "K %d kb %d", K, kb);
				cr_assert_eq(memcmp(s0, s1, nkb * 4), 0);
				cr_assert_eq(memcmp(r0, r1, nkb * 4), 0);
				for (int j = 0; j < nkb; j++) {
					int32_t sum = 0;

					for (int k = j * kb; k < kp && k < (j + 1) * kb; k++) {
						float back = q1[k] * s1[j], v = k < K ? x[k] : 0.0f;

						sum += q1[k];
						cr_assert_leq(fabsf(back - v), s1[j] * 0.5f + 1e-6f);
					}
					cr_assert_eq(sum, r1[j]);
				}
			}
	}
}
