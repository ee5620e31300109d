// SPDX-License-Identifier: MIT
/*
 * service/queue_redis.c - the worker's transport over Redis Streams: one
 * connection per job thread; deliveries from XAUTOCLAIM (entries another
 * consumer left idle past the visibility timeout: at start, then
 * periodically) before XREADGROUP of new ones; the delivery count from
 * XPENDING; result events with XADD + EXPIRE; the end of a job (final
 * event, XACK, XDEL) and the dead letter in MULTI/EXEC transactions.
 * Documentation/scale-out.md has every command.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <hiredis/hiredis.h>

#include "service/queue_conn.h"
#include "service/queue_worker.h"

#define STATE_PAGE 256                /* result entries per XRANGE while looking for a final one */

struct redis_transport {
	struct amq_transport head;
	const struct amq_redis_opts *o;
	struct amq_conn *c;
	int index;
	char dead_key[300];
	char cursor[64];              /* where XAUTOCLAIM's scan of the pending list goes on */
	double next_reclaim_ms;       /* monotonic; 0: at the first read */
	int reclaim_every_ms;
	redisReply *held;             /* the reply the current delivery points into */
};

static double mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static struct redis_transport *of(struct amq_transport *t)
{
	return (struct redis_transport *)t;
}

/* XGROUP CREATE stream group 0 MKSTREAM: from the first entry, so jobs added before any worker count. */
static int create_group(struct amq_conn *c, const struct amq_redis_opts *o, char *err, size_t errlen)
{
	struct amq_args a;
	redisReply *r;
	int rc;

	amq_args_init(&a);
	amq_args_add(&a, "XGROUP");
	amq_args_add(&a, "CREATE");
	amq_args_add(&a, o->stream);
	amq_args_add(&a, o->group);
	amq_args_add(&a, "0");
	amq_args_add(&a, "MKSTREAM");
	rc = amq_conn_run(c, &a, 0, &r, err, errlen);
	amq_reply_free(r);
	if (rc == -EPROTO && !strncmp(err, "BUSYGROUP", 9))
		return 0;
	if (!rc)
		amq_log(o->log_name, "created consumer group %s on stream %s", o->group, o->stream);
	return rc;
}

static struct amq_conn_opts conn_opts(const struct amq_redis_opts *o, const atomic_int *stop)
{
	struct amq_conn_opts co = { .log_name = o->log_name, .stop = stop };

	return co;
}

int amq_redis_prepare(const struct amq_redis_opts *o, const atomic_int *stop, char *err, size_t errlen)
{
	struct amq_conn_opts co = conn_opts(o, stop);
	struct amq_conn *c;
	int rc;

	rc = amq_conn_open(&c, o->url, &co, err, errlen);
	if (rc)
		return rc;
	rc = create_group(c, o, err, errlen);
	amq_conn_close(c);
	return rc;
}

/* A failed command: recreate a group that vanished (a Redis without its data), log the rest. */
static int failed(struct redis_transport *rt, const char *what, int rc, const char *err)
{
	char err2[256];

	if (rc == -EPROTO && !strncmp(err, "NOGROUP", 7)) {
		amq_log(rt->o->log_name, "%s: the consumer group is gone; creating it again", what);
		if (!create_group(rt->c, rt->o, err2, sizeof(err2)))
			return -EAGAIN;
		amq_log(rt->o->log_name, "%s: %s", what, err2);
		return -EPROTO;
	}
	if (rc != -ECANCELED)
		amq_log(rt->o->log_name, "%s: %s", what, err);
	return rc;
}

/* [id, [fields]] of a stream entry into @d. Return: 0, -ENOENT (deleted: nil fields), -EPROTO. */
static int fill_delivery(const redisReply *e, struct amq_delivery *d)
{
	int n;

	if (e->type != REDIS_REPLY_ARRAY || e->elements != 2 ||
	    e->element[0]->type != REDIS_REPLY_STRING || e->element[0]->len >= sizeof(d->entry_id))
		return -EPROTO;
	memcpy(d->entry_id, e->element[0]->str, e->element[0]->len + 1);
	if (e->element[1]->type == REDIS_REPLY_NIL)
		return -ENOENT;
	n = amq_reply_fields(e->element[1], d->fields, AMQ_MAX_FIELDS);
	if (n < 0)
		return n;
	d->n_fields = n;
	d->attempt = 1;
	return 0;
}

