/* SPDX-License-Identifier: MIT */
/*
 * tools/amanuensis-server/upload.h - a request body as it streams in:
 * multipart/form-data through MHD's post processor, the file field written
 * as it arrives to a temporary file that is unlinked at once (so no upload
 * outlives its request, whatever happens to the process), the other fields
 * into the request's bounded buffers. Memory per upload stays at the post
 * processor's buffer whatever the file's size; bytes are bounded by the
 * file and body limits.
 */
#ifndef AMN_SRV_UPLOAD_H
#define AMN_SRV_UPLOAD_H

#include <stddef.h>

#include "tools/amanuensis-server/request.h"

struct MHD_Connection;
struct MHD_PostProcessor;

struct srv_upload {
	struct MHD_PostProcessor *pp;
	struct srv_request *req;
	int fd;                      /* the file field's bytes; -1 until it starts */
	size_t file_bytes;
	size_t body_bytes;
	size_t max_file, max_body;
	int file_parts;
	char filename[256];          /* as the client named it, "" if not */
	int status;                  /* first failure: 400, 413, 500; 0: none */
	char param[16];
	char message[256];
};

/**
 * srv_upload_begin - start reading the body of @c into @req (and a temp file).
 * @max_file: bytes of the file field; @max_body: bytes of the whole body.
 * Return: 0, or -EPROTO when the body is not multipart/form-data or
 * urlencoded (u->status 400 with a message), -ENOMEM.
 */
int srv_upload_begin(struct srv_upload *u, struct MHD_Connection *c, struct srv_request *req,
		     size_t max_file, size_t max_body);

/**
 * srv_upload_feed - @size more bytes of the body. After a failure the rest
 * is counted and dropped.
 * Return: 0, or -E2BIG once the body is over max_body (drop the
 * connection: there is no way to answer in the middle of a body).
 */
int srv_upload_feed(struct srv_upload *u, const char *data, size_t size);

/**
 * srv_upload_end - the body is complete: finish the multipart parse and
 * check that one file came. Return: 0, or -EINVAL with u->status set.
 */
int srv_upload_end(struct srv_upload *u);

/** srv_upload_free - drop the parser and close the temp file; safe twice. */
void srv_upload_free(struct srv_upload *u);

#endif /* AMN_SRV_UPLOAD_H */
