// SPDX-License-Identifier: MIT
/*
 * tests/test_tokenizer.c - the tokenizer against Hugging Face tokenizers and
 * faster-whisper on models/tiny.en and models/base: special and language
 * token ids, encodings of a corpus (the shared audio's transcripts, numbers,
 * contractions, white space, accents, CJK, emoji, random text) and decodings
 * (cut characters, special and timestamp tokens), all from
 * tests/data/tokenizer_reference.tsv, which scripts/tokenizer_reference.py
 * writes. Then the same from vocabulary.txt alone, vocabulary size checks,
 * and corrupt files: truncated at every byte, wrong types, garbage, random
 * byte flips: -EINVAL with a message, never a crash.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "whisper/text/tokenizer.h"
#include "tests/helpers/test_env.h"

#define REF_FILE "tests/data/tokenizer_reference.tsv"

static const char *model_dir(const char *name)
{
	static char path[2][256];
	int k = strcmp(name, "base") == 0;

	snprintf(path[k], sizeof(path[k]), "models/%s", name);
	if (access(path[k], R_OK) != 0)
		cr_skip_test("%s missing: model-dependent tokenizer test skipped", path[k]);
	return path[k];
}

static int model_vocab(const char *name)
{
	return strcmp(name, "base") == 0 ? 51865 : 51864;
}

static struct wsp_tokenizer *load(const char *name)
{
	struct wsp_tokenizer *t = NULL;
	char err[512];
	int ret = wsp_tokenizer_load(model_dir(name), model_vocab(name), &t, err, sizeof(err));

	cr_assert_eq(ret, 0, "load %s: %d %s", name, ret, err);
	cr_assert_not_null(t);
	return t;
}

/* ---- reading the reference file ---- */

struct ref {
	char kind[16], model[16];
	char *a, *b;            /* the two value fields */
};

static char *read_all(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf;
	long n;

	cr_assert_not_null(f, "cannot open %s (run scripts/tokenizer_reference.py)", path);
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	buf = malloc((size_t)n + 1);
	cr_assert_not_null(buf);
	cr_assert_eq(fread(buf, 1, (size_t)n, f), (size_t)n);
	buf[n] = '\0';
	fclose(f);
	if (len)
		*len = (size_t)n;
	return buf;
}

/* Calls @fn on each record of @kind for model @model; returns the count. */
static int each_ref(const char *kind, const char *model,
		    void (*fn)(struct wsp_tokenizer *, const char *, const char *, void *),
		    struct wsp_tokenizer *t, void *arg)
{
	char *buf = read_all(REF_FILE, NULL), *save = NULL;
	int n = 0;

	for (char *line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char *f[4], *p = line;

		for (int i = 0; i < 4; i++) {
			f[i] = p;
			p = i < 3 ? strchr(p, '\t') : NULL;
			if (i < 3) {
				cr_assert_not_null(p, "bad reference line: %s", line);
				*p++ = '\0';
			}
		}
		if (strcmp(f[0], kind) || strcmp(f[1], model))
			continue;
		fn(t, f[2], f[3], arg);
		n++;
	}
	free(buf);
	return n;
}

static size_t unhex(const char *h, char *out)
{
	size_t n = 0;

	for (; h[0] && h[1]; h += 2) {
		unsigned v;

		cr_assert_eq(sscanf(h, "%2x", &v), 1);
		out[n++] = (char)v;
	}
	out[n] = '\0';
	return n;
}

static int parse_ids(const char *s, int32_t *ids, int cap)
{
	int n = 0;

	if (strcmp(s, "-") == 0)
		return 0;
	while (*s) {
		char *end;
		long v = strtol(s, &end, 10);

		cr_assert_neq(end, s, "bad id list %s", s);
		cr_assert_lt(n, cap);
		ids[n++] = (int32_t)v;
		s = *end == ',' ? end + 1 : end;
	}
	return n;
}

/* ---- special and language tokens ---- */

static void check_special(struct wsp_tokenizer *t, const char *name, const char *val, void *arg)
{
	const struct wsp_special_tokens *sp = wsp_tokenizer_special(t);
	int32_t want = (int32_t)atoi(val), got = -2;

	if (!strcmp(name, "eot")) got = sp->eot;
	else if (!strcmp(name, "sot")) got = sp->sot;
	else if (!strcmp(name, "translate")) got = sp->translate;
	else if (!strcmp(name, "transcribe")) got = sp->transcribe;
	else if (!strcmp(name, "sot_lm")) got = sp->sot_lm;
	else if (!strcmp(name, "sot_prev")) got = sp->sot_prev;
	else if (!strcmp(name, "no_speech")) got = sp->no_speech;
	else if (!strcmp(name, "no_timestamps")) got = sp->no_timestamps;
	else if (!strcmp(name, "timestamp_begin")) got = sp->timestamp_begin;
	cr_assert_eq(got, want, "%s (%s): %d, faster-whisper %d", name,
		     wsp_tokenizer_source(t), got, want);
	(*(int *)arg)++;
}

static void check_lang(struct wsp_tokenizer *t, const char *code, const char *val, void *arg)
{
	int32_t want = (int32_t)atoi(val), got = wsp_tokenizer_lang_token(t, code);

	cr_assert_eq(got, want, "lang %s: %d, reference %d", code, got, want);
	if (want >= 0)
		cr_assert_str_eq(wsp_tokenizer_lang_code(t, got), code);
}

