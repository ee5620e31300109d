/* SPDX-License-Identifier: MIT */
/*
 * tools/amanuensis-server/main.c - amanuensis-server: start-up, signals and
 * the drain.
 *
 * Start-up: options, keys, the shared state, the HTTP daemon (bound first,
 * so /health answers while the model loads), then the runtime (model,
 * engine, base context: whisper/runtime.h) and one context per tenant,
 * or with --queue the connection to Redis (remote.h) instead; only then
 * "listening on http://HOST:PORT" on stderr.
 *
 * Signals: SIGTERM and SIGINT are blocked in every thread (the mask is set
 * before the first thread is made and inherited) and taken by sigwait() in
 * the main thread, so no handler runs in the middle of anything.
 *
 * Drain: stop accepting (the listening socket closes), refuse new requests
 * on open connections, let admitted requests finish for --drain-timeout
 * seconds; then stop the ones still at work at their next window and wait
 * for them to answer 503; then close every connection and exit 0.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tools/amanuensis-server/fair.h"
#include "tools/amanuensis-server/http.h"
#include "tools/amanuensis-server/metrics.h"
#include "tools/amanuensis-server/options.h"
#include "tools/amanuensis-server/remote.h"
#include "tools/amanuensis-server/respond.h"
#include "tools/amanuensis-server/server.h"
#include "tools/amanuensis-server/tenants.h"
#include "tools/amanuensis-server/watch.h"
#include "whisper/model.h"
#include "whisper/runtime.h"
#include "whisper/vad.h"

/* After the drain timeout, how long cancelled requests get to reach their next window. */
#define DRAIN_CANCEL_S 60.0

/* model_name - the last component of the model's path, as /v1/models names it. */
static void model_name(char *dst, size_t cap, const char *path)
{
	size_t n = strlen(path);
	const char *p;

	while (n > 1 && path[n - 1] == '/')
		n--;
	for (p = path + n; p > path && p[-1] != '/'; p--)
		;
	n -= (size_t)(p - path);
	if (n >= cap)
		n = cap - 1;
	memcpy(dst, p, n);
	dst[n] = '\0';
}

static int setup_shared(struct srv_server *s, const struct srv_opts *o)
{
	const char **names = NULL;
	unsigned *weights = NULL;
	pthread_condattr_t ca;
	char err[512];
	size_t i, n;
	int rc;

	memset(s, 0, sizeof(*s));
	s->opts = o;
	pthread_mutex_init(&s->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&s->idle, &ca);
	pthread_condattr_destroy(&ca);
	s->max_upload = (size_t)o->max_upload_mb << 20;
	/* the other fields and the multipart framing around the file */
	s->max_body = s->max_upload + (256u << 10);

	rc = o->keys ? srv_keyring_load(&s->keys, o->keys, err, sizeof(err))
		     : srv_keyring_open_default(&s->keys);
	if (rc) {
		fprintf(stderr, "amanuensis-server: --keys %s\n", o->keys ? err : strerror(-rc));
		return SRV_EXIT_USAGE;
	}
	n = s->keys.n_tenants;
	names = calloc(n, sizeof(*names));
	weights = calloc(n, sizeof(*weights));
	if (!names || !weights) {
		rc = -ENOMEM;
		goto out;
	}
	for (i = 0; i < n; i++) {
		names[i] = s->keys.tenants[i].name;
		weights[i] = s->keys.tenants[i].weight;
	}
	rc = srv_metrics_new(&s->metrics, n, names);
	if (!rc)
		rc = srv_fair_new(&s->fair, n, weights, o->parallel);
	if (!rc)
		rc = srv_watch_start(&s->watch, s->fair);
out:
	free(names);
	free(weights);
	if (rc) {
		fprintf(stderr, "amanuensis-server: cannot start: %s\n", strerror(-rc));
		return SRV_EXIT_FAIL;
	}
	return 0;
}

/*
 * open_vad - the VAD for vad_filter=true, loaded once: --vad-model must
 * load (else a usage error); without it, the one wsp_vad_find() finds, and
 * none is fine (such requests then get a 400).
 */
static int open_vad(struct srv_server *s, const struct srv_opts *o)
{
	char err[1024];
	int rc = wsp_vad_open(o->vad_model, &s->vad, err, sizeof(err));

	if (rc && o->vad_model) {
		fprintf(stderr, "amanuensis-server: --vad-model: %s\n", err);
		return SRV_EXIT_USAGE;
	}
	if (rc)
		srv_log("amanuensis-server: no VAD (vad_filter=true gets 400): %s", err);
	return 0;
}

