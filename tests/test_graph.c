/*
 * test_graph.c - the job-graph executor: ordering on random DAGs, a diamond,
 * error cancellation, concurrent graphs, and matmul nodes through the engine.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "sched/graph.h"
#include "sched/npu.h"
#include "tiler/tile.h"

static int scale_small(void)
{
	const char *s = getenv("AMN_TEST_SCALE");

	return s && !strcmp(s, "small");
}

/* One node of a test DAG: records when it started and finished on a shared clock. */
struct tnode {
	atomic_long *clock;
	atomic_int runs;
	long start, end;
	int fail;          /* returned by the node */
};

static int tnode_fn(void *arg)
{
	struct tnode *n = arg;

	atomic_fetch_add(&n->runs, 1);
	n->start = atomic_fetch_add(n->clock, 1);
	n->end = atomic_fetch_add(n->clock, 1);
	return n->fail;
}

struct dag {
	int n;
	struct tnode *nodes;
	int **deps;
	int *ndeps;
};

static void dag_random(struct dag *d, int n, unsigned seed, atomic_long *clock)
{
	int i, j;

	d->n = n;
	d->nodes = calloc((size_t)n, sizeof(*d->nodes));
	d->deps = calloc((size_t)n, sizeof(*d->deps));
	d->ndeps = calloc((size_t)n, sizeof(*d->ndeps));
	cr_assert(d->nodes && d->deps && d->ndeps);
	for (i = 0; i < n; i++) {
		d->nodes[i].clock = clock;
		d->deps[i] = calloc(8, sizeof(int));
		cr_assert(d->deps[i]);
		for (j = 0; i > 0 && j < (int)(rand_r(&seed) % 5); j++)
			d->deps[i][d->ndeps[i]++] = (int)(rand_r(&seed) % (unsigned)i);
	}
}

static void dag_build(struct dag *d, struct npu_graph *g)
{
	int i;

	for (i = 0; i < d->n; i++)
		cr_assert_eq(npu_graph_add_op(g, tnode_fn, &d->nodes[i], d->deps[i],
					      d->ndeps[i]), i);
}

/* Every node ran exactly @runs times, each after all its deps finished. */
static void dag_check(const struct dag *d, int runs)
{
	int i, j;

	for (i = 0; i < d->n; i++) {
		cr_assert_eq(atomic_load(&d->nodes[i].runs), runs, "node %d ran %d times",
			     i, atomic_load(&d->nodes[i].runs));
		for (j = 0; j < d->ndeps[i]; j++)
			cr_assert_lt(d->nodes[d->deps[i][j]].end, d->nodes[i].start,
				     "node %d started before dep %d ended", i, d->deps[i][j]);
	}
}

static void dag_free(struct dag *d)
{
	int i;

	for (i = 0; i < d->n; i++)
		free(d->deps[i]);
	free(d->deps);
	free(d->ndeps);
	free(d->nodes);
}

Test(graph, random_dags_run_each_node_once_after_its_deps)
{
	int trials = scale_small() ? 10 : 100, t;

	for (t = 0; t < trials; t++) {
		atomic_long clock = 0;
		struct npu_graph *g;
		struct dag d;

		dag_random(&d, 1 + t * 3 % 200, (unsigned)t + 1, &clock);
		cr_assert_eq(npu_graph_new(&g, NULL, 1 + (unsigned)t % 4), 0);
		dag_build(&d, g);
		cr_assert_eq(npu_graph_nodes(g), d.n);
		cr_assert_eq(npu_graph_run(g), 0);
		dag_check(&d, 1);
		cr_assert_eq(npu_graph_run(g), 0);  /* runs again */
		dag_check(&d, 2);
		npu_graph_free(g);
		dag_free(&d);
	}
}

