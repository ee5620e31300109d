/* SPDX-License-Identifier: MIT */
/*
 * tests/test_ring.c - the submission ring: exactly-once delivery with many
 * producers, per-producer order, ownership stamping, full-ring modes.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <sched.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <unistd.h>

#include "sched/npu_ring.h"
#include "tests/helpers/test_env.h"

#define PRODUCERS 16

struct prod_arg {
	struct npu_ring *r;
	int id;
	uint64_t n;
	int64_t timeout;
};

/* Items encode (producer, sequence) and are never NULL. */
static void *encode(int id, uint64_t seq)
{
	return (void *)(uintptr_t)(((uint64_t)id << 40 | seq) + 1);
}

static void *producer(void *p)
{
	struct prod_arg *a = p;

	for (uint64_t i = 0; i < a->n; i++) {
		int ret;

		while ((ret = npu_ring_enqueue(a->r, encode(a->id, i), a->timeout)) == -EAGAIN ||
		       ret == -ETIMEDOUT)
			;
		if (ret)
			return (void *)(intptr_t)ret;
	}
	return NULL;
}

/* Consume until @total items came, sleeping on the doorbell when idle. */
static void consume(struct npu_ring *r, uint64_t total, uint64_t *next, uint64_t *sum,
		    uint64_t *bad)
{
	void *items[256];
	uint64_t got = 0;

	while (got < total) {
		unsigned n = npu_ring_dequeue_burst(r, items, 256);

		if (!n) {
			if (npu_ring_arm(r)) {
				struct pollfd pfd = { .fd = npu_ring_doorbell_fd(r), .events = POLLIN };
				uint64_t v;

				poll(&pfd, 1, 100);
				if (read(pfd.fd, &v, sizeof(v)) < 0) {
					/* nothing to clear */
				}
			}
			continue;
		}
		for (unsigned i = 0; i < n; i++) {
			uint64_t v = (uint64_t)(uintptr_t)items[i] - 1;
			int id = (int)(v >> 40);
			uint64_t seq = v & ((1ull << 40) - 1);

			if (id >= PRODUCERS || seq != next[id])
				(*bad)++;
			else
				next[id]++;
			*sum += seq;
		}
		got += n;
	}
}

static void run_exactly_once(unsigned ring_size, uint64_t per_producer, int64_t timeout)
{
	struct prod_arg args[PRODUCERS];
	pthread_t th[PRODUCERS];
	uint64_t next[PRODUCERS] = { 0 }, sum = 0, bad = 0;
	struct npu_ring *r;
	void *leftover;

	cr_assert_eq(npu_ring_create(&r, ring_size, -1), 0);
	for (int i = 0; i < PRODUCERS; i++) {
		args[i] = (struct prod_arg){ r, i, per_producer, timeout };
		cr_assert_eq(pthread_create(&th[i], NULL, producer, &args[i]), 0);
	}
	consume(r, per_producer * PRODUCERS, next, &sum, &bad);
	for (int i = 0; i < PRODUCERS; i++) {
		void *rv;

		pthread_join(th[i], &rv);
		cr_expect_null(rv, "producer %d failed", i);
	}
	cr_expect_eq(bad, 0, "%llu items out of order, lost or doubled", (unsigned long long)bad);
	for (int i = 0; i < PRODUCERS; i++)
		cr_expect_eq(next[i], per_producer, "producer %d: %llu of %llu delivered", i,
			     (unsigned long long)next[i], (unsigned long long)per_producer);
	cr_expect_eq(sum, PRODUCERS * (per_producer * (per_producer - 1) / 2));
	cr_expect_eq(npu_ring_dequeue_burst(r, &leftover, 1), 0, "ring not empty at the end");
	npu_ring_destroy(r);
}

Test(ring, exactly_once_16_producers)
{
	run_exactly_once(1024, test_small_scale() ? 20000 : 1000000, -1);
}

Test(ring, backpressure_64_slots_blocking)
{
	run_exactly_once(64, test_small_scale() ? 5000 : 100000, -1);
}

Test(ring, backpressure_64_slots_try_and_timeout)
{
	run_exactly_once(64, test_small_scale() ? 2000 : 50000, 0);
	run_exactly_once(64, test_small_scale() ? 2000 : 50000, 200000);
}

