/* SPDX-License-Identifier: MIT */
/*
 * tools/amanuensis-server/http.c - the libmicrohttpd daemon and its routes.
 *
 * Threading: one thread per connection (MHD_USE_THREAD_PER_CONNECTION).
 * An API request blocks for seconds to minutes - waiting for a place among
 * the requests transcribing, for its tenant's turn in the fair queue
 * window by window, and in the decoder itself - and a stream's content
 * reader blocks until its next segment is decoded. With a thread per
 * connection each of these waits is a plain blocking call on the thread
 * that owns the connection, and the number of threads is bounded by the
 * connection limit (--max-concurrent + --max-queue + a margin for the plain
 * endpoints), the idle timeout and the per-connection memory limit. The
 * alternative, internal polling with suspend/resume, would need a worker
 * pool of our own and a hand-off of every request and every stream event
 * between it and the polling thread, for no gain at these connection
 * counts: the decoder, not the threads, bounds the work.
 *
 * Routes: GET / (the page), /health, /ready, /v1/models, /metrics,
 * /openapi.json; POST /v1/audio/transcriptions and /v1/audio/translations
 * (api.c). A known path with another method gets 405 with Allow; any other
 * path 404, both as OpenAI error objects.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <jansson.h>
#include <microhttpd.h>

#include "tools/amanuensis-server/api.h"
#include "tools/amanuensis-server/assets.h"
#include "tools/amanuensis-server/errors.h"
#include "tools/amanuensis-server/http.h"
#include "tools/amanuensis-server/metrics.h"
#include "tools/amanuensis-server/respond.h"
#include "tools/amanuensis-server/server.h"
#include "whisper/runtime.h"

/* A connection's memory pool: request line, headers, read buffer. Larger headers: 431. */
#define CONN_MEMORY (128 * 1024)
/* Connections beyond the API's admitted requests: plain endpoints, keep-alive idlers. */
#define CONN_MARGIN 64

struct srv_http {
	struct MHD_Daemon *d;
	struct srv_server *s;
	int quiesced;
};

enum route_id {
	R_PAGE, R_HEALTH, R_READY, R_MODELS, R_METRICS, R_OPENAPI, R_TRANSCRIBE, R_TRANSLATE,
};

static const struct route {
	const char *path;
	enum route_id id;
	int post;                 /* POST only; else GET and HEAD */
} routes[] = {
	{ "/", R_PAGE, 0 },
	{ "/health", R_HEALTH, 0 },
	{ "/ready", R_READY, 0 },
	{ "/v1/models", R_MODELS, 0 },
	{ "/metrics", R_METRICS, 0 },
	{ "/openapi.json", R_OPENAPI, 0 },
	{ "/v1/audio/transcriptions", R_TRANSCRIBE, 1 },
	{ "/v1/audio/translations", R_TRANSLATE, 1 },
};

static int respond_json(struct MHD_Connection *c, int status, json_t *j)
{
	char *body = j ? json_dumps(j, JSON_COMPACT) : NULL;

	json_decref(j);
	if (!body)
		return MHD_NO;
	return srv_respond(c, status, "application/json", body, strlen(body), 1);
}

static int get_ready(struct srv_server *s, struct MHD_Connection *c)
{
	if (atomic_load_explicit(&s->draining, memory_order_relaxed))
		return respond_json(c, 503, json_pack("{s:s}", "status", "draining"));
	if (!atomic_load_explicit(&s->ready, memory_order_acquire))
		return respond_json(c, 503, json_pack("{s:s}", "status", "loading"));
	return respond_json(c, 200, json_pack("{s:s}", "status", "ready"));
}

static int get_models(struct srv_server *s, struct MHD_Connection *c)
{
	return respond_json(c, 200, json_pack("{s:s, s:[{s:s, s:s, s:i, s:s}]}", "object", "list",
					      "data", "id", s->model_name, "object", "model",
					      "created", 0, "owned_by", "amanuensis"));
}

