/* SPDX-License-Identifier: MIT */
/*
 * sched/npu_dispatch.c - the dispatcher: one thread per device.
 *
 * Loop: move published jobs from the ring into their tenants' queues; collect
 * finished runs from the backend and complete their jobs (re-running failed
 * runs on the CPU); then, while the backend has room, pick the next batch by
 * deficit round robin and submit it. A batch goes out when it is full, when
 * its oldest job has waited t_max, or at once when the device is idle. With
 * nothing to do the thread sleeps in one io_uring wait on the ring's doorbell,
 * the backend's completion eventfd and the next flush deadline.
 */
#include <errno.h>
#include <poll.h>
#include <stdatomic.h>
#include <string.h>
#include <unistd.h>

#include "sched/npu_batch.h"
#include "sched/npu_engine_internal.h"
#include "sched/npu_futex.h"

#define BURST 256
#define PUBLISH_NS 5000000ll
#define TAG_BELL 1
#define TAG_COMP 2

static struct npu_stats_tenant *tstats(struct npu_engine *e, const struct npu_tenant *t)
{
	return t->slot >= 0 ? &e->shadow.tenants[t->slot] : NULL;
}

static uint64_t tiles_of(const struct npu_job *j)
{
	return (uint64_t)((j->rows + 15) / 16) * (uint64_t)((j->mm->N + 15) / 16);
}

void npu_job_complete(struct npu_engine *e, struct npu_job *j, int status)
{
	struct npu_mm *mm = j->mm;
	struct npu_tenant *t = mm->t;
	struct npu_stats_tenant *ts;
	int64_t lat_us;

	if (status) {
		int zero = 0;

		atomic_compare_exchange_strong(&mm->status, &zero, status);
	}
	pthread_mutex_lock(&e->lock);
	ts = tstats(e, t);
	if (ts) {
		if (status == -ECANCELED) {
			ts->cancelled++;
		} else {
			ts->jobs++;
			ts->tiles += tiles_of(j);
			ts->ops += j->ops;
		}
		if (ts->queue_depth)
			ts->queue_depth--;
	}
	pthread_mutex_unlock(&e->lock);
	if (status == -ECANCELED)
		atomic_fetch_add_explicit(&e->c_cancelled, 1, memory_order_relaxed);
	else
		atomic_fetch_add_explicit(&e->c_jobs, 1, memory_order_relaxed);

	if (atomic_fetch_sub_explicit(&mm->pending, 1, memory_order_acq_rel) != 2)
		return;
	/*
	 * pending counts jobs + 1; the last job takes it from 2 to 1, then
	 * stores 0 (done) and signals.
	 */
	lat_us = (npu_now_ns() - mm->submit_ns) / 1000;
	pthread_mutex_lock(&e->lock);
	if (ts) {
		ts->matmuls++;
		ts->lat_hist[npu_stats_hist_bucket(lat_us > 0 ? lat_us : 0, NPU_STATS_HIST_BUCKETS)]++;
	}
	pthread_mutex_unlock(&e->lock);
	/*
	 * Done becomes visible and the eventfd fires under efd_lock, so that
	 * eventfd users see done once readable, and npu_matmul_free() (which
	 * takes the lock before freeing) cannot free the handle under us.
	 */
	pthread_mutex_lock(&mm->efd_lock);
	/* Release: results and status are visible to whoever sees 0. */
	atomic_store_explicit(&mm->pending, 0, memory_order_release);
	if (atomic_load_explicit(&mm->efd, memory_order_relaxed) >= 0) {
		uint64_t one = 1;

		if (write(atomic_load_explicit(&mm->efd, memory_order_relaxed), &one, sizeof(one)) < 0) {
			/* saturated counter: already readable */
		}
	}
	pthread_mutex_unlock(&mm->efd_lock);
	/* A waiter may have freed @mm by now; waking its address is harmless. */
	npu_futex_wake_all(&mm->pending);
	if (atomic_fetch_sub_explicit(&t->outstanding, 1, memory_order_acq_rel) == 1)
		npu_futex_wake_all(&t->outstanding);
}

static void intake(struct npu_engine *e, bool *progress)
{
	void *items[BURST];
	unsigned n;

	while ((n = npu_ring_dequeue_burst(e->ring, items, BURST))) {
		*progress = true;
		for (unsigned i = 0; i < n; i++) {
			struct npu_job *j = items[i];

			if (atomic_load_explicit(&j->mm->cancel, memory_order_acquire)) {
				npu_job_complete(e, j, -ECANCELED);
				continue;
			}
			npu_drr_push(&e->drr, j->mm->t, j);
		}
		if (n < BURST)
			break;
	}
}

