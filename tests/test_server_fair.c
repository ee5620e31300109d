/* SPDX-License-Identifier: MIT */
/*
 * tests/test_server_fair.c - the server's fair queue of windows: weighted
 * shares of backlogged tenants (1 slot and 2), a newcomer served ahead of a
 * long queue, no credit saved up by idling, FIFO within a tenant, cancel,
 * shutdown and the per-tenant figures. The outcomes asserted are orders and
 * ratios of grants, never durations: the machine is shared and slow.
 * Also built under ThreadSanitizer (`make tsan`).
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "tools/amanuensis-server/fair.h"

TestSuite(fair, .timeout = 120);

/* The grants in the order they were made, recorded while the slot is held. */
struct grant_log {
	pthread_mutex_t lock;
	size_t n, cap, stop_at;
	int *tenant;
	int *id;                /* struct worker.id */
	double *cost;
};

static void log_init(struct grant_log *g, size_t cap, size_t stop_at)
{
	pthread_mutex_init(&g->lock, NULL);
	g->n = 0;
	g->cap = cap;
	g->stop_at = stop_at;
	g->tenant = calloc(cap, sizeof(*g->tenant));
	g->id = calloc(cap, sizeof(*g->id));
	g->cost = calloc(cap, sizeof(*g->cost));
	cr_assert(g->tenant && g->id && g->cost);
}

static void log_free(struct grant_log *g)
{
	pthread_mutex_destroy(&g->lock);
	free(g->tenant);
	free(g->id);
	free(g->cost);
}

/* Record one grant. Return: 1 when this grant was the one to stop at. */
static int log_add(struct grant_log *g, int tenant, int id, double cost)
{
	int last = 0;

	pthread_mutex_lock(&g->lock);
	if (g->n < g->cap) {
		g->tenant[g->n] = tenant;
		g->id[g->n] = id;
		g->cost[g->n] = cost;
		g->n++;
		last = g->n == g->stop_at;
	}
	pthread_mutex_unlock(&g->lock);
	return last;
}

struct worker {
	pthread_t th;
	struct srv_fair *f;
	struct grant_log *log;
	int tenant;
	int id;
	double cost;
	int loop;               /* 0: one window; 1: until shutdown */
	int hold_us;            /* 0: release at once; else sleep hold_us..2*hold_us */
	const atomic_int *cancel;
	double remaining;       /* > 0: srv_fair_acquire_ranked() with it */
	int ret;                /* the last acquire's result */
	unsigned seed;
};

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	unsigned k = 0;

	do {
		/* Costs 1, 1.5, 2 in turn: shares are of audio, not of windows. */
		double cost = w->cost > 0 ? w->cost : 1.0 + 0.5 * (k++ % 3);

		w->ret = w->remaining > 0 ?
			 srv_fair_acquire_ranked(w->f, (size_t)w->tenant, cost, w->remaining, w->cancel) :
			 srv_fair_acquire(w->f, (size_t)w->tenant, cost, w->cancel);
		if (w->ret)
			break;
		if (w->log && log_add(w->log, w->tenant, w->id, cost))
			srv_fair_shutdown(w->f);   /* enough: everyone stops */
		if (w->hold_us)
			usleep((useconds_t)(w->hold_us + (int)(rand_r(&w->seed) % (unsigned)w->hold_us)));
		srv_fair_release(w->f, (size_t)w->tenant);
	} while (w->loop);
	return NULL;
}

static void start(struct worker *w)
{
	cr_assert_eq(pthread_create(&w->th, NULL, worker_main, w), 0);
}

/* Poll until @tenant has @n windows waiting (a state, not a time). */
static void wait_waiting(struct srv_fair *f, size_t tenant, size_t n)
{
	struct srv_fair_stats st;

	for (int i = 0; i < 60000; i++) {
		srv_fair_stats(f, tenant, &st);
		if (st.waiting == n)
			return;
		usleep(500);
	}
	cr_assert_fail("tenant %zu never had %zu windows waiting (%zu)", tenant, n, st.waiting);
}

/* Audio granted to tenants 0 and 1 in log entries [from, to). */
static void shares(const struct grant_log *g, size_t from, size_t to, double out[2])
{
	out[0] = out[1] = 0;
	for (size_t i = from; i < to && i < g->n; i++)
		out[g->tenant[i]] += g->cost[i];
}

