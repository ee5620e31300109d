/* SPDX-License-Identifier: MIT */
/*
 * tests/test_xrt_loopback.c - the xrt backend's host path on the software
 * device (NPU_XRT_DEVICE=loopback): weights made resident in the region,
 * jobs packed into batch bytes, two slots, results unpacked with the bias.
 * Every result must equal the direct tiler's bits: with healthy runs, with
 * injected errors and timeouts (then the fallback count must match), and
 * with a weights region too small for the model (emptied and refilled, or
 * bypassed to the CPU for a set larger than the whole region). Hung runs:
 * the caller gets the CPU's answer at once, the slot is not started again
 * until the run ends, NPU_RUN_TIMEOUT_MS=0 waits for ever, and closing with
 * a hung run in flight waits for it (no crash, no leak: ASan, TSan).
 */
#include <criterion/criterion.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "sched/npu.h"
#include "sched/xrt/npu_xrt_dev.h"
#include "tiler/tile.h"

static uint64_t rng = 0x13198a2e03707344ull;

static uint32_t next(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (uint32_t)rng;
}

struct set {
	int K, N;
	float *bf, *bias;
	int8_t *b8;
	struct tile_weights *wf, *w8;
};

static void set_make(struct set *s, int K, int N)
{
	s->K = K;
	s->N = N;
	s->bf = malloc((size_t)K * N * 4);
	s->b8 = malloc((size_t)K * N);
	s->bias = malloc((size_t)N * 4);
	cr_assert(s->bf && s->b8 && s->bias);
	for (size_t i = 0; i < (size_t)K * N; i++) {
		s->bf[i] = (float)(int32_t)next() / 2147483648.0f;
		s->b8[i] = (int8_t)next();
	}
	for (int n = 0; n < N; n++)
		s->bias[n] = (float)(int32_t)next() / 2147483648.0f;
	cr_assert_eq(tile_weights_pack_f32(&s->wf, s->bf, K, N, N, TILE_W_ROW_MAJOR_KN), 0);
	cr_assert_eq(tile_weights_pack_s8(&s->w8, s->b8, K, N, N, TILE_W_ROW_MAJOR_KN), 0);
}

static void set_free(struct set *s)
{
	tile_weights_free(s->wf);
	tile_weights_free(s->w8);
	free(s->bf);
	free(s->b8);
	free(s->bias);
}

/* One fp32 (with bias) and one int8 matmul of @M rows against @s, engine vs direct. */
static void check_matmuls(struct npu_tenant *t, const struct set *s, int M)
{
	size_t na = (size_t)M * s->K, nc = (size_t)M * s->N;
	float *a = malloc(na * 4), *c0 = malloc(nc * 4), *c1 = malloc(nc * 4);
	int8_t *a8 = malloc(na);
	int32_t *d0 = malloc(nc * 4), *d1 = malloc(nc * 4);

	cr_assert(a && c0 && c1 && a8 && d0 && d1);
	for (size_t i = 0; i < na; i++) {
		a[i] = (float)(int32_t)next() / 2147483648.0f;
		a8[i] = (int8_t)next();
	}
	memset(c1, 0x5a, nc * 4);
	memset(d1, 0x5a, nc * 4);
	cr_assert_eq(tile_matmul_f32(a, M, s->K, s->K, s->wf, s->bias, c0, s->N, NULL), 0);
	cr_assert_eq(npu_matmul_f32(t, a, M, s->K, s->K, s->wf, s->bias, c1, s->N), 0);
	cr_expect_eq(memcmp(c0, c1, nc * 4), 0, "f32 %dx%dx%d differs", M, s->K, s->N);
	cr_assert_eq(tile_matmul_s8(a8, M, s->K, s->K, s->w8, d0, s->N, NULL), 0);
	cr_assert_eq(npu_matmul_s8(t, a8, M, s->K, s->K, s->w8, d1, s->N), 0);
	cr_expect_eq(memcmp(d0, d1, nc * 4), 0, "s8 %dx%dx%d differs", M, s->K, s->N);
	free(a); free(c0); free(c1); free(a8); free(d0); free(d1);
}

static void setenv_num(const char *name, unsigned v)
{
	char buf[16];

	snprintf(buf, sizeof(buf), "%u", v);
	if (v)
		setenv(name, buf, 1);
	else
		unsetenv(name);
}

