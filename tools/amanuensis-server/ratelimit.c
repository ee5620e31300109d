/* SPDX-License-Identifier: MIT */
/*
 * tools/amanuensis-server/ratelimit.c - a tenant's audio_s_per_min as a
 * token bucket (ratelimit.h has the contract).
 *
 * The bucket holds audio seconds: it starts full (one minute of the limit),
 * refills at limit / 60 per second of CLOCK_MONOTONIC, never above full, and
 * a request takes its audio seconds out. The caller passes the time, so the
 * tests can drive the clock and nothing here sleeps.
 */
#include <errno.h>
#include <math.h>
#include <stdint.h>

#include "tools/amanuensis-server/ratelimit.h"

/* last_ns before the first take: the bucket is full, whenever that comes. */
#define NEVER INT64_MIN
/*
 * Audio seconds the refill arithmetic may be off by (0.1 s/s times 10 s is
 * 0.99999... in binary): a request that fits within it fits, and a
 * Retry-After that is a whole number of seconds does not round up past it.
 */
#define EPS 1e-9

void srv_rate_init(struct srv_rate *r, unsigned audio_s_per_min)
{
	pthread_mutex_init(&r->lock, NULL);
	r->per_s = audio_s_per_min / 60.0;
	r->capacity = audio_s_per_min;
	r->tokens = r->capacity;
	r->last_ns = NEVER;
}

void srv_rate_destroy(struct srv_rate *r)
{
	pthread_mutex_destroy(&r->lock);
}

/* Add what has dripped in since the last refill. Lock held. */
static void refill(struct srv_rate *r, int64_t now_ns)
{
	double t;

	if (r->last_ns == NEVER) {
		r->last_ns = now_ns;
		return;
	}
	/* A clock that went back (it should not: monotonic) adds nothing. */
	if (now_ns <= r->last_ns)
		return;
	t = r->tokens + (double)(now_ns - r->last_ns) * 1e-9 * r->per_s;
	r->tokens = t > r->capacity ? r->capacity : t;
	r->last_ns = now_ns;
}

int srv_rate_take(struct srv_rate *r, double audio_s, int64_t now_ns, unsigned *retry_after_s)
{
	double need, wait_s;
	int ret = 0;

	if (r->per_s == 0 || !(audio_s > 0))
		return 0;       /* no limit, or nothing to charge (NaN included) */
	pthread_mutex_lock(&r->lock);
	refill(r, now_ns);
	if (audio_s <= r->tokens + EPS ||
	    /* Longer than the whole minute: allowed from a full bucket, which
	     * then goes negative and keeps the tenant out until it is paid. */
	    (audio_s > r->capacity && r->tokens + EPS >= r->capacity)) {
		r->tokens -= audio_s;
	} else {
		/* What must drip in first: the request, or a full bucket for
		 * one longer than the minute. */
		need = (audio_s > r->capacity ? r->capacity : audio_s) - r->tokens;
		wait_s = ceil((need - EPS) / r->per_s);
		if (retry_after_s)
			*retry_after_s = wait_s < 1 ? 1u :
					 wait_s > 4e9 ? 4000000000u : (unsigned)wait_s;
		ret = -EAGAIN;
	}
	pthread_mutex_unlock(&r->lock);
	return ret;
}
