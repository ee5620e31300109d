# SPDX-License-Identifier: MIT
"""Fixtures for the shape-family suite (Documentation/models.md, "Shape
families"): every family of scripts/make_test_models.py written once per
build folder in the three formats, the probe (build/tests/model_probe) run
on each file with its output parsed, and the arrays the script drew, in
the layout the loader keeps them."""
import hashlib
import importlib.util
import json
import os
import subprocess
import sys

import numpy as np
import pytest

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
BUILD = os.environ.get("BUILD_DIR", os.path.join(ROOT, "build"))
PROBE = os.path.join(BUILD, "tests", "model_probe")
SCRIPT = os.path.join(ROOT, "scripts", "make_test_models.py")
TOKENIZERS = [os.path.join(ROOT, "models", "tiny.en"), os.path.join(ROOT, "models", "base")]
FORMATS = {"ct2": "ct2", "ggml": os.path.join("ggml", "ggml-model.bin"), "hf": "hf"}
GREEDY_STEPS = 6
# families whose CTranslate2 file also runs the INT8 encoder (the shortest
# decoder, the 128-bin ones and the English-only vocabulary)
INT8_FAMILIES = ("tiny.en", "large-v3", "distil-large-v3")

spec = importlib.util.spec_from_file_location("make_test_models", SCRIPT)
mtm = importlib.util.module_from_spec(spec)
spec.loader.exec_module(mtm)
FAMILIES = list(mtm.FAMILIES)


def env_cpu():
    e = dict(os.environ, NPU_BACKEND="cpu")
    e.pop("AMANUENSIS_MODEL", None)
    return e


@pytest.fixture(scope="session")
def families_dir():
    """The families' files under BUILD/model_shapes, rewritten when the script changes."""
    for d in TOKENIZERS:
        if not os.path.exists(os.path.join(d, "tokenizer.json")):
            pytest.skip("%s/tokenizer.json missing (scripts/setup.sh links the models)" % d)
    if not os.access(PROBE, os.X_OK):
        pytest.skip("%s not built (make)" % PROBE)
    out = os.path.join(BUILD, "model_shapes")
    with open(SCRIPT, "rb") as f:
        digest = hashlib.sha256(f.read()).hexdigest()
    stamp = os.path.join(out, ".stamp")
    if not os.path.exists(stamp) or open(stamp).read() != digest:
        subprocess.run([sys.executable, SCRIPT, "--families", out,
                        "--tokenizers", ",".join(TOKENIZERS)], check=True,
                       stdout=subprocess.DEVNULL)
        with open(stamp, "w") as f:
            f.write(digest)
    return out


def family_info(root, name):
    with open(os.path.join(root, name, "family.json")) as f:
        return json.load(f)


def mel_input(n_mels):
    """A fixed log-mel-like window (n_mels x 3000, values as Whisper's -0.5..1)."""
    return np.random.default_rng(5).uniform(-0.5, 1.0, (n_mels, 3000)).astype(np.float32)


def prompt_of(sp, multilingual):
    if multilingual:
        return [sp["sot"], sp["en"], sp["transcribe"], sp["no_timestamps"]]
    return [sp["sot"], sp["no_timestamps"]]


class ProbeRuns:
    """model_probe on each (family, format), run once and kept: JSON, encoder
    output and the greedy steps' log-probabilities."""

    def __init__(self, root, scratch):
        self.root, self.scratch, self.done = root, scratch, {}

    def get(self, name, fmt):
        key = (name, fmt)
        if key in self.done:
            return self.done[key]
        fam = family_info(self.root, name)
        hp = fam["hparams"]
        mel_path = os.path.join(self.scratch, "mel%d.f32" % hp["n_mels"])
        if not os.path.exists(mel_path):
            mel_input(hp["n_mels"]).tofile(mel_path)
        enc_path = os.path.join(self.scratch, "%s.%s.enc.f32" % (name, fmt))
        lp_path = os.path.join(self.scratch, "%s.%s.lp.f32" % (name, fmt))
        prompt = prompt_of(fam["specials"], hp["n_vocab"] >= 51865)
        enc8_path = os.path.join(self.scratch, "%s.%s.enc8.f32" % (name, fmt))
        int8 = fmt == "ct2" and name in INT8_FAMILIES
        cmd = [PROBE, os.path.join(self.root, name, FORMATS[fmt]), "--encode", mel_path,
               enc_path, "--greedy", str(GREEDY_STEPS), "--prompt",
               " ".join(map(str, prompt)), "--logits", lp_path, "--threads", "2"]
        cmd += ["--int8", enc8_path] if int8 else []
        p = subprocess.run(cmd, capture_output=True, text=True, env=env_cpu(), timeout=300)
        assert p.returncode == 0, "%s: %s" % (" ".join(cmd), p.stderr)
        j = json.loads(p.stdout)
        j["enc"] = np.fromfile(enc_path, np.float32).reshape(hp["n_audio_ctx"], hp["n_audio_state"])
        j["logprobs"] = np.fromfile(lp_path, np.float32).reshape(GREEDY_STEPS, hp["n_vocab"])
        j["prompt"] = prompt
        if int8:
            j["enc8"] = np.fromfile(enc8_path, np.float32).reshape(j["enc"].shape)
        self.done[key] = j
        return j


