/* SPDX-License-Identifier: MIT */
/*
 * tests/test_sched.c - the engine on the cpu backend: results equal the
 * direct tiler calls, async handles (poll, eventfd, timeout, cancel),
 * coalescing across threads, backpressure and shutdown with work in flight.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sched/npu.h"
#include "tests/helpers/test_env.h"

static void fill(float *x, size_t n, unsigned seed)
{
	for (size_t i = 0; i < n; i++) {
		seed = seed * 1103515245u + 12345u;
		x[i] = (float)((int)(seed >> 16 & 0x7fff) - 16384) / 8192.0f;
	}
}

/* 64-row jobs, so that the job counts below are known; 0 rows: the backend's default. */
static struct npu_engine *open_engine_rows(const char *backend, unsigned ring_slots,
					   unsigned rows)
{
	struct npu_engine_opts o = { .backend = backend, .threads = 1, .ring_slots = ring_slots,
				     .job_rows = rows };
	struct npu_engine *e;

	cr_assert_eq(npu_engine_open(&e, &o), 0);
	return e;
}

static struct npu_engine *open_engine(const char *backend, unsigned ring_slots)
{
	return open_engine_rows(backend, ring_slots, 64);
}

/* Engine result == direct tiler result, bit for bit, for awkward shapes. */
static void f32_matches_direct(unsigned rows)
{
	static const int shapes[][3] = { { 1, 64, 64 }, { 15, 33, 17 }, { 17, 128, 96 },
					 { 200, 80, 48 }, { 300, 40, 24 }, { 0, 16, 16 },
					 { 3, 0, 8 } };
	struct npu_engine *e = open_engine_rows("cpu", 0, rows);
	struct npu_tenant *t;

	cr_assert_eq(npu_tenant_open(e, &t, "test", 1), 0);
	for (size_t s = 0; s < sizeof(shapes) / sizeof(shapes[0]); s++) {
		int M = shapes[s][0], K = shapes[s][1], N = shapes[s][2];
		float *a = malloc(((size_t)M * K + 1) * 4), *b = malloc(((size_t)K * N + 1) * 4);
		float *bias = malloc(((size_t)N + 1) * 4);
		float *c1 = calloc((size_t)M * N + 1, 4), *c2 = calloc((size_t)M * N + 1, 4);
		struct tile_weights *w;

		fill(a, (size_t)M * K, 1 + s);
		fill(b, (size_t)K * N, 7 + s);
		fill(bias, N, 3);
		cr_assert_eq(tile_weights_pack_f32(&w, b, K, N, N, TILE_W_ROW_MAJOR_KN), 0);
		cr_assert_eq(npu_matmul_f32(t, a, M, K, K, w, bias, c1, N), 0);
		cr_assert_eq(tile_matmul_f32(a, M, K, K, w, bias, c2, N, NULL), 0);
		cr_expect_eq(memcmp(c1, c2, (size_t)M * N * 4), 0, "shape %dx%dx%d differs", M, K, N);
		tile_weights_free(w);
		free(a); free(b); free(bias); free(c1); free(c2);
	}
	npu_tenant_close(t);
	npu_engine_close(e);
}

Test(sched, f32_matches_direct)
{
	f32_matches_direct(64);
	f32_matches_direct(0);   /* the cpu backend's own job size */
	f32_matches_direct(7);   /* odd blocks: merged back into one call */
}

/* int8 through the engine is exact: compare with a plain triple loop. */
Test(sched, s8_exact)
{
	int M = 70, K = 40, N = 24;
	int8_t *a = malloc(M * K), *b = malloc(K * N);
	int32_t *c = calloc(M * N, 4);
	struct npu_engine *e = open_engine("cpu", 0);
	struct tile_weights *w;
	struct npu_tenant *t;

	for (int i = 0; i < M * K; i++)
		a[i] = (int8_t)(i * 37 % 255 - 127);
	for (int i = 0; i < K * N; i++)
		b[i] = (int8_t)(i * 91 % 251 - 125);
	cr_assert_eq(tile_weights_pack_s8(&w, b, K, N, N, TILE_W_ROW_MAJOR_KN), 0);
	cr_assert_eq(npu_tenant_open(e, &t, "s8", 1), 0);
	cr_assert_eq(npu_matmul_s8(t, a, M, K, K, w, c, N), 0);
	for (int m = 0; m < M; m++)
		for (int n = 0; n < N; n++) {
			int32_t ref = 0;

			for (int k = 0; k < K; k++)
				ref += a[m * K + k] * b[k * N + n];
			cr_assert_eq(c[m * N + n], ref, "C[%d][%d]", m, n);
		}
	npu_tenant_close(t);
	npu_engine_close(e);
	tile_weights_free(w);
	free(a); free(b); free(c);
}

