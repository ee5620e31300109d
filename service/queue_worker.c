// SPDX-License-Identifier: MIT
/*
 * service/queue_worker.c - the worker's job threads and what they decide
 * for each delivery (Documentation/scale-out.md, "What a worker does"):
 *
 *   bad job (version, fields, size)    dead letter, error event, ack
 *   result already final               ack only (a repeat delivery)
 *   delivered more than max_attempts   dead letter, error event, ack
 *   past its deadline                  error event 504, ack
 *   otherwise                          transcribe: segments as they come,
 *                                      then done and ack in one transaction;
 *                                      a failure the job caused goes to the
 *                                      dead letter, another is left pending
 *                                      (with a retry event) for a later delivery.
 *
 * A keeper thread, on a transport of its own, renews the claim of every
 * job in progress every touch_ms, so that no other worker reclaims a job
 * however long one window takes; a delivery of an entry another thread
 * of this worker already holds (reclaimed from ourselves) is skipped.
 *
 * Transport-agnostic: each thread talks to its own struct amq_transport.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "service/queue_worker.h"

struct job_thread {
	struct amq_worker *w;
	int index;
	struct amq_transport *t;
	pthread_t tid;
	int started;
	struct amq_delivery d;
	char holding[AMQ_ENTRY_ID_MAX];  /* the entry in progress, "" for none (w->lock) */
};

struct amq_worker {
	struct amq_worker_opts o;
	char log_name[64];
	atomic_int stopping;         /* no new deliveries; transports stop reconnecting */
	atomic_int hard;             /* jobs in progress stop at their next window */
	atomic_int running;          /* job threads not yet returned */
	atomic_ulong done, failed, dead, duplicate, retried, left;
	int n;
	struct job_thread *threads;
	pthread_mutex_t lock;        /* guards every thread's holding */
	struct amq_transport *keeper_t;
	pthread_t keeper;
	int keeper_started;
};

/* Where one job's answer goes: its transport, delivery and result stream. */
struct amq_sink {
	struct amq_worker *w;
	struct amq_transport *t;
	const struct amq_delivery *d;
	const struct amq_job *job;
	int ttl_s;
	/*
	 * A write failed: the job is left pending. Atomic: a batched job's
	 * windows begin (amq_sink_window()) on several threads while
	 * segments are written from another; relaxed is enough, it only
	 * stops the work sooner and orders nothing else.
	 */
	atomic_int failed;
	int finished;                /* amq_sink_done() wrote and acknowledged */
	int n_segments;
};

static double mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

int amq_sink_window(struct amq_sink *s)
{
	if (atomic_load(&s->w->hard) || atomic_load_explicit(&s->failed, memory_order_relaxed))
		return -ECANCELED;
	if (s->job->deadline_ms && amq_now_ms() >= s->job->deadline_ms)
		return -ETIMEDOUT;
	return 0;
}

void amq_sink_segment(struct amq_sink *s, const struct wsp_segment *seg, int index, int seek)
{
	struct amq_event ev = { .type = AMQ_EVENT_SEGMENT, .attempt = s->d->attempt,
				.index = index, .seek = seek, .seg = *seg };

	if (atomic_load_explicit(&s->failed, memory_order_relaxed))
		return;
	if (s->t->ops->emit(s->t, s->job->id, s->ttl_s, &ev))
		atomic_store_explicit(&s->failed, 1, memory_order_relaxed);
	else
		s->n_segments++;
}

int amq_sink_done(struct amq_sink *s, const struct wsp_result *res)
{
	struct amq_event ev = { .type = AMQ_EVENT_DONE, .attempt = s->d->attempt,
				.language_prob = res->language_prob, .duration_s = res->duration_s,
				.n_segments = res->n_segments };
	int rc;

	if (atomic_load_explicit(&s->failed, memory_order_relaxed))
		return -ECANCELED;
	snprintf(ev.language, sizeof(ev.language), "%s", res->language);
	ev.text = amq_joined_text(res);
	if (!ev.text)
		return -ENOMEM;
	rc = s->t->ops->finish(s->t, s->d, s->job->id, s->ttl_s, &ev);
	free(ev.text);
	if (rc)
		atomic_store_explicit(&s->failed, 1, memory_order_relaxed);
	else
		s->finished = 1;
	return rc;
}

/* "job ID" or, for a job whose id was unusable, "entry STREAM-ID". */
static void job_name(char *buf, size_t cap, const struct amq_job *j, const struct amq_delivery *d)
{
	if (j->id[0])
		snprintf(buf, cap, "job %s", j->id);
	else
		snprintf(buf, cap, "entry %s", d->entry_id);
}

