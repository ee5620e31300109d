/* SPDX-License-Identifier: MIT */
/*
 * tests/test_doorbell.c - no wakeup is lost between the ring's producers and
 * its sleeping consumer: litmus stresses of the store->load handshakes in
 * sched/npu_ring.c (the doorbell, and the full-ring futex), with no other
 * wake-up source to hide a loss. (tests/test_ring_model.c model-checks the
 * doorbell protocol.)
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "sched/npu_ring.h"
#include "tests/helpers/test_env.h"

/* A consumer asleep this long with a job whose producer has returned: lost. */
#define WATCHDOG_MS 50
/* A producer waiting longer than this for its job to be taken fails the test. */
#define STALL_NS 5000000000ll
/* Busy-wait iterations before a waiting producer starts yielding. */
#define SPINS_BEFORE_YIELD 4096
/* The consumer's simulated round of work after a job, in delay() steps. */
#define ROUND_WORK_MAX 4096
/* The full-ring consumer's pause before freeing slots sweeps 0..MAX. */
#ifndef FULL_PAUSE_MAX
#define FULL_PAUSE_MAX 8192
#endif
#ifndef FULL_PAUSE_STEP
#define FULL_PAUSE_STEP 4
#endif
/* The producer's jitter before it publishes, in delay() steps. */
#define PRODUCER_JITTER 16

static int64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* xorshift64: the producer's delays, reproducible across runs. */
static uint64_t next_rand(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

/* Burn about @n loop iterations without touching shared memory. */
static void delay(unsigned n)
{
	for (volatile unsigned i = 0; i < n; i++)
		;
}

/*
 * Pin the calling thread to the @nth CPU it may run on, so that producer and
 * consumer run side by side (left to itself, the scheduler tends to wake
 * the consumer on the producer's CPU, and then they never race). Return:
 * false where there are fewer CPUs; the thread is then left as it was.
 */
static bool pin_to_nth_cpu(int nth)
{
	cpu_set_t allowed, one;

	if (sched_getaffinity(0, sizeof(allowed), &allowed))
		return false;
	for (int cpu = 0; cpu < CPU_SETSIZE; cpu++) {
		if (!CPU_ISSET(cpu, &allowed) || nth--)
			continue;
		CPU_ZERO(&one);
		CPU_SET(cpu, &one);
		return pthread_setaffinity_np(pthread_self(), sizeof(one), &one) == 0;
	}
	return false;
}

/* Let the calling thread run on the CPUs in @allowed again. */
static void unpin(const cpu_set_t *allowed)
{
	pthread_setaffinity_np(pthread_self(), sizeof(*allowed), allowed);
}

static void drain_doorbell(int fd)
{
	uint64_t v;

	if (read(fd, &v, sizeof(v)) < 0) {
		/* EAGAIN: already cleared */
	}
}

static void ring_doorbell(int fd)
{
	uint64_t one = 1;

	if (write(fd, &one, sizeof(one)) < 0) {
		/* saturated: readable anyway */
	}
}

struct litmus {
	struct npu_ring *r;
	/* Producer: the last job whose npu_ring_enqueue() has returned. */
	_Atomic uint64_t returned;
	/* Consumer: the last job it took. */
	_Atomic uint64_t taken;
	_Atomic bool stop;
	/* Consumer only, read after the join. */
	uint64_t early, rechecks, sleeps, lost;
};

/*
 * Asleep WATCHDOG_MS with no doorbell. Lost if a job is in the ring whose
 * producer has already returned from npu_ring_enqueue(): that producer is
 * done notifying, and the doorbell is still not readable.
 */
static bool wakeup_lost(struct litmus *l)
{
	struct pollfd pfd = { .fd = npu_ring_doorbell_fd(l->r), .events = POLLIN };
	/* Acquire: a doorbell write made before the return is readable now. */
	uint64_t returned = atomic_load_explicit(&l->returned, memory_order_acquire);

	if (poll(&pfd, 1, 0) > 0)
		return false;  /* rung late: a slow producer, not a lost wakeup */
	return returned > atomic_load_explicit(&l->taken, memory_order_relaxed);
}

/* The dispatcher's idle loop, with the doorbell as the only wake-up source. */
static void *litmus_consumer(void *p)
{
	struct litmus *l = p;
	int fd = npu_ring_doorbell_fd(l->r);
	unsigned round_work = 0;
	bool looking = false;

	pin_to_nth_cpu(1);
	while (!atomic_load_explicit(&l->stop, memory_order_acquire)) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		void *item;

		if (npu_ring_dequeue_burst(l->r, &item, 1)) {
			if (looking)
				l->early++;  /* published before we looked: look sooner */
			/* Release: the producer waits for this, nothing else. */
			atomic_store_explicit(&l->taken, (uint64_t)(uintptr_t)item,
					      memory_order_release);
			/*
			 * A dispatcher's round of work before it looks again,
			 * tuned so that the producer, which publishes once it
			 * sees the job taken, publishes about when we arm:
			 * shorter after it came early, longer after we slept.
			 */
			if (looking && round_work > 0)
				round_work--;
			delay(round_work);
			looking = true;
			continue;
		}
		looking = false;
		if (!npu_ring_arm(l->r)) {
			l->rechecks++;  /* published between our look and the re-check */
			continue;
		}
		/* Late: look later; past the cap the producer is not running beside us. */
		round_work = round_work < ROUND_WORK_MAX ? round_work + 1 : 0;
		l->sleeps++;
		if (poll(&pfd, 1, WATCHDOG_MS) > 0) {
			drain_doorbell(fd);
			continue;
		}
		if (wakeup_lost(l))
			l->lost++;  /* the loop takes the job now; the test fails */
	}
	return NULL;
}

