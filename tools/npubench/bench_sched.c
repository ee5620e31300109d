/* SPDX-License-Identifier: MIT */
/*
 * tools/npubench/bench_sched.c - `npubench sched`: Whisper-shaped matmuls
 * through the scheduler (cpu backend) against direct tiler calls, and 16
 * threads doing 1×512×2048 GEMVs against shared weights, through the
 * scheduler (which stacks their rows) against the same calls made directly.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"
#include "sched/npu.h"
#include "sched/npu_futex.h"

struct shape {
	const char *name;
	int M, K, N;
};

/* Whisper base (d=512): encoder over 1500 frames, decoder steps of 1 token. */
static const struct shape shapes[] = {
	{ "enc_qkv_1500x512x1536", 1500, 512, 1536 },
	{ "enc_fc1_1500x512x2048", 1500, 512, 2048 },
	{ "enc_fc2_1500x2048x512", 1500, 2048, 512 },
	{ "dec_fc1_4x512x2048", 4, 512, 2048 },
};

static void fill(float *x, size_t n, unsigned seed)
{
	for (size_t i = 0; i < n; i++) {
		seed = seed * 1103515245u + 12345u;
		x[i] = (float)((int)(seed >> 16 & 0x7fff) - 16384) / 16384.0f;
	}
}

static void report(int json, const char *c, const char *impl, double gops)
{
	if (json)
		printf("{\"bench\":\"sched\",\"case\":\"%s\",\"impl\":\"%s\",\"gops\":%.2f}\n", c, impl, gops);
	else
		printf("sched %-24s %-22s %8.2f GOPS\n", c, impl, gops);
}

static int run_shape(struct npu_tenant *t, const struct shape *s, int reps, int json)
{
	float *a = malloc((size_t)s->M * s->K * 4), *b = malloc((size_t)s->K * s->N * 4);
	float *c = malloc((size_t)s->M * s->N * 4);
	double ops = 2.0 * s->M * s->K * s->N * reps, td, ts;
	struct tile_weights *w;
	int64_t t0;
	int ret;

	fill(a, (size_t)s->M * s->K, 1);
	fill(b, (size_t)s->K * s->N, 2);
	ret = tile_weights_pack_f32(&w, b, s->K, s->N, s->N, TILE_W_ROW_MAJOR_KN);
	if (ret)
		goto out;
	/* warm both paths once */
	tile_matmul_f32(a, s->M, s->K, s->K, w, NULL, c, s->N, NULL);
	npu_matmul_f32(t, a, s->M, s->K, s->K, w, NULL, c, s->N);
	t0 = npu_now_ns();
	for (int i = 0; i < reps && !ret; i++)
		ret = tile_matmul_f32(a, s->M, s->K, s->K, w, NULL, c, s->N, NULL);
	td = (double)(npu_now_ns() - t0);
	t0 = npu_now_ns();
	for (int i = 0; i < reps && !ret; i++)
		ret = npu_matmul_f32(t, a, s->M, s->K, s->K, w, NULL, c, s->N);
	ts = (double)(npu_now_ns() - t0);
	if (!ret) {
		report(json, s->name, "direct", ops / td);
		report(json, s->name, "sched", ops / ts);
	}
	tile_weights_free(w);
out:
	free(a);
	free(b);
	free(c);
	return ret;
}

/* 16 threads × GEMV against one set of weights. */
struct gemv_arg {
	struct npu_engine *e;     /* NULL: call the tiler directly */
	const struct tile_weights *w;
	const float *a;
	int iters;
	pthread_barrier_t *start;
};

static void *gemv_thread(void *p)
{
	struct gemv_arg *g = p;
	struct tile_opts one = { .threads = 1 };
	struct npu_tenant *t = NULL;
	float *c = malloc(2048 * 4);

	if (g->e && npu_tenant_open(g->e, &t, "gemv", 1))
		fprintf(stderr, "npubench sched: tenant open failed; calling the tiler directly\n");
	pthread_barrier_wait(g->start);
	for (int i = 0; i < g->iters; i++) {
		if (t)
			npu_matmul_f32(t, g->a, 1, 512, 512, g->w, NULL, c, 2048);
		else
			tile_matmul_f32(g->a, 1, 512, 512, g->w, NULL, c, 2048, &one);
	}
	npu_tenant_close(t);
	free(c);
	return NULL;
}

