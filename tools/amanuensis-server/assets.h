/* SPDX-License-Identifier: MIT */
/*
 * tools/amanuensis-server/assets.h - the files the server carries inside
 * its binary (linked in at build time, so the server needs nothing beside
 * it): the page at / and the OpenAPI description at /openapi.json.
 */
#ifndef AMN_SRV_ASSETS_H
#define AMN_SRV_ASSETS_H

#include <stddef.h>

/** srv_asset_page - page/index.html; its length in *@len. */
const char *srv_asset_page(size_t *len);

/** srv_asset_openapi - openapi.json; its length in *@len. */
const char *srv_asset_openapi(size_t *len);

#endif /* AMN_SRV_ASSETS_H */
