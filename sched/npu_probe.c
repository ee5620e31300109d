/* SPDX-License-Identifier: MIT */
/*
 * sched/npu_probe.c - NPU discovery through sysfs, before any XRT call.
 *
 * Devices are looked at in accel index order. Each one that is not usable
 * leaves a reason; when none is usable, the reason that matters most to the
 * user wins (a node they cannot open, then an NPU of a family this build
 * does not know, then accel devices of another driver, then nothing at all).
 */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sched/npu_probe.h"

enum { WHY_NONE, WHY_OTHER_DRIVER, WHY_NO_BDF, WHY_FAMILY, WHY_ACCESS };

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

const char *npu_probe_family_name(const char *family)
{
	if (family && !strcmp(family, "phoenix"))
		return "Phoenix/Hawk Point";
	if (family && !strcmp(family, "strix"))
		return "Strix";
	return family ? family : "unknown";
}

/* A PCI address as sysfs names it: DDDD:BB:DD.F in hex. */
static int is_bdf(const char *s)
{
	static const char shape[] = "hhhh:hh:hh.h";

	if (strlen(s) != sizeof(shape) - 1)
		return 0;
	for (size_t i = 0; shape[i]; i++) {
		if (shape[i] == 'h' ? !strchr("0123456789abcdefABCDEF", s[i]) || !s[i]
				    : s[i] != shape[i])
			return 0;
	}
	return 1;
}

/* The last path component of the link at @path, into @out. */
static int link_base(const char *path, char *out, size_t outlen)
{
	char link[PATH_MAX];
	const char *b;
	ssize_t n = readlink(path, link, sizeof(link) - 1);

	if (n <= 0)
		return -EINVAL;
	link[n] = '\0';
	b = strrchr(link, '/');
	b = b ? b + 1 : link;
	if (strlen(b) >= outlen)
		return -ENAMETOOLONG;
	memcpy(out, b, strlen(b) + 1);
	return 0;
}

static int by_index(const void *a, const void *b)
{
	int x = *(const int *)a, y = *(const int *)b;

	return (x > y) - (x < y);
}

/* The accel indices under @sysfs_dir, sorted; returns the count or -errno. */
static int list_accels(const char *sysfs_dir, int *idx, int max)
{
	struct dirent *de;
	DIR *d = opendir(sysfs_dir);
	int n = 0;

	if (!d)
		return -errno;
	while ((de = readdir(d)) && n < max) {
		char tail;
		int i;

		if (sscanf(de->d_name, "accel%d%c", &i, &tail) == 1 && i >= 0)
			idx[n++] = i;
	}
	closedir(d);
	qsort(idx, (size_t)n, sizeof(*idx), by_index);
	return n;
}

int npu_probe(struct npu_probe_info *info, const char *sysfs_dir, const char *dev_dir)
{
	char path[PATH_MAX], drv[128], bdf[64], other[96] = "";
	int idx[256], n, best = WHY_NONE;

	memset(info, 0, sizeof(*info));
	info->index = -1;
	info->numa_node = -1;
	if (!sysfs_dir)
		sysfs_dir = getenv("NPU_PROBE_SYSFS");
	if (!sysfs_dir || !*sysfs_dir)
		sysfs_dir = "/sys/class/accel";
	if (!dev_dir)
		dev_dir = getenv("NPU_PROBE_DEV");
	if (!dev_dir || !*dev_dir)
		dev_dir = "/dev/accel";
	n = list_accels(sysfs_dir, idx, (int)(sizeof(idx) / sizeof(idx[0])));
	for (int k = 0; k < n; k++) {
		unsigned vendor, device;
		const char *fam;
		char node[64];

		snprintf(path, sizeof(path), "%s/accel%d/device/driver", sysfs_dir, idx[k]);
		if (link_base(path, drv, sizeof(drv)))
			snprintf(drv, sizeof(drv), "no driver");
		if (strcmp(drv, "amdxdna")) {
			if (best < WHY_OTHER_DRIVER) {
				best = WHY_OTHER_DRIVER;
				snprintf(other, sizeof(other), "accel%d: %s", idx[k], drv);
			}
			continue;
		}
		snprintf(path, sizeof(path), "%s/accel%d/device/vendor", sysfs_dir, idx[k]);
		if (read_hex(path, &vendor))
			vendor = 0;
		snprintf(path, sizeof(path), "%s/accel%d/device/device", sysfs_dir, idx[k]);
		if (read_hex(path, &device))
			device = 0;
		fam = family_of(vendor, device);
		if (!fam) {
			if (best < WHY_FAMILY) {
				best = WHY_FAMILY;
				snprintf(info->why, sizeof(info->why),
					 "accel%d: the amdxdna device %04x:%04x is not an NPU family "
					 "this build knows (Phoenix/Hawk Point 1022:1502, Strix "
					 "1022:17f0)", idx[k], vendor, device);
			}
			continue;
		}
		snprintf(path, sizeof(path), "%s/accel%d/device", sysfs_dir, idx[k]);
		if (link_base(path, bdf, sizeof(bdf)) || !is_bdf(bdf)) {
			if (best < WHY_NO_BDF) {
				best = WHY_NO_BDF;
				snprintf(info->why, sizeof(info->why),
					 "accel%d: %s/accel%d/device is not a link to a PCI device, "
					 "so its address is unknown", idx[k], sysfs_dir, idx[k]);
			}
			continue;
		}
		snprintf(node, sizeof(node), "%s/accel%d", dev_dir, idx[k]);
		if (access(node, R_OK | W_OK)) {
			if (best < WHY_ACCESS) {
				best = WHY_ACCESS;
				snprintf(info->dev_path, sizeof(info->dev_path), "%s", node);
				snprintf(info->why, sizeof(info->why),
					 "%s (%s NPU at %s) is not readable and writable by this "
					 "user: add your user to the render group (sudo usermod -aG "
					 "render $USER) and log in again", node, npu_probe_family_name(fam),
					 bdf);
			}
			continue;
		}
		info->index = idx[k];
		info->vendor = vendor;
		info->device = device;
		info->family = fam;
		snprintf(info->bdf, sizeof(info->bdf), "%s", bdf);
		snprintf(info->dev_path, sizeof(info->dev_path), "%s", node);
		snprintf(path, sizeof(path), "%s/accel%d/device/numa_node", sysfs_dir, idx[k]);
		if (read_int(path, &info->numa_node))
			info->numa_node = -1;
		info->why[0] = '\0';
		return 0;
	}
	if (best == WHY_NONE)
		snprintf(info->why, sizeof(info->why),
			 "no accelerator device in %s: no NPU here, or the amdxdna driver is "
			 "not loaded", sysfs_dir);
	else if (best == WHY_OTHER_DRIVER)
		snprintf(info->why, sizeof(info->why),
			 "no accelerator device is bound to the amdxdna driver (%s%s); load it "
			 "(Linux >= 6.14, or the amdxdna DKMS module)", other,
			 n > 1 ? ", ..." : "");
	return best == WHY_ACCESS ? -EACCES : -ENODEV;
}

int npu_probe_numa_node(void)
{
	struct npu_probe_info info;

	if (npu_probe(&info, NULL, NULL))
		return -1;
	return info.numa_node;
}
