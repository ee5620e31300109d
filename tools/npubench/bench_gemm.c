/* SPDX-License-Identifier: MIT */
/*
 * tools/npubench/bench_gemm.c - tile GEMM against oneDNN int8 and OpenBLAS.
 *
 * For each Whisper shape (M×K×N) it times, in this process and with the same
 * thread count: tile_matmul_s8 on prepacked weights ("amanuensis"), the fp32
 * path tile_matmul_f32 ("amanuensis_f32"), dnnl_gemm_u8s8s32 ("onednn") and
 * cblas_sgemm ("openblas"); for 2..48 rows also both tile paths with the
 * opt-in few-rows kernels (AMN_KERNEL_ROWS=1: "amanuensis_rows",
 * "amanuensis_f32_rows"). --decoder runs the decoder shapes (1, 5, 8 and 16
 * rows) instead of the default set. GOPS counts 2·M·K·N per call; the best
 * call is kept. The calls are made in --rounds rounds (3); in each round every
 * implementation runs --reps calls back to back (3, after a warm-up call),
 * and the order of the implementations alternates between rounds, so that a
 * noisy stretch of a shared machine does not fall on one implementation only.
 * Between implementations the bench sleeps 200 ms: OpenBLAS's and OpenMP's
 * idle workers spin for a while after a call, and on a small machine that
 * spinning would be charged to whatever runs next.
 */
#include <cblas.h>
#include <dlfcn.h>
#include <math.h>
#include <oneapi/dnnl/dnnl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "common/amn_threads.h"
#include "tiler/tile.h"
#include "bench.h"

struct shape {
	int M, K, N;
};

static const struct shape shapes[] = {
	{ 1500, 384, 384 }, { 1500, 384, 1536 }, { 1500, 1536, 384 },
	{ 1500, 512, 512 }, { 1500, 512, 2048 }, { 1500, 2048, 512 },
	{ 1, 512, 2048 }, { 1, 2048, 512 }, { 1, 512, 51864 },
};

/* Decoder matmuls: tiny.en (384) and base (512) layers, tiny.en's vocabulary
 * projection; 1 row, 5 beams, 8 and 16 stacked calls. */
static const struct shape dec_shapes[] = {
#define DEC(M) { M, 384, 1536 }, { M, 1536, 384 }, { M, 384, 51864 }, \
	       { M, 512, 2048 }, { M, 2048, 512 },
	DEC(1) DEC(5) DEC(8) DEC(16)
#undef DEC
};

enum { IMPL_AMN, IMPL_AMN_F32, IMPL_ONEDNN, IMPL_OPENBLAS, IMPL_AMN_ROWS,
       IMPL_AMN_F32_ROWS, NIMPL };
static const char *const impl_names[NIMPL] = {
	"amanuensis", "amanuensis_f32", "onednn", "openblas", "amanuensis_rows",
	"amanuensis_f32_rows"
};

