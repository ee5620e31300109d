/* SPDX-License-Identifier: MIT */
/*
 * tests/test_xrt.c - the NPU probe on fake sysfs trees (PCI address, family,
 * every refusal with its reason), and on this machine (no NPU): "no device"
 * cleanly, and the engine goes on with cpu. What the xrt backend decides in
 * C before XRT: instruction files in both forms and every malformed case,
 * kernel files per family, the weights region under RLIMIT_MEMLOCK.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sched/npu.h"
#include "sched/npu_probe.h"
#include "sched/xrt/npu_xrt_config.h"
#include "sched/xrt/npu_xrt_instr.h"
#include "tests/helpers/fake_accel.h"

static void put(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	cr_assert_not_null(f, "%s", path);
	fputs(text, f);
	fclose(f);
}

static void fake_device(const char *root, int idx, const char *driver, const char *dev_id,
			bool node)
{
	cr_assert_eq(fake_accel_add(root, idx, driver, dev_id, node), 0, "fake accel%d", idx);
}

static void rm_tree(const char *root)
{
	cr_expect_eq(fake_accel_remove(root), 0);
}

Test(xrt, probe_fake_trees)
{
	char root[] = "/tmp/amn-probe-XXXXXX", sys[300], dev[300];
	struct npu_probe_info info;

	cr_assert_not_null(mkdtemp(root));
	snprintf(sys, sizeof(sys), "%s/sys", root);
	snprintf(dev, sizeof(dev), "%s/dev", root);
	/* no accel class at all */
	cr_expect_eq(npu_probe(&info, sys, dev), -ENODEV);
	cr_expect(strstr(info.why, "no accelerator device"), "%s", info.why);
	/* A GPU-like accel with another driver: ignored, and named. */
	fake_device(root, 0, "habanalabs", "0x1502\n", true);
	cr_expect_eq(npu_probe(&info, sys, dev), -ENODEV);
	cr_expect(strstr(info.why, "amdxdna") && strstr(info.why, "accel0: habanalabs"), "%s",
		  info.why);
	/* An amdxdna device of an unknown id: a family this build does not know. */
	fake_device(root, 1, "amdxdna", "0x1234\n", true);
	cr_expect_eq(npu_probe(&info, sys, dev), -ENODEV);
	cr_expect(strstr(info.why, "1022:1234") && strstr(info.why, "family"), "%s", info.why);
	/* A Phoenix NPU whose node this user cannot open (missing node). */
	fake_device(root, 2, "amdxdna", "0x1502\n", false);
	cr_expect_eq(npu_probe(&info, sys, dev), -EACCES);
	cr_expect(strstr(info.why, "render") && strstr(info.why, "0000:c5:00.2"), "%s", info.why);
	/* A Strix NPU with its node present, behind three other accel devices. */
	fake_device(root, 3, "amdxdna", "0x17f0\n", true);
	cr_assert_eq(npu_probe(&info, sys, dev), 0);
	cr_expect_eq(info.index, 3);
	cr_expect_str_eq(info.family, "strix");
	cr_expect_str_eq(info.bdf, "0000:c5:00.3");   /* what XRT opens, not index 3 */
	cr_expect_eq(info.numa_node, 0);
	cr_expect_str_eq(info.why, "");
	rm_tree(root);
}

/* A device link that does not name a PCI address is refused, not guessed. */
Test(xrt, probe_needs_a_pci_address)
{
	char root[] = "/tmp/amn-probe-XXXXXX", p[400], q[400];
	struct npu_probe_info info;

	cr_assert_not_null(mkdtemp(root));
	fake_device(root, 0, "amdxdna", "0x1502\n", true);
	snprintf(p, sizeof(p), "%s/sys/accel0/device", root);
	cr_assert_eq(unlink(p), 0);
	snprintf(q, sizeof(q), "%s/pci/not-a-bdf", root);
	cr_assert_eq(rename(strcat(strcpy(p, root), "/pci/0000:c5:00.0"), q), 0);
	snprintf(p, sizeof(p), "%s/sys/accel0/device", root);
	cr_assert_eq(symlink(q, p), 0);
	snprintf(p, sizeof(p), "%s/sys", root);
	snprintf(q, sizeof(q), "%s/dev", root);
	cr_expect_eq(npu_probe(&info, p, q), -ENODEV);
	cr_expect(strstr(info.why, "PCI"), "%s", info.why);
	rm_tree(root);
}

