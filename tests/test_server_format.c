/* SPDX-License-Identifier: MIT */
/*
 * tests/test_server_format.c - the server's response bodies and its request
 * fields, without a model: a made-up result (non-ASCII text, a byte that is
 * not UTF-8, "-->" in a segment, a statistic of 0, a segment past one hour)
 * in every response_format, checked against the library's own writers (srt
 * and vtt byte for byte, json's "text" and verbose_json's segments value for
 * value against the CLI's JSON), the stream's events, and the fields'
 * validation: each bad value refused with its "param", good ones turned
 * into the CLI's decoding options.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "tools/amanuensis-server/format.h"
#include "tools/amanuensis-server/request.h"
#include "whisper/output.h"

static int32_t tokens0[] = { 50364, 843, 523, 50464 };
static int32_t tokens1[] = { 50464, 1265, 50564 };
static int32_t tokens2[] = { 50564, 13, 50664 };

static struct wsp_segment segs[3];
static struct wsp_result res;

static void make_result(void)
{
	memset(segs, 0, sizeof(segs));
	memset(&res, 0, sizeof(res));
	segs[0] = (struct wsp_segment){ .start = 0.0, .end = 2.5, .text = " Grüße, \"world\"",
		.tokens = tokens0, .n_tokens = 4, .avg_logprob = -0.25f,
		.no_speech_prob = 0.0f, .compression_ratio = 1.5f, .temperature = 0.0f };
	segs[1] = (struct wsp_segment){ .start = 2.5, .end = 7.125, .text = " a --> b \xff end",
		.tokens = tokens1, .n_tokens = 3, .avg_logprob = -1.0625f,
		.no_speech_prob = 0.125f, .compression_ratio = 2.0f, .temperature = 0.2f };
	segs[2] = (struct wsp_segment){ .start = 3600.5, .end = 3602.0, .text = " 日本 \U0001F600",
		.tokens = tokens2, .n_tokens = 3, .avg_logprob = -0.5f,
		.no_speech_prob = 0.5f, .compression_ratio = 1.0f, .temperature = 0.4f };
	res.segments = segs;
	res.n_segments = 3;
	snprintf(res.language, sizeof(res.language), "en");
	res.duration_s = 3602.25;
}

/* mem_write - one of the library's writers into a string. */
static char *mem_write(unsigned fmt, size_t *len)
{
	char *s = NULL;
	FILE *f = open_memstream(&s, len);

	cr_assert_not_null(f);
	cr_assert_eq(wsp_write_format(f, fmt, &res, NULL), 0);
	fclose(f);
	return s;
}

static json_t *cli_json(void)
{
	size_t len;
	char *s = mem_write(WSP_OUT_JSON, &len);
	json_t *j = json_loadb(s, len, 0, NULL);

	free(s);
	cr_assert_not_null(j);
	return j;
}

static char *body_of(enum srv_format fmt, const int *seeks, size_t *len, const char **ctype)
{
	char *body = NULL;

	cr_assert_eq(srv_format_body(&res, fmt, "transcribe", seeks, &body, len, ctype), 0);
	cr_assert_not_null(body);
	cr_assert_eq(strlen(body), *len);
	return body;
}

Test(format, srt_and_vtt_are_the_writers_bytes)
{
	unsigned fmts[] = { WSP_OUT_SRT, WSP_OUT_VTT };
	enum srv_format ours[] = { SRV_FMT_SRT, SRV_FMT_VTT };

	make_result();
	for (int i = 0; i < 2; i++) {
		const char *ctype;
		size_t n, m;
		char *want = mem_write(fmts[i], &n), *got = body_of(ours[i], NULL, &m, &ctype);

		cr_assert_eq(m, n);
		cr_assert_eq(memcmp(got, want, n), 0, "%s differs:\n%s\n---\n%s", srv_format_name(ours[i]),
			     got, want);
		cr_assert(strstr(ctype, "text/plain") == ctype);
		free(want);
		free(got);
	}
}

