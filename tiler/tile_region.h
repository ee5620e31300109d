/* SPDX-License-Identifier: MIT */
/*
 * tiler/tile_region.h - the resident weights region: the bytes a device
 * holds for every packed weight set that batches refer to by handle.
 *
 * A batch (tile_job.h) carries A and C only; its jobs name their weights by
 * a handle, the index of a descriptor in this region. The region is one
 * buffer, every offset counted in bytes from its start, every area 64-byte
 * aligned, all integers little-endian:
 *
 *   [0, 64)                 struct tile_region_hdr
 *   [table_off, +cap × 64)  capacity × struct tile_weights_desc; the first
 *                           count are in use, handle i is entry i
 *   [data_off, used)        the weight images, one after another: the
 *                           packed panels (b_off, (np / 64) × pstride bytes)
 *                           then the scales (sb_off, nkb × np floats), each
 *                           followed by 64 bytes of slack, as in memory
 *
 * The panels and scales are byte for byte those of tiler/tile_internal.h
 * (Documentation/kernel-abi.md, "Packed weights"). The region only grows:
 * tile_region_add() appends an image and its descriptor, so a device may go
 * on reading older entries while a new one is written; tile_region_reset()
 * empties it, which a backend does only with no run in flight.
 */
#ifndef AMN_TILE_REGION_H
#define AMN_TILE_REGION_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

struct tile_weights;

#define TILE_REGION_MAGIC    0x31525754u  /* "TWR1" in memory order */
#define TILE_REGION_VERSION  1

/* The region header: 64 bytes at offset 0. */
struct tile_region_hdr {
	uint32_t magic;       /* TILE_REGION_MAGIC */
	uint16_t version;     /* TILE_REGION_VERSION */
	uint16_t hdr_size;    /* 64 */
	uint16_t desc_size;   /* sizeof(struct tile_weights_desc) = 64 */
	uint16_t pad0;
	uint32_t capacity;    /* descriptors the table has room for */
	uint32_t count;       /* descriptors in use */
	uint32_t flags;       /* 0; a reader rejects bits it does not know */
	uint64_t table_off;   /* 64 */
	uint64_t data_off;    /* first image */
	uint64_t used;        /* end of the last image */
	uint64_t size;        /* the whole region */
	uint64_t reserved;
};

/* One resident weight set: the geometry of struct tile_weights and where its bytes are. */
struct tile_weights_desc {
	uint32_t k, n;        /* logical K and N */
	uint32_t kp, np;      /* K rounded up to 4, N rounded up to 64 */
	uint32_t kb, nkb;     /* K block and block count */
	uint32_t ldb;         /* bytes between k-groups of a panel (256) */
	uint32_t flags;       /* 0 */
	uint64_t pstride;     /* bytes between panels */
	uint64_t b_off;       /* packed panels */
	uint64_t sb_off;      /* scales, sb[j * np + n] */
	uint64_t id;          /* the host's tile_weights_id(), for diagnostics */
};

_Static_assert(sizeof(struct tile_region_hdr) == 64, "tile_region_hdr is 64 bytes");
_Static_assert(sizeof(struct tile_weights_desc) == 64, "tile_weights_desc is 64 bytes");

/**
 * tile_region_init - lay out an empty region in @buf (@size bytes, 64-byte
 * aligned) with room for @capacity descriptors.
 * Return: 0, or -EINVAL if @buf is NULL or the table does not fit.
 */
int tile_region_init(void *buf, size_t size, unsigned capacity);

/**
 * tile_region_add - append @w's image and descriptor.
 * @img_off, @img_len: receive the byte range the image was written to (may
 *   be NULL). The header and the table, [0, data_off), changed as well: a
 *   device copy of the region needs both ranges.
 * Return: the new handle (>= 0); -ENOSPC when the table or the data area is
 * full (nothing written); -EINVAL for a region that tile_region_check()
 * rejects or NULL weights.
 */
long long tile_region_add(void *buf, const struct tile_weights *w, uint64_t *img_off,
			  uint64_t *img_len);

/** tile_region_reset - forget every entry (count and used back to empty). */
void tile_region_reset(void *buf);

/** tile_region_count - descriptors in use, or 0 for a buffer that is not a region. */
unsigned tile_region_count(const void *buf);

/**
 * tile_region_check - validate a region of @len bytes: magic, version,
 * sizes, and every descriptor's panels and scales inside the data in use.
 * Return: 0, -EPROTO (not a region, other version, unknown flags) or -EINVAL.
 */
int tile_region_check(const void *buf, size_t len);

/**
 * tile_region_view - weights that read entry @handle in place (no copy):
 * usable wherever packed weights are (tile_batch_run, tile_matmul_*), as
 * long as @buf lives and the entry is not reset. Free the view with
 * tile_weights_free(), which leaves @buf alone.
 * Return: 0, -EINVAL (bad region or descriptor, handle >= count) or -ENOMEM.
 */
int tile_region_view(const void *buf, size_t len, unsigned handle, struct tile_weights **out);

#ifdef __cplusplus
}
#endif
#endif /* AMN_TILE_REGION_H */
