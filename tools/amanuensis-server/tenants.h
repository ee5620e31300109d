/* SPDX-License-Identifier: MIT */
/*
 * tools/amanuensis-server/tenants.h - who is asking and whether there is
 * room: one decoding context per tenant (its own engine tenant of its
 * weight, on the shared model), each tenant's requests in flight against
 * its max_concurrent, its audio_s_per_min bucket, and the server-wide
 * admission: at most --max-concurrent requests transcribing and
 * --max-queue more admitted and waiting.
 */
#ifndef AMN_SRV_TENANTS_H
#define AMN_SRV_TENANTS_H

#include <pthread.h>
#include <stddef.h>

#include "tools/amanuensis-server/keys.h"
#include "tools/amanuensis-server/ratelimit.h"

struct wsp_context;

struct srv_tenant {
	const struct srv_tenant_conf *conf;   /* the keyring's; outlives this */
	struct wsp_context *ctx;              /* owned; NULL in --queue mode */
	unsigned max_concurrent;              /* the conf's, else UINT_MAX (none) */
	unsigned inflight;                    /* admitted requests (under the lock) */
	struct srv_rate rate;
};

struct srv_tenants {
	pthread_mutex_t lock;
	pthread_cond_t room;                  /* a transcribing place came free */
	struct srv_tenant *t;
	size_t n;
	unsigned max_running, max_waiting;
	unsigned admitted;                    /* every admitted request, running or not */
	unsigned running;                     /* between run_begin and run_end */
	int closed;                           /* no new admissions */
	int shutdown;                         /* and waiters give up */
};

/**
 * srv_tenants_new - one entry per tenant of @kr; with @base, a context per
 * tenant made by wsp_context_new_tenant() (@base must outlive them);
 * without (the queue mode), no contexts.
 * @max_running: requests transcribing at once; @max_waiting: more admitted.
 * Return: 0, or -errno with @err set.
 */
int srv_tenants_new(struct srv_tenants **out, const struct srv_keyring *kr,
		    const struct wsp_context *base, unsigned max_running, unsigned max_waiting,
		    char *err, size_t errlen);

/** srv_tenants_free - release the contexts and buckets; NULL is a no-op. */
void srv_tenants_free(struct srv_tenants *ts);

/**
 * srv_tenants_admit - take a place for one request of @tenant.
 * Return: 0 (admitted: call srv_tenants_leave() when it is answered),
 * -EUSERS when the tenant has max_concurrent requests in flight (429),
 * -EBUSY when the server holds max_running + max_waiting already (503),
 * -ESHUTDOWN after srv_tenants_close() (503).
 */
int srv_tenants_admit(struct srv_tenants *ts, size_t tenant);

/** srv_tenants_leave - give back the place srv_tenants_admit() took. */
void srv_tenants_leave(struct srv_tenants *ts, size_t tenant);

/**
 * srv_tenants_charge - charge @audio_s seconds to @tenant's bucket.
 * Return: 0, or -EAGAIN with *@retry_after_s set (429 with Retry-After).
 */
int srv_tenants_charge(struct srv_tenants *ts, size_t tenant, double audio_s,
		       unsigned *retry_after_s);

/**
 * srv_tenants_run_begin - wait for one of the max_running places.
 * @check: called about every 100 ms while waiting; a nonzero (negative
 * errno) return ends the wait with it. NULL: never.
 * Return: 0 (call srv_tenants_run_end() after), -ESHUTDOWN, or @check's.
 */
int srv_tenants_run_begin(struct srv_tenants *ts, int (*check)(void *arg), void *arg);

/** srv_tenants_run_end - give back the place run_begin took. */
void srv_tenants_run_end(struct srv_tenants *ts);

/**
 * srv_tenants_close - refuse new admissions (-ESHUTDOWN); requests already
 * admitted go on, waiting ones included (the first step of a drain).
 */
void srv_tenants_close(struct srv_tenants *ts);

/** srv_tenants_shutdown - close, and make every wait in run_begin return -ESHUTDOWN. */
void srv_tenants_shutdown(struct srv_tenants *ts);

#endif /* AMN_SRV_TENANTS_H */
