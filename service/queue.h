/* SPDX-License-Identifier: MIT */
/*
 * service/queue.h - transcription jobs over Redis Streams
 * (Documentation/scale-out.md): the wire format both sides speak, a
 * connection that reconnects with backoff, and the front door's half:
 * enqueue a job, then wait for its result events (segments as they
 * arrive, then done or error). The worker's half is service/queue_worker.h.
 *
 * A connection belongs to one thread at a time (hiredis contexts are not
 * thread-safe); a program that waits for many jobs at once opens one
 * connection per waiting thread.
 */
#ifndef AMN_SERVICE_QUEUE_H
#define AMN_SERVICE_QUEUE_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "whisper/transcribe.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The wire format's version: the "v" field of every entry. */
#define AMQ_VERSION 1
/*
 * The newest job version: 2 adds the fields batch and vad_filter. A job
 * is written as version 1 unless it uses one of them, so workers that read
 * only version 1 keep taking every job that does not, and refuse the
 * others by their version, not as bad jobs.
 */
#define AMQ_JOB_VERSION_MAX 2

/* Names (Documentation/scale-out.md, "Keys"). */
#define AMQ_DEFAULT_STREAM "amn:jobs"
#define AMQ_DEFAULT_GROUP "amn-workers"
#define AMQ_DEAD_SUFFIX ":dead"
#define AMQ_RESULT_PREFIX "amn:result:"

/* Limits of a version 1 job. */
#define AMQ_ID_MAX 64                        /* job id bytes */
#define AMQ_TENANT_MAX 64
#define AMQ_FILENAME_MAX 255
#define AMQ_PROMPT_MAX 4096
#define AMQ_LANGUAGE_MAX 15
#define AMQ_MAX_TEMPERATURES 16
#define AMQ_MAX_FIELDS 32                    /* field/value pairs of one job entry */
#define AMQ_DEFAULT_MAX_AUDIO (25u << 20)    /* bytes; the worker's --max-audio-bytes */
#define AMQ_WIRE_MAX_AUDIO (500u << 20)      /* bytes; below Redis's 512 MiB for one value */
#define AMQ_DEFAULT_TTL_S 3600               /* how long a result stream lives */
#define AMQ_MAX_TTL_S 604800
#define AMQ_MESSAGE_MAX 512                  /* error and retry messages */

/** A redis:// address: redis://[[USER]:PASSWORD@]HOST[:PORT][/DB]. */
struct amq_url {
	char host[256];
	int port;                    /* 6379 when not given */
	int db;                      /* 0 when not given */
	char user[128];              /* "" for none */
	char password[256];          /* "" for none */
};

/**
 * amq_url_parse - read @url into @u.
 * Return: 0, or -EINVAL with @err saying what is wrong.
 */
int amq_url_parse(const char *url, struct amq_url *u, char *err, size_t errlen);

/** How a connection behaves; zero fields take the defaults in brackets. */
struct amq_conn_opts {
	const char *log_name;        /* prefix of its log lines on stderr ["amq"] */
	int connect_timeout_ms;      /* [2000] */
	int io_timeout_ms;           /* a reply later than this (beyond a BLOCK) is a failure [10000] */
	int backoff_min_ms;          /* first wait before reconnecting [100] */
	int backoff_max_ms;          /* the wait doubles up to this [5000] */
	int give_up_ms;              /* stop reconnecting after this long [0: never] */
	const atomic_int *stop;      /* when set and non-zero, stop reconnecting (-ECANCELED) */
};

struct amq_conn;

/**
 * amq_conn_open - connect to @url (retrying with backoff as @o says;
 * NULL: defaults), authenticate and select its database.
 * Return: 0 with the connection in @out; -EINVAL for a bad URL,
 * -ETIMEDOUT after give_up_ms, -ECANCELED when stopped; @err says why.
 */
int amq_conn_open(struct amq_conn **out, const char *url, const struct amq_conn_opts *o,
		  char *err, size_t errlen);

/** amq_conn_close - disconnect and free; NULL is a no-op. */
void amq_conn_close(struct amq_conn *c);

/** amq_conn_reconnects - how many times @c has reconnected since it opened. */
unsigned amq_conn_reconnects(const struct amq_conn *c);