/*
 * Backlogged tenants of weights 1 and 3, several threads each so that both
 * always have windows queued, @slots slots; the log stops at @total grants.
 * Main holds every slot as a third tenant until all the workers queue, so
 * that no worker runs laps before the others have started (grants take
 * microseconds, starting a thread on a busy machine milliseconds); from
 * then on every grant is made with all the workers but the releasing one
 * queued.
 */
static void run_backlogged(unsigned slots, int per_tenant, int hold_us, size_t skip,
			   size_t total, double tolerance)
{
	static const unsigned weights[3] = { 1, 3, 1 };
	struct worker w[32];
	struct grant_log g;
	struct srv_fair *f;
	struct srv_fair_stats st[2];
	double s[2], ratio;
	int n = 2 * per_tenant;

	cr_assert_leq(n, 32);
	cr_assert_eq(srv_fair_new(&f, 3, weights, slots), 0);
	/* Room past @total: windows granted before the shutdown are logged too. */
	log_init(&g, total + 64, total);
	for (unsigned i = 0; i < slots; i++)
		cr_assert_eq(srv_fair_acquire(f, 2, 1.0, NULL), 0);
	memset(w, 0, sizeof(w));
	for (int i = 0; i < n; i++) {
		w[i].f = f;
		w[i].log = &g;
		w[i].tenant = i % 2;
		w[i].loop = 1;
		w[i].hold_us = hold_us;
		w[i].seed = (unsigned)i + 1;
		start(&w[i]);
	}
	wait_waiting(f, 0, (size_t)per_tenant);
	wait_waiting(f, 1, (size_t)per_tenant);
	for (unsigned i = 0; i < slots; i++)
		srv_fair_release(f, 2);
	for (int i = 0; i < n; i++) {
		pthread_join(w[i].th, NULL);
		cr_expect_eq(w[i].ret, -ESHUTDOWN, "worker %d: %d", i, w[i].ret);
	}
	cr_assert_geq(g.n, total);
	shares(&g, skip, total, s);
	cr_assert_gt(s[0], 0);
	ratio = s[1] / s[0];
	cr_expect(fabs(ratio / 3.0 - 1.0) <= tolerance,
		  "audio granted 1:%.3f over grants %zu..%zu, want 1:3 within %.0f%%", ratio, skip,
		  total, tolerance * 100);
	/* The queue's own figures agree with what the workers saw granted. */
	srv_fair_stats(f, 0, &st[0]);
	srv_fair_stats(f, 1, &st[1]);
	shares(&g, 0, g.n, s);
	cr_expect_float_eq(st[0].granted_s, s[0], 1e-6, "%f %f", st[0].granted_s, s[0]);
	cr_expect_float_eq(st[1].granted_s, s[1], 1e-6, "%f %f", st[1].granted_s, s[1]);
	cr_expect_eq(st[0].waiting + st[1].waiting, 0);
	cr_expect_eq(st[0].running + st[1].running, 0);
	srv_fair_free(f);
	log_free(&g);
}

/* (a) one slot, 400 grants measured after 40 of warm-up: 1:3 within 5 %. */
Test(fair, weights_1_3_one_slot)
{
	run_backlogged(1, 6, 0, 40, 440, 0.05);
}

/* (b) two slots, windows held 1-2 ms: 1:3 within 10 %. */
Test(fair, weights_1_3_two_slots_held)
{
	run_backlogged(2, 5, 1000, 50, 1000, 0.10);
}

/*
 * Main holds the only slot as tenant 0; @nq windows of tenant 0 queue, then
 * one of tenant 1 (weight @w1). Return (through @g) the order of the grants
 * after main releases.
 */
static void newcomer_order(unsigned w0, unsigned w1, int nq, struct grant_log *g)
{
	const unsigned weights[2] = { w0, w1 };
	struct worker w[64];
	struct srv_fair *f;

	cr_assert_lt(nq, 64);
	cr_assert_eq(srv_fair_new(&f, 2, weights, 1), 0);
	log_init(g, (size_t)nq + 1, 0);
	cr_assert_eq(srv_fair_acquire(f, 0, 1.0, NULL), 0);
	memset(w, 0, sizeof(w));
	for (int i = 0; i <= nq; i++) {
		w[i].f = f;
		w[i].log = g;
		w[i].tenant = i < nq ? 0 : 1;
		w[i].cost = 1.0;
		start(&w[i]);
		wait_waiting(f, (size_t)w[i].tenant, i < nq ? (size_t)i + 1 : 1);
	}
	srv_fair_release(f, 0);
	for (int i = 0; i <= nq; i++) {
		pthread_join(w[i].th, NULL);
		cr_expect_eq(w[i].ret, 0);
	}
	cr_assert_eq(g->n, (size_t)nq + 1);
	srv_fair_free(f);
}

