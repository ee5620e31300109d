/* SPDX-License-Identifier: MIT */
/*
 * service/queue_worker.h - the worker's half of the queue
 * (Documentation/scale-out.md): N job threads, each with its own
 * transport (its own Redis connection), and a keeper thread that renews
 * the claims of the jobs in progress. A job thread takes a delivery, decides
 * what it needs (dead-letter a bad job, acknowledge one already answered,
 * give up after too many attempts, answer an expired one with 504), runs
 * the job through a handler that streams its segments into a sink, and
 * finishes it (done and acknowledgement in one transaction).
 *
 * The transport is an ops table so that the policy here runs against
 * Redis (service/queue_redis.c) and against an in-memory stand-in in the
 * tests, under ThreadSanitizer too.
 */
#ifndef AMN_SERVICE_QUEUE_WORKER_H
#define AMN_SERVICE_QUEUE_WORKER_H

#include <stdatomic.h>
#include <stddef.h>

#include "service/queue.h"
#include "service/queue_wire.h"

#define AMQ_ENTRY_ID_MAX 48

/** One delivered entry of the jobs stream; its fields belong to the transport. */
struct amq_delivery {
	char entry_id[AMQ_ENTRY_ID_MAX];  /* "1700000000000-0" */
	int attempt;                 /* the entry's delivery count, from 1 */
	int n_fields;                /* pairs in the entry (more than AMQ_MAX_FIELDS: only those kept) */
	struct amq_field fields[AMQ_MAX_FIELDS];
};

struct amq_transport;

/**
 * struct amq_transport_ops - what a job thread asks of its transport. Each
 * call may block (reconnecting) and returns 0 or a negative errno.
 * @next: the next delivery, a reclaimed one or a new one, into @d (valid
 *	until the next call); -EAGAIN when none came within @block_ms.
 * @state: whether job @id's result stream already holds its final (done
 *	or error) event (*@finished = 1), and the message of its last retry
 *	event in @last_error ("" for none).
 * @emit: add @ev to job @id's result stream, renewing its @ttl_s expiry.
 * @finish: in one transaction add @ev (NULL: none) to job @id's result
 *	stream, acknowledge @d and delete it from the jobs stream.
 * @dead: in one transaction copy @d to the dead-letter stream with
 *	@ev->message, add @ev (an error event) to job @id's result stream
 *	(@id NULL or "": the job has no usable id, no result is written),
 *	acknowledge @d and delete it.
 * @touch: tell the others @d is still being worked on (its idle time
 *	restarts); only @d->entry_id is set. Called by the keeper thread.
 * @close: release the transport.
 */
struct amq_transport_ops {
	int (*next)(struct amq_transport *t, int block_ms, struct amq_delivery *d);
	int (*state)(struct amq_transport *t, const char *id, int *finished,
		     char *last_error, size_t len);
	int (*emit)(struct amq_transport *t, const char *id, int ttl_s, const struct amq_event *ev);
	int (*finish)(struct amq_transport *t, const struct amq_delivery *d, const char *id,
		      int ttl_s, const struct amq_event *ev);
	int (*dead)(struct amq_transport *t, const struct amq_delivery *d, const char *id,
		    int ttl_s, const struct amq_event *ev);
	int (*touch)(struct amq_transport *t, const struct amq_delivery *d);
	void (*close)(struct amq_transport *t);
};

/** The head of every transport: implementations embed it first. */
struct amq_transport {
	const struct amq_transport_ops *ops;
};

/**
 * amq_transport_open_fn - open job thread @index's transport.
 * @stop: set once the worker stops: a transport then stops reconnecting
 *	and fails what needed the connection.
 * Return: 0 with *@out, or -errno with @err set.
 */
typedef int (*amq_transport_open_fn)(void *arg, int index, const atomic_int *stop,
				     struct amq_transport **out, char *err, size_t errlen);

struct amq_sink;

/**
 * amq_job_handler_fn - transcribe @job: stream each segment with
 * amq_sink_segment(), ask amq_sink_window() before each window, and end
 * with amq_sink_done() on success.
 * @permanent: set to 1 when the job itself is at fault (undecodable audio,
 *	a language the model lacks), so that retrying cannot help.
 * Return: 0 after amq_sink_done(), or the failure's -errno with @err set
 * (-ECANCELED and -ETIMEDOUT from amq_sink_window() passed through).
 */
