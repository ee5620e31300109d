/* SPDX-License-Identifier: MIT */
/*
 * tools/amanuensis-server/format.c - response bodies and stream events from a
 * result. srt and vtt are the library's writers' bytes; json, text and
 * verbose_json are made from the CLI's JSON (wsp_write_json(), parsed back
 * with jansson), so that text, times and statistics are the very values the
 * CLI writes, escaping and all, rather than a second rendering of them.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "tools/amanuensis-server/errors.h"
#include "tools/amanuensis-server/format.h"
#include "whisper/output.h"

/* Numbers as the CLI's (%.3f times, %.6g statistics) survive 10 digits unchanged. */
#define DUMP_FLAGS (JSON_COMPACT | JSON_REAL_PRECISION(10))

/* write_mem - run one of the library's writers into a malloc'd buffer. */
static int write_mem(const struct wsp_result *r, unsigned fmt, char **out, size_t *len)
{
	FILE *f;
	int rc;

	*out = NULL;
	*len = 0;
	f = open_memstream(out, len);
	if (!f)
		return -ENOMEM;
	rc = wsp_write_format(f, fmt, r, NULL);
	if (fclose(f) && !rc)
		rc = -EIO;
	if (rc) {
		free(*out);
		*out = NULL;
	}
	return rc;
}

/* cli_json - the CLI's JSON of @r (without its "run" object), parsed. */
static json_t *cli_json(const struct wsp_result *r)
{
	json_error_t jerr;
	json_t *j;
	size_t len;
	char *s;

	if (write_mem(r, WSP_OUT_JSON, &s, &len))
		return NULL;
	j = json_loadb(s, len, 0, &jerr);
	free(s);
	return j;
}

static int dump(json_t *j, char **body, size_t *len)
{
	*body = j ? json_dumps(j, DUMP_FLAGS) : NULL;
	json_decref(j);
	if (!*body)
		return -ENOMEM;
	*len = strlen(*body);
	return 0;
}

/*
 * as_reals - the CLI writes a statistic of 0 as "0" (%.6g), which reads back
 * as an integer; OpenAI's segments hold numbers written as such (0.0).
 */
static void as_reals(json_t *seg)
{
	static const char *const keys[] = { "start", "end", "temperature", "avg_logprob",
					     "compression_ratio", "no_speech_prob" };
	size_t i;

	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		json_t *v = json_object_get(seg, keys[i]);

		if (json_is_integer(v))
			json_object_set_new(seg, keys[i], json_real((double)json_integer_value(v)));
	}
}

/*
 * timestamp_granularities[]=word: OpenAI's top-level "words" (word, start,
 * end) from the CLI's segments' words, in order. Return: 0 or -ENOMEM.
 */
static int words_of(json_t *out, json_t *src)
{
	json_t *words = json_array();
	size_t i, j;

	if (!words)
		return -ENOMEM;
	for (i = 0; i < json_array_size(src); i++) {
		json_t *ws = json_object_get(json_array_get(src, i), "words");

		for (j = 0; j < json_array_size(ws); j++) {
			json_t *w = json_array_get(ws, j);
			json_t *v = json_pack("{s:O, s:f, s:f}", "word", json_object_get(w, "word"),
					      "start", json_number_value(json_object_get(w, "start")),
					      "end", json_number_value(json_object_get(w, "end")));

			if (!v || json_array_append_new(words, v)) {
				json_decref(words);
				return -ENOMEM;
			}
		}
	}
	return json_object_set_new(out, "words", words) ? -ENOMEM : 0;
}

/*
 * OpenAI's verbose_json: task, language, duration, text, segments with
 * id, seek, start, end, text, tokens, temperature, avg_logprob,
 * compression_ratio, no_speech_prob (each as the CLI's segment has it).
 */
static json_t *verbose(const struct wsp_result *r, json_t *cli, const char *task, const int *seeks)
{
	json_t *out, *segs, *src;
	size_t i;

	src = json_object_get(cli, "segments");
	segs = json_array();
	out = json_pack("{s:s, s:O, s:f, s:O}", "task", task,
			"language", json_object_get(cli, "language"),
			"duration", r->duration_s,
			"text", json_object_get(cli, "text"));
	if (!out || !segs || !json_is_array(src)) {
		json_decref(out);
		json_decref(segs);
		return NULL;
	}
	for (i = 0; i < json_array_size(src); i++) {
		json_t *s = json_array_get(src, i), *v;

		as_reals(s);

		v = json_pack("{s:I, s:i, s:O, s:O, s:O, s:O, s:O, s:O, s:O, s:O}",
			      "id", (json_int_t)i,
			      "seek", seeks ? seeks[i] : 0,
			      "start", json_object_get(s, "start"),
			      "end", json_object_get(s, "end"),
			      "text", json_object_get(s, "text"),
			      "tokens", json_object_get(s, "tokens"),
			      "temperature", json_object_get(s, "temperature"),
			      "avg_logprob", json_object_get(s, "avg_logprob"),
			      "compression_ratio", json_object_get(s, "compression_ratio"),
			      "no_speech_prob", json_object_get(s, "no_speech_prob"));
		if (!v || json_array_append_new(segs, v)) {
			json_decref(segs);
			json_decref(out);
			return NULL;
		}
	}
	if (json_object_set_new(out, "segments", segs)) {
		json_decref(out);
		return NULL;
	}
	if (r->word_timestamps && words_of(out, src)) {
		json_decref(out);
		return NULL;
	}
	return out;
}

