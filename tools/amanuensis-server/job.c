/* SPDX-License-Identifier: MIT */
/*
 * tools/amanuensis-server/job.c - one transcription of an upload, with the
 * hooks that share the machine window by window and stop the work of a
 * client that left (see job.h).
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>

#include "tools/amanuensis-server/fair.h"
#include "tools/amanuensis-server/format.h"
#include "tools/amanuensis-server/job.h"
#include "tools/amanuensis-server/server.h"
#include "tools/amanuensis-server/remote.h"
#include "tools/amanuensis-server/tenants.h"

void srv_job_init(struct srv_job *j, struct srv_server *srv, size_t tenant,
		  const struct srv_request *req, int audio_fd, const char *filename,
		  int conn_fd, double deadline)
{
	pthread_condattr_t ca;

	memset(j, 0, sizeof(*j));
	j->srv = srv;
	j->tenant = tenant;
	j->req = req;
	j->stream = req->stream;
	j->audio_fd = audio_fd;
	/* a path the library can open although the file has no name any more */
	snprintf(j->path, sizeof(j->path), "/proc/self/fd/%d", audio_fd);
	j->filename = filename && *filename ? filename : "file";
	atomic_init(&j->cancel, SRV_CANCEL_NONE);
	j->watch.fd = conn_fd;
	j->watch.deadline = deadline;
	j->watch.cancel = &j->cancel;
	pthread_mutex_init(&j->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&j->cond, &ca);
	pthread_condattr_destroy(&ca);
}

static int reason_errno(int reason)
{
	switch (reason) {
	case SRV_CANCEL_TIMEOUT:  return -ETIMEDOUT;
	case SRV_CANCEL_SHUTDOWN: return -ESHUTDOWN;
	default:                  return -ECANCELED;
	}
}

/* check - srv_tenants_run_begin()'s poll while a request waits for a place. */
static int check(void *arg)
{
	struct srv_job *j = arg;
	int reason = srv_watch_check(j->srv->watch, &j->watch);

	return reason ? reason_errno(reason) : 0;
}

/* push - queue @n bytes of events for the reader; @ev is consumed. */
static void push(struct srv_job *j, char *ev, size_t n)
{
	pthread_mutex_lock(&j->lock);
	if (!ev) {
		j->out_failed = 1;
	} else {
		if (j->out_off) {
			memmove(j->out, j->out + j->out_off, j->out_len - j->out_off);
			j->out_len -= j->out_off;
			j->out_off = 0;
		}
		if (j->out_len + n > j->out_cap) {
			size_t cap = j->out_cap ? j->out_cap : 4096;
			char *p;

			while (cap < j->out_len + n)
				cap *= 2;
			p = realloc(j->out, cap);
			if (p) {
				j->out = p;
				j->out_cap = cap;
			}
		}
		if (j->out_len + n <= j->out_cap) {
			memcpy(j->out + j->out_len, ev, n);
			j->out_len += n;
		} else {
			j->out_failed = 1;
		}
	}
	pthread_cond_broadcast(&j->cond);
	pthread_mutex_unlock(&j->lock);
	free(ev);
}

static int hook_window_begin(void *arg, double start_s, double length_s)
{
	struct srv_job *j = arg;
	int reason, rc;

	if (!j->batched)
		j->window_start = start_s;   /* one window at a time: no other thread writes it */
	if (j->stream) {
		pthread_mutex_lock(&j->lock);
		j->begun = 1;
		pthread_cond_broadcast(&j->cond);
		pthread_mutex_unlock(&j->lock);
	}
	/* between windows: did the client leave, is the time up? */
	reason = srv_watch_check(j->srv->watch, &j->watch);
	if (reason)
		return reason_errno(reason);
	rc = srv_fair_acquire_ranked(j->srv->fair, j->tenant, length_s > 0.01 ? length_s : 0.01,
				     j->total_s > start_s ? j->total_s - start_s : length_s,
				     &j->cancel);
	if (rc == -ECANCELED)
		return reason_errno(atomic_load(&j->cancel));
	if (rc)
		return rc;
	/* a batched request's windows begin and end on several threads */
	atomic_fetch_add(&j->holding, 1);
	return 0;
}

