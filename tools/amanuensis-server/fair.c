/* SPDX-License-Identifier: MIT */
/*
 * tools/amanuensis-server/fair.c - the weighted fair queue of 30 s windows
 * (fair.h has the contract).
 *
 * Start-time fair queuing (Goyal, Vin and Cheng, 1996) over audio seconds.
 * The queue keeps a virtual time V. A window of tenant t that asks with cost
 * c (its audio seconds) is stamped, at once, with
 *
 *	S = max(V, last_finish[t])	start tag
 *	F = S + c / weight[t]		finish tag
 *	last_finish[t] = F
 *
 * and whenever a slot is free the waiting window with the smallest S is
 * granted (ties: smallest F, then the earlier arrival), and V becomes that S.
 *
 * Why this gives each backlogged tenant its weighted share: a tenant's tags
 * advance by c / weight per window, so over any stretch in which two tenants
 * both wait, the one that has been served more audio per unit of weight has
 * the larger tags and waits. The lag between any two backlogged tenants stays
 * within one window's cost / weight, whatever the number of windows.
 *
 * Why a tenant that idled does not come back with a burst of credit: its
 * last_finish stayed where it stopped while V moved on with the others'
 * grants. If its start tag were last_finish alone, its next windows would
 * be stamped far in the past and would all be granted before anyone else's,
 * for as long as it took to "catch up" - a tenant could save up credit by
 * idling and then flood. The max(V, .) stamps it no earlier than the
 * windows being served now: on return it competes as an equal from the
 * present, neither punished for its idle time nor paid for it. Conversely a
 * tenant with many windows queued (several requests at once) has tags
 * stretching into the future, so a tenant that arrives now, stamped at V,
 * goes ahead of all of them but the ones already granted: a short request
 * arriving during a long one waits for at most one window per slot.
 *
 * Why tags at arrival, not at grant: a tenant's windows then keep their
 * order (each S is at least the previous F), so the head of each tenant's
 * FIFO is its smallest tag and a grant looks only at the heads.
 *
 * A window that ends its wait without a slot (cancel, shutdown) hands its
 * charge back when nothing of its tenant was stamped after it (it was the
 * tail): a client that disconnects while queued does not make its tenant
 * pay for audio it never got. A cancelled window in the middle of its
 * tenant's queue leaves its charge; the later windows already carry it.
 *
 * Grants are made by whoever frees the slot (release) or finds one free
 * (acquire), under the lock, and handed to the chosen waiter through its own
 * condition variable, so a release wakes exactly one thread. Waiters also
 * wake every 50 ms to look at their cancel flag: the flag is the caller's
 * plain atomic, and polling it costs less than a registration protocol.
 */
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <time.h>

#include "tools/amanuensis-server/fair.h"

#define WAIT_SLICE_NS 50000000ll  /* how often a waiter looks at its cancel flag */
/*
 * Audio seconds of rank a waiting window gains per second it waits: a
 * request is passed by shorter ones for about as long as its own audio
 * left, at most (queue waits of a few seconds must not outrank a 2 s file).
 */
#define AGING 1.0

/* One window waiting for (or just granted) a slot; lives on its thread's stack. */
struct fair_waiter {
	struct fair_waiter *next;       /* its tenant's FIFO */
	double cost;
	double remaining;               /* its request's audio left: the rank in its tenant */
	int64_t since_ns;               /* when it began to wait */
	double start, finish;           /* tags */
	uint64_t seq;                   /* arrival order, the last tie-break */
	int granted;                    /* set by the granter under the lock */
	pthread_cond_t cond;            /* signalled on grant, wake, shutdown */
};

struct fair_tenant {
	struct fair_waiter *head, *tail;
	double weight;
	double last_finish;
	size_t waiting, running;
	double granted_s, wait_s;
};

struct srv_fair {
	pthread_mutex_t lock;           /* guards everything below */
	struct fair_tenant *t;
	size_t n_tenants;
	unsigned slots, running;
	double vtime;
	uint64_t seq;
	int shutdown;
};

static int64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000ll + ts.tv_nsec;
}

