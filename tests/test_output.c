/*
 * test_output.c - the txt, srt, vtt, console and JSON writers on a crafted
 * wsp_result: numbering, timestamp layouts (comma vs dot, hours), cue text
 * rules, and JSON that Python's json module parses back to the same text,
 * whatever the text holds (quotes, backslashes, control characters,
 * non-ASCII, invalid UTF-8).
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "whisper/output.h"

static int32_t toks0[] = { 50363, 400, 401, 50563 };
static int32_t toks1[] = { 50563, 7, 50663 };

static struct wsp_segment segs[3];
static struct wsp_result res;

static void make_result(void)
{
	memset(segs, 0, sizeof(segs));
	segs[0] = (struct wsp_segment){ .start = 0.0, .end = 4.0, .text = " And so my fellow Americans,",
		.tokens = toks0, .n_tokens = 4, .avg_logprob = -0.25f, .no_speech_prob = 0.01f,
		.compression_ratio = 1.2f, .temperature = 0.0f };
	segs[1] = (struct wsp_segment){ .start = 4.0, .end = 10.52,
		.text = "  a --> b \"q\" back\\slash\ttab\x01\x7f caf\xc3\xa9 \xe6\x97\xa5 \xf0\x9f\x98\x80 \xff! \n",
		.tokens = toks1, .n_tokens = 3, .avg_logprob = NAN, .no_speech_prob = 0.5f,
		.compression_ratio = 2.0f, .temperature = 0.2f };
	segs[2] = (struct wsp_segment){ .start = 3725.25, .end = 7384.0005, .text = " late",
		.avg_logprob = -1.0f };
	memset(&res, 0, sizeof(res));
	res.segments = segs;
	res.n_segments = 3;
	strcpy(res.language, "en");
	res.language_prob = 1.0f;
	res.duration_s = 7400.0;
	res.mel_ms = 10;
	res.encode_ms = 100;
	res.decode_ms = 200;
}

/* render - run a writer into a heap string. */
static char *render(unsigned fmt, const struct wsp_run_info *info)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	cr_assert(f);
	if (fmt)
		cr_assert_eq(wsp_write_format(f, fmt, &res, info), 0);
	else
		cr_assert_eq(wsp_write_console(f, &res), 0);
	fclose(f);
	return buf;
}

static const char *ts(double s, int hours, char mark)
{
	static char buf[64];

	wsp_format_timestamp(buf, sizeof(buf), s, hours, mark);
	return buf;
}

Test(output, timestamps_as_openai_whisper)
{
	cr_assert_str_eq(ts(0, 0, '.'), "00:00.000");
	cr_assert_str_eq(ts(0, 1, ','), "00:00:00,000");
	cr_assert_str_eq(ts(4.0, 1, ','), "00:00:04,000");
	cr_assert_str_eq(ts(10.52, 0, '.'), "00:10.520");
	cr_assert_str_eq(ts(59.9996, 0, '.'), "01:00.000");       /* rounding carries */
	cr_assert_str_eq(ts(3599.9999, 0, '.'), "01:00:00.000");  /* into the hours */
	cr_assert_str_eq(ts(3725.25, 0, '.'), "01:02:05.250");    /* hours shown once > 0 */
	cr_assert_str_eq(ts(3725.25, 1, ','), "01:02:05,250");
	cr_assert_str_eq(ts(36000 * 3 + 1.001, 0, '.'), "30:00:01.001"); /* hours > 24 stay hours */
	cr_assert_str_eq(ts(-1, 0, '.'), "00:00.000");
	cr_assert_str_eq(ts(NAN, 1, ','), "00:00:00,000");
	cr_assert_str_eq(ts(0.0025, 0, '.'), "00:00.002");       /* 2.5 ms: ties to even */
}

Test(output, txt_strips_each_segment)
{
	char *s;

	make_result();
	s = render(WSP_OUT_TXT, NULL);
	cr_assert_str_eq(s, "And so my fellow Americans,\n"
		"a --> b \"q\" back\\slash\ttab\x01\x7f caf\xc3\xa9 \xe6\x97\xa5 \xf0\x9f\x98\x80 \xff!\n"
		"late\n");
	free(s);
}

