// SPDX-License-Identifier: MIT
/*
 * fuzz/stubs.c - the tiler-side symbols the loader links against, for fuzz
 * builds that compile only the loader sources (wsp_model_free() frees
 * packings; model_stream.c and model_pack.c pack). Fuzzed models are loaded
 * with floats and never packed, so nothing is freed and nothing packs.
 */
#include <errno.h>

#include "tiler/tile.h"

void tile_weights_free(struct tile_weights *w)
{
	(void)w;
}

int tile_weights_pack_f32(struct tile_weights **out, const float *w, int K, int N, size_t ldw,
			  unsigned flags)
{
	(void)out; (void)w; (void)K; (void)N; (void)ldw; (void)flags;
	return -ENOSYS;
}

int tile_weights_alloc_f32(struct tile_weights **out, int K, int N)
{
	(void)out; (void)K; (void)N;
	return -ENOSYS;
}

int tile_weights_pack_rows_f32(struct tile_weights *w, int n0, int rows, const float *src,
			       size_t ldw)
{
	(void)w; (void)n0; (void)rows; (void)src; (void)ldw;
	return -ENOSYS;
}
