/* SPDX-License-Identifier: MIT */
/*
 * tests/test_queue_worker.c - the worker's job threads and their decisions
 * (service/queue_worker.h) against an in-memory stand-in for Redis: many
 * threads taking many jobs (each answered once), bad jobs to the dead
 * letter, retries and giving up, repeats, deadlines, and both kinds of
 * stop. Runs under ThreadSanitizer too (make tsan): no Redis, no model.
 *
 * A job's "audio" tells the fake handler what to do: "ok N" (N segments),
 * "fail K N" (fail the first K deliveries, then N segments), "bad" (a
 * failure of the job itself), "slow N" (N windows of 20 ms each).
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdarg.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "service/queue_worker.h"

#define MAX_ENTRIES 512
#define MAX_PAIRS 8

enum entry_state { QUEUED = 0, PENDING, ACKED };

struct fake_entry {
	char entry_id[AMQ_ENTRY_ID_MAX];
	char names[MAX_PAIRS][32];
	char values[MAX_PAIRS][96];
	int n;
	enum entry_state state;
	int deliveries;
	int holder;                  /* the transport holding it, -1 none */
	int abandoned;               /* its holder moved on without finishing it */
};

struct fake_result {
	char job[AMQ_ID_MAX + 1];
	int segments, done, errors, retries, status, last_attempt;
	char message[AMQ_MESSAGE_MAX];
};

/* The stand-in for Redis: a jobs stream, result streams and a dead letter. */
static struct bus {
	pthread_mutex_t lock;
	struct fake_entry entries[MAX_ENTRIES];
	int n_entries, n_acked;
	struct fake_result results[MAX_ENTRIES];
	int n_results;
	int n_dead;
	char dead_why[MAX_ENTRIES][AMQ_MESSAGE_MAX];
	int dead_status[MAX_ENTRIES];
	int touches;
	int steal;                   /* hand out entries other threads hold (a reclaim of our own) */
} bus;

static atomic_int handler_calls, handlers_running;

static void bus_reset(void)
{
	pthread_mutex_destroy(&bus.lock);
	memset(&bus, 0, sizeof(bus));
	pthread_mutex_init(&bus.lock, NULL);
	atomic_store(&handler_calls, 0);
	atomic_store(&handlers_running, 0);
}

/* Queue an entry of field/value pairs (NULL ends them). */
static void add_entry(const char *name, ...)
{
	struct fake_entry *e;
	va_list ap;

	pthread_mutex_lock(&bus.lock);
	cr_assert_lt(bus.n_entries, MAX_ENTRIES);
	e = &bus.entries[bus.n_entries];
	snprintf(e->entry_id, sizeof(e->entry_id), "1700000000000-%d", bus.n_entries);
	e->holder = -1;
	va_start(ap, name);
	for (const char *n = name; n && e->n < MAX_PAIRS; n = va_arg(ap, const char *)) {
		snprintf(e->names[e->n], sizeof(e->names[0]), "%s", n);
		snprintf(e->values[e->n], sizeof(e->values[0]), "%s", va_arg(ap, const char *));
		e->n++;
	}
	va_end(ap);
	bus.n_entries++;
	pthread_mutex_unlock(&bus.lock);
}

static void add_job(const char *id, const char *what)
{
	add_entry("v", "1", "id", id, "audio", what, NULL);
}

/* bus.lock held */
static struct fake_result *result_of(const char *job)
{
	for (int i = 0; i < bus.n_results; i++)
		if (!strcmp(bus.results[i].job, job))
			return &bus.results[i];
	cr_assert_lt(bus.n_results, MAX_ENTRIES);
	snprintf(bus.results[bus.n_results].job, AMQ_ID_MAX + 1, "%s", job);
	return &bus.results[bus.n_results++];
}

static struct fake_result snapshot(const char *job)
{
	struct fake_result r;

	pthread_mutex_lock(&bus.lock);
	r = *result_of(job);
	pthread_mutex_unlock(&bus.lock);
	return r;
}

