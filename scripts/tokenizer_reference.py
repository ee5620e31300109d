#!/usr/bin/env python3
"""Reference data for tests/test_tokenizer.c, from Hugging Face tokenizers
and faster-whisper's Tokenizer, for each model directory given.

One record a line, tab-separated; texts are hex-encoded UTF-8 bytes, token
lists are comma-separated ids ("-" for none):
  special  MODEL  NAME  ID        faster-whisper's eot, sot, ..., timestamp_begin
  lang     MODEL  CODE  ID        <|CODE|>'s id, -1 when the model has none
  encode   MODEL  TEXT  IDS       tokenizer.encode(TEXT, add_special_tokens=False)
  decode   MODEL  IDS   TEXT      tokenizer.decode(IDS), special tokens skipped

Usage: scripts/tokenizer_reference.py [--audio-dir DIR] OUT MODEL_DIR...
(the test data in the tree: tests/data/tokenizer_reference.tsv from
models/tiny.en and models/base).
"""
import argparse
import os
import random

import tokenizers
from faster_whisper.tokenizer import _LANGUAGE_CODES, Tokenizer

CORPUS = [
    "",
    " ",
    "  ",
    "\n",
    "Hello world",
    " Hello world",
    "  Hello  world  ",
    "Hello\nworld\n\nagain\r\n",
    "\tTabbed\ttext\t",
    "trailing space ",
    "a   b    c     d",
    " \n \n x",
    "it's I'm we're they've she'll he'd don't can't 'tis o'clock",
    "IT'S I'M WE'RE THEY'VE  'S 'T 'RE",
    "rock 'n' roll, 'quoted' \"double\" ''s",
    "Numbers: 0 7 42 1234 12345678901234567890 3.14159 -2.5e10 1,000,000",
    "Dates 2024-11-26, 09:30am, 42nd, 1st, 3rd, 100%, $5.99, \u20ac12, \u00a33",
    "Punctuation!!! ...and?!? (parens) [brackets] {braces} <angle> @#$%^&*_+=~`|\\/",
    "--- ___ ... ,,, ;;; ::: ''' \"\"\"",
    "caf\u00e9 na\u00efve r\u00e9sum\u00e9 \u00dcberm\u00e4\u00dfig co\u00f6perate se\u00f1or",
    "Cafe\u0301 with a combining accent, n\u0303",
    "\u65e5\u672c\u8a9e\u306e\u30c6\u30ad\u30b9\u30c8\u3067\u3059\u3002\u6771\u4eac\u306f\u5927\u304d\u3044\u3002",
    "\u4e2d\u6587\u5b57\u7b26\u6d4b\u8bd5\uff0c\u6807\u70b9\u7b26\u53f7\u3002",
    "\ud55c\uad6d\uc5b4 \ud14d\uc2a4\ud2b8\uc785\ub2c8\ub2e4",
    "\u041f\u0440\u0438\u0432\u0435\u0442, \u043c\u0438\u0440! \u042d\u0442\u043e \u0442\u0435\u0441\u0442.",
    "\u0645\u0631\u062d\u0628\u0627 \u0628\u0627\u0644\u0639\u0627\u0644\u0645",
    "\u0928\u092e\u0938\u094d\u0924\u0947 \u0926\u0941\u0928\u093f\u092f\u093e",
    "\u0e2a\u0e27\u0e31\u0e2a\u0e14\u0e35\u0e0a\u0e32\u0e27\u0e42\u0e25\u0e01",
    "\u05e9\u05dc\u05d5\u05dd \u05e2\u05d5\u05dc\u05dd",
    "\u0393\u03b5\u03b9\u03ac \u03c3\u03bf\u03c5 \u039a\u03cc\u03c3\u03bc\u03b5",
    "Emoji \U0001f600\U0001f44d\U0001f3fd \U0001f468\u200d\U0001f469\u200d\U0001f467 \U0001f1eb\U0001f1f7 \u2764\ufe0f",
    "\u266a\u266a\u266a la la la \u266a",
    "non\u00a0breaking\u3000ideographic\u2003em space\u200bzero width",
    "Roman \u2163 and circled \u2460 fractions \u00bd \u00be superscript x\u00b2",
    "\u0130stanbul \u00df \u1e9e \ufb01 ligature",
    "<|en|> hi<|notimestamps|><|0.00|>",
    "<|startoftranscript|><|de|><|transcribe|> Guten Tag",
    "<|notatoken|> <| |> <|en <|",
    "a" * 200,
    "abcdefghij" * 30,
    "x" + "\u00e9" * 100 + " " + "\u65e5" * 50,
    "0123456789" * 20,
    "!?" * 100,
    " " * 70 + "x",
    "supercalifragilisticexpialidocious antidisestablishmentarianism",
    "https://example.com/path?query=1&x=y#frag user@example.org",
    "snake_case camelCase PascalCase kebab-case SCREAMING_CASE",
]