/* The delivery count of entry @id from XPENDING. Return: the count, 0 when no longer pending, or -errno. */
static int delivery_count(struct redis_transport *rt, const char *id)
{
	char err[256];
	struct amq_args a;
	redisReply *r;
	int rc;

	amq_args_init(&a);
	amq_args_add(&a, "XPENDING");
	amq_args_add(&a, rt->o->stream);
	amq_args_add(&a, rt->o->group);
	amq_args_add(&a, id);
	amq_args_add(&a, id);
	amq_args_add(&a, "1");
	rc = amq_conn_run(rt->c, &a, 0, &r, err, sizeof(err));
	if (rc)
		return failed(rt, "XPENDING", rc, err);
	rc = 0;
	if (r->type == REDIS_REPLY_ARRAY && r->elements == 1 &&
	    r->element[0]->type == REDIS_REPLY_ARRAY && r->element[0]->elements == 4 &&
	    r->element[0]->element[3]->type == REDIS_REPLY_INTEGER)
		rc = (int)r->element[0]->element[3]->integer;
	amq_reply_free(r);
	return rc;
}

/*
 * reclaim - XAUTOCLAIM one entry idle past the visibility timeout for
 * this consumer. The scan of the pending list goes on from call to call
 * until it has gone round, then pauses for reclaim_every_ms.
 * Return: 0 with @d, -EAGAIN for none, or -errno.
 */
static int reclaim(struct redis_transport *rt, struct amq_delivery *d)
{
	const redisReply *entries;
	char err[256];
	struct amq_args a;
	redisReply *r;
	int rc;

	amq_args_init(&a);
	amq_args_add(&a, "XAUTOCLAIM");
	amq_args_add(&a, rt->o->stream);
	amq_args_add(&a, rt->o->group);
	amq_args_add(&a, rt->o->consumer);
	amq_args_printf(&a, "%d", rt->o->visibility_ms);
	amq_args_add(&a, rt->cursor);
	amq_args_add(&a, "COUNT");
	amq_args_add(&a, "1");
	rc = amq_conn_run(rt->c, &a, 0, &r, err, sizeof(err));
	if (rc) {
		rt->next_reclaim_ms = mono_ms() + rt->reclaim_every_ms;
		return failed(rt, "XAUTOCLAIM", rc, err);
	}
	if (r->type != REDIS_REPLY_ARRAY || r->elements < 2 ||
	    r->element[0]->type != REDIS_REPLY_STRING || r->element[0]->len >= sizeof(rt->cursor) ||
	    r->element[1]->type != REDIS_REPLY_ARRAY) {
		amq_reply_free(r);
		amq_log(rt->o->log_name, "XAUTOCLAIM: unexpected reply");
		return -EPROTO;
	}
	memcpy(rt->cursor, r->element[0]->str, r->element[0]->len + 1);
	if (!strcmp(rt->cursor, "0-0"))
		rt->next_reclaim_ms = mono_ms() + rt->reclaim_every_ms;
	/* Redis 7 lists entries deleted while pending apart (and drops them from the list). */
	if (r->elements >= 3 && r->element[2]->type == REDIS_REPLY_ARRAY)
		for (size_t i = 0; i < r->element[2]->elements; i++)
			amq_log(rt->o->log_name, "entry %s: deleted from the stream while pending; dropped",
				r->element[2]->element[i]->str);
	entries = r->element[1];
	if (!entries->elements) {
		amq_reply_free(r);
		return -EAGAIN;
	}
	rc = fill_delivery(entries->element[0], d);
	if (rc) {
		amq_reply_free(r);
		return rc == -ENOENT ? -EAGAIN : rc;
	}
	rt->held = r;
	rc = delivery_count(rt, d->entry_id);
	if (rc <= 0) {
		amq_reply_free(r);
		rt->held = NULL;
		return rc ? rc : -EAGAIN;
	}
	d->attempt = rc;
	amq_log(rt->o->log_name, "reclaimed entry %s (delivery %d)", d->entry_id, d->attempt);
	return 0;
}

