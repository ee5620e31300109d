/* SPDX-License-Identifier: MIT */
/*
 * tests/test_queue.c - the queue's wire format without Redis
 * (service/queue_wire.h, Documentation/scale-out.md): redis:// URLs, a
 * job encoded and read back, every refusal of a bad job, result events
 * read back bit for bit, and the joined text of a done event.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "service/queue.h"
#include "service/queue_wire.h"

/* The pairs after "XADD key *" of @a as fields. Return: how many. */
static int fields_of(const struct amq_args *a, int skip, struct amq_field *f, int cap)
{
	int n = (a->n - skip) / 2;

	cr_assert_eq((a->n - skip) % 2, 0);
	cr_assert_leq(n, cap);
	for (int i = 0; i < n; i++) {
		f[i].name = a->v[skip + 2 * i];
		f[i].name_len = a->len[skip + 2 * i];
		f[i].value = a->v[skip + 2 * i + 1];
		f[i].value_len = a->len[skip + 2 * i + 1];
	}
	return n;
}

Test(queue_url, forms)
{
	struct amq_url u;
	char err[256];

	cr_assert_eq(amq_url_parse("redis://127.0.0.1:6380/2", &u, err, sizeof(err)), 0, "%s", err);
	cr_expect_str_eq(u.host, "127.0.0.1");
	cr_expect_eq(u.port, 6380);
	cr_expect_eq(u.db, 2);
	cr_expect_str_eq(u.password, "");
	cr_assert_eq(amq_url_parse("redis://queue.local", &u, err, sizeof(err)), 0, "%s", err);
	cr_expect_str_eq(u.host, "queue.local");
	cr_expect_eq(u.port, 6379);
	cr_expect_eq(u.db, 0);
	cr_assert_eq(amq_url_parse("redis://:s3cret@h:7000", &u, err, sizeof(err)), 0, "%s", err);
	cr_expect_str_eq(u.user, "");
	cr_expect_str_eq(u.password, "s3cret");
	cr_expect_eq(u.port, 7000);
	cr_assert_eq(amq_url_parse("redis://ann:pw@h/", &u, err, sizeof(err)), 0, "%s", err);
	cr_expect_str_eq(u.user, "ann");
	cr_assert_eq(amq_url_parse("redis://[::1]:6390/1", &u, err, sizeof(err)), 0, "%s", err);
	cr_expect_str_eq(u.host, "::1");
	cr_expect_eq(u.port, 6390);
	cr_expect_eq(u.db, 1);
}

Test(queue_url, refusals)
{
	static const char *const bad[] = {
		"http://h:6379", "redis://", "redis://h:0", "redis://h:70000", "redis://h:12x",
		"redis://h/db", "redis://user@h", "redis://[::1", "redis://h:6379x/1",
	};
	struct amq_url u;
	char err[256];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		cr_expect_eq(amq_url_parse(bad[i], &u, err, sizeof(err)), -EINVAL, "%s", bad[i]);
		cr_expect_neq(strstr(err, "redis URL"), NULL, "%s: %s", bad[i], err);
	}
	cr_expect_eq(amq_url_parse(NULL, &u, err, sizeof(err)), -EINVAL);
}

static const char audio[] = "RIFF\0\0\0\0WAVE binary \x01\x02\xff";

static void full_job(struct amq_job *j)
{
	amq_job_init(j);
	snprintf(j->id, sizeof(j->id), "job-1.a:B_9");
	j->tenant = "acme";
	j->deadline_ms = 1800000000123;
	j->enqueued_ms = 1800000000000;
	j->ttl_s = 120;
	j->filename = "meeting 1.wav";
	snprintf(j->language, sizeof(j->language), "de");
	j->task = WSP_TASK_TRANSLATE;
	j->prompt = "Names: Zoë, Łukasz.\nStyle: formal.";
	j->temperatures[0] = 0.0f;
	j->temperatures[1] = 0.3f;
	j->temperatures[2] = 0.7f;
	j->n_temperatures = 3;
	j->beam_size = 3;
	j->best_of = 2;
	j->without_timestamps = 1;
	j->condition_on_previous_text = 0;
	j->audio = audio;
	j->audio_len = sizeof(audio) - 1;
}