/* (c) a tenant arriving behind 20 queued windows is granted within 1 grant. */
Test(fair, newcomer_not_behind_queue)
{
	struct grant_log g;
	size_t pos = 0;

	/* The queued tenant has three times the weight: still no wait. */
	newcomer_order(3, 1, 20, &g);
	while (pos < g.n && g.tenant[pos] != 1)
		pos++;
	cr_expect_leq(pos, 1, "the newcomer was grant %zu of %zu", pos + 1, g.n);
	log_free(&g);
}

/* One tenant's windows are granted in the order they asked. */
Test(fair, fifo_within_tenant)
{
	static const unsigned weights[1] = { 2 };
	struct worker w[16];
	struct grant_log g;
	struct srv_fair *f;

	cr_assert_eq(srv_fair_new(&f, 1, weights, 1), 0);
	log_init(&g, 16, 0);
	cr_assert_eq(srv_fair_acquire(f, 0, 1.0, NULL), 0);
	memset(w, 0, sizeof(w));
	for (int i = 0; i < 16; i++) {
		w[i].f = f;
		w[i].log = &g;
		w[i].tenant = 0;
		/* Different costs: order must not depend on them. */
		w[i].id = i;
		w[i].cost = 1.0 + (double)((i * 7) % 5);
		start(&w[i]);
		wait_waiting(f, 0, (size_t)i + 1);
	}
	srv_fair_release(f, 0);
	for (int i = 0; i < 16; i++)
		pthread_join(w[i].th, NULL);
	cr_assert_eq(g.n, 16);
	for (int i = 0; i < 16; i++)
		cr_expect_eq(g.id[i], i, "grant %d went to the window that asked %d-th", i, g.id[i]);
	srv_fair_free(f);
	log_free(&g);
}

/*
 * Ranked windows of one tenant: the request with the least audio left goes
 * first (a 2 s request before a 180 s one that asked earlier), unless the
 * other has waited long enough to outrank it (1 s of rank per second).
 */
static void ranked_order(double first_remaining, double second_remaining, useconds_t gap_us,
			 int expect_first)
{
	static const unsigned weights[1] = { 1 };
	struct worker w[2];
	struct grant_log g;
	struct srv_fair *f;

	cr_assert_eq(srv_fair_new(&f, 1, weights, 1), 0);
	log_init(&g, 4, 0);
	cr_assert_eq(srv_fair_acquire(f, 0, 1.0, NULL), 0);      /* the slot is busy */
	memset(w, 0, sizeof(w));
	for (int i = 0; i < 2; i++) {
		w[i].f = f;
		w[i].log = &g;
		w[i].id = i;
		w[i].cost = 1.0;
		w[i].remaining = i ? second_remaining : first_remaining;
		start(&w[i]);
		wait_waiting(f, 0, (size_t)i + 1);
		if (!i)
			usleep(gap_us);
	}
	srv_fair_release(f, 0);
	for (int i = 0; i < 2; i++)
		pthread_join(w[i].th, NULL);
	cr_assert_eq(g.n, 2);
	cr_expect_eq(g.id[0], expect_first, "window %d went first", g.id[0]);
	/* the tenant's charge is the same whichever went first */
	{
		struct srv_fair_stats st;

		srv_fair_stats(f, 0, &st);
		cr_expect_eq(st.granted_s, 3.0);
		cr_expect_eq(st.waiting, 0);
	}
	srv_fair_free(f);
	log_free(&g);
}

Test(fair, ranked_least_audio_left_first)
{
	ranked_order(180.0, 2.0, 0, 1);
}

Test(fair, ranked_aging_bounds_the_pass)
{
	/* 1.5 s left after 0.6 s of waiting ranks below a fresh 1 s request */
	ranked_order(1.5, 1.0, 600000, 0);
}

/*
 * A tenant that idled while another was served 100 windows comes back with
 * 10 windows queued beside 10 of the other: it must not take them all first.
 */
