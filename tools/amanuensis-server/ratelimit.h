/* SPDX-License-Identifier: MIT */
/*
 * tools/amanuensis-server/ratelimit.h - a tenant's audio_s_per_min limit: a
 * token bucket of audio seconds that refills continuously and holds at most
 * one minute's worth, so a tenant may burst up to its limit and no further.
 */
#ifndef AMN_SRV_RATELIMIT_H
#define AMN_SRV_RATELIMIT_H

#include <pthread.h>
#include <stdint.h>

struct srv_rate {
	pthread_mutex_t lock;
	double per_s;            /* refill, audio seconds per second; 0: unlimited */
	double capacity;         /* one minute of refill */
	double tokens;
	int64_t last_ns;         /* CLOCK_MONOTONIC of the last refill */
};

/** srv_rate_init - @audio_s_per_min 0 means no limit. */
void srv_rate_init(struct srv_rate *r, unsigned audio_s_per_min);

/** srv_rate_destroy - release the lock. */
void srv_rate_destroy(struct srv_rate *r);

/**
 * srv_rate_take - charge @audio_s seconds at time @now_ns (CLOCK_MONOTONIC).
 * A request longer than the whole minute is allowed once the bucket is full
 * (the bucket then goes negative), so no request is refused forever.
 * Return: 0 (charged), or -EAGAIN with *@retry_after_s (>= 1, whole seconds)
 * set to when it would be allowed; nothing is charged then.
 */
int srv_rate_take(struct srv_rate *r, double audio_s, int64_t now_ns, unsigned *retry_after_s);

#endif /* AMN_SRV_RATELIMIT_H */