static void specials_of(const char *model, struct wsp_tokenizer *t)
{
	const struct wsp_special_tokens *sp = wsp_tokenizer_special(t);
	int seen = 0;

	cr_assert_eq(each_ref("special", model, check_special, t, &seen), 9);
	cr_assert_gt(each_ref("lang", model, check_lang, t, NULL), 99);
	/* English and both multilingual models: 99 languages, en first */
	cr_assert_eq(sp->n_langs, 99);
	cr_assert_eq(sp->lang_first, wsp_tokenizer_lang_token(t, "en"));
	cr_assert_eq(sp->lang_first, sp->sot + 1);
	cr_assert_str_eq(wsp_tokenizer_lang_code(t, sp->lang_first + sp->n_langs - 1), "su");
	cr_assert_null(wsp_tokenizer_lang_code(t, sp->lang_first - 1));
	cr_assert_null(wsp_tokenizer_lang_code(t, sp->lang_first + sp->n_langs));
	cr_assert_eq(wsp_tokenizer_lang_token(t, "yue"), -1);
	cr_assert_eq(wsp_tokenizer_lang_token(t, ""), -1);
	cr_assert_eq(wsp_tokenizer_lang_token(t, NULL), -1);
	cr_assert_eq(sp->timestamp_begin + 1501, wsp_tokenizer_n_vocab(t));
	cr_assert_eq(wsp_tokenizer_token_id(t, "<|nocaptions|>"), sp->no_speech);
}

Test(tokenizer, special_tokens_tiny_en)
{
	struct wsp_tokenizer *t = load("tiny.en");

	specials_of("tiny.en", t);
	cr_assert_eq(wsp_tokenizer_n_vocab(t), 51864);
	cr_assert_str_eq(wsp_tokenizer_source(t), "tokenizer.json");
	wsp_tokenizer_free(t);
}

Test(tokenizer, special_tokens_base)
{
	struct wsp_tokenizer *t = load("base");

	specials_of("base", t);
	cr_assert_eq(wsp_tokenizer_n_vocab(t), 51865);
	wsp_tokenizer_free(t);
}

Test(tokenizer, token_bytes)
{
	struct wsp_tokenizer *t = load("base");
	const struct wsp_special_tokens *sp = wsp_tokenizer_special(t);
	size_t n;
	const char *s;

	s = wsp_tokenizer_token_bytes(t, sp->lang_first, &n);
	cr_assert(n == 6 && memcmp(s, "<|en|>", 6) == 0);
	s = wsp_tokenizer_token_bytes(t, sp->timestamp_begin, &n);
	cr_assert(n == 8 && memcmp(s, "<|0.00|>", 8) == 0);
	s = wsp_tokenizer_token_bytes(t, sp->timestamp_begin + 1, &n);
	cr_assert(n == 8 && memcmp(s, "<|0.02|>", 8) == 0);
	s = wsp_tokenizer_token_bytes(t, sp->timestamp_begin + 1500, &n);
	cr_assert(n == 9 && memcmp(s, "<|30.00|>", 9) == 0);
	/* " Hello" is byte-level "ĠHello" in the file: the raw bytes come back */
	s = wsp_tokenizer_token_bytes(t, wsp_tokenizer_token_id(t, " Hello"), &n);
	cr_assert(n == 6 && memcmp(s, " Hello", 6) == 0);
	cr_assert_null(wsp_tokenizer_token_bytes(t, -1, &n));
	cr_assert_null(wsp_tokenizer_token_bytes(t, 51865, &n));
	cr_assert(wsp_tokenizer_is_special(t, sp->eot));
	cr_assert(wsp_tokenizer_is_special(t, sp->timestamp_begin + 7));
	cr_assert_not(wsp_tokenizer_is_special(t, 50256));
	wsp_tokenizer_free(t);
}

/* ---- encode and decode against the reference ---- */

static void check_encode(struct wsp_tokenizer *t, const char *hex, const char *ids, void *arg)
{
	size_t hl = strlen(hex);
	char *text = malloc(hl / 2 + 1);
	int32_t want[1024], got[1024];
	int nw, ng;

	unhex(hex, text);
	nw = parse_ids(ids, want, 1024);
	ng = wsp_tokenizer_encode(t, text, got, 1024);
	cr_assert_eq(ng, nw, "encode \"%s\": %d tokens, reference %d", text, ng, nw);
	for (int i = 0; i < nw; i++)
		cr_assert_eq(got[i], want[i], "encode \"%s\": token %d is %d, reference %d", text,
			     i, got[i], want[i]);
	free(text);
	(*(int *)arg)++;
}

static void check_decode(struct wsp_tokenizer *t, const char *ids, const char *hex, void *arg)
{
	size_t hl = strlen(hex);
	char *want = malloc(hl / 2 + 1), got[8192];
	int32_t tok[1024];
	int n = parse_ids(ids, tok, 1024);
	size_t wl = unhex(hex, want), gl = wsp_tokenizer_decode(t, tok, n, got, sizeof(got));

	cr_assert_eq(gl, wl, "decode %s: %zu bytes \"%s\", reference %zu \"%s\"", ids, gl, got,
		     wl, want);
	cr_assert(memcmp(got, want, wl) == 0 && got[wl] == '\0', "decode %s: \"%s\", reference \"%s\"",
		  ids, got, want);
	free(want);
}

static void encode_all(const char *model)
{
	struct wsp_tokenizer *t = load(model);
	int n = 0;

	cr_assert_gt(each_ref("encode", model, check_encode, t, &n), 300);
	wsp_tokenizer_free(t);
}

static void decode_all(const char *model)
{
	struct wsp_tokenizer *t = load(model);

	cr_assert_gt(each_ref("decode", model, check_decode, t, NULL), 1000);
	wsp_tokenizer_free(t);
}

