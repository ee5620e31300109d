/* SPDX-License-Identifier: MIT */
/*
 * tools/amanuensis-server/metrics.c - the server's counters and GET /metrics
 * in the Prometheus text exposition format 0.0.4 (metrics.h has the
 * contract).
 *
 * One mutex guards every counter. That is enough: a counter changes twice
 * per request (admitted, answered), and a request takes seconds of decoding,
 * so the lock is taken a few times a second against a hold of well under a
 * microsecond; a render (every 2 s from the page, every 15-60 s from a
 * Prometheus server) holds it for a copy of a few hundred numbers. Atomics
 * per counter would buy nothing measurable and would let a render see a
 * request counted in requests_total but not yet in the histogram; under the
 * lock every render is one consistent snapshot of this file's figures.
 *
 * The figures of the fair queue and of the engine are read at render time
 * from their owners (srv_fair_stats, npu_engine_counters, and the engine's
 * stats page for its busy time), never copied here.
 */
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sched/npu.h"
#include "sched/npu_stats.h"
#include "tools/amanuensis-server/fair.h"
#include "tools/amanuensis-server/metrics.h"

/* Upper bounds of the request duration buckets, seconds; +Inf follows. */
static const double duration_le[] = { 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300 };
#define N_BUCKETS (sizeof(duration_le) / sizeof(duration_le[0]) + 1)

/* Distinct endpoint strings kept; more are counted under "other". */
#define MAX_ENDPOINTS 8
#define ENDPOINT_MAX 32

/* Requests of one tenant to one endpoint answered with one status. */
struct req_count {
	unsigned endpoint;       /* index into srv_metrics.endpoints */
	int status;
	uint64_t n;
};

struct tenant_metrics {
	char *name;
	struct req_count *req;   /* sorted by (endpoint name, status) */
	size_t n_req, cap_req;
	double audio_s;
	long inflight;
	uint64_t buckets[N_BUCKETS];   /* not cumulative: bucket i holds le[i-1] < v <= le[i] */
	double duration_sum;
	uint64_t duration_count;
};

struct srv_metrics {
	pthread_mutex_t lock;    /* guards everything below */
	struct tenant_metrics *t;
	size_t n_tenants;
	char endpoints[MAX_ENDPOINTS][ENDPOINT_MAX];
	unsigned n_endpoints;
};

int srv_metrics_new(struct srv_metrics **out, size_t n_tenants, const char *const *names)
{
	struct srv_metrics *m;

	*out = NULL;
	m = calloc(1, sizeof(*m));
	if (!m)
		return -ENOMEM;
	m->t = calloc(n_tenants ? n_tenants : 1, sizeof(*m->t));
	if (!m->t)
		goto err;
	m->n_tenants = n_tenants;
	for (size_t i = 0; i < n_tenants; i++) {
		m->t[i].name = strdup(names && names[i] ? names[i] : "");
		if (!m->t[i].name)
			goto err;
	}
	if (pthread_mutex_init(&m->lock, NULL))
		goto err;
	*out = m;
	return 0;
err:
	if (m->t)
		for (size_t i = 0; i < n_tenants; i++)
			free(m->t[i].name);
	free(m->t);
	free(m);
	return -ENOMEM;
}

void srv_metrics_free(struct srv_metrics *m)
{
	if (!m)
		return;
	for (size_t i = 0; i < m->n_tenants; i++) {
		free(m->t[i].name);
		free(m->t[i].req);
	}
	free(m->t);
	pthread_mutex_destroy(&m->lock);
	free(m);
}

/*
 * The index of @endpoint, added if new. The last place is kept for "other"
 * (also the name of a missing or over-long endpoint), so the number of
 * series stays bounded whatever callers pass. Lock held.
 */
static unsigned endpoint_index(struct srv_metrics *m, const char *endpoint)
{
	unsigned i;

	if (!endpoint || !*endpoint || strlen(endpoint) >= ENDPOINT_MAX)
		endpoint = "other";
	for (i = 0; i < m->n_endpoints; i++)
		if (!strcmp(m->endpoints[i], endpoint))
			return i;
	if (m->n_endpoints >= MAX_ENDPOINTS - 1 && strcmp(endpoint, "other"))
		return endpoint_index(m, "other");
	snprintf(m->endpoints[m->n_endpoints], ENDPOINT_MAX, "%s", endpoint);
	return m->n_endpoints++;
}

