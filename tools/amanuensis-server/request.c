/* SPDX-License-Identifier: MIT */
/*
 * tools/amanuensis-server/request.c - a request's form fields: bounded
 * collection as the body streams in, validation into decoding options with
 * the CLI's defaults (so that a transcript equals `amanuensis -f FMT`'s),
 * and a 400 that names the bad field.
 */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "tools/amanuensis-server/request.h"

static const char *const field_names[SRV_F_N] = {
	[SRV_F_MODEL] = "model",
	[SRV_F_LANGUAGE] = "language",
	[SRV_F_PROMPT] = "prompt",
	[SRV_F_FORMAT] = "response_format",
	[SRV_F_TEMPERATURE] = "temperature",
	[SRV_F_STREAM] = "stream",
	[SRV_F_VAD] = "vad_filter",
	[SRV_F_BATCH] = "batch",
};

static size_t field_cap(int f)
{
	return f == SRV_F_PROMPT ? SRV_PROMPT_MAX : SRV_FIELD_MAX;
}

int srv_request_init(struct srv_request *r, enum srv_endpoint ep)
{
	int f;

	memset(r, 0, sizeof(*r));
	r->endpoint = ep;
	for (f = 0; f < SRV_F_N; f++) {
		r->raw[f] = calloc(1, field_cap(f) + 1);
		if (!r->raw[f]) {
			srv_request_free(r);
			return -ENOMEM;
		}
	}
	return 0;
}

void srv_request_free(struct srv_request *r)
{
	int f;

	for (f = 0; f < SRV_F_N; f++) {
		free(r->raw[f]);
		r->raw[f] = NULL;
	}
}

/* append - @size bytes at @off of a value into @buf (@cap bytes, NUL kept after). */
static int append(char *buf, size_t cap, size_t *len, const char *data, uint64_t off, size_t size)
{
	if (off == 0)
		*len = 0;
	if (size > cap - *len)
		return -E2BIG;
	memcpy(buf + *len, data, size);
	*len += size;
	buf[*len] = '\0';
	return 0;
}

void srv_request_field(struct srv_request *r, const char *key, const char *data,
		       uint64_t off, size_t size)
{
	int f;

	if (!key)
		return;
	if (!strcmp(key, "timestamp_granularities[]") || !strcmp(key, "timestamp_granularities")) {
		/*
		 * libmicrohttpd may open a value with an empty piece (off 0,
		 * size 0) when its bytes start in the next read: that piece and
		 * the next one at off 0 are the same value, not two.
		 */
		if (off == 0 && !(r->n_gran > 0 && r->gran_open_empty))
			r->n_gran++;
		r->gran_open_empty = off == 0 && size == 0;
		if (r->n_gran > SRV_GRAN_MAX)
			return;          /* counted; refused by the check */
		if (append(r->gran[r->n_gran - 1], sizeof(r->gran[0]) - 1,
			   &r->gran_len[r->n_gran - 1], data, off, size))
			r->gran_len[r->n_gran - 1] = sizeof(r->gran[0]);  /* marks too long */
		return;
	}
	for (f = 0; f < SRV_F_N; f++)
		if (!strcmp(key, field_names[f]))
			break;
	if (f == SRV_F_N)
		return;
	if (off == 0)
		r->too_long &= ~(1u << f);
	r->seen |= 1u << f;
	if (append(r->raw[f], field_cap(f), &r->raw_len[f], data, off, size))
		r->too_long |= 1u << f;
}

