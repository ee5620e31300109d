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
 *
 * Hung runs (opts.hang_every) are modelled in real time: such a run ends
 * hang_ms after its start, in error, and its slot refuses new runs until
 * then. A wait() with a shorter timeout sleeps the timeout and returns
 * -ETIMEDOUT; reclaim() sleeps until the run ends or its own timeout.
 * close() sleeps until every hung run has ended, as the shim must never
 * destroy a run in flight. One thread drives a device (the backend's
 * worker); only the process-wide counters are shared, hence atomic.
 */
#include <errno.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sched/xrt/npu_xrt_dev.h"
#include "tiler/tile.h"
#include "tiler/tile_job.h"
#include "tiler/tile_region.h"

struct slot {
	void *in, *out;          /* host side */
	void *dev_in;            /* device copy of in, as of start() */
	size_t in_cap, dev_cap, out_cap, in_len, out_len;
	int started;             /* a run is in flight (or timed out, not reclaimed) */
	int hung;                /* that run hangs until end_ns */
	uint64_t end_ns;         /* CLOCK_MONOTONIC */
};

struct loopback {
	void *w_host, *w_dev;    /* weights region: host buffer, device copy */
	size_t w_size;
	struct slot slot[NPU_XRT_SLOTS];
	unsigned runs, starts;
	struct npu_xrt_loopback_opts o;
};

/* Statistics only: relaxed, no other memory is published through them. */
static atomic_ulong c_hung, c_reclaimed, c_busy_starts, c_close_waits;

void npu_xrt_loopback_counters(struct npu_xrt_loopback_counters *c)
{
	c->hung = atomic_load_explicit(&c_hung, memory_order_relaxed);
	c->reclaimed = atomic_load_explicit(&c_reclaimed, memory_order_relaxed);
	c->busy_starts = atomic_load_explicit(&c_busy_starts, memory_order_relaxed);
	c->close_waits = atomic_load_explicit(&c_close_waits, memory_order_relaxed);
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void sleep_ns(uint64_t ns)
{
	struct timespec ts = { (time_t)(ns / 1000000000ull), (long)(ns % 1000000000ull) };

	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

/* Sleep until @end_ns or for @timeout_ms (0: no limit); 1 if @end_ns was reached. */
static int sleep_until(uint64_t end_ns, unsigned timeout_ms)
{
	uint64_t now = now_ns(), left = end_ns > now ? end_ns - now : 0;

	if (timeout_ms && left > (uint64_t)timeout_ms * 1000000ull) {
		sleep_ns((uint64_t)timeout_ms * 1000000ull);
		return 0;
	}
	sleep_ns(left);
	return 1;
}

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

static size_t lb_weights_size(void *dev)
{
	return ((struct loopback *)dev)->w_size;
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

	if (slot >= NPU_XRT_SLOTS)
		return -EINVAL;
	if (((struct loopback *)dev)->slot[slot].started)
		return -EBUSY;
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
	struct loopback *lb = dev;

	s = &lb->slot[slot];
	if (s->started) {
		atomic_fetch_add_explicit(&c_busy_starts, 1, memory_order_relaxed);
		return -EBUSY;
	}
	if (in_len > s->in_cap || in_len > s->dev_cap || out_len > s->out_cap)
		return -EIO;
	memcpy(s->dev_in, s->in, in_len);
	s->in_len = in_len;
	s->out_len = out_len;
	s->started = 1;
	s->hung = lb->o.hang_every && ++lb->starts % lb->o.hang_every == 0;
	if (s->hung) {
		s->end_ns = now_ns() + (uint64_t)lb->o.hang_ms * 1000000ull;
		atomic_fetch_add_explicit(&c_hung, 1, memory_order_relaxed);
	}
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
	if (s->hung) {
		memset(s->out, 0xa5, s->out_len);
		if (!sleep_until(s->end_ns, timeout_ms))
			return -ETIMEDOUT;   /* still hung: the slot stays busy */
		s->started = s->hung = 0;
		return -EIO;                 /* ended by the watchdog */
	}
	run = ++lb->runs;
	if (lb->o.timeout_every && run % lb->o.timeout_every == 0) {
		memset(s->out, 0xa5, s->out_len);
		s->end_ns = now_ns();        /* timed out, and ends right away */
		s->hung = 1;
		return -ETIMEDOUT;
	}
	s->started = 0;
	if (lb->o.fail_every && run % lb->o.fail_every == 0) {
		memset(s->out, 0xa5, s->out_len);   /* a failed run leaves garbage */
		return -EIO;
	}
	return run_batch(lb, s);
}

static int lb_reclaim(void *dev, unsigned slot, unsigned timeout_ms)
{
	struct slot *s;

	if (slot >= NPU_XRT_SLOTS)
		return 0;
	s = &((struct loopback *)dev)->slot[slot];
	if (!s->started)
		return 0;
	if (s->hung && s->end_ns > now_ns() &&
	    (!timeout_ms || !sleep_until(s->end_ns, timeout_ms)))
		return -EBUSY;
	s->started = s->hung = 0;
	atomic_fetch_add_explicit(&c_reclaimed, 1, memory_order_relaxed);
	return 0;
}

static void lb_close(void *dev)
{
	struct loopback *lb = dev;

	if (!lb)
		return;
	for (unsigned i = 0; i < NPU_XRT_SLOTS; i++) {
		if (lb->slot[i].started && lb->slot[i].hung) {
			/* never free what a run in flight uses: wait for its end */
			atomic_fetch_add_explicit(&c_close_waits, 1, memory_order_relaxed);
			sleep_until(lb->slot[i].end_ns, 0);
		}
		free(lb->slot[i].in);
		free(lb->slot[i].dev_in);
		free(lb->slot[i].out);
	}
	free(lb->w_host);
	free(lb->w_dev);
	free(lb);
}

static const char *lb_last_error(void *dev)
{
	return "a fault the loopback device injected, or a batch it found malformed";
}

const struct npu_xrt_dev_ops npu_xrt_loopback_ops = {
	.weights_alloc = lb_weights_alloc,
	.weights_map = lb_weights_map,
	.weights_size = lb_weights_size,
	.weights_sync = lb_weights_sync,
	.slot_buffers = lb_slot_buffers,
	.slot_in = lb_slot_in,
	.slot_out = lb_slot_out,
	.start = lb_start,
	.wait = lb_wait,
	.reclaim = lb_reclaim,
	.last_error = lb_last_error,
	.close = lb_close,
};

int npu_xrt_loopback_open(void **dev, const struct npu_xrt_loopback_opts *o)
{
	struct loopback *lb = calloc(1, sizeof(*lb));

	if (!lb)
		return -ENOMEM;
	if (o)
		lb->o = *o;
	*dev = lb;
	return 0;
}
