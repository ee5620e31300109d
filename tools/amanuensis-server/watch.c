/* SPDX-License-Identifier: MIT */
/*
 * tools/amanuensis-server/watch.c - the watchdog thread over the requests
 * at work: vanished clients and passed deadlines set the cancel flag
 * (see watch.h).
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <time.h>

#include "tools/amanuensis-server/fair.h"
#include "tools/amanuensis-server/server.h"
#include "tools/amanuensis-server/watch.h"

#define WATCH_PERIOD_NS (100 * 1000000L)

struct srv_watch {
	pthread_mutex_t lock;
	pthread_cond_t cond;             /* stop */
	struct srv_watch_entry head;     /* circular list, head.next is the first */
	struct srv_fair *fair;
	int stop;
	pthread_t thread;
};

int srv_cancel_set(atomic_int *flag, int reason)
{
	int expected = SRV_CANCEL_NONE;

	/*
	 * First reason wins. seq_cst: the flag is read by the transcribing
	 * thread (window_begin, srv_fair_acquire's polling) and publishes
	 * nothing but its own value, so any order would do; the default is
	 * kept because this is far from a hot path.
	 */
	if (atomic_compare_exchange_strong(flag, &expected, reason))
		return reason;
	return expected;
}

/* client_gone - the socket says EOF or an error: the client closed it. */
static int client_gone(int fd)
{
	char c;
	ssize_t n;

	if (fd < 0)
		return 0;
	n = recv(fd, &c, 1, MSG_PEEK | MSG_DONTWAIT);
	if (n == 0)
		return 1;
	if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
		return 1;
	return 0;
}

/* look - one entry, lock held. Return: its cancel reason now. */
static int look(struct srv_watch_entry *e, double now)
{
	int reason = atomic_load(e->cancel);

	if (reason)
		return reason;
	if (e->deadline > 0 && now >= e->deadline)
		return srv_cancel_set(e->cancel, SRV_CANCEL_TIMEOUT);
	if (client_gone(e->fd))
		return srv_cancel_set(e->cancel, SRV_CANCEL_CLIENT);
	return SRV_CANCEL_NONE;
}

static void *watch_main(void *arg)
{
	struct srv_watch *w = arg;
	struct srv_watch_entry *e;
	struct timespec until;
	int woke;

	pthread_mutex_lock(&w->lock);
	while (!w->stop) {
		double now = srv_now();

		woke = 0;
		for (e = w->head.next; e != &w->head; e = e->next) {
			int before = atomic_load(e->cancel);

			if (!before && look(e, now))
				woke = 1;
		}
		if (woke && w->fair)
			srv_fair_wake(w->fair);
		clock_gettime(CLOCK_MONOTONIC, &until);
		until.tv_nsec += WATCH_PERIOD_NS;
		if (until.tv_nsec >= 1000000000L) {
			until.tv_sec++;
			until.tv_nsec -= 1000000000L;
		}
		pthread_cond_timedwait(&w->cond, &w->lock, &until);
	}
	pthread_mutex_unlock(&w->lock);
	return NULL;
}

int srv_watch_start(struct srv_watch **out, struct srv_fair *fair)
{
	struct srv_watch *w = calloc(1, sizeof(*w));
	pthread_condattr_t ca;
	int rc;

	*out = NULL;
	if (!w)
		return -ENOMEM;
	pthread_mutex_init(&w->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&w->cond, &ca);
	pthread_condattr_destroy(&ca);
	w->head.next = w->head.prev = &w->head;
	w->fair = fair;
	rc = pthread_create(&w->thread, NULL, watch_main, w);
	if (rc) {
		pthread_cond_destroy(&w->cond);
		pthread_mutex_destroy(&w->lock);
		free(w);
		return -rc;
	}
	*out = w;
	return 0;
}

void srv_watch_stop(struct srv_watch *w)
{
	if (!w)
		return;
	pthread_mutex_lock(&w->lock);
	w->stop = 1;
	pthread_cond_signal(&w->cond);
	pthread_mutex_unlock(&w->lock);
	pthread_join(w->thread, NULL);
	pthread_cond_destroy(&w->cond);
	pthread_mutex_destroy(&w->lock);
	free(w);
}

void srv_watch_add(struct srv_watch *w, struct srv_watch_entry *e)
{
	pthread_mutex_lock(&w->lock);
	if (!e->listed) {
		e->next = &w->head;
		e->prev = w->head.prev;
		w->head.prev->next = e;
		w->head.prev = e;
		e->listed = 1;
	}
	pthread_mutex_unlock(&w->lock);
}

void srv_watch_remove(struct srv_watch *w, struct srv_watch_entry *e)
{
	pthread_mutex_lock(&w->lock);
	if (e->listed) {
		e->prev->next = e->next;
		e->next->prev = e->prev;
		e->next = e->prev = NULL;
		e->listed = 0;
	}
	pthread_mutex_unlock(&w->lock);
}

int srv_watch_check(struct srv_watch *w, struct srv_watch_entry *e)
{
	int reason;

	pthread_mutex_lock(&w->lock);
	reason = e->listed ? look(e, srv_now()) : atomic_load(e->cancel);
	pthread_mutex_unlock(&w->lock);
	return reason;
}

void srv_watch_cancel_all(struct srv_watch *w, int reason)
{
	struct srv_watch_entry *e;

	pthread_mutex_lock(&w->lock);
	for (e = w->head.next; e != &w->head; e = e->next)
		srv_cancel_set(e->cancel, reason);
	pthread_mutex_unlock(&w->lock);
	if (w->fair)
		srv_fair_wake(w->fair);
}