Test(sched, bad_arguments)
{
	struct npu_engine *e = open_engine("cpu", 0);
	struct tile_weights *w;
	struct npu_tenant *t;
	float b[16 * 8] = { 0 }, a[4 * 16] = { 0 }, c[4 * 8];

	cr_assert_eq(tile_weights_pack_f32(&w, b, 16, 8, 8, TILE_W_ROW_MAJOR_KN), 0);
	cr_expect_eq(npu_tenant_open(e, &t, "zero", 0), -EINVAL);
	cr_assert_eq(npu_tenant_open(e, &t, "ok", 2), 0);
	cr_expect_eq(npu_matmul_f32(t, a, 4, 12, 16, w, NULL, c, 8), -EINVAL);  /* K mismatch */
	cr_expect_eq(npu_matmul_f32(t, a, 4, 16, 8, w, NULL, c, 8), -EINVAL);   /* lda < K */
	cr_expect_eq(npu_matmul_f32(t, NULL, 4, 16, 16, w, NULL, c, 8), -EINVAL);
	npu_tenant_close(t);
	npu_engine_close(e);
	tile_weights_free(w);
	struct npu_engine_opts o = { .backend = "nonsense" };
	cr_expect_eq(npu_engine_open(&e, &o), -EINVAL);
	o = (struct npu_engine_opts){ .backend = "cpu", .ring_slots = 48 };
	cr_expect_eq(npu_engine_open(&e, &o), -EINVAL);
}

Test(sched, async_poll_eventfd_wait)
{
	int M = 256, K = 64, N = 64;
	float *a = malloc(M * K * 4), *b = malloc(K * N * 4), *c = malloc(M * N * 4);
	float *ref = malloc(M * N * 4);
	struct npu_engine *e = open_engine("cpu", 0);
	struct tile_weights *w;
	struct npu_tenant *t;
	struct npu_matmul *m;
	struct pollfd pfd;

	fill(a, M * K, 5);
	fill(b, K * N, 6);
	cr_assert_eq(tile_weights_pack_f32(&w, b, K, N, N, TILE_W_ROW_MAJOR_KN), 0);
	cr_assert_eq(npu_tenant_open(e, &t, "async", 1), 0);
	cr_assert_eq(npu_matmul_submit_f32(t, a, M, K, K, w, NULL, c, N, NULL, &m), 0);
	pfd.fd = npu_matmul_eventfd(m);
	pfd.events = POLLIN;
	cr_assert_geq(pfd.fd, 0);
	cr_assert_eq(poll(&pfd, 1, 10000), 1, "eventfd never became readable");
	cr_expect_eq(npu_matmul_poll(m), 1);
	cr_expect_eq(npu_matmul_wait(m, 0), 0);
	tile_matmul_f32(a, M, K, K, w, NULL, ref, N, NULL);
	cr_expect_eq(memcmp(c, ref, M * N * 4), 0);
	npu_matmul_free(m);
	/* An eventfd asked for after completion is readable at once. */
	cr_assert_eq(npu_matmul_submit_f32(t, a, M, K, K, w, NULL, c, N, NULL, &m), 0);
	cr_expect_eq(npu_matmul_wait(m, -1), 0);
	pfd.fd = npu_matmul_eventfd(m);
	cr_expect_eq(poll(&pfd, 1, 0), 1);
	npu_matmul_free(m);
	npu_tenant_close(t);
	npu_engine_close(e);
	tile_weights_free(w);
	free(a); free(b); free(c); free(ref);
}

/* Cancel: every job is either run or released, the handle completes. */
Test(sched, cancel_releases_queued_jobs)
{
	int M = 64 * 64, K = 128, N = 128, rounds = test_small_scale() ? 3 : 10;
	float *a = malloc((size_t)M * K * 4), *b = malloc(K * N * 4), *c = malloc((size_t)M * N * 4);
	struct npu_engine *e = open_engine("cpu", 0);
	struct npu_engine_counters cnt;
	struct tile_weights *w;
	struct npu_tenant *t;
	int cancelled = 0;

	fill(a, (size_t)M * K, 8);
	fill(b, K * N, 9);
	cr_assert_eq(tile_weights_pack_f32(&w, b, K, N, N, TILE_W_ROW_MAJOR_KN), 0);
	cr_assert_eq(npu_tenant_open(e, &t, "cancel", 1), 0);
	for (int r = 0; r < rounds; r++) {
		struct npu_matmul *m;
		int st;

		cr_assert_eq(npu_matmul_submit_f32(t, a, M, K, K, w, NULL, c, N, NULL, &m), 0);
		st = npu_matmul_cancel(m);
		cr_expect(st == 0 || st == -ECANCELED, "status %d", st);
		cancelled += st == -ECANCELED;
		cr_expect_eq(npu_matmul_poll(m), 1);
		npu_matmul_free(m);
	}
	npu_engine_counters(e, &cnt);
	cr_expect_eq(cnt.jobs + cnt.cancelled, (uint64_t)rounds * 64, "jobs lost or doubled");
	cr_expect(cancelled == 0 || cnt.cancelled > 0);
	npu_tenant_close(t);
	npu_engine_close(e);
	tile_weights_free(w);
	free(a); free(b); free(c);
}

