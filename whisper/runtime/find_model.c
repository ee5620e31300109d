/* SPDX-License-Identifier: MIT */
/*
 * whisper/runtime/find_model.c - which model to load: a path as given, or a
 * model name ("tiny.en", "base", a ggml file's "ggml-base.en.bin") looked up
 * in the model folders: each of $AMANUENSIS_MODELS (':'-separated), the
 * repository's models/ found from the executable's own path
 * (<exe dir>/../models), ./models, and the data folder of an installed
 * program, which `make install-models` fills (<exe dir>/../share/amanuensis/models,
 * that is <prefix>/share/amanuensis/models). With no model given:
 * $AMANUENSIS_MODEL, else the name tiny.en.
 */
#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "whisper/runtime.h"

#define DEFAULT_NAME "tiny.en"

static int exists(const char *path)
{
	struct stat sb;

	return stat(path, &sb) == 0;
}

/* Append @dir and a ':' to @out (@cap bytes, @used so far); skipped when it does not fit. */
static void add_dir(char *out, size_t cap, size_t *used, const char *dir, size_t n)
{
	if (n == 0 || *used + n + 2 > cap)
		return;
	memcpy(out + *used, dir, n);
	*used += n;
	out[(*used)++] = ':';
	out[*used] = '\0';
}

int wsp_runtime_model_dirs(char *out, size_t cap)
{
	const char *env = getenv("AMANUENSIS_MODELS");
	char exe[PATH_MAX], up[PATH_MAX + 4], real[PATH_MAX];
	size_t used = 0;
	int count = 0;
	ssize_t n;

	if (!out || cap == 0)
		return -EINVAL;
	out[0] = '\0';
	while (env && *env) {
		const char *colon = strchr(env, ':');
		size_t len = colon ? (size_t)(colon - env) : strlen(env);

		add_dir(out, cap, &used, env, len);
		env = colon ? colon + 1 : NULL;
	}
	real[0] = '\0';
	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n > 0) {
		exe[n] = '\0';
		/* build/amanuensis -> <repo>/models, shown without the "build/.." */
		snprintf(up, sizeof(up), "%s/..", dirname(exe));
		if (!realpath(up, real))
			real[0] = '\0';
	}
	if (real[0]) {
		char models[PATH_MAX + 32];

		snprintf(models, sizeof(models), "%s/models", real);
		add_dir(out, cap, &used, models, strlen(models));
	}
	add_dir(out, cap, &used, "models", 6);
	if (real[0]) {
		char data[PATH_MAX + 32];

		/* <prefix>/bin/amanuensis -> <prefix>/share/amanuensis/models */
		snprintf(data, sizeof(data), "%s/share/amanuensis/models", real);
		add_dir(out, cap, &used, data, strlen(data));
	}
	if (used)
		out[--used] = '\0';     /* the last ':' */
	for (size_t i = 0; used && i <= used; i++)
		count += out[i] == ':' || out[i] == '\0';
	return count;
}

/* @name in folder @dir as @name, ggml-@name.bin or @name.bin; 1 with the path in @out. */
static int in_dir(const char *dir, size_t dlen, const char *name, char *out, size_t cap)
{
	static const char *const forms[] = { "%.*s/%s", "%.*s/ggml-%s.bin", "%.*s/%s.bin" };

	for (size_t i = 0; i < sizeof(forms) / sizeof(forms[0]); i++) {
		char path[PATH_MAX];

		if ((size_t)snprintf(path, sizeof(path), forms[i], (int)dlen, dir, name) >= sizeof(path))
			continue;
		if (exists(path)) {
			snprintf(out, cap, "%s", path);
			return 1;
		}
	}
	return 0;
}

int wsp_runtime_find_model(const char *given, char *out, size_t cap, char *err, size_t errlen)
{
	const char *env = getenv("AMANUENSIS_MODEL");
	char dirs[8192];
	const char *name = given, *d;

	if (!out || cap == 0)
		return -EINVAL;
	if (!given && env && *env) {
		snprintf(out, cap, "%s", env);
		return 0;
	}
	/* a path (anything with a '/', or what exists as named) is taken as it is */
	if (given && (strchr(given, '/') || exists(given) || !*given)) {
		snprintf(out, cap, "%s", given);
		return 0;
	}
	if (!name)
		name = DEFAULT_NAME;
	wsp_runtime_model_dirs(dirs, sizeof(dirs));
	for (d = dirs; *d;) {
		const char *colon = strchr(d, ':');
		size_t len = colon ? (size_t)(colon - d) : strlen(d);

		if (in_dir(d, len, name, out, cap))
			return 0;
		if (!colon)
			break;
		d = colon + 1;
	}
	if (err && errlen)
		snprintf(err, errlen,
			 "no model %s'%s' found; looked for %s, ggml-%s.bin and %s.bin in %s%s. "
			 "Give a path with --model PATH or AMANUENSIS_MODEL=PATH, or a folder of "
			 "models with AMANUENSIS_MODELS (see Documentation/models.md)",
			 given ? "" : "(the default) ", name, name, name, name, dirs,
			 given ? "" : " ($AMANUENSIS_MODEL is unset)");
	return -ENOENT;
}
