// SPDX-License-Identifier: MIT
/*
 * whisper/decode/words.c - word timestamps for one window's segments, as
 * faster-whisper's add_word_timestamps / find_alignment (and openai-whisper's
 * timing.py, which they follow): the teacher-forced pass, the token start
 * times from DTW, words from tokens (split at spaces, or per character for
 * languages written without them), punctuation merged into its neighbour,
 * and the duration rules at sentence ends and after pauses.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "whisper/decode/decode.h"
#include "whisper/decode/words.h"
#include "whisper/model/model_internal.h"

#define MEDIAN_WIDTH     7          /* openai's median_filter_width */
#define TOKENS_PER_S     50.0       /* audio frames per second after the encoder's stride */
#define MAX_SHORT_MEDIAN 0.7        /* median word duration cap, seconds */

/* Python's string.punctuation: what a subword may be made of to stand alone. */
static const char ascii_punct[] = "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~";
static const char sentence_end[] = ".\xe3\x80\x82!\xef\xbc\x81?\xef\xbc\x9f";   /* .。!！?？ */

/* One word while it is being built: its text, token count, time and probability. */
struct wt_word {
	char *text;
	size_t len;
	int ntok;
	int special;           /* starts with a special token (the final eot) */
	double start, end;
	float prob;
};

int wsp_words_init(struct wsp_words *w, const struct wsp_model *m,
		   const struct wsp_tokenizer *tok, const struct wsp_transcribe_opts *o,
		   char *err, size_t errlen)
{
	const struct wsp_hparams *hp = wsp_model_hparams(m);
	const char *src = NULL;
	int n;

	memset(w, 0, sizeof(*w));
	w->tok = tok;
	w->sp = wsp_tokenizer_special(tok);
	w->n_vocab = hp->n_vocab;
	w->n_audio_ctx = hp->n_audio_ctx;
	w->n_text_ctx = hp->n_text_ctx;
	w->prepend = o->prepend_punctuations ? o->prepend_punctuations : WSP_PREPEND_PUNCTUATIONS;
	w->append = o->append_punctuations ? o->append_punctuations : WSP_APPEND_PUNCTUATIONS;
	n = wsp_model_alignment_heads(m, w->heads, (int)(sizeof(w->heads) / sizeof(w->heads[0]) / 2),
				      &src);
	if (n <= 0) {
		snprintf(err, errlen, "word timestamps: %s",
			 n == 0 ? "the model has no alignment heads" : "too many alignment heads");
		return n == 0 ? -EINVAL : n;
	}
	w->n_heads = n;
	if (w->sp->no_timestamps < 0 || w->sp->eot < 0) {
		snprintf(err, errlen, "word timestamps: the tokenizer has no <|notimestamps|>");
		return -EINVAL;
	}
	return 0;
}

void wsp_words_set_language(struct wsp_words *w, const char *code)
{
	static const char *const no_spaces[] = { "zh", "ja", "th", "lo", "my", "yue" };

	w->by_char = 0;
	for (size_t i = 0; code && i < sizeof(no_spaces) / sizeof(no_spaces[0]); i++)
		if (!strcmp(code, no_spaces[i]))
			w->by_char = 1;
}

void wsp_words_release(struct wsp_words *w)
{
	free(w->qk);
	free(w->logits);
	free(w->matrix);
	free(w->feed);
	memset(w, 0, sizeof(*w));
}

/* grow *@p to @n floats (or ints: @size bytes each) */
static int need(void **p, size_t *cap, size_t n, size_t size)
{
	void *q;

	if (n <= *cap)
		return 0;
	q = realloc(*p, n * size);
	if (!q)
		return -ENOMEM;
	*p = q;
	*cap = n;
	return 0;
}

/*
 * Where the bytes @s, @n first stop being valid UTF-8: 0 all valid, 1 a
 * multi-byte character cut at the end (the next token may complete it),
 * 2 an invalid byte before that.
 */
static int utf8_state(const unsigned char *s, size_t n)
{
	size_t i = 0;

	while (i < n) {
		unsigned c = s[i];
		size_t k, len = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 :
			       (c >> 3) == 30 ? 4 : 0;

		if (!len || (len == 2 && c < 0xc2) || (len == 4 && c > 0xf4))
			return 2;
		for (k = 1; k < len; k++) {
			if (i + k >= n)
				return 1;
			if ((s[i + k] & 0xc0) != 0x80)
				return 2;
		}
		i += len;
	}
	return 0;
}

