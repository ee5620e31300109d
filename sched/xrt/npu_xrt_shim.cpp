// SPDX-License-Identifier: MIT
/*
 * sched/xrt/npu_xrt_shim.cpp - the XRT >= 2.18 shim behind npu_xrt_shim.h.
 *
 * Host flow for the Phoenix/Strix NPU: device (by PCI address) -> xclbin ->
 * register_xclbin -> hw_context -> kernel "MLIR_AIE". Arguments: opcode 3,
 * the instruction buffer (XCL_BO_FLAGS_CACHEABLE), the instruction count in
 * 32-bit words, then the data buffers (host-only): the slot's input batch
 * (group 3), the weights region (group 4), the slot's output C area (group
 * 5). Each slot has its own xrt::run, started without waiting, so the host
 * packs the next batch while the device runs this one.
 *
 * Every entry point catches everything: an XRT exception becomes -errno
 * (and, where the caller gave a buffer, its what() text). Timeouts use
 * run::wait2(), which tells our timeout (std::cv_status::timeout: the run
 * is still in flight) from a run that ended badly (command_error, with the
 * driver's own TIMEOUT state among them). A run in flight is never aborted
 * (amdxdna has no abort command: abort() would block behind the hung run
 * until the driver's watchdog) and never destroyed (XRT aborts the process).
 */
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <exception>
#include <new>
#include <string>

#include <xrt/xrt_bo.h>
#include <xrt/xrt_device.h>
#include <xrt/xrt_hw_context.h>
#include <xrt/xrt_kernel.h>
#if __has_include(<xrt/experimental/xrt_xclbin.h>)
#include <xrt/experimental/xrt_xclbin.h>
#else
#include <experimental/xrt_xclbin.h>   /* XRT 2.18 */
#endif

#include "sched/xrt/npu_xrt_shim.h"

enum class slot_state { idle, running, abandoned };

struct npu_xrt_slot {
	xrt::bo in, out;
	size_t in_bytes = 0, out_bytes = 0;
	size_t out_len = 0;        /* bytes to sync back after the run */
	xrt::run run;
	slot_state state = slot_state::idle;
};

struct npu_xrt {
	xrt::device device;
	xrt::xclbin xclbin;
	xrt::hw_context context;
	xrt::kernel kernel;
	xrt::bo instr;
	uint32_t instr_words = 0;
	xrt::bo weights;
	size_t weights_bytes = 0;
	npu_xrt_slot slot[NPU_XRT_SHIM_SLOTS];
	char err[256] = "";        /* the last failure, for npu_xrt_last_error() */
};

static void put(char *err, size_t errlen, const char *what, const char *detail)
{
	if (err && errlen)
		snprintf(err, errlen, "xrt: %s: %s", what, detail);
}

/* Keep what the exception being handled says (call only inside a catch block). */
static void note(npu_xrt *x, const char *step) noexcept
{
	try {
		throw;
	} catch (const xrt::run::command_error &ex) {
		snprintf(x->err, sizeof(x->err), "%s: the run ended in state %d: %s", step,
			 (int)ex.get_command_state(), ex.what());
	} catch (const std::exception &ex) {
		snprintf(x->err, sizeof(x->err), "%s: %s", step, ex.what());
	} catch (...) {
		snprintf(x->err, sizeof(x->err), "%s: unknown exception", step);
	}
}

/* A run state after which the device no longer touches the run's buffers. */
static bool terminal(ert_cmd_state st)
{
	switch (st) {
	case ERT_CMD_STATE_NEW:
	case ERT_CMD_STATE_QUEUED:
	case ERT_CMD_STATE_RUNNING:
	case ERT_CMD_STATE_SUBMITTED:
		return false;
	default:
		return true;
	}
}

/* The run's state says it ended; false when it is in flight or cannot be read. */
static bool run_ended(const xrt::run &run)
{
	try {
		return terminal(run.state());
	} catch (...) {
		return false;
	}
}

