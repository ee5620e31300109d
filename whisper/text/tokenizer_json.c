// SPDX-License-Identifier: MIT
/*
 * whisper/text/tokenizer_json.c - the reader of a Hugging Face tokenizer.json
 * (BPE model, byte-level pre-tokenizer) with a small strict JSON cursor of
 * its own: RFC 8259 syntax, well-formed UTF-8, nesting at most 64 deep.
 * Garbage gives -EINVAL and a message with the byte offset, never a crash.
 *
 * What is read: "added_tokens" (id, content, special), "model" ("type"
 * must be BPE, "vocab" text -> id, "merges" as "a b" strings or ["a", "b"]
 * pairs); every other member is checked for syntax and skipped. The
 * timestamps <|0.00|> .. <|30.00|>, which Whisper's tokenizer.json files
 * leave out, are added after <|notimestamps|> when the model has room.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "whisper/text/tokenizer_internal.h"

#define JSON_MAX_DEPTH 64

struct jcur {
	const char *start, *p, *end;
	const char *path;
	char *err;
	size_t errlen;
	int failed;
	char *sbuf;             /* unescaped string, when it had escapes */
	size_t scap;
};

static int jfail(struct jcur *j, const char *what)
{
	if (!j->failed)
		snprintf(j->err, j->errlen, "%s: byte %zu: %s", j->path,
			 (size_t)(j->p - j->start), what);
	j->failed = 1;
	return -EINVAL;
}

static void ws(struct jcur *j)
{
	while (j->p < j->end && (*j->p == ' ' || *j->p == '\t' || *j->p == '\n' || *j->p == '\r'))
		j->p++;
}

static int peek(struct jcur *j)
{
	ws(j);
	return j->p < j->end ? (unsigned char)*j->p : -1;
}

static int expect(struct jcur *j, char c, const char *what)
{
	if (peek(j) != (unsigned char)c)
		return jfail(j, what);
	j->p++;
	return 0;
}

static int sbuf_put(struct jcur *j, size_t at, const char *s, size_t n)
{
	if (!n)
		return 0;
	if (at + n > j->scap) {
		size_t cap = j->scap ? j->scap * 2 : 256;
		char *b;

		while (cap < at + n)
			cap *= 2;
		b = realloc(j->sbuf, cap);
		if (!b)
			return -ENOMEM;
		j->sbuf = b;
		j->scap = cap;
	}
	memcpy(j->sbuf + at, s, n);
	return 0;
}

static int hex4(const char *p, uint32_t *v)
{
	*v = 0;
	for (int i = 0; i < 4; i++) {
		char c = p[i];

		*v <<= 4;
		if (c >= '0' && c <= '9')
			*v |= (uint32_t)(c - '0');
		else if (c >= 'a' && c <= 'f')
			*v |= (uint32_t)(c - 'a' + 10);
		else if (c >= 'A' && c <= 'F')
			*v |= (uint32_t)(c - 'A' + 10);
		else
			return -1;
	}
	return 0;
}

