/* SPDX-License-Identifier: MIT */
/* kernels/cpu/kern_select.c - pick CPU tile kernels by CPUID or AMN_KERNEL. */
#include <string.h>
#include "common/amn_env.h"
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

/* What AMN_KERNEL may name; "auto" (the default) is the best the CPU has. */
static const char *const kernel_names[] = {
	"auto", "scalar", "avx2", "avx512vnni", "avx512vnni_rows", NULL
};

/* The kernel name to use: AMN_KERNEL when set, else the best the CPU has. */
static const char *chosen(void)
{
	int i = amn_env_choice("AMN_KERNEL", kernel_names, 0);

	if (i > 0)
		return kernel_names[i];
	return have_vnni() ? "avx512vnni" : have_avx2() ? "avx2" : "scalar";
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
	if (!strcmp(name, "avx512vnni_rows"))
		return have_vnni() ? kern_s8_avx512vnni_rows : NULL;
	return NULL;
}

kern_f32_fn *kern_f32_by_name(const char *name)
{
	if (!name)
		return NULL;
	if (!strcmp(name, "scalar"))
		return kern_f32_scalar;
	if (!strcmp(name, "avx2"))
		return have_avx2() ? kern_f32_avx2 : NULL;
	if (!strcmp(name, "avx512vnni"))
		return have_vnni() ? kern_f32_avx512vnni : NULL;
	if (!strcmp(name, "avx512vnni_rows"))
		return have_vnni() ? kern_f32_avx512vnni_rows : NULL;
	return NULL;
}

kern_quant_fn *kern_quant_by_name(const char *name)
{
	if (!name)
		return NULL;
	if (!strcmp(name, "scalar"))
		return kern_quant_scalar;
	if (!strcmp(name, "avx512vnni"))
		return have_vnni() ? kern_quant_avx512 : NULL;
	return NULL;
}

kern_s8_fn *kern_s8_select(void)
{
	kern_s8_fn *fn = kern_s8_by_name(chosen());

	return fn ? fn : kern_s8_scalar;
}

kern_f32_fn *kern_f32_select(void)
{
	kern_f32_fn *fn = kern_f32_by_name(chosen());

	return fn ? fn : kern_f32_scalar;
}

kern_quant_fn *kern_quant_select(void)
{
	const char *name = chosen();
	kern_quant_fn *fn = kern_quant_by_name(strcmp(name, "avx2") ? name : "scalar");

	return fn ? fn : kern_quant_scalar;
}

/* The few-rows variant's name for @M rows, or NULL to keep the usual kernel. */
static const char *rows_name(int M)
{
	if (M < 2 || M > KERN_ROWS_MAX || !amn_env_bool("AMN_KERNEL_ROWS", false) ||
	    strcmp(chosen(), "avx512vnni"))
		return NULL;
	return "avx512vnni_rows";
}

kern_s8_fn *kern_s8_select_rows(int M)
{
	kern_s8_fn *fn = kern_s8_by_name(rows_name(M));

	return fn ? fn : kern_s8_select();
}

kern_f32_fn *kern_f32_select_rows(int M)
{
	kern_f32_fn *fn = kern_f32_by_name(rows_name(M));

	return fn ? fn : kern_f32_select();
}
