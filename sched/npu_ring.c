/* SPDX-License-Identifier: MIT */
/*
 * sched/npu_ring.c - bounded MPSC ring with per-slot sequence numbers.
 *
 * Invariants (pos counts claims since creation; it never wraps in practice):
 *   slot[pos & mask].seq == pos             free, may be claimed for pos
 *   slot[pos & mask].seq == pos + 1         published, holds the item of pos
 *   slot[pos & mask].seq == pos + size      taken by the consumer; free for
 *                                           the claim pos + size
 *   head <= tail, tail - head <= size.
 * Only the producer that claimed pos writes the item of pos, and only the
 * consumer reads it, once, after seeing seq == pos + 1.
 */
#include <errno.h>
#include <numa.h>
#include <sched.h>
#include <stdalign.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "sched/npu_futex.h"
#include "sched/npu_ring.h"

#define CACHELINE 64
#define YIELDS_BEFORE_SLEEP 4

struct npu_ring_slot {
	_Atomic uint64_t seq;
	void *item;
};

struct npu_ring {
	/* Producers: the next position to claim. Alone on its line. */
	alignas(CACHELINE) _Atomic uint64_t tail;
	/* Consumer: the next position to take. Producers read it only for counts. */
	alignas(CACHELINE) _Atomic uint64_t head;
	/* Full-ring sleepers: space_gen changes each time the consumer frees slots. */
	alignas(CACHELINE) _Atomic uint32_t space_gen;
	_Atomic uint32_t space_waiters;
	/* 1 while the consumer is (about to be) asleep on the doorbell. */
	alignas(CACHELINE) _Atomic uint32_t armed;
	/* Read-only after creation. */
	alignas(CACHELINE) struct npu_ring_slot *slots;
	uint64_t mask;
	unsigned size;
	int doorbell;
	bool numa;
};

int npu_ring_create(struct npu_ring **out, unsigned size, int node)
{
	struct npu_ring *r;
	size_t bytes;
	int ret;

	if (size < 2 || (size & (size - 1)))
		return -EINVAL;
	r = aligned_alloc(CACHELINE, sizeof(*r));
	if (!r)
		return -ENOMEM;
	memset(r, 0, sizeof(*r));
	bytes = (size_t)size * sizeof(*r->slots);
	r->numa = node >= 0 && numa_available() >= 0;
	if (r->numa)
		r->slots = numa_alloc_onnode(bytes, node);
	else
		r->slots = aligned_alloc(CACHELINE, (bytes + CACHELINE - 1) & ~(size_t)(CACHELINE - 1));
	if (!r->slots) {
		ret = -ENOMEM;
		goto err_free;
	}
	r->doorbell = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (r->doorbell < 0) {
		ret = -errno;
		goto err_slots;
	}
	for (unsigned i = 0; i < size; i++) {
		atomic_init(&r->slots[i].seq, i);
		r->slots[i].item = NULL;
	}
	r->size = size;
	r->mask = size - 1;
	atomic_init(&r->tail, 0);
	atomic_init(&r->head, 0);
	*out = r;
	return 0;

err_slots:
	if (r->numa)
		numa_free(r->slots, bytes);
	else
		free(r->slots);
err_free:
	free(r);
	return ret;
}

void npu_ring_destroy(struct npu_ring *r)
{
	if (!r)
		return;
	close(r->doorbell);
	if (r->numa)
		numa_free(r->slots, (size_t)r->size * sizeof(*r->slots));
	else
		free(r->slots);
	free(r);
}

