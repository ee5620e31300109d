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
 * A failed run returns its status and the dispatcher re-runs the batch on
 * the CPU. A run that outlives NPU_RUN_TIMEOUT_MS is given to the CPU the
 * same way, at once, but is left in flight (never aborted, never destroyed:
 * see npu_xrt_dev.h): its slot is "abandoned" and not used again until the
 * device reports the run ended, polled at each start, for at most
 * NPU_RUN_HANG_MS; a slot whose run outlives that too is retired for the
 * life of the device. With no slot free the batch goes to the CPU at once.
 * A full region is emptied when no run is in flight (abandoned ones count:
 * they may still read it) and refilled on demand.
 *
 * Threads: start and finish run on the worker thread, close after it
 * stopped, so the slot states need no lock.
 */
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/amn_env.h"
#include "sched/npu_backend.h"
#include "sched/npu_probe.h"
#include "sched/npu_worker.h"
#include "sched/xrt/npu_xrt_config.h"
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
/* amdxdna's watchdog ends a hung run after about 2 s (two 1 s intervals); 10 s covers it */
#define DEFAULT_HANG_MS 10000

struct handle_slot {
	uint64_t id;                   /* 0: empty */
	unsigned handle;
};

enum slot_state {
	SLOT_FREE,
	SLOT_RUNNING,                  /* started, not waited */
	SLOT_ABANDONED,                /* timed out, still in flight on the device */
	SLOT_RETIRED,                  /* outlived the hang bound: never used again */
};

/* What a slot's run needs at finish: its job table lives in the input buffer. */
struct run_slot {
	void *in, *out;
	enum slot_state state;
	uint64_t deadline_ns;          /* abandoned: retire after this */
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
	unsigned order[NPU_XRT_SLOTS]; /* running slots, oldest first */
	unsigned n_order, next_slot;
	unsigned timeout_ms;           /* 0: wait for ever */
	unsigned hang_ms;
	bool told_error, told_timeout; /* the first of each is printed, the rest counted */
};

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void tell(struct xrt_be *x, int ret, const char *when);

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
	    x->ops->weights_sync(x->dev, off, len)) {
		tell(x, -EIO, "syncing weights to the device");
		return -EIO;
	}
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

/* The first device failure and the first timeout of an engine get one line each. */
static void tell(struct xrt_be *x, int ret, const char *when)
{
	if (ret == -ETIMEDOUT && !x->told_timeout) {
		x->told_timeout = true;
		fprintf(stderr, "amanuensis: xrt: a run took longer than NPU_RUN_TIMEOUT_MS=%u; its "
			"batch runs on the CPU (later timeouts are counted, not printed)\n",
			x->timeout_ms);
	} else if (ret != -ETIMEDOUT && !x->told_error) {
		x->told_error = true;
		fprintf(stderr, "amanuensis: xrt: %s: %s (%s); the batch runs on the CPU (later "
			"failures are counted, not printed)\n", when, strerror(-ret),
			x->ops->last_error(x->dev));
	}
}

/* Retire an abandoned slot whose run outlived the hang bound; says so once. */
static void retire(struct xrt_be *x, unsigned s)
{
	x->slot[s].state = SLOT_RETIRED;
	fprintf(stderr, "amanuensis: xrt: a timed-out run on slot %u has not ended %u ms later; "
		"the slot is retired (batches it would take run on the CPU; reloading the "
		"amdxdna driver resets the NPU)\n", s, x->hang_ms);
}

/* Free every abandoned slot whose run has ended; retire those past the bound. */
static void poll_abandoned(struct xrt_be *x)
{
	for (unsigned s = 0; s < NPU_XRT_SLOTS; s++) {
		if (x->slot[s].state != SLOT_ABANDONED)
			continue;
		if (!x->ops->reclaim(x->dev, s, 0))
			x->slot[s].state = SLOT_FREE;
		else if (now_ns() >= x->slot[s].deadline_ns)
			retire(x, s);
	}
}

static void abandon(struct xrt_be *x, unsigned s)
{
	x->slot[s].state = SLOT_ABANDONED;
	x->slot[s].deadline_ns = now_ns() + (uint64_t)x->hang_ms * 1000000ull;
}

static bool any_in(const struct xrt_be *x, enum slot_state st)
{
	for (unsigned s = 0; s < NPU_XRT_SLOTS; s++)
		if (x->slot[s].state == st)
			return true;
	return false;
}

