// SPDX-License-Identifier: MIT
/*
 * whisper/text/tokenizer.c - the tokenizer's front: loading it from a model
 * directory, special and language tokens, decoding token ids to UTF-8 text,
 * and encoding text (added tokens matched here, the rest split by
 * tokenizer_split.c and merged by tokenizer_bpe.c).
 *
 * The layers below it, each using only those under it: tokenizer_vocab.c
 * (token tables, vocabulary.txt); tokenizer_bpe.c (merges);
 * tokenizer_split.c (pre-tokenizer, on vocab's UTF-8 reader);
 * tokenizer_json.c (tokenizer.json into vocab and bpe).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "whisper/text/tokenizer_internal.h"
#include "whisper/text/tokenizer_ggml.h"
#include "whisper/text/tokenizer_json.h"

/* The id of special token @text, looked up among the added tokens, or -1. */
static int32_t special(const struct wsp_tokenizer *t, const char *text)
{
	return wsp_tok_vocab_find_added(&t->vocab, text, strlen(text));
}

/* "<|xx|>" with a lowercase code of 2 or 3 letters, copied to @code. */
static int is_lang(const struct wsp_tokenizer *t, int32_t id, char code[8])
{
	const char *s = t->vocab.blob + t->vocab.off[id];
	size_t n = t->vocab.len[id];

	if (n < 6 || n > 7 || memcmp(s, "<|", 2) || memcmp(s + n - 2, "|>", 2))
		return 0;
	for (size_t i = 2; i < n - 2; i++)
		if (s[i] < 'a' || s[i] > 'z')
			return 0;
	memcpy(code, s + 2, n - 4);
	code[n - 4] = '\0';
	return 1;
}

static int resolve_specials(struct wsp_tokenizer *t, const char *path, char *err,
			    size_t errlen)
{
	struct wsp_special_tokens *sp = &t->sp;
	char code[8];

	sp->eot = special(t, "<|endoftext|>");
	sp->sot = special(t, "<|startoftranscript|>");
	sp->translate = special(t, "<|translate|>");
	sp->transcribe = special(t, "<|transcribe|>");
	sp->sot_lm = special(t, "<|startoflm|>");
	sp->sot_prev = special(t, "<|startofprev|>");
	sp->no_speech = special(t, "<|nospeech|>");
	if (sp->no_speech < 0)
		sp->no_speech = special(t, "<|nocaptions|>");
	sp->no_timestamps = special(t, "<|notimestamps|>");
	sp->timestamp_begin = -1;
	if (sp->no_timestamps >= 0 && sp->no_timestamps + 1 < t->vocab.n)
		sp->timestamp_begin = sp->no_timestamps + 1;
	if (sp->eot < 0) {
		snprintf(err, errlen, "%s: no <|endoftext|> token", path);
		return -EINVAL;
	}
	/*
	 * Text tokens come before <|endoftext|>; everything from it on is
	 * control or timestamps, and decode skips it (as faster-whisper does),
	 * even where a file marks a timestamp as not special.
	 */
	memset(t->vocab.special + sp->eot, 1, (size_t)(t->vocab.n - sp->eot));

	/* The languages follow <|startoftranscript|>, in the model's order. */
	sp->lang_first = -1;
	sp->n_langs = 0;
	if (sp->sot < 0)
		return 0;
	for (int32_t id = sp->sot + 1; id < t->vocab.n && is_lang(t, id, code); id++)
		sp->n_langs++;
	if (!sp->n_langs)
		return 0;
	sp->lang_first = sp->sot + 1;
	t->lang_codes = malloc((size_t)sp->n_langs * sizeof(*t->lang_codes));
	if (!t->lang_codes)
		return -ENOMEM;
	for (int i = 0; i < sp->n_langs; i++)
		is_lang(t, sp->lang_first + i, t->lang_codes[i]);
	return 0;
}

static int slurp(const char *path, char **buf, size_t *len, char *err, size_t errlen)
{
	struct stat st;
	size_t got = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) || !S_ISREG(st.st_mode) || st.st_size > (1 << 30)) {
		close(fd);
		snprintf(err, errlen, "%s: not a regular file under 1 GiB", path);
		return -EINVAL;
	}
	*buf = malloc((size_t)st.st_size + 1);
	if (!*buf) {
		close(fd);
		return -ENOMEM;
	}
	while (got < (size_t)st.st_size) {
		ssize_t r = read(fd, *buf + got, (size_t)st.st_size - got);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		got += (size_t)r;
	}
	close(fd);
	(*buf)[got] = '\0';
	*len = got;
	return 0;
}

