/* SPDX-License-Identifier: MIT */
/*
 * tests/test_tenant.c - deficit round robin: Jain's fairness index over
 * backlogged tenants with weights 1:2:3:4, no starvation under a flood, rate
 * quotas; and weighted sharing end to end through the engine.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sched/npu.h"
#include "sched/npu_drr.h"
#include "sched/npu_futex.h"
#include "sched/npu_stats.h"

#define NT 4
#define WINDOW 400        /* jobs per fairness window */
#define WINDOWS 50

static double jain(const double *x, int n)
{
	double s = 0, s2 = 0;

	for (int i = 0; i < n; i++) {
		s += x[i];
		s2 += x[i] * x[i];
	}
	return s2 > 0 ? s * s / (n * s2) : 1.0;
}

/* Jobs of varying cost, all tenants always backlogged. */
Test(tenant, jain_index_weights_1_2_3_4)
{
	static struct npu_job jobs[NT][WINDOW * WINDOWS];
	struct npu_tenant t[NT];
	unsigned next[NT] = { 0 };
	struct npu_drr d;

	memset(t, 0, sizeof(t));
	npu_drr_init(&d, 0);
	for (int i = 0; i < NT; i++) {
		npu_drr_tenant_init(&t[i]);
		t[i].weight = i + 1;
	}
	/* Keep every tenant backlogged with 64 jobs of cost 1..8 units. */
	for (int i = 0; i < NT; i++)
		for (; next[i] < 64; next[i]++) {
			jobs[i][next[i]].ops = 1000 * (1 + (next[i] * 7 + i) % 8);
			npu_drr_push(&d, &t[i], &jobs[i][next[i]]);
		}
	for (int wdw = 0; wdw < WINDOWS; wdw++) {
		double service[NT] = { 0 };
		unsigned taken = 0;

		while (taken < WINDOW) {
			struct npu_job *out[32];
			unsigned n = npu_drr_pick(&d, out, 32, 0, NULL);

			cr_assert_gt(n, 0);
			for (unsigned k = 0; k < n; k++) {
				int who = -1;

				for (int i = 0; i < NT; i++)
					if (out[k] >= jobs[i] && out[k] < jobs[i] + WINDOW * WINDOWS)
						who = i;
				cr_assert_geq(who, 0);
				service[who] += (double)out[k]->ops;
				/* refill: stay backlogged */
				if (next[who] < WINDOW * WINDOWS) {
					struct npu_job *j = &jobs[who][next[who]];

					j->ops = 1000 * (1 + (next[who] * 7 + who) % 8);
					next[who]++;
					npu_drr_push(&d, &t[who], j);
				}
			}
			taken += n;
		}
		for (int i = 0; i < NT; i++)
			service[i] /= t[i].weight;
		cr_expect_geq(jain(service, NT), 0.99, "window %d: Jain %.4f (%.0f %.0f %.0f %.0f)",
			      wdw, jain(service, NT), service[0], service[1], service[2], service[3]);
	}
}

/* A tenant with a huge backlog does not delay a light tenant's jobs. */
Test(tenant, flood_does_not_starve)
{
	static struct npu_job flood[20000], light[4];
	struct npu_tenant tf, tl;
	struct npu_job *out[64];
	struct npu_drr d;
	int light_done = 0, batches = 0;

	memset(&tf, 0, sizeof(tf));
	memset(&tl, 0, sizeof(tl));
	npu_drr_init(&d, 0);
	npu_drr_tenant_init(&tf);
	npu_drr_tenant_init(&tl);
	tf.weight = 1;
	tl.weight = 1;
	for (int i = 0; i < 20000; i++) {
		flood[i].ops = 100;
		npu_drr_push(&d, &tf, &flood[i]);
	}
	for (int i = 0; i < 4; i++) {
		light[i].ops = 100;
		npu_drr_push(&d, &tl, &light[i]);
	}
	while (light_done < 4 && batches < 10) {
		unsigned n = npu_drr_pick(&d, out, 64, 0, NULL);

		for (unsigned k = 0; k < n; k++)
			light_done += out[k] >= light && out[k] < light + 4;
		batches++;
	}
	cr_expect_eq(light_done, 4, "light tenant got %d of 4 jobs in %d batches", light_done,
		     batches);
	cr_expect_leq(batches, 1, "light tenant waited %d batches behind the flood", batches);
}

