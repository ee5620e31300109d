/* SPDX-License-Identifier: MIT */
/*
 * tests/test_stats.c - the shared stats page: the engine publishes it, the
 * reader API finds, validates and snapshots it consistently, and cleans up.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sched/npu.h"
#include "sched/npu_stats.h"
#include "sched/npu_stats_writer.h"

Test(stats, engine_page_roundtrip)
{
	struct npu_engine_opts o = { .backend = "emu", .threads = 1 };
	float a[64 * 16] = { 0 }, b[16 * 16] = { 0 }, c[64 * 16];
	struct npu_stats_page *snap = malloc(sizeof(*snap));
	struct tile_weights *w;
	struct npu_stats_map m;
	struct npu_engine *e;
	struct npu_tenant *t;
	char exe[PATH_MAX] = "";
	const char *want;
	pid_t pids[256];
	int n, found = 0;

	for (int i = 0; i < 64 * 16; i++)
		a[i] = (float)(i % 5);
	for (int i = 0; i < 16 * 16; i++)
		b[i] = (float)(i % 3);
	cr_assert_eq(tile_weights_pack_f32(&w, b, 16, 16, 16, TILE_W_ROW_MAJOR_KN), 0);
	cr_assert_eq(npu_engine_open(&e, &o), 0);
	cr_assert_eq(npu_tenant_open(e, &t, "whisper-0", 3), 0);
	for (int i = 0; i < 5; i++)
		cr_assert_eq(npu_matmul_f32(t, a, 64, 16, 16, w, NULL, c, 16), 0);
	npu_tenant_close(t);
	cr_assert_eq(npu_tenant_open(e, &t, "second", 1), 0);

	n = npu_stats_list(pids, 256);
	cr_assert_geq(n, 1);
	for (int i = 0; i < n && i < 256; i++)
		found += pids[i] == getpid();
	cr_expect_eq(found, 1, "our page is not listed");

	npu_tenant_close(t);
	npu_engine_close(e);  /* publishes the final counters, then removes the page */
	cr_expect_eq(npu_stats_open_pid(getpid(), &m), -ENOENT, "page left behind");

	/* Reopen an engine to read a live page. */
	cr_assert_eq(npu_engine_open(&e, &o), 0);
	cr_assert_eq(npu_tenant_open(e, &t, "reader", 2), 0);
	cr_assert_eq(npu_matmul_f32(t, a, 64, 16, 16, w, NULL, c, 16), 0);
	npu_tenant_close(t);
	cr_assert_eq(npu_matmul_f32(NULL, a, 64, 16, 16, w, NULL, c, 16), -EINVAL);
	cr_assert_eq(npu_stats_open_pid(getpid(), &m), 0);
	/* The dispatcher publishes within about 5 ms of a change; allow a loaded machine 2 s. */
	for (int i = 0; i < 400; i++) {
		cr_assert_eq(npu_stats_snapshot(&m, snap), 0);
		if (snap->devices[0].jobs)
			break;
		usleep(5000);
	}
	cr_expect_eq(snap->magic, NPU_STATS_MAGIC);
	cr_expect_eq(snap->version, NPU_STATS_VERSION);
	cr_expect_eq(snap->pid, getpid());
	/* comm is the executable's name, even when its path is longer than comm */
	cr_assert_gt(readlink("/proc/self/exe", exe, sizeof(exe) - 1), 0);
	want = strrchr(exe, '/') + 1;
	cr_expect_eq(strncmp(snap->comm, want, sizeof(snap->comm) - 1), 0,
		     "comm \"%s\", executable %s", snap->comm, exe);
	cr_expect_eq(snap->comm[sizeof(snap->comm) - 1], '\0');
	cr_expect_eq(snap->n_devices, 1);
	cr_expect(strstr(snap->devices[0].backend, "simulated") != NULL);
	cr_expect(snap->devices[0].flags & NPU_STATS_DEV_SIMULATED);
	cr_expect_eq(snap->devices[0].jobs, 1);
	cr_expect_eq(snap->devices[0].runs, 1);
	cr_expect_eq(snap->devices[0].ops, 2ull * 64 * 16 * 16);
	cr_expect_gt(snap->devices[0].sim_ns, 0);
	found = -1;
	for (uint32_t i = 0; i < snap->n_tenants; i++)
		if (!strcmp(snap->tenants[i].name, "reader"))
			found = (int)i;
	cr_assert_geq(found, 0, "tenant not in the page");
	cr_expect_eq(snap->tenants[found].weight, 2);
	cr_expect_eq(snap->tenants[found].matmuls, 1);
	cr_expect_eq(snap->tenants[found].jobs, 1);
	npu_stats_close(&m);
	npu_engine_close(e);
	tile_weights_free(w);
	free(snap);
}

