/*
 * npustat.h - npustat's view of the engine: one sample of every process's
 * stats page, and the rates between two samples.
 */
#ifndef AMN_NPUSTAT_H
#define AMN_NPUSTAT_H

#include <sys/types.h>

#include "sched/npu_probe.h"
#include "sched/npu_stats.h"

#define NPUSTAT_MAX_PROCS 256
#define NPUSTAT_SCHEMA    "npustat/1"

/*
 * One sample: the pages that could be read, at one time, and the NPU of
 * this machine as the engine's probe sees it (npu_rc 0: @npu describes it,
 * its PCI address and family; else @npu.why says why there is none).
 */
struct npustat_sample {
	double t;                             /* CLOCK_MONOTONIC seconds */
	int n;
	int npu_rc;
	struct npu_probe_info npu;
	struct npu_stats_page pages[NPUSTAT_MAX_PROCS];
};

/**
 * npustat_collect - snapshot every live page (or only @pid's when > 0),
 * and probe for the NPU (npu_probe(): sysfs only, never XRT).
 * Pages of dead processes are removed; unreadable, truncated, corrupt or
 * wrong-version pages are reported on stderr and skipped.
 * Return: 0 or -errno from listing /dev/shm.
 */
int npustat_collect(struct npustat_sample *s, pid_t pid);

/**
 * npustat_find - the page of @pid in @s, or NULL.
 */
const struct npu_stats_page *npustat_find(const struct npustat_sample *s, pid_t pid);

enum npustat_fmt { NPUSTAT_FMT_TEXT, NPUSTAT_FMT_JSON, NPUSTAT_FMT_CSV };

/**
 * npustat_print - print @cur in @fmt; rates are taken against @prev
 * (NULL: rates are zero). Counts are totals from @cur.
 */
void npustat_print(enum npustat_fmt fmt, const struct npustat_sample *prev,
		   const struct npustat_sample *cur);

/**
 * npustat_print_dmon - one line per device of @cur, rates against @prev;
 * a column header first when @header is set.
 */
void npustat_print_dmon(const struct npustat_sample *prev, const struct npustat_sample *cur,
			int header);

#endif /* AMN_NPUSTAT_H */
