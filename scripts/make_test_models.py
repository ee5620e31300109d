#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Random-weight Whisper models for the loader tests and the fuzzers.

Two uses:

  make_test_models.py OUT_FILE [f32|f16|i8]
      a toy model in CTranslate2 format (model.bin, version 6, 4 mel bins,
      d = 8, one layer each side): the fuzzers' seed corpus (fuzz/seeds/toy_*.bin)
      and a quick loader smoke input.

  make_test_models.py --families OUT_DIR [--only NAME,NAME] [--d 64] [--heads 2]
                      [--ffn 256] [--seed 17] [--npz] [--tokenizers DIR_EN,DIR_MULTI]
      for every shape family of Whisper (FAMILIES below: tiny.en to large-v3,
      large-v3-turbo, distil-large-v3), one small model with random weights
      written in the three formats we read, each as its users have it:
        OUT_DIR/NAME/ct2/   model.bin + config.json + vocabulary.txt + tokenizer.json
                            (what ct2-transformers-converter / faster-whisper give;
                            the large-v3 families vocabulary.json and
                            preprocessor_config.json instead, as their conversions)
        OUT_DIR/NAME/ggml/  ggml-model.bin alone (what whisper.cpp's converter gives:
                            f16 matrices, f32 conv biases, positions and 1-D tensors,
                            the Slaney mel filters, the embedded text vocabulary)
        OUT_DIR/NAME/hf/    model.safetensors + config.json + tokenizer.json +
                            preprocessor_config.json (as transformers saves them)
        OUT_DIR/NAME/weights.npz  with --npz: every tensor under OpenAI's PyTorch
                            name, float32 (make_weights() gives the same arrays)
        OUT_DIR/NAME/family.json  the shape and special tokens the files must give
      Each family keeps its real structure: mel bins (80; 128 for large-v3 and
      its derivatives), vocabulary size (51864 English-only, 51865 multilingual,
      51866 large-v3 with <|yue|>), layer counts, n_audio_ctx 1500 and n_text_ctx
      448; only the width (d), the head count and the FFN width are shrunk so a
      family is a few MB per format. The weights are drawn from a generator seeded
      by --seed and the family's name, then rounded to half floats, so the f16
      files of every format hold exactly the float32 values make_weights() gives.

      Vocabularies come from a real English-only and a real multilingual
      tokenizer (tokenizer.json + vocabulary.txt of models/tiny.en and
      models/base by default); large-v3's adds <|yue|> after <|su|> (id 50358),
      which moves every later special token up by one, and lists the 1501
      timestamps among its added tokens as large-v3's own tokenizer.json does.
