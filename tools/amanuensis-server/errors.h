/* SPDX-License-Identifier: MIT */
/*
 * tools/amanuensis-server/errors.h - OpenAI's error object,
 * {"error":{"message","type","param","code"}}, for every status the server
 * answers with, and the call that queues it as a response.
 */
#ifndef AMN_SRV_ERRORS_H
#define AMN_SRV_ERRORS_H

#include <stddef.h>

struct MHD_Connection;

/** srv_error_type - OpenAI's "type" for HTTP @status ("invalid_request_error", ...). */
const char *srv_error_type(int status);

/**
 * srv_error_json - the error object, malloc'd and NUL-terminated (length
 * in *@len when @len is not NULL). Bytes of @message that are not
 * printable ASCII are written as '?', so that any client text may be quoted.
 * @param: the field at fault, NULL or "": null. @code: NULL: a default for @status.
 * Return: NULL only when out of memory.
 */
char *srv_error_json(int status, const char *message, const char *param, const char *code,
		     size_t *len);

/**
 * srv_queue_error - queue the error object as the answer on @c, with
 * Retry-After: @retry_after_s when that is not 0, and Allow: @allow when not NULL.
 * Return: what MHD_queue_response() returns (MHD_YES/MHD_NO).
 */
int srv_queue_error(struct MHD_Connection *c, int status, const char *param,
		    const char *code, unsigned retry_after_s, const char *allow,
		    const char *message);

#endif /* AMN_SRV_ERRORS_H */