static int open_runtime(struct srv_server *s, const struct srv_opts *o)
{
	struct wsp_runtime_opts ro;
	struct wsp_runtime_error re;
	char err[512];
	int rc;

	wsp_runtime_opts_default(&ro);
	ro.model = o->model;
	ro.backend = o->backend;
	ro.threads = o->threads;
	rc = wsp_runtime_open(&s->rt, &ro, &re);
	if (rc) {
		fprintf(stderr, "amanuensis-server: %s\n", re.message);
		return SRV_EXIT_FAIL;
	}
	rc = open_vad(s, o);
	if (rc)
		return rc;
	model_name(s->model_name, sizeof(s->model_name), wsp_runtime_model_path(s->rt));
	s->multilingual = wsp_model_is_multilingual(wsp_runtime_model(s->rt)) ? 1 : 0;
	rc = srv_tenants_new(&s->tenants, &s->keys, wsp_runtime_context(s->rt), o->max_concurrent,
			     o->max_queue, err, sizeof(err));
	if (rc) {
		fprintf(stderr, "amanuensis-server: tenants: %s\n", err);
		return SRV_EXIT_FAIL;
	}
	return 0;
}

/*
 * open_remote - the --queue mode: no model here, the workers have it. What
 * the server knows of the model is its name, from --model when given.
 */
static int open_remote(struct srv_server *s, const struct srv_opts *o)
{
	char err[512];
	int rc;

	rc = srv_remote_open(&s->remote, o->queue, err, sizeof(err));
	if (rc) {
		fprintf(stderr, "amanuensis-server: --queue %s: %s\n", o->queue, err);
		return rc == -EINVAL ? SRV_EXIT_USAGE : SRV_EXIT_FAIL;
	}
	model_name(s->model_name, sizeof(s->model_name), o->model ? o->model : "whisper");
	s->multilingual = -1;          /* unknown: the workers decide (and refuse) */
	rc = srv_tenants_new(&s->tenants, &s->keys, NULL, o->max_concurrent, o->max_queue,
			     err, sizeof(err));
	if (rc) {
		fprintf(stderr, "amanuensis-server: tenants: %s\n", err);
		return SRV_EXIT_FAIL;
	}
	return 0;
}

static void drain(struct srv_server *s, struct srv_http *h, int sig)
{
	unsigned active;

	atomic_store(&s->draining, 1);
	srv_respond_set_draining();
	srv_http_quiesce(h);
	if (s->tenants)
		srv_tenants_close(s->tenants);
	pthread_mutex_lock(&s->lock);
	active = s->active;
	pthread_mutex_unlock(&s->lock);
	srv_log("amanuensis-server: %s: not accepting; %u request%s in flight", strsignal(sig),
		active, active == 1 ? "" : "s");
	if (srv_server_wait_idle(s, s->opts->drain_timeout_s)) {
		srv_log("amanuensis-server: drain timeout (%u s): stopping what is left",
			s->opts->drain_timeout_s);
		if (s->tenants)
			srv_tenants_shutdown(s->tenants);
		if (s->fair)
			srv_fair_shutdown(s->fair);
		srv_watch_cancel_all(s->watch, SRV_CANCEL_SHUTDOWN);
		srv_server_wait_idle(s, DRAIN_CANCEL_S);
	}
}

static void teardown(struct srv_server *s)
{
	srv_tenants_free(s->tenants);    /* the tenants' contexts before the base's */
	wsp_runtime_close(s->rt);
	wsp_vad_free(s->vad);
	srv_remote_close(s->remote);
	srv_watch_stop(s->watch);
	srv_fair_free(s->fair);
	srv_metrics_free(s->metrics);
	srv_keyring_free(&s->keys);
	pthread_cond_destroy(&s->idle);
	pthread_mutex_destroy(&s->lock);
}

int main(int argc, char **argv)
{
	struct srv_server s;
	struct srv_http *h = NULL;
	struct srv_opts o;
	sigset_t sigs;
	unsigned port = 0;
	char err[512];
	int rc, sig = SIGTERM;

	rc = srv_options_parse(argc, argv, &o);
	if (rc)
		return rc > 0 ? SRV_EXIT_OK : SRV_EXIT_USAGE;

	/* before any thread: every thread inherits the mask */
	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGINT);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);

	rc = setup_shared(&s, &o);
	if (rc)
		goto out;
	if (srv_http_start(&h, &s, &port, err, sizeof(err))) {
		fprintf(stderr, "amanuensis-server: %s\n", err);
		rc = SRV_EXIT_FAIL;
		goto out;
	}
	rc = o.queue ? open_remote(&s, &o) : open_runtime(&s, &o);
	if (rc)
		goto out;
	/* release: a request that sees ready sees the tenants and the runtime too */
	atomic_store_explicit(&s.ready, 1, memory_order_release);
	srv_log(strchr(o.host, ':') ? "listening on http://[%s]:%u" : "listening on http://%s:%u",
		o.host, port);

	while (sigwait(&sigs, &sig))
		;
	drain(&s, h, sig);
	rc = SRV_EXIT_OK;
out:
	srv_http_stop(h);
	teardown(&s);
	if (!rc)
		srv_log("amanuensis-server: stopped");
	return rc;
}
