// SPDX-License-Identifier: MIT
/*
 * tests/test_audio.c - decoding and resampling to 16 kHz mono: real speech
 * sample for sample, generated tones at other rates, channel counts and
 * formats (written here with libsndfile), the streaming reader against the
 * whole-file loader, and files that must be refused with -EINVAL/-ENOENT and
 * a message naming them.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sndfile.h>

#include "whisper/audio/audio.h"

static char tmpdir[64];

static void make_tmpdir(void)
{
	strcpy(tmpdir, "/tmp/amn_audio_XXXXXX");
	cr_assert_not_null(mkdtemp(tmpdir));
}

static void remove_tmpdir(void)
{
	char cmd[128];

	if (!tmpdir[0])
		return;
	snprintf(cmd, sizeof(cmd), "rm -rf %s", tmpdir);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", tmpdir);
}

TestSuite(audio, .init = make_tmpdir, .fini = remove_tmpdir, .timeout = 60);

static const char *jfk_path(void)
{
	static char path[1024];
	const char *dir = getenv("AMN_SHARED_AUDIO");

	snprintf(path, sizeof(path), "%s/jfk.wav", dir && *dir ? dir : "../shared/audio");
	return path;
}

static void need_jfk(void)
{
	if (access(jfk_path(), R_OK) != 0)
		cr_skip_test("no %s (set AMN_SHARED_AUDIO)", jfk_path());
}

/*
 * Write @seconds of a @hz tone at @rate Hz in @format. Channel c carries the
 * tone at amplitude amp[c], so the mono mean has amplitude mean(amp).
 */
static void write_tone(const char *path, int format, int rate, int channels, const float *amp,
		       double hz, double seconds)
{
	SF_INFO info = { .samplerate = rate, .channels = channels, .format = format };
	sf_count_t frames = (sf_count_t)llround(seconds * rate);
	float *buf = malloc((size_t)frames * channels * sizeof(float));
	SNDFILE *sf;

	cr_assert(sf_format_check(&info), "format %#x not writable", format);
	for (sf_count_t i = 0; i < frames; i++)
		for (int c = 0; c < channels; c++)
			buf[i * channels + c] = amp[c] * (float)sin(2.0 * M_PI * hz * i / rate);
	sf = sf_open(path, SFM_WRITE, &info);
	cr_assert_not_null(sf, "%s: %s", path, sf_strerror(NULL));
	cr_assert_eq(sf_writef_float(sf, buf, frames), frames);
	cr_assert_eq(sf_close(sf), 0);
	free(buf);
}

/* Goertzel power of @hz in x[a, b) at 16 kHz, per sample. */
static double tone_power(const float *x, size_t a, size_t b, double hz)
{
	double w = 2.0 * M_PI * hz / WSP_SAMPLE_RATE, c = 2.0 * cos(w);
	double s1 = 0.0, s2 = 0.0;

	for (size_t i = a; i < b; i++) {
		double s0 = x[i] + c * s1 - s2;

		s2 = s1;
		s1 = s0;
	}
	return (s1 * s1 + s2 * s2 - c * s1 * s2) / ((double)(b - a) * (b - a));
}

static double rms(const float *x, size_t a, size_t b)
{
	double acc = 0.0;

	for (size_t i = a; i < b; i++)
		acc += (double)x[i] * x[i];
	return sqrt(acc / (double)(b - a));
}

/*
 * A decoded tone: @n 16 kHz samples (within @slack of @seconds), its pitch
 * at @hz rather than a neighbour, and its amplitude @amp (sine rms amp/√2).
 */
static void check_tone(const struct wsp_audio *a, double seconds, size_t slack, double hz,
		       double amp, double amp_tol)
{
	size_t want = (size_t)llround(seconds * WSP_SAMPLE_RATE);
	size_t lo = a->n / 10, hi = a->n - a->n / 10;
	double p = tone_power(a->samples, lo, hi, hz);

	cr_assert(a->n + slack >= want && a->n <= want + slack, "%zu samples, want %zu ± %zu",
		  a->n, want, slack);
	/* off by a few percent in pitch, the power drops to nothing */
	cr_assert_gt(p, 100.0 * tone_power(a->samples, lo, hi, hz * 1.03), "pitch is not %g Hz", hz);
	cr_assert_gt(p, 100.0 * tone_power(a->samples, lo, hi, hz * 0.97), "pitch is not %g Hz", hz);
	cr_assert_float_eq(rms(a->samples, lo, hi), amp / sqrt(2.0), amp_tol, "rms %f, want %f",
			   rms(a->samples, lo, hi), amp / sqrt(2.0));
	for (size_t i = 0; i < a->n; i++)
		cr_assert(a->samples[i] >= -1.0f && a->samples[i] <= 1.0f);
}

