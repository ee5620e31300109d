/* SPDX-License-Identifier: MIT */
/*
 * tests/test_server_metrics.c - GET /metrics: the exposition is rendered
 * after a few requests and parsed back with a strict reader of the text
 * format 0.0.4: every sample belongs to a family announced by # TYPE (and
 * # HELP) before it, families are not interleaved, counters add up,
 * histogram buckets are cumulative with +Inf equal to _count, label values
 * round-trip through their escapes; the fair queue's and a real engine's
 * figures appear; counting from many threads loses nothing.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sched/npu.h"
#include "tiler/tile.h"
#include "tools/amanuensis-server/fair.h"
#include "tools/amanuensis-server/metrics.h"

#define MAX_SAMPLES 2048
#define MAX_FAMILIES 64
#define MAX_LABELS 4

struct label {
	char key[32];
	char value[128];
};

struct sample {
	char name[96];
	char family[96];
	struct label labels[MAX_LABELS];
	int n_labels;
	double value;
};

struct family {
	char name[96];
	char type[400];
	int has_help, has_samples, closed;
};

struct expo {
	struct sample s[MAX_SAMPLES];
	int n;
	struct family fam[MAX_FAMILIES];
	int n_fam;
};

static struct family *find_family(struct expo *e, const char *name)
{
	for (int i = 0; i < e->n_fam; i++)
		if (!strcmp(e->fam[i].name, name))
			return &e->fam[i];
	return NULL;
}

static int name_char(char c, int first)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':' ||
	       (!first && c >= '0' && c <= '9');
}

/* A label value up to its closing quote, unescaping \\, \" and \n. */
static const char *parse_value(const char *p, char *out, size_t len)
{
	size_t n = 0;

	for (; *p && *p != '"'; p++) {
		char c = *p;

		if (c == '\n')
			return NULL;          /* a raw newline inside a value */
		if (c == '\\') {
			p++;
			if (*p == '\\')
				c = '\\';
			else if (*p == '"')
				c = '"';
			else if (*p == 'n')
				c = '\n';
			else
				return NULL;  /* no other escape exists */
		}
		if (n + 1 < len)
			out[n++] = c;
	}
	out[n] = '\0';
	return *p == '"' ? p + 1 : NULL;
}

/* Family of a sample: its name, or the histogram it is a _bucket/_sum/_count of. */
static struct family *family_of(struct expo *e, const char *name)
{
	static const char *const suffixes[] = { "_bucket", "_sum", "_count" };
	struct family *f = find_family(e, name);
	char base[96];

	if (f)
		return f;
	for (int i = 0; i < 3; i++) {
		size_t n = strlen(name), k = strlen(suffixes[i]);

		if (n > k && !strcmp(name + n - k, suffixes[i])) {
			snprintf(base, sizeof(base), "%.*s", (int)(n - k), name);
			f = find_family(e, base);
			if (f && !strcmp(f->type, "histogram"))
				return f;
		}
	}
	return NULL;
}