/* Order of the series: endpoint name, then status. */
static int req_before(const struct srv_metrics *m, unsigned ea, int sa, unsigned eb, int sb)
{
	int c = strcmp(m->endpoints[ea], m->endpoints[eb]);

	return c ? c < 0 : sa < sb;
}

void srv_metrics_request_done(struct srv_metrics *m, size_t tenant, const char *endpoint,
			      int status, double audio_s, double wall_s)
{
	struct tenant_metrics *t;
	size_t i, b;
	unsigned e;

	if (!m || tenant >= m->n_tenants)
		return;
	if (status < 100 || status > 999)
		status = 0;       /* not an HTTP status: still counted, visibly odd */
	pthread_mutex_lock(&m->lock);
	t = &m->t[tenant];
	e = endpoint_index(m, endpoint);
	for (i = 0; i < t->n_req; i++)
		if (t->req[i].endpoint == e && t->req[i].status == status)
			break;
	if (i == t->n_req) {
		if (t->n_req == t->cap_req) {
			size_t cap = t->cap_req ? 2 * t->cap_req : 8;
			struct req_count *q = realloc(t->req, cap * sizeof(*q));

			if (!q) {
				/* Out of memory: lose this count rather than the server. */
				pthread_mutex_unlock(&m->lock);
				return;
			}
			t->req = q;
			t->cap_req = cap;
		}
		/* Insert in order, so that a render needs no sort. */
		for (i = t->n_req; i > 0 && req_before(m, e, status, t->req[i - 1].endpoint,
							 t->req[i - 1].status); i--)
			t->req[i] = t->req[i - 1];
		t->req[i].endpoint = e;
		t->req[i].status = status;
		t->req[i].n = 0;
		t->n_req++;
	}
	t->req[i].n++;
	if (audio_s > 0 && isfinite(audio_s))
		t->audio_s += audio_s;
	if (!(wall_s >= 0) || !isfinite(wall_s))
		wall_s = 0;
	for (b = 0; b < N_BUCKETS - 1 && wall_s > duration_le[b]; b++)
		;
	t->buckets[b]++;
	t->duration_sum += wall_s;
	t->duration_count++;
	pthread_mutex_unlock(&m->lock);
}

void srv_metrics_inflight(struct srv_metrics *m, size_t tenant, int delta)
{
	if (!m || tenant >= m->n_tenants)
		return;
	pthread_mutex_lock(&m->lock);
	m->t[tenant].inflight += delta;
	if (m->t[tenant].inflight < 0)
		m->t[tenant].inflight = 0;   /* a caller's extra -1: never show a negative gauge */
	pthread_mutex_unlock(&m->lock);
}

/* A label value with \, " and newline escaped, as the format wants. */
static void put_label(FILE *f, const char *s)
{
	for (; *s; s++) {
		if (*s == '\\')
			fputs("\\\\", f);
		else if (*s == '"')
			fputs("\\\"", f);
		else if (*s == '\n')
			fputs("\\n", f);
		else
			fputc(*s, f);
	}
}

/* A sample value: whole numbers without a fraction, others to 12 digits. */
static void put_value(FILE *f, double v)
{
	if (isnan(v))
		fputs("NaN", f);
	else if (isinf(v))
		fputs(v > 0 ? "+Inf" : "-Inf", f);
	else if (v == floor(v) && fabs(v) < 9007199254740992.0)
		fprintf(f, "%.0f", v);
	else
		fprintf(f, "%.12g", v);
}

