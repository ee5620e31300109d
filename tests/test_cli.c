/*
 * test_cli.c - build/amanuensis as a user runs it, in a subprocess: --help
 * lists every option, exit statuses 2 (usage), 3 (unreadable input, the
 * other files still done), 4 (model); and, with models/tiny.en present,
 * real transcriptions: jfk.wav with no options, every output format
 * agreeing, silence and noise giving no text, three files in one run.
 */
#include <criterion/criterion.h>
#include <ctype.h>
#include <libgen.h>
#include <limits.h>
#include <math.h>
#include <sndfile.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define ARGS_MAX (8 * PATH_MAX)

static char root[PATH_MAX];     /* the repository: build/tests/.. /.. */
static char exe[PATH_MAX + 32];
static char audio[PATH_MAX + 32];
static char model[PATH_MAX + 32];

static void find_paths(void)
{
	char self[PATH_MAX], tmp[PATH_MAX + 32], *dir;
	const char *a = getenv("AMN_SHARED_AUDIO");
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);

	cr_assert_gt(n, 0);
	self[n] = '\0';
	dir = dirname(self);  /* BUILD/tests */
	snprintf(tmp, sizeof(tmp), "%s/../..", dir);
	cr_assert(realpath(tmp, root));
	snprintf(exe, sizeof(exe), "%s/../amanuensis", dir);
	if (a && *a == '/')
		snprintf(audio, sizeof(audio), "%s", a);
	else
		snprintf(audio, sizeof(audio), "%s/%s", root, a ? a : "../shared/audio");
	snprintf(model, sizeof(model), "%s/models/tiny.en", root);
}

static void setup(void)
{
	find_paths();
	unsetenv("AMANUENSIS_MODEL");
	/* a test run must not pick up a user's NPU or fault settings by accident */
	setenv("NPU_BACKEND", "cpu", 1);
}

TestSuite(cli, .init = setup);

static int have_model(void)
{
	char p[PATH_MAX + 64];

	snprintf(p, sizeof(p), "%s/model.bin", model);
	return access(p, R_OK) == 0;
}

#define NEED_MODEL() do { \
	if (!have_model()) \
		cr_skip_test("models/tiny.en missing: model-dependent CLI test skipped"); \
	} while (0)

/*
 * run - run amanuensis in @cwd with @args (shell words); stdout into @out,
 * stderr into @err (each NUL-terminated, truncated to their sizes).
 * Return: the exit status, or -1 if it did not exit normally.
 */
static int run(const char *cwd, const char *args, char *out, size_t outlen,
	       char *err, size_t errlen)
{
	char cmd[ARGS_MAX + 2 * PATH_MAX], errpath[] = "/tmp/test_cli_err_XXXXXX";
	size_t n;
	FILE *p, *f;
	int fd, st;

	fd = mkstemp(errpath);
	cr_assert_geq(fd, 0);
	close(fd);
	snprintf(cmd, sizeof(cmd), "cd '%s' && '%s' %s 2>'%s'", cwd ? cwd : root, exe, args, errpath);
	p = popen(cmd, "r");
	cr_assert(p);
	n = fread(out, 1, outlen - 1, p);
	out[n] = '\0';
	while (fgetc(p) != EOF)
		;
	st = pclose(p);
	f = fopen(errpath, "r");
	cr_assert(f);
	n = fread(err, 1, errlen - 1, f);
	err[n] = '\0';
	fclose(f);
	unlink(errpath);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "r");
	char *buf;
	long n;

	if (!f)
		return NULL;
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	buf = malloc((size_t)n + 1);
	cr_assert(buf);
	cr_assert_eq(fread(buf, 1, (size_t)n, f), (size_t)n);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

/* lower-case, letters and spaces only, spaces collapsed: "Ask not, what" -> "ask not what" */
static void normalize(char *s)
{
	char *d = s;
	int space = 1;

	for (; *s; s++) {
		if (isalpha((unsigned char)*s)) {
			*d++ = (char)tolower((unsigned char)*s);
			space = 0;
		} else if (isspace((unsigned char)*s) && !space) {
			*d++ = ' ';
			space = 1;
		}
	}
	*d = '\0';
}

