/* SPDX-License-Identifier: MIT */
/*
 * sched/graph.h - a small job-graph executor (prefix npu_graph_).
 *
 * A graph is a DAG: nodes are operations, edges are data dependencies. CPU
 * operations (layer norm, GELU, softmax, adds) are plain callbacks run on a
 * pool of worker threads owned by npu_graph_run(); matmul nodes go through a
 * tenant of the shared engine (sched/npu.h), so many graphs from many
 * transcriptions can run at once and share one device.
 *
 * A node may only depend on nodes added before it, so every graph is acyclic
 * by construction. A node runs once all its dependencies have finished; the
 * first error stops the graph: nodes not yet started are cancelled.
 * A graph is built and run from one thread at a time; distinct graphs are
 * independent and may run concurrently.
 */
#ifndef AMN_SCHED_GRAPH_H
#define AMN_SCHED_GRAPH_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Everything declared here is the library's API: exported from libamanuensis.so. */
#pragma GCC visibility push(default)

struct npu_graph;
struct npu_tenant;
struct tile_weights;

/* A CPU operation: returns 0 or a negative errno, which stops the graph. */
typedef int (*npu_graph_fn)(void *arg);

/**
 * npu_graph_new - create an empty graph.
 * @out:      receives the graph.
 * @tenant:   engine client used by matmul nodes; may be NULL if none are added.
 *            Borrowed: it must outlive the graph.
 * @nthreads: workers for npu_graph_run(), the calling thread included
 *            (0: $AMN_THREADS, else the CPUs this process may use,
 *            clamped to 256). At most 256.
 * Return: 0, -EINVAL on a bad argument, -ENOMEM.
 */
int npu_graph_new(struct npu_graph **out, struct npu_tenant *tenant, unsigned nthreads);

/**
 * npu_graph_add_op - add a CPU operation.
 * @g:     the graph.
 * @fn:    the operation, called once per run with @arg.
 * @arg:   passed to @fn; owned by the caller.
 * @deps:  ids of nodes that must finish first (each smaller than the new id);
 *         may be NULL when @ndeps is 0. Duplicates are allowed.
 * @ndeps: number of entries in @deps.
 * Return: the new node id (>= 0), -EINVAL on a bad argument or an unknown
 * dependency, -EBUSY while the graph runs, -ENOMEM.
 */
int npu_graph_add_op(struct npu_graph *g, npu_graph_fn fn, void *arg,
		     const int *deps, int ndeps);

/**
 * npu_graph_add_matmul - add C = A·B (+ bias) through the graph's tenant.
 * Arguments as npu_matmul_f32(); all buffers are borrowed and must stay valid
 * until npu_graph_run() returns. Shapes are checked when the node runs.
 * Return: as npu_graph_add_op(); -EINVAL also when the graph has no tenant.
 */
int npu_graph_add_matmul(struct npu_graph *g, const float *a, int M, int K, size_t lda,
			 const struct tile_weights *w, const float *bias,
			 float *c, size_t ldc, const int *deps, int ndeps);

/**
 * npu_graph_run - run every node once, respecting dependencies, and wait.
 * May be called again to run the graph again.
 * Return: 0 when all nodes ran; otherwise the first error a node returned
 * (nodes not started by then did not run), or -ENOMEM / -EAGAIN if worker
 * threads could not be created, -EBUSY if the graph is already running.
 */
int npu_graph_run(struct npu_graph *g);

/**
 * npu_graph_nodes - number of nodes in @g.
 */
int npu_graph_nodes(const struct npu_graph *g);

/**
 * npu_graph_ran - whether node @id ran in the last npu_graph_run().
 * Return: 1 if it ran (successfully or not), 0 if not, -EINVAL for a bad id.
 */
int npu_graph_ran(const struct npu_graph *g, int id);

/**
 * npu_graph_free - release the graph. NULL is ignored. Must not be running.
 */
void npu_graph_free(struct npu_graph *g);

#pragma GCC visibility pop

#ifdef __cplusplus
}
#endif
#endif /* AMN_SCHED_GRAPH_H */
