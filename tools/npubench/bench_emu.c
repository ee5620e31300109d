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
 *
 * The two modes above replay a fixed plan on the cost model alone. The
 * engine modes run the same encoder layer for real through the scheduler
 * on the emu backend, as a job graph (sched/graph.h) of 64-row matmul
 * nodes, and report the simulated device time the dispatcher's runs added
 * up to (the emu backend's clock follows the dispatcher: a run submitted
 * with nothing in flight pays the full launch):
 *   engine_steps: every node of a step depends on all of the previous step;
 *   engine_graph: the true dependencies, by row block: scores need all of
 *            QKV (every row of K), then P·V of a row block needs its scores
 *            rows, the output projection its P·V rows of all heads, fc1 its
 *            projection rows, fc2 its fc1 rows. The dispatcher then has the
 *            next step's rows queued while the current step's runs compute.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"
#include "sched/graph.h"
#include "sched/npu.h"
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

/* The encoder layer through the engine (emu) as a graph of 64-row matmul nodes. */
#define D 512
#define T 1500
#define HEADS 8
#define HD 64
#define FF 2048
#define RB ((T + 63) / 64)

struct enc_bufs {
	float *x, *qkv, *scores, *attn, *proj, *h1, *h2;
	struct tile_weights *w_proj[3], *w_k[HEADS], *w_v[HEADS], *w_out, *w_fc1, *w_fc2;
};

static float *rnd(size_t n, unsigned seed)
{
	float *p = malloc(n * sizeof(float));

	for (size_t i = 0; p && i < n; i++) {
		seed = seed * 1103515245u + 12345u;
		p[i] = (float)((int)(seed >> 16 & 0x7fff) - 16384) / 16384.0f;
	}
	return p;
}

static int pack(struct tile_weights **w, int K, int N, unsigned seed)
{
	float *b = rnd((size_t)K * N, seed);
	int ret = b ? tile_weights_pack_f32(w, b, K, N, N, TILE_W_ROW_MAJOR_KN) : -ENOMEM;

	free(b);
	return ret;
}

static int enc_alloc(struct enc_bufs *b)
{
	int ret = 0;

	memset(b, 0, sizeof(*b));
	b->x = rnd((size_t)T * D, 1);
	b->qkv = calloc((size_t)T * 3 * D, 4);
	b->scores = calloc((size_t)HEADS * T * T, 4);
	b->attn = calloc((size_t)T * D, 4);
	b->proj = calloc((size_t)T * D, 4);
	b->h1 = calloc((size_t)T * FF, 4);
	b->h2 = calloc((size_t)T * D, 4);
	if (!b->x || !b->qkv || !b->scores || !b->attn || !b->proj || !b->h1 || !b->h2)
		return -ENOMEM;
	for (int i = 0; i < 3 && !ret; i++)
		ret = pack(&b->w_proj[i], D, D, 2 + 40 * i);
	for (int h = 0; h < HEADS && !ret; h++) {
		ret = pack(&b->w_k[h], HD, T, 10 + h);
		if (!ret)
			ret = pack(&b->w_v[h], T, HD, 20 + h);
	}
	if (!ret)
		ret = pack(&b->w_out, D, D, 3);
	if (!ret)
		ret = pack(&b->w_fc1, D, FF, 4);
	if (!ret)
		ret = pack(&b->w_fc2, FF, D, 5);
	return ret;
}

static void enc_free(struct enc_bufs *b)
{
	free(b->x); free(b->qkv); free(b->scores); free(b->attn);
	free(b->proj); free(b->h1); free(b->h2);
	for (int i = 0; i < 3; i++)
		tile_weights_free(b->w_proj[i]);
	for (int h = 0; h < HEADS; h++) {
		tile_weights_free(b->w_k[h]);
		tile_weights_free(b->w_v[h]);
	}
	tile_weights_free(b->w_out);
	tile_weights_free(b->w_fc1);
	tile_weights_free(b->w_fc2);
}

/* Node ids of one step, by head (1 for whole-row steps) and row block. */
struct step_ids {
	int id[HEADS][RB];
	int n_heads;
};

