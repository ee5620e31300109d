/* SPDX-License-Identifier: MIT */
/*
 * sched/npu_ring.h - the bounded multi-producer, single-consumer submission
 * ring that carries job pointers from any number of threads to one dispatcher.
 *
 * It is Vyukov's bounded queue: every slot has a sequence number. A producer
 * claims a position with one compare-and-swap on the tail, fills its slot and
 * publishes it by storing the slot's sequence; it never waits for another
 * producer, so a producer preempted between claim and publish delays only the
 * consumer's view of its own slot, not the other producers. The consumer takes
 * the contiguous run of published slots from the head as one batch.
 *
 * A full ring makes npu_ring_enqueue() block, fail with -EAGAIN or time out,
 * as the caller asks. Nothing is dropped: an item is either refused to its
 * producer or handed to the consumer exactly once.
 *
 * The consumer may sleep: it arms the doorbell (an eventfd) and re-checks; a
 * producer that publishes into an armed ring rings the doorbell once. Each
 * side's store and its load of the other's flag are separated by a seq_cst
 * fence, so that they cannot both miss each other (Documentation/scheduler.md
 * has the argument, tests/model/ the model-checked protocol).
 */
#ifndef AMN_NPU_RING_H
#define AMN_NPU_RING_H

#include <stdbool.h>
#include <stdint.h>

struct npu_ring;

/**
 * npu_ring_create - allocate a ring.
 * @out:  receives the ring.
 * @size: slots, a power of two >= 2.
 * @node: NUMA node for the slot array, or -1 for no preference. Ignored where
 *        numa_available() < 0.
 * Return: 0, -EINVAL on a bad size, -ENOMEM, or -errno from eventfd().
 */
int npu_ring_create(struct npu_ring **out, unsigned size, int node);

/** npu_ring_destroy - free a ring; items still in it are not touched. */
void npu_ring_destroy(struct npu_ring *r);

/**
 * npu_ring_enqueue - publish one item (any non-NULL pointer).
 * @timeout_ns: 0 fails at once when full (-EAGAIN); < 0 blocks until there is
 *              room; > 0 waits at most that long (-ETIMEDOUT).
 * Return: 0, -EAGAIN, -ETIMEDOUT, or -EINVAL for a NULL item.
 */
int npu_ring_enqueue(struct npu_ring *r, void *item, int64_t timeout_ns);

/**
 * npu_ring_enqueue_quiet - npu_ring_enqueue() without waking the consumer.
 * For a producer that will consume the item itself if it can: unless it
 * does, it must call npu_ring_notify() afterwards, or the item may wait until
 * some other producer wakes the consumer. (A full ring notifies by itself.)
 */
int npu_ring_enqueue_quiet(struct npu_ring *r, void *item, int64_t timeout_ns);

/**
 * npu_ring_notify - ring the doorbell if the consumer is armed: after this,
 * every item published before the call is seen by the consumer.
 */
void npu_ring_notify(struct npu_ring *r);

/**
 * npu_ring_dequeue_burst - take up to @max published items, in claim order.
 * Consumer only (one thread at a time). Stops at the first slot that is
 * claimed but not yet published. Wakes producers blocked on a full ring.
 * Return: the number of items stored in @items.
 */
unsigned npu_ring_dequeue_burst(struct npu_ring *r, void **items, unsigned max);

/**
 * npu_ring_doorbell_fd - the eventfd producers write when the consumer is
 * armed. The consumer reads (and so clears) it; it is owned by the ring.
 */
int npu_ring_doorbell_fd(const struct npu_ring *r);

/**
 * npu_ring_arm - tell producers the consumer is about to sleep.
 * Return: true if the ring is still empty, so sleeping on the doorbell is
 * safe; false if an item is already there (the consumer should not sleep).
 * Consumer only.
 */
bool npu_ring_arm(struct npu_ring *r);

/** npu_ring_count - items claimed but not yet taken (approximate). */
unsigned npu_ring_count(const struct npu_ring *r);

/** npu_ring_size - the number of slots. */
unsigned npu_ring_size(const struct npu_ring *r);

#endif /* AMN_NPU_RING_H */
