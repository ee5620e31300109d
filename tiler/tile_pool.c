/* SPDX-License-Identifier: MIT */
/*
 * tiler/tile_pool.c - persistent worker pool: one generation per parallel-for.
 *
 * A call never waits for a worker that has not started: once the caller
 * has taken the last item it closes the generation, and a worker that wakes
 * later skips it. The caller then waits only for the workers still running
 * an item. Idle workers and that waiting caller spin for a short while
 * (AMN_POOL_SPIN_US, default 100 µs) before blocking on the condition
 * variables, so back-to-back matmuls do not pay a futex wake-up each: a
 * sleeping thread on a busy machine may wait a whole scheduler slice.
 *
 * Placement: a worker woken by the caller is often put on the caller's own
 * CPU (the scheduler prefers the waker's cache; on KVM an idle vCPU can look
 * unavailable), and the two then take turns on one CPU while another idles,
 * for the milliseconds until the load balancer moves one: measured here, most
 * 2-thread calls of 0.3-0.6 ms ran on one CPU. So the caller, before it
 * wakes the workers, narrows the affinity of any worker last seen on the
 * caller's CPU to its other CPUs (the wake-up then lands elsewhere), and the
 * worker puts its own affinity back once it runs, staying where it landed.
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdbool.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <time.h>
#include "common/amn_env.h"
#include "common/amn_threads.h"
#include "tiler/tile_pool.h"

struct worker {
	struct tile_pool *pool;
	int id;
	cpu_set_t allowed;     /* the CPUs it may run on, as started; set before it starts */
	bool have_allowed;
	atomic_int last_cpu;   /* where it last ran (-1: unknown) */
	atomic_bool narrowed;  /* the caller narrowed its affinity: restore it */
};

struct tile_pool {
	int threads;
	pthread_t *tids;
	struct worker *w;
	pthread_mutex_t call;   /* one parallel-for at a time */
	pthread_mutex_t mu;
	pthread_cond_t go, done;
	unsigned gen;
	int open, quit, limit, count;   /* open: workers may still join gen */
	_Atomic unsigned agen;          /* gen, readable without the lock */
	atomic_int active;              /* workers inside work(); changed under mu */
	long spin_ns;
	tile_pool_fn *fn;
	void *arg;
	atomic_int next;
};

static long now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000L + ts.tv_nsec;
}

static inline void relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#endif
}

/* Spin until a new generation starts (or the budget is spent). */
static void spin_for_gen(struct tile_pool *p, unsigned seen)
{
	long end = p->spin_ns > 0 ? now_ns() + p->spin_ns : 0;

	for (unsigned i = 1; end; i++) {
		if (atomic_load_explicit(&p->agen, memory_order_acquire) != seen)
			return;
		relax();
		if (!(i & 63) && now_ns() > end)
			return;
	}
}

/* Spin until no worker runs an item (or the budget is spent). */
static void spin_for_done(struct tile_pool *p)
{
	long end = p->spin_ns > 0 ? now_ns() + p->spin_ns : 0;

	for (unsigned i = 1; end; i++) {
		if (atomic_load_explicit(&p->active, memory_order_acquire) == 0)
			return;
		relax();
		if (!(i & 63) && now_ns() > end)
			return;
	}
}

/* Caller side: keep worker @w off CPU @cpu for the coming wake-up. */
static void steer_away(struct tile_pool *p, struct worker *w, int cpu)
{
	cpu_set_t away;

	if (!w->have_allowed || cpu < 0 || atomic_load_explicit(&w->last_cpu,
								memory_order_relaxed) != cpu)
		return;
	away = w->allowed;
	CPU_CLR(cpu, &away);
	if (CPU_COUNT(&away) && !pthread_setaffinity_np(p->tids[w->id], sizeof(away), &away))
		atomic_store_explicit(&w->narrowed, true, memory_order_relaxed);
}

/* Worker side: note where it runs, and undo a narrowing. */
static void settle(struct worker *w)
{
	if (atomic_exchange_explicit(&w->narrowed, false, memory_order_relaxed))
		pthread_setaffinity_np(pthread_self(), sizeof(w->allowed), &w->allowed);
	atomic_store_explicit(&w->last_cpu, sched_getcpu(), memory_order_relaxed);
}

static void work(struct tile_pool *p, int id)
{
	int i;

	while ((i = atomic_fetch_add(&p->next, 1)) < p->count)
		p->fn(p->arg, i, id);
}

static void *worker_main(void *v)
{
	struct worker *w = v;
	struct tile_pool *p = w->pool;
	unsigned seen = 0;

	settle(w);
	pthread_mutex_lock(&p->mu);
	for (;;) {
		if (p->gen == seen && !p->quit) {
			pthread_mutex_unlock(&p->mu);
			spin_for_gen(p, seen);
			pthread_mutex_lock(&p->mu);
		}
		while (p->gen == seen && !p->quit)
			pthread_cond_wait(&p->go, &p->mu);
		if (p->quit)
			break;
		seen = p->gen;
		if (p->open && w->id < p->limit) {
			atomic_fetch_add(&p->active, 1);
			pthread_mutex_unlock(&p->mu);
			settle(w);
			work(p, w->id);
			pthread_mutex_lock(&p->mu);
			if (atomic_fetch_sub_explicit(&p->active, 1, memory_order_release) == 1 &&
			    !p->open)
				pthread_cond_signal(&p->done);
		}
	}
	pthread_mutex_unlock(&p->mu);
	return NULL;
}

