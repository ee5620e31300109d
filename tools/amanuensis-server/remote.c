/* SPDX-License-Identifier: MIT */
/*
 * tools/amanuensis-server/remote.c - jobs through Redis for the --queue
 * mode: a pool of idle connections, and one enqueue-then-wait per request
 * (see remote.h).
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tools/amanuensis-server/remote.h"

/* Idle connections kept for the next requests; more are opened (and closed) as needed. */
#define POOL_MAX 16
/* How long a connection keeps reconnecting before its request fails (503). */
#define GIVE_UP_MS 30000

struct srv_remote {
	char url[1024];
	pthread_mutex_t lock;
	struct amq_conn *idle[POOL_MAX];
	int n_idle;
};

static const struct amq_conn_opts conn_opts = {
	.log_name = "amanuensis-server",
	.give_up_ms = GIVE_UP_MS,
};

int srv_remote_open(struct srv_remote **out, const char *url, char *err, size_t errlen)
{
	struct amq_conn_opts o = conn_opts;
	struct srv_remote *r;
	struct amq_url u;
	int rc;

	*out = NULL;
	rc = amq_url_parse(url, &u, err, errlen);
	if (rc)
		return rc;
	if (strlen(url) >= sizeof(r->url)) {
		snprintf(err, errlen, "the URL is too long");
		return -EINVAL;
	}
	r = calloc(1, sizeof(*r));
	if (!r) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	snprintf(r->url, sizeof(r->url), "%s", url);
	pthread_mutex_init(&r->lock, NULL);
	o.give_up_ms = 10000;         /* at start-up: a wrong address should not hang */
	rc = amq_conn_open(&r->idle[0], url, &o, err, errlen);
	if (rc) {
		srv_remote_close(r);
		return rc;
	}
	r->n_idle = 1;
	*out = r;
	return 0;
}

void srv_remote_close(struct srv_remote *r)
{
	int i;

	if (!r)
		return;
	for (i = 0; i < r->n_idle; i++)
		amq_conn_close(r->idle[i]);
	pthread_mutex_destroy(&r->lock);
	free(r);
}

static int take(struct srv_remote *r, struct amq_conn **c, char *err, size_t errlen)
{
	*c = NULL;
	pthread_mutex_lock(&r->lock);
	if (r->n_idle)
		*c = r->idle[--r->n_idle];
	pthread_mutex_unlock(&r->lock);
	if (*c)
		return 0;
	return amq_conn_open(c, r->url, &conn_opts, err, errlen);
}

static void give_back(struct srv_remote *r, struct amq_conn *c)
{
	pthread_mutex_lock(&r->lock);
	if (r->n_idle < POOL_MAX) {
		r->idle[r->n_idle++] = c;
		c = NULL;
	}
	pthread_mutex_unlock(&r->lock);
	amq_conn_close(c);
}

int srv_remote_transcribe(struct srv_remote *r, const struct amq_job *j,
			  const struct amq_wait_hooks *h, struct wsp_result *res,
			  struct amq_answer *ans, char *err, size_t errlen)
{
	struct amq_conn *c;
	int rc;

	memset(res, 0, sizeof(*res));
	memset(ans, 0, sizeof(*ans));
	rc = take(r, &c, err, errlen);
	if (rc)
		return rc;
	rc = amq_enqueue(c, NULL, 0, j, err, errlen);
	if (!rc)
		rc = amq_wait_result(c, j->id, j->deadline_ms, h, res, ans, err, errlen);
	/*
	 * A wait that ended early (stopped, timed out, failed) may leave the
	 * connection in the middle of a reply: it is not reused.
	 */
	if (rc)
		amq_conn_close(c);
	else
		give_back(r, c);
	return rc;
}