static void send_dead(struct amq_worker *w, struct amq_transport *t, const struct amq_delivery *d,
		      const struct amq_job *j, int status, const char *why)
{
	struct amq_event ev = { .type = AMQ_EVENT_ERROR, .attempt = d->attempt, .status = status };
	char name[96];
	int rc;

	snprintf(ev.message, sizeof(ev.message), "%s", why);
	job_name(name, sizeof(name), j, d);
	rc = t->ops->dead(t, d, j->id, j->ttl_s ? j->ttl_s : AMQ_DEFAULT_TTL_S, &ev);
	if (rc) {
		amq_log(w->log_name, "%s: could not be dead-lettered (%s); left pending", name,
			strerror(-rc));
		atomic_fetch_add(&w->left, 1);
		return;
	}
	amq_log(w->log_name, "%s: dead-lettered (delivery %d): %s", name, d->attempt, why);
	atomic_fetch_add(&w->dead, 1);
	atomic_fetch_add(&w->failed, j->id[0] ? 1 : 0);
}

static void send_error(struct amq_worker *w, struct amq_transport *t, const struct amq_delivery *d,
		       const struct amq_job *j, int status, const char *why)
{
	struct amq_event ev = { .type = AMQ_EVENT_ERROR, .attempt = d->attempt, .status = status };
	int rc;

	snprintf(ev.message, sizeof(ev.message), "%s", why);
	rc = t->ops->finish(t, d, j->id, j->ttl_s ? j->ttl_s : AMQ_DEFAULT_TTL_S, &ev);
	if (rc) {
		amq_log(w->log_name, "job %s: could not be answered (%s); left pending", j->id,
			strerror(-rc));
		atomic_fetch_add(&w->left, 1);
		return;
	}
	amq_log(w->log_name, "job %s: answered %d: %s", j->id, status, why);
	atomic_fetch_add(&w->failed, 1);
}

/* An attempt failed for a reason outside the job: retry it, or give up after the last. */
static void attempt_failed(struct amq_worker *w, struct amq_transport *t, const struct amq_delivery *d,
			   const struct amq_job *j, const char *why)
{
	struct amq_event ev = { .type = AMQ_EVENT_RETRY, .attempt = d->attempt };
	char msg[AMQ_MESSAGE_MAX];

	if (d->attempt >= w->o.max_attempts) {
		snprintf(msg, sizeof(msg), "failed %d attempts; last error: %.440s", d->attempt, why);
		send_dead(w, t, d, j, 500, msg);
		return;
	}
	snprintf(ev.message, sizeof(ev.message), "%s", why);
	if (t->ops->emit(t, j->id, j->ttl_s ? j->ttl_s : AMQ_DEFAULT_TTL_S, &ev))
		amq_log(w->log_name, "job %s: attempt %d failed: %s (not recorded)", j->id, d->attempt, why);
	else
		amq_log(w->log_name, "job %s: attempt %d failed: %s; left for another delivery",
			j->id, d->attempt, why);
	atomic_fetch_add(&w->retried, 1);
}

static void run_job(struct amq_worker *w, struct amq_transport *t, const struct amq_delivery *d,
		    const struct amq_job *j)
{
	struct amq_sink sink = { .w = w, .t = t, .d = d, .job = j,
				 .ttl_s = j->ttl_s ? j->ttl_s : AMQ_DEFAULT_TTL_S };
	double t0 = mono_ms();
	char err[AMQ_MESSAGE_MAX] = "";
	int permanent = 0, rc;

	rc = w->o.handle(w->o.handle_arg, j, &sink, &permanent, err, sizeof(err));
	if (!rc && sink.finished) {
		amq_log(w->log_name, "job %s (tenant %s%s%s): done, %d segments in %.2f s (delivery %d)",
			j->id, j->tenant ? j->tenant : "default", j->filename ? ", " : "",
			j->filename ? j->filename : "", sink.n_segments, (mono_ms() - t0) / 1e3,
			d->attempt);
		atomic_fetch_add(&w->done, 1);
		return;
	}
	if (!rc || atomic_load(&sink.failed) || rc == -ECANCELED) {
		amq_log(w->log_name, "job %s: stopped (%s); left pending for another worker", j->id,
			atomic_load(&sink.failed) ? "its result could not be written" : "the worker is stopping");
		atomic_fetch_add(&w->left, 1);
		return;
	}
	if (!err[0])
		snprintf(err, sizeof(err), "%s", strerror(-rc));
	if (rc == -ETIMEDOUT)
		send_error(w, t, d, j, 504, "the deadline passed during the transcription");
	else if (permanent)
		send_dead(w, t, d, j, 400, err);
	else
		attempt_failed(w, t, d, j, err);
}