static int get_metrics(struct srv_server *s, struct MHD_Connection *c)
{
	struct npu_engine *engine = s->rt ? wsp_runtime_engine(s->rt) : NULL;
	size_t len = 0;
	char *text;

	if (!atomic_load_explicit(&s->ready, memory_order_acquire))
		engine = NULL;
	text = srv_metrics_render(s->metrics, s->fair, engine, &len);
	if (!text)
		return srv_queue_error(c, 500, NULL, NULL, 0, NULL, "cannot render the metrics");
	return srv_respond(c, 200, "text/plain; version=0.0.4; charset=utf-8", text, len, 1);
}

static int get_route(struct srv_server *s, struct MHD_Connection *c, enum route_id id)
{
	const void *data;
	size_t len;

	switch (id) {
	case R_PAGE:
		data = srv_asset_page(&len);
		return srv_respond(c, 200, "text/html; charset=utf-8", (void *)data, len, 0);
	case R_OPENAPI:
		data = srv_asset_openapi(&len);
		return srv_respond(c, 200, "application/json", (void *)data, len, 0);
	case R_HEALTH:
		return respond_json(c, 200, json_pack("{s:s}", "status", "ok"));
	case R_READY:
		return get_ready(s, c);
	case R_MODELS:
		return get_models(s, c);
	case R_METRICS:
		return get_metrics(s, c);
	default:
		return MHD_NO;
	}
}

/*
 * A plain request (anything but the API) is answered on the call after its
 * headers, not on the first: MHD closes the connection after an answer
 * queued with the headers (it may not have read a body), and keep-alive
 * clients such as the page's polling would pay a new connection each time.
 * Its *con_cls points into this array, at its route (or the last entry for
 * "no such route"), so that it cannot be taken for an API request's state.
 */
#define N_ROUTES (sizeof(routes) / sizeof(routes[0]))
static const char plain_marks[N_ROUTES + 1];

static int is_plain(void *con_cls)
{
	return (const char *)con_cls >= plain_marks && (const char *)con_cls <= plain_marks + N_ROUTES;
}

/* has_body - the request announces a body (a length above 0, or chunks). */
static int has_body(struct MHD_Connection *c)
{
	const char *len = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
						      MHD_HTTP_HEADER_CONTENT_LENGTH);

	if (MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_TRANSFER_ENCODING))
		return 1;
	return len && strspn(len, "0") != strlen(len);
}

static int plain_answer(struct srv_server *s, struct MHD_Connection *c, const char *method,
			size_t idx)
{
	const struct route *r = idx < N_ROUTES ? &routes[idx] : NULL;

	if (!r)
		return srv_queue_error(c, 404, NULL, NULL, 0, NULL, "no such endpoint");
	if (r->post)
		return srv_queue_error(c, 405, NULL, NULL, 0, "POST", "this endpoint takes POST");
	if (strcmp(method, MHD_HTTP_METHOD_GET) && strcmp(method, MHD_HTTP_METHOD_HEAD))
		return srv_queue_error(c, 405, NULL, NULL, 0, "GET, HEAD", "this endpoint takes GET");
	return get_route(s, c, r->id);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
				  const char *method, const char *version,
				  const char *upload_data, size_t *upload_data_size,
				  void **con_cls)
{
	struct srv_server *s = cls;
	size_t i;

	if (*con_cls && is_plain(*con_cls)) {
		if (*upload_data_size)
			return MHD_NO;     /* a body that has_body() did not announce */
		i = (size_t)((const char *)*con_cls - plain_marks);
		return plain_answer(s, c, method, i) ? MHD_YES : MHD_NO;
	}
	if (*con_cls)   /* an API request's body or its end */
		return srv_api_continue(s, c, upload_data, upload_data_size, *con_cls) ? MHD_YES
										       : MHD_NO;
	for (i = 0; i < N_ROUTES; i++)
		if (!strcmp(url, routes[i].path))
			break;
	if (i < N_ROUTES && routes[i].post && !strcmp(method, MHD_HTTP_METHOD_POST))
		return srv_api_begin(s, c, routes[i].id == R_TRANSLATE ? SRV_EP_TRANSLATIONS
								       : SRV_EP_TRANSCRIPTIONS,
				     con_cls) ? MHD_YES : MHD_NO;
	if (has_body(c))   /* answered now: MHD closes the connection rather than read it */
		return plain_answer(s, c, method, i) ? MHD_YES : MHD_NO;
	*con_cls = (void *)&plain_marks[i];
	return MHD_YES;
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
			 enum MHD_RequestTerminationCode toe)
{
	if (*con_cls && !is_plain(*con_cls))
		srv_api_completed(cls, *con_cls, toe == MHD_REQUEST_TERMINATED_COMPLETED_OK);
	*con_cls = NULL;
}