Test(queue_job, round_trip)
{
	struct amq_field f[AMQ_MAX_FIELDS];
	struct amq_job j, back;
	struct amq_args a;
	char err[256];
	int n;

	full_job(&j);
	amq_args_init(&a);
	amq_job_encode(&j, &a);
	cr_assert_not(a.overflow);
	n = fields_of(&a, 0, f, AMQ_MAX_FIELDS);
	cr_assert_eq(amq_job_decode(&back, f, n, 0, err, sizeof(err)), 0, "%s", err);
	cr_expect_str_eq(back.id, j.id);
	cr_expect_str_eq(back.tenant, "acme");
	cr_expect_eq(back.deadline_ms, j.deadline_ms);
	cr_expect_eq(back.enqueued_ms, j.enqueued_ms);
	cr_expect_eq(back.ttl_s, 120);
	cr_expect_str_eq(back.filename, j.filename);
	cr_expect_str_eq(back.language, "de");
	cr_expect_eq(back.task, WSP_TASK_TRANSLATE);
	cr_expect_str_eq(back.prompt, j.prompt);
	cr_assert_eq(back.n_temperatures, 3);
	for (int i = 0; i < 3; i++)
		cr_expect_eq(back.temperatures[i], j.temperatures[i]);
	cr_expect_eq(back.beam_size, 3);
	cr_expect_eq(back.best_of, 2);
	cr_expect_eq(back.without_timestamps, 1);
	cr_expect_eq(back.condition_on_previous_text, 0);
	cr_assert_eq(back.audio_len, sizeof(audio) - 1);
	cr_expect_eq(memcmp(back.audio, audio, back.audio_len), 0);
	cr_expect_eq(amq_job_check(&j, 0, err, sizeof(err)), 0, "%s", err);
}

Test(queue_job, defaults_and_options)
{
	struct amq_field f[AMQ_MAX_FIELDS];
	struct wsp_transcribe_opts t, def;
	struct amq_job j, back;
	struct amq_args a;
	char err[256];
	int n;

	/* The smallest job: v, id, audio. */
	amq_job_init(&j);
	snprintf(j.id, sizeof(j.id), "x");
	j.audio = audio;
	j.audio_len = 4;
	amq_args_init(&a);
	amq_job_encode(&j, &a);
	n = fields_of(&a, 0, f, AMQ_MAX_FIELDS);
	cr_assert_eq(n, 3);
	cr_assert_eq(amq_job_decode(&back, f, n, 0, err, sizeof(err)), 0, "%s", err);
	cr_expect_null(back.tenant);
	cr_expect_eq(back.condition_on_previous_text, -1);
	wsp_transcribe_opts_default(&def);
	t = def;
	amq_job_apply(&back, &t);
	cr_expect_null(t.language);
	cr_expect_null(t.temperatures);
	cr_expect_eq(t.beam_size, def.beam_size);
	cr_expect_eq(t.best_of, def.best_of);
	cr_expect_eq(t.condition_on_previous_text, def.condition_on_previous_text);

	full_job(&j);
	t = def;
	amq_job_apply(&j, &t);
	cr_expect_str_eq(t.language, "de");
	cr_expect_eq(t.task, WSP_TASK_TRANSLATE);
	cr_expect_eq(t.temperatures, j.temperatures);
	cr_expect_eq(t.n_temperatures, 3);
	cr_expect_eq(t.beam_size, 3);
	cr_expect_eq(t.without_timestamps, 1);
	cr_expect_eq(t.condition_on_previous_text, 0);
	cr_expect_str_eq(t.initial_prompt, j.prompt);
	cr_expect_eq(t.batch, def.batch, "no batch: the library's default");
}

