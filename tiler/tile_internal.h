/* SPDX-License-Identifier: MIT */
/* tiler/tile_internal.h - packed weight layout shared by the tiler's files. */
#ifndef AMN_TILE_INTERNAL_H
#define AMN_TILE_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

/* K block of the fp32 mode: A and B get one scale per block of this many k. */
#define TILE_KBLOCK 128

/* Columns per weight panel: a kernel call never crosses a panel. */
#define TILE_PANEL 64

/*
 * Packed weights, in panels of 64 columns, each panel contiguous over K:
 * b[(n / 64) * pstride + (k / 4) * ldb + (n % 64) * 4 + k % 4] = w[k][n] + 128
 * as u8, kp = K rounded up to 4, np = N rounded up to 64, ldb = 256 (bytes
 * between k-groups of a panel), pstride = (kp / 4) * 256 (bytes between
 * panels). Padding holds 128 (weight 0), so it changes no result.
 *
 * Scales: K is cut into nkb = ceil(kp / kb) blocks of kb k-values (the last
 * may be shorter); sb[j * np + n] is the scale of column n in block j
 * (padding columns 0). int8 weights have one block (kb = kp) and scale 1;
 * fp32 weights have kb = TILE_KBLOCK, or the finer block their file
 * quantized them in (tile_weights_alloc_f32_kb()).
 */
struct tile_weights {
	int K, N, kp, np;
	int kb, nkb;
	int f32;         /* a float-mode packing (scales per block), not int8 as is */
	size_t ldb, pstride;
	uint8_t *b;
	float *sb;
	uint64_t id;     /* unique in the process, never reused (tile_weights_id) */
	int borrowed;    /* b and sb point into a weights region: not ours to free */
};

/* A fresh weights id (tile_weights.c): packing and region views take one. */
uint64_t tile_weights_new_id(void);

/* Column @n's k-group 0: kernels read from here with leading dimension ldb. */
static inline const uint8_t *tile_wcol(const struct tile_weights *w, int n)
{
	return w->b + (size_t)(n / TILE_PANEL) * w->pstride + (size_t)(n % TILE_PANEL) * 4;
}

#endif /* AMN_TILE_INTERNAL_H */