extern "C" int npu_xrt_open(struct npu_xrt **out, const char *bdf, const char *xclbin,
			    const uint32_t *instr, size_t n_words, char *err, size_t errlen)
{
	const char *step = "allocating the shim";
	npu_xrt *x = nullptr;

	if (!instr || !n_words || n_words > UINT32_MAX / 4) {
		put(err, errlen, "instructions", "no words");
		return -EINVAL;
	}
	try {
		x = new npu_xrt;
		step = "opening the device";
		x->device = xrt::device(std::string(bdf));
		step = "reading the xclbin";
		x->xclbin = xrt::xclbin(std::string(xclbin));
		step = "registering the xclbin";
		x->device.register_xclbin(x->xclbin);
		step = "creating the hardware context";
		x->context = xrt::hw_context(x->device, x->xclbin.get_uuid());
		step = "opening kernel MLIR_AIE";
		x->kernel = xrt::kernel(x->context, "MLIR_AIE");
		step = "loading the instructions";
		x->instr_words = (uint32_t)n_words;
		x->instr = xrt::bo(x->device, n_words * sizeof(uint32_t), XCL_BO_FLAGS_CACHEABLE,
				   x->kernel.group_id(1));
		std::memcpy(x->instr.map<void *>(), instr, n_words * sizeof(uint32_t));
		x->instr.sync(XCL_BO_SYNC_BO_TO_DEVICE);
	} catch (const std::bad_alloc &) {
		put(err, errlen, step, "out of memory");
		delete x;
		return -ENOMEM;
	} catch (const std::exception &ex) {
		put(err, errlen, step, ex.what());
		try { delete x; } catch (...) { }
		return -ENODEV;
	} catch (...) {
		put(err, errlen, step, "unknown exception");
		try { delete x; } catch (...) { }
		return -ENODEV;
	}
	*out = x;
	return 0;
}

extern "C" int npu_xrt_weights_alloc(struct npu_xrt *x, size_t bytes)
{
	if (x->weights_bytes || !bytes)
		return -EINVAL;
	try {
		x->weights = xrt::bo(x->device, bytes, XRT_BO_FLAGS_HOST_ONLY, x->kernel.group_id(4));
		x->weights_bytes = bytes;
	} catch (...) {
		note(x, "allocating the weights buffer");
		return -ENOMEM;
	}
	return 0;
}

extern "C" void *npu_xrt_weights_map(struct npu_xrt *x)
{
	try {
		return x->weights_bytes ? x->weights.map<void *>() : nullptr;
	} catch (...) {
		note(x, "mapping the weights buffer");
		return nullptr;
	}
}

extern "C" size_t npu_xrt_weights_size(struct npu_xrt *x)
{
	return x->weights_bytes;
}

extern "C" int npu_xrt_weights_sync(struct npu_xrt *x, size_t off, size_t len)
{
	if (off > x->weights_bytes || len > x->weights_bytes - off)
		return -EIO;
	try {
		x->weights.sync(XCL_BO_SYNC_BO_TO_DEVICE, len, off);
	} catch (...) {
		note(x, "syncing the weights");
		return -EIO;
	}
	return 0;
}

/* Arguments that do not change between runs of a slot: set when its buffers change. */
static void set_args(npu_xrt *x, npu_xrt_slot &s)
{
	const unsigned opcode = 3;

	s.run = xrt::run(x->kernel);   /* the slot is idle: the old run is not in flight */
	s.run.set_arg(0, opcode);
	s.run.set_arg(1, x->instr);
	s.run.set_arg(2, x->instr_words);
	s.run.set_arg(3, s.in);
	s.run.set_arg(4, x->weights);
	s.run.set_arg(5, s.out);
}

extern "C" int npu_xrt_slot_buffers(struct npu_xrt *x, unsigned slot, size_t in_bytes,
				    size_t out_bytes)
{
	if (slot >= NPU_XRT_SHIM_SLOTS || !x->weights_bytes)
		return -EINVAL;
	npu_xrt_slot &s = x->slot[slot];
	if (s.state != slot_state::idle)
		return -EBUSY;
	try {
		bool changed = false;

		if (in_bytes > s.in_bytes) {
			s.in = xrt::bo(x->device, in_bytes, XRT_BO_FLAGS_HOST_ONLY, x->kernel.group_id(3));
			s.in_bytes = in_bytes;
			changed = true;
		}
		if (out_bytes > s.out_bytes || !s.out_bytes) {
			size_t n = out_bytes ? out_bytes : 64;

			s.out = xrt::bo(x->device, n, XRT_BO_FLAGS_HOST_ONLY, x->kernel.group_id(5));
			s.out_bytes = n;
			changed = true;
		}
		if (changed)
			set_args(x, s);
	} catch (...) {
		note(x, "allocating a slot's buffers");
		return -ENOMEM;
	}
	return 0;
}

extern "C" void *npu_xrt_slot_in(struct npu_xrt *x, unsigned slot)
{
	try {
		return slot < NPU_XRT_SHIM_SLOTS && x->slot[slot].in_bytes ?
		       x->slot[slot].in.map<void *>() : nullptr;
	} catch (...) {
		note(x, "mapping a slot's input");
		return nullptr;
	}
}

