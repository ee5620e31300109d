// SPDX-License-Identifier: MIT
/*
 * whisper/audio/audio.c - decode audio files into 16 kHz mono float samples.
 *
 * libsndfile decodes (wav, flac, ogg/vorbis/opus, mp3 and the rest of what it
 * knows); channels are down-mixed by their mean; libsoxr resamples to 16 kHz
 * at its high quality setting. A file already at 16 kHz is passed through
 * unchanged, sample for sample. Decoding is done in fixed-size pieces, so a
 * stream holds a few pages of memory whatever the length of the file.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sndfile.h>
#include <soxr.h>

#include "whisper/audio/audio.h"

#define CHUNK_FRAMES 4096	/* input frames decoded per step */
#define SOXR_MAX_OUT 65536	/* output samples asked of soxr per call (it counts in int) */
#define WSP_AUDIO_MIN_RATE 1000
#define WSP_AUDIO_MAX_RATE 768000

struct wsp_audio_stream {
	char *path;
	SNDFILE *sf;
	SF_INFO info;
	soxr_t soxr;		/* NULL when the file is already at 16 kHz */
	float *in;		/* CHUNK_FRAMES * channels interleaved frames */
	float *mono;		/* CHUNK_FRAMES down-mixed samples */
	size_t mono_len;	/* down-mixed samples not yet handed to soxr */
	size_t mono_pos;
	long long frames_read;	/* input frames decoded so far */
	int eof;		/* libsndfile has no more frames */
	int drained;		/* soxr has been flushed to the end */
};

