/* SPDX-License-Identifier: MIT */
/*
 * whisper/output/output_internal.h - what the writers share inside
 * whisper/output/ (internal).
 */
#ifndef AMN_WSP_OUTPUT_INTERNAL_H
#define AMN_WSP_OUTPUT_INTERNAL_H

#include <stdio.h>

#include "whisper/output.h"

/**
 * wsp_write_word_cues - srt (@numbered, @always_hours, ',') or vtt cues of a
 * result with word timestamps, laid out as @o says (NULL: one cue per
 * segment, built from its words), as openai-whisper's SubtitlesWriter.
 * Return: 0, -ENOMEM or -EIO.
 */
int wsp_write_word_cues(FILE *f, const struct wsp_result *r, const struct wsp_subtitle_opts *o,
			int always_hours, char marker, int numbered);

#endif
