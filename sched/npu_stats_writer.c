/* SPDX-License-Identifier: MIT */
/*
 * sched/npu_stats_writer.c - create, publish and remove this process's stats
 * page (see npu_stats.h for the layout and the seqlock protocol).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "sched/npu_stats_writer.h"

static uint64_t realtime_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

int npu_stats_writer_open(struct npu_stats_writer *w)
{
	struct npu_stats_page *pg;
	int fd, ret;

	memset(w, 0, sizeof(*w));
	ret = npu_stats_path(getpid(), w->path, sizeof(w->path));
	if (ret)
		return ret;
	fd = open(w->path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return -errno;
	if (ftruncate(fd, sizeof(*pg)) < 0) {
		ret = -errno;
		goto err_unlink;
	}
	pg = mmap(NULL, sizeof(*pg), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (pg == MAP_FAILED) {
		ret = -errno;
		goto err_unlink;
	}
	close(fd);
	pg->version = NPU_STATS_VERSION;
	pg->size = sizeof(*pg);
	pg->pid = getpid();
	w->start_ns = realtime_ns();
	pg->start_ns = w->start_ns;
	/* Magic last, with release: a reader that sees it sees the rest. */
	__atomic_store_n(&pg->magic, NPU_STATS_MAGIC, __ATOMIC_RELEASE);
	w->shm = pg;
	return 0;

err_unlink:
	close(fd);
	unlink(w->path);
	return ret;
}

void npu_stats_writer_publish(struct npu_stats_writer *w, const struct npu_stats_page *src)
{
	struct npu_stats_page *pg = w->shm;
	size_t first = offsetof(struct npu_stats_page, pid) / 8;
	size_t words = sizeof(*pg) / 8;
	const uint64_t *s = (const uint64_t *)src;
	uint64_t *d = (uint64_t *)pg;
	uint64_t seq;

	if (!pg)
		return;
	seq = __atomic_load_n(&pg->seq, __ATOMIC_RELAXED);
	/* Odd: readers now retry. */
	__atomic_store_n(&pg->seq, seq + 1, __ATOMIC_RELAXED);
	/*
	 * Release on each body store keeps the odd seq store before it (no
	 * fence needed, and plain moves on x86); a reader that sees any new
	 * word therefore also sees the odd sequence on its re-check.
	 */
	for (size_t i = first; i < words; i++)
		__atomic_store_n(&d[i], s[i], __ATOMIC_RELEASE);
	/* pid and start are ours whatever @src says; update_ns is now. */
	__atomic_store_n(&pg->pid, (int32_t)getpid(), __ATOMIC_RELAXED);
	__atomic_store_n(&pg->start_ns, w->start_ns, __ATOMIC_RELAXED);
	__atomic_store_n(&pg->update_ns, realtime_ns(), __ATOMIC_RELAXED);
	/* Even again, with release: the body stores complete before it. */
	__atomic_store_n(&pg->seq, seq + 2, __ATOMIC_RELEASE);
}

void npu_stats_writer_close(struct npu_stats_writer *w)
{
	if (!w->shm)
		return;
	munmap(w->shm, sizeof(*w->shm));
	unlink(w->path);
	w->shm = NULL;
}
