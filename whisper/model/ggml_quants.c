// SPDX-License-Identifier: MIT
/*
 * whisper/model/ggml_quants.c - ggml's block-quantized tensors into floats, or, for
 * the three types that are int8 in blocks of 32, into their integers and scales.
 *
 * The layouts are ggml's (ggml/src/ggml-common.h, quantization version 2):
 *
 *   type  elems bytes  block                                    value
 *   q4_0   32    18    f16 d, 16 B nibbles (j, j+16)            d*(q-8)
 *   q4_1   32    20    f16 d, f16 m, 16 B nibbles               d*q + m
 *   q5_0   32    22    f16 d, u32 high bits, 16 B nibbles       d*(q-16)
 *   q5_1   32    24    f16 d, f16 m, u32 high bits, 16 B        d*q + m
 *   q8_0   32    34    f16 d, 32 x i8                           d*q
 *   q2_K  256    84    16 B (4-bit scale | 4-bit min << 4), 64 B 2-bit q, f16 d, f16 dmin
 *                                                               d*sc*q - dmin*m
 *   q3_K  256   110    32 B high bits, 64 B 2-bit q, 12 B 16 x 6-bit scales, f16 d
 *                                                               d*(sc-32)*(q-4 unless high bit)
 *   q4_K  256   144    f16 d, f16 dmin, 12 B 8 x 6-bit (scale, min), 128 B nibbles
 *                                                               d*sc*q - dmin*m
 *   q5_K  256   176    as q4_K, then 32 B high bits before the nibbles
 *   q6_K  256   210    128 B low nibbles, 64 B high 2 bits, 16 x i8 scales, f16 d
 *                                                               d*sc*(q-32)
 *
 * Each value is computed in float in ggml's order (its dequantize_row_*),
 * so a layer's floats are what whisper.cpp itself multiplies by (checked
 * once, 3 December 2026, with a throwaway program linking whisper.cpp's
 * libggml-base: all 36.4 M quantized values of each of the ten tiny.en
 * files equal, bit for bit). The products are exact in float (an f16
 * scale times integers of at most 8 bits in all: 19 of float's 24 bits),
 * but for q6_K's d*sc*q (up to 25 bits); adding a min (q4_1, q5_1, q2_K,
 * q4_K, q5_K) rounds once. Either way a value is rounded at most once, as
 * in ggml.
 *
 * How a quantized tensor becomes our INT8 packing. Three types are int8
 * already, with a scale per 32 values: q8_0 (d * q), q4_0 (d * (q - 8))
 * and q5_0 (d * (q - 16)). They are not turned into floats at all:
 * wsp_ggml_to_s8() hands their integers and scales to a packing with K
 * blocks of 32 (tile_weights_pack_rows_s8_blocks()), which keeps them
 * exactly, so the file's rounding is the only one; activations are then
 * quantized per 32 too. The other types' floats go to the same places an
 * f16 file's do (weights_map.c) and are packed with one symmetric int8
 * scale per output row and K block: 32 for q4_1 and q5_1, like their
 * files, 128 for the k-quants. That is one rounding of the file's exact
 * values, never a rounding of a rounding (no f16 or int8 intermediate).
 *
 * Measured on tiny.en (tests/test_ggml_quant.c logs it per type), as the
 * relative RMS error over the packed encoder and decoder layers: packing
 * the f16 file errs 0.0080 against its values, and the q8_0 file's values
 * err 0.0060 against f16. Requantized per 128, as before, the q8_0 file
 * erred 0.0092 against f16 in all; kept as it is, 0.0060. The encoder
 * output on jfk.wav, cosine against the f16 file's fp32 encoder: f16
 * through INT8 0.999738, q8_0 through INT8 0.999847 (0.999736 when it was
 * requantized; q8_0 in fp32 0.999938). For the other types the file's own
 * error (0.019 for q6_K up to 0.31 for q2_K) dominates and repacking adds
 * 0.0063-0.0080 in quadrature: the INT8 encoder's cosine is within 0.0007
 * of the same file's fp32 one for every type (table in
 * Documentation/models.md).
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "whisper/model/ggml_quants.h"
#include "whisper/model/weights.h"

struct gq_type {
	const char *name;
	uint32_t elems, bytes;
};

static const struct gq_type gq_types[] = {
	[WSP_GGML_F32] = { "f32", 1, 4 },
	[WSP_GGML_F16] = { "f16", 1, 2 },
	[WSP_GGML_Q4_0] = { "q4_0", 32, 18 },
	[WSP_GGML_Q4_1] = { "q4_1", 32, 20 },
	[WSP_GGML_Q5_0] = { "q5_0", 32, 22 },
	[WSP_GGML_Q5_1] = { "q5_1", 32, 24 },
	[WSP_GGML_Q8_0] = { "q8_0", 32, 34 },
	[WSP_GGML_Q2_K] = { "q2_K", 256, 84 },
	[WSP_GGML_Q3_K] = { "q3_K", 256, 110 },
	[WSP_GGML_Q4_K] = { "q4_K", 256, 144 },
	[WSP_GGML_Q5_K] = { "q5_K", 256, 176 },
	[WSP_GGML_Q6_K] = { "q6_K", 256, 210 },
};

static const struct gq_type *gq_type(int32_t type)
{
	if (type < 0 || type >= (int32_t)(sizeof(gq_types) / sizeof(gq_types[0])) ||
	    !gq_types[type].name)
		return NULL;
	return &gq_types[type];
}

const char *wsp_ggml_type_name(int32_t type)
{
	const struct gq_type *t = gq_type(type);

	return t ? t->name : NULL;
}

int wsp_ggml_type_quantized(int32_t type)
{
	const struct gq_type *t = gq_type(type);

	return t && t->elems > 1;
}

int wsp_ggml_tensor_bytes(int32_t type, uint64_t numel, uint64_t *bytes,
			  char *err, size_t errlen)
{
	const struct gq_type *t = gq_type(type);

	if (!t) {
		snprintf(err, errlen, "tensor type %d is not one ggml's quantize writes for Whisper "
			 "(f32, f16, q4_0, q4_1, q5_0, q5_1, q8_0, q2_K..q6_K)", type);
		return -EINVAL;
	}
	if (numel > (1ull << 40)) {
		snprintf(err, errlen, "%llu elements: too many for a Whisper tensor",
			 (unsigned long long)numel);
		return -EINVAL;
	}
	if (numel % t->elems) {
		snprintf(err, errlen, "%llu elements are not a whole number of %s blocks (%u each)",
			 (unsigned long long)numel, t->name, t->elems);
		return -EINVAL;
	}
	*bytes = numel / t->elems * t->bytes;
	return 0;
}

/* One little-endian half float at @p (any alignment). */
static float gq_h(const unsigned char *p)
{
	float v;

	wsp_f16_to_f32(&v, p, 1);
	return v;
}