static void on_mhd_log(void *cls, const char *fmt, va_list ap)
{
	char msg[512];
	size_t n;

	/*
	 * A connection the API closes on purpose (a client that left, a body
	 * over the limit) has its own request line already; MHD's remark on
	 * it would only double it.
	 */
	vsnprintf(msg, sizeof(msg), fmt, ap);
	if (strstr(msg, "Application reported internal error") ||
	    strstr(msg, "application error generating response"))
		return;
	n = strlen(msg);
	while (n && msg[n - 1] == '\n')
		msg[--n] = '\0';
	srv_log("amanuensis-server: http: %s", msg);
}

int srv_http_start(struct srv_http **out, struct srv_server *s, unsigned *port,
		   char *err, size_t errlen)
{
	struct addrinfo hints = { 0 }, *ai = NULL;
	const union MHD_DaemonInfo *info;
	unsigned flags = MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD |
			 MHD_USE_AUTO | MHD_USE_ITC | MHD_USE_ERROR_LOG;
	char service[8];
	struct srv_http *h;
	int rc;

	*out = NULL;
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
	snprintf(service, sizeof(service), "%u", s->opts->port);
	rc = getaddrinfo(s->opts->host, service, &hints, &ai);
	if (rc) {
		snprintf(err, errlen, "--listen %s: %s", s->opts->host, gai_strerror(rc));
		return -EINVAL;
	}
	if (ai->ai_family == AF_INET6)
		flags |= MHD_USE_IPv6;
	h = calloc(1, sizeof(*h));
	if (!h) {
		freeaddrinfo(ai);
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	h->s = s;
	h->d = MHD_start_daemon(flags, 0, NULL, NULL, on_request, s,
				MHD_OPTION_EXTERNAL_LOGGER, on_mhd_log, NULL,
				MHD_OPTION_SOCK_ADDR, ai->ai_addr,
				MHD_OPTION_CONNECTION_LIMIT,
				(unsigned)(s->opts->max_concurrent + s->opts->max_queue + CONN_MARGIN),
				MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)s->opts->idle_timeout_s,
				MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)CONN_MEMORY,
				MHD_OPTION_NOTIFY_COMPLETED, on_completed, s,
				MHD_OPTION_END);
	freeaddrinfo(ai);
	if (!h->d) {
		free(h);
		snprintf(err, errlen, "cannot listen on %s:%u (in use, or not an address "
			 "of this machine?)", s->opts->host, s->opts->port);
		return -EADDRINUSE;
	}
	info = MHD_get_daemon_info(h->d, MHD_DAEMON_INFO_BIND_PORT);
	*port = info ? info->port : s->opts->port;
	*out = h;
	return 0;
}

void srv_http_quiesce(struct srv_http *h)
{
	MHD_socket fd;

	if (!h || h->quiesced)
		return;
	fd = MHD_quiesce_daemon(h->d);
	if (fd != MHD_INVALID_SOCKET)
		close(fd);
	h->quiesced = 1;
}

void srv_http_stop(struct srv_http *h)
{
	if (!h)
		return;
	MHD_stop_daemon(h->d);
	free(h);
}
