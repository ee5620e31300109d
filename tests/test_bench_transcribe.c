// SPDX-License-Identifier: MIT
/*
 * tests/test_bench_transcribe.c - the peer benchmark's bookkeeping
 * (tools/bench_transcribe.py), without timing anything real: a missing
 * amanuensis binary is reported as unavailable rather than crashing, and a
 * stand-in CLI that "transcribes" every file perfectly at exactly 10x
 * realtime (per-file run.wall_ms) comes out with rtf 10 and WER 0, with the
 * warm-up file left out, in single- and multi-stream runs. Skipped where
 * python3 with jiwer or the shared audio is missing; run from the repo root.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define BENCH "python3 tools/bench_transcribe.py"

static char stub[64];

static const char *audio_dir(void)
{
	const char *a = getenv("AMN_SHARED_AUDIO");

	return a ? a : "../shared/audio";
}

static void need_env(void)
{
	char m[512];

	snprintf(m, sizeof(m), "%s/manifest.tsv", audio_dir());
	if (access("tools/bench_transcribe.py", R_OK) != 0 || access(m, R_OK) != 0)
		cr_skip_test("tools/bench_transcribe.py or %s not found", m);
	if (system("python3 -c 'import jiwer' >/dev/null 2>&1") != 0)
		cr_skip_test("python3 with jiwer not available");
}

/* Run @cmd, return its whole stdout (caller frees) and exit status. */
static char *capture(const char *cmd, int *status)
{
	static char buf[65536];
	size_t n;
	FILE *p = popen(cmd, "r");

	cr_assert_not_null(p);
	n = fread(buf, 1, sizeof(buf) - 1, p);
	buf[n] = '\0';
	*status = pclose(p);
	return buf;
}

static void remove_stub(void)
{
	if (stub[0])
		unlink(stub);
}

Test(bench_transcribe, missing_binary_is_unavailable)
{
	char cmd[1024];
	int st;
	char *out;

	need_env();
	snprintf(cmd, sizeof(cmd), BENCH " --audio %s --models tiny.en --beams 1 --impls amanuensis "
		 "--amanuensis build/no-such-amanuensis --json 2>/dev/null", audio_dir());
	out = capture(cmd, &st);
	cr_assert_eq(st, 0, "exit status %d; output:\n%s", st, out);
	cr_expect(strstr(out, "\"impl\": \"amanuensis\", \"model\": \"tiny.en\", \"compute\": \"int8\", "
			 "\"beam\": 1, \"rtf\": null") != NULL, "%s", out);
	cr_expect(strstr(out, "\"compute\": \"fp32\"") != NULL, "%s", out);
	cr_expect(strstr(out, "\"status\": \"unavailable: build/no-such-amanuensis not built\"") != NULL,
		  "%s", out);
	cr_expect(strstr(out, "\"bench\": \"multistream\"") != NULL, "%s", out);
	cr_expect(strstr(out, "\"concurrent_rtf\": null") != NULL, "%s", out);
}

/*
 * The stand-in: writes DIR/BASE.json for every file with the manifest's
 * transcript (found by the file the symlink points at) and wall_ms =
 * duration * 100, i.e. 10x realtime; the file named by $AMN_STUB_SILENT
 * comes out empty.
 */
static const char stub_src[] =
"#!/usr/bin/env python3\n"
"import json, os, sys\n"
"a = sys.argv[1:]\n"
"out = a[a.index('--output-dir') + 1]\n"
"files = [x for x in a if x.endswith('.wav')]\n"
"os.makedirs(out, exist_ok=True)\n"
"for f in files:\n"
"    real = os.path.realpath(f)\n"
"    rows = [l.rstrip('\\n').split('\\t') for l in open(os.path.join(os.path.dirname(real), 'manifest.tsv'))]\n"
"    row = [r for r in rows[1:] if r[0] == os.path.basename(real)][0]\n"
"    text = '' if os.path.basename(real) == os.environ.get('AMN_STUB_SILENT') else row[5]\n"
"    doc = {'segments': [{'text': ' ' + text}], 'run': {'wall_ms': float(row[1]) * 100.0}}\n"
"    base = os.path.splitext(os.path.basename(f))[0]\n"
"    json.dump(doc, open(os.path.join(out, base + '.json'), 'w'))\n";

static void write_stub(void)
{
	FILE *f;
	int fd;

	strcpy(stub, "/tmp/amn_stub_XXXXXX");
	fd = mkstemp(stub);
	cr_assert_geq(fd, 0);
	f = fdopen(fd, "w");
	cr_assert_not_null(f);
	fputs(stub_src, f);
	fclose(f);
	chmod(stub, 0755);
}

/*
 * --by-source: WER per group of the manifest's speaker_or_source column.
 * jfk.wav alone comes out empty, so its group ("JFK") has WER 1 and the
 * others ("speaker", "LJ") 0; the table shows LibriSpeech's published
 * figure for tiny.en.
 */
Test(bench_transcribe, wer_by_source_groups_the_manifest, .fini = remove_stub)
{
	char cmd[1024];
	int st;
	char *out;

	need_env();
	write_stub();
	snprintf(cmd, sizeof(cmd), "AMN_STUB_SILENT=jfk.wav " BENCH " --audio %s --models tiny.en "
		 "--beams 1 --impls amanuensis --computes int8 --no-multistream --by-source "
		 "--amanuensis %s --json 2>/dev/null", audio_dir(), stub);
	out = capture(cmd, &st);
	cr_assert_eq(st, 0, "exit status %d; output:\n%s", st, out);
	cr_expect(strstr(out, "\"wer_by_source\": {\"JFK\": 1.0, \"LJ\": 0.0, \"speaker\": 0.0}") != NULL,
		  "%s", out);
	cr_expect(strstr(out, "WER % by source") != NULL, "%s", out);
	cr_expect(strstr(out, "5.6") != NULL, "published tiny.en figure missing:\n%s", out);
}

Test(bench_transcribe, stand_in_cli_gives_exact_rtf_and_wer, .fini = remove_stub)
{
	char cmd[1024];
	int st;
	char *out;

	need_env();
	write_stub();
	snprintf(cmd, sizeof(cmd), BENCH " --audio %s --models tiny.en --beams 5 --impls amanuensis "
		 "--computes int8 --amanuensis %s --json 2>/dev/null", audio_dir(), stub);
	out = capture(cmd, &st);
	cr_assert_eq(st, 0, "exit status %d; output:\n%s", st, out);
	cr_expect(strstr(out, "\"impl\": \"amanuensis\", \"model\": \"tiny.en\", \"compute\": \"int8\", "
			 "\"beam\": 5, \"rtf\": 10.0, \"wer\": 0.0") != NULL, "%s", out);
	cr_expect(strstr(out, "\"timing\": \"sum of run.wall_ms\"") != NULL, "%s", out);
	cr_expect(strstr(out, "\"sequential_rtf\": 10.0") != NULL, "%s", out);
	cr_expect(strstr(out, "\"streams\": 8") != NULL, "%s", out);
}
