// SPDX-License-Identifier: MIT
/*
 * sched/xrt/npu_xrt_shim.cpp - the XRT >= 2.18 shim behind npu_xrt_shim.h.
 *
 * Host flow for the Phoenix/Strix NPU: device -> xclbin -> register_xclbin
 * -> hw_context -> kernel "MLIR_AIE". Arguments: opcode 3, the instruction
 * buffer (XCL_BO_FLAGS_CACHEABLE), the instruction count in 32-bit words,
 * then the data buffers (host-only). Sync to device, run, wait, sync back.
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

struct npu_xrt {
	xrt::device device;
	xrt::xclbin xclbin;
	xrt::hw_context context;
	xrt::kernel kernel;
	xrt::bo instr;
	uint32_t instr_words = 0;
	xrt::bo in, out;
	size_t in_bytes = 0, out_bytes = 0;
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

extern "C" int npu_xrt_buffers(struct npu_xrt *x, size_t in_bytes, size_t out_bytes)
{
	try {
		if (in_bytes > x->in_bytes) {
			x->in = xrt::bo(x->device, in_bytes, XRT_BO_FLAGS_HOST_ONLY, x->kernel.group_id(3));
			x->in_bytes = in_bytes;
		}
		if (out_bytes > x->out_bytes) {
			x->out = xrt::bo(x->device, out_bytes, XRT_BO_FLAGS_HOST_ONLY, x->kernel.group_id(4));
			x->out_bytes = out_bytes;
		}
	} catch (const std::exception &) {
		return -ENOMEM;
	}
	return 0;
}

extern "C" void *npu_xrt_in(struct npu_xrt *x)
{
	return x->in_bytes ? x->in.map<void *>() : nullptr;
}

extern "C" void *npu_xrt_out(struct npu_xrt *x)
{
	return x->out_bytes ? x->out.map<void *>() : nullptr;
}

extern "C" int npu_xrt_run(struct npu_xrt *x, unsigned timeout_ms)
{
	const unsigned opcode = 3;

	try {
		x->in.sync(XCL_BO_SYNC_BO_TO_DEVICE);
		auto run = x->kernel(opcode, x->instr, x->instr_words, x->in, x->out);
		auto state = run.wait(std::chrono::milliseconds(timeout_ms));
		if (state == ERT_CMD_STATE_TIMEOUT)
			return -ETIMEDOUT;
		if (state != ERT_CMD_STATE_COMPLETED)
			return -EIO;
		x->out.sync(XCL_BO_SYNC_BO_FROM_DEVICE);
	} catch (const std::exception &) {
		return -EIO;
	}
	return 0;
}

extern "C" void npu_xrt_close(struct npu_xrt *x)
{
	try {
		delete x;
	} catch (...) {
		/* destructors of XRT objects must not take the process down */
	}
}
