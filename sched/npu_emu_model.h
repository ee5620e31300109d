/* SPDX-License-Identifier: MIT */
/*
 * sched/npu_emu_model.h - the cost model of the simulated Phoenix NPU.
 *
 * The model keeps a simulated clock. A run is submitted by the host at a
 * simulated time; it pays the launch cost when nothing is in flight and the
 * (smaller) chained cost when it queues behind another run, and the host
 * overhead overlaps with the device computing earlier runs. Compute time is
 * the run's tiles spread over the cores in waves, at the per-core peak rate.
 * At most max_in_flight runs are outstanding; the host waits for the oldest
 * to retire beyond that. Pure arithmetic: no threads, no sleeping.
 */
#ifndef AMN_NPU_EMU_MODEL_H
#define AMN_NPU_EMU_MODEL_H

#include <stdint.h>
#include "sched/npu.h"

#define NPU_EMU_MAX_IN_FLIGHT 16

enum npu_emu_fault { NPU_EMU_OK, NPU_EMU_ERROR, NPU_EMU_TIMEOUT, NPU_EMU_HANG };

struct npu_emu_model {
	struct npu_emu_opts o;          /* with defaults filled in */
	uint64_t host_ns;               /* simulated host clock */
	uint64_t dev_free_ns;           /* when the cores finish their last run */
	uint64_t done_ns[NPU_EMU_MAX_IN_FLIGHT];  /* completion times in flight */
	unsigned n_in_flight;
	uint64_t busy_ns;               /* core-time actually computing / cores */
	uint64_t first_ns, last_ns;     /* span of device activity */
	uint64_t rng;
};

/**
 * npu_emu_model_init - fill defaults into @opts's zero fields (NULL: all
 * defaults) and reset the clock.
 */
void npu_emu_model_init(struct npu_emu_model *m, const struct npu_emu_opts *opts);

/**
 * npu_emu_model_run - simulate one run of @tiles equal tiles worth @ops ops.
 * @fault: receives the injected fault for this run (drawn from the seed).
 * Advances the host clock by the submission and returns the simulated
 * completion time; a faulted run still occupies the device (a timeout or hang
 * for the whole watchdog period).
 */
uint64_t npu_emu_model_run(struct npu_emu_model *m, uint64_t ops, uint64_t tiles,
			   enum npu_emu_fault *fault);

/** npu_emu_model_drain - advance the host clock until nothing is in flight. */
void npu_emu_model_drain(struct npu_emu_model *m);

/** npu_emu_model_utilization - busy time over the active span, 0..1. */
double npu_emu_model_utilization(const struct npu_emu_model *m);

/** npu_emu_model_span_ns - first submission to last completion. */
uint64_t npu_emu_model_span_ns(const struct npu_emu_model *m);

#endif /* AMN_NPU_EMU_MODEL_H */
