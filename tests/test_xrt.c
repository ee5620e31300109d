/* SPDX-License-Identifier: MIT */
/*
 * tests/test_xrt.c - the NPU probe on fake sysfs trees, and on this machine
 * (no NPU): "no device" cleanly, and the engine goes on with cpu.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sched/npu.h"
#include "sched/npu_probe.h"

static void put(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	cr_assert_not_null(f, "%s", path);
	fputs(text, f);
	fclose(f);
}

/* Build root/sys/accelN/device/{vendor,device,numa_node,driver} and root/dev/accelN. */
static void fake_device(const char *root, int idx, const char *driver, const char *dev_id,
			bool node)
{
	char p[256], q[1024];

	snprintf(p, sizeof(p), "%s/sys/accel%d/device", root, idx);
	snprintf(q, sizeof(q), "mkdir -p %s %s/drivers/%s %s/dev", p, root, driver, root);
	cr_assert_eq(system(q), 0);
	snprintf(q, sizeof(q), "%s/vendor", p);
	put(q, "0x1022\n");
	snprintf(q, sizeof(q), "%s/device", p);
	put(q, dev_id);
	snprintf(q, sizeof(q), "%s/numa_node", p);
	put(q, "0\n");
	snprintf(q, sizeof(q), "%s/driver", p);
	snprintf(p, sizeof(p), "%s/drivers/%s", root, driver);
	cr_assert_eq(symlink(p, q), 0);
	if (node) {
		snprintf(p, sizeof(p), "%s/dev/accel%d", root, idx);
		put(p, "");
	}
}

Test(xrt, probe_fake_trees)
{
	char root[] = "/tmp/amn-probe-XXXXXX", sys[300], dev[300], cmd[400];
	struct npu_probe_info info;

	cr_assert_not_null(mkdtemp(root));
	snprintf(sys, sizeof(sys), "%s/sys", root);
	snprintf(dev, sizeof(dev), "%s/dev", root);
	/* A GPU-like accel with another driver, and an unknown AMD id: ignored. */
	fake_device(root, 0, "habanalabs", "0x1502\n", true);
	fake_device(root, 1, "amdxdna", "0x1234\n", true);
	cr_expect_eq(npu_probe(&info, sys, dev), -ENODEV);
	/* A Phoenix NPU whose node this user cannot open (missing node). */
	fake_device(root, 2, "amdxdna", "0x1502\n", false);
	cr_expect_eq(npu_probe(&info, sys, dev), -EACCES);
	/* A Strix NPU with its node present. */
	fake_device(root, 3, "amdxdna", "0x17f0\n", true);
	cr_assert_eq(npu_probe(&info, sys, dev), 0);
	cr_expect_eq(info.index, 3);
	cr_expect_str_eq(info.family, "strix");
	cr_expect_eq(info.numa_node, 0);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", root);
	cr_expect_eq(system(cmd), 0);
}

Test(xrt, no_device_here_engine_uses_cpu)
{
	struct npu_engine_opts xo = { .backend = "xrt" }, ao = { .backend = "auto" };
	struct npu_probe_info info;
	struct npu_engine *e;

	if (!npu_probe(&info, NULL, NULL))
		cr_skip_test("this machine has an NPU at %s", info.dev_path);
	cr_expect_eq(npu_probe(&info, NULL, NULL), -ENODEV);
	cr_expect_eq(npu_engine_open(&e, &xo), -ENODEV);
	cr_assert_eq(npu_engine_open(&e, &ao), 0);
	cr_expect_str_eq(npu_engine_backend_name(e), "cpu");
	npu_engine_close(e);
}
