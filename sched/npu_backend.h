/* SPDX-License-Identifier: MIT */
/*
 * sched/npu_backend.h - the interface every backend (cpu, emu, xrt) offers
 * the dispatcher (internal).
 *
 * A backend takes filled batches with submit(), runs up to max_in_flight of
 * them at once, and signals each completion on its completion eventfd; the
 * dispatcher then collects finished batches, in completion order, with
 * reap(). A batch that failed on the device carries a negative status; the
 * dispatcher re-runs it on the CPU.
 */
#ifndef AMN_NPU_BACKEND_H
#define AMN_NPU_BACKEND_H

#include "sched/npu_internal.h"
#include "tiler/tile.h"

struct npu_backend;

struct npu_backend_ops {
	/* submit - start running @b; never blocks on the device. Return: 0 or -errno. */
	int (*submit)(struct npu_backend *be, struct npu_batch *b);
	/* reap - one finished batch, or NULL. */
	struct npu_batch *(*reap)(struct npu_backend *be);
	/* close - wait for running batches, stop, free. */
	void (*close)(struct npu_backend *be);
};

/* Fields common to all backends; each backend embeds this first. */
struct npu_backend {
	const struct npu_backend_ops *ops;
	char name[48];
	unsigned max_in_flight;
	unsigned job_rows;          /* preferred A rows per job */
	uint64_t min_run_ops;       /* a run queued behind others should carry at least
				       this much work (its host overhead at the device's
				       rate); 0: no minimum */
	uint64_t max_run_ops;       /* and at most this much, so that work that becomes
				       ready meanwhile can queue behind it; 0: no limit */
	int completion_fd;          /* eventfd: readable when reap() has work */
	bool simulated;
	bool runs_inline;           /* submit() computes the batch before it returns */
	struct tile_opts tile;      /* how the CPU runner calls the tiler */
};

/**
 * npu_backend_cpu_open - the CPU backend: the dispatcher thread itself runs
 * each batch with the tiler's SIMD kernels (and its worker pool) when it
 * submits it. Return: 0 or -errno.
 */
int npu_backend_cpu_open(struct npu_backend **out, const struct tile_opts *tile);

/**
 * npu_backend_emu_open - the simulated Phoenix NPU. Exact results from the
 * CPU runner, times and faults from the cost model (npu_emu_model.h).
 * @opts: NULL for defaults. Return: 0 or -errno.
 */
int npu_backend_emu_open(struct npu_backend **out, const struct tile_opts *tile,
			 const struct npu_emu_opts *opts);

/**
 * npu_backend_xrt_open - the real NPU through the XRT shim, or its loopback
 * device ($NPU_XRT_DEVICE=loopback). Probes sysfs and the device node
 * first, without touching XRT. Prints nothing on failure: @why receives one
 * line saying what is missing (the caller decides whether to show it).
 * Return: 0; -ENODEV when there is no NPU (no accel device, none bound to
 * amdxdna, an unknown family); -EACCES (node not accessible), -ENOSYS (no
 * XRT >= 2.18 in this build), -ENOENT/-EXDEV/-ENOEXEC (kernel files missing,
 * for the other family, or not an xclbin), -ENOMEM (locked-memory limit),
 * -EBUSY (another engine holds the NPU) or another -errno when an NPU is
 * there but cannot be used.
 */
int npu_backend_xrt_open(struct npu_backend **out, const struct tile_opts *tile, char *why,
			 size_t whylen);

#endif /* AMN_NPU_BACKEND_H */
