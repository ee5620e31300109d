/* SPDX-License-Identifier: MIT */
/*
 * tools/amanuensis/main.c - amanuensis: transcribe audio files with Whisper on
 * the NPU engine. Sets up one engine, one model and one shared context,
 * then hands the files to cli_run(). Exit statuses are in cli.h and
 * amanuensis(1).
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "sched/npu.h"
#include "tools/amanuensis/cli.h"
#include "whisper/text/tokenizer.h"

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

static int check_language_code(const struct cli_opts *o, const struct wsp_context *ctx)
{
	const struct wsp_tokenizer *tok = wsp_context_tokenizer(ctx);

	if (o->t.language && tok && wsp_tokenizer_lang_token(tok, o->t.language) < 0) {
		fprintf(stderr, "amanuensis: --language: the model has no language '%s' "
			"(use a code such as en, de, fr, or auto)\n", o->t.language);
		return -EINVAL;
	}
	return 0;
}

static int model_status(int rc)
{
	return (rc == -ENOMEM || rc == -ENOSYS) ? CLI_EXIT_FAIL : CLI_EXIT_MODEL;
}

int main(int argc, char **argv)
{
	struct npu_engine_opts eo = { 0 };
	struct wsp_run_info info = { 0 };
	struct npu_engine *engine = NULL;
	struct wsp_context *ctx = NULL;
	struct wsp_model *model = NULL;
	char model_path[PATH_MAX], err[1024] = "";
	struct cli_opts o;
	int rc, status;

	rc = cli_parse(argc, argv, &o);
	if (rc)
		return rc > 0 ? CLI_EXIT_OK : CLI_EXIT_USAGE;

	if (cli_find_model(o.model, model_path, sizeof(model_path), err, sizeof(err))) {
		fprintf(stderr, "amanuensis: %s\n", err);
		return CLI_EXIT_MODEL;
	}
	rc = wsp_model_load(&model, model_path, err, sizeof(err));
	if (rc) {
		fprintf(stderr, "amanuensis: cannot load model %s: %s\n", model_path,
			*err ? err : strerror(-rc));
		return model_status(rc);
	}
	/* the float weights serve only --precision fp32: drop them otherwise */
	if (o.precision == WSP_INT8)
		wsp_model_drop_fp32(model);
	if (check_language(&o, model)) {
		status = CLI_EXIT_USAGE;
		goto out_model;
	}
	if (o.formats) {
		rc = make_dirs(o.output_dir);
		if (rc) {
			fprintf(stderr, "amanuensis: --output-dir %s: %s\n", o.output_dir, strerror(-rc));
			status = CLI_EXIT_FAIL;
			goto out_model;
		}
	}

	eo.backend = o.backend;
	eo.threads = o.threads;
	rc = npu_engine_open(&engine, &eo);
	if (rc) {
		fprintf(stderr, "amanuensis: cannot start the engine (backend %s): %s\n",
			!o.backend ? "auto" : !strcmp(o.backend, "xrt") ? "npu" : o.backend,
			rc == -ENODEV ?
			"no such device on this machine" : strerror(-rc));
		status = CLI_EXIT_FAIL;
		goto out_model;
	}
	rc = wsp_context_new(model, engine, o.precision, o.threads, &ctx, err, sizeof(err));
	if (rc) {
		fprintf(stderr, "amanuensis: model %s: %s\n", model_path, *err ? err : strerror(-rc));
		status = model_status(rc);
		goto out_engine;
	}
	if (check_language_code(&o, ctx)) {
		status = CLI_EXIT_USAGE;
		goto out_ctx;
	}
	info.model = model_path;
	info.backend = npu_engine_backend_name(engine);
	info.precision = o.precision == WSP_FP32 ? "fp32" : "int8";
	info.threads = o.threads;
	info.beam_size = o.t.beam_size;
	info.task = o.t.task == WSP_TASK_TRANSLATE ? "translate" : "transcribe";
	status = cli_run(&o, ctx, &info);

out_ctx:
	wsp_context_free(ctx);
out_engine:
	npu_engine_close(engine);
out_model:
	wsp_model_free(model);
	return status;
}
