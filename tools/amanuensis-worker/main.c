// SPDX-License-Identifier: MIT
/*
 * tools/amanuensis-worker/main.c - amanuensis-worker: open the runtime
 * once (model, engine, shared context), join the consumer group, start
 * the job threads (service/queue_worker.h over service/queue_redis.c)
 * and run until SIGTERM or SIGINT. A signal handler turns signals into
 * flags the main thread polls: the first stops taking jobs and lets
 * those in progress finish, the second stops them and leaves them
 * pending. Exit statuses are in worker.h and amanuensis-worker(1).
 */
#include <errno.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "tools/amanuensis-worker/worker.h"
#include "whisper/runtime.h"
#include "whisper/vad.h"

static atomic_int soft_stop, hard_stop, signals;

/*
 * A handler, not sigwait(): threads the libraries start before main()
 * (OpenBLAS's) do not block signals, so any thread may take one. It
 * only counts; the main thread acts.
 */
static void on_signal(int sig)
{
	int n = atomic_fetch_add(&signals, 1) + 1;

	atomic_store(&soft_stop, 1);
	if (n >= 2)
		atomic_store(&hard_stop, 1);
}

static int catch_signals(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sa.sa_flags = SA_RESTART;
	sigemptyset(&sa.sa_mask);
	return sigaction(SIGTERM, &sa, NULL) || sigaction(SIGINT, &sa, NULL) ? -1 : 0;
}

static void nap_100ms(void)
{
	struct timespec ts = { 0, 100000000L };

	nanosleep(&ts, NULL);
}

/* Wait for the job threads, passing on the stop flags as signals set them. */
static void run_until_stopped(struct amq_worker *w)
{
	int said = 0;

	while (amq_worker_running(w) > 0) {
		int hard = atomic_load(&hard_stop), soft = atomic_load(&soft_stop);

		if (soft && said < 1)
			amq_log(WRK_NAME, "signal: taking no more jobs; finishing those in progress "
				"(signal again to leave them to other workers)");
		if (hard && said < 2)
			amq_log(WRK_NAME, "signal: stopping the jobs in progress");
		said = hard ? 2 : soft ? 1 : 0;
		if (soft)
			amq_worker_stop(w, hard);
		nap_100ms();
	}
}

/*
 * open_vad - the VAD for jobs with vad_filter, loaded once, as the server
 * does: --vad-model must load (else a usage error); without it, the one
 * wsp_vad_find() finds, and none is fine (such jobs are then refused).
 */
static int open_vad(const struct wrk_opts *o, struct wsp_vad **out)
{
	char err[1024];
	int rc = wsp_vad_open(o->vad_model, out, err, sizeof(err));

	if (rc && o->vad_model) {
		fprintf(stderr, WRK_NAME ": --vad-model: %s\n", err);
		return WRK_EXIT_USAGE;
	}
	if (rc)
		amq_log(WRK_NAME, "no VAD (jobs with vad_filter go to the dead letters): %s", err);
	return 0;
}

static int open_status(const struct wsp_runtime_error *e)
{
	if (e->stage == WSP_RUNTIME_FIND)
		return WRK_EXIT_MODEL;
	if (e->stage == WSP_RUNTIME_MODEL || e->stage == WSP_RUNTIME_CONTEXT)
		return e->code == -ENOMEM ? WRK_EXIT_FAIL : WRK_EXIT_MODEL;
	return WRK_EXIT_FAIL;
}

int main(int argc, char **argv)
{
	struct wsp_runtime_opts ro;
	struct wsp_runtime_error re;
	struct wsp_runtime *rt = NULL;
	struct amq_worker *w = NULL;
	struct amq_worker_stats st;
	struct amq_redis_opts qo;
	struct amq_worker_opts wo;
	struct wrk_engine engine;
	struct wsp_vad *vad = NULL;
	struct wrk_opts o;
	struct amq_url url;
	char err[512];
	int rc;

	rc = wrk_parse_options(argc, argv, &o);
	if (rc)
		return rc > 0 ? WRK_EXIT_OK : WRK_EXIT_USAGE;
	if (amq_url_parse(o.redis, &url, err, sizeof(err))) {
		fprintf(stderr, WRK_NAME ": --redis: %s\n", err);
		return WRK_EXIT_USAGE;
	}
	if (catch_signals()) {
		fprintf(stderr, WRK_NAME ": cannot catch signals: %s\n", strerror(errno));
		return WRK_EXIT_FAIL;
	}
	rc = open_vad(&o, &vad);
	if (rc)
		return rc;

	wsp_runtime_opts_default(&ro);
	ro.model = o.model;
	ro.backend = o.backend;
	ro.threads = o.threads;
	rc = wsp_runtime_open(&rt, &ro, &re);
	if (rc) {
		fprintf(stderr, WRK_NAME ": %s\n", re.message);
		wsp_vad_free(vad);
		return open_status(&re);
	}
	if (atomic_load(&soft_stop)) {
		wsp_runtime_close(rt);
		wsp_vad_free(vad);
		return WRK_EXIT_OK;  /* a signal while the model loaded */
	}
	engine.ctx = wsp_runtime_context(rt);
	engine.multilingual = wsp_model_is_multilingual(wsp_runtime_model(rt));
	engine.vad = vad;

	qo = (struct amq_redis_opts){ .url = o.redis, .stream = o.stream, .group = o.group,
				      .consumer = o.name, .visibility_ms = o.visibility_ms,
				      .dead_maxlen = o.dead_maxlen, .log_name = WRK_NAME };
	wo = (struct amq_worker_opts){ .log_name = WRK_NAME, .jobs = o.jobs,
				       .max_attempts = o.max_attempts, .max_audio = o.max_audio,
				       .block_ms = 1000, .touch_ms = o.visibility_ms / 3,
				       .open = amq_redis_open, .open_arg = &qo,
				       .handle = wrk_handle_job, .handle_arg = &engine };
	rc = amq_redis_prepare(&qo, &soft_stop, err, sizeof(err));
	if (!rc)
		rc = amq_worker_start(&w, &wo, err, sizeof(err));
	if (rc) {
		wsp_runtime_close(rt);
		wsp_vad_free(vad);
		if (rc == -ECANCELED)
			return WRK_EXIT_OK;  /* a signal before we were ready */
		fprintf(stderr, WRK_NAME ": %s\n", err);
		return WRK_EXIT_FAIL;
	}
	amq_log(WRK_NAME, "ready: consumer %s of group %s on %s at redis %s:%d, %d job threads, "
		"model %s (%s)", o.name, o.group, o.stream, url.host, url.port, o.jobs,
		wsp_runtime_model_path(rt), wsp_runtime_backend(rt));

	run_until_stopped(w);
	amq_worker_stats(w, &st);
	amq_worker_join(w);
	amq_log(WRK_NAME, "stopped: %lu done, %lu answered with an error, %lu dead-lettered, "
		"%lu repeats, %lu retried, %lu left pending", st.done, st.failed, st.dead,
		st.duplicate, st.retried, st.left);
	wsp_runtime_close(rt);
	wsp_vad_free(vad);
	return WRK_EXIT_OK;
}
