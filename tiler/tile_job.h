/* SPDX-License-Identifier: MIT */
/*
 * tiler/tile_job.h - the batch ABI: the bytes one device run consumes.
 *
 * A batch is one contiguous buffer, every offset counted in bytes from its
 * start, every area 64-byte aligned, all integers little-endian:
 *
 *   [0, 64)            struct tile_batch_hdr
 *   [jobs_off, ...)    njobs × struct tile_job_desc (64 bytes each)
 *   [a_off, +a_size)   A area: per job its int8 panel (rows × kp), its
 *                      rowsums (rows × nkb int32) and, for fp32 jobs, its
 *                      row scales (rows × nkb float)
 *   [c_off, +c_size)   C area: per job rows × cols results, row-major with
 *                      leading dimension cols: int32 (s8 jobs) or float
 *                      (fp32 jobs, dequantized, no bias)
 *
 * Weights are not in the batch: they are packed once (tile.h), made
 * resident by the backend, and a job names them by a handle (an index in
 * the table the backend was given) plus its column range. nkb is
 * ceil(kp / kb). The CPU reference of the device side is tile_batch_run();
 * the layout is checked by tests/test_tile_job.c (offsets, sizes, round
 * trip against tile_matmul_*), so it cannot drift silently.
 */
#ifndef AMN_TILE_JOB_H
#define AMN_TILE_JOB_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

struct tile_weights;

#define TILE_BATCH_MAGIC    0x31544254u  /* "TBT1" in memory order */
#define TILE_BATCH_VERSION  1
#define TILE_BATCH_ALIGN    64
#define TILE_JOB_MAX_ROWS   64           /* rows of one job: one device tile row */

enum tile_job_kind {
	TILE_JOB_S8 = 0,    /* int8 A, exact int32 C */
	TILE_JOB_F32 = 1,   /* fp32 A quantized per row and K block, float C */
};

/* The batch header: 64 bytes at offset 0. */
struct tile_batch_hdr {
	uint32_t magic;       /* TILE_BATCH_MAGIC */
	uint16_t version;     /* TILE_BATCH_VERSION */
	uint16_t hdr_size;    /* sizeof(struct tile_batch_hdr) = 64 */
	uint16_t job_size;    /* sizeof(struct tile_job_desc) = 64 */
	uint16_t njobs;
	uint32_t flags;       /* 0; a reader rejects bits it does not know */
	uint64_t jobs_off;    /* the job table (64) */
	uint64_t a_off;       /* A area */
	uint64_t a_size;
	uint64_t c_off;       /* C area */
	uint64_t c_size;
	uint64_t size;        /* the whole batch */
};

/* One job: @rows rows of A against columns [n0, n0 + cols) of weights @weights. */
struct tile_job_desc {
	uint32_t weights;     /* handle: index in the backend's weight table */
	uint8_t kind;         /* enum tile_job_kind */
	uint8_t pad0;
	uint16_t rows;        /* 1..TILE_JOB_MAX_ROWS */
	uint32_t k;           /* logical K (must match the weights) */
	uint32_t kp;          /* K rounded up to 4: bytes per panel row */
	uint32_t kb;          /* K block length (the weights'; kp for s8) */
	uint32_t n0;          /* first column */
	uint32_t cols;        /* columns, >= 1 */
	uint32_t pad1;
	uint64_t panel_off;   /* rows × kp int8, zero past k */
	uint64_t rowsum_off;  /* rows × nkb int32: sum of the panel over each block */
	uint64_t sa_off;      /* rows × nkb float (fp32 jobs; 0 for s8) */
	uint64_t c_off;       /* rows × cols int32 or float */
};