static void device_stats_run(struct npu_engine *e, const struct npu_batch *b, int64_t now)
{
	struct npu_stats_device *d = &e->shadow.devices[0];
	int64_t lat_us = (now - b->submit_ns) / 1000;

	pthread_mutex_lock(&e->lock);
	d->runs++;
	d->jobs += b->n;
	d->tiles += b->tiles;
	d->ops += b->ops;
	d->batch_hist[npu_stats_hist_bucket(b->n, NPU_STATS_BATCH_BUCKETS)]++;
	d->run_lat_hist[npu_stats_hist_bucket(lat_us > 0 ? lat_us : 0, NPU_STATS_HIST_BUCKETS)]++;
	d->sim_ns += b->sim_ns;
	pthread_mutex_unlock(&e->lock);
}

static void finish_batch(struct npu_engine *e, struct npu_batch *b)
{
	int64_t now = npu_now_ns();
	int status = b->status;

	e->in_flight--;
	e->stats_dirty = true;
	if (!e->in_flight) {
		pthread_mutex_lock(&e->lock);
		e->shadow.devices[0].busy_ns += now - e->busy_since;
		pthread_mutex_unlock(&e->lock);
	}
	if (status < 0) {
		pthread_mutex_lock(&e->lock);
		if (status == -ETIMEDOUT)
			e->shadow.devices[0].timeouts++;
		else
			e->shadow.devices[0].errors++;
		pthread_mutex_unlock(&e->lock);
		atomic_fetch_add_explicit(status == -ETIMEDOUT ? &e->c_timeouts : &e->c_errors, 1,
					  memory_order_relaxed);
		if (e->fallback) {
			status = npu_batch_run_cpu(b, &e->tile);
			pthread_mutex_lock(&e->lock);
			e->shadow.devices[0].fallbacks++;
			for (unsigned i = 0; i < b->n; i++) {
				struct npu_stats_tenant *ts = tstats(e, b->jobs[i]->mm->t);

				if (ts && (i == 0 || b->jobs[i]->mm->t != b->jobs[i - 1]->mm->t))
					ts->fallbacks++;
			}
			pthread_mutex_unlock(&e->lock);
			atomic_fetch_add_explicit(&e->c_fallbacks, 1, memory_order_relaxed);
		}
	}
	device_stats_run(e, b, now);
	atomic_fetch_add_explicit(&e->c_runs, 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&e->c_coalesced, b->coalesced, memory_order_relaxed);
	atomic_fetch_add_explicit(&e->c_sim_ns, b->sim_ns, memory_order_relaxed);
	atomic_fetch_add_explicit(&e->c_sim_busy_ns, b->sim_busy_ns, memory_order_relaxed);
	for (unsigned i = 0; i < b->n; i++)
		npu_job_complete(e, b->jobs[i], status < 0 ? status : 0);
	npu_batch_reset(b);
	b->next = e->free_batches;
	e->free_batches = b;
}

static void reap(struct npu_engine *e, bool *progress)
{
	struct npu_batch *b;

	while ((b = e->be->ops->reap(e->be))) {
		*progress = true;
		finish_batch(e, b);
	}
}

/*
 * Run @b on this thread (a backend with runs_inline: cpu). dlock is dropped
 * while the batch computes, so that another thread (a waiting caller, or
 * the dispatcher thread) can run the next batch at the same time, up to the
 * backend's in-flight limit: concurrent transcriptions then compute on
 * every core instead of queueing behind one batch. Jobs submitted meanwhile
 * wait in the ring for the next batch, which is how concurrent GEMVs get
 * stacked. Called and returns with dlock held.
 */
static void run_inline(struct npu_engine *e, struct npu_batch *b)
{
	pthread_mutex_unlock(&e->dlock);
	b->status = e->be->ops->submit(e->be, b);
	pthread_mutex_lock(&e->dlock);
	finish_batch(e, b);
}

