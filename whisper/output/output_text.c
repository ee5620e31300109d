/* SPDX-License-Identifier: MIT */
/*
 * whisper/output/output_text.c - the line-oriented writers: timestamps, txt, srt,
 * vtt and the console's verbose lines, laid out as openai-whisper's
 * whisper/utils.py writes them.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "whisper/output.h"
#include "whisper/output/output_internal.h"

int wsp_format_timestamp(char *dst, size_t cap, double seconds, int always_hours, char marker)
{
	long long ms, h, m, s;

	if (!(seconds > 0) || !isfinite(seconds))
		seconds = 0;
	/* nearbyint() in the default rounding mode ties to even, as Python's round(). */
	ms = (long long)nearbyint(seconds * 1000.0);
	h = ms / 3600000;
	ms -= h * 3600000;
	m = ms / 60000;
	ms -= m * 60000;
	s = ms / 1000;
	ms -= s * 1000;
	if (always_hours || h > 0)
		return snprintf(dst, cap, "%02lld:%02lld:%02lld%c%03lld", h, m, s, marker, ms);
	return snprintf(dst, cap, "%02lld:%02lld%c%03lld", m, s, marker, ms);
}

static int is_space(unsigned char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

/* The segment text without the white space around it, as Python's str.strip(). */
static const char *stripped(const char *s, size_t *len)
{
	size_t n;

	if (!s)
		s = "";
	while (is_space((unsigned char)*s))
		s++;
	n = strlen(s);
	while (n && is_space((unsigned char)s[n - 1]))
		n--;
	*len = n;
	return s;
}

/* Subtitle text: stripped, with "-->" (the cue arrow) written as "->". */
static void put_cue_text(FILE *f, const char *text)
{
	size_t n, i;
	const char *s = stripped(text, &n);

	for (i = 0; i < n; i++) {
		if (i + 2 < n && s[i] == '-' && s[i + 1] == '-' && s[i + 2] == '>') {
			fputs("->", f);
			i += 2;
			continue;
		}
		fputc(s[i], f);
	}
	fputc('\n', f);
}

static int stream_status(FILE *f)
{
	return ferror(f) ? -EIO : 0;
}

int wsp_write_txt(FILE *f, const struct wsp_result *r)
{
	int i;

	for (i = 0; i < r->n_segments; i++) {
		size_t n;
		const char *s = stripped(r->segments[i].text, &n);

		fwrite(s, 1, n, f);
		fputc('\n', f);
	}
	return stream_status(f);
}

static void put_cue_times(FILE *f, const struct wsp_segment *seg, int always_hours, char marker)
{
	char a[32], b[32];

	wsp_format_timestamp(a, sizeof(a), seg->start, always_hours, marker);
	wsp_format_timestamp(b, sizeof(b), seg->end, always_hours, marker);
	fprintf(f, "%s --> %s\n", a, b);
}

int wsp_write_srt_opts(FILE *f, const struct wsp_result *r, const struct wsp_subtitle_opts *o)
{
	int i;

	if (r->word_timestamps)
		return wsp_write_word_cues(f, r, o, 1, ',', 1);
	for (i = 0; i < r->n_segments; i++) {
		fprintf(f, "%d\n", i + 1);
		put_cue_times(f, &r->segments[i], 1, ',');
		put_cue_text(f, r->segments[i].text);
		fputc('\n', f);
	}
	return stream_status(f);
}

int wsp_write_srt(FILE *f, const struct wsp_result *r)
{
	return wsp_write_srt_opts(f, r, NULL);
}

int wsp_write_vtt_opts(FILE *f, const struct wsp_result *r, const struct wsp_subtitle_opts *o)
{
	int i;

	fputs("WEBVTT\n\n", f);
	if (r->word_timestamps)
		return wsp_write_word_cues(f, r, o, 0, '.', 0);
	for (i = 0; i < r->n_segments; i++) {
		put_cue_times(f, &r->segments[i], 0, '.');
		put_cue_text(f, r->segments[i].text);
		fputc('\n', f);
	}
	return stream_status(f);
}

int wsp_write_vtt(FILE *f, const struct wsp_result *r)
{
	return wsp_write_vtt_opts(f, r, NULL);
}

int wsp_write_console(FILE *f, const struct wsp_result *r)
{
	char a[32], b[32];
	int i;

	for (i = 0; i < r->n_segments; i++) {
		const struct wsp_segment *seg = &r->segments[i];

		wsp_format_timestamp(a, sizeof(a), seg->start, 0, '.');
		wsp_format_timestamp(b, sizeof(b), seg->end, 0, '.');
		fprintf(f, "[%s --> %s] %s\n", a, b, seg->text ? seg->text : "");
	}
	return stream_status(f);
}