/* Backpressure: a 64-slot ring, 16 threads, every result right. */
struct worker_arg {
	struct npu_tenant *t;
	const struct tile_weights *w;
	const float *a, *ref;
	int M, K, N, iters;
	int64_t timeout;
	int bad;
};

static void *worker(void *p)
{
	struct worker_arg *x = p;
	float *c = malloc((size_t)x->M * x->N * 4);

	for (int i = 0; i < x->iters; i++) {
		struct npu_submit_opts so = { .timeout_ns = x->timeout };
		struct npu_matmul *m;
		int ret;

		while ((ret = npu_matmul_submit_f32(x->t, x->a, x->M, x->K, x->K, x->w, NULL, c,
						    x->N, &so, &m)) == -EAGAIN || ret == -ETIMEDOUT)
			;
		if (ret || npu_matmul_wait(m, -1) || memcmp(c, x->ref, (size_t)x->M * x->N * 4))
			x->bad++;
		if (!ret)
			npu_matmul_free(m);
	}
	free(c);
	return NULL;
}

static void run_threads(const char *backend, unsigned slots, int M, int64_t timeout)
{
	int K = 64, N = 32, T = 16, iters = test_small_scale() ? 10 : 100;
	float *a = malloc(M * K * 4), *b = malloc(K * N * 4), *ref = malloc(M * N * 4);
	struct npu_engine *e = open_engine(backend, slots);
	struct worker_arg args[16];
	pthread_t th[16];
	struct tile_weights *w;
	struct npu_tenant *t;

	fill(a, M * K, 11);
	fill(b, K * N, 12);
	cr_assert_eq(tile_weights_pack_f32(&w, b, K, N, N, TILE_W_ROW_MAJOR_KN), 0);
	tile_matmul_f32(a, M, K, K, w, NULL, ref, N, NULL);
	cr_assert_eq(npu_tenant_open(e, &t, "threads", 1), 0);
	for (int i = 0; i < T; i++) {
		args[i] = (struct worker_arg){ t, w, a, ref, M, K, N, iters, timeout, 0 };
		pthread_create(&th[i], NULL, worker, &args[i]);
	}
	for (int i = 0; i < T; i++) {
		pthread_join(th[i], NULL);
		cr_expect_eq(args[i].bad, 0, "thread %d: %d wrong results", i, args[i].bad);
	}
	npu_tenant_close(t);
	npu_engine_close(e);
	tile_weights_free(w);
	free(a); free(b); free(ref);
}

Test(sched, backpressure_ring_64_16_threads)
{
	run_threads("cpu", 64, 64 * 8, -1);  /* 8 jobs per matmul: the ring fills */
	run_threads("cpu", 64, 64 * 8, 0);   /* try mode */
}

Test(sched, coalesces_gemv_sharing_weights)
{
	run_threads("cpu", 0, 1, -1);
}

/* Shutdown with work in flight: every queued job completes, nothing leaks. */
Test(sched, close_with_work_in_flight)
{
	int M = 64 * 16, K = 64, N = 64, n = 8;
	float *a = malloc(M * K * 4), *b = malloc(K * N * 4), *c = malloc((size_t)n * M * N * 4);
	struct npu_engine *e = open_engine("emu", 0);
	struct npu_matmul *m[8];
	struct tile_weights *w;
	struct npu_tenant *t;

	fill(a, M * K, 13);
	fill(b, K * N, 14);
	cr_assert_eq(tile_weights_pack_f32(&w, b, K, N, N, TILE_W_ROW_MAJOR_KN), 0);
	cr_assert_eq(npu_tenant_open(e, &t, "closing", 1), 0);
	for (int i = 0; i < n; i++)
		cr_assert_eq(npu_matmul_submit_f32(t, a, M, K, K, w, NULL, c + (size_t)i * M * N, N,
						   NULL, &m[i]), 0);
	npu_engine_close(e);  /* runs what is queued, then stops */
	for (int i = 0; i < n; i++) {
		cr_expect_eq(npu_matmul_poll(m[i]), 1);
		cr_expect_eq(npu_matmul_wait(m[i], 0), 0);
		npu_matmul_free(m[i]);
	}
	npu_tenant_close(t);
	tile_weights_free(w);
	free(a); free(b); free(c);
}
