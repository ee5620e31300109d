// SPDX-License-Identifier: MIT
/*
 * service/queue_client.c - the front door's half of the queue: add a job
 * to the jobs stream, then follow its result stream until the first done
 * or error event, forwarding each segment index once (a job delivered
 * twice writes its segments twice: Documentation/scale-out.md, "Answered
 * once").
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hiredis/hiredis.h>

#include "service/queue_conn.h"

#define WAIT_SLICE_MS 1000   /* a wait checks should_stop and the deadline this often */
#define READ_COUNT 128       /* events per XREAD */

int amq_enqueue(struct amq_conn *c, const char *stream, long maxlen, const struct amq_job *j,
		char *err, size_t errlen)
{
	struct amq_args a;
	redisReply *r;
	int rc;

	rc = amq_job_check(j, AMQ_WIRE_MAX_AUDIO, err, errlen);
	if (rc)
		return rc;
	amq_args_init(&a);
	amq_args_add(&a, "XADD");
	amq_args_add(&a, stream ? stream : AMQ_DEFAULT_STREAM);
	if (maxlen > 0) {
		amq_args_add(&a, "MAXLEN");
		amq_args_add(&a, "~");
		amq_args_printf(&a, "%ld", maxlen);
	}
	amq_args_add(&a, "*");
	amq_job_encode(j, &a);
	rc = amq_conn_run(c, &a, 0, &r, err, errlen);
	amq_reply_free(r);
	return rc;
}

/* Append the segment of @ev to @res (taking its text and tokens). */
static int take_segment(struct wsp_result *res, int *cap, struct amq_event *ev)
{
	if (res->n_segments == *cap) {
		int n = *cap ? 2 * *cap : 16;
		struct wsp_segment *s = realloc(res->segments, sizeof(*s) * (size_t)n);

		if (!s)
			return -ENOMEM;
		res->segments = s;
		*cap = n;
	}
	res->segments[res->n_segments++] = ev->seg;
	memset(&ev->seg, 0, sizeof(ev->seg));
	return 0;
}

struct follower {
	const struct amq_wait_hooks *h;
	struct wsp_result *res;
	struct amq_answer *ans;
	int cap;
	int finished;
};

/* One event of the stream. Return: 0, or -errno to stop. */
static int on_event(struct follower *fw, struct amq_event *ev, char *err, size_t errlen)
{
	struct wsp_result *res = fw->res;
	int rc;

	switch (ev->type) {
	case AMQ_EVENT_SEGMENT:
		if (ev->index < res->n_segments)
			return 0;  /* a repeat from another delivery */
		if (ev->index > res->n_segments) {
			snprintf(err, errlen, "segment %d arrived before segment %d", ev->index,
				 res->n_segments);
			return -EPROTO;
		}
		rc = take_segment(res, &fw->cap, ev);
		if (rc) {
			snprintf(err, errlen, "out of memory");
			return rc;
		}
		if (fw->h && fw->h->on_segment)
			fw->h->on_segment(fw->h->arg, &res->segments[res->n_segments - 1],
					  res->n_segments - 1);
		return 0;
	case AMQ_EVENT_DONE:
		if (ev->n_segments != res->n_segments) {
			snprintf(err, errlen, "done after %d segments says %d", res->n_segments,
				 ev->n_segments);
			return -EPROTO;
		}
		snprintf(res->language, sizeof(res->language), "%s", ev->language);
		res->language_prob = ev->language_prob;
		res->duration_s = ev->duration_s;
		fw->ans->status = 0;
		fw->ans->attempt = ev->attempt;
		fw->finished = 1;
		return 0;
	case AMQ_EVENT_ERROR:
		fw->ans->status = ev->status;
		fw->ans->attempt = ev->attempt;
		snprintf(fw->ans->message, sizeof(fw->ans->message), "%s", ev->message);
		fw->finished = 1;
		return 0;
	case AMQ_EVENT_RETRY:
		return 0;  /* the job goes on elsewhere */
	}
	return 0;
}