static struct fake_entry *entry_of(const struct amq_delivery *d)
{
	for (int i = 0; i < bus.n_entries; i++)
		if (!strcmp(bus.entries[i].entry_id, d->entry_id))
			return &bus.entries[i];
	cr_assert_fail("no entry %s", d->entry_id);
	return NULL;
}

struct fake_transport {
	struct amq_transport head;
	int index;
	int held;                    /* the entry of the last delivery, -1 none */
};

static void nap_ms(int ms)
{
	struct timespec ts = { 0, ms * 1000000L };

	nanosleep(&ts, NULL);
}

static int fake_next(struct amq_transport *t, int block_ms, struct amq_delivery *d)
{
	struct fake_transport *ft = (struct fake_transport *)t;

	pthread_mutex_lock(&bus.lock);
	/* What this thread left unfinished is another's to reclaim. */
	if (ft->held >= 0 && bus.entries[ft->held].state == PENDING &&
	    bus.entries[ft->held].holder == ft->index && !bus.steal)
		bus.entries[ft->held].abandoned = 1;
	ft->held = -1;
	for (int i = 0; i < bus.n_entries; i++) {
		struct fake_entry *e = &bus.entries[i];

		if (e->state == QUEUED ||
		    (e->state == PENDING && (e->abandoned || (bus.steal && e->holder != ft->index)))) {
			e->state = PENDING;
			e->abandoned = 0;
			e->holder = ft->index;
			e->deliveries++;
			memset(d, 0, sizeof(*d));
			snprintf(d->entry_id, sizeof(d->entry_id), "%s", e->entry_id);
			d->attempt = e->deliveries;
			d->n_fields = e->n;
			for (int k = 0; k < e->n; k++)
				d->fields[k] = (struct amq_field){ e->names[k], strlen(e->names[k]),
								   e->values[k], strlen(e->values[k]) };
			ft->held = i;
			pthread_mutex_unlock(&bus.lock);
			return 0;
		}
	}
	pthread_mutex_unlock(&bus.lock);
	nap_ms(block_ms < 5 ? block_ms : 5);
	return -EAGAIN;
}

static int fake_state(struct amq_transport *t, const char *id, int *finished,
		      char *last_error, size_t len)
{
	struct fake_result *r;

	pthread_mutex_lock(&bus.lock);
	r = result_of(id);
	*finished = r->done || r->errors;
	snprintf(last_error, len, "%s", r->retries ? r->message : "");
	pthread_mutex_unlock(&bus.lock);
	return 0;
}

/* bus.lock held */
static void record(const char *id, const struct amq_event *ev)
{
	struct fake_result *r = result_of(id);

	r->last_attempt = ev->attempt;
	switch (ev->type) {
	case AMQ_EVENT_SEGMENT:
		r->segments++;
		break;
	case AMQ_EVENT_DONE:
		r->done++;
		break;
	case AMQ_EVENT_ERROR:
		r->errors++;
		r->status = ev->status;
		snprintf(r->message, sizeof(r->message), "%s", ev->message);
		break;
	case AMQ_EVENT_RETRY:
		r->retries++;
		snprintf(r->message, sizeof(r->message), "%s", ev->message);
		break;
	}
}

static int fake_emit(struct amq_transport *t, const char *id, int ttl_s, const struct amq_event *ev)
{
	pthread_mutex_lock(&bus.lock);
	record(id, ev);
	pthread_mutex_unlock(&bus.lock);
	return 0;
}

/* bus.lock held */
static void ack(const struct amq_delivery *d)
{
	struct fake_entry *e = entry_of(d);

	cr_expect_eq(e->state, PENDING, "entry %s acknowledged twice", d->entry_id);
	e->state = ACKED;
	bus.n_acked++;
}

