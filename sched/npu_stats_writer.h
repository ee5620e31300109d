/* SPDX-License-Identifier: MIT */
/*
 * sched/npu_stats_writer.h - the writer side of the stats page (internal).
 *
 * The engine keeps a private copy of the counters, updates it under its own
 * lock, and publishes the whole copy into the shared page with
 * npu_stats_writer_publish() (seqlock write). Readers use npu_stats.h.
 */
#ifndef AMN_NPU_STATS_WRITER_H
#define AMN_NPU_STATS_WRITER_H

#include "sched/npu_stats.h"

struct npu_stats_writer {
	struct npu_stats_page *shm;  /* the shared page, or NULL when not published */
	uint64_t start_ns;           /* CLOCK_REALTIME at open */
	char path[64];
};

/**
 * npu_stats_writer_open - create /dev/shm/amanuensis.<pid> for this process.
 * @w: filled on success.
 * A page left by an earlier process with the same pid is replaced.
 * Return: 0 or -errno (the engine runs on without stats then).
 */
int npu_stats_writer_open(struct npu_stats_writer *w);

/**
 * npu_stats_writer_publish - copy @src into the shared page under the seqlock.
 * Must not be called concurrently for the same @w. Header fields (magic,
 * version, size, seq, pid, start_ns, update_ns) are set by the writer, not taken from @src.
 */
void npu_stats_writer_publish(struct npu_stats_writer *w, const struct npu_stats_page *src);

/** npu_stats_writer_close - unmap and unlink the page. */
void npu_stats_writer_close(struct npu_stats_writer *w);

#endif /* AMN_NPU_STATS_WRITER_H */
