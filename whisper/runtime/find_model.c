/* SPDX-License-Identifier: MIT */
/*
 * whisper/runtime/find_model.c - which model to load when none is given:
 * $AMANUENSIS_MODEL, then the repository's models/tiny.en found from the
 * executable's own path, then models/tiny.en under the working directory.
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

#define DEFAULT_MODEL "models/tiny.en"

static int exists(const char *path)
{
	struct stat sb;

	return stat(path, &sb) == 0;
}

int wsp_runtime_find_model(const char *given, char *out, size_t cap, char *err, size_t errlen)
{
	char exe[PATH_MAX], beside[PATH_MAX + 32] = "";
	const char *env = getenv("AMANUENSIS_MODEL");
	char *dir;
	ssize_t n;

	if (given) {
		snprintf(out, cap, "%s", given);
		return 0;
	}
	if (env && *env) {
		snprintf(out, cap, "%s", env);
		return 0;
	}
	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n > 0) {
		exe[n] = '\0';
		dir = dirname(exe);
		/* build/amanuensis -> build/../models/tiny.en */
		snprintf(beside, sizeof(beside), "%s/../%s", dir, DEFAULT_MODEL);
		if (exists(beside)) {
			char up[PATH_MAX + 4], real[PATH_MAX];

			/* "/repo/build/../models/tiny.en" shown as "/repo/models/tiny.en";
			 * models/tiny.en itself may be a symlink and is kept as named. */
			snprintf(up, sizeof(up), "%s/..", dir);
			if (realpath(up, real))
				snprintf(out, cap, "%s/%s", real, DEFAULT_MODEL);
			else
				snprintf(out, cap, "%s", beside);
			return 0;
		}
	}
	if (exists(DEFAULT_MODEL)) {
		snprintf(out, cap, "%s", DEFAULT_MODEL);
		return 0;
	}
	snprintf(err, errlen,
		 "no model found; searched $AMANUENSIS_MODEL (unset)%s%s and ./%s. "
		 "Give one with --model PATH or AMANUENSIS_MODEL=PATH "
		 "(see Documentation/models.md)",
		 *beside ? ", " : "", beside, DEFAULT_MODEL);
	return -ENOENT;
}