Test(graph, diamond)
{
	atomic_long clock = 0;
	struct tnode n[4] = { { .clock = &clock }, { .clock = &clock },
			      { .clock = &clock }, { .clock = &clock } };
	struct npu_graph *g;
	int a, b, c, dd;

	cr_assert_eq(npu_graph_new(&g, NULL, 3), 0);
	a = npu_graph_add_op(g, tnode_fn, &n[0], NULL, 0);
	b = npu_graph_add_op(g, tnode_fn, &n[1], &a, 1);
	c = npu_graph_add_op(g, tnode_fn, &n[2], &a, 1);
	dd = npu_graph_add_op(g, tnode_fn, &n[3], (int[]){ b, c }, 2);
	cr_assert_eq(dd, 3);
	cr_assert_eq(npu_graph_run(g), 0);
	cr_assert_lt(n[0].end, n[1].start);
	cr_assert_lt(n[0].end, n[2].start);
	cr_assert_lt(n[1].end, n[3].start);
	cr_assert_lt(n[2].end, n[3].start);
	cr_assert_eq(atomic_load(&n[3].runs), 1);
	npu_graph_free(g);
}

Test(graph, error_cancels_successors_and_is_returned)
{
	atomic_long clock = 0;
	struct tnode n[3] = { { .clock = &clock, .fail = -EIO }, { .clock = &clock },
			      { .clock = &clock } };
	struct npu_graph *g;
	int a, b;

	cr_assert_eq(npu_graph_new(&g, NULL, 2), 0);
	a = npu_graph_add_op(g, tnode_fn, &n[0], NULL, 0);
	b = npu_graph_add_op(g, tnode_fn, &n[1], &a, 1);
	cr_assert_eq(npu_graph_add_op(g, tnode_fn, &n[2], &b, 1), 2);
	cr_assert_eq(npu_graph_run(g), -EIO);
	cr_assert_eq(npu_graph_ran(g, a), 1);
	cr_assert_eq(npu_graph_ran(g, b), 0);
	cr_assert_eq(npu_graph_ran(g, 2), 0);
	cr_assert_eq(atomic_load(&n[1].runs), 0);
	cr_assert_eq(atomic_load(&n[2].runs), 0);
	n[0].fail = 0;
	cr_assert_eq(npu_graph_run(g), 0);  /* recovers on a rerun */
	cr_assert_eq(atomic_load(&n[2].runs), 1);
	npu_graph_free(g);
}

Test(graph, bad_arguments)
{
	struct npu_graph *g;
	int dep = 5;

	cr_assert_eq(npu_graph_new(NULL, NULL, 1), -EINVAL);
	cr_assert_eq(npu_graph_new(&g, NULL, 100000), -EINVAL);
	cr_assert_eq(npu_graph_new(&g, NULL, 0), 0);
	cr_assert_eq(npu_graph_add_op(g, NULL, NULL, NULL, 0), -EINVAL);
	cr_assert_eq(npu_graph_add_op(g, tnode_fn, NULL, &dep, 1), -EINVAL);
	cr_assert_eq(npu_graph_add_op(g, tnode_fn, NULL, NULL, 1), -EINVAL);
	dep = 0;
	cr_assert_eq(npu_graph_add_op(g, tnode_fn, NULL, &dep, 1), -EINVAL); /* self */
	cr_assert_eq(npu_graph_add_matmul(g, (float[1]){ 0 }, 1, 1, 1,
					  (const struct tile_weights *)&dep, NULL,
					  (float[1]){ 0 }, 1, NULL, 0), -EINVAL);
	cr_assert_eq(npu_graph_nodes(g), 0);
	cr_assert_eq(npu_graph_ran(g, 0), -EINVAL);
	cr_assert_eq(npu_graph_run(g), 0);  /* empty graph */
	npu_graph_free(g);
	npu_graph_free(NULL);
}

struct conc_arg {
	unsigned seed;
	int ok;
};