Test(stats, rejects_bad_pages)
{
	char path[] = "/tmp/amn-stats-XXXXXX";
	struct npu_stats_page pg;
	struct npu_stats_map m;
	int fd = mkstemp(path);

	cr_assert_geq(fd, 0);
	memset(&pg, 0, sizeof(pg));
	pg.magic = 0x1234;
	pg.version = 1;
	pg.size = sizeof(pg);
	cr_assert_eq(write(fd, &pg, sizeof(pg)), (ssize_t)sizeof(pg));
	cr_expect_eq(npu_stats_open_path(path, &m), -EPROTO, "bad magic accepted");
	cr_assert_eq(ftruncate(fd, 16), 0);
	cr_expect_eq(npu_stats_open_path(path, &m), -EPROTO, "short file accepted");
	close(fd);
	unlink(path);
	cr_expect_eq(npu_stats_open_path("/nonexistent/amanuensis.1", &m), -ENOENT);
}

/* A reader racing a writer only ever sees whole updates. */
struct race {
	struct npu_stats_writer *w;
	_Atomic int stop;
};

static void *writer_thread(void *p)
{
	struct race *r = p;
	struct npu_stats_page *pg = calloc(1, sizeof(*pg));

	for (uint64_t v = 1; !atomic_load(&r->stop); v++) {
		/* Invariant readers check: every counter of device 0 equals v. */
		pg->devices[0].jobs = v;
		pg->devices[0].tiles = v;
		pg->devices[0].runs = v;
		pg->tenants[63].ops = v;
		npu_stats_writer_publish(r->w, pg);
		/*
		 * Publish in pairs with a pause between: back-to-back publishes
		 * still race the reader, and the pause lets a reader that copies
		 * slowly (ThreadSanitizer, valgrind) also finish some snapshots.
		 */
		if (v % 2 == 0)
			usleep(300);
	}
	free(pg);
	return NULL;
}

Test(stats, seqlock_snapshots_are_consistent)
{
	struct npu_stats_page *snap = malloc(sizeof(*snap));
	struct npu_stats_writer w;
	struct npu_stats_map m;
	struct race r = { &w, 0 };
	pthread_t th;
	int torn = 0, ok = 0;

	cr_assert_eq(npu_stats_writer_open(&w), 0);
	cr_assert_eq(npu_stats_open_path(w.path, &m), 0);
	pthread_create(&th, NULL, writer_thread, &r);
	for (int i = 0; i < 2000; i++) {
		if (npu_stats_snapshot(&m, snap))
			continue;
		ok++;
		torn += snap->devices[0].jobs != snap->devices[0].runs ||
			snap->devices[0].tiles != snap->tenants[63].ops;
	}
	atomic_store(&r.stop, 1);
	pthread_join(th, NULL);
	cr_expect_gt(ok, 0);
	cr_expect_eq(torn, 0, "%d torn snapshots", torn);
	npu_stats_close(&m);
	npu_stats_writer_close(&w);
	free(snap);
}

Test(stats, histogram_percentiles)
{
	uint64_t h[NPU_STATS_HIST_BUCKETS] = { 0 };

	cr_expect_eq(npu_stats_hist_bucket(0, 32), 0);
	cr_expect_eq(npu_stats_hist_bucket(1, 32), 0);
	cr_expect_eq(npu_stats_hist_bucket(1023, 32), 9);
	cr_expect_eq(npu_stats_hist_bucket(1024, 32), 10);
	cr_expect_eq(npu_stats_hist_bucket(UINT64_MAX, 32), 31);
	cr_expect_eq(npu_stats_hist_percentile(h, 32, 50), 0);
	h[10] = 100;  /* all in [1024, 2048) */
	cr_expect_geq(npu_stats_hist_percentile(h, 32, 50), 1024);
	cr_expect_lt(npu_stats_hist_percentile(h, 32, 50), 2048);
	h[3] = 100;
	cr_expect_lt(npu_stats_hist_percentile(h, 32, 25), 16);
	cr_expect_geq(npu_stats_hist_percentile(h, 32, 99), 1024);
}
