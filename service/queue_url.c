// SPDX-License-Identifier: MIT
/*
 * service/queue_url.c - redis://[[USER]:PASSWORD@]HOST[:PORT][/DB] into a
 * struct amq_url (service/queue.h). HOST may be a name, an IPv4 address
 * or an IPv6 address in brackets.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "service/queue.h"

static int bad(char *err, size_t len, const char *url, const char *why)
{
	snprintf(err, len, "redis URL '%s': %s (want redis://HOST[:PORT][/DB])", url, why);
	return -EINVAL;
}

/* A decimal number in [lo, hi] spanning exactly @len bytes at @s. */
static int parse_number(const char *s, size_t len, long lo, long hi, int *out)
{
	char buf[16], *end;
	long v;

	if (!len || len >= sizeof(buf))
		return -EINVAL;
	memcpy(buf, s, len);
	buf[len] = '\0';
	if (buf[0] < '0' || buf[0] > '9')
		return -EINVAL;
	v = strtol(buf, &end, 10);
	if (*end || v < lo || v > hi)
		return -EINVAL;
	*out = (int)v;
	return 0;
}

static int copy_part(char *dst, size_t cap, const char *s, size_t len)
{
	if (len >= cap)
		return -EINVAL;
	memcpy(dst, s, len);
	dst[len] = '\0';
	return 0;
}

/* [USER]:PASSWORD before the '@'. */
static int parse_userinfo(struct amq_url *u, const char *s, size_t len)
{
	const char *colon = memchr(s, ':', len);

	if (!colon)
		return -EINVAL;  /* a user alone says nothing Redis can use */
	if (copy_part(u->user, sizeof(u->user), s, (size_t)(colon - s)))
		return -EINVAL;
	return copy_part(u->password, sizeof(u->password), colon + 1, len - (size_t)(colon - s) - 1);
}

int amq_url_parse(const char *url, struct amq_url *u, char *err, size_t errlen)
{
	const char *p, *at, *host_end, *slash, *port = NULL;
	size_t host_len;

	memset(u, 0, sizeof(*u));
	u->port = 6379;
	if (!url || strncmp(url, "redis://", 8))
		return bad(err, errlen, url ? url : "(null)", "it does not start with redis://");
	p = url + 8;
	slash = strchr(p, '/');
	at = memchr(p, '@', slash ? (size_t)(slash - p) : strlen(p));
	if (at) {
		if (parse_userinfo(u, p, (size_t)(at - p)))
			return bad(err, errlen, url, "the part before '@' is not [USER]:PASSWORD");
		p = at + 1;
	}
	if (*p == '[') {  /* [IPv6] */
		host_end = strchr(p, ']');
		if (!host_end || (slash && host_end > slash))
			return bad(err, errlen, url, "an IPv6 address misses its ']'");
		p++;
		host_len = (size_t)(host_end - p);
		host_end++;
	} else {
		host_end = p + strcspn(p, ":/");
		host_len = (size_t)(host_end - p);
	}
	if (!host_len || copy_part(u->host, sizeof(u->host), p, host_len))
		return bad(err, errlen, url, "no host, or one too long");
	if (*host_end == ':')
		port = host_end + 1;
	else if (*host_end && *host_end != '/')
		return bad(err, errlen, url, "unexpected text after the host");
	if (port) {
		size_t len = slash ? (size_t)(slash - port) : strlen(port);

		if (parse_number(port, len, 1, 65535, &u->port))
			return bad(err, errlen, url, "the port is not a number in [1, 65535]");
	}
	if (slash && slash[1]) {
		if (parse_number(slash + 1, strlen(slash + 1), 0, 1 << 20, &u->db))
			return bad(err, errlen, url, "the database is not a number");
	}
	return 0;
}
