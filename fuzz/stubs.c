// SPDX-License-Identifier: MIT
/*
 * fuzz/stubs.c - the two tiler-side symbols the loader links against, for
 * fuzz builds that compile only the loader sources. Fuzzed models are never
 * packed, so there is nothing to free.
 */
#include "tiler/tile.h"
#include "whisper/model/model_internal.h"

void tile_weights_free(struct tile_weights *w)
{
	(void)w;
}

int wsp_model_pack(struct wsp_model *m)
{
	(void)m;
	return 0;
}
