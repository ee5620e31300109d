/* SPDX-License-Identifier: MIT */
/*
 * sched/npu_backend_xrt.c - the xrt backend: batches in the tiler's batch
 * ABI, run on the NPU through a device of sched/xrt/npu_xrt_dev.h.
 *
 * Order matters: probe sysfs and the device node first (npu_probe.c), and
 * only then call into the C++ shim (sched/xrt/), which exists only in builds
 * against XRT >= 2.18. Debian's XRT 2.13 cannot drive the NPU and aborts the
 * process from its C API when no device is set up, so it is never called.
 * NPU_XRT_DEVICE=loopback selects the software device instead (no probe, no
 * XRT): the same host path, checked end to end on any machine.
 *
 * A batch's life here (a pipelined npu_worker, two device slots):
 *   start:  every job's weights get a handle in the resident weights region
 *           (appended and synced to the device the first time they are
 *           seen, keyed by tile_weights_id); the jobs become tile_job_desc
 *           entries of at most 64 rows; the batch is laid out, its A panels
 *           packed straight into the slot's input buffer, and the run
 *           started. The next batch is packed into the other slot while
 *           this one runs.
 *   finish: wait (NPU_RUN_TIMEOUT_MS), then unpack every job's C rows from
 *           the output buffer into its matmul, adding the bias.
 * A failed or timed-out run returns its status and the dispatcher re-runs
 * the batch on the CPU. A full region is emptied when no run is in flight
 * and refilled on demand.
 */
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/amn_env.h"
#include "sched/npu_backend.h"
#include "sched/npu_probe.h"
#include "sched/npu_worker.h"
#include "sched/xrt/npu_xrt_dev.h"
#include "tiler/tile_job.h"
#include "tiler/tile_region.h"
#ifdef AMN_HAVE_XRT_HWCTX
#include "sched/xrt/npu_xrt_shim.h"
#endif

#define REGION_TABLE 1024          /* weight sets the region can name */
#define DEFAULT_REGION_MB 512
#define MAX_REGION_MB (1ul << 20)  /* 1 TiB: far beyond any NPU's memory, and no overflow */
#define DEFAULT_TIMEOUT_MS 2000

struct handle_slot {
	uint64_t id;                   /* 0: empty */
	unsigned handle;
};

/* What a slot's run needs at finish: its job table lives in the input buffer. */
struct run_slot {
	void *in, *out;
};

struct xrt_be {
	struct npu_worker w;           /* must be first */
	const struct npu_xrt_dev_ops *ops;
	void *dev;
	bool shared_dev;               /* the process-wide shim: not closed here */
	void *region;
	struct handle_slot map[2 * REGION_TABLE];   /* open addressing, id -> handle */
	struct tile_job_desc *descs;
	unsigned descs_cap;
	struct run_slot slot[NPU_XRT_SLOTS];
	unsigned next_start, next_finish;
	unsigned timeout_ms;
};

static unsigned map_find(const struct xrt_be *x, uint64_t id, bool *found)
{
	unsigned i = (unsigned)(id * 0x9e3779b97f4a7c15ull >> 40) % (2 * REGION_TABLE);

	while (x->map[i].id && x->map[i].id != id)
		i = (i + 1) % (2 * REGION_TABLE);
	*found = x->map[i].id == id;
	return i;
}

static void region_reset(struct xrt_be *x)
{
	tile_region_reset(x->region);
	memset(x->map, 0, sizeof(x->map));
}

/*
 * The handle of @w in the region, adding it the first time. -ENOSPC: the
 * region is full (the caller empties it when it may); other -errno: failed.
 */
static long long handle_of(struct xrt_be *x, const struct tile_weights *w)
{
	uint64_t id = tile_weights_id(w), off = 0, len = 0;
	const struct tile_region_hdr *h = x->region;
	bool found;
	unsigned i = map_find(x, id, &found);
	long long handle;

	if (found)
		return x->map[i].handle;
	handle = tile_region_add(x->region, w, &off, &len);
	if (handle < 0)
		return handle;
	/* header and table, then the image */
	if (x->ops->weights_sync(x->dev, 0, h->data_off) ||
	    x->ops->weights_sync(x->dev, off, len))
		return -EIO;
	x->map[i].id = id;
	x->map[i].handle = (unsigned)handle;
	return handle;
}

