/* SPDX-License-Identifier: MIT */
/* kernels/cpu/kern_select.c - pick a CPU tile kernel by CPUID or AMN_KERNEL. */
#include <stdlib.h>
#include <string.h>
#include "kernels/cpu/kern.h"

static int have_avx2(void)
{
	__builtin_cpu_init();
	return __builtin_cpu_supports("avx2");
}

static int have_vnni(void)
{
	__builtin_cpu_init();
	return __builtin_cpu_supports("avx512f") &&
	       __builtin_cpu_supports("avx512bw") &&
	       __builtin_cpu_supports("avx512vnni");
}

kern_s8_fn *kern_s8_by_name(const char *name)
{
	if (!name)
		return NULL;
	if (!strcmp(name, "scalar"))
		return kern_s8_scalar;
	if (!strcmp(name, "avx2"))
		return have_avx2() ? kern_s8_avx2 : NULL;
	if (!strcmp(name, "avx512vnni"))
		return have_vnni() ? kern_s8_avx512vnni : NULL;
	return NULL;
}

kern_s8_fn *kern_s8_select(void)
{
	const char *env = getenv("AMN_KERNEL");
	kern_s8_fn *fn;

	if (env && *env) {
		fn = kern_s8_by_name(env);
		return fn ? fn : kern_s8_scalar;
	}
	if (have_vnni())
		return kern_s8_avx512vnni;
	return have_avx2() ? kern_s8_avx2 : kern_s8_scalar;
}
