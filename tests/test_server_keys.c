/* SPDX-License-Identifier: MIT */
/*
 * tests/test_server_keys.c - the server's --keys file: good files (comments,
 * tabs, several keys of one tenant, options), every kind of malformed line
 * refused with its line number, bearer lookups that hit and miss, and the
 * open keyring used without --keys.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tools/amanuensis-server/keys.h"

/* Write @text to a fresh temporary file; its path goes into @path. */
static void write_file(char *path, size_t len, const char *text)
{
	int fd;

	snprintf(path, len, "/tmp/amn-keys-XXXXXX");
	fd = mkstemp(path);
	cr_assert_geq(fd, 0);
	cr_assert_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
}

static int load_text(struct srv_keyring *kr, const char *text, char *err, size_t errlen,
		     char *path, size_t pathlen)
{
	int ret;

	write_file(path, pathlen, text);
	ret = srv_keyring_load(kr, path, err, errlen);
	unlink(path);
	return ret;
}

static int tenant_of(const struct srv_keyring *kr, const char *name)
{
	for (size_t i = 0; i < kr->n_tenants; i++)
		if (!strcmp(kr->tenants[i].name, name))
			return (int)i;
	return -1;
}

Test(keys, good_file)
{
	static const char text[] =
		"# keys for the test\n"
		"\n"
		"sk-alice-1 alice 3\n"
		"   \t  \n"
		"sk-bob\tbob\t1\tmax_concurrent=2   # bob's only key\n"
		"sk-alice-2  alice  3\n"
		"sk-carol carol 1000 audio_s_per_min=600 max_concurrent=4\r\n"
		"#sk-dave dave 1\n"
		"sk-eve e.v-e_1 010";   /* no final newline; 010 is ten */
	struct srv_keyring kr;
	char err[256], path[64];
	int a, b, c, e;

	cr_assert_eq(load_text(&kr, text, err, sizeof(err), path, sizeof(path)), 0, "%s", err);
	cr_assert_eq(kr.open, 0);
	cr_assert_eq(kr.n_keys, 5);
	cr_assert_eq(kr.n_tenants, 4);
	a = tenant_of(&kr, "alice");
	b = tenant_of(&kr, "bob");
	c = tenant_of(&kr, "carol");
	e = tenant_of(&kr, "e.v-e_1");
	cr_assert_eq(a, 0, "tenants are numbered in the order the file names them");
	cr_assert_eq(b, 1);
	cr_assert_eq(c, 2);
	cr_assert_eq(e, 3);
	cr_expect_eq(kr.tenants[a].weight, 3);
	cr_expect_eq(kr.tenants[a].max_concurrent, 0);
	cr_expect_eq(kr.tenants[a].audio_s_per_min, 0);
	cr_expect_eq(kr.tenants[b].weight, 1);
	cr_expect_eq(kr.tenants[b].max_concurrent, 2);
	cr_expect_eq(kr.tenants[c].weight, 1000);
	cr_expect_eq(kr.tenants[c].max_concurrent, 4);
	cr_expect_eq(kr.tenants[c].audio_s_per_min, 600);
	cr_expect_eq(kr.tenants[e].weight, 10);

	cr_expect_eq(srv_keyring_lookup(&kr, "Bearer sk-alice-1"), a);
	cr_expect_eq(srv_keyring_lookup(&kr, "Bearer sk-alice-2"), a);
	cr_expect_eq(srv_keyring_lookup(&kr, "bearer sk-bob"), b);
	cr_expect_eq(srv_keyring_lookup(&kr, "BEARER   sk-carol"), c);
	cr_expect_eq(srv_keyring_lookup(&kr, "Bearer\tsk-eve  "), e);
	cr_expect_eq(srv_keyring_lookup(&kr, "  Bearer sk-eve"), e);
	srv_keyring_free(&kr);
	cr_expect_eq(kr.n_keys, 0);
	srv_keyring_free(&kr);  /* twice: a zeroed struct */
}

