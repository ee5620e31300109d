/* SPDX-License-Identifier: MIT */
/*
 * tools/amanuensis-server/api.c - one API request from its headers to its
 * log line (see api.h).
 *
 * Order of checks: on the headers, readiness, the key (401), a declared
 * body over the limit (413: answered at once, the body is never read), the
 * tenant's requests in flight (429) and the server's room (503); after the
 * body, its parse (400, 413), the fields (400), the audio's length against
 * the tenant's audio_s_per_min (429 with Retry-After); then the job.
 *
 * A failure known from the headers alone is answered after the body was
 * read and dropped (it is bounded by the declared length, checked first),
 * not at once: clients write the whole body before they read, and an early
 * answer followed by a close reaches many of them as a connection reset
 * instead of a status. A client that asked "Expect: 100-continue" has sent
 * nothing yet and gets its answer at once.
 *
 * A request's state is shared by its connection thread and, for a stream,
 * the response that streams its events: each holds a reference, and the
 * last one to let go writes the log line, counts the metrics, gives back
 * its places and frees it.
 */
#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <microhttpd.h>
#include <sndfile.h>

#include "tools/amanuensis-server/api.h"
#include "tools/amanuensis-server/errors.h"
#include "tools/amanuensis-server/format.h"
#include "tools/amanuensis-server/job.h"
#include "tools/amanuensis-server/metrics.h"
#include "tools/amanuensis-server/respond.h"
#include "tools/amanuensis-server/server.h"
#include "tools/amanuensis-server/tenants.h"
#include "tools/amanuensis-server/upload.h"

/* Bytes of a stream's events handed to MHD at once. */
#define STREAM_BLOCK 4096

struct srv_call {
	struct srv_server *s;
	enum srv_endpoint ep;
	double t0;
	int tenant;                   /* -1 until the key names one */
	int admitted;                 /* holds a place (srv_tenants_admit) */
	atomic_int refs;              /* connection + streaming response */
	struct srv_request req;
	int req_ok;
	struct srv_upload up;
	int up_ok;
	struct srv_job job;
	int job_ok;
	/* a failure decided on the headers, answered after the body */
	int fail_status;
	int fail_now;                 /* answer on the headers: the body is not to be read */
	unsigned fail_retry;
	char fail_param[40];
	char fail_message[256];
	size_t dropped;
	/* for the log line */
	int status;
	double audio_s;
	char why[600];
	int recorded;
};

static const char *tenant_name(const struct srv_call *k)
{
	const struct srv_keyring *kr = &k->s->keys;

	if (k->tenant < 0 || (size_t)k->tenant >= kr->n_tenants)
		return "-";
	return kr->tenants[k->tenant].name;
}

/*
 * record - the request's log line and metrics, once: as its answer is
 * queued (so that a client that reads the log or /metrics right after its
 * answer finds it there), or when it ends without one.
 */
static void record(struct srv_call *k)
{
	struct srv_server *s = k->s;
	double wall = srv_now() - k->t0;

	if (k->recorded)
		return;
	k->recorded = 1;
	if (!s->opts->quiet) {
		if (k->status == 499)
			srv_log("request tenant=%s endpoint=%s status=499 audio_s=%.2f wall_s=%.2f "
				"cancelled", tenant_name(k), srv_endpoint_name(k->ep), k->audio_s, wall);
		else if (k->status >= 400)
			srv_log("request tenant=%s endpoint=%s status=%d audio_s=%.2f wall_s=%.2f "
				"error=\"%s\"", tenant_name(k), srv_endpoint_name(k->ep), k->status,
				k->audio_s, wall, k->why);
		else
			srv_log("request tenant=%s endpoint=%s status=%d audio_s=%.2f wall_s=%.2f",
				tenant_name(k), srv_endpoint_name(k->ep), k->status, k->audio_s, wall);
	}
	if (k->tenant >= 0)
		srv_metrics_request_done(s->metrics, (size_t)k->tenant, srv_endpoint_name(k->ep),
					 k->status, k->audio_s, wall);
}

