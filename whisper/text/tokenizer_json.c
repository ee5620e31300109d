// SPDX-License-Identifier: MIT
/*
 * whisper/text/tokenizer_json.c - the reader of a Hugging Face tokenizer.json
 * (BPE model, byte-level pre-tokenizer), parsed with jansson: RFC 8259
 * syntax, well-formed UTF-8, no duplicate keys, nesting at most 64 deep.
 * Garbage gives -EINVAL and a message with the line and column, never a
 * crash.
 *
 * What is read: "added_tokens" (id, content, special), "model" ("type"
 * must be BPE, "vocab" text -> id, "merges" as "a b" strings or ["a", "b"]
 * pairs); every other member only has to be valid JSON. The timestamps
 * <|0.00|> .. <|30.00|>, which Whisper's tokenizer.json files leave out, are
 * added after <|notimestamps|> when the model has room.
 */
#include <errno.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "whisper/text/tokenizer_json.h"

#define JSON_MAX_DEPTH 64

struct reader {
	const char *path;
	char *err;
	size_t errlen;
	json_t *added;          /* array, or NULL */
	json_t *vocab;          /* object */
	json_t *merges;         /* array */
	char *scratch;          /* byte-level text decoded to raw bytes */
	size_t scratch_cap;
};

__attribute__((format(printf, 2, 3)))
static int fail(struct reader *r, const char *fmt, ...)
{
	size_t n = (size_t)snprintf(r->err, r->errlen, "%s: ", r->path);
	va_list ap;

	if (n < r->errlen) {
		va_start(ap, fmt);
		vsnprintf(r->err + n, r->errlen - n, fmt, ap);
		va_end(ap);
	}
	return -EINVAL;
}

/*
 * jansson nests up to 2048 levels; a tokenizer.json needs four, so deeper
 * text is refused before it is parsed.
 */
static int check_depth(struct reader *r, const char *buf, size_t len)
{
	int depth = 0, in_string = 0;

	for (size_t i = 0; i < len; i++) {
		char c = buf[i];

		if (in_string) {
			if (c == '\\')
				i++;
			else if (c == '"')
				in_string = 0;
		} else if (c == '"') {
			in_string = 1;
		} else if (c == '[' || c == '{') {
			if (++depth > JSON_MAX_DEPTH)
				return fail(r, "byte %zu: nesting deeper than %d", i, JSON_MAX_DEPTH);
		} else if (c == ']' || c == '}') {
			depth--;
		}
	}
	return 0;
}

static int is_id(const json_t *j)
{
	return json_is_integer(j) && json_integer_value(j) >= 0 &&
	       json_integer_value(j) <= INT32_MAX;
}

static int check_added(struct reader *r, json_t *added)
{
	size_t i;
	json_t *e;

	if (!json_is_array(added))
		return fail(r, "added_tokens: expected an array");
	json_array_foreach(added, i, e) {
		json_t *special;

		if (!json_is_object(e))
			return fail(r, "added_tokens[%zu]: expected an object", i);
		special = json_object_get(e, "special");
		if (!is_id(json_object_get(e, "id")))
			return fail(r, "added_tokens[%zu]: no id, or not an integer 0 .. 2^31-1", i);
		if (!json_is_string(json_object_get(e, "content")))
			return fail(r, "added_tokens[%zu]: no content, or not a string", i);
		if (special && !json_is_boolean(special))
			return fail(r, "added_tokens[%zu]: special is not true or false", i);
	}
	r->added = added;
	return 0;
}

static int check_model(struct reader *r, json_t *model)
{
	json_t *type, *id;
	const char *key;
	size_t klen;

	if (!json_is_object(model))
		return fail(r, "model: expected an object");
	type = json_object_get(model, "type");
	if (!type)
		return fail(r, "no model.type");
	if (!json_is_string(type) || json_string_length(type) != 3 ||
	    memcmp(json_string_value(type), "BPE", 3))
		return fail(r, "model.type is not BPE");
	r->vocab = json_object_get(model, "vocab");
	r->merges = json_object_get(model, "merges");
	if (r->vocab && !json_is_object(r->vocab))
		return fail(r, "model.vocab: expected an object");
	if (r->merges && !json_is_array(r->merges))
		return fail(r, "model.merges: expected an array");
	if (!json_object_size(r->vocab) || !json_array_size(r->merges))
		return fail(r, "no model.vocab or no model.merges");
	json_object_keylen_foreach(r->vocab, key, klen, id) {
		if (!is_id(id))
			return fail(r, "model.vocab: the id of \"%.*s\" is not an integer 0 .. 2^31-1",
				    (int)(klen < 40 ? klen : 40), key);
	}
	return 0;
}