/* The engine on a fake tree: auto goes on with the CPU; xrt says why. */
Test(xrt, fake_tree_refusals_leave_the_cpu)
{
	char root[] = "/tmp/amn-probe-XXXXXX", sys[300], dev[300], why[512];
	struct npu_engine_opts xo = { .backend = "xrt", .why = why, .why_len = sizeof(why) };
	struct npu_engine_opts ao = { .backend = "auto" };
	struct npu_engine *e;

	cr_assert_not_null(mkdtemp(root));
	snprintf(sys, sizeof(sys), "%s/sys", root);
	snprintf(dev, sizeof(dev), "%s/dev", root);
	unsetenv("NPU_XRT_DEVICE");
	setenv("NPU_PROBE_SYSFS", sys, 1);
	setenv("NPU_PROBE_DEV", dev, 1);
	fake_device(root, 0, "amdxdna", "0x17f0\n", false);
	cr_expect_eq(npu_engine_open(&e, &xo), -ENODEV);
	cr_expect(strstr(why, "render"), "%s", why);
	cr_assert_eq(npu_engine_open(&e, &ao), 0);
	cr_expect_str_eq(npu_engine_backend_name(e), "cpu");
	npu_engine_close(e);
	snprintf(why, sizeof(why), "%s/dev/accel0", root);
	put(why, "");
	why[0] = '\0';
	/* usable node now; this build may have no XRT, or no kernel files for strix */
	setenv("NPU_MATMUL_DIR", root, 1);
	unsetenv("NPU_MATMUL_XCLBIN");
	unsetenv("NPU_MATMUL_INSTR");
	if (npu_engine_open(&e, &xo) == 0) {
		npu_engine_close(e);
		cr_assert_fail("opened an NPU on a fake tree");
	}
	cr_expect(strstr(why, "XRT >= 2.18") || strstr(why, "no batch kernel for the Strix"),
		  "%s", why);
	cr_expect(strstr(why, "0000:c5:00.0"), "%s", why);
	cr_assert_eq(npu_engine_open(&e, &ao), 0);
	cr_expect_str_eq(npu_engine_backend_name(e), "cpu");
	npu_engine_close(e);
	unsetenv("NPU_PROBE_SYSFS");
	unsetenv("NPU_PROBE_DEV");
	unsetenv("NPU_MATMUL_DIR");
	rm_tree(root);
}

Test(xrt, no_device_here_engine_uses_cpu)
{
	struct npu_engine_opts xo = { .backend = "xrt" }, ao = { .backend = "auto" };
	struct npu_probe_info info;
	struct npu_engine *e;

	unsetenv("NPU_PROBE_SYSFS");
	unsetenv("NPU_PROBE_DEV");
	unsetenv("NPU_XRT_DEVICE");
	if (!npu_probe(&info, NULL, NULL))
		cr_skip_test("this machine has an NPU at %s", info.dev_path);
	cr_expect_eq(npu_probe(&info, NULL, NULL), -ENODEV);
	cr_expect_eq(npu_engine_open(&e, &xo), -ENODEV);
	cr_assert_eq(npu_engine_open(&e, &ao), 0);
	cr_expect_str_eq(npu_engine_backend_name(e), "cpu");
	npu_engine_close(e);
}

/* ---- instruction files ---- */

/* A 6-word Phoenix stream: header (rows 6, gen 3, 0.1; 5 cols, 1 mem row; 1 op; 24 bytes). */
static const uint32_t phx[6] = { 0x06030100, 0x00000105, 1, 24, 0x0601d0c0, 0x00000030 };

