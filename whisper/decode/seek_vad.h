/* SPDX-License-Identifier: MIT */
/*
 * whisper/decode/seek_vad.h - sequential transcription of the speech alone
 * (internal): faster-whisper's transcribe(vad_filter=True). See seek_vad.c.
 */
#ifndef AMN_WSP_SEEK_VAD_H
#define AMN_WSP_SEEK_VAD_H

#include <stddef.h>

#include "whisper/decode/seek.h"

/**
 * wsp_seek_vad_run - score all of @src with @o->vad (read once, one
 * probability per 512 samples kept), find its speech regions under
 * @o->vad_opts, rewind @src and transcribe only those regions, joined, with
 * wsp_seek_run(); every segment's and word's times are mapped back to the
 * recording's time before @o->on_segment sees them. @res->duration_s is
 * the whole recording's. Memory stays bounded by one window of audio plus
 * the probabilities (4 bytes per 32 ms).
 * Return: 0, or -errno with @err set (@res is then released).
 */
int wsp_seek_vad_run(const struct wsp_context *c, struct wsp_source *src,
		     const struct wsp_transcribe_opts *o, struct wsp_result *res,
		     char *err, size_t errlen);

#endif
