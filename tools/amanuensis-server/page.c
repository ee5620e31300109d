/* SPDX-License-Identifier: MIT */
/*
 * tools/amanuensis-server/page.c - the page served at / (page/index.html),
 * linked into the binary by the assembler's .incbin at build time; the
 * Makefile rebuilds this object when the page changes. A tree without the
 * page yet builds a server whose / says so.
 */
#include "tools/amanuensis-server/assets.h"

#if __has_include("tools/amanuensis-server/page/index.html")
__asm__(".pushsection .rodata\n"
	".balign 16\n"
	".hidden srv_page_begin\n"
	".hidden srv_page_end\n"
	"srv_page_begin:\n"
	".incbin \"tools/amanuensis-server/page/index.html\"\n"
	"srv_page_end:\n"
	".byte 0\n"
	".popsection\n");
extern const char srv_page_begin[], srv_page_end[];

const char *srv_asset_page(size_t *len)
{
	*len = (size_t)(srv_page_end - srv_page_begin);
	return srv_page_begin;
}
#else
static const char missing[] =
	"<!doctype html><title>amanuensis</title>"
	"<p>This server was built without its page (tools/amanuensis-server/page/index.html).\n";

const char *srv_asset_page(size_t *len)
{
	*len = sizeof(missing) - 1;
	return missing;
}
#endif