Test(tokenizer, encode_tiny_en) { encode_all("tiny.en"); }
Test(tokenizer, encode_base) { encode_all("base"); }
Test(tokenizer, decode_tiny_en) { decode_all("tiny.en"); }
Test(tokenizer, decode_base) { decode_all("base"); }

static void roundtrip(struct wsp_tokenizer *t, const char *hex, const char *ids, void *arg)
{
	size_t hl = strlen(hex);
	char *text = malloc(hl / 2 + 1), *back = malloc(hl / 2 + 1);
	int32_t tok[1024];
	size_t tl = unhex(hex, text);
	int n = wsp_tokenizer_encode(t, text, tok, 1024);

	cr_assert_geq(n, 0);
	/* added tokens written in the text are special: decode drops them */
	if (!strstr(text, "<|")) {
		cr_assert_eq(wsp_tokenizer_decode(t, tok, n, back, tl + 1), tl);
		cr_assert_str_eq(back, text);
	}
	free(text);
	free(back);
}

Test(tokenizer, decode_inverts_encode)
{
	struct wsp_tokenizer *t = load("base");

	each_ref("encode", "base", roundtrip, t, NULL);
	wsp_tokenizer_free(t);
}

Test(tokenizer, decode_is_snprintf)
{
	struct wsp_tokenizer *t = load("base");
	int32_t tok[64];
	char buf[64];
	const char *text = " Hello world";
	int n = wsp_tokenizer_encode(t, text, tok, 64);
	size_t len = strlen(text);

	cr_assert_eq(n, 2);
	cr_assert_eq(wsp_tokenizer_decode(t, tok, n, NULL, 0), len);
	memset(buf, 'x', sizeof(buf));
	cr_assert_eq(wsp_tokenizer_decode(t, tok, n, buf, 0), len);
	cr_assert_eq(buf[0], 'x', "cap 0 writes nothing");
	cr_assert_eq(wsp_tokenizer_decode(t, tok, n, buf, 1), len);
	cr_assert_str_eq(buf, "");
	cr_assert_eq(wsp_tokenizer_decode(t, tok, n, buf, 5), len);
	cr_assert_str_eq(buf, " Hel");
	cr_assert_eq(wsp_tokenizer_decode(t, tok, n, buf, len + 1), len);
	cr_assert_str_eq(buf, text);
	cr_assert_eq(wsp_tokenizer_decode(t, tok, 0, buf, sizeof(buf)), 0);
	cr_assert_str_eq(buf, "");
	/* ids out of range are skipped like special tokens */
	tok[n] = -5;
	tok[n + 1] = 1 << 20;
	cr_assert_eq(wsp_tokenizer_decode(t, tok, n + 2, buf, sizeof(buf)), len);
	wsp_tokenizer_free(t);
}

Test(tokenizer, decode_cut_character)
{
	struct wsp_tokenizer *t = load("base");
	const struct wsp_special_tokens *sp = wsp_tokenizer_special(t);
	int32_t tok[16];
	char buf[64];
	int n = wsp_tokenizer_encode(t, "\xf0\x9f\x98\x80", tok, 16);   /* U+1F600 */

	cr_assert_gt(n, 1, "the emoji takes more than one token");
	/* its first token alone ends in a cut sequence: one U+FFFD */
	cr_assert_eq(wsp_tokenizer_decode(t, tok, n - 1, buf, sizeof(buf)), 3);
	cr_assert_str_eq(buf, "\xef\xbf\xbd");
	/* a special token between the parts does not cut the character */
	memmove(tok + 2, tok + 1, (size_t)(n - 1) * sizeof(*tok));
	tok[1] = sp->timestamp_begin + 3;
	cr_assert_eq(wsp_tokenizer_decode(t, tok, n + 1, buf, sizeof(buf)), 4);
	cr_assert_str_eq(buf, "\xf0\x9f\x98\x80");
	wsp_tokenizer_free(t);
}

Test(tokenizer, encode_cap_and_errors)
{
	struct wsp_tokenizer *t = load("tiny.en");
	int32_t all[64], some[3] = { -7, -7, -7 };
	const char *text = "And so my fellow Americans, ask not";
	int n = wsp_tokenizer_encode(t, text, all, 64);

	cr_assert_gt(n, 3);
	cr_assert_eq(wsp_tokenizer_encode(t, text, some, 2), n);
	cr_assert(some[0] == all[0] && some[1] == all[1] && some[2] == -7);
	cr_assert_eq(wsp_tokenizer_encode(t, text, NULL, 0), n);
	cr_assert_eq(wsp_tokenizer_encode(t, "", all, 64), 0);
	cr_assert_eq(wsp_tokenizer_encode(t, NULL, all, 64), -EINVAL);
	/* bytes that are not UTF-8 still encode, one byte token each at worst */
	n = wsp_tokenizer_encode(t, "a\xff\xfe b\xc3", all, 64);
	cr_assert_gt(n, 0);
	{
		char buf[32];

		wsp_tokenizer_decode(t, all, n, buf, sizeof(buf));
		cr_assert_str_eq(buf, "a\xef\xbf\xbd\xef\xbf\xbd b\xef\xbf\xbd");
	}
	wsp_tokenizer_free(t);
}

