/* SPDX-License-Identifier: MIT */
/*
 * tests/helpers/fake_accel.h - fake /sys/class/accel and /dev/accel trees
 * for the NPU probe (npu_probe(), or $NPU_PROBE_SYSFS and $NPU_PROBE_DEV).
 */
#ifndef AMN_TEST_FAKE_ACCEL_H
#define AMN_TEST_FAKE_ACCEL_H

#include <stdbool.h>

/**
 * fake_accel_add - add accel@idx under @root, as sysfs lays it out:
 * @root/pci/0000:c5:00.@idx/{vendor,device,numa_node,driver -> @root/drivers/@driver},
 * the link @root/sys/accel@idx/device to it, and, when @node, the file
 * @root/dev/accel@idx. @dev_id is the device file's text, e.g. "0x17f0\n".
 * Return: 0, or -1 if any step failed.
 */
int fake_accel_add(const char *root, int idx, const char *driver, const char *dev_id, bool node);

/** fake_accel_remove - rm -rf @root. Return: 0 or -1. */
int fake_accel_remove(const char *root);

#endif
