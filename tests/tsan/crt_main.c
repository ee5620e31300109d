/* SPDX-License-Identifier: MIT */
/*
 * tests/tsan/crt_main.c - runner for suites built against the Criterion
 * stand-in (include/criterion/criterion.h): runs every registered test in
 * order, prints one line per test, exits 1 if any failed.
 *
 * `./test_ring name` runs only the tests whose "suite::name" contains name.
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "criterion/criterion.h"

static struct crt_test *head, **tail = &head;
static struct crt_suite *suites;
static pthread_t runner;
static jmp_buf test_exit;
static atomic_int failed;  /* current test; assertions may fail on any thread */

void crt_register(struct crt_test *t)
{
	*tail = t;
	tail = &t->next;
}

void crt_register_suite(struct crt_suite *s)
{
	s->next = suites;
	suites = s;
}

static const struct crt_suite *suite_of(const struct crt_test *t)
{
	for (const struct crt_suite *s = suites; s; s = s->next)
		if (!strcmp(s->name, t->suite))
			return s;
	return NULL;
}

void crt_check(bool ok, bool fatal, const char *file, int line, const char *expr,
	       const char *fmt, ...)
{
	va_list ap;

	if (ok)
		return;
	atomic_store(&failed, 1);
	fprintf(stderr, "%s:%d: %s failed: %s", file, line, fatal ? "assertion" : "expectation",
		expr);
	if (fmt[0] && fmt[1]) {  /* fmt is " " + the message */
		fputs(":", stderr);
		va_start(ap, fmt);
		vfprintf(stderr, fmt, ap);
		va_end(ap);
	}
	fputc('\n', stderr);
	if (!fatal)
		return;
	if (pthread_equal(pthread_self(), runner))
		longjmp(test_exit, 1);
	fflush(NULL);
	_exit(1);  /* a fatal assertion on a test's own thread */
}

void crt_skip(const char *fmt, ...)
{
	va_list ap;

	fputs("  skipped:", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	longjmp(test_exit, 2);
}

/* Call @fn under the test's exit point: 0 when it returned, 1 or 2 if not. */
static int guarded(void (*fn)(void))
{
	int how = setjmp(test_exit);

	if (!how)
		fn();
	return how;
}

/*
 * Run one test between its suite's init and fini, as Criterion does: 0
 * when it returned, 1 after a fatal assertion, 2 if skipped (a skip or a
 * failure in init skips the test itself; fini runs whenever init returned).
 */
static int run_one(const struct crt_test *t)
{
	const struct crt_suite *s = suite_of(t);
	int how = s && s->init ? guarded(s->init) : 0;

	if (how)
		return how;   /* init failed or skipped: no test, no fini */
	how = guarded(t->fn);
	if (s && s->fini) {
		int f = guarded(s->fini);

		if (!how)
			how = f;
	}
	return how;
}

int main(int argc, char **argv)
{
	int run = 0, bad = 0;

	runner = pthread_self();
	setvbuf(stdout, NULL, _IOLBF, 0);
	for (struct crt_test *t = head; t; t = t->next) {
		char full[256];
		int how;

		snprintf(full, sizeof(full), "%s::%s", t->suite, t->name);
		if (argc > 1 && !strstr(full, argv[1]))
			continue;
		atomic_store(&failed, 0);
		how = run_one(t);
		run++;
		if (atomic_load(&failed)) {
			bad++;
			printf("[FAIL] %s\n", full);
		} else {
			printf("[%s] %s\n", how == 2 ? "SKIP" : "PASS", full);
		}
	}
	printf("tests: %d run, %d failed\n", run, bad);
	return bad ? 1 : 0;
}
