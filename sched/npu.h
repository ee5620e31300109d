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

/* Everything declared here is the library's API: exported from libamanuensis.so. */
#pragma GCC visibility push(default)

struct npu_engine;
struct npu_tenant;
struct npu_emu_opts;

struct npu_engine_opts {
	const char *backend;  /* "auto", "cpu", "emu", "xrt"; NULL: $NPU_BACKEND, else "auto" */
	int threads;          /* CPU worker threads; 0: $AMN_THREADS, else the CPUs this process may use */
	int tile_edge;        /* 16, 32 or 64; 0: the backend's preferred edge */
	/* Scheduler tuning, added after the first three; 0 means the default. */
	unsigned ring_slots;     /* submission ring size, a power of two; default 4096 */
	unsigned batch_jobs;     /* most jobs per device run; default 64 */
	unsigned t_max_us;       /* flush a partial batch once its oldest job waited this long; default 100 */
	unsigned job_rows;       /* A rows per tile job; default: the backend's (cpu 256, emu 64) */
	int numa_node;           /* node for ring and staging memory (-1: none), if numa_node_set */
	int numa_node_set;       /* 0: use the NPU's node from sysfs, if there is one */
	const struct npu_emu_opts *emu;  /* emu settings; NULL: defaults, with fault rates and seed
					   from $NPU_EMU_ERROR_PPM, _TIMEOUT_PPM, _HANG_PPM, _SEED */
	char *why;               /* if set: receives one line when the backend asked for cannot
				    open (e.g. why there is no usable NPU); else it goes to stderr */
	size_t why_len;          /* size of @why */
};

/**
 * struct npu_emu_opts - the simulated Phoenix NPU (backend "emu").
 * Zeroed fields take the defaults shown. Fault rates are in parts per million
 * of runs; faults are drawn from a generator seeded with @seed.
 */
struct npu_emu_opts {
	unsigned launch_us;        /* first run with nothing in flight: 60 */
	unsigned chain_us;         /* run queued behind another: 22 */
	unsigned cores;            /* compute cores: 16 */
	double   tops;             /* peak INT8 TOPS of all cores: 10 */
	unsigned max_in_flight;    /* 4 */
	unsigned watchdog_ms;      /* a run longer than this times out: 2000 */
	unsigned error_ppm;        /* runs that fail with an error */
	unsigned timeout_ppm;      /* runs that exceed the watchdog */
	unsigned hang_ppm;         /* runs that never complete (the watchdog ends them) */
	uint64_t seed;             /* 0: a fixed default seed */
};

/**
 * npu_engine_open - start an engine (ring, dispatcher, backend).
 * @out:  receives the engine.
 * @opts: NULL for defaults.
 * "auto" probes for an NPU without touching XRT first and falls back to cpu.
 * Return: 0, -ENODEV if an explicitly requested backend is absent (the
 * reason in @opts->why), -EINVAL for an unknown backend name, -ENOMEM.
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

/**
 * npu_tenant_close - wait for the tenant's work, then release it.
 * Tenants are normally closed before their engine; one still open when the
 * engine closes is detached and may only be closed afterwards.
 */
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

/*
 * Asynchronous matmuls.
 *
 * A submitted matmul is split into tile jobs (blocks of rows), queued in the
 * ring and run in batches. The handle tracks the jobs still outstanding; the
 * submitter owns it and releases it with npu_matmul_free(). The buffers passed
 * to a submit must stay valid until the matmul completes.
 */
struct npu_matmul;

/* struct npu_submit_opts - how a submit behaves when the ring is full. */
struct npu_submit_opts {
	int64_t timeout_ns;  /* < 0: block (default when opts is NULL); 0: try (-EAGAIN); > 0: wait at most */
};

/**
 * npu_matmul_submit_f32 - queue C = A·B (+ bias) and return at once.
 * @out:  receives the handle on success.
 * @opts: NULL blocks while the ring is full.
 * Arguments otherwise as npu_matmul_f32().
 * Return: 0, -EINVAL on bad shapes or NULL pointers, -EAGAIN or -ETIMEDOUT if
 * the ring stayed full (nothing of the matmul is left queued then),
 * -ESHUTDOWN while the engine closes, -ENOMEM.
 */
int npu_matmul_submit_f32(struct npu_tenant *t, const float *a, int M, int K, size_t lda,
			  const struct tile_weights *w, const float *bias,
			  float *c, size_t ldc, const struct npu_submit_opts *opts,
			  struct npu_matmul **out);

/** npu_matmul_submit_s8 - the int8 form of npu_matmul_submit_f32(). */
int npu_matmul_submit_s8(struct npu_tenant *t, const int8_t *a, int M, int K, size_t lda,
			 const struct tile_weights *w, int32_t *c, size_t ldc,
			 const struct npu_submit_opts *opts, struct npu_matmul **out);

/**
 * npu_matmul_wait - sleep (futex) until the matmul completes.
 * On the cpu backend the waiting thread first dispatches itself when the
 * dispatcher is free, running a batch of queued jobs (its own, and any
 * stacked with them) on its own thread; @timeout_ns is checked between
 * batches.
 * @timeout_ns: < 0 waits for ever.
 * Return: the matmul's status (0, -ECANCELED if it was cancelled, -EIO if a
 * device run failed and CPU fallback is off), or -ETIMEDOUT if still running.
 */
int npu_matmul_wait(struct npu_matmul *m, int64_t timeout_ns);

/** npu_matmul_poll - 1 if complete, 0 if jobs are outstanding. Never blocks. */
int npu_matmul_poll(const struct npu_matmul *m);

/**
 * npu_matmul_eventfd - an eventfd that becomes readable when @m completes,
 * for poll/epoll/io_uring loops. Owned by the handle (closed by free).
 * Return: the fd, or -errno.
 */
int npu_matmul_eventfd(struct npu_matmul *m);

/**
 * npu_matmul_cancel - release the jobs not yet dispatched to a device and
 * wait for those that were. Afterwards the matmul is complete; its status is
 * -ECANCELED if any job was released, and C is then partly written.
 * Return: the matmul's status.
 */
int npu_matmul_cancel(struct npu_matmul *m);

/** npu_matmul_free - wait for @m to complete, then release it. NULL is a no-op. */
void npu_matmul_free(struct npu_matmul *m);

/**
 * npu_tenant_set_rate - cap a tenant at @ops_per_s multiply-add ops (x2) per
 * second; 0 removes the cap. Return: 0.
 */
int npu_tenant_set_rate(struct npu_tenant *t, uint64_t ops_per_s);

/** struct npu_engine_counters - totals since open, for tests and tools. */
struct npu_engine_counters {
	uint64_t jobs, runs, fallbacks, errors, timeouts, cancelled;
	uint64_t coalesced;     /* jobs that ran stacked with another matmul's rows */
	uint64_t sim_ns;        /* emu: simulated device time */
	uint64_t sim_busy_ns;   /* emu: simulated time the cores computed */
};

/** npu_engine_counters - copy the engine's totals into @out. */
void npu_engine_counters(const struct npu_engine *e, struct npu_engine_counters *out);

#pragma GCC visibility pop

#ifdef __cplusplus
}
#endif
#endif /* AMN_NPU_H */