static int redis_next(struct amq_transport *t, int block_ms, struct amq_delivery *d)
{
	struct redis_transport *rt = of(t);
	const redisReply *entries;
	char err[256];
	struct amq_args a;
	redisReply *r;
	int rc;

	amq_reply_free(rt->held);
	rt->held = NULL;
	if (mono_ms() >= rt->next_reclaim_ms) {
		rc = reclaim(rt, d);
		if (rc != -EAGAIN)
			return rc;
	}
	amq_args_init(&a);
	amq_args_add(&a, "XREADGROUP");
	amq_args_add(&a, "GROUP");
	amq_args_add(&a, rt->o->group);
	amq_args_add(&a, rt->o->consumer);
	amq_args_add(&a, "COUNT");
	amq_args_add(&a, "1");
	amq_args_add(&a, "BLOCK");
	amq_args_printf(&a, "%d", block_ms);
	amq_args_add(&a, "STREAMS");
	amq_args_add(&a, rt->o->stream);
	amq_args_add(&a, ">");
	rc = amq_conn_run(rt->c, &a, block_ms, &r, err, sizeof(err));
	if (rc)
		return failed(rt, "XREADGROUP", rc, err);
	if (r->type == REDIS_REPLY_NIL) {
		amq_reply_free(r);
		return -EAGAIN;
	}
	if (r->type != REDIS_REPLY_ARRAY || r->elements != 1 ||
	    r->element[0]->type != REDIS_REPLY_ARRAY || r->element[0]->elements != 2 ||
	    r->element[0]->element[1]->type != REDIS_REPLY_ARRAY ||
	    r->element[0]->element[1]->elements != 1) {
		amq_reply_free(r);
		amq_log(rt->o->log_name, "XREADGROUP: unexpected reply");
		return -EPROTO;
	}
	entries = r->element[0]->element[1];
	rc = fill_delivery(entries->element[0], d);
	if (rc) {
		amq_reply_free(r);
		return rc == -ENOENT ? -EAGAIN : rc;
	}
	rt->held = r;
	return 0;
}

/* Look at one page of result entries. Return: the entries seen. */
static size_t scan_results(const redisReply *r, int *finished, char *last_error, size_t len,
			   char *cursor, size_t cursor_cap)
{
	for (size_t i = 0; i < r->elements; i++) {
		const redisReply *e = r->element[i];
		struct amq_field f[64];
		const char *type = NULL, *msg = NULL;
		size_t type_len = 0, msg_len = 0;
		int n;

		if (e->type != REDIS_REPLY_ARRAY || e->elements != 2 ||
		    e->element[0]->type != REDIS_REPLY_STRING || e->element[0]->len >= cursor_cap)
			continue;
		memcpy(cursor, e->element[0]->str, e->element[0]->len + 1);
		n = amq_reply_fields(e->element[1], f, 64);
		for (int k = 0; k < n && k < 64; k++) {
			if (f[k].name_len == 4 && !memcmp(f[k].name, "type", 4)) {
				type = f[k].value;
				type_len = f[k].value_len;
			} else if (f[k].name_len == 7 && !memcmp(f[k].name, "message", 7)) {
				msg = f[k].value;
				msg_len = f[k].value_len;
			}
		}
		if ((type_len == 4 && !memcmp(type, "done", 4)) ||
		    (type_len == 5 && !memcmp(type, "error", 5)))
			*finished = 1;
		else if (type_len == 5 && !memcmp(type, "retry", 5) && msg)
			snprintf(last_error, len, "%.*s", (int)msg_len, msg);
	}
	return r->elements;
}

static int redis_state(struct amq_transport *t, const char *id, int *finished,
		       char *last_error, size_t len)
{
	struct redis_transport *rt = of(t);
	char key[sizeof(AMQ_RESULT_PREFIX) + AMQ_ID_MAX], cursor[64] = "-", from[70], err[256];
	size_t got;

	*finished = 0;
	last_error[0] = '\0';
	amq_result_key(key, sizeof(key), id);
	do {
		struct amq_args a;
		redisReply *r;
		int rc;

		snprintf(from, sizeof(from), "%s%s", strcmp(cursor, "-") ? "(" : "", cursor);
		amq_args_init(&a);
		amq_args_add(&a, "XRANGE");
		amq_args_add(&a, key);
		amq_args_add(&a, from);
		amq_args_add(&a, "+");
		amq_args_add(&a, "COUNT");
		amq_args_printf(&a, "%d", STATE_PAGE);
		rc = amq_conn_run(rt->c, &a, 0, &r, err, sizeof(err));
		if (rc)
			return failed(rt, "XRANGE", rc, err);
		got = r->type == REDIS_REPLY_ARRAY ?
		      scan_results(r, finished, last_error, len, cursor, sizeof(cursor)) : 0;
		amq_reply_free(r);
	} while (got == STATE_PAGE && !*finished);
	return 0;
}

