/* SPDX-License-Identifier: MIT */
/*
 * tools/amanuensis-server/keys.c - the --keys file and the lookup of a
 * request's bearer key (keys.h has the contract).
 *
 * The file is read line by line; every line is either blank, a comment, or
 * KEY TENANT WEIGHT [max_concurrent=N] [audio_s_per_min=N]. The first bad
 * line stops the load with "PATH:LINE: reason": a server that starts with
 * half its keys would turn a typo into 401s for a whole tenant.
 *
 * Each key is kept in a zeroed buffer of SRV_KEY_MAX + 1 bytes, so the
 * lookup can compare the same SRV_KEY_MAX bytes against every key, without
 * stopping at the first difference or at the end of either string: how long
 * a lookup takes then says nothing about how much of a guess was right.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/types.h>

#include "tools/amanuensis-server/keys.h"

#define MAX_FIELDS 8             /* more than KEY TENANT WEIGHT + 2 options: an error */
#define MAX_CONCURRENT_LIMIT 100000u
#define AUDIO_PER_MIN_LIMIT 10000000u

/* What one line said, before it is merged into the keyring. */
struct key_line {
	const char *key;
	struct srv_tenant_conf conf;
};

static int is_blank(char c)
{
	return c == ' ' || c == '\t';
}

/* Decimal digits only, @lo..@hi; "+1", "1.0", "0x1", "" are not numbers. */
static int parse_uint(const char *s, unsigned lo, unsigned hi, unsigned *out)
{
	unsigned long v = 0;

	if (!*s)
		return -EINVAL;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return -EINVAL;
		v = v * 10 + (unsigned long)(*s - '0');
		if (v > hi)
			return -ERANGE;
	}
	if (v < lo)
		return -ERANGE;
	*out = (unsigned)v;
	return 0;
}

static int tenant_name_ok(const char *s)
{
	size_t n = strlen(s);

	if (n < 1 || n >= SRV_TENANT_NAME_MAX)
		return 0;
	for (; *s; s++) {
		char c = *s;

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '_' || c == '.' || c == '-'))
			return 0;
	}
	return 1;
}

/* Printable ASCII but blanks and '#' (which the line splitting took already). */
static int key_ok(const char *s)
{
	size_t n = strlen(s);

	if (n < 1 || n > SRV_KEY_MAX)
		return 0;
	for (; *s; s++)
		if ((unsigned char)*s <= 0x20 || (unsigned char)*s >= 0x7f)
			return 0;
	return 1;
}

/*
 * parse_option - one NAME=VALUE field into @c. @seen has a bit per option so
 * that a line naming one twice is refused rather than the last one winning.
 */
static int parse_option(char *f, struct srv_tenant_conf *c, unsigned *seen,
			char *why, size_t whylen)
{
	char *eq = strchr(f, '=');
	unsigned v;
	int ret;

	if (!eq) {
		snprintf(why, whylen, "unexpected field \"%.40s\" (options are max_concurrent=N "
			 "and audio_s_per_min=N)", f);
		return -EINVAL;
	}
	*eq = '\0';
	if (!strcmp(f, "max_concurrent")) {
		if (*seen & 1u)
			goto twice;
		*seen |= 1u;
		ret = parse_uint(eq + 1, 1, MAX_CONCURRENT_LIMIT, &v);
		if (ret) {
			snprintf(why, whylen, "max_concurrent=%.20s: not a whole number in 1..%u",
				 eq + 1, MAX_CONCURRENT_LIMIT);
			return -EINVAL;
		}
		c->max_concurrent = v;
		return 0;
	}
	if (!strcmp(f, "audio_s_per_min")) {
		if (*seen & 2u)
			goto twice;
		*seen |= 2u;
		ret = parse_uint(eq + 1, 1, AUDIO_PER_MIN_LIMIT, &v);
		if (ret) {
			snprintf(why, whylen, "audio_s_per_min=%.20s: not a whole number in 1..%u",
				 eq + 1, AUDIO_PER_MIN_LIMIT);
			return -EINVAL;
		}
		c->audio_s_per_min = v;
		return 0;
	}
	snprintf(why, whylen, "unknown option \"%.40s\" (options are max_concurrent=N and "
		 "audio_s_per_min=N)", f);
	return -EINVAL;
twice:
	snprintf(why, whylen, "option %s given twice", f);
	return -EINVAL;
}

/*
 * parse_line - split @line (NUL-terminated, its newline gone) in place.
 * Return: 1 with @out filled, 0 for a blank or comment line, -EINVAL with
 * @why set.
 */
