/* SPDX-License-Identifier: MIT */
/*
 * whisper/runtime/runtime.c - one call that opens model, engine and
 * decoding context for a program, and one that closes them, in reverse
 * order. The error says which step failed, so that programs can map it to
 * their own statuses (the CLI's exit codes, the server's HTTP answers).
 */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sched/npu.h"
#include "whisper/runtime.h"

struct wsp_runtime {
	struct wsp_model *model;
	struct npu_engine *engine;
	struct wsp_context *ctx;
	enum wsp_precision precision;
	char model_path[PATH_MAX];
};

void wsp_runtime_opts_default(struct wsp_runtime_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->precision = WSP_INT8;
}

/* Fill @e (if any) and pass @code through. */
static int fail(struct wsp_runtime_error *e, enum wsp_runtime_stage stage, int code,
		const char *fmt, ...)
{
	va_list ap;

	if (!e)
		return code;
	e->stage = stage;
	e->code = code;
	va_start(ap, fmt);
	vsnprintf(e->message, sizeof(e->message), fmt, ap);
	va_end(ap);
	return code;
}

/* The name users know the backend by: the engine says "xrt", people say "npu". */
static const char *backend_label(const char *backend)
{
	if (!backend || !*backend)
		return "auto";
	return strcmp(backend, "xrt") ? backend : "npu";
}

int wsp_runtime_open(struct wsp_runtime **out, const struct wsp_runtime_opts *o,
		     struct wsp_runtime_error *e)
{
	struct npu_engine_opts eo = { 0 };
	struct wsp_runtime_opts def;
	struct wsp_runtime *rt;
	char err[1024] = "";
	int rc;

	if (e)
		memset(e, 0, sizeof(*e));
	if (!out)
		return fail(e, WSP_RUNTIME_MODEL, -EINVAL, "wsp_runtime_open: no place for the runtime");
	*out = NULL;
	if (!o) {
		wsp_runtime_opts_default(&def);
		o = &def;
	}
	if (o->precision != WSP_INT8 && o->precision != WSP_FP32)
		return fail(e, WSP_RUNTIME_MODEL, -EINVAL, "wsp_runtime_open: unknown precision %d",
			    (int)o->precision);
	rt = calloc(1, sizeof(*rt));
	if (!rt)
		return fail(e, WSP_RUNTIME_MODEL, -ENOMEM, "out of memory");
	rt->precision = o->precision;

	rc = wsp_runtime_find_model(o->model, rt->model_path, sizeof(rt->model_path),
				    err, sizeof(err));
	if (rc) {
		fail(e, WSP_RUNTIME_FIND, rc, "%s", err);
		goto out_free;
	}
	/*
	 * the float weights serve only WSP_FP32: never made otherwise (each
	 * weight packed as it is read), unless asked to keep them
	 */
	if (o->precision == WSP_INT8 && !o->keep_fp32)
		rc = wsp_model_load_int8(&rt->model, rt->model_path, err, sizeof(err));
	else
		rc = wsp_model_load(&rt->model, rt->model_path, err, sizeof(err));
	if (rc) {
		fail(e, WSP_RUNTIME_MODEL, rc, "cannot load model %s: %s", rt->model_path,
		     *err ? err : strerror(-rc));
		goto out_free;
	}

	eo.backend = o->backend;
	eo.threads = o->threads;
	eo.why = err;
	eo.why_len = sizeof(err);
	err[0] = '\0';
	rc = npu_engine_open(&rt->engine, &eo);
	if (rc) {
		fail(e, WSP_RUNTIME_ENGINE, rc, "cannot start the engine (backend %s): %s",
		     backend_label(o->backend ? o->backend : getenv("NPU_BACKEND")),
		     *err ? err : rc == -ENODEV ? "no such device on this machine" : strerror(-rc));
		goto out_model;
	}
	rc = wsp_context_new(rt->model, rt->engine, o->precision, o->threads, &rt->ctx,
			     err, sizeof(err));
	if (rc) {
		fail(e, WSP_RUNTIME_CONTEXT, rc, "model %s: %s", rt->model_path,
		     *err ? err : strerror(-rc));
		goto out_engine;
	}
	*out = rt;
	return 0;

out_engine:
	npu_engine_close(rt->engine);
out_model:
	wsp_model_free(rt->model);
out_free:
	free(rt);
	return rc;
}

void wsp_runtime_close(struct wsp_runtime *rt)
{
	if (!rt)
		return;
	/* the context holds a tenant of the engine and reads the model: it goes first */
	wsp_context_free(rt->ctx);
	npu_engine_close(rt->engine);
	wsp_model_free(rt->model);
	free(rt);
}

struct wsp_context *wsp_runtime_context(const struct wsp_runtime *rt)
{
	return rt ? rt->ctx : NULL;
}

const struct wsp_model *wsp_runtime_model(const struct wsp_runtime *rt)
{
	return rt ? rt->model : NULL;
}

struct npu_engine *wsp_runtime_engine(const struct wsp_runtime *rt)
{
	return rt ? rt->engine : NULL;
}

const char *wsp_runtime_model_path(const struct wsp_runtime *rt)
{
	return rt ? rt->model_path : NULL;
}

const char *wsp_runtime_backend(const struct wsp_runtime *rt)
{
	return rt ? npu_engine_backend_name(rt->engine) : NULL;
}

enum wsp_precision wsp_runtime_precision(const struct wsp_runtime *rt)
{
	return rt ? rt->precision : WSP_INT8;
}