Test(keys, lookup_misses)
{
	static const char text[] = "sk-abc t 1\nsk-abcdef u 2\n";
	struct srv_keyring kr;
	char err[256], path[64];
	char longkey[SRV_KEY_MAX + 20];

	cr_assert_eq(load_text(&kr, text, err, sizeof(err), path, sizeof(path)), 0, "%s", err);
	cr_expect_eq(srv_keyring_lookup(&kr, "Bearer sk-abc"), 0);
	cr_expect_eq(srv_keyring_lookup(&kr, "Bearer sk-abcdef"), 1);
	cr_expect_eq(srv_keyring_lookup(&kr, NULL), -1);
	cr_expect_eq(srv_keyring_lookup(&kr, ""), -1);
	cr_expect_eq(srv_keyring_lookup(&kr, "Bearer"), -1);
	cr_expect_eq(srv_keyring_lookup(&kr, "Bearer "), -1);
	cr_expect_eq(srv_keyring_lookup(&kr, "Bearersk-abc"), -1, "the scheme needs a blank");
	cr_expect_eq(srv_keyring_lookup(&kr, "Basic sk-abc"), -1);
	cr_expect_eq(srv_keyring_lookup(&kr, "sk-abc"), -1);
	cr_expect_eq(srv_keyring_lookup(&kr, "Bearer sk-ab"), -1, "a prefix of a key");
	cr_expect_eq(srv_keyring_lookup(&kr, "Bearer sk-abcd"), -1, "between two keys");
	cr_expect_eq(srv_keyring_lookup(&kr, "Bearer sk-abcdefg"), -1, "a key and more");
	cr_expect_eq(srv_keyring_lookup(&kr, "Bearer SK-ABC"), -1, "keys are case-sensitive");
	cr_expect_eq(srv_keyring_lookup(&kr, "Bearer sk-abc extra"), -1);
	cr_expect_eq(srv_keyring_lookup(&kr, "Bearer sk-abc\n"), -1);
	memset(longkey, 'x', sizeof(longkey));
	memcpy(longkey, "Bearer ", 7);
	longkey[sizeof(longkey) - 1] = '\0';
	cr_expect_eq(srv_keyring_lookup(&kr, longkey), -1);
	srv_keyring_free(&kr);
}

Test(keys, longest_key)
{
	char text[SRV_KEY_MAX + 32], auth[SRV_KEY_MAX + 16];
	struct srv_keyring kr;
	char err[256], path[64];

	memset(text, 'k', SRV_KEY_MAX);
	snprintf(text + SRV_KEY_MAX, sizeof(text) - SRV_KEY_MAX, " t 1\n");
	cr_assert_eq(load_text(&kr, text, err, sizeof(err), path, sizeof(path)), 0, "%s", err);
	snprintf(auth, sizeof(auth), "Bearer %.*s", SRV_KEY_MAX, text);
	cr_expect_eq(srv_keyring_lookup(&kr, auth), 0);
	auth[strlen(auth) - 1] = '\0';
	cr_expect_eq(srv_keyring_lookup(&kr, auth), -1);
	srv_keyring_free(&kr);

	memset(text, 'k', SRV_KEY_MAX + 1);
	snprintf(text + SRV_KEY_MAX + 1, sizeof(text) - SRV_KEY_MAX - 1, " t 1\n");
	cr_assert_eq(load_text(&kr, text, err, sizeof(err), path, sizeof(path)), -EINVAL);
	cr_expect(strstr(err, ":1: bad key"), "%s", err);
}