/** One transcription job, as the front door sends it and the worker reads it. */
struct amq_job {
	char id[AMQ_ID_MAX + 1];     /* [A-Za-z0-9_.:-], 1 to 64 bytes */
	const char *tenant;          /* NULL: "default" */
	int64_t deadline_ms;         /* Unix time in ms after which no answer is wanted; 0: none */
	int64_t enqueued_ms;         /* Unix time in ms; 0: not sent */
	int ttl_s;                   /* the result stream's expiry; 0: AMQ_DEFAULT_TTL_S */
	const char *filename;        /* NULL or the upload's name, for logs */
	char language[AMQ_LANGUAGE_MAX + 1];  /* "": detect */
	enum wsp_task task;
	const char *prompt;          /* NULL or the initial prompt */
	float temperatures[AMQ_MAX_TEMPERATURES];
	int n_temperatures;          /* 0: the library's ladder */
	int beam_size;               /* 0: the library's default */
	int best_of;                 /* 0: the library's default */
	int without_timestamps;      /* 0 or 1 */
	int condition_on_previous_text;  /* -1: the library's default, else 0 or 1 */
	int batch;                   /* the batched long-form mode, 2..64 windows at once; 0, 1: sequential */
	int vad_filter;              /* 1: only the speech regions, found by the worker's VAD */
	const void *audio;           /* the audio file's bytes (any format the library reads) */
	size_t audio_len;
};

/** amq_job_init - zero @j and set the fields whose default is not zero. */
void amq_job_init(struct amq_job *j);

/**
 * amq_job_new_id - a fresh random job id (32 hex digits) in @id.
 * Return: 0, or -errno when the kernel gave no random bytes.
 */
int amq_job_new_id(char id[AMQ_ID_MAX + 1]);

/**
 * amq_job_check - whether @j can be sent: id, strings and values within
 * the limits above, audio present and at most @max_audio bytes (0: the default).
 * Return: 0, or -EINVAL / -EMSGSIZE with @err naming the field.
 */
int amq_job_check(const struct amq_job *j, size_t max_audio, char *err, size_t errlen);

/**
 * amq_job_apply - set the decoding options @j carries on @t (already
 * filled by wsp_transcribe_opts_default()). @t points into @j for the
 * language, prompt and temperatures: @j must outlive @t's use. vad_filter
 * is the caller's to honour: it needs a loaded VAD for @t->vad.
 */
void amq_job_apply(const struct amq_job *j, struct wsp_transcribe_opts *t);

/**
 * amq_result_key - the name of job @id's result stream ("amn:result:ID") in @buf.
 * Return: the length, as snprintf.
 */
int amq_result_key(char *buf, size_t cap, const char *id);

/**
 * amq_enqueue - check @j (its audio against AMQ_WIRE_MAX_AUDIO: a front
 * door holds uploads to its own, smaller limit) and add it to @stream (NULL: AMQ_DEFAULT_STREAM)
 * with XADD, trimmed to about @maxlen entries (0: untrimmed). Retried
 * over reconnects: a job may so be added twice, which the workers answer once.
 * Return: 0, -EINVAL/-EMSGSIZE for a bad job, or the connection's -errno;
 * @err says why.
 */
int amq_enqueue(struct amq_conn *c, const char *stream, long maxlen, const struct amq_job *j,
		char *err, size_t errlen);

/** How a job ended, as amq_wait_result() saw it. */
struct amq_answer {
	int status;                  /* 0: done; else the error event's status (400, 500, 504) */
	int attempt;                 /* the delivery that answered */
	char message[AMQ_MESSAGE_MAX];  /* the error event's message, or "" */
};

/** What amq_wait_result() calls while it waits (all optional). */
struct amq_wait_hooks {
	/* each segment once, in order, as soon as it is read */
	void (*on_segment)(void *arg, const struct wsp_segment *seg, int index);
	/* between reads, at least once a second: non-zero stops the wait (-ECANCELED) */
	int (*should_stop)(void *arg);
	void *arg;
};

/**
 * amq_wait_result - read job @id's result stream until its first done or
 * error event, passing every segment index once to @h (NULL: none) and
 * collecting the segments into @res (language and duration too). Segments
 * repeated by a second delivery of the job are skipped.
 * @deadline_ms: Unix time in ms to give up at (0: never).
 * Return: 0 with @ans filled (then release @res with wsp_result_free(),
 * whether the job succeeded or not); -ETIMEDOUT at the deadline,
 * -ECANCELED when @h stopped it, -EPROTO for a malformed stream, or the
 * connection's -errno, with @err saying why and @res already released.
 */
int amq_wait_result(struct amq_conn *c, const char *id, int64_t deadline_ms,
		    const struct amq_wait_hooks *h, struct wsp_result *res, struct amq_answer *ans,
		    char *err, size_t errlen);

/** amq_now_ms - the Unix time in milliseconds (what deadline_ms counts in). */
int64_t amq_now_ms(void);

/** amq_log - write "@name: message" as one line on stderr (one write, whole lines). */
void amq_log(const char *name, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#ifdef __cplusplus
}
#endif
#endif
