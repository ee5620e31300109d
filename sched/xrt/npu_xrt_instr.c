/* SPDX-License-Identifier: MIT */
/*
 * sched/xrt/npu_xrt_instr.c - instruction files (insts.txt, insts.bin):
 * form told by content, parsed, header and size checked. The rules are in
 * npu_xrt_instr.h.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sched/xrt/npu_xrt_instr.h"

static int fail(char *err, size_t errlen, int ret, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static int fail(char *err, size_t errlen, int ret, const char *fmt, ...)
{
	va_list ap;

	if (err && errlen) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return ret;
}

const char *npu_instr_family_of(unsigned dev_gen)
{
	if (dev_gen == 3)
		return "phoenix";
	if (dev_gen == 4)
		return "strix";
	return NULL;
}

static bool is_text(const unsigned char *p, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (!((p[i] >= 0x20 && p[i] < 0x7f) || p[i] == '\t' || p[i] == '\n' ||
		      p[i] == '\r'))
			return false;
	return true;
}

static int hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static bool blank(int c)
{
	return c == ' ' || c == '\t' || c == '\r';
}

/* Parse one line [p, end); appends to @w at *n when it holds a word. */
static int text_line(const char *p, const char *end, unsigned line, uint32_t *w, size_t *n,
		     char *err, size_t errlen)
{
	const char *start;
	uint32_t v = 0;
	int digits = 0;

	while (p < end && blank(*p))
		p++;
	if (p == end || *p == '#' || (end - p >= 2 && p[0] == '/' && p[1] == '/'))
		return 0;   /* empty or comment line */
	start = p;
	if (end - p >= 2 && p[0] == '0' && (p[1] == 'x' || p[1] == 'X'))
		p += 2;
	for (; p < end && hexval(*p) >= 0; p++) {
		if (++digits > 8)
			return fail(err, errlen, -EINVAL,
				    "line %u: more than 8 hex digits: not a 32-bit word", line);
		v = v << 4 | (uint32_t)hexval(*p);
	}
	while (p < end && blank(*p))
		p++;
	if (!digits || (p < end && *p != '#' && !(end - p >= 2 && p[0] == '/' && p[1] == '/'))) {
		int shown = (int)(end - start) > 24 ? 24 : (int)(end - start);

		while (shown > 0 && blank(start[shown - 1]))
			shown--;
		return fail(err, errlen, -EINVAL, "line %u: '%.*s%s' is not a 32-bit hex word",
			    line, shown, start, (int)(end - start) > 24 ? "..." : "");
	}
	w[(*n)++] = v;
	return 0;
}

static int parse_text(struct npu_instr *in, const char *s, size_t len, char *err,
		      size_t errlen)
{
	const char *end = s + len;
	unsigned line = 1;
	size_t lines = 1;
	int ret;

	for (size_t i = 0; i < len; i++)
		lines += s[i] == '\n';
	in->words = malloc(lines * sizeof(uint32_t));
	if (!in->words)
		return fail(err, errlen, -ENOMEM, "out of memory");
	while (s < end) {
		const char *nl = memchr(s, '\n', (size_t)(end - s));
		const char *le = nl ? nl : end;

		ret = text_line(s, le, line, in->words, &in->n, err, errlen);
		if (ret)
			return ret;
		s = nl ? nl + 1 : end;
		line++;
	}
	in->form = NPU_INSTR_TEXT;
	return 0;
}

static int parse_binary(struct npu_instr *in, const unsigned char *p, size_t len, char *err,
			size_t errlen)
{
	if (len % 4)
		return fail(err, errlen, -EINVAL,
			    "binary, %zu bytes: not a whole number of 32-bit words", len);
	in->n = len / 4;
	in->words = malloc(in->n ? in->n * sizeof(uint32_t) : 1);
	if (!in->words)
		return fail(err, errlen, -ENOMEM, "out of memory");
	for (size_t i = 0; i < in->n; i++)   /* little-endian on every host */
		in->words[i] = (uint32_t)p[4 * i] | (uint32_t)p[4 * i + 1] << 8 |
			       (uint32_t)p[4 * i + 2] << 16 | (uint32_t)p[4 * i + 3] << 24;
	in->form = NPU_INSTR_BINARY;
	return 0;
}

