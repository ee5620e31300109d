// SPDX-License-Identifier: MIT
/*
 * service/queue_args.c - argument lists for Redis commands (struct
 * amq_args, service/queue_wire.h), the clock deadlines count in, and the
 * queue's log lines.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "service/queue_wire.h"

void amq_args_init(struct amq_args *a)
{
	a->n = 0;
	a->text_used = 0;
	a->overflow = 0;
}

void amq_args_bytes(struct amq_args *a, const void *p, size_t len)
{
	if (a->n >= AMQ_ARGS_MAX) {
		a->overflow = 1;
		return;
	}
	a->v[a->n] = p;
	a->len[a->n] = len;
	a->n++;
}

void amq_args_add(struct amq_args *a, const char *s)
{
	amq_args_bytes(a, s, strlen(s));
}

void amq_args_printf(struct amq_args *a, const char *fmt, ...)
{
	size_t room = sizeof(a->text) - a->text_used;
	char *dst = a->text + a->text_used;
	va_list ap;
	int len;

	va_start(ap, fmt);
	len = vsnprintf(dst, room, fmt, ap);
	va_end(ap);
	if (len < 0 || (size_t)len >= room) {
		a->overflow = 1;
		return;
	}
	a->text_used += (size_t)len + 1;
	amq_args_bytes(a, dst, (size_t)len);
}

int64_t amq_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void amq_log(const char *name, const char *fmt, ...)
{
	char line[1024];
	va_list ap;
	int len;

	len = snprintf(line, sizeof(line), "%s: ", name ? name : "amq");
	if (len < 0 || (size_t)len >= sizeof(line))
		len = 0;
	va_start(ap, fmt);
	vsnprintf(line + len, sizeof(line) - (size_t)len - 1, fmt, ap);
	va_end(ap);
	len = (int)strlen(line);
	line[len++] = '\n';
	/* One write: lines of different threads and processes never mix. */
	if (write(STDERR_FILENO, line, (size_t)len) < 0)
		return;
}
