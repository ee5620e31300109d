// SPDX-License-Identifier: MIT
/*
 * whisper/nn/ops.c - layer norm, GELU, softmax and adds: plain loops written so
 * that -O3 vectorizes them (no libm calls inside the hot loops).
 */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "common/amn_env.h"
#include "whisper/model/weights.h"
#include "whisper/nn/ops.h"

int nn_have_avx512(void)
{
	static int have = -1;
	int h = __atomic_load_n(&have, __ATOMIC_RELAXED);

	if (h < 0) {
		static const char *const modes[] = { "auto", "generic", NULL };

		__builtin_cpu_init();
		h = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
		    __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl") &&
		    amn_env_choice("AMN_OPS", modes, 0) == 0;
		__atomic_store_n(&have, h, __ATOMIC_RELAXED);
	}
	return h;
}

int nn_have_bf16(void)
{
	static int have = -1;
	int h = __atomic_load_n(&have, __ATOMIC_RELAXED);

	if (h < 0) {
		__builtin_cpu_init();
		h = nn_have_avx512() && __builtin_cpu_supports("avx512bf16");
		__atomic_store_n(&have, h, __ATOMIC_RELAXED);
	}
	return h;
}

int wsp_attn_use_bf16(const struct wsp_exec *x, int hd)
{
	static const char *const modes[] = { "auto", "fp32", NULL };

	return x->precision == WSP_INT8 && hd == 64 && nn_have_bf16() &&
	       amn_env_choice("AMN_ATTN", modes, 0) == 0;
}

int wsp_attn_use_compact_kv(const struct wsp_exec *x, int hd)
{
	static const char *const modes[] = { "auto", "fp32", NULL };

	return x->compact_kv && x->precision == WSP_INT8 && hd == 64 && nn_have_avx512() &&
	       amn_env_choice("AMN_ATTN", modes, 0) == 0;
}

/* One float as an IEEE half, rounded to nearest even (vcvtps2ph's result). */
static uint16_t f32_to_f16_one(float f)
{
	uint32_t x, sign, ax;

	memcpy(&x, &f, sizeof(x));
	sign = (x >> 16) & 0x8000u;
	ax = x & 0x7fffffffu;
	if (ax > 0x7f800000u)                   /* NaN: quiet, payload's top bits */
		return (uint16_t)(sign | 0x7e00u | (ax >> 13 & 0x1ffu));
	if (ax >= 0x477ff000u)                  /* >= 65520 rounds past 65504 */
		return (uint16_t)(sign | 0x7c00u);
	if (ax < 0x38800000u)                   /* below 2^-14: a subnormal half */
		return (uint16_t)(sign | (uint32_t)lrintf(fabsf(f) * 16777216.0f));
	ax += 0xfffu + (ax >> 13 & 1u);         /* nearest, ties to even */
	return (uint16_t)(sign | (ax - 0x38000000u) >> 13);
}

void nn_f32_to_f16(uint16_t *dst, const float *src, size_t n)
{
	if (nn_have_avx512()) {
		nn_f32_to_f16_avx512(dst, src, n);
		return;
	}
	for (size_t i = 0; i < n; i++)
		dst[i] = f32_to_f16_one(src[i]);
}

void nn_f16_to_f32(float *dst, const uint16_t *src, size_t n)
{
	if (nn_have_avx512()) {
		nn_f16_to_f32_avx512(dst, src, n);
		return;
	}
	/* the model loader's portable decoder (little-endian halves: this host's) */
	wsp_f16_to_f32(dst, (const unsigned char *)src, n);
}

void nn_layer_norm(float *y, const float *x, const float *g, const float *b,
		    int rows, int d)
{
	if (nn_have_avx512()) {
		nn_layer_norm_avx512(y, x, g, b, rows, d);
		return;
	}
	for (int r = 0; r < rows; r++) {
		const float *xr = x + (size_t)r * d;
		float *yr = y + (size_t)r * d;
		float mean = 0.0f, var = 0.0f, inv;

		for (int i = 0; i < d; i++)
			mean += xr[i];
		mean /= (float)d;
		for (int i = 0; i < d; i++) {
			float t = xr[i] - mean;

			var += t * t;
		}
		inv = 1.0f / sqrtf(var / (float)d + 1e-5f);
		for (int i = 0; i < d; i++)
			yr[i] = (xr[i] - mean) * inv * g[i] + b[i];
	}
}

/* erf by Abramowitz & Stegun 7.1.26 (|error| < 1.5e-7), odd-extended. */
static inline float erf_as(float x)
{
	float a = fabsf(x);
	float t = 1.0f / (1.0f + 0.3275911f * a);
	float p = ((((1.061405429f * t - 1.453152027f) * t + 1.421413741f) * t
		    - 0.284496736f) * t + 0.254829592f) * t;
	float e = 1.0f - p * nn_expf(-a * a);

	return x < 0.0f ? -e : e;
}

void nn_gelu(float *x, size_t n)
{
	if (nn_have_avx512()) {
		nn_gelu_avx512(x, n);
		return;
	}
	for (size_t i = 0; i < n; i++)
		x[i] = 0.5f * x[i] * (1.0f + erf_as(x[i] * 0.70710678118654752f));
}

void nn_softmax_rows(float *s, int rows, int cols, size_t ld, float scale,
		      int causal, int keep0)
{
	for (int r = 0; r < rows; r++) {
		float *row = s + (size_t)r * ld;
		int n = causal ? keep0 + r : cols;
		float mx = -INFINITY, sum = 0.0f, inv;

		if (n > cols)
			n = cols;
		for (int i = 0; i < n; i++)
			mx = row[i] > mx ? row[i] : mx;
		for (int i = 0; i < n; i++)
			row[i] = nn_expf((row[i] - mx) * scale);
		for (int i = 0; i < n; i++)
			sum += row[i];
		inv = 1.0f / sum;
		for (int i = 0; i < n; i++)
			row[i] *= inv;
		for (int i = n; i < cols; i++)
			row[i] = 0.0f;
	}
}

void nn_add(float *y, const float *x, size_t n)
{
	if (nn_have_avx512()) {
		nn_add_avx512(y, x, n);
		return;
	}
	for (size_t i = 0; i < n; i++)
		y[i] += x[i];
}

void nn_im2col_k3(float *col, const float *src, int n_chan, int t_in, int stride,
		   size_t chan_stride, size_t time_stride, int r0, int r1)
{
	for (int t = r0; t < r1; t++) {
		float *row = col + (size_t)t * n_chan * 3;

		for (int c = 0; c < n_chan; c++) {
			for (int k = 0; k < 3; k++) {
				int ti = stride * t + k - 1;

				row[c * 3 + k] = ti < 0 || ti >= t_in ? 0.0f :
					src[(size_t)c * chan_stride + (size_t)ti * time_stride];
			}
		}
	}
}