Test(output, srt_numbers_from_one_with_comma_decimals_and_hours)
{
	char *s;

	make_result();
	s = render(WSP_OUT_SRT, NULL);
	cr_assert_str_eq(s,
		"1\n00:00:00,000 --> 00:00:04,000\nAnd so my fellow Americans,\n\n"
		"2\n00:00:04,000 --> 00:00:10,520\n"
		"a -> b \"q\" back\\slash\ttab\x01\x7f caf\xc3\xa9 \xe6\x97\xa5 \xf0\x9f\x98\x80 \xff!\n\n"
		"3\n01:02:05,250 --> 02:03:04,000\nlate\n\n");
	free(s);
}

Test(output, vtt_header_and_dot_decimals)
{
	char *s;

	make_result();
	s = render(WSP_OUT_VTT, NULL);
	cr_assert_str_eq(s, "WEBVTT\n\n"
		"00:00.000 --> 00:04.000\nAnd so my fellow Americans,\n\n"
		"00:04.000 --> 00:10.520\n"
		"a -> b \"q\" back\\slash\ttab\x01\x7f caf\xc3\xa9 \xe6\x97\xa5 \xf0\x9f\x98\x80 \xff!\n\n"
		"01:02:05.250 --> 02:03:04.000\nlate\n\n");
	free(s);
}

Test(output, console_lines_keep_the_leading_space)
{
	char *s;

	make_result();
	res.n_segments = 1;
	s = render(0, NULL);
	cr_assert_str_eq(s, "[00:00.000 --> 00:04.000]  And so my fellow Americans,\n");
	free(s);
}

Test(output, json_escapes_are_ascii)
{
	char *s, *p;

	make_result();
	s = render(WSP_OUT_JSON, NULL);
	for (p = s; *p; p++)
		cr_assert(*p > 0 && (*p >= 0x20 || *p == '\n'), "byte 0x%02x in JSON", (unsigned char)*p);
	cr_assert(strstr(s, "a --> b \\\"q\\\" back\\\\slash\\ttab\\u0001\\u007f caf\\u00e9 "
			    "\\u65e5 \\ud83d\\ude00 \\ufffd! \\n\""), "%s", s);
	cr_assert(strstr(s, "\"avg_logprob\":null"), "NaN must be null: %s", s);
	cr_assert(strstr(s, "\"tokens\":[50363,400,401,50563]"), "%s", s);
	cr_assert(!strstr(s, "\"run\""), "no run object without run info");
	free(s);
}

Test(output, json_escapes_invalid_utf8_each_byte)
{
	static const char bad[] = "a\xc3(\xe2\x82\xf0\x9f\x98\xed\xa0\x80\xc0\xafz";
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	cr_assert_eq(wsp_json_write_string(f, bad, strlen(bad)), 0);
	fclose(f);
	/* truncated 2-, 3- and 4-byte forms, a surrogate and an overlong '/' */
	cr_assert_str_eq(buf, "\"a\\ufffd(\\ufffd\\ufffd\\ufffd\\ufffd\\ufffd"
			      "\\ufffd\\ufffd\\ufffd\\ufffd\\ufffdz\"");
	free(buf);
}

/*
 * Python's json module parses the file and writes back, NUL-separated, the
 * segment texts (UTF-8), the top-level text and a few run fields.
 */
