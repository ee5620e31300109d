/* SPDX-License-Identifier: MIT */
/* tools/npubench/bench_gemm.c - placeholder until this benchmark is written. */
#include <stdio.h>
#include "bench.h"

int bench_gemm(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	fprintf(stderr, "npubench gemm: not built yet\n");
	return 1;
}