/* Every setting explicit: the TSan stand-in runs all tests in one process. */
static void open_loopback(struct npu_engine **e, struct npu_tenant **t, unsigned job_rows,
			  unsigned fail_every, unsigned timeout_every, unsigned weights_mb)
{
	struct npu_engine_opts o = { .backend = "xrt", .job_rows = job_rows };

	setenv("NPU_XRT_DEVICE", "loopback", 1);
	unsetenv("NPU_XRT_LOOPBACK_MEMLOCK");
	setenv_num("NPU_XRT_LOOPBACK_FAIL_EVERY", fail_every);
	setenv_num("NPU_XRT_LOOPBACK_TIMEOUT_EVERY", timeout_every);
	setenv_num("NPU_WEIGHTS_MB", weights_mb);
	cr_assert_eq(npu_engine_open(e, &o), 0);
	cr_assert_str_eq(npu_engine_backend_name(*e), "xrt loopback (software device)");
	cr_assert_eq(npu_tenant_open(*e, t, "test", 1), 0);
}

static const int shapes[][3] = {   /* M, K, N */
	{ 1, 384, 384 }, { 5, 64, 1500 }, { 64, 512, 512 }, { 65, 17, 33 },
	{ 300, 100, 70 }, { 130, 1536, 16 }, { 3, 4, 1 },
};

Test(xrt_loopback, results_are_the_direct_bits)
{
	struct npu_engine_counters cnt;
	struct npu_engine *e;
	struct npu_tenant *t;

	/* jobs of 256 rows: the backend cuts them into 64-row batch jobs */
	open_loopback(&e, &t, 256, 0, 0, 0);
	for (size_t i = 0; i < sizeof(shapes) / sizeof(shapes[0]); i++) {
		struct set s;

		set_make(&s, shapes[i][1], shapes[i][2]);
		check_matmuls(t, &s, shapes[i][0]);
		check_matmuls(t, &s, shapes[i][0] + 7);   /* the same weights again: resident */
		set_free(&s);
	}
	npu_engine_counters(e, &cnt);
	cr_expect_gt(cnt.runs, 0);
	cr_expect_eq(cnt.fallbacks, 0);
	cr_expect_eq(cnt.errors + cnt.timeouts, 0);
	npu_tenant_close(t);
	npu_engine_close(e);
}

Test(xrt_loopback, faults_fall_back_with_exact_results)
{
	struct npu_engine_counters cnt;
	struct npu_engine *e;
	struct npu_tenant *t;
	struct set s;

	open_loopback(&e, &t, 0, 3, 5, 0);
	set_make(&s, 200, 96);
	for (int i = 0; i < 40; i++)
		check_matmuls(t, &s, 1 + i * 7);
	set_free(&s);
	npu_engine_counters(e, &cnt);
	/* run r fails when r % 3 == 0 or r % 5 == 0; a timeout when r % 5 == 0 */
	cr_expect_gt(cnt.runs, 60);
	cr_expect_eq(cnt.timeouts, cnt.runs / 5);
	cr_expect_eq(cnt.errors, cnt.runs / 3 - cnt.runs / 15);
	cr_expect_eq(cnt.fallbacks, cnt.errors + cnt.timeouts);
	npu_tenant_close(t);
	npu_engine_close(e);
}

Test(xrt_loopback, small_weights_region_is_refilled)
{
	struct npu_engine_counters cnt;
	struct npu_engine *e;
	struct npu_tenant *t;
	struct set s[6], big;

	/* 1 MB: about three 512x512 sets (f32 and s8 each) fit at a time */
	open_loopback(&e, &t, 0, 0, 0, 1);
	for (int i = 0; i < 6; i++)
		set_make(&s[i], 512, 256);
	for (int round = 0; round < 3; round++)
		for (int i = 0; i < 6; i++)
			check_matmuls(t, &s[i], 3 + round * 40 + i);
	npu_engine_counters(e, &cnt);
	cr_expect_eq(cnt.fallbacks, 0, "a full region must be emptied, not failed");
	/* a set larger than the whole region runs on the CPU, still exact */
	set_make(&big, 2048, 1024);
	check_matmuls(t, &big, 9);
	npu_engine_counters(e, &cnt);
	cr_expect_gt(cnt.fallbacks, 0);
	set_free(&big);
	for (int i = 0; i < 6; i++)
		set_free(&s[i]);
	npu_tenant_close(t);
	npu_engine_close(e);
}

/* ---- hung runs ---- */

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Every @every-th run hangs for @hang_ms; our timeout @timeout_ms; the bound @bound_ms. */
static void open_hung(struct npu_engine **e, struct npu_tenant **t, unsigned every,
		      unsigned hang_ms, unsigned timeout_ms, unsigned bound_ms)
{
	char buf[16];

	setenv_num("NPU_XRT_LOOPBACK_HANG_EVERY", every);
	setenv_num("NPU_XRT_LOOPBACK_HANG_MS", hang_ms);
	snprintf(buf, sizeof(buf), "%u", timeout_ms);
	setenv("NPU_RUN_TIMEOUT_MS", buf, 1);   /* 0 is meaningful: no timeout */
	setenv_num("NPU_RUN_HANG_MS", bound_ms);
	open_loopback(e, t, 0, 0, 0, 0);
}