/* Submit batches while the backend has room; returns the next flush time. */
static int64_t dispatch(struct npu_engine *e, bool draining, bool *progress)
{
	int64_t wake = INT64_MAX;

	while (e->in_flight < e->be->max_in_flight && e->drr.queued && e->free_batches) {
		int64_t now = npu_now_ns(), oldest = npu_drr_oldest_ns(&e->drr);
		struct npu_batch *b;
		unsigned n, kept = 0;

		/*
		 * With a run in progress on a device, let a partial batch gather
		 * for up to t_max (an inline cpu batch runs at once, on another
		 * core, beside the running one).
		 */
		if (!draining && !e->be->runs_inline && e->in_flight &&
		    e->drr.queued < e->batch_jobs && now - oldest < e->t_max_ns) {
			wake = oldest + e->t_max_ns;
			break;
		}
		/*
		 * With two or more runs queued on the device, a run too small
		 * to pay for its own host overhead waits (past t_max) until it
		 * is worth sending or the device is down to one run: sending
		 * it would leave the device waiting for the host.
		 */
		if (!draining && e->in_flight >= 2 && e->drr.queued < e->batch_jobs &&
		    e->drr.queued_ops < e->be->min_run_ops)
			break;
		b = e->free_batches;
		n = npu_drr_pick(&e->drr, b->jobs, b->cap < e->batch_jobs ? b->cap : e->batch_jobs,
				 now, &wake);
		if (!n)
			break;  /* quotas hold everything back until wake */
		*progress = true;
		for (unsigned i = 0; i < n; i++) {
			struct npu_job *j = b->jobs[i];

			/* Cancelled while queued: released, never run. */
			if (atomic_load_explicit(&j->mm->cancel, memory_order_acquire)) {
				npu_job_complete(e, j, -ECANCELED);
				continue;
			}
			b->jobs[kept++] = j;
			b->ops += j->ops;
			b->tiles += tiles_of(j);
		}
		b->n = kept;
		if (!kept)
			continue;
		e->free_batches = b->next;
		b->next = NULL;
		b->idle_start = !e->in_flight;
		if (!e->in_flight)
			e->busy_since = now;
		e->in_flight++;
		if (e->be->runs_inline) {
			run_inline(e, b);
			/* Take in what arrived meanwhile before packing the next one. */
			break;
		}
		if (e->be->ops->submit(e->be, b)) {
			/* The device refused the batch: treat it as a failed run. */
			b->status = -EIO;
			b->submit_ns = now;
			finish_batch(e, b);
		}
	}
	return wake;
}

static void publish(struct npu_engine *e, bool force)
{
	int64_t now = npu_now_ns();

	if (!e->stats_ok || (!force && now - e->last_publish_ns < PUBLISH_NS))
		return;
	e->last_publish_ns = now;
	e->stats_dirty = false;
	e->publish_due = false;
	pthread_mutex_lock(&e->lock);
	e->shadow.devices[0].queue_depth = e->drr.queued + npu_ring_count(e->ring);
	e->shadow.devices[0].in_flight = e->in_flight;
	/* held is dispatcher-private: copy it here, on the dispatcher thread. */
	for (const struct npu_tenant *t = e->tenants; t; t = t->next_open)
		if (t->slot >= 0)
			e->shadow.tenants[t->slot].throttled = t->held;
	npu_stats_writer_publish(&e->statsw, &e->shadow);
	pthread_mutex_unlock(&e->lock);
}

static void drain_fd(int fd)
{
	uint64_t v;

	if (read(fd, &v, sizeof(v)) < 0) {
		/* EAGAIN: already cleared */
	}
}

/* Nanoseconds from now to @deadline, at least 1 (a timeout of 0 would not wait). */
static int64_t ns_until(int64_t deadline)
{
	int64_t left = deadline - npu_now_ns();

	return left > 0 ? left : 1;
}

/*
 * Sleep until a doorbell, a completion or @deadline (INT64_MAX: none).
 * Dispatcher thread only; the ring must have been armed (npu_ring_arm())
 * unless a doorbell poll is already pending.
 */
static void wait_events_poll(struct npu_engine *e, int64_t deadline)
{
	struct pollfd p[2] = {
		{ .fd = npu_ring_doorbell_fd(e->ring), .events = POLLIN },
		{ .fd = e->be->completion_fd, .events = POLLIN },
	};
	struct timespec ts, *tsp = NULL;

	if (deadline != INT64_MAX) {
		int64_t left = ns_until(deadline);

		ts.tv_sec = left / 1000000000;
		ts.tv_nsec = left % 1000000000;
		tsp = &ts;
	}
	if (ppoll(p, 2, tsp, NULL) > 0) {
		if (p[0].revents)
			drain_fd(p[0].fd);
		if (p[1].revents)
			drain_fd(p[1].fd);
	}
}

