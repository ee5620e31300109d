/* SPDX-License-Identifier: MIT */
/*
 * sched/npu_internal.h - the scheduler's private structures: jobs, matmul
 * handles, tenants, batches and the engine. Not installed, not for users.
 *
 * Ownership: a matmul handle owns its jobs (one allocation). Once a job is in
 * the ring it belongs to the dispatcher until the dispatcher completes it
 * (runs it or releases it); completing the last job of a matmul wakes its
 * waiters, after which the dispatcher no longer touches the matmul.
 */
#ifndef AMN_NPU_INTERNAL_H
#define AMN_NPU_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "sched/npu.h"
#include "sched/npu_stats.h"
#include "sched/npu_stats_writer.h"

enum npu_kind { NPU_KIND_F32, NPU_KIND_S8 };

struct npu_mm;
struct npu_tenant;

/* One tile job: a block of A rows of one matmul, against all of B. */
struct npu_job {
	struct npu_job *next;      /* dispatcher-private: tenant queue / batch link */
	struct npu_mm *mm;
	int row0, rows;
	uint64_t ops;              /* 2·rows·K·N: the job's cost for DRR and stats */
	int64_t enq_ns;
};

/* A matmul handle (struct npu_matmul in the public API). */
struct npu_mm {
	struct npu_tenant *t;
	struct npu_engine *e;      /* the engine it was submitted to */
	enum npu_kind kind;
	const void *a;
	int M, K, N;
	size_t lda, ldc;
	const struct tile_weights *w;
	const float *bias;
	void *c;
	_Atomic uint32_t pending;  /* jobs not yet completed; futex word */
	_Atomic int status;        /* 0 or the first error */
	_Atomic uint32_t cancel;   /* 1: release jobs instead of running them */
	_Atomic int efd;           /* eventfd, or -1 until asked for */
	pthread_mutex_t efd_lock;
	int64_t submit_ns;
	int njobs;
	struct npu_job jobs[];
};

/* A tenant: its DRR state is touched only by the dispatcher. */
struct npu_tenant {
	struct npu_engine *e;
	char name[NPU_STATS_NAME_LEN];
	unsigned weight;
	int slot;                       /* index in the stats page */
	_Atomic uint64_t rate_ops;      /* 0: no quota */
	_Atomic uint32_t outstanding;   /* matmuls submitted, not completed; futex word */
	struct npu_tenant *next_open;   /* engine's list of open tenants, under e->lock */
	/* dispatcher-private */
	struct npu_job *q_head, *q_tail;
	uint64_t q_len;
	int64_t deficit;
	bool active;                    /* on the DRR active list */
	struct npu_tenant *next_active;
	uint64_t held;                  /* turns the rate quota held the tenant back */
	double tokens;                  /* rate quota bucket, in ops */
	int64_t tokens_ns;
};

/* A batch: the staging buffer one device run is packed into. */
struct npu_batch {
	struct npu_batch *next;     /* backend FIFO link */
	struct npu_job **jobs;
	unsigned n, cap;
	uint64_t ops, tiles;
	int status;                 /* set by the backend: 0, -EIO, -ETIMEDOUT */
	int64_t submit_ns;
	int64_t done_ns;
	uint64_t sim_ns;            /* emu: simulated device time of this run */
	uint64_t sim_busy_ns;       /* emu: simulated core-busy time */
	unsigned coalesced;         /* jobs stacked with other matmuls' rows */
	bool idle_start;            /* submitted with no other run in flight */
	/* stacking space for small jobs that share weights */
	void *a_stage, *c_stage;
	size_t a_cap, c_cap;
	int node;                   /* NUMA node of the staging memory, or -1 */
};

#endif /* AMN_NPU_INTERNAL_H */
