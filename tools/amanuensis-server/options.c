/* SPDX-License-Identifier: MIT */
/*
 * tools/amanuensis-server/options.c - amanuensis-server's command line:
 * getopt_long table, value checks whose messages name the option, and the
 * --help text.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tools/amanuensis-server/options.h"

void srv_options_usage(FILE *f)
{
	fputs(
"usage: amanuensis-server [options]\n"
"An OpenAI-compatible transcription service: POST /v1/audio/transcriptions and\n"
"/v1/audio/translations, one model and one engine shared by every request,\n"
"tenants that share the device by weight, window by window.\n"
"\n"
"  -l, --listen HOST:PORT    where to listen (default 127.0.0.1:8080; port 0: any\n"
"                            free port; IPv6 as [::1]:8080)\n"
"  -m, --model PATH          model directory or file (default: $AMANUENSIS_MODEL,\n"
"                            else models/tiny.en beside build/, else ./models/tiny.en)\n"
"      --vad-model PATH      the VAD weights for vad_filter=true requests (default:\n"
"                            $AMANUENSIS_VAD, else silero_vad_v6.amnv in the model\n"
"                            folders; none found: such requests get a 400)\n"
"  -k, --keys FILE           API keys: KEY TENANT WEIGHT [max_concurrent=N]\n"
"                            [audio_s_per_min=N] a line (default: no keys, one open\n"
"                            tenant)\n"
"      --max-upload-mb N     largest audio upload in MiB (default 25); above: 413\n"
"      --max-concurrent N    requests transcribing at once (default 8); a tenant's\n"
"                            own max_concurrent=N bounds its requests (above: 429)\n"
"      --max-queue N         requests admitted and waiting to transcribe (default 64);\n"
"                            above: 503\n"
"      --parallel N          30 s windows decoded at once, shared fairly between\n"
"                            tenants (default 2)\n"
"      --batch N             the batched long-form mode for requests that do not say\n"
"                            (form field batch): up to N windows of one request at\n"
"                            once, decoded apart; 1..64 (default 1: sequential)\n"
"      --request-timeout S   longest time from arrival to answer; 0: none (default 900)\n"
"      --idle-timeout S      close connections silent for S seconds (default 30)\n"
"      --drain-timeout S     on SIGTERM, how long in-flight requests may finish\n"
"                            (default 60)\n"
"      --queue URL           redis://HOST:PORT[/DB]: hand transcriptions to\n"
"                            amanuensis-worker processes instead of running them here\n"
"  -b, --backend NAME        auto, cpu, emu or npu (default: $NPU_BACKEND, else auto)\n"
"  -t, --threads N           CPU threads (default: $AMN_THREADS, else the CPUs it may use)\n"
"  -q, --quiet               no log line per request\n"
"  -V, --version             print the version and exit\n"
"  -h, --help                this text\n"
"\n"
"It prints \"listening on http://HOST:PORT\" on stderr once the model is loaded,\n"
"one line per request after that, and on SIGTERM or SIGINT stops accepting,\n"
"lets in-flight requests finish and exits 0.\n"
"Exit status: 0 ok, 1 cannot listen or the model or engine failed, 2 bad usage.\n",
	      f);
}

enum {
	OPT_MAX_UPLOAD = 256, OPT_MAX_CONCURRENT, OPT_MAX_QUEUE, OPT_PARALLEL,
	OPT_REQUEST_TIMEOUT, OPT_IDLE_TIMEOUT, OPT_DRAIN_TIMEOUT, OPT_QUEUE, OPT_VAD_MODEL,
	OPT_BATCH,
};

static const struct option long_opts[] = {
	{ "listen", required_argument, NULL, 'l' },
	{ "model", required_argument, NULL, 'm' },
	{ "keys", required_argument, NULL, 'k' },
	{ "vad-model", required_argument, NULL, OPT_VAD_MODEL },
	{ "max-upload-mb", required_argument, NULL, OPT_MAX_UPLOAD },
	{ "max-concurrent", required_argument, NULL, OPT_MAX_CONCURRENT },
	{ "max-queue", required_argument, NULL, OPT_MAX_QUEUE },
	{ "parallel", required_argument, NULL, OPT_PARALLEL },
	{ "batch", required_argument, NULL, OPT_BATCH },
	{ "request-timeout", required_argument, NULL, OPT_REQUEST_TIMEOUT },
	{ "idle-timeout", required_argument, NULL, OPT_IDLE_TIMEOUT },
	{ "drain-timeout", required_argument, NULL, OPT_DRAIN_TIMEOUT },
	{ "queue", required_argument, NULL, OPT_QUEUE },
	{ "backend", required_argument, NULL, 'b' },
	{ "threads", required_argument, NULL, 't' },
	{ "quiet", no_argument, NULL, 'q' },
	{ "version", no_argument, NULL, 'V' },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

/* parse_uint - a decimal in [@lo, @hi]; nothing else (no sign, no blanks, no 0x). */
static int parse_uint(const char *opt, const char *s, unsigned lo, unsigned hi, unsigned *out)
{
	unsigned long v;
	char *end;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (*s < '0' || *s > '9' || errno || *end || v < lo || v > hi) {
		fprintf(stderr, "amanuensis-server: %s: '%s' is not a whole number in [%u, %u]\n",
			opt, s, lo, hi);
		return -EINVAL;
	}
	*out = (unsigned)v;
	return 0;
}