static void *conc_thread(void *p)
{
	struct conc_arg *ca = p;
	atomic_long clock = 0;
	struct npu_graph *g;
	struct dag d;

	dag_random(&d, 150, ca->seed, &clock);
	if (npu_graph_new(&g, NULL, 3))
		return NULL;
	dag_build(&d, g);
	ca->ok = npu_graph_run(g) == 0;
	dag_check(&d, 1);
	npu_graph_free(g);
	dag_free(&d);
	return NULL;
}

Test(graph, concurrent_graphs)
{
	struct conc_arg ca[4];
	pthread_t th[4];
	int i;

	for (i = 0; i < 4; i++) {
		ca[i] = (struct conc_arg){ .seed = 100u + (unsigned)i };
		cr_assert_eq(pthread_create(&th[i], NULL, conc_thread, &ca[i]), 0);
	}
	for (i = 0; i < 4; i++) {
		pthread_join(th[i], NULL);
		cr_assert(ca[i].ok, "graph %d failed", i);
	}
}

static float lcg_f(unsigned *s)
{
	*s = *s * 1103515245u + 12345u;
	return (float)((*s >> 16) & 0xff) / 128.0f - 1.0f;
}

struct relu_arg {
	float *x;
	int n;
};

static int relu_fn(void *p)
{
	struct relu_arg *r = p;
	int i;

	for (i = 0; i < r->n; i++)
		r->x[i] = r->x[i] > 0 ? r->x[i] : 0;
	return 0;
}

/* h = relu(x·W1); y = h·W2: two matmul nodes through the engine around a CPU op. */
Test(graph, matmul_nodes_through_the_engine)
{
	enum { M = 9, K = 40, H = 24, N = 17 };
	float x[M * K], w1[K * H], w2[H * N], h[M * H], y[M * N], rh[M * H], ry[M * N];
	struct npu_engine_opts o = { .backend = "cpu", .threads = 1 };
	struct tile_weights *tw1, *tw2;
	struct npu_engine *e;
	struct npu_tenant *t;
	struct npu_graph *g;
	struct relu_arg ra = { h, M * H };
	unsigned s = 7;
	int i, j, k, m1, r, m2;

	for (i = 0; i < M * K; i++)
		x[i] = lcg_f(&s);
	for (i = 0; i < K * H; i++)
		w1[i] = lcg_f(&s);
	for (i = 0; i < H * N; i++)
		w2[i] = lcg_f(&s);
	cr_assert_eq(npu_engine_open(&e, &o), 0);
	cr_assert_eq(npu_tenant_open(e, &t, "graph", 1), 0);
	cr_assert_eq(tile_weights_pack_f32(&tw1, w1, K, H, H, TILE_W_ROW_MAJOR_KN), 0);
	cr_assert_eq(tile_weights_pack_f32(&tw2, w2, H, N, N, TILE_W_ROW_MAJOR_KN), 0);
	cr_assert_eq(npu_graph_new(&g, t, 2), 0);
	m1 = npu_graph_add_matmul(g, x, M, K, K, tw1, NULL, h, H, NULL, 0);
	r = npu_graph_add_op(g, relu_fn, &ra, &m1, 1);
	m2 = npu_graph_add_matmul(g, h, M, H, H, tw2, NULL, y, N, &r, 1);
	cr_assert_eq(m2, 2);
	cr_assert_eq(npu_graph_run(g), 0);

	for (i = 0; i < M; i++)
		for (j = 0; j < H; j++) {
			float acc = 0;

			for (k = 0; k < K; k++)
				acc += x[i * K + k] * w1[k * H + j];
			rh[i * H + j] = acc > 0 ? acc : 0;
		}
	for (i = 0; i < M; i++)
		for (j = 0; j < N; j++) {
			float acc = 0;

			for (k = 0; k < H; k++)
				acc += rh[i * H + k] * w2[k * N + j];
			ry[i * N + j] = acc;
		}
	/* INT8 quantization: compare against the fp32 reference loosely. */
	for (i = 0; i < M * N; i++)
		cr_assert(fabsf(y[i] - ry[i]) <= 0.05f * 8 + 0.05f * fabsf(ry[i]),
			  "y[%d] = %f, want %f", i, y[i], ry[i]);
	/* A bad shape inside a node surfaces as the run's error. */
	npu_graph_free(g);
	cr_assert_eq(npu_graph_new(&g, t, 2), 0);
	cr_assert_eq(npu_graph_add_matmul(g, x, M, K + 1, K + 1, tw1, NULL, h, H, NULL, 0), 0);
	cr_assert_lt(npu_graph_run(g), 0);
	npu_graph_free(g);
	tile_weights_free(tw1);
	tile_weights_free(tw2);
	npu_tenant_close(t);
	npu_engine_close(e);
}