/* Parse @text strictly; a failure names the line. */
static void parse(const char *text, struct expo *e)
{
	struct family *cur = NULL;
	const char *line = text;
	int lineno = 0;

	memset(e, 0, sizeof(*e));
	cr_assert(strlen(text) > 0 && text[strlen(text) - 1] == '\n', "the text ends with \\n");
	while (*line) {
		const char *end = strchr(line, '\n'), *p = line;
		char buf[512];

		lineno++;
		cr_assert_not_null(end);
		cr_assert_lt((size_t)(end - line), sizeof(buf), "line %d too long", lineno);
		memcpy(buf, line, (size_t)(end - line));
		buf[end - line] = '\0';
		line = end + 1;
		p = buf;
		if (!strncmp(p, "# HELP ", 7) || !strncmp(p, "# TYPE ", 7)) {
			char name[96], rest[400];
			struct family *f;
			int help = p[2] == 'H';

			cr_assert_eq(sscanf(p + 7, "%95s %399[^\n]", name, rest), 2, "line %d: %s",
				     lineno, buf);
			f = find_family(e, name);
			if (!f) {
				cr_assert_lt(e->n_fam, MAX_FAMILIES);
				f = &e->fam[e->n_fam++];
				snprintf(f->name, sizeof(f->name), "%s", name);
			}
			cr_assert_not(f->has_samples, "line %d: %s after its samples", lineno, buf);
			if (help) {
				cr_assert_not(f->has_help, "line %d: second HELP", lineno);
				f->has_help = 1;
			} else {
				cr_assert_eq(f->type[0], '\0', "line %d: second TYPE", lineno);
				cr_assert(!strcmp(rest, "counter") || !strcmp(rest, "gauge") ||
					  !strcmp(rest, "histogram"), "line %d: type %s", lineno, rest);
				snprintf(f->type, sizeof(f->type), "%s", rest);
			}
			continue;
		}
		cr_assert_neq(p[0], '#', "line %d: unknown comment %s", lineno, buf);
		cr_assert_neq(p[0], '\0', "line %d: empty line", lineno);
		{
			struct sample *s;
			struct family *f;
			char *endv;
			size_t n = 0;

			cr_assert_lt(e->n, MAX_SAMPLES);
			s = &e->s[e->n++];
			cr_assert(name_char(*p, 1), "line %d: %s", lineno, buf);
			while (name_char(*p, 0) && n + 1 < sizeof(s->name))
				s->name[n++] = *p++;
			s->name[n] = '\0';
			if (*p == '{') {
				p++;
				while (*p != '}') {
					struct label *l;
					size_t k = 0;

					cr_assert_lt(s->n_labels, MAX_LABELS, "line %d", lineno);
					l = &s->labels[s->n_labels++];
					cr_assert(name_char(*p, 1), "line %d: label name", lineno);
					while (name_char(*p, 0) && k + 1 < sizeof(l->key))
						l->key[k++] = *p++;
					l->key[k] = '\0';
					cr_assert(p[0] == '=' && p[1] == '"', "line %d: %s", lineno, buf);
					p = parse_value(p + 2, l->value, sizeof(l->value));
					cr_assert_not_null(p, "line %d: bad label value: %s", lineno, buf);
					if (*p == ',')
						p++;
					else
						cr_assert_eq(*p, '}', "line %d: %s", lineno, buf);
				}
				p++;
			}
			cr_assert_eq(*p, ' ', "line %d: %s", lineno, buf);
			p++;
			if (!strcmp(p, "+Inf"))
				s->value = INFINITY;
			else {
				s->value = strtod(p, &endv);
				cr_assert(endv != p && *endv == '\0', "line %d: value %s", lineno, p);
			}
			f = family_of(e, s->name);
			cr_assert_not_null(f, "line %d: %s has no # TYPE before it", lineno, s->name);
			cr_assert(f->has_help, "line %d: %s has no # HELP", lineno, f->name);
			cr_assert(f->type[0], "line %d: %s has no # TYPE", lineno, f->name);
			cr_assert_not(f->closed, "line %d: family %s interleaved with another", lineno,
				      f->name);
			if (cur && cur != f)
				cur->closed = 1;
			cur = f;
			f->has_samples = 1;
			snprintf(s->family, sizeof(s->family), "%s", f->name);
			if (!strcmp(f->type, "counter"))
				cr_assert_geq(s->value, 0, "line %d: negative counter", lineno);
		}
	}
	for (int i = 0; i < e->n_fam; i++) {
		cr_expect(e->fam[i].has_help && e->fam[i].type[0], "family %s lacks HELP or TYPE",
			  e->fam[i].name);
	}
}

static const char *label(const struct sample *s, const char *key)
{
	for (int i = 0; i < s->n_labels; i++)
		if (!strcmp(s->labels[i].key, key))
			return s->labels[i].value;
	return NULL;
}

/*
 * The value of sample @name whose labels match the NULL-ended key, value
 * pairs in ...; NAN when none, and fails when two match.
 */
static double value(const struct expo *e, const char *name, ...)
{
	double v = NAN;
	int found = 0;

	for (int i = 0; i < e->n; i++) {
		const struct sample *s = &e->s[i];
		int ok = !strcmp(s->name, name);
		va_list ap;
		const char *k;

		va_start(ap, name);
		while (ok && (k = va_arg(ap, const char *))) {
			const char *want = va_arg(ap, const char *), *have = label(s, k);

			ok = have && !strcmp(have, want);
		}
		va_end(ap);
		if (ok) {
			found++;
			v = s->value;
		}
	}
	cr_assert_leq(found, 1, "%s: %d samples match", name, found);
	return v;
}

/* Sum over every sample of @name with label tenant=@tenant. */
static double sum_tenant(const struct expo *e, const char *name, const char *tenant)
{
	double v = 0;

	for (int i = 0; i < e->n; i++)
		if (!strcmp(e->s[i].name, name) && label(&e->s[i], "tenant") &&
		    !strcmp(label(&e->s[i], "tenant"), tenant))
			v += e->s[i].value;
	return v;
}

