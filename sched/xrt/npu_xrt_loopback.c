/* SPDX-License-Identifier: MIT */
/*
 * sched/xrt/npu_xrt_loopback.c - a software device behind the xrt backend.
 *
 * It keeps a device-side copy of the weights region that changes only
 * through weights_sync(), and of each slot's input that changes only
 * through start(), so a host that forgets to push bytes reads stale data
 * here as it would on the NPU. wait() checks the copies (tile_batch_check,
 * tile_region_check), runs every job with tile_batch_run() against views
 * of the region (the CPU reference of the device side) and copies the
 * batch's C area to the slot's output buffer.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sched/xrt/npu_xrt_dev.h"
#include "tiler/tile.h"
#include "tiler/tile_job.h"
#include "tiler/tile_region.h"

struct slot {
	void *in, *out;          /* host side */
	void *dev_in;            /* device copy of in, as of start() */
	size_t in_cap, dev_cap, out_cap, in_len, out_len;
	int started;
};

struct loopback {
	void *w_host, *w_dev;    /* weights region: host buffer, device copy */
	size_t w_size;
	struct slot slot[NPU_XRT_SLOTS];
	unsigned runs, fail_every, timeout_every;
};

static void *alloc64(size_t n)
{
	return aligned_alloc(64, (n + 63) & ~(size_t)63);
}

static int lb_weights_alloc(void *dev, size_t bytes)
{
	struct loopback *lb = dev;

	if (lb->w_host || !bytes)
		return -EINVAL;
	lb->w_host = alloc64(bytes);
	lb->w_dev = alloc64(bytes);
	if (!lb->w_host || !lb->w_dev)
		return -ENOMEM;
	lb->w_size = bytes;
	return 0;
}

static void *lb_weights_map(void *dev)
{
	return ((struct loopback *)dev)->w_host;
}

static int lb_weights_sync(void *dev, size_t off, size_t len)
{
	struct loopback *lb = dev;

	if (!lb->w_host || off > lb->w_size || len > lb->w_size - off)
		return -EIO;
	memcpy((char *)lb->w_dev + off, (char *)lb->w_host + off, len);
	return 0;
}

static int grow(void **p, size_t *cap, size_t need)
{
	void *n;

	if (*cap >= need)
		return 0;
	n = alloc64(need);
	if (!n)
		return -ENOMEM;
	free(*p);
	*p = n;
	*cap = need;
	return 0;
}

static int lb_slot_buffers(void *dev, unsigned slot, size_t in_bytes, size_t out_bytes)
{
	struct slot *s;

	if (slot >= NPU_XRT_SLOTS || ((struct loopback *)dev)->slot[slot].started)
		return -EINVAL;
	s = &((struct loopback *)dev)->slot[slot];
	if (grow(&s->in, &s->in_cap, in_bytes) || grow(&s->dev_in, &s->dev_cap, in_bytes) ||
	    grow(&s->out, &s->out_cap, out_bytes))
		return -ENOMEM;
	return 0;
}

static void *lb_slot_in(void *dev, unsigned slot)
{
	return ((struct loopback *)dev)->slot[slot].in;
}

static void *lb_slot_out(void *dev, unsigned slot)
{
	return ((struct loopback *)dev)->slot[slot].out;
}

static int lb_start(void *dev, unsigned slot, size_t in_len, size_t out_len)
{
	struct slot *s;

	if (slot >= NPU_XRT_SLOTS)
		return -EIO;
	s = &((struct loopback *)dev)->slot[slot];
	if (s->started || in_len > s->in_cap || in_len > s->dev_cap || out_len > s->out_cap)
		return -EIO;
	memcpy(s->dev_in, s->in, in_len);
	s->in_len = in_len;
	s->out_len = out_len;
	s->started = 1;
	return 0;
}

/* Views of every region entry (the device's weight table). */
static int run_batch(struct loopback *lb, struct slot *s)
{
	const struct tile_batch_hdr *h = s->dev_in;
	unsigned n = tile_region_count(lb->w_dev);
	struct tile_weights **table = NULL;
	int ret = tile_region_check(lb->w_dev, lb->w_size);

	if (ret)
		return -EIO;
	/* the input carries the batch up to its C area, which the device fills */
	if (s->in_len < sizeof(*h) || h->magic != TILE_BATCH_MAGIC || h->c_off > s->in_len ||
	    h->size > s->dev_cap || h->c_size > s->out_len)
		return -EIO;
	if (tile_batch_check(s->dev_in, h->size))
		return -EIO;
	table = calloc(n ? n : 1, sizeof(*table));
	if (!table)
		return -EIO;
	for (unsigned i = 0; i < n && !ret; i++)
		ret = tile_region_view(lb->w_dev, lb->w_size, i, &table[i]);
	if (!ret)
		ret = tile_batch_run(s->dev_in, h->size, (const struct tile_weights *const *)table, n);
	if (!ret)
		memcpy(s->out, (char *)s->dev_in + h->c_off, h->c_size);
	for (unsigned i = 0; i < n; i++)
		tile_weights_free(table[i]);
	free(table);
	return ret ? -EIO : 0;
}

static int lb_wait(void *dev, unsigned slot, unsigned timeout_ms)
{
	struct loopback *lb = dev;
	struct slot *s;
	unsigned run;

	if (slot >= NPU_XRT_SLOTS || !lb->slot[slot].started)
		return -EIO;
	s = &lb->slot[slot];
	s->started = 0;
	run = ++lb->runs;
	if ((lb->fail_every && run % lb->fail_every == 0) ||
	    (lb->timeout_every && run % lb->timeout_every == 0)) {
		memset(s->out, 0xa5, s->out_len);   /* a failed run leaves garbage */
		return lb->timeout_every && run % lb->timeout_every == 0 ? -ETIMEDOUT : -EIO;
	}
	return run_batch(lb, s);
}

static void lb_close(void *dev)
{
	struct loopback *lb = dev;

	if (!lb)
		return;
	for (unsigned i = 0; i < NPU_XRT_SLOTS; i++) {
		free(lb->slot[i].in);
		free(lb->slot[i].dev_in);
		free(lb->slot[i].out);
	}
	free(lb->w_host);
	free(lb->w_dev);
	free(lb);
}

const struct npu_xrt_dev_ops npu_xrt_loopback_ops = {
	.weights_alloc = lb_weights_alloc,
	.weights_map = lb_weights_map,
	.weights_sync = lb_weights_sync,
	.slot_buffers = lb_slot_buffers,
	.slot_in = lb_slot_in,
	.slot_out = lb_slot_out,
	.start = lb_start,
	.wait = lb_wait,
	.close = lb_close,
};

int npu_xrt_loopback_open(void **dev, unsigned fail_every, unsigned timeout_every)
{
	struct loopback *lb = calloc(1, sizeof(*lb));

	if (!lb)
		return -ENOMEM;
	lb->fail_every = fail_every;
	lb->timeout_every = timeout_every;
	*dev = lb;
	return 0;
}
