/* SPDX-License-Identifier: MIT */
/*
 * sched/npu_stats.h - the per-process statistics page and its reader API.
 *
 * Every process that opens an engine publishes one page of counters in
 * shared memory at /dev/shm/amanuensis.<pid>. Tools such as npustat map the
 * pages read-only and take consistent snapshots; no daemon is involved.
 *
 * Consistency: the page starts with a sequence counter (a seqlock). The single
 * writer makes it odd, stores the counters, then makes it even again. A reader
 * copies the page and accepts the copy only if the sequence was even and did
 * not change during the copy. npu_stats_snapshot() does exactly that.
 *
 * Compatibility: the layout is versioned. Fields are only ever appended; a
 * reader checks magic, that version >= NPU_STATS_VERSION_MIN it understands and
 * that the advertised size covers the structure it reads. All integers are
 * little-endian host order, all strings NUL-terminated within their arrays.
 * Latency histograms are log2: bucket i counts samples in [2^i, 2^(i+1)) µs
 * (bucket 0 also holds samples under 1 µs).
 */
#ifndef AMN_NPU_STATS_H
#define AMN_NPU_STATS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Everything declared here is the library's API: exported from libamanuensis.so. */
#pragma GCC visibility push(default)

#define NPU_STATS_MAGIC        0x53544154534e4d41ull  /* "AMNSTATS" */
#define NPU_STATS_VERSION      1u
#define NPU_STATS_PATH_FMT     "/dev/shm/amanuensis.%d"
#define NPU_STATS_PREFIX       "amanuensis."
#define NPU_STATS_MAX_DEVICES  4
#define NPU_STATS_MAX_TENANTS  64
#define NPU_STATS_NAME_LEN     48
#define NPU_STATS_HIST_BUCKETS 32   /* log2 µs: up to ~36 minutes */
#define NPU_STATS_BATCH_BUCKETS 16  /* log2 jobs per run: 1 .. 32768+ */

/* struct npu_stats_device.flags */
#define NPU_STATS_DEV_SIMULATED 0x1u  /* emu: times come from a cost model */

/**
 * struct npu_stats_device - one device (one dispatcher and its backend).
 * Times are nanoseconds; counters only grow, except the two gauges
 * @queue_depth and @in_flight.
 */
struct npu_stats_device {
	char     name[NPU_STATS_NAME_LEN];     /* e.g. "npu0" */
	char     backend[NPU_STATS_NAME_LEN];  /* e.g. "emu phoenix (simulated)" */
	uint32_t flags;                        /* NPU_STATS_DEV_* */
	uint32_t max_in_flight;
	uint64_t jobs;          /* tile jobs completed */
	uint64_t tiles;         /* 16x16 output tiles computed */
	uint64_t ops;           /* multiply-adds x 2 */
	uint64_t runs;          /* backend runs (batches) */
	uint64_t busy_ns;       /* time with at least one run in flight */
	uint64_t queue_depth;   /* gauge: jobs accepted but not yet dispatched */
	uint64_t in_flight;     /* gauge: runs in flight */
	uint64_t fallbacks;     /* runs re-run on the CPU after an error or timeout */
	uint64_t errors;        /* runs that failed on the device */
	uint64_t timeouts;      /* runs the watchdog gave up on */
	uint64_t batch_hist[NPU_STATS_BATCH_BUCKETS];  /* jobs per run, log2 */
	uint64_t run_lat_hist[NPU_STATS_HIST_BUCKETS]; /* run submit -> complete */
	uint64_t sim_ns;        /* emu: simulated device time consumed */
};

/**
 * struct npu_stats_tenant - one tenant of the engine.
 * @active is 0 for a free slot; a closed tenant's slot may be reused.
 */
