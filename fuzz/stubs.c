// SPDX-License-Identifier: MIT
/*
 * fuzz/stubs.c - the one tiler-side symbol the loader links against, for
 * fuzz builds that compile only the loader sources (wsp_model_free() calls
 * it). Fuzzed models are never packed, so there is nothing to free.
 */
#include "tiler/tile.h"

void tile_weights_free(struct tile_weights *w)
{
	(void)w;
}