/* Ownership: an object is stamped by exactly one party at a time. */
enum { FREE, QUEUED, TAKEN };
struct obj {
	_Atomic int state;
	_Atomic uint64_t visits;
};
#define OBJS_PER_PRODUCER 32

struct own_arg {
	struct npu_ring *r;
	struct obj *objs;
	uint64_t rounds;
	_Atomic uint64_t *violations;
};

static void *own_producer(void *p)
{
	struct own_arg *a = p;

	for (uint64_t i = 0; i < a->rounds; i++) {
		struct obj *o = &a->objs[i % OBJS_PER_PRODUCER];
		int expect = FREE;

		while (atomic_load(&o->state) != FREE)
			sched_yield();
		if (!atomic_compare_exchange_strong(&o->state, &expect, QUEUED))
			atomic_fetch_add(a->violations, 1);
		cr_assert_eq(npu_ring_enqueue(a->r, o, -1), 0);
	}
	return NULL;
}

Test(ring, ownership_stamping)
{
	uint64_t rounds = test_small_scale() ? 2000 : 50000, total = rounds * PRODUCERS, got = 0;
	static struct obj objs[PRODUCERS][OBJS_PER_PRODUCER];
	struct own_arg args[PRODUCERS];
	_Atomic uint64_t violations = 0;
	pthread_t th[PRODUCERS];
	struct npu_ring *r;
	void *items[64];

	memset(objs, 0, sizeof(objs));
	cr_assert_eq(npu_ring_create(&r, 128, 0), 0);
	for (int i = 0; i < PRODUCERS; i++) {
		args[i] = (struct own_arg){ r, objs[i], rounds, &violations };
		pthread_create(&th[i], NULL, own_producer, &args[i]);
	}
	while (got < total) {
		unsigned n = npu_ring_dequeue_burst(r, items, 64);

		for (unsigned i = 0; i < n; i++) {
			struct obj *o = items[i];
			int expect = QUEUED;

			if (!atomic_compare_exchange_strong(&o->state, &expect, TAKEN))
				atomic_fetch_add(&violations, 1);
			atomic_fetch_add(&o->visits, 1);
			atomic_store(&o->state, FREE);
		}
		got += n;
		if (!n)
			sched_yield();
	}
	for (int i = 0; i < PRODUCERS; i++)
		pthread_join(th[i], NULL);
	cr_expect_eq(atomic_load(&violations), 0);
	for (int i = 0; i < PRODUCERS; i++)
		for (int j = 0; j < OBJS_PER_PRODUCER; j++)
			cr_expect_eq(atomic_load(&objs[i][j].visits),
				     rounds / OBJS_PER_PRODUCER + (j < (int)(rounds % OBJS_PER_PRODUCER)));
	npu_ring_destroy(r);
}

Test(ring, full_ring_modes)
{
	struct npu_ring *r;
	void *items[8];

	cr_assert_eq(npu_ring_create(&r, 4, -1), 0);
	for (int i = 0; i < 4; i++)
		cr_assert_eq(npu_ring_enqueue(r, encode(0, i), 0), 0);
	cr_expect_eq(npu_ring_enqueue(r, encode(0, 9), 0), -EAGAIN);
	cr_expect_eq(npu_ring_enqueue(r, encode(0, 9), 1000000), -ETIMEDOUT);
	cr_expect_eq(npu_ring_count(r), 4);
	cr_assert_eq(npu_ring_dequeue_burst(r, items, 8), 4);
	for (int i = 0; i < 4; i++)
		cr_expect_eq(items[i], encode(0, i));
	cr_expect_eq(npu_ring_enqueue(r, NULL, 0), -EINVAL);
	npu_ring_destroy(r);
}

Test(ring, bad_sizes)
{
	struct npu_ring *r;

	cr_expect_eq(npu_ring_create(&r, 0, -1), -EINVAL);
	cr_expect_eq(npu_ring_create(&r, 1, -1), -EINVAL);
	cr_expect_eq(npu_ring_create(&r, 48, -1), -EINVAL);
}