/* A long piece takes the heap path of the merges. */
Test(tokenizer, encode_long_piece)
{
	struct wsp_tokenizer *t = load("base");
	size_t n = 100000;
	char *text = malloc(n + 1), *back = malloc(n + 1);
	int32_t *tok = malloc(n * sizeof(*tok));
	int k;

	for (size_t i = 0; i < n; i++)
		text[i] = "abcdefghij"[i % 10];
	text[n] = '\0';
	k = wsp_tokenizer_encode(t, text, tok, (int)n);
	cr_assert_gt(k, 0);
	cr_assert_lt(k, (int)n);
	cr_assert_eq(wsp_tokenizer_decode(t, tok, k, back, n + 1), n);
	cr_assert(memcmp(back, text, n) == 0);
	free(text);
	free(back);
	free(tok);
	wsp_tokenizer_free(t);
}

/* ---- vocabulary.txt alone ---- */

static char tmpdir[64];

static void make_tmpdir(void)
{
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/amn_tok_XXXXXX");
	cr_assert_not_null(mkdtemp(tmpdir));
}

static void rm_tmpdir(void)
{
	char path[128];

	snprintf(path, sizeof(path), "%s/tokenizer.json", tmpdir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/vocabulary.txt", tmpdir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/vocabulary.json", tmpdir);
	unlink(path);
	rmdir(tmpdir);
}

static void write_file(const char *name, const void *p, size_t n)
{
	char path[128];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
	f = fopen(path, "wb");
	cr_assert_not_null(f);
	cr_assert_eq(fwrite(p, 1, n, f), n);
	fclose(f);
}

static void copy_vocab(const char *model, size_t drop_tail)
{
	char src[600], *buf;
	size_t len;

	snprintf(src, sizeof(src), "%s/vocabulary.txt", model_dir(model));
	buf = read_all(src, &len);
	write_file("vocabulary.txt", buf, len - drop_tail);
	free(buf);
}

static void vocab_only(const char *model)
{
	struct wsp_tokenizer *tv, *tj = load(model);
	char err[512];
	int32_t tok[4];
	int seen = 0;

	make_tmpdir();
	copy_vocab(model, 0);
	cr_assert_eq(wsp_tokenizer_load(tmpdir, model_vocab(model), &tv, err, sizeof(err)), 0,
		     "%s", err);
	cr_assert_str_eq(wsp_tokenizer_source(tv), "vocabulary.txt");
	cr_assert_not(wsp_tokenizer_encodes_exactly(tv));
	/* greedy longest match: " hello" is one token in both ways */
	cr_assert_eq(wsp_tokenizer_encode(tv, " hello", tok, 4), 1);
	cr_assert_eq(wsp_tokenizer_encode(tj, " hello", tok + 1, 3), 1);
	cr_assert_eq(tok[0], tok[1]);
	cr_assert_eq(each_ref("special", model, check_special, tv, &seen), 9);
	each_ref("lang", model, check_lang, tv, NULL);
	each_ref("decode", model, check_decode, tv, NULL);
	/* every token, timestamps included, has the same bytes either way */
	cr_assert_eq(wsp_tokenizer_n_vocab(tv), wsp_tokenizer_n_vocab(tj));
	for (int32_t id = 0; id < wsp_tokenizer_n_vocab(tj); id++) {
		size_t nj, nv;
		const char *sj = wsp_tokenizer_token_bytes(tj, id, &nj);
		const char *sv = wsp_tokenizer_token_bytes(tv, id, &nv);

		cr_assert(nj == nv && memcmp(sj, sv, nj) == 0, "token %d differs", id);
		cr_assert_eq(wsp_tokenizer_is_special(tj, id), wsp_tokenizer_is_special(tv, id),
			     "token %d", id);
	}
	wsp_tokenizer_free(tv);
	wsp_tokenizer_free(tj);
	rm_tmpdir();
}

Test(tokenizer, vocabulary_txt_tiny_en) { vocab_only("tiny.en"); }
Test(tokenizer, vocabulary_txt_base) { vocab_only("base"); }

