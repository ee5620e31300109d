/* SPDX-License-Identifier: MIT */
/*
 * amanuensis.h - the whole public API of libamanuensis in one include.
 *
 * A program that transcribes needs whisper/runtime.h (open model, engine and
 * context in one call), whisper/transcribe.h (audio in, segments out) and
 * whisper/output.h (txt, srt, vtt, json). Programs that drive the engine
 * directly use sched/npu.h (engine, tenants, matmuls), sched/graph.h (job
 * graphs) and tiler/tile.h (packed weights, direct matmuls); monitors read
 * other processes' counters with sched/npu_stats.h.
 *
 * Installed by `make install` under <prefix>/include/amanuensis/; compile
 * with `pkg-config --cflags --libs amanuensis`. Nothing else is installed,
 * and libamanuensis.so exports only what these headers declare.
 */
#ifndef AMANUENSIS_H
#define AMANUENSIS_H

#include "sched/graph.h"
#include "sched/npu.h"
#include "sched/npu_stats.h"
#include "tiler/tile.h"
#include "whisper/model.h"
#include "whisper/output.h"
#include "whisper/runtime.h"
#include "whisper/transcribe.h"
#include "whisper/vad.h"

#endif