/*
 * batch and vad_filter (version 2): a job that uses neither is written as
 * version 1, which older workers read; one that does is version 2, and
 * both fields come back and apply.
 */
Test(queue_job, version_2_only_for_its_fields)
{
	struct amq_field f[AMQ_MAX_FIELDS];
	struct amq_args a;
	struct amq_job j, back;
	struct wsp_transcribe_opts t;
	char err[256] = "";
	static const char audio[] = "RIFF";
	int n;

	amq_job_init(&j);
	snprintf(j.id, sizeof(j.id), "v2");
	j.audio = audio;
	j.audio_len = 4;
	j.batch = 1;   /* sequential: nothing version 2 says */
	amq_args_init(&a);
	amq_job_encode(&j, &a);
	n = fields_of(&a, 0, f, AMQ_MAX_FIELDS);
	cr_assert_eq(n, 3);
	cr_expect(f[0].value_len == 1 && f[0].value[0] == '1', "version 1 without its fields");

	j.batch = 8;
	j.vad_filter = 1;
	amq_args_init(&a);
	amq_job_encode(&j, &a);
	n = fields_of(&a, 0, f, AMQ_MAX_FIELDS);
	cr_assert_eq(n, 5);
	cr_expect(f[0].value_len == 1 && f[0].value[0] == '2', "version 2 with them");
	cr_assert_eq(amq_job_decode(&back, f, n, 0, err, sizeof(err)), 0, "%s", err);
	cr_expect_eq(back.batch, 8);
	cr_expect_eq(back.vad_filter, 1);
	cr_expect_eq(amq_job_check(&j, 0, err, sizeof(err)), 0, "%s", err);
	wsp_transcribe_opts_default(&t);
	amq_job_apply(&back, &t);
	cr_expect_eq(t.batch, 8);
	cr_expect_null(t.vad, "the VAD is the worker's to give");
}

/* Decode the fields name=value given as "name", "value", ... (NULL ends). */
static int decode_pairs(struct amq_job *j, size_t max_audio, char *err, size_t errlen, ...)
{
	struct amq_field f[AMQ_MAX_FIELDS + 8];
	const char *s;
	va_list ap;
	int n = 0;

	va_start(ap, errlen);
	while ((s = va_arg(ap, const char *)) && n < AMQ_MAX_FIELDS + 8) {
		f[n].name = s;
		f[n].name_len = strlen(s);
		s = va_arg(ap, const char *);
		f[n].value = s;
		f[n].value_len = strlen(s);
		n++;
	}
	va_end(ap);
	err[0] = '\0';
	return amq_job_decode(j, f, n, max_audio, err, errlen);
}

#define EXPECT_REFUSED(rc_want, why, ...)                                         \
	do {                                                                      \
		int rc_ = decode_pairs(&j, 16, err, sizeof(err), __VA_ARGS__, NULL); \
		cr_expect_eq(rc_, rc_want, "%s: rc %d (%s)", why, rc_, err);       \
		cr_expect_neq(strstr(err, why), NULL, "want '%s' in '%s'", why, err); \
	} while (0)

