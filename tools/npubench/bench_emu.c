/* SPDX-License-Identifier: MIT */
/* tools/npubench/bench_emu.c - placeholder until this benchmark is written. */
#include <stdio.h>
#include "bench.h"

int bench_emu(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	fprintf(stderr, "npubench emu: not built yet\n");
	return 1;
}
