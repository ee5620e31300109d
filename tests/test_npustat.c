/*
 * test_npustat.c - npustat against live processes: a helper that ran a known
 * number of matmuls is reported with exactly that count; corrupt, truncated
 * and wrong-version pages are reported and skipped; a dead process's page is
 * removed; the NPU line (PCI address and family) from a fake sysfs tree.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "sched/npu.h"
#include "sched/npu_stats.h"
#include "tiler/tile.h"
#include "tests/helpers/fake_accel.h"

#define HELPER_MATMULS 37

/* build/tests/test_npustat -> build/npustat */
static void npustat_path(char *buf, size_t len)
{
	char exe[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);

	cr_assert_gt(n, 0);
	exe[n] = '\0';
	snprintf(buf, len, "%s/../npustat", dirname(exe));
	cr_assert_eq(access(buf, X_OK), 0, "%s is not built", buf);
}

/* Run npustat with @args; capture stdout in @out, stderr in @err. Return its status. */
static int run_npustat(const char *args, char *out, size_t outlen, char *err, size_t errlen)
{
	char bin[PATH_MAX + 16], cmd[PATH_MAX + 256], efile[64];
	FILE *p, *ef;
	size_t n;
	int st;

	npustat_path(bin, sizeof(bin));
	snprintf(efile, sizeof(efile), "/tmp/test_npustat.%d.err", (int)getpid());
	snprintf(cmd, sizeof(cmd), "%s %s 2>%s", bin, args, efile);
	p = popen(cmd, "r");
	cr_assert(p);
	n = fread(out, 1, outlen - 1, p);
	out[n] = '\0';
	st = pclose(p);
	ef = fopen(efile, "r");
	n = ef ? fread(err, 1, errlen - 1, ef) : 0;
	err[n] = '\0';
	if (ef)
		fclose(ef);
	unlink(efile);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* Child: HELPER_MATMULS matmuls on the cpu engine, then report and wait. */
static void helper_child(int ready_fd, int hold_fd)
{
	struct npu_engine_opts o = { .backend = "cpu", .threads = 1 };
	float a[4 * 8], w[8 * 3], c[4 * 3];
	struct tile_weights *tw;
	struct npu_engine *e;
	struct npu_tenant *t;
	char ch = 1;
	int i, ok = 1;

	for (i = 0; i < 32; i++)
		a[i] = (float)(i % 5) - 2;
	for (i = 0; i < 24; i++)
		w[i] = (float)(i % 3) - 1;
	if (npu_engine_open(&e, &o) || npu_tenant_open(e, &t, "helper", 3) ||
	    tile_weights_pack_f32(&tw, w, 8, 3, 3, TILE_W_ROW_MAJOR_KN))
		_exit(3);
	for (i = 0; i < HELPER_MATMULS; i++)
		ok &= npu_matmul_f32(t, a, 4, 8, 8, tw, NULL, c, 3) == 0;
	ch = ok ? 1 : 0;
	if (write(ready_fd, &ch, 1) != 1)
		_exit(4);
	if (read(hold_fd, &ch, 1) < 0)
		_exit(5);
	tile_weights_free(tw);
	npu_tenant_close(t);
	npu_engine_close(e);
	_exit(0);
}

Test(npustat, json_counts_match_a_helper_exactly)
{
	static char out[1 << 16], err[4096];
	int ready[2], hold[2], st, found = 0;
	char ch = 0, args[64], want[64], *tn;
	struct timespec nap = { 0, 20 * 1000 * 1000 };
	pid_t pid;
	int tries;

	cr_assert_eq(pipe(ready), 0);
	cr_assert_eq(pipe(hold), 0);
	pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		close(ready[0]);
		close(hold[1]);
		helper_child(ready[1], hold[0]);
	}
	close(ready[1]);
	close(hold[0]);
	cr_assert_eq(read(ready[0], &ch, 1), 1);
	cr_assert_eq(ch, 1, "helper's matmuls failed");

	snprintf(args, sizeof(args), "--json -i 0.01 -p %d", (int)pid);
	snprintf(want, sizeof(want), "\"matmuls\":%d,", HELPER_MATMULS);
	/* The engine publishes within milliseconds; allow a loaded machine 2 s. */
	for (tries = 0; tries < 100 && !found; tries++) {
		cr_assert_eq(run_npustat(args, out, sizeof(out), err, sizeof(err)), 0, "%s", err);
		tn = strstr(out, "\"name\":\"helper\"");
		found = tn && strstr(tn, want);
		if (!found)
			nanosleep(&nap, NULL);
	}
	cr_assert(found, "npustat output lacks %s: %s", want, out);
	snprintf(want, sizeof(want), "{\"pid\":%d,", (int)pid);
	cr_assert(strstr(out, want), "no process row for pid %d: %s", (int)pid, out);
	cr_assert(strstr(out, "\"schema\":\"npustat/1\""));
	cr_assert(strstr(out, "\"weight\":3,"));

	/* CSV carries the same count and the pid on each row. */
	snprintf(args, sizeof(args), "--csv -i 0.01 -p %d", (int)pid);
	cr_assert_eq(run_npustat(args, out, sizeof(out), err, sizeof(err)), 0);
	snprintf(want, sizeof(want), "tenant,%d,", (int)pid);
	cr_assert(strstr(out, want), "%s", out);
	snprintf(want, sizeof(want), ",%d,%d,", HELPER_MATMULS, HELPER_MATMULS);
	cr_assert(strstr(out, want), "%s", out);

	close(hold[1]);
	cr_assert_eq(waitpid(pid, &st, 0), pid);
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	close(ready[0]);
}