static void family(FILE *f, const char *name, const char *type, const char *help)
{
	fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* name{tenant="..."} value */
static void tenant_sample(FILE *f, const char *name, const char *tenant, double v)
{
	fprintf(f, "%s{tenant=\"", name);
	put_label(f, tenant);
	fputs("\"} ", f);
	put_value(f, v);
	fputc('\n', f);
}

static void device_sample(FILE *f, const char *name, const char *device, double v)
{
	fprintf(f, "%s{device=\"", name);
	put_label(f, device);
	fputs("\"} ", f);
	put_value(f, v);
	fputc('\n', f);
}

/* The engine's figures, read outside our lock (they have their own). */
struct device_figures {
	char name[NPU_STATS_NAME_LEN];
	char backend[NPU_STATS_NAME_LEN];
	double busy_s;
	struct npu_engine_counters c;
	int have_engine;
};

static void read_device(struct npu_engine *engine, struct device_figures *d)
{
	struct npu_stats_page *pg;
	struct npu_stats_map map;

	memset(d, 0, sizeof(*d));
	snprintf(d->name, sizeof(d->name), "npu0");
	if (!engine)
		return;
	d->have_engine = 1;
	npu_engine_counters(engine, &d->c);
	snprintf(d->backend, sizeof(d->backend), "%s", npu_engine_backend_name(engine));
	/*
	 * Busy time is on the engine's stats page only (this process's, in
	 * /dev/shm). Best effort, as the page is: no page, busy 0.
	 */
	if (npu_stats_open_pid(getpid(), &map))
		return;
	pg = malloc(sizeof(*pg));
	if (pg && npu_stats_snapshot(&map, pg) == 0 && pg->n_devices > 0) {
		d->busy_s = (double)pg->devices[0].busy_ns * 1e-9;
		if (pg->devices[0].name[0])
			snprintf(d->name, sizeof(d->name), "%.*s", NPU_STATS_NAME_LEN - 1,
				 pg->devices[0].name);
	}
	free(pg);
	npu_stats_close(&map);
}

static void render_requests(FILE *f, const struct srv_metrics *m)
{
	family(f, "amanuensis_requests_total", "counter",
	       "Requests answered, by tenant, endpoint and HTTP status (499: the client left).");
	for (size_t i = 0; i < m->n_tenants; i++) {
		const struct tenant_metrics *t = &m->t[i];

		for (size_t k = 0; k < t->n_req; k++) {
			fputs("amanuensis_requests_total{tenant=\"", f);
			put_label(f, t->name);
			fputs("\",endpoint=\"", f);
			put_label(f, m->endpoints[t->req[k].endpoint]);
			fprintf(f, "\",status=\"%d\"} %llu\n", t->req[k].status,
				(unsigned long long)t->req[k].n);
		}
	}
	family(f, "amanuensis_audio_seconds_total", "counter",
	       "Seconds of audio in the requests answered.");
	for (size_t i = 0; i < m->n_tenants; i++)
		tenant_sample(f, "amanuensis_audio_seconds_total", m->t[i].name, m->t[i].audio_s);
	family(f, "amanuensis_requests_in_flight", "gauge",
	       "Requests admitted and not yet answered.");
	for (size_t i = 0; i < m->n_tenants; i++)
		tenant_sample(f, "amanuensis_requests_in_flight", m->t[i].name,
			      (double)m->t[i].inflight);
}

static void render_histogram(FILE *f, const struct srv_metrics *m)
{
	family(f, "amanuensis_request_duration_seconds", "histogram",
	       "Seconds from a request's arrival to its answer.");
	for (size_t i = 0; i < m->n_tenants; i++) {
		const struct tenant_metrics *t = &m->t[i];
		uint64_t cum = 0;

		for (size_t b = 0; b < N_BUCKETS; b++) {
			cum += t->buckets[b];
			fputs("amanuensis_request_duration_seconds_bucket{tenant=\"", f);
			put_label(f, t->name);
			fputs("\",le=\"", f);
			if (b < N_BUCKETS - 1)
				put_value(f, duration_le[b]);
			else
				fputs("+Inf", f);
			fprintf(f, "\"} %llu\n", (unsigned long long)cum);
		}
		tenant_sample(f, "amanuensis_request_duration_seconds_sum", t->name,
			      t->duration_sum);
		tenant_sample(f, "amanuensis_request_duration_seconds_count", t->name,
			      (double)t->duration_count);
	}
}

/* Tenant names and their number never change after srv_metrics_new(): no lock. */
static int render_queue(FILE *f, const struct srv_metrics *m, struct srv_fair *fair)
{
	struct srv_fair_stats *st = calloc(m->n_tenants ? m->n_tenants : 1, sizeof(*st));

	if (!st)
		return -ENOMEM;
	for (size_t i = 0; i < m->n_tenants; i++)
		srv_fair_stats(fair, i, &st[i]);   /* zeros when fair is NULL */
	family(f, "amanuensis_queue_depth", "gauge",
	       "Windows (30 s of audio each at most) waiting for a decoding slot.");
	for (size_t i = 0; i < m->n_tenants; i++)
		tenant_sample(f, "amanuensis_queue_depth", m->t[i].name, (double)st[i].waiting);
	family(f, "amanuensis_windows_running", "gauge", "Windows holding a decoding slot.");
	for (size_t i = 0; i < m->n_tenants; i++)
		tenant_sample(f, "amanuensis_windows_running", m->t[i].name, (double)st[i].running);
	family(f, "amanuensis_scheduled_audio_seconds_total", "counter",
	       "Seconds of audio granted decoding slots by the fair queue.");
	for (size_t i = 0; i < m->n_tenants; i++)
		tenant_sample(f, "amanuensis_scheduled_audio_seconds_total", m->t[i].name,
			      st[i].granted_s);
	family(f, "amanuensis_queue_wait_seconds_total", "counter",
	       "Seconds windows spent waiting for a decoding slot, summed.");
	for (size_t i = 0; i < m->n_tenants; i++)
		tenant_sample(f, "amanuensis_queue_wait_seconds_total", m->t[i].name, st[i].wait_s);
	free(st);
	return 0;
}

static void render_device(FILE *f, const struct device_figures *d)
{
	if (d->have_engine) {
		family(f, "amanuensis_device_info", "gauge",
		       "The engine's device and backend (value 1).");
		fputs("amanuensis_device_info{device=\"", f);
		put_label(f, d->name);
		fputs("\",backend=\"", f);
		put_label(f, d->backend);
		fputs("\"} 1\n", f);
	}
	family(f, "amanuensis_device_busy_seconds_total", "counter",
	       "Seconds the device had at least one run in flight.");
	device_sample(f, "amanuensis_device_busy_seconds_total", d->name, d->busy_s);
	family(f, "amanuensis_device_tiles_total", "counter", "Tile jobs completed.");
	device_sample(f, "amanuensis_device_tiles_total", d->name, (double)d->c.jobs);
	family(f, "amanuensis_device_runs_total", "counter", "Device runs (batches of tile jobs).");
	device_sample(f, "amanuensis_device_runs_total", d->name, (double)d->c.runs);
	family(f, "amanuensis_device_fallbacks_total", "counter",
	       "Runs re-run on the CPU after a device error or timeout.");
	device_sample(f, "amanuensis_device_fallbacks_total", d->name, (double)d->c.fallbacks);
	family(f, "amanuensis_device_errors_total", "counter", "Runs that failed on the device.");
	device_sample(f, "amanuensis_device_errors_total", d->name, (double)d->c.errors);
	family(f, "amanuensis_device_timeouts_total", "counter",
	       "Runs the watchdog gave up on.");
	device_sample(f, "amanuensis_device_timeouts_total", d->name, (double)d->c.timeouts);
}

char *srv_metrics_render(struct srv_metrics *m, struct srv_fair *fair,
			 struct npu_engine *engine, size_t *len)
{
	struct device_figures dev;
	char *buf = NULL;
	size_t n = 0;
	FILE *f;

	if (len)
		*len = 0;
	if (!m)
		return NULL;
	read_device(engine, &dev);
	f = open_memstream(&buf, &n);
	if (!f)
		return NULL;
	pthread_mutex_lock(&m->lock);
	render_requests(f, m);
	render_histogram(f, m);
	pthread_mutex_unlock(&m->lock);
	/* The queue has its own lock; never hold both (no order to get wrong). */
	if (render_queue(f, m, fair)) {
		fclose(f);
		free(buf);
		return NULL;
	}
	render_device(f, &dev);
	if (ferror(f)) {
		fclose(f);
		free(buf);
		return NULL;
	}
	if (fclose(f)) {
		free(buf);
		return NULL;
	}
	if (len)
		*len = n;
	return buf;
}
