/* SPDX-License-Identifier: MIT */
/*
 * tests/helpers/fake_accel.c - fake accel trees for the probe tests.
 */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "tests/helpers/fake_accel.h"

static int put(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	if (!f)
		return -1;
	fputs(text, f);
	return fclose(f) ? -1 : 0;
}

int fake_accel_add(const char *root, int idx, const char *driver, const char *dev_id, bool node)
{
	char p[512], q[1024], pci[512];

	snprintf(pci, sizeof(pci), "%s/pci/0000:c5:00.%d", root, idx);
	snprintf(q, sizeof(q), "mkdir -p '%s' '%s/sys/accel%d' '%s/drivers/%s' '%s/dev'", pci, root,
		 idx, root, driver, root);
	if (system(q))
		return -1;
	snprintf(q, sizeof(q), "%s/vendor", pci);
	if (put(q, "0x1022\n"))
		return -1;
	snprintf(q, sizeof(q), "%s/device", pci);
	if (put(q, dev_id))
		return -1;
	snprintf(q, sizeof(q), "%s/numa_node", pci);
	if (put(q, "0\n"))
		return -1;
	snprintf(q, sizeof(q), "%s/driver", pci);
	snprintf(p, sizeof(p), "%s/drivers/%s", root, driver);
	if (symlink(p, q))
		return -1;
	snprintf(q, sizeof(q), "%s/sys/accel%d/device", root, idx);
	if (symlink(pci, q))
		return -1;
	if (node) {
		snprintf(p, sizeof(p), "%s/dev/accel%d", root, idx);
		if (put(p, ""))
			return -1;
	}
	return 0;
}

int fake_accel_remove(const char *root)
{
	char cmd[600];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
	return system(cmd) ? -1 : 0;
}
