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
 * argument 5). A slot holds at most one run; runs finish in start order.
 */
#ifndef AMN_NPU_XRT_DEV_H
#define AMN_NPU_XRT_DEV_H

#include <stddef.h>

#define NPU_XRT_SLOTS 2

struct npu_xrt_dev_ops {
	/* weights_alloc - allocate the weights buffer once. Return: 0 or -ENOMEM. */
	int (*weights_alloc)(void *dev, size_t bytes);
	/* weights_map - its host mapping. */
	void *(*weights_map)(void *dev);
	/* weights_sync - push [off, off + len) of it to the device. Return: 0 or -EIO. */
	int (*weights_sync)(void *dev, size_t off, size_t len);
	/* slot_buffers - grow slot @slot's buffers to at least these sizes. 0 or -ENOMEM. */
	int (*slot_buffers)(void *dev, unsigned slot, size_t in_bytes, size_t out_bytes);
	/* slot_in, slot_out - their host mappings, valid until the next slot_buffers(). */
	void *(*slot_in)(void *dev, unsigned slot);
	void *(*slot_out)(void *dev, unsigned slot);
	/* start - push the first @in_len bytes of the input and start the run. 0 or -EIO. */
	int (*start)(void *dev, unsigned slot, size_t in_len, size_t out_len);
	/* wait - wait for the slot's run, then pull the output. 0, -ETIMEDOUT or -EIO. */
	int (*wait)(void *dev, unsigned slot, unsigned timeout_ms);
	/* close - release everything (no run may be in flight). */
	void (*close)(void *dev);
};

/**
 * npu_xrt_loopback_open - the software device. Every @fail_every-th run
 * fails with -EIO and every @timeout_every-th with -ETIMEDOUT (0: never),
 * counted over all runs; results of a failed run are left poisoned.
 * Return: 0 or -ENOMEM.
 */
int npu_xrt_loopback_open(void **dev, unsigned fail_every, unsigned timeout_every);

extern const struct npu_xrt_dev_ops npu_xrt_loopback_ops;

#endif /* AMN_NPU_XRT_DEV_H */
