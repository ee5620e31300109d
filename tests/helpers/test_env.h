/* SPDX-License-Identifier: MIT */
/*
 * tests/helpers/test_env.h - the environment the test suites read: paths
 * from the Makefile (AMN_MODEL, AMN_REF_DIR, ...) and the test scale.
 */
#ifndef AMN_TEST_ENV_H
#define AMN_TEST_ENV_H

/** test_env_or - the value of environment variable @k, or @def when unset or empty. */
const char *test_env_or(const char *k, const char *def);

/** test_small_scale - true when AMN_TEST_SCALE=small (sanitizer and valgrind runs). */
int test_small_scale(void);

#endif
