/* SPDX-License-Identifier: MIT */
/*
 * tiler/tile_matmul.c - direct matmuls: split C into tile jobs and run them.
 *
 * A job is one row block (<= tile edge rows) by one column chunk of C. It
 * builds its A panel once (int8 copy or per-row quantization, K padded to 4
 * with zeros), runs the CPU kernel on each tile-edge-wide column block over
 * the full K in int32, then writes C (exact int32, or dequantized fp32).
 * Jobs are shared out by the default tile_pool (or, for more threads than
 * it has, threads started for the call); each worker has its own scratch.
 */
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "kernels/cpu/kern.h"
#include "tiler/tile.h"
#include "tiler/tile_internal.h"
#include "tiler/tile_pool.h"

#define CHUNK_COLS 512

struct mm {
	const void *a;
	int is_f32;
	int M, K;
	size_t lda;
	const struct tile_weights *w;
	const float *bias;
	void *c;
	size_t ldc;
	int edge, chunk, nrb, ncb;
	kern_s8_fn *kern;
	atomic_int next;
};

static int pick_threads(const struct tile_opts *o)
{
	const char *env = getenv("AMN_THREADS");
	long n = 0;

	if (o && o->threads > 0)
		return o->threads;
	if (env && *env)
		n = strtol(env, NULL, 10);
	if (n <= 0)
		n = sysconf(_SC_NPROCESSORS_ONLN);
	return n > 0 ? (int)(n > 256 ? 256 : n) : 1;
}

static void build_panel(const struct mm *p, int m0, int rows, int8_t *panel,
			int32_t *rowsum, float *sa)
{
	int kp = p->w->kp;

	for (int r = 0; r < rows; r++) {
		int8_t *dst = panel + (size_t)r * kp;
		int32_t s = 0;

		if (p->is_f32) {
			const float *src = (const float *)p->a + (size_t)(m0 + r) * p->lda;
			float mx = 0.0f, inv;

			for (int k = 0; k < p->K; k++)
				mx = fabsf(src[k]) > mx ? fabsf(src[k]) : mx;
			sa[r] = mx / 127.0f;
			inv = mx > 0.0f ? 127.0f / mx : 0.0f;
			for (int k = 0; k < p->K; k++)
				dst[k] = (int8_t)lrintf(src[k] * inv);
		} else {
			memcpy(dst, (const int8_t *)p->a + (size_t)(m0 + r) * p->lda, p->K);
		}
		memset(dst + p->K, 0, kp - p->K);
		for (int k = 0; k < p->K; k++)
			s += dst[k];
		rowsum[r] = s;
	}
}

static void run_job(struct mm *p, int job, int8_t *panel, int32_t *rowsum,
		    float *sa, int32_t *tmp)
{
	const struct tile_weights *w = p->w;
	int m0 = (job / p->ncb) * p->edge, n0 = (job % p->ncb) * p->chunk;
	int rows = p->M - m0 < p->edge ? p->M - m0 : p->edge;
	int cols = w->N - n0 < p->chunk ? w->N - n0 : p->chunk;

	build_panel(p, m0, rows, panel, rowsum, sa);
	for (int n = 0; n < cols; n += p->edge) {
		int cw = cols - n < p->edge ? cols - n : p->edge;

		p->kern(panel, w->kp, rowsum, rows, w->kp, w->b + (size_t)(n0 + n) * 4,
			w->ldb, cw, tmp + n, p->chunk);
	}
	for (int r = 0; r < rows; r++) {
		const int32_t *t = tmp + (size_t)r * p->chunk;

		if (!p->is_f32) {
			memcpy((int32_t *)p->c + (size_t)(m0 + r) * p->ldc + n0, t,
			       (size_t)cols * sizeof(int32_t));
			continue;
		}
		float *dst = (float *)p->c + (size_t)(m0 + r) * p->ldc + n0;
		const float *sb = w->sb + n0;

		for (int n = 0; n < cols; n++)
			dst[n] = (float)t[n] * sa[r] * sb[n] + (p->bias ? p->bias[n0 + n] : 0.0f);
	}
}

struct scratch {
	int8_t *panel;
	int32_t *rowsum;
	int32_t *tmp;
	float *sa;
};

struct call {
	struct mm *p;
	struct scratch *s;
};

static void job_fn(void *arg, int job, int worker)
{
	struct call *c = arg;
	struct scratch *s = &c->s[worker];

	run_job(c->p, job, s->panel, s->rowsum, s->sa, s->tmp);
}

struct spawned {
	struct call *c;
	int id;
	pthread_t tid;
};

