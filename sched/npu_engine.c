/* SPDX-License-Identifier: MIT */
/*
 * sched/npu_engine.c - engine and tenant lifetime: choose a backend, create
 * the ring, batches and stats page, start and stop the dispatcher.
 */
#include <errno.h>
#include <limits.h>
#include <numa.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/amn_env.h"
#include "common/amn_threads.h"
#include "sched/npu_batch.h"
#include "sched/npu_engine_internal.h"
#include "sched/npu_futex.h"
#include "sched/npu_probe.h"

#define DEFAULT_RING_SLOTS 4096
#define DEFAULT_BATCH_JOBS 64
#define DEFAULT_T_MAX_US 100
#define DEFAULT_JOB_ROWS 64

#define PPM_MAX 1000000   /* fault rates are per million runs */

/* emu settings from $NPU_EMU_ERROR_PPM, _TIMEOUT_PPM, _HANG_PPM, _SEED. */
static void emu_opts_from_env(struct npu_emu_opts *eo)
{
	memset(eo, 0, sizeof(*eo));
	eo->error_ppm = (unsigned)amn_env_ulong("NPU_EMU_ERROR_PPM", 0, PPM_MAX, 0);
	eo->timeout_ppm = (unsigned)amn_env_ulong("NPU_EMU_TIMEOUT_PPM", 0, PPM_MAX, 0);
	eo->hang_ppm = (unsigned)amn_env_ulong("NPU_EMU_HANG_PPM", 0, PPM_MAX, 0);
	eo->seed = amn_env_ulong("NPU_EMU_SEED", 0, ULONG_MAX, 0);
}

/*
 * Pick and open the backend named by opts, $NPU_BACKEND or "auto". An
 * explicit "xrt" that cannot open says why in opts->why (else on stderr);
 * "auto" goes on with the CPU, silently when there is no NPU at all, with
 * one line when there is one that cannot be used.
 */
static int open_backend(struct npu_engine *e, const struct npu_engine_opts *o)
{
	const char *name = o && o->backend ? o->backend : getenv("NPU_BACKEND");
	const struct npu_emu_opts *emu = o ? o->emu : NULL;
	struct npu_emu_opts env_emu;
	char why[512] = "";
	int ret;

	if (!name || !*name)
		name = "auto";
	if (!strcmp(name, "cpu"))
		return npu_backend_cpu_open(&e->be, &e->tile);
	if (!strcmp(name, "emu")) {
		if (!emu) {
			emu_opts_from_env(&env_emu);
			emu = &env_emu;
		}
		return npu_backend_emu_open(&e->be, &e->tile, emu);
	}
	if (!strcmp(name, "xrt")) {
		ret = npu_backend_xrt_open(&e->be, &e->tile, why, sizeof(why));
		if (!ret)
			return 0;
		if (o && o->why && o->why_len)
			snprintf(o->why, o->why_len, "%s", why);
		else
			fprintf(stderr, "amanuensis: npu: %s\n", why);
		return -ENODEV;
	}
	if (strcmp(name, "auto")) {
		if (o && o->why && o->why_len)
			snprintf(o->why, o->why_len, "unknown backend '%s' (auto, cpu, emu, xrt)", name);
		else
			fprintf(stderr, "amanuensis: unknown NPU_BACKEND '%s' (auto, cpu, emu, xrt)\n",
				name);
		return -EINVAL;
	}
	/* auto: the NPU if present and wanted, else the CPU. */
	if (amn_env_bool("WHISPER_NPU_MATMUL", true)) {
		ret = npu_backend_xrt_open(&e->be, &e->tile, why, sizeof(why));
		if (!ret)
			return 0;
		if (ret != -ENODEV)
			fprintf(stderr, "amanuensis: npu: %s; using the CPU\n", why);
	}
	return npu_backend_cpu_open(&e->be, &e->tile);
}

static void free_batches(struct npu_engine *e)
{
	for (unsigned i = 0; i < e->n_batches; i++)
		npu_batch_fini(&e->batches[i]);
	free(e->batches);
}

#if defined(__has_include)
#if __has_include(<valgrind/valgrind.h>)
#include <valgrind/valgrind.h>
#define AMN_HAVE_VALGRIND_H 1
#endif
#endif

static bool under_valgrind(void)
{
#ifdef AMN_HAVE_VALGRIND_H
	return RUNNING_ON_VALGRIND;
#else
	return false;
#endif
}

/*
 * The process name for the stats page: the executable's file name, cut to
 * @len - 1 bytes. The whole path is read first, so that a long directory
 * does not eat into the name; without /proc, the name the program was
 * invoked as.
 */