Test(format, json_is_the_cli_text_alone)
{
	json_t *cli, *got;
	const char *ctype;
	size_t len;
	char *body;

	make_result();
	cli = cli_json();
	body = body_of(SRV_FMT_JSON, NULL, &len, &ctype);
	got = json_loads(body, 0, NULL);
	cr_assert_not_null(got, "not JSON: %s", body);
	cr_assert_eq(json_object_size(got), 1);
	cr_assert(json_equal(json_object_get(got, "text"), json_object_get(cli, "text")));
	cr_assert_str_eq(ctype, "application/json");
	/* the text is the segments joined, the bad byte as U+FFFD */
	cr_assert(strstr(json_string_value(json_object_get(got, "text")), " a --> b \xef\xbf\xbd end"));
	json_decref(got);
	json_decref(cli);
	free(body);
}

Test(format, text_is_the_cli_text_and_a_newline)
{
	const char *ctype;
	json_t *cli;
	size_t len;
	char *body, *want;

	make_result();
	cli = cli_json();
	body = body_of(SRV_FMT_TEXT, NULL, &len, &ctype);
	cr_assert(asprintf(&want, "%s\n", json_string_value(json_object_get(cli, "text"))) > 0);
	cr_assert_str_eq(body, want);
	cr_assert(strstr(ctype, "text/plain") == ctype);
	free(want);
	free(body);
	json_decref(cli);
}

Test(format, verbose_json_segments_equal_the_cli)
{
	static const char *const same[] = { "text", "tokens", "start", "end", "temperature",
					    "avg_logprob", "compression_ratio", "no_speech_prob" };
	int seeks[3] = { 0, 0, 360000 };
	json_t *cli, *got, *a, *b;
	const char *ctype;
	size_t len, i, k;
	char *body;

	make_result();
	cli = cli_json();
	body = body_of(SRV_FMT_VERBOSE_JSON, seeks, &len, &ctype);
	got = json_loads(body, 0, NULL);
	cr_assert_not_null(got, "not JSON: %s", body);
	cr_assert_str_eq(json_string_value(json_object_get(got, "task")), "transcribe");
	cr_assert_str_eq(json_string_value(json_object_get(got, "language")), "en");
	cr_assert_float_eq(json_number_value(json_object_get(got, "duration")), 3602.25, 1e-9);
	cr_assert(json_equal(json_object_get(got, "text"), json_object_get(cli, "text")));
	a = json_object_get(got, "segments");
	b = json_object_get(cli, "segments");
	cr_assert_eq(json_array_size(a), 3);
	cr_assert_eq(json_array_size(b), 3);
	for (i = 0; i < 3; i++) {
		json_t *s = json_array_get(a, i), *t = json_array_get(b, i);

		cr_assert_eq(json_integer_value(json_object_get(s, "id")), (json_int_t)i);
		cr_assert_eq(json_integer_value(json_object_get(s, "seek")), seeks[i]);
		for (k = 0; k < sizeof(same) / sizeof(same[0]); k++) {
			json_t *x = json_object_get(s, same[k]), *y = json_object_get(t, same[k]);

			cr_assert_not_null(x, "segment %zu has no %s", i, same[k]);
			if (json_is_number(y))
				/* 0 is written "0" by the CLI, 0.0 here: equal values */
				cr_assert(json_is_real(x) &&
					  json_number_value(x) == json_number_value(y),
					  "segment %zu %s: %g vs %g", i, same[k],
					  json_number_value(x), json_number_value(y));
			else
				cr_assert(json_equal(x, y), "segment %zu %s differs", i, same[k]);
		}
	}
	json_decref(got);
	json_decref(cli);
	free(body);
}

/* sse_json - the JSON of one "data: ...\n\n" event. */
static json_t *sse_json(const char *ev, size_t len)
{
	cr_assert(len > 8 && !strncmp(ev, "data: ", 6) && !strcmp(ev + len - 2, "\n\n"),
		  "not one event: %s", ev);
	cr_assert_null(memchr(ev, '\n', len - 2), "an event on more than one line: %s", ev);
	return json_loadb(ev + 6, len - 8, 0, NULL);
}

