/* SPDX-License-Identifier: MIT */
/*
 * tools/amanuensis-server/options.h - amanuensis-server's command line:
 * where it listens, which model and keys it serves, and every bound
 * (upload size, requests at once, queue length, windows decoded at once,
 * request and idle time).
 */
#ifndef AMN_SRV_OPTIONS_H
#define AMN_SRV_OPTIONS_H

#include <stdio.h>

#define SRV_VERSION "0.1.0"

/* Exit statuses of amanuensis-server. */
enum {
	SRV_EXIT_OK = 0,
	SRV_EXIT_FAIL = 1,    /* could not listen, model or engine failed */
	SRV_EXIT_USAGE = 2,   /* bad options or keys file */
};

/** Everything the command line says; srv_options_parse() fills the defaults. */
struct srv_opts {
	char host[256];               /* --listen HOST (numeric or a name; "[::1]" without brackets) */
	unsigned port;                /* --listen :PORT; 0: the kernel picks one */
	const char *model;            /* --model; NULL: wsp_runtime_find_model() */
	const char *vad_model;        /* --vad-model; NULL: wsp_vad_find(), none is fine */
	const char *keys;             /* --keys FILE; NULL: one open tenant */
	const char *queue;            /* --queue redis://...; NULL: transcribe here */
	unsigned max_upload_mb;       /* 25 */
	unsigned max_concurrent;      /* requests transcribing at once (8) */
	unsigned max_queue;           /* admitted requests waiting to transcribe (64) */
	unsigned parallel;            /* windows decoded at once: the fair queue's slots (2) */
	unsigned batch;               /* a request's windows in flight, when it does not say (1) */
	unsigned request_timeout_s;   /* arrival to answer, 0: none (900) */
	unsigned idle_timeout_s;      /* a connection silent this long is closed (30) */
	unsigned drain_timeout_s;     /* SIGTERM: how long in-flight requests may finish (60) */
	const char *backend;          /* NULL: $NPU_BACKEND, else auto */
	int threads;                  /* 0: the library's default */
	int quiet;                    /* no per-request log lines */
};

/**
 * srv_options_parse - fill @o from @argc/@argv.
 * Return: 0 to run; 1 when --help or --version was printed (exit 0);
 * -EINVAL after printing the reason to stderr (exit 2).
 */
int srv_options_parse(int argc, char **argv, struct srv_opts *o);

/** srv_options_usage - the --help text, to @f. */
void srv_options_usage(FILE *f);

#endif /* AMN_SRV_OPTIONS_H */
