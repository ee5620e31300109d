/* SPDX-License-Identifier: MIT */
/*
 * tests/test_tile_region.c - the resident weights region (tiler/tile_region.h):
 * documented sizes, views that give the bits of the weights they copy,
 * "full" without a partial write, corrupt regions rejected, and ids that
 * are never reused.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "tiler/tile.h"
#include "tiler/tile_region.h"

static uint64_t rng = 0x243f6a8885a308d3ull;

static uint32_t next(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (uint32_t)rng;
}

static float *randf(size_t n)
{
	float *p = malloc(n * sizeof(*p));

	cr_assert_not_null(p);
	for (size_t i = 0; i < n; i++)
		p[i] = (float)(int32_t)next() / 2147483648.0f;
	return p;
}

static int8_t *rand8(size_t n)
{
	int8_t *p = malloc(n);

	cr_assert_not_null(p);
	for (size_t i = 0; i < n; i++)
		p[i] = (int8_t)next();
	return p;
}

Test(tile_region, layout_is_the_documented_abi)
{
	cr_assert_eq(sizeof(struct tile_region_hdr), 64);
	cr_assert_eq(sizeof(struct tile_weights_desc), 64);
	cr_assert_eq(offsetof(struct tile_region_hdr, capacity), 12);
	cr_assert_eq(offsetof(struct tile_region_hdr, table_off), 24);
	cr_assert_eq(offsetof(struct tile_region_hdr, size), 48);
	cr_assert_eq(offsetof(struct tile_weights_desc, pstride), 32);
	cr_assert_eq(offsetof(struct tile_weights_desc, b_off), 40);
	cr_assert_eq(offsetof(struct tile_weights_desc, id), 56);
}

/* Matmuls against a view of the region give the bits of the packed weights. */
Test(tile_region, views_compute_the_same_bits)
{
	const int M = 37, K = 300, N = 70, K8 = 17, N8 = 130;
	size_t size = 4 << 20;
	void *buf = aligned_alloc(64, size);
	float *a = randf((size_t)M * K), *b = randf((size_t)K * N), *bias = randf(N);
	int8_t *a8 = rand8((size_t)M * K8), *b8 = rand8((size_t)K8 * N8);
	float *c0 = malloc((size_t)M * N * 4), *c1 = malloc((size_t)M * N * 4);
	int32_t *d0 = malloc((size_t)M * N8 * 4), *d1 = malloc((size_t)M * N8 * 4);
	struct tile_weights *wf, *w8, *vf, *v8;
	uint64_t off, len;

	cr_assert_eq(tile_region_init(buf, size, 8), 0);
	cr_assert_eq(tile_weights_pack_f32(&wf, b, K, N, N, TILE_W_ROW_MAJOR_KN), 0);
	cr_assert_eq(tile_weights_pack_s8(&w8, b8, K8, N8, N8, TILE_W_ROW_MAJOR_KN), 0);
	cr_assert_eq(tile_region_add(buf, wf, &off, &len), 0);
	cr_expect_eq(off % 64, 0);
	cr_expect_geq(len, (uint64_t)N * K);
	cr_assert_eq(tile_region_add(buf, w8, NULL, NULL), 1);
	cr_assert_eq(tile_region_count(buf), 2);
	cr_assert_eq(tile_region_check(buf, size), 0);
	cr_assert_eq(tile_region_view(buf, size, 0, &vf), 0);
	cr_assert_eq(tile_region_view(buf, size, 1, &v8), 0);
	cr_expect_neq(tile_weights_id(vf), tile_weights_id(wf));
	cr_expect_eq(tile_weights_k(vf), K);
	cr_expect_eq(tile_weights_n(v8), N8);

	cr_assert_eq(tile_matmul_f32(a, M, K, K, wf, bias, c0, N, NULL), 0);
	cr_assert_eq(tile_matmul_f32(a, M, K, K, vf, bias, c1, N, NULL), 0);
	cr_expect_eq(memcmp(c0, c1, (size_t)M * N * 4), 0);
	cr_assert_eq(tile_matmul_s8(a8, M, K8, K8, w8, d0, N8, NULL), 0);
	cr_assert_eq(tile_matmul_s8(a8, M, K8, K8, v8, d1, N8, NULL), 0);
	cr_expect_eq(memcmp(d0, d1, (size_t)M * N8 * 4), 0);

	/* freeing a view leaves the region (and the source weights) alone */
	tile_weights_free(vf);
	tile_weights_free(v8);
	cr_expect_eq(tile_region_check(buf, size), 0);
	tile_weights_free(wf);
	tile_weights_free(w8);
	free(buf); free(a); free(b); free(bias); free(a8); free(b8);
	free(c0); free(c1); free(d0); free(d1);
}