char *srv_format_text(const struct wsp_result *r)
{
	json_t *cli = cli_json(r);
	const char *t = json_string_value(json_object_get(cli, "text"));
	char *out = t ? strdup(t) : NULL;

	json_decref(cli);
	return out;
}

int srv_format_body(const struct wsp_result *r, enum srv_format fmt, const char *task,
		    const int *seeks, char **body, size_t *len, const char **ctype)
{
	json_t *cli;
	char *text;
	int n;

	*body = NULL;
	*len = 0;
	switch (fmt) {
	case SRV_FMT_SRT:
		*ctype = "text/plain; charset=utf-8";
		return write_mem(r, WSP_OUT_SRT, body, len);
	case SRV_FMT_VTT:
		*ctype = "text/plain; charset=utf-8";
		return write_mem(r, WSP_OUT_VTT, body, len);
	case SRV_FMT_TEXT:
		*ctype = "text/plain; charset=utf-8";
		text = srv_format_text(r);
		if (!text)
			return -ENOMEM;
		n = asprintf(body, "%s\n", text);
		free(text);
		if (n < 0) {
			*body = NULL;
			return -ENOMEM;
		}
		*len = (size_t)n;
		return 0;
	case SRV_FMT_VERBOSE_JSON:
		*ctype = "application/json";
		cli = cli_json(r);
		if (!cli)
			return -ENOMEM;
		n = dump(verbose(r, cli, task, seeks), body, len);
		json_decref(cli);
		return n;
	case SRV_FMT_JSON:
	default:
		*ctype = "application/json";
		cli = cli_json(r);
		if (!cli)
			return -ENOMEM;
		n = dump(json_pack("{s:O}", "text", json_object_get(cli, "text")), body, len);
		json_decref(cli);
		return n;
	}
}

/* sse - "data: JSON\n\n" of @j (consumed). */
static char *sse(json_t *j, size_t *len)
{
	char *data, *out = NULL;
	int n;

	data = j ? json_dumps(j, DUMP_FLAGS) : NULL;
	json_decref(j);
	if (!data)
		return NULL;
	n = asprintf(&out, "data: %s\n\n", data);
	free(data);
	if (n < 0)
		return NULL;
	*len = (size_t)n;
	return out;
}

char *srv_format_sse_delta(const struct wsp_segment *seg, size_t *len)
{
	json_t *cli, *text;
	char *out = NULL, *s;
	size_t n;
	FILE *f;

	/*
	 * The segment's text exactly as the CLI's JSON writes it (its escaping
	 * turns bytes that are not UTF-8 into U+FFFD), read back as a string.
	 */
	f = open_memstream(&s, &n);
	if (!f)
		return NULL;
	wsp_json_write_string(f, seg->text ? seg->text : "", seg->text ? strlen(seg->text) : 0);
	if (fclose(f))
		return NULL;
	cli = json_loadb(s, n, JSON_DECODE_ANY, NULL);
	free(s);
	text = json_string_value(cli) ? cli : NULL;
	if (text)
		out = sse(json_pack("{s:s, s:O}", "type", "transcript.text.delta", "delta", text), len);
	json_decref(cli);
	return out;
}

char *srv_format_sse_done(const struct wsp_result *r, size_t *len)
{
	char *text = srv_format_text(r), *out;

	if (!text)
		return NULL;
	out = sse(json_pack("{s:s, s:s}", "type", "transcript.text.done", "text", text), len);
	free(text);
	return out;
}

char *srv_format_sse_error(int status, const char *message, size_t *len)
{
	char *body = srv_error_json(status, message, NULL, NULL, NULL), *out = NULL;
	int n;

	if (!body)
		return NULL;
	n = asprintf(&out, "data: %s\n\n", body);
	free(body);
	if (n < 0)
		return NULL;
	*len = (size_t)n;
	return out;
}