/* Append the ids of @prev that a node of row block @r, head @h depends on. */
static int add_deps(int *deps, int n, const struct step_ids *prev, int r, int h,
		    bool all_rows, bool all_heads)
{
	for (int hh = 0; hh < prev->n_heads; hh++)
		for (int rr = 0; rr < RB; rr++)
			if ((all_rows || rr == r) && (all_heads || hh == h || prev->n_heads == 1))
				deps[n++] = prev->id[hh][rr];
	return n;
}

/*
 * The layer's matmuls as 64-row nodes. Q, K and V are three projections
 * (the same work as the fused one), K first: the scores need every row of K,
 * and the Q and V projections keep the device busy meanwhile. With @steps,
 * every node instead depends on all nodes of the previous step (QKV, scores,
 * P·V, output projection, fc1, fc2).
 */
static int build_layer(struct npu_graph *g, struct enc_bufs *b, bool steps)
{
	static int deps[4 * HEADS * RB];
	static const int order[3] = { 1, 0, 2 };  /* K, Q, V */
	struct step_ids proj[3], sc = { .n_heads = HEADS }, pv = { .n_heads = HEADS };
	struct step_ids out = { .n_heads = 1 }, f1 = { .n_heads = 1 }, f2 = { .n_heads = 1 };
	int bad = 0;

	for (int i = 0; i < 3; i++) {
		int p = order[i];

		proj[p].n_heads = 1;
		for (int r = 0; r < RB; r++) {
			int rows = T - r * 64 < 64 ? T - r * 64 : 64;
			size_t o = (size_t)r * 64;

			proj[p].id[0][r] = npu_graph_add_matmul(g, b->x + o * D, rows, D, D,
								b->w_proj[p], NULL,
								b->qkv + o * 3 * D + p * D, 3 * D,
								NULL, 0);
			bad |= proj[p].id[0][r] < 0;
		}
	}
	/* Row blocks outer, heads inner: out(r) needs block r of every head. */
	for (int r = 0; r < RB; r++)
		for (int h = 0; h < HEADS; h++) {
			int rows = T - r * 64 < 64 ? T - r * 64 : 64, n = 0;
			size_t o = (size_t)r * 64;

			/* Q_h rows · K_hᵀ: every row of K, this block of Q */
			n = add_deps(deps, n, &proj[1], r, h, true, true);
			n = add_deps(deps, n, &proj[0], r, h, steps, true);
			if (steps)
				n = add_deps(deps, n, &proj[2], r, h, true, true);
			sc.id[h][r] = npu_graph_add_matmul(g, b->qkv + o * 3 * D + h * HD, rows, HD,
							   3 * D, b->w_k[h], NULL,
							   b->scores + ((size_t)h * T + o) * T, T,
							   deps, n);
			bad |= sc.id[h][r] < 0;
		}
	for (int r = 0; r < RB; r++)
		for (int h = 0; h < HEADS; h++) {
			int rows = T - r * 64 < 64 ? T - r * 64 : 64, n = 0;
			size_t o = (size_t)r * 64;

			/* softmax(scores rows) · V_h: its scores rows, every row of V */
			n = add_deps(deps, n, &sc, r, h, steps, steps);
			if (!steps)
				n = add_deps(deps, n, &proj[2], r, h, true, true);
			pv.id[h][r] = npu_graph_add_matmul(g, b->scores + ((size_t)h * T + o) * T,
							   rows, T, T, b->w_v[h], NULL,
							   b->attn + o * D + h * HD, D, deps, n);
			bad |= pv.id[h][r] < 0;
		}
	for (int r = 0; r < RB; r++) {
		int rows = T - r * 64 < 64 ? T - r * 64 : 64, n;
		size_t o = (size_t)r * 64;

		/* output projection: this row block of every head */
		n = add_deps(deps, 0, &pv, r, 0, steps, true);
		out.id[0][r] = npu_graph_add_matmul(g, b->attn + o * D, rows, D, D, b->w_out, NULL,
						    b->proj + o * D, D, deps, n);
		bad |= out.id[0][r] < 0;
	}
	for (int r = 0; r < RB; r++) {
		int rows = T - r * 64 < 64 ? T - r * 64 : 64, n;
		size_t o = (size_t)r * 64;

		n = add_deps(deps, 0, &out, r, 0, steps, false);
		f1.id[0][r] = npu_graph_add_matmul(g, b->proj + o * D, rows, D, D, b->w_fc1, NULL,
						   b->h1 + o * FF, FF, deps, n);
		bad |= f1.id[0][r] < 0;
	}
	for (int r = 0; r < RB; r++) {
		int rows = T - r * 64 < 64 ? T - r * 64 : 64, n;
		size_t o = (size_t)r * 64;

		n = add_deps(deps, 0, &f1, r, 0, steps, false);
		f2.id[0][r] = npu_graph_add_matmul(g, b->h1 + o * FF, rows, FF, FF, b->w_fc2, NULL,
						   b->h2 + o * D, D, deps, n);
		bad |= f2.id[0][r] < 0;
	}
	return bad ? -EINVAL : 0;
}

