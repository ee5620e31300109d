/* SPDX-License-Identifier: MIT */
/*
 * whisper/model/weights.h - converting stored weight element types to fp32.
 * Used by every model loader. Not installed.
 */
#ifndef AMN_WSP_WEIGHTS_H
#define AMN_WSP_WEIGHTS_H

#include <stddef.h>
#include <stdint.h>

/**
 * wsp_f16_to_f32 - convert @n IEEE half floats (little-endian bytes at @src,
 * any alignment) to float, including subnormals, infinities and NaN.
 */
void wsp_f16_to_f32(float *dst, const unsigned char *src, size_t n);

/**
 * wsp_f32_to_f16_exact - store @n floats as IEEE half floats, when every one
 * of them is a half float exactly (weights that came from an f16 file are).
 * Return: 0, or -ERANGE at the first value that would change (@dst is then
 * partly written).
 */
int wsp_f32_to_f16_exact(uint16_t *dst, const float *src, size_t n);

/** wsp_f16_row_to_f32 - convert @n half floats (host order) to float, exactly. */
void wsp_f16_row_to_f32(float *dst, const uint16_t *src, size_t n);

/** wsp_bf16_to_f32 - convert @n bfloat16 values (little-endian bytes) to float. */
void wsp_bf16_to_f32(float *dst, const unsigned char *src, size_t n);

/** wsp_f32_copy - copy @n little-endian floats from unaligned bytes. */
void wsp_f32_copy(float *dst, const unsigned char *src, size_t n);

/**
 * wsp_s8_rows_to_f32 - dequantize a rows × cols int8 matrix quantized per row
 * as q = round(w * scale[row]) (CTranslate2's convention): w = q / scale[row].
 * Return: 0, or -EINVAL when a scale is zero, negative or not finite.
 */
int wsp_s8_rows_to_f32(float *dst, const int8_t *src, const float *scale,
		       size_t rows, size_t cols);

#endif