static void make_tmpdir(char *dir)
{
	cr_assert(mkdtemp(dir), "mkdtemp %s", dir);
}

static void rm_rf(const char *dir)
{
	char cmd[PATH_MAX + 16];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	cr_assert_eq(system(cmd), 0);
}

Test(cli, help_lists_every_option_and_exits_0)
{
	static const char *opts[] = {
		"--model", "--backend", "--threads", "--precision", "--jobs", "--language",
		"--task", "--beam-size", "--best-of", "--patience", "--length-penalty",
		"--temperature", "--temperature-increment-on-fallback",
		"--compression-ratio-threshold", "--logprob-threshold", "--no-speech-threshold",
		"--condition-on-previous-text", "--prompt", "--no-timestamps", "--seed",
		"--word-timestamps", "--prepend-punctuations", "--append-punctuations",
		"--hallucination-silence-threshold", "--highlight-words", "--max-line-width",
		"--max-line-count", "--batch",
		"--output-format", "--output-dir", "--quiet", "--version", "--help",
		"--list-models", "AMANUENSIS_MODEL", "AMANUENSIS_MODELS", "NPU_BACKEND",
		"Exit status",
	};
	static char out[16384], err[4096];
	size_t i;

	cr_assert_eq(run(NULL, "--help", out, sizeof(out), err, sizeof(err)), 0);
	for (i = 0; i < sizeof(opts) / sizeof(opts[0]); i++)
		cr_assert(strstr(out, opts[i]), "--help does not mention %s", opts[i]);
	cr_assert_eq(run(NULL, "--version", out, sizeof(out), err, sizeof(err)), 0);
	cr_assert(!strncmp(out, "amanuensis ", 11), "%s", out);
}

Test(cli, bad_usage_exits_2)
{
	static const char *bad[] = {
		"--bogus x.wav", "", "--output-format xml x.wav", "--beam-size abc x.wav",
		"--beam-size 0 x.wav", "--backend gpu x.wav", "--precision int4 x.wav",
		"--task summarize x.wav", "--condition-on-previous-text maybe x.wav",
		"--temperature 2 x.wav", "--jobs", "--threads -1 x.wav",
		/* the subtitle layout and the hallucination guard need word timestamps */
		"--highlight-words x.wav", "--max-line-width 40 x.wav",
		"--hallucination-silence-threshold 2 x.wav",
		"--word-timestamps --max-line-count 2 x.wav",
		"--word-timestamps --max-line-width 0 x.wav",
		"--word-timestamps --hallucination-silence-threshold -1 x.wav",
		/* the batched mode takes 1..64 windows at once */
		"--batch 0 x.wav", "--batch -2 x.wav", "--batch 65 x.wav", "--batch 99999999999 x.wav",
		"--batch two x.wav",
	};
	static char out[4096], err[4096];
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		cr_assert_eq(run(NULL, bad[i], out, sizeof(out), err, sizeof(err)), 2,
			     "'%s' should exit 2 (stderr: %s)", bad[i], err);
		cr_assert(strstr(err, "amanuensis: "), "'%s' gives no message", bad[i]);
	}
}

