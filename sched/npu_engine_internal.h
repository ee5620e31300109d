/* SPDX-License-Identifier: MIT */
/*
 * sched/npu_engine_internal.h - the engine structure shared by the engine,
 * dispatcher and matmul files (internal).
 */
#ifndef AMN_NPU_ENGINE_INTERNAL_H
#define AMN_NPU_ENGINE_INTERNAL_H

#include <liburing.h>
#include <pthread.h>

#include "sched/npu_backend.h"
#include "sched/npu_drr.h"
#include "sched/npu_internal.h"
#include "sched/npu_ring.h"
#include "sched/npu_stats_writer.h"

struct npu_engine {
	struct npu_backend *be;
	struct npu_ring *ring;
	struct tile_opts tile;          /* for CPU fallback runs */
	unsigned batch_jobs;
	int64_t t_max_ns;
	unsigned job_rows;
	bool fallback;                  /* re-run failed device runs on the CPU */
	char name[96];

	/* submitters in progress; close waits for them after setting closing */
	_Atomic uint32_t submitters;
	_Atomic uint32_t closing;
	_Atomic uint32_t stop;          /* tells the dispatcher to drain and exit */

	/*
	 * Dispatcher state below is owned by whoever holds dlock: the
	 * dispatcher thread, or, on a backend that runs batches inline (cpu),
	 * a thread waiting for its matmul that does a round itself
	 * (npu_dispatch_help()). helpers counts threads inside that call, so
	 * that close can wait for them to leave.
	 */
	pthread_mutex_t dlock;
	_Atomic uint32_t helpers;
	pthread_t thread;
	bool thread_started;
	struct io_uring uring;
	bool uring_ok;
	bool bell_pending, comp_pending;
	struct npu_drr drr;
	struct npu_batch *batches;      /* max_in_flight + 1: one packs while others run */
	unsigned n_batches;
	struct npu_batch *free_batches;
	unsigned in_flight;
	int64_t busy_since;
	int64_t last_publish_ns;
	bool stats_dirty;               /* counters changed since the last publish */
	bool publish_due;               /* the dispatcher thread will publish them (it has the deadline) */

	/* stats: private copy under lock, published by the dispatcher */
	pthread_mutex_t lock;
	struct npu_tenant *tenants;     /* open tenants, under lock */
	struct npu_stats_page shadow;
	struct npu_stats_writer statsw;
	bool stats_ok;

	/* totals (npu_engine_counters) */
	_Atomic uint64_t c_jobs, c_runs, c_fallbacks, c_errors, c_timeouts, c_cancelled;
	_Atomic uint64_t c_coalesced, c_sim_ns, c_sim_busy_ns;
};

/** npu_dispatcher_main - the dispatcher thread (npu_dispatch.c). */
void *npu_dispatcher_main(void *arg);

/**
 * npu_dispatch_help - a waiter's turn at dispatching (cpu backend only).
 * @m: the caller's unfinished matmul, which pins the engine: the engine
 *     cannot finish closing before @m completes, and @m completes under its
 *     efd_lock, which this takes before touching the engine.
 * If the dispatcher is free, run one round on the calling thread: take in the
 * ring, run a batch (stacking whatever shares weights), complete its jobs.
 * Return: true if the round did something (check @m again), false if the
 * caller should sleep.
 */
bool npu_dispatch_help(struct npu_mm *m);

/** npu_job_complete - finish one job with @status (dispatcher only). */
void npu_job_complete(struct npu_engine *e, struct npu_job *j, int status);

#endif /* AMN_NPU_ENGINE_INTERNAL_H */
