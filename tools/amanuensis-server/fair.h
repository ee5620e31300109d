/* SPDX-License-Identifier: MIT */
/*
 * tools/amanuensis-server/fair.h - who decodes next: a weighted fair queue of
 * 30 s windows across tenants. Every window of every request asks for one of
 * a few slots (the windows decoded at once) before it runs and gives it back
 * after; free slots go to the waiting window whose tenant is furthest behind
 * its weighted share (start-time fair queuing on audio seconds), so two
 * backlogged tenants of weights 1 and 3 get audio in the ratio 1:3, and a
 * short request arriving during a long one waits at most for one window.
 * Within a tenant, the request with the least audio left goes first (with
 * aging: srv_fair_acquire_ranked), so that a tenant's short requests do
 * not queue behind its long ones' windows.
 */
#ifndef AMN_SRV_FAIR_H
#define AMN_SRV_FAIR_H

#include <stdatomic.h>
#include <stddef.h>

struct srv_fair;

/**
 * srv_fair_new - a queue for @n_tenants tenants with @weights (each >= 1)
 * and @slots windows at once (>= 1).
 * Return: 0 or -EINVAL/-ENOMEM.
 */
int srv_fair_new(struct srv_fair **out, size_t n_tenants, const unsigned *weights, unsigned slots);

/** srv_fair_free - release; no thread may be waiting in it. NULL is a no-op. */
void srv_fair_free(struct srv_fair *f);

/**
 * srv_fair_acquire - wait for a slot for one window of @cost audio seconds
 * (> 0) of @tenant. Windows of one tenant are granted in the order they ask.
 * @cancel: when non-NULL and it becomes nonzero, the wait ends (checked at
 * least every 50 ms, and at once after srv_fair_wake()); a flag already set
 * on entry ends it before it queues. A window granted before its waiter saw
 * the flag returns 0 all the same (the caller releases after it looks).
 * A window that leaves without a slot, being its tenant's last, takes its
 * charge back: a cancelled wait does not count against the tenant's share.
 * Return: 0 with a slot held, -ECANCELED (nothing held), -ESHUTDOWN after
 * srv_fair_shutdown() (nothing held, even if a slot had just been granted),
 * -EINVAL (bad tenant, cost not finite and > 0), -ENOMEM.
 */
int srv_fair_acquire(struct srv_fair *f, size_t tenant, double cost, const atomic_int *cancel);

/**
 * srv_fair_acquire_ranked - srv_fair_acquire() for a window whose request
 * has @remaining_s seconds of audio left (this window included). Between
 * tenants nothing changes; within a tenant the waiting window of the
 * request with the least audio left goes first, less one second for every
 * second it has waited, so a long request is passed by short ones for about
 * as long as its own audio left, no longer. @remaining_s 0 ranks by the wait alone: FIFO, which
 * is srv_fair_acquire().
 * Return: as srv_fair_acquire().
 */
int srv_fair_acquire_ranked(struct srv_fair *f, size_t tenant, double cost, double remaining_s,
			    const atomic_int *cancel);

/**
 * srv_fair_release - give back the slot @tenant's window held; the slot goes
 * to the next window at once. A release without a held slot is ignored.
 */
void srv_fair_release(struct srv_fair *f, size_t tenant);

/** srv_fair_wake - make every waiter look at its cancel flag now. */
void srv_fair_wake(struct srv_fair *f);

/** srv_fair_shutdown - every present and later wait returns -ESHUTDOWN. */
void srv_fair_shutdown(struct srv_fair *f);

/** Per-tenant figures for /metrics, read under the queue's lock. */
struct srv_fair_stats {
	size_t waiting;          /* windows waiting for a slot */
	size_t running;          /* windows holding a slot */
	double granted_s;        /* audio seconds granted so far (sum of costs) */
	double wait_s;           /* seconds windows spent waiting, summed */
};

/** srv_fair_stats - copy @tenant's figures into @out. */
void srv_fair_stats(struct srv_fair *f, size_t tenant, struct srv_fair_stats *out);

#endif /* AMN_SRV_FAIR_H */
