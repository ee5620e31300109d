/* SPDX-License-Identifier: MIT */
/*
 * tests/test_server_ratelimit.c - a tenant's audio_s_per_min token bucket,
 * driven with explicit CLOCK_MONOTONIC values (nothing sleeps): a burst up
 * to the limit, refusal with the right Retry-After, continuous refill capped
 * at one minute, requests longer than the minute, no limit.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <math.h>
#include <stdint.h>

#include "tools/amanuensis-server/ratelimit.h"

#define S(x) ((int64_t)((x) * 1e9))   /* seconds to ns */

/* The clock starts far from 0, as CLOCK_MONOTONIC does. */
#define T0 S(12345.0)

Test(ratelimit, unlimited)
{
	struct srv_rate r;
	unsigned retry = 77;

	srv_rate_init(&r, 0);
	for (int i = 0; i < 1000; i++)
		cr_assert_eq(srv_rate_take(&r, 3600.0, T0, &retry), 0);
	cr_expect_eq(retry, 77, "untouched when nothing is refused");
	srv_rate_destroy(&r);
}

Test(ratelimit, burst_then_refuse)
{
	struct srv_rate r;
	unsigned retry = 0;

	srv_rate_init(&r, 60);   /* 1 audio second per second, 60 in the bucket */
	/* A full minute's worth at once: 6 x 10 s. */
	for (int i = 0; i < 6; i++)
		cr_assert_eq(srv_rate_take(&r, 10.0, T0, &retry), 0, "take %d", i);
	cr_expect_eq(srv_rate_take(&r, 10.0, T0, &retry), -EAGAIN);
	cr_expect_eq(retry, 10, "10 s of audio at 1 s/s: %u", retry);
	cr_expect_eq(srv_rate_take(&r, 0.5, T0, &retry), -EAGAIN);
	cr_expect_eq(retry, 1, "never less than 1: %u", retry);
	/* A refusal charges nothing: after 4 s, 4 s of audio fit, not 4.5. */
	cr_expect_eq(srv_rate_take(&r, 4.5, T0 + S(4), &retry), -EAGAIN);
	cr_expect_eq(retry, 1, "0.5 s short rounds up to 1: %u", retry);
	cr_expect_eq(srv_rate_take(&r, 4.0, T0 + S(4), &retry), 0);
	cr_expect_eq(srv_rate_take(&r, 0.001, T0 + S(4), &retry), -EAGAIN);
	srv_rate_destroy(&r);
}

Test(ratelimit, retry_after_is_honest)
{
	struct srv_rate r;
	unsigned retry = 0;

	srv_rate_init(&r, 120);  /* 2 s/s */
	cr_assert_eq(srv_rate_take(&r, 120.0, T0, &retry), 0);
	cr_assert_eq(srv_rate_take(&r, 25.0, T0 + S(1), &retry), -EAGAIN);
	/* 2 s in, 23 s missing at 2 s/s: 11.5 s, so 12. */
	cr_expect_eq(retry, 12, "%u", retry);
	/* Asking again at the time given succeeds; a moment earlier does not. */
	cr_expect_eq(srv_rate_take(&r, 25.0, T0 + S(1) + S(11.4), &retry), -EAGAIN);
	cr_expect_eq(srv_rate_take(&r, 25.0, T0 + S(1) + S(12), &retry), 0);
	srv_rate_destroy(&r);
}

Test(ratelimit, refill_capped_at_one_minute)
{
	struct srv_rate r;
	unsigned retry = 0;

	srv_rate_init(&r, 30);   /* 0.5 s/s, bucket 30 s */
	cr_assert_eq(srv_rate_take(&r, 30.0, T0, &retry), 0);
	/* An hour idle refills the bucket, not 1800 s of credit. */
	cr_expect_eq(srv_rate_take(&r, 30.0, T0 + S(3600), &retry), 0);
	cr_expect_eq(srv_rate_take(&r, 1.0, T0 + S(3600), &retry), -EAGAIN);
	cr_expect_eq(retry, 2, "%u", retry);
	srv_rate_destroy(&r);
}

Test(ratelimit, continuous_refill)
{
	struct srv_rate r;
	unsigned retry = 0;
	int64_t t = T0;
	int ok = 0;

	srv_rate_init(&r, 60);
	cr_assert_eq(srv_rate_take(&r, 60.0, t, &retry), 0);
	/* Every 100 ms a 0.1 s request: all pass, the bucket stays empty. */
	for (int i = 0; i < 600; i++) {
		t += S(0.1);
		ok += srv_rate_take(&r, 0.1 - 1e-9, t, &retry) == 0;
	}
	cr_expect_eq(ok, 600);
	cr_expect_eq(srv_rate_take(&r, 1.0, t, &retry), -EAGAIN);
	srv_rate_destroy(&r);
}

Test(ratelimit, longer_than_the_minute)
{
	struct srv_rate r;
	unsigned retry = 0;

	srv_rate_init(&r, 60);
	/* 3 minutes of audio from a full bucket: allowed, the bucket goes to -120. */
	cr_assert_eq(srv_rate_take(&r, 180.0, T0, &retry), 0);
	cr_expect_eq(srv_rate_take(&r, 1.0, T0 + S(100), &retry), -EAGAIN);
	/* -120 + 100 = -20: 21 s more for 1 s. */
	cr_expect_eq(retry, 21, "%u", retry);
	cr_expect_eq(srv_rate_take(&r, 1.0, T0 + S(121), &retry), 0);
	/* A second long one waits for a full bucket again, then passes. */
	cr_expect_eq(srv_rate_take(&r, 180.0, T0 + S(121), &retry), -EAGAIN);
	cr_expect_eq(retry, 60, "bucket at 0, full at 60: %u", retry);
	cr_expect_eq(srv_rate_take(&r, 180.0, T0 + S(121) + S(59), &retry), -EAGAIN);
	cr_expect_eq(srv_rate_take(&r, 180.0, T0 + S(121) + S(60), &retry), 0);
	srv_rate_destroy(&r);
}

Test(ratelimit, odd_inputs)
{
	struct srv_rate r;
	unsigned retry = 0;

	srv_rate_init(&r, 60);
	cr_expect_eq(srv_rate_take(&r, 0.0, T0, &retry), 0);
	cr_expect_eq(srv_rate_take(&r, -5.0, T0, &retry), 0);
	cr_expect_eq(srv_rate_take(&r, NAN, T0, &retry), 0);
	/* None of those charged anything: the whole minute is still there. */
	cr_expect_eq(srv_rate_take(&r, 60.0, T0, &retry), 0);
	/* A clock that steps back adds nothing and breaks nothing. */
	cr_expect_eq(srv_rate_take(&r, 1.0, T0 - S(30), &retry), -EAGAIN);
	cr_expect_eq(srv_rate_take(&r, 1.0, T0 + S(1), &retry), 0);
	/* retry_after_s may be NULL. */
	cr_expect_eq(srv_rate_take(&r, 1.0, T0 + S(1), NULL), -EAGAIN);
	srv_rate_destroy(&r);
}

Test(ratelimit, first_take_at_time_zero)
{
	struct srv_rate r;
	unsigned retry = 0;

	srv_rate_init(&r, 6);
	cr_expect_eq(srv_rate_take(&r, 6.0, 0, &retry), 0);
	cr_expect_eq(srv_rate_take(&r, 1.0, S(5), &retry), -EAGAIN);
	cr_expect_eq(retry, 5, "%u", retry);
	cr_expect_eq(srv_rate_take(&r, 1.0, S(10), &retry), 0);
	srv_rate_destroy(&r);
}