Test(fair, no_credit_for_idling)
{
	static const unsigned weights[2] = { 1, 1 };
	struct worker w[20];
	struct grant_log g;
	struct srv_fair *f;
	int first_b = 0;

	cr_assert_eq(srv_fair_new(&f, 2, weights, 1), 0);
	for (int i = 0; i < 100; i++) {
		cr_assert_eq(srv_fair_acquire(f, 1, 1.0, NULL), 0);
		srv_fair_release(f, 1);
	}
	log_init(&g, 20, 0);
	cr_assert_eq(srv_fair_acquire(f, 1, 1.0, NULL), 0);
	memset(w, 0, sizeof(w));
	for (int i = 0; i < 20; i++) {
		w[i].f = f;
		w[i].log = &g;
		w[i].tenant = i % 2;
		w[i].cost = 1.0;
		start(&w[i]);
		wait_waiting(f, (size_t)(i % 2), (size_t)i / 2 + 1);
	}
	srv_fair_release(f, 1);
	for (int i = 0; i < 20; i++)
		pthread_join(w[i].th, NULL);
	cr_assert_eq(g.n, 20);
	for (int i = 0; i < 10; i++)
		first_b += g.tenant[i] == 1;
	/* Equal weights from the present on: about half each, not 10:0. */
	cr_expect_geq(first_b, 4, "the busy tenant got %d of the first 10 grants", first_b);
	srv_fair_free(f);
	log_free(&g);
}

/* (d) a cancelled wait ends with -ECANCELED and holds nothing. */
Test(fair, cancel)
{
	static const unsigned weights[2] = { 1, 1 };
	struct srv_fair_stats st;
	struct srv_fair *f;
	struct worker w;
	atomic_int cancel = 0;

	cr_assert_eq(srv_fair_new(&f, 2, weights, 1), 0);
	cr_assert_eq(srv_fair_acquire(f, 0, 1.0, NULL), 0);

	/* Flag seen by the 50 ms poll alone. */
	memset(&w, 0, sizeof(w));
	w.f = f;
	w.tenant = 1;
	w.cost = 1.0;
	w.cancel = &cancel;
	start(&w);
	wait_waiting(f, 1, 1);
	atomic_store(&cancel, 1);
	pthread_join(w.th, NULL);
	cr_expect_eq(w.ret, -ECANCELED);
	srv_fair_stats(f, 1, &st);
	cr_expect_eq(st.waiting, 0);
	cr_expect_eq(st.running, 0);
	cr_expect_float_eq(st.granted_s, 0, 1e-12);

	/* Flag and srv_fair_wake(). */
	atomic_store(&cancel, 0);
	start(&w);
	wait_waiting(f, 1, 1);
	atomic_store(&cancel, 1);
	srv_fair_wake(f);
	pthread_join(w.th, NULL);
	cr_expect_eq(w.ret, -ECANCELED);

	/* Flag already set: the acquire does not even queue. */
	cr_expect_eq(srv_fair_acquire(f, 1, 1.0, &cancel), -ECANCELED);

	/* Nothing held by the cancelled ones: the slot goes round as before. */
	srv_fair_release(f, 0);
	cr_expect_eq(srv_fair_acquire(f, 1, 1.0, NULL), 0);
	srv_fair_stats(f, 1, &st);
	cr_expect_eq(st.running, 1);
	cr_expect_float_eq(st.granted_s, 1.0, 1e-12);
	srv_fair_release(f, 1);
	srv_fair_stats(f, 1, &st);
	cr_expect_eq(st.running, 0);
	srv_fair_free(f);
}

/* Ten cancelled windows do not count against their tenant's share. */
Test(fair, cancel_hands_back_charge)
{
	static const unsigned weights[2] = { 1, 1 };
	struct srv_fair *f;
	struct worker w[2];
	struct grant_log g;
	atomic_int cancel = 0;

	cr_assert_eq(srv_fair_new(&f, 2, weights, 1), 0);
	cr_assert_eq(srv_fair_acquire(f, 0, 1.0, NULL), 0);
	for (int i = 0; i < 10; i++) {
		struct worker c;

		memset(&c, 0, sizeof(c));
		c.f = f;
		c.tenant = 1;
		c.cost = 5.0;
		c.cancel = &cancel;
		atomic_store(&cancel, 0);
		start(&c);
		wait_waiting(f, 1, 1);
		atomic_store(&cancel, 1);
		srv_fair_wake(f);
		pthread_join(c.th, NULL);
		cr_assert_eq(c.ret, -ECANCELED);
	}
	/* Now tenant 0 then tenant 1 queue one window each. */
	log_init(&g, 2, 0);
	memset(w, 0, sizeof(w));
	for (int i = 0; i < 2; i++) {
		w[i].f = f;
		w[i].log = &g;
		w[i].tenant = i;
		w[i].cost = 1.0;
		start(&w[i]);
		wait_waiting(f, (size_t)i, 1);
	}
	srv_fair_release(f, 0);
	for (int i = 0; i < 2; i++)
		pthread_join(w[i].th, NULL);
	cr_assert_eq(g.n, 2);
	/* Tenant 0 already had a window; tenant 1 had none that counted. */
	cr_expect_eq(g.tenant[0], 1, "tenant 1 was charged for its cancelled windows");
	srv_fair_free(f);
	log_free(&g);
}

