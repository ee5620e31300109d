/* SPDX-License-Identifier: MIT */
/*
 * tools/amanuensis-server/server.h - the state every part of the server
 * shares: options, the runtime (model, engine, base context), the tenants,
 * the fair queue of windows, the metrics, and the flags start-up and
 * shutdown move through. One of these lives in main() for the whole run.
 */
#ifndef AMN_SRV_SERVER_H
#define AMN_SRV_SERVER_H

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>

#include "tools/amanuensis-server/keys.h"
#include "tools/amanuensis-server/options.h"

struct wsp_runtime;
struct srv_tenants;
struct srv_fair;
struct srv_metrics;
struct srv_watch;
struct srv_remote;

struct wsp_vad;

struct srv_server {
	const struct srv_opts *opts;
	struct srv_keyring keys;
	struct wsp_runtime *rt;          /* NULL in --queue mode */
	struct wsp_vad *vad;             /* for vad_filter=true; NULL: none loaded (or --queue) */
	struct srv_remote *remote;       /* the Redis queue in --queue mode, else NULL */
	struct srv_tenants *tenants;
	struct srv_fair *fair;           /* NULL in --queue mode */
	struct srv_metrics *metrics;
	struct srv_watch *watch;
	char model_name[256];            /* what /v1/models names */
	int multilingual;
	size_t max_upload;               /* bytes of the file field */
	size_t max_body;                 /* bytes of the whole request body */
	/*
	 * ready: set once model, engine and tenants are up; draining: set by
	 * SIGTERM. Read by connection threads without the lock: each is a
	 * flag that only ever goes 0 -> 1, and nothing else is published
	 * through it (the objects behind it were made before the daemon
	 * started), so relaxed loads suffice; stores are seq_cst for clarity.
	 */
	atomic_int ready;
	atomic_int draining;
	/* API requests between their first byte and their answer, for the drain. */
	pthread_mutex_t lock;
	pthread_cond_t idle;             /* signalled when active drops to 0 */
	unsigned active;
};

/** srv_server_enter - one more API request in progress. */
void srv_server_enter(struct srv_server *s);

/** srv_server_leave - an API request answered (or abandoned). */
void srv_server_leave(struct srv_server *s);

/**
 * srv_server_wait_idle - wait until no API request is in progress or
 * @timeout_s seconds pass. Return: 0 when idle, -ETIMEDOUT.
 */
int srv_server_wait_idle(struct srv_server *s, double timeout_s);

/** srv_log - one line on stderr, written with one write() so lines never mix. */
void srv_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/** srv_now - CLOCK_MONOTONIC in seconds. */
double srv_now(void);

#endif /* AMN_SRV_SERVER_H */
