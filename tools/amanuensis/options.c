/* SPDX-License-Identifier: MIT */
/*
 * tools/amanuensis/options.c - amanuensis's command line: getopt_long table,
 * value checks with messages that name the option, and the --help text.
 */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/amn_threads.h"
#include "tools/amanuensis/cli.h"

void cli_usage(FILE *f)
{
	fprintf(f,
"usage: amanuensis [options] FILE...\n"
"Transcribe (or translate) audio files with Whisper; every matmul runs as INT8\n"
"tile jobs on the NPU engine (or its CPU backend).\n"
"\n"
"Model and engine:\n"
"  -m, --model PATH|NAME     model directory or file, or a name (tiny.en, base) looked\n"
"                            up in $AMANUENSIS_MODELS, models/ beside build/, ./models\n"
"                            and <prefix>/share/amanuensis/models (default:\n"
"                            $AMANUENSIS_MODEL, else tiny.en). Any format: CTranslate2,\n"
"                            whisper.cpp ggml (alone: its own vocabulary, prompts by\n"
"                            greedy match; with tokenizer.json beside it: exact BPE),\n"
"                            Hugging Face safetensors\n"
"      --list-models         list the models in those folders and exit\n"
"  -b, --backend NAME        auto, cpu, emu or npu (default: $NPU_BACKEND, else auto)\n"
"  -t, --threads N           CPU threads (default: $AMN_THREADS, else the CPUs it may use)\n"
"      --precision P         int8 (default) or fp32\n"
"  -j, --jobs N              files transcribed in parallel (default: min(files, %d))\n"
"\n"
"Decoding (defaults as openai-whisper):\n"
"  -l, --language CODE       en, de, ...; auto detects (default: auto; en for .en models)\n"
"      --task TASK           transcribe (default) or translate (to English)\n"
"      --beam-size N         beams; 1 is greedy (default 5)\n"
"      --best-of N           samples when the temperature is above 0 (default 5)\n"
"      --patience F          beam search patience (default 1.0)\n"
"      --length-penalty F    length penalty alpha; below 0: none (default)\n"
"      --temperature T       first sampling temperature (default 0)\n"
"      --temperature-increment-on-fallback INC\n"
"                            retry at T+INC, T+2*INC, ... up to 1.0 when a window fails\n"
"                            the thresholds below; 0: no fallback (default 0.2)\n"
"      --compression-ratio-threshold F  fall back above this gzip ratio (default 2.4)\n"
"      --logprob-threshold F fall back below this mean log-probability (default -1.0)\n"
"      --no-speech-threshold F  silence when the no-speech probability is above F\n"
"                            and the log-probability below the threshold (default 0.6)\n"
"      --condition-on-previous-text BOOL  prompt each window with the text before\n"
"                            it: true (default) or false\n"
"      --prompt TEXT         initial prompt (spellings, names, style);\n"
"                            also --initial-prompt\n"
"      --no-timestamps       decode without timestamp tokens (one segment per window)\n"
"      --seed N              random seed for sampling (default 0)\n"
"      --word-timestamps     time every word (cross-attention alignment, as\n"
"                            openai-whisper's --word_timestamps True): JSON segments\n"
"                            get \"words\", srt/vtt can highlight and break lines\n"
"      --prepend-punctuations S  merged into the next word (default \"'\u201c\u00bf([{-)\n"
"      --append-punctuations S   merged into the previous word\n"
"                            (default \"'.\u3002,\uff0c!\uff01?\uff1f:\uff1a\u201d)]}\u3001)\n"
"      --hallucination-silence-threshold F  with --word-timestamps: skip silences\n"
"                            longer than F seconds around a segment that looks\n"
"                            hallucinated (default: off)\n"
"      --batch N             batched long-form mode: 30 s windows decoded apart (no\n"
"                            previous text), N of them at once, stacked; 1..64\n"
"                            (default 1: sequential, each window prompted with the\n"
"                            text before it)\n"
"\n"
"Voice activity detection (Silero VAD v6; defaults as faster-whisper's VadOptions):\n"
"      --vad                 transcribe only the speech regions (faster-whisper's\n"
"                            vad_filter=True); times stay the file's\n"
"      --vad-model PATH      the VAD weights (default: $AMANUENSIS_VAD, else\n"
"                            silero_vad_v6.amnv in the model folders)\n"
"      --vad-threshold F     a chunk at or above F is speech (default 0.5)\n"
"      --vad-neg-threshold F below F is silence (default: threshold - 0.15, at least 0.01)\n"
"      --vad-min-speech-ms N drop regions of N ms or less (default 0)\n"
"      --vad-max-speech-s F  split regions longer than F seconds (default: no limit)\n"
"      --vad-min-silence-ms N  silence that ends a region (default 2000)\n"
"      --vad-speech-pad-ms N padding each side of a region (default 400)\n"
"\n"
"Output:\n"
"  -f, --output-format FMT   txt, srt, vtt, json or all: write FILEBASE.FMT into the\n"
"                            output directory (default: print segments to stdout)\n"
"  -o, --output-dir DIR      where files go (default .)\n"
"      --highlight-words     srt/vtt with --word-timestamps: a cue per word, underlined\n"
"      --max-line-width N    srt/vtt with --word-timestamps: lines of at most N characters\n"
"      --max-line-count N    with --max-line-width: at most N lines per cue\n"
"  -q, --quiet               no progress bar and no per-file summary on stderr\n"
"  -V, --version             print the version and exit\n"
"  -h, --help                this text\n"
"\n"
"Environment: AMANUENSIS_MODEL, AMANUENSIS_MODELS, AMANUENSIS_VAD, NPU_BACKEND, AMN_THREADS, WHISPER_NPU_MATMUL,\n"
"WHISPER_NPU_FALLBACK (see amanuensis(1)).\n"
"Exit status: 0 ok, 1 engine/transcription/output failure, 2 bad usage (or a\n"
"backend this machine does not have, e.g. --backend npu without an NPU),\n"
"3 an input file could not be read or decoded, 4 model not found or not loadable.\n",
		CLI_DEFAULT_JOBS);
}