static int fake_finish(struct amq_transport *t, const struct amq_delivery *d, const char *id,
		       int ttl_s, const struct amq_event *ev)
{
	pthread_mutex_lock(&bus.lock);
	if (ev)
		record(id, ev);
	ack(d);
	pthread_mutex_unlock(&bus.lock);
	return 0;
}

static int fake_dead(struct amq_transport *t, const struct amq_delivery *d, const char *id,
		     int ttl_s, const struct amq_event *ev)
{
	pthread_mutex_lock(&bus.lock);
	snprintf(bus.dead_why[bus.n_dead], AMQ_MESSAGE_MAX, "%s", ev->message);
	bus.dead_status[bus.n_dead++] = ev->status;
	if (id && id[0])
		record(id, ev);
	ack(d);
	pthread_mutex_unlock(&bus.lock);
	return 0;
}

static int fake_touch(struct amq_transport *t, const struct amq_delivery *d)
{
	pthread_mutex_lock(&bus.lock);
	bus.touches++;
	pthread_mutex_unlock(&bus.lock);
	return 0;
}

static void fake_close(struct amq_transport *t)
{
	free(t);
}

static const struct amq_transport_ops fake_ops = {
	.next = fake_next, .state = fake_state, .emit = fake_emit, .finish = fake_finish,
	.dead = fake_dead, .touch = fake_touch, .close = fake_close,
};

static int fake_open(void *arg, int index, const atomic_int *stop, struct amq_transport **out,
		     char *err, size_t errlen)
{
	struct fake_transport *ft = calloc(1, sizeof(*ft));

	if (!ft)
		return -ENOMEM;
	ft->head.ops = &fake_ops;
	ft->index = index;
	ft->held = -1;
	*out = &ft->head;
	return 0;
}

/* The handler: the job's audio says what to do (see the top of the file). */
static int fake_handle(void *arg, const struct amq_job *job, struct amq_sink *sink, int *permanent,
		       char *err, size_t errlen)
{
	struct wsp_segment segs[16];
	struct wsp_result res = { .segments = segs, .language = "en", .duration_s = 1.5 };
	char what[16] = "";
	int a = 0, b = 0, rc = 0;

	atomic_fetch_add(&handler_calls, 1);
	atomic_fetch_add(&handlers_running, 1);
	sscanf(job->audio, "%15s %d %d", what, &a, &b);
	if (!strcmp(what, "bad")) {
		*permanent = 1;
		snprintf(err, errlen, "the audio is not audio");
		rc = -EINVAL;
	} else if (!strcmp(what, "fail") && amq_sink_window(sink) == 0) {
		/* fail the first a deliveries: count them in the result's retries */
		struct fake_result r = snapshot(job->id);

		if (r.retries < a) {
			snprintf(err, errlen, "the engine is busy");
			rc = -EBUSY;
		}
		a = b;
	} else if (!strcmp(what, "slow")) {
		for (int w = 0; w < a && !rc; w++) {
			rc = amq_sink_window(sink);
			nap_ms(20);
		}
		a = 1;
	}
	for (int i = 0; !rc && i < a && i < 16; i++) {
		segs[i] = (struct wsp_segment){ .start = i, .end = i + 1, .text = " word" };
		if (!(rc = amq_sink_window(sink)))
			amq_sink_segment(sink, &segs[i], i, i * 100);
		res.n_segments = i + 1;
	}
	if (!rc)
		rc = amq_sink_done(sink, &res);
	atomic_fetch_sub(&handlers_running, 1);
	return rc;
}

static struct amq_worker *start(int jobs, int max_attempts, size_t max_audio)
{
	struct amq_worker_opts o = {
		.log_name = "test_queue_worker", .jobs = jobs, .max_attempts = max_attempts,
		.max_audio = max_audio, .block_ms = 5, .touch_ms = 1,
		.open = fake_open, .handle = fake_handle,
	};
	struct amq_worker *w;
	char err[256];

	cr_assert_eq(amq_worker_start(&w, &o, err, sizeof(err)), 0, "%s", err);
	return w;
}

