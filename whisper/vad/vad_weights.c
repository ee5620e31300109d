// SPDX-License-Identifier: MIT
/*
 * whisper/vad/vad_weights.c - the VAD weights file (scripts/silero_to_amn.py,
 * Documentation/vad.md): found in the model folders, read whole (1.2 MB),
 * every tensor checked against the shape the network needs and copied into
 * its own buffer. A missing, foreign, truncated or misshapen file is an
 * error with a sentence, never a crash.
 */
#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "whisper/runtime.h"
#include "whisper/vad/vad_internal.h"

#define VAD_MAGIC "AMNV"
#define VAD_VERSION 1
#define VAD_HEAD 16
#define VAD_ENTRY 64
#define VAD_NAME 40
#define VAD_MAX_TENSORS 64
#define VAD_MAX_FILE (64u << 20)
#define VAD_FILE_NAME "silero_vad_v6.amnv"

const int wsp_vad_enc_shape[4][3] = {
	{ VAD_BINS, 128, 1 }, { 128, 64, 2 }, { 64, 64, 2 }, { 64, VAD_HIDDEN, 1 },
};

/* One tensor the network needs: its name and shape in the file. */
struct vad_want {
	const char *name;
	int ndim;
	uint32_t dims[4];
};

static uint32_t rd32(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

void wsp_vad_opts_default(struct wsp_vad_opts *o)
{
	if (!o)
		return;
	o->threshold = 0.5;
	o->neg_threshold = -1.0;
	o->min_speech_duration_ms = 0;
	o->max_speech_duration_s = 0.0;
	o->min_silence_duration_ms = 2000;
	o->speech_pad_ms = 400;
}

int wsp_vad_opts_check(const struct wsp_vad_opts *o, char *err, size_t errlen)
{
	if (!(o->threshold >= 0.0 && o->threshold <= 1.0) || !(o->neg_threshold <= 1.0)) {
		snprintf(err, errlen, "VAD threshold %g / neg_threshold %g: must lie in [0, 1]",
			 o->threshold, o->neg_threshold);
		return -EINVAL;
	}
	if (o->min_speech_duration_ms < 0 || o->min_silence_duration_ms < 0 || o->speech_pad_ms < 0 ||
	    o->max_speech_duration_s != o->max_speech_duration_s) {
		snprintf(err, errlen, "VAD durations must not be negative");
		return -EINVAL;
	}
	return 0;
}

void wsp_vad_free(struct wsp_vad *v)
{
	if (!v)
		return;
	free(v->basis_t);
	for (int i = 0; i < 4; i++) {
		free(v->enc_wt[i]);
		free(v->enc_b[i]);
	}
	free(v->w_ih_t);
	free(v->w_hh_t);
	free(v->bias);
	free(v->out_w);
	free(v);
}

/* Read all of @path (at most VAD_MAX_FILE bytes) into a malloc'd buffer. */
static int read_file(const char *path, unsigned char **buf, size_t *len, char *err, size_t errlen)
{
	struct stat sb;
	FILE *f;
	int ret = 0;

	*buf = NULL;
	f = fopen(path, "rb");
	if (!f) {
		ret = -errno;
		snprintf(err, errlen, "cannot open VAD weights %s: %s", path, strerror(errno));
		return ret;
	}
	if (fstat(fileno(f), &sb) || !S_ISREG(sb.st_mode) || sb.st_size > VAD_MAX_FILE) {
		snprintf(err, errlen, "VAD weights %s: not a regular file of at most %u MB",
			 path, VAD_MAX_FILE >> 20);
		fclose(f);
		return -EINVAL;
	}
	*len = (size_t)sb.st_size;
	*buf = malloc(*len ? *len : 1);
	if (!*buf) {
		snprintf(err, errlen, "out of memory");
		ret = -ENOMEM;
	} else if (fread(*buf, 1, *len, f) != *len) {
		snprintf(err, errlen, "VAD weights %s: read error", path);
		free(*buf);
		*buf = NULL;
		ret = -EIO;
	}
	fclose(f);
	return ret;
}

/*
 * Replace the @rows x @cols matrix *@m by its transpose (a new buffer).
 * Return: 0, or -ENOMEM (*@m is then left as it was).
 */
static int transpose(float **m, int rows, int cols)
{
	float *t = aligned_alloc(64, ((size_t)rows * cols * sizeof(float) + 63) / 64 * 64);

	if (!t)
		return -ENOMEM;
	for (int r = 0; r < rows; r++)
		for (int c = 0; c < cols; c++)
			t[(size_t)c * rows + r] = (*m)[(size_t)r * cols + c];
	free(*m);
	*m = t;
	return 0;
}

/*
 * Find tensor @w in the table of @buf and copy its floats into a new
 * buffer *@dst. The shape must be exactly @w's.
 */
static int take(const unsigned char *buf, size_t len, uint32_t n_tensors, const char *path,
		const struct vad_want *w, float **dst, char *err, size_t errlen)
{
	for (uint32_t i = 0; i < n_tensors; i++) {
		const unsigned char *e = buf + VAD_HEAD + (size_t)i * VAD_ENTRY;
		uint32_t ndim = rd32(e + VAD_NAME), off = rd32(e + VAD_NAME + 20);
		size_t count = 1;

		if (strnlen((const char *)e, VAD_NAME) != strlen(w->name) ||
		    memcmp(e, w->name, strlen(w->name)))
			continue;
		if (ndim != (uint32_t)w->ndim) {
			snprintf(err, errlen, "VAD weights %s: tensor %s has %u dimensions, expected %d",
				 path, w->name, ndim, w->ndim);
			return -EINVAL;
		}
		for (int d = 0; d < 4; d++) {
			uint32_t got = rd32(e + VAD_NAME + 4 + 4 * d);
			uint32_t want = d < w->ndim ? w->dims[d] : 1;

			if (got != want) {
				snprintf(err, errlen, "VAD weights %s: tensor %s has dimension %d of %u, "
					 "expected %u", path, w->name, d, got, want);
				return -EINVAL;
			}
			count *= want;
		}
		if (off % 4 || off > len || (len - off) / sizeof(float) < count) {
			snprintf(err, errlen, "VAD weights %s: truncated (%zu bytes; tensor %s needs "
				 "%zu at offset %u)", path, len, w->name, count * sizeof(float), off);
			return -EINVAL;
		}
		*dst = aligned_alloc(64, (count * sizeof(float) + 63) / 64 * 64);
		if (!*dst) {
			snprintf(err, errlen, "out of memory");
			return -ENOMEM;
		}
		/* the file is little-endian float32, as the machines we run on */
		memcpy(*dst, buf + off, count * sizeof(float));
		for (size_t k = 0; k < count; k++) {
			float x = (*dst)[k];

			if (x != x || x - x != 0.0f) {
				snprintf(err, errlen, "VAD weights %s: tensor %s holds a NaN or infinity",
					 path, w->name);
				return -EINVAL;
			}
		}
		return 0;
	}
	snprintf(err, errlen, "VAD weights %s: no tensor %s", path, w->name);
	return -EINVAL;
}

int wsp_vad_load(const char *path, struct wsp_vad **out, char *err, size_t errlen)
{
	char names[4][2][16];
	struct vad_want want[4][2], fixed[] = {
		{ "stft.basis", 2, { 2 * VAD_BINS, VAD_NFFT } },
		{ "lstm.w_ih", 2, { 4 * VAD_HIDDEN, VAD_HIDDEN } },
		{ "lstm.w_hh", 2, { 4 * VAD_HIDDEN, VAD_HIDDEN } },
		{ "lstm.b_ih", 1, { 4 * VAD_HIDDEN } },
		{ "lstm.b_hh", 1, { 4 * VAD_HIDDEN } },
		{ "out.weight", 1, { VAD_HIDDEN } },
		{ "out.bias", 1, { 1 } },
	};
	float *b_ih = NULL, *b_hh = NULL, *ob = NULL;
	unsigned char *buf = NULL;
	struct wsp_vad *v = NULL;
	uint32_t n_tensors;
	size_t len = 0;
	int ret;

	if (out)
		*out = NULL;
	if (!path || !out) {
		snprintf(err, errlen, "wsp_vad_load: no path or result");
		return -EINVAL;
	}
	ret = read_file(path, &buf, &len, err, errlen);
	if (ret)
		return ret;
	if (len < VAD_HEAD || memcmp(buf, VAD_MAGIC, 4)) {
		snprintf(err, errlen, "%s: not a VAD weights file (no %s magic; convert "
			 "silero_vad_v6.onnx with scripts/silero_to_amn.py)", path, VAD_MAGIC);
		ret = -EINVAL;
		goto out;
	}
	if (rd32(buf + 4) != VAD_VERSION) {
		snprintf(err, errlen, "%s: VAD weights version %u, this library reads %d",
			 path, rd32(buf + 4), VAD_VERSION);
		ret = -EINVAL;
		goto out;
	}
	n_tensors = rd32(buf + 8);
	if (n_tensors > VAD_MAX_TENSORS || len < VAD_HEAD + (size_t)n_tensors * VAD_ENTRY) {
		snprintf(err, errlen, "%s: truncated or corrupt VAD weights (%u tensors, %zu bytes)",
			 path, n_tensors, len);
		ret = -EINVAL;
		goto out;
	}
	v = calloc(1, sizeof(*v));
	if (!v) {
		snprintf(err, errlen, "out of memory");
		ret = -ENOMEM;
		goto out;
	}
	for (int i = 0; i < 4; i++) {
		snprintf(names[i][0], sizeof(names[i][0]), "enc%d.weight", i);
		snprintf(names[i][1], sizeof(names[i][1]), "enc%d.bias", i);
		want[i][0] = (struct vad_want){ names[i][0], 3,
			{ wsp_vad_enc_shape[i][1], wsp_vad_enc_shape[i][0], 3 } };
		want[i][1] = (struct vad_want){ names[i][1], 1, { wsp_vad_enc_shape[i][1] } };
	}
	ret = take(buf, len, n_tensors, path, &fixed[0], &v->basis_t, err, errlen);
	for (int i = 0; i < 4 && !ret; i++) {
		ret = take(buf, len, n_tensors, path, &want[i][0], &v->enc_wt[i], err, errlen);
		if (!ret)
			ret = take(buf, len, n_tensors, path, &want[i][1], &v->enc_b[i], err, errlen);
	}
	if (!ret)
		ret = take(buf, len, n_tensors, path, &fixed[1], &v->w_ih_t, err, errlen);
	if (!ret)
		ret = take(buf, len, n_tensors, path, &fixed[2], &v->w_hh_t, err, errlen);
	if (!ret)
		ret = take(buf, len, n_tensors, path, &fixed[3], &b_ih, err, errlen);
	if (!ret)
		ret = take(buf, len, n_tensors, path, &fixed[4], &b_hh, err, errlen);
	if (!ret)
		ret = take(buf, len, n_tensors, path, &fixed[5], &v->out_w, err, errlen);
	if (!ret)
		ret = take(buf, len, n_tensors, path, &fixed[6], &ob, err, errlen);
	/* the matrices input-major, for vad_gemm() */
	if (!ret)
		ret = transpose(&v->basis_t, 2 * VAD_BINS, VAD_NFFT);
	for (int i = 0; i < 4 && !ret; i++)
		ret = transpose(&v->enc_wt[i], wsp_vad_enc_shape[i][1], wsp_vad_enc_shape[i][0] * 3);
	if (!ret)
		ret = transpose(&v->w_ih_t, 4 * VAD_HIDDEN, VAD_HIDDEN);
	if (!ret)
		ret = transpose(&v->w_hh_t, 4 * VAD_HIDDEN, VAD_HIDDEN);
	if (ret == -ENOMEM)
		snprintf(err, errlen, "out of memory");
	if (ret)
		goto out;
	/* ONNX adds both biases to every gate: one sum, once */
	for (int k = 0; k < 4 * VAD_HIDDEN; k++)
		b_ih[k] += b_hh[k];
	v->bias = b_ih;
	b_ih = NULL;
	v->out_b = ob[0];
	*out = v;
	v = NULL;
out:
	free(b_ih);
	free(b_hh);
	free(ob);
	wsp_vad_free(v);
	free(buf);
	return ret;
}

int wsp_vad_find(char *path, size_t pathlen, char *err, size_t errlen)
{
	const char *env = getenv("AMANUENSIS_VAD");
	char dirs[8192];
	struct stat sb;
	const char *d;

	if (!path || pathlen == 0)
		return -EINVAL;
	if (env && *env) {
		snprintf(path, pathlen, "%s", env);
		return 0;
	}
	wsp_runtime_model_dirs(dirs, sizeof(dirs));
	for (d = dirs; *d;) {
		const char *colon = strchr(d, ':');
		int len = colon ? (int)(colon - d) : (int)strlen(d);

		if (len > 0 && snprintf(path, pathlen, "%.*s/%s", len, d, VAD_FILE_NAME) < (int)pathlen &&
		    stat(path, &sb) == 0)
			return 0;
		if (!colon)
			break;
		d = colon + 1;
	}
	path[0] = '\0';
	snprintf(err, errlen, "no VAD weights found: looked for %s in %s ($AMANUENSIS_VAD is unset); "
		 "make it with scripts/silero_to_amn.py (scripts/setup.sh does)", VAD_FILE_NAME, dirs);
	return -ENOENT;
}

int wsp_vad_open(const char *path, struct wsp_vad **out, char *err, size_t errlen)
{
	char found[PATH_MAX];

	if (!out)
		return -EINVAL;
	*out = NULL;
	if (!path) {
		if (wsp_vad_find(found, sizeof(found), err, errlen))
			return 0;   /* none: *out stays NULL, @err says where it looked */
		path = found;
	}
	return wsp_vad_load(path, out, err, errlen);
}