/* finish - the last reference is gone: record if not yet, give back, free. */
static void finish(struct srv_call *k)
{
	struct srv_server *s = k->s;

	record(k);
	if (k->job_ok)
		srv_job_free(&k->job);
	if (k->up_ok)
		srv_upload_free(&k->up);
	if (k->req_ok)
		srv_request_free(&k->req);
	if (k->admitted) {
		srv_tenants_leave(s->tenants, (size_t)k->tenant);
		srv_metrics_inflight(s->metrics, (size_t)k->tenant, -1);
	}
	free(k);
	srv_server_leave(s);
}

static void put(struct srv_call *k)
{
	/*
	 * acq_rel: whoever drops the last reference must see every write the
	 * other holder made to the request before it let go (the stream's
	 * status, the connection's flags).
	 */
	if (atomic_fetch_sub_explicit(&k->refs, 1, memory_order_acq_rel) == 1)
		finish(k);
}

/* answer_error - queue an error and remember it for the log. */
static int answer_error(struct srv_call *k, struct MHD_Connection *c, int status,
			const char *param, unsigned retry, const char *message)
{
	k->status = status;
	snprintf(k->why, sizeof(k->why), "%s", message);
	record(k);
	return srv_queue_error(c, status, param, NULL, retry, NULL, message) == MHD_YES;
}

static void fail_later(struct srv_call *k, int status, const char *param, unsigned retry,
		       const char *message)
{
	k->fail_status = status;
	k->fail_retry = retry;
	snprintf(k->fail_param, sizeof(k->fail_param), "%s", param ? param : "");
	snprintf(k->fail_message, sizeof(k->fail_message), "%s", message);
}

/* declared_length - the Content-Length header, or -1 when absent or unreadable. */
static long long declared_length(struct MHD_Connection *c)
{
	const char *v = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
						    MHD_HTTP_HEADER_CONTENT_LENGTH);
	char *end;
	long long n;

	if (!v)
		return -1;
	n = strtoll(v, &end, 10);
	return (end == v || *end || n < 0) ? -1 : n;
}

static int expects_continue(struct MHD_Connection *c)
{
	const char *v = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_EXPECT);

	return v && !strcasecmp(v, "100-continue");
}

/* admit - the checks the headers allow; a failure goes to fail_later(). */
static void admit(struct srv_call *k, struct MHD_Connection *c)
{
	struct srv_server *s = k->s;
	const char *auth;
	int rc;

	if (atomic_load_explicit(&s->draining, memory_order_relaxed)) {
		fail_later(k, 503, NULL, 0, "the server is shutting down");
		return;
	}
	if (!atomic_load_explicit(&s->ready, memory_order_acquire)) {
		fail_later(k, 503, NULL, 5, "the server is loading its model; retry shortly");
		return;
	}
	auth = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION);
	k->tenant = srv_keyring_lookup(&s->keys, auth);
	if (k->tenant < 0) {
		fail_later(k, 401, NULL, 0, auth ? "incorrect API key provided" :
			   "no API key: send the header Authorization: Bearer KEY");
		return;
	}
	if (declared_length(c) > (long long)s->max_body) {
		char msg[128];

		snprintf(msg, sizeof(msg), "the upload is larger than this server's limit of %u MiB",
			 s->opts->max_upload_mb);
		fail_later(k, 413, "file", 0, msg);
		k->fail_now = 1;     /* the body will not be read */
		return;
	}
	rc = srv_tenants_admit(s->tenants, (size_t)k->tenant);
	if (rc == -EUSERS) {
		fail_later(k, 429, NULL, 1, "too many requests of this key at once; retry when "
			   "one has finished");
		return;
	}
	if (rc) {
		fail_later(k, 503, NULL, rc == -EBUSY ? 2 : 0, rc == -EBUSY ?
			   "the server is overloaded: its queue is full; retry shortly" :
			   "the server is shutting down");
		return;
	}
	k->admitted = 1;
	srv_metrics_inflight(s->metrics, (size_t)k->tenant, +1);
	if (srv_request_init(&k->req, k->ep)) {
		fail_later(k, 503, NULL, 1, "the server is out of memory");
		return;
	}
	k->req_ok = 1;
	rc = srv_upload_begin(&k->up, c, &k->req, s->max_upload, s->max_body);
	k->up_ok = 1;
	if (rc)
		fail_later(k, k->up.status ? k->up.status : 503, NULL, 0, k->up.message);
}

