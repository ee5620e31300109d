/*
 * test_npustress.c - npustress end to end: a counted run on emu with faults
 * verifies every result and accounts for every job; bad usage exits 2.
 */
#include <criterion/criterion.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static int run_stress(const char *args, char *out, size_t len)
{
	char exe[PATH_MAX], cmd[PATH_MAX + 256];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	size_t got;
	FILE *p;
	int st;

	cr_assert_gt(n, 0);
	exe[n] = '\0';
	snprintf(cmd, sizeof(cmd), "%s/../npustress %s 2>/dev/null", dirname(exe), args);
	p = popen(cmd, "r");
	cr_assert(p);
	got = fread(out, 1, len - 1, p);
	out[got] = '\0';
	st = pclose(p);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static long json_long(const char *s, const char *key)
{
	char pat[64];
	const char *p;

	snprintf(pat, sizeof(pat), "\"%s\":", key);
	p = strstr(s, pat);
	cr_assert(p, "no %s in %s", key, s);
	return strtol(p + strlen(pat), NULL, 10);
}

Test(npustress, counted_run_with_faults_accounts_for_every_job)
{
	static char out[8192];
	int count = getenv("AMN_TEST_SCALE") ? 10 : 40;
	char args[128];

	snprintf(args, sizeof(args), "-b emu -t 3 -T 2 -n %d -m 80 -k 200 -N 48 -f 50000 --json",
		 count);
	cr_assert_eq(run_stress(args, out, sizeof(out)), 0, "%s", out);
	cr_assert_eq(json_long(out, "jobs"), 3L * count, "%s", out);
	cr_assert_eq(json_long(out, "mismatches"), 0);
	cr_assert_eq(json_long(out, "lost"), 0);
	cr_assert_eq(json_long(out, "doubled"), 0);
	cr_assert(strstr(out, "\"jain\":") && strstr(out, "\"p99_us\":"));
}

Test(npustress, bad_usage_exits_2)
{
	static char out[1024];

	cr_assert_eq(run_stress("--threads 0", out, sizeof(out)), 2);
	cr_assert_eq(run_stress("-d -1", out, sizeof(out)), 2);
	cr_assert_eq(run_stress("stray", out, sizeof(out)), 2);
	cr_assert_eq(run_stress("-b nosuch -n 1", out, sizeof(out)), 2);
	cr_assert_eq(run_stress("--help", out, sizeof(out)), 0);
	cr_assert(strstr(out, "--faults"));
}
