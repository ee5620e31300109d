/* SPDX-License-Identifier: MIT */
/*
 * tools/npubench/bench_emu.c - `npubench emu`: the simulated Phoenix NPU
 * (sched/npu_emu_model.h) running a workload the old way, one device run per
 * 16×16 output tile waited for one at a time, against the scheduler's way,
 * row-block jobs of 64×64 tiles packed into batched runs with up to 4 in
 * flight. All figures are simulated, from the cost model; nothing here
 * measures real hardware.
 *
 * Workloads:
 *   512cube: 64 independent 512×512×512 matmuls (a stream, as concurrent
 *            requests produce), ops counted 2·M·K·N.
 *   whisper_base_enc_layer: one Whisper base encoder layer over 1500 frames
 *            (d 512, 8 heads, FFN 2048): QKV, scores, values, out, fc1,
 *            fc2, each step waiting for the previous one (the CPU work in
 *            between is not charged to the device).
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"
#include "sched/npu_emu_model.h"

struct mm_shape {
	int M, K, N;
	int count;   /* independent copies in one step (heads) */
};

struct step {
	struct mm_shape mm[2];
	int n;
};

static const struct step enc_layer[] = {
	{ { { 1500, 512, 1536, 1 } }, 1 },          /* fused QKV projection */
	{ { { 1500, 64, 1500, 8 } }, 1 },           /* scores Q·Kᵀ, 8 heads */
	{ { { 1500, 1500, 64, 8 } }, 1 },           /* P·V, 8 heads */
	{ { { 1500, 512, 512, 1 } }, 1 },           /* output projection */
	{ { { 1500, 512, 2048, 1 } }, 1 },          /* fc1 */
	{ { { 1500, 2048, 512, 1 } }, 1 },          /* fc2 */
};

static const struct step cube_stream[] = {
	{ { { 512, 512, 512, 64 } }, 1 },
};

static uint64_t ceil_div(uint64_t a, uint64_t b)
{
	return (a + b - 1) / b;
}

/* Old plan: every 16×16 output tile is its own run, waited for. */
static void per_tile(struct npu_emu_model *m, const struct mm_shape *s, double *ops)
{
	uint64_t tiles = ceil_div(s->M, 16) * ceil_div(s->N, 16) * s->count;
	uint64_t tile_ops = 2ull * 16 * 16 * s->K;

	for (uint64_t i = 0; i < tiles; i++) {
		npu_emu_model_run(m, tile_ops, 1, NULL);
		npu_emu_model_drain(m);
	}
	*ops += 2.0 * s->M * s->K * s->N * s->count;
}

/*
 * Scheduler: jobs of 64 rows, each a row of 64×64 tiles, up to @batch jobs a
 * run, runs issued back to back (the model keeps 4 in flight).
 */
static void batched(struct npu_emu_model *m, const struct mm_shape *s, unsigned batch,
		    double *ops)
{
	uint64_t row_jobs = ceil_div(s->M, 64) * s->count;
	uint64_t tiles_per_job = ceil_div(s->N, 64);
	uint64_t job_ops = 2ull * 64 * 64 * tiles_per_job * s->K;

	for (uint64_t j = 0; j < row_jobs; j += batch) {
		uint64_t n = row_jobs - j < batch ? row_jobs - j : batch;

		npu_emu_model_run(m, job_ops * n, tiles_per_job * n, NULL);
	}
	*ops += 2.0 * s->M * s->K * s->N * s->count;
}

static void run(const char *name, const struct step *steps, size_t n_steps, int streams,
		bool tiles, unsigned batch, int json)
{
	struct npu_emu_model m;
	double ops = 0, span, gops, util;

	npu_emu_model_init(&m, NULL);
	for (size_t i = 0; i < n_steps; i++) {
		for (int r = 0; r < streams; r++)
			for (int k = 0; k < steps[i].n; k++) {
				if (tiles)
					per_tile(&m, &steps[i].mm[k], &ops);
				else
					batched(&m, &steps[i].mm[k], batch, &ops);
			}
		npu_emu_model_drain(&m);  /* the next step needs this one's output */
	}
	span = (double)npu_emu_model_span_ns(&m);
	gops = span > 0 ? ops / span : 0;
	util = npu_emu_model_utilization(&m);
	if (json)
		printf("{\"bench\":\"emu\",\"workload\":\"%s\",\"mode\":\"%s\",\"sim_gops\":%.3f,"
		       "\"utilization\":%.4f,\"simulated\":true}\n",
		       name, tiles ? "per_tile" : "batched", gops, util);
	else
		printf("emu (simulated) %-26s %-9s %10.3f GOPS  utilization %7.3f%%  %.3f ms\n",
		       name, tiles ? "per_tile" : "batched", gops, util * 100, span / 1e6);
}

int bench_emu(int argc, char **argv)
{
	unsigned batch = 64;
	int json = 0;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--json")) {
			json = 1;
		} else if (!strcmp(argv[i], "--batch") && i + 1 < argc) {
			batch = (unsigned)atoi(argv[++i]);
		} else {
			fprintf(stderr, "usage: npubench emu [--json] [--batch JOBS]\n"
				"  simulated Phoenix NPU: one run per 16x16 tile vs batched runs\n");
			return strcmp(argv[i], "--help") ? 2 : 0;
		}
	}
	if (!batch) {
		fprintf(stderr, "npubench emu: --batch must be positive\n");
		return 2;
	}
	size_t n = sizeof(enc_layer) / sizeof(enc_layer[0]);

	run("512cube_x64", cube_stream, 1, 1, true, batch, json);
	run("512cube_x64", cube_stream, 1, 1, false, batch, json);
	run("whisper_base_enc_layer", enc_layer, n, 1, true, batch, json);
	run("whisper_base_enc_layer", enc_layer, n, 1, false, batch, json);
	/* Two transcriptions sharing the device: each step's runs of both queue together. */
	run("whisper_base_enc_layer_x2", enc_layer, n, 2, true, batch, json);
	run("whisper_base_enc_layer_x2", enc_layer, n, 2, false, batch, json);
	return 0;
}
