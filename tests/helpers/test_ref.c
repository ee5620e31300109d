/* SPDX-License-Identifier: MIT */
/* tests/helpers/test_ref.c - reference token files and result text for the tests. */
#include <stdio.h>
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