/* Wait until the consumer took job @id; false after STALL_NS. */
static bool wait_taken(struct litmus *l, uint64_t id)
{
	int64_t deadline = 0;

	for (unsigned spins = 0;; spins++) {
		/* Acquire: pairs with the consumer's release of taken. */
		if (atomic_load_explicit(&l->taken, memory_order_acquire) >= id)
			return true;
		if (spins < SPINS_BEFORE_YIELD)
			continue;
		if (!deadline)
			deadline = now_ns() + STALL_NS;
		else if (now_ns() > deadline)
			return false;
		sched_yield();
	}
}

/*
 * Idle-then-one-job, over and over: each job is published while the consumer
 * has just found the ring empty and is arming, at a delay that sweeps the
 * window. A lost wakeup leaves the consumer asleep until its watchdog.
 */
Test(doorbell, idle_then_one_job)
{
	int64_t budget_ns = test_small_scale() ? 500000000ll : 2000000000ll;
	uint64_t max_cycles = test_small_scale() ? 100000 : 5000000, cycles = 0, seed = 88172645463325252ull;
	struct litmus l = { 0 };
	cpu_set_t allowed;
	int64_t start, end;
	pthread_t th;
	bool stalled = false;

	cr_assert_eq(sched_getaffinity(0, sizeof(allowed), &allowed), 0);
	cr_assert_eq(npu_ring_create(&l.r, 64, -1), 0);
	cr_assert_eq(pthread_create(&th, NULL, litmus_consumer, &l), 0);
	if (!pin_to_nth_cpu(0))
		cr_log_warn("doorbell: one CPU, producer and consumer cannot race\n");
	start = now_ns();
	end = start + budget_ns;
	while (cycles < max_cycles && (cycles & 255 || now_ns() < end)) {
		uint64_t id = cycles + 1;

		delay(next_rand(&seed) % PRODUCER_JITTER);
		cr_assert_eq(npu_ring_enqueue(l.r, (void *)(uintptr_t)id, -1), 0);
		/* Release: the doorbell write, if any, is visible with it. */
		atomic_store_explicit(&l.returned, id, memory_order_release);
		if (!wait_taken(&l, id)) {
			stalled = true;
			break;
		}
		cycles++;
	}
	atomic_store_explicit(&l.stop, true, memory_order_release);
	ring_doorbell(npu_ring_doorbell_fd(l.r));
	pthread_join(th, NULL);
	unpin(&allowed);
	cr_log_info("doorbell: %llu cycles in %.2f s: job seen before arming %llu, by the "
		    "re-check %llu, after sleeping %llu\n", (unsigned long long)cycles,
		    (now_ns() - start) / 1e9, (unsigned long long)l.early,
		    (unsigned long long)l.rechecks, (unsigned long long)l.sleeps);
	cr_expect_not(stalled, "job %llu was not taken within 5 s", (unsigned long long)cycles + 1);
	cr_expect_eq(l.lost, 0, "%llu lost wakeups in %llu cycles", (unsigned long long)l.lost,
		     (unsigned long long)cycles);
	cr_expect_gt(cycles, 0);
	npu_ring_destroy(l.r);
}

