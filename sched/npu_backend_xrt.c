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
#include <stdio.h>
#include <stdlib.h>

#include "sched/npu_backend.h"
#include "sched/npu_probe.h"
#ifdef AMN_HAVE_XRT_HWCTX
#include "sched/xrt/npu_xrt_shim.h"
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
	ret = npu_xrt_backend_open(out, tile, &info);
	if (ret)
		fprintf(stderr, "amanuensis: xrt: %s: opening the NPU failed (%d); using the CPU\n",
			info.dev_path, ret);
	return ret ? -ENODEV : 0;
#endif
}