void npu_ring_notify(struct npu_ring *r)
{
	/*
	 * Seq_cst fence: our slot was published with a release store, and a
	 * load after a release store may still be served first (on x86 the
	 * store waits in the store buffer). Without the fence we could read
	 * armed == 0 while npu_ring_arm() reads our slot as unpublished, and
	 * the consumer would sleep with our item in the ring. Pairs with the
	 * fence in npu_ring_arm(): whichever fence comes first in the single
	 * seq_cst order, the other side's load after its fence sees the store
	 * before it. Only producers that may ring pay for it: quiet
	 * producers publish without it and come here once, later.
	 */
	atomic_thread_fence(memory_order_seq_cst);
	/*
	 * Relaxed: the fence above orders the load; the exchange needs only
	 * its atomicity (one producer wins armed and rings once).
	 */
	if (atomic_load_explicit(&r->armed, memory_order_relaxed) &&
	    atomic_exchange_explicit(&r->armed, 0, memory_order_relaxed)) {
		uint64_t one = 1;

		if (write(r->doorbell, &one, sizeof(one)) < 0) {
			/* EAGAIN: the counter is saturated, the consumer will wake anyway. */
		}
	}
}

/* One claim attempt loop; returns false if the ring is full. */
static bool try_enqueue(struct npu_ring *r, void *item, bool notify)
{
	uint64_t pos = atomic_load_explicit(&r->tail, memory_order_relaxed);
	struct npu_ring_slot *s;

	for (;;) {
		int64_t diff;

		s = &r->slots[pos & r->mask];
		/*
		 * Acquire pairs with the consumer's release when it freed the
		 * slot: its read of the old item happens before our write.
		 */
		diff = (int64_t)(atomic_load_explicit(&s->seq, memory_order_acquire) - pos);
		if (diff == 0) {
			/* Relaxed: the claim itself publishes nothing. */
			if (atomic_compare_exchange_weak_explicit(&r->tail, &pos, pos + 1,
								  memory_order_relaxed,
								  memory_order_relaxed))
				break;
		} else if (diff < 0) {
			return false;  /* the slot still holds the item of pos - size */
		} else {
			pos = atomic_load_explicit(&r->tail, memory_order_relaxed);
		}
	}
	s->item = item;
	/* Release: the item store is visible before the slot reads as published. */
	atomic_store_explicit(&s->seq, pos + 1, memory_order_release);
	if (notify)
		npu_ring_notify(r);
	return true;
}

static int enqueue(struct npu_ring *r, void *item, int64_t timeout_ns, bool notify)
{
	int64_t deadline = 0;
	int ret = 0;

	if (!item)
		return -EINVAL;
	if (try_enqueue(r, item, notify))
		return 0;
	/* Full: a quiet producer's earlier items must not wait for its later ones. */
	if (!notify)
		npu_ring_notify(r);
	if (timeout_ns == 0)
		return -EAGAIN;
	if (timeout_ns > 0)
		deadline = npu_now_ns() + timeout_ns;
	/*
	 * Give the consumer the CPU a few times before sleeping: a full ring
	 * usually drains within a time slice, and a futex sleep and wake cost
	 * two context switches.
	 */
	for (int i = 0; i < YIELDS_BEFORE_SLEEP; i++) {
		sched_yield();
		if (try_enqueue(r, item, notify))
			return 0;
	}
	/* Relaxed: the fence below orders it before our re-checks of the slot. */
	atomic_fetch_add_explicit(&r->space_waiters, 1, memory_order_relaxed);
	/*
	 * Seq_cst fence, paired with the one in npu_ring_dequeue_burst():
	 * either the consumer's load of space_waiters after freeing slots
	 * sees us, or our retry below sees the slots it freed.
	 */
	atomic_thread_fence(memory_order_seq_cst);
	for (;;) {
		uint32_t gen = atomic_load_explicit(&r->space_gen, memory_order_seq_cst);
		int64_t left = -1;

		if (try_enqueue(r, item, notify))
			break;
		if (timeout_ns > 0) {
			left = deadline - npu_now_ns();
			if (left <= 0) {
				ret = -ETIMEDOUT;
				break;
			}
		}
		/* Sleeps only if no slot was freed since gen was read. */
		npu_futex_wait(&r->space_gen, gen, left);
	}
	atomic_fetch_sub_explicit(&r->space_waiters, 1, memory_order_relaxed);
	return ret;
}