static const char odd_name[] = "b\"o\\b\nx";   /* a quote, a backslash, a newline */
static const char *const names[3] = { "alice", odd_name, "carol" };

/* Every tenant: buckets cumulative in le order, +Inf == _count == its requests. */
static void check_histograms(const struct expo *e)
{
	static const char *const le[] = { "0.1", "0.25", "0.5", "1", "2.5", "5", "10", "30",
					  "60", "120", "300", "+Inf" };

	for (int t = 0; t < 3; t++) {
		double prev = 0, count, reqs;

		for (int b = 0; b < 12; b++) {
			double v = value(e, "amanuensis_request_duration_seconds_bucket", "tenant",
					 names[t], "le", le[b], NULL);

			cr_assert(!isnan(v), "tenant %d: no bucket le=%s", t, le[b]);
			cr_expect_geq(v, prev, "tenant %d: bucket le=%s not cumulative", t, le[b]);
			prev = v;
		}
		count = value(e, "amanuensis_request_duration_seconds_count", "tenant", names[t], NULL);
		reqs = sum_tenant(e, "amanuensis_requests_total", names[t]);
		cr_expect_eq(prev, count, "tenant %d: +Inf %f, _count %f", t, prev, count);
		cr_expect_eq(count, reqs, "tenant %d: _count %f, requests %f", t, count, reqs);
		cr_expect(!isnan(value(e, "amanuensis_request_duration_seconds_sum", "tenant",
				       names[t], NULL)));
	}
}

static struct srv_metrics *some_requests(void)
{
	struct srv_metrics *m;

	cr_assert_eq(srv_metrics_new(&m, 3, names), 0);
	srv_metrics_request_done(m, 0, "transcriptions", 200, 10.0, 0.05);
	srv_metrics_request_done(m, 0, "transcriptions", 200, 10.0, 0.3);
	srv_metrics_request_done(m, 0, "transcriptions", 200, 10.0, 7.0);
	srv_metrics_request_done(m, 0, "translations", 400, 0.0, 0.01);
	srv_metrics_request_done(m, 1, "transcriptions", 429, 0.0, 0.001);
	srv_metrics_request_done(m, 1, "transcriptions", 429, 0.0, 0.1);  /* on the bound: le=0.1 */
	srv_metrics_request_done(m, 2, "transcriptions", 499, 2.5, 400.0);
	srv_metrics_request_done(m, 7, "transcriptions", 200, 1.0, 1.0);  /* no such tenant */
	srv_metrics_inflight(m, 0, +1);
	srv_metrics_inflight(m, 0, +1);
	srv_metrics_inflight(m, 0, -1);
	srv_metrics_inflight(m, 2, -1);   /* one too many: the gauge stays at 0 */
	return m;
}

