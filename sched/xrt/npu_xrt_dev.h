/* SPDX-License-Identifier: MIT */
/*
 * sched/xrt/npu_xrt_dev.h - the device the xrt backend drives (internal).
 *
 * Two implementations: the XRT shim (npu_xrt_shim.h, the real NPU, built
 * only against XRT >= 2.18) and the loopback (npu_xrt_loopback.c), a
 * software device that executes the same buffers with the tiler's CPU
 * reference of the device side, so that the whole host path (weights
 * region, batch packing, double-buffered slots, timeouts, CPU fallback) is
 * built and tested on machines without an NPU.
 *
 * A device has one weights buffer (the region of tiler/tile_region.h, kernel
 * argument 4) and NPU_XRT_SLOTS slots, each an input buffer (one batch of
 * tiler/tile_job.h, argument 3) and an output buffer (the batch's C area,
 * argument 5). A slot holds at most one run.
 *
 * A run that outlives the caller's timeout is not aborted (amdxdna has no
 * abort command: XRT's abort waits behind the hung run for the driver's
 * watchdog) and is never destroyed while in flight (XRT aborts the process
 * then). wait() returns -ETIMEDOUT and leaves it in flight; the slot stays
 * busy, its output void, until reclaim() sees the run reach a terminal
 * state (the watchdog ends a hung one). start() refuses a busy slot.
 */
#ifndef AMN_NPU_XRT_DEV_H
#define AMN_NPU_XRT_DEV_H

#include <stddef.h>

#define NPU_XRT_SLOTS 2

struct npu_xrt_dev_ops {
	/* weights_alloc - allocate the weights buffer once. Return: 0 or -ENOMEM. */
	int (*weights_alloc)(void *dev, size_t bytes);
	/* weights_map - its host mapping (NULL: not allocated yet). */
	void *(*weights_map)(void *dev);
	/* weights_size - its size in bytes (0: not allocated yet). */
	size_t (*weights_size)(void *dev);
	/* weights_sync - push [off, off + len) of it to the device. Return: 0 or -EIO. */
	int (*weights_sync)(void *dev, size_t off, size_t len);
	/*
	 * slot_buffers - grow slot @slot's buffers to at least these sizes.
	 * Return: 0, -EBUSY (the slot's last run has not ended), -EINVAL or -ENOMEM.
	 */
	int (*slot_buffers)(void *dev, unsigned slot, size_t in_bytes, size_t out_bytes);
	/* slot_in, slot_out - their host mappings, valid until the next slot_buffers(). */
	void *(*slot_in)(void *dev, unsigned slot);
	void *(*slot_out)(void *dev, unsigned slot);
	/*
	 * start - push the first @in_len bytes of the input and start the run.
	 * Return: 0, -EBUSY (the slot's last run has not ended) or -EIO.
	 */
	int (*start)(void *dev, unsigned slot, size_t in_len, size_t out_len);
	/*
	 * wait - wait at most @timeout_ms (0: no limit) for the slot's run, then
	 * pull the output. Return: 0; -EIO (the run ended in error: the slot is
	 * free); -ETIMEDOUT (the run is still in flight: the slot stays busy).
	 */
	int (*wait)(void *dev, unsigned slot, unsigned timeout_ms);
	/*
	 * reclaim - wait at most @timeout_ms (0: only look) for a timed-out run
	 * of the slot to reach a terminal state. Return: 0 (ended, or none: the slot is free)
	 * or -EBUSY (still in flight).
	 */
	int (*reclaim)(void *dev, unsigned slot, unsigned timeout_ms);
	/* last_error - one line on the last failure, for a message. */
	const char *(*last_error)(void *dev);
	/*
	 * close - release everything. A run still in flight is not destroyed:
	 * the loopback waits for it to end; the shim keeps its XRT objects.
	 */
	void (*close)(void *dev);
};

/**
 * struct npu_xrt_loopback_opts - faults of the software device (0: never).
 * @fail_every:    every Nth waited run fails with -EIO.
 * @timeout_every: every Nth waited run times out (-ETIMEDOUT) and ends at once.
 * @hang_every:    every Nth started run hangs: it ends @hang_ms after its
 *                 start, in error (as the driver's watchdog ends it), and
 *                 its slot is busy until then.
 * @hang_ms:       how long a hung run lasts.
 * Results of a failed, timed-out or hung run are left poisoned (0xa5).
 */
struct npu_xrt_loopback_opts {
	unsigned fail_every, timeout_every, hang_every, hang_ms;
};

/**
 * npu_xrt_loopback_open - the software device, with faults from @o (NULL: none).
 * Return: 0 or -ENOMEM.
 */
int npu_xrt_loopback_open(void **dev, const struct npu_xrt_loopback_opts *o);

/**
 * struct npu_xrt_loopback_counters - what every loopback device of the
 * process saw, for tests: runs that hung, hung runs seen ended by
 * reclaim(), starts refused because the slot was busy (a host bug when
 * non-zero), and closes that had to wait for a run in flight.
 */
struct npu_xrt_loopback_counters {
	unsigned long hung, reclaimed, busy_starts, close_waits;
};

/** npu_xrt_loopback_counters - a snapshot of the process-wide counters. */
void npu_xrt_loopback_counters(struct npu_xrt_loopback_counters *c);

extern const struct npu_xrt_dev_ops npu_xrt_loopback_ops;

#endif /* AMN_NPU_XRT_DEV_H */