/* XADD KEY * EVENT and EXPIRE KEY TTL into @add and @expire. */
static void event_cmds(struct amq_args *add, struct amq_args *expire, const char *key, int ttl_s,
		       const struct amq_event *ev)
{
	amq_args_init(add);
	amq_args_add(add, "XADD");
	amq_args_add(add, key);
	amq_args_add(add, "*");
	amq_event_encode(ev, add);
	amq_args_init(expire);
	amq_args_add(expire, "EXPIRE");
	amq_args_add(expire, key);
	amq_args_printf(expire, "%d", ttl_s > 0 ? ttl_s : AMQ_DEFAULT_TTL_S);
}

/* XACK and XDEL of @d into @ack and @del. */
static void done_cmds(struct redis_transport *rt, struct amq_args *ack, struct amq_args *del,
		      const struct amq_delivery *d)
{
	amq_args_init(ack);
	amq_args_add(ack, "XACK");
	amq_args_add(ack, rt->o->stream);
	amq_args_add(ack, rt->o->group);
	amq_args_add(ack, d->entry_id);
	amq_args_init(del);
	amq_args_add(del, "XDEL");
	amq_args_add(del, rt->o->stream);
	amq_args_add(del, d->entry_id);
}

static int run_transaction(struct redis_transport *rt, const char *what,
			   const struct amq_args *const *cmds, int n)
{
	char err[256];
	int rc = amq_conn_transaction(rt->c, cmds, n, err, sizeof(err));

	if (rc && rc != -ECANCELED)
		amq_log(rt->o->log_name, "%s: %s", what, err);
	return rc;
}

static int redis_emit(struct amq_transport *t, const char *id, int ttl_s, const struct amq_event *ev)
{
	struct redis_transport *rt = of(t);
	char key[sizeof(AMQ_RESULT_PREFIX) + AMQ_ID_MAX];
	struct amq_args add, expire;
	const struct amq_args *cmds[] = { &add, &expire };

	amq_result_key(key, sizeof(key), id);
	event_cmds(&add, &expire, key, ttl_s, ev);
	return run_transaction(rt, "writing a result", cmds, 2);
}

static int redis_finish(struct amq_transport *t, const struct amq_delivery *d, const char *id,
			int ttl_s, const struct amq_event *ev)
{
	struct redis_transport *rt = of(t);
	char key[sizeof(AMQ_RESULT_PREFIX) + AMQ_ID_MAX];
	struct amq_args add, expire, ack, del;
	const struct amq_args *cmds[] = { &add, &expire, &ack, &del };

	done_cmds(rt, &ack, &del, d);
	if (!ev)
		return run_transaction(rt, "acknowledging a job", cmds + 2, 2);
	amq_result_key(key, sizeof(key), id);
	event_cmds(&add, &expire, key, ttl_s, ev);
	return run_transaction(rt, "finishing a job", cmds, 4);
}

