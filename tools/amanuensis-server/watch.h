/* SPDX-License-Identifier: MIT */
/*
 * tools/amanuensis-server/watch.h - the watchdog of requests at work: a
 * thread that every 100 ms looks at the socket of each registered request
 * (recv MSG_PEEK: 0 is the client's EOF) and at its deadline, and sets the
 * request's cancel flag when its client left or its time is up, then wakes
 * the fair queue so that a window waiting there stops at once. A request is
 * registered while its connection's socket is certainly open (from the end
 * of its upload until its connection is done with it), so a peek never
 * reaches a reused descriptor.
 */
#ifndef AMN_SRV_WATCH_H
#define AMN_SRV_WATCH_H

#include <stdatomic.h>

struct srv_fair;
struct srv_watch;

/* Why a request stopped: the value its cancel flag takes (0: it did not). */
enum srv_cancel {
	SRV_CANCEL_NONE = 0,
	SRV_CANCEL_CLIENT,        /* the client closed its connection: 499 */
	SRV_CANCEL_TIMEOUT,       /* --request-timeout passed: 503 */
	SRV_CANCEL_SHUTDOWN,      /* the drain timed out: 503 */
};

/** One watched request; the owner keeps it alive between add and remove. */
struct srv_watch_entry {
	int fd;                   /* the connection's socket */
	double deadline;          /* srv_now() seconds; 0: none */
	atomic_int *cancel;       /* enum srv_cancel, first reason wins */
	struct srv_watch_entry *prev, *next;
	int listed;
};

/** srv_watch_start - start the thread; @fair (may be NULL) is woken on every cancel. */
int srv_watch_start(struct srv_watch **out, struct srv_fair *fair);

/** srv_watch_stop - stop and join the thread; no entry may still be listed. NULL: no-op. */
void srv_watch_stop(struct srv_watch *w);

/** srv_watch_add - watch @e (fd, deadline and cancel set). */
void srv_watch_add(struct srv_watch *w, struct srv_watch_entry *e);

/** srv_watch_remove - stop watching @e; safe when it is not listed. */
void srv_watch_remove(struct srv_watch *w, struct srv_watch_entry *e);

/**
 * srv_watch_check - look at @e now, as the thread does (its socket only if
 * still listed). Return: the cancel reason, SRV_CANCEL_NONE if none.
 */
int srv_watch_check(struct srv_watch *w, struct srv_watch_entry *e);

/**
 * srv_cancel_set - set @flag to @reason unless it holds a reason already.
 * Return: the reason it holds now.
 */
int srv_cancel_set(atomic_int *flag, int reason);

/** srv_watch_cancel_all - cancel every listed entry with @reason (the drain's end). */
void srv_watch_cancel_all(struct srv_watch *w, int reason);

#endif /* AMN_SRV_WATCH_H */
