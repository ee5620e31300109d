// SPDX-License-Identifier: MIT
/*
 * whisper/output/output_subtitles.c - srt and vtt cues from word timestamps,
 * as openai-whisper's SubtitlesWriter.iterate_result: words gathered into
 * lines of at most max_line_width characters and cues of at most
 * max_line_count lines (or one cue per segment), and with highlight_words
 * one cue per word with that word underlined.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "whisper/output/output_internal.h"

/* One word as a cue holds it: its text (maybe "\n" + the word, stripped), times, cue. */
struct cue_word {
	char *text;
	double start, end;
	int cue;
};

/* Python's len(): code points of UTF-8 @s, @n bytes */
static size_t n_chars(const char *s, size_t n)
{
	size_t c = 0;

	for (size_t i = 0; i < n; i++)
		c += ((unsigned char)s[i] & 0xc0) != 0x80;
	return c;
}

static int is_ws(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

/* a copy of @s stripped, with @prefix before it */
static char *strip_dup(const char *s, const char *prefix)
{
	size_t n, p = strlen(prefix);
	char *o;

	while (is_ws(*s))
		s++;
	n = strlen(s);
	while (n && is_ws(s[n - 1]))
		n--;
	o = malloc(p + n + 1);
	if (!o)
		return NULL;
	memcpy(o, prefix, p);
	memcpy(o + p, s, n);
	o[p + n] = 0;
	return o;
}

/* iterate_subtitles(): every word with its cue number. Return: the count or -ENOMEM. */
static int gather(const struct wsp_result *r, const struct wsp_subtitle_opts *o,
		  struct cue_word **out)
{
	int preserve = !o->max_line_count || !o->max_line_width;
	size_t width = o->max_line_width ? (size_t)o->max_line_width : 1000;
	size_t line_len = 0;
	int line_count = 1, cue = 0, n = 0, total = 0, in_cue = 0;
	double last = 0.0;
	struct cue_word *v;

	for (int s = 0; s < r->n_segments; s++)
		total += r->segments[s].n_words;
	for (int s = 0; s < r->n_segments; s++)     /* get_start(): the first word's start */
		if (r->segments[s].n_words) {
			last = r->segments[s].words[0].start;
			break;
		}
	if (total == 0 && r->n_segments)
		last = r->segments[0].start;
	v = calloc((size_t)total + 1, sizeof(*v));
	if (!v)
		return -ENOMEM;
	for (int s = 0; s < r->n_segments; s++) {
		const struct wsp_segment *seg = &r->segments[s];

		for (int i = 0; i < seg->n_words; i++) {
			const struct wsp_word *w = &seg->words[i];
			const char *word = w->word ? w->word : "";
			size_t len = n_chars(word, strlen(word));
			int long_pause = !preserve && w->start - last > 3.0;
			int has_room = line_len + len <= width;
			int seg_break = i == 0 && in_cue && preserve;
			struct cue_word *c = &v[n];

			if (line_len > 0 && has_room && !long_pause && !seg_break) {
				line_len += len;    /* the line goes on */
				c->text = strdup(word);
			} else {
				const char *prefix = "";

				if ((in_cue && o->max_line_count &&
				     (long_pause || line_count >= o->max_line_count)) || seg_break) {
					cue++;      /* a new cue */
					line_count = 1;
				} else if (line_len > 0) {
					line_count++;   /* a new line */
					prefix = "\n";
				}
				c->text = strip_dup(word, prefix);
				line_len = c->text ? n_chars(c->text, strlen(c->text)) - (*prefix != 0) : 0;
			}
			if (!c->text) {
				while (n--)
					free(v[n].text);
				free(v);
				return -ENOMEM;
			}
			c->start = w->start;
			c->end = w->end;
			c->cue = cue;
			in_cue = 1;
			n++;
			last = w->start;
		}
	}
	*out = v;
	return n;
}

/* the cue's words joined; with @hl >= 0 word @hl underlined after its leading blanks */
static void put_text(FILE *f, const struct cue_word *v, int a, int b, int hl)
{
	for (int k = a; k < b; k++) {
		const char *t = v[k].text;

		if (k != hl) {
			fputs(t, f);
			continue;
		}
		while (is_ws(*t))
			fputc(*t++, f);
		fprintf(f, "<u>%s</u>", t);
	}
	fputc('\n', f);
}

static void put_cue(FILE *f, int *number, const char *a, const char *b,
		    const struct cue_word *v, int lo, int hi, int hl)
{
	if (number)
		fprintf(f, "%d\n", ++*number);
	fprintf(f, "%s --> %s\n", a, b);
	put_text(f, v, lo, hi, hl);
	fputc('\n', f);
}

int wsp_write_word_cues(FILE *f, const struct wsp_result *r, const struct wsp_subtitle_opts *o,
			int always_hours, char marker, int numbered)
{
	static const struct wsp_subtitle_opts none;
	struct cue_word *v = NULL;
	int n, number = 0;

	n = gather(r, o ? o : &none, &v);
	if (n < 0)
		return n;
	for (int lo = 0; lo < n;) {
		int hi = lo;
		char a[32], b[32], last[32];

		while (hi < n && v[hi].cue == v[lo].cue)
			hi++;
		wsp_format_timestamp(a, sizeof(a), v[lo].start, always_hours, marker);
		wsp_format_timestamp(b, sizeof(b), v[hi - 1].end, always_hours, marker);
		if (!o || !o->highlight_words) {
			put_cue(f, numbered ? &number : NULL, a, b, v, lo, hi, -1);
			lo = hi;
			continue;
		}
		strcpy(last, a);
		for (int k = lo; k < hi; k++) {
			char s[32], e[32];

			wsp_format_timestamp(s, sizeof(s), v[k].start, always_hours, marker);
			wsp_format_timestamp(e, sizeof(e), v[k].end, always_hours, marker);
			if (strcmp(last, s))    /* the gap before this word: the plain line */
				put_cue(f, numbered ? &number : NULL, last, s, v, lo, hi, -1);
			put_cue(f, numbered ? &number : NULL, s, e, v, lo, hi, k);
			strcpy(last, e);
		}
		lo = hi;
	}
	for (int k = 0; k < n; k++)
		free(v[k].text);
	free(v);
	return ferror(f) ? -EIO : 0;
}
