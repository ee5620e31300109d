// SPDX-License-Identifier: MIT
/*
 * fuzz/fuzz_xrt_instr.c - libFuzzer target for the NPU instruction file
 * parser (sched/xrt/npu_xrt_instr.h). Any input must either parse into a
 * stream whose header agrees with its size, or fail with a message.
 * Build and run: make fuzz (FUZZ_SECONDS=60 by default).
 */
#include <stdint.h>
#include <stdlib.h>

#include "sched/xrt/npu_xrt_instr.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct npu_instr in;
	char err[256];
	int ret;

	err[0] = '\0';
	ret = npu_instr_parse(&in, data, size, err, sizeof(err));
	if (ret && err[0] == '\0')
		__builtin_trap();   /* every failure says why */
	if (!ret && (in.n < NPU_INSTR_HDR_WORDS || (uint64_t)in.words[3] != (uint64_t)in.n * 4 ||
		     !in.family))
		__builtin_trap();   /* accepted, so checked */
	if (ret && in.words)
		__builtin_trap();   /* nothing left to free on failure */
	npu_instr_free(&in);
	return 0;
}