int srv_api_begin(struct srv_server *s, struct MHD_Connection *c, enum srv_endpoint ep,
		  void **con_cls)
{
	struct srv_call *k = calloc(1, sizeof(*k));

	if (!k)
		return 0;
	srv_server_enter(s);
	k->s = s;
	k->ep = ep;
	k->t0 = srv_now();
	k->tenant = -1;
	atomic_init(&k->refs, 1);
	*con_cls = k;

	admit(k, c);
	/*
	 * A declared body over the limit is answered at once and never read
	 * (whoever can be told from the headers alone is, too, when it waits
	 * for 100 Continue); other failures after the body.
	 */
	if (k->fail_status && (k->fail_now || declared_length(c) > (long long)s->max_body ||
			       expects_continue(c)))
		return answer_error(k, c, k->fail_status, k->fail_param, k->fail_retry,
				    k->fail_message);
	return 1;
}

/* audio_seconds - the upload's length from its header (0 when unknown). */
static double audio_seconds(const char *path)
{
	SF_INFO info = { 0 };
	SNDFILE *sf = sf_open(path, SFM_READ, &info);
	double s = 0;

	if (!sf)
		return 0;
	if (info.samplerate > 0 && info.frames > 0 && info.frames < SF_COUNT_MAX)
		s = (double)info.frames / info.samplerate;
	sf_close(sf);
	return s;
}

static ssize_t stream_read(void *cls, uint64_t pos, char *buf, size_t max)
{
	struct srv_call *k = cls;
	/* well inside --idle-timeout, which MHD counts from the last byte sent */
	ssize_t n = srv_job_read(&k->job, buf, max, k->s->opts->idle_timeout_s / 3.0);

	if (n > 0)
		return n;
	return n == 0 ? MHD_CONTENT_READER_END_OF_STREAM : MHD_CONTENT_READER_END_WITH_ERROR;
}

/* stream_done - MHD dropped the stream's response: the job must end, then let go. */
static void stream_done(void *cls)
{
	struct srv_call *k = cls;

	if (!srv_job_ended(&k->job))
		srv_job_cancel(&k->job, SRV_CANCEL_CLIENT);
	srv_job_free(&k->job);      /* joins its thread first */
	k->job_ok = 0;
	k->status = k->job.status;
	k->audio_s = k->job.status == 200 ? k->job.audio_s : 0;
	snprintf(k->why, sizeof(k->why), "%s", k->job.message);
	put(k);
}

static int answer_stream(struct srv_call *k, struct MHD_Connection *c)
{
	struct MHD_Response *r;
	int rc;

	rc = srv_job_start(&k->job);
	if (rc)
		return answer_error(k, c, 503, NULL, 1, "cannot start the transcription");
	if (srv_job_ended(&k->job) && k->job.status != 200) {
		/* nothing was sent yet: the failure is the answer's status */
		snprintf(k->why, sizeof(k->why), "%s", k->job.message);
		if (k->job.status == 499) {
			k->status = 499;
			return 0;
		}
		return answer_error(k, c, k->job.status, k->job.status == 400 ? "file" : NULL, 0,
				    k->job.message);
	}
	r = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, STREAM_BLOCK, stream_read, k,
					      stream_done);
	if (!r) {
		srv_job_cancel(&k->job, SRV_CANCEL_SHUTDOWN);
		return answer_error(k, c, 503, NULL, 1, "the server is out of memory");
	}
	srv_respond_headers(r, "text/event-stream");
	MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-cache");
	atomic_fetch_add_explicit(&k->refs, 1, memory_order_relaxed);   /* the response's */
	k->status = 200;
	return srv_respond_queue(c, 200, r) == MHD_YES;
}