static void hook_window_end(void *arg)
{
	struct srv_job *j = arg;

	/*
	 * Every window_end follows its own window_begin's grant, so the count
	 * is above 0 here; the check guards a stray call all the same.
	 */
	if (atomic_load(&j->holding) > 0) {
		atomic_fetch_sub(&j->holding, 1);
		srv_fair_release(j->srv->fair, j->tenant);
	}
}

static void hook_on_segment(void *arg, const struct wsp_segment *seg, int index)
{
	struct srv_job *j = arg;
	size_t n = 0;
	char *ev;

	if (index >= j->cap_seeks) {
		int cap = j->cap_seeks ? j->cap_seeks * 2 : 64;
		int *p;

		while (cap <= index)
			cap *= 2;
		p = realloc(j->seeks, (size_t)cap * sizeof(*p));
		if (p) {
			j->seeks = p;
			j->cap_seeks = cap;
		}
	}
	if (index < j->cap_seeks) {
		/* batched: windows overlap in time, the segment's own start stands for its window's */
		j->seeks[index] = (int)lround((j->batched ? seg->start : j->window_start) * 100.0);
		if (index >= j->n_seeks)
			j->n_seeks = index + 1;
	}
	if (j->stream) {
		ev = srv_format_sse_delta(seg, &n);
		push(j, ev, n);
	}
}

/* name_the_file - @err with the upload's /proc path written as the client's name. */
static void name_the_file(struct srv_job *j, const char *err)
{
	size_t plen = strlen(j->path), o = 0;
	const char *p = err;

	while (*p && o + 1 < sizeof(j->message)) {
		if (!strncmp(p, j->path, plen)) {
			o += (size_t)snprintf(j->message + o, sizeof(j->message) - o, "%s",
					      j->filename);
			p += plen;
			continue;
		}
		j->message[o++] = *p++;
	}
	if (o >= sizeof(j->message))
		o = sizeof(j->message) - 1;
	j->message[o] = '\0';
}

static void outcome(struct srv_job *j, int rc, const char *err)
{
	int reason = atomic_load(&j->cancel);

	j->rc = rc;
	if (!rc) {
		j->status = 200;
		j->audio_s = j->res.duration_s;
		j->message[0] = '\0';
	} else if (reason == SRV_CANCEL_CLIENT || (rc == -ECANCELED && !reason)) {
		j->status = 499;
		snprintf(j->message, sizeof(j->message), "cancelled: the client closed the connection");
	} else if (rc == -ETIMEDOUT || reason == SRV_CANCEL_TIMEOUT) {
		j->status = 503;
		snprintf(j->message, sizeof(j->message), "the request took longer than this "
			 "server's --request-timeout of %u s", j->srv->opts->request_timeout_s);
	} else if (rc == -ESHUTDOWN || reason == SRV_CANCEL_SHUTDOWN) {
		j->status = 503;
		snprintf(j->message, sizeof(j->message), "the server is shutting down");
	} else if (j->remote_status) {
		/* the worker's answer (400 bad audio, 500, 504), or 503 when Redis failed */
		j->status = j->remote_status;
		if (j->status == 503 && rc != -EREMOTEIO)
			snprintf(j->message, sizeof(j->message), "the job queue is unreachable: %s",
				 err && *err ? err : strerror(-rc));
		else
			name_the_file(j, err && *err ? err : "the worker failed");
	} else if (rc == -EINVAL || rc == -ENOENT || rc == -EILSEQ || rc == -ENODATA) {
		j->status = 400;
		name_the_file(j, err && *err ? err : "the audio could not be decoded");
	} else if (rc == -ENOMEM) {
		j->status = 503;
		snprintf(j->message, sizeof(j->message), "the server is out of memory");
	} else {
		j->status = 500;
		name_the_file(j, err && *err ? err : strerror(-rc));
	}
}

/* remote_stop - amq_wait_result()'s poll: the client left or the time is up. */
static int remote_stop(void *arg)
{
	struct srv_job *j = arg;

	return srv_watch_check(j->srv->watch, &j->watch) != SRV_CANCEL_NONE;
}

static void remote_segment(void *arg, const struct wsp_segment *seg, int index)
{
	struct srv_job *j = arg;

	if (j->stream && !j->begun) {
		/* the worker decodes: the first segment says the audio was good */
		pthread_mutex_lock(&j->lock);
		j->begun = 1;
		pthread_cond_broadcast(&j->cond);
		pthread_mutex_unlock(&j->lock);
	}
	hook_on_segment(arg, seg, index);
}

