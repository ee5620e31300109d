/* SPDX-License-Identifier: MIT */
/*
 * whisper/output.h - write a wsp_result as plain text, SubRip (srt), WebVTT
 * (vtt) or JSON, in the layouts openai-whisper's writers produce, plus the
 * one-line-per-segment console form of its verbose mode.
 *
 * The writers take a stdio stream and never close it. They are pure
 * formatting: nothing here touches the model or the engine. Numbers are
 * printed with the C locale's decimal point, which is what a program that
 * never calls setlocale() has.
 */
#ifndef AMN_WSP_OUTPUT_H
#define AMN_WSP_OUTPUT_H

#include <stddef.h>
#include <stdio.h>
#include "whisper/transcribe.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Everything declared here is the library's API: exported from libamanuensis.so. */
#pragma GCC visibility push(default)

/** Output formats, as bits so that a set of them fits one unsigned. */
enum wsp_output_format {
	WSP_OUT_TXT  = 1u << 0,
	WSP_OUT_SRT  = 1u << 1,
	WSP_OUT_VTT  = 1u << 2,
	WSP_OUT_JSON = 1u << 3,
	WSP_OUT_ALL  = (1u << 4) - 1,
};

/**
 * struct wsp_subtitle_opts - srt and vtt cue layout with word timestamps, as
 * openai-whisper's SubtitlesWriter: zeroed, one cue per segment.
 * @highlight_words: one cue per word, the cue's line with that word
 *   underlined (<u>...</u>), gaps between words as their own cues.
 * @max_line_width: break lines before this many characters (0: no breaks;
 *   cues then follow the words across segments).
 * @max_line_count: lines per cue before a new cue starts (0: no limit;
 *   needs @max_line_width).
 * Results without words (word_timestamps off) ignore these.
 */
struct wsp_subtitle_opts {
	int highlight_words;
	int max_line_width;
	int max_line_count;
};

/**
 * struct wsp_run_info - how a result was made, for the JSON "run" object,
 * and how its subtitles are laid out.
 * Every field may be zero or NULL; missing strings are written as null.
 */
struct wsp_run_info {
	const char *file;       /* the audio file */
	const char *model;      /* model path */
	const char *backend;    /* npu_engine_backend_name(), e.g. "cpu avx2" */
	const char *precision;  /* "int8" or "fp32" */
	int threads;            /* CPU threads, 0 if default */
	int beam_size;
	const char *task;       /* "transcribe" or "translate" */
	double wall_ms;         /* wall time of the whole transcription */
	const struct wsp_subtitle_opts *subtitles;   /* srt/vtt layout; NULL: a cue per segment */
};

/**
 * wsp_output_format_parse - turn a format name into a set of formats.
 * @name: "txt", "srt", "vtt", "json" or "all".
 * @mask: receives the WSP_OUT_* bits.
 * Return: 0, or -EINVAL for an unknown name.
 */
int wsp_output_format_parse(const char *name, unsigned *mask);

/**
 * wsp_output_format_ext - the file extension of a single format, without the
 * dot ("txt", ...). Return: NULL for anything but one WSP_OUT_* bit.
 */
const char *wsp_output_format_ext(unsigned format);

/**
 * wsp_format_timestamp - openai-whisper's format_timestamp(): @seconds
 * rounded to whole milliseconds (ties to even, as Python's round()),
 * written as [HH:]MM:SS<marker>mmm.
 * @always_hours: write the hours even when zero (srt); otherwise only when
 * the time reaches one hour (vtt, console).
 * @marker: ',' for srt, '.' otherwise.
 * Negative and non-finite times are written as zero.
 * Return: the length written (excluding the NUL), as snprintf.
 */
int wsp_format_timestamp(char *dst, size_t cap, double seconds, int always_hours, char marker);

/**
 * wsp_write_txt - one line per segment, the segment's text with leading and
 * trailing white space removed. Return: 0, or -EIO if the stream failed.
 */
int wsp_write_txt(FILE *f, const struct wsp_result *r);

/**
 * wsp_write_srt - SubRip: for each segment its number (from 1), a line
 * "HH:MM:SS,mmm --> HH:MM:SS,mmm", the stripped text with "-->" written as
 * "->", and a blank line. Return: 0 or -EIO.
 */
