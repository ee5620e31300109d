/* SPDX-License-Identifier: MIT */
/*
 * tools/npubench/bench_ring.c - `npubench ring`: jobs per second through the
 * submission ring against a mutex + condition variable queue of the same
 * capacity, with N producers and one consumer, measured in the same run.
 * The two alternate for --rounds rounds (3) and each reports its best: on a
 * shared machine, one unlucky schedule (a consumer woken for every item)
 * can cost either side 10x in a single run.
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench.h"
#include "sched/npu_futex.h"
#include "sched/npu_ring.h"

#define CAP 1024
#define BURST 256

/* The peer: a bounded FIFO under one mutex, two condition variables. */
struct mutex_queue {
	pthread_mutex_t lock;
	pthread_cond_t not_empty, not_full;
	void *items[CAP];
	unsigned head, count;
};

static void mq_push(struct mutex_queue *q, void *item)
{
	pthread_mutex_lock(&q->lock);
	while (q->count == CAP)
		pthread_cond_wait(&q->not_full, &q->lock);
	q->items[(q->head + q->count) % CAP] = item;
	q->count++;
	pthread_cond_signal(&q->not_empty);
	pthread_mutex_unlock(&q->lock);
}

/* Takes everything available, like the ring's burst dequeue. */
static unsigned mq_pop_burst(struct mutex_queue *q, void **out, unsigned max)
{
	unsigned n = 0;

	pthread_mutex_lock(&q->lock);
	while (!q->count)
		pthread_cond_wait(&q->not_empty, &q->lock);
	while (n < max && q->count) {
		out[n++] = q->items[q->head];
		q->head = (q->head + 1) % CAP;
		q->count--;
	}
	pthread_cond_broadcast(&q->not_full);
	pthread_mutex_unlock(&q->lock);
	return n;
}

struct run {
	struct npu_ring *ring;
	struct mutex_queue *mq;
	uint64_t per_producer;
};

static void *producer(void *p)
{
	struct run *r = p;

	for (uint64_t i = 1; i <= r->per_producer; i++) {
		if (r->ring)
			npu_ring_enqueue(r->ring, (void *)(uintptr_t)i, -1);
		else
			mq_push(r->mq, (void *)(uintptr_t)i);
	}
	return NULL;
}

static uint64_t consume(struct run *r, uint64_t total)
{
	void *items[BURST];
	uint64_t got = 0, sum = 0;

	while (got < total) {
		unsigned n;

		if (r->mq) {
			n = mq_pop_burst(r->mq, items, BURST);
		} else {
			n = npu_ring_dequeue_burst(r->ring, items, BURST);
			if (!n && npu_ring_arm(r->ring)) {
				struct pollfd pfd = { .fd = npu_ring_doorbell_fd(r->ring), .events = POLLIN };
				uint64_t v;

				poll(&pfd, 1, -1);
				if (read(pfd.fd, &v, sizeof(v)) < 0) {
					/* already cleared */
				}
			}
		}
		for (unsigned i = 0; i < n; i++)
			sum += (uintptr_t)items[i];
		got += n;
	}
	return sum;
}

static double measure(bool ring, int producers, uint64_t total)
{
	struct run r = { .per_producer = total / producers };
	struct mutex_queue *mq = NULL;
	pthread_t *th = calloc(producers, sizeof(*th));
	uint64_t sum, want;
	int64_t t0, t1;

	if (ring) {
		if (npu_ring_create(&r.ring, CAP, -1)) {
			free(th);
			return -1;
		}
	} else {
		mq = calloc(1, sizeof(*mq));
		pthread_mutex_init(&mq->lock, NULL);
		pthread_cond_init(&mq->not_empty, NULL);
		pthread_cond_init(&mq->not_full, NULL);
		r.mq = mq;
	}
	t0 = npu_now_ns();
	for (int i = 0; i < producers; i++)
		pthread_create(&th[i], NULL, producer, &r);
	sum = consume(&r, r.per_producer * producers);
	for (int i = 0; i < producers; i++)
		pthread_join(th[i], NULL);
	t1 = npu_now_ns();
	want = (uint64_t)producers * (r.per_producer * (r.per_producer + 1) / 2);
	if (sum != want)
		fprintf(stderr, "npubench ring: checksum mismatch (%s)\n", ring ? "ring" : "mutex");
	if (ring) {
		npu_ring_destroy(r.ring);
	} else {
		pthread_cond_destroy(&mq->not_full);
		pthread_cond_destroy(&mq->not_empty);
		pthread_mutex_destroy(&mq->lock);
		free(mq);
	}
	free(th);
	return (double)(r.per_producer * producers) / ((double)(t1 - t0) / 1e9);
}

int bench_ring(int argc, char **argv)
{
	static const int all[] = { 1, 2, 8, 32 };
	int only = 0, json = 0, rounds = 3;
	uint64_t total = 2000000;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--json")) {
			json = 1;
		} else if (!strcmp(argv[i], "--producers") && i + 1 < argc) {
			only = atoi(argv[++i]);
		} else if (!strcmp(argv[i], "--rounds") && i + 1 < argc) {
			rounds = atoi(argv[++i]);
		} else if (!strcmp(argv[i], "--jobs") && i + 1 < argc) {
			total = strtoull(argv[++i], NULL, 10);
		} else {
			fprintf(stderr, "usage: npubench ring [--json] [--producers N] [--jobs TOTAL] [--rounds N]\n"
				"  jobs/s through the ring vs a mutex+condvar queue (%d slots each)\n", CAP);
			return strcmp(argv[i], "--help") ? 2 : 0;
		}
	}
	if (only < 0 || total < 1 || rounds < 1) {
		fprintf(stderr, "npubench ring: --producers, --jobs and --rounds must be positive\n");
		return 2;
	}
	for (size_t k = 0; k < 4; k++) {
		int p = only ? only : all[k];
		double ring = 0, mutex = 0;

		for (int r = 0; r < rounds; r++) {
			double x = measure(true, p, total), y = measure(false, p, total);

			ring = x > ring ? x : ring;
			mutex = y > mutex ? y : mutex;
		}

		if (json) {
			printf("{\"bench\":\"ring\",\"impl\":\"amanuensis\",\"producers\":%d,\"jobs_per_s\":%.0f}\n", p, ring);
			printf("{\"bench\":\"ring\",\"impl\":\"mutex\",\"producers\":%d,\"jobs_per_s\":%.0f}\n", p, mutex);
		} else {
			printf("ring  producers %2d: amanuensis %12.0f jobs/s  mutex %12.0f jobs/s  ratio %.2f\n",
			       p, ring, mutex, ring / mutex);
		}
		if (only)
			break;
	}
	return 0;
}