Test(queue_job, refusals)
{
	struct amq_job j;
	char err[256];

	EXPECT_REFUSED(-EINVAL, "no version", "id", "a", "audio", "x");
	EXPECT_REFUSED(-EPROTONOSUPPORT, "version '3'", "v", "3", "id", "a", "audio", "x");
	EXPECT_REFUSED(-EPROTONOSUPPORT, "version '0'", "v", "0", "id", "a", "audio", "x");
	EXPECT_REFUSED(-EPROTONOSUPPORT, "version '01'", "v", "01", "id", "a", "audio", "x");
	/* version 2's fields: not in a version 1 job, checked in a version 2 one */
	EXPECT_REFUSED(-EINVAL, "unknown field 'batch'", "v", "1", "id", "a", "audio", "x",
		       "batch", "2");
	EXPECT_REFUSED(-EINVAL, "unknown field 'vad_filter'", "v", "1", "id", "a", "audio", "x",
		       "vad_filter", "1");
	EXPECT_REFUSED(-EINVAL, "'batch'", "v", "2", "id", "a", "audio", "x", "batch", "65");
	EXPECT_REFUSED(-EINVAL, "'batch'", "v", "2", "id", "a", "audio", "x", "batch", "0");
	EXPECT_REFUSED(-EINVAL, "'vad_filter'", "v", "2", "id", "a", "audio", "x",
		       "vad_filter", "2");
	cr_expect_str_eq(j.id, "a", "the id survives a refusal, to answer it");
	EXPECT_REFUSED(-EINVAL, "no field 'id'", "v", "1", "audio", "x");
	EXPECT_REFUSED(-EINVAL, "no field 'audio'", "v", "1", "id", "a");
	EXPECT_REFUSED(-EINVAL, "unknown field 'colour'", "v", "1", "id", "a", "audio", "x",
		       "colour", "blue");
	EXPECT_REFUSED(-EINVAL, "given twice", "v", "1", "id", "a", "audio", "x", "id", "b");
	EXPECT_REFUSED(-EMSGSIZE, "more than the limit of 16", "v", "1", "id", "a", "audio",
		       "seventeen bytes!!");
	EXPECT_REFUSED(-EINVAL, "'audio' is empty", "v", "1", "id", "a", "audio", "");
	EXPECT_REFUSED(-EINVAL, "'id' has a character", "v", "1", "id", "a b", "audio", "x");
	cr_expect_str_eq(j.id, "", "an unusable id is not kept");
	EXPECT_REFUSED(-EINVAL, "'id' is not 1 to 64", "v", "1", "id",
		       "0123456789012345678901234567890123456789012345678901234567890123456789",
		       "audio", "x");
	EXPECT_REFUSED(-EINVAL, "'tenant'", "v", "1", "id", "a", "audio", "x", "tenant", "a b");
	EXPECT_REFUSED(-EINVAL, "'deadline_ms'", "v", "1", "id", "a", "audio", "x",
		       "deadline_ms", "soon");
	EXPECT_REFUSED(-EINVAL, "'ttl_s'", "v", "1", "id", "a", "audio", "x", "ttl_s", "0");
	EXPECT_REFUSED(-EINVAL, "'language'", "v", "1", "id", "a", "audio", "x", "language", "EN");
	EXPECT_REFUSED(-EINVAL, "'task'", "v", "1", "id", "a", "audio", "x", "task", "summarize");
	EXPECT_REFUSED(-EINVAL, "'temperatures'", "v", "1", "id", "a", "audio", "x",
		       "temperatures", "0,1.5");
	EXPECT_REFUSED(-EINVAL, "'temperatures'", "v", "1", "id", "a", "audio", "x",
		       "temperatures", "0,,0.2");
	EXPECT_REFUSED(-EINVAL, "'beam_size'", "v", "1", "id", "a", "audio", "x", "beam_size", "65");
	EXPECT_REFUSED(-EINVAL, "'without_timestamps'", "v", "1", "id", "a", "audio", "x",
		       "without_timestamps", "yes");
	EXPECT_REFUSED(-EINVAL, "'filename'", "v", "1", "id", "a", "audio", "x", "filename", "a\nb");
	EXPECT_REFUSED(-EINVAL, "'prompt'", "v", "1", "id", "a", "audio", "x", "prompt", "a\x01");
	cr_expect_eq(decode_pairs(&j, 16, err, sizeof(err), "v", "1", "id", "a", "audio", "x",
				  "language", "auto", NULL), 0, "%s", err);
	cr_expect_str_eq(j.language, "", "auto is detection");
}