Test(format, stream_events)
{
	json_t *cli, *j;
	size_t len;
	char *ev, joined[256] = "";

	make_result();
	cli = cli_json();
	for (int i = 0; i < 3; i++) {
		ev = srv_format_sse_delta(&segs[i], &len);
		cr_assert_not_null(ev);
		j = sse_json(ev, len);
		cr_assert_str_eq(json_string_value(json_object_get(j, "type")), "transcript.text.delta");
		/* each delta is its segment's text as the CLI's JSON has it */
		cr_assert(json_equal(json_object_get(j, "delta"),
				     json_object_get(json_array_get(json_object_get(cli, "segments"), i),
						     "text")));
		strcat(joined, json_string_value(json_object_get(j, "delta")));
		json_decref(j);
		free(ev);
	}
	ev = srv_format_sse_done(&res, &len);
	j = sse_json(ev, len);
	cr_assert_str_eq(json_string_value(json_object_get(j, "type")), "transcript.text.done");
	cr_assert_str_eq(json_string_value(json_object_get(j, "text")), joined);
	cr_assert(json_equal(json_object_get(j, "text"), json_object_get(cli, "text")));
	json_decref(j);
	free(ev);

	ev = srv_format_sse_error(500, "bad \x01 news", &len);
	j = sse_json(ev, len);
	cr_assert_str_eq(json_string_value(json_object_get(json_object_get(j, "error"), "message")),
			 "bad ? news");
	json_decref(j);
	free(ev);
	json_decref(cli);
}

Test(format, empty_result)
{
	const char *ctype;
	size_t len;
	char *body;

	memset(&res, 0, sizeof(res));
	snprintf(res.language, sizeof(res.language), "en");
	body = body_of(SRV_FMT_JSON, NULL, &len, &ctype);
	cr_assert_str_eq(body, "{\"text\":\"\"}");
	free(body);
	body = body_of(SRV_FMT_TEXT, NULL, &len, &ctype);
	cr_assert_str_eq(body, "\n");
	free(body);
	body = body_of(SRV_FMT_VERBOSE_JSON, NULL, &len, &ctype);
	cr_assert(strstr(body, "\"segments\":[]"), "%s", body);
	free(body);
}

/* ---- request fields ---- */

static void field(struct srv_request *r, const char *key, const char *value)
{
	srv_request_field(r, key, value, 0, strlen(value));
}

/* refused - @key=@value alone is a 400 naming @param. */
static void refused(enum srv_endpoint ep, int multilingual, const char *key, const char *value,
		    const char *param)
{
	struct srv_request r;
	struct srv_reqerr e;

	cr_assert_eq(srv_request_init(&r, ep), 0);
	field(&r, key, value);
	cr_assert_eq(srv_request_check(&r, NULL, multilingual, &e), -EINVAL, "%s=%s accepted",
		     key, value);
	cr_assert_eq(e.status, 400);
	cr_assert_str_eq(e.param, param, "%s=%s: param %s", key, value, e.param);
	cr_assert(e.message[0]);
	for (const char *p = e.message; *p; p++)
		cr_assert(*p >= 0x20 && *p < 0x7f, "message is not printable ASCII: %s", e.message);
	srv_request_free(&r);
}

Test(request, bad_values_name_their_field)
{
	char big[SRV_PROMPT_MAX + 2];

	refused(SRV_EP_TRANSCRIPTIONS, 1, "response_format", "xml", "response_format");
	refused(SRV_EP_TRANSCRIPTIONS, 1, "response_format", "5", "response_format");
	refused(SRV_EP_TRANSCRIPTIONS, 1, "temperature", "warm", "temperature");
	refused(SRV_EP_TRANSCRIPTIONS, 1, "temperature", "-3", "temperature");
	refused(SRV_EP_TRANSCRIPTIONS, 1, "temperature", "1.5", "temperature");
	refused(SRV_EP_TRANSCRIPTIONS, 1, "temperature", "nan", "temperature");
	refused(SRV_EP_TRANSCRIPTIONS, 1, "temperature", "", "temperature");
	refused(SRV_EP_TRANSCRIPTIONS, 1, "stream", "maybe", "stream");
	refused(SRV_EP_TRANSCRIPTIONS, 1, "timestamp_granularities[]", "syllable",
		"timestamp_granularities[]");
	refused(SRV_EP_TRANSCRIPTIONS, 1, "timestamp_granularities[]", "word",
		"timestamp_granularities[]");
	refused(SRV_EP_TRANSCRIPTIONS, 1, "language", "e1", "language");
	refused(SRV_EP_TRANSCRIPTIONS, 1, "language", "\xc3\xa9n", "language");
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	refused(SRV_EP_TRANSCRIPTIONS, 1, "language", big + sizeof(big) - 300, "language");
	refused(SRV_EP_TRANSCRIPTIONS, 1, "prompt", big, "prompt");
	refused(SRV_EP_TRANSCRIPTIONS, 1, "model", big + sizeof(big) - 300, "model");
	/* English-only models: English, and no translation */
	refused(SRV_EP_TRANSCRIPTIONS, 0, "language", "de", "language");
	refused(SRV_EP_TRANSLATIONS, 0, "model", "whisper-1", "model");
}

