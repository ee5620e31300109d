/* SPDX-License-Identifier: MIT */
/*
 * service/queue_conn.h - running Redis commands on an amq_conn: one
 * command, or several in one MULTI/EXEC transaction, each retried over
 * a reconnect when the connection fails. Internal to the service library.
 */
#ifndef AMN_SERVICE_QUEUE_CONN_H
#define AMN_SERVICE_QUEUE_CONN_H

#include <stddef.h>

#include "service/queue.h"
#include "service/queue_wire.h"

struct redisReply;

/**
 * amq_conn_run - run the command @a and return its reply. When the
 * connection fails (reset, closed, no reply within the I/O timeout plus
 * @block_ms) it reconnects with backoff, logging each try, and runs the
 * command again; so a command may be applied twice (every command the
 * queue sends is safe to repeat).
 * @block_ms: how long the command may block in Redis (XREAD BLOCK), 0 for none.
 * Return: 0 with *@reply (free with amq_reply_free(); never an error
 * reply); -EPROTO with @err holding Redis's error text ("NOGROUP ...");
 * -E2BIG for an overflowed @a; -ECANCELED or -ETIMEDOUT when reconnecting
 * was stopped or gave up.
 */
int amq_conn_run(struct amq_conn *c, const struct amq_args *a, int block_ms,
		 struct redisReply **reply, char *err, size_t errlen);

/**
 * amq_conn_transaction - run the @n commands @cmds as one MULTI/EXEC
 * transaction: all of them or none. Retried over reconnects like
 * amq_conn_run() (a transaction whose EXEC was applied but whose reply was
 * lost runs again).
 * Return: 0; -EPROTO when Redis refused a command (@err names it); or as
 * amq_conn_run().
 */
int amq_conn_transaction(struct amq_conn *c, const struct amq_args *const *cmds, int n,
			 char *err, size_t errlen);

/** amq_conn_where - "HOST:PORT" of @c, for log lines. */
const char *amq_conn_where(const struct amq_conn *c);

/** amq_conn_log_name - the log prefix @c was opened with. */
const char *amq_conn_log_name(const struct amq_conn *c);

/** amq_reply_free - free a reply of amq_conn_run(); NULL is a no-op. */
void amq_reply_free(struct redisReply *r);

/**
 * amq_reply_fields - the field/value pairs of a stream entry's array
 * reply @r ([name, value, name, value, ...]) into @f (@cap pairs).
 * Return: the number of pairs in the entry (which may exceed @cap: then
 * only @cap are filled), or -EPROTO for a reply that is not such an array.
 */
int amq_reply_fields(const struct redisReply *r, struct amq_field *f, int cap);

/**
 * amq_reply_is - whether @r is a string (or status) reply equal to @s.
 * Return: 1 or 0.
 */
int amq_reply_is(const struct redisReply *r, const char *s);

#endif
