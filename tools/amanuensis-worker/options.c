// SPDX-License-Identifier: MIT
/*
 * tools/amanuensis-worker/options.c - amanuensis-worker's command line:
 * getopt_long table, value checks that name the option, --help text.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tools/amanuensis-worker/worker.h"

void wrk_usage(FILE *f)
{
	fprintf(f,
"usage: amanuensis-worker --redis redis://HOST[:PORT][/DB] [options]\n"
"Take transcription jobs from a Redis stream (as one consumer of a group),\n"
"transcribe them on this machine's engine and write their results back.\n"
"\n"
"Queue:\n"
"      --redis URL           redis://[[USER]:PASSWORD@]HOST[:PORT][/DB] (required)\n"
"      --stream NAME         the jobs stream (default %s)\n"
"      --group NAME          the consumer group (default %s)\n"
"      --name CONSUMER       this worker's consumer name (default HOSTNAME-PID)\n"
"      --visibility-ms N     a job idle this long in another consumer's hands is\n"
"                            reclaimed (default 60000)\n"
"      --max-attempts N      deliveries before a job goes to STREAM:dead (default 3)\n"
"      --max-audio-bytes N   larger jobs go to STREAM:dead (default %u)\n"
"      --dead-maxlen N       trim STREAM:dead to about N entries; 0: never (default 10000)\n"
"\n"
"Engine:\n"
"  -m, --model PATH          model directory or file (default: $AMANUENSIS_MODEL,\n"
"                            else models/tiny.en beside build/, else ./models/tiny.en)\n"
"  -b, --backend NAME        auto, cpu, emu or npu (default: $NPU_BACKEND, else auto)\n"
"  -t, --threads N           CPU threads (default: $AMN_THREADS, else all CPUs)\n"
"  -j, --jobs N              transcriptions at once, one job thread each (default 2)\n"
"      --vad-model PATH      the VAD weights for jobs with vad_filter (default:\n"
"                            $AMANUENSIS_VAD, else silero_vad_v6.amnv in the model\n"
"                            folders; without any, such jobs go to STREAM:dead)\n"
"\n"
"  -V, --version             print the version and exit\n"
"  -h, --help                this text\n"
"\n"
"SIGTERM or SIGINT: take no more jobs, finish those in progress, exit 0; a\n"
"second signal stops them at their next window and leaves them to others.\n"
"Exit status: 0 stopped by a signal, 1 Redis or engine failure, 2 bad usage,\n"
"4 model not found or not loadable.\n",
		AMQ_DEFAULT_STREAM, AMQ_DEFAULT_GROUP, AMQ_DEFAULT_MAX_AUDIO);
}

enum {
	OPT_REDIS = 256, OPT_STREAM, OPT_GROUP, OPT_NAME, OPT_VISIBILITY, OPT_ATTEMPTS,
	OPT_MAX_AUDIO, OPT_DEAD_MAXLEN, OPT_VAD_MODEL,
};

static const struct option long_opts[] = {
	{ "redis", required_argument, NULL, OPT_REDIS },
	{ "stream", required_argument, NULL, OPT_STREAM },
	{ "group", required_argument, NULL, OPT_GROUP },
	{ "name", required_argument, NULL, OPT_NAME },
	{ "visibility-ms", required_argument, NULL, OPT_VISIBILITY },
	{ "max-attempts", required_argument, NULL, OPT_ATTEMPTS },
	{ "max-audio-bytes", required_argument, NULL, OPT_MAX_AUDIO },
	{ "dead-maxlen", required_argument, NULL, OPT_DEAD_MAXLEN },
	{ "vad-model", required_argument, NULL, OPT_VAD_MODEL },
	{ "model", required_argument, NULL, 'm' },
	{ "backend", required_argument, NULL, 'b' },
	{ "threads", required_argument, NULL, 't' },
	{ "jobs", required_argument, NULL, 'j' },
	{ "version", no_argument, NULL, 'V' },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

static int parse_long(const char *opt, const char *s, long lo, long hi, long *out)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < lo || v > hi) {
		fprintf(stderr, WRK_NAME ": %s: '%s' is not an integer in [%ld, %ld]\n", opt, s, lo, hi);
		return -EINVAL;
	}
	*out = v;
	return 0;
}

static int parse_int(const char *opt, const char *s, long lo, long hi, int *out)
{
	long v;
	int rc = parse_long(opt, s, lo, hi, &v);

	if (!rc)
		*out = (int)v;
	return rc;
}

/* A stream, group or consumer name: printable, no spaces, not empty. */
static int parse_name(const char *opt, const char *s)
{
	size_t len = strlen(s);

	if (!len || len > 200) {
		fprintf(stderr, WRK_NAME ": %s: a name of 1 to 200 bytes is needed\n", opt);
		return -EINVAL;
	}
	for (size_t i = 0; i < len; i++) {
		if (s[i] < 0x21 || s[i] > 0x7e) {
			fprintf(stderr, WRK_NAME ": %s: '%s' has a space or a control character\n", opt, s);
			return -EINVAL;
		}
	}
	return 0;
}