static int run_engine(const char *mode, bool steps, int json)
{
	struct npu_engine_opts o = { .backend = "emu" };
	double ops = 2.0 * T * D * 3 * D + 2 * 2.0 * HEADS * T * HD * T +
		     2.0 * T * D * D + 2 * 2.0 * T * D * FF;
	struct npu_engine_counters cnt;
	struct npu_engine *e = NULL;
	struct npu_tenant *t = NULL;
	struct npu_graph *g = NULL;
	struct enc_bufs b;
	int ret;

	ret = enc_alloc(&b);
	if (!ret)
		ret = npu_engine_open(&e, &o);
	if (!ret)
		ret = npu_tenant_open(e, &t, "encoder", 1);
	/* One graph thread per node that may wait at once: enough to fill the queue. */
	if (!ret)
		ret = npu_graph_new(&g, t, 2);
	if (!ret)
		ret = build_layer(g, &b, steps);
	if (!ret)
		ret = npu_graph_run(g);
	npu_graph_free(g);
	npu_tenant_close(t);
	if (e) {
		npu_engine_counters(e, &cnt);
		npu_engine_close(e);
	}
	enc_free(&b);
	if (ret) {
		fprintf(stderr, "npubench emu: %s: %s\n", mode, strerror(-ret));
		return ret;
	}
	if (json)
		printf("{\"bench\":\"emu\",\"workload\":\"whisper_base_enc_layer\",\"mode\":\"%s\","
		       "\"sim_gops\":%.3f,\"utilization\":%.4f,\"runs\":%llu,\"jobs\":%llu,"
		       "\"simulated\":true}\n", mode, ops / (double)cnt.sim_ns,
		       (double)cnt.sim_busy_ns / (double)cnt.sim_ns,
		       (unsigned long long)cnt.runs, (unsigned long long)cnt.jobs);
	else
		printf("emu (simulated) %-26s %-12s %7.3f GOPS  utilization %7.3f%%  %.3f ms"
		       "  (%llu runs, %llu jobs)\n", "whisper_base_enc_layer", mode,
		       ops / (double)cnt.sim_ns, 100.0 * cnt.sim_busy_ns / (double)cnt.sim_ns,
		       cnt.sim_ns / 1e6, (unsigned long long)cnt.runs, (unsigned long long)cnt.jobs);
	return 0;
}

int bench_emu(int argc, char **argv)
{
	unsigned batch = 64;
	int json = 0, engine = 1;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--json")) {
			json = 1;
		} else if (!strcmp(argv[i], "--model-only")) {
			engine = 0;
		} else if (!strcmp(argv[i], "--batch") && i + 1 < argc) {
			batch = (unsigned)atoi(argv[++i]);
		} else {
			fprintf(stderr, "usage: npubench emu [--json] [--batch JOBS] [--model-only]\n"
				"  simulated Phoenix NPU: one run per 16x16 tile vs batched runs;\n"
				"  then an encoder layer through the engine (emu) by steps and as a graph\n");
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
	if (engine && (run_engine("engine_steps", true, json) ||
		       run_engine("engine_graph", false, json)))
		return 1;
	return 0;
}
