/* SPDX-License-Identifier: MIT */
/*
 * tools/amanuensis/cli.h - the amanuensis command: options, the
 * run over many files, and the progress bar. Internal to build/amanuensis.
 */
#ifndef AMN_CLI_H
#define AMN_CLI_H

#include <pthread.h>
#include <stddef.h>
#include <stdio.h>

#include "whisper/model.h"
#include "whisper/output.h"
#include "whisper/transcribe.h"

#define AMN_VERSION "0.1.0"

/* Exit statuses, documented in amanuensis(1). */
enum {
	CLI_EXIT_OK = 0,
	CLI_EXIT_FAIL = 1,    /* engine, transcription or output failure */
	CLI_EXIT_USAGE = 2,   /* bad options or no input files */
	CLI_EXIT_INPUT = 3,   /* an input file could not be read or decoded */
	CLI_EXIT_MODEL = 4,   /* the model could not be found or loaded */
};

#define CLI_MAX_TEMPERATURES 64
#define CLI_MAX_JOBS 256
#define CLI_DEFAULT_JOBS 4

/** Everything the command line says. */
struct cli_opts {
	const char *model;            /* --model; NULL: search (wsp_runtime_find_model) */
	const char *backend;          /* engine backend name; NULL: $NPU_BACKEND, else auto */
	int threads;                  /* 0: engine and library defaults */
	int jobs;                     /* files in parallel; 0: min(files, CLI_DEFAULT_JOBS) */
	unsigned formats;             /* WSP_OUT_* bits; 0: segments to stdout */
	const char *output_dir;       /* default "." */
	enum wsp_precision precision;
	int quiet;
	struct wsp_transcribe_opts t; /* decoding options, temperatures filled in */
	struct wsp_subtitle_opts sub; /* --highlight-words, --max-line-width, --max-line-count */
	int vad;                      /* --vad: transcribe the speech regions alone */
	const char *vad_model;        /* --vad-model; NULL: wsp_vad_find() */
	float temperatures[CLI_MAX_TEMPERATURES];
	char **files;
	int n_files;
};

/**
 * cli_parse - fill @o from the command line.
 * Return: 0 to run; 1 when --help or --version was printed (exit 0);
 * -EINVAL after printing the reason to stderr (exit 2).
 */
int cli_parse(int argc, char **argv, struct cli_opts *o);

/**
 * cli_list_models - print to @f every model in the model folders (name,
 * format, size, type, weights), folder by folder, in lookup order.
 * Return: 0, or -EINVAL.
 */
int cli_list_models(FILE *f);

/** cli_usage - the --help text. */
void cli_usage(FILE *f);

struct cli_progress;

/**
 * cli_progress_new - a progress display for @n_files files on stderr;
 * drawn only when @enabled (stderr is a terminal and not --quiet) and some
 * file is longer than one 30 s window. Its lock also serializes every other
 * line the command prints, so that a line never cuts through the bar.
 * Return: the display, or NULL without memory (then nothing is drawn and
 * the lock calls are no-ops).
 */
struct cli_progress *cli_progress_new(int n_files, int enabled);

/** cli_progress_free - erase the bar and release; NULL is a no-op. */
void cli_progress_free(struct cli_progress *p);

/** cli_progress_update - file @slot has @done_s of @total_s seconds transcribed. */
void cli_progress_update(struct cli_progress *p, int slot, double done_s, double total_s);

/** cli_progress_file_done - file @slot is finished (transcribed or failed). */
void cli_progress_file_done(struct cli_progress *p, int slot);

/** cli_progress_lock - take the output lock and erase the bar, to print lines. */
void cli_progress_lock(struct cli_progress *p);

/** cli_progress_unlock - redraw the bar and release the output lock. */
void cli_progress_unlock(struct cli_progress *p);

/**
 * cli_run - transcribe every file of @o on @ctx with @o->jobs worker
 * threads; print or write each result; report each failure naming its file.
 * @info: the run description shared by all files (file and wall_ms are
 * filled per file).
 * Return: the exit status (CLI_EXIT_OK, _INPUT or _FAIL).
 */
int cli_run(const struct cli_opts *o, struct wsp_context *ctx, const struct wsp_run_info *info);

#endif