static int parse_line(char *line, struct key_line *out, char *why, size_t whylen)
{
	char *fields[MAX_FIELDS];
	unsigned n = 0, seen = 0;
	char *p, *hash;
	int ret;

	hash = strchr(line, '#');
	if (hash)
		*hash = '\0';
	for (p = line; *p; p++)
		if ((unsigned char)*p < 0x20 && !is_blank(*p)) {
			snprintf(why, whylen, "control character 0x%02x", (unsigned char)*p);
			return -EINVAL;
		}
	p = line;
	for (;;) {
		while (is_blank(*p))
			p++;
		if (!*p)
			break;
		if (n == MAX_FIELDS) {
			snprintf(why, whylen, "too many fields (KEY TENANT WEIGHT "
				 "[max_concurrent=N] [audio_s_per_min=N])");
			return -EINVAL;
		}
		fields[n++] = p;
		while (*p && !is_blank(*p))
			p++;
		if (*p)
			*p++ = '\0';
	}
	if (n == 0)
		return 0;
	if (n < 3) {
		snprintf(why, whylen, "%s (want KEY TENANT WEIGHT [max_concurrent=N] "
			 "[audio_s_per_min=N])", n == 1 ? "no tenant and no weight" : "no weight");
		return -EINVAL;
	}
	memset(out, 0, sizeof(*out));
	if (!key_ok(fields[0])) {
		snprintf(why, whylen, "bad key: 1..%d printable characters, no blanks", SRV_KEY_MAX);
		return -EINVAL;
	}
	out->key = fields[0];
	if (!tenant_name_ok(fields[1])) {
		snprintf(why, whylen, "bad tenant name \"%.40s\": 1..%d of A-Z a-z 0-9 _ . -",
			 fields[1], SRV_TENANT_NAME_MAX - 1);
		return -EINVAL;
	}
	snprintf(out->conf.name, sizeof(out->conf.name), "%s", fields[1]);
	ret = parse_uint(fields[2], 1, 1000, &out->conf.weight);
	if (ret) {
		snprintf(why, whylen, "weight \"%.20s\": not a whole number in 1..1000", fields[2]);
		return -EINVAL;
	}
	for (unsigned i = 3; i < n; i++) {
		ret = parse_option(fields[i], &out->conf, &seen, why, whylen);
		if (ret)
			return ret;
	}
	return 1;
}

/* The load's bookkeeping: where each tenant and key was first given. */
struct load_state {
	size_t cap_tenants, cap_tenant_line;
	size_t cap_keys, cap_key_tenant, cap_key_line;
	size_t *tenant_line;              /* line of tenants[i] */
	size_t *key_line;                 /* line of keys[i] */
};

static int grow(void **p, size_t *cap, size_t need, size_t elem)
{
	size_t ncap;
	void *q;

	if (need <= *cap)
		return 0;
	ncap = *cap ? *cap * 2 : 8;
	while (ncap < need)
		ncap *= 2;
	q = realloc(*p, ncap * elem);
	if (!q)
		return -ENOMEM;
	*p = q;
	*cap = ncap;
	return 0;
}

/* Merge one parsed line into @kr. Return: 0, -EINVAL (@why set), -ENOMEM. */
static int add_line(struct srv_keyring *kr, struct load_state *st, const struct key_line *kl,
		    size_t lineno, char *why, size_t whylen)
{
	size_t t, klen = strlen(kl->key);
	char *copy;

	for (size_t i = 0; i < kr->n_keys; i++)
		if (!strcmp(kr->keys[i], kl->key)) {
			/* Never echo a key into a log: say where its twin is instead. */
			snprintf(why, whylen, "this key is already given at line %zu", st->key_line[i]);
			return -EINVAL;
		}
	for (t = 0; t < kr->n_tenants; t++)
		if (!strcmp(kr->tenants[t].name, kl->conf.name))
			break;
	if (t < kr->n_tenants) {
		const struct srv_tenant_conf *c = &kr->tenants[t];

		if (c->weight != kl->conf.weight || c->max_concurrent != kl->conf.max_concurrent ||
		    c->audio_s_per_min != kl->conf.audio_s_per_min) {
			snprintf(why, whylen, "tenant %s is given another weight or other limits "
				 "at line %zu", c->name, st->tenant_line[t]);
			return -EINVAL;
		}
	} else {
		if (grow((void **)&kr->tenants, &st->cap_tenants, t + 1, sizeof(*kr->tenants)) ||
		    grow((void **)&st->tenant_line, &st->cap_tenant_line, t + 1,
			 sizeof(*st->tenant_line)))
			return -ENOMEM;
		kr->tenants[t] = kl->conf;
		st->tenant_line[t] = lineno;
		kr->n_tenants++;
	}
	if (grow((void **)&kr->keys, &st->cap_keys, kr->n_keys + 1, sizeof(*kr->keys)) ||
	    grow((void **)&kr->key_tenant, &st->cap_key_tenant, kr->n_keys + 1,
		 sizeof(*kr->key_tenant)) ||
	    grow((void **)&st->key_line, &st->cap_key_line, kr->n_keys + 1, sizeof(*st->key_line)))
		return -ENOMEM;
	copy = calloc(1, SRV_KEY_MAX + 1);   /* zero padded: see the lookup */
	if (!copy)
		return -ENOMEM;
	memcpy(copy, kl->key, klen);
	kr->keys[kr->n_keys] = copy;
	kr->key_tenant[kr->n_keys] = t;
	st->key_line[kr->n_keys] = lineno;
	kr->n_keys++;
	return 0;
}