static int redis_dead(struct amq_transport *t, const struct amq_delivery *d, const char *id,
		      int ttl_s, const struct amq_event *ev)
{
	struct redis_transport *rt = of(t);
	char key[sizeof(AMQ_RESULT_PREFIX) + AMQ_ID_MAX];
	struct amq_args dead, add, expire, ack, del;
	const struct amq_args *cmds[5];
	int n = 0, kept = d->n_fields < AMQ_MAX_FIELDS ? d->n_fields : AMQ_MAX_FIELDS;

	amq_args_init(&dead);
	amq_args_add(&dead, "XADD");
	amq_args_add(&dead, rt->dead_key);
	if (rt->o->dead_maxlen > 0) {
		amq_args_add(&dead, "MAXLEN");
		amq_args_add(&dead, "~");
		amq_args_printf(&dead, "%ld", rt->o->dead_maxlen);
	}
	amq_args_add(&dead, "*");
	amq_args_add(&dead, "dead_error");
	amq_args_add(&dead, ev->message);
	amq_args_add(&dead, "dead_status");
	amq_args_printf(&dead, "%d", ev->status);
	amq_args_add(&dead, "dead_entry");
	amq_args_add(&dead, d->entry_id);
	amq_args_add(&dead, "dead_deliveries");
	amq_args_printf(&dead, "%d", d->attempt);
	amq_args_add(&dead, "dead_consumer");
	amq_args_add(&dead, rt->o->consumer);
	amq_args_add(&dead, "dead_at_ms");
	amq_args_printf(&dead, "%lld", (long long)amq_now_ms());
	for (int i = 0; i < kept; i++) {
		const struct amq_field *f = &d->fields[i];

		/* An oversized job keeps its size, not its audio. */
		if (ev->status == 413 && f->name_len == 5 && !memcmp(f->name, "audio", 5)) {
			amq_args_add(&dead, "audio_bytes");
			amq_args_printf(&dead, "%zu", f->value_len);
			continue;
		}
		amq_args_bytes(&dead, f->name, f->name_len);
		amq_args_bytes(&dead, f->value, f->value_len);
	}
	cmds[n++] = &dead;
	if (id && id[0]) {
		amq_result_key(key, sizeof(key), id);
		event_cmds(&add, &expire, key, ttl_s, ev);
		cmds[n++] = &add;
		cmds[n++] = &expire;
	}
	done_cmds(rt, &ack, &del, d);
	cmds[n++] = &ack;
	cmds[n++] = &del;
	return run_transaction(rt, "dead-lettering a job", cmds, n);
}

static int redis_touch(struct amq_transport *t, const struct amq_delivery *d)
{
	struct redis_transport *rt = of(t);
	char err[256];
	struct amq_args a;
	redisReply *r;
	int rc;

	amq_args_init(&a);
	amq_args_add(&a, "XCLAIM");
	amq_args_add(&a, rt->o->stream);
	amq_args_add(&a, rt->o->group);
	amq_args_add(&a, rt->o->consumer);
	amq_args_add(&a, "0");
	amq_args_add(&a, d->entry_id);
	amq_args_add(&a, "JUSTID");
	rc = amq_conn_run(rt->c, &a, 0, &r, err, sizeof(err));
	amq_reply_free(r);
	return rc ? failed(rt, "XCLAIM", rc, err) : 0;
}

static void redis_close(struct amq_transport *t)
{
	struct redis_transport *rt = of(t);

	amq_reply_free(rt->held);
	amq_conn_close(rt->c);
	free(rt);
}

static const struct amq_transport_ops redis_ops = {
	.next = redis_next,
	.state = redis_state,
	.emit = redis_emit,
	.finish = redis_finish,
	.dead = redis_dead,
	.touch = redis_touch,
	.close = redis_close,
};

int amq_redis_open(void *arg, int index, const atomic_int *stop, struct amq_transport **out,
		   char *err, size_t errlen)
{
	const struct amq_redis_opts *o = arg;
	struct amq_conn_opts co = conn_opts(o, stop);
	struct redis_transport *rt;
	int rc;

	*out = NULL;
	rt = calloc(1, sizeof(*rt));
	if (!rt) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	rt->head.ops = &redis_ops;
	rt->o = o;
	rt->index = index;
	snprintf(rt->dead_key, sizeof(rt->dead_key), "%s%s", o->stream, AMQ_DEAD_SUFFIX);
	snprintf(rt->cursor, sizeof(rt->cursor), "0-0");
	rt->reclaim_every_ms = o->visibility_ms / 2;
	if (rt->reclaim_every_ms < 200)
		rt->reclaim_every_ms = 200;
	if (rt->reclaim_every_ms > 5000)
		rt->reclaim_every_ms = 5000;
	rc = amq_conn_open(&rt->c, o->url, &co, err, errlen);
	if (rc) {
		free(rt);
		return rc;
	}
	*out = &rt->head;
	return 0;
}
