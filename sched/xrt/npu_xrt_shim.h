/* SPDX-License-Identifier: MIT */
/*
 * sched/xrt/npu_xrt_shim.h - C entry points of the XRT shim (C++, XRT >= 2.18).
 *
 * XRT's hw_context API is C++ only, so this shim owns every XRT object and
 * exposes plain C. It is built only against XRT >= 2.18 (the Makefile's
 * version test), and must be called only after npu_probe() found a usable
 * device: XRT aborts the process in some setups without one. Everything
 * that can be decided without a device (which files, their parsing, the
 * region's size under the locked-memory limit) is done in C before this
 * is called (npu_xrt_config.h, npu_xrt_instr.h); the shim is a thin layer
 * of XRT calls, each inside a try block: no C++ exception crosses these
 * functions, errors come back as -errno, with a message where one helps.
 *
 * One shim instance holds the device, the registered xclbin, one hardware
 * context and the kernel: open it once per process and share it (hardware
 * contexts are a scarce, system-wide resource). It also holds the buffers
 * of sched/xrt/npu_xrt_dev.h: the weights region and two slots (input,
 * output, a run object each), so one batch is packed while another runs.
 * Timeouts follow npu_xrt_dev.h: a run is never aborted (amdxdna has no
 * abort command) nor destroyed in flight (XRT would abort the process).
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
 * npu_xrt_open - open the device at PCI address @bdf, register @xclbin,
 * create the hardware context and the "MLIR_AIE" kernel, and load the
 * instruction stream.
 * @bdf:    e.g. "0000:c5:00.1" (npu_probe_info.bdf).
 * @instr, @n_words: the parsed instruction words (npu_xrt_instr.h).
 * @err, @errlen: receive a message on failure.
 * Return: 0, -EINVAL (no words), -ENOMEM, or -ENODEV if XRT fails.
 */
int npu_xrt_open(struct npu_xrt **out, const char *bdf, const char *xclbin,
		 const uint32_t *instr, size_t n_words, char *err, size_t errlen);

/**
 * npu_xrt_weights_alloc - allocate the weights buffer (host-only, kernel
 * argument 4) of @bytes, once. Return: 0, -EINVAL (already done) or -ENOMEM.
 */
int npu_xrt_weights_alloc(struct npu_xrt *x, size_t bytes);

/** npu_xrt_weights_map - the weights buffer's host mapping, or NULL. */
void *npu_xrt_weights_map(struct npu_xrt *x);

/** npu_xrt_weights_size - the weights buffer's size in bytes, 0 before npu_xrt_weights_alloc(). */
size_t npu_xrt_weights_size(struct npu_xrt *x);

/** npu_xrt_weights_sync - push [off, off + len) of it to the device. Return: 0 or -EIO. */
int npu_xrt_weights_sync(struct npu_xrt *x, size_t off, size_t len);

/**
 * npu_xrt_slot_buffers - grow slot @slot's host-only input (argument 3) and
 * output (argument 5) buffers to at least @in_bytes and @out_bytes.
 * Return: 0, -EBUSY (the slot's run has not ended), -EINVAL or -ENOMEM.
 */
int npu_xrt_slot_buffers(struct npu_xrt *x, unsigned slot, size_t in_bytes, size_t out_bytes);

/** npu_xrt_slot_in, npu_xrt_slot_out - the mappings, valid until the next npu_xrt_slot_buffers(). */
void *npu_xrt_slot_in(struct npu_xrt *x, unsigned slot);
void *npu_xrt_slot_out(struct npu_xrt *x, unsigned slot);

/**
 * npu_xrt_start - sync the first @in_len input bytes to the device and
 * start the kernel (opcode 3, instruction buffer, instruction count, input,
 * weights, output) without waiting. @out_len bytes come back at wait.
 * Return: 0, -EBUSY (the slot's last run has not ended) or -EIO.
 */
int npu_xrt_start(struct npu_xrt *x, unsigned slot, size_t in_len, size_t out_len);

/**
 * npu_xrt_wait - wait at most @timeout_ms (0: no limit) for the slot's run,
 * then sync its output back.
 * Return: 0; -EIO (the run ended in error, the driver's own timeout
 * included: the slot is free); -ETIMEDOUT (our timeout: the run is left in
 * flight and the slot busy until npu_xrt_reclaim() sees it end).
 */
int npu_xrt_wait(struct npu_xrt *x, unsigned slot, unsigned timeout_ms);

/**
 * npu_xrt_reclaim - wait at most @timeout_ms (0: only look) for the slot's
 * timed-out run to reach a terminal state.
 * Return: 0 (ended, or no run: the slot is free) or -EBUSY.
 */
int npu_xrt_reclaim(struct npu_xrt *x, unsigned slot, unsigned timeout_ms);

/**
 * npu_xrt_last_error - what the last failed call met (XRT's exception text
 * and the step), for a message; "no message" if none.
 */
const char *npu_xrt_last_error(struct npu_xrt *x);

/**
 * npu_xrt_close - release every XRT object; NULL is a no-op. If a run is
 * still in flight, nothing is destroyed (the objects are left to process
 * exit, with one line on stderr): destroying a run in flight aborts.
 */
void npu_xrt_close(struct npu_xrt *x);

#ifdef __cplusplus
}
#endif
#endif /* AMN_NPU_XRT_SHIM_H */
