/* SPDX-License-Identifier: MIT */
/*
 * sched/npu_drr.h - deficit round robin over tenants, with optional per-tenant
 * rate quotas (token buckets). Used by the dispatcher only (not thread-safe).
 *
 * Each backlogged tenant, in turn, earns quantum × weight of credit (in ops)
 * and spends it on jobs from the head of its own FIFO. Over any stretch in
 * which tenants stay backlogged, service is proportional to weight within one
 * quantum, so a flooding tenant cannot starve the others. The turn position
 * survives across batches, so batch boundaries do not bias the shares.
 */
#ifndef AMN_NPU_DRR_H
#define AMN_NPU_DRR_H

#include <stdint.h>
#include "sched/npu_internal.h"

struct npu_drr {
	struct npu_tenant *head, *tail;  /* active (backlogged) tenants */
	uint64_t quantum;                /* credit per weight unit per turn, in ops */
	uint64_t queued;                 /* jobs in all tenant queues */
	uint64_t queued_ops;             /* their ops */
	uint64_t max_ops;                /* a pick stops short of this many ops (0: no limit) */
	bool charged;                    /* head already got its credit this turn */
	uint64_t throttled;              /* turns skipped by a rate quota */
};

/** npu_drr_init - empty scheduler; @quantum 0 adapts to the largest job seen. */
void npu_drr_init(struct npu_drr *d, uint64_t quantum);

/** npu_drr_tenant_init - reset @t's scheduling state (before its first push). */
void npu_drr_tenant_init(struct npu_tenant *t);

/** npu_drr_push - append @j to its tenant's queue and make the tenant active. */
void npu_drr_push(struct npu_drr *d, struct npu_tenant *t, struct npu_job *j);

/**
 * npu_drr_pick - take up to @max jobs in DRR order into @out.
 * @now_ns:  monotonic time, for the rate quotas.
 * @wake_ns: if jobs remain but quotas held them back, receives the earliest
 *           time a quota allows more; else left alone.
 * Return: the number of jobs taken.
 */
unsigned npu_drr_pick(struct npu_drr *d, struct npu_job **out, unsigned max,
		      int64_t now_ns, int64_t *wake_ns);

/** npu_drr_oldest_ns - enqueue time of the oldest queued job, or INT64_MAX. */
int64_t npu_drr_oldest_ns(const struct npu_drr *d);

#endif /* AMN_NPU_DRR_H */