static void take(struct amq_worker *w, struct amq_transport *t, const struct amq_delivery *d)
{
	char err[AMQ_MESSAGE_MAX - 64], last[AMQ_MESSAGE_MAX - 128] = "", msg[AMQ_MESSAGE_MAX];
	struct amq_job j;
	int finished = 0, rc;

	rc = amq_job_decode(&j, d->fields, d->n_fields, w->o.max_audio, err, sizeof(err));
	if (rc) {
		snprintf(msg, sizeof(msg), "bad job: %s", err);
		send_dead(w, t, d, &j, rc == -EMSGSIZE ? 413 : 400, msg);
		return;
	}
	rc = t->ops->state(t, j.id, &finished, last, sizeof(last));
	if (rc) {
		amq_log(w->log_name, "job %s: its results cannot be read (%s); left pending", j.id,
			strerror(-rc));
		atomic_fetch_add(&w->left, 1);
		return;
	}
	if (finished) {
		rc = t->ops->finish(t, d, j.id, 0, NULL);
		amq_log(w->log_name, "job %s: already answered; %s (delivery %d)", j.id,
			rc ? "could not acknowledge it" : "acknowledged", d->attempt);
		atomic_fetch_add(rc ? &w->left : &w->duplicate, 1);
		return;
	}
	if (d->attempt > w->o.max_attempts) {
		snprintf(msg, sizeof(msg), "gave up after %d deliveries; last error: %s", d->attempt - 1,
			 last[0] ? last : "none recorded (a worker died or stalled)");
		send_dead(w, t, d, &j, 500, msg);
		return;
	}
	if (j.deadline_ms && amq_now_ms() >= j.deadline_ms) {
		send_error(w, t, d, &j, 504, "the deadline passed before a worker took the job");
		return;
	}
	run_job(w, t, d, &j);
}