"""
import argparse
import json
import os
import shutil
import struct
import sys
import zlib

import numpy as np

# --------------------------------------------------------------------------
# The toy CTranslate2 model (fuzz seeds)

MELS, D, HEADS, FFN, ACTX, TCTX, VOCAB, LAYERS = 4, 8, 2, 16, 6, 5, 11, 1
DT = {"f32": 0, "i8": 1, "f16": 4}


def s(name):
    b = name.encode() + b"\0"
    return struct.pack("<H", len(b)) + b


def var(name, arr, dt):
    out = [s(name), struct.pack("<B", arr.ndim)]
    out += [struct.pack("<I", d) for d in arr.shape]
    extra = []
    if arr.ndim >= 2 and dt == "i8":
        amax = np.abs(arr.reshape(arr.shape[0], -1)).max(axis=1) + 1e-6
        scale = (127.0 / amax).astype(np.float32)
        data = np.round(arr * scale.reshape((-1,) + (1,) * (arr.ndim - 1))).astype(np.int8)
        extra = [(name + "_scale", scale)]
        code = 1
    elif arr.ndim >= 2 and dt == "f16":
        data, code = arr.astype(np.float16), 4
    else:
        data, code = arr.astype(np.float32), 0
    raw = data.tobytes()
    out += [struct.pack("<B", code), struct.pack("<I", len(raw)), raw]
    blobs = [b"".join(out)]
    for n, a in extra:
        blobs.append(s(n) + struct.pack("<BIBI", 1, a.shape[0], 0, a.nbytes) + a.tobytes())
    return blobs


def toy_main(out, dt):
    rng = np.random.default_rng(1)
    r = lambda *shape: (rng.standard_normal(shape) * 0.2).astype(np.float32)
    vs = []
    lin = lambda p, o, i: [(p + "/bias", r(o)), (p + "/weight", r(o, i))]
    ln = lambda p: [(p + "/beta", r(D)), (p + "/gamma", r(D) + 1)]
    vs += [("encoder/conv1/bias", r(D)), ("encoder/conv1/weight", r(D, MELS, 3)),
           ("encoder/conv2/bias", r(D)), ("encoder/conv2/weight", r(D, D, 3)),
           ("encoder/position_encodings/encodings", r(ACTX, D))] + ln("encoder/layer_norm")
    for l in range(LAYERS):
        p = "encoder/layer_%d/" % l
        vs += ln(p + "self_attention/layer_norm") + lin(p + "self_attention/linear_0", 3 * D, D)
        vs += lin(p + "self_attention/linear_1", D, D) + ln(p + "ffn/layer_norm")
        vs += lin(p + "ffn/linear_0", FFN, D) + lin(p + "ffn/linear_1", D, FFN)
    vs += [("decoder/embeddings/weight", r(VOCAB, D)),
           ("decoder/position_encodings/encodings", r(TCTX, D))] + ln("decoder/layer_norm")
    for l in range(LAYERS):
        p = "decoder/layer_%d/" % l
        vs += ln(p + "self_attention/layer_norm") + lin(p + "self_attention/linear_0", 3 * D, D)
        vs += lin(p + "self_attention/linear_1", D, D) + ln(p + "attention/layer_norm")
        vs += lin(p + "attention/linear_0", D, D) + lin(p + "attention/linear_1", 2 * D, D)
        vs += lin(p + "attention/linear_2", D, D) + ln(p + "ffn/layer_norm")
        vs += lin(p + "ffn/linear_0", FFN, D) + lin(p + "ffn/linear_1", D, FFN)
    blobs = []
    for n, a in vs:
        blobs += var(n, a, dt)
    heads = [s(n) + struct.pack("<BBIh", 0, 2, 2, HEADS) for n in ("encoder/num_heads", "decoder/num_heads")]
    blobs += heads
    body = b"".join(blobs)
    alias = struct.pack("<I", 1) + s("decoder/projection/weight") + s("decoder/embeddings/weight")
    with open(out, "wb") as f:
        f.write(struct.pack("<I", 6) + s("WhisperSpec") + struct.pack("<II", 3, len(blobs)) + body + alias)


# --------------------------------------------------------------------------
# Shape families

# name: (encoder layers, decoder layers, vocabulary, mel bins, real d, real heads)
FAMILIES = {
    "tiny.en":         (4, 4, 51864, 80, 384, 6),
    "tiny":            (4, 4, 51865, 80, 384, 6),
    "base":            (6, 6, 51865, 80, 512, 8),
    "small.en":        (12, 12, 51864, 80, 768, 12),
    "medium":          (24, 24, 51865, 80, 1024, 16),
    "large-v2":        (32, 32, 51865, 80, 1280, 20),
    "large-v3":        (32, 32, 51866, 128, 1280, 20),
    "large-v3-turbo":  (32, 4, 51866, 128, 1280, 20),
    "distil-large-v3": (32, 2, 51866, 128, 1280, 20),
}
N_AUDIO_CTX, N_TEXT_CTX, N_TIMESTAMPS = 1500, 448, 1501
YUE_AT = 50358          # <|yue|> in large-v3: after <|su|> (50357)


def family_rng(seed, name):
    return np.random.default_rng([seed, zlib.crc32(name.encode())])


def make_weights(name, d, heads, ffn, seed):
    """{OpenAI PyTorch name: float32 array (exactly a half float)} for family @name."""
    n_enc, n_dec, n_vocab, n_mels = FAMILIES[name][:4]
    rng = family_rng(seed, name)
    w = {}

    def put(key, shape, std, mean=0.0):
        a = rng.standard_normal(shape) * std + mean
        w[key] = a.astype(np.float16).astype(np.float32)

    def lin(p, out, inp, bias=True):
        put(p + ".weight", (out, inp), 1.0 / np.sqrt(inp))
        if bias:
            put(p + ".bias", (out,), 0.05)

    def ln(p, n):
        put(p + ".weight", (n,), 0.1, 1.0)
        put(p + ".bias", (n,), 0.05)

    def attn(p):
        lin(p + ".query", d, d)
        lin(p + ".key", d, d, bias=False)     # Whisper's keys have no bias
        lin(p + ".value", d, d)
        lin(p + ".out", d, d)

    put("encoder.conv1.weight", (d, n_mels, 3), 1.0 / np.sqrt(3 * n_mels))
    put("encoder.conv1.bias", (d,), 0.05)
    put("encoder.conv2.weight", (d, d, 3), 1.0 / np.sqrt(3 * d))
    put("encoder.conv2.bias", (d,), 0.05)
    put("encoder.positional_embedding", (N_AUDIO_CTX, d), 0.1)
    for l in range(n_enc):
        p = "encoder.blocks.%d" % l
        attn(p + ".attn")
        ln(p + ".attn_ln", d)
        lin(p + ".mlp.0", ffn, d)
        lin(p + ".mlp.2", d, ffn)
        ln(p + ".mlp_ln", d)
    ln("encoder.ln_post", d)
    put("decoder.token_embedding.weight", (n_vocab, d), 0.3)
    put("decoder.positional_embedding", (N_TEXT_CTX, d), 0.1)
    for l in range(n_dec):
        p = "decoder.blocks.%d" % l
        attn(p + ".attn")
        ln(p + ".attn_ln", d)
        attn(p + ".cross_attn")
        ln(p + ".cross_attn_ln", d)
        lin(p + ".mlp.0", ffn, d)
        lin(p + ".mlp.2", d, ffn)
        ln(p + ".mlp_ln", d)
    ln("decoder.ln", d)
    return w


# --------------------------------------------------------------------------
# Vocabularies and special tokens

def base_vocab(tok_dirs, n_vocab):
    """(tokenizer.json object, vocabulary.txt lines) of the real tokenizer this
    family's is made from: English-only for 51864, multilingual otherwise."""
    src = tok_dirs[0] if n_vocab == 51864 else tok_dirs[1]
    with open(os.path.join(src, "tokenizer.json"), encoding="utf-8") as f:
        tj = json.load(f)
    with open(os.path.join(src, "vocabulary.txt"), encoding="utf-8") as f:
        lines = f.read().split("\n")
    while lines and lines[-1] == "":
        lines.pop()
    return tj, lines


