/* SPDX-License-Identifier: MIT */
/*
 * sched/npu_matmul.c - matmul handles: split a matmul into row-block jobs,
 * queue them, and wait for them (futex, poll, eventfd, cancel).
 *
 * pending starts at jobs + 1. Each completed or released job takes one; the
 * dispatcher completing the last job takes it from 2 to 1, then, under
 * efd_lock, stores 0 and signals the eventfd. Zero means done: the results, and the status, are
 * visible to any thread that loads it with acquire.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "sched/npu_engine_internal.h"
#include "sched/npu_futex.h"

static int check_args(struct npu_tenant *t, const void *a, int M, int K, size_t lda,
		      const struct tile_weights *w, const void *c, size_t ldc)
{
	if (!t || !w || M < 0 || K < 0) {
		fprintf(stderr, "amanuensis: matmul: NULL tenant/weights or negative shape\n");
		return -EINVAL;
	}
	if (tile_weights_k(w) != K) {
		fprintf(stderr, "amanuensis: matmul: A has K=%d but the weights have K=%d\n",
			K, tile_weights_k(w));
		return -EINVAL;
	}
	if (M > 0 && (!a || !c || lda < (size_t)K || ldc < (size_t)tile_weights_n(w))) {
		fprintf(stderr, "amanuensis: matmul: NULL buffer or leading dimension too small\n");
		return -EINVAL;
	}
	return 0;
}

/* Mark the jobs from @from on as never queued, so the count can reach zero. */
static void drop_unqueued(struct npu_mm *mm, int from)
{
	uint32_t left = (uint32_t)(mm->njobs - from);

	if (!left)
		return;
	if (atomic_fetch_sub_explicit(&mm->pending, left, memory_order_acq_rel) == left + 1) {
		/* nothing was queued at all: the matmul is done here */
		atomic_store_explicit(&mm->pending, 0, memory_order_release);
		atomic_fetch_sub_explicit(&mm->t->outstanding, 1, memory_order_acq_rel);
	}
}

/*
 * @sync: the caller waits at once (npu_matmul_f32/_s8). On a backend that
 * runs batches inline its jobs are then queued quietly, without waking the
 * dispatcher thread: the caller dispatches them itself in npu_matmul_wait()
 * unless someone else is dispatching, and then rings the doorbell.
 */
static int submit(struct npu_tenant *t, enum npu_kind kind, const void *a, int M, int K,
		  size_t lda, const struct tile_weights *w, const float *bias, void *c,
		  size_t ldc, const struct npu_submit_opts *opts, bool sync,
		  struct npu_matmul **out)
{
	struct npu_engine *e;
	struct npu_mm *mm;
	int64_t timeout = opts ? opts->timeout_ns : -1, now;
	int ret, njobs, i;
	bool quiet;

	ret = check_args(t, a, M, K, lda, w, c, ldc);
	if (ret)
		return ret;
	if (!out)
		return -EINVAL;
	e = t->e;
	if (!e)
		return -ESHUTDOWN;  /* the tenant outlived its engine */
	njobs = M ? (M + (int)e->job_rows - 1) / (int)e->job_rows : 0;
	mm = calloc(1, sizeof(*mm) + (size_t)njobs * sizeof(mm->jobs[0]));
	if (!mm)
		return -ENOMEM;
	mm->t = t;
	mm->e = e;
	mm->kind = kind;
	mm->a = a;
	mm->M = M;
	mm->K = K;
	mm->N = tile_weights_n(w);
	mm->lda = lda;
	mm->ldc = ldc;
	mm->w = w;
	mm->bias = bias;
	mm->c = c;
	mm->njobs = njobs;
	atomic_init(&mm->efd, -1);
	pthread_mutex_init(&mm->efd_lock, NULL);
	now = npu_now_ns();
	mm->submit_ns = now;
	for (i = 0; i < njobs; i++) {
		struct npu_job *j = &mm->jobs[i];

		j->mm = mm;
		j->row0 = i * (int)e->job_rows;
		j->rows = M - j->row0 < (int)e->job_rows ? M - j->row0 : (int)e->job_rows;
		j->ops = 2ull * (uint64_t)j->rows * (uint64_t)K * (uint64_t)mm->N;
		j->enq_ns = now;
	}
	if (!njobs || !mm->N || !K) {
		/* Nothing to run on a device; an empty K still defines C. */
		atomic_init(&mm->pending, 0);
		if (njobs && mm->N)
			ret = kind == NPU_KIND_F32 ?
				tile_matmul_f32(a, M, K, lda, w, bias, c, ldc, &e->tile) :
				tile_matmul_s8(a, M, K, lda, w, c, ldc, &e->tile);
		if (ret) {
			pthread_mutex_destroy(&mm->efd_lock);
			free(mm);
			return ret;
		}
		*out = (struct npu_matmul *)mm;
		return 0;
	}
	atomic_init(&mm->pending, (uint32_t)njobs + 1);

