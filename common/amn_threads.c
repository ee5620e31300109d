/* SPDX-License-Identifier: MIT */
/*
 * common/amn_threads.c - the default thread count: $AMN_THREADS, else the
 * CPUs in the process's affinity mask.
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <unistd.h>

#include "common/amn_env.h"
#include "common/amn_threads.h"

/* Largest CPU number the affinity mask is asked about (the kernel's own limit). */
#define AFFINITY_MAX_CPUS 8192

static pthread_once_t default_once = PTHREAD_ONCE_INIT;
static int default_threads;

/* The count of the affinity mask, growing the mask until the kernel's fits; 0 if unknown. */
static int affinity_count(void)
{
	for (int ncpus = CPU_SETSIZE; ncpus <= AFFINITY_MAX_CPUS; ncpus *= 2) {
		cpu_set_t *set = CPU_ALLOC(ncpus);
		size_t size = CPU_ALLOC_SIZE(ncpus);
		int n = 0, ret;

		if (!set)
			return 0;
		CPU_ZERO_S(size, set);
		ret = sched_getaffinity(0, size, set);
		if (!ret)
			n = CPU_COUNT_S(size, set);
		CPU_FREE(set);
		if (!ret)
			return n;
		if (errno != EINVAL)
			return 0;
	}
	return 0;
}

int amn_threads_online(void)
{
	long n = affinity_count();

	if (n < 1)
		n = sysconf(_SC_NPROCESSORS_ONLN);
	return n > 0 ? (int)n : 1;
}

static void decide_default(void)
{
	int online = amn_threads_online();

	if (online > AMN_THREADS_MAX)
		online = AMN_THREADS_MAX;
	default_threads = (int)amn_env_ulong("AMN_THREADS", 1, AMN_THREADS_MAX,
					     (unsigned long)online);
}

int amn_threads_default(void)
{
	pthread_once(&default_once, decide_default);
	return default_threads;
}
