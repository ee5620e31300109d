/* SPDX-License-Identifier: MIT */
/*
 * tests/test_amn_env.c - the library's environment parser (common/amn_env.h)
 * and default thread count (common/amn_threads.h): decimal only, blanks
 * around allowed, junk, signs, overflow and out-of-range values rejected,
 * the switch and mode words, a bad value reported once with the default
 * used, and the thread default following AMN_THREADS and the affinity mask.
 * Criterion runs each test in a process of its own, so every test sees a
 * fresh warning table and thread default.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <limits.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/amn_env.h"
#include "common/amn_threads.h"

/* stderr goes to a temporary file between capture_start() and capture_end(). */
struct capture {
	FILE *file;
	int saved_fd;
};

static void capture_start(struct capture *c)
{
	fflush(stderr);
	c->file = tmpfile();
	cr_assert_not_null(c->file);
	c->saved_fd = dup(STDERR_FILENO);
	cr_assert_geq(c->saved_fd, 0);
	cr_assert_geq(dup2(fileno(c->file), STDERR_FILENO), 0);
}

/* Stops capturing; @buf receives what was written (NUL-terminated). */
static void capture_end(struct capture *c, char *buf, size_t len)
{
	size_t n;

	fflush(stderr);
	cr_assert_geq(dup2(c->saved_fd, STDERR_FILENO), 0);
	close(c->saved_fd);
	rewind(c->file);
	n = fread(buf, 1, len - 1, c->file);
	buf[n] = '\0';
	fclose(c->file);
}

static int parse(const char *s, unsigned long min, unsigned long max, unsigned long *out)
{
	*out = 12345;
	return amn_parse_ulong(s, min, max, out);
}

Test(amn_env, decimal_numbers_with_blanks_around)
{
	unsigned long n;

	cr_assert_eq(parse("42", 0, ULONG_MAX, &n), 0);
	cr_assert_eq(n, 42);
	cr_assert_eq(parse("  7\t", 0, ULONG_MAX, &n), 0);
	cr_assert_eq(n, 7);
	cr_assert_eq(parse("\t 0 \n", 0, ULONG_MAX, &n), 0);
	cr_assert_eq(n, 0);
	cr_assert_eq(parse("010", 0, ULONG_MAX, &n), 0, "a leading zero is not octal");
	cr_assert_eq(n, 10);
	cr_assert_eq(parse("18446744073709551615", 0, ULONG_MAX, &n), 0);
	cr_assert_eq(n, ULONG_MAX);
	cr_assert_eq(parse("4", 4, 4, &n), 0);
	cr_assert_eq(n, 4);
}

Test(amn_env, junk_empty_and_other_bases_are_not_numbers)
{
	static const char *const bad[] = {
		"", "   ", "4x", "4 x", "x4", "0x10", "1e3", "2.5", "+4", "-", "- 3", "4,0",
	};
	unsigned long n;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		cr_assert_eq(parse(bad[i], 0, ULONG_MAX, &n), -EINVAL, "'%s'", bad[i]);
		cr_assert_eq(n, 12345, "'%s' changed the output", bad[i]);
	}
}

Test(amn_env, negative_overflow_and_out_of_range)
{
	unsigned long n;

	cr_assert_eq(parse("-3", 0, ULONG_MAX, &n), -ERANGE);
	cr_assert_eq(parse(" -1 ", 0, ULONG_MAX, &n), -ERANGE);
	cr_assert_eq(parse("18446744073709551616", 0, ULONG_MAX, &n), -ERANGE);
	cr_assert_eq(parse("99999999999999999999999", 0, ULONG_MAX, &n), -ERANGE);
	cr_assert_eq(parse("0", 1, 10, &n), -ERANGE);
	cr_assert_eq(parse("11", 1, 10, &n), -ERANGE);
	cr_assert_eq(n, 12345);
	cr_assert_eq(parse("-0", 0, 10, &n), 0, "minus zero is zero");
	cr_assert_eq(n, 0);
}