extern "C" void *npu_xrt_slot_out(struct npu_xrt *x, unsigned slot)
{
	try {
		return slot < NPU_XRT_SHIM_SLOTS && x->slot[slot].out_bytes ?
		       x->slot[slot].out.map<void *>() : nullptr;
	} catch (...) {
		note(x, "mapping a slot's output");
		return nullptr;
	}
}

extern "C" int npu_xrt_start(struct npu_xrt *x, unsigned slot, size_t in_len, size_t out_len)
{
	if (slot >= NPU_XRT_SHIM_SLOTS)
		return -EIO;
	npu_xrt_slot &s = x->slot[slot];
	if (s.state != slot_state::idle)
		return -EBUSY;
	if (in_len > s.in_bytes || out_len > s.out_bytes)
		return -EIO;
	try {
		s.in.sync(XCL_BO_SYNC_BO_TO_DEVICE, in_len, 0);
		s.out_len = out_len;
	} catch (...) {
		note(x, "syncing a batch to the device");
		return -EIO;
	}
	try {
		s.run.start();
		s.state = slot_state::running;
	} catch (...) {
		note(x, "starting a run");
		/* did it start? if the state cannot say it ended, treat it as in flight */
		if (!run_ended(s.run))
			s.state = slot_state::abandoned;
		return -EIO;
	}
	return 0;
}

extern "C" int npu_xrt_wait(struct npu_xrt *x, unsigned slot, unsigned timeout_ms)
{
	if (slot >= NPU_XRT_SHIM_SLOTS || x->slot[slot].state != slot_state::running)
		return -EIO;
	npu_xrt_slot &s = x->slot[slot];
	try {
		if (!timeout_ms) {
			/* NPU_RUN_TIMEOUT_MS=0: wait() with 0 blocks until the run ends */
			ert_cmd_state st = s.run.wait();

			if (st != ERT_CMD_STATE_COMPLETED) {
				snprintf(x->err, sizeof(x->err), "the run ended in state %d", (int)st);
				s.state = terminal(st) ? slot_state::idle : slot_state::abandoned;
				return s.state == slot_state::idle ? -EIO : -ETIMEDOUT;
			}
		} else if (s.run.wait2(std::chrono::milliseconds(timeout_ms)) ==
			   std::cv_status::timeout) {
			s.state = slot_state::abandoned;
			return -ETIMEDOUT;
		}
	} catch (const xrt::run::command_error &) {
		note(x, "waiting for a run");
		s.state = slot_state::idle;    /* ended badly: error, abort, driver timeout */
		return -EIO;
	} catch (...) {
		note(x, "waiting for a run");
		if (run_ended(s.run)) {
			s.state = slot_state::idle;
			return -EIO;
		}
		s.state = slot_state::abandoned;
		return -ETIMEDOUT;
	}
	s.state = slot_state::idle;
	try {
		if (s.out_len)
			s.out.sync(XCL_BO_SYNC_BO_FROM_DEVICE, s.out_len, 0);
	} catch (...) {
		note(x, "syncing a result from the device");
		return -EIO;
	}
	return 0;
}

extern "C" int npu_xrt_reclaim(struct npu_xrt *x, unsigned slot, unsigned timeout_ms)
{
	if (slot >= NPU_XRT_SHIM_SLOTS || x->slot[slot].state != slot_state::abandoned)
		return 0;
	npu_xrt_slot &s = x->slot[slot];
	if (!timeout_ms) {
		if (!run_ended(s.run))
			return -EBUSY;
		s.state = slot_state::idle;
		return 0;
	}
	try {
		if (s.run.wait2(std::chrono::milliseconds(timeout_ms)) == std::cv_status::timeout)
			return -EBUSY;
	} catch (const xrt::run::command_error &) {
		/* ended, in error: what a hung run ended by the watchdog reports */
	} catch (...) {
		if (!run_ended(s.run))
			return -EBUSY;
	}
	s.state = slot_state::idle;
	return 0;
}

extern "C" const char *npu_xrt_last_error(struct npu_xrt *x)
{
	return x->err[0] ? x->err : "no message";
}

extern "C" void npu_xrt_close(struct npu_xrt *x)
{
	if (!x)
		return;
	for (auto &s : x->slot) {
		if (s.state != slot_state::idle && !run_ended(s.run)) {
			fprintf(stderr, "amanuensis: xrt: a run is still in flight at close; its "
				"XRT objects are kept until the process exits\n");
			return;   /* deliberately not freed: destroying it would abort */
		}
	}
	try {
		delete x;
	} catch (...) {
		/* destructors of XRT objects must not take the process down */
	}
}
