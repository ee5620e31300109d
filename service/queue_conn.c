// SPDX-License-Identifier: MIT
/*
 * service/queue_conn.c - one Redis connection (hiredis, synchronous) that
 * survives Redis going away: every failed command reconnects with
 * exponential backoff (jittered, logged on each try) and runs again.
 * Commands one at a time or as one MULTI/EXEC transaction.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include <hiredis/hiredis.h>

#include "service/queue_conn.h"

struct amq_conn {
	redisContext *rc;            /* NULL while disconnected */
	struct amq_url url;
	struct amq_conn_opts o;
	char log_name[64];
	char where[300];
	int timeout_ms;              /* the socket timeout set on rc */
	unsigned reconnects;
	unsigned seed;               /* for the backoff's jitter */
};

static double mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static int stopped(const struct amq_conn *c)
{
	return c->o.stop && atomic_load(c->o.stop);
}

/* Sleep @ms in short slices, so that a stop is seen within 50 ms. */
static void nap(const struct amq_conn *c, int ms)
{
	while (ms > 0 && !stopped(c)) {
		int slice = ms < 50 ? ms : 50;
		struct timespec ts = { 0, slice * 1000000L };

		nanosleep(&ts, NULL);
		ms -= slice;
	}
}

static struct timeval tv_of(int ms)
{
	struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };

	return tv;
}

static void drop(struct amq_conn *c)
{
	if (c->rc)
		redisFree(c->rc);
	c->rc = NULL;
}

/* AUTH and SELECT on a fresh connection: refusals are not worth retrying. */
static int handshake(struct amq_conn *c, char *err, size_t errlen)
{
	struct amq_args a;
	redisReply *r;
	int rc = 0;

	for (int step = 0; step < 2 && !rc; step++) {
		amq_args_init(&a);
		if (step == 0 && c->url.password[0]) {
			amq_args_add(&a, "AUTH");
			if (c->url.user[0])
				amq_args_add(&a, c->url.user);
			amq_args_add(&a, c->url.password);
		} else if (step == 1 && c->url.db) {
			amq_args_add(&a, "SELECT");
			amq_args_printf(&a, "%d", c->url.db);
		} else {
			continue;
		}
		r = redisCommandArgv(c->rc, a.n, a.v, a.len);
		if (!r) {
			snprintf(err, errlen, "%s", c->rc->errstr);
			return -EIO;
		}
		if (r->type == REDIS_REPLY_ERROR) {
			snprintf(err, errlen, "%s refused: %s", a.v[0], r->str);
			rc = step == 0 ? -EACCES : -EINVAL;
		}
		freeReplyObject(r);
	}
	return rc;
}

/* One try. Return: 0, -EIO (worth retrying) or a refusal's -errno. */
static int connect_once(struct amq_conn *c, char *err, size_t errlen)
{
	int rc;

	c->rc = redisConnectWithTimeout(c->url.host, c->url.port, tv_of(c->o.connect_timeout_ms));
	if (!c->rc) {
		snprintf(err, errlen, "out of memory");
		return -EIO;
	}
	if (c->rc->err) {
		snprintf(err, errlen, "%s", c->rc->errstr);
		drop(c);
		return -EIO;
	}
	redisEnableKeepAlive(c->rc);
	c->timeout_ms = c->o.io_timeout_ms;
	redisSetTimeout(c->rc, tv_of(c->timeout_ms));
	rc = handshake(c, err, errlen);
	if (rc)
		drop(c);
	return rc;
}

/* A wait of about @ms (between 3/4 and 5/4 of it), so that many clients spread out. */
static int jitter(struct amq_conn *c, int ms)
{
	int span = ms / 2;

	return span ? ms - span / 2 + (int)(rand_r(&c->seed) % (unsigned)(span + 1)) : ms;
}

/*
 * connect_backoff - connect, retrying with exponential backoff until it
 * works, a refusal, give_up_ms or a stop. @why: the failure that lost
 * the connection ("" for the first connect).
 */