/* The steps after a reader filled @t->vocab (@ret: the reader's result); frees @t on failure. */
static int finish(struct wsp_tokenizer *t, const char *path, int ret, char *err, size_t errlen)
{
	/* the pre-tokenizer splits for greedy matching too: pieces never span words */
	if (!ret)
		ret = wsp_tok_split_init(&t->split, err, errlen);
	if (!ret)
		ret = resolve_specials(t, path, err, errlen);
	if (ret == -ENOMEM)
		snprintf(err, errlen, "%s: out of memory", path);
	else if (ret && !err[0])
		snprintf(err, errlen, "%s: too large", path);
	if (ret)
		wsp_tokenizer_free(t);
	return ret;
}

int wsp_tok_load_buf(struct wsp_tokenizer **out, const char *path, const char *buf,
		     size_t len, enum wsp_tok_file kind, int n_vocab, char *err, size_t errlen)
{
	struct wsp_tokenizer *t = calloc(1, sizeof(*t));
	int ret;

	*out = NULL;
	if (!t) {
		snprintf(err, errlen, "%s: out of memory", path);
		return -ENOMEM;
	}
	if (kind == WSP_TOK_TOKENIZER_JSON)
		ret = wsp_tok_read_json(&t->vocab, &t->bpe, path, buf, len, n_vocab, err, errlen);
	else if (kind == WSP_TOK_VOCAB_JSON)
		ret = wsp_tok_read_vocab_json(&t->vocab, path, buf, len, n_vocab, err, errlen);
	else
		ret = wsp_tok_read_vocab_txt(&t->vocab, path, buf, len, n_vocab, err, errlen);
	ret = finish(t, path, ret, err, errlen);
	if (ret)
		return ret;
	snprintf(t->source, sizeof(t->source), "%s", kind == WSP_TOK_TOKENIZER_JSON ?
		 "tokenizer.json" : kind == WSP_TOK_VOCAB_JSON ? "vocabulary.json" : "vocabulary.txt");
	*out = t;
	return 0;
}

int wsp_tokenizer_from_ggml(const char *path, const unsigned char *buf, size_t len,
			    int32_t count, int n_vocab, struct wsp_tokenizer **out,
			    char *err, size_t errlen)
{
	struct wsp_tokenizer *t;
	int ret;

	*out = NULL;
	err[0] = '\0';
	t = calloc(1, sizeof(*t));
	if (!t) {
		snprintf(err, errlen, "%s: out of memory", path);
		return -ENOMEM;
	}
	ret = wsp_tok_read_ggml_vocab(&t->vocab, path, buf, len, count, n_vocab, err, errlen);
	ret = finish(t, path, ret, err, errlen);
	if (ret)
		return ret;
	snprintf(t->source, sizeof(t->source), "ggml vocabulary");
	*out = t;
	return 0;
}

/* Read @name in @dir; -ENOENT (and no message) when the file is not there. */
static int load_file(struct wsp_tokenizer **out, const char *dir, const char *name,
		     enum wsp_tok_file kind, int n_vocab, char *err, size_t errlen)
{
	char path[4096];
	char *buf = NULL;
	size_t len = 0;
	int ret;

	if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, name) >= sizeof(path)) {
		snprintf(err, errlen, "%s: path too long", dir);
		return -EINVAL;
	}
	ret = slurp(path, &buf, &len, err, errlen);
	if (ret == -ENOENT)
		return ret;
	if (ret) {
		if (ret != -EINVAL)
			snprintf(err, errlen, "%s: %s", path, strerror(-ret));
		return ret;
	}
	ret = wsp_tok_load_buf(out, path, buf, len, kind, n_vocab, err, errlen);
	free(buf);
	return ret;
}

int wsp_tokenizer_load(const char *dir, int n_vocab, struct wsp_tokenizer **out,
		       char *err, size_t errlen)
{
	char dummy[1];
	int ret;

	if (!err || !errlen) {
		err = dummy;
		errlen = sizeof(dummy);
	}
	err[0] = '\0';
	*out = NULL;
	if (!dir) {
		snprintf(err, errlen, "tokenizer: no model directory");
		return -EINVAL;
	}
	ret = load_file(out, dir, "tokenizer.json", WSP_TOK_TOKENIZER_JSON, n_vocab, err, errlen);
	if (ret == -ENOENT)   /* what ct2-transformers-converter writes since CTranslate2 3.0 */
		ret = load_file(out, dir, "vocabulary.json", WSP_TOK_VOCAB_JSON, n_vocab, err,
				errlen);
	if (ret == -ENOENT)
		ret = load_file(out, dir, "vocabulary.txt", WSP_TOK_VOCAB_TXT, n_vocab, err, errlen);
	if (ret == -ENOENT)
		snprintf(err, errlen, "%s: no tokenizer.json, vocabulary.json or vocabulary.txt",
			 dir);
	return ret;
}

