/* SPDX-License-Identifier: MIT */
/*
 * tools/amanuensis-worker/worker.h - amanuensis-worker, one machine's
 * share of a transcription service over Redis Streams: its options and
 * the job handler that transcribes a job on the shared runtime
 * (Documentation/scale-out.md, amanuensis-worker(1)). Internal to
 * build/amanuensis-worker.
 */
#ifndef AMN_WORKER_H
#define AMN_WORKER_H

#include <stddef.h>
#include <stdio.h>

#include "service/queue_worker.h"
#include "whisper/transcribe.h"

#define WRK_NAME "amanuensis-worker"
#define WRK_VERSION "0.1.0"

/* Exit statuses, documented in amanuensis-worker(1). */
enum {
	WRK_EXIT_OK = 0,
	WRK_EXIT_FAIL = 1,     /* Redis refused us, the engine failed, or no thread started */
	WRK_EXIT_USAGE = 2,    /* bad options */
	WRK_EXIT_MODEL = 4,    /* the model could not be found or loaded */
};

/** Everything the command line says. */
struct wrk_opts {
	const char *redis;           /* --redis URL (required) */
	const char *stream;          /* --stream */
	const char *group;           /* --group */
	char name[128];              /* --name, default HOSTNAME-PID */
	const char *model;           /* --model; NULL: wsp_runtime_find_model() */
	const char *backend;         /* --backend; NULL: $NPU_BACKEND, else auto */
	int threads;                 /* --threads; 0: the library's default */
	int jobs;                    /* --jobs: concurrent transcriptions */
	int visibility_ms;           /* --visibility-ms */
	int max_attempts;            /* --max-attempts */
	size_t max_audio;            /* --max-audio-bytes */
	long dead_maxlen;            /* --dead-maxlen; 0: untrimmed */
	const char *vad_model;       /* --vad-model; NULL: wsp_vad_find(), none is fine */
};

/**
 * wrk_parse_options - fill @o from the command line.
 * Return: 0 to run; 1 when --help or --version was printed (exit 0);
 * -EINVAL after printing the reason to stderr (exit 2).
 */
int wrk_parse_options(int argc, char **argv, struct wrk_opts *o);

/** wrk_usage - the --help text. */
void wrk_usage(FILE *f);

/** What the job handler transcribes with. */
struct wrk_engine {
	struct wsp_context *ctx;     /* the runtime's shared context */
	int multilingual;            /* the model speaks more than English */
	const struct wsp_vad *vad;   /* for jobs with vad_filter; NULL: none loaded */
};

/**
 * wrk_handle_job - an amq_job_handler_fn for @arg, a struct wrk_engine:
 * the job's audio into a memfd, transcribed from /proc/self/fd/N with the
 * job's options, each segment streamed to @sink as its window is decoded.
 */
int wrk_handle_job(void *arg, const struct amq_job *job, struct amq_sink *sink, int *permanent,
		   char *err, size_t errlen);

#endif
