/* SPDX-License-Identifier: MIT */
/*
 * tests/helpers/test_ref.h - reading the reference files the scripts write
 * (scripts/ct2_reference.py) and flattening transcription results.
 */
#ifndef AMN_TEST_REF_H
#define AMN_TEST_REF_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

struct wsp_result;

/**
 * test_read_tokens - read up to @max whitespace-separated token ids from @f
 * and close it. Return: the count, or -1 when @f is NULL (file missing).
 */
int test_read_tokens(FILE *f, int32_t *tok, int max);

/** test_joined_text - every segment's text of @r, concatenated into @dst. */
void test_joined_text(const struct wsp_result *r, char *dst, size_t cap);

/**
 * test_read_prompt - read the reference prompt file from @f (first line: the
 * prompt's token ids; then the end-of-text id) and close it.
 * Return: the number of prompt tokens (<= @max), or -1 when @f is NULL or
 * the file lacks the end-of-text id.
 */
int test_read_prompt(FILE *f, int32_t *prompt, int max, int32_t *eot);

/** test_text_no_space - @s without whitespace, into @dst. */
void test_text_no_space(const char *s, char *dst, size_t cap);

/** test_text_letters - @s as lowercase letters and digits only, into @dst. */
void test_text_letters(const char *s, char *dst, size_t cap);

#endif
