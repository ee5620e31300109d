#!/usr/bin/env python3
"""Cross-check our tokenizer against Hugging Face tokenizers on random text.

Loads build/libamanuensis.so (make lib) through ctypes and compares, for
each model directory given:
  encode  random strings of code points from all of Unicode, and strings
          from a small alphabet of white space, contractions, digits and
          added-token pieces (the pre-tokenizer's corner cases);
  decode  random id sequences rich in tokens that hold part of a
          character, with special and timestamp tokens mixed in.
Prints the mismatch counts and the first few mismatches; exits 1 on any.

Usage: scripts/tokenizer_crosscheck.py [--lib build/libamanuensis.so]
       [-n 20000] [--seed 1] MODEL_DIR...
"""
import argparse
import ctypes
import random
import sys

import tokenizers


def load_lib(path):
    lib = ctypes.CDLL(path)
    lib.wsp_tokenizer_load.argtypes = [ctypes.c_char_p, ctypes.c_int, ctypes.POINTER(ctypes.c_void_p),
                                       ctypes.c_char_p, ctypes.c_size_t]
    lib.wsp_tokenizer_encode.argtypes = [ctypes.c_void_p, ctypes.c_char_p,
                                         ctypes.POINTER(ctypes.c_int32), ctypes.c_int]
    lib.wsp_tokenizer_decode.argtypes = [ctypes.c_void_p, ctypes.POINTER(ctypes.c_int32), ctypes.c_int,
                                         ctypes.c_char_p, ctypes.c_size_t]
    lib.wsp_tokenizer_decode.restype = ctypes.c_size_t
    lib.wsp_tokenizer_n_vocab.argtypes = [ctypes.c_void_p]
    lib.wsp_tokenizer_free.argtypes = [ctypes.c_void_p]
    return lib


def random_texts(rng, n):
    def cp():
        r = rng.random()
        if r < 0.3:
            return rng.randrange(0x20, 0x7F)
        if r < 0.4:
            return rng.choice([0x20, 0x20, 0x9, 0xA, 0xD, 0xB, 0xC, 0x85, 0xA0, 0x2028, 0x3000, 0x200B])
        if r < 0.6:
            return rng.randrange(0x80, 0x3000)
        if r < 0.8:
            return rng.randrange(0x3000, 0x10000)
        return rng.randrange(0x10000, 0x110000)

    out = []
    for _ in range(n):
        s = []
        for _ in range(rng.randint(1, 30)):
            c = cp()
            s.append(chr(0x41 if 0xD800 <= c <= 0xDFFF or c == 0 else c))
        out.append("".join(s))
    alpha = [" ", " ", "\n", "a", "b", "1", "!", "\t", "\u00a0", "'", "s", "l", "\u00e9", "\u65e5",
             "\u3000", "\r", "<|en|>", "<|", "|>"]
    for _ in range(n):
        out.append("".join(rng.choice(alpha) for _ in range(rng.randint(1, 14))))
    return out


def check(lib, mdir, n, seed):
    hf = tokenizers.Tokenizer.from_file(f"{mdir}/tokenizer.json")
    tok = ctypes.c_void_p()
    err = ctypes.create_string_buffer(512)
    if lib.wsp_tokenizer_load(mdir.encode(), 0, ctypes.byref(tok), err, 512):
        print(f"{mdir}: {err.value.decode()}")
        return 1
    nv = lib.wsp_tokenizer_n_vocab(tok)
    rng = random.Random(seed)
    bad = 0

    texts = random_texts(rng, n)
    ref = [e.ids for e in hf.encode_batch(texts, add_special_tokens=False)]
    buf = (ctypes.c_int32 * 4096)()
    enc_bad = 0
    for text, want in zip(texts, ref):
        k = lib.wsp_tokenizer_encode(tok, text.encode(), buf, 4096)
        if list(buf[:k]) != want:
            enc_bad += 1
            if enc_bad <= 5:
                print(f"  encode {text!r}: {list(buf[:k])}, reference {want}")

    partial = [i for i in range(nv - 1501) if "\ufffd" in hf.decode([i])]
    specials = list(range(nv - 1501 - 100, nv))
    out = ctypes.create_string_buffer(1 << 16)
    dec_bad = 0
    for _ in range(n):
        seq = [rng.choice(partial) if rng.random() < 0.6 else
               rng.choice(specials) if rng.random() < 0.1 else rng.randrange(nv - 1501)
               for _ in range(rng.randint(1, 10))]
        arr = (ctypes.c_int32 * len(seq))(*seq)
        k = lib.wsp_tokenizer_decode(tok, arr, len(seq), out, 1 << 16)
        want = hf.decode([i for i in seq if i < nv - 1501]).encode()
        if out.raw[:k] != want:
            dec_bad += 1
            if dec_bad <= 5:
                print(f"  decode {seq}: {out.raw[:k]!r}, reference {want!r}")
    lib.wsp_tokenizer_free(tok)
    print(f"{mdir}: encode {enc_bad} of {len(texts)} differ, decode {dec_bad} of {n} differ")
    return 1 if enc_bad or dec_bad else 0


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--lib", default="build/libamanuensis.so")
    ap.add_argument("-n", type=int, default=20000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("models", nargs="+")
    args = ap.parse_args()
    lib = load_lib(args.lib)
    return max(check(lib, m, args.n, args.seed) for m in args.models)


if __name__ == "__main__":
    sys.exit(main())