Test(queue_job, too_many_fields_and_checks)
{
	struct amq_field f[AMQ_MAX_FIELDS + 1];
	struct amq_job j;
	char err[256];

	for (int i = 0; i <= AMQ_MAX_FIELDS; i++)
		f[i] = (struct amq_field){ "v", 1, "1", 1 };
	f[1] = (struct amq_field){ "id", 2, "keep", 4 };
	cr_expect_eq(amq_job_decode(&j, f, AMQ_MAX_FIELDS + 1, 0, err, sizeof(err)), -EINVAL);
	cr_expect_neq(strstr(err, "more than 32"), NULL, "%s", err);
	cr_expect_str_eq(j.id, "keep");

	/* The front door's check is the worker's decode. */
	full_job(&j);
	j.audio_len = 100;
	cr_expect_eq(amq_job_check(&j, 50, err, sizeof(err)), -EMSGSIZE);
	full_job(&j);
	j.id[0] = '\0';
	cr_expect_eq(amq_job_check(&j, 0, err, sizeof(err)), -EINVAL);
	full_job(&j);
	j.beam_size = 99;
	cr_expect_eq(amq_job_check(&j, 0, err, sizeof(err)), -EINVAL);
	full_job(&j);
	j.audio = NULL;
	cr_expect_eq(amq_job_check(&j, 0, err, sizeof(err)), -EINVAL);
}

Test(queue_job, new_ids_differ)
{
	char a[AMQ_ID_MAX + 1], b[AMQ_ID_MAX + 1], key[128];

	cr_assert_eq(amq_job_new_id(a), 0);
	cr_assert_eq(amq_job_new_id(b), 0);
	cr_expect_eq(strlen(a), 32);
	cr_expect_neq(strcmp(a, b), 0);
	amq_result_key(key, sizeof(key), a);
	cr_expect_eq(strncmp(key, "amn:result:", 11), 0);
	cr_expect_str_eq(key + 11, a);
}

static void event_round_trip(const struct amq_event *ev, struct amq_event *back)
{
	struct amq_field f[64];
	struct amq_args a;
	char err[256];
	int n;

	amq_args_init(&a);
	amq_event_encode(ev, &a);
	cr_assert_not(a.overflow);
	n = fields_of(&a, 0, f, 64);
	cr_assert_eq(amq_event_decode(back, f, n, err, sizeof(err)), 0, "%s", err);
	cr_expect_eq(back->type, ev->type);
	cr_expect_eq(back->attempt, ev->attempt);
}

Test(queue_event, segment_bit_for_bit)
{
	int32_t tokens[] = { 50364, 400, 370, 452, 7177, 6280, 11, 50914 };
	struct amq_event ev = { .type = AMQ_EVENT_SEGMENT, .attempt = 2, .index = 7, .seek = 2840 };
	struct amq_event back;

	ev.seg.start = 28.4 + 1.0 / 3.0;
	ev.seg.end = 31.000000000000004;
	ev.seg.text = " And so, my fellow Americans \"ask\" — not";
	ev.seg.tokens = tokens;
	ev.seg.n_tokens = 8;
	ev.seg.avg_logprob = -0.123456789f;
	ev.seg.compression_ratio = 1.3333334f;
	ev.seg.no_speech_prob = 1e-7f;
	ev.seg.temperature = 0.2f;
	event_round_trip(&ev, &back);
	cr_expect_eq(back.index, 7);
	cr_expect_eq(back.seek, 2840);
	cr_expect_eq(memcmp(&back.seg.start, &ev.seg.start, sizeof(double)), 0);
	cr_expect_eq(memcmp(&back.seg.end, &ev.seg.end, sizeof(double)), 0);
	cr_expect_str_eq(back.seg.text, ev.seg.text);
	cr_assert_eq(back.seg.n_tokens, 8);
	cr_expect_eq(memcmp(back.seg.tokens, tokens, sizeof(tokens)), 0);
	cr_expect_eq(memcmp(&back.seg.avg_logprob, &ev.seg.avg_logprob, sizeof(float)), 0);
	cr_expect_eq(memcmp(&back.seg.compression_ratio, &ev.seg.compression_ratio, sizeof(float)), 0);
	cr_expect_eq(memcmp(&back.seg.no_speech_prob, &ev.seg.no_speech_prob, sizeof(float)), 0);
	cr_expect_eq(memcmp(&back.seg.temperature, &ev.seg.temperature, sizeof(float)), 0);
	amq_event_clear(&back);

	/* A segment without tokens (not seen in practice, still well formed). */
	ev.seg.n_tokens = 0;
	event_round_trip(&ev, &back);
	cr_expect_eq(back.seg.n_tokens, 0);
	amq_event_clear(&back);
}