struct full_litmus {
	struct npu_ring *r;
	_Atomic uint64_t taken;
	_Atomic bool stop;
};

/*
 * Drains a 2-slot ring after a random pause, so that the producer blocked on
 * the full ring is sometimes announcing itself just as the slots are freed.
 */
static void *full_consumer(void *p)
{
	struct full_litmus *f = p;
	int fd = npu_ring_doorbell_fd(f->r);
	unsigned pause = 0;

	pin_to_nth_cpu(1);
	while (!atomic_load_explicit(&f->stop, memory_order_acquire)) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		void *items[2];
		unsigned n;

		/* Sweep the pause before freeing the slots, a step per look. */
		pause = pause < FULL_PAUSE_MAX ? pause + FULL_PAUSE_STEP : 0;
		delay(pause);
		n = npu_ring_dequeue_burst(f->r, items, 2);
		if (n) {
			/* Release: the producer waits for this, nothing else. */
			atomic_fetch_add_explicit(&f->taken, n, memory_order_release);
			continue;
		}
		if (npu_ring_arm(f->r) && poll(&pfd, 1, WATCHDOG_MS) > 0)
			drain_doorbell(fd);
	}
	return NULL;
}

/*
 * Three jobs into a 2-slot ring, then idle until all are taken: the third
 * blocks (yields, then sleeps on the space futex). It may only time out if
 * the consumer's wake-up after freeing the slots was lost.
 */
Test(doorbell, full_ring_then_idle)
{
	int64_t budget_ns = test_small_scale() ? 300000000ll : 1000000000ll;
	uint64_t max_cycles = test_small_scale() ? 20000 : 500000, cycles = 0, lost = 0;
	struct full_litmus f = { 0 };
	int64_t start = now_ns(), end = start + budget_ns;
	bool stalled = false;
	cpu_set_t allowed;
	pthread_t th;

	cr_assert_eq(sched_getaffinity(0, sizeof(allowed), &allowed), 0);
	cr_assert_eq(npu_ring_create(&f.r, 2, -1), 0);
	cr_assert_eq(pthread_create(&th, NULL, full_consumer, &f), 0);
	pin_to_nth_cpu(0);
	while (cycles < max_cycles && (cycles & 63 || now_ns() < end)) {
		int64_t deadline;

		for (int i = 0; i < 3;) {
			/* The timeout is the watchdog: with room in the ring, it is a loss. */
			int ret = npu_ring_enqueue(f.r, (void *)(uintptr_t)(i + 1), 1000000000ll);

			if (!ret) {
				i++;
				continue;
			}
			cr_assert_eq(ret, -ETIMEDOUT);
			if (npu_ring_count(f.r) < npu_ring_size(f.r))
				lost++;
		}
		cycles++;
		deadline = now_ns() + STALL_NS;
		/* Acquire: pairs with the consumer's count of taken jobs. */
		while (atomic_load_explicit(&f.taken, memory_order_acquire) < 3 * cycles) {
			if (now_ns() > deadline) {
				stalled = true;
				break;
			}
			sched_yield();
		}
		if (stalled)
			break;
	}
	atomic_store_explicit(&f.stop, true, memory_order_release);
	ring_doorbell(npu_ring_doorbell_fd(f.r));
	pthread_join(th, NULL);
	unpin(&allowed);
	cr_log_info("full ring: %llu cycles in %.2f s\n", (unsigned long long)cycles,
		    (now_ns() - start) / 1e9);
	cr_expect_not(stalled, "cycle %llu: jobs not taken within 5 s", (unsigned long long)cycles);
	cr_expect_eq(lost, 0, "%llu producers slept 1 s beside a ring with room",
		     (unsigned long long)lost);
	npu_ring_destroy(f.r);
}
