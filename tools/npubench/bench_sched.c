/* SPDX-License-Identifier: MIT */
/*
 * tools/npubench/bench_sched.c - `npubench sched`: Whisper-shaped matmuls
 * through the scheduler (cpu backend) against direct tiler calls, and 16
 * threads doing 1×512×2048 GEMVs against shared weights, through the
 * scheduler (which stacks their rows) against the same calls made directly.
 *
 * The machine this runs on is usually shared, so the two sides are timed in
 * alternating rounds (direct first in even rounds, sched first in odd ones)
 * and each side reports its best round: load from other processes then hits
 * both alike, and the ratio is that of the two best rounds.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

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

static void report_ratio(int json, const char *c, double direct, double sched)
{
	if (json)
		printf("{\"bench\":\"sched\",\"case\":\"%s\",\"ratio\":%.3f}\n", c, sched / direct);
	else
		printf("sched %-24s %-22s %8.2fx\n", c, "sched/direct", sched / direct);
}

static int time_direct(const struct shape *s, const float *a, const struct tile_weights *w,
		       float *c, int reps, double *best)
{
	int64_t t0 = npu_now_ns();
	int ret = 0;

	for (int i = 0; i < reps && !ret; i++)
		ret = tile_matmul_f32(a, s->M, s->K, s->K, w, NULL, c, s->N, NULL);
	t0 = npu_now_ns() - t0;
	if (t0 < *best)
		*best = (double)t0;
	return ret;
}

static int time_sched(struct npu_tenant *t, const struct shape *s, const float *a,
		      const struct tile_weights *w, float *c, int reps, double *best)
{
	int64_t t0 = npu_now_ns();
	int ret = 0;

	for (int i = 0; i < reps && !ret; i++)
		ret = npu_matmul_f32(t, a, s->M, s->K, s->K, w, NULL, c, s->N);
	t0 = npu_now_ns() - t0;
	if (t0 < *best)
		*best = (double)t0;
	return ret;
}

static int run_shape(struct npu_tenant *t, const struct shape *s, int reps, int rounds, int json)
{
	float *a = malloc((size_t)s->M * s->K * 4), *b = malloc((size_t)s->K * s->N * 4);
	float *c = malloc((size_t)s->M * s->N * 4);
	double ops = 2.0 * s->M * s->K * s->N * reps, td = 1e300, ts = 1e300;
	struct tile_weights *w;
	int ret;

	fill(a, (size_t)s->M * s->K, 1);
	fill(b, (size_t)s->K * s->N, 2);
	ret = tile_weights_pack_f32(&w, b, s->K, s->N, s->N, TILE_W_ROW_MAJOR_KN);
	if (ret)
		goto out;
	/* warm both paths once */
	tile_matmul_f32(a, s->M, s->K, s->K, w, NULL, c, s->N, NULL);
	npu_matmul_f32(t, a, s->M, s->K, s->K, w, NULL, c, s->N);
	for (int r = 0; r < rounds && !ret; r++) {
		if (r & 1) {
			ret = time_sched(t, s, a, w, c, reps, &ts);
			if (!ret)
				ret = time_direct(s, a, w, c, reps, &td);
		} else {
			ret = time_direct(s, a, w, c, reps, &td);
			if (!ret)
				ret = time_sched(t, s, a, w, c, reps, &ts);
		}
	}
	if (!ret) {
		report(json, s->name, "direct", ops / td);
		report(json, s->name, "sched", ops / ts);
		report_ratio(json, s->name, ops / td, ops / ts);
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
	int64_t t0, t1;           /* this thread's first call and last return */
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
	g->t0 = npu_now_ns();
	for (int i = 0; i < g->iters; i++) {
		if (t)
			npu_matmul_f32(t, g->a, 1, 512, 512, g->w, NULL, c, 2048);
		else
			tile_matmul_f32(g->a, 1, 512, 512, g->w, NULL, c, 2048, &one);
	}
	g->t1 = npu_now_ns();
	npu_tenant_close(t);
	free(c);
	return NULL;
}