static int parse_str(struct npu_instr *in, const char *text, char *err, size_t errlen)
{
	return npu_instr_parse(in, text, strlen(text), err, errlen);
}

Test(xrt_instr, text_form)
{
	struct npu_instr in;
	char err[256];

	cr_assert_eq(parse_str(&in, "06030100\n00000105\n00000001\n00000018\n0601D0C0\n30\n",
			       err, sizeof(err)), 0, "%s", err);
	cr_expect_eq(in.form, NPU_INSTR_TEXT);
	cr_expect_str_eq(in.family, "phoenix");
	cr_assert_eq(in.n, 6);
	cr_expect_eq(memcmp(in.words, phx, sizeof(phx)), 0);
	npu_instr_free(&in);
	/* 0x prefixes, blanks, CRLF, empty lines, comments alone and after a word */
	cr_assert_eq(parse_str(&in, "# made by hand\r\n  0x06030100\t\r\n\n0X105 // geometry\r\n"
			       "1 # ops\n\n   \n0x18\n// a comment\n0601d0c0\n0x00000030",
			       err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(in.n, 6);
	cr_expect_eq(memcmp(in.words, phx, sizeof(phx)), 0);
	npu_instr_free(&in);
}

Test(xrt_instr, binary_form)
{
	unsigned char b[24];
	struct npu_instr in;
	char err[256];
	uint32_t strix[4] = { 0x06040100, 0x00000108, 0, 16 };

	for (int i = 0; i < 6; i++)
		for (int k = 0; k < 4; k++)
			b[4 * i + k] = (unsigned char)(phx[i] >> (8 * k));   /* little-endian */
	cr_assert_eq(npu_instr_parse(&in, b, sizeof(b), err, sizeof(err)), 0, "%s", err);
	cr_expect_eq(in.form, NPU_INSTR_BINARY);
	cr_assert_eq(in.n, 6);
	cr_expect_eq(memcmp(in.words, phx, sizeof(phx)), 0);
	cr_expect_str_eq(in.family, "phoenix");
	npu_instr_free(&in);
	for (int i = 0; i < 4; i++)
		for (int k = 0; k < 4; k++)
			b[4 * i + k] = (unsigned char)(strix[i] >> (8 * k));
	cr_assert_eq(npu_instr_parse(&in, b, 16, err, sizeof(err)), 0, "%s", err);
	cr_expect_str_eq(in.family, "strix");
	npu_instr_free(&in);
}

/* Every malformed case fails with its own message, never a crash. */
Test(xrt_instr, malformed)
{
	static const struct { const char *text; const char *says; } bad[] = {
		{ "", "empty" },
		{ "\n\n  \n# only comments\n", "no instruction words" },
		{ "06030100\nxyz\n", "line 2: 'xyz'" },
		{ "06030100\n0x\n", "line 2" },
		{ "06030100\n123456789\n", "line 2: more than 8 hex digits" },
		{ "06030100\n00000105 00000001\n", "line 2" },
		{ "06030100\n-5\n", "line 2" },
		{ "06030100\n00000105\n1\n", "shorter than the 4-word" },
		{ "06090100\n00000105\n1\n10\n", "device generation 9" },
		{ "06030100\n00000100\n1\n10\n", "0 columns" },
		{ "06030100\n00000105\n1\n20\n", "header says 32 bytes" },
		{ "06030100\n00000105\n1\n18\n0601d0c0\n", "header says 24 bytes" },
	};
	unsigned char bin[10] = { 0, 1, 3, 6, 5, 1, 0, 0, 1, 0 };
	struct npu_instr in;
	char err[256];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		cr_expect_eq(parse_str(&in, bad[i].text, err, sizeof(err)), -EINVAL, "case %zu", i);
		cr_expect(strstr(err, bad[i].says), "case %zu: '%s' lacks '%s'", i, err, bad[i].says);
		cr_expect_null(in.words);
	}
	cr_expect_eq(npu_instr_parse(&in, bin, sizeof(bin), err, sizeof(err)), -EINVAL);
	cr_expect(strstr(err, "binary, 10 bytes: not a whole number"), "%s", err);
	/* a NUL byte makes it binary: then the header is checked */
	cr_expect_eq(npu_instr_parse(&in, "0603\0\0\0\0", 8, err, sizeof(err)), -EINVAL);
	cr_expect(strstr(err, "binary, 2 words"), "%s", err);
	cr_expect_eq(npu_instr_parse(&in, "x", (size_t)NPU_INSTR_MAX_BYTES + 1, err, sizeof(err)),
		     -EFBIG);
}

static void write_file(const char *path, const void *data, size_t len)
{
	FILE *f = fopen(path, "wb");

	cr_assert_not_null(f, "%s", path);
	cr_assert_eq(fwrite(data, 1, len, f), len);
	fclose(f);
}

Test(xrt_instr, load_from_files)
{
	char dir[] = "/tmp/amn-instr-XXXXXX", p[300], err[512];
	struct npu_instr in;

	cr_assert_not_null(mkdtemp(dir));
	snprintf(p, sizeof(p), "%s/insts.bin", dir);
	write_file(p, phx, sizeof(phx));   /* this host is little-endian */
	cr_assert_eq(npu_instr_load(&in, p, err, sizeof(err)), 0, "%s", err);
	cr_expect_eq(in.n, 6);
	npu_instr_free(&in);
	snprintf(p, sizeof(p), "%s/missing.txt", dir);
	cr_expect_eq(npu_instr_load(&in, p, err, sizeof(err)), -ENOENT);
	cr_expect(strstr(err, p), "%s", err);
	cr_expect_eq(npu_instr_load(&in, dir, err, sizeof(err)), -EISDIR);
	snprintf(p, sizeof(p), "%s/bad.txt", dir);
	write_file(p, "06030100\nzz\n", 12);
	cr_expect_eq(npu_instr_load(&in, p, err, sizeof(err)), -EINVAL);
	cr_expect(strstr(err, p) && strstr(err, "line 2"), "%s", err);
	rm_tree(dir);
}

/* ---- kernel files per family ---- */

Test(xrt_files, per_family_defaults_and_mismatch)
{
	char dir[] = "/tmp/amn-files-XXXXXX", p[400], err[1024];
	static const uint32_t stx[4] = { 0x06040100, 0x00000108, 0, 16 };
	struct npu_xrt_files f;

	cr_assert_not_null(mkdtemp(dir));
	setenv("NPU_MATMUL_DIR", dir, 1);
	unsetenv("NPU_MATMUL_XCLBIN");
	unsetenv("NPU_MATMUL_INSTR");
	/* nothing installed: the message names the variables and the default path */
	cr_expect_eq(npu_xrt_files_pick(&f, "strix", "0000:c5:00.1", err, sizeof(err)), -ENOENT);
	cr_expect(strstr(err, "NPU_MATMUL_XCLBIN") && strstr(err, "/strix/matmul.xclbin"), "%s",
		  err);
	snprintf(p, sizeof(p), "mkdir -p %s/strix %s/phoenix", dir, dir);
	cr_assert_eq(system(p), 0);
	snprintf(p, sizeof(p), "%s/strix/matmul.xclbin", dir);
	write_file(p, "not an xclbin", 13);
	cr_expect_eq(npu_xrt_files_pick(&f, "strix", "0000:c5:00.1", err, sizeof(err)), -ENOEXEC);
	cr_expect(strstr(err, "not an xclbin"), "%s", err);
	write_file(p, "xclbin2\0rest", 12);
	cr_expect_eq(npu_xrt_files_pick(&f, "strix", "0000:c5:00.1", err, sizeof(err)), -ENOENT);
	cr_expect(strstr(err, "instruction file") && strstr(err, "NPU_MATMUL_INSTR"), "%s", err);
	/* the Phoenix stream installed as Strix's: refused, naming both families */
	snprintf(p, sizeof(p), "%s/strix/insts.bin", dir);
	write_file(p, phx, sizeof(phx));
	cr_expect_eq(npu_xrt_files_pick(&f, "strix", "0000:c5:00.1", err, sizeof(err)), -EXDEV);
	cr_expect(strstr(err, "Phoenix/Hawk Point") && strstr(err, "is Strix") &&
		  strstr(err, "0000:c5:00.1"), "%s", err);
	write_file(p, stx, sizeof(stx));
	cr_assert_eq(npu_xrt_files_pick(&f, "strix", "0000:c5:00.1", err, sizeof(err)), 0, "%s",
		     err);
	cr_expect(strstr(f.xclbin, "/strix/matmul.xclbin"));
	cr_expect_eq(f.instr.n, 4);
	npu_xrt_files_free(&f);
	/* the legacy text form is found when there is no insts.bin */
	snprintf(p, sizeof(p), "%s/phoenix/matmul.xclbin", dir);
	write_file(p, "xclbin2\0", 8);
	snprintf(p, sizeof(p), "%s/phoenix/insts.txt", dir);
	write_file(p, "06030100\n105\n1\n18\n0601d0c0\n30\n", 29);
	cr_assert_eq(npu_xrt_files_pick(&f, "phoenix", "0000:c5:00.1", err, sizeof(err)), 0, "%s",
		     err);
	cr_expect(strstr(f.instr_path, "insts.txt"));
	npu_xrt_files_free(&f);
	/* explicit variables win over the defaults, and are checked the same way */
	setenv("NPU_MATMUL_XCLBIN", p, 1);   /* a text file, not an xclbin */
	cr_expect_eq(npu_xrt_files_pick(&f, "phoenix", "0000:c5:00.1", err, sizeof(err)), -ENOEXEC);
	snprintf(p, sizeof(p), "%s/phoenix/matmul.xclbin", dir);
	setenv("NPU_MATMUL_XCLBIN", p, 1);
	snprintf(p, sizeof(p), "%s/strix/insts.bin", dir);
	setenv("NPU_MATMUL_INSTR", p, 1);
	cr_expect_eq(npu_xrt_files_pick(&f, "phoenix", "0000:c5:00.1", err, sizeof(err)), -EXDEV);
	cr_expect(strstr(err, "built for a Strix NPU"), "%s", err);
	/* only the xclbin named: its instructions are looked for beside it */
	unsetenv("NPU_MATMUL_INSTR");
	cr_assert_eq(npu_xrt_files_pick(&f, "phoenix", "0000:c5:00.1", err, sizeof(err)), 0, "%s",
		     err);
	snprintf(p, sizeof(p), "%s/phoenix/insts.txt", dir);
	cr_expect_str_eq(f.instr_path, p);
	npu_xrt_files_free(&f);
	snprintf(p, sizeof(p), "%s/strix/matmul.xclbin", dir);
	setenv("NPU_MATMUL_XCLBIN", p, 1);
	cr_expect_eq(npu_xrt_files_pick(&f, "phoenix", "0000:c5:00.1", err, sizeof(err)), -EXDEV);
	snprintf(p, sizeof(p), "%s/strix/insts.bin", dir);
	cr_expect(strstr(err, p), "%s", err);
	snprintf(p, sizeof(p), "%s/strix/insts.bin", dir);
	cr_assert_eq(unlink(p), 0);
	cr_expect_eq(npu_xrt_files_pick(&f, "strix", "0000:c5:00.1", err, sizeof(err)), -ENOENT);
	cr_expect(strstr(err, "in ") && strstr(err, "/strix (insts.bin or insts.txt)"), "%s", err);
	unsetenv("NPU_MATMUL_XCLBIN");
	unsetenv("NPU_MATMUL_INSTR");
	unsetenv("NPU_MATMUL_DIR");
	rm_tree(dir);
}

/* ---- the weights region under RLIMIT_MEMLOCK ---- */

#define MiB (1ull << 20)

Test(xrt_memlock, region_fit)
{
	unsigned long long r;
	char msg[512];

	cr_expect_eq(npu_xrt_region_fit(512 * MiB, false, RLIM_INFINITY, &r, msg, sizeof(msg)), 0);
	cr_expect_eq(r, 512 * MiB);
	cr_expect_eq(npu_xrt_region_fit(512 * MiB, false, 1024 * MiB, &r, msg, sizeof(msg)), 0);
	cr_expect_eq(r, 512 * MiB);
	/* the default is cut to the limit, less the buffers' reserve */
	cr_expect_eq(npu_xrt_region_fit(512 * MiB, false, 256 * MiB, &r, msg, sizeof(msg)), 1);
	cr_expect_eq(r, 256 * MiB - NPU_XRT_PIN_RESERVE);
	cr_expect(strstr(msg, "ulimit -l") && strstr(msg, "528 MB"), "%s", msg);
	/* a size the user chose is not cut */
	cr_expect_eq(npu_xrt_region_fit(512 * MiB, true, 256 * MiB, &r, msg, sizeof(msg)), -ENOMEM);
	cr_expect(strstr(msg, "NPU_WEIGHTS_MB=512 needs 528 MB") && strstr(msg, "ulimit -l"), "%s",
		  msg);
	/* the usual 8 MB: refused, saying what is needed */
	cr_expect_eq(npu_xrt_region_fit(512 * MiB, false, 8 * MiB, &r, msg, sizeof(msg)), -ENOMEM);
	cr_expect(strstr(msg, "`ulimit -l`) is 8192 kB") && strstr(msg, "at least 48 MB") &&
		  strstr(msg, "528 MB"), "%s", msg);
}

/* The limit as the process has it, lowered with setrlimit, on the loopback device. */
Test(xrt_memlock, setrlimit_refuses_the_backend)
{
	struct npu_engine_opts xo = { .backend = "xrt" };
	struct rlimit old, low;
	struct npu_engine *e;
	char why[512] = "";

	cr_assert_eq(getrlimit(RLIMIT_MEMLOCK, &old), 0);
	low = old;
	low.rlim_cur = 4 << 20;
	if (old.rlim_max != RLIM_INFINITY && old.rlim_max < low.rlim_cur)
		low.rlim_cur = old.rlim_max;
	cr_assert_eq(setrlimit(RLIMIT_MEMLOCK, &low), 0);
	cr_expect_eq(npu_xrt_memlock_limit(), (unsigned long long)low.rlim_cur);
	setenv("NPU_XRT_DEVICE", "loopback", 1);
	setenv("NPU_XRT_LOOPBACK_MEMLOCK", "1", 1);
	unsetenv("NPU_WEIGHTS_MB");
	xo.why = why;
	xo.why_len = sizeof(why);
	cr_expect_eq(npu_engine_open(&e, &xo), -ENODEV);
	cr_expect(strstr(why, "ulimit -l") && strstr(why, "at least 48 MB"), "%s", why);
	/* a small region the user chose fits under it only if it does: 1 MB + 16 MB does not */
	setenv("NPU_WEIGHTS_MB", "1", 1);
	cr_expect_eq(npu_engine_open(&e, &xo), -ENODEV);
	cr_expect(strstr(why, "NPU_WEIGHTS_MB=1 needs 17 MB"), "%s", why);
	/* without the check (the software device pins nothing) it opens */
	unsetenv("NPU_XRT_LOOPBACK_MEMLOCK");
	cr_assert_eq(npu_engine_open(&e, &xo), 0);
	npu_engine_close(e);
	unsetenv("NPU_WEIGHTS_MB");
	unsetenv("NPU_XRT_DEVICE");
	cr_assert_eq(setrlimit(RLIMIT_MEMLOCK, &old), 0);
}