static void set_err(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (!err || !errlen)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

void wsp_audio_close(struct wsp_audio_stream *s)
{
	if (!s)
		return;
	if (s->soxr)
		soxr_delete(s->soxr);
	if (s->sf)
		sf_close(s->sf);
	free(s->in);
	free(s->mono);
	free(s->path);
	free(s);
}

/*
 * A WAV whose data chunk claims more bytes than the file holds was cut short:
 * libsndfile reads what is there and notes "data : N (should be M)" in its
 * log. Streaming writers that cannot seek back leave 0 or 0xffffffff there;
 * those are not truncations.
 */
static int wav_truncated(SNDFILE *sf, unsigned long long *declared, unsigned long long *held)
{
	char log[4096];
	const char *p;

	sf_command(sf, SFC_GET_LOG_INFO, log, sizeof(log));
	for (p = log; (p = strstr(p, "data : ")); p++) {
		if (sscanf(p, "data : %llu (should be %llu)", declared, held) == 2 &&
		    *declared > *held && *declared != 0 && *declared != 0xffffffffULL)
			return 1;
	}
	return 0;
}

/* errno for a path libsndfile could not open: existence and permission first. */
static int open_errno(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return errno == ENOENT || errno == ENOTDIR ? -ENOENT :
		       errno == EACCES || errno == EPERM ? -EACCES : -errno;
	close(fd);
	return -EINVAL;
}

int wsp_audio_open(const char *path, struct wsp_audio_stream **out, char *err, size_t errlen)
{
	struct wsp_audio_stream *s;
	soxr_error_t serr;
	int ret;

	*out = NULL;
	if (!path) {
		set_err(err, errlen, "audio: no path given");
		return -EINVAL;
	}
	s = calloc(1, sizeof(*s));
	if (!s)
		goto nomem;
	s->path = strdup(path);
	if (!s->path)
		goto nomem;

	s->sf = sf_open(path, SFM_READ, &s->info);
	if (!s->sf) {
		ret = open_errno(path);
		if (ret == -EINVAL)
			set_err(err, errlen, "%s: not a supported audio file (%s)", path,
				sf_strerror(NULL));
		else
			set_err(err, errlen, "%s: %s", path, strerror(-ret));
		wsp_audio_close(s);
		return ret;
	}
	if (s->info.channels < 1 || s->info.samplerate < 1 || s->info.frames < 0) {
		set_err(err, errlen, "%s: bad header (%d channels, %d Hz)", path,
			s->info.channels, s->info.samplerate);
		wsp_audio_close(s);
		return -EINVAL;
	}
	if (s->info.samplerate < WSP_AUDIO_MIN_RATE || s->info.samplerate > WSP_AUDIO_MAX_RATE) {
		set_err(err, errlen, "%s: unsupported sample rate %d Hz (%d to %d)", path,
			s->info.samplerate, WSP_AUDIO_MIN_RATE, WSP_AUDIO_MAX_RATE);
		wsp_audio_close(s);
		return -EINVAL;
	}
	if (s->info.frames == 0) {
		set_err(err, errlen, "%s: no audio samples", path);
		wsp_audio_close(s);
		return -EINVAL;
	}
	unsigned long long declared, held;

	if (wav_truncated(s->sf, &declared, &held)) {
		set_err(err, errlen, "%s: truncated: header declares %llu bytes of audio, "
			"the file holds %llu", path, declared, held);
		wsp_audio_close(s);
		return -EINVAL;
	}
	/* Integer PCM comes in as x / 32768 (full scale at -1); floats as they are. */
	sf_command(s->sf, SFC_SET_NORM_FLOAT, NULL, SF_TRUE);

	s->in = malloc((size_t)CHUNK_FRAMES * s->info.channels * sizeof(float));
	s->mono = malloc(CHUNK_FRAMES * sizeof(float));
	if (!s->in || !s->mono)
		goto nomem;

	if (s->info.samplerate != WSP_SAMPLE_RATE) {
		soxr_io_spec_t io = soxr_io_spec(SOXR_FLOAT32_I, SOXR_FLOAT32_I);
		soxr_quality_spec_t q = soxr_quality_spec(SOXR_HQ, 0);
		soxr_runtime_spec_t rt = soxr_runtime_spec(1);

		s->soxr = soxr_create(s->info.samplerate, WSP_SAMPLE_RATE, 1, &serr, &io, &q, &rt);
		if (!s->soxr) {
			set_err(err, errlen, "%s: cannot resample %d Hz to %d Hz: %s", path,
				s->info.samplerate, WSP_SAMPLE_RATE, serr ? serr : "soxr failed");
			wsp_audio_close(s);
			return -EINVAL;
		}
	}
	*out = s;
	return 0;

nomem:
	set_err(err, errlen, "%s: out of memory", path ? path : "audio");
	wsp_audio_close(s);
	return -ENOMEM;
}

/* Decode the next piece into s->mono; 0 at the end of the file, -EIO on errors. */
static int fill_mono(struct wsp_audio_stream *s, char *err, size_t errlen)
{
	int ch = s->info.channels;
	sf_count_t got;

	got = sf_readf_float(s->sf, s->in, CHUNK_FRAMES);
	if (got <= 0) {
		if (sf_error(s->sf) != SF_ERR_NO_ERROR) {
			set_err(err, errlen, "%s: decode error: %s", s->path, sf_strerror(s->sf));
			return -EIO;
		}
		/* MPEG lengths are estimates; other formats state theirs exactly. */
		if (s->frames_read < s->info.frames && s->info.frames != SF_COUNT_MAX &&
		    (s->info.format & SF_FORMAT_TYPEMASK) != SF_FORMAT_MPEG) {
			set_err(err, errlen, "%s: truncated: %lld of %lld frames", s->path,
				s->frames_read, (long long)s->info.frames);
			return -EIO;
		}
		s->eof = 1;
		return 0;
	}
	s->frames_read += got;
	if (ch == 1) {
		memcpy(s->mono, s->in, (size_t)got * sizeof(float));
	} else {
		float inv = 1.0f / (float)ch;

		for (sf_count_t i = 0; i < got; i++) {
			const float *f = s->in + (size_t)i * ch;
			float sum = 0.0f;

			for (int c = 0; c < ch; c++)
				sum += f[c];
			s->mono[i] = sum * inv;
		}
	}
	s->mono_len = (size_t)got;
	s->mono_pos = 0;
	return 1;
}

static void clamp(float *x, size_t n)
{
	for (size_t i = 0; i < n; i++)
		x[i] = x[i] > 1.0f ? 1.0f : x[i] < -1.0f ? -1.0f : x[i];
}

long wsp_audio_read(struct wsp_audio_stream *s, float *dst, size_t max, char *err, size_t errlen)
{
	size_t done = 0;
	int ret;

	if (!s || (!dst && max)) {
		set_err(err, errlen, "audio: bad arguments to wsp_audio_read");
		return -EINVAL;
	}
	if (max > (size_t)LONG_MAX)
		max = LONG_MAX;
	while (done < max) {
		if (s->mono_pos == s->mono_len && !s->eof) {
			ret = fill_mono(s, err, errlen);
			if (ret < 0)
				return ret;
		}
		if (!s->soxr) {
			size_t k = s->mono_len - s->mono_pos;

			if (!k)
				break;	/* end of file */
			if (k > max - done)
				k = max - done;
			memcpy(dst + done, s->mono + s->mono_pos, k * sizeof(float));
			s->mono_pos += k;
			done += k;
			continue;
		}
		if (s->drained)
			break;

		size_t idone = 0, odone = 0, room = max - done;
		soxr_error_t e;

		if (room > SOXR_MAX_OUT)
			room = SOXR_MAX_OUT;
		if (s->mono_pos < s->mono_len)
			e = soxr_process(s->soxr, s->mono + s->mono_pos, s->mono_len - s->mono_pos,
					 &idone, dst + done, room, &odone);
		else	/* end of input: NULL input asks soxr for its tail */
			e = soxr_process(s->soxr, NULL, 0, NULL, dst + done, room, &odone);
		if (e) {
			set_err(err, errlen, "%s: resampling failed: %s", s->path, e);
			return -EIO;
		}
		s->mono_pos += idone;
		done += odone;
		if (s->eof && s->mono_pos == s->mono_len && odone == 0)
			s->drained = 1;
	}
	clamp(dst, done);
	return (long)done;
}

double wsp_audio_duration(const struct wsp_audio_stream *s)
{
	if (!s || s->info.samplerate <= 0)
		return 0.0;
	return (double)s->info.frames / s->info.samplerate;
}

void wsp_audio_free(struct wsp_audio *a)
{
	if (!a)
		return;
	free(a->samples);
	a->samples = NULL;
	a->n = 0;
}

int wsp_audio_load(const char *path, struct wsp_audio *out, char *err, size_t errlen)
{
	struct wsp_audio_stream *s;
	size_t cap, n = 0;
	float *buf;
	int ret;

	out->samples = NULL;
	out->n = 0;
	ret = wsp_audio_open(path, &s, err, errlen);
	if (ret)
		return ret;

	/*
	 * The header's length, resampled, plus slack for soxr's rounding; a file
	 * of unknown length (SF_COUNT_MAX) or an absurd header starts at 1 Mi
	 * samples and grows.
	 */
	double est = ceil((double)s->info.frames * WSP_SAMPLE_RATE / s->info.samplerate);

	cap = est < (double)(1 << 28) ? (size_t)est + 1024 : (size_t)1 << 20;
	buf = malloc(cap * sizeof(float));
	if (!buf)
		goto nomem;
	for (;;) {
		long got;

		if (cap - n < 4096) {
			float *nb = realloc(buf, cap * 2 * sizeof(float));

			if (!nb)
				goto nomem;
			buf = nb;
			cap *= 2;
		}
		got = wsp_audio_read(s, buf + n, cap - n, err, errlen);
		if (got < 0) {
			/* A file that breaks off mid-stream is a bad file, not an I/O fault. */
			free(buf);
			wsp_audio_close(s);
			return -EINVAL;
		}
		if (got == 0)
			break;
		n += (size_t)got;
	}
	wsp_audio_close(s);
	if (n == 0) {
		free(buf);
		set_err(err, errlen, "%s: no audio samples", path);
		return -EINVAL;
	}
	out->samples = buf;
	out->n = n;
	return 0;

nomem:
	free(buf);
	wsp_audio_close(s);
	set_err(err, errlen, "%s: out of memory", path);
	return -ENOMEM;
}