int tile_pool_create(struct tile_pool **out, int threads)
{
	struct tile_pool *p;
	int started = 0;

	if (!out || threads < 1 || threads > TILE_POOL_MAX_THREADS)
		return -EINVAL;
	p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	p->threads = threads;
	p->tids = calloc(threads, sizeof(*p->tids));
	p->w = calloc(threads, sizeof(*p->w));
	if (!p->tids || !p->w)
		goto err_mem;
	pthread_mutex_init(&p->call, NULL);
	pthread_mutex_init(&p->mu, NULL);
	pthread_cond_init(&p->go, NULL);
	pthread_cond_init(&p->done, NULL);
	atomic_init(&p->next, 0);
	atomic_init(&p->agen, 0);
	atomic_init(&p->active, 0);
	p->spin_ns = (long)amn_env_ulong("AMN_POOL_SPIN_US", 0, 100000, 100) * 1000L;
	for (int i = 1; i < threads; i++) {
		p->w[i].pool = p;
		p->w[i].id = i;
		/* a new thread starts with its creator's affinity */
		p->w[i].have_allowed = !pthread_getaffinity_np(pthread_self(),
							       sizeof(p->w[i].allowed),
							       &p->w[i].allowed);
		atomic_init(&p->w[i].last_cpu, -1);
		atomic_init(&p->w[i].narrowed, false);
		if (pthread_create(&p->tids[i], NULL, worker_main, &p->w[i]))
			goto err_thread;
		started++;
	}
	*out = p;
	return 0;

err_thread:
	p->threads = started + 1;
	tile_pool_destroy(p);
	return -EAGAIN;
err_mem:
	free(p->tids);
	free(p->w);
	free(p);
	return -ENOMEM;
}

int tile_pool_threads(const struct tile_pool *p)
{
	return p ? p->threads : 0;
}

void tile_pool_for(struct tile_pool *p, int count, int max_threads,
		   tile_pool_fn *fn, void *arg)
{
	int limit = max_threads > 0 && max_threads < p->threads ? max_threads : p->threads;

	if (count <= 0)
		return;
	/*
	 * Another call has the workers: run this one here, alone, rather than
	 * wait for them (concurrent callers then each keep a core busy).
	 */
	if (pthread_mutex_trylock(&p->call)) {
		for (int i = 0; i < count; i++)
			fn(arg, i, 0);
		return;
	}
	pthread_mutex_lock(&p->mu);
	p->fn = fn;
	p->arg = arg;
	p->count = count;
	p->limit = limit;
	{
		int cpu = sched_getcpu();

		for (int i = 1; i < limit; i++)
			steer_away(p, &p->w[i], cpu);
	}
	atomic_store(&p->next, 0);
	p->open = 1;
	p->gen++;
	atomic_store_explicit(&p->agen, p->gen, memory_order_release);
	pthread_cond_broadcast(&p->go);
	pthread_mutex_unlock(&p->mu);
	work(p, 0);
	/* every item is taken: late workers stay out, wait for the running ones */
	pthread_mutex_lock(&p->mu);
	p->open = 0;
	pthread_mutex_unlock(&p->mu);
	spin_for_done(p);
	pthread_mutex_lock(&p->mu);
	while (atomic_load(&p->active) > 0)
		pthread_cond_wait(&p->done, &p->mu);
	pthread_mutex_unlock(&p->mu);
	pthread_mutex_unlock(&p->call);
}

void tile_pool_destroy(struct tile_pool *p)
{
	if (!p)
		return;
	pthread_mutex_lock(&p->mu);
	p->quit = 1;
	pthread_cond_broadcast(&p->go);
	pthread_mutex_unlock(&p->mu);
	for (int i = 1; i < p->threads; i++)
		pthread_join(p->tids[i], NULL);
	pthread_cond_destroy(&p->done);
	pthread_cond_destroy(&p->go);
	pthread_mutex_destroy(&p->mu);
	pthread_mutex_destroy(&p->call);
	free(p->tids);
	free(p->w);
	free(p);
}

static struct tile_pool *default_pool;
static pthread_once_t default_once = PTHREAD_ONCE_INIT;

static void default_init(void)
{
	int n = amn_threads_default();

	if (n > TILE_POOL_MAX_THREADS)
		n = TILE_POOL_MAX_THREADS;
	if (tile_pool_create(&default_pool, n))
		default_pool = NULL;
}

struct tile_pool *tile_pool_default(void)
{
	pthread_once(&default_once, default_init);
	return default_pool;
}
