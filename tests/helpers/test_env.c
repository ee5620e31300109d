/* SPDX-License-Identifier: MIT */
/* tests/helpers/test_env.c - the environment the test suites read. */
#include <stdlib.h>
#include <string.h>
#include "tests/helpers/test_env.h"

const char *test_env_or(const char *k, const char *def)
{
	const char *v = getenv(k);

	return v && *v ? v : def;
}

int test_small_scale(void)
{
	const char *s = getenv("AMN_TEST_SCALE");

	return s && strcmp(s, "small") == 0;
}
