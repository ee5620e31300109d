/* SPDX-License-Identifier: MIT */
/*
 * test_install.c - the library as a user gets it from `make install`: the
 * Makefile installs into a scratch DESTDIR ($AMN_INSTALL_DIR) before the
 * suites run; here we check that only the public headers went there, that
 * each compiles on its own in C and C++, that libamanuensis.so exports
 * exactly the documented API (scripts/check_api.py), and that a program
 * built with `pkg-config --cflags --libs amanuensis` against the installed
 * shared library transcribes the sample as the CLI does.
 */
#include <criterion/criterion.h>
#include <dirent.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tests/helpers/test_env.h"

/* The public API (Documentation/api.md); changing it means changing this list. */
static const char *const public_headers[] = {
	"amanuensis.h", "sched/npu.h", "sched/graph.h", "sched/npu_stats.h", "tiler/tile.h",
	"whisper/model.h", "whisper/transcribe.h", "whisper/output.h", "whisper/runtime.h",
	"whisper/vad.h",
};
#define N_PUBLIC (sizeof(public_headers) / sizeof(public_headers[0]))

static char root[PATH_MAX];       /* the repository */
static char build[PATH_MAX];      /* BUILD */
static char dest[PATH_MAX];       /* the DESTDIR the Makefile installed into */
static char incdir[PATH_MAX + 64];

static void setup(void)
{
	char self[PATH_MAX], tmp[PATH_MAX + 8];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	const char *d = getenv("AMN_INSTALL_DIR");

	cr_assert_gt(n, 0);
	self[n] = '\0';
	snprintf(tmp, sizeof(tmp), "%s/..", dirname(self));   /* BUILD/tests/.. */
	cr_assert(realpath(tmp, build));
	snprintf(tmp, sizeof(tmp), "%s/..", build);
	cr_assert(realpath(tmp, root));
	cr_assert(d && *d, "AMN_INSTALL_DIR is not set: run the suite through make test");
	snprintf(dest, sizeof(dest), "%s", d);
	snprintf(incdir, sizeof(incdir), "%s/usr/include/amanuensis", dest);
	setenv("NPU_BACKEND", "cpu", 1);
	unsetenv("AMANUENSIS_MODEL");
}

TestSuite(install, .init = setup);

