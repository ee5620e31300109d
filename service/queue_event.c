// SPDX-License-Identifier: MIT
/*
 * service/queue_event.c - an entry of a job's result stream
 * (Documentation/scale-out.md, "Result events"): segment, done, error and
 * retry events as field/value pairs and back. Floats are written with 9
 * significant digits and doubles with 17, so that they read back bit for
 * bit and the front door writes the same JSON the worker would have.
 */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "service/queue_wire.h"

static const char *const type_names[] = { "segment", "done", "error", "retry" };

/* The token list "50364 400 ..." in the args' text. */
static void add_tokens(struct amq_args *a, const struct wsp_segment *s)
{
	char *dst = a->text + a->text_used;
	size_t room = sizeof(a->text) - a->text_used, used = 0;

	for (int i = 0; i < s->n_tokens; i++) {
		int len = snprintf(dst + used, room - used, "%s%d", i ? " " : "", (int)s->tokens[i]);

		if (len < 0 || (size_t)len >= room - used) {
			a->overflow = 1;
			return;
		}
		used += (size_t)len;
	}
	if (used >= room) {
		a->overflow = 1;
		return;
	}
	dst[used] = '\0';
	a->text_used += used + 1;
	amq_args_bytes(a, dst, used);
}

void amq_event_encode(const struct amq_event *ev, struct amq_args *a)
{
	amq_args_add(a, "type");
	amq_args_add(a, type_names[ev->type]);
	amq_args_add(a, "v");
	amq_args_printf(a, "%d", AMQ_VERSION);
	amq_args_add(a, "attempt");
	amq_args_printf(a, "%d", ev->attempt);
	switch (ev->type) {
	case AMQ_EVENT_SEGMENT:
		amq_args_add(a, "index");
		amq_args_printf(a, "%d", ev->index);
		amq_args_add(a, "seek");
		amq_args_printf(a, "%d", ev->seek);
		amq_args_add(a, "start");
		amq_args_printf(a, "%.17g", ev->seg.start);
		amq_args_add(a, "end");
		amq_args_printf(a, "%.17g", ev->seg.end);
		amq_args_add(a, "text");
		amq_args_add(a, ev->seg.text ? ev->seg.text : "");
		amq_args_add(a, "tokens");
		add_tokens(a, &ev->seg);
		amq_args_add(a, "avg_logprob");
		amq_args_printf(a, "%.9g", (double)ev->seg.avg_logprob);
		amq_args_add(a, "compression_ratio");
		amq_args_printf(a, "%.9g", (double)ev->seg.compression_ratio);
		amq_args_add(a, "no_speech_prob");
		amq_args_printf(a, "%.9g", (double)ev->seg.no_speech_prob);
		amq_args_add(a, "temperature");
		amq_args_printf(a, "%.9g", (double)ev->seg.temperature);
		break;
	case AMQ_EVENT_DONE:
		amq_args_add(a, "text");
		amq_args_add(a, ev->text ? ev->text : "");
		amq_args_add(a, "language");
		amq_args_add(a, ev->language);
		amq_args_add(a, "language_prob");
		amq_args_printf(a, "%.9g", (double)ev->language_prob);
		amq_args_add(a, "duration");
		amq_args_printf(a, "%.17g", ev->duration_s);
		amq_args_add(a, "segments");
		amq_args_printf(a, "%d", ev->n_segments);
		break;
	case AMQ_EVENT_ERROR:
		amq_args_add(a, "status");
		amq_args_printf(a, "%d", ev->status);
		/* fall through */
	case AMQ_EVENT_RETRY:
		amq_args_add(a, "message");
		amq_args_add(a, ev->message);
		break;
	}
}

static const struct amq_field *find(const struct amq_field *f, int n, const char *name)
{
	size_t len = strlen(name);

	for (int i = 0; i < n; i++)
		if (f[i].name_len == len && !memcmp(f[i].name, name, len))
			return &f[i];
	return NULL;
}

static int is(const struct amq_field *f, const char *s)
{
	return f && f->value_len == strlen(s) && !memcmp(f->value, s, f->value_len);
}

/* A short numeric value as a C string. */
static int number_text(const struct amq_field *f, char *buf, size_t cap)
{
	if (!f || !f->value_len || f->value_len >= cap)
		return -EINVAL;
	memcpy(buf, f->value, f->value_len);
	buf[f->value_len] = '\0';
	return 0;
}

static int get_int(const struct amq_field *f, int lo, int hi, int *out)
{
	char buf[24], *end;
	long v;

	if (number_text(f, buf, sizeof(buf)))
		return -EINVAL;
	errno = 0;
	v = strtol(buf, &end, 10);
	if (errno || *end || end == buf || v < lo || v > hi)
		return -EINVAL;
	*out = (int)v;
	return 0;
}

static int get_double(const struct amq_field *f, double *out)
{
	char buf[40], *end;

	if (number_text(f, buf, sizeof(buf)))
		return -EINVAL;
	errno = 0;
	*out = strtod(buf, &end);
	return (errno == ERANGE && !isfinite(*out)) || *end || end == buf ? -EINVAL : 0;
}

static int get_float(const struct amq_field *f, float *out)
{
	char buf[40], *end;

	if (number_text(f, buf, sizeof(buf)))
		return -EINVAL;
	*out = strtof(buf, &end);
	return *end || end == buf ? -EINVAL : 0;
}

static char *dup_value(const struct amq_field *f)
{
	char *s = malloc(f->value_len + 1);

	if (s) {
		memcpy(s, f->value, f->value_len);
		s[f->value_len] = '\0';
	}
	return s;
}

