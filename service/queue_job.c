// SPDX-License-Identifier: MIT
/*
 * service/queue_job.c - a job entry of the jobs stream, versions 1 and 2
 * (Documentation/scale-out.md, "A job"): struct amq_job as field/value
 * pairs, the same pairs checked and read back, and the decoding options
 * a job carries applied to wsp_transcribe_opts. The front door's check
 * is the worker's decode run on the encoded job, so that the two can
 * never disagree on what is valid.
 */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "service/queue_wire.h"

void amq_job_init(struct amq_job *j)
{
	memset(j, 0, sizeof(*j));
	j->condition_on_previous_text = -1;
}

int amq_job_new_id(char id[AMQ_ID_MAX + 1])
{
	unsigned char raw[16];
	ssize_t got = getrandom(raw, sizeof(raw), 0);

	if (got != (ssize_t)sizeof(raw))
		return got < 0 ? -errno : -EIO;
	for (size_t i = 0; i < sizeof(raw); i++)
		snprintf(id + 2 * i, 3, "%02x", raw[i]);
	return 0;
}

int amq_result_key(char *buf, size_t cap, const char *id)
{
	return snprintf(buf, cap, "%s%s", AMQ_RESULT_PREFIX, id);
}

/* The oldest version that holds everything @j says (queue.h, AMQ_JOB_VERSION_MAX). */
static int job_version(const struct amq_job *j)
{
	return j->batch > 1 || j->vad_filter ? 2 : AMQ_VERSION;
}

void amq_job_encode(const struct amq_job *j, struct amq_args *a)
{
	amq_args_add(a, "v");
	amq_args_printf(a, "%d", job_version(j));
	amq_args_add(a, "id");
	amq_args_add(a, j->id);
	if (j->tenant) {
		amq_args_add(a, "tenant");
		amq_args_add(a, j->tenant);
	}
	if (j->deadline_ms) {
		amq_args_add(a, "deadline_ms");
		amq_args_printf(a, "%" PRId64, j->deadline_ms);
	}
	if (j->enqueued_ms) {
		amq_args_add(a, "enqueued_ms");
		amq_args_printf(a, "%" PRId64, j->enqueued_ms);
	}
	if (j->ttl_s) {
		amq_args_add(a, "ttl_s");
		amq_args_printf(a, "%d", j->ttl_s);
	}
	if (j->filename) {
		amq_args_add(a, "filename");
		amq_args_add(a, j->filename);
	}
	if (j->language[0]) {
		amq_args_add(a, "language");
		amq_args_add(a, j->language);
	}
	if (j->task == WSP_TASK_TRANSLATE) {
		amq_args_add(a, "task");
		amq_args_add(a, "translate");
	}
	if (j->prompt) {
		amq_args_add(a, "prompt");
		amq_args_add(a, j->prompt);
	}
	if (j->n_temperatures > 0) {
		char list[AMQ_MAX_TEMPERATURES * 18] = "";
		size_t used = 0;

		for (int i = 0; i < j->n_temperatures && i < AMQ_MAX_TEMPERATURES; i++)
			used += (size_t)snprintf(list + used, sizeof(list) - used, "%s%.9g",
						 i ? "," : "", (double)j->temperatures[i]);
		amq_args_add(a, "temperatures");
		amq_args_printf(a, "%s", list);
	}
	if (j->beam_size) {
		amq_args_add(a, "beam_size");
		amq_args_printf(a, "%d", j->beam_size);
	}
	if (j->best_of) {
		amq_args_add(a, "best_of");
		amq_args_printf(a, "%d", j->best_of);
	}
	if (j->without_timestamps) {
		amq_args_add(a, "without_timestamps");
		amq_args_printf(a, "%d", j->without_timestamps);
	}
	if (j->condition_on_previous_text >= 0) {
		amq_args_add(a, "condition_on_previous_text");
		amq_args_printf(a, "%d", j->condition_on_previous_text);
	}
	if (j->batch > 1) {
		amq_args_add(a, "batch");
		amq_args_printf(a, "%d", j->batch);
	}
	if (j->vad_filter) {
		amq_args_add(a, "vad_filter");
		amq_args_printf(a, "%d", j->vad_filter);
	}
	amq_args_add(a, "audio");
	amq_args_bytes(a, j->audio, j->audio_len);
}