Test(audio, jfk_is_exact_pcm)
{
	struct wsp_audio a = { 0 };
	char err[512];
	SF_INFO info = { 0 };
	SNDFILE *sf;
	short *pcm;

	need_jfk();
	cr_assert_eq(wsp_audio_load(jfk_path(), &a, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(a.n, 176000, "11 s at 16 kHz, got %zu", a.n);

	/* A 16 kHz 16-bit file passes through as x / 32768, as faster-whisper reads it. */
	sf = sf_open(jfk_path(), SFM_READ, &info);
	cr_assert_not_null(sf);
	pcm = malloc(a.n * sizeof(short));
	cr_assert_eq(sf_readf_short(sf, pcm, (sf_count_t)a.n), (sf_count_t)a.n);
	sf_close(sf);
	for (size_t i = 0; i < a.n; i++)
		cr_assert_eq(a.samples[i], pcm[i] / 32768.0f, "sample %zu", i);
	free(pcm);
	wsp_audio_free(&a);
	cr_assert_null(a.samples);
	wsp_audio_free(&a);
}

Test(audio, resamples_44100_stereo_to_16k_mono)
{
	static const float amp[2] = { 0.6f, 0.2f };
	struct wsp_audio_stream *s;
	struct wsp_audio a = { 0 };
	char path[128], err[512];

	snprintf(path, sizeof(path), "%s/tone.wav", tmpdir);
	write_tone(path, SF_FORMAT_WAV | SF_FORMAT_PCM_16, 44100, 2, amp, 440.0, 1.5);
	cr_assert_eq(wsp_audio_open(path, &s, err, sizeof(err)), 0, "%s", err);
	cr_assert_float_eq(wsp_audio_duration(s), 1.5, 1e-9);
	wsp_audio_close(s);
	cr_assert_eq(wsp_audio_load(path, &a, err, sizeof(err)), 0, "%s", err);
	/* the mean of the channels: amplitude 0.4 */
	check_tone(&a, 1.5, 1, 440.0, 0.4, 2e-3);
	wsp_audio_free(&a);
}

/*
 * Write a @hz tone as @name in @format (channel amplitudes @amp), load it and
 * check length, pitch and level (the mean of @amp, within @tol).
 */
static void roundtrip(const char *name, int format, int rate, int channels, const float *amp,
		      double hz, size_t slack, double tol)
{
	struct wsp_audio a = { 0 };
	char path[128], err[512];
	double mean = 0.0;

	for (int c = 0; c < channels; c++)
		mean += amp[c] / channels;
	snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
	write_tone(path, format, rate, channels, amp, hz, 2.0);
	cr_assert_eq(wsp_audio_load(path, &a, err, sizeof(err)), 0, "%s", err);
	cr_log_info("%s: %zu samples", name, a.n);
	check_tone(&a, 2.0, slack, hz, mean, tol);
	wsp_audio_free(&a);
}

Test(audio, resamples_8k_and_48k_six_channels)
{
	static const float amp[6] = { 0.1f, 0.2f, 0.3f, 0.4f, 0.5f, 0.3f };

	roundtrip("low.wav", SF_FORMAT_WAV | SF_FORMAT_FLOAT, 8000, 1, amp + 4, 1000.0, 1, 2e-3);
	roundtrip("six.wav", SF_FORMAT_WAV | SF_FORMAT_PCM_24, 48000, 6, amp, 2500.0, 1, 2e-3);
}

Test(audio, reads_flac_and_ogg)
{
	static const float amp[2] = { 0.5f, 0.5f };

	roundtrip("tone.flac", SF_FORMAT_FLAC | SF_FORMAT_PCM_16, 22050, 2, amp, 700.0, 1, 2e-3);
	/* lossy codecs: the level only roughly */
	roundtrip("tone.ogg", SF_FORMAT_OGG | SF_FORMAT_VORBIS, 44100, 1, amp, 700.0, 1, 2e-2);
	roundtrip("tone.opus", SF_FORMAT_OGG | SF_FORMAT_OPUS, 48000, 1, amp, 700.0, 1, 2e-2);
}

Test(audio, reads_mp3)
{
	static const float amp[1] = { 0.5f };
	SF_INFO info = { .samplerate = 44100, .channels = 1,
			 .format = SF_FORMAT_MPEG | SF_FORMAT_MPEG_LAYER_III };

	if (!sf_format_check(&info))
		cr_skip_test("this libsndfile cannot write mp3 (built without lame)");
	/* mp3 frames pad the stream: up to two 1152-sample frames, at 16 kHz */
	roundtrip("tone.mp3", info.format, 44100, 1, amp, 700.0, 2 * 1152 * 16000 / 44100 + 1, 3e-2);
}

/*
 * Load must fail with @want and a message naming @path; so must open, or,
 * for a file whose damage shows only when decoding, a read with -EIO.
 */
static void check_stream(const char *path, size_t piece);

static void check_refused(const char *path, int want)
{
	struct wsp_audio a = { .samples = (float *)1, .n = 7 };
	struct wsp_audio_stream *s = (void *)1;
	char err[512] = "";
	float buf[4096];
	long got;
	int ret;

	cr_assert_eq(wsp_audio_load(path, &a, err, sizeof(err)), want, "%s: %s", path, err);
	cr_assert_null(a.samples);
	cr_assert_eq(a.n, 0);
	cr_assert_not_null(strstr(err, path), "message does not name the file: %s", err);
	err[0] = '\0';
	ret = wsp_audio_open(path, &s, err, sizeof(err));
	if (ret == 0) {
		cr_assert_eq(want, -EINVAL, "%s opened", path);
		while ((got = wsp_audio_read(s, buf, 4096, err, sizeof(err))) > 0)
			;
		cr_assert_eq(got, -EIO, "%s: read to the end without an error", path);
		wsp_audio_close(s);
	} else {
		cr_assert_eq(ret, want);
		cr_assert_null(s);
	}
	cr_assert_not_null(strstr(err, path), "message does not name the file: %s", err);
	wsp_audio_free(&a);
}

static void write_bytes(const char *path, const void *data, size_t n)
{
	FILE *f = fopen(path, "wb");

	cr_assert_not_null(f);
	cr_assert_eq(fwrite(data, 1, n, f), n);
	fclose(f);
}

/* The first @n bytes of jfk.wav. */
static void *jfk_head(size_t n)
{
	unsigned char *buf = malloc(n);
	FILE *f = fopen(jfk_path(), "rb");

	cr_assert_not_null(f);
	cr_assert_eq(fread(buf, 1, n, f), n);
	fclose(f);
	return buf;
}

Test(audio, refuses_missing_file)
{
	char path[128];

	snprintf(path, sizeof(path), "%s/nothing-here.wav", tmpdir);
	check_refused(path, -ENOENT);
	snprintf(path, sizeof(path), "%s/no-dir/x.wav", tmpdir);
	check_refused(path, -ENOENT);
}

Test(audio, refuses_text_renamed_wav)
{
	static const char text[] = "This is not audio, whatever its name says.\n";
	char path[128];

	snprintf(path, sizeof(path), "%s/notes.wav", tmpdir);
	write_bytes(path, text, sizeof(text) - 1);
	check_refused(path, -EINVAL);
	/* an empty file and a directory are not audio either */
	snprintf(path, sizeof(path), "%s/empty.wav", tmpdir);
	write_bytes(path, "", 0);
	check_refused(path, -EINVAL);
	check_refused(tmpdir, -EINVAL);
}

Test(audio, refuses_truncated_wav)
{
	char path[128];
	void *head;

	need_jfk();
	snprintf(path, sizeof(path), "%s/cut.wav", tmpdir);
	/* cut inside the header, before the data chunk */
	head = jfk_head(30);
	write_bytes(path, head, 30);
	check_refused(path, -EINVAL);
	free(head);
	/* header intact, data chunk cut short */
	head = jfk_head(44 + 1000);
	write_bytes(path, head, 44 + 1000);
	check_refused(path, -EINVAL);
	free(head);
}

static void put_le(unsigned char *p, unsigned v, int bytes)
{
	for (int i = 0; i < bytes; i++)
		p[i] = (unsigned char)(v >> (8 * i));
}

Test(audio, refuses_bad_wav_headers)
{
	static const struct {
		int off, bytes;
		unsigned val;
		const char *what;
	} bad[] = {
		{ 20, 2, 0x1234, "unknown format tag" },
		{ 22, 2, 0, "zero channels" },
		{ 22, 2, 5000, "5000 channels" },
		{ 24, 4, 0, "0 Hz" },
		{ 24, 4, 1, "1 Hz (16000x upsampling)" },
		{ 24, 4, 0x7fffffff, "2^31 - 1 Hz" },
		{ 34, 2, 0, "0 bits per sample" },
	};
	size_t size = 44 + 32000;
	unsigned char *head, *buf = malloc(size);
	char path[128];

	need_jfk();
	head = jfk_head(size);
	cr_assert_eq(memcmp(head + 36, "data", 4), 0, "jfk.wav: not a 44-byte header");
	put_le(head + 4, (unsigned)size - 8, 4);	/* RIFF and data sizes of the cut */
	put_le(head + 40, (unsigned)size - 44, 4);
	snprintf(path, sizeof(path), "%s/bad.wav", tmpdir);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		memcpy(buf, head, size);
		put_le(buf + bad[i].off, bad[i].val, bad[i].bytes);
		write_bytes(path, buf, size);
		cr_log_info("%s", bad[i].what);
		check_refused(path, -EINVAL);
	}
	/* the unmodified cut is a good 1 s file */
	write_bytes(path, head, size);
	check_stream(path, 1000);
	free(head);
	free(buf);
}

Test(audio, refuses_truncated_flac)
{
	static const float amp[1] = { 0.5f };
	char path[128], cut[128];
	unsigned char *buf;
	long size;
	FILE *f;

	snprintf(path, sizeof(path), "%s/whole.flac", tmpdir);
	snprintf(cut, sizeof(cut), "%s/cut.flac", tmpdir);
	write_tone(path, SF_FORMAT_FLAC | SF_FORMAT_PCM_16, 16000, 1, amp, 300.0, 3.0);
	f = fopen(path, "rb");
	cr_assert_not_null(f);
	fseek(f, 0, SEEK_END);
	size = ftell(f);
	rewind(f);
	buf = malloc((size_t)size);
	cr_assert_eq(fread(buf, 1, (size_t)size, f), (size_t)size);
	fclose(f);
	write_bytes(cut, buf, (size_t)size / 2);
	check_refused(cut, -EINVAL);
	free(buf);
}

Test(audio, refuses_empty_wav)
{
	static const float amp[1] = { 0.5f };
	char path[128];

	snprintf(path, sizeof(path), "%s/zero.wav", tmpdir);
	write_tone(path, SF_FORMAT_WAV | SF_FORMAT_PCM_16, 16000, 1, amp, 300.0, 0.0);
	check_refused(path, -EINVAL);
}

/* Reading @path in pieces of @piece samples gives exactly what load gives. */
static void check_stream(const char *path, size_t piece)
{
	struct wsp_audio_stream *s;
	struct wsp_audio a = { 0 };
	char err[512];
	float *buf = malloc(piece * sizeof(float));
	size_t n = 0;
	long got;

	cr_assert_eq(wsp_audio_load(path, &a, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(wsp_audio_open(path, &s, err, sizeof(err)), 0, "%s", err);
	while ((got = wsp_audio_read(s, buf, piece, err, sizeof(err))) > 0) {
		cr_assert_leq((size_t)got, piece);
		cr_assert_leq(n + (size_t)got, a.n, "%s: stream longer than load", path);
		cr_assert_eq(memcmp(buf, a.samples + n, (size_t)got * sizeof(float)), 0,
			     "%s: samples differ in [%zu, %zu)", path, n, n + (size_t)got);
		n += (size_t)got;
	}
	cr_assert_eq(got, 0, "%s", err);
	cr_assert_eq(n, a.n, "%s: stream gave %zu samples, load %zu", path, n, a.n);
	cr_assert_eq(wsp_audio_read(s, buf, piece, err, sizeof(err)), 0, "read after the end");
	wsp_audio_close(s);
	wsp_audio_free(&a);
	free(buf);
}

Test(audio, stream_matches_load)
{
	static const float amp[2] = { 0.3f, 0.7f };
	char path[128];

	snprintf(path, sizeof(path), "%s/stream.wav", tmpdir);
	write_tone(path, SF_FORMAT_WAV | SF_FORMAT_PCM_16, 44100, 2, amp, 523.25, 3.3);
	check_stream(path, 1);
	check_stream(path, 777);
	check_stream(path, 16000);
	check_stream(path, 1 << 20);
	if (access(jfk_path(), R_OK) == 0) {
		check_stream(jfk_path(), 333);
		check_stream(jfk_path(), 4096);
	}
	wsp_audio_close(NULL);
}