@pytest.fixture(scope="session")
def probe(families_dir, tmp_path_factory):
    return ProbeRuns(families_dir, str(tmp_path_factory.mktemp("probe")))


def expected_tensors(name, fam):
    """The script's arrays for family @name in the loader's layout (fused
    q/k/v and cross k/v, the keys' zero bias), under the probe's names."""
    w = mtm.make_weights(name, fam["hparams"]["n_audio_state"], fam["hparams"]["n_audio_head"],
                         fam["ffn"], fam["seed"])
    d = fam["hparams"]["n_audio_state"]
    z = np.zeros(d, np.float32)
    out = {}

    def lin(ours, pt):
        out[ours + ".w"] = w[pt + ".weight"]
        out[ours + ".b"] = w[pt + ".bias"]

    def fused(ours, pt, parts):
        out[ours + ".w"] = np.concatenate([w["%s.%s.weight" % (pt, p)] for p in parts])
        out[ours + ".b"] = np.concatenate([w.get("%s.%s.bias" % (pt, p), z) for p in parts])

    def ln(ours, pt):
        out[ours + ".g"] = w[pt + ".weight"]
        out[ours + ".b"] = w[pt + ".bias"]

    lin("enc.conv1", "encoder.conv1")
    lin("enc.conv2", "encoder.conv2")
    out["enc.pos"] = w["encoder.positional_embedding"]
    for l in range(fam["hparams"]["n_audio_layer"]):
        o, p = "enc.%d." % l, "encoder.blocks.%d." % l
        ln(o + "attn_ln", p + "attn_ln")
        fused(o + "qkv", p + "attn", ("query", "key", "value"))
        lin(o + "attn_out", p + "attn.out")
        ln(o + "ffn_ln", p + "mlp_ln")
        lin(o + "fc1", p + "mlp.0")
        lin(o + "fc2", p + "mlp.2")
    ln("enc.ln", "encoder.ln_post")
    out["dec.tok_emb"] = w["decoder.token_embedding.weight"]
    out["dec.pos"] = w["decoder.positional_embedding"]
    for l in range(fam["hparams"]["n_text_layer"]):
        o, p = "dec.%d." % l, "decoder.blocks.%d." % l
        ln(o + "self_ln", p + "attn_ln")
        fused(o + "self_qkv", p + "attn", ("query", "key", "value"))
        lin(o + "self_out", p + "attn.out")
        ln(o + "cross_ln", p + "cross_attn_ln")
        lin(o + "cross_q", p + "cross_attn.query")
        fused(o + "cross_kv", p + "cross_attn", ("key", "value"))
        lin(o + "cross_out", p + "cross_attn.out")
        ln(o + "ffn_ln", p + "mlp_ln")
        lin(o + "fc1", p + "mlp.0")
        lin(o + "fc2", p + "mlp.2")
    ln("dec.ln", "decoder.ln")
    return out


def bits_hash(a):
    """The probe's hash: sum of float32 bits[i] * (2i + 1) mod 2^64."""
    bits = np.ascontiguousarray(a, np.float32).ravel().view(np.uint32).astype(np.uint64)
    idx = np.arange(bits.size, dtype=np.uint64) * np.uint64(2) + np.uint64(1)
    return int(np.sum(bits * idx, dtype=np.uint64))
