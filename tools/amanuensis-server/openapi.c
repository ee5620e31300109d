/* SPDX-License-Identifier: MIT */
/*
 * tools/amanuensis-server/openapi.c - the OpenAPI description served at
 * /openapi.json, linked into the binary by the assembler's .incbin at build
 * time; the Makefile rebuilds this object when the file changes. A tree
 * without the file yet serves a description with no paths.
 */
#include "tools/amanuensis-server/assets.h"

#if __has_include("tools/amanuensis-server/openapi.json")
__asm__(".pushsection .rodata\n"
	".balign 16\n"
	".hidden srv_openapi_begin\n"
	".hidden srv_openapi_end\n"
	"srv_openapi_begin:\n"
	".incbin \"tools/amanuensis-server/openapi.json\"\n"
	"srv_openapi_end:\n"
	".byte 0\n"
	".popsection\n");
extern const char srv_openapi_begin[], srv_openapi_end[];

const char *srv_asset_openapi(size_t *len)
{
	*len = (size_t)(srv_openapi_end - srv_openapi_begin);
	return srv_openapi_begin;
}
#else
static const char missing[] =
	"{\"openapi\":\"3.0.3\",\"info\":{\"title\":\"amanuensis-server\",\"version\":\"0\"},"
	"\"paths\":{}}";

const char *srv_asset_openapi(size_t *len)
{
	*len = sizeof(missing) - 1;
	return missing;
}
#endif
