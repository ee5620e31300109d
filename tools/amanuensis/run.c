/* SPDX-License-Identifier: MIT */
/*
 * tools/amanuensis/run.c - the run over many files: N worker threads pull the
 * next file from a shared counter and transcribe it on the one shared
 * context (so their matmuls meet in the one engine), then write its files or
 * hand its segments to the printer. Console output and messages come out in
 * the order the files were given, whatever order they finish in; a failed
 * file is reported by name and does not stop the others.
 */
#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "tools/amanuensis/cli.h"

enum slot_state { SLOT_PENDING = 0, SLOT_READY, SLOT_PRINTED };

/* What one file produced, kept until its turn to print. */
struct slot {
	enum slot_state state;
	int rc;                 /* 0, or the -errno of the failure */
	int input_error;        /* the failure was reading or decoding the input */
	struct wsp_result res;  /* console mode only; freed once printed */
	double wall_ms;
	char msg[768];          /* the error, or the summary line */
};

struct run {
	const struct cli_opts *o;
	struct wsp_context *ctx;
	const struct wsp_run_info *info;
	struct cli_progress *progress;
	atomic_int next;        /* next file to take */
	int next_print;         /* first slot not yet printed (progress lock held) */
	struct slot *slots;
	int n_input_errors, n_errors;
};

struct progress_arg {
	struct cli_progress *p;
	int slot;
};

static void on_progress(void *arg, double done_s, double total_s)
{
	struct progress_arg *a = arg;

	cli_progress_update(a->p, a->slot, done_s, total_s);
}

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/*
 * Errors that mean "this input cannot be read or decoded" (exit 3), as
 * opposed to the engine, memory or output failing (exit 1).
 */
static int is_input_error(int rc)
{
	return rc == -ENOENT || rc == -EACCES || rc == -EISDIR || rc == -EINVAL ||
	       rc == -EIO || rc == -ENOTSUP || rc == -EPROTO || rc == -ENODATA ||
	       rc == -EPERM || rc == -ENOTDIR || rc == -ENAMETOOLONG || rc == -ELOOP;
}

/* check_input - fail early, with a plain message, on a path that is no file. */
static int check_input(const char *path, char *msg, size_t len)
{
	struct stat sb;

	if (stat(path, &sb)) {
		int rc = -errno;

		snprintf(msg, len, "%s: %s", path, strerror(-rc));
		return rc;
	}
	if (S_ISDIR(sb.st_mode)) {
		snprintf(msg, len, "%s: is a directory", path);
		return -EISDIR;
	}
	if (access(path, R_OK)) {
		int rc = -errno;

		snprintf(msg, len, "%s: %s", path, strerror(-rc));
		return rc;
	}
	return 0;
}

/* The library's message usually names the file; make sure it does. */
static void name_the_file(struct slot *s, const char *path, const char *err, int rc)
{
	const char *why = *err ? err : strerror(-rc);

	if (strstr(why, path))
		snprintf(s->msg, sizeof(s->msg), "%s", why);
	else
		snprintf(s->msg, sizeof(s->msg), "%s: %s", path, why);
}

static void transcribe_one(struct run *r, int i)
{
	const struct cli_opts *o = r->o;
	const char *path = o->files[i];
	struct slot *s = &r->slots[i];
	struct progress_arg pa = { r->progress, i };
	struct wsp_transcribe_opts t = o->t;
	struct wsp_run_info info = *r->info;
	char err[512] = "", base[256];
	double t0 = now_ms();
	int rc;

	rc = check_input(path, s->msg, sizeof(s->msg));
	if (rc) {
		s->rc = rc;
		s->input_error = 1;
		return;
	}
	t.progress = on_progress;
	t.progress_arg = &pa;
	rc = wsp_transcribe_file(r->ctx, path, &t, &s->res, err, sizeof(err));
	s->wall_ms = now_ms() - t0;
	if (rc) {
		s->rc = rc;
		s->input_error = is_input_error(rc);
		name_the_file(s, path, err, rc);
		wsp_result_free(&s->res);
		return;
	}
	if (!o->formats)
		return;  /* printed in order by flush_ready() */

	info.file = path;
	info.wall_ms = s->wall_ms;
	wsp_output_basename(base, sizeof(base), path);
	rc = wsp_write_files(o->output_dir, base, o->formats, &s->res, &info, err, sizeof(err));
	if (rc) {
		s->rc = rc;
		snprintf(s->msg, sizeof(s->msg), "%s: %s", path, err);
	} else {
		snprintf(s->msg, sizeof(s->msg), "%s: %.1f s of audio in %.2f s -> %s/%s.*",
			 path, s->res.duration_s, s->wall_ms / 1e3, o->output_dir, base);
	}
	wsp_result_free(&s->res);
}

