/* SPDX-License-Identifier: MIT */
/* tiler/tile_internal.h - packed weight layout shared by the tiler's files. */
#ifndef AMN_TILE_INTERNAL_H
#define AMN_TILE_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

/*
 * Packed weights: b[(k / 4) * ldb + n * 4 + k % 4] = w[k][n] + 128 as u8,
 * kp = K rounded up to 4, np = N rounded up to 16, ldb = 4 * np. Padding
 * holds 128 (weight 0), so it changes no result. sb[n]: column scale.
 */
struct tile_weights {
	int K, N, kp, np;
	size_t ldb;
	uint8_t *b;
	float *sb;
};

#endif /* AMN_TILE_INTERNAL_H */