void wsp_tokenizer_free(struct wsp_tokenizer *t)
{
	if (!t)
		return;
	wsp_tok_vocab_free(&t->vocab);
	wsp_tok_bpe_free(&t->bpe);
	wsp_tok_split_free(&t->split);
	free(t->lang_codes);
	free(t);
}

const struct wsp_special_tokens *wsp_tokenizer_special(const struct wsp_tokenizer *t)
{
	return &t->sp;
}

int wsp_tokenizer_n_vocab(const struct wsp_tokenizer *t)
{
	return t->vocab.n;
}

const char *wsp_tokenizer_source(const struct wsp_tokenizer *t)
{
	return t->source;
}

int wsp_tokenizer_encodes_exactly(const struct wsp_tokenizer *t)
{
	return t->bpe.merges != NULL;
}

int wsp_tokenizer_is_special(const struct wsp_tokenizer *t, int32_t id)
{
	return id >= 0 && id < t->vocab.n && t->vocab.special[id];
}

const char *wsp_tokenizer_token_bytes(const struct wsp_tokenizer *t, int32_t id, size_t *len)
{
	if (id < 0 || id >= t->vocab.n) {
		if (len)
			*len = 0;
		return NULL;
	}
	if (len)
		*len = t->vocab.len[id];
	return t->vocab.blob + t->vocab.off[id];
}

int32_t wsp_tokenizer_token_id(const struct wsp_tokenizer *t, const char *text)
{
	size_t n = strlen(text);
	int32_t id = wsp_tok_vocab_find_added(&t->vocab, text, n);

	return id >= 0 ? id : wsp_tok_vocab_find(&t->vocab, text, n);
}

int32_t wsp_tokenizer_lang_token(const struct wsp_tokenizer *t, const char *code)
{
	if (!code)
		return -1;
	for (int i = 0; i < t->sp.n_langs; i++)
		if (strcmp(t->lang_codes[i], code) == 0)
			return t->sp.lang_first + i;
	return -1;
}

const char *wsp_tokenizer_lang_code(const struct wsp_tokenizer *t, int32_t id)
{
	if (t->sp.n_langs <= 0 || id < t->sp.lang_first || id >= t->sp.lang_first + t->sp.n_langs)
		return NULL;
	return t->lang_codes[id - t->sp.lang_first];
}

/* Output with snprintf's contract: count everything, store what fits. */
struct out {
	char *dst;
	size_t cap, n;
};

static void put(struct out *o, const unsigned char *s, size_t n)
{
	for (size_t i = 0; i < n; i++, o->n++)
		if (o->n + 1 < o->cap)
			o->dst[o->n] = (char)s[i];
}

static void put_fffd(struct out *o)
{
	static const unsigned char r[3] = { 0xef, 0xbf, 0xbd };

	put(o, r, 3);
}

/*
 * A streaming UTF-8 check: each maximal ill-formed subpart becomes one
 * U+FFFD (the Unicode recommendation, as Rust's from_utf8_lossy and
 * Python's errors="replace" do).
 */
struct utf8 {
	unsigned char pend[4];
	int npend, need;
	unsigned char lo, hi;
};

static void utf8_byte(struct utf8 *u, struct out *o, unsigned char b)
{
again:
	if (!u->need) {
		if (b < 0x80) {
			put(o, &b, 1);
			return;
		}
		u->lo = 0x80;
		u->hi = 0xbf;
		if (b >= 0xc2 && b <= 0xdf) {
			u->need = 1;
		} else if (b >= 0xe0 && b <= 0xef) {
			u->need = 2;
			if (b == 0xe0)
				u->lo = 0xa0;
			if (b == 0xed)
				u->hi = 0x9f;
		} else if (b >= 0xf0 && b <= 0xf4) {
			u->need = 3;
			if (b == 0xf0)
				u->lo = 0x90;
			if (b == 0xf4)
				u->hi = 0x8f;
		} else {
			put_fffd(o);
			return;
		}
		u->pend[0] = b;
		u->npend = 1;
		return;
	}
	if (b < u->lo || b > u->hi) {
		put_fffd(o);
		u->need = 0;
		u->npend = 0;
		goto again;
	}
	u->pend[u->npend++] = b;
	u->lo = 0x80;
	u->hi = 0xbf;
	if (--u->need == 0) {
		put(o, u->pend, (size_t)u->npend);
		u->npend = 0;
	}
}

