/* SPDX-License-Identifier: MIT */
/*
 * sched/npu_probe.c - NPU discovery through sysfs, before any XRT call.
 */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sched/npu_probe.h"

static int read_hex(const char *path, unsigned *v)
{
	FILE *f = fopen(path, "re");
	int ok;

	if (!f)
		return -errno;
	ok = fscanf(f, "%x", v) == 1;
	fclose(f);
	return ok ? 0 : -EINVAL;
}

static int read_int(const char *path, int *v)
{
	FILE *f = fopen(path, "re");
	int ok;

	if (!f)
		return -errno;
	ok = fscanf(f, "%d", v) == 1;
	fclose(f);
	return ok ? 0 : -EINVAL;
}

static const char *family_of(unsigned vendor, unsigned device)
{
	if (vendor != 0x1022)
		return NULL;
	if (device == 0x1502)
		return "phoenix";
	if (device == 0x17f0)
		return "strix";
	return NULL;
}

int npu_probe(struct npu_probe_info *info, const char *sysfs_dir, const char *dev_dir)
{
	char path[PATH_MAX], link[PATH_MAX];
	int ret = -ENODEV;
	struct dirent *de;
	DIR *d;

	if (!sysfs_dir)
		sysfs_dir = "/sys/class/accel";
	if (!dev_dir)
		dev_dir = "/dev/accel";
	d = opendir(sysfs_dir);
	if (!d)
		return -ENODEV;
	while ((de = readdir(d))) {
		unsigned vendor, device;
		const char *drv, *fam;
		ssize_t n;
		int idx;

		if (sscanf(de->d_name, "accel%d", &idx) != 1)
			continue;
		snprintf(path, sizeof(path), "%s/%s/device/driver", sysfs_dir, de->d_name);
		n = readlink(path, link, sizeof(link) - 1);
		if (n <= 0)
			continue;
		link[n] = '\0';
		drv = strrchr(link, '/');
		drv = drv ? drv + 1 : link;
		if (strcmp(drv, "amdxdna"))
			continue;
		snprintf(path, sizeof(path), "%s/%s/device/vendor", sysfs_dir, de->d_name);
		if (read_hex(path, &vendor))
			continue;
		snprintf(path, sizeof(path), "%s/%s/device/device", sysfs_dir, de->d_name);
		if (read_hex(path, &device))
			continue;
		fam = family_of(vendor, device);
		if (!fam)
			continue;
		snprintf(info->dev_path, sizeof(info->dev_path), "%s/accel%d", dev_dir, idx);
		if (access(info->dev_path, R_OK | W_OK)) {
			ret = -EACCES;
			continue;
		}
		info->index = idx;
		info->vendor = vendor;
		info->device = device;
		info->family = fam;
		snprintf(path, sizeof(path), "%s/%s/device/numa_node", sysfs_dir, de->d_name);
		if (read_int(path, &info->numa_node))
			info->numa_node = -1;
		ret = 0;
		break;
	}
	closedir(d);
	return ret;
}

int npu_probe_numa_node(void)
{
	struct npu_probe_info info;

	if (npu_probe(&info, NULL, NULL))
		return -1;
	return info.numa_node;
}