/* The fields of versions 1 and 2 (F_BATCH and F_VAD: 2 only), and what each holds. */
enum field_kind { F_V, F_ID, F_AUDIO, F_TENANT, F_DEADLINE, F_ENQUEUED, F_TTL, F_FILENAME,
		  F_LANGUAGE, F_TASK, F_PROMPT, F_TEMPERATURES, F_BEAM, F_BEST_OF,
		  F_NO_TIMESTAMPS, F_CONDITION, F_BATCH, F_VAD, F_COUNT };

static const char *const field_names[F_COUNT] = {
	"v", "id", "audio", "tenant", "deadline_ms", "enqueued_ms", "ttl_s", "filename",
	"language", "task", "prompt", "temperatures", "beam_size", "best_of",
	"without_timestamps", "condition_on_previous_text", "batch", "vad_filter",
};

static int field_kind(const struct amq_field *f)
{
	for (int k = 0; k < F_COUNT; k++)
		if (f->name_len == strlen(field_names[k]) && !memcmp(f->name, field_names[k], f->name_len))
			return k;
	return -1;
}

/* Copy a short value into @buf as a C string. Return: 0, or -EINVAL if it does not fit. */
static int value_text(const struct amq_field *f, char *buf, size_t cap)
{
	if (f->value_len >= cap || memchr(f->value, '\0', f->value_len))
		return -EINVAL;
	memcpy(buf, f->value, f->value_len);
	buf[f->value_len] = '\0';
	return 0;
}

static int value_int(const struct amq_field *f, int64_t lo, int64_t hi, int64_t *out)
{
	char buf[24], *end;
	long long v;

	if (value_text(f, buf, sizeof(buf)) || !buf[0] || (buf[0] != '-' && (buf[0] < '0' || buf[0] > '9')))
		return -EINVAL;
	errno = 0;
	v = strtoll(buf, &end, 10);
	if (errno || *end || v < lo || v > hi)
		return -EINVAL;
	*out = v;
	return 0;
}

static int is_id_char(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '_' || c == '.' || c == ':' || c == '-';
}

/* No NUL and no control characters but tab (names and prompts go into logs and models). */
static int is_plain_text(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)s[i] < 0x20 && s[i] != '\t' && s[i] != '\n')
			return 0;
	return 1;
}

static int parse_temperatures(const struct amq_field *f, struct amq_job *j)
{
	char buf[AMQ_MAX_TEMPERATURES * 24], *p, *end;

	if (value_text(f, buf, sizeof(buf)) || !buf[0])
		return -EINVAL;
	j->n_temperatures = 0;
	for (p = buf; ; p = end + 1) {
		double t;

		if (j->n_temperatures == AMQ_MAX_TEMPERATURES)
			return -EINVAL;
		errno = 0;
		t = strtod(p, &end);
		if (errno || end == p || !isfinite(t) || t < 0 || t > 1)
			return -EINVAL;
		j->temperatures[j->n_temperatures++] = (float)t;
		if (*end == '\0')
			return 0;
		if (*end != ',')
			return -EINVAL;
	}
}

static int set_bad(char *err, size_t len, const char *field, const char *want)
{
	snprintf(err, len, "field '%s' %s", field, want);
	return -EINVAL;
}