/* (e) shutdown ends every wait, present and later, with nothing held. */
Test(fair, shutdown)
{
	static const unsigned weights[3] = { 1, 2, 3 };
	struct srv_fair_stats st;
	struct srv_fair *f;
	struct worker w[6];

	cr_assert_eq(srv_fair_new(&f, 3, weights, 1), 0);
	cr_assert_eq(srv_fair_acquire(f, 0, 1.0, NULL), 0);
	memset(w, 0, sizeof(w));
	for (int i = 0; i < 6; i++) {
		w[i].f = f;
		w[i].tenant = i % 3;
		w[i].cost = 2.0;
		start(&w[i]);
	}
	wait_waiting(f, 0, 2);
	wait_waiting(f, 1, 2);
	wait_waiting(f, 2, 2);
	srv_fair_shutdown(f);
	for (int i = 0; i < 6; i++) {
		pthread_join(w[i].th, NULL);
		cr_expect_eq(w[i].ret, -ESHUTDOWN, "waiter %d: %d", i, w[i].ret);
	}
	cr_expect_eq(srv_fair_acquire(f, 1, 1.0, NULL), -ESHUTDOWN);
	srv_fair_release(f, 0);   /* the holder still gives its slot back */
	for (int i = 0; i < 3; i++) {
		srv_fair_stats(f, (size_t)i, &st);
		cr_expect_eq(st.waiting, 0);
		cr_expect_eq(st.running, 0);
	}
	srv_fair_free(f);
}

/* (f) the per-tenant figures: waiting, running, granted audio, waiting time. */
Test(fair, stats)
{
	static const unsigned weights[2] = { 1, 4 };
	struct srv_fair_stats st;
	struct srv_fair *f;
	struct worker w;

	cr_assert_eq(srv_fair_new(&f, 2, weights, 2), 0);
	cr_assert_eq(srv_fair_acquire(f, 0, 2.5, NULL), 0);
	cr_assert_eq(srv_fair_acquire(f, 0, 30.0, NULL), 0);
	srv_fair_stats(f, 0, &st);
	cr_expect_eq(st.running, 2);
	cr_expect_eq(st.waiting, 0);
	cr_expect_float_eq(st.granted_s, 32.5, 1e-9);

	memset(&w, 0, sizeof(w));
	w.f = f;
	w.tenant = 1;
	w.cost = 7.0;
	start(&w);
	wait_waiting(f, 1, 1);
	srv_fair_stats(f, 1, &st);
	cr_expect_eq(st.waiting, 1);
	cr_expect_eq(st.running, 0);
	cr_expect_float_eq(st.granted_s, 0, 1e-12);
	usleep(2000);
	srv_fair_release(f, 0);
	pthread_join(w.th, NULL);
	cr_expect_eq(w.ret, 0);
	srv_fair_stats(f, 1, &st);
	cr_expect_eq(st.waiting, 0);
	cr_expect_eq(st.running, 0, "the worker released its window");
	cr_expect_float_eq(st.granted_s, 7.0, 1e-9);
	cr_expect_gt(st.wait_s, 0.0015, "it waited at least the 2 ms main slept: %f", st.wait_s);
	srv_fair_stats(f, 0, &st);
	cr_expect_eq(st.running, 1);
	srv_fair_release(f, 0);
	srv_fair_release(f, 0);   /* one too many: ignored */
	srv_fair_stats(f, 0, &st);
	cr_expect_eq(st.running, 0);
	srv_fair_stats(f, 5, &st);  /* no such tenant: zeros */
	cr_expect_eq(st.waiting + st.running, 0);
	srv_fair_free(f);
	srv_fair_free(NULL);
}

