/* SPDX-License-Identifier: MIT */
/*
 * sched/npu_probe.h - find an AMD NPU through sysfs and the device node,
 * without touching XRT (whose C API aborts the process when no device or no
 * XILINX_XRT is there).
 */
#ifndef AMN_NPU_PROBE_H
#define AMN_NPU_PROBE_H

#include <stddef.h>

struct npu_probe_info {
	int index;              /* N of /dev/accel/accelN */
	unsigned vendor, device;
	const char *family;     /* "phoenix" (also Hawk Point) or "strix" */
	int numa_node;          /* -1 if unknown */
	char dev_path[64];
};

/**
 * npu_probe - look for an amdxdna accelerator the process may open.
 * @info:      filled for the first usable device.
 * @sysfs_dir: NULL for "/sys/class/accel" (tests pass a fake tree).
 * @dev_dir:   NULL for "/dev/accel".
 * A device counts if its driver is amdxdna, its PCI id is 1022:1502 or
 * 1022:17f0, and access(dev_path, R_OK | W_OK) succeeds.
 * Return: 0, -ENODEV if there is none, -EACCES if one exists but cannot be
 * opened by this user.
 */
int npu_probe(struct npu_probe_info *info, const char *sysfs_dir, const char *dev_dir);

/** npu_probe_numa_node - the NPU's NUMA node, or -1 (no NPU or unknown). */
int npu_probe_numa_node(void);

#endif /* AMN_NPU_PROBE_H */
