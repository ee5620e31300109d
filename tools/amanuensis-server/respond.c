/* SPDX-License-Identifier: MIT */
/*
 * tools/amanuensis-server/respond.c - whole answers: buffers as MHD
 * responses with the common headers, queued on their connection.
 */
#include <stdatomic.h>
#include <stdlib.h>

#include <microhttpd.h>

#include "tools/amanuensis-server/respond.h"

/*
 * Set once by the SIGTERM path and read by every connection thread; it
 * publishes nothing but itself, so relaxed accesses are enough.
 */
static atomic_int draining;

void srv_respond_set_draining(void)
{
	atomic_store_explicit(&draining, 1, memory_order_relaxed);
}

void srv_respond_headers(struct MHD_Response *r, const char *ctype)
{
	if (ctype)
		MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, ctype);
	MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
	if (atomic_load_explicit(&draining, memory_order_relaxed))
		MHD_add_response_header(r, MHD_HTTP_HEADER_CONNECTION, "close");
}

struct MHD_Response *srv_response_buffer(void *body, size_t len, int owned, const char *ctype)
{
	struct MHD_Response *r;

	if (owned)
		r = MHD_create_response_from_buffer_with_free_callback(len, body, free);
	else
		r = MHD_create_response_from_buffer(len, body, MHD_RESPMEM_PERSISTENT);
	if (!r) {
		if (owned)
			free(body);
		return NULL;
	}
	srv_respond_headers(r, ctype);
	return r;
}

int srv_respond_queue(struct MHD_Connection *c, int status, struct MHD_Response *r)
{
	enum MHD_Result ok;

	if (!r)
		return MHD_NO;
	ok = MHD_queue_response(c, (unsigned)status, r);
	MHD_destroy_response(r);
	return ok;
}

int srv_respond(struct MHD_Connection *c, int status, const char *ctype, void *body,
		size_t len, int owned)
{
	return srv_respond_queue(c, status, srv_response_buffer(body, len, owned, ctype));
}