enum {
	OPT_PRECISION = 256, OPT_TASK, OPT_BEAM, OPT_BEST_OF, OPT_PATIENCE,
	OPT_LENGTH_PENALTY, OPT_TEMPERATURE, OPT_TEMP_INC, OPT_CR_THRESHOLD,
	OPT_LOGPROB_THRESHOLD, OPT_NO_SPEECH_THRESHOLD, OPT_CONDITION, OPT_PROMPT,
	OPT_NO_TIMESTAMPS, OPT_SEED, OPT_LIST_MODELS, OPT_WORD_TS, OPT_PREPEND, OPT_APPEND,
	OPT_HALLUCINATION, OPT_HIGHLIGHT, OPT_LINE_WIDTH, OPT_LINE_COUNT,
	OPT_VAD, OPT_VAD_MODEL, OPT_VAD_THRESHOLD, OPT_VAD_NEG, OPT_VAD_MIN_SPEECH,
	OPT_VAD_MAX_SPEECH, OPT_VAD_MIN_SILENCE, OPT_VAD_PAD,
	OPT_BATCH,
};

static const struct option long_opts[] = {
	{ "model", required_argument, NULL, 'm' },
	{ "backend", required_argument, NULL, 'b' },
	{ "threads", required_argument, NULL, 't' },
	{ "precision", required_argument, NULL, OPT_PRECISION },
	{ "jobs", required_argument, NULL, 'j' },
	{ "language", required_argument, NULL, 'l' },
	{ "task", required_argument, NULL, OPT_TASK },
	{ "beam-size", required_argument, NULL, OPT_BEAM },
	{ "best-of", required_argument, NULL, OPT_BEST_OF },
	{ "patience", required_argument, NULL, OPT_PATIENCE },
	{ "length-penalty", required_argument, NULL, OPT_LENGTH_PENALTY },
	{ "temperature", required_argument, NULL, OPT_TEMPERATURE },
	{ "temperature-increment-on-fallback", required_argument, NULL, OPT_TEMP_INC },
	{ "compression-ratio-threshold", required_argument, NULL, OPT_CR_THRESHOLD },
	{ "logprob-threshold", required_argument, NULL, OPT_LOGPROB_THRESHOLD },
	{ "no-speech-threshold", required_argument, NULL, OPT_NO_SPEECH_THRESHOLD },
	{ "condition-on-previous-text", required_argument, NULL, OPT_CONDITION },
	{ "prompt", required_argument, NULL, OPT_PROMPT },
	{ "initial-prompt", required_argument, NULL, OPT_PROMPT },
	{ "no-timestamps", no_argument, NULL, OPT_NO_TIMESTAMPS },
	{ "seed", required_argument, NULL, OPT_SEED },
	{ "word-timestamps", no_argument, NULL, OPT_WORD_TS },
	{ "prepend-punctuations", required_argument, NULL, OPT_PREPEND },
	{ "append-punctuations", required_argument, NULL, OPT_APPEND },
	{ "hallucination-silence-threshold", required_argument, NULL, OPT_HALLUCINATION },
	{ "batch", required_argument, NULL, OPT_BATCH },
	{ "highlight-words", no_argument, NULL, OPT_HIGHLIGHT },
	{ "max-line-width", required_argument, NULL, OPT_LINE_WIDTH },
	{ "max-line-count", required_argument, NULL, OPT_LINE_COUNT },
	{ "vad", no_argument, NULL, OPT_VAD },
	{ "vad-model", required_argument, NULL, OPT_VAD_MODEL },
	{ "vad-threshold", required_argument, NULL, OPT_VAD_THRESHOLD },
	{ "vad-neg-threshold", required_argument, NULL, OPT_VAD_NEG },
	{ "vad-min-speech-ms", required_argument, NULL, OPT_VAD_MIN_SPEECH },
	{ "vad-max-speech-s", required_argument, NULL, OPT_VAD_MAX_SPEECH },
	{ "vad-min-silence-ms", required_argument, NULL, OPT_VAD_MIN_SILENCE },
	{ "vad-speech-pad-ms", required_argument, NULL, OPT_VAD_PAD },
	{ "output-format", required_argument, NULL, 'f' },
	{ "output-dir", required_argument, NULL, 'o' },
	{ "quiet", no_argument, NULL, 'q' },
	{ "list-models", no_argument, NULL, OPT_LIST_MODELS },
	{ "version", no_argument, NULL, 'V' },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

static int bad(const char *opt, const char *val, const char *want)
{
	fprintf(stderr, "amanuensis: %s: '%s' is not %s\n", opt, val, want);
	return -EINVAL;
}

static int parse_int(const char *opt, const char *s, long lo, long hi, int *out)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < lo || v > hi) {
		fprintf(stderr, "amanuensis: %s: '%s' is not an integer in [%ld, %ld]\n",
			opt, s, lo, hi);
		return -EINVAL;
	}
	*out = (int)v;
	return 0;
}