size_t wsp_tokenizer_decode(const struct wsp_tokenizer *t, const int32_t *tokens, int n,
			    char *dst, size_t cap)
{
	const struct wsp_tok_vocab *v = &t->vocab;
	struct out o = { dst, dst ? cap : 0, 0 };
	struct utf8 u = { .need = 0 };

	if (!tokens)
		n = 0;
	for (int i = 0; i < n; i++) {
		int32_t id = tokens[i];
		const unsigned char *s;

		if (id < 0 || id >= v->n || v->special[id])
			continue;
		s = (const unsigned char *)v->blob + v->off[id];
		for (uint32_t k = 0; k < v->len[id]; k++)
			utf8_byte(&u, &o, s[k]);
	}
	if (u.need)
		put_fffd(&o);
	if (o.cap)
		o.dst[o.n < o.cap ? o.n : o.cap - 1] = '\0';
	return o.n;
}

/*
 * A piece without merges to apply (the vocabulary came from vocabulary.txt
 * or a ggml file): the longest known token at each position, left to right,
 * as whisper.cpp's tokenizer does. Every single byte is a token of Whisper's
 * byte-level vocabulary, so each step moves on; a byte that is not (a broken
 * vocabulary) is skipped, as there.
 */
static void greedy_piece(const struct wsp_tok_vocab *v, const unsigned char *s, size_t n,
			 struct wsp_tok_sink *o)
{
	size_t i = 0;

	while (i < n) {
		size_t j = n - i < 256 ? n : i + 256;
		int32_t id = -1;

		for (; j > i; j--) {
			id = wsp_tok_vocab_find(v, s + i, j - i);
			if (id >= 0)
				break;
		}
		if (id >= 0) {
			wsp_tok_sink_put(o, id);
			i = j;
		} else {
			i++;
		}
	}
}

/* Split the span [@at, @end) of the text into pieces and encode each. */
static int encode_span(const struct wsp_tokenizer *t, const struct wsp_tok_pieces *p,
		       const unsigned char *s, size_t at, size_t end, struct wsp_tok_sink *o)
{
	while (at < end) {
		long k = wsp_tok_pieces_next(p, at, end);
		int ret;

		if (k < 0)
			return (int)k;
		if (t->bpe.merges) {
			ret = wsp_tok_bpe_piece(&t->bpe, s + at, (size_t)k, o);
			if (ret)
				return ret;
		} else {
			greedy_piece(&t->vocab, s + at, (size_t)k, o);
		}
		at += (size_t)k;
	}
	return 0;
}

/* Encode @n bytes: added tokens written in the text, then the spans between them. */
static int encode_text(const struct wsp_tokenizer *t, const struct wsp_tok_pieces *p,
		       const unsigned char *s, size_t n, struct wsp_tok_sink *o)
{
	size_t start = 0, maxlen = t->vocab.max_added_len;
	int ret;

	for (size_t i = 0; i + 1 < n; i++) {
		const unsigned char *close;
		size_t window;
		int32_t id;

		if (s[i] != '<' || s[i + 1] != '|')
			continue;
		window = n - i < maxlen ? n - i : maxlen;
		close = window >= 4 ? memmem(s + i + 2, window - 2, "|>", 2) : NULL;
		if (!close)
			continue;
		id = wsp_tok_vocab_find_added(&t->vocab, s + i, (size_t)(close + 2 - (s + i)));
		if (id < 0)
			continue;
		ret = encode_span(t, p, s, start, i, o);
		if (ret)
			return ret;
		wsp_tok_sink_put(o, id);
		i = (size_t)(close + 2 - s) - 1;
		start = i + 1;
	}
	return encode_span(t, p, s, start, n, o);
}

int wsp_tokenizer_encode(const struct wsp_tokenizer *t, const char *text, int32_t *dst,
			 int cap)
{
	struct wsp_tok_sink o = { dst, dst && cap > 0 ? cap : 0, 0 };
	struct wsp_tok_pieces p;
	size_t n;
	int ret;

	if (!t || !text)
		return -EINVAL;
	n = strlen(text);
	ret = wsp_tok_pieces_start(&p, &t->split, text, n);
	if (ret)
		return ret;
	ret = encode_text(t, &p, (const unsigned char *)text, n, &o);
	wsp_tok_pieces_finish(&p);
	if (ret)
		return ret;
	return o.n > INT32_MAX ? -EOVERFLOW : (int)o.n;
}