static int connect_backoff(struct amq_conn *c, const char *why, char *err, size_t errlen)
{
	double t0 = mono_ms();
	int delay = c->o.backoff_min_ms, tries = 0, rc;
	char reason[256];

	if (*why)
		amq_log(c->log_name, "redis %s: connection lost (%s); reconnecting", c->where, why);
	for (;;) {
		if (stopped(c)) {
			snprintf(err, errlen, "redis %s: stopped while connecting", c->where);
			return -ECANCELED;
		}
		rc = connect_once(c, reason, sizeof(reason));
		tries++;
		if (!rc) {
			if (*why || tries > 1) {
				c->reconnects += *why ? 1 : 0;
				amq_log(c->log_name, "redis %s: connected after %d tries (%.0f ms)",
					c->where, tries, mono_ms() - t0);
			}
			return 0;
		}
		if (rc != -EIO) {
			snprintf(err, errlen, "redis %s: %s", c->where, reason);
			return rc;
		}
		if (c->o.give_up_ms && mono_ms() - t0 >= c->o.give_up_ms) {
			snprintf(err, errlen, "redis %s: %s (gave up after %d tries)", c->where, reason, tries);
			amq_log(c->log_name, "%s", err);
			return -ETIMEDOUT;
		}
		int wait = jitter(c, delay);

		amq_log(c->log_name, "redis %s: cannot connect (%s); retry %d in %d ms",
			c->where, reason, tries, wait);
		nap(c, wait);
		delay = delay > c->o.backoff_max_ms / 2 ? c->o.backoff_max_ms : delay * 2;
	}
}

int amq_conn_open(struct amq_conn **out, const char *url, const struct amq_conn_opts *o,
		  char *err, size_t errlen)
{
	struct amq_conn *c;
	int rc;

	*out = NULL;
	c = calloc(1, sizeof(*c));
	if (!c) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	rc = amq_url_parse(url, &c->url, err, errlen);
	if (rc) {
		free(c);
		return rc;
	}
	if (o)
		c->o = *o;
	snprintf(c->log_name, sizeof(c->log_name), "%s", c->o.log_name ? c->o.log_name : "amq");
	c->o.log_name = c->log_name;
	if (c->o.connect_timeout_ms <= 0)
		c->o.connect_timeout_ms = 2000;
	if (c->o.io_timeout_ms <= 0)
		c->o.io_timeout_ms = 10000;
	if (c->o.backoff_min_ms <= 0)
		c->o.backoff_min_ms = 100;
	if (c->o.backoff_max_ms < c->o.backoff_min_ms)
		c->o.backoff_max_ms = c->o.backoff_min_ms > 5000 ? c->o.backoff_min_ms : 5000;
	snprintf(c->where, sizeof(c->where), strchr(c->url.host, ':') ? "[%s]:%d" : "%s:%d",
		 c->url.host, c->url.port);
	c->seed = (unsigned)getpid() ^ (unsigned)(uintptr_t)c ^ (unsigned)mono_ms();
	rc = connect_backoff(c, "", err, errlen);
	if (rc) {
		free(c);
		return rc;
	}
	*out = c;
	return 0;
}

void amq_conn_close(struct amq_conn *c)
{
	if (!c)
		return;
	drop(c);
	free(c);
}

unsigned amq_conn_reconnects(const struct amq_conn *c)
{
	return c->reconnects;
}

const char *amq_conn_where(const struct amq_conn *c)
{
	return c->where;
}

const char *amq_conn_log_name(const struct amq_conn *c)
{
	return c->log_name;
}

void amq_reply_free(struct redisReply *r)
{
	if (r)
		freeReplyObject(r);
}

/* Connected, with a socket timeout for a command that may block @block_ms. */
static int ready(struct amq_conn *c, const char *why, int block_ms, char *err, size_t errlen)
{
	int want = c->o.io_timeout_ms + (block_ms > 0 ? block_ms : 0);
	int rc;

	if (!c->rc) {
		rc = connect_backoff(c, why, err, errlen);
		if (rc)
			return rc;
	}
	if (c->timeout_ms != want) {
		c->timeout_ms = want;
		redisSetTimeout(c->rc, tv_of(want));
	}
	return 0;
}

/* "LOADING": Redis is up but still reading its append-only file. */
static int is_loading(const redisReply *r)
{
	return r->type == REDIS_REPLY_ERROR && !strncmp(r->str, "LOADING", 7);
}

/* The connection failed under a command: remember why and drop it. */
static void lost(struct amq_conn *c, char *why, size_t len)
{
	snprintf(why, len, "%s", c->rc->errstr[0] ? c->rc->errstr : "no reply");
	drop(c);
}

int amq_conn_run(struct amq_conn *c, const struct amq_args *a, int block_ms,
		 struct redisReply **reply, char *err, size_t errlen)
{
	char why[256] = "";
	redisReply *r;
	int rc, waits = 0;

