/* SPDX-License-Identifier: MIT */
/*
 * tools/amanuensis-server/respond.h - make and queue whole answers: a body
 * with its content type and the headers every answer carries (Connection:
 * close once the server drains, so that keep-alive clients go away).
 */
#ifndef AMN_SRV_RESPOND_H
#define AMN_SRV_RESPOND_H

#include <stddef.h>

struct MHD_Connection;
struct MHD_Response;

/** srv_respond_set_draining - from now on every answer says Connection: close. */
void srv_respond_set_draining(void);

/** srv_respond_headers - add the common headers and @ctype (when not NULL) to @r. */
void srv_respond_headers(struct MHD_Response *r, const char *ctype);

/**
 * srv_response_buffer - a response of @len bytes at @body, of type @ctype.
 * @owned: nonzero: @body was malloc'd and becomes the response's (freed
 * with it, or here on failure); zero: it is static.
 * Return: the response, or NULL.
 */
struct MHD_Response *srv_response_buffer(void *body, size_t len, int owned, const char *ctype);

/**
 * srv_respond_queue - queue @r (NULL: fail) as the answer @status on @c and
 * drop this reference to it. Return: MHD_YES or MHD_NO.
 */
int srv_respond_queue(struct MHD_Connection *c, int status, struct MHD_Response *r);

/** srv_respond - srv_response_buffer() then srv_respond_queue(). */
int srv_respond(struct MHD_Connection *c, int status, const char *ctype, void *body,
		size_t len, int owned);

#endif /* AMN_SRV_RESPOND_H */
