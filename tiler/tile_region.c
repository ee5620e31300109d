/* SPDX-License-Identifier: MIT */
/*
 * tiler/tile_region.c - build, check and read the resident weights region
 * of tiler/tile_region.h.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "tiler/tile_internal.h"
#include "tiler/tile_region.h"

#define SLACK 64  /* bytes after panels and scales: kernels may read up to here */

static uint64_t align64(uint64_t v)
{
	return (v + 63) & ~(uint64_t)63;
}

static uint64_t panels_len(uint64_t np, uint64_t pstride)
{
	return np / TILE_PANEL * pstride + SLACK;
}

static uint64_t scales_len(uint64_t nkb, uint64_t np)
{
	return (nkb ? nkb : 1) * np * sizeof(float) + SLACK;
}

int tile_region_init(void *buf, size_t size, unsigned capacity)
{
	struct tile_region_hdr *h = buf;
	uint64_t data_off = align64(sizeof(*h) + (uint64_t)capacity * sizeof(struct tile_weights_desc));

	if (!buf || capacity == 0 || data_off > size) {
		fprintf(stderr, "tile: a weights region of %zu bytes cannot hold a table of %u\n",
			size, capacity);
		return -EINVAL;
	}
	memset(h, 0, sizeof(*h));
	h->magic = TILE_REGION_MAGIC;
	h->version = TILE_REGION_VERSION;
	h->hdr_size = sizeof(*h);
	h->desc_size = sizeof(struct tile_weights_desc);
	h->capacity = capacity;
	h->table_off = sizeof(*h);
	h->data_off = data_off;
	h->used = data_off;
	h->size = size;
	return 0;
}

static int hdr_ok(const struct tile_region_hdr *h, size_t len)
{
	if (!h || len < sizeof(*h) || h->magic != TILE_REGION_MAGIC ||
	    h->version != TILE_REGION_VERSION || h->flags || h->hdr_size != sizeof(*h) ||
	    h->desc_size != sizeof(struct tile_weights_desc))
		return -EPROTO;
	if (h->size > len || h->table_off != sizeof(*h) || h->count > h->capacity ||
	    h->data_off < h->table_off + (uint64_t)h->capacity * h->desc_size ||
	    h->used < h->data_off || h->used > h->size || h->data_off % 64)
		return -EINVAL;
	return 0;
}

static struct tile_weights_desc *table(const void *buf)
{
	const struct tile_region_hdr *h = buf;

	return (struct tile_weights_desc *)((char *)buf + h->table_off);
}

long long tile_region_add(void *buf, const struct tile_weights *w, uint64_t *img_off,
			  uint64_t *img_len)
{
	struct tile_region_hdr *h = buf;
	struct tile_weights_desc *d;
	uint64_t b_len, sb_len, off;

	if (!w || hdr_ok(h, h ? h->size : 0))
		return -EINVAL;
	b_len = panels_len((uint64_t)w->np, w->pstride);
	sb_len = scales_len((uint64_t)w->nkb, (uint64_t)w->np);
	off = align64(h->used);
	if (h->count == h->capacity || off + align64(b_len) + sb_len > h->size)
		return -ENOSPC;
	d = &table(buf)[h->count];
	memset(d, 0, sizeof(*d));
	d->k = (uint32_t)w->K;
	d->n = (uint32_t)w->N;
	d->kp = (uint32_t)w->kp;
	d->np = (uint32_t)w->np;
	d->kb = (uint32_t)w->kb;
	d->nkb = (uint32_t)w->nkb;
	d->ldb = (uint32_t)w->ldb;
	d->pstride = w->pstride;
	d->b_off = off;
	d->sb_off = off + align64(b_len);
	d->id = w->id;
	memcpy((char *)buf + d->b_off, w->b, b_len);
	memcpy((char *)buf + d->sb_off, w->sb, sb_len - SLACK);
	memset((char *)buf + d->sb_off + sb_len - SLACK, 0, SLACK);
	if (img_off)
		*img_off = off;
	if (img_len)
		*img_len = d->sb_off + sb_len - off;
	h->used = d->sb_off + sb_len;
	return h->count++;
}

void tile_region_reset(void *buf)
{
	struct tile_region_hdr *h = buf;

	if (h && h->magic == TILE_REGION_MAGIC) {
		h->count = 0;
		h->used = h->data_off;
	}
}

unsigned tile_region_count(const void *buf)
{
	const struct tile_region_hdr *h = buf;

	return h && h->magic == TILE_REGION_MAGIC ? h->count : 0;
}

/* One descriptor: sane geometry, bytes inside [data_off, used). */
static int desc_ok(const struct tile_region_hdr *h, const struct tile_weights_desc *d)
{
	uint64_t b_len, sb_len;

	if (d->flags || d->kp % 4 || d->kp < d->k || d->kp - d->k >= 4 || d->np % TILE_PANEL ||
	    d->np < d->n || d->np - d->n >= TILE_PANEL || d->ldb != TILE_PANEL * 4 ||
	    d->pstride != (uint64_t)d->kp / 4 * d->ldb || !d->kb || d->kb % 4 ||
	    d->nkb != (d->kp + d->kb - 1) / d->kb || d->k > (1u << 30) || d->n > (1u << 30) ||
	    d->b_off % 64 || d->sb_off % 64)
		return -EINVAL;
	b_len = panels_len(d->np, d->pstride);
	sb_len = scales_len(d->nkb, d->np);
	if (d->b_off < h->data_off || d->b_off > h->used || b_len > h->used - d->b_off ||
	    d->sb_off < h->data_off || d->sb_off > h->used || sb_len > h->used - d->sb_off)
		return -EINVAL;
	return 0;
}

int tile_region_check(const void *buf, size_t len)
{
	const struct tile_region_hdr *h = buf;
	int ret = hdr_ok(h, len);

	for (unsigned i = 0; !ret && i < h->count; i++)
		ret = desc_ok(h, &table(buf)[i]);
	return ret;
}

int tile_region_view(const void *buf, size_t len, unsigned handle, struct tile_weights **out)
{
	const struct tile_region_hdr *h = buf;
	const struct tile_weights_desc *d;
	struct tile_weights *w;

	if (!out || hdr_ok(h, len) || handle >= h->count)
		return -EINVAL;
	d = &table(buf)[handle];
	if (desc_ok(h, d))
		return -EINVAL;
	w = calloc(1, sizeof(*w));
	if (!w)
		return -ENOMEM;
	w->K = (int)d->k;
	w->N = (int)d->n;
	w->kp = (int)d->kp;
	w->np = (int)d->np;
	w->kb = (int)d->kb;
	w->nkb = (int)d->nkb;
	w->ldb = d->ldb;
	w->pstride = (size_t)d->pstride;
	w->b = (uint8_t *)buf + d->b_off;
	w->sb = (float *)((char *)buf + d->sb_off);
	w->id = tile_weights_new_id();
	w->borrowed = 1;
	*out = w;
	return 0;
}