Test(cli, missing_or_corrupt_model_exits_4)
{
	char dir[] = "/tmp/test_cli_model_XXXXXX", path[PATH_MAX], args[ARGS_MAX];
	static char out[4096], err[4096];
	FILE *f;

	make_tmpdir(dir);
	/* a directory with a CTranslate2 layout and garbage inside */
	snprintf(path, sizeof(path), "%s/model.bin", dir);
	f = fopen(path, "w");
	cr_assert(f);
	fputs("this is not a CTranslate2 model", f);
	fclose(f);
	snprintf(path, sizeof(path), "%s/config.json", dir);
	f = fopen(path, "w");
	cr_assert(f);
	fputs("{ not json", f);
	fclose(f);
	snprintf(args, sizeof(args), "--model '%s' '%s/jfk.wav'", dir, audio);
	cr_assert_eq(run(NULL, args, out, sizeof(out), err, sizeof(err)), 4, "%s", err);
	cr_assert(strstr(err, dir), "the message names the model: %s", err);

	snprintf(args, sizeof(args), "--model '%s/nothing' '%s/jfk.wav'", dir, audio);
	cr_assert_eq(run(NULL, args, out, sizeof(out), err, sizeof(err)), 4, "%s", err);
	cr_assert(strstr(err, "/nothing"), "%s", err);

	setenv("AMANUENSIS_MODEL", path, 1);  /* a file that is no model */
	snprintf(args, sizeof(args), "'%s/jfk.wav'", audio);
	cr_assert_eq(run(NULL, args, out, sizeof(out), err, sizeof(err)), 4, "%s", err);
	cr_assert(strstr(err, path), "%s", err);
	unsetenv("AMANUENSIS_MODEL");
	rm_rf(dir);
}

/*
 * Model names: -m NAME finds NAME (a folder) or ggml-NAME.bin in the folders
 * of $AMANUENSIS_MODELS before the repository's models/, a name that is
 * nowhere says where it looked, and --list-models shows both kinds: a
 * quantized ggml file (tiny.en as q5_1, by scripts/ggml_quantize.py, where
 * python3 has numpy) loads there, a header alone does not.
 */
Test(cli, model_names_and_list_models)
{
	char dir[] = "/tmp/test_cli_names_XXXXXX", path[PATH_MAX + 64], args[ARGS_MAX];
	char ref[PATH_MAX + 64];
	static char out[16384], err[16384];
	int have_q5_1 = 0;
	FILE *f;

	NEED_MODEL();
	make_tmpdir(dir);
	snprintf(path, sizeof(path), "%s/mine", dir);
	cr_assert_eq(symlink(model, path), 0);
	/* a ggml header that names a q5_1 file: listed, not loadable */
	snprintf(path, sizeof(path), "%s/ggml-broken.en-q5_1.bin", dir);
	f = fopen(path, "wb");
	cr_assert(f);
	{
		int32_t h[12] = { 0x67676d6c, 51864, 1500, 512, 8, 6, 448, 512, 8, 6, 80, 2009 };

		fwrite(h, 4, 12, f);
	}
	fclose(f);
	if (system("python3 -c 'import numpy' >/dev/null 2>&1") == 0) {
		char cmd[3 * PATH_MAX + 256];

		snprintf(cmd, sizeof(cmd), "python3 scripts/ct2_to_ggml.py '%s' '%s/f16.tmp' >/dev/null && "
			 "python3 scripts/ggml_quantize.py '%s/f16.tmp' '%s/ggml-tiny.en-q5_1.bin' q5_1 "
			 "2>/dev/null && rm '%s/f16.tmp'", model, dir, dir, dir, dir);
		have_q5_1 = system(cmd) == 0;
		cr_assert(have_q5_1, "%s failed", cmd);
	}
	setenv("AMANUENSIS_MODELS", dir, 1);
	snprintf(args, sizeof(args), "-m mine -f txt -o '%s' '%s/jfk.wav'", dir, audio);
	cr_assert_eq(run(NULL, args, out, sizeof(out), err, sizeof(err)), 0, "%s", err);
	snprintf(ref, sizeof(ref), "%s/jfk.txt", dir);
	{
		char *txt = slurp(ref);

		cr_assert(txt && strstr(txt, "ask not what your country"), "%s", txt ? txt : "");
		free(txt);
	}
	cr_assert_eq(run(NULL, "-m no-such-model x.wav", out, sizeof(out), err, sizeof(err)), 4);
	cr_assert(strstr(err, "no-such-model") && strstr(err, dir) && strstr(err, "ggml-no-such-model.bin"),
		  "the message names the folders searched: %s", err);
	cr_assert_eq(run(NULL, "--list-models", out, sizeof(out), err, sizeof(err)), 0, "%s", err);
	cr_assert(strstr(out, dir), "%s", out);
	cr_assert(strstr(out, "mine") && strstr(out, "ctranslate2"), "%s", out);
	cr_assert(strstr(out, "broken.en-q5_1") && strstr(out, "q5_1") && strstr(out, "base.en"),
		  "%s", out);
	cr_assert(strstr(out, "q5_1, unreadable"), "a header alone does not load: %s", out);
	if (have_q5_1)
		cr_assert(strstr(out, "tiny.en-q5_1") && strstr(out, "q5_1 (INT8 at load)"),
			  "the quantized file loads: %s", out);
	unsetenv("AMANUENSIS_MODELS");
	rm_rf(dir);
}