static int check_header(struct npu_instr *in, char *err, size_t errlen)
{
	const char *form = in->form == NPU_INSTR_TEXT ? "text" : "binary";
	unsigned gen;

	if (in->n == 0)
		return fail(err, errlen, -EINVAL, "%s, no instruction words", form);
	if (in->n < NPU_INSTR_HDR_WORDS)
		return fail(err, errlen, -EINVAL,
			    "%s, %zu words: shorter than the 4-word transaction header", form,
			    in->n);
	gen = in->words[0] >> 16 & 0xff;
	in->family = npu_instr_family_of(gen);
	if (!in->family)
		return fail(err, errlen, -EINVAL,
			    "%s: header word 0 is 0x%08x: device generation %u is neither "
			    "3 (Phoenix/Hawk Point) nor 4 (Strix and later); not an mlir-aie "
			    "transaction stream", form, in->words[0], gen);
	if ((in->words[1] & 0xff) == 0 || (in->words[0] >> 24) == 0)
		return fail(err, errlen, -EINVAL,
			    "%s: header declares %u columns and %u rows", form,
			    in->words[1] & 0xff, in->words[0] >> 24);
	if ((uint64_t)in->words[3] != (uint64_t)in->n * 4)
		return fail(err, errlen, -EINVAL,
			    "%s: header says %u bytes but the file holds %zu words (%zu bytes): "
			    "truncated or not one stream", form, in->words[3], in->n, in->n * 4);
	return 0;
}

int npu_instr_parse(struct npu_instr *in, const void *data, size_t len, char *err,
		    size_t errlen)
{
	int ret;

	memset(in, 0, sizeof(*in));
	if (len > NPU_INSTR_MAX_BYTES)
		return fail(err, errlen, -EFBIG, "%zu bytes: larger than the %u MiB accepted",
			    len, NPU_INSTR_MAX_BYTES >> 20);
	if (len == 0)
		return fail(err, errlen, -EINVAL, "empty file");
	if (is_text(data, len))
		ret = parse_text(in, data, len, err, errlen);
	else
		ret = parse_binary(in, data, len, err, errlen);
	if (!ret)
		ret = check_header(in, err, errlen);
	if (ret)
		npu_instr_free(in);
	return ret;
}

int npu_instr_load(struct npu_instr *in, const char *path, char *err, size_t errlen)
{
	char why[192];
	unsigned char *buf = NULL;
	struct stat st;
	size_t got = 0;
	int fd, ret;

	memset(in, 0, sizeof(*in));
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return fail(err, errlen, -errno, "instruction file %s: %s", path, strerror(errno));
	if (fstat(fd, &st)) {
		ret = -errno;
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		ret = S_ISDIR(st.st_mode) ? -EISDIR : -EINVAL;
		goto out;
	}
	if ((unsigned long long)st.st_size > NPU_INSTR_MAX_BYTES) {
		close(fd);
		return fail(err, errlen, -EFBIG, "instruction file %s: %lld bytes: larger than "
			    "the %u MiB accepted", path, (long long)st.st_size,
			    NPU_INSTR_MAX_BYTES >> 20);
	}
	buf = malloc((size_t)st.st_size + 1);
	if (!buf) {
		ret = -ENOMEM;
		goto out;
	}
	while (got < (size_t)st.st_size) {
		ssize_t r = read(fd, buf + got, (size_t)st.st_size - got);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			ret = -errno;
			goto out;
		}
		if (r == 0)
			break;   /* shrank while read: parse what is there */
		got += (size_t)r;
	}
	close(fd);
	fd = -1;
	ret = npu_instr_parse(in, buf, got, why, sizeof(why));
	free(buf);
	if (ret)
		return fail(err, errlen, ret, "instruction file %s: %s", path, why);
	return 0;
out:
	free(buf);
	if (fd >= 0)
		close(fd);
	return fail(err, errlen, ret, "instruction file %s: %s", path, strerror(-ret));
}

void npu_instr_free(struct npu_instr *in)
{
	if (!in)
		return;
	free(in->words);
	in->words = NULL;
	in->n = 0;
}