int srv_fair_new(struct srv_fair **out, size_t n_tenants, const unsigned *weights, unsigned slots)
{
	struct srv_fair *f;

	*out = NULL;
	if (n_tenants == 0 || !weights || slots == 0)
		return -EINVAL;
	for (size_t i = 0; i < n_tenants; i++)
		if (weights[i] == 0)
			return -EINVAL;
	f = calloc(1, sizeof(*f));
	if (!f)
		return -ENOMEM;
	f->t = calloc(n_tenants, sizeof(*f->t));
	if (!f->t) {
		free(f);
		return -ENOMEM;
	}
	if (pthread_mutex_init(&f->lock, NULL)) {
		free(f->t);
		free(f);
		return -ENOMEM;
	}
	for (size_t i = 0; i < n_tenants; i++)
		f->t[i].weight = weights[i];
	f->n_tenants = n_tenants;
	f->slots = slots;
	*out = f;
	return 0;
}

void srv_fair_free(struct srv_fair *f)
{
	if (!f)
		return;
	pthread_mutex_destroy(&f->lock);
	free(f->t);
	free(f);
}

/* a is granted before b: smaller start tag, then finish tag, then arrival. */
static int before(const struct fair_waiter *a, const struct fair_waiter *b)
{
	if (a->start != b->start)
		return a->start < b->start;
	if (a->finish != b->finish)
		return a->finish < b->finish;
	return a->seq < b->seq;
}

/*
 * The window @t serves next: the least audio left, aged by its wait; ties
 * keep the FIFO order. Lock held.
 */
static struct fair_waiter *pick_in_tenant(struct fair_tenant *t, int64_t now)
{
	struct fair_waiter *best = t->head;
	double best_rank = best->remaining - AGING * (double)(now - best->since_ns) * 1e-9;

	for (struct fair_waiter *p = best->next; p; p = p->next) {
		double rank = p->remaining - AGING * (double)(now - p->since_ns) * 1e-9;

		if (rank < best_rank) {
			best = p;
			best_rank = rank;
		}
	}
	return best;
}

/*
 * Take @w, a waiter of @t other than its head, out of the FIFO as if it were
 * the head: it takes the head's tags and every waiter before it moves one
 * tag on, so the tags stay in list order (the head's is the tenant's
 * smallest, which dispatch() relies on) and the tenant's charges are the
 * same. Lock held.
 */
static void take_from_middle(struct fair_tenant *t, struct fair_waiter *w)
{
	double start = t->head->start, finish = t->head->finish;
	uint64_t seq = t->head->seq;
	struct fair_waiter *p, *prev = NULL;

	for (p = t->head; p != w; prev = p, p = p->next) {
		p->start = p->next->start;
		p->finish = p->next->finish;
		p->seq = p->next->seq;
	}
	w->start = start;
	w->finish = finish;
	w->seq = seq;
	/* the waiter before @w now carries its old tags (the tail's, if @w was the tail) */
	if (t->tail == w)
		t->tail = prev;
	prev->next = w->next;
}

/* Grant free slots to the best waiting windows. Called with the lock held. */
static void dispatch(struct srv_fair *f)
{
	int64_t now = mono_ns();

	while (!f->shutdown && f->running < f->slots) {
		struct fair_tenant *best = NULL;
		struct fair_waiter *w;

		for (size_t i = 0; i < f->n_tenants; i++) {
			struct fair_tenant *t = &f->t[i];

			if (t->head && (!best || before(t->head, best->head)))
				best = t;
		}
		if (!best)
			return;
		w = pick_in_tenant(best, now);
		if (w == best->head) {
			best->head = w->next;
			if (!best->head)
				best->tail = NULL;
		} else {
			take_from_middle(best, w);
		}
		w->next = NULL;
		best->waiting--;
		best->running++;
		best->granted_s += w->cost;
		f->running++;
		if (w->start > f->vtime)
			f->vtime = w->start;
		w->granted = 1;
		pthread_cond_signal(&w->cond);
	}
}

/* Take @w out of its tenant's FIFO (it has not been granted). Lock held. */
static void unlink_waiter(struct fair_tenant *t, struct fair_waiter *w)
{
	struct fair_waiter **pp = &t->head, *prev = NULL;

	while (*pp && *pp != w) {
		prev = *pp;
		pp = &(*pp)->next;
	}
	if (!*pp)
		return;
	*pp = w->next;
	if (t->tail == w)
		t->tail = prev;
	t->waiting--;
}

static int cancelled(const atomic_int *cancel)
{
	/* Relaxed: the flag carries no data; the lock orders everything else. */
	return cancel && atomic_load_explicit(cancel, memory_order_relaxed) != 0;
}

int srv_fair_acquire(struct srv_fair *f, size_t tenant, double cost, const atomic_int *cancel)
{
	return srv_fair_acquire_ranked(f, tenant, cost, 0, cancel);
}