/* The parts of @root that are read, checked for type; r->vocab etc. point into it. */
static int check_root(struct reader *r, json_t *root)
{
	json_t *added = json_object_get(root, "added_tokens"), *model;
	int ret;

	if (!json_is_object(root))
		return fail(r, "expected a JSON object");
	if (added) {
		ret = check_added(r, added);
		if (ret)
			return ret;
	}
	model = json_object_get(root, "model");
	if (!model)
		return fail(r, "no model.type");
	return check_model(r, model);
}

/* Room for @n bytes in r->scratch. */
static int scratch_room(struct reader *r, size_t n)
{
	size_t cap = r->scratch_cap ? r->scratch_cap : 256;
	char *p;

	if (n <= r->scratch_cap)
		return 0;
	while (cap < n)
		cap *= 2;
	p = realloc(r->scratch, cap);
	if (!p)
		return -ENOMEM;
	r->scratch = p;
	r->scratch_cap = cap;
	return 0;
}

/* The two sides of merge @m: "left right" (one space, neither side empty) or ["left", "right"]. */
static int merge_sides(const json_t *m, const char **left, size_t *llen, const char **right,
		       size_t *rlen)
{
	const json_t *a = json_array_get(m, 0), *b = json_array_get(m, 1);

	if (json_is_string(m)) {
		const char *s = json_string_value(m), *sp;
		size_t n = json_string_length(m);

		sp = memchr(s, ' ', n);
		if (!sp || sp == s || sp == s + n - 1 || memchr(sp + 1, ' ', n - (size_t)(sp - s) - 1))
			return -1;
		*left = s;
		*llen = (size_t)(sp - s);
		*right = sp + 1;
		*rlen = n - *llen - 1;
		return 0;
	}
	if (json_array_size(m) != 2 || !json_is_string(a) || !json_is_string(b))
		return -1;
	*left = json_string_value(a);
	*llen = json_string_length(a);
	*right = json_string_value(b);
	*rlen = json_string_length(b);
	return 0;
}

/* The merges, by rank: each side and the two joined must be BPE tokens. */
static int read_merges(struct reader *r, struct wsp_tok_vocab *v, struct wsp_tok_bpe *b)
{
	size_t i;
	json_t *m;
	int ret = wsp_tok_bpe_alloc(b, (int)json_array_size(r->merges));

	if (ret)
		return ret;
	json_array_foreach(r->merges, i, m) {
		const char *ls, *rs;
		size_t ln, rn;
		int32_t left, right, both;

		if (merge_sides(m, &ls, &ln, &rs, &rn))
			return fail(r, "model.merges[%zu]: not \"left right\" or [\"left\", \"right\"]",
				    i);
		ret = scratch_room(r, ln + rn);
		if (ret)
			return ret;
		ln = wsp_tok_bytelevel_decode(ls, ln, r->scratch);
		rn = wsp_tok_bytelevel_decode(rs, rn, r->scratch + ln);
		left = wsp_tok_vocab_find(v, r->scratch, ln);
		right = wsp_tok_vocab_find(v, r->scratch + ln, rn);
		both = left >= 0 && right >= 0 ? wsp_tok_vocab_find(v, r->scratch, ln + rn) : -1;
		if (both < 0)
			return fail(r, "model.merges[%zu]: names a token not in model.vocab", i);
		wsp_tok_bpe_add(b, left, right, (int32_t)i, both);
	}
	return 0;
}

/* Every id's bytes: model.vocab (byte-level), added_tokens (as written), timestamps. */
static int set_tokens(struct reader *r, struct wsp_tok_vocab *v, int32_t count, uint8_t *where)
{
	const char *key;
	size_t klen, i;
	json_t *val, *e;
	int ret;

	json_object_keylen_foreach(r->vocab, key, klen, val) {
		int32_t id = (int32_t)json_integer_value(val);

		if (v->len[id] != UINT32_MAX)
			return fail(r, "model.vocab gives id %d twice", id);
		ret = scratch_room(r, klen);
		if (!ret)
			ret = wsp_tok_vocab_set(v, id, r->scratch,
						wsp_tok_bytelevel_decode(key, klen, r->scratch));
		if (ret)
			return ret;
		where[id] = WSP_TOK_IN_VOCAB;
	}
	json_array_foreach(r->added, i, e) {
		int32_t id = (int32_t)json_integer_value(json_object_get(e, "id"));
		json_t *content = json_object_get(e, "content");

		if (where[id] & WSP_TOK_IN_ADDED)
			return fail(r, "added_tokens gives id %d twice", id);
		ret = wsp_tok_vocab_set(v, id, json_string_value(content), json_string_length(content));
		if (ret)
			return ret;
		where[id] |= WSP_TOK_IN_ADDED;
		v->special[id] = json_is_true(json_object_get(e, "special"));
	}
	for (int32_t id = count; id < v->n; id++) {
		char s[16];
		int k = id - count, n = snprintf(s, sizeof(s), "<|%d.%02d|>", k / 50, k % 50 * 2);

		ret = wsp_tok_vocab_set(v, id, s, (size_t)n);
		if (ret)
			return ret;
		v->special[id] = 1;
	}
	for (int32_t id = 0; id < count; id++)
		if (v->len[id] == UINT32_MAX)
			return fail(r, "token id %d has no text", id);
	return 0;
}

