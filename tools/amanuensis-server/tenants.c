/* SPDX-License-Identifier: MIT */
/*
 * tools/amanuensis-server/tenants.c - per-tenant contexts and limits, and
 * the server-wide admission of requests (see tenants.h).
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "tools/amanuensis-server/tenants.h"
#include "whisper/transcribe.h"

int srv_tenants_new(struct srv_tenants **out, const struct srv_keyring *kr,
		    const struct wsp_context *base, unsigned max_running, unsigned max_waiting,
		    char *err, size_t errlen)
{
	struct srv_tenants *ts;
	pthread_condattr_t ca;
	size_t i;
	int rc;

	*out = NULL;
	ts = calloc(1, sizeof(*ts));
	if (!ts || !(ts->t = calloc(kr->n_tenants ? kr->n_tenants : 1, sizeof(*ts->t)))) {
		free(ts);
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	pthread_mutex_init(&ts->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&ts->room, &ca);
	pthread_condattr_destroy(&ca);
	ts->max_running = max_running;
	ts->max_waiting = max_waiting;
	for (i = 0; i < kr->n_tenants; i++) {
		struct srv_tenant *t = &ts->t[i];

		t->conf = &kr->tenants[i];
		/* no limit of its own: only the server's bounds (running + waiting) apply */
		t->max_concurrent = t->conf->max_concurrent ? t->conf->max_concurrent : UINT_MAX;
		srv_rate_init(&t->rate, t->conf->audio_s_per_min);
		ts->n++;
		if (!base)
			continue;
		rc = wsp_context_new_tenant(base, t->conf->name, t->conf->weight, &t->ctx, err, errlen);
		if (rc) {
			srv_tenants_free(ts);
			return rc;
		}
	}
	*out = ts;
	return 0;
}

void srv_tenants_free(struct srv_tenants *ts)
{
	size_t i;

	if (!ts)
		return;
	for (i = 0; i < ts->n; i++) {
		wsp_context_free(ts->t[i].ctx);
		srv_rate_destroy(&ts->t[i].rate);
	}
	pthread_cond_destroy(&ts->room);
	pthread_mutex_destroy(&ts->lock);
	free(ts->t);
	free(ts);
}

int srv_tenants_admit(struct srv_tenants *ts, size_t tenant)
{
	struct srv_tenant *t = &ts->t[tenant];
	int rc = 0;

	pthread_mutex_lock(&ts->lock);
	if (ts->closed)
		rc = -ESHUTDOWN;
	else if (t->inflight >= t->max_concurrent)
		rc = -EUSERS;
	else if (ts->admitted >= ts->max_running + ts->max_waiting)
		rc = -EBUSY;
	if (!rc) {
		t->inflight++;
		ts->admitted++;
	}
	pthread_mutex_unlock(&ts->lock);
	return rc;
}

void srv_tenants_leave(struct srv_tenants *ts, size_t tenant)
{
	pthread_mutex_lock(&ts->lock);
	ts->t[tenant].inflight--;
	ts->admitted--;
	pthread_mutex_unlock(&ts->lock);
}

int srv_tenants_charge(struct srv_tenants *ts, size_t tenant, double audio_s,
		       unsigned *retry_after_s)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return srv_rate_take(&ts->t[tenant].rate, audio_s,
			     (int64_t)now.tv_sec * 1000000000 + now.tv_nsec, retry_after_s);
}

int srv_tenants_run_begin(struct srv_tenants *ts, int (*check)(void *arg), void *arg)
{
	struct timespec until;
	int rc = 0;

	pthread_mutex_lock(&ts->lock);
	while (!ts->shutdown && ts->running >= ts->max_running) {
		pthread_mutex_unlock(&ts->lock);
		rc = check ? check(arg) : 0;
		pthread_mutex_lock(&ts->lock);
		if (rc)
			break;
		clock_gettime(CLOCK_MONOTONIC, &until);
		until.tv_nsec += 100 * 1000000L;
		if (until.tv_nsec >= 1000000000L) {
			until.tv_sec++;
			until.tv_nsec -= 1000000000L;
		}
		pthread_cond_timedwait(&ts->room, &ts->lock, &until);
	}
	if (!rc && ts->shutdown)
		rc = -ESHUTDOWN;
	if (!rc)
		ts->running++;
	pthread_mutex_unlock(&ts->lock);
	return rc;
}

void srv_tenants_run_end(struct srv_tenants *ts)
{
	pthread_mutex_lock(&ts->lock);
	ts->running--;
	pthread_cond_signal(&ts->room);
	pthread_mutex_unlock(&ts->lock);
}

void srv_tenants_close(struct srv_tenants *ts)
{
	pthread_mutex_lock(&ts->lock);
	ts->closed = 1;
	pthread_mutex_unlock(&ts->lock);
}

void srv_tenants_shutdown(struct srv_tenants *ts)
{
	pthread_mutex_lock(&ts->lock);
	ts->closed = 1;
	ts->shutdown = 1;
	pthread_cond_broadcast(&ts->room);
	pthread_mutex_unlock(&ts->lock);
}