Test(output, json_parses_back_with_python)
{
	static const char *py =
		"import json,sys\n"
		"d=json.load(open(sys.argv[1]))\n"
		"s=d['segments']\n"
		"assert [x['id'] for x in s]==[0,1,2]\n"
		"assert s[0]['start']==0 and s[0]['end']==4 and s[1]['end']==10.52\n"
		"assert s[0]['tokens']==[50363,400,401,50563] and s[2]['tokens']==[]\n"
		"assert s[1]['avg_logprob'] is None and abs(s[1]['temperature']-0.2)<1e-6\n"
		"assert abs(s[0]['no_speech_prob']-0.01)<1e-6 and s[1]['compression_ratio']==2\n"
		"r=d['run']\n"
		"assert r['model']=='models/tiny.en' and r['backend']=='cpu \"x\"' and r['precision']=='int8'\n"
		"assert r['threads']==2 and r['language']=='en' and r['duration']==7400\n"
		"assert r['timings']['decode_ms']==200 and r['wall_ms']==3700000\n"
		"assert abs(r['realtime_factor']-0.5)<1e-9 and r['file'] is None\n"
		"out=[x['text'] for x in s]+[d['text'],d['language']]\n"
		"sys.stdout.buffer.write('\\0'.join(out).encode('utf-8'))\n";
	struct wsp_run_info ri = { .model = "models/tiny.en", .backend = "cpu \"x\"",
				   .precision = "int8", .threads = 2, .beam_size = 5,
				   .task = "transcribe", .wall_ms = 3700000 };
	char path[] = "/tmp/test_output_XXXXXX", cmd[512], got[1024], want[1024];
	size_t n = 0, wl = 0;
	FILE *f, *p;
	int fd, st, i;

	if (system("python3 -c 'import json' 2>/dev/null") != 0)
		cr_skip_test("python3 not available");
	make_result();
	fd = mkstemp(path);
	cr_assert_geq(fd, 0);
	f = fdopen(fd, "w");
	cr_assert_eq(wsp_write_json(f, &res, &ri), 0);
	fclose(f);
	snprintf(cmd, sizeof(cmd), "python3 -c \"$AMN_PY\" %s", path);
	setenv("AMN_PY", py, 1);
	p = popen(cmd, "r");
	cr_assert(p);
	n = fread(got, 1, sizeof(got) - 1, p);
	st = pclose(p);
	unlink(path);
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "python rejected the JSON");
	/* expected: each text as written, the stray 0xff byte as U+FFFD; then all joined */
	for (i = 0; i < 4; i++) {
		int j;

		for (j = i < 3 ? i : 0; j < (i < 3 ? i + 1 : 3); j++) {
			const char *t;

			for (t = segs[j].text; *t; t++) {
				if ((unsigned char)*t == 0xff) {
					memcpy(want + wl, "\xef\xbf\xbd", 3);
					wl += 3;
				} else {
					want[wl++] = *t;
				}
			}
		}
		want[wl++] = '\0';
	}
	memcpy(want + wl, "en", 2);
	wl += 2;
	cr_assert_eq(n, wl, "python gave %zu bytes, want %zu", n, wl);
	cr_assert(!memcmp(got, want, wl));
}

Test(output, format_names_and_basenames)
{
	unsigned m = 0;
	char b[64];

	cr_assert_eq(wsp_output_format_parse("srt", &m), 0);
	cr_assert_eq(m, WSP_OUT_SRT);
	cr_assert_eq(wsp_output_format_parse("all", &m), 0);
	cr_assert_eq(m, WSP_OUT_TXT | WSP_OUT_SRT | WSP_OUT_VTT | WSP_OUT_JSON);
	cr_assert_eq(wsp_output_format_parse("tsv", &m), -EINVAL);
	cr_assert_str_eq(wsp_output_format_ext(WSP_OUT_VTT), "vtt");
	cr_assert_null(wsp_output_format_ext(WSP_OUT_ALL));
	wsp_output_basename(b, sizeof(b), "a/b/jfk.wav");
	cr_assert_str_eq(b, "jfk");
	wsp_output_basename(b, sizeof(b), "x.tar.flac");
	cr_assert_str_eq(b, "x.tar");
	wsp_output_basename(b, sizeof(b), "dir.d/.hidden");
	cr_assert_str_eq(b, ".hidden");
	wsp_output_basename(b, sizeof(b), "noext");
	cr_assert_str_eq(b, "noext");
}

Test(output, write_files_makes_every_format_and_no_temporaries)
{
	char dir[] = "/tmp/test_output_dir_XXXXXX", path[256], err[256], *want;
	const char *ext[] = { "txt", "srt", "vtt", "json" };
	unsigned fmt[] = { WSP_OUT_TXT, WSP_OUT_SRT, WSP_OUT_VTT, WSP_OUT_JSON };
	struct stat sb;
	int i;

	make_result();
	cr_assert(mkdtemp(dir));
	cr_assert_eq(wsp_write_files(dir, "clip", WSP_OUT_ALL, &res, NULL, err, sizeof(err)), 0, "%s", err);
	for (i = 0; i < 4; i++) {
		char got[2048];
		size_t n;
		FILE *f;

		snprintf(path, sizeof(path), "%s/clip.%s", dir, ext[i]);
		f = fopen(path, "r");
		cr_assert(f, "%s missing", path);
		n = fread(got, 1, sizeof(got) - 1, f);
		got[n] = '\0';
		fclose(f);
		want = render(fmt[i], NULL);
		cr_assert_str_eq(got, want, "%s differs from the stream writer", path);
		free(want);
		cr_assert_eq(stat(path, &sb), 0);
		cr_assert(sb.st_mode & S_IRUSR);
		unlink(path);
	}
	cr_assert_eq(rmdir(dir), 0, "stray temporary files left in %s", dir);
	/* a directory that does not exist: the error names the file */
	cr_assert_lt(wsp_write_files("/nonexistent/dir", "clip", WSP_OUT_TXT, &res, NULL,
				     err, sizeof(err)), 0);
	cr_assert(strstr(err, "/nonexistent/dir/clip.txt"), "%s", err);
}