/* Wait (at most 30 s) until @n entries are acknowledged. */
static void wait_acked(int n)
{
	for (int i = 0; i < 3000; i++) {
		int acked;

		pthread_mutex_lock(&bus.lock);
		acked = bus.n_acked;
		pthread_mutex_unlock(&bus.lock);
		if (acked >= n)
			return;
		nap_ms(10);
	}
	cr_assert_fail("only some of %d entries were acknowledged", n);
}

static void stop(struct amq_worker *w, int hard, struct amq_worker_stats *st)
{
	amq_worker_stop(w, hard);
	while (amq_worker_running(w))
		nap_ms(5);
	amq_worker_stats(w, st);
	amq_worker_join(w);
}

TestSuite(queue_worker, .init = bus_reset);

Test(queue_worker, many_threads_answer_each_job_once)
{
	enum { N = 240 };
	struct amq_worker_stats st;
	struct amq_worker *w;
	char id[32];

	for (int i = 0; i < N; i++) {
		snprintf(id, sizeof(id), "job-%d", i);
		add_job(id, i % 2 ? "ok 3" : "ok 1");
	}
	w = start(6, 3, 0);
	wait_acked(N);
	stop(w, 0, &st);
	cr_expect_eq(st.done, N);
	cr_expect_eq(st.dead + st.failed + st.retried + st.left + st.duplicate, 0);
	cr_expect_eq(atomic_load(&handler_calls), N);
	for (int i = 0; i < N; i++) {
		struct fake_result r;

		snprintf(id, sizeof(id), "job-%d", i);
		r = snapshot(id);
		cr_expect_eq(r.done, 1, "%s: %d done events", id, r.done);
		cr_expect_eq(r.segments, i % 2 ? 3 : 1, "%s", id);
		cr_expect_eq(r.last_attempt, 1);
	}
}

Test(queue_worker, bad_jobs_are_dead_lettered_and_the_rest_flows)
{
	struct amq_worker_stats st;
	struct amq_worker *w;

	add_entry("v", "3", "id", "newer", "audio", "ok 1", NULL);
	add_entry("v", "1", "audio", "ok 1", NULL);
	add_entry("v", "1", "id", "colour", "audio", "ok 1", "colour", "blue", NULL);
	add_entry("v", "1", "id", "big", "audio", "ok 1 but far too long for the limit", NULL);
	add_job("bad-audio", "bad");
	add_job("good-1", "ok 2");
	add_job("good-2", "ok 2");
	w = start(3, 3, 16);
	wait_acked(7);
	stop(w, 0, &st);
	cr_expect_eq(st.done, 2);
	cr_expect_eq(st.dead, 5);
	cr_expect_eq(bus.n_dead, 5);
	cr_expect_eq(snapshot("good-1").done, 1);
	cr_expect_eq(snapshot("good-2").done, 1);
	cr_expect_eq(snapshot("newer").status, 400);
	cr_expect_neq(strstr(snapshot("newer").message, "version '3'"), NULL);
	cr_expect_eq(snapshot("big").status, 413);
	cr_expect_eq(snapshot("colour").status, 400);
	cr_expect_eq(snapshot("bad-audio").status, 400);
	cr_expect_str_eq(snapshot("bad-audio").message, "the audio is not audio");
	cr_expect_eq(atomic_load(&handler_calls), 3, "only decodable jobs reach the handler");
}

Test(queue_worker, retries_then_gives_up_with_the_last_error)
{
	struct amq_worker_stats st;
	struct amq_worker *w;
	struct fake_result r;

	add_job("flaky", "fail 1 2");
	add_job("hopeless", "fail 99 1");
	w = start(2, 3, 0);
	wait_acked(2);
	stop(w, 0, &st);
	r = snapshot("flaky");
	cr_expect_eq(r.done, 1);
	cr_expect_eq(r.retries, 1);
	cr_expect_eq(r.last_attempt, 2, "answered by the second delivery");
	r = snapshot("hopeless");
	cr_expect_eq(r.done, 0);
	cr_expect_eq(r.retries, 2);
	cr_expect_eq(r.errors, 1);
	cr_expect_eq(r.status, 500);
	cr_expect_str_eq(r.message, "failed 3 attempts; last error: the engine is busy");
	cr_expect_eq(st.retried, 3);
	cr_expect_eq(st.dead, 1);
}