int wsp_write_srt(FILE *f, const struct wsp_result *r);

/**
 * wsp_write_srt_opts - wsp_write_srt() with the cue layout @o (NULL: the
 * defaults). A result with word timestamps (@r->word_timestamps) is
 * written from its words, as openai-whisper's SubtitlesWriter: a cue per
 * segment from its first word's start to its last word's end, or lines of
 * at most @o->max_line_width characters gathered into cues of at most
 * @o->max_line_count lines (a pause over 3 s starts a new cue), and with
 * @o->highlight_words a cue per word, that word underlined (<u>word</u>).
 * Return: 0, -ENOMEM or -EIO.
 */
int wsp_write_srt_opts(FILE *f, const struct wsp_result *r, const struct wsp_subtitle_opts *o);

/**
 * wsp_write_vtt - WebVTT: "WEBVTT" and a blank line, then for each segment
 * "[HH:]MM:SS.mmm --> [HH:]MM:SS.mmm", the text as in srt, and a blank line.
 * Return: 0 or -EIO.
 */
int wsp_write_vtt(FILE *f, const struct wsp_result *r);

/** wsp_write_vtt_opts - wsp_write_vtt() with the cue layout @o, as wsp_write_srt_opts(). */
int wsp_write_vtt_opts(FILE *f, const struct wsp_result *r, const struct wsp_subtitle_opts *o);

/**
 * wsp_write_console - openai-whisper's verbose lines,
 * "[MM:SS.mmm --> MM:SS.mmm] text", the text unstripped (it usually starts
 * with a space). Return: 0 or -EIO.
 */
int wsp_write_console(FILE *f, const struct wsp_result *r);

/**
 * wsp_write_json - one JSON object: "text" (all segments joined), "language",
 * "segments" (id, start, end, text, tokens, avg_logprob, no_speech_prob,
 * compression_ratio, temperature) and, when @info is not NULL, "run" (file,
 * model, backend, precision, threads, task, beam_size, language,
 * language_prob, duration, timings in ms per stage, wall_ms and
 * realtime_factor = wall time / audio duration).
 * Strings are escaped so that the output is ASCII: quotes, backslashes and
 * control characters as JSON escapes, other non-ASCII characters as \uXXXX
 * (surrogate pairs above U+FFFF), bytes that are not UTF-8 as U+FFFD.
 * Non-finite numbers are written as null. Return: 0 or -EIO.
 */
int wsp_write_json(FILE *f, const struct wsp_result *r, const struct wsp_run_info *info);

/**
 * wsp_json_write_string - write @s (UTF-8, @len bytes) as a quoted JSON
 * string with the escaping described at wsp_write_json(). Return: 0 or -EIO.
 */
int wsp_json_write_string(FILE *f, const char *s, size_t len);

/**
 * wsp_write_format - write @r in one @format (a single WSP_OUT_* bit) to @f;
 * srt and vtt with the layout @info->subtitles (@info may be NULL).
 * Return: 0, -EINVAL for a bad format, -EIO.
 */
int wsp_write_format(FILE *f, unsigned format, const struct wsp_result *r,
		     const struct wsp_run_info *info);

/**
 * wsp_write_files - write @r in every format of @formats to
 * @dir/@base.<ext>. Each file is written to a temporary name in @dir and
 * renamed, so a reader never sees half a file and a failure leaves none.
 * @err, @errlen: on failure, a message naming the file.
 * Return: 0, -EINVAL (no formats), or the -errno of the failing call.
 */
int wsp_write_files(const char *dir, const char *base, unsigned formats,
		    const struct wsp_result *r, const struct wsp_run_info *info,
		    char *err, size_t errlen);

/**
 * wsp_output_basename - openai-whisper's output name of @path: the last
 * path component without its final extension ("a/b/jfk.wav" -> "jfk",
 * ".hidden" stays ".hidden"). Return: the length, as snprintf.
 */
int wsp_output_basename(char *dst, size_t cap, const char *path);

#pragma GCC visibility pop

#ifdef __cplusplus
}
#endif
#endif