static size_t utf8_put(char *d, uint32_t cp)
{
	if (cp < 0x80) {
		d[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		d[0] = (char)(0xc0 | cp >> 6);
		d[1] = (char)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		d[0] = (char)(0xe0 | cp >> 12);
		d[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
		d[2] = (char)(0x80 | (cp & 0x3f));
		return 3;
	}
	d[0] = (char)(0xf0 | cp >> 18);
	d[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
	d[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
	d[3] = (char)(0x80 | (cp & 0x3f));
	return 4;
}

/*
 * A string at the cursor. *@s points into the input when it had no escapes,
 * else into j->sbuf (valid until the next string).
 */
static int jstr(struct jcur *j, const char **s, size_t *n)
{
	const char *run;
	size_t k = 0;
	int esc = 0, ret;

	if (expect(j, '"', "expected a string"))
		return -EINVAL;
	run = j->p;
	for (;;) {
		unsigned char c;
		size_t l;

		if (j->p >= j->end)
			return jfail(j, "unterminated string");
		c = (unsigned char)*j->p;
		if (c == '"')
			break;
		if (c < 0x20)
			return jfail(j, "control character in a string");
		if (c != '\\') {
			if (wsp_tok_utf8((const unsigned char *)j->p, (size_t)(j->end - j->p), &l) < 0)
				return jfail(j, "invalid UTF-8 in a string");
			j->p += l;
			continue;
		}
		/* an escape: flush the plain run before it */
		if (!esc) {
			esc = 1;
			k = 0;
		}
		ret = sbuf_put(j, k, run, (size_t)(j->p - run));
		if (ret)
			return ret;
		k += (size_t)(j->p - run);
		if (j->end - j->p < 2)
			return jfail(j, "unterminated escape");
		{
			char d[4];
			size_t dn = 1;
			uint32_t cp;

			switch (j->p[1]) {
			case '"': d[0] = '"'; break;
			case '\\': d[0] = '\\'; break;
			case '/': d[0] = '/'; break;
			case 'b': d[0] = '\b'; break;
			case 'f': d[0] = '\f'; break;
			case 'n': d[0] = '\n'; break;
			case 'r': d[0] = '\r'; break;
			case 't': d[0] = '\t'; break;
			case 'u':
				if (j->end - j->p < 6 || hex4(j->p + 2, &cp))
					return jfail(j, "bad \\u escape");
				j->p += 4;
				if (cp >= 0xdc00 && cp <= 0xdfff)
					return jfail(j, "lone low surrogate");
				if (cp >= 0xd800 && cp <= 0xdbff) {
					uint32_t lo;

					if (j->end - j->p < 8 || j->p[2] != '\\' || j->p[3] != 'u' ||
					    hex4(j->p + 4, &lo) || lo < 0xdc00 || lo > 0xdfff)
						return jfail(j, "lone high surrogate");
					cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
					j->p += 6;
				}
				dn = utf8_put(d, cp);
				break;
			default:
				return jfail(j, "bad escape");
			}
			ret = sbuf_put(j, k, d, dn);
			if (ret)
				return ret;
			k += dn;
		}
		j->p += 2;
		run = j->p;
	}
	if (esc) {
		ret = sbuf_put(j, k, run, (size_t)(j->p - run));
		if (ret)
			return ret;
		k += (size_t)(j->p - run);
		*s = j->sbuf;
		*n = k;
	} else {
		*s = run;
		*n = (size_t)(j->p - run);
	}
	j->p++;
	return 0;
}

/* A number, checked for syntax and skipped. */
static int jnum_skip(struct jcur *j)
{
	const char *p = j->p;

	if (p < j->end && *p == '-')
		p++;
	if (p >= j->end || *p < '0' || *p > '9')
		return jfail(j, "bad number");
	if (*p == '0')
		p++;
	else
		while (p < j->end && *p >= '0' && *p <= '9')
			p++;
	if (p < j->end && *p == '.') {
		if (++p >= j->end || *p < '0' || *p > '9')
			return jfail(j, "bad number");
		while (p < j->end && *p >= '0' && *p <= '9')
			p++;
	}
	if (p < j->end && (*p == 'e' || *p == 'E')) {
		p++;
		if (p < j->end && (*p == '+' || *p == '-'))
			p++;
		if (p >= j->end || *p < '0' || *p > '9')
			return jfail(j, "bad number");
		while (p < j->end && *p >= '0' && *p <= '9')
			p++;
	}
	j->p = p;
	return 0;
}

/* A non-negative integer below 2^31 (no fraction, no exponent). */
static int jint(struct jcur *j, int32_t *v)
{
	int64_t x = 0;
	const char *p;

	if (peek(j) < '0' || peek(j) > '9')
		return jfail(j, "expected a non-negative integer");
	p = j->p;
	if (*p == '0' && p + 1 < j->end && p[1] >= '0' && p[1] <= '9')
		return jfail(j, "leading zero");
	while (p < j->end && *p >= '0' && *p <= '9') {
		x = x * 10 + (*p++ - '0');
		if (x > INT32_MAX)
			return jfail(j, "integer too large");
	}
	if (p < j->end && (*p == '.' || *p == 'e' || *p == 'E'))
		return jfail(j, "expected an integer");
	j->p = p;
	*v = (int32_t)x;
	return 0;
}

static int jlit(struct jcur *j, const char *lit)
{
	size_t n = strlen(lit);

	if ((size_t)(j->end - j->p) < n || memcmp(j->p, lit, n))
		return jfail(j, "bad literal");
	j->p += n;
	return 0;
}

static int jbool(struct jcur *j, int *v)
{
	int c = peek(j);

	*v = c == 't';
	if (c == 't')
		return jlit(j, "true");
	if (c == 'f')
		return jlit(j, "false");
	return jfail(j, "expected true or false");
}

/*
 * Object and array iteration: call with *@first = 1; returns 1 while a
 * member (key read, ':' eaten) or element follows, 0 at the end, < 0 on error.
 */
static int jobj_next(struct jcur *j, int *first, const char **key, size_t *klen)
{
	int c = peek(j);

	if (c == '}') {
		j->p++;
		return 0;
	}
	if (!*first) {
		if (c != ',')
			return jfail(j, "expected ',' or '}'");
		j->p++;
		if (peek(j) == '}')
			return jfail(j, "trailing comma");
	}
	*first = 0;
	if (jstr(j, key, klen) || expect(j, ':', "expected ':'"))
		return -EINVAL;
	return 1;
}

static int jarr_next(struct jcur *j, int *first)
{
	int c = peek(j);

	if (c == ']') {
		j->p++;
		return 0;
	}
	if (!*first) {
		if (c != ',')
			return jfail(j, "expected ',' or ']'");
		j->p++;
		if (peek(j) == ']')
			return jfail(j, "trailing comma");
	}
	*first = 0;
	return 1;
}

static int jskip(struct jcur *j, int depth)
{
	const char *s;
	size_t n;
	int first = 1, r;

	if (depth > JSON_MAX_DEPTH)
		return jfail(j, "nesting too deep");
	switch (peek(j)) {
	case '{':
		j->p++;
		while ((r = jobj_next(j, &first, &s, &n)) > 0)
			if (jskip(j, depth + 1))
				return -EINVAL;
		return r;
	case '[':
		j->p++;
		while ((r = jarr_next(j, &first)) > 0)
			if (jskip(j, depth + 1))
				return -EINVAL;
		return r;
	case '"':
		return jstr(j, &s, &n);
	case 't':
		return jlit(j, "true");
	case 'f':
		return jlit(j, "false");
	case 'n':
		return jlit(j, "null");
	case -1:
		return jfail(j, "unexpected end of file");
	default:
		return jnum_skip(j);
	}
}

static int key_is(const char *k, size_t n, const char *want)
{
	return n == strlen(want) && memcmp(k, want, n) == 0;
}

/* ---- what the reader collects before it builds the tables ---- */

struct tok_entry {
	int32_t id;
	uint32_t off, len;      /* in struct collect.bytes */
	int special;
};

struct merge_entry {
	uint32_t a_off, a_len, b_off, b_len;
};

struct collect {
	char *bytes;
	size_t nbytes, cbytes;
	struct tok_entry *vocab, *added;
	size_t nvocab, cvocab, nadded, cadded;
	struct merge_entry *merges;
	size_t nmerges, cmerges;
	int have_model_type;
};

static int grow(void **p, size_t *cap, size_t need, size_t size)
{
	size_t c = *cap ? *cap : 64;
	void *q;

	if (need <= *cap)
		return 0;
	while (c < need)
		c *= 2;
	q = realloc(*p, c * size);
	if (!q)
		return -ENOMEM;
	*p = q;
	*cap = c;
	return 0;
}

/* Keep @n bytes (byte-level decoded when @bytelevel); their offset in *@off. */
static int keep(struct collect *c, const char *s, size_t n, int bytelevel, uint32_t *off,
		uint32_t *len)
{
	int ret = grow((void **)&c->bytes, &c->cbytes, c->nbytes + n + 1, 1);

	if (ret)
		return ret;
	if (c->nbytes + n > UINT32_MAX)
		return -EINVAL;
	*off = (uint32_t)c->nbytes;
	if (bytelevel)
		n = wsp_tok_bytelevel_decode(s, n, c->bytes + c->nbytes);
	else
		memcpy(c->bytes + c->nbytes, s, n);
	*len = (uint32_t)n;
	c->nbytes += n;
	return 0;
}

static int read_added(struct jcur *j, struct collect *c)
{
	int afirst = 1, r;

	if (expect(j, '[', "added_tokens: expected an array"))
		return -EINVAL;
	while ((r = jarr_next(j, &afirst)) > 0) {
		struct tok_entry e = { .id = -1 };
		int have_content = 0, first = 1;
		const char *k;
		size_t kn;

		if (expect(j, '{', "added_tokens: expected an object"))
			return -EINVAL;
		while ((r = jobj_next(j, &first, &k, &kn)) > 0) {
			if (key_is(k, kn, "id")) {
				r = jint(j, &e.id);
			} else if (key_is(k, kn, "content")) {
				const char *s;
				size_t n;

				r = jstr(j, &s, &n);
				if (!r)
					r = keep(c, s, n, 0, &e.off, &e.len);
				have_content = 1;
			} else if (key_is(k, kn, "special")) {
				r = jbool(j, &e.special);
			} else {
				r = jskip(j, 2);
			}
			if (r)
				return r;
		}
		if (r)
			return r;
		if (e.id < 0 || !have_content)
			return jfail(j, "added token without id or content");
		r = grow((void **)&c->added, &c->cadded, c->nadded + 1, sizeof(e));
		if (r)
			return r;
		c->added[c->nadded++] = e;
	}
	return r;
}

static int read_vocab(struct jcur *j, struct collect *c)
{
	int first = 1, r;
	const char *k;
	size_t kn;

	if (expect(j, '{', "model.vocab: expected an object"))
		return -EINVAL;
	while ((r = jobj_next(j, &first, &k, &kn)) > 0) {
		struct tok_entry e = { 0 };

		r = grow((void **)&c->vocab, &c->cvocab, c->nvocab + 1, sizeof(e));
		if (!r)
			r = keep(c, k, kn, 1, &e.off, &e.len);
		if (!r)
			r = jint(j, &e.id);
		if (r)
			return r;
		c->vocab[c->nvocab++] = e;
	}
	return r;
}

static int read_merges(struct jcur *j, struct collect *c)
{
	int first = 1, r;

	if (expect(j, '[', "model.merges: expected an array"))
		return -EINVAL;
	while ((r = jarr_next(j, &first)) > 0) {
		struct merge_entry m;
		const char *s, *sp;
		size_t n;

		r = grow((void **)&c->merges, &c->cmerges, c->nmerges + 1, sizeof(m));
		if (r)
			return r;
		if (peek(j) == '"') {
			if (jstr(j, &s, &n))
				return -EINVAL;
			sp = memchr(s, ' ', n);
			if (!sp || sp == s || sp == s + n - 1 || memchr(sp + 1, ' ', n - (size_t)(sp - s) - 1))
				return jfail(j, "model.merges: a merge is not \"left right\"");
			r = keep(c, s, (size_t)(sp - s), 1, &m.a_off, &m.a_len);
			if (!r)
				r = keep(c, sp + 1, n - (size_t)(sp - s) - 1, 1, &m.b_off, &m.b_len);
		} else {
			int pfirst = 1;

			if (expect(j, '[', "model.merges: expected a string or a pair"))
				return -EINVAL;
			if (jarr_next(j, &pfirst) != 1 || jstr(j, &s, &n))
				return jfail(j, "model.merges: bad pair");
			r = keep(c, s, n, 1, &m.a_off, &m.a_len);
			if (r)
				return r;
			if (jarr_next(j, &pfirst) != 1 || jstr(j, &s, &n))
				return jfail(j, "model.merges: bad pair");
			r = keep(c, s, n, 1, &m.b_off, &m.b_len);
			if (!r && jarr_next(j, &pfirst) != 0)
				return jfail(j, "model.merges: a pair has more than two parts");
		}
		if (r)
			return r;
		c->merges[c->nmerges++] = m;
	}
	return r;
}

static int read_model(struct jcur *j, struct collect *c)
{
	int first = 1, r;
	const char *k;
	size_t kn;

	if (expect(j, '{', "model: expected an object"))
		return -EINVAL;
	while ((r = jobj_next(j, &first, &k, &kn)) > 0) {
		if (key_is(k, kn, "type")) {
			const char *s;
			size_t n;

			r = jstr(j, &s, &n);
			if (!r && !key_is(s, n, "BPE"))
				return jfail(j, "model.type is not BPE");
			c->have_model_type = 1;
		} else if (key_is(k, kn, "vocab")) {
			r = read_vocab(j, c);
		} else if (key_is(k, kn, "merges")) {
			r = read_merges(j, c);
		} else {
			r = jskip(j, 2);
		}
		if (r)
			return r;
	}
	return r;
}

static int parse(struct jcur *j, struct collect *c)
{
	int first = 1, r;
	const char *k;
	size_t kn;

	if (expect(j, '{', "expected a JSON object"))
		return -EINVAL;
	while ((r = jobj_next(j, &first, &k, &kn)) > 0) {
		if (key_is(k, kn, "added_tokens"))
			r = read_added(j, c);
		else if (key_is(k, kn, "model"))
			r = read_model(j, c);
		else
			r = jskip(j, 1);
		if (r)
			return r;
	}
	if (r)
		return r;
	if (peek(j) != -1)
		return jfail(j, "data after the JSON object");
	return 0;
}

/* ---- building the tables ---- */

static int build_tables(struct wsp_tokenizer *t, struct collect *c, const char *path, int n_vocab,
		 char *err, size_t errlen)
{
	int32_t count = 0, notimestamps = -1, total;
	uint8_t *where = NULL;
	int ret;

	if (!c->nvocab || !c->nmerges) {
		snprintf(err, errlen, "%s: no model.vocab or no model.merges", path);
		return -EINVAL;
	}
	for (size_t i = 0; i < c->nvocab + c->nadded; i++) {
		struct tok_entry *e = i < c->nvocab ? &c->vocab[i] : &c->added[i - c->nvocab];

		/* every id below the count needs a text: no gaps */
		if ((size_t)e->id >= c->nvocab + c->nadded) {
			snprintf(err, errlen, "%s: token id %d, but there are only %zu tokens", path,
				 e->id, c->nvocab + c->nadded);
			return -EINVAL;
		}
		if (e->id >= count)
			count = e->id + 1;
		if (i >= c->nvocab && e->len == 16 &&
		    memcmp(c->bytes + e->off, "<|notimestamps|>", 16) == 0)
			notimestamps = e->id;
	}
	/* Whisper's files stop at <|notimestamps|>; the timestamps follow it. */
	total = count;
	if (notimestamps == count - 1 &&
	    (n_vocab <= 0 || n_vocab == count + WSP_TOK_N_TIMESTAMPS))
		total = count + WSP_TOK_N_TIMESTAMPS;
	if (n_vocab > 0 && n_vocab != total) {
		snprintf(err, errlen,
			 "%s: %d tokens (and %d timestamps after <|notimestamps|>), but the "
			 "model has n_vocab %d",
			 path, count, notimestamps == count - 1 ? WSP_TOK_N_TIMESTAMPS : 0,
			 n_vocab);
		return -EINVAL;
	}
	ret = wsp_tok_alloc(t, total);
	if (ret)
		return ret;
	where = calloc((size_t)total, 1);
	if (!where)
		return -ENOMEM;
	for (size_t i = 0; i < c->nvocab; i++) {
		struct tok_entry *e = &c->vocab[i];

		if (t->len[e->id] != UINT32_MAX) {
			snprintf(err, errlen, "%s: model.vocab gives id %d twice", path, e->id);
			ret = -EINVAL;
			goto out;
		}
		ret = wsp_tok_set(t, e->id, c->bytes + e->off, e->len);
		if (ret)
			goto out;
		where[e->id] = WSP_TOK_IN_VOCAB;
	}
	for (size_t i = 0; i < c->nadded; i++) {
		struct tok_entry *e = &c->added[i];

		if (where[e->id] & WSP_TOK_IN_ADDED) {
			snprintf(err, errlen, "%s: added_tokens gives id %d twice", path, e->id);
			ret = -EINVAL;
			goto out;
		}
		ret = wsp_tok_set(t, e->id, c->bytes + e->off, e->len);
		if (ret)
			goto out;
		where[e->id] |= WSP_TOK_IN_ADDED;
		t->special[e->id] = (uint8_t)(e->special != 0);
	}
	for (int32_t id = count; id < total; id++) {
		char s[16];
		int k = id - count, n = snprintf(s, sizeof(s), "<|%d.%02d|>", k / 50, k % 50 * 2);

		ret = wsp_tok_set(t, id, s, (size_t)n);
		if (ret)
			goto out;
		t->special[id] = 1;
	}
	for (int32_t id = 0; id < count; id++) {
		if (t->len[id] == UINT32_MAX) {
			snprintf(err, errlen, "%s: token id %d has no text", path, id);
			ret = -EINVAL;
			goto out;
		}
	}
	ret = wsp_tok_index(t, where);
	if (ret)
		goto out;

	ret = wsp_tok_merges_alloc(t, (int)c->nmerges);
	if (ret)
		goto out;
	for (size_t i = 0; i < c->nmerges; i++) {
		struct merge_entry *m = &c->merges[i];
		int32_t a = wsp_tok_find_vocab(t, c->bytes + m->a_off, m->a_len);
		int32_t b = wsp_tok_find_vocab(t, c->bytes + m->b_off, m->b_len);
		int32_t ab = -1;
		char *both;

		if (a >= 0 && b >= 0) {
			both = malloc((size_t)m->a_len + m->b_len + 1);
			if (!both) {
				ret = -ENOMEM;
				goto out;
			}
			memcpy(both, c->bytes + m->a_off, m->a_len);
			memcpy(both + m->a_len, c->bytes + m->b_off, m->b_len);
			ab = wsp_tok_find_vocab(t, both, (size_t)m->a_len + m->b_len);
			free(both);
		}
		if (ab < 0) {
			snprintf(err, errlen, "%s: merge %zu names a token not in model.vocab",
				 path, i);
			ret = -EINVAL;
			goto out;
		}
		wsp_tok_merge_add(t, a, b, (int32_t)i, ab);
	}
	for (int b = 0; b < 256; b++) {
		char ch = (char)b;

		t->byte_token[b] = wsp_tok_find_vocab(t, &ch, 1);
		if (t->byte_token[b] < 0) {
			snprintf(err, errlen, "%s: byte 0x%02x has no token", path, b);
			ret = -EINVAL;
			goto out;
		}
	}
out:
	free(where);
	return ret;
}

int wsp_tok_read_json(struct wsp_tokenizer *t, const char *path, const char *buf,
		      size_t len, int n_vocab, char *err, size_t errlen)
{
	struct jcur j = { buf, buf, buf + len, path, err, errlen, 0, NULL, 0 };
	struct collect c = { 0 };
	int ret = parse(&j, &c);

	if (!ret && !c.have_model_type) {
		snprintf(err, errlen, "%s: no model.type", path);
		ret = -EINVAL;
	}
	if (!ret)
		ret = build_tables(t, &c, path, n_vocab, err, errlen);
	free(j.sbuf);
	free(c.bytes);
	free(c.vocab);
	free(c.added);
	free(c.merges);
	return ret;
}
