/* SPDX-License-Identifier: MIT */
/*
 * sched/npu_backend_cpu.c - the cpu backend: a batch runs on the thread that
 * dispatches it (the dispatcher thread, or a thread waiting for its own
 * matmul), with the tiler's SIMD kernels and pool.
 *
 * Running where the batch is packed saves two thread hand-offs per batch (to
 * a worker and back), which for a decoder-sized matmul cost as much as the
 * computation. One batch runs at a time: jobs that arrive meanwhile wait in
 * the ring and form the next batch, which is how GEMVs from many threads
 * against the same weights end up stacked into one tall tiler call.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "common/amn_threads.h"
#include "sched/npu_backend.h"
#include "sched/npu_batch.h"
#include "sched/npu_futex.h"

/* Runs @b now, on the calling thread (the one that dispatched it). */
static int cpu_submit(struct npu_backend *be, struct npu_batch *b)
{
	int ret;

	b->next = NULL;
	b->submit_ns = npu_now_ns();
	ret = npu_batch_run_cpu(b, &be->tile);
	b->done_ns = npu_now_ns();
	return ret;
}

/* Never called: the dispatcher completes inline batches itself. */
static struct npu_batch *cpu_reap(struct npu_backend *be)
{
	return NULL;
}

static void cpu_close(struct npu_backend *be)
{
	close(be->completion_fd);
	free(be);
}

static const struct npu_backend_ops cpu_ops = {
	.submit = cpu_submit,
	.reap = cpu_reap,
	.close = cpu_close,
};

int npu_backend_cpu_open(struct npu_backend **out, const struct tile_opts *tile)
{
	struct npu_backend *be = calloc(1, sizeof(*be));

	if (!be)
		return -ENOMEM;
	be->ops = &cpu_ops;
	snprintf(be->name, sizeof(be->name), "cpu");
	be->runs_inline = true;
	if (tile)
		be->tile = *tile;
	/*
	 * Up to one batch per CPU at a time (the library's default thread
	 * count: $AMN_THREADS, else the CPUs this process may use). A batch
	 * that runs alone gets every core through the tiler's pool; batches
	 * that run together (many transcriptions at once) each take a core,
	 * since a pool that is busy
	 * lets its caller run the call alone (tile_pool.h). While they run,
	 * GEMVs from other threads pile up in the ring and the next batch
	 * stacks them.
	 */
	be->max_in_flight = (unsigned)amn_threads_default();
	/*
	 * Large row blocks: each job is one tiler call, which spreads it over
	 * the worker pool; small blocks would pay the pool's start-up per job.
	 * GEMV rows from different matmuls still stack (npu_batch.c).
	 */
	be->job_rows = 256;
	/* Never signalled (completions are immediate); the dispatcher polls it. */
	be->completion_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (be->completion_fd < 0) {
		int ret = -errno;

		free(be);
		return ret;
	}
	*out = be;
	return 0;
}