/* A free slot, round robin; -1 if none. */
static int pick_slot(struct xrt_be *x)
{
	for (unsigned i = 0; i < NPU_XRT_SLOTS; i++) {
		unsigned s = (x->next_slot + i) % NPU_XRT_SLOTS;

		if (x->slot[s].state == SLOT_FREE) {
			x->next_slot = s + 1;
			return (int)s;
		}
	}
	return -1;
}

static int xrt_start(struct npu_worker *w, struct npu_batch *b, bool idle)
{
	struct xrt_be *x = (struct xrt_be *)w;
	struct tile_batch_hdr hdr;
	unsigned k = 0, s;
	long long size;
	int ret, pick;
	long n;
	void *in;

	poll_abandoned(x);
	pick = pick_slot(x);
	if (pick < 0)   /* wait for a running one, or, with none, take the CPU now */
		return any_in(x, SLOT_RUNNING) ? -EBUSY : -EIO;
	s = (unsigned)pick;
	/* a run that timed out may still read the region: not idle */
	n = describe(x, b, idle && !any_in(x, SLOT_ABANDONED));
	if (n < 0)
		return (int)n;
	size = tile_batch_layout(&hdr, x->descs, (unsigned)n);
	if (size < 0)
		return (int)size;
	ret = x->ops->slot_buffers(x->dev, s, (size_t)size, hdr.c_size);
	if (ret == -EBUSY) {
		/* a run an earlier engine left on the shared device has not ended */
		abandon(x, s);
		return -EIO;
	}
	if (ret) {
		tell(x, ret, "allocating a slot's buffers");
		return ret;
	}
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
	if (ret == -EBUSY) {
		abandon(x, s);
		return -EIO;
	}
	if (ret) {
		tell(x, ret, "starting a run");
		return ret;
	}
	x->slot[s].in = in;
	x->slot[s].out = x->ops->slot_out(x->dev, s);
	x->slot[s].state = SLOT_RUNNING;
	x->order[x->n_order++] = s;
	return 0;
}

