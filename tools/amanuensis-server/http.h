/* SPDX-License-Identifier: MIT */
/*
 * tools/amanuensis-server/http.h - the HTTP side: the libmicrohttpd daemon,
 * its routes (the API, the plain endpoints, the page), and the life of an
 * API request from its first byte to its log line.
 */
#ifndef AMN_SRV_HTTP_H
#define AMN_SRV_HTTP_H

#include <stddef.h>

struct srv_server;
struct srv_http;

/**
 * srv_http_start - bind --listen and start serving. Until @s->ready is set
 * the API answers 503 and /ready says not ready.
 * @port: the port bound (the real one when 0 was asked).
 * Return: 0, or -errno with @err set.
 */
int srv_http_start(struct srv_http **out, struct srv_server *s, unsigned *port,
		   char *err, size_t errlen);

/**
 * srv_http_quiesce - stop accepting connections (the listening socket is
 * closed); connections already open are served on.
 */
void srv_http_quiesce(struct srv_http *h);

/** srv_http_stop - close every connection, join its thread, free. NULL: no-op. */
void srv_http_stop(struct srv_http *h);

#endif /* AMN_SRV_HTTP_H */