/* The entries of one XREAD reply: [[key, [[id, [fields]], ...]]]. */
static int on_reply(struct follower *fw, const redisReply *r, char *cursor, size_t cursor_cap,
		    char *err, size_t errlen)
{
	const redisReply *entries;

	if (r->type == REDIS_REPLY_NIL)
		return 0;
	if (r->type != REDIS_REPLY_ARRAY || r->elements != 1 ||
	    r->element[0]->type != REDIS_REPLY_ARRAY || r->element[0]->elements != 2)
		goto bad;
	entries = r->element[0]->element[1];
	if (entries->type != REDIS_REPLY_ARRAY)
		goto bad;
	for (size_t i = 0; i < entries->elements && !fw->finished; i++) {
		const redisReply *e = entries->element[i];
		struct amq_field f[64];
		struct amq_event ev;
		int n, rc;

		if (e->type != REDIS_REPLY_ARRAY || e->elements != 2 ||
		    e->element[0]->type != REDIS_REPLY_STRING || e->element[0]->len >= cursor_cap)
			goto bad;
		memcpy(cursor, e->element[0]->str, e->element[0]->len + 1);
		n = amq_reply_fields(e->element[1], f, 64);
		if (n < 0 || n > 64)
			goto bad;
		rc = amq_event_decode(&ev, f, n, err, errlen);
		if (rc == -EPROTONOSUPPORT)
			continue;  /* written by a newer worker: not for us */
		if (rc)
			return rc == -ENOMEM ? rc : -EPROTO;
		rc = on_event(fw, &ev, err, errlen);
		amq_event_clear(&ev);
		if (rc)
			return rc;
	}
	return 0;
bad:
	snprintf(err, errlen, "unexpected XREAD reply");
	return -EPROTO;
}

static int follow(struct amq_conn *c, const char *id, int64_t deadline_ms,
		  const struct amq_wait_hooks *h, struct wsp_result *res, struct amq_answer *ans,
		  char *err, size_t errlen)
{
	struct follower fw = { .h = h, .res = res, .ans = ans };
	char key[sizeof(AMQ_RESULT_PREFIX) + AMQ_ID_MAX], cursor[64] = "0-0";
	int rc = 0;

	memset(res, 0, sizeof(*res));
	memset(ans, 0, sizeof(*ans));
	amq_result_key(key, sizeof(key), id);
	while (!fw.finished) {
		int64_t left = deadline_ms ? deadline_ms - amq_now_ms() : WAIT_SLICE_MS;
		struct amq_args a;
		redisReply *r;

		if (h && h->should_stop && h->should_stop(h->arg)) {
			snprintf(err, errlen, "job %s: stopped waiting", id);
			return -ECANCELED;
		}
		if (left <= 0) {
			snprintf(err, errlen, "job %s: no answer before the deadline", id);
			return -ETIMEDOUT;
		}
		amq_args_init(&a);
		amq_args_add(&a, "XREAD");
		amq_args_add(&a, "COUNT");
		amq_args_printf(&a, "%d", READ_COUNT);
		amq_args_add(&a, "BLOCK");
		amq_args_printf(&a, "%d", (int)(left < WAIT_SLICE_MS ? left : WAIT_SLICE_MS));
		amq_args_add(&a, "STREAMS");
		amq_args_add(&a, key);
		amq_args_add(&a, cursor);
		rc = amq_conn_run(c, &a, WAIT_SLICE_MS, &r, err, errlen);
		if (rc)
			return rc;
		rc = on_reply(&fw, r, cursor, sizeof(cursor), err, errlen);
		amq_reply_free(r);
		if (rc)
			return rc;
	}
	return 0;
}

int amq_wait_result(struct amq_conn *c, const char *id, int64_t deadline_ms,
		    const struct amq_wait_hooks *h, struct wsp_result *res, struct amq_answer *ans,
		    char *err, size_t errlen)
{
	int rc = follow(c, id, deadline_ms, h, res, ans, err, errlen);

	if (rc)
		wsp_result_free(res);
	return rc;
}