static void close_hung(struct npu_engine *e, struct npu_tenant *t)
{
	npu_tenant_close(t);
	npu_engine_close(e);
	unsetenv("NPU_XRT_LOOPBACK_HANG_EVERY");
	unsetenv("NPU_XRT_LOOPBACK_HANG_MS");
	unsetenv("NPU_RUN_TIMEOUT_MS");
	unsetenv("NPU_RUN_HANG_MS");
}

Test(xrt_loopback, hung_run_goes_to_the_cpu_at_once)
{
	struct npu_xrt_loopback_counters c0, c1, c2;
	struct npu_engine_counters cnt;
	struct npu_engine *e;
	struct npu_tenant *t;
	double worst = 0, t0;
	struct set s;

	npu_xrt_loopback_counters(&c0);
	/* every 3rd run hangs for 1.5 s; we wait 30 ms for a run */
	open_hung(&e, &t, 3, 1500, 30, 0);
	set_make(&s, 96, 80);
	for (int i = 0; i < 8; i++) {
		double d;

		t0 = now_s();
		check_matmuls(t, &s, 3 + 5 * i);   /* exact bits, from the CPU when hung */
		d = now_s() - t0;
		worst = d > worst ? d : worst;
	}
	npu_engine_counters(e, &cnt);
	npu_xrt_loopback_counters(&c1);
	cr_expect_gt(c1.hung - c0.hung, 0);
	/* each hung run was handed over after our 30 ms, not after its 1.5 s */
	cr_expect_lt(worst, 1.0, "a matmul waited %.3f s for a hung run", worst);
	cr_expect_eq(cnt.timeouts, c1.hung - c0.hung);
	cr_expect_eq(cnt.fallbacks, cnt.errors + cnt.timeouts);
	cr_expect_gt(cnt.runs, cnt.fallbacks, "healthy runs still run on the device");
	/* no run was ever started on a slot whose hung run had not ended */
	cr_expect_eq(c1.busy_starts, c0.busy_starts);
	set_free(&s);
	t0 = now_s();
	close_hung(e, t);
	npu_xrt_loopback_counters(&c2);
	/* close waited for the runs still hung (reclaimed, within the 10 s bound) */
	cr_expect_eq(c2.reclaimed - c0.reclaimed, c2.hung - c0.hung);
	cr_expect_eq(c2.busy_starts, c0.busy_starts);
	cr_expect_lt(now_s() - t0, 3.0);
}

Test(xrt_loopback, timeout_zero_means_no_timeout)
{
	struct npu_xrt_loopback_counters c0, c1;
	struct npu_engine_counters cnt;
	struct npu_engine *e;
	struct npu_tenant *t;
	struct set s;
	double t0;

	npu_xrt_loopback_counters(&c0);
	/* every 2nd run hangs 200 ms and is ended by the "watchdog"; we wait for ever */
	open_hung(&e, &t, 2, 200, 0, 0);
	set_make(&s, 64, 48);
	t0 = now_s();
	for (int i = 0; i < 3; i++)
		check_matmuls(t, &s, 2 + i);
	npu_engine_counters(e, &cnt);
	npu_xrt_loopback_counters(&c1);
	cr_expect_gt(c1.hung - c0.hung, 0);
	cr_expect_eq(cnt.timeouts, 0, "NPU_RUN_TIMEOUT_MS=0 must not time out");
	cr_expect_eq(cnt.errors, c1.hung - c0.hung, "hung runs end in error, after waiting");
	cr_expect_geq(now_s() - t0, 0.2 * (double)(c1.hung - c0.hung) - 0.01);
	set_free(&s);
	close_hung(e, t);
}

Test(xrt_loopback, close_with_a_hung_run_waits_for_it)
{
	struct npu_xrt_loopback_counters c0, c1;
	struct npu_engine_counters cnt;
	struct npu_engine *e;
	struct npu_tenant *t;
	struct set s;
	double t0;

	npu_xrt_loopback_counters(&c0);
	/* every run hangs 600 ms; our timeout 20 ms; slots retired after 50 ms more */
	open_hung(&e, &t, 1, 600, 20, 50);
	set_make(&s, 64, 40);
	for (int i = 0; i < 4; i++)
		check_matmuls(t, &s, 1 + i);   /* both slots hang, then retire: all on the CPU */
	npu_engine_counters(e, &cnt);
	cr_expect_eq(cnt.fallbacks, cnt.runs, "every run failed over to the CPU");
	cr_expect_geq(cnt.timeouts, 1);
	set_free(&s);
	t0 = now_s();
	close_hung(e, t);
	npu_xrt_loopback_counters(&c1);
	/* the device was not freed under the runs still in flight: close waited */
	cr_expect_geq(c1.close_waits - c0.close_waits, 1);
	cr_expect_lt(now_s() - t0, 1.5);
	cr_expect_eq(c1.busy_starts, c0.busy_starts);
}
