// SPDX-License-Identifier: MIT
/*
 * whisper/model/model_load.c - wsp_model_load(): find the weights file, tell
 * its format by its first bytes, hand the image to load_ct2.c, load_ggml.c or
 * load_safetensors.c, read the JSON side files (model_config.c) and pack the
 * INT8 weights (model_pack.c), or, loading INT8 only, have the loaders pack
 * each weight as they read it (model_stream.c). The file is mapped, not
 * copied. Nothing in the model calls back into it.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "whisper/model/model_internal.h"

enum model_format { FMT_CT2, FMT_GGML, FMT_SAFETENSORS };

/* Read the whole file at @path into a malloc'd buffer; @err names it on failure. */
static int read_file(const char *path, unsigned char **buf, size_t *len, char *err, size_t errlen)
{
	unsigned char *b = NULL;
	FILE *f = fopen(path, "rb");
	long n;
	int ret;

	if (!f) {
		ret = -errno;
		snprintf(err, errlen, "%s: cannot open: %s", path, strerror(errno));
		return ret;
	}
	if (fseek(f, 0, SEEK_END) || (n = ftell(f)) < 0 || fseek(f, 0, SEEK_SET)) {
		ret = -EIO;
		snprintf(err, errlen, "%s: cannot size the file", path);
		goto out;
	}
	b = malloc(n ? (size_t)n : 1);
	if (!b) {
		ret = -ENOMEM;
		goto out;
	}
	if (fread(b, 1, (size_t)n, f) != (size_t)n) {
		ret = -EIO;
		snprintf(err, errlen, "%s: short read", path);
		free(b);
		goto out;
	}
	*buf = b;
	*len = (size_t)n;
	ret = 0;
out:
	fclose(f);
	return ret;
}

/*
 * Map the file at @path read-only and private: its pages come in as the
 * loader reads them and (INT8-only loading) leave the resident set after
 * (wsp_image_release()). Return: 0, or -errno when it cannot be mapped
 * (the caller reads it instead).
 */
static int map_file(const char *path, unsigned char **buf, size_t *len)
{
	struct stat st;
	void *p;
	int fd = open(path, O_RDONLY | O_CLOEXEC), ret = 0;

	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) || !S_ISREG(st.st_mode) || st.st_size <= 0) {
		ret = -EINVAL;
		goto out;
	}
	p = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	if (p == MAP_FAILED) {
		ret = -errno;
		goto out;
	}
	*buf = p;
	*len = (size_t)st.st_size;
out:
	close(fd);
	return ret;
}

/* Parse the weights file at @path; a CTranslate2 model.bin when @fmt says so. */
static int load_weights(struct wsp_model *m, const char *path, enum model_format *fmt,
			char *err, size_t errlen)
{
	unsigned char *buf = NULL;
	size_t len = 0;
	int ret;

	m->image_mapped = map_file(path, &buf, &len) == 0;
	if (!m->image_mapped) {
		ret = read_file(path, &buf, &len, err, errlen);
		if (ret)
			return ret;
	}
	if (*fmt == FMT_CT2) {
		ret = wsp_load_ct2_mem(m, buf, len, path, err, errlen);
	} else if (len >= 4 && memcmp(buf, "lmgg", 4) == 0) {
		*fmt = FMT_GGML;
		ret = wsp_load_ggml_mem(m, buf, len, path, err, errlen);
	} else if (len >= 9 && buf[8] == '{') {
		*fmt = FMT_SAFETENSORS;
		ret = wsp_load_safetensors_mem(m, buf, len, path, err, errlen);
	} else {
		snprintf(err, errlen, "%s: unknown model format (expected a ggml file or a "
			 "CTranslate2 directory)", path);
		ret = -EINVAL;
	}
	if (m->image_mapped)
		munmap(buf, len);
	else
		free(buf);
	m->image_mapped = 0;
	return ret;
}

/*
 * The weights file under @path and its format: a CTranslate2 directory has
 * model.bin, a Hugging Face one model.safetensors; a file is told by its bytes.
 * A directory with both is read as CTranslate2 (what faster-whisper reads
 * there), and the model remembers the other file (wsp_model_weights_file()).
 */
static int weights_path(struct wsp_model *m, const char *path, int is_dir, char *out,
			size_t outlen, enum model_format *fmt)
{
	char *slash;

	*fmt = FMT_GGML;     /* until its first bytes are read */
	if (is_dir) {
		char st_file[4096];

		snprintf(out, outlen, "%s/model.bin", path);
		snprintf(st_file, sizeof(st_file), "%s/model.safetensors", path);
		if (access(out, F_OK) != 0 && access(st_file, F_OK) == 0) {
			snprintf(out, outlen, "%s", st_file);
		} else {
			*fmt = FMT_CT2;
			if (access(out, F_OK) == 0 && access(st_file, F_OK) == 0 &&
			    !(m->unused_file = strdup(st_file)))
				return -ENOMEM;
		}
		return 0;
	}
	snprintf(out, outlen, "%s", path);
	/* side files (tokenizer, config) live next to the model file */
	slash = strrchr(m->dir, '/');
	if (slash)
		*slash = '\0';
	else
		strcpy(m->dir, ".");
	return 0;
}

/* Load @path; with @int8_only, packing each weight as it is read (model_stream.c). */
static int model_load(struct wsp_model **out, const char *path, int int8_only, char *err,
		      size_t errlen)
{
	enum model_format fmt;
	struct wsp_model *m;
	char file[4096];
	struct stat st;
	int ret;

	if (!out || !path || !err || errlen == 0)
		return -EINVAL;
	*out = NULL;
	if (stat(path, &st)) {
		ret = -errno;
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return ret;
	}
	m = calloc(1, sizeof(*m));
	if (!m)
		return -ENOMEM;
	m->stream_int8 = int8_only;
	m->dir = strdup(path);
	if (!m->dir) {
		ret = -ENOMEM;
		goto fail;
	}
	ret = weights_path(m, path, S_ISDIR(st.st_mode), file, sizeof(file), &fmt);
	if (!ret && !(m->weights_file = strdup(file)))
		ret = -ENOMEM;
	if (!ret)
		ret = load_weights(m, file, &fmt, err, errlen);
	if (!ret)
		ret = wsp_model_read_config(m, fmt == FMT_SAFETENSORS, err, errlen);
	if (ret)
		goto fail;
	if (int8_only) {
		wsp_model_stream_done(m);
		*out = m;
		return 0;
	}
	ret = wsp_model_pack(m);
	if (ret) {
		snprintf(err, errlen, "%s: packing INT8 weights failed: %s", path, strerror(-ret));
		goto fail;
	}
	*out = m;
	return 0;
fail:
	wsp_model_free(m);
	return ret;
}

int wsp_model_load(struct wsp_model **out, const char *path, char *err, size_t errlen)
{
	return model_load(out, path, 0, err, errlen);
}

int wsp_model_load_int8(struct wsp_model **out, const char *path, char *err, size_t errlen)
{
	return model_load(out, path, 1, err, errlen);
}
