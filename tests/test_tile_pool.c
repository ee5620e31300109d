/* SPDX-License-Identifier: MIT */
/* tests/test_tile_pool.c - the worker pool runs every item exactly once. */
#include <criterion/criterion.h>
#include <errno.h>
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