static int xrt_finish(struct npu_worker *w, struct npu_batch *b)
{
	struct xrt_be *x = (struct xrt_be *)w;
	unsigned s, k = 0;
	const struct run_slot *rs;
	int ret;

	if (!x->n_order)
		return -EIO;   /* the worker finishes only what start started */
	s = x->order[0];
	memmove(x->order, x->order + 1, --x->n_order * sizeof(x->order[0]));
	rs = &x->slot[s];
	ret = x->ops->wait(x->dev, s, x->timeout_ms);
	if (ret == -ETIMEDOUT) {
		abandon(x, s);   /* the CPU takes the batch now; the slot waits for the run */
		tell(x, ret, "waiting for a run");
		return ret;
	}
	x->slot[s].state = SLOT_FREE;
	if (ret) {
		tell(x, ret, "a run failed");
		return ret;
	}
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

/*
 * Stop the worker, then give each abandoned run what is left of its bound
 * to end. Runs that still have not are left to the device's close (or, for
 * the shared shim, to the next engine, whose start finds the slot busy).
 */
static void xrt_close(struct npu_backend *be)
{
	struct xrt_be *x = (struct xrt_be *)be;

	npu_worker_stop(&x->w);
	for (unsigned s = 0; s < NPU_XRT_SLOTS; s++) {
		uint64_t now = now_ns(), left;

		if (x->slot[s].state != SLOT_ABANDONED)
			continue;
		left = x->slot[s].deadline_ns > now ? x->slot[s].deadline_ns - now : 0;
		if (x->ops->reclaim(x->dev, s, (unsigned)(left / 1000000ull) + 1))
			retire(x, s);
	}
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

static int say(char *why, size_t whylen, int ret, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static int say(char *why, size_t whylen, int ret, const char *fmt, ...)
{
	va_list ap;

	if (why && whylen) {
		va_start(ap, fmt);
		vsnprintf(why, whylen, fmt, ap);
		va_end(ap);
	}
	return ret;
}

/*
 * The weights region's size: NPU_WEIGHTS_MB, else 512 MB, fitted under
 * RLIMIT_MEMLOCK when @pinned (the device's buffers are locked memory).
 */
static int region_size(bool pinned, size_t *bytes, char *why, size_t whylen)
{
	const char *env = getenv("NPU_WEIGHTS_MB");
	size_t mb = amn_env_ulong("NPU_WEIGHTS_MB", 1, MAX_REGION_MB, DEFAULT_REGION_MB);
	unsigned long long got;
	char msg[320];
	int ret;

	*bytes = mb << 20;
	if (!pinned)
		return 0;
	unsigned long v;
	/* a size the user chose is refused rather than cut */
	bool chosen = env && amn_parse_ulong(env, 1, MAX_REGION_MB, &v) == 0;

	ret = npu_xrt_region_fit((unsigned long long)mb << 20, chosen, npu_xrt_memlock_limit(),
				 &got, msg, sizeof(msg));
	if (ret < 0)
		return say(why, whylen, ret, "%s", msg);
	if (ret > 0)
		fprintf(stderr, "amanuensis: xrt: %s\n", msg);
	*bytes = (size_t)got;
	return 0;
}

/* Set up the region and the worker around an opened device. */
static int backend_start(struct npu_backend **out, const struct tile_opts *tile,
			 const struct npu_xrt_dev_ops *ops, void *dev, bool shared, bool pinned,
			 const char *name, char *why, size_t whylen)
{
	size_t region_bytes = ops->weights_size(dev);
	struct xrt_be *x;
	int ret;

	/* the shared device keeps the weights buffer an earlier engine sized */
	if (!region_bytes) {
		ret = region_size(pinned, &region_bytes, why, whylen);
		if (ret)
			return ret;
	}
	x = calloc(1, sizeof(*x));
	if (!x)
		return say(why, whylen, -ENOMEM, "out of memory");
	x->ops = ops;
	x->dev = dev;
	x->shared_dev = shared;
	x->timeout_ms = (unsigned)amn_env_ulong("NPU_RUN_TIMEOUT_MS", 0, UINT_MAX,
						DEFAULT_TIMEOUT_MS);
	x->hang_ms = (unsigned)amn_env_ulong("NPU_RUN_HANG_MS", 1, UINT_MAX / 2, DEFAULT_HANG_MS);
	x->region = ops->weights_map(dev);
	if (!x->region) {
		ret = ops->weights_alloc(dev, region_bytes);
		x->region = ret ? NULL : ops->weights_map(dev);
	}
	if (!x->region || tile_region_init(x->region, region_bytes, REGION_TABLE) ||
	    ops->weights_sync(dev, 0, sizeof(struct tile_region_hdr))) {
		free(x);
		return say(why, whylen, -ENOMEM, "cannot set up a %zu MB weights region%s",
			   region_bytes >> 20, pinned ? " (host-only, locked memory: see `ulimit -l`)" : "");
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
		return say(why, whylen, ret, "cannot start the device thread: %s", strerror(-ret));
	}
	*out = &x->w.be;
	return 0;
}

static int loopback_open(struct npu_backend **out, const struct tile_opts *tile, char *why,
			 size_t whylen)
{
	struct npu_xrt_loopback_opts o = {
		.fail_every = (unsigned)amn_env_ulong("NPU_XRT_LOOPBACK_FAIL_EVERY", 0, UINT_MAX, 0),
		.timeout_every = (unsigned)amn_env_ulong("NPU_XRT_LOOPBACK_TIMEOUT_EVERY", 0,
							 UINT_MAX, 0),
		.hang_every = (unsigned)amn_env_ulong("NPU_XRT_LOOPBACK_HANG_EVERY", 0, UINT_MAX, 0),
		.hang_ms = (unsigned)amn_env_ulong("NPU_XRT_LOOPBACK_HANG_MS", 0, 600000, 500),
	};
	/* the software device pins nothing; NPU_XRT_LOOPBACK_MEMLOCK=1 checks as the NPU does */
	bool pinned = amn_env_bool("NPU_XRT_LOOPBACK_MEMLOCK", false);
	void *dev;
	int ret = npu_xrt_loopback_open(&dev, &o);

	if (ret)
		return say(why, whylen, ret, "out of memory");
	ret = backend_start(out, tile, &npu_xrt_loopback_ops, dev, false, pinned,
			    "xrt loopback (software device)", why, whylen);
	if (ret)
		npu_xrt_loopback_ops.close(dev);
	return ret;
}

#ifdef AMN_HAVE_XRT_HWCTX
static int shim_weights_alloc(void *d, size_t n) { return npu_xrt_weights_alloc(d, n); }
static void *shim_weights_map(void *d) { return npu_xrt_weights_map(d); }
static size_t shim_weights_size(void *d) { return npu_xrt_weights_size(d); }
static int shim_weights_sync(void *d, size_t o, size_t n) { return npu_xrt_weights_sync(d, o, n); }
static int shim_slot_buffers(void *d, unsigned s, size_t i, size_t o)
{
	return npu_xrt_slot_buffers(d, s, i, o);
}
static void *shim_slot_in(void *d, unsigned s) { return npu_xrt_slot_in(d, s); }
static void *shim_slot_out(void *d, unsigned s) { return npu_xrt_slot_out(d, s); }
static int shim_start(void *d, unsigned s, size_t i, size_t o) { return npu_xrt_start(d, s, i, o); }
static int shim_wait(void *d, unsigned s, unsigned t) { return npu_xrt_wait(d, s, t); }
static int shim_reclaim(void *d, unsigned s, unsigned t) { return npu_xrt_reclaim(d, s, t); }
static const char *shim_last_error(void *d) { return npu_xrt_last_error(d); }
static void shim_close(void *d) { npu_xrt_close(d); }

static const struct npu_xrt_dev_ops shim_ops = {
	.weights_alloc = shim_weights_alloc,
	.weights_map = shim_weights_map,
	.weights_size = shim_weights_size,
	.weights_sync = shim_weights_sync,
	.slot_buffers = shim_slot_buffers,
	.slot_in = shim_slot_in,
	.slot_out = shim_slot_out,
	.start = shim_start,
	.wait = shim_wait,
	.reclaim = shim_reclaim,
	.last_error = shim_last_error,
	.close = shim_close,
};

/*
 * One shim (device, xclbin, hardware context, kernel, buffers) per process:
 * contexts are scarce and cost ~35 ms to create. Its slots and weights
 * region serve one engine at a time; a second engine that asks for xrt
 * while the first holds it gets -EBUSY and runs on the CPU. It is never
 * closed: a run left in flight by one engine is seen by the next one's
 * start (-EBUSY), and process exit does not wait for the device.
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
		    const struct npu_probe_info *info, char *why, size_t whylen)
{
	struct npu_xrt_files files;
	char err[PATH_MAX + 320] = "", name[64];
	int ret = 0;

	pthread_mutex_lock(&shared_lock);
	if (shared_busy) {
		pthread_mutex_unlock(&shared_lock);
		return say(why, whylen, -EBUSY, "the NPU is in use by another engine of this "
			   "process");
	}
	if (!shared_xrt) {
		ret = npu_xrt_files_pick(&files, info->family, info->bdf, err, sizeof(err));
		if (!ret) {
			ret = npu_xrt_open(&shared_xrt, info->bdf, files.xclbin, files.instr.words,
					   files.instr.n, err, sizeof(err));
			npu_xrt_files_free(&files);
		}
	}
	if (!ret) {
		snprintf(name, sizeof(name), "xrt %s %s", info->family, info->bdf);
		ret = backend_start(out, tile, &shim_ops, shared_xrt, true, true, name, err,
				    sizeof(err));
		if (!ret) {
			shared_busy = true;
			(*out)->ops = &shim_backend_ops;
		}
	}
	pthread_mutex_unlock(&shared_lock);
	if (ret)
		return say(why, whylen, ret, "%s NPU at %s: %s",
			   npu_probe_family_name(info->family), info->bdf,
			   *err ? err : strerror(-ret));
	return 0;
}
#endif

int npu_backend_xrt_open(struct npu_backend **out, const struct tile_opts *tile, char *why,
			 size_t whylen)
{
	const char *dev = getenv("NPU_XRT_DEVICE");
	struct npu_probe_info info;
	int ret;

	if (dev && !strcmp(dev, "loopback"))
		return loopback_open(out, tile, why, whylen);
	ret = npu_probe(&info, NULL, NULL);
	if (ret)
		return say(why, whylen, ret, "%s", info.why);
#ifndef AMN_HAVE_XRT_HWCTX
	return say(why, whylen, -ENOSYS, "found a %s NPU at %s (%s), but this build has no "
		   "XRT >= 2.18: install XRT and rebuild (make prints which XRT it found)",
		   npu_probe_family_name(info.family), info.bdf, info.dev_path);
#else
	return xrt_open(out, tile, &info, why, whylen);
#endif
}
