/* SPDX-License-Identifier: MIT */
/*
 * tests/install/transcribe.c - a program a user would write against the
 * installed library: only <amanuensis.h>, built with
 * `pkg-config --cflags --libs amanuensis`. Transcribes one file and prints
 * it as txt. tests/test_install.c builds and runs it.
 *
 * usage: transcribe MODEL AUDIO
 */
#include <stdio.h>

#include <amanuensis.h>

int main(int argc, char **argv)
{
	struct wsp_transcribe_opts t;
	struct wsp_runtime_opts o;
	struct wsp_runtime_error e;
	struct wsp_result res = { 0 };
	struct wsp_runtime *rt;
	char err[512] = "";
	int rc;

	if (argc != 3) {
		fprintf(stderr, "usage: %s MODEL AUDIO\n", argv[0]);
		return 2;
	}
	wsp_runtime_opts_default(&o);
	o.model = argv[1];
	if (wsp_runtime_open(&rt, &o, &e)) {
		fprintf(stderr, "transcribe: %s\n", e.message);
		return 1;
	}
	wsp_transcribe_opts_default(&t);
	rc = wsp_transcribe_file(wsp_runtime_context(rt), argv[2], &t, &res, err, sizeof(err));
	if (rc)
		fprintf(stderr, "transcribe: %s: %s\n", argv[2], err);
	else
		rc = wsp_write_txt(stdout, &res);
	wsp_result_free(&res);
	wsp_runtime_close(rt);
	return rc ? 1 : 0;
}
