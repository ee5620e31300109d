/* SPDX-License-Identifier: MIT */
/*
 * tools/amanuensis-server/remote.h - the --queue mode's side of a
 * transcription: the job goes to Redis (service/queue.h) for an
 * amanuensis-worker, and the answer comes back as a wsp_result, segment by
 * segment, so that everything after it (formats, streams, statuses) is the
 * local mode's. hiredis connections are not thread-safe: each waiting
 * request holds one of its own, taken from a small pool of idle ones.
 */
#ifndef AMN_SRV_REMOTE_H
#define AMN_SRV_REMOTE_H

#include <stddef.h>

#include "service/queue.h"

struct srv_remote;

/**
 * srv_remote_open - check @url and that Redis answers there (retrying for
 * a few seconds), keeping that connection as the pool's first.
 * Return: 0, or -errno with @err set.
 */
int srv_remote_open(struct srv_remote **out, const char *url, char *err, size_t errlen);

/** srv_remote_close - close every idle connection and free; NULL is a no-op. */
void srv_remote_close(struct srv_remote *r);

/**
 * srv_remote_transcribe - enqueue @j and wait for its answer until
 * @j->deadline_ms (0: none), calling @h as amq_wait_result() does.
 * Return: as amq_wait_result() (0 with @ans filled and @res to release,
 * -ETIMEDOUT, -ECANCELED, the connection's -errno), or amq_enqueue()'s
 * error; @err says why.
 */
int srv_remote_transcribe(struct srv_remote *r, const struct amq_job *j,
			  const struct amq_wait_hooks *h, struct wsp_result *res,
			  struct amq_answer *ans, char *err, size_t errlen);

#endif /* AMN_SRV_REMOTE_H */
