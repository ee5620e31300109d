/* SPDX-License-Identifier: MIT */
/*
 * whisper/model/ggml_quants.h - ggml's tensor element types, as whisper.cpp
 * files store them: f32, f16 and the block-quantized types its `quantize`
 * writes (q4_0, q4_1, q5_0, q5_1, q8_0, q2_k .. q6_k), turned into floats
 * block by block. Used by load_ggml.c (sizes) and weights_map.c (values).
 * Not installed.
 */
#ifndef AMN_WSP_GGML_QUANTS_H
#define AMN_WSP_GGML_QUANTS_H

#include <stddef.h>
#include <stdint.h>

/* ggml's type ids (enum ggml_type in ggml.h), as a tensor header gives them. */
enum {
	WSP_GGML_F32 = 0,
	WSP_GGML_F16 = 1,
	WSP_GGML_Q4_0 = 2,
	WSP_GGML_Q4_1 = 3,
	WSP_GGML_Q5_0 = 6,
	WSP_GGML_Q5_1 = 7,
	WSP_GGML_Q8_0 = 8,
	WSP_GGML_Q2_K = 10,
	WSP_GGML_Q3_K = 11,
	WSP_GGML_Q4_K = 12,
	WSP_GGML_Q5_K = 13,
	WSP_GGML_Q6_K = 14,
};

/* The block-format version these layouts are (ggml's GGML_QNT_VERSION). */
#define WSP_GGML_QNT_VERSION 2

/**
 * wsp_ggml_type_name - ggml's name of tensor type @type ("f16", "q5_1",
 * "q4_K", ...). Return: the name, or NULL for a type not read here.
 */
const char *wsp_ggml_type_name(int32_t type);

/**
 * wsp_ggml_type_quantized - whether @type is one of the block-quantized
 * types read here (not f32 or f16). Return: 1 or 0.
 */
int wsp_ggml_type_quantized(int32_t type);

/**
 * wsp_ggml_tensor_bytes - the bytes a tensor of @numel elements of @type
 * takes in the file.
 * @bytes: receives the size.
 * Return: 0; -EINVAL for a type not read here, or @numel not a whole
 * number of the type's blocks (32 or 256 elements); @err says which.
 */
int wsp_ggml_tensor_bytes(int32_t type, uint64_t numel, uint64_t *bytes,
			  char *err, size_t errlen);

/**
 * wsp_ggml_to_f32 - turn @numel elements of @type at @src (the file's
 * bytes, any alignment, wsp_ggml_tensor_bytes() of them) into floats at
 * @dst. Each value is what ggml's own dequantize_row_* gives: the block's
 * half-float scales times its integers, in float.
 * Return: 0, or -EINVAL when a block's scale (or min) is not a finite half
 * float, or the type or size is wrong; @err names the block.
 */
int wsp_ggml_to_f32(int32_t type, float *dst, const unsigned char *src, uint64_t numel,
		    char *err, size_t errlen);

/* Values per block of the types whose values are int8 times a block scale. */
#define WSP_GGML_S8_BLOCK 32

/**
 * wsp_ggml_type_s8_blocks - whether every value of @type is an integer in
 * [-128, 127] times its block's half-float scale, with blocks of
 * WSP_GGML_S8_BLOCK values: q8_0 (d * q), q4_0 (d * (q - 8)) and q5_0
 * (d * (q - 16)). Such a tensor packs into INT8 with one scale per block of
 * 32 with no rounding at all. Return: 1 or 0.
 */
int wsp_ggml_type_s8_blocks(int32_t type);

/**
 * wsp_ggml_type_block32 - whether @type is one of the types in blocks of
 * WSP_GGML_S8_BLOCK values with a scale each (q4_0, q4_1, q5_0, q5_1,
 * q8_0): their INT8 packing gets K blocks of 32 too, so that one block's
 * range never sets another's step. Return: 1 or 0.
 */
int wsp_ggml_type_block32(int32_t type);

/**
 * wsp_ggml_to_s8 - the integers and block scales of @numel elements of
 * @type (a wsp_ggml_type_s8_blocks() type) at @src: @q gets @numel int8
 * values, @scale numel / 32 floats, and q[i] * scale[i / 32] is exactly
 * what wsp_ggml_to_f32() gives for element i. Either output may be NULL.
 * Return: 0, or -EINVAL as wsp_ggml_to_f32() (also for another type).
 */
int wsp_ggml_to_s8(int32_t type, int8_t *q, float *scale, const unsigned char *src,
		   uint64_t numel, char *err, size_t errlen);

#endif