Test(tokenizer, vocabulary_size_mismatch)
{
	struct wsp_tokenizer *t = NULL;
	char err[512];

	cr_assert_eq(wsp_tokenizer_load(model_dir("tiny.en"), 51865, &t, err, sizeof(err)),
		     -EINVAL);
	cr_assert_null(t);
	cr_assert(strstr(err, "tokenizer.json") && strstr(err, "51865"), "message: %s", err);
	cr_assert_eq(wsp_tokenizer_load(model_dir("base"), 51864, &t, err, sizeof(err)), -EINVAL);
	/* n_vocab 0: the files' size */
	cr_assert_eq(wsp_tokenizer_load(model_dir("base"), 0, &t, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(wsp_tokenizer_n_vocab(t), 51865);
	wsp_tokenizer_free(t);

	make_tmpdir();
	copy_vocab("base", 0);
	cr_assert_eq(wsp_tokenizer_load(tmpdir, 51866, &t, err, sizeof(err)), -EINVAL);
	cr_assert(strstr(err, "vocabulary.txt") && strstr(err, "51866"), "message: %s", err);
	/* one line short: the last timestamp is gone */
	copy_vocab("base", strlen("<|30.00|>\n"));
	cr_assert_eq(wsp_tokenizer_load(tmpdir, 51865, &t, err, sizeof(err)), -EINVAL);
	cr_assert_eq(wsp_tokenizer_load(tmpdir, 0, &t, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(wsp_tokenizer_n_vocab(t), 51864);
	wsp_tokenizer_free(t);
	rm_tmpdir();
}

Test(tokenizer, missing_files)
{
	struct wsp_tokenizer *t = NULL;
	char err[512];

	make_tmpdir();
	cr_assert_eq(wsp_tokenizer_load(tmpdir, 0, &t, err, sizeof(err)), -ENOENT);
	cr_assert_null(t);
	cr_assert(strstr(err, "tokenizer.json") && strstr(err, "vocabulary.json") &&
		  strstr(err, "vocabulary.txt"), "%s", err);
	cr_assert_eq(wsp_tokenizer_load("/nonexistent/dir", 0, &t, err, sizeof(err)), -ENOENT);
	cr_assert_eq(wsp_tokenizer_load(NULL, 0, &t, err, sizeof(err)), -EINVAL);
	wsp_tokenizer_free(NULL);
	rm_tmpdir();
}

/* ---- a small tokenizer.json of our own, and corrupt variants ---- */

struct sbuf {
	char *p;
	size_t n, cap;
};

static void sput(struct sbuf *b, const char *s, size_t n)
{
	if (b->n + n + 1 > b->cap) {
		b->cap = (b->n + n + 1) * 2;
		b->p = realloc(b->p, b->cap);
		cr_assert_not_null(b->p);
	}
	memcpy(b->p + b->n, s, n);
	b->n += n;
	b->p[b->n] = '\0';
}

static void sputs(struct sbuf *b, const char *s)
{
	sput(b, s, strlen(s));
}

/* GPT-2's printable form of byte @c, as a JSON string body. */
static void put_bytelevel(struct sbuf *b, unsigned c)
{
	static const char *esc[] = { ['"'] = "\\\"", ['\\'] = "\\\\" };
	unsigned cp = c;
	char u[3];
	int printable = (c >= 0x21 && c <= 0x7e) || (c >= 0xa1 && c <= 0xac) || c >= 0xae;

	if (!printable) {
		unsigned k = 0;

		for (unsigned x = 0; x < c; x++)
			k += !((x >= 0x21 && x <= 0x7e) || (x >= 0xa1 && x <= 0xac) || x >= 0xae);
		cp = 0x100 + k;
	}
	if (cp < 0x80 && (cp == '"' || cp == '\\')) {
		sputs(b, esc[cp]);
	} else if (cp < 0x80) {
		u[0] = (char)cp;
		sput(b, u, 1);
	} else {
		u[0] = (char)(0xc0 | cp >> 6);
		u[1] = (char)(0x80 | (cp & 0x3f));
		sput(b, u, 2);
	}
}

static const char *small_added[] = {
	"<|endoftext|>", "<|startoftranscript|>", "<|en|>", "<|de|>", "<|translate|>",
	"<|transcribe|>", "<|startoflm|>", "<|startofprev|>", "<|nocaptions|>",
	"<|notimestamps|>",
};
#define SMALL_VOCAB (256 + 3 + 10)   /* bytes, "he", "ll", "hell", added tokens */

/* 256 byte tokens, three merges (h e, l l, he ll), Whisper's special tokens. */
static struct sbuf small_json(void)
{
	struct sbuf b = { 0 };
	char num[64];

	sputs(&b, "{\n  \"version\": \"1.0\", \"truncation\": null, \"padding\": null,\n"
		  "  \"added_tokens\": [\n");
	for (int i = 0; i < 10; i++) {
		snprintf(num, sizeof(num), "%s    {\"id\": %d, \"content\": \"", i ? ",\n" : "",
			 259 + i);
		sputs(&b, num);
		sputs(&b, small_added[i]);
		sputs(&b, "\", \"single_word\": false, \"lstrip\": false, \"rstrip\": false, "
			  "\"normalized\": false, \"special\": true}");
	}
	sputs(&b, "\n  ],\n  \"normalizer\": null,\n  \"pre_tokenizer\": {\"type\": \"ByteLevel\", "
		  "\"add_prefix_space\": false, \"trim_offsets\": true, \"use_regex\": true},\n"
		  "  \"model\": {\"type\": \"BPE\", \"dropout\": null, \"unk_token\": null, "
		  "\"fuse_unk\": false, \"score\": -1.5e-3, \"vocab\": {");
	for (unsigned c = 0; c < 256; c++) {
		sputs(&b, c ? ", \"" : "\"");
		put_bytelevel(&b, c);
		snprintf(num, sizeof(num), "\": %u", c);
		sputs(&b, num);
	}
	sputs(&b, ", \"he\": 256, \"ll\": 257, \"hell\": 258, \"<|endoftext|>\": 259},\n"
		  "    \"merges\": [\"h e\", [\"l\", \"l\"], \"he ll\"]\n  }\n}\n");
	return b;
}

static int load_json(const char *text, size_t n, int n_vocab, struct wsp_tokenizer **t,
		     char *err, size_t errlen)
{
	write_file("tokenizer.json", text, n);
	return wsp_tokenizer_load(tmpdir, n_vocab, t, err, errlen);
}

Test(tokenizer, small_json)
{
	struct sbuf b = small_json();
	struct wsp_tokenizer *t;
	char err[512], out[64];
	int32_t tok[16];
	int n;

	make_tmpdir();
	cr_assert_eq(load_json(b.p, b.n, SMALL_VOCAB + 1501, &t, err, sizeof(err)), 0, "%s", err);
	n = wsp_tokenizer_encode(t, "hello<|de|> hell", tok, 16);
	cr_assert_eq(n, 5);
	cr_assert(tok[0] == 258 && tok[1] == 'o' && tok[2] == 262 && tok[3] == ' ' &&
		  tok[4] == 258);
	cr_assert_eq(wsp_tokenizer_decode(t, tok, n, out, sizeof(out)), 10);
	cr_assert_str_eq(out, "hello hell");
	cr_assert_eq(wsp_tokenizer_special(t)->n_langs, 2);
	cr_assert_eq(wsp_tokenizer_lang_token(t, "de"), 262);
	cr_assert_eq(wsp_tokenizer_special(t)->timestamp_begin, SMALL_VOCAB);
	wsp_tokenizer_free(t);
	/* without room for timestamps, or with too much */
	cr_assert_eq(load_json(b.p, b.n, SMALL_VOCAB, &t, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(wsp_tokenizer_special(t)->timestamp_begin, -1);
	wsp_tokenizer_free(t);
	cr_assert_eq(load_json(b.p, b.n, SMALL_VOCAB + 1, &t, err, sizeof(err)), -EINVAL);
	cr_assert_eq(load_json(b.p, b.n, SMALL_VOCAB + 1502, &t, err, sizeof(err)), -EINVAL);
	free(b.p);
	rm_tmpdir();
}


/* Every prefix of the small file: -EINVAL with a message, never a crash. */
Test(tokenizer, json_truncated)
{
	struct sbuf b = small_json();
	struct wsp_tokenizer *t;
	char err[512];
	size_t step = test_small_scale() ? 7 : 1, end = b.n;

	make_tmpdir();
	while (end > 0 && (b.p[end - 1] == '\n' || b.p[end - 1] == '}'))
		end--;      /* the prefixes before the final "}" */
	for (size_t n = 0; n < end; n += step) {
		err[0] = '\0';
		cr_assert_eq(load_json(b.p, n, 0, &t, err, sizeof(err)), -EINVAL, "prefix %zu", n);
		cr_assert_null(t);
		cr_assert(strstr(err, "tokenizer.json"), "prefix %zu: message \"%s\"", n, err);
	}
	free(b.p);
	rm_tmpdir();
}

/* The real file cut at a few places, deep in the vocabulary and merges. */
Test(tokenizer, json_real_truncated)
{
	struct wsp_tokenizer *t;
	char src[600], err[512], *buf;
	size_t len, cuts = test_small_scale() ? 4 : 24;

	snprintf(src, sizeof(src), "%s/tokenizer.json", model_dir("tiny.en"));
	buf = read_all(src, &len);
	make_tmpdir();
	for (size_t i = 1; i <= cuts; i++) {
		size_t n = len * i / (cuts + 1) + i;

		cr_assert_eq(load_json(buf, n, 51864, &t, err, sizeof(err)), -EINVAL, "cut %zu", n);
		cr_assert_null(t);
	}
	free(buf);
	rm_tmpdir();
}

/* Replace the first @from in @b with @to. */
static struct sbuf mutate(const char *from, const char *to)
{
	struct sbuf b = small_json(), m = { 0 };
	char *at = strstr(b.p, from);

	cr_assert_not_null(at, "%s", from);
	sput(&m, b.p, (size_t)(at - b.p));
	sputs(&m, to);
	sputs(&m, at + strlen(from));
	free(b.p);
	return m;
}

Test(tokenizer, json_corrupt)
{
	static const char *cases[][2] = {
		/* wrong types */
		{ "\"id\": 259", "\"id\": \"259\"" },
		{ "\"id\": 259", "\"id\": -1" },
		{ "\"id\": 259", "\"id\": 259.0" },
		{ "\"id\": 259", "\"id\": 99999999999" },
		{ "\"id\": 259", "\"id\": 0259" },
		{ "\"special\": true", "\"special\": 1" },
		{ "\"content\": \"<|endoftext|>\"", "\"content\": null" },
		{ "\"added_tokens\": [", "\"added_tokens\": {\"a\": [" },
		{ "\"vocab\": {", "\"vocab\": [{" },
		{ "\"he\": 256", "\"he\": [256]" },
		{ "\"merges\": [", "\"merges\": 7, \"x\": [" },
		{ "\"h e\"", "\"he\"" },
		{ "\"h e\"", "\"h  e\"" },
		{ "\"h e\"", "\"h e x\"" },
		{ "[\"l\", \"l\"]", "[\"l\"]" },
		{ "[\"l\", \"l\"]", "[\"l\", \"l\", \"l\"]" },
		{ "[\"l\", \"l\"]", "[\"l\", 5]" },
		{ "\"type\": \"BPE\"", "\"type\": \"WordPiece\"" },
		{ "\"type\": \"BPE\"", "\"type\": 3" },
		/* broken references */
		{ "\"he ll\"", "\"he xx\"" },
		{ "\"hell\": 258", "\"hellx\": 258" },
		{ "\"ll\": 257", "\"ll\": 256" },
		{ "\"ll\": 257", "\"ll\": 300" },
		{ "\"id\": 260", "\"id\": 259" },
		{ "\"A\": 65", "\"A\": 1000" },
		{ "\"type\": \"BPE\", \"dropout\"", "\"dropout\"" },
		/* syntax */
		{ "\"version\": \"1.0\",", "\"version\": \"1.0\",," },
		{ "\"version\": \"1.0\"", "\"version\" \"1.0\"" },
		{ "\"version\": \"1.0\"", "version: \"1.0\"" },
		{ "\"version\": \"1.0\"", "\"version\": '1.0'" },
		{ "\"version\": \"1.0\"", "\"version\": \"1.0\\x\"" },
		{ "\"version\": \"1.0\"", "\"version\": \"\\ud800\"" },
		{ "\"version\": \"1.0\"", "\"version\": \"\\udc00\\ud800\"" },
		{ "\"version\": \"1.0\"", "\"version\": \"\\u12\"" },
		{ "\"version\": \"1.0\"", "\"version\": \"a\tb\"" },
		{ "\"version\": \"1.0\"", "\"version\": \"\xc3\x28\"" },
		{ "\"version\": \"1.0\"", "\"version\": \"\xed\xa0\x80\"" },
		{ "\"version\": \"1.0\"", "\"version\": \"\xf8\x88\x80\x80\x80\"" },
		{ "\"version\": \"1.0\"", "\"version\": 1." },
		{ "\"version\": \"1.0\"", "\"version\": -" },
		{ "\"version\": \"1.0\"", "\"version\": 1e" },
		{ "\"version\": \"1.0\"", "\"version\": .5" },
		{ "\"version\": \"1.0\"", "\"version\": tru" },
		{ "\"version\": \"1.0\"", "\"version\": nul" },
		{ "\"version\": \"1.0\"", "\"version\": [1, 2,]" },
		{ "\"version\": \"1.0\"", "\"version\": {\"a\": 1,}" },
		{ "\"version\": \"1.0\"", "\"version\": [1 2]" },
		{ "\"truncation\": null,", "" },     /* still valid: must load */
		{ "\"version\": \"1.0\"", "\"version\": \"\\u00e9\\ud83d\\ude00\\n\\/\"" },
		{ "{\n  \"version\"", "[{\n  \"version\"" },
		{ "{\n  \"version\"", "\xef\xbb\xbf{\n  \"version\"" },
	};
	struct wsp_tokenizer *t;
	char err[512];

	make_tmpdir();
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct sbuf m = mutate(cases[i][0], cases[i][1]);
		/* two edits leave a valid file */
		int want = strstr(cases[i][0], "truncation") || strstr(cases[i][1], "ude00") ? 0 : -EINVAL;
		int ret;

		err[0] = '\0';
		ret = load_json(m.p, m.n, 0, &t, err, sizeof(err));
		cr_assert_eq(ret, want, "case %zu (%s -> %s): %d %s", i, cases[i][0], cases[i][1],
			     ret, err);
		if (want)
			cr_assert(strstr(err, "tokenizer.json"), "case %zu: message \"%s\"", i, err);
		wsp_tokenizer_free(t);
		free(m.p);
	}
	/* trailing data, nesting, garbage, empty */
	{
		struct sbuf b = small_json();
		char deep[400];

		sputs(&b, "x");
		cr_assert_eq(load_json(b.p, b.n, 0, &t, err, sizeof(err)), -EINVAL);
		free(b.p);
		memset(deep, '[', sizeof(deep));
		memcpy(deep, "{\"a\": ", 6);
		cr_assert_eq(load_json(deep, sizeof(deep), 0, &t, err, sizeof(err)), -EINVAL);
		cr_assert(strstr(err, "deep"), "%s", err);
		cr_assert_eq(load_json("", 0, 0, &t, err, sizeof(err)), -EINVAL);
		cr_assert_eq(load_json("{}", 2, 0, &t, err, sizeof(err)), -EINVAL);
		cr_assert_eq(load_json("\0\0\0\0", 4, 0, &t, err, sizeof(err)), -EINVAL);
	}
	rm_tmpdir();
}

/* Random bytes, and the small file with random bytes changed. */
Test(tokenizer, json_garbage)
{
	struct sbuf b = small_json();
	struct wsp_tokenizer *t;
	char err[512], *m = malloc(b.n);
	unsigned seed = 12345;
	int rounds = test_small_scale() ? 200 : 2000, loaded = 0;

	make_tmpdir();
	for (int r = 0; r < rounds; r++) {
		size_t n = r < 100 ? (size_t)(rand_r(&seed) % 512) : b.n;
		int ret;

		if (r < 100) {
			for (size_t i = 0; i < n; i++)
				m[i] = (char)rand_r(&seed);
		} else {
			memcpy(m, b.p, n);
			for (int k = 1 + rand_r(&seed) % 3; k > 0; k--)
				m[rand_r(&seed) % n] = (char)rand_r(&seed);
		}
		ret = load_json(m, n, 0, &t, err, sizeof(err));
		cr_assert(ret == 0 || ret == -EINVAL, "round %d: %d", r, ret);
		if (ret == 0) {
			int32_t tok[64];
			char out[256];
			int k = wsp_tokenizer_encode(t, "hello <|en|> world \xe2\x82\xac", tok, 64);

			cr_assert_geq(k, 0);
			wsp_tokenizer_decode(t, tok, k < 64 ? k : 64, out, sizeof(out));
			wsp_tokenizer_free(t);
			loaded++;
		}
	}
	cr_assert_gt(loaded, 0, "some flips (in names, say) leave a valid file");
	free(m);
	free(b.p);
	rm_tmpdir();
}

/*
 * vocabulary.json (what ct2-transformers-converter writes since CTranslate2
 * 3.0): the vocabulary.txt lines as a JSON array; read when there is no
 * tokenizer.json, before vocabulary.txt, and giving the same tokens.
 */
Test(tokenizer, vocabulary_json)
{
	struct wsp_tokenizer *tj, *tt = load("base");
	json_t *a = json_array();
	char src[600], *buf, *line, *nl, *dump, err[512];

	/* line by line: base's id 50256 is the empty token */
	snprintf(src, sizeof(src), "%s/vocabulary.txt", model_dir("base"));
	buf = read_all(src, NULL);
	for (line = buf; (nl = strchr(line, '\n')); line = nl + 1) {
		*nl = '\0';
		json_array_append_new(a, json_string(line));
	}
	free(buf);
	dump = json_dumps(a, JSON_COMPACT | JSON_ENSURE_ASCII);
	json_decref(a);
	cr_assert_not_null(dump);
	make_tmpdir();
	write_file("vocabulary.json", dump, strlen(dump));
	free(dump);
	cr_assert_eq(wsp_tokenizer_load(tmpdir, 51865, &tj, err, sizeof(err)), 0, "%s", err);
	cr_assert_str_eq(wsp_tokenizer_source(tj), "vocabulary.json");
	cr_assert_eq(wsp_tokenizer_n_vocab(tj), wsp_tokenizer_n_vocab(tt));
	for (int32_t id = 0; id < wsp_tokenizer_n_vocab(tt); id++) {
		size_t nj, nt;
		const char *sj = wsp_tokenizer_token_bytes(tj, id, &nj);
		const char *st = wsp_tokenizer_token_bytes(tt, id, &nt);

		cr_assert(nj == nt && memcmp(sj, st, nj) == 0, "token %d differs", id);
	}
	cr_assert_eq(wsp_tokenizer_special(tj)->no_timestamps,
		     wsp_tokenizer_special(tt)->no_timestamps);
	wsp_tokenizer_free(tj);
	/* a size the model does not have; then files that are not vocabularies */
	cr_assert_eq(wsp_tokenizer_load(tmpdir, 51866, &tj, err, sizeof(err)), -EINVAL);
	cr_assert(strstr(err, "vocabulary.json") && strstr(err, "51866"), "%s", err);
	write_file("vocabulary.json", "{\"a\": 1}", 8);
	cr_assert_eq(wsp_tokenizer_load(tmpdir, 0, &tj, err, sizeof(err)), -EINVAL);
	cr_assert(strstr(err, "array"), "%s", err);
	write_file("vocabulary.json", "[\"a\", 2]", 8);
	cr_assert_eq(wsp_tokenizer_load(tmpdir, 0, &tj, err, sizeof(err)), -EINVAL);
	cr_assert(strstr(err, "entry 1 is not a string"), "%s", err);
	write_file("vocabulary.json", "[\"a\\nb\"]", 8);
	cr_assert_eq(wsp_tokenizer_load(tmpdir, 0, &tj, err, sizeof(err)), -EINVAL);
	cr_assert(strstr(err, "newline"), "%s", err);
	write_file("vocabulary.json", "[\"a\",", 5);
	cr_assert_eq(wsp_tokenizer_load(tmpdir, 0, &tj, err, sizeof(err)), -EINVAL);
	cr_assert(strstr(err, "vocabulary.json: line 1"), "%s", err);
	wsp_tokenizer_free(tt);
	rm_tmpdir();
}

Test(tokenizer, vocabulary_txt_corrupt)
{
	struct wsp_tokenizer *t;
	char err[512];
	static const char nul[] = "a\nb\0c\n<|endoftext|>\n";
	static const char tiny[] = "a\n\xc4\xa0" "b\n<|endoftext|>\n<|notimestamps|>\n<|0.00|>";

	make_tmpdir();
	write_file("vocabulary.txt", "", 0);
	cr_assert_eq(wsp_tokenizer_load(tmpdir, 0, &t, err, sizeof(err)), -EINVAL);
	write_file("vocabulary.txt", "a\nb\nc\n", 6);
	cr_assert_eq(wsp_tokenizer_load(tmpdir, 3, &t, err, sizeof(err)), -EINVAL);
	cr_assert(strstr(err, "endoftext"), "%s", err);
	write_file("vocabulary.txt", nul, sizeof(nul) - 1);
	cr_assert_eq(wsp_tokenizer_load(tmpdir, 0, &t, err, sizeof(err)), -EINVAL);
	/* the smallest valid one: decode works, no languages */
	write_file("vocabulary.txt", tiny, sizeof(tiny) - 1);
	cr_assert_eq(wsp_tokenizer_load(tmpdir, 5, &t, err, sizeof(err)), 0, "%s", err);
	{
		int32_t tok[] = { 0, 1, 2, 3, 4 };
		char out[16];

		cr_assert_eq(wsp_tokenizer_decode(t, tok, 5, out, sizeof(out)), 3);
		cr_assert_str_eq(out, "a b");
		cr_assert_eq(wsp_tokenizer_special(t)->n_langs, 0);
		cr_assert_eq(wsp_tokenizer_special(t)->timestamp_begin, 4);
		cr_assert_eq(wsp_tokenizer_special(t)->sot, -1);
	}
	wsp_tokenizer_free(t);
	rm_tmpdir();
}

/* Files from the Hugging Face hub list timestamps as non-special added tokens. */
Test(tokenizer, json_listed_timestamps)
{
	struct sbuf b = mutate("\n  ],\n  \"normalizer\"",
			       ",\n    {\"id\": 269, \"content\": \"<|0.00|>\", \"special\": false},"
			       "\n    {\"id\": 270, \"content\": \"<|0.02|>\", \"special\": false}"
			       "\n  ],\n  \"normalizer\"");
	struct wsp_tokenizer *t;
	char err[512], out[64];
	int32_t tok[] = { 258, 269, 'o', 270 };

	make_tmpdir();
	cr_assert_eq(load_json(b.p, b.n, SMALL_VOCAB + 2, &t, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(wsp_tokenizer_special(t)->timestamp_begin, SMALL_VOCAB);
	cr_assert_eq(wsp_tokenizer_decode(t, tok, 4, out, sizeof(out)), 5);
	cr_assert_str_eq(out, "hello");
	/* written in the text, they are added tokens, as Hugging Face matches them */
	cr_assert_eq(wsp_tokenizer_encode(t, "<|0.02|>", tok, 4), 1);
	cr_assert_eq(tok[0], 270);
	wsp_tokenizer_free(t);
	free(b.p);
	rm_tmpdir();
}
