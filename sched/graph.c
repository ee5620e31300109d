/*
 * graph.c - the job-graph executor: node storage, dependency counting and
 * the worker loop of npu_graph_run().
 *
 * Each node keeps the list of its successors and, during a run, the number of
 * its unfinished dependencies. Nodes whose count drops to zero go on a ready
 * stack that the workers pop under one mutex; the work inside a node runs
 * without the lock. A CPU callback runs on the worker that popped it. A
 * matmul is submitted to the engine and not waited for: its node goes on
 * the in-flight list and the worker pops the next ready node, so every
 * ready matmul is queued at once, however few workers there are. A worker
 * that finds nothing ready becomes the reaper (one at a time): it waits for
 * the oldest matmul in flight, then completes every one that has finished
 * and releases their successors in one go. A device therefore sees the
 * whole ready front of the graph, not one matmul per blocked thread.
 */
#include "sched/graph.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/amn_threads.h"
#include "sched/npu.h"

#define GRAPH_MAX_THREADS 256   /* npu_graph_run() keeps their ids on its stack */

enum graph_kind { GRAPH_OP, GRAPH_MATMUL };

struct graph_matmul {
	const float *a;
	int M, K;
	size_t lda;
	const struct tile_weights *w;
	const float *bias;
	float *c;
	size_t ldc;
};

struct graph_node {
	enum graph_kind kind;
	npu_graph_fn fn;
	void *arg;
	struct graph_matmul mm;
	int ndeps;         /* edges in, duplicates counted */
	int pending;       /* unfinished deps during a run */
	bool ran;
	struct npu_matmul *h;  /* in flight during a run */
	int *succ;         /* owned */
	int nsucc, succ_cap;
};

struct npu_graph {
	struct npu_tenant *tenant;
	unsigned nthreads;
	struct graph_node *nodes;  /* owned */
	int n, cap;

	pthread_mutex_t lock;
	pthread_cond_t cond;
	int *ready;                /* owned, n entries during a run */
	int nready;
	int *flight;               /* owned, n entries: matmuls in flight, oldest first */
	int nflight;
	int busy;                  /* workers running a node, submitting or reaping */
	bool reaping;
	int completed;
	int err;
	bool running;
};

int npu_graph_new(struct npu_graph **out, struct npu_tenant *tenant, unsigned nthreads)
{
	struct npu_graph *g;

	if (!out || nthreads > GRAPH_MAX_THREADS)
		return -EINVAL;
	g = calloc(1, sizeof(*g));
	if (!g)
		return -ENOMEM;
	g->tenant = tenant;
	if (!nthreads) {
		int n = amn_threads_default();

		nthreads = n < GRAPH_MAX_THREADS ? (unsigned)n : GRAPH_MAX_THREADS;
	}
	g->nthreads = nthreads;
	if (pthread_mutex_init(&g->lock, NULL))
		goto err_free;
	if (pthread_cond_init(&g->cond, NULL))
		goto err_mutex;
	*out = g;
	return 0;

err_mutex:
	pthread_mutex_destroy(&g->lock);
err_free:
	free(g);
	return -ENOMEM;
}

static int graph_push_succ(struct graph_node *d, int id)
{
	if (d->nsucc == d->succ_cap) {
		int cap = d->succ_cap ? 2 * d->succ_cap : 4;
		int *s = realloc(d->succ, (size_t)cap * sizeof(*s));

		if (!s)
			return -ENOMEM;
		d->succ = s;
		d->succ_cap = cap;
	}
	d->succ[d->nsucc++] = id;
	return 0;
}

