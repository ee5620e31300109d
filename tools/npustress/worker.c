/*
 * worker.c - one npustress thread: random shapes, int8 or fp32, submitted
 * through its tenant and checked against a plain reference.
 *
 * Output buffers are pre-filled with a sentinel one past each row, so a
 * lost tile (never written) or a write past the matrix shows up as a
 * mismatch or a "lost"/"doubled" count rather than going unnoticed.
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sched/npu.h"
#include "tiler/tile.h"
#include "tools/npustress/npustress.h"

#define SENTINEL_I32 0x5a5a5a5a

static uint64_t rng_next(uint64_t *s)
{
	/* xorshift64*: enough for shapes and data. */
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 2685821657736338717ull;
}

/* Log-uniform in [1, max], so tiny shapes are common and large ones occur. */
static int rng_dim(uint64_t *s, int max)
{
	double u = (double)(rng_next(s) >> 11) / 9007199254740992.0;
	int v = (int)exp(u * log((double)max + 1.0));

	return v < 1 ? 1 : v > max ? max : v;
}

static double now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

static int lat_push(struct stress_thread *t, double us)
{
	if (t->jobs == t->lat_cap) {
		long cap = t->lat_cap ? 2 * t->lat_cap : 1024;
		double *l = realloc(t->lat_us, (size_t)cap * sizeof(*l));

		if (!l)
			return -ENOMEM;
		t->lat_us = l;
		t->lat_cap = cap;
	}
	t->lat_us[t->jobs] = us;
	return 0;
}

/* int8: the engine's result must equal the exact int32 product. */
static int run_s8(struct stress_thread *t, int M, int K, int N, double *us)
{
	int8_t *a = malloc((size_t)M * K), *b = malloc((size_t)K * N);
	int32_t *c = malloc(((size_t)M * N + 1) * sizeof(*c));
	struct tile_weights *w = NULL;
	int i, j, k, rc = -ENOMEM;
	double t0;

	if (!a || !b || !c)
		goto out;
	for (i = 0; i < M * K; i++)
		a[i] = (int8_t)(rng_next(&t->seed) % 255 - 127);
	for (i = 0; i < K * N; i++)
		b[i] = (int8_t)(rng_next(&t->seed) % 255 - 127);
	for (i = 0; i <= M * N; i++)
		c[i] = SENTINEL_I32;
	rc = tile_weights_pack_s8(&w, b, K, N, N, TILE_W_ROW_MAJOR_KN);
	if (rc)
		goto out;
	t0 = now_us();
	rc = npu_matmul_s8(t->tenant, a, M, K, K, w, c, N);
	*us = now_us() - t0;
	if (rc) {
		t->errors++;
		goto out;
	}
	if (c[M * N] != SENTINEL_I32)
		t->doubled++;  /* written past the end */
	for (i = 0; i < M; i++)
		for (j = 0; j < N; j++) {
			int32_t ref = 0;

			for (k = 0; k < K; k++)
				ref += (int32_t)a[i * K + k] * b[k * N + j];
			if (c[i * N + j] != ref) {
				if (c[i * N + j] == SENTINEL_I32)
					t->lost++;
				else
					t->mismatches++;
				goto out;
			}
		}
out:
	tile_weights_free(w);
	free(a);
	free(b);
	free(c);
	return rc;
}

/*
 * fp32: inputs in [-1, 1]; the engine quantizes to int8, so compare against
 * the fp32 product within a bound on the quantization error.
 */
static int run_f32(struct stress_thread *t, int M, int K, int N, double *us)
{
	float *a = malloc((size_t)M * K * sizeof(*a)), *b = malloc((size_t)K * N * sizeof(*b));
	float *c = malloc(((size_t)M * N + 1) * sizeof(*c));
	struct tile_weights *w = NULL;
	double tol = 4.0 * sqrt((double)K) / 127.0 + 1e-3;
	int i, j, k, rc = -ENOMEM;
	double t0;

	if (!a || !b || !c)
		goto out;
	for (i = 0; i < M * K; i++)
		a[i] = (float)((double)(rng_next(&t->seed) >> 11) / 4503599627370496.0 - 1.0);
	for (i = 0; i < K * N; i++)
		b[i] = (float)((double)(rng_next(&t->seed) >> 11) / 4503599627370496.0 - 1.0);
	for (i = 0; i <= M * N; i++)
		c[i] = NAN;
	rc = tile_weights_pack_f32(&w, b, K, N, N, TILE_W_ROW_MAJOR_KN);
	if (rc)
		goto out;
	t0 = now_us();
	rc = npu_matmul_f32(t->tenant, a, M, K, K, w, NULL, c, N);
	*us = now_us() - t0;
	if (rc) {
		t->errors++;
		goto out;
	}
	if (!isnan(c[M * N]))
		t->doubled++;
	for (i = 0; i < M; i++)
		for (j = 0; j < N; j++) {
			double ref = 0;

			for (k = 0; k < K; k++)
				ref += (double)a[i * K + k] * b[k * N + j];
			if (isnan(c[i * N + j])) {
				t->lost++;
				goto out;
			}
			if (fabs(c[i * N + j] - ref) > tol) {
				t->mismatches++;
				goto out;
			}
		}
out:
	tile_weights_free(w);
	free(a);
	free(b);
	free(c);
	return rc;
}

void *stress_worker(void *arg)
{
	struct stress_thread *t = arg;
	const struct stress_opts *o = t->o;
	int M, K, N, rc;
	double us;

	while (!atomic_load_explicit(t->stop, memory_order_relaxed)) {
		if (o->count && t->jobs >= o->count)
			break;
		M = rng_dim(&t->seed, o->max_m);
		K = rng_dim(&t->seed, o->max_k);
		N = rng_dim(&t->seed, o->max_n);
		us = 0;
		if (rng_next(&t->seed) & 1)
			rc = run_s8(t, M, K, N, &us);
		else
			rc = run_f32(t, M, K, N, &us);
		if (rc == -ENOMEM)
			break;
		if (lat_push(t, us))
			break;
		t->jobs++;
		t->ops += 2.0 * M * K * N;
		atomic_fetch_add_explicit(t->done_total, 1, memory_order_relaxed);
	}
	t->end_s = now_us() / 1e6;
	return NULL;
}