	*reply = NULL;
	if (a->overflow || !a->n) {
		snprintf(err, errlen, "redis command too large");
		return -E2BIG;
	}
	for (;;) {
		rc = ready(c, why, block_ms, err, errlen);
		if (rc)
			return rc;
		why[0] = '\0';
		r = redisCommandArgv(c->rc, a->n, (const char **)a->v, a->len);
		if (!r) {
			lost(c, why, sizeof(why));
			continue;
		}
		if (is_loading(r)) {
			freeReplyObject(r);
			if (!waits++)
				amq_log(c->log_name, "redis %s: loading its data; waiting", c->where);
			nap(c, c->o.backoff_min_ms);
			if (stopped(c)) {
				snprintf(err, errlen, "redis %s: stopped while it loads", c->where);
				return -ECANCELED;
			}
			continue;
		}
		if (r->type == REDIS_REPLY_ERROR) {
			snprintf(err, errlen, "%s", r->str);
			freeReplyObject(r);
			return -EPROTO;
		}
		*reply = r;
		return 0;
	}
}

/* Read the replies of MULTI, @n commands and EXEC. Return: 0, -EIO (lost) or -EPROTO. */
static int read_transaction(struct amq_conn *c, const struct amq_args *const *cmds, int n,
			    char *err, size_t errlen)
{
	int rc = 0;

	for (int i = 0; i < n + 2; i++) {
		redisReply *r = NULL;

		if (redisGetReply(c->rc, (void **)&r) != REDIS_OK || !r)
			return -EIO;
		if (i == n + 1 && r->type == REDIS_REPLY_ARRAY) {
			for (size_t k = 0; k < r->elements && !rc; k++) {
				if (r->element[k]->type == REDIS_REPLY_ERROR) {
					snprintf(err, errlen, "%.*s: %s", (int)cmds[k]->len[0],
						 cmds[k]->v[0], r->element[k]->str);
					rc = -EPROTO;
				}
			}
		} else if (r->type == REDIS_REPLY_ERROR && !rc) {
			snprintf(err, errlen, "%s%.*s: %s", i == n + 1 ? "EXEC " : "",
				 i && i <= n ? (int)cmds[i - 1]->len[0] : 5,
				 i && i <= n ? cmds[i - 1]->v[0] : "MULTI", r->str);
			rc = is_loading(r) ? -EAGAIN : -EPROTO;
		} else if (i == n + 1 && r->type == REDIS_REPLY_NIL && !rc) {
			snprintf(err, errlen, "EXEC: transaction aborted");
			rc = -EPROTO;
		}
		freeReplyObject(r);
	}
	return rc;
}

int amq_conn_transaction(struct amq_conn *c, const struct amq_args *const *cmds, int n,
			 char *err, size_t errlen)
{
	static const char *const multi[] = { "MULTI" }, *const exec[] = { "EXEC" };
	static const size_t multi_len[] = { 5 }, exec_len[] = { 4 };
	char why[256] = "";
	int rc;

	for (int i = 0; i < n; i++) {
		if (cmds[i]->overflow || !cmds[i]->n) {
			snprintf(err, errlen, "redis command too large");
			return -E2BIG;
		}
	}
	for (;;) {
		rc = ready(c, why, 0, err, errlen);
		if (rc)
			return rc;
		why[0] = '\0';
		redisAppendCommandArgv(c->rc, 1, (const char **)multi, multi_len);
		for (int i = 0; i < n; i++)
			redisAppendCommandArgv(c->rc, cmds[i]->n, (const char **)cmds[i]->v, cmds[i]->len);
		redisAppendCommandArgv(c->rc, 1, (const char **)exec, exec_len);
		rc = read_transaction(c, cmds, n, err, errlen);
		if (rc == -EIO) {
			lost(c, why, sizeof(why));
			continue;
		}
		if (rc == -EAGAIN) {  /* still loading: nothing was applied */
			nap(c, c->o.backoff_min_ms);
			if (stopped(c))
				return -ECANCELED;
			continue;
		}
		return rc;
	}
}

int amq_reply_fields(const struct redisReply *r, struct amq_field *f, int cap)
{
	int n;

	if (!r || r->type != REDIS_REPLY_ARRAY || r->elements % 2)
		return -EPROTO;
	n = (int)(r->elements / 2);
	for (int i = 0; i < n; i++) {
		const redisReply *k = r->element[2 * i], *v = r->element[2 * i + 1];

		if (k->type != REDIS_REPLY_STRING || v->type != REDIS_REPLY_STRING)
			return -EPROTO;
		if (i < cap) {
			f[i].name = k->str;
			f[i].name_len = k->len;
			f[i].value = v->str;
			f[i].value_len = v->len;
		}
	}
	return n;
}

int amq_reply_is(const struct redisReply *r, const char *s)
{
	return r && (r->type == REDIS_REPLY_STRING || r->type == REDIS_REPLY_STATUS) &&
	       r->len == strlen(s) && !memcmp(r->str, s, r->len);
}