static unsigned pieces(const struct npu_job *j)
{
	return (unsigned)(j->rows + TILE_JOB_MAX_ROWS - 1) / TILE_JOB_MAX_ROWS;
}

/* Describe every job of @b (split into 64-row pieces); returns the count or -errno. */
static long describe(struct xrt_be *x, struct npu_batch *b, bool idle)
{
	unsigned n = 0;
	bool reset_done = false;

	for (unsigned i = 0; i < b->n; i++)
		n += pieces(b->jobs[i]);
	if (n == 0 || n > 65535)
		return -EINVAL;
	if (n > x->descs_cap) {
		struct tile_job_desc *d = realloc(x->descs, n * sizeof(*d));

		if (!d)
			return -ENOMEM;
		x->descs = d;
		x->descs_cap = n;
	}
retry:
	n = 0;
	for (unsigned i = 0; i < b->n; i++) {
		const struct npu_job *j = b->jobs[i];
		const struct npu_mm *mm = j->mm;
		long long handle = handle_of(x, mm->w);
		enum tile_job_kind kind = mm->kind == NPU_KIND_F32 ? TILE_JOB_F32 : TILE_JOB_S8;

		if (handle == -ENOSPC && !reset_done && tile_region_count(x->region)) {
			if (!idle)
				return -EBUSY;   /* runs in flight still read the region */
			region_reset(x);
			reset_done = true;
			goto retry;
		}
		if (handle < 0)
			return handle == -ENOSPC ? -ENOSPC : (long)handle;
		for (int r = 0; r < j->rows; r += TILE_JOB_MAX_ROWS) {
			int rows = j->rows - r < TILE_JOB_MAX_ROWS ? j->rows - r : TILE_JOB_MAX_ROWS;

			if (tile_job_init(&x->descs[n++], (uint32_t)handle, mm->w, kind, rows, 0,
					  mm->N))
				return -EINVAL;
		}
	}
	return n;
}

static size_t elt(const struct npu_mm *mm)
{
	return mm->kind == NPU_KIND_F32 ? sizeof(float) : sizeof(int8_t);
}

static int xrt_start(struct npu_worker *w, struct npu_batch *b, bool idle)
{
	struct xrt_be *x = (struct xrt_be *)w;
	unsigned s = x->next_start % NPU_XRT_SLOTS, k = 0;
	struct tile_batch_hdr hdr;
	long n = describe(x, b, idle);
	long long size;
	void *in;
	int ret;

	if (n < 0)
		return (int)n;
	size = tile_batch_layout(&hdr, x->descs, (unsigned)n);
	if (size < 0)
		return (int)size;
	ret = x->ops->slot_buffers(x->dev, s, (size_t)size, hdr.c_size);
	if (ret)
		return ret;
	in = x->ops->slot_in(x->dev, s);
	if (!in || tile_batch_write(in, &hdr, x->descs))
		return -EIO;
	for (unsigned i = 0; i < b->n; i++) {
		const struct npu_job *j = b->jobs[i];
		const struct npu_mm *mm = j->mm;

		for (int r = 0; r < j->rows; r += TILE_JOB_MAX_ROWS, k++) {
			const char *a = (const char *)mm->a + (size_t)(j->row0 + r) * mm->lda * elt(mm);

			ret = tile_batch_pack_a(in, k, a, mm->lda);
			if (ret)
				return ret;
		}
	}
	ret = x->ops->start(x->dev, s, (size_t)hdr.c_off, (size_t)hdr.c_size);
	if (ret)
		return ret;
	x->slot[s].in = in;
	x->slot[s].out = x->ops->slot_out(x->dev, s);
	x->next_start++;
	return 0;
}

static int xrt_finish(struct npu_worker *w, struct npu_batch *b)
{
	struct xrt_be *x = (struct xrt_be *)w;
	unsigned s = x->next_finish++ % NPU_XRT_SLOTS, k = 0;
	const struct run_slot *rs = &x->slot[s];
	int ret = x->ops->wait(x->dev, s, x->timeout_ms);

	if (ret)
		return ret;
	if (!rs->out)
		return -EIO;
	for (unsigned i = 0; i < b->n; i++) {
		const struct npu_job *j = b->jobs[i];
		const struct npu_mm *mm = j->mm;

		for (int r = 0; r < j->rows; r += TILE_JOB_MAX_ROWS, k++) {
			char *c = (char *)mm->c + (size_t)(j->row0 + r) * mm->ldc * 4;

			ret = tile_batch_unpack_out(rs->in, rs->out, k, c, mm->ldc,
						    mm->kind == NPU_KIND_F32 ? mm->bias : NULL);
			if (ret)
				return -EIO;
		}
	}
	return 0;
}

