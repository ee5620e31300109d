/* SPDX-License-Identifier: MIT */
/*
 * sched/npu_futex.h - thin futex wait/wake wrappers (internal).
 */
#ifndef AMN_NPU_FUTEX_H
#define AMN_NPU_FUTEX_H

#include <errno.h>
#include <limits.h>
#include <linux/futex.h>
#include <stdatomic.h>
#include <stdint.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

/*
 * npu_futex_wait - sleep while *@addr == @val, at most @timeout_ns (< 0: no
 * limit). Return: 0 when woken or the value differed, -ETIMEDOUT, -EINTR.
 */
static inline int npu_futex_wait(_Atomic uint32_t *addr, uint32_t val, int64_t timeout_ns)
{
	struct timespec ts, *tsp = NULL;

	if (timeout_ns >= 0) {
		ts.tv_sec = timeout_ns / 1000000000;
		ts.tv_nsec = timeout_ns % 1000000000;
		tsp = &ts;
	}
	if (syscall(SYS_futex, addr, FUTEX_WAIT_PRIVATE, val, tsp, NULL, 0) < 0) {
		if (errno == EAGAIN)
			return 0;
		return -errno;
	}
	return 0;
}

/* npu_futex_wake - wake up to @n threads sleeping on @addr. */
static inline void npu_futex_wake(_Atomic uint32_t *addr, int n)
{
	syscall(SYS_futex, addr, FUTEX_WAKE_PRIVATE, n, NULL, NULL, 0);
}

/* npu_futex_wake_all - wake every thread sleeping on @addr. */
static inline void npu_futex_wake_all(_Atomic uint32_t *addr)
{
	syscall(SYS_futex, addr, FUTEX_WAKE_PRIVATE, INT_MAX, NULL, NULL, 0);
}

/* npu_now_ns - CLOCK_MONOTONIC in nanoseconds. */
static inline int64_t npu_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

#endif /* AMN_NPU_FUTEX_H */
