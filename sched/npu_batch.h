/* SPDX-License-Identifier: MIT */
/*
 * sched/npu_batch.h - batch staging buffers and the CPU batch runner that
 * every backend uses to compute (cpu), to compute exactly (emu) or to redo a
 * failed run (fallback).
 */
#ifndef AMN_NPU_BATCH_H
#define AMN_NPU_BATCH_H

#include "sched/npu_internal.h"
#include "tiler/tile.h"

/* Jobs of at most this many rows are stacked with others sharing weights. */
#define NPU_STACK_ROWS 16
/* At most this many rows go into one stacked call. */
#define NPU_STACK_MAX 256

/**
 * npu_batch_init - allocate a batch that holds up to @cap jobs.
 * @node: NUMA node for the staging memory, or -1 (ignored where
 *        numa_available() < 0). Staging grows on demand, by the runner.
 * Return: 0 or -ENOMEM.
 */
int npu_batch_init(struct npu_batch *b, unsigned cap, int node);

/** npu_batch_fini - free a batch's memory (not its jobs). */
void npu_batch_fini(struct npu_batch *b);

/** npu_batch_reset - empty a batch for reuse. */
void npu_batch_reset(struct npu_batch *b);

/**
 * npu_batch_run_cpu - compute every job of @b on the CPU.
 * Jobs of one matmul with adjacent rows run as one call; small jobs of
 * different matmuls against the same weights (and bias) are stacked into one
 * taller call through the staging buffers and scattered back. Results are the
 * same as running each job alone, since A is quantized per row.
 * @opts: passed to the tiler.
 * Return: 0 or the first error of the tiler.
 */
int npu_batch_run_cpu(struct npu_batch *b, const struct tile_opts *opts);

/**
 * npu_batch_poison - overwrite the C rows of every job (a failed device run
 * leaves garbage; the fallback must rewrite all of it).
 */
void npu_batch_poison(struct npu_batch *b);

#endif /* AMN_NPU_BATCH_H */
