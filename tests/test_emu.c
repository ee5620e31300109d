/* SPDX-License-Identifier: MIT */
/*
 * tests/test_emu.c - the simulated Phoenix NPU: cost model arithmetic, and
 * injected faults (1% errors, 1% timeouts, hangs) with every result exact and
 * one CPU fallback per injected fault.
 */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "sched/npu.h"
#include "sched/npu_emu_model.h"
#include "tests/helpers/test_env.h"

Test(emu, model_costs)
{
	struct npu_emu_model m;
	uint64_t done;

	npu_emu_model_init(&m, NULL);
	cr_expect_eq(m.o.launch_us, 60);
	cr_expect_eq(m.o.chain_us, 22);
	cr_expect_eq(m.o.cores, 16);
	cr_expect_eq(m.o.max_in_flight, 4);
	/* 16 tiles of 1 Mop on 16 cores at 10 TOPS: one wave of 1.6 µs after a 60 µs launch. */
	done = npu_emu_model_run(&m, 16000000, 16, NULL);
	cr_expect_eq(done, 60000 + 1600);
	/* Queued behind it: chained cost, overlapped with the first run's compute. */
	done = npu_emu_model_run(&m, 16000000, 16, NULL);
	cr_expect_eq(done, 60000 + 22000 + 1600);
	/* 17 tiles need two waves of 1.6 µs. */
	npu_emu_model_drain(&m);
	done = npu_emu_model_run(&m, 17000000, 17, NULL);
	cr_expect_eq(done, m.host_ns + 3200);
}

Test(emu, batched_beats_per_tile)
{
	struct npu_emu_model per, bat;
	uint64_t tile_ops = 2ull * 64 * 64 * 512;

	npu_emu_model_init(&per, NULL);
	npu_emu_model_init(&bat, NULL);
	for (int i = 0; i < 64; i++) {
		npu_emu_model_run(&per, tile_ops, 1, NULL);
		npu_emu_model_drain(&per);  /* the old plan waited for each run */
	}
	for (int i = 0; i < 32; i++)
		npu_emu_model_run(&bat, tile_ops * 64, 64, NULL);
	npu_emu_model_drain(&bat);
	cr_expect_lt(npu_emu_model_utilization(&per), 0.05);
	cr_expect_gt(npu_emu_model_utilization(&bat), 0.9, "batched utilization %.3f",
		     npu_emu_model_utilization(&bat));
}

/*
 * Through the engine, one synchronous matmul at a time: the dispatcher has
 * nothing else in flight when it submits each run, so on the simulated clock
 * every run starts on an idle device and pays the full launch.
 */
Test(emu, idle_dispatcher_means_idle_device)
{
	float a[64 * 32] = { 0 }, b[32 * 32] = { 0 }, c[64 * 32];
	struct npu_engine_opts o = { .backend = "emu", .threads = 1 };
	struct npu_engine_counters cnt;
	struct tile_weights *w;
	struct npu_engine *e;
	struct npu_tenant *t;

	cr_assert_eq(tile_weights_pack_f32(&w, b, 32, 32, 32, TILE_W_ROW_MAJOR_KN), 0);
	cr_assert_eq(npu_engine_open(&e, &o), 0);
	cr_assert_eq(npu_tenant_open(e, &t, "sync", 1), 0);
	for (int i = 0; i < 10; i++)
		cr_assert_eq(npu_matmul_f32(t, a, 64, 32, 32, w, NULL, c, 32), 0);
	npu_tenant_close(t);
	npu_engine_counters(e, &cnt);
	npu_engine_close(e);
	tile_weights_free(w);
	cr_expect_eq(cnt.runs, 10);
	/* 10 launches of 60 us, plus a little compute each */
	cr_expect_geq(cnt.sim_ns, 10 * 60000ull, "simulated %llu ns for 10 idle starts",
		      (unsigned long long)cnt.sim_ns);
	cr_expect_lt(cnt.sim_ns, 10 * 70000ull);
}

/* Replay the fault draws of @runs runs with @o's seed. */
static unsigned count_faults(const struct npu_emu_opts *o, uint64_t runs)
{
	struct npu_emu_model m;
	unsigned n = 0;

	npu_emu_model_init(&m, o);
	for (uint64_t i = 0; i < runs; i++) {
		enum npu_emu_fault f;

		npu_emu_model_run(&m, 1000, 1, &f);
		n += f != NPU_EMU_OK;
	}
	return n;
}

static void fault_run(const struct npu_emu_opts *eo)
{
	int M = 64 * 4, K = 48, N = 40, iters = test_small_scale() ? 150 : 600;
	float *a = malloc(M * K * 4), *b = malloc(K * N * 4), *c = malloc(M * N * 4);
	float *ref = malloc(M * N * 4);
	struct npu_engine_opts o = { .backend = "emu", .threads = 1, .batch_jobs = 2, .emu = eo };
	struct npu_engine_counters cnt;
	struct tile_weights *w;
	struct npu_engine *e;
	struct npu_tenant *t;
	int wrong = 0;

	for (int i = 0; i < M * K; i++)
		a[i] = (float)((i * 29) % 101 - 50) / 25.0f;
	for (int i = 0; i < K * N; i++)
		b[i] = (float)((i * 17) % 89 - 44) / 22.0f;
	cr_assert_eq(tile_weights_pack_f32(&w, b, K, N, N, TILE_W_ROW_MAJOR_KN), 0);
	cr_assert_eq(tile_matmul_f32(a, M, K, K, w, NULL, ref, N, NULL), 0);
	cr_assert_eq(npu_engine_open(&e, &o), 0);
	cr_expect(strstr(npu_engine_backend_name(e), "simulated") != NULL);
	cr_assert_eq(npu_tenant_open(e, &t, "faults", 1), 0);
	for (int i = 0; i < iters; i++) {
		memset(c, 0, M * N * 4);
		cr_assert_eq(npu_matmul_f32(t, a, M, K, K, w, NULL, c, N), 0);
		wrong += memcmp(c, ref, M * N * 4) != 0;
	}
	npu_tenant_close(t);
	npu_engine_counters(e, &cnt);
	npu_engine_close(e);
	cr_expect_eq(wrong, 0, "%d of %d results wrong", wrong, iters);
	cr_expect_gt(cnt.errors + cnt.timeouts, 0, "no faults were injected");
	cr_expect_eq(cnt.fallbacks, cnt.errors + cnt.timeouts);
	cr_expect_eq(cnt.errors + cnt.timeouts, count_faults(eo, cnt.runs),
		     "fallbacks do not match the faults drawn for %llu runs",
		     (unsigned long long)cnt.runs);
	tile_weights_free(w);
	free(a); free(b); free(c); free(ref);
}

Test(emu, one_percent_errors_and_timeouts_exact)
{
	struct npu_emu_opts eo = { .error_ppm = 10000, .timeout_ppm = 10000, .seed = 42 };

	fault_run(&eo);
}

Test(emu, hangs_end_in_watchdog_and_fallback)
{
	struct npu_emu_opts eo = { .hang_ppm = 50000, .seed = 7 };

	fault_run(&eo);
}
