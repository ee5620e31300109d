/* SPDX-License-Identifier: MIT */
/*
 * sched/npu_backend_cpu.c - the cpu backend: the dispatcher runs each batch
 * itself, with the tiler's SIMD kernels and its worker pool, when it submits
 * it.
 *
 * Running on the dispatcher thread saves two thread hand-offs per batch (to
 * a worker and back), which for a decoder-sized matmul cost as much as the
 * computation. Nothing is lost by not overlapping: the "device" is the same
 * CPU cores, and jobs that arrive meanwhile wait in the ring and form the
 * next batch (which is how GEMVs from many threads get stacked).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "sched/npu_backend.h"
#include "sched/npu_batch.h"
#include "sched/npu_futex.h"

struct cpu_backend {
	struct npu_backend be;          /* must be first */
	struct npu_batch *done;         /* the batch just run, until reaped */
};

static int cpu_submit(struct npu_backend *be, struct npu_batch *b)
{
	struct cpu_backend *cb = (struct cpu_backend *)be;

	b->next = NULL;
	b->submit_ns = npu_now_ns();
	b->status = npu_batch_run_cpu(b, &be->tile);
	b->done_ns = npu_now_ns();
	cb->done = b;
	return 0;
}

static struct npu_batch *cpu_reap(struct npu_backend *be)
{
	struct cpu_backend *cb = (struct cpu_backend *)be;
	struct npu_batch *b = cb->done;

	cb->done = NULL;
	return b;
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
	struct cpu_backend *cb = calloc(1, sizeof(*cb));

	if (!cb)
		return -ENOMEM;
	cb->be.ops = &cpu_ops;
	snprintf(cb->be.name, sizeof(cb->be.name), "cpu");
	/* One at a time: a batch is finished when submit() returns. */
	cb->be.max_in_flight = 1;
	cb->be.runs_inline = true;
	/*
	 * Large row blocks: each job is one tiler call, which spreads it over
	 * the worker pool; small blocks would pay the pool's start-up per job.
	 * GEMV rows from different matmuls still stack (npu_batch.c).
	 */
	cb->be.job_rows = 256;
	if (tile)
		cb->be.tile = *tile;
	/* Never signalled (completions are immediate); the dispatcher polls it. */
	cb->be.completion_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (cb->be.completion_fd < 0) {
		int ret = -errno;

		free(cb);
		return ret;
	}
	*out = &cb->be;
	return 0;
}