static int graph_add(struct npu_graph *g, const struct graph_node *proto,
		     const int *deps, int ndeps)
{
	struct graph_node *nd;
	int id, i, rc;

	if (ndeps < 0 || (ndeps > 0 && !deps))
		return -EINVAL;
	if (g->running)
		return -EBUSY;
	id = g->n;
	for (i = 0; i < ndeps; i++) {
		if (deps[i] < 0 || deps[i] >= id) {
			fprintf(stderr, "npu_graph: node %d: dependency %d is not an earlier node\n",
				id, deps[i]);
			return -EINVAL;
		}
	}
	if (g->n == g->cap) {
		int cap = g->cap ? 2 * g->cap : 16;
		struct graph_node *nn = realloc(g->nodes, (size_t)cap * sizeof(*nn));

		if (!nn)
			return -ENOMEM;
		g->nodes = nn;
		g->cap = cap;
	}
	for (i = 0; i < ndeps; i++) {
		rc = graph_push_succ(&g->nodes[deps[i]], id);
		if (rc)
			goto err_unwind;
	}
	nd = &g->nodes[id];
	*nd = *proto;
	nd->ndeps = ndeps;
	nd->pending = 0;
	nd->ran = false;
	nd->succ = NULL;
	nd->nsucc = nd->succ_cap = 0;
	g->n++;
	return id;

err_unwind:
	/* Edges are appended in order, so the ones added are the last of each list. */
	while (i-- > 0)
		g->nodes[deps[i]].nsucc--;
	return rc;
}

int npu_graph_add_op(struct npu_graph *g, npu_graph_fn fn, void *arg,
		     const int *deps, int ndeps)
{
	struct graph_node proto = { .kind = GRAPH_OP, .fn = fn, .arg = arg };

	if (!g || !fn)
		return -EINVAL;
	return graph_add(g, &proto, deps, ndeps);
}

int npu_graph_add_matmul(struct npu_graph *g, const float *a, int M, int K, size_t lda,
			 const struct tile_weights *w, const float *bias,
			 float *c, size_t ldc, const int *deps, int ndeps)
{
	struct graph_node proto = {
		.kind = GRAPH_MATMUL,
		.mm = { .a = a, .M = M, .K = K, .lda = lda, .w = w, .bias = bias,
			.c = c, .ldc = ldc },
	};

	if (!g || !a || !w || !c)
		return -EINVAL;
	if (!g->tenant) {
		fprintf(stderr, "npu_graph: matmul node in a graph without a tenant\n");
		return -EINVAL;
	}
	return graph_add(g, &proto, deps, ndeps);
}

static int graph_submit(struct npu_graph *g, struct graph_node *nd)
{
	const struct graph_matmul *m = &nd->mm;

	return npu_matmul_submit_f32(g->tenant, m->a, m->M, m->K, m->lda, m->w, m->bias,
				     m->c, m->ldc, NULL, &nd->h);
}

/* Node @id finished: count it and make its successors ready. Under the lock. */
static void graph_done(struct npu_graph *g, int id)
{
	g->completed++;
	for (int i = 0; i < g->nodes[id].nsucc; i++) {
		int s = g->nodes[id].succ[i];

		if (--g->nodes[s].pending == 0)
			g->ready[g->nready++] = s;
	}
}

static void graph_fail(struct npu_graph *g, int rc)
{
	if (!g->err)
		g->err = rc < 0 ? rc : -EIO;
}

/*
 * Wait for the oldest matmul in flight, then retire every finished one in
 * submission order. Called and returns with the lock held.
 */
static void graph_reap(struct npu_graph *g)
{
	struct npu_matmul *oldest = g->nodes[g->flight[0]].h;
	int kept = 0;

	g->reaping = true;
	g->busy++;
	pthread_mutex_unlock(&g->lock);
	npu_matmul_wait(oldest, -1);
	pthread_mutex_lock(&g->lock);
	for (int i = 0; i < g->nflight; i++) {
		int id = g->flight[i];
		struct graph_node *nd = &g->nodes[id];
		int rc;

		if (!npu_matmul_poll(nd->h)) {
			g->flight[kept++] = id;
			continue;
		}
		rc = npu_matmul_wait(nd->h, 0);
		npu_matmul_free(nd->h);
		nd->h = NULL;
		if (rc)
			graph_fail(g, rc);
		else
			graph_done(g, id);
	}
	g->nflight = kept;
	g->reaping = false;
	g->busy--;
}

/*
 * Workers pop ready nodes until the graph is complete, or, after an error,
 * until nothing they started is still running.
 */