/* max_ops caps the work of one pick; a pick always takes at least one job. */
Test(tenant, pick_stops_at_max_ops)
{
	static struct npu_job jobs[10];
	struct npu_job *out[16];
	struct npu_tenant t = { 0 };
	struct npu_drr d;
	unsigned n;

	npu_drr_init(&d, 0);
	npu_drr_tenant_init(&t);
	t.weight = 1;
	d.max_ops = 250;
	for (int i = 0; i < 10; i++) {
		jobs[i].ops = i == 0 ? 400 : 100;
		npu_drr_push(&d, &t, &jobs[i]);
	}
	cr_expect_eq(d.queued_ops, 1300);
	n = npu_drr_pick(&d, out, 16, 0, NULL);
	cr_expect_eq(n, 1, "a job larger than max_ops goes alone (took %u)", n);
	n = npu_drr_pick(&d, out, 16, 0, NULL);
	cr_expect_eq(n, 2, "two 100-op jobs fit in 250 ops (took %u)", n);
	cr_expect_eq(out[0], &jobs[1]);
	cr_expect_eq(out[1], &jobs[2]);
	cr_expect_eq(d.queued_ops, 700);
	d.max_ops = 0;
	n = npu_drr_pick(&d, out, 16, 0, NULL);
	cr_expect_eq(n, 7, "no limit: the rest (took %u)", n);
	cr_expect_eq(d.queued, 0);
	cr_expect_eq(d.queued_ops, 0);
}

/* A rate quota holds a tenant back and reports when it may run again. */
Test(tenant, rate_quota)
{
	static struct npu_job jobs[100];
	struct npu_job *out[100];
	struct npu_tenant t;
	struct npu_drr d;
	int64_t wake = 0, now = 1000000000;
	unsigned n;

	memset(&t, 0, sizeof(t));
	npu_drr_init(&d, 0);
	npu_drr_tenant_init(&t);
	t.weight = 1;
	atomic_store(&t.rate_ops, 1000000);  /* 1 Mops/s: 10 ms burst = 10000 ops */
	for (int i = 0; i < 100; i++) {
		jobs[i].ops = 1000;
		npu_drr_push(&d, &t, &jobs[i]);
	}
	n = npu_drr_pick(&d, out, 100, now, &wake);
	cr_expect_eq(n, 10, "burst allowed %u jobs", n);
	cr_expect_gt(wake, now);
	cr_expect_leq(wake - now, 1000001, "next job in %lld ns", (long long)(wake - now));
	n = npu_drr_pick(&d, out, 100, now + 5000000, &wake);  /* 5 ms later: 5 more */
	cr_expect_eq(n, 5);
	cr_expect_eq(t.held, 2, "quota holds counted: %llu", (unsigned long long)t.held);
}

/* End to end: 4 tenants with weights 1..4 flood the emu engine; while all are
 * backlogged, completed work follows the weights. */
#define DEPTH 64

struct flood_arg {
	struct npu_tenant *t;
	const struct tile_weights *w;
	const float *a;
	float *c;
	_Atomic int *stop;
	uint64_t done;
};

static void *flood_worker(void *p)
{
	struct flood_arg *x = p;
	struct npu_matmul *m[DEPTH];
	unsigned i = 0;

	/* Keep DEPTH matmuls outstanding: the tenant stays backlogged. */
	for (i = 0; i < DEPTH; i++)
		cr_assert_eq(npu_matmul_submit_f32(x->t, x->a, 64, 32, 32, x->w, NULL, x->c, 32,
						   NULL, &m[i]), 0);
	for (i = 0; !atomic_load(x->stop); i = (i + 1) % DEPTH) {
		npu_matmul_free(m[i]);
		x->done++;
		cr_assert_eq(npu_matmul_submit_f32(x->t, x->a, 64, 32, 32, x->w, NULL, x->c, 32,
						   NULL, &m[i]), 0);
	}
	for (unsigned k = 0; k < DEPTH; k++)
		npu_matmul_free(m[k]);
	return NULL;
}

