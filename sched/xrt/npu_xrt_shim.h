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
 * contexts are a scarce, system-wide resource). It also holds the buffers
 * of sched/xrt/npu_xrt_dev.h: the weights region and two slots (input,
 * output, a run object each), so one batch is packed while another runs.
 */
#ifndef AMN_NPU_XRT_SHIM_H
#define AMN_NPU_XRT_SHIM_H

#include <stddef.h>
#include <stdint.h>

#define NPU_XRT_SHIM_SLOTS 2

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
 * npu_xrt_weights_alloc - allocate the weights buffer (host-only, kernel
 * argument 4) of @bytes, once. Return: 0, -EINVAL (already done) or -ENOMEM.
 */
int npu_xrt_weights_alloc(struct npu_xrt *x, size_t bytes);

/** npu_xrt_weights_map - the weights buffer's host mapping, or NULL. */
void *npu_xrt_weights_map(struct npu_xrt *x);

/** npu_xrt_weights_sync - push [off, off + len) of it to the device. Return: 0 or -EIO. */
int npu_xrt_weights_sync(struct npu_xrt *x, size_t off, size_t len);

/**
 * npu_xrt_slot_buffers - grow slot @slot's host-only input (argument 3) and
 * output (argument 5) buffers to at least @in_bytes and @out_bytes; the
 * slot must have no run. Return: 0, -EINVAL or -ENOMEM.
 */
int npu_xrt_slot_buffers(struct npu_xrt *x, unsigned slot, size_t in_bytes, size_t out_bytes);

/** npu_xrt_slot_in, npu_xrt_slot_out - the mappings, valid until the next npu_xrt_slot_buffers(). */
void *npu_xrt_slot_in(struct npu_xrt *x, unsigned slot);
void *npu_xrt_slot_out(struct npu_xrt *x, unsigned slot);

/**
 * npu_xrt_start - sync the first @in_len input bytes to the device and
 * start the kernel (opcode 3, instruction buffer, instruction count, input,
 * weights, output) without waiting. @out_len bytes come back at wait.
 * Return: 0 or -EIO.
 */
int npu_xrt_start(struct npu_xrt *x, unsigned slot, size_t in_len, size_t out_len);

/**
 * npu_xrt_wait - wait at most @timeout_ms for the slot's run, then sync its
 * output back. A run that times out is aborted before the slot is reused.
 * Return: 0, -ETIMEDOUT, or -EIO.
 */
int npu_xrt_wait(struct npu_xrt *x, unsigned slot, unsigned timeout_ms);

/** npu_xrt_close - release every XRT object; NULL is a no-op. */
void npu_xrt_close(struct npu_xrt *x);

#ifdef __cplusplus
}
#endif
#endif /* AMN_NPU_XRT_SHIM_H */
