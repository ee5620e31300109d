/* SPDX-License-Identifier: MIT */
/*
 * sched/npu_stats.c - reader side of the stats page: map, snapshot, list.
 * The writer side lives in npu_stats_writer.c.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sched/npu_stats.h"

/* Bytes of the header a reader needs before it can trust anything else. */
#define HDR_LEN offsetof(struct npu_stats_page, devices)
#define SNAPSHOT_TRIES 1000

int npu_stats_path(pid_t pid, char *buf, size_t len)
{
	int n = snprintf(buf, len, NPU_STATS_PATH_FMT, (int)pid);

	if (n < 0 || (size_t)n >= len)
		return -ENAMETOOLONG;
	return 0;
}

static int check_header(uint64_t magic, uint32_t version, uint32_t size, size_t len)
{
	if (magic != NPU_STATS_MAGIC || version < 1 || size < HDR_LEN || size > len)
		return -EPROTO;
	return 0;
}

int npu_stats_open_path(const char *path, struct npu_stats_map *m)
{
	struct stat st;
	void *p;
	int fd, ret;

	memset(m, 0, sizeof(*m));
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0) {
		ret = -errno;
		goto out_close;
	}
	if ((size_t)st.st_size < HDR_LEN) {
		ret = -EPROTO;
		goto out_close;
	}
	p = mmap(NULL, st.st_size, PROT_READ, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED) {
		ret = -ENOMEM;
		goto out_close;
	}
	m->page = p;
	m->len = st.st_size;
	ret = check_header(m->page->magic, m->page->version, m->page->size, m->len);
	if (ret) {
		npu_stats_close(m);
		goto out_close;
	}
	m->pid = m->page->pid;
out_close:
	close(fd);
	return ret;
}

int npu_stats_open_pid(pid_t pid, struct npu_stats_map *m)
{
	char path[64];
	int ret = npu_stats_path(pid, path, sizeof(path));

	if (ret)
		return ret;
	return npu_stats_open_path(path, m);
}

void npu_stats_close(struct npu_stats_map *m)
{
	if (m->page)
		munmap((void *)m->page, m->len);
	memset(m, 0, sizeof(*m));
}

/*
 * The copy is done in 64-bit atomic loads, as the writer stores: the race on
 * the body is a well-defined one and the sequence check decides whether the
 * copy is kept. Acquire on each load keeps the final sequence load after all
 * of them without a fence (plain moves on x86).
 */
static void copy_words(uint64_t *dst, const uint64_t *src, size_t words)
{
	for (size_t i = 0; i < words; i++)
		dst[i] = __atomic_load_n(&src[i], __ATOMIC_ACQUIRE);
}

int npu_stats_snapshot(const struct npu_stats_map *m, struct npu_stats_page *out)
{
	const struct npu_stats_page *pg = m->page;
	size_t len;
	int ret;

	if (!pg)
		return -EINVAL;
	ret = check_header(pg->magic, pg->version, pg->size, m->len);
	if (ret)
		return ret;
	len = pg->size < sizeof(*out) ? pg->size : sizeof(*out);
	len &= ~(size_t)7;
	for (int i = 0; i < SNAPSHOT_TRIES; i++) {
		/* Acquire: the body loads below may not move above this load. */
		uint64_t s1 = __atomic_load_n(&pg->seq, __ATOMIC_ACQUIRE);

		if (s1 & 1) {
			sched_yield();
			continue;
		}
		memset(out, 0, sizeof(*out));
		copy_words((uint64_t *)out, (const uint64_t *)pg, len / 8);
		if (__atomic_load_n(&pg->seq, __ATOMIC_RELAXED) == s1)
			return 0;
	}
	return -EAGAIN;
}

static int cmp_pid(const void *a, const void *b)
{
	pid_t x = *(const pid_t *)a, y = *(const pid_t *)b;

	return (x > y) - (x < y);
}

int npu_stats_list(pid_t *pids, int max)
{
	size_t plen = strlen(NPU_STATS_PREFIX);
	struct dirent *de;
	int n = 0;
	DIR *d;

	d = opendir("/dev/shm");
	if (!d)
		return -errno;
	while ((de = readdir(d))) {
		char *end;
		long v;

		if (strncmp(de->d_name, NPU_STATS_PREFIX, plen))
			continue;
		errno = 0;
		v = strtol(de->d_name + plen, &end, 10);
		if (errno || *end || end == de->d_name + plen || v <= 0 || v > INT_MAX)
			continue;
		if (n < max)
			pids[n] = (pid_t)v;
		n++;
	}
	closedir(d);
	qsort(pids, n < max ? n : max, sizeof(*pids), cmp_pid);
	return n;
}

int npu_stats_hist_bucket(uint64_t v, int n)
{
	int b = v ? 63 - __builtin_clzll(v) : 0;

	return b < n ? b : n - 1;
}

double npu_stats_hist_percentile(const uint64_t *hist, int n, double p)
{
	uint64_t total = 0, seen = 0;
	double want;

	for (int i = 0; i < n; i++)
		total += hist[i];
	if (!total)
		return 0;
	if (p < 0)
		p = 0;
	if (p > 100)
		p = 100;
	want = p / 100.0 * (double)total;
	for (int i = 0; i < n; i++) {
		double lo = i ? (double)(1ull << i) : 0, hi = (double)(1ull << (i + 1));

		if (hist[i] && (double)(seen + hist[i]) >= want) {
			double frac = (want - (double)seen) / (double)hist[i];

			return lo + frac * (hi - lo);
		}
		seen += hist[i];
	}
	return (double)(1ull << n);
}