def timestamp_texts():
    return ["<|%d.%02d|>" % (t * 2 // 100, t * 2 % 100) for t in range(N_TIMESTAMPS)]


def family_vocab(tok_dirs, n_vocab):
    """tokenizer.json and vocabulary.txt lines for a vocabulary of @n_vocab ids."""
    tj, lines = base_vocab(tok_dirs, n_vocab)
    if n_vocab == 51866:
        added = []
        for t in tj["added_tokens"]:
            t = dict(t)
            if t["id"] >= YUE_AT:
                t["id"] += 1
            added.append(t)
        yue = dict(added[0], id=YUE_AT, content="<|yue|>")
        added.insert(next(i for i, t in enumerate(added) if t["id"] > YUE_AT), yue)
        last = added[-1]["id"]
        for i, text in enumerate(timestamp_texts()):
            added.append(dict(added[0], id=last + 1 + i, content=text, special=False))
        tj["added_tokens"] = added
        tj["post_processor"] = shift_ids(tj["post_processor"])
        lines = lines[:YUE_AT] + ["<|yue|>"] + lines[YUE_AT:]
    if len(lines) != n_vocab:
        raise ValueError("vocabulary.txt has %d lines for n_vocab %d" % (len(lines), n_vocab))
    return tj, lines


def shift_ids(pp):
    """The post-processor's special token ids after <|yue|> moved them up."""
    pp = json.loads(json.dumps(pp))
    for v in pp.get("special_tokens", {}).values():
        v["ids"] = [i + 1 if i >= YUE_AT else i for i in v["ids"]]
    return pp


def specials(lines):
    """The special tokens, as openai-whisper's tokenizer names them, from the
    vocabulary's own lines (no id taken on trust)."""
    ids = {t: i for i, t in enumerate(lines) if t.startswith("<|") and t.endswith("|>")}
    eot = ids["<|endoftext|>"]
    sot = ids["<|startoftranscript|>"]
    langs = [i for t, i in ids.items() if sot < i < ids["<|translate|>"]]
    return {
        "eot": eot, "sot": sot, "translate": ids["<|translate|>"],
        "transcribe": ids["<|transcribe|>"], "sot_lm": ids["<|startoflm|>"],
        "sot_prev": ids["<|startofprev|>"],
        "no_speech": ids.get("<|nospeech|>", ids.get("<|nocaptions|>")),
        "no_timestamps": ids["<|notimestamps|>"], "timestamp_begin": ids["<|0.00|>"],
        "lang_first": min(langs), "n_langs": len(langs),
        "en": ids["<|en|>"], "yue": ids.get("<|yue|>", -1),
    }


def suppress_lists(tok_dirs, n_vocab, sp):
    """CTranslate2's suppress_ids / suppress_ids_begin for the family: the real
    model's list, with its special ids moved as the family's specials are."""
    src = tok_dirs[0] if n_vocab == 51864 else tok_dirs[1]
    with open(os.path.join(src, "config.json"), encoding="utf-8") as f:
        cfg = json.load(f)
    sup = [i + 1 if n_vocab == 51866 and i >= YUE_AT else i for i in cfg["suppress_ids"]]
    return sup, [220, sp["eot"]]


def second_half_heads(n_dec, heads):
    """What ct2-transformers-converter writes for a model it has no table for."""
    return [[l, h] for l in range(n_dec // 2, n_dec) for h in range(heads)]


def byte_decoder():
    """Inverse of GPT-2's bytes_to_unicode (printable stand-in character -> byte)."""
    keep = list(range(ord("!"), ord("~") + 1)) + list(range(0xA1, 0xAD)) + list(range(0xAE, 0x100))
    table = {b: chr(b) for b in keep}
    extra = 0
    for b in range(256):
        if b not in table:
            table[b] = chr(256 + extra)
            extra += 1
    return {c: b for b, c in table.items()}


def text_tokens(lines):
    """The text tokens' raw bytes (ids before <|endoftext|>), as whisper.cpp embeds them."""
    dec = byte_decoder()
    out = []
    for tok in lines:
        if tok == "<|endoftext|>":
            return out
        out.append(bytes(dec[c] for c in tok) if all(c in dec for c in tok) else tok.encode())
    raise ValueError("no <|endoftext|> in the vocabulary")


def slaney_mel_filters(n_mels, sr=16000, n_fft=400):
    """librosa.filters.mel(sr, n_fft, n_mels) (Slaney scale and norm): what
    openai's mel_filters.npz holds and whisper.cpp's converter embeds."""
    f_sp, min_log_hz, min_log_mel = 200.0 / 3, 1000.0, 15.0
    logstep = np.log(6.4) / 27.0

    def hz_to_mel(f):
        f = np.asarray(f, dtype=np.float64)
        return np.where(f >= min_log_hz,
                        min_log_mel + np.log(np.maximum(f, 1e-10) / min_log_hz) / logstep, f / f_sp)

    def mel_to_hz(m):
        m = np.asarray(m, dtype=np.float64)
        return np.where(m >= min_log_mel, min_log_hz * np.exp(logstep * (m - min_log_mel)), f_sp * m)

    fft_freqs = np.fft.rfftfreq(n_fft, 1.0 / sr)
    mel_f = mel_to_hz(np.linspace(hz_to_mel(0.0), hz_to_mel(sr / 2.0), n_mels + 2))
    fdiff = np.diff(mel_f)
    ramps = mel_f[:, None] - fft_freqs[None, :]
    w = np.zeros((n_mels, len(fft_freqs)))
    for i in range(n_mels):
        w[i] = np.maximum(0.0, np.minimum(-ramps[i] / fdiff[i], ramps[i + 2] / fdiff[i + 1]))
    w *= (2.0 / (mel_f[2:n_mels + 2] - mel_f[:n_mels]))[:, None]
    return w.astype(np.float32)


# --------------------------------------------------------------------------
# Writers

def ct2_string(name):
    b = name.encode() + b"\0"
    return struct.pack("<H", len(b)) + b


def ct2_var(name, a, code):
    """One CTranslate2 variable: 0 f32, 1 i8, 2 i16, 4 f16."""
    dt = {0: "<f4", 1: "i1", 2: "<i2", 4: "<f2"}[code]
    raw = np.ascontiguousarray(a, dtype=dt).tobytes()
    shape = np.shape(a)
    return (ct2_string(name) + struct.pack("<B", len(shape)) +
            b"".join(struct.pack("<I", n) for n in shape) +
            struct.pack("<BI", code, len(raw)) + raw)


def write_ct2(path, w, n_enc, n_dec, heads):
    """model.bin as CTranslate2 4.x's WhisperSpec.save() writes it (binary
    version 6, spec revision 3, float16 weights, the scalar attributes of the
    spec, the projection aliased to the embedding)."""
    d = w["encoder.conv1.bias"].shape[0]
    vs = []

    def lin(ct, pt, parts=None):
        parts = parts or [pt]
        ws = [w[p + ".weight"] for p in parts]
        bs = [w.get(p + ".bias", np.zeros(d, np.float32)) for p in parts]
        vs.append((ct + "/bias", np.concatenate(bs), 4))
        vs.append((ct + "/weight", np.concatenate(ws), 4))

    def ln(ct, pt):
        vs.append((ct + "/beta", w[pt + ".bias"], 4))
        vs.append((ct + "/gamma", w[pt + ".weight"], 4))

    vs.append(("decoder/activation", np.int8(3), 1))          # GELU
    vs.append(("decoder/alibi", np.int8(0), 1))
    vs.append(("decoder/alignment_heads", np.int16(1), 2))
    vs.append(("decoder/alignment_layer", np.int16(-1), 2))
    vs.append(("decoder/embeddings/weight", w["decoder.token_embedding.weight"], 4))
    for l in range(n_dec):
        c, p = "decoder/layer_%d/" % l, "decoder.blocks.%d." % l
        ln(c + "attention/layer_norm", p + "cross_attn_ln")
        lin(c + "attention/linear_0", p + "cross_attn.query")
        lin(c + "attention/linear_1", None, [p + "cross_attn.key", p + "cross_attn.value"])
        lin(c + "attention/linear_2", p + "cross_attn.out")
        ln(c + "ffn/layer_norm", p + "mlp_ln")
        lin(c + "ffn/linear_0", p + "mlp.0")
        lin(c + "ffn/linear_1", p + "mlp.2")
        ln(c + "self_attention/layer_norm", p + "attn_ln")
        lin(c + "self_attention/linear_0", None, [p + "attn.query", p + "attn.key", p + "attn.value"])
        lin(c + "self_attention/linear_1", p + "attn.out")
    ln("decoder/layer_norm", "decoder.ln")
    vs.append(("decoder/num_heads", np.int16(heads), 2))
    vs.append(("decoder/position_encodings/encodings", w["decoder.positional_embedding"], 4))
    vs.append(("decoder/pre_norm", np.int8(1), 1))
    vs.append(("decoder/scale_embeddings", np.int8(0), 1))
    vs.append(("decoder/start_from_zero_embedding", np.int8(0), 1))
    for c in ("conv1", "conv2"):
        vs.append(("encoder/%s/bias" % c, w["encoder.%s.bias" % c], 4))
        vs.append(("encoder/%s/weight" % c, w["encoder.%s.weight" % c], 4))
    for l in range(n_enc):
        c, p = "encoder/layer_%d/" % l, "encoder.blocks.%d." % l
        ln(c + "ffn/layer_norm", p + "mlp_ln")
        lin(c + "ffn/linear_0", p + "mlp.0")
        lin(c + "ffn/linear_1", p + "mlp.2")
        ln(c + "self_attention/layer_norm", p + "attn_ln")
        lin(c + "self_attention/linear_0", None, [p + "attn.query", p + "attn.key", p + "attn.value"])
        lin(c + "self_attention/linear_1", p + "attn.out")
    ln("encoder/layer_norm", "encoder.ln_post")
    vs.append(("encoder/num_heads", np.int16(heads), 2))
    vs.append(("encoder/position_encodings/encodings", w["encoder.positional_embedding"], 4))
    body = b"".join(ct2_var(n, a, c) for n, a, c in vs)
    alias = struct.pack("<I", 1) + ct2_string("decoder/projection/weight") + \
        ct2_string("decoder/embeddings/weight")
    with open(path, "wb") as f:
        f.write(struct.pack("<I", 6) + ct2_string("WhisperSpec") +
                struct.pack("<II", 3, len(vs)) + body + alias)


GGML_F32 = {"encoder.conv1.bias", "encoder.conv2.bias",
            "encoder.positional_embedding", "decoder.positional_embedding"}


def write_ggml(path, w, hp, filters, tokens):
    """A ggml file as whisper.cpp's convert-pt-to-ggml.py writes it (ftype 1:
    matrices f16; conv biases as [n, 1], positions and 1-D tensors f32)."""
    with open(path, "wb") as f:
        f.write(struct.pack("<I", 0x67676D6C) + struct.pack("<11i", *hp))
        f.write(struct.pack("<ii", *filters.shape) + filters.tobytes())
        f.write(struct.pack("<i", len(tokens)))
        for t in tokens:
            f.write(struct.pack("<i", len(t)) + t)
        for name, a in w.items():
            if name in ("encoder.conv1.bias", "encoder.conv2.bias"):
                a = a.reshape(-1, 1)
            f16 = a.ndim >= 2 and name not in GGML_F32
            a = np.ascontiguousarray(a, dtype="<f2" if f16 else "<f4")
            nb = name.encode()
            f.write(struct.pack("<iii", a.ndim, len(nb), 1 if f16 else 0))
            f.write(struct.pack("<%di" % a.ndim, *reversed(a.shape)) + nb + a.tobytes())


HF_NAMES = [  # OpenAI names -> transformers' WhisperForConditionalGeneration names
    ("encoder.positional_embedding", "model.encoder.embed_positions.weight"),
    ("decoder.positional_embedding", "model.decoder.embed_positions.weight"),
    ("decoder.token_embedding.weight", "model.decoder.embed_tokens.weight"),
    ("encoder.ln_post.", "model.encoder.layer_norm."),
    ("decoder.ln.", "model.decoder.layer_norm."),
    (".blocks.", ".layers."),
    (".cross_attn.query.", ".encoder_attn.q_proj."), (".cross_attn.key.", ".encoder_attn.k_proj."),
    (".cross_attn.value.", ".encoder_attn.v_proj."), (".cross_attn.out.", ".encoder_attn.out_proj."),
    (".cross_attn_ln.", ".encoder_attn_layer_norm."),
    (".attn.query.", ".self_attn.q_proj."), (".attn.key.", ".self_attn.k_proj."),
    (".attn.value.", ".self_attn.v_proj."), (".attn.out.", ".self_attn.out_proj."),
    (".attn_ln.", ".self_attn_layer_norm."),
    (".mlp_ln.", ".final_layer_norm."), (".mlp.0.", ".fc1."), (".mlp.2.", ".fc2."),
]


def hf_name(name):
    for a, b in HF_NAMES:
        name = name.replace(a, b)
    return name if name.startswith("model.") else "model." + name


def write_safetensors(path, w):
    """model.safetensors (F16, names sorted as safetensors' save_file orders
    them; proj_out.weight left out, tied to the embedding as transformers saves it)."""
    header, blobs, off = {}, [], 0
    for name, a in sorted((hf_name(k), v) for k, v in w.items()):
        data = np.ascontiguousarray(a, "<f2").tobytes()
        header[name] = {"dtype": "F16", "shape": list(a.shape), "data_offsets": [off, off + len(data)]}
        blobs.append(data)
        off += len(data)
    header["__metadata__"] = {"format": "pt"}
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * (-len(h) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h + b"".join(blobs))


def hf_config(name, d, heads, ffn, sp, sup, sup_begin):
    n_enc, n_dec, n_vocab, n_mels = FAMILIES[name][:4]
    return {
        "_name_or_path": "amanuensis/random-" + name, "activation_function": "gelu",
        "architectures": ["WhisperForConditionalGeneration"], "model_type": "whisper",
        "d_model": d, "encoder_layers": n_enc, "decoder_layers": n_dec,
        "encoder_attention_heads": heads, "decoder_attention_heads": heads,
        "encoder_ffn_dim": ffn, "decoder_ffn_dim": ffn, "num_mel_bins": n_mels,
        "vocab_size": n_vocab, "max_source_positions": N_AUDIO_CTX,
        "max_target_positions": N_TEXT_CTX, "num_hidden_layers": n_enc,
        "bos_token_id": sp["eot"], "eos_token_id": sp["eot"], "pad_token_id": sp["eot"],
        "decoder_start_token_id": sp["sot"], "scale_embedding": False,
        "suppress_tokens": sup, "begin_suppress_tokens": sup_begin,
        "torch_dtype": "float16", "use_cache": True,
    }


def hf_preprocessor(n_mels):
    return {
        "chunk_length": 30, "feature_extractor_type": "WhisperFeatureExtractor",
        "feature_size": n_mels, "hop_length": 160, "n_fft": 400, "n_samples": 480000,
        "nb_max_frames": 3000, "padding_side": "right", "padding_value": 0.0,
        "processor_class": "WhisperProcessor", "return_attention_mask": False,
        "sampling_rate": 16000,
    }


def dump_json(path, obj):
    with open(path, "w", encoding="utf-8") as f:
        json.dump(obj, f, indent=2, ensure_ascii=False)
        f.write("\n")


def write_family(out_dir, name, d, heads, ffn, seed, tok_dirs, npz=False):
    n_enc, n_dec, n_vocab, n_mels = FAMILIES[name][:4]
    w = make_weights(name, d, heads, ffn, seed)
    tj, lines = family_vocab(tok_dirs, n_vocab)
    sp = specials(lines)
    sup, sup_begin = suppress_lists(tok_dirs, n_vocab, sp)
    root = os.path.join(out_dir, name)
    for sub in ("ct2", "ggml", "hf"):   # no file of an earlier run left behind
        if os.path.isdir(os.path.join(root, sub)):
            shutil.rmtree(os.path.join(root, sub))
    for sub in ("ct2", "ggml", "hf"):
        os.makedirs(os.path.join(root, sub), exist_ok=True)

    ct2 = os.path.join(root, "ct2")
    write_ct2(os.path.join(ct2, "model.bin"), w, n_enc, n_dec, heads)
    dump_json(os.path.join(ct2, "config.json"), {
        "alignment_heads": second_half_heads(n_dec, heads),
        "lang_ids": list(range(sp["lang_first"], sp["lang_first"] + sp["n_langs"])),
        "suppress_ids": sup, "suppress_ids_begin": sup_begin})
    if n_vocab == 51866:    # ct2-transformers-converter since CTranslate2 3.0
        dump_json(os.path.join(ct2, "vocabulary.json"), lines)
        dump_json(os.path.join(ct2, "preprocessor_config.json"), hf_preprocessor(n_mels))
    else:                   # the older conversions of tiny.en .. large-v2
        with open(os.path.join(ct2, "vocabulary.txt"), "w", encoding="utf-8") as f:
            f.write("\n".join(lines) + "\n")
    dump_json(os.path.join(ct2, "tokenizer.json"), tj)

    hp = [n_vocab, N_AUDIO_CTX, d, heads, n_enc, N_TEXT_CTX, d, heads, n_dec, n_mels, 1]
    write_ggml(os.path.join(root, "ggml", "ggml-model.bin"), w, hp, slaney_mel_filters(n_mels),
               text_tokens(lines))

    hf = os.path.join(root, "hf")
    write_safetensors(os.path.join(hf, "model.safetensors"), w)
    dump_json(os.path.join(hf, "config.json"), hf_config(name, d, heads, ffn, sp, sup, sup_begin))
    dump_json(os.path.join(hf, "preprocessor_config.json"), hf_preprocessor(n_mels))
    dump_json(os.path.join(hf, "tokenizer.json"), tj)

    if npz:
        np.savez(os.path.join(root, "weights.npz"), **w)
    dump_json(os.path.join(root, "family.json"), {
        "name": name, "real_d": FAMILIES[name][4], "real_heads": FAMILIES[name][5],
        "hparams": {"n_vocab": n_vocab, "n_mels": n_mels, "n_audio_ctx": N_AUDIO_CTX,
                    "n_audio_state": d, "n_audio_head": heads, "n_audio_layer": n_enc,
                    "n_text_ctx": N_TEXT_CTX, "n_text_state": d, "n_text_head": heads,
                    "n_text_layer": n_dec},
        "ffn": ffn, "specials": sp, "n_suppress": len(sup), "seed": seed})
    return root


def families_main(a):
    names = list(FAMILIES) if not a.only else a.only.split(",")
    for n in names:
        if n not in FAMILIES:
            sys.exit("make_test_models: unknown family %r (known: %s)" % (n, ", ".join(FAMILIES)))
    tok_dirs = a.tokenizers.split(",")
    for n in names:
        root = write_family(a.out_dir, n, a.d, a.heads, a.ffn, a.seed, tok_dirs, a.npz)
        print("make_test_models: %s" % root)


def main():
    if len(sys.argv) > 1 and sys.argv[1] == "--families":
        ap = argparse.ArgumentParser(description="random-weight models of every Whisper shape family")
        ap.add_argument("--families", dest="out_dir", required=True)
        ap.add_argument("--only", default="", help="comma-separated family names")
        ap.add_argument("--d", type=int, default=64)
        ap.add_argument("--heads", type=int, default=2)
        ap.add_argument("--ffn", type=int, default=256)
        ap.add_argument("--seed", type=int, default=17)
        ap.add_argument("--npz", action="store_true", help="also write weights.npz "
                        "(make_weights() gives the same arrays again)")
        ap.add_argument("--tokenizers", default="models/tiny.en,models/base",
                        help="English-only and multilingual model dirs with tokenizer.json, "
                        "vocabulary.txt and config.json")
        families_main(ap.parse_args())
        return
    if len(sys.argv) not in (2, 3) or sys.argv[1].startswith("-"):
        sys.exit(__doc__)
    toy_main(sys.argv[1], sys.argv[2] if len(sys.argv) > 2 else "f16")


if __name__ == "__main__":
    main()
