/* SPDX-License-Identifier: MIT */
/*
 * sched/xrt/npu_xrt_instr.h - the NPU instruction file, read and checked in C
 * before anything reaches XRT (internal).
 *
 * mlir-aie writes the host-side instruction stream of a design (the
 * "transaction" the firmware executes before the cores run) in two forms:
 *
 *   insts.bin  binary: little-endian 32-bit words, nothing else (current);
 *   insts.txt  text: one 32-bit word per line in hex (legacy), e.g. 06030100.
 *
 * The form is told by content, not by the file name: a file holding only
 * printable ASCII, tabs, CR and LF is text; anything else is binary.
 * Text rules: blanks around a word are ignored; a word is 1 to 8 hex digits
 * with an optional 0x or 0X; empty lines are skipped; '#' or "//" starts a
 * comment that runs to the end of the line (alone or after a word); any
 * other text is an error naming the line. Binary: the size must be a whole
 * number of words.
 *
 * Either way the words must open with the transaction header mlir-aie
 * emits (4 words): word 0 = rows << 24 | device generation << 16 |
 * minor << 8 | major, word 1 = mem-tile rows << 8 | columns, word 2 = the
 * operation count, word 3 = the stream's size in bytes, which must equal
 * the number of words read times 4. The device generation names the NPU
 * family the stream was built for: 3 Phoenix / Hawk Point (npu1), 4 Strix
 * and later (npu2).
 */
#ifndef AMN_NPU_XRT_INSTR_H
#define AMN_NPU_XRT_INSTR_H

#include <stddef.h>
#include <stdint.h>

/* The largest instruction stream accepted: 16 MiB (real ones are a few KiB). */
#define NPU_INSTR_MAX_BYTES (16u << 20)
#define NPU_INSTR_HDR_WORDS 4

enum npu_instr_form { NPU_INSTR_TEXT = 1, NPU_INSTR_BINARY = 2 };

/**
 * struct npu_instr - a parsed, checked instruction stream.
 * @words:  the words, host order; owned, free with npu_instr_free().
 * @n:      how many.
 * @form:   the form the file was in.
 * @family: "phoenix" or "strix", from the header's device generation.
 */
struct npu_instr {
	uint32_t *words;
	size_t n;
	enum npu_instr_form form;
	const char *family;
};

/**
 * npu_instr_parse - parse the bytes of an instruction file.
 * @in:     receives the stream (zeroed first; nothing to free on failure).
 * @data:   the file's bytes; need not be NUL-terminated.
 * @len:    their count.
 * @err:    receives a one-line message on failure (may be NULL).
 * @errlen: its size.
 * Return: 0; -EINVAL for a malformed file (bad text, a partial binary word,
 * no words, a bad or inconsistent header), -EFBIG above NPU_INSTR_MAX_BYTES,
 * -ENOMEM.
 */
int npu_instr_parse(struct npu_instr *in, const void *data, size_t len, char *err,
		    size_t errlen);

/**
 * npu_instr_load - read @path and parse it with npu_instr_parse().
 * Return: as npu_instr_parse(), or -errno from opening or reading the file
 * (-ENOENT, -EACCES, -EISDIR...); @err then names the file.
 */
int npu_instr_load(struct npu_instr *in, const char *path, char *err, size_t errlen);

/** npu_instr_free - release @in's words; @in may be zeroed or NULL. */
void npu_instr_free(struct npu_instr *in);

/**
 * npu_instr_family_of - the family named by a header's device generation.
 * Return: "phoenix" (3), "strix" (4), or NULL for any other value.
 */
const char *npu_instr_family_of(unsigned dev_gen);

#endif /* AMN_NPU_XRT_INSTR_H */
