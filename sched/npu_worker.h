/* SPDX-License-Identifier: MIT */
/*
 * sched/npu_worker.h - a thread that runs submitted batches and reports
 * completions on an eventfd (internal). The emu backend is a worker with its
 * own run function, one batch after another. The xrt backend is a pipelined
 * worker: it starts up to @depth batches on the device (packing the next
 * while the current one runs) and finishes them in start order. The cpu
 * backend runs batches on the dispatching thread instead.
 */
#ifndef AMN_NPU_WORKER_H
#define AMN_NPU_WORKER_H

#include <pthread.h>
#include "sched/npu_backend.h"

struct npu_worker {
	struct npu_backend be;          /* must be first */
	/* one at a time: compute @b, return its status */
	int (*run)(struct npu_worker *w, struct npu_batch *b);
	/*
	 * pipelined (when start is set): start(@b) launches it, or returns its
	 * failed status, or -EBUSY to be retried once the runs in flight are
	 * finished (@idle says none is); finish() waits for the oldest started
	 * batch and returns its status.
	 */
	int (*start)(struct npu_worker *w, struct npu_batch *b, bool idle);
	int (*finish)(struct npu_worker *w, struct npu_batch *b);
	unsigned depth;                 /* pipelined: batches started at once (>= 1) */
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct npu_batch *todo_head, *todo_tail;  /* submitted, not started */
	struct npu_batch *done_head, *done_tail;  /* finished, not reaped */
	bool stop;
	bool started;
};

/**
 * npu_worker_start - initialise @w (its be.name, be.max_in_flight and run,
 * or start, finish and depth, must be set) and start its thread.
 * Return: 0 or -errno.
 */
int npu_worker_start(struct npu_worker *w);

/** npu_worker_stop - finish queued batches, join the thread, free resources. */
void npu_worker_stop(struct npu_worker *w);

/* The npu_backend_ops entries shared by worker-based backends. */
int npu_worker_submit(struct npu_backend *be, struct npu_batch *b);
struct npu_batch *npu_worker_reap(struct npu_backend *be);

#endif /* AMN_NPU_WORKER_H */