	atomic_fetch_add_explicit(&e->submitters, 1, memory_order_seq_cst);
	if (atomic_load_explicit(&e->closing, memory_order_seq_cst)) {
		ret = -ESHUTDOWN;
		goto err_leave;
	}
	atomic_fetch_add_explicit(&t->outstanding, 1, memory_order_relaxed);
	if (t->slot >= 0) {
		pthread_mutex_lock(&e->lock);
		e->shadow.tenants[t->slot].queue_depth += njobs;
		pthread_mutex_unlock(&e->lock);
	}
	quiet = sync && e->be->runs_inline;
	for (i = 0; i < njobs; i++) {
		ret = quiet ? npu_ring_enqueue_quiet(e->ring, &mm->jobs[i], timeout) :
			      npu_ring_enqueue(e->ring, &mm->jobs[i], timeout);
		if (ret)
			break;
	}
	if (ret && quiet)
		npu_ring_notify(e->ring);  /* the queued ones must be released by someone */
	atomic_fetch_sub_explicit(&e->submitters, 1, memory_order_release);
	if (ret) {
		/* Full ring in try/timeout mode: take back what was queued. */
		if (t->slot >= 0) {
			pthread_mutex_lock(&e->lock);
			e->shadow.tenants[t->slot].queue_depth -= njobs - i;
			pthread_mutex_unlock(&e->lock);
		}
		atomic_store_explicit(&mm->cancel, 1, memory_order_release);
		drop_unqueued(mm, i);
		npu_matmul_free((struct npu_matmul *)mm);
		return ret;
	}
	*out = (struct npu_matmul *)mm;
	return 0;

err_leave:
	atomic_fetch_sub_explicit(&e->submitters, 1, memory_order_release);
	pthread_mutex_destroy(&mm->efd_lock);
	free(mm);
	return ret;
}

int npu_matmul_submit_f32(struct npu_tenant *t, const float *a, int M, int K, size_t lda,
			  const struct tile_weights *w, const float *bias,
			  float *c, size_t ldc, const struct npu_submit_opts *opts,
			  struct npu_matmul **out)
{
	return submit(t, NPU_KIND_F32, a, M, K, lda, w, bias, c, ldc, opts, false, out);
}

int npu_matmul_submit_s8(struct npu_tenant *t, const int8_t *a, int M, int K, size_t lda,
			 const struct tile_weights *w, int32_t *c, size_t ldc,
			 const struct npu_submit_opts *opts, struct npu_matmul **out)
{
	return submit(t, NPU_KIND_S8, a, M, K, lda, w, NULL, c, ldc, opts, false, out);
}

int npu_matmul_poll(const struct npu_matmul *m)
{
	struct npu_mm *mm = (struct npu_mm *)m;

	return atomic_load_explicit(&mm->pending, memory_order_acquire) == 0;
}

int npu_matmul_wait(struct npu_matmul *m, int64_t timeout_ns)
{
	struct npu_mm *mm = (struct npu_mm *)m;
	int64_t deadline = timeout_ns > 0 ? npu_now_ns() + timeout_ns : 0;
	uint32_t p;

	while ((p = atomic_load_explicit(&mm->pending, memory_order_acquire))) {
		int64_t left = -1;

		if (timeout_ns == 0)
			return -ETIMEDOUT;
		if (timeout_ns > 0) {
			left = deadline - npu_now_ns();
			if (left <= 0)
				return -ETIMEDOUT;
		}
		/* On the cpu backend, run the dispatcher ourselves if it is free. */
		if (mm->e && npu_dispatch_help(mm))
			continue;
		npu_futex_wait(&mm->pending, p, left);
	}
	return atomic_load_explicit(&mm->status, memory_order_relaxed);
}

int npu_matmul_eventfd(struct npu_matmul *m)
{
	struct npu_mm *mm = (struct npu_mm *)m;
	int fd;

	pthread_mutex_lock(&mm->efd_lock);
	fd = atomic_load_explicit(&mm->efd, memory_order_relaxed);
	if (fd < 0) {
		fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		if (fd < 0) {
			fd = -errno;
		} else {
			atomic_store_explicit(&mm->efd, fd, memory_order_relaxed);
			/* Done already: the dispatcher signalled before the fd existed. */
			if (atomic_load_explicit(&mm->pending, memory_order_acquire) == 0) {
				uint64_t one = 1;

				if (write(fd, &one, sizeof(one)) < 0) {
					/* cannot fail on a fresh eventfd */
				}
			}
		}
	}
	pthread_mutex_unlock(&mm->efd_lock);
	return fd;
}

int npu_matmul_cancel(struct npu_matmul *m)
{
	struct npu_mm *mm = (struct npu_mm *)m;

	/* Release: the dispatcher sees the flag before it picks the next jobs. */
	atomic_store_explicit(&mm->cancel, 1, memory_order_release);
	return npu_matmul_wait(m, -1);
}

void npu_matmul_free(struct npu_matmul *m)
{
	struct npu_mm *mm = (struct npu_mm *)m;
	int fd;

	if (!mm)
		return;
	npu_matmul_wait(m, -1);
	/* Wait for the dispatcher to leave the lock it signals under. */
	pthread_mutex_lock(&mm->efd_lock);
	fd = atomic_load_explicit(&mm->efd, memory_order_relaxed);
	pthread_mutex_unlock(&mm->efd_lock);
	if (fd >= 0)
		close(fd);
	pthread_mutex_destroy(&mm->efd_lock);
	free(mm);
}

int npu_matmul_f32(struct npu_tenant *t, const float *a, int M, int K, size_t lda,
		   const struct tile_weights *w, const float *bias, float *c, size_t ldc)
{
	struct npu_matmul *m;
	int ret = submit(t, NPU_KIND_F32, a, M, K, lda, w, bias, c, ldc, NULL, true, &m);

	if (ret)
		return ret;
	ret = npu_matmul_wait(m, -1);
	npu_matmul_free(m);
	return ret;
}

int npu_matmul_s8(struct npu_tenant *t, const int8_t *a, int M, int K, size_t lda,
		  const struct tile_weights *w, int32_t *c, size_t ldc)
{
	struct npu_matmul *m;
	int ret = submit(t, NPU_KIND_S8, a, M, K, lda, w, NULL, c, ldc, NULL, true, &m);

	if (ret)
		return ret;
	ret = npu_matmul_wait(m, -1);
	npu_matmul_free(m);
	return ret;
}
