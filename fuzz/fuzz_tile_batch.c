// SPDX-License-Identifier: MIT
/*
 * fuzz/fuzz_tile_batch.c - libFuzzer target for the bytes a device reads:
 * a weights region (tiler/tile_region.h) and a batch (tiler/tile_job.h).
 * The input is cut in two at a point given by its first two bytes. Each
 * half is checked; when both pass, every region entry is viewed and the
 * batch is run against those views (tile_batch_run, the CPU reference of
 * the device side). Nothing may crash, read or write outside the buffers,
 * or hang: a check that passes must make the run safe.
 * Build and run: make fuzz (FUZZ_SECONDS=60 by default).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tiler/tile.h"
#include "tiler/tile_job.h"
#include "tiler/tile_region.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void *copy64(const uint8_t *p, size_t n)
{
	void *b = aligned_alloc(64, (n + 63) & ~(size_t)63);

	if (b && n)
		memcpy(b, p, n);
	return b;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct tile_weights *table[64];
	size_t cut, nr, nb;
	void *region, *batch;
	unsigned n = 0;

	if (size < 2)
		return 0;
	cut = (size_t)(data[0] | data[1] << 8);
	data += 2;
	size -= 2;
	if (cut > size)
		cut = size;
	nr = cut;
	nb = size - cut;
	region = copy64(data, nr);
	batch = copy64(data + cut, nb);
	if (!region || !batch)
		goto out;
	if (tile_region_check(region, nr) == 0) {
		unsigned count = tile_region_count(region);

		for (; n < count && n < 64; n++)
			if (tile_region_view(region, nr, n, &table[n]))
				__builtin_trap();   /* a checked region must give its views */
	}
	if (tile_batch_check(batch, nb) == 0)
		tile_batch_run(batch, nb, (const struct tile_weights *const *)table, n);
out:
	for (unsigned i = 0; i < n; i++)
		tile_weights_free(table[i]);
	free(region);
	free(batch);
	return 0;
}