/* The decoding options of @j's request: the library's defaults, --batch, then the form's. */
static void request_opts(const struct srv_job *j, struct wsp_transcribe_opts *t)
{
	wsp_transcribe_opts_default(t);
	t->batch = (int)j->srv->opts->batch;
	srv_request_apply(j->req, t);
}

/*
 * run_remote - the --queue mode: the upload's bytes and the request's
 * options as a job for a worker; its answer as if decoded here. The seek
 * of verbose_json's segments is 0 (workers do not send their windows).
 */
static int run_remote(struct srv_job *j, char *err, size_t errlen)
{
	const struct srv_request *req = j->req;
	struct amq_wait_hooks h = { remote_segment, remote_stop, j };
	struct amq_answer ans;
	struct amq_job q;
	struct stat st;
	void *audio;
	int rc, i;

	if (fstat(j->audio_fd, &st) || st.st_size <= 0) {
		snprintf(err, errlen, "cannot read the upload back: %s", strerror(errno));
		return -EIO;
	}
	audio = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, j->audio_fd, 0);
	if (audio == MAP_FAILED) {
		snprintf(err, errlen, "cannot read the upload back: %s", strerror(errno));
		return -EIO;
	}
	amq_job_init(&q);
	rc = amq_job_new_id(q.id);
	if (rc) {
		munmap(audio, (size_t)st.st_size);
		snprintf(err, errlen, "no random bytes for a job id");
		return rc;
	}
	q.tenant = j->srv->keys.tenants[j->tenant].name;
	q.enqueued_ms = amq_now_ms();
	if (j->watch.deadline > 0)
		q.deadline_ms = q.enqueued_ms + (int64_t)((j->watch.deadline - srv_now()) * 1000.0);
	q.filename = j->filename;
	snprintf(q.language, sizeof(q.language), "%s", req->language);
	q.task = req->endpoint == SRV_EP_TRANSLATIONS ? WSP_TASK_TRANSLATE : WSP_TASK_TRANSCRIBE;
	q.prompt = req->prompt;
	for (i = 0; i < req->n_temperatures && i < AMQ_MAX_TEMPERATURES; i++)
		q.temperatures[i] = req->temperatures[i];
	q.n_temperatures = i;
	{
		/* the batch the local mode would use */
		struct wsp_transcribe_opts t;

		request_opts(j, &t);
		q.batch = t.batch > 1 ? t.batch : 0;
	}
	q.vad_filter = req->vad_filter;
	q.audio = audio;
	q.audio_len = (size_t)st.st_size;
	rc = srv_remote_transcribe(j->srv->remote, &q, &h, &j->res, &ans, err, errlen);
	munmap(audio, (size_t)st.st_size);
	if (rc == -ECANCELED || rc == -ETIMEDOUT)
		return rc;
	if (rc) {
		/* Redis itself failed us: the work may be fine, the service is not */
		j->remote_status = 503;
		return rc;
	}
	if (ans.status) {
		wsp_result_free(&j->res);
		j->remote_status = ans.status;
		snprintf(err, errlen, "%s", ans.message[0] ? ans.message : "the worker failed");
		return -EREMOTEIO;
	}
	return 0;
}

/* run - admission to a transcribing place, the transcription, the outcome. */
static void run(struct srv_job *j)
{
	struct srv_tenants *ts = j->srv->tenants;
	struct wsp_transcribe_opts t;
	char err[512] = "";
	int rc;

	rc = srv_tenants_run_begin(ts, check, j);
	if (rc) {
		outcome(j, rc, NULL);
		return;
	}
	j->running = 1;
	if (j->srv->remote) {
		rc = run_remote(j, err, sizeof(err));
		srv_tenants_run_end(ts);
		j->running = 0;
		outcome(j, rc, err);
		return;
	}
	request_opts(j, &t);
	if (j->req->vad_filter)
		t.vad = j->srv->vad;    /* checked non-NULL when the request was answered */
	j->batched = t.batch > 1;
	t.window_begin = hook_window_begin;
	t.window_end = hook_window_end;
	t.on_segment = hook_on_segment;
	t.hook_arg = j;
	rc = wsp_transcribe_file(ts->t[j->tenant].ctx, j->path, &t, &j->res, err, sizeof(err));
	srv_tenants_run_end(ts);
	j->running = 0;
	if (rc)
		wsp_result_free(&j->res);
	outcome(j, rc, err);
}

