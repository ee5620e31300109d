/* SPDX-License-Identifier: MIT */
/*
 * tools/npubench/main.c - `npubench SUBCOMMAND [options]`: the benchmarks that
 * show amanuensis's speed as ratios against peers measured in the same run.
 */
#include <stdio.h>
#include <string.h>
#include "bench.h"

struct subcommand {
	const char *name;
	int (*run)(int argc, char **argv);
	const char *help;
};

static const struct subcommand subcommands[] = {
	{ "gemm",  bench_gemm,  "tile GEMM on Whisper shapes vs oneDNN int8 GEMM and OpenBLAS sgemm" },
	{ "ring",  bench_ring,  "submission ring jobs/s vs a mutex + condition variable queue" },
	{ "sched", bench_sched, "Whisper matmuls through the scheduler vs direct tiler calls" },
	{ "emu",   bench_emu,   "simulated Phoenix NPU: one run per tile vs batched runs" },
};

static void usage(FILE *f)
{
	fprintf(f, "usage: npubench SUBCOMMAND [--json] [options]\n\nsubcommands:\n");
	for (size_t i = 0; i < sizeof(subcommands) / sizeof(subcommands[0]); i++)
		fprintf(f, "  %-6s %s\n", subcommands[i].name, subcommands[i].help);
	fprintf(f, "\n`npubench SUBCOMMAND --help` lists a subcommand's options.\n");
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
		usage(stdout);
		return 0;
	}
	for (size_t i = 0; i < sizeof(subcommands) / sizeof(subcommands[0]); i++)
		if (!strcmp(argv[1], subcommands[i].name))
			return subcommands[i].run(argc - 1, argv + 1);
	fprintf(stderr, "npubench: unknown subcommand '%s'\n", argv[1]);
	usage(stderr);
	return 2;
}
