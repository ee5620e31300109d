/* SPDX-License-Identifier: MIT */
/*
 * tools/amanuensis-server/server.c - the shared state's small helpers: the
 * count of API requests in progress (what SIGTERM waits for), the log line
 * writer and the clock.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

#include "tools/amanuensis-server/server.h"

void srv_server_enter(struct srv_server *s)
{
	pthread_mutex_lock(&s->lock);
	s->active++;
	pthread_mutex_unlock(&s->lock);
}

void srv_server_leave(struct srv_server *s)
{
	pthread_mutex_lock(&s->lock);
	if (s->active && --s->active == 0)
		pthread_cond_broadcast(&s->idle);
	pthread_mutex_unlock(&s->lock);
}

int srv_server_wait_idle(struct srv_server *s, double timeout_s)
{
	struct timespec until;
	int rc = 0;

	/* s->idle was made with a CLOCK_MONOTONIC condattr (main.c). */
	clock_gettime(CLOCK_MONOTONIC, &until);
	until.tv_sec += (time_t)timeout_s;
	until.tv_nsec += (long)((timeout_s - (double)(time_t)timeout_s) * 1e9);
	if (until.tv_nsec >= 1000000000L) {
		until.tv_sec++;
		until.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&s->lock);
	while (s->active && rc != ETIMEDOUT)
		rc = pthread_cond_timedwait(&s->idle, &s->lock, &until);
	rc = s->active ? -ETIMEDOUT : 0;
	pthread_mutex_unlock(&s->lock);
	return rc;
}

void srv_log(const char *fmt, ...)
{
	char line[1024];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line) - 1, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n > sizeof(line) - 2)
		n = (int)sizeof(line) - 2;
	line[n++] = '\n';
	/* one write: lines of concurrent requests never interleave */
	if (write(STDERR_FILENO, line, (size_t)n) < 0)
		return;
}

double srv_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}
