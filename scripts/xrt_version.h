/* SPDX-License-Identifier: MIT */
/*
 * scripts/xrt_version.h - the Makefile's XRT test (not part of the library).
 *
 * Preprocessed (-E), it prints "amn_xrt_version CODE" with XRT's
 * XRT_VERSION_CODE expression, which the Makefile evaluates for its build
 * line. Compiled with -DAMN_XRT_REQUIRE as C++17, it fails unless the XRT
 * found is >= 2.18 and its hw_context header compiles: the gate for
 * building the NPU shim. The version header moved: XRT 2.18 installs a
 * generated version.h at the top of its include directory; later releases
 * have xrt/detail/version-slim.h (and xrt/detail/version.h).
 */
#if __has_include(<xrt/detail/version-slim.h>)
#include <xrt/detail/version-slim.h>
#elif __has_include(<xrt/detail/version.h>)
#include <xrt/detail/version.h>
#elif __has_include(<version.h>) && __has_include(<xrt/xrt_bo.h>)
#include <version.h>
#endif

#ifndef AMN_XRT_REQUIRE
#ifdef XRT_VERSION_CODE
amn_xrt_version XRT_VERSION_CODE
#endif
#else
#if !defined(XRT_VERSION_CODE)
#error "no XRT_VERSION_CODE: not an XRT include directory"
#elif XRT_VERSION_CODE < ((2 << 16) + 18)
#error "XRT older than 2.18: it cannot drive the Ryzen AI NPU"
#endif
#include <xrt/xrt_hw_context.h>
#include <xrt/xrt_kernel.h>
int main(void)
{
	return 0;
}
#endif