Test(tenant, engine_weighted_share)
{
	struct npu_engine_opts o = { .backend = "emu", .threads = 1, .batch_jobs = 4 };
	float a[64 * 32], b[32 * 32], c[NT][64 * 32];
	struct flood_arg args[NT];
	struct tile_weights *w;
	struct npu_engine *e;
	_Atomic int stop = 0;
	pthread_t th[NT];
	double share[NT];

	for (int i = 0; i < 64 * 32; i++)
		a[i] = (float)(i % 13) - 6;
	for (int i = 0; i < 32 * 32; i++)
		b[i] = (float)(i % 7) - 3;
	cr_assert_eq(tile_weights_pack_f32(&w, b, 32, 32, 32, TILE_W_ROW_MAJOR_KN), 0);
	cr_assert_eq(npu_engine_open(&e, &o), 0);
	for (int i = 0; i < NT; i++) {
		char name[16];

		snprintf(name, sizeof(name), "w%d", i + 1);
		args[i] = (struct flood_arg){ NULL, w, a, c[i], &stop, 0 };
		cr_assert_eq(npu_tenant_open(e, &args[i].t, name, i + 1), 0);
		pthread_create(&th[i], NULL, flood_worker, &args[i]);
	}
	usleep(getenv("AMN_TEST_SCALE") ? 300000 : 1000000);
	atomic_store(&stop, 1);
	for (int i = 0; i < NT; i++) {
		pthread_join(th[i], NULL);
		share[i] = (double)args[i].done / (i + 1);
		npu_tenant_close(args[i].t);
	}
	npu_engine_close(e);
	tile_weights_free(w);
	/* Ends of the run (start-up, stop) are not backlogged: a looser bound. */
	cr_expect_geq(jain(share, NT), 0.95, "Jain %.3f: %.0f %.0f %.0f %.0f", jain(share, NT),
		      share[0], share[1], share[2], share[3]);
}

/* A rate quota through the engine: work still completes, the holds are counted. */
Test(tenant, engine_rate_quota)
{
	struct npu_engine_opts o = { .backend = "emu", .threads = 1 };
	struct npu_stats_page *snap = malloc(sizeof(*snap));
	float a[64 * 32], b[32 * 32], c[64 * 32];
	struct npu_matmul *m[20];
	struct tile_weights *w;
	struct npu_stats_map map;
	struct npu_engine *e;
	struct npu_tenant *t;

	for (int i = 0; i < 64 * 32; i++)
		a[i] = (float)(i % 9) - 4;
	for (int i = 0; i < 32 * 32; i++)
		b[i] = (float)(i % 5) - 2;
	cr_assert_eq(tile_weights_pack_f32(&w, b, 32, 32, 32, TILE_W_ROW_MAJOR_KN), 0);
	cr_assert_eq(npu_engine_open(&e, &o), 0);
	cr_assert_eq(npu_tenant_open(e, &t, "capped", 1), 0);
	/* 131,072 ops per matmul; 100 Mops/s with a 10 ms burst lets ~7 through at once. */
	cr_assert_eq(npu_tenant_set_rate(t, 100000000), 0);
	for (int i = 0; i < 20; i++)
		cr_assert_eq(npu_matmul_submit_f32(t, a, 64, 32, 32, w, NULL, c, 32, NULL, &m[i]), 0);
	for (int i = 0; i < 20; i++) {
		cr_expect_eq(npu_matmul_wait(m[i], -1), 0);
		npu_matmul_free(m[i]);
	}
	cr_assert_eq(npu_stats_open_pid(getpid(), &map), 0);
	for (int i = 0; i < 400; i++) {
		cr_assert_eq(npu_stats_snapshot(&map, snap), 0);
		if (snap->tenants[0].matmuls == 20)
			break;
		usleep(5000);
	}
	cr_expect_eq(snap->tenants[0].matmuls, 20);
	cr_expect_eq(snap->tenants[0].rate_ops, 100000000);
	cr_expect_gt(snap->tenants[0].throttled, 0, "the quota never held the tenant back");
	npu_stats_close(&map);
	npu_tenant_close(t);
	npu_engine_close(e);
	tile_weights_free(w);
	free(snap);
}