/* The rows implementations differ only where the few-rows kernels apply. */
static int few_rows(const struct shape *s)
{
	return s->M >= 2 && s->M <= 48;
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static void set_omp_threads(int n)
{
	void (*fn)(int) = (void (*)(int))dlsym(RTLD_DEFAULT, "omp_set_num_threads");

	if (fn)
		fn(n);
}

/* Run one implementation once on one shape; returns seconds, or < 0 on error. */
static double time_impl(int impl, const struct shape *s, int threads,
			const int8_t *a8, const uint8_t *au8, const float *af,
			const int8_t *b8, const float *bf,
			const struct tile_weights *w8, const struct tile_weights *wf,
			int32_t *c32, float *cf)
{
	struct tile_opts o = { .threads = threads };
	double t0 = now(), t1;
	int ret = 0;

	switch (impl) {
	case IMPL_AMN:
		ret = tile_matmul_s8(a8, s->M, s->K, s->K, w8, c32, s->N, &o);
		break;
	case IMPL_AMN_F32:
		ret = tile_matmul_f32(af, s->M, s->K, s->K, wf, NULL, cf, s->N, &o);
		break;
	case IMPL_ONEDNN: {
		int32_t co = 0;

		ret = dnnl_gemm_u8s8s32('N', 'N', 'F', s->M, s->N, s->K, 1.0f, au8,
					s->K, 0, b8, s->N, 0, 0.0f, c32, s->N, &co)
		      == dnnl_success ? 0 : -1;
		break;
	}
	case IMPL_AMN_ROWS:
	case IMPL_AMN_F32_ROWS:
		setenv("AMN_KERNEL_ROWS", "1", 1);
		t0 = now();
		ret = impl == IMPL_AMN_ROWS ?
		      tile_matmul_s8(a8, s->M, s->K, s->K, w8, c32, s->N, &o) :
		      tile_matmul_f32(af, s->M, s->K, s->K, wf, NULL, cf, s->N, &o);
		t1 = now();
		unsetenv("AMN_KERNEL_ROWS");
		return ret ? -1.0 : t1 - t0;
	case IMPL_OPENBLAS:
		cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, s->M, s->N,
			    s->K, 1.0f, af, s->K, bf, s->N, 0.0f, cf, s->N);
		break;
	}
	return ret ? -1.0 : now() - t0;
}

static int run_shape(const struct shape *s, int reps, int rounds, int threads,
		     double gops[NIMPL])
{
	size_t na = (size_t)s->M * s->K, nb = (size_t)s->K * s->N, nc = (size_t)s->M * s->N;
	int8_t *a8 = malloc(na), *b8 = malloc(nb);
	uint8_t *au8 = malloc(na);
	float *af = malloc(na * 4), *bf = malloc(nb * 4), *cf = malloc(nc * 4);
	int32_t *c32 = malloc(nc * 4);
	struct tile_weights *w8 = NULL, *wf = NULL;
	int ret = -1;

	if (!a8 || !b8 || !au8 || !af || !bf || !cf || !c32)
		goto out;
	for (size_t i = 0; i < na; i++) {
		a8[i] = (int8_t)(rand() % 255 - 127);
		au8[i] = (uint8_t)(a8[i] + 128);
		af[i] = a8[i] / 64.0f;
	}
	for (size_t i = 0; i < nb; i++) {
		b8[i] = (int8_t)(rand() % 255 - 127);
		bf[i] = b8[i] / 64.0f;
	}
	if (tile_weights_pack_s8(&w8, b8, s->K, s->N, s->N, TILE_W_ROW_MAJOR_KN) ||
	    tile_weights_pack_f32(&wf, bf, s->K, s->N, s->N, TILE_W_ROW_MAJOR_KN))
		goto out;
	ret = 0;
	for (int i = 0; i < NIMPL; i++)
		gops[i] = 1e30;
	for (int round = 0; round < rounds && !ret; round++)
		for (int k = 0; k < NIMPL && !ret; k++) {
			struct timespec idle = { 0, 200 * 1000 * 1000 };
			int i = round & 1 ? NIMPL - 1 - k : k;

			if (i >= IMPL_AMN_ROWS && !few_rows(s))
				continue;
			nanosleep(&idle, NULL);
			for (int r = 0; r < reps + 1 && !ret; r++) {   /* call 0 warms up */
				double t = time_impl(i, s, threads, a8, au8, af, b8, bf, w8, wf,
						     c32, cf);

				if (t < 0)
					ret = -1;
				else if (r > 0 && t < gops[i])
					gops[i] = t;
			}
		}
	for (int i = 0; i < NIMPL; i++)
		gops[i] = 2.0 * s->M * s->K * s->N / gops[i] * 1e-9;
	if (!few_rows(s)) {
		gops[IMPL_AMN_ROWS] = gops[IMPL_AMN];
		gops[IMPL_AMN_F32_ROWS] = gops[IMPL_AMN_F32];
	}
out:
	tile_weights_free(w8);
	tile_weights_free(wf);
	free(a8);
	free(b8);
	free(au8);
	free(af);
	free(bf);
	free(cf);
	free(c32);
	return ret;
}

