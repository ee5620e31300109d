/* SPDX-License-Identifier: MIT */
/*
 * common/amn_env.c - one parser for the library's environment variables:
 * decimal numbers, switches and modes, each bad value reported once.
 */
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/amn_env.h"

/* Bad settings already reported: a hash of "NAME=value" each. */
#define WARNED_MAX 64

static pthread_mutex_t warned_lock = PTHREAD_MUTEX_INITIALIZER;
static uint64_t warned[WARNED_MAX];
static unsigned n_warned;

static bool is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

static const char *skip_blanks(const char *s)
{
	while (is_blank(*s))
		s++;
	return s;
}

/* @s without the blanks around it: its first character and length. */
static const char *trimmed(const char *s, size_t *len)
{
	const char *start = skip_blanks(s);
	size_t n = strlen(start);

	while (n && is_blank(start[n - 1]))
		n--;
	*len = n;
	return start;
}

/* The value of $@name, or NULL when it is unset, empty or all blanks. */
static const char *env_value(const char *name)
{
	const char *v = getenv(name);

	return v && *skip_blanks(v) ? v : NULL;
}

static uint64_t hash_setting(const char *name, const char *value)
{
	uint64_t h = 0xcbf29ce484222325ull;   /* FNV-1a */
	const char *parts[3] = { name, "=", value };

	for (int i = 0; i < 3; i++)
		for (const char *p = parts[i]; *p; p++)
			h = (h ^ (unsigned char)*p) * 0x100000001b3ull;
	return h;
}

/*
 * One line on stderr for a bad $@name=@value, the first time this pair is
 * seen. Once the table is full, later pairs are reported every time.
 */
static void warn_bad(const char *name, const char *value, const char *why,
		     const char *def)
{
	uint64_t h = hash_setting(name, value);
	bool seen = false;

	pthread_mutex_lock(&warned_lock);
	for (unsigned i = 0; i < n_warned && !seen; i++)
		seen = warned[i] == h;
	if (!seen) {
		if (n_warned < WARNED_MAX)
			warned[n_warned++] = h;
		fprintf(stderr, "amanuensis: %s=%s: %s; using the default %s\n",
			name, value, why, def);
	}
	pthread_mutex_unlock(&warned_lock);
}

int amn_parse_ulong(const char *s, unsigned long min, unsigned long max,
		    unsigned long *out)
{
	const char *p = skip_blanks(s), *digits;
	bool negative = false, overflow = false;
	unsigned long n = 0;

	if (*p == '-') {
		negative = true;
		p++;
	}
	for (digits = p; *p >= '0' && *p <= '9'; p++) {
		unsigned d = (unsigned)(*p - '0');

		if (n > (ULONG_MAX - d) / 10)
			overflow = true;
		else
			n = n * 10 + d;
	}
	if (p == digits || *skip_blanks(p))
		return -EINVAL;
	if (overflow || (negative && n) || n < min || n > max)
		return -ERANGE;
	*out = n;
	return 0;
}

int amn_parse_bool(const char *s, bool *out)
{
	static const char *const on[] = { "1", "true", "yes", "on" };
	static const char *const off[] = { "0", "false", "no", "off" };
	size_t len;
	const char *v = trimmed(s, &len);

	for (unsigned i = 0; i < sizeof(on) / sizeof(on[0]); i++) {
		if (strlen(on[i]) == len && !strncasecmp(v, on[i], len)) {
			*out = true;
			return 0;
		}
		if (strlen(off[i]) == len && !strncasecmp(v, off[i], len)) {
			*out = false;
			return 0;
		}
	}
	return -EINVAL;
}

unsigned long amn_env_ulong(const char *name, unsigned long min, unsigned long max,
			    unsigned long def)
{
	const char *v = env_value(name);
	char why[64], dflt[24];
	unsigned long n;
	int ret;

	if (!v)
		return def;
	ret = amn_parse_ulong(v, min, max, &n);
	if (!ret)
		return n;
	if (ret == -ERANGE)
		snprintf(why, sizeof(why), "not in %lu..%lu", min, max);
	else
		snprintf(why, sizeof(why), "not a whole number");
	snprintf(dflt, sizeof(dflt), "%lu", def);
	warn_bad(name, v, why, dflt);
	return def;
}

bool amn_env_bool(const char *name, bool def)
{
	const char *v = env_value(name);
	bool b;

	if (!v)
		return def;
	if (!amn_parse_bool(v, &b))
		return b;
	warn_bad(name, v, "not 0/1, true/false, yes/no or on/off", def ? "1" : "0");
	return def;
}

int amn_env_choice(const char *name, const char *const *choices, int def)
{
	const char *v = env_value(name), *word;
	char why[160];
	size_t len, used;

	if (!v)
		return def;
	word = trimmed(v, &len);
	for (int i = 0; choices[i]; i++)
		if (strlen(choices[i]) == len && !strncmp(word, choices[i], len))
			return i;
	used = (size_t)snprintf(why, sizeof(why), "not one of");
	for (int i = 0; choices[i] && used < sizeof(why); i++)
		used += (size_t)snprintf(why + used, sizeof(why) - used, "%s %s",
					 i ? "," : "", choices[i]);
	warn_bad(name, v, why, choices[def]);
	return def;
}
