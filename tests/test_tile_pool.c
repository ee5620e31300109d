/* SPDX-License-Identifier: MIT */
/* tests/test_tile_pool.c - the worker pool runs every item exactly once. */
#include <criterion/criterion.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include "tiler/tile_pool.h"

struct seen {
	atomic_int hits[1000];
	atomic_int bad_worker;
	int limit;
};

static void mark(void *arg, int i, int worker)
{
	struct seen *s = arg;

	atomic_fetch_add(&s->hits[i], 1);
	if (worker < 0 || worker >= s->limit)
		atomic_store(&s->bad_worker, 1);
}

Test(tile_pool, every_item_once_and_worker_ids_in_range)
{
	static struct seen s;
	struct tile_pool *p;

	cr_assert_eq(tile_pool_create(&p, 3), 0);
	for (int round = 0; round < 50; round++) {
		int count = 1 + round * 19, limit = 1 + round % 3;

		for (int i = 0; i < 1000; i++)
			atomic_store(&s.hits[i], 0);
		s.limit = limit;
		tile_pool_for(p, count, limit, mark, &s);
		for (int i = 0; i < count; i++)
			cr_assert_eq(atomic_load(&s.hits[i]), 1, "round %d item %d", round, i);
		cr_assert_eq(atomic_load(&s.hits[count]), 0);
	}
	cr_assert_eq(atomic_load(&s.bad_worker), 0);
	tile_pool_destroy(p);
}

Test(tile_pool, bad_thread_count_is_rejected)
{
	struct tile_pool *p;

	cr_assert_eq(tile_pool_create(&p, 0), -EINVAL);
	cr_assert_eq(tile_pool_create(&p, 257), -EINVAL);
	cr_assert_not_null(tile_pool_default());
}

/*
 * A call made while another call holds the workers runs on its own caller
 * (worker 0) instead of waiting: here the first call's items wait for the
 * second call to finish, so a second call that queued for the workers would
 * never finish (the test would hang and time out).
 */
struct nested {
	struct tile_pool *pool;
	atomic_int second_done;
	atomic_int second_items, second_workers_nonzero;
};

static void second_item(void *arg, int i, int worker)
{
	struct nested *n = arg;

	(void)i;
	atomic_fetch_add(&n->second_items, 1);
	if (worker != 0)
		atomic_fetch_add(&n->second_workers_nonzero, 1);
}

static void *second_call(void *arg)
{
	struct nested *n = arg;

	tile_pool_for(n->pool, 100, 0, second_item, n);
	atomic_store(&n->second_done, 1);
	return NULL;
}

static void first_item(void *arg, int i, int worker)
{
	struct nested *n = arg;

	(void)worker;
	if (i == 0) {
		pthread_t t;

		cr_assert_eq(pthread_create(&t, NULL, second_call, n), 0);
		pthread_join(t, NULL);
	}
	while (!atomic_load(&n->second_done))
		;
}

Test(tile_pool, a_busy_pool_lets_another_caller_run_alone, .timeout = 60)
{
	struct nested n = { 0 };

	cr_assert_eq(tile_pool_create(&n.pool, 2), 0);
	atomic_init(&n.second_done, 0);
	atomic_init(&n.second_items, 0);
	atomic_init(&n.second_workers_nonzero, 0);
	tile_pool_for(n.pool, 4, 0, first_item, &n);
	cr_expect_eq(atomic_load(&n.second_items), 100);
	cr_expect_eq(atomic_load(&n.second_workers_nonzero), 0);
	tile_pool_destroy(n.pool);
}