/* The layout is the ABI: a change here must change TILE_BATCH_VERSION. */
_Static_assert(sizeof(struct tile_batch_hdr) == 64, "tile_batch_hdr is 64 bytes");
_Static_assert(sizeof(struct tile_job_desc) == 64, "tile_job_desc is 64 bytes");
_Static_assert(offsetof(struct tile_batch_hdr, jobs_off) == 16, "hdr.jobs_off at 16");
_Static_assert(offsetof(struct tile_batch_hdr, size) == 56, "hdr.size at 56");
_Static_assert(offsetof(struct tile_job_desc, panel_off) == 32, "job.panel_off at 32");
_Static_assert(offsetof(struct tile_job_desc, c_off) == 56, "job.c_off at 56");

/**
 * tile_job_init - describe a job before layout.
 * @j:       the descriptor to fill (offsets are set by tile_batch_layout()).
 * @handle:  index of @w in the weight table the batch will run against.
 * @w:       those weights (for K, the K block and the column count).
 * @kind:    TILE_JOB_S8 or TILE_JOB_F32 (fp32 needs weights packed by
 *           tile_weights_pack_f32, s8 needs tile_weights_pack_s8).
 * @rows:    1..TILE_JOB_MAX_ROWS.
 * @n0, @cols: the column range, inside the weights' N.
 * Return: 0, or -EINVAL with a message.
 */
int tile_job_init(struct tile_job_desc *j, uint32_t handle, const struct tile_weights *w,
		  enum tile_job_kind kind, int rows, int n0, int cols);

/**
 * tile_batch_layout - place @njobs described jobs in a batch.
 * Fills @hdr and every job's offsets.
 * Return: the batch size in bytes, or -EINVAL (no jobs, more than 65535,
 * or a bad descriptor).
 */
long long tile_batch_layout(struct tile_batch_hdr *hdr, struct tile_job_desc *jobs,
			    unsigned njobs);

/**
 * tile_batch_write - write @hdr and @jobs into @buf (hdr->size bytes,
 * 64-byte aligned); A and C areas are left for tile_batch_pack_a().
 * Return: 0 or -EINVAL.
 */
int tile_batch_write(void *buf, const struct tile_batch_hdr *hdr,
		     const struct tile_job_desc *jobs);

/**
 * tile_batch_check - validate a batch: magic, version, sizes, and every
 * job's areas inside the batch. @len is the buffer length.
 * Return: 0, -EPROTO (not a batch, other version, unknown flags) or -EINVAL.
 */
int tile_batch_check(const void *buf, size_t len);

/**
 * tile_batch_pack_a - build job @i's A panel from its source rows.
 * @a, @lda: @rows source rows of @k values each, int8 (s8 jobs) or float
 *           (fp32 jobs: quantized per row and K block, as tile_matmul_f32).
 * Return: 0 or -EINVAL.
 */
int tile_batch_pack_a(void *buf, unsigned i, const void *a, size_t lda);

/**
 * tile_batch_run - the CPU reference of a device run: every job of @buf,
 * C area written from the A area and the weights @table[handle].
 * Return: 0, or the tile_batch_check() error, or -EINVAL on a handle out of
 * @ntable or a job that does not match its weights.
 */
int tile_batch_run(void *buf, size_t len, const struct tile_weights *const *table,
		   unsigned ntable);

/**
 * tile_batch_unpack_c - copy job @i's results to @c (leading dimension
 * @ldc elements, int32 or float by kind), adding @bias (fp32 jobs, the
 * weights' full-N bias; may be NULL).
 * Return: 0 or -EINVAL.
 */
int tile_batch_unpack_c(const void *buf, unsigned i, void *c, size_t ldc, const float *bias);

/**
 * tile_batch_unpack_out - as tile_batch_unpack_c(), with the C area read
 * from @out (a device's output buffer: its byte 0 is the batch's c_off)
 * and the job table from @buf.
 * Return: 0 or -EINVAL.
 */
int tile_batch_unpack_out(const void *buf, const void *out, unsigned i, void *c, size_t ldc,
			  const float *bias);

#ifdef __cplusplus
}
#endif
#endif /* AMN_TILE_JOB_H */