int npu_ring_enqueue(struct npu_ring *r, void *item, int64_t timeout_ns)
{
	return enqueue(r, item, timeout_ns, true);
}

int npu_ring_enqueue_quiet(struct npu_ring *r, void *item, int64_t timeout_ns)
{
	return enqueue(r, item, timeout_ns, false);
}

unsigned npu_ring_dequeue_burst(struct npu_ring *r, void **items, unsigned max)
{
	uint64_t pos = atomic_load_explicit(&r->head, memory_order_relaxed);
	unsigned n = 0;

	while (n < max) {
		struct npu_ring_slot *s = &r->slots[pos & r->mask];

		/* Acquire pairs with the producer's publish: the item is there. */
		if (atomic_load_explicit(&s->seq, memory_order_acquire) != pos + 1)
			break;
		items[n++] = s->item;
		/* Release: our read of the item happens before the slot is reused. */
		atomic_store_explicit(&s->seq, pos + r->size, memory_order_release);
		pos++;
	}
	if (!n)
		return 0;
	atomic_store_explicit(&r->head, pos, memory_order_relaxed);
	/*
	 * Seq_cst fence: the slots were freed with release stores, which the
	 * load of space_waiters below could otherwise pass (the same
	 * store->load pattern as the doorbell). Pairs with the fence after a
	 * blocked producer announces itself in enqueue(): either it sees the
	 * freed slots on its retry, or we see it waiting.
	 */
	atomic_thread_fence(memory_order_seq_cst);
	/*
	 * Producers blocked on a full ring are woken only once it is at most
	 * half full, and then all together: with many more producers than
	 * cores, waking one per freed slot costs a context switch per job.
	 * No wakeup is lost: a producer sleeps only after seeing the ring full
	 * (after announcing itself in space_waiters and its fence), so items
	 * remain, and a later dequeue must bring the ring down to half and see
	 * it there. Relaxed: the fence above orders the load.
	 */
	if (atomic_load_explicit(&r->space_waiters, memory_order_relaxed) &&
	    atomic_load_explicit(&r->tail, memory_order_relaxed) - pos <= r->size / 2) {
		/* Seq_cst pairs with the waiters' gen load before their retry. */
		atomic_fetch_add_explicit(&r->space_gen, 1, memory_order_seq_cst);
		npu_futex_wake_all(&r->space_gen);
	}
	return n;
}

int npu_ring_doorbell_fd(const struct npu_ring *r)
{
	return r->doorbell;
}

bool npu_ring_arm(struct npu_ring *r)
{
	uint64_t pos = atomic_load_explicit(&r->head, memory_order_relaxed);

	/* Relaxed: the fence below orders it before the re-check. */
	atomic_store_explicit(&r->armed, 1, memory_order_relaxed);
	/*
	 * Seq_cst fence: without it the re-check below may read the slot
	 * while our store of armed still waits in the store buffer, and a
	 * producer publishing meanwhile may read armed == 0: neither sees the
	 * other, and we sleep with its item in the ring. Pairs with the fence
	 * in npu_ring_notify(): either the re-check sees the slot, or the
	 * producer sees armed == 1 and rings.
	 */
	atomic_thread_fence(memory_order_seq_cst);
	/* Relaxed: the fence orders it; the caller takes the item with acquire. */
	if (atomic_load_explicit(&r->slots[pos & r->mask].seq, memory_order_relaxed) == pos + 1) {
		/* Relaxed: a producer that still sees 1 only rings needlessly. */
		atomic_store_explicit(&r->armed, 0, memory_order_relaxed);
		return false;
	}
	return true;
}

unsigned npu_ring_count(const struct npu_ring *r)
{
	uint64_t t = atomic_load_explicit(&r->tail, memory_order_relaxed);
	uint64_t h = atomic_load_explicit(&r->head, memory_order_relaxed);

	return t > h ? (unsigned)(t - h) : 0;
}

unsigned npu_ring_size(const struct npu_ring *r)
{
	return r->size;
}