static void write_page(const char *path, const void *buf, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);

	cr_assert_geq(fd, 0, "%s: %s", path, strerror(errno));
	cr_assert_eq(write(fd, buf, len), (ssize_t)len);
	close(fd);
}

Test(npustat, bad_pages_are_reported_and_skipped)
{
	static char out[1 << 16], err[4096];
	static struct npu_stats_page pg;
	char path[64], args[64];
	pid_t pid;
	int st, kind;

	pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		pause();
		_exit(0);
	}
	npu_stats_path(pid, path, sizeof(path));
	snprintf(args, sizeof(args), "--json -i 0.01 -p %d", (int)pid);
	for (kind = 0; kind < 3; kind++) {
		memset(&pg, 0, sizeof(pg));
		pg.magic = NPU_STATS_MAGIC;
		pg.version = NPU_STATS_VERSION;
		pg.size = sizeof(pg);
		pg.pid = pid;
		if (kind == 0)
			pg.magic ^= 0xff;                      /* corrupt */
		else if (kind == 2)
			pg.version = 0;                        /* unknown version */
		write_page(path, &pg, kind == 1 ? 12 : sizeof(pg)); /* 1: truncated */
		cr_assert_eq(run_npustat(args, out, sizeof(out), err, sizeof(err)), 0,
			     "kind %d: %s", kind, err);
		cr_assert(strstr(err, "skipping"), "kind %d not reported: %s", kind, err);
		cr_assert(strstr(out, "\"processes\":[]"), "kind %d shown: %s", kind, out);
	}
	kill(pid, SIGKILL);
	cr_assert_eq(waitpid(pid, &st, 0), pid);

	/* Now the process is dead: its page is removed, not reported as bad. */
	write_page(path, &pg, sizeof(pg));
	cr_assert_eq(run_npustat(args, out, sizeof(out), err, sizeof(err)), 0);
	cr_assert(strstr(out, "\"processes\":[]"));
	cr_assert_eq(access(path, F_OK), -1, "dead page %s still there", path);
}

/* The NPU as npustat shows it: its PCI address and family, or why there is none. */
Test(npustat, shows_the_npu_bdf_and_family)
{
	static char out[1 << 16], err[4096];
	char root[] = "/tmp/amn-npustat-XXXXXX", sys[300], dev[300];

	cr_assert_not_null(mkdtemp(root));
	snprintf(sys, sizeof(sys), "%s/sys", root);
	snprintf(dev, sizeof(dev), "%s/dev", root);
	setenv("NPU_PROBE_SYSFS", sys, 1);
	setenv("NPU_PROBE_DEV", dev, 1);
	/* nothing there: null, and the reason */
	cr_assert_eq(run_npustat("--json -i 0.01 -p 1", out, sizeof(out), err, sizeof(err)), 0);
	cr_expect(strstr(out, "\"npu\":null,\"npu_why\":\"no accelerator device"), "%s", out);
	cr_assert_eq(run_npustat("-i 0.01 -p 1", out, sizeof(out), err, sizeof(err)), 0);
	cr_expect(strstr(out, "NPU: none: no accelerator device"), "%s", out);
	/* another driver's accel0 and a Phoenix-id device of another driver, then Strix at accel3 */
	cr_assert_eq(fake_accel_add(root, 0, "habanalabs", "0x1502\n", true), 0);
	cr_assert_eq(fake_accel_add(root, 3, "amdxdna", "0x17f0\n", true), 0);
	cr_assert_eq(run_npustat("--json -i 0.01 -p 1", out, sizeof(out), err, sizeof(err)), 0);
	cr_expect(strstr(out, "\"npu\":{\"bdf\":\"0000:c5:00.3\",\"family\":\"strix\","
			 "\"family_name\":\"Strix\",\"pci_id\":\"1022:17f0\""), "%s", out);
	cr_assert_eq(run_npustat("-i 0.01 -p 1", out, sizeof(out), err, sizeof(err)), 0);
	cr_expect(strstr(out, "NPU: Strix at 0000:c5:00.3 ("), "%s", out);
	cr_assert_eq(run_npustat("--csv -i 0.01 -p 1", out, sizeof(out), err, sizeof(err)), 0);
	cr_expect(strstr(out, "\nnpu,,,\"0000:c5:00.3\",\"strix\","), "%s", out);
	unsetenv("NPU_PROBE_SYSFS");
	unsetenv("NPU_PROBE_DEV");
	cr_expect_eq(fake_accel_remove(root), 0);
}
