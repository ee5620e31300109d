/* SPDX-License-Identifier: MIT */
/*
 * tools/npubench/bench.h - the npubench subcommands.
 * Each takes the arguments after its name and returns a process exit code.
 * With --json every subcommand prints one JSON object per line on stdout.
 */
#ifndef AMN_NPUBENCH_H
#define AMN_NPUBENCH_H

int bench_gemm(int argc, char **argv);   /* tile GEMM vs oneDNN int8 and OpenBLAS sgemm */
int bench_ring(int argc, char **argv);   /* submission ring vs mutex+condvar queue */
int bench_sched(int argc, char **argv);  /* matmuls through the scheduler vs direct */
int bench_emu(int argc, char **argv);    /* simulated Phoenix: per-tile vs batched runs */

#endif