Test(amn_env, switch_words)
{
	static const char *const on[] = { "1", "true", "TRUE", "yes", "Yes", "on", " on\t" };
	static const char *const off[] = { "0", "false", "False", "no", "NO", "off", "  0  " };
	static const char *const bad[] = { "", " ", "2", "y", "n", "enable", "truex", "01" };
	bool b;

	for (size_t i = 0; i < sizeof(on) / sizeof(on[0]); i++) {
		b = false;
		cr_assert_eq(amn_parse_bool(on[i], &b), 0, "'%s'", on[i]);
		cr_assert(b, "'%s' is on", on[i]);
	}
	for (size_t i = 0; i < sizeof(off) / sizeof(off[0]); i++) {
		b = true;
		cr_assert_eq(amn_parse_bool(off[i], &b), 0, "'%s'", off[i]);
		cr_assert(!b, "'%s' is off", off[i]);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		cr_assert_eq(amn_parse_bool(bad[i], &b), -EINVAL, "'%s'", bad[i]);
}

Test(amn_env, unset_and_empty_give_the_default_silently)
{
	struct capture c;
	char out[512];

	capture_start(&c);
	unsetenv("AMN_TEST_NUMBER");
	cr_assert_eq(amn_env_ulong("AMN_TEST_NUMBER", 0, 100, 9), 9);
	setenv("AMN_TEST_NUMBER", "", 1);
	cr_assert_eq(amn_env_ulong("AMN_TEST_NUMBER", 0, 100, 9), 9);
	setenv("AMN_TEST_NUMBER", "  ", 1);
	cr_assert_eq(amn_env_ulong("AMN_TEST_NUMBER", 0, 100, 9), 9);
	setenv("AMN_TEST_SWITCH", "", 1);
	cr_assert_eq(amn_env_bool("AMN_TEST_SWITCH", true), true);
	capture_end(&c, out, sizeof(out));
	cr_assert_str_eq(out, "");
}

Test(amn_env, a_bad_value_is_reported_once_and_the_default_used)
{
	struct capture c;
	char out[1024];

	capture_start(&c);
	setenv("AMN_TEST_NUMBER", "4x", 1);
	for (int i = 0; i < 3; i++)
		cr_assert_eq(amn_env_ulong("AMN_TEST_NUMBER", 1, 64, 2), 2);
	setenv("AMN_TEST_NUMBER", "-5", 1);
	cr_assert_eq(amn_env_ulong("AMN_TEST_NUMBER", 1, 64, 2), 2);
	setenv("AMN_TEST_NUMBER", "65", 1);
	cr_assert_eq(amn_env_ulong("AMN_TEST_NUMBER", 1, 64, 2), 2);
	setenv("AMN_TEST_NUMBER", " 33 ", 1);
	cr_assert_eq(amn_env_ulong("AMN_TEST_NUMBER", 1, 64, 2), 33);
	setenv("AMN_TEST_SWITCH", "maybe", 1);
	cr_assert_eq(amn_env_bool("AMN_TEST_SWITCH", true), true);
	cr_assert_eq(amn_env_bool("AMN_TEST_SWITCH", true), true);
	capture_end(&c, out, sizeof(out));
	cr_assert_str_eq(out,
			 "amanuensis: AMN_TEST_NUMBER=4x: not a whole number; using the default 2\n"
			 "amanuensis: AMN_TEST_NUMBER=-5: not in 1..64; using the default 2\n"
			 "amanuensis: AMN_TEST_NUMBER=65: not in 1..64; using the default 2\n"
			 "amanuensis: AMN_TEST_SWITCH=maybe: not 0/1, true/false, yes/no or on/off; "
			 "using the default 1\n");
}

Test(amn_env, mode_words)
{
	static const char *const modes[] = { "auto", "generic", NULL };
	struct capture c;
	char out[512];

	capture_start(&c);
	unsetenv("AMN_TEST_MODE");
	cr_assert_eq(amn_env_choice("AMN_TEST_MODE", modes, 0), 0);
	setenv("AMN_TEST_MODE", "generic", 1);
	cr_assert_eq(amn_env_choice("AMN_TEST_MODE", modes, 0), 1);
	setenv("AMN_TEST_MODE", " generic\t", 1);
	cr_assert_eq(amn_env_choice("AMN_TEST_MODE", modes, 0), 1);
	setenv("AMN_TEST_MODE", "auto", 1);
	cr_assert_eq(amn_env_choice("AMN_TEST_MODE", modes, 1), 0);
	setenv("AMN_TEST_MODE", "Generic", 1);
	cr_assert_eq(amn_env_choice("AMN_TEST_MODE", modes, 0), 0);
	setenv("AMN_TEST_MODE", "gen", 1);
	cr_assert_eq(amn_env_choice("AMN_TEST_MODE", modes, 0), 0);
	capture_end(&c, out, sizeof(out));
	cr_assert_str_eq(out,
			 "amanuensis: AMN_TEST_MODE=Generic: not one of auto, generic; "
			 "using the default auto\n"
			 "amanuensis: AMN_TEST_MODE=gen: not one of auto, generic; "
			 "using the default auto\n");
}

/* The CPUs in this thread's affinity mask. */
static int mask_count(void)
{
	cpu_set_t set;

	cr_assert_eq(sched_getaffinity(0, sizeof(set), &set), 0);
	return CPU_COUNT(&set);
}

Test(amn_threads, default_follows_amn_threads)
{
	setenv("AMN_THREADS", " 3 ", 1);
	cr_assert_eq(amn_threads_default(), 3);
	setenv("AMN_THREADS", "5", 1);
	cr_assert_eq(amn_threads_default(), 3, "decided once per process");
}

Test(amn_threads, default_is_the_affinity_mask_without_amn_threads)
{
	cpu_set_t one;
	int cpu = -1;

	unsetenv("AMN_THREADS");
	cr_assert_eq(amn_threads_online(), mask_count());
	CPU_ZERO(&one);
	for (int i = 0; i < CPU_SETSIZE && cpu < 0; i++) {
		cpu_set_t set;

		cr_assert_eq(sched_getaffinity(0, sizeof(set), &set), 0);
		if (CPU_ISSET(i, &set))
			cpu = i;
	}
	CPU_SET(cpu, &one);
	cr_assert_eq(sched_setaffinity(0, sizeof(one), &one), 0);
	cr_assert_eq(amn_threads_online(), 1);
	cr_assert_eq(amn_threads_default(), 1);
}

Test(amn_threads, bad_amn_threads_warns_and_uses_the_cpus)
{
	struct capture c;
	char out[512], want[512];
	int online = amn_threads_online();

	capture_start(&c);
	setenv("AMN_THREADS", "4x", 1);
	cr_assert_eq(amn_threads_default(), online);
	capture_end(&c, out, sizeof(out));
	snprintf(want, sizeof(want),
		 "amanuensis: AMN_THREADS=4x: not a whole number; using the default %d\n", online);
	cr_assert_str_eq(out, want);
}

Test(amn_threads, zero_and_too_many_threads_are_out_of_range)
{
	struct capture c;
	char out[512];
	unsigned long n;

	cr_assert_eq(amn_parse_ulong("0", 1, AMN_THREADS_MAX, &n), -ERANGE);
	cr_assert_eq(amn_parse_ulong("4097", 1, AMN_THREADS_MAX, &n), -ERANGE);
	capture_start(&c);
	setenv("AMN_THREADS", "0", 1);
	cr_assert_eq(amn_threads_default(), amn_threads_online());
	capture_end(&c, out, sizeof(out));
	cr_assert(strstr(out, "AMN_THREADS=0: not in 1..4096"), "%s", out);
}
