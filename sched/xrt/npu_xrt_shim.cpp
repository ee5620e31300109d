// SPDX-License-Identifier: MIT
/*
 * sched/xrt/npu_xrt_shim.cpp - the XRT >= 2.18 shim behind npu_xrt_shim.h.
 *
 * Host flow for the Phoenix/Strix NPU: device -> xclbin -> register_xclbin
 * -> hw_context -> kernel "MLIR_AIE". Arguments: opcode 3, the instruction
 * buffer (XCL_BO_FLAGS_CACHEABLE), the instruction count in 32-bit words,
 * then the data buffers (host-only): the slot's input batch (group 3), the
 * weights region (group 4), the slot's output C area (group 5). Each slot
 * has its own xrt::run, started without waiting, so the host packs the next
 * batch while the device runs this one.
 */
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <memory>
#include <new>
#include <string>
#include <vector>

#include <xrt/xrt_bo.h>
#include <xrt/xrt_device.h>
#include <xrt/xrt_hw_context.h>
#include <xrt/xrt_kernel.h>
#include <xrt/experimental/xrt_xclbin.h>

#include "sched/xrt/npu_xrt_shim.h"

struct npu_xrt_slot {
	xrt::bo in, out;
	size_t in_bytes = 0, out_bytes = 0;
	size_t out_len = 0;        /* bytes to sync back after the run */
	xrt::run run;
	bool running = false;
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
};

static int read_instr(const char *path, std::vector<uint32_t> &words)
{
	std::ifstream f(path);
	std::string line;

	if (!f)
		return -ENOENT;
	while (std::getline(f, line)) {
		if (line.empty() || line[0] == '#')
			continue;
		words.push_back((uint32_t)std::stoul(line, nullptr, 16));
	}
	return words.empty() ? -EINVAL : 0;
}

extern "C" int npu_xrt_open(struct npu_xrt **out, unsigned index, const char *xclbin,
			    const char *instr, char *err, size_t errlen)
{
	std::vector<uint32_t> words;
	npu_xrt *x = nullptr;
	int ret;

	ret = read_instr(instr, words);
	if (ret) {
		snprintf(err, errlen, "instruction file %s: %s", instr,
			 ret == -ENOENT ? "cannot open" : "no words");
		return ret;
	}
	try {
		x = new npu_xrt;
		x->device = xrt::device(index);
		x->xclbin = xrt::xclbin(std::string(xclbin));
		x->device.register_xclbin(x->xclbin);
		x->context = xrt::hw_context(x->device, x->xclbin.get_uuid());
		x->kernel = xrt::kernel(x->context, "MLIR_AIE");
		x->instr_words = (uint32_t)words.size();
		x->instr = xrt::bo(x->device, words.size() * sizeof(uint32_t),
				   XCL_BO_FLAGS_CACHEABLE, x->kernel.group_id(1));
		std::memcpy(x->instr.map<void *>(), words.data(), words.size() * sizeof(uint32_t));
		x->instr.sync(XCL_BO_SYNC_BO_TO_DEVICE);
	} catch (const std::exception &ex) {
		snprintf(err, errlen, "xrt: %s", ex.what());
		delete x;
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
	} catch (const std::exception &) {
		return -ENOMEM;
	}
	return 0;
}

extern "C" void *npu_xrt_weights_map(struct npu_xrt *x)
{
	try {
		return x->weights_bytes ? x->weights.map<void *>() : nullptr;
	} catch (const std::exception &) {
		return nullptr;
	}
}

extern "C" int npu_xrt_weights_sync(struct npu_xrt *x, size_t off, size_t len)
{
	if (off > x->weights_bytes || len > x->weights_bytes - off)
		return -EIO;
	try {
		x->weights.sync(XCL_BO_SYNC_BO_TO_DEVICE, len, off);
	} catch (const std::exception &) {
		return -EIO;
	}
	return 0;
}

/* Arguments that do not change between runs of a slot: set when its buffers change. */
static void set_args(npu_xrt *x, npu_xrt_slot &s)
{
	const unsigned opcode = 3;

	s.run = xrt::run(x->kernel);
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
	if (slot >= NPU_XRT_SHIM_SLOTS || x->slot[slot].running || !x->weights_bytes)
		return -EINVAL;
	npu_xrt_slot &s = x->slot[slot];
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
	} catch (const std::exception &) {
		return -ENOMEM;
	}
	return 0;
}

extern "C" void *npu_xrt_slot_in(struct npu_xrt *x, unsigned slot)
{
	try {
		return slot < NPU_XRT_SHIM_SLOTS && x->slot[slot].in_bytes ?
		       x->slot[slot].in.map<void *>() : nullptr;
	} catch (const std::exception &) {
		return nullptr;
	}
}

extern "C" void *npu_xrt_slot_out(struct npu_xrt *x, unsigned slot)
{
	try {
		return slot < NPU_XRT_SHIM_SLOTS && x->slot[slot].out_bytes ?
		       x->slot[slot].out.map<void *>() : nullptr;
	} catch (const std::exception &) {
		return nullptr;
	}
}

extern "C" int npu_xrt_start(struct npu_xrt *x, unsigned slot, size_t in_len, size_t out_len)
{
	if (slot >= NPU_XRT_SHIM_SLOTS)
		return -EIO;
	npu_xrt_slot &s = x->slot[slot];
	if (s.running || in_len > s.in_bytes || out_len > s.out_bytes)
		return -EIO;
	try {
		s.in.sync(XCL_BO_SYNC_BO_TO_DEVICE, in_len, 0);
		s.out_len = out_len;
		s.run.start();
		s.running = true;
	} catch (const std::exception &) {
		return -EIO;
	}
	return 0;
}

extern "C" int npu_xrt_wait(struct npu_xrt *x, unsigned slot, unsigned timeout_ms)
{
	if (slot >= NPU_XRT_SHIM_SLOTS || !x->slot[slot].running)
		return -EIO;
	npu_xrt_slot &s = x->slot[slot];
	s.running = false;
	try {
		auto state = s.run.wait(std::chrono::milliseconds(timeout_ms ? timeout_ms : 1));
		if (state == ERT_CMD_STATE_TIMEOUT) {
			s.run.abort();   /* the slot's buffers must not be written later */
			return -ETIMEDOUT;
		}
		if (state != ERT_CMD_STATE_COMPLETED)
			return -EIO;
		if (s.out_len)
			s.out.sync(XCL_BO_SYNC_BO_FROM_DEVICE, s.out_len, 0);
	} catch (const std::exception &) {
		return -EIO;
	}
	return 0;
}

extern "C" void npu_xrt_close(struct npu_xrt *x)
{
	if (!x)
		return;
	try {
		for (auto &s : x->slot)
			if (s.running)
				s.run.abort();
		delete x;
	} catch (...) {
		/* destructors of XRT objects must not take the process down */
	}
}
