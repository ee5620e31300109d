/* SPDX-License-Identifier: MIT */
/*
 * tools/amanuensis-server/job.h - one transcription of an uploaded file:
 * a place among the requests transcribing, then wsp_transcribe_file() on
 * the tenant's context with the server's hooks: window_begin waits for the
 * tenant's turn in the fair queue (and stops the work when the client left
 * or the time is up), window_end gives the turn back, on_segment records
 * each segment's window and, for a stream, queues its event. A plain job
 * runs on the calling (connection) thread; a stream's job runs on a thread
 * of its own while the connection thread hands its events to the client.
 */
#ifndef AMN_SRV_JOB_H
#define AMN_SRV_JOB_H

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <sys/types.h>

#include "tools/amanuensis-server/request.h"
#include "tools/amanuensis-server/watch.h"
#include "whisper/transcribe.h"

struct srv_server;

struct srv_job {
	struct srv_server *srv;
	size_t tenant;
	const struct srv_request *req;
	int audio_fd;                  /* the upload (borrowed) */
	char path[64];                 /* /proc/self/fd/N of the upload */
	const char *filename;          /* the client's name of it, for messages */
	struct srv_watch_entry watch;
	atomic_int cancel;             /* enum srv_cancel */
	/* what came of it */
	struct wsp_result res;
	int rc;                        /* wsp_transcribe_file()'s, or the admission's */
	int status;                    /* HTTP status; 499: the client left */
	double audio_s;                /* the audio's length when it succeeded */
	int remote_status;             /* --queue: the worker's error status, or 503 */
	char message[512];
	int *seeks;                    /* per segment: its window's start, 10 ms frames */
	int n_seeks, cap_seeks;
	double window_start;           /* sequential requests: the window being decoded */
	double total_s;                /* the audio's length as probed (0: unknown) */
	int batched;                   /* several windows in flight (batch > 1) */
	atomic_int holding;            /* fair-queue slots held, one per window in flight */
	int running;                   /* a transcribing place held */
	/* streams */
	int stream;
	pthread_t thread;
	int thread_started;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	char *out;                     /* event bytes not yet read */
	size_t out_len, out_off, out_cap;
	int begun;                     /* the audio opened: the first window began */
	int finished;                  /* the job ended: no more events */
	int out_failed;                /* out of memory for events */
};

/**
 * srv_job_init - a job of @tenant for @req on the upload in @audio_fd
 * (borrowed: it must stay open until the job ends), named @filename.
 * @conn_fd: the client's socket, watched for EOF; @deadline: srv_now()
 * seconds at which to give up, 0: never.
 */
void srv_job_init(struct srv_job *j, struct srv_server *srv, size_t tenant,
		  const struct srv_request *req, int audio_fd, const char *filename,
		  int conn_fd, double deadline);

/**
 * srv_job_run - transcribe on this thread, then set rc, status and message.
 * The job is watched while it runs. Return: the HTTP status.
 */
int srv_job_run(struct srv_job *j);

/**
 * srv_job_start - run the job on a thread of its own, its segments queued
 * as events, and wait until its audio opened (or it ended).
 * Return: 0 with the job running or ended (srv_job_ended()), -errno when
 * no thread could be made.
 */
int srv_job_start(struct srv_job *j);

/** srv_job_ended - whether the job has ended (then rc, status are final). */
int srv_job_ended(struct srv_job *j);

/**
 * srv_job_read - up to @max bytes of events into @buf, waiting for them;
 * after @keepalive_s seconds without any, an SSE comment line instead (so
 * that the connection is never silent long enough to time out while a
 * window waits or decodes).
 * Return: bytes (> 0); 0 at the end of a stream that completed (its done
 * or error event was read); -1 when it ended without one (the client left).
 */
ssize_t srv_job_read(struct srv_job *j, char *buf, size_t max, double keepalive_s);

/** srv_job_cancel - stop the job at its next window with @reason (enum srv_cancel). */
void srv_job_cancel(struct srv_job *j, int reason);

/** srv_job_unwatch - stop looking at the client's socket (its connection is closing). */
void srv_job_unwatch(struct srv_job *j);

/** srv_job_free - join the thread (if any) and release everything. */
void srv_job_free(struct srv_job *j);

#endif /* AMN_SRV_JOB_H */