static void nap_ms(int ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

/*
 * hold - make @jt the holder of @d's entry. Return: 0, or -EBUSY when
 * another thread of this worker holds it already (our own job, reclaimed
 * by ourselves after its idle time ran out).
 */
static int hold(struct amq_worker *w, struct job_thread *jt, const struct amq_delivery *d)
{
	int rc = 0;

	pthread_mutex_lock(&w->lock);
	for (int i = 0; i < w->n && !rc; i++)
		if (&w->threads[i] != jt && !strcmp(w->threads[i].holding, d->entry_id))
			rc = -EBUSY;
	if (!rc)
		snprintf(jt->holding, sizeof(jt->holding), "%s", d->entry_id);
	pthread_mutex_unlock(&w->lock);
	return rc;
}

static void release(struct amq_worker *w, struct job_thread *jt)
{
	pthread_mutex_lock(&w->lock);
	jt->holding[0] = '\0';
	pthread_mutex_unlock(&w->lock);
}

/* Renew the claim of every job in progress, until the last job thread has returned. */
static void *keeper_thread(void *arg)
{
	struct amq_worker *w = arg;
	struct amq_delivery *held = calloc((size_t)w->n, sizeof(*held));
	double last = mono_ms();

	while (atomic_load(&w->running) > 0) {
		int n = 0;

		nap_ms(w->o.touch_ms < 50 ? w->o.touch_ms : 50);
		if (!held || mono_ms() - last < w->o.touch_ms)
			continue;
		last = mono_ms();
		pthread_mutex_lock(&w->lock);
		for (int i = 0; i < w->n; i++)
			if (w->threads[i].holding[0])
				snprintf(held[n++].entry_id, AMQ_ENTRY_ID_MAX, "%s", w->threads[i].holding);
		pthread_mutex_unlock(&w->lock);
		for (int i = 0; i < n; i++)
			w->keeper_t->ops->touch(w->keeper_t, &held[i]);
	}
	free(held);
	return NULL;
}

static void *job_thread(void *arg)
{
	struct job_thread *jt = arg;
	struct amq_worker *w = jt->w;
	struct amq_transport *t = jt->t;

	while (!atomic_load(&w->stopping)) {
		int rc = t->ops->next(t, w->o.block_ms, &jt->d);

		if (rc == -EAGAIN)
			continue;
		if (rc) {
			if (!atomic_load(&w->stopping)) {
				amq_log(w->log_name, "job thread %d: reading jobs failed (%s)", jt->index,
					strerror(-rc));
				nap_ms(w->o.block_ms);
			}
			continue;
		}
		if (hold(w, jt, &jt->d)) {
			amq_log(w->log_name, "entry %s: already in progress here; skipped",
				jt->d.entry_id);
			continue;
		}
		take(w, t, &jt->d);
		release(w, jt);
	}
	atomic_fetch_sub(&w->running, 1);
	return NULL;
}

static void close_all(struct amq_worker *w)
{
	for (int i = 0; i < w->n; i++)
		if (w->threads[i].t)
			w->threads[i].t->ops->close(w->threads[i].t);
	if (w->keeper_t)
		w->keeper_t->ops->close(w->keeper_t);
	pthread_mutex_destroy(&w->lock);
	free(w->threads);
	free(w);
}

int amq_worker_start(struct amq_worker **out, const struct amq_worker_opts *o,
		     char *err, size_t errlen)
{
	struct amq_worker *w;
	int rc = 0;

	*out = NULL;
	if (o->jobs < 1 || o->max_attempts < 1 || !o->open || !o->handle) {
		snprintf(err, errlen, "worker options: jobs and max_attempts must be >= 1, open and handle set");
		return -EINVAL;
	}
	w = calloc(1, sizeof(*w));
	if (w)
		w->threads = calloc((size_t)o->jobs, sizeof(*w->threads));
	if (!w || !w->threads) {
		free(w);
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	w->o = *o;
	snprintf(w->log_name, sizeof(w->log_name), "%s", o->log_name ? o->log_name : "amq-worker");
	w->o.log_name = w->log_name;
	if (!w->o.max_audio)
		w->o.max_audio = AMQ_DEFAULT_MAX_AUDIO;
	if (w->o.block_ms <= 0)
		w->o.block_ms = 1000;
	if (w->o.touch_ms <= 0)
		w->o.touch_ms = 10000;
	if (w->o.touch_ms > 60000)
		w->o.touch_ms = 60000;
	w->n = o->jobs;
	pthread_mutex_init(&w->lock, NULL);
	for (int i = 0; i < w->n && !rc; i++) {
		w->threads[i].w = w;
		w->threads[i].index = i;
		rc = o->open(o->open_arg, i, &w->stopping, &w->threads[i].t, err, errlen);
	}
	if (!rc)
		rc = o->open(o->open_arg, w->n, &w->stopping, &w->keeper_t, err, errlen);
	if (rc) {
		close_all(w);
		return rc;
	}
	for (int i = 0; i < w->n; i++) {
		atomic_fetch_add(&w->running, 1);
		rc = pthread_create(&w->threads[i].tid, NULL, job_thread, &w->threads[i]);
		if (rc) {
			atomic_fetch_sub(&w->running, 1);
			snprintf(err, errlen, "cannot start job thread %d: %s", i, strerror(rc));
			amq_worker_stop(w, 1);
			amq_worker_join(w);
			return -rc;
		}
		w->threads[i].started = 1;
	}
	rc = pthread_create(&w->keeper, NULL, keeper_thread, w);
	if (rc) {
		snprintf(err, errlen, "cannot start the keeper thread: %s", strerror(rc));
		amq_worker_stop(w, 1);
		amq_worker_join(w);
		return -rc;
	}
	w->keeper_started = 1;
	*out = w;
	return 0;
}

void amq_worker_stop(struct amq_worker *w, int hard)
{
	atomic_store(&w->stopping, 1);
	if (hard)
		atomic_store(&w->hard, 1);
}

int amq_worker_running(struct amq_worker *w)
{
	return atomic_load(&w->running);
}

void amq_worker_stats(struct amq_worker *w, struct amq_worker_stats *s)
{
	s->done = atomic_load(&w->done);
	s->failed = atomic_load(&w->failed);
	s->dead = atomic_load(&w->dead);
	s->duplicate = atomic_load(&w->duplicate);
	s->retried = atomic_load(&w->retried);
	s->left = atomic_load(&w->left);
}

void amq_worker_join(struct amq_worker *w)
{
	if (!w)
		return;
	for (int i = 0; i < w->n; i++)
		if (w->threads[i].started)
			pthread_join(w->threads[i].tid, NULL);
	if (w->keeper_started)
		pthread_join(w->keeper, NULL);
	close_all(w);
}