int srv_fair_acquire_ranked(struct srv_fair *f, size_t tenant, double cost, double remaining_s,
			    const atomic_int *cancel)
{
	struct fair_waiter w = { 0 };
	pthread_condattr_t ca;
	struct fair_tenant *t;
	int64_t t0;
	int ret = 0;

	if (!f || tenant >= f->n_tenants || !(cost > 0) || !isfinite(cost))
		return -EINVAL;
	if (pthread_condattr_init(&ca))
		return -ENOMEM;
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	ret = -pthread_cond_init(&w.cond, &ca);
	pthread_condattr_destroy(&ca);
	if (ret)
		return ret;
	t0 = mono_ns();
	t = &f->t[tenant];

	pthread_mutex_lock(&f->lock);
	if (f->shutdown) {
		ret = -ESHUTDOWN;
		goto out_unlock;
	}
	if (cancelled(cancel)) {
		ret = -ECANCELED;
		goto out_unlock;
	}
	w.cost = cost;
	w.remaining = isfinite(remaining_s) && remaining_s > 0 ? remaining_s : 0;
	w.since_ns = t0;
	w.start = t->last_finish > f->vtime ? t->last_finish : f->vtime;
	w.finish = w.start + cost / t->weight;
	w.seq = f->seq++;
	t->last_finish = w.finish;
	if (t->tail)
		t->tail->next = &w;
	else
		t->head = &w;
	t->tail = &w;
	t->waiting++;
	dispatch(f);

	for (;;) {
		struct timespec ts;
		int64_t until;

		/* Shutdown first: every present wait ends with -ESHUTDOWN. */
		if (f->shutdown) {
			ret = -ESHUTDOWN;
			break;
		}
		/* A grant wins over a cancel seen at the same time: the caller
		 * looks at its flag after the window and releases. */
		if (w.granted)
			break;
		if (cancelled(cancel)) {
			ret = -ECANCELED;
			break;
		}
		until = mono_ns() + WAIT_SLICE_NS;
		ts.tv_sec = (time_t)(until / 1000000000ll);
		ts.tv_nsec = (long)(until % 1000000000ll);
		pthread_cond_timedwait(&w.cond, &f->lock, &ts);
	}
	if (ret) {
		if (w.granted) {
			/* Granted, then shut down before it woke: give the slot back. */
			t->running--;
			t->granted_s -= cost;
			f->running--;
		} else {
			unlink_waiter(t, &w);
		}
		/* Hand the charge back if nothing of this tenant was stamped since. */
		if (t->last_finish == w.finish)
			t->last_finish = w.start;
		dispatch(f);
	}
	t->wait_s += (double)(mono_ns() - t0) * 1e-9;
out_unlock:
	pthread_mutex_unlock(&f->lock);
	pthread_cond_destroy(&w.cond);
	return ret;
}

void srv_fair_release(struct srv_fair *f, size_t tenant)
{
	struct fair_tenant *t;

	if (!f || tenant >= f->n_tenants)
		return;
	t = &f->t[tenant];
	pthread_mutex_lock(&f->lock);
	/* A release without an acquire is the caller's bug; never underflow. */
	if (t->running > 0 && f->running > 0) {
		t->running--;
		f->running--;
		dispatch(f);
	}
	pthread_mutex_unlock(&f->lock);
}

/* Signal every waiter. Lock held. */
static void signal_all(struct srv_fair *f)
{
	for (size_t i = 0; i < f->n_tenants; i++)
		for (struct fair_waiter *w = f->t[i].head; w; w = w->next)
			pthread_cond_signal(&w->cond);
}

void srv_fair_wake(struct srv_fair *f)
{
	if (!f)
		return;
	pthread_mutex_lock(&f->lock);
	signal_all(f);
	pthread_mutex_unlock(&f->lock);
}

void srv_fair_shutdown(struct srv_fair *f)
{
	if (!f)
		return;
	pthread_mutex_lock(&f->lock);
	f->shutdown = 1;
	signal_all(f);
	pthread_mutex_unlock(&f->lock);
}

void srv_fair_stats(struct srv_fair *f, size_t tenant, struct srv_fair_stats *out)
{
	out->waiting = 0;
	out->running = 0;
	out->granted_s = 0;
	out->wait_s = 0;
	if (!f || tenant >= f->n_tenants)
		return;
	pthread_mutex_lock(&f->lock);
	out->waiting = f->t[tenant].waiting;
	out->running = f->t[tenant].running;
	out->granted_s = f->t[tenant].granted_s;
	out->wait_s = f->t[tenant].wait_s;
	pthread_mutex_unlock(&f->lock);
}