/*
 * One worker and 48 independent matmuls: the worker submits every ready
 * matmul before it waits for any, so the emu device gets them in a few runs
 * (a worker blocked on each matmul would make 48), and every result is the
 * direct tiler's. A failing node among in-flight matmuls still returns only
 * after all of them finished (their buffers are the caller's).
 */
Test(graph, one_worker_keeps_every_ready_matmul_in_flight)
{
	enum { NODES = 48, M = 8, K = 64, N = 32 };
	static float x[NODES][M * K], y[NODES][M * N], ref[M * N];
	struct npu_emu_opts eo = { 0 };
	struct npu_engine_opts o = { .backend = "emu", .emu = &eo };
	struct npu_engine_counters cnt;
	struct tile_weights *w;
	struct npu_engine *e;
	struct npu_tenant *t;
	struct npu_graph *g;
	float wf[K * N];
	unsigned s = 11;

	for (int i = 0; i < K * N; i++)
		wf[i] = lcg_f(&s);
	for (int n = 0; n < NODES; n++)
		for (int i = 0; i < M * K; i++)
			x[n][i] = lcg_f(&s);
	cr_assert_eq(tile_weights_pack_f32(&w, wf, K, N, N, TILE_W_ROW_MAJOR_KN), 0);
	cr_assert_eq(npu_engine_open(&e, &o), 0);
	cr_assert_eq(npu_tenant_open(e, &t, "graph", 1), 0);
	cr_assert_eq(npu_graph_new(&g, t, 1), 0);
	for (int n = 0; n < NODES; n++)
		cr_assert_eq(npu_graph_add_matmul(g, x[n], M, K, K, w, NULL, y[n], N, NULL, 0), n);
	cr_assert_eq(npu_graph_run(g), 0);
	npu_engine_counters(e, &cnt);
	cr_expect_eq(cnt.jobs, NODES);
	cr_expect_leq(cnt.runs, NODES / 4, "%llu runs for %d matmuls",
		      (unsigned long long)cnt.runs, NODES);
	for (int n = 0; n < NODES; n++) {
		cr_assert_eq(tile_matmul_f32(x[n], M, K, K, w, NULL, ref, N, NULL), 0);
		cr_expect_eq(memcmp(ref, y[n], sizeof(ref)), 0, "node %d", n);
	}
	/* the last node has a bad shape: the run fails after the others finish */
	npu_graph_free(g);
	cr_assert_eq(npu_graph_new(&g, t, 1), 0);
	for (int n = 0; n < NODES - 1; n++)
		cr_assert_eq(npu_graph_add_matmul(g, x[n], M, K, K, w, NULL, y[n], N, NULL, 0), n);
	cr_assert_eq(npu_graph_add_matmul(g, x[0], M, K + 1, K + 1, w, NULL, y[0], N, NULL, 0),
		     NODES - 1);
	cr_expect_lt(npu_graph_run(g), 0);
	npu_engine_counters(e, &cnt);
	cr_expect_eq(cnt.jobs, 2 * NODES - 1, "every submitted matmul completed");
	npu_graph_free(g);
	tile_weights_free(w);
	npu_tenant_close(t);
	npu_engine_close(e);
}
