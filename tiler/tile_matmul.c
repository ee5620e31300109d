/* SPDX-License-Identifier: MIT */
/*
 * tiler/tile_matmul.c - direct matmuls: split C into tile jobs and run them.
 *
 * A job is one row block (<= tile edge rows) by one column chunk of C (all
 * of N when there are enough row blocks for the threads, else 512). Its
 * worker builds the A panel for the row block (int8 rows used in place when
 * K is a multiple of 4, else copied and zero padded; fp32 rows quantized per
 * K block by the vector quantizer), keeps it for the next job of the same
 * row block, and runs the CPU kernel on each tile-edge-wide column block,
 * which writes C directly: exact int32, or fp32 dequantized in the kernel's
 * epilogue (bias included). Matmuls of 2..KERN_ROWS_MAX rows (stacked
 * decoder calls, beams) get the few-rows kernels, which stream each weight
 * panel once for up to 16 rows. Jobs are shared out by the default tile_pool
 * (or, for more threads than it has, threads started for the call); each
 * worker has its own scratch.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "common/amn_threads.h"
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
	kern_f32_fn *kern_f32;
	kern_quant_fn *quant;
	atomic_int next;
};

struct scratch {
	int8_t *panel;
	int32_t *rowsum;   /* edge × nkb */
	float *sa;         /* edge × nkb */
	const int8_t *a;   /* the panel in use (scratch or A itself) */
	size_t lda;
	int m0;            /* row block the panel holds, or -1 */
};

/*
 * @o->threads, else the library's default; at most TILE_POOL_MAX_THREADS,
 * which also bounds the threads run_spawned() keeps on its stack.
 */
static int pick_threads(const struct tile_opts *o)
{
	int n = o && o->threads > 0 ? o->threads : amn_threads_default();

	return n < TILE_POOL_MAX_THREADS ? n : TILE_POOL_MAX_THREADS;
}

static void build_panel(const struct mm *p, int m0, int rows, struct scratch *s)
{
	const struct tile_weights *w = p->w;
	int kp = w->kp;

	s->m0 = m0;
	if (p->is_f32) {
		for (int r = 0; r < rows; r++)
			p->quant((const float *)p->a + (size_t)(m0 + r) * p->lda, p->K, kp,
				 w->kb, s->panel + (size_t)r * kp, s->sa + (size_t)r * w->nkb,
				 s->rowsum + (size_t)r * w->nkb);
		s->a = s->panel;
		s->lda = kp;
		return;
	}
	if (kp == p->K) {   /* int8 rows need no padding: use them in place */
		s->a = (const int8_t *)p->a + (size_t)m0 * p->lda;
		s->lda = p->lda;
	} else {
		for (int r = 0; r < rows; r++) {
			int8_t *dst = s->panel + (size_t)r * kp;

			memcpy(dst, (const int8_t *)p->a + (size_t)(m0 + r) * p->lda, p->K);
			memset(dst + p->K, 0, kp - p->K);
		}
		s->a = s->panel;
		s->lda = kp;
	}
	for (int r = 0; r < rows; r++) {
		const int8_t *src = s->a + (size_t)r * s->lda;
		int32_t sum = 0;

		for (int k = 0; k < p->K; k++)
			sum += src[k];
		s->rowsum[r] = sum;
	}
}

static void run_job(struct mm *p, int job, struct scratch *s)
{
	const struct tile_weights *w = p->w;
	int m0 = (job / p->ncb) * p->edge, n0 = (job % p->ncb) * p->chunk;
	int rows = p->M - m0 < p->edge ? p->M - m0 : p->edge;
	int cols = w->N - n0 < p->chunk ? w->N - n0 : p->chunk;

	if (s->m0 != m0)
		build_panel(p, m0, rows, s);
	for (int n = n0; n < n0 + cols; n += p->edge) {
		int cw = n0 + cols - n < p->edge ? n0 + cols - n : p->edge;

		if (p->is_f32)
			p->kern_f32(s->a, s->lda, s->rowsum, s->sa, rows, w->kp, w->kb,
				    tile_wcol(w, n), w->ldb, w->sb + n, w->np,
				    p->bias ? p->bias + n : NULL, cw,
				    (float *)p->c + (size_t)m0 * p->ldc + n, p->ldc);
		else
			p->kern(s->a, s->lda, s->rowsum, rows, w->kp, tile_wcol(w, n),
				w->ldb, cw, (int32_t *)p->c + (size_t)m0 * p->ldc + n, p->ldc);
	}
}

struct call {
	struct mm *p;
	struct scratch *s;
};

static void job_fn(void *arg, int job, int worker)
{
	struct call *c = arg;

	run_job(c->p, job, &c->s[worker]);
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
	struct spawned t[TILE_POOL_MAX_THREADS];
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
	nthreads = pick_threads(o);
	p->edge = edge;
	p->nrb = (p->M + edge - 1) / edge;
	/*
	 * Enough row blocks to keep every thread busy: a job takes all of N, so
	 * each A row block is read (and quantized) once. Otherwise split the
	 * columns too, for the threads' sake (decoder calls have one row).
	 */
	p->chunk = p->nrb >= 4 * nthreads && p->w->N > CHUNK_COLS ?
		   (p->w->N + TILE_PANEL - 1) / TILE_PANEL * TILE_PANEL : CHUNK_COLS;
	p->ncb = (p->w->N + p->chunk - 1) / p->chunk;
	/*
	 * Too few jobs for the threads (few rows and N <= 512, e.g. a decoder
	 * 1536 -> 384 projection was one job on one thread): narrower chunks,
	 * still whole panels, two jobs per thread. Each job builds its own
	 * small A panel; the results do not depend on the chunking.
	 */
	if (nthreads > 1 && p->nrb * p->ncb < 2 * nthreads) {
		int per_rb = (2 * nthreads + p->nrb - 1) / p->nrb;
		int want = (p->w->N + per_rb - 1) / per_rb;

		want = (want + TILE_PANEL - 1) / TILE_PANEL * TILE_PANEL;
		if (want < p->chunk) {
			p->chunk = want;
			p->ncb = (p->w->N + p->chunk - 1) / p->chunk;
		}
	}
	p->kern = kern_s8_select_rows(p->M);
	p->kern_f32 = kern_f32_select_rows(p->M);
	p->quant = kern_quant_select();
	atomic_init(&p->next, 0);
	njobs = p->nrb * p->ncb;
	if (nthreads > njobs)
		nthreads = njobs;
	s = calloc(nthreads, sizeof(*s));
	if (!s)
		return -ENOMEM;
	for (int i = 0; i < nthreads; i++) {
		size_t nkb = p->w->nkb ? p->w->nkb : 1;
		size_t prows = p->M < edge ? p->M : edge;   /* a job's rows at most */

		s[i].m0 = -1;
		s[i].panel = aligned_alloc(64, (prows * p->w->kp + 127) & ~(size_t)63);
		s[i].rowsum = malloc(prows * nkb * sizeof(int32_t));
		s[i].sa = malloc(prows * nkb * sizeof(float));
		if (!s[i].panel || !s[i].rowsum || !s[i].sa) {
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