typedef int (*amq_job_handler_fn)(void *arg, const struct amq_job *job, struct amq_sink *sink,
				  int *permanent, char *err, size_t errlen);

/**
 * amq_sink_window - before each window of the job.
 * Return: 0 to go on; -ECANCELED when the worker stops at once or a
 * result could not be written; -ETIMEDOUT past the job's deadline.
 */
int amq_sink_window(struct amq_sink *s);

/** amq_sink_segment - write segment @index (of the window at frame @seek) to the result stream. */
void amq_sink_segment(struct amq_sink *s, const struct wsp_segment *seg, int index, int seek);

/**
 * amq_sink_done - write the done event of @res and acknowledge the job.
 * Return: 0, or -errno when it could not be written (the job stays pending).
 */
int amq_sink_done(struct amq_sink *s, const struct wsp_result *res);

/** What the job threads do. */
struct amq_worker_opts {
	const char *log_name;        /* prefix of the log lines, e.g. "amanuensis-worker" */
	int jobs;                    /* job threads (concurrent transcriptions), >= 1 */
	int max_attempts;            /* deliveries before a job goes to the dead letter, >= 1 */
	size_t max_audio;            /* bytes; 0: AMQ_DEFAULT_MAX_AUDIO */
	int block_ms;                /* how long one read waits (the stop latency) */
	int touch_ms;                /* the claim of every job in progress is renewed this often */
	amq_transport_open_fn open;
	void *open_arg;
	amq_job_handler_fn handle;
	void *handle_arg;
};

/** Counts since start, for logs and tests. */
struct amq_worker_stats {
	unsigned long done;          /* answered with a done event */
	unsigned long failed;        /* answered with an error event (expired, gave up, bad input) */
	unsigned long dead;          /* sent to the dead-letter stream */
	unsigned long duplicate;     /* already answered: acknowledged only */
	unsigned long retried;       /* attempts that failed and were left for another */
	unsigned long left;          /* left pending at a hard stop */
};

struct amq_worker;

/**
 * amq_worker_start - open @o->jobs transports and one more for the
 * keeper (in order, failing on the first that does not open), and start
 * a job thread on each and the keeper, which renews the claims of the
 * jobs in progress every @o->touch_ms.
 * Return: 0 with *@out, or -errno with @err set (nothing stays running).
 */
int amq_worker_start(struct amq_worker **out, const struct amq_worker_opts *o,
		     char *err, size_t errlen);

/**
 * amq_worker_stop - stop taking jobs; jobs in progress finish (@hard = 0)
 * or are stopped at their next window and left pending for another
 * worker to reclaim (@hard = 1). Returns at once; amq_worker_join() waits.
 */
void amq_worker_stop(struct amq_worker *w, int hard);

/** amq_worker_stats - the counts so far into @s. */
void amq_worker_stats(struct amq_worker *w, struct amq_worker_stats *s);

/** amq_worker_running - how many job threads have not yet returned (they do only once stopped). */
int amq_worker_running(struct amq_worker *w);

/** amq_worker_join - wait for every job thread, close the transports and free @w. */
void amq_worker_join(struct amq_worker *w);

/** The Redis transport's settings (service/queue_redis.c). */
struct amq_redis_opts {
	const char *url;             /* redis://HOST:PORT[/DB] */
	const char *stream;          /* the jobs stream */
	const char *group;           /* the consumer group */
	const char *consumer;        /* this worker's consumer name */
	int visibility_ms;           /* a delivery idle longer than this is reclaimed */
	long dead_maxlen;            /* the dead-letter stream is trimmed to about this many */
	const char *log_name;
};

/**
 * amq_redis_prepare - connect once and create @o's consumer group on its
 * stream (XGROUP CREATE ... 0 MKSTREAM; an existing group is kept).
 * Return: 0, or -errno with @err set.
 */
int amq_redis_prepare(const struct amq_redis_opts *o, const atomic_int *stop, char *err, size_t errlen);

/**
 * amq_redis_open - an amq_transport_open_fn over Redis for @arg, a
 * struct amq_redis_opts that must outlive the transports: its own
 * connection, XAUTOCLAIM of deliveries idle past the visibility timeout
 * (at start, then periodically) before XREADGROUP of new ones.
 */
int amq_redis_open(void *arg, int index, const atomic_int *stop, struct amq_transport **out,
		   char *err, size_t errlen);

#endif
