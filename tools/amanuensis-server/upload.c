/* SPDX-License-Identifier: MIT */
/*
 * tools/amanuensis-server/upload.c - multipart bodies through MHD's post
 * processor: the file into an unlinked temporary file, the other fields
 * into the request, every size bounded (see upload.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <microhttpd.h>

#include "tools/amanuensis-server/upload.h"

/* The post processor's buffer: the most it holds of a body at once. */
#define PP_BUFFER (64 * 1024)

static void failed(struct srv_upload *u, int status, const char *param, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static void failed(struct srv_upload *u, int status, const char *param, const char *fmt, ...)
{
	va_list ap;

	if (u->status)
		return;          /* the first failure is the one to report */
	u->status = status;
	snprintf(u->param, sizeof(u->param), "%s", param ? param : "");
	va_start(ap, fmt);
	vsnprintf(u->message, sizeof(u->message), fmt, ap);
	va_end(ap);
}

/* open_temp - an unlinked file in $TMPDIR (else /tmp), close-on-exec. */
static int open_temp(void)
{
	const char *dir = getenv("TMPDIR");
	char path[4096];
	int fd;

	if (!dir || !*dir)
		dir = "/tmp";
	if (snprintf(path, sizeof(path), "%s/amn-upload-XXXXXX", dir) >= (int)sizeof(path))
		return -ENAMETOOLONG;
	fd = mkostemp(path, O_CLOEXEC);
	if (fd < 0)
		return -errno;
	unlink(path);
	return fd;
}

static int write_all(int fd, const char *p, size_t n)
{
	while (n) {
		ssize_t w = write(fd, p, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -errno;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

static int file_data(struct srv_upload *u, const char *filename, const char *data,
		     uint64_t off, size_t size)
{
	int rc;

	if (off == 0 && u->fd < 0) {
		u->file_parts++;
		rc = open_temp();
		if (rc < 0) {
			failed(u, 500, NULL, "cannot store the upload: %s", strerror(-rc));
			return -1;
		}
		u->fd = rc;
		snprintf(u->filename, sizeof(u->filename), "%s", filename ? filename : "");
	} else if (off == 0) {
		failed(u, 400, "file", "more than one file was sent; send one");
		return -1;
	}
	if (size > u->max_file - u->file_bytes) {
		failed(u, 413, "file", "the file is larger than this server's limit of %zu MiB",
		       u->max_file >> 20);
		return -1;
	}
	rc = write_all(u->fd, data, size);
	if (rc) {
		failed(u, 500, NULL, "cannot store the upload: %s", strerror(-rc));
		return -1;
	}
	u->file_bytes += size;
	return 0;
}

static enum MHD_Result on_field(void *cls, enum MHD_ValueKind kind, const char *key,
				const char *filename, const char *content_type,
				const char *transfer_encoding, const char *data,
				uint64_t off, size_t size)
{
	struct srv_upload *u = cls;

	if (u->status)
		return MHD_NO;
	if (key && !strcmp(key, "file"))
		return file_data(u, filename, data, off, size) ? MHD_NO : MHD_YES;
	srv_request_field(u->req, key, data, off, size);
	return MHD_YES;
}

int srv_upload_begin(struct srv_upload *u, struct MHD_Connection *c, struct srv_request *req,
		     size_t max_file, size_t max_body)
{
	memset(u, 0, sizeof(*u));
	u->fd = -1;
	u->req = req;
	u->max_file = max_file;
	u->max_body = max_body;
	u->pp = MHD_create_post_processor(c, PP_BUFFER, on_field, u);
	if (!u->pp) {
		failed(u, 400, NULL, "the body must be multipart/form-data with a file field");
		return -EPROTO;
	}
	return 0;
}

int srv_upload_feed(struct srv_upload *u, const char *data, size_t size)
{
	if (size > u->max_body - u->body_bytes) {
		u->body_bytes = u->max_body;
		failed(u, 413, "file", "the request body is larger than this server's limit");
		return -E2BIG;
	}
	u->body_bytes += size;
	if (u->status || !u->pp)
		return 0;      /* counted and dropped */
	if (MHD_post_process(u->pp, data, size) != MHD_YES)
		failed(u, 400, NULL, "the multipart/form-data body is malformed");
	return 0;
}

int srv_upload_end(struct srv_upload *u)
{
	if (u->pp) {
		if (MHD_destroy_post_processor(u->pp) != MHD_YES)
			failed(u, 400, NULL, "the multipart/form-data body is malformed or cut short");
		u->pp = NULL;
	}
	if (!u->status && u->fd < 0)
		failed(u, 400, "file", "no file was sent: the field 'file' is required");
	if (!u->status && u->file_bytes == 0)
		failed(u, 400, "file", "the file is empty");
	return u->status ? -EINVAL : 0;
}

void srv_upload_free(struct srv_upload *u)
{
	if (u->pp)
		MHD_destroy_post_processor(u->pp);
	u->pp = NULL;
	if (u->fd >= 0)
		close(u->fd);
	u->fd = -1;
}
