/* SPDX-License-Identifier: MIT */
/*
 * tools/amanuensis/main.c - amanuensis: transcribe audio files with Whisper on
 * the NPU engine. Opens one runtime (model, engine and shared context:
 * whisper/runtime.h), then hands the files to cli_run(). Exit statuses are in cli.h and
 * amanuensis(1).
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "tools/amanuensis/cli.h"
#include "whisper/runtime.h"
#include "whisper/vad.h"

/* mkdir -p: openai-whisper creates the output directory too. */
static int make_dirs(const char *dir)
{
	char path[PATH_MAX], *p;
	struct stat sb;

	if (snprintf(path, sizeof(path), "%s", dir) >= (int)sizeof(path))
		return -ENAMETOOLONG;
	for (p = path + 1; ; p++) {
		if (*p == '/' || !*p) {
			char c = *p;

			*p = '\0';
			if (mkdir(path, 0777) && errno != EEXIST)
				return -errno;
			*p = c;
			if (!c)
				break;
		}
	}
	if (stat(dir, &sb))
		return -errno;
	return S_ISDIR(sb.st_mode) ? 0 : -ENOTDIR;
}

/*
 * The language check needs the model: English-only models only speak
 * English. Codes a multilingual model does not know are refused once, by
 * check_language_code(), rather than as a failure of every file.
 */
static int check_language(struct cli_opts *o, const struct wsp_model *m)
{
	if (!wsp_model_is_multilingual(m)) {
		if (o->t.language && strcmp(o->t.language, "en"))
			fprintf(stderr, "amanuensis: warning: the model is English-only; "
				"using language en instead of %s\n", o->t.language);
		o->t.language = "en";
		if (o->t.task == WSP_TASK_TRANSLATE) {
			fprintf(stderr, "amanuensis: --task translate needs a multilingual model\n");
			return -EINVAL;
		}
	}
	return 0;
}

static int model_status(int rc)
{
	return (rc == -ENOMEM || rc == -ENOSYS) ? CLI_EXIT_FAIL : CLI_EXIT_MODEL;
}

/* The exit status for a runtime that did not open (amanuensis(1)). */
static int open_status(const struct wsp_runtime_error *e)
{
	switch (e->stage) {
	case WSP_RUNTIME_FIND:
		return CLI_EXIT_MODEL;
	case WSP_RUNTIME_ENGINE:
		/* a backend asked for that this machine does not have: a usage error */
		return e->code == -ENODEV || e->code == -EINVAL ? CLI_EXIT_USAGE : CLI_EXIT_FAIL;
	case WSP_RUNTIME_MODEL:
	case WSP_RUNTIME_CONTEXT:
		return model_status(e->code);
	default:
		return CLI_EXIT_FAIL;
	}
}

/* A directory with weights in two formats: say which one was read (one line on stderr). */
static void note_weights(const struct wsp_model *m)
{
	const char *unused, *used = wsp_model_weights_file(m, &unused);

	if (used && unused)
		fprintf(stderr, "amanuensis: note: %s has two weight formats: read %s "
			"(CTranslate2), not %s\n", wsp_model_dir(m), used, unused);
}

/* --vad: load the weights --vad-model names, else the ones wsp_vad_find() finds. */
static int open_vad(const struct cli_opts *o, struct wsp_vad **out)
{
	char err[1024];
	int rc = wsp_vad_open(o->vad_model, out, err, sizeof(err));

	if (!rc && !*out)
		rc = -ENOENT;   /* none found: --vad needs them */
	if (rc)
		fprintf(stderr, "amanuensis: --vad: %s\n", err);
	return rc;
}

int main(int argc, char **argv)
{
	struct wsp_runtime_opts ro;
	struct wsp_runtime_error re;
	struct wsp_run_info info = { 0 };
	struct wsp_runtime *rt = NULL;
	struct wsp_vad *vad = NULL;
	struct cli_opts o;
	int rc, status;

	rc = cli_parse(argc, argv, &o);
	if (rc)
		return rc > 0 ? CLI_EXIT_OK : CLI_EXIT_USAGE;
	/* the VAD first: a missing weights file is a usage error, found before
	 * the model is loaded */
	if (o.vad) {
		rc = open_vad(&o, &vad);
		if (rc)
			return CLI_EXIT_USAGE;
		o.t.vad = vad;
	}

	wsp_runtime_opts_default(&ro);
	ro.model = o.model;
	ro.backend = o.backend;
	ro.threads = o.threads;
	ro.precision = o.precision;
	rc = wsp_runtime_open(&rt, &ro, &re);
	if (rc) {
		fprintf(stderr, "amanuensis: %s\n", re.message);
		wsp_vad_free(vad);
		return open_status(&re);
	}
	note_weights(wsp_runtime_model(rt));
	if (check_language(&o, wsp_runtime_model(rt))) {
		status = CLI_EXIT_USAGE;
		goto out;
	}
	if (o.t.language && !wsp_context_has_language(wsp_runtime_context(rt), o.t.language)) {
		fprintf(stderr, "amanuensis: --language: the model has no language '%s' "
			"(use a code such as en, de, fr, or auto)\n", o.t.language);
		status = CLI_EXIT_USAGE;
		goto out;
	}
	if (o.formats) {
		rc = make_dirs(o.output_dir);
		if (rc) {
			fprintf(stderr, "amanuensis: --output-dir %s: %s\n", o.output_dir, strerror(-rc));
			status = CLI_EXIT_FAIL;
			goto out;
		}
	}
	info.model = wsp_runtime_model_path(rt);
	info.backend = wsp_runtime_backend(rt);
	info.precision = o.precision == WSP_FP32 ? "fp32" : "int8";
	info.threads = o.threads;
	info.beam_size = o.t.beam_size;
	info.task = o.t.task == WSP_TASK_TRANSLATE ? "translate" : "transcribe";
	info.subtitles = &o.sub;
	status = cli_run(&o, wsp_runtime_context(rt), &info);
out:
	wsp_runtime_close(rt);
	wsp_vad_free(vad);
	return status;
}