Test(queue_worker, a_repeat_and_an_expired_job_are_not_transcribed)
{
	struct amq_worker_stats st;
	struct amq_worker *w;
	char past[32];

	pthread_mutex_lock(&bus.lock);
	result_of("answered")->done = 1;
	pthread_mutex_unlock(&bus.lock);
	add_job("answered", "ok 1");
	snprintf(past, sizeof(past), "%lld", (long long)amq_now_ms() - 1000);
	add_entry("v", "1", "id", "late", "audio", "ok 1", "deadline_ms", past, NULL);
	w = start(1, 3, 0);
	wait_acked(2);
	stop(w, 0, &st);
	cr_expect_eq(atomic_load(&handler_calls), 0);
	cr_expect_eq(st.duplicate, 1);
	cr_expect_eq(snapshot("answered").done, 1, "no second answer");
	cr_expect_eq(snapshot("late").status, 504);
	cr_expect_eq(st.failed, 1);
}

Test(queue_worker, too_many_deliveries_is_given_up)
{
	struct amq_worker_stats st;
	struct amq_worker *w;

	add_job("tired", "ok 1");
	pthread_mutex_lock(&bus.lock);
	bus.entries[0].deliveries = 3;  /* three earlier deliveries that never finished */
	snprintf(result_of("tired")->message, AMQ_MESSAGE_MAX, "out of memory");
	result_of("tired")->retries = 1;
	pthread_mutex_unlock(&bus.lock);
	w = start(1, 3, 0);
	wait_acked(1);
	stop(w, 0, &st);
	cr_expect_eq(atomic_load(&handler_calls), 0);
	cr_expect_eq(st.dead, 1);
	cr_expect_str_eq(bus.dead_why[0], "gave up after 3 deliveries; last error: out of memory");
}

Test(queue_worker, soft_stop_finishes_hard_stop_leaves_pending)
{
	struct amq_worker_stats st;
	struct amq_worker *w;

	add_job("finish-me", "slow 10");
	w = start(2, 3, 0);
	while (!atomic_load(&handlers_running))
		nap_ms(1);
	stop(w, 0, &st);
	cr_expect_eq(st.done, 1, "a soft stop lets the job in progress finish");
	cr_expect_eq(snapshot("finish-me").done, 1);
	cr_expect_gt(bus.touches, 0, "claims are kept fresh at window starts");

	bus_reset();
	add_job("leave-me", "slow 1000");
	w = start(2, 3, 0);
	while (!atomic_load(&handlers_running))
		nap_ms(1);
	stop(w, 1, &st);
	cr_expect_eq(st.left, 1, "a hard stop leaves it to another worker");
	cr_expect_eq(st.done, 0);
	cr_expect_eq(bus.entries[0].state, PENDING);
	cr_expect_eq(snapshot("leave-me").done + snapshot("leave-me").errors, 0);
}

Test(queue_worker, an_entry_in_progress_here_is_not_taken_twice)
{
	struct amq_worker_stats st;
	struct amq_worker *w;

	bus.steal = 1;
	add_job("once", "slow 10");
	w = start(3, 1000, 0);
	wait_acked(1);
	stop(w, 0, &st);
	cr_expect_eq(atomic_load(&handler_calls), 1);
	cr_expect_eq(st.done, 1);
	cr_expect_eq(snapshot("once").done, 1);
	cr_expect_gt(bus.entries[0].deliveries, 1, "the stand-in did hand it out again");
}