static int answer_plain(struct srv_call *k, struct MHD_Connection *c)
{
	struct srv_job *j = &k->job;
	const char *ctype;
	size_t len;
	char *body;
	int status;

	status = srv_job_run(j);
	snprintf(k->why, sizeof(k->why), "%s", j->message);
	if (status == 499) {
		k->status = 499;
		return 0;        /* nobody to answer: close */
	}
	if (status != 200)
		return answer_error(k, c, status, status == 400 ? "file" : NULL, 0, j->message);
	if (srv_format_body(&j->res, k->req.format,
			    k->ep == SRV_EP_TRANSLATIONS ? "translate" : "transcribe",
			    j->n_seeks >= j->res.n_segments ? j->seeks : NULL, &body, &len, &ctype))
		return answer_error(k, c, 500, NULL, 0, "cannot format the result");
	k->status = 200;
	k->audio_s = j->res.duration_s;
	record(k);
	return srv_respond(c, 200, ctype, body, len, 1) == MHD_YES;
}

/* answer - the body is complete. */
static int answer(struct srv_call *k, struct MHD_Connection *c)
{
	struct srv_server *s = k->s;
	const union MHD_ConnectionInfo *ci;
	struct srv_reqerr e;
	unsigned retry = 0;
	double deadline = 0, secs;
	char path[64], msg[160];

	if (k->fail_status)
		return answer_error(k, c, k->fail_status, k->fail_param, k->fail_retry,
				    k->fail_message);
	if (srv_upload_end(&k->up))
		return answer_error(k, c, k->up.status, k->up.param, 0, k->up.message);
	if (srv_request_check(&k->req, s->tenants->t[k->tenant].ctx, s->multilingual, &e))
		return answer_error(k, c, e.status, e.param, 0, e.message);
	/* with --queue the workers' VAD does it (a worker without one refuses the job) */
	if (k->req.vad_filter && !s->vad && !s->remote)
		return answer_error(k, c, 400, "vad_filter", 0,
				    "vad_filter needs the VAD weights, and this server has none "
				    "loaded (start it with --vad-model PATH; see Documentation/vad.md)");
	snprintf(path, sizeof(path), "/proc/self/fd/%d", k->up.fd);
	secs = audio_seconds(path);
	if (srv_tenants_charge(s->tenants, (size_t)k->tenant, secs, &retry)) {
		snprintf(msg, sizeof(msg), "this key's audio_s_per_min is used up; retry in %u s",
			 retry);
		return answer_error(k, c, 429, NULL, retry, msg);
	}
	if (s->opts->request_timeout_s)
		deadline = k->t0 + s->opts->request_timeout_s;
	ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
	srv_job_init(&k->job, s, (size_t)k->tenant, &k->req, k->up.fd, k->up.filename,
		     ci ? ci->connect_fd : -1, deadline);
	k->job.total_s = secs;
	k->job_ok = 1;
	return k->req.stream ? answer_stream(k, c) : answer_plain(k, c);
}

int srv_api_continue(struct srv_server *s, struct MHD_Connection *c, const char *data,
		     size_t *size, void *call)
{
	struct srv_call *k = call;
	size_t n = *size;

	if (!n)
		return answer(k, c);
	*size = 0;
	if (k->fail_status) {
		/* dropped, but counted: a body is never read past the limit */
		if (n > s->max_body - k->dropped) {
			k->status = k->fail_status;
			snprintf(k->why, sizeof(k->why), "%s (body over the limit: closed)",
				 k->fail_message);
			return 0;
		}
		k->dropped += n;
		return 1;
	}
	if (srv_upload_feed(&k->up, data, n)) {
		k->status = 413;
		snprintf(k->why, sizeof(k->why), "body over the limit without a Content-Length: "
			 "closed");
		return 0;
	}
	return 1;
}

void srv_api_completed(struct srv_server *s, void *call, int ok)
{
	struct srv_call *k = call;

	if (k->job_ok && k->job.stream) {
		/* the socket closes after this: stop looking at it, and stop a stream cut short */
		srv_job_unwatch(&k->job);
		if (!ok)
			srv_job_cancel(&k->job, SRV_CANCEL_CLIENT);
	}
	if (!k->status)
		k->status = 499;   /* the connection ended before an answer */
	put(k);
}
