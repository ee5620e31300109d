/* SPDX-License-Identifier: MIT */
/*
 * tools/amanuensis-server/api.h - the life of one API request
 * (POST /v1/audio/transcriptions or /v1/audio/translations): key and
 * admission on its headers, the multipart body into an upload, the
 * fields checked, the job run (or started, for a stream), the answer in
 * its response_format, and at the end one log line and the metrics.
 */
#ifndef AMN_SRV_API_H
#define AMN_SRV_API_H

#include <stddef.h>

#include "tools/amanuensis-server/request.h"

struct MHD_Connection;
struct srv_server;

/**
 * srv_api_begin - the headers of a request to @ep have arrived: check its
 * key and find room for it. Its state goes to *@con_cls (given back to
 * srv_api_continue() and srv_api_completed()).
 * Return: 1 to go on, 0 to close the connection.
 */
int srv_api_begin(struct srv_server *s, struct MHD_Connection *c, enum srv_endpoint ep,
		  void **con_cls);

/**
 * srv_api_continue - @*size bytes of body at @data (consumed: *@size is
 * set to 0), or with *@size 0 the end of the body: answer.
 * Return: 1 to go on, 0 to close the connection.
 */
int srv_api_continue(struct srv_server *s, struct MHD_Connection *c, const char *data,
		     size_t *size, void *call);

/**
 * srv_api_completed - MHD is done with the request's connection (@ok: the
 * answer was sent whole). A stream whose client went away is cancelled.
 */
void srv_api_completed(struct srv_server *s, void *call, int ok);

#endif /* AMN_SRV_API_H */
