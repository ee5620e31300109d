/* SPDX-License-Identifier: MIT */
/*
 * sched/npu_probe.h - find an AMD NPU through sysfs and the device node,
 * without touching XRT (whose C API aborts the process when no device or no
 * XILINX_XRT is there).
 */
#ifndef AMN_NPU_PROBE_H
#define AMN_NPU_PROBE_H

#include <stddef.h>

/**
 * struct npu_probe_info - what the probe found.
 * @index:     N of /dev/accel/accelN.
 * @vendor, @device: the PCI id.
 * @family:    "phoenix" (Phoenix and Hawk Point, PCI 1022:1502) or "strix"
 *             (Strix and later, 1022:17f0).
 * @bdf:       the PCI address, e.g. "0000:c5:00.1": the basename of the
 *             /sys/class/accel/accelN/device link, which is how XRT opens
 *             the device (its own numbering follows sorted PCI addresses,
 *             not accel indices).
 * @numa_node: -1 if unknown.
 * @dev_path:  the device node.
 * @why:       on failure, one line saying why no device is usable.
 */
struct npu_probe_info {
	int index;
	unsigned vendor, device;
	const char *family;
	int numa_node;
	char bdf[32];
	char dev_path[64];
	char why[256];
};

/**
 * npu_probe - look for an amdxdna accelerator the process may open.
 * @info:      filled for the usable device with the lowest accel index.
 * @sysfs_dir: NULL for $NPU_PROBE_SYSFS, else "/sys/class/accel" (tests
 *             pass a fake tree).
 * @dev_dir:   NULL for $NPU_PROBE_DEV, else "/dev/accel".
 * A device counts if its driver is amdxdna, its PCI id is 1022:1502 or
 * 1022:17f0, its device link names a PCI address, and access(dev_path,
 * R_OK | W_OK) succeeds.
 * Return: 0; -ENODEV if there is none (no accel device, none bound to
 * amdxdna, or an NPU of an unknown family), -EACCES if one exists but
 * cannot be opened by this user. @info->why says which, in words.
 */
int npu_probe(struct npu_probe_info *info, const char *sysfs_dir, const char *dev_dir);

/** npu_probe_numa_node - the NPU's NUMA node, or -1 (no NPU or unknown). */
int npu_probe_numa_node(void);

/** npu_probe_family_name - "Phoenix/Hawk Point" or "Strix" for a family, else @family. */
const char *npu_probe_family_name(const char *family);

#endif /* AMN_NPU_PROBE_H */