static void *graph_worker(void *arg)
{
	struct npu_graph *g = arg;

	pthread_mutex_lock(&g->lock);
	for (;;) {
		if (g->nready && !g->err) {
			int id = g->ready[--g->nready], rc;
			struct graph_node *nd = &g->nodes[id];

			nd->ran = true;
			g->busy++;
			pthread_mutex_unlock(&g->lock);
			rc = nd->kind == GRAPH_OP ? nd->fn(nd->arg) : graph_submit(g, nd);
			pthread_mutex_lock(&g->lock);
			g->busy--;
			if (rc)
				graph_fail(g, rc);
			else if (nd->kind == GRAPH_OP)
				graph_done(g, id);
			else
				g->flight[g->nflight++] = id;
			pthread_cond_broadcast(&g->cond);
			continue;
		}
		if (g->nflight && !g->reaping) {
			graph_reap(g);
			pthread_cond_broadcast(&g->cond);
			continue;
		}
		if (g->completed == g->n || (g->err && !g->nflight && !g->busy))
			break;
		pthread_cond_wait(&g->cond, &g->lock);
	}
	pthread_cond_broadcast(&g->cond);
	pthread_mutex_unlock(&g->lock);
	return NULL;
}

int npu_graph_run(struct npu_graph *g)
{
	pthread_t tids[GRAPH_MAX_THREADS];
	unsigned nspawn, t;
	int i, rc;

	if (!g)
		return -EINVAL;
	if (g->running)
		return -EBUSY;
	if (g->n == 0)
		return 0;
	g->ready = malloc((size_t)g->n * sizeof(*g->ready));
	g->flight = malloc((size_t)g->n * sizeof(*g->flight));
	if (!g->ready || !g->flight) {
		free(g->ready);
		free(g->flight);
		g->ready = g->flight = NULL;
		return -ENOMEM;
	}
	g->nready = 0;
	g->nflight = 0;
	g->busy = 0;
	g->reaping = false;
	g->completed = 0;
	g->err = 0;
	for (i = 0; i < g->n; i++) {
		g->nodes[i].pending = g->nodes[i].ndeps;
		g->nodes[i].ran = false;
		g->nodes[i].h = NULL;
	}
	/* Push roots last-first so that the stack pops them in id order. */
	for (i = g->n - 1; i >= 0; i--)
		if (g->nodes[i].pending == 0)
			g->ready[g->nready++] = i;
	g->running = true;

	nspawn = g->nthreads - 1;
	if ((unsigned)g->n < g->nthreads)
		nspawn = (unsigned)g->n - 1;
	/*
	 * Workers wait for the lock until all of them exist: the roots are
	 * then submitted in one burst, not one at a time as threads start
	 * (a device that finds one job queued runs it alone, and may finish
	 * it before the next thread has started).
	 */
	pthread_mutex_lock(&g->lock);
	for (t = 0; t < nspawn; t++) {
		rc = pthread_create(&tids[t], NULL, graph_worker, g);
		if (rc) {
			g->err = -rc;
			pthread_cond_broadcast(&g->cond);
			break;
		}
	}
	pthread_mutex_unlock(&g->lock);
	graph_worker(g);
	while (t-- > 0)
		pthread_join(tids[t], NULL);

	g->running = false;
	free(g->ready);
	free(g->flight);
	g->ready = g->flight = NULL;
	return g->err;
}

int npu_graph_nodes(const struct npu_graph *g)
{
	return g ? g->n : -EINVAL;
}

int npu_graph_ran(const struct npu_graph *g, int id)
{
	if (!g || id < 0 || id >= g->n)
		return -EINVAL;
	return g->nodes[id].ran;
}

void npu_graph_free(struct npu_graph *g)
{
	int i;

	if (!g)
		return;
	for (i = 0; i < g->n; i++)
		free(g->nodes[i].succ);
	free(g->nodes);
	pthread_cond_destroy(&g->cond);
	pthread_mutex_destroy(&g->lock);
	free(g);
}
