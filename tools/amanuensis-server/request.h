/* SPDX-License-Identifier: MIT */
/*
 * tools/amanuensis-server/request.h - the form fields of a transcription or
 * translation request (everything but the file itself): collected as the
 * multipart body streams in, each bounded, then checked and turned into
 * decoding options, with a 400 naming the field ("param") for a bad one.
 */
#ifndef AMN_SRV_REQUEST_H
#define AMN_SRV_REQUEST_H

#include <stddef.h>
#include <stdint.h>

#include "whisper/transcribe.h"

enum srv_endpoint {
	SRV_EP_TRANSCRIPTIONS = 0,
	SRV_EP_TRANSLATIONS = 1,
};

/** response_format */
enum srv_format {
	SRV_FMT_JSON = 0,
	SRV_FMT_TEXT,
	SRV_FMT_SRT,
	SRV_FMT_VTT,
	SRV_FMT_VERBOSE_JSON,
};

/* Form fields the server reads; others are ignored, as unknown JSON keys would be. */
enum srv_field {
	SRV_F_MODEL = 0,
	SRV_F_LANGUAGE,
	SRV_F_PROMPT,
	SRV_F_FORMAT,
	SRV_F_TEMPERATURE,
	SRV_F_STREAM,
	SRV_F_VAD,                       /* vad_filter (faster-whisper's name) */
	SRV_F_BATCH,
	SRV_F_N,
};

#define SRV_PROMPT_MAX 4096          /* bytes of the prompt field */
#define SRV_FIELD_MAX 256            /* bytes of every other field */
#define SRV_GRAN_MAX 4               /* timestamp_granularities[] values kept */
#define SRV_MAX_TEMPERATURES 16

/** A request's fields as they arrive, then what they mean. */
struct srv_request {
	enum srv_endpoint endpoint;
	/* as received: NUL-terminated, the last value of each field wins */
	char *raw[SRV_F_N];
	size_t raw_len[SRV_F_N];
	unsigned seen;                   /* bit per enum srv_field */
	unsigned too_long;               /* bit per enum srv_field */
	char gran[SRV_GRAN_MAX][24];     /* timestamp_granularities[] values */
	size_t gran_len[SRV_GRAN_MAX];
	int n_gran;                      /* values given (may exceed SRV_GRAN_MAX) */
	int gran_open_empty;             /* the last value piece was an empty start */
	/* meaning, after srv_request_check() */
	enum srv_format format;
	int stream;
	int vad_filter;                  /* vad_filter=true: the speech regions alone */
	int words;                       /* timestamp_granularities[] has word */
	char language[16];               /* "" : detect */
	const char *prompt;              /* NULL or raw[SRV_F_PROMPT] */
	float temperatures[SRV_MAX_TEMPERATURES];
	int n_temperatures;
	int batch;                       /* 1..64 from the batch field; 0: the server's --batch */
};

/** What is wrong with a request: HTTP status, the field, a sentence. */
struct srv_reqerr {
	int status;
	char param[40];                  /* "" : none */
	char message[512];
};

/** srv_request_init - an empty request for @ep. Return: 0 or -ENOMEM. */
int srv_request_init(struct srv_request *r, enum srv_endpoint ep);

/** srv_request_free - release the field buffers; safe twice. */
void srv_request_free(struct srv_request *r);

/**
 * srv_request_field - @size bytes at offset @off of the value of form field
 * @key (@off 0 starts a new value). Unknown keys are ignored; a value
 * longer than its bound is remembered as too long.
 */
void srv_request_field(struct srv_request *r, const char *key, const char *data,
		       uint64_t off, size_t size);

/**
 * srv_request_check - validate the fields and fill the meaning.
 * @ctx: the model's context, for language codes; @multilingual: whether
 * the model is (a translation needs one; English-only models get "en").
 * Return: 0, or -EINVAL with @e filled (status 400).
 */
int srv_request_check(struct srv_request *r, const struct wsp_context *ctx, int multilingual,
		      struct srv_reqerr *e);

/**
 * srv_request_apply - set @t (filled by wsp_transcribe_opts_default(), its
 * batch set to the server's --batch) to what @r asks, with the CLI's
 * defaults for the rest. @t points into @r.
 */
void srv_request_apply(const struct srv_request *r, struct wsp_transcribe_opts *t);

/** srv_format_name - "json", "text", "srt", "vtt" or "verbose_json". */
const char *srv_format_name(enum srv_format f);

/** srv_endpoint_name - "transcriptions" or "translations". */
const char *srv_endpoint_name(enum srv_endpoint ep);

#endif /* AMN_SRV_REQUEST_H */