static void xrt_close(struct npu_backend *be)
{
	struct xrt_be *x = (struct xrt_be *)be;

	npu_worker_stop(&x->w);
	if (!x->shared_dev)
		x->ops->close(x->dev);
	free(x->descs);
	free(x);
}

static const struct npu_backend_ops xrt_ops = {
	.submit = npu_worker_submit,
	.reap = npu_worker_reap,
	.close = xrt_close,
};

/* Set up the region and the worker around an opened device. */
static int backend_start(struct npu_backend **out, const struct tile_opts *tile,
			 const struct npu_xrt_dev_ops *ops, void *dev, bool shared,
			 const char *name)
{
	struct xrt_be *x = calloc(1, sizeof(*x));
	size_t mb = amn_env_ulong("NPU_WEIGHTS_MB", 1, MAX_REGION_MB, DEFAULT_REGION_MB);
	size_t region_size = mb << 20;
	int ret;

	if (!x)
		return -ENOMEM;
	x->ops = ops;
	x->dev = dev;
	x->shared_dev = shared;
	x->timeout_ms = (unsigned)amn_env_ulong("NPU_RUN_TIMEOUT_MS", 0, UINT_MAX,
						DEFAULT_TIMEOUT_MS);
	/* the shared device keeps its weights buffer across engines */
	x->region = ops->weights_map(dev);
	if (!x->region) {
		ret = ops->weights_alloc(dev, region_size);
		x->region = ret ? NULL : ops->weights_map(dev);
	}
	if (!x->region || tile_region_init(x->region, region_size, REGION_TABLE) ||
	    ops->weights_sync(dev, 0, sizeof(struct tile_region_hdr))) {
		fprintf(stderr, "amanuensis: xrt: cannot set up a %zu MB weights region\n", mb);
		free(x);
		return -ENOMEM;
	}
	x->w.be.ops = &xrt_ops;
	x->w.be.max_in_flight = 4;     /* runs a Phoenix context queues */
	x->w.be.job_rows = TILE_JOB_MAX_ROWS;
	snprintf(x->w.be.name, sizeof(x->w.be.name), "%s", name);
	if (tile)
		x->w.be.tile = *tile;
	x->w.start = xrt_start;
	x->w.finish = xrt_finish;
	x->w.depth = NPU_XRT_SLOTS;
	ret = npu_worker_start(&x->w);
	if (ret) {
		free(x);
		return ret;
	}
	*out = &x->w.be;
	return 0;
}

static int loopback_open(struct npu_backend **out, const struct tile_opts *tile)
{
	void *dev;
	int ret = npu_xrt_loopback_open(&dev,
					(unsigned)amn_env_ulong("NPU_XRT_LOOPBACK_FAIL_EVERY", 0,
								UINT_MAX, 0),
					(unsigned)amn_env_ulong("NPU_XRT_LOOPBACK_TIMEOUT_EVERY", 0,
								UINT_MAX, 0));

	if (ret)
		return ret;
	ret = backend_start(out, tile, &npu_xrt_loopback_ops, dev, false,
			    "xrt loopback (software device)");
	if (ret)
		npu_xrt_loopback_ops.close(dev);
	return ret;
}

#ifdef AMN_HAVE_XRT_HWCTX
static int shim_weights_alloc(void *d, size_t n) { return npu_xrt_weights_alloc(d, n); }
static void *shim_weights_map(void *d) { return npu_xrt_weights_map(d); }
static int shim_weights_sync(void *d, size_t o, size_t n) { return npu_xrt_weights_sync(d, o, n); }
static int shim_slot_buffers(void *d, unsigned s, size_t i, size_t o)
{
	return npu_xrt_slot_buffers(d, s, i, o);
}
static void *shim_slot_in(void *d, unsigned s) { return npu_xrt_slot_in(d, s); }
static void *shim_slot_out(void *d, unsigned s) { return npu_xrt_slot_out(d, s); }
static int shim_start(void *d, unsigned s, size_t i, size_t o) { return npu_xrt_start(d, s, i, o); }
static int shim_wait(void *d, unsigned s, unsigned t) { return npu_xrt_wait(d, s, t); }
static void shim_close(void *d) { npu_xrt_close(d); }

