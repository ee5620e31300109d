// SPDX-License-Identifier: MIT
/*
 * tests/test_batch.c - the batched long-form mode (wsp_transcribe_opts.batch):
 *  - speech regions merge into windows of at most 30 s as faster-whisper's
 *    collect_chunks, and window times map back to the file;
 *  - one window without a prompt: the same segments as the sequential mode;
 *  - on the long-form recording (tools/longform.py --repeat 2, built into
 *    build/longform2 when missing): batch 2 and batch 4 give the same
 *    segments (stacked rows do not depend on each other), in file order,
 *    times inside the file; the word error rate against the manifest is no
 *    worse than the sequential mode's + 0.05; no sentence comes out more
 *    often than it is spoken (the repetition cascade);
 *  - word timestamps: words in order, inside the file, spanned by their
 *    segments;
 *  - the hooks: window_begin / window_end pair per window, on_segment in
 *    order, progress rising;
 *  - models/base on the same recording: every sentence twice (sequential
 *    base, conditioned on a bad window, loses the windows after it);
 *  - bad values: negative is -EINVAL, above 64 counts as 64.
 * Needs models/tiny.en ($AMN_MODEL); the model tests skip without it.
 */
#include <criterion/criterion.h>
#include <ctype.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "whisper/audio/audio.h"
#include "whisper/decode/batch.h"
#include "whisper/transcribe.h"
#include "tests/helpers/test_env.h"
#include "tests/helpers/test_ref.h"

#define SR WSP_SAMPLE_RATE

/* ---- windows from regions, no model ---- */

Test(batch_plan, regions_merge_into_windows_of_at_most_30_s)
{
	/* 10 s, 15 s, 8 s (the third overflows 30 s), 40 s (cut 30 + 10), 2 s */
	static const struct wsp_vad_region r[] = {
		{ 0, 10 * SR }, { 12 * SR, 27 * SR }, { 30 * SR, 38 * SR },
		{ 40 * SR, 80 * SR }, { 81 * SR, 83 * SR },
	};
	struct wsp_batch_plan p;

	cr_assert_eq(wsp_batch_plan_make(r, 5, WSP_BATCH_WINDOW_SAMPLES, &p), 0);
	cr_assert_eq(p.n_pieces, 6);
	cr_assert_eq(p.n_win, 4, "%d windows", p.n_win);
	/* window 0: 10 + 15 s */
	cr_expect_eq(p.win[0].first, 0);
	cr_expect_eq(p.win[0].n, 2);
	cr_expect_eq(p.win[0].len, 25u * SR);
	cr_expect_eq(p.pieces[1].start, 12u * SR);
	cr_expect_eq(p.pieces[1].at, 10u * SR);
	/* window 1: 8 s, then the 40 s region's first 30 s do not fit: window 2;
	 * its last 10 s and the 2 s region: window 3 */
	cr_expect_eq(p.win[1].n, 1);
	cr_expect_eq(p.win[1].len, 8u * SR);
	cr_expect_eq(p.win[2].first, 3);
	cr_expect_eq(p.win[2].len, 30u * SR);
	cr_expect_eq(p.win[3].n, 2);
	cr_expect_eq(p.win[3].len, 12u * SR);
	cr_expect_eq(p.pieces[4].start, 70u * SR);
	cr_expect_eq(p.pieces[5].at, 10u * SR);
	wsp_batch_plan_free(&p);
	cr_assert_eq(wsp_batch_plan_make(r, 5, WSP_BATCH_WINDOW_SAMPLES * 2, &p), 0);
	wsp_batch_plan_free(&p);
	cr_assert_null(p.pieces);
}

Test(batch_plan, last_pieces_and_bad_regions)
{
	static const struct wsp_vad_region r[] = {
		{ 40 * SR, 80 * SR }, { 81 * SR, 83 * SR },
	};
	static const struct wsp_vad_region overlap[] = { { 0, 10 * SR }, { 5 * SR, 12 * SR } };
	static const struct wsp_vad_region back[] = { { 10 * SR, 5 * SR } };
	struct wsp_batch_plan p;

	cr_assert_eq(wsp_batch_plan_make(r, 2, WSP_BATCH_WINDOW_SAMPLES, &p), 0);
	/* 30 s | 10 s + 2 s */
	cr_assert_eq(p.n_win, 2);
	cr_expect_eq(p.win[1].n, 2);
	cr_expect_eq(p.win[1].len, 12u * SR);
	cr_expect_eq(p.pieces[1].start, 70u * SR);
	cr_expect_eq(p.pieces[2].at, 10u * SR);
	wsp_batch_plan_free(&p);
	cr_expect_eq(wsp_batch_plan_make(overlap, 2, WSP_BATCH_WINDOW_SAMPLES, &p), -EINVAL);
	cr_expect_eq(wsp_batch_plan_make(back, 1, WSP_BATCH_WINDOW_SAMPLES, &p), -EINVAL);
	cr_expect_eq(wsp_batch_plan_make(r, 2, 0, &p), -EINVAL);
	cr_expect_eq(wsp_batch_plan_make(NULL, 0, WSP_BATCH_WINDOW_SAMPLES, &p), 0);
	cr_expect_eq(p.n_win, 0);
}