int bench_gemm(int argc, char **argv)
{
	const struct shape *set = shapes;
	size_t nset = sizeof(shapes) / sizeof(shapes[0]);
	int threads = amn_threads_default(), reps = 3, rounds = 3, json = 0, nenc = 0;
	double lg[NIMPL] = { 0 };

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--threads") && i + 1 < argc)
			threads = atoi(argv[++i]);
		else if (!strcmp(argv[i], "--reps") && i + 1 < argc)
			reps = atoi(argv[++i]);
		else if (!strcmp(argv[i], "--rounds") && i + 1 < argc)
			rounds = atoi(argv[++i]);
		else if (!strcmp(argv[i], "--json"))
			json = 1;
		else if (!strcmp(argv[i], "--decoder")) {
			set = dec_shapes;
			nset = sizeof(dec_shapes) / sizeof(dec_shapes[0]);
		} else {
			fprintf(stderr, "usage: npubench gemm [--threads N] [--json] [--reps R] "
				"[--rounds N] [--decoder]\n"
				"  --threads: default $AMN_THREADS, else the CPUs it may use\n");
			return 2;
		}
	}
	if (threads < 1 || reps < 1 || rounds < 1) {
		fprintf(stderr, "npubench gemm: --threads, --reps and --rounds must be >= 1\n");
		return 2;
	}
	set_omp_threads(threads);
	openblas_set_num_threads(threads);
	if (!json)
		printf("%-18s %8s %8s %8s %8s %8s %8s %8s %8s %8s\n", "shape M×K×N", "amn",
		       "amn_f32", "onednn", "openblas", "amn/dnn", "amn/blas", "amn_rows",
		       "f32_rows", "rows/amn");
	for (size_t i = 0; i < nset; i++) {
		const struct shape *s = &set[i];
		double g[NIMPL];

		if (run_shape(s, reps, rounds, threads, g)) {
			fprintf(stderr, "npubench gemm: %d×%d×%d failed\n", s->M, s->K, s->N);
			return 1;
		}
		if (s->M == 1500) {
			nenc++;
			for (int j = 0; j < NIMPL; j++)
				lg[j] += log(g[j]);
		}
		if (json) {
			for (int j = 0; j < NIMPL; j++)
				if (j < IMPL_AMN_ROWS || few_rows(s))
					printf("{\"bench\":\"gemm\",\"M\":%d,\"K\":%d,\"N\":%d,\"threads\":%d,"
				       "\"impl\":\"%s\",\"gops\":%.2f}\n", s->M, s->K, s->N,
				       threads, impl_names[j], g[j]);
		} else {
			char name[32];

			snprintf(name, sizeof(name), "%d×%d×%d", s->M, s->K, s->N);
			printf("%-18s %8.1f %8.1f %8.1f %8.1f %8.2f %8.2f %8.1f %8.1f %8.2f\n",
			       name, g[0], g[1], g[2], g[3], g[0] / g[2], g[0] / g[3],
			       g[IMPL_AMN_ROWS], g[IMPL_AMN_F32_ROWS], g[IMPL_AMN_ROWS] / g[0]);
		}
		fflush(stdout);
	}
	if (!json && nenc) {
		double gm[NIMPL];

		for (int j = 0; j < NIMPL; j++)
			gm[j] = exp(lg[j] / nenc);
		printf("%-18s %8.1f %8.1f %8.1f %8.1f %8.2f %8.2f\n", "geomean M=1500",
		       gm[0], gm[1], gm[2], gm[3], gm[0] / gm[2], gm[0] / gm[3]);
	}
	return 0;
}