static int fail(struct srv_reqerr *e, const char *param, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int fail(struct srv_reqerr *e, const char *param, const char *fmt, ...)
{
	va_list ap;

	e->status = 400;
	snprintf(e->param, sizeof(e->param), "%s", param ? param : "");
	va_start(ap, fmt);
	vsnprintf(e->message, sizeof(e->message), fmt, ap);
	va_end(ap);
	return -EINVAL;
}

/* Blanks around a value are not part of it (form fields typed by people). */
static const char *trimmed(struct srv_request *r, int f)
{
	char *s = r->raw[f], *end;

	while (*s == ' ' || *s == '\t' || *s == '\r' || *s == '\n')
		s++;
	end = s + strlen(s);
	while (end > s && (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\r' || end[-1] == '\n'))
		*--end = '\0';
	return s;
}

/* Only printable ASCII of a client's value goes into a message. */
static void shown(char *dst, size_t cap, const char *s)
{
	size_t i;

	for (i = 0; i + 1 < cap && s[i]; i++)
		dst[i] = (s[i] >= 0x20 && s[i] < 0x7f) ? s[i] : '?';
	dst[i] = '\0';
	if (s[i] && cap > 4)
		memcpy(dst + cap - 4, "...", 4);
}

static int check_format(struct srv_request *r, struct srv_reqerr *e)
{
	static const char *const names[] = { "json", "text", "srt", "vtt", "verbose_json" };
	const char *v;
	char buf[48];
	size_t i;

	r->format = SRV_FMT_JSON;
	if (!(r->seen & (1u << SRV_F_FORMAT)))
		return 0;
	v = trimmed(r, SRV_F_FORMAT);
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (!strcmp(v, names[i])) {
			r->format = (enum srv_format)i;
			return 0;
		}
	}
	shown(buf, sizeof(buf), v);
	return fail(e, "response_format", "response_format '%s' is not one of json, text, srt, "
		    "vtt, verbose_json", buf);
}

/* A true/false field @f into *@out (0 when absent or empty). */
static int check_bool(struct srv_request *r, int f, int *out, struct srv_reqerr *e)
{
	const char *v;
	char buf[48];

	*out = 0;
	if (!(r->seen & (1u << f)))
		return 0;
	v = trimmed(r, f);
	if (!strcasecmp(v, "true") || !strcmp(v, "1")) {
		*out = 1;
	} else if (!strcasecmp(v, "false") || !strcmp(v, "0") || !*v) {
		*out = 0;
	} else {
		shown(buf, sizeof(buf), v);
		return fail(e, field_names[f], "%s '%s' is not true or false", field_names[f], buf);
	}
	return 0;
}

static int check_stream(struct srv_request *r, struct srv_reqerr *e)
{
	return check_bool(r, SRV_F_STREAM, &r->stream, e) ||
	       check_bool(r, SRV_F_VAD, &r->vad_filter, e);
}

/*
 * The fallback ladder as the CLI builds it (tools/amanuensis/options.c):
 * T, T + 0.2, ... up to 1.0, so that the same request decodes the same way.
 */
static int check_temperature(struct srv_request *r, struct srv_reqerr *e)
{
	const float inc = 0.2f;
	double t0 = 0.0;
	const char *v;
	char buf[48], *end;
	int n;

	if (r->seen & (1u << SRV_F_TEMPERATURE)) {
		v = trimmed(r, SRV_F_TEMPERATURE);
		errno = 0;
		t0 = strtod(v, &end);
		shown(buf, sizeof(buf), v);
		if (!*v || *end || errno || !isfinite(t0))
			return fail(e, "temperature", "temperature '%s' is not a number", buf);
		if (t0 < 0 || t0 > 1)
			return fail(e, "temperature", "temperature %s is not between 0 and 1", buf);
	}
	t0 = (float)t0;
	for (n = 0; n < SRV_MAX_TEMPERATURES; n++) {
		double t = t0 + n * (double)inc;

		if (t > 1.0 + 1e-6)
			break;
		r->temperatures[n] = (float)t;
	}
	r->n_temperatures = n;
	return 0;
}

static int check_language(struct srv_request *r, const struct wsp_context *ctx,
			  int multilingual, struct srv_reqerr *e)
{
	const char *v = "";
	char buf[48];
	size_t i, n;

	if (r->seen & (1u << SRV_F_LANGUAGE))
		v = trimmed(r, SRV_F_LANGUAGE);
	if (!strcmp(v, "auto"))
		v = "";
	n = strlen(v);
	shown(buf, sizeof(buf), v);
	if (n >= sizeof(r->language))
		return fail(e, "language", "language '%s' is not a language code such as en or de",
			    buf);
	for (i = 0; i < n; i++)
		if (!((v[i] >= 'a' && v[i] <= 'z') || (v[i] >= 'A' && v[i] <= 'Z')))
			return fail(e, "language", "language '%s' is not a language code such as "
				    "en or de", buf);
	for (i = 0; i <= n; i++)
		r->language[i] = (char)((v[i] >= 'A' && v[i] <= 'Z') ? v[i] - 'A' + 'a' : v[i]);
	/* English-only models speak English: the CLI says "en" for them too. */
	if (multilingual == 0) {
		if (n && strcmp(r->language, "en"))
			return fail(e, "language", "the model is English-only: language '%s' "
				    "cannot be transcribed", buf);
		snprintf(r->language, sizeof(r->language), "en");
		return 0;
	}
	if (n && ctx && !wsp_context_has_language(ctx, r->language))
		return fail(e, "language", "the model knows no language '%s' (use a code such as "
			    "en, de, fr)", buf);
	return 0;
}

/* batch: the windows of this request in flight, 1..64 (1: sequential) */
static int check_batch(struct srv_request *r, struct srv_reqerr *e)
{
	const char *v;
	char buf[48], *end;
	long n;

	r->batch = 0;
	if (!(r->seen & (1u << SRV_F_BATCH)))
		return 0;
	v = trimmed(r, SRV_F_BATCH);
	shown(buf, sizeof(buf), v);
	errno = 0;
	n = strtol(v, &end, 10);
	if (!*v || *end || errno)
		return fail(e, "batch", "batch '%s' is not a whole number", buf);
	if (n < 1 || n > 64)
		return fail(e, "batch", "batch %s is not between 1 (sequential) and 64", buf);
	r->batch = (int)n;
	return 0;
}

static int check_granularities(struct srv_request *r, struct srv_reqerr *e)
{
	char buf[48];
	int i;

	if (r->n_gran > SRV_GRAN_MAX)
		return fail(e, "timestamp_granularities[]", "timestamp_granularities[] has more "
			    "than %d values", SRV_GRAN_MAX);
	for (i = 0; i < r->n_gran; i++) {
		const char *v = r->gran[i];

		if (r->gran_len[i] >= sizeof(r->gran[0]))
			v = "(too long)";
		if (!strcmp(v, "segment"))
			continue;
		if (!strcmp(v, "word")) {
			/* as OpenAI's API: granularities are a verbose_json feature */
			if (r->format != SRV_FMT_VERBOSE_JSON)
				return fail(e, "timestamp_granularities[]", "word timestamps need "
					    "response_format verbose_json");
			r->words = 1;
			continue;
		}
		shown(buf, sizeof(buf), v);
		return fail(e, "timestamp_granularities[]", "timestamp granularity '%s' is not "
			    "segment or word", buf);
	}
	return 0;
}

int srv_request_check(struct srv_request *r, const struct wsp_context *ctx, int multilingual,
		      struct srv_reqerr *e)
{
	int f;

	memset(e, 0, sizeof(*e));
	for (f = 0; f < SRV_F_N; f++)
		if (r->too_long & (1u << f))
			return fail(e, field_names[f], "%s is longer than %zu bytes", field_names[f],
				    field_cap(f));
	if (check_format(r, e) || check_stream(r, e) || check_temperature(r, e) ||
	    check_granularities(r, e) || check_batch(r, e))
		return -EINVAL;
	if (r->endpoint == SRV_EP_TRANSLATIONS) {
		if (multilingual == 0)
			return fail(e, "model", "translation needs a multilingual model; this "
				    "server's model is English-only");
		/* a translation detects the spoken language, as openai's endpoint does */
		if ((r->seen & (1u << SRV_F_LANGUAGE)) && check_language(r, ctx, multilingual, e))
			return -EINVAL;
	} else if (check_language(r, ctx, multilingual, e)) {
		return -EINVAL;
	}
	r->prompt = (r->seen & (1u << SRV_F_PROMPT)) && r->raw_len[SRV_F_PROMPT] ?
		    r->raw[SRV_F_PROMPT] : NULL;
	return 0;
}

void srv_request_apply(const struct srv_request *r, struct wsp_transcribe_opts *t)
{
	t->task = r->endpoint == SRV_EP_TRANSLATIONS ? WSP_TASK_TRANSLATE : WSP_TASK_TRANSCRIBE;
	t->language = r->language[0] ? r->language : NULL;
	t->initial_prompt = r->prompt;
	t->word_timestamps = r->words;
	t->temperatures = r->temperatures;
	t->n_temperatures = r->n_temperatures;
	if (r->batch)
		t->batch = r->batch;
}

const char *srv_format_name(enum srv_format f)
{
	static const char *const names[] = { "json", "text", "srt", "vtt", "verbose_json" };

	return (unsigned)f < sizeof(names) / sizeof(names[0]) ? names[f] : "?";
}

const char *srv_endpoint_name(enum srv_endpoint ep)
{
	return ep == SRV_EP_TRANSLATIONS ? "translations" : "transcriptions";
}
