/* SPDX-License-Identifier: MIT */
/*
 * sched/npu_backend_emu.c - the emu backend: a simulated Phoenix NPU.
 *
 * Results are exact: a healthy run is computed by the same CPU batch runner
 * as the cpu backend. Timing comes from the cost model (npu_emu_model.h) and
 * is reported as simulated; nothing sleeps. The simulated clock follows the
 * dispatcher: a batch it submits with nothing else in flight finds the
 * simulated device idle too. Injected faults leave the run's
 * outputs poisoned and fail it with -EIO (error) or -ETIMEDOUT (timeout, or a
 * hang that the watchdog ends), so the dispatcher's CPU fallback must redo it.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "common/amn_threads.h"
#include "sched/npu_batch.h"
#include "sched/npu_emu_model.h"
#include "sched/npu_worker.h"

struct emu {
	struct npu_worker w;            /* must be first */
	struct npu_emu_model model;     /* touched only by the worker thread */
	uint64_t last_done_ns;
};

static int emu_run(struct npu_worker *w, struct npu_batch *b)
{
	struct emu *emu = (struct emu *)w;
	uint64_t busy0 = emu->model.busy_ns, done, prev;
	enum npu_emu_fault f;

	/*
	 * The dispatcher had nothing else in flight: every earlier run has
	 * been reaped, so on the simulated clock too the device went idle
	 * first, and this run pays the full launch cost.
	 */
	if (b->idle_start)
		npu_emu_model_drain(&emu->model);
	done = npu_emu_model_run(&emu->model, b->ops, b->tiles, &f);
	prev = emu->last_done_ns > emu->model.first_ns ? emu->last_done_ns : emu->model.first_ns;
	b->sim_ns = done > prev ? done - prev : 0;
	b->sim_busy_ns = emu->model.busy_ns - busy0;
	emu->last_done_ns = done;
	switch (f) {
	case NPU_EMU_ERROR:
		npu_batch_poison(b);
		return -EIO;
	case NPU_EMU_TIMEOUT:
	case NPU_EMU_HANG:
		npu_batch_poison(b);
		return -ETIMEDOUT;
	default:
		return npu_batch_run_cpu(b, &w->be.tile);
	}
}

/*
 * Threads for computing the exact results: one fewer than the library's
 * default (AMN_THREADS, else the CPUs this process may use). The simulated
 * clock follows the host threads (dispatcher, graphs, callers); if the
 * simulation's own arithmetic kept every CPU busy, those threads would run
 * late and the model would book their delay as device idle time that a real
 * NPU, which needs no host CPU to compute, would not see.
 */
static int spare_one_cpu(void)
{
	int n = amn_threads_default();

	return n > 2 ? n - 1 : 1;
}

static void emu_close(struct npu_backend *be)
{
	struct emu *emu = (struct emu *)be;

	npu_worker_stop(&emu->w);
	free(emu);
}

static const struct npu_backend_ops emu_ops = {
	.submit = npu_worker_submit,
	.reap = npu_worker_reap,
	.close = emu_close,
};

int npu_backend_emu_open(struct npu_backend **out, const struct tile_opts *tile,
			 const struct npu_emu_opts *opts)
{
	struct emu *emu = calloc(1, sizeof(*emu));
	int ret;

	if (!emu)
		return -ENOMEM;
	npu_emu_model_init(&emu->model, opts);
	emu->w.be.ops = &emu_ops;
	emu->w.be.simulated = true;
	emu->w.be.max_in_flight = emu->model.o.max_in_flight;
	emu->w.be.job_rows = 64;  /* one row of 64x64 tiles, as on the device */
	/*
	 * A chained run costs chain_us of host time: carry at least that much
	 * compute, and not much more than four times it, so that work which
	 * becomes ready meanwhile (the next step's rows) queues behind it
	 * instead of waiting for one long run to finish.
	 */
	emu->w.be.min_run_ops = (uint64_t)(emu->model.o.chain_us * emu->model.o.tops * 1e6);
	emu->w.be.max_run_ops = 4 * emu->w.be.min_run_ops;
	snprintf(emu->w.be.name, sizeof(emu->w.be.name), "emu phoenix (simulated)");
	if (tile)
		emu->w.be.tile = *tile;
	if (!emu->w.be.tile.threads)
		emu->w.be.tile.threads = spare_one_cpu();
	emu->w.run = emu_run;
	ret = npu_worker_start(&emu->w);
	if (ret) {
		free(emu);
		return ret;
	}
	*out = &emu->w.be;
	return 0;
}
