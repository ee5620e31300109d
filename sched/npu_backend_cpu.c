/* SPDX-License-Identifier: MIT */
/*
 * sched/npu_backend_cpu.c - the cpu backend: batches run on a worker thread
 * with the tiler's SIMD kernels (which use their own pool for large calls).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "sched/npu_batch.h"
#include "sched/npu_worker.h"

static int cpu_run(struct npu_worker *w, struct npu_batch *b)
{
	return npu_batch_run_cpu(b, &w->be.tile);
}

static void cpu_close(struct npu_backend *be)
{
	struct npu_worker *w = (struct npu_worker *)be;

	npu_worker_stop(w);
	free(w);
}

static const struct npu_backend_ops cpu_ops = {
	.submit = npu_worker_submit,
	.reap = npu_worker_reap,
	.close = cpu_close,
};

int npu_backend_cpu_open(struct npu_backend **out, const struct tile_opts *tile)
{
	struct npu_worker *w = calloc(1, sizeof(*w));
	int ret;

	if (!w)
		return -ENOMEM;
	w->be.ops = &cpu_ops;
	snprintf(w->be.name, sizeof(w->be.name), "cpu");
	/* Two in flight: the dispatcher packs the next batch while one runs. */
	w->be.max_in_flight = 2;
	/*
	 * Large row blocks: each job is one tiler call, which spreads it over
	 * the worker pool; small blocks would pay the pool's start-up per job.
	 * GEMV rows from different matmuls still stack (npu_batch.c).
	 */
	w->be.job_rows = 256;
	if (tile)
		w->be.tile = *tile;
	w->run = cpu_run;
	ret = npu_worker_start(w);
	if (ret) {
		free(w);
		return ret;
	}
	*out = &w->be;
	return 0;
}