/* Each malformed file, with the line that is wrong and words of the reason. */
static const struct bad_case {
	const char *text;
	int line;
	const char *reason;
} bad_cases[] = {
	{ "sk-a a 1\nsk-b\n", 2, "no tenant" },
	{ "sk-a a 1\n\n# c\nsk-b b\n", 4, "no weight" },
	{ "sk-a a 0\n", 1, "weight" },
	{ "sk-a a 1001\n", 1, "weight" },
	{ "sk-a a -1\n", 1, "weight" },
	{ "sk-a a +3\n", 1, "weight" },
	{ "sk-a a 1.5\n", 1, "weight" },
	{ "sk-a a 0x10\n", 1, "weight" },
	{ "sk-a a 3x\n", 1, "weight" },
	{ "sk-a a 99999999999999999999999\n", 1, "weight" },
	{ "sk-a a 1 burst=3\n", 1, "unknown option" },
	{ "sk-a a 1 extra\n", 1, "unexpected field" },
	{ "sk-a a 1 max_concurrent=\n", 1, "max_concurrent" },
	{ "sk-a a 1 max_concurrent=0\n", 1, "max_concurrent" },
	{ "sk-a a 1 max_concurrent=two\n", 1, "max_concurrent" },
	{ "sk-a a 1 audio_s_per_min=-5\n", 1, "audio_s_per_min" },
	{ "sk-a a 1 max_concurrent=1 max_concurrent=2\n", 1, "twice" },
	{ "sk-a a 1 a=1 b=2 c=3 d=4 e=5 f=6\n", 1, "too many fields" },
	{ "sk-a a/b 1\n", 1, "bad tenant name" },
	{ "sk-a t\xc3\xa9 1\n", 1, "bad tenant name" },
	{ "sk-a aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa 1\n", 1,
	  "bad tenant name" },
	{ "sk-\x01x a 1\n", 1, "control character" },
	{ "sk-\xc3\xa9 a 1\n", 1, "bad key" },
	{ "sk-a a 1\nsk-b b 2\nsk-a c 1\n", 3, "already given at line 1" },
	{ "sk-a a 1\nsk-b a 2\n", 2, "tenant a" },
	{ "sk-a a 1 max_concurrent=3\nsk-b a 1\n", 2, "tenant a" },
	{ "sk-a a 1\nsk-b a 1 audio_s_per_min=60\n", 2, "tenant a" },
};

Test(keys, malformed_lines)
{
	for (size_t i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++) {
		const struct bad_case *bc = &bad_cases[i];
		struct srv_keyring kr;
		char err[256], path[64], want[96];
		int ret = load_text(&kr, bc->text, err, sizeof(err), path, sizeof(path));

		cr_expect_eq(ret, -EINVAL, "case %zu: %d", i, ret);
		snprintf(want, sizeof(want), "%s:%d: ", path, bc->line);
		cr_expect(!strncmp(err, want, strlen(want)), "case %zu: \"%s\" should start \"%s\"",
			  i, err, want);
		cr_expect(strstr(err, bc->reason), "case %zu: \"%s\" should say \"%s\"", i, err,
			  bc->reason);
		cr_expect_eq(kr.n_keys, 0, "case %zu: a failed load leaves nothing", i);
		cr_expect_null(kr.keys);
		srv_keyring_free(&kr);
	}
}

Test(keys, key_never_echoed)
{
	struct srv_keyring kr;
	char err[256], path[64];

	cr_assert_eq(load_text(&kr, "secret-one a 1\nsecret-one a 1\n", err, sizeof(err), path,
			       sizeof(path)), -EINVAL);
	cr_expect(strstr(err, ":2: "), "%s", err);
	cr_expect_null(strstr(err, "secret-one"), "the error must not show the key: %s", err);
}