Test(batch_plan, window_times_map_back_to_the_file)
{
	/* a window of [12 s, 20 s) and [30 s, 35 s): 8 s then 5 s */
	static const struct wsp_batch_piece pc[] = {
		{ 12 * SR, 8 * SR, 0 }, { 30 * SR, 5 * SR, 8 * SR },
	};

	cr_expect_eq(wsp_batch_piece_at(pc, 2, 0.0, 0), 0);
	cr_expect_eq(wsp_batch_piece_at(pc, 2, 7.99, 0), 0);
	/* the boundary: a start goes to the next piece, an end stays */
	cr_expect_eq(wsp_batch_piece_at(pc, 2, 8.0, 0), 1);
	cr_expect_eq(wsp_batch_piece_at(pc, 2, 8.0, 1), 0);
	cr_expect_eq(wsp_batch_piece_at(pc, 2, 29.0, 0), 1);
	cr_expect_float_eq(wsp_batch_file_time(pc, 2, 0, 3.0), 15.0, 1e-9);
	cr_expect_float_eq(wsp_batch_file_time(pc, 2, 0, 8.0), 20.0, 1e-9);
	cr_expect_float_eq(wsp_batch_file_time(pc, 2, 1, 8.0), 30.0, 1e-9);
	cr_expect_float_eq(wsp_batch_file_time(pc, 2, 1, 10.5), 32.5, 1e-9);
	/* past the window: clamped to its end */
	cr_expect_float_eq(wsp_batch_file_time(pc, 2, 1, 29.0), 35.0, 1e-9);
}

/* ---- transcriptions ---- */

static struct wsp_model *model;
static struct wsp_context *ctx;

