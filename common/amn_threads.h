/* SPDX-License-Identifier: MIT */
/*
 * common/amn_threads.h - the one place that decides how many CPU threads
 * the library uses when the caller does not say.
 *
 * The default is $AMN_THREADS when it is set and valid (a decimal number in
 * 1..AMN_THREADS_MAX; a bad value is reported once, see amn_env.h), else the
 * CPUs this process may run on (its affinity mask, so taskset, cpusets and
 * container CPU limits that set the mask are respected). It is decided once
 * per process, on first use. Pools and arrays with a fixed size of their own
 * clamp the default where they use it.
 */
#ifndef AMN_COMMON_THREADS_H
#define AMN_COMMON_THREADS_H

/* Most threads $AMN_THREADS (and the CLI's --threads) may ask for. */
#define AMN_THREADS_MAX 4096

/**
 * amn_threads_online - the CPUs the calling thread may run on now: the
 * count of its sched_getaffinity() mask, else the online CPUs.
 * Return: at least 1.
 */
int amn_threads_online(void);

/**
 * amn_threads_default - the default thread count: $AMN_THREADS, else
 * amn_threads_online(), decided on the first call and kept.
 * Return: 1..AMN_THREADS_MAX.
 */
int amn_threads_default(void);

#endif /* AMN_COMMON_THREADS_H */