Test(keys, long_line)
{
	char *text = malloc(SRV_KEYS_LINE_MAX + 64);
	struct srv_keyring kr;
	char err[256], path[64];
	size_t n;

	cr_assert_not_null(text);
	/* A comment line of exactly the limit (newline included) is fine ... */
	n = (size_t)snprintf(text, SRV_KEYS_LINE_MAX + 64, "sk-a a 1\n#");
	memset(text + n, 'c', SRV_KEYS_LINE_MAX - 2);
	n += SRV_KEYS_LINE_MAX - 2;
	text[n++] = '\n';
	text[n] = '\0';
	cr_assert_eq(load_text(&kr, text, err, sizeof(err), path, sizeof(path)), 0, "%s", err);
	srv_keyring_free(&kr);
	/* ... one byte more is not. */
	n = (size_t)snprintf(text, SRV_KEYS_LINE_MAX + 64, "sk-a a 1\n#");
	memset(text + n, 'c', SRV_KEYS_LINE_MAX - 1);
	n += SRV_KEYS_LINE_MAX - 1;
	text[n++] = '\n';
	text[n] = '\0';
	cr_assert_eq(load_text(&kr, text, err, sizeof(err), path, sizeof(path)), -EINVAL);
	cr_expect(strstr(err, ":2: line longer than"), "%s", err);
	free(text);
}

Test(keys, empty_and_missing)
{
	struct srv_keyring kr;
	char err[256], path[64];

	cr_assert_eq(load_text(&kr, "# nothing but comments\n\n", err, sizeof(err), path,
			       sizeof(path)), -EINVAL);
	cr_expect(strstr(err, "no keys"), "%s", err);
	cr_assert_eq(srv_keyring_load(&kr, "/nonexistent/amn-keys", err, sizeof(err)), -ENOENT);
	cr_expect(strstr(err, "/nonexistent/amn-keys: "), "%s", err);
	srv_keyring_free(&kr);
}

Test(keys, nul_byte)
{
	static const char text[] = "sk-a a 1\nsk-b\0x b 1\n";
	struct srv_keyring kr;
	char err[256], path[64];
	int fd;

	snprintf(path, sizeof(path), "/tmp/amn-keys-XXXXXX");
	fd = mkstemp(path);
	cr_assert_geq(fd, 0);
	cr_assert_eq(write(fd, text, sizeof(text) - 1), (ssize_t)sizeof(text) - 1);
	close(fd);
	cr_expect_eq(srv_keyring_load(&kr, path, err, sizeof(err)), -EINVAL);
	cr_expect(strstr(err, ":2: NUL"), "%s", err);
	unlink(path);
}

Test(keys, open_keyring)
{
	struct srv_keyring kr;

	cr_assert_eq(srv_keyring_open_default(&kr), 0);
	cr_expect_eq(kr.open, 1);
	cr_expect_eq(kr.n_tenants, 1);
	cr_expect_eq(kr.n_keys, 0);
	cr_expect_str_eq(kr.tenants[0].name, "default");
	cr_expect_eq(kr.tenants[0].weight, 1);
	cr_expect_eq(srv_keyring_lookup(&kr, NULL), 0);
	cr_expect_eq(srv_keyring_lookup(&kr, "Bearer anything"), 0);
	cr_expect_eq(srv_keyring_lookup(&kr, "garbage"), 0);
	srv_keyring_free(&kr);
}

/* The sample file shipped in scripts/ is a valid keys file. */
Test(keys, sample_file_loads)
{
	struct srv_keyring kr;
	char err[256];
	int p, r, t;

	if (access("scripts/keys.example", R_OK))
		cr_skip_test("run from the top of the tree");
	cr_assert_eq(srv_keyring_load(&kr, "scripts/keys.example", err, sizeof(err)), 0, "%s", err);
	cr_expect_eq(kr.n_keys, 4);
	cr_expect_eq(kr.n_tenants, 3);
	p = tenant_of(&kr, "product");
	r = tenant_of(&kr, "research");
	t = tenant_of(&kr, "trial");
	cr_assert(p >= 0 && r >= 0 && t >= 0);
	cr_expect_eq(kr.tenants[p].weight, 3);
	cr_expect_eq(kr.tenants[r].audio_s_per_min, 600);
	cr_expect_eq(kr.tenants[t].max_concurrent, 1);
	cr_expect_eq(srv_keyring_lookup(&kr, "Bearer sk-lab-5e7a9c1b3d5f7a9c0e2f4b6d8a0c2e4f"), r);
	srv_keyring_free(&kr);
}