static int parse_float(const char *opt, const char *s, float *out)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (errno || end == s || *end || !isfinite(v))
		return bad(opt, s, "a number");
	*out = (float)v;
	return 0;
}

static int parse_bool(const char *opt, const char *s, int *out)
{
	if (!strcasecmp(s, "true") || !strcmp(s, "1") || !strcasecmp(s, "yes"))
		*out = 1;
	else if (!strcasecmp(s, "false") || !strcmp(s, "0") || !strcasecmp(s, "no"))
		*out = 0;
	else
		return bad(opt, s, "true or false");
	return 0;
}

/* A finite number, kept as a double (the VAD options are Python floats there). */
static int parse_double(const char *opt, const char *s, double *out)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (errno || end == s || *end || !isfinite(v))
		return bad(opt, s, "a number");
	*out = v;
	return 0;
}

/* A probability threshold: a number in [0, 1]. */
static int parse_unit(const char *opt, const char *s, double *out)
{
	int rc = parse_double(opt, s, out);

	if (!rc && !(*out >= 0.0 && *out <= 1.0))
		rc = bad(opt, s, "a number in [0, 1]");
	return rc;
}

/* The engine knows the NPU backend as "xrt"; users may say either. */
static int parse_backend(const char *s, const char **out)
{
	if (!strcmp(s, "npu") || !strcmp(s, "xrt"))
		*out = "xrt";
	else if (!strcmp(s, "auto") || !strcmp(s, "cpu") || !strcmp(s, "emu"))
		*out = s;
	else
		return bad("--backend", s, "auto, cpu, emu or npu");
	return 0;
}

/*
 * The fallback ladder as openai-whisper builds it:
 * numpy.arange(T, 1.0 + 1e-6, INC), or T alone when INC is 0.
 */