Test(fair, bad_arguments)
{
	const unsigned ok[2] = { 1, 1 }, zero[2] = { 1, 0 };
	struct srv_fair *f;

	cr_expect_eq(srv_fair_new(&f, 0, ok, 1), -EINVAL);
	cr_expect_eq(srv_fair_new(&f, 2, ok, 0), -EINVAL);
	cr_expect_eq(srv_fair_new(&f, 2, zero, 1), -EINVAL);
	cr_expect_eq(srv_fair_new(&f, 2, NULL, 1), -EINVAL);
	cr_assert_eq(srv_fair_new(&f, 2, ok, 1), 0);
	cr_expect_eq(srv_fair_acquire(f, 2, 1.0, NULL), -EINVAL);
	cr_expect_eq(srv_fair_acquire(f, 0, 0.0, NULL), -EINVAL);
	cr_expect_eq(srv_fair_acquire(f, 0, -1.0, NULL), -EINVAL);
	cr_expect_eq(srv_fair_acquire(f, 0, NAN, NULL), -EINVAL);
	cr_expect_eq(srv_fair_acquire(f, 0, INFINITY, NULL), -EINVAL);
	srv_fair_free(f);
}

/*
 * Many tenants, threads that cancel each other's waits at random, then a
 * shutdown in the middle: never more windows hold slots than there are
 * slots, every wait ends with 0, -ECANCELED or -ESHUTDOWN, and at the end
 * nothing is left waiting or running.
 */
struct stress_arg {
	struct srv_fair *f;
	atomic_int *holding;
	atomic_int *over;
	atomic_int cancel;
	int tenant;
	unsigned seed;
	int granted, cancelled, shut, other;
};

static void *stress_main(void *arg)
{
	struct stress_arg *a = arg;

	for (;;) {      /* until the shutdown */
		int rc, now;

		atomic_store(&a->cancel, 0);
		rc = srv_fair_acquire(a->f, (size_t)a->tenant, 0.5 + (rand_r(&a->seed) % 60),
				      &a->cancel);
		if (rc == -ESHUTDOWN) {
			a->shut++;
			break;
		}
		if (rc == -ECANCELED) {
			a->cancelled++;
			continue;
		}
		if (rc) {
			a->other++;
			break;
		}
		a->granted++;
		now = atomic_fetch_add(a->holding, 1) + 1;
		if (now > 3)
			atomic_store(a->over, now);
		if (rand_r(&a->seed) % 4 == 0)
			usleep(50);
		atomic_fetch_sub(a->holding, 1);
		srv_fair_release(a->f, (size_t)a->tenant);
	}
	return NULL;
}

Test(fair, stress_cancel_and_shutdown)
{
	static const unsigned weights[4] = { 1, 2, 5, 9 };
	struct stress_arg a[8];
	pthread_t th[8];
	struct srv_fair_stats st;
	struct srv_fair *f;
	atomic_int holding = 0, over = 0;
	unsigned seed = 99;
	int granted = 0, ended = 0;

	cr_assert_eq(srv_fair_new(&f, 4, weights, 3), 0);
	memset(a, 0, sizeof(a));
	for (int i = 0; i < 8; i++) {
		a[i].f = f;
		a[i].holding = &holding;
		a[i].over = &over;
		a[i].tenant = i % 4;
		a[i].seed = (unsigned)i * 7 + 1;
		atomic_init(&a[i].cancel, 0);
		cr_assert_eq(pthread_create(&th[i], NULL, stress_main, &a[i]), 0);
	}
	/* Cancel waits at random for a while, then shut down under load. */
	for (int k = 0; k < 3000; k++) {
		atomic_store(&a[rand_r(&seed) % 8].cancel, 1);
		if (k % 3 == 0)
			srv_fair_wake(f);
		if (k % 64 == 0)
			usleep(100);
	}
	srv_fair_shutdown(f);
	for (int i = 0; i < 8; i++) {
		pthread_join(th[i], NULL);
		cr_expect_eq(a[i].other, 0, "thread %d: an unexpected return", i);
		granted += a[i].granted;
		ended += a[i].shut;
	}
	cr_expect_eq(atomic_load(&over), 0, "%d windows held 3 slots at once", atomic_load(&over));
	cr_expect_gt(granted, 0);
	for (int i = 0; i < 4; i++) {
		srv_fair_stats(f, (size_t)i, &st);
		cr_expect_eq(st.waiting, 0, "tenant %d", i);
		cr_expect_eq(st.running, 0, "tenant %d", i);
	}
	if (getenv("AMN_TEST_VERBOSE"))
		for (int i = 0; i < 8; i++)
			fprintf(stderr, "stress %d: granted %d cancelled %d shutdown %d\n", i,
				a[i].granted, a[i].cancelled, a[i].shut);
	cr_expect_eq(ended, 8, "every thread ends in the shutdown");
	srv_fair_free(f);
}
