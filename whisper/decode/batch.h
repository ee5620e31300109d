/* SPDX-License-Identifier: MIT */
/*
 * whisper/decode/batch.h - the batched long-form mode (internal): speech
 * regions merged into windows of at most 30 s (faster-whisper's
 * collect_chunks), each window decoded on its own (no previous text in its
 * prompt), up to N of them in flight at once, their decoder steps stacked
 * by the context's decoder gang; times mapped back from a window's
 * concatenated audio to the file.
 */
#ifndef AMN_WSP_BATCH_H
#define AMN_WSP_BATCH_H

#include <stddef.h>

#include "whisper/decode/seek.h"
#include "whisper/vad.h"

/* The most samples one window holds: 30 s at 16 kHz. */
#define WSP_BATCH_WINDOW_SAMPLES 480000

/* The most windows in flight (struct wsp_transcribe_opts.batch is clamped to it). */
#define WSP_BATCH_MAX 64

/* One stretch of the file inside a window: file samples [start, start + len),
 * at sample @at of the window's concatenated audio. */
struct wsp_batch_piece {
	size_t start, len, at;
};

/* One window: pieces [first, first + n) of its plan, @len samples in all. */
struct wsp_batch_window {
	int first, n;
	size_t len;
};

/* The windows of one recording, in file order. */
struct wsp_batch_plan {
	struct wsp_batch_piece *pieces;
	int n_pieces;
	struct wsp_batch_window *win;
	int n_win;
};

/**
 * wsp_batch_plan_make - merge @n speech regions @r (in order, not
 * overlapping) into windows of at most @max_len samples, as faster-whisper's
 * collect_chunks: a region joins the current window while the window's
 * length stays within @max_len, else it opens the next one. A region longer
 * than @max_len is cut into pieces of @max_len first. Empty regions are
 * dropped. @p is zeroed first; on success free it with wsp_batch_plan_free().
 * Return: 0, -EINVAL (regions out of order, overlapping, or @max_len 0) or
 * -ENOMEM.
 */
int wsp_batch_plan_make(const struct wsp_vad_region *r, int n, size_t max_len,
			struct wsp_batch_plan *p);

/** wsp_batch_plan_free - release the plan's arrays; safe on a zeroed plan. */
void wsp_batch_plan_free(struct wsp_batch_plan *p);

/**
 * wsp_batch_piece_at - which of a window's @n pieces @pc holds time @t
 * (seconds into the window's concatenated audio), as faster-whisper's
 * SpeechTimestampsMap.get_chunk_index: the first piece ending after @t;
 * with @is_end, a time exactly at a piece's end stays in that piece. Times
 * past the window give its last piece.
 * Return: an index into @pc (0 when @n is 0).
 */
int wsp_batch_piece_at(const struct wsp_batch_piece *pc, int n, double t, int is_end);

/**
 * wsp_batch_file_time - time @t (seconds into the window's audio) in the
 * file, through piece @i of the window's @n pieces @pc, clamped to the
 * stretch of the file the window covers (first piece's start to last
 * piece's end).
 * Return: seconds from the file's start.
 */
double wsp_batch_file_time(const struct wsp_batch_piece *pc, int n, int i, double t);

/**
 * wsp_batch_run - transcribe @src in the batched mode with up to @o->batch
 * windows in flight (see struct wsp_transcribe_opts.batch): fixed windows
 * of at most 30 s over the whole stream, each ending at the quietest moment
 * of its last 10 s (batch.c), or the windows of @regions (@n_regions
 * speech regions, in samples; NULL: the whole stream) when a voice activity
 * detector found them. Only the audio of the windows in flight is held.
 * The hooks of @o are called from the worker threads: window_begin and
 * window_end of different windows may run at the same time (each window
 * pairs its own), on_segment and progress one at a time, in file order.
 * Return: 0, or -errno with @err set (@res is then released).
 */
int wsp_batch_run(const struct wsp_context *c, struct wsp_source *src,
		  const struct wsp_transcribe_opts *o, const struct wsp_vad_region *regions,
		  int n_regions, struct wsp_result *res, char *err, size_t errlen);

#endif