Test(queue_event, done_error_retry)
{
	struct amq_event ev = { .type = AMQ_EVENT_DONE, .attempt = 1, .text = " Hello. World.",
				.language_prob = 0.987654321f, .duration_s = 11.000000000000002,
				.n_segments = 2 };
	struct amq_event back;

	snprintf(ev.language, sizeof(ev.language), "en");
	event_round_trip(&ev, &back);
	cr_expect_str_eq(back.text, ev.text);
	cr_expect_str_eq(back.language, "en");
	cr_expect_eq(back.language_prob, ev.language_prob);
	cr_expect_eq(back.duration_s, ev.duration_s);
	cr_expect_eq(back.n_segments, 2);
	amq_event_clear(&back);

	ev = (struct amq_event){ .type = AMQ_EVENT_ERROR, .attempt = 3, .status = 504 };
	snprintf(ev.message, sizeof(ev.message), "the deadline passed");
	event_round_trip(&ev, &back);
	cr_expect_eq(back.status, 504);
	cr_expect_str_eq(back.message, "the deadline passed");
	amq_event_clear(&back);

	ev = (struct amq_event){ .type = AMQ_EVENT_RETRY, .attempt = 1 };
	snprintf(ev.message, sizeof(ev.message), "out of memory");
	event_round_trip(&ev, &back);
	cr_expect_str_eq(back.message, "out of memory");
	amq_event_clear(&back);
}

Test(queue_event, unknown_and_malformed)
{
	struct amq_field f[] = {
		{ "type", 4, "progress", 8 }, { "v", 1, "1", 1 }, { "attempt", 7, "1", 1 },
	};
	struct amq_event ev;
	char err[256];

	cr_expect_eq(amq_event_decode(&ev, f, 3, err, sizeof(err)), -EPROTONOSUPPORT);
	f[0] = (struct amq_field){ "type", 4, "done", 4 };
	f[1] = (struct amq_field){ "v", 1, "2", 1 };
	cr_expect_eq(amq_event_decode(&ev, f, 3, err, sizeof(err)), -EPROTONOSUPPORT);
	f[1] = (struct amq_field){ "v", 1, "1", 1 };
	cr_expect_eq(amq_event_decode(&ev, f, 3, err, sizeof(err)), -EINVAL, "done without its fields");
	cr_expect_neq(strstr(err, "malformed"), NULL, "%s", err);
	f[0] = (struct amq_field){ "type", 4, "segment", 7 };
	cr_expect_eq(amq_event_decode(&ev, f, 3, err, sizeof(err)), -EINVAL);
}

Test(queue_event, joined_text)
{
	struct wsp_segment s[3] = { { .text = " Ask not" }, { .text = NULL }, { .text = " what." } };
	struct wsp_result r = { .segments = s, .n_segments = 3 };
	char *t = amq_joined_text(&r);

	cr_assert_not_null(t);
	cr_expect_str_eq(t, " Ask not what.");
	free(t);
	r.n_segments = 0;
	t = amq_joined_text(&r);
	cr_expect_str_eq(t, "");
	free(t);
}

Test(queue_args, overflow_is_refused_not_truncated)
{
	static struct amq_args a;
	char big[AMQ_ARGS_TEXT + 1];

	amq_args_init(&a);
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	amq_args_printf(&a, "%s", big);
	cr_expect(a.overflow);
	amq_args_init(&a);
	for (int i = 0; i <= AMQ_ARGS_MAX; i++)
		amq_args_add(&a, "x");
	cr_expect(a.overflow);
	cr_expect_eq(a.n, AMQ_ARGS_MAX);
}
