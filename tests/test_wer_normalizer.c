// SPDX-License-Identifier: MIT
/*
 * tests/test_wer_normalizer.c - the benchmark's WER normaliser
 * (tools/whisper_normalizer.py, openai-whisper's English rules rewritten in
 * Python) passes its known input/output pairs, and its stdin filter applies
 * the same rules. Skipped where python3 is missing; run from the repo root.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define NORMALIZER "tools/whisper_normalizer.py"

static void need_python(void)
{
	if (access(NORMALIZER, R_OK) != 0)
		cr_skip_test("%s not found (run from the repository root)", NORMALIZER);
	if (system("python3 -c '' >/dev/null 2>&1") != 0)
		cr_skip_test("python3 not available");
}

Test(wer_normalizer, selftest_pairs)
{
	need_python();
	cr_assert_eq(system("python3 " NORMALIZER " --selftest >/dev/null"), 0,
		     "python3 %s --selftest failed; run it by hand to see the pairs", NORMALIZER);
}

Test(wer_normalizer, filter_normalises_each_line)
{
	char line[256] = "";
	FILE *p;

	need_python();
	p = popen("printf 'Twenty one, Colour!\\n[Music] Uh, it\\047s two dollars.\\n' | python3 "
		  NORMALIZER, "r");
	cr_assert_not_null(p);
	cr_assert_not_null(fgets(line, sizeof(line), p));
	cr_expect_str_eq(line, "21 color\n");
	cr_assert_not_null(fgets(line, sizeof(line), p));
	cr_expect_str_eq(line, "it is $2\n");
	cr_expect_null(fgets(line, sizeof(line), p));
	cr_expect_eq(pclose(p), 0);
}

Test(wer_normalizer, bad_usage_exits_2)
{
	need_python();
	cr_expect_eq(system("python3 " NORMALIZER " --bogus 2>/dev/null"), 2 << 8);
}
