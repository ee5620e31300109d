// SPDX-License-Identifier: MIT
/*
 * tools/amanuensis-worker/transcribe.c - one job through the engine: the
 * audio bytes into an anonymous memory file, read back by the library's
 * decoder as /proc/self/fd/N (any format it knows, in bounded pieces);
 * the window hooks keep the job's claim fresh, stop it at its deadline
 * or at a hard stop, and stream each segment to the result stream.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "tools/amanuensis-worker/worker.h"

struct hooks {
	struct amq_sink *sink;
	/*
	 * The current window's start, in 10 ms frames (sequential jobs).
	 * A batched job's windows begin on several threads at once and
	 * overlap in time: there a segment's own start stands for its
	 * window's, and this is not written.
	 */
	int seek;
	int batched;
};

static int on_window_begin(void *arg, double start_s, double length_s)
{
	struct hooks *h = arg;

	if (!h->batched)
		h->seek = (int)lround(start_s * 100);
	return amq_sink_window(h->sink);
}

static void on_segment(void *arg, const struct wsp_segment *seg, int index)
{
	struct hooks *h = arg;

	amq_sink_segment(h->sink, seg, index,
			 h->batched ? (int)lround(seg->start * 100) : h->seek);
}

/* Failures of the audio itself (as the CLI's exit status 3): retrying cannot help. */
static int is_input_error(int rc)
{
	return rc == -ENOENT || rc == -EINVAL || rc == -EIO || rc == -ENOTSUP || rc == -EPROTO ||
	       rc == -ENODATA || rc == -EMSGSIZE;
}

static int write_all(int fd, const void *p, size_t len)
{
	const char *c = p;

	while (len) {
		ssize_t n = write(fd, c, len);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		c += n;
		len -= (size_t)n;
	}
	return 0;
}

/* The model decides the language as the CLI does: English-only models speak English. */
static int check_language(const struct wrk_engine *e, struct wsp_transcribe_opts *t,
			  char *err, size_t errlen)
{
	if (!e->multilingual) {
		if (t->task == WSP_TASK_TRANSLATE) {
			snprintf(err, errlen, "task translate needs a multilingual model");
			return -EINVAL;
		}
		t->language = "en";
		return 0;
	}
	if (t->language && !wsp_context_has_language(e->ctx, t->language)) {
		snprintf(err, errlen, "the model has no language '%s'", t->language);
		return -EINVAL;
	}
	return 0;
}

/* The library names the file it read; the memfd's path says nothing to a client. */
static void unname(char *err, size_t errlen, const char *path)
{
	char *at = strstr(err, path);
	char rest[512];

	if (!at)
		return;
	snprintf(rest, sizeof(rest), "%s", at + strlen(path));
	snprintf(at, errlen - (size_t)(at - err), "audio%s", rest);
}

int wrk_handle_job(void *arg, const struct amq_job *job, struct amq_sink *sink, int *permanent,
		   char *err, size_t errlen)
{
	const struct wrk_engine *e = arg;
	struct hooks h = { .sink = sink };
	struct wsp_transcribe_opts t;
	struct wsp_result res = { 0 };
	char path[64];
	int fd, rc;

	wsp_transcribe_opts_default(&t);
	amq_job_apply(job, &t);
	rc = check_language(e, &t, err, errlen);
	if (rc) {
		*permanent = 1;
		return rc;
	}
	if (job->vad_filter) {
		if (!e->vad) {
			snprintf(err, errlen, "vad_filter: this worker has no VAD weights (start it "
				 "with --vad-model PATH; see Documentation/vad.md)");
			*permanent = 1;
			return -EINVAL;
		}
		t.vad = e->vad;
	}
	h.batched = t.batch > 1;
	t.window_begin = on_window_begin;
	t.on_segment = on_segment;
	t.hook_arg = &h;

	fd = memfd_create("amn-job", MFD_CLOEXEC);
	if (fd < 0) {
		rc = -errno;
		snprintf(err, errlen, "memfd_create: %s", strerror(-rc));
		return rc;
	}
	rc = write_all(fd, job->audio, job->audio_len);
	if (rc) {
		snprintf(err, errlen, "writing the audio to memory: %s", strerror(-rc));
		close(fd);
		return rc;
	}
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	rc = wsp_transcribe_file(e->ctx, path, &t, &res, err, errlen);
	close(fd);
	if (rc) {
		unname(err, errlen, path);
		*permanent = is_input_error(rc);
		wsp_result_free(&res);
		return rc;
	}
	rc = amq_sink_done(sink, &res);
	if (rc)
		snprintf(err, errlen, "the answer could not be written: %s", strerror(-rc));
	wsp_result_free(&res);
	return rc;
}
