/* SPDX-License-Identifier: MIT */
/*
 * sched/npu_batch.c - batch staging buffers and the CPU batch runner.
 */
#include <errno.h>
#include <numa.h>
#include <stdlib.h>
#include <string.h>

#include "sched/npu_batch.h"

int npu_batch_init(struct npu_batch *b, unsigned cap, int node)
{
	memset(b, 0, sizeof(*b));
	b->jobs = calloc(cap, sizeof(*b->jobs));
	if (!b->jobs)
		return -ENOMEM;
	b->cap = cap;
	b->node = node >= 0 && numa_available() >= 0 ? node : -1;
	return 0;
}

static void stage_free(const struct npu_batch *b, void *p, size_t len)
{
	if (!p)
		return;
	if (b->node >= 0)
		numa_free(p, len);
	else
		free(p);
}

void npu_batch_fini(struct npu_batch *b)
{
	free(b->jobs);
	stage_free(b, b->a_stage, b->a_cap);
	stage_free(b, b->c_stage, b->c_cap);
	memset(b, 0, sizeof(*b));
}

void npu_batch_reset(struct npu_batch *b)
{
	b->n = 0;
	b->ops = b->tiles = 0;
	b->status = 0;
	b->sim_ns = b->sim_busy_ns = 0;
	b->coalesced = 0;
	b->next = NULL;
}

static size_t elt_size(enum npu_kind k)
{
	return k == NPU_KIND_F32 ? sizeof(float) : sizeof(int8_t);
}

static size_t out_size(enum npu_kind k)
{
	return k == NPU_KIND_F32 ? sizeof(float) : sizeof(int32_t);
}

/* Run rows [row0, row0 + rows) of @mm straight from its own buffers. */
static int run_rows(const struct npu_mm *mm, int row0, int rows, const struct tile_opts *o)
{
	if (mm->kind == NPU_KIND_F32)
		return tile_matmul_f32((const float *)mm->a + (size_t)row0 * mm->lda, rows, mm->K,
				       mm->lda, mm->w, mm->bias,
				       (float *)mm->c + (size_t)row0 * mm->ldc, mm->ldc, o);
	return tile_matmul_s8((const int8_t *)mm->a + (size_t)row0 * mm->lda, rows, mm->K,
			      mm->lda, mm->w, (int32_t *)mm->c + (size_t)row0 * mm->ldc,
			      mm->ldc, o);
}

static bool same_weights(const struct npu_mm *x, const struct npu_mm *y)
{
	return x->w == y->w && x->kind == y->kind && x->bias == y->bias;
}

/* Grow a staging buffer (contents not kept) on the batch's NUMA node. */
static int grow(const struct npu_batch *b, void **p, size_t *cap, size_t need)
{
	void *n;

	if (*cap >= need)
		return 0;
	need += need / 2;  /* amortize growth */
	n = b->node >= 0 ? numa_alloc_onnode(need, b->node) : malloc(need);
	if (!n)
		return -ENOMEM;
	stage_free(b, *p, *cap);
	*p = n;
	*cap = need;
	return 0;
}

/*
 * Stack the small jobs from index @first on that share @first's weights,
 * marking each one used. Returns 0 or -errno.
 */
static int run_stacked(struct npu_batch *b, unsigned first, bool *used,
		       const struct tile_opts *o)
{
	const struct npu_mm *m0 = b->jobs[first]->mm;
	size_t in = elt_size(m0->kind), out = out_size(m0->kind);
	unsigned idx[NPU_STACK_MAX];
	unsigned n = 0, rows = 0;
	size_t off = 0;
	int ret;

	for (unsigned i = first; i < b->n && rows < NPU_STACK_MAX; i++) {
		const struct npu_job *j = b->jobs[i];

		if (used[i] || j->rows > NPU_STACK_ROWS || !same_weights(j->mm, m0) ||
		    rows + j->rows > NPU_STACK_MAX)
			continue;
		idx[n++] = i;
		rows += j->rows;
	}
	if (n == 1) {
		used[first] = true;
		return run_rows(m0, b->jobs[first]->row0, b->jobs[first]->rows, o);
	}
	ret = grow(b, &b->a_stage, &b->a_cap, (size_t)rows * m0->K * in);
	if (!ret)
		ret = grow(b, &b->c_stage, &b->c_cap, (size_t)rows * m0->N * out);
	if (ret)
		return ret;
	for (unsigned i = 0; i < n; i++) {
		const struct npu_job *j = b->jobs[idx[i]];
		const char *src = (const char *)j->mm->a + (size_t)j->row0 * j->mm->lda * in;

		for (int r = 0; r < j->rows; r++, off++)
			memcpy((char *)b->a_stage + off * m0->K * in, src + r * j->mm->lda * in,
			       (size_t)m0->K * in);
	}
	if (m0->kind == NPU_KIND_F32)
		ret = tile_matmul_f32(b->a_stage, rows, m0->K, m0->K, m0->w, m0->bias,
				      b->c_stage, m0->N, o);
	else
		ret = tile_matmul_s8(b->a_stage, rows, m0->K, m0->K, m0->w,
				     b->c_stage, m0->N, o);
	if (ret)
		return ret;
	off = 0;
	for (unsigned i = 0; i < n; i++) {
		const struct npu_job *j = b->jobs[idx[i]];
		char *dst = (char *)j->mm->c + (size_t)j->row0 * j->mm->ldc * out;

		for (int r = 0; r < j->rows; r++, off++)
			memcpy(dst + r * j->mm->ldc * out, (char *)b->c_stage + off * m0->N * out,
			       (size_t)m0->N * out);
		used[idx[i]] = true;
	}
	b->coalesced += n;
	return 0;
}

int npu_batch_run_cpu(struct npu_batch *b, const struct tile_opts *opts)
{
	bool used_small[512], *used = used_small;
	int ret = 0;

	if (b->n > 512) {
		used = calloc(b->n, sizeof(*used));
		if (!used)
			return -ENOMEM;
	} else {
		memset(used_small, 0, sizeof(used_small));
	}
	for (unsigned i = 0; i < b->n && !ret; i++) {
		const struct npu_job *j = b->jobs[i];
		int rows;
		unsigned k;

		if (used[i])
			continue;
		if (j->rows <= NPU_STACK_ROWS) {
			ret = run_stacked(b, i, used, opts);
			continue;
		}
		/* Merge the following jobs of the same matmul with adjacent rows. */
		rows = j->rows;
		for (k = i + 1; k < b->n && !used[k] && b->jobs[k]->mm == j->mm &&
		     b->jobs[k]->row0 == j->row0 + rows; k++) {
			used[k] = true;
			rows += b->jobs[k]->rows;
		}
		used[i] = true;
		ret = run_rows(j->mm, j->row0, rows, opts);
	}
	if (used != used_small)
		free(used);
	return ret;
}

void npu_batch_poison(struct npu_batch *b)
{
	for (unsigned i = 0; i < b->n; i++) {
		const struct npu_job *j = b->jobs[i];
		size_t out = out_size(j->mm->kind);

		for (int r = 0; r < j->rows; r++)
			memset((char *)j->mm->c + ((size_t)(j->row0 + r) * j->mm->ldc) * out, 0xa5,
			       (size_t)j->mm->N * out);
	}
}
