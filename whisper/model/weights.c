// SPDX-License-Identifier: MIT
/*
 * whisper/model/weights.c - element type conversions for the model loaders.
 * Plain loops the compiler vectorizes; no ISA-specific code.
 */
#include <errno.h>
#include <math.h>
#include <string.h>

#include "whisper/model/weights.h"

static float f16_one(uint16_t h)
{
	uint32_t sign = (uint32_t)(h & 0x8000u) << 16;
	uint32_t exp = (h >> 10) & 0x1fu;
	uint32_t man = h & 0x3ffu;
	uint32_t bits;
	float f;

	if (exp == 0x1f) {               /* inf or NaN */
		bits = sign | 0x7f800000u | (man << 13);
	} else if (exp != 0) {           /* normal */
		bits = sign | ((exp + 112u) << 23) | (man << 13);
	} else if (man == 0) {           /* zero */
		bits = sign;
	} else {                         /* subnormal: man * 2^-24 */
		f = (float)man * 0x1p-24f;
		memcpy(&bits, &f, sizeof(bits));
		bits |= sign;
	}
	memcpy(&f, &bits, sizeof(f));
	return f;
}

void wsp_f16_to_f32(float *dst, const unsigned char *src, size_t n)
{
	for (size_t i = 0; i < n; i++)
		dst[i] = f16_one((uint16_t)(src[2 * i] | (src[2 * i + 1] << 8)));
}

/* @f as a half float, if it is one exactly: its candidate bits, checked back. */
static int f16_exact(float f, uint16_t *out)
{
	uint32_t bits, sign, exp, man;
	int e;
	uint16_t h;
	float back;

	memcpy(&bits, &f, sizeof(bits));
	sign = (bits >> 16) & 0x8000u;
	exp = (bits >> 23) & 0xffu;
	man = bits & 0x7fffffu;
	if (exp == 0xff)
		h = (uint16_t)(sign | 0x7c00u | (man >> 13));
	else if (exp == 0 && man == 0)
		h = (uint16_t)sign;
	else if ((e = (int)exp - 112) >= 31)
		return 0;
	else if (e >= 1)
		h = (uint16_t)(sign | (uint32_t)e << 10 | (man >> 13));
	else if (e > -11)                /* a half subnormal: man·2^-24 */
		h = (uint16_t)(sign | ((man | 0x800000u) >> (14 - e)));
	else
		return 0;
	back = f16_one(h);
	if (memcmp(&back, &f, sizeof(f)))
		return 0;
	*out = h;
	return 1;
}

int wsp_f32_to_f16_exact(uint16_t *dst, const float *src, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!f16_exact(src[i], &dst[i]))
			return -ERANGE;
	return 0;
}

void wsp_f16_row_to_f32(float *dst, const uint16_t *src, size_t n)
{
	for (size_t i = 0; i < n; i++)
		dst[i] = f16_one(src[i]);
}

void wsp_bf16_to_f32(float *dst, const unsigned char *src, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		uint32_t bits = (uint32_t)(src[2 * i] | (src[2 * i + 1] << 8)) << 16;

		memcpy(&dst[i], &bits, sizeof(float));
	}
}

void wsp_f32_copy(float *dst, const unsigned char *src, size_t n)
{
	memcpy(dst, src, n * sizeof(float));
}

int wsp_s8_rows_to_f32(float *dst, const int8_t *src, const float *scale,
		       size_t rows, size_t cols)
{
	for (size_t r = 0; r < rows; r++) {
		float s = scale[r];

		if (!(s > 0.0f) || !isfinite(s))
			return -EINVAL;
		for (size_t c = 0; c < cols; c++)
			dst[r * cols + c] = (float)src[r * cols + c] / s;
	}
	return 0;
}