static void *spawned_main(void *arg)
{
	struct spawned *t = arg;
	int njobs = t->c->p->nrb * t->c->p->ncb, job;

	while ((job = atomic_fetch_add(&t->c->p->next, 1)) < njobs)
		job_fn(t->c, job, t->id);
	return NULL;
}

/* More threads asked for than the default pool has: start them for this call. */
static void run_spawned(struct call *c, int nthreads)
{
	struct spawned t[256];
	int started = 1;

	for (int i = 1; i < nthreads; i++) {
		t[i].c = c;
		t[i].id = i;
		if (pthread_create(&t[i].tid, NULL, spawned_main, &t[i]))
			break;
		started++;
	}
	t[0].c = c;
	t[0].id = 0;
	spawned_main(&t[0]);
	for (int i = 1; i < started; i++)
		pthread_join(t[i].tid, NULL);
}

static int run(struct mm *p, const struct tile_opts *o)
{
	struct tile_pool *pool;
	struct scratch *s;
	struct call c;
	int edge = o && o->tile_edge ? o->tile_edge : 64;
	int nthreads, njobs, ret = 0;

	if (edge != 16 && edge != 32 && edge != 64) {
		fprintf(stderr, "tile: tile edge %d is not 16, 32 or 64\n", edge);
		return -EINVAL;
	}
	if (p->M == 0 || p->w->N == 0)
		return 0;
	p->edge = edge;
	p->chunk = CHUNK_COLS;
	p->nrb = (p->M + edge - 1) / edge;
	p->ncb = (p->w->N + p->chunk - 1) / p->chunk;
	p->kern = kern_s8_select();
	atomic_init(&p->next, 0);
	njobs = p->nrb * p->ncb;
	nthreads = pick_threads(o);
	if (nthreads > njobs)
		nthreads = njobs;
	s = calloc(nthreads, sizeof(*s));
	if (!s)
		return -ENOMEM;
	for (int i = 0; i < nthreads; i++) {
		s[i].panel = malloc((size_t)edge * p->w->kp + 64);
		s[i].rowsum = malloc((size_t)edge * sizeof(int32_t));
		s[i].sa = malloc((size_t)edge * sizeof(float));
		s[i].tmp = malloc((size_t)edge * p->chunk * sizeof(int32_t));
		if (!s[i].panel || !s[i].rowsum || !s[i].sa || !s[i].tmp) {
			ret = -ENOMEM;
			goto out;
		}
	}
	c.p = p;
	c.s = s;
	pool = nthreads > 1 ? tile_pool_default() : NULL;
	if (nthreads == 1)
		for (int j = 0; j < njobs; j++)
			job_fn(&c, j, 0);
	else if (pool && nthreads <= tile_pool_threads(pool))
		tile_pool_for(pool, njobs, nthreads, job_fn, &c);
	else
		run_spawned(&c, nthreads);
out:
	for (int i = 0; i < nthreads; i++) {
		free(s[i].panel);
		free(s[i].rowsum);
		free(s[i].sa);
		free(s[i].tmp);
	}
	free(s);
	return ret;
}

static int check(const void *a, int M, int K, size_t lda,
		 const struct tile_weights *w, const void *c, size_t ldc)
{
	if (!w || M < 0 || K != w->K) {
		fprintf(stderr, "tile: matmul needs weights with K=%d (have %d), M=%d >= 0\n",
			K, w ? w->K : -1, M);
		return -EINVAL;
	}
	if (M && K && (!a || lda < (size_t)K)) {
		fprintf(stderr, "tile: NULL A or lda %zu < K %d\n", lda, K);
		return -EINVAL;
	}
	if (M && w->N && (!c || ldc < (size_t)w->N)) {
		fprintf(stderr, "tile: NULL C or ldc %zu < N %d\n", ldc, w->N);
		return -EINVAL;
	}
	return 0;
}

int tile_matmul_s8(const int8_t *a, int M, int K, size_t lda,
		   const struct tile_weights *w,
		   int32_t *c, size_t ldc, const struct tile_opts *opts)
{
	struct mm p = { .a = a, .M = M, .K = K, .lda = lda, .w = w, .c = c, .ldc = ldc };
	int ret = check(a, M, K, lda, w, c, ldc);

	return ret ? ret : run(&p, opts);
}

int tile_matmul_f32(const float *a, int M, int K, size_t lda,
		    const struct tile_weights *w, const float *bias,
		    float *c, size_t ldc, const struct tile_opts *opts)
{
	struct mm p = { .a = a, .is_f32 = 1, .M = M, .K = K, .lda = lda, .w = w,
			.bias = bias, .c = c, .ldc = ldc };
	int ret = check(a, M, K, lda, w, c, ldc);

	return ret ? ret : run(&p, opts);
}