/* ---- cues from word timestamps (openai-whisper's SubtitlesWriter) ---- */

static struct wsp_word w0[] = { { 0.0, 0.5, " Hello", 0.9f }, { 0.5, 1.0, " world.", 0.8f } };
static struct wsp_word w1[] = { { 5.0, 5.4, " Again", 0.9f }, { 5.6, 6.0, " here", 0.7f } };

static char *render_words(unsigned fmt, const struct wsp_subtitle_opts *sub)
{
	struct wsp_segment s[2] = {
		{ .start = 0.0, .end = 2.0, .text = " Hello world.", .words = w0, .n_words = 2 },
		{ .start = 5.0, .end = 6.0, .text = " Again here", .words = w1, .n_words = 2 },
	};
	struct wsp_result r = { .segments = s, .n_segments = 2, .word_timestamps = 1 };
	struct wsp_run_info info = { .subtitles = sub };
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	cr_assert(f);
	cr_assert_eq(wsp_write_format(f, fmt, &r, &info), 0);
	fclose(f);
	return buf;
}

Test(output, word_cues_one_per_segment_from_its_words)
{
	char *s = render_words(WSP_OUT_SRT, NULL);

	/* times are the words' (0 - 1 s), not the segment's (0 - 2 s) */
	cr_expect_str_eq(s, "1\n00:00:00,000 --> 00:00:01,000\nHello world.\n\n"
			    "2\n00:00:05,000 --> 00:00:06,000\nAgain here\n\n");
	free(s);
}

Test(output, word_cues_highlight_each_word_and_the_gaps)
{
	struct wsp_subtitle_opts o = { .highlight_words = 1 };
	char *s = render_words(WSP_OUT_VTT, &o);

	cr_expect_str_eq(s, "WEBVTT\n\n"
			    "00:00.000 --> 00:00.500\n<u>Hello</u> world.\n\n"
			    "00:00.500 --> 00:01.000\nHello <u>world.</u>\n\n"
			    "00:05.000 --> 00:05.400\n<u>Again</u> here\n\n"
			    "00:05.400 --> 00:05.600\nAgain here\n\n"
			    "00:05.600 --> 00:06.000\nAgain <u>here</u>\n\n");
	free(s);
}

Test(output, word_cues_line_width_and_count)
{
	struct wsp_subtitle_opts two = { .max_line_width = 8, .max_line_count = 2 };
	struct wsp_subtitle_opts one = { .max_line_width = 8, .max_line_count = 1 };
	char *s = render_words(WSP_OUT_SRT, &two);

	/* "Hello world." does not fit 8: two lines; the 4 s pause starts a cue */
	cr_expect_str_eq(s, "1\n00:00:00,000 --> 00:00:01,000\nHello\nworld.\n\n"
			    "2\n00:00:05,000 --> 00:00:06,000\nAgain\nhere\n\n");
	free(s);
	s = render_words(WSP_OUT_SRT, &one);
	cr_expect_str_eq(s, "1\n00:00:00,000 --> 00:00:00,500\nHello\n\n"
			    "2\n00:00:00,500 --> 00:00:01,000\nworld.\n\n"
			    "3\n00:00:05,000 --> 00:00:05,400\nAgain\n\n"
			    "4\n00:00:05,600 --> 00:00:06,000\nhere\n\n");
	free(s);
}

Test(output, json_words_only_with_word_timestamps)
{
	char *s = render_words(WSP_OUT_JSON, NULL);

	cr_expect(strstr(s, "\"words\":[{\"word\":\" Hello\",\"start\":0.00,\"end\":0.50,"
			    "\"probability\":0.9}") != NULL, "%s", s);
	free(s);
	s = render(WSP_OUT_JSON, NULL);
	cr_expect(strstr(s, "\"words\"") == NULL);
	free(s);
}
