/* SPDX-License-Identifier: MIT */
/*
 * sched/xrt/npu_xrt_shim.h - C entry points of the XRT shim (C++, XRT >= 2.18).
 *
 * XRT's hw_context API is C++ only, so this shim owns every XRT object and
 * exposes plain C. It is built only where xrt_hw_context.h exists, and must be
 * called only after npu_probe() found a usable device: XRT aborts the process
 * in some setups without one. No C++ exception crosses these functions.
 *
 * One shim instance holds the device, the registered xclbin, one hardware
 * context and the kernel: open it once per process and share it (hardware
 * contexts are a scarce, system-wide resource).
 */
#ifndef AMN_NPU_XRT_SHIM_H
#define AMN_NPU_XRT_SHIM_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

struct npu_xrt;

/**
 * npu_xrt_open - open device @index, register @xclbin, create the hardware
 * context and the "MLIR_AIE" kernel, and load the instruction stream.
 * @instr: the instruction file, 32-bit words, one hex word per line.
 * @err, @errlen: receive a message on failure.
 * Return: 0, -ENOENT for a missing file, -ENODEV if XRT fails.
 */
int npu_xrt_open(struct npu_xrt **out, unsigned index, const char *xclbin, const char *instr,
		 char *err, size_t errlen);

/**
 * npu_xrt_buffers - (re)allocate the host-only input and output buffers,
 * at least @in_bytes and @out_bytes. Return: 0 or -ENOMEM.
 */
int npu_xrt_buffers(struct npu_xrt *x, size_t in_bytes, size_t out_bytes);

/** npu_xrt_in, npu_xrt_out - the mapped buffers, valid until the next npu_xrt_buffers(). */
void *npu_xrt_in(struct npu_xrt *x);
void *npu_xrt_out(struct npu_xrt *x);

/**
 * npu_xrt_run - sync the input to the device, run the kernel (opcode 3,
 * instruction buffer, instruction count, input, output), wait at most
 * @timeout_ms, and sync the output back.
 * Return: 0, -ETIMEDOUT, or -EIO.
 */
int npu_xrt_run(struct npu_xrt *x, unsigned timeout_ms);

/** npu_xrt_close - release every XRT object; NULL is a no-op. */
void npu_xrt_close(struct npu_xrt *x);

#ifdef __cplusplus
}
#endif
#endif /* AMN_NPU_XRT_SHIM_H */
