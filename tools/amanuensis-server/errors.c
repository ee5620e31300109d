/* SPDX-License-Identifier: MIT */
/*
 * tools/amanuensis-server/errors.c - OpenAI's error object for every status
 * the server answers with, and queueing it (with Retry-After or Allow).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <microhttpd.h>

#include "tools/amanuensis-server/errors.h"
#include "tools/amanuensis-server/respond.h"

const char *srv_error_type(int status)
{
	switch (status) {
	case 401: return "authentication_error";
	case 403: return "permission_error";
	case 404: return "not_found_error";
	case 429: return "rate_limit_error";
	case 503: return "server_overloaded";
	default:  return status >= 500 ? "server_error" : "invalid_request_error";
	}
}

static const char *default_code(int status)
{
	switch (status) {
	case 401: return "invalid_api_key";
	case 404: return "not_found";
	case 405: return "method_not_allowed";
	case 413: return "file_too_large";
	case 429: return "rate_limit_exceeded";
	case 503: return "server_unavailable";
	default:  return NULL;
	}
}

/* ascii_copy - @s with every byte that is not printable ASCII as '?'. */
static char *ascii_copy(const char *s)
{
	char *out = strdup(s ? s : "");
	char *p;

	if (!out)
		return NULL;
	for (p = out; *p; p++)
		if ((unsigned char)*p < 0x20 || (unsigned char)*p >= 0x7f)
			*p = '?';
	return out;
}

char *srv_error_json(int status, const char *message, const char *param, const char *code,
		     size_t *len)
{
	char *msg = ascii_copy(message), *p = param && *param ? ascii_copy(param) : NULL, *out;
	json_t *j;

	if (!code)
		code = default_code(status);
	j = msg ? json_pack("{s:{s:s, s:s, s:s?, s:s?}}", "error", "message", msg,
			    "type", srv_error_type(status), "param", p, "code", code) : NULL;
	free(msg);
	free(p);
	out = j ? json_dumps(j, JSON_COMPACT) : NULL;
	json_decref(j);
	if (out && len)
		*len = strlen(out);
	return out;
}

int srv_queue_error(struct MHD_Connection *c, int status, const char *param,
		    const char *code, unsigned retry_after_s, const char *allow,
		    const char *message)
{
	struct MHD_Response *r;
	char retry[16];
	size_t len = 0;
	char *body;

	body = srv_error_json(status, message, param, code, &len);
	if (!body)
		return MHD_NO;
	r = srv_response_buffer(body, len, 1, "application/json");
	if (!r)
		return MHD_NO;
	if (retry_after_s) {
		snprintf(retry, sizeof(retry), "%u", retry_after_s);
		MHD_add_response_header(r, MHD_HTTP_HEADER_RETRY_AFTER, retry);
	}
	if (allow)
		MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, allow);
	return srv_respond_queue(c, status, r);
}