int srv_keyring_load(struct srv_keyring *kr, const char *path, char *err, size_t errlen)
{
	struct load_state st = { 0 };
	char why[200];
	char *line = NULL;
	size_t cap = 0, lineno = 0;
	ssize_t len;
	FILE *f;
	int ret = 0;

	memset(kr, 0, sizeof(*kr));
	if (errlen)
		err[0] = '\0';
	f = fopen(path, "re");
	if (!f) {
		ret = -errno;
		snprintf(err, errlen, "%s: %s", path, strerror(-ret));
		return ret;
	}
	while ((len = getline(&line, &cap, f)) >= 0) {
		struct key_line kl;

		lineno++;
		if ((size_t)len > SRV_KEYS_LINE_MAX) {
			snprintf(err, errlen, "%s:%zu: line longer than %d bytes", path, lineno,
				 SRV_KEYS_LINE_MAX);
			ret = -EINVAL;
			break;
		}
		if (memchr(line, '\0', (size_t)len)) {
			snprintf(err, errlen, "%s:%zu: NUL byte in the line", path, lineno);
			ret = -EINVAL;
			break;
		}
		if (len > 0 && line[len - 1] == '\n')
			line[--len] = '\0';
		if (len > 0 && line[len - 1] == '\r')   /* a file written on Windows */
			line[--len] = '\0';
		ret = parse_line(line, &kl, why, sizeof(why));
		if (ret == 1)
			ret = add_line(kr, &st, &kl, lineno, why, sizeof(why));
		if (ret == -ENOMEM) {
			snprintf(err, errlen, "%s:%zu: out of memory", path, lineno);
			break;
		}
		if (ret) {
			snprintf(err, errlen, "%s:%zu: %s", path, lineno, why);
			break;
		}
	}
	if (!ret && ferror(f)) {
		ret = -EIO;
		snprintf(err, errlen, "%s:%zu: read error", path, lineno + 1);
	}
	if (!ret && kr->n_keys == 0) {
		ret = -EINVAL;
		snprintf(err, errlen, "%s: no keys in the file (without --keys the server is open)",
			 path);
	}
	free(line);
	fclose(f);
	free(st.tenant_line);
	free(st.key_line);
	if (ret)
		srv_keyring_free(kr);
	return ret;
}

int srv_keyring_open_default(struct srv_keyring *kr)
{
	memset(kr, 0, sizeof(*kr));
	kr->tenants = calloc(1, sizeof(*kr->tenants));
	if (!kr->tenants)
		return -ENOMEM;
	snprintf(kr->tenants[0].name, sizeof(kr->tenants[0].name), "default");
	kr->tenants[0].weight = 1;
	kr->n_tenants = 1;
	kr->open = 1;
	return 0;
}

/* Strings equal over SRV_KEY_MAX bytes, in a time that does not depend on them. */
static unsigned key_diff(const char *stored, const char *given)
{
	unsigned char d = 0;

	for (size_t i = 0; i < SRV_KEY_MAX; i++)
		d |= (unsigned char)(stored[i] ^ given[i]);
	return d;
}

int srv_keyring_lookup(const struct srv_keyring *kr, const char *authorization)
{
	char given[SRV_KEY_MAX + 1];
	const char *p = authorization;
	size_t n = 0;
	int found = -1;

	if (kr->open)
		return 0;
	if (!p)
		return -1;
	while (is_blank(*p))
		p++;
	if (strncasecmp(p, "bearer", 6) || !is_blank(p[6]))
		return -1;
	p += 6;
	while (is_blank(*p))
		p++;
	while (p[n] && !is_blank(p[n])) {
		if (n == SRV_KEY_MAX)
			return -1;     /* no stored key is this long */
		n++;
	}
	if (n == 0)
		return -1;
	for (size_t i = n; p[i]; i++)   /* trailing blanks only */
		if (!is_blank(p[i]))
			return -1;
	memset(given, 0, sizeof(given));
	memcpy(given, p, n);
	/*
	 * Every key is compared in full, and the match is picked without a
	 * branch on the comparison: the loop's time depends on the number of
	 * keys, never on the keys' bytes.
	 */
	for (size_t i = 0; i < kr->n_keys; i++) {
		unsigned d = key_diff(kr->keys[i], given);
		/* mask is all ones when d == 0, else 0 */
		int mask = (int)(((d | (0u - d)) >> 31) & 1u) - 1;

		found = (found & ~mask) | ((int)kr->key_tenant[i] & mask);
	}
	return found;
}

void srv_keyring_free(struct srv_keyring *kr)
{
	if (kr->keys)
		for (size_t i = 0; i < kr->n_keys; i++)
			free(kr->keys[i]);
	free(kr->keys);
	free(kr->key_tenant);
	free(kr->tenants);
	memset(kr, 0, sizeof(*kr));
}