static void wait_events(struct npu_engine *e, int64_t deadline)
{
	struct __kernel_timespec ts, *tsp = NULL;
	struct io_uring_cqe *cqe;
	struct io_uring_sqe *sqe;
	unsigned head, seen = 0;

	if (!e->uring_ok) {
		wait_events_poll(e, deadline);
		return;
	}

	if (!e->bell_pending) {
		/* The caller armed the ring under dlock. */
		sqe = io_uring_get_sqe(&e->uring);
		io_uring_prep_poll_add(sqe, npu_ring_doorbell_fd(e->ring), POLLIN);
		io_uring_sqe_set_data64(sqe, TAG_BELL);
		e->bell_pending = true;
	}
	if (!e->comp_pending) {
		sqe = io_uring_get_sqe(&e->uring);
		io_uring_prep_poll_add(sqe, e->be->completion_fd, POLLIN);
		io_uring_sqe_set_data64(sqe, TAG_COMP);
		e->comp_pending = true;
	}
	if (deadline != INT64_MAX) {
		int64_t left = ns_until(deadline);

		ts.tv_sec = left / 1000000000;
		ts.tv_nsec = left % 1000000000;
		tsp = &ts;
	}
	io_uring_submit_and_wait_timeout(&e->uring, &cqe, 1, tsp, NULL);
	io_uring_for_each_cqe(&e->uring, head, cqe) {
		uint64_t tag = io_uring_cqe_get_data64(cqe);

		/* One-shot polls: clear the eventfd, re-arm on the next wait. */
		if (tag == TAG_BELL) {
			e->bell_pending = false;
			drain_fd(npu_ring_doorbell_fd(e->ring));
		} else if (tag == TAG_COMP) {
			e->comp_pending = false;
			drain_fd(e->be->completion_fd);
		}
		seen++;
	}
	io_uring_cq_advance(&e->uring, seen);
}

/* One round: ring -> tenant queues, finished runs, new runs, stats. Under dlock. */
static bool round_locked(struct npu_engine *e, bool stopping, int64_t *wake)
{
	bool progress = false;

	intake(e, &progress);
	reap(e, &progress);
	*wake = dispatch(e, stopping, &progress);
	publish(e, false);
	return progress;
}

bool npu_dispatch_help(struct npu_mm *m)
{
	struct npu_engine *e = m->e;
	bool progress, left;
	uint64_t one = 1;
	int64_t wake;

	/*
	 * Count ourselves in while @m is provably unfinished: it completes
	 * under efd_lock, and close cannot get past the completion of every
	 * job to its wait for helpers without seeing our count.
	 */
	pthread_mutex_lock(&m->efd_lock);
	if (!atomic_load_explicit(&m->pending, memory_order_acquire)) {
		pthread_mutex_unlock(&m->efd_lock);
		return true;
	}
	if (!e->be->runs_inline) {
		pthread_mutex_unlock(&m->efd_lock);
		return false;
	}
	atomic_fetch_add_explicit(&e->helpers, 1, memory_order_relaxed);
	pthread_mutex_unlock(&m->efd_lock);

	if (pthread_mutex_trylock(&e->dlock)) {
		/*
		 * Someone is dispatching, perhaps our jobs. Jobs a synchronous
		 * caller queued quietly may have come too late for that round:
		 * wake the dispatcher thread for them, then sleep until woken.
		 */
		npu_ring_notify(e->ring);
		atomic_fetch_sub_explicit(&e->helpers, 1, memory_order_release);
		return false;
	}
	progress = round_locked(e, false, &wake);
	left = e->drr.queued != 0;
	/*
	 * Counters we changed are published by the dispatcher thread within
	 * PUBLISH_NS; if it is asleep without that deadline, wake it once.
	 */
	if (e->stats_dirty && !e->publish_due) {
		e->publish_due = true;
		left = true;
	}
	pthread_mutex_unlock(&e->dlock);
	/* Work a quota held back, or a publish: the dispatcher thread times it. */
	if (left && write(npu_ring_doorbell_fd(e->ring), &one, sizeof(one)) < 0) {
		/* saturated: the dispatcher is awake anyway */
	}
	atomic_fetch_sub_explicit(&e->helpers, 1, memory_order_release);
	return progress;
}

void *npu_dispatcher_main(void *arg)
{
	struct npu_engine *e = arg;

	for (;;) {
		bool stopping = atomic_load_explicit(&e->stop, memory_order_acquire);
		bool progress, done, can_sleep = false;
		int64_t wake;

		pthread_mutex_lock(&e->dlock);
		progress = round_locked(e, stopping, &wake);
		done = stopping && !e->drr.queued && !e->in_flight && !npu_ring_count(e->ring);
		if (!progress && !done) {
			/* Publish the last changes soon even if nothing else happens. */
			if (e->stats_dirty && e->last_publish_ns + PUBLISH_NS < wake)
				wake = e->last_publish_ns + PUBLISH_NS;
			e->publish_due = e->stats_dirty;
			/* Arm while no helper can take from the ring: false if a job is there. */
			can_sleep = e->bell_pending || npu_ring_arm(e->ring);
		}
		pthread_mutex_unlock(&e->dlock);
		if (done)
			break;
		if (can_sleep)
			wait_events(e, wake);
	}
	pthread_mutex_lock(&e->dlock);
	publish(e, true);
	pthread_mutex_unlock(&e->dlock);
	return NULL;
}
