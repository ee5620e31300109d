// SPDX-License-Identifier: MIT
/*
 * whisper/decode/words_dtw.c - the arithmetic of word timing: attention
 * scores to the alignment matrix (softmax, normalization, median filter,
 * mean over heads) and dynamic time warping, as openai-whisper's timing.py
 * and CTranslate2's Whisper align() compute them.
 */
#include <errno.h>
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "whisper/decode/words.h"

/* the median of @n (odd) floats, partly reordering them (quickselect) */
static float median_of(float *v, int n)
{
	int lo = 0, hi = n - 1, k = n / 2;

	while (lo < hi) {
		float p = v[(lo + hi) / 2];
		int i = lo, j = hi;

		while (i <= j) {
			while (v[i] < p)
				i++;
			while (v[j] > p)
				j--;
			if (i <= j) {
				float t = v[i];

				v[i++] = v[j];
				v[j--] = t;
			}
		}
		if (k <= j)
			hi = j;
		else if (k >= i)
			lo = i;
		else
			break;
	}
	return v[k];
}

int wsp_median_filter(float *x, int rows, int cols, int width)
{
	int r = width / 2;
	float *row, win[64];

	if (width <= 0 || width % 2 == 0 || width > 63 || rows < 0 || cols < 0)
		return -EINVAL;
	if (cols <= r)
		return 0;   /* too short to reflect: CTranslate2 passes it through */
	row = malloc((size_t)cols * sizeof(float));
	if (!row)
		return -ENOMEM;
	for (int i = 0; i < rows; i++) {
		float *x_i = x + (size_t)i * cols;

		memcpy(row, x_i, (size_t)cols * sizeof(float));
		for (int j = 0; j < cols; j++) {
			for (int k = -r; k <= r; k++) {
				int at = abs(j + k);

				if (at >= cols)
					at = 2 * cols - at - 2;
				win[k + r] = row[at];
			}
			x_i[j] = median_of(win, width);
		}
	}
	free(row);
	return 0;
}

int wsp_dtw(const float *x, int n, int m, int *pi, int *pj)
{
	size_t w = (size_t)m + 1;
	float *cost;
	signed char *trace;
	int i, j, len = 0;

	if (n <= 0 || m <= 0 || !x || !pi || !pj)
		return -EINVAL;
	cost = malloc(((size_t)n + 1) * w * sizeof(float));
	trace = malloc(((size_t)n + 1) * w);
	if (!cost || !trace) {
		free(cost);
		free(trace);
		return -ENOMEM;
	}
	for (size_t k = 0; k < ((size_t)n + 1) * w; k++) {
		cost[k] = INFINITY;
		trace[k] = -1;
	}
	cost[0] = 0.0f;
	for (j = 1; j <= m; j++)
		for (i = 1; i <= n; i++) {
			float c0 = cost[(i - 1) * w + j - 1];
			float c1 = cost[(i - 1) * w + j];
			float c2 = cost[i * w + j - 1];
			float c;
			int t;

			if (c0 < c1 && c0 < c2) {
				c = c0;
				t = 0;
			} else if (c1 < c0 && c1 < c2) {
				c = c1;
				t = 1;
			} else {
				c = c2;
				t = 2;
			}
			cost[i * w + j] = -x[(size_t)(i - 1) * m + (j - 1)] + c;
			trace[i * w + j] = (signed char)t;
		}
	/* the first row can only have come from the left, the first column from above */
	for (j = 0; j <= m; j++)
		trace[j] = 2;
	for (i = 0; i <= n; i++)
		trace[i * w] = 1;
	i = n;
	j = m;
	while (i > 0 || j > 0) {
		int t = trace[i * w + j];

		pi[len] = i - 1;
		pj[len] = j - 1;
		len++;
		if (t == 0) {
			i--;
			j--;
		} else if (t == 1) {
			i--;
		} else {
			j--;
		}
	}
	free(cost);
	free(trace);
	/* walked from the end: reverse */
	for (int s = 0, e = len - 1; s < e; s++, e--) {
		int a = pi[s], b = pj[s];

		pi[s] = pi[e];
		pj[s] = pj[e];
		pi[e] = a;
		pj[e] = b;
	}
	return len;
}

int wsp_align_matrix(float *qk, int n_heads, int n_tok, size_t ld, int n_frames,
		     int row0, int n_rows, int width, float *out)
{
	int ret;

	if (n_heads <= 0 || n_tok <= 0 || n_frames <= 0 || (size_t)n_frames > ld ||
	    row0 < 0 || n_rows <= 0 || row0 + n_rows > n_tok)
		return -EINVAL;
	for (int h = 0; h < n_heads; h++) {
		float *head = qk + (size_t)h * n_tok * ld;

		/* softmax over the content frames */
		for (int t = 0; t < n_tok; t++) {
			float *r = head + (size_t)t * ld, mx = -INFINITY, sum = 0.0f;

			for (int f = 0; f < n_frames; f++)
				mx = r[f] > mx ? r[f] : mx;
			for (int f = 0; f < n_frames; f++) {
				r[f] = expf(r[f] - mx);
				sum += r[f];
			}
			for (int f = 0; f < n_frames; f++)
				r[f] /= sum;
		}
		/* (x - mean) / std over the tokens, per frame (std without Bessel) */
		for (int f = 0; f < n_frames; f++) {
			double mean = 0.0, var = 0.0;
			float sd;

			for (int t = 0; t < n_tok; t++)
				mean += head[(size_t)t * ld + f];
			mean /= n_tok;
			for (int t = 0; t < n_tok; t++) {
				double dv = head[(size_t)t * ld + f] - mean;

				var += dv * dv;
			}
			sd = (float)sqrt(var / n_tok);
			for (int t = 0; t < n_tok; t++) {
				float *v = &head[(size_t)t * ld + f];

				*v = (float)((*v - mean) / sd);
			}
		}
	}
	memset(out, 0, (size_t)n_rows * n_frames * sizeof(float));
	for (int h = 0; h < n_heads; h++)
		for (int t = 0; t < n_rows; t++) {
			float *r = qk + ((size_t)h * n_tok + row0 + t) * ld;

			/* the rows are contiguous only up to n_frames: filter row by row */
			ret = wsp_median_filter(r, 1, n_frames, width);
			if (ret)
				return ret;
			for (int f = 0; f < n_frames; f++)
				out[(size_t)t * n_frames + f] += r[f];
		}
	for (size_t k = 0; k < (size_t)n_rows * n_frames; k++)
		out[k] /= (float)n_heads;
	return 0;
}