/* Run @cmd through sh with stdout into @out (may be NULL). Return: exit status, -1 if killed. */
static int sh(const char *cmd, char *out, size_t cap)
{
	FILE *p = popen(cmd, "r");
	size_t n = 0;
	int st, c;

	cr_assert(p, "popen %s", cmd);
	while ((c = fgetc(p)) != EOF)
		if (out && n + 1 < cap)
			out[n++] = (char)c;
	if (out)
		out[n] = '\0';
	st = pclose(p);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static int count_files(const char *dir, const char *rel, char names[][64], int max, int n)
{
	char path[PATH_MAX * 3];
	struct dirent *e;
	DIR *d;

	snprintf(path, sizeof(path), "%s/%s", dir, rel);
	d = opendir(path);
	cr_assert(d, "cannot open %s", path);
	while ((e = readdir(d))) {
		char sub[PATH_MAX];
		struct stat sb;

		if (e->d_name[0] == '.')
			continue;
		snprintf(sub, sizeof(sub), "%s%s%s", rel, *rel ? "/" : "", e->d_name);
		snprintf(path, sizeof(path), "%s/%s", dir, sub);
		cr_assert_eq(stat(path, &sb), 0);
		if (S_ISDIR(sb.st_mode)) {
			n = count_files(dir, sub, names, max, n);
		} else {
			cr_assert_lt(n, max, "too many installed headers");
			cr_assert_lt(strlen(sub), 64, "installed header name too long: %s", sub);
			memcpy(names[n++], sub, strlen(sub) + 1);
		}
	}
	closedir(d);
	return n;
}

Test(install, only_the_public_headers)
{
	char names[64][64];
	int n = count_files(incdir, "", names, 64, 0);

	for (int i = 0; i < n; i++) {
		size_t k = 0;

		while (k < N_PUBLIC && strcmp(names[i], public_headers[k]))
			k++;
		cr_assert_lt(k, N_PUBLIC, "%s is installed but is not public API", names[i]);
	}
	cr_assert_eq((size_t)n, N_PUBLIC, "%d headers installed, %zu public", n, N_PUBLIC);
}

Test(install, each_header_compiles_alone)
{
	char cmd[PATH_MAX * 4], out[4096];

	for (size_t i = 0; i < N_PUBLIC; i++) {
		snprintf(cmd, sizeof(cmd),
			 "printf '#include <%s>\\n' | cc -std=c11 -Wall -Wextra -Werror -fsyntax-only "
			 "-I'%s' -x c - 2>&1 && printf '#include <%s>\\n' | c++ -Wall -Werror "
			 "-fsyntax-only -I'%s' -x c++ - 2>&1",
			 public_headers[i], incdir, public_headers[i], incdir);
		cr_assert_eq(sh(cmd, out, sizeof(out)), 0, "%s alone: %s", public_headers[i], out);
	}
}

Test(install, exports_only_the_documented_api)
{
	char cmd[PATH_MAX * 4], out[16384];
	int len;

	len = snprintf(cmd, sizeof(cmd), "python3 '%s/scripts/check_api.py' '%s/usr/lib/libamanuensis.so'",
		       root, dest);
	for (size_t i = 0; i < N_PUBLIC; i++)
		len += snprintf(cmd + len, sizeof(cmd) - len, " '%s/%s'", incdir, public_headers[i]);
	snprintf(cmd + len, sizeof(cmd) - len, " 2>&1");
	cr_assert_eq(sh(cmd, out, sizeof(out)), 0, "%s", out);
	cr_assert(strstr(out, ", 0 failed"), "%s", out);
}

Test(install, pkg_config_program_transcribes_the_sample)
{
	char cmd[PATH_MAX * 6], flags[4096], out[8192], cli[8192], prog[PATH_MAX + 32];
	char model[PATH_MAX + 32], sample[PATH_MAX + 32], tmpdir[] = "/tmp/test_install_XXXXXX";
	const char *cflags = test_env_or("AMN_INSTALL_CFLAGS", "");
	size_t n;
	FILE *f;

	snprintf(model, sizeof(model), "%s/models/tiny.en/model.bin", root);
	if (access(model, R_OK))
		cr_skip_test("models/tiny.en missing: the installed-library transcription is skipped");
	snprintf(model, sizeof(model), "%s/models/tiny.en", root);
	snprintf(sample, sizeof(sample), "%s/samples/jfk.wav", root);
	snprintf(prog, sizeof(prog), "%s/install-transcribe", build);

	/* the flags as a user gets them, rooted in the scratch DESTDIR */
	snprintf(cmd, sizeof(cmd), "PKG_CONFIG_SYSROOT_DIR='%s' PKG_CONFIG_LIBDIR='%s/usr/lib/pkgconfig' "
		 "pkg-config --cflags --libs amanuensis", dest, dest);
	cr_assert_eq(sh(cmd, flags, sizeof(flags)), 0, "pkg-config failed: %s", flags);
	flags[strcspn(flags, "\n")] = '\0';
	cr_assert(strstr(flags, "-lamanuensis"), "%s", flags);

	snprintf(cmd, sizeof(cmd), "cc -std=c11 -Wall -Wextra -Werror %s '%s/tests/install/transcribe.c' "
		 "-o '%s' %s 2>&1", cflags, root, prog, flags);
	cr_assert_eq(sh(cmd, out, sizeof(out)), 0, "building against the installed library: %s", out);

	/* it must use the installed shared library, not a static copy */
	snprintf(cmd, sizeof(cmd), "readelf -d '%s'", prog);
	cr_assert_eq(sh(cmd, out, sizeof(out)), 0);
	cr_assert(strstr(out, "libamanuensis.so.0"), "not linked to libamanuensis.so.0: %s", out);

	snprintf(cmd, sizeof(cmd), "LD_LIBRARY_PATH='%s/usr/lib' '%s' '%s' '%s'", dest, prog, model, sample);
	cr_assert_eq(sh(cmd, out, sizeof(out)), 0, "the program failed: %s", out);
	cr_assert(strstr(out, "ask not what your country can do for you"), "%s", out);

	/* the CLI's txt for the same file and (default) options */
	cr_assert(mkdtemp(tmpdir));
	snprintf(cmd, sizeof(cmd), "'%s/amanuensis' -q -m '%s' -f txt -o '%s' '%s'", build, model,
		 tmpdir, sample);
	cr_assert_eq(sh(cmd, NULL, 0), 0);
	snprintf(cmd, sizeof(cmd), "%s/jfk.txt", tmpdir);
	f = fopen(cmd, "r");
	cr_assert(f, "the CLI wrote no %s", cmd);
	n = fread(cli, 1, sizeof(cli) - 1, f);
	cli[n] = '\0';
	fclose(f);
	unlink(cmd);
	rmdir(tmpdir);
	cr_assert_str_eq(out, cli, "installed-library program and CLI differ");
}