Test(tile_region, full_region_writes_nothing)
{
	size_t size = 256 << 10;
	void *buf = aligned_alloc(64, size);
	float *b = randf(256 * 256);
	struct tile_weights *w, *big;
	uint64_t used;

	cr_assert_eq(tile_weights_pack_f32(&w, b, 256, 256, 256, TILE_W_ROW_MAJOR_KN), 0);
	cr_assert_eq(tile_weights_pack_f32(&big, b, 256 * 4, 64, 64, TILE_W_ROW_MAJOR_KN), 0);
	/* table of 2: a third set does not fit, whatever the room */
	cr_assert_eq(tile_region_init(buf, size, 2), 0);
	cr_assert_eq(tile_region_add(buf, w, NULL, NULL), 0);
	cr_assert_eq(tile_region_add(buf, w, NULL, NULL), 1);
	used = ((struct tile_region_hdr *)buf)->used;
	cr_expect_eq(tile_region_add(buf, w, NULL, NULL), -ENOSPC);
	cr_expect_eq(tile_region_count(buf), 2);
	cr_expect_eq(((struct tile_region_hdr *)buf)->used, used);
	/* data area: 64 KB + scales each; the fourth does not fit 256 KB */
	cr_assert_eq(tile_region_init(buf, size, 16), 0);
	for (int i = 0; i < 3; i++)
		cr_expect_eq(tile_region_add(buf, w, NULL, NULL), i);
	cr_expect_eq(tile_region_add(buf, w, NULL, NULL), -ENOSPC);
	cr_expect_eq(tile_region_count(buf), 3);
	tile_region_reset(buf);
	cr_expect_eq(tile_region_count(buf), 0);
	cr_expect_eq(tile_region_add(buf, w, NULL, NULL), 0);
	cr_expect_eq(tile_region_check(buf, size), 0);
	/* a table too large for the buffer */
	cr_expect_eq(tile_region_init(buf, 4096, 1000), -EINVAL);
	tile_weights_free(w);
	tile_weights_free(big);
	free(b);
	free(buf);
}

Test(tile_region, corrupt_regions_are_rejected)
{
	size_t size = 1 << 20;
	void *buf = aligned_alloc(64, size);
	float *b = randf(64 * 64);
	struct tile_weights *w, *v = NULL;
	struct tile_region_hdr *h = buf;
	struct tile_weights_desc *d;

	cr_assert_eq(tile_weights_pack_f32(&w, b, 64, 64, 64, TILE_W_ROW_MAJOR_KN), 0);
	cr_assert_eq(tile_region_init(buf, size, 4), 0);
	cr_assert_eq(tile_region_add(buf, w, NULL, NULL), 0);
	d = (struct tile_weights_desc *)((char *)buf + h->table_off);
	cr_expect_eq(tile_region_check(buf, size - 64), -EINVAL);   /* shorter than its size */
	cr_expect_eq(tile_region_view(buf, size, 1, &v), -EINVAL);  /* handle >= count */
	h->magic ^= 1;
	cr_expect_eq(tile_region_check(buf, size), -EPROTO);
	h->magic ^= 1;
	h->version = 2;
	cr_expect_eq(tile_region_check(buf, size), -EPROTO);
	h->version = TILE_REGION_VERSION;
	d->b_off = h->used;                                          /* panels past the data */
	cr_expect_eq(tile_region_check(buf, size), -EINVAL);
	cr_expect_eq(tile_region_view(buf, size, 0, &v), -EINVAL);
	cr_expect_null(v);
	d->b_off = h->data_off;
	d->pstride += 64;                                            /* geometry that lies */
	cr_expect_eq(tile_region_check(buf, size), -EINVAL);
	d->pstride -= 64;
	cr_expect_eq(tile_region_check(buf, size), 0);
	tile_weights_free(w);
	free(b);
	free(buf);
}

Test(tile_region, ids_are_never_reused)
{
	int8_t b[16] = { 1 };
	struct tile_weights *w;
	uint64_t seen[64];

	for (int i = 0; i < 64; i++) {
		cr_assert_eq(tile_weights_pack_s8(&w, b, 4, 4, 4, TILE_W_ROW_MAJOR_KN), 0);
		seen[i] = tile_weights_id(w);
		cr_assert_neq(seen[i], 0);
		for (int j = 0; j < i; j++)
			cr_assert_neq(seen[i], seen[j]);
		tile_weights_free(w);   /* the next set may get this address back */
	}
	cr_expect_eq(tile_weights_id(NULL), 0);
}