int srv_job_run(struct srv_job *j)
{
	srv_watch_add(j->srv->watch, &j->watch);
	run(j);
	srv_watch_remove(j->srv->watch, &j->watch);
	return j->status;
}

static void *stream_main(void *arg)
{
	struct srv_job *j = arg;
	size_t n = 0;
	char *ev = NULL;

	run(j);
	srv_watch_remove(j->srv->watch, &j->watch);
	if (j->status == 200)
		ev = srv_format_sse_done(&j->res, &n);
	else if (j->status != 499)
		ev = srv_format_sse_error(j->status, j->message, &n);
	if (ev)
		push(j, ev, n);
	pthread_mutex_lock(&j->lock);
	j->finished = 1;
	pthread_cond_broadcast(&j->cond);
	pthread_mutex_unlock(&j->lock);
	return NULL;
}

int srv_job_start(struct srv_job *j)
{
	int rc;

	srv_watch_add(j->srv->watch, &j->watch);
	rc = pthread_create(&j->thread, NULL, stream_main, j);
	if (rc) {
		srv_watch_remove(j->srv->watch, &j->watch);
		return -rc;
	}
	j->thread_started = 1;
	pthread_mutex_lock(&j->lock);
	while (!j->begun && !j->finished)
		pthread_cond_wait(&j->cond, &j->lock);
	pthread_mutex_unlock(&j->lock);
	return 0;
}

int srv_job_ended(struct srv_job *j)
{
	int ended;

	if (!j->thread_started)
		return 1;
	pthread_mutex_lock(&j->lock);
	ended = j->finished;
	pthread_mutex_unlock(&j->lock);
	return ended;
}

ssize_t srv_job_read(struct srv_job *j, char *buf, size_t max, double keepalive_s)
{
	static const char comment[] = ": keep-alive\n\n";
	struct timespec until;
	ssize_t n;
	int rc = 0;

	if (keepalive_s < 0.1)
		keepalive_s = 0.1;
	clock_gettime(CLOCK_MONOTONIC, &until);
	until.tv_sec += (time_t)keepalive_s;
	until.tv_nsec += (long)((keepalive_s - (double)(time_t)keepalive_s) * 1e9);
	if (until.tv_nsec >= 1000000000L) {
		until.tv_sec++;
		until.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&j->lock);
	while (j->out_off == j->out_len && !j->finished && !j->out_failed && rc != ETIMEDOUT)
		rc = pthread_cond_timedwait(&j->cond, &j->lock, &until);
	if (j->out_off == j->out_len && !j->finished && !j->out_failed) {
		/* nothing for a while: a comment line, which SSE readers skip */
		n = (ssize_t)(sizeof(comment) - 1 < max ? sizeof(comment) - 1 : max);
		memcpy(buf, comment, (size_t)n);
	} else if (j->out_off < j->out_len) {
		n = (ssize_t)(j->out_len - j->out_off < max ? j->out_len - j->out_off : max);
		memcpy(buf, j->out + j->out_off, (size_t)n);
		j->out_off += (size_t)n;
	} else {
		n = (j->status == 499 || j->out_failed) ? -1 : 0;
	}
	pthread_mutex_unlock(&j->lock);
	return n;
}

void srv_job_cancel(struct srv_job *j, int reason)
{
	srv_cancel_set(&j->cancel, reason);
	if (j->srv->fair)
		srv_fair_wake(j->srv->fair);
}

void srv_job_unwatch(struct srv_job *j)
{
	srv_watch_remove(j->srv->watch, &j->watch);
}

void srv_job_free(struct srv_job *j)
{
	if (j->thread_started)
		pthread_join(j->thread, NULL);
	j->thread_started = 0;
	srv_watch_remove(j->srv->watch, &j->watch);
	wsp_result_free(&j->res);
	free(j->seeks);
	free(j->out);
	j->seeks = NULL;
	j->out = NULL;
	pthread_cond_destroy(&j->cond);
	pthread_mutex_destroy(&j->lock);
}