/* Id @id must be below the number of tokens the file lists; *@count is past the largest. */
static int note_id(struct reader *r, int32_t id, int32_t *count)
{
	size_t listed = json_object_size(r->vocab) + json_array_size(r->added);

	if ((size_t)id >= listed)
		return fail(r, "token id %d, but there are only %zu tokens", id, listed);
	if (id >= *count)
		*count = id + 1;
	return 0;
}

/* The number of ids the file gives, and where <|notimestamps|> is. */
static int count_ids(struct reader *r, int32_t *count, int32_t *notimestamps)
{
	const char *key;
	size_t i;
	json_t *val, *e;

	*count = 0;
	*notimestamps = -1;
	json_object_foreach(r->vocab, key, val)
		if (note_id(r, (int32_t)json_integer_value(val), count))
			return -EINVAL;
	json_array_foreach(r->added, i, e) {
		int32_t id = (int32_t)json_integer_value(json_object_get(e, "id"));
		json_t *content = json_object_get(e, "content");

		if (note_id(r, id, count))
			return -EINVAL;
		if (json_string_length(content) == 16 &&
		    memcmp(json_string_value(content), "<|notimestamps|>", 16) == 0)
			*notimestamps = id;
	}
	return 0;
}

static int build(struct reader *r, struct wsp_tok_vocab *v, struct wsp_tok_bpe *b, int n_vocab)
{
	int32_t count, notimestamps, total;
	uint8_t *where;
	int ret = count_ids(r, &count, &notimestamps);

	if (ret)
		return ret;
	/* Whisper's files stop at <|notimestamps|>; the timestamps follow it. */
	total = count;
	if (notimestamps == count - 1 &&
	    (n_vocab <= 0 || n_vocab == count + WSP_TOK_N_TIMESTAMPS))
		total = count + WSP_TOK_N_TIMESTAMPS;
	if (n_vocab > 0 && n_vocab != total)
		return fail(r, "%d tokens (and %d timestamps after <|notimestamps|>), but the "
			    "model has n_vocab %d", count,
			    notimestamps == count - 1 ? WSP_TOK_N_TIMESTAMPS : 0, n_vocab);
	ret = wsp_tok_vocab_alloc(v, total);
	if (ret)
		return ret;
	where = calloc((size_t)total, 1);
	if (!where)
		return -ENOMEM;
	ret = set_tokens(r, v, count, where);
	if (!ret)
		ret = wsp_tok_vocab_index(v, where);
	free(where);
	if (!ret)
		ret = read_merges(r, v, b);
	for (int c = 0; !ret && c < 256; c++) {
		char ch = (char)c;

		b->byte_token[c] = wsp_tok_vocab_find(v, &ch, 1);
		if (b->byte_token[c] < 0)
			ret = fail(r, "byte 0x%02x has no token", c);
	}
	return ret;
}

int wsp_tok_read_json(struct wsp_tok_vocab *v, struct wsp_tok_bpe *b, const char *path,
		      const char *buf, size_t len, int n_vocab, char *err, size_t errlen)
{
	struct reader r = { .path = path, .err = err, .errlen = errlen };
	json_error_t jerr;
	json_t *root;
	int ret = check_depth(&r, buf, len);

	if (ret)
		return ret;
	root = json_loadb(buf, len, JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL, &jerr);
	if (!root) {
		fail(&r, "line %d, column %d: %s", jerr.line, jerr.column, jerr.text);
		return json_error_code(&jerr) == json_error_out_of_memory ? -ENOMEM : -EINVAL;
	}
	ret = check_root(&r, root);
	if (!ret)
		ret = build(&r, v, b, n_vocab);
	json_decref(root);
	free(r.scratch);
	return ret;
}