static int parse_backend(const char *s, const char **out)
{
	if (!strcmp(s, "npu") || !strcmp(s, "xrt"))
		*out = "xrt";
	else if (!strcmp(s, "auto") || !strcmp(s, "cpu") || !strcmp(s, "emu"))
		*out = s;
	else {
		fprintf(stderr, WRK_NAME ": --backend: '%s' is not auto, cpu, emu or npu\n", s);
		return -EINVAL;
	}
	return 0;
}

static void default_name(char *buf, size_t cap)
{
	char host[64] = "worker";

	if (gethostname(host, sizeof(host)) || !host[0])
		snprintf(host, sizeof(host), "worker");
	host[sizeof(host) - 1] = '\0';
	snprintf(buf, cap, "%s-%ld", host, (long)getpid());
}

int wrk_parse_options(int argc, char **argv, struct wrk_opts *o)
{
	long max_audio = AMQ_DEFAULT_MAX_AUDIO;
	const char *name = NULL;
	int c, rc = 0;

	memset(o, 0, sizeof(*o));
	o->stream = AMQ_DEFAULT_STREAM;
	o->group = AMQ_DEFAULT_GROUP;
	o->jobs = 2;
	o->visibility_ms = 60000;
	o->max_attempts = 3;
	o->dead_maxlen = 10000;
	optind = 1;
	opterr = 0;

	while (!rc && (c = getopt_long(argc, argv, ":m:b:t:j:Vh", long_opts, NULL)) != -1) {
		switch (c) {
		case OPT_REDIS: o->redis = optarg; break;
		case OPT_VAD_MODEL: o->vad_model = optarg; break;
		case OPT_STREAM: rc = parse_name("--stream", optarg); o->stream = optarg; break;
		case OPT_GROUP: rc = parse_name("--group", optarg); o->group = optarg; break;
		case OPT_NAME: rc = parse_name("--name", optarg); name = optarg; break;
		case OPT_VISIBILITY:
			rc = parse_int("--visibility-ms", optarg, 100, 86400000, &o->visibility_ms);
			break;
		case OPT_ATTEMPTS: rc = parse_int("--max-attempts", optarg, 1, 1000, &o->max_attempts); break;
		case OPT_MAX_AUDIO:
			rc = parse_long("--max-audio-bytes", optarg, 1, AMQ_WIRE_MAX_AUDIO, &max_audio);
			break;
		case OPT_DEAD_MAXLEN:
			rc = parse_long("--dead-maxlen", optarg, 0, 1L << 40, &o->dead_maxlen);
			break;
		case 'm': o->model = optarg; break;
		case 'b': rc = parse_backend(optarg, &o->backend); break;
		case 't': rc = parse_int("--threads", optarg, 1, 4096, &o->threads); break;
		case 'j': rc = parse_int("--jobs", optarg, 1, 256, &o->jobs); break;
		case 'V':
			printf(WRK_NAME " %s\n", WRK_VERSION);
			return 1;
		case 'h':
			wrk_usage(stdout);
			return 1;
		case ':':
			fprintf(stderr, WRK_NAME ": %s needs a value (see --help)\n", argv[optind - 1]);
			return -EINVAL;
		default:
			fprintf(stderr, WRK_NAME ": unknown option '%s' (see --help)\n", argv[optind - 1]);
			return -EINVAL;
		}
	}
	if (rc)
		return rc;
	if (optind < argc) {
		fprintf(stderr, WRK_NAME ": unexpected argument '%s' (see --help)\n", argv[optind]);
		return -EINVAL;
	}
	if (!o->redis) {
		fprintf(stderr, WRK_NAME ": --redis redis://HOST:PORT is needed (see --help)\n");
		return -EINVAL;
	}
	o->max_audio = (size_t)max_audio;
	if (name)
		snprintf(o->name, sizeof(o->name), "%s", name);
	else
		default_name(o->name, sizeof(o->name));
	return 0;
}
