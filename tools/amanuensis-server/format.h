/* SPDX-License-Identifier: MIT */
/*
 * tools/amanuensis-server/format.h - a result as a response body in each
 * response_format (json, text, srt, vtt, verbose_json) and as the
 * server-sent events of a stream. Everything is derived from the library's
 * own writers (whisper/output.h), so a body holds the same text, times and
 * numbers as `amanuensis -f FMT` writes for the same audio.
 */
#ifndef AMN_SRV_FORMAT_H
#define AMN_SRV_FORMAT_H

#include <stddef.h>

#include "tools/amanuensis-server/request.h"
#include "whisper/transcribe.h"

/**
 * srv_format_body - @r as @fmt.
 * @task: "transcribe" or "translate" (verbose_json's task).
 * @seeks: per segment, the 10 ms frame its window started at (verbose_json's
 * seek); NULL: 0.
 * @body, @len: a malloc'd body (NUL-terminated, not counted in @len);
 * @ctype: its static content type.
 * Return: 0, -ENOMEM, -EIO.
 */
int srv_format_body(const struct wsp_result *r, enum srv_format fmt, const char *task,
		    const int *seeks, char **body, size_t *len, const char **ctype);

/**
 * srv_format_text - the whole text as the CLI's json "text" (the segments'
 * texts joined), malloc'd UTF-8. Return: NULL on failure.
 */
char *srv_format_text(const struct wsp_result *r);

/**
 * srv_format_sse_delta - the event of one segment,
 * "data: {"type":"transcript.text.delta","delta":TEXT}\n\n", malloc'd, *@len.
 */
char *srv_format_sse_delta(const struct wsp_segment *seg, size_t *len);

/**
 * srv_format_sse_done - "data: {"type":"transcript.text.done","text":FULL}\n\n",
 * malloc'd, *@len.
 */
char *srv_format_sse_done(const struct wsp_result *r, size_t *len);

/**
 * srv_format_sse_error - an error event in OpenAI's error shape,
 * "data: {"error":{...}}\n\n" (the openai client raises it), malloc'd, *@len.
 */
char *srv_format_sse_error(int status, const char *message, size_t *len);

#endif /* AMN_SRV_FORMAT_H */