struct npu_stats_tenant {
	char     name[NPU_STATS_NAME_LEN];
	uint32_t active;
	uint32_t weight;
	uint64_t rate_ops;      /* quota in ops per second, 0 = none */
	uint64_t matmuls;       /* matmuls completed */
	uint64_t jobs;          /* tile jobs completed */
	uint64_t tiles;
	uint64_t ops;
	uint64_t queue_depth;   /* gauge: jobs waiting */
	uint64_t cancelled;     /* jobs released by cancel or shutdown */
	uint64_t throttled;     /* times the rate quota held the tenant back */
	uint64_t fallbacks;
	uint64_t errors;
	uint64_t lat_hist[NPU_STATS_HIST_BUCKETS];     /* matmul submit -> complete */
};

/**
 * struct npu_stats_page - the whole shared page.
 * @seq:  seqlock sequence, odd while the writer is updating.
 * @size: sizeof(struct npu_stats_page) of the writer.
 */
struct npu_stats_page {
	uint64_t magic;
	uint32_t version;
	uint32_t size;
	uint64_t seq;
	int32_t  pid;
	uint32_t n_devices;
	uint32_t n_tenants;     /* slots in use range: [0, n_tenants) */
	uint32_t reserved0;
	uint64_t start_ns;      /* CLOCK_REALTIME when the page was created */
	uint64_t update_ns;     /* CLOCK_REALTIME of the last publish */
	char     comm[32];      /* process name */
	struct npu_stats_device devices[NPU_STATS_MAX_DEVICES];
	struct npu_stats_tenant tenants[NPU_STATS_MAX_TENANTS];
};

/** struct npu_stats_map - a read-only mapping of one page. */
struct npu_stats_map {
	const struct npu_stats_page *page;
	size_t len;
	pid_t pid;
};

/**
 * npu_stats_path - write the page path of @pid into @buf.
 * Return: 0, or -ENAMETOOLONG if @len is too small.
 */
int npu_stats_path(pid_t pid, char *buf, size_t len);

/**
 * npu_stats_open_path - map a stats page read-only.
 * @path: e.g. "/dev/shm/amanuensis.1234".
 * @m:    filled on success; release with npu_stats_close().
 * Return: 0, -ENOENT/-EACCES from open, -EPROTO if the file is too small or
 * its magic or version is wrong, -ENOMEM if mapping fails.
 */
int npu_stats_open_path(const char *path, struct npu_stats_map *m);

/** npu_stats_open_pid - npu_stats_open_path() on the page of @pid. */
int npu_stats_open_pid(pid_t pid, struct npu_stats_map *m);

/** npu_stats_close - unmap a page; a zeroed @m is a no-op. */
void npu_stats_close(struct npu_stats_map *m);

/**
 * npu_stats_snapshot - copy a consistent view of a mapped page.
 * @m:   an open mapping.
 * @out: receives the copy. Fields the writer's (older) layout lacks are zero.
 * Retries while the writer is active, up to a bounded number of times.
 * Return: 0, -EPROTO on bad magic/version/size, -EAGAIN if no consistent copy
 * could be taken (the writer kept updating).
 */
int npu_stats_snapshot(const struct npu_stats_map *m, struct npu_stats_page *out);

/**
 * npu_stats_list - find the stats pages present in /dev/shm.
 * @pids: receives up to @max process ids, in ascending order.
 * Pages of processes that have died are listed too; check with kill(pid, 0).
 * Return: the number of pages found (may exceed @max), or -errno.
 */
int npu_stats_list(pid_t *pids, int max);

/**
 * npu_stats_hist_percentile - estimate a percentile from a log2 histogram.
 * @hist: @n buckets as in struct npu_stats_device.run_lat_hist.
 * @p:    percentile in [0, 100].
 * Interpolates linearly inside the bucket that holds the percentile.
 * Return: the estimate in µs, or 0 for an empty histogram.
 */
double npu_stats_hist_percentile(const uint64_t *hist, int n, double p);

/**
 * npu_stats_hist_bucket - the log2 bucket of a value (µs), clamped to @n - 1.
 */
int npu_stats_hist_bucket(uint64_t v, int n);

#pragma GCC visibility pop

#ifdef __cplusplus
}
#endif
#endif /* AMN_NPU_STATS_H */
