/*
 * collect.c - read every process's stats page for npustat.
 *
 * No daemon: the pages are found by name in /dev/shm. A page whose process is
 * gone is unlinked (best effort: only its owner or root may), and a page that
 * cannot be trusted is named on stderr and left out of the sample.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "tools/npustat/npustat.h"

static double mono_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int read_page(pid_t pid, struct npu_stats_page *out)
{
	struct npu_stats_map m = { 0 };
	char path[64];
	int rc;

	npu_stats_path(pid, path, sizeof(path));
	if (kill(pid, 0) && errno == ESRCH) {
		if (unlink(path) == 0)
			fprintf(stderr, "npustat: removed the page of dead process %d\n", (int)pid);
		return -ESRCH;
	}
	rc = npu_stats_open_path(path, &m);
	if (rc)
		goto err;
	rc = npu_stats_snapshot(&m, out);
	npu_stats_close(&m);
	if (rc)
		goto err;
	if (out->pid != pid || out->n_devices > NPU_STATS_MAX_DEVICES ||
	    out->n_tenants > NPU_STATS_MAX_TENANTS) {
		rc = -EPROTO;
		goto err;
	}
	return 0;

err:
	fprintf(stderr, "npustat: skipping %s: %s\n", path,
		rc == -EPROTO ? "truncated, corrupt or unknown version" : strerror(-rc));
	return rc;
}

int npustat_collect(struct npustat_sample *s, pid_t pid)
{
	pid_t pids[NPUSTAT_MAX_PROCS];
	int n, i;

	s->n = 0;
	s->t = mono_s();
	s->npu_rc = npu_probe(&s->npu, NULL, NULL);
	if (pid > 0) {
		if (read_page(pid, &s->pages[0]) == 0)
			s->n = 1;
		return 0;
	}
	n = npu_stats_list(pids, NPUSTAT_MAX_PROCS);
	if (n < 0)
		return n;
	if (n > NPUSTAT_MAX_PROCS)
		n = NPUSTAT_MAX_PROCS;
	for (i = 0; i < n; i++)
		if (read_page(pids[i], &s->pages[s->n]) == 0)
			s->n++;
	return 0;
}

const struct npu_stats_page *npustat_find(const struct npustat_sample *s, pid_t pid)
{
	int i;

	for (i = 0; i < s->n; i++)
		if (s->pages[i].pid == pid)
			return &s->pages[i];
	return NULL;
}
