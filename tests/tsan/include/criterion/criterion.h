/* SPDX-License-Identifier: MIT */
/*
 * tests/tsan/include/criterion/criterion.h - the part of Criterion's API our
 * suites use, for building them as plain programs under ThreadSanitizer.
 *
 * Criterion cannot start under ThreadSanitizer: its inheritable arena is
 * mapped at random addresses in 0x2000'0000'0000..0x6000'0000'0000, almost
 * all of which TSan reserves, and after ten tries it aborts ("Could not
 * initialize inheritable arena", Snaipe/Criterion#274). `make tsan` therefore
 * compiles the same tests/test_*.c with this directory first on the include
 * path and links tests/tsan/crt_main.c: every Test() runs in order, in one
 * process, without forking, so TSan sees all of its threads.
 *
 * A failed cr_assert*() ends the test (longjmp on the runner thread, exit on
 * any other thread); a failed cr_expect*() marks it failed and goes on.
 */
#ifndef AMN_TSAN_CRITERION_H
#define AMN_TSAN_CRITERION_H

#include <math.h>
#include <stdbool.h>
#include <stddef.h>
#include <string.h>

struct crt_test {
	const char *suite, *name;
	void (*fn)(void);
	struct crt_test *next;
};

/** crt_register - add @t to the run list (called from constructors). */
void crt_register(struct crt_test *t);

/* A suite's fixtures: TestSuite(name, .init = f, .fini = g, .timeout = s). */
struct crt_suite {
	const char *name;
	void (*init)(void);
	void (*fini)(void);
	double timeout;          /* accepted, not enforced */
	struct crt_suite *next;
};

/** crt_register_suite - record @s; its init/fini run around each of its tests. */
void crt_register_suite(struct crt_suite *s);

#define TestSuite(suite, ...)                                                    \
	static struct crt_suite crt_s_##suite = { .name = #suite, __VA_ARGS__ };  \
	__attribute__((constructor)) static void crt_sreg_##suite(void)          \
	{                                                                        \
		crt_register_suite(&crt_s_##suite);                              \
	}

/**
 * crt_check - record the outcome of one assertion.
 * @ok:    the condition held.
 * @fatal: end the test on failure (cr_assert) rather than go on (cr_expect).
 * @fmt:   " " followed by the optional printf message.
 */
void crt_check(bool ok, bool fatal, const char *file, int line, const char *expr,
	       const char *fmt, ...) __attribute__((format(printf, 6, 7)));

/** crt_skip - end the current test as skipped. */
void crt_skip(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

#define Test(suite, name, ...)                                                   \
	static void crt_fn_##suite##_##name(void);                               \
	static struct crt_test crt_t_##suite##_##name = {                        \
		#suite, #name, crt_fn_##suite##_##name, NULL };                  \
	__attribute__((constructor)) static void crt_reg_##suite##_##name(void) \
	{                                                                        \
		crt_register(&crt_t_##suite##_##name);                           \
	}                                                                        \
	static void crt_fn_##suite##_##name(void)

#define CRT_(fatal, cond, text, ...) \
	crt_check((cond) ? true : false, fatal, __FILE__, __LINE__, text, " " __VA_ARGS__)

#define cr_assert(c, ...)             CRT_(true, (c), #c, __VA_ARGS__)
#define cr_expect(c, ...)             CRT_(false, (c), #c, __VA_ARGS__)
#define cr_assert_not(c, ...)         CRT_(true, !(c), "!(" #c ")", __VA_ARGS__)
#define cr_expect_not(c, ...)         CRT_(false, !(c), "!(" #c ")", __VA_ARGS__)
#define cr_assert_eq(a, b, ...)       CRT_(true, (a) == (b), #a " == " #b, __VA_ARGS__)
#define cr_assert_float_eq(a, b, eps, ...) \
	CRT_(true, fabs((double)(a) - (double)(b)) <= (double)(eps), #a " ~= " #b, __VA_ARGS__)
#define cr_expect_float_eq(a, b, eps, ...) \
	CRT_(false, fabs((double)(a) - (double)(b)) <= (double)(eps), #a " ~= " #b, __VA_ARGS__)
#define cr_expect_eq(a, b, ...)       CRT_(false, (a) == (b), #a " == " #b, __VA_ARGS__)
#define cr_assert_neq(a, b, ...)      CRT_(true, (a) != (b), #a " != " #b, __VA_ARGS__)
#define cr_expect_neq(a, b, ...)      CRT_(false, (a) != (b), #a " != " #b, __VA_ARGS__)
#define cr_assert_lt(a, b, ...)       CRT_(true, (a) < (b), #a " < " #b, __VA_ARGS__)
#define cr_expect_lt(a, b, ...)       CRT_(false, (a) < (b), #a " < " #b, __VA_ARGS__)
#define cr_assert_leq(a, b, ...)      CRT_(true, (a) <= (b), #a " <= " #b, __VA_ARGS__)
#define cr_expect_leq(a, b, ...)      CRT_(false, (a) <= (b), #a " <= " #b, __VA_ARGS__)
#define cr_assert_gt(a, b, ...)       CRT_(true, (a) > (b), #a " > " #b, __VA_ARGS__)
#define cr_expect_gt(a, b, ...)       CRT_(false, (a) > (b), #a " > " #b, __VA_ARGS__)
#define cr_assert_geq(a, b, ...)      CRT_(true, (a) >= (b), #a " >= " #b, __VA_ARGS__)
#define cr_expect_geq(a, b, ...)      CRT_(false, (a) >= (b), #a " >= " #b, __VA_ARGS__)
#define cr_assert_null(p, ...)        CRT_(true, (p) == NULL, #p " == NULL", __VA_ARGS__)
#define cr_expect_null(p, ...)        CRT_(false, (p) == NULL, #p " == NULL", __VA_ARGS__)
#define cr_assert_not_null(p, ...)    CRT_(true, (p) != NULL, #p " != NULL", __VA_ARGS__)
#define cr_expect_not_null(p, ...)    CRT_(false, (p) != NULL, #p " != NULL", __VA_ARGS__)
#define cr_assert_str_eq(a, b, ...)   CRT_(true, !strcmp((a), (b)), #a " eq " #b, __VA_ARGS__)
#define cr_expect_str_eq(a, b, ...)   CRT_(false, !strcmp((a), (b)), #a " eq " #b, __VA_ARGS__)
#define cr_assert_fail(...)           CRT_(true, false, "fail", __VA_ARGS__)
#define cr_skip_test(...)             crt_skip(" " __VA_ARGS__)
#define cr_log_info(...)              ((void)0)
#define cr_log_warn(...)              ((void)0)

#endif /* AMN_TSAN_CRITERION_H */