/* @s, @n with each invalid byte as U+FFFD (Python's errors="replace", near enough) */
static char *utf8_lossy(const char *s, size_t n, size_t *out_len)
{
	char *o = malloc(3 * n + 1);
	size_t i = 0, k = 0;

	if (!o)
		return NULL;
	while (i < n) {
		size_t j = i + 1;

		while (j <= n && utf8_state((const unsigned char *)s + i, j - i) == 1)
			j++;
		if (j <= n && utf8_state((const unsigned char *)s + i, j - i) == 0) {
			memcpy(o + k, s + i, j - i);
			k += j - i;
			i = j;
			continue;
		}
		memcpy(o + k, "\xef\xbf\xbd", 3);
		k += 3;
		i++;
	}
	o[k] = 0;
	*out_len = k;
	return o;
}

static int is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f' ||
	       (c >= 0x1c && c <= 0x1f);
}

/* Python's `s.strip() in hay`: the stripped @s is a substring of @hay (empty is) */
static int stripped_in(const char *s, size_t n, const char *hay)
{
	while (n && is_blank(*s)) {
		s++;
		n--;
	}
	while (n && is_blank(s[n - 1]))
		n--;
	return n == 0 || memmem(hay, strlen(hay), s, n) != NULL;
}

/* Python's `s in hay` */
static int str_in(const char *s, size_t n, const char *hay)
{
	return n == 0 || memmem(hay, strlen(hay), s, n) != NULL;
}

static void words_free(struct wt_word *v, int n)
{
	for (int i = 0; i < n; i++)
		free(v[i].text);
	free(v);
}

/* append @n bytes to word @w */
static int word_cat(struct wt_word *w, const char *s, size_t n)
{
	char *t = realloc(w->text, w->len + n + 1);

	if (!t)
		return -ENOMEM;
	memcpy(t + w->len, s, n);
	w->len += n;
	t[w->len] = 0;
	w->text = t;
	return 0;
}

/*
 * split_to_word_tokens: @tokens (text tokens then eot) into words. First
 * into pieces that decode to whole characters; then, unless @by_char,
 * a piece joins the previous word unless it starts with a space, is a
 * special token or is all punctuation.
 * Return: the number of words in *@out (malloc'd), or -ENOMEM.
 */
static int split_words(const struct wsp_words *w, const int32_t *tokens, int n,
		       struct wt_word **out)
{
	struct wt_word *v = calloc((size_t)n + 1, sizeof(*v));
	char *buf = NULL;
	size_t blen = 0, bcap = 0;
	int nw = 0, first = 0;

	if (!v)
		return -ENOMEM;
	for (int k = 0; k < n; k++) {
		size_t len;
		const char *b = wsp_tokenizer_token_bytes(w->tok, tokens[k], &len);
		char *piece;
		size_t plen;
		int special, join;

		if (!b) {
			b = "";
			len = 0;
		}
		if (blen + len + 1 > bcap) {
			char *t = realloc(buf, 2 * (blen + len + 1));

			if (!t)
				goto nomem;
			buf = t;
			bcap = 2 * (blen + len + 1);
		}
		memcpy(buf + blen, b, len);
		blen += len;
		if (k + 1 < n && utf8_state((unsigned char *)buf, blen) == 1)
			continue;   /* a character cut in two: wait for the rest */
		piece = utf8_lossy(buf, blen, &plen);
		if (!piece)
			goto nomem;
		special = tokens[first] >= w->sp->eot;
		join = !w->by_char && nw > 0 && !special &&
		       !(plen && piece[0] == ' ') && !stripped_in(piece, plen, ascii_punct);
		if (join) {
			int ret = word_cat(&v[nw - 1], piece, plen);

			free(piece);
			if (ret)
				goto nomem;
			v[nw - 1].ntok += k + 1 - first;
		} else {
			v[nw].text = piece;
			v[nw].len = plen;
			v[nw].ntok = k + 1 - first;
			v[nw].special = special;
			nw++;
		}
		first = k + 1;
		blen = 0;
	}
	free(buf);
	*out = v;
	return nw;
nomem:
	free(buf);
	words_free(v, nw);
	return -ENOMEM;
}