static void proc_name(char *dst, size_t len)
{
	char path[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", path, sizeof(path) - 1);
	const char *base = program_invocation_short_name;

	if (n > 0) {
		path[n] = '\0';
		base = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
	}
	n = (ssize_t)strnlen(base, len - 1);
	memcpy(dst, base, (size_t)n);
	dst[n] = '\0';
}

int npu_engine_open(struct npu_engine **out, const struct npu_engine_opts *o)
{
	struct npu_engine *e;
	unsigned slots;
	int node = -1, ret;

	if (!out)
		return -EINVAL;
	e = calloc(1, sizeof(*e));
	if (!e)
		return -ENOMEM;
	pthread_mutex_init(&e->lock, NULL);
	pthread_mutex_init(&e->dlock, NULL);
	e->tile.threads = o && o->threads > 0 ? o->threads : amn_threads_default();
	e->tile.tile_edge = o ? o->tile_edge : 0;
	e->batch_jobs = o && o->batch_jobs ? o->batch_jobs : DEFAULT_BATCH_JOBS;
	e->t_max_ns = (int64_t)(o && o->t_max_us ? o->t_max_us : DEFAULT_T_MAX_US) * 1000;
	e->fallback = amn_env_bool("WHISPER_NPU_FALLBACK", true);
	slots = o && o->ring_slots ? o->ring_slots : DEFAULT_RING_SLOTS;
	if (o && o->numa_node_set)
		node = o->numa_node;
	else if (numa_available() >= 0)
		node = npu_probe_numa_node();

	ret = open_backend(e, o);
	if (ret)
		goto err_free;
	e->job_rows = o && o->job_rows ? o->job_rows :
		      e->be->job_rows ? e->be->job_rows : DEFAULT_JOB_ROWS;
	ret = npu_ring_create(&e->ring, slots, node);
	if (ret) {
		if (ret == -EINVAL)
			fprintf(stderr, "amanuensis: ring_slots %u is not a power of two >= 2\n", slots);
		goto err_backend;
	}
	e->n_batches = e->be->max_in_flight + 1;
	e->batches = calloc(e->n_batches, sizeof(*e->batches));
	if (!e->batches) {
		ret = -ENOMEM;
		goto err_ring;
	}
	for (unsigned i = 0; i < e->n_batches; i++) {
		ret = npu_batch_init(&e->batches[i], e->batch_jobs, node);
		if (ret)
			goto err_batches;
		e->batches[i].next = e->free_batches;
		e->free_batches = &e->batches[i];
	}
	npu_drr_init(&e->drr, 0);
	e->drr.max_ops = e->be->max_run_ops;
	/*
	 * The dispatcher sleeps in io_uring; where that is unavailable (a
	 * seccomp filter, an old kernel) or unusable (valgrind, which does not
	 * let other threads run while one waits in io_uring_enter()), it
	 * sleeps in ppoll() on the same two eventfds instead.
	 */
	e->uring_ok = !under_valgrind() && io_uring_queue_init(8, &e->uring, 0) == 0;

	snprintf(e->name, sizeof(e->name), "%s", e->be->name);
	e->shadow.n_devices = 1;
	snprintf(e->shadow.devices[0].name, NPU_STATS_NAME_LEN, "npu0");
	snprintf(e->shadow.devices[0].backend, NPU_STATS_NAME_LEN, "%s", e->be->name);
	e->shadow.devices[0].flags = e->be->simulated ? NPU_STATS_DEV_SIMULATED : 0;
	e->shadow.devices[0].max_in_flight = e->be->max_in_flight;
	proc_name(e->shadow.comm, sizeof(e->shadow.comm));
	/* Stats are best effort: an engine without /dev/shm still runs. */
	e->stats_ok = npu_stats_writer_open(&e->statsw) == 0;
	if (e->stats_ok)
		npu_stats_writer_publish(&e->statsw, &e->shadow);

	ret = -pthread_create(&e->thread, NULL, npu_dispatcher_main, e);
	if (ret)
		goto err_stats;
	e->thread_started = true;
	*out = e;
	return 0;

err_stats:
	if (e->stats_ok)
		npu_stats_writer_close(&e->statsw);
	if (e->uring_ok)
		io_uring_queue_exit(&e->uring);
err_batches:
	free_batches(e);
err_ring:
	npu_ring_destroy(e->ring);
err_backend:
	e->be->ops->close(e->be);
err_free:
	pthread_mutex_destroy(&e->dlock);
	pthread_mutex_destroy(&e->lock);
	free(e);
	return ret;
}

void npu_engine_close(struct npu_engine *e)
{
	uint64_t one = 1;

	if (!e)
		return;
	/* New submits now fail; wait for those already inside submit. */
	atomic_store(&e->closing, 1);
	while (atomic_load(&e->submitters))
		sched_yield();
	/* The dispatcher runs everything queued, then exits. */
	atomic_store_explicit(&e->stop, 1, memory_order_seq_cst);
	if (write(npu_ring_doorbell_fd(e->ring), &one, sizeof(one)) < 0) {
		/* saturated: it is awake */
	}
	pthread_join(e->thread, NULL);
	/* Waiters that were dispatching for themselves leave the lock soon. */
	while (atomic_load(&e->helpers))
		sched_yield();
	/* Tenants still open outlive the engine: detach them. */
	pthread_mutex_lock(&e->lock);
	for (struct npu_tenant *t = e->tenants; t; t = t->next_open) {
		t->e = NULL;
		t->slot = -1;
	}
	pthread_mutex_unlock(&e->lock);
	e->be->ops->close(e->be);
	if (e->uring_ok)
		io_uring_queue_exit(&e->uring);
	if (e->stats_ok)
		npu_stats_writer_close(&e->statsw);
	free_batches(e);
	npu_ring_destroy(e->ring);
	pthread_mutex_destroy(&e->lock);
	pthread_mutex_destroy(&e->dlock);
	free(e);
}

const char *npu_engine_backend_name(const struct npu_engine *e)
{
	return e->name;
}

void npu_engine_counters(const struct npu_engine *e, struct npu_engine_counters *out)
{
	struct npu_engine *m = (struct npu_engine *)e;

	out->jobs = atomic_load(&m->c_jobs);
	out->runs = atomic_load(&m->c_runs);
	out->fallbacks = atomic_load(&m->c_fallbacks);
	out->errors = atomic_load(&m->c_errors);
	out->timeouts = atomic_load(&m->c_timeouts);
	out->cancelled = atomic_load(&m->c_cancelled);
	out->coalesced = atomic_load(&m->c_coalesced);
	out->sim_ns = atomic_load(&m->c_sim_ns);
	out->sim_busy_ns = atomic_load(&m->c_sim_busy_ns);
}

int npu_tenant_open(struct npu_engine *e, struct npu_tenant **out, const char *name,
		    unsigned weight)
{
	struct npu_tenant *t;

	if (!e || !out || !name)
		return -EINVAL;
	if (weight < 1) {
		fprintf(stderr, "amanuensis: tenant '%s': weight must be >= 1\n", name);
		return -EINVAL;
	}
	t = calloc(1, sizeof(*t));
	if (!t)
		return -ENOMEM;
	t->e = e;
	t->weight = weight;
	snprintf(t->name, sizeof(t->name), "%s", name);
	npu_drr_tenant_init(t);
	t->slot = -1;
	pthread_mutex_lock(&e->lock);
	t->next_open = e->tenants;
	e->tenants = t;
	for (int i = 0; i < NPU_STATS_MAX_TENANTS; i++) {
		struct npu_stats_tenant *ts = &e->shadow.tenants[i];

		if (ts->active)
			continue;
		memset(ts, 0, sizeof(*ts));
		ts->active = 1;
		ts->weight = weight;
		snprintf(ts->name, sizeof(ts->name), "%s", name);
		t->slot = i;
		if ((uint32_t)i + 1 > e->shadow.n_tenants)
			e->shadow.n_tenants = i + 1;
		break;
	}
	pthread_mutex_unlock(&e->lock);
	*out = t;
	return 0;
}

int npu_tenant_set_rate(struct npu_tenant *t, uint64_t ops_per_s)
{
	atomic_store_explicit(&t->rate_ops, ops_per_s, memory_order_relaxed);
	if (t->e && t->slot >= 0) {
		pthread_mutex_lock(&t->e->lock);
		t->e->shadow.tenants[t->slot].rate_ops = ops_per_s;
		pthread_mutex_unlock(&t->e->lock);
	}
	return 0;
}

void npu_tenant_close(struct npu_tenant *t)
{
	uint32_t n;

	if (!t)
		return;
	/* Outstanding matmuls hold the tenant; the dispatcher drops it when its queue empties. */
	while ((n = atomic_load_explicit(&t->outstanding, memory_order_acquire)))
		npu_futex_wait(&t->outstanding, n, -1);
	if (t->e) {
		struct npu_engine *e = t->e;
		struct npu_tenant **pp;

		pthread_mutex_lock(&e->lock);
		for (pp = &e->tenants; *pp != t; pp = &(*pp)->next_open)
			;
		*pp = t->next_open;
		if (t->slot >= 0)
			e->shadow.tenants[t->slot].active = 0;
		pthread_mutex_unlock(&e->lock);
	}
	free(t);
}