Test(cli, jfk_with_default_options)
{
	static char out[16384], err[16384];
	char dir[] = "/tmp/test_cli_jfk_XXXXXX", args[ARGS_MAX];
	int rc;

	NEED_MODEL();
	make_tmpdir(dir);
	/* run from an unrelated directory: the model is found beside the binary */
	snprintf(args, sizeof(args), "'%s/jfk.wav'", audio);
	rc = run(dir, args, out, sizeof(out), err, sizeof(err));
	cr_assert_eq(rc, 0, "exit %d: %s", rc, err);
	cr_assert(strstr(out, "[00:00.000 --> "), "no console segments: %s", out);
	cr_assert(!strchr(err, '\r') && !strstr(err, "\033["), "progress drawn into a pipe: %s", err);
	normalize(out);
	cr_assert(strstr(out, "ask not what your country can do for you"), "%s", out);
	cr_assert_eq(rmdir(dir), 0, "no files expected without --output-format");
}

Test(cli, batch_on_one_window_prints_what_sequential_prints)
{
	static char seq[16384], bat[16384], err[16384];
	char args[ARGS_MAX];
	int rc;

	NEED_MODEL();
	/* one window and no prompt: the batched mode decodes the same tokens */
	snprintf(args, sizeof(args), "-q '%s/jfk.wav'", audio);
	rc = run(NULL, args, seq, sizeof(seq), err, sizeof(err));
	cr_assert_eq(rc, 0, "exit %d: %s", rc, err);
	snprintf(args, sizeof(args), "-q --batch 8 '%s/jfk.wav'", audio);
	rc = run(NULL, args, bat, sizeof(bat), err, sizeof(err));
	cr_assert_eq(rc, 0, "exit %d: %s", rc, err);
	cr_assert(strstr(bat, "[00:00.000 --> "), "no console segments: %s", bat);
	cr_assert_str_eq(bat, seq);
}

Test(cli, missing_file_exits_3_and_the_others_are_transcribed)
{
	static char out[16384], err[16384];
	char dir[] = "/tmp/test_cli_miss_XXXXXX", args[ARGS_MAX], path[PATH_MAX], *txt;
	FILE *f;

	NEED_MODEL();
	make_tmpdir(dir);
	snprintf(path, sizeof(path), "%s/notaudio.wav", dir);
	f = fopen(path, "w");
	cr_assert(f);
	fputs("RIFF but not really a wave file", f);
	fclose(f);
	snprintf(args, sizeof(args), "-q -f txt -o '%s' '%s/missing.wav' '%s/jfk.wav' '%s'",
		 dir, dir, audio, path);
	cr_assert_eq(run(NULL, args, out, sizeof(out), err, sizeof(err)), 3, "%s", err);
	cr_assert(strstr(err, "missing.wav"), "the error names the file: %s", err);
	cr_assert(strstr(err, "notaudio.wav"), "the error names the file: %s", err);
	snprintf(path, sizeof(path), "%s/jfk.txt", dir);
	txt = slurp(path);
	cr_assert(txt, "the good file was not transcribed: %s", err);
	normalize(txt);
	cr_assert(strstr(txt, "ask not what your country"), "%s", txt);
	free(txt);
	snprintf(path, sizeof(path), "%s/missing.txt", dir);
	cr_assert_neq(access(path, F_OK), 0);
	rm_rf(dir);
}

