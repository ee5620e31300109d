/* SPDX-License-Identifier: MIT */
/*
 * tools/amanuensis-server/keys.h - who may call the server: the --keys file
 * (one API key per line: KEY TENANT WEIGHT [max_concurrent=N]
 * [audio_s_per_min=N]) read into a table of tenants and the keys that name
 * them, and the lookup of a request's "Authorization: Bearer KEY".
 */
#ifndef AMN_SRV_KEYS_H
#define AMN_SRV_KEYS_H

#include <stddef.h>

#define SRV_TENANT_NAME_MAX 64
/* Longest key: printable ASCII without blanks or '#', 1..SRV_KEY_MAX bytes. */
#define SRV_KEY_MAX 256
/* Longest line of a keys file, its newline included. */
#define SRV_KEYS_LINE_MAX 1024

/** What the keys file says of one tenant (several keys may name it). */
struct srv_tenant_conf {
	char name[SRV_TENANT_NAME_MAX];   /* [A-Za-z0-9_.-]{1,63} */
	unsigned weight;                  /* 1..1000: its share of the device */
	unsigned max_concurrent;          /* 0: none of its own (the server's bounds) */
	unsigned audio_s_per_min;         /* 0: no limit on audio seconds per minute */
};

/** The tenants and their keys; open != 0: no keys file, one tenant, no auth. */
struct srv_keyring {
	struct srv_tenant_conf *tenants;
	size_t n_tenants;
	char **keys;                      /* owned, each a zeroed SRV_KEY_MAX + 1 byte buffer */
	size_t *key_tenant;               /* index into tenants for keys[i] */
	size_t n_keys;
	int open;
};

/**
 * srv_keyring_load - read @path into @kr. Fields are separated by blanks or
 * tabs, '#' starts a comment, blank lines are skipped; a key may appear once;
 * a tenant named twice must give the same weight and limits. Weights are
 * 1..1000, max_concurrent 1..100000, audio_s_per_min 1..10000000, all
 * decimal; each option at most once a line. A file without keys is refused.
 * Tenants are numbered in the order the file first names them.
 * Return: 0, or -EINVAL (a bad line: @err is "PATH:LINE: what"; a file
 * without keys: "PATH: what"), -errno of fopen (-ENOENT, -EACCES: @err is
 * "PATH: strerror"), -EIO, -ENOMEM. On error @kr is left zeroed.
 */
int srv_keyring_load(struct srv_keyring *kr, const char *path, char *err, size_t errlen);

/** srv_keyring_open_default - one open tenant "default" of weight 1, no keys. */
int srv_keyring_open_default(struct srv_keyring *kr);

/**
 * srv_keyring_lookup - the tenant index for the value of an Authorization
 * header (@authorization may be NULL): "Bearer KEY", the scheme in any case,
 * one blank (space or tab) or more before KEY, blanks around allowed. An
 * open keyring answers 0 whatever is given. Keys are compared in time
 * independent of where they differ.
 * Return: tenant index, or -1 for a missing, malformed or unknown key.
 */
int srv_keyring_lookup(const struct srv_keyring *kr, const char *authorization);

/** srv_keyring_free - release; safe on a zeroed struct. */
void srv_keyring_free(struct srv_keyring *kr);

#endif /* AMN_SRV_KEYS_H */