static int get_tokens(const struct amq_field *f, struct wsp_segment *s)
{
	char *text, *p, *end;
	int cap = 1;

	text = dup_value(f);
	if (!text)
		return -ENOMEM;
	for (size_t i = 0; i < f->value_len; i++)
		cap += text[i] == ' ';
	s->tokens = malloc(sizeof(*s->tokens) * (size_t)cap);
	if (!s->tokens) {
		free(text);
		return -ENOMEM;
	}
	s->n_tokens = 0;
	for (p = text; *p; p = *end ? end + 1 : end) {
		long v;

		errno = 0;
		v = strtol(p, &end, 10);
		if (errno || end == p || (*end && *end != ' ') || v < 0 || v > INT32_MAX ||
		    s->n_tokens == cap) {
			free(text);
			return -EINVAL;
		}
		s->tokens[s->n_tokens++] = (int32_t)v;
	}
	free(text);
	return 0;
}

static int decode_segment(struct amq_event *ev, const struct amq_field *f, int n)
{
	const struct amq_field *text = find(f, n, "text"), *tokens = find(f, n, "tokens");
	int rc;

	if (get_int(find(f, n, "index"), 0, INT_MAX, &ev->index) ||
	    get_int(find(f, n, "seek"), 0, INT_MAX, &ev->seek) ||
	    get_double(find(f, n, "start"), &ev->seg.start) ||
	    get_double(find(f, n, "end"), &ev->seg.end) ||
	    get_float(find(f, n, "avg_logprob"), &ev->seg.avg_logprob) ||
	    get_float(find(f, n, "compression_ratio"), &ev->seg.compression_ratio) ||
	    get_float(find(f, n, "no_speech_prob"), &ev->seg.no_speech_prob) ||
	    get_float(find(f, n, "temperature"), &ev->seg.temperature) || !text || !tokens)
		return -EINVAL;
	ev->seg.text = dup_value(text);
	if (!ev->seg.text)
		return -ENOMEM;
	rc = get_tokens(tokens, &ev->seg);
	return rc;
}

static int decode_done(struct amq_event *ev, const struct amq_field *f, int n)
{
	const struct amq_field *text = find(f, n, "text"), *lang = find(f, n, "language");

	if (!text || !lang || lang->value_len > AMQ_LANGUAGE_MAX ||
	    get_float(find(f, n, "language_prob"), &ev->language_prob) ||
	    get_double(find(f, n, "duration"), &ev->duration_s) ||
	    get_int(find(f, n, "segments"), 0, INT_MAX, &ev->n_segments))
		return -EINVAL;
	memcpy(ev->language, lang->value, lang->value_len);
	ev->language[lang->value_len] = '\0';
	ev->text = dup_value(text);
	return ev->text ? 0 : -ENOMEM;
}

static void copy_message(struct amq_event *ev, const struct amq_field *m)
{
	size_t len = m->value_len < sizeof(ev->message) ? m->value_len : sizeof(ev->message) - 1;

	memcpy(ev->message, m->value, len);
	ev->message[len] = '\0';
}

int amq_event_decode(struct amq_event *ev, const struct amq_field *f, int n, char *err, size_t errlen)
{
	const struct amq_field *type = find(f, n, "type"), *msg = find(f, n, "message");
	int rc = -EPROTONOSUPPORT;

	memset(ev, 0, sizeof(*ev));
	if (!is(find(f, n, "v"), "1")) {
		snprintf(err, errlen, "result event of an unknown version");
		return -EPROTONOSUPPORT;
	}
	if (get_int(find(f, n, "attempt"), 0, INT_MAX, &ev->attempt)) {
		snprintf(err, errlen, "result event without a valid attempt");
		return -EINVAL;
	}
	if (is(type, "segment")) {
		ev->type = AMQ_EVENT_SEGMENT;
		rc = decode_segment(ev, f, n);
	} else if (is(type, "done")) {
		ev->type = AMQ_EVENT_DONE;
		rc = decode_done(ev, f, n);
	} else if (is(type, "error")) {
		ev->type = AMQ_EVENT_ERROR;
		rc = get_int(find(f, n, "status"), 100, 599, &ev->status) || !msg ? -EINVAL : 0;
	} else if (is(type, "retry")) {
		ev->type = AMQ_EVENT_RETRY;
		rc = msg ? 0 : -EINVAL;
	}
	if (!rc && msg)
		copy_message(ev, msg);
	if (rc) {
		int tlen = type ? (int)(type->value_len < 16 ? type->value_len : 16) : 0;

		if (rc == -ENOMEM)
			snprintf(err, errlen, "out of memory");
		else
			snprintf(err, errlen, "%s result event '%.*s'",
				 rc == -EPROTONOSUPPORT ? "unknown" : "malformed",
				 tlen, type ? type->value : "");
		amq_event_clear(ev);
	}
	return rc;
}

void amq_event_clear(struct amq_event *ev)
{
	free(ev->seg.text);
	free(ev->seg.tokens);
	free(ev->text);
	memset(ev, 0, sizeof(*ev));
}

char *amq_joined_text(const struct wsp_result *res)
{
	size_t len = 0;
	char *s;

	for (int i = 0; i < res->n_segments; i++)
		len += res->segments[i].text ? strlen(res->segments[i].text) : 0;
	s = malloc(len + 1);
	if (!s)
		return NULL;
	len = 0;
	for (int i = 0; i < res->n_segments; i++) {
		const char *t = res->segments[i].text;

		if (t) {
			memcpy(s + len, t, strlen(t));
			len += strlen(t);
		}
	}
	s[len] = '\0';
	return s;
}
