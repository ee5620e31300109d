/* SPDX-License-Identifier: MIT */
/* tiler/tile_internal.h - packed weight layout shared by the tiler's files. */
#ifndef AMN_TILE_INTERNAL_H
#define AMN_TILE_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

/* K block of the fp32 mode: A and B get one scale per block of this many k. */
#define TILE_KBLOCK 128

/*
 * Packed weights: b[(k / 4) * ldb + n * 4 + k % 4] = w[k][n] + 128 as u8,
 * kp = K rounded up to 4, np = N rounded up to 16, ldb = 4 * np. Padding
 * holds 128 (weight 0), so it changes no result.
 *
 * Scales: K is cut into nkb = ceil(kp / kb) blocks of kb k-values (the last
 * may be shorter); sb[j * np + n] is the scale of column n in block j
 * (padding columns 0). int8 weights have one block (kb = kp) and scale 1;
 * fp32 weights have kb = TILE_KBLOCK.
 */
struct tile_weights {
	int K, N, kp, np;
	int kb, nkb;
	size_t ldb;
	uint8_t *b;
	float *sb;
};

#endif /* AMN_TILE_INTERNAL_H */