static uint32_t gq_u32(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/*
 * The integers of a q8_0, q4_0 or q5_0 block, in value order: each value is
 * q[j] * d. q5_0's fifth bits are @qh's bit j for value j (j + 16: value
 * j + 16's), as gq_q5_1() reads its own.
 */
static void gq_s8_ints(int32_t type, const unsigned char *b, int8_t *q)
{
	switch (type) {
	case WSP_GGML_Q8_0:
		memcpy(q, b + 2, 32);
		return;
	case WSP_GGML_Q4_0:
		for (int j = 0; j < 16; j++) {
			q[j] = (int8_t)((b[2 + j] & 0x0f) - 8);
			q[j + 16] = (int8_t)((b[2 + j] >> 4) - 8);
		}
		return;
	default: {   /* q5_0 */
		const unsigned char *qs = b + 6;
		uint32_t qh = gq_u32(b + 2);

		for (int j = 0; j < 16; j++) {
			q[j] = (int8_t)(((qs[j] & 0x0f) | (int)(((qh >> j) << 4) & 0x10)) - 16);
			q[j + 16] = (int8_t)(((qs[j] >> 4) | (int)((qh >> (j + 12)) & 0x10)) - 16);
		}
	}
	}
}

static void gq_q4_1(float *y, const unsigned char *b, float d, float m)
{
	const unsigned char *qs = b + 4;

	for (int j = 0; j < 16; j++) {
		y[j] = (float)(qs[j] & 0x0f) * d + m;
		y[j + 16] = (float)(qs[j] >> 4) * d + m;
	}
}

/* q5_1: @qh's bit j is value j's fifth bit (j + 16: value j + 16's). */
static void gq_q5_1(float *y, const unsigned char *qs, uint32_t qh, float d, float m)
{
	for (int j = 0; j < 16; j++) {
		int x0 = (qs[j] & 0x0f) | (int)(((qh >> j) << 4) & 0x10);
		int x1 = (qs[j] >> 4) | (int)((qh >> (j + 12)) & 0x10);

		y[j] = (float)x0 * d + m;
		y[j + 16] = (float)x1 * d + m;
	}
}

static void gq_q2_k(float *y, const unsigned char *b, float d, float dmin)
{
	const unsigned char *sc = b, *q = b + 16;
	int is = 0;

	for (int n = 0; n < 256; n += 128) {
		for (int shift = 0; shift < 8; shift += 2) {
			for (int half = 0; half < 2; half++) {
				unsigned s = sc[is++];
				float dl = d * (float)(s & 0x0f), ml = dmin * (float)(s >> 4);

				for (int l = 0; l < 16; l++)
					*y++ = dl * (float)((q[l + 16 * half] >> shift) & 3) - ml;
			}
		}
		q += 32;
	}
}

/* q3_K's 16 scales: 4 low bits in bytes 0-7 (two per byte), 2 high bits in 8-11. */
static void gq_q3_k_scales(int8_t sc[16], const unsigned char *s)
{
	for (int j = 0; j < 16; j++) {
		int lo = j < 8 ? s[j] & 0x0f : s[j - 8] >> 4;
		int hi = (s[8 + j % 4] >> (2 * (j / 4))) & 3;

		sc[j] = (int8_t)((lo | hi << 4) - 32);
	}
}

static void gq_q3_k(float *y, const unsigned char *b, float d)
{
	const unsigned char *hm = b, *q = b + 32;
	int8_t sc[16];
	unsigned m = 1;
	int is = 0;

	gq_q3_k_scales(sc, b + 96);
	for (int n = 0; n < 256; n += 128) {
		for (int shift = 0; shift < 8; shift += 2) {
			for (int half = 0; half < 2; half++) {
				float dl = d * (float)sc[is++];

				for (int l = 16 * half; l < 16 * half + 16; l++)
					*y++ = dl * (float)(((q[l] >> shift) & 3) - ((hm[l] & m) ? 0 : 4));
			}
			m <<= 1;
		}
		q += 32;
	}
}

/* q4_K / q5_K: sub-block @j's 6-bit scale and min from the 12 bytes at @q. */
static void gq_scale_min_k4(int j, const unsigned char *q, unsigned *d, unsigned *m)
{
	if (j < 4) {
		*d = q[j] & 63;
		*m = q[j + 4] & 63;
	} else {
		*d = (q[j + 4] & 0x0f) | ((q[j - 4] >> 6) << 4);
		*m = (q[j + 4] >> 4) | ((q[j] >> 6) << 4);
	}
}

/* q4_K (@qh NULL) and q5_K. */
static void gq_q45_k(float *y, const unsigned char *scales, const unsigned char *qh,
		     const unsigned char *ql, float d, float dmin)
{
	unsigned u1 = 1, u2 = 2;

	for (int is = 0; is < 8; is += 2) {
		unsigned s1, m1, s2, m2;
		float d1, mm1, d2, mm2;

		gq_scale_min_k4(is, scales, &s1, &m1);
		gq_scale_min_k4(is + 1, scales, &s2, &m2);
		d1 = d * (float)s1;
		mm1 = dmin * (float)m1;
		d2 = d * (float)s2;
		mm2 = dmin * (float)m2;
		for (int l = 0; l < 32; l++)
			*y++ = d1 * (float)((ql[l] & 0x0f) + (qh && (qh[l] & u1) ? 16 : 0)) - mm1;
		for (int l = 0; l < 32; l++)
			*y++ = d2 * (float)((ql[l] >> 4) + (qh && (qh[l] & u2) ? 16 : 0)) - mm2;
		ql += 32;
		u1 <<= 2;
		u2 <<= 2;
	}
}

static void gq_q6_k(float *y, const unsigned char *b, float d)
{
	const unsigned char *ql = b, *qh = b + 128;
	const int8_t *sc = (const int8_t *)(b + 192);

	for (int n = 0; n < 256; n += 128) {
		for (int l = 0; l < 32; l++) {
			int is = l / 16;
			int q1 = ((ql[l] & 0x0f) | ((qh[l] >> 0) & 3) << 4) - 32;
			int q2 = ((ql[l + 32] & 0x0f) | ((qh[l] >> 2) & 3) << 4) - 32;
			int q3 = ((ql[l] >> 4) | ((qh[l] >> 4) & 3) << 4) - 32;
			int q4 = ((ql[l + 32] >> 4) | ((qh[l] >> 6) & 3) << 4) - 32;

			y[l] = d * (float)sc[is] * (float)q1;
			y[l + 32] = d * (float)sc[is + 2] * (float)q2;
			y[l + 64] = d * (float)sc[is + 4] * (float)q3;
			y[l + 96] = d * (float)sc[is + 6] * (float)q4;
		}
		y += 128;
		ql += 64;
		qh += 32;
		sc += 8;
	}
}

/* The offsets of a block's half-float scale and min (-1: none). */
static void gq_scale_offsets(int32_t type, int *d_off, int *m_off)
{
	*m_off = -1;
	switch (type) {
	case WSP_GGML_Q4_1: case WSP_GGML_Q5_1: *d_off = 0; *m_off = 2; break;
	case WSP_GGML_Q2_K: *d_off = 80; *m_off = 82; break;
	case WSP_GGML_Q3_K: *d_off = 108; break;
	case WSP_GGML_Q4_K: case WSP_GGML_Q5_K: *d_off = 0; *m_off = 2; break;
	case WSP_GGML_Q6_K: *d_off = 208; break;
	default: *d_off = 0; break;   /* q4_0, q5_0, q8_0 */
	}
}

int wsp_ggml_to_f32(int32_t type, float *dst, const unsigned char *src, uint64_t numel,
		    char *err, size_t errlen)
{
	const struct gq_type *t = gq_type(type);
	uint64_t bytes, nb;
	int d_off, m_off, ret;

	ret = wsp_ggml_tensor_bytes(type, numel, &bytes, err, errlen);
	if (ret)
		return ret;
	if (type == WSP_GGML_F32) {
		wsp_f32_copy(dst, src, (size_t)numel);
		return 0;
	}
	if (type == WSP_GGML_F16) {
		wsp_f16_to_f32(dst, src, (size_t)numel);
		return 0;
	}
	gq_scale_offsets(type, &d_off, &m_off);
	nb = numel / t->elems;
	for (uint64_t i = 0; i < nb; i++) {
		const unsigned char *b = src + i * t->bytes;
		float *y = dst + i * t->elems;
		float d = gq_h(b + d_off), m = m_off >= 0 ? gq_h(b + m_off) : 0.0f;

		if (!isfinite(d) || !isfinite(m)) {
			snprintf(err, errlen, "%s block %llu of %llu: %s is not a finite half float "
				 "(bytes 0x%02x%02x)", t->name, (unsigned long long)i,
				 (unsigned long long)nb, isfinite(d) ? "its min" : "its scale",
				 isfinite(d) ? b[m_off + 1] : b[d_off + 1],
				 isfinite(d) ? b[m_off] : b[d_off]);
			return -EINVAL;
		}
		switch (type) {
		case WSP_GGML_Q4_0:
		case WSP_GGML_Q5_0:
		case WSP_GGML_Q8_0: {
			int8_t q[32];

			gq_s8_ints(type, b, q);
			for (int j = 0; j < 32; j++)
				y[j] = (float)q[j] * d;
			break;
		}
		case WSP_GGML_Q4_1: gq_q4_1(y, b, d, m); break;
		case WSP_GGML_Q5_1: gq_q5_1(y, b + 8, gq_u32(b + 4), d, m); break;
		case WSP_GGML_Q2_K: gq_q2_k(y, b, d, m); break;
		case WSP_GGML_Q3_K: gq_q3_k(y, b, d); break;
		case WSP_GGML_Q4_K: gq_q45_k(y, b + 4, NULL, b + 16, d, m); break;
		case WSP_GGML_Q5_K: gq_q45_k(y, b + 4, b + 16, b + 48, d, m); break;
		case WSP_GGML_Q6_K: gq_q6_k(y, b, d); break;
		default:
			snprintf(err, errlen, "tensor type %d has no reader", type);
			return -EINVAL;
		}
	}
	return 0;
}

int wsp_ggml_type_s8_blocks(int32_t type)
{
	return type == WSP_GGML_Q8_0 || type == WSP_GGML_Q4_0 || type == WSP_GGML_Q5_0;
}

int wsp_ggml_type_block32(int32_t type)
{
	return wsp_ggml_type_s8_blocks(type) || type == WSP_GGML_Q4_1 || type == WSP_GGML_Q5_1;
}

int wsp_ggml_to_s8(int32_t type, int8_t *q, float *scale, const unsigned char *src,
		   uint64_t numel, char *err, size_t errlen)
{
	const struct gq_type *t = gq_type(type);
	uint64_t bytes, nb;
	int ret;

	if (!wsp_ggml_type_s8_blocks(type)) {
		snprintf(err, errlen, "tensor type %d is not int8 in blocks of 32", type);
		return -EINVAL;
	}
	ret = wsp_ggml_tensor_bytes(type, numel, &bytes, err, errlen);
	if (ret)
		return ret;
	nb = numel / t->elems;
	for (uint64_t i = 0; i < nb; i++) {
		const unsigned char *b = src + i * t->bytes;
		float d = gq_h(b);   /* every one of the three starts with its f16 d */

		if (!isfinite(d)) {
			snprintf(err, errlen, "%s block %llu of %llu: its scale is not a finite half "
				 "float (bytes 0x%02x%02x)", t->name, (unsigned long long)i,
				 (unsigned long long)nb, b[1], b[0]);
			return -EINVAL;
		}
		if (scale)
			scale[i] = d;
		if (q)
			gq_s8_ints(type, b, q + i * 32);
	}
	return 0;
}
