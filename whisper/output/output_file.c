/* SPDX-License-Identifier: MIT */
/*
 * whisper/output/output_file.c - format names and extensions, output file names,
 * and writing a result's files into a directory (temporary name, then
 * rename, so no reader sees half a file).
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "whisper/output.h"

static const struct {
	const char *name;
	unsigned bit;
} formats[] = {
	{ "txt", WSP_OUT_TXT }, { "srt", WSP_OUT_SRT },
	{ "vtt", WSP_OUT_VTT }, { "json", WSP_OUT_JSON },
};

int wsp_output_format_parse(const char *name, unsigned *mask)
{
	size_t i;

	if (!name)
		return -EINVAL;
	if (!strcmp(name, "all")) {
		*mask = WSP_OUT_ALL;
		return 0;
	}
	for (i = 0; i < sizeof(formats) / sizeof(formats[0]); i++) {
		if (!strcmp(name, formats[i].name)) {
			*mask = formats[i].bit;
			return 0;
		}
	}
	return -EINVAL;
}

const char *wsp_output_format_ext(unsigned format)
{
	size_t i;

	for (i = 0; i < sizeof(formats) / sizeof(formats[0]); i++)
		if (format == formats[i].bit)
			return formats[i].name;
	return NULL;
}

int wsp_write_format(FILE *f, unsigned format, const struct wsp_result *r,
		     const struct wsp_run_info *info)
{
	switch (format) {
	case WSP_OUT_TXT:  return wsp_write_txt(f, r);
	case WSP_OUT_SRT:  return wsp_write_srt_opts(f, r, info ? info->subtitles : NULL);
	case WSP_OUT_VTT:  return wsp_write_vtt_opts(f, r, info ? info->subtitles : NULL);
	case WSP_OUT_JSON: return wsp_write_json(f, r, info);
	}
	return -EINVAL;
}

int wsp_output_basename(char *dst, size_t cap, const char *path)
{
	const char *base = strrchr(path, '/'), *dot, *p;

	base = base ? base + 1 : path;
	/* Python's splitext(): leading dots belong to the name, not an extension. */
	p = base;
	while (*p == '.')
		p++;
	dot = strrchr(p, '.');
	if (!dot)
		return snprintf(dst, cap, "%s", base);
	return snprintf(dst, cap, "%.*s", (int)(dot - base), base);
}

/*
 * fchmod_like_fopen - mkstemp() makes files 0600; give @path the mode a
 * plain fopen() would (0666 less the umask). The umask is read from
 * /proc/self/status, since umask() can only be read by changing it, which
 * would race with other threads creating files.
 */
static int fchmod_like_fopen(const char *path)
{
	unsigned mask = 022;
	char line[128];
	FILE *st = fopen("/proc/self/status", "r");

	if (st) {
		while (fgets(line, sizeof(line), st))
			if (sscanf(line, "Umask: %o", &mask) == 1)
				break;
		fclose(st);
	}
	return chmod(path, 0666 & ~mask);
}

/* write_one - write one format to @path through a temporary file beside it. */
static int write_one(const char *path, unsigned format, const struct wsp_result *r,
		     const struct wsp_run_info *info, char *err, size_t errlen)
{
	char tmp[PATH_MAX];
	FILE *f;
	int fd, rc;

	if (snprintf(tmp, sizeof(tmp), "%s.XXXXXX", path) >= (int)sizeof(tmp)) {
		snprintf(err, errlen, "%s: path too long", path);
		return -ENAMETOOLONG;
	}
	fd = mkstemp(tmp);
	if (fd < 0) {
		rc = -errno;
		snprintf(err, errlen, "%s: cannot create: %s", path, strerror(-rc));
		return rc;
	}
	f = fdopen(fd, "w");
	if (!f) {
		rc = -errno;
		close(fd);
		goto fail;
	}
	rc = wsp_write_format(f, format, r, info);
	if (fflush(f) && !rc)
		rc = -errno;
	if (fclose(f) && !rc)
		rc = -errno;
	if (rc)
		goto fail;
	/* mkstemp() makes 0600; give the file the permissions a plain fopen() would. */
	if (fchmod_like_fopen(tmp)) {
		rc = -errno;
		goto fail;
	}
	if (rename(tmp, path)) {
		rc = -errno;
		goto fail;
	}
	return 0;
fail:
	unlink(tmp);
	snprintf(err, errlen, "%s: cannot write: %s", path, strerror(-rc));
	return rc;
}

int wsp_write_files(const char *dir, const char *base, unsigned fmts,
		    const struct wsp_result *r, const struct wsp_run_info *info,
		    char *err, size_t errlen)
{
	char path[PATH_MAX];
	size_t i;
	int rc;

	if (!(fmts & WSP_OUT_ALL)) {
		snprintf(err, errlen, "no output format");
		return -EINVAL;
	}
	for (i = 0; i < sizeof(formats) / sizeof(formats[0]); i++) {
		if (!(fmts & formats[i].bit))
			continue;
		if (snprintf(path, sizeof(path), "%s/%s.%s", dir && *dir ? dir : ".", base,
			     formats[i].name) >= (int)sizeof(path)) {
			snprintf(err, errlen, "%s/%s.%s: path too long", dir, base, formats[i].name);
			return -ENAMETOOLONG;
		}
		rc = write_one(path, formats[i].bit, r, info, err, errlen);
		if (rc)
			return rc;
	}
	return 0;
}
