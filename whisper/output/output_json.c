/* SPDX-License-Identifier: MIT */
/*
 * whisper/output/output_json.c - the JSON writer: segments with their tokens,
 * decoding statistics and (word timestamps on) their words, and the run's settings and timings. Output is ASCII
 * whatever the text holds (see wsp_json_write_string()).
 */
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "whisper/output.h"

/*
 * utf8_next - decode one code point from @s (@n bytes left).
 * Return: the code point and its length in *@len, or U+FFFD with *@len = 1
 * for a byte that does not start a valid, shortest-form sequence (overlong
 * forms, surrogates and values above U+10FFFF are invalid too).
 */
static uint32_t utf8_next(const unsigned char *s, size_t n, size_t *len)
{
	uint32_t cp, min;
	size_t need, i;

	*len = 1;
	if (s[0] < 0x80)
		return s[0];
	if ((s[0] & 0xe0) == 0xc0) {
		need = 2; cp = s[0] & 0x1f; min = 0x80;
	} else if ((s[0] & 0xf0) == 0xe0) {
		need = 3; cp = s[0] & 0x0f; min = 0x800;
	} else if ((s[0] & 0xf8) == 0xf0) {
		need = 4; cp = s[0] & 0x07; min = 0x10000;
	} else {
		return 0xfffd;
	}
	if (n < need)
		return 0xfffd;
	for (i = 1; i < need; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0xfffd;
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0xfffd;
	*len = need;
	return cp;
}

/* escape_body - the escaped characters of a JSON string, without the quotes. */
static void escape_body(FILE *f, const char *str, size_t n)
{
	const unsigned char *s = (const unsigned char *)(str ? str : "");
	size_t i = 0, len;
	uint32_t cp;

	while (i < n) {
		cp = utf8_next(s + i, n - i, &len);
		i += len;
		switch (cp) {
		case '"':  fputs("\\\"", f); continue;
		case '\\': fputs("\\\\", f); continue;
		case '\b': fputs("\\b", f); continue;
		case '\f': fputs("\\f", f); continue;
		case '\n': fputs("\\n", f); continue;
		case '\r': fputs("\\r", f); continue;
		case '\t': fputs("\\t", f); continue;
		}
		if (cp >= 0x20 && cp < 0x7f) {
			fputc((int)cp, f);
		} else if (cp < 0x10000) {
			/* control characters, DEL and the rest of the BMP */
			fprintf(f, "\\u%04x", (unsigned)cp);
		} else {
			cp -= 0x10000;
			fprintf(f, "\\u%04x\\u%04x", 0xd800u + (unsigned)(cp >> 10),
				0xdc00u + (unsigned)(cp & 0x3ff));
		}
	}
}

int wsp_json_write_string(FILE *f, const char *s, size_t n)
{
	fputc('"', f);
	escape_body(f, s, n);
	fputc('"', f);
	return ferror(f) ? -EIO : 0;
}

static void put_str(FILE *f, const char *s)
{
	if (s)
		wsp_json_write_string(f, s, strlen(s));
	else
		fputs("null", f);
}

/* JSON has no NaN or infinity: those are written as null. */
static void put_num(FILE *f, double v, const char *fmt)
{
	if (isfinite(v))
		fprintf(f, fmt, v);
	else
		fputs("null", f);
}

/* num_field, str_field - ,"key":value */
static void num_field(FILE *f, const char *key, double v, const char *fmt)
{
	fprintf(f, ",\"%s\":", key);
	put_num(f, v, fmt);
}

static void str_field(FILE *f, const char *key, const char *s)
{
	fprintf(f, ",\"%s\":", key);
	put_str(f, s);
}

/* ,"words":[{"word":..,"start":..,"end":..,"probability":..},...] */
static void put_words(FILE *f, const struct wsp_segment *seg)
{
	fputs(",\"words\":[", f);
	for (int i = 0; i < seg->n_words; i++) {
		const struct wsp_word *w = &seg->words[i];

		fputs(i ? ",{\"word\":" : "{\"word\":", f);
		put_str(f, w->word ? w->word : "");
		num_field(f, "start", w->start, "%.2f");
		num_field(f, "end", w->end, "%.2f");
		num_field(f, "probability", w->probability, "%.6g");
		fputc('}', f);
	}
	fputc(']', f);
}

static void put_segment(FILE *f, const struct wsp_segment *seg, int id, int words)
{
	int i;

	fprintf(f, "{\"id\":%d", id);
	num_field(f, "start", seg->start, "%.3f");
	num_field(f, "end", seg->end, "%.3f");
	str_field(f, "text", seg->text ? seg->text : "");
	fputs(",\"tokens\":[", f);
	for (i = 0; i < seg->n_tokens; i++)
		fprintf(f, "%s%d", i ? "," : "", (int)seg->tokens[i]);
	fputc(']', f);
	num_field(f, "avg_logprob", seg->avg_logprob, "%.6g");
	num_field(f, "no_speech_prob", seg->no_speech_prob, "%.6g");
	num_field(f, "compression_ratio", seg->compression_ratio, "%.6g");
	num_field(f, "temperature", seg->temperature, "%.6g");
	if (words)
		put_words(f, seg);
	fputc('}', f);
}

/* The whole text: the segments' texts joined, as openai-whisper's result["text"]. */
static void put_full_text(FILE *f, const struct wsp_result *r)
{
	int i;

	fputc('"', f);
	for (i = 0; i < r->n_segments; i++)
		if (r->segments[i].text)
			escape_body(f, r->segments[i].text, strlen(r->segments[i].text));
	fputc('"', f);
}

static void put_run(FILE *f, const struct wsp_result *r, const struct wsp_run_info *ri)
{
	double stages = r->audio_ms + r->mel_ms + r->encode_ms + r->decode_ms;
	double wall = ri->wall_ms > 0 ? ri->wall_ms : stages;

	fputs("{\"file\":", f);
	put_str(f, ri->file);
	str_field(f, "model", ri->model);
	str_field(f, "backend", ri->backend);
	str_field(f, "precision", ri->precision);
	fprintf(f, ",\"threads\":%d", ri->threads);
	str_field(f, "task", ri->task);
	fprintf(f, ",\"beam_size\":%d,\"language\":", ri->beam_size);
	wsp_json_write_string(f, r->language, strnlen(r->language, sizeof(r->language)));
	num_field(f, "language_prob", r->language_prob, "%.6g");
	num_field(f, "duration", r->duration_s, "%.3f");
	fputs(",\"timings\":{\"audio_ms\":", f);
	put_num(f, r->audio_ms, "%.3f");
	num_field(f, "mel_ms", r->mel_ms, "%.3f");
	num_field(f, "encode_ms", r->encode_ms, "%.3f");
	num_field(f, "decode_ms", r->decode_ms, "%.3f");
	fputc('}', f);
	num_field(f, "wall_ms", wall, "%.3f");
	/* wall time per second of audio: below 1 is faster than real time */
	num_field(f, "realtime_factor", r->duration_s > 0 ? wall / 1000.0 / r->duration_s : NAN,
		  "%.6g");
	fputc('}', f);
}

int wsp_write_json(FILE *f, const struct wsp_result *r, const struct wsp_run_info *info)
{
	int i;

	fputs("{\"text\":", f);
	put_full_text(f, r);
	fputs(",\"language\":", f);
	wsp_json_write_string(f, r->language, strnlen(r->language, sizeof(r->language)));
	fputs(",\"segments\":[", f);
	for (i = 0; i < r->n_segments; i++) {
		fputs(i ? ",\n" : "\n", f);
		put_segment(f, &r->segments[i], i, r->word_timestamps);
	}
	fputs("\n]", f);
	if (info) {
		fputs(",\"run\":", f);
		put_run(f, r, info);
	}
	fputs("}\n", f);
	return ferror(f) ? -EIO : 0;
}
