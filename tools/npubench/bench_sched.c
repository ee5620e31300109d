/* SPDX-License-Identifier: MIT */
/* tools/npubench/bench_sched.c - placeholder until this benchmark is written. */
#include <stdio.h>
#include "bench.h"

int bench_sched(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	fprintf(stderr, "npubench sched: not built yet\n");
	return 1;
}