Test(request, values_in_pieces_and_repeated)
{
	struct srv_request r;
	struct srv_reqerr e;

	cr_assert_eq(srv_request_init(&r, SRV_EP_TRANSCRIPTIONS), 0);
	/* one value in three pieces, as the post processor may hand it over */
	srv_request_field(&r, "response_format", "verb", 0, 4);
	srv_request_field(&r, "response_format", "ose_j", 4, 5);
	srv_request_field(&r, "response_format", "son", 9, 3);
	field(&r, "stream", "xyz");
	field(&r, "stream", "TRUE");       /* the last value wins */
	field(&r, "timestamp_granularities[]", "segment");
	/* a value opened by an empty piece is still one value */
	srv_request_field(&r, "timestamp_granularities[]", "", 0, 0);
	srv_request_field(&r, "timestamp_granularities[]", "word", 0, 4);
	field(&r, "unknown_field", "anything");
	cr_assert_eq(srv_request_check(&r, NULL, 1, &e), 0, "%s: %s", e.param, e.message);
	cr_assert_eq(r.format, SRV_FMT_VERBOSE_JSON);
	cr_assert_eq(r.stream, 1);
	cr_assert_eq(r.n_gran, 2);
	cr_assert_eq(r.words, 1);
	srv_request_free(&r);
}

Test(request, defaults_are_the_cli_defaults)
{
	struct wsp_transcribe_opts t, d;
	struct srv_request r;
	struct srv_reqerr e;

	cr_assert_eq(srv_request_init(&r, SRV_EP_TRANSCRIPTIONS), 0);
	field(&r, "model", "whisper-1");
	cr_assert_eq(srv_request_check(&r, NULL, 0, &e), 0);
	wsp_transcribe_opts_default(&t);
	wsp_transcribe_opts_default(&d);
	srv_request_apply(&r, &t);
	/* English-only model: "en", as the CLI sets it */
	cr_assert_str_eq(t.language, "en");
	cr_assert_eq(t.task, WSP_TASK_TRANSCRIBE);
	cr_assert_null(t.initial_prompt);
	cr_assert_eq(t.beam_size, d.beam_size);
	cr_assert_eq(t.best_of, d.best_of);
	/* the CLI's ladder: 0, 0.2, ..., 1.0 built as options.c builds it */
	cr_assert_eq(t.n_temperatures, 6);
	for (int i = 0; i < 6; i++)
		cr_assert_eq(t.temperatures[i], (float)(0.0 + i * (double)0.2f));
	cr_assert_eq(r.format, SRV_FMT_JSON);
	cr_assert_eq(r.stream, 0);
	srv_request_free(&r);

	cr_assert_eq(srv_request_init(&r, SRV_EP_TRANSCRIPTIONS), 0);
	field(&r, "temperature", " 0.5 ");
	field(&r, "language", "DE");
	field(&r, "prompt", "Names: Quux.");
	cr_assert_eq(srv_request_check(&r, NULL, 1, &e), 0, "%s", e.message);
	srv_request_apply(&r, &t);
	cr_assert_str_eq(t.language, "de");
	cr_assert_str_eq(t.initial_prompt, "Names: Quux.");
	cr_assert_eq(t.n_temperatures, 3);
	cr_assert_eq(t.temperatures[0], 0.5f);
	srv_request_free(&r);

	cr_assert_eq(srv_request_init(&r, SRV_EP_TRANSLATIONS), 0);
	cr_assert_eq(srv_request_check(&r, NULL, 1, &e), 0);
	srv_request_apply(&r, &t);
	cr_assert_eq(t.task, WSP_TASK_TRANSLATE);
	cr_assert_null(t.language);        /* detected */
	srv_request_free(&r);
}