/* Read field @f of kind @k into @j. */
static int read_field(struct amq_job *j, int k, const struct amq_field *f, size_t max_audio,
		      char *err, size_t errlen)
{
	const char *name = field_names[k];
	int64_t v;

	switch (k) {
	case F_ID:
		if (!f->value_len || f->value_len > AMQ_ID_MAX)
			return set_bad(err, errlen, name, "is not 1 to 64 bytes long");
		for (size_t i = 0; i < f->value_len; i++)
			if (!is_id_char((unsigned char)f->value[i]))
				return set_bad(err, errlen, name, "has a character outside [A-Za-z0-9_.:-]");
		memcpy(j->id, f->value, f->value_len);
		j->id[f->value_len] = '\0';
		return 0;
	case F_AUDIO:
		if (!f->value_len)
			return set_bad(err, errlen, name, "is empty");
		if (f->value_len > max_audio) {
			snprintf(err, errlen, "field 'audio' is %zu bytes, more than the limit of %zu",
				 f->value_len, max_audio);
			return -EMSGSIZE;
		}
		j->audio = f->value;
		j->audio_len = f->value_len;
		return 0;
	case F_TENANT:
		if (!f->value_len || f->value_len > AMQ_TENANT_MAX)
			return set_bad(err, errlen, name, "is not 1 to 64 bytes long");
		for (size_t i = 0; i < f->value_len; i++)
			if (f->value[i] < 0x21 || f->value[i] > 0x7e)
				return set_bad(err, errlen, name, "is not printable ASCII without spaces");
		j->tenant = f->value;
		return 0;
	case F_DEADLINE:
	case F_ENQUEUED:
		if (value_int(f, 0, INT64_MAX / 2, &v))
			return set_bad(err, errlen, name, "is not a non-negative number of milliseconds");
		*(k == F_DEADLINE ? &j->deadline_ms : &j->enqueued_ms) = v;
		return 0;
	case F_TTL:
		if (value_int(f, 1, AMQ_MAX_TTL_S, &v))
			return set_bad(err, errlen, name, "is not a number of seconds in [1, 604800]");
		j->ttl_s = (int)v;
		return 0;
	case F_FILENAME:
		if (f->value_len > AMQ_FILENAME_MAX || !is_plain_text(f->value, f->value_len) ||
		    memchr(f->value, '\n', f->value_len))
			return set_bad(err, errlen, name, "is longer than 255 bytes or has control characters");
		j->filename = f->value;
		return 0;
	case F_LANGUAGE:
		if (f->value_len > AMQ_LANGUAGE_MAX)
			return set_bad(err, errlen, name, "is longer than 15 bytes");
		for (size_t i = 0; i < f->value_len; i++)
			if (f->value[i] < 'a' || f->value[i] > 'z')
				return set_bad(err, errlen, name, "is not a lowercase language code");
		memcpy(j->language, f->value, f->value_len);
		j->language[f->value_len] = '\0';
		if (!strcmp(j->language, "auto"))
			j->language[0] = '\0';
		return 0;
	case F_TASK:
		if (f->value_len == 10 && !memcmp(f->value, "transcribe", 10))
			j->task = WSP_TASK_TRANSCRIBE;
		else if (f->value_len == 9 && !memcmp(f->value, "translate", 9))
			j->task = WSP_TASK_TRANSLATE;
		else
			return set_bad(err, errlen, name, "is not transcribe or translate");
		return 0;
	case F_PROMPT:
		if (f->value_len > AMQ_PROMPT_MAX || !is_plain_text(f->value, f->value_len))
			return set_bad(err, errlen, name, "is longer than 4096 bytes or has control characters");
		j->prompt = f->value;
		return 0;
	case F_TEMPERATURES:
		if (parse_temperatures(f, j))
			return set_bad(err, errlen, name, "is not 1 to 16 numbers in [0, 1] separated by commas");
		return 0;
	case F_BEAM:
	case F_BEST_OF:
		if (value_int(f, 1, 64, &v))
			return set_bad(err, errlen, name, "is not a number in [1, 64]");
		*(k == F_BEAM ? &j->beam_size : &j->best_of) = (int)v;
		return 0;
	case F_NO_TIMESTAMPS:
	case F_CONDITION:
	case F_VAD:
		if (value_int(f, 0, 1, &v))
			return set_bad(err, errlen, name, "is not 0 or 1");
		*(k == F_NO_TIMESTAMPS ? &j->without_timestamps :
		  k == F_CONDITION ? &j->condition_on_previous_text : &j->vad_filter) = (int)v;
		return 0;
	case F_BATCH:
		if (value_int(f, 1, 64, &v))
			return set_bad(err, errlen, name, "is not a number in [1, 64]");
		j->batch = (int)v;
		return 0;
	default:  /* F_V: checked first */
		return 0;
	}
}

