/* SPDX-License-Identifier: MIT */
/* tests/test_kernels.c - every kernel this CPU runs matches the scalar one. */
#include <criterion/criterion.h>
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
	static const char *names[] = { "scalar", "avx2", "avx512vnni" };

	for (int i = 0; i < 3; i++) {
		kern_s8_fn *fn = kern_s8_by_name(names[i]);

		if (!fn)
			continue;
		for (int rows = 1; rows <= 9; rows++)
			for (int kp = 4; kp <= 68; kp += 16)
				for (int cols = 1; cols <= 130; cols += 13)
					compare(fn, rows, kp, cols);
	}
}