Test(metrics, render_and_parse_back)
{
	static struct expo e;
	struct srv_metrics *m = some_requests();
	size_t len = 0;
	char *text = srv_metrics_render(m, NULL, NULL, &len);
	static const char *const families[] = {
		"amanuensis_requests_total", "amanuensis_audio_seconds_total",
		"amanuensis_requests_in_flight", "amanuensis_queue_depth",
		"amanuensis_scheduled_audio_seconds_total", "amanuensis_request_duration_seconds",
		"amanuensis_device_busy_seconds_total", "amanuensis_device_tiles_total",
		"amanuensis_device_runs_total", "amanuensis_device_fallbacks_total",
		"amanuensis_device_errors_total", "amanuensis_device_timeouts_total",
	};

	cr_assert_not_null(text);
	cr_assert_eq(len, strlen(text));
	parse(text, &e);
	for (size_t i = 0; i < sizeof(families) / sizeof(families[0]); i++) {
		cr_expect_not_null(find_family(&e, families[i]), "no family %s", families[i]);
	}
	cr_expect_str_eq(find_family(&e, "amanuensis_requests_total")->type, "counter");
	cr_expect_str_eq(find_family(&e, "amanuensis_requests_in_flight")->type, "gauge");
	cr_expect_str_eq(find_family(&e, "amanuensis_queue_depth")->type, "gauge");
	cr_expect_str_eq(find_family(&e, "amanuensis_request_duration_seconds")->type, "histogram");

	cr_expect_eq(value(&e, "amanuensis_requests_total", "tenant", "alice", "endpoint",
			   "transcriptions", "status", "200", NULL), 3);
	cr_expect_eq(value(&e, "amanuensis_requests_total", "tenant", "alice", "endpoint",
			   "translations", "status", "400", NULL), 1);
	cr_expect_eq(value(&e, "amanuensis_requests_total", "tenant", odd_name, "endpoint",
			   "transcriptions", "status", "429", NULL), 2);
	cr_expect_eq(value(&e, "amanuensis_requests_total", "tenant", "carol", "endpoint",
			   "transcriptions", "status", "499", NULL), 1);
	cr_expect_eq(sum_tenant(&e, "amanuensis_requests_total", "alice") +
		     sum_tenant(&e, "amanuensis_requests_total", odd_name) +
		     sum_tenant(&e, "amanuensis_requests_total", "carol"), 7,
		     "the request of a tenant that does not exist is not counted");
	cr_expect_float_eq(value(&e, "amanuensis_audio_seconds_total", "tenant", "alice", NULL),
			   30.0, 1e-9);
	cr_expect_float_eq(value(&e, "amanuensis_audio_seconds_total", "tenant", "carol", NULL),
			   2.5, 1e-9);
	cr_expect_eq(value(&e, "amanuensis_audio_seconds_total", "tenant", odd_name, NULL), 0);
	cr_expect_eq(value(&e, "amanuensis_requests_in_flight", "tenant", "alice", NULL), 1);
	cr_expect_eq(value(&e, "amanuensis_requests_in_flight", "tenant", "carol", NULL), 0);

	check_histograms(&e);
	/* alice: 0.01 and 0.05 under 0.1, 0.3 under 0.5, 7 under 10. */
	cr_expect_eq(value(&e, "amanuensis_request_duration_seconds_bucket", "tenant", "alice",
			   "le", "0.1", NULL), 2);
	cr_expect_eq(value(&e, "amanuensis_request_duration_seconds_bucket", "tenant", "alice",
			   "le", "0.25", NULL), 2);
	cr_expect_eq(value(&e, "amanuensis_request_duration_seconds_bucket", "tenant", "alice",
			   "le", "0.5", NULL), 3);
	cr_expect_eq(value(&e, "amanuensis_request_duration_seconds_bucket", "tenant", "alice",
			   "le", "5", NULL), 3);
	cr_expect_eq(value(&e, "amanuensis_request_duration_seconds_bucket", "tenant", "alice",
			   "le", "10", NULL), 4);
	cr_expect_float_eq(value(&e, "amanuensis_request_duration_seconds_sum", "tenant", "alice",
				 NULL), 7.36, 1e-9);
	/* Buckets are "less than or equal": 0.1 itself is in le=0.1. */
	cr_expect_eq(value(&e, "amanuensis_request_duration_seconds_bucket", "tenant", odd_name,
			   "le", "0.1", NULL), 2);
	/* 400 s: over the last bound, in +Inf only. */
	cr_expect_eq(value(&e, "amanuensis_request_duration_seconds_bucket", "tenant", "carol",
			   "le", "300", NULL), 0);
	cr_expect_eq(value(&e, "amanuensis_request_duration_seconds_bucket", "tenant", "carol",
			   "le", "+Inf", NULL), 1);

	/* Escaping, as the raw text shows it. */
	cr_expect_not_null(strstr(text, "tenant=\"b\\\"o\\\\b\\nx\""), "%s", text);
	/* Without an engine the device families are there, at 0; no device_info. */
	cr_expect_eq(value(&e, "amanuensis_device_busy_seconds_total", "device", "npu0", NULL), 0);
	cr_expect_eq(value(&e, "amanuensis_device_tiles_total", "device", "npu0", NULL), 0);
	cr_expect_null(find_family(&e, "amanuensis_device_info"));
	/* Without a queue the queue figures are 0. */
	for (int t = 0; t < 3; t++) {
		cr_expect_eq(value(&e, "amanuensis_queue_depth", "tenant", names[t], NULL), 0);
		cr_expect_eq(value(&e, "amanuensis_scheduled_audio_seconds_total", "tenant", names[t],
				   NULL), 0);
	}
	free(text);
	srv_metrics_free(m);
	srv_metrics_free(NULL);
}