ALPHABET = (
    list("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")
    + list(" " * 12 + "\n\t'\",.!?-:;()[]")
    + list("\u00e9\u00fc\u00df\u00f1\u0107\u0142")
    + list("\u65e5\u672c\u8a9e\u4e2d\u6587\ud55c\uad6d")
    + list("\u041f\u0440\u0438\u0645\u0631\u0928\u094d\u0e2a\u0e31")
    + ["\U0001f600", "\u200d", "\u00a0", "\u3000", "\u2163", "\u00b2", "'s", "'ll", "<|en|>"]
)


def corpus(audio_dir):
    texts = list(CORPUS)
    manifest = os.path.join(audio_dir, "manifest.tsv")
    if os.path.exists(manifest):
        with open(manifest, encoding="utf-8") as f:
            header = f.readline().rstrip("\n").split("\t")
            col = header.index("transcript")
            for line in f:
                fields = line.rstrip("\n").split("\t")
                if len(fields) > col:
                    texts.append(fields[col])
                    texts.append(" " + fields[col])
    rng = random.Random(1234)
    for _ in range(300):
        texts.append("".join(rng.choice(ALPHABET) for _ in range(rng.randint(1, 40))))
    return texts


def ids_str(ids):
    return ",".join(str(i) for i in ids) if ids else "-"


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--audio-dir", default="../shared/audio")
    ap.add_argument("out")
    ap.add_argument("models", nargs="+")
    args = ap.parse_args()

    texts = corpus(args.audio_dir)
    rng = random.Random(5678)
    lines = []
    for mdir in args.models:
        name = os.path.basename(os.path.normpath(mdir))
        hf = tokenizers.Tokenizer.from_file(os.path.join(mdir, "tokenizer.json"))
        fw = Tokenizer(hf, multilingual=False)
        for field in ("eot", "sot", "translate", "transcribe", "sot_lm", "sot_prev",
                      "no_speech", "no_timestamps", "timestamp_begin"):
            v = getattr(fw, field)
            lines.append(f"special\t{name}\t{field}\t{-1 if v is None else v}")
        for code in _LANGUAGE_CODES + ("xx", "english", "EN"):
            v = hf.token_to_id(f"<|{code}|>")
            lines.append(f"lang\t{name}\t{code}\t{-1 if v is None else v}")

        encoded = []
        for text in texts:
            ids = hf.encode(text, add_special_tokens=False).ids
            encoded.append(ids)
            lines.append(f"encode\t{name}\t{text.encode().hex()}\t{ids_str(ids)}")

        # decode: the encodings, their prefixes (cut characters), random ids,
        # and sequences with special and timestamp tokens in them
        eot, tsb = fw.eot, fw.timestamp_begin
        seqs = [ids for ids in encoded if ids]
        seqs += [ids[:k] for ids in encoded for k in range(1, min(len(ids), 4))]
        for _ in range(200):
            seqs.append([rng.randrange(eot) for _ in range(rng.randint(1, 12))])
        for _ in range(100):
            seq = [rng.randrange(eot) for _ in range(rng.randint(1, 12))]
            for _ in range(rng.randint(1, 4)):
                seq.insert(rng.randrange(len(seq) + 1), rng.choice(
                    [eot, fw.sot, fw.no_timestamps, fw.transcribe, tsb, tsb + rng.randrange(1501)]))
            seqs.append(seq)
        seen = set()
        for seq in seqs:
            key = tuple(seq)
            if key in seen:
                continue
            seen.add(key)
            text = hf.decode([i for i in seq if i < tsb])
            lines.append(f"decode\t{name}\t{ids_str(seq)}\t{text.encode().hex()}")

    with open(args.out, "w", encoding="utf-8") as f:
        f.write("\n".join(lines) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