static void setup(void)
{
	const char *dir = test_env_or("AMN_MODEL", "models/tiny.en");
	char err[512], cfg[1024];
	FILE *f;

	snprintf(cfg, sizeof(cfg), "%s/config.json", dir);
	f = fopen(cfg, "r");
	if (!f)
		cr_skip_test("no model at %s (set AMN_MODEL)", dir);
	fclose(f);
	cr_assert_eq(wsp_model_load(&model, dir, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(wsp_context_new(model, NULL, WSP_INT8, 2, &ctx, err, sizeof(err)), 0, "%s", err);
}

static void teardown(void)
{
	wsp_context_free(ctx);
	wsp_model_free(model);
	ctx = NULL;
	model = NULL;
}

TestSuite(batch, .init = setup, .fini = teardown, .timeout = 900);

static const char *audio_dir(void)
{
	return test_env_or("AMN_SHARED_AUDIO", "/work/shared/audio");
}

/* build/longform2/longform.wav and its transcript (tools/longform.py --repeat 2) */
/* ../shared/audio @repeat times over (tools/longform.py) in build/longformREPEAT */
static void longform_n(int repeat, char *wav, size_t n, char *truth, size_t tn)
{
	char cmd[1024], path[512], line[16384];
	FILE *f;

	snprintf(wav, n, "build/longform%d/longform.wav", repeat);
	snprintf(path, sizeof(path), "build/longform%d/manifest.tsv", repeat);
	f = fopen(path, "r");
	if (!f) {
		snprintf(cmd, sizeof(cmd), "python3 tools/longform.py --audio '%s' --repeat %d "
			 "build/longform%d >/dev/null", audio_dir(), repeat, repeat);
		cr_assert_eq(system(cmd), 0, "%s failed", cmd);
		f = fopen(path, "r");
	}
	cr_assert_not_null(f, "no %s", path);
	cr_assert_not_null(fgets(line, sizeof(line), f));   /* header */
	cr_assert_not_null(fgets(line, sizeof(line), f));
	fclose(f);
	line[strcspn(line, "\n")] = 0;
	{
		char *p = strrchr(line, '\t');

		cr_assert_not_null(p);
		snprintf(truth, tn, "%s", p + 1);
	}
}

static void longform(char *wav, size_t n, char *truth, size_t tn)
{
	longform_n(2, wav, n, truth, tn);
}

/* lowercase words of letters, digits and apostrophes */
static int words_of(const char *s, char (*w)[32], int max)
{
	int n = 0;

	while (*s && n < max) {
		int k = 0;

		while (*s && !isalnum((unsigned char)*s) && *s != '\'')
			s++;
		while (*s && (isalnum((unsigned char)*s) || *s == '\'')) {
			if (k < 31)
				w[n][k++] = (char)tolower((unsigned char)*s);
			s++;
		}
		if (k) {
			w[n][k] = 0;
			n++;
		}
	}
	return n;
}

/* word error rate of @hyp against @ref: word-level edit distance / reference words */
static double wer(const char *ref, const char *hyp)
{
	static char rw[2048][32], hw[2048][32];
	static int row[2049], prev[2049];
	int nr = words_of(ref, rw, 2048), nh = words_of(hyp, hw, 2048);

	for (int j = 0; j <= nh; j++)
		prev[j] = j;
	for (int i = 1; i <= nr; i++) {
		row[0] = i;
		for (int j = 1; j <= nh; j++) {
			int sub = prev[j - 1] + (strcmp(rw[i - 1], hw[j - 1]) != 0);
			int del = prev[j] + 1, ins = row[j - 1] + 1;

			row[j] = sub < del ? (sub < ins ? sub : ins) : (del < ins ? del : ins);
		}
		memcpy(prev, row, (size_t)(nh + 1) * sizeof(int));
	}
	return nr ? (double)prev[nh] / nr : 0.0;
}

static int count_of(const char *hay, const char *needle)
{
	int n = 0;

	for (const char *p = strstr(hay, needle); p; p = strstr(p + 1, needle))
		n++;
	return n;
}

static void transcribe(const char *path, int batch, struct wsp_result *r)
{
	struct wsp_transcribe_opts o;
	char err[512] = "";

	wsp_transcribe_opts_default(&o);
	o.batch = batch;
	if (test_small_scale())
		o.beam_size = 1;   /* ThreadSanitizer runs: greedy, the same threads at a fifth of the work */
	cr_assert_eq(wsp_transcribe_file(ctx, path, &o, r, err, sizeof(err)), 0, "batch %d: %s",
		     batch, err);
}

static void expect_same(const struct wsp_result *a, const struct wsp_result *b, const char *what)
{
	cr_assert_eq(a->n_segments, b->n_segments, "%s: %d segments against %d", what,
		     a->n_segments, b->n_segments);
	for (int i = 0; i < a->n_segments; i++) {
		const struct wsp_segment *x = &a->segments[i], *y = &b->segments[i];

		cr_expect_str_eq(x->text, y->text, "%s: segment %d", what, i);
		cr_expect_eq(x->n_tokens, y->n_tokens, "%s: segment %d", what, i);
		cr_expect(x->n_tokens == y->n_tokens &&
			  !memcmp(x->tokens, y->tokens, (size_t)x->n_tokens * sizeof(int32_t)),
			  "%s: segment %d: tokens differ", what, i);
		cr_expect_float_eq(x->start, y->start, 1e-9, "%s: segment %d", what, i);
		cr_expect_float_eq(x->end, y->end, 1e-9, "%s: segment %d", what, i);
	}
}

Test(batch, one_window_gives_the_sequential_segments)
{
	static const char *files[] = { "jfk.wav", "spk1_snt1.wav" };

	for (size_t f = 0; f < sizeof(files) / sizeof(files[0]); f++) {
		struct wsp_result seq, bat;
		char path[512];

		snprintf(path, sizeof(path), "%s/%s", audio_dir(), files[f]);
		transcribe(path, 0, &seq);
		transcribe(path, 4, &bat);
		cr_assert_gt(seq.n_segments, 0, "%s: no text", files[f]);
		/* the same tokens; times the same, but kept inside the file */
		for (int i = 0; i < seq.n_segments; i++) {
			if (seq.segments[i].end > seq.duration_s)
				seq.segments[i].end = seq.duration_s;
			if (seq.segments[i].start > seq.duration_s)
				seq.segments[i].start = seq.duration_s;
		}
		expect_same(&seq, &bat, files[f]);
		cr_expect_float_eq(seq.duration_s, bat.duration_s, 1e-9);
		cr_expect_str_eq(seq.language, bat.language);
		wsp_result_free(&seq);
		wsp_result_free(&bat);
	}
}

Test(batch, bad_values)
{
	struct wsp_transcribe_opts o;
	struct wsp_result seq, r;
	char path[512], err[512] = "";

	snprintf(path, sizeof(path), "%s/jfk.wav", audio_dir());
	wsp_transcribe_opts_default(&o);
	cr_expect_eq(o.batch, 0, "sequential by default");
	o.batch = -1;
	cr_expect_eq(wsp_transcribe_file(ctx, path, &o, &r, err, sizeof(err)), -EINVAL);
	cr_expect(strstr(err, "batch"), "%s", err);
	/* far above the limit: counts as 64 windows at once */
	transcribe(path, 1, &seq);
	transcribe(path, 1 << 30, &r);
	expect_same(&seq, &r, "batch 2^30");
	wsp_result_free(&seq);
	wsp_result_free(&r);
}

static void joined(const struct wsp_result *r, char *buf, size_t n)
{
	size_t o = 0;

	buf[0] = 0;
	for (int i = 0; i < r->n_segments && o + 1 < n; i++)
		o += (size_t)snprintf(buf + o, n - o, "%s", r->segments[i].text);
}

/*
 * Every sentence of the recording is spoken twice (--repeat 2): a window
 * that repeats the text before it says one three times or more, a window
 * that loses its way (the sequential cascade: models/base conditioned on
 * a bad window skips the next ones) says one once.
 */
static void expect_each_sentence_times(const char *text, int times)
{
	static const char *said[] = {
		"isestablishedforthefrequentformalreview", "myfellowamericans",
		"whatyoucandoforyourcountry", "thechildalmosthurtthesmalldog",
		"whenyouaddthefigures", "atthathighleveltheairispure",
		"thatonewarisenough", "whatjoythereisinliving",
	};
	static char letters[16384];

	test_text_letters(text, letters, sizeof(letters));
	for (size_t i = 0; i < sizeof(said) / sizeof(said[0]); i++)
		cr_expect_eq(count_of(letters, said[i]), times, "'%s' %d times, not %d: %s",
			     said[i], count_of(letters, said[i]), times, text);
}

static void expect_each_sentence_twice(const char *text)
{
	expect_each_sentence_times(text, 2);
}

Test(batch, longform_batch_2_and_4_agree_in_order_and_as_accurate)
{
	static char truth[8192], seq_text[16384], text[16384];
	struct wsp_result seq, b2, b4;
	char wav[512];
	double w_seq, w_b;
	int n_truth, n_hyp;
	static char words[4096][32];

	longform(wav, sizeof(wav), truth, sizeof(truth));
	transcribe(wav, 2, &b2);
	transcribe(wav, 4, &b4);
	expect_same(&b2, &b4, "batch 2 against batch 4");
	cr_assert_gt(b2.n_segments, 4);
	for (int i = 0; i < b2.n_segments; i++) {
		const struct wsp_segment *s = &b2.segments[i];

		cr_expect(s->start >= 0 && s->end <= b2.duration_s + 1e-6 && s->start <= s->end,
			  "segment %d [%.2f, %.2f] outside the file (%.2f s)", i, s->start, s->end,
			  b2.duration_s);
		if (i > 0)
			cr_expect_geq(s->start, b2.segments[i - 1].end - 1e-6,
				      "segment %d starts at %.2f before the end of %d (%.2f)", i,
				      s->start, i - 1, b2.segments[i - 1].end);
	}
	/* the words: as accurate as the sequential mode, and no repetition */
	transcribe(wav, 0, &seq);
	joined(&seq, seq_text, sizeof(seq_text));
	joined(&b2, text, sizeof(text));
	w_seq = wer(truth, seq_text);
	w_b = wer(truth, text);
	cr_log_info("WER sequential %.3f, batched %.3f\n", w_seq, w_b);
	cr_expect_leq(w_b, w_seq + 0.05, "batched WER %.3f, sequential %.3f", w_b, w_seq);
	n_truth = words_of(truth, words, 4096);
	n_hyp = words_of(text, words, 4096);
	cr_expect_leq(n_hyp, n_truth + n_truth / 10, "%d words for %d spoken", n_hyp, n_truth);
	expect_each_sentence_twice(text);
	wsp_result_free(&seq);
	wsp_result_free(&b2);
	wsp_result_free(&b4);
}

/* hooks: begin/end pairs, segments in order, progress rising */
struct hooks {
	pthread_mutex_t lock;
	int begun, ended, in_flight, max_in_flight, next_index, bad_index;
	double last_progress;
	int progress_back;
};

static int hk_begin(void *arg, double start_s, double length_s)
{
	struct hooks *h = arg;

	(void)start_s;
	(void)length_s;
	pthread_mutex_lock(&h->lock);
	h->begun++;
	h->in_flight++;
	if (h->in_flight > h->max_in_flight)
		h->max_in_flight = h->in_flight;
	pthread_mutex_unlock(&h->lock);
	return 0;
}

static void hk_end(void *arg)
{
	struct hooks *h = arg;

	pthread_mutex_lock(&h->lock);
	h->ended++;
	h->in_flight--;
	pthread_mutex_unlock(&h->lock);
}

static void hk_seg(void *arg, const struct wsp_segment *seg, int index)
{
	struct hooks *h = arg;

	(void)seg;
	pthread_mutex_lock(&h->lock);
	if (index != h->next_index)
		h->bad_index++;
	h->next_index = index + 1;
	pthread_mutex_unlock(&h->lock);
}

static void hk_progress(void *arg, double done_s, double total_s)
{
	struct hooks *h = arg;

	(void)total_s;
	pthread_mutex_lock(&h->lock);
	if (done_s < h->last_progress)
		h->progress_back++;
	h->last_progress = done_s;
	pthread_mutex_unlock(&h->lock);
}

static int cancel_begin(void *arg, double start_s, double length_s)
{
	(void)length_s;
	(void)arg;
	return start_s > 20.0 ? -ECANCELED : 0;
}

Test(batch, hooks_pair_and_run_in_order)
{
	static char truth[8192];
	struct wsp_transcribe_opts o;
	struct hooks h = { .lock = PTHREAD_MUTEX_INITIALIZER };
	struct wsp_result r;
	char wav[512], err[512] = "";
	int windows;

	longform(wav, sizeof(wav), truth, sizeof(truth));
	wsp_transcribe_opts_default(&o);
	o.batch = 3;
	o.beam_size = 1;
	o.window_begin = hk_begin;
	o.window_end = hk_end;
	o.on_segment = hk_seg;
	o.hook_arg = &h;
	o.progress = hk_progress;
	o.progress_arg = &h;
	cr_assert_eq(wsp_transcribe_file(ctx, wav, &o, &r, err, sizeof(err)), 0, "%s", err);
	windows = (int)((r.duration_s + 29.999) / 30.0);
	cr_expect_eq(h.begun, windows, "%d windows begun for %.1f s", h.begun, r.duration_s);
	cr_expect_eq(h.ended, h.begun);
	cr_expect_leq(h.max_in_flight, 3);
	cr_expect_eq(h.next_index, r.n_segments);
	cr_expect_eq(h.bad_index, 0);
	cr_expect_eq(h.progress_back, 0);
	cr_expect_float_eq(h.last_progress, r.duration_s, 1e-6);
	wsp_result_free(&r);

	/* a window refused by its hook fails the transcription, nothing leaks */
	o.window_begin = cancel_begin;
	o.window_end = NULL;
	o.on_segment = NULL;
	o.progress = NULL;
	cr_expect_eq(wsp_transcribe_file(ctx, wav, &o, &r, err, sizeof(err)), -ECANCELED);
	cr_expect_eq(r.n_segments, 0);
	cr_expect_null(r.segments);
}

/*
 * models/base (or $AMN_BASE_MODEL) and an INT8 context on 2 threads for
 * the long base tests; skips without the model or at AMN_TEST_SCALE=small.
 */
static void base_context(struct wsp_model **m, struct wsp_context **c)
{
	const char *dir = test_env_or("AMN_BASE_MODEL", "models/base");
	char cfg[1024], err[512] = "";
	FILE *f;

	snprintf(cfg, sizeof(cfg), "%s/config.json", dir);
	f = fopen(cfg, "r");
	if (!f)
		cr_skip_test("no model at %s (set AMN_BASE_MODEL)", dir);
	fclose(f);
	if (test_small_scale())
		cr_skip_test("long test: skipped with AMN_TEST_SCALE=small");
	cr_assert_eq(wsp_model_load(m, dir, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(wsp_context_new(*m, NULL, WSP_INT8, 2, c, err, sizeof(err)), 0, "%s", err);
}

Test(batch, base_does_not_cascade)
{
	static char truth[8192], text[16384];
	struct wsp_transcribe_opts o;
	struct wsp_model *m;
	struct wsp_context *c;
	struct wsp_result r;
	char wav[512], err[512] = "";

	base_context(&m, &c);
	longform(wav, sizeof(wav), truth, sizeof(truth));
	wsp_transcribe_opts_default(&o);
	o.language = "en";
	o.batch = 4;
	cr_assert_eq(wsp_transcribe_file(c, wav, &o, &r, err, sizeof(err)), 0, "%s", err);
	joined(&r, text, sizeof(text));
	cr_log_info("base batched WER %.3f\n", wer(truth, text));
	cr_expect_leq(wer(truth, text), 0.08, "WER %.3f: %s", wer(truth, text), text);
	expect_each_sentence_twice(text);
	wsp_result_free(&r);
	wsp_context_free(c);
	wsp_model_free(m);
}

/*
 * The 208 s benchmark recording (six times over), base, batch 8, with the
 * VAD: every sentence six times. A window's second decoding (from its last
 * timestamp, 2.9 s of audio left) closed "At that high level, the air is
 * pure." with a timestamp 20 s into the padding; the sentence was dropped
 * as the next window's until a segment's end was kept within the audio.
 */
Test(batch, base_vad_windows_keep_every_sentence)
{
	const char *vad = test_env_or("AMANUENSIS_VAD", "models/silero_vad_v6.amnv");
	static char truth[16384], text[32768];
	struct wsp_transcribe_opts o;
	struct wsp_model *m;
	struct wsp_context *c;
	struct wsp_vad *v;
	struct wsp_result r;
	char wav[512], err[512] = "";

	if (access(vad, R_OK))
		cr_skip_test("no VAD weights at %s (scripts/silero_to_amn.py)", vad);
	base_context(&m, &c);
	longform_n(6, wav, sizeof(wav), truth, sizeof(truth));
	cr_assert_eq(wsp_vad_load(vad, &v, err, sizeof(err)), 0, "%s", err);
	wsp_transcribe_opts_default(&o);
	o.language = "en";
	o.batch = 8;
	o.vad = v;
	cr_assert_eq(wsp_transcribe_file(c, wav, &o, &r, err, sizeof(err)), 0, "%s", err);
	joined(&r, text, sizeof(text));
	cr_log_info("base batched with VAD, six-fold recording: WER %.3f\n", wer(truth, text));
	expect_each_sentence_times(text, 6);
	wsp_result_free(&r);
	wsp_context_free(c);
	wsp_model_free(m);
	wsp_vad_free(v);
}

Test(batch, word_timestamps_map_back_in_order)
{
	static char truth[8192];
	struct wsp_transcribe_opts o;
	struct wsp_result r;
	char wav[512], err[512] = "";
	double prev = 0.0;
	int n_words = 0;

	longform(wav, sizeof(wav), truth, sizeof(truth));
	wsp_transcribe_opts_default(&o);
	o.batch = 3;
	o.beam_size = 1;
	o.word_timestamps = 1;
	cr_assert_eq(wsp_transcribe_file(ctx, wav, &o, &r, err, sizeof(err)), 0, "%s", err);
	cr_expect(r.word_timestamps);
	for (int i = 0; i < r.n_segments; i++) {
		const struct wsp_segment *s = &r.segments[i];

		if (!s->n_words)
			continue;
		/* a segment with words spans them, as faster-whisper's restore does */
		cr_expect_float_eq(s->start, s->words[0].start, 1e-9, "segment %d", i);
		cr_expect_float_eq(s->end, s->words[s->n_words - 1].end, 1e-9, "segment %d", i);
		for (int k = 0; k < s->n_words; k++) {
			const struct wsp_word *w = &s->words[k];

			cr_expect(w->start >= prev - 1e-6 && w->end >= w->start &&
				  w->end <= r.duration_s + 1e-6,
				  "segment %d word %d '%s' [%.2f, %.2f] after %.2f", i, k, w->word,
				  w->start, w->end, prev);
			prev = w->start;
			n_words++;
		}
	}
	cr_expect_gt(n_words, 100, "%d words", n_words);
	wsp_result_free(&r);
}