Test(cli, all_formats_agree)
{
	static const char *py =
		"import json,sys,re\n"
		"d=sys.argv[1]\n"
		"txt=[l for l in open(d+'/jfk.txt').read().split('\\n') if l]\n"
		"srt=open(d+'/jfk.srt').read().strip().split('\\n\\n')\n"
		"vtt=open(d+'/jfk.vtt').read()\n"
		"assert vtt.startswith('WEBVTT\\n\\n')\n"
		"vtt=vtt[8:].strip().split('\\n\\n')\n"
		"j=json.load(open(d+'/jfk.json'))\n"
		"js=[s['text'].strip() for s in j['segments']]\n"
		"assert len(txt)==len(srt)==len(vtt)==len(js)>0, (txt,srt,vtt,js)\n"
		"for i,(a,b,c,e) in enumerate(zip(txt,srt,vtt,js)):\n"
		"  b=b.split('\\n'); c=c.split('\\n')\n"
		"  assert b[0]==str(i+1)\n"
		"  assert re.fullmatch(r'\\d\\d:\\d\\d:\\d\\d,\\d{3} --> \\d\\d:\\d\\d:\\d\\d,\\d{3}',b[1]),b[1]\n"
		"  assert re.fullmatch(r'\\d\\d:\\d\\d\\.\\d{3} --> \\d\\d:\\d\\d\\.\\d{3}',c[0]),c[0]\n"
		"  assert a==b[2]==c[1]==e, (a,b,c,e)\n"
		"r=j['run']\n"
		"assert r['precision']=='int8' and r['duration']>10.9 and r['realtime_factor']>0\n"
		"assert j['language']=='en' and all(s['tokens'] for s in j['segments'])\n";
	static char out[16384], err[16384];
	char dir[] = "/tmp/test_cli_all_XXXXXX", args[ARGS_MAX], cmd[PATH_MAX * 2];

	NEED_MODEL();
	if (system("python3 -c 'import json' 2>/dev/null") != 0)
		cr_skip_test("python3 not available");
	make_tmpdir(dir);
	snprintf(args, sizeof(args), "--output-format all --output-dir '%s/out' '%s/jfk.wav'", dir, audio);
	cr_assert_eq(run(NULL, args, out, sizeof(out), err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(out[0], '\0', "nothing on stdout when writing files: %s", out);
	setenv("AMN_PY", py, 1);
	snprintf(cmd, sizeof(cmd), "python3 -c \"$AMN_PY\" '%s/out'", dir);
	cr_assert_eq(system(cmd), 0, "the four formats disagree (see python's message)");
	rm_rf(dir);
}

Test(cli, word_timestamps_json_srt_vtt)
{
	static const char *py =
		"import json,sys\n"
		"d=sys.argv[1]\n"
		"j=json.load(open(d+'/jfk.json'))\n"
		"w=[x for s in j['segments'] for x in s['words']]\n"
		"assert len(w)>=20, w\n"
		"assert ''.join(x['word'] for x in w)==''.join(s['text'] for s in j['segments'])\n"
		"assert all(a['end']<=b['start']+1e-9 for a,b in zip(w,w[1:]))\n"
		"srt=open(d+'/jfk.srt').read().strip().split('\\n\\n')\n"
		"vtt=open(d+'/jfk.vtt').read()[8:].strip().split('\\n\\n')\n"
		"# highlighted: one cue per word (plus gaps), each with one <u>..</u>\n"
		"hl=[c for c in srt if '<u>' in c]\n"
		"assert len(hl)==len(w), (len(hl),len(w))\n"
		"assert all(c.count('<u>')==1 for c in hl)\n"
		"# lines of at most 20 characters, at most 2 per cue\n"
		"for c in vtt:\n"
		"  lines=c.split('\\n')[1:]\n"
		"  assert 1<=len(lines)<=2, c\n"
		"  assert all(len(l.replace('<u>','').replace('</u>',''))<=20 or ' ' not in l for l in lines), c\n";
	static char out[16384], err[16384];
	char dir[] = "/tmp/test_cli_words_XXXXXX", args[ARGS_MAX], cmd[PATH_MAX * 2];

	NEED_MODEL();
	if (system("python3 -c 'import json' 2>/dev/null") != 0)
		cr_skip_test("python3 not available");
	make_tmpdir(dir);
	snprintf(args, sizeof(args), "--word-timestamps --highlight-words -f json -f srt "
		 "--output-dir '%s/out' '%s/jfk.wav'", dir, audio);
	cr_assert_eq(run(NULL, args, out, sizeof(out), err, sizeof(err)), 0, "%s", err);
	snprintf(args, sizeof(args), "--word-timestamps --max-line-width 20 --max-line-count 2 "
		 "-f vtt --output-dir '%s/out' '%s/jfk.wav'", dir, audio);
	cr_assert_eq(run(NULL, args, out, sizeof(out), err, sizeof(err)), 0, "%s", err);
	setenv("AMN_PY", py, 1);
	snprintf(cmd, sizeof(cmd), "python3 -c \"$AMN_PY\" '%s/out'", dir);
	cr_assert_eq(system(cmd), 0, "word outputs wrong (see python's message)");
	rm_rf(dir);
}

/* write_wav - @seconds of 16 kHz mono PCM16: zeros, or white noise of @amp. */
static void write_wav(const char *path, double seconds, double amp)
{
	SF_INFO info = { .samplerate = 16000, .channels = 1,
			 .format = SF_FORMAT_WAV | SF_FORMAT_PCM_16 };
	size_t n = (size_t)(seconds * 16000), i;
	float *x = calloc(n, sizeof(*x));
	uint64_t s = 0x9e3779b97f4a7c15ull;
	SNDFILE *f;

	cr_assert(x);
	for (i = 0; amp > 0 && i < n; i++) {
		s ^= s << 13; s ^= s >> 7; s ^= s << 17;
		x[i] = (float)(amp * ((double)(s >> 11) / (double)(1ull << 53) * 2 - 1));
	}
	f = sf_open(path, SFM_WRITE, &info);
	cr_assert(f, "%s: %s", path, sf_strerror(NULL));
	cr_assert_eq(sf_write_float(f, x, (sf_count_t)n), (sf_count_t)n);
	sf_close(f);
	free(x);
}

static int blank(const char *s)
{
	for (; *s; s++)
		if (!isspace((unsigned char)*s))
			return 0;
	return 1;
}

/*
 * openai-whisper's skip rule alone (no-speech probability above 0.6 and mean
 * log-probability below -1) keeps " You" on 12 s of digital silence with
 * tiny.en (faster-whisper: avg_logprob -0.82, no_speech_prob 0.945); the
 * library must recognise silence beyond that rule for this test to pass.
 */
Test(cli, silence_and_noise_give_no_text)
{
	static char out[16384], err[16384];
	char dir[] = "/tmp/test_cli_quiet_XXXXXX", args[ARGS_MAX], path[PATH_MAX * 2], *txt;
	const char *names[] = { "silence", "noise" };
	int i;

	NEED_MODEL();
	make_tmpdir(dir);
	snprintf(path, sizeof(path), "%s/silence.wav", dir);
	write_wav(path, 12.0, 0);
	snprintf(path, sizeof(path), "%s/noise.wav", dir);
	write_wav(path, 12.0, 0.05);
	snprintf(args, sizeof(args), "-q -f txt -o '%s' '%s/silence.wav' '%s/noise.wav'", dir, dir, dir);
	cr_assert_eq(run(NULL, args, out, sizeof(out), err, sizeof(err)), 0, "%s", err);
	for (i = 0; i < 2; i++) {
		snprintf(path, sizeof(path), "%s/%s.txt", dir, names[i]);
		txt = slurp(path);
		cr_assert(txt, "%s not written", path);
		cr_assert(blank(txt), "%s.wav gave text: '%s'", names[i], txt);
		free(txt);
	}
	rm_rf(dir);
}

Test(cli, three_files_in_one_run)
{
	static const struct { const char *wav, *base, *words; } f[] = {
		{ "spk1_snt1.wav", "spk1_snt1", "small dog" },
		{ "spk1_snt2.wav", "spk1_snt2", "figures" },
		{ "spk2_snt1.wav", "spk2_snt1", "war is enough" },
	};
	static char out[16384], one[16384], err[16384];
	char dir[] = "/tmp/test_cli_three_XXXXXX", args[ARGS_MAX], path[PATH_MAX], *txt;
	const char *h0, *h1, *h2;
	int i;

	NEED_MODEL();
	make_tmpdir(dir);
	snprintf(args, sizeof(args), "--jobs 3 -f txt -o '%s' '%s/%s' '%s/%s' '%s/%s'", dir,
		 audio, f[0].wav, audio, f[1].wav, audio, f[2].wav);
	cr_assert_eq(run(NULL, args, out, sizeof(out), err, sizeof(err)), 0, "%s", err);
	for (i = 0; i < 3; i++) {
		snprintf(path, sizeof(path), "%s/%s.txt", dir, f[i].base);
		txt = slurp(path);
		cr_assert(txt, "%s not written: %s", path, err);
		normalize(txt);
		cr_assert(strstr(txt, f[i].words), "%s: '%s' lacks '%s'", path, txt, f[i].words);
		free(txt);
	}
	/* console mode: one block per file, in the order given, whatever finishes first */
	snprintf(args, sizeof(args), "-j 3 '%s/%s' '%s/%s' '%s/%s'",
		 audio, f[2].wav, audio, f[0].wav, audio, f[1].wav);
	cr_assert_eq(run(NULL, args, out, sizeof(out), err, sizeof(err)), 0, "%s", err);
	h0 = strstr(out, f[2].wav);
	h1 = strstr(out, f[0].wav);
	h2 = strstr(out, f[1].wav);
	cr_assert(h0 && h1 && h2 && h0 < h1 && h1 < h2, "blocks out of order: %s", out);
	/* and the same text as one file at a time: the shared context keeps files apart */
	snprintf(args, sizeof(args), "-j 1 '%s/%s' '%s/%s' '%s/%s'",
		 audio, f[2].wav, audio, f[0].wav, audio, f[1].wav);
	cr_assert_eq(run(NULL, args, one, sizeof(one), err, sizeof(err)), 0, "%s", err);
	cr_assert_str_eq(out, one, "--jobs 3 and --jobs 1 differ");
	rm_rf(dir);
}

Test(cli, language_checks_exit_2)
{
	static char out[4096], err[4096];
	char args[ARGS_MAX], base[PATH_MAX + 32];

	NEED_MODEL();
	/* an English-only model cannot translate */
	snprintf(args, sizeof(args), "--task translate '%s/jfk.wav'", audio);
	cr_assert_eq(run(NULL, args, out, sizeof(out), err, sizeof(err)), 2, "%s", err);
	cr_assert(strstr(err, "multilingual"), "%s", err);
	snprintf(base, sizeof(base), "%s/models/base/model.bin", root);
	if (access(base, R_OK))
		cr_skip_test("models/base missing: unknown-language check skipped");
	snprintf(args, sizeof(args), "--model '%s/models/base' -l xx '%s/jfk.wav'", root, audio);
	cr_assert_eq(run(NULL, args, out, sizeof(out), err, sizeof(err)), 2, "%s", err);
	cr_assert(strstr(err, "'xx'"), "%s", err);
}

/*
 * On a terminal (script(1) gives the command a pty), a file longer than one
 * 30 s window gets a progress bar on stderr; the transcript is unchanged.
 */
Test(cli, progress_bar_only_on_a_terminal)
{
	static char out[65536], err[4096];
	char dir[] = "/tmp/test_cli_tty_XXXXXX", path[PATH_MAX * 2], args[ARGS_MAX];
	SF_INFO in_info = { 0 }, info;
	SNDFILE *in, *o;
	sf_count_t n;
	float *x;
	int i;

	NEED_MODEL();
	if (system("command -v script >/dev/null 2>&1") != 0)
		cr_skip_test("script(1) not available");
	make_tmpdir(dir);
	/* jfk.wav three times: 33 s, two windows */
	snprintf(path, sizeof(path), "%s/jfk.wav", audio);
	in = sf_open(path, SFM_READ, &in_info);
	cr_assert(in, "%s", path);
	x = calloc((size_t)(in_info.frames * in_info.channels), sizeof(*x));
	cr_assert(x);
	n = sf_readf_float(in, x, in_info.frames);
	sf_close(in);
	info = in_info;
	info.format = SF_FORMAT_WAV | SF_FORMAT_PCM_16;
	snprintf(path, sizeof(path), "%s/long.wav", dir);
	o = sf_open(path, SFM_WRITE, &info);
	cr_assert(o);
	for (i = 0; i < 3; i++)
		cr_assert_eq(sf_writef_float(o, x, n), n);
	sf_close(o);
	free(x);

	snprintf(args, sizeof(args), "script -qec \"'%s' --beam-size 1 -f txt -o '%s' '%s'\" /dev/null",
		 exe, dir, path);
	{
		FILE *p = popen(args, "r");
		size_t got;

		cr_assert(p);
		got = fread(out, 1, sizeof(out) - 1, p);
		out[got] = '\0';
		cr_assert_eq(pclose(p), 0, "%s", out);
	}
	cr_assert(strstr(out, "\r\033[K[#"), "no progress bar on a terminal: %s", out);
	cr_assert(strstr(out, "s audio"), "%s", out);

	/* the same file with stderr into a file: no bar */
	snprintf(args, sizeof(args), "--beam-size 1 -f txt -o '%s' '%s'", dir, path);
	cr_assert_eq(run(NULL, args, out, sizeof(out), err, sizeof(err)), 0, "%s", err);
	cr_assert(!strchr(err, '\r') && !strstr(err, "\033["), "progress drawn into a file: %s", err);
	rm_rf(dir);
}

/*
 * --backend npu (or xrt) where there is no NPU: one line saying why, exit 2;
 * auto goes on with the CPU without a word. The probe is pointed at an
 * empty fake sysfs class (NPU_PROBE_SYSFS), so a machine with an NPU gives
 * the same answer.
 */
Test(cli, npu_backend_without_an_npu_exits_2_in_one_line)
{
	static const char *names[] = { "npu", "xrt" };
	static char out[16384], err[16384];
	char dir[] = "/tmp/test_cli_accel_XXXXXX", args[ARGS_MAX];
	int rc;

	NEED_MODEL();
	make_tmpdir(dir);
	setenv("NPU_PROBE_SYSFS", dir, 1);
	unsetenv("NPU_XRT_DEVICE");
	for (size_t i = 0; i < 2; i++) {
		snprintf(args, sizeof(args), "--backend %s '%s/jfk.wav'", names[i], audio);
		rc = run(NULL, args, out, sizeof(out), err, sizeof(err));
		cr_expect_eq(rc, 2, "--backend %s: exit %d: %s", names[i], rc, err);
		cr_expect(strstr(err, "backend npu") && strstr(err, "no accelerator device"),
			  "--backend %s: %s", names[i], err);
		cr_expect(strchr(err, '\n') && !strchr(err, '\n')[1], "not one line: %s", err);
		cr_expect_eq(out[0], '\0', "%s", out);
	}
	snprintf(args, sizeof(args), "--backend auto '%s/jfk.wav'", audio);
	rc = run(NULL, args, out, sizeof(out), err, sizeof(err));
	cr_expect_eq(rc, 0, "exit %d: %s", rc, err);
	cr_expect(!strstr(err, "npu") && !strstr(err, "accelerator"), "auto spoke: %s", err);
	cr_expect(strstr(out, "[00:00.000 --> "), "%s", out);
	unsetenv("NPU_PROBE_SYSFS");
	cr_assert_eq(rmdir(dir), 0);
}
