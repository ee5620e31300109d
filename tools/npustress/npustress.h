/*
 * npustress.h - shared state of the npustress tool: options, per-thread
 * results, and the worker that submits and verifies matmuls.
 */
#ifndef AMN_NPUSTRESS_H
#define AMN_NPUSTRESS_H

#include <stdatomic.h>
#include <stdint.h>

struct npu_tenant;

struct stress_opts {
	const char *backend;
	int threads, tenants;
	double seconds;      /* run time, if count is 0 */
	long count;          /* matmuls per thread; 0: use seconds */
	int max_m, max_k, max_n;
	unsigned fault_ppm;  /* emu: error_ppm = timeout_ppm = this */
	uint64_t seed;
	int json;
};

/* One worker thread: its tenant, its results. Latencies are in microseconds. */
struct stress_thread {
	const struct stress_opts *o;
	struct npu_tenant *tenant;
	int tenant_idx;
	uint64_t seed;
	atomic_int *stop;
	atomic_long *done_total;
	long jobs, mismatches, errors, lost, doubled;
	double ops;          /* 2·M·K·N summed */
	double end_s;        /* CLOCK_MONOTONIC when the worker stopped */
	double *lat_us;      /* owned, one per job */
	long lat_cap;
};

/**
 * stress_worker - pthread body: submit random matmuls until told to stop or
 * the count is reached, verifying each against a scalar reference.
 */
void *stress_worker(void *arg);

#endif /* AMN_NPUSTRESS_H */
