/* SPDX-License-Identifier: MIT */
/*
 * sched/npu_backend_xrt.c - the xrt backend, C side.
 *
 * Order matters: probe sysfs and the device node first (npu_probe.c), and
 * only then call into the C++ shim (sched/xrt/), which exists only in builds
 * against XRT >= 2.18. Debian's XRT 2.13 cannot drive the NPU and aborts the
 * process from its C API when no device is set up, so it is never called.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#include "sched/npu_backend.h"
#include "sched/npu_probe.h"
#ifdef AMN_HAVE_XRT_HWCTX
#include "sched/xrt/npu_xrt_shim.h"
#endif

#ifdef AMN_HAVE_XRT_HWCTX
/*
 * One shim (device, xclbin, hardware context, kernel) per process, shared by
 * every engine and tenant: contexts are scarce and cost ~35 ms to create.
 */
static struct npu_xrt *shared_xrt;
static pthread_mutex_t shared_lock = PTHREAD_MUTEX_INITIALIZER;

static int xrt_open(struct npu_backend **out, const struct tile_opts *tile,
		    const struct npu_probe_info *info)
{
	const char *xclbin = getenv("NPU_MATMUL_XCLBIN");
	const char *instr = getenv("NPU_MATMUL_INSTR");
	char err[256] = "";
	int ret = 0;

	(void)out;
	(void)tile;
	if (!xclbin || !instr) {
		fprintf(stderr, "amanuensis: xrt: set NPU_MATMUL_XCLBIN and NPU_MATMUL_INSTR to the "
			"batch kernel's xclbin and instruction file; using the CPU\n");
		return -ENODEV;
	}
	pthread_mutex_lock(&shared_lock);
	if (!shared_xrt)
		ret = npu_xrt_open(&shared_xrt, (unsigned)info->index, xclbin, instr, err,
				   sizeof(err));
	pthread_mutex_unlock(&shared_lock);
	if (ret) {
		fprintf(stderr, "amanuensis: xrt: %s: %s; using the CPU\n", info->dev_path, err);
		return -ENODEV;
	}
	/*
	 * The device is open. Running batches needs the tiler's batch bytes
	 * (tiler/tile_job.h) packed into the shim's input buffer; until that
	 * ABI is wired here the engine runs on the CPU rather than send every
	 * run to the fallback path.
	 */
	fprintf(stderr, "amanuensis: xrt: %s %s opened; batch packing for the NPU is not wired "
		"yet, using the CPU\n", info->family, info->dev_path);
	return -ENODEV;
}
#endif

int npu_backend_xrt_open(struct npu_backend **out, const struct tile_opts *tile)
{
	struct npu_probe_info info;
	int ret;

	(void)out;
	(void)tile;
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