static int fill_temperatures(struct cli_opts *o, float t0, float inc)
{
	int n = 0;

	if (t0 < 0 || t0 > 1) {
		fprintf(stderr, "amanuensis: --temperature: %g is not in [0, 1]\n", t0);
		return -EINVAL;
	}
	if (inc < 0) {
		fprintf(stderr, "amanuensis: --temperature-increment-on-fallback: %g is negative\n", inc);
		return -EINVAL;
	}
	if (inc == 0) {
		o->temperatures[n++] = t0;
	} else {
		for (; n < CLI_MAX_TEMPERATURES; n++) {
			double t = t0 + n * (double)inc;

			if (t > 1.0 + 1e-6)
				break;
			o->temperatures[n] = (float)t;
		}
	}
	o->t.temperatures = o->temperatures;
	o->t.n_temperatures = n;
	return 0;
}

int cli_parse(int argc, char **argv, struct cli_opts *o)
{
	float t0 = 0.0f, inc = 0.2f;
	int c, rc = 0, vad_tuned = 0;

	memset(o, 0, sizeof(*o));
	wsp_transcribe_opts_default(&o->t);
	o->output_dir = ".";
	o->precision = WSP_INT8;
	optind = 1;
	opterr = 0;

	while (!rc && (c = getopt_long(argc, argv, ":m:b:t:j:l:f:o:qVh", long_opts, NULL)) != -1) {
		switch (c) {
		case 'm': o->model = optarg; break;
		case 'b': rc = parse_backend(optarg, &o->backend); break;
		case 't': rc = parse_int("--threads", optarg, 1, AMN_THREADS_MAX, &o->threads); break;
		case 'j': rc = parse_int("--jobs", optarg, 1, CLI_MAX_JOBS, &o->jobs); break;
		case OPT_PRECISION:
			if (!strcmp(optarg, "int8"))
				o->precision = WSP_INT8;
			else if (!strcmp(optarg, "fp32"))
				o->precision = WSP_FP32;
			else
				rc = bad("--precision", optarg, "int8 or fp32");
			break;
		case 'l':
			o->t.language = (!strcmp(optarg, "auto") || !*optarg) ? NULL : optarg;
			break;
		case OPT_TASK:
			if (!strcmp(optarg, "transcribe"))
				o->t.task = WSP_TASK_TRANSCRIBE;
			else if (!strcmp(optarg, "translate"))
				o->t.task = WSP_TASK_TRANSLATE;
			else
				rc = bad("--task", optarg, "transcribe or translate");
			break;
		case OPT_BEAM: rc = parse_int("--beam-size", optarg, 1, 64, &o->t.beam_size); break;
		case OPT_BEST_OF: rc = parse_int("--best-of", optarg, 1, 64, &o->t.best_of); break;
		case OPT_BATCH: rc = parse_int("--batch", optarg, 1, 64, &o->t.batch); break;
		case OPT_PATIENCE:
			rc = parse_float("--patience", optarg, &o->t.patience);
			if (!rc && !(o->t.patience > 0))
				rc = bad("--patience", optarg, "above 0");
			break;
		case OPT_LENGTH_PENALTY: rc = parse_float("--length-penalty", optarg, &o->t.length_penalty); break;
		case OPT_TEMPERATURE: rc = parse_float("--temperature", optarg, &t0); break;
		case OPT_TEMP_INC: rc = parse_float("--temperature-increment-on-fallback", optarg, &inc); break;
		case OPT_CR_THRESHOLD:
			rc = parse_float("--compression-ratio-threshold", optarg,
					 &o->t.compression_ratio_threshold);
			break;
		case OPT_LOGPROB_THRESHOLD:
			rc = parse_float("--logprob-threshold", optarg, &o->t.logprob_threshold);
			break;
		case OPT_NO_SPEECH_THRESHOLD:
			rc = parse_float("--no-speech-threshold", optarg, &o->t.no_speech_threshold);
			break;
		case OPT_CONDITION:
			rc = parse_bool("--condition-on-previous-text", optarg,
					&o->t.condition_on_previous_text);
			break;
		case OPT_PROMPT: o->t.initial_prompt = optarg; break;
		case OPT_NO_TIMESTAMPS: o->t.without_timestamps = 1; break;
		case OPT_SEED: {
			char *end;

			errno = 0;
			o->t.seed = strtoull(optarg, &end, 0);
			if (errno || end == optarg || *end || *optarg == '-')
				rc = bad("--seed", optarg, "a non-negative integer");
			break;
		}
		case OPT_WORD_TS: o->t.word_timestamps = 1; break;
		case OPT_PREPEND: o->t.prepend_punctuations = optarg; break;
		case OPT_APPEND: o->t.append_punctuations = optarg; break;
		case OPT_HALLUCINATION:
			rc = parse_float("--hallucination-silence-threshold", optarg,
					 &o->t.hallucination_silence_threshold);
			if (!rc && !(o->t.hallucination_silence_threshold > 0))
				rc = bad("--hallucination-silence-threshold", optarg, "above 0");
			break;
		case OPT_HIGHLIGHT: o->sub.highlight_words = 1; break;
		case OPT_LINE_WIDTH:
			rc = parse_int("--max-line-width", optarg, 1, 100000, &o->sub.max_line_width);
			break;
		case OPT_LINE_COUNT:
			rc = parse_int("--max-line-count", optarg, 1, 100000, &o->sub.max_line_count);
			break;
		case OPT_VAD: o->vad = 1; break;
		case OPT_VAD_MODEL: o->vad_model = optarg; vad_tuned = 1; break;
		case OPT_VAD_THRESHOLD:
			rc = parse_unit("--vad-threshold", optarg, &o->t.vad_opts.threshold);
			vad_tuned = 1;
			break;
		case OPT_VAD_NEG:
			rc = parse_unit("--vad-neg-threshold", optarg, &o->t.vad_opts.neg_threshold);
			vad_tuned = 1;
			break;
		case OPT_VAD_MIN_SPEECH:
			rc = parse_int("--vad-min-speech-ms", optarg, 0, 86400000,
				       &o->t.vad_opts.min_speech_duration_ms);
			vad_tuned = 1;
			break;
		case OPT_VAD_MAX_SPEECH:
			rc = parse_double("--vad-max-speech-s", optarg,
					  &o->t.vad_opts.max_speech_duration_s);
			if (!rc && !(o->t.vad_opts.max_speech_duration_s > 0))
				rc = bad("--vad-max-speech-s", optarg, "above 0");
			vad_tuned = 1;
			break;
		case OPT_VAD_MIN_SILENCE:
			rc = parse_int("--vad-min-silence-ms", optarg, 0, 86400000,
				       &o->t.vad_opts.min_silence_duration_ms);
			vad_tuned = 1;
			break;
		case OPT_VAD_PAD:
			rc = parse_int("--vad-speech-pad-ms", optarg, 0, 86400000,
				       &o->t.vad_opts.speech_pad_ms);
			vad_tuned = 1;
			break;
		case 'f': {
			unsigned m;

			if (wsp_output_format_parse(optarg, &m))
				rc = bad("--output-format", optarg, "txt, srt, vtt, json or all");
			else
				o->formats |= m;
			break;
		}
		case 'o': o->output_dir = optarg; break;
		case 'q': o->quiet = 1; break;
		case 'V':
			printf("amanuensis %s\n", AMN_VERSION);
			return 1;
		case OPT_LIST_MODELS:
			return cli_list_models(stdout) ? -EINVAL : 1;
		case 'h':
			cli_usage(stdout);
			return 1;
		case ':':
			fprintf(stderr, "amanuensis: %s needs a value (see --help)\n", argv[optind - 1]);
			return -EINVAL;
		default:
			fprintf(stderr, "amanuensis: unknown option '%s' (see --help)\n", argv[optind - 1]);
			return -EINVAL;
		}
	}
	if (rc)
		return rc;
	if (!o->t.word_timestamps && (o->sub.highlight_words || o->sub.max_line_width ||
				      o->sub.max_line_count ||
				      o->t.hallucination_silence_threshold > 0)) {
		fprintf(stderr, "amanuensis: --highlight-words, --max-line-width, --max-line-count and"
			" --hallucination-silence-threshold need --word-timestamps\n");
		return -EINVAL;
	}
	if (vad_tuned && !o->vad) {
		fprintf(stderr, "amanuensis: --vad-model and the --vad-* options need --vad\n");
		return -EINVAL;
	}
	if (o->sub.max_line_count && !o->sub.max_line_width) {
		fprintf(stderr, "amanuensis: --max-line-count needs --max-line-width\n");
		return -EINVAL;
	}
	if (fill_temperatures(o, t0, inc))
		return -EINVAL;
	if (optind >= argc) {
		fprintf(stderr, "amanuensis: no input files (see --help)\n");
		return -EINVAL;
	}
	o->files = argv + optind;
	o->n_files = argc - optind;
	if (!o->jobs)
		o->jobs = o->n_files < CLI_DEFAULT_JOBS ? o->n_files : CLI_DEFAULT_JOBS;
	if (o->jobs > o->n_files)
		o->jobs = o->n_files;
	return 0;
}