/* The version field, before anything else: a newer job is refused as such. */
static int check_version(const struct amq_field *f, int n, int *version, char *err,
			 size_t errlen)
{
	char buf[16];

	for (int i = 0; i < n; i++) {
		if (field_kind(&f[i]) != F_V)
			continue;
		/* one digit from AMQ_VERSION to AMQ_JOB_VERSION_MAX, nothing else ("01" is not 1) */
		if (value_text(&f[i], buf, sizeof(buf)) || buf[0] < '0' + AMQ_VERSION ||
		    buf[0] > '0' + AMQ_JOB_VERSION_MAX || buf[1]) {
			snprintf(err, errlen, "version '%.*s' is not supported (this worker reads "
				 "versions %d to %d)", (int)(f[i].value_len < 16 ? f[i].value_len : 16),
				 f[i].value, AMQ_VERSION, AMQ_JOB_VERSION_MAX);
			return -EPROTONOSUPPORT;
		}
		*version = buf[0] - '0';
		return 0;
	}
	snprintf(err, errlen, "no version field 'v'");
	return -EINVAL;
}

int amq_job_decode(struct amq_job *j, const struct amq_field *f, int n, size_t max_audio,
		   char *err, size_t errlen)
{
	unsigned seen = 0;
	int rc, version = AMQ_VERSION;

	amq_job_init(j);
	if (!max_audio)
		max_audio = AMQ_DEFAULT_MAX_AUDIO;
	/* The id first, so that a refusal can still answer the job. */
	for (int i = 0; i < n && i < AMQ_MAX_FIELDS; i++)
		if (field_kind(&f[i]) == F_ID && read_field(j, F_ID, &f[i], max_audio, err, errlen))
			j->id[0] = '\0';
	if (n > AMQ_MAX_FIELDS) {
		snprintf(err, errlen, "%d fields, more than %d", n, AMQ_MAX_FIELDS);
		return -EINVAL;
	}
	rc = check_version(f, n, &version, err, errlen);
	if (rc)
		return rc;
	for (int i = 0; i < n; i++) {
		int k = field_kind(&f[i]);

		if (k < 0 || (version < 2 && (k == F_BATCH || k == F_VAD))) {
			snprintf(err, errlen, "unknown field '%.*s'",
				 (int)(f[i].name_len < 64 ? f[i].name_len : 64), f[i].name);
			return -EINVAL;
		}
		if (seen & (1u << k)) {
			snprintf(err, errlen, "field '%s' given twice", field_names[k]);
			return -EINVAL;
		}
		seen |= 1u << k;
		rc = read_field(j, k, &f[i], max_audio, err, errlen);
		if (rc)
			return rc;
	}
	for (int k = F_ID; k <= F_AUDIO; k++) {
		if (!(seen & (1u << k))) {
			snprintf(err, errlen, "no field '%s'", field_names[k]);
			return -EINVAL;
		}
	}
	return 0;
}

int amq_job_check(const struct amq_job *j, size_t max_audio, char *err, size_t errlen)
{
	struct amq_field f[AMQ_MAX_FIELDS];
	struct amq_args a;
	struct amq_job back;
	int n;

	amq_args_init(&a);
	amq_job_encode(j, &a);
	if (a.overflow || a.n % 2 || a.n / 2 > AMQ_MAX_FIELDS) {
		snprintf(err, errlen, "the job does not fit a version %d entry", job_version(j));
		return -EINVAL;
	}
	n = a.n / 2;
	for (int i = 0; i < n; i++) {
		f[i].name = a.v[2 * i];
		f[i].name_len = a.len[2 * i];
		f[i].value = a.v[2 * i + 1];
		f[i].value_len = a.len[2 * i + 1];
	}
	if (!j->audio && j->audio_len) {
		snprintf(err, errlen, "field 'audio' has a length but no bytes");
		return -EINVAL;
	}
	return amq_job_decode(&back, f, n, max_audio, err, errlen);
}

void amq_job_apply(const struct amq_job *j, struct wsp_transcribe_opts *t)
{
	t->language = j->language[0] ? j->language : NULL;
	t->task = j->task;
	if (j->prompt)
		t->initial_prompt = j->prompt;
	if (j->n_temperatures > 0) {
		t->temperatures = j->temperatures;
		t->n_temperatures = j->n_temperatures;
	}
	if (j->beam_size)
		t->beam_size = j->beam_size;
	if (j->best_of)
		t->best_of = j->best_of;
	t->without_timestamps = j->without_timestamps;
	if (j->condition_on_previous_text >= 0)
		t->condition_on_previous_text = j->condition_on_previous_text;
	if (j->batch > 1)
		t->batch = j->batch;
}