Test(metrics, no_requests_yet)
{
	static struct expo e;
	struct srv_metrics *m;
	char *text;

	cr_assert_eq(srv_metrics_new(&m, 3, names), 0);
	text = srv_metrics_render(m, NULL, NULL, NULL);
	cr_assert_not_null(text);
	parse(text, &e);
	/* A family without samples still says what it is. */
	cr_expect_not_null(find_family(&e, "amanuensis_requests_total"));
	cr_expect_eq(sum_tenant(&e, "amanuensis_requests_total", "alice"), 0);
	check_histograms(&e);
	free(text);
	srv_metrics_free(m);
}

struct waiter_arg {
	struct srv_fair *f;
	size_t tenant;
	int ret;
};

static void *waiter_main(void *arg)
{
	struct waiter_arg *w = arg;

	w->ret = srv_fair_acquire(w->f, w->tenant, 4.0, NULL);
	if (w->ret == 0)
		srv_fair_release(w->f, w->tenant);
	return NULL;
}

Test(metrics, fair_queue_figures)
{
	static const unsigned weights[3] = { 1, 1, 1 };
	static struct expo e;
	struct srv_metrics *m = some_requests();
	struct waiter_arg w[2] = { { 0 }, { 0 } };
	pthread_t th[2];
	struct srv_fair *f;
	struct srv_fair_stats st;
	char *text;

	cr_assert_eq(srv_fair_new(&f, 3, weights, 1), 0);
	cr_assert_eq(srv_fair_acquire(f, 0, 2.5, NULL), 0);
	for (int i = 0; i < 2; i++) {
		w[i].f = f;
		w[i].tenant = 2;
		cr_assert_eq(pthread_create(&th[i], NULL, waiter_main, &w[i]), 0);
	}
	for (int i = 0; i < 20000; i++) {
		srv_fair_stats(f, 2, &st);
		if (st.waiting == 2)
			break;
		usleep(500);
	}
	cr_assert_eq(st.waiting, 2);
	text = srv_metrics_render(m, f, NULL, NULL);
	cr_assert_not_null(text);
	parse(text, &e);
	cr_expect_eq(value(&e, "amanuensis_queue_depth", "tenant", "carol", NULL), 2);
	cr_expect_eq(value(&e, "amanuensis_queue_depth", "tenant", "alice", NULL), 0);
	cr_expect_eq(value(&e, "amanuensis_windows_running", "tenant", "alice", NULL), 1);
	cr_expect_float_eq(value(&e, "amanuensis_scheduled_audio_seconds_total", "tenant", "alice",
				 NULL), 2.5, 1e-9);
	cr_expect_eq(value(&e, "amanuensis_scheduled_audio_seconds_total", "tenant", "carol", NULL),
		     0);
	free(text);
	srv_fair_release(f, 0);
	for (int i = 0; i < 2; i++) {
		pthread_join(th[i], NULL);
		cr_expect_eq(w[i].ret, 0);
	}
	text = srv_metrics_render(m, f, NULL, NULL);
	parse(text, &e);
	cr_expect_eq(value(&e, "amanuensis_queue_depth", "tenant", "carol", NULL), 0);
	cr_expect_float_eq(value(&e, "amanuensis_scheduled_audio_seconds_total", "tenant", "carol",
				 NULL), 8.0, 1e-9);
	cr_expect_gt(value(&e, "amanuensis_queue_wait_seconds_total", "tenant", "carol", NULL), 0);
	free(text);
	srv_fair_free(f);
	srv_metrics_free(m);
}

