/* SPDX-License-Identifier: MIT */
/* tools/npubench/bench_ring.c - placeholder until this benchmark is written. */
#include <stdio.h>
#include "bench.h"

int bench_ring(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	fprintf(stderr, "npubench ring: not built yet\n");
	return 1;
}