/* merge_punctuations: prepended marks into the next word, appended ones into the previous */
static int merge_punct(const struct wsp_words *w, struct wt_word *a, int n)
{
	int i = n - 2, j = n - 1;

	while (i >= 0) {
		struct wt_word *p = &a[i], *f = &a[j];

		if (p->len && p->text[0] == ' ' && stripped_in(p->text, p->len, w->prepend)) {
			char *t = malloc(p->len + f->len + 1);

			if (!t)
				return -ENOMEM;
			memcpy(t, p->text, p->len);
			memcpy(t + p->len, f->text, f->len);
			t[p->len + f->len] = 0;
			free(f->text);
			f->text = t;
			f->len += p->len;
			f->ntok += p->ntok;
			p->text[0] = 0;
			p->len = 0;
			p->ntok = 0;
		} else {
			j = i;
		}
		i--;
	}
	i = 0;
	j = 1;
	while (j < n) {
		struct wt_word *p = &a[i], *f = &a[j];

		if (!(p->len && p->text[p->len - 1] == ' ') && str_in(f->text, f->len, w->append)) {
			if (word_cat(p, f->text, f->len))
				return -ENOMEM;
			p->ntok += f->ntok;
			f->text[0] = 0;
			f->len = 0;
			f->ntok = 0;
		} else {
			i = j;
		}
		j++;
	}
	return 0;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* Python's round(x, 2), near enough: halves to even on the scaled value */
static double round2(double x)
{
	return rint(x * 100.0) / 100.0;
}

/*
 * The median of the non-zero word durations (numpy's median: the mean of
 * the two middle ones for an even count), capped at 0.7 s.
 * Return: how many were non-zero.
 */
static int median_duration(const struct wt_word *a, int n, double *median)
{
	double *d = malloc(((size_t)n + 1) * sizeof(double));
	int k = 0;

	*median = 0.0;
	if (!d)
		return -ENOMEM;
	for (int i = 0; i < n; i++)
		if (a[i].end - a[i].start != 0.0)
			d[k++] = a[i].end - a[i].start;
	if (k) {
		qsort(d, (size_t)k, sizeof(double), cmp_double);
		*median = k % 2 ? d[k / 2] : (d[k / 2 - 1] + d[k / 2]) / 2.0;
	}
	free(d);
	if (*median > MAX_SHORT_MEDIAN)
		*median = MAX_SHORT_MEDIAN;
	return k;
}

/*
 * The per-segment part of add_word_timestamps: each segment takes the
 * aligned words that cover its text tokens; the first words after a pause
 * and the segment's ends are clamped with the median / max durations.
 */
static int assign(struct wsp_word_seg *segs, int n_segs, const int *seg_text,
		  const struct wt_word *a, int n_a, double off, double median, double max_d,
		  double last_speech)
{
	int wi = 0;

	for (int s = 0; s < n_segs; s++) {
		struct wsp_word_seg *g = &segs[s];
		struct wsp_word *wv;
		int saved = 0, nw = 0;

		wv = calloc((size_t)n_a + 1, sizeof(*wv));
		if (!wv)
			return -ENOMEM;
		g->words = wv;
		while (wi < n_a && saved < seg_text[s]) {
			const struct wt_word *t = &a[wi];

			if (t->len) {
				wv[nw].word = strdup(t->text);
				if (!wv[nw].word)
					return -ENOMEM;
				wv[nw].start = round2(off + t->start);
				wv[nw].end = round2(off + t->end);
				wv[nw].probability = t->prob;
				g->n_words = ++nw;
			}
			saved += t->ntok;
			wi++;
		}
		if (!nw) {
			free(wv);
			g->words = NULL;
			continue;
		}
		/* the first and second word after a pause: at most max_d (or 2 max_d) */
		if (wv[0].end - last_speech > median * 4 &&
		    (wv[0].end - wv[0].start > max_d ||
		     (nw > 1 && wv[1].end - wv[0].start > max_d * 2))) {
			if (nw > 1 && wv[1].end - wv[1].start > max_d) {
				double b = fmax(wv[1].end / 2, wv[1].end - max_d);

				wv[0].end = wv[1].start = b;
			}
			wv[0].start = fmax(0.0, wv[0].end - max_d);
		}
		/* the segment's start timestamp when the first word is too long */
		if (g->start < wv[0].end && g->start - 0.5 > wv[0].start)
			wv[0].start = fmax(0.0, fmin(wv[0].end - median, g->start));
		else
			g->start = wv[0].start;
		/* and its end timestamp when the last word is too long */
		if (g->end > wv[nw - 1].start && g->end + 0.5 < wv[nw - 1].end)
			wv[nw - 1].end = fmax(wv[nw - 1].start + median, g->end);
		else
			g->end = wv[nw - 1].end;
		last_speech = g->end;
	}
	return 0;
}

/* the teacher-forced pass; fills w->qk, w->logits. Return: the fed token count or -errno */
static int align_pass(struct wsp_words *w, struct wsp_decoder *d, const int32_t *sot,
		      int n_sot, const struct wsp_word_seg *segs, int n_segs, int n_text)
{
	int n_tok = n_sot + n_text + 2, k = 0, ret;

	if (n_tok > w->n_text_ctx)
		return -E2BIG;
	ret = need((void **)&w->feed, &w->feed_cap, (size_t)w->n_text_ctx, sizeof(int32_t));
	if (!ret)
		ret = need((void **)&w->qk, &w->qk_cap,
			   (size_t)w->n_heads * n_tok * w->n_audio_ctx, sizeof(float));
	if (!ret)
		ret = need((void **)&w->logits, &w->logits_cap,
			   (size_t)(n_text + 2) * w->n_vocab, sizeof(float));
	if (ret)
		return ret;
	for (int i = 0; i < n_sot; i++)
		w->feed[k++] = sot[i];
	w->feed[k++] = w->sp->no_timestamps;
	for (int s = 0; s < n_segs; s++)
		for (int i = 0; i < segs[s].n_tokens; i++)
			if (segs[s].tokens[i] < w->sp->eot)
				w->feed[k++] = segs[s].tokens[i];
	w->feed[k++] = w->sp->eot;
	ret = wsp_decoder_align(d, w->feed, n_tok, n_sot, w->logits, w->heads, w->n_heads,
				w->qk);
	return ret ? ret : n_tok;
}

int wsp_words_window(struct wsp_words *w, struct wsp_decoder *d, const int32_t *sot,
		     int n_sot, struct wsp_word_seg *segs, int n_segs, double time_offset,
		     int n_frames, double last_speech)
{
	struct wt_word *words = NULL;
	int *seg_text = NULL, *pi, *pj;
	double *jump = NULL, median, max_d;
	float *prob = NULL;
	int n_text = 0, n_tok, n_words = 0, n_path, n_af, n_jump = 0, ret;

	for (int s = 0; s < n_segs; s++) {
		segs[s].words = NULL;
		segs[s].n_words = 0;
	}
	seg_text = calloc((size_t)n_segs + 1, sizeof(int));
	if (!seg_text)
		return -ENOMEM;
	for (int s = 0; s < n_segs; s++) {
		for (int i = 0; i < segs[s].n_tokens; i++)
			seg_text[s] += segs[s].tokens[i] < w->sp->eot;
		n_text += seg_text[s];
	}
	n_af = n_frames / 2;   /* the encoder's second convolution has stride 2 */
	if (n_text == 0 || n_af <= 0) {
		free(seg_text);
		return 0;          /* nothing to time (faster-whisper: no words) */
	}
	if (n_af > w->n_audio_ctx)
		n_af = w->n_audio_ctx;
	n_tok = align_pass(w, d, sot, n_sot, segs, n_segs, n_text);
	if (n_tok < 0) {
		ret = n_tok;
		goto out;
	}
	/* the text tokens' probabilities, over the text vocabulary only */
	ret = -ENOMEM;
	prob = malloc((size_t)n_text * sizeof(float));
	jump = malloc(((size_t)n_text + 1) * sizeof(double));
	if (!prob || !jump)
		goto out;
	for (int t = 0; t < n_text; t++) {
		const float *row = w->logits + (size_t)t * w->n_vocab;
		float lse = wsp_logsumexp(row, w->sp->eot);

		prob[t] = expf(row[w->feed[n_sot + 1 + t]] - lse);
	}
	/* the alignment matrix (text tokens + 1 rows) and its DTW path */
	ret = need((void **)&w->matrix, &w->matrix_cap, ((size_t)n_text + 1) * n_af,
		   sizeof(float));
	if (ret)
		goto out;
	ret = wsp_align_matrix(w->qk, w->n_heads, n_tok, (size_t)w->n_audio_ctx, n_af, n_sot,
			       n_text + 1, MEDIAN_WIDTH, w->matrix);
	if (ret)
		goto out;
	{
		pi = malloc(((size_t)n_text + 1 + n_af) * sizeof(int));
		pj = malloc(((size_t)n_text + 1 + n_af) * sizeof(int));
		if (!pi || !pj) {
			free(pi);
			free(pj);
			ret = -ENOMEM;
			goto out;
		}
		n_path = wsp_dtw(w->matrix, n_text + 1, n_af, pi, pj);
		/* a token's time: the frame where the path first reaches its row */
		for (int k = 0; k < n_path && n_jump <= n_text; k++)
			if (k == 0 || pi[k] != pi[k - 1])
				jump[n_jump++] = pj[k] / TOKENS_PER_S;
		free(pi);
		free(pj);
		if (n_path < 0) {
			ret = n_path;
			goto out;
		}
	}
	while (n_jump <= n_text) {   /* only with a broken matrix (NaN): keep in range */
		jump[n_jump] = n_jump > 0 ? jump[n_jump - 1] : 0.0;
		n_jump++;
	}
	/* words of the text tokens + eot; the eot word is dropped */
	n_words = split_words(w, w->feed + n_sot + 1, n_text + 1, &words);
	if (n_words < 0) {
		ret = n_words;
		n_words = 0;
		goto out;
	}
	ret = 0;
	if (n_words <= 1)
		goto out;
	{
		int b = 0;

		for (int i = 0; i < n_words - 1; i++) {
			int e = b + words[i].ntok;
			double sum = 0.0;

			if (e > n_text)
				e = n_text;
			words[i].start = jump[b];
			words[i].end = jump[e];
			for (int t = b; t < e; t++)
				sum += prob[t];
			words[i].prob = e > b ? (float)(sum / (e - b)) : 0.0f;
			b = e;
		}
	}
	n_words--;    /* the eot */
	ret = median_duration(words, n_words, &median);
	if (ret < 0)
		goto out;
	max_d = median * 2;
	if (ret > 0)  /* long words at sentence boundaries: at most max_d */
		for (int i = 1; i < n_words; i++) {
			if (words[i].end - words[i].start <= max_d)
				continue;
			if (str_in(words[i].text, words[i].len, sentence_end))
				words[i].end = words[i].start + max_d;
			else if (str_in(words[i - 1].text, words[i - 1].len, sentence_end))
				words[i].start = words[i].end - max_d;
		}
	ret = merge_punct(w, words, n_words);
	if (!ret)
		ret = assign(segs, n_segs, seg_text, words, n_words, time_offset, median, max_d,
			     last_speech);
out:
	if (ret)
		wsp_word_segs_free(segs, n_segs);
	if (words)
		words_free(words, n_words + 1);
	free(seg_text);
	free(prob);
	free(jump);
	return ret;
}

/* openai-whisper's word_anomaly_score: improbable, very short or very long */
static double word_anomaly(const struct wsp_word *w)
{
	double dur = w->end - w->start, score = 0.0;

	if (w->probability < 0.15f)
		score += 1.0;
	if (dur < 0.133)
		score += (0.133 - dur) * 15;
	if (dur > 2.0)
		score += dur - 2.0;
	return score;
}

int wsp_words_anomalous(const struct wsp_word *words, int n)
{
	static const char punct[] = WSP_PREPEND_PUNCTUATIONS WSP_APPEND_PUNCTUATIONS;
	double score = 0.0;
	int k = 0;

	if (n <= 0)
		return 0;
	for (int i = 0; i < n && k < 8; i++) {
		const char *w = words[i].word ? words[i].word : "";

		if (!*w || strstr(punct, w))
			continue;   /* Python's `word in punctuation` */
		score += word_anomaly(&words[i]);
		k++;
	}
	return score >= 3 || score + 0.01 >= k;
}

void wsp_word_segs_free(struct wsp_word_seg *g, int n)
{
	for (int i = 0; i < n; i++) {
		for (int k = 0; k < g[i].n_words; k++)
			free(g[i].words[k].word);
		free(g[i].words);
		g[i].words = NULL;
		g[i].n_words = 0;
	}
}
