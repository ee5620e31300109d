/* SPDX-License-Identifier: MIT */
/*
 * sched/npu.h - the engine: tenants submit matmuls, the scheduler turns them
 * into tile jobs, queues them in a lock-free ring and one dispatcher per device
 * runs them in batches on a backend (cpu, emu or xrt).
 *
 * This is the entry point everything above sched/ uses (whisper/, tools/).
 * All calls are thread-safe unless noted. Errors are negative errno values.
 *
 * The asynchronous API (npu_matmul_submit_*, wait, poll, eventfd, cancel) is
 * declared further down by the scheduler; the synchronous calls below are
 * submit + wait.
 */
#ifndef AMN_NPU_H
#define AMN_NPU_H

#include <stddef.h>
#include <stdint.h>
#include "tiler/tile.h"

#ifdef __cplusplus
extern "C" {
#endif

struct npu_engine;
struct npu_tenant;

struct npu_engine_opts {
	const char *backend;  /* "auto", "cpu", "emu", "xrt"; NULL: $NPU_BACKEND, else "auto" */
	int threads;          /* CPU worker threads; 0: $AMN_THREADS, else online CPUs */
	int tile_edge;        /* 16, 32 or 64; 0: the backend's preferred edge */
};

/**
 * npu_engine_open - start an engine (ring, dispatcher, backend).
 * @out:  receives the engine.
 * @opts: NULL for defaults.
 * "auto" probes for an NPU without touching XRT first and falls back to cpu.
 * Return: 0, -ENODEV if an explicitly requested backend is absent, -ENOMEM.
 */
int npu_engine_open(struct npu_engine **out, const struct npu_engine_opts *opts);

/** npu_engine_close - finish or cancel all work, stop threads, free. */
void npu_engine_close(struct npu_engine *e);

/** npu_engine_backend_name - e.g. "cpu avx512-vnni", "emu phoenix (simulated)". */
const char *npu_engine_backend_name(const struct npu_engine *e);

/**
 * npu_tenant_open - open a client of the engine.
 * @name:   shown by npustat; copied.
 * @weight: share of the device under contention (>= 1).
 */
int npu_tenant_open(struct npu_engine *e, struct npu_tenant **out,
		    const char *name, unsigned weight);

/** npu_tenant_close - wait for the tenant's work, then release it. */
void npu_tenant_close(struct npu_tenant *t);

/**
 * npu_matmul_f32 - C = A·B through the engine, fp32 in and out (see tile.h).
 * Blocks until every tile job has completed. Return: 0 or -errno.
 */
int npu_matmul_f32(struct npu_tenant *t, const float *a, int M, int K, size_t lda,
		   const struct tile_weights *w, const float *bias,
		   float *c, size_t ldc);

/** npu_matmul_s8 - exact int8 C = A·B through the engine. Return: 0 or -errno. */
int npu_matmul_s8(struct npu_tenant *t, const int8_t *a, int M, int K, size_t lda,
		  const struct tile_weights *w, int32_t *c, size_t ldc);

#ifdef __cplusplus
}
#endif
#endif /* AMN_NPU_H */
