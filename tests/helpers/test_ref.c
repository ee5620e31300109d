/* SPDX-License-Identifier: MIT */
/* tests/helpers/test_ref.c - reference token files and result text for the tests. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include "tests/helpers/test_ref.h"
#include "whisper/transcribe.h"

int test_read_tokens(FILE *f, int32_t *tok, int max)
{
	int n = 0;

	if (!f)
		return -1;
	while (n < max && fscanf(f, "%d", &tok[n]) == 1)
		n++;
	fclose(f);
	return n;
}

void test_joined_text(const struct wsp_result *r, char *dst, size_t cap)
{
	size_t n = 0;

	if (!cap)
		return;
	dst[0] = 0;
	for (int i = 0; i < r->n_segments && n + 1 < cap; i++)
		n += (size_t)snprintf(dst + n, cap - n, "%s", r->segments[i].text);
}

int test_read_prompt(FILE *f, int32_t *prompt, int max, int32_t *eot)
{
	char line[256], *p, *end;
	int n = 0, ok;

	if (!f)
		return -1;
	ok = fgets(line, sizeof(line), f) != NULL;
	for (p = line; ok && n < max; p = end) {
		long v = strtol(p, &end, 10);

		if (end == p)
			break;
		prompt[n++] = (int32_t)v;
	}
	ok = ok && fscanf(f, "%d", eot) == 1;
	fclose(f);
	return ok ? n : -1;
}

void test_text_no_space(const char *s, char *dst, size_t cap)
{
	size_t n = 0;

	for (; *s && n + 1 < cap; s++)
		if (!isspace((unsigned char)*s))
			dst[n++] = *s;
	dst[n] = 0;
}

void test_text_letters(const char *s, char *dst, size_t cap)
{
	size_t n = 0;

	for (; *s && n + 1 < cap; s++)
		if (isalnum((unsigned char)*s))
			dst[n++] = (char)tolower((unsigned char)*s);
	dst[n] = 0;
}
