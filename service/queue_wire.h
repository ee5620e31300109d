/* SPDX-License-Identifier: MIT */
/*
 * service/queue_wire.h - the bytes of the queue (Documentation/scale-out.md):
 * a job as stream fields and back, a result event as stream fields and
 * back, and the argument lists the Redis commands are built from. Pure
 * formatting and checking: nothing here talks to Redis. Internal to the
 * service library and its tests.
 */
#ifndef AMN_SERVICE_QUEUE_WIRE_H
#define AMN_SERVICE_QUEUE_WIRE_H

#include <stddef.h>

#include "service/queue.h"

/** One field/value pair of a stream entry; neither is NUL-terminated in general. */
struct amq_field {
	const char *name;
	size_t name_len;
	const char *value;
	size_t value_len;
};

#define AMQ_ARGS_MAX 128
#define AMQ_ARGS_TEXT 8192

/**
 * struct amq_args - one Redis command's arguments. Strings added with
 * amq_args_add() and amq_args_bytes() are borrowed (they must outlive the
 * command); numbers and amq_args_printf() text are copied into @text.
 * A failed add (too many arguments, too much text) sets @overflow and
 * the command is refused when run.
 */
struct amq_args {
	int n;
	const char *v[AMQ_ARGS_MAX];
	size_t len[AMQ_ARGS_MAX];
	char text[AMQ_ARGS_TEXT];
	size_t text_used;
	int overflow;
};

/** amq_args_init - empty @a. */
void amq_args_init(struct amq_args *a);

/** amq_args_add - append the NUL-terminated @s (borrowed). */
void amq_args_add(struct amq_args *a, const char *s);

/** amq_args_bytes - append @len bytes at @p (borrowed; binary-safe). */
void amq_args_bytes(struct amq_args *a, const void *p, size_t len);

/** amq_args_printf - append a formatted argument (copied). */
void amq_args_printf(struct amq_args *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/**
 * amq_job_encode - append @j as the field/value pairs of a version 1 job
 * entry to @a (after "XADD stream *"). @j is not checked here: see amq_job_check().
 */
void amq_job_encode(const struct amq_job *j, struct amq_args *a);

/**
 * amq_job_decode - read a job entry's @n fields into @j, checking the
 * version, required fields, unknown or repeated fields and every limit.
 * @max_audio: the largest audio accepted (0: AMQ_DEFAULT_MAX_AUDIO).
 * Strings in @j point into @f's values, which must be NUL-terminated
 * (hiredis's are) and outlive @j.
 * Return: 0; -EPROTONOSUPPORT (unknown version), -EMSGSIZE (too large)
 * or -EINVAL (anything else) with @err saying which field. On failure
 * @j->id holds the job id when that field itself was valid, else "".
 */
int amq_job_decode(struct amq_job *j, const struct amq_field *f, int n, size_t max_audio,
		   char *err, size_t errlen);

/** What a result event says. */
enum amq_event_type {
	AMQ_EVENT_SEGMENT = 0,
	AMQ_EVENT_DONE,
	AMQ_EVENT_ERROR,
	AMQ_EVENT_RETRY,             /* an attempt failed and the job will be retried */
};

/**
 * struct amq_event - one entry of a result stream. For amq_event_encode()
 * every pointer is borrowed; amq_event_decode() allocates @seg.text,
 * @seg.tokens and @text, which amq_event_clear() frees.
 */
struct amq_event {
	enum amq_event_type type;
	int attempt;                 /* the delivery that wrote it, from 1 */
	/* segment */
	int index;
	int seek;                    /* the window's start, in 10 ms frames */
	struct wsp_segment seg;
	/* done */
	char *text;                  /* every segment's text joined */
	char language[AMQ_LANGUAGE_MAX + 1];
	float language_prob;
	double duration_s;
	int n_segments;
	/* error (status and message) and retry (message) */
	int status;
	char message[AMQ_MESSAGE_MAX];
};

/** amq_event_encode - append @ev's field/value pairs to @a (after "XADD key *"). */
void amq_event_encode(const struct amq_event *ev, struct amq_args *a);

/**
 * amq_event_decode - read a result entry's @n fields into @ev (zeroed first).
 * Floats and doubles come back bit for bit as encoded.
 * Return: 0, -EPROTONOSUPPORT (unknown version or event type: skip it),
 * -ENOMEM, or -EINVAL for a malformed entry; @err says why.
 */
int amq_event_decode(struct amq_event *ev, const struct amq_field *f, int n, char *err, size_t errlen);

/** amq_event_clear - free what amq_event_decode() allocated and zero @ev. */
void amq_event_clear(struct amq_event *ev);

/**
 * amq_joined_text - every segment's text of @res joined, as the done event
 * and openai-whisper's result["text"] carry it.
 * Return: a malloc'ed string, or NULL without memory.
 */
char *amq_joined_text(const struct wsp_result *res);

#endif
