/* SPDX-License-Identifier: MIT */
/*
 * sched/xrt/npu_xrt_config.h - what the xrt backend decides before it opens
 * the NPU, in C so that it is tested without one (internal): which xclbin
 * and instruction file serve this NPU family, and how large a weights
 * region the locked-memory limit allows.
 *
 * Files. The batch kernel is built once per family: Phoenix and Hawk Point
 * (npu1, XDNA) and Strix and later (npu2, XDNA 2) run different programs.
 * $NPU_MATMUL_XCLBIN and $NPU_MATMUL_INSTR name them; otherwise they are
 * looked for under DIR/FAMILY/, DIR being $NPU_MATMUL_DIR or
 * AMN_NPU_DATADIR (PREFIX/share/amanuensis/npu), FAMILY "phoenix" or
 * "strix": matmul.xclbin, and insts.bin or else insts.txt. With only
 * $NPU_MATMUL_XCLBIN set, the instruction file is looked for beside it
 * (insts.bin, else insts.txt), where mlir-aie's build leaves it. The xclbin must
 * start with the "xclbin2" magic; the instruction file must parse
 * (npu_xrt_instr.h) and its header must name the same family as the device.
 *
 * Locked memory. The weights region and the slots' buffers are host-only
 * XRT buffers, pinned, so RLIMIT_MEMLOCK (`ulimit -l`) bounds them; past it
 * the allocation fails inside XRT. NPU_XRT_PIN_RESERVE bytes are kept for
 * the slots and the instructions; the region gets the rest, up to what was
 * asked for.
 */
#ifndef AMN_NPU_XRT_CONFIG_H
#define AMN_NPU_XRT_CONFIG_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>

#include "sched/xrt/npu_xrt_instr.h"

#ifndef AMN_NPU_DATADIR
#define AMN_NPU_DATADIR "/usr/local/share/amanuensis/npu"
#endif

#define NPU_XRT_PIN_RESERVE (16ull << 20)   /* slot buffers and instructions */
#define NPU_XRT_MIN_REGION  (32ull << 20)   /* below this the NPU is not worth it */

/**
 * struct npu_xrt_files - the kernel's files for one family.
 * @xclbin: its path.
 * @instr_path: the instruction file's path.
 * @instr: the parsed instruction stream (owned; npu_xrt_files_free()).
 */
struct npu_xrt_files {
	char xclbin[PATH_MAX];
	char instr_path[PATH_MAX];
	struct npu_instr instr;
};

/**
 * npu_xrt_files_pick - choose, check and load the files for @family.
 * @f:       filled on success; nothing to free on failure.
 * @family:  "phoenix" or "strix" (the probe's).
 * @bdf:     the device's PCI address, for messages.
 * @err:     one line on failure.
 * Return: 0; -ENOENT (no file given or found: the message says which
 * variables to set and which default paths were tried), -ENOEXEC (not an
 * xclbin), -EXDEV (instruction file built for the other family), or the
 * instruction parser's -errno, -ENAMETOOLONG for a path too long.
 */
int npu_xrt_files_pick(struct npu_xrt_files *f, const char *family, const char *bdf,
		       char *err, size_t errlen);

/** npu_xrt_files_free - release @f's instruction words. */
void npu_xrt_files_free(struct npu_xrt_files *f);

/**
 * npu_xrt_region_fit - size the weights region under a locked-memory limit.
 * @want:     the region asked for, bytes.
 * @explicit_size: @want came from the user (NPU_WEIGHTS_MB): never cut it.
 * @limit:    the soft RLIMIT_MEMLOCK in bytes (RLIM_INFINITY: none).
 * @region:   receives the size to allocate, in whole MiB.
 * @msg:      receives one line when the region is cut or refused.
 * Return: 0 (@want fits), 1 (cut to the limit, @msg says so), -ENOMEM
 * (refused: @msg names `ulimit -l` and the size needed).
 */
int npu_xrt_region_fit(unsigned long long want, bool explicit_size, unsigned long long limit,
		       unsigned long long *region, char *msg, size_t msglen);

/**
 * npu_xrt_memlock_limit - this process's soft RLIMIT_MEMLOCK in bytes
 * (RLIM_INFINITY when unlimited or unreadable).
 */
unsigned long long npu_xrt_memlock_limit(void);

#endif /* AMN_NPU_XRT_CONFIG_H */