/* User + system CPU time of the whole process so far, in ns. */
static double cpu_ns(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return (ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1e9 +
	       (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) * 1e3;
}

/*
 * Returns GOPS over wall time; *@cpu_gops gets GOPS per CPU-second the
 * process used (the work it took, whatever else ran on the machine).
 */
static double run_gemv(struct npu_engine *e, const struct tile_weights *w, const float *a,
		       int threads, int iters, double *cpu_gops)
{
	double ops = 2.0 * 512 * 2048 * (double)threads * iters, c0 = cpu_ns();
	struct gemv_arg *args = calloc(threads, sizeof(*args));
	pthread_t *th = calloc(threads, sizeof(*th));
	pthread_barrier_t start;
	int64_t t0 = INT64_MAX, t1 = 0;

	pthread_barrier_init(&start, NULL, threads);
	for (int i = 0; i < threads; i++) {
		args[i] = (struct gemv_arg){ e, w, a + (size_t)i * 512, iters, &start, 0, 0 };
		pthread_create(&th[i], NULL, gemv_thread, &args[i]);
	}
	/* From the first thread's first call to the last thread's last return. */
	for (int i = 0; i < threads; i++) {
		pthread_join(th[i], NULL);
		t0 = args[i].t0 < t0 ? args[i].t0 : t0;
		t1 = args[i].t1 > t1 ? args[i].t1 : t1;
	}
	t0 = t1 - t0;
	*cpu_gops = ops / (cpu_ns() - c0);
	pthread_barrier_destroy(&start);
	free(args);
	free(th);
	return ops / (double)t0;
}

int bench_sched(int argc, char **argv)
{
	struct npu_engine_opts o = { .backend = "cpu" };
	int json = 0, reps = 5, iters = 2000, threads = 16, rounds = 5, ret = 0;
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
		} else if (!strcmp(argv[i], "--rounds") && i + 1 < argc) {
			rounds = atoi(argv[++i]);
		} else {
			fprintf(stderr, "usage: npubench sched [--json] [--reps N] [--iters N] [--rounds N]\n"
				"  Whisper matmuls via the scheduler (cpu) vs direct tiler calls;\n"
				"  16 threads x 1x512x2048 GEMVs on shared weights, stacked vs independent;\n"
				"  the two sides alternate for --rounds rounds (5), best round each\n");
			return strcmp(argv[i], "--help") ? 2 : 0;
		}
	}
	if (reps < 1 || iters < 1 || rounds < 1) {
		fprintf(stderr, "npubench sched: --reps, --iters and --rounds must be positive\n");
		return 2;
	}
	ret = npu_engine_open(&e, &o);
	if (ret) {
		fprintf(stderr, "npubench sched: engine: %s\n", strerror(-ret));
		return 1;
	}
	ret = npu_tenant_open(e, &t, "npubench", 1);
	for (size_t i = 0; i < sizeof(shapes) / sizeof(shapes[0]) && !ret; i++)
		ret = run_shape(t, &shapes[i], shapes[i].M > 64 ? reps : reps * 200, rounds, json);
	npu_tenant_close(t);

	a = malloc((size_t)threads * 512 * 4);
	b = malloc(512 * 2048 * 4);
	fill(a, (size_t)threads * 512, 3);
	fill(b, 512 * 2048, 4);
	if (!ret)
		ret = tile_weights_pack_f32(&w, b, 512, 2048, 2048, TILE_W_ROW_MAJOR_KN);
	if (!ret) {
		struct npu_engine_counters c0, c1;
		double direct = 0, sched = 0, dcpu = 0, scpu = 0;

		npu_engine_counters(e, &c0);
		for (int r = 0; r < rounds; r++) {
			double d, x, dc, xc;

			if (r & 1) {
				x = run_gemv(e, w, a, threads, iters, &xc);
				d = run_gemv(NULL, w, a, threads, iters, &dc);
			} else {
				d = run_gemv(NULL, w, a, threads, iters, &dc);
				x = run_gemv(e, w, a, threads, iters, &xc);
			}
			direct = d > direct ? d : direct;
			sched = x > sched ? x : sched;
			dcpu = dc > dcpu ? dc : dcpu;
			scpu = xc > scpu ? xc : scpu;
		}
		npu_engine_counters(e, &c1);
		report(json, "gemv16_1x512x2048_shared", "direct", direct);
		report(json, "gemv16_1x512x2048_shared", "sched", sched);
		report_ratio(json, "gemv16_1x512x2048_shared", direct, sched);
		/* The same per CPU-second: what stacking saves, whatever else ran. */
		report(json, "gemv16_1x512x2048_shared", "direct_per_cpu_s", dcpu);
		report(json, "gemv16_1x512x2048_shared", "sched_per_cpu_s", scpu);
		report_ratio(json, "gemv16_1x512x2048_shared_cpu", dcpu, scpu);
		if (json)
			printf("{\"bench\":\"sched\",\"case\":\"gemv16_1x512x2048_shared\","
			       "\"jobs\":%llu,\"runs\":%llu,\"coalesced\":%llu}\n",
			       (unsigned long long)(c1.jobs - c0.jobs),
			       (unsigned long long)(c1.runs - c0.runs),
			       (unsigned long long)(c1.coalesced - c0.coalesced));
		else
			printf("sched gemv16: %llu jobs in %llu runs, %llu ran stacked with others\n",
			       (unsigned long long)(c1.jobs - c0.jobs),
			       (unsigned long long)(c1.runs - c0.runs),
			       (unsigned long long)(c1.coalesced - c0.coalesced));
		tile_weights_free(w);
	}
	free(a);
	free(b);
	npu_engine_close(e);
	if (ret)
		fprintf(stderr, "npubench sched: %s\n", strerror(-ret));
	return ret ? 1 : 0;
}