static double run_gemv(struct npu_engine *e, const struct tile_weights *w, const float *a,
		       int threads, int iters)
{
	struct gemv_arg *args = calloc(threads, sizeof(*args));
	pthread_t *th = calloc(threads, sizeof(*th));
	pthread_barrier_t start;
	int64_t t0;

	pthread_barrier_init(&start, NULL, threads + 1);
	for (int i = 0; i < threads; i++) {
		args[i] = (struct gemv_arg){ e, w, a + (size_t)i * 512, iters, &start };
		pthread_create(&th[i], NULL, gemv_thread, &args[i]);
	}
	pthread_barrier_wait(&start);
	t0 = npu_now_ns();
	for (int i = 0; i < threads; i++)
		pthread_join(th[i], NULL);
	t0 = npu_now_ns() - t0;
	pthread_barrier_destroy(&start);
	free(args);
	free(th);
	return 2.0 * 512 * 2048 * (double)threads * iters / (double)t0;
}

int bench_sched(int argc, char **argv)
{
	struct npu_engine_opts o = { .backend = "cpu" };
	int json = 0, reps = 5, iters = 2000, threads = 16, ret = 0;
	struct tile_weights *w;
	struct npu_engine *e;
	struct npu_tenant *t;
	float *a, *b;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--json")) {
			json = 1;
		} else if (!strcmp(argv[i], "--reps") && i + 1 < argc) {
			reps = atoi(argv[++i]);
		} else if (!strcmp(argv[i], "--iters") && i + 1 < argc) {
			iters = atoi(argv[++i]);
		} else {
			fprintf(stderr, "usage: npubench sched [--json] [--reps N] [--iters N]\n"
				"  Whisper matmuls via the scheduler (cpu) vs direct tiler calls;\n"
				"  16 threads x 1x512x2048 GEMVs on shared weights, stacked vs independent\n");
			return strcmp(argv[i], "--help") ? 2 : 0;
		}
	}
	if (reps < 1 || iters < 1) {
		fprintf(stderr, "npubench sched: --reps and --iters must be positive\n");
		return 2;
	}
	ret = npu_engine_open(&e, &o);
	if (ret) {
		fprintf(stderr, "npubench sched: engine: %s\n", strerror(-ret));
		return 1;
	}
	ret = npu_tenant_open(e, &t, "npubench", 1);
	for (size_t i = 0; i < sizeof(shapes) / sizeof(shapes[0]) && !ret; i++)
		ret = run_shape(t, &shapes[i], shapes[i].M > 64 ? reps : reps * 200, json);
	npu_tenant_close(t);

	a = malloc((size_t)threads * 512 * 4);
	b = malloc(512 * 2048 * 4);
	fill(a, (size_t)threads * 512, 3);
	fill(b, 512 * 2048, 4);
	if (!ret)
		ret = tile_weights_pack_f32(&w, b, 512, 2048, 2048, TILE_W_ROW_MAJOR_KN);
	if (!ret) {
		double direct = run_gemv(NULL, w, a, threads, iters);
		double sched = run_gemv(e, w, a, threads, iters);
		struct npu_engine_counters cnt;

		report(json, "gemv16_1x512x2048_shared", "direct", direct);
		report(json, "gemv16_1x512x2048_shared", "sched", sched);
		npu_engine_counters(e, &cnt);
		if (!json)
			printf("sched gemv16: %.2fx direct; %llu jobs ran stacked with others\n",
			       sched / direct, (unsigned long long)cnt.coalesced);
		tile_weights_free(w);
	}
	free(a);
	free(b);
	npu_engine_close(e);
	if (ret)
		fprintf(stderr, "npubench sched: %s\n", strerror(-ret));
	return ret ? 1 : 0;
}
