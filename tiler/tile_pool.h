/* SPDX-License-Identifier: MIT */
/*
 * tiler/tile_pool.h - a small persistent worker pool with a parallel-for.
 *
 * The caller of tile_pool_for() works too (as worker 0), so a pool made for
 * N threads starts N - 1 of its own. A call made while another one has the
 * workers runs on its caller alone (worker 0), so concurrent callers each
 * keep their own core busy instead of waiting for the pool. Idle workers spin up to
 * $AMN_POOL_SPIN_US microseconds (0..100000, default 100, 0: never) for the next
 * call before sleeping.
 */
#ifndef AMN_TILE_POOL_H
#define AMN_TILE_POOL_H

/* Threads one pool may have (caller included); the default pool is clamped to it. */
#define TILE_POOL_MAX_THREADS 256

struct tile_pool;

/* Body of a parallel-for: item @i of the range, run by worker @worker. */
typedef void tile_pool_fn(void *arg, int i, int worker);

/**
 * tile_pool_create - start a pool for @threads threads (caller included).
 * @out:     receives the pool.
 * @threads: 1..TILE_POOL_MAX_THREADS.
 * Return: 0, -EINVAL on a bad count, -ENOMEM, or -EAGAIN when a thread
 * cannot be started.
 */
int tile_pool_create(struct tile_pool **out, int threads);

/** tile_pool_threads - the thread count the pool was made for. */
int tile_pool_threads(const struct tile_pool *p);

/**
 * tile_pool_for - run @fn(@arg, i, worker) for every i in [0, @count).
 * @max_threads: use at most this many threads (0: all of them).
 * Returns when every item is done. Worker ids are < the threads used.
 */
void tile_pool_for(struct tile_pool *p, int count, int max_threads,
		   tile_pool_fn *fn, void *arg);

/** tile_pool_destroy - stop and join the workers; NULL is a no-op. */
void tile_pool_destroy(struct tile_pool *p);

/**
 * tile_pool_default - the process-wide pool, made on first use.
 * Sized by amn_threads_default() ($AMN_THREADS, else the CPUs this process
 * may run on), at most TILE_POOL_MAX_THREADS. Return: the pool, or NULL
 * when it could not be made.
 */
struct tile_pool *tile_pool_default(void);

#endif /* AMN_TILE_POOL_H */