/*
 * parse_listen - HOST:PORT, [V6HOST]:PORT or :PORT (all addresses). The
 * host is kept as written (without brackets) for getaddrinfo().
 */
static int parse_listen(const char *s, struct srv_opts *o)
{
	const char *colon, *host = s;
	size_t hlen;

	if (*s == '[') {
		const char *close = strchr(s, ']');

		if (!close || close[1] != ':')
			goto bad;
		host = s + 1;
		hlen = (size_t)(close - host);
		colon = close + 1;
	} else {
		colon = strrchr(s, ':');
		if (!colon)
			goto bad;
		hlen = (size_t)(colon - s);
		if (memchr(s, ':', hlen))
			goto bad;          /* an IPv6 address needs brackets */
	}
	if (hlen >= sizeof(o->host))
		goto bad;
	if (hlen == 0) {
		snprintf(o->host, sizeof(o->host), "0.0.0.0");
	} else {
		memcpy(o->host, host, hlen);
		o->host[hlen] = '\0';
	}
	return parse_uint("--listen (port)", colon + 1, 0, 65535, &o->port);
bad:
	fprintf(stderr, "amanuensis-server: --listen: '%s' is not HOST:PORT "
		"(e.g. 127.0.0.1:8080, [::1]:8080, :8080)\n", s);
	return -EINVAL;
}

/* The engine knows the NPU backend as "xrt"; users may say either. */
static int parse_backend(const char *s, const char **out)
{
	if (!strcmp(s, "npu") || !strcmp(s, "xrt")) {
		*out = "xrt";
	} else if (!strcmp(s, "auto") || !strcmp(s, "cpu") || !strcmp(s, "emu")) {
		*out = s;
	} else {
		fprintf(stderr, "amanuensis-server: --backend: '%s' is not auto, cpu, emu or npu\n", s);
		return -EINVAL;
	}
	return 0;
}

int srv_options_parse(int argc, char **argv, struct srv_opts *o)
{
	unsigned threads = 0;
	int c, rc = 0;

	memset(o, 0, sizeof(*o));
	snprintf(o->host, sizeof(o->host), "127.0.0.1");
	o->port = 8080;
	o->max_upload_mb = 25;
	o->max_concurrent = 8;
	o->max_queue = 64;
	o->parallel = 2;
	o->batch = 1;
	o->request_timeout_s = 900;
	o->idle_timeout_s = 30;
	o->drain_timeout_s = 60;
	optind = 1;
	opterr = 0;

	while (!rc && (c = getopt_long(argc, argv, ":l:m:k:b:t:qVh", long_opts, NULL)) != -1) {
		switch (c) {
		case 'l': rc = parse_listen(optarg, o); break;
		case 'm': o->model = optarg; break;
		case 'k': o->keys = optarg; break;
		case OPT_VAD_MODEL: o->vad_model = optarg; break;
		case OPT_MAX_UPLOAD:
			rc = parse_uint("--max-upload-mb", optarg, 1, 4096, &o->max_upload_mb);
			break;
		case OPT_MAX_CONCURRENT:
			rc = parse_uint("--max-concurrent", optarg, 1, 1024, &o->max_concurrent);
			break;
		case OPT_MAX_QUEUE:
			rc = parse_uint("--max-queue", optarg, 0, 65536, &o->max_queue);
			break;
		case OPT_PARALLEL:
			rc = parse_uint("--parallel", optarg, 1, 256, &o->parallel);
			break;
		case OPT_BATCH:
			rc = parse_uint("--batch", optarg, 1, 64, &o->batch);
			break;
		case OPT_REQUEST_TIMEOUT:
			rc = parse_uint("--request-timeout", optarg, 0, 604800, &o->request_timeout_s);
			break;
		case OPT_IDLE_TIMEOUT:
			rc = parse_uint("--idle-timeout", optarg, 1, 86400, &o->idle_timeout_s);
			break;
		case OPT_DRAIN_TIMEOUT:
			rc = parse_uint("--drain-timeout", optarg, 0, 86400, &o->drain_timeout_s);
			break;
		case OPT_QUEUE: o->queue = optarg; break;
		case 'b': rc = parse_backend(optarg, &o->backend); break;
		case 't':
			rc = parse_uint("--threads", optarg, 1, 4096, &threads);
			o->threads = (int)threads;
			break;
		case 'q': o->quiet = 1; break;
		case 'V':
			printf("amanuensis-server %s\n", SRV_VERSION);
			return 1;
		case 'h':
			srv_options_usage(stdout);
			return 1;
		case ':':
			fprintf(stderr, "amanuensis-server: %s needs a value (see --help)\n",
				argv[optind - 1]);
			return -EINVAL;
		default:
			fprintf(stderr, "amanuensis-server: unknown option '%s' (see --help)\n",
				argv[optind - 1]);
			return -EINVAL;
		}
	}
	if (rc)
		return rc;
	if (optind < argc) {
		fprintf(stderr, "amanuensis-server: unexpected argument '%s' (see --help)\n",
			argv[optind]);
		return -EINVAL;
	}
	return 0;
}