static const struct npu_xrt_dev_ops shim_ops = {
	.weights_alloc = shim_weights_alloc,
	.weights_map = shim_weights_map,
	.weights_sync = shim_weights_sync,
	.slot_buffers = shim_slot_buffers,
	.slot_in = shim_slot_in,
	.slot_out = shim_slot_out,
	.start = shim_start,
	.wait = shim_wait,
	.close = shim_close,
};

/*
 * One shim (device, xclbin, hardware context, kernel, buffers) per process:
 * contexts are scarce and cost ~35 ms to create. Its slots and weights
 * region serve one engine at a time; a second engine that asks for xrt
 * while the first holds it gets -EBUSY and runs on the CPU.
 */
static struct npu_xrt *shared_xrt;
static bool shared_busy;
static pthread_mutex_t shared_lock = PTHREAD_MUTEX_INITIALIZER;

/* Close the engine's backend and let the next engine have the shim. */
static void shim_backend_close(struct npu_backend *be)
{
	xrt_close(be);
	pthread_mutex_lock(&shared_lock);
	shared_busy = false;
	pthread_mutex_unlock(&shared_lock);
}

static const struct npu_backend_ops shim_backend_ops = {
	.submit = npu_worker_submit,
	.reap = npu_worker_reap,
	.close = shim_backend_close,
};

static int xrt_open(struct npu_backend **out, const struct tile_opts *tile,
		    const struct npu_probe_info *info)
{
	const char *xclbin = getenv("NPU_MATMUL_XCLBIN");
	const char *instr = getenv("NPU_MATMUL_INSTR");
	char err[256] = "", name[48];
	int ret = 0;

	if (!xclbin || !instr) {
		fprintf(stderr, "amanuensis: xrt: set NPU_MATMUL_XCLBIN and NPU_MATMUL_INSTR to the "
			"batch kernel's xclbin and instruction file; using the CPU\n");
		return -ENODEV;
	}
	pthread_mutex_lock(&shared_lock);
	if (shared_busy) {
		pthread_mutex_unlock(&shared_lock);
		fprintf(stderr, "amanuensis: xrt: the NPU is in use by another engine of this "
			"process; using the CPU\n");
		return -EBUSY;
	}
	if (!shared_xrt)
		ret = npu_xrt_open(&shared_xrt, (unsigned)info->index, xclbin, instr, err,
				   sizeof(err));
	if (!ret) {
		snprintf(name, sizeof(name), "xrt %s", info->family);
		ret = backend_start(out, tile, &shim_ops, shared_xrt, true, name);
		if (!ret) {
			shared_busy = true;
			(*out)->ops = &shim_backend_ops;
		}
	}
	pthread_mutex_unlock(&shared_lock);
	if (ret) {
		fprintf(stderr, "amanuensis: xrt: %s: %s; using the CPU\n", info->dev_path,
			*err ? err : strerror(-ret));
		return -ENODEV;
	}
	return 0;
}
#endif

int npu_backend_xrt_open(struct npu_backend **out, const struct tile_opts *tile)
{
	const char *dev = getenv("NPU_XRT_DEVICE");
	struct npu_probe_info info;
	int ret;

	if (dev && !strcmp(dev, "loopback"))
		return loopback_open(out, tile);
	ret = npu_probe(&info, NULL, NULL);
	if (ret == -EACCES) {
		fprintf(stderr, "amanuensis: xrt: %s exists but is not readable and writable "
			"by this user\n", info.dev_path);
		return -ENODEV;
	}
	if (ret)
		return -ENODEV;  /* no NPU: the caller falls back to cpu */
#ifndef AMN_HAVE_XRT_HWCTX
	fprintf(stderr, "amanuensis: xrt: found a %s NPU at %s, but this build has no "
		"XRT >= 2.18 (xrt_hw_context.h); using the CPU\n", info.family, info.dev_path);
	return -ENODEV;
#else
	return xrt_open(out, tile, &info);
#endif
}
