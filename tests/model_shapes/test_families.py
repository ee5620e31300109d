# SPDX-License-Identifier: MIT
"""Every Whisper shape family (tiny.en .. large-v3, large-v3-turbo,
distil-large-v3) in every format we read: the loader gets the dimensions,
layer counts, mel bins, vocabulary and special tokens from the files; the
tensors it holds are the script's arrays bit for bit; and the three
formats of one family give the same fp32 encoder output and greedy tokens."""
import json
import os
import subprocess

import numpy as np
import pytest

from conftest import (FAMILIES, FORMATS, GREEDY_STEPS, INT8_FAMILIES, PROBE, bits_hash,
                      env_cpu, expected_tensors, family_info)

CASES = [(n, f) for n in FAMILIES for f in FORMATS]


@pytest.mark.parametrize("name,fmt", CASES)
def test_dimensions_and_vocabulary(families_dir, probe, name, fmt):
    fam = family_info(families_dir, name)
    hp, sp = fam["hparams"], fam["specials"]
    j = probe.get(name, fmt)
    assert j["hparams"] == hp
    assert j["ffn"] == fam["ffn"]
    assert j["multilingual"] == (1 if hp["n_vocab"] >= 51865 else 0)
    tok = j["tokenizer"]
    assert tok["n_vocab"] == hp["n_vocab"]
    for k in ("eot", "sot", "translate", "transcribe", "sot_lm", "sot_prev", "no_speech",
              "no_timestamps", "timestamp_begin", "lang_first", "n_langs", "en", "yue"):
        assert tok[k] == sp[k], "%s %s: %s = %d, the vocabulary says %d" % (name, fmt, k, tok[k], sp[k])
    # 51866: <|yue|> is the 100th language, and every later special is one up
    assert sp["n_langs"] == (100 if hp["n_vocab"] == 51866 else 99)
    assert sp["timestamp_begin"] + 1501 == hp["n_vocab"]
    assert j["context"] is True and j["has_yue"] == (1 if hp["n_vocab"] == 51866 else 0)
    # the suppressed ids: the family's list (ct2, hf) or openai's default set,
    # each plus the specials faster-whisper adds
    if fmt == "ggml":
        assert tok["source"] == "ggml vocabulary" and tok["exact"] == 0
        assert j["config"] == {"suppress": -1, "suppress_begin": -1, "lang_ids": -1,
                               "alignment_heads": -1}
    else:
        assert tok["source"] == "tokenizer.json" and tok["exact"] == 1
        assert j["config"]["suppress"] == fam["n_suppress"]
        assert j["config"]["suppress_begin"] == 2
        assert j["config"]["lang_ids"] == (sp["n_langs"] if fmt == "ct2" else -1)
    assert tok["n_suppress_begin"] == 2
    # shrunk widths match no published model: the second half of the decoder
    # layers, from config.json (ct2, as its converter writes it) or by default
    half = [[l, h] for l in range(hp["n_text_layer"] // 2, hp["n_text_layer"])
            for h in range(hp["n_text_head"])]
    assert j["alignment_heads"]["pairs"] == half
    assert j["alignment_heads"]["source"] == ("config.json" if fmt == "ct2" else
                                              "second half of the decoder layers")


@pytest.mark.parametrize("name,fmt", CASES)
def test_tensors_equal_the_scripts_arrays(families_dir, probe, name, fmt):
    fam = family_info(families_dir, name)
    want = expected_tensors(name, fam)
    got = probe.get(name, fmt)["tensors"]
    assert sorted(got) == sorted(want)
    bad = [k for k, a in want.items()
           if got[k]["n"] != a.size or int(got[k]["hash"]) != bits_hash(a)]
    assert not bad, "%s %s: %d tensors differ, first %s: loaded sum %s, script sum %.9g" % (
        name, fmt, len(bad), bad[0], got[bad[0]]["sum"], float(np.sum(want[bad[0]], dtype=np.float64)))


@pytest.mark.parametrize("name", FAMILIES)
def test_formats_agree(probe, name):
    """Same weights, three files: the same fp32 encoder output and tokens."""
    ref = probe.get(name, "ct2")
    assert np.all(np.isfinite(ref["enc"]))
    for fmt in ("ggml", "hf"):
        j = probe.get(name, fmt)
        assert np.array_equal(j["enc"], ref["enc"]), "%s: %s encoder differs from ct2 by %g" % (
            name, fmt, np.abs(j["enc"] - ref["enc"]).max())
        assert j["greedy"] == ref["greedy"]
        assert np.array_equal(j["logprobs"], ref["logprobs"])
    assert len(ref["greedy"]) == GREEDY_STEPS


@pytest.mark.parametrize("name", FAMILIES)
def test_ct2_vocabulary_without_tokenizer_json(families_dir, tmp_path, name):
    """A CTranslate2 folder as the converter leaves it without --copy_files:
    the specials from vocabulary.json (large-v3 families) or vocabulary.txt."""
    fam = family_info(families_dir, name)
    src = os.path.join(families_dir, name, "ct2")
    for f in os.listdir(src):
        if f != "tokenizer.json":
            os.symlink(os.path.join(src, f), tmp_path / f)
    p = subprocess.run([PROBE, str(tmp_path)], capture_output=True, text=True, env=env_cpu(),
                       timeout=120)
    assert p.returncode == 0, p.stderr
    tok = json.loads(p.stdout)["tokenizer"]
    vocab = "vocabulary.json" if fam["hparams"]["n_vocab"] == 51866 else "vocabulary.txt"
    assert tok["source"] == vocab and tok["exact"] == 0
    for k, v in fam["specials"].items():
        assert tok[k] == v, "%s: %s from %s" % (name, k, vocab)


@pytest.mark.parametrize("name", INT8_FAMILIES)
def test_int8_encoder(probe, name):
    """The INT8 path on the family's packed weights (per-head groups of 2
    heads, 128-bin conv1) stays close to fp32: cosine >= 0.999 (measured
    0.99963-0.99989 on these random weights)."""
    j = probe.get(name, "ct2")
    a, b = j["enc"].astype(np.float64).ravel(), j["enc8"].astype(np.float64).ravel()
    cos = a @ b / np.sqrt((a @ a) * (b @ b))
    print("%s: INT8 encoder cosine %.6f" % (name, cos))
    assert cos >= 0.999
