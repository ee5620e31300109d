#!/usr/bin/env python3
"""Write whisper/text/tokenizer_split_unicode.h: the letters and numbers that
the reference pre-tokenizer knows and the installed PCRE2's Unicode tables do
not (code points assigned after PCRE2's Unicode version).

The reference classes are measured on the Hugging Face `tokenizers` ByteLevel
pre-tokenizer itself, for every code point:
  letter  iff "a"+c stays one piece    ( ?\\p{L}+)
  number  iff "1"+c stays one piece    ( ?\\p{N}+)
  other   iff "!"+c stays one piece    ( ?[^\\s\\p{L}\\p{N}]+)
  space   otherwise                    (\\s+)
PCRE2's are \\p{L}, \\p{N} and \\p{White_Space}, asked of libpcre2-8 through
ctypes. The split regex adds the ranges printed here to its \\p{L} and
\\p{N}; any other kind of difference is reported and the script fails.

Usage: scripts/tokenizer_unicode.py > whisper/text/tokenizer_split_unicode.h
"""
import ctypes
import ctypes.util
import sys

import tokenizers
from tokenizers import pre_tokenizers

PCRE2_UTF, PCRE2_UCP, PCRE2_ANCHORED = 0x00080000, 0x00020000, 0x80000000
PCRE2_CONFIG_UNICODE_VERSION = 10


class Pcre2:
    def __init__(self):
        self.lib = ctypes.CDLL(ctypes.util.find_library("pcre2-8") or "libpcre2-8.so.0")
        self.lib.pcre2_compile_8.restype = ctypes.c_void_p
        self.lib.pcre2_compile_8.argtypes = [ctypes.c_char_p, ctypes.c_size_t, ctypes.c_uint32,
                                             ctypes.POINTER(ctypes.c_int),
                                             ctypes.POINTER(ctypes.c_size_t), ctypes.c_void_p]
        self.lib.pcre2_match_data_create_8.restype = ctypes.c_void_p
        self.lib.pcre2_match_data_create_8.argtypes = [ctypes.c_uint32, ctypes.c_void_p]
        self.lib.pcre2_match_8.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_size_t,
                                           ctypes.c_size_t, ctypes.c_uint32, ctypes.c_void_p,
                                           ctypes.c_void_p]
        self.md = self.lib.pcre2_match_data_create_8(1, None)
        self.classes = [(cls, self.compile(pat)) for cls, pat in
                        (("L", r"\p{L}"), ("N", r"\p{N}"), ("S", r"\p{White_Space}"))]

    def compile(self, pattern):
        err, off = ctypes.c_int(), ctypes.c_size_t()
        code = self.lib.pcre2_compile_8(pattern.encode(), len(pattern),
                                        PCRE2_UTF | PCRE2_UCP | PCRE2_ANCHORED,
                                        ctypes.byref(err), ctypes.byref(off), None)
        if not code:
            sys.exit(f"pcre2_compile {pattern}: error {err.value}")
        return code

    def unicode_version(self):
        buf = ctypes.create_string_buffer(32)
        self.lib.pcre2_config_8(PCRE2_CONFIG_UNICODE_VERSION, buf)
        return buf.value.decode()

    def classify(self, c):
        s = c.encode()
        for cls, code in self.classes:
            if self.lib.pcre2_match_8(code, s, len(s), 0, 0, self.md, None) > 0:
                return cls
        return None


def reference_class(pt, c):
    if len(pt.pre_tokenize_str("a" + c)) == 1:
        return "L"
    if len(pt.pre_tokenize_str("1" + c)) == 1:
        return "N"
    if len(pt.pre_tokenize_str("!" + c)) == 1:
        return None
    return "S"


def main():
    pt = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
    pcre = Pcre2()
    extra = {"L": [], "N": []}
    bad = 0
    for cp in range(0x110000):
        if 0xD800 <= cp <= 0xDFFF:
            continue
        c = chr(cp)
        want, have = reference_class(pt, c), pcre.classify(c)
        if want == have:
            continue
        if have is not None or want not in extra:
            bad += 1
            print(f"U+{cp:04X}: reference {want}, PCRE2 {have}", file=sys.stderr)
            continue
        ranges = extra[want]
        if ranges and ranges[-1][1] == cp - 1:
            ranges[-1][1] = cp
        else:
            ranges.append([cp, cp])
    if bad:
        sys.exit(f"{bad} code points differ in a way the split regex cannot patch")

    def literal(name, ranges):
        body = "".join('\n\t"\\\\x{%x}-\\\\x{%x}"' % (lo, hi) for lo, hi in ranges)
        return "static const char %s[] =%s;\n" % (name, body or ' ""')

    n = sum(hi - lo + 1 for r in extra.values() for lo, hi in r)
    sys.stdout.write(f"""/* SPDX-License-Identifier: MIT */
/*
 * whisper/text/tokenizer_split_unicode.h - the {n} letters and numbers that the
 * reference pre-tokenizer (tokenizers {tokenizers.__version__}) knows and PCRE2's tables
 * (Unicode {pcre.unicode_version()}) do not, as class ranges; tokenizer_split.c adds them
 * to \\p{{L}} and \\p{{N}}. Written by scripts/tokenizer_unicode.py; do not edit.
 */
#ifndef AMN_WSP_TOKENIZER_SPLIT_UNICODE_H
#define AMN_WSP_TOKENIZER_SPLIT_UNICODE_H

{literal("split_extra_letters", extra["L"])}
{literal("split_extra_numbers", extra["N"])}
#endif
""")


if __name__ == "__main__":
    main()