Test(metrics, engine_figures)
{
	struct npu_engine_opts o = { .backend = "cpu", .threads = 1 };
	static float a[64 * 16], b[16 * 16], c[64 * 16];
	static struct expo e;
	struct srv_metrics *m = some_requests();
	struct tile_weights *w;
	struct npu_engine *eng;
	struct npu_tenant *t;
	char *text = NULL;
	double busy = 0;

	for (int i = 0; i < 64 * 16; i++)
		a[i] = (float)(i % 5);
	for (int i = 0; i < 16 * 16; i++)
		b[i] = (float)(i % 3);
	cr_assert_eq(tile_weights_pack_f32(&w, b, 16, 16, 16, TILE_W_ROW_MAJOR_KN), 0);
	cr_assert_eq(npu_engine_open(&eng, &o), 0);
	cr_assert_eq(npu_tenant_open(eng, &t, "metrics", 1), 0);
	for (int i = 0; i < 4; i++)
		cr_assert_eq(npu_matmul_f32(t, a, 64, 16, 16, w, NULL, c, 16), 0);
	/* Busy time comes from the stats page, published within about 5 ms. */
	for (int i = 0; i < 400 && !(busy > 0); i++) {
		free(text);
		text = srv_metrics_render(m, NULL, eng, NULL);
		cr_assert_not_null(text);
		parse(text, &e);
		busy = value(&e, "amanuensis_device_busy_seconds_total", "device", "npu0", NULL);
		if (!(busy > 0))
			usleep(5000);
	}
	cr_expect_gt(busy, 0, "busy seconds never appeared");
	cr_expect_geq(value(&e, "amanuensis_device_tiles_total", "device", "npu0", NULL), 4);
	cr_expect_geq(value(&e, "amanuensis_device_runs_total", "device", "npu0", NULL), 1);
	cr_expect_eq(value(&e, "amanuensis_device_errors_total", "device", "npu0", NULL), 0);
	cr_expect_eq(value(&e, "amanuensis_device_fallbacks_total", "device", "npu0", NULL), 0);
	cr_expect_eq(value(&e, "amanuensis_device_timeouts_total", "device", "npu0", NULL), 0);
	cr_expect_eq(value(&e, "amanuensis_device_info", "device", "npu0", "backend",
			   npu_engine_backend_name(eng), NULL), 1);
	free(text);
	npu_tenant_close(t);
	npu_engine_close(eng);
	tile_weights_free(w);
	srv_metrics_free(m);
}

struct hammer_arg {
	struct srv_metrics *m;
	int id;
};

static void *hammer_main(void *arg)
{
	struct hammer_arg *h = arg;

	for (int i = 0; i < 2000; i++) {
		srv_metrics_inflight(h->m, (size_t)(i % 3), +1);
		srv_metrics_request_done(h->m, (size_t)(i % 3), i % 2 ? "transcriptions" : "translations",
					 i % 5 ? 200 : 400, 0.5, (double)(i % 7));
		srv_metrics_inflight(h->m, (size_t)(i % 3), -1);
		if (h->id == 0 && i % 200 == 0)
			free(srv_metrics_render(h->m, NULL, NULL, NULL));
	}
	return NULL;
}

Test(metrics, many_threads_lose_nothing)
{
	static struct expo e;
	struct hammer_arg h[4];
	pthread_t th[4];
	struct srv_metrics *m;
	double total = 0, audio = 0;
	char *text;

	cr_assert_eq(srv_metrics_new(&m, 3, names), 0);
	for (int i = 0; i < 4; i++) {
		h[i].m = m;
		h[i].id = i;
		cr_assert_eq(pthread_create(&th[i], NULL, hammer_main, &h[i]), 0);
	}
	for (int i = 0; i < 4; i++)
		pthread_join(th[i], NULL);
	text = srv_metrics_render(m, NULL, NULL, NULL);
	parse(text, &e);
	for (int t = 0; t < 3; t++) {
		total += sum_tenant(&e, "amanuensis_requests_total", names[t]);
		audio += value(&e, "amanuensis_audio_seconds_total", "tenant", names[t], NULL);
		cr_expect_eq(value(&e, "amanuensis_requests_in_flight", "tenant", names[t], NULL), 0);
	}
	cr_expect_eq(total, 8000);
	cr_expect_float_eq(audio, 4000.0, 1e-6);
	check_histograms(&e);
	free(text);
	srv_metrics_free(m);
}

Test(metrics, endpoints_bounded)
{
	static struct expo e;
	struct srv_metrics *m;
	char ep[64], *text;
	int series = 0;

	cr_assert_eq(srv_metrics_new(&m, 1, names), 0);
	for (int i = 0; i < 20; i++) {
		snprintf(ep, sizeof(ep), "endpoint-%d", i);
		srv_metrics_request_done(m, 0, ep, 200, 0, 0);
	}
	srv_metrics_request_done(m, 0, NULL, 200, 0, 0);
	srv_metrics_request_done(m, 0, "an endpoint name that is far too long to keep", 200, 0, 0);
	text = srv_metrics_render(m, NULL, NULL, NULL);
	parse(text, &e);
	for (int i = 0; i < e.n; i++)
		series += !strcmp(e.s[i].name, "amanuensis_requests_total");
	cr_expect_leq(series, 8);
	cr_expect_eq(sum_tenant(&e, "amanuensis_requests_total", "alice"), 22);
	cr_expect_eq(value(&e, "amanuensis_requests_total", "endpoint", "other", NULL), 15);
	free(text);
	srv_metrics_free(m);
}