/* print_slot - the file's segments or its message; progress lock held. */
static void print_slot(struct run *r, int i)
{
	const struct cli_opts *o = r->o;
	struct slot *s = &r->slots[i];

	if (s->rc) {
		fprintf(stderr, "amanuensis: %s\n", s->msg);
		r->n_errors++;
		r->n_input_errors += s->input_error;
		return;
	}
	if (o->formats) {
		if (!o->quiet)
			fprintf(stderr, "amanuensis: %s\n", s->msg);
		return;
	}
	if (o->n_files > 1)
		printf("%s==> %s <==\n", i ? "\n" : "", o->files[i]);
	if (wsp_write_console(stdout, &s->res) || fflush(stdout)) {
		fprintf(stderr, "amanuensis: %s: cannot write to stdout\n", o->files[i]);
		r->n_errors++;
	}
	wsp_result_free(&s->res);
}

/*
 * flush_ready - mark file @done finished (-1: none), then print every
 * finished file whose predecessors are printed.
 */
static void flush_ready(struct run *r, int done)
{
	cli_progress_lock(r->progress);
	if (done >= 0)
		r->slots[done].state = SLOT_READY;
	while (r->next_print < r->o->n_files && r->slots[r->next_print].state == SLOT_READY) {
		print_slot(r, r->next_print);
		r->slots[r->next_print].state = SLOT_PRINTED;
		r->next_print++;
	}
	cli_progress_unlock(r->progress);
}

static void *worker(void *arg)
{
	struct run *r = arg;
	int i;

	while ((i = atomic_fetch_add(&r->next, 1)) < r->o->n_files) {
		transcribe_one(r, i);
		cli_progress_file_done(r->progress, i);
		flush_ready(r, i);
	}
	return NULL;
}

/*
 * warn_same_names - as in openai-whisper, outputs are named after the input
 * without its directory, so a/x.wav and b/x.wav write the same x.txt: say so.
 */
static void warn_same_names(const struct cli_opts *o)
{
	char a[256], b[256];
	int i, j;

	if (!o->formats || o->n_files > 1024)
		return;
	for (i = 0; i < o->n_files; i++) {
		wsp_output_basename(a, sizeof(a), o->files[i]);
		for (j = i + 1; j < o->n_files; j++) {
			wsp_output_basename(b, sizeof(b), o->files[j]);
			if (!strcmp(a, b)) {
				fprintf(stderr, "amanuensis: warning: %s and %s both write %s/%s.*; "
					"the one finishing last wins\n", o->files[i], o->files[j],
					o->output_dir, a);
				return;
			}
		}
	}
}

int cli_run(const struct cli_opts *o, struct wsp_context *ctx, const struct wsp_run_info *info)
{
	struct run r = { .o = o, .ctx = ctx, .info = info };
	pthread_t tids[CLI_MAX_JOBS];
	int i, n_started = 0, status;

	r.slots = calloc((size_t)o->n_files, sizeof(*r.slots));
	if (!r.slots) {
		fprintf(stderr, "amanuensis: out of memory\n");
		return CLI_EXIT_FAIL;
	}
	warn_same_names(o);
	r.progress = cli_progress_new(o->n_files, !o->quiet && isatty(STDERR_FILENO));
	atomic_init(&r.next, 0);
	/* The calling thread is one of the workers. */
	for (i = 1; i < o->jobs; i++) {
		if (pthread_create(&tids[n_started], NULL, worker, &r))
			break;  /* fewer workers: slower, still correct */
		n_started++;
	}
	worker(&r);
	for (i = 0; i < n_started; i++)
		pthread_join(tids[i], NULL);
	flush_ready(&r, -1);
	cli_progress_free(r.progress);

	if (r.n_input_errors)
		status = CLI_EXIT_INPUT;
	else if (r.n_errors)
		status = CLI_EXIT_FAIL;
	else
		status = CLI_EXIT_OK;
	if (r.n_errors && o->n_files > 1)
		fprintf(stderr, "amanuensis: %d of %d files failed\n", r.n_errors, o->n_files);
	free(r.slots);
	return status;
}
